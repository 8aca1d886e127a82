// A size profile of a wasm module: bytes per section, and per function
// (names from the name section: build with names kept, see
// docs/development.md), grouped by the Rust path they belong to.
//   node scripts/wasm-size.mjs <module.wasm> [--top N] [--depth D]
import { readFileSync } from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/wasm-size.mjs <module.wasm> [--top N] [--depth D]');
  process.exit(2);
}
const opt = (name, fallback) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : fallback;
};
const top = opt('--top', 25);
const depth = opt('--depth', 2);
const bytes = readFileSync(file);
let at = 8;
const uleb = () => {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return result;
  }
};
const names = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount', 'tag'];
const sections = [];
let imported = 0;
const bodies = [];
const fnNames = new Map();
while (at < bytes.length) {
  const id = bytes[at++];
  const size = uleb();
  const start = at;
  let label = names[id] ?? `section ${id}`;
  if (id === 0) {
    const n = uleb();
    const custom = bytes.subarray(at, at + n).toString('utf8');
    at += n;
    label = `custom "${custom}"`;
    if (custom === 'name') {
      while (at < start + size) {
        const sub = bytes[at++];
        const len = uleb();
        const end = at + len;
        if (sub === 1) {
          const count = uleb();
          for (let i = 0; i < count; i++) {
            const index = uleb();
            const l = uleb();
            fnNames.set(index, bytes.subarray(at, at + l).toString('utf8'));
            at += l;
          }
        }
        at = end;
      }
    }
  } else if (id === 2) {
    const count = uleb();
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < 2; k++) at += uleb();
      const kind = bytes[at++];
      if (kind === 0) (uleb(), imported++);
      else if (kind === 1) (at++, uleb() & 1 ? (uleb(), uleb()) : uleb());
      else if (kind === 2) (uleb() & 1 ? (uleb(), uleb()) : uleb());
      else if (kind === 3) at += 2;
      else if (kind === 4) (at++, uleb());
    }
  } else if (id === 10) {
    const count = uleb();
    for (let i = 0; i < count; i++) {
      const len = uleb();
      bodies.push(len);
      at += len;
    }
  }
  sections.push([label, size]);
  at = start + size;
}
const total = bytes.length;
const pct = (n) => `${((n / total) * 100).toFixed(1)}%`;
console.log(`${file}: ${total} bytes`);
for (const [label, size] of sections.sort((a, b) => b[1] - a[1])) console.log(`  ${String(size).padStart(8)}  ${pct(size).padStart(6)}  ${label}`);
/** A Rust legacy-mangled name (_ZN…E) as a path; other names as they are. */
function demangle(name) {
  if (!name.startsWith('_ZN')) return name;
  const parts = [];
  let i = 3;
  while (i < name.length && name[i] !== 'E') {
    const m = /^\d+/.exec(name.slice(i));
    if (!m) break;
    i += m[0].length;
    parts.push(name.slice(i, i + Number(m[0])));
    i += Number(m[0]);
  }
  if (/^h[0-9a-f]{16}$/.test(parts.at(-1) ?? '')) parts.pop();
  const codes = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' };
  return parts
    .map((p) => p.replace(/^_\$/, '$').replace(/\$([A-Z]{1,2})\$/g, (m, c) => codes[c] ?? m).replace(/\$u([0-9a-f]+)\$/g, (_, h) => String.fromCodePoint(parseInt(h, 16))).replace(/\.\./g, '::'))
    .join('::');
}
const fns = bodies.map((size, i) => ({ size, name: demangle(fnNames.get(imported + i) ?? `function ${imported + i}`) }));
console.log(`\nlargest of ${fns.length} functions:`);
for (const f of [...fns].sort((a, b) => b.size - a.size).slice(0, top)) console.log(`  ${String(f.size).padStart(8)}  ${pct(f.size).padStart(6)}  ${f.name.slice(0, 150)}`);
// Grouped by the path a function belongs to: `crate::module` (depth 2).
const group = new Map();
for (const f of fns) {
  // The first path in the name: generics and impl blocks name the type acted on.
  const path = f.name.replace(/^[<&\s]+/, '').replace(/^(dyn |mut )/, '').match(/^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*/)?.[0] ?? '(unnamed)';
  const key = path.split('::').slice(0, depth).join('::');
  const g = group.get(key) ?? { size: 0, count: 0 };
  g.size += f.size;
  g.count++;
  group.set(key, g);
}
console.log(`\nby path (depth ${depth}):`);
for (const [key, g] of [...group].sort((a, b) => b[1].size - a[1].size).slice(0, top)) console.log(`  ${String(g.size).padStart(8)}  ${pct(g.size).padStart(6)}  ${String(g.count).padStart(5)} fns  ${key}`);
