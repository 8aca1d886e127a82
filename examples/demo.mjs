// npm run demo: an ingestion workflow against an embedded SQLite store file.
//
// Run 1 takes the lock, ingests files with a checkpoint every 4 files, fails
// on one file (its retry is scheduled), and then its process dies mid-batch:
// no release, no final checkpoint. Run 2, a fresh process a few minutes
// later, waits out the dead run's lock, resumes from the checkpoint, skips
// what is already done, retries the failed file now that it is due, and
// finishes. The summary shows what the store holds.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CheckpointStore, FileTracker, IndexedFileTracker, RetryTracker, StateService, openKv,
} from 'connector-state';

const storeDir = fileURLToPath(new URL('../.demo/', import.meta.url));
const storePath = `${storeDir}state.sqlite`;
const workflow = 'inventory-ingestion';
const LOCK_MINUTES = 0.05; // 3 s, renewed as the run goes: a dead run's lock frees quickly
const files = Array.from({ length: 24 }, (_, i) => ({
  name: `inventory-2026-11-${String(i + 1).padStart(2, '0')}.csv`,
  records: 400 + ((i * 37) % 250),
}));
const FLAKY = files[6].name; // fails on its first attempt
const CRASH_AFTER = 14; // run 1 dies after this many files
const MINUTE = 60_000;

const quiet = { info() {}, debug() {}, warn() {}, error: (m) => console.log(`   ✗ ${m}`) };
const tty = process.stdout.isTTY;
const bar = (done, total) => `[${'█'.repeat(Math.round((done / total) * 24)).padEnd(24, '░')}] ${String(done).padStart(2)}/${total}`;

function progress(done, note) {
  const line = `   ${bar(done, files.length)}  ${note}`;
  if (tty) process.stdout.write(`\r${line.padEnd(78)}`);
  else console.log(line);
}
const say = (text) => console.log(`${tty ? '\n' : ''}   ${text}`);

/** One workflow run. `minutesLater` moves the retry clock, as a later run would be. */
async function run(number, { crash, minutesLater }) {
  console.log(`\nRun ${number}${minutesLater ? ` (${minutesLater} minutes later)` : ''}`);
  const now = () => Date.now() + minutesLater * MINUTE;
  const kv = await openKv(storePath);
  const state = new StateService(quiet);
  const tracker = new FileTracker(kv, { prefix: workflow });
  const listing = new IndexedFileTracker(kv, { prefix: workflow, log: quiet });
  const retries = new RetryTracker(kv, { namespace: workflow, policy: { baseDelayMs: 2 * MINUTE, jitter: 'none' }, now, log: quiet });
  const checkpoint = new CheckpointStore(kv, { namespace: workflow, log: quiet }).open('batch', { version: 1 });

  let waited = 0;
  while (!(await state.acquireLock(`${workflow}-lock`, kv, LOCK_MINUTES))) {
    const info = await state.getLockInfo(`${workflow}-lock`, kv);
    if (!waited) console.log(`   lock held by another run (expires ${info?.expiresAt}); waiting for it to expire`);
    waited += 250;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`   lock taken (fencing token ${state.getLockToken(`${workflow}-lock`)})${waited ? ` after ${(waited / 1000).toFixed(1)} s` : ''}`);

  const resumed = await checkpoint.resume();
  const start = resumed.resumed ? resumed.position : 0;
  const stats = resumed.data ?? { ingested: 0, records: 0 };
  const before = stats.ingested;
  console.log(resumed.resumed ? `   resuming from the checkpoint at file ${start} of ${files.length}` : '   no checkpoint: starting from the first file');

  // Files that failed earlier and are due again come first.
  for (const { item } of (await retries.list({ status: 'waiting' })).items) {
    const check = await retries.check(item);
    if (check.action === 'retry') {
      const file = files.find((f) => f.name === item);
      await ingest(tracker, listing, file, stats);
      await retries.recordSuccess(item);
      say(`retried  ${item}: ingested on attempt ${check.attempts + 1}`);
    } else if (check.action === 'wait') {
      say(`waiting  ${item}: retry due at ${check.retryAt}`);
    }
  }

  const saver = checkpoint.periodic({ everyItems: 4 });
  let skipped = 0;
  for (let i = start; i < files.length; i++) {
    const file = files[i];
    await state.extendLock(`${workflow}-lock`, kv, LOCK_MINUTES);
    if (crash && i === CRASH_AFTER) {
      say(`💥 the process dies while ingesting ${file.name} (no release, no checkpoint)`);
      process.exit(70);
    }
    const claim = await tracker.claim(file.name, { ttlMs: MINUTE });
    if (!claim.claimed) {
      skipped += 1;
      progress(i + 1, `skip   ${file.name} (${claim.status})`);
    } else if (file.name === FLAKY && crash) {
      await tracker.release(file.name);
      const failure = await retries.recordFailure(file.name, new Error('SFTP read timed out'));
      say(`failed   ${file.name}: retry ${failure.attempts} scheduled for ${failure.nextRetryAt}`);
    } else {
      await ingest(tracker, listing, file, stats, true);
      progress(i + 1, `ingest ${file.name}`);
    }
    await saver.step(stats, { position: i + 1 });
  }
  await saver.flush(stats, { position: files.length });
  if (tty) process.stdout.write('\n');
  await state.releaseLock(`${workflow}-lock`, kv);
  console.log(`   done: ${stats.ingested - before} files ingested and ${skipped} skipped in this run; lock released`);
  kv.close();
}

async function ingest(tracker, listing, file, stats, claimed = false) {
  if (!claimed) await tracker.claim(file.name, { ttlMs: MINUTE });
  await new Promise((r) => setTimeout(r, 25)); // the real work: parse and push the file
  await tracker.complete(file.name, { recordCount: file.records });
  await listing.mark(file.name, { recordCount: file.records });
  stats.ingested += 1;
  stats.records += file.records;
}

async function summary() {
  const kv = await openKv(storePath);
  const listing = new IndexedFileTracker(kv, { prefix: workflow, log: quiet });
  const counts = await listing.stats();
  const lock = await new StateService(quiet).getLockInfo(`${workflow}-lock`, kv);
  const saved = await new CheckpointStore(kv, { namespace: workflow, log: quiet }).open('batch', { version: 1 }).load();
  const pending = await new RetryTracker(kv, { namespace: workflow, log: quiet }).list();
  kv.close();
  console.log('\nWhat the store holds now');
  console.log(`   files:      ${counts.totalFiles} of ${files.length} ingested, ${counts.totalRecords} records (${counts.oldest?.fileName} … ${counts.newest?.fileName})`);
  console.log(`   lock:       ${lock?.held ? `held by ${lock.holder}` : 'free'}`);
  console.log(`   checkpoint: position ${saved.progress?.position} of ${files.length}, saved ${saved.savedAt}`);
  console.log(`   retries:    ${pending.items.length ? pending.items.map((r) => `${r.item} (${r.status})`).join(', ') : 'none waiting'}`);
  console.log(`\n   look inside: npx connector-state inspect ${storePath}`);
  return counts.totalFiles === files.length && !lock?.held && pending.items.length === 0;
}

const role = process.argv[2];
if (role === '--run') {
  const [number, crash, later] = process.argv.slice(3);
  await run(Number(number), { crash: crash === 'crash', minutesLater: Number(later) });
} else {
  rmSync(storeDir, { recursive: true, force: true });
  mkdirSync(storeDir, { recursive: true });
  console.log(`connector-state demo: ${files.length} files, store ${storePath}`);
  // Each run is its own process, as scheduled workflow runs are.
  const self = fileURLToPath(import.meta.url);
  const first = spawnSync(process.execPath, [self, '--run', '1', 'crash', '0'], { stdio: 'inherit' });
  console.log(`   (run 1 exited with code ${first.status})`);
  const second = spawnSync(process.execPath, [self, '--run', '2', 'ok', '5'], { stdio: 'inherit' });
  if (second.status !== 0) process.exit(second.status ?? 1);
  if (!(await summary())) {
    console.error('unexpected: the store should hold every file, a free lock and no pending retry');
    process.exit(1);
  }
}
