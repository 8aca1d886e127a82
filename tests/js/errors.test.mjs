// StateError as Node's norms have it (issue 28): the driver's error kept as
// `cause`, `retryable`, the caller's frame in the stack, JSON that keeps the
// message and code, and CLOSED for a use after free() or close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTracker, JobTracker, MemoryKv, StateError, StateService, CheckpointStore, openKv } from 'connector-state';

const failing = (error) => ({ get: async () => { throw error; }, set: async () => { throw error; }, delete: async () => { throw error; } });

async function callerOfTheFailure(kv) {
  return await new StateService().isFileProcessed(kv, 'a.csv');
}

async function failureSeenBy(kv) {
  try {
    await callerOfTheFailure(kv);
  } catch (e) {
    return e;
  }
  assert.fail('expected a rejection');
}

test('a store failure keeps what the driver threw as cause, and says it may be retried', async () => {
  const driver = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  const e = await callerOfTheFailure(failing(driver)).catch((x) => x);
  assert.ok(e instanceof StateError);
  assert.equal(e.code, 'STORE_UNAVAILABLE');
  assert.equal(e.cause, driver, 'the very object the driver threw');
  assert.equal(e.retryable, true);
  // A non-Error thrown value is kept as it is too.
  const odd = await new FileTracker(failing('plain text')).isProcessed('a').catch((x) => x);
  assert.equal(odd.cause, 'plain text');
});

test("a rejection's stack shows the caller's line, not only wasm and glue frames", async () => {
  const e = await failureSeenBy(failing(new Error('down')));
  assert.match(e.stack, /callerOfTheFailure/);
  assert.match(e.stack, /errors\.test\.mjs:\d+/);
  assert.match(e.stack.split('\n')[0], /^StateError: the KV store failed during get: down/);
  // A synchronous refusal names the caller as well.
  let sync;
  try {
    new FileTracker(new MemoryKv(), { prefx: 'x' });
  } catch (x) {
    sync = x;
  }
  assert.equal(sync.code, 'INVALID_ARGUMENT');
  assert.match(sync.stack, /errors\.test\.mjs:\d+/);
});

test('JSON.stringify keeps name, code, message, retryable and the cause', async () => {
  const driver = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  const e = await callerOfTheFailure(failing(driver)).catch((x) => x);
  const json = JSON.parse(JSON.stringify(e));
  assert.deepEqual(Object.keys(json), ['name', 'code', 'message', 'retryable', 'cause']);
  assert.equal(json.code, 'STORE_UNAVAILABLE');
  assert.equal(json.message, e.message);
  assert.deepEqual(json.cause, { name: 'Error', message: 'socket hang up', code: 'ECONNRESET' });
  // Without a cause, no cause field; a cause that cannot be shown does not throw.
  assert.deepEqual(JSON.parse(JSON.stringify(new StateError('CONFLICT', 'lost'))), { name: 'StateError', code: 'CONFLICT', message: 'lost', retryable: true });
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  assert.equal(JSON.parse(JSON.stringify(new StateError('INVALID_ARGUMENT', 'x', { cause: proxy }))).cause, '(a value that cannot be shown)');
});

test('retryable follows the code unless given', () => {
  for (const code of ['STORE_UNAVAILABLE', 'CONFLICT', 'LOCK_HELD']) assert.equal(new StateError(code, 'm').retryable, true, code);
  for (const code of ['INVALID_ARGUMENT', 'CORRUPT_STATE', 'VALUE_TOO_LARGE', 'CLOSED', 'NOT_FOUND', 'LOCK_NOT_HELD']) assert.equal(new StateError(code, 'm').retryable, false, code);
  assert.equal(new StateError('STORE_UNAVAILABLE', 'm', { retryable: false }).retryable, false);
  assert.equal(new StateError('INVALID_ARGUMENT', 'm').cause, undefined);
  assert.ok(!Object.hasOwn(new StateError('INVALID_ARGUMENT', 'm'), 'cause'));
});

test('a use after free() is a StateError CLOSED naming the class and method', async () => {
  const kv = await openKv();
  const cases = [
    [new FileTracker(kv), (o) => o.isProcessed('a'), /FileTracker\.isProcessed .*free\(\)/],
    [new FileTracker(kv), (o) => o.prefix, /FileTracker\.prefix/],
    [new StateService(), (o) => o.acquireLock('x', kv), /StateService\.acquireLock/],
    [new JobTracker(kv), (o) => o.getJob('j'), /JobTracker\.getJob/],
    [new CheckpointStore(kv), (o) => o.open('c'), /CheckpointStore\.open/],
  ];
  for (const [object, use, message] of cases) {
    object.free();
    let error;
    try {
      await use(object);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof StateError, String(error));
    assert.equal(error.code, 'CLOSED');
    assert.match(error.message, message);
    assert.equal(error.retryable, false);
  }
});

test("the package's classes on a closed store get CLOSED, on the embedded store and on a SQLite file", async () => {
  const memory = await openKv();
  const files = new FileTracker(memory, { prefix: 'p' });
  await files.markProcessed('a.csv');
  memory.close();
  for (const call of [() => files.isProcessed('a.csv'), () => files.markProcessed('b.csv'), () => new StateService().acquireLock('l', memory)]) {
    await assert.rejects(call(), (e) => e instanceof StateError && e.code === 'CLOSED' && /closed/.test(e.message));
  }
  const dir = mkdtempSync(join(tmpdir(), 'cs-errors-'));
  try {
    const sqlite = await openKv(join(dir, 'state.sqlite'));
    const tracker = new FileTracker(sqlite);
    await tracker.markProcessed('a.csv');
    await sqlite[Symbol.asyncDispose]();
    const e = await tracker.isProcessed('a.csv').catch((x) => x);
    assert.ok(e instanceof StateError, String(e));
    assert.equal(e.code, 'CLOSED', e.message);
    assert.equal(e.retryable, false);
    assert.ok(e.cause !== undefined, 'the client error is kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stores are disposable: asyncDispose closes every kind openKv gives, dispose the embedded one', async () => {
  const a = await openKv();
  await a[Symbol.asyncDispose]();
  assert.equal(a.closed, true);
  const b = new MemoryKv();
  b[Symbol.dispose]();
  await assert.rejects(b.get(['x']), { name: 'BadResource' });
});

test("the daily job's NOT_FOUND names the current API", async () => {
  const e = await new StateService().incrementDailyJobBatchCount(await openKv(), 'wf').catch((x) => x);
  assert.equal(e.code, 'NOT_FOUND');
  assert.match(e.message, /getOrCreateDailyJob/);
});
