// Strict options: a key no option has (a typo, or an option of another
// call) is INVALID_ARGUMENT naming it, never silently ignored; and `by` of
// incrementDailyJobBatchCount is read the same way everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CheckpointStore, FileTracker, IndexedFileTracker, JobTracker, RetryTracker, StateService, openKv,
} from 'connector-state';

const rejects = (code, pattern) => (e) => e.code === 'INVALID_ARGUMENT' && pattern.test(e.message) && code === e.code;

test('constructors reject unknown option keys, with a hint', async () => {
  const kv = await openKv();
  const cases = [
    [() => new FileTracker(kv, { prefx: 'x' }), /options\.prefx is not an option here \(did you mean options\.prefix\?\)/],
    [() => new IndexedFileTracker(kv, { prefix: 'x', logger: console }), /options\.logger is not an option here \(did you mean options\.log\?\)|options\.logger.*the options here are prefix, log/],
    [() => new CheckpointStore(kv, { namspace: 'n' }), /options\.namspace .*did you mean options\.namespace/],
    [() => new RetryTracker(kv, { maxAttempts: 3 }), /options\.maxAttempts is not an option here \(maxAttempts belongs in options\.policy\)/],
    [() => new RetryTracker(kv, { policy: { maxAttempt: 3 } }), /options\.policy\.maxAttempt .*did you mean options\.policy\.maxAttempts/],
    [() => new RetryTracker(kv, { policy: { retries: 3 } }), /options\.policy\.retries is not an option here \(the options here are baseDelayMs, factor, maxDelayMs, maxAttempts, jitter\)/],
  ];
  for (const [make, pattern] of cases) assert.throws(make, rejects('INVALID_ARGUMENT', pattern), String(pattern));
  // Known keys, strings and nothing still work.
  assert.equal(new FileTracker(kv, { prefix: 'x' }).prefix, 'x');
  assert.equal(new FileTracker(kv, 'y').prefix, 'y');
  assert.equal(new RetryTracker(kv, { namespace: 'n', policy: { maxAttempts: 3 } }).policy.maxAttempts, 3);
  assert.equal(new CheckpointStore(kv).namespace, 'default');
});

test('method options reject unknown keys too', async () => {
  const kv = await openKv();
  const files = new FileTracker(kv, 'p');
  const indexed = new IndexedFileTracker(kv, 'p');
  const jobs = new JobTracker(kv, null);
  const retries = new RetryTracker(kv);
  const cp = new CheckpointStore(kv);
  const state = new StateService(null);
  await assert.rejects(files.claim('a.csv', { ttl: 1000 }), rejects('INVALID_ARGUMENT', /options\.ttl .*did you mean options\.ttlMs/));
  await assert.rejects(indexed.list({ limt: 5 }), rejects('INVALID_ARGUMENT', /options\.limt .*did you mean options\.limit/));
  await assert.rejects(indexed.cleanup({ olderThanDays: 1, dryRun: true }), rejects('INVALID_ARGUMENT', /options\.dryRun is not an option here/));
  await assert.rejects(indexed.clear({ limit: 5 }), rejects('INVALID_ARGUMENT', /options\.limit .*belongs in the options of list\(\)/));
  await assert.rejects(jobs.listJobs({ state: 'queued' }), rejects('INVALID_ARGUMENT', /options\.state .*did you mean options\.status/));
  await assert.rejects(jobs.findStuckJobs({ olderThan: 5 }), rejects('INVALID_ARGUMENT', /options\.olderThan /));
  await assert.rejects(jobs.cleanup({ before: Date.now(), batch: 5 }), rejects('INVALID_ARGUMENT', /options\.batch /));
  await assert.rejects(jobs.getOrCreateDailyJob('wf', () => 'j', { windowHour: 1 }), rejects('INVALID_ARGUMENT', /did you mean options\.windowHours/));
  await assert.rejects(retries.list({ cursr: null }), rejects('INVALID_ARGUMENT', /options\.cursr/));
  await assert.rejects(retries.listDeadLetters({ status: 'waiting' }), rejects('INVALID_ARGUMENT', /options\.status is not an option here/));
  assert.throws(() => cp.open('x', { versoin: 2 }), rejects('INVALID_ARGUMENT', /did you mean options\.version/));
  assert.throws(() => cp.open('x').periodic({ every: 10 }), rejects('INVALID_ARGUMENT', /options\.every /));
  await assert.rejects(state.withLock('l', kv, async () => 1, { timeout: 5 }), rejects('INVALID_ARGUMENT', /options\.timeout /));
  assert.equal(await state.withLock('l', kv, async () => 1, { timeoutMinutes: 5 }), 1, 'known options still work');
  assert.deepEqual((await indexed.list({ limit: 5, cursor: null })).files, []);
  assert.equal(kv.size, 1, 'nothing but the released lock was written');
});

test('incrementDailyJobBatchCount: `by` is a whole number from 1, in StateService and JobTracker alike', async () => {
  const kv = await openKv();
  const state = new StateService(null);
  const jobs = new JobTracker(kv, null);
  await state.setDailyJob(kv, 'wf', 'job-1', 24);
  for (const bad of [2.5, 0, -1, '2', NaN]) {
    await assert.rejects(state.incrementDailyJobBatchCount(kv, 'wf', bad), rejects('INVALID_ARGUMENT', /^by /), `StateService by=${bad}`);
    await assert.rejects(jobs.incrementDailyJobBatchCount('wf', bad), rejects('INVALID_ARGUMENT', /^by /), `JobTracker by=${bad}`);
  }
  assert.equal((await state.getDailyJob(kv, 'wf')).batchCount, 0, 'no bad call counted anything');
  assert.equal(await jobs.incrementDailyJobBatchCount('wf', 2), 2);
  assert.equal(await state.incrementDailyJobBatchCount(kv, 'wf'), 3);
});
