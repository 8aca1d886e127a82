// Deno KV's interface, once, for every store of this package that has it:
// the embedded store (js/memory.mjs) and the PostgreSQL and Redis stores
// (js/postgres.mjs, js/redis.mjs). This front checks every argument and
// limit with Deno KV's errors (TypeErrors, as Deno throws them), keeps
// listing cursors in Deno's form (base64url of the key bytes after the
// selector's common prefix), and hands a backend checked work:
//
//   get(keys)                  → [{ value, versionstamp } | null]  (JS keys)
//   commit(checks, mutations)  → { ok, versionstamp? }  (JS keys and values)
//   scan(start, startInclusive, end, limit, reverse)
//                              → [{ bytes, key, value, versionstamp }]
//   close()
//
// Keys are Deno KV keys (string, number, bigint, boolean and Uint8Array
// parts, in Deno's order) encoded by the wasm module's codec, whose byte
// order is Deno KV's key order; values are what Deno KV stores
// (structured-clone values) and come back as themselves.
import { __kvEncodeKey, __registerKvU64Class } from '../pkg/connector_state.js';
import { StateError } from './errors.mjs';

const U64_END = 1n << 64n;

/** A 64-bit unsigned integer, the values `sum`, `min` and `max` work on
 *  (Deno's `Deno.KvU64`, for runtimes that lack it). */
class PackageKvU64 {
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
let registered = false;

/** Registers KvU64 with the wasm module (after it is initialised). */
export function registerKvU64() {
  if (!registered) {
    __registerKvU64Class(KvU64);
    registered = true;
  }
}

/** A namespace of the server stores: letters, digits and `_ . : -`, so it
 *  can be used in a Redis hash tag and a SQL literal without escaping. */
export function checkNamespace(namespace) {
  if (namespace === undefined) return 'default';
  if (typeof namespace !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(namespace)) {
    throw new StateError('INVALID_ARGUMENT', `namespace must be 1 to 128 letters, digits, '_', '.', ':' or '-': got ${JSON.stringify(String(namespace)).slice(0, 80)}`);
  }
  return namespace;
}

/** Options of the server stores: only the names given are allowed. */
export function checkStoreOptions(options, allowed, what) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new StateError('INVALID_ARGUMENT', `${what} options must be an object`);
  for (const name of Object.keys(options)) {
    if (!allowed.includes(name)) throw new StateError('INVALID_ARGUMENT', `${what} has no option ${JSON.stringify(name)}: the options are ${allowed.join(', ')}`);
  }
  return options;
}

/** A connection URL with its password (and any token in the query) hidden. */
export function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|token|key/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    // Not a URL: hide everything up to the last '@' (a password may hold '/', '#' or '?').
    const text = String(url);
    return text.includes('@') ? text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, (_, scheme) => `${scheme ?? ''}***@`) : text.replace(/\?.*$/s, '');
  }
}

/** The store failure a driver error becomes: STORE_UNAVAILABLE, with the
 *  driver's message, never a connection string. */
export function unavailable(what, error, extra = '') {
  const message = String(error?.message ?? error).replace(/[a-z][a-z0-9+.-]*:\/\/\S*@/gi, (m) => m.replace(/\/\/.*@/, '//***@'));
  const wrapped = new StateError('STORE_UNAVAILABLE', `${what}: ${message}${extra}`);
  if (error?.code) wrapped.driverCode = error.code;
  return wrapped;
}

/**
 * What a listing of a server store yields for a row whose value cannot be
 * decoded (written by something else, or damaged): the other rows still
 * list, and this entry names its key and the problem. Reading it by key
 * rejects with CORRUPT_STATE naming the key.
 */
export class UnreadableValue {
  constructor(key, problem) {
    this.key = key;
    this.problem = problem;
    Object.freeze(this);
  }

  toString() {
    return `unreadable value at ${keyText(this.key)}: ${this.problem}`;
  }
}

/** A key as text for messages (bigints and bytes included). */
export function keyText(key) {
  try {
    return `[${key.map((p) => (typeof p === 'string' ? JSON.stringify(p) : typeof p === 'bigint' ? `${p}n` : p instanceof Uint8Array ? `<${p.length} bytes>` : String(p))).join(', ')}]`;
  } catch {
    return '(a key)';
  }
}

/** The value stored as `bytes` under `key`: for a listing (`listed`), an
 *  UnreadableValue when it cannot be decoded; for a read, CORRUPT_STATE. */
export function decodeStored(decode, bytes, key, listed) {
  try {
    return decode(bytes);
  } catch (error) {
    const problem = String(error?.message ?? error);
    if (listed) return new UnreadableValue(key, problem);
    throw new StateError('CORRUPT_STATE', `the value at ${keyText(key)} cannot be read (${problem}); inspect it, or delete it`);
  }
}

/** Deno's message for sum / min / max on a value that is not a KvU64. */
export function notU64(op) {
  return `Failed to perform '${op}' mutation on a non-U64 value in the database`;
}

const U64_MARK = 0x75; // 'u', then 16 hex digits: a stored KvU64

/** The stored form of `op` (sum, min, max) of `operand` (a bigint) on the
 *  stored value `current` (bytes, or null when absent); undefined when
 *  `current` is not a KvU64. The server stores' arithmetic, as the
 *  embedded engine's. */
export function u64Apply(op, current, operand) {
  let next = operand;
  if (current !== null && current !== undefined) {
    if (current[0] !== U64_MARK || current.length !== 17) return undefined;
    const n = BigInt(`0x${new TextDecoder().decode(current.subarray(1))}`);
    next = op === 'sum' ? (n + operand) % U64_END : op === 'min' ? (n < operand ? n : operand) : n > operand ? n : operand;
  }
  return new TextEncoder().encode(`u${next.toString(16).padStart(16, '0')}`);
}

/** The key's Deno KV bytes, checked for 'read', 'write' or 'list'. */
export function encodeKey(key, purpose) {
  return __kvEncodeKey(key, purpose);
}

/** Deno KV's limits. */
const MAX_VALUE_BYTES = 65_536;
const MAX_GET_MANY = 10;
const MAX_CHECKS = 100;
const MAX_MUTATIONS = 1_000;
const MAX_BATCH = 1_000;
const MAX_TOTAL_MUTATION_BYTES = 819_200;
const MAX_TOTAL_KEY_BYTES = 81_920;
const DEFAULT_BATCH = 500;

/**
 * How many bytes a value takes as Deno KV measures it (V8's serialization).
 * The Node and Deno entries install `v8.serialize`; elsewhere (browsers) an
 * estimate by the same rules is used.
 */
let measure = estimateSize;

/** Installs the function that measures a value (`v8.serialize(v).length`). */
export function setValueMeasure(fn) {
  measure = fn;
}

/** V8's serialized size, estimated: strings of Latin-1 take a byte per
 *  character, others two; numbers 9; containers their items plus a few. */
function estimateSize(value, seen = new Set()) {
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
    if (v instanceof Map) for (const [k, x] of v) total += inner(k) + inner(x);
    else if (v instanceof Set) for (const x of v) total += inner(x);
    else for (const k of Object.keys(v)) total += inner(k) + inner(v[k]);
    return total;
  };
  return 2 + inner(value);
}

function valueSize(value) {
  let size;
  try {
    size = measure(value);
  } catch (e) {
    throw new TypeError(`value cannot be stored: ${e?.message ?? e}`);
  }
  if (size > MAX_VALUE_BYTES) throw new TypeError(`Value too large (max ${MAX_VALUE_BYTES} bytes)`);
  return size;
}

function isKey(key) {
  return Array.isArray(key);
}

function checkKeyShape(key) {
  if (!isKey(key)) throw new TypeError('Key must be an array');
}

/** What Deno KV throws once closed (Deno.errors.BadResource). */
export function closedError() {
  const error = new Error('Bad resource ID: the store is closed');
  error.name = 'BadResource';
  return error;
}

// ---- bytes ----

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function startsWith(bytes, prefix) {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function commonPrefix(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

function toBase64Url(bytes) {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError('invalid cursor');
  let binary;
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  } catch {
    throw new TypeError('invalid cursor');
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function checkConsistency(options) {
  if (options?.consistency !== undefined && options.consistency !== 'strong' && options.consistency !== 'eventual') {
    throw new TypeError(`unknown variant \`${String(options.consistency)}\`, expected \`strong\` or \`eventual\``);
  }
}

function checkOptions(options, what) {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new TypeError(`${what} must be an object`);
}

function checkExpireIn(options) {
  const expireIn = options?.expireIn;
  if (expireIn !== undefined && !(Number.isSafeInteger(expireIn) && expireIn >= 0)) {
    throw new TypeError(`expireIn must be a non-negative integer: received ${String(expireIn)}`);
  }
  return expireIn;
}

/**
 * A store with Deno KV's interface over `backend` (see the top of this
 * file). Subclasses: MemoryKv, and the PostgreSQL and Redis stores.
 */
export class KvFront {
  #backend;
  #closed = false;

  constructor(backend) {
    registerKvU64();
    this.#backend = backend;
  }

  #open() {
    if (this.#closed) throw closedError();
    return this.#backend;
  }

  /** Whether close() was called. */
  get closed() {
    return this.#closed;
  }

  async get(key, options) {
    const backend = this.#open();
    checkOptions(options, 'options');
    checkConsistency(options);
    checkKeyShape(key);
    const [found] = await backend.get([key]);
    return entryOf(key, found);
  }

  async getMany(keys, options) {
    const backend = this.#open();
    checkOptions(options, 'options');
    checkConsistency(options);
    if (!Array.isArray(keys)) throw new TypeError('keys must be an array of keys');
    if (keys.length > MAX_GET_MANY) throw new TypeError(`Too many ranges (max ${MAX_GET_MANY})`);
    for (const key of keys) checkKeyShape(key);
    if (keys.length === 0) return [];
    const found = await backend.get(keys);
    return keys.map((key, i) => entryOf(key, found[i]));
  }

  async set(key, value, options) {
    this.#open();
    checkOptions(options, 'options');
    return this.atomic().set(key, value, options).commit();
  }

  async delete(key) {
    this.#open();
    await this.atomic().delete(key).commit();
  }

  list(selector, options = {}) {
    const backend = this.#open();
    checkOptions(options, 'options');
    return new KvListIterator(backend, () => this.#closed, selector, options ?? {});
  }

  /** As Deno's client: after close() an atomic operation is still made
   *  (and built); its commit() rejects. */
  atomic() {
    return new KvAtomicOperation(this.#backend, () => this.#closed);
  }

  /** Closes the store: every later call rejects, as Deno KV's do. Returns
   *  what the backend's close returns (a Promise for the server stores). */
  close() {
    if (this.#closed) return undefined;
    this.#closed = true;
    return this.#backend.close?.();
  }

  /** `await using kv = await openKv(…)` closes the store at the end of the block. */
  async [Symbol.asyncDispose]() {
    await this.close();
  }
}

/**
 * The PostgreSQL and Redis stores: a KvFront that names its kind (for
 * describeStore) and shows where it is connected without credentials
 * (inspect, JSON).
 */
export class ServerKvFront extends KvFront {
  #kind;
  #description;

  constructor(backend, kind, description) {
    super(backend);
    this.#kind = kind;
    this.#description = description;
  }

  /** Lets describeStore name this kind. */
  get __connectorStateKind() {
    return this.#kind;
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `${this.constructor.name} ${JSON.stringify(this.#description)}`;
  }

  toJSON() {
    return { kind: this.#kind, ...this.#description };
  }
}

function entryOf(key, found) {
  return found ? { key, value: found.value, versionstamp: found.versionstamp } : { key, value: null, versionstamp: null };
}

class KvAtomicOperation {
  #backend;
  #isClosed;
  #checks = [];
  #mutations = [];

  constructor(backend, isClosed) {
    this.#backend = backend;
    this.#isClosed = isClosed;
  }

  check(...checks) {
    for (const c of checks) {
      if (c === null || typeof c !== 'object') throw new TypeError('a check must be { key, versionstamp }');
      checkKeyShape(c.key);
      const v = c.versionstamp;
      if (!(v === null || (typeof v === 'string' && /^[0-9a-f]{20}$/i.test(v)))) {
        throw new TypeError('Invalid check: a versionstamp is null or 20 hex digits');
      }
      this.#checks.push({ key: c.key, versionstamp: v });
    }
    return this;
  }

  mutate(...mutations) {
    for (const m of mutations) {
      if (m === null || typeof m !== 'object') throw new TypeError('a mutation must be { type, key, value? }');
      checkKeyShape(m.key);
      switch (m.type) {
        case 'set':
          if (!('value' in m)) throw new TypeError("Invalid mutation 'set' without value");
          this.#mutations.push({ type: 'set', key: m.key, value: m.value, expireIn: checkExpireIn(m) });
          break;
        case 'delete':
          if ('value' in m) throw new TypeError("Invalid mutation 'delete' with value");
          this.#mutations.push({ type: 'delete', key: m.key });
          break;
        case 'sum':
        case 'min':
        case 'max':
          if (!(m.value instanceof KvU64)) {
            // Deno's own words, which differ between sum and min / max.
            const kind = m.value === null ? 'Null' : m.value === undefined ? 'Undefined' : (m.value.constructor?.name ?? typeof m.value);
            throw new TypeError(m.type === 'sum' ? `Cannot sum KvU64 with ${kind}` : `Failed to perform '${m.type}' mutation on a non-U64 operand`);
          }
          this.#mutations.push({ type: m.type, key: m.key, value: m.value });
          break;
        default:
          throw new TypeError('Invalid mutation type');
      }
    }
    return this;
  }

  set(key, value, options) {
    checkOptions(options, 'options');
    return this.mutate({ type: 'set', key, value, expireIn: options?.expireIn });
  }

  delete(key) {
    return this.mutate({ type: 'delete', key });
  }

  /** Adds the bigint `n` to the `KvU64` at `key` (wrapping at 2^64). */
  sum(key, n) {
    return this.mutate({ type: 'sum', key, value: new KvU64(n) });
  }

  min(key, n) {
    return this.mutate({ type: 'min', key, value: new KvU64(n) });
  }

  max(key, n) {
    return this.mutate({ type: 'max', key, value: new KvU64(n) });
  }

  async commit() {
    if (this.#isClosed()) throw closedError();
    if (this.#checks.length > MAX_CHECKS) throw new TypeError(`Too many checks (max ${MAX_CHECKS})`);
    if (this.#mutations.length > MAX_MUTATIONS) throw new TypeError(`Too many mutations (max ${MAX_MUTATIONS})`);
    // Every key is at most 2,049 bytes and every value 65,536 (both checked
    // one by one): the totals can only be exceeded by larger commits, so
    // only those are measured key by key.
    const keys = this.#checks.length + this.#mutations.length;
    const measureKeys = keys * 2049 > MAX_TOTAL_KEY_BYTES || this.#mutations.length * (2049 + MAX_VALUE_BYTES) > MAX_TOTAL_MUTATION_BYTES;
    let keyBytes = 0;
    let mutationBytes = 0;
    if (measureKeys) for (const c of this.#checks) keyBytes += encodeKey(c.key, 'read').length;
    for (const m of this.#mutations) {
      const size = measureKeys ? encodeKey(m.key, 'write').length : 0;
      keyBytes += size;
      mutationBytes += size + (m.type === 'set' ? valueSize(m.value) : 0);
    }
    if (keyBytes > MAX_TOTAL_KEY_BYTES) throw new TypeError(`Total key size too large (max ${MAX_TOTAL_KEY_BYTES} bytes)`);
    if (mutationBytes > MAX_TOTAL_MUTATION_BYTES) throw new TypeError(`Total mutation size too large (max ${MAX_TOTAL_MUTATION_BYTES} bytes)`);
    return this.#backend.commit(this.#checks, this.#mutations);
  }
}

class KvListIterator {
  #backend;
  #isClosed;
  #start;
  #startInclusive;
  #end;
  #base;
  #reverse;
  #remaining;
  #batch;
  #buffer = [];
  #exhausted = false;
  #last = null;

  constructor(backend, isClosed, selector, options) {
    this.#backend = backend;
    this.#isClosed = isClosed;
    if (selector === null || typeof selector !== 'object') throw new TypeError('selector must be an object');
    const { prefix, start, end } = selector;
    const has = (k) => selector[k] !== undefined;
    const { limit, cursor, batchSize } = options;
    // Deno reverses only on `true` (not on any truthy value).
    const reverse = options.reverse === true;
    checkConsistency(options);
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1)) {
      // Deno throws a plain Error here.
      throw new Error(`Limit must be a positive integer: received ${String(limit)}`);
    }
    if (batchSize !== undefined) {
      if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) throw new TypeError(`batchSize must be a positive integer: received ${String(batchSize)}`);
      if (batchSize > MAX_BATCH) throw new TypeError(`Too many entries (max ${MAX_BATCH})`);
    }
    const encode = (key, what) => {
      if (!isKey(key)) throw new TypeError(`${what} must be an array`);
      return encodeKey(key, 'list');
    };
    if (has('prefix')) {
      if (has('start') && has('end')) throw new TypeError("Selector can not specify both 'start' and 'end' key when specifying 'prefix'");
      const p = encode(prefix, 'prefix');
      this.#base = p;
      this.#start = p;
      this.#startInclusive = false;
      this.#end = concat(p, Uint8Array.of(0xff));
      if (has('start')) {
        const s = encode(start, 'start');
        if (!startsWith(s, p) || s.length === p.length) throw new TypeError('Start key is not in the keyspace defined by prefix');
        this.#start = s;
        this.#startInclusive = true;
      }
      if (has('end')) {
        const e = encode(end, 'end');
        if (!startsWith(e, p) || e.length === p.length) throw new TypeError('End key is not in the keyspace defined by prefix');
        this.#end = e;
      }
    } else if (has('start') && has('end')) {
      const s = encode(start, 'start');
      const e = encode(end, 'end');
      if (compareBytes(s, e) > 0) throw new TypeError('Start key is greater than end key');
      this.#start = s;
      this.#startInclusive = true;
      this.#end = e;
      this.#base = commonPrefix(s, e);
    } else {
      throw new TypeError("Selector must specify either 'prefix' or both 'start' and 'end' key");
    }
    if (cursor !== undefined && cursor !== null) {
      const at = concat(this.#base, fromBase64Url(cursor));
      if (compareBytes(at, this.#start) < 0 || compareBytes(at, this.#end) >= 0) throw new TypeError('invalid cursor');
      if (reverse) this.#end = at;
      else {
        this.#start = at;
        this.#startInclusive = false;
      }
    }
    this.#reverse = reverse;
    this.#remaining = limit ?? Infinity;
    this.#batch = Math.min(batchSize ?? Math.min(limit ?? DEFAULT_BATCH, DEFAULT_BATCH), MAX_BATCH);
  }

  /** Where the listing stands: pass as `cursor` to go on after the last entry returned. */
  get cursor() {
    if (this.#last === null) throw new Error('Cannot get cursor before first iteration');
    return toBase64Url(this.#last.slice(this.#base.length));
  }

  async next() {
    if (this.#isClosed()) throw closedError();
    if (this.#remaining <= 0) return { done: true, value: undefined };
    if (this.#buffer.length === 0 && !this.#exhausted) {
      const want = Math.min(this.#batch, this.#remaining);
      const page = await this.#backend.scan(this.#start, this.#startInclusive, this.#end, want, this.#reverse);
      if (page.length < want) this.#exhausted = true;
      if (page.length > 0) {
        const lastBytes = page[page.length - 1].bytes;
        if (this.#reverse) this.#end = lastBytes;
        else {
          this.#start = lastBytes;
          this.#startInclusive = false;
        }
      }
      this.#buffer = page;
    }
    const entry = this.#buffer.shift();
    if (!entry) return { done: true, value: undefined };
    this.#remaining -= 1;
    this.#last = entry.bytes;
    return { done: false, value: { key: entry.key, value: entry.value, versionstamp: entry.versionstamp } };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
