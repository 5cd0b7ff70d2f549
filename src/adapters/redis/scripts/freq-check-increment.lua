-- freq-check-increment: atomic for one user; records the impression on every target only if
-- every rule allows one more impression, else records nothing.
-- KEYS[1..m]     one zset per rule   {user:ID}:<scope>:<id>
-- KEYS[m+1..m+n] one zset per target {user:ID}:<scope>:<id>
-- ARGV[1] now (epoch ms), ARGV[2] impression key, ARGV[3] m (number of rules),
-- ARGV[3+i]    (i = 1..m) window ms of rule i (-1 lifetime),
-- ARGV[3+m+i]  (i = 1..m) max impressions of rule i,
-- ARGV[3+2m+j] (j = 1..n) retain ms of target j (-1 lifetime)
-- returns {recorded (0|1), count_1, ..., count_m} (counts before this impression)
local now = tonumber(ARGV[1])
local m = tonumber(ARGV[3])
local counts = {}
local allowed = true
for i = 1, m do
  local w = tonumber(ARGV[3 + i])
  local lo = '-inf'
  if w >= 0 then lo = '(' .. string.format('%.0f', now - w) end
  counts[i] = redis.call('ZCOUNT', KEYS[i], lo, ARGV[1])
  if counts[i] >= tonumber(ARGV[3 + m + i]) then allowed = false end
end
local recorded = 0
if allowed then
  for j = m + 1, #KEYS do
    local r = tonumber(ARGV[3 + m + j])
    if r >= 0 then redis.call('ZREMRANGEBYSCORE', KEYS[j], '-inf', string.format('%.0f', now - r)) end
    if redis.call('ZADD', KEYS[j], 'NX', ARGV[1], ARGV[2]) == 1 then recorded = 1 end
    if r >= 0 then redis.call('PEXPIRE', KEYS[j], math.max(1, r)) end
  end
end
local out = {recorded}
for i = 1, m do out[i + 1] = counts[i] end
return out
