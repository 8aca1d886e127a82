/* @ts-self-types="./redis.d.ts" */
// Entry point 'connector-state/redis': a Deno KV store on Redis or Valkey
// (exact compare-and-set). Needs the ioredis package.
export { openRedisKv, RedisKv } from './stores/redis.mjs';
