//! Observability of store calls and requests: a `tracing` span around each
//! store call and each request, and (with the `metrics` cargo feature) a
//! latency histogram of store calls.
//!
//! [`Instrumented`] wraps a whole store (what the session layer calls, tier
//! `store`) and the durable tier of a [`crate::TieredStore`] (tier
//! `durable`); the tiered store times its cache calls itself (tier `cache`),
//! where it knows a dropped call from a passed deadline. Spans and labels
//! carry the tier, the operation, the outcome and the duration, never a key,
//! an id, a principal or session data.
//!
//! Nothing is timed unless the `metrics` feature is on or a subscriber
//! enables the span; a request whose session is never touched makes no store
//! call, so it records nothing.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use tracing::field::Empty;
use tracing::{Instrument as _, Span};

use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::principal::{
    IndexEntry, PrincipalHash, PrincipalIndex, PrincipalSessions, Revocation, Revocations,
    SessionHandle,
};
use crate::record::Record;
use crate::response_policy::failure_kind;
use crate::session_id::StoreKey;
use crate::store::{CallFuture, CleanupBatch, CleanupCursor, Durability, SessionStore};

/// The histogram of store-call latencies, in seconds.
#[cfg(feature = "metrics")]
pub(crate) const STORE_CALL_SECONDS: &str = "tiered_sessions_store_call_duration_seconds";

fn outcome<T>(result: &Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => failure_kind(e),
    }
}

/// A DEBUG span, made only when DEBUG is enabled at all: a disabled span
/// still costs (the callsite's checks, the `log` fallback, every record into
/// it), and the untouched request must stay free.
pub(crate) fn debug_span(make: impl FnOnce() -> Span) -> Span {
    if tracing::enabled!(tracing::Level::DEBUG) {
        make()
    } else {
        Span::none()
    }
}

/// One store call in flight: its span and, when anyone looks, its start.
/// Dropped before [`Call::finish`] (the caller gave up on it), it records
/// the outcome `cancelled`.
pub(crate) struct Call {
    tier: &'static str,
    operation: &'static str,
    span: Span,
    start: Option<Instant>,
}

impl Call {
    pub(crate) fn start(tier: &'static str, operation: &'static str) -> Self {
        let span = debug_span(|| {
            tracing::debug_span!(
                "session.store",
                tier,
                operation,
                outcome = Empty,
                duration_ms = Empty
            )
        });
        let timed = cfg!(feature = "metrics") || !span.is_disabled();
        Call {
            tier,
            operation,
            span,
            start: timed.then(Instant::now),
        }
    }

    /// The span to run the call in.
    pub(crate) fn span(&self) -> Span {
        self.span.clone()
    }

    /// Whether anything looks at this call: the `metrics` feature, or a
    /// subscriber that takes its span. An unobserved call records nothing.
    pub(crate) fn observed(&self) -> bool {
        self.start.is_some()
    }

    /// Run `fut` in the call's span, and record it.
    pub(crate) async fn time<T>(self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        let out = fut.instrument(self.span()).await;
        self.finish(&out);
        out
    }

    /// Record the call's outcome and duration.
    pub(crate) fn finish<T>(mut self, result: &Result<T>) {
        self.record(outcome(result));
    }

    fn record(&mut self, outcome: &'static str) {
        let Some(start) = self.start.take() else {
            return;
        };
        let elapsed = start.elapsed();
        self.span.record("outcome", outcome);
        self.span
            .record("duration_ms", elapsed.as_secs_f64() * 1000.0);
        #[cfg(feature = "metrics")]
        metrics::histogram!(
            STORE_CALL_SECONDS,
            "tier" => self.tier,
            "operation" => self.operation,
            "outcome" => outcome
        )
        .record(elapsed.as_secs_f64());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.record("cancelled");
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("tier", &self.tier)
            .field("operation", &self.operation)
            .finish_non_exhaustive()
    }
}

/// A store whose every call (principal index included) is timed and traced
/// as one `tier`.
pub(crate) struct Instrumented<S> {
    inner: S,
    tier: &'static str,
}

impl<S> Instrumented<S> {
    pub(crate) fn new(inner: S, tier: &'static str) -> Self {
        Instrumented { inner, tier }
    }

    pub(crate) fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for Instrumented<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The wrapped store's own debug output, as before the wrapper.
        self.inner.fmt(f)
    }
}

impl<S> Instrumented<S> {
    /// `fut`, timed and traced as `operation` when anything observes it;
    /// otherwise the wrapped store's future as it is (no allocation).
    fn call<'a, T: Send + 'a>(
        &self,
        operation: &'static str,
        fut: CallFuture<'a, T>,
    ) -> CallFuture<'a, T> {
        let call = Call::start(self.tier, operation);
        if call.observed() {
            Box::pin(call.time(fut))
        } else {
            fut
        }
    }
}

// Written out rather than through `#[async_trait]`, which would box a second
// future around every call even when nothing observes it.
impl<S: SessionStore> SessionStore for Instrumented<S> {
    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes()
    }

    fn load<'a, 'k, 't>(
        &'a self,
        key: &'k StoreKey,
        now: UnixTime,
    ) -> CallFuture<'t, Option<Record>>
    where
        'a: 't,
        'k: 't,
        Self: 't,
    {
        self.call("load", self.inner.load(key, now))
    }

    fn create<'a, 'k, 'r, 't>(
        &'a self,
        key: &'k StoreKey,
        record: &'r Record,
        now: UnixTime,
    ) -> CallFuture<'t, ()>
    where
        'a: 't,
        'k: 't,
        'r: 't,
        Self: 't,
    {
        self.call("create", self.inner.create(key, record, now))
    }

    fn save<'a, 'k, 'r, 't>(
        &'a self,
        key: &'k StoreKey,
        record: &'r Record,
        expected_version: u64,
        durability: Durability,
        now: UnixTime,
    ) -> CallFuture<'t, ()>
    where
        'a: 't,
        'k: 't,
        'r: 't,
        Self: 't,
    {
        let operation = match durability {
            Durability::Quick => "save_quick",
            Durability::Durable => "save",
        };
        let fut = self
            .inner
            .save(key, record, expected_version, durability, now);
        self.call(operation, fut)
    }

    fn delete<'a, 'k, 't>(&'a self, key: &'k StoreKey, now: UnixTime) -> CallFuture<'t, ()>
    where
        'a: 't,
        'k: 't,
        Self: 't,
    {
        self.call("delete", self.inner.delete(key, now))
    }

    fn delete_unless_newer<'a, 'k, 't>(
        &'a self,
        key: &'k StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> CallFuture<'t, ()>
    where
        'a: 't,
        'k: 't,
        Self: 't,
    {
        let fut = self.inner.delete_unless_newer(key, expected_version, now);
        self.call("delete_unless_newer", fut)
    }

    fn touch<'a, 'k, 't>(
        &'a self,
        key: &'k StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> CallFuture<'t, ()>
    where
        'a: 't,
        'k: 't,
        Self: 't,
    {
        let fut = self.inner.touch(key, expires_at, last_active, now);
        self.call("touch", fut)
    }

    fn delete_expired<'a, 't>(
        &'a self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> CallFuture<'t, CleanupBatch>
    where
        'a: 't,
        Self: 't,
    {
        let fut = self.inner.delete_expired(now, max, cursor);
        self.call("delete_expired", fut)
    }

    fn principal_index(&self) -> Option<&dyn PrincipalIndex> {
        // Only when the wrapped store keeps one: the capability is unchanged.
        self.inner
            .principal_index()
            .map(|_| self as &dyn PrincipalIndex)
    }
}

impl<S: SessionStore> Instrumented<S> {
    fn index(&self) -> Result<&dyn PrincipalIndex> {
        self.inner.principal_index().ok_or(Error::Unsupported {
            what: "a principal index",
        })
    }
}

#[async_trait]
impl<S: SessionStore> PrincipalIndex for Instrumented<S> {
    async fn put_session(
        &self,
        principal: &PrincipalHash,
        entry: &IndexEntry,
        now: UnixTime,
    ) -> Result<Revocations> {
        let index = self.index()?;
        let fut = index.put_session(principal, entry, now);
        self.call("put_session", fut).await
    }

    async fn load_principal(
        &self,
        principal: &PrincipalHash,
        now: UnixTime,
    ) -> Result<PrincipalSessions> {
        let index = self.index()?;
        self.call("load_principal", index.load_principal(principal, now))
            .await
    }

    async fn revocations(&self, principal: &PrincipalHash, now: UnixTime) -> Result<Revocations> {
        let index = self.index()?;
        self.call("revocations", index.revocations(principal, now))
            .await
    }

    async fn remove_session(
        &self,
        principal: &PrincipalHash,
        handle: &SessionHandle,
        now: UnixTime,
    ) -> Result<()> {
        let index = self.index()?;
        let fut = index.remove_session(principal, handle, now);
        self.call("remove_session", fut).await
    }

    async fn revoke(
        &self,
        principal: &PrincipalHash,
        revocation: &Revocation,
        keep_until: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let index = self.index()?;
        let fut = index.revoke(principal, revocation, keep_until, now);
        self.call("revoke", fut).await
    }

    async fn delete_expired_index(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        let index = self.index()?;
        let fut = index.delete_expired_index(now, max, cursor);
        self.call("delete_expired_index", fut).await
    }
}

/// The span of one request through the session layer or middleware, with
/// the session's outcome (`untouched`, `ok` or the save's error kind), the
/// response status and the duration. Store calls made while it is entered
/// are its children.
pub(crate) struct RequestSpan {
    span: Span,
    // A cell, so the span stays entered while the request ends.
    start: Cell<Option<Instant>>,
}

impl RequestSpan {
    pub(crate) fn new() -> Self {
        let span = debug_span(|| {
            tracing::debug_span!(
                "session.request",
                outcome = Empty,
                status = Empty,
                duration_ms = Empty
            )
        });
        // Only a span someone listens to is timed.
        let start = Cell::new((!span.is_disabled()).then(Instant::now));
        RequestSpan { span, start }
    }

    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Record that the handler never touched the session.
    pub(crate) fn untouched(&self) {
        if !self.span.is_disabled() {
            self.span.record("outcome", "untouched");
        }
    }

    /// Record what the session's save did: `ok` or the error's kind.
    pub(crate) fn saved<T>(&self, saved: &Result<T>) {
        Self::record_saved(&self.span, saved);
    }

    /// [`RequestSpan::saved`] on a clone of the span (a boxed save).
    pub(crate) fn record_saved<T>(span: &Span, saved: &Result<T>) {
        if !span.is_disabled() {
            span.record("outcome", outcome(saved));
        }
    }

    /// Record the request's end: the response status and the duration.
    pub(crate) fn finish(&self, status: u16) {
        let Some(start) = self.start.take() else {
            return;
        };
        self.span.record("status", status);
        self.span
            .record("duration_ms", start.elapsed().as_secs_f64() * 1000.0);
    }
}

impl fmt::Debug for RequestSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.span.fmt(f)
    }
}
