// What the PostgreSQL and Redis stores share: options, namespaces, URL
// redaction, driver failures as StateErrors, undecodable rows, and the
// front that names its kind.
import { __checkOptions } from '../../pkg/connector_state.js';
import { StateError } from '../core/errors.mjs';
import { KvFront } from './front.mjs';
import { closedError } from './limits.mjs';

/** A namespace of the server stores: letters, digits and `_ . : -`, so it
 *  can be used in a Redis hash tag and a SQL literal without escaping. */
export function checkNamespace(namespace) {
  if (namespace === undefined) return 'default';
  if (typeof namespace !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(namespace)) {
    throw new StateError('INVALID_ARGUMENT', `namespace must be 1 to 128 letters, digits, '_', '.', ':' or '-': got ${JSON.stringify(String(namespace)).slice(0, 80)}`);
  }
  return namespace;
}

/** Options of the server stores: only the names given are allowed. */
export function checkStoreOptions(options, allowed, what) {
  // The core's check: names, and a did-you-mean hint (one rule for every option).
  __checkOptions(`${what}: options`, options, allowed);
  return options ?? {};
}

/** An optional peer package (pg, ioredis) from `importer`, or
 *  STORE_UNAVAILABLE (not retryable) naming the command that installs it. */
export async function loadPeer(scheme, name, importer) {
  try {
    return await importer();
  } catch (cause) {
    throw new StateError('STORE_UNAVAILABLE', `a ${scheme} store needs the ${name} package, which is not installed: npm install ${name} (in Deno: deno add npm:${name}) (${cause?.message})`, {
      cause,
      retryable: false,
    });
  }
}

/** A connection URL with its password (and any token in the query) hidden. */
export function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|token|key/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    // Not a URL: hide everything up to the last '@' (a password may hold '/', '#' or '?').
    const text = String(url);
    // Stryker disable next-line Regex: a leftmost match starts at the beginning either way
    return text.includes('@') ? text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, (_, scheme) => `${scheme ?? ''}***@`) : text.replace(/\?.*$/s, '');
  }
}

/** The store failure a driver error becomes: STORE_UNAVAILABLE, with the
 *  driver's message and error (as `cause`), never a connection string. */
export function unavailable(what, error, extra = '') {
  const original = String(error?.message ?? error);
  const message = original.replace(/[a-z][a-z0-9+.-]*:\/\/\S*@/gi, (m) => m.replace(/\/\/.*@/, '//***@'));
  // The driver's error is the cause, unless its text held credentials: then
  // a copy with the same name and code and the redacted text stands in.
  const cause = message === original ? error : Object.assign(new Error(message), { name: error?.name ?? 'Error', code: error?.code });
  const wrapped = new StateError('STORE_UNAVAILABLE', `${what}: ${message}${extra}`, { cause });
  if (error?.code) wrapped.driverCode = error.code;
  return wrapped;
}

/**
 * What a listing of a server store yields for a row whose value cannot be
 * decoded (written by something else, or damaged): the other rows still
 * list, and this entry names its key and the problem. Reading it by key
 * rejects with CORRUPT_STATE naming the key.
 */
export class UnreadableValue {
  constructor(key, problem) {
    this.key = key;
    this.problem = problem;
    Object.freeze(this);
  }

  toString() {
    return `unreadable value at ${keyText(this.key)}: ${this.problem}`;
  }
}

/** A key as text for messages (bigints and bytes included). */
export function keyText(key) {
  try {
    return `[${key.map((p) => (typeof p === 'string' ? JSON.stringify(p) : typeof p === 'bigint' ? `${p}n` : p instanceof Uint8Array ? `<${p.length} bytes>` : String(p))).join(', ')}]`;
  } catch {
    return '(a key)';
  }
}

/** The value stored as `bytes` under `key`: for a listing (`listed`), an
 *  UnreadableValue when it cannot be decoded; for a read, CORRUPT_STATE. */
export function decodeStored(decode, bytes, key, listed) {
  try {
    return decode(bytes);
  } catch (error) {
    const problem = String(error?.message ?? error);
    if (listed) return new UnreadableValue(key, problem);
    throw new StateError('CORRUPT_STATE', `the value at ${keyText(key)} cannot be read (${problem}); inspect it, or delete it`);
  }
}

/**
 * The PostgreSQL and Redis stores: a KvFront that names its kind (for
 * describeStore) and shows where it is connected without credentials
 * (inspect, JSON).
 */
export class ServerKvFront extends KvFront {
  #kind;
  #description;
  #bytes;

  constructor(backend, kind, description) {
    super(backend);
    this.#kind = kind;
    this.#description = description;
    // The calls the wasm core makes on this store, at the byte level (keys
    // in Deno KV's encoding, values as the core's stored JSON: encodings the
    // core owns; see src/wasm/bytes_store.rs): one call per store call,
    // nothing encoded or decoded here. After close() they reject as Deno's
    // calls on a closed store do.
    const open = () => {
      if (this.closed) throw closedError();
      return backend;
    };
    this.#bytes = Object.freeze({
      get: (keys) => open().getBytes(keys),
      commit: (...args) => open().commitBytes(...args),
      scan: (start, startInclusive, end, limit) => open().scanBytes(start, startInclusive, end, limit),
    });
  }

  /** The core's byte-level calls (see the constructor). */
  get __connectorStateBytes() {
    return this.#bytes;
  }

  /** Lets describeStore name this kind. */
  get __connectorStateKind() {
    return this.#kind;
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `${this.constructor.name} ${JSON.stringify(this.#description)}`;
  }

  toJSON() {
    return { kind: this.#kind, ...this.#description };
  }
}
