//! [`CaseError`]: why a case did not pass.

use std::fmt;

/// Why a case did not pass.
#[derive(Debug)]
#[non_exhaustive]
pub enum CaseError {
    /// A clause of the contract does not hold; the message says which and how.
    Violation(String),
    /// A store call failed where the contract expects it to succeed.
    Store {
        /// What the case was doing.
        during: String,
        /// What the store returned.
        source: tiered_sessions::Error,
    },
    /// The driver (or its fixture) cannot run this case; reported *ignored*.
    Unsupported(String),
}

impl CaseError {
    /// A contract violation with this message.
    pub fn violation(message: impl Into<String>) -> Self {
        CaseError::Violation(message.into())
    }

    /// A case this driver cannot run, with the reason.
    pub fn unsupported(reason: impl Into<String>) -> Self {
        CaseError::Unsupported(reason.into())
    }

    /// A hook the fixture lacks, named by the [`crate::Fixture`] builder
    /// method that sets it. On a tiered fixture this is a failure under
    /// `CI=true`, like a missing service (a case that never runs proves
    /// nothing); otherwise the case is ignored with the reason.
    pub(crate) fn missing_hook(fx: &crate::Fixture, method: &str, what: &str) -> Self {
        let reason = format!("the fixture has no {what}: call Fixture::{method}");
        if fx.tiers.is_some() && crate::in_ci() {
            CaseError::Violation(format!("CI=true and {reason}"))
        } else {
            CaseError::Unsupported(reason)
        }
    }

    /// The same error with `prefix` in front of what it says (where and how).
    pub fn context(self, prefix: impl fmt::Display) -> Self {
        match self {
            CaseError::Violation(m) => CaseError::Violation(format!("{prefix}: {m}")),
            CaseError::Store { during, source } => CaseError::Store {
                during: format!("{prefix}: {during}"),
                source,
            },
            unsupported @ CaseError::Unsupported(_) => unsupported,
        }
    }

    /// Whether this only says the case does not apply.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, CaseError::Unsupported(_))
    }
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseError::Violation(m) => write!(f, "contract violated: {m}"),
            CaseError::Store { during, source } => {
                write!(f, "unexpected store error while {during}: {source}")?;
                let mut next = std::error::Error::source(source);
                while let Some(cause) = next {
                    write!(f, ": {cause}")?;
                    next = cause.source();
                }
                Ok(())
            }
            CaseError::Unsupported(r) => write!(f, "not supported by this driver: {r}"),
        }
    }
}

impl std::error::Error for CaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaseError::Store { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Turns a store error into a [`CaseError::Store`] that says what the case was doing.
pub(crate) trait During<T> {
    fn during(self, what: impl fmt::Display) -> Result<T, CaseError>;
}

impl<T> During<T> for tiered_sessions::Result<T> {
    fn during(self, what: impl fmt::Display) -> Result<T, CaseError> {
        self.map_err(|source| CaseError::Store {
            during: what.to_string(),
            source,
        })
    }
}

impl<T> During<T> for Result<T, tiered_sessions::CleanupStopped> {
    fn during(self, what: impl fmt::Display) -> Result<T, CaseError> {
        self.map_err(|stopped| stopped.error).during(what)
    }
}

/// Fail the case with a [`CaseError::Violation`] unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::CaseError::Violation(format!($($msg)+)));
        }
    };
}

pub(crate) use ensure;
