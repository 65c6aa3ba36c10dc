//! [`MongoStoreBuilder`]: where the durable tier connects and how it behaves.

use std::fmt;
use std::time::Duration;

use mongodb::Client;
use mongodb::options::ClientOptions;
use tiered_sessions::{EnvVars, Error, FromEnv, Result};

use crate::document::MAX_RECORD_BYTES;
use crate::error;
use crate::store::MongoStore;

/// Environment variables read by [`MongoStoreBuilder::from_env`].
pub mod env {
    /// The connection string (required), e.g.
    /// `mongodb://user:pass@db1,db2,db3/?replicaSet=rs0&authSource=admin`.
    pub const URI: &str = "TIERED_SESSIONS_MONGODB_URI";
    /// The database (default: the one in the URI's path, else `sessions`).
    pub const DATABASE: &str = "TIERED_SESSIONS_MONGODB_DATABASE";
    /// The collection (default `sessions`).
    pub const COLLECTION: &str = "TIERED_SESSIONS_MONGODB_COLLECTION";
    /// Server selection and connect deadline in milliseconds (default 2000).
    pub const CONNECT_TIMEOUT_MS: &str = "TIERED_SESSIONS_MONGODB_CONNECT_TIMEOUT_MS";
    /// Deadline of one store operation in milliseconds (default 5000).
    pub const TIMEOUT_MS: &str = "TIERED_SESSIONS_MONGODB_TIMEOUT_MS";
    /// Largest record stored, in encoded bytes (default and ceiling
    /// [`crate::MAX_RECORD_BYTES`], 16 MiB less 4 KiB).
    pub const MAX_RECORD_BYTES: &str = "TIERED_SESSIONS_MONGODB_MAX_RECORD_BYTES";
    /// Create the TTL index when the store is built: `true` or `false`
    /// (default `true`: idempotent, and cheap once the index exists; turn it
    /// off when the database user may not create indexes).
    pub const ENSURE_INDEXES: &str = "TIERED_SESSIONS_MONGODB_ENSURE_INDEXES";
    /// When the index is not created at start-up, check that MongoDB answers
    /// and the index is there: `true` or `false` (default `true`; turn it off
    /// for an app that must start while MongoDB is down).
    pub const CHECK_AT_START: &str = "TIERED_SESSIONS_MONGODB_CHECK_AT_START";
}

/// A connection string, which may hold a password: `Debug` hides it.
#[derive(Clone)]
struct Uri(String);

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Default database when neither the builder nor the URI names one.
pub const DEFAULT_DATABASE: &str = "sessions";
/// Default collection.
pub const DEFAULT_COLLECTION: &str = "sessions";
/// Default for finding a server and for opening a connection to it. The
/// driver's own default is 30 s, which would hold every request of an outage
/// for half a minute.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default deadline for one store operation, server selection included.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// Builds a [`MongoStore`]: URI, database, collection, deadlines, size limit.
/// Start with [`MongoStore::builder`], [`MongoStoreBuilder::new`] or
/// [`MongoStoreBuilder::from_env`].
///
/// `Debug` does not show the URI, which may hold a password.
#[derive(Clone, Debug)]
pub struct MongoStoreBuilder {
    uri: Uri,
    database: Option<String>,
    collection: String,
    connect_timeout: Duration,
    operation_timeout: Duration,
    max_record_bytes: usize,
    app_name: Option<String>,
    ensure_indexes: bool,
    check_at_start: bool,
}

impl MongoStoreBuilder {
    /// Settings for a store at `uri` (`mongodb://…`, or `mongodb+srv://…` with
    /// the `dns-srv` feature), with every default.
    pub fn new(uri: impl Into<String>) -> Self {
        MongoStoreBuilder {
            uri: Uri(uri.into()),
            database: None,
            collection: DEFAULT_COLLECTION.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            max_record_bytes: MAX_RECORD_BYTES,
            app_name: None,
            ensure_indexes: true,
            check_at_start: true,
        }
    }

    /// The database (default: the one named in the URI's path, else
    /// [`DEFAULT_DATABASE`]).
    pub fn database(mut self, name: impl Into<String>) -> Self {
        self.database = Some(name.into());
        self
    }

    /// The collection (default [`DEFAULT_COLLECTION`]).
    pub fn collection(mut self, name: impl Into<String>) -> Self {
        self.collection = name.into();
        self
    }

    /// How long to look for a usable server and to open a connection (default
    /// [`DEFAULT_CONNECT_TIMEOUT`]); past it a request fails with
    /// [`Error::Unavailable`]. Overrides `serverSelectionTimeoutMS` and
    /// `connectTimeoutMS` in the URI.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline for one whole store call (default
    /// [`DEFAULT_OPERATION_TIMEOUT`]); past it the call fails with
    /// [`Error::Timeout`]. Also the write concern's `wtimeout`.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The largest record accepted, measured as
    /// `tiered_sessions::codec::record_len(record)` (default and maximum:
    /// [`MAX_RECORD_BYTES`], which keeps the document within MongoDB's 16 MiB;
    /// above it [`MongoStoreBuilder::build`] fails). Larger records fail with
    /// [`Error::TooLarge`] before anything is sent.
    pub fn max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = limit;
        self
    }

    /// Run [`MongoStore::ensure_indexes`] in [`MongoStoreBuilder::build`]
    /// (default true).
    pub fn ensure_indexes(mut self, yes: bool) -> Self {
        self.ensure_indexes = yes;
        self
    }

    /// When the index is not created at start-up, run
    /// [`MongoStore::check_indexes`] in [`MongoStoreBuilder::build`] (default
    /// true). With both off, nothing is sent until the first request — for an
    /// app that must start while MongoDB is down.
    pub fn check_at_start(mut self, yes: bool) -> Self {
        self.check_at_start = yes;
        self
    }

    /// The application name the server logs for each connection (default:
    /// `appName` from the URI, else `tiered-sessions`).
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Parse the URI, create the client, then create the TTL index
    /// ([`MongoStoreBuilder::ensure_indexes`], the default) or check that it
    /// exists ([`MongoStoreBuilder::check_at_start`]) — or neither.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URI (or a `mongodb+srv://` URI without
    /// the `dns-srv` feature), empty names, zero timeouts, a record limit above
    /// [`MAX_RECORD_BYTES`] or a conflicting index on the expiry field;
    /// [`Error::Unavailable`]/[`Error::Timeout`] when MongoDB cannot be reached
    /// to create the index, or resolving a `mongodb+srv://` URI fails.
    pub async fn build(self) -> Result<MongoStore> {
        if self.max_record_bytes > MAX_RECORD_BYTES {
            return Err(Error::config(format!(
                "the MongoDB record limit {} is above what fits a document ({MAX_RECORD_BYTES})",
                self.max_record_bytes
            )));
        }
        if self.collection.is_empty() || self.database.as_deref() == Some("") {
            return Err(Error::config(
                "the MongoDB database and collection names must not be empty",
            ));
        }
        if self.connect_timeout.is_zero() || self.operation_timeout.is_zero() {
            return Err(Error::config(
                "the MongoDB connect and operation timeouts must be above zero",
            ));
        }
        let mut options = ClientOptions::parse(&self.uri.0)
            .await
            .map_err(|e| match e.kind.as_ref() {
                mongodb::error::ErrorKind::InvalidArgument { message, .. } => Error::config(format!(
                    "invalid MongoDB URI: {message} (for mongodb+srv:// enable the `dns-srv` feature)"
                )),
                _ => error::map(e),
            })?;
        options.server_selection_timeout = Some(self.connect_timeout);
        options.connect_timeout = Some(self.connect_timeout);
        if self.app_name.is_some() {
            options.app_name.clone_from(&self.app_name);
        } else if options.app_name.is_none() {
            options.app_name = Some("tiered-sessions".to_owned());
        }
        let database = self
            .database
            .clone()
            .or_else(|| options.default_database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        let client = Client::with_options(options).map_err(|e| match e.kind.as_ref() {
            mongodb::error::ErrorKind::InvalidArgument { message, .. } => {
                Error::config(format!("invalid MongoDB client options: {message}"))
            }
            _ => error::map(e),
        })?;
        let store = MongoStore::from_database(&client.database(&database), &self.collection)
            .with_operation_timeout(self.operation_timeout)
            .with_max_record_bytes(self.max_record_bytes);
        if self.ensure_indexes {
            store.ensure_indexes().await?;
        } else if self.check_at_start {
            store.check_indexes().await?;
        }
        Ok(store)
    }
}

/// Settings from the environment (see [`mod@env`]); `from_env` and
/// `from_lookup` come with [`FromEnv`].
impl FromEnv for MongoStoreBuilder {
    fn from_vars<F: Fn(&str) -> Option<String>>(vars: &EnvVars<F>) -> Result<Self> {
        let mut b = Self::new(vars.require(
            env::URI,
            "a MongoDB connection string (mongodb://host:port/?replicaSet=…)",
        )?);
        b.database = vars.get(env::DATABASE);
        vars.read_into(env::COLLECTION, &mut b.collection)?;
        vars.read_into(env::CONNECT_TIMEOUT_MS, &mut b.connect_timeout)?;
        vars.read_into(env::TIMEOUT_MS, &mut b.operation_timeout)?;
        vars.read_into(env::MAX_RECORD_BYTES, &mut b.max_record_bytes)?;
        vars.read_into(env::ENSURE_INDEXES, &mut b.ensure_indexes)?;
        vars.read_into(env::CHECK_AT_START, &mut b.check_at_start)?;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_needs_a_uri_and_reads_every_setting() {
        assert!(matches!(
            MongoStoreBuilder::from_lookup(lookup(&[])),
            Err(Error::Config { .. })
        ));
        let b = MongoStoreBuilder::from_lookup(lookup(&[
            (env::URI, " mongodb://db:27017/app "),
            (env::DATABASE, "web"),
            (env::COLLECTION, "sess"),
            (env::CONNECT_TIMEOUT_MS, "750"),
            (env::TIMEOUT_MS, "1500"),
            (env::MAX_RECORD_BYTES, "65536"),
        ]))
        .expect("valid");
        assert_eq!(b.uri.0, "mongodb://db:27017/app");
        assert_eq!(b.database.as_deref(), Some("web"));
        assert_eq!(b.collection, "sess");
        assert_eq!(b.connect_timeout, Duration::from_millis(750));
        assert_eq!(b.operation_timeout, Duration::from_millis(1500));
        assert_eq!(b.max_record_bytes, 65536);
    }

    #[test]
    fn env_defaults_and_bad_numbers() {
        let b = MongoStoreBuilder::from_lookup(lookup(&[(env::URI, "mongodb://db")])).expect("ok");
        assert_eq!(b.database, None);
        assert_eq!(b.collection, DEFAULT_COLLECTION);
        assert_eq!(b.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(b.operation_timeout, DEFAULT_OPERATION_TIMEOUT);
        assert_eq!(b.max_record_bytes, MAX_RECORD_BYTES);
        let bad = MongoStoreBuilder::from_lookup(lookup(&[
            (env::URI, "mongodb://db"),
            (env::TIMEOUT_MS, "soon"),
        ]));
        assert!(matches!(bad, Err(Error::Config { .. })));
        let huge = MongoStoreBuilder::from_lookup(lookup(&[
            (env::URI, "mongodb://db"),
            (env::MAX_RECORD_BYTES, "99999999999"),
        ]))
        .expect("parsed; refused at build");
        assert_eq!(huge.max_record_bytes, 99_999_999_999);
        let off = MongoStoreBuilder::from_lookup(lookup(&[
            (env::URI, "mongodb://db"),
            (env::ENSURE_INDEXES, "FALSE"),
        ]))
        .expect("valid");
        assert!(!off.ensure_indexes);
    }

    #[test]
    fn debug_hides_the_uri() {
        let b = MongoStoreBuilder::new("mongodb://user:hunter2@db/");
        assert!(!format!("{b:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn build_rejects_bad_settings() {
        let bad = |b: MongoStoreBuilder| async move {
            matches!(b.build().await, Err(Error::Config { .. }))
        };
        assert!(bad(MongoStoreBuilder::new("localhost:27017")).await);
        assert!(bad(MongoStoreBuilder::new("mongodb://db").collection("")).await);
        assert!(bad(MongoStoreBuilder::new("mongodb://db").database("")).await);
        assert!(
            bad(MongoStoreBuilder::new("mongodb://db").operation_timeout(Duration::ZERO)).await
        );
        assert!(bad(MongoStoreBuilder::new("mongodb://db").connect_timeout(Duration::ZERO)).await);
        assert!(
            bad(MongoStoreBuilder::new("mongodb://db").max_record_bytes(MAX_RECORD_BYTES + 1))
                .await
        );
    }
}
