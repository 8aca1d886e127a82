// Every ```js block of the README runs as pasted (against the package by name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = new URL('../..', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
const scratch = new URL('tests/tmp/readme/', root); // inside the package, so 'connector-state' resolves to it

test('the README has runnable examples', () => assert.ok(blocks.length >= 3));

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs: ${code.split('\n').find((l) => l.trim() && !l.startsWith('import'))?.trim().slice(0, 60)}`, () => {
    mkdirSync(scratch, { recursive: true });
    const file = fileURLToPath(new URL(`example-${i + 1}.mjs`, scratch));
    writeFileSync(file, code);
    execFileSync(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  });
});

test('the README Deno example runs in Deno', () => {
  const deno = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).find((code) => code.includes('Deno.openKv'));
  assert.ok(deno, 'no Deno example found');
  const dir = new URL('deno/', scratch);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('main.ts', dir), deno);
  // Until the package is published, 'npm:connector-state' points at this checkout.
  writeFileSync(new URL('deno.json', dir), JSON.stringify({ imports: { 'npm:connector-state': fileURLToPath(new URL('js/node.mjs', root)) } }));
  const out = execFileSync(fileURLToPath(new URL('node_modules/.bin/deno', root)), ['run', '--quiet', '--unstable-kv', '--allow-read', '--config', 'deno.json', 'main.ts'], { cwd: fileURLToPath(dir), encoding: 'utf8', timeout: 60_000 });
  assert.match(out, /exported under token \d+/);
});
