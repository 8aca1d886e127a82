/* @ts-self-types="./index.d.ts" */
// Entry point for browsers (and bundlers targeting them).
import init, { __registerErrorClass } from '../pkg/connector_state.js';
import { StateError } from './core/errors.mjs';
import { openEmbedded } from './stores/embedded.mjs';

await init({ module_or_path: new URL('../pkg/connector_state_bg.wasm', import.meta.url) });
__registerErrorClass(StateError);

export * from './core/api.mjs';

/** The embedded in-memory store; browsers have no file-backed Deno KV. */
export async function openKv(path) {
  const embedded = openEmbedded(path);
  if (embedded) return embedded;
  throw new StateError('INVALID_ARGUMENT', `a browser cannot open ${path}: call openKv() for the in-memory store, or pass a KV handle your host gives you`);
}
