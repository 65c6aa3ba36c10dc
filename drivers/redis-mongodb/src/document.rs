//! The BSON document a session record is stored as.
//!
//! `{ _id: <store key>, v: Int64, exp: Date, ca: Int64, la: Int64, d: Binary }`:
//! short field names because they are repeated in every document; `exp` is a
//! BSON date so that a TTL index can sweep on it.

use mongodb::bson::raw::cstr;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{DateTime, RawBinaryRef, RawDocument, RawDocumentBuf};
use tiered_sessions::codec::{decode_data, encode_data, record_len_with_data};
use tiered_sessions::{Error, Record, Result, StoreKey, UnixTime};

/// MongoDB's limit on one BSON document (16 MiB).
pub const MAX_BSON_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// The key field.
pub(crate) const ID: &str = "_id";
/// The record's fields, named as every field-per-part driver names them; the
/// expiry is a BSON date here (what the TTL index sweeps on).
pub(crate) use tiered_sessions::fields::{
    CREATED_AT as CREATED, DATA, EXPIRES_AT as EXPIRES, LAST_ACTIVE, VERSION,
};

/// The latest expiry stored: the last second of the year 9999. A BSON date
/// reaches much further, but drivers built on language date types (Python's
/// among them, as in SecantusDB) refuse later years; later expiries are
/// stored as this one, which is still live for some 8 000 years.
const MAX_DATE_SECS: u64 = 253_402_300_799;

/// A UNIX time as a BSON date, saturating far in the future.
pub(crate) fn date(secs: UnixTime) -> DateTime {
    // In range by construction: MAX_DATE_SECS * 1000 < i64::MAX.
    let millis = i64::try_from(secs.min(MAX_DATE_SECS)).unwrap_or(0) * 1000;
    DateTime::from_millis(millis)
}

/// A time or a version as an Int64. Values past `i64::MAX` cannot occur for
/// times (year 292 billion) and would take 2^63 saves for a version; they
/// saturate rather than wrap, so ordering comparisons in filters stay right.
pub(crate) fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The largest record accepted by default, measured like the conformance
/// suite measures it (`tiered_sessions::codec::encode_record(record).len()`):
/// MongoDB's 16 MiB document limit less 4 KiB for the field names, the key and
/// BSON framing.
pub const MAX_RECORD_BYTES: usize = MAX_BSON_DOCUMENT_BYTES - 4096;

/// The document for `record` under `key`.
///
/// # Errors
/// [`Error::TooLarge`] if the record's encoded size exceeds `limit`, or the
/// document would exceed MongoDB's 16 MiB (possible only with a huge key).
pub(crate) fn to_document(key: &StoreKey, record: &Record, limit: usize) -> Result<RawDocumentBuf> {
    let data = encode_data(&record.data);
    let size = record_len_with_data(record, data.len());
    if size > limit {
        return Err(Error::TooLarge { size, limit });
    }
    // Versions are compared in filters, so they must be stored exactly: one
    // past what an Int64 holds is refused rather than saturated.
    let version = i64::try_from(record.version)
        .map_err(|_| Error::codec("record version beyond what MongoDB's Int64 holds"))?;
    let mut doc = RawDocumentBuf::new();
    doc.append(cstr!("_id"), key.as_str());
    doc.append(cstr!("v"), version);
    doc.append(cstr!("exp"), date(record.expires_at));
    doc.append(cstr!("ca"), int(record.created_at));
    doc.append(cstr!("la"), int(record.last_active));
    doc.append(
        cstr!("d"),
        RawBinaryRef {
            subtype: BinarySubtype::Generic,
            bytes: &data,
        },
    );
    let bson_size = doc.as_bytes().len();
    if bson_size > MAX_BSON_DOCUMENT_BYTES {
        return Err(Error::TooLarge {
            size: bson_size,
            limit: MAX_BSON_DOCUMENT_BYTES,
        });
    }
    Ok(doc)
}

/// The record held in a stored document.
///
/// # Errors
/// [`Error::Codec`] for a document this driver did not write: a missing or
/// mistyped field, a negative time or version, data larger than `limit` (not
/// decoded), or undecodable data.
pub(crate) fn from_document(doc: &RawDocument, limit: usize) -> Result<Record> {
    let expires_millis = doc
        .get_datetime(EXPIRES)
        .map_err(Error::codec)?
        .timestamp_millis();
    let data = match doc.get_binary(DATA).map_err(Error::codec)? {
        RawBinaryRef {
            subtype: BinarySubtype::Generic,
            bytes,
        } if bytes.len() > limit => {
            return Err(Error::codec(format!(
                "stored session data of {} bytes exceeds the record limit of {limit}",
                bytes.len()
            )));
        }
        RawBinaryRef {
            subtype: BinarySubtype::Generic,
            bytes,
        } => decode_data(bytes)?,
        _ => return Err(Error::codec("session data is not a generic BSON binary")),
    };
    Ok(Record {
        data,
        expires_at: unsigned(expires_millis.div_euclid(1000), EXPIRES)?,
        created_at: unsigned(doc.get_i64(CREATED).map_err(Error::codec)?, CREATED)?,
        last_active: unsigned(doc.get_i64(LAST_ACTIVE).map_err(Error::codec)?, LAST_ACTIVE)?,
        version: unsigned(doc.get_i64(VERSION).map_err(Error::codec)?, VERSION)?,
    })
}

fn unsigned(n: i64, field: &'static str) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::codec(format!("negative value in field `{field}`")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiered_sessions_conformance::kit::{sample_key as key, sample_record as record};

    #[test]
    fn field_names_are_the_shared_layout() {
        // `cstr!` needs literals: they must spell the shared names.
        for (literal, name) in [
            (cstr!("v"), VERSION),
            (cstr!("exp"), EXPIRES),
            (cstr!("ca"), CREATED),
            (cstr!("la"), LAST_ACTIVE),
            (cstr!("d"), DATA),
        ] {
            assert_eq!(literal.as_str(), name);
        }
    }

    #[test]
    fn round_trips() {
        let doc = to_document(&key(), &record(), MAX_BSON_DOCUMENT_BYTES).expect("test value");
        assert_eq!(doc.get_str(ID).expect("test value"), key().as_str());
        assert_eq!(
            from_document(&doc, MAX_RECORD_BYTES).expect("test value"),
            record()
        );
        assert!(matches!(from_document(&doc, 8), Err(Error::Codec { .. })));
    }

    #[test]
    fn far_future_expiry_saturates_instead_of_wrapping() {
        let r = Record {
            expires_at: u64::MAX,
            ..record()
        };
        let doc = to_document(&key(), &r, MAX_BSON_DOCUMENT_BYTES).expect("test value");
        let back = from_document(&doc, MAX_RECORD_BYTES).expect("test value");
        assert_eq!(back.expires_at, MAX_DATE_SECS);
        assert!(!back.is_expired(u64::from(u32::MAX)));
    }

    #[test]
    fn size_is_measured_as_the_encoded_record() {
        for version in [0, 127, 128, 1 << 40, i64::MAX as u64] {
            let r = Record {
                version,
                ..record()
            };
            let exact = tiered_sessions::codec::encode_record(&r).len();
            assert!(to_document(&key(), &r, exact).is_ok());
            assert!(matches!(
                to_document(&key(), &r, exact - 1),
                Err(Error::TooLarge { size, limit }) if size == exact && limit == exact - 1
            ));
        }
    }

    #[test]
    fn a_version_beyond_int64_is_refused_not_saturated() {
        let r = Record {
            version: i64::MAX as u64 + 1,
            ..record()
        };
        assert!(matches!(
            to_document(&key(), &r, MAX_RECORD_BYTES),
            Err(Error::Codec { .. })
        ));
    }

    #[test]
    fn the_default_limit_always_fits_in_a_bson_document() {
        let mut r = record();
        // The entry costs its bytes plus 1 (key length) + 4 (key) + 4 (value length).
        let overhead = tiered_sessions::codec::encode_record(&r).len() + 9;
        r.data
            .insert("blob".into(), vec![0; MAX_RECORD_BYTES - overhead]);
        assert_eq!(
            tiered_sessions::codec::encode_record(&r).len(),
            MAX_RECORD_BYTES
        );
        let doc = to_document(&key(), &r, MAX_RECORD_BYTES).expect("fits");
        assert!(doc.as_bytes().len() <= MAX_BSON_DOCUMENT_BYTES);
        // A pathological key is caught by the BSON limit itself.
        let huge_key = StoreKey::from_stored("k".repeat(8192));
        assert!(matches!(
            to_document(&huge_key, &r, MAX_BSON_DOCUMENT_BYTES),
            Err(Error::TooLarge {
                limit: MAX_BSON_DOCUMENT_BYTES,
                ..
            })
        ));
    }

    #[test]
    fn foreign_documents_are_codec_errors() {
        let mut missing = RawDocumentBuf::new();
        missing.append(cstr!("_id"), "k");
        assert!(matches!(
            from_document(&missing, MAX_RECORD_BYTES),
            Err(Error::Codec { .. })
        ));
        let mut negative = RawDocumentBuf::new();
        for (k, v) in [(cstr!("v"), -1i64), (cstr!("ca"), 0), (cstr!("la"), 0)] {
            negative.append(k, v);
        }
        negative.append(cstr!("exp"), DateTime::from_millis(0));
        negative.append(
            cstr!("d"),
            RawBinaryRef {
                subtype: BinarySubtype::Generic,
                bytes: &[0],
            },
        );
        assert!(matches!(
            from_document(&negative, MAX_RECORD_BYTES),
            Err(Error::Codec { .. })
        ));
    }
}
