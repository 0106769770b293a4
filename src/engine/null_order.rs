//! `ORDER BY … NULLS FIRST / LAST` (GlueSQL 0.20 refuses both) as keys GlueSQL orders by: a
//! key placing the NULLs where asked, then the key itself. Rewrites ORDER BY clauses only;
//! window ORDER BYs are windows.rs's, and set operations' are ordered in setops.rs.

use {
    gluesql_core::sqlparser::ast::{
        Expr, OrderByExpr, Query, SelectItem, SetExpr, Statement, Value as SqlValue,
    },
    std::ops::ControlFlow,
};

/// Rewrites every ORDER BY of `statement` that says where NULLs go.
pub fn rewrite(statement: &mut Statement) {
    let _ = super::visit::queries_mut(statement, |query| {
        rewrite_query(query);
        ControlFlow::<()>::Continue(())
    });
}

fn rewrite_query(query: &mut Query) {
    let Some(order_by) = query.order_by.as_mut() else {
        return;
    };
    if order_by.exprs.iter().all(|item| item.nulls_first.is_none()) {
        return;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return;
    };
    let items = std::mem::take(&mut order_by.exprs);
    for mut item in items {
        let Some(nulls_first) = item.nulls_first.take() else {
            order_by.exprs.push(item);
            continue;
        };
        // GlueSQL's own order puts NULLs last ascending, first descending.
        let asc = item.asc.unwrap_or(true);
        if nulls_first != asc {
            order_by.exprs.push(item);
            continue;
        }
        let Some(value) = ordered_value(&item.expr, &select.projection) else {
            // A position or name it cannot see through (`*`): refused as before.
            item.nulls_first = Some(nulls_first);
            order_by.exprs.push(item);
            continue;
        };
        let (null, other) = if nulls_first { (0, 1) } else { (1, 0) };
        let number = |n: i32| Expr::Value(SqlValue::Number(n.into(), false));
        order_by.exprs.push(OrderByExpr {
            expr: Expr::Case {
                operand: None,
                conditions: vec![Expr::IsNull(Box::new(value))],
                results: vec![number(null)],
                else_result: Some(Box::new(number(other))),
            },
            asc: None,
            nulls_first: None,
            with_fill: None,
        });
        order_by.exprs.push(item);
    }
}

/// The expression an ORDER BY key orders by: a select-list position or output name stands for
/// that item's expression.
fn ordered_value(key: &Expr, projection: &[SelectItem]) -> Option<Expr> {
    let item_expr = |item: &SelectItem| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e.clone()),
        _ => None,
    };
    match key {
        Expr::Value(SqlValue::Number(number, _)) => {
            let position: usize = number.to_string().parse().ok()?;
            if projection.iter().any(|item| item_expr(item).is_none()) {
                return None;
            }
            projection.get(position.checked_sub(1)?).and_then(item_expr)
        }
        Expr::Identifier(ident) => {
            let aliased = projection.iter().find_map(|item| match item {
                SelectItem::ExprWithAlias { expr, alias } if alias.value == ident.value => {
                    Some(expr.clone())
                }
                _ => None,
            });
            Some(aliased.unwrap_or_else(|| key.clone()))
        }
        other => Some(other.clone()),
    }
}
