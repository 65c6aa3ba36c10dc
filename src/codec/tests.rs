//! Tests of `codec`.
use super::*;

fn sample() -> Record {
    let mut data = SessionData::new();
    data.insert("user".into(), encode_value("alice").unwrap());
    data.insert("n".into(), encode_value(&42u32).unwrap());
    data.insert("empty".into(), vec![]);
    Record {
        data,
        expires_at: u64::MAX,
        created_at: 1_700_000_000,
        last_active: 1_700_000_500,
        version: 300,
    }
}

#[test]
fn record_round_trips() {
    let r = sample();
    assert_eq!(decode_record(&encode_record(&r)).unwrap(), r);
    assert_eq!(decode_data(&encode_data(&r.data)).unwrap(), r.data);
}

#[test]
fn lengths_match_the_encoders() {
    for version in [0, 127, 128, 1 << 40, u64::MAX] {
        let mut r = sample();
        r.version = version;
        r.data.insert("blob".into(), vec![7; 300]);
        assert_eq!(record_len(&r), encode_record(&r).len());
        assert_eq!(data_len(&r.data), encode_data(&r.data).len());
        // Appended after a header, the data is what encode_data gives.
        let mut out = b"header".to_vec();
        encode_data_into(&r.data, &mut out);
        assert_eq!(out[6..], encode_data(&r.data));
    }
    assert_eq!(
        record_len(&Record::default()),
        encode_record(&Record::default()).len()
    );
}

#[test]
fn every_truncation_and_extension_is_an_error() {
    let bytes = encode_record(&sample());
    for cut in 0..bytes.len() {
        assert!(decode_record(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_record(&longer).is_err());
}

#[test]
fn hostile_lengths_do_not_allocate_or_panic() {
    // count = u64::MAX-ish, then nothing.
    let bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert!(decode_data(&bytes).is_err());
    let overflow = [0xff; 11];
    assert!(decode_data(&overflow).is_err());
    assert!(decode_record(&[9]).is_err());
    // Duplicate keys are rejected rather than silently merged.
    let mut dup = vec![2];
    for _ in 0..2 {
        dup.extend_from_slice(&[1, b'a', 0]);
    }
    assert!(decode_data(&dup).is_err());
}

#[test]
fn encoded_data_reads_keys_without_decoding() {
    let data = sample().data;
    let enc = EncodedData::encode(&data);
    assert_eq!(enc.get("user"), data.get("user"));
    assert_eq!(enc.get("empty"), Some(&[][..]));
    assert_eq!(enc.get("missing"), None);
    assert_eq!(SessionData::from_encoded(enc.clone()), data);
    assert_eq!(enc.keys().collect::<Vec<_>>(), ["empty", "n", "user"]);
    let again = EncodedData::from_bytes(enc.as_bytes().to_vec()).unwrap();
    assert_eq!(again, enc);
    let bytes = enc.as_bytes();
    for cut in 0..bytes.len() {
        assert!(
            EncodedData::from_bytes(bytes[..cut].to_vec()).is_err(),
            "cut {cut}"
        );
    }
    // Entries encoded in one pass equal the map's encoding, whatever the
    // capacity guess.
    let entries = || data.iter().map(|(k, v)| (k.as_bytes(), v));
    for capacity in [0, 3, enc.len(), 4096] {
        assert_eq!(EncodedData::encode_entries(capacity, entries()), enc);
    }
    // The raw entries read back what was written.
    assert!(enc.raw_entries().eq(entries()));
    // A count of 128 or more takes a longer varint in front of the entries.
    let many: SessionData = (0..300u32)
        .map(|i| (format!("k{i:03}"), i.to_le_bytes().to_vec()))
        .collect();
    let entries = many.iter().map(|(k, v)| (k.as_bytes(), v));
    let one_pass = EncodedData::encode_entries(16, entries);
    assert_eq!(one_pass.as_bytes(), encode_data(&many));
    assert_eq!(SessionData::from_encoded(one_pass), many);
    // Unsorted keys are rejected (the encoder always sorts).
    let unsorted = vec![2, 1, b'b', 0, 1, b'a', 0];
    assert!(EncodedData::from_bytes(unsorted.clone()).is_err());
    // decode_data keeps what the encoder wrote encoded, and still reads
    // unsorted keys (into a map, sorted) as it always did.
    let kept = decode_data(&encode_data(&many)).unwrap();
    assert!(kept.encoded().is_some());
    assert_eq!(kept, many);
    let sorted = decode_data(&unsorted).unwrap();
    assert!(sorted.encoded().is_none());
    assert_eq!(sorted.keys().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn values_decode_as_their_type_or_fail_typed() {
    let v = encode_value(&vec![1u16, 2, 3]).unwrap();
    assert_eq!(decode_value::<Vec<u16>>(&v).unwrap(), vec![1, 2, 3]);
    assert!(matches!(
        decode_value::<String>(&[0xff, 0xff]),
        Err(Error::Codec { .. })
    ));
    // A string read as a number is caught by its leftover bytes.
    let s = encode_value("not-a-number").unwrap();
    assert!(matches!(decode_value::<u64>(&s), Err(Error::Codec { .. })));
}
