// The PostgreSQL and Redis stores against Deno KV's behaviour: every case
// of tests/kv/conformance-cases.mjs (as the embedded store passes them),
// the differential test against the embedded store, namespaces that never
// see each other, versionstamps that keep rising across restarts (a Redis
// restarted without its data included), and what a caller sees when the
// server goes away. Real servers: tests/servers.mjs starts them on
// 127.0.0.1 in temporary folders.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import util from 'node:util';
import { KvU64, StateService, describeStore, openKv } from 'connector-state';
import { openPostgresKv } from 'connector-state/postgres';
import { openRedisKv } from 'connector-state/redis';
import { kvConformance } from '../kv/conformance-cases.mjs';
import { agree } from '../kv/differential.mjs';
import { startAll, startPostgres, startRedis } from '../servers.mjs';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
let unique = 0;
const fresh = () => `t${process.pid}-${++unique}`;

for (const [kind, start] of [['postgres', startPostgres], ['redis', startRedis]]) {
  describe(`${kind} store`, () => {
    let server;
    before(async () => {
      server = await start();
    });
    after(() => server?.remove());

    describe('Deno KV conformance', () => kvConformance({ open: () => openKv(server.url, { namespace: fresh() }), test, KvU64 }));

    test('agrees with the embedded store on 12 random sequences of 100 operations', (t) =>
      agree(t, { sequences: 12, steps: 100, openOurs: () => openKv(server.url, { namespace: fresh() }), openRef: () => openKv(), refTimeoutMs: 60_000, name: `the ${kind} store` }));

    test('400 concurrent increments from 4 connections: none lost with a check, some lost without (the control)', async () => {
      const ns = fresh();
      const stores = await Promise.all([1, 2, 3, 4].map(() => openKv(server.url, { namespace: ns })));
      const increment = async (kv, checked) => {
        for (;;) {
          const current = await kv.get(['count', checked]);
          const op = kv.atomic();
          if (checked) op.check(current);
          if ((await op.set(['count', checked], (current.value ?? 0) + 1).commit()).ok) return;
        }
      };
      try {
        for (const checked of [true, false]) {
          await Promise.all(stores.map(async (kv) => {
            for (let i = 0; i < 100; i++) await increment(kv, checked);
          }));
        }
        assert.equal((await stores[0].get(['count', true])).value, 400);
        const unchecked = (await stores[0].get(['count', false])).value;
        assert.ok(unchecked < 400, `the unchecked run lost nothing (${unchecked}): the test could not fail`);
      } finally {
        await Promise.all(stores.map((kv) => kv.close()));
      }
    });

    test('describeStore: exact compare-and-set, its own kind', async () => {
      const kv = await openKv(server.url, { namespace: fresh() });
      try {
        assert.deepEqual(describeStore(kv), { kind, compareAndSet: true, list: true, expiry: true, guarantee: 'exact' });
      } finally {
        await kv.close();
      }
    });

    test('namespaces never see each other: keys, listings, versionstamp checks', async () => {
      const [a, b] = [await openKv(server.url, { namespace: fresh() }), await openKv(server.url, { namespace: fresh() })];
      try {
        const put = await a.set(['k'], 'a');
        assert.equal((await b.get(['k'])).value, null);
        await b.set(['k'], 'b');
        assert.equal((await a.get(['k'])).value, 'a');
        const listed = [];
        for await (const e of b.list({ prefix: [] })) listed.push(e.value);
        assert.deepEqual(listed, ['b']);
        // b's writes leave a's versionstamps alone, and a's checks see a's keys only.
        assert.equal((await a.atomic().check({ key: ['k'], versionstamp: put.versionstamp }).set(['k'], 'y').commit()).ok, true);
        assert.equal((await b.atomic().check({ key: ['only-a'], versionstamp: null }).set(['only-a'], 'b').commit()).ok, true);
        await a.set(['only-b'], 'a');
        assert.equal((await b.get(['only-b'])).value, null);
        assert.equal((await a.get(['only-a'])).value, null);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('versionstamps keep rising after the server is killed and restarted', async () => {
      const ns = fresh();
      let kv = await openKv(server.url, { namespace: ns });
      const stamps = [];
      for (let i = 0; i < 5; i++) stamps.push((await kv.set(['n', i], i)).versionstamp);
      await kv.close();
      await server.kill();
      await server.start();
      kv = await openKv(server.url, { namespace: ns });
      try {
        assert.equal((await kv.get(['n', 4])).value, 4, 'an acknowledged write survives the restart');
        stamps.push((await kv.set(['n', 5], 5)).versionstamp);
        for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] > stamps[i - 1], `${stamps[i]} after ${stamps[i - 1]}`);
        assert.ok(stamps.every((s) => /^[0-9a-f]{20}$/.test(s)));
      } finally {
        await kv.close();
      }
    });

    test('credentials never appear in inspect output or errors', async () => {
      const secret = 'hunter2-secret';
      const withPassword = server.url.replace('://', `://${kind === 'postgres' ? 'postgres' : 'default'}:${secret}@`).replace('postgres@127', '127').replace('postgres:hunter2-secret@postgres@', 'postgres:hunter2-secret@');
      let kv;
      try {
        kv = await openKv(withPassword, { namespace: fresh() });
      } catch (error) {
        // Redis without a password refuses AUTH: the error must not show it.
        assert.doesNotMatch(`${error.message} ${util.inspect(error)}`, new RegExp(secret));
        return;
      }
      try {
        assert.doesNotMatch(util.inspect(kv), new RegExp(secret));
        assert.doesNotMatch(JSON.stringify(kv), new RegExp(secret));
      } finally {
        await kv.close();
      }
      const dead = withPassword.replace(String(server.port), '1');
      const error = await openKv(dead, { namespace: fresh() }).then(() => null, (e) => e);
      assert.equal(error?.code, 'STORE_UNAVAILABLE');
      assert.doesNotMatch(`${error.message} ${util.inspect(error)}`, new RegExp(secret));
    });

    test('a server that goes away: STORE_UNAVAILABLE in the classes, and the store works again after it is back', async () => {
      const kv = await openKv(server.url, { namespace: fresh() });
      const state = new StateService(quiet);
      try {
        assert.ok(await state.acquireLock('before', kv));
        await server.kill();
        await assert.rejects(state.acquireLock('during', kv), { code: 'STORE_UNAVAILABLE' });
        await assert.rejects(kv.get(['x']), { code: 'STORE_UNAVAILABLE' });
        await server.start();
        let lock = null;
        for (let i = 0; i < 100 && !lock; i++) {
          lock = await state.acquireLock('after', kv).catch(() => null);
          if (!lock) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(lock, 'the store works again once the server is back');
      } finally {
        await kv.close();
      }
    });

    test('bad options are refused with INVALID_ARGUMENT', async () => {
      // A store that opens after all is closed before the assertion fails:
      // left open, its client would reconnect forever and hang the run.
      const refused = async (opening, expected) => {
        let opened;
        await assert.rejects(opening.then(async (kv) => {
          opened = kv;
          await kv.close();
          return kv;
        }), expected);
        assert.equal(opened, undefined);
      };
      await refused(openKv(server.url, { namespace: 'a}b' }), { code: 'INVALID_ARGUMENT' });
      await refused(openKv(server.url, { namespace: '' }), { code: 'INVALID_ARGUMENT' });
      await refused(openKv(server.url, { nmespace: 'x' }), { code: 'INVALID_ARGUMENT', message: /nmespace/ });
      if (kind === 'postgres') {
        await refused(openKv(server.url, { table: 'x"; DROP TABLE y; --' }), { code: 'INVALID_ARGUMENT' });
        await refused(openPostgresKv({ connectionString: server.url, pool: {} }), { code: 'INVALID_ARGUMENT' });
      } else {
        await refused(openRedisKv({ url: server.url, client: {} }), { code: 'INVALID_ARGUMENT' });
      }
    });
  });
}

test('PostgreSQL: 8 processes\' worth of stores creating one new table at once all succeed and share it', async () => {
  const server = await startPostgres();
  try {
    const stores = await Promise.all(Array.from({ length: 8 }, (_, i) => openKv(server.url, { table: 'created_at_once', namespace: `n${i % 2}` })));
    try {
      await Promise.all(stores.map((kv, i) => kv.set(['from', i], i)));
      let seen = 0;
      for await (const _ of stores[0].list({ prefix: ['from'] })) seen += 1;
      assert.equal(seen, 4, 'namespace n0 holds the 4 writes made in it');
      // Opening again on the existing table is harmless too.
      const again = await openKv(server.url, { table: 'created_at_once', namespace: 'n0' });
      assert.equal((await again.get(['from', 2])).value, 2);
      await again.close();
    } finally {
      await Promise.all(stores.map((kv) => kv.close()));
    }
  } finally {
    server.remove();
  }
});

test('Redis: versionstamps never repeat after a restart that lost the data', async () => {
  const server = await startRedis();
  try {
    let kv = await openKv(server.url, { namespace: 'lost' });
    const before = (await kv.set(['a'], 1)).versionstamp;
    await kv.close();
    await server.restartEmpty();
    kv = await openKv(server.url, { namespace: 'lost' });
    try {
      assert.equal((await kv.get(['a'])).value, null, 'the data is gone');
      const afterwards = (await kv.set(['a'], 2)).versionstamp;
      assert.ok(afterwards > before, `${afterwards} after ${before}`);
    } finally {
      await kv.close();
    }
  } finally {
    server.remove();
  }
});

test("a caller's pool or client is used, and left open by close()", async () => {
  const [pg, redis] = await startAll(startPostgres, startRedis);
  const { default: Pg } = await import('pg');
  const { default: Redis } = await import('ioredis');
  const pool = new Pg.Pool({ connectionString: pg.url });
  // As pg asks of every pool: a connection the server ends while it sits
  // idle (here, the server stopping as the test ends) must not end the process.
  pool.on('error', () => {});
  const client = new Redis(redis.url, { autoResendUnfulfilledCommands: false });
  try {
    for (const kv of [await openPostgresKv({ pool, namespace: 'mine' }), await openRedisKv({ client, namespace: 'mine' })]) {
      await kv.set(['x'], 1);
      assert.equal((await kv.get(['x'])).value, 1);
      await kv.close();
      await assert.rejects(kv.get(['x']), { name: 'BadResource' });
    }
    assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1);
    assert.equal(await client.ping(), 'PONG');
  } finally {
    await pool.end();
    client.disconnect();
    pg.remove();
    redis.remove();
  }
});
