/* @ts-self-types="./postgres.d.ts" */
// Entry point 'connector-state/postgres': a Deno KV store on PostgreSQL
// (exact compare-and-set). Needs the pg package.
export { openPostgresKv, PostgresKv } from './stores/postgres.mjs';
