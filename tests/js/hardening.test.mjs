// The findings of "No input crashes the process, and a lease releases only
// itself", each as a test that failed before its fix: stale lease and claim
// handles, TTLs that round to nothing, a store that never answers, an abort
// during a store call, damaged records, prefixes that aliased, forged
// records for decodeState, the nesting limit, a broken `now`, Redis URL
// redaction, and the two Deno KV behaviours Deno's own client has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { openKv as openDenoKv } from '@deno/kv';
import {
  FileTracker, IndexedFileTracker, JobTracker, MemoryKv, RetryTracker, StateError, StateService, decodeState, encodeState, openKv,
} from 'connector-state';
import { createVersoriKv } from 'connector-state/testing';
import { sleep } from './helpers.mjs';

const stores = {
  'embedded (compare-and-set)': () => openKv(),
  'deno-kv memory (compare-and-set)': () => openDenoKv(':memory:'),
  // A Versori store: no compare-and-set; locks wait out the write delay.
  versori: async () => createVersoriKv(),
};

async function rejectsWith(promise, code, pattern) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof StateError, `expected a StateError ${code}, got ${error}`);
  assert.equal(error.code, code, error.message);
  if (pattern) assert.match(error.message, pattern);
  return error;
}

for (const [kind, open] of Object.entries(stores)) {
  test(`a stale lease's release() leaves the newer lease of the same service alone (${kind})`, async () => {
    const kv = await open();
    const state = new StateService(null);
    const first = await state.lock('nightly', kv, { ttlMs: 300, renew: false });
    assert.ok(first);
    await sleep(400); // first expired
    const second = await state.lock('nightly', kv, { ttlMs: 60_000 });
    assert.ok(second, 'the same service takes the lock again');
    assert.notEqual(second.lockId, first.lockId);
    assert.equal(await first.release(), false, 'the stale handle releases nothing');
    await assert.rejects(first.extend(), (e) => e.code === 'LOCK_NOT_HELD');
    assert.equal(await new StateService(null).acquireLock('nightly', kv, 1), false, 'another run still cannot acquire');
    assert.equal(second.signal.aborted, false, 'the newer lease is not told it lost the lock');
    assert.equal(await second.release(), true);
    assert.equal(await new StateService(null).acquireLock('nightly', kv, 1), true);
    kv.close?.();
  });

  test(`a stale claim handle neither releases nor completes the newer claim (${kind})`, async () => {
    const kv = await open();
    const files = new FileTracker(kv, { prefix: 'in' });
    const first = await files.claim('a.csv', { ttlMs: 300, renew: false });
    assert.equal(first.claimed, true);
    await sleep(400);
    const second = await files.claim('a.csv', { ttlMs: 60_000 });
    assert.equal(second.claimed, true, 'the same tracker claims it again');
    assert.equal(await first.release(), false);
    const other = await new FileTracker(kv, { prefix: 'in' }).claim('a.csv', { ttlMs: 60_000 });
    assert.equal(other.claimed, false, 'the newer claim still holds');
    const stale = await files.claim('b.csv', { ttlMs: 300, renew: false });
    await sleep(400);
    const fresh = await files.claim('b.csv', { ttlMs: 60_000 });
    await rejectsWith(stale.complete({ n: 1 }), 'CLAIM_NOT_HELD');
    await rejectsWith(files.extendClaim('b.csv', { ttlMs: 1_000, claimId: stale.claimId }), 'CLAIM_NOT_HELD');
    assert.equal(await files.release('b.csv', stale.claimId), false);
    assert.equal(await files.isProcessed('b.csv'), false, 'the stale handle recorded nothing');
    await fresh.complete({ n: 2 });
    await second.complete();
    assert.equal(second.signal.aborted, false);
    assert.equal(await files.isProcessed('a.csv'), true);
    kv.close?.();
  });
}

test('TTLs that round below 1 ms are refused', async () => {
  const kv = await openKv();
  const state = new StateService(null);
  await rejectsWith(state.acquireLock('l', kv, 1e-9), 'INVALID_ARGUMENT', /timeoutMinutes/);
  await rejectsWith(state.extendLock('l', kv, 1e-9), 'INVALID_ARGUMENT', /timeoutMinutes/);
  await rejectsWith(state.lock('l', kv, { ttlMs: 0.4 }), 'INVALID_ARGUMENT', /ttlMs/);
  await rejectsWith(new FileTracker(kv, 'p').claim('a', { ttlMs: 0.5 }), 'INVALID_ARGUMENT', /ttlMs/);
  assert.equal(await state.acquireLock('l', kv, 1 / 60_000), true, '1 ms is accepted');
});

const never = () => new Promise(() => {});
const silentStore = { get: never, set: never, delete: never };

test('a host store that never answers: STORE_UNAVAILABLE after storeTimeoutMs', async () => {
  const started = Date.now();
  await rejectsWith(new StateService(null, { storeTimeoutMs: 150 }).acquireLock('l', silentStore, 1), 'STORE_UNAVAILABLE', /did not answer within 150 ms/);
  await rejectsWith(new FileTracker(silentStore, { prefix: 'p', storeTimeoutMs: 150 }).isProcessed('a.csv'), 'STORE_UNAVAILABLE', /did not answer within 150 ms/);
  assert.ok(Date.now() - started < 5_000);
  await rejectsWith(Promise.resolve().then(() => new FileTracker(silentStore, { prefix: 'p', storeTimeoutMs: -1 })), 'INVALID_ARGUMENT', /storeTimeoutMs/);
});

test('lock() with a signal rejects when the signal aborts during a store call, and a late win is released', async () => {
  let answer;
  let held = true; // the first get waits until answer(); later ones go through
  const inner = createVersoriKv();
  const slow = {
    get: (k) => (held ? new Promise((resolve) => { answer = () => { held = false; resolve(inner.get(k)); }; }) : inner.get(k)),
    set: (k, v, o) => inner.set(k, v, o),
    delete: (k) => inner.delete(k),
  };
  const controller = new AbortController();
  const state = new StateService(null, { maxWriteDelayMs: 0 });
  const pending = state.lock('slow', slow, { signal: controller.signal, waitMs: 10_000 });
  await sleep(20);
  const why = new Error('shutting down');
  controller.abort(why);
  await assert.rejects(pending, (e) => e === why);
  answer(); // the store answers after the abort: the acquisition goes on, wins, and is released
  let free = false;
  for (let i = 0; i < 40 && !free; i++) {
    await sleep(50);
    free = (await state.getLockInfo('slow', inner))?.isLocked !== true;
  }
  assert.ok(free, 'nothing is left holding the lock');
  assert.equal(await new StateService(null, { maxWriteDelayMs: 0 }).acquireLock('slow', inner, 1), true);
});

test('a damaged IndexedFileTracker record is listed as damaged and removable; the rest still lists', async () => {
  const kv = await openDenoKv(':memory:');
  const files = new IndexedFileTracker(kv, { prefix: 'orders' });
  await files.mark('a.json', { n: 1 });
  await files.mark('c.json', { n: 3 });
  await kv.set(['orders:processed-files', 'b.json'], 'garbage');
  const page = await files.list({ limit: 10 });
  assert.deepEqual(page.files.map((f) => [f.fileName, f.damaged === true]), [['a.json', false], ['b.json', true], ['c.json', false]]);
  assert.match(page.files[1].problem, /orders:processed-files/);
  const stats = await files.stats();
  assert.equal(stats.totalFiles, 3);
  assert.equal(stats.damaged, 1);
  await rejectsWith(files.get('b.json'), 'CORRUPT_STATE');
  assert.equal(await files.remove('b.json'), true);
  assert.deepEqual((await files.list()).files.map((f) => f.fileName), ['a.json', 'c.json']);
  const jobs = new JobTracker(kv, null);
  await jobs.createJob('good');
  await kv.set(['cs:jobs:jobs', 'bad'], 42);
  const listed = await jobs.listJobs();
  assert.deepEqual(listed.jobs.map((j) => [j.jobId, j.damaged === true]), [['bad', true], ['good', false]]);
  kv.close();
});

test('damaged records are CORRUPT_STATE, never a made-up default, never overwritten', async () => {
  const kv = await openDenoKv(':memory:');
  const retries = new RetryTracker(kv, { namespace: 'n' });
  await retries.recordFailure('x', 'boom');
  const [key] = await (async () => {
    for await (const e of kv.list({ prefix: [] })) if (JSON.stringify(e.key).includes('"x"')) return [e.key];
    return [];
  })();
  await kv.set(key, { attempts: 'many', status: 42 });
  await rejectsWith(retries.check('x'), 'CORRUPT_STATE');
  await rejectsWith(retries.recordFailure('x', 'again'), 'CORRUPT_STATE');
  const files = new FileTracker(kv, { prefix: 'p' });
  await kv.set(['p/processed-files/a.csv'], [1, 2, 3]);
  await rejectsWith(files.getRecord('a.csv'), 'CORRUPT_STATE');
  const state = new StateService(null);
  await kv.set(['state:', 'sync'], 'not a record');
  await rejectsWith(state.getSyncState(kv), 'CORRUPT_STATE');
  await rejectsWith(state.updateSyncState(kv, [{ fileName: 'f.csv', lastModified: '2026-01-01' }]), 'CORRUPT_STATE');
  assert.equal((await kv.get(['state:', 'sync'])).value, 'not a record', 'left as it was');
  kv.close();
});

test('FileTracker prefixes never share records', async () => {
  const kv = await openKv();
  const outer = new FileTracker(kv, { prefix: 'sftp' });
  const inner = new FileTracker(kv, { prefix: 'sftp/processed-files/inbound' });
  await outer.markProcessed('inbound/processed-files/x.csv');
  assert.equal(await inner.isProcessed('x.csv'), false);
  await inner.markProcessed('y.csv');
  assert.equal(await outer.isProcessed('inbound/processed-files/y.csv'), false);
  // A prefix without '/' keeps 0.1.56's key.
  await new FileTracker(kv, { prefix: 'fc-sdk' }).markProcessed('z.csv');
  assert.notEqual((await kv.get(['fc-sdk/processed-files/z.csv'])).versionstamp, null);
});

test('decodeState rebuilds only the typed views it knows', async () => {
  for (const type of ['SharedArrayBuffer', 'Function', 'WebAssembly', 'Proxy']) {
    assert.throws(() => decodeState({ $cs: 'View', type, hex: '00' }), (e) => e instanceof StateError && e.code === 'INVALID_ARGUMENT' && e.message.includes(type));
  }
  const floats = decodeState(encodeState(new Float64Array([1.5, -2])));
  assert.ok(floats instanceof Float64Array);
  assert.deepEqual([...floats], [1.5, -2]);
});

function nestedObject(levels) {
  const root = {};
  let at = root;
  for (let i = 1; i < levels; i++) at = at.n = {};
  return root;
}

test('metadata may nest 100 levels, not 101, whatever its shape', async () => {
  const files = new FileTracker(await openKv(), 'p');
  // The metadata object is level 1.
  await files.markProcessed('ok.csv', nestedObject(100));
  await rejectsWith(files.markProcessed('deep.csv', nestedObject(101)), 'INVALID_ARGUMENT', /100 levels/);
  for (const levels of [101, 120, 127, 128, 200]) {
    await rejectsWith(files.markProcessed('deep.csv', nestedObject(levels)), 'INVALID_ARGUMENT');
  }
  assert.throws(() => encodeState(nestedObject(101)), (e) => e.code === 'INVALID_ARGUMENT');
});

test('a `now` that does not return a finite number is refused at construction and at each call', async () => {
  const kv = await openKv();
  for (const now of [() => NaN, () => 'soon', () => { throw new Error('clock broke'); }]) {
    assert.throws(() => new StateService(null, { now }), (e) => e instanceof StateError && e.code === 'INVALID_ARGUMENT' && /options\.now/.test(e.message));
    assert.throws(() => new FileTracker(kv, { prefix: 'p', now }), (e) => e.code === 'INVALID_ARGUMENT');
    assert.throws(() => new RetryTracker(kv, { namespace: 'n', now }), (e) => e.code === 'INVALID_ARGUMENT');
  }
  let broken = false;
  const now = () => (broken ? NaN : Date.now());
  const state = new StateService(null, { now });
  const files = new FileTracker(kv, { prefix: 'p', now });
  assert.equal(await state.acquireLock('l', kv, 1), true);
  broken = true;
  await rejectsWith(state.acquireLock('m', kv, 1), 'INVALID_ARGUMENT', /options\.now/);
  await rejectsWith(files.markProcessed('a.csv'), 'INVALID_ARGUMENT', /options\.now/);
  broken = false;
  assert.equal(await files.isProcessed('a.csv'), false, 'nothing was written with a made-up time');
});

test('a Redis URL that ioredis cannot read never carries its password into the error', async () => {
  for (const url of ['redis://:s3cret/PW@127.0.0.1:1', 'redis://user:s3cret#PW@127.0.0.1:1', 'redis://:s3cret?PW@127.0.0.1:1/0']) {
    let error;
    try {
      await openKv(url);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof StateError, `${url}: ${error}`);
    const shown = `${JSON.stringify(error)} ${inspect(error, { depth: 5, showHidden: true })} ${error.message} ${error.stack}`;
    assert.doesNotMatch(shown, /s3cret/, url);
    assert.doesNotMatch(shown, /PW/, url);
  }
});

for (const [kind, open] of [['the embedded store', () => new MemoryKv()], ["Deno's own client (@deno/kv)", () => openDenoKv(':memory:')]]) {
  test(`Deno KV behaviours as Deno's client has them: reverse only on true; atomic() after close() fails at commit (${kind})`, async () => {
    const kv = await open();
    for (const k of ['a', 'b', 'c']) await kv.set(['k', k], k);
    const order = async (reverse) => {
      const out = [];
      for await (const e of kv.list({ prefix: ['k'] }, { reverse })) out.push(e.key[1]);
      return out.join('');
    };
    assert.equal(await order(true), 'cba');
    assert.equal(await order(1), 'abc');
    assert.equal(await order('yes'), 'abc');
    kv.close();
    const op = kv.atomic();
    op.set(['k', 'd'], 'd');
    await assert.rejects(op.commit());
  });
}
