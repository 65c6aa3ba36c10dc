//! The cookie codec alone: decode + verify and encode of a ~1 KiB session, and
//! the session-data framing, so the layer figures can be split into parts.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tiered_sessions::codec::{EncodedData, decode_data, encode_data, encode_value};
use tiered_sessions::cookie::{CookieBody, CookieContents, decode, encode};
use tiered_sessions::{KeyRing, SessionData, SessionId};

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

fn bench(c: &mut Criterion) {
    let ring = KeyRing::new([[0x5au8; 32]]).expect("key");
    let data = session();
    let contents = CookieContents {
        id: SessionId::generate().expect("rng"),
        expires_at: u64::MAX,
        created_at: 1,
        last_active: 1,
        body: CookieBody::Data(EncodedData::encode(&data)),
    };
    let value = encode(&ring, "session", &contents, false).expect("encodes");
    let sealed = encode(&ring, "session", &contents, true).expect("encodes");
    let framed = encode_data(&data);
    let mut g = c.benchmark_group("cookie_codec");
    g.bench_function("decode_verify_1k", |b| {
        b.iter(|| decode(&ring, "session", black_box(value.as_bytes()), 10, 1 << 16))
    });
    g.bench_function("decode_verify_decrypt_1k", |b| {
        b.iter(|| decode(&ring, "session", black_box(sealed.as_bytes()), 10, 1 << 16))
    });
    g.bench_function("encode_sign_1k", |b| {
        b.iter(|| encode(&ring, "session", black_box(&contents), false))
    });
    g.bench_function("encode_sign_encrypt_1k", |b| {
        b.iter(|| encode(&ring, "session", black_box(&contents), true))
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
    g.bench_function("data_decode_1k", |b| {
        b.iter(|| decode_data(black_box(&framed)))
    });
    g.bench_function("data_validate_1k", |b| {
        b.iter(|| EncodedData::from_bytes(black_box(framed.clone())))
    });
    g.bench_function("data_encode_1k", |b| {
        b.iter(|| encode_data(black_box(&data)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
