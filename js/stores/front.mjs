// Deno KV's interface, once, for every store of this package that has it:
// the embedded store (memory.mjs) and the PostgreSQL and Redis stores
// (postgres.mjs, redis.mjs). This front checks every argument and
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
import { KvAtomicOperation } from './atomic.mjs';
import { checkConsistency, checkKeyShape, checkOptions, closedError, entryOf, MAX_GET_MANY } from './limits.mjs';
import { KvListIterator } from './list.mjs';
import { registerKvU64 } from './u64.mjs';

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
