// No input may trap the module: every method of the embedded store (and
// describeKey) gets junk of every JS type, alone and in random
// combinations. A rejection or a throw is fine; a WebAssembly.RuntimeError
// is a defect. Afterwards the store and the package's classes still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileTracker, StateService, describeKey, describeStore, openKv } from 'connector-state';

function junk() {
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  let deep = [];
  for (let i = 0; i < 1000; i++) deep = [deep];
  const throwing = Object.defineProperty({}, 'prefix', { get() { throw new Error('getter'); }, enumerable: true });
  const proxy = new Proxy({}, { get() { throw new Error('proxy'); }, has() { throw new Error('proxy'); }, ownKeys() { throw new Error('proxy'); } });
  return [
    undefined, null, true, false, 0, -0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 1e308, Number.MIN_VALUE,
    0n, 10n, -(2n ** 200n), 2n ** 4000n, '', 'a', 'x'.repeat(100_000), 'a\uD800', '\u0000', Symbol('s'), () => {}, async () => {},
    {}, [], [[]], [{}], [null], [undefined], ['a', {}], [Symbol('x')], [() => {}], [new Date()], [1n, -1n, 2n ** 2000n],
    new Date(NaN), new Uint8Array(5000), new Uint8Array(0), new ArrayBuffer(8), new Int32Array(3), new BigInt64Array(2),
    Object.create(null), new Map([[1, 2]]), new Set([1]), /re/g, Promise.resolve(1), new Error('e'),
    Array.from({ length: 10_000 }, (_, i) => i), deep, cyclic, throwing, proxy, globalThis, new WeakMap(),
    { prefix: {} }, { prefix: 5 }, { prefix: ['a'], start: 7 }, { start: [], end: [] }, { start: ['b'], end: ['a'] },
    { key: {}, versionstamp: 5 }, { key: ['a'], versionstamp: {} }, { type: {}, key: ['a'] }, { type: 'set', key: ['a'], value: Symbol('v') },
    { cursor: {} }, { cursor: 5 }, { cursor: true }, { cursor: 10n }, { cursor: 'AmIA' }, { cursor: '!!' }, { limit: 0 }, { limit: -1 },
    { limit: 2 ** 40 }, { limit: NaN }, { batchSize: 2 ** 31 }, { reverse: 'yes' }, { consistency: 5 }, { expireIn: -1 }, { expireIn: 1e300 },
  ];
}

function isTrap(e) {
  return e instanceof WebAssembly.RuntimeError || /unreachable|memory access out of bounds|RuntimeError/.test(String(e?.name) + String(e?.message));
}

/** Calls `fn`, awaiting a promise or draining an iterator; returns a trap if one came out. */
async function probe(fn) {
  try {
    let result = fn();
    if (result && typeof result.then === 'function') result = await result;
    if (result && typeof result[Symbol.asyncIterator] === 'function') {
      let n = 0;
      for await (const _ of result) if (++n > 50) break;
    }
    if (result && typeof result.commit === 'function') await result.commit();
  } catch (e) {
    if (isTrap(e)) return e;
  }
  return null;
}

function calls(kv, a, b, c) {
  return [
    () => kv.get(a), () => kv.get(['a'], a), () => kv.getMany(a), () => kv.getMany([a]), () => kv.getMany([['a'], a]),
    () => kv.set(a, b), () => kv.set(['a'], a), () => kv.set(['a'], 1, a), () => kv.set([a], b, c), () => kv.delete(a), () => kv.delete([a]),
    () => kv.list(a), () => kv.list(a, b), () => kv.list({ prefix: a }), () => kv.list({ prefix: ['a'] }, a),
    () => kv.list({ prefix: ['a'] }, { cursor: a }), () => kv.list({ prefix: ['a'] }, { limit: a }), () => kv.list({ prefix: ['a'] }, { batchSize: a }),
    () => kv.list({ prefix: ['a'] }, { reverse: a }), () => kv.list({ start: a, end: b }), () => kv.list({ prefix: ['a'], start: a }),
    () => kv.list({ prefix: ['a'], end: a }), () => kv.atomic().check(a), () => kv.atomic().check({ key: a, versionstamp: b }),
    () => kv.atomic().check({ key: ['a'], versionstamp: a }), () => kv.atomic().mutate(a), () => kv.atomic().mutate({ type: a, key: b, value: c }),
    () => kv.atomic().mutate({ type: 'set', key: ['a'], value: a }), () => kv.atomic().set(a, b), () => kv.atomic().set(['a'], a, b),
    () => kv.atomic().delete(a), () => kv.atomic().sum(a, b), () => kv.atomic().min(['a'], a), () => kv.atomic().max(a, b),
    () => describeKey(a, b, c), () => describeKey(['lock:', 'x'], a, b), () => describeStore(a),
    () => new StateService(null).getLockToken(a),
  ];
}

test('every method of the embedded store takes junk of every type without a trap', async () => {
  const kv = await openKv();
  await kv.set(['a', 'b'], 1);
  const values = junk();
  const traps = [];
  for (const a of values) {
    for (const [i, call] of calls(kv, a, a, a).entries()) {
      const trap = await probe(call);
      if (trap) traps.push(`call ${i} with ${String(a).slice(0, 40)}: ${trap.message}`);
    }
  }
  // Random combinations of three.
  let seed = 12345;
  const pick = () => values[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % values.length];
  for (let n = 0; n < 3000; n++) {
    const list = calls(kv, pick(), pick(), pick());
    const i = (seed = (seed * 1103515245 + 12345) % 2 ** 31) % list.length;
    const trap = await probe(list[i]);
    if (trap) traps.push(`random call ${i}: ${trap.message}`);
  }
  assert.deepEqual(traps, []);
  // The store, and the package over it, still work.
  const res = await kv.set(['after'], { ok: true });
  assert.deepEqual(await kv.get(['after']), { key: ['after'], value: { ok: true }, versionstamp: res.versionstamp });
  const files = new FileTracker(kv, { prefix: 'after' });
  await files.markProcessed('a.csv');
  assert.equal(await files.isProcessed('a.csv'), true);
  const state = new StateService(null);
  assert.equal(await state.acquireLock('after', kv, 1), true);
});

test('the issue\'s trap: list({ prefix }, { cursor: {} }) and other non-string cursors are TypeErrors', async () => {
  const kv = await openKv();
  for (const cursor of [{}, 5, true, 10n]) {
    await assert.rejects(async () => { for await (const _ of kv.list({ prefix: ['a'] }, { cursor })); }, TypeError);
  }
  assert.deepEqual(await kv.set(['still'], 1).then((r) => r.ok), true);
});
