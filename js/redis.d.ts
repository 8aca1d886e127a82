import type { ServerKv } from './index.d.ts';

/** The part of an ioredis client (Redis or Cluster) the store uses. */
export interface IoredisLike {
  callBuffer(command: string, ...args: unknown[]): Promise<unknown>;
}

export interface RedisKvOptions {
  /** Your ioredis client: the store uses it and close() leaves it open.
   *  Create it with `autoResendUnfulfilledCommands: false`. */
  client?: IoredisLike;
  /** Or a redis:// or rediss:// URL: the store connects and close() disconnects. */
  url?: string;
  /** Isolates this store's keys from other namespaces on the server (default 'default'). */
  namespace?: string;
}

/** A Deno KV store on Redis or Valkey (exact compare-and-set). */
export function openRedisKv(options: RedisKvOptions): Promise<ServerKv>;

/** The class of the stores openRedisKv makes (for instanceof); make one with openRedisKv. */
export declare const RedisKv: abstract new (...args: never[]) => ServerKv;
