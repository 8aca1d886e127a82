// Profiling aid: what a checked atomic write costs on @deno/kv's SQLite
// store against a plain set of the same value.
import { openKv } from '@deno/kv';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const kv = await openKv(join(tmpdir(), `cs-atomic-${process.pid}.sqlite`));
const payload = (i) => ({ batch: i, items: Array.from({ length: 100 }, (_, j) => ({ id: `order-${i}-${j}`, sku: `SKU-${j}`, qty: j % 7, note: 'x'.repeat(40) })) });
const text = (i) => JSON.stringify(payload(i));
let stamp = (await kv.set(['m'], { inline: text(0) })).versionstamp;
let i = 0;
const ops = {
  set: async () => kv.set(['s'], payload(i++)),
  setText: async () => kv.set(['t'], { inline: text(i++) }),
  checked: async () => { const r = await kv.atomic().check({ key: ['m'], versionstamp: stamp }).check({ key: ['p'], versionstamp: null }).set(['m'], { inline: text(i++) }).commit(); if (!r.ok) throw new Error('lost'); stamp = r.versionstamp; },
  get: async () => kv.get(['s']),
  getText: async () => JSON.parse((await kv.get(['t'])).value.inline),
};
const variants = Object.keys(ops);
const times = Object.fromEntries(variants.map((v) => [v, []]));
for (let b = 0; b < 9; b++) for (const v of b % 2 ? variants.slice().reverse() : variants) { const t = performance.now(); for (let k = 0; k < 300; k++) await ops[v](); times[v].push(((performance.now() - t) * 1000) / 300); }
for (const v of variants) { const s = times[v].slice(1).sort((a, b) => a - b); console.log(`${v}: ${s[s.length >> 1].toFixed(1)} µs/op`); }
