// Leases: a lock or a claim that renews itself while the work runs and
// tells the work, through an AbortSignal, as soon as it is known lost.
// Built on StateService's acquireLock / extendLock / releaseLock and
// FileTracker's claim / extendClaim / complete / release; the core keeps
// the records and the fencing tokens, this file keeps the timers.
import { StateError } from './errors.mjs';
import { editDistance } from './text.mjs';

const MINUTE = 60_000;
const DEFAULT_TTL_MS = 15 * MINUTE;
/** Ten years, the longest lifetime the core accepts. */
const MAX_MS = 10 * 366 * 24 * 60 * MINUTE;
/** Longest pause between two tries of a waiting lock(). */
const MAX_PAUSE_MS = 200;
// Stryker disable next-line StringLiteral: the fallback name matters only where Symbol.asyncDispose is missing (Node 20 and Deno have it)
const asyncDispose = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose');

const invalid = (argument, problem) => new StateError('INVALID_ARGUMENT', `${argument} ${problem}`);

/** Refuses options other than `known`, naming the one to use. */
export function checkOptions(argument, options, known) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw invalid(argument, 'must be an object');
  const copy = plainCopy(argument, options);
  for (const key of Object.keys(copy)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => editDistance(k, key) <= 2);
    throw invalid(`${argument}.${key}`, `is not an option here (${near ? `did you mean ${argument}.${near}?` : `the options here are ${known.join(', ')}`})`);
  }
  return copy;
}

/** A plain copy of an options object's own enumerable fields, read once:
 *  a Proxy or getter that throws is INVALID_ARGUMENT, never a TypeError. */
function plainCopy(argument, options) {
  try {
    const copy = {};
    for (const key of Object.keys(options)) copy[key] = options[key];
    return copy;
  } catch (error) {
    throw invalid(argument, `could not be read (${error?.message ?? error}): pass a plain object`);
  }
}


function positive(argument, value, fallback, max = MAX_MS) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid(argument, 'must be a positive number');
  if (value < 1 && argument.endsWith('ttlMs')) throw invalid(argument, 'must be at least 1 millisecond; a shorter lifetime expires before it is written');
  if (value > max) throw invalid(argument, `must be at most ${max}`);
  return value;
}

function checkSignal(argument, signal) {
  if (signal === undefined) return undefined;
  if (typeof signal?.aborted !== 'boolean' || typeof signal?.addEventListener !== 'function') throw invalid(argument, 'must be an AbortSignal');
  return signal;
}

function checkBoolean(argument, value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(argument, 'must be true or false');
  return value;
}

/** A timer that never keeps a Node or Deno process alive. */
function background(fn, ms) {
  const id = setTimeout(fn, Math.max(0, ms));
  // Stryker disable next-line ConditionalExpression,OptionalChaining: Node's timer objects always have unref()
  if (typeof id === 'object') id?.unref?.();
  // Stryker disable next-line OptionalChaining: Deno's branch; it runs in the Deno tests, not under Node
  else globalThis.Deno?.unrefTimer?.(id);
  return id;
}

/** Waits `ms`, or rejects with `signal.reason` when it aborts first. */
function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    // Stryker disable next-line ConditionalExpression: unreachable from lock(), which checks the signal before each attempt
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(id);
      reject(signal.reason);
    };
    const id = setTimeout(() => {
      // Stryker disable next-line StringLiteral: a listener left behind on a settled pause has nothing to do
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: the listener is removed on resolve, and abort fires once
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `promise`, or a rejection with `signal.reason` as soon as `signal`
 *  aborts; what `promise` resolves after that goes to `late`. */
function untilAborted(promise, signal, late) {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      promise.then(late, () => {});
    };
    // Stryker disable next-line ConditionalExpression: unreachable from lock(), which checks the signal before each attempt
    if (signal.aborted) return onAbort();
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: the listener is removed on settle, and abort fires once
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        // Stryker disable next-line StringLiteral: a listener left behind on a settled wait has nothing to do
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        // Stryker disable next-line StringLiteral: a listener left behind on a settled wait has nothing to do
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Milliseconds on a clock that only moves forward (for local deadlines). */
// Stryker disable next-line LogicalOperator,OptionalChaining: every runtime supported has performance.now()
const monotonic = () => globalThis.performance?.now() ?? Date.now();

/**
 * What a lease renews and ends: `extend(ttlMs)` → new expiresAt (ISO),
 * rejecting LOCK_NOT_HELD / CLAIM_NOT_HELD when lost; `end()` → boolean.
 */
class Renewal {
  #extend;
  #lostCode;
  #ttlMs;
  #renew;
  #renewTimer = null;
  #lossTimer = null;
  #controller = new AbortController();
  #ended = false;
  /** Local (monotonic) time by which the lease is surely expired: when
   *  the last successful renewal started, plus the TTL. */
  #deadline;
  #lastError = null;
  /** The renewal on its way to the store, if any. */
  #inFlight = null;
  expiresAt;

  constructor({ extend, lostCode, ttlMs, renew, expiresAt, startedAt }) {
    this.#extend = extend;
    this.#lostCode = lostCode;
    this.#ttlMs = ttlMs;
    this.#renew = renew;
    this.expiresAt = expiresAt;
    this.#deadline = startedAt + ttlMs;
    this.#plan();
  }

  get signal() {
    return this.#controller.signal;
  }

  /** Aborts the signal with a StateError saying why the lease is lost. */
  lose(message) {
    this.#stop();
    // Stryker disable next-line ConditionalExpression: aborting an aborted controller does nothing
    if (!this.#controller.signal.aborted) this.#controller.abort(new StateError(this.#lostCode, message));
  }

  #stop() {
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#lossTimer);
    this.#renewTimer = this.#lossTimer = null;
  }

  /**
   * Two timers: the next renewal a third of the TTL from now, and the
   * give-up a sixth of the TTL before the lease would expire. A renewal
   * that fails, or hangs on a stalled connection, never reaches the
   * second one's reset: the signal then aborts while the lease is still
   * valid, before any other run can take it.
   */
  #plan() {
    this.#stop();
    // Stryker disable next-line ConditionalExpression: nothing plans a renewal after end() (extend() returns first)
    if (this.#ended) return;
    const margin = this.#ttlMs / 6;
    this.#lossTimer = background(() => {
      const why = this.#renew
        ? `renewals did not succeed in time and the lease expires in ${Math.round(margin)} ms${this.#lastError ? ` (last error: ${this.#lastError})` : ' (the store did not answer)'}: stop the work`
        : 'the lease reaches its expiry without renewal: stop the work';
      this.lose(why);
    }, this.#deadline - margin - monotonic());
    // A third of the TTL after the (last) acquisition or renewal started:
    // on a Versori store the acquisition itself may use part of the TTL.
    if (this.#renew) this.#renewTimer = background(() => this.#renewNow(), this.#deadline - (2 * this.#ttlMs) / 3 - monotonic());
  }

  async #renewNow() {
    this.#renewTimer = null;
    // Stryker disable next-line ConditionalExpression,LogicalOperator: end() and lose() clear this timer: an ended or lost lease never gets here
    if (this.#ended || this.signal.aborted) return;
    try {
      await this.extend();
    } catch (error) {
      if (this.signal.aborted || this.#ended) return;
      // The store failed: try again soon; the loss timer still runs.
      this.#lastError = error?.message ?? String(error);
      this.#renewTimer = background(() => this.#renewNow(), this.#ttlMs / 12);
    }
  }

  /** Renews now (for `ttlMs`, the lease's own TTL by default). */
  async extend(ttlMs = this.#ttlMs) {
    if (this.#ended) throw new StateError(this.#lostCode, 'the lease was released');
    if (this.signal.aborted) throw this.signal.reason;
    const startedAt = monotonic();
    let expiresAt;
    const call = this.#extend(ttlMs);
    this.#inFlight = call;
    try {
      expiresAt = await call;
    } catch (error) {
      // Stryker disable next-line OptionalChaining: the core rejects with StateErrors only
      if (error?.code === this.#lostCode) this.lose(error.message);
      throw error;
    } finally {
      if (this.#inFlight === call) this.#inFlight = null;
    }
    // A renewal that answered after the give-up does not revive the signal.
    if (this.signal.aborted || this.#ended) return expiresAt;
    this.expiresAt = expiresAt;
    this.#lastError = null;
    this.#ttlMs = ttlMs;
    this.#deadline = startedAt + ttlMs;
    this.#plan();
    return this.expiresAt;
  }

  /** Stops renewing and resolves once no renewal is on its way to the
   *  store: a release or completion after it cannot be overtaken by a
   *  renewal's write (which, on a store without compare-and-set, would
   *  bring the record back). */
  async end() {
    this.#ended = true;
    this.#stop();
    while (this.#inFlight) await this.#inFlight.catch(() => {});
  }
}

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
  const ttlMs = positive('options.ttlMs', o.ttlMs, DEFAULT_TTL_MS);
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
    // released lock is taken within MAX_PAUSE_MS.
    await pause(Math.min(left, step / 2 + Math.random() * step), signal);
    step = Math.min(step * 2, MAX_PAUSE_MS);
  }
}

/** withLock on leases: renews by default and hands `fn` the signal. */
export async function withLease(state, lockName, kv, fn, options) {
  const o = checkOptions('options', options, ['ttlMs', 'timeoutMinutes', 'waitMs', 'renew', 'signal']);
  if (typeof fn !== 'function') throw invalid('fn', 'must be a function');
  const minutes = positive('options.timeoutMinutes', o.timeoutMinutes, 15, MAX_MS / MINUTE);
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

/**
 * A won claim with renewal: the claim result plus `signal` (aborts with a
 * CLAIM_NOT_HELD StateError once the claim is known lost), `extend(ttlMs?)`,
 * `complete(metadata?)`, `release()` and `[Symbol.asyncDispose]` (releases
 * unless completed).
 */
export function claimLease(fileName, result, { ttlMs, renew, startedAt, complete, release, extendClaim }) {
  const renewal = new Renewal({
    lostCode: 'CLAIM_NOT_HELD',
    ttlMs,
    renew,
    startedAt,
    expiresAt: result.expiresAt,
    extend: (ms) => extendClaim(fileName, { ttlMs: ms, claimId: result.claimId }),
  });
  let done = false;
  // The claim's expiry as last renewed, in the background or by extend().
  Object.defineProperty(result, 'expiresAt', { get: () => renewal.expiresAt, enumerable: true, configurable: true });
  return Object.assign(result, {
    get signal() {
      return renewal.signal;
    },
    // Stryker disable next-line ConditionalExpression: positive() gives its fallback (undefined) for undefined, the same
    extend: async (ms) => renewal.extend(ms === undefined ? undefined : positive('ttlMs', ms, undefined)),
    async complete(metadata) {
      await renewal.end();
      await complete(fileName, metadata, result.claimId);
      // Stryker disable next-line BooleanLiteral: releasing a completed claim is a no-op in the core (false, nothing written)
      done = true;
    },
    async release() {
      await renewal.end();
      // Stryker disable next-line BooleanLiteral: releasing a released claim is a no-op in the core (false, nothing written)
      done = true;
      return release(fileName, result.claimId);
    },
    async [asyncDispose]() {
      await renewal.end();
      // Stryker disable next-line ConditionalExpression: releasing a completed or released claim is a no-op in the core
      if (!done) {
        // Stryker disable next-line BooleanLiteral: a second dispose releases a released claim: a no-op
        done = true;
        await release(fileName, result.claimId);
      }
    },
  });
}

/** `tracker.claim(name, { ttlMs, renew })` with a lease on a won claim. */
export async function claimWithLease(claim, fileName, options, methods) {
  const plain = options !== null && typeof options === 'object';
  // Anything but an options object goes to the core as it is (and is refused there).
  const { renew: renewOption, ...core } = plain ? plainCopy('options', options) : {};
  const renew = checkBoolean('options.renew', renewOption, true);
  const startedAt = monotonic();
  // The core checks the name, ttlMs and any other option.
  const result = await claim(fileName, plain ? core : options);
  const ttlMs = core.ttlMs ?? DEFAULT_TTL_MS;
  if (!result.claimed) {
    // Nothing to give back, but `await using` takes any claim result.
    Object.defineProperty(result, asyncDispose, { value: async () => {} });
    return result;
  }
  return claimLease(fileName, result, { ttlMs, renew, startedAt, ...methods });
}
