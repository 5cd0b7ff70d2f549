-- lease-return: close an open lease and give its unspent part back to remaining.
-- KEYS[1] budget hash   {campaign:ID}:<period>:budget
-- KEYS[2] leases hash   {campaign:ID}:<period>:leases
-- KEYS[3] open leases   {campaign:ID}:<period>:lease_exp
-- ARGV[1] lease id
-- returns {status, returned_micros}; status 'returned' | 'already_closed' | 'unknown_lease'
local function fmt(x) return string.format('%.0f', x) end
local lease = redis.call('HGET', KEYS[2], ARGV[1])
if not lease then return {'unknown_lease', 0} end
local g, s, open, exp, server = string.match(lease, '^(%d+)|(%d+)|(%d)|([^|]*)|(.*)$')
if open ~= '1' then return {'already_closed', 0} end
local unspent = tonumber(g) - tonumber(s)
-- A fully spent lease returns 0: fmt(-0) would be '-0', which HINCRBY refuses.
if unspent > 0 then
  redis.call('HINCRBY', KEYS[1], 'leased', fmt(-unspent))
  redis.call('HINCRBY', KEYS[1], 'remaining', fmt(unspent))
end
redis.call('HSET', KEYS[2], ARGV[1], g .. '|' .. s .. '|0|' .. exp .. '|' .. server)
redis.call('ZREM', KEYS[3], ARGV[1])
return {'returned', unspent}
