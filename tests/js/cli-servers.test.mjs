// The command on the PostgreSQL and Redis stores: inspect with --namespace
// (never printing a URL's password), and copy from a @deno/kv SQLite file
// to PostgreSQL and Redis: everything the package keeps arrives and works
// through the package's classes; locks only when asked; a non-empty target
// is refused; an interrupted copy goes on when run again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKv as openDenoKv } from '@deno/kv';
import { CheckpointStore, FileTracker, IndexedFileTracker, JobTracker, RetryTracker, StateService, openKv } from 'connector-state';
import { startAll, startPostgres, startRedis } from '../servers.mjs';
import { runCli } from './cli-process.mjs';

const cli = (...args) => runCli({}, args, 120_000);

let pg;
let redis;
let dir;
let sqlite;
before(async () => {
  [pg, redis] = await startAll(startPostgres, startRedis);
  dir = mkdtempSync(join(tmpdir(), 'cs-copy-'));
  sqlite = join(dir, 'state.sqlite');
  const kv = await openDenoKv(sqlite);
  const state = new StateService(null);
  await state.acquireLock('nightly-import', kv, 15);
  const files = new FileTracker(kv, { prefix: 'inventory' });
  for (let i = 0; i < 250; i++) await files.markProcessed(`file-${i}.csv`, { recordCount: i });
  const indexed = new IndexedFileTracker(kv, { prefix: 'orders' });
  for (let i = 0; i < 40; i++) await indexed.mark(`order-${i}.json`);
  const checkpoint = new CheckpointStore(kv, 'sync').open('products', { version: 3 });
  await checkpoint.load();
  await checkpoint.save({ cursor: 'abc', rows: Array.from({ length: 500 }, (_, i) => i) }, { position: 120 });
  await new RetryTracker(kv, { namespace: 'uploads', policy: { maxAttempts: 1 } }).recordFailure('broken.csv', 'parse error');
  await new JobTracker(kv, null).createJob('job-1');
  await state.updateSyncState(kv, [{ fileName: 'file-249.csv', lastModified: '2026-11-01T00:00:00Z' }]);
  kv.close();
});
after(() => {
  pg?.remove();
  redis?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What the package reads back from a store the copy wrote. */
async function readBack(kv) {
  const state = new StateService(null);
  const files = new FileTracker(kv, { prefix: 'inventory' });
  const indexed = new IndexedFileTracker(kv, { prefix: 'orders' });
  const checkpoint = new CheckpointStore(kv, 'sync').open('products', { version: 3 });
  const loaded = await checkpoint.load();
  return {
    processed: (await Promise.all([0, 100, 249].map((i) => files.isProcessed(`file-${i}.csv`)))).every(Boolean),
    record: (await files.getRecord('file-7.csv'))?.metadata?.recordCount,
    indexed: (await indexed.stats()).totalFiles,
    checkpoint: loaded.data?.cursor,
    retry: (await new RetryTracker(kv, { namespace: 'uploads' }).get('broken.csv'))?.status,
    job: (await new JobTracker(kv, null).getJob('job-1'))?.status,
    sync: (await state.getSyncState(kv)).lastProcessedFile,
    locked: Boolean((await state.getLockInfo('nightly-import', kv))?.isLocked),
  };
}

const expected = { processed: true, record: 7, indexed: 40, checkpoint: 'abc', retry: 'exhausted', job: 'queued', sync: 'file-249.csv' };

test('copy from a SQLite file to PostgreSQL: everything but locks arrives and works; a second copy is refused', async () => {
  const target = pg.url.replace('postgres@', 'postgres:not-printed@');
  const done = await cli('copy', sqlite, target, '--to-namespace', 'moved');
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /copied \d+ entries .*verified: \d+ entries, checksum [0-9a-f]{16}/);
  assert.match(done.stdout, /1 left out: locks/);
  assert.doesNotMatch(done.stdout + done.stderr, /not-printed/);
  const kv = await openKv(pg.url, { namespace: 'moved' });
  try {
    assert.deepEqual(await readBack(kv), { ...expected, locked: false });
  } finally {
    await kv.close();
  }
  const again = await cli('copy', sqlite, target, '--to-namespace', 'moved');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /TARGET_NOT_EMPTY: .*not empty: add --into-non-empty/);
  assert.doesNotMatch(again.stderr, /not-printed/);
  const into = await cli('copy', sqlite, pg.url, '--to-namespace', 'moved', '--into-non-empty', '--include-locks');
  assert.equal(into.code, 0, into.stderr);
  const withLock = await openKv(pg.url, { namespace: 'moved' });
  try {
    assert.equal((await readBack(withLock)).locked, true);
  } finally {
    await withLock.close();
  }
});

/** A part of the source's entries, as an interrupted copy leaves them. */
async function partOfSource(kv, n) {
  const source = await openDenoKv(sqlite);
  try {
    let i = 0;
    for await (const { key, value } of source.list({ prefix: [] })) {
      if (i++ >= n) break;
      await kv.set(key, value);
    }
  } finally {
    source.close();
  }
}

test('an interrupted copy to Redis goes on when run again, and verifies', async () => {
  // What an interruption leaves: the copy's mark and a part of the entries.
  const kv = await openKv(redis.url, { namespace: 'half' });
  await kv.set(['cs:copy', 'in-progress'], { source: sqlite, startedAt: '2026-11-29T00:00:00.000Z' });
  await partOfSource(kv, 30);
  await kv.close();
  const other = await cli('copy', sqlite, redis.url, '--to-namespace', 'other-half');
  assert.equal(other.code, 0, other.stderr);
  // No --into-non-empty: the mark and entries that all came from this source are enough.
  const resumed = await cli('copy', sqlite, redis.url, '--to-namespace', 'half');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /going on with the interrupted copy/);
  const moved = await openKv(redis.url, { namespace: 'half' });
  try {
    assert.deepEqual(await readBack(moved), { ...expected, locked: false });
    assert.equal((await moved.get(['cs:copy', 'in-progress'])).value, null, 'the mark is gone once verified');
  } finally {
    await moved.close();
  }
});

test('a leftover copy mark with the same source name does not open a target that holds other entries', async () => {
  const kv = await openKv(redis.url, { namespace: 'foreign' });
  await kv.set(['cs:copy', 'in-progress'], { source: sqlite, startedAt: '2026-11-29T00:00:00.000Z' });
  await partOfSource(kv, 5);
  await kv.set(['not', 'from', 'the source'], 'theirs');
  await kv.close();
  const refused = await cli('copy', sqlite, redis.url, '--to-namespace', 'foreign');
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /TARGET_NOT_EMPTY.*not in the source/);
  const after = await openKv(redis.url, { namespace: 'foreign' });
  try {
    let count = 0;
    for await (const _ of after.list({ prefix: [] })) count++;
    assert.equal(count, 7, 'nothing was written');
  } finally {
    await after.close();
  }
});

test('inspect on PostgreSQL and Redis with --namespace; the password is never printed', async () => {
  const url = pg.url.replace('postgres@', 'postgres:s3cret-pw@');
  const out = await cli('inspect', url, '--namespace', 'moved');
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /Tracked files \(2\d\d\)/);
  assert.match(out.stdout, /store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/);
  assert.doesNotMatch(out.stdout + out.stderr, /s3cret-pw/);
  const json = JSON.parse((await cli('inspect', redis.url, '--namespace', 'other-half', '--json')).stdout);
  assert.equal(json.checkpoints.length, 1);
  const empty = await cli('inspect', redis.url, '--namespace', 'nothing-here');
  assert.match(empty.stdout, /Locks \(0\)/);
  const wrong = await cli('inspect', sqlite, '--namespace', 'x');
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--namespace and --table are for PostgreSQL and Redis/);
});

test('copy verification fails on a target that drops a write, with or without --into-non-empty', async () => {
  // The target table drops one row silently (a trigger): the copy must not
  // report success, whatever the flags.
  const setup = await openKv(pg.url, { namespace: 'tampered' });
  await setup.close();
  const { default: pgLib } = await import('pg');
  const client = new pgLib.Client({ connectionString: pg.url });
  await client.connect();
  try {
    await client.query(`CREATE OR REPLACE FUNCTION drop_file_7() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.namespace = 'tampered' AND position('file-7.csv' in encode(NEW.key, 'escape')) > 0 THEN RETURN NULL; END IF;
        RETURN NEW;
      END $$`);
    await client.query('CREATE TRIGGER drop_file_7 BEFORE INSERT ON connector_state_kv FOR EACH ROW EXECUTE FUNCTION drop_file_7()');
    const plain = await cli('copy', sqlite, pg.url, '--to-namespace', 'tampered');
    assert.equal(plain.code, 1, plain.stdout);
    assert.match(plain.stderr, /COPY_NOT_VERIFIED/);
    const forced = await cli('copy', sqlite, pg.url, '--to-namespace', 'tampered', '--into-non-empty');
    assert.equal(forced.code, 1, forced.stdout);
    assert.match(forced.stderr, /COPY_NOT_VERIFIED/);
  } finally {
    await client.query('DROP TRIGGER IF EXISTS drop_file_7 ON connector_state_kv').catch(() => {});
    await client.end();
  }
});
