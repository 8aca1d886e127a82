// Type-checked by `tsc --noEmit` in npm test: a typed workflow using every
// export, so the .d.ts stays precise and usable.
import { openKv as openDenoKv } from '@deno/kv';
import {
  StateService, FileTracker, VersoriFileTracker, VersoriKVAdapter, StateError, openKv, describeStore,
  CheckpointStore, PeriodicSaver, RetryTracker, JobTracker, type RetryCheck, type JobStatus, encodeState, decodeState, IndexedFileTracker, VersoriIndexedFileTracker,
  type FilePage, type FileStats, type RemovedFiles,
  type CheckpointLoadResult, type CheckpointSaveResult, type ResumeResult, type JsonValue,
  type SyncState, type DailyJob, type LockInfo, type ClaimResult, type StoreCapabilities, type StateErrorCode,
} from 'connector-state';

interface Checkpoint { currentBatch: number; lastProcessedId: string }

export async function workflow(log: { info(m: string, c?: unknown): void; warn(m: string, c?: unknown): void }): Promise<number> {
  const kv = await openKv();
  const denoKv = await openDenoKv(':memory:');
  const caps: StoreCapabilities = describeStore(denoKv);
  const guarantee: 'exact' | 'timed' | 'best-effort' = caps.guarantee;

  const state = new StateService(log);
  const acquired: boolean = await state.acquireLock('sync', kv, 15);
  const info: LockInfo | null = await state.getLockInfo('sync', kv);
  const token: number | undefined = state.getLockToken('sync');
  const sync: SyncState = await state.getSyncState(denoKv, 'wf');
  await state.updateSyncState(kv, [{ fileName: 'a.csv', lastModified: new Date().toISOString(), recordCount: 3 }], 'wf');
  const job: DailyJob | null = await state.getDailyJob(kv, 'wf');
  const count: number = await state.incrementDailyJobBatchCount(kv, 'wf');
  const total: number = (await state.getMetrics(kv, 'wf')).totalFiles;
  const doubled: number = await state.withLock('other', kv, async (lock) => lock.fencingToken * 2, { timeoutMinutes: 1 });

  const files = new FileTracker(kv, { prefix: 'inventory' });
  const claim: ClaimResult = await files.claim('b.csv', { ttlMs: 60_000 });
  if (claim.claimed) {
    const id: string = claim.claimId;
    await files.complete('b.csv', { recordCount: 10, source: 's3://bucket/b.csv', tags: ['x'], extra: undefined });
    void id;
  }
  const legacy = new VersoriFileTracker(kv, 'inventory');
  const done: boolean = await legacy.wasFileProcessed('b.csv');

  const adapter = new VersoriKVAdapter(kv);
  const stored = await adapter.get<Checkpoint>(['checkpoint:wf']);
  const batch: number = stored?.value.currentBatch ?? 0;

  try {
    await state.isFileProcessed(kv, '');
  } catch (e) {
    if (e instanceof StateError) {
      const code: StateErrorCode = e.code;
      log.warn(e.message, { code });
    }
  }
  denoKv.close();
  void [acquired, info, token, sync, job, count, total, doubled, done, guarantee];
  return batch;
}

// @ts-expect-error a lock name must be a string
void new StateService().acquireLock(42, {} as never);

// Checkpoints, typed by an interface (no index signature needed).
interface BatchState { lastId: string; seen: Set<string>; byStore: Map<string, number>; since: Date }

export async function checkpoints(kv: KvHandleForExample): Promise<number | string> {
  const cp = new CheckpointStore(kv, { namespace: 'import', log: console }).open<BatchState>('orders', { version: 2, maxAgeMs: 86_400_000 });
  const result: CheckpointLoadResult<BatchState> = await cp.load();
  if (result.found) {
    const seen: Set<string> = result.data.seen;
    const seq: number = result.sequence;
    void seen; void seq;
  } else if (result.reason === 'corrupt') {
    const key: string[] = result.key;
    void key;
  }
  const saved: CheckpointSaveResult = await cp.save({ lastId: 'x', seen: new Set(), byStore: new Map(), since: new Date() }, { position: 3, processed: 30 });
  void saved;
  // @ts-expect-error data must match the checkpoint's type
  await cp.save({ lastId: 1 });
  const saver: PeriodicSaver<BatchState> = cp.periodic({ everyItems: 10, everyMs: 30_000 });
  await saver.step(() => ({ lastId: 'y', seen: new Set(), byStore: new Map(), since: new Date() }), { position: 4 });
  const encoded: JsonValue = encodeState(new Map([[1, 2n]]));
  const back = decodeState<Map<number, bigint>>(encoded);
  void back;
  const resumed: ResumeResult<BatchState> = await cp.resume();
  return resumed.position;
}
type KvHandleForExample = Awaited<ReturnType<typeof openKv>>;

export async function listing(kv: KvHandleForExample): Promise<string[]> {
  const files = new IndexedFileTracker(kv, { prefix: 'inventory' });
  await files.mark('a.csv', { recordCount: 3 });
  const page: FilePage = await files.list({ limit: 50, since: new Date(0), namePrefix: 'a' });
  const next: FilePage | null = page.cursor ? await files.list({ cursor: page.cursor }) : null;
  const stats: FileStats = await files.stats();
  const removed: RemovedFiles = await files.cleanup({ olderThanDays: 30, batchSize: 200 });
  // @ts-expect-error give olderThanDays or before, not both
  await files.cleanup({ olderThanDays: 30, before: new Date() });
  const legacy = new VersoriIndexedFileTracker(kv, 'inventory');
  const all = await legacy.listProcessedFiles();
  const oldest: string | undefined = (await legacy.getStats()).oldestFile;
  void next; void stats; void removed; void oldest;
  return all.map((f) => f.key);
}

export async function retriesAndJobs(kv: KvHandleForExample): Promise<string> {
  const retries = new RetryTracker(kv, { namespace: 'sftp', policy: { maxAttempts: 3, jitter: 'full' }, now: () => Date.now() });
  const check: RetryCheck = await retries.check('a.csv');
  if (check.action === 'wait') console.log(check.retryAt);
  await retries.recordFailure('a.csv', new Error('x'));
  // @ts-expect-error jitter is one of four names
  new RetryTracker(kv, { policy: { jitter: 'some' } });
  const jobs = new JobTracker(kv, console);
  const job: JobStatus = await jobs.createJob('job-1', { triggeredBy: 'schedule' });
  const { job: daily, created } = await jobs.getOrCreateDailyJob('wf', async () => ({ id: 'fluent-1' }), { windowHours: 24 });
  const count: number = await jobs.incrementDailyJobBatchCount('wf');
  void created; void count;
  return job.status + daily.jobId;
}
