// Profiling aid (issue 29): acquire + release on the embedded store or a
// @deno/kv SQLite file, µs per pair in batches (run under node --cpu-prof).
//   node bench/prof/locks.mjs [embedded|sqlite] [pairs per batch]
import { StateService, openKv as ourOpen } from '../../js/node.mjs';
import { openKv } from '@deno/kv';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const which = process.argv[2] || 'embedded';
const N = +(process.argv[3] || (which === 'embedded' ? 20_000 : 300));
const kv = which === 'sqlite' ? await openKv(join(tmpdir(), `cs-locks-${process.pid}.sqlite`)) : await ourOpen();
const state = new StateService(null);
for (let round = 0; round < 6; round++) {
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    if (!(await state.acquireLock('prof-lock', kv, 1))) throw new Error('lock not acquired');
    await state.releaseLock('prof-lock', kv);
  }
  if (round > 0) console.log(`${which} acquire + release: ${(((performance.now() - t) * 1000) / N).toFixed(2)} µs`);
}
kv.close?.();
