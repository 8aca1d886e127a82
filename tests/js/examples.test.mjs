// examples/*.ts: type-checked and run in Node (compiled by tsc) and in Deno
// (as written); and the demo (npm run demo) from first run to summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assertPrints, expectedOutput } from './output.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const examples = readdirSync(`${root}/examples`).filter((f) => f.endsWith('.ts'));
const out = `${root}/tests/tmp/examples`; // inside the package: 'connector-state' resolves to it

test('the examples type-check and compile', () => {
  rmSync(out, { recursive: true, force: true });
  execFileSync(`${root}/node_modules/.bin/tsc`, ['-p', `${root}/examples/tsconfig.json`], { stdio: 'pipe' });
  assert.ok(examples.length >= 7, `${examples.length} examples`);
});

for (const file of examples) {
  const documented = expectedOutput(readFileSync(`${root}/examples/${file}`, 'utf8'));
  test(`${file} runs in Node and prints what it documents`, () => {
    assert.ok(documented.length > 0, `${file} documents its output with // → lines`);
    const stdout = execFileSync(process.execPath, [`${out}/${file.replace(/\.ts$/, '.js')}`], { encoding: 'utf8', timeout: 60_000 });
    assertPrints(stdout, documented, { exact: true });
  });
  test(`${file} runs in Deno and prints what it documents`, () => {
    const stdout = execFileSync(`${root}/node_modules/.bin/deno`, ['run', '--quiet', '--unstable-kv', '--allow-read', '--allow-env', '--allow-ffi', '--config', 'deno.json', file], { cwd: `${root}/examples`, encoding: 'utf8', timeout: 60_000 });
    assertPrints(stdout, documented, { exact: true, anyQuotes: true });
  });
}

test('the demo crashes, resumes, retries on schedule and ends with a full store', () => {
  const stdout = execFileSync(process.execPath, [`${root}/examples/demo.mjs`], { encoding: 'utf8', timeout: 120_000 });
  assert.match(stdout, /failed {3}inventory-2026-11-07\.csv: retry 1 scheduled/);
  assert.match(stdout, /the process dies while ingesting inventory-2026-11-15\.csv/);
  assert.match(stdout, /run 1 exited with code 70/);
  assert.match(stdout, /lock held by another run .* waiting for it to expire/);
  assert.match(stdout, /resuming from the checkpoint at file 12 of 24/);
  assert.match(stdout, /retried {2}inventory-2026-11-07\.csv: ingested on attempt 2/);
  assert.match(stdout, /skip {3}inventory-2026-11-14\.csv \(processed\)/);
  assert.match(stdout, /done: 11 files ingested and 2 skipped in this run/);
  assert.match(stdout, /files: {6}24 of 24 ingested/);
  assert.match(stdout, /lock: {7}free/);
  assert.match(stdout, /retries: {4}none waiting/);
});
