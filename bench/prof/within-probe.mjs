// Profiling aid (issue 29): isFileProcessed on a @deno/kv SQLite file
// against the raw get, the raw get inside the store-call time bound, and
// ours with and without that bound, alternating in one process.
import { StateService } from '../../js/node.mjs';
import { openKv } from '@deno/kv';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternate } from './alternate.mjs';
import { within } from '../../pkg/snippets/connector-state-2edf1e801642102a/src/wasm/host.js';

const kv = await openKv(join(tmpdir(), `cs-within-${process.pid}.sqlite`));
const state = new StateService(null);
const unbounded = new StateService(null, { storeTimeoutMs: 0 });
await state.updateSyncState(kv, [{ fileName: 'seen.csv', lastModified: '2026-01-01T00:00:00Z' }], 'wf');
const key = ['file:', 'wf', 'seen.csv'];
const ops = {
  raw: () => kv.get(key),
  rawWithin: () => within(kv.get(key), 60_000),
  ours: async () => { if (!(await state.isFileProcessed(kv, 'seen.csv', 'wf'))) throw new Error('wrong'); },
  oursUnbounded: async () => { if (!(await unbounded.isFileProcessed(kv, 'seen.csv', 'wf'))) throw new Error('wrong'); },
};
await alternate('sqlite', ops, (process.argv[2] ?? 'raw,rawWithin,ours,oursUnbounded').split(','), +(process.argv[3] ?? 9), 1000);
kv.close();
