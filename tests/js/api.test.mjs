// Public members and options no other test reached, each with an assertion
// that could fail; and a gate: every class member and option named in
// js/index.d.ts, and every error code of the README's table, is used by
// some test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openKv as openDenoKv } from '@deno/kv';
import {
  CheckpointStore, FileTracker, IndexedFileTracker, JobTracker, RetryTracker, StateService, StateError,
  VersoriKVAdapter, describeKey, openKv,
} from 'connector-state';
import { createClock, createLog, createVersoriContext, createVersoriKv } from 'connector-state/testing';
import { withMovedTime } from './helpers.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const HOUR = 3600_000;

test('capabilities() of every class names the store and its guarantee', async () => {
  const deno = await openDenoKv(':memory:');
  const versori = createVersoriKv();
  try {
    for (const [kv, kind, guarantee] of [[deno, 'deno-kv', 'exact'], [versori, 'versori', 'best-effort'], [await openKv(), 'memory', 'exact']]) {
      for (const c of [new FileTracker(kv), new IndexedFileTracker(kv), new CheckpointStore(kv), new RetryTracker(kv), new JobTracker(kv)]) {
        const caps = c.capabilities();
        assert.equal(caps.kind, kind, c.constructor.name);
        // FileTracker's claims wait out maxWriteDelayMs on Versori: 'timed'.
        const expected = guarantee === 'best-effort' && c instanceof FileTracker ? 'timed' : guarantee;
        assert.equal(caps.guarantee, expected, c.constructor.name);
        assert.equal(caps.compareAndSet, guarantee === 'exact');
      }
    }
  } finally {
    deno.close();
  }
});

test('prefix, namespace, name and version getters give what was passed, or the default', async () => {
  const kv = await openKv();
  assert.equal(new FileTracker(kv, { prefix: 'inv' }).prefix, 'inv');
  assert.equal(new FileTracker(kv, 'sftp').prefix, 'sftp');
  assert.equal(new IndexedFileTracker(kv, { prefix: 'orders' }).prefix, 'orders');
  assert.equal(new IndexedFileTracker(kv).prefix, new FileTracker(kv).prefix);
  const store = new CheckpointStore(kv, { namespace: 'nightly' });
  assert.equal(store.namespace, 'nightly');
  assert.equal(new CheckpointStore(kv).namespace, 'default');
  const cp = store.open('run', { version: 3 });
  assert.deepEqual([cp.name, cp.namespace, cp.version], ['run', 'nightly', 3]);
  assert.equal(store.open('other').version, 1);
  assert.equal(new RetryTracker(kv, { policy: { maxAttempts: 2 } }).policy.maxAttempts, 2);
});

test('JobTracker.cleanup removes finished jobs older than the cutoff, and only those', async () => {
  const kv = await openKv();
  const jobs = new JobTracker(kv, null);
  await jobs.createJob('old-done');
  await jobs.markCompleted('old-done');
  await jobs.createJob('running');
  await jobs.updateJob('running', { status: 'processing' });
  assert.deepEqual(await jobs.cleanup({ olderThanDays: 1 }), { scanned: 2, deleted: 0, failed: 0 });
  const removed = await jobs.cleanup({ before: Date.now() + HOUR, batchSize: 1 });
  assert.equal(removed.scanned, 2);
  assert.equal(removed.failed, 0);
  assert.ok(removed.deleted >= 1);
  assert.equal(await jobs.getJob('old-done'), undefined);
  const left = (await jobs.listJobs()).jobs.map((j) => j.jobId);
  assert.ok(!left.includes('old-done'));
  await assert.rejects(jobs.cleanup({}), (e) => e.code === 'INVALID_ARGUMENT');
});

test('VersoriKVAdapter.atomic().delete removes the key in the same commit as a check', async () => {
  const raw = createVersoriKv();
  const adapter = new VersoriKVAdapter(raw);
  await adapter.set(['a'], 1);
  const entry = await adapter.get(['a']);
  const op = adapter.atomic();
  op.check({ key: ['a'], versionstamp: entry.versionstamp });
  op.delete(['a']);
  op.set(['b'], 2);
  assert.equal(await op.commit(), true);
  assert.equal(await adapter.get(['a']), null);
  assert.equal(await raw.get(['a']), undefined);
  assert.equal((await adapter.get(['b'])).value, 2);
  // A failed check deletes nothing.
  const refused = adapter.atomic();
  refused.check({ key: ['b'], versionstamp: null });
  refused.delete(['b']);
  assert.equal(await refused.commit(), false);
  assert.equal((await adapter.get(['b'])).value, 2);
});

test('MemoryKv: getMany, delete, list, size and atomic().delete', async () => {
  const kv = await openKv();
  assert.equal(kv.size, 0);
  await kv.set(['p', 'a'], 1);
  await kv.set(['p', 'b'], 2);
  await kv.set(['q'], 3);
  assert.equal(kv.size, 3);
  const many = await kv.getMany([['p', 'a'], ['nope'], ['q']]);
  assert.deepEqual(many.map((e) => [e.key, e.value]), [[['p', 'a'], 1], [['nope'], null], [['q'], 3]]);
  assert.equal(many[1].versionstamp, null);
  const listed = [];
  for await (const e of kv.list({ prefix: ['p'] })) listed.push([e.key, e.value]);
  assert.deepEqual(listed, [[['p', 'a'], 1], [['p', 'b'], 2]]);
  await kv.delete(['p', 'a']);
  assert.equal((await kv.get(['p', 'a'])).value, null);
  assert.equal(kv.size, 2);
  const b = await kv.get(['p', 'b']);
  assert.deepEqual(await kv.atomic().check({ key: ['p', 'b'], versionstamp: '00000000000000000000' }).delete(['p', 'b']).commit(), { ok: false });
  assert.equal(kv.size, 2);
  const done = await kv.atomic().check(b).delete(['p', 'b']).commit();
  assert.equal(done.ok, true);
  assert.equal(kv.size, 1);
  assert.equal((await kv.get(['p', 'b'])).versionstamp, null);
});

test('the testing harness: clock.set moves time to a Date or a number, log.clear empties the log', () => {
  const clock = createClock(1000);
  assert.equal(clock.set(new Date(5000)), 5000);
  assert.equal(clock.now(), 5000);
  assert.equal(clock.set(42), 42);
  assert.throws(() => clock.set('soon'), TypeError);
  assert.equal(clock.now(), 42);
  const log = createLog(clock);
  log.info('one');
  log.warn('two');
  assert.equal(log.entries.length, 2);
  log.clear();
  assert.deepEqual(log.entries, []);
  log.error('three');
  assert.deepEqual(log.entries.map((e) => [e.level, e.message, e.at]), [['error', 'three', 42]]);
});

test('the harness Versori KV: default, throwOnNotFound and ttl (seconds on its clock)', async () => {
  const ctx = createVersoriContext({ now: 0 });
  const kv = ctx.openKv(':execution:');
  assert.equal(await kv.get('missing'), undefined);
  assert.equal(await kv.get('missing', { default: 7 }), 7);
  await assert.rejects(kv.get('missing', { throwOnNotFound: true }), (e) => e.name === 'KVNotFoundError' && /key not found: missing/.test(e.message));
  await kv.set('short', 'v', { ttl: 10 });
  assert.equal(await kv.get('short', { throwOnNotFound: true }), 'v');
  ctx.clock.advance(9_999);
  assert.equal(await kv.get('short'), 'v');
  ctx.clock.advance(1);
  assert.equal(await kv.get('short', { default: 'gone' }), 'gone');
  await assert.rejects(kv.set('x', 1, { ttl: 0 }), /ttl/);
});

test('daily job options: alignToUtcDay, expiresInHours and leaseMs', async () => {
  const kv = await openKv();
  const jobs = new JobTracker(kv, null);
  // alignToUtcDay: the window (and the record) ends at the next UTC midnight.
  const aligned = await jobs.getOrCreateDailyJob('wf-aligned', () => 'job-a', { alignToUtcDay: true });
  assert.equal(aligned.created, true);
  const midnight = new Date(Date.parse(aligned.job.createdAt));
  midnight.setUTCHours(24, 0, 0, 0);
  assert.equal(Date.parse(aligned.job.expiresAt), midnight.getTime());
  const again = await jobs.getOrCreateDailyJob('wf-aligned', () => 'job-b', { alignToUtcDay: true });
  assert.deepEqual([again.created, again.job.jobId], [false, 'job-a']);
  // Without it, the window is 24 hours from creation.
  const rolling = await jobs.getOrCreateDailyJob('wf-rolling', () => 'job-r');
  assert.equal(Date.parse(rolling.job.expiresAt) - Date.parse(rolling.job.createdAt), 24 * HOUR);
  // expiresInHours: how long the record lives, whatever the window.
  const short = await jobs.getOrCreateDailyJob('wf-short', () => 'job-s', { expiresInHours: 2 });
  assert.equal(Date.parse(short.job.expiresAt) - Date.parse(short.job.createdAt), 2 * HOUR);
  await assert.rejects(jobs.getOrCreateDailyJob('wf-bad', () => 'x', { expiresInHours: -1 }), (e) => e.code === 'INVALID_ARGUMENT' && /expiresInHours/.test(e.message));
  // leaseMs: a run that takes longer than its lease to create lets another run create.
  let calls = 0;
  const slow = jobs.getOrCreateDailyJob('wf-lease', () => new Promise((resolve) => { calls += 1; setTimeout(() => resolve('slow-job'), 300); }), { leaseMs: 20, pollMs: 5 });
  await withMovedTime(async (clock) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    clock.advance(60_000); // far past the 20 ms lease
    const fast = await jobs.getOrCreateDailyJob('wf-lease', () => { calls += 1; return 'fast-job'; }, { leaseMs: 20, pollMs: 5 });
    assert.deepEqual([fast.created, fast.job.jobId], [true, 'fast-job']);
  });
  await slow.catch(() => {});
  assert.equal(calls, 2);
  // With the default lease (2 minutes), the second run waits for the first instead.
  calls = 0;
  const first = jobs.getOrCreateDailyJob('wf-wait', () => new Promise((resolve) => { calls += 1; setTimeout(() => resolve('only-job'), 50); }), { pollMs: 5 });
  const second = await jobs.getOrCreateDailyJob('wf-wait', () => { calls += 1; return 'second-job'; }, { pollMs: 5 });
  assert.deepEqual([second.created, second.job.jobId, (await first).job.jobId, calls], [false, 'only-job', 'only-job', 1]);
  await assert.rejects(jobs.getOrCreateDailyJob('wf-bad', () => 'x', { leaseMs: -1 }), (e) => e.code === 'INVALID_ARGUMENT');
});

test('KEY_TOO_LARGE reaches JS: a long prefix with a long name', async () => {
  const kv = await openKv();
  const files = new FileTracker(kv, { prefix: 'p'.repeat(1024) });
  await assert.rejects(files.markProcessed('n'.repeat(1024)), (e) => e instanceof StateError && e.code === 'KEY_TOO_LARGE' && /2048/.test(e.message));
  // Percent-encoding counts: 400 spaces take 1,200 bytes in the key.
  await assert.rejects(new FileTracker(kv, { prefix: 'p'.repeat(900) }).markProcessed(' '.repeat(400)), (e) => e.code === 'KEY_TOO_LARGE');
  assert.equal(kv.size, 0, 'nothing was written');
  await new FileTracker(kv, { prefix: 'p'.repeat(900) }).markProcessed('n'.repeat(1000)); // 1,917 bytes: fits
  assert.equal(kv.size, 1);
  // A name alone past 1,024 bytes is INVALID_ARGUMENT instead.
  await assert.rejects(new FileTracker(kv).markProcessed('n'.repeat(1025)), (e) => e.code === 'INVALID_ARGUMENT');
});

test('CONFLICT reaches JS after 64 lost races in a row', async () => {
  const raw = await openDenoKv(':memory:');
  let commits = 0;
  // Every compare-and-set loses: the check always fails, as if another
  // writer changed the key between our read and our write each time.
  const losing = {
    get: (...a) => raw.get(...a),
    getMany: (...a) => raw.getMany(...a),
    set: (...a) => raw.set(...a),
    delete: (...a) => raw.delete(...a),
    list: (...a) => raw.list(...a),
    atomic: () => {
      const op = { check() { return op; }, set() { return op; }, delete() { return op; }, sum() { return op; }, commit: async () => { commits += 1; return { ok: false }; } };
      return op;
    },
  };
  try {
    const state = new StateService(null);
    await state.setDailyJob(raw, 'wf', 'job-1', 24);
    await assert.rejects(state.incrementDailyJobBatchCount(losing, 'wf'), (e) => e instanceof StateError && e.code === 'CONFLICT');
    assert.equal(commits, 64);
    assert.equal((await state.getDailyJob(raw, 'wf')).batchCount, 0, 'nothing was counted');
  } finally {
    raw.close();
  }
});

test('forceReleaseLock frees a lock whoever holds it; the holder then cannot extend', async () => {
  const kv = await openKv();
  const holder = new StateService(null);
  const operator = new StateService(null);
  assert.equal(await holder.acquireLock('nightly', kv, 5), true);
  assert.equal(await operator.releaseLock('nightly', kv), false);
  assert.equal(await operator.forceReleaseLock('nightly', kv), true);
  assert.equal((await operator.getLockInfo('nightly', kv)).held, false);
  await assert.rejects(holder.extendLock('nightly', kv, 5), (e) => e.code === 'LOCK_NOT_HELD');
  assert.equal(await operator.forceReleaseLock('nightly', kv), false, 'nothing left to release');
  assert.equal(await operator.acquireLock('nightly', kv, 5), true);
});

test('getLastProcessed / setLastProcessed, and legacyKey gives 0.1.56\'s key', async () => {
  const kv = createVersoriKv();
  const files = new FileTracker(kv, 'sftp');
  assert.equal(await files.getLastProcessed(), null);
  await files.setLastProcessed('orders-0002.csv');
  assert.equal(await files.getLastProcessed(), 'orders-0002.csv');
  assert.equal(await new FileTracker(kv, 'other').getLastProcessed(), null);
  const indexed = new IndexedFileTracker(kv, 'sftp');
  assert.equal(indexed.legacyKey('a b.csv'), 'sftp:processed-files:a b.csv');
  await indexed.mark('a b.csv');
  // On Versori (NATS KV) that key could never be written: the record sits at its NATS key.
  await assert.rejects(kv.get(indexed.legacyKey('a b.csv')), /invalid key/);
  assert.notEqual(await kv.get('cs=/sftp=3Aprocessed-files/a=20b.csv'), undefined, 'the record sits at its Versori key');
  assert.throws(() => indexed.legacyKey(''), (e) => e.code === 'INVALID_ARGUMENT');
});

test('MemoryKv set with expireIn: the entry is gone after that many milliseconds', async () => {
  const kv = await openKv();
  await withMovedTime(async (clock) => {
    await kv.set(['short'], 1, { expireIn: 1000 });
    await kv.set(['long'], 2);
    assert.equal((await kv.get(['short'])).value, 1);
    clock.advance(1001);
    assert.equal((await kv.get(['short'])).value, null);
    assert.equal((await kv.get(['long'])).value, 2);
    assert.equal(kv.size, 1);
  });
});

test('the harness context: executionId as given or generated, debug entries logged', () => {
  const given = createVersoriContext({ executionId: 'exec-42' });
  assert.equal(given.executionId, 'exec-42');
  const a = createVersoriContext();
  const b = createVersoriContext();
  assert.match(a.executionId, /^exec-[a-z0-9]+$/);
  assert.notEqual(a.executionId, b.executionId);
  a.log.debug('details', { n: 1 });
  assert.deepEqual(a.log.find('debug').map((e) => [e.message, e.context]), [['details', { n: 1 }]]);
  assert.deepEqual(a.log.find('info'), []);
});

test('describeKey reads back every kind of key the classes write, and nothing else', async () => {
  const kv = await openKv();
  const state = new StateService(createLog());
  assert.equal(await state.acquireLock('nightly', kv, 1), true);
  await state.updateSyncState(kv, [{ fileName: 'a.csv', lastModified: '2026-01-01', recordCount: 1 }], 'wf');
  await new FileTracker(kv, { prefix: 'inv' }).markProcessed('a b.csv');
  await new IndexedFileTracker(kv, { prefix: 'idx' }).mark('c:d.csv');
  await new RetryTracker(kv, { namespace: 'orders' }).recordFailure('o-1', new Error('503'));
  await new JobTracker(kv).createJob('job-1');
  await new CheckpointStore(kv, { namespace: 'ns' }).open('run').save({ at: 1 });
  await kv.set(['not', 'ours'], 1);
  const kinds = {};
  for await (const { key, value } of kv.list({ prefix: [] })) {
    const d = describeKey(key, value);
    kinds[d?.kind ?? 'foreign'] = [...(kinds[d?.kind ?? 'foreign'] ?? []), d];
  }
  assert.deepEqual(kinds.lock.map((l) => [l.name, l.held, l.stale, l.isLocked]), [['nightly', true, false, true]]);
  assert.deepEqual(kinds['state-file'], [{ kind: 'state-file', workflowId: 'wf', fileName: 'a.csv' }]);
  assert.deepEqual(kinds['tracked-file'], [{ kind: 'tracked-file', prefix: 'inv', fileName: 'a b.csv' }]);
  assert.deepEqual(kinds['indexed-file'], [{ kind: 'indexed-file', prefix: 'idx', fileName: 'c:d.csv' }]);
  assert.deepEqual(kinds['retry-item'], [{ kind: 'retry-item', namespace: 'orders', item: 'o-1' }]);
  // With the record: its status and how long since it last changed (what "stuck" is measured by).
  assert.equal(kinds.job.length, 1);
  const { idleMs, ...job } = kinds.job[0];
  assert.deepEqual(job, { kind: 'job', jobId: 'job-1', status: 'queued' });
  assert.ok(idleMs >= 0 && idleMs < 60_000, String(idleMs));
  assert.deepEqual(kinds.checkpoint, [{ kind: 'checkpoint', namespace: 'ns', name: 'run' }]);
  assert.equal(kinds.foreign.length, 1);
  // A lock's held / stale at a given time, as getLockInfo would say.
  const { key, value } = await kv.get(['lock:', 'nightly']);
  const later = describeKey(key, value, Date.parse(value.expiresAt) + 1);
  assert.deepEqual([later.held, later.stale], [false, true]);
  // Versori string keys and junk.
  assert.deepEqual(describeKey('inv/processed-files/a=20b.csv'), { kind: 'tracked-file', prefix: 'inv', fileName: 'a b.csv' });
  assert.deepEqual(describeKey('cs=/lock=3A/night=20run'), { kind: 'lock', name: 'night run' });
  assert.deepEqual(describeKey('job_j-1_status'), { kind: 'job-status-mirror', jobId: 'j-1' });
  for (const junk of [undefined, null, 42, {}, [1, 2], ['lock:', 7], 'plain']) assert.equal(describeKey(junk), null, String(junk));
});

// ---- The gate ----

function files(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'tmp' || name === 'node_modules') continue;
    if (statSync(path).isDirectory()) files(path, out);
    else if (/\.(mjs|cjs|ts)$/.test(name)) out.push(path);
  }
  return out;
}

test('every exported function, class member and option of index.d.ts and every README error code is used by a test', () => {
  const dts = readFileSync(join(root, 'js', 'index.d.ts'), 'utf8') + readFileSync(join(root, 'js', 'testing.d.ts'), 'utf8');
  const tests = files(join(root, 'tests')).map((f) => readFileSync(f, 'utf8')).join('\n');
  const missing = [];
  // Members of exported classes (methods and getters), and of the testing harness's objects.
  for (const [, cls, body] of dts.matchAll(/export (?:declare )?(?:class|interface(?= Test)) (\w+)[^{]*\{([\s\S]*?)\n\}/g)) {
    for (const [, name] of body.matchAll(/^ {2}(?:readonly |static )?(\w+)\??(?:<[^>]*>)?[(:]/gm)) {
      if (['constructor', 'free', 'private'].includes(name)) continue;
      if (!new RegExp(`\\.${name}\\b`).test(tests)) missing.push(`${cls}.${name}`);
    }
  }
  // Exported functions.
  for (const [, name] of dts.matchAll(/^export (?:declare )?function (\w+)/gm)) {
    if (!new RegExp(`\\b${name}\\(`).test(tests)) missing.push(`function ${name}`);
  }
  // Options: fields of *Options interfaces and RetryPolicy, and of inline `options?: { … }` objects.
  const optionNames = new Set();
  for (const [, body] of dts.matchAll(/interface (?:\w*Options|RetryPolicy) \{([\s\S]*?)\n\}/g)) {
    for (const [, name] of body.matchAll(/^\s+(\w+)\?:/gm)) optionNames.add(name);
  }
  for (const [, body] of dts.matchAll(/options\??: (?:string \| )?\{([^}]*)\}/g)) {
    for (const [, name] of body.matchAll(/(\w+)\?:/g)) optionNames.add(name);
  }
  for (const name of optionNames) if (!new RegExp(`\\b${name}\\s*:`).test(tests)) missing.push(`option ${name}`);
  // Error codes in the README's table.
  const readme = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
  const codes = [...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.ok(codes.length >= 11, `${codes.length} codes in the docs/api.md table`);
  for (const code of codes) if (!new RegExp(`code(?: ===|:) '${code}'|'${code}'\\)`).test(tests)) missing.push(`error code ${code}`);
  assert.deepEqual(missing, []);
});
