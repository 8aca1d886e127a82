/* @ts-self-types="./index.d.ts" */
// Entry point for Node.js (import, and require through index.cjs) and Deno.
import { inBun } from './core/node-init.mjs';
import { StateError } from './core/errors.mjs';
import { openEmbedded } from './stores/embedded.mjs';
import { checkStoreOptions, redactUrl } from './stores/server.mjs';
import { decodeV8, encodeV8 } from './stores/v8.mjs';

export * from './core/api.mjs';

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
    const { openPostgresKv } = await import('./stores/postgres.mjs');
    return openPostgresKv({ connectionString: path, namespace, table });
  }
  if (typeof path === 'string' && /^rediss?:\/\//i.test(path)) {
    const { namespace } = checkStoreOptions(options, ['namespace'], 'openKv (Redis)');
    const { openRedisKv } = await import('./stores/redis.mjs');
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
