// The Redis store's Lua scripts: a commit (checks, then writes, atomically
// on the server) and a scan of a key range in Deno's order.

export const COMMIT = `
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

export const SCAN = `
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
