// Injected store faults: a seeded wrapper fails a share of store calls, half
// of the failed writes after the write landed (the ambiguous case). A mixed
// workload runs over it; every answer and every error is checked.
import { openKv as openDenoKv } from '@deno/kv';
import { CheckpointStore, FileTracker, IndexedFileTracker, RetryTracker, StateError, StateService } from 'connector-state';
import { seeded } from './stores.mjs';
import { versoriKv } from '../js/versori-fake.mjs';

export const CODES = new Set([
  'STORE_UNAVAILABLE', 'INVALID_ARGUMENT', 'KEY_TOO_LARGE', 'VALUE_TOO_LARGE', 'LOCK_NOT_HELD', 'LOCK_HELD',
  'CLAIM_NOT_HELD', 'CORRUPT_STATE', 'CONFLICT', 'NOT_FOUND', 'INVALID_TRANSITION', 'UNSUPPORTED_ENVIRONMENT',
]);

class InjectedFault extends Error {}

/**
 * Wraps a Deno KV or Versori-style store. While `on`, each call fails with
 * probability `rate`; a failing write lands first half of the time.
 */
export function faulty(kv, { rate, seed, dropEvery = 0 }) {
  const random = seeded(seed);
  const stats = { calls: 0, faults: 0, ambiguous: 0, dropped: 0, writes: 0 };
  // A negative control: with `dropEvery` = N, every Nth write that would
  // succeed is silently not made, and the call answers as if it were.
  const drop = () => {
    stats.writes += 1;
    if (!dropEvery || !control.on || stats.writes % dropEvery !== 0) return false;
    stats.dropped += 1;
    return true;
  };
  const control = { on: true, stats };
  const roll = () => {
    stats.calls += 1;
    if (!control.on || random() >= rate) return null;
    stats.faults += 1;
    return random() < 0.5 ? 'before' : 'after';
  };
  const read = (fn) => async (...args) => {
    if (roll()) throw new InjectedFault('injected: the store did not answer');
    return fn(...args);
  };
  const write = (fn) => async (...args) => {
    const fault = roll();
    if (fault === 'before') throw new InjectedFault('injected: the write did not happen');
    if (!fault && drop()) return typeof kv.atomic === 'function' ? { ok: true, versionstamp: '0'.repeat(20) } : undefined;
    const result = await fn(...args);
    if (fault === 'after') {
      stats.ambiguous += 1;
      throw new InjectedFault('injected: the write happened, then the call failed');
    }
    return result;
  };
  const wrapped = {
    get: read((k, o) => kv.get(k, o)),
    set: write((k, v, o) => kv.set(k, v, o)),
    delete: write((k) => kv.delete(k)),
  };
  if (typeof kv.atomic === 'function') {
    wrapped.getMany = read((ks, o) => kv.getMany(ks, o));
    wrapped.atomic = () => {
      const op = kv.atomic();
      const proxy = {
        check: (...c) => { op.check(...c); return proxy; },
        set: (k, v, o) => { op.set(k, v, o); return proxy; },
        delete: (k) => { op.delete(k); return proxy; },
        sum: (k, n) => { op.sum(k, n); return proxy; },
        commit: write(() => op.commit()),
      };
      return proxy;
    };
    wrapped.list = (selector, options) => {
      const iterator = kv.list(selector, options);
      const next = iterator.next.bind(iterator);
      let first = true;
      iterator.next = async () => {
        if (first) {
          first = false;
          if (roll()) throw new InjectedFault('injected: the listing failed');
        }
        return next();
      };
      return iterator;
    };
  }
  control.kv = wrapped;
  return control;
}

/**
 * `operations` random operations over `store` ('deno-kv' or 'versori') at
 * fault `rate`. Returns the counts the reliability table shows.
 */
export async function faultRun({ store = 'deno-kv', operations = 10_000, rate = 0.2, seed = 7, dropEvery = 0, swallow = false, lyingVerify = false } = {}) {
  const raw = store === 'deno-kv' ? await openDenoKv(':memory:') : versoriKv();
  const control = faulty(raw, { rate, seed, dropEvery });
  const kv = control.kv;
  const random = seeded(seed * 31 + 1);
  const pick = (n) => Math.floor(random() * n);
  const names = Array.from({ length: 300 }, (_, i) => `file-${i}.csv`);

  const indexed = new IndexedFileTracker(kv, { prefix: 'faults' });
  const files = new FileTracker(kv, { prefix: 'faults' });
  const state = new StateService(null);
  const retries = new RetryTracker(kv, { namespace: 'faults' });
  const checkpoint = new CheckpointStore(kv, { namespace: 'faults' }).open('run', { version: 1 });

  const recordedIndexed = new Set();
  const recordedFiles = new Set();
  const checkpointAcked = { n: -1 };
  const checkpointTried = new Set();
  const result = {
    store, operations, rate, faults: 0, ambiguous: 0, rejected: 0, coded: 0, uncoded: 0, traps: 0,
    faultsHidden: 0, wrongAnswers: 0, lostRecords: 0, lostIndexEntries: 0, staleBeforeRebuild: 0,
  };
  const uncodedSamples = [];
  // Counted against the raw store, before any repair.
  Object.assign(result, { lostBeforeRepair: 0, unindexedBeforeRepair: 0, staleBeforeRepair: 0, verifyAgrees: null });

  const operationsTable = [
    [30, async (name) => { await indexed.mark(name, { n: 1 }); recordedIndexed.add(name); }],
    [25, async (name) => { if (!(await indexed.isProcessed(name)) && recordedIndexed.has(name)) result.wrongAnswers += 1; }],
    [10, async (name) => { await files.markProcessed(name); recordedFiles.add(name); }],
    [10, async (name) => { if (!(await files.isProcessed(name)) && recordedFiles.has(name)) result.wrongAnswers += 1; }],
    [8, async (name) => { if (await state.acquireLock(name, kv, 1)) await state.releaseLock(name, kv); }],
    [7, async (name) => { await retries.recordFailure(name, 'boom'); await retries.check(name); }],
    [5, async () => {
      const n = checkpointTried.size;
      checkpointTried.add(n);
      try {
        await checkpoint.load();
        const saved = await checkpoint.save({ n }, { position: n });
        checkpointAcked.n = n;
        return saved.swept === false ? 'reported' : undefined;
      } catch (e) {
        if (e.code === 'CONFLICT') await checkpoint.load().catch(() => {});
        throw e;
      }
    }],
    [5, async () => {
      const loaded = await checkpoint.load();
      if (loaded.found && (!checkpointTried.has(loaded.data.n) || loaded.data.n < checkpointAcked.n)) result.wrongAnswers += 1;
      if (!loaded.found && loaded.reason !== 'missing') result.wrongAnswers += 1;
      if (!loaded.found && checkpointAcked.n >= 0) result.wrongAnswers += 1;
    }],
  ];
  const total = operationsTable.reduce((n, [w]) => n + w, 0);

  for (let i = 0; i < operations; i++) {
    let roll = pick(total);
    const [, op] = operationsTable.find(([w]) => (roll -= w) < 0);
    const name = names[pick(names.length)];
    const before = control.stats.faults;
    try {
      // 'swallow' (a negative control) hides every error from the checker,
      // as 0.1.56 hides store failures behind false.
      const outcome = swallow ? await op(name).catch(() => undefined) : await op(name);
      if (control.stats.faults > before && outcome !== 'reported') result.faultsHidden += 1;
    } catch (e) {
      result.rejected += 1;
      if (e instanceof WebAssembly.RuntimeError) result.traps += 1;
      else if (e instanceof StateError && CODES.has(e.code)) result.coded += 1;
      else {
        result.uncoded += 1;
        if (uncodedSamples.length < 3) uncodedSamples.push(String(e?.stack ?? e));
      }
    }
  }
  result.faults = control.stats.faults;
  result.ambiguous = control.stats.ambiguous;

  result.dropped = control.stats.dropped;

  // Faults off. First the raw store, before any repair: every acknowledged
  // mark has its record, and verify() reports exactly what the raw index
  // pages lack or hold in excess.
  control.on = false;
  const before = await rawOracle(raw, store, names);
  for (const name of recordedIndexed) if (!before.records.has(name)) result.lostBeforeRepair += 1;
  for (const name of recordedFiles) if (!before.tracked.has(name)) result.lostBeforeRepair += 1;
  // 'lyingVerify' (a negative control): a verify() that reports nothing wrong.
  const verified = lyingVerify
    ? { ...(await indexed.verify()), missing: [], stale: [], indexed: -1 }
    : await indexed.verify();
  result.staleBeforeRebuild = verified.stale.length;
  if (before.mode === 'index') {
    const unindexed = [...before.records].filter((n) => !before.indexed.has(n)).sort();
    const stale = [...before.indexed].filter((n) => !before.records.has(n)).sort();
    result.unindexedBeforeRepair = unindexed.length;
    result.staleBeforeRepair = stale.length;
    result.verifyAgrees = JSON.stringify([...verified.missing].sort()) === JSON.stringify(unindexed)
      && JSON.stringify([...new Set(verified.stale)].sort()) === JSON.stringify(stale)
      && verified.mode === 'index';
    if (!result.verifyAgrees) result.verifyReport = { verified, oracle: { unindexed, stale } };
  } else {
    result.verifyAgrees = verified.mode === 'list' && verified.indexed === before.records.size;
    if (!result.verifyAgrees) result.verifyReport = { verified, oracle: { records: before.records.size } };
  }
  await indexed.rebuild();
  const afterOracle = await rawOracle(raw, store, names);
  result.unindexedAfterRebuild = afterOracle.mode === 'index'
    ? [...afterOracle.records].filter((n) => !afterOracle.indexed.has(n)).length
    : 0;
  const listed = new Set();
  let cursor = null;
  do {
    const page = await indexed.list({ limit: 100, cursor });
    for (const f of page.files) listed.add(f.fileName);
    cursor = page.cursor;
  } while (cursor);
  for (const name of recordedIndexed) if (!listed.has(name)) result.lostRecords += 1;
  for (const name of recordedFiles) if (!(await files.isProcessed(name))) result.lostRecords += 1;
  for (const name of names) {
    if (!listed.has(name) && (await indexed.get(name))) result.lostIndexEntries += 1;
  }
  const after = await indexed.verify();
  result.consistentAfterRebuild = after.consistent;
  if (!after.consistent) result.afterRebuild = after;
  // The module still answers after thousands of failures.
  result.moduleAlive = (await new StateService(null).acquireLock('alive', kv, 1)) === true;
  if (uncodedSamples.length) result.uncodedSamples = uncodedSamples;
  raw.close?.();
  return result;
}

/**
 * What the raw store holds, read without the package: the file names with an
 * indexed record, with a FileTracker record, and (on a store that cannot
 * list) the names on any index page. Keys as the README documents them.
 */
async function rawOracle(raw, store, names) {
  const records = new Set();
  const tracked = new Set();
  const indexed = new Set();
  if (store === 'deno-kv') {
    for await (const entry of raw.list({ prefix: ['faults:processed-files'] })) records.add(entry.key[1]);
    for (const name of names) if ((await raw.get([`faults/processed-files/${name}`])).value != null) tracked.add(name);
    return { mode: 'list', records, tracked, indexed };
  }
  // Versori keys (README, "Keys on Versori"); the names here need no escapes.
  for (const { key, value } of raw.entries()) {
    if (key.startsWith('cs=/faults=3Aprocessed-files/')) records.add(key.slice('cs=/faults=3Aprocessed-files/'.length));
    if (key.startsWith('faults/processed-files/')) tracked.add(key.slice('faults/processed-files/'.length));
    if (key.startsWith('cs=/cs=3Aindex=3Aprocessed-files/faults/page/')) {
      for (const [name] of value.entries ?? []) indexed.add(name);
    }
  }
  return { mode: 'index', records, tracked, indexed };
}

/**
 * The same kind of workload on fc-connect-sdk 0.1.56 (its Versori classes
 * over the same faulty Versori-style store), for the comparison table.
 */
export async function legacyFaultRun(lib, { operations = 10_000, rate = 0.2, seed = 7 } = {}) {
  const raw = versoriKv();
  const control = faulty(raw, { rate, seed });
  const kv = control.kv;
  const random = seeded(seed * 31 + 1);
  const pick = (n) => Math.floor(random() * n);
  const names = Array.from({ length: 300 }, (_, i) => `file-${i}.csv`);
  const quiet = { info() {}, warn() {}, error() {}, debug() {} };
  const files = new lib.VersoriFileTracker(kv, 'faults');
  const indexed = new lib.VersoriIndexedFileTracker(kv, 'faults');
  const state = new lib.StateService(quiet);
  const adapter = new lib.VersoriKVAdapter(kv);
  const recordedIndexed = new Set();
  const recordedFiles = new Set();
  const result = {
    store: 'versori', operations, rate, faults: 0, ambiguous: 0, rejected: 0, coded: 0, uncoded: 0, traps: 0,
    faultsHidden: 0, wrongAnswers: 0, lostRecords: 0, lostIndexEntries: 0, staleBeforeRebuild: null,
  };
  const table = [
    [30, async (name) => { await indexed.markFileProcessed(name, { n: 1 }); recordedIndexed.add(name); }],
    [25, async (name) => { if (!(await files.wasFileProcessed(name)) && recordedFiles.has(name)) result.wrongAnswers += 1; }],
    [35, async (name) => { await files.markFileProcessed(name); recordedFiles.add(name); }],
    [10, async (name) => { if (await state.acquireLock(name, adapter, 1)) await state.releaseLock(name, adapter); }],
  ];
  const total = table.reduce((n, [w]) => n + w, 0);
  for (let i = 0; i < operations; i++) {
    let roll = pick(total);
    const [, op] = table.find(([w]) => (roll -= w) < 0);
    const before = control.stats.faults;
    try {
      await op(names[pick(names.length)]);
      if (control.stats.faults > before) result.faultsHidden += 1;
    } catch (e) {
      result.rejected += 1;
      if (e?.code && CODES.has(e.code)) result.coded += 1;
      else result.uncoded += 1;
    }
  }
  result.faults = control.stats.faults;
  result.ambiguous = control.stats.ambiguous;
  control.on = false;
  const listed = new Set((await indexed.listProcessedFiles()).map((f) => f.fileName));
  for (const name of recordedIndexed) if (!listed.has(name)) result.lostRecords += 1;
  for (const name of recordedFiles) if (!(await files.wasFileProcessed(name))) result.lostRecords += 1;
  for (const name of names) {
    if (!listed.has(name) && (await raw.get(`faults:processed-files:${name}`)) !== undefined) result.lostIndexEntries += 1;
  }
  return result;
}
