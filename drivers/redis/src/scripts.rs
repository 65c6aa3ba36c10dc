//! The Lua scripts behind every conditional cache write: one round trip each,
//! atomic on the server, the same on standalone Redis and on a cluster (each
//! touches one key).
//!
//! A session is one HASH under its key:
//! - a cached record: `v` (version), `r` (the `encode_record` bytes), `e`
//!   (expires_at) and `l` (last_active) — `touch` rewrites only `e` and `l`;
//! - a deletion marker: `x` (until when it blocks refills) and nothing else;
//! - a version floor: `f` and nothing else, left by `invalidate_unless_newer`
//!   before a durable save of version `f`. A refill older than `f` — from a
//!   reader that read the durable tier before that save — is refused, so the
//!   cache never goes back behind a version a client was already told about.
//!   It lives a short while (the save's refill replaces it).
//!
//! A marker or a floor counts only while the key has a TTL (a floor: at most
//! [`FLOOR_SECS`]), so one planted without a TTL, or left by a bug, can never
//! block refills of a key for ever: it is ignored and written over.
//!
//! Numbers are canonical decimal strings (what Rust's `u64::to_string` gives)
//! and are compared digit by digit, so every u64 compares exactly (Lua numbers
//! are doubles) and no locale is involved.

use std::sync::LazyLock;

use redis::Script;

/// How long a version floor outlives the durable save it guards; that
/// save's own refill normally replaces it within milliseconds.
pub(crate) const FLOOR_SECS: u64 = 30;

/// A script: the helpers, then `body`, with the floor lifetime filled in.
fn with_helpers(body: &str) -> Script {
    Script::new(
        &format!("{CMP}{HELPERS}{body}").replace("FLOOR_MS", &(FLOOR_SECS * 1000).to_string()),
    )
}

/// `cmp(a, b)`: -1, 0 or 1 for two canonical decimal strings, exact for every
/// u64.
pub(crate) const CMP: &str = r"
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
";

const HELPERS: &str = r"
-- Whether a marker or floor on key counts: it must expire (a floor within
-- FLOOR_MS ms). PTTL is only asked when one is there.
local function expiring(key, max_ms)
  local ttl = redis.call('PTTL', key)
  return ttl > 0 and (max_ms == nil or ttl <= max_ms)
end

-- 'marker'; 'floor' plus the floor; 'live' plus the cached version; or nil
-- (nothing, lapsed at now, or a marker or floor that would never expire).
local function state(key, now)
  local f = redis.call('HMGET', key, 'v', 'e', 'x', 'f')
  if f[3] then
    if cmp(f[3], now) > 0 and expiring(key) then return 'marker' end
    return nil
  end
  if f[4] then
    if expiring(key, FLOOR_MS) then return 'floor', f[4] end
    return nil
  end
  if f[1] and f[2] and cmp(f[2], now) > 0 then return 'live', f[1] end
  return nil
end

-- ARGV[2..6] = version, record, expires_at, last_active, ttl. A record
-- always has the same four fields, so HSET overwrites a live one; anything
-- else (a lapsed marker, a floor, an expired record) goes first.
local function write(key, over_live)
  if not over_live then redis.call('DEL', key) end
  redis.call('HSET', key, 'v', ARGV[2], 'r', ARGV[3], 'e', ARGV[4], 'l', ARGV[5])
  redis.call('EXPIRE', key, ARGV[6])
end
";

/// `put_if_newer`: ARGV = now, version, record, expires_at, last_active, ttl.
/// Returns 1 if written, 0 if skipped (marker, a floor above the version, or
/// the same or a newer version cached).
pub(crate) static PUT_IF_NEWER: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        "
local s, v = state(KEYS[1], ARGV[1])
if s == 'marker' then return 0 end
if s == 'floor' and cmp(ARGV[2], v) < 0 then return 0 end
if s == 'live' and cmp(v, ARGV[2]) >= 0 then return 0 end
write(KEYS[1], s == 'live')
return 1
",
    )
});

/// `compare_and_swap`: ARGV = now, version, record, expires_at, last_active,
/// ttl, expected. Returns 1 swapped, 0 missing, 2 conflict.
pub(crate) static COMPARE_AND_SWAP: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        "
local s, v = state(KEYS[1], ARGV[1])
if s ~= 'live' then return 0 end
if v ~= ARGV[7] then return 2 end
write(KEYS[1], true)
return 1
",
    )
});

/// `invalidate` and `evict`: ARGV = the version above which the record stays,
/// the floor (expected + 1, or empty for the dropped record's own version:
/// clients may have read it, so a refill of anything older would take the
/// cache backwards), floor ttl. Returns 1 if the record is gone (a marker
/// stays, a floor only rises), 0 if the cached record is newer.
pub(crate) static INVALIDATE: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        "
local f = redis.call('HMGET', KEYS[1], 'v', 'x', 'f')
if f[2] and expiring(KEYS[1]) then return 1 end
if f[1] and cmp(f[1], ARGV[1]) > 0 then return 0 end
local floor = ARGV[2]
if floor == '' then
  if not f[1] then return 1 end
  floor = f[1]
end
if f[3] and cmp(f[3], floor) > 0 and expiring(KEYS[1], FLOOR_MS) then floor = f[3] end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'f', floor)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
",
    )
});

/// Drop a cached entry found unusable on read (its `v` field disagrees with
/// the record it holds, or the record is over the size limit), unless it was
/// rewritten since: ARGV = the `v` field as read (empty if it had none).
pub(crate) static DROP_UNUSABLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
",
    )
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
    with_helpers(
        "
local s = state(KEYS[1], ARGV[1])
if s ~= 'live' then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[2], 'l', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
",
    )
});
