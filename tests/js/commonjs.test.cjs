// The package through require(): same classes, same behaviour.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { StateService, FileTracker, VersoriKVAdapter, VersoriFileTracker, StateError, openKv } = require('connector-state');

test('require() gives the working API', async () => {
  const kv = await openKv();
  const s = new StateService();
  assert.equal(await s.acquireLock('cjs', kv, 1), true);
  assert.equal(await s.acquireLock('cjs', kv, 1), false);
  const files = new FileTracker(kv, { prefix: 'cjs' });
  await files.markProcessed('a.csv', { n: 1 });
  assert.equal(await new VersoriFileTracker(kv, 'cjs').wasFileProcessed('a.csv'), true);
  await assert.rejects(s.isFileProcessed(kv, ''), (e) => e instanceof StateError && e.code === 'INVALID_ARGUMENT');
  assert.equal(typeof VersoriKVAdapter, 'function');
});

test('require() works against @deno/kv on a SQLite file', async () => {
  const { mkdtempSync, rmSync } = require('node:fs');
  const { join } = require('node:path');
  const dir = mkdtempSync(join(require('node:os').tmpdir(), 'cs-cjs-'));
  const kv = await openKv(join(dir, 'state.sqlite'));
  try {
    const s = new StateService();
    await s.updateSyncState(kv, [{ fileName: 'f.csv', lastModified: '2026-01-01' }], 'wf');
    assert.equal(await s.isFileProcessed(kv, 'f.csv', 'wf'), true);
  } finally {
    kv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the public surface is exactly the documented exports', () => {
  const names = Object.keys(require('connector-state')).sort();
  assert.deepEqual(names, ['AdapterAtomic', 'Checkpoint', 'CheckpointStore', 'FileTracker', 'IndexedFileTracker', 'JobTracker', 'KvU64', 'MemoryKv', 'PeriodicSaver', 'RetryTracker', 'StateError', 'StateService', 'UnreadableValue', 'VersoriFileTracker', 'VersoriIndexedFileTracker', 'VersoriKVAdapter', 'decodeState', 'describeKey', 'describeStore', 'encodeState', 'openKv']);
});
