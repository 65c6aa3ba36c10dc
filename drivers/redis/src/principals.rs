//! [`RedisStore`]'s principal index: one HASH per principal (described in
//! `principal_scripts`), so binding a session is one script call, a listing
//! one `HGETALL` and a revocation check one `HMGET`.

use async_trait::async_trait;
use redis::Value;
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Error, IndexEntry, PrincipalHash, PrincipalIndex,
    PrincipalSessions, Result, Revocation, Revocations, SessionHandle, UnixTime,
};

use crate::cleanup::{Sweep, sweep};
use crate::connection::ScriptCall;
use crate::principal_scripts::{PRUNE, PUT, REVOKE_BEFORE, REVOKE_ONE};
use crate::store::RedisStore;

/// What follows the hash tag in a principal's key. Session keys end with the
/// tag, so neither kind of key matches the other's `SCAN` pattern.
pub(crate) const KEY_SUFFIX: &str = ":p";

/// Times sent to the scripts stay below 2^53, exact as Lua numbers.
const MAX_TIME: u64 = (1 << 53) - 1;

fn time(t: UnixTime) -> String {
    t.min(MAX_TIME).to_string()
}

/// The cleanup call for one scanned principal key.
pub(crate) fn prune_call(key: Vec<u8>, now: UnixTime) -> ScriptCall {
    let mut inv = ScriptCall::new(&PRUNE, key);
    inv.arg(time(now));
    inv
}

impl RedisStore {
    /// The Redis key of a principal's hash.
    pub fn principal_key(&self, principal: &PrincipalHash) -> String {
        format!(
            "{}{{{}}}{KEY_SUFFIX}",
            self.key_prefix(),
            principal.as_str()
        )
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn number(field: &str, v: &Value) -> Result<u64> {
    match v {
        Value::Nil => Ok(0),
        _ => text(v)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| Error::codec(format!("principal field `{field}` is not a number"))),
    }
}

/// Revocations from the `nb`, `ex`, `d` and `k` fields, as in force at `now`.
fn revocations(nb: &Value, ex: &Value, d: &Value, k: &Value, now: UnixTime) -> Result<Revocations> {
    if number("k", k)? <= now {
        return Ok(Revocations::default());
    }
    let except = match text(ex) {
        Some(hex) => Some(SessionHandle::parse(&hex)?),
        None => None,
    };
    let mut denied = Vec::new();
    for item in text(d)
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
    {
        let (hex, until) = item
            .split_once(':')
            .ok_or_else(|| Error::codec("malformed principal deny list"))?;
        let until: u64 = until
            .parse()
            .map_err(|_| Error::codec("malformed principal deny list"))?;
        if until > now {
            denied.push((SessionHandle::parse(hex)?, until));
        }
    }
    Ok(Revocations {
        not_before: number("nb", nb)?,
        except,
        denied,
    })
}

fn four(reply: Vec<Value>) -> Result<[Value; 4]> {
    <[Value; 4]>::try_from(reply)
        .map_err(|_| Error::backend("redis", "unexpected principal revocations reply"))
}

#[async_trait]
impl PrincipalIndex for RedisStore {
    async fn put_session(
        &self,
        principal: &PrincipalHash,
        entry: &IndexEntry,
        now: UnixTime,
    ) -> Result<Revocations> {
        let mut inv = ScriptCall::new(&PUT, self.principal_key(principal));
        inv.arg(format!("s:{}", entry.handle.to_text()))
            .arg(entry.to_bytes())
            .arg(time(entry.expires_at))
            .arg(time(now));
        let reply: Vec<Value> = self.connection().script(&inv, true).await?;
        let [nb, ex, d, k] = four(reply)?;
        revocations(&nb, &ex, &d, &k, now)
    }

    async fn load_principal(
        &self,
        principal: &PrincipalHash,
        now: UnixTime,
    ) -> Result<PrincipalSessions> {
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(self.principal_key(principal));
        let fields: Vec<(Vec<u8>, Value)> = self.connection().cmd(&cmd, true).await?;
        let (mut nb, mut ex, mut d, mut k) = (Value::Nil, Value::Nil, Value::Nil, Value::Nil);
        let mut sessions = Vec::new();
        for (field, value) in fields {
            match field.as_slice() {
                b"nb" => nb = value,
                b"ex" => ex = value,
                b"d" => d = value,
                b"k" => k = value,
                f if f.starts_with(b"s:") => {
                    let hex = std::str::from_utf8(&f[2..])
                        .map_err(|_| Error::codec("malformed principal entry name"))?;
                    let Value::BulkString(bytes) = value else {
                        return Err(Error::codec("malformed principal entry"));
                    };
                    let entry = IndexEntry::from_bytes(SessionHandle::parse(hex)?, &bytes)?;
                    if !entry.is_expired(now) {
                        sessions.push(entry);
                    }
                }
                _ => {}
            }
        }
        Ok(PrincipalSessions {
            sessions,
            revocations: revocations(&nb, &ex, &d, &k, now)?,
        })
    }

    async fn revocations(&self, principal: &PrincipalHash, now: UnixTime) -> Result<Revocations> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.principal_key(principal))
            .arg("nb")
            .arg("ex")
            .arg("d")
            .arg("k");
        let reply: Vec<Value> = self.connection().cmd(&cmd, true).await?;
        let [nb, ex, d, k] = four(reply)?;
        revocations(&nb, &ex, &d, &k, now)
    }

    async fn remove_session(
        &self,
        principal: &PrincipalHash,
        handle: &SessionHandle,
        _now: UnixTime,
    ) -> Result<()> {
        let mut cmd = redis::cmd("HDEL");
        cmd.arg(self.principal_key(principal))
            .arg(format!("s:{}", handle.to_text()));
        self.connection().cmd::<i64>(&cmd, true).await.map(drop)
    }

    async fn revoke(
        &self,
        principal: &PrincipalHash,
        revocation: &Revocation,
        keep_until: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let key = self.principal_key(principal);
        let inv = match revocation {
            Revocation::AllBefore { at, except } => {
                let mut inv = ScriptCall::new(&REVOKE_BEFORE, key);
                inv.arg(time(*at))
                    .arg(except.map(|h| h.to_text()).unwrap_or_default())
                    .arg(time(keep_until))
                    .arg(time(now));
                inv
            }
            Revocation::One { handle } => {
                let mut inv = ScriptCall::new(&REVOKE_ONE, key);
                inv.arg(handle.to_text())
                    .arg(time(keep_until))
                    .arg(time(now));
                inv
            }
        };
        self.connection().script::<i64>(&inv, true).await.map(drop)
    }

    async fn delete_expired_index(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        sweep(self, Sweep::Principals, now, max, cursor).await
    }
}
