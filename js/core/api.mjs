// What every entry point exports once the wasm module is initialised.
import {
  AdapterAtomic,
  Checkpoint,
  CheckpointStore,
  FileTracker as CoreFileTracker,
  IndexedFileTracker,
  JobTracker,
  PeriodicSaver,
  RetryTracker,
  StateService as CoreStateService,
  VersoriKVAdapter,
} from '../../pkg/connector_state.js';
import { guard } from './guard.mjs';
import { claimWithLease } from '../leases/claim.mjs';
import { lock, withLease } from '../leases/lease.mjs';

guard(CoreStateService, 'StateService');
guard(CoreFileTracker, 'FileTracker');
for (const cls of [IndexedFileTracker, RetryTracker, JobTracker, VersoriKVAdapter, CheckpointStore, Checkpoint, PeriodicSaver, AdapterAtomic]) guard(cls);

export { AdapterAtomic, Checkpoint, CheckpointStore, IndexedFileTracker, JobTracker, PeriodicSaver, RetryTracker, VersoriKVAdapter };
export { decodeState, describeKey, describeStore, encodeState } from '../../pkg/connector_state.js';
export { StateError } from './errors.mjs';
export { KvU64, MemoryKv } from '../stores/memory.mjs';
export { UnreadableValue } from '../stores/server.mjs';

/** Locks, sync state, processed files and the daily job, with the same
 *  methods and keys as fc-connect-sdk 0.1.56; `lock()` gives leases. */
export class StateService extends CoreStateService {
  /** A lease on `lockName` (null when another run holds it and `waitMs`
   *  ran out): renews every third of `ttlMs` unless `renew: false`. */
  lock(lockName, kv, options) {
    return lock(this, lockName, kv, options);
  }

  /** Runs `fn({ lockName, lockId, fencingToken, expiresAt, signal })`
   *  under a lease (renewed by default); LOCK_HELD when another run holds
   *  it; releases however `fn` ends. */
  withLock(lockName, kv, fn, options) {
    return withLease(this, lockName, kv, fn, options);
  }
}

/** Processed files and claims; a won claim renews itself (see lease.mjs). */
export class FileTracker extends CoreFileTracker {
  /** `claim(fileName, { ttlMs, renew })`: a won claim renews itself every
   *  third of `ttlMs` (unless `renew: false`) and has `signal`, `extend`,
   *  `complete`, `release` and `[Symbol.asyncDispose]`. */
  claim(fileName, options) {
    return claimWithLease((name, o) => super.claim(name, o), fileName, options, {
      complete: (name, metadata, claimId) => super.complete(name, metadata, claimId),
      release: (name, claimId) => super.release(name, claimId),
      extendClaim: (name, o) => super.extendClaim(name, o),
    });
  }
}

/** fc-connect-sdk 0.1.56's VersoriFileTracker: same constructor and methods. */
export class VersoriFileTracker extends FileTracker {
  /** 0.1.56's `(kv, prefix)`; `options` takes `maxWriteDelayMs` and `now`. */
  constructor(kv, prefix = 'fc-sdk', options = {}) {
    super(kv, { ...options, prefix });
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
