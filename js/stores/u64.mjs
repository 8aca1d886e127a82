// KvU64: Deno's 64-bit unsigned integers (sum, min, max), the package's own
// where the runtime lacks Deno.KvU64, and the server stores' arithmetic on
// their stored form.
import { __registerKvU64Class } from '../../pkg/connector_state.js';

export const U64_END = 1n << 64n;

/** A 64-bit unsigned integer, the values `sum`, `min` and `max` work on
 *  (Deno's `Deno.KvU64`, for runtimes that lack it). */
export class PackageKvU64 {
  constructor(value) {
    if (typeof value !== 'bigint') throw new TypeError('Value must be a bigint');
    if (value < 0n) throw new RangeError('Value must be a positive bigint');
    if (value >= U64_END) throw new RangeError('Value must fit in a 64-bit unsigned integer');
    /** The number (a bigint). */
    Object.defineProperty(this, 'value', { value, enumerable: true });
    Object.freeze(this);
  }

  valueOf() {
    return this.value;
  }

  toString() {
    return String(this.value);
  }

  get [Symbol.toStringTag]() {
    return 'Deno.KvU64';
  }
}

/** `Deno.KvU64` where the runtime has it (Deno), else the package's own. */
export const KvU64 = globalThis.Deno?.KvU64 ?? PackageKvU64;
export let registered = false;

/** Registers KvU64 with the wasm module (after it is initialised). */
export function registerKvU64() {
  // Stryker disable ConditionalExpression,BooleanLiteral: registering the same class again is harmless; the flag only saves the call
  if (!registered) {
    __registerKvU64Class(KvU64);
    registered = true;
  }
  // Stryker restore ConditionalExpression,BooleanLiteral
}

/** Deno's message for sum / min / max on a value that is not a KvU64. */
export function notU64(op) {
  return `Failed to perform '${op}' mutation on a non-U64 value in the database`;
}
