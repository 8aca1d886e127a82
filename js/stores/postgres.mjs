// Deno KV on PostgreSQL: the interface and model of js/kv.mjs, kept in one
// table shared by namespaces.
//
//   <table>          (namespace, key bytea, value bytea, version, expires_at)
//   <table>_versions (namespace, version): the namespace's commit counter
//
// Keys are the Deno KV key bytes (bytea compares bytewise, so a prefix is a
// key range and ORDER BY key is Deno's order); values are the embedded
// store's value encoding. A commit is one transaction that first bumps the
// namespace's counter row: that row lock orders the namespace's commits, so
// its checks read what the previous commit wrote, nothing can interleave
// between check and write, and the counter is the versionstamp (durable,
// rising, one per commit). Expiry is by the server's clock.
import { Buffer } from 'node:buffer';
import { asBuffer } from './bytes.mjs';
import '../core/node-init.mjs';
import { __kvDecodeKey, __kvDecodeValue, __kvEncodeValue } from '../../pkg/connector_state.js';
import { StateError } from '../core/errors.mjs';
import { CLEANUP_EVERY, COMMIT_ARGS, COMMIT_VERSION, LIVE, loadPg, rolledBack, schemaStatements, stampOf, transaction } from './postgres-sql.mjs';
import { arithmeticCommit } from './postgres-sum.mjs';
import { checkNamespace, checkStoreOptions, decodeStored, redactUrl, ServerKvFront, unavailable } from './server.mjs';
import { encodeKey } from './limits.mjs';

const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,49}$/;
const DEFAULT_TABLE = 'connector_state_kv';

class PostgresBackend {
  #pool;
  #ownPool;
  #ns;
  #t;
  #v;
  #f;
  #commits = 0;

  constructor(pool, ownPool, table, namespace) {
    this.#pool = pool;
    this.#ownPool = ownPool;
    this.#ns = namespace;
    this.#t = `"${table}"`;
    this.#v = `"${table}_versions"`;
    this.#f = `"${table}_commit"`;
  }

  /** Creates the tables if missing (safe from many processes at once) and
   *  the namespace's counter. When everything is in place (the usual open)
   *  it only reads the catalog: no DDL, no transaction, no table lock, so
   *  opening never blocks or deadlocks other processes' commits. */
  async init(table) {
    if (await this.#ready(table)) return;
    await transaction(this.#pool, async (client) => {
      for (const [sql, params] of schemaStatements({ t: this.#t, v: this.#v, f: this.#f, table, namespace: this.#ns })) await client.query(sql, params);
    }, 'creating the tables');
  }

  /** Whether the tables, the index and this version of the commit function
   *  exist (read from the catalog); if so, makes the namespace's counter
   *  row when it is missing (a row insert, no table lock). */
  async #ready(table) {
    const { rows: [found] } = await this.#query(
      `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND to_regclass($3) IS NOT NULL
          AND obj_description(to_regprocedure($4), 'pg_proc') IS NOT DISTINCT FROM $5 AS ready`,
      [this.#t, this.#v, `"${table}_expiry"`, `${this.#f}(${COMMIT_ARGS})`, COMMIT_VERSION],
      'opening the store',
    );
    if (!found?.ready) return false;
    const { rowCount } = await this.#query(`SELECT 1 FROM ${this.#v} WHERE namespace = $1`, [this.#ns], 'opening the store');
    if (rowCount === 0) {
      await this.#query(`INSERT INTO ${this.#v} (namespace, version) VALUES ($1, 0) ON CONFLICT (namespace) DO NOTHING`, [this.#ns], 'opening the store');
    }
    return true;
  }

  async #query(sql, params, what) {
    try {
      return await this.#pool.query(sql, params);
    } catch (error) {
      throw unavailable(`PostgreSQL (${what})`, error);
    }
  }

  /** The rows at the encoded keys `bytes`, in order (undefined: absent). */
  async #rows(bytes) {
    const { rows } = await this.#query(
      `SELECT key, value, version FROM ${this.#t} WHERE namespace = $1 AND key = ANY($2::bytea[]) AND ${LIVE}`,
      [this.#ns, bytes],
      'get',
    );
    const found = new Map(rows.map((r) => [r.key.toString('hex'), r]));
    return bytes.map((b) => found.get(b.toString('hex')));
  }

  async get(keys) {
    const rows = await this.#rows(keys.map((k) => Buffer.from(encodeKey(k, 'read'))));
    return rows.map((row, i) => (row ? { value: decodeStored(__kvDecodeValue, row.value, keys[i], false), versionstamp: stampOf(row.version) } : null));
  }

  /** The core's byte-level get (see ServerKvFront in server.mjs). */
  async getBytes(keys) {
    const rows = await this.#rows(keys.map(asBuffer));
    return rows.flatMap((row) => (row ? [row.value, stampOf(row.version)] : [null, null]));
  }

  /** The core's byte-level commit: sets and deletes of distinct keys. */
  commitBytes(checkKeys, checkStamps, setKeys, setValues, setExpiry, deleteKeys) {
    const checked = checkKeys.map((k, i) => ({ bytes: asBuffer(k), versionstamp: checkStamps[i] }));
    const writes = [
      ...setKeys.map((k, i) => ({ type: 'set', bytes: asBuffer(k), value: asBuffer(setValues[i]), expireIn: setExpiry[i] })),
      ...deleteKeys.map((k) => ({ type: 'delete', bytes: asBuffer(k), value: null, expireIn: null })),
    ];
    return this.#plainCommit(checked, writes, this.#cleanupDue()).then((out) => (out.ok ? out.versionstamp : null));
  }

  /** Whether this commit also cleans expired rows up (one in CLEANUP_EVERY). */
  #cleanupDue() {
    // Stryker disable next-line UpdateOperator: counting down reaches the multiples of CLEANUP_EVERY on the same commits (-0 === 0)
    return ++this.#commits % CLEANUP_EVERY === 0;
  }

  async commit(checks, mutations) {
    // Encoded before the transaction: a bad key or value is a TypeError.
    const checked = checks.map((c) => ({ bytes: Buffer.from(encodeKey(c.key, 'read')), versionstamp: c.versionstamp?.toLowerCase() ?? null }));
    const writes = mutations.map((m) => ({
      type: m.type,
      bytes: Buffer.from(encodeKey(m.key, 'write')),
      value: m.type === 'set' ? Buffer.from(__kvEncodeValue(m.value)) : m.type === 'delete' ? null : m.value.value,
      expireIn: m.expireIn ?? null,
    }));
    const cleanup = this.#cleanupDue();
    if (writes.every((w) => w.type === 'set' || w.type === 'delete')) return this.#plainCommit(checked, writes, cleanup);
    return arithmeticCommit({ pool: this.#pool, t: this.#t, v: this.#v, ns: this.#ns }, checked, writes, cleanup);
  }

  /** Sets and deletes (no sum / min / max): one call of the commit function. */
  async #plainCommit(checked, writes, cleanup) {
    // No row has a version beyond bigint: such a check cannot pass.
    // Stryker disable next-line EqualityOperator: no row has version 2^63 - 1 either, so the function fails that check too
    if (checked.some((c) => c.versionstamp !== null && BigInt(`0x${c.versionstamp}`) > 0x7fffffffffffffffn)) return { ok: false };
    const final = new Map();
    for (const w of writes) final.set(w.bytes.toString('hex'), w);
    const stored = [...final.values()].filter((w) => w.type === 'set');
    // Stryker disable next-line MethodExpression,ConditionalExpression: the commit function deletes before it inserts, so a set key also deleted is still set
    const deleted = [...final.values()].filter((w) => w.type === 'delete').map((w) => w.bytes);
    let rows;
    try {
      ({ rows } = await this.#pool.query(`SELECT ${this.#f}($1, $2::bytea[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bigint[], $7::bytea[], $8) AS version`, [
        this.#ns,
        checked.map((c) => c.bytes),
        checked.map((c) => (c.versionstamp === null ? null : BigInt(`0x${c.versionstamp}`).toString())),
        stored.map((w) => w.bytes),
        stored.map((w) => w.value),
        stored.map((w) => w.expireIn),
        deleted,
        cleanup,
      ]));
    } catch (error) {
      throw unavailable(
        'PostgreSQL (commit)',
        error,
        rolledBack(error) ??
          '. If the connection failed while the commit was sent, its outcome is unknown: read the keys back before trying again',
      );
    }
    // Stryker disable next-line OptionalChaining: a SELECT of a function always returns one row
    const version = rows[0]?.version;
    // Stryker disable next-line ConditionalExpression: version is never undefined (see above); null is a failed check
    return version === null || version === undefined ? { ok: false } : { ok: true, versionstamp: stampOf(version) };
  }

  async #scanRows(start, startInclusive, end, limit, reverse) {
    const { rows } = await this.#query(
      `SELECT key, value, version FROM ${this.#t}
       WHERE namespace = $1 AND key ${startInclusive ? '>=' : '>'} $2 AND key < $3 AND ${LIVE}
       ORDER BY key ${reverse ? 'DESC' : 'ASC'} LIMIT $4`,
      [this.#ns, Buffer.from(start), Buffer.from(end), limit],
      'list',
    );
    return rows;
  }

  async scan(start, startInclusive, end, limit, reverse) {
    const rows = await this.#scanRows(start, startInclusive, end, limit, reverse);
    return rows.map((r) => {
      const bytes = new Uint8Array(r.key);
      const key = __kvDecodeKey(bytes);
      return { bytes, key, value: decodeStored(__kvDecodeValue, r.value, key, true), versionstamp: stampOf(r.version) };
    });
  }

  /** The core's byte-level listing: [key, value, versionstamp, …]. */
  async scanBytes(start, startInclusive, end, limit) {
    const rows = await this.#scanRows(start, startInclusive, end, limit, false);
    return rows.flatMap((r) => [r.key, r.value, stampOf(r.version)]);
  }

  close() {
    return this.#ownPool ? this.#pool.end().catch(() => {}) : undefined;
  }
}

/** A Deno KV store on PostgreSQL (see README, "Outgrowing one machine"). */
export class PostgresKv extends ServerKvFront {
  constructor(backend, description) {
    super(backend, 'postgres', description);
  }
}

/**
 * Opens a Deno KV store on PostgreSQL: `{ connectionString }` (the store
 * owns and closes that pool) or `{ pool }` (a `pg.Pool` of yours, which
 * close() leaves open); `table` (default 'connector_state_kv'), created if
 * missing; `namespace` (default 'default').
 */
export async function openPostgresKv(options) {
  const { pool, connectionString, table = DEFAULT_TABLE, namespace } = checkStoreOptions(options, ['pool', 'connectionString', 'table', 'namespace'], 'openPostgresKv');
  const ns = checkNamespace(namespace);
  if (typeof table !== 'string' || !TABLE.test(table)) {
    throw new StateError('INVALID_ARGUMENT', 'table must be a SQL name of 1 to 50 letters, digits and underscores, not starting with a digit');
  }
  if ((pool === undefined) === (connectionString === undefined)) {
    throw new StateError('INVALID_ARGUMENT', 'openPostgresKv needs exactly one of pool (a pg.Pool) or connectionString');
  }
  let own = false;
  let target = pool;
  let where = '(your pool)';
  if (pool === undefined) {
    if (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//i.test(connectionString)) {
      throw new StateError('INVALID_ARGUMENT', 'connectionString must be a postgres:// or postgresql:// URL');
    }
    const pg = await loadPg();
    target = new pg.Pool({ connectionString, connectionTimeoutMillis: 10_000, keepAlive: true, max: 10 });
    // An idle connection that the server drops must not crash the process;
    // the next call reports it.
    target.on('error', () => {});
    own = true;
    where = redactUrl(connectionString);
  } else if (typeof pool?.connect !== 'function' || typeof pool?.query !== 'function') {
    throw new StateError('INVALID_ARGUMENT', 'pool must be a pg.Pool (with connect() and query())');
  }
  const backend = new PostgresBackend(target, own, table, ns);
  try {
    await backend.init(table);
  } catch (error) {
    if (own) await target.end().catch(() => {});
    throw error;
  }
  return new PostgresKv(backend, { url: where, table, namespace: ns });
}
