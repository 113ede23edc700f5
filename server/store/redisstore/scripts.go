package redisstore

import "github.com/redis/go-redis/v9"

// The scripts run atomically in Redis, which is what makes an append and
// its index entry one step (a publisher's id is never stored without being
// resumable), and what gives Replay one consistent view of the stream's
// bounds. Their keys share one hash tag, so in a Cluster they live in one
// slot and a script may touch them all.

// luaIDLess is shared by the scripts: whether entry id a comes before b.
// Lua numbers are doubles, exact up to 2^53: enough for the millisecond
// part until the year 287396 and for any sequence Redis reaches in one.
const luaIDLess = `
local function idparts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function idless(a, b)
  local am, as = idparts(a)
  local bm, bs = idparts(b)
  if am ~= bm then return am < bm end
  return as < bs
end
`

// luaFirstKept is shared by the scripts: the id of the oldest entry the
// count and age bounds keep (a little more may be in the stream, since
// trimming is approximate), or nil when they keep none.
const luaFirstKept = `
local function firstkept(stream, maxcount, maxage)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local cutoff = now - maxage
  local first
  local excess = redis.call('XLEN', stream) - maxcount
  if excess > 0 then
    local r = redis.call('XRANGE', stream, '-', '+', 'COUNT', excess + 1)
    first = r[#r][1]
  else
    local r = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
    if #r == 0 then return nil end
    first = r[1][1]
  end
  if idless(first, cutoff .. '-0') then
    first = cutoff .. '-0'
  end
  return first
end
`

// errDuplicateReply is what appendScript answers for an id already kept.
const errDuplicateReply = "POLYSSE_DUPLICATE_ID"

// appendScript stores one update and trims.
//
//	KEYS[1] the stream, KEYS[2] the id index (sorted set: publisher id
//	scored by the millisecond part of its newest entry's id), KEYS[3]
//	the running total of the sizes of the entries ever appended
//	ARGV[1] max count, ARGV[2] max age in ms, ARGV[3] payload,
//	ARGV[4] the publisher's event id, or "" to use the entry id,
//	ARGV[5] max bytes, ARGV[6] the update's store.Size
//
// It returns the new entry id, or the error errDuplicateReply (storing
// nothing) when ARGV[4] is the id of an entry kept.
//
// XADD trims by count (MAXLEN ~, which frees whole stream nodes only and so
// costs next to nothing) and XTRIM by age (MINID ~): one XADD cannot do
// both. Approximate trimming keeps a little more than the bounds; the
// replay script applies them exactly.
//
// The index is a sorted set rather than a hash so that pruning is one
// ZREMRANGEBYSCORE of the ids older than the stream's first entry: it holds
// the ids still in the stream and at most those of one more millisecond,
// and pruning costs no scan. A score is exact (a double holds a
// millisecond count exactly), and the entry is found again by its id
// within that millisecond.
var appendScript = redis.NewScript(luaIDLess + luaFirstKept + `
if ARGV[4] ~= '' then
  -- Ids are unique among the entries kept (see store.ErrDuplicateID): as
  -- a publisher's id, or as the id of an entry stored without one.
  local at = nil
  local ms = redis.call('ZSCORE', KEYS[2], ARGV[4])
  if ms then
    local es = redis.call('XREVRANGE', KEYS[1], ms, ms)
    for j = 1, #es do
      local ef = es[j][2]
      for i = 1, #ef, 2 do
        if ef[i] == 'i' and ef[i+1] == ARGV[4] then at = es[j][1] end
      end
      if at then break end
    end
  end
  if at == nil and string.match(ARGV[4], '^%d+%-%d+$') then
    local e = redis.call('XRANGE', KEYS[1], ARGV[4], ARGV[4])
    if #e == 1 then
      local given = false
      local ef = e[1][2]
      for i = 1, #ef, 2 do
        if ef[i] == 'i' then given = true end
      end
      if not given then at = e[1][1] end
    end
  end
  if at then
    local first = firstkept(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
    if first and not idless(at, first) then
      return redis.error_reply('POLYSSE_DUPLICATE_ID')
    end
  end
end
local cum = redis.call('INCRBY', KEYS[3], ARGV[6])
local id
if ARGV[4] == '' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'u', ARGV[3], 'c', cum, 's', ARGV[6])
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'u', ARGV[3], 'i', ARGV[4], 'c', cum, 's', ARGV[6])
end
-- The byte bound. Every entry holds the running total of sizes up to it
-- ('c') and its own size ('s'), so what the stream keeps adds up to the
-- newest total minus the oldest's, plus its size, however entries were
-- trimmed. Entries from before the byte bound carry no total and stop it.
local maxbytes = tonumber(ARGV[5])
for n = 1, 1000 do
  local o = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if o == nil or o[1] == id then break end
  local oc, os
  for i = 1, #o[2], 2 do
    if o[2][i] == 'c' then oc = tonumber(o[2][i+1]) end
    if o[2][i] == 's' then os = tonumber(o[2][i+1]) end
  end
  if oc == nil or os == nil or cum - oc + os <= maxbytes then break end
  redis.call('XDEL', KEYS[1], o[1])
end
local ms = idparts(id)
local minid = ms - tonumber(ARGV[2])
if minid > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', '~', minid)
end
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[2], ms, ARGV[4])
  local first = idparts(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. first)
end
return id
`)

// headScript reads what Replay and Last need, in one consistent view.
//
//	KEYS[1] the stream, KEYS[2] the id index (see appendScript)
//	ARGV[1] max count, ARGV[2] max age in ms,
//	ARGV[3] the cursor: an event id, "earliest", or "" for Last
//	ARGV[4] "1" when the cursor parses as a stream entry id
//
// It returns {status, cutoff, last entry id, last entry's publisher id or
// "", start}: status "empty" when nothing is kept, "unknown" when the
// cursor is not kept, "ok" otherwise. Entries whose id's millisecond part
// is below cutoff are expired. Replay reads after start ("after" it unless
// the cursor is "earliest", then from it inclusive).
//
// Redis's clock (TIME) is the one for the age bound, as it is the one that
// stamps entry ids: every node then agrees on what has expired.
var headScript = redis.NewScript(luaIDLess + `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = now - tonumber(ARGV[2])
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 or idparts(last[1][1]) < cutoff then
  return {'empty', cutoff}
end
local lastid = last[1][1]
local lastgiven = ''
local f = last[1][2]
for i = 1, #f, 2 do
  if f[i] == 'i' then lastgiven = f[i+1] end
end
local cursor = ARGV[3]
if cursor == '' then
  return {'ok', cutoff, lastid, lastgiven, ''}
end

-- The oldest entry the count bound keeps. Approximate trimming leaves at
-- most about a stream node (100 entries by default) beyond the bound.
local first
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1])
if excess > 0 then
  local r = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess + 1)
  first = r[#r][1]
else
  first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1]
end
if idparts(first) < cutoff then
  first = cutoff .. '-0'
end
if cursor == 'earliest' then
  return {'ok', cutoff, lastid, lastgiven, first}
end

-- The cursor's newest use: as a publisher's id, or as a generated one.
local at = nil
local ms = redis.call('ZSCORE', KEYS[2], cursor)
if ms then
  -- Newest first: an entry beyond the bounds, not yet trimmed, may hold
  -- the same id (ids are unique among the entries kept only).
  local es = redis.call('XREVRANGE', KEYS[1], ms, ms)
  for j = 1, #es do
    local ef = es[j][2]
    for i = 1, #ef, 2 do
      if ef[i] == 'i' and ef[i+1] == cursor then at = es[j][1] end
    end
    if at then break end
  end
end
if ARGV[4] == '1' and (at == nil or idless(at, cursor)) then
  local e = redis.call('XRANGE', KEYS[1], cursor, cursor)
  if #e == 1 then
    local given = false
    local ef = e[1][2]
    for i = 1, #ef, 2 do
      if ef[i] == 'i' then given = true end
    end
    if not given then at = e[1][1] end
  end
end
if at == nil or idless(at, first) then
  return {'unknown', cutoff}
end
return {'ok', cutoff, lastid, lastgiven, at}
`)
