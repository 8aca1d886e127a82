// Locks and claims on a Versori-style store whose writes land late (the
// testing harness's `writeDelayMs`): exclusive under `maxWriteDelayMs`
// (Fischer's timed mutual exclusion), and, as the negative side, overlaps
// again with a bound below the store's real write delay; a run whose own
// write takes longer than the bound backs off and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileTracker, StateService, VersoriFileTracker, describeStore } from 'connector-state';
import { createVersoriKv } from 'connector-state/testing';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `runs` StateServices each try the lock `rounds` times; inside, a holder
 * stays 10 ms. Returns the most holders at once and the overlapping entries.
 */
async function contend({ kv, runs = 8, rounds, maxWriteDelayMs, ttlMinutes = 1, holdMs = 10, minEntries = 0, deadlineMs = 30_000 }) {
  let inside = 0;
  let most = 0;
  let overlapping = 0;
  let entries = 0;
  // On a loaded machine runs back off more often (their own writes overrun
  // the bound): rounds go on past `rounds` until `minEntries` entries were
  // seen, within `deadlineMs`, so the check has enough entries to judge.
  const deadline = Date.now() + deadlineMs;
  await Promise.all(Array.from({ length: runs }, async () => {
    const state = new StateService(null, { maxWriteDelayMs });
    for (let r = 0; r < rounds || (entries < minEntries && Date.now() < deadline); r++) {
      if (await state.acquireLock('shared', kv, ttlMinutes)) {
        entries += 1;
        if (inside > 0) overlapping += 1;
        inside += 1;
        most = Math.max(most, inside);
        await sleep(holdMs);
        inside -= 1;
        await state.releaseLock('shared', kv);
      }
      await sleep(Math.random() * 40);
    }
  }));
  return { most, overlapping, entries };
}

for (const acknowledge of ['after-landing', 'at-once']) {
  test(`8 runs × 30 rounds over writes landing 0–100 ms late (acknowledged ${acknowledge}), maxWriteDelayMs 150: never two holders`, async (t) => {
    const kv = createVersoriKv(undefined, { writeDelayMs: 100, acknowledge });
    const r = await contend({ kv, rounds: 30, maxWriteDelayMs: 150, minEntries: 10 });
    t.diagnostic(JSON.stringify(r));
    assert.equal(r.most, 1);
    assert.equal(r.overlapping, 0);
    assert.ok(r.entries >= 5, `too few entries to prove anything: ${r.entries}`);
  });
}

test('the negative side: without the bound, or with one below the real write delay, holders overlap again (the test can fail)', async (t) => {
  // Best-effort (read, write, read back at once), as before this option.
  const off = await contend({ kv: createVersoriKv(undefined, { writeDelayMs: 100 }), rounds: 30, maxWriteDelayMs: 0, holdMs: 30 });
  t.diagnostic(`maxWriteDelayMs 0: ${JSON.stringify(off)}`);
  assert.ok(off.overlapping > 0, `no overlap without the bound: ${JSON.stringify(off)}`);
  // Writes acknowledged at once but visible up to 100 ms later, and a bound
  // of 30 ms: a run can read back its own write before a racer's lands.
  // (A run's late record also holds the lock for its TTL, so entries are
  // few: short TTLs of 180 ms, still well over a holder's ~100 ms from read
  // to release, and up to twelve runs until an overlap shows; one run
  // shows one about half the time, so all twelve missing it is ~1 in 10^4.)
  const below = [];
  for (let attempt = 0; attempt < 12 && !below.some((r) => r.overlapping > 0); attempt++) {
    below.push(await contend({ kv: createVersoriKv(undefined, { writeDelayMs: 100, acknowledge: 'at-once' }), rounds: 40, maxWriteDelayMs: 30, ttlMinutes: 0.003, holdMs: 30 }));
  }
  t.diagnostic(`maxWriteDelayMs 30: ${JSON.stringify(below)}`);
  assert.ok(below.some((r) => r.overlapping > 0), `no overlap with a bound of 30 ms: ${JSON.stringify(below)}`);
});

test('30 files claimed by 8 trackers over late writes: each won once', async () => {
  const kv = createVersoriKv(undefined, { writeDelayMs: 100 });
  const wins = new Map();
  await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    const files = i % 2 ? new FileTracker(kv, { prefix: 'timed', maxWriteDelayMs: 150 }) : new VersoriFileTracker(kv, 'timed', { maxWriteDelayMs: 150 });
    for (let f = 0; f < 30; f++) {
      const name = `file-${(f + i * 4) % 30}.csv`;
      const claim = await files.claim(name, { ttlMs: 60_000, renew: false });
      if (claim.claimed) wins.set(name, (wins.get(name) ?? 0) + 1);
    }
  }));
  assert.equal(wins.size, 30, `${wins.size} files won`);
  assert.deepEqual([...wins.values()].filter((n) => n > 1), [], 'a file won twice');
});

test('a run whose own write takes longer than the bound does not enter, and logs why', async () => {
  const inner = createVersoriKv();
  const slow = { get: (k) => inner.get(k), set: async (k, v, o) => { await sleep(120); return inner.set(k, v, o); }, delete: (k) => inner.delete(k) };
  const logged = [];
  const log = { warn: (message, context) => logged.push({ message, context }), info() {}, error() {}, debug() {} };
  const state = new StateService(log, { maxWriteDelayMs: 50 });
  assert.equal(await state.acquireLock('slow', slow, 1), false);
  const why = logged.find((l) => /maxWriteDelayMs/.test(l.message));
  assert.ok(why, JSON.stringify(logged));
  assert.ok(why.context.tookMs > 50);
  // With a bound the store keeps, the same run enters.
  assert.equal(await new StateService(log, { maxWriteDelayMs: 500 }).acquireLock('slow-ok', slow, 1), true);
  // A claim the same way, through FileTracker's log option.
  logged.length = 0;
  const claim = await new FileTracker(slow, { prefix: 'slow', maxWriteDelayMs: 50, log }).claim('a.csv', { renew: false });
  assert.equal(claim.claimed, false);
  const claimWhy = logged.find((l) => /^Claim not taken/.test(l.message));
  assert.ok(claimWhy, JSON.stringify(logged));
  assert.equal(claimWhy.context.fileName, 'a.csv');
  assert.ok(claimWhy.context.tookMs > 50);
  const won = await new VersoriFileTracker(slow, 'slow-ok', { maxWriteDelayMs: 500, log }).claim('a.csv', { renew: false });
  assert.equal(won.claimed, true);
});

test('describe: timed guarantee with its bound on Versori; exact stores ignore the bound; 0 is best-effort; bad values refused', async () => {
  const kv = createVersoriKv();
  assert.deepEqual(new StateService(null).describeStore(kv), { kind: 'versori', compareAndSet: false, list: false, expiry: false, guarantee: 'timed', maxWriteDelayMs: 100 });
  assert.equal(new StateService(null, { maxWriteDelayMs: 250 }).describeStore(kv).maxWriteDelayMs, 250);
  assert.equal(new StateService(null, { maxWriteDelayMs: 0 }).describeStore(kv).guarantee, 'best-effort');
  assert.equal(new FileTracker(kv, { maxWriteDelayMs: 150 }).capabilities().guarantee, 'timed');
  assert.equal(describeStore(kv).guarantee, 'best-effort', 'the store itself offers no exclusivity');
  const { openKv } = await import('connector-state');
  assert.equal(new StateService(null, { maxWriteDelayMs: 150 }).describeStore(await openKv()).guarantee, 'exact');
  for (const bad of [-1, 'x', Infinity, 60_001]) {
    assert.throws(() => new StateService(null, { maxWriteDelayMs: bad }), { code: 'INVALID_ARGUMENT', message: /options\.maxWriteDelayMs/ });
  }
});

test('acquire + release on a Versori store: 5 calls, and the wait adds time, not calls', async () => {
  const inner = createVersoriKv();
  let calls = 0;
  const counted = { get: (k) => (calls++, inner.get(k)), set: (k, v, o) => (calls++, inner.set(k, v, o)), delete: (k) => (calls++, inner.delete(k)) };
  const state = new StateService(null, { maxWriteDelayMs: 50 });
  const started = Date.now();
  assert.equal(await state.acquireLock('count', counted, 1), true);
  const took = Date.now() - started;
  assert.equal(await state.releaseLock('count', counted), true);
  assert.equal(calls, 5);
  assert.ok(took >= 100, `acquired after ${took} ms: it waits twice the bound`);
});

test('the daily job is created once by 20 racing runs over late writes (maxWriteDelayMs 150)', async () => {
  const { JobTracker } = await import('connector-state');
  const kv = createVersoriKv(undefined, { writeDelayMs: 100 });
  let created = 0;
  const results = await Promise.all(Array.from({ length: 20 }, () => new JobTracker(kv, null).getOrCreateDailyJob('wf-timed', async () => {
    created += 1;
    await sleep(20);
    return `job-${created}`;
  }, { maxWriteDelayMs: 150, pollMs: 50 })));
  assert.equal(created, 1, `create was called ${created} times`);
  assert.equal(new Set(results.map((r) => r.job.jobId)).size, 1);
  assert.equal(results.filter((r) => r.created).length, 1);
});

// Negative controls of the two checks above: the same races without the
// bound (best-effort, maxWriteDelayMs 0) must show what the checks look for.
async function claimRace(maxWriteDelayMs) {
  const kv = createVersoriKv(undefined, { writeDelayMs: 100 });
  const wins = new Map();
  await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    const files = new FileTracker(kv, { prefix: 'timed-control', maxWriteDelayMs });
    for (let f = 0; f < 30; f++) {
      const name = `file-${(f + i * 4) % 30}.csv`;
      const claim = await files.claim(name, { ttlMs: 60_000, renew: false });
      if (claim.claimed) wins.set(name, (wins.get(name) ?? 0) + 1);
    }
  }));
  return [...wins.values()].filter((n) => n > 1).length;
}

test('negative control: without the bound, the claim check sees files won twice', async () => {
  let twice = 0;
  for (let attempt = 0; attempt < 5 && twice === 0; attempt++) twice = await claimRace(0);
  assert.ok(twice > 0, 'best-effort claims over late writes never won a file twice: the check could not fail');
});

test('negative control: without the bound, the daily-job check sees create called more than once', async () => {
  const { JobTracker } = await import('connector-state');
  let created = 0;
  for (let attempt = 0; attempt < 5 && created <= 1; attempt++) {
    const kv = createVersoriKv(undefined, { writeDelayMs: 100 });
    created = 0;
    await Promise.all(Array.from({ length: 20 }, () => new JobTracker(kv, null).getOrCreateDailyJob(`wf-control-${attempt}`, async () => {
      created += 1;
      await sleep(20);
      return `job-${created}`;
    }, { maxWriteDelayMs: 0, pollMs: 50 })));
  }
  assert.ok(created > 1, 'best-effort daily jobs over late writes were created once: the check could not fail');
});
