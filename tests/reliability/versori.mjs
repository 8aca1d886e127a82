// A Versori-style store whose writes land 0–100 ms late (the testing
// harness's writeDelayMs): 8 runs × 60 rounds on one lock and 8 trackers on
// the same 30 files, for this package with maxWriteDelayMs 150, for this
// package without the bound (0: best-effort), and for fc-connect-sdk 0.1.56.
import { createVersoriKv } from '../../js/testing.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** 8 runs try one lock `rounds` times each; a holder stays 10 ms. */
export async function delayedLocks({ lib, legacy = false, maxWriteDelayMs, rounds = 60, runs = 8, writeDelayMs = 100 }) {
  const kv = createVersoriKv(undefined, { writeDelayMs });
  let inside = 0;
  let most = 0;
  let overlapping = 0;
  let entries = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: runs }, async () => {
    const state = legacy ? new lib.StateService({ info() {}, warn() {}, error() {}, debug() {} }) : new lib.StateService(null, { maxWriteDelayMs });
    const handle = legacy ? new lib.VersoriKVAdapter(kv) : kv;
    for (let r = 0; r < rounds; r++) {
      if (await state.acquireLock('shared', handle, 1)) {
        entries += 1;
        if (inside > 0) overlapping += 1;
        inside += 1;
        most = Math.max(most, inside);
        await sleep(10);
        inside -= 1;
        await state.releaseLock('shared', handle);
      }
      await sleep(Math.random() * 40);
    }
  }));
  const ms = Date.now() - started;
  return { entries, most, overlapping, msPerEntry: entries ? Math.round(ms / entries) : null };
}

/** 8 trackers each walk the same 30 files and process the ones they win. */
export async function delayedClaims({ lib, legacy = false, maxWriteDelayMs, files = 30, runs = 8, writeDelayMs = 100 }) {
  const kv = createVersoriKv(undefined, { writeDelayMs });
  const wins = new Map();
  await Promise.all(Array.from({ length: runs }, async (_, i) => {
    if (legacy) {
      const tracker = new lib.VersoriFileTracker(kv, 'delayed');
      for (let f = 0; f < files; f++) {
        const name = `file-${(f + i * 4) % files}.csv`;
        if (await tracker.wasFileProcessed(name)) continue;
        wins.set(name, (wins.get(name) ?? 0) + 1);
        await tracker.markFileProcessed(name, { by: i });
      }
      return;
    }
    const tracker = new lib.FileTracker(kv, { prefix: 'delayed', maxWriteDelayMs });
    for (let f = 0; f < files; f++) {
      const name = `file-${(f + i * 4) % files}.csv`;
      const claim = await tracker.claim(name, { ttlMs: 60_000, renew: false });
      if (!claim.claimed) continue;
      wins.set(name, (wins.get(name) ?? 0) + 1);
      await claim.complete({ by: i });
    }
  }));
  const twice = [...wins.values()].filter((n) => n > 1).length;
  return { files, processed: wins.size, processedTwice: twice };
}
