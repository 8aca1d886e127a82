/**
 * Every error this package throws or rejects with. Branch on `code`, which
 * is stable; the message says what to do and may change. `cause` is what
 * the store or driver threw, when one did; `retryable` says whether the same
 * call may succeed later.
 */
export class StateError extends Error {
  constructor(code, message, options) {
    const cause = options?.cause;
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StateError';
    this.code = code;
    this.retryable = typeof options?.retryable === 'boolean' ? options.retryable : RETRYABLE.has(code);
  }

  /** `JSON.stringify(error)` keeps what a log needs: name, code, message,
   *  retryable, and the cause's name, code and message. */
  toJSON() {
    const out = { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
    if (this.cause !== undefined) out.cause = describeCause(this.cause);
    return out;
  }
}

/** Codes where the same call, made again later, may succeed. */
const RETRYABLE = new Set(['STORE_UNAVAILABLE', 'CONFLICT', 'LOCK_HELD']);

function describeCause(cause) {
  try {
    if (cause instanceof StateError) return cause.toJSON();
    if (cause instanceof Error) {
      const out = { name: String(cause.name), message: String(cause.message) };
      if (cause.code !== undefined) out.code = String(cause.code);
      return out;
    }
    return JSON.parse(JSON.stringify(cause) ?? 'null');
  } catch {
    return '(a value that cannot be shown)';
  }
}
