//! The cookie codec alone: decode + verify and encode of a ~1 KiB session, and
//! the session-data framing, so the layer figures can be split into parts.
//!
//! The codec is not public API; this bench reaches it through the doc-hidden
//! `tiered_sessions::internals` (feature `__internals`, which the crate's own
//! dev-dependency on itself turns on for benches and tests).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tiered_sessions::codec::{decode_data, encode_data, encode_value};
use tiered_sessions::internals::{CookieToEncode, decode_cookie, encode_cookie};
use tiered_sessions::{SessionConfig, SessionData, SessionId};

fn session() -> SessionData {
    let mut d = SessionData::new();
    d.insert(
        "user".into(),
        encode_value("alice@example.com").expect("encodes"),
    );
    d.insert("role".into(), encode_value("admin").expect("encodes"));
    for i in 0..14 {
        d.insert(
            format!("pref{i:02}"),
            encode_value(&"v".repeat(56)).expect("encodes"),
        );
    }
    d
}

fn config(encrypt: bool) -> SessionConfig {
    SessionConfig::builder([[0x5au8; 32]])
        .encrypt(encrypt)
        .build()
        .expect("valid config")
}

fn bench(c: &mut Criterion) {
    let (plain, sealed_config) = (config(false), config(true));
    let data = session();
    let cookie = CookieToEncode::new(
        SessionId::generate().expect("rng"),
        u64::MAX,
        1,
        1,
        Some(&data),
    );
    let value = encode_cookie(&plain, &cookie).expect("encodes");
    let sealed = encode_cookie(&sealed_config, &cookie).expect("encodes");
    let framed = encode_data(&data);
    let mut g = c.benchmark_group("cookie_codec");
    g.bench_function("decode_verify_1k", |b| {
        b.iter(|| decode_cookie(&plain, black_box(value.as_bytes()), 10))
    });
    g.bench_function("decode_verify_decrypt_1k", |b| {
        b.iter(|| decode_cookie(&sealed_config, black_box(sealed.as_bytes()), 10))
    });
    g.bench_function("encode_sign_1k", |b| {
        b.iter(|| encode_cookie(&plain, black_box(&cookie)))
    });
    g.bench_function("encode_sign_encrypt_1k", |b| {
        b.iter(|| encode_cookie(&sealed_config, black_box(&cookie)))
    });
    g.bench_function("part_base64_decode_1k", |b| {
        b.iter(|| base64_simd::URL_SAFE_NO_PAD.decode_to_vec(black_box(&value)))
    });
    g.bench_function("part_hmac_sha256_1k", |b| {
        use hmac::{KeyInit, Mac};
        let mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&[1u8; 32]).expect("key");
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(framed.as_slice()));
            m.finalize()
        })
    });
    g.bench_function("session_id_generate", |b| b.iter(SessionId::generate));
    g.bench_function("data_decode_1k", |b| {
        b.iter(|| decode_data(black_box(&framed)))
    });
    g.bench_function("data_encode_1k", |b| {
        b.iter(|| encode_data(black_box(&data)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
