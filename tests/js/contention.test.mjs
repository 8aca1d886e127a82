// Many writers on one record take turns: after two lost races a writer
// pauses a random, growing while. Without that, 100 concurrent increments
// on @deno/kv lost 12 to CONFLICT (and 300 lost 222).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKv as openDenoKv } from '@deno/kv';
import { RetryTracker, StateService } from 'connector-state';

test('100 concurrent increments of one daily job all count, none gives up', async () => {
  const kv = await openDenoKv(':memory:');
  await new StateService(null).setDailyJob(kv, 'wf', 'job-1');
  const results = await Promise.allSettled(Array.from({ length: 100 }, () => new StateService(null).incrementDailyJobBatchCount(kv, 'wf')));
  assert.deepEqual(results.filter((r) => r.status === 'rejected').map((r) => r.reason.code), []);
  assert.equal((await new StateService(null).getDailyJob(kv, 'wf')).batchCount, 100);
  kv.close();
});

test('100 concurrent failures of one item are all counted', async () => {
  const kv = await openDenoKv(':memory:');
  const retries = new RetryTracker(kv, { namespace: 'n', policy: { maxAttempts: 1000 } });
  const results = await Promise.allSettled(Array.from({ length: 100 }, () => retries.recordFailure('item', 'boom')));
  assert.equal(results.filter((r) => r.status === 'rejected').length, 0);
  assert.equal((await retries.get('item')).attempts, 100);
  kv.close();
});
