//! Row values compared as SQL compares them, which GlueSQL 0.20 refuses: `(a, b) op (c, d)`
//! for `= <> < <= > >=` (keyset pagination's `(created_at, id) < ($1, $2)`) and `(a, b) [NOT]
//! IN ((1, 'x'), (2, 'y'))` and `IS [NOT] DISTINCT FROM`, rewritten into comparisons of their fields with SQL's NULL rules.
//! Pure syntax, once per parsed statement; a row of another arity is refused, nothing guessed.

use {
    super::visit,
    crate::error::{DbError, ErrorCode},
    gluesql_core::sqlparser::ast::{BinaryOperator, Expr, Statement, UnaryOperator},
};

/// Rewrites every row comparison of `statement`; a row beside one of another length is
/// refused with `parse`, as PostgreSQL refuses it.
pub fn rewrite(statement: &mut Statement) -> Result<(), DbError> {
    if !visit::any_expr(&*statement, |e| matches!(e, Expr::Tuple(_))) {
        return Ok(());
    }
    visit::try_replace_exprs(statement, lowered)
}

fn unequal_lengths() -> DbError {
    DbError::new(
        ErrorCode::Parse,
        "unequal number of entries in row expressions".to_owned(),
    )
}

/// PostgreSQL compares a row inside a row as a composite value (a NULL field larger than any
/// value), not as SQL compares rows: refused rather than answered either way.
fn nested() -> DbError {
    DbError::new(
        ErrorCode::Plan,
        "a row value inside a row value (`((a, b), c) < …`) is not supported".to_owned(),
    )
}

fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::Nested(Box::new(Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }))
}

/// `expr` rewritten when it compares rows, `None` when it does not.
fn lowered(expr: &Expr) -> Result<Option<Expr>, DbError> {
    match expr {
        Expr::BinaryOp { left, op, right } => match (left.as_ref(), right.as_ref()) {
            (Expr::Tuple(l), Expr::Tuple(r)) => compared(l, op, r),
            _ => Ok(None),
        },
        // Distinct when a pair is (NULL beside a value counts), never NULL.
        Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) => {
            let (Expr::Tuple(l), Expr::Tuple(r)) = (left.as_ref(), right.as_ref()) else {
                return Ok(None);
            };
            let distinct = matches!(expr, Expr::IsDistinctFrom(..));
            distinct_rows(l, r, distinct).map(Some)
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let Expr::Tuple(row) = expr.as_ref() else {
                return Ok(None);
            };
            let mut any: Option<Expr> = None;
            for item in list {
                let Expr::Tuple(other) = item else {
                    return Err(unequal_lengths());
                };
                let Some(equal) = compared(row, &BinaryOperator::Eq, other)? else {
                    return Ok(None);
                };
                any = Some(match any {
                    Some(before) => binary(before, BinaryOperator::Or, equal),
                    None => equal,
                });
            }
            let Some(any) = any else {
                return Ok(None);
            };
            Ok(Some(if *negated {
                Expr::UnaryOp {
                    op: UnaryOperator::Not,
                    expr: Box::new(any),
                }
            } else {
                any
            }))
        }
        Expr::InSubquery { expr, .. } if matches!(expr.as_ref(), Expr::Tuple(_)) => {
            Err(DbError::new(
                ErrorCode::Plan,
                "a row value IN a subquery (`(a, b) IN (SELECT x, y …)`) is not supported: \
                 write EXISTS (SELECT … WHERE x = a AND y = b)"
                    .to_owned(),
            ))
        }
        _ => Ok(None),
    }
}

/// `left IS [NOT] DISTINCT FROM right` of two rows: distinct when any pair is.
fn distinct_rows(left: &[Expr], right: &[Expr], distinct: bool) -> Result<Expr, DbError> {
    if left.len() != right.len() || left.is_empty() {
        return Err(unequal_lengths());
    }
    let mut out: Option<Expr> = None;
    for (l, r) in left.iter().zip(right) {
        let this = match (l, r) {
            (Expr::Tuple(_), _) | (_, Expr::Tuple(_)) => return Err(nested()),
            (l, r) => {
                let (l, r) = (Box::new(l.clone()), Box::new(r.clone()));
                Expr::Nested(Box::new(if distinct {
                    Expr::IsDistinctFrom(l, r)
                } else {
                    Expr::IsNotDistinctFrom(l, r)
                }))
            }
        };
        let join = if distinct {
            BinaryOperator::Or
        } else {
            BinaryOperator::And
        };
        out = Some(match out {
            Some(before) => binary(before, join, this),
            None => this,
        });
    }
    out.ok_or_else(unequal_lengths)
}

/// Two rows compared field by field. `=` holds when every pair is equal and `<>` when one pair
/// differs (NULL when a NULL pair could decide); an ordering is decided by the first pair that
/// is not equal, or NULL when that pair holds a NULL: `(a, b) < (c, d)` is `a < c OR (a = c
/// AND b < d)`, whose NULLs fall out as SQL's.
fn compared(left: &[Expr], op: &BinaryOperator, right: &[Expr]) -> Result<Option<Expr>, DbError> {
    use BinaryOperator as B;
    let strict = match op {
        B::Eq | B::NotEq => None,
        B::Lt | B::LtEq => Some(B::Lt),
        B::Gt | B::GtEq => Some(B::Gt),
        _ => return Ok(None),
    };
    if left.len() != right.len() || left.is_empty() {
        return Err(unequal_lengths());
    }
    let pair = |l: &Expr, op: BinaryOperator, r: &Expr| -> Result<Expr, DbError> {
        match (l, r) {
            (Expr::Tuple(_), _) | (_, Expr::Tuple(_)) => Err(nested()),
            _ => Ok(binary(l.clone(), op, r.clone())),
        }
    };
    let pairs = left.iter().zip(right);
    let Some(strict) = strict else {
        let join = if *op == B::Eq { B::And } else { B::Or };
        let mut out: Option<Expr> = None;
        for (l, r) in pairs {
            let this = pair(l, op.clone(), r)?;
            out = Some(match out {
                Some(before) => binary(before, join.clone(), this),
                None => this,
            });
        }
        return Ok(out);
    };
    let last = left.len() - 1;
    let mut out = pair(&left[last], op.clone(), &right[last])?;
    for at in (0..last).rev() {
        let (l, r) = (&left[at], &right[at]);
        let decided = pair(l, strict.clone(), r)?;
        let tied = pair(l, B::Eq, r)?;
        out = binary(decided, B::Or, binary(tied, B::And, out));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::super::parse::{parse_sql, rewritten};

    #[test]
    fn an_ordering_of_rows_is_decided_by_the_first_pair_that_is_not_equal() {
        assert_eq!(
            rewritten("SELECT id FROM t WHERE (a, b, c) <= ($1, $2, $3)"),
            "SELECT id FROM t WHERE ((a < $1) OR ((a = $1) AND ((b < $2) OR ((b = $2) AND (c <= $3)))))"
        );
    }

    #[test]
    fn rows_in_a_list_are_each_compared_for_equality() {
        assert_eq!(
            rewritten("SELECT id FROM t WHERE (a, b) NOT IN ((1, 'x'), (2, 'y'))"),
            "SELECT id FROM t WHERE NOT (((a = 1) AND (b = 'x')) OR ((a = 2) AND (b = 'y')))"
        );
    }

    #[test]
    fn rows_of_unequal_lengths_are_refused() {
        let error = parse_sql("SELECT 1 WHERE (1, 2) = (1, 2, 3)").unwrap_err();
        assert!(error.to_string().contains("unequal number"), "{error}");
    }
}
