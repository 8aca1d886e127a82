// The embedded store: Deno KV's API over the Rust engine in the wasm module.
// Values must be JSON-compatible; key parts must be strings.
import { EmbeddedEngine } from '../pkg/connector_state.js';
import { StateError } from './errors.mjs';

export class MemoryKv {
  #engine = new EmbeddedEngine();

  /** Lets this package's classes call the engine directly. */
  get __connectorStateMemoryId() {
    return this.#engine.id;
  }

  async get(key) {
    return this.#engine.get(key);
  }

  async getMany(keys) {
    return keys.map((key) => this.#engine.get(key));
  }

  async set(key, value, options) {
    return this.#engine.commit([], [{ type: 'set', key, value, expireIn: options?.expireIn }]);
  }

  async delete(key) {
    this.#engine.commit([], [{ type: 'delete', key }]);
  }

  list(selector, options = {}) {
    if (!selector || !Array.isArray(selector.prefix) || 'start' in selector || 'end' in selector) {
      throw new StateError('INVALID_ARGUMENT', 'selector must be { prefix: string[] } (the embedded store lists by prefix only)');
    }
    if (options.reverse) {
      throw new StateError('INVALID_ARGUMENT', 'options.reverse is not supported by the embedded store; list forward and reverse the result');
    }
    return new MemoryListIterator(this.#engine, selector.prefix, options);
  }

  atomic() {
    return new MemoryAtomicOperation(this.#engine);
  }

  /** Number of live entries (expired ones are dropped first). */
  get size() {
    return this.#engine.size();
  }

  close() {}
}

class MemoryAtomicOperation {
  #engine;
  #checks = [];
  #mutations = [];

  constructor(engine) {
    this.#engine = engine;
  }

  check(...checks) {
    this.#checks.push(...checks);
    return this;
  }

  set(key, value, options) {
    this.#mutations.push({ type: 'set', key, value, expireIn: options?.expireIn });
    return this;
  }

  delete(key) {
    this.#mutations.push({ type: 'delete', key });
    return this;
  }

  async commit() {
    return this.#engine.commit(this.#checks, this.#mutations);
  }
}

class MemoryListIterator {
  #engine;
  #prefix;
  #remaining;
  #buffer = [];
  #next;
  #done = false;
  cursor = '';

  constructor(engine, prefix, options) {
    this.#engine = engine;
    this.#prefix = prefix;
    this.#remaining = options.limit ?? Infinity;
    this.#next = options.cursor ?? null;
  }

  async next() {
    if (this.#remaining <= 0) return { done: true, value: undefined };
    if (this.#buffer.length === 0 && !this.#done) {
      const page = this.#engine.listPage(this.#prefix, Math.min(this.#remaining, 500), this.#next ?? undefined);
      this.#buffer = page.entries;
      this.#next = page.cursor;
      this.#done = page.cursor === null;
    }
    const entry = this.#buffer.shift();
    if (!entry) return { done: true, value: undefined };
    this.#remaining -= 1;
    this.cursor = JSON.stringify(entry.key);
    return { done: false, value: entry };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
