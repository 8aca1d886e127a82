/* @ts-self-types="./index.d.ts" */
// Entry point for Node.js (import, and require through index.cjs) and Deno.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initSync, __registerErrorClass } from '../pkg/connector_state.js';
import { StateError } from './errors.mjs';
import { openEmbedded } from './embedded.mjs';
import { setValueMeasure } from './memory.mjs';
import { checkStoreOptions, redactUrl } from './kv.mjs';
import { decodeV8, encodeV8 } from './v8.mjs';

initSync({ module: readFileSync(new URL('../pkg/connector_state_bg.wasm', import.meta.url)) });
__registerErrorClass(StateError);
// Values are measured as Deno KV measures them: V8's serialization.
// node:v8 is loaded on the first value measured, not at import.
// Bun's node:v8 speaks JavaScriptCore's format: there, V8's own (js/v8.mjs).
const inBun = typeof globalThis.Bun !== 'undefined';
let v8;
const nodeV8Size = (value) => (v8 ??= createRequire(import.meta.url)('node:v8')).serialize(value).length;
// Under Bun, a value js/v8.mjs cannot write (a Date, a Map) is measured by
// Bun's own serializer: close to V8's size, and the embedded store keeps it.
setValueMeasure(inBun ? (value) => { try { return encodeV8(value).length; } catch { return nodeV8Size(value); } } : nodeV8Size);

export * from './api.mjs';

/**
 * Opens a KV store: the embedded in-memory store for no path or ':memory:';
 * PostgreSQL for a postgres:// or postgresql:// URL (options: namespace,
 * table; needs the pg package); Redis or Valkey for a redis:// or rediss://
 * URL (option: namespace; needs the ioredis package); otherwise Deno KV
 * (Deno.openKv in Deno, @deno/kv in Node) on a SQLite file path or a KV
 * Connect URL.
 */
export async function openKv(path, options) {
  if (typeof path === 'string' && /^postgres(ql)?:\/\//i.test(path)) {
    const { namespace, table } = checkStoreOptions(options, ['namespace', 'table'], 'openKv (PostgreSQL)');
    const { openPostgresKv } = await import('./postgres.mjs');
    return openPostgresKv({ connectionString: path, namespace, table });
  }
  if (typeof path === 'string' && /^rediss?:\/\//i.test(path)) {
    const { namespace } = checkStoreOptions(options, ['namespace'], 'openKv (Redis)');
    const { openRedisKv } = await import('./redis.mjs');
    return openRedisKv({ url: path, namespace });
  }
  checkStoreOptions(options, [], 'openKv (embedded, SQLite or KV Connect)');
  const embedded = openEmbedded(path);
  if (embedded) return embedded;
  const open = globalThis.Deno?.openKv ? (p) => globalThis.Deno.openKv(p) : await nodeOpenKv();
  let kv;
  try {
    kv = await open(path);
  } catch (cause) {
    throw new StateError('STORE_UNAVAILABLE', `could not open the KV store at ${redactUrl(path)}: ${cause?.message}`, { cause });
  }
  return disposable(kv);
}

/** Gives a Deno KV handle `[Symbol.asyncDispose]` (closing it) where its
 *  client has none, so `await using kv = await openKv(path)` works everywhere. */
function disposable(kv) {
  if (typeof kv?.[Symbol.asyncDispose] !== 'function' && Object.isExtensible(kv)) {
    Object.defineProperty(kv, Symbol.asyncDispose, { value: async () => kv.close(), configurable: true, writable: true });
  }
  return kv;
}

async function nodeOpenKv() {
  try {
    const { openKv } = await import('@deno/kv');
    // @deno/kv refuses Bun's node:v8 and asks for V8-format functions.
    return inBun ? (path) => openKv(path, { encodeV8, decodeV8 }) : openKv;
  } catch (cause) {
    throw new StateError('STORE_UNAVAILABLE', `opening a KV file or URL in Node.js needs the @deno/kv package: npm install @deno/kv (${cause?.message})`, { cause, retryable: false });
  }
}
