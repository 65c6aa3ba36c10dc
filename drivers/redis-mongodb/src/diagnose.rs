//! [`MongoStore::diagnose`]: read-only checks of the server, the indexes and
//! the write concern, for `tiered-sessions doctor` and health tooling.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mongodb::bson::{Bson, Document, doc};
use mongodb::options::WriteConcern;
use tiered_sessions::Result;

use crate::error;
use crate::principals::{P, PRINCIPAL_INDEX};
use crate::store::MongoStore;

/// What [`MongoStore::diagnose`] found.
#[derive(Debug)]
#[non_exhaustive]
pub struct MongoDiagnosis {
    /// The round trip of each `ping` (a first one, which may open the
    /// connection, is sent and not counted).
    pub round_trips: Vec<Duration>,
    /// The replica set's name (`hello`'s `setName`); `None` for a standalone
    /// server (or a `mongos`).
    pub replica_set: Option<String>,
    /// The data-bearing members `hello` lists (`hosts`).
    pub members: usize,
    /// The arbiters `hello` lists (they vote but hold no data, so they do not
    /// count towards a `majority` write).
    pub arbiters: usize,
    /// Whether the server answering is a writable primary.
    pub writable_primary: bool,
    /// The largest document the server takes (`hello`'s `maxBsonObjectSize`).
    pub max_bson_object_size: Option<usize>,
    /// `hello`'s `localTime` minus this machine's clock at the middle of the
    /// round trip, in milliseconds.
    pub clock_offset_ms: Option<i64>,
    /// The write concern the store's writes carry (set by the store:
    /// `majority`, journaled, `wtimeout` = the operation deadline).
    pub write_concern: Option<WriteConcern>,
    /// [`MongoStore::check_indexes`]' answer: the TTL index's name, or an
    /// [`tiered_sessions::Error::Config`] naming the missing or conflicting
    /// index.
    pub ttl_index: Result<String>,
    /// Whether the index on `p` that principal listings use (named
    /// `principal`) is there; without it a listing scans the collection.
    pub principal_index: Result<bool>,
}

impl MongoStore {
    /// `pings` timed `ping` commands, `hello` (topology, document size limit,
    /// clock), then the indexes ([`MongoStore::check_indexes`] and the
    /// principal index) and the write concern. Read-only: creates nothing.
    ///
    /// # Errors
    /// [`tiered_sessions::Error::Unavailable`] or
    /// [`tiered_sessions::Error::Timeout`] when the server does not answer
    /// `ping` or `hello`.
    pub async fn diagnose(&self, pings: usize) -> Result<MongoDiagnosis> {
        let mut round_trips = Vec::with_capacity(pings);
        for i in 0..=pings {
            let start = Instant::now();
            self.ping().await?;
            if i > 0 {
                round_trips.push(start.elapsed());
            }
        }
        let database = self
            .collection()
            .client()
            .database(&self.collection().namespace().db);
        let sent = SystemTime::now();
        let start = Instant::now();
        let hello = self
            .deadline(async {
                database
                    .run_command(doc! { "hello": 1 })
                    .await
                    .map_err(error::map)
            })
            .await?;
        let rtt = start.elapsed();
        let count = |field: &str| hello.get_array(field).map_or(0, Vec::len);
        Ok(MongoDiagnosis {
            round_trips,
            replica_set: hello.get_str("setName").ok().map(str::to_owned),
            members: count("hosts"),
            arbiters: count("arbiters"),
            writable_primary: hello
                .get_bool("isWritablePrimary")
                .or_else(|_| hello.get_bool("ismaster"))
                .unwrap_or(false),
            max_bson_object_size: number(&hello, "maxBsonObjectSize"),
            clock_offset_ms: hello
                .get_datetime("localTime")
                .ok()
                .map(|t| clock_offset_ms(t.timestamp_millis(), sent, rtt)),
            write_concern: self.collection().write_concern().cloned(),
            ttl_index: self.check_indexes().await,
            principal_index: self.has_principal_index().await,
        })
    }

    async fn has_principal_index(&self) -> Result<bool> {
        let indexes = self
            .deadline(crate::indexes::list_indexes(self.collection()))
            .await?;
        Ok(indexes.iter().any(|index| {
            let name = index.options.as_ref().and_then(|o| o.name.as_deref());
            name == Some(PRINCIPAL_INDEX) && index.keys.len() == 1 && index.keys.contains_key(P)
        }))
    }
}

/// A non-negative integer field of any BSON integer or double type.
fn number(d: &Document, field: &str) -> Option<usize> {
    match d.get(field)? {
        Bson::Int32(n) => usize::try_from(*n).ok(),
        Bson::Int64(n) => usize::try_from(*n).ok(),
        Bson::Double(n) if *n >= 0.0 => Some(*n as usize),
        _ => None,
    }
}

/// `server_ms` minus the local clock at the middle of a round trip that
/// started at `sent` and took `rtt`.
fn clock_offset_ms(server_ms: i64, sent: SystemTime, rtt: Duration) -> i64 {
    let middle = (sent + rtt / 2)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    server_ms - i64::try_from(middle.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_any_integer_type() {
        let d = doc! { "a": 16_777_216_i32, "b": 48_000_000_i64, "c": 2.0, "d": -1, "e": "x" };
        assert_eq!(number(&d, "a"), Some(16_777_216));
        assert_eq!(number(&d, "b"), Some(48_000_000));
        assert_eq!(number(&d, "c"), Some(2));
        assert_eq!(number(&d, "d"), None);
        assert_eq!(number(&d, "e"), None);
        assert_eq!(number(&d, "missing"), None);
    }

    #[test]
    fn clock_offset_from_the_middle_of_the_round_trip() {
        let sent = UNIX_EPOCH + Duration::from_millis(10_000);
        let rtt = Duration::from_millis(20);
        assert_eq!(clock_offset_ms(10_010, sent, rtt), 0);
        assert_eq!(clock_offset_ms(13_010, sent, rtt), 3_000);
        assert_eq!(clock_offset_ms(7_010, sent, rtt), -3_000);
    }
}
