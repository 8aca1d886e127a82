// Deno KV's limits and argument checks, as Deno throws them (TypeErrors),
// and the byte helpers of keys and listing cursors.
import { __kvEncodeKey } from '../../pkg/connector_state.js';

/** Deno KV's limits. */
export const MAX_VALUE_BYTES = 65_536;
export const MAX_GET_MANY = 10;
export const MAX_CHECKS = 100;
export const MAX_MUTATIONS = 1_000;
export const MAX_BATCH = 1_000;
export const MAX_TOTAL_MUTATION_BYTES = 819_200;
export const MAX_TOTAL_KEY_BYTES = 81_920;
export const DEFAULT_BATCH = 500;

/**
 * How many bytes a value takes as Deno KV measures it (V8's serialization).
 * The Node and Deno entries install `v8.serialize`; elsewhere (browsers) an
 * estimate by the same rules is used.
 */
export let measure = estimateSize;

/** Installs the function that measures a value (`v8.serialize(v).length`). */
export function setValueMeasure(fn) {
  measure = fn;
}

/** V8's serialized size, estimated: strings of Latin-1 take a byte per
 *  character, others two; numbers 9; containers their items plus a few. */
export function estimateSize(value, seen = new Set()) {
  const inner = (v) => {
    if (v === null || v === undefined || typeof v === 'boolean') return 1;
    if (typeof v === 'number') return 9;
    if (typeof v === 'bigint') return 3 + Math.ceil(v.toString(16).length / 2);
    if (typeof v === 'string') return 4 + (/^[\u0000-\u00ff]*$/.test(v) ? v.length : 2 * v.length);
    if (typeof v !== 'object' || seen.has(v)) return 4;
    seen.add(v);
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return 8 + v.byteLength;
    if (v instanceof Date) return 9;
    if (v instanceof RegExp) return 6 + inner(v.source);
    let total = 6;
    if (v instanceof Map) { for (const [k, x] of v) total += inner(k) + inner(x); }
    else if (v instanceof Set) { for (const x of v) total += inner(x); }
    else for (const k of Object.keys(v)) total += inner(k) + inner(v[k]);
    return total;
  };
  return 2 + inner(value);
}

export function valueSize(value) {
  let size;
  try {
    size = measure(value);
  } catch (e) {
    throw new TypeError(`value cannot be stored: ${e?.message ?? e}`);
  }
  if (size > MAX_VALUE_BYTES) throw new TypeError(`Value too large (max ${MAX_VALUE_BYTES} bytes)`);
  return size;
}

export function isKey(key) {
  return Array.isArray(key);
}

export function checkKeyShape(key) {
  if (!isKey(key)) throw new TypeError('Key must be an array');
}

/** What Deno KV throws once closed (Deno.errors.BadResource). */
export function closedError() {
  const error = new Error('Bad resource ID: the store is closed');
  error.name = 'BadResource';
  return error;
}

// ---- bytes ----

export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function startsWith(bytes, prefix) {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

export function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function commonPrefix(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

export function toBase64Url(bytes) {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError('invalid cursor');
  let binary;
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  } catch {
    throw new TypeError('invalid cursor');
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function checkConsistency(options) {
  if (options?.consistency !== undefined && options.consistency !== 'strong' && options.consistency !== 'eventual') {
    throw new TypeError(`unknown variant \`${String(options.consistency)}\`, expected \`strong\` or \`eventual\``);
  }
}

export function checkOptions(options, what) {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new TypeError(`${what} must be an object`);
}

export function checkExpireIn(options) {
  const expireIn = options?.expireIn;
  if (expireIn !== undefined && !(Number.isSafeInteger(expireIn) && expireIn >= 0)) {
    throw new TypeError(`expireIn must be a non-negative integer: received ${String(expireIn)}`);
  }
  return expireIn;
}

export function entryOf(key, found) {
  return found ? { key, value: found.value, versionstamp: found.versionstamp } : { key, value: null, versionstamp: null };
}

/** The key's Deno KV bytes, checked for 'read', 'write' or 'list'. */
export function encodeKey(key, purpose) {
  return __kvEncodeKey(key, purpose);
}
