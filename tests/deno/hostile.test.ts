// In Deno, on Deno.openKv: a revoked Proxy and a sparse array are refused
// as StateErrors (the process goes on), and a stale lease handle leaves the
// newer lease of the same service alone.
import { assert, assertEquals } from './assert.ts';
import { FileTracker, StateError, StateService, encodeState } from 'connector-state';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function code(call: () => unknown): Promise<string | undefined> {
  try {
    await call();
  } catch (e) {
    assert(e instanceof StateError, `expected a StateError, got ${e}`);
    return (e as StateError).code;
  }
  return undefined;
}

Deno.test('hostile values are StateErrors in Deno, and the store stays usable', async () => {
  const kv = await Deno.openKv(':memory:');
  try {
    const files = new FileTracker(kv, 'p');
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const sparse: number[] = [];
    sparse.length = 2 ** 32 - 1;
    assertEquals(await code(() => files.markProcessed('a.csv', { x: proxy as never })), 'INVALID_ARGUMENT');
    assertEquals(await code(() => files.markProcessed('a.csv', { x: sparse })), 'VALUE_TOO_LARGE');
    assertEquals(await code(() => encodeState({ x: proxy })), 'INVALID_ARGUMENT');
    assertEquals(await code(() => new FileTracker(kv, proxy as never)), 'INVALID_ARGUMENT');
    for (let i = 0; i < 1000; i++) await code(() => encodeState({ x: proxy }));
    await files.markProcessed('a.csv', { ok: true });
    assertEquals(await files.isProcessed('a.csv'), true);
  } finally {
    kv.close();
  }
});

Deno.test("a stale lease's release() leaves the newer lease alone", async () => {
  const kv = await Deno.openKv(':memory:');
  try {
    const state = new StateService(null);
    const first = await state.lock('stale', kv, { ttlMs: 200, renew: false });
    assert(first !== null);
    await sleep(300);
    const second = await state.lock('stale', kv, { ttlMs: 60_000 });
    assert(second !== null);
    assertEquals(await first.release(), false);
    assertEquals(await new StateService(null).acquireLock('stale', kv, 1), false);
    assertEquals(second.signal.aborted, false);
    assertEquals(await second.release(), true);
  } finally {
    kv.close();
  }
});
