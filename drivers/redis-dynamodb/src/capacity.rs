//! Read and write capacity units consumed by a [`crate::DynamoStore`]'s
//! session calls, two ways: as the server reports them (every call asks for
//! `ReturnConsumedCapacity: TOTAL`) and as computed from item sizes by
//! DynamoDB's documented rounding rules, for servers that report nothing or
//! report made-up figures (moto answers 0.5 for every read and 1 for every
//! write, whatever the size).
//!
//! The rules (DynamoDB developer guide, "Read/write capacity mode"): a
//! strongly consistent read costs one unit per started 4 KB of the item (an
//! eventually consistent one half that), a read that finds nothing still
//! costs one unit; a write costs one unit per started 1 KB of the larger of
//! the old and new item. Item size is the sum of the attribute names' and
//! values' lengths (a number: about one byte per two significant digits, plus
//! one).

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity};

use crate::item::Item;

/// Capacity units counted so far by one store (and its clones).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CapacityUsage {
    /// Read units the server reported.
    pub reported_read_units: f64,
    /// Write units the server reported.
    pub reported_write_units: f64,
    /// Calls whose answer carried `ConsumedCapacity`.
    pub reported_calls: u64,
    /// Calls whose answer did not (an emulator without it, or a failure).
    pub unreported_calls: u64,
    /// Read units computed from item sizes by the documented rules.
    pub computed_read_units: f64,
    /// Write units computed from item sizes by the documented rules. An
    /// update or a delete does not send the item, so it is counted at the
    /// size of the last item this store read or wrote (exact when sessions
    /// keep their size, an estimate otherwise).
    pub computed_write_units: f64,
}

/// The live counters behind [`CapacityUsage`], in half units (every unit
/// count DynamoDB reports for a single-item call is a multiple of 0.5).
#[derive(Debug, Default)]
pub(crate) struct CapacityMeter {
    reported_read_halves: AtomicU64,
    reported_write_halves: AtomicU64,
    reported_calls: AtomicU64,
    unreported_calls: AtomicU64,
    computed_read_halves: AtomicU64,
    computed_write_halves: AtomicU64,
    last_item_bytes: AtomicU64,
}

/// What is known of the item a call read or wrote.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Size {
    /// Its size in bytes (it is remembered as the last size seen).
    Known(usize),
    /// Not sent nor returned (an update, a delete): the last size seen.
    Last,
    /// No item (a read that found nothing): the minimum charge.
    Miss,
}

/// Which side of the meter a call counts on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Access {
    Read,
    Write,
}

impl CapacityMeter {
    /// Count one call: what the server reported (if anything) and the units
    /// computed for an item of `size`.
    pub(crate) fn record(&self, access: Access, reported: Option<&ConsumedCapacity>, size: Size) {
        match reported.and_then(ConsumedCapacity::capacity_units) {
            Some(units) => {
                let halves = (units * 2.0).round().max(0.0) as u64;
                let counter = match access {
                    Access::Read => &self.reported_read_halves,
                    Access::Write => &self.reported_write_halves,
                };
                counter.fetch_add(halves, Ordering::Relaxed);
                self.reported_calls.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.unreported_calls.fetch_add(1, Ordering::Relaxed);
            }
        }
        let bytes = match size {
            Size::Known(b) => {
                self.last_item_bytes.store(b as u64, Ordering::Relaxed);
                b as u64
            }
            Size::Last => self.last_item_bytes.load(Ordering::Relaxed),
            Size::Miss => 0,
        };
        let (counter, halves) = match access {
            Access::Read => (&self.computed_read_halves, 2 * units(bytes, 4096)),
            Access::Write => (&self.computed_write_halves, 2 * units(bytes, 1024)),
        };
        counter.fetch_add(halves, Ordering::Relaxed);
    }

    /// Count one strongly consistent read of `item` (or of nothing).
    pub(crate) fn read(&self, reported: Option<&ConsumedCapacity>, item: Option<&Item>) {
        let size = item.map_or(Size::Miss, |item| Size::Known(item_size(item)));
        self.record(Access::Read, reported, size);
    }

    pub(crate) fn usage(&self) -> CapacityUsage {
        let units = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / 2.0;
        CapacityUsage {
            reported_read_units: units(&self.reported_read_halves),
            reported_write_units: units(&self.reported_write_halves),
            reported_calls: self.reported_calls.load(Ordering::Relaxed),
            unreported_calls: self.unreported_calls.load(Ordering::Relaxed),
            computed_read_units: units(&self.computed_read_halves),
            computed_write_units: units(&self.computed_write_halves),
        }
    }
}

/// Units for `bytes` at `unit` bytes per unit: at least one.
fn units(bytes: u64, unit: u64) -> u64 {
    bytes.div_ceil(unit).max(1)
}

/// An item's size as DynamoDB bills it: attribute names plus values.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
        AttributeValue::Ns(l) => l.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len()).sum(),
        // Lists and maps: 3 bytes of overhead plus each element (and, in a
        // map, each name) plus one byte per element.
        AttributeValue::L(l) => 3 + l.iter().map(|e| value_size(e) + 1).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| k.len() + value_size(e) + 1)
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// About one byte per two significant digits, plus one.
fn number_size(n: &str) -> usize {
    let digits = n
        .trim_start_matches(['-', '+'])
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    fn blob_item(bytes: usize) -> Item {
        // "pk" + 2-byte key, "d" + bytes.
        Item::from([
            ("pk".to_owned(), AttributeValue::S("ab".into())),
            ("d".to_owned(), AttributeValue::B(Blob::new(vec![0; bytes]))),
        ])
    }

    #[test]
    fn sizes_follow_names_and_values() {
        assert_eq!(item_size(&blob_item(10)), 4 + 1 + 10);
        assert_eq!(number_size("1700000000"), 2);
        assert_eq!(number_size("123456"), 4);
        assert_eq!(number_size("0"), 2);
    }

    #[test]
    fn units_round_up_by_the_documented_rules() {
        let m = CapacityMeter::default();
        // 4 + 1 + 4091 = 4096 bytes: one read unit, four write units.
        m.read(None, Some(&blob_item(4091)));
        m.record(
            Access::Write,
            None,
            Size::Known(item_size(&blob_item(4091))),
        );
        // One byte more: two read units, five write units; then an update of
        // an unknown item counts the last size (five again).
        m.read(None, Some(&blob_item(4092)));
        m.record(
            Access::Write,
            None,
            Size::Known(item_size(&blob_item(4092))),
        );
        m.record(Access::Write, None, Size::Last);
        // A miss costs one read unit.
        m.read(None, None);
        let u = m.usage();
        assert_eq!(u.computed_read_units, 1.0 + 2.0 + 1.0);
        assert_eq!(u.computed_write_units, 4.0 + 5.0 + 5.0);
        assert_eq!(u.unreported_calls, 6);
        assert_eq!(u.reported_calls, 0);
    }

    #[test]
    fn reported_units_are_summed() {
        let m = CapacityMeter::default();
        let half = ConsumedCapacity::builder().capacity_units(0.5).build();
        let three = ConsumedCapacity::builder().capacity_units(3.0).build();
        m.read(Some(&half), None);
        m.record(Access::Write, Some(&three), Size::Known(100));
        let u = m.usage();
        assert_eq!((u.reported_read_units, u.reported_write_units), (0.5, 3.0));
        assert_eq!(u.reported_calls, 2);
    }
}
