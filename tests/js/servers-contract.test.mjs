// What the PostgreSQL and Redis stores promise past their happy path:
// expiry (an expired entry is absent to get, list and a check, Redis keeps
// it with a PX expiry, PostgreSQL's commits clean expired rows up), and a
// Redis commit whose connection drops after it was sent is never sent
// again (its outcome is reported unknown, and it applies at most once).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer } from 'node:net';
import pg from 'pg';
import Redis from 'ioredis';
import { openKv } from 'connector-state';
import { __kvEncodeKey } from '../../pkg/connector_state.js';
import { startAll, startPostgres, startRedis } from '../servers.mjs';
import { sleep } from './helpers.mjs';

let postgres;
let redis;
before(async () => {
  [postgres, redis] = await startAll(startPostgres, startRedis);
});
after(() => {
  postgres?.remove();
  redis?.remove();
});

const fresh = () => `ns${Math.random().toString(36).slice(2, 10)}`;

for (const kind of ['postgres', 'redis']) {
  test(`${kind}: an expired entry is absent to get, getMany, list and checks`, async () => {
    const kv = await openKv(kind === 'postgres' ? postgres.url : redis.url, { namespace: fresh() });
    try {
      await kv.set(['keep'], 'k');
      const { versionstamp } = await kv.set(['e', 1], 'soon gone', { expireIn: 300 });
      assert.equal((await kv.get(['e', 1])).value, 'soon gone');
      await sleep(500);
      assert.equal((await kv.get(['e', 1])).versionstamp, null);
      assert.deepEqual((await kv.getMany([['e', 1], ['keep']])).map((e) => e.value), [null, 'k']);
      const listed = [];
      for await (const e of kv.list({ prefix: [] })) listed.push(e.key);
      assert.deepEqual(listed, [['keep']]);
      // A check against the old versionstamp fails; "absent" passes.
      assert.equal((await kv.atomic().check({ key: ['e', 1], versionstamp }).set(['x'], 1).commit()).ok, false);
      assert.equal((await kv.atomic().check({ key: ['e', 1], versionstamp: null }).set(['e', 1], 'new').commit()).ok, true);
      assert.equal((await kv.get(['e', 1])).value, 'new');
    } finally {
      await kv.close();
    }
  });
}

test('redis: an entry set with expireIn carries a PX expiry and is gone from Redis after it', async () => {
  const namespace = fresh();
  const kv = await openKv(redis.url, { namespace });
  const raw = new Redis(redis.url);
  try {
    await kv.set(['e'], 1, { expireIn: 300 });
    await kv.set(['forever'], 1);
    const valueKey = (key) => Buffer.concat([Buffer.from(`{cs:${namespace}}:v:`), Buffer.from(__kvEncodeKey(key, 'write'))]);
    const ttl = await raw.pttl(valueKey(['e']));
    assert.ok(ttl > 0 && ttl <= 300, `PTTL ${ttl}`);
    assert.equal(await raw.pttl(valueKey(['forever'])), -1);
    await sleep(450);
    assert.equal(await raw.exists(valueKey(['e'])), 0);
  } finally {
    raw.disconnect();
    await kv.close();
  }
});

test('postgres: commits clean expired rows up', async () => {
  const namespace = fresh();
  const kv = await openKv(postgres.url, { namespace });
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    for (let i = 0; i < 20; i++) await kv.set(['e', i], i, { expireIn: 100 });
    await sleep(300);
    const expired = async () => Number((await client.query(
      'SELECT count(*) AS n FROM connector_state_kv WHERE namespace = $1 AND expires_at IS NOT NULL AND expires_at <= (extract(epoch from clock_timestamp()) * 1000)::bigint',
      [namespace])).rows[0].n);
    assert.equal(await expired(), 20);
    for (let i = 0; i < 64; i++) await kv.set(['tick'], i);
    assert.equal(await expired(), 0, 'expired rows are deleted by later commits');
  } finally {
    await client.end();
    await kv.close();
  }
});

/** A proxy that, once armed, forwards the next thing the client sends and
 *  then cuts both connections before any answer comes back. */
async function cuttingProxy(port) {
  let armed = false;
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    let dropping = false;
    client.on('data', (d) => {
      upstream.write(d);
      if (armed) {
        armed = false;
        // The command reaches the server; its answer never reaches the client.
        dropping = true;
        setTimeout(() => { client.destroy(); upstream.end(); }, 100);
      }
    });
    upstream.on('data', (d) => { if (!dropping && !client.destroyed) client.write(d); });
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `redis://127.0.0.1:${server.address().port}`, arm() { armed = true; }, close: () => server.close() };
}

test('redis: a commit whose connection drops after it was sent is reported, and never sent again', async () => {
  const proxy = await cuttingProxy(redis.port);
  const namespace = fresh();
  const kv = await openKv(proxy.url, { namespace });
  try {
    await kv.set(['warm'], 1); // the connection is up before the cut
    proxy.arm();
    await assert.rejects(kv.atomic().sum(['n'], 1n).commit(), (e) => e.code === 'STORE_UNAVAILABLE');
    // Reconnected: whatever the cut commit did, it did once.
    let value = null;
    for (let i = 0; i < 50; i++) {
      try {
        value = (await kv.get(['n'])).value;
        break;
      } catch {
        await sleep(100);
      }
    }
    await sleep(300); // time for a resend, were there one
    const direct = await openKv(redis.url, { namespace });
    try {
      const n = (await direct.get(['n'])).value;
      assert.ok(n !== null && n.value === 1n, `the commit applied ${n === null ? 0 : n.value} times`);
      assert.ok(value === null || value.value === 1n);
    } finally {
      await direct.close();
    }
  } finally {
    await kv.close();
    proxy.close();
  }
});
