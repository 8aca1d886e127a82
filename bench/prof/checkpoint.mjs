// Profiling aid (issue 17): checkpoint save and load of 10 KiB against the
// hand-written set / get of the same object, alternating batches.
//   node bench/prof/checkpoint.mjs [embedded|sqlite] [batches]
import { CheckpointStore, openKv as ourOpen } from '../../js/node.mjs';
import { openKv } from '@deno/kv';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const which = process.argv[2] || 'embedded';
const batches = +(process.argv[3] || 11);
const kv = which === 'sqlite' ? await openKv(join(tmpdir(), `cs-cp-${process.pid}.sqlite`)) : await ourOpen();
const payload = (i) => ({ batch: i, items: Array.from({ length: 100 }, (_, j) => ({ id: `order-${i}-${j}`, sku: `SKU-${j}`, qty: j % 7, note: 'x'.repeat(40) })) });
const cp = new CheckpointStore(kv, { namespace: 'prof' }).open('run', { version: 1 });
await kv.set(['checkpoint:prof'], payload(0));
await cp.load();
await cp.save(payload(0), { position: 0 });
let i = 0;
const ops = {
  save: async () => cp.save(payload(i++), { position: i }),
  set: async () => kv.set(['checkpoint:prof'], payload(i++)),
  load: async () => { if ((await cp.load()).data.items.length !== 100) throw new Error('not loaded'); },
  get: async () => { if ((await kv.get(['checkpoint:prof'])).value.items.length !== 100) throw new Error('not loaded'); },
};
const variants = (process.argv[4] || 'save,set,load,get').split(',');
const N = 300;
const times = Object.fromEntries(variants.map((v) => [v, []]));
for (let b = 0; b < batches; b++) {
  for (const v of b % 2 ? variants.slice().reverse() : variants) {
    const t = performance.now();
    for (let k = 0; k < N; k++) await ops[v]();
    times[v].push(((performance.now() - t) * 1000) / N);
  }
}
for (const v of variants) {
  const s = times[v].slice(1).sort((a, b) => a - b);
  console.log(`${which} ${v}: ${s[s.length >> 1].toFixed(1)} µs/op`);
}
