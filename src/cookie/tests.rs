//! Tests of `cookie`.
use super::*;
use crate::codec;
use crate::record::SessionData;

fn ring(seed: u8) -> KeyRing {
    KeyRing::new([[seed; 32]]).unwrap()
}

fn contents(body: CookieBody) -> CookieContents {
    CookieContents {
        id: SessionId::generate().unwrap(),
        expires_at: 2_000,
        created_at: 1_000,
        last_active: 1_500,
        body,
    }
}

fn data() -> EncodedData {
    let mut d = SessionData::new();
    d.insert("user".into(), codec::encode_value("alice").unwrap());
    EncodedData::encode(&d)
}

#[test]
fn round_trips_plain_encrypted_and_stored() {
    let r = ring(1);
    for (body, enc) in [
        (CookieBody::Data(data()), false),
        (CookieBody::Data(data()), true),
        (CookieBody::Stored, false),
        (CookieBody::Stored, true),
    ] {
        let c = contents(body);
        let v = encode(&r, "sid", &c, enc).unwrap();
        let d = decode(&r, "sid", v.as_bytes(), 1_999, 8192).unwrap();
        assert_eq!(d.contents, c);
        assert!(!d.signed_with_old_key);
    }
}

#[test]
fn encrypted_cookie_does_not_show_the_data() {
    let mut d = SessionData::new();
    d.insert("secret".into(), b"plain-text-marker".to_vec());
    let r = ring(1);
    let v = encode(
        &r,
        "sid",
        &contents(CookieBody::Data(EncodedData::encode(&d))),
        true,
    )
    .unwrap();
    let raw = URL_SAFE_NO_PAD.decode_to_vec(v).unwrap();
    assert!(!raw.windows(17).any(|w| w == b"plain-text-marker"));
}

#[test]
fn every_tampering_is_rejected() {
    let r = ring(1);
    let c = contents(CookieBody::Data(data()));
    let v = encode(&r, "sid", &c, false).unwrap();
    let dec = |s: &[u8]| decode(&r, "sid", s, 1_100, 8192);
    assert_eq!(dec(b""), Err(CookieRejection::Empty));
    assert_eq!(dec(b"%%%"), Err(CookieRejection::NotBase64));
    assert_eq!(dec(b"AAAA"), Err(CookieRejection::Truncated));
    // Every truncation and every single-byte flip fails.
    for cut in 1..v.len() {
        assert!(dec(&v.as_bytes()[..cut]).is_err(), "cut {cut}");
    }
    let raw = URL_SAFE_NO_PAD.decode_to_vec(&v).unwrap();
    for i in 0..raw.len() {
        let mut t = raw.clone();
        t[i] ^= 0x01;
        let s = URL_SAFE_NO_PAD.encode_to_string(&t);
        assert_eq!(
            dec(s.as_bytes()),
            Err(CookieRejection::BadSignature),
            "flip {i}"
        );
    }
    // Appended garbage.
    let mut appended = v.clone();
    appended.push_str("AAAA");
    assert!(dec(appended.as_bytes()).is_err());
    // Wrong key, wrong name, expired, too long.
    assert_eq!(
        decode(&ring(2), "sid", v.as_bytes(), 1_100, 8192),
        Err(CookieRejection::BadSignature)
    );
    assert_eq!(
        decode(&r, "other", v.as_bytes(), 1_100, 8192),
        Err(CookieRejection::BadSignature)
    );
    assert_eq!(
        decode(&r, "sid", v.as_bytes(), 2_000, 8192),
        Err(CookieRejection::Expired)
    );
    assert_eq!(
        decode(&r, "sid", v.as_bytes(), 1_100, 10),
        Err(CookieRejection::TooLong)
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A small xorshift PRNG: deterministic, no dependency.
    let r = ring(1);
    let good = encode(&r, "sid", &contents(CookieBody::Data(data())), false).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..20_000u32 {
        let len = (next() % 300) as usize;
        let mut bytes: Vec<u8> = if round % 2 == 0 {
            (0..len).map(|_| next() as u8).collect()
        } else {
            // Mostly-valid base64 around a real cookie, mutated.
            let mut b = good.clone().into_bytes();
            let i = (next() as usize) % b.len();
            b[i] = b"ABCxyz019-_=%"[(next() % 13) as usize];
            b.truncate(b.len().min(len + 100));
            b
        };
        if round % 7 == 0 {
            bytes.extend_from_slice(b"==");
        }
        let result = decode(&r, "sid", &bytes, 1_100, 8192);
        // Only an unchanged cookie may pass (a "mutation" can pick the same byte).
        assert_eq!(result.is_ok(), bytes == good.as_bytes(), "round {round}");
    }
}

#[test]
fn rotation_verifies_old_keys_and_flags_them() {
    let old = KeyRing::new([[1u8; 32]]).unwrap();
    let rotated = KeyRing::new([[2u8; 32], [1u8; 32]]).unwrap();
    let c = contents(CookieBody::Data(data()));
    let v = encode(&old, "sid", &c, true).unwrap();
    let d = decode(&rotated, "sid", v.as_bytes(), 1_100, 8192).unwrap();
    assert!(d.signed_with_old_key);
    assert_eq!(d.contents, c);
    let fresh = encode(&rotated, "sid", &c, true).unwrap();
    assert!(decode(&old, "sid", fresh.as_bytes(), 1_100, 8192).is_err());
}

#[test]
fn encoded_len_matches_the_encoder() {
    let r = ring(1);
    for enc in [false, true] {
        let c = contents(CookieBody::Data(data()));
        let v = encode(&r, "sid", &c, enc).unwrap();
        assert_eq!(v.len(), encoded_len(data().len(), enc));
    }
}

#[test]
fn split_covers_the_value() {
    let v = "abcdefghij";
    assert_eq!(split(v, 4), vec!["abcd", "efgh", "ij"]);
    assert_eq!(split(v, 10), vec![v]);
    assert_eq!(split("", 4), vec![""]);
}
