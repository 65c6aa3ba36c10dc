//! DynamoDB capacity units per request and what they cost on demand.

use tiered_sessions_redis_dynamodb::CapacityUsage;

/// Default price of one million read request units, USD: DynamoDB on-demand,
/// Standard table class, us-east-1, as listed on
/// <https://aws.amazon.com/dynamodb/pricing/on-demand/> since the price cut of
/// 1 November 2024 (checked 2025).
pub const DEFAULT_PRICE_RRU: f64 = 0.125;
/// Default price of one million write request units, USD (same source and date).
pub const DEFAULT_PRICE_WRU: f64 = 0.625;
/// Where the default prices come from, for reports.
pub const PRICE_SOURCE: &str = "DynamoDB on-demand, Standard table class, us-east-1, \
    https://aws.amazon.com/dynamodb/pricing/on-demand/ (prices since 2024-11-01, checked 2025)";

/// Which capacity figures a report uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapacitySource {
    /// The server's `ConsumedCapacity` when it reported it on every call and
    /// its figures agree with the documented rules within 10%; else computed.
    Auto,
    /// The server's `ConsumedCapacity` (calls it did not report count zero).
    Reported,
    /// Computed from item sizes by DynamoDB's documented rounding rules.
    Computed,
}

/// The capacity figures of one configuration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Capacity {
    /// `reported` or `computed`: which figures the per-request units and the
    /// cost use.
    pub source: &'static str,
    /// Read request units per request.
    pub read_units_per_request: f64,
    /// Write request units per request.
    pub write_units_per_request: f64,
    /// USD per million requests at the prices given.
    pub cost_per_million_requests: f64,
    /// Units the server reported (totals over the run).
    pub reported: Totals,
    /// Units computed from item sizes (totals over the run).
    pub computed: Totals,
    /// A remark on the figures (reported and computed disagree, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Read and write units, and how many calls carried a report.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Totals {
    /// Read units.
    pub read_units: f64,
    /// Write units.
    pub write_units: f64,
}

/// The difference `after - before` of a store's capacity counters.
pub fn delta(before: &CapacityUsage, after: &CapacityUsage) -> CapacityUsage {
    CapacityUsage {
        reported_read_units: after.reported_read_units - before.reported_read_units,
        reported_write_units: after.reported_write_units - before.reported_write_units,
        reported_calls: after.reported_calls - before.reported_calls,
        unreported_calls: after.unreported_calls - before.unreported_calls,
        computed_read_units: after.computed_read_units - before.computed_read_units,
        computed_write_units: after.computed_write_units - before.computed_write_units,
    }
}

/// The figures of a run of `requests` that consumed `used`, priced at
/// `price_rru`/`price_wru` USD per million units.
pub fn capacity(
    used: &CapacityUsage,
    requests: u64,
    source: CapacitySource,
    price_rru: f64,
    price_wru: f64,
) -> Capacity {
    let reported = Totals {
        read_units: used.reported_read_units,
        write_units: used.reported_write_units,
    };
    let computed = Totals {
        read_units: used.computed_read_units,
        write_units: used.computed_write_units,
    };
    let total = |t: Totals| t.read_units + t.write_units;
    let all_reported = used.reported_calls > 0 && used.unreported_calls == 0;
    // DynamoDB itself follows its rules; a server far from them is an
    // emulator making figures up (moto answers 0.5 per read, 1 per write).
    let disagree = used.reported_calls > 0
        && (total(reported) - total(computed)).abs() > 0.1 * total(computed);
    let use_reported = match source {
        CapacitySource::Auto => all_reported && !disagree,
        CapacitySource::Reported => true,
        CapacitySource::Computed => false,
    };
    let (chosen, name) = if use_reported {
        (reported, "reported")
    } else {
        (computed, "computed")
    };
    let per = |units: f64| {
        if requests == 0 {
            0.0
        } else {
            units / requests as f64
        }
    };
    let (r, w) = (per(chosen.read_units), per(chosen.write_units));
    let mut notes = Vec::new();
    if used.reported_calls == 0 && used.unreported_calls > 0 {
        notes.push("the server reported no consumed capacity".to_owned());
    } else if used.unreported_calls > 0 {
        notes.push(format!(
            "{} of {} calls carried no consumed capacity (failed conditions, or a server without it)",
            used.unreported_calls,
            used.reported_calls + used.unreported_calls
        ));
    }
    let total = |t: Totals| t.read_units + t.write_units;
    if used.reported_calls > 0 && (total(reported) - total(computed)).abs() > 0.1 * total(computed)
    {
        notes.push(format!(
            "the server's figures ({:.1} RRU + {:.1} WRU) differ from the documented rules \
             ({:.1} + {:.1}): an emulator's made-up figures (moto reports 0.5 per read, 1 per \
             write); `auto` prices the rules' figures",
            reported.read_units, reported.write_units, computed.read_units, computed.write_units
        ));
    }
    Capacity {
        source: name,
        read_units_per_request: r,
        write_units_per_request: w,
        cost_per_million_requests: r * price_rru + w * price_wru,
        reported,
        computed,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(reported: u64, unreported: u64) -> CapacityUsage {
        CapacityUsage {
            reported_read_units: 5.0,
            reported_write_units: 10.0,
            reported_calls: reported,
            unreported_calls: unreported,
            computed_read_units: 10.0,
            computed_write_units: 40.0,
        }
    }

    #[test]
    fn auto_uses_reports_only_when_every_call_had_one() {
        let agreeing = CapacityUsage {
            computed_read_units: 5.0,
            computed_write_units: 10.0,
            ..usage(15, 0)
        };
        let c = capacity(&agreeing, 10, CapacitySource::Auto, 0.125, 0.625);
        assert_eq!(c.source, "reported");
        assert!(c.note.is_none());
        assert_eq!(
            (c.read_units_per_request, c.write_units_per_request),
            (0.5, 1.0)
        );
        assert!((c.cost_per_million_requests - (0.5 * 0.125 + 0.625)).abs() < 1e-12);
        let c = capacity(&usage(15, 0), 10, CapacitySource::Auto, 0.125, 0.625);
        assert_eq!(c.source, "computed");
        assert!(c.note.is_some_and(|n| n.contains("differ")));
        let c = capacity(&usage(15, 0), 10, CapacitySource::Reported, 0.125, 0.625);
        assert_eq!(c.source, "reported");
        let c = capacity(&usage(15, 1), 10, CapacitySource::Auto, 0.125, 0.625);
        assert_eq!(c.source, "computed");
        assert_eq!(c.write_units_per_request, 4.0);
        let c = capacity(&usage(15, 0), 10, CapacitySource::Computed, 1.0, 2.0);
        assert_eq!(c.cost_per_million_requests, 1.0 + 8.0);
    }
}
