-- freq-increment: record one impression per target, idempotent by impression key.
-- KEYS[1..n] one zset per target: {user:ID}:<scope>:<id>
-- ARGV[1] now (epoch ms), ARGV[2] impression key, ARGV[2+i] retain ms of target i (-1 lifetime)
-- returns the number of targets on which the key was new (0: a duplicate everywhere)
-- Entries at or before now - retain are dropped and the key expires retain ms after its
-- latest write, so memory is bounded by the largest window the caller caps with.
local now = tonumber(ARGV[1])
local added = 0
for i, key in ipairs(KEYS) do
  local r = tonumber(ARGV[2 + i])
  if r >= 0 then redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - r)) end
  added = added + redis.call('ZADD', key, 'NX', ARGV[1], ARGV[2])
  if r >= 0 then redis.call('PEXPIRE', key, math.max(1, r)) end
end
return added
