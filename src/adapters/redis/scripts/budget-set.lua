-- budget-set: create a campaign period's budget counters, or change the budget.
-- KEYS[1] budget hash {campaign:ID}:<period>:budget (fields budget, remaining, leased, spent)
-- KEYS[2] open-lease index zset {campaign:ID}:<period>:lease_exp (for the open-lease count)
-- ARGV[1] budget, integer micros
-- returns {budget, remaining, leased, spent, open_leases} after the change.
-- A change moves `remaining` by (new - old); leases already out are not clawed back.
-- Numbers cross into Redis only as '%.0f' strings: Lua's default %.14g would lose micros.
local function fmt(x) return string.format('%.0f', x) end
local b = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'budget', 'remaining', 'leased', 'spent')
if not cur[1] then
  redis.call('HSET', KEYS[1], 'budget', fmt(b), 'remaining', fmt(b), 'leased', '0', 'spent', '0')
  return {b, b, 0, 0, 0}
end
local remaining = tonumber(cur[2]) + (b - tonumber(cur[1]))
redis.call('HSET', KEYS[1], 'budget', fmt(b), 'remaining', fmt(remaining))
return {b, remaining, tonumber(cur[3]), tonumber(cur[4]), redis.call('ZCARD', KEYS[2])}
