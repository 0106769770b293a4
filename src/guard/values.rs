//! The dates, timestamps and intervals a table may hold: GlueSQL adds a day-or-finer interval
//! to a date with chrono's panicking `+` (±262,000 years), so stored values stay within
//! ±100,000 years and one addition of two of them cannot leave chrono's range.

use gluesql_core::{
    chrono::Datelike,
    data::{Interval, Value},
};

/// Years from year 0 a stored date or timestamp, or a stored interval, may span.
pub const MAX_YEARS: i64 = 100_000;

const MICROS_A_YEAR: i64 = 366 * 24 * 3600 * 1_000_000;

/// Refuses a value outside the stored range (see the module), naming it.
pub fn check_value(value: &Value) -> Result<(), String> {
    let years = match value {
        Value::Date(date) => i64::from(date.year()),
        Value::Timestamp(timestamp) => i64::from(timestamp.year()),
        Value::Interval(interval) => interval_years(interval),
        _ => return Ok(()),
    };
    if years.abs() > MAX_YEARS {
        return Err(match value {
            Value::Interval(_) => {
                format!("an INTERVAL longer than {MAX_YEARS} years is not supported")
            }
            _ => format!(
                "{} more than {MAX_YEARS} years from year 0 is not supported",
                kind(value)
            ),
        });
    }
    Ok(())
}

/// Whole years an interval spans, rounded towards zero.
pub fn interval_years(interval: &Interval) -> i64 {
    match interval {
        Interval::Month(months) => i64::from(*months) / 12,
        Interval::Microsecond(micros) => micros / MICROS_A_YEAR,
    }
}

/// An interval's length in microseconds, a month counted as 31 days (an upper bound).
pub fn interval_micros(interval: &Interval) -> i128 {
    match interval {
        Interval::Month(months) => i128::from(*months) * 31 * 24 * 3600 * 1_000_000,
        Interval::Microsecond(micros) => i128::from(*micros),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Date(_) => "a DATE",
        _ => "a TIMESTAMP",
    }
}
