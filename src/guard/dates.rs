//! Date arithmetic GlueSQL would take out of chrono's range, which panics: a DATE or TIMESTAMP
//! plus or minus a day-or-finer INTERVAL past ±262,000 years. A chain of additions is checked
//! as a whole at its top: each of its k terms that may hold a date or an interval must lie
//! within 250,000 / k years (100,000 at most, the stored range), so no partial sum can leave
//! the range, and no term is evaluated more than once for the check.

use {
    super::{raise, types::Scope, values},
    gluesql_core::{
        ast::{BinaryOperator, DataType, DateTimeField, Expr, Literal},
        data::Value,
    },
};

/// Years a whole chain of additions may span.
const CHAIN_YEARS: i64 = 250_000;

/// Guards every chain of `+`/`-` in `expr` that may involve dates; returns the nodes added.
pub fn guard(expr: &mut Expr, scope: &Scope) -> usize {
    if !is_sum(expr) || !scope.may_be_temporal(expr) {
        let mut added = 0;
        super::walk::children(expr, &mut |child| added += guard(child, scope));
        return added;
    }
    let mut added = 0;
    let mut terms = Vec::new();
    for term in terms_of(expr) {
        added += guard(term, scope);
        terms.push(term.clone());
    }
    let bound = (CHAIN_YEARS / terms.len().max(1) as i64).min(values::MAX_YEARS);
    let message = format!(
        "date arithmetic past {} years from year 0 is not supported",
        values::MAX_YEARS
    );
    let mut arms = Vec::new();
    for term in terms.iter().filter(|term| scope.may_be_temporal(term)) {
        match super::calls::static_value(term) {
            Some(value) if within(&value, bound) => {}
            Some(_) => arms.push((Expr::Value(Value::Bool(true)), message.clone())),
            None => arms.extend(
                too_far(term, bound)
                    .into_iter()
                    .map(|when| (when, message.clone())),
            ),
        }
    }
    if arms.is_empty() {
        return added;
    }
    let original = std::mem::replace(expr, Expr::Value(Value::Null));
    let when_then: Vec<(Expr, Expr)> = arms
        .into_iter()
        .map(|(when, message)| (when, raise(&message)))
        .collect();
    *expr = Expr::Case {
        operand: None,
        when_then,
        else_result: Some(Box::new(original)),
    };
    added + super::size(expr)
}

pub fn is_sum(expr: &Expr) -> bool {
    match expr {
        Expr::BinaryOp { op, .. } => matches!(op, BinaryOperator::Plus | BinaryOperator::Minus),
        Expr::Nested(inner) => is_sum(inner),
        _ => false,
    }
}

/// The terms of a chain of `+`/`-` (through parentheses), in order.
fn terms_of(expr: &mut Expr) -> Vec<&mut Expr> {
    if !is_sum(expr) {
        return vec![expr];
    }
    match expr {
        Expr::BinaryOp { left, right, .. } => {
            let mut terms = terms_of(left);
            terms.extend(terms_of(right));
            terms
        }
        Expr::Nested(inner) => terms_of(inner),
        other => vec![other],
    }
}

fn within(value: &Value, bound: i64) -> bool {
    use gluesql_core::chrono::Datelike;
    match value {
        Value::Date(date) => i64::from(date.year()).abs() < bound,
        Value::Timestamp(timestamp) => i64::from(timestamp.year()).abs() < bound,
        Value::Interval(interval) => values::interval_years(interval).abs() < bound,
        _ => true,
    }
}

/// Conditions each true when `term` is a date, a timestamp or a day-or-finer interval `bound`
/// years or more from zero. Comparing a value of another type with these is false, not an
/// error, and NULL compares as unknown: no arm fires on them. Separate arms, not one OR:
/// GlueSQL's own OR is not SQL's around NULL.
fn too_far(term: &Expr, bound: i64) -> Vec<Expr> {
    let typed = |data_type: DataType, value: String| Expr::TypedString { data_type, value };
    let days = |days: i64| Expr::Interval {
        expr: Box::new(Expr::Literal(Literal::QuotedString(days.to_string()))),
        leading_field: Some(DateTimeField::Day),
        last_field: None,
    };
    let compare = |op: BinaryOperator, limit: Expr| Expr::BinaryOp {
        left: Box::new(term.clone()),
        op,
        right: Box::new(limit),
    };
    let (late, early) = (format!("+{bound}-01-01"), format!("-{bound}-01-01"));
    vec![
        compare(BinaryOperator::GtEq, typed(DataType::Date, late.clone())),
        compare(BinaryOperator::LtEq, typed(DataType::Date, early.clone())),
        compare(
            BinaryOperator::GtEq,
            typed(DataType::Timestamp, format!("{late} 00:00:00")),
        ),
        compare(
            BinaryOperator::LtEq,
            typed(DataType::Timestamp, format!("{early} 00:00:00")),
        ),
        compare(BinaryOperator::GtEq, days(bound * 365)),
        compare(BinaryOperator::LtEq, days(-bound * 365)),
    ]
}
