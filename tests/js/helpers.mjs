// Shared by the Node tests: the stores every behaviour runs against.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKv as openDenoKv } from '@deno/kv';
import { openKv } from 'connector-state';
import { versoriKv } from './versori-fake.mjs';

export { fakeVersoriContext, versoriKv } from './versori-fake.mjs';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

/**
 * Runs `fn(clock)` with `Date.now` (which the package reads for every
 * expiry) driven by a clock the test moves: `clock.advance(ms)` makes time
 * pass at once, so tests of expiry need no real waiting and no wall-clock
 * margin a loaded machine could break. The real `Date.now` comes back after.
 */
export async function withMovedTime(fn) {
  const real = Date.now;
  let offset = 0;
  Date.now = () => real() + offset;
  try {
    return await fn({ advance(ms) { offset += ms; } });
  } finally {
    Date.now = real;
  }
}
