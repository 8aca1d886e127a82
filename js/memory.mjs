// The embedded store: Deno KV's interface over the Rust engine in the wasm
// module. Keys are Deno KV keys (string, number, bigint, boolean and
// Uint8Array parts, in Deno's order); values are what Deno KV stores
// (structured-clone values) and come back as themselves. Arguments are
// checked here and in the engine, and rejected with the TypeErrors Deno KV
// throws: no input reaches the module unchecked.
import { EmbeddedEngine, __registerKvU64Class } from '../pkg/connector_state.js';

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
function closedError() {
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

export class MemoryKv {
  #engine = MemoryKv.#makeEngine();

  static #makeEngine() {
    // After the module is initialised (the entry points do that first).
    if (!registered) {
      __registerKvU64Class(KvU64);
      registered = true;
    }
    return new EmbeddedEngine();
  }

  #closed = false;

  /** Lets this package's classes call the engine directly. */
  get __connectorStateMemoryId() {
    return this.#closed ? undefined : this.#engine.id;
  }

  #open() {
    if (this.#closed) throw closedError();
    return this.#engine;
  }

  async get(key, options) {
    const engine = this.#open();
    checkOptions(options, 'options');
    checkConsistency(options);
    checkKeyShape(key);
    return engine.get(key);
  }

  async getMany(keys, options) {
    const engine = this.#open();
    checkOptions(options, 'options');
    checkConsistency(options);
    if (!Array.isArray(keys)) throw new TypeError('keys must be an array of keys');
    if (keys.length > MAX_GET_MANY) throw new TypeError(`Too many ranges (max ${MAX_GET_MANY})`);
    for (const key of keys) checkKeyShape(key);
    return keys.map((key) => engine.get(key));
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
    const engine = this.#open();
    checkOptions(options, 'options');
    return new MemoryListIterator(engine, () => this.#closed, selector, options ?? {});
  }

  atomic() {
    this.#open();
    return new MemoryAtomicOperation(this.#engine, () => this.#closed);
  }

  /** Number of live entries (expired ones are dropped first). */
  get size() {
    return this.#open().size();
  }

  /** Closes the store: every later call rejects, as Deno KV's do. */
  close() {
    this.#closed = true;
  }
}

class MemoryAtomicOperation {
  #engine;
  #isClosed;
  #checks = [];
  #mutations = [];

  constructor(engine, isClosed) {
    this.#engine = engine;
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
    if (measureKeys) for (const c of this.#checks) keyBytes += this.#engine.encodeKey(c.key, 'read').length;
    for (const m of this.#mutations) {
      const size = measureKeys ? this.#engine.encodeKey(m.key, 'write').length : 0;
      keyBytes += size;
      mutationBytes += size + (m.type === 'set' ? valueSize(m.value) : 0);
    }
    if (keyBytes > MAX_TOTAL_KEY_BYTES) throw new TypeError(`Total key size too large (max ${MAX_TOTAL_KEY_BYTES} bytes)`);
    if (mutationBytes > MAX_TOTAL_MUTATION_BYTES) throw new TypeError(`Total mutation size too large (max ${MAX_TOTAL_MUTATION_BYTES} bytes)`);
    return this.#engine.commit(this.#checks, this.#mutations);
  }
}

class MemoryListIterator {
  #engine;
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

  constructor(engine, isClosed, selector, options) {
    this.#engine = engine;
    this.#isClosed = isClosed;
    if (selector === null || typeof selector !== 'object') throw new TypeError('selector must be an object');
    const { prefix, start, end } = selector;
    const has = (k) => selector[k] !== undefined;
    const { limit, cursor, batchSize } = options;
    const reverse = Boolean(options.reverse);
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
      return engine.encodeKey(key, 'list');
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
      const page = this.#engine.scan(this.#start, this.#startInclusive, this.#end, want, this.#reverse);
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
