package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts of the store. Each runs atomically on the Redis server,
// so two replicas can never both claim a session's slot, and a replica that
// lost its execution (expired, replaced) can never write into its log.
// Every script names its keys in KEYS: the session's state hash and its
// log stream, which share a hash tag, so they live on one Redis Cluster
// slot.
//
// The state hash holds:
//
//	id      the execution id (Claim.ID)
//	owner   the replica that runs it
//	status  running | done | failed | stopped
//	lease   the lease's end, Unix milliseconds (the caller's clock)
//	n       the number of events appended
//	stop    "1" once a stop was requested
//
// The log stream holds the execution's events, event i (from 1) at the
// stream id "i-0" with the fields t (its type) and d (its JSON), and, once
// the execution ended, the end marker "n-1" with the field end (the
// status). A cursor c (a count of events) reads the entries after "c-0".
// Every change of a log is PUBLISHed on a channel named as its key, which
// wakes the waiting readers of every replica (notify.go).
//
// Retention: the stream is trimmed to the newest maxlen events (MAXLEN,
// exact); once the execution ends, both keys expire after maxage
// milliseconds; while it runs, they expire maxage after its lease (or
// after Redis's clock, when the lease is earlier), so a log whose owner
// died and that nobody expired does not stay forever. TIME before writes
// needs effects replication: the default from Redis 5 on when
// redis.replicate_commands is called, always from Redis 7.

// luaCommon is prepended to every script.
const luaCommon = `
if redis.replicate_commands then redis.replicate_commands() end
local function int(v)
  return string.format('%d', v)
end
local function xadd(log, maxlen, id, ...)
  if tonumber(maxlen) > 0 then
    redis.call('XADD', log, 'MAXLEN', maxlen, id, ...)
  else
    redis.call('XADD', log, id, ...)
  end
end
-- expire_at makes both keys of a running execution expire maxage after
-- its lease, or after now by Redis's clock when the lease is earlier.
local function expire_at(state, log, lease, maxage)
  if tonumber(maxage) > 0 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local at = int(math.max(tonumber(lease), now) + tonumber(maxage))
    redis.call('PEXPIREAT', state, at)
    redis.call('PEXPIREAT', log, at)
  end
end
-- add appends the (type, JSON) pairs of ARGV from index from on, after
-- event n, and returns the new n.
local function add(log, maxlen, n, from)
  for i = from, #ARGV, 2 do
    n = n + 1
    xadd(log, maxlen, int(n) .. '-0', 't', ARGV[i], 'd', ARGV[i + 1])
  end
  return n
end
-- close writes the end marker after event n, sets the status and starts
-- the age retention.
local function close(state, log, n, status, maxlen, maxage)
  local keep = tonumber(maxlen)
  if keep > 0 then keep = keep + 1 end
  xadd(log, keep, int(n) .. '-1', 'end', status)
  redis.call('HSET', state, 'status', status, 'n', int(n))
  if tonumber(maxage) > 0 then
    redis.call('PEXPIRE', state, maxage)
    redis.call('PEXPIRE', log, maxage)
  else
    redis.call('PERSIST', state)
    redis.call('PERSIST', log)
  end
end
-- wake tells the waiting readers of the log (on every replica) that it
-- changed: the channel is named as the log's key.
local function wake(log)
  redis.call('PUBLISH', log, '1')
end
local function fields(state)
  return redis.call('HMGET', state, 'id', 'owner', 'status', 'lease', 'stop', 'n')
end
local function record(st)
  return {st[1] or '', st[2] or '', st[3] or '', st[4] or '0', st[5] or ''}
end
-- owned reports whether st is the running execution id of owner.
local function owned(st, id, owner)
  return st[1] == id and st[2] == owner and st[3] == 'running'
end
`

// claimScript takes the session's slot for a new execution.
// KEYS: state, log. ARGV: id, owner, lease (ms), maxage (ms).
// It answers {1, record} when claimed, {0, record} of the running
// execution when the session is busy.
var claimScript = redis.NewScript(luaCommon + `
local st = fields(KEYS[1])
if st[3] == 'running' then
  return {0, record(st)}
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'owner', ARGV[2], 'status', 'running', 'lease', ARGV[3], 'n', '0')
expire_at(KEYS[1], KEYS[2], ARGV[3], ARGV[4])
wake(KEYS[2])
return {1, record(fields(KEYS[1]))}
`)

// renewScript extends the owner's lease.
// KEYS: state, log. ARGV: id, owner, lease (ms), maxage (ms).
// It answers {1, stop} (stop 1 once requested) or {-1, 0} when the
// execution is no longer the caller's.
var renewScript = redis.NewScript(luaCommon + `
local st = fields(KEYS[1])
if not owned(st, ARGV[1], ARGV[2]) then
  return {-1, 0}
end
redis.call('HSET', KEYS[1], 'lease', ARGV[3])
expire_at(KEYS[1], KEYS[2], ARGV[3], ARGV[4])
if st[5] == '1' then return {1, 1} end
return {1, 0}
`)

// appendScript appends events to the owner's running execution.
// KEYS: state, log. ARGV: id, owner, maxlen, maxage (ms), then (type,
// JSON) pairs. It answers the number of events, or -1 when the execution
// is no longer the caller's.
var appendScript = redis.NewScript(luaCommon + `
local st = fields(KEYS[1])
if not owned(st, ARGV[1], ARGV[2]) then
  return -1
end
local n = add(KEYS[2], ARGV[3], tonumber(st[6]), 5)
redis.call('HSET', KEYS[1], 'n', int(n))
expire_at(KEYS[1], KEYS[2], st[4], ARGV[4])
if #ARGV > 4 then wake(KEYS[2]) end
return n
`)

// finishScript appends the last events and ends the owner's running
// execution. KEYS: state, log. ARGV: id, owner, status, maxlen, maxage
// (ms), then (type, JSON) pairs. It answers the number of events, or -1
// when the execution is no longer the caller's.
var finishScript = redis.NewScript(luaCommon + `
local st = fields(KEYS[1])
if not owned(st, ARGV[1], ARGV[2]) then
  return -1
end
local n = add(KEYS[2], ARGV[4], tonumber(st[6]), 6)
close(KEYS[1], KEYS[2], n, ARGV[3], ARGV[4], ARGV[5])
wake(KEYS[2])
return n
`)

// expireScript ends a running execution whose lease ran out, on anyone's
// behalf, with status failed after the last events. KEYS: state, log.
// ARGV: id, now (ms), maxlen, maxage (ms), then (type, JSON) pairs. It
// answers 1 when it did, 0 otherwise.
var expireScript = redis.NewScript(luaCommon + `
local st = fields(KEYS[1])
if st[1] ~= ARGV[1] or st[3] ~= 'running' or tonumber(st[4]) > tonumber(ARGV[2]) then
  return 0
end
local n = add(KEYS[2], ARGV[3], tonumber(st[6]), 5)
close(KEYS[1], KEYS[2], n, 'failed', ARGV[3], ARGV[4])
wake(KEYS[2])
return 1
`)

// stopScript asks the running execution to stop.
// KEYS: state. ARGV: id ("" for whichever runs).
// It answers 1 when a running execution was asked, 0 otherwise.
var stopScript = redis.NewScript(luaCommon + `
local st = fields(KEYS[1])
if st[3] ~= 'running' or (ARGV[1] ~= '' and st[1] ~= ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'stop', '1')
return 1
`)

// readScript reads the session's execution and its log from a cursor, in
// one snapshot. KEYS: state, log. ARGV: cursor, limit (0: none).
// It answers {record, n, start, type, JSON, type, JSON, ...}; the record's
// id is "" when the session has no execution.
var readScript = redis.NewScript(luaCommon + `
local st = fields(KEYS[1])
local cursor = tonumber(ARGV[1])
if not st[1] then
  return {record(st), 0, '0'}
end
local n = tonumber(st[6])
local out = {record(st), int(n), int(n)}
if cursor >= n then
  return out
end
local entries
if tonumber(ARGV[2]) > 0 then
  entries = redis.call('XRANGE', KEYS[2], int(cursor + 1) .. '-0', int(n) .. '-0', 'COUNT', ARGV[2])
else
  entries = redis.call('XRANGE', KEYS[2], int(cursor + 1) .. '-0', int(n) .. '-0')
end
for i, e in ipairs(entries) do
  if i == 1 then
    out[3] = int(tonumber(string.match(e[1], '^(%d+)-')) - 1)
  end
  table.insert(out, e[2][2])
  table.insert(out, e[2][4])
end
return out
`)
