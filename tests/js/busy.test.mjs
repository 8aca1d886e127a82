// A SQLite store shared by processes answers "database is locked" while
// another process writes. Such calls did nothing and are made again, with
// short jittered pauses, for up to 5 seconds; past that, the caller gets
// STORE_UNAVAILABLE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKv as openDenoKv } from '@deno/kv';
import { FileTracker, StateService } from 'connector-state';

/** A Deno KV whose next `busy` get/set/commit calls reject as SQLite does under contention. */
function busyKv(kv) {
  const state = { busy: 0, refused: 0 };
  const refuse = () => {
    if (state.busy <= 0) return false;
    state.busy -= 1;
    state.refused += 1;
    return true;
  };
  const locked = () => Promise.reject(new Error('database is locked'));
  const view = {
    get: (...a) => (refuse() ? locked() : kv.get(...a)),
    set: (...a) => (refuse() ? locked() : kv.set(...a)),
    delete: (...a) => (refuse() ? locked() : kv.delete(...a)),
    getMany: (...a) => kv.getMany(...a),
    list: (...a) => kv.list(...a),
    atomic: () => {
      const op = kv.atomic();
      const b = {
        check: (...a) => { op.check(...a); return b; },
        set: (...a) => { op.set(...a); return b; },
        delete: (...a) => { op.delete(...a); return b; },
        commit: () => (refuse() ? locked() : op.commit()),
      };
      return b;
    },
  };
  return { view, state };
}

test('busy answers are retried: the calls succeed and nothing is written twice', async () => {
  const raw = await openDenoKv(':memory:');
  const { view, state } = busyKv(raw);
  const service = new StateService(null);
  const files = new FileTracker(view, 'p');
  const snapshot = async () => {
    const out = [];
    for await (const e of raw.list({ prefix: [] })) out.push([JSON.stringify(e.key), e.versionstamp]);
    return out;
  };
  state.busy = 3;
  assert.equal(await service.acquireLock('l', view, 1), true); // get and commit refused along the way
  const afterLock = await snapshot();
  assert.equal(afterLock.length, 1, 'one lock record');
  const lockRecord = (await raw.get(JSON.parse(afterLock[0][0]))).value;
  assert.equal(lockRecord.fencingToken, service.getLockToken('l'), 'the stored token is the one this run holds');
  state.busy = 3;
  await files.markProcessed('a.csv', { n: 1 });
  const afterMark = await snapshot();
  // One new record, and the lock record untouched: each retried call wrote once.
  assert.equal(afterMark.length, 2);
  assert.deepEqual(afterMark.filter(([k]) => afterLock.some(([l]) => l === k)), afterLock);
  const stamps = new Set(afterMark.map(([, v]) => v));
  assert.equal(stamps.size, 2, 'two writes in all, each with its own versionstamp');
  const record = (await raw.get(JSON.parse(afterMark.find(([k]) => !afterLock.some(([l]) => l === k))[0]))).value;
  assert.equal(record.n, 1);
  state.busy = 2;
  assert.equal(await files.isProcessed('a.csv'), true);
  assert.equal(state.refused, 8);
  assert.deepEqual(await snapshot(), afterMark, 'a read writes nothing');
  assert.equal(await service.releaseLock('l', view), true);
  raw.close();
});

test('a store that stays busy is STORE_UNAVAILABLE, after 5 seconds of retries', async () => {
  const raw = await openDenoKv(':memory:');
  const { view, state } = busyKv(raw);
  state.busy = Infinity;
  const started = Date.now();
  await assert.rejects(new FileTracker(view, 'p').isProcessed('a.csv'), (e) => e.code === 'STORE_UNAVAILABLE' && /database is locked/.test(e.message));
  const took = Date.now() - started;
  // The budget is time, from the first refusal: it cannot end sooner (a
  // loaded machine only makes it later), and the pauses are short (at most
  // 96 ms), so it tries many times (about 80 on an idle machine).
  assert.ok(took >= 4990, `gave up after ${took} ms, before the 5 s budget`);
  assert.ok(took < 60_000, `gave up after ${took} ms`);
  assert.ok(state.refused > 11, `${state.refused} attempts`);
  raw.close();
});

test('other store errors are not retried', async () => {
  let calls = 0;
  const broken = { get: async () => { calls += 1; throw new Error('connection reset'); }, set: async () => {}, delete: async () => {} };
  await assert.rejects(new StateService().isFileProcessed(broken, 'a.csv'), { code: 'STORE_UNAVAILABLE' });
  assert.equal(calls, 1);
});
