// PostgreSQL and Redis as operators meet them: a row whose value cannot be
// decoded is listed as unreadable (by key) without failing the listing, and
// reads of it say CORRUPT_STATE naming the key; opening a PostgreSQL store
// while other processes commit takes no table lock and aborts nobody.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import Redis from 'ioredis';
import { IndexedFileTracker, openKv } from 'connector-state';
import { __kvEncodeKey } from '../../pkg/connector_state.js';
import { UnreadableValue } from '../../js/stores/server.mjs';
import { startPostgres, startRedis } from '../servers.mjs';

let postgres;
let redis;
before(async () => {
  // One at a time: when one cannot start, nothing is left running.
  postgres = await startPostgres();
  redis = await startRedis();
});
after(() => {
  postgres?.remove();
  redis?.remove();
});

const bin = fileURLToPath(new URL('../../bin/connector-state.mjs', import.meta.url));
const node = (file, args, timeout = 120_000) => new Promise((resolve) => {
  execFile(process.execPath, [file, ...args], { timeout }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
});

async function damage(kind, url, namespace, key) {
  const bytes = Buffer.from(__kvEncodeKey(key, 'write'));
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rowCount } = await client.query('UPDATE connector_state_kv SET value = $1 WHERE namespace = $2 AND key = $3', [Buffer.from([0xff, 0x00, 0x13]), namespace, bytes]);
      assert.equal(rowCount, 1);
    } finally {
      await client.end();
    }
  } else {
    const client = new Redis(url);
    try {
      const valueKey = Buffer.concat([Buffer.from(`{cs:${namespace}}:v:`), bytes]);
      const raw = await client.getBuffer(valueKey);
      assert.ok(raw);
      await client.set(valueKey, Buffer.concat([raw.subarray(0, 20), Buffer.from([0xff, 0x00, 0x13])]));
    } finally {
      client.disconnect();
    }
  }
}

for (const kind of ['postgres', 'redis']) {
  test(`one undecodable row on ${kind} is reported by key; the listing, the package and inspect go on`, async () => {
    const url = kind === 'postgres' ? postgres.url : redis.url;
    const kv = await openKv(url, { namespace: 'damaged' });
    try {
      const files = new IndexedFileTracker(kv, { prefix: 'in' });
      for (const name of ['a.csv', 'b.csv', 'c.csv']) await files.mark(name);
      await damage(kind, url, 'damaged', ['in:processed-files', 'b.csv']);
      const listed = [];
      for await (const e of kv.list({ prefix: [] })) listed.push(e);
      assert.equal(listed.length, 3);
      const bad = listed.find((e) => e.value instanceof UnreadableValue);
      assert.deepEqual(bad.key, ['in:processed-files', 'b.csv']);
      await assert.rejects(kv.get(['in:processed-files', 'b.csv']), (e) => e.code === 'CORRUPT_STATE' && e.message.includes('b.csv'));
      const page = await files.list();
      assert.deepEqual(page.files.map((f) => [f.fileName, f.damaged === true]), [['a.csv', false], ['b.csv', true], ['c.csv', false]]);
      assert.equal(await files.isProcessed('b.csv'), true, 'an unreadable record is still a record');
      const inspected = await node(bin, ['inspect', url, '--namespace', 'damaged']);
      assert.equal(inspected.code, 0, inspected.stderr);
      assert.match(inspected.stdout, /Unreadable entries \(1\)/);
      assert.match(inspected.stdout, /b\.csv/);
      assert.equal(await files.remove('b.csv'), true, 'removable by name');
      assert.equal((await files.stats()).totalFiles, 2);
    } finally {
      await kv.close();
    }
  });
}

test('opening a PostgreSQL store 20 times beside 2 committing processes: no errors, no table lock', async () => {
  const first = await openKv(postgres.url, { namespace: 'busy' });
  await first.close();
  const committer = fileURLToPath(new URL('./fixtures/committer.mjs', import.meta.url));
  const workers = [node(committer, [postgres.url, '6000', 'w1']), node(committer, [postgres.url, '6000', 'w2'])];
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const openErrors = [];
  const started = performance.now();
  const times = await Promise.all(Array.from({ length: 20 }, async () => {
    const t0 = performance.now();
    try {
      const kv = await openKv(postgres.url, { namespace: 'busy' });
      await kv.close();
    } catch (e) {
      openErrors.push(e.message);
    }
    return performance.now() - t0;
  }));
  const elapsed = performance.now() - started;
  const results = (await Promise.all(workers)).map((r) => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1));
  });
  console.log(`# 20 opens in ${elapsed.toFixed(0)} ms (slowest ${Math.max(...times).toFixed(0)} ms); commits per second per worker: ${results.map((r) => r.perSecond.join(' ')).join(' | ')}`);
  assert.deepEqual(openErrors, []);
  for (const r of results) {
    assert.equal(r.errors, 0, `a committer failed: ${r.firstError}`);
    // With a table lock taken per open the rate fell to 0-3 commits a second
    // (and opens deadlocked); without, it stays in the hundreds.
    assert.ok(Math.min(...r.perSecond) >= 50, `commits per second: ${r.perSecond.join(' ')}`);
  }
});
