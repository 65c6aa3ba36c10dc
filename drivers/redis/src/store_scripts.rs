//! The Lua scripts behind the conditional writes of [`crate::RedisStore`]:
//! one round trip each, atomic on the server, the same on standalone Redis and
//! on a cluster (each touches one key).
//!
//! A record is the STRING described in `store_value`. It is *live* at the
//! caller's `now` when its expiry (bytes 8..16) is above `now`; a key Redis
//! has not expired yet but whose expiry has passed counts as absent. A string
//! too short to hold a version and an expiry counts as absent too; a key of
//! another type fails the script (`WRONGTYPE`), so nothing else is ever
//! overwritten. Unlike the cache, the store keeps no markers or floors: a
//! deleted key is gone.
//!
//! Numbers arrive as 8-byte big-endian strings (several in one argument when
//! a script needs them together) and are compared as two exact 32-bit halves
//! (see `store_value`). Each script is as short as it can be: the server-side
//! cost of a script is mostly its `redis.call`s and the Lua set-up of its
//! arguments, and the save runs on every changed request.

use std::sync::LazyLock;

use redis::Script;

/// `create` after `SET NX` found a key: ARGV = now, value, ttl. Returns 1
/// created, 0 when a live record holds the key (nothing changed).
pub(crate) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
local h = redis.call('GETRANGE', KEYS[1], 8, 15)
if #h == 8 then
  local eh, el, nh, nl = struct.unpack('>I4I4I4I4', h .. ARGV[1])
  if eh > nh or (eh == nh and el > nl) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
",
    )
});

/// `save`: ARGV = now and expected (16 bytes), value, ttl. Returns 1 saved,
/// 0 no live record, 2 the stored version is newer than expected (nothing
/// changed).
pub(crate) static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
local h = redis.call('GETRANGE', KEYS[1], 0, 15)
if #h < 16 then return 0 end
local vh, vl, eh, el, nh, nl, xh, xl = struct.unpack('>I4I4I4I4I4I4I4I4', h .. ARGV[1])
if eh < nh or (eh == nh and el <= nl) then return 0 end
if vh > xh or (vh == xh and vl > xl) then return 2 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
",
    )
});

/// `delete_unless_newer`: ARGV = now and expected (16 bytes). Returns 1
/// deleted, 0 no live record, 2 the stored version is newer (nothing deleted).
pub(crate) static DELETE_UNLESS_NEWER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
local h = redis.call('GETRANGE', KEYS[1], 0, 15)
if #h < 16 then return 0 end
local vh, vl, eh, el, nh, nl, xh, xl = struct.unpack('>I4I4I4I4I4I4I4I4', h .. ARGV[1])
if eh < nh or (eh == nh and el <= nl) then return 0 end
if vh > xh or (vh == xh and vl > xl) then return 2 end
redis.call('DEL', KEYS[1])
return 1
",
    )
});

/// `touch`: ARGV = now, expires_at and last_active (16 bytes), ttl. Returns
/// 1 touched, 0 no live record.
pub(crate) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
local h = redis.call('GETRANGE', KEYS[1], 8, 15)
if #h < 8 then return 0 end
local eh, el, nh, nl = struct.unpack('>I4I4I4I4', h .. ARGV[1])
if eh < nh or (eh == nh and el <= nl) then return 0 end
redis.call('SETRANGE', KEYS[1], 8, ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
",
    )
});

/// Cleanup of one scanned key: ARGV = now. Deletes the key only if it is a
/// record (a STRING holding at least a version and an expiry) expired at now,
/// checked and deleted atomically so a record touched or re-created meanwhile
/// stays. Returns 1 deleted, 0 kept (live, or not a session record).
pub(crate) static DELETE_IF_EXPIRED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
if redis.call('TYPE', KEYS[1]).ok ~= 'string' then return 0 end
local h = redis.call('GETRANGE', KEYS[1], 8, 15)
if #h < 8 then return 0 end
local eh, el, nh, nl = struct.unpack('>I4I4I4I4', h .. ARGV[1])
if eh > nh or (eh == nh and el > nl) then return 0 end
redis.call('DEL', KEYS[1])
return 1
",
    )
});
