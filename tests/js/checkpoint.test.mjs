// Checkpoints through the built package, on every kind of store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKv as openDenoKv } from '@deno/kv';
import { CheckpointStore, StateError, VersoriKVAdapter, encodeState, decodeState } from 'connector-state';
import { storeKinds, exactKinds, withStore, withMovedTime, versoriKv, fakeVersoriContext } from './helpers.mjs';

/** About `bytes` bytes of JSON with quotes, escapes, Latin-1 and emoji. */
function payload(bytes, seed = 0) {
  const items = [];
  for (let i = 0, size = 0; size < bytes; i++) {
    const s = `row ${seed}-${i} "q" \\ é ✓ 🚀`;
    items.push({ id: i, s });
    size += s.length + 20;
  }
  return { seed, items };
}

const MiB = 1024 * 1024;

for (const [kind, open] of Object.entries(storeKinds)) {
  test(`${kind}: small and 1 MiB checkpoints round-trip; other versions are not returned`, async () => {
    await withStore(open, async (kv) => {
      const checkpoints = new CheckpointStore(kv, { namespace: 'import' });
      const cp = checkpoints.open('orders', { version: 3 });
      assert.deepEqual(await cp.load(), { found: false, reason: 'missing', data: null });

      const small = { lastId: 'o-17', counts: [1, 2, 3] };
      const saved = await cp.save(small, { position: 17, processed: 340 });
      assert.deepEqual({ sequence: saved.sequence, chunks: saved.chunks }, { sequence: 1, chunks: 0 });
      const loaded = await checkpoints.open('orders', { version: 3 }).load();
      assert.equal(loaded.found, true);
      assert.deepEqual(loaded.data, small);
      assert.deepEqual(loaded.progress, { position: 17, processed: 340 });

      const big = payload(MiB, 1);
      const bigSaved = await cp.save(big);
      assert.ok(bigSaved.bytes > MiB && bigSaved.chunks >= 17, `${bigSaved.bytes} bytes in ${bigSaved.chunks} chunks`);
      const bigLoaded = await checkpoints.open('orders', { version: 3 }).load();
      assert.deepEqual(bigLoaded.data, big);
      assert.equal(bigLoaded.sequence, 2);

      const newer = await checkpoints.open('orders', { version: 4 }).load();
      assert.equal(newer.found, false);
      assert.equal(newer.reason, 'version-mismatch');
      assert.equal(newer.data, null);
      assert.deepEqual([newer.version, newer.expectedVersion], [3, 4]);

      assert.equal(await cp.clear(), true);
      assert.equal((await cp.load()).reason, 'missing');
    });
  });
}

test('Map, Set, Date and BigInt state round-trips through a JSON-only Versori store', async () => {
  const { openKv, log } = fakeVersoriContext();
  const state = {
    sftpConnections: new Map([['sftp-main', { host: 'example', opened: new Date('2026-03-01T10:00:00Z') }]]),
    lastActivity: new Map([['sftp-main', 1767225600000]]),
    seen: new Set(['a.csv', 'b.csv']),
    bytesMoved: 12345678901234567890n,
    nested: [new Map([[1, new Set([2n])]]), undefined, NaN, -0, Infinity],
    $cs: 'a caller field that looks like our tag',
  };
  const cp = new CheckpointStore(new VersoriKVAdapter(openKv(':project:')), { log }).open('memory-interpreter');
  await cp.save(state);
  const { data } = await new CheckpointStore(openKv(':project:')).open('memory-interpreter').load();
  assert.deepEqual(data, state);
  assert.ok(data.sftpConnections instanceof Map && data.seen instanceof Set && typeof data.bytesMoved === 'bigint');
  assert.ok(Object.is(data.nested[3], -0));

  // The same encoding on its own, through JSON text.
  const text = JSON.stringify(encodeState(state));
  assert.deepEqual(decodeState(JSON.parse(text)), state);
  const proto = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}');
  const back = decodeState(JSON.parse(JSON.stringify(encodeState(proto))));
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(Object.keys(back), ['__proto__', 'x']);
  assert.equal({}.polluted, undefined);
  assert.throws(() => encodeState({ f() {} }), (e) => e instanceof StateError && e.code === 'INVALID_ARGUMENT' && /value\.f/.test(e.message));
  assert.throws(() => decodeState({ $cs: 'Nope' }), (e) => e.code === 'INVALID_ARGUMENT');
});

/** A Deno KV handle whose process dies at write `survive + 1`: that write
 *  and every later call throw. */
function crashAfterWrites(kv, survive) {
  let writes = 0;
  let crashed = false;
  const alive = () => {
    if (crashed) throw new Error('the process crashed');
  };
  const write = () => {
    alive();
    if (writes++ >= survive) {
      crashed = true;
      throw new Error(`the process crashed at write ${writes}`);
    }
  };
  return {
    get crashed() {
      return crashed;
    },
    async get(key) { alive(); return kv.get(key); },
    async set(key, value, options) { write(); return kv.set(key, value, options); },
    async delete(key) { write(); return kv.delete(key); },
    list(selector, options) { alive(); return kv.list(selector, options); },
    atomic() {
      const op = kv.atomic();
      const builder = {
        check(...a) { op.check(...a); return builder; },
        set(...a) { op.set(...a); return builder; },
        delete(...a) { op.delete(...a); return builder; },
        async commit() { write(); return op.commit(); },
      };
      return builder;
    },
  };
}

async function keysUnder(kv, prefix) {
  const keys = [];
  for await (const entry of kv.list({ prefix })) keys.push(entry.key);
  return keys;
}

test('a chunked save that dies after any write never leaves a partial checkpoint (@deno/kv)', async () => {
  await withStore(storeKinds['deno-kv memory'], async (kv) => {
    const older = payload(200_000, 1);
    const newer = payload(240_000, 2);
    await new CheckpointStore(kv).open('job').save(older);
    let k = 0;
    for (;; k++) {
      const crashing = crashAfterWrites(kv, k);
      const writer = new CheckpointStore(crashing).open('job');
      const error = await writer.save(newer).then(() => null, (e) => e);
      const { data } = await new CheckpointStore(kv).open('job').load();
      if (!crashing.crashed) {
        assert.equal(error, null);
        assert.deepEqual(data, newer);
        break;
      }
      // A crash after the switch only interrupts the sweep: the save stands.
      if (error === null) assert.equal(data.seed, 2, `k=${k}`);
      else assert.ok(error instanceof StateError && error.code === 'STORE_UNAVAILABLE', `k=${k}: ${error}`);
      assert.ok(data.seed === 1 || data.seed === 2, `k=${k}`);
      assert.deepEqual(data, data.seed === 1 ? older : newer, `k=${k}: a mix was returned`);
      // Put the older one back; the next save (after a load) sweeps every leftover chunk.
      const next = new CheckpointStore(kv).open('job');
      await next.load();
      await next.save(older);
      const chunkGenerations = new Set((await keysUnder(kv, ['cs:checkpoint', 'default', 'job', 'chunk'])).map((key) => key[4]));
      assert.equal(chunkGenerations.size, 1, `k=${k}: chunks of ${chunkGenerations.size} generations remain`);
      assert.deepEqual(await keysUnder(kv, ['cs:checkpoint', 'default', 'job', 'pending']), [], `k=${k}`);
    }
    assert.ok(k >= 4, `the save took ${k} writes`);
  });
});

test('flipped bytes in a chunk or the manifest give CORRUPT_STATE naming the key (@deno/kv SQLite)', async () => {
  await withStore(storeKinds['deno-kv sqlite'], async (kv) => {
    const cp = new CheckpointStore(kv, 'ns').open('run');
    await cp.save(payload(150_000));
    const [chunkKey] = (await keysUnder(kv, ['cs:checkpoint', 'ns', 'run', 'chunk'])).slice(1);
    const chunk = (await kv.get(chunkKey)).value;
    const flipped = chunk.slice(0, 500) + (chunk[500] === 'x' ? 'y' : 'x') + chunk.slice(501);
    await kv.set(chunkKey, flipped);
    const result = await new CheckpointStore(kv, 'ns').open('run').load();
    assert.equal(result.found, false);
    assert.equal(result.reason, 'corrupt');
    assert.equal(result.code, 'CORRUPT_STATE');
    assert.deepEqual(result.key, chunkKey);
    assert.equal(result.data, null);
    assert.ok(result.error instanceof StateError && result.error.message.includes(chunkKey[4]));

    await kv.set(chunkKey, chunk);
    const manifestKey = ['cs:checkpoint', 'ns', 'run'];
    const manifest = (await kv.get(manifestKey)).value;
    await kv.set(manifestKey, { ...manifest, bytes: manifest.bytes + 1 });
    const bad = await new CheckpointStore(kv, 'ns').open('run').load();
    assert.deepEqual([bad.reason, bad.code, bad.key], ['corrupt', 'CORRUPT_STATE', manifestKey]);
    await kv.set(manifestKey, manifest);
    assert.equal((await new CheckpointStore(kv, 'ns').open('run').load()).found, true);
  });
});

for (const kind of exactKinds) {
  test(`${kind}: a second writer that read an older sequence gets CONFLICT`, async () => {
    await withStore(storeKinds[kind], async (kv) => {
      const store = new CheckpointStore(kv);
      const [a, b] = [store.open('shared'), store.open('shared')];
      await a.load();
      await b.load();
      await a.save({ by: 'a' });
      await assert.rejects(b.save({ by: 'b' }), (e) => e instanceof StateError && e.code === 'CONFLICT' && /load\(\) it again/.test(e.message));
      assert.deepEqual((await b.load()).data, { by: 'a' });
      assert.equal((await b.save({ by: 'b' })).sequence, 2);
      // Concurrent chunked saves: one wins whole, the others get CONFLICT.
      const writers = [0, 1, 2, 3].map(() => store.open('race'));
      await Promise.all(writers.map((w) => w.load()));
      const data = writers.map((_, i) => payload(100_000, i));
      const results = await Promise.allSettled(writers.map((w, i) => w.save(data[i])));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
      assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason.code === 'CONFLICT'));
      assert.deepEqual((await store.open('race').load()).data, data[won[0]]);
    });
  });
}

test('maxAgeMs: an old checkpoint is reported as expired and logged', async () => {
  const ctx = fakeVersoriContext();
  const store = new CheckpointStore(ctx.openKv(), { log: ctx.log });
  await store.open('nightly').save({ at: 1 });
  await new Promise((resolve) => setTimeout(resolve, 30));
  const result = await store.open('nightly', { maxAgeMs: 10 }).load();
  assert.equal(result.reason, 'expired');
  assert.ok(result.ageMs >= 10 && result.maxAgeMs === 10);
  assert.ok(ctx.log.entries.some((e) => e.level === 'warn' && /older than maxAgeMs/.test(e.message)));
  assert.equal((await store.open('nightly', { maxAgeMs: 60_000 }).load()).found, true);
});

test('resume and periodic saves: every N items or T ms, whichever first', async () => {
  const kv = versoriKv();
  const cp = new CheckpointStore(kv).open('batches', { version: 1 });
  assert.deepEqual(await cp.resume(), { resumed: false, position: 0, processed: 0, data: null, reason: 'missing', checkpoint: { found: false, reason: 'missing', data: null } });

  const saver = cp.periodic({ everyItems: 10 });
  let saves = 0;
  let built = 0;
  for (let i = 0; i < 25; i++) {
    const saved = await saver.step(() => { built++; return { lastId: `b-${i}` }; }, { position: i + 1, processed: (i + 1) * 50 });
    if (saved) saves++;
  }
  assert.deepEqual([saves, built, saver.unsaved], [2, 2, 5]);
  const resumed = await cp.resume();
  assert.deepEqual([resumed.resumed, resumed.position, resumed.processed, resumed.data], [true, 20, 1000, { lastId: 'b-19' }]);
  await saver.flush({ lastId: 'b-24' }, { position: 25, processed: 1250 });
  assert.equal(saver.unsaved, 0);
  assert.equal((await cp.resume()).position, 25);

  await withMovedTime(async (clock) => {
    const timed = cp.periodic({ everyItems: 1000, everyMs: 60_000 });
    clock.advance(59_000);
    assert.equal(await timed.step({}), false);
    clock.advance(2_000);
    assert.equal(await timed.step({ late: true }), true);
    assert.equal(await timed.step({}), false, 'the clock starts again after a save');
  });
  assert.throws(() => cp.periodic({}), (e) => e.code === 'INVALID_ARGUMENT');
  const boom = new Error('caller failed');
  await assert.rejects(cp.periodic({ everyItems: 1 }).step(() => { throw boom; }), (e) => e === boom);
});

test('bad arguments and store failures are coded errors', async () => {
  const kv = await openDenoKv(':memory:');
  try {
    const store = new CheckpointStore(kv);
    assert.throws(() => store.open(''), (e) => e.code === 'INVALID_ARGUMENT' && /name/.test(e.message));
    assert.throws(() => store.open('x', { version: null }), (e) => e.code === 'INVALID_ARGUMENT' && /options\.version/.test(e.message));
    assert.throws(() => store.open('x', { maxAgeMs: -1 }), (e) => e.code === 'INVALID_ARGUMENT');
    assert.throws(() => new CheckpointStore({}), (e) => e.code === 'INVALID_ARGUMENT' && /kv/.test(e.message));
    const cp = store.open('x');
    await assert.rejects(cp.save({ f: () => 1 }), (e) => e.code === 'INVALID_ARGUMENT' && /data\.f/.test(e.message));
    await assert.rejects(cp.save({}, { note: 'x'.repeat(5000) }), (e) => e.code === 'VALUE_TOO_LARGE');
    await assert.rejects(cp.save({}, 7), (e) => e.code === 'INVALID_ARGUMENT' && /progress/.test(e.message));
    const down = { get: async () => { throw new Error('connection reset'); }, set: async () => {}, delete: async () => {} };
    await assert.rejects(new CheckpointStore(down).open('x').load(), (e) => e.code === 'STORE_UNAVAILABLE' && /connection reset/.test(e.message));
  } finally {
    kv.close();
  }
});

test('the value walk: a Date keeps its brand without its prototype; repeated property names still count toward the size limit and are checked on every use', async () => {
  // A Date whose prototype was replaced still holds a time: it is a Date.
  const bare = new Date(Date.UTC(2026, 0, 2));
  Object.setPrototypeOf(bare, null);
  const back = decodeState(JSON.parse(JSON.stringify(encodeState({ at: bare }))));
  assert.ok(back.at instanceof Date);
  assert.equal(back.at.getTime(), Date.UTC(2026, 0, 2));
  // Names repeat across a list's items (their texts are kept between
  // uses): 40-character names on 2,000 items are over 64 KiB of JSON ...
  const { FileTracker, openKv } = await import('connector-state');
  const files = new FileTracker(await openKv(), { prefix: 'walk' });
  const name = 'n'.repeat(40);
  const rows = Array.from({ length: 2_000 }, () => ({ [name]: 1 }));
  await assert.rejects(files.markProcessed('big.csv', { rows }), { code: 'VALUE_TOO_LARGE' });
  // ... refused by the walk itself, which names where the limit was passed
  // (the record's own size check after it would name no path).
  await assert.rejects(files.markProcessed('big.csv', { rows }), (e) => e.code === 'VALUE_TOO_LARGE' && /^metadata\.rows\[\d+\]\.n{40} takes more than 65536 bytes/.test(e.message));
  await files.markProcessed('small.csv', { rows: rows.slice(0, 100) });
  assert.equal((await files.getRecord('small.csv')).metadata.rows.length, 100);
  // ... and a name that cannot be stored is refused each time, with its path.
  for (let i = 0; i < 2; i++) {
    await assert.rejects(files.markProcessed('bad.csv', { rows: [{ ok: 1 }, { ['a\uD800']: 1 }] }), (e) => e.code === 'INVALID_ARGUMENT' && /metadata\.rows\[1\]/.test(e.message) && /lone surrogate/.test(e.message));
    // A long name (longer ones are not kept) is checked the same way.
    await assert.rejects(files.markProcessed('bad.csv', { rows: [{ ['x'.repeat(80) + '\uD800']: 1 }] }), (e) => e.code === 'INVALID_ARGUMENT' && /lone surrogate/.test(e.message));
  }
});
