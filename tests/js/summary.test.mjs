// scripts/summary.mjs, the closing verdict of npm test: a runner that ran no
// tests, failed one, skipped one or printed nothing readable fails it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, summarize } from '../../scripts/summary.mjs';

const cargo = 'test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n'
  + 'test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n';
const node = (pass, fail = 0, skipped = 0, todo = 0) => [
  `ℹ tests ${pass + fail + skipped + todo}`, 'ℹ suites 3', `ℹ pass ${pass}`, `ℹ fail ${fail}`, 'ℹ cancelled 0', `ℹ skipped ${skipped}`, `ℹ todo ${todo}`, 'ℹ duration_ms 5',
].join('\n');
const deno = (passed, failed = 0, ignored = 0) => `\x1b[32mok\x1b[0m | ${passed} passed | ${failed} failed${ignored ? ` | ${ignored} ignored` : ''} (3s)\n`;

test('counts are read from each runner\'s own summary', () => {
  assert.deepEqual(parse('cargo', cargo), { passed: 12, failed: 0, skipped: 0, todo: 0, ignored: 0 });
  // wasm-bindgen-test's line has no "measured".
  const wasm = 'test result: ok. 6 passed; 0 failed; 0 ignored; 0 filtered out; finished in 0.09s\n' + cargo.split('\n')[1];
  assert.deepEqual(parse('wasm', wasm), { passed: 6, failed: 0, skipped: 0, todo: 0, ignored: 0 });
  assert.deepEqual(parse('wasm', 'test result: FAILED. 5 passed; 1 failed; 0 ignored; 2 filtered out; finished in 1s'), { passed: 5, failed: 1, skipped: 2, todo: 0, ignored: 0 });
  assert.deepEqual(parse('node', node(40, 1, 2, 3)), { passed: 40, failed: 1, skipped: 2, todo: 3, ignored: 0 });
  assert.deepEqual(parse('deno', deno(9, 0, 1)), { passed: 9, failed: 0, skipped: 0, todo: 0, ignored: 1 });
  assert.deepEqual(parse('deno', 'FAILED | 5 passed (2 steps) | 1 failed (1 step)\n'), { passed: 5, failed: 1, skipped: 0, todo: 0, ignored: 0 });
});

test('all runners passing with tests: the verdict passes', () => {
  const r = summarize([{ name: 'cargo', kind: 'cargo', text: cargo }, { name: 'node', kind: 'node', text: node(10) }, { name: 'deno', kind: 'deno', text: deno(3) }]);
  assert.equal(r.ok, true, r.text);
  assert.match(r.text, /total: 25 passed, 0 failed, 0 skipped\/filtered, 0 todo, 0 ignored/);
});

test('a runner that ran zero tests fails the verdict, even when the others passed', () => {
  const r = summarize([{ name: 'cargo', kind: 'cargo', text: cargo }, { name: 'deno', kind: 'deno', text: deno(0) }]);
  assert.equal(r.ok, false);
  assert.match(r.text, /deno: 0 passed.*ran no tests/);
});

test('an unreadable or missing summary fails the verdict instead of counting as 0', () => {
  for (const text of ['', 'some crash output\n', 'ℹ pass 3\n']) {
    const r = summarize([{ name: 'cargo', kind: 'cargo', text: cargo }, { name: 'node', kind: 'node', text }]);
    assert.equal(r.ok, false, JSON.stringify(text));
    assert.match(r.text, /node: FAILED: no test summary could be read/);
  }
});

test('failed, skipped, todo and ignored tests are shown and fail the verdict', () => {
  assert.equal(summarize([{ name: 'node', kind: 'node', text: node(10, 1) }]).ok, false);
  for (const text of [node(10, 0, 1), node(10, 0, 0, 1)]) {
    const r = summarize([{ name: 'node', kind: 'node', text }]);
    assert.equal(r.ok, false);
    assert.match(r.text, /skipped, filtered, todo or ignored/);
  }
  const ignored = summarize([{ name: 'deno', kind: 'deno', text: deno(4, 0, 2) }]);
  assert.equal(ignored.ok, false);
  assert.match(ignored.text, /2 ignored/);
});
