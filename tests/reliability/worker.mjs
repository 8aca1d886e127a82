// One competing run, as a separate OS process. Started by contention.mjs with
// one JSON argument: { impl, store, task, ... }. It appends what it does to a
// shared log file (one write per line, O_APPEND, so lines from all processes
// land whole and in the order they happened) and prints a JSON summary.
import { appendFileSync, readFileSync } from 'node:fs';
import { openStore, loadImpl, shuffled, sleep, versoriView } from './stores.mjs';

const job = JSON.parse(process.argv[2]);
const log = (line) => appendFileSync(job.log, `${line}\n`);
const impl = await loadImpl(job.impl);
// Through an outage, opening is retried too, as a scheduled run would be.
const store = await (async () => {
  for (let i = 0; ; i++) {
    try {
      return await openStore(job.store);
    } catch (e) {
      if (job.variant !== 'outage' || i > 600) throw e;
      await sleep(100);
    }
  }
})();
// 0.1.56 runs as its users run it: through its VersoriKVAdapter (its lock
// code calls check() with an array, which a raw Deno KV handle rejects, so
// on one it never takes a lock at all).
const kv = job.impl === 'ours' ? store : new impl.VersoriKVAdapter(versoriView(store));
const summary = { pid: process.pid, acquired: 0, attempts: 0, errors: 0, errorsByCode: {}, processed: 0 };
// Negative controls (tests/js/reliability.test.mjs): deliberately broken
// variants of our own code, which the checkers must catch.
//   'no-check'     the lock is taken by a blind write, no check of a holder
//   'late-exit'    the holder logs leaving its critical section after release
//   'no-claim'     files are processed without claiming them first
//   'no-mark'      files order-00000, -00025, -00050 … are never added to the listing
//   'blind-release' release deletes the lock key whoever holds it
//   'flaky-acquire' every 5th acquire throws CORRUPT_STATE
// And one scenario, not a broken variant:
//   'outage'       the server is killed and restarted during the run: store
//                  errors are expected (counted by code, retried after a
//                  pause), locks live 3 s (a lock taken by a commit whose
//                  answer was lost frees itself soon), and the files are
//                  walked again until each is processed, as the next run
//                  of a workflow would.
const variant = job.variant ?? null;
const outage = variant === 'outage';
const MAX_ERRORS = outage ? Infinity : 100;
const errorPause = () => sleep(outage ? 50 : 1 + Math.random() * 4);

/** Counts an unexpected error by its code; too many end the run. */
function countError(e) {
  const code = e?.code ?? (e instanceof Error ? e.constructor.name : typeof e);
  summary.errors += 1;
  summary.errorsByCode[code] = (summary.errorsByCode[code] ?? 0) + 1;
  if (summary.errors >= MAX_ERRORS) throw new Error(`${summary.errors} errors, the last: ${e?.stack ?? e}`);
}

/**
 * Waits until every process of the run has started (a `ready` line each in
 * the log), so they compete from the first call however slowly the machine
 * starts them.
 */
async function allStarted() {
  log(`ready ${process.pid}`);
  const deadline = Date.now() + 120_000;
  while (readFileSync(job.log, 'utf8').split('\n').filter((l) => l.startsWith('ready ')).length < (job.processes ?? 1)) {
    if (Date.now() > deadline) throw new Error('the other processes never started');
    await sleep(5);
  }
}

try {
  if (job.task !== 'takeover') await allStarted();
  if (job.task === 'lock') await lockTask();
  else if (job.task === 'files') await filesTask();
  else if (job.task === 'takeover') await takeoverTask();
  else if (job.task === 'hold') await holdTask();
  else throw new Error(`unknown task ${job.task}`);
} finally {
  store.close();
}
process.stdout.write(JSON.stringify(summary));

/**
 * Runs a store call again after an error, as a workflow would, and counts
 * the error by its code: every one of them reaches the test's totals, where
 * this package must show none (0.1.56 swallows its store errors itself).
 */
async function persist(fn) {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      countError(e);
      await errorPause();
    }
  }
}

/** The lock calls of this run, or a broken variant of them. */
function lockCalls(state) {
  const raw = job.impl === 'ours' ? store : null;
  let blindTokens = 0;
  let calls = 0;
  if (variant === 'flaky-acquire') {
    return {
      acquire: async () => {
        calls += 1;
        if (calls % 5 === 0) throw Object.assign(new Error('injected: damaged lock record'), { code: 'CORRUPT_STATE' });
        return state.acquireLock(job.lockName, kv, 1);
      },
      token: () => state.getLockToken(job.lockName),
      release: () => state.releaseLock(job.lockName, kv),
    };
  }
  return {
    acquire: variant === 'no-check'
      ? async () => { await raw.set(['lock:', job.lockName], { blind: process.pid }); blindTokens += 1; return true; }
      : () => state.acquireLock(job.lockName, kv, outage ? 0.05 : 1),
    token: () => (job.impl !== 'ours' ? '-' : variant === 'no-check' ? blindTokens : state.getLockToken(job.lockName)),
    release: variant === 'no-check' || variant === 'blind-release'
      ? async () => { await raw.delete(['lock:', job.lockName]); return true; }
      : () => state.releaseLock(job.lockName, kv),
  };
}

// Takes the shared lock `job.quota` times. Inside the critical section:
// enter line, a little work that gives other processes time to interleave,
// exit line, then release.
async function lockTask() {
  const state = new impl.StateService(null);
  const lock = lockCalls(state);
  while (summary.acquired < job.quota) {
    summary.attempts += 1;
    let won;
    try {
      won = await lock.acquire();
    } catch (e) {
      // Not an expected outcome: counted by code, and the test asserts none.
      countError(e);
      await (outage ? errorPause() : sleep(2));
      continue;
    }
    if (!won) {
      // The one expected outcome: someone else holds it; try again.
      await sleep(Math.random() * 2);
      continue;
    }
    summary.acquired += 1;
    const token = lock.token();
    log(`enter ${process.pid} ${token}`);
    await sleep(Math.random() < 0.5 ? 0 : 1);
    if (variant === 'late-exit') {
      await persist(() => lock.release());
      await sleep(10);
      log(`exit ${process.pid} ${token}`);
      continue;
    }
    log(`exit ${process.pid} ${token}`);
    const errorsBefore = summary.errors;
    const released = await persist(() => lock.release());
    // Through an outage, a release whose answer was lost may have happened:
    // the retry then finds nothing to release. Only a release that never
    // failed must return true.
    const ambiguous = outage && summary.errors > errorsBefore;
    if (released !== true && job.impl === 'ours' && !ambiguous) countError(new Error('release of a held lock returned false'));
  }
}

// Every process walks all files in its own order and processes each one it
// can claim: the claim decides, so each file is processed once in total.
async function filesTask() {
  // 'no-claim' walks one order in every process, so that they meet.
  const names = shuffled(Array.from({ length: job.files }, (_, i) => `order-${String(i).padStart(5, '0')}.csv`), variant === 'no-claim' ? 1 : job.seed);
  if (job.impl === 'ours') {
    const files = new impl.FileTracker(kv, { prefix: job.prefix ?? 'rel' });
    const indexed = new impl.IndexedFileTracker(kv, { prefix: job.prefix ?? 'rel' });
    if (outage) return filesThroughOutage(names, files, indexed);
    for (const name of names) {
      if (variant === 'no-claim') {
        if (await persist(() => files.isProcessed(name))) continue;
        await sleep(5);
      } else {
        const claim = await persist(() => files.claim(name, { ttlMs: 5 * 60_000 }));
        if (!claim.claimed) continue;
      }
      log(`process ${process.pid} ${name}`);
      summary.processed += 1;
      await sleep(0);
      if (!(variant === 'no-mark' && Number(name.slice(6, 11)) % 25 === 0)) await persist(() => indexed.mark(name, { by: process.pid }));
      if (variant === 'no-claim') await persist(() => files.markProcessed(name, { by: process.pid }));
      else await persist(() => files.complete(name, { by: process.pid }));
    }
  } else {
    // 0.1.56 has no claim: check, then record, as its guide shows.
    const state = new impl.StateService(null);
    const indexed = new impl.VersoriIndexedFileTracker(versoriView(store), job.prefix ?? 'rel');
    for (const name of names) {
      if (await persist(() => state.isFileProcessed(kv, name, job.prefix ?? 'rel'))) continue;
      log(`process ${process.pid} ${name}`);
      summary.processed += 1;
      await persist(() => indexed.markFileProcessed(name, { by: process.pid }));
      await persist(() => state.updateSyncState(kv, [{ fileName: name, lastModified: new Date().toISOString() }], job.prefix ?? 'rel'));
    }
  }
}

// The files while the server goes away and comes back: walks the names
// until every one is processed. A claim whose answer was lost is held by
// nobody who knows it until it expires (15 s), and is then claimed again.
async function filesThroughOutage(names, files, indexed) {
  const deadline = Date.now() + 300_000;
  let left = names;
  while (left.length > 0) {
    if (Date.now() > deadline) throw new Error(`${left.length} files never processed`);
    const next = [];
    for (const name of left) {
      if (await persist(() => files.isProcessed(name))) continue;
      const claim = await persist(() => files.claim(name, { ttlMs: 15_000 }));
      if (!claim.claimed) {
        next.push(name);
        continue;
      }
      log(`process ${process.pid} ${name}`);
      summary.processed += 1;
      await persist(() => indexed.mark(name, { by: process.pid }));
      // A completion whose answer was lost: done if the record says so.
      await persist(async () => {
        try {
          await files.complete(name, { by: process.pid });
        } catch (e) {
          if (!(await files.isProcessed(name))) throw e;
        }
      });
    }
    left = next;
    if (left.length > 0) await sleep(100);
  }
}

// The crash scenario's holder: takes a renewing lease, says so, and stays
// inside its critical section until it is killed (SIGKILL).
async function holdTask() {
  const state = new impl.StateService(null);
  // 'no-renew' (a negative control): the lease is never renewed, so it
  // expires while the holder still works.
  const lease = await state.lock(job.lockName, kv, { ttlMs: job.ttlMs, waitMs: 60_000, renew: variant !== 'no-renew' });
  if (!lease) throw new Error('the holder never got the lock');
  log(`enter ${process.pid} ${lease.fencingToken}`);
  setInterval(() => {}, 1000); // renewal timers do not keep a process alive; this does
  await new Promise(() => {});
}

// The second run of the paused-holder scenario: waits for the first run's
// lock to expire, takes it over, and holds it until the first run has woken
// up and made its late release (a `late-release` line in the log); only then
// does it look whether its lock is still there.
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
  const waitUntil = Date.now() + 30_000;
  while (!readFileSync(job.log, 'utf8').includes('late-release')) {
    if (Date.now() > waitUntil) throw new Error('the paused holder never made its late release');
    await sleep(10);
  }
  const info = job.impl === 'ours' ? await state.getLockInfo(job.lockName, kv) : (await kv.get(['lock:', job.lockName]))?.value;
  summary.stillHeld = job.impl === 'ours' ? Boolean(info?.heldByMe) : Boolean(info?.isLocked);
  await persist(() => state.releaseLock(job.lockName, kv));
}
