//! Clauses idbsql cannot yet run exactly, refused with `plan` naming them, so that no query is
//! answered as if they were not there. Reads the statement after `compat`; changes nothing.

use {
    crate::error::{DbError, ErrorCode},
    gluesql_core::sqlparser::ast::{
        Expr, GroupByExpr, JoinOperator, Query, SetExpr, Statement, TableFactor, TableWithJoins,
        Value,
    },
    std::ops::ControlFlow,
};

/// The first clause in `statement` GlueSQL would ignore: an aggregate `FILTER` that `compat`
/// could not rewrite, a GROUP BY position outside the select list; or a window function
/// where SQL allows none (windows.rs computes the others).
pub fn check(statement: &Statement) -> Result<(), DbError> {
    if let Some(message) = super::windows::misplaced(statement) {
        return Err(DbError::new(ErrorCode::Plan, message));
    }
    let mut refused = None;
    let _ = super::visit::exprs(statement, |expr| {
        refused = match expr {
            Expr::Function(f) if f.filter.is_some() => Some("FILTER on this aggregate"),
            Expr::Subquery(query)
            | Expr::Exists {
                subquery: query, ..
            }
            | Expr::InSubquery {
                subquery: query, ..
            } if has_group_by_position(query) => Some(GROUP_BY_POSITION),
            _ => None,
        };
        match refused {
            Some(_) => ControlFlow::Break(()),
            None => ControlFlow::Continue(()),
        }
    });
    let top = match statement {
        Statement::Query(query) | Statement::CreateView { query, .. } => Some(query.as_ref()),
        Statement::Insert(insert) => insert.source.as_deref(),
        _ => None,
    };
    if refused.is_none() && top.is_some_and(has_group_by_position) {
        refused = Some(GROUP_BY_POSITION);
    }
    if refused.is_none() {
        let _ = super::visit::queries(statement, |query| {
            refused = body_join_refused(&query.body);
            match refused {
                Some(_) => ControlFlow::Break(()),
                None => ControlFlow::Continue(()),
            }
        });
    }
    match refused {
        Some(what) => Err(DbError::new(
            ErrorCode::Plan,
            format!("{what} is not supported"),
        )),
        None => Ok(()),
    }
}

const GROUP_BY_POSITION: &str = "a GROUP BY position outside the select list";

/// `compat` replaced each GROUP BY position inside the select list by its expression; a number
/// left there (here or in a derived table) would group every row into one group.
fn has_group_by_position(query: &Query) -> bool {
    body_has_group_by_position(&query.body)
}

fn body_has_group_by_position(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => {
            let here = matches!(
                &select.group_by,
                GroupByExpr::Expressions(exprs, _)
                    if exprs.iter().any(|e| matches!(e, Expr::Value(Value::Number(..))))
            );
            here || select.from.iter().any(|table| {
                factor_has_group_by_position(&table.relation)
                    || table
                        .joins
                        .iter()
                        .any(|join| factor_has_group_by_position(&join.relation))
            })
        }
        SetExpr::Query(query) => has_group_by_position(query),
        SetExpr::SetOperation { left, right, .. } => {
            body_has_group_by_position(left) || body_has_group_by_position(right)
        }
        _ => false,
    }
}

/// A join GlueSQL would refuse with its syntax tree printed, or run as another join: named
/// here instead (compat.rs has already rewritten the forms it can).
fn body_join_refused(body: &SetExpr) -> Option<&'static str> {
    match body {
        SetExpr::Select(select) => select.from.iter().find_map(joins_refused),
        SetExpr::SetOperation { left, right, .. } => {
            body_join_refused(left).or_else(|| body_join_refused(right))
        }
        _ => None,
    }
}

/// A parenthesised join after another relation whose joins are not all inner: compat.rs
/// splices only inner ones there (a first one is always spliced), and GlueSQL reads none.
fn outer_in_parentheses(factor: &TableFactor) -> Option<&'static str> {
    match factor {
        TableFactor::NestedJoin {
            table_with_joins, ..
        } if table_with_joins.joins.iter().any(|join| {
            !matches!(
                join.join_operator,
                JoinOperator::Inner(_) | JoinOperator::CrossJoin
            )
        }) =>
        {
            Some("a LEFT, RIGHT or FULL JOIN in parentheses after another relation")
        }
        _ => None,
    }
}

fn joins_refused(table: &TableWithJoins) -> Option<&'static str> {
    let factor_refused = |factor: &TableFactor| match factor {
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => joins_refused(table_with_joins),
        _ => None,
    };
    factor_refused(&table.relation).or_else(|| {
        table.joins.iter().find_map(|join| {
            // USING and NATURAL are lowered (using.rs), RIGHT and FULL joins computed
            // (computed_from.rs) when the statement runs.
            match &join.join_operator {
                JoinOperator::Inner(_)
                | JoinOperator::LeftOuter(_)
                | JoinOperator::RightOuter(_)
                | JoinOperator::FullOuter(_)
                | JoinOperator::CrossJoin => {
                    outer_in_parentheses(&join.relation).or_else(|| factor_refused(&join.relation))
                }
                _ => Some("this join operator"),
            }
        })
    })
}

fn factor_has_group_by_position(factor: &TableFactor) -> bool {
    match factor {
        TableFactor::Derived { subquery, .. } => has_group_by_position(subquery),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            factor_has_group_by_position(&table_with_joins.relation)
                || table_with_joins
                    .joins
                    .iter()
                    .any(|join| factor_has_group_by_position(&join.relation))
        }
        _ => false,
    }
}
