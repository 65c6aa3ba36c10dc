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
        self.get(name)
            .map(|v| bool::parse_env(name, &v))
            .transpose()
    }

    /// A whole number.
    ///
    /// # Errors
    /// [`Error::Config`] when the value is not a whole number in `T`'s range.
    pub fn number<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        self.get(name).map(|v| whole_number(name, &v)).transpose()
    }

    /// A duration given in whole milliseconds.
    ///
    /// # Errors
    /// As [`EnvVars::number`].
    pub fn millis(&self, name: &str) -> Result<Option<Duration>> {
        Ok(self.number::<u64>(name)?.map(Duration::from_millis))
    }

    /// Overwrite `target` with the variable's value when it is set (a value
    /// read as [`EnvValue`] says: a flag, a whole number, milliseconds or
    /// text); leave it as it is when unset or empty.
    ///
    /// # Errors
    /// [`Error::Config`] when the value does not parse.
    pub fn read_into<T: EnvValue>(&self, name: &str, target: &mut T) -> Result<()> {
        if let Some(raw) = self.get(name) {
            *target = T::parse_env(name, &raw)?;
        }
        Ok(())
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

/// Settings built from environment-style variables: implement
/// [`FromEnv::from_vars`], and [`FromEnv::from_env`] (the process
/// environment) and [`FromEnv::from_lookup`] (any source: a test map, a
/// config file) come with it. Every builder of this workspace implements it.
pub trait FromEnv: Sized {
    /// Settings from `vars`.
    ///
    /// # Errors
    /// [`Error::Config`] when a required variable is missing or a value does
    /// not parse.
    fn from_vars<F: Fn(&str) -> Option<String>>(vars: &EnvVars<F>) -> Result<Self>;

    /// Settings from the process environment.
    ///
    /// # Errors
    /// As [`FromEnv::from_vars`].
    fn from_env() -> Result<Self> {
        Self::from_vars(&EnvVars::process())
    }

    /// Settings from variables read through `lookup`.
    ///
    /// # Errors
    /// As [`FromEnv::from_vars`].
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        Self::from_vars(&EnvVars::new(lookup))
    }
}

/// A type a variable is read into by [`EnvVars::read_into`].
pub trait EnvValue: Sized {
    /// Parse `raw` (trimmed, not empty), the value of variable `name`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable and what it must hold.
    fn parse_env(name: &str, raw: &str) -> Result<Self>;
}

fn whole_number<T: FromStr>(name: &str, raw: &str) -> Result<T> {
    raw.parse().map_err(|_| {
        Error::config(format!(
            "{name} must be a whole number in range, not {raw:?}"
        ))
    })
}

/// `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`, in any case.
impl EnvValue for bool {
    fn parse_env(name: &str, raw: &str) -> Result<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(Error::config(format!(
                "{name} must be true or false, not {raw:?}"
            ))),
        }
    }
}

/// Whole milliseconds.
impl EnvValue for Duration {
    fn parse_env(name: &str, raw: &str) -> Result<Self> {
        whole_number(name, raw).map(Duration::from_millis)
    }
}

/// The text as given (trimmed).
impl EnvValue for String {
    fn parse_env(_name: &str, raw: &str) -> Result<Self> {
        Ok(raw.to_owned())
    }
}

macro_rules! whole_numbers {
    ($($t:ty),*) => {$(
        /// A whole number in the type's range.
        impl EnvValue for $t {
            fn parse_env(name: &str, raw: &str) -> Result<Self> {
                whole_number(name, raw)
            }
        }
    )*};
}
whole_numbers!(u16, u32, u64, usize);

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
        let (mut on, mut n, mut ms) = (false, 7u32, Duration::ZERO);
        e.read_into("YES", &mut on).unwrap();
        e.read_into("UNSET", &mut n).unwrap();
        e.read_into("MS", &mut ms).unwrap();
        assert!(on);
        assert_eq!((n, ms), (7, Duration::from_millis(250)));
        assert!(matches!(
            e.read_into("BAD", &mut on),
            Err(Error::Config { .. })
        ));
        assert!(on, "a failed read leaves the value");
        let missing = e.require("UNSET", "a URL").unwrap_err().to_string();
        assert!(
            missing.contains("UNSET") && missing.contains("a URL"),
            "{missing}"
        );
    }
}
