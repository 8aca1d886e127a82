// What keeps a lease or claim alive: a renewal every third of the TTL, a
// give-up timer a sixth of the TTL before expiry, and the signal that
// aborts when the lease is known lost.
import { StateError } from '../core/errors.mjs';
import { background, monotonic } from './timers.mjs';

/**
 * What a lease renews and ends: `extend(ttlMs)` → new expiresAt (ISO),
 * rejecting LOCK_NOT_HELD / CLAIM_NOT_HELD when lost; `end()` → boolean.
 */
export class Renewal {
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
