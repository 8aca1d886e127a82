// The PostgreSQL and Redis stores' own code paths, each by the property it
// keeps: how they are opened (every refusal, by its words), what close()
// ends and what it leaves open, PostgreSQL's transaction (BEGIN, COMMIT or
// ROLLBACK, a broken client never handed back, why a failure happened),
// the work a commit costs (one round trip for sets and deletes), a failed
// check that writes nothing (not even the version counter), the cleanup's
// schedule, expiry inside arithmetic commits, checks no row can pass,
// Redis's key layout, scripts by digest (the source sent only when the
// server lacks it), driver failures named by what failed, and a missing
// driver package named with its install command.
//
// The fakes here stand in for pg's pool and client and for ioredis only
// where a real one cannot be made to fail on cue; they keep the drivers'
// shapes: pg's PoolClient is an EventEmitter whose release(err) destroys the
// connection when given a truthy argument (node-postgres docs, "Pooling":
// "client.release(true) will instruct the pool to disconnect and destroy
// this client"), and ioredis answers a missing script with an error whose
// message starts "NOSCRIPT" (Redis docs, EVALSHA).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { execFile } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import Redis from 'ioredis';
import { openKv, StateError } from 'connector-state';
import { openPostgresKv } from 'connector-state/postgres';
import { FileTracker } from 'connector-state';
import { openRedisKv } from 'connector-state/redis';
import { __kvEncodeKey } from '../../pkg/connector_state.js';
import { CLEANUP_EVERY, loadPg, rolledBack, transaction } from '../../js/stores/postgres-sql.mjs';
import { loadIoredis } from '../../js/stores/redis.mjs';
import { freePort, startAll, startPostgres, startRedis } from '../servers.mjs';
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

let unique = 0;
const fresh = () => `s${process.pid}-${++unique}`;
const invalid = (message) => (e) => e instanceof StateError && e.code === 'INVALID_ARGUMENT' && message.test(e.message);

// ---- PostgreSQL's transaction, on a fake pg pool --------------------------

/** A pg pool whose client records its queries; `fail(sql)` decides which
 *  query rejects (with that error). */
function fakePool({ fail = () => null, connectError = null } = {}) {
  const log = { queries: [], released: [], listenersAtRelease: [] };
  const client = new EventEmitter();
  client.query = async (sql) => {
    log.queries.push(sql);
    const error = fail(sql);
    if (error) throw error;
    return { rows: [], rowCount: 0 };
  };
  client.release = (destroy) => {
    log.released.push(destroy);
    log.listenersAtRelease.push(client.listenerCount('error'));
  };
  const pool = {
    async connect() {
      if (connectError) throw connectError;
      return client;
    },
    query: client.query,
  };
  return { pool, client, log };
}

test('transaction: BEGIN … COMMIT, the client handed back whole, and no error listener left behind', async () => {
  const { pool, client, log } = fakePool();
  const out = await transaction(pool, async (c) => {
    assert.equal(c, client);
    // A connection error while the work runs must not end the process.
    assert.equal(c.listenerCount('error'), 1);
    c.emit('error', new Error('terminated'));
    await c.query('SELECT 1');
    return { ok: true, n: 7 };
  }, 'test');
  assert.deepEqual(out, { ok: true, n: 7 });
  assert.deepEqual(log.queries, ['BEGIN', 'SELECT 1', 'COMMIT']);
  assert.deepEqual(log.released, [undefined], 'released without destroying it');
  assert.deepEqual(log.listenersAtRelease, [0]);
});

test('transaction: { rollback: true } rolls back and commits nothing', async () => {
  const { pool, log } = fakePool();
  const out = await transaction(pool, async () => ({ rollback: true, ok: false }), 'test');
  assert.deepEqual(out, { rollback: true, ok: false });
  assert.deepEqual(log.queries, ['BEGIN', 'ROLLBACK']);
  assert.deepEqual(log.released, [undefined]);
});

test('transaction: a failed commit is STORE_UNAVAILABLE whose outcome is unknown, and the client is destroyed', async () => {
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  const { pool, log } = fakePool({ fail: (sql) => (sql === 'COMMIT' ? reset : null) });
  await assert.rejects(transaction(pool, async () => ({ ok: true }), 'commit'), (e) => {
    assert.equal(e.code, 'STORE_UNAVAILABLE');
    assert.equal(e.message, 'PostgreSQL (commit): read ECONNRESET. The outcome of this commit is unknown (the connection failed while it was committed): read the keys back before trying again');
    assert.equal(e.cause, reset);
    assert.equal(e.retryable, true);
    return true;
  });
  assert.deepEqual(log.released, [true]);
  assert.deepEqual(log.listenersAtRelease, [0]);
});

test('transaction: a failure before the commit says only what failed; a deadlock or serialization failure says nothing was written', async () => {
  const early = Object.assign(new Error('syntax error'), { code: '42601' });
  const { pool, log } = fakePool({ fail: (sql) => (sql === 'BAD' ? early : null) });
  await assert.rejects(
    transaction(pool, async (c) => c.query('BAD'), 'reading'),
    (e) => e.code === 'STORE_UNAVAILABLE' && e.message === 'PostgreSQL (reading): syntax error' && e.driverCode === '42601',
  );
  assert.deepEqual(log.released, [true]);
  for (const [code, why] of [['40P01', 'a deadlock'], ['40001', 'a serialization failure']]) {
    const error = Object.assign(new Error('could not serialize'), { code });
    for (const where of ['BAD', 'COMMIT']) {
      const { pool: p } = fakePool({ fail: (sql) => (sql === where ? error : null) });
      await assert.rejects(transaction(p, async (c) => (where === 'BAD' ? c.query('BAD') : { ok: true }), 'commit'), (e) => {
        assert.equal(e.message, `PostgreSQL (commit): could not serialize. PostgreSQL rolled the transaction back (${why}): nothing of it was written; try again`);
        return true;
      });
    }
  }
});

test("transaction: the work's TypeError and StateError pass through as they are; a pool that cannot connect is STORE_UNAVAILABLE", async () => {
  for (const thrown of [new TypeError('bad value'), new StateError('CORRUPT_STATE', 'bad row')]) {
    const { pool, log } = fakePool();
    await assert.rejects(
      transaction(pool, async () => {
        throw thrown;
      }, 'commit'),
      (e) => e === thrown,
    );
    assert.deepEqual(log.queries, ['BEGIN']);
    assert.deepEqual(log.released, [true]);
  }
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const { pool } = fakePool({ connectError: refused });
  await assert.rejects(
    transaction(pool, async () => ({}), 'creating the tables'),
    (e) => e.code === 'STORE_UNAVAILABLE' && e.message === 'PostgreSQL (creating the tables): connect ECONNREFUSED 127.0.0.1:1' && e.cause === refused,
  );
});

test('rolledBack: only the two codes that prove a rollback', () => {
  assert.equal(rolledBack(undefined), undefined);
  assert.equal(rolledBack(null), undefined);
  assert.equal(rolledBack({ code: '08006' }), undefined);
  assert.match(rolledBack({ code: '40P01' }), /\(a deadlock\)/);
  assert.match(rolledBack({ code: '40001' }), /\(a serialization failure\)/);
});

// ---- opening, refused before anything connects ----------------------------

test('openPostgresKv: every refusal in its own words, before any connection', async () => {
  const url = 'postgres://127.0.0.1:1/none';
  const table = /^table must be a SQL name of 1 to 50 letters, digits and underscores, not starting with a digit$/;
  for (const bad of ['1abc', 'a-b', 'abc;', 'x'.repeat(51), '', 5, null]) {
    await assert.rejects(openPostgresKv({ connectionString: url, table: bad }), invalid(table), String(bad));
  }
  const one = /^openPostgresKv needs exactly one of pool \(a pg\.Pool\) or connectionString$/;
  await assert.rejects(openPostgresKv({}), invalid(one));
  await assert.rejects(openPostgresKv(), invalid(one));
  await assert.rejects(openPostgresKv({ connectionString: url, pool: {} }), invalid(one));
  const scheme = /^connectionString must be a postgres:\/\/ or postgresql:\/\/ URL$/;
  for (const bad of ['mysql://h/db', 'xpostgres://h/db', 5, null]) await assert.rejects(openPostgresKv({ connectionString: bad }), invalid(scheme), String(bad));
  const notPool = /^pool must be a pg\.Pool \(with connect\(\) and query\(\)\)$/;
  for (const bad of [{}, null, { connect() {} }, { query() {} }, { connect: 1, query() {} }]) {
    await assert.rejects(openPostgresKv({ pool: bad }), invalid(notPool), inspect(bad));
  }
  await assert.rejects(openPostgresKv({ pool: {}, tabel: 't' }), invalid(/^openPostgresKv: options\.tabel is not an option here \(did you mean openPostgresKv: options\.table\?\)$/));
});

test('openRedisKv: every refusal in its own words, before any connection', async () => {
  const one = /^openRedisKv needs exactly one of client \(an ioredis client\) or url$/;
  await assert.rejects(openRedisKv({}), invalid(one));
  await assert.rejects(openRedisKv({ url: 'redis://127.0.0.1:1', client: {} }), invalid(one));
  const notClient = /^client must be an ioredis client \(Redis or Cluster\)$/;
  for (const bad of [{}, null, { call() {} }]) await assert.rejects(openRedisKv({ client: bad }), invalid(notClient), inspect(bad));
  const scheme = /^url must be a redis:\/\/ or rediss:\/\/ URL$/;
  for (const bad of ['http://h', 'xredis://h', 'REDIS://h', 5, null]) await assert.rejects(openRedisKv({ url: bad }), invalid(scheme), String(bad));
  await assert.rejects(openRedisKv({ url: 'redis://127.0.0.1:1', namespce: 'x' }), invalid(/did you mean openRedisKv: options\.namespace\?\)$/));
});

test('openRedisKv: a URL ioredis cannot read is INVALID_ARGUMENT without its secret; a server that refuses is STORE_UNAVAILABLE naming it, redacted', async () => {
  await assert.rejects(openRedisKv({ url: 'redis://u:p%zz@h' }), (e) => {
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, /^url redis:\/\/u:\*\*\*@h is not a Redis URL ioredis can read \(URIError\): write redis:\/\/\[:password@\]host/);
    assert.ok(!e.message.includes('p%zz') && e.cause === undefined);
    return true;
  });
  const port = await freePort();
  await assert.rejects(openRedisKv({ url: `redis://:pw@127.0.0.1:${port}` }), (e) => e.code === 'STORE_UNAVAILABLE' && e.message.startsWith(`Redis (connecting to redis://:***@127.0.0.1:${port}): `));
});

test('a pool that fails while the store opens is left open (it is yours); the failure is STORE_UNAVAILABLE', async () => {
  let ended = 0;
  const down = Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined });
  const pool = {
    connect: async () => {
      throw down;
    },
    query: async () => {
      throw down;
    },
    end: async () => {
      ended++;
    },
  };
  await assert.rejects(openPostgresKv({ pool }), (e) => e.code === 'STORE_UNAVAILABLE' && e.message === 'PostgreSQL (opening the store): Connection terminated unexpectedly' && e.cause === down);
  assert.equal(ended, 0);
});

test('loading a driver package: what it exports is used; a failure names the install command (in this process)', async () => {
  const Pool = function Pool() {};
  assert.equal((await loadPg(async () => ({ default: { Pool } }))).Pool, Pool);
  const Client = function Redis() {};
  assert.equal(await loadIoredis(async () => ({ default: Client })), Client);
  const missing = Object.assign(new Error("Cannot find package 'x'"), { code: 'ERR_MODULE_NOT_FOUND' });
  for (const [load, name] of [[loadPg, 'pg'], [loadIoredis, 'ioredis']]) {
    await assert.rejects(
      load(async () => {
        throw missing;
      }),
      (e) => {
        assert.equal(e.code, 'STORE_UNAVAILABLE');
        assert.equal(e.retryable, false);
        assert.equal(e.cause, missing);
        assert.equal(
          e.message,
          `a ${name === 'pg' ? 'postgres' : 'redis'}:// store needs the ${name} package, which is not installed: npm install ${name} (in Deno: deno add npm:${name}) (Cannot find package 'x')`,
        );
        return true;
      },
    );
  }
});

test('a missing driver package is STORE_UNAVAILABLE, not retryable, naming the install command', async () => {
  // A child process in which `pg` and `ioredis` cannot be resolved (a module
  // resolution hook refuses them, as Node does for a package not installed).
  const hook = `data:text/javascript,${
    encodeURIComponent(`
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(\`export async function resolve(s, c, next) {
      if (s === 'pg' || s === 'ioredis') { const e = new Error("Cannot find package '" + s + "'"); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; }
      return next(s, c);
    }\`));`)
  }`;
  const program = `
    import { openPostgresKv } from 'connector-state/postgres';
import { FileTracker } from 'connector-state';
    import { openRedisKv } from 'connector-state/redis';
    const out = [];
    for (const open of [() => openPostgresKv({ connectionString: 'postgres://127.0.0.1:1/x' }), () => openRedisKv({ url: 'redis://127.0.0.1:1' })]) {
      try { await open(); out.push('opened'); } catch (e) { out.push({ code: e.code, retryable: e.retryable, message: e.message, cause: e.cause?.code }); }
    }
    console.log(JSON.stringify(out));`;
  const cwd = fileURLToPath(new URL('../..', import.meta.url));
  const stdout = await new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', hook, '--input-type=module', '-e', program],
      { cwd, timeout: 30_000 },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    );
  });
  const [pgFailure, redisFailure] = JSON.parse(stdout);
  for (const [failure, name, deno] of [[pgFailure, 'pg', 'npm:pg'], [redisFailure, 'ioredis', 'npm:ioredis']]) {
    assert.equal(failure.code, 'STORE_UNAVAILABLE');
    assert.equal(failure.retryable, false);
    assert.equal(failure.cause, 'ERR_MODULE_NOT_FOUND');
    assert.ok(failure.message.includes(`npm install ${name} (in Deno: deno add ${deno}) (Cannot find package '${name}')`), failure.message);
  }
});

// ---- PostgreSQL on a real server ---------------------------------------------

/** A real pg pool, counting what the store asks of it: pool queries, and
 *  the queries of each client it checks out. */
function countingPool(url) {
  const real = new pg.Pool({ connectionString: url });
  real.on('error', () => {});
  const seen = { poolQueries: [], connects: 0, clientQueries: [] };
  let failing = null;
  const pool = {
    query: (sql, params) => {
      seen.poolQueries.push({ sql, params });
      if (failing?.test(sql)) {
        const { error } = failing;
        failing = null;
        return Promise.reject(error);
      }
      return real.query(sql, params);
    },
    /** The next pool query whose SQL matches `pattern` rejects with `error`. */
    failNext(pattern, error) {
      failing = { test: (sql) => pattern.test(sql), error };
    },
    async connect() {
      seen.connects++;
      const client = await real.connect();
      const query = client.query.bind(client);
      return Object.assign(Object.create(client), {
        query: (sql, params) => {
          seen.clientQueries.push({ sql, params });
          return query(sql, params);
        },
        on: (...a) => client.on(...a),
        off: (...a) => client.off(...a),
        release: (d) => client.release(d),
      });
    },
    end: () => real.end(),
    reset() {
      seen.poolQueries.length = 0;
      seen.clientQueries.length = 0;
      seen.connects = 0;
    },
    seen,
    real,
  };
  return pool;
}

const first = (sql) => sql.trim().split(/\s+/)[0];

test('PostgreSQL: a commit of sets and deletes is one round trip; an arithmetic one is one transaction that reads only what it checks or adds to', async () => {
  const pool = countingPool(postgres.url);
  const kv = await openPostgresKv({ pool, namespace: fresh() });
  try {
    await kv.set(['a'], 1);
    const a = await kv.get(['a']);
    pool.reset();
    assert.equal((await kv.atomic().check(a).set(['a'], 2).delete(['b']).set(['c'], 3, { expireIn: 60_000 }).commit()).ok, true);
    assert.equal(pool.seen.poolQueries.length, 1);
    assert.equal(pool.seen.connects, 0);
    assert.match(pool.seen.poolQueries[0].sql, /^SELECT "connector_state_kv_commit"\(/);

    pool.reset();
    assert.equal((await kv.atomic().set(['x'], 1).sum(['n'], 5n).commit()).ok, true);
    assert.equal(pool.seen.connects, 1);
    assert.equal(pool.seen.poolQueries.length, 0);
    const kinds = pool.seen.clientQueries.map((q) => first(q.sql));
    assert.deepEqual(kinds, ['BEGIN', 'INSERT', 'SELECT', 'INSERT', 'COMMIT'], 'no DELETE when nothing is deleted');
    const read = pool.seen.clientQueries[2];
    assert.equal(read.params[1].length, 1, 'only the summed key is read (the set key is not)');

    pool.reset();
    assert.equal((await kv.atomic().delete(['x']).max(['n'], 9n).commit()).ok, true);
    const deleting = pool.seen.clientQueries.filter((q) => first(q.sql) === 'DELETE');
    assert.equal(deleting.length, 1);
    assert.equal(deleting[0].params[1].length, 1, 'only the deleted key is deleted');
    const reading = pool.seen.clientQueries.filter((q) => first(q.sql) === 'SELECT');
    assert.equal(reading[0].params[1].length, 1, 'only the key of the max is read (not the deleted one)');
    assert.equal((await kv.get(['x'])).value, null);
    assert.equal((await kv.get(['n'])).value.value, 9n);
  } finally {
    await kv.close();
    await pool.end();
  }
});

test('PostgreSQL: opening an existing namespace is two catalog reads (no DDL, no transaction); a new namespace adds its counter row', async () => {
  const namespace = fresh();
  await (await openKv(postgres.url, { namespace })).close();
  for (const [ns, queries] of [[namespace, 2], [fresh(), 3]]) {
    const pool = countingPool(postgres.url);
    const kv = await openPostgresKv({ pool, namespace: ns });
    try {
      assert.equal(pool.seen.connects, 0);
      assert.equal(pool.seen.poolQueries.length, queries, pool.seen.poolQueries.map((q) => first(q.sql)).join(' '));
    } finally {
      await kv.close();
      await pool.end();
    }
  }
});

test('PostgreSQL: a driver failure names the step that failed; a failed commit says its outcome is unknown, unless PostgreSQL rolled it back', async () => {
  const boom = () => Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  const pool = countingPool(postgres.url);
  pool.failNext(/to_regclass/, boom());
  await assert.rejects(
    openPostgresKv({ pool, namespace: fresh() }),
    (e) => e.code === 'STORE_UNAVAILABLE' && e.message === 'PostgreSQL (opening the store): terminating connection due to administrator command',
  );
  const kv = await openPostgresKv({ pool, namespace: fresh() });
  try {
    await kv.set(['a'], 1);
    pool.failNext(/^SELECT key, value, version/, boom());
    await assert.rejects(kv.get(['a']), (e) => e.message.startsWith('PostgreSQL (get): terminating connection'));
    pool.failNext(/ORDER BY key/, boom());
    await assert.rejects(kv.list({ prefix: [] }).next(), (e) => e.message.startsWith('PostgreSQL (list): terminating connection'));
    const unknown = '. If the connection failed while the commit was sent, its outcome is unknown: read the keys back before trying again';
    for (const commit of [() => kv.set(['b'], 2), () => new FileTracker(kv, 'p').markProcessed('f.csv')]) {
      pool.failNext(/_commit"\(/, boom());
      await assert.rejects(commit(), (e) => e.code === 'STORE_UNAVAILABLE' && e.message.includes('PostgreSQL (commit): terminating connection due to administrator command' + unknown));
      pool.failNext(/_commit"\(/, Object.assign(new Error('deadlock detected'), { code: '40P01' }));
      await assert.rejects(commit(), (e) => e.message.includes('PostgreSQL (commit): deadlock detected. PostgreSQL rolled the transaction back (a deadlock): nothing of it was written; try again'));
    }
  } finally {
    await kv.close();
    await pool.end();
  }
  const made = countingPool(postgres.url);
  const table = `fails_${process.pid}`;
  const real = made.connect;
  made.connect = async () => {
    const client = await real();
    const query = client.query;
    client.query = (sql, params) => (/^CREATE TABLE/.test(sql) ? Promise.reject(boom()) : query(sql, params));
    return client;
  };
  await assert.rejects(openPostgresKv({ pool: made, table }), (e) => e.message.startsWith('PostgreSQL (creating the tables): terminating connection'));
  await made.end();
});

test("PostgreSQL and Redis: a check on a key of 2,049 bytes is allowed (Deno KV's read limit), a write of one is not", async () => {
  for (const server of [postgres, redis]) {
    const kv = await openKv(server.url, { namespace: fresh() });
    try {
      const long = ['x'.repeat(2047)]; // 1 + 2047 + 1 bytes encoded
      assert.deepEqual(await kv.atomic().check({ key: long, versionstamp: null }).set(['ok'], 1).commit().then((r) => r.ok), true);
      await assert.rejects(kv.set(long, 1), TypeError);
    } finally {
      await kv.close();
    }
  }
});

test('PostgreSQL: a failed check in an arithmetic commit writes nothing, not even the version counter', async () => {
  const kv = await openKv(postgres.url, { namespace: fresh() });
  try {
    const { versionstamp: v1 } = await kv.set(['k'], 1);
    const stale = await kv.get(['k']);
    await kv.set(['k'], 2);
    const r = await kv.atomic().check(stale).sum(['n'], 1n).commit();
    assert.equal(r.ok, false);
    assert.equal((await kv.get(['n'])).value, null);
    const { versionstamp: v3 } = await kv.atomic().sum(['n'], 1n).commit();
    assert.equal(BigInt(`0x${v3}`) - BigInt(`0x${v1}`), 2n, 'versions 1, 2, 3: the failed commit took none');
  } finally {
    await kv.close();
  }
});

test('PostgreSQL: a check with a versionstamp beyond any row version fails as a check (no driver error)', async () => {
  const kv = await openKv(postgres.url, { namespace: fresh() });
  try {
    await kv.set(['k'], 1);
    for (const versionstamp of ['ffffffffffffffffffff', '00008000000000000000', '00007fffffffffffffff']) {
      assert.deepEqual(await kv.atomic().check({ key: ['k'], versionstamp }).set(['k'], 2).commit(), { ok: false }, versionstamp);
      assert.deepEqual(await kv.atomic().check({ key: ['k'], versionstamp }).sum(['n'], 1n).commit(), { ok: false }, versionstamp);
    }
    assert.equal((await kv.get(['k'])).value, 1);
  } finally {
    await kv.close();
  }
});

test('PostgreSQL: an entry set with expireIn beside a sum expires like any other', async () => {
  const namespace = fresh();
  const kv = await openKv(postgres.url, { namespace });
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    await kv.atomic().set(['short'], 1, { expireIn: 150 }).set(['long'], 2).sum(['n'], 1n).commit();
    // Before it expires, from the rows themselves (a read racing a 150 ms
    // expiry is a wall-clock window a loaded machine can miss): stored, and
    // only 'short' carries an expiry time.
    const { rows } = await client.query('SELECT key, expires_at IS NOT NULL AS expiring FROM connector_state_kv WHERE namespace = $1', [namespace]);
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.map((r) => r.expiring).sort(), [false, false, true]);
    await sleep(400);
    assert.equal((await kv.get(['short'])).value, null);
    assert.equal((await kv.get(['long'])).value, 2);
  } finally {
    await client.end();
    await kv.close();
  }
});

for (const path of ['sets', 'sums']) {
  test(`PostgreSQL: expired rows are deleted on every ${CLEANUP_EVERY}th commit of a store (commits of ${path}), not before`, async () => {
    const namespace = fresh();
    const kv = await openKv(postgres.url, { namespace });
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    const rows = async () => Number((await client.query('SELECT count(*) AS n FROM connector_state_kv WHERE namespace = $1', [namespace])).rows[0].n);
    try {
      for (let i = 0; i < 10; i++) await kv.set(['e', i], i, { expireIn: 50 }); // commits 1-10
      await sleep(200);
      const tick = (i) => (path === 'sets' ? kv.set(['tick'], i) : kv.atomic().sum(['tick'], 1n).commit());
      for (let i = 11; i < CLEANUP_EVERY; i++) await tick(i);
      assert.equal(await rows(), 11, `after ${CLEANUP_EVERY - 1} commits the expired rows are still stored`);
      await tick(CLEANUP_EVERY);
      assert.equal(await rows(), 1, 'only the live row is left');
    } finally {
      await client.end();
      await kv.close();
    }
  });
}

test("PostgreSQL: opening a new table makes the table, its expiry index, the versions table with this namespace's counter, and the commit function", async () => {
  const table = `made_${process.pid}`;
  const namespace = fresh();
  const kv = await openKv(postgres.url, { namespace, table });
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    const { rows: [found] } = await client.query(
      `SELECT to_regclass($1) IS NOT NULL AS t, to_regclass($2) IS NOT NULL AS v, to_regclass($3) IS NOT NULL AS i,
              (SELECT count(*) FROM pg_proc WHERE proname = $4)::int AS f`,
      [table, `${table}_versions`, `${table}_expiry`, `${table}_commit`],
    );
    assert.deepEqual(found, { t: true, v: true, i: true, f: 1 });
    assert.equal((await client.query(`SELECT version FROM "${table}_versions" WHERE namespace = $1`, [namespace])).rows.length, 1);
  } finally {
    await client.end();
    await kv.close();
  }
});

test('PostgreSQL: a namespace whose counter row is gone gets it back when a store opens', async () => {
  const namespace = fresh();
  const kv = await openKv(postgres.url, { namespace });
  await kv.set(['a'], 1);
  await kv.close();
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    await client.query('DELETE FROM connector_state_kv_versions WHERE namespace = $1', [namespace]);
    const again = await openKv(postgres.url, { namespace });
    try {
      const { rows } = await client.query('SELECT version FROM connector_state_kv_versions WHERE namespace = $1', [namespace]);
      assert.equal(rows.length, 1, 'the counter row is made at open');
      assert.equal((await again.get(['a'])).value, 1);
    } finally {
      await again.close();
    }
  } finally {
    await client.end();
  }
});

test('PostgreSQL: close() ends the pool the store made, and never a pool that was passed in', async () => {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  const others = async () =>
    Number((await client.query('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = $1', ['client backend'])).rows[0].n);
  try {
    const before = await others();
    const kv = await openKv(postgres.url, { namespace: fresh(), table: 'x'.repeat(50) });
    await kv.set(['a'], 1);
    assert.ok((await others()) > before);
    await kv.close();
    for (let i = 0; i < 50 && (await others()) > before; i++) await sleep(50);
    assert.equal(await others(), before, "the store's own connections are gone");

    const pool = countingPool(postgres.url);
    const mine = await openPostgresKv({ pool, namespace: 'shown' });
    assert.equal(inspect(mine), 'PostgresKv {"url":"(your pool)","table":"connector_state_kv","namespace":"shown"}');
    await mine.close();
    assert.equal((await pool.real.query('SELECT 2 AS two')).rows[0].two, 2);
    await pool.end();
  } finally {
    await client.end();
  }
});

// ---- Redis on a real server ----------------------------------------------------

/** An ioredis client of ours with `callBuffer` counted, and made to fail
 *  on cue (`failNext(command, error)`). */
function countingClient(url) {
  const real = new Redis(url, { maxRetriesPerRequest: 0 });
  real.on('error', () => {});
  const calls = [];
  let failing = null;
  const client = {
    callBuffer: (command, ...args) => {
      calls.push(command);
      if (failing && failing.command === command) {
        const { error } = failing;
        failing = null;
        return Promise.reject(error);
      }
      return real.callBuffer(command, ...args);
    },
    failNext(command, error) {
      failing = { command, error };
    },
    calls,
    real,
  };
  return client;
}

test('Redis: the key layout (one hash tag per namespace: an index, an expiry set, the counter, a key per value)', async () => {
  const namespace = fresh();
  const kv = await openKv(redis.url, { namespace });
  const raw = new Redis(redis.url);
  try {
    await kv.set(['a'], 1);
    await kv.set(['b'], 2, { expireIn: 60_000 });
    const names = (await raw.keys(`{cs:${namespace}}*`)).sort();
    const value = (key) => `{cs:${namespace}}:v:${Buffer.from(__kvEncodeKey(key)).toString('latin1')}`;
    assert.deepEqual(names, [`{cs:${namespace}}:expiry`, `{cs:${namespace}}:keys`, `{cs:${namespace}}:meta`, value(['a']), value(['b'])].sort());
    assert.equal(await raw.type(`{cs:${namespace}}:keys`), 'zset');
    assert.equal(await raw.type(`{cs:${namespace}}:expiry`), 'zset');
  } finally {
    raw.disconnect();
    await kv.close();
  }
});

test('Redis: scripts run by digest; the source is sent once after the server forgets it; a NOT_U64 answer is a TypeError either way', async () => {
  const client = countingClient(redis.url);
  const kv = await openRedisKv({ client, namespace: fresh() });
  const embedded = await openKv(':memory:');
  try {
    await client.real.script('FLUSH');
    await kv.set(['a'], 1);
    assert.deepEqual(client.calls, ['EVALSHA', 'EVAL'], 'the first call finds the server without the script');
    client.calls.length = 0;
    await kv.set(['b'], 2);
    await kv.list({ prefix: [] }).next();
    assert.deepEqual(client.calls, ['EVALSHA', 'EVALSHA', 'EVAL'], 'the listing script loads once too');
    client.calls.length = 0;
    await kv.list({ prefix: [] }).next();
    assert.deepEqual(client.calls, ['EVALSHA']);

    await embedded.set(['s'], 'text');
    const expected = await embedded.atomic().sum(['s'], 1n).commit().catch((e) => e);
    assert.ok(expected instanceof TypeError);
    await kv.set(['s'], 'text');
    for (const flush of [false, true]) {
      if (flush) await client.real.script('FLUSH');
      const got = await kv.atomic().sum(['s'], 1n).commit().catch((e) => e);
      assert.ok(got instanceof TypeError, `after a flush: ${flush}`);
      assert.equal(got.message, expected.message);
    }
  } finally {
    await kv.close();
    await embedded.close();
    client.real.disconnect();
  }
});

test('Redis: a driver failure is STORE_UNAVAILABLE naming what failed; only a commit says its outcome is unknown; no other error retries the script', async () => {
  const client = countingClient(redis.url);
  const kv = await openRedisKv({ client, namespace: fresh() });
  try {
    await kv.set(['warm'], 1);
    await kv.list({ prefix: [] }).next();
    const cut = () => Object.assign(new Error('Connection is closed.'), { code: 'ECONNRESET' });
    client.calls.length = 0;
    client.failNext('EVALSHA', cut());
    await assert.rejects(
      kv.set(['a'], 1),
      (e) =>
        e.code === 'STORE_UNAVAILABLE' &&
        e.message === 'Redis (commit): Connection is closed.. If the connection failed while the commit was sent, its outcome is unknown: read the keys back before trying again' &&
        e.driverCode === 'ECONNRESET',
    );
    assert.deepEqual(client.calls, ['EVALSHA'], 'not sent again as EVAL');
    assert.equal((await kv.get(['a'])).value, null);
    client.failNext('MGET', cut());
    await assert.rejects(kv.get(['a']), (e) => e.code === 'STORE_UNAVAILABLE' && e.message === 'Redis (get): Connection is closed.');
    client.failNext('EVALSHA', cut());
    await assert.rejects(kv.list({ prefix: [] }).next(), (e) => e.code === 'STORE_UNAVAILABLE' && e.message === 'Redis (list): Connection is closed.');
    // After NOSCRIPT, the EVAL that fails is reported the same way.
    await client.real.script('FLUSH');
    client.calls.length = 0;
    client.failNext('EVAL', cut());
    await assert.rejects(kv.set(['b'], 1), (e) => e.code === 'STORE_UNAVAILABLE' && e.message.startsWith('Redis (commit): Connection is closed.. If the connection failed'));
    assert.deepEqual(client.calls, ['EVALSHA', 'EVAL']);
  } finally {
    await kv.close();
    client.real.disconnect();
  }
});

test('Redis: the store shows where it is connected; after an outage close() stops its reconnecting, and no unhandled error is logged', async () => {
  const proxy = await holdingProxy(redis.port);
  const kv = await openKv(proxy.url, { namespace: 'shown' });
  assert.equal(inspect(kv), `RedisKv {"url":"${proxy.url}","namespace":"shown"}`);
  const logged = [];
  const saved = console.error;
  console.error = (...a) => logged.push(a.join(' '));
  try {
    await kv.set(['a'], 1);
    await proxy.close(); // connections cut, new ones refused: ioredis reconnects, and emits 'error'
    await sleep(300);
    await kv.close();
    const attempts = proxy.accepted();
    await sleep(400);
    assert.equal(proxy.accepted(), attempts, 'no reconnecting after close()');
  } finally {
    console.error = saved;
  }
  assert.deepEqual(logged.filter((l) => l.includes('ioredis')), []);
});

test('Redis: close() quits the connection the store made, and never a client that was passed in', async () => {
  const raw = new Redis(redis.url);
  const clients = async () => (await raw.client('LIST')).trim().split('\n').length;
  try {
    const before = await clients();
    const kv = await openKv(redis.url, { namespace: fresh() });
    await kv.set(['a'], 1);
    assert.equal(await clients(), before + 1);
    await kv.close();
    for (let i = 0; i < 50 && (await clients()) > before; i++) await sleep(20);
    assert.equal(await clients(), before);

    const client = countingClient(redis.url);
    const mine = await openRedisKv({ client, namespace: 'shown' });
    assert.equal(inspect(mine), 'RedisKv {"url":"(your client)","namespace":"shown"}');
    await mine.close();
    assert.equal(await client.real.ping(), 'PONG');
    client.real.disconnect();
  } finally {
    raw.disconnect();
  }
});

/** A proxy to Redis whose `cut()` drops every connection and then holds
 *  new ones until `release()` (a client sees a connection that is up but
 *  not yet ready); no timing involved. */
async function holdingProxy(port) {
  const sockets = new Set();
  let holding = false;
  const held = [];
  let accepted = 0;
  const server = createServer((client) => {
    accepted++;
    sockets.add(client);
    const pending = [];
    let upstream = null;
    const open = () => {
      if (client.destroyed) return;
      upstream = createConnection({ host: '127.0.0.1', port });
      upstream.on('data', (d) => client.destroyed || client.write(d));
      upstream.on('error', () => client.destroy()).on('close', () => client.destroy());
      for (const d of pending) upstream.write(d);
    };
    client.on('data', (d) => (upstream ? upstream.write(d) : pending.push(d)));
    client.on('error', () => {}).on('close', () => {
      sockets.delete(client);
      upstream?.destroy();
    });
    if (holding) held.push(open);
    else open();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${server.address().port}`,
    accepted: () => accepted,
    holding: () => holding,
    cut() {
      holding = true;
      for (const s of sockets) s.destroy();
    },
    release() {
      holding = false;
      for (const open of held.splice(0)) open();
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(resolve);
      }),
  };
}

test('Redis: a commit while the connection is down or not yet ready fails at once, and is never sent when it comes back', async () => {
  const namespace = fresh();
  const proxy = await holdingProxy(redis.port);
  const kv = await openKv(proxy.url, { namespace });
  try {
    await kv.set(['warm'], 1);
    proxy.cut();
    await sleep(100); // ioredis notices the cut and reconnects into the hold (or is still reconnecting: not ready either way)
    // A commit queued until the connection is back would wait here for
    // ever (the proxy holds it until release()): bounded, so the test
    // fails instead of hanging.
    const during = kv.set(['during'], 1);
    let timer;
    const first = await Promise.race([during.then(() => 'written', () => 'refused'), new Promise((r) => (timer = setTimeout(() => r('still waiting'), 5000)))]);
    clearTimeout(timer);
    assert.equal(first, 'refused', 'refused while the connection is held, not queued until it is back');
    await assert.rejects(during, (e) => e.code === 'STORE_UNAVAILABLE');
    assert.ok(proxy.holding(), 'refused at once, not queued until the connection is back');
    proxy.release();
    // The store's connection comes back; a queued commit would have been sent by now.
    for (let i = 0; i < 100; i++) {
      if (await kv.get(['warm']).then(() => true, () => false)) break;
      await sleep(20);
    }
    await sleep(100);
    const direct = await openKv(redis.url, { namespace });
    try {
      assert.equal((await direct.get(['warm'])).value, 1);
      assert.equal((await direct.get(['during'])).value, null, 'the refused commit was not sent later');
    } finally {
      await direct.close();
    }
  } finally {
    await kv.close();
    await proxy.close();
  }
});
