// Every read of a caller's (or a store's) JavaScript value happens here,
// inside try/catch: a Proxy whose trap throws (a revoked immer draft), a
// getter that throws, a sparse array of length 2^32 - 1. The wasm side
// never touches such a value with a call that could throw through it (a
// throw through wasm frames leaks its stack; a failed allocation aborts).
//
// toJson(value, mode, maxBytes, maxDepth) walks `value` once and returns
// its JSON text, or a refusal { path, problem, tooLarge } naming where the
// walk stopped. Work and memory are bounded by `maxBytes` (the text may not
// grow past it) and `maxDepth` (levels of arrays and objects), never by an
// array's claimed length.

const STRICT = 0;
const LENIENT = 1;
const TAGGED = 2;
const TAG = '$cs';
const TAG_LIKE = /^\$cs\$*$/;

class Refusal {
  constructor(problem, tooLarge = false) {
    this.problem = problem;
    this.tooLarge = tooLarge;
  }
}

const objectProto = Object.prototype;
const getTime = Date.prototype.getTime;
const toISOString = Date.prototype.toISOString;
const mapEntries = Map.prototype.entries;
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size').get;
const setValues = Set.prototype.values;
const setSize = Object.getOwnPropertyDescriptor(Set.prototype, 'size').get;
const regexpSource = Object.getOwnPropertyDescriptor(RegExp.prototype, 'source').get;
const regexpFlags = Object.getOwnPropertyDescriptor(RegExp.prototype, 'flags').get;
const bufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
const typedBuffer = Object.getOwnPropertyDescriptor(typedArrayProto, 'buffer').get;
const typedOffset = Object.getOwnPropertyDescriptor(typedArrayProto, 'byteOffset').get;
const typedLength = Object.getOwnPropertyDescriptor(typedArrayProto, 'byteLength').get;
const typedName = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag).get;
const viewBuffer = Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer').get;
const viewOffset = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteOffset').get;
const viewLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength').get;
const isWellFormed = String.prototype.isWellFormed;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// A brand check that fails throws a TypeError: V8 spends most of its cost
// capturing a stack trace nobody reads (2.4 µs a check against 0.8 µs
// without, measured on the plain objects every stored value is made of).
// The limit is set to 0 around the check, where the runtime lets us.
const stackLimit = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit');
const limitable = stackLimit !== undefined && stackLimit.writable === true;

/** Calls `f` on `v` as a brand check: its result, or `undefined` when `v`
 *  is not of that kind (a Proxy of one is not: its traps are never run). */
function brand(f, v) {
  if (!limitable) {
    try {
      return f.call(v);
    } catch {
      return undefined;
    }
  }
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f.call(v);
  } catch {
    return undefined;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function wellFormed(s) {
  if (isWellFormed) return isWellFormed.call(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else return false;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

function hexOf(buffer, offset, length) {
  const bytes = new Uint8Array(buffer, offset, length);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/** What a thrown value says, for a message (never throws itself). */
function said(thrown) {
  try {
    if (thrown !== null && typeof thrown === 'object' && typeof thrown.message === 'string') return thrown.message;
    return String(thrown);
  } catch {
    return 'an unreadable error';
  }
}

const nameTexts = new Map();

class Walk {
  constructor(mode, maxBytes, maxDepth, kvU64) {
    this.mode = mode;
    this.left = maxBytes;
    this.maxBytes = maxBytes;
    this.maxDepth = maxDepth;
    this.kvU64 = kvU64;
    // The path to the node being read, as segments joined only on a refusal.
    this.path = [];
    // Tagged: objects met so far, numbered in the order met (Ref tags).
    this.seen = mode === TAGGED ? new Map() : null;
    // Otherwise: the objects on the path to the node being read (a cycle).
    this.parents = this.seen ? null : new Set();
  }

  spend(n) {
    this.left -= n;
    if (this.left < 0) throw new Refusal(`takes more than ${this.maxBytes} bytes as JSON, more than it may hold`, true);
  }

  unsupported(what, hint) {
    return new Refusal(`is ${what}, which JSON cannot hold; ${hint}`);
  }

  tagged(kind, field, text) {
    const out = field === undefined ? `{"${TAG}":"${kind}"}` : `{"${TAG}":"${kind}","${field}":${text}}`;
    this.spend(out.length);
    return out;
  }

  string(s) {
    if (!wellFormed(s)) throw new Refusal('is a string with a lone surrogate, which cannot be stored without changing it');
    this.spend(s.length + 2);
    return JSON.stringify(s);
  }

  /** A property name's JSON text: short names repeat across the items of
   *  a list, so their texts are kept (at most 4,096 names of at most 64
   *  characters; cleared when full). Every use counts toward the size. */
  name(key) {
    if (key.length > 64) return this.string(key);
    let text = nameTexts.get(key);
    if (text === undefined) {
      text = this.string(key);
      if (nameTexts.size >= 4096) nameTexts.clear();
      nameTexts.set(key, text);
    } else this.spend(key.length + 2);
    return text;
  }

  value(v, depth) {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'boolean':
        this.spend(v ? 4 : 5);
        return v ? 'true' : 'false';
      case 'number':
        if (Number.isFinite(v) && !(this.mode === TAGGED && Object.is(v, -0))) {
          const text = JSON.stringify(v);
          this.spend(text.length);
          return text;
        }
        if (this.mode === TAGGED) {
          const text = Number.isNaN(v) ? 'NaN' : v === 0 ? '-0' : v > 0 ? 'Infinity' : '-Infinity';
          return this.tagged('Number', 'value', `"${text}"`);
        }
        throw this.unsupported('NaN or Infinity', 'store a finite number or null');
      case 'undefined':
        if (this.mode === TAGGED) return this.tagged('undefined');
        throw this.unsupported('undefined', 'use null, or leave the property out');
      case 'bigint':
        if (this.mode === TAGGED) return this.tagged('BigInt', 'value', `"${v.toString(10)}"`);
        if (this.mode === LENIENT) return this.string(v.toString(10));
        throw this.unsupported('a BigInt', 'store it as a string');
      case 'function':
        throw this.unsupported('a function', 'store data only');
      case 'symbol':
        throw this.unsupported('a Symbol', 'store data only');
      default:
        if (v === null) {
          this.spend(4);
          return 'null';
        }
        return this.object(v, depth + 1);
    }
  }

  object(v, depth) {
    if (depth > this.maxDepth) throw new Refusal(`nests too deep (more than ${this.maxDepth} levels of arrays and objects)`);
    if (this.seen) {
      // Tagged: an object met again (a cycle among them) is a Ref.
      const id = this.seen.get(v);
      if (id !== undefined) return this.tagged('Ref', 'id', String(id));
      this.seen.set(v, this.seen.size);
      return this.kind(v, depth);
    }
    if (this.parents.has(v)) throw new Refusal('refers to itself (a cycle), which JSON cannot hold');
    this.parents.add(v);
    try {
      return this.kind(v, depth);
    } finally {
      this.parents.delete(v);
    }
  }

  kind(v, depth) {
    if (Array.isArray(v)) return this.array(v, depth);
    const proto = Object.getPrototypeOf(v);
    const names = proto === objectProto || proto === null ? Object.keys(v) : undefined;
    // A failed brand check throws, which costs more than the rest of a
    // small object's walk: plain objects skip the Date check unless they
    // have no own keys (a Date whose prototype was replaced has none).
    const time = names?.length > 0 ? undefined : brand(getTime, v);
    if (time !== undefined) {
      const iso = Number.isFinite(time) ? JSON.stringify(toISOString.call(v)) : 'null';
      if (this.mode === TAGGED) return this.tagged('Date', 'iso', iso);
      if (this.mode === LENIENT) {
        this.spend(iso.length);
        return iso;
      }
      throw this.unsupported('a Date', 'store date.toISOString()');
    }
    if (names) return this.plain(v, names, depth);
    if (this.mode === TAGGED) {
      const special = this.special(v, depth);
      if (special !== undefined) return special;
    }
    if (brand(mapSize, v) !== undefined) throw this.unsupported('a Map', 'store Object.fromEntries(map) or [...map]');
    if (brand(setSize, v) !== undefined) throw this.unsupported('a Set', 'store [...set]');
    if (ArrayBuffer.isView(v) || brand(bufferByteLength, v) !== undefined) throw this.unsupported('binary data', 'store it base64-encoded');
    throw this.unsupported('a class instance', 'store a plain object');
  }

  /** Tagged forms of Map, Set, KvU64, views, buffers and RegExps. */
  special(v, depth) {
    const size = brand(mapSize, v);
    if (size !== undefined) {
      this.spend(size * 6);
      const parts = [];
      let i = 0;
      for (const [key, item] of mapEntries.call(v)) {
        this.path.push(`[key ${i}]`);
        const k = this.value(key, depth);
        this.path[this.path.length - 1] = `[value ${i}]`;
        const x = this.value(item, depth);
        this.path.pop();
        parts.push(`[${k},${x}]`);
        i++;
      }
      return this.tagged('Map', 'entries', `[${parts.join(',')}]`);
    }
    const count = brand(setSize, v);
    if (count !== undefined) {
      this.spend(count * 2);
      const parts = [];
      let i = 0;
      for (const item of setValues.call(v)) {
        this.path.push(`[item ${i}]`);
        parts.push(this.value(item, depth));
        this.path.pop();
        i++;
      }
      return this.tagged('Set', 'values', `[${parts.join(',')}]`);
    }
    if (this.kvU64 && Object.getPrototypeOf(v) === this.kvU64.prototype && typeof v.value === 'bigint') {
      return this.tagged('KvU64', 'value', `"${v.value.toString(10)}"`);
    }
    if (ArrayBuffer.isView(v)) {
      const typed = brand(typedName, v);
      const [buffer, offset, length, type] = typed !== undefined
        ? [typedBuffer.call(v), typedOffset.call(v), typedLength.call(v), typed]
        : [viewBuffer.call(v), viewOffset.call(v), viewLength.call(v), 'DataView'];
      if (brand(bufferByteLength, buffer) === undefined) throw this.unsupported('a view of shared memory', 'copy it into a Uint8Array');
      this.spend(length * 2);
      return `{"${TAG}":"View","type":"${type}","hex":"${hexOf(buffer, offset, length)}"}`;
    }
    const bytes = brand(bufferByteLength, v);
    if (bytes !== undefined) {
      this.spend(bytes * 2);
      return this.tagged('ArrayBuffer', 'hex', `"${hexOf(v, 0, bytes)}"`);
    }
    const source = brand(regexpSource, v);
    if (source !== undefined) {
      const text = `{"${TAG}":"RegExp","source":${this.string(source)},"flags":${this.string(regexpFlags.call(v))}}`;
      return text;
    }
    return undefined;
  }

  array(v, depth) {
    const length = v.length;
    // Each item takes at least one byte and a comma: a longer array cannot
    // fit, whatever it holds (a[2 ** 32 - 2] = 1 is refused here, at once).
    if (length > this.left / 2 + 1) {
      throw new Refusal(`is an array of ${length} items, more than ${this.maxBytes} bytes of JSON can hold`, true);
    }
    this.spend(2);
    let out = '[';
    for (let i = 0; i < length; i++) {
      this.path.push(`[${i}]`);
      if (!(i in v) && this.mode !== LENIENT) {
        throw new Refusal('is a hole in a sparse array, which cannot be stored; fill it (null) or use a dense array');
      }
      const item = v[i];
      if (i > 0) {
        this.spend(1);
        out += ',';
      }
      out += item === undefined && this.mode === LENIENT ? (this.spend(4), 'null') : this.value(item, depth);
      this.path.pop();
    }
    return out + ']';
  }

  plain(v, names, depth) {
    this.spend(2);
    let out = '{';
    let first = true;
    for (const name of names) {
      this.path.push(`.${name}`);
      const item = v[name];
      if (item === undefined && this.mode !== TAGGED) {
        this.path.pop();
        continue;
      }
      const key = this.mode === TAGGED && name.startsWith(TAG) && TAG_LIKE.test(name) ? `${name}$` : name;
      const text = this.name(key);
      this.spend(first ? 1 : 2);
      out += `${first ? '' : ','}${text}:${this.value(item, depth)}`;
      first = false;
      this.path.pop();
    }
    return out + '}';
  }
}

/** JSON text of `value`, or a refusal `{ path, problem, tooLarge }`. */
export function toJson(value, mode, maxBytes, maxDepth, kvU64) {
  const walk = new Walk(mode, maxBytes, maxDepth, kvU64);
  try {
    return walk.value(value, 0);
  } catch (thrown) {
    const path = walk.path.join('');
    if (thrown instanceof Refusal) return { path, problem: thrown.problem, tooLarge: thrown.tooLarge };
    if (thrown instanceof RangeError && /string length|call stack/i.test(said(thrown))) {
      return { path, problem: `is too large to read (${said(thrown)})`, tooLarge: true };
    }
    return { path, problem: `could not be read (${said(thrown)}): pass a plain copy of the data, not a revoked Proxy or an object whose getter throws`, tooLarge: false };
  }
}

/** Array.isArray(v), false when asking throws (a revoked Proxy). */
export function isArray(v) {
  try {
    return Array.isArray(v);
  } catch {
    return false;
  }
}

/** `v`'s time when it is a real Date (a brand check: no Proxy trap runs). */
export function dateTime(v) {
  return brand(getTime, v);
}

/** Own enumerable string keys, or undefined when reading them throws. */
export function keysOf(v) {
  try {
    return Object.keys(v);
  } catch {
    return undefined;
  }
}

/** A copy of array `v`'s items as a real Array, or undefined when `v` is
 *  not an array, is longer than `max`, or reading it throws. */
export function itemsOf(v, max) {
  try {
    if (!Array.isArray(v)) return undefined;
    const length = v.length;
    if (!(length <= max)) return undefined;
    const out = new Array(length);
    for (let i = 0; i < length; i++) out[i] = v[i];
    return out;
  } catch {
    return undefined;
  }
}

/** The decimal digits of a `KvU64` of class `kvU64`, else undefined. */
export function u64Of(v, kvU64) {
  try {
    if (kvU64 && v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === kvU64.prototype && typeof v.value === 'bigint') {
      return v.value.toString(10);
    }
  } catch {
    // not a KvU64
  }
  return undefined;
}

/** A copy of the bytes an ArrayBuffer view (not over shared memory) shows,
 *  read through the built-in getters, else undefined. */
export function viewBytes(v) {
  try {
    if (!ArrayBuffer.isView(v)) return undefined;
    const typed = brand(typedName, v) !== undefined;
    const buffer = typed ? typedBuffer.call(v) : viewBuffer.call(v);
    if (brand(bufferByteLength, buffer) === undefined) return undefined;
    const offset = typed ? typedOffset.call(v) : viewOffset.call(v);
    const length = typed ? typedLength.call(v) : viewLength.call(v);
    return new Uint8Array(buffer.slice(offset, offset + length));
  } catch {
    return undefined;
  }
}

/** Whether `v` is a Promise (false when asking throws). */
export function isPromise(v) {
  try {
    return v instanceof Promise;
  } catch {
    return false;
  }
}

/** What a store call rejects with when it did not answer in time. */
class NoAnswer {
  constructor(ms) {
    this.noAnswerMs = ms;
  }
}

/** `returned` as a Promise that rejects with a NoAnswer after `ms`
 *  (no bound for 0 or Infinity). The timer ends with the call. */
export function within(returned, ms) {
  if (!(ms > 0 && ms < Infinity)) return Promise.resolve(returned);
  // One Promise and one timer (Promise.race and finally made three more).
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new NoAnswer(ms)), ms);
    Promise.resolve(returned).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The bound a NoAnswer carries, else undefined. */
export function noAnswerMs(thrown) {
  return thrown instanceof NoAnswer ? thrown.noAnswerMs : undefined;
}
