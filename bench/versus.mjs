// npm run bench:versus -- <dir of another checkout>: the core operations of
// this tree and of another build of the package, side by side in one run,
// on the same kinds of store. Batches alternate between the two builds, so
// a busy moment of the machine weighs on both alike. For refactors: "no
// operation got slower". The other checkout needs its `pkg/` built
// (`npm run build` there).
//
// Prints one row per store and operation: ops/s of each build (median of
// the batches) and after / before. Run it against this same tree
// (`npm run bench:versus -- .`) to see the noise floor: on 2 cores the
// SQLite rows vary by about ±12% between two runs of one build.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openKv as openDenoKv } from '@deno/kv';

const other = process.argv.slice(2).find((a) => !a.startsWith('--'));
if (!other || !existsSync(join(other, 'pkg', 'connector_state_bg.wasm'))) {
  console.error('usage: npm run bench:versus -- <checkout whose pkg/ is built>');
  process.exit(2);
}
const REPS = Number(process.argv.find((a) => a.startsWith('--reps='))?.slice(7) ?? 7);
// --only=text: just the rows whose store or operation contains text.
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const builds = {
  before: await import(pathToFileURL(resolve(other, 'js', 'node.mjs')).href),
  after: await import(new URL('../js/node.mjs', import.meta.url).href),
};

/** A Versori-style store: JSON values, get/set/delete only. */
function versoriKv() {
  const data = new Map();
  return {
    async get(k) { const v = data.get(JSON.stringify(k)); return v === undefined ? undefined : JSON.parse(v); },
    async set(k, v) { data.set(JSON.stringify(k), JSON.stringify(v)); },
    async delete(k) { data.delete(JSON.stringify(k)); },
  };
}

const scratch = mkdtempSync(join(tmpdir(), 'cs-versus-'));
const stores = [
  { name: 'embedded', open: (pkg) => pkg.openKv(), batch: 400 },
  { name: '@deno/kv SQLite', open: (pkg, side, op) => openDenoKv(join(scratch, `${side}-${op}.sqlite`)), batch: 100 },
  { name: 'versori-style', open: async () => versoriKv(), batch: 200 },
];

const payload = (i) => ({ batch: i, items: Array.from({ length: 100 }, (_, j) => ({ id: `order-${i}-${j}`, sku: `SKU-${j}`, qty: j % 7, note: 'x'.repeat(40) })) });
const operations = [
  {
    name: 'isFileProcessed',
    setup: async (c) => c.state.updateSyncState(c.kv, [{ fileName: 'seen.csv', lastModified: '2026-01-01T00:00:00Z' }], 'wf'),
    op: async (c) => { if (!(await c.state.isFileProcessed(c.kv, 'seen.csv', 'wf'))) throw new Error('wrong answer'); },
  },
  { name: 'markFileProcessed', op: async (c, i) => c.files.markFileProcessed(`file-${i}.csv`, { recordCount: i }) },
  {
    name: 'acquire + release',
    op: async (c) => {
      if (!(await c.state.acquireLock('bench-lock', c.kv, 1))) throw new Error('lock not acquired');
      await c.state.releaseLock('bench-lock', c.kv);
    },
  },
  {
    name: 'updateSyncState (10 files)',
    op: async (c, i) => c.state.updateSyncState(c.kv, Array.from({ length: 10 }, (_, j) => ({ fileName: `s-${i}-${j}.csv`, lastModified: new Date(1_767_225_600_000 + i * 10 + j).toISOString(), recordCount: 5 })), 'wf-sync'),
  },
  { name: 'indexed mark', op: async (c, i) => c.indexed.mark(`new-${i}.csv`, { i }) },
  {
    name: 'indexed list (500 files)',
    setup: async (c) => { for (let i = 0; i < 500; i++) await c.listed.mark(`f-${i}.csv`); },
    op: async (c) => { let n = 0; let cursor = null; do { const p = await c.listed.list({ limit: 200, cursor }); n += p.files.length; cursor = p.cursor; } while (cursor); if (n !== 500) throw new Error(`listed ${n}`); },
    batchDivisor: 20,
  },
  {
    name: 'checkpoint save + load (10 KiB)',
    setup: async (c) => { c.cp = c.checkpoints.open('run', { version: 1 }); await c.cp.load(); },
    op: async (c, i) => { await c.cp.save(payload(i), { position: i }); if ((await c.cp.load()).data.batch !== i) throw new Error('checkpoint'); },
    batchDivisor: 4,
  },
  {
    name: 'job create + complete',
    op: async (c, i) => { await c.jobs.createJob(`job-${i}`); await c.jobs.markCompleted(`job-${i}`); },
    batchDivisor: 2,
  },
];

async function context(pkg, kv) {
  return {
    kv,
    state: new pkg.StateService(null),
    files: new pkg.VersoriFileTracker(kv, 'bench'),
    indexed: new pkg.IndexedFileTracker(kv, { prefix: 'bench', log: null }),
    listed: new pkg.IndexedFileTracker(kv, { prefix: 'listed', log: null }),
    checkpoints: new pkg.CheckpointStore(kv, { namespace: 'bench', log: null }),
    jobs: new pkg.JobTracker(kv, null),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const store of stores) {
  for (const operation of operations) {
    if (only && !`${store.name} ${operation.name}`.includes(only)) continue;
    const sides = {};
    for (const [side, pkg] of Object.entries(builds)) {
      const kv = await store.open(pkg, side, operation.name.replace(/\W+/g, '-'));
      const c = await context(pkg, kv);
      await operation.setup?.(c);
      sides[side] = { c, kv, rates: [], i: 0 };
    }
    const batch = Math.max(5, Math.floor(store.batch / (operation.batchDivisor ?? 1)));
    // A warm-up batch each, then REPS alternating timed batches.
    for (let rep = -1; rep < REPS; rep++) {
      for (const side of rep % 2 ? ['before', 'after'] : ['after', 'before']) {
        const s = sides[side];
        const t0 = performance.now();
        for (let k = 0; k < batch; k++) await operation.op(s.c, s.i++);
        if (rep >= 0) s.rates.push(batch / ((performance.now() - t0) / 1000));
      }
    }
    for (const s of Object.values(sides)) s.kv.close?.();
    const before = median(sides.before.rates);
    const after = median(sides.after.rates);
    rows.push({ store: store.name, operation: operation.name, before, after, ratio: after / before });
    console.error(`${store.name} | ${operation.name}: ${(after / before).toFixed(2)}x`);
  }
}
rmSync(scratch, { recursive: true, force: true });
const fmt = (n) => Math.round(n).toLocaleString('en');
console.log('| store | operation | before ops/s | after ops/s | after / before |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.store} | ${r.operation} | ${fmt(r.before)} | ${fmt(r.after)} | ${r.ratio.toFixed(2)}x |`);
