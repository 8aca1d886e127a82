// Profiling aid (issue 29): wall time and the process's CPU time per
// operation (user + system, all threads: the main thread and @deno/kv's
// SQLite worker), isFileProcessed against the raw get on a SQLite file.
import { StateService } from '../../js/node.mjs';
import { openKv } from '@deno/kv';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const kv = await openKv(join(tmpdir(), `cs-cpu-${process.pid}.sqlite`));
const state = new StateService(null);
await state.updateSyncState(kv, [{ fileName: 'seen.csv', lastModified: '2026-01-01T00:00:00Z' }], 'wf');
const key = ['file:', 'wf', 'seen.csv'];
const ops = { raw: () => kv.get(key), ours: () => state.isFileProcessed(kv, 'seen.csv', 'wf') };
const N = 3000;
const out = { raw: [], ours: [] };
for (let round = 0; round < 8; round++) {
  for (const name of round % 2 ? ['ours', 'raw'] : ['raw', 'ours']) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await ops[name]();
    const wall = ((performance.now() - t0) * 1000) / N;
    const c = process.cpuUsage(c0);
    if (round > 0) out[name].push({ wall, cpu: (c.user + c.system) / N });
  }
}
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
for (const name of ['raw', 'ours']) console.log(`${name}: wall ${med(out[name].map((r) => r.wall)).toFixed(1)} µs/op, cpu ${med(out[name].map((r) => r.cpu)).toFixed(1)} µs/op`);
kv.close();
