// IndexedFileTracker and 0.1.56's VersoriIndexedFileTracker through the built package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexedFileTracker, VersoriIndexedFileTracker, StateError } from 'connector-state';
import { storeKinds, exactKinds, withStore, versoriKv } from './helpers.mjs';

async function listAll(tracker, options = {}) {
  const names = [];
  let cursor = null;
  let pages = 0;
  do {
    const page = await tracker.list({ ...options, cursor });
    assert.ok(page.files.length <= (options.limit ?? 100));
    names.push(...page.files.map((f) => f.fileName));
    cursor = page.cursor;
    pages++;
  } while (cursor);
  return { names, pages };
}

/** Counts calls into a store (atomic().commit() counts as one). */
function counting(kv) {
  const counter = { calls: 0 };
  const wrapped = {};
  for (const method of ['get', 'set', 'delete']) {
    wrapped[method] = (...a) => { counter.calls++; return kv[method](...a); };
  }
  if (kv.list) wrapped.list = (...a) => { counter.calls++; return kv.list(...a); };
  if (kv.atomic) {
    wrapped.atomic = () => {
      const op = kv.atomic();
      const b = {
        check: (...a) => { op.check(...a); return b; },
        set: (...a) => { op.set(...a); return b; },
        delete: (...a) => { op.delete(...a); return b; },
        commit: () => { counter.calls++; return op.commit(); },
      };
      return b;
    };
  }
  return { kv: wrapped, counter };
}

for (const [kind, open] of Object.entries(storeKinds)) {
  test(`${kind}: 1,000 files list in pages, filter, count, clean up; prefixes are isolated`, async () => {
    await withStore(open, async (kv) => {
      const files = new IndexedFileTracker(kv, { prefix: 'inventory' });
      const orders = new IndexedFileTracker(kv, 'orders');
      for (let i = 0; i < 1000; i++) await files.mark(`inv-${String(i).padStart(4, '0')}.csv`, { recordCount: i, source: 'sftp' });
      await orders.mark('inv-0001.csv', { recordCount: 7 });
      const { names, pages } = await listAll(files, { limit: 100 });
      assert.equal(names.length, 1000);
      assert.equal(new Set(names).size, 1000);
      assert.ok(pages >= 10 && pages <= 11, `${pages} pages`);
      assert.deepEqual((await listAll(orders)).names, ['inv-0001.csv']);

      const first = await files.get('inv-0003.csv');
      assert.deepEqual(first.metadata, { recordCount: 3, source: 'sftp' });
      assert.ok(Date.parse(first.processedAt) > 0);
      const stats = await files.stats();
      assert.equal(stats.totalFiles, 1000);
      assert.equal(stats.totalRecords, 499500);
      assert.equal((await listAll(files, { namePrefix: 'inv-00', limit: 1000 })).names.length, 100);
      assert.equal((await listAll(files, { since: new Date(Date.now() + 60_000) })).names.length, 0);
      assert.equal((await listAll(files, { until: Date.now() + 60_000, limit: 1000 })).names.length, 1000);

      assert.equal(await files.remove('inv-0003.csv'), true);
      assert.equal(await files.remove('inv-0003.csv'), false);
      assert.equal(await files.isProcessed('inv-0003.csv'), false);
      assert.deepEqual(await files.cleanup({ olderThanDays: 1 }), { scanned: 999, deleted: 0, failed: 0 });
      assert.deepEqual(await files.cleanup({ before: new Date(Date.now() + 1000), batchSize: 64 }), { scanned: 999, deleted: 999, failed: 0 });
      assert.equal((await listAll(files)).names.length, 0);
      assert.equal((await files.verify()).consistent, true);
      assert.equal(await orders.isProcessed('inv-0001.csv'), true, 'the other prefix is untouched');
    });
  });
}

for (const kind of exactKinds) {
  test(`${kind}: 20 tasks marking 500 files at once lose none`, async () => {
    await withStore(storeKinds[kind], async (kv) => {
      const trackers = Array.from({ length: 20 }, () => new IndexedFileTracker(kv, 'burst'));
      await Promise.all(trackers.map(async (t, task) => {
        for (let i = 0; i < 25; i++) await t.mark(`t${task}-f${i}.xml`, { task });
      }));
      const { names } = await listAll(trackers[0], { limit: 1000 });
      assert.equal(new Set(names).size, 500);
      assert.equal((await trackers[0].stats()).totalFiles, 500);
    });
  });
}

test('10,000 files: a mark costs a constant number of store calls, listing about n / page', async () => {
  for (const [kind, make] of [['embedded', () => storeKinds.embedded()], ['versori', async () => ({ kv: versoriKv(), close() {} })]]) {
    await withStore(make, async (raw) => {
      // The embedded store is called without JS round trips; count on a @deno/kv-shaped view of it only for Versori.
      const { kv, counter } = kind === 'versori' ? counting(raw) : { kv: raw, counter: null };
      const files = new IndexedFileTracker(kv, 'big');
      let worst = 0;
      for (let i = 0; i < 10_000; i++) {
        const before = counter?.calls ?? 0;
        await files.mark(`f-${i}.csv`, { recordCount: 1 });
        if (i > 0) worst = Math.max(worst, (counter?.calls ?? 0) - before); // the first mark also creates the index
      }
      const before = counter?.calls ?? 0;
      const { names, pages } = await listAll(files, { limit: 1000 });
      assert.equal(new Set(names).size, 10_000, kind);
      assert.ok(pages === 10 || pages === 11, `${pages} pages`); // a full last page may be followed by an empty one
      if (counter) {
        assert.ok(worst <= 9, `${kind}: up to ${worst} store calls per mark`);
        const listCalls = counter.calls - before;
        assert.ok(listCalls < 10_000 / 50, `${kind}: listing 10,000 files took ${listCalls} store calls`);
      }
    });
  }
});

test('@deno/kv: store calls per mark and per listed file', async () => {
  await withStore(storeKinds['deno-kv memory'], async (raw) => {
    const { kv, counter } = counting(raw);
    const files = new IndexedFileTracker(kv, 'counted');
    for (let i = 0; i < 2000; i++) await files.mark(`f-${i}`);
    assert.equal(counter.calls, 2000, 'one write per mark');
    counter.calls = 0;
    assert.equal((await listAll(files, { limit: 500 })).names.length, 2000);
    assert.ok(counter.calls <= 5, `${counter.calls} list calls for 2,000 files`);
  });
});

test("0.1.56's VersoriIndexedFileTracker keys hold ':', which Versori never took; ours list, count and clear per prefix", async () => {
  const kv = versoriKv();
  // What 0.1.56's VersoriIndexedFileTracker would have written: refused by NATS KV.
  await assert.rejects(kv.set('fc-sdk:file-index', ['a b.csv']), /invalid key "fc-sdk:file-index"/);
  await assert.rejects(kv.set('inventory-ingestion:processed-files:a b.csv', {}), /invalid key/);
  const tracker = new VersoriIndexedFileTracker(kv, 'inventory-ingestion');
  await tracker.markFileProcessed('a b.csv', { recordCount: 10 });
  await tracker.markFileProcessed('c.csv', { recordCount: 5 });
  await new VersoriIndexedFileTracker(kv, 'orders').markFileProcessed('from-other-prefix.csv');
  const listed = await tracker.listProcessedFiles();
  assert.deepEqual(listed.map((f) => [f.fileName, f.key, f.metadata.recordCount]), [
    ['a b.csv', 'inventory-ingestion:processed-files:a b.csv', 10],
    ['c.csv', 'inventory-ingestion:processed-files:c.csv', 5],
  ]);
  await tracker.markFileProcessed('d.csv', { recordCount: 1 });
  assert.equal((await tracker.getStats()).totalFiles, 3);
  assert.equal((await tracker.getStats()).totalRecords, 16);
  // The record sits at its Versori key.
  assert.equal((await kv.get('cs=/inventory-ingestion=3Aprocessed-files/d.csv')).recordCount, 1);
  await tracker.removeProcessedFile('a b.csv');
  assert.deepEqual((await tracker.listProcessedFiles()).map((f) => f.fileName), ['c.csv', 'd.csv']);
  assert.deepEqual(await tracker.clearAllProcessedFiles(), { success: 2, failed: 0 });
  assert.deepEqual(await tracker.listProcessedFiles(), []);
  const others = new VersoriIndexedFileTracker(kv, 'orders');
  assert.deepEqual((await others.listProcessedFiles()).map((f) => f.fileName), ['from-other-prefix.csv']);
  assert.deepEqual(await new VersoriIndexedFileTracker(kv, 'empty').getStats(), { totalFiles: 0, totalRecords: 0, oldestFile: undefined, newestFile: undefined });
});

test('a crash between the index write and the record write: verify reports it, rebuild repairs it', async () => {
  const kv = versoriKv();
  const files = new IndexedFileTracker(kv, 'p');
  for (let i = 0; i < 5; i++) await files.mark(`f${i}`);
  const crashing = { ...kv, set: async (key, value) => { if (key === 'cs=/p=3Aprocessed-files/torn.csv') throw new Error('process killed'); return kv.set(key, value); } };
  await assert.rejects(new IndexedFileTracker(crashing, 'p').mark('torn.csv'), (e) => e instanceof StateError && e.code === 'STORE_UNAVAILABLE');
  const found = await files.verify();
  assert.deepEqual({ ...found }, { mode: 'index', consistent: false, indexed: 6, stale: ['torn.csv'], duplicates: [], missing: [], damagedHead: null });
  assert.deepEqual(await files.rebuild(), { removed: 1, added: 0 });
  assert.equal((await files.verify()).consistent, true);
  assert.equal((await listAll(files)).names.length, 5);
});

test('bad input and store failures are coded errors', async () => {
  const kv = versoriKv();
  const files = new IndexedFileTracker(kv, 'p');
  await assert.rejects(files.mark(''), (e) => e.code === 'INVALID_ARGUMENT' && /fileName/.test(e.message));
  await assert.rejects(files.mark('a', { 'cs:indexPage': 1 }), (e) => e.code === 'INVALID_ARGUMENT');
  await assert.rejects(files.list({ limit: 0 }), (e) => e.code === 'INVALID_ARGUMENT' && /limit/.test(e.message));
  await assert.rejects(files.list({ cursor: 'l:abc' }), (e) => e.code === 'INVALID_ARGUMENT' && /cursor/.test(e.message));
  await assert.rejects(files.list({ since: 'yesterday' }), (e) => e.code === 'INVALID_ARGUMENT' && /since/.test(e.message));
  await assert.rejects(files.cleanup({}), (e) => e.code === 'INVALID_ARGUMENT' && /olderThanDays/.test(e.message));
  const down = { get: async () => { throw new Error('KV timeout'); }, set: async () => {}, delete: async () => {} };
  await assert.rejects(new IndexedFileTracker(down, 'p').isProcessed('a'), (e) => e.code === 'STORE_UNAVAILABLE');
  await assert.rejects(new VersoriIndexedFileTracker(down, 'p').listProcessedFiles(), (e) => e.code === 'STORE_UNAVAILABLE');
});

test('VersoriIndexedFileTracker.listProcessedFiles returns every file, past one page of 1,000', async () => {
  const tracker = new VersoriIndexedFileTracker(versoriKv(), 'many');
  const names = Array.from({ length: 1_050 }, (_, i) => `f-${String(i).padStart(4, '0')}.csv`);
  for (const name of names) await tracker.markFileProcessed(name);
  const listed = await tracker.listProcessedFiles();
  assert.equal(listed.length, 1_050);
  assert.deepEqual(listed.map((f) => f.fileName).sort(), names);
});
