// Profiling aid (issue 17): checkpoint save and load of 10 KiB against the
// hand-written set / get of the same object, alternating batches.
//   node bench/prof/checkpoint.mjs [embedded|sqlite] [batches]
import { CheckpointStore, openKv as ourOpen } from '../../js/node.mjs';
import { openKv } from '@deno/kv';
import { tmpdir } from 'node:os';
import { alternate } from './alternate.mjs';
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
await alternate(which, ops, variants, batches, N);
