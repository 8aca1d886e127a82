// The Deno KV front the package's stores share (js/stores/), piece by
// piece: every refusal with its exact error (Deno's words where Deno has
// them), every limit at its boundary, listing batches and cursors as the
// backend sees them, KvU64, closing, and the size estimate browsers use.
// The conformance and differential tests check the same front against
// @deno/kv as a whole; these pin what they cannot see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { KvU64, MemoryKv, openKv } from 'connector-state';
import { KvFront } from '../../js/stores/front.mjs';
import { encodeKey, estimateSize, MAX_TOTAL_KEY_BYTES, setValueMeasure } from '../../js/stores/limits.mjs';
import { notU64 } from '../../js/stores/u64.mjs';

const refuses = (fn, Class, message) => assert.throws(fn, (e) => e instanceof Class && e.message === message, `${Class.name}: ${message}`);
const rejects = (promise, Class, message) => assert.rejects(promise, (e) => e instanceof Class && e.message === message, `${Class.name}: ${message}`);

/** A backend over a sorted array that records what the front asks of it. */
function recordingBackend() {
  const rows = []; // { bytes, key, value, versionstamp }
  const scans = [];
  let version = 0;
  const cmp = (a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  };
  const backend = {
    scans,
    closed: 0,
    get: (keys) => keys.map((key) => rows.find((r) => cmp(r.bytes, encodeKey(key, 'read')) === 0) ?? null),
    commit(_checks, mutations) {
      version += 1;
      const versionstamp = version.toString(16).padStart(20, '0');
      for (const m of mutations) {
        const bytes = encodeKey(m.key, 'write');
        const at = rows.findIndex((r) => cmp(r.bytes, bytes) === 0);
        if (at >= 0) rows.splice(at, 1);
        if (m.type === 'set') rows.push({ bytes, key: m.key, value: m.value, versionstamp });
      }
      rows.sort((a, b) => cmp(a.bytes, b.bytes));
      return { ok: true, versionstamp };
    },
    scan(start, startInclusive, end, limit, reverse) {
      scans.push({ limit, reverse });
      const inRange = rows.filter((r) => (startInclusive ? cmp(r.bytes, start) >= 0 : cmp(r.bytes, start) > 0) && cmp(r.bytes, end) < 0);
      return (reverse ? inRange.reverse() : inRange).slice(0, limit);
    },
    close() {
      this.closed += 1;
    },
  };
  return backend;
}

async function filled(n) {
  const backend = recordingBackend();
  const kv = new KvFront(backend);
  for (let i = 0; i < n; i++) await kv.set(['k', i], i);
  return { kv, backend };
}

test('reads and writes refuse what Deno refuses, in its words', async () => {
  const kv = await openKv();
  await rejects(kv.get('k'), TypeError, 'Key must be an array');
  await rejects(kv.get(['k'], 7), TypeError, 'options must be an object');
  await rejects(kv.getMany('k'), TypeError, 'keys must be an array of keys');
  await rejects(kv.getMany([['k']], null), TypeError, 'options must be an object');
  await rejects(kv.getMany(Array.from({ length: 11 }, (_, i) => ['k', i])), TypeError, 'Too many ranges (max 10)');
  assert.equal((await kv.getMany(Array.from({ length: 10 }, (_, i) => ['k', i]))).length, 10);
  assert.deepEqual(await kv.getMany([]), []);
  await rejects(kv.set(['k'], 1, 'x'), TypeError, 'options must be an object');
  await rejects(kv.set(['k'], 1, { expireIn: -1 }), TypeError, 'expireIn must be a non-negative integer: received -1');
  await rejects(kv.get(['k'], { consistency: 'weak' }), TypeError, 'unknown variant `weak`, expected `strong` or `eventual`');
  assert.throws(() => kv.list({ prefix: [] }, 5), (e) => e instanceof TypeError && e.message === 'options must be an object');
  assert.equal((await kv.get(['missing'])).value, null);
  assert.equal((await kv.get(['missing'])).versionstamp, null);
});

test('a value is measured as V8 serializes it: 65,536 bytes pass, one more does not; what V8 cannot copy is refused with its reason', async () => {
  const kv = await openKv();
  // A Latin-1 string of n characters serializes to 2 + 1 + 3 + n bytes (n ≥ 16,384).
  assert.equal(v8.serialize('a'.repeat(65_530)).length, 65_536);
  await kv.set(['big'], 'a'.repeat(65_530));
  await rejects(kv.set(['big'], 'a'.repeat(65_531)), TypeError, 'Value too large (max 65536 bytes)');
  await assert.rejects(kv.set(['f'], { f() {} }), (e) => e instanceof TypeError && /^value cannot be stored: .*could not be cloned/.test(e.message));
  await assert.rejects(kv.set(['s'], Symbol('x')), (e) => e instanceof TypeError && /^value cannot be stored: ./.test(e.message));
});

test('atomic checks and mutations: each refusal in Deno\'s words, each limit at its boundary', async () => {
  const kv = await openKv();
  refuses(() => kv.atomic().check(null), TypeError, 'a check must be { key, versionstamp }');
  refuses(() => kv.atomic().check(7), TypeError, 'a check must be { key, versionstamp }');
  refuses(() => kv.atomic().check({ key: 'k', versionstamp: null }), TypeError, 'Key must be an array');
  for (const bad of ['00000000000000000001x', '0000000000000000001', 'x00000000000000000001', 1, undefined]) {
    refuses(() => kv.atomic().check({ key: ['k'], versionstamp: bad }), TypeError, 'Invalid check: a versionstamp is null or 20 hex digits');
  }
  kv.atomic().check({ key: ['k'], versionstamp: '0000000000000000000A' }, { key: ['k'], versionstamp: null });
  refuses(() => kv.atomic().mutate(null), TypeError, 'a mutation must be { type, key, value? }');
  refuses(() => kv.atomic().mutate('set'), TypeError, 'a mutation must be { type, key, value? }');
  refuses(() => kv.atomic().mutate({ type: 'set', key: ['k'] }), TypeError, "Invalid mutation 'set' without value");
  refuses(() => kv.atomic().mutate({ type: 'delete', key: ['k'], value: 1 }), TypeError, "Invalid mutation 'delete' with value");
  refuses(() => kv.atomic().mutate({ type: 'put', key: ['k'], value: 1 }), TypeError, 'Invalid mutation type');
  refuses(() => kv.atomic().mutate({ type: 'sum', key: ['k'], value: null }), TypeError, 'Cannot sum KvU64 with Null');
  refuses(() => kv.atomic().mutate({ type: 'sum', key: ['k'], value: undefined }), TypeError, 'Cannot sum KvU64 with Undefined');
  refuses(() => kv.atomic().mutate({ type: 'sum', key: ['k'], value: 5n }), TypeError, 'Cannot sum KvU64 with BigInt');
  refuses(() => kv.atomic().mutate({ type: 'sum', key: ['k'], value: 5 }), TypeError, 'Cannot sum KvU64 with Number');
  refuses(() => kv.atomic().mutate({ type: 'sum', key: ['k'], value: Object.create(null) }), TypeError, 'Cannot sum KvU64 with object');
  refuses(() => kv.atomic().mutate({ type: 'min', key: ['k'], value: 5 }), TypeError, "Failed to perform 'min' mutation on a non-U64 operand");
  refuses(() => kv.atomic().set(['k'], 1, 'x'), TypeError, 'options must be an object');
  assert.equal(notU64('max'), "Failed to perform 'max' mutation on a non-U64 value in the database");
  // 100 checks pass, 101 do not; 1,000 mutations pass, 1,001 do not.
  const checks = (n) => Array.from({ length: n }, (_, i) => ({ key: ['c', i], versionstamp: null }));
  assert.equal((await kv.atomic().check(...checks(100)).commit()).ok, true);
  await rejects(kv.atomic().check(...checks(101)).commit(), TypeError, 'Too many checks (max 100)');
  const sets = (n) => Array.from({ length: n }, (_, i) => ({ type: 'set', key: ['m', i], value: 0 }));
  assert.equal((await kv.atomic().mutate(...sets(1000)).commit()).ok, true);
  await rejects(kv.atomic().mutate(...sets(1001)).commit(), TypeError, 'Too many mutations (max 1000)');
});

test('atomic totals: key bytes over 81,920 and mutation bytes over 819,200 are refused, at their boundaries', async () => {
  const kv = await openKv();
  // A key ['', s] with s of n Latin-1 characters (no NUL) encodes to 1 + 1 + n + 1 + 1 = n + 4 bytes... as the codec says:
  const keyOf = (i, n) => ['', `${String(i).padStart(4, '0')}${'k'.repeat(n - 4)}`];
  const size = (key) => encodeKey(key, 'write').length;
  const per = size(keyOf(0, 2000));
  // Deletes: only key bytes count. Exactly the key budget passes; one byte over does not.
  const n = Math.floor(MAX_TOTAL_KEY_BYTES / per);
  const keys = Array.from({ length: n }, (_, i) => keyOf(i, 2000));
  const rest = MAX_TOTAL_KEY_BYTES - n * per;
  const last = keyOf(n, 2000 - (per - rest));
  assert.equal(keys.reduce((s, k) => s + size(k), 0) + size(last), MAX_TOTAL_KEY_BYTES);
  const op = (extra) => keys.concat([extra]).reduce((a, k) => a.delete(k), kv.atomic());
  assert.equal((await op(last).commit()).ok, true);
  await rejects(op(keyOf(n, 2001 - (per - rest))).commit(), TypeError, 'Total key size too large (max 81920 bytes)');
  // Checks count towards the key total too.
  const checked = kv.atomic();
  for (const k of keys) checked.check({ key: k, versionstamp: null });
  checked.check({ key: keyOf(n, 2001 - (per - rest)), versionstamp: null });
  await rejects(checked.commit(), TypeError, 'Total key size too large (max 81920 bytes)');
  // Sets of 60,000-character values: 13 fit in 819,200 bytes with their keys, 14 do not.
  const value = 'v'.repeat(60_000);
  const setMany = (count) => Array.from({ length: count }, (_, i) => ['s', i]).reduce((a, k) => a.set(k, value), kv.atomic());
  assert.equal((await setMany(13).commit()).ok, true);
  await rejects(setMany(14).commit(), TypeError, 'Total mutation size too large (max 819200 bytes)');
});

test('list: selectors, options and cursors refused in Deno\'s words', async () => {
  const kv = await openKv();
  const listing = (selector, options) => () => kv.list(selector, options);
  refuses(listing(null), TypeError, 'selector must be an object');
  refuses(listing('k'), TypeError, 'selector must be an object');
  refuses(listing({ prefix: 'k' }), TypeError, 'prefix must be an array');
  refuses(listing({ start: 'a', end: ['b'] }), TypeError, 'start must be an array');
  refuses(listing({ start: ['a'], end: 'b' }), TypeError, 'end must be an array');
  refuses(listing({ prefix: ['a'], start: 'a' }), TypeError, 'start must be an array');
  refuses(listing({ prefix: ['a'], end: 'b' }), TypeError, 'end must be an array');
  refuses(listing({ prefix: ['a'], start: ['a', 1], end: ['a', 2] }), TypeError, "Selector can not specify both 'start' and 'end' key when specifying 'prefix'");
  refuses(listing({ start: ['a'] }), TypeError, "Selector must specify either 'prefix' or both 'start' and 'end' key");
  refuses(listing({ end: ['a'] }), TypeError, "Selector must specify either 'prefix' or both 'start' and 'end' key");
  refuses(listing({}), TypeError, "Selector must specify either 'prefix' or both 'start' and 'end' key");
  refuses(listing({ start: ['b'], end: ['a'] }), TypeError, 'Start key is greater than end key');
  refuses(listing({ prefix: ['a'], start: ['b', 1] }), TypeError, 'Start key is not in the keyspace defined by prefix');
  refuses(listing({ prefix: ['a'], start: ['a'] }), TypeError, 'Start key is not in the keyspace defined by prefix');
  refuses(listing({ prefix: ['a'], end: ['a'] }), TypeError, 'End key is not in the keyspace defined by prefix');
  for (const bad of [0, 1.5, -1, '2']) refuses(listing({ prefix: [] }, { batchSize: bad }), TypeError, `batchSize must be a positive integer: received ${String(bad)}`);
  refuses(listing({ prefix: [] }, { batchSize: 1001 }), TypeError, 'Too many entries (max 1000)');
  kv.list({ prefix: [] }, { batchSize: 1000 });
  kv.list({ prefix: [] }, { batchSize: 1 });
  for (const bad of [0, 2.5]) refuses(listing({ prefix: [] }, { limit: bad }), Error, `Limit must be a positive integer: received ${String(bad)}`);
  refuses(listing({ prefix: [] }, { cursor: '!!' }), TypeError, 'invalid cursor');
  const it = kv.list({ prefix: [] });
  assert.throws(() => it.cursor, (e) => e.message === 'Cannot get cursor before first iteration');
});

test('list asks the backend for batches of min(batchSize ?? min(limit, 500), 1000), and stops once a batch comes back short', async () => {
  const { kv, backend } = await filled(1_203);
  const count = async (selector, options) => {
    backend.scans.length = 0;
    let n = 0;
    for await (const _ of kv.list(selector, options)) n++;
    return n;
  };
  assert.equal(await count({ prefix: ['k'] }), 1_203);
  assert.deepEqual(backend.scans.map((s) => s.limit), [500, 500, 500], 'default batches of 500; the third comes back short and ends it');
  assert.equal(await count({ prefix: ['k'] }, { limit: 30 }), 30);
  assert.deepEqual(backend.scans.map((s) => s.limit), [30]);
  assert.equal(await count({ prefix: ['k'] }, { limit: 700 }), 700);
  assert.deepEqual(backend.scans.map((s) => s.limit), [500, 200]);
  assert.equal(await count({ prefix: ['k'] }, { batchSize: 1_000 }), 1_203);
  assert.deepEqual(backend.scans.map((s) => s.limit), [1_000, 1_000]);
  assert.equal(await count({ prefix: ['k'] }, { batchSize: 7, limit: 10 }), 10);
  assert.deepEqual(backend.scans.map((s) => s.limit), [7, 3]);
  assert.equal(await count({ prefix: ['k'] }, { reverse: 1 }), 1_203, 'reverse only on true');
  assert.equal(backend.scans[0].reverse, false);
  assert.equal(await count({ prefix: ['k'] }, { reverse: true, limit: 1 }), 1);
  assert.equal(backend.scans[0].reverse, true);
  // Exactly a batch's worth: one more scan finds nothing.
  const exact = await filled(500);
  let n = 0;
  for await (const _ of exact.kv.list({ prefix: ['k'] })) n++;
  assert.equal(n, 500);
  assert.deepEqual(exact.backend.scans.map((s) => s.limit), [500, 500]);
});

test('a cursor goes on after the last entry, forward and backward, and one outside the selector is refused', async () => {
  const { kv } = await filled(10);
  const first = kv.list({ prefix: ['k'] }, { limit: 3 });
  const seen = [];
  for await (const e of first) seen.push(e.key[1]);
  assert.deepEqual(seen, [0, 1, 2]);
  const rest = [];
  for await (const e of kv.list({ prefix: ['k'] }, { cursor: first.cursor, limit: 2 })) rest.push(e.key[1]);
  assert.deepEqual(rest, [3, 4]);
  const back = kv.list({ prefix: ['k'] }, { reverse: true, limit: 2 });
  const down = [];
  for await (const e of back) down.push(e.key[1]);
  assert.deepEqual(down, [9, 8]);
  const more = [];
  for await (const e of kv.list({ prefix: ['k'] }, { reverse: true, cursor: back.cursor, limit: 2 })) more.push(e.key[1]);
  assert.deepEqual(more, [7, 6]);
  // A cursor made under one selector, used under a narrower one it lies outside of.
  const wide = kv.list({ start: ['k', 0], end: ['k', 9] }, { limit: 8 });
  for await (const _ of wide);
  assert.throws(() => kv.list({ start: ['k', 0], end: ['k', 5] }, { cursor: wide.cursor }), (e) => e instanceof TypeError && e.message === 'invalid cursor');
  const low = kv.list({ start: ['k', 0], end: ['k', 9] }, { limit: 1 });
  for await (const _ of low);
  assert.throws(() => kv.list({ start: ['k', 3], end: ['k', 9] }, { cursor: low.cursor }), (e) => e instanceof TypeError && e.message === 'invalid cursor');
});

test('closing: later calls reject as Deno KV does, close runs once, the backend is told, disposal closes', async () => {
  const { kv, backend } = await filled(3);
  const it = kv.list({ prefix: ['k'] });
  assert.equal(kv.closed, false);
  assert.equal(kv.close(), undefined);
  assert.equal(kv.closed, true);
  assert.equal(kv.close(), undefined);
  assert.equal(backend.closed, 1, 'the backend is closed once');
  for (const call of [() => kv.get(['k', 1]), () => kv.getMany([['k', 1]]), () => kv.set(['k', 1], 1), () => kv.delete(['k', 1]), () => it.next(), () => kv.atomic().set(['k'], 1).commit()]) {
    await assert.rejects(call(), (e) => e.name === 'BadResource' && e.message === 'Bad resource ID: the store is closed');
  }
  assert.throws(() => kv.list({ prefix: [] }), (e) => e.name === 'BadResource');
  const disposed = await filled(1);
  await disposed.kv[Symbol.asyncDispose]();
  assert.equal(disposed.kv.closed, true);
  assert.equal(disposed.backend.closed, 1);
  const memory = new MemoryKv();
  await memory.set(['a'], 1);
  assert.equal(memory.size, 1);
  memory[Symbol.dispose]();
  assert.equal(memory.closed, true);
  assert.throws(() => memory.size, (e) => e.name === 'BadResource');
  assert.equal(memory.__connectorStateMemoryId, undefined);
  assert.equal(typeof new MemoryKv().__connectorStateMemoryId, 'number');
});

test('KvU64: Deno\'s checks and words, its tag, and sum / min / max on the embedded store', async () => {
  refuses(() => new KvU64(1), TypeError, 'Value must be a bigint');
  refuses(() => new KvU64(-1n), RangeError, 'Value must be a positive bigint');
  refuses(() => new KvU64(1n << 64n), RangeError, 'Value must fit in a 64-bit unsigned integer');
  const n = new KvU64((1n << 64n) - 1n);
  assert.equal(Object.prototype.toString.call(n), '[object Deno.KvU64]');
  assert.equal(String(n), '18446744073709551615');
  assert.equal(n.valueOf(), (1n << 64n) - 1n);
  assert.ok(Object.isFrozen(n));
  const kv = await openKv();
  await kv.atomic().sum(['n'], 5n).commit();
  await kv.atomic().sum(['n'], (1n << 64n) - 3n).commit();
  assert.equal((await kv.get(['n'])).value.value, 2n, 'a sum wraps at 2^64');
  await kv.atomic().min(['n'], 1n).max(['m'], 7n).commit();
  assert.equal((await kv.get(['n'])).value.value, 1n);
  assert.equal((await kv.get(['m'])).value.value, 7n);
  assert.ok((await kv.get(['m'])).value instanceof KvU64);
});

test('the size estimate browsers use: an upper bound of V8\'s size for JSON-like values, within a small factor, by its stated rules', () => {
  assert.equal(estimateSize(null), 3);
  assert.equal(estimateSize(undefined), 3);
  assert.equal(estimateSize(true), 3);
  assert.equal(estimateSize(1.5), 11);
  assert.equal(estimateSize(255n), 6);
  assert.equal(estimateSize((1n << 64n) - 1n), 13);
  assert.equal(estimateSize('abc'), 9);
  assert.equal(estimateSize('\u00ff'), 7, 'Latin-1: a byte per character');
  assert.equal(estimateSize('é日'), 10, 'others: two');
  assert.equal(estimateSize(Symbol('s')), 6);
  assert.equal(estimateSize(new Uint8Array(10)), 20);
  assert.equal(estimateSize(new ArrayBuffer(4)), 14);
  assert.equal(estimateSize(new Date(0)), 11);
  assert.equal(estimateSize(/ab/), 14);
  assert.equal(estimateSize(new Map([['a', 1]])), 2 + 6 + 5 + 9);
  assert.equal(estimateSize(new Set([1, 2])), 2 + 6 + 18);
  assert.equal(estimateSize({ ab: [1, null] }), 2 + 6 + 6 + (6 + 5 + 9 + 5 + 1), 'an array counts its index keys too');
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  assert.equal(estimateSize(cyclic), 2 + 6 + 5 + 9 + 8 + 4, 'a value seen before counts 4');
  // Against V8 itself, over random JSON-like values.
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const gen = (depth) => {
    const r = Math.floor(random() * (depth > 3 ? 5 : 7));
    if (r === 0) return null;
    if (r === 1) return random() < 0.5;
    if (r === 2) return random() * 1e6;
    if (r === 3) return 'é'.repeat(Math.floor(random() * 40));
    if (r === 4) return 'x'.repeat(Math.floor(random() * 40));
    if (r === 5) return Array.from({ length: Math.floor(random() * 5) }, () => gen(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, (_, i) => [`k${i}`, gen(depth + 1)]));
  };
  for (let i = 0; i < 500; i++) {
    const value = gen(0);
    const real = v8.serialize(value).length;
    const estimate = estimateSize(value);
    assert.ok(estimate >= real && estimate <= 3 * real + 8, `${JSON.stringify(value)}: estimate ${estimate}, V8 ${real}`);
  }
});

test('with the estimate installed (as in a browser), the value limit holds by it', async () => {
  setValueMeasure(estimateSize);
  try {
    const kv = new MemoryKv();
    await kv.set(['ok'], 'a'.repeat(65_530)); // 2 + 4 + 65,530 = 65,536
    await rejects(kv.set(['no'], 'a'.repeat(65_531)), TypeError, 'Value too large (max 65536 bytes)');
  } finally {
    setValueMeasure((value) => v8.serialize(value).length);
  }
});
