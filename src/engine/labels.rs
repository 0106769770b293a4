//! Output column names as the query wrote them: each projected expression's label is taken
//! before the rewriting passes and given back as an alias where a pass changed the expression.
//! Owns names only; must never change what a column computes.

use gluesql_core::sqlparser::ast::{Expr, Ident, SelectItem, SetExpr, Statement};

/// A quoted column selected by its name is labelled by the name as written (`SELECT "name"`
/// and `SELECT t."name"` give `name`, as in PostgreSQL and SQLite); GlueSQL labels it with its
/// quotes, or by the column it resolves to (`S0` of a derived table that wrote `AS S0`). Given
/// the name as its alias, in every SELECT and RETURNING list. Runs once per parsed statement.
pub fn unquote_labels(statement: &mut Statement) {
    fn items(items: &mut [SelectItem]) {
        for item in items {
            let SelectItem::UnnamedExpr(expr) = item else {
                continue;
            };
            let name = match expr {
                Expr::Identifier(ident) => ident,
                Expr::CompoundIdentifier(idents) => match idents.last() {
                    Some(last) => last,
                    None => continue,
                },
                _ => continue,
            };
            if name.quote_style.is_some() {
                let alias = Ident::with_quote('"', name.value.clone());
                let expr = expr.clone();
                *item = SelectItem::ExprWithAlias { expr, alias };
            }
        }
    }
    fn body(set: &mut SetExpr) {
        match set {
            SetExpr::Select(select) => items(&mut select.projection),
            SetExpr::SetOperation { left, right, .. } => {
                body(left);
                body(right);
            }
            _ => {}
        }
    }
    let _ = super::visit::queries_mut(statement, |query| {
        body(&mut query.body);
        std::ops::ControlFlow::Continue(())
    });
    match statement {
        Statement::Insert(insert) => items(insert.returning.as_deref_mut().unwrap_or_default()),
        Statement::Update {
            returning: Some(returning),
            ..
        } => items(returning),
        Statement::Delete(delete) => items(delete.returning.as_deref_mut().unwrap_or_default()),
        _ => {}
    }
}

/// Labels of a SELECT's unnamed, computed output columns, by position.
pub struct Written(Vec<(usize, String)>);

fn projection(statement: &Statement) -> Option<&[SelectItem]> {
    let Statement::Query(query) = statement else {
        return None;
    };
    match query.body.as_ref() {
        SetExpr::Select(select) => Some(&select.projection),
        _ => None,
    }
}

/// The labels GlueSQL would give the unnamed computed columns of `statement` as it stands.
pub fn written(statement: &Statement) -> Option<Written> {
    let labels: Vec<(usize, String)> = projection(statement)?
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item {
            SelectItem::UnnamedExpr(e)
                if !matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) =>
            {
                Some((i, e.to_string()))
            }
            _ => None,
        })
        .collect();
    (!labels.is_empty()).then_some(Written(labels))
}

/// Whether a pass changed a labelled expression, so `restore` has something to do.
pub fn changed(statement: &Statement, written: &Written) -> bool {
    let Some(items) = projection(statement) else {
        return false;
    };
    written.0.iter().any(|(i, label)| {
        matches!(items.get(*i), Some(SelectItem::UnnamedExpr(e)) if e.to_string() != *label)
    })
}

/// Names each changed column by what the query wrote.
pub fn restore(statement: &mut Statement, written: Written) {
    let Statement::Query(query) = statement else {
        return;
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    for (i, label) in written.0 {
        let Some(item) = select.projection.get_mut(i) else {
            continue;
        };
        if let SelectItem::UnnamedExpr(expr) = item {
            if expr.to_string() != label {
                let expr =
                    std::mem::replace(expr, Expr::Value(gluesql_core::sqlparser::ast::Value::Null));
                *item = SelectItem::ExprWithAlias {
                    expr,
                    alias: Ident::new(label),
                };
            }
        }
    }
}
