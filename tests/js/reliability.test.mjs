// The reliability suite, shorter (npm run reliability runs the full one and
// the comparison with 0.1.56): separate OS processes on a shared SQLite file
// and on a denokv server, a paused holder, and injected faults. Every count
// of the README's table is asserted here, and each checker is also run over
// a deliberately broken variant of our code (negative controls), so a
// checker that stops seeing violations fails the suite.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileContention, lockContention, pausedHolder, scratch, serverOutage } from '../reliability/contention.mjs';
import { faultRun } from '../reliability/faults.mjs';
import { startDenoKv } from '../reliability/stores.mjs';
import { faultViolations, fileViolations, lockViolations, outageFileViolations, outageLockViolations, pauseViolations } from '../reliability/checks.mjs';
import { startAll, startPostgres, startRedis } from '../servers.mjs';
import { crashTakeover, stalledHolder } from '../reliability/leases.mjs';

const dir = scratch();
let server;
let postgres;
let redis;
before(async () => {
  [server, postgres, redis] = await startAll(() => startDenoKv(join(dir.dir, 'server.sqlite'), { lifetimeSeconds: 600 }), startPostgres, startRedis);
});
after(() => { server?.stop(); postgres?.remove(); redis?.remove(); dir.remove(); });

const stores = {
  'a @deno/kv SQLite file': () => ({ kind: 'sqlite', path: join(dir.dir, 'state.sqlite') }),
  'a denokv server': () => server.spec,
  'PostgreSQL': () => ({ kind: 'postgres', url: postgres.url, namespace: 'reliability' }),
  'Redis': () => ({ kind: 'redis', url: redis.url, namespace: 'reliability' }),
};

describe('leases under failure', () => {
  test('a holder killed with SIGKILL in its critical section: taken over after about one TTL, token rising, never while it lived', async (t) => {
    const r = await crashTakeover({ store: { kind: 'sqlite', path: join(dir.dir, 'crash.sqlite') }, dir: dir.dir, ttlMs: 1000, rounds: 3 });
    t.diagnostic(`takeovers ${r.takeovers.join(', ')} ms after the kill (TTL ${r.ttlMs} ms)`);
    assert.equal(r.takenWhileAlive, 0);
    assert.equal(r.tokensRose, true);
    assert.ok(r.maxMs <= 2 * r.ttlMs, `slowest takeover ${r.maxMs} ms`);
  });

  test('a renewing holder whose connection stalls: its signal aborts before another process takes the lock', async (t) => {
    const r = await stalledHolder({ server, ttlMs: 1500 });
    t.diagnostic(JSON.stringify(r.results));
    assert.equal(r.allAbortedFirst, true, JSON.stringify(r.results));
  });
});

// The server killed with SIGKILL in the middle of the 4-process runs, and
// restarted on its data.
for (const [name, handle] of [['PostgreSQL', () => postgres], ['Redis', () => redis], ['denokv', () => server]]) {
  describe(`4 processes on ${name}, killed and restarted mid-run`, () => {
    const spec = () => (name === 'denokv' ? server.spec : { kind: name === 'PostgreSQL' ? 'postgres' : 'redis', url: handle().url, namespace: 'outage' });

    test('200 lock acquisitions: no overlap, tokens rising, the outage reported as STORE_UNAVAILABLE, the run completes', async (t) => {
      const r = await lockContention({ impl: 'ours', store: spec(), acquisitions: 200, dir: dir.dir, variant: 'outage', during: serverOutage(handle(), { after: 50 }) });
      t.diagnostic(`down ${r.outageMs} ms, run ${r.ms} ms, errors ${JSON.stringify(r.errorsByCode)}, most holders ${r.maxHolders}`);
      assert.deepEqual(outageLockViolations(r, 200), []);
      assert.ok(r.outageMs >= 1000);
    });

    test('300 files: each processed once, every acknowledged mark kept and listed, the outage reported as STORE_UNAVAILABLE', async (t) => {
      const r = await fileContention({ impl: 'ours', store: spec(), files: 300, dir: dir.dir, variant: 'outage', prefix: 'outage', during: serverOutage(handle(), { after: 60 }) });
      t.diagnostic(`down ${r.outageMs} ms, run ${r.ms} ms, errors ${JSON.stringify(r.errorsByCode)}, duplicates ${r.duplicates}, missing from listing ${r.missingFromListing}`);
      assert.deepEqual(outageFileViolations(r, 300), []);
    });
  });
}

for (const [name, store] of Object.entries(stores)) {
  describe(`4 processes on ${name}`, () => {
    test('200 lock acquisitions: one holder at a time, fencing tokens rising, no errors', async () => {
      const r = await lockContention({ impl: 'ours', store: store(), acquisitions: 200, dir: dir.dir });
      assert.deepEqual(lockViolations(r, 200), []);
    });

    test('300 files claimed: each processed exactly once and listed, no errors', async () => {
      const r = await fileContention({ impl: 'ours', store: store(), files: 300, dir: dir.dir });
      assert.deepEqual(fileViolations(r, 300), []);
    });

    test('a holder paused past its expiry loses the lock and cannot release the new holder\'s', async () => {
      const r = await pausedHolder({ impl: 'ours', store: store(), dir: dir.dir });
      assert.deepEqual(pauseViolations(r), []);
    });
  });
}

for (const store of ['deno-kv', 'versori']) {
  test(`1,500 operations at 20% injected faults (${store}): every fault surfaces coded, nothing lost`, async () => {
    assert.deepEqual(faultViolations(await faultRun({ store, operations: 1500, seed: 11 })), []);
  });
}

// Negative controls: the same checkers over broken variants must report.
describe('negative controls: each checker catches a deliberately broken variant', () => {
  const sqlite = () => ({ kind: 'sqlite', path: join(dir.dir, 'controls.sqlite') });

  test('a lock taken by a blind write: overlaps and fencing violations are seen', async () => {
    const r = await lockContention({ impl: 'ours', store: sqlite(), acquisitions: 60, dir: dir.dir, variant: 'no-check' });
    assert.ok(r.overlapping > 0, `overlapping: ${r.overlapping}`);
    assert.ok(r.maxHolders > 1, `maxHolders: ${r.maxHolders}`);
    assert.ok(r.fencingViolations > 0, `fencingViolations: ${r.fencingViolations}`);
    assert.notDeepEqual(lockViolations(r, 60), []);
  });

  for (const [name, spec] of [['PostgreSQL', () => ({ kind: 'postgres', url: postgres.url, namespace: 'control' })], ['Redis', () => ({ kind: 'redis', url: redis.url, namespace: 'control' })]]) {
    test(`a lock taken by a blind write on ${name}: the same run sees overlaps`, async () => {
      const r = await lockContention({ impl: 'ours', store: spec(), acquisitions: 60, dir: dir.dir, variant: 'no-check' });
      assert.ok(r.overlapping > 0 && r.maxHolders > 1, `overlapping: ${r.overlapping}, maxHolders: ${r.maxHolders}`);
      assert.notDeepEqual(lockViolations(r, 60), []);
    });
  }

  test('a holder that logs its exit after releasing: the overlap is seen', async () => {
    const r = await lockContention({ impl: 'ours', store: sqlite(), acquisitions: 60, dir: dir.dir, variant: 'late-exit' });
    assert.ok(r.overlapping > 0, `overlapping: ${r.overlapping}`);
    assert.notDeepEqual(lockViolations(r, 60), []);
  });

  test('errors thrown at the workers are counted by code, not retried away', async () => {
    const r = await lockContention({ impl: 'ours', store: sqlite(), acquisitions: 40, dir: dir.dir, variant: 'flaky-acquire' });
    assert.ok(r.errorsByCode.CORRUPT_STATE > 0, JSON.stringify(r.errorsByCode));
    assert.ok(lockViolations(r, 40).some((v) => v.startsWith('errors reaching the workers')));
  });

  test('files processed without a claim: duplicates are seen', async () => {
    const r = await fileContention({ impl: 'ours', store: sqlite(), files: 60, dir: dir.dir, variant: 'no-claim', prefix: 'control-claim' });
    assert.ok(r.duplicates > 0, `duplicates: ${r.duplicates}`);
    assert.ok(fileViolations(r, 60).some((v) => v.startsWith('processed twice')));
  });

  test('files never added to the listing: they are reported missing from it', async () => {
    const r = await fileContention({ impl: 'ours', store: sqlite(), files: 100, dir: dir.dir, variant: 'no-mark', prefix: 'control-mark' });
    assert.equal(r.missingFromListing, 4); // order-00000, -00025, -00050, -00075
    assert.equal(r.duplicates, 0);
    assert.deepEqual(fileViolations(r, 100), ['missing from the listing: 4, expected 0']);
  });

  test('a late release that deletes whatever lock is there: the new holder is seen losing it', async () => {
    const r = await pausedHolder({ impl: 'ours', store: sqlite(), dir: dir.dir, variant: 'blind-release' });
    assert.equal(r.newHolderKeptLock, false);
    assert.deepEqual(pauseViolations(r), ['late release returned: true, expected false', 'new holder kept its lock: false, expected true']);
  });

  for (const store of ['deno-kv', 'versori']) {
    test(`a store that silently drops one write in 25 (${store}): lost records are seen before repair`, async () => {
      const r = await faultRun({ store, operations: 600, seed: 11, dropEvery: 25 });
      assert.ok(r.dropped > 0);
      assert.ok(r.lostBeforeRepair > 0, `lostBeforeRepair: ${r.lostBeforeRepair}`);
      assert.ok(faultViolations(r).some((v) => v.startsWith('acknowledged marks without a record')));
    });
  }

  test('a crashed holder that never renewed: the crash check sees its lock taken while it lived', async () => {
    const r = await crashTakeover({ store: { kind: 'sqlite', path: join(dir.dir, 'crash-control.sqlite') }, dir: dir.dir, ttlMs: 600, rounds: 1, variant: 'no-renew' });
    assert.ok(r.takenWhileAlive > 0, `takenWhileAlive: ${r.takenWhileAlive}`);
  });

  test('a stalled holder that is never told: the stall check sees the lock taken before any abort', async () => {
    const r = await stalledHolder({ server, ttlMs: 1000, variant: 'unwatched' });
    assert.equal(r.allAbortedFirst, false, JSON.stringify(r.results));
  });

  test('a paused holder whose extend writes without a check: the pause check sees the extend', async () => {
    const r = await pausedHolder({ impl: 'ours', store: sqlite(), dir: dir.dir, variant: 'blind-extend' });
    const seen = pauseViolations(r);
    assert.ok(seen.some((v) => v.startsWith('extend after takeover')), JSON.stringify(seen));
  });

  test('a verify() that reports nothing wrong: the fault check sees it disagree with the raw store', async () => {
    const r = await faultRun({ store: 'deno-kv', operations: 300, seed: 11, lyingVerify: true });
    assert.equal(r.verifyAgrees, false);
    assert.ok(faultViolations(r).some((v) => v.startsWith('verify() agrees with the raw store')));
  });

  test('a server-restart run with an overlap, an uncoded error, or no outage at all: the outage checks see each', () => {
    const clean = { acquisitions: 200, acquiredByWorkers: 200, maxHolders: 1, overlapping: 0, fencingViolations: 0, storeErrors: 3, errorsByCode: { STORE_UNAVAILABLE: 3 } };
    const lockSeen = (r) => outageLockViolations({ ...clean, ...r }, 200);
    assert.deepEqual(lockSeen({}), [], 'a clean run passes');
    assert.ok(lockSeen({ maxHolders: 2, overlapping: 5 }).some((v) => v.startsWith('most holders at once')));
    assert.ok(lockSeen({ errorsByCode: { STORE_UNAVAILABLE: 2, TypeError: 1 } }).some((v) => v.startsWith('errors other than STORE_UNAVAILABLE')));
    assert.ok(lockSeen({ storeErrors: 0, errorsByCode: {} }).includes('the outage never reached the workers'));
    const fileSeen = outageFileViolations({ storeErrors: 0, errorsByCode: { CORRUPT_STATE: 1 }, duplicates: 2, processed: 300, missingFromListing: 0 }, 300);
    assert.ok(fileSeen.some((v) => v.startsWith('errors other than STORE_UNAVAILABLE')));
    assert.ok(fileSeen.includes('the outage never reached the workers'));
  });

  test('errors swallowed on their way to the caller: hidden faults are seen', async () => {
    const r = await faultRun({ store: 'deno-kv', operations: 600, seed: 11, swallow: true });
    assert.ok(r.faultsHidden > 50, `faultsHidden: ${r.faultsHidden}`);
    assert.equal(r.rejected, 0);
    assert.ok(faultViolations(r).some((v) => v.startsWith('faults hidden from the caller')));
  });
});
