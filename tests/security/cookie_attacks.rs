//! Attacks on the cookie itself: tampering, splicing, swapping, foreign and
//! retired keys, expiry, header floods, encrypted payloads, caching and
//! configuration injection. None of them may reach the store.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use base64_simd::URL_SAFE_NO_PAD;
use tiered_sessions::internals::{CookieRejection, decode_cookie};
use tiered_sessions::{Error, SessionConfig, SessionConfigBuilder, SessionManager};

use crate::common::{Jar, KEY, app, send_cookie_headers, send_raw};
use crate::fixture::Fixture;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `value` sent as the session cookie reads no session, sets no cookie.
async fn no_session(app: &Router, cookie: &str) {
    let r = send_raw(app, "GET", "/get/user", Some(cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{cookie}");
    assert_eq!(r.body, "none", "{cookie}");
    assert!(r.set_cookie.is_empty(), "{cookie}: {:?}", r.set_cookie);
}

/// A jar holding a session with `user=alice`.
async fn logged_in(app: &Router) -> Jar {
    let mut jar = Jar::default();
    let r = jar.send(app, "POST", "/set/user/alice").await;
    assert_eq!(r.status, StatusCode::OK);
    jar
}

/// CWE-345 (insufficient verification of data authenticity); the base64
/// malleability behind several signed-cookie advisories: a changed character
/// that decodes to the same bytes would be a second valid spelling.
pub async fn attack_01_any_single_byte_change_is_no_session(f: Fixture) {
    for threshold in [0, 2048] {
        let app = f.app(|b| b.cookie_only_threshold(threshold));
        let value = logged_in(&app).await.value("session");
        let calls = f.store.calls();
        for at in 0..value.len() {
            for &with in ALPHABET.iter().chain(b"=.%+/ !") {
                if value.as_bytes()[at] == with {
                    continue;
                }
                let mut changed = value.clone().into_bytes();
                changed[at] = with;
                let changed = String::from_utf8(changed).unwrap();
                no_session(&app, &format!("session={changed}")).await;
            }
        }
        assert_eq!(
            f.store.calls(),
            calls,
            "a tampered cookie reached the store"
        );
    }
    // A cookie-only session split over chunks: one change in any chunk.
    let app = f.app(|b| b.max_cookie_len(800));
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/big/1500").await;
    let chunks: Vec<String> = (0..)
        .map_while(|i| jar.get(&format!("session.{i}")).map(str::to_owned))
        .collect();
    assert!(chunks.len() >= 2, "not chunked: {:?}", jar.names());
    let header = |chunks: &[String]| {
        let pairs: Vec<String> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| format!("session.{i}={c}"))
            .collect();
        pairs.join("; ")
    };
    let r = send_raw(&app, "GET", "/get/big", Some(&header(&chunks))).await;
    assert_eq!(r.body.len(), 1500, "the intact chunks read back");
    for (n, chunk) in chunks.iter().enumerate() {
        for at in 0..chunk.len() {
            let mut changed = chunks.clone();
            let mut bytes = chunk.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            changed[n] = String::from_utf8(bytes).unwrap();
            let r = send_raw(&app, "GET", "/get/big", Some(&header(&changed))).await;
            assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "none"));
        }
    }
}

/// The cookie-signature append bug (an unsign that compared only a prefix
/// accepted bytes after a valid signature).
pub async fn attack_02_bytes_appended_after_the_signature_are_rejected(f: Fixture) {
    for threshold in [0, 2048] {
        let app = f.app(|b| b.cookie_only_threshold(threshold));
        let value = logged_in(&app).await.value("session");
        let tail = &value[value.len() - 4..];
        for extra in ["A", "AA", "AAAA", "=", "==", ".sig", "%00", tail, &value] {
            no_session(&app, &format!("session={value}{extra}")).await;
        }
    }
}

/// The yii2 cookie swap (a MAC that did not bind the cookie's name let one
/// cookie's signed value be replayed as another).
pub async fn attack_03_cookie_swapped_to_another_name_or_chunk_is_rejected(f: Fixture) {
    for threshold in [0, 2048] {
        let user = f.app(|b| b.cookie_only_threshold(threshold));
        let admin = f.app(|b| b.cookie_only_threshold(threshold).cookie_name("admin"));
        let user_value = logged_in(&user).await.value("session");
        let mut admin_jar = Jar::default();
        admin_jar.send(&admin, "POST", "/set/user/root").await;
        let admin_value = admin_jar.value("admin");
        for cookie in [
            format!("admin={user_value}"),
            format!("admin.0={user_value}"),
            format!("session_={user_value}"),
            format!("Session={user_value}"),
        ] {
            no_session(&admin, &cookie).await;
        }
        // The app's own single value presented as its own chunk: chunks are
        // signed under another name than a single cookie, so it is refused
        // too (and the user's session is not adopted from it).
        for cookie in [
            format!("session.0={user_value}"),
            format!(
                "session.0={}; session.1={}",
                &user_value[..20],
                &user_value[20..]
            ),
        ] {
            no_session(&user, &cookie).await;
        }
        for cookie in [
            format!("session={admin_value}"),
            format!("session.0={admin_value}"),
            format!("session.1={admin_value}"),
            format!(
                "session.0={}; session.1={}",
                &admin_value[..20],
                &admin_value[20..]
            ),
        ] {
            no_session(&user, &cookie).await;
        }
    }
}

fn keyed(f: &Fixture, keys: &[[u8; 32]], threshold: usize) -> SessionConfig {
    SessionConfig::builder(keys.iter().copied())
        .store_key_secret([9u8; 32])
        .cookie_only_threshold(threshold)
        .clock(std::sync::Arc::new(f.clock.clone()))
        .build()
        .unwrap()
}

const K1: [u8; 32] = [0x31; 32];
const K2: [u8; 32] = [0x32; 32];

/// CWE-347 (improper verification of a cryptographic signature): a cookie
/// from another deployment's key, or under a key removed from the ring after
/// a rotation, is no session.
pub async fn attack_04_foreign_key_and_retired_key_are_rejected(f: Fixture) {
    for threshold in [0, 2048] {
        let ours = f.app(|b| b.cookie_only_threshold(threshold));
        let other = app(SessionManager::with_shared_store(
            keyed(&f, &[[0x22; 32]], threshold),
            f.store.clone(),
        ));
        let foreign = logged_in(&other).await.value("session");
        no_session(&ours, &format!("session={foreign}")).await;

        let old = app(SessionManager::with_shared_store(
            keyed(&f, &[K1], threshold),
            f.store.clone(),
        ));
        let rotated = app(SessionManager::with_shared_store(
            keyed(&f, &[K2, K1], threshold),
            f.store.clone(),
        ));
        let retired = app(SessionManager::with_shared_store(
            keyed(&f, &[K2], threshold),
            f.store.clone(),
        ));
        let value = logged_in(&old).await.value("session");
        let cookie = format!("session={value}");
        let r = send_raw(&rotated, "GET", "/get/user", Some(&cookie)).await;
        assert_eq!(r.body, "alice", "the ring still verifies the old key");
        no_session(&retired, &cookie).await;
    }
}

/// Flask CVE-2025-47278: fallback keys must only verify, never sign. Every
/// cookie the rotated ring issues (a re-issue of an old cookie, a write, a new
/// session) verifies under the newest key alone and not under the old one.
pub async fn attack_05_rotation_only_the_newest_key_signs(f: Fixture) {
    for threshold in [0, 2048] {
        let newest_only = keyed(&f, &[K2], threshold);
        let old_only = keyed(&f, &[K1], threshold);
        let old = app(SessionManager::with_shared_store(
            old_only.clone(),
            f.store.clone(),
        ));
        let rotated = app(SessionManager::with_shared_store(
            keyed(&f, &[K2, K1], threshold),
            f.store.clone(),
        ));
        let mut jar = logged_in(&old).await;
        let issued_by_old = jar.value("session");
        let mut issued = Vec::new();
        let reissue = jar.send(&rotated, "GET", "/get/user").await;
        assert_eq!(reissue.body, "alice");
        assert!(
            !reissue.set_cookie.is_empty(),
            "an old-key cookie is re-issued"
        );
        issued.push(jar.value("session"));
        jar.send(&rotated, "POST", "/set/cart/3").await;
        issued.push(jar.value("session"));
        issued.push(logged_in(&rotated).await.value("session"));
        let now = tiered_sessions::Clock::now(&f.clock);
        for value in issued {
            assert_ne!(value, issued_by_old);
            let decoded = decode_cookie(&newest_only, value.as_bytes(), now)
                .expect("signed by the newest key");
            assert!(!decoded.signed_with_old_key);
            assert_eq!(
                decode_cookie(&old_only, value.as_bytes(), now),
                Err(CookieRejection::BadSignature),
                "the retired key signed a cookie"
            );
        }
    }
}

/// CWE-613 (insufficient session expiration): expiry travels inside the
/// signed cookie, so an expired cookie (idle or absolute) is refused before
/// any store call.
pub async fn attack_06_expired_cookie_is_rejected_without_store_io(f: Fixture) {
    for threshold in [0, 2048] {
        // Idle: 24 h without a request.
        let app = f.app(|b| b.cookie_only_threshold(threshold));
        let mut jar = logged_in(&app).await;
        f.clock.advance(Duration::from_secs(24 * 3600));
        let calls = f.store.calls();
        assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "none");
        assert_eq!(
            f.store.calls(),
            calls,
            "an idle-expired cookie cost store I/O"
        );
        // Absolute: active every 50 minutes, ended after 2 h all the same.
        let app = f.app(|b| {
            b.cookie_only_threshold(threshold)
                .absolute_timeout(Duration::from_secs(7200))
        });
        let mut jar = logged_in(&app).await;
        for _ in 0..2 {
            f.clock.advance(Duration::from_secs(3000));
            assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "alice");
        }
        f.clock.advance(Duration::from_secs(1201));
        let calls = f.store.calls();
        assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "none");
        assert_eq!(
            f.store.calls(),
            calls,
            "an absolute-expired cookie cost store I/O"
        );
    }
}

/// CWE-400 (uncontrolled resource consumption): huge `Cookie` headers,
/// thousands of cookies, chunk bombs and many `Cookie` header lines decode at
/// most a bounded number of candidates, and never reach the store.
pub async fn attack_13_oversized_headers_and_chunk_bombs_are_bounded(f: Fixture) {
    let manager = f.manager(|b| b);
    let app = app(manager.clone());
    let value = logged_in(&app).await.value("session");
    let bombs: Vec<Vec<String>> = vec![
        vec!["session=AA; ".repeat(5_460)],
        vec![(0..5_000).map(|i| format!("c{i}=v{i}; ")).collect()],
        vec![(0..1_000).map(|i| format!("session.{i}=QUJD; ")).collect()],
        vec![
            (0..1_000)
                .map(|i| format!("session.{}={value}; ", i % 4))
                .collect(),
        ],
        vec![format!("session={}", "A".repeat(1 << 20))],
        vec![format!("session.0={}", "A".repeat(1 << 20))],
        (0..1_000).map(|i| format!("session=x{i}")).collect(),
    ];
    let calls = f.store.calls();
    for headers in bombs {
        let before = manager.metrics().snapshot().rejected_cookies;
        let r = send_cookie_headers(&app, "GET", "/get/user", &headers).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, "none");
        assert!(r.set_cookie.is_empty());
        let decoded = manager.metrics().snapshot().rejected_cookies - before;
        assert!(decoded <= 4, "{decoded} candidates decoded for one request");
    }
    assert_eq!(f.store.calls(), calls, "a bogus header reached the store");
}

/// CWE-353 / CWE-347: an encrypted cookie whose ciphertext was changed,
/// whose nonce was swapped for another cookie's, or whose AEAD tag was cut
/// short is no session; and the plaintext never shows.
pub async fn attack_14_tampered_encrypted_cookies_are_rejected(f: Fixture) {
    // Header (58 bytes), nonce (24), ciphertext, AEAD tag (16), HMAC (32).
    const BODY: usize = 58;
    const NONCE: usize = 24;
    let app = f.app(|b| b.encrypt(true));
    let raw = |jar: &Jar| URL_SAFE_NO_PAD.decode_to_vec(jar.value("session")).unwrap();
    let a = raw(&logged_in(&app).await);
    let b = raw(&logged_in(&app).await);
    assert!(!a.windows(5).any(|w| w == b"alice"), "plaintext visible");
    let hmac_at = a.len() - 32;
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for at in [BODY + NONCE, hmac_at - 17, hmac_at - 1] {
        let mut c = a.clone();
        c[at] ^= 0x01;
        cases.push(c);
    }
    let mut swapped = a.clone();
    swapped[BODY..BODY + NONCE].copy_from_slice(&b[BODY..BODY + NONCE]);
    cases.push(swapped);
    for cut in [1, 8, 16] {
        let mut c = a.clone();
        c.drain(hmac_at - cut..hmac_at);
        cases.push(c);
    }
    let mut spliced = b[..BODY + NONCE].to_vec();
    spliced.extend_from_slice(&a[BODY + NONCE..]);
    cases.push(spliced);
    cases.push(a[..hmac_at].to_vec());
    let calls = f.store.calls();
    for c in cases {
        no_session(
            &app,
            &format!("session={}", URL_SAFE_NO_PAD.encode_to_string(c)),
        )
        .await;
    }
    assert_eq!(f.store.calls(), calls);
}

/// CWE-524 / CWE-525 (sensitive data in a shared or browser cache): every
/// response that sets a session cookie says `Vary: Cookie` and
/// `Cache-Control: no-store`; a store failure answers an empty 5xx (CWE-209:
/// no internal detail in the body).
pub async fn attack_16_cookie_responses_are_not_cacheable_and_errors_are_empty(f: Fixture) {
    let app = f.app(|b| b.cookie_only_threshold(64));
    let mut jar = Jar::default();
    let mut setting = Vec::new();
    for (method, path) in [
        ("POST", "/set/user/alice"),
        ("POST", "/big/4096"),
        ("POST", "/regenerate"),
        ("POST", "/remove/big"),
        ("POST", "/terminate"),
    ] {
        let r = jar.send(&app, method, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(!r.set_cookie.is_empty(), "{path} sets a cookie");
        setting.push((path, r));
    }
    for (path, r) in &setting {
        let has = |name: &str, want: &str| {
            r.headers.get_all(name).iter().any(|v| {
                v.to_str()
                    .unwrap()
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case(want))
            })
        };
        assert!(has("vary", "cookie"), "{path}: {:?}", r.headers);
        assert!(has("cache-control", "no-store"), "{path}: {:?}", r.headers);
    }
    let stored = f.app(|b| b.cookie_only_threshold(0));
    f.store
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let r = Jar::default().send(&stored, "POST", "/set/user/bob").await;
    f.store
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(r.status.is_server_error(), "{}", r.status);
    assert!(r.body.is_empty(), "error body: {:?}", r.body);
    assert!(r.set_cookie.is_empty());
}

/// CWE-113 (HTTP response splitting): a cookie name, path or domain with
/// `;`, CR or LF is refused when the configuration is built.
pub async fn attack_17_header_injection_through_configuration_is_refused(_f: Fixture) {
    type Change = Box<dyn Fn(SessionConfigBuilder) -> SessionConfigBuilder>;
    let mut bad: Vec<(String, Change)> = Vec::new();
    for v in [
        "se;ssion",
        "session\r\nSet-Cookie: evil=1",
        "ses\nsion",
        "a b",
        "",
    ] {
        bad.push((format!("name {v:?}"), Box::new(move |b| b.cookie_name(v))));
    }
    for v in ["/;Domain=evil.example", "/\r\nX-Evil: 1", "/a\nb", "/\0"] {
        bad.push((format!("path {v:?}"), Box::new(move |b| b.path(v))));
    }
    for v in [
        "example.com; Secure",
        "example.com\r\nX: 1",
        "exa\nmple.com",
        "a .com",
    ] {
        bad.push((format!("domain {v:?}"), Box::new(move |b| b.domain(v))));
    }
    for (what, change) in bad {
        let built = change(SessionConfig::builder([KEY])).build();
        assert!(
            matches!(built, Err(Error::Config { .. })),
            "{what} was accepted"
        );
    }
}

/// CWE-1004 (no HttpOnly), CWE-614 (no Secure), CWE-1275 (SameSite): the
/// defaults a deployment gets without asking, and a host-only cookie.
pub async fn attack_19_cookie_attributes_are_secure_by_default(f: Fixture) {
    let app = app(SessionManager::with_shared_store(
        SessionConfig::builder([KEY]).build().unwrap(),
        f.store.clone(),
    ));
    let r = Jar::default().send(&app, "POST", "/set/user/alice").await;
    let cookie = r
        .set_cookie
        .iter()
        .find(|c| c.starts_with("session="))
        .expect("a session cookie");
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|a| a == attr),
            "{attr} missing: {cookie}"
        );
    }
    assert!(!cookie.contains("Domain="), "not host-only: {cookie}");
}
