// What every entry point exports once the wasm module is initialised.
import { FileTracker, IndexedFileTracker } from '../pkg/connector_state.js';

export {
  StateService,
  FileTracker,
  IndexedFileTracker,
  RetryTracker,
  JobTracker,
  VersoriKVAdapter,
  CheckpointStore,
  Checkpoint,
  PeriodicSaver,
  describeStore,
  describeKey,
  encodeState,
  decodeState,
} from '../pkg/connector_state.js';
export { StateError } from './errors.mjs';
export { MemoryKv, KvU64 } from './memory.mjs';

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

/** fc-connect-sdk 0.1.56's VersoriIndexedFileTracker: same constructor,
 *  methods and return shapes, on IndexedFileTracker. */
export class VersoriIndexedFileTracker extends IndexedFileTracker {
  constructor(kv, prefix = 'fc-sdk') {
    super(kv, { prefix });
  }
  async markFileProcessed(fileName, metadata) {
    await this.mark(fileName, metadata);
  }
  async removeProcessedFile(fileName) {
    await this.remove(fileName);
  }
  /** Every file as `{ fileName, key, metadata }`, metadata being the stored
   *  record `{ processedAt, ...metadata }`. */
  async listProcessedFiles() {
    const files = [];
    let cursor = null;
    do {
      const page = await this.list({ limit: 1000, cursor });
      for (const f of page.files) {
        files.push({ fileName: f.fileName, key: this.legacyKey(f.fileName), metadata: { processedAt: f.processedAt, ...f.metadata } });
      }
      cursor = page.cursor;
    } while (cursor);
    return files;
  }
  /** Deletes this prefix's files (only this prefix's): `{ success, failed }`. */
  async clearAllProcessedFiles() {
    const { deleted, failed } = await this.clear();
    return { success: deleted, failed };
  }
  async getStats() {
    const s = await this.stats();
    return { totalFiles: s.totalFiles, totalRecords: s.totalRecords, oldestFile: s.oldest?.fileName, newestFile: s.newest?.fileName };
  }
}
