-- budget-restore: re-create LOST counters of a campaign period in one atomic step (after Redis
-- restarted empty), so no other process can take a lease from a half-rebuilt budget.
-- KEYS[1] budget hash   {campaign:ID}:<period>:budget
-- KEYS[2] leases hash   {campaign:ID}:<period>:leases
-- KEYS[3] open leases   {campaign:ID}:<period>:lease_exp
-- KEYS[4] spend keys    {campaign:ID}:<period>:spends
-- ARGV[1] budget, ARGV[2] spent (already recorded), ARGV[3] held (open leases may still spend),
-- ARGV[4] hold expires at (epoch ms), ARGV[5] spent lease id (closed), ARGV[6] hold lease id
-- (open), ARGV[7] server id, ARGV[8] n = open leases re-created under their own ids, then n ×
-- (lease id, micros, expires at, server id), then the spend keys already recorded
-- returns 'exists' (counters present: nothing changed) | 'restored'
local function fmt(x) return string.format('%.0f', x) end
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
local b = tonumber(ARGV[1])
local s = tonumber(ARGV[2])
local h = tonumber(ARGV[3])
local n = tonumber(ARGV[8])
local leased = h
for k = 0, n - 1 do
  local id, m, exp, server = ARGV[9 + 4 * k], tonumber(ARGV[10 + 4 * k]), ARGV[11 + 4 * k], ARGV[12 + 4 * k]
  if m > 0 then
    leased = leased + m
    redis.call('HSET', KEYS[2], id, fmt(m) .. '|0|1|' .. exp .. '|' .. server)
    redis.call('ZADD', KEYS[3], exp, id)
  end
end
redis.call('HSET', KEYS[1], 'budget', fmt(b), 'remaining', fmt(b - s - leased), 'leased',
  fmt(leased), 'spent', fmt(s))
-- The spent lease exists even when s = 0: late spend of lost leases can be recorded on it.
redis.call('HSET', KEYS[2], ARGV[5], fmt(s) .. '|' .. fmt(s) .. '|0|0|' .. ARGV[7])
if h > 0 then
  redis.call('HSET', KEYS[2], ARGV[6], fmt(h) .. '|0|1|' .. ARGV[4] .. '|' .. ARGV[7])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[6])
end
local last = #ARGV
local i = 9 + 4 * n
while i <= last do
  local j = math.min(last, i + 999)
  redis.call('SADD', KEYS[4], unpack(ARGV, i, j))
  i = j + 1
end
return 'restored'
