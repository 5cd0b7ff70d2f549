-- spend-record: turn part of a lease into spend, once per spend key.
-- KEYS[1] budget hash   {campaign:ID}:<period>:budget
-- KEYS[2] leases hash   {campaign:ID}:<period>:leases
-- KEYS[3] spend keys    {campaign:ID}:<period>:spends (set of recorded spend keys)
-- ARGV[1] lease id, ARGV[2] spend key (ledger event key), ARGV[3] amount micros
-- returns status: 'recorded' | 'late' (lease already closed: taken from remaining) |
--   'duplicate' | 'exceeds_lease' (nothing changed) | 'unknown_lease'
local function fmt(x) return string.format('%.0f', x) end
local lease = redis.call('HGET', KEYS[2], ARGV[1])
if not lease then return 'unknown_lease' end
if redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 1 then return 'duplicate' end
local g, s, open, exp, server = string.match(lease, '^(%d+)|(%d+)|(%d)|([^|]*)|(.*)$')
g = tonumber(g)
s = tonumber(s)
local amt = tonumber(ARGV[3])
local status
if open == '1' then
  if s + amt > g then return 'exceeds_lease' end
  redis.call('HINCRBY', KEYS[1], 'leased', fmt(-amt))
  status = 'recorded'
else
  redis.call('HINCRBY', KEYS[1], 'remaining', fmt(-amt))
  status = 'late'
end
redis.call('HINCRBY', KEYS[1], 'spent', fmt(amt))
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], fmt(g) .. '|' .. fmt(s + amt) .. '|' .. open .. '|' .. exp .. '|' .. server)
return status
