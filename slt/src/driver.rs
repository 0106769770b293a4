//! Runs steps through idbsql's own path — `Database` over memory persistence, the same engine,
//! store, planner and parameter code the browser runs — and judges each result as SQLite's
//! sqllogictest does. Knows nothing of files, processes or known failures.

use {
    crate::script::{Expect, Step},
    futures::executor::block_on,
    gluesql_core::data::Value,
    idbsql::{persist::memory::MemoryPersistence, Database},
    md5::{Digest, Md5},
    sqllogictest::SortMode,
};

/// What one step came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Skip,
    /// `message` says what differed or the error the engine gave.
    Fail {
        message: String,
    },
}

/// A labelled query's answer, for comparing the same label across tables: its values sorted,
/// hashed, or that it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelAnswer {
    Values(String),
    Error,
}

pub struct Judged {
    pub outcome: Outcome,
    pub label: Option<(String, LabelAnswer)>,
}

pub struct Driver {
    db: Database<MemoryPersistence>,
}

impl Driver {
    pub fn new() -> Result<Self, String> {
        let db = block_on(Database::open(MemoryPersistence::volatile())).map_err(|e| e.message)?;
        Ok(Self { db })
    }

    pub fn run(&mut self, step: &Step) -> Judged {
        if step.skipped {
            return Judged {
                outcome: Outcome::Skip,
                label: None,
            };
        }
        let result = block_on(self.db.query(&step.sql, &[]));
        match (&step.expect, result) {
            // Our own records must name the error they expect; the corpus's never do (SQLite's
            // messages are not ours).
            (Expect::Error(sqllogictest::ExpectedError::Empty), Err(error)) if step.own_file => {
                fail(format!(
                    "a `statement error` of tests/slt must name the error it expects; it is: {}",
                    error.message
                ))
            }
            (Expect::Error(expected), Err(error)) if expected.is_match(&error.message, None) => {
                pass()
            }
            (Expect::Error(expected), Err(error)) => fail(format!(
                "expected the error {expected}, got: {}",
                error.message
            )),
            (Expect::Error(_), Ok(_)) => fail("expected an error, the statement succeeded"),
            (Expect::StatementOk, Ok(_)) => pass(),
            (Expect::StatementCount(n), Ok(output)) if output.row_count as u64 == *n => pass(),
            (Expect::StatementCount(n), Ok(output)) => fail(format!(
                "expected {n} rows affected, got {}",
                output.row_count
            )),
            (Expect::StatementOk | Expect::StatementCount(_), Err(error)) => {
                fail(format!("error: {}", error.message))
            }
            (Expect::Rows { label, .. }, Err(error)) => Judged {
                outcome: Outcome::Fail {
                    message: format!("error: {}", error.message),
                },
                label: label.clone().map(|label| (label, LabelAnswer::Error)),
            },
            (
                Expect::Rows {
                    types,
                    sort,
                    label,
                    results,
                },
                Ok(output),
            ) => {
                let rows = render(&output.rows, types, format_as);
                let columns = &types.len();
                let label = label
                    .clone()
                    .map(|label| (label, LabelAnswer::Values(sorted_digest(&rows))));
                // A write answers rows only through RETURNING, which names its columns.
                let answers_rows = output.command == "SELECT" || !output.columns.is_empty();
                let outcome = if !answers_rows {
                    Outcome::Fail {
                        message: format!("expected rows, got {}", output.command),
                    }
                } else if output.columns.len() != *columns {
                    Outcome::Fail {
                        message: format!(
                            "expected {columns} columns, got {}",
                            output.columns.len()
                        ),
                    }
                } else {
                    match compare(rows, *sort, step.hash_threshold, results) {
                        Outcome::Fail { message } if casts_to_real(&step.sql) => {
                            // A REAL where the record declares an integer column: SQLite's
                            // harness prints every value through the declared type.
                            let declared = render(&output.rows, types, format_declared);
                            match compare(declared, *sort, step.hash_threshold, results) {
                                Outcome::Pass => Outcome::Fail {
                                    message: format!("{DECLARED_TYPE}: {message}"),
                                },
                                _ => Outcome::Fail { message },
                            }
                        }
                        outcome => outcome,
                    }
                };
                Judged { outcome, label }
            }
        }
    }
}

fn pass() -> Judged {
    Judged {
        outcome: Outcome::Pass,
        label: None,
    }
}

fn fail(message: impl Into<String>) -> Judged {
    Judged {
        outcome: Outcome::Fail {
            message: message.into(),
        },
        label: None,
    }
}

/// A value as SQLite's sqllogictest prints it: integers `%d`, floats `%.3f`, NULL as `NULL`,
/// the empty string as `(empty)`, and characters outside printable ASCII as `@`. SQLite has no
/// boolean type (a comparison is the integer 1 or 0), so booleans print as 1 and 0.
pub fn format_value(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::I8(v) => v.to_string(),
        Value::I16(v) => v.to_string(),
        Value::I32(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::I128(v) => v.to_string(),
        Value::U8(v) => v.to_string(),
        Value::U16(v) => v.to_string(),
        Value::U32(v) => v.to_string(),
        Value::U64(v) => v.to_string(),
        Value::U128(v) => v.to_string(),
        Value::F32(v) => format!("{:.3}", f64::from(*v)),
        Value::F64(v) => format!("{v:.3}"),
        // Rounded as `%.3f` rounds (rust_decimal's `{:.3}` truncates: 2.6129 would print 2.612).
        Value::Decimal(v) => format!(
            "{:.3}",
            v.round_dp_with_strategy(3, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        ),
        Value::Str(s) if s.is_empty() => "(empty)".to_owned(),
        Value::Str(s) => s
            .chars()
            .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
            .collect(),
        other => String::from(other),
    }
}

/// Marks a mismatch that disappears when values print through the record's declared types.
pub const DECLARED_TYPE: &str = "declared-type";

fn casts_to_real(sql: &str) -> bool {
    sql.to_uppercase().contains("AS REAL")
}

fn render(
    rows: &[Vec<Value>],
    types: &[char],
    format: fn(&Value, Option<char>) -> String,
) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(i, value)| format(value, types.get(i).copied()))
                .collect()
        })
        .collect()
}

/// A value printed as SQLite's harness prints every value: through the declared column type
/// (`I`: the integer part, as SQLite converts a REAL to an integer; `R`: `%.3f`).
fn format_declared(value: &Value, declared: Option<char>) -> String {
    let float = match value {
        Value::F64(v) => Some(*v),
        Value::F32(v) => Some(f64::from(*v)),
        _ => None,
    };
    match (float, declared) {
        (Some(f), Some('I')) => (f.trunc() as i64).to_string(),
        _ => format_as(value, declared),
    }
}

/// A value printed for a column the record declares `I` (integer) or `R` (real): SQLite's
/// harness reads every value through the declared type, so a text value there prints as the
/// number SQLite makes of it (its numeric prefix, else 0). Numbers print as what they are, so a
/// FLOAT where SQLite has an integer still shows.
fn format_as(value: &Value, declared: Option<char>) -> String {
    match (value, declared) {
        (Value::Str(text), Some('I')) => integer_prefix(text).to_string(),
        (Value::Str(text), Some('R')) => format!("{:.3}", real_prefix(text)),
        _ => format_value(value),
    }
}

/// SQLite's text-to-integer conversion: leading spaces, a sign, then digits; else 0.
pub(crate) fn integer_prefix(text: &str) -> i64 {
    let trimmed = text.trim_start();
    let (sign, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse::<i64>().map_or(0, |n| sign * n)
}

/// SQLite's text-to-real conversion: the longest numeric prefix, else 0.
pub(crate) fn real_prefix(text: &str) -> f64 {
    let trimmed = text.trim_start();
    (1..=trimmed.len())
        .rev()
        .filter(|end| trimmed.is_char_boundary(*end))
        .find_map(|end| trimmed[..end].parse::<f64>().ok().filter(|f| f.is_finite()))
        .unwrap_or(0.0)
}

/// Sorts as the mode asks, then compares value by value, or by MD5 past the hash threshold.
pub(crate) fn compare(
    mut rows: Vec<Vec<String>>,
    sort: SortMode,
    hash_threshold: usize,
    expected: &[String],
) -> Outcome {
    let values: Vec<String> = match sort {
        SortMode::NoSort => rows.into_iter().flatten().collect(),
        SortMode::RowSort => {
            rows.sort();
            rows.into_iter().flatten().collect()
        }
        SortMode::ValueSort => {
            let mut values: Vec<String> = rows.into_iter().flatten().collect();
            values.sort();
            values
        }
    };
    let hashed = if hash_threshold > 0 && values.len() > hash_threshold {
        vec![format!(
            "{} values hashing to {}",
            values.len(),
            md5_of(&values)
        )]
    } else {
        values.clone()
    };
    if hashed == expected {
        return Outcome::Pass;
    }
    // IDBSQL_SLT_FULL=1 shows every value of a mismatch (and the unhashed answer).
    let full = std::env::var_os("IDBSQL_SLT_FULL").is_some();
    let limit = if full { usize::MAX } else { 8 };
    let actual = if full { &values[..] } else { &hashed[..] };
    let shown = |v: &[String]| {
        let mut text = v.iter().take(limit).cloned().collect::<Vec<_>>().join(" ");
        if v.len() > limit {
            text.push_str(&format!(" … ({} values)", v.len()));
        }
        text
    };
    Outcome::Fail {
        message: format!(
            "mismatch: expected [{}], got [{}]",
            shown(expected),
            shown(actual)
        ),
    }
}

fn md5_of(values: &[String]) -> String {
    let mut md5 = Md5::new();
    for value in values {
        md5.update(value.as_bytes());
        md5.update(b"\n");
    }
    md5.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Every value of the answer, sorted, hashed: equal for two tables exactly when they returned
/// the same values in any order.
fn sorted_digest(rows: &[Vec<String>]) -> String {
    let mut values: Vec<String> = rows.iter().flatten().cloned().collect();
    values.sort();
    md5_of(&values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_sqlite_prints_them() {
        assert_eq!(format_value(&Value::I64(-7)), "-7");
        assert_eq!(format_value(&Value::F64(2.0 / 3.0)), "0.667");
        assert_eq!(format_value(&Value::Null), "NULL");
        assert_eq!(format_value(&Value::Str(String::new())), "(empty)");
        assert_eq!(format_value(&Value::Str("a\tb".into())), "a@b");
        assert_eq!(format_value(&Value::Bool(true)), "1");
        assert_eq!(format_as(&Value::Str("12ab".into()), Some('I')), "12");
        assert_eq!(format_as(&Value::Str("qbrdd".into()), Some('I')), "0");
        assert_eq!(format_as(&Value::Str(" -2.5x".into()), Some('R')), "-2.500");
        assert_eq!(format_as(&Value::F64(2.5), Some('I')), "2.500");
        // A DECIMAL rounds as a float does (`81.0 / 31` is 2.6129…).
        let decimal = |text: &str| Value::Decimal(text.parse().unwrap());
        assert_eq!(format_value(&decimal("2.6129032258")), "2.613");
        assert_eq!(format_value(&decimal("-171.4285")), "-171.429");
        assert_eq!(format_value(&decimal("7.4")), "7.400");
    }

    #[test]
    fn hashing_matches_sqlite() {
        // From SQLite's select1.test: `SELECT 1, 2, 3` is not hashed; this pins the MD5 form.
        let values: Vec<String> = ["1", "2"].iter().map(|s| s.to_string()).collect();
        assert_eq!(md5_of(&values), "6ddb4095eb719e2a9f0a3f95677d24e0");
        let outcome = compare(
            vec![vec!["2".into()], vec!["1".into()]],
            SortMode::RowSort,
            1,
            &["2 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0".to_owned()],
        );
        assert_eq!(outcome, Outcome::Pass);
    }
}
