// Shared by the Node tests: the stores every behaviour runs against.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKv as openDenoKv } from '@deno/kv';
import { openKv } from 'connector-state';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Versori-style host: ctx.openKv(scope) with a separate store per scope,
 *  values JSON-encoded like the platform, and a log that keeps entries. */
export function fakeVersoriContext() {
  const scopes = new Map();
  const entries = [];
  const record = (level) => (message, context) => entries.push({ level, message, context });
  return {
    log: { info: record('info'), warn: record('warn'), error: record('error'), debug: record('debug'), entries },
    openKv(scope = ':project:') {
      if (!scopes.has(scope)) scopes.set(scope, versoriKv());
      return scopes.get(scope);
    },
  };
}

export function versoriKv() {
  const data = new Map();
  const id = (key) => (typeof key === 'string' ? `s:${key}` : `a:${JSON.stringify(key)}`);
  return {
    data,
    async get(key) {
      const raw = data.get(id(key));
      return raw === undefined ? undefined : JSON.parse(raw);
    },
    async set(key, value) {
      data.set(id(key), JSON.stringify(value));
    },
    async delete(key) {
      data.delete(id(key));
    },
  };
}

/** Each kind of store, opened fresh; `close` removes any file. */
export const storeKinds = {
  async embedded() {
    return { kv: await openKv(), close() {} };
  },
  async 'deno-kv memory'() {
    const kv = await openDenoKv(':memory:');
    return { kv, close: () => kv.close() };
  },
  async 'deno-kv sqlite'() {
    const dir = mkdtempSync(join(tmpdir(), 'cs-'));
    const kv = await openDenoKv(join(dir, 'state.sqlite'));
    return { kv, close: () => { kv.close(); rmSync(dir, { recursive: true, force: true }); } };
  },
  async 'versori (no compare-and-set)'() {
    return { kv: versoriKv(), close() {} };
  },
};

export const exactKinds = ['embedded', 'deno-kv memory', 'deno-kv sqlite'];

/** Opens a store of one kind, runs `fn(kv)`, and always closes it. */
export async function withStore(open, fn) {
  const { kv, close } = await open();
  try {
    return await fn(kv);
  } finally {
    close();
  }
}
