// The calls of the guide's "Testing State Management" section and its
// patterns 1–3 and 6's adapter use, on a Versori-style host, unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StateService, VersoriKVAdapter, VersoriFileTracker } from 'connector-state';
import { fakeVersoriContext } from './helpers.mjs';

test('guide: Testing State Management runs unchanged', async () => {
  const ctx = fakeVersoriContext();
  const { openKv, log } = ctx;

  const kvAdapter = new VersoriKVAdapter(openKv(':project:'));
  const stateService = new StateService(log);

  const lockAcquired = await stateService.acquireLock('test-lock', kvAdapter, 5);
  const lockAcquired2 = await stateService.acquireLock('test-lock', kvAdapter, 5);
  await stateService.releaseLock('test-lock', kvAdapter);
  assert.equal(lockAcquired, true);
  assert.equal(lockAcquired2, false);

  const fileTracker = new VersoriFileTracker(openKv(':project:'), 'test');
  await fileTracker.markFileProcessed('test-file.csv', { recordCount: 100 });
  const wasProcessed = await fileTracker.wasFileProcessed('test-file.csv');
  assert.equal(wasProcessed, true);
  const lastFile = await fileTracker.getLastProcessedFile();
  assert.equal(lastFile, null);
  await fileTracker.setLastProcessedFile('test-file.csv');
  assert.equal(await fileTracker.getLastProcessedFile(), 'test-file.csv');

  await stateService.updateSyncState(kvAdapter, [{
    fileName: 'test.csv',
    lastModified: new Date().toISOString(),
    recordCount: 100,
  }], 'test-workflow');
  const syncState = await stateService.getSyncState(kvAdapter, 'test-workflow');
  assert.equal(syncState.isInitialized, true);
  assert.equal(syncState.lastProcessedFile, 'test.csv');

  await stateService.setDailyJob(kvAdapter, 'test-workflow', 'job-123', 24);
  const dailyJob = await stateService.getDailyJob(kvAdapter, 'test-workflow');
  assert.equal(dailyJob.jobId, 'job-123');

  const messages = log.entries.map((e) => e.message);
  assert.ok(messages.includes('Lock acquired') && messages.includes('Lock already held') && messages.includes('Lock released'));
  // Scopes are separate stores.
  assert.equal(await new VersoriFileTracker(openKv(':execution:'), 'test').wasFileProcessed('test-file.csv'), false);
});

test('guide pattern 3: checkpoint through kvAdapter.get/set/delete', async () => {
  const { openKv } = fakeVersoriContext();
  const kvAdapter = new VersoriKVAdapter(openKv(':project:'));
  const checkpointKey = 'checkpoint:batch-processing';
  assert.equal(await kvAdapter.get([checkpointKey]), null);
  const checkpoint = { currentBatch: 10, totalBatches: 100, processedRecords: 500, lastProcessedId: 'batch-10', startTime: new Date().toISOString() };
  await kvAdapter.set([checkpointKey], checkpoint);
  const stored = await kvAdapter.get([checkpointKey]);
  assert.deepEqual(stored?.value, checkpoint);
  await kvAdapter.delete([checkpointKey]);
  assert.equal(await kvAdapter.get([checkpointKey]), null);
});

test("0.1.56's lock key never existed on Versori; a lock written through the adapter's KVStore shape is ours, and ours reads as 0.1.56 reads locks", async () => {
  const { openKv } = fakeVersoriContext();
  const raw = openKv(':project:');
  const kvAdapter = new VersoriKVAdapter(raw);
  const s = new StateService();
  // 0.1.56's key holds ':', which Versori's KV (NATS KV) refuses.
  await assert.rejects(raw.set(['lock:', 'legacy'], {}), /invalid key "lock:\/legacy"/);
  // 0.1.56's StateService through our adapter: the key becomes the one our classes use.
  await kvAdapter.set(['lock:', 'legacy'], { isLocked: true, lockId: '1-abc', lockedAt: new Date().toISOString(), lockedBy: 'unknown', expiresAt: new Date(Date.now() + 60_000).toISOString() });
  assert.equal(await s.acquireLock('legacy', kvAdapter, 5), false);
  // Ours, read the way 0.1.56 reads it: value.expiresAt in the future means held.
  assert.equal(await s.acquireLock('ours', kvAdapter, 5), true);
  const ours = (await kvAdapter.get(['lock:', 'ours'])).value;
  assert.ok(new Date(ours.expiresAt) > new Date());
  assert.equal(ours.isLocked, true);
  assert.deepEqual(await raw.get('cs=/lock=3A/ours'), ours, 'at its Versori key');
  await s.releaseLock('ours', kvAdapter);
  const released = (await kvAdapter.get(['lock:', 'ours'])).value;
  assert.ok(!(new Date(released.expiresAt) > new Date()), '0.1.56 sees a released lock as stale');
});

test('each atomic() has its own pending writes', async () => {
  const { openKv } = fakeVersoriContext();
  const kvAdapter = new VersoriKVAdapter(openKv(':project:'));
  const first = kvAdapter.atomic();
  const second = kvAdapter.atomic();
  first.set(['a'], 1);
  second.set(['b'], 2);
  assert.equal(await second.commit(), true);
  assert.equal(await kvAdapter.get(['a']), null, "second.commit() must not apply first's writes");
  assert.equal(await first.commit(), true);
  assert.equal((await kvAdapter.get(['a'])).value, 1);
  const guarded = kvAdapter.atomic();
  guarded.check([{ key: ['a'], versionstamp: null }]);
  guarded.set(['a'], 3);
  assert.equal(await guarded.commit(), false, 'a must-not-exist check fails on an existing key');
});

test('VersoriKVAdapter over the embedded store and over Deno KV keeps exact checks', async () => {
  const { openKv } = await import('connector-state');
  const { openKv: openDenoKv } = await import('@deno/kv');
  for (const kv of [await openKv(), await openDenoKv(':memory:')]) {
    const adapter = new VersoriKVAdapter(kv);
    assert.equal(adapter.capabilities().guarantee, 'exact');
    assert.equal(await adapter.get(['k']), null);
    await adapter.set(['k'], { n: 1 });
    const entry = await adapter.get(['k']);
    assert.deepEqual(entry.value, { n: 1 });
    const stale = adapter.atomic();
    stale.check({ key: ['k'], versionstamp: entry.versionstamp });
    stale.set(['k'], { n: 2 });
    await adapter.set(['k'], { n: 3 }); // someone else writes first
    assert.equal(await stale.commit(), false);
    assert.deepEqual((await adapter.get(['k'])).value, { n: 3 });
    kv.close();
  }
});

test('an adapter around an adapter reads and writes the innermost store', async () => {
  const { openKv } = fakeVersoriContext();
  const raw = openKv(':project:');
  const outer = new VersoriKVAdapter(new VersoriKVAdapter(raw));
  await outer.set(['k'], { n: 1 });
  assert.deepEqual(await raw.get('cs=/k'), { n: 1 }, 'an array key lands at its Versori key');
  assert.deepEqual((await outer.get(['k'])).value, { n: 1 });
});
