// npm run bench: the same operations on connector-state and on
// fc-connect-sdk 0.1.56, over the same stores, in one run. Prints a table and
// writes bench/results/compare.{json,md,svg}.
//
// Stores: the embedded in-memory store, a @deno/kv SQLite file, a denokv
// server on 127.0.0.1, PostgreSQL and Redis (this package's stores on
// servers the run starts), and a Versori-style store that adds 1 ms to
// every call (a remote store). 0.1.56 runs through its VersoriKVAdapter and
// Versori classes (as its users run it); this package takes each store as is.
//
// Each operation: a warm-up, then PAIRS pairs of timed batches, one of each
// package, in alternating order; the ratio is taken per pair (so a machine
// that slows down for a while slows both sides of the pairs it touches) and
// reported as the median of the pair ratios with its interquartile spread.
// ops/s is the median batch, with the slowest and fastest batch. Store calls
// per operation come from one more batch through a counting view; our
// overhead per operation is our time per operation less what its store
// calls cost when made directly (a raw `get` on the same store, timed in
// the same process).
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { openKv as openDenoKv } from '@deno/kv';
import { metered } from './metered.mjs';
import { markdown, num } from './render.mjs';
import * as ours from '../js/node.mjs';
import { createVersoriKv } from '../js/testing.mjs';
import { startDenoKv, versoriView, root } from '../tests/reliability/stores.mjs';
import { scratch } from '../tests/reliability/contention.mjs';
import { startPostgres, startRedis } from '../tests/servers.mjs';

const require = createRequire(join(root, 'bench', 'package.json'));
const theirs = await import(pathToFileURL(require.resolve('@fluentcommerce/fc-connect-sdk')).href);
const quick = process.argv.includes('--quick');
// --only=text: just the rows whose store or operation contains text.
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
// --store=name: run one store's rows and print them as JSON (the parent runs
// each store in a fresh process, so one store's heap never weighs on the next).
const storeArg = process.argv.find((a) => a.startsWith('--store='))?.slice(8);
const PAIRS = quick ? 3 : 9;
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

/** A Versori-style store (JSON values, no CAS, no list), optionally slow. */
function remoteKv(latencyMs) {
  const inner = createVersoriKv();
  const control = { latency: latencyMs };
  const wait = () => (control.latency > 0 ? new Promise((r) => setTimeout(r, control.latency)) : undefined);
  const kv = {
    async get(k) { await wait(); return inner.get(k); },
    async set(k, v) { await wait(); return inner.set(k, v); },
    async delete(k) { await wait(); return inner.delete(k); },
  };
  return { kv, control };
}

// ---- the two packages, over one store handle ----

/** Each side's objects over a store: `deno` is a Deno-KV-like handle, `versori` a Versori-style one. */
function sides(handle, kind) {
  const asVersori = kind === 'versori' ? handle : versoriView(handle);
  return {
    ours: {
      state: new ours.StateService(null),
      // Versori locks without the timed wait: best-effort, as 0.1.56's.
      stateBestEffort: new ours.StateService(null, { maxWriteDelayMs: 0 }),
      kv: handle,
      files: new ours.VersoriFileTracker(handle, 'bench'),
      indexed: (prefix) => new ours.VersoriIndexedFileTracker(handle, prefix),
      checkpoints: new ours.CheckpointStore(handle, { namespace: 'bench' }),
    },
    theirs: {
      state: new theirs.StateService(quiet),
      stateBestEffort: new theirs.StateService(quiet),
      kv: new theirs.VersoriKVAdapter(asVersori),
      files: new theirs.VersoriFileTracker(asVersori, 'bench'),
      indexed: (prefix) => new theirs.VersoriIndexedFileTracker(asVersori, prefix),
      raw: asVersori,
    },
  };
}

const payload10k = (i) => ({ batch: i, items: Array.from({ length: 100 }, (_, j) => ({ id: `order-${i}-${j}`, sku: `SKU-${j}`, qty: j % 7, note: 'x'.repeat(40) })) });

/**
 * Operations: setup(side, n) once, then op(side, i) per iteration. `batch`
 * is how many iterations one timed batch runs (fewer on slow stores).
 */
const operations = [
  {
    name: 'isFileProcessed',
    setup: async (s) => s.state.updateSyncState(s.kv, [{ fileName: 'seen.csv', lastModified: '2026-01-01T00:00:00Z' }], 'wf'),
    op: async (s) => { if (!(await s.state.isFileProcessed(s.kv, 'seen.csv', 'wf'))) throw new Error('wrong answer'); },
  },
  {
    name: 'markFileProcessed',
    op: async (s, i) => s.files.markFileProcessed(`file-${i}.csv`, { recordCount: i }),
  },
  {
    name: 'acquire + release',
    op: async (s) => {
      if (!(await s.state.acquireLock('bench-lock', s.kv, 1))) throw new Error('lock not acquired');
      await s.state.releaseLock('bench-lock', s.kv);
    },
  },
  {
    // Stores without compare-and-set only: the lock without Fischer's wait
    // (maxWriteDelayMs 0), to show the calls apart from the wait.
    name: 'acquire + release, maxWriteDelayMs 0',
    kinds: ['versori'],
    op: async (s) => {
      if (!(await s.stateBestEffort.acquireLock('bench-lock-0', s.kv, 1))) throw new Error('lock not acquired');
      await s.stateBestEffort.releaseLock('bench-lock-0', s.kv);
    },
  },
  {
    name: 'updateSyncState (10 files)',
    op: async (s, i) => s.state.updateSyncState(s.kv, Array.from({ length: 10 }, (_, j) => ({ fileName: `sync-${i}-${j}.csv`, lastModified: new Date(1_767_225_600_000 + i * 10 + j).toISOString(), recordCount: 5 })), 'wf-sync'),
  },
  ...[1000, 10_000].flatMap((n) => [
    {
      name: `indexed mark (${n.toLocaleString('en')} files)`,
      n,
      setup: async (s, side) => prefill(s, side, `mark-${n}`, n),
      op: async (s, i) => s.tracker.markFileProcessed(`new-${i}.csv`, { i }),
    },
    {
      name: `indexed list (${n.toLocaleString('en')} files)`,
      n,
      slow: true,
      setup: async (s, side) => prefill(s, side, `list-${n}`, n),
      op: async (s) => { const files = await s.tracker.listProcessedFiles(); if (files.length < s.expected) throw new Error(`listed ${files.length} of ${s.expected}`); },
    },
  ]),
  {
    name: 'checkpoint save (10 KiB)',
    setup: async (s, side) => { if (side === 'ours') { s.cp = s.checkpoints.open('run', { version: 1 }); await s.cp.load(); } },
    // 0.1.56 has no checkpoints: the guide's hand-written code (pattern 3)
    // is one kvAdapter.set of the checkpoint object.
    op: async (s, i) => (s.cp ? s.cp.save(payload10k(i), { position: i }) : s.kv.set(['checkpoint:bench'], payload10k(i))),
  },
  {
    name: 'checkpoint load (10 KiB)',
    setup: async (s, side) => {
      if (side === 'ours') { s.cp = s.checkpoints.open('load', { version: 1 }); await s.cp.load(); await s.cp.save(payload10k(1), { position: 1 }); }
      else await s.kv.set(['checkpoint:load'], payload10k(1));
    },
    op: async (s) => {
      const data = s.cp ? (await s.cp.load()).data : (await s.kv.get(['checkpoint:load']))?.value;
      if (data?.items?.length !== 100) throw new Error('checkpoint not loaded');
    },
  },
];

/**
 * Puts n files in place for the indexed operations. Ours marks them through
 * its API; 0.1.56's index is written directly as 0.1.56 would have left it
 * (marking 10,000 files through it rewrites the whole array each time:
 * O(n²), minutes).
 */
async function prefill(s, side, prefix, n) {
  s.tracker = s.indexed(prefix);
  s.prefix = prefix;
  s.expected = n;
  if (side === 'ours') {
    for (let i = 0; i < n; i++) await s.tracker.markFileProcessed(`f-${i}.csv`, { i });
    return;
  }
  const names = [];
  for (let i = 0; i < n; i++) {
    names.push(`f-${i}.csv`);
    await s.raw.set(`${prefix}:processed-files:f-${i}.csv`, { processedAt: new Date().toISOString(), i });
  }
  await s.raw.set('fc-sdk:file-index', names);
}

const stats = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
};

/** Sets one side up on its own fresh store; returns what the timed loop needs. */
async function prepare(store, opDef, side) {
  let s0 = store;
  if (store.latencyMs) {
    const { kv, control } = remoteKv(store.latencyMs);
    s0 = { ...store, handle: kv, latency: control };
  }
  const h = s0.fresh ? await s0.fresh() : s0.handle;
  if (s0.latency) s0.latency.latency = 0; // setup runs at full speed
  const s = sides(h, store.kind)[side];
  const batch = store.latencyMs ? (opDef.slow ? 1 : 10) : opDef.slow ? 3 : store.batch;
  const ctx = { side, h, s, i: 0, batch, rates: [], latency: s0.latency, latencyMs: store.latencyMs, close: () => s0.fresh && h.close?.() };
  if (opDef.setup) await opDef.setup(s, side);
  // Warm-up to steady state: V8 tiers hot JavaScript and wasm up over the
  // first few hundred calls (Liftoff, then TurboFan), so a short warm-up
  // times the baseline tiers. At least min(batch, 20) calls, then more
  // until 300 ms or 1,000 calls have passed.
  const warmStart = performance.now();
  for (let w = 0; w < Math.min(batch, 20) || (w < 1000 && performance.now() - warmStart < 300); w++) await opDef.op(s, ctx.i++);
  if (ctx.latency) ctx.latency.latency = store.latencyMs;
  return ctx;
}

async function timedBatch(opDef, ctx) {
  const t = performance.now();
  for (let k = 0; k < ctx.batch; k++) await opDef.op(ctx.s, ctx.i++);
  ctx.rates.push((ctx.batch * 1000) / (performance.now() - t));
}

/** Store calls per operation, through a counting view of the same store. */
async function countCalls(store, opDef, ctx) {
  const { view, m } = metered(ctx.h);
  const cs = sides(view, store.kind)[ctx.side];
  if (ctx.s.tracker) { cs.tracker = cs.indexed(ctx.s.prefix); cs.expected = ctx.s.expected; }
  if (ctx.s.cp) { cs.cp = cs.checkpoints.open(opDef.name.includes('load') ? 'load' : 'run', { version: 1 }); await cs.cp.load(); }
  // Steady state: one operation first (a checkpoint's first save after
  // open also reads its pending-chunks record).
  await opDef.op(cs, ctx.i++);
  const before = m.calls;
  const n = opDef.slow ? 1 : 5;
  for (let k = 0; k < n; k++) await opDef.op(cs, ctx.i++);
  return (m.calls - before) / n;
}

/** Microseconds of one raw `get` of an existing key on this store, made
 *  directly (the cost our calls would have with nothing of ours around them). */
async function rawCallUs(ctx) {
  const kv = ctx.h;
  const key = Array.isArray(ctx.rawKey) ? ctx.rawKey : ['bench-raw'];
  if (ctx.latency) ctx.latency.latency = ctx.latencyMs;
  await kv.set(key, { probe: true });
  const n = ctx.latency ? 20 : 200;
  for (let i = 0; i < 10; i++) await kv.get(key);
  const t = performance.now();
  for (let i = 0; i < n; i++) await kv.get(key);
  return ((performance.now() - t) * 1000) / n;
}

/** Both sides on the same kind of store, their timed batches interleaved. */
async function measure(store, opDef) {
  const out = {};
  const ctxs = [];
  for (const side of ['ours', 'theirs']) {
    try {
      ctxs.push(await prepare(store, opDef, side));
    } catch (e) {
      out[side] = { error: String(e.message ?? e).split('\n')[0].slice(0, 120) };
    }
  }
  try {
    for (let r = 0; r < PAIRS; r++) {
      for (const ctx of r % 2 ? ctxs.slice().reverse() : ctxs) {
        if (out[ctx.side]) continue;
        try {
          await timedBatch(opDef, ctx);
        } catch (e) {
          out[ctx.side] = { error: String(e.message ?? e).split('\n')[0].slice(0, 120) };
        }
      }
    }
    for (const ctx of ctxs) {
      if (out[ctx.side]) continue;
      out[ctx.side] = { ...stats(ctx.rates), calls: await countCalls(store, opDef, ctx), batch: ctx.batch };
      if (ctx.side === 'ours') out.ours.overheadUs = 1e6 / out.ours.median - out.ours.calls * (await rawCallUs(ctx));
    }
    const [ours, theirs] = ['ours', 'theirs'].map((side) => ctxs.find((c) => c.side === side));
    if (ours && theirs && !out.ours.error && !out.theirs.error) {
      const ratios = ours.rates.map((rate, i) => rate / theirs.rates[i]).sort((a, b) => a - b);
      out.pairRatios = { median: ratios[Math.floor(ratios.length / 2)], p25: ratios[Math.floor((ratios.length - 1) / 4)], p75: ratios[Math.ceil(((ratios.length - 1) * 3) / 4)], pairs: ratios.length };
    }
  } finally {
    for (const ctx of ctxs) ctx.close();
  }
  return out;
}

async function main() {
  const tmp = scratch();
  const server = await startDenoKv(join(tmp.dir, 'server.sqlite'));
  // The PostgreSQL and Redis servers start only for their own rows.
  const servers = {};
  const on = async (name, start) => (servers[name] ??= await start());
  let n = 0;
  const sqliteFresh = () => openDenoKv(join(tmp.dir, `bench-${n++}.sqlite`));
  const stores = [
    { name: 'embedded', kind: 'deno', batch: 200, fresh: async () => ours.openKv() },
    { name: 'deno-kv sqlite', kind: 'deno', batch: 100, fresh: sqliteFresh },
    { name: 'denokv server', kind: 'deno', batch: 50, fresh: async () => { process.env.DENO_KV_ACCESS_TOKEN = server.spec.token; return openDenoKv(server.spec.url); } },
    { name: 'postgres', kind: 'deno', batch: 50, fresh: async () => ours.openKv((await on('postgres', startPostgres)).url, { namespace: `bench-${n++}` }) },
    { name: 'redis', kind: 'deno', batch: 100, fresh: async () => ours.openKv((await on('redis', startRedis)).url, { namespace: `bench-${n++}` }) },
    { name: 'remote, 1 ms/call', kind: 'versori', latencyMs: 1 },
  ];
  const rows = [];
  try {
    for (const store of stores) {
      if (storeArg && store.name !== storeArg) continue;
      for (const opDef of operations) {
        if (quick && opDef.n === 10_000) continue;
        if (opDef.kinds && !opDef.kinds.includes(store.kind)) continue;
        if (only && !`${store.name} · ${opDef.name}`.includes(only)) continue;
        const result = { store: store.name, operation: opDef.name, ...(await measure(store, opDef)) };
        // The ratio is the median of the pair ratios (see the top of this file).
        if (result.pairRatios) result.ratio = result.pairRatios.median;
        rows.push(result);
        console.error(`[bench] ${store.name} · ${opDef.name}: ${fmt(result.ours)} vs ${fmt(result.theirs)}`);
      }
    }
  } finally {
    server.stop();
    for (const s of Object.values(servers)) s.remove();
    tmp.remove();
  }
  return rows;
}

const fmt = (r) => (r.error ? `error (${r.error})` : `${num(r.median)}/s`);

/** A horizontal bar chart of ours/theirs on a log scale, one bar per row. */
function svg(rows) {
  const usable = rows.filter((r) => r.ratio || (r.theirs?.error && !r.ours?.error));
  const rowH = 18;
  const left = 330;
  const width = 820;
  const plot = width - left - 60;
  const height = 50 + usable.length * rowH + 30;
  const max = Math.log10(Math.max(100, ...usable.filter((r) => r.ratio).map((r) => Math.max(r.ratio, 1 / r.ratio))));
  const x = (ratio) => left + plot / 2 + (Math.log10(ratio) / max) * (plot / 2);
  const esc = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">connector-state vs fc-connect-sdk 0.1.56: ops/s, ours / theirs (log scale; right of 1× = ours faster)</text>`,
  ];
  for (const tick of [0.01, 0.1, 1, 10, 100].filter((t) => Math.abs(Math.log10(t)) <= max + 1e-9)) {
    parts.push(`<line x1="${x(tick)}" y1="32" x2="${x(tick)}" y2="${height - 25}" stroke="${tick === 1 ? '#333' : '#ddd'}"/>`);
    parts.push(`<text x="${x(tick)}" y="${height - 10}" text-anchor="middle">${tick}×</text>`);
  }
  usable.forEach((r, i) => {
    const y = 40 + i * rowH;
    const x0 = x(1);
    const x1 = x(r.ratio);
    parts.push(`<text x="${left - 6}" y="${y + 12}" text-anchor="end">${esc(`${r.store} · ${r.operation}`)}</text>`);
    if (!r.ratio) {
      parts.push(`<text x="${x0 + 4}" y="${y + 12}" fill="#777">0.1.56 fails: its index outgrows a store value</text>`);
      return;
    }
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 2}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 5}" fill="${r.ratio >= 1 ? '#2a7' : '#d54'}"/>`);
    parts.push(`<text x="${r.ratio >= 1 ? x1 + 4 : x1 - 4}" y="${y + 12}" text-anchor="${r.ratio >= 1 ? 'start' : 'end'}">${r.ratio.toFixed(2)}×</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

if (storeArg) {
  process.stdout.write(JSON.stringify(await main()));
  process.exit(0);
}
const rows = [];
for (const name of ['embedded', 'deno-kv sqlite', 'denokv server', 'postgres', 'redis', 'remote, 1 ms/call']) {
  const args = [fileURLToPath(import.meta.url), `--store=${name}`, ...process.argv.slice(2)];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  rows.push(...JSON.parse(out));
}
const table = markdown(rows);
console.log(table);
if (!quick) {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const { moduleSize, startup } = await import('./startup.mjs');
  const module = { ...moduleSize(), startup: startup() };
  // The run before stays beside this one (docs/speed.md shows both ratios).
  if (existsSync(join(dir, 'compare.json'))) renameSync(join(dir, 'compare.json'), join(dir, 'compare-previous.json'));
  writeFileSync(join(dir, 'compare.json'), `${JSON.stringify({ when: new Date().toISOString(), node: process.version, pairs: PAIRS, rows, module }, null, 2)}\n`);
  writeFileSync(join(dir, 'compare.md'), `${table}\n`);
  writeFileSync(join(dir, 'compare.svg'), `${svg(rows)}\n`);
  const st = module.startup;
  console.log(`\nmodule: ${module.wasmBytes.toLocaleString('en')} B wasm (${module.wasmGzip.toLocaleString('en')} B gzipped), ${module.glueBytes.toLocaleString('en')} B JS glue`);
  for (const [k, v] of Object.entries(st)) console.log(`${k}: import ${v.importMs.median.toFixed(1)} ms, ready ${v.readyMs.median.toFixed(1)} ms after process start (median of ${v.readyMs.runs})`);
  console.error('[bench] written to bench/results/compare.{json,md,svg}');
}
