//! The demo's page and actions, shared by the axum and the actix-web demo:
//! each framework only extracts the session, the `Cookie` headers and the
//! form, then calls [`act`], [`page`], [`stats_json`] or [`metrics_text`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tiered_sessions::codec::{data_len, encode_value};
use tiered_sessions::{
    Clock, Result, Session, SessionData, SessionHandle, SessionLocation, SystemClock,
};

use super::setup::Demo;

/// The actions, each a `POST /{name}` that answers `303 See Other` to `/`.
pub const ACTIONS: &[&str] = &[
    "counter",
    "login",
    "set",
    "remove",
    "big",
    "shrink",
    "seen",
    "logout",
    "revoke",
    "logout_others",
    "logout_everywhere",
];

/// Keys the demo stores as numbers; every other key holds a string.
const NUMBERS: &[&str] = &["visits", "last_seen"];

/// `GET /counter`: the visit count before this visit, as plain text (for
/// curl: `0`, then `1`, …).
pub async fn counter_text(session: &Session) -> Result<String> {
    Ok(count_visit(session).await?.to_string())
}

/// Count one visit; the count before it.
async fn count_visit(session: &Session) -> Result<u64> {
    let n: u64 = session.get("visits").await?.unwrap_or(0);
    session.insert("visits", &(n + 1)).await?;
    Ok(n)
}

/// Apply the action `name` with its form (query and body fields). Unknown
/// actions and missing fields do nothing.
pub async fn act(session: &Session, name: &str, form: &BTreeMap<String, String>) -> Result<()> {
    let field = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    match name {
        "counter" => {
            count_visit(session).await?;
        }
        "login" => {
            if let Some(user) = field("user") {
                // New privileges, new id: a session id planted before login
                // is worthless.
                session.regenerate_id().await?;
                session.insert("user", user).await?;
                // Bound to the user: listed under "your sessions", and
                // revocable from any of them (cookie-only copies included).
                session.bind_principal(user).await?;
                if let Some(agent) = field("agent") {
                    session.set_description(agent).await?;
                }
            }
        }
        "set" => {
            if let (Some(k), Some(v)) = (field("key"), field("value")) {
                // The number keys change through their own buttons only.
                if !NUMBERS.contains(&k) {
                    session.insert(k, v).await?;
                }
            }
        }
        "remove" => {
            if let Some(k) = field("key") {
                session.remove(k).await?;
            }
        }
        "big" => {
            let kib: usize = field("kib").and_then(|k| k.parse().ok()).unwrap_or(8);
            session
                .insert("big", &"x".repeat(kib.min(256) * 1024))
                .await?;
        }
        "shrink" => {
            session.remove("big").await?;
        }
        "seen" => {
            session
                .insert_quick("last_seen", &SystemClock.now())
                .await?;
        }
        "logout" => session.terminate().await?,
        "revoke" => {
            if let Some(handle) = field("handle").and_then(|h| SessionHandle::parse(h).ok()) {
                session.revoke_session(&handle).await?;
            }
        }
        "logout_others" => {
            session.revoke_other_sessions().await?;
        }
        "logout_everywhere" => {
            session.revoke_other_sessions().await?;
            session.terminate().await?;
        }
        _ => {}
    }
    Ok(())
}

/// The session cookies a request carried: how many (one, or the chunks
/// `name.0`, `name.1`, …) and their total size in bytes.
pub fn cookie_info<'a>(name: &str, headers: impl IntoIterator<Item = &'a [u8]>) -> (usize, usize) {
    let mut count = 0;
    let mut bytes = 0;
    for header in headers {
        for pair in header.split(|b| *b == b';') {
            let pair = pair.trim_ascii();
            let Some(eq) = pair.iter().position(|b| *b == b'=') else {
                continue;
            };
            let (n, v) = (&pair[..eq], &pair[eq + 1..]);
            let chunk = n
                .strip_prefix(name.as_bytes())
                .and_then(|rest| rest.strip_prefix(b"."))
                .is_some_and(|i| !i.is_empty() && i.iter().all(u8::is_ascii_digit));
            if n == name.as_bytes() || chunk {
                count += 1;
                bytes += v.len();
            }
        }
    }
    (count, bytes)
}

/// The session as the page shows it.
async fn data(session: &Session) -> Result<SessionData> {
    let mut data = SessionData::new();
    for key in session.keys().await? {
        let encoded = if NUMBERS.contains(&key.as_str()) {
            session.get::<u64>(&key).await?.map(|v| encode_value(&v))
        } else {
            session.get::<String>(&key).await?.map(|v| encode_value(&v))
        };
        if let Some(bytes) = encoded {
            data.insert(key, bytes?);
        }
    }
    Ok(data)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn shown(session_key: &str, bytes: &[u8]) -> String {
    if NUMBERS.contains(&session_key) {
        return tiered_sessions::codec::decode_value::<u64>(bytes)
            .map_or_else(|_| "?".into(), |n| n.to_string());
    }
    let text: String = tiered_sessions::codec::decode_value(bytes).unwrap_or_default();
    if text.len() > 40 {
        let head: String = text.chars().take(12).collect();
        format!("{head}… ({} KiB)", text.len() / 1024)
    } else {
        text
    }
}

/// `GET /`: the session, where it lives, its cookies, the counters, and a
/// form for every action.
pub async fn page(session: &Session, demo: &Demo, cookies: (usize, usize)) -> Result<String> {
    let data = data(session).await?;
    let size = data_len(&data);
    let user = data
        .get("user")
        .map_or_else(|| "anonymous".to_owned(), |u| shown("user", u));
    let id = session.id().await?.map(|id| id.to_text());
    let lives = match (&id, size > demo.threshold) {
        (None, _) => "nowhere yet (no session)",
        (Some(_), true) => "store",
        (Some(_), false) => "cookie",
    };
    let m = demo.manager.metrics().snapshot();
    let mut rows = String::new();
    for (k, v) in &data {
        let _ = write!(
            rows,
            r#"<tr><td>{k}</td><td>{v}</td><td><form method="post" action="/remove"><input type="hidden" name="key" value="{k}"><button>remove</button></form></td></tr>"#,
            k = escape(k),
            v = escape(&shown(k, v)),
        );
    }
    let counters: String = [
        ("cookie_loads", m.cookie_loads),
        ("store_loads", m.store_loads),
        ("cache_hits", m.cache_hits),
        ("cache_misses", m.cache_misses),
        ("durable_writes", m.durable_writes),
        ("quick_writes", m.quick_writes),
        ("conflicts", m.conflicts),
        ("rejected_cookies", m.rejected_cookies),
    ]
    .iter()
    .map(|(n, v)| format!(r#"<tr><td>{n}</td><td id="m-{n}">{v}</td></tr>"#))
    .collect();
    let sessions = sessions_card(session).await?;
    let visits = data
        .get("visits")
        .map_or_else(|| "0".into(), |v| shown("visits", v));
    Ok(format!(
        include_str!("page.html"),
        user = escape(&user),
        id = id
            .as_deref()
            .map_or("none".into(), |i| format!("{}…", &i[..8])),
        lives = lives,
        size = size,
        threshold = demo.threshold,
        cookie_count = cookies.0,
        cookie_bytes = cookies.1,
        visits = visits,
        rows = rows,
        counters = counters,
        store = demo.store_name,
        sessions = sessions,
    ))
}

/// The logged-in user's sessions (every device), each with a button that
/// logs it out; empty for an anonymous session.
async fn sessions_card(session: &Session) -> Result<String> {
    if !session.is_bound().await? {
        return Ok(String::new());
    }
    let now = SystemClock.now();
    let mut rows = String::new();
    for info in session.list_sessions().await? {
        let handle = info.handle.to_text();
        let place = match info.location {
            SessionLocation::Cookie => "cookie",
            SessionLocation::Store => "store",
        };
        let button = if info.current {
            "<b>this one</b>".to_owned()
        } else {
            format!(
                r#"<form method="post" action="/revoke"><input type="hidden" name="handle" value="{handle}"><button>log out this one</button></form>"#
            )
        };
        let _ = write!(
            rows,
            r#"<tr class="device"><td>{short}…</td><td>{description}</td><td>{place}</td><td>{age} s ago</td><td>{button}</td></tr>"#,
            short = &handle[..8],
            description = escape(&info.description),
            age = now.saturating_sub(info.last_active),
        );
    }
    Ok(format!(
        r#"<div class="card" id="sessions"><h2>Your sessions</h2><table>{rows}</table>
<form method="post" action="/logout_others"><button>log out all others</button></form>
<form method="post" action="/logout_everywhere"><button>log out everywhere</button></form></div>"#
    ))
}

/// `GET /stats`: the counters as JSON.
pub fn stats_json(demo: &Demo) -> String {
    let m = demo.manager.metrics().snapshot();
    serde_json::json!({
        "cookie_loads": m.cookie_loads,
        "store_loads": m.store_loads,
        "rejected_cookies": m.rejected_cookies,
        "cache_hits": m.cache_hits,
        "cache_misses": m.cache_misses,
        "cache_errors": m.cache_errors,
        "cache_circuit_opens": m.cache_circuit_opens,
        "cache_calls_skipped": m.cache_calls_skipped,
        "writes_refused_cache_outage": m.writes_refused_cache_outage,
        "durable_reads": m.durable_reads,
        "durable_writes": m.durable_writes,
        "quick_writes": m.quick_writes,
        "conflicts": m.conflicts,
        "save_failures": m.save_failures,
    })
    .to_string()
}

/// `GET /metrics`: every counter and the store-call latency histograms, in
/// the Prometheus text format.
pub fn metrics_text(demo: &Demo) -> String {
    demo.prometheus.render()
}

/// The `Content-Type` of [`metrics_text`].
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Form fields from a query string and a urlencoded body (body wins).
pub fn form(query: &str, body: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in [query.as_bytes(), body] {
        for pair in part.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            out.insert(decode(k), decode(v));
        }
    }
    out
}

fn decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
