// Profiling aid (issue 17): one hot operation against the raw store call it
// makes, in alternating batches in one process.
//   node bench/prof/hot.mjs [sqlite|embedded|denokv-url] [variants,...] [batches]
// With --cpu-prof on a build made with CONNECTOR_STATE_NAMES=1 the profile
// names the wasm functions.
import { StateService, openKv as ourOpen } from '../../js/node.mjs';
import { openKv } from '@deno/kv';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { startRedis, startPostgres } from '../../tests/servers.mjs';
import { join } from 'node:path';

const which = process.argv[2] || 'sqlite';
const variants = (process.argv[3] || 'raw,ours,theirs').split(',');
const batches = +(process.argv[4] || 15);
const server = which === 'redis' ? await startRedis() : which === 'postgres' ? await startPostgres() : null;
const kv = which === 'sqlite' ? await openKv(join(tmpdir(), `cs-hot-${process.pid}.sqlite`)) : server ? await ourOpen(server.url) : await ourOpen();
const require = createRequire(new URL('../package.json', import.meta.url));
const T = await import(require.resolve('@fluentcommerce/fc-connect-sdk'));
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const state = new StateService(null);
const theirs = new T.StateService(quiet);
await state.updateSyncState(kv, [{ fileName: 'seen.csv', lastModified: '2026-01-01T00:00:00Z' }], 'wf');
const ops = {
  raw: async () => kv.get(['file:', 'wf', 'seen.csv']),
  raw2: async () => { const e = await kv.get(['file:', 'wf', 'seen.csv']); if (!e.versionstamp || !e.value) throw new Error('absent'); },
  ours: async () => { if (!(await state.isFileProcessed(kv, 'seen.csv', 'wf'))) throw new Error('ours: wrong answer'); },
  theirs: async () => { if (!(await theirs.isFileProcessed(kv, 'seen.csv', 'wf'))) throw new Error('theirs: wrong answer'); },
};
const N = which === 'embedded' ? 5000 : 1000;
const times = Object.fromEntries(variants.map((v) => [v, []]));
for (let b = 0; b < batches; b++) {
  for (const v of b % 2 ? variants.slice().reverse() : variants) {
    const t = performance.now();
    for (let i = 0; i < N; i++) await ops[v]();
    times[v].push(((performance.now() - t) * 1000) / N);
  }
}
for (const v of variants) {
  const s = times[v].slice(1).sort((a, b) => a - b);
  console.log(`${which} ${v}: ${s[s.length >> 1].toFixed(1)} µs/op (median of ${s.length} batches of ${N})`);
}

kv.close?.();
server?.remove?.();
