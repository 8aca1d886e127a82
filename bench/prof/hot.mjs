// Profiling aid (issue 17): one hot operation against the raw store call it
// makes, in alternating batches in one process.
//   node bench/prof/hot.mjs [sqlite|embedded|denokv-url] [variants,...] [batches]
// With --cpu-prof on a build made with CONNECTOR_STATE_NAMES=1 the profile
// names the wasm functions.
import { StateService, openKv as ourOpen } from '../../js/node.mjs';
import { openKv } from '@deno/kv';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { alternate } from './alternate.mjs';
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
await alternate(which, ops, variants, batches, N);

kv.close?.();
server?.remove?.();
