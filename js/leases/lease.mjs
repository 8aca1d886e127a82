// Leases: a lock or a claim that renews itself while the work runs and
// tells the work, through an AbortSignal, as soon as it is known lost.
// Built on StateService's acquireLock / extendLock / releaseLock and
// FileTracker's claim / extendClaim / complete / release; the core keeps
// the records and the fencing tokens, this folder keeps the timers
// (renewal.mjs, timers.mjs); this file holds locks, claim.mjs claims.
import { StateError } from '../core/errors.mjs';
import { asyncDispose, checkBoolean, checkOptions, checkSignal, invalid, MAX_PAUSE_MS, MINUTE, positive, rules } from './options.mjs';
import { Renewal } from './renewal.mjs';
import { monotonic, pause, untilAborted } from './timers.mjs';

/**
 * A held lock: `lockName`, `lockId`, `fencingToken`, `expiresAt`, `signal`
 * (aborts with a LOCK_NOT_HELD StateError as soon as the lock is known
 * lost), `extend(ttlMs?)`, `release()`, and `[Symbol.asyncDispose]`.
 */
export class Lease {
  #state;
  #kv;
  #renewal;
  #held;

  constructor(state, kv, held, { ttlMs, renew, startedAt }) {
    this.#state = state;
    this.#kv = kv;
    this.#held = held;
    this.#renewal = new Renewal({
      lostCode: 'LOCK_NOT_HELD',
      ttlMs,
      renew,
      startedAt,
      expiresAt: held.expiresAt,
      // This acquisition only (its lockId): a stale handle never renews
      // or releases a newer holder's lock.
      extend: (ms) => state.__extendHeld(held.lockName, kv, ms, held.lockId),
    });
  }

  get lockName() {
    return this.#held.lockName;
  }

  get lockId() {
    return this.#held.lockId;
  }

  get fencingToken() {
    return this.#held.fencingToken;
  }

  /** When the lock expires unless renewed (ISO 8601). */
  get expiresAt() {
    return this.#renewal.expiresAt;
  }

  /** Aborts, with a LOCK_NOT_HELD StateError as its reason, once the lock
   *  is known lost: taken over, force-released, or renewals failing until
   *  expiry is near. */
  get signal() {
    return this.#renewal.signal;
  }

  /** Renews now for `ttlMs` (default: the lease's TTL); resolves the new
   *  expiresAt. Rejects LOCK_NOT_HELD (and aborts `signal`) when lost. */
  async extend(ttlMs) {
    // Stryker disable next-line ConditionalExpression: positive() gives its fallback (undefined) for undefined, the same
    return this.#renewal.extend(ttlMs === undefined ? undefined : positive('ttlMs', ttlMs, undefined));
  }

  /** Releases the lock; false when it was no longer this lease's. */
  async release() {
    await this.#renewal.end();
    return this.#state.releaseLock(this.lockName, this.#kv, this.lockId);
  }

  async [asyncDispose]() {
    await this.release();
  }

  toJSON() {
    return { lockName: this.lockName, lockId: this.lockId, fencingToken: this.fencingToken, expiresAt: this.expiresAt };
  }
}

/** `state.lock(lockName, kv, { ttlMs, waitMs, renew, signal })` → Lease | null. */
export async function lock(state, lockName, kv, options) {
  const o = checkOptions('options', options, ['ttlMs', 'waitMs', 'renew', 'signal']);
  const ttlMs = positive('options.ttlMs', o.ttlMs, rules().defaultTtlMs);
  // Stryker disable next-line ConditionalExpression,LogicalOperator: undefined reaches positive(), whose fallback is 0: the same
  const waitMs = o.waitMs === undefined || o.waitMs === 0 ? 0 : positive('options.waitMs', o.waitMs, 0);
  const renew = checkBoolean('options.renew', o.renew, true);
  const signal = checkSignal('options.signal', o.signal);
  signal?.throwIfAborted();
  const until = monotonic() + waitMs;
  let step = 10;
  for (;;) {
    const startedAt = monotonic();
    const attempt = state.acquireLock(lockName, kv, ttlMs / MINUTE).then((won) => won && state.getHeldLock(lockName));
    // An abort while the store call is in flight rejects at once; a lock
    // that call wins after all is released (by its own lockId).
    const held = await untilAborted(attempt, signal, (late) => {
      if (late) state.releaseLock(lockName, kv, late.lockId).catch(() => {});
    });
    if (held) {
      return new Lease(state, kv, held, { ttlMs, renew, startedAt });
    }
    const left = until - monotonic();
    // Stryker disable next-line EqualityOperator: the time left is exactly 0 only by chance; one try more or less
    if (left <= 0) return null;
    // Jittered, growing pauses: a crowd of waiters spreads out, and a
    // released lock is taken within MAX_PAUSE_MS (each pause is half to all
    // of the current step, which doubles up to MAX_PAUSE_MS).
    await pause(Math.min(left, step / 2 + (Math.random() * step) / 2), signal);
    step = Math.min(step * 2, MAX_PAUSE_MS);
  }
}

/** withLock on leases: renews by default and hands `fn` the signal. */
export async function withLease(state, lockName, kv, fn, options) {
  const o = checkOptions('options', options, ['ttlMs', 'timeoutMinutes', 'waitMs', 'renew', 'signal']);
  if (typeof fn !== 'function') throw invalid('fn', 'must be a function');
  const minutes = positive('options.timeoutMinutes', o.timeoutMinutes, rules().defaultTtlMs / MINUTE, rules().maxMs / MINUTE);
  const ttlMs = o.ttlMs === undefined ? minutes * MINUTE : positive('options.ttlMs', o.ttlMs, undefined);
  const lease = await lock(state, lockName, kv, { ttlMs, waitMs: o.waitMs, renew: o.renew, signal: o.signal });
  if (!lease) {
    throw new StateError('LOCK_HELD', `lock ${JSON.stringify(lockName)} is held by another run; skip this run or try again after it expires`);
  }
  let result;
  try {
    result = await fn({ lockName: lease.lockName, lockId: lease.lockId, fencingToken: lease.fencingToken, expiresAt: lease.expiresAt, signal: lease.signal });
  } catch (thrown) {
    // The work's own error passes through; a failed release is logged by the core's warning path.
    await lease.release().catch(() => {});
    throw thrown;
  }
  await lease.release();
  return result;
}
