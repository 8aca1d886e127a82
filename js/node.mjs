/* @ts-self-types="./index.d.ts" */
// Entry point for Node.js (import, and require through index.cjs) and Deno.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initSync, __registerErrorClass } from '../pkg/connector_state.js';
import { StateError } from './errors.mjs';
import { openEmbedded } from './embedded.mjs';
import { setValueMeasure } from './memory.mjs';
import { checkStoreOptions, redactUrl } from './kv.mjs';

initSync({ module: readFileSync(new URL('../pkg/connector_state_bg.wasm', import.meta.url)) });
__registerErrorClass(StateError);
// Values are measured as Deno KV measures them: V8's serialization.
// node:v8 is loaded on the first value measured, not at import.
let v8;
setValueMeasure((value) => (v8 ??= createRequire(import.meta.url)('node:v8')).serialize(value).length);

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
  try {
    return await open(path);
  } catch (cause) {
    throw new StateError('STORE_UNAVAILABLE', `could not open the KV store at ${redactUrl(path)}: ${cause.message}`);
  }
}

async function nodeOpenKv() {
  try {
    return (await import('@deno/kv')).openKv;
  } catch (cause) {
    throw new StateError('STORE_UNAVAILABLE', `opening a KV file or URL in Node.js needs the @deno/kv package: npm install @deno/kv (${cause.message})`);
  }
}
