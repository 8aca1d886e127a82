// npm run demo: a small ingestion workflow, run twice against an embedded
// SQLite store file. The first run processes every file; the second finds
// them all recorded and skips them.
import { rmSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StateService, FileTracker, openKv } from 'connector-state';

const storePath = fileURLToPath(new URL('../.demo/state.sqlite', import.meta.url));
const workflowId = 'inventory-ingestion';
const incoming = [
  { name: 'inventory-2026-11-01.csv', records: 1200 },
  { name: 'inventory-2026-11-02.csv', records: 950 },
  { name: 'inventory 2026-11-03.csv', records: 1310 },
  { name: 'inventory_2026-11-03.csv', records: 40 }, // 0.1.56 would have merged this with the one above
  { name: 'returns-2026-11-03.csv', records: 75 },
];

const quietLog = { info() {}, debug() {}, warn: (m) => console.log(`   ! ${m}`), error: (m) => console.log(`   ✗ ${m}`) };

async function ingest(runNumber) {
  console.log(`\nRun ${runNumber}`);
  const kv = await openKv(storePath);
  const state = new StateService(quietLog);
  const files = new FileTracker(kv, { prefix: workflowId });
  try {
    return await state.withLock(`${workflowId}-lock`, kv, async (lock) => {
      console.log(`   lock taken (fencing token ${lock.fencingToken})`);
      const done = [];
      let skipped = 0;
      for (const file of incoming) {
        const claim = await files.claim(file.name, { ttlMs: 5 * 60_000 });
        if (!claim.claimed) {
          console.log(`   skip     ${file.name.padEnd(28)} (${claim.status})`);
          skipped++;
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, 30)); // the real work would happen here
        await files.complete(file.name, { recordCount: file.records });
        done.push({ fileName: file.name, lastModified: new Date().toISOString(), recordCount: file.records });
        console.log(`   ingest   ${file.name.padEnd(28)} ${String(file.records).padStart(5)} records`);
      }
      await state.updateSyncState(kv, done, workflowId);
      return { processed: done.length, skipped };
    });
  } finally {
    kv.close();
  }
}

rmSync(new URL('../.demo', import.meta.url), { recursive: true, force: true });
mkdirSync(new URL('../.demo', import.meta.url), { recursive: true });
console.log(`connector-state demo: store ${storePath}`);

const first = await ingest(1);
const second = await ingest(2);

const kv = await openKv(storePath);
const metrics = await new StateService().getMetrics(kv, workflowId);
const sync = await new StateService().getSyncState(kv, workflowId);
kv.close();
console.log('\nSummary');
console.log(`   run 1: ${first.processed} processed, ${first.skipped} skipped`);
console.log(`   run 2: ${second.processed} processed, ${second.skipped} skipped`);
console.log(`   store: ${metrics.totalFiles} files, ${metrics.totalRecords} records, last file ${sync.lastProcessedFile}`);
if (first.processed !== incoming.length || second.processed !== 0) {
  console.error('unexpected result: the second run should skip every file');
  process.exit(1);
}
