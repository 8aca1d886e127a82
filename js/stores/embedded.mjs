// Shared by the entry points; not part of the public API.
import { StateError } from '../core/errors.mjs';
import { MemoryKv } from './memory.mjs';

/** The embedded store for `openKv()` / `openKv(':memory:')`, else undefined. */
export function openEmbedded(path) {
  if (path === undefined || path === ':memory:') return new MemoryKv();
  if (typeof path !== 'string' || path === '') {
    throw new StateError('INVALID_ARGUMENT', "path must be a file path, a KV Connect URL or ':memory:' (or nothing for the embedded store)");
  }
  return undefined;
}
