// The PostgreSQL store's SQL side: loading the driver, the rollback codes,
// and the schema: the table, its expiry index, the namespaces'
// commit counters and the commit function, made once (from many processes
// at once: an advisory lock serializes it) and recognised by a comment on
// the function, so an open where everything is in place runs no DDL.

import { StateError } from '../core/errors.mjs';
import { loadPeer, unavailable } from './server.mjs';

/** The server's clock in epoch milliseconds. */
export const NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
/** One commit in this many also deletes up to CLEANUP_ROWS expired rows. */
export const CLEANUP_EVERY = 32;
export const CLEANUP_ROWS = 200;
/** The commit function's arguments, and the comment that marks its
 *  current definition (a new definition gets a new mark). */
export const COMMIT_ARGS = 'text, bytea[], bigint[], bytea[], bytea[], bigint[], bytea[], boolean';
export const COMMIT_VERSION = 'connector-state commit 1';
/** Lock id (with the table's hash) that serializes creating the schema. */
export const SCHEMA_LOCK = 0x63732d6b;

/** The statements that create the schema of table `table` (quoted names
 *  t, v, f) and namespace `namespace`'s counter, in order, as [sql, params]. */
export function schemaStatements({ t, v, f, table, namespace }) {
  return [
    ['SELECT pg_advisory_xact_lock($1, hashtext($2))', [SCHEMA_LOCK, table]],
    [
      `CREATE TABLE IF NOT EXISTS ${t} (
    namespace text NOT NULL,
    key bytea NOT NULL,
    value bytea NOT NULL,
    version bigint NOT NULL,
    expires_at bigint,
    PRIMARY KEY (namespace, key))`,
      [],
    ],
    [`CREATE INDEX IF NOT EXISTS "${table}_expiry" ON ${t} (namespace, expires_at) WHERE expires_at IS NOT NULL`, []],
    [`CREATE TABLE IF NOT EXISTS ${v} (namespace text PRIMARY KEY, version bigint NOT NULL)`, []],
    // A commit of sets and deletes in one round trip: lock the
    // namespace's counter row, check, write, bump the counter. Each
    // statement of a plpgsql function in read committed sees what was
    // committed before it, so the checks read the previous commit's writes.
    [
      `CREATE OR REPLACE FUNCTION ${f}(
      ns text, check_keys bytea[], check_versions bigint[],
      set_keys bytea[], set_values bytea[], set_expiry bigint[], del_keys bytea[], cleanup boolean)
    RETURNS bigint LANGUAGE plpgsql AS $fn$
    DECLARE
      v bigint;
      now_ms bigint;
      failed int;
    BEGIN
      SELECT version INTO v FROM ${v} WHERE namespace = ns FOR UPDATE;
      IF NOT FOUND THEN
        INSERT INTO ${v} (namespace, version) VALUES (ns, 0) ON CONFLICT (namespace) DO NOTHING;
        SELECT version INTO v FROM ${v} WHERE namespace = ns FOR UPDATE;
      END IF;
      now_ms := ${NOW};
      SELECT count(*) INTO failed
        FROM unnest(check_keys, check_versions) AS c(k, ver)
        LEFT JOIN ${t} d ON d.namespace = ns AND d.key = c.k AND (d.expires_at IS NULL OR d.expires_at > now_ms)
        WHERE d.version IS DISTINCT FROM c.ver;
      IF failed > 0 THEN
        RETURN NULL;
      END IF;
      v := v + 1;
      UPDATE ${v} SET version = v WHERE namespace = ns;
      DELETE FROM ${t} WHERE namespace = ns AND key = ANY(del_keys);
      INSERT INTO ${t} (namespace, key, value, version, expires_at)
        SELECT ns, k, val, v, CASE WHEN e IS NULL THEN NULL ELSE now_ms + e END
        FROM unnest(set_keys, set_values, set_expiry) AS u(k, val, e)
        ON CONFLICT (namespace, key) DO UPDATE
        SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = EXCLUDED.expires_at;
      IF cleanup THEN
        DELETE FROM ${t} WHERE namespace = ns AND ctid IN (
          SELECT ctid FROM ${t} WHERE namespace = ns AND expires_at <= now_ms LIMIT ${CLEANUP_ROWS});
      END IF;
      RETURN v;
    END
    $fn$`,
      [],
    ],
    [`COMMENT ON FUNCTION ${f}(${COMMIT_ARGS}) IS '${COMMIT_VERSION}'`, []],
    [`INSERT INTO ${v} (namespace, version) VALUES ($1, 0) ON CONFLICT (namespace) DO NOTHING`, [namespace]],
  ];
}

/** A row version as a Deno KV versionstamp (20 hex digits). */
export const stampOf = (version) => BigInt(version).toString(16).padStart(20, '0');
/** The SQL condition of a row that has not expired. */
export const LIVE = `(expires_at IS NULL OR expires_at > ${NOW})`;

/** The pg package (an optional peer), or STORE_UNAVAILABLE naming the install command. */
export async function loadPg(importer = () => import('pg')) {
  const mod = await loadPeer('postgres://', 'pg', importer);
  // Stryker disable next-line LogicalOperator: Node's import of pg has a default (the fallback is for runtimes that give the module itself)
  return mod.default ?? mod;
}

/** The note for an error that proves PostgreSQL rolled the transaction
 *  back (a deadlock or serialization failure), else undefined. */
export function rolledBack(error) {
  const why = { '40P01': 'a deadlock', '40001': 'a serialization failure' }[error?.code];
  return why ? `. PostgreSQL rolled the transaction back (${why}): nothing of it was written; try again` : undefined;
}

/** Runs `work(client)` in a transaction on a client of `pool`: committed
 *  unless it returns `{ rollback: true }`; a failure is STORE_UNAVAILABLE
 *  saying whether the commit's outcome is unknown or it was rolled back. */
export async function transaction(pool, work, what) {
  let client;
  try {
    client = await pool.connect();
  } catch (error) {
    throw unavailable(`PostgreSQL (${what})`, error);
  }
  // A checked-out client that loses its connection emits 'error': the
  // query in flight rejects with it, so the event itself is not needed
  // (and unhandled, it would end the process).
  const ignore = () => {};
  client.on('error', ignore);
  let committing = false;
  try {
    await client.query('BEGIN');
    const out = await work(client);
    if (out?.rollback) await client.query('ROLLBACK');
    else {
      committing = true;
      await client.query('COMMIT');
    }
    client.off('error', ignore);
    client.release();
    return out;
  } catch (error) {
    // The connection may be broken: never hand it back to the pool.
    client.off('error', ignore);
    client.release(true);
    if (error instanceof TypeError || error instanceof StateError) throw error;
    throw unavailable(
      `PostgreSQL (${what})`,
      error,
      rolledBack(error) ??
        (committing ? '. The outcome of this commit is unknown (the connection failed while it was committed): read the keys back before trying again' : ''),
    );
  }
}
