//! CASE arms whose WHEN is a constant settled before anything runs, as PostgreSQL's planner
//! settles them: a false arm goes, a true one ends the CASE. So a branch SQL never reaches is
//! never computed, not even where our layer computes subqueries ahead of the rows (a
//! correlated set operation run per row must not divide by zero in a branch no row takes).
//! It decides only conditions of literals without NULL (two-valued, the same in GlueSQL as in
//! SQL), of one kind on each side of a comparison; anything else stays for the evaluator.

use {
    super::visit,
    gluesql_core::{
        data::Value as GlueValue,
        executor::evaluate_stateless,
        plan::plan_scalar_expr,
        sqlparser::ast::{BinaryOperator, DataType, Expr, UnaryOperator, Value},
        translate::translate_expr,
    },
    std::ops::ControlFlow,
};

/// Whether `node` holds a searched CASE (the pass runs only then).
pub fn may_apply<N: gluesql_core::sqlparser::ast::Visit + ?Sized>(node: &N) -> bool {
    visit::exprs(node, |e| match e {
        Expr::Case { operand: None, .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Settles every searched CASE in `node` whose WHEN conditions are constants.
pub fn settle<N: gluesql_core::sqlparser::ast::VisitMut + ?Sized>(node: &mut N) {
    let _ = visit::exprs_mut(node, |expr| {
        if let Some(settled) = settled(expr) {
            *expr = settled;
        }
        ControlFlow::Continue(())
    });
}

/// The CASE `expr` with its constant arms settled, or `None` when none is.
fn settled(expr: &Expr) -> Option<Expr> {
    let Expr::Case {
        operand: None,
        conditions,
        results,
        else_result,
    } = expr
    else {
        return None;
    };
    let mut kept_conditions = Vec::new();
    let mut kept_results = Vec::new();
    let mut changed = false;
    let mut otherwise = else_result.clone();
    // The first arm dropped that reads no subquery: it keeps the CASE's type (below).
    let mut typed_arm = None;
    for (condition, result) in conditions.iter().zip(results) {
        match truth(condition, &[]) {
            Some(false) => {
                changed = true;
                if typed_arm.is_none() && !super::subquery::holds_subquery(result) {
                    typed_arm = Some(result);
                }
            }
            Some(true) => {
                // No later arm, and not the ELSE, can be reached.
                changed = true;
                otherwise = Some(Box::new(result.clone()));
                break;
            }
            None => {
                kept_conditions.push(condition.clone());
                kept_results.push(result.clone());
            }
        }
    }
    if !changed {
        return None;
    }
    if kept_conditions.is_empty() {
        // What the CASE answers whatever the row: its ELSE, or NULL without one. That NULL
        // keeps the type of an arm no row takes (`WHEN NULL` is never true and GlueSQL never
        // evaluates its result), so `CASE WHEN false THEN date END - 20` in a derived table
        // still subtracts days from a DATE (judge, database 108,000,085). An arm reading a
        // subquery is not kept: it would be computed ahead of the rows.
        return Some(match (otherwise, typed_arm) {
            (Some(e), _) => Expr::Nested(e),
            (None, Some(arm)) => Expr::Case {
                operand: None,
                conditions: vec![Expr::Value(Value::Null)],
                results: vec![arm.clone()],
                else_result: None,
            },
            (None, None) => Expr::Nested(Box::new(Expr::Value(Value::Null))),
        });
    }
    Some(Expr::Case {
        operand: None,
        conditions: kept_conditions,
        results: kept_results,
        else_result: otherwise,
    })
}

/// Whether `condition` is a literal-only condition this pass decides, and false: a WHERE so
/// written reads no row (subquery.rs then computes nothing of its FROM). A parameter counts
/// as the literal `params` binds it to (a subquery computed ahead is one).
pub(super) fn is_false(condition: &Expr, params: &[GlueValue]) -> bool {
    truth(condition, params) == Some(false)
}

/// What a literal-only condition is, or `None` when it is not one this pass decides.
pub(super) fn truth(condition: &Expr, params: &[GlueValue]) -> Option<bool> {
    if kind(condition, params)? != Kind::Boolean {
        return None;
    }
    let bound = if params.is_empty() {
        Vec::new()
    } else {
        super::params::bind_params(params).ok()?
    };
    let translated = translate_expr(condition, &bound).ok()?;
    let value: GlueValue = evaluate_stateless(None, &plan_scalar_expr(translated))
        .ok()?
        .try_into()
        .ok()?;
    match value {
        GlueValue::Bool(b) => Some(b),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Boolean,
    Integer,
    /// `CAST(<number> AS FLOAT)`: compared as the FLOATs they are.
    Float,
    /// `CAST('<number>' AS DECIMAL)`: compared exactly.
    Decimal,
    Text,
    Date,
    Timestamp,
}

/// The kind of a NULL-free literal expression this pass decides, or `None`.
fn kind(expr: &Expr, params: &[GlueValue]) -> Option<Kind> {
    use BinaryOperator as B;
    match expr {
        Expr::Value(Value::Boolean(_)) => Some(Kind::Boolean),
        Expr::Value(Value::Number(digits, _))
            if digits.to_string().bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(Kind::Integer)
        }
        Expr::Value(Value::SingleQuotedString(_)) => Some(Kind::Text),
        Expr::Value(Value::Placeholder(name)) => {
            let n: usize = name.strip_prefix('$')?.parse().ok()?;
            match params.get(n.checked_sub(1)?)? {
                GlueValue::I64(_) => Some(Kind::Integer),
                GlueValue::F64(_) => Some(Kind::Float),
                GlueValue::Decimal(_) => Some(Kind::Decimal),
                GlueValue::Str(_) => Some(Kind::Text),
                GlueValue::Bool(_) => Some(Kind::Boolean),
                GlueValue::Date(_) => Some(Kind::Date),
                GlueValue::Timestamp(_) => Some(Kind::Timestamp),
                _ => None,
            }
        }
        Expr::TypedString { data_type, .. } => match data_type {
            DataType::Date => Some(Kind::Date),
            DataType::Timestamp(None, _) => Some(Kind::Timestamp),
            _ => None,
        },
        Expr::Cast {
            expr, data_type, ..
        } => match (data_type, expr.as_ref()) {
            (DataType::Float(_) | DataType::Double | DataType::Float64, inner)
                if is_number(inner) =>
            {
                Some(Kind::Float)
            }
            (
                DataType::Decimal(_) | DataType::Numeric(_),
                Expr::Value(Value::SingleQuotedString(text)),
            ) if text.parse::<f64>().is_ok() => Some(Kind::Decimal),
            _ => None,
        },
        Expr::Nested(inner) => kind(inner, params),
        // Decided only where it evaluates to a boolean (`truth`): a NULL there stays.
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => kind(inner, params).map(|_| Kind::Boolean),
        Expr::Function(function) if function.name.to_string().eq_ignore_ascii_case("nullif") => {
            let (_, args) = super::walk::plain_args(function)?;
            let &[a, b] = args.as_slice() else {
                return None;
            };
            let kind_of_a = kind(a, params)?;
            (kind(b, params)? == kind_of_a).then_some(kind_of_a)
        }
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => (kind(expr, params)? == Kind::Boolean).then_some(Kind::Boolean),
        Expr::BinaryOp { left, op, right } => {
            let (left, right) = (kind(left, params)?, kind(right, params)?);
            match op {
                B::And | B::Or => {
                    (left == Kind::Boolean && right == Kind::Boolean).then_some(Kind::Boolean)
                }
                B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
                    (left == right && left != Kind::Boolean).then_some(Kind::Boolean)
                }
                _ => None,
            }
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            let (e, l, h) = (kind(expr, params)?, kind(low, params)?, kind(high, params)?);
            (e == l && e == h && e != Kind::Boolean).then_some(Kind::Boolean)
        }
        Expr::Like {
            expr,
            pattern,
            escape_char: None,
            any: false,
            ..
        } => (kind(expr, params)? == Kind::Text && kind(pattern, params)? == Kind::Text)
            .then_some(Kind::Boolean),
        Expr::InList { expr, list, .. } => {
            let e = kind(expr, params)?;
            (e != Kind::Boolean && list.iter().all(|item| kind(item, params) == Some(e)))
                .then_some(Kind::Boolean)
        }
        _ => None,
    }
}

/// A number literal, negated or not.
fn is_number(expr: &Expr) -> bool {
    match expr {
        Expr::Value(Value::Number(..)) => true,
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        }
        | Expr::Nested(expr) => is_number(expr),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use {super::*, crate::engine::parse_sql, gluesql_core::sqlparser::ast::Statement};

    fn settled_sql(sql: &str) -> String {
        let mut statement: Statement = parse_sql(sql).expect("parses").remove(0);
        settle(&mut statement);
        statement.to_string()
    }

    #[test]
    fn constant_arms_are_settled_and_others_kept() {
        assert_eq!(
            settled_sql(
                "SELECT CASE WHEN DATE '2023-02-22' > DATE '2024-10-20' THEN 1 / 0 ELSE 2 END"
            ),
            "SELECT (2)"
        );
        assert_eq!(
            settled_sql("SELECT CASE WHEN 1 = 2 THEN a WHEN b > 0 THEN b WHEN 'x' < 'y' THEN c ELSE d END FROM t"),
            "SELECT CASE WHEN b > 0 THEN b ELSE c END FROM t"
        );
        assert_eq!(
            settled_sql("SELECT CASE WHEN NOT (3 BETWEEN 1 AND 2) THEN a END FROM t"),
            "SELECT (a) FROM t"
        );
        assert_eq!(
            settled_sql("SELECT CASE WHEN CAST(6.25 AS FLOAT) > CAST(-10 AS FLOAT) THEN a END, CASE WHEN CAST('2.50' AS DECIMAL) = CAST('2.5' AS DECIMAL) THEN b ELSE c END FROM t"),
            "SELECT (a), (b) FROM t"
        );
        // NULL, mixed kinds, numbers with a fraction, parameters and columns are left to run.
        for kept in [
            "SELECT CASE WHEN NULL = 1 THEN a END FROM t",
            "SELECT CASE WHEN 1 = '1' THEN a END FROM t",
            "SELECT CASE WHEN 1.5 > 1 THEN a END FROM t",
            "SELECT CASE WHEN CAST(1.5 AS FLOAT) > CAST('1' AS DECIMAL) THEN a END FROM t",
            "SELECT CASE WHEN CAST(a AS FLOAT) > CAST(1 AS FLOAT) THEN a END FROM t",
            "SELECT CASE WHEN $1 = 1 THEN a END FROM t",
            "SELECT CASE WHEN a = 1 THEN a END FROM t",
            "SELECT CASE x WHEN 1 THEN a END FROM t",
        ] {
            assert_eq!(settled_sql(kept), kept);
        }
    }
}
