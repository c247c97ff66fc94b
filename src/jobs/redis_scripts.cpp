#include "redis_scripts.hpp"

#include <openssl/sha.h>

#include <cstdio>
#include <cstring>

namespace videogate::jobs::redis {

script::script(const char* t) : text(t) {
  unsigned char d[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(t), std::strlen(t), d);
  char hex[3];
  for (auto b : d) {
    std::snprintf(hex, sizeof hex, "%02x", b);
    sha += hex;
  }
}

// Writes a job and its indexes, and the webhook events that come with it. KEYS: job, seq,
// list, unfinished, keyjobs, idemjob, outbox:pending, outbox:changes, then one evt:<id> per event.
// ARGV: id, rec, mode (put | update), class (open | terminal | deleted), client, has idem key
// (1/0), then per event: id, JSON, next attempt ms, change ms.
// Returns the seq, or 0 when an update found no record or a tombstone (and wrote no event).
const script put_job{R"lua(
local seq = redis.call('HGET', KEYS[1], 'seq')
if ARGV[3] == 'update' then
  if not seq or redis.call('HGET', KEYS[1], 'del') == '1' then return 0 end
end
local seq_was_new = not seq
if not seq then seq = redis.call('INCR', KEYS[2]) end
local deleted = ARGV[4] == 'deleted'
redis.call('HSET', KEYS[1], 'seq', seq, 'rec', ARGV[2], 'client', ARGV[5], 'del', deleted and '1' or '0',
           'lk', KEYS[3], 'kk', KEYS[5])
if deleted then redis.call('ZREM', KEYS[3], ARGV[1]) else redis.call('ZADD', KEYS[3], seq, ARGV[1]) end
if ARGV[4] == 'open' then
  redis.call('ZADD', KEYS[4], seq, ARGV[1])
  redis.call('SADD', KEYS[5], ARGV[1])
else
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('SREM', KEYS[5], ARGV[1])
end
-- The newest job made with an Idempotency-Key: the last one inserted (seqs only grow).
if ARGV[6] == '1' and not deleted and ARGV[3] == 'put' and seq_was_new then redis.call('SET', KEYS[6], ARGV[1]) end
local e = 0
while KEYS[9 + e] do
  local a = 7 + 4 * e
  if redis.call('SET', KEYS[9 + e], ARGV[a + 1], 'NX') then
    redis.call('ZADD', KEYS[7], tonumber(ARGV[a + 2]), ARGV[a])
    redis.call('ZADD', KEYS[8], tonumber(ARGV[a + 3]), ARGV[a])
  end
  e = e + 1
end
return tonumber(seq)
)lua"};

// Saves an event's new state. KEYS: evt, pending, delivered, failed, changes. ARGV: id, JSON,
// status (pending | delivered | failed), next attempt ms, change ms. Returns 0 if unknown.
const script save_event{R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if ARGV[3] == 'pending' then redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[1])
elseif ARGV[3] == 'delivered' then redis.call('ZADD', KEYS[3], tonumber(ARGV[5]), ARGV[1])
else redis.call('ZADD', KEYS[4], tonumber(ARGV[5]), ARGV[1]) end
redis.call('ZADD', KEYS[5], tonumber(ARGV[5]), ARGV[1])
return 1
)lua"};

// Events from a zset. KEYS: the zset. ARGV: event key prefix, 'due' | 'newest', limit, now ms.
const script page_events{R"lua(
local ids
if ARGV[2] == 'due' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[4]), 'LIMIT', 0, tonumber(ARGV[3]))
else
  ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
end
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then out[#out + 1] = v end
end
return out
)lua"};

// Erases a job and its indexes. KEYS: job, unfinished. ARGV: id. Returns 1 if it existed.
const script erase_job{R"lua(
local f = redis.call('HMGET', KEYS[1], 'lk', 'kk')
if not f[1] then return 0 end
redis.call('ZREM', f[1], ARGV[1])
redis.call('SREM', f[2], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
)lua"};

// One page of ids from a zset, with their records. KEYS: the zset. ARGV: job key prefix,
// lower-exclusive bound (or '' for none), limit, 'desc' | 'asc'.
// Returns a flat array: rec1, seq1, rec2, seq2, ...
const script page_jobs{R"lua(
local ids
if ARGV[4] == 'desc' then
  local hi = ARGV[2] == '' and '+inf' or ('(' .. ARGV[2])
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], hi, '-inf', 'LIMIT', 0, tonumber(ARGV[3]))
else
  local lo = ARGV[2] == '' and '-inf' or ('(' .. ARGV[2])
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], lo, '+inf', 'LIMIT', 0, tonumber(ARGV[3]))
end
local out = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'rec', 'seq')
  if f[1] then
    out[#out + 1] = f[1]
    out[#out + 1] = f[2]
  end
end
return out
)lua"};

// Claims an Idempotency-Key. KEYS: idem. ARGV: record, not_before, ttl seconds.
// Returns the record already there (made at or after not_before), or nil after writing ours.
const script claim_idem{R"lua(
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and tonumber(c.created_at) >= tonumber(ARGV[2]) then return cur end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
return false
)lua"};

// Keeps a key state unless a newer one is there. KEYS: keys:<up>, upstreams. ARGV: fp, state,
// updated_ms, upstream.
const script save_key{R"lua(
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and tonumber(c.updated_ms) > tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
return 1
)lua"};

// A capped slot. KEYS: keyjobs, keyres. ARGV: cap, token, now ms, ttl ms.
const script claim_slot_script{R"lua(
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]))
if redis.call('SCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[2])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]) + 60000)
return 1
)lua"};

// Drops a lease only if this holder has it. KEYS: lease. ARGV: token.
const script drop_lease_script{R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua"};

// One status call of an upstream's per-second budget. KEYS: polls:<up>:<second>. ARGV: cap.
const script poll_budget{R"lua(
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end
if n > tonumber(ARGV[1]) then return 0 end
return 1
)lua"};

}  // namespace videogate::jobs::redis
