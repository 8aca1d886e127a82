// Deno KV's list iterator over a backend: selectors, cursors in Deno's
// form, batches, reverse order.
import { checkConsistency, closedError, commonPrefix, compareBytes, concat, DEFAULT_BATCH, encodeKey, fromBase64Url, isKey, MAX_BATCH, startsWith, toBase64Url } from './limits.mjs';

export class KvListIterator {
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
