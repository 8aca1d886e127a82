// RetryTracker and JobTracker through the built package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryTracker, JobTracker, StateService, VersoriKVAdapter, StateError, describeKey } from 'connector-state';
import { storeKinds, exactKinds, withStore, withMovedTime, versoriKv, fakeVersoriContext } from './helpers.mjs';

const MIN = 60_000;

/** A clock the test moves, and a seeded random source. */
function fakeTime(start = Date.parse('2026-03-01T08:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms) => { now += ms; } };
}
function seeded(seed) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

for (const [kind, open] of Object.entries(storeKinds)) {
  test(`${kind}: failures back off, exhaust into dead letters, requeue, clear on success`, async () => {
    await withStore(open, async (kv) => {
      const time = fakeTime();
      const retries = new RetryTracker(kv, { namespace: 'sftp', policy: { baseDelayMs: MIN, factor: 3, maxDelayMs: 30 * MIN, maxAttempts: 4, jitter: 'none' }, now: time.now });
      assert.deepEqual(await retries.check('a.csv'), { action: 'retry', retryAt: new Date(time.now()).toISOString(), attempts: 0, state: null });
      const first = await retries.recordFailure('a.csv', new Error('connection reset'));
      assert.equal(first.attempts, 1);
      assert.equal(first.lastError, 'connection reset');
      assert.equal(first.nextRetryAt, new Date(time.now() + MIN).toISOString());
      assert.equal((await retries.check('a.csv')).action, 'wait');
      const waits = [];
      for (let i = 2; i <= 4; i++) {
        const { retryAt } = await retries.check('a.csv');
        time.advance(Date.parse(retryAt) - time.now());
        assert.equal((await retries.check('a.csv')).action, 'retry');
        const s = await retries.recordFailure('a.csv', `failure ${i}`);
        if (s.nextRetryAt) waits.push(Date.parse(s.nextRetryAt) - time.now());
      }
      assert.deepEqual(waits, [3 * MIN, 9 * MIN]);
      assert.equal((await retries.check('a.csv')).action, 'exhausted');
      await retries.recordFailure('b.csv', 'once');
      const dead = await retries.listDeadLetters();
      assert.deepEqual(dead.items.map((s) => [s.item, s.attempts, s.status]), [['a.csv', 4, 'exhausted']]);
      assert.equal((await retries.list({ status: 'waiting' })).items.length, 1);
      assert.equal(await retries.requeue('a.csv'), true);
      assert.equal((await retries.check('a.csv')).action, 'retry');
      assert.equal(await retries.recordSuccess('a.csv'), true);
      assert.equal(await retries.get('a.csv'), null);
      time.advance(8 * 24 * 60 * MIN);
      assert.deepEqual(await retries.cleanup({ olderThanDays: 7 }), { scanned: 1, deleted: 1, failed: 0 });
    });
  });
}

test('jitter is deterministic with an injected random source and stays in range', async () => {
  for (const jitter of ['full', 'equal', 'decorrelated']) {
    const run = async () => {
      const time = fakeTime();
      const retries = new RetryTracker(versoriKv(), { policy: { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 20, jitter }, now: time.now, random: seeded(7) });
      const waits = [];
      for (let i = 0; i < 10; i++) {
        const s = await retries.recordFailure('x', 'e');
        waits.push(s.delayMs);
      }
      return waits;
    };
    const a = await run();
    assert.deepEqual(a, await run(), jitter);
    assert.ok(a.every((w) => w >= 0 && w <= 60_000), `${jitter}: ${a}`);
    assert.ok(new Set(a).size > 3, `${jitter} varies: ${a}`);
  }
});

for (const kind of exactKinds) {
  test(`${kind}: concurrent failures of one item all count`, async () => {
    await withStore(storeKinds[kind], async (kv) => {
      const runs = Array.from({ length: 8 }, () => new RetryTracker(kv, { policy: { maxAttempts: 1000 } }));
      await Promise.all(runs.map(async (r, i) => {
        for (let j = 0; j < 5; j++) await r.recordFailure('shared.xml', `run ${i}`);
      }));
      assert.equal((await runs[0].get('shared.xml')).attempts, 40);
    });
  });

  test(`${kind}: of 20 concurrent runs, one creates the daily job and all get its id`, async () => {
    await withStore(storeKinds[kind], async (kv) => {
      let creates = 0;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => new JobTracker(kv, null).getOrCreateDailyJob('daily-inventory', async () => {
        creates++;
        await new Promise((resolve) => setTimeout(resolve, 30)); // the Fluent API call
        return { id: `job-${i}` };
      }, { pollMs: 10 })));
      assert.equal(creates, 1);
      assert.equal(new Set(results.map((r) => r.job.jobId)).size, 1);
      // More rounds, with creates of different lengths, to shake out interleavings.
      for (let round = 0; round < 5; round++) {
        let creates = 0;
        const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => new JobTracker(kv, null).getOrCreateDailyJob(`wf-${round}`, async () => {
          creates++;
          await new Promise((resolve) => setTimeout(resolve, 5 * round));
          return `job-${round}-${i}`;
        }, { pollMs: 5 })));
        assert.equal(creates, 1, `round ${round}`);
        assert.equal(new Set(ids.map((r) => r.job.jobId)).size, 1, `round ${round}`);
      }
      // Through one tracker, with a create that resolves at once.
      const one = new JobTracker(kv, null);
      let quick = 0;
      const same = await Promise.all([1, 2, 3, 4].map(() => one.getOrCreateDailyJob('quick', () => `q-${++quick}`, { pollMs: 5 })));
      assert.equal(quick, 1);
      assert.deepEqual(same.map((r) => r.job.jobId), ['q-1', 'q-1', 'q-1', 'q-1']);
      assert.equal(results.filter((r) => r.created).length, 1);
      // StateService (0.1.56's API) sees the same job; batch counts are atomic.
      const state = new StateService();
      assert.equal((await state.getDailyJob(kv, 'daily-inventory')).jobId, results[0].job.jobId);
      const tracker = new JobTracker(kv, null);
      await Promise.all(Array.from({ length: 20 }, () => tracker.incrementDailyJobBatchCount('daily-inventory')));
      assert.equal((await state.getDailyJob(kv, 'daily-inventory')).batchCount, 20);
    });
  });
}

test('getOrCreateDailyJob: a failing create rejects with its own error and frees the window', async () => {
  const kv = versoriKv();
  const tracker = new JobTracker(kv, null);
  const boom = new Error('Fluent API down');
  await assert.rejects(tracker.getOrCreateDailyJob('wf', async () => { throw boom; }), (e) => e === boom);
  const { job, created } = await tracker.getOrCreateDailyJob('wf', () => 'job-2');
  assert.deepEqual([job.jobId, created], ['job-2', true]);
  assert.equal((await tracker.getOrCreateDailyJob('wf', () => 'job-3')).job.jobId, 'job-2');
  await assert.rejects(tracker.getOrCreateDailyJob('wf2', () => 42), (e) => e.code === 'INVALID_ARGUMENT' && /job's id/.test(e.message));
  await assert.rejects(tracker.getOrCreateDailyJob('wf2', 'not a function'), (e) => e.code === 'INVALID_ARGUMENT');
});

test("JobTracker keeps 0.1.56's keys, shapes and stamps, and refuses nonsense transitions", async () => {
  const ctx = fakeVersoriContext();
  const kv = ctx.openKv(':project:');
  const tracker = new JobTracker(kv, ctx.log);
  await tracker.createJob('job-1', { triggeredBy: 'schedule', stage: 'initialization', startTime: 1 });
  const raw = await kv.get('job_job-1_status');
  assert.equal(raw.status, 'queued');
  assert.equal(raw.triggeredBy, 'schedule');
  await tracker.updateJob('job-1', { status: 'processing', stage: 'extract' });
  const started = (await tracker.getJob('job-1')).startedAt;
  assert.ok(started);
  await tracker.markCompleted('job-1', { filesProcessed: 10 });
  const done = await tracker.getJob('job-1');
  assert.deepEqual([done.status, done.stage, done.message, done.details, done.startedAt], ['completed', 'finished', 'Job completed successfully', { filesProcessed: 10 }, started]);
  await assert.rejects(tracker.updateJob('job-1', { status: 'queued' }), (e) => e instanceof StateError && e.code === 'INVALID_TRANSITION');
  await assert.rejects(tracker.createJob('job-1', {}), (e) => e.code === 'CONFLICT');
  await assert.rejects(tracker.createJob('bad id!', {}), (e) => e.code === 'INVALID_ARGUMENT' && /jobId/.test(e.message));
  await tracker.createJob('job-2', {});
  await tracker.markFailed('job-2', new Error('SFTP refused'));
  const failed = await tracker.getJob('job-2');
  assert.deepEqual([failed.status, failed.error, failed.message], ['failed', 'SFTP refused', 'Job failed: SFTP refused']);
  assert.ok(failed.errorStack.includes('SFTP refused'));
  assert.equal(await tracker.getJob('nope'), undefined);
  // A job 0.1.56 wrote is read and updated in place.
  await kv.set('job_legacy_status', { status: 'processing', createdAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:01.000Z', triggeredBy: 'webhook' });
  await tracker.markCompleted('legacy');
  assert.equal((await kv.get('job_legacy_status')).status, 'completed');
  assert.equal((await tracker.getJob('legacy')).triggeredBy, 'webhook');
  const { jobs } = await tracker.listJobs({ status: 'completed' });
  assert.deepEqual(jobs.map((j) => j.jobId).sort(), ['job-1', 'legacy']);
  assert.ok(ctx.log.entries.some((e) => e.message.startsWith('Job job-1 created')));
});

test('stuck jobs: processing for longer than a limit', async () => {
  await withStore(storeKinds['deno-kv memory'], async (kv) => {
    const tracker = new JobTracker(kv, undefined);
    await tracker.createJob('slow', {});
    await tracker.updateJob('slow', { status: 'processing' });
    await tracker.createJob('queued-only', {});
    await withMovedTime(async (clock) => {
      clock.advance(10 * 60_000);
      await tracker.createJob('fresh', {});
      await tracker.updateJob('fresh', { status: 'processing' });
      clock.advance(60_000);
      // slow: processing for 11 minutes; fresh: for 1 minute.
      assert.deepEqual((await tracker.findStuckJobs({ olderThanMs: 5 * 60_000 })).map((j) => j.jobId), ['slow']);
      assert.deepEqual((await tracker.findStuckJobs({ olderThanMs: 30_000 })).map((j) => j.jobId).sort(), ['fresh', 'slow']);
      assert.deepEqual(await tracker.findStuckJobs({ olderThanMs: 60 * 60_000 }), []);
      // A long job that reports progress is not stuck: idle is since its last update.
      await tracker.updateJob('slow', { stage: 'page 40 of 90' });
      assert.deepEqual((await tracker.findStuckJobs({ olderThanMs: 5 * 60_000 })).map((j) => j.jobId), []);
      clock.advance(6 * 60_000);
      assert.deepEqual((await tracker.findStuckJobs({ olderThanMs: 5 * 60_000 })).map((j) => j.jobId).sort(), ['fresh', 'slow']);
      // describeKey, which the CLI's inspect reads, measures the same idle time.
      for await (const { key, value } of kv.list({ prefix: [] })) {
        const d = describeKey(key, value, Date.now());
        if (d?.kind !== 'job') continue;
        const stuck = d.status === 'processing' && d.idleMs > 5 * 60_000;
        assert.equal(stuck, ['fresh', 'slow'].includes(d.jobId), d.jobId);
      }
    });
  });
});

test('bad policies and a failing store are coded errors', async () => {
  const kv = versoriKv();
  assert.throws(() => new RetryTracker(kv, { policy: { jitter: 'sometimes' } }), (e) => e.code === 'INVALID_ARGUMENT' && /jitter/.test(e.message));
  assert.throws(() => new RetryTracker(kv, { policy: { factor: 0.5 } }), (e) => e.code === 'INVALID_ARGUMENT' && /factor/.test(e.message));
  assert.throws(() => new RetryTracker(kv, { policy: { maxAttempts: 0 } }), (e) => e.code === 'INVALID_ARGUMENT');
  assert.throws(() => new RetryTracker(kv, { now: 5 }), (e) => e.code === 'INVALID_ARGUMENT' && /now/.test(e.message));
  await assert.rejects(new RetryTracker(kv).list({ status: 'lost' }), (e) => e.code === 'INVALID_ARGUMENT');
  assert.equal(new RetryTracker(kv, 'sftp').policy.maxAttempts, 5, 'a string is the namespace');
  const down = { get: async () => { throw new Error('KV timeout'); }, set: async () => {}, delete: async () => {} };
  await assert.rejects(new RetryTracker(down).check('a'), (e) => e.code === 'STORE_UNAVAILABLE');
  await assert.rejects(new JobTracker(down, console).getJob('a'), (e) => e.code === 'STORE_UNAVAILABLE');
  await assert.rejects(new JobTracker(new VersoriKVAdapter(down), console).getOrCreateDailyJob('wf', () => 'x'), (e) => e.code === 'STORE_UNAVAILABLE');
});
