// What every entry point exports once the wasm module is initialised.
import { FileTracker } from '../pkg/connector_state.js';
import { StateError } from './errors.mjs';
import { MemoryKv } from './memory.mjs';

export { StateService, FileTracker, VersoriKVAdapter, describeStore } from '../pkg/connector_state.js';
export { StateError, MemoryKv };

/** fc-connect-sdk 0.1.56's VersoriFileTracker: same constructor and methods. */
export class VersoriFileTracker extends FileTracker {
  constructor(kv, prefix = 'fc-sdk') {
    super(kv, { prefix });
  }
  wasFileProcessed(fileName) {
    return this.isProcessed(fileName);
  }
  markFileProcessed(fileName, metadata) {
    return this.markProcessed(fileName, metadata);
  }
  getLastProcessedFile() {
    return this.getLastProcessed();
  }
  setLastProcessedFile(fileName) {
    return this.setLastProcessed(fileName);
  }
}

/** The embedded store for `openKv()` / `openKv(':memory:')`, else undefined. */
export function openEmbedded(path) {
  if (path === undefined || path === ':memory:') return new MemoryKv();
  if (typeof path !== 'string' || path === '') {
    throw new StateError('INVALID_ARGUMENT', "path must be a file path, a KV Connect URL or ':memory:' (or nothing for the embedded store)");
  }
  return undefined;
}
