// Module size and cold start: the .wasm raw and gzipped, and the time from
// process start to a usable StateService, median of fresh processes, in
// Node.js and Deno (and fc-connect-sdk 0.1.56 in Node.js for comparison).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const runs = Number(process.env.STARTUP_RUNS ?? 15);

export function moduleSize() {
  const wasm = readFileSync(join(root, 'pkg', 'connector_state_bg.wasm'));
  const glue = readFileSync(join(root, 'pkg', 'connector_state.js'));
  return { wasmBytes: wasm.length, wasmGzip: gzipSync(wasm, { level: 9 }).length, glueBytes: glue.length };
}

const stats = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), runs: s.length };
};

// Each child prints how long its import + first construction took, measured
// from its own time origin (process start), so process spawn is excluded
// but runtime boot, module load, wasm compile and instantiate are in.
const nodeProbe = (specifier, make) => `const t0 = performance.now();
const m = await import(${JSON.stringify(specifier)});
${make};
console.log(JSON.stringify({ ready: performance.now(), importMs: performance.now() - t0 }));`;

function node(specifier, make, cwd) {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', nodeProbe(specifier, make)], { cwd, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

function deno(make) {
  const bin = join(root, 'node_modules', '.bin', 'deno');
  const code = `const t0 = performance.now();
const m = await import(${JSON.stringify(join(root, 'js', 'node.mjs'))});
${make};
console.log(JSON.stringify({ ready: performance.now(), importMs: performance.now() - t0 }));`;
  const out = execFileSync(bin, ['eval', '--quiet', code], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return JSON.parse(out.trim().split('\n').pop());
}

export function startup({ legacy = true } = {}) {
  const series = {
    'node: connector-state': () => node('connector-state', 'new m.StateService()', root),
    'deno: connector-state': () => deno('new m.StateService()'),
  };
  if (legacy) series['node: fc-connect-sdk 0.1.56'] = () => node('@fluentcommerce/fc-connect-sdk', 'new m.StateService()', join(root, 'bench'));
  const out = {};
  for (const [name, probe] of Object.entries(series)) {
    probe(); // warm the OS file cache; not counted
    const ready = [];
    const imports = [];
    for (let i = 0; i < runs; i++) {
      const r = probe();
      ready.push(r.ready);
      imports.push(r.importMs);
    }
    out[name] = { readyMs: stats(ready), importMs: stats(imports) };
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(moduleSize());
  console.log(JSON.stringify(startup(), null, 2));
}
