// The connector-state command: inspect a store the test prepared, and the
// operator actions, run as a user would run them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKv } from '@deno/kv';
import { CheckpointStore, FileTracker, IndexedFileTracker, JobTracker, RetryTracker, StateService } from 'connector-state';
import { sleep } from './helpers.mjs';
import { bin, runCli } from './cli-process.mjs';
import { scratch } from '../reliability/contention.mjs';
import { startDenoKv } from '../reliability/stores.mjs';

const cli = (...args) => runCli({}, args);
const cliWith = (env, ...args) => runCli(env, args);

async function prepared() {
  const dir = mkdtempSync(join(tmpdir(), 'cs-cli-'));
  const path = join(dir, 'state.sqlite');
  const kv = await openKv(path);
  const state = new StateService(null);
  await state.acquireLock('nightly-import', kv, 15);
  await state.acquireLock('crashed-run', kv, 0.001); // 60 ms: stale by the time we look
  const files = new FileTracker(kv, { prefix: 'inventory' });
  for (const name of ['a.csv', 'b c.csv', 'd.csv']) await files.markProcessed(name, { recordCount: 1 });
  await files.claim('e.csv');
  const indexed = new IndexedFileTracker(kv, { prefix: 'orders' });
  for (let i = 0; i < 5; i++) {
    await indexed.mark(`order-${i}.json`);
    await sleep(3); // distinct processedAt, so 'newest' is one file
  }
  const good = new CheckpointStore(kv, 'sync').open('products', { version: 3 });
  await good.load();
  await good.save({ cursor: 'abc' }, { position: 120 });
  const bad = new CheckpointStore(kv, 'sync').open('prices', { version: 1 });
  await bad.load();
  await bad.save({ page: 4 }, { position: 4 });
  const manifest = await kv.get(['cs:checkpoint', 'sync', 'prices']);
  await kv.set(['cs:checkpoint', 'sync', 'prices'], { ...manifest.value, bytes: manifest.value.bytes + 1 });
  const retries = new RetryTracker(kv, { namespace: 'uploads', policy: { maxAttempts: 1 } });
  await retries.recordFailure('broken.csv', 'parse error on line 4');
  const waiting = new RetryTracker(kv, { namespace: 'uploads', policy: { baseDelayMs: 1 } });
  await waiting.recordFailure('flaky.csv', 'timeout');
  const jobs = new JobTracker(kv, null);
  await jobs.createJob('job-1');
  await jobs.createJob('job-2');
  await jobs.updateJob('job-2', { status: 'processing', stage: 'upload' });
  await jobs.createJob('job-3');
  await jobs.markCompleted('job-3');
  kv.close();
  await sleep(120);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

test('inspect shows locks, files, checkpoints, retries and jobs', async () => {
  const { path, remove } = await prepared();
  try {
    const { code, stdout } = await cli('inspect', path, '--stuck-minutes', '0.001');
    assert.equal(code, 0);
    assert.match(stdout, /nightly-import: HELD/);
    assert.match(stdout, /crashed-run: STALE/);
    assert.match(stdout, /FileTracker "inventory": 3 files, 1 in progress/);
    assert.match(stdout, /IndexedFileTracker "orders": 5 files, newest order-4\.json/);
    assert.match(stdout, /sync\/products: valid, version 3/);
    assert.match(stdout, /sync\/prices: NOT VALID/);
    assert.match(stdout, /uploads: 1 waiting \(1 due now\), 1 exhausted/);
    assert.match(stdout, /dead letter: broken\.csv after 1 attempts \(parse error on line 4\)/);
    assert.match(stdout, /Jobs \(3\): .*1 queued/);
    assert.match(stdout, /STUCK: job-2 processing \(upload\)/);

    const json = JSON.parse((await cli('inspect', path, '--json')).stdout);
    assert.deepEqual(json.locks.map((l) => [l.name, l.held, l.stale]).sort(), [['crashed-run', false, true], ['nightly-import', true, false]]);
    assert.equal(json.files.find((g) => g.name === 'inventory').count, 3);
    assert.deepEqual(json.checkpoints.map((c) => [c.name, c.valid]).sort(), [['prices', false], ['products', true]]);
    assert.equal(json.retries[0].exhausted, 1);
    assert.deepEqual(json.jobs.byStatus, { queued: 1, processing: 1, completed: 1 });
    assert.deepEqual(json.jobs.stuck, [], 'not stuck under the default hour');
  } finally {
    remove();
  }
});

test('actions ask first, refuse without a terminal, and act with --yes', async () => {
  const { path, remove } = await prepared();
  try {
    const refused = await cli('release-lock', path, 'nightly-import');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /add --yes/);

    assert.match((await cli('release-lock', path, 'nightly-import', '--yes')).stdout, /released lock "nightly-import"/);
    assert.match((await cli('forget-file', path, 'inventory', 'b c.csv', '--yes')).stdout, /forgot "b c.csv" \(FileTracker\)/);
    assert.match((await cli('forget-file', path, 'orders', 'order-2.json', '--yes')).stdout, /IndexedFileTracker/);
    assert.match((await cli('requeue', path, 'uploads', 'broken.csv', '--yes')).stdout, /requeued "broken.csv"/);
    assert.match((await cli('clear-checkpoint', path, 'sync', 'prices', '--yes')).stdout, /cleared checkpoint sync\/prices/);
    assert.match((await cli('forget-file', path, 'inventory', 'never.csv', '--yes')).stdout, /nothing to do/);

    const json = JSON.parse((await cli('inspect', path, '--json')).stdout);
    assert.equal(json.locks.find((l) => l.name === 'nightly-import')?.held ?? false, false);
    assert.equal(json.files.find((g) => g.name === 'inventory').count, 2);
    assert.equal(json.files.find((g) => g.name === 'orders').count, 4);
    assert.equal(json.retries[0].exhausted, 0);
    assert.deepEqual(json.checkpoints.map((c) => c.name), ['products']);

    const kv = await openKv(path);
    assert.equal(await new StateService(null).acquireLock('nightly-import', kv, 1), true);
    kv.close();
  } finally {
    remove();
  }
});

test('bad usage is explained, with exit code 2', async () => {
  const none = await cli('frobnicate', 'x');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /unknown command "frobnicate"/);
  assert.match(none.stderr, /usage:/);
  assert.equal((await cli('inspect')).code, 2);
  assert.equal((await cli('requeue', '/tmp/x.sqlite', 'only-namespace')).code, 2);
  assert.match((await cli('help')).stdout, /connector-state inspect <store>/);
  // Flags are checked like options: a typo is named, never ignored.
  const typo = await cli('inspect', '/tmp/x.sqlite', '--jsno');
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown flag --jsno for inspect \(did you mean --json\?\)/);
  const misplaced = await cli('inspect', '/tmp/x.sqlite', '--yes');
  assert.match(misplaced.stderr, /unknown flag --yes for inspect \(it belongs to release-lock, forget-file, requeue, clear-checkpoint\)/);
  assert.equal((await cli('release-lock', '/tmp/x.sqlite', 'l', '--json')).code, 2);
});

test('inspect reads a denokv server by URL, with the token from the environment', async () => {
  const dir = scratch();
  const server = await startDenoKv(join(dir.dir, 'server.sqlite'), { lifetimeSeconds: 120 });
  try {
    process.env.DENO_KV_ACCESS_TOKEN = server.spec.token;
    const kv = await openKv(server.spec.url);
    await new StateService(null).acquireLock('remote-lock', kv, 5);
    await new IndexedFileTracker(kv, 'remote').mark('r.csv');
    kv.close();
    const { code, stdout } = await cliWith({ DENO_KV_ACCESS_TOKEN: server.spec.token }, 'inspect', server.spec.url);
    assert.equal(code, 0);
    assert.match(stdout, /remote-lock: HELD/);
    assert.match(stdout, /IndexedFileTracker "remote": 1 files/);
    const denied = await cliWith({ DENO_KV_ACCESS_TOKEN: 'wrong-token' }, 'inspect', server.spec.url);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /STORE_UNAVAILABLE: .*401.*set DENO_KV_ACCESS_TOKEN/);
  } finally {
    server.stop();
    dir.remove();
  }
});

test('at a terminal, actions ask and do nothing unless the answer is yes', async () => {
  const { path, remove } = await prepared();
  // `script` (util-linux, in every Debian) gives the command a terminal.
  const atTerminal = (answer, ...args) => new Promise((resolve) => {
    const command = [process.execPath, bin, ...args].map((a) => `'${a}'`).join(' ');
    const child = execFile('script', ['-qec', command, '/dev/null'], { timeout: 30_000 }, (error, stdout) => resolve({ code: error ? error.code : 0, stdout }));
    setTimeout(() => child.stdin.write(`${answer}\n`), 1500);
  });
  try {
    const no = await atTerminal('n', 'release-lock', path, 'nightly-import');
    assert.match(no.stdout, /Force-release lock "nightly-import" held by .*\? \[y\/N\]/);
    assert.match(no.stdout, /cancelled: nothing changed/);
    assert.equal(no.code, 1);
    const yes = await atTerminal('y', 'release-lock', path, 'nightly-import');
    assert.match(yes.stdout, /released lock "nightly-import"/);
    assert.equal(yes.code, 0);
  } finally {
    remove();
  }
});

test('inspect escapes what a store holds: no escape sequence reaches the terminal, no forged line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-cli-esc-'));
  const path = join(dir, 'state.sqlite');
  try {
    const kv = await openKv(path);
    const evil = 'job\u001b[2J\u001b[31mRED\nLocks (0)\r\u009b1m\u202eevil';
    await new StateService(null).acquireLock(evil, kv, 15);
    await new FileTracker(kv, { prefix: 'p\u001b]0;title\u0007' }).markProcessed('f\u001b[Kile.csv');
    await new RetryTracker(kv, { namespace: 'n', policy: { maxAttempts: 1 } }).recordFailure('item\u001b[1A', 'boom\n  forged: line');
    kv.close();
    const out = await cli('inspect', path);
    assert.equal(out.code, 0, out.stderr);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(out.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/, 'a control character reached the output');
    assert.equal(out.stdout.split('\n').filter((l) => /^Locks \(/.test(l)).length, 1, 'a stored name forged a line');
    assert.doesNotMatch(out.stdout, /^\s+forged: line/m);
    assert.match(out.stdout, /job\\u001b\[2J/);
    const release = await cli('release-lock', path, evil, '--yes');
    assert.equal(release.code, 0, release.stderr);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(release.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inspect and the actions never create a store at a path that does not exist; flags are checked first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-cli-typo-'));
  try {
    const typo = join(dir, 'typo.sqlite');
    for (const args of [['inspect', typo], ['release-lock', typo, 'l', '--yes'], ['forget-file', typo, 'p', 'f', '--yes']]) {
      const out = await cli(...args);
      assert.notEqual(out.code, 0, `${args[0]}: ${out.stdout}`);
      assert.match(out.stderr, /does not exist/);
      assert.equal(existsSync(typo), false, `${args[0]} created ${typo}`);
    }
    const bad = await cli('inspect', typo, '--stuck-minutes', 'abc');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--stuck-minutes/);
    assert.equal(existsSync(typo), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every key the CLI writes is the package's own: an interrupted copy's mark is named, not counted as foreign", async () => {
  const { COPY_MARK } = await import('../../js/cli/copy.mjs');
  const { describeKey } = await import('connector-state');
  assert.deepEqual(describeKey(COPY_MARK), { kind: 'copy-in-progress' });
  const dir = mkdtempSync(join(tmpdir(), 'cs-cli-'));
  try {
    const path = join(dir, 'state.sqlite');
    const kv = await openKv(path);
    await kv.set(COPY_MARK, { source: 'elsewhere.sqlite', startedAt: '2026-11-29T00:00:00.000Z' });
    await kv.set(['not', 'ours'], 1);
    kv.close();
    const text = await cli('inspect', path);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /A copy into this store did not finish/);
    assert.match(text.stdout, /1 other entries/);
    const json = JSON.parse((await cli('inspect', path, '--json')).stdout);
    assert.equal(json.copyInProgress, true);
    assert.equal(json.other, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
