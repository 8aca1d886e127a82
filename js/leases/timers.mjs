// Timers that never keep a process alive, pauses a signal can cut short,
// and the monotonic clock leases measure with.

/** A timer that never keeps a Node or Deno process alive. */
export function background(fn, ms) {
  const id = setTimeout(fn, Math.max(0, ms));
  // Stryker disable next-line ConditionalExpression,OptionalChaining: Node's timer objects always have unref()
  if (typeof id === 'object') id?.unref?.();
  // Stryker disable next-line OptionalChaining: Deno's branch; it runs in the Deno tests, not under Node
  else globalThis.Deno?.unrefTimer?.(id);
  return id;
}

/** Waits `ms`, or rejects with `signal.reason` when it aborts first. */
export function pause(ms, signal) {
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
export function untilAborted(promise, signal, late) {
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
export const monotonic = () => globalThis.performance?.now() ?? Date.now();
