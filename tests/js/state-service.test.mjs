import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { StateService, StateError, VersoriKVAdapter, describeStore } from 'connector-state';
import { storeKinds, exactKinds, sleep, withStore } from './helpers.mjs';

const silent = null;

for (const [kind, open] of Object.entries(storeKinds)) {
  describe(`StateService on ${kind}`, () => {
    test('a second acquire fails until release; only the holder releases', async () => {
      await withStore(open, async (kv) => {
        const a = new StateService(silent);
        const b = new StateService(silent);
        assert.equal(await a.acquireLock('job', kv, 5), true);
        assert.equal(await a.acquireLock('job', kv, 5), false);
        assert.equal(await b.acquireLock('job', kv, 5), false);
        assert.equal(await b.releaseLock('job', kv), false, 'a non-holder must not release');
        assert.equal((await b.getLockInfo('job', kv)).held, true);
        assert.equal(await a.releaseLock('job', kv), true);
        assert.equal(await b.acquireLock('job', kv, 5), true);
      });
    });

    test('after expiry and takeover the old holder cannot release or extend', async () => {
      await withStore(open, async (kv) => {
        const old = new StateService(silent);
        const next = new StateService(silent);
        assert.equal(await old.acquireLock('x', kv, 0.001), true); // 60 ms
        await sleep(80);
        assert.equal((await next.getLockInfo('x', kv)).stale, true);
        assert.equal(await next.acquireLock('x', kv, 5), true);
        await assert.rejects(old.extendLock('x', kv, 5), (e) => e instanceof StateError && e.code === 'LOCK_NOT_HELD');
        assert.equal(await old.releaseLock('x', kv), false);
        const info = await next.getLockInfo('x', kv);
        assert.equal(info.held, true);
        assert.equal(info.heldByMe, true);
        assert.ok(next.getLockToken('x') > 0);
      });
    });

    test('sync state, processed files and metrics', async () => {
      await withStore(open, async (kv) => {
        const s = new StateService(silent);
        assert.deepEqual(await s.getSyncState(kv, 'wf'), { isInitialized: false });
        await s.updateSyncState(kv, [], 'wf');
        assert.deepEqual(await s.getSyncState(kv, 'wf'), { isInitialized: false });
        await s.updateSyncState(kv, [
          { fileName: 'b.csv', lastModified: '2026-01-02T00:00:00.000Z', recordCount: 10 },
          { fileName: 'a.csv', lastModified: '2026-01-01T00:00:00.000Z', recordCount: 5 },
        ], 'wf');
        assert.deepEqual(await s.getSyncState(kv, 'wf'), {
          isInitialized: true,
          lastProcessedTimestamp: '2026-01-02T00:00:00.000Z',
          lastProcessedFile: 'a.csv',
          lastProcessedCount: 15,
          lastSyncResult: 'success',
      });
      assert.equal(await s.isFileProcessed(kv, 'a.csv', 'wf'), true);
      assert.equal(await s.isFileProcessed(kv, 'a.csv'), false);
      await s.updateSyncState(kv, [{ fileName: 'c.csv', lastModified: '2026-01-03T00:00:00.000Z', recordCount: 1 }], 'wf');
      const metrics = await s.getMetrics(kv, 'wf');
      assert.equal(metrics.totalFiles, 3);
      assert.equal(metrics.totalRecords, 16);
      assert.equal(metrics.lastProcessedTime, '2026-01-03T00:00:00.000Z');
      await s.clearState(kv, 'wf');
      assert.deepEqual(await s.getSyncState(kv, 'wf'), { isInitialized: false });
      });
    });

    test('daily job with batch counts', async () => {
      await withStore(open, async (kv) => {
        const s = new StateService(silent);
        assert.equal(await s.getDailyJob(kv, 'wf'), null);
        await assert.rejects(s.incrementDailyJobBatchCount(kv, 'wf'), { code: 'NOT_FOUND' });
        await s.setDailyJob(kv, 'wf', 'job-1', 24);
        const job = await s.getDailyJob(kv, 'wf');
        assert.equal(job.jobId, 'job-1');
        assert.equal(job.batchCount, 0);
        assert.ok(Date.parse(job.expiresAt) - Date.parse(job.createdAt) === 24 * 3600_000);
        const counts = await Promise.all(Array.from({ length: 10 }, () => s.incrementDailyJobBatchCount(kv, 'wf')));
        const final = (await s.getDailyJob(kv, 'wf')).batchCount;
        if (exactKinds.includes(kind)) {
          assert.deepEqual(counts.sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          assert.equal(final, 10);
        } else {
          // No compare-and-set: concurrent increments may be lost, but every
          // answer is a count that was stored, and the final one is among them.
          assert.ok(counts.every((c) => Number.isInteger(c) && c >= 1 && c <= 10), JSON.stringify(counts));
          assert.ok(counts.includes(final), `final ${final} not among ${counts}`);
        }
        // One at a time, every store counts exactly.
        for (let i = 1; i <= 5; i++) assert.equal(await s.incrementDailyJobBatchCount(kv, 'wf', 2), final + 2 * i);
        assert.equal((await s.getDailyJob(kv, 'wf')).batchCount, final + 10);
      });
    });

    test('withLock releases after success and after a throw', async () => {
      await withStore(open, async (kv) => {
        const s = new StateService(silent);
        const other = new StateService(silent);
        const result = await s.withLock('w', kv, async (lock) => {
          assert.equal(typeof lock.fencingToken, 'number');
          assert.equal(await other.acquireLock('w', kv, 1), false);
          await assert.rejects(other.withLock('w', kv, () => 1), { code: 'LOCK_HELD' });
          return 42;
      });
      assert.equal(result, 42);
      const boom = new Error('boom');
      await assert.rejects(s.withLock('w', kv, () => { throw boom; }), (e) => e === boom);
      await assert.rejects(s.withLock('w', kv, async () => { throw boom; }), (e) => e === boom);
      assert.equal((await s.getLockInfo('w', kv)).held, false);
      });
    });

    test('bad input gets coded errors', async () => {
      await withStore(open, async (kv) => {
        const s = new StateService(silent);
        for (const name of ['', undefined, null, 42, {}]) {
          await assert.rejects(s.acquireLock(name, kv, 1), (e) => e instanceof StateError && e.code === 'INVALID_ARGUMENT' && /lockName/.test(e.message));
        }
        await assert.rejects(s.acquireLock('x'.repeat(3000), kv, 1), { code: 'INVALID_ARGUMENT' });
        await assert.rejects(s.acquireLock('x', kv, -1), { code: 'INVALID_ARGUMENT' });
        await assert.rejects(s.acquireLock('x', kv, 1e300), (e) => e.code === 'INVALID_ARGUMENT' && /at most/.test(e.message));
        await assert.rejects(s.acquireLock('x', {}, 1), { code: 'INVALID_ARGUMENT' });
        await assert.rejects(s.updateSyncState(kv, 'nope'), { code: 'INVALID_ARGUMENT' });
        await assert.rejects(s.updateSyncState(kv, [{ fileName: 'a', lastModified: new Date() }]), { code: 'INVALID_ARGUMENT' });
        await assert.rejects(s.setDailyJob(kv, 'wf', 'j', 0), { code: 'INVALID_ARGUMENT' });
        await assert.rejects(s.updateSyncState(kv, [{ fileName: 'big', lastModified: 'x', blob: 'x'.repeat(70_000) }]), { code: 'VALUE_TOO_LARGE' });
        assert.equal(await s.isFileProcessed(kv, 'big'), false, 'a rejected update writes nothing');
      });
    });
  });
}

describe('StateService guarantees', () => {
  test('50 concurrent acquirers on @deno/kv, 100 rounds: exactly one wins; fencing tokens rise', async () => {
    await withStore(storeKinds['deno-kv memory'], async (kv) => {
      const services = Array.from({ length: 50 }, () => new StateService(silent));
      let lastToken = 0;
      for (let round = 0; round < 100; round++) {
        const results = await Promise.all(services.map((s) => s.acquireLock('contended', kv, 1)));
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
        const winner = services[winners[0]];
        const token = winner.getLockToken('contended');
        assert.ok(token > lastToken, `token ${token} after ${lastToken}`);
        lastToken = token;
        assert.equal(await winner.releaseLock('contended', kv), true);
      }
    });
  });

  test('a store whose get throws makes isFileProcessed reject with a code', async () => {
    const broken = { get: async () => { throw new Error('connection reset'); }, set: async () => {}, delete: async () => {} };
    const s = new StateService(silent);
    await assert.rejects(s.isFileProcessed(broken, 'a.csv'), (e) => e instanceof StateError && e.code === 'STORE_UNAVAILABLE' && /connection reset/.test(e.message));
    await assert.rejects(s.acquireLock('l', broken, 1), { code: 'STORE_UNAVAILABLE' });
    await assert.rejects(s.getSyncState(broken, 'wf'), { code: 'STORE_UNAVAILABLE' });
    const syncThrow = { get() { throw new Error('sync throw'); }, set() {}, delete() {} };
    await assert.rejects(s.isFileProcessed(syncThrow, 'a.csv'), { code: 'STORE_UNAVAILABLE' });
  });

  test('describeStore reports capabilities and guarantee', async () => {
    await withStore(storeKinds['deno-kv memory'], async (kv) => {
      assert.deepEqual(describeStore(kv), { kind: 'deno-kv', compareAndSet: true, list: true, expiry: true, guarantee: 'exact' });
      const versori = (await storeKinds['versori (no compare-and-set)']()).kv;
      assert.equal(describeStore(versori).guarantee, 'best-effort');
      assert.equal(describeStore(new VersoriKVAdapter(kv)).guarantee, 'exact', 'an adapter over Deno KV keeps exact guarantees');
      assert.equal(new StateService().describeStore(new VersoriKVAdapter(versori)).kind, 'versori');
      assert.throws(() => describeStore(42), { code: 'INVALID_ARGUMENT' });
      const embedded = (await storeKinds.embedded()).kv;
      assert.equal(describeStore(embedded).kind, 'memory', 'the embedded store is recognised and called directly');
      assert.equal(describeStore(new VersoriKVAdapter(embedded)).kind, 'memory');
    });
  });

  test('works where process does not exist', async () => {
    const saved = globalThis.process;
    const { kv } = await storeKinds.embedded();
    const s = new StateService(silent);
    try {
      Object.defineProperty(globalThis, 'process', { value: undefined, configurable: true, writable: true });
      assert.equal(await s.acquireLock('no-process', kv, 1), true);
    } finally {
      Object.defineProperty(globalThis, 'process', { value: saved, configurable: true, writable: true });
    }
    assert.equal((await s.getLockInfo('no-process', kv)).holder, 'unknown');
  });
});

test('records other code wrote into Deno KV with a Date or BigInt stay readable', async () => {
  await withStore(storeKinds['deno-kv memory'], async (kv) => {
    // 0.1.56 spread the caller's file object into the record: a Date survives in Deno KV.
    await kv.set(['file:', 'wf', 'd.csv'], { fileName: 'd.csv', lastModified: new Date(0), big: 10n, processedAt: new Date().toISOString() });
    const s = new StateService(silent);
    assert.equal(await s.isFileProcessed(kv, 'd.csv', 'wf'), true);
  });
});

test('a store answering in the wrong shape is a store failure, not "absent"', async () => {
  const odd = { get: async () => 42, set: async () => {}, delete: async () => {}, atomic() {}, list() {} };
  await assert.rejects(new StateService(silent).isFileProcessed(odd, 'a.csv'), { code: 'STORE_UNAVAILABLE' });
});

test('openKv reports a path it cannot open as STORE_UNAVAILABLE', async () => {
  const { openKv } = await import('connector-state');
  await assert.rejects(openKv('/nonexistent-dir/x/state.sqlite'), (e) => e instanceof StateError && e.code === 'STORE_UNAVAILABLE');
});

test('the embedded store refuses key parts with lone surrogates', async () => {
  const { kv } = await storeKinds.embedded();
  // A TypeError, as the Deno KV interface throws for keys it cannot take.
  await assert.rejects(kv.set(['a\uD800'], 1), (e) => e instanceof TypeError && /lone surrogate/.test(e.message));
});

// Two stores of one kind number their writes alike, so a versionstamp one
// store gave can be the versionstamp of a different record on the other.
// One StateService handed both must read each store's lock before acting
// on it, not check against what the other store answered.

/** Writes to whichever store is behind until both gave the same versionstamp. */
async function inStep(x, y) {
  let [sx, sy] = [(await x.set(['step'], 0)).versionstamp, (await y.set(['step'], 0)).versionstamp];
  for (let i = 0; sx !== sy && i < 200; i++) {
    if (sx < sy) sx = (await x.set(['step'], 0)).versionstamp;
    else sy = (await y.set(['step'], 0)).versionstamp;
  }
  assert.equal(sx, sy, 'the two stores number their writes alike');
}

// The embedded store numbers its writes one by one from the same start, so
// two of them can be brought in step exactly (@deno/kv's numbering skips).
for (const kind of ['embedded']) {
  test(`${kind}: a versionstamp from one store is never taken for the other's`, async () => {
    const one = await storeKinds[kind]();
    const two = await storeKinds[kind]();
    const stamps = async (name) => [(await one.kv.get(['lock:', name])).versionstamp, (await two.kv.get(['lock:', name])).versionstamp];
    try {
      const a = new StateService(silent);
      const b = new StateService(silent);
      // A release: a holds "job" on one, b holds "job" on two, under one versionstamp.
      await inStep(one.kv, two.kv);
      assert.equal(await a.acquireLock('job', one.kv, 5), true);
      assert.equal(await b.acquireLock('job', two.kv, 5), true);
      const [x, y] = await stamps('job');
      assert.equal(x, y);
      assert.equal(await a.releaseLock('job', two.kv), false, "a's release handed the other store leaves b's lock alone");
      assert.equal((await b.getLockInfo('job', two.kv)).heldByMe, true);
      // An acquisition: a released "next" on one; b holds "next" on two
      // under the versionstamp of a's release.
      await inStep(one.kv, two.kv);
      assert.equal(await a.acquireLock('next', one.kv, 5), true);
      assert.equal(await b.acquireLock('next', two.kv, 5), true);
      assert.equal(await a.releaseLock('next', one.kv), true);
      await b.extendLock('next', two.kv, 5);
      const [p, q] = await stamps('next');
      assert.equal(p, q);
      assert.equal(await a.acquireLock('next', two.kv, 5), false, 'a reads the other store first and finds b');
      assert.equal((await b.getLockInfo('next', two.kv)).heldByMe, true);
      // On its own store, a takes "next" again over its release.
      assert.equal(await a.acquireLock('next', one.kv, 5), true);
    } finally {
      one.close();
      two.close();
    }
  });
}
