// Pattern 5, retry state: a failing item waits out a growing delay, then is
// dead-lettered after maxAttempts, and an operator can requeue it.
import { RetryTracker, openKv } from 'connector-state';

const kv = await openKv();
let now = Date.parse('2026-11-28T09:00:00Z');
const retries = new RetryTracker(kv, {
  namespace: 'sftp-upload',
  policy: { baseDelayMs: 60_000, factor: 2, maxAttempts: 3, jitter: 'none' },
  now: () => now, // a test clock; leave it out in production
});

for (let attempt = 1; attempt <= 3; attempt++) {
  const failure = await retries.recordFailure('prices.csv', new Error('connection reset'));
  console.log(`attempt ${attempt} failed: ${failure.status}${failure.nextRetryAt ? `, next at ${failure.nextRetryAt}` : ''}`);
  const check = await retries.check('prices.csv');
  if (check.action === 'wait') {
    now = Date.parse(check.retryAt!);
    console.log(`  due again: ${(await retries.check('prices.csv')).action}`);
  }
}
const dead = await retries.listDeadLetters();
console.log(`dead letters: ${dead.items.map((i) => i.item).join(', ')}`);
await retries.requeue('prices.csv');
console.log(`after requeue: ${(await retries.check('prices.csv')).action}`);
await retries.recordSuccess('prices.csv');
if ((await retries.get('prices.csv')) !== null) throw new Error('success should clear the retry state');

// Prints (tests/js/examples.test.mjs checks it, in Node and in Deno; … is any text):
// → attempt 1 failed: waiting, next at 2026-11-28T09:01:00.000Z
// → due again: retry
// → attempt 2 failed: waiting, next at 2026-11-28T09:03:00.000Z
// → due again: retry
// → attempt 3 failed: exhausted
// → dead letters: prices.csv
// → after requeue: retry
