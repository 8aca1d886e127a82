// PostgreSQL commits with sum, min or max (Deno KV's KvU64 arithmetic): a
// transaction that bumps the namespace's version counter, reads the keys it
// checks or adds to, applies the embedded engine's u64 rule (one rule, in
// the wasm module) and writes each key's final state. Commits of sets and
// deletes only take the one-call path in postgres.mjs instead.
import { Buffer } from 'node:buffer';
import { __kvU64Apply } from '../../pkg/connector_state.js';
import { CLEANUP_ROWS, LIVE, NOW, stampOf, transaction } from './postgres-sql.mjs';
import { notU64 } from './u64.mjs';

/** Commits `writes` (some of them sum / min / max) after `checked` pass,
 *  on table `t` with counter table `v` in namespace `ns`: { ok, versionstamp }. */
export function arithmeticCommit({ pool, t, v, ns }, checked, writes, cleanup) {
  return transaction(pool, async (client) => {
    const { rows: [counter] } = await client.query(
      `INSERT INTO ${v} AS v (namespace, version) VALUES ($1, 1)
       ON CONFLICT (namespace) DO UPDATE SET version = v.version + 1 RETURNING version`,
      [ns],
    );
    const arithmetic = writes.filter((w) => w.type !== 'set' && w.type !== 'delete');
    const read = [...checked.map((c) => c.bytes), ...arithmetic.map((w) => w.bytes)];
    let current = new Map();
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a commit here has a sum, min or max, so at least one key to read
    if (read.length > 0) {
      const { rows } = await client.query(
        `SELECT key, value, version FROM ${t} WHERE namespace = $1 AND key = ANY($2::bytea[]) AND ${LIVE}`,
        [ns, read],
      );
      current = new Map(rows.map((r) => [r.key.toString('hex'), r]));
    }
    for (const c of checked) {
      const row = current.get(c.bytes.toString('hex'));
      if ((row ? stampOf(row.version) : null) !== c.versionstamp) return { rollback: true, ok: false };
    }
    // Each key's final state, in the order of first touch.
    const final = new Map();
    for (const w of writes) {
      const id = w.bytes.toString('hex');
      if (w.type === 'set') final.set(id, { bytes: w.bytes, value: w.value, expireIn: w.expireIn });
      else if (w.type === 'delete') final.set(id, { bytes: w.bytes, value: null });
      else {
        const before = final.has(id) ? final.get(id).value : current.get(id)?.value ?? null;
        const next = __kvU64Apply(w.type, before ?? undefined, w.value);
        if (next === undefined) throw new TypeError(notU64(w.type));
        final.set(id, { bytes: w.bytes, value: Buffer.from(next), expireIn: null });
      }
    }
    const deleted = [...final.values()].filter((f) => f.value === null).map((f) => f.bytes);
    const stored = [...final.values()].filter((f) => f.value !== null);
    if (deleted.length > 0) {
      await client.query(`DELETE FROM ${t} WHERE namespace = $1 AND key = ANY($2::bytea[])`, [ns, deleted]);
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a sum, min or max always stores a value
    if (stored.length > 0) {
      await client.query(
        `INSERT INTO ${t} (namespace, key, value, version, expires_at)
         SELECT $1, k, v, $4, CASE WHEN e IS NULL THEN NULL ELSE ${NOW} + e END
         FROM unnest($2::bytea[], $3::bytea[], $5::bigint[]) AS u(k, v, e)
         ON CONFLICT (namespace, key) DO UPDATE
         SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = EXCLUDED.expires_at`,
        [ns, stored.map((f) => f.bytes), stored.map((f) => f.value), counter.version, stored.map((f) => f.expireIn)],
      );
    }
    if (cleanup) {
      await client.query(
        `DELETE FROM ${t} WHERE namespace = $1 AND ctid IN (
           SELECT ctid FROM ${t} WHERE namespace = $1 AND expires_at <= ${NOW} LIMIT ${CLEANUP_ROWS})`,
        [ns],
      );
    }
    return { ok: true, versionstamp: stampOf(counter.version) };
  }, 'commit').then((out) => (out.ok ? { ok: true, versionstamp: out.versionstamp } : { ok: false }));
}
