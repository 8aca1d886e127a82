// Leases in Deno, on Deno.openKv: `await using` releases, renewal keeps a
// lock past its TTL, the signal aborts when the lock is taken from us, and
// renewal timers do not keep Deno's test runner waiting (its leak check
// fails a test that leaves a timer behind).
import { assert, assertEquals } from './assert.ts';
import { FileTracker, StateService } from 'connector-state';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test('await using releases a lease at the end of the block', async () => {
  const kv = await Deno.openKv(':memory:');
  try {
    const state = new StateService(null);
    {
      await using lease = await state.lock('deno-using', kv, { ttlMs: 60_000 });
      assert(lease !== null);
      assertEquals((await state.getLockInfo('deno-using', kv))?.isLocked, true);
    }
    assertEquals((await state.getLockInfo('deno-using', kv))?.isLocked, false);
  } finally {
    kv.close();
  }
});

Deno.test('a renewing lease outlives its TTL; force release aborts its signal with LOCK_NOT_HELD', async () => {
  const kv = await Deno.openKv(':memory:');
  try {
    const state = new StateService(null);
    const lease = await state.lock('deno-renew', kv, { ttlMs: 300 });
    assert(lease !== null);
    await sleep(900);
    assertEquals(await new StateService(null).lock('deno-renew', kv), null);
    await new StateService(null).forceReleaseLock('deno-renew', kv);
    // Renewal timers are unref'd: something here must keep the loop alive.
    for (let i = 0; i < 100 && !lease.signal.aborted; i++) await sleep(20);
    assertEquals((lease.signal.reason as { code: string }).code, 'LOCK_NOT_HELD');
    await lease.release();
  } finally {
    kv.close();
  }
});

Deno.test('a claim lease completes with await using around it', async () => {
  const kv = await Deno.openKv(':memory:');
  try {
    const files = new FileTracker(kv, 'deno-lease');
    {
      await using claim = await files.claim('a.csv', { ttlMs: 60_000 });
      assert(claim.claimed);
      await claim.complete({ rows: 1 });
    }
    assertEquals(await files.isProcessed('a.csv'), true);
  } finally {
    kv.close();
  }
});
