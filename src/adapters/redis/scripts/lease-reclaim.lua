-- lease-reclaim: the timeout monitor's step; closes every open lease with expires_ms <= now
-- and gives the unspent parts back to remaining.
-- KEYS[1] budget hash   {campaign:ID}:<period>:budget
-- KEYS[2] leases hash   {campaign:ID}:<period>:leases
-- KEYS[3] open leases   {campaign:ID}:<period>:lease_exp
-- ARGV[1] now (epoch ms)
-- returns {leases_closed, returned_micros}
local function fmt(x) return string.format('%.0f', x) end
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
local total = 0
for _, id in ipairs(ids) do
  local lease = redis.call('HGET', KEYS[2], id)
  if lease then
    local g, s, open, exp, server = string.match(lease, '^(%d+)|(%d+)|(%d)|([^|]*)|(.*)$')
    if open == '1' then
      total = total + (tonumber(g) - tonumber(s))
      redis.call('HSET', KEYS[2], id, g .. '|' .. s .. '|0|' .. exp .. '|' .. server)
    end
  end
  redis.call('ZREM', KEYS[3], id)
end
if total > 0 then
  redis.call('HINCRBY', KEYS[1], 'leased', fmt(-total))
  redis.call('HINCRBY', KEYS[1], 'remaining', fmt(total))
end
return {#ids, total}
