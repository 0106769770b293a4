//! Whether answers agree: the two references with each other (else the query is not kept),
//! then idbsql with them. Values compare by value and by kind — an integer where both
//! references give a fraction (or the reverse) is wrong — fractions approximately, except
//! against PostgreSQL's exact NUMERICs of few digits (`misses_exact`), and in order only where
//! ORDER BY fixes the order.

use {
    crate::engines::{Cell, Rows},
    bigdecimal::BigDecimal,
    std::str::FromStr,
};

/// How two answers relate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Same,
    /// Different rows or values.
    Differs(String),
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// A fraction's value, approximately.
fn fraction(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Num(x) | Cell::Dec(x, _) => Some(*x),
        _ => None,
    }
}

/// Whether two cells hold the same value, whatever their numeric kinds.
fn same_value(a: &Cell, b: &Cell) -> bool {
    match (a, b, fraction(a), fraction(b)) {
        (Cell::Null, Cell::Null, ..) => true,
        (Cell::Int(x), Cell::Int(y), ..) => x == y,
        (Cell::Int(x), _, _, Some(y)) | (_, Cell::Int(x), Some(y), _) => close(*x as f64, y),
        (.., Some(x), Some(y)) => close(x, y),
        (Cell::Text(x), Cell::Text(y), ..) => x == y,
        _ => false,
    }
}

/// The most significant digits (as printed, trailing zeros included) a NUMERIC of
/// PostgreSQL's is exact at: a sum, difference or product of the generated numbers, a ROUND, a
/// cast of one. A quotient, an average or a root prints 15 digits or more (PostgreSQL's own
/// rounding: `10 / 4.0` is 2.5000000000000000, `LOG(9)` 0.954242509439325), compared
/// approximately; a FLOAT's noise shows at 16 or 17.
const EXACT_DIGITS: usize = 14;

/// Whether `value` misses PostgreSQL's exact NUMERIC `pg`: a fraction of another value, to the
/// last digit (`0.1 + 0.2` is 0.3, not 0.30000000000000004). SQLite has no exact numbers, so
/// PostgreSQL alone decides this; a NUMERIC with more digits is left to the approximate check.
fn misses_exact(value: &Cell, pg: &Cell) -> bool {
    let Cell::Dec(_, exact) = pg else {
        return false;
    };
    let digits = exact
        .chars()
        .filter(char::is_ascii_digit)
        .skip_while(|d| *d == '0')
        .count();
    if digits > EXACT_DIGITS {
        return false;
    }
    let ours = match value {
        Cell::Dec(_, text) => text.clone(),
        // The shortest text that reads back as the same FLOAT: its exact value as a user sees it.
        Cell::Num(x) if x.is_finite() => format!("{x}"),
        _ => return false,
    };
    match (BigDecimal::from_str(&ours), BigDecimal::from_str(exact)) {
        (Ok(ours), Ok(exact)) => ours != exact,
        _ => false,
    }
}

/// A row's sort key, fractions rounded so that nearly equal values sort together. Rows of
/// equal values then sort by their numeric kinds (integers first), so that in two answers
/// holding one multiset the kinds line up whatever order each engine gave equal rows in.
fn key(row: &[Cell]) -> String {
    let values = row
        .iter()
        .map(|cell| match cell {
            Cell::Null => "\u{0}".to_owned(),
            Cell::Int(n) => format!("n{:+.9e}", *n as f64),
            // -0.0 sorts with 0.0: the references print negative zero differently.
            Cell::Num(x) | Cell::Dec(x, _) if *x == 0.0 => format!("n{:+.9e}", 0.0),
            Cell::Num(x) | Cell::Dec(x, _) => format!("n{x:+.9e}"),
            Cell::Text(t) => format!("t{t}"),
        })
        .collect::<Vec<_>>()
        .join("\u{1}");
    let kinds: String = row
        .iter()
        .map(|cell| match cell {
            Cell::Int(_) => 'i',
            Cell::Num(_) | Cell::Dec(..) => 'n',
            _ => '-',
        })
        .collect();
    format!("{values}\u{2}{kinds}")
}

fn arranged(rows: &Rows, ordered: bool) -> Vec<&Vec<Cell>> {
    let mut rows: Vec<&Vec<Cell>> = rows.iter().collect();
    if !ordered {
        rows.sort_by_key(|row| key(row));
    }
    rows
}

/// The two references' answers, compared by value only (their numeric kinds may differ:
/// SQLite has no DECIMAL).
pub fn references_agree(a: &Rows, b: &Rows, ordered: bool) -> bool {
    let (a, b) = (arranged(a, ordered), arranged(b, ordered));
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same_value(p, q))
        })
}

/// idbsql's answer against the references' (which agree).
pub fn judge(idbsql: &Rows, sqlite: &Rows, postgres: &Rows, ordered: bool) -> Verdict {
    let (ours, lite, pg) = (
        arranged(idbsql, ordered),
        arranged(sqlite, ordered),
        arranged(postgres, ordered),
    );
    if ours.len() != pg.len() {
        return Verdict::Differs(format!("{} rows, the references {}", ours.len(), pg.len()));
    }
    for (row, (ours, (lite, pg))) in ours.iter().zip(lite.iter().zip(&pg)).enumerate() {
        if ours.len() != pg.len() {
            return Verdict::Differs(format!("row {row}: {} columns", ours.len()));
        }
        for (column, (value, (l, p))) in ours.iter().zip(lite.iter().zip(pg.iter())).enumerate() {
            if !same_value(value, p) {
                return Verdict::Differs(format!(
                    "row {row}, column {column}: {value}, the references {p}"
                ));
            }
            if misses_exact(value, p) {
                return Verdict::Differs(format!(
                    "row {row}, column {column}: {value}, PostgreSQL's exact NUMERIC {p}"
                ));
            }
            let kind_of = |cell: &Cell| match cell {
                Cell::Int(_) => Some("an integer"),
                Cell::Num(_) | Cell::Dec(..) => Some("a fraction"),
                _ => None,
            };
            if let (Some(a), Some(b), Some(c)) = (kind_of(l), kind_of(p), kind_of(value)) {
                if a == b && c != a {
                    return Verdict::Differs(format!(
                        "row {row}, column {column}: {c} ({value}) where both references give {a}"
                    ));
                }
            }
        }
    }
    Verdict::Same
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_integer_where_both_references_give_a_fraction_is_wrong() {
        let ours = vec![vec![Cell::Int(2)]];
        let fraction = vec![vec![Cell::Num(2.0)]];
        assert!(matches!(
            judge(&ours, &fraction, &fraction, false),
            Verdict::Differs(_)
        ));
        assert_eq!(judge(&fraction, &fraction, &fraction, false), Verdict::Same);
        // SQLite stores a whole DECIMAL as an integer: with the references apart, only the
        // value counts.
        let whole = vec![vec![Cell::Int(7)]];
        let decimal = vec![vec![Cell::Num(7.0)]];
        assert_eq!(judge(&decimal, &whole, &decimal, false), Verdict::Same);
        assert_eq!(judge(&whole, &whole, &decimal, false), Verdict::Same);
    }

    #[test]
    fn equal_rows_of_two_kinds_line_up_whatever_their_order() {
        // SQLite and idbsql give one integer 0 and one fraction 0 (a COALESCE whose branch
        // kind varies by row), in different orders; PostgreSQL two fractions (judge database
        // 115,000,150 reported an integer "where both references give a fraction").
        let ours = vec![vec![Cell::Int(0)], vec![Cell::Num(0.0)]];
        let lite = vec![vec![Cell::Num(-0.0)], vec![Cell::Int(0)]];
        let pg = vec![vec![Cell::Num(0.0)], vec![Cell::Num(0.0)]];
        assert!(references_agree(&lite, &pg, false));
        assert_eq!(judge(&ours, &lite, &pg, false), Verdict::Same);
        // Two fractions from both references: an integer is still wrong.
        assert!(matches!(judge(&ours, &pg, &pg, false), Verdict::Differs(_)));
    }

    #[test]
    fn a_fraction_off_postgresql_exact_numeric_is_wrong() {
        let dec = |text: &str| Cell::Dec(text.parse().unwrap(), text.to_owned());
        let pg = vec![vec![dec("0.3")]];
        let lite = vec![vec![Cell::Num(0.1 + 0.2)]];
        assert!(references_agree(&lite, &pg, false));
        // A FLOAT's noise, and a DECIMAL's: both off by far less than the approximate check.
        for ours in [Cell::Num(0.1 + 0.2), dec("0.3000000000000000124900090270")] {
            assert!(matches!(
                judge(&vec![vec![ours]], &lite, &pg, false),
                Verdict::Differs(_)
            ));
        }
        // The same value at another scale, or as a FLOAT that prints it, is right.
        for ours in [Cell::Num(0.3), dec("0.30")] {
            assert_eq!(judge(&vec![vec![ours]], &lite, &pg, false), Verdict::Same);
        }
        // A quotient's or a logarithm's NUMERIC (15 digits or more) is compared approximately.
        let third = vec![vec![dec("0.33333333333333333333")]];
        let ours = vec![vec![dec("0.3333333333333333333333333333")]];
        assert_eq!(judge(&ours, &third, &third, false), Verdict::Same);
        let log = vec![vec![dec("0.954242509439325")]];
        let ours = vec![vec![Cell::Num(0.9542425094393249)]];
        assert_eq!(judge(&ours, &log, &log, false), Verdict::Same);
    }

    #[test]
    fn rows_compare_as_a_multiset_unless_ordered() {
        let a = vec![vec![Cell::Int(1)], vec![Cell::Int(2)]];
        let b = vec![vec![Cell::Int(2)], vec![Cell::Int(1)]];
        assert!(references_agree(&a, &b, false));
        assert!(!references_agree(&a, &b, true));
        assert!(matches!(judge(&a, &b, &b, true), Verdict::Differs(_)));
        let near = vec![vec![Cell::Num(0.1 + 0.2)], vec![Cell::Text("x".into())]];
        let exact = vec![vec![Cell::Text("x".into())], vec![Cell::Num(0.3)]];
        assert!(references_agree(&near, &exact, false));
        assert_eq!(judge(&near, &exact, &exact, false), Verdict::Same);
        assert!(matches!(
            judge(
                &vec![vec![Cell::Null]],
                &vec![vec![Cell::Int(0)]],
                &vec![vec![Cell::Int(0)]],
                false
            ),
            Verdict::Differs(_)
        ));
    }
}
