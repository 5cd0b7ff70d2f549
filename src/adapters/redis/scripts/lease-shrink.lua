-- lease-shrink: give part of an open lease's unspent micros back to remaining now; the lease
-- stays open with a smaller grant (its outstanding reservations keep their cover).
-- KEYS[1] budget hash   {campaign:ID}:<period>:budget
-- KEYS[2] leases hash   {campaign:ID}:<period>:leases
-- ARGV[1] lease id, ARGV[2] micros to give back (at most the unspent part is given)
-- returns {status, returned_micros}; status 'returned' | 'already_closed' | 'unknown_lease'
local function fmt(x) return string.format('%.0f', x) end
local lease = redis.call('HGET', KEYS[2], ARGV[1])
if not lease then return {'unknown_lease', 0} end
local g, s, open, exp, server = string.match(lease, '^(%d+)|(%d+)|(%d)|([^|]*)|(.*)$')
if open ~= '1' then return {'already_closed', 0} end
g = tonumber(g)
s = tonumber(s)
local give = math.min(tonumber(ARGV[2]), g - s)
if give > 0 then
  redis.call('HINCRBY', KEYS[1], 'leased', fmt(-give))
  redis.call('HINCRBY', KEYS[1], 'remaining', fmt(give))
  redis.call('HSET', KEYS[2], ARGV[1], fmt(g - give) .. '|' .. fmt(s) .. '|1|' .. exp .. '|' .. server)
else
  give = 0
end
return {'returned', give}
