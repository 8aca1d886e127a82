// How often the core crosses into JavaScript per operation, on the package's
// own stores: the embedded store is called inside the wasm module (no call
// into JavaScript at all); the PostgreSQL and Redis stores take the core's
// calls at the byte level (src/wasm/bytes_store.rs): one call per store
// call, keys and values in the core's encodings, their Deno KV interface
// (which would encode keys and values in JavaScript by calling back into
// wasm) never used. A Proxy around each store counts what the core asks of
// it; the numbers per operation are held here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FileTracker, JobTracker, openKv, StateService } from 'connector-state';
import { startAll, startPostgres, startRedis } from '../servers.mjs';

let postgres;
let redis;
before(async () => {
  [postgres, redis] = await startAll(startPostgres, startRedis);
});
after(() => {
  postgres?.remove();
  redis?.remove();
});

const KV_METHODS = ['get', 'getMany', 'set', 'delete', 'atomic', 'list'];

/** `kv` behind a Proxy that counts the calls the core makes: its Deno KV
 *  methods, and its byte-level calls. */
function counted(kv) {
  const calls = {};
  const count = (name, f, self) => (...args) => {
    calls[name] = (calls[name] ?? 0) + 1;
    return f.apply(self, args);
  };
  const bytes = kv.__connectorStateBytes;
  const countedBytes = bytes && Object.fromEntries(Object.entries(bytes).map(([name, f]) => [name, count(`bytes.${name}`, f, bytes)]));
  const proxy = new Proxy(kv, {
    get(target, prop) {
      if (prop === '__connectorStateBytes') return countedBytes;
      const value = Reflect.get(target, prop);
      if (typeof prop === 'string' && KV_METHODS.includes(prop) && typeof value === 'function') return count(prop, value, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    kv: proxy,
    take() {
      const out = { ...calls };
      for (const k of Object.keys(calls)) delete calls[k];
      return out;
    },
  };
}

const ns = () => `x${Math.random().toString(36).slice(2, 10)}`;

for (const kind of ['embedded', 'postgres', 'redis']) {
  describe(`${kind}: calls into JavaScript per operation`, () => {
    const open = () => (kind === 'embedded' ? openKv(':memory:') : openKv((kind === 'postgres' ? postgres : redis).url, { namespace: ns() }));
    // Embedded: none; a server store: its byte-level calls only.
    const expect = (byteCalls) => (kind === 'embedded' ? {} : byteCalls);

    test('isFileProcessed, updateSyncState, the lock pair, a file tracker, a job', async () => {
      const store = await open();
      const { kv, take } = counted(store);
      try {
        const state = new StateService(null);
        take();
        assert.equal(await state.isFileProcessed(kv, 'a.csv', 'wf'), false);
        assert.deepEqual(take(), expect({ 'bytes.get': 1 }), 'isFileProcessed: one read');
        await state.updateSyncState(kv, [{ fileName: 'a.csv', lastModified: '2026-01-01T00:00:00Z' }], 'wf');
        const marked = take();
        assert.equal(await state.isFileProcessed(kv, 'a.csv', 'wf'), true);
        assert.deepEqual(take(), expect({ 'bytes.get': 1 }));
        assert.ok(Object.keys(marked).every((k) => k.startsWith('bytes.')) || kind === 'embedded', JSON.stringify(marked));

        assert.ok(await state.acquireLock('nightly', kv, 5));
        assert.deepEqual(take(), expect({ 'bytes.get': 1, 'bytes.commit': 1 }), 'acquire: a read and a checked write');
        await state.releaseLock('nightly', kv);
        assert.deepEqual(take(), expect({ 'bytes.commit': 1 }), 'release: one checked delete (the lock was just read)');
        assert.ok(await state.acquireLock('nightly', kv, 5));
        assert.deepEqual(take(), expect({ 'bytes.commit': 1 }), 'acquiring again over our own release: one write checked against it, no read');
        await state.releaseLock('nightly', kv);
        assert.deepEqual(take(), expect({ 'bytes.commit': 1 }));

        const files = new FileTracker(kv, 'p');
        take();
        assert.equal(await files.isProcessed('f.csv'), false);
        assert.deepEqual(take(), expect({ 'bytes.get': 1 }));
        await files.markProcessed('f.csv', { rows: 3 });
        assert.equal((await files.getRecord('f.csv')).metadata.rows, 3);
        const jobs = new JobTracker(kv, 'jobs');
        const id = 'import-1';
        await jobs.createJob(id);
        assert.equal((await jobs.getJob(id)).status, 'queued');
        const all = take();
        if (kind !== 'embedded') {
          for (const name of KV_METHODS) assert.equal(all[name], undefined, `the Deno KV interface's ${name}() is not used`);
        } else assert.deepEqual(all, {});
      } finally {
        await store.close();
      }
    });
  });
}

/** `kv` as the core saw it before the byte-level calls: its Deno KV interface only. */
const denoInterfaceOnly = (kv) =>
  new Proxy(kv, {
    get(target, prop) {
      if (prop === '__connectorStateBytes') return undefined;
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

for (const kind of ['postgres', 'redis']) {
  test(`${kind}: what the byte-level calls write, the Deno KV interface reads the same, and the other way round (state from earlier versions stays valid)`, async () => {
    const store = await openKv((kind === 'postgres' ? postgres : redis).url, { namespace: ns() });
    try {
      const metadata = { $cs: 'tag-like', $cs$: 2, nested: [{ $cs: ['x'], note: 'ünïcødé ✓', n: 9007199254740991 }], empty: {}, f: 1.5, t: true, z: null };
      const ways = { bytes: store, deno: denoInterfaceOnly(store) };
      for (const [writer, reader] of [['bytes', 'deno'], ['deno', 'bytes']]) {
        const written = new FileTracker(ways[writer], `p-${writer}`);
        const read = new FileTracker(ways[reader], `p-${writer}`);
        await written.markProcessed('f.csv', metadata);
        assert.deepEqual((await read.getRecord('f.csv')).metadata, metadata, `${writer} → ${reader}`);
        assert.equal(await read.isProcessed('f.csv'), true);
        // A lock taken one way is held the other way, and released by its holder.
        const a = new StateService(null);
        assert.ok(await a.acquireLock(`lock-${writer}`, ways[writer], 5));
        assert.equal(await new StateService(null).acquireLock(`lock-${writer}`, ways[reader], 5), false);
        await a.releaseLock(`lock-${writer}`, ways[writer]);
        assert.ok(await new StateService(null).acquireLock(`lock-${writer}`, ways[reader], 5));
      }
      // Listing in pages: a cursor from one way goes on the other way.
      const jobs = new JobTracker(store, 'jobs');
      for (let i = 0; i < 25; i++) await jobs.createJob(`job-${String(i).padStart(2, '0')}`);
      const seen = [];
      let cursor = null;
      let turn = 0;
      do {
        const page = await new JobTracker(turn++ % 2 === 0 ? ways.bytes : ways.deno, 'jobs').listJobs({ limit: 7, cursor });
        seen.push(...page.jobs.map((j) => j.jobId));
        cursor = page.cursor;
      } while (cursor);
      assert.deepEqual(seen.sort(), Array.from({ length: 25 }, (_, i) => `job-${String(i).padStart(2, '0')}`));
      await assert.rejects(jobs.listJobs({ limit: 7, cursor: 'not a cursor!' }), { code: 'INVALID_ARGUMENT' });
    } finally {
      await store.close();
    }
  });
}
