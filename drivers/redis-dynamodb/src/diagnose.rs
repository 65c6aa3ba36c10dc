//! [`DynamoStore::diagnose`]: read-only checks of the endpoint and the table,
//! for `tiered-sessions doctor` and health tooling.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use aws_sdk_dynamodb::types::AttributeValue;
use tiered_sessions::Result;

use crate::error::code;
use crate::item::PK;
use crate::store::DynamoStore;
use crate::table::TableCheck;

/// The key [`DynamoStore::diagnose`] reads: no store key looks like it.
const PROBE_KEY: &str = "tiered-sessions-doctor-probe";

/// What [`DynamoStore::diagnose`] found.
#[derive(Debug)]
#[non_exhaustive]
pub struct DynamoDiagnosis {
    /// The round trip of each probe read (a strongly consistent `GetItem` of
    /// a key no session has; a first one, which may open the connection, is
    /// sent and not counted).
    pub round_trips: Vec<Duration>,
    /// [`DynamoStore::check_table`]'s answer: the table exists with the right
    /// key schema and the state of TTL, or an [`tiered_sessions::Error::Config`]
    /// naming what is missing or wrong.
    pub table: Result<TableCheck>,
    /// The server's clock (the HTTP `Date` header, whole seconds, taken as
    /// the middle of its second) minus this machine's at the middle of the
    /// round trip, in milliseconds: the median over the round trips. `None`
    /// when no answer carried a `Date` header. Good to about ±500 ms.
    pub clock_offset_ms: Option<i64>,
}

impl DynamoStore {
    /// `pings` timed probe reads (strongly consistent `GetItem`s of a key no
    /// session has, 1 read unit each, the same path as a session read; an
    /// answer that the table does not exist counts as an answer), the
    /// server's clock from their `Date` headers, then
    /// [`DynamoStore::check_table`]. Read-only: creates, enables and writes
    /// nothing.
    ///
    /// # Errors
    /// [`tiered_sessions::Error::Unavailable`] or
    /// [`tiered_sessions::Error::Timeout`] when DynamoDB does not answer, a
    /// backend error for another failure of the probe read (e.g. access
    /// denied).
    pub async fn diagnose(&self, pings: usize) -> Result<DynamoDiagnosis> {
        let mut round_trips = Vec::with_capacity(pings);
        let mut offsets = Vec::with_capacity(pings + 1);
        for i in 0..=pings {
            let date = Arc::new(Mutex::new(None));
            let sent = SystemTime::now();
            let start = Instant::now();
            // What a session read costs: a strongly consistent GetItem (of a
            // key no session has; 1 read unit), not a control-plane call.
            let answer = self
                .client
                .get_item()
                .table_name(&*self.table)
                .key(PK, AttributeValue::S(PROBE_KEY.to_owned()))
                .consistent_read(true)
                .projection_expression("#pk")
                .expression_attribute_names("#pk", PK)
                .customize()
                .interceptor(CaptureDate(date.clone()))
                .send()
                .await;
            let rtt = start.elapsed();
            match answer {
                Ok(_) => {}
                Err(e) if code(&e) == Some("ResourceNotFoundException") => {}
                Err(e) => return Err(crate::error::sdk_error(e, self.timeout)),
            }
            if i > 0 {
                round_trips.push(rtt);
            }
            let date = date.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(server_secs) = date {
                offsets.push(clock_offset_ms(server_secs, sent, rtt));
            }
        }
        offsets.sort_unstable();
        Ok(DynamoDiagnosis {
            round_trips,
            table: self.check_table().await,
            clock_offset_ms: offsets.get(offsets.len() / 2).copied(),
        })
    }
}

/// The middle of the server's second `server_secs` minus the local clock at
/// the middle of a round trip that started at `sent` and took `rtt`, in ms.
fn clock_offset_ms(server_secs: i64, sent: SystemTime, rtt: Duration) -> i64 {
    let middle = (sent + rtt / 2)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    server_secs.saturating_mul(1000) + 500 - i64::try_from(middle.as_millis()).unwrap_or(i64::MAX)
}

/// Keeps the `Date` header of the answer, as seconds since the epoch.
#[derive(Debug)]
struct CaptureDate(Arc<Mutex<Option<i64>>>);

impl Intercept for CaptureDate {
    fn name(&self) -> &'static str {
        "CaptureDate"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), aws_sdk_dynamodb::error::BoxError> {
        let date = context
            .response()
            .headers()
            .get("date")
            .and_then(|d| DateTime::from_str(d, DateTimeFormat::HttpDate).ok());
        if let Some(date) = date {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(date.secs());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_takes_the_middle_of_the_servers_second() {
        let sent = UNIX_EPOCH + Duration::from_millis(1_000_250);
        let rtt = Duration::from_millis(100);
        // Local middle 1000.300 s; the server said 1000 (so 1000.5 ± 0.5).
        assert_eq!(clock_offset_ms(1000, sent, rtt), 200);
        assert_eq!(clock_offset_ms(1003, sent, rtt), 3200);
        assert_eq!(clock_offset_ms(997, sent, rtt), -2800);
    }

    #[test]
    fn http_dates_parse() {
        let date = DateTime::from_str("Tue, 01 Dec 2026 05:00:00 GMT", DateTimeFormat::HttpDate);
        assert_eq!(date.map(|d| d.secs()).ok(), Some(1_796_101_200));
    }
}
