// The five programs a TypeScript team wrote from the README alone (issue 28):
// a lease with `await using`, claims, a checkpoint, retries and the daily
// job. They compile under --strict with no cast and no type argument beyond
// the user's own annotation of their data.
import { CheckpointStore, FileTracker, JobTracker, MemoryKv, RetryTracker, StateError, StateService, VersoriKVAdapter, openKv } from 'connector-state';

interface Progress { done: Set<string>; lastOrder: string | null }
interface FileMeta { recordCount: number; source: string }

export async function leaseProgram(): Promise<void> {
  await using kv = await openKv('state.sqlite');
  const state = new StateService();
  await using lease = await state.lock('nightly', kv, { ttlMs: 60_000 });
  if (!lease) return;
  const token: number = lease.fencingToken;
  const signal: AbortSignal = lease.signal;
  console.log(token, signal.aborted, lease.expiresAt.toUpperCase());
}

export async function claimProgram(): Promise<void> {
  const kv = await openKv(process.env.DATABASE_URL!, { namespace: 'orders' });
  try {
    const files = new FileTracker<FileMeta>(kv, { prefix: 'inbox' });
    await using claim = await files.claim('a.csv', { ttlMs: 60_000 });
    if (claim.claimed) await claim.complete({ recordCount: 3, source: 'sftp' });
    const record = await files.getRecord('a.csv');
    const total: number = (record?.metadata.recordCount ?? 0) + 1;
    const source: string | undefined = record?.metadata.source;
    console.log(total, source);
  } finally {
    await kv.close();
  }
}

export async function checkpointProgram(): Promise<void> {
  const kv = await openKv();
  const checkpoint = new CheckpointStore(kv, { namespace: 'import' }).open<Progress>('nightly');
  const { position, data } = await checkpoint.resume();
  const done = data?.done ?? new Set<string>();
  const batches = ['a', 'b', 'c'];
  for (let i = position; i < batches.length; i++) {
    done.add(batches[i]);
    await checkpoint.save({ done, lastOrder: batches[i] }, { position: i + 1, processed: done.size });
  }
  kv.close();
}

export async function retryProgram(): Promise<void> {
  await using kv = await openKv(':memory:');
  const retries = new RetryTracker(kv, { namespace: 'exports' });
  try {
    throw new Error('SFTP refused');
  } catch (e) {
    await retries.recordFailure('orders-1.csv', e instanceof Error ? e : String(e));
  } 
  const due = await retries.check('orders-1.csv');
  console.log(due.action === 'wait', due.retryAt);
}

export async function dailyJobProgram(): Promise<void> {
  const kv = await openKv();
  const state = new StateService(console);
  const jobs = new JobTracker<{ orders: number }>(kv, console);
  try {
    const { job } = await jobs.getOrCreateDailyJob('wf', async () => 'job-1');
    await state.incrementDailyJobBatchCount(kv, 'wf');
    const done = await jobs.markCompleted(job.jobId, { orders: 3 });
    const orders: number = done.details?.orders ?? 0;
    console.log(orders);
  } catch (e) {
    if (e instanceof StateError && e.retryable) console.log(e.code, e.cause);
    console.log(JSON.stringify(e));
  }
  await kv[Symbol.asyncDispose]();
}

// What the types refuse, and what they no longer need.
export async function fits(): Promise<void> {
  const kv = await openKv();
  const files = new FileTracker<FileMeta>(kv);
  // @ts-expect-error metadata of another shape than the tracker's
  await files.markProcessed('a.csv', { recordCount: 'many' });
  const adapter = new VersoriKVAdapter(kv);
  const stored = await adapter.get('checkpoint');
  // @ts-expect-error a stored value is unknown until the caller says what it holds
  stored?.value.position;
  const typed = await adapter.get<{ position: number }>('checkpoint');
  const at: number | undefined = typed?.value.position;
  const named = new CheckpointStore(kv).open<Progress, string>('by-name');
  const { position } = await named.resume();
  const where: string | 0 = position;
  // @ts-expect-error a string checkpoint's positions are strings
  await named.save({ done: new Set(), lastOrder: null }, { position: 3 });
  using scoped = new MemoryKv();
  const err = new StateError('STORE_UNAVAILABLE', 'down', { cause: new Error('ECONNRESET') });
  const json: { code: string; message: string; retryable: boolean } = err.toJSON();
  console.log(at, where, scoped.size, json, err.cause);
  await kv[Symbol.asyncDispose]();
}
