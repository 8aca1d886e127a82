// The guide's checkpoint code (pattern 3 and "Issue 4: Checkpoint
// Corruption"), as published, on this package and a Versori-style host.
import { assert, assertEquals } from './assert.ts';
import { StateService, VersoriKVAdapter } from 'connector-state';
import { fakeVersoriContext } from '../js/versori-fake.mjs';
import { batchProcessingWithCheckpoints } from './guide/pattern-3.ts';
import { loadCheckpoint, saveCheckpoint } from './guide/issue-4-checkpoint.ts';

const batches = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `batch-${i + 1}`, data: [] }));

Deno.test('guide pattern 3 runs unchanged: saves every 10 batches, clears at the end', async () => {
  const ctx = fakeVersoriContext();
  const result: any = await batchProcessingWithCheckpoints.run(ctx, { batches: batches(12) });
  assertEquals(result.success, true);
  assertEquals(result.processedRecords, 12 * 50);
  const messages = ctx.log.entries.map((e: any) => e.message);
  assert(messages.includes('💾 [Checkpoint] Checkpoint saved at batch 10'));
  assert(messages.includes('✅ [Checkpoint] All batches processed, checkpoint cleared'));
  const kv = new VersoriKVAdapter(ctx.openKv(':project:'));
  assertEquals(await kv.get(['checkpoint:batch-processing']), null);
  const state = await new StateService().getSyncState(kv, 'batch-processing');
  assertEquals(state.lastProcessedFile, 'batch-processing-complete');
});

Deno.test('guide pattern 3 runs unchanged: resumes from a saved checkpoint', async () => {
  const ctx = fakeVersoriContext();
  const kv = new VersoriKVAdapter(ctx.openKv(':project:'));
  await new StateService().updateSyncState(kv, [{ fileName: 'earlier.csv', lastModified: '2026-01-01T00:00:00.000Z' }], 'batch-processing');
  await kv.set(['checkpoint:batch-processing'], { currentBatch: 10, totalBatches: 12, processedRecords: 500, lastProcessedId: 'batch-10', startTime: '2026-01-01T00:00:00.000Z' });
  const result: any = await batchProcessingWithCheckpoints.run(ctx, { batches: batches(12) });
  assertEquals(result.processedRecords, 500 + 2 * 50);
  const messages = ctx.log.entries.map((e: any) => e.message);
  assert(messages.includes('♻️ [Checkpoint] Resuming from checkpoint'));
  assert(messages.includes('🚀 [Processing] Processing batch 11/12'));
  assert(!messages.includes('🚀 [Processing] Processing batch 10/12'));
});

Deno.test('guide "Issue 4" versioned checkpoints run unchanged', async () => {
  const ctx = fakeVersoriContext();
  const kv = new VersoriKVAdapter(ctx.openKv(':project:'));
  const key = ['checkpoint', 'orders'];
  assertEquals(await loadCheckpoint(kv, key), null);
  await saveCheckpoint(kv, key, { currentBatch: 3, lastProcessedId: 'o-3' });
  assertEquals(await loadCheckpoint(kv, key), { currentBatch: 3, lastProcessedId: 'o-3' });
  await kv.set(key, { version: 2, data: { currentBatch: 9 }, savedAt: new Date().toISOString() });
  const warn = console.warn;
  console.warn = () => {};
  try {
    assertEquals(await loadCheckpoint(kv, key), null);
  } finally {
    console.warn = warn;
  }
});

Deno.test('guide pattern 6 runs unchanged: process, list, stats, remove, cleanup', async () => {
  const { indexedFileTracking } = await import('./guide/pattern-6.ts');
  const ctx = fakeVersoriContext();
  const run = (data: Record<string, unknown>) => indexedFileTracking.run(ctx, data) as Promise<any>;
  assertEquals(await run({ operation: 'process', files: ['a.csv', 'b.csv', 'c.csv'] }), { success: true, processed: 3 });
  const listed = await run({ operation: 'list' });
  assertEquals(listed.files.map((f: any) => f.name), ['a.csv', 'b.csv', 'c.csv']);
  assert(listed.files.every((f: any) => typeof f.processedAt === 'string' && f.recordCount >= 100));
  const { stats } = await run({ operation: 'stats' });
  assertEquals(stats.totalFiles, 3);
  assertEquals(stats.oldestFile, 'a.csv');
  assertEquals(await run({ operation: 'remove', fileName: 'b.csv' }), { success: true, removed: 'b.csv' });
  assertEquals(await run({ operation: 'cleanup' }), { success: true, deleted: 2, failed: 0 });
  assertEquals((await run({ operation: 'list' })).files, []);
  assert(ctx.log.entries.some((e: any) => e.message === '🧹 [Index] Cleanup complete: 2 deleted, 0 failed'));
});

Deno.test('guide pattern 4 runs unchanged: one Fluent job per day, reused by the next run', async () => {
  const { dailyJobIngestion } = await import('./guide/pattern-4.ts');
  const { fluentCalls } = await import('./guide/fc-connect-sdk.ts');
  const ctx = { ...fakeVersoriContext(), connections: {}, activation: { getVariable: () => 'retailer-1' } };
  const first: any = await dailyJobIngestion.run(ctx);
  const second: any = await dailyJobIngestion.run(ctx);
  assertEquals(fluentCalls.jobs.length, 1);
  assertEquals(first.jobId, second.jobId);
  assertEquals([first.successCount, second.successCount], [2, 2]);
  assertEquals(fluentCalls.batches.length, 4);
  assert(ctx.log.entries.some((e: any) => e.message === `♻️ [DailyJob] Reusing daily job: ${first.jobId}`));
});

Deno.test('guide pattern 5 runs unchanged: failures back off, then recover', async () => {
  const { retryableIngestion } = await import('./guide/pattern-5.ts');
  const ctx = fakeVersoriContext();
  const random = Math.random;
  try {
    Math.random = () => 0.1; // every file fails
    const failed: any = await retryableIngestion.run(ctx, { files: ['a.csv', 'b.csv'] });
    assertEquals(failed.summary, { succeeded: 0, failed: 2, skipped: 0 });
    const kv = new VersoriKVAdapter(ctx.openKv(':project:'));
    const state: any = (await kv.get(['error-state', 'a.csv']))?.value;
    assertEquals(state.attemptCount, 1);
    const skipped: any = await retryableIngestion.run(ctx, { files: ['a.csv', 'b.csv'] });
    assertEquals(skipped.summary, { succeeded: 0, failed: 0, skipped: 2 });
    await kv.set(['error-state', 'a.csv'], { ...state, nextRetryAt: new Date(Date.now() - 1000).toISOString() });
    Math.random = () => 0.9; // now it works
    const recovered: any = await retryableIngestion.run(ctx, { files: ['a.csv', 'b.csv'] });
    assertEquals(recovered.summary, { succeeded: 1, failed: 0, skipped: 1 });
    assertEquals(await kv.get(['error-state', 'a.csv']), null);
  } finally {
    Math.random = random;
  }
});
