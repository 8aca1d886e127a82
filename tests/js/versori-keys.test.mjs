// Versori as it really is: its KV is NATS KV, which refuses any key outside
// `A-Z a-z 0-9 _ - . = /`, starting or ending with `.`, or with an empty
// `.`-token (fc-connect-sdk 0.1.56's troubleshooting guide: "invalid key
// from NATS KV"). The test host (connector-state/testing) refuses them the
// same way, with no switch to turn that off. Every class runs here on the
// awkward names real file drops bring; no key may be refused, and names a
// lossy sanitizer would merge stay apart. A negative control sends the same
// work through a store that undoes the encoding, and the host refuses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CheckpointStore, FileTracker, IndexedFileTracker, JobTracker, RetryTracker, StateService, VersoriFileTracker, VersoriIndexedFileTracker,
  VersoriKVAdapter, describeKey,
} from 'connector-state';
import { createVersoriContext, createVersoriKv, versoriKey } from 'connector-state/testing';

const NAMES = [
  'stock 1.csv', '[SAMPLE] - file (1).xml', 'ünïcödé 文件.csv', 'a%20b.csv', 'a=3Db.csv', 'a:b.csv', '.hidden', 'a..b.csv', 'trailing.',
  '/abs/path/x.csv', `${'long-name-'.repeat(17)}0123456789.csv`,
];
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

/** The strict host, counting what it refuses. */
function counted(inner = createVersoriKv()) {
  const refused = new Set();
  const guard = (f) => async (key, ...rest) => {
    try {
      return await f(key, ...rest);
    } catch (e) {
      if (/invalid key/.test(e.message)) refused.add(String(key));
      throw e;
    }
  };
  return { kv: { get: guard(inner.get), set: guard(inner.set), delete: guard(inner.delete) }, inner, refused };
}

/** Every class, on one store, with `name` as the file, lock, item, job,
 *  workflow and checkpoint name. Returns the failures. */
async function everyClass(kv, name) {
  const failures = [];
  const step = async (what, f) => {
    try {
      await f();
    } catch (e) {
      failures.push(`${what}(${JSON.stringify(name)}): ${e.code ?? ''} ${e.message}`);
    }
  };
  const state = new StateService(quiet);
  await step('acquireLock/releaseLock', async () => {
    assert.equal(await state.acquireLock(name, kv, 1), true);
    assert.equal((await state.getLockInfo(name, kv)).isLocked, true);
    assert.equal(await state.releaseLock(name, kv), true);
  });
  await step('lease', async () => {
    const lease = await state.lock(name, kv, { ttlMs: 60_000 });
    assert.ok(lease);
    await lease.extend();
    assert.equal(await lease.release(), true);
  });
  await step('withLock', async () => assert.equal(await state.withLock(name, kv, async () => 7), 7));
  await step('sync state', async () => {
    await state.updateSyncState(kv, [{ fileName: name, lastModified: '2026-01-01T00:00:00Z', recordCount: 2 }], name);
    assert.equal(await state.isFileProcessed(kv, name, name), true);
    assert.equal((await state.getSyncState(kv, name)).lastProcessedFile, name);
    assert.equal((await state.getMetrics(kv, name)).totalFiles, 1);
  });
  await step('daily job', async () => {
    const jobs = new JobTracker(kv, quiet);
    const { job, created } = await jobs.getOrCreateDailyJob(name, async () => 'daily-1', { maxWriteDelayMs: 0 });
    assert.equal(created, true);
    assert.equal(job.jobId, 'daily-1');
    await jobs.incrementDailyJobBatchCount(name);
  });
  for (const prefix of ['fc-sdk', 'in box/2026']) {
    await step(`FileTracker ${prefix}`, async () => {
      const files = new FileTracker(kv, { prefix, maxWriteDelayMs: 0 });
      assert.equal(await files.isProcessed(name), false);
      await files.markProcessed(name, { rows: 1 });
      assert.equal(await files.isProcessed(name), true);
      assert.equal((await files.getRecord(name)).metadata.rows, 1);
      await files.setLastProcessed(name);
      assert.equal(await files.getLastProcessed(), name);
      assert.equal(await files.forget(name), true);
      const claim = await files.claim(name, { ttlMs: 60_000 });
      assert.equal(claim.claimed, true);
      await claim.extend();
      await claim.complete({ rows: 2 });
      assert.equal(await files.status(name), 'processed');
    });
  }
  await step('VersoriFileTracker', async () => {
    const files = new VersoriFileTracker(kv, 'legacy-prefix');
    await files.markFileProcessed(name);
    assert.equal(await files.wasFileProcessed(name), true);
  });
  await step('IndexedFileTracker', async () => {
    const files = new IndexedFileTracker(kv, { prefix: 'idx', log: quiet });
    await files.mark(name, { rows: 3 });
    assert.equal(await files.isProcessed(name), true);
    assert.ok((await files.list({ limit: 1000 })).files.some((f) => f.fileName === name));
    assert.ok((await files.stats()).totalFiles >= 1);
    await files.cleanup({ before: new Date(Date.now() + 60_000) });
    assert.equal(await files.isProcessed(name), false);
  });
  await step('VersoriIndexedFileTracker', async () => {
    const files = new VersoriIndexedFileTracker(kv, 'vidx');
    await files.markFileProcessed(name, { rows: 1 });
    assert.ok((await files.listProcessedFiles()).some((f) => f.fileName === name));
    await files.removeProcessedFile(name);
  });
  await step('RetryTracker', async () => {
    const retries = new RetryTracker(kv, { namespace: name, policy: { maxAttempts: 1 }, log: quiet });
    await retries.recordFailure(name, 'boom');
    assert.equal((await retries.get(name)).status, 'exhausted');
    assert.equal(await retries.requeue(name), true);
    assert.equal(await retries.recordSuccess(name), true);
  });
  await step('JobTracker', async () => {
    // Job ids are 0.1.56's: letters, digits, '_' and '-'; the name goes in the metadata.
    const jobs = new JobTracker(kv, quiet);
    const id = `job-${name.length}`;
    await jobs.createJob(id, { file: name });
    await jobs.updateJob(id, { status: 'processing' });
    await jobs.markCompleted(id);
    assert.equal((await jobs.getJob(id)).status, 'completed');
    assert.equal((await jobs.getJob(id)).file, name);
  });
  await step('checkpoint with chunks', async () => {
    const checkpoint = new CheckpointStore(kv, { namespace: name, log: quiet }).open(name);
    await checkpoint.load();
    const rows = Array.from({ length: 30_000 }, (_, i) => `row-${i}`);
    await checkpoint.save({ rows }, { position: 1 });
    const loaded = await new CheckpointStore(kv, { namespace: name, log: quiet }).open(name).load();
    assert.equal(loaded.data.rows.length, 30_000);
    await checkpoint.clear();
  });
  return failures;
}

test('every class on the strict Versori host, with awkward names: no key refused, every operation done', async () => {
  for (const name of NAMES) {
    const { kv, inner, refused } = counted();
    const failures = await everyClass(kv, name);
    assert.deepEqual(failures, [], `${name}: ${failures.join('\n')}`);
    assert.deepEqual([...refused], [], `${name}: keys refused`);
    for (const { key } of inner.entries()) assert.equal(versoriKey(key), key);
  }
});

test('through a VersoriKVAdapter and a Versori context too', async () => {
  const ctx = createVersoriContext();
  const { kv, refused } = counted(ctx.openKv(':project:'));
  const adapter = new VersoriKVAdapter(kv);
  const state = new StateService(ctx.log);
  assert.equal(await state.acquireLock('stock 1.csv', adapter, 1), true);
  assert.equal(await state.releaseLock('stock 1.csv', adapter), true);
  await state.updateSyncState(adapter, [{ fileName: 'a:b.csv', lastModified: '2026-01-01' }]);
  assert.equal(await state.isFileProcessed(adapter, 'a:b.csv'), true);
  assert.deepEqual([...refused], []);
});

test('names a lossy sanitizer merges stay apart', async () => {
  const kv = createVersoriKv();
  const files = new FileTracker(kv, { prefix: 'p', maxWriteDelayMs: 0 });
  await files.markProcessed('a b.csv');
  assert.equal(await files.isProcessed('a_b.csv'), false);
  assert.equal(await files.isProcessed('a(b.csv'), false);
  await files.markProcessed('a(b.csv');
  assert.equal(await files.isProcessed('a_b.csv'), false);
  await files.markProcessed('a=3Db.csv');
  assert.equal(await files.isProcessed('a=b.csv'), false);
  const keys = kv.entries().map((e) => e.key).sort();
  assert.equal(new Set(keys).size, 3);
});

test("0.1.56's records on Versori still count; its keys for plain names are ours", async () => {
  const kv = createVersoriKv();
  // What 0.1.56's VersoriFileTracker wrote: `{prefix}/processed-files/{name, unsafe chars as _}`.
  await kv.set('fc-sdk/processed-files/stock_1.csv', { processedAt: '2025-01-01T00:00:00.000Z', recordCount: 3 });
  await kv.set('fc-sdk/processed-files/plain.csv', { processedAt: '2025-01-01T00:00:00.000Z' });
  await kv.set('fc-sdk/last-processed-file', 'plain.csv');
  await kv.set('job_legacy-1_status', { jobId: 'legacy-1', status: 'completed', createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z' });
  const files = new VersoriFileTracker(kv);
  assert.equal(await files.wasFileProcessed('stock 1.csv'), true);
  assert.equal(await files.wasFileProcessed('plain.csv'), true);
  assert.equal(await files.getLastProcessedFile(), 'plain.csv');
  assert.equal((await new JobTracker(kv, quiet).getJob('legacy-1')).status, 'completed');
  // A plain name's key is 0.1.56's key.
  await files.markFileProcessed('new-file.csv');
  assert.ok(kv.entries().some((e) => e.key === 'fc-sdk/processed-files/new-file.csv'));
});

test('describeKey reads a Versori key back', () => {
  const kv = createVersoriKv();
  return (async () => {
    await new FileTracker(kv, { prefix: 'in box', maxWriteDelayMs: 0 }).markProcessed('stock 1.csv');
    await new StateService(quiet, { maxWriteDelayMs: 0 }).acquireLock('nightly: import', kv, 1);
    const described = kv.entries().map((e) => describeKey(e.key));
    assert.ok(described.some((d) => d?.kind === 'tracked-file' && d.prefix === 'in box' && d.fileName === 'stock 1.csv'), JSON.stringify(described));
    assert.ok(described.some((d) => d?.kind === 'lock' && d.name === 'nightly: import'), JSON.stringify(described));
  })();
});

test('the strict host refuses what NATS KV refuses, naming the key, and has no switch to stop', async () => {
  const kv = createVersoriKv();
  for (const bad of ['a b', 'lock:', 'a%20', '(x)', '.start', 'end.', 'a..b', 'ü', ['lock:', 'x']]) {
    await assert.rejects(kv.set(bad, 1), (e) => /invalid key/.test(e.message) && e.message.includes(Array.isArray(bad) ? bad.join('/') : bad));
    await assert.rejects(kv.get(bad), /invalid key/);
  }
  await kv.set(['a', 'b'], { n: 1 });
  assert.deepEqual(await kv.get('a/b'), { n: 1 }, 'an array key is its parts joined with /');
  assert.equal(await kv.get('missing', { default: 5 }), 5);
  await assert.rejects(kv.get('missing', { throwOnNotFound: true }), (e) => e.name === 'KVNotFoundError');
  await kv.set('m', new Map([[1, 2]]));
  assert.deepEqual(await kv.get('m'), {}, 'values are kept as JSON text');
  assert.equal(createVersoriKv.length <= 2, true);
});

test('negative control: the same work with the encoding undone is refused by the host', async () => {
  const { kv: strict, refused } = counted();
  // A store that hands the host each key with its escapes decoded, as a key
  // builder that skipped the encoding would.
  const undo = (key) => (typeof key === 'string' ? key.replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))) : key);
  const raw = { get: (k, o) => strict.get(undo(k), o), set: (k, v, o) => strict.set(undo(k), v, o), delete: (k) => strict.delete(undo(k)) };
  const failures = await everyClass(raw, 'stock 1.csv');
  assert.ok(failures.length > 0, 'the work went through without the encoding');
  assert.ok(refused.size > 0, 'no key was refused');
});
