// npm run bench:index — marks and lists n files with IndexedFileTracker and
// prints store calls and bytes written per mark, time per mark and per
// listed file. Usage: node bench/indexed.mjs [n ...] (default 1000 10000 100000).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKv as openDenoKv } from '@deno/kv';
import { metered } from './metered.mjs';
import { IndexedFileTracker, openKv } from '../js/node.mjs';
import { createVersoriKv as versoriKv } from '../js/testing.mjs';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const ns = sizes.length ? sizes : [1_000, 10_000, 100_000];

const stores = {
  embedded: async () => ({ kv: await openKv(), close() {} }),
  'deno-kv sqlite': async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-bench-'));
    const kv = await openDenoKv(join(dir, 'bench.sqlite'));
    return { kv, close: () => { kv.close(); rmSync(dir, { recursive: true, force: true }); } };
  },
  'versori (no list, index)': async () => ({ kv: versoriKv(), close() {} }),
};

async function run(kv, n, m = { calls: 0, bytes: 0 }) {
  const files = new IndexedFileTracker(kv, 'bench');
  const at0 = { ...m };
  let t = performance.now();
  for (let i = 0; i < n; i++) await files.mark(`inbound/orders-${String(i).padStart(6, '0')}.xml`, { recordCount: i % 50, source: 'sftp' });
  const markMs = performance.now() - t;
  const at1 = { ...m };
  t = performance.now();
  let listed = 0;
  let cursor = null;
  do {
    const page = await files.list({ limit: 1000, cursor });
    listed += page.files.length;
    cursor = page.cursor;
  } while (cursor);
  const listMs = performance.now() - t;
  if (listed !== n) throw new Error(`listed ${listed} of ${n}`);
  return { markMs, listMs, markCalls: at1.calls - at0.calls, markBytes: at1.bytes - at0.bytes, listCalls: m.calls - at1.calls };
}

const rows = [];
for (const [name, open] of Object.entries(stores)) {
  for (const n of ns) {
    const counted = await open();
    const { view, m } = metered(counted.kv);
    const result = await run(view, n, m);
    counted.close();
    if (name === 'embedded') {
      // The embedded store is called directly (no JS round trip) when handed in as is: time that.
      const timed = await open();
      const { markMs, listMs } = await run(timed.kv, n);
      Object.assign(result, { markMs, listMs });
      timed.close();
    }
    rows.push({ store: name, n, ...result });
    console.error(`done: ${name} n=${n}`);
  }
}

console.log('| store | n | store calls / mark | bytes written / mark | µs / mark | list calls | µs / listed file |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.store} | ${r.n.toLocaleString('en')} | ${(r.markCalls / r.n).toFixed(2)} | ${Math.round(r.markBytes / r.n).toLocaleString('en')} | ${((r.markMs * 1000) / r.n).toFixed(1)} | ${r.listCalls} | ${((r.listMs * 1000) / r.n).toFixed(2)} |`);
}
