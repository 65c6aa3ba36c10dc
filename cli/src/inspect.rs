//! `tiered-sessions inspect` and `revoke`: verify a session cookie as the
//! layer does (with the signing keys from the environment) and say what it
//! holds and where; list a principal's sessions; delete a stored session or
//! revoke a principal's.
//!
//! Key material is never printed; session values only with `--show-values`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tiered_sessions::inspect::{
    self, CookieRejection, CookieStorage, ExpiryCause, InspectedCookie,
};
use tiered_sessions::{
    Clock, Error, Record, SessionConfig, SessionData, SessionHandle, SessionId, SessionInfo,
    SessionLocation, SessionManager, SystemClock, UnixTime,
};

use crate::stores::{self, StoreKind};
use crate::{CliError, Output};

/// The signing keys: comma-separated hex, newest first.
pub const SIGNING_KEYS_VAR: &str = "TIERED_SESSIONS_SIGNING_KEYS";
/// The demo's single signing key, read when [`SIGNING_KEYS_VAR`] is unset.
pub const DEMO_KEY_VAR: &str = "SESSION_KEY";
/// The store-key secret, when the app sets one apart from the signing keys.
pub const STORE_KEY_SECRET_VAR: &str = "TIERED_SESSIONS_STORE_KEY_SECRET";

const KEYS_HELP: &str = "\
Keys: TIERED_SESSIONS_SIGNING_KEYS holds the app's signing keys as hex (64 hex \
characters or more each), comma-separated, newest first, exactly as the app \
passes them to SessionConfig::builder (SESSION_KEY, the demo's single key, is \
read when it is unset). TIERED_SESSIONS_STORE_KEY_SECRET (hex) is needed only \
if the app sets store_key_secret. Keys are never printed.";

/// The configuration settings that change how a cookie decodes.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// The app's session cookie name (chunks are NAME.0, NAME.1, …).
    #[arg(
        long,
        env = "TIERED_SESSIONS_COOKIE_NAME",
        default_value = "session",
        value_name = "NAME"
    )]
    cookie_name: String,
    /// The app's max_cookie_len (longest value of one cookie).
    #[arg(long, default_value_t = 3800, value_name = "BYTES")]
    max_cookie_len: usize,
    /// The app's max_cookies (most chunks of one session).
    #[arg(long, default_value_t = 4, value_name = "N")]
    max_cookies: usize,
    /// The app's idle timeout in seconds (0: none); says which timeout ends a session.
    #[arg(long, default_value_t = 24 * 3600, value_name = "SECS")]
    idle_timeout: u64,
    /// The app's absolute timeout in seconds.
    #[arg(long, default_value_t = 7 * 24 * 3600, value_name = "SECS")]
    absolute_timeout: u64,
}

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
#[command(after_help = format!("{KEYS_HELP}

Exit codes: 0 a valid session (or the listing), 1 not a valid session (the \
reason is printed) or a store error, 2 bad arguments or settings."))]
pub struct Args {
    /// The session cookie's value (for chunks, their values joined in order).
    #[arg(value_name = "COOKIE_VALUE", conflicts_with_all = ["header", "principal"])]
    cookie: Option<String>,
    /// A whole `Cookie:` request header (or its value) instead of the value.
    #[arg(long, value_name = "HEADER", conflicts_with = "principal")]
    header: Option<String>,
    /// List this principal's live sessions instead (needs --store).
    #[arg(long, value_name = "USER")]
    principal: Option<String>,
    /// Where stored sessions live: look the record up there.
    #[arg(long, env = "TIERED_SESSIONS_STORE", value_enum)]
    store: Option<StoreKind>,
    /// Show the session's values too (as text when they decode as a string,
    /// else as hex).
    #[arg(long)]
    show_values: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Arguments of `revoke`.
#[derive(Debug, clap::Args)]
#[command(after_help = format!("{KEYS_HELP}

Exit codes: 0 deleted, 1 nothing to delete (no such stored session or \
listed handle) or a store error, 2 bad arguments or settings."))]
pub struct RevokeArgs {
    /// The id of the stored session to delete (as `inspect` shows it).
    #[arg(
        value_name = "SESSION_ID",
        conflicts_with = "principal",
        required_unless_present = "principal"
    )]
    id: Option<String>,
    /// Revoke sessions of this principal (with --all or --handle).
    #[arg(long, value_name = "USER")]
    principal: Option<String>,
    /// Every session of the principal ("log out everywhere").
    #[arg(long, requires = "principal", conflicts_with = "handle")]
    all: bool,
    /// The session of the principal with this handle (from `inspect --principal`).
    #[arg(long, value_name = "HANDLE", requires = "principal")]
    handle: Option<String>,
    /// The store holding the sessions.
    #[arg(long, env = "TIERED_SESSIONS_STORE", value_enum)]
    store: StoreKind,
    #[command(flatten)]
    config: ConfigArgs,
}

/// The hex secrets of the environment variable `name`, in order.
fn hex_list(name: &str, value: &str) -> Result<Vec<Vec<u8>>, CliError> {
    value
        .split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, hex)| {
            let which = format!("key {} of {name}", i + 1);
            if hex.len() < 64 || hex.len() % 2 != 0 {
                return Err(CliError::Usage(format!(
                    "{which} must be an even number of hex characters, at least 64 (32 bytes)"
                )));
            }
            (0..hex.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&hex[at..at + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| CliError::Usage(format!("{which} is not hexadecimal")))
        })
        .collect()
}

/// The signing keys and store-key secret from the environment.
struct Keys {
    signing: Vec<Vec<u8>>,
    store_secret: Option<Vec<u8>>,
}

impl Keys {
    fn from_env() -> Result<Self, CliError> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let signing = match (var(SIGNING_KEYS_VAR), var(DEMO_KEY_VAR)) {
            (Some(v), _) => hex_list(SIGNING_KEYS_VAR, &v)?,
            (None, Some(v)) => hex_list(DEMO_KEY_VAR, &v)?,
            (None, None) => {
                return Err(CliError::Usage(format!(
                    "set {SIGNING_KEYS_VAR} to the app's signing keys (hex, comma-separated, \
                     newest first)"
                )));
            }
        };
        let store_secret = match var(STORE_KEY_SECRET_VAR) {
            Some(v) => hex_list(STORE_KEY_SECRET_VAR, &v)?.into_iter().next(),
            None => None,
        };
        Ok(Keys {
            signing,
            store_secret,
        })
    }

    /// The app's configuration as far as decoding goes, with `keys`.
    fn config(&self, args: &ConfigArgs, keys: &[Vec<u8>]) -> Result<SessionConfig, CliError> {
        let mut b = SessionConfig::builder(keys)
            .cookie_name(&args.cookie_name)
            .max_cookie_len(args.max_cookie_len)
            .max_cookies(args.max_cookies)
            .absolute_timeout(Duration::from_secs(args.absolute_timeout))
            .idle_timeout((args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)))
            // Not about decoding: small enough for any cookie limit given.
            .cookie_only_threshold(0);
        if let Some(secret) = &self.store_secret {
            b = b.store_key_secret(secret);
        }
        Ok(b.build()?)
    }
}

/// A time as UNIX seconds and RFC 3339 (UTC).
fn time(at: UnixTime) -> Value {
    json!({ "unix": at, "utc": utc(at) })
}

/// `at` as an HTTP date (`Tue, 15 Jan 2027 08:00:00 GMT`).
fn utc(at: UnixTime) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(at))
}

/// `at` relative to `now`, for people.
fn relative(at: UnixTime, now: UnixTime) -> String {
    let d = at.abs_diff(now);
    let span = match d {
        0 => return "now".to_owned(),
        1..120 => format!("{d} s"),
        120..7200 => format!("{} min", d / 60),
        7200..172_800 => format!("{} h", d / 3600),
        _ => format!("{} days", d / 86_400),
    };
    if at > now {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// One value for `--show-values`: a postcard string as text, else hex.
fn show_value(bytes: &[u8]) -> Value {
    match tiered_sessions::codec::decode_value::<String>(bytes) {
        Ok(s) => json!({ "text": s }),
        Err(_) => json!({ "hex": bytes.iter().map(|b| format!("{b:02x}")).collect::<String>() }),
    }
}

/// The session's data as operators see it: keys (reserved ones apart),
/// encoded size, binding, and values when asked.
fn describe_data(data: &SessionData, show_values: bool) -> Value {
    let keys: Vec<&str> = data
        .keys()
        .filter(|k| !inspect::is_reserved_key(k))
        .collect();
    let binding = match inspect::binding(data) {
        Ok(Some(b)) => json!({
            "handle": b.handle.to_text(),
            "bound_at": time(b.bound_at),
            "description": b.description,
        }),
        Ok(None) => Value::Null,
        Err(_) => json!("malformed (the layer treats the session as none)"),
    };
    let mut v = json!({
        "data_bytes": tiered_sessions::codec::data_len(data),
        "keys": keys,
        "bound": binding,
    });
    if show_values {
        v["values"] = data
            .iter()
            .filter(|(k, _)| !inspect::is_reserved_key(k))
            .map(|(k, bytes)| (k.to_owned(), show_value(bytes)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    v
}

fn rejection_text(r: CookieRejection) -> &'static str {
    match r {
        CookieRejection::BadSignature => {
            "bad signature: tampered, signed with a key not in TIERED_SESSIONS_SIGNING_KEYS, \
             or signed for another cookie name (see --cookie-name)"
        }
        CookieRejection::Empty => "empty value",
        CookieRejection::TooLong => {
            "longer than max_cookie_len × max_cookies (see --max-cookie-len)"
        }
        CookieRejection::NotBase64 => "malformed: not base64url",
        CookieRejection::Truncated => "malformed: too short to be a session cookie",
        CookieRejection::UnknownFormat => "signed, but in a format this version does not know",
        CookieRejection::Expired => "expired",
        _ => "malformed: signed, but its body does not decode (or decrypt)",
    }
}

fn rejection_code(r: CookieRejection) -> &'static str {
    match r {
        CookieRejection::BadSignature => "bad-signature",
        CookieRejection::Empty => "empty",
        CookieRejection::TooLong => "too-long",
        CookieRejection::NotBase64 | CookieRejection::Truncated => "malformed",
        CookieRejection::UnknownFormat => "unknown-format",
        CookieRejection::Expired => "expired",
        _ => "malformed",
    }
}

/// The names of the cookies in a header value.
fn cookie_names(header: &str) -> Vec<String> {
    header
        .split(';')
        .filter_map(|pair| pair.split_once('=').map(|(n, _)| n.trim().to_owned()))
        .filter(|n| !n.is_empty())
        .collect()
}

/// The value of the cookie `name` in a header value.
fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n.trim() == name).then(|| v.trim())
    })
}

struct Inspector {
    keys: Keys,
    args: ConfigArgs,
    config: SessionConfig,
    now: UnixTime,
}

impl Inspector {
    /// Verify one value; on success which key (0-based) of the ring verified it.
    fn verify(
        &self,
        value: &[u8],
        chunked: bool,
    ) -> Result<(InspectedCookie, usize), CookieRejection> {
        let cookie = inspect::inspect_cookie(&self.config, value, chunked)?;
        // The ring said which key in as far as first or not; one key at a
        // time says which.
        let index = (0..self.keys.signing.len())
            .find(|&i| {
                self.keys
                    .config(&self.args, &self.keys.signing[i..=i])
                    .is_ok_and(|c| inspect::inspect_cookie(&c, value, chunked).is_ok())
            })
            .unwrap_or(usize::from(cookie.signed_with_old_key));
        Ok((cookie, index))
    }

    /// Whether a value rejected under the configured name verifies under
    /// `name` instead.
    fn verifies_as(&self, name: &str, value: &str) -> bool {
        let args = ConfigArgs {
            cookie_name: name.to_owned(),
            ..self.args.clone()
        };
        self.keys
            .config(&args, &self.keys.signing)
            .is_ok_and(|c| inspect::inspect_cookie(&c, value.as_bytes(), false).is_ok())
    }
}

/// The report on one verified cookie, and whether the session is valid.
async fn report_cookie(
    ins: &Inspector,
    cookie: &InspectedCookie,
    key: usize,
    manager: Option<&SessionManager>,
    show_values: bool,
) -> Result<(Value, bool, Vec<String>), CliError> {
    let now = ins.now;
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    let expired = cookie.is_expired(now);
    let cause = match cookie.expiry_cause(&ins.config) {
        ExpiryCause::Idle => "idle",
        ExpiryCause::Absolute => "absolute",
    };
    if expired {
        problems.push(format!(
            "expired ({cause} timeout) at {} ({})",
            utc(cookie.expires_at),
            relative(cookie.expires_at, now)
        ));
    }
    let n = ins.keys.signing.len();
    lines.push(format!(
        "signed by key {} of {n}{}",
        key + 1,
        if key == 0 {
            " (the current key)"
        } else {
            " (an older key: the app re-issues the cookie under key 1)"
        }
    ));
    lines.push(format!("session id: {}", cookie.id.to_text()));
    lines.push(format!(
        "cookie: {} bytes, {}{}",
        cookie.value_len,
        if cookie.chunked {
            "split into chunks"
        } else {
            "one cookie"
        },
        if cookie.encrypted { ", encrypted" } else { "" }
    ));
    let mut record_json = Value::Null;
    let mut data_json = Value::Null;
    let location = match cookie.storage {
        CookieStorage::CookieOnly => {
            if let Some(data) = &cookie.data {
                data_json = describe_data(data, show_values);
            }
            "cookie-only"
        }
        CookieStorage::Store => {
            match manager {
                None => {
                    lines.push(
                        "the data is in the store: pass --store to look the record up".into(),
                    );
                    record_json = json!({ "looked_up": false });
                }
                Some(m) => match m.load_by_id(&cookie.id).await? {
                    Some(record) => {
                        data_json = describe_data(&record.data, show_values);
                        record_json = record_json_of(&record, now);
                    }
                    None => {
                        problems.push(
                            "no live record in the store (expired, revoked, logged out, or another \
                             store or store-key secret)"
                                .into(),
                        );
                        record_json = json!({ "looked_up": true, "found": false });
                    }
                },
            }
            "store"
        }
    };
    lines.push(format!("lives in: {location}"));
    lines.push(format!(
        "created: {} ({})",
        utc(cookie.created_at),
        relative(cookie.created_at, now)
    ));
    lines.push(format!(
        "last activity: {} ({})",
        utc(cookie.last_active),
        relative(cookie.last_active, now)
    ));
    lines.push(format!(
        "cookie expires: {} ({}; {cause} timeout)",
        utc(cookie.expires_at),
        relative(cookie.expires_at, now)
    ));
    if record_json.get("found").and_then(Value::as_bool) == Some(true) {
        lines.push(format!(
            "record: version {}, expires {}",
            record_json["version"],
            record_json["expires_at"]["utc"]
                .as_str()
                .unwrap_or_default()
        ));
    }
    if !data_json.is_null() {
        lines.push(format!("data: {} bytes", data_json["data_bytes"]));
        let keys: Vec<&str> = data_json["keys"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        lines.push(format!(
            "keys: {}",
            if keys.is_empty() {
                "(none)".to_owned()
            } else {
                keys.join(", ")
            }
        ));
        if let Some(b) = data_json["bound"].as_object() {
            lines.push(format!(
                "bound to a principal: handle {}, since {}",
                b["handle"].as_str().unwrap_or_default(),
                b["bound_at"]["utc"].as_str().unwrap_or_default()
            ));
        }
        if let Some(values) = data_json.get("values").and_then(Value::as_object) {
            for (k, v) in values {
                let shown = match (v.get("text"), v.get("hex")) {
                    (Some(text), _) => text.to_string(),
                    (None, Some(hex)) => format!("0x{}", hex.as_str().unwrap_or_default()),
                    (None, None) => v.to_string(),
                };
                lines.push(format!("  {k} = {shown}"));
            }
        }
    }
    let valid = problems.is_empty();
    let reason = if expired {
        Some("expired")
    } else if !valid {
        Some("not-in-store")
    } else {
        None
    };
    let value = json!({
        "valid": valid,
        "reason": reason,
        "problems": problems,
        "key": { "index": key + 1, "of": n, "current": key == 0 },
        "session_id": cookie.id.to_text(),
        "location": location,
        "chunked": cookie.chunked,
        "encrypted": cookie.encrypted,
        "cookie_bytes": cookie.value_len,
        "created_at": time(cookie.created_at),
        "last_active": time(cookie.last_active),
        "expires_at": time(cookie.expires_at),
        "expiry_cause": cause,
        "expired": expired,
        "record": record_json,
        "data": data_json,
    });
    Ok((value, valid, lines))
}

fn record_json_of(record: &Record, now: UnixTime) -> Value {
    json!({
        "looked_up": true,
        "found": true,
        "version": record.version,
        "created_at": time(record.created_at),
        "last_active": time(record.last_active),
        "expires_at": time(record.expires_at),
        "expires_in_secs": record.remaining_secs(now),
    })
}

fn manager(config: SessionConfig, store: Arc<dyn tiered_sessions::SessionStore>) -> SessionManager {
    SessionManager::with_shared_store(config, store)
}

/// Run `inspect`.
///
/// # Errors
/// [`CliError::Usage`] for missing keys or input, [`CliError::Failure`]
/// for a store error.
pub async fn run(args: Args, out: &Output) -> Result<ExitCode, CliError> {
    let keys = Keys::from_env()?;
    let config = keys.config(&args.config, &keys.signing)?;
    if let Some(principal) = &args.principal {
        let Some(kind) = args.store else {
            return Err(CliError::Usage("--principal needs --store".into()));
        };
        if kind == StoreKind::Memory {
            return Err(memory_store());
        }
        let m = manager(config, stores::open(kind).await?);
        return list(&m, principal, out).await;
    }
    let store = match args.store {
        Some(StoreKind::Memory) => return Err(memory_store()),
        Some(kind) => Some(stores::open(kind).await?),
        None => None,
    };
    let manager = store.map(|s| manager(config.clone(), s));
    let ins = Inspector {
        now: SystemClock.now(),
        args: args.config.clone(),
        config,
        keys,
    };
    // The values to try, each as (chunked, value), and what to say if none.
    let (candidates, ignored, header) = match (&args.cookie, &args.header) {
        (Some(v), None) => (vec![(false, v.trim().as_bytes().to_vec())], 0, None),
        (None, Some(h)) => {
            let h = h.trim();
            let h = match h.split_once(':') {
                Some((name, rest)) if name.trim().eq_ignore_ascii_case("cookie") => rest.trim(),
                _ => h,
            };
            let (found, ignored) = inspect::session_cookies(&ins.config, &[h.as_bytes()]);
            let found = found.into_iter().map(|c| (c.chunked, c.value)).collect();
            (found, ignored, Some(h.to_owned()))
        }
        _ => {
            return Err(CliError::Usage(
                "give a COOKIE_VALUE, --header 'Cookie: …' or --principal USER (see --help)".into(),
            ));
        }
    };
    if candidates.is_empty() {
        let header = header.unwrap_or_default();
        let names = cookie_names(&header);
        let hint = names
            .iter()
            .find(|n| cookie_value(&header, n).is_some_and(|v| ins.verifies_as(n, v)));
        let mut problem = format!(
            "wrong cookie name: the header has no cookie named `{}` (nor its chunks); it has: {}",
            ins.args.cookie_name,
            if names.is_empty() {
                "no cookies".to_owned()
            } else {
                names.join(", ")
            }
        );
        if let Some(n) = hint {
            problem.push_str(&format!(
                "; the cookie `{n}` is a valid session under that name: pass --cookie-name {n}"
            ));
        }
        let value = json!({
            "valid": false,
            "reason": "wrong-name",
            "problems": [problem],
            "cookie_names": names,
            "suggested_cookie_name": hint,
        });
        out.print(&format!("not a valid session: {problem}"), &value);
        return Ok(ExitCode::FAILURE);
    }
    let mut rejections = Vec::new();
    for (chunked, value) in &candidates {
        let mut tried = ins.verify(value, *chunked);
        // A bare value may be joined chunks.
        if args.cookie.is_some() && tried == Err(CookieRejection::BadSignature) {
            tried = ins.verify(value, true).or(tried);
        }
        match tried {
            Ok((cookie, key)) => {
                let (mut value, valid, lines) =
                    report_cookie(&ins, &cookie, key, manager.as_ref(), args.show_values).await?;
                value["ignored_copies"] = ignored.into();
                let head = if valid {
                    "valid session".to_owned()
                } else {
                    format!(
                        "not a valid session: {}",
                        value["problems"]
                            .as_array()
                            .map(|p| p
                                .iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join("; "))
                            .unwrap_or_default()
                    )
                };
                out.print(&format!("{head}\n{}", lines.join("\n")), &value);
                return Ok(if valid {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                });
            }
            Err(r) => rejections.push(r),
        }
    }
    let reasons: Vec<&str> = rejections.iter().map(|r| rejection_text(*r)).collect();
    let value = json!({
        "valid": false,
        "reason": rejection_code(rejections[0]),
        "problems": reasons,
        "candidates": candidates.len(),
    });
    out.print(
        &format!("not a valid session: {}", reasons.join("; ")),
        &value,
    );
    Ok(ExitCode::FAILURE)
}

fn session_json(s: &SessionInfo) -> Value {
    json!({
        "handle": s.handle.to_text(),
        "created_at": time(s.created_at),
        "last_active": time(s.last_active),
        "expires_at": time(s.expires_at),
        "location": match s.location {
            SessionLocation::Cookie => "cookie-only",
            _ => "store",
        },
        "description": s.description,
    })
}

/// `inspect --principal`: the principal's live sessions.
async fn list(m: &SessionManager, principal: &str, out: &Output) -> Result<ExitCode, CliError> {
    let sessions = m.list_sessions(principal, None).await.map_err(no_index)?;
    let mut text = format!("{} live sessions", sessions.len());
    for s in &sessions {
        text.push_str(&format!(
            "\n{}  {}  last active {}  expires {}  {}",
            s.handle,
            if s.location == SessionLocation::Cookie {
                "cookie-only"
            } else {
                "store"
            },
            utc(s.last_active),
            utc(s.expires_at),
            s.description
        ));
    }
    let value = json!({ "sessions": sessions.iter().map(session_json).collect::<Vec<_>>() });
    out.print(&text, &value);
    Ok(ExitCode::SUCCESS)
}

/// The memory store lives inside the app's process: nothing to look at here.
fn memory_store() -> CliError {
    CliError::Usage(
        "the memory store lives inside the app's process; point --store at the app's Redis, \
         DynamoDB or MongoDB"
            .into(),
    )
}

fn no_index(e: Error) -> CliError {
    match e {
        Error::Unsupported { .. } => CliError::Usage(format!(
            "this store keeps no principal index ({e}); use redis, redis-dynamodb, redis-mongodb, \
             dynamodb or mongodb"
        )),
        e => e.into(),
    }
}

/// Run `revoke`.
///
/// # Errors
/// [`CliError::Usage`] for bad arguments or missing keys,
/// [`CliError::Failure`] for a store error.
pub async fn revoke(args: RevokeArgs, out: &Output) -> Result<ExitCode, CliError> {
    let keys = Keys::from_env()?;
    let config = keys.config(&args.config, &keys.signing)?;
    let target = match (&args.id, &args.principal) {
        (Some(id), None) => Target::Id(SessionId::parse(id.trim()).map_err(|_| {
            CliError::Usage("SESSION_ID must be a session id as `inspect` prints it".into())
        })?),
        (None, Some(p)) => match (args.all, &args.handle) {
            (true, None) => Target::All(p.clone()),
            (false, Some(h)) => Target::Handle(
                p.clone(),
                SessionHandle::parse(h.trim()).map_err(|_| {
                    CliError::Usage(
                        "--handle must be a session handle as `inspect --principal` lists it"
                            .into(),
                    )
                })?,
            ),
            _ => {
                return Err(CliError::Usage(
                    "--principal needs --all or --handle HANDLE".into(),
                ));
            }
        },
        _ => {
            return Err(CliError::Usage(
                "give a SESSION_ID or --principal USER (see --help)".into(),
            ));
        }
    };
    if args.store == StoreKind::Memory {
        return Err(memory_store());
    }
    let m = manager(config, stores::open(args.store).await?);
    match target {
        Target::Id(id) => {
            let Some(record) = m.load_by_id(&id).await? else {
                let value = json!({ "deleted": false, "session_id": id.to_text() });
                out.print(
                    "no live stored session with this id: nothing deleted",
                    &value,
                );
                return Ok(ExitCode::FAILURE);
            };
            let bound = inspect::binding(&record.data).ok().flatten();
            m.delete_by_id(&id).await?;
            let mut text = format!("deleted the stored session {}", id.to_text());
            if let Some(b) = &bound {
                text.push_str(&format!(
                    "; it was bound to a principal: handle {} unlisted and denied",
                    b.handle
                ));
            }
            let value = json!({
                "deleted": true,
                "session_id": id.to_text(),
                "handle": bound.map(|b| b.handle.to_text()),
            });
            out.print(&text, &value);
            Ok(ExitCode::SUCCESS)
        }
        Target::All(principal) => {
            let listed = m.list_sessions(&principal, None).await.map_err(no_index)?;
            let n = m.revoke_all_sessions(&principal).await.map_err(no_index)?;
            let mut text = format!("revoked {n} sessions of the principal");
            for s in &listed {
                text.push_str(&format!("\n{}  {}", s.handle, s.description));
            }
            let value = json!({
                "revoked": n,
                "sessions": listed.iter().map(session_json).collect::<Vec<_>>(),
            });
            out.print(&text, &value);
            Ok(ExitCode::SUCCESS)
        }
        Target::Handle(principal, handle) => {
            let listed = m
                .revoke_session(&principal, &handle)
                .await
                .map_err(no_index)?;
            let value = json!({ "revoked": usize::from(listed), "handle": handle.to_text() });
            if listed {
                out.print(
                    &format!("revoked the session {handle} of the principal"),
                    &value,
                );
                Ok(ExitCode::SUCCESS)
            } else {
                out.print(
                    &format!("the principal has no live session {handle}: nothing revoked"),
                    &value,
                );
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

enum Target {
    Id(SessionId),
    All(String),
    Handle(String, SessionHandle),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_http_dates() {
        assert_eq!(utc(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(utc(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn keys_are_hex_and_never_echoed() {
        let k = "ab".repeat(32);
        assert_eq!(hex_list("X", &format!("{k}, {k}")).unwrap().len(), 2);
        for bad in ["abcd", &"zz".repeat(32), &format!("{k}0")] {
            match hex_list("X", bad) {
                Err(CliError::Usage(m)) => assert!(!m.contains(bad), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn header_names_and_values_split() {
        let h = "a=1; sid=xyz ;b";
        assert_eq!(cookie_names(h), ["a", "sid"]);
        assert_eq!(cookie_value(h, "sid"), Some("xyz"));
    }
}
