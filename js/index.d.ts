// Types for connector-state. Hand-written to stay precise: the wasm glue
// types every JS value as `any`. tests/types/example.ts keeps them honest.

/** Stable error codes; branch on these, not on messages. */
export type StateErrorCode =
  | 'STORE_UNAVAILABLE'
  | 'INVALID_ARGUMENT'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'LOCK_NOT_HELD'
  | 'LOCK_HELD'
  | 'CLAIM_NOT_HELD'
  | 'CORRUPT_STATE'
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'INVALID_TRANSITION'
  | 'UNSUPPORTED_ENVIRONMENT'
  | 'CLOSED';

/**
 * Every error this package throws or rejects with.
 * @example
 * try { await state.isFileProcessed(kv, name) }
 * catch (e) { if (e instanceof StateError && e.code === 'STORE_UNAVAILABLE') retryLater() }
 */
/** What a listing of a PostgreSQL or Redis store yields for a value it
 *  cannot decode: the other entries still list. */
export class UnreadableValue {
  private constructor();
  /** The entry's key. */
  readonly key: KvKey;
  /** Why it cannot be read. */
  readonly problem: string;
}

export class StateError extends Error {
  constructor(code: StateErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean });
  readonly name: 'StateError';
  readonly code: StateErrorCode;
  /** True when the same call, made again later, may succeed (STORE_UNAVAILABLE, CONFLICT, LOCK_HELD). */
  readonly retryable: boolean;
  /** What the store or driver threw (a driver's ECONNRESET, say), when one did. */
  readonly cause?: unknown;
  /** What `JSON.stringify(error)` writes. */
  toJSON(): { name: 'StateError'; code: StateErrorCode; message: string; retryable: boolean; cause?: unknown };
}

/** JSON values: what every store here can hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue | undefined };

/** A Deno KV key part; this package's own keys only use strings. */
export type KvKeyPart = string | number | bigint | boolean | Uint8Array;
export type KvKey = readonly KvKeyPart[];

/** What `kv.get` returns on Deno KV. */
export interface KvEntryMaybe<T = unknown> {
  key: KvKey;
  value: T | null;
  versionstamp: string | null;
}

/** An entry that exists (what `list` yields). */
export interface KvEntry<T = unknown> {
  key: KvKey;
  value: T;
  versionstamp: string;
}

/** The part of Deno KV (`Deno.openKv()`, `@deno/kv`) this package uses. */
export interface DenoKvLike {
  get(key: KvKey): Promise<KvEntryMaybe>;
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): Promise<unknown>;
  delete(key: KvKey): Promise<void>;
  list(selector: { prefix: KvKey }, options?: { limit?: number; cursor?: string }): AsyncIterable<KvEntryMaybe> & { cursor: string };
  atomic(): unknown;
}

/** Versori's `ctx.openKv(scope)`: plain get/set/delete, values stored as JSON. */
export interface VersoriKvLike {
  get(key: string | string[]): Promise<unknown> | unknown;
  set(key: string | string[], value: unknown, options?: unknown): Promise<unknown> | unknown;
  delete(key: string | string[]): Promise<unknown> | unknown;
}

/** fc-connect-sdk 0.1.56's KVStore shape. */
export interface KVStoreLike {
  get(key: string[]): Promise<{ value: unknown; versionstamp?: string | null } | null>;
  set(key: string[], value: unknown): Promise<unknown>;
  delete(key: string[]): Promise<unknown>;
  atomic(): unknown;
}

/** Any KV handle the classes accept. */
export type KvHandle = DenoKvLike | VersoriKvLike | KVStoreLike | VersoriKVAdapter | MemoryKv | ServerKv;

/** What a handle can do; 'exact' guarantees need compare-and-set. */
export interface StoreCapabilities {
  kind: 'deno-kv' | 'versori' | 'kv-store' | 'memory' | 'postgres' | 'redis';
  compareAndSet: boolean;
  list: boolean;
  expiry: boolean;
  /** 'timed': a class's locks and claims on a store without compare-and-set
   *  are exclusive as long as every write lands within `maxWriteDelayMs`. */
  guarantee: 'exact' | 'timed' | 'best-effort';
  /** With guarantee 'timed': the write-delay bound assumed. */
  maxWriteDelayMs?: number;
}

/** Versori-style logger; `console` fits too. Every method is optional. */
export interface Logger {
  info?(message: string, context?: unknown): void;
  warn?(message: string, context?: unknown): void;
  error?(message: string, context?: unknown): void;
  debug?(message: string, context?: unknown): void;
}

export interface SyncState {
  isInitialized: boolean;
  lastProcessedTimestamp?: string;
  lastProcessedFile?: string;
  lastProcessedCount?: number;
  lastSyncResult?: 'success' | 'failure' | 'partial';
}

export interface ProcessedFileInput {
  fileName: string;
  /** Compared as strings (as 0.1.56 did): use ISO dates. */
  lastModified: string;
  recordCount?: number;
  [extra: string]: JsonValue | undefined;
}

export interface DailyJob {
  jobId: string;
  createdAt: string;
  expiresAt: string;
  batchCount?: number;
}

export interface Metrics {
  totalFiles: number;
  totalRecords: number;
  lastProcessedTime?: string;
}

export interface LockInfo {
  lockName: string;
  isLocked: boolean;
  /** Locked and not expired. */
  held: boolean;
  /** Locked but past its expiry: the next acquirer takes it over. */
  stale: boolean;
  /** Held by this StateService instance. */
  heldByMe: boolean;
  lockId: string;
  /** `lockedBy` of the record (host name where known). */
  holder: string | null;
  lockedAt: string | null;
  expiresAt: string | null;
  ageMs: number | null;
  /** Rises strictly with every acquisition of this lock name; null on locks 0.1.56 wrote. */
  fencingToken: number | null;
}

export interface HeldLock {
  lockName: string;
  lockId: string;
  fencingToken: number;
  expiresAt: string;
}

/**
 * Locks, sync state, processed files and the daily job, with
 * fc-connect-sdk 0.1.56's signatures and keys.
 * @example
 * const state = new StateService(log);
 * if (await state.acquireLock('inventory-sync', kv, 15)) {
 *   try { await work() } finally { await state.releaseLock('inventory-sync', kv) }
 * }
 */
declare global {
  // ES2023's Symbol.asyncDispose (TypeScript 5.2+ types it with lib
  // esnext.disposable; Node 20 and Deno have it at run time).
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
    readonly dispose: unique symbol;
  }
}

/** Options of `state.lock()`. */
export interface LockOptions {
  /** How long the lock lives unless renewed (default 15 minutes). */
  ttlMs?: number;
  /** Keep trying, with jittered pauses, for this long before giving up with null (default 0: one try). */
  waitMs?: number;
  /** Renew every third of `ttlMs` in the background until released (default true). */
  renew?: boolean;
  /** Stops a wait: lock() then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * A held lock that renews itself. `signal` aborts, with a StateError whose
 * code is LOCK_NOT_HELD as its reason, as soon as the lock is known lost:
 * taken over, force-released, or renewals failing until expiry is near.
 * `await using lease = await state.lock(…)` releases it at the end of the block.
 */
export interface Lease {
  readonly lockName: string;
  readonly lockId: string;
  readonly fencingToken: number;
  /** When the lock expires unless renewed (ISO 8601); moves on with each renewal. */
  readonly expiresAt: string;
  readonly signal: AbortSignal;
  /** Renews now for `ttlMs` (default: the lease's); resolves the new expiresAt; rejects LOCK_NOT_HELD when lost. */
  extend(ttlMs?: number): Promise<string>;
  /** Stops renewing and releases; false when the lock was no longer this lease's. */
  release(): Promise<boolean>;
  [Symbol.asyncDispose](): Promise<void>;
}

export class StateService {
  /** `now()` (epoch milliseconds) replaces `Date.now()` for this service's lock and state times (tests of clock skew). */
  /** `maxWriteDelayMs` (default 100; 0 for best-effort): the longest a write to a store without compare-and-set may take to land; locks there wait it out (Fischer) and are exclusive under it. */
  constructor(logger?: Logger | null, options?: { now?: () => number; maxWriteDelayMs?: number; storeTimeoutMs?: number });
  /** A lease on `lockName`, or null when another run holds it (after `waitMs`, if given). */
  lock(lockName: string, kv: KvHandle, options?: LockOptions): Promise<Lease | null>;
  /** `{ lockName, lockId, fencingToken, expiresAt }` of a lock this instance holds, else null. */
  getHeldLock(lockName: string): HeldLock | null;
  /** What `kv` can do and the guarantee that gives. */
  describeStore(kv: KvHandle): StoreCapabilities;
  /** True if this call took the lock; false if another run holds it. Rejects on store failure. */
  acquireLock(lockName: string, kv: KvHandle, timeoutMinutes?: number): Promise<boolean>;
  /** Releases the lock if this instance holds it; otherwise leaves it and logs a warning. Resolves whether it released. */
  /** With `lockId`, releases only that acquisition: false (nothing written) when a newer one of this service holds the lock. */
  releaseLock(lockName: string, kv: KvHandle, lockId?: string): Promise<boolean>;
  /** Operator override: releases the lock whoever holds it. */
  forceReleaseLock(lockName: string, kv: KvHandle): Promise<boolean>;
  /** Pushes the expiry of a lock this instance holds; rejects with LOCK_NOT_HELD if it expired or was taken over. */
  extendLock(lockName: string, kv: KvHandle, timeoutMinutes?: number): Promise<LockInfo | null>;
  getLockInfo(lockName: string, kv: KvHandle): Promise<LockInfo | null>;
  /** Fencing token of a lock this instance holds, else undefined. */
  getLockToken(lockName: string): number | undefined;
  /** Acquire (a lease, renewed by default), run, always release. Rejects with LOCK_HELD when another run holds the lock. */
  withLock<T>(
    lockName: string,
    kv: KvHandle,
    fn: (lock: HeldLock & { signal: AbortSignal }) => T | Promise<T>,
    options?: { timeoutMinutes?: number; ttlMs?: number; waitMs?: number; renew?: boolean; signal?: AbortSignal },
  ): Promise<T>;
  getSyncState(kv: KvHandle, workflowId?: string): Promise<SyncState>;
  updateSyncState(kv: KvHandle, processedFiles: ProcessedFileInput[], workflowId?: string): Promise<void>;
  getDailyJob(kv: KvHandle, workflowId: string): Promise<DailyJob | null>;
  setDailyJob(kv: KvHandle, workflowId: string, jobId: string, expirationHours?: number): Promise<DailyJob>;
  /** Adds `by` (default 1) to the live daily job's batchCount atomically; rejects NOT_FOUND without one. */
  incrementDailyJobBatchCount(kv: KvHandle, workflowId: string, by?: number): Promise<number>;
  isFileProcessed(kv: KvHandle, fileName: string, workflowId?: string): Promise<boolean>;
  getMetrics(kv: KvHandle, workflowId?: string): Promise<Metrics>;
  clearState(kv: KvHandle, workflowId: string): Promise<void>;
  free(): void;
}

/** Metadata a user keeps with a file or job: your own interface or type
 *  (JSON values), named once as the class's type argument. */
export type Metadata = object;

export interface FileRecord<M extends Metadata = JsonObject> {
  fileName: string;
  processedAt: string | null;
  /** The metadata given when the file was marked, as given. */
  metadata: Partial<M>;
}

export type FileStatus = 'new' | 'in-progress' | 'processed';

/** A won claim: renews itself every third of its TTL (unless `renew: false`).
 *  `signal` aborts with a CLAIM_NOT_HELD StateError once the claim is known
 *  lost; `await using` releases it unless completed. */
export interface ClaimLease<M extends Metadata = JsonObject> {
  claimed: true;
  status: 'claimed';
  claimId: string;
  expiresAt: string;
  readonly signal: AbortSignal;
  extend(ttlMs?: number): Promise<string>;
  complete(metadata?: M): Promise<void>;
  release(): Promise<boolean>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type ClaimResult<M extends Metadata = JsonObject> =
  | ClaimLease<M>
  | { claimed: false; status: 'processed'; [Symbol.asyncDispose](): Promise<void> }
  | { claimed: false; status: 'in-progress'; expiresAt: string; [Symbol.asyncDispose](): Promise<void> };

/**
 * Processed-file tracking with claims.
 * @example
 * const files = new FileTracker(kv, { prefix: 'inventory' });
 * const claim = await files.claim('stock.csv', { ttlMs: 10 * 60_000 });
 * if (claim.claimed) { await ingest(); await files.complete('stock.csv', { recordCount: 10 }) }
 */
export class FileTracker<M extends Metadata = JsonObject> {
  /** `storeTimeoutMs`: how long one call to a host store may take before it is STORE_UNAVAILABLE (default 60,000; 0 for no bound). */
  constructor(kv: KvHandle, options?: { prefix?: string; now?: () => number; maxWriteDelayMs?: number; storeTimeoutMs?: number; log?: Logger | null } | string);
  readonly prefix: string;
  capabilities(): StoreCapabilities;
  isProcessed(fileName: string): Promise<boolean>;
  markProcessed(fileName: string, metadata?: M): Promise<void>;
  getRecord(fileName: string): Promise<FileRecord<M> | null>;
  /** Removes the record and any claim; resolves true if there was a record. */
  forget(fileName: string): Promise<boolean>;
  status(fileName: string): Promise<FileStatus>;
  /** Marks the file in progress for `ttlMs` (default 15 minutes) unless processed or claimed by another run; a won claim renews itself unless `renew: false`. */
  claim(fileName: string, options?: { ttlMs?: number; renew?: boolean }): Promise<ClaimResult<M>>;
  /** Pushes this tracker's claim out to `ttlMs` from now; resolves the new expiresAt; CLAIM_NOT_HELD when lost. */
  extendClaim(fileName: string, options?: { ttlMs?: number; claimId?: string }): Promise<string>;
  /** Records the claimed file as processed and ends the claim; CLAIM_NOT_HELD if another run took it over. */
  /** With `claimId`, completes only that claim (CLAIM_NOT_HELD when this tracker claimed the file again since). */
  complete(fileName: string, metadata?: M, claimId?: string): Promise<void>;
  /** Ends this tracker's claim without recording the file. */
  /** With `claimId`, releases only that claim (false when a newer claim of this tracker holds the file). */
  release(fileName: string, claimId?: string): Promise<boolean>;
  getLastProcessed(): Promise<string | null>;
  setLastProcessed(fileName: string): Promise<void>;
  free(): void;
}

/** fc-connect-sdk 0.1.56's VersoriFileTracker, on the same keys, without its name collisions. */
export class VersoriFileTracker<M extends Metadata = JsonObject> extends FileTracker<M> {
  constructor(kv: KvHandle, prefix?: string, options?: { maxWriteDelayMs?: number; now?: () => number; storeTimeoutMs?: number; log?: Logger | null });
  wasFileProcessed(fileName: string): Promise<boolean>;
  markFileProcessed(fileName: string, metadata?: M): Promise<void>;
  getLastProcessedFile(): Promise<string | null>;
  setLastProcessedFile(fileName: string): Promise<void>;
}

/** One write batch of a VersoriKVAdapter. */
export class AdapterAtomic {
  /** `check({key, versionstamp})` or 0.1.56's `check([{key, versionstamp}])`; null = must not exist. */
  check(checks: { key: unknown; versionstamp: string | null } | { key: unknown; versionstamp: string | null }[]): void;
  set(key: unknown, value: unknown): void;
  delete(key: unknown): void;
  commit(): Promise<boolean>;
  free(): void;
}

/**
 * Gives a Versori KV (or any accepted handle) 0.1.56's KVStore shape.
 * @example
 * const kvAdapter = new VersoriKVAdapter(openKv(':project:'));
 * const stored = await kvAdapter.get(['checkpoint:batch']);
 * const checkpoint = stored?.value;
 */
export class VersoriKVAdapter {
  constructor(versoriKv: KvHandle);
  capabilities(): StoreCapabilities;
  /** `T` is what you stored there (unchecked: the store holds JSON). */
  get<T = unknown>(key: string | unknown[]): Promise<{ value: T; versionstamp: string | null } | null>;
  set(key: string | unknown[], value: unknown, options?: unknown): Promise<void>;
  delete(key: string | unknown[]): Promise<void>;
  atomic(): AdapterAtomic;
  free(): void;
}

/** A 64-bit unsigned integer, the values `sum`, `min` and `max` work on
 *  (`Deno.KvU64` itself in Deno). */
export class KvU64 {
  constructor(value: bigint);
  readonly value: bigint;
  valueOf(): bigint;
  toString(): string;
}

/** A mutation of `atomic().mutate()`. */
export type KvMutation =
  | { type: 'set'; key: KvKey; value: unknown; expireIn?: number }
  | { type: 'delete'; key: KvKey }
  | { type: 'sum' | 'min' | 'max'; key: KvKey; value: KvU64 };

/** Which entries `list()` returns: a prefix (optionally cut by start or end), or a range. */
export type KvListSelector =
  | { prefix: KvKey }
  | { prefix: KvKey; start: KvKey }
  | { prefix: KvKey; end: KvKey }
  | { start: KvKey; end: KvKey };

export interface KvListOptions {
  /** At most this many entries (≥ 1). */
  limit?: number;
  /** Go on after the entry a previous iterator's `cursor` named. */
  cursor?: string;
  /** From the last entry backwards. */
  reverse?: boolean;
  /** Entries fetched per batch (≤ 1,000). */
  batchSize?: number;
  consistency?: 'strong' | 'eventual';
}

export interface MemoryAtomicOperation {
  check(...checks: { key: KvKey; versionstamp: string | null }[]): this;
  mutate(...mutations: KvMutation[]): this;
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): this;
  delete(key: KvKey): this;
  /** Adds `n` to the KvU64 at `key` (wrapping at 2^64; `n` alone where there is none). */
  sum(key: KvKey, n: bigint): this;
  min(key: KvKey, n: bigint): this;
  max(key: KvKey, n: bigint): this;
  commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }>;
}

export interface MemoryListIterator<T = unknown> extends AsyncIterableIterator<KvEntry<T>> {
  /** Where the listing stands (Deno's encoding); throws before the first entry. */
  readonly cursor: string;
}

/** Deno KV's interface, as this package's stores (embedded, PostgreSQL,
 *  Redis) have it. */
export interface DenoKvInterface {
  get<T = unknown>(key: KvKey, options?: { consistency?: 'strong' | 'eventual' }): Promise<KvEntryMaybe<T>>;
  getMany(keys: KvKey[], options?: { consistency?: 'strong' | 'eventual' }): Promise<KvEntryMaybe[]>;
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): Promise<{ ok: true; versionstamp: string }>;
  delete(key: KvKey): Promise<void>;
  list<T = unknown>(selector: KvListSelector, options?: KvListOptions): MemoryListIterator<T>;
  atomic(): MemoryAtomicOperation;
}

export interface MemoryKv extends DenoKvInterface {}

/**
 * The embedded store: Deno KV's interface and semantics in memory, in every
 * runtime. Keys are Deno KV keys (string, number, bigint, boolean and
 * Uint8Array parts, in Deno's order); values are structured-clone values
 * (JSON, Date, Map, Set, RegExp, bigint, typed arrays, ArrayBuffer,
 * undefined, NaN, ±Infinity, -0). Deno's limits and TypeErrors apply.
 */
export class MemoryKv {
  readonly size: number;
  /** Later calls reject, as Deno KV's do; the package's classes on it get CLOSED. */
  close(): void;
  /** `await using kv = await openKv()` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>;
  /** `using kv = new MemoryKv()` closes it at the end of the block. */
  [Symbol.dispose](): void;
}

/** A Deno KV handle `openKv(path)` opened (Deno.Kv in Deno, @deno/kv's Kv
 *  in Node), or one of this package's stores: closable, and disposable with
 *  `await using`. */
export interface OpenedKv extends DenoKvLike {
  close(): void | Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** openKv's options: `namespace` (PostgreSQL, Redis) and `table`
 *  (PostgreSQL). Refused at run time where the store takes none. */
export interface OpenKvOptions {
  namespace?: string;
  table?: string;
}

/**
 * Opens a store. No path or ':memory:' → the embedded in-memory store
 * (every runtime). A postgres:// or redis:// URL → the PostgreSQL or Redis
 * store (Node and Deno, with the pg or ioredis package). A file path or KV
 * Connect URL → Deno KV (Deno.openKv in Deno, @deno/kv in Node; browsers
 * cannot).
 */
export function openKv(): Promise<MemoryKv>;
export function openKv(path: ':memory:'): Promise<MemoryKv>;
export function openKv(url: `postgres://${string}` | `postgresql://${string}`, options?: PostgresKvUrlOptions): Promise<ServerKv>;
export function openKv(url: `redis://${string}` | `rediss://${string}`, options?: RedisKvUrlOptions): Promise<ServerKv>;
export function openKv(path: string, options?: OpenKvOptions): Promise<OpenedKv>;

/** openKv's options for a postgres:// URL (the pg package must be installed). */
export interface PostgresKvUrlOptions {
  /** Isolates this store's keys from other namespaces in the same table (default 'default'). */
  namespace?: string;
  /** The table, created if missing (default 'connector_state_kv'). */
  table?: string;
}

/** openKv's options for a redis:// URL (the ioredis package must be installed). */
export interface RedisKvUrlOptions {
  /** Isolates this store's keys from other namespaces on the same server (default 'default'). */
  namespace?: string;
}

/**
 * A store on PostgreSQL or Redis / Valkey with Deno KV's interface and the
 * embedded store's semantics (keys, values, limits, errors); compare-and-set
 * is exact. Failures of the server reject with a StateError whose code is
 * STORE_UNAVAILABLE.
 */
export interface ServerKv extends DenoKvInterface {
  /** Later calls reject; closes the connection the store opened (never a pool or client you passed in). */
  close(): Promise<void>;
  /** `await using kv = await openKv(url)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a KV handle can do: `{kind, compareAndSet, list, expiry, guarantee}`. */
export function describeStore(kv: KvHandle): StoreCapabilities;

/** What `describeKey` says a stored key is: the package's own key layout,
 *  read back (the CLI's `inspect` reads stores through it). */
export type DescribedKey =
  | {
    kind: 'lock';
    name: string;
    /** With the record's value: what the lock methods would say of it at `now`. */
    isLocked?: boolean;
    held?: boolean;
    stale?: boolean;
    lockId?: string;
    holder?: string | null;
    lockedAt?: string | null;
    expiresAt?: string | null;
    ageMs?: number | null;
    fencingToken?: number | null;
  }
  | { kind: 'state-file'; workflowId: string; fileName: string }
  | { kind: 'sync-state' | 'metrics'; workflowId: string | null }
  | { kind: 'daily-job'; workflowId: string }
  | { kind: 'tracked-file' | 'file-claim' | 'indexed-file'; prefix: string; fileName: string }
  | { kind: 'last-processed-file'; prefix: string }
  | { kind: 'job'; jobId: string; /** With the record: its status. */ status?: string | null; /** With the record: ms since its last update (what "stuck" is measured by). */ idleMs?: number | null }
  | { kind: 'job-status-mirror'; jobId: string }
  | { kind: 'copy-in-progress' }
  | { kind: 'retry-item'; namespace: string; item: string }
  | { kind: 'checkpoint'; namespace: string; name: string }
  | { kind: 'internal' };

/** What a key read back from a store is (a Deno KV key array or a Versori
 *  string key), or null when connector-state did not write it. For a lock,
 *  pass its value (and `now`, epoch ms) to get held / stale and the rest. */
export function describeKey(key: readonly unknown[] | string, value?: unknown, now?: number): DescribedKey | null;

// ---- Checkpoints ----

/** What checkpoints (and `encodeState`) can hold: JSON plus Map, Set, Date,
 *  BigInt, undefined, NaN, ±Infinity and -0, nested freely. */
export type StateValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Date
  | StateValue[]
  | Map<StateValue, StateValue>
  | Set<StateValue>
  | { [key: string]: StateValue };

/** Where a run stands; kept in the manifest (at most 2,048 bytes as JSON). */
export interface CheckpointProgress<P extends number | string = number | string> {
  position?: P;
  processed?: number;
  [key: string]: JsonValue | undefined;
}

export interface CheckpointMeta {
  version: number | string;
  sequence: number;
  savedAt: string;
  ageMs: number;
  progress: CheckpointProgress | null;
  /** UTF-8 bytes of the payload as JSON. */
  bytes: number;
  /** 0 when the payload sits inside the manifest. */
  chunks: number;
}

export type CheckpointLoadResult<T> =
  | ({ found: true; reason: null; data: T } & CheckpointMeta)
  | { found: false; reason: 'missing'; data: null }
  | ({ found: false; reason: 'version-mismatch'; data: null; expectedVersion: number | string } & CheckpointMeta)
  | ({ found: false; reason: 'expired'; data: null; maxAgeMs: number } & CheckpointMeta)
  | { found: false; reason: 'corrupt'; data: null; code: 'CORRUPT_STATE'; key: string[]; message: string; error: StateError };

export interface CheckpointSaveResult {
  sequence: number;
  savedAt: string;
  bytes: number;
  chunks: number;
  /** False when old chunks could not be deleted yet; the next save retries. */
  swept: boolean;
}

export interface ResumeResult<T, P extends number | string = number> {
  /** True when a valid checkpoint was loaded. */
  resumed: boolean;
  /** progress.position of the checkpoint, else 0. */
  position: P | 0;
  /** progress.processed of the checkpoint, else 0. */
  processed: number;
  data: T | null;
  reason: CheckpointLoadResult<T>['reason'];
  checkpoint: CheckpointLoadResult<T>;
}

export interface CheckpointOptions {
  /** Your schema version (default 1); a checkpoint of another version is not returned. */
  version?: number | string;
  /** Ignore checkpoints saved longer ago than this. */
  maxAgeMs?: number;
}

/** Checkpoints in one store under one namespace (default 'default'). */
export class CheckpointStore {
  constructor(kv: KvHandle, options?: string | { namespace?: string; log?: Logger; storeTimeoutMs?: number });
  readonly namespace: string;
  capabilities(): StoreCapabilities;
  /** `T` is your data's type and `P` your positions' (number unless you
   *  save string positions): `open<MyState>('nightly')`. */
  open<T = unknown, P extends number | string = number>(name: string, options?: CheckpointOptions): Checkpoint<T, P>;
}

export class Checkpoint<T = unknown, P extends number | string = number> {
  private constructor();
  readonly name: string;
  readonly namespace: string;
  readonly version: number | string;
  /** The data only when version, checksums and age check out; else why not. */
  load(): Promise<CheckpointLoadResult<T>>;
  /** Rejects with CONFLICT when another run saved since this object last loaded or saved. */
  save(data: T, progress?: CheckpointProgress<P>): Promise<CheckpointSaveResult>;
  /** Removes the checkpoint and its chunks; true if there was one. */
  clear(): Promise<boolean>;
  resume(): Promise<ResumeResult<T, P>>;
  periodic(options: { everyItems?: number; everyMs?: number }): PeriodicSaver<T, P>;
}

export class PeriodicSaver<T = unknown, P extends number | string = number> {
  private constructor();
  /** Counts one item; saves (and resolves true) every `everyItems` items or `everyMs` ms. */
  step(data: T | (() => T), progress?: CheckpointProgress<P>): Promise<boolean>;
  /** Saves now. */
  flush(data: T, progress?: CheckpointProgress<P>): Promise<CheckpointSaveResult>;
  /** Items counted since the last save. */
  readonly unsaved: number;
}

/** JSON-safe form of `value`: Map, Set, Date, BigInt and friends become tagged objects. */
export function encodeState(value: unknown): JsonValue;
/** The value `encodeState` encoded, also after JSON.stringify/JSON.parse. */
export function decodeState<T = unknown>(encoded: unknown): T;

// ---- Indexed file tracking ----

export interface IndexedFile<M extends Metadata = JsonObject> {
  fileName: string;
  processedAt: string | null;
  /** What was passed to mark(), as given (empty on a damaged record). */
  metadata: Partial<M>;
  /** Set on a record that cannot be read (see DamagedRecord). */
  damaged?: true;
  problem?: string;
}

/** A listed record that cannot be read: listings report it (the rest
 *  still lists); `remove(name)` (files), `recordSuccess(item)` (retries)
 *  or deleting the key removes it. */
export interface DamagedRecord {
  damaged: true;
  /** What is wrong, with the record's key. */
  problem: string;
}

export interface ListFilesOptions {
  /** Files per page, 1–10,000 (default 100). */
  limit?: number;
  /** The cursor of the previous page. */
  cursor?: string | null;
  /** Processed at or after this time. */
  since?: Date | string | number;
  /** Processed before this time. */
  until?: Date | string | number;
  namePrefix?: string;
}

export interface FilePage<M extends Metadata = JsonObject> {
  /** A record that cannot be read is listed too, with `damaged: true`,
   *  `problem`, processedAt null and empty metadata. */
  files: IndexedFile<M>[];
  /** null when there is nothing more. */
  cursor: string | null;
}

export interface FileStats {
  totalFiles: number;
  /** Sum of the numeric `recordCount` metadata. */
  totalRecords: number;
  oldest: { fileName: string; processedAt: string } | null;
  newest: { fileName: string; processedAt: string } | null;
  /** Records that cannot be read (counted in totalFiles). */
  damaged: number;
}

export interface RemovedFiles {
  scanned: number;
  deleted: number;
  failed: number;
}

export interface IndexVerification {
  /** 'list': the store lists records itself; 'index': our paged index (stores that cannot list). */
  mode: 'list' | 'index';
  consistent: boolean;
  indexed: number;
  /** Indexed names whose record is gone (a crash between the two writes). */
  stale: string[];
  duplicates: string[];
  /** Names in fc-connect-sdk 0.1.56's index with records our index lacks. */
  missing: string[];
  /** When the index head counts pages that do not exist: how many do (rebuild() corrects the head). */
  damagedHead: number | null;
}

/** Processed files under a prefix, listable at any scale. */
export class IndexedFileTracker<M extends Metadata = JsonObject> {
  constructor(kv: KvHandle, options?: string | { prefix?: string; log?: Logger; now?: () => number; storeTimeoutMs?: number });
  readonly prefix: string;
  capabilities(): StoreCapabilities;
  mark(fileName: string, metadata?: M): Promise<void>;
  isProcessed(fileName: string): Promise<boolean>;
  get(fileName: string): Promise<IndexedFile<M> | null>;
  /** True if there was a record. */
  remove(fileName: string): Promise<boolean>;
  list(options?: ListFilesOptions): Promise<FilePage<M>>;
  stats(): Promise<FileStats>;
  /** Deletes files processed before the cutoff, `batchSize` (default 100) per write. */
  cleanup(options: ({ olderThanDays: number; before?: never } | { before: Date | string | number; olderThanDays?: never }) & { batchSize?: number }): Promise<RemovedFiles>;
  /** Deletes every file of this prefix (no other prefix's). */
  clear(options?: { batchSize?: number }): Promise<RemovedFiles>;
  verify(): Promise<IndexVerification>;
  rebuild(): Promise<{ removed: number; added: number }>;
  /** The key fc-connect-sdk 0.1.56 gave this file. */
  legacyKey(fileName: string): string;
}

/** fc-connect-sdk 0.1.56's VersoriIndexedFileTracker: same constructor, methods and return shapes. */
export class VersoriIndexedFileTracker<M extends Metadata = JsonObject> extends IndexedFileTracker<M> {
  constructor(kv: KvHandle, prefix?: string);
  markFileProcessed(fileName: string, metadata?: M): Promise<void>;
  removeProcessedFile(fileName: string): Promise<void>;
  listProcessedFiles(): Promise<Array<{ fileName: string; key: string; metadata: Partial<M> & { processedAt?: string } }>>;
  clearAllProcessedFiles(): Promise<{ success: number; failed: number }>;
  getStats(): Promise<{ totalFiles: number; totalRecords: number; oldestFile?: string; newestFile?: string }>;
}

// ---- Retries ----

export interface RetryPolicy {
  /** Wait after the first failure (default 600,000 = 10 minutes). */
  baseDelayMs?: number;
  /** Growth per failure (default 2). */
  factor?: number;
  /** Longest wait (default 24 hours). */
  maxDelayMs?: number;
  /** Failures before the item is dead-lettered (default 5). */
  maxAttempts?: number;
  /** Default 'none'. */
  jitter?: 'none' | 'full' | 'equal' | 'decorrelated';
}

export interface RetryState {
  item: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  lastError: string;
  status: 'waiting' | 'exhausted';
  /** null once exhausted. */
  nextRetryAt: string | null;
  delayMs: number | null;
  requeuedAt?: string;
}

export interface RetryCheck {
  action: 'retry' | 'wait' | 'exhausted';
  /** When it may run (now for 'retry'); null when exhausted. */
  retryAt: string | null;
  attempts: number;
  state: RetryState | null;
}

export interface RetryPage {
  /** A record that cannot be read is listed as `{ item, damaged: true, problem }`. */
  items: Array<RetryState | (DamagedRecord & { item: string })>;
  cursor: string | null;
}

export class RetryTracker {
  constructor(
    kv: KvHandle,
    options?: string | {
      namespace?: string;
      policy?: RetryPolicy;
      log?: Logger;
      /** Epoch milliseconds; for tests. */
      now?: () => number;
      /** Uniform in [0, 1); for tests. */
      random?: () => number;
      storeTimeoutMs?: number;
    },
  );
  readonly policy: Required<RetryPolicy>;
  capabilities(): StoreCapabilities;
  recordFailure(item: string, error: unknown): Promise<RetryState>;
  /** True if the item had a state. */
  recordSuccess(item: string): Promise<boolean>;
  check(item: string): Promise<RetryCheck>;
  get(item: string): Promise<RetryState | null>;
  list(options?: { status?: 'waiting' | 'exhausted'; limit?: number; cursor?: string | null }): Promise<RetryPage>;
  listDeadLetters(options?: { limit?: number; cursor?: string | null }): Promise<RetryPage>;
  /** False if the item was not dead-lettered. */
  requeue(item: string): Promise<boolean>;
  cleanup(options: ({ olderThanDays: number; before?: never } | { before: Date | string | number; olderThanDays?: never }) & { batchSize?: number }): Promise<RemovedFiles>;
}

// ---- Jobs ----

export type JobStatusValue = 'queued' | 'processing' | 'completed' | 'failed';
export type JobTrigger = 'schedule' | 'webhook' | 'manual';

/** fc-connect-sdk 0.1.56's JobStatus, plus jobId and updatedAt; `D` is
 *  the shape of your `details`. */
export interface JobStatus<D extends Metadata = Record<string, JsonValue>> {
  jobId: string;
  status: JobStatusValue;
  stage?: string;
  message?: string;
  createdAt?: string;
  startedAt?: string;
  completedAt?: string;
  failedAt?: string;
  updatedAt?: string;
  triggeredBy: JobTrigger | string;
  details?: D;
  error?: string;
  errorStack?: string;
  [field: string]: unknown;
}

export interface DailyJobOptions {
  /** How long one job is reused (default 24). */
  windowHours?: number;
  /** Windows start at UTC midnight instead of when the job was made. */
  alignToUtcDay?: boolean;
  /** How long the record lives (default: to the window's end). */
  expiresInHours?: number;
  /** How long one run may take to create the job before another may (default 120,000). */
  leaseMs?: number;
  /** How often waiting runs look for the job (default 100). */
  pollMs?: number;
  /** On a store without compare-and-set: the longest a write may take to land (default 100; 0 for best-effort). The reservation waits it out, so `create` runs once per window under it. */
  maxWriteDelayMs?: number;
}

export class JobTracker<D extends Metadata = Record<string, JsonValue>> {
  constructor(kv: KvHandle, logger?: Logger | null, ttlSeconds?: number);
  capabilities(): StoreCapabilities;
  /** Rejects with CONFLICT when the id is taken. */
  createJob(jobId: string, metadata?: Partial<Omit<JobStatus<D>, 'status' | 'createdAt' | 'jobId'>>): Promise<JobStatus<D>>;
  /** Rejects with INVALID_TRANSITION for a change that makes no sense (completed is final). */
  updateJob(jobId: string, update: Partial<JobStatus<D>>): Promise<JobStatus<D>>;
  getJob(jobId: string): Promise<JobStatus<D> | undefined>;
  markCompleted(jobId: string, details?: D): Promise<JobStatus<D>>;
  markFailed(jobId: string, error: Error | string): Promise<JobStatus<D>>;
  listJobs(
    options?: { status?: JobStatusValue; since?: Date | string | number; limit?: number; cursor?: string | null },
  ): Promise<{ jobs: Array<JobStatus<D> | (DamagedRecord & { jobId: string })>; cursor: string | null }>;
  /** Jobs stuck: processing with no update (updatedAt, else startedAt) for longer than olderThanMs (default 1 hour). */
  findStuckJobs(options?: { olderThanMs?: number }): Promise<JobStatus<D>[]>;
  cleanup(options: ({ olderThanDays: number; before?: never } | { before: Date | string | number; olderThanDays?: never }) & { batchSize?: number }): Promise<RemovedFiles>;
  /** Of concurrent callers one calls `create` (exactly on a compare-and-set store; under `maxWriteDelayMs` on Versori); all get its job. */
  getOrCreateDailyJob(
    workflowId: string,
    create: () => string | { id: string } | { jobId: string } | Promise<string | { id: string } | { jobId: string }>,
    options?: DailyJobOptions,
  ): Promise<{ job: DailyJob; created: boolean }>;
  incrementDailyJobBatchCount(workflowId: string, by?: number): Promise<number>;
}
