// js/leases/ piece by piece, fast (no servers, short waits): option
// checks and their messages, the Lease handle, withLock, claim handles, and
// the abort paths. Paired with lease-timing.test.mjs (the timing itself);
// together they are the tests `npm run mutants` runs against this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileTracker, StateError, StateService, openKv } from 'connector-state';
import { sleep } from './helpers.mjs';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

async function invalid(promise, pattern) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof StateError, `expected INVALID_ARGUMENT, got ${error}`);
  assert.equal(error.code, 'INVALID_ARGUMENT');
  assert.match(error.message, pattern);
}

test('lock() options: each bad one is INVALID_ARGUMENT with a message that says what to do', async () => {
  const kv = await openKv();
  const state = new StateService(quiet);
  await invalid(state.lock('l', kv, 'fast'), /^options must be an object$/);
  await invalid(state.lock('l', kv, { ttlMz: 1 }), /^options\.ttlMz is not an option here \(did you mean options\.ttlMs\?\)$/);
  await invalid(state.lock('l', kv, { colour: 1 }), /^options\.colour is not an option here \(the options here are ttlMs, waitMs, renew, signal\)$/);
  await invalid(state.lock('l', kv, { ttlMs: 0 }), /^options\.ttlMs must be a positive number$/);
  await invalid(state.lock('l', kv, { ttlMs: -5 }), /^options\.ttlMs must be a positive number$/);
  await invalid(state.lock('l', kv, { ttlMs: NaN }), /^options\.ttlMs must be a positive number$/);
  await invalid(state.lock('l', kv, { ttlMs: '5' }), /^options\.ttlMs must be a positive number$/);
  await invalid(state.lock('l', kv, { ttlMs: 0.5 }), /^options\.ttlMs must be at least 1 millisecond/);
  await invalid(state.lock('l', kv, { ttlMs: 1e15 }), /^options\.ttlMs must be at most 316224000000$/);
  await invalid(state.lock('l', kv, { waitMs: -1 }), /^options\.waitMs must be a positive number$/);
  await invalid(state.lock('l', kv, { renew: 'yes' }), /^options\.renew must be true or false$/);
  await invalid(state.lock('l', kv, { signal: {} }), /^options\.signal must be an AbortSignal$/);
  await invalid(state.lock('l', kv, { signal: { aborted: false } }), /^options\.signal must be an AbortSignal$/);
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  await invalid(state.lock('l', kv, proxy), /^options could not be read .*: pass a plain object$/);
  // 1 ms, 0 wait and a fractional wait are fine.
  const lease = await state.lock('l', kv, { ttlMs: 60_000, waitMs: 0 });
  assert.ok(lease);
  assert.equal(await state.lock('l', kv, { waitMs: 0.5 }), null);
  await lease.release();
  const short = await state.lock('one-ms', kv, { ttlMs: 1, renew: false });
  assert.ok(short);
  await short.release();
});

test('a Lease: its fields, toJSON, extend, release once, and dispose', async () => {
  const kv = await openKv();
  const state = new StateService(quiet);
  const lease = await state.lock('fields', kv, { ttlMs: 60_000 });
  assert.equal(lease.lockName, 'fields');
  assert.equal(typeof lease.lockId, 'string');
  assert.ok(lease.lockId.length > 0);
  assert.equal(lease.lockId, state.getHeldLock('fields').lockId);
  assert.ok(Number.isInteger(lease.fencingToken) && lease.fencingToken > 0);
  assert.deepEqual(Object.keys(lease.toJSON()), ['lockName', 'lockId', 'fencingToken', 'expiresAt']);
  assert.deepEqual(JSON.parse(JSON.stringify(lease)), { lockName: 'fields', lockId: lease.lockId, fencingToken: lease.fencingToken, expiresAt: lease.expiresAt });
  const before = Date.parse(lease.expiresAt);
  await sleep(20);
  const next = await lease.extend(120_000);
  assert.equal(next, lease.expiresAt);
  assert.ok(Date.parse(next) > before + 50_000, `${lease.expiresAt} after ${new Date(before).toISOString()}`);
  assert.equal(Date.parse((await state.getLockInfo('fields', kv)).expiresAt), Date.parse(next));
  await invalid(lease.extend(-1), /^ttlMs must be a positive number$/);
  await invalid(lease.extend(0.5), /^ttlMs must be at least 1 millisecond/);
  assert.equal(lease.signal.aborted, false);
  assert.equal(await lease.release(), true);
  assert.equal(await lease.release(), false, 'a second release releases nothing');
  await assert.rejects(lease.extend(), (e) => e.code === 'LOCK_NOT_HELD' && /the lease was released/.test(e.message));
  assert.equal(lease.signal.aborted, false, 'releasing is not losing');
  const disposed = await state.lock('dispose', kv, { ttlMs: 60_000 });
  assert.equal((await state.getLockInfo('dispose', kv)).isLocked, true);
  await disposed[Symbol.asyncDispose](); // what `await using` calls
  assert.equal((await state.getLockInfo('dispose', kv)).isLocked, false);
});

test('a lost lease: extend rejects with the signal\'s reason, and the reason says what happened', async () => {
  const kv = await openKv();
  const state = new StateService(quiet);
  const lease = await state.lock('lost', kv, { ttlMs: 60_000 });
  await new StateService(quiet).forceReleaseLock('lost', kv);
  const error = await lease.extend().then(() => null, (e) => e);
  assert.equal(error.code, 'LOCK_NOT_HELD');
  assert.equal(lease.signal.aborted, true);
  assert.equal(lease.signal.reason.code, 'LOCK_NOT_HELD');
  assert.equal(lease.signal.reason.message, error.message);
  assert.ok(lease.signal.reason instanceof StateError);
  await assert.rejects(lease.extend(), (e) => e === lease.signal.reason);
  assert.equal(await lease.release(), false);
});

test('a lease that is not renewed keeps its expiry; one that is renews it', async () => {
  const kv = await openKv();
  const state = new StateService(quiet);
  const fixed = await state.lock('fixed', kv, { ttlMs: 300, renew: false });
  const renewing = await state.lock('renewing', kv, { ttlMs: 300 });
  const [a, b] = [fixed.expiresAt, renewing.expiresAt];
  await sleep(180);
  assert.equal(fixed.expiresAt, a, 'renew: false never renews');
  assert.notEqual(renewing.expiresAt, b, 'a renewing lease renewed within 180 ms of a 300 ms TTL');
  await renewing.release();
  // The unrenewed one is lost a sixth of its TTL before expiry.
  await sleep(150);
  assert.equal(fixed.signal.aborted, true);
  assert.match(fixed.signal.reason.message, /reaches its expiry without renewal/);
});

test('waiting: null when the time runs out, the lock when it is released, and the signal stops it', async () => {
  const kv = await openKv();
  const holder = await new StateService(quiet).lock('w', kv, { ttlMs: 60_000 });
  const other = new StateService(quiet);
  const started = Date.now();
  assert.equal(await other.lock('w', kv, { waitMs: 150 }), null);
  assert.ok(Date.now() - started >= 140, 'it waited out waitMs');
  assert.equal(await other.lock('w', kv), null, 'no wait by default');
  const reason = new Error('stop');
  await assert.rejects(other.lock('w', kv, { waitMs: 5_000, signal: AbortSignal.abort(reason) }), (e) => e === reason);
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), 60);
  const t0 = Date.now();
  await assert.rejects(other.lock('w', kv, { waitMs: 5_000, signal: controller.signal }), (e) => e === reason);
  assert.ok(Date.now() - t0 < 1_000);
  setTimeout(() => holder.release(), 50);
  const got = await other.lock('w', kv, { waitMs: 5_000 });
  assert.ok(got);
  await got.release();
});

test('withLock: fn gets the lease fields, its result comes back, its error passes through, the lock is always released', async () => {
  const kv = await openKv();
  const state = new StateService(quiet);
  await invalid(state.withLock('x', kv, 'not a function'), /^fn must be a function$/);
  await invalid(state.withLock('x', kv, async () => 1, { timeoutMinutes: -1 }), /^options\.timeoutMinutes must be a positive number$/);
  await invalid(state.withLock('x', kv, async () => 1, { tll: 1 }), /options\.tll is not an option here/);
  let seen;
  const result = await state.withLock('x', kv, async (lock) => {
    seen = lock;
    return 42;
  }, { ttlMs: 30_000 });
  assert.equal(result, 42);
  assert.deepEqual(Object.keys(seen), ['lockName', 'lockId', 'fencingToken', 'expiresAt', 'signal']);
  assert.equal(seen.lockName, 'x');
  assert.ok(Date.parse(seen.expiresAt) - Date.now() > 20_000 && Date.parse(seen.expiresAt) - Date.now() <= 30_000);
  assert.equal((await state.getLockInfo('x', kv)).isLocked, false);
  const boom = new Error('work failed');
  await assert.rejects(state.withLock('x', kv, async () => { throw boom; }), (e) => e === boom);
  assert.equal((await state.getLockInfo('x', kv)).isLocked, false);
  // timeoutMinutes sets the TTL when ttlMs is absent.
  await state.withLock('x', kv, async (lock) => {
    const left = Date.parse(lock.expiresAt) - Date.now();
    assert.ok(left > 100_000 && left <= 120_000, `${left}`);
  }, { timeoutMinutes: 2 });
  const held = await new StateService(quiet).lock('x', kv, { ttlMs: 60_000 });
  await assert.rejects(state.withLock('x', kv, async () => 1), (e) => e.code === 'LOCK_HELD' && /"x" is held by another run/.test(e.message));
  await held.release();
});

test('claim handles: signal, extend, complete, release and dispose on the claim itself', async () => {
  const kv = await openKv();
  const files = new FileTracker(kv, { prefix: 'units' });
  await invalid(files.claim('a.csv', { renew: 'sometimes' }), /^options\.renew must be true or false$/);
  await invalid(files.claim('a.csv', 'fast'), /options must be an object/);
  const claim = await files.claim('a.csv', { ttlMs: 60_000 });
  assert.equal(claim.claimed, true);
  assert.equal(claim.signal.aborted, false);
  const before = claim.expiresAt;
  await sleep(10);
  const next = await claim.extend(120_000);
  assert.equal(claim.expiresAt, next);
  assert.ok(Date.parse(next) > Date.parse(before));
  await invalid(claim.extend(-3), /^ttlMs must be a positive number$/);
  const other = await new FileTracker(kv, { prefix: 'units' }).claim('a.csv');
  assert.equal(other.claimed, false);
  await other[Symbol.asyncDispose](); // a lost claim result disposes to nothing
  await claim.complete({ rows: 3 });
  assert.equal(await files.isProcessed('a.csv'), true);
  assert.equal((await files.getRecord('a.csv')).metadata.rows, 3);
  await claim[Symbol.asyncDispose](); // completed: nothing to release
  assert.equal(await files.status('a.csv'), 'processed');
  const second = await files.claim('b.csv', { ttlMs: 60_000 });
  assert.equal(await second.release(), true);
  assert.equal(await files.status('b.csv'), 'new');
  assert.equal(await second.release(), false);
  const third = await files.claim('c.csv', { ttlMs: 60_000 });
  assert.equal(third.claimed, true);
  assert.equal(await files.status('c.csv'), 'in-progress');
  await third[Symbol.asyncDispose]();
  assert.equal(await files.status('c.csv'), 'new', 'dispose released the claim');
  const fixed = await files.claim('d.csv', { ttlMs: 300, renew: false });
  await sleep(300);
  assert.equal(fixed.signal.aborted, true);
  assert.equal(fixed.signal.reason.code, 'CLAIM_NOT_HELD');
});

test('renewal timers never keep a process alive', () => {
  const script = `
    import { StateService, FileTracker, openKv } from 'connector-state';
    const kv = await openKv();
    await new StateService(null).lock('t', kv, { ttlMs: 60_000 });
    await new FileTracker(kv, 'p').claim('f', { ttlMs: 60_000 });
    console.log('done');`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('.', import.meta.url)), timeout: 20_000, encoding: 'utf8',
  });
  assert.equal(out.trim(), 'done');
});

test('lock() option edges: null options, a near typo, an option at its cap, Infinity, what a getter threw', async () => {
  const kv = await openKv();
  const state = new StateService(quiet);
  const lease = await state.lock('edges', kv, null);
  assert.ok(lease, 'null options are no options');
  await lease.release();
  await invalid(state.lock('edges', kv, { rnw: true }), /did you mean options\.renew\?/);
  await invalid(state.lock('edges', kv, { ttlMs: Infinity }), /^options\.ttlMs must be a positive number$/);
  const atCap = await state.lock('edges', kv, { ttlMs: 316224000000, renew: false });
  assert.ok(atCap, 'ten years is accepted');
  await atCap.release();
  // eslint-disable-next-line no-throw-literal
  await invalid(state.lock('edges', kv, { get ttlMs() { throw 'no reading this'; } }), /could not be read \(no reading this\)/);
  await invalid(state.lock('edges', kv, { get ttlMs() { throw new Error('getter broke'); } }), /could not be read \(getter broke\)/);
  await invalid(state.lock('edges', kv, { signal: { aborted: false, addEventListener: 1 } }), /options\.signal must be an AbortSignal/);
  await invalid(state.withLock('edges', kv, async () => 1, { timeoutMinutes: 1e12 }), /^options\.timeoutMinutes must be at most 5270400$/);
  await invalid(state.withLock('edges', kv, async () => 1, { ttlMs: -1 }), /^options\.ttlMs must be a positive number$/);
  await invalid(state.withLock('edges', kv, async () => 1, { bogus: 1 }), /^options\.bogus is not an option here \(the options here are ttlMs, timeoutMinutes, waitMs, renew, signal\)$/);
});

test('a claim handle: extend passes its own claimId and TTL; release and dispose after complete touch nothing', async () => {
  const kv = await openKv();
  const files = new FileTracker(kv, { prefix: 'edges' });
  const claim = await files.claim('x.csv', { ttlMs: 60_000 });
  const before = Date.parse(claim.expiresAt);
  await claim.extend(600_000);
  assert.ok(Date.parse(claim.expiresAt) - before > 500_000, 'the TTL given is the one used');
  await invalid(claim.extend(Infinity), /^ttlMs must be a positive number$/);
  await claim.complete();
  assert.equal(await claim.release(), false, 'a completed claim has nothing to release');
  assert.equal(await files.status('x.csv'), 'processed');
  const lost = await files.claim('x.csv');
  assert.equal(lost.claimed, false);
  assert.equal(typeof lost.signal, 'undefined', 'a claim not won has no lease');
  const released = await files.claim('y.csv', { ttlMs: 60_000 });
  assert.equal(await released.release(), true);
  await released[Symbol.asyncDispose]();
  const again = await new FileTracker(kv, { prefix: 'edges' }).claim('y.csv', { ttlMs: 60_000 });
  assert.equal(again.claimed, true, 'dispose after release released nothing more');
  await again.release();
  const renewOff = await files.claim('z.csv', { ttlMs: 300, renew: false });
  const at = renewOff.expiresAt;
  await sleep(150);
  assert.equal(renewOff.expiresAt, at);
  await renewOff.release();
});

/** A host store over the embedded one that fails while `failing` and counts calls. */
async function flaky() {
  const inner = await openKv();
  const state = { failing: false, calls: 0 };
  const wrap = (f) => (...args) => {
    state.calls += 1;
    if (state.failing) throw new Error('connection reset');
    return f(...args);
  };
  const kv = {
    get: wrap((...a) => inner.get(...a)),
    getMany: wrap((...a) => inner.getMany(...a)),
    set: wrap((...a) => inner.set(...a)),
    delete: wrap((...a) => inner.delete(...a)),
    list: (...a) => inner.list(...a),
    atomic: wrap(() => inner.atomic()),
  };
  return { kv, state };
}

test('a renewal that fails is tried again soon (a twelfth of the TTL): a short outage does not lose the lease', async () => {
  const { kv, state } = await flaky();
  const ttlMs = 1_200;
  const lease = await new StateService(quiet).lock('blip', kv, { ttlMs });
  await sleep(ttlMs / 3 - 60);
  state.failing = true; // the renewal at a third fails…
  await sleep(120);
  state.failing = false; // …and the store is back a moment later
  const keepAlive = setTimeout(() => {}, 2_000);
  await sleep(ttlMs); // past the give-up time of the failed renewal
  clearTimeout(keepAlive);
  assert.equal(lease.signal.aborted, false, `lost after a 120 ms outage: ${lease.signal.reason?.message}`);
  assert.equal(await lease.release(), true);
});

test('renewals failing until the give-up: the reason names the last error', async () => {
  const { kv, state } = await flaky();
  const lease = await new StateService(quiet).lock('down', kv, { ttlMs: 600 });
  state.failing = true;
  const keepAlive = setTimeout(() => {}, 3_000);
  await new Promise((resolve) => lease.signal.addEventListener('abort', resolve, { once: true }));
  clearTimeout(keepAlive);
  assert.match(lease.signal.reason.message, /renewals did not succeed in time and the lease expires in 100 ms \(last error: [^)]*connection reset[^)]*\): stop the work/);
});

test('a waiter spreads its tries out: growing jittered pauses, not a busy loop', async () => {
  const { kv, state } = await flaky();
  const holder = await new StateService(quiet).lock('crowd', kv, { ttlMs: 60_000 });
  state.calls = 0;
  const started = Date.now();
  assert.equal(await new StateService(quiet).lock('crowd', kv, { waitMs: 1_000 }), null);
  const tries = state.calls;
  assert.ok(Date.now() - started >= 990);
  // 10, 20, 40, 80, 160, then 200 ms pauses (each jittered to 0.5–1.5×): about 8–14 tries in a second.
  assert.ok(tries >= 4 && tries <= 40, `${tries} store calls in a 1 s wait`);
  await holder.release();
});

test('lock() with a signal that never aborts gives the lease; claims renew by default; claim options are read safely', async () => {
  const kv = await openKv();
  const controller = new AbortController();
  const lease = await new StateService(quiet).lock('signalled', kv, { ttlMs: 60_000, signal: controller.signal, waitMs: 1_000 });
  assert.ok(lease, 'a signal that does not abort changes nothing');
  controller.abort(new Error('after the fact'));
  assert.equal(lease.signal.aborted, false, "the caller's signal is the wait's, not the lease's");
  assert.equal(await lease.release(), true);
  const files = new FileTracker(kv, { prefix: 'renews' });
  const claim = await files.claim('r.csv', { ttlMs: 300 });
  const first = claim.expiresAt;
  await sleep(180);
  assert.notEqual(claim.expiresAt, first, 'a claim renews itself unless renew: false');
  await claim.release();
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  await invalid(files.claim('r.csv', proxy), /^options could not be read .*: pass a plain object$/);
});
