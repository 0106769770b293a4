//! PostgreSQL's DATE and TIMESTAMP arithmetic, which GlueSQL 0.20 does otherwise, and
//! EXTRACT(SECOND) with its fraction: one operation rewritten into what GlueSQL computes right.
//! The numeric pass hands each operation over with its operands' kinds; this decides no type.

use {
    super::functions::{cast, format_call},
    gluesql_core::sqlparser::ast::{
        BinaryOperator, DataType, DateTimeField, ExactNumberInfo, Expr, ExtractSyntax, Interval,
        SelectItem, SetExpr, Statement, Value as SqlValue,
    },
};

/// What the numeric pass knows of an operand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Operand {
    Date,
    Timestamp,
    /// An integer of any type, a literal included.
    Integer,
    Other,
}

/// What a rewritten operation gives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Gives {
    /// Whole days, an integer (`date - date`).
    Days,
    Date,
    Timestamp,
}

/// `left op right` as PostgreSQL computes it, where GlueSQL would not: `date - date` is the
/// whole days between them (GlueSQL: an INTERVAL), `date ± n` and `n + date` a DATE for any
/// integer `n` (GlueSQL refuses them), a DATE or TIMESTAMP moved by whole months PostgreSQL's
/// month arithmetic; `None` for anything else (an `n` of another kind is left to GlueSQL's
/// refusal). `integer_constant` reads an operand's value where it is a constant integer.
pub(super) fn lower(
    left: &Expr,
    op: &BinaryOperator,
    right: &Expr,
    l: Operand,
    r: Operand,
    integer_constant: impl Fn(&Expr) -> Option<i64>,
) -> Option<(Expr, Gives)> {
    let (plus, minus) = match op {
        BinaryOperator::Plus => (true, false),
        BinaryOperator::Minus => (false, true),
        _ => return None,
    };
    let (l_date, r_date) = (l == Operand::Date, r == Operand::Date);
    let difference = |l: &Expr, r: &Expr, op: BinaryOperator| {
        Expr::Nested(Box::new(Expr::BinaryOp {
            left: Box::new(l.clone()),
            op,
            right: Box::new(r.clone()),
        }))
    };
    if l_date && r_date && minus {
        let between = difference(left, right, BinaryOperator::Minus);
        // GlueSQL's EXTRACT fails on NULL.
        let days = Expr::Case {
            operand: None,
            conditions: vec![Expr::IsNull(Box::new(between.clone()))],
            results: vec![Expr::Value(SqlValue::Null)],
            else_result: Some(Box::new(Expr::Extract {
                field: DateTimeField::Day,
                syntax: ExtractSyntax::From,
                expr: Box::new(between),
            })),
        };
        return Some((days, Gives::Days));
    }
    // A DATE and a whole number of months: PostgreSQL's month arithmetic (a TIMESTAMP).
    let months = match (l_date, r_date) {
        (true, false) => month_interval(right).map(|m| if minus { -m } else { m }),
        (false, true) if plus => month_interval(left),
        _ => None,
    };
    if let Some(months) = months {
        let date = if l_date { left } else { right };
        return Some((add_months(date, months, false)?, Gives::Timestamp));
    }
    // A TIMESTAMP and whole months: the same, the time of day kept.
    let months = match (l == Operand::Timestamp, r == Operand::Timestamp) {
        (true, false) => month_interval(right).map(|m| if minus { -m } else { m }),
        (false, true) if plus => month_interval(left),
        _ => None,
    };
    if let Some(months) = months {
        let at = if month_interval(right).is_some() {
            left
        } else {
            right
        };
        return Some((add_months(at, months, true)?, Gives::Timestamp));
    }
    let (date, days, days_kind) = match (l_date, r_date) {
        (true, false) => (left, right, r),
        (false, true) if plus => (right, left, l),
        _ => return None,
    };
    let day_interval = |days: i64| {
        Expr::Interval(Interval {
            value: Box::new(Expr::Value(SqlValue::SingleQuotedString(days.to_string()))),
            leading_field: Some(DateTimeField::Day),
            leading_precision: None,
            last_field: None,
            fractional_seconds_precision: None,
        })
    };
    let interval = match integer_constant(days) {
        Some(days) => day_interval(if minus { days.checked_neg()? } else { days }),
        // Any other integer: that many single days (the guard bounds the product).
        None if days_kind == Operand::Integer => Expr::BinaryOp {
            left: Box::new(day_interval(if minus { -1 } else { 1 })),
            op: BinaryOperator::Multiply,
            right: Box::new(Expr::Nested(Box::new(days.clone()))),
        },
        None => return None,
    };
    let moved = difference(date, &interval, BinaryOperator::Plus);
    Some((cast(moved, DataType::Date), Gives::Date))
}

/// `EXTRACT(SECOND FROM value)` of a TIMESTAMP or TIME with its fraction, as PostgreSQL gives
/// it (a NUMERIC); GlueSQL drops the fraction.
pub(super) fn seconds(value: &Expr) -> Expr {
    cast(
        format_call(value.clone(), "%S.%6f"),
        DataType::Decimal(ExactNumberInfo::None),
    )
}

/// The months an interval literal stands for (`INTERVAL '2' MONTH`, `INTERVAL '1' YEAR`, and
/// their sums as functions.rs writes `'1 year 2 months'`); `None` for any other interval.
fn month_interval(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Nested(inner) => month_interval(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Plus,
            right,
        } => month_interval(left)?.checked_add(month_interval(right)?),
        Expr::Interval(Interval {
            value,
            leading_field: Some(field @ (DateTimeField::Month | DateTimeField::Year)),
            last_field: None,
            ..
        }) => {
            let n: i64 = match value.as_ref() {
                Expr::Value(SqlValue::SingleQuotedString(text)) => text.trim().parse().ok()?,
                Expr::Value(SqlValue::Number(n, _)) => n.to_string().parse().ok()?,
                _ => return None,
            };
            match field {
                DateTimeField::Year => n.checked_mul(12),
                _ => Some(n),
            }
        }
        _ => None,
    }
}

/// `date + months` as PostgreSQL adds them: the month moved, the day kept or, past the new
/// month's end, its last day; a TIMESTAMP at midnight, or for a TIMESTAMP (`clock`) at its time
/// of day. GlueSQL's `+ INTERVAL` fails on a month's end and on any sum landing in December
/// ("date overflow"); its ADD_MONTH (chrono's, which clamps as PostgreSQL does) reads a date's
/// text and gives a DATE. The operand is written once (twice for a TIMESTAMP's time of day):
/// nested sums stay small once the guards copy them.
fn add_months(date: &Expr, months: i64, clock: bool) -> Option<Expr> {
    // Bounded: the stored range is ±100,000 years.
    if months.abs() > 1_200_000 {
        return None;
    }
    // A DATE has no time of day to format.
    let time = if clock {
        "FORMAT(__idbsql_date, ' %H:%M:%S%.f')"
    } else {
        "' 00:00:00'"
    };
    let sql = format!(
        "SELECT CAST(CAST(ADD_MONTH(FORMAT(__idbsql_date, '%Y-%m-%d'), {months}) AS TEXT) || {time} AS TIMESTAMP)"
    );
    let dialect = gluesql_core::sqlparser::dialect::PostgreSqlDialect {};
    let statement = gluesql_core::sqlparser::parser::Parser::parse_sql(&dialect, &sql)
        .ok()?
        .pop()?;
    let Statement::Query(query) = statement else {
        return None;
    };
    let SetExpr::Select(select) = *query.body else {
        return None;
    };
    let Some(SelectItem::UnnamedExpr(mut formula)) = select.projection.into_iter().next() else {
        return None;
    };
    let _ = super::visit::exprs_mut(&mut formula, |e| {
        if matches!(e, Expr::Identifier(i) if i.value == "__idbsql_date") {
            *e = Expr::Nested(Box::new(date.clone()));
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Some(formula)
}
