// Pattern 3, checkpoint and resume: a run that dies resumes where its last
// checkpoint left it, not from the start.
import { CheckpointStore, openKv } from 'connector-state';

interface Progress { processedRecords: number; lastId: string | null }

const kv = await openKv();
const batches = Array.from({ length: 30 }, (_, i) => ({ id: `batch-${i + 1}`, records: 100 }));

async function run(crashAt?: number): Promise<number> {
  const checkpoint = new CheckpointStore(kv, 'batch-import').open<Progress>('orders', { version: 1 });
  const { position, data } = await checkpoint.resume();
  const start = typeof position === 'number' ? position : 0;
  const progress: Progress = data ?? { processedRecords: 0, lastId: null };
  const saver = checkpoint.periodic({ everyItems: 10 });
  for (let i = start; i < batches.length; i++) {
    if (i === crashAt) throw new Error(`crashed at batch ${i + 1}`);
    progress.processedRecords += batches[i].records;
    progress.lastId = batches[i].id;
    await saver.step(progress, { position: i + 1 });
  }
  await saver.flush(progress, { position: batches.length });
  console.log(`finished: started at batch ${start + 1}, ${progress.processedRecords} records in all`);
  return start;
}

try {
  await run(17);
} catch (error) {
  console.log(`first run: ${(error as Error).message}`);
}
const resumedAt = await run();
if (resumedAt !== 10) throw new Error(`expected to resume at batch 11, resumed at ${resumedAt + 1}`);

// Prints (tests/js/examples.test.mjs checks it, in Node and in Deno; … is any text):
// → first run: crashed at batch 18
// → finished: started at batch 11, 3000 records in all
