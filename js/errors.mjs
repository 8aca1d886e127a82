/**
 * Every error this package throws or rejects with. Branch on `code`, which
 * is stable; the message says what to do and may change.
 */
export class StateError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'StateError';
    this.code = code;
  }
}
