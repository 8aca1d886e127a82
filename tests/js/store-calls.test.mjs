// Store calls per operation. On a Versori-style store (no compare-and-set)
// an emulated atomic write checks against what this handle read, without
// reading the key again, but still sees what this handle itself wrote since
// (a write through the same handle makes it read again). On Deno KV, reads
// of several keys go in one getMany.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointStore, StateService, VersoriIndexedFileTracker } from 'connector-state';
import { createVersoriKv } from 'connector-state/testing';

function counted(inner = createVersoriKv()) {
  const c = { gets: 0, sets: 0, deletes: 0, get calls() { return this.gets + this.sets + this.deletes; } };
  const kv = {
    get: (k) => (c.gets++, inner.get(k)),
    set: (k, v, o) => (c.sets++, inner.set(k, v, o)),
    delete: (k) => (c.deletes++, inner.delete(k)),
  };
  return { kv, c, inner };
}

test('updateSyncState of 10 files on Versori: 24 calls, totals counted once', async () => {
  const { kv, c } = counted();
  const state = new StateService(null);
  const files = (n) => Array.from({ length: 10 }, (_, j) => ({ fileName: `f-${n}-${j}.csv`, lastModified: '2026-01-01T00:00:00Z', recordCount: 2 }));
  await state.updateSyncState(kv, files(1), 'wf');
  // 10 records, the totals and the sync state (checked: a damaged one is
  // reported, not overwritten) read, then written, then the sync state.
  assert.deepEqual([c.gets, c.sets, c.deletes], [12, 12, 0]);
  assert.equal(c.calls, 24);
  await state.updateSyncState(kv, files(1), 'wf'); // the same files again
  const metrics = await state.getMetrics(kv, 'wf');
  assert.equal(metrics.totalFiles, 10);
  assert.equal(metrics.totalRecords, 20);
});

// Which of the index's 8 append lanes a name goes to (CRC-32 of the name, as the core picks it).
function lane(name) {
  let c = ~0;
  for (const b of Buffer.from(name)) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ((~c) >>> 0) % 8;
}
const sameLane = (base, n) => Array.from({ length: 200 }, (_, i) => `${base}-${i}.csv`).filter((x) => lane(x) === lane(`${base}-0.csv`)).slice(0, n);

test('indexed mark of a new file on Versori: 5 calls', async () => {
  const { kv, c } = counted();
  const tracker = new VersoriIndexedFileTracker(kv, 'calls');
  const [warm, next] = sameLane('m', 2);
  await tracker.markFileProcessed(warm, { n: 0 }); // opens the lane's page
  const before = c.calls;
  await tracker.markFileProcessed(next, { n: 1 });
  // The record, the head, the page; then the page and the record written.
  assert.equal(c.calls - before, 5);
  assert.deepEqual((await tracker.listProcessedFiles()).map((f) => f.fileName).sort(), [warm, next].sort());
});

test('two marks racing through one Versori handle: the page the first rewrote is read again, no file lost', async () => {
  // Reads answer 5 ms after they read, writes land at once: both marks read the same page,
  // the first writes it, and the second must not write over it from its
  // stale read (this handle wrote the page since).
  const inner = createVersoriKv();
  const kv = {
    get: async (k) => { const v = await inner.get(k); await new Promise((r) => setTimeout(r, 5)); return v; },
    set: (k, v, o) => inner.set(k, v, o),
    delete: (k) => inner.delete(k),
  };
  const tracker = new VersoriIndexedFileTracker(kv, 'same-handle');
  const [first, a, b] = sameLane('r', 3);
  await tracker.markFileProcessed(first, {});
  await Promise.all([tracker.markFileProcessed(a, {}), tracker.markFileProcessed(b, {})]);
  const listed = (await tracker.listProcessedFiles()).map((f) => f.fileName).sort();
  assert.deepEqual(listed, [first, a, b].sort());
});

test('checkpoint saves on Versori: 2 calls each once this object has saved, and another run\'s save is still caught', async () => {
  const { kv, c, inner } = counted();
  const cp = new CheckpointStore(kv, { namespace: 'calls' }).open('run', { version: 1 });
  await cp.load();
  let before = c.calls;
  await cp.save({ n: 0 }, { position: 0 });
  assert.equal(c.calls - before, 3, 'the first save of a new checkpoint also reads the pending-chunks record');
  for (let i = 1; i <= 5; i++) {
    before = c.calls;
    await cp.save({ n: i }, { position: i });
    assert.equal(c.calls - before, 2, `save ${i}: read the manifest, write it`);
  }
  // Another run (its own handle) saves in between: this one's next save says so.
  const other = new CheckpointStore(inner, { namespace: 'calls' }).open('run', { version: 1 });
  await other.load();
  await other.save({ n: 'other' }, { position: 99 });
  await assert.rejects(cp.save({ n: 6 }, { position: 6 }), { code: 'CONFLICT' });
  assert.deepEqual((await other.load()).data, { n: 'other' });
});

test('checkpoint saves on Versori after a load: 2 calls from the first', async () => {
  const { kv, c, inner } = counted();
  const first = new CheckpointStore(inner, { namespace: 'after-load' }).open('run', { version: 1 });
  await first.load();
  await first.save({ n: 0 }, { position: 0 });
  const cp = new CheckpointStore(kv, { namespace: 'after-load' }).open('run', { version: 1 });
  assert.deepEqual((await cp.load()).data, { n: 0 });
  for (let i = 1; i <= 4; i++) {
    const before = c.calls;
    await cp.save({ n: i }, { position: i });
    assert.equal(c.calls - before, 2, `save ${i} after the load`);
  }
  assert.deepEqual((await first.load()).data, { n: 4 });
});

test('updateSyncState of 10 files on Deno KV: 5 calls (getMany reads records and totals at once)', async () => {
  const { openKv } = await import('@deno/kv');
  const inner = await openKv(':memory:');
  const calls = {};
  const count = (name, f) => (...a) => { calls[name] = (calls[name] ?? 0) + 1; return f(...a); };
  const kv = {
    get: count('get', (...a) => inner.get(...a)),
    getMany: count('getMany', (...a) => inner.getMany(...a)),
    set: count('set', (...a) => inner.set(...a)),
    delete: count('delete', (...a) => inner.delete(...a)),
    list: count('list', (...a) => inner.list(...a)),
    atomic: () => { const op = inner.atomic(); const commit = op.commit.bind(op); op.commit = count('commit', commit); return op; },
  };
  const state = new StateService(null);
  const files = (n) => Array.from({ length: 10 }, (_, j) => ({ fileName: `f-${n}-${j}.csv`, lastModified: '2026-01-01T00:00:00Z', recordCount: 3 }));
  await state.updateSyncState(kv, files(1), 'wf');
  // Two checked batches (9 records, then 1: a denokv server takes 10 checks
  // a write): each one getMany and one commit; then the sync state.
  assert.deepEqual(calls, { getMany: 2, commit: 2, set: 1 });
  await Promise.all([state.updateSyncState(kv, files(1), 'wf'), new StateService(null).updateSyncState(kv, files(2), 'wf')]);
  const metrics = await state.getMetrics(kv, 'wf');
  assert.equal(metrics.totalFiles, 20);
  assert.equal(metrics.totalRecords, 60);
  inner.close();
});
