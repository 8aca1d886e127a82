// The lease's timing at the values the README states ("Long jobs: leases
// that renew"): a renewal every third of the TTL, a give-up a sixth of the
// TTL before expiry, an abort at the renewal that finds the lock gone (not
// at the give-up), waiters pausing at most 200 ms, no timer or store call
// left after release, and a taker whose clock is ahead by less than two
// thirds of the TTL never taking a renewing lease. Each bound sits between
// the stated value and the nearest wrong one, so a change of the timing
// (a half instead of a third, expiry instead of a sixth before) fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StateService, openKv } from 'connector-state';
import { sleep } from './helpers.mjs';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

/** Resolves when `signal` aborts; a ref'd timer keeps the process up
 *  meanwhile (the lease's own timers never do), and fails after `ms`. */
function aborted(signal, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no abort within ${ms} ms`)), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** A host store over the embedded one that records when each call starts,
 *  and can be made to fail. */
async function recorded() {
  const inner = await openKv();
  const calls = [];
  const state = { failing: false };
  const wrap = (name, f) => (...args) => {
    calls.push({ name, at: performance.now() });
    if (state.failing) throw new Error('connection reset');
    return f(...args);
  };
  const kv = {
    get: wrap('get', (...a) => inner.get(...a)),
    getMany: wrap('getMany', (...a) => inner.getMany(...a)),
    set: wrap('set', (...a) => inner.set(...a)),
    delete: wrap('delete', (...a) => inner.delete(...a)),
    list: (...a) => inner.list(...a),
    atomic: wrap('atomic', () => inner.atomic()),
  };
  return { kv, inner, calls, state };
}

test('a lease renews every third of its TTL (not every half)', async () => {
  const { kv, calls } = await recorded();
  const ttlMs = 1_800;
  const lease = await new StateService(quiet).lock('third', kv, { ttlMs });
  const acquired = performance.now();
  calls.length = 0;
  await sleep(ttlMs * 0.5 + 150); // past a half: a renewal at a third has happened, one at a half just now
  const first = calls.find((c) => c.name === 'atomic');
  assert.ok(first, 'no renewal within half a TTL');
  const after = first.at - acquired;
  // A third is 600 ms; a half would be 900.
  assert.ok(after > ttlMs / 3 - 100 && after < ttlMs / 3 + 200, `first renewal ${after.toFixed(0)} ms after acquisition`);
  await lease.release();
});

test('renewals that keep failing: the signal aborts a sixth of the TTL before expiry', async () => {
  const { kv, state } = await recorded();
  const ttlMs = 1_200;
  const startedAt = performance.now();
  const lease = await new StateService(quiet).lock('sixth', kv, { ttlMs });
  state.failing = true;
  await aborted(lease.signal);
  const at = performance.now() - startedAt;
  // Expected at 5/6 of the TTL (1,000 ms); at expiry would be 1,200.
  assert.ok(at > (ttlMs * 5) / 6 - 120 && at < ttlMs - 80, `aborted ${at.toFixed(0)} ms into a ${ttlMs} ms lease`);
  assert.equal(lease.signal.reason.code, 'LOCK_NOT_HELD');
});

test('a renewal answered LOCK_NOT_HELD aborts at once, not at the give-up', async () => {
  const { kv } = await recorded();
  const ttlMs = 1_200;
  const startedAt = performance.now();
  const lease = await new StateService(quiet).lock('gone', kv, { ttlMs });
  await new StateService(quiet).forceReleaseLock('gone', kv);
  await aborted(lease.signal);
  const at = performance.now() - startedAt;
  // The renewal at a third (400 ms) finds it gone; the give-up would be at 1,000.
  assert.ok(at < ttlMs / 3 + 250, `aborted ${at.toFixed(0)} ms after acquisition`);
});

test('a waiter pauses at most 200 ms between tries: the pauses it asks for grow and stop at 200 ms', async () => {
  const kv = await openKv();
  const holder = await new StateService(quiet).lock('wait', kv, { ttlMs: 60_000 });
  // The pauses the waiter asks the timer for (the holder's renewal timers are
  // 20 s and more away): what the cap bounds, whatever the machine's load.
  const asked = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (fn, ms, ...rest) => {
    if (ms < 5_000) asked.push(ms);
    return realSetTimeout(fn, ms, ...rest);
  };
  let got;
  try {
    const waiting = new StateService(quiet).lock('wait', kv, { waitMs: 10_000 });
    await sleep(1_500); // long enough for uncapped pauses to pass 600 ms
    await holder.release();
    got = await waiting;
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.ok(got, 'the waiter took the released lock');
  const pauses = asked.filter((ms) => ms > 0 && ms !== 1_500); // not the test's own sleep
  assert.ok(pauses.length >= 7, `${pauses.length} pauses: ${pauses.join(', ')}`);
  assert.ok(Math.max(...pauses) <= 200, `a pause of ${Math.max(...pauses)} ms: ${pauses.join(', ')}`);
  assert.ok(pauses.some((ms) => ms > 100), `the pauses grow towards the cap: ${pauses.join(', ')}`);
  await got.release();
});

test('after release no timer and no store call is left', async () => {
  const { kv, calls } = await recorded();
  const lease = await new StateService(quiet).lock('done', kv, { ttlMs: 300 });
  await lease.release();
  calls.length = 0;
  await sleep(500); // more than a TTL: a renewal or a give-up would have run
  assert.deepEqual(calls, []);
  assert.equal(lease.signal.aborted, false, 'a released lease does not report a loss');
});

test('a taker whose clock is 0.6 of the TTL ahead never takes a renewing lease', async () => {
  const kv = await openKv();
  const ttlMs = 1_500;
  const lease = await new StateService(quiet).lock('skew', kv, { ttlMs });
  const taker = new StateService(quiet, { now: () => Date.now() + 0.6 * ttlMs });
  const until = performance.now() + 2.5 * ttlMs;
  let taken = false;
  while (performance.now() < until && !taken) {
    taken = await taker.acquireLock('skew', kv, 1);
    await sleep(25);
  }
  assert.equal(taken, false, 'a taker within the 2/3 bound took the lock');
  assert.equal(lease.signal.aborted, false);
  await lease.release();
});
