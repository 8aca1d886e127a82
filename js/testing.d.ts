// Types of connector-state/testing.

export interface TestClock {
  /** Milliseconds since the epoch, as the clock stands. */
  now(): number;
  /** Moves the clock forward; returns the new time. */
  advance(ms: number): number;
  /** Puts the clock at a time; returns it in milliseconds. */
  set(time: Date | number): number;
}

export interface LogEntry {
  level: 'info' | 'warn' | 'error' | 'debug';
  message: string;
  context?: unknown;
  /** The test clock's time when the entry was written. */
  at: number;
}

export interface TestLog {
  info(message: string, context?: unknown): void;
  warn(message: string, context?: unknown): void;
  error(message: string, context?: unknown): void;
  debug(message: string, context?: unknown): void;
  readonly entries: LogEntry[];
  /** Entries of `level` (null: any level) whose message contains `text`. */
  find(level: LogEntry['level'] | null, text?: string | RegExp): LogEntry[];
  clear(): void;
}

export type VersoriKey = string | string[];

/** What the test host's get(key, { throwOnNotFound: true }) rejects with for a missing key. */
export class KVNotFoundError extends Error {
  readonly key: string;
}

/** The key as the host keeps it (an array joined with `/`); throws `nats: invalid key "…"` for a key NATS KV refuses. */
export function versoriKey(key: VersoriKey): string;

export interface TestVersoriKv {
  /** `default` when the key holds nothing; `throwOnNotFound` rejects with a KVNotFoundError instead. */
  get<T = unknown>(key: VersoriKey, options?: { default?: T; throwOnNotFound?: boolean }): Promise<T | undefined>;
  /** `ttl` in seconds, on the context's clock. */
  set(key: VersoriKey, value: unknown, options?: { ttl?: number }): Promise<void>;
  delete(key: VersoriKey): Promise<void>;
  /** Every live entry, keys as the host keeps them (arrays joined with `/`), values as stored (after JSON). */
  entries(): Array<{ key: string; value: unknown }>;
}

export type VersoriScope = ':execution:' | ':project:' | ':workspace:' | ':organization:' | ':user:';

export interface TestVersoriContext<D = Record<string, unknown>> {
  data: D;
  executionId: string;
  clock: TestClock;
  log: TestLog;
  /** One store per scope, the same object on every call. */
  openKv(scope?: VersoriScope): TestVersoriKv;
}

/** Simulated write delay: each write lands a random 0–`writeDelayMs` ms after the call (default 0);
 *  `acknowledge` 'after-landing' (default: the call answers once it has) or 'at-once' (it answers at once, the write shows later). */
export interface WriteDelayOptions {
  writeDelayMs?: number;
  acknowledge?: 'after-landing' | 'at-once';
}

export function createVersoriContext<D = Record<string, unknown>>(options?: { data?: D; now?: Date | number; executionId?: string } & WriteDelayOptions): TestVersoriContext<D>;
export function createClock(start?: Date | number): TestClock;
export function createLog(clock?: TestClock): TestLog;
export function createVersoriKv(clock?: TestClock, options?: WriteDelayOptions): TestVersoriKv;
