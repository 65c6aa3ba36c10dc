//! [`DynamoStoreBuilder`]: table, region, endpoint, deadlines and retry budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, Region, RuntimeComponents};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use tiered_sessions::{EnvVars, Error, FromEnv, Result};

use crate::store::DynamoStore;

/// Environment variables read by [`DynamoStoreBuilder::from_env`] (the AWS
/// SDK's own — `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`,
/// `AWS_ENDPOINT_URL_DYNAMODB`, … — are read by the SDK as usual).
pub mod env {
    /// The table name (required).
    pub const TABLE: &str = "TIERED_SESSIONS_DYNAMODB_TABLE";
    /// An endpoint URL (DynamoDB Local, an emulator); overrides the SDK's.
    pub const ENDPOINT: &str = "TIERED_SESSIONS_DYNAMODB_ENDPOINT";
    /// The region; overrides `AWS_REGION`.
    pub const REGION: &str = "TIERED_SESSIONS_DYNAMODB_REGION";
    /// Deadline of one operation, all retries included, in milliseconds (default 3000).
    pub const TIMEOUT_MS: &str = "TIERED_SESSIONS_DYNAMODB_TIMEOUT_MS";
    /// Deadline to open one connection, in milliseconds (default 2000).
    pub const CONNECT_TIMEOUT_MS: &str = "TIERED_SESSIONS_DYNAMODB_CONNECT_TIMEOUT_MS";
    /// Attempts per operation, the first included (default 3).
    pub const MAX_ATTEMPTS: &str = "TIERED_SESSIONS_DYNAMODB_MAX_ATTEMPTS";
    /// Largest encoded record stored (default and ceiling 409 088, what fits a
    /// 400 KB item; about 300 000 against moto).
    pub const MAX_RECORD_BYTES: &str = "TIERED_SESSIONS_DYNAMODB_MAX_RECORD_BYTES";
    /// Create the table (and enable TTL) when the store is built: `true` or
    /// `false` (default `false`: tables are usually made by infrastructure code).
    pub const ENSURE_TABLE: &str = "TIERED_SESSIONS_DYNAMODB_ENSURE_TABLE";
    /// Check at start-up that DynamoDB answers and the table is there with
    /// the right key schema: `true` or `false` (default `true`; turn it off
    /// for an app that must start while DynamoDB is down).
    pub const CHECK_AT_START: &str = "TIERED_SESSIONS_DYNAMODB_CHECK_AT_START";
}

/// Default of [`DynamoStoreBuilder::connect_timeout`]: long enough to
/// outlive one SYN retransmission (1 s on Linux).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds a [`DynamoStore`].
#[derive(Clone, Debug)]
pub struct DynamoStoreBuilder {
    table: String,
    region: Option<String>,
    endpoint: Option<String>,
    operation_timeout: Duration,
    connect_timeout: Duration,
    max_attempts: u32,
    max_record_bytes: usize,
    ensure_table: bool,
    check_at_start: bool,
    sdk_config: Option<SdkConfig>,
}

impl DynamoStoreBuilder {
    /// A store on `table`, with region, credentials and endpoint from the
    /// standard AWS sources unless set here.
    pub fn new(table: impl Into<String>) -> Self {
        DynamoStoreBuilder {
            table: table.into(),
            region: None,
            endpoint: None,
            operation_timeout: Duration::from_secs(3),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_attempts: 3,
            max_record_bytes: crate::MAX_RECORD_BYTES,
            ensure_table: false,
            check_at_start: true,
            sdk_config: None,
        }
    }

    /// The AWS region (default: from `AWS_REGION` or the profile).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// An endpoint URL, for DynamoDB Local or an emulator (default: AWS's).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Deadline of one operation, all its attempts and backoff included
    /// (default 3 s); past it the call fails with [`Error::Timeout`].
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Deadline to open a connection (default [`DEFAULT_CONNECT_TIMEOUT`], 2 s).
    ///
    /// Keep it above 1 s: Linux resends a dropped SYN after 1 s, so a
    /// deadline of 1 s or less turns one dropped SYN (a full accept queue
    /// on a busy endpoint, a lost packet) into a failed request.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Attempts per operation, the first included (default 3). Throttling,
    /// 5xx answers and connection failures are retried with jittered
    /// exponential backoff, within the SDK's retry token bucket.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Lower the largest record stored (default and ceiling:
    /// [`crate::MAX_RECORD_BYTES`], what fits DynamoDB's 400 KB item; above
    /// it [`DynamoStoreBuilder::build`] fails). moto counts binary attributes
    /// as base64 text, so against it use about 300 000.
    pub fn max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = limit;
        self
    }

    /// Create the table (and enable TTL) in [`DynamoStoreBuilder::build`]
    /// when it is missing (default false: tables are usually made by
    /// infrastructure code). See [`DynamoStore::ensure_table`].
    pub fn ensure_table(mut self, yes: bool) -> Self {
        self.ensure_table = yes;
        self
    }

    /// Check in [`DynamoStoreBuilder::build`] that DynamoDB answers and the
    /// table exists with the right key schema ([`DynamoStore::check_table`];
    /// default true). Turn it off for an app that must start while DynamoDB is
    /// down: requests then fail with a 503 until it answers.
    pub fn check_at_start(mut self, yes: bool) -> Self {
        self.check_at_start = yes;
        self
    }

    /// Start from an SDK configuration you loaded yourself (credentials,
    /// region, HTTP client); this builder's settings still apply on top.
    pub fn sdk_config(mut self, config: SdkConfig) -> Self {
        self.sdk_config = Some(config);
        self
    }

    /// Load the AWS configuration, build the store, then create the table
    /// ([`DynamoStoreBuilder::ensure_table`]) or check it
    /// ([`DynamoStoreBuilder::check_at_start`], the default) — or neither.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty table name, no region, zero attempts, a
    /// zero timeout, a record limit above [`crate::MAX_RECORD_BYTES`], a
    /// missing table or a wrong key schema; [`Error::Unavailable`] or
    /// [`Error::Timeout`] when DynamoDB does not answer the check.
    pub async fn build(self) -> Result<DynamoStore> {
        if self.table.is_empty() {
            return Err(Error::config("the DynamoDB table name is empty"));
        }
        if self.max_record_bytes > crate::MAX_RECORD_BYTES {
            return Err(Error::config(format!(
                "the DynamoDB record limit {} is above what fits an item ({})",
                self.max_record_bytes,
                crate::MAX_RECORD_BYTES
            )));
        }
        if self.max_attempts == 0
            || self.operation_timeout.is_zero()
            || self.connect_timeout.is_zero()
        {
            return Err(Error::config(
                "DynamoDB max_attempts, operation_timeout and connect_timeout must be above zero",
            ));
        }
        let sdk = match self.sdk_config {
            Some(sdk) => sdk,
            None => {
                // rustls with ring: no legacy hyper 0.14 / rustls 0.21 stack and
                // no aws-lc C build.
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build_https();
                aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http)
                    .load()
                    .await
            }
        };
        let requests = Arc::new(AtomicU64::new(0));
        let mut conf = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(self.max_attempts)
                    .with_initial_backoff(Duration::from_millis(50))
                    .with_max_backoff(Duration::from_secs(1)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            )
            .interceptor(CountRequests(requests.clone()));
        if let Some(region) = self.region {
            conf = conf.region(Region::new(region));
        }
        if let Some(endpoint) = self.endpoint {
            conf = conf.endpoint_url(endpoint);
        }
        let conf = conf.build();
        if conf.region().is_none() {
            return Err(Error::config(
                "no AWS region: set AWS_REGION or the builder's region",
            ));
        }
        let store = DynamoStore {
            client: aws_sdk_dynamodb::Client::from_conf(conf),
            table: self.table.into(),
            timeout: self.operation_timeout,
            requests,
            max_record_bytes: self.max_record_bytes,
            capacity: Arc::default(),
        };
        if self.ensure_table {
            store.ensure_table().await?;
        } else if self.check_at_start {
            store.check_table().await?;
        }
        Ok(store)
    }
}

/// Settings from the environment (see [`mod@env`]); `from_env` and
/// `from_lookup` come with [`FromEnv`].
impl FromEnv for DynamoStoreBuilder {
    fn from_vars<F: Fn(&str) -> Option<String>>(vars: &EnvVars<F>) -> Result<Self> {
        let mut b = Self::new(vars.require(env::TABLE, "the sessions table name")?);
        b.endpoint = vars.get(env::ENDPOINT);
        b.region = vars.get(env::REGION);
        vars.read_into(env::TIMEOUT_MS, &mut b.operation_timeout)?;
        vars.read_into(env::CONNECT_TIMEOUT_MS, &mut b.connect_timeout)?;
        vars.read_into(env::MAX_ATTEMPTS, &mut b.max_attempts)?;
        vars.read_into(env::MAX_RECORD_BYTES, &mut b.max_record_bytes)?;
        vars.read_into(env::ENSURE_TABLE, &mut b.ensure_table)?;
        vars.read_into(env::CHECK_AT_START, &mut b.check_at_start)?;
        Ok(b)
    }
}

/// Counts every HTTP request sent (each attempt), for tests and benchmarks.
#[derive(Debug)]
struct CountRequests(Arc<AtomicU64>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_needs_a_table_and_reads_settings() {
        assert!(matches!(
            DynamoStoreBuilder::from_lookup(|_| None),
            Err(Error::Config { .. })
        ));
        let b = DynamoStoreBuilder::from_lookup(|k| {
            match k {
                env::TABLE => Some("sessions"),
                env::ENDPOINT => Some("http://127.0.0.1:5005"),
                env::TIMEOUT_MS => Some("1500"),
                env::MAX_ATTEMPTS => Some("5"),
                env::CONNECT_TIMEOUT_MS => Some("2500"),
                _ => None,
            }
            .map(str::to_owned)
        })
        .unwrap();
        assert_eq!(b.table, "sessions");
        assert_eq!(b.endpoint.as_deref(), Some("http://127.0.0.1:5005"));
        assert_eq!(b.operation_timeout, Duration::from_millis(1500));
        assert_eq!(b.max_attempts, 5);
        assert_eq!(b.connect_timeout, Duration::from_millis(2500));
        let bad = DynamoStoreBuilder::from_lookup(|k| {
            (k == env::TABLE || k == env::MAX_ATTEMPTS).then(|| "x".to_owned())
        });
        assert!(matches!(bad, Err(Error::Config { .. })));
        let flag = |v: &'static str| {
            DynamoStoreBuilder::from_lookup(move |k| match k {
                env::TABLE => Some("t".to_owned()),
                env::ENSURE_TABLE => Some(v.to_owned()),
                _ => None,
            })
        };
        assert!(flag("TRUE").unwrap().ensure_table);
        assert!(!flag("no").unwrap().ensure_table);
        assert!(matches!(flag("sure"), Err(Error::Config { .. })));
    }

    #[tokio::test]
    async fn a_record_limit_above_an_item_is_a_config_error() {
        let over = DynamoStoreBuilder::new("t")
            .region("us-east-1")
            .max_record_bytes(crate::MAX_RECORD_BYTES + 1)
            .build()
            .await;
        assert!(matches!(over, Err(Error::Config { .. })), "{over:?}");
    }

    #[tokio::test]
    async fn a_zero_deadline_or_attempt_count_is_a_config_error() {
        let new = || DynamoStoreBuilder::new("t").region("us-east-1");
        for builder in [
            new().connect_timeout(Duration::ZERO),
            new().operation_timeout(Duration::ZERO),
            new().max_attempts(0),
        ] {
            let built = builder.build().await;
            assert!(matches!(built, Err(Error::Config { .. })), "{built:?}");
        }
        assert_eq!(new().connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    }

    #[tokio::test]
    async fn debug_shows_no_secret_key() {
        use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
        let sdk = SdkConfig::builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI-secret-part",
                Some("session-token-part".to_owned()),
                None,
                "test",
            )))
            .region(Region::new("us-east-1"))
            .build();
        let builder = DynamoStoreBuilder::new("t")
            .sdk_config(sdk)
            .check_at_start(false);
        let shown = format!("{builder:?} {:?}", builder.clone().build().await.unwrap());
        assert!(shown.contains("DynamoStore"), "{shown}");
        for secret in ["secret-part", "session-token-part"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
