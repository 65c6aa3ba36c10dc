//! [`EnvVars`]: settings read from environment-style variables — the one
//! parser behind every driver's `from_env`, so they agree on what a number, a
//! flag or an empty value means.

use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};

/// Variables read through a lookup function: the process environment
/// ([`EnvVars::process`]) or any other source (a test map, a config file).
///
/// A value is trimmed; an empty one counts as unset.
pub struct EnvVars<F> {
    lookup: F,
}

impl EnvVars<fn(&str) -> Option<String>> {
    /// The process environment.
    pub fn process() -> Self {
        fn var(name: &str) -> Option<String> {
            std::env::var(name).ok()
        }
        EnvVars { lookup: var }
    }
}

impl<F: Fn(&str) -> Option<String>> EnvVars<F> {
    /// Variables read through `lookup`.
    pub fn new(lookup: F) -> Self {
        EnvVars { lookup }
    }

    /// The trimmed value of `name`, or `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable and `what` it should hold.
    pub fn require(&self, name: &str, what: &str) -> Result<String> {
        self.get(name)
            .ok_or_else(|| Error::config(format!("set {name} to {what}")))
    }

    /// A flag: `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`, in any case.
    ///
    /// # Errors
    /// [`Error::Config`] for any other value.
    pub fn flag(&self, name: &str) -> Result<Option<bool>> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(Error::config(format!(
                "{name} must be true or false, not {v:?}"
            ))),
        }
    }

    /// A whole number.
    ///
    /// # Errors
    /// [`Error::Config`] when the value is not a whole number in `T`'s range.
    pub fn number<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        v.parse().map(Some).map_err(|_| {
            Error::config(format!("{name} must be a whole number in range, not {v:?}"))
        })
    }

    /// A duration given in whole milliseconds.
    ///
    /// # Errors
    /// As [`EnvVars::number`].
    pub fn millis(&self, name: &str) -> Result<Option<Duration>> {
        Ok(self.number::<u64>(name)?.map(Duration::from_millis))
    }

    /// A comma-separated list; empty items are dropped.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        let items: Vec<String> = self
            .get(name)?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        (!items.is_empty()).then_some(items)
    }
}

impl<F> std::fmt::Debug for EnvVars<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvVars")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(
        pairs: &'static [(&'static str, &'static str)],
    ) -> EnvVars<impl Fn(&str) -> Option<String>> {
        EnvVars::new(move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn one_meaning_for_empty_flags_numbers_and_lists() {
        let e = vars(&[
            ("EMPTY", "  "),
            ("YES", " True "),
            ("NO", "OFF"),
            ("BAD", "maybe"),
            ("N", " 42 "),
            ("NEG", "-1"),
            ("MS", "250"),
            ("BIG", "300"),
            ("LIST", "a, b,,c ,"),
        ]);
        assert_eq!(e.get("EMPTY"), None);
        assert_eq!(e.get("UNSET"), None);
        assert_eq!(e.flag("YES").unwrap(), Some(true));
        assert_eq!(e.flag("NO").unwrap(), Some(false));
        assert_eq!(e.flag("EMPTY").unwrap(), None);
        assert!(matches!(e.flag("BAD"), Err(Error::Config { .. })));
        assert_eq!(e.number::<u32>("N").unwrap(), Some(42));
        assert!(matches!(e.number::<u32>("NEG"), Err(Error::Config { .. })));
        assert!(matches!(e.number::<u8>("BIG"), Err(Error::Config { .. })));
        assert_eq!(e.millis("MS").unwrap(), Some(Duration::from_millis(250)));
        assert_eq!(e.list("LIST").unwrap(), ["a", "b", "c"]);
        assert_eq!(e.list("EMPTY"), None);
        let missing = e.require("UNSET", "a URL").unwrap_err().to_string();
        assert!(
            missing.contains("UNSET") && missing.contains("a URL"),
            "{missing}"
        );
    }
}
