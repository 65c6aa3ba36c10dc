//! A cron job's cleanup run: the flags and the loop shared by every driver's
//! `cleanup` example (and the command-line tool).

use std::process::ExitCode;

use crate::clock::UnixTime;
use crate::store::{CleanupCursor, SessionStore, SessionStoreExt};

/// What a cleanup run does: `--batch N` (records per batch, default 500) and
/// `--resume CURSOR` (continue a stopped run from the cursor it printed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanupOptions {
    /// Records scanned per batch (at least 1).
    pub batch: usize,
    /// Where to start; `None` for the beginning.
    pub resume: Option<CleanupCursor>,
}

impl Default for CleanupOptions {
    fn default() -> Self {
        CleanupOptions {
            batch: 500,
            resume: None,
        }
    }
}

/// The usage line of a cleanup run.
pub const CLEANUP_USAGE: &str = "usage: cleanup [--batch N] [--resume CURSOR]";

impl CleanupOptions {
    /// Parse command-line arguments (without the program name).
    ///
    /// # Errors
    /// A message naming the bad argument, for a usage error (exit code 2).
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut options = CleanupOptions::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match (arg.as_str(), args.next()) {
                ("--batch", Some(n)) => match n.parse() {
                    Ok(n) if n > 0 => options.batch = n,
                    _ => return Err(format!("--batch takes a whole number above 0, not {n:?}")),
                },
                ("--resume", Some(c)) if !c.is_empty() => {
                    options.resume = Some(CleanupCursor(c));
                }
                (other, _) => return Err(format!("unexpected argument {other:?}")),
            }
        }
        Ok(options)
    }

    /// Run the cleanup against `store` at `now` (one instant for the whole
    /// run: a record that expires meanwhile waits for the next run), printing
    /// the count, and on an error the cursor to resume from. Exit code 0 on
    /// success, 1 on a store error.
    pub async fn run(&self, store: &dyn SessionStore, now: UnixTime) -> ExitCode {
        match store
            .delete_all_expired(now, self.batch, self.resume.clone())
            .await
        {
            Ok(deleted) => {
                println!("deleted {deleted} expired sessions");
                ExitCode::SUCCESS
            }
            Err(stopped) => {
                let source = std::error::Error::source(&stopped.error).map(ToString::to_string);
                eprintln!("cleanup: {} ({})", stopped, source.unwrap_or_default());
                println!(
                    "deleted {} expired sessions before the error",
                    stopped.deleted
                );
                if let Some(CleanupCursor(c)) = &stopped.resume {
                    eprintln!("cleanup: resume with --resume {c}");
                }
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<CleanupOptions, String> {
        CleanupOptions::from_args(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn flags_parse_or_name_the_problem() {
        assert_eq!(parse(&[]).unwrap(), CleanupOptions::default());
        let o = parse(&["--batch", "20", "--resume", "abc"]).unwrap();
        assert_eq!(o.batch, 20);
        assert_eq!(o.resume, Some(CleanupCursor("abc".into())));
        for bad in [
            &["--batch"][..],
            &["--batch", "0"],
            &["--batch", "x"],
            &["-v"],
            &["--resume", ""],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
