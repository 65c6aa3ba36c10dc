//! Comparisons with messages that say what differs.

use tiered_sessions::{Durability, Error, Record, SessionStore, StoreKey, UnixTime};

use crate::case_error::{CaseError, During, ensure};

/// `got` must be exactly `want` (or both absent).
pub(crate) fn same(
    got: Option<&Record>,
    want: Option<&Record>,
    what: &str,
) -> Result<(), CaseError> {
    match (got, want) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(CaseError::violation(format!(
            "{what}: expected no record, got {got:?}"
        ))),
        (None, Some(w)) => Err(CaseError::violation(format!(
            "{what}: expected {w:?}, got no record"
        ))),
        (Some(g), Some(w)) => {
            let mut diffs = Vec::new();
            if g.version != w.version {
                diffs.push(format!("version {} (want {})", g.version, w.version));
            }
            if g.expires_at != w.expires_at {
                diffs.push(format!(
                    "expires_at {} (want {})",
                    g.expires_at, w.expires_at
                ));
            }
            if g.created_at != w.created_at {
                diffs.push(format!(
                    "created_at {} (want {})",
                    g.created_at, w.created_at
                ));
            }
            if g.last_active != w.last_active {
                diffs.push(format!(
                    "last_active {} (want {})",
                    g.last_active, w.last_active
                ));
            }
            if g.data != w.data {
                let keys: Vec<_> = g
                    .data
                    .keys()
                    .chain(w.data.keys())
                    .filter(|k| g.data.get(k) != w.data.get(k))
                    .collect();
                diffs.push(format!("data differs under {keys:?}"));
            }
            ensure!(diffs.is_empty(), "{what}: {}", diffs.join(", "));
            Ok(())
        }
    }
}

/// A call that must fail with the error `pattern` names.
macro_rules! expect_err {
    ($result:expr, $pattern:pat, $($what:tt)+) => {
        match $result {
            Err($pattern) => {}
            Err(other) => {
                return Err($crate::CaseError::violation(format!(
                    "{}: expected {}, got the error {other:?}",
                    format!($($what)+),
                    stringify!($pattern)
                )))
            }
            Ok(value) => {
                return Err($crate::CaseError::violation(format!(
                    "{}: expected {}, got Ok({value:?})",
                    format!($($what)+),
                    stringify!($pattern)
                )))
            }
        }
    };
}

pub(crate) use expect_err;

/// Whether `e` is a typed "try again later" error (the backend is down or slow).
pub(crate) fn is_outage(e: &Error) -> bool {
    matches!(e, Error::Unavailable { .. } | Error::Timeout { .. })
}

/// Key `k` holds no live record at `now` (unknown, deleted or expired): saves
/// of `late` (both durabilities, expecting its previous version or a stale 0)
/// and a touch fail with `NotFound` — never `Conflict`, since an expired
/// record has no version to conflict with — and a load still finds nothing.
pub(crate) async fn expect_gone(
    s: &dyn SessionStore,
    k: &StoreKey,
    late: &Record,
    now: UnixTime,
    what: &str,
) -> Result<(), CaseError> {
    for expected in [0, late.version - 1] {
        for durability in [Durability::Quick, Durability::Durable] {
            expect_err!(
                s.save(k, late, expected, durability, now).await,
                Error::NotFound,
                "{durability:?} save of {what} expecting version {expected}"
            );
        }
    }
    expect_err!(
        s.touch(k, now + 900, now, now).await,
        Error::NotFound,
        "touch of {what}"
    );
    expect_err!(
        s.delete_unless_newer(k, late.version, now).await,
        Error::NotFound,
        "conditional delete of {what}"
    );
    let got = s
        .load(k, now)
        .await
        .during(format!("loading {what} after late writes"))?;
    same(got.as_ref(), None, &format!("{what} after late writes"))
}
