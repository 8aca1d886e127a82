// Profiling aid (issue 29): listProcessedFiles of 1,000 files on the
// embedded store, µs per listing (run under node --cpu-prof).
import { VersoriIndexedFileTracker, openKv } from '../../js/node.mjs';

const kv = await openKv();
const tracker = new VersoriIndexedFileTracker(kv, 'prof');
for (let i = 0; i < 1000; i++) await tracker.markFileProcessed(`f-${i}.csv`, { i });
for (let round = 0; round < 6; round++) {
  const t = performance.now();
  for (let i = 0; i < 100; i++) {
    if ((await tracker.listProcessedFiles()).length !== 1000) throw new Error('not all files listed');
  }
  if (round > 0) console.log(`list of 1,000: ${(((performance.now() - t) * 1000) / 100).toFixed(0)} µs`);
}
