// The repository's structure as a graph: which file uses which, for the JS
// (static and dynamic imports) and for the Rust core (`crate::` paths).
// tests/js/structure.test.mjs holds it to no cycles.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

function walk(dir, keep, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, keep, out);
    else if (keep(path)) out.push(path);
  }
  return out;
}

/** file → files it imports, for every .mjs under `dirs` (relative to root). */
export function jsGraph(root, dirs = ['js', 'bin']) {
  const files = dirs.flatMap((d) => walk(join(root, d), (p) => p.endsWith('.mjs')));
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const targets = new Set();
    for (const [, spec] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)'(\.[^']+)'/g)) {
      const target = resolve(dirname(file), spec);
      if (target.endsWith('.mjs')) targets.add(relative(root, target));
    }
    graph.set(relative(root, file), [...targets]);
  }
  return graph;
}

/** Rust source file → files whose module it names (`crate::a::b`), for src/. */
export function rustGraph(root) {
  const src = join(root, 'src');
  const files = walk(src, (p) => p.endsWith('.rs'));
  const moduleFile = (parts) => {
    for (let n = parts.length; n > 0; n--) {
      const base = join(src, ...parts.slice(0, n));
      for (const candidate of [`${base}.rs`, join(base, 'mod.rs')]) if (existsSync(candidate)) return relative(root, candidate);
    }
    return null;
  };
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
    // Tests reach into every module: the graph is of the code itself.
    const code = text.split(/#\[cfg\(test\)\]\s*mod tests/)[0];
    const targets = new Set();
    for (const [, path] of code.matchAll(/crate::((?:\w+::)*\w+)/g)) {
      const parts = path.split('::');
      const target = moduleFile(parts) ?? moduleFile(parts.slice(0, -1));
      if (target && target !== relative(root, file)) targets.add(target);
    }
    for (const [, group, names] of code.matchAll(/crate::((?:\w+::)*)\{([^}]*)\}/g)) {
      for (const name of names.split(',').map((n) => n.trim().split(/\s|::/)[0]).filter(Boolean)) {
        const target = moduleFile([...group.split('::').filter(Boolean), name]);
        if (target && target !== relative(root, file)) targets.add(target);
      }
    }
    graph.set(relative(root, file), [...targets]);
  }
  return graph;
}

/** Every cycle's files, once each (Tarjan's strongly connected components of size > 1, or a self-loop). */
export function cycles(graph) {
  let index = 0;
  const stack = [];
  const on = new Set();
  const idx = new Map();
  const low = new Map();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}
