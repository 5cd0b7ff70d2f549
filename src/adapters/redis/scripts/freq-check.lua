-- freq-check: impressions in a sliding window, per user x target; reads only.
-- KEYS[1..n] one zset per rule: {user:ID}:<scope>:<id> (member impression key, score epoch ms)
-- ARGV[1] now (epoch ms), ARGV[1+i] window ms of rule i, or -1 for lifetime
-- returns {count_1, ..., count_n}: entries with now - window < score <= now
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local w = tonumber(ARGV[1 + i])
  local lo = '-inf'
  if w >= 0 then lo = '(' .. string.format('%.0f', now - w) end
  out[i] = redis.call('ZCOUNT', key, lo, ARGV[1])
end
return out
