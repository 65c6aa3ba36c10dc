//! The Lua scripts behind every conditional cache write: one round trip each,
//! atomic on the server, the same on standalone Redis and on a cluster (each
//! touches one key).
//!
//! A session is one STRING under its key, one of:
//! - a cached record: exactly what [`crate::RedisStore`] stores (see
//!   `store_value`), a 32-byte header (version, expiry, last activity,
//!   creation, each a big-endian u64) then the data — `touch` rewrites only
//!   bytes 8..24;
//! - a deletion marker, 9 bytes: `x` then until when it blocks refills (UNIX
//!   seconds, big-endian u64);
//! - a version floor, 9 bytes: `f` then the floor (big-endian u64), left by
//!   `invalidate_unless_newer` before a durable save of that version. A
//!   refill older than the floor — from a reader that read the durable tier
//!   before that save — is refused, so the cache never goes back behind a
//!   version a client was already told about. It lives a short while (the
//!   save's refill replaces it).
//!
//! The scripts tell them apart by `GETRANGE key 0 15`: 16 bytes for a record
//! (version and expiry), 9 for a marker or a floor. Anything else — no key, a
//! shorter string, an unknown tag, or a key of another type (`WRONGTYPE`, read
//! with `redis.pcall`: a HASH left by this crate's earlier layout) — counts as
//! absent, and a write replaces it (`SET`, which also replaces a key of
//! another type). Any other failure of that read (an ACL without `GETRANGE`)
//! fails the script.
//!
//! A marker or a floor counts only while the key has a TTL (a floor: at most
//! [`FLOOR_SECS`]), so one planted without a TTL, or left by a bug, can never
//! block refills of a key for ever: it is ignored and written over. `PTTL` is
//! asked only when one is there and would decide the outcome.
//!
//! Numbers arrive as 8-byte big-endian strings (several in one argument when a
//! script needs them together) and are compared as two exact 32-bit halves
//! (`struct.unpack('>I4I4…')`), as in `store_scripts`. Each script is as short
//! as it can be: the server-side cost of a script is mostly its `redis.call`s
//! and the Lua set-up of its arguments, and a durable save through
//! `TieredStore` runs two of them (invalidate, refill).

use std::sync::LazyLock;

use redis::Script;

/// How long a version floor outlives the durable save it guards; that
/// save's own refill normally replaces it within milliseconds.
const FLOOR_SECS: u64 = 30;

/// Length of a deletion marker or a version floor: a tag and a u64.
const TAGGED: usize = 9;

/// A deletion marker blocking refills until `until` (UNIX seconds).
pub(crate) fn marker(until: u64) -> [u8; TAGGED] {
    let mut out = [b'x'; TAGGED];
    out[1..].copy_from_slice(&until.to_be_bytes());
    out
}

/// How many bytes of a value the scripts read (`GETRANGE key 0 15`): a value
/// at least this long is a record to them.
pub(crate) const READ_BY_SCRIPTS: usize = 16;

/// `range(from, to)`: `GETRANGE` of the key, or `''` when the key holds
/// another type (an entry of the earlier HASH layout). Any other error (an
/// ACL that denies `GETRANGE`) is raised, never taken for an empty key: that
/// would let every write through.
const RANGE: &str = r"
local function range(from, to)
  local h = redis.pcall('GETRANGE', KEYS[1], from, to)
  if type(h) ~= 'string' then
    if string.sub(h.err, 1, 9) ~= 'WRONGTYPE' then error(h) end
    return ''
  end
  return h
end
";

/// A script: [`RANGE`], then `body` with the floor's lifetime filled in
/// (`FLOOR_SECS`, `FLOOR_MS`).
fn script(body: &str) -> Script {
    Script::new(&format!(
        "{RANGE}{}",
        body.replace("FLOOR_SECS", &FLOOR_SECS.to_string())
            .replace("FLOOR_MS", &(FLOOR_SECS * 1000).to_string())
    ))
}

/// `put_if_newer`: ARGV = now and version (16 bytes), value, ttl. Returns 1
/// if written, 0 if skipped (a marker, a floor above the version, or the
/// same or a newer version cached and live).
pub(crate) static PUT_IF_NEWER: LazyLock<Script> = LazyLock::new(|| {
    script(
        "
local h = range(0, 15)
if #h == 16 then
  local vh, vl, eh, el, nh, nl, wh, wl = struct.unpack('>I4I4I4I4I4I4I4I4', h .. ARGV[1])
  if (eh > nh or (eh == nh and el > nl)) and (vh > wh or (vh == wh and vl >= wl)) then
    return 0
  end
elseif #h == 9 then
  local t, ah, al, nh, nl, wh, wl = struct.unpack('>c1I4I4I4I4I4I4', h .. ARGV[1])
  if t == 'x' then
    if (ah > nh or (ah == nh and al > nl)) and redis.call('PTTL', KEYS[1]) > 0 then
      return 0
    end
  elseif t == 'f' and (wh < ah or (wh == ah and wl < al)) then
    local ttl = redis.call('PTTL', KEYS[1])
    if ttl > 0 and ttl <= FLOOR_MS then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
",
    )
});

/// `compare_and_swap`: ARGV = now and expected (16 bytes), value, ttl.
/// Returns 1 swapped, 0 no live record (nothing written), 2 another version
/// cached (nothing written).
pub(crate) static COMPARE_AND_SWAP: LazyLock<Script> = LazyLock::new(|| {
    script(
        "
local h = range(0, 15)
if #h ~= 16 then return 0 end
local vh, vl, eh, el, nh, nl, xh, xl = struct.unpack('>I4I4I4I4I4I4I4I4', h .. ARGV[1])
if eh < nh or (eh == nh and el <= nl) then return 0 end
if vh ~= xh or vl ~= xl then return 2 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
",
    )
});

/// `invalidate_unless_newer`: ARGV = expected and the floor (expected + 1),
/// 16 bytes. Returns 0 if the cached record is newer than expected (it stays,
/// whether live or not), else 1: a marker that counts stays, and anything
/// else becomes a floor — the higher of this one and one already there (a
/// floor only rises), for [`FLOOR_SECS`].
pub(crate) static INVALIDATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        "
local h = range(0, 15)
local floor = 'f' .. string.sub(ARGV[1], 9)
if #h == 16 then
  local vh, vl, _, _, xh, xl = struct.unpack('>I4I4I4I4I4I4', h .. ARGV[1])
  if vh > xh or (vh == xh and vl > xl) then return 0 end
elseif #h == 9 then
  local t, ah, al, _, _, fh, fl = struct.unpack('>c1I4I4I4I4I4I4', h .. ARGV[1])
  if t == 'x' then
    if redis.call('PTTL', KEYS[1]) > 0 then return 1 end
  elseif t == 'f' and (ah > fh or (ah == fh and al > fl)) then
    local ttl = redis.call('PTTL', KEYS[1])
    if ttl > 0 and ttl <= FLOOR_MS then floor = h end
  end
end
redis.call('SET', KEYS[1], floor, 'EX', FLOOR_SECS)
return 1
",
    )
});

/// `evict`: no ARGV. A cached record (live or not) becomes a floor at its own
/// version — clients may have read it, so a refill of anything older would
/// take the cache backwards; a marker, a floor or nothing stays as it is.
/// Returns 1.
pub(crate) static EVICT: LazyLock<Script> = LazyLock::new(|| {
    script(
        "
local h = range(0, 15)
if #h ~= 16 then return 1 end
redis.call('SET', KEYS[1], 'f' .. string.sub(h, 1, 8), 'EX', FLOOR_SECS)
return 1
",
    )
});

/// Drop a cached entry found unusable on read (over the size limit, or not a
/// record that decodes, while the scripts would take it for one), unless it
/// was rewritten or touched since: ARGV = its first 32 bytes as read.
/// Returns 1 dropped, 0 kept.
pub(crate) static DROP_UNUSABLE: LazyLock<Script> = LazyLock::new(|| {
    script(
        "
if range(0, 31) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
",
    )
});

/// `touch`: ARGV = now (8 bytes), expires_at and last_active (16 bytes), ttl.
/// Returns 1 touched, 0 if nothing live was cached.
pub(crate) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    script(
        "
local h = range(8, 15)
if #h ~= 8 then return 0 end
local eh, el, nh, nl = struct.unpack('>I4I4I4I4', h .. ARGV[1])
if eh < nh or (eh == nh and el <= nl) then return 0 end
redis.call('SETRANGE', KEYS[1], 8, ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
",
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_its_tag_then_the_time_big_endian() {
        let m = marker(0x0102_0304_0506_0708);
        assert_eq!(m, [b'x', 1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(m.len() < READ_BY_SCRIPTS);
    }
}
