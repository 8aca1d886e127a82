// The leases' options, checked as the core checks its own (names, types,
// did-you-mean hints), and their defaults and limits.
import { StateError } from '../core/errors.mjs';
import { __checkOptions, __limits } from '../../pkg/connector_state.js';

export const MINUTE = 60_000;
let limits;
/** The core's default lifetime and cap (`defaultTtlMs`, `maxMs`), read on
 *  first use: the wasm module is initialised by then. */
export const rules = () => (limits ??= __limits());
/** Longest pause between two tries of a waiting lock(). */
export const MAX_PAUSE_MS = 200;
// Stryker disable next-line StringLiteral: the fallback name matters only where Symbol.asyncDispose is missing (Node 20 and Deno have it)
export const asyncDispose = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose');

export const invalid = (argument, problem) => new StateError('INVALID_ARGUMENT', `${argument} ${problem}`);

/** Refuses options other than `known`, naming the one to use. */
export function checkOptions(argument, options, known) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw invalid(argument, 'must be an object');
  const copy = plainCopy(argument, options);
  // The core's check: one rule (and one did-you-mean) for every option.
  __checkOptions(argument, copy, known);
  return copy;
}

/** A plain copy of an options object's own enumerable fields, read once:
 *  a Proxy or getter that throws is INVALID_ARGUMENT, never a TypeError. */
export function plainCopy(argument, options) {
  try {
    const copy = {};
    for (const key of Object.keys(options)) copy[key] = options[key];
    return copy;
  } catch (error) {
    throw invalid(argument, `could not be read (${error?.message ?? error}): pass a plain object`);
  }
}

export function positive(argument, value, fallback, max = rules().maxMs) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid(argument, 'must be a positive number');
  if (value < 1 && argument.endsWith('ttlMs')) throw invalid(argument, 'must be at least 1 millisecond; a shorter lifetime expires before it is written');
  if (value > max) throw invalid(argument, `must be at most ${max}`);
  return value;
}

export function checkSignal(argument, signal) {
  if (signal === undefined) return undefined;
  if (typeof signal?.aborted !== 'boolean' || typeof signal?.addEventListener !== 'function') throw invalid(argument, 'must be an AbortSignal');
  return signal;
}

export function checkBoolean(argument, value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(argument, 'must be true or false');
  return value;
}
