-- budget-state: read a campaign period's counters in one consistent step.
-- KEYS[1] budget hash {campaign:ID}:<period>:budget
-- KEYS[2] open-lease index zset {campaign:ID}:<period>:lease_exp
-- ARGV    none
-- returns {budget, remaining, leased, spent, open_leases}, or false (nil reply) when absent.
local cur = redis.call('HMGET', KEYS[1], 'budget', 'remaining', 'leased', 'spent')
if not cur[1] then return false end
return {tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3]), tonumber(cur[4]), redis.call('ZCARD', KEYS[2])}
