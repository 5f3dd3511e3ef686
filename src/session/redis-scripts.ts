/**
 * Lua run inside Redis, so each change to a session is one atomic step on
 * the server, whichever replica sends it.
 *
 * A session is a hash at `wasmguard:session:{id}`: guard, policy, mode,
 * created, updated, changes, ttl, and secrecy / integrity as JSON arrays.
 * cjson encodes an empty table as `{}`; both scripts write `[]` instead.
 */

const ENCODE = `local function enc(a) if #a == 0 then return '[]' end return cjson.encode(a) end`;

/**
 * The monotone merge of merge.ts: secrecy ← stored ∪ computed, integrity ←
 * stored ∩ computed, the idle TTL refreshed. KEYS[1] the session key;
 * ARGV[1] computed secrecy, ARGV[2] computed integrity (JSON arrays), ARGV[3]
 * now (epoch ms). Returns nil when the session is gone, else
 * {changed (0|1), the session's fields as HGETALL gives them}.
 */
export const MERGE_SCRIPT = `
${ENCODE}
local f = redis.call('HMGET', KEYS[1], 'secrecy', 'integrity', 'ttl', 'changes')
if not f[1] or not f[2] then return nil end
local secrecy = cjson.decode(f[1])
local integrity = cjson.decode(f[2])
local add = cjson.decode(ARGV[1])
local keep = {}
for _, t in ipairs(cjson.decode(ARGV[2])) do keep[t] = true end
local has = {}
for _, t in ipairs(secrecy) do has[t] = true end
local changed = 0
for _, t in ipairs(add) do
  if not has[t] then has[t] = true; table.insert(secrecy, t); changed = 1 end
end
local met = {}
for _, t in ipairs(integrity) do
  if keep[t] then table.insert(met, t) else changed = 1 end
end
table.sort(secrecy)
table.sort(met)
local changes = tonumber(f[4]) + changed
local s, i = enc(secrecy), enc(met)
redis.call('HSET', KEYS[1], 'secrecy', s, 'integrity', i, 'updated', ARGV[3], 'changes', changes)
redis.call('EXPIRE', KEYS[1], tonumber(f[3]))
return {changed, redis.call('HGETALL', KEYS[1])}
`;

/** The session's fields with its idle TTL refreshed, or an empty list when it is gone. KEYS[1] the session key. */
export const TOUCH_SCRIPT = `
local ttl = redis.call('HGET', KEYS[1], 'ttl')
if not ttl then return {} end
redis.call('EXPIRE', KEYS[1], tonumber(ttl))
return redis.call('HGETALL', KEYS[1])
`;
