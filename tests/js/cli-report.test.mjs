// `connector-state inspect` on a store holding one of everything the package
// writes, at fixed times: the report (JSON) and its text, word for word.
// Date.now is held at chosen instants while the records are written (every
// time the package records comes from it), so the whole report is known in
// advance. Runs in this process (js/cli/inspect.mjs directly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointStore, FileTracker, IndexedFileTracker, JobTracker, openKv, RetryTracker, StateService } from 'connector-state';
import { age, inspect, jsonSafe, render } from '../../js/cli/inspect.mjs';
import { UnreadableValue } from '../../js/stores/server.mjs';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (t) => new Date(t).toISOString();

/** Runs `fn` with Date.now at `t`. */
async function at(t, fn) {
  const real = Date.now;
  Date.now = () => t;
  try {
    return await fn();
  } finally {
    Date.now = real;
  }
}

async function storeWithEverything() {
  const kv = await openKv(':memory:');
  const state = new StateService(null);
  await at(T0 - 3 * HOUR, () => state.acquireLock('stale-lock', kv, 1));
  await at(T0 - 2 * MIN, () => state.acquireLock('held-lock', kv, 15));
  await at(T0 - 5 * HOUR, () => state.updateSyncState(kv, [{ fileName: 'old.csv', lastModified: '2026-02-28T00:00:00Z' }], 'wf'));
  await at(T0 - 10 * MIN, () => state.updateSyncState(kv, [{ fileName: 'new.csv', lastModified: '2026-03-01T00:00:00Z' }], 'wf'));
  const files = new FileTracker(kv, 'ft');
  await at(T0 - 2 * HOUR, () => files.markProcessed('one.csv'));
  await at(T0 - 1 * HOUR, () => files.markProcessed('two.csv'));
  await at(T0 - 1 * MIN, () => files.claim('busy.csv', { renew: false }));
  await at(T0 - 3 * MIN, () => new IndexedFileTracker(kv, 'ix').mark('i.csv'));
  const retries = new RetryTracker(kv, { namespace: 'orders', random: () => 0.5 });
  await at(T0 - 30 * MIN, () => retries.recordFailure('due-item', new Error('timeout')));
  await at(T0 - 1 * MIN, () => retries.recordFailure('later-item', new Error('503')));
  for (let i = 0; i < 10; i++) await at(T0 - 20 * MIN + i, () => retries.recordFailure('dead-item', new Error('gone')));
  const jobs = new JobTracker(kv);
  await at(T0 - 3 * HOUR, () => jobs.createJob('stuck-job'));
  await at(T0 - 2 * HOUR, () => jobs.updateJob('stuck-job', { status: 'processing', stage: 'extract' }));
  await at(T0 - 5 * MIN, () => jobs.createJob('busy-job'));
  await at(T0 - 4 * MIN, () => jobs.updateJob('busy-job', { status: 'processing' }));
  await at(T0 - 9 * MIN, () => jobs.createJob('done-job'));
  await at(T0 - 8 * MIN, () => jobs.markCompleted('done-job'));
  const cp = new CheckpointStore(kv, { namespace: 'etl' });
  await at(T0 - 7 * MIN, () => cp.open('nightly', { version: 2 }).save({ cursor: 41 }, { position: 41 }));
  await at(T0 - 6 * MIN, () => cp.open('broken', { version: 1 }).save({ a: 1 }));
  await kv.set(['foreign', 'thing'], 1);
  return kv;
}

test('inspect: one of everything, at known times: the report and its text', async () => {
  const kv = await storeWithEverything();
  const real = Date.now;
  try {
    // Damage one checkpoint's manifest so its check fails.
    const keys = [];
    // The store's expiries follow Date.now too: it stays at T0 from here.
    Date.now = () => T0;
    for await (const e of kv.list({ prefix: [] })) keys.push(e.key);
    const manifest = keys.find((k) => k[0] === 'cs:checkpoint' && k.at(-1) === 'broken');
    assert.ok(manifest, JSON.stringify(keys));
    const m = (await kv.get(manifest)).value;
    await kv.set(manifest, { ...m, crc: (m.crc ?? 0) + 1 });
    // What the server stores list for a value they cannot decode.
    const withUnreadable = {
      get: (...a) => kv.get(...a),
      getMany: (...a) => kv.getMany(...a),
      set: (...a) => kv.set(...a),
      delete: (...a) => kv.delete(...a),
      atomic: () => kv.atomic(),
      list: (selector, options) => {
        const inner = kv.list(selector, options);
        let extra = true;
        return {
          [Symbol.asyncIterator]() {
            return this;
          },
          get cursor() {
            return inner.cursor;
          },
          async next() {
            if (extra) {
              extra = false;
              return { done: false, value: { key: ['odd'], value: new UnreadableValue(['odd'], 'bad bytes'), versionstamp: '0'.repeat(20) } };
            }
            return inner.next();
          },
        };
      },
    };
    const report = await inspect(withUnreadable, { now: T0, stuckMs: HOUR });
    const json = JSON.parse(JSON.stringify(report, jsonSafe));
    assert.equal(json.at, iso(T0));
    const locks = Object.fromEntries(json.locks.map((l) => [l.name, l]));
    assert.deepEqual(
      { held: locks['held-lock'].held, stale: locks['held-lock'].stale, ageMs: locks['held-lock'].ageMs, expiresAt: locks['held-lock'].expiresAt },
      { held: true, stale: false, ageMs: 2 * MIN, expiresAt: iso(T0 + 13 * MIN) },
    );
    assert.deepEqual({ held: locks['stale-lock'].held, stale: locks['stale-lock'].stale, ageMs: locks['stale-lock'].ageMs }, { held: false, stale: true, ageMs: 3 * HOUR });
    const files = Object.fromEntries(json.files.map((g) => [`${g.kind} ${g.name}`, g]));
    assert.deepEqual(files['StateService wf'], {
      kind: 'StateService',
      name: 'wf',
      count: 2,
      inProgress: 0,
      oldest: { fileName: 'old.csv', processedAt: iso(T0 - 5 * HOUR) },
      newest: { fileName: 'new.csv', processedAt: iso(T0 - 10 * MIN) },
    });
    assert.deepEqual(files['FileTracker ft'], {
      kind: 'FileTracker',
      name: 'ft',
      count: 2,
      inProgress: 1,
      oldest: { fileName: 'one.csv', processedAt: iso(T0 - 2 * HOUR) },
      newest: { fileName: 'two.csv', processedAt: iso(T0 - HOUR) },
    });
    assert.equal(files['IndexedFileTracker ix'].count, 1);
    assert.equal(files['IndexedFileTracker ix'].newest.processedAt, iso(T0 - 3 * MIN));
    const [orders] = json.retries;
    assert.deepEqual({ namespace: orders.namespace, waiting: orders.waiting, due: orders.due, exhausted: orders.exhausted }, { namespace: 'orders', waiting: 2, due: 1, exhausted: 1 });
    const items = Object.fromEntries(orders.items.map((i) => [i.item, i]));
    assert.deepEqual([items['due-item'].status, items['due-item'].due, items['due-item'].attempts], ['waiting', true, 1]);
    assert.deepEqual([items['later-item'].status, items['later-item'].due], ['waiting', false]);
    assert.deepEqual([items['dead-item'].status, items['dead-item'].attempts], ['exhausted', 10]);
    assert.deepEqual(json.jobs.byStatus, { processing: 2, completed: 1 });
    assert.deepEqual(json.jobs.stuck, [{ jobId: 'stuck-job', stage: 'extract', updatedAt: iso(T0 - 2 * HOUR), idleMs: 2 * HOUR }]);
    const cps = Object.fromEntries(json.checkpoints.map((c) => [c.name, c]));
    assert.deepEqual([cps.nightly.valid, cps.nightly.version, cps.nightly.ageMs, cps.nightly.problem], [true, 2, 7 * MIN, null]);
    assert.equal(cps.broken.valid, false);
    assert.equal(typeof cps.broken.problem, 'string');
    assert.deepEqual(json.syncStates.map((s) => s.workflowId), ['wf']);
    assert.deepEqual(json.unreadable, [{ key: '["odd"]', problem: 'bad bytes' }]);
    assert.equal(json.other, 1);

    // Fencing tokens start at the acquisition time (epoch ms); the holder
    // of a StateService without a name is 'unknown'.
    assert.equal(
      render(report, 'state.sqlite'),
      `store state.sqlite at 2026-03-01T12:00:00.000Z

Locks (2)
  held-lock: HELD, by unknown, age 2m, expires 2026-03-01T12:13:00.000Z, token ${T0 - 2 * MIN}
  stale-lock: STALE (expired; the next acquirer takes it), by unknown, age 3h, expires 2026-03-01T09:01:00.000Z, token ${T0 - 3 * HOUR}

Tracked files (5)
  StateService "wf": 2 files, newest new.csv (2026-03-01T11:50:00.000Z), oldest old.csv (2026-03-01T07:00:00.000Z)
  FileTracker "ft": 2 files, 1 in progress, newest two.csv (2026-03-01T11:00:00.000Z), oldest one.csv (2026-03-01T10:00:00.000Z)
  IndexedFileTracker "ix": 1 files, newest i.csv (2026-03-01T11:57:00.000Z), oldest i.csv (2026-03-01T11:57:00.000Z)

Checkpoints (2)
  etl/broken: NOT VALID: the record at ["cs:checkpoint", "etl", "broken"] is not valid (the manifest checksum does not match its fields); inspect or delete it, version 1, saved 6m ago, 7 bytes
  etl/nightly: valid, version 2, saved 7m ago, 13 bytes, progress {"position":41}

Retries (3)
  orders: 2 waiting (1 due now), 1 exhausted
    dead letter: dead-item after 10 attempts (gone)
    due: due-item after 1 attempts (timeout)

Jobs (3): 2 processing, 1 completed
  STUCK: stuck-job processing (extract), no update for 2h

Sync state
  wf: last file new.csv, last modified 2026-03-01T00:00:00Z, success

Unreadable entries (1): their values cannot be decoded
  ["odd"]: bad bytes

1 other entries (not written by connector-state)`,
    );
  } finally {
    Date.now = real;
    await kv.close();
  }
});

test('ages: seconds under 2 minutes, minutes under 2 hours, hours under 2 days, then days; the future says "in"', () => {
  assert.equal(age(null), '?');
  assert.equal(age(undefined), '?');
  assert.equal(age(0), '0s');
  assert.equal(age(119_000), '119s');
  assert.equal(age(120_000), '2m');
  assert.equal(age(7_199_000), '120m');
  assert.equal(age(7_200_000), '2h');
  assert.equal(age(172_799_000), '48h');
  assert.equal(age(172_800_000), '2d');
  assert.equal(age(-90_000), 'in 90s');
  assert.equal(age(-3 * 86_400_000), 'in 3d');
});

test('render: the other branch of every line (a free lock, groups without times, a damaged checkpoint in chunks, a copy left unfinished)', async () => {
  const { render: show } = await import('../../js/cli/inspect.mjs');
  const text = show(
    {
      at: iso(T0),
      locks: [{ name: 'free-lock', held: false, stale: false, holder: null, lockedAt: null, expiresAt: null, ageMs: null, fencingToken: null }],
      files: [{ kind: 'FileTracker', name: 'p', count: 0, inProgress: 0, oldest: null, newest: null }],
      checkpoints: [{ namespace: 'n', name: 'c', valid: false, problem: 'bad', version: 'v2', savedAt: iso(T0 - HOUR), ageMs: HOUR, bytes: 10, chunks: 3, progress: null }],
      retries: [],
      jobs: { byStatus: { processing: 1 }, stuck: [{ jobId: 'j', stage: null, idleMs: 3 * HOUR }] },
      syncStates: [{ workflowId: 'w', lastProcessedFile: null, lastProcessedTimestamp: null }],
      unreadable: [],
      other: 0,
      copyInProgress: true,
    },
    'redis://host',
  );
  assert.equal(
    text,
    `store redis://host at 2026-03-01T12:00:00.000Z

Locks (1)
  free-lock: free

Tracked files (0)
  FileTracker "p": 0 files

Checkpoints (1)
  n/c: NOT VALID: bad, version "v2", saved 60m ago, 10 bytes in 3 chunks

Retries (0)

Jobs (1): 1 processing
  STUCK: j processing, no update for 3h

Sync state
  w: last file -, last modified -, -

A copy into this store did not finish: run the same copy again to complete it.`,
  );
});

test('a checkpoint that cannot be checked: a store failure is raised as it is; any other error makes it not valid', async () => {
  const { checkpoint } = await import('../../js/cli/inspect.mjs');
  const kv = await openKv(':memory:');
  try {
    await new CheckpointStore(kv, { namespace: 'n' }).open('c', { version: 1 }).save({ a: 1 });
    // A version that is neither a number nor a string is checked as version 1.
    const ok = await checkpoint(kv, 'n', 'c', { version: { odd: true }, savedAt: 'not a date', chunks: 0 }, T0);
    assert.deepEqual([ok.valid, ok.problem, ok.version, ok.ageMs, ok.bytes, ok.progress], [true, null, { odd: true }, null, null, null]);
    const failing = { get: () => Promise.reject(Object.assign(new Error('down'), { code: 'ECONNRESET' })), getMany: () => Promise.reject(new Error('down')), set() {}, delete() {}, atomic() {}, list() {} };
    await assert.rejects(checkpoint(failing, 'n', 'c', { version: 1 }, T0), { code: 'STORE_UNAVAILABLE' });
    await kv.close();
    const closed = await checkpoint(kv, 'n', 'c', { version: 1 }, T0);
    assert.equal(closed.valid, false);
    assert.match(closed.problem, /closed/);
  } finally {
    await kv.close();
  }
});
