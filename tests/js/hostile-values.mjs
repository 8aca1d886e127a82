// The hostile values of tests/js/hostile-process.test.mjs and the entry
// points they go through. A value is made fresh for each call (a revoked
// Proxy cannot be reused for another test once revoked anyway).

/** A Proxy that has been revoked: an immer draft after produce(). */
export function revoked(target = {}) {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

/** A Proxy whose every trap throws. */
export function trapsThrow(target = {}) {
  const boom = () => {
    throw new Error('trap says no');
  };
  return new Proxy(target, {
    get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom, defineProperty: boom, set: boom,
  });
}

/** A sparse array of `length`, with one item at its end. */
export function sparse(length) {
  const a = [];
  a.length = length;
  if (length > 0) a[length - 1] = 1;
  return a;
}

/** Arrays (or objects) nested `depth` levels. */
export function nested(depth) {
  const root = [];
  let at = root;
  for (let i = 1; i < depth; i++) {
    const next = [];
    at.push(next);
    at = next;
  }
  return root;
}

/** [label, make()] */
export const HOSTILE = [
  ['a revoked Proxy', () => revoked()],
  ['a revoked Proxy of an array', () => revoked([])],
  ['a Proxy whose traps throw', () => trapsThrow()],
  ['a Proxy of an array whose traps throw', () => trapsThrow([1, 2])],
  ['a getter that throws', () => ({ get x() { throw new Error('getter says no'); } })],
  ['a getter that returns a revoked Proxy', () => ({ get x() { return revoked(); } })],
  ['a sparse array of length 2^32 - 1', () => sparse(2 ** 32 - 1)],
  ['a sparse array of length 3e7', () => sparse(3e7)],
  ['a hole at the start of an array', () => sparse(3)],
  ['arrays nested 5,000 levels', () => nested(5_000)],
  ['a cycle', () => { const a = { n: 1 }; a.self = a; return a; }],
  ['a Symbol', () => Symbol('s')],
  ['a function', () => () => 1],
  ['a BigInt', () => 10n],
];

/**
 * [label, async (api, kv, bad) => call]: every public entry point that takes
 * a caller's value, options or store. `api` is the package's exports.
 */
export const ENTRY_POINTS = [
  ['FileTracker.markProcessed metadata field', (api, kv, bad) => new api.FileTracker(kv, 'p').markProcessed('a.csv', { x: bad })],
  ['FileTracker.markProcessed metadata', (api, kv, bad) => new api.FileTracker(kv, 'p').markProcessed('a.csv', bad)],
  ['FileTracker.markProcessed fileName', (api, kv, bad) => new api.FileTracker(kv, 'p').markProcessed(bad)],
  ['FileTracker.isProcessed fileName', (api, kv, bad) => new api.FileTracker(kv, 'p').isProcessed(bad)],
  ['new FileTracker options', async (api, kv, bad) => new api.FileTracker(kv, bad)],
  ['new FileTracker kv', async (api, kv, bad) => new api.FileTracker(bad, 'p')],
  ['FileTracker.claim options', (api, kv, bad) => new api.FileTracker(kv, 'p').claim('c.csv', bad)],
  ['FileTracker.complete metadata', async (api, kv, bad) => {
    const t = new api.FileTracker(kv, 'p');
    const c = await t.claim(`claimed-${Math.random()}.csv`);
    try {
      return await c.complete({ x: bad });
    } finally {
      await c.release();
    }
  }],
  ['VersoriFileTracker.markFileProcessed', (api, kv, bad) => new api.VersoriFileTracker(kv, 'v').markFileProcessed('a.csv', { x: bad })],
  ['IndexedFileTracker.mark metadata', (api, kv, bad) => new api.IndexedFileTracker(kv, 'i').mark('a.csv', { x: bad })],
  ['IndexedFileTracker.list options', (api, kv, bad) => new api.IndexedFileTracker(kv, 'i').list(bad)],
  ['JobTracker.createJob', (api, kv, bad) => new api.JobTracker(kv, null).createJob(`j-${Math.random()}`, { x: bad })],
  ['JobTracker.updateJob', async (api, kv, bad) => {
    const jobs = new api.JobTracker(kv, null);
    const id = `j-${Math.random()}`;
    await jobs.createJob(id);
    return jobs.updateJob(id, { x: bad });
  }],
  ['StateService.updateSyncState files', (api, kv, bad) => new api.StateService(null).updateSyncState(kv, bad)],
  ['StateService.updateSyncState item', (api, kv, bad) => new api.StateService(null).updateSyncState(kv, [bad])],
  ['StateService.updateSyncState item field', (api, kv, bad) => new api.StateService(null).updateSyncState(kv, [{ fileName: 'f', lastModified: 'x', extra: bad }])],
  ['StateService.acquireLock lockName', (api, kv, bad) => new api.StateService(null).acquireLock(bad, kv, 1)],
  ['StateService.acquireLock kv', (api, kv, bad) => new api.StateService(null).acquireLock('l', bad, 1)],
  ['new StateService options', async (api, kv, bad) => new api.StateService(null, bad)],
  ['StateService.lock options', (api, kv, bad) => new api.StateService(null).lock('l', kv, bad)],
  ['StateService.withLock options', (api, kv, bad) => new api.StateService(null).withLock('l', kv, async () => 1, bad)],
  ['RetryTracker.recordFailure error', (api, kv, bad) => new api.RetryTracker(kv, 'r').recordFailure('item', bad)],
  ['new RetryTracker options', async (api, kv, bad) => new api.RetryTracker(kv, bad)],
  ['CheckpointStore save data field', (api, kv, bad) => new api.CheckpointStore(kv, 'c').open('x').save({ x: bad })],
  ['CheckpointStore save data', (api, kv, bad) => new api.CheckpointStore(kv, 'c').open('x').save(bad)],
  ['CheckpointStore save progress', (api, kv, bad) => new api.CheckpointStore(kv, 'c').open('x').save({ ok: 1 }, bad)],
  ['CheckpointStore open options', async (api, kv, bad) => new api.CheckpointStore(kv, 'c').open('x', bad)],
  ['encodeState', async (api, kv, bad) => api.encodeState({ x: bad })],
  ['decodeState', async (api, kv, bad) => api.decodeState({ x: bad })],
];
