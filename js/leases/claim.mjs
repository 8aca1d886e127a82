// A won claim with a lease: renewed like a lock, with complete, release
// and Symbol.asyncDispose.
import { asyncDispose, checkBoolean, plainCopy, positive, rules } from './options.mjs';
import { Renewal } from './renewal.mjs';
import { monotonic } from './timers.mjs';

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
  const ttlMs = core.ttlMs ?? rules().defaultTtlMs;
  if (!result.claimed) {
    // Nothing to give back, but `await using` takes any claim result.
    Object.defineProperty(result, asyncDispose, { value: async () => {} });
    return result;
  }
  return claimLease(fileName, result, { ttlMs, renew, startedAt, ...methods });
}
