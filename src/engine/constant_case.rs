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
    for (condition, result) in conditions.iter().zip(results) {
        match truth(condition) {
            Some(false) => changed = true,
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
        // What the CASE answers whatever the row: its ELSE (NULL without one).
        return Some(Expr::Nested(Box::new(
            otherwise.map_or(Expr::Value(Value::Null), |e| *e),
        )));
    }
    Some(Expr::Case {
        operand: None,
        conditions: kept_conditions,
        results: kept_results,
        else_result: otherwise,
    })
}

/// What a literal-only condition is, or `None` when it is not one this pass decides.
fn truth(condition: &Expr) -> Option<bool> {
    if kind(condition)? != Kind::Boolean {
        return None;
    }
    let translated = translate_expr(condition, &[]).ok()?;
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
    Text,
    Date,
    Timestamp,
}

/// The kind of a NULL-free literal expression this pass decides, or `None`.
fn kind(expr: &Expr) -> Option<Kind> {
    use BinaryOperator as B;
    match expr {
        Expr::Value(Value::Boolean(_)) => Some(Kind::Boolean),
        Expr::Value(Value::Number(digits, _))
            if digits.to_string().bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(Kind::Integer)
        }
        Expr::Value(Value::SingleQuotedString(_)) => Some(Kind::Text),
        Expr::TypedString { data_type, .. } => match data_type {
            DataType::Date => Some(Kind::Date),
            DataType::Timestamp(None, _) => Some(Kind::Timestamp),
            _ => None,
        },
        Expr::Nested(inner) => kind(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => (kind(expr)? == Kind::Boolean).then_some(Kind::Boolean),
        Expr::BinaryOp { left, op, right } => {
            let (left, right) = (kind(left)?, kind(right)?);
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
            let (e, l, h) = (kind(expr)?, kind(low)?, kind(high)?);
            (e == l && e == h && e != Kind::Boolean).then_some(Kind::Boolean)
        }
        Expr::InList { expr, list, .. } => {
            let e = kind(expr)?;
            (e != Kind::Boolean && list.iter().all(|item| kind(item) == Some(e)))
                .then_some(Kind::Boolean)
        }
        _ => None,
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
        // NULL, mixed kinds, numbers with a fraction, parameters and columns are left to run.
        for kept in [
            "SELECT CASE WHEN NULL = 1 THEN a END FROM t",
            "SELECT CASE WHEN 1 = '1' THEN a END FROM t",
            "SELECT CASE WHEN 1.5 > 1 THEN a END FROM t",
            "SELECT CASE WHEN $1 = 1 THEN a END FROM t",
            "SELECT CASE WHEN a = 1 THEN a END FROM t",
            "SELECT CASE x WHEN 1 THEN a END FROM t",
        ] {
            assert_eq!(settled_sql(kept), kept);
        }
    }
}
