// Pattern 7, Map and Set state: stores keep JSON, so a Map or Set saved as
// is comes back as {}. encodeState/decodeState (and checkpoints, which use
// them) keep Map, Set, Date, BigInt and undefined intact.
import { CheckpointStore, decodeState, encodeState } from 'connector-state';
import { createVersoriContext } from 'connector-state/testing';

interface SyncState {
  seenSkus: Set<string>;
  stockByLocation: Map<string, number>;
  lastRun: Date;
}

const ctx = createVersoriContext();
const kv = ctx.openKv(':project:');
const state: SyncState = {
  seenSkus: new Set(['SKU-1', 'SKU-2']),
  stockByLocation: new Map([['DC-1', 40], ['STORE-7', 3]]),
  lastRun: new Date('2026-11-28T06:00:00Z'),
};

await kv.set('naive', state);
console.log(`saved as is: ${JSON.stringify(await kv.get('naive'))}`);

await kv.set('encoded', encodeState(state));
const back = decodeState<SyncState>(await kv.get('encoded'));
console.log(`encoded: ${back.seenSkus.size} SKUs, DC-1 stock ${back.stockByLocation.get('DC-1')}, last run ${back.lastRun.toISOString()}`);

const checkpoint = new CheckpointStore(kv, 'stock-sync').open<SyncState>('state', { version: 1 });
await checkpoint.load();
await checkpoint.save(state, { position: 2 });
const loaded = await checkpoint.load();
if (!loaded.found || !(loaded.data.stockByLocation instanceof Map)) throw new Error('the Map did not survive');
console.log(`checkpoint: ${loaded.data.stockByLocation.get('STORE-7')} at STORE-7`);

// Prints (tests/js/examples.test.mjs checks it, in Node and in Deno; … is any text):
// → saved as is: {"seenSkus":{},"stockByLocation":{},"lastRun":"2026-11-28T06:00:00.000Z"}
// → encoded: 2 SKUs, DC-1 stock 40, last run 2026-11-28T06:00:00.000Z
// → checkpoint: 3 at STORE-7
