//! [`SessionConfig`]: every setting, validated once when it is built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::keys::{KeyRing, MIN_KEY_LEN};
use crate::principal::PrincipalHasher;
use crate::session::SetCookieTemplate;
use crate::session_id::StoreKeyHasher;

/// The `SameSite` attribute of the session cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Sent on same-site requests and top-level navigations (the default).
    Lax,
    /// Sent on cross-site requests too; requires `Secure`.
    None,
}

/// Validated settings for the session layer. Build with [`SessionConfig::builder`].
///
/// `Debug` shows no secrets.
#[derive(Clone)]
pub struct SessionConfig {
    pub(crate) cookie_name: String,
    pub(crate) chunk_names: Vec<String>,
    /// The name a chunked value is signed under: the cookie name followed by
    /// a character no cookie name may hold, so a value signed for one cookie
    /// never verifies as chunks and chunks never verify as one cookie.
    pub(crate) chunked_mac_name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    /// The attributes above, rendered once for every `Set-Cookie`.
    pub(crate) set_cookie: SetCookieTemplate,
    pub(crate) keys: KeyRing,
    pub(crate) store_keys: StoreKeyHasher,
    pub(crate) encrypt: bool,
    pub(crate) cookie_only_threshold: usize,
    pub(crate) max_cookie_len: usize,
    pub(crate) max_cookies: usize,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) absolute_timeout: Duration,
    pub(crate) touch_interval: Duration,
    pub(crate) save_on_server_error: bool,
    pub(crate) max_conflict_retries: u32,
    pub(crate) revocation_check_interval: Duration,
    pub(crate) store_bound_sessions: bool,
    pub(crate) principals: PrincipalHasher,
    pub(crate) clock: Arc<dyn Clock>,
}

impl SessionConfig {
    /// Start from the defaults with these signing keys (newest first, each at
    /// least 32 bytes; the first signs, all verify).
    pub fn builder<I, K>(signing_keys: I) -> SessionConfigBuilder
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        SessionConfigBuilder {
            signing_keys: signing_keys
                .into_iter()
                .map(|k| k.as_ref().to_vec())
                .collect(),
            store_key_secret: None,
            cookie_name: "session".into(),
            path: "/".into(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            encrypt: false,
            cookie_only_threshold: 2048,
            max_cookie_len: 3800,
            max_cookies: 4,
            idle_timeout: Some(Duration::from_secs(24 * 3600)),
            absolute_timeout: Duration::from_secs(7 * 24 * 3600),
            touch_interval: None,
            save_on_server_error: false,
            max_conflict_retries: 8,
            revocation_check_interval: DEFAULT_REVOCATION_CHECK_INTERVAL,
            store_bound_sessions: false,
            clock: Arc::new(SystemClock),
        }
    }

    /// The cookie name.
    pub fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The clock the layer reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Expiry for a session created at `created_at` and active at `now`:
    /// whichever of the idle and the absolute timeout comes first.
    pub(crate) fn expiry(&self, created_at: u64, last_active: u64) -> u64 {
        let absolute = created_at.saturating_add(self.absolute_timeout.as_secs());
        match self.idle_timeout {
            Some(idle) => absolute.min(last_active.saturating_add(idle.as_secs())),
            None => absolute,
        }
    }

    /// The longest cookie value accepted on a request (all chunks together).
    pub(crate) fn max_value_len(&self) -> usize {
        self.max_cookie_len * self.max_cookies
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("path", &self.path)
            .field("domain", &self.domain)
            .field("secure", &self.secure)
            .field("http_only", &self.http_only)
            .field("same_site", &self.same_site)
            .field("keys", &self.keys)
            .field("encrypt", &self.encrypt)
            .field("cookie_only_threshold", &self.cookie_only_threshold)
            .field("max_cookie_len", &self.max_cookie_len)
            .field("max_cookies", &self.max_cookies)
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("touch_interval", &self.touch_interval)
            .field("save_on_server_error", &self.save_on_server_error)
            .field("max_conflict_retries", &self.max_conflict_retries)
            .field("revocation_check_interval", &self.revocation_check_interval)
            .field("store_bound_sessions", &self.store_bound_sessions)
            .finish_non_exhaustive()
    }
}

/// How long a process trusts what it read of a principal's revocations
/// before a bound cookie-only session's load reads them again (10 s).
pub const DEFAULT_REVOCATION_CHECK_INTERVAL: Duration = Duration::from_secs(10);

/// Builder for [`SessionConfig`]; see the README for every option and default.
#[derive(Clone)]
pub struct SessionConfigBuilder {
    signing_keys: Vec<Vec<u8>>,
    store_key_secret: Option<Vec<u8>>,
    cookie_name: String,
    path: String,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    encrypt: bool,
    cookie_only_threshold: usize,
    max_cookie_len: usize,
    max_cookies: usize,
    idle_timeout: Option<Duration>,
    absolute_timeout: Duration,
    touch_interval: Option<Duration>,
    save_on_server_error: bool,
    max_conflict_retries: u32,
    revocation_check_interval: Duration,
    store_bound_sessions: bool,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for SessionConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfigBuilder")
            .field(
                "signing_keys",
                &format_args!("<{} secret>", self.signing_keys.len()),
            )
            .field("cookie_name", &self.cookie_name)
            .finish_non_exhaustive()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value.into();
            self
        }
    };
}

impl SessionConfigBuilder {
    setter!(
        /// Cookie name (default `session`). Chunks are named `name.0`, `name.1`, …
        cookie_name: &str
    );
    setter!(
        /// Cookie `Path` (default `/`).
        path: &str
    );
    setter!(
        /// Cookie `Secure` (default true). Turn off only for plain-HTTP development.
        secure: bool
    );
    setter!(
        /// Cookie `HttpOnly` (default true).
        http_only: bool
    );
    setter!(
        /// Cookie `SameSite` (default `Lax`).
        same_site: SameSite
    );
    setter!(
        /// Encrypt cookie-only session data with XChaCha20-Poly1305 (default false:
        /// signed, readable by the client).
        encrypt: bool
    );
    setter!(
        /// Largest encoded session data kept in the cookie alone (default 2048
        /// bytes); larger data goes to the store. 0 puts every session in the store.
        cookie_only_threshold: usize
    );
    setter!(
        /// Longest value of one cookie before splitting (default 3800).
        max_cookie_len: usize
    );
    setter!(
        /// Most cookies one session may be split over (default 4).
        max_cookies: usize
    );
    setter!(
        /// Absolute timeout from creation (default 7 days).
        absolute_timeout: Duration
    );
    setter!(
        /// Save when the handler answered with a 5xx status (default false).
        save_on_server_error: bool
    );
    setter!(
        /// How often a save that meets a newer version is re-applied before the
        /// request fails (default 8).
        max_conflict_retries: u32
    );
    setter!(
        /// Longest time a process trusts its cached copy of a principal's
        /// revocations (default 10 s, whole seconds): a revoked cookie-only
        /// session (a copied cookie included) is refused within this delay,
        /// at one store read per principal per process per interval. Counted
        /// in whole seconds: zero (or under a second) reads the store on every
        /// load of a bound session.
        revocation_check_interval: Duration
    );
    setter!(
        /// Keep sessions bound to a principal in the store, never in the
        /// cookie alone (default false), so logout and revocation take effect
        /// at once and an old cookie can never replay older state. Unbound
        /// sessions stay cookie-only below the threshold.
        store_bound_sessions: bool
    );

    /// Cookie `Domain` (default none: host-only).
    pub fn domain(mut self, domain: &str) -> Self {
        self.domain = Some(domain.to_owned());
        self
    }

    /// Idle timeout (default 24 hours); `None` for no idle timeout.
    pub fn idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Least time between two expiry refreshes of a session that is only read
    /// (default: a tenth of the idle timeout, at most 5 minutes).
    pub fn touch_interval(mut self, interval: Duration) -> Self {
        self.touch_interval = Some(interval);
        self
    }

    /// Secret for hashing ids into store keys (at least 32 bytes). Default: derived
    /// from the first signing key, so set it before you ever rotate signing keys,
    /// or stored sessions become unreachable when the first key changes.
    pub fn store_key_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.store_key_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// The clock (default the system clock); tests pass a [`crate::ManualClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Validate and build.
    ///
    /// # Errors
    /// [`Error::Config`] for: no signing key or one shorter than 32 bytes; a
    /// cookie name that is not an RFC 6265 token; a path or domain holding `;`,
    /// CR, LF or another control character; `SameSite=None` without `Secure`;
    /// a threshold whose cookie cannot fit in `max_cookies` × `max_cookie_len`;
    /// a touch interval not shorter than the idle timeout; zero timeouts.
    pub fn build(self) -> Result<SessionConfig> {
        let keys = KeyRing::new(&self.signing_keys)?;
        let store_secret = match &self.store_key_secret {
            Some(s) => s.clone(),
            None => derive_store_secret(&self.signing_keys[0])?,
        };
        let store_keys = StoreKeyHasher::new(&store_secret)?;
        let principals = PrincipalHasher::new(&store_secret)?;
        if self.cookie_name.is_empty() || !self.cookie_name.bytes().all(is_token_byte) {
            return Err(Error::config(
                "the cookie name must be a non-empty RFC 6265 token (no spaces, `;`, `=`, CR or LF)",
            ));
        }
        if !is_attribute_value(&self.path) || !self.path.starts_with('/') {
            return Err(Error::config(
                "the cookie path must start with `/` and hold no `;`, CR, LF or control character",
            ));
        }
        if let Some(d) = &self.domain {
            if d.is_empty() || !is_attribute_value(d) || d.contains(' ') {
                return Err(Error::config(
                    "the cookie domain must be non-empty and hold no `;`, space, CR, LF or control character",
                ));
            }
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(Error::config("SameSite=None requires Secure"));
        }
        if self.absolute_timeout.as_secs() == 0
            || self.idle_timeout.is_some_and(|d| d.as_secs() == 0)
        {
            return Err(Error::config("timeouts must be at least one second"));
        }
        if self.max_cookie_len < 200 || self.max_cookies == 0 || self.max_cookies > 32 {
            return Err(Error::config(
                "max_cookie_len must be at least 200 and max_cookies between 1 and 32",
            ));
        }
        let worst = crate::cookie::encoded_len(self.cookie_only_threshold, self.encrypt);
        if worst > self.max_cookie_len * self.max_cookies {
            return Err(Error::config(format!(
                "cookie_only_threshold {} needs cookies of {worst} bytes, more than max_cookies × max_cookie_len = {}",
                self.cookie_only_threshold,
                self.max_cookie_len * self.max_cookies
            )));
        }
        let touch_interval = match (self.touch_interval, self.idle_timeout) {
            (Some(t), Some(idle)) if t >= idle => {
                return Err(Error::config(
                    "touch_interval must be shorter than idle_timeout",
                ));
            }
            (Some(t), _) => t,
            (None, Some(idle)) => (idle / 10).min(Duration::from_secs(300)),
            (None, None) => Duration::from_secs(300),
        };
        let mut chunk_names = Vec::with_capacity(self.max_cookies);
        for i in 0..self.max_cookies {
            chunk_names.push(format!("{}.{i}", self.cookie_name));
        }
        let set_cookie = SetCookieTemplate::new(
            &self.cookie_name,
            &chunk_names,
            &self.path,
            self.domain.as_deref(),
            self.secure,
            self.http_only,
            self.same_site,
        );
        Ok(SessionConfig {
            chunked_mac_name: format!("{};chunks", self.cookie_name),
            cookie_name: self.cookie_name,
            chunk_names,
            set_cookie,
            path: self.path,
            domain: self.domain,
            secure: self.secure,
            http_only: self.http_only,
            same_site: self.same_site,
            keys,
            store_keys,
            encrypt: self.encrypt,
            cookie_only_threshold: self.cookie_only_threshold,
            max_cookie_len: self.max_cookie_len,
            max_cookies: self.max_cookies,
            idle_timeout: self.idle_timeout,
            absolute_timeout: self.absolute_timeout,
            touch_interval,
            save_on_server_error: self.save_on_server_error,
            max_conflict_retries: self.max_conflict_retries,
            revocation_check_interval: self.revocation_check_interval,
            store_bound_sessions: self.store_bound_sessions,
            principals,
            clock: self.clock,
        })
    }
}

fn derive_store_secret(first_key: &[u8]) -> Result<Vec<u8>> {
    if first_key.len() < MIN_KEY_LEN {
        return Err(Error::config(format!(
            "every signing key must be at least {MIN_KEY_LEN} bytes"
        )));
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(first_key)
        .map_err(|_| Error::config("unusable signing key"))?;
    mac.update(b"tiered-sessions/store-key/v1");
    Ok(mac.finalize().into_bytes().to_vec())
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

fn is_attribute_value(s: &str) -> bool {
    !s.bytes().any(|b| b == b';' || b.is_ascii_control())
}

#[cfg(test)]
mod tests;
