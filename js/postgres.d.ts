import type { ServerKv } from './index.d.ts';

/** The part of a `pg.Pool` the store uses. */
export interface PgPoolLike {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<unknown>;
}

export interface PostgresKvOptions {
  /** Your pg.Pool: the store uses it and close() leaves it open. */
  pool?: PgPoolLike;
  /** Or a postgres:// URL: the store opens a pool and close() ends it. */
  connectionString?: string;
  /** The table, created if missing (default 'connector_state_kv'). */
  table?: string;
  /** Isolates this store's keys from other namespaces in the table (default 'default'). */
  namespace?: string;
}

/** A Deno KV store on PostgreSQL (exact compare-and-set). */
export function openPostgresKv(options: PostgresKvOptions): Promise<ServerKv>;

/** The class of the stores openPostgresKv makes (for instanceof); make one with openPostgresKv. */
export declare const PostgresKv: abstract new (...args: never[]) => ServerKv;
