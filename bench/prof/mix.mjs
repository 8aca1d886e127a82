// Profiling aid: a mix of operations on the embedded store (CPU-bound: the
// wasm code's own speed), µs per operation, for comparing builds.
import { CheckpointStore, FileTracker, StateService, openKv } from '../../js/node.mjs';
const kv = await openKv();
const state = new StateService(null);
const files = new FileTracker(kv);
const cp = new CheckpointStore(kv, { namespace: 'mix' }).open('run', { version: 1 });
await cp.load();
const payload = (i) => ({ batch: i, items: Array.from({ length: 100 }, (_, j) => ({ id: `order-${i}-${j}`, sku: `SKU-${j}`, qty: j % 7, note: 'x'.repeat(40) })) });
await state.updateSyncState(kv, [{ fileName: 'seen.csv', lastModified: '2026-01-01T00:00:00Z' }], 'wf');
let i = 0;
const ops = {
  isFileProcessed: () => state.isFileProcessed(kv, 'seen.csv', 'wf'),
  markProcessed: () => files.markProcessed(`f-${i++}.csv`, { n: i }),
  lock: async () => { await state.acquireLock('mix', kv, 1); await state.releaseLock('mix', kv); },
  sync10: () => state.updateSyncState(kv, Array.from({ length: 10 }, (_, j) => ({ fileName: `s-${i}-${j}.csv`, lastModified: '2026-01-01T00:00:00Z', recordCount: 1 })), 'wf2'),
  save: () => cp.save(payload(i++), { position: i }),
  load: () => cp.load(),
};
const out = {};
for (const [name, op] of Object.entries(ops)) {
  const n = name === 'save' || name === 'load' ? 300 : 3000;
  for (let k = 0; k < 100; k++) await op();
  const t = performance.now();
  for (let k = 0; k < n; k++) await op();
  out[name] = +(((performance.now() - t) * 1000) / n).toFixed(1);
}
console.log(JSON.stringify(out));
