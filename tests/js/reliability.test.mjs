// The reliability suite, shorter (npm run reliability runs the full one and
// the comparison with 0.1.56): separate OS processes on a shared SQLite file
// and on a denokv server, a paused holder, and injected faults.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileContention, lockContention, pausedHolder, scratch } from '../reliability/contention.mjs';
import { faultRun } from '../reliability/faults.mjs';
import { startDenoKv } from '../reliability/stores.mjs';

const dir = scratch();
let server;
before(async () => { server = await startDenoKv(join(dir.dir, 'server.sqlite'), { lifetimeSeconds: 300 }); });
after(() => { server?.stop(); dir.remove(); });

const stores = {
  'a @deno/kv SQLite file': () => ({ kind: 'sqlite', path: join(dir.dir, 'state.sqlite') }),
  'a denokv server': () => server.spec,
};

for (const [name, store] of Object.entries(stores)) {
  describe(`4 processes on ${name}`, () => {
    test('200 lock acquisitions: one holder at a time, fencing tokens rising', async () => {
      const r = await lockContention({ impl: 'ours', store: store(), acquisitions: 200, dir: dir.dir });
      assert.equal(r.acquisitions, 200);
      assert.equal(r.maxHolders, 1);
      assert.equal(r.overlapping, 0);
      assert.equal(r.fencingViolations, 0);
    });

    test('300 files claimed: each processed exactly once and listed', async () => {
      const r = await fileContention({ impl: 'ours', store: store(), files: 300, dir: dir.dir });
      assert.deepEqual({ processed: r.processed, duplicates: r.duplicates, missing: r.missing, missingFromListing: r.missingFromListing },
        { processed: 300, duplicates: 0, missing: 0, missingFromListing: 0 });
    });

    test('a holder paused past its expiry loses the lock and cannot release the new holder\'s', async () => {
      const r = await pausedHolder({ impl: 'ours', store: store(), dir: dir.dir });
      assert.equal(r.extend, 'LOCK_NOT_HELD');
      assert.equal(r.lateReleaseReturned, false);
      assert.equal(r.newHolderKeptLock, true);
      assert.equal(r.tokensRose, true);
    });
  });
}

for (const store of ['deno-kv', 'versori']) {
  test(`1,500 operations at 20% injected faults (${store}): every fault surfaces coded, nothing lost`, async () => {
    const r = await faultRun({ store, operations: 1500, seed: 11 });
    assert.ok(r.faults > 200, `faults injected: ${r.faults}`);
    assert.ok(r.ambiguous > 20, `ambiguous writes: ${r.ambiguous}`);
    assert.equal(r.rejected, r.coded, JSON.stringify(r.uncodedSamples));
    assert.equal(r.traps, 0);
    assert.equal(r.faultsHidden, 0);
    assert.equal(r.wrongAnswers, 0);
    assert.equal(r.lostRecords, 0);
    assert.equal(r.lostIndexEntries, 0);
    assert.equal(r.consistentAfterRebuild, true, JSON.stringify(r.afterRebuild));
    assert.equal(r.moduleAlive, true);
  });
}
