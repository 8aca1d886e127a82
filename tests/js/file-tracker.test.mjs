import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FileTracker, VersoriFileTracker, StateError } from 'connector-state';
import { storeKinds, exactKinds, versoriKv, sleep, withMovedTime, withStore } from './helpers.mjs';

for (const [kind, open] of Object.entries(storeKinds)) {
  describe(`FileTracker on ${kind}`, () => {
    test('marks, answers and keeps metadata as given', async () => {
      await withStore(open, async (kv) => {
        const files = new FileTracker(kv, { prefix: 'inv' });
        assert.equal(await files.isProcessed('a.csv'), false);
        const metadata = { recordCount: 12, nested: { list: [1, 'two', null, true] }, ratio: 0.5 };
        await files.markProcessed('a.csv', metadata);
        assert.equal(await files.isProcessed('a.csv'), true);
        const record = await files.getRecord('a.csv');
        assert.deepEqual(record.metadata, metadata);
        assert.equal(record.fileName, 'a.csv');
        assert.ok(Date.parse(record.processedAt) > 0);
        assert.equal(await files.status('a.csv'), 'processed');
        assert.equal(await files.forget('a.csv'), true);
        assert.equal(await files.isProcessed('a.csv'), false);
      });
    });

    test('names 0.1.56 merged stay apart', async () => {
      await withStore(open, async (kv) => {
        const files = new VersoriFileTracker(kv, 'p');
        await files.markFileProcessed('a b.csv');
        assert.equal(await files.wasFileProcessed('a b.csv'), true);
        assert.equal(await files.wasFileProcessed('a_b.csv'), false);
        assert.equal(await files.wasFileProcessed('a+b.csv'), false);
      });
    });

    test('metadata JSON cannot hold is a clear error, not silent loss', async () => {
      await withStore(open, async (kv) => {
        const files = new FileTracker(kv);
        for (const [metadata, pattern] of [
          [{ when: new Date() }, /metadata\.when is a Date/],
          [{ seen: new Map([[1, 2]]) }, /metadata\.seen is a Map/],
          [{ ids: new Set([1]) }, /metadata\.ids is a Set/],
          [{ n: 10n }, /metadata\.n is a BigInt/],
          [{ f() {} }, /metadata\.f is a function/],
          [{ x: NaN }, /NaN/],
          ['text', /plain object/],
        ]) {
          await assert.rejects(files.markProcessed('m.csv', metadata), (e) => e instanceof StateError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message));
        }
        assert.equal(await files.isProcessed('m.csv'), false);
        await assert.rejects(files.markProcessed('m.csv', { fileName: 'other' }), { code: 'INVALID_ARGUMENT' });
        await assert.rejects(files.markProcessed('m.csv', { blob: 'x'.repeat(70_000) }), { code: 'VALUE_TOO_LARGE' });
        await assert.rejects(files.isProcessed(''), { code: 'INVALID_ARGUMENT' });
        await assert.rejects(files.isProcessed(7), { code: 'INVALID_ARGUMENT' });
        assert.throws(() => new FileTracker(kv, { prefix: '' }), { code: 'INVALID_ARGUMENT' });
      });
    });

    test('claims: one winner, others see in-progress, completion records', async () => {
      await withStore(open, async (kv) => {
        const runs = Array.from({ length: 20 }, () => new FileTracker(kv, 'claims'));
        const results = await Promise.all(runs.map((r) => r.claim('big.csv', { ttlMs: 60_000 })));
        const winners = results.filter((r) => r.claimed);
        if (exactKinds.includes(kind)) assert.equal(winners.length, 1);
        else assert.ok(winners.length >= 1);
        const winner = runs[results.findIndex((r) => r.claimed)];
        assert.equal(await runs[0].isProcessed('big.csv'), false, 'a claim is not done');
        assert.equal(await winner.status('big.csv'), 'in-progress');
        await winner.complete('big.csv', { recordCount: 3 });
        assert.equal(await runs[5].isProcessed('big.csv'), true);
        assert.deepEqual(await runs[5].claim('big.csv'), { claimed: false, status: 'processed' });
      });
    });

    test('an abandoned claim expires; a released one frees at once', async () => {
      await withStore(open, async (kv) => {
        const a = new FileTracker(kv, 'c');
        const b = new FileTracker(kv, 'c');
        await withMovedTime(async (clock) => {
          assert.equal((await a.claim('f', { ttlMs: 60_000 })).claimed, true);
          clock.advance(59_000);
          assert.equal((await b.claim('f', { ttlMs: 60_000 })).status, 'in-progress');
          clock.advance(2_000);
          assert.equal((await b.claim('f', { ttlMs: 60_000 })).claimed, true);
        });
        await assert.rejects(a.complete('f'), { code: 'CLAIM_NOT_HELD' });
        assert.equal(await b.release('f'), true);
        assert.equal(await a.status('f'), 'new');
      });
    });

    test('last processed file', async () => {
      await withStore(open, async (kv) => {
        const files = new VersoriFileTracker(kv, 'last');
        assert.equal(await files.getLastProcessedFile(), null);
        await files.setLastProcessedFile('x.csv');
        assert.equal(await files.getLastProcessedFile(), 'x.csv');
      });
    });
  });
}

describe('compatibility with 0.1.56 records', () => {
  test('records 0.1.56 wrote under its sanitized keys are recognised', async () => {
    const kv = versoriKv();
    // Exactly what 0.1.56's VersoriFileTracker stored.
    await kv.set('inventory/processed-files/stock_2026.csv', { processedAt: '2026-01-01T00:00:00.000Z', recordCount: 4 });
    await kv.set('inventory/processed-files/plain.csv', { processedAt: '2026-01-01T00:00:00.000Z' });
    await kv.set('inventory/last-processed-file', 'plain.csv');
    const files = new VersoriFileTracker(kv, 'inventory');
    assert.equal(await files.wasFileProcessed('stock 2026.csv'), true);
    assert.equal(await files.wasFileProcessed('plain.csv'), true);
    assert.equal(await files.getLastProcessedFile(), 'plain.csv');
    assert.deepEqual((await files.getRecord('stock 2026.csv')).metadata, { recordCount: 4 });
  });

  test('our records sit where 0.1.56 looks for safe names', async () => {
    const kv = versoriKv();
    await new VersoriFileTracker(kv, 'inventory').markFileProcessed('plain.csv', { recordCount: 1 });
    assert.ok(kv.entries().some((e) => e.key === 'inventory/processed-files/plain.csv'));
  });

  test('a store failure is never "not processed"', async () => {
    const kv = versoriKv();
    // Store methods are looked up once, when a tracker wraps the store.
    kv.get = async () => { throw new Error('503 from KV'); };
    const files = new VersoriFileTracker(kv, 'x');
    await assert.rejects(files.wasFileProcessed('a.csv'), (e) => e.code === 'STORE_UNAVAILABLE' && /503/.test(e.message));
  });
});

describe('input edges', () => {
  test('names with lone surrogates are refused instead of colliding', async () => {
    const { kv } = await storeKinds.embedded();
    const files = new FileTracker(kv);
    for (const name of ['a\uD800.csv', 'a\uDC00.csv']) {
      await assert.rejects(files.markProcessed(name), (e) => e.code === 'INVALID_ARGUMENT' && /lone surrogate/.test(e.message));
    }
    await assert.rejects(files.markProcessed('ok.csv', { note: 'x\uD800' }), { code: 'INVALID_ARGUMENT' });
    assert.equal(await files.isProcessed('a\uFFFD.csv'), false);
  });

  test('metadata keys come back in the order given', async () => {
    const { kv } = await storeKinds.embedded();
    const files = new FileTracker(kv);
    await files.markProcessed('o.csv', { zeta: 1, alpha: 2, mid: { y: 1, b: 2 } });
    const { metadata } = await files.getRecord('o.csv');
    assert.deepEqual(Object.keys(metadata), ['zeta', 'alpha', 'mid']);
    assert.deepEqual(Object.keys(metadata.mid), ['y', 'b']);
  });

  test('a forgotten await on openKv gets a message that says so', async () => {
    const { openKv } = await import('connector-state');
    assert.throws(() => new FileTracker(openKv()), (e) => e.code === 'INVALID_ARGUMENT' && /await openKv/.test(e.message));
  });
});

test('VersoriFileTracker passes its options on: now and maxWriteDelayMs', async () => {
  const { VersoriFileTracker: Versori } = await import('connector-state');
  const { createVersoriKv: versoriStore } = await import('connector-state/testing');
  const kv = versoriStore();
  const at = Date.parse('2020-01-02T03:04:05.000Z');
  const timed = new Versori(kv, 'v', { now: () => at, maxWriteDelayMs: 250 });
  assert.equal(timed.capabilities().maxWriteDelayMs, 250);
  assert.equal(timed.capabilities().guarantee, 'timed');
  await timed.markFileProcessed('a.csv');
  assert.equal((await timed.getRecord('a.csv')).processedAt, '2020-01-02T03:04:05.000Z');
  const bestEffort = new Versori(kv, 'v', { maxWriteDelayMs: 0 });
  assert.notEqual(bestEffort.capabilities().guarantee, 'timed');
  assert.equal(new Versori(kv, 'v').capabilities().maxWriteDelayMs, 100);
});
