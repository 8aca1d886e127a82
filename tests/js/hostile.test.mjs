// Hostile input from JS: every bad argument is rejected with a coded
// INVALID_ARGUMENT error that names the argument, and the store sees no write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKv as openDenoKv } from '@deno/kv';
import {
  CheckpointStore, FileTracker, IndexedFileTracker, JobTracker, RetryTracker, StateError, StateService,
} from 'connector-state';
import { versoriKv } from './helpers.mjs';

const MB = 'x'.repeat(1 << 20);
const badNames = [
  ['undefined', undefined], ['null', null], ['a number', 42], ['an object', { a: 1 }], ['an array', ['a']],
  ['true', true], ['a function', () => 'a'], ['the empty string', ''], ['a 1 MB string', MB],
  ['a lone high surrogate', 'file-\uD800.csv'], ['a lone low surrogate', '\uDC00'],
];

/** Counts every write a store is asked to make. */
function watched(kv) {
  const counts = { writes: 0 };
  const proxy = new Proxy(kv, {
    get(target, prop) {
      const v = target[prop];
      if (typeof v !== 'function') return v;
      if (prop === 'set' || prop === 'delete') return (...a) => { counts.writes++; return v.apply(target, a); };
      if (prop === 'atomic') {
        return () => {
          const op = v.call(target);
          const commit = op.commit.bind(op);
          op.commit = () => { counts.writes++; return commit(); };
          return op;
        };
      }
      return v.bind(target);
    },
  });
  return { kv: proxy, counts };
}

async function rejectsInvalid(call, argument, what) {
  let error;
  try { await call(); } catch (e) { error = e; }
  assert.ok(error, `${what}: expected INVALID_ARGUMENT, the call succeeded`);
  assert.ok(error instanceof StateError, `${what}: expected a StateError, got ${error}`);
  assert.equal(error.code, 'INVALID_ARGUMENT', `${what}: ${error.code} ${error.message}`);
  assert.ok(error.message.includes(argument), `${what}: message should name '${argument}': ${error.message}`);
}

// [label, argument name, (store, bad) => call]
const nameCalls = [
  ['StateService.acquireLock', 'lockName', (kv, x) => new StateService().acquireLock(x, kv, 1)],
  ['StateService.releaseLock', 'lockName', (kv, x) => new StateService().releaseLock(x, kv)],
  ['StateService.extendLock', 'lockName', (kv, x) => new StateService().extendLock(x, kv, 1)],
  ['StateService.getLockInfo', 'lockName', (kv, x) => new StateService().getLockInfo(x, kv)],
  ['StateService.isFileProcessed', 'fileName', (kv, x) => new StateService().isFileProcessed(kv, x)],
  ['StateService.setDailyJob', 'workflowId', (kv, x) => new StateService().setDailyJob(kv, x, 'job-1')],
  ['StateService.clearState', 'workflowId', (kv, x) => new StateService().clearState(kv, x)],
  ['FileTracker.markProcessed', 'fileName', (kv, x) => new FileTracker(kv, 'p').markProcessed(x)],
  ['FileTracker.isProcessed', 'fileName', (kv, x) => new FileTracker(kv, 'p').isProcessed(x)],
  ['FileTracker.claim', 'fileName', (kv, x) => new FileTracker(kv, 'p').claim(x)],
  ['FileTracker.forget', 'fileName', (kv, x) => new FileTracker(kv, 'p').forget(x)],
  ['IndexedFileTracker.mark', 'fileName', (kv, x) => new IndexedFileTracker(kv, 'p').mark(x)],
  ['IndexedFileTracker.remove', 'fileName', (kv, x) => new IndexedFileTracker(kv, 'p').remove(x)],
  ['RetryTracker.recordFailure', 'item', (kv, x) => new RetryTracker(kv, 'n').recordFailure(x, 'boom')],
  ['RetryTracker.requeue', 'item', (kv, x) => new RetryTracker(kv, 'n').requeue(x)],
  ['JobTracker.createJob', 'jobId', (kv, x) => new JobTracker(kv).createJob(x)],
  ['JobTracker.markFailed', 'jobId', (kv, x) => new JobTracker(kv).markFailed(x, 'e')],
  ['CheckpointStore.open', 'name', (kv, x) => new CheckpointStore(kv, 'ns').open(x)],
  ['FileTracker prefix', 'prefix', (kv, x) => new FileTracker(kv, { prefix: x })],
  ['IndexedFileTracker prefix', 'prefix', (kv, x) => new IndexedFileTracker(kv, { prefix: x })],
  ['CheckpointStore namespace', 'namespace', (kv, x) => new CheckpointStore(kv, { namespace: x })],
];

// Values accepted as "absent" for optional names are not bad for those calls.
const optional = new Set(['FileTracker prefix', 'IndexedFileTracker prefix', 'CheckpointStore namespace']);

for (const [kind, open] of [['deno-kv memory', () => openDenoKv(':memory:')], ['versori', async () => versoriKv()]]) {
  test(`every bad name is INVALID_ARGUMENT naming the argument, with no write (${kind})`, async () => {
    const raw = await open();
    const { kv, counts } = watched(raw);
    for (const [label, argument, call] of nameCalls) {
      for (const [what, bad] of badNames) {
        if (optional.has(label) && (bad === undefined || bad === null)) continue;
        await rejectsInvalid(() => call(kv, bad), argument, `${label}(${what})`);
      }
    }
    assert.equal(counts.writes, 0, 'the store was written to');
    raw.close?.();
  });
}

const badOptions = [
  ['acquireLock timeout -1', 'timeoutMinutes', (kv) => new StateService().acquireLock('l', kv, -1)],
  ['acquireLock timeout NaN', 'timeoutMinutes', (kv) => new StateService().acquireLock('l', kv, NaN)],
  ['acquireLock timeout "5"', 'timeoutMinutes', (kv) => new StateService().acquireLock('l', kv, '5')],
  ['acquireLock timeout Infinity', 'timeoutMinutes', (kv) => new StateService().acquireLock('l', kv, Infinity)],
  ['claim ttlMs 0', 'ttlMs', (kv) => new FileTracker(kv, 'p').claim('f', { ttlMs: 0 })],
  ['claim ttlMs object', 'ttlMs', (kv) => new FileTracker(kv, 'p').claim('f', { ttlMs: {} })],
  ['markProcessed metadata string', 'metadata', (kv) => new FileTracker(kv, 'p').markProcessed('f', 'meta')],
  ['markProcessed metadata with a function', 'metadata', (kv) => new FileTracker(kv, 'p').markProcessed('f', { f() {} })],
  ['markProcessed metadata with a cycle', 'metadata', (kv) => { const m = {}; m.self = m; return new FileTracker(kv, 'p').markProcessed('f', m); }],
  ['markProcessed metadata with a BigInt', 'metadata', (kv) => new FileTracker(kv, 'p').markProcessed('f', { n: 1n })],
  ['list limit 0', 'limit', (kv) => new IndexedFileTracker(kv, 'p').list({ limit: 0 })],
  ['list limit 1e9', 'limit', (kv) => new IndexedFileTracker(kv, 'p').list({ limit: 1e9 })],
  ['list cursor garbage', 'cursor', (kv) => new IndexedFileTracker(kv, 'p').list({ cursor: 'garbage' })],
  ['list since invalid date', 'since', (kv) => new IndexedFileTracker(kv, 'p').list({ since: 'yesterday' })],
  ['cleanup without a bound', 'olderThanDays', (kv) => new IndexedFileTracker(kv, 'p').cleanup({})],
  ['cleanup olderThanDays -3', 'olderThanDays', (kv) => new IndexedFileTracker(kv, 'p').cleanup({ olderThanDays: -3 })],
  ['retry policy factor 0', 'factor', (kv) => new RetryTracker(kv, { namespace: 'n', policy: { factor: 0 } })],
  ['retry policy jitter', 'jitter', (kv) => new RetryTracker(kv, { namespace: 'n', policy: { jitter: 'lots' } })],
  ['updateSyncState files not an array', 'processedFiles', (kv) => new StateService().updateSyncState(kv, { fileName: 'a' })],
  ['updateSyncState file without a name', 'fileName', (kv) => new StateService().updateSyncState(kv, [{ lastModified: '2025-01-01' }])],
  ['setDailyJob hours -1', 'expirationHours', (kv) => new StateService().setDailyJob(kv, 'wf', 'j', -1)],
  ['incrementDailyJobBatchCount by 1.5', 'by', (kv) => new StateService().incrementDailyJobBatchCount(kv, 'wf', 1.5)],
  ['createJob id with a space', 'jobId', (kv) => new JobTracker(kv).createJob('a b')],
  ['createJob 1 MB id', 'jobId', (kv) => new JobTracker(kv).createJob(MB)],
  ['checkpoint version object', 'version', (kv) => new CheckpointStore(kv, 'ns').open('c', { version: {} })],
  ['checkpoint progress too large', 'progress', (kv) => new CheckpointStore(kv, 'ns').open('c').save({}, { position: MB })],
  ['periodic everyItems -1', 'everyItems', (kv) => new CheckpointStore(kv, 'ns').open('c').periodic({ everyItems: -1 })],
  ['store undefined', 'kv', () => new FileTracker(undefined, 'p')],
  ['store a number', 'kv', () => new IndexedFileTracker(5, 'p')],
  ['store without get', 'kv', () => new StateService().acquireLock('l', { set() {} }, 1)],
];

test('invalid options are INVALID_ARGUMENT naming the option, with no write', async () => {
  const raw = await openDenoKv(':memory:');
  const { kv, counts } = watched(raw);
  for (const [what, argument, call] of badOptions) {
    if (what.startsWith('checkpoint progress')) {
      let error;
      try { await call(kv); } catch (e) { error = e; }
      assert.ok(error instanceof StateError && error.message.includes('progress'), `${what}: ${error}`);
      continue;
    }
    await rejectsInvalid(() => call(kv), argument, what);
  }
  assert.equal(counts.writes, 0, 'the store was written to');
  raw.close();
});

test('__proto__ and constructor are ordinary names: stored, read back, no prototype touched', async () => {
  for (const open of [() => openDenoKv(':memory:'), async () => versoriKv()]) {
    const kv = await open();
    const files = new FileTracker(kv, 'p');
    const indexed = new IndexedFileTracker(kv, 'p');
    const state = new StateService();
    for (const name of ['__proto__', 'constructor', 'prototype', 'hasOwnProperty']) {
      assert.equal(await files.isProcessed(name), false);
      await files.markProcessed(name, { __proto__: null, ['__proto__']: { polluted: true }, constructor: 'c' });
      assert.equal(await files.isProcessed(name), true);
      const record = await files.getRecord(name);
      assert.equal(record.fileName, name);
      assert.ok(Object.hasOwn(record.metadata, '__proto__'));
      await indexed.mark(name, { n: 1 });
      assert.equal((await indexed.get(name)).fileName, name);
      assert.equal(await state.acquireLock(name, kv, 1), true);
      assert.equal(await state.releaseLock(name, kv), true);
    }
    const { files: listed } = await indexed.list();
    assert.deepEqual(listed.map((f) => f.fileName).sort(), ['__proto__', 'constructor', 'hasOwnProperty', 'prototype']);
    assert.equal({}.polluted, undefined);
    assert.equal(Object.prototype.polluted, undefined);
    kv.close?.();
  }
});
