// The embedded store: Deno KV's interface (js/kv.mjs) over the Rust engine
// in the wasm module. The engine checks every argument again before it
// touches Rust memory, so no input can trap the module.
import { EmbeddedEngine } from '../../pkg/connector_state.js';
import { KvFront } from './front.mjs';
import { closedError } from './limits.mjs';

export { KvU64 } from './u64.mjs';
export { setValueMeasure } from './limits.mjs';

/** The engine as a backend of KvFront (every call is synchronous). */
class EmbeddedBackend {
  constructor(engine) {
    this.engine = engine;
  }

  get(keys) {
    return keys.map((key) => {
      const entry = this.engine.get(key);
      return entry.versionstamp === null ? null : entry;
    });
  }

  commit(checks, mutations) {
    return this.engine.commit(checks, mutations);
  }

  scan(start, startInclusive, end, limit, reverse) {
    return this.engine.scan(start, startInclusive, end, limit, reverse);
  }

  close() {
    this.engine.close();
  }
}

export class MemoryKv extends KvFront {
  #engine;

  constructor() {
    // KvFront registers KvU64 before any value is read or written.
    const engine = new EmbeddedEngine();
    super(new EmbeddedBackend(engine));
    this.#engine = engine;
  }

  /** Lets this package's classes call the engine directly. */
  get __connectorStateMemoryId() {
    return this.closed ? undefined : this.#engine.id;
  }

  /** `using kv = new MemoryKv()` closes it at the end of the block. */
  [Symbol.dispose]() {
    this.close();
  }

  /** Number of live entries (expired ones are dropped first). */
  get size() {
    if (this.closed) throw closedError();
    return this.#engine.size();
  }
}
