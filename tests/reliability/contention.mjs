// Contention across OS processes: several worker processes compete for one
// lock and for the same files through one store, and the shared log they
// append to is checked afterwards.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadImpl, openStore, versoriView } from './stores.mjs';

const workerPath = fileURLToPath(new URL('./worker.mjs', import.meta.url));

export function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'cs-rel-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function runWorker(job) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [workerPath, JSON.stringify(job)], { timeout: 600_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`worker ${job.task} failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

function readLog(path) {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => line.split(' '));
  } catch {
    return [];
  }
}

/**
 * `processes` workers take one lock `acquisitions` times in total. Returns
 * what the log shows: the most holders inside at once, how many entries
 * overlapped another holder, and fencing tokens that did not rise.
 */
export async function lockContention({ impl, store, processes = 4, acquisitions = 1000, dir, variant, during }) {
  const log = join(dir, `locks-${impl}-${store.kind}${variant ? `-${variant}` : ''}.log`);
  writeFileSync(log, '');
  const started = Date.now();
  const quota = Math.ceil(acquisitions / processes);
  const [summaries, disturbance] = await settled([
    Promise.all(Array.from({ length: processes }, () => runWorker({ impl, store, task: 'lock', lockName: `contended-${impl}${variant ? `-${variant}` : ''}`, quota, log, variant, processes }))),
    during?.(log),
  ]);
  const ms = Date.now() - started;
  const inside = new Set();
  let maxHolders = 0;
  let overlapping = 0;
  let fencingViolations = 0;
  let lastToken = -Infinity;
  let entries = 0;
  for (const [event, pid, token] of readLog(log)) {
    if (event === 'enter') {
      entries += 1;
      if (inside.size > 0) overlapping += 1;
      inside.add(pid);
      maxHolders = Math.max(maxHolders, inside.size);
      if (token !== '-') {
        const t = Number(token);
        if (!(t > lastToken)) fencingViolations += 1;
        lastToken = t;
      }
    } else if (event === 'exit') {
      inside.delete(pid);
    }
  }
  return {
    acquisitions: entries,
    attempts: summaries.reduce((n, s) => n + s.attempts, 0),
    storeErrors: summaries.reduce((n, s) => n + s.errors, 0),
    errorsByCode: mergeCounts(summaries.map((s) => s.errorsByCode)),
    acquiredByWorkers: summaries.reduce((n, s) => n + s.acquired, 0),
    maxHolders,
    overlapping,
    fencingViolations: impl === 'ours' ? fencingViolations : null,
    ms,
    ...(disturbance ?? {}),
  };
}

/**
 * `processes` workers each walk all `files` in their own order and process
 * the ones they win. Every file must be processed exactly once and be in the
 * indexed tracker's listing afterwards.
 */
export async function fileContention({ impl, store, processes = 4, files = 2000, dir, variant, prefix = 'rel', during }) {
  const log = join(dir, `files-${impl}-${store.kind}${variant ? `-${variant}` : ''}.log`);
  writeFileSync(log, '');
  const started = Date.now();
  const [summaries, disturbance] = await settled([
    Promise.all(Array.from({ length: processes }, (_, i) => runWorker({ impl, store, task: 'files', files, seed: i + 1, log, variant, prefix, processes }))),
    during?.(log),
  ]);
  const ms = Date.now() - started;
  const times = new Map();
  for (const [event, , name] of readLog(log)) {
    if (event === 'process') times.set(name, (times.get(name) ?? 0) + 1);
  }
  let duplicates = 0;
  for (const n of times.values()) duplicates += n - 1;
  const missing = files - times.size;
  const listed = await listing(impl, store, prefix);
  let missingFromListing = 0;
  for (let i = 0; i < files; i++) {
    if (!listed.has(`order-${String(i).padStart(5, '0')}.csv`)) missingFromListing += 1;
  }
  return {
    files,
    processed: [...times.values()].reduce((a, b) => a + b, 0),
    processedByWorkers: summaries.reduce((n, s) => n + s.processed, 0),
    storeErrors: summaries.reduce((n, s) => n + s.errors, 0),
    errorsByCode: mergeCounts(summaries.map((s) => s.errorsByCode)),
    duplicates,
    missing,
    missingFromListing,
    ms,
    ...(disturbance ?? {}),
  };
}

/**
 * A `during` for the runs above: once the log shows `after` critical
 * sections, kills the server with SIGKILL, waits `downMs`, and starts it
 * again on the same data. Reports how long it was down.
 */
export function serverOutage(server, { after = 50, downMs = 1000 } = {}) {
  return async (log) => {
    const deadline = Date.now() + 120_000;
    while (readLog(log).filter(([e]) => e === 'enter' || e === 'process').length < after) {
      if (Date.now() > deadline) throw new Error('the run never got going');
      await new Promise((r) => setTimeout(r, 10));
    }
    const killed = Date.now();
    await server.kill();
    await new Promise((r) => setTimeout(r, downMs));
    await server.start();
    return { outageMs: Date.now() - killed };
  };
}

/** Promise.all that waits for every promise (a disturbance still running
 *  must not outlive its test), then throws the first failure. */
async function settled(promises) {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => r.value);
}

function mergeCounts(list) {
  const out = {};
  for (const counts of list) for (const [k, n] of Object.entries(counts ?? {})) out[k] = (out[k] ?? 0) + n;
  return out;
}

async function listing(impl, store, prefix) {
  const lib = await loadImpl(impl);
  const kv = await openStore(store);
  try {
    const names = new Set();
    if (impl === 'ours') {
      const tracker = new lib.IndexedFileTracker(kv, { prefix });
      let cursor = null;
      do {
        const page = await tracker.list({ limit: 500, cursor });
        for (const f of page.files) names.add(f.fileName);
        cursor = page.cursor;
      } while (cursor);
    } else {
      const tracker = new lib.VersoriIndexedFileTracker(versoriView(kv), prefix);
      for (const f of await tracker.listProcessedFiles()) names.add(f.fileName);
    }
    return names;
  } finally {
    kv.close();
  }
}

/** Blocks the whole thread, as a long GC pause does: no timer or promise runs. */
function freeze(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A holder takes a 300 ms lock and then freezes (a GC pause) until another
 * process has taken the expired lock over. On waking it tries to extend and
 * to release. Right: the extend is refused and the new holder keeps its lock.
 */
export async function pausedHolder({ impl, store, dir, variant }) {
  const lib = await loadImpl(impl);
  const raw = await openStore(store);
  const kv = impl === 'ours' ? raw : new lib.VersoriKVAdapter(versoriView(raw));
  const log = join(dir, `pause-${impl}-${store.kind}${variant ? `-${variant}` : ''}.log`);
  writeFileSync(log, '');
  const lockName = `paused-${impl}${variant ? `-${variant}` : ''}`;
  try {
    const state = new lib.StateService(null);
    if (!(await state.acquireLock(lockName, kv, 0.005))) throw new Error('the first holder could not take the lock');
    const myToken = impl === 'ours' ? state.getLockToken(lockName) : null;
    const other = runWorker({ impl, store, task: 'takeover', lockName, log });
    const deadline = Date.now() + 20_000;
    while (!readLog(log).some(([e]) => e === 'took-over')) {
      if (Date.now() > deadline) throw new Error('no process took the expired lock over');
      freeze(20);
    }
    let extend = 'not available';
    if (variant === 'blind-extend') {
      // A negative control: an extend that writes the record without a check.
      const current = await raw.get(['lock:', lockName]);
      await raw.set(['lock:', lockName], { ...current.value, expiresAt: new Date(Date.now() + 60_000).toISOString() });
      extend = 'extended a lost lock';
    } else if (typeof state.extendLock === 'function') {
      try {
        await state.extendLock(lockName, kv, 1);
        extend = 'extended a lost lock';
      } catch (e) {
        extend = e.code ?? e.message;
      }
    }
    // 'blind-release' (a negative control): deletes the key whoever holds it.
    const released = variant === 'blind-release'
      ? (await raw.delete(['lock:', lockName]), true)
      : await state.releaseLock(lockName, kv);
    // The new holder samples its lock only after this line.
    appendFileSync(log, `late-release ${process.pid} -\n`);
    const theirs = await other;
    return {
      extend,
      lateReleaseReturned: released ?? null,
      newHolderKeptLock: theirs.stillHeld,
      tokensRose: impl === 'ours' ? theirs.token > myToken : null,
    };
  } finally {
    raw.close();
  }
}
