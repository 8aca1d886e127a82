// Every code block of the README runs as pasted: ```js blocks in Node
// (against the package by name), ```ts blocks in Deno, and the
// `npx connector-state` lines of ```sh blocks through the package's bin.
// The other ```sh lines are the install and the two top commands, which
// CI itself runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = new URL('../..', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const blocks = (lang) => [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
const scratch = new URL('tests/tmp/readme/', root); // inside the package, so 'connector-state' resolves to it
const title = (code) => code.split('\n').find((l) => l.trim() && !l.startsWith('import') && !l.startsWith('//'))?.trim().slice(0, 60);

test('the README has runnable examples in each language', () => {
  assert.ok(blocks('js').length >= 8);
  assert.ok(blocks('ts').length >= 2);
  assert.ok(blocks('sh').some((b) => b.includes('npx connector-state')));
});

blocks('js').forEach((code, i) => {
  test(`README js ${i + 1} runs in Node: ${title(code)}`, () => {
    mkdirSync(scratch, { recursive: true });
    const file = fileURLToPath(new URL(`example-${i + 1}.mjs`, scratch));
    writeFileSync(file, code);
    execFileSync(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  });
});

blocks('ts').forEach((code, i) => {
  test(`README ts ${i + 1} runs in Deno: ${title(code)}`, () => {
    const dir = new URL(`deno-${i + 1}/`, scratch);
    mkdirSync(dir, { recursive: true });
    writeFileSync(new URL('main.ts', dir), code);
    // Until the package is published, the package names point at this checkout.
    const entry = fileURLToPath(new URL('js/node.mjs', root));
    const testing = fileURLToPath(new URL('js/testing.mjs', root));
    writeFileSync(new URL('deno.json', dir), JSON.stringify({ imports: { 'npm:connector-state': entry, 'connector-state': entry, 'connector-state/testing': testing } }));
    const out = execFileSync(fileURLToPath(new URL('node_modules/.bin/deno', root)), ['run', '--quiet', '--unstable-kv', '--allow-read', '--allow-env', '--allow-ffi', '--config', 'deno.json', 'main.ts'], { cwd: fileURLToPath(dir), encoding: 'utf8', timeout: 60_000 });
    assert.ok(out.trim().length > 0, 'it printed nothing');
  });
});

test('the README connector-state commands run on a store', async () => {
  const dir = new URL('cli/', scratch);
  mkdirSync(dir, { recursive: true });
  const { openKv } = await import('@deno/kv');
  const { FileTracker, StateService } = await import('connector-state');
  const kv = await openKv(fileURLToPath(new URL('state.sqlite', dir)));
  await new StateService(null).acquireLock('nightly', kv, 5);
  await new FileTracker(kv, 'inventory').markProcessed('a.csv');
  kv.close();
  const lines = blocks('sh').flatMap((b) => b.split('\n')).filter((l) => l.startsWith('npx connector-state '));
  assert.ok(lines.length >= 2);
  for (const line of lines) {
    const args = line.replace(/#.*$/, '').trim().split(/\s+/).slice(2);
    const out = execFileSync(process.execPath, [fileURLToPath(new URL('bin/connector-state.mjs', root)), ...args], { cwd: fileURLToPath(dir), encoding: 'utf8', timeout: 30_000 });
    assert.match(out, /nightly/, line);
  }
});
