// The JavaScript half has rooms (issue 29): the entry points in js/, and
// folders by concern (core, stores, leases, cli, testing); no file over 300
// lines; no import cycle in the JS (static and dynamic imports) or between
// the Rust core's modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cycles, jsGraph, rustGraph } from './structure.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('js/ holds the entry points and a folder per concern', () => {
  const entries = readdirSync(new URL('js/', new URL(`file://${root}/`))).sort();
  assert.deepEqual(entries.filter((f) => !f.includes('.')), ['cli', 'core', 'leases', 'stores', 'testing']);
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
  const exported = JSON.stringify(pkg.exports).match(/\.\/js\/[\w.-]+/g).map((p) => p.slice(5));
  for (const file of entries.filter((f) => f.includes('.'))) {
    assert.ok(exported.includes(file) || /^index\.d\.c?ts$|^index\.cjs$/.test(file) || file.endsWith('.d.ts'), `${file} is an entry point`);
  }
});

test('no file of the JavaScript half is over 300 lines', () => {
  const long = [...jsGraph(root).keys()].map((f) => [f, readFileSync(`${root}/${f}`, 'utf8').split('\n').length]).filter(([, n]) => n > 300);
  assert.deepEqual(long, []);
});

test('no import cycle in the JS, none between the Rust modules', () => {
  const js = jsGraph(root);
  assert.ok(js.size >= 30, `${js.size} JS files`);
  assert.ok([...js.values()].some((targets) => targets.includes('js/stores/front.mjs')), 'the graph sees imports');
  assert.deepEqual(cycles(js), []);
  const rust = rustGraph(root);
  assert.ok(rust.size >= 30, `${rust.size} Rust files`);
  assert.ok(rust.get('src/wasm/convert.rs').includes('src/wasm/kv_u64.rs'), 'the graph sees crate:: paths');
  assert.deepEqual(cycles(rust), []);
});

test('the cycle finder finds cycles (negative control)', () => {
  const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['d']], ['e', ['a']]]);
  assert.deepEqual(cycles(graph).map((c) => c.join()).sort(), ['a,b,c', 'd']);
  assert.deepEqual(cycles(new Map([['a', ['b']], ['b', []]])), []);
});

test("nothing the browser entry reaches imports a node: module", () => {
  const graph = jsGraph(root);
  const reached = new Set();
  const walk = (file) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const next of graph.get(file) ?? []) walk(next);
  };
  walk('js/browser.mjs');
  assert.ok(reached.size >= 10, `${reached.size} files`);
  const nodeOnly = [...reached].filter((f) => /from 'node:|import\('node:/.test(readFileSync(`${root}/${f}`, 'utf8')));
  assert.deepEqual(nodeOnly, []);
});
