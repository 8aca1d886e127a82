// Pattern 4, the daily job: many runs a day share one job; only one of them
// creates it, even when they start together.
import { JobTracker, StateService, openKv } from 'connector-state';

const kv = await openKv();
const jobs = new JobTracker(kv, null);
let created = 0;
const createJob = async () => {
  created += 1;
  return { id: `job-${Date.now()}` }; // in production: create the job in the target system
};

const results = await Promise.all(
  Array.from({ length: 5 }, () => jobs.getOrCreateDailyJob('inventory-sync', createJob, { windowHours: 24 })),
);
const ids = new Set(results.map((r) => r.job.jobId));
console.log(`5 concurrent runs: ${created} job created, ${ids.size} job id shared`);
if (created !== 1 || ids.size !== 1) throw new Error('more than one daily job');

// Each batch sent under the job is counted atomically.
await Promise.all([1, 2, 3].map(() => jobs.incrementDailyJobBatchCount('inventory-sync')));
const daily = await new StateService(null).getDailyJob(kv, 'inventory-sync');
console.log(`batches sent under ${daily?.jobId}: ${daily?.batchCount}`);
if (daily?.batchCount !== 3) throw new Error('a batch count was lost');

// Prints (tests/js/examples.test.mjs checks it, in Node and in Deno; … is any text):
// → 5 concurrent runs: 1 job created, 1 job id shared
// → batches sent under job-…: 3
