//! The Lua scripts behind every conditional cache write: one round trip each,
//! atomic on the server, the same on standalone Redis and on a cluster (each
//! touches one key).
//!
//! A session is one HASH under its key:
//! - a cached record: `v` (version), `r` (the `encode_record` bytes), `e`
//!   (expires_at) and `l` (last_active) — `touch` rewrites only `e` and `l`;
//! - a deletion marker: `x` (until when it blocks refills) and nothing else.
//!
//! Numbers are canonical decimal strings (what Rust's `u64::to_string` gives)
//! and are compared digit by digit, so every u64 compares exactly (Lua numbers
//! are doubles) and no locale is involved.

use std::sync::LazyLock;

use deadpool_redis::redis::Script;

const HELPERS: &str = r"
local function cmp(a, b)
  if #a ~= #b then
    if #a < #b then return -1 end
    return 1
  end
  if a == b then return 0 end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  return 0
end

-- 'marker', 'live' plus the cached version, or nil (nothing, or lapsed at now).
local function state(key, now)
  local f = redis.call('HMGET', key, 'v', 'e', 'x')
  if f[3] then
    if cmp(f[3], now) > 0 then return 'marker' end
    return nil
  end
  if f[1] and f[2] and cmp(f[2], now) > 0 then return 'live', f[1] end
  return nil
end

-- ARGV[2..6] = version, record, expires_at, last_active, ttl
local function write(key)
  redis.call('DEL', key)
  redis.call('HSET', key, 'v', ARGV[2], 'r', ARGV[3], 'e', ARGV[4], 'l', ARGV[5])
  redis.call('EXPIRE', key, ARGV[6])
end
";

/// `put_if_newer`: ARGV = now, version, record, expires_at, last_active, ttl.
/// Returns 1 if written, 0 if skipped (marker, or same or newer version cached).
pub(crate) static PUT_IF_NEWER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{HELPERS}
local s, v = state(KEYS[1], ARGV[1])
if s == 'marker' then return 0 end
if s == 'live' and cmp(v, ARGV[2]) >= 0 then return 0 end
write(KEYS[1])
return 1
"
    ))
});

/// `compare_and_swap`: ARGV = now, version, record, expires_at, last_active,
/// ttl, expected. Returns 1 swapped, 0 missing, 2 conflict.
pub(crate) static COMPARE_AND_SWAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{HELPERS}
local s, v = state(KEYS[1], ARGV[1])
if s ~= 'live' then return 0 end
if v ~= ARGV[7] then return 2 end
write(KEYS[1])
return 1
"
    ))
});

/// `invalidate_unless_newer`: ARGV = expected. Returns 1 if the entry is gone
/// (or was a marker, which stays), 0 if the cached record is newer.
pub(crate) static INVALIDATE_UNLESS_NEWER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{HELPERS}
local f = redis.call('HMGET', KEYS[1], 'v', 'x')
if f[2] or not f[1] then return 1 end
if cmp(f[1], ARGV[1]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
return 1
"
    ))
});

/// `delete`: ARGV = marker until (UNIX seconds), marker ttl.
pub(crate) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'x', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
",
    )
});

/// `touch`: ARGV = now, expires_at, last_active, ttl. Returns 1 if touched,
/// 0 if nothing live was cached.
pub(crate) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{HELPERS}
local s = state(KEYS[1], ARGV[1])
if s ~= 'live' then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[2], 'l', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"
    ))
});
