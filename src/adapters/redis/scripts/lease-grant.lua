-- lease-grant: atomic check-and-decrement of a lease from a campaign period's remaining budget.
-- KEYS[1] budget hash   {campaign:ID}:<period>:budget
-- KEYS[2] leases hash   {campaign:ID}:<period>:leases  (lease id -> "granted|spent|open|expires_ms|server")
-- KEYS[3] open leases   {campaign:ID}:<period>:lease_exp (zset: lease id by expires_ms)
-- ARGV[1] lease id, ARGV[2] server id, ARGV[3] requested micros, ARGV[4] expires at (epoch ms)
-- returns {status, granted_micros, remaining_micros, duplicate (0|1)};
--   status 'granted' | 'exhausted' (nothing remains) | 'unknown_budget' (no counters: fail closed)
-- Grants min(requested, remaining): the sum of grants can never exceed the budget.
-- Idempotent by lease id: a retry returns the original grant and takes nothing more.
local function fmt(x) return string.format('%.0f', x) end
local cur = redis.call('HMGET', KEYS[1], 'remaining')
if not cur[1] then return {'unknown_budget', 0, 0, 0} end
local remaining = tonumber(cur[1])
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then
  return {'granted', tonumber(string.match(existing, '^(%d+)|')), remaining, 1}
end
local g = math.min(tonumber(ARGV[3]), math.max(0, remaining))
if g <= 0 then return {'exhausted', 0, remaining, 0} end
remaining = remaining - g
redis.call('HSET', KEYS[1], 'remaining', fmt(remaining))
redis.call('HINCRBY', KEYS[1], 'leased', fmt(g))
redis.call('HSET', KEYS[2], ARGV[1], fmt(g) .. '|0|1|' .. ARGV[4] .. '|' .. ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return {'granted', g, remaining, 0}
