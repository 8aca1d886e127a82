// Deno KV on Redis or Valkey: the interface and model of js/kv.mjs. Every
// key of a namespace carries the hash tag {cs:<namespace>}, so Redis
// Cluster keeps a namespace on one slot:
//
//   {cs:NS}:keys    sorted set of every key's Deno KV bytes (all score 0:
//                   ZRANGEBYLEX is then bytewise, i.e. Deno's key order)
//   {cs:NS}:expiry  sorted set: keys with an expiry, scored by it
//   {cs:NS}:meta    hash: the last versionstamp's time and sequence
//   {cs:NS}:v:<key bytes>  20-character versionstamp, then the value (PX
//                   for expiry)
//
// A commit is one Lua script (EVALSHA, EVAL when the script cache was
// flushed): checks, sum / min / max and writes run with nothing between
// them. Versionstamps are the server's time in milliseconds and a sequence,
// and never fall below the last one: rising per namespace, and not handed
// out again after a restart, even one that lost the data (as long as the
// server's clock does not go back past the last stamp).
import { Buffer } from 'node:buffer';
import { asBuffer } from './bytes.mjs';
import '../core/node-init.mjs';
import { createHash } from 'node:crypto';
import { __kvDecodeKey, __kvDecodeValue, __kvEncodeValue } from '../../pkg/connector_state.js';
import { StateError } from '../core/errors.mjs';
import { COMMIT, SCAN } from './redis-scripts.mjs';
import { checkNamespace, checkStoreOptions, decodeStored, loadPeer, redactUrl, ServerKvFront, unavailable } from './server.mjs';
import { encodeKey } from './limits.mjs';
import { notU64 } from './u64.mjs';

/** The ioredis package (an optional peer), or STORE_UNAVAILABLE naming the install command. */
export async function loadIoredis(importer = () => import('ioredis')) {
  const mod = await loadPeer('redis://', 'ioredis', importer);
  // Stryker disable next-line LogicalOperator: Node's import of ioredis has both default and Redis (the fallbacks are for other runtimes' shapes)
  return mod.default ?? mod.Redis ?? mod;
}

/** A stored Redis value: its 20-character versionstamp, then the value's
 *  bytes; as [value bytes, versionstamp]. */
const split = (raw) => [raw.subarray(20), raw.subarray(0, 20).toString('latin1')];

const sha1 = (text) => createHash('sha1').update(text).digest('hex');

class RedisBackend {
  #client;
  #own;
  #keys;
  #expiry;
  #meta;
  #prefix;
  #scripts = new Map();

  constructor(client, own, namespace) {
    this.#client = client;
    this.#own = own;
    const tag = `{cs:${namespace}}`;
    this.#keys = `${tag}:keys`;
    this.#expiry = `${tag}:expiry`;
    this.#meta = `${tag}:meta`;
    this.#prefix = Buffer.from(`${tag}:v:`);
  }

  #valueKey(bytes) {
    return Buffer.concat([this.#prefix, bytes]);
  }

  async #call(what, ...args) {
    try {
      return await this.#client.callBuffer(...args);
    } catch (error) {
      throw this.#failure(what, error);
    }
  }

  #failure(what, error) {
    return unavailable(`Redis (${what})`, error, what === 'commit' ? '. If the connection failed while the commit was sent, its outcome is unknown: read the keys back before trying again' : '');
  }

  /** Runs a script by its digest, loading it when the server lacks it. */
  async #script(what, source, keys, args) {
    let digest = this.#scripts.get(source);
    // Stryker disable next-line ConditionalExpression: computing the digest again gives the same digest (the map only saves the hashing)
    if (!digest) this.#scripts.set(source, digest = sha1(source));
    try {
      return await this.#client.callBuffer('EVALSHA', digest, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String(error?.message).startsWith('NOSCRIPT')) {
        if (String(error?.message).startsWith('NOT_U64 ')) throw new TypeError(notU64(error.message.slice(8).trim()));
        throw this.#failure(what, error);
      }
    }
    try {
      return await this.#client.callBuffer('EVAL', source, keys.length, ...keys, ...args);
    } catch (error) {
      if (String(error?.message).startsWith('NOT_U64 ')) throw new TypeError(notU64(error.message.slice(8).trim()));
      throw this.#failure(what, error);
    }
  }

  /** The stored forms at the encoded keys `bytes` (null: absent). */
  #mget(bytes) {
    return this.#call('get', 'MGET', ...bytes.map((b) => this.#valueKey(b)));
  }

  async get(keys) {
    const found = await this.#mget(keys.map((k) => Buffer.from(encodeKey(k, 'read'))));
    return found.map((raw, i) => {
      if (raw === null) return null;
      const [value, versionstamp] = split(raw);
      return { value: decodeStored(__kvDecodeValue, value, keys[i], false), versionstamp };
    });
  }

  /** The core's byte-level get (see ServerKvFront in server.mjs). */
  async getBytes(keys) {
    const found = await this.#mget(keys.map(asBuffer));
    return found.flatMap((raw) => (raw === null ? [null, null] : split(raw)));
  }

  /** The core's byte-level commit: sets and deletes of distinct keys. */
  async commitBytes(checkKeys, checkStamps, setKeys, setValues, setExpiry, deleteKeys) {
    const keys = [this.#keys, this.#expiry, this.#meta];
    const args = [String(checkKeys.length), String(setKeys.length + deleteKeys.length), this.#prefix];
    checkKeys.forEach((k, i) => {
      keys.push(this.#valueKey(asBuffer(k)));
      args.push(checkStamps[i] ?? '');
    });
    setKeys.forEach((k, i) => {
      keys.push(this.#valueKey(asBuffer(k)));
      args.push('set', asBuffer(k), asBuffer(setValues[i]), setExpiry[i] === null ? '' : String(setExpiry[i]));
    });
    for (const k of deleteKeys) {
      keys.push(this.#valueKey(asBuffer(k)));
      args.push('delete', asBuffer(k), '', '');
    }
    const stamp = await this.#script('commit', COMMIT, keys, args);
    return stamp === null ? null : stamp.toString('latin1');
  }

  /** The core's byte-level listing: [key, value, versionstamp, …]. */
  async scanBytes(start, startInclusive, end, limit) {
    const flat = await this.#scan(start, startInclusive, end, limit, false);
    const out = [];
    for (let i = 0; i < flat.length; i += 2) out.push(flat[i], ...split(flat[i + 1]));
    return out;
  }

  async commit(checks, mutations) {
    const keys = [this.#keys, this.#expiry, this.#meta];
    const args = [String(checks.length), String(mutations.length), this.#prefix];
    for (const c of checks) {
      keys.push(this.#valueKey(Buffer.from(encodeKey(c.key, 'read'))));
      args.push(c.versionstamp?.toLowerCase() ?? '');
    }
    for (const m of mutations) {
      const bytes = Buffer.from(encodeKey(m.key, 'write'));
      keys.push(this.#valueKey(bytes));
      // Stryker disable next-line StringLiteral: the script ignores a delete's value argument
      let value = '';
      if (m.type === 'set') value = Buffer.from(__kvEncodeValue(m.value));
      else if (m.type !== 'delete') value = m.value.value.toString(16).padStart(16, '0');
      // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: the script reads a non-number expiry (tonumber gives nil) as none, as it reads ''
      args.push(m.type, bytes, value, m.expireIn === undefined || m.expireIn === null ? '' : String(m.expireIn));
    }
    const stamp = await this.#script('commit', COMMIT, keys, args);
    return stamp === null ? { ok: false } : { ok: true, versionstamp: stamp.toString('latin1') };
  }

  /** [key, stored form, …] of the keys in the range, in key order. */
  #scan(start, startInclusive, end, limit, reverse) {
    const lo = Buffer.concat([Buffer.from(startInclusive ? '[' : '('), start]);
    const hi = Buffer.concat([Buffer.from('('), end]);
    return this.#script('list', SCAN, [this.#keys, this.#expiry], [this.#prefix, lo, hi, String(limit), reverse ? '1' : '0']);
  }

  async scan(start, startInclusive, end, limit, reverse) {
    const flat = await this.#scan(start, startInclusive, end, limit, reverse);
    const out = [];
    for (let i = 0; i < flat.length; i += 2) {
      const bytes = new Uint8Array(flat[i]);
      const key = __kvDecodeKey(bytes);
      const [value, versionstamp] = split(flat[i + 1]);
      out.push({ bytes, key, value: decodeStored(__kvDecodeValue, value, key, true), versionstamp });
    }
    return out;
  }

  close() {
    if (!this.#own) return undefined;
    return this.#client.quit().then(() => undefined, () => this.#client.disconnect());
  }
}

/** A Deno KV store on Redis or Valkey (see README, "Outgrowing one machine"). */
export class RedisKv extends ServerKvFront {
  constructor(backend, description) {
    super(backend, 'redis', description);
  }
}

/**
 * Opens a Deno KV store on Redis or Valkey: `{ url }` (redis:// or
 * rediss://; the store owns and closes that connection) or `{ client }` (an
 * ioredis client of yours, which close() leaves open); `namespace`
 * (default 'default').
 */
export async function openRedisKv(options) {
  const { client, url, namespace } = checkStoreOptions(options, ['client', 'url', 'namespace'], 'openRedisKv');
  const ns = checkNamespace(namespace);
  if ((client === undefined) === (url === undefined)) {
    throw new StateError('INVALID_ARGUMENT', 'openRedisKv needs exactly one of client (an ioredis client) or url');
  }
  if (client !== undefined) {
    if (typeof client?.callBuffer !== 'function') throw new StateError('INVALID_ARGUMENT', 'client must be an ioredis client (Redis or Cluster)');
    return new RedisKv(new RedisBackend(client, false, ns), { url: '(your client)', namespace: ns });
  }
  // Stryker disable next-line ConditionalExpression: the pattern refuses a non-string too (it tests its text, which has no scheme)
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new StateError('INVALID_ARGUMENT', 'url must be a redis:// or rediss:// URL');
  const Redis = await loadIoredis();
  let own;
  try {
    own = makeClient(Redis, url);
  } catch (error) {
    // ioredis's own error carries the whole URL (its `input`): never rethrown.
    throw new StateError(
      'INVALID_ARGUMENT',
      `url ${redactUrl(url)} is not a Redis URL ioredis can read (${
        // Stryker disable next-line OptionalChaining: what ioredis's constructor throws is an Error
        String(error?.code ?? error?.name ?? 'invalid')}): write redis://[:password@]host[:port][/db], with '/', '#', '?' or '@' in the password percent-encoded (encodeURIComponent)`,
    );
  }
  // Connection errors reach the calls that fail; the client reconnects.
  own.on('error', () => {});
  try {
    await own.connect();
  } catch (error) {
    own.disconnect();
    throw unavailable(`Redis (connecting to ${redactUrl(url)})`, error);
  }
  return new RedisKv(new RedisBackend(own, true, ns), { url: redactUrl(url), namespace: ns });
}

function makeClient(Redis, url) {
  return new Redis(url, {
    lazyConnect: true,
    // A command whose connection dropped is never sent again: a commit's
    // outcome is then unknown, and sending it twice could apply it twice.
    // Stryker disable next-line BooleanLiteral: with maxRetriesPerRequest 0 ioredis rejects unanswered commands when the connection drops, so none is left to resend; kept false in case that setting changes
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 10_000,
    commandTimeout: 15_000,
  });
}
