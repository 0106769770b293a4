//! Quantified comparisons, which GlueSQL 0.20 refuses: `x op ANY | SOME | ALL (ARRAY[a, b])`
//! becomes the OR (ANY) or AND (ALL) of `x op a`, `x op b`; of a subquery, `= ANY` is `IN` and
//! `<> ALL` is `NOT IN`. Pure syntax, once per parsed statement; what else is written so is
//! refused by name, never answered another way.

use {
    super::visit,
    crate::error::{DbError, ErrorCode},
    gluesql_core::sqlparser::ast::{BinaryOperator, Expr, Statement, Value},
};

/// Rewrites every quantified comparison of `statement`, or refuses the first it cannot run.
pub fn rewrite(statement: &mut Statement) -> Result<(), DbError> {
    if !visit::any_expr(&*statement, |e| {
        matches!(e, Expr::AnyOp { .. } | Expr::AllOp { .. })
    }) {
        return Ok(());
    }
    visit::try_replace_exprs(statement, |expr| match expr {
        Expr::AnyOp {
            left,
            compare_op,
            right,
            ..
        } => lowered(left, compare_op, right, true).map(Some),
        Expr::AllOp {
            left,
            compare_op,
            right,
        } => lowered(left, compare_op, right, false).map(Some),
        _ => Ok(None),
    })
}

fn lowered(left: &Expr, op: &BinaryOperator, right: &Expr, any: bool) -> Result<Expr, DbError> {
    let right = match right {
        Expr::Nested(inner) => inner.as_ref(),
        other => other,
    };
    let quantifier = if any { "ANY" } else { "ALL" };
    match right {
        // ANY holds when one comparison does, ALL when every one does; NULLs fall out as
        // SQL's OR and AND have them, and an empty array gives FALSE (ANY) or TRUE (ALL).
        Expr::Array(array) => {
            let join = if any {
                BinaryOperator::Or
            } else {
                BinaryOperator::And
            };
            let mut out: Option<Expr> = None;
            for element in &array.elem {
                let this = Expr::Nested(Box::new(Expr::BinaryOp {
                    left: Box::new(left.clone()),
                    op: op.clone(),
                    right: Box::new(element.clone()),
                }));
                out = Some(match out {
                    Some(before) => Expr::BinaryOp {
                        left: Box::new(before),
                        op: join.clone(),
                        right: Box::new(this),
                    },
                    None => this,
                });
            }
            Ok(Expr::Nested(Box::new(
                out.unwrap_or(Expr::Value(Value::Boolean(!any))),
            )))
        }
        // `= ANY` is IN; `<> ALL` is NOT IN, with the same NULLs.
        Expr::Subquery(query)
            if (any && *op == BinaryOperator::Eq) || (!any && *op == BinaryOperator::NotEq) =>
        {
            Ok(Expr::InSubquery {
                expr: Box::new(left.clone()),
                subquery: query.clone(),
                negated: !any,
            })
        }
        Expr::Subquery(_) => Err(refused(op, quantifier, "a subquery")),
        _ => Err(refused(
            op,
            quantifier,
            "anything but ARRAY[…] or a subquery",
        )),
    }
}

fn refused(op: &BinaryOperator, quantifier: &str, of: &str) -> DbError {
    DbError::new(
        ErrorCode::Plan,
        format!(
            "`{op} {quantifier}` of {of} is not supported: `= ANY (SELECT …)` (IN), `<> ALL \
             (SELECT …)` (NOT IN) and any comparison with ANY or ALL of ARRAY[…] run"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::parse::{parse_sql, rewritten};

    #[test]
    fn quantified_comparisons_of_arrays_are_or_and_and_chains() {
        assert_eq!(
            rewritten("SELECT 1 FROM t WHERE x > ALL (ARRAY[1, y])"),
            "SELECT 1 FROM t WHERE ((x > 1) AND (x > y))"
        );
        assert_eq!(
            rewritten("SELECT 1 FROM t WHERE x = ANY (ARRAY[])"),
            "SELECT 1 FROM t WHERE (false)"
        );
    }

    #[test]
    fn equal_any_and_unequal_all_of_a_subquery_are_in_and_not_in() {
        assert_eq!(
            rewritten("SELECT 1 FROM t WHERE x <> ALL (SELECT y FROM u)"),
            "SELECT 1 FROM t WHERE x NOT IN (SELECT y FROM u)"
        );
        let error = parse_sql("SELECT 1 FROM t WHERE x > ANY (SELECT y FROM u)").unwrap_err();
        assert!(error.to_string().contains("> ANY"), "{error}");
    }
}
