// What every entry point exports once the wasm module is initialised.
import { FileTracker } from '../pkg/connector_state.js';

export {
  StateService,
  FileTracker,
  VersoriKVAdapter,
  CheckpointStore,
  Checkpoint,
  PeriodicSaver,
  describeStore,
  encodeState,
  decodeState,
} from '../pkg/connector_state.js';
export { StateError } from './errors.mjs';
export { MemoryKv } from './memory.mjs';

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
