//! Listing and revoking a principal's sessions, over the context every
//! request shares (what [`crate::SessionManager`] and [`crate::Session`]
//! both call).

use std::sync::Arc;

use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::session::Context;
use crate::store::SessionStore;

use super::{
    PrincipalHash, PrincipalIndex, Revocation, SessionHandle, SessionInfo, SessionLocation,
};

/// Which of a principal's sessions a revocation ends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope {
    One(SessionHandle),
    AllBut(SessionHandle),
    All,
}

/// The store and its principal index.
///
/// # Errors
/// [`Error::Unsupported`] when there is no store or it keeps no index.
pub(crate) fn index(ctx: &Context) -> Result<(&Arc<dyn SessionStore>, &dyn PrincipalIndex)> {
    let unsupported = || Error::Unsupported {
        what: "a principal index (sessions bound to a principal)",
    };
    let store = ctx.store.as_ref().ok_or_else(unsupported)?;
    let index = store.principal_index().ok_or_else(unsupported)?;
    Ok((store, index))
}

/// The principal's live, unrevoked sessions (one index read).
///
/// # Errors
/// A store error, or [`Error::Unsupported`].
pub(crate) async fn list(
    ctx: &Context,
    principal: &PrincipalHash,
    current: Option<&SessionHandle>,
    now: UnixTime,
) -> Result<Vec<SessionInfo>> {
    let (_, index) = index(ctx)?;
    let state = index.load_principal(principal, now).await?;
    let revocations = state.revocations;
    let mut out: Vec<SessionInfo> = state
        .sessions
        .into_iter()
        .filter(|e| !e.is_expired(now) && !revocations.revokes(&e.handle, e.bound_at))
        .map(|e| SessionInfo {
            current: current == Some(&e.handle),
            handle: e.handle,
            created_at: e.created_at,
            last_active: e.last_active,
            expires_at: e.expires_at,
            location: if e.store_key.is_some() {
                SessionLocation::Store
            } else {
                SessionLocation::Cookie
            },
            description: e.description,
        })
        .collect();
    ctx.revocations.put(principal.raw(), revocations, now);
    out.sort_by(|a, b| {
        b.last_active
            .cmp(&a.last_active)
            .then(a.handle.cmp(&b.handle))
    });
    Ok(out)
}

/// Revoke `scope` of the principal's sessions: record the revocation first
/// (so a session the listing below misses, such as a login racing this
/// call, still finds it when it checks), then delete the stored records and
/// index entries of every session it covers. Returns how many were listed.
///
/// # Errors
/// A store error (the revocation may be partly applied: run it again), or
/// [`Error::Unsupported`].
pub(crate) async fn revoke(
    ctx: &Context,
    principal: &PrincipalHash,
    scope: Scope,
    now: UnixTime,
) -> Result<usize> {
    let (store, index) = index(ctx)?;
    let revocation = match scope {
        Scope::One(handle) => Revocation::One { handle },
        Scope::AllBut(keep) => Revocation::AllBefore {
            at: now,
            except: Some(keep),
        },
        Scope::All => Revocation::AllBefore {
            at: now,
            except: None,
        },
    };
    // No session bound before now outlives its absolute timeout from now.
    let keep_until = now.saturating_add(ctx.config.absolute_timeout.as_secs());
    index
        .revoke(principal, &revocation, keep_until, now)
        .await?;
    ctx.revocations.forget(principal.raw());
    let state = index.load_principal(principal, now).await?;
    let mut ended = 0;
    for entry in &state.sessions {
        if !state.revocations.revokes(&entry.handle, entry.bound_at) {
            continue;
        }
        if let Some(key) = &entry.store_key {
            store.delete(key, now).await?;
        }
        index.remove_session(principal, &entry.handle, now).await?;
        if !entry.is_expired(now) {
            ended += 1;
        }
    }
    ctx.revocations.put(principal.raw(), state.revocations, now);
    tracing::info!(principal = %principal, ended, "sessions revoked");
    Ok(ended)
}
