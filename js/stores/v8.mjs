// V8's value serialization format (what Deno KV stores values in), for the
// values this package writes: null, undefined, booleans, numbers, bigints,
// strings, arrays and plain objects. Bun's node:v8 speaks JavaScriptCore's
// format instead, so @deno/kv asks for these two functions there
// (https://www.npmjs.com/package/@deno/kv#other-runtimes); Node and Deno use
// V8's own. Format: v8/src/objects/value-serializer.cc (version 15).
import { StateError } from '../core/errors.mjs';

const VERSION = 15;
const TAG = {
  version: 0xff,
  padding: 0x00,
  null: 0x30, // '0'
  undefined: 0x5f, // '_'
  true: 0x54, // 'T'
  false: 0x46, // 'F'
  int32: 0x49, // 'I'
  uint32: 0x55, // 'U'
  double: 0x4e, // 'N'
  bigint: 0x5a, // 'Z'
  utf8: 0x53, // 'S'
  oneByte: 0x22, // '"'
  twoByte: 0x63, // 'c'
  beginObject: 0x6f, // 'o'
  endObject: 0x7b, // '{'
  beginDense: 0x41, // 'A'
  endDense: 0x24, // '$'
  beginSparse: 0x61, // 'a'
  endSparse: 0x40, // '@'
  hole: 0x2d, // '-'
  verifyObjectCount: 0x3f, // '?'
};

class Writer {
  bytes = [];
  byte(b) {
    this.bytes.push(b);
  }
  varint(n) {
    // n is a non-negative integer below 2^53.
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      this.bytes.push(b);
    } while (n > 0);
  }
  bigVarint(n) {
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (n > 0n);
  }
}

function writeString(w, s) {
  if (/^[\x00-\xff]*$/.test(s)) {
    w.byte(TAG.oneByte);
    w.varint(s.length);
    for (let i = 0; i < s.length; i++) w.byte(s.charCodeAt(i));
    return;
  }
  const byteLength = s.length * 2;
  // V8 keeps two-byte payloads aligned: a padding byte when the payload would start odd.
  let varintLength = 1;
  for (let n = byteLength; n >= 128; n = Math.floor(n / 128)) varintLength++;
  if ((w.bytes.length + 1 + varintLength) % 2 === 1) w.byte(TAG.padding);
  w.byte(TAG.twoByte);
  w.varint(byteLength);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    w.byte(c & 0xff);
    w.byte(c >> 8);
  }
}

function writeValue(w, value, depth) {
  if (depth > 1000) throw new StateError('INVALID_ARGUMENT', 'a value nested deeper than 1,000 levels cannot be stored');
  if (value === null) return w.byte(TAG.null);
  if (value === undefined) return w.byte(TAG.undefined);
  if (value === true) return w.byte(TAG.true);
  if (value === false) return w.byte(TAG.false);
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 && !Object.is(value, -0)) {
      w.byte(TAG.int32);
      w.varint(value >= 0 ? value * 2 : -value * 2 - 1); // zigzag
      return;
    }
    w.byte(TAG.double);
    const b = new Uint8Array(new Float64Array([value]).buffer);
    for (const x of b) w.byte(x);
    return;
  }
  if (typeof value === 'bigint') {
    w.byte(TAG.bigint);
    const negative = value < 0n;
    let magnitude = negative ? -value : value;
    const digits = [];
    while (magnitude > 0n) {
      digits.push(magnitude & 0xffffffffffffffffn);
      magnitude >>= 64n;
    }
    w.bigVarint((BigInt(digits.length * 8) << 1n) | (negative ? 1n : 0n));
    for (const d of digits) for (let i = 0n; i < 64n; i += 8n) w.byte(Number((d >> i) & 0xffn));
    return;
  }
  if (typeof value === 'string') return writeString(w, value);
  if (Array.isArray(value)) {
    w.byte(TAG.beginDense);
    w.varint(value.length);
    for (let i = 0; i < value.length; i++) writeValue(w, value[i], depth + 1);
    w.byte(TAG.endDense);
    w.varint(0);
    w.varint(value.length);
    return;
  }
  if (typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    w.byte(TAG.beginObject);
    const keys = Object.keys(value);
    for (const key of keys) {
      writeString(w, key);
      writeValue(w, value[key], depth + 1);
    }
    w.byte(TAG.endObject);
    w.varint(keys.length);
    return;
  }
  throw new StateError('INVALID_ARGUMENT', `a ${value?.constructor?.name ?? typeof value} cannot be stored in Deno KV from Bun (JSON values only there)`);
}

/** `value` in V8's serialization format. */
export function encodeV8(value) {
  const w = new Writer();
  w.byte(TAG.version);
  w.byte(VERSION);
  writeValue(w, value, 0);
  return Uint8Array.from(w.bytes);
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.at = 0;
  }
  byte() {
    if (this.at >= this.bytes.length) throw new Error('the value ends early');
    return this.bytes[this.at++];
  }
  peek() {
    return this.bytes[this.at];
  }
  varint() {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
      if (scale > 2 ** 63) throw new Error('a varint is too long');
    }
  }
  bigVarint() {
    let n = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      n |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return n;
      shift += 7n;
    }
  }
  take(n) {
    if (this.at + n > this.bytes.length) throw new Error('the value ends early');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

function readValue(r, depth) {
  if (depth > 1000) throw new Error('nested deeper than 1,000 levels');
  let tag = r.byte();
  while (tag === TAG.padding || tag === TAG.verifyObjectCount) {
    if (tag === TAG.verifyObjectCount) r.varint();
    tag = r.byte();
  }
  switch (tag) {
    case TAG.null:
      return null;
    case TAG.undefined:
      return undefined;
    case TAG.true:
      return true;
    case TAG.false:
      return false;
    case TAG.int32: {
      const z = r.varint();
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    case TAG.uint32:
      return r.varint();
    case TAG.double: {
      const b = r.take(8);
      return new Float64Array(Uint8Array.from(b).buffer)[0];
    }
    case TAG.bigint: {
      const bitfield = r.bigVarint();
      const bytes = Number(bitfield >> 1n);
      const digits = r.take(bytes);
      let n = 0n;
      for (let i = bytes - 1; i >= 0; i--) n = (n << 8n) | BigInt(digits[i]);
      return bitfield & 1n ? -n : n;
    }
    case TAG.oneByte: {
      const b = r.take(r.varint());
      let s = '';
      for (const c of b) s += String.fromCharCode(c);
      return s;
    }
    case TAG.twoByte: {
      const b = r.take(r.varint());
      let s = '';
      for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b[i] | (b[i + 1] << 8));
      return s;
    }
    case TAG.utf8:
      return new TextDecoder().decode(r.take(r.varint()));
    case TAG.beginObject:
      // The end tag is followed by the property count.
      return readProperties(r, {}, TAG.endObject, 1, depth);
    case TAG.beginDense: {
      const length = r.varint();
      const out = new Array(length);
      for (let i = 0; i < length; i++) out[i] = r.peek() === TAG.hole ? (r.byte(), undefined) : readValue(r, depth + 1);
      // Extra properties, then the end tag, the property count and the length.
      return readProperties(r, out, TAG.endDense, 2, depth);
    }
    case TAG.beginSparse:
      return readProperties(r, new Array(r.varint()), TAG.endSparse, 2, depth);
    default:
      throw new Error(`a value of V8 tag 0x${tag.toString(16)} (not JSON: a Date, Map or other object) cannot be read from Bun`);
  }
}

/** Reads key / value pairs into `out` up to the `end` tag, then the end
 *  tag's `counts` varints. A key is an own property, `__proto__` included
 *  (as V8 makes it), never the object's prototype. */
function readProperties(r, out, end, counts, depth) {
  while (r.peek() !== end) {
    const key = String(readValue(r, depth + 1));
    const value = readValue(r, depth + 1);
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  r.byte();
  for (let i = 0; i < counts; i++) r.varint();
  return out;
}

/** The value `bytes` holds in V8's serialization format. */
export function decodeV8(bytes) {
  const r = new Reader(bytes);
  if (r.byte() !== TAG.version) throw new Error('not a V8-serialized value');
  const version = r.byte();
  if (version > VERSION || version < 13) throw new Error(`V8 serialization version ${version} is not supported`);
  const value = readValue(r, 0);
  return value;
}
