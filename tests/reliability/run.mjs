#!/usr/bin/env node
// npm run reliability: cross-process contention on a @deno/kv SQLite file, a
// denokv server, PostgreSQL and Redis, a paused lock holder, a server killed
// and restarted mid-run, and injected store faults, for this package and for
// fc-connect-sdk 0.1.56 side by side. `--quick` runs the shorter version npm
// test uses.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileContention, lockContention, pausedHolder, scratch, serverOutage } from './contention.mjs';
import { startAll, startPostgres, startRedis } from '../servers.mjs';
import { crashTakeover, stalledHolder } from './leases.mjs';
import { delayedClaims, delayedLocks } from './versori.mjs';
import { faultRun, legacyFaultRun } from './faults.mjs';
import { haveLegacy, loadImpl, root, startDenoKv } from './stores.mjs';
import { render } from './render.mjs';
import { faultViolations, fileViolations, lockViolations, outageFileViolations, outageLockViolations, pauseViolations } from './checks.mjs';

const quick = process.argv.includes('--quick');
const size = quick
  ? { acquisitions: 200, files: 300, operations: 1500, crashRounds: 3, stallRounds: 1 }
  : { acquisitions: 1000, files: 2000, operations: 10_000, crashRounds: 10, stallRounds: 5 };

if (!haveLegacy()) {
  console.error('[reliability] installing fc-connect-sdk 0.1.56 into bench/ (for the comparison only)');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: join(root, 'bench'), stdio: 'inherit' });
}

const impls = ['ours', '0.1.56'];
const results = { size, when: new Date().toISOString(), node: process.version, rows: {} };
const s = scratch();
const [server, postgres, redis] = await startAll(() => startDenoKv(join(s.dir, 'server.sqlite')), () => startPostgres({ lifetimeSeconds: 3600 }), () => startRedis({ lifetimeSeconds: 3600 }));
const stores = {
  'sqlite file': { kind: 'sqlite', path: join(s.dir, 'state.sqlite') },
  'denokv server': server.spec,
  postgres: { kind: 'postgres', url: postgres.url },
  redis: { kind: 'redis', url: redis.url },
};
const servers = { postgres, redis };
// The stores killed and restarted mid-run (the denokv server too).
const restartable = { postgres, redis, 'denokv server': server };
try {
  for (const [storeName, shared] of Object.entries(stores)) {
    for (const impl of impls) {
      // Each implementation in its own namespace on the server stores.
      const store = shared.url && servers[storeName] ? { ...shared, namespace: `rel-${impl}` } : shared;
      const say = (what) => console.error(`[reliability] ${impl} · ${storeName} · ${what}`);
      say(`${size.acquisitions} lock acquisitions by 4 processes`);
      const lock = await lockContention({ impl, store, acquisitions: size.acquisitions, dir: s.dir });
      say(`${size.files} files claimed by 4 processes`);
      const files = await fileContention({ impl, store, files: size.files, dir: s.dir });
      say('a paused lock holder');
      const pause = await pausedHolder({ impl, store, dir: s.dir });
      results.rows[`${impl}|${storeName}`] = { lock, files, pause };
    }
  }
  for (const [storeName, handle] of Object.entries(restartable)) {
    const store = storeName === 'denokv server' ? stores[storeName] : { ...stores[storeName], namespace: 'outage' };
    const say = (what) => console.error(`[reliability] ours · ${storeName} killed (SIGKILL) and restarted mid-run · ${what}`);
    say(`${size.acquisitions} lock acquisitions by 4 processes`);
    const lock = await lockContention({ impl: 'ours', store, acquisitions: size.acquisitions, dir: s.dir, variant: 'outage', during: serverOutage(handle, { after: Math.floor(size.acquisitions / 4) }) });
    say(`${size.files} files claimed by 4 processes`);
    const files = await fileContention({ impl: 'ours', store, files: size.files, dir: s.dir, variant: 'outage', prefix: 'outage', during: serverOutage(handle, { after: Math.floor(size.files / 4) }) });
    results.rows[`ours|restart ${storeName}`] = { outage: { lock, files } };
  }
  console.error(`[reliability] ours · sqlite file · a lease holder killed with SIGKILL, ${size.crashRounds} times`);
  results.rows['ours|crash'] = { crash: await crashTakeover({ store: { kind: 'sqlite', path: join(s.dir, 'crash.sqlite') }, dir: s.dir, ttlMs: 1000, rounds: size.crashRounds }) };
  console.error(`[reliability] ours · denokv server · a renewing holder whose connection stalls, ${size.stallRounds} times`);
  results.rows['ours|stall'] = { stall: await stalledHolder({ server, ttlMs: 1500, rounds: size.stallRounds }) };
  console.error('[reliability] versori with writes landing 0–100 ms late: ours (maxWriteDelayMs 150 and 0) and 0.1.56');
  const ours = await loadImpl('ours');
  const legacy = await loadImpl('0.1.56');
  results.rows['ours|versori delayed, bound 150'] = { delayed: { locks: await delayedLocks({ lib: ours, maxWriteDelayMs: 150 }), claims: await delayedClaims({ lib: ours, maxWriteDelayMs: 150 }) } };
  results.rows['ours|versori delayed, no bound'] = { delayed: { locks: await delayedLocks({ lib: ours, maxWriteDelayMs: 0 }), claims: await delayedClaims({ lib: ours, maxWriteDelayMs: 0 }) } };
  results.rows['0.1.56|versori delayed'] = { delayed: { locks: await delayedLocks({ lib: legacy, legacy: true }), claims: await delayedClaims({ lib: legacy, legacy: true }) } };
  for (const store of ['deno-kv', 'versori']) {
    console.error(`[reliability] ours · ${store} · ${size.operations} operations at 20% store faults`);
    results.rows[`ours|faults ${store}`] = { faults: await faultRun({ store, operations: size.operations }) };
  }
  console.error(`[reliability] 0.1.56 · versori · ${size.operations} operations at 20% store faults`);
  results.rows['0.1.56|faults versori'] = { faults: await legacyFaultRun(await loadImpl('0.1.56'), { operations: size.operations }) };
} finally {
  server.stop();
  postgres.remove();
  redis.remove();
  s.remove();
}

const table = render(results);
console.log(table);
if (!quick) {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'reliability.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'reliability.md'), `${table}\n`);
  console.error(`[reliability] written to bench/results/reliability.{json,md}`);
}
// This package must keep every promise of the table: any violation fails the run.
const violations = [];
for (const [row, r] of Object.entries(results.rows)) {
  if (!row.startsWith('ours|')) continue;
  const found = r.delayed
    ? (row.includes('no bound') ? [] : [...(r.delayed.locks.most > 1 ? [`two holders at once on delayed Versori: ${JSON.stringify(r.delayed.locks)}`] : []), ...(r.delayed.claims.processedTwice ? [`files claimed twice on delayed Versori: ${JSON.stringify(r.delayed.claims)}`] : [])])
    : r.crash
    ? [...(r.crash.takenWhileAlive ? [`taken while the holder lived: ${r.crash.takenWhileAlive}`] : []), ...(r.crash.tokensRose ? [] : ['fencing token did not rise']), ...(r.crash.maxMs > 2 * r.crash.ttlMs ? [`slowest takeover ${r.crash.maxMs} ms`] : [])]
    : r.stall
    ? (r.stall.allAbortedFirst ? [] : [`a stalled holder's signal did not abort first: ${JSON.stringify(r.stall.results)}`])
    : r.faults
    ? faultViolations(r.faults)
    : r.outage
    ? [...outageLockViolations(r.outage.lock, size.acquisitions), ...outageFileViolations(r.outage.files, size.files)]
    : [...lockViolations(r.lock, size.acquisitions), ...fileViolations(r.files, size.files), ...pauseViolations(r.pause)];
  for (const v of found) violations.push(`${row.slice(5)}: ${v}`);
}
if (violations.length) {
  console.error(`[reliability] FAILED: ${violations.length} promises broken\n  ${violations.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.error('[reliability] every check of this package held');
}
export default results;
