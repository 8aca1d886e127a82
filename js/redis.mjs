/* @ts-self-types="./redis.d.ts" */
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
import './node.mjs';
import { createHash } from 'node:crypto';
import { __kvDecodeKey, __kvDecodeValue, __kvEncodeValue } from '../pkg/connector_state.js';
import { StateError } from './errors.mjs';
import { ServerKvFront, checkNamespace, checkStoreOptions, decodeStored, encodeKey, notU64, redactUrl, unavailable } from './kv.mjs';

async function loadIoredis() {
  try {
    const mod = await import('ioredis');
    return mod.default ?? mod.Redis ?? mod;
  } catch (cause) {
    throw new StateError('STORE_UNAVAILABLE', `a redis:// store needs the ioredis package, which is not installed: npm install ioredis (in Deno: deno add npm:ioredis) (${cause?.message})`, { cause, retryable: false });
  }
}

const COMMIT = `
local nc = tonumber(ARGV[1])
local nm = tonumber(ARGV[2])
local prefix = ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, nc do
  local cur = redis.call('GET', KEYS[3 + i])
  local have = ''
  if cur then have = string.sub(cur, 1, 20) end
  if have ~= ARGV[3 + i] then return false end
end
local function split(h) return tonumber(string.sub(h, 1, 8), 16), tonumber(string.sub(h, 9, 16), 16) end
local function u64(kind, a, b)
  local ah, al = split(a)
  local bh, bl = split(b)
  local h, l
  if kind == 'sum' then
    l = al + bl
    local carry = 0
    if l >= 4294967296 then l = l - 4294967296; carry = 1 end
    h = (ah + bh + carry) % 4294967296
  elseif kind == 'min' then
    if ah < bh or (ah == bh and al <= bl) then h, l = ah, al else h, l = bh, bl end
  else
    if ah > bh or (ah == bh and al >= bl) then h, l = ah, al else h, l = bh, bl end
  end
  return string.format('%08x%08x', h, l)
end
-- Every key's final state first, so a failing sum / min / max writes nothing.
local order, final = {}, {}
local a = 3 + nc
for j = 1, nm do
  local vkey = KEYS[3 + nc + j]
  local kind, member, val, exp = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  a = a + 4
  if final[vkey] == nil then table.insert(order, vkey) end
  if kind == 'set' then
    final[vkey] = { member, val, exp }
  elseif kind == 'delete' then
    final[vkey] = { member, false, '' }
  else
    local body = nil
    local f = final[vkey]
    if f ~= nil then
      if f[2] then body = f[2] end
    else
      local cur = redis.call('GET', vkey)
      if cur then body = string.sub(cur, 21) end
    end
    local result = val
    if body then
      if string.len(body) ~= 17 or string.sub(body, 1, 1) ~= 'u' then return redis.error_reply('NOT_U64 ' .. kind) end
      result = u64(kind, string.sub(body, 2), val)
    end
    final[vkey] = { member, 'u' .. result, '' }
  end
end
local ms = tonumber(redis.call('HGET', KEYS[3], 'ms') or '0')
local seq = tonumber(redis.call('HGET', KEYS[3], 'seq') or '0')
if now > ms then ms = now; seq = 0 else seq = seq + 1 end
if seq >= 4294967296 then ms = ms + 1; seq = 0 end
redis.call('HSET', KEYS[3], 'ms', string.format('%.0f', ms), 'seq', string.format('%.0f', seq))
local stamp = string.format('%04x%08x%08x', math.floor(ms / 4294967296), ms % 4294967296, seq)
for _, vkey in ipairs(order) do
  local f = final[vkey]
  local member = f[1]
  local px = nil
  if f[3] ~= '' then px = tonumber(f[3]) end
  if f[2] == false or (px ~= nil and px <= 0) then
    redis.call('DEL', vkey)
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZREM', KEYS[2], member)
  elseif px ~= nil then
    redis.call('SET', vkey, stamp .. f[2], 'PX', px)
    redis.call('ZADD', KEYS[1], 0, member)
    redis.call('ZADD', KEYS[2], now + px, member)
  else
    redis.call('SET', vkey, stamp .. f[2])
    redis.call('ZADD', KEYS[1], 0, member)
    redis.call('ZREM', KEYS[2], member)
  end
end
-- Expired keys leave the listing index a few at a time.
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 50)
for _, member in ipairs(gone) do
  if redis.call('EXISTS', prefix .. member) == 0 then redis.call('ZREM', KEYS[1], member) end
  redis.call('ZREM', KEYS[2], member)
end
return stamp
`;

const SCAN = `
local prefix = ARGV[1]
local lo = ARGV[2]
local hi = ARGV[3]
local limit = tonumber(ARGV[4])
local reverse = ARGV[5] == '1'
local out = {}
local count = 0
while count < limit do
  local batch
  if reverse then
    batch = redis.call('ZREVRANGEBYLEX', KEYS[1], hi, lo, 'LIMIT', 0, limit - count)
  else
    batch = redis.call('ZRANGEBYLEX', KEYS[1], lo, hi, 'LIMIT', 0, limit - count)
  end
  if #batch == 0 then break end
  for _, member in ipairs(batch) do
    local v = redis.call('GET', prefix .. member)
    if v then
      table.insert(out, member)
      table.insert(out, v)
      count = count + 1
    else
      -- Expired: it leaves the index.
      redis.call('ZREM', KEYS[1], member)
      redis.call('ZREM', KEYS[2], member)
    end
  end
  if reverse then hi = '(' .. batch[#batch] else lo = '(' .. batch[#batch] end
end
return out
`;

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
    return unavailable(`Redis (${what})`, error, what === 'commit'
      ? '. If the connection failed while the commit was sent, its outcome is unknown: read the keys back before trying again'
      : '');
  }

  /** Runs a script by its digest, loading it when the server lacks it. */
  async #script(what, source, keys, args) {
    let digest = this.#scripts.get(source);
    if (!digest) this.#scripts.set(source, (digest = sha1(source)));
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

  async get(keys) {
    const bytes = keys.map((k) => Buffer.from(encodeKey(k, 'read')));
    const found = await this.#call('get', 'MGET', ...bytes.map((b) => this.#valueKey(b)));
    return found.map((raw, i) => (raw === null ? null : { value: decodeStored(__kvDecodeValue, raw.subarray(20), keys[i], false), versionstamp: raw.subarray(0, 20).toString('latin1') }));
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
      let value = '';
      if (m.type === 'set') value = Buffer.from(__kvEncodeValue(m.value));
      else if (m.type !== 'delete') value = m.value.value.toString(16).padStart(16, '0');
      args.push(m.type, bytes, value, m.expireIn === undefined || m.expireIn === null ? '' : String(m.expireIn));
    }
    const stamp = await this.#script('commit', COMMIT, keys, args);
    return stamp === null ? { ok: false } : { ok: true, versionstamp: stamp.toString('latin1') };
  }

  async scan(start, startInclusive, end, limit, reverse) {
    const lo = Buffer.concat([Buffer.from(startInclusive ? '[' : '('), Buffer.from(start)]);
    const hi = Buffer.concat([Buffer.from('('), Buffer.from(end)]);
    const flat = await this.#script('list', SCAN, [this.#keys, this.#expiry], [this.#prefix, lo, hi, String(limit), reverse ? '1' : '0']);
    const out = [];
    for (let i = 0; i < flat.length; i += 2) {
      const bytes = new Uint8Array(flat[i]);
      const raw = flat[i + 1];
      const key = __kvDecodeKey(bytes);
      out.push({ bytes, key, value: decodeStored(__kvDecodeValue, raw.subarray(20), key, true), versionstamp: raw.subarray(0, 20).toString('latin1') });
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
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new StateError('INVALID_ARGUMENT', 'url must be a redis:// or rediss:// URL');
  const Redis = await loadIoredis();
  let own;
  try {
    own = makeClient(Redis, url);
  } catch (error) {
    // ioredis's own error carries the whole URL (its `input`): never rethrown.
    throw new StateError(
      'INVALID_ARGUMENT',
      `url ${redactUrl(url)} is not a Redis URL ioredis can read (${String(error?.code ?? error?.name ?? 'invalid')}): write redis://[:password@]host[:port][/db], with '/', '#', '?' or '@' in the password percent-encoded (encodeURIComponent)`,
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
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 10_000,
    commandTimeout: 15_000,
  });
}
