//! The Lua scripts behind [`crate::RedisStore`]'s principal index: one round
//! trip each, atomic on the server, one key each (so the same on a cluster).
//!
//! A principal is one HASH under `{prefix}{<principal hash>}:p`:
//! - `s:<handle hex>`: a session's entry (`IndexEntry::to_bytes`, whose
//!   first 8 bytes are its expiry, big-endian);
//! - `nb`: "revoked at or before" (decimal seconds), `ex`: the handle it
//!   spares (hex);
//! - `d`: single revoked sessions, `<handle hex>:<until>` joined by commas;
//! - `k`: when everything in the hash has lapsed (decimal seconds): the
//!   latest entry expiry or revocation lifetime. The key's TTL follows it.
//!
//! Times arrive as decimal strings below 2^53, exact as Lua numbers.

use std::sync::LazyLock;

use redis::Script;

use crate::layout::MAX_TTL_SECS;

/// Raise `k` to ARGV[k_arg] and set the TTL from it and `now` (ARGV[now_arg]).
fn keep_until(k_arg: usize, now_arg: usize) -> String {
    format!(
        "
local k = tonumber(redis.call('HGET', KEYS[1], 'k') or '0')
local keep = tonumber(ARGV[{k_arg}])
if keep > k then k = keep; redis.call('HSET', KEYS[1], 'k', ARGV[{k_arg}]) end
local ttl = k - tonumber(ARGV[{now_arg}])
if ttl < 1 then ttl = 1 end
if ttl > {MAX_TTL_SECS} then ttl = {MAX_TTL_SECS} end
redis.call('EXPIRE', KEYS[1], math.floor(ttl))
"
    )
}

/// `put_session`: ARGV = field, entry, expires_at, now. Returns the
/// revocations as they stand after the write: `[nb, ex, d, k]`.
pub(crate) static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
{}
return redis.call('HMGET', KEYS[1], 'nb', 'ex', 'd', 'k')
",
        keep_until(3, 4)
    ))
});

/// `revoke`, all sessions bound at or before a time: ARGV = at, except
/// (hex or empty), keep_until, now. An older time than the stored one
/// changes nothing.
pub(crate) static REVOKE_BEFORE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "
local nb = tonumber(redis.call('HGET', KEYS[1], 'nb') or '0')
if tonumber(ARGV[1]) >= nb then
  redis.call('HSET', KEYS[1], 'nb', ARGV[1])
  if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'ex')
  else redis.call('HSET', KEYS[1], 'ex', ARGV[2]) end
end
{}
return 1
",
        keep_until(3, 4)
    ))
});

/// `revoke`, one session: ARGV = handle (hex), keep_until, now. Lapsed deny
/// entries are dropped on the way.
pub(crate) static REVOKE_ONE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "
local d = redis.call('HGET', KEYS[1], 'd') or ''
local now = tonumber(ARGV[3])
local out = {{}}
for h, u in string.gmatch(d, '(%x+):(%d+)') do
  if h ~= ARGV[1] and tonumber(u) > now then out[#out + 1] = h .. ':' .. u end
end
out[#out + 1] = ARGV[1] .. ':' .. ARGV[2]
redis.call('HSET', KEYS[1], 'd', table.concat(out, ','))
{}
return 1
",
        keep_until(2, 3)
    ))
});

/// Cleanup of one scanned principal key: ARGV = now. Deletes the entries
/// expired at now (and the whole key once everything in it has lapsed);
/// returns how many entries went. A key of another type is left alone.
pub(crate) static PRUNE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if string.sub(f, 1, 2) == 's:' then
    local gone = #v < 8
    if not gone then
      local hi, lo = struct.unpack('>I4I4', v)
      gone = hi * 4294967296 + lo <= now
    end
    if gone then
      redis.call('HDEL', KEYS[1], f)
      n = n + 1
    end
  end
end
local k = tonumber(redis.call('HGET', KEYS[1], 'k') or '0')
if k <= now then redis.call('DEL', KEYS[1]) end
return n
",
    )
});
