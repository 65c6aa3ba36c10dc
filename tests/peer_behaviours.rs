//! Issue 14, item 3 (Django `test_decode_serializer_exception`, Rack's fixed
//! ciphertexts, actix-session `legacy_format_is_migrated`): cookies that are
//! correctly signed but that this version cannot read are no session, and
//! cookies and records encoded by this version (committed in
//! `tests/vectors/`) stay readable, so an upgrade cannot silently log every
//! user out.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use base64_simd::URL_SAFE_NO_PAD;
use common::*;
use serde_json::Value;
use tiered_sessions::codec::{decode_data, decode_record, decode_value};
use tiered_sessions::internals::{decode_cookie, sign_cookie_payload};
use tiered_sessions::{
    ManualClock, Record, SessionConfig, SessionId, SessionManager, SessionStore,
};
use tiered_sessions_memory::MemoryStore;

/// Bytes of the signature at the end of every cookie.
const TAG_LEN: usize = 32;

/// A correctly signed payload with an unknown format byte, an unknown flag
/// bit or a body this version cannot read: no session (a write gets a fresh
/// id), no store I/O, counted as a rejected cookie.
#[tokio::test]
async fn signed_but_undecodable_cookies_are_no_session() {
    let clock = ManualClock::new(T0);
    let store = Counting::new(MemoryStore::new());
    let manager = SessionManager::with_shared_store(
        builder(&clock).cookie_only_threshold(0).build().unwrap(),
        store.clone(),
    );
    let app = app(manager.clone());
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/user/alice").await;
    let id = jar.send(&app, "GET", "/id").await.body;
    let raw = URL_SAFE_NO_PAD
        .decode_to_vec(jar.value("session").as_bytes())
        .unwrap();
    let payload = &raw[..raw.len() - TAG_LEN];
    let with = |at: usize, byte: u8, body: &[u8]| {
        let mut p = payload.to_vec();
        p[at] = byte;
        p.extend_from_slice(body);
        p
    };
    let variants: [(&str, Vec<u8>); 7] = [
        ("unknown format byte", with(0, 2, &[])),
        ("unknown flag bit", with(1, payload[1] | 0x80, &[])),
        ("stored flag with a body", with(1, 1, &[0, 0, 0, 0])),
        (
            "data with a runaway length",
            with(1, 0, &[0x05, 0xff, 0xff]),
        ),
        (
            "data with keys out of order",
            with(1, 0, &[2, 1, b'b', 0, 1, b'a', 0]),
        ),
        ("data with trailing bytes", with(1, 0, &[0, 9])),
        ("encrypted flag, no valid seal", with(1, 2, &[0x11; 48])),
    ];
    for (what, bad) in variants {
        let mut browser = Jar::default();
        browser.set("session", &sign_cookie_payload(manager.config(), &bad));
        let calls = store.calls();
        let rejected = manager.metrics().snapshot().rejected_cookies;
        let r = browser.send(&app, "GET", "/id").await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::OK, "none"),
            "{what}"
        );
        assert_eq!(store.calls(), calls, "{what}: store I/O");
        assert_eq!(
            manager.metrics().snapshot().rejected_cookies,
            rejected + 1,
            "{what}"
        );
        browser.send(&app, "POST", "/set/k/v").await;
        let fresh = browser.send(&app, "GET", "/id").await.body;
        assert!(SessionId::parse(&fresh).is_ok() && fresh != id, "{what}");
    }
    // The stored session itself is untouched.
    assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "alice");
}

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v1.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn key32(text: &str) -> [u8; 32] {
    unhex(text).try_into().unwrap()
}

fn num(v: &Value, name: &str) -> u64 {
    v[name].as_u64().unwrap()
}

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter().fold(v, |v, p| &v[p]).as_str().unwrap()
}

/// The cookies and the record committed in `tests/vectors/v1.json` decode
/// to what they were encoded from, directly and through the layer.
#[tokio::test]
async fn committed_vectors_still_decode() {
    let v = vectors();
    let (created, last, expires) = (
        num(&v, "created_at"),
        num(&v, "last_active"),
        num(&v, "expires_at"),
    );
    let now = last + 100;
    let key = key32(text(&v, &["signing_key_hex"]));
    let secret = key32(text(&v, &["store_key_secret_hex"]));
    let clock = ManualClock::new(now);
    let config = || {
        SessionConfig::builder([key])
            .store_key_secret(secret)
            .cookie_name(text(&v, &["cookie_name"]))
            .clock(Arc::new(clock.clone()))
    };
    let plain = config().build().unwrap();

    // The record, as a store holds it.
    let record: Record = decode_record(&unhex(text(&v, &["record", "hex"]))).unwrap();
    assert_eq!(
        (
            record.version,
            record.expires_at,
            record.created_at,
            record.last_active
        ),
        (num(&v["record"], "version"), expires, created, last)
    );
    assert_eq!(
        decode_value::<String>(&record.data["user"]).unwrap(),
        "alice"
    );
    assert_eq!(
        decode_value::<Vec<String>>(&record.data["cart"]).unwrap(),
        ["book", "pen"]
    );

    // Each cookie, decoded directly.
    for (name, encrypted, stored) in [
        ("stored_cookie", false, true),
        ("cookie_only", false, false),
        ("cookie_only_encrypted", true, false),
    ] {
        let c = decode_cookie(&plain, text(&v, &[name, "value"]).as_bytes(), now)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(c.id.to_text(), text(&v, &[name, "id"]), "{name}");
        assert_eq!(
            (c.expires_at, c.created_at, c.last_active),
            (expires, created, last),
            "{name}"
        );
        assert_eq!(
            (c.encrypted, c.data.is_none()),
            (encrypted, stored),
            "{name}"
        );
        if let Some(data) = c.data {
            let data = decode_data(&data).unwrap();
            assert_eq!(decode_value::<String>(&data["user"]).unwrap(), "alice");
            assert_eq!(decode_value::<u64>(&data["visits"]).unwrap(), 7);
        }
    }

    // The stored session's key: the same id must still find the same record.
    let stored_id = SessionId::parse(text(&v, &["stored_cookie", "id"])).unwrap();
    let store = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_shared_store(plain, store.clone());
    let store_key = manager.store_key(&stored_id);
    assert_eq!(
        store_key.as_str(),
        text(&v, &["stored_cookie", "store_key"])
    );
    store.create(&store_key, &record, now).await.unwrap();

    // Through the layer, under either encryption setting.
    for encrypt in [false, true] {
        let app = app(SessionManager::with_shared_store(
            config().encrypt(encrypt).build().unwrap(),
            store.clone(),
        ));
        for name in ["cookie_only", "cookie_only_encrypted"] {
            let mut jar = Jar::default();
            jar.set("session", text(&v, &[name, "value"]));
            let r = jar.send(&app, "GET", "/get/user").await;
            assert_eq!(
                (r.status, r.body.as_str()),
                (StatusCode::OK, "alice"),
                "{name}"
            );
            assert_eq!(jar.send(&app, "GET", "/count/visits").await.body, "7");
        }
        let mut jar = Jar::default();
        jar.set("session", text(&v, &["stored_cookie", "value"]));
        assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "alice");
        assert_eq!(jar.send(&app, "GET", "/id").await.body, stored_id.to_text());
    }
}
