// One competing run, as a separate OS process. Started by contention.mjs with
// one JSON argument: { impl, store, task, ... }. It appends what it does to a
// shared log file (one write per line, O_APPEND, so lines from all processes
// land whole and in the order they happened) and prints a JSON summary.
import { appendFileSync } from 'node:fs';
import { openStore, loadImpl, shuffled, sleep, versoriView } from './stores.mjs';

const job = JSON.parse(process.argv[2]);
const log = (line) => appendFileSync(job.log, `${line}\n`);
const impl = await loadImpl(job.impl);
const store = await openStore(job.store);
// 0.1.56 runs as its users run it: through its VersoriKVAdapter (its lock
// code calls check() with an array, which a raw Deno KV handle rejects, so
// on one it never takes a lock at all).
const kv = job.impl === 'ours' ? store : new impl.VersoriKVAdapter(versoriView(store));
const summary = { pid: process.pid, acquired: 0, attempts: 0, errors: 0, processed: 0 };

try {
  if (job.task === 'lock') await lockTask();
  else if (job.task === 'files') await filesTask();
  else if (job.task === 'takeover') await takeoverTask();
  else throw new Error(`unknown task ${job.task}`);
} finally {
  store.close();
}
process.stdout.write(JSON.stringify(summary));

/**
 * Runs a store call again when the store was busy (a SQLite file shared by
 * processes answers "database is locked" under load): what a workflow does
 * with STORE_UNAVAILABLE. Other errors end the run.
 */
async function persist(fn) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const transient = job.impl === 'ours' ? e.code === 'STORE_UNAVAILABLE' : true;
      if (!transient || attempt >= 1000) throw e;
      summary.errors += 1;
      await sleep(1 + Math.random() * 4);
    }
  }
}

// Takes the shared lock `job.quota` times. Inside the critical section:
// enter line, a little work that gives other processes time to interleave,
// exit line, then release.
async function lockTask() {
  const state = new impl.StateService(null);
  while (summary.acquired < job.quota) {
    summary.attempts += 1;
    let won;
    try {
      won = await state.acquireLock(job.lockName, kv, 1);
    } catch (e) {
      summary.errors += 1;
      await sleep(2);
      continue;
    }
    if (!won) {
      await sleep(Math.random() * 2);
      continue;
    }
    summary.acquired += 1;
    const token = job.impl === 'ours' ? state.getLockToken(job.lockName) : '-';
    log(`enter ${process.pid} ${token}`);
    await sleep(Math.random() < 0.5 ? 0 : 1);
    log(`exit ${process.pid} ${token}`);
    await persist(() => state.releaseLock(job.lockName, kv));
  }
}

// Every process walks all files in its own order and processes each one it
// can claim: the claim decides, so each file is processed once in total.
async function filesTask() {
  const names = shuffled(Array.from({ length: job.files }, (_, i) => `order-${String(i).padStart(5, '0')}.csv`), job.seed);
  if (job.impl === 'ours') {
    const files = new impl.FileTracker(kv, { prefix: 'rel' });
    const indexed = new impl.IndexedFileTracker(kv, { prefix: 'rel' });
    for (const name of names) {
      const claim = await persist(() => files.claim(name, { ttlMs: 5 * 60_000 }));
      if (!claim.claimed) continue;
      log(`process ${process.pid} ${name}`);
      summary.processed += 1;
      await persist(() => indexed.mark(name, { by: process.pid }));
      await persist(() => files.complete(name, { by: process.pid }));
    }
  } else {
    // 0.1.56 has no claim: check, then record, as its guide shows.
    const state = new impl.StateService(null);
    const indexed = new impl.VersoriIndexedFileTracker(versoriView(store), 'rel');
    for (const name of names) {
      if (await persist(() => state.isFileProcessed(kv, name, 'rel'))) continue;
      log(`process ${process.pid} ${name}`);
      summary.processed += 1;
      await persist(() => indexed.markFileProcessed(name, { by: process.pid }));
      await persist(() => state.updateSyncState(kv, [{ fileName: name, lastModified: new Date().toISOString() }], 'rel'));
    }
  }
}

// The second run of the paused-holder scenario: waits for the first run's
// lock to expire, takes it over, holds it while the first run wakes up, then
// reports what it sees.
async function takeoverTask() {
  const state = new impl.StateService(null);
  const deadline = Date.now() + 10_000;
  while (!(await persist(() => state.acquireLock(job.lockName, kv, 1)))) {
    if (Date.now() > deadline) throw new Error('the expired lock was never taken over');
    await sleep(10);
  }
  summary.acquired = 1;
  summary.token = job.impl === 'ours' ? state.getLockToken(job.lockName) : null;
  log(`took-over ${process.pid} ${summary.token}`);
  await sleep(job.holdMs);
  const info = job.impl === 'ours' ? await state.getLockInfo(job.lockName, kv) : (await kv.get(['lock:', job.lockName]))?.value;
  summary.stillHeld = job.impl === 'ours' ? Boolean(info?.heldByMe) : Boolean(info?.isLocked);
  await persist(() => state.releaseLock(job.lockName, kv));
}
