// The package's main paths under Bun (the `bun` npm package ships its
// binary): the embedded store, a lease, file marks and claims, a checkpoint
// holding a Map, retries and errors; and a SQLite file through @deno/kv,
// which refuses Bun's node:v8 (JavaScriptCore's format) and is given V8's
// format by js/v8.mjs instead: a file Bun wrote reads in Node, and back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeV8, encodeV8 } from '../../js/stores/v8.mjs';

const root = new URL('../..', import.meta.url);
const bun = fileURLToPath(new URL('node_modules/.bin/bun', root));
// Inside the package, so 'connector-state' resolves to this checkout by name.
const scratch = fileURLToPath(new URL('tests/tmp/bun/', root));
mkdirSync(scratch, { recursive: true });

function runIn(runtime, name, code, args = []) {
  const file = join(scratch, name);
  writeFileSync(file, code);
  const out = execFileSync(runtime, [file, ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.trim().split('\n').pop());
}

test('Bun: the embedded store, a lease, marks, claims, a checkpoint, retries and errors', () => {
  const out = runIn(bun, 'main.mjs', `
    import { CheckpointStore, FileTracker, RetryTracker, StateError, StateService, openKv } from 'connector-state';
    const kv = await openKv();
    const state = new StateService();
    const lease = await state.lock('nightly', kv, { ttlMs: 60_000 });
    const other = await new StateService().lock('nightly', kv);
    const files = new FileTracker(kv, { prefix: 'bun' });
    await files.markProcessed('a.csv', { rows: 3 });
    const claim = await files.claim('b.csv', { ttlMs: 60_000 });
    const second = await new FileTracker(kv, { prefix: 'bun' }).claim('b.csv');
    await claim.complete({ rows: 4 });
    const checkpoint = new CheckpointStore(kv).open('import');
    await checkpoint.save({ seen: new Map([['x', new Date(0)]]), n: 2n ** 70n }, { position: 7 });
    const resumed = await checkpoint.resume();
    const retry = await new RetryTracker(kv).recordFailure('c.csv', new Error('bad header'));
    // The embedded store keeps structured-clone values under Bun too.
    await kv.set(['when'], new Date(5));
    const when = (await kv.get(['when'])).value.getTime();
    let code = null;
    try { await files.markProcessed(''); } catch (e) { code = e instanceof StateError ? e.code : 'not a StateError'; }
    console.log(JSON.stringify({
      lease: lease.fencingToken > 0, other, released: await lease.release(),
      marked: await files.isProcessed('a.csv'), claimed: claim.claimed, second: second.claimed, status: await files.status('b.csv'),
      position: resumed.position, date: resumed.data.seen.get('x').toISOString(), big: String(resumed.data.n),
      attempts: retry.attempts, code, when, bun: typeof Bun !== 'undefined',
    }));
  `);
  assert.deepEqual(out, {
    lease: true, other: null, released: true, marked: true, claimed: true, second: false, status: 'processed',
    position: 7, date: '1970-01-01T00:00:00.000Z', big: String(2n ** 70n), attempts: 1, code: 'INVALID_ARGUMENT', when: 5, bun: true,
  });
});

test('Bun: a SQLite file through @deno/kv, readable by Node and back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bun-'));
  const path = join(dir, 'state.sqlite');
  const write = `
    import { FileTracker, StateService, openKv } from 'connector-state';
    const [path, who] = process.argv.slice(2);
    const kv = await openKv(path);
    await new FileTracker(kv, { prefix: who }).markProcessed(who + '.csv', { by: who, text: 'héllo 日本 😀', n: -1.5 });
    const locked = await new StateService().acquireLock('by-' + who, kv, 5);
    kv.close();
    console.log(JSON.stringify({ locked }));
  `;
  const read = `
    import { FileTracker, StateService, openKv } from 'connector-state';
    const [path, who] = process.argv.slice(2);
    const kv = await openKv(path);
    const record = await new FileTracker(kv, { prefix: who }).getRecord(who + '.csv');
    const info = await new StateService().getLockInfo('by-' + who, kv);
    kv.close();
    console.log(JSON.stringify({ metadata: record?.metadata, held: info?.held }));
  `;
  try {
    assert.deepEqual(runIn(bun, 'sqlite-write.mjs', write, [path, 'bun']), { locked: true });
    assert.deepEqual(runIn(process.execPath, 'sqlite-read.mjs', read, [path, 'bun']), { metadata: { by: 'bun', text: 'héllo 日本 😀', n: -1.5 }, held: true });
    assert.deepEqual(runIn(process.execPath, 'sqlite-write.mjs', write, [path, 'node']), { locked: true });
    assert.deepEqual(runIn(bun, 'sqlite-read.mjs', read, [path, 'node']), { metadata: { by: 'node', text: 'héllo 日本 😀', n: -1.5 }, held: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("js/v8.mjs writes what V8 reads and reads what V8 writes (5,000 random JSON-like values)", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const strings = ['', 'a', 'héllo', '日本語', '😀x', 'x'.repeat(200), 'é'.repeat(70), '\u0000', '1', '__proto__x'];
  const numbers = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1.5, -0, 1e300, NaN, Infinity, 2 ** 53];
  const bigints = [0n, 1n, -1n, 2n ** 64n, -(2n ** 70n) + 3n, 255n];
  const pick = (list) => list[Math.floor(random() * list.length)];
  const gen = (depth) => {
    switch (Math.floor(random() * (depth > 3 ? 6 : 9))) {
      case 0: return null;
      case 1: return random() < 0.5;
      case 2: return pick(numbers);
      case 3: return pick(strings);
      case 4: return pick(bigints);
      case 5: return undefined;
      case 6: case 7: return Array.from({ length: Math.floor(random() * 5) }, () => gen(depth + 1));
      default: {
        const o = {};
        for (let i = Math.floor(random() * 5); i > 0; i--) o[random() < 0.2 ? String(i) : pick(strings) + i] = gen(depth + 1);
        return o;
      }
    }
  };
  for (let i = 0; i < 5000; i++) {
    const value = gen(0);
    const ours = encodeV8(value);
    assert.deepEqual(v8.deserialize(ours), value);
    assert.deepEqual(decodeV8(v8.serialize(value)), value);
  }
  // An own `__proto__` key (JSON.parse makes one) stays an own property, both ways.
  const proto = JSON.parse('{"__proto__": {"polluted": true}, "a": [1]}');
  const read = decodeV8(encodeV8(proto));
  assert.equal(Object.getPrototypeOf(read), Object.prototype);
  assert.deepEqual(Object.keys(read), ['__proto__', 'a']);
  assert.deepEqual(read.__proto__, { polluted: true });
  assert.equal(Object.getPrototypeOf(decodeV8(v8.serialize(proto))), Object.prototype);
  assert.deepEqual(Object.keys(v8.deserialize(encodeV8(proto))), ['__proto__', 'a']);
  // Strings whose two-byte payload crosses a varint length boundary keep V8's alignment.
  for (const n of [63, 64, 8191, 8192]) assert.equal(v8.deserialize(encodeV8({ k: 'é'.repeat(n) })).k.length, n);
  // What it cannot hold is refused with a code, not written wrong.
  assert.throws(() => encodeV8(new Date(0)), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => decodeV8(v8.serialize(new Date(0))), /cannot be read from Bun/);
  assert.throws(() => decodeV8(Uint8Array.of(0xff, 0x0f, 0x22, 5, 0x61)), /ends early/);
});
