// Every code block of the README runs as pasted: ```js blocks in Node
// (against the package by name), ```ts blocks in Deno, and the
// `npx connector-state` lines of ```sh blocks through the package's bin.
// The other ```sh lines are the install and the two top commands, which
// CI itself runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertPrints, expectedOutput } from './output.mjs';
import { startAll, startPostgres, startRedis } from '../servers.mjs';

const root = new URL('../..', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const blocks = (lang) => [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
const scratch = new URL('tests/tmp/readme/', root); // inside the package, so 'connector-state' resolves to it
// The examples that name $DATABASE_URL / $REDIS_URL run against servers
// the test starts (on 127.0.0.1, in temporary folders).
let servers = [];
before(async () => {
  const all = readme;
  if (all.includes('DATABASE_URL') || all.includes('REDIS_URL')) {
    servers = await startAll(startPostgres, startRedis);
    process.env.DATABASE_URL = servers[0].url;
    process.env.REDIS_URL = servers[1].url;
  }
});
after(() => servers.forEach((s) => s.remove()));

const title = (code) => code.split('\n').find((l) => l.trim() && !l.startsWith('import') && !l.startsWith('//'))?.trim().slice(0, 60);

test('the README has runnable examples in each language, with their output', () => {
  assert.ok(blocks('js').length >= 8);
  const documented = [...blocks('js'), ...blocks('ts')].flatMap(expectedOutput);
  assert.ok(documented.length >= 18, `${documented.length} documented outputs`);
  assert.ok(blocks('ts').length >= 2);
  assert.ok(blocks('sh').some((b) => b.includes('npx connector-state')));
});

blocks('js').forEach((code, i) => {
  test(`README js ${i + 1} runs in Node: ${title(code)}`, () => {
    mkdirSync(scratch, { recursive: true });
    const file = fileURLToPath(new URL(`example-${i + 1}.mjs`, scratch));
    writeFileSync(file, code);
    const stdout = execFileSync(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000 });
    assertPrints(stdout, expectedOutput(code));
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
    assert.ok(expectedOutput(code).length > 0, 'a ts block documents its output with // →');
    assertPrints(out, expectedOutput(code), { anyQuotes: true });
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
    // As a shell would: "$NAME" is the variable's value.
    const args = line.replace(/#.*$/, '').trim().split(/\s+/).slice(2).map((a) => a.replace(/^"?\$([A-Z_]+)"?$/, (_, name) => process.env[name] ?? ''));
    const out = execFileSync(process.execPath, [fileURLToPath(new URL('bin/connector-state.mjs', root)), ...args], { cwd: fileURLToPath(dir), encoding: 'utf8', timeout: 30_000 });
    // copy moves the files (not the lock); inspect then shows them.
    assert.match(out, args[0] === 'copy' ? /verified: \d+ entries/ : args.includes('--namespace') ? /Tracked files \(1\)/ : /nightly/, line);
  }
});

test('the output check fails on other output, missing output or another order', () => {
  const code = "console.log(a); // → true\nconsole.log(b); // → [ 1, 2 ], then → done";
  assert.deepEqual(expectedOutput(code), ['true', '[ 1, 2 ]', 'done']);
  assertPrints('true\n[\n  1,\n  2\n]\ndone\n', expectedOutput(code));
  assert.throws(() => assertPrints('false\n[ 1, 2 ]\ndone\n', expectedOutput(code)), /expected it to print "true"/);
  assert.throws(() => assertPrints('true\n[ 1, 2 ]\n', expectedOutput(code)), /"done"/);
  assert.throws(() => assertPrints('done\ntrue\n[ 1, 2 ]\n', expectedOutput(code)), /"done"/);
  assert.throws(() => assertPrints('true\n[ 1, 2, 3 ]\ndone\n', expectedOutput(code)), /\[ 1, 2 \]/);
  assert.throws(() => assertPrints('truely\n[ 1, 2 ]\ndone\n', expectedOutput(code)), /"true"/);
  assertPrints('token 1795941414798 at 2026-01-01T00:00:00.000Z\n', ['token … at …Z']);
  assert.throws(() => assertPrints('token  at x\n', ['token … at …Z']));
  assertPrints('[ "a", "b" ]\n', ["[ 'a', 'b' ]"], { anyQuotes: true });
  assert.throws(() => assertPrints('[ "a", "b" ]\n', ["[ 'a', 'b' ]"]));
  // exact: nothing undocumented before, between or after.
  assertPrints('a\nb\n\n', ['a', 'b'], { exact: true });
  assert.throws(() => assertPrints('a\nb\nextra\n', ['a', 'b'], { exact: true }), /more than documented/);
  assert.throws(() => assertPrints('a\nextra\nb\n', ['a', 'b'], { exact: true }), /nothing else between/);
  assertPrints('a\nextra\nb\n', ['a', 'b']);
});
