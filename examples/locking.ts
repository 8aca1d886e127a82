// Pattern 2, locking: one run at a time. withLock acquires, runs and always
// releases; the fencing token rises with every acquisition.
import { StateError, StateService, openKv } from 'connector-state';

const kv = await openKv();
const state = new StateService(console);

const tokens: number[] = [];
await state.withLock('inventory-sync', kv, async (lock) => {
  tokens.push(lock.fencingToken);
  // A second run started now is turned away.
  const other = new StateService(null);
  console.log(`second run acquires: ${await other.acquireLock('inventory-sync', kv, 15)}`);
  try {
    await other.withLock('inventory-sync', kv, async () => 'never runs');
  } catch (error) {
    if (!(error instanceof StateError) || error.code !== 'LOCK_HELD') throw error;
    console.log(`withLock: ${error.code}`);
  }
  // A long run pushes its expiry out before it passes.
  const extended = await state.extendLock('inventory-sync', kv, 30);
  console.log(`extended until ${extended?.expiresAt}`);
});

await state.withLock('inventory-sync', kv, (lock) => { tokens.push(lock.fencingToken); });
console.log(`fencing tokens: ${tokens.join(' < ')}`);
if (!(tokens[1] > tokens[0])) throw new Error('fencing tokens must rise');

// Prints (tests/js/examples.test.mjs checks it, in Node and in Deno; … is any text):
// → Lock acquired { lockName: 'inventory-sync', lockId: '…', expiresAt: '…', fencingToken: … }
// → second run acquires: false
// → withLock: LOCK_HELD
// → extended until …Z
// → Lock released { lockName: 'inventory-sync' }
// → Lock acquired { lockName: 'inventory-sync', lockId: '…', expiresAt: '…', fencingToken: … }
// → Lock released { lockName: 'inventory-sync' }
// → fencing tokens: … < …
