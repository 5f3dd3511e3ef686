/**
 * Lua run inside Redis, so each change to a session is one atomic step on
 * the server, whichever replica sends it.
 *
 * A session is a hash at `wasmguard:session:{id}`: guard, policy, mode,
 * created, updated, changes, ttl, and secrecy / integrity as JSON arrays.
 * cjson encodes an empty table as `{}`; the merge writes `[]` instead.
 */

const ENCODE = `local function enc(a) if #a == 0 then return '[]' end return cjson.encode(a) end`;

/**
 * The fields the scripts return, in this order (HMGET, not HGETALL: no field
 * names to send and skip, and the reader takes each value by its index).
 * `ttl` first: a session without it is gone.
 */
export const SESSION_FIELDS = ['ttl', 'guard', 'hasPolicy', 'policy', 'mode', 'secrecy', 'integrity', 'created', 'updated', 'changes'] as const;

const HMGET_FIELDS = SESSION_FIELDS.map((f) => `'${f}'`).join(', ');

/**
 * The monotone merge of merge.ts: secrecy ← stored ∪ computed, integrity ←
 * stored ∩ computed, the idle TTL refreshed. KEYS[1] the session key;
 * ARGV[1] computed secrecy, ARGV[2] computed integrity (JSON arrays), ARGV[3]
 * now (epoch ms). Returns nil when the session is gone, else
 * {changed (0|1), the session's SESSION_FIELDS}.
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
return {changed, redis.call('HMGET', KEYS[1], ${HMGET_FIELDS})}
`;

/**
 * One turn of the event loop's store calls in one script call (redis-batch.ts):
 * the session reads, with their idle TTL refreshed, then the decision records
 * to keep. KEYS: the ARGV[1] session keys, then the decision keys; ARGV after
 * the count: each decision's value and TTL (s) in turn. Answers, for each
 * session key in order, its SESSION_FIELDS, or an empty list when it is gone.
 * pcall: a session key that cannot be read (not a hash) fails only its own
 * read, as an error inside the reply, not the others'. SET cannot fail on any
 * key, so the writes need no answer of their own.
 */
export const TURN_SCRIPT = `
local reads = tonumber(ARGV[1])
local out = {}
for i = 1, reads do
  local key = KEYS[i]
  local f = redis.pcall('HMGET', key, ${HMGET_FIELDS})
  if f.err then
    out[i] = f
  elseif f[1] then
    redis.call('EXPIRE', key, tonumber(f[1]))
    out[i] = f
  else
    out[i] = {}
  end
end
for i = reads + 1, #KEYS do
  local v = 2 * (i - reads)
  redis.call('SET', KEYS[i], ARGV[v], 'EX', ARGV[v + 1])
end
return out
`;
