//! The Lua scripts behind every conditional write of [`crate::RedisStore`]:
//! one round trip each, atomic on the server, the same on standalone Redis and
//! on a cluster (each touches one key).
//!
//! A record is the HASH described in `layout`: `v`, `r`, `e`, `l`. It is
//! *live* at the caller's `now` when it has a version and `e > now`; a key
//! Redis has not expired yet but whose `e` has passed counts as absent. Unlike
//! the cache, the store keeps no markers or floors: a deleted key is gone.
//! Versions and times are compared with `CMP` (exact for every u64).

use std::sync::LazyLock;

use redis::Script;

use crate::scripts::CMP;

fn with_cmp(body: &str) -> Script {
    Script::new(&format!("{CMP}{LIVE}{body}"))
}

const LIVE: &str = r"
-- The stored version if a live record is under key at now, else nil.
local function live(key, now)
  local f = redis.call('HMGET', key, 'v', 'e')
  if f[1] and f[2] and cmp(f[2], now) > 0 then return f[1] end
  return nil
end
";

/// `create`: ARGV = now, version, record, expires_at, last_active, ttl.
/// Returns 1 created, 0 when a live record holds the key (nothing changed).
/// An expired record, or anything else under the key, is replaced.
pub(crate) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    with_cmp(
        "
if live(KEYS[1], ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3], 'e', ARGV[4], 'l', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 1
",
    )
});

/// `save`: ARGV = now, version, record, expires_at, last_active, ttl,
/// expected. Returns 1 saved, 0 no live record, 2 the stored version is newer
/// than expected (nothing changed).
pub(crate) static SAVE: LazyLock<Script> = LazyLock::new(|| {
    with_cmp(
        "
local v = live(KEYS[1], ARGV[1])
if not v then return 0 end
if cmp(v, ARGV[7]) > 0 then return 2 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3], 'e', ARGV[4], 'l', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 1
",
    )
});

/// `delete_unless_newer`: ARGV = now, expected. Returns 1 deleted, 0 no live
/// record, 2 the stored version is newer (nothing deleted).
pub(crate) static DELETE_UNLESS_NEWER: LazyLock<Script> = LazyLock::new(|| {
    with_cmp(
        "
local v = live(KEYS[1], ARGV[1])
if not v then return 0 end
if cmp(v, ARGV[2]) > 0 then return 2 end
redis.call('DEL', KEYS[1])
return 1
",
    )
});

/// `touch`: ARGV = now, expires_at, last_active, ttl. Returns 1 touched, 0 no
/// live record.
pub(crate) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    with_cmp(
        "
if not live(KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[2], 'l', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
",
    )
});

/// Cleanup of one scanned key: ARGV = now. Deletes the key only if it is a
/// record (a HASH with `v` and `e`) expired at now, checked and deleted
/// atomically so a record touched or re-created meanwhile stays. Returns 1
/// deleted, 0 kept (live, or not a session record).
pub(crate) static DELETE_IF_EXPIRED: LazyLock<Script> = LazyLock::new(|| {
    with_cmp(
        "
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local f = redis.call('HMGET', KEYS[1], 'v', 'e')
if not (f[1] and f[2]) or cmp(f[2], ARGV[1]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
return 1
",
    )
});
