//! One session as a DynamoDB item, and back.
//!
//! | attribute | type | holds |
//! | --- | --- | --- |
//! | `pk` | S | the store key (partition key) |
//! | `v` | N | version |
//! | `exp` | N | expires_at, UNIX seconds (also the table's TTL attribute) |
//! | `ca` | N | created_at |
//! | `la` | N | last_active |
//! | `d` | B | the data, `tiered_sessions::codec::encode_data` |

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use tiered_sessions::codec::{decode_data, encode_data, record_len_with_data};
use tiered_sessions::{Error, Record, Result, StoreKey, UnixTime};

pub(crate) const PK: &str = "pk";
pub(crate) use tiered_sessions::fields::{
    CREATED_AT as CREATED, DATA, EXPIRES_AT as EXPIRES, LAST_ACTIVE as ACTIVE, VERSION,
};

/// DynamoDB's item size limit (400 KB, names and values together).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Room kept for the key, attribute names and numbers (at most 64 + 12 + 5 × 21
/// bytes), so a record whose encoding fits [`MAX_RECORD_BYTES`] always fits
/// in an item.
const ITEM_OVERHEAD: usize = 512;

/// The largest record (as `tiered_sessions::codec::encode_record` measures it)
/// the DynamoDB tier stores; larger saves fail with [`Error::TooLarge`] before
/// anything is sent.
pub const MAX_RECORD_BYTES: usize = MAX_ITEM_BYTES - ITEM_OVERHEAD;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn num(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

pub(crate) fn key_of(key: &StoreKey) -> Item {
    HashMap::from([(PK.to_owned(), AttributeValue::S(key.as_str().to_owned()))])
}

/// The item for `record`, or [`Error::TooLarge`] if its encoding is above `limit`.
pub(crate) fn to_item(key: &StoreKey, record: &Record, limit: usize) -> Result<Item> {
    let data = encode_data(&record.data);
    let size = record_len_with_data(record, data.len());
    if size > limit {
        return Err(Error::TooLarge { size, limit });
    }
    let mut item = key_of(key);
    item.insert(VERSION.to_owned(), num(record.version));
    item.insert(EXPIRES.to_owned(), num(record.expires_at));
    item.insert(CREATED.to_owned(), num(record.created_at));
    item.insert(ACTIVE.to_owned(), num(record.last_active));
    item.insert(DATA.to_owned(), AttributeValue::B(Blob::new(data)));
    Ok(item)
}

pub(crate) fn get_num(item: &Item, name: &str) -> Result<u64> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n
            .parse()
            .map_err(|_| Error::codec(format!("attribute `{name}` is not a u64"))),
        _ => Err(Error::codec(format!(
            "attribute `{name}` is missing or not a number"
        ))),
    }
}

/// The record in `item`.
///
/// # Errors
/// [`Error::Codec`] for a missing or malformed attribute, or data larger than
/// `limit` (an item this driver would never have written: it is not decoded).
pub(crate) fn from_item(item: &Item, limit: usize) -> Result<Record> {
    let data = match item.get(DATA) {
        Some(AttributeValue::B(b)) if b.as_ref().len() > limit => {
            return Err(Error::codec(format!(
                "stored session data of {} bytes exceeds the record limit of {limit}",
                b.as_ref().len()
            )));
        }
        Some(AttributeValue::B(b)) => decode_data(b.as_ref())?,
        _ => return Err(Error::codec("attribute `d` is missing or not binary")),
    };
    Ok(Record {
        data,
        version: get_num(item, VERSION)?,
        expires_at: get_num(item, EXPIRES)?,
        created_at: get_num(item, CREATED)?,
        last_active: get_num(item, ACTIVE)?,
    })
}

/// Whether an item (as returned by a failed condition) is live at `now`.
pub(crate) fn live_version(item: Option<&Item>, now: UnixTime) -> Result<Option<u64>> {
    let Some(item) = item.filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    if get_num(item, EXPIRES)? <= now {
        return Ok(None);
    }
    get_num(item, VERSION).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiered_sessions::codec::encode_record;
    use tiered_sessions_conformance::kit::{sample_key as key, sample_record};

    /// The kit's sample record holding only `size` bytes under `blob`.
    fn record(size: usize) -> Record {
        Record {
            data: [("blob".to_owned(), vec![7; size])].into(),
            ..sample_record()
        }
    }

    #[test]
    fn item_round_trips() {
        let r = record(10);
        assert_eq!(
            from_item(
                &to_item(&key(), &r, MAX_RECORD_BYTES).unwrap(),
                MAX_RECORD_BYTES
            )
            .unwrap(),
            r
        );
    }

    #[test]
    fn too_large_is_typed_and_the_limit_fits_an_item() {
        let at_limit = |extra: isize| {
            let mut r = record(0);
            let base = encode_record(&r).len();
            let size = (MAX_RECORD_BYTES as isize - base as isize + extra) as usize;
            r = record(size);
            r
        };
        let fits = at_limit(-4);
        assert!(encode_record(&fits).len() <= MAX_RECORD_BYTES);
        let item = to_item(&key(), &fits, MAX_RECORD_BYTES).unwrap();
        let approx: usize = item
            .iter()
            .map(|(k, v)| {
                k.len()
                    + match v {
                        AttributeValue::S(s) => s.len(),
                        AttributeValue::N(n) => n.len(),
                        AttributeValue::B(b) => b.as_ref().len(),
                        _ => 0,
                    }
            })
            .sum();
        assert!(approx < MAX_ITEM_BYTES);
        let over = at_limit(8);
        assert!(matches!(
            to_item(&key(), &over, MAX_RECORD_BYTES),
            Err(Error::TooLarge {
                limit: MAX_RECORD_BYTES,
                ..
            })
        ));
    }

    #[test]
    fn malformed_items_are_codec_errors() {
        let mut item = to_item(&key(), &record(1), MAX_RECORD_BYTES).unwrap();
        assert!(matches!(from_item(&item, 4), Err(Error::Codec { .. })));
        item.insert(VERSION.into(), AttributeValue::S("x".into()));
        assert!(matches!(
            from_item(&item, MAX_RECORD_BYTES),
            Err(Error::Codec { .. })
        ));
        item.remove(DATA);
        assert!(matches!(
            from_item(&item, MAX_RECORD_BYTES),
            Err(Error::Codec { .. })
        ));
    }
}
