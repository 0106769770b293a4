//! A primary key compared with a computed constant (`WHERE id = NULLIF(7, 7)`, `id = ABS($1)`):
//! GlueSQL probes the key with the value and fails on NULL ("null value on not null field")
//! where SQL selects nothing. Such an operand becomes a scalar subquery, which `subquery.rs`
//! computes ahead and binds as a value the probe takes. Owns only that wrapping: evaluates
//! nothing, and leaves literals and parameters (the W3 path) as they are.

use {
    super::{
        joins::split,
        setops::{plain_query, plain_select},
        subquery::all_selects,
        Engine,
    },
    gluesql_core::sqlparser::ast::{
        BinaryOperator, Expr, Select, SelectItem, SetExpr, Statement, TableFactor, UnaryOperator,
        Value as SqlValue,
    },
    std::ops::ControlFlow,
};

/// Whether some SELECT's WHERE compares a column with a computed constant (a cheap look at the
/// top-level conjuncts; whether the column is a key is asked of the store when rewriting).
pub fn may_apply(statement: &Statement) -> bool {
    let Statement::Query(_) = statement else {
        // UPDATE and DELETE probe keys through our own store paths, which take NULL.
        return false;
    };
    let mut found = false;
    let _ = super::visit::queries(statement, |query| {
        if let SetExpr::Select(select) = query.body.as_ref() {
            found = select.selection.as_ref().is_some_and(|w| {
                split(w)
                    .into_iter()
                    .any(|c| eq_sides(c).and_then(column_first).is_some())
            });
        }
        if found {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    found
}

impl Engine {
    /// Wraps each computed constant a key column is compared with in a scalar subquery;
    /// whether it wrapped any.
    pub(super) fn wrap_key_probes(&self, statement: &mut Statement) -> bool {
        let mut wrapped = false;
        let _ = super::visit::queries_mut(statement, |query| {
            all_selects(&mut query.body, &mut |select| {
                wrapped |= self.wrap_select(select);
                true
            });
            ControlFlow::Continue(())
        });
        wrapped
    }

    fn wrap_select(&self, select: &mut Select) -> bool {
        let Some(selection) = select.selection.as_mut() else {
            return false;
        };
        let store = self.store();
        let keys: Vec<&str> = select
            .from
            .iter()
            .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
            .filter_map(|factor| match factor {
                TableFactor::Table { name, .. } => name.0.last().map(|i| i.value.as_str()),
                _ => None,
            })
            .filter_map(|table| store.primary_key(table))
            .collect();
        if keys.is_empty() {
            return false;
        }
        let mut wrapped = false;
        for conjunct in conjuncts_mut(selection) {
            let Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } = conjunct
            else {
                continue;
            };
            let Some(column_on_left) = column_first((&**left, &**right)) else {
                continue;
            };
            let (column, value) = if column_on_left {
                (left, right)
            } else {
                (right, left)
            };
            let named = match column.as_ref() {
                Expr::Identifier(i) => Some(&i.value),
                Expr::CompoundIdentifier(parts) => parts.last().map(|i| &i.value),
                _ => None,
            };
            if named.is_some_and(|n| keys.contains(&n.as_str())) {
                let computed = std::mem::replace(value.as_mut(), Expr::Value(SqlValue::Null));
                **value = Expr::Subquery(Box::new(plain_query(SetExpr::Select(Box::new(
                    plain_select(vec![SelectItem::UnnamedExpr(computed)], Vec::new()),
                )))));
                wrapped = true;
            }
        }
        wrapped
    }
}

/// The top-level AND operands of a WHERE, to rewrite (`joins::split` reads them).
fn conjuncts_mut(expr: &mut Expr) -> Vec<&mut Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut found = conjuncts_mut(left);
            found.extend(conjuncts_mut(right));
            found
        }
        Expr::Nested(inner) => conjuncts_mut(inner),
        other => vec![other],
    }
}

/// The two sides of an `=`.
fn eq_sides(expr: &Expr) -> Option<(&Expr, &Expr)> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => Some((left, right)),
        _ => None,
    }
}

/// For `column = computed constant` (either order): whether the column is on the left.
fn column_first((left, right): (&Expr, &Expr)) -> Option<bool> {
    let is_column = |e: &Expr| matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
    if is_column(left) && is_computed_constant(right) {
        Some(true)
    } else if is_column(right) && is_computed_constant(left) {
        Some(false)
    } else {
        None
    }
}

/// An expression of no column and no subquery that is more than a literal or a parameter
/// (a sign and parentheses around one included): GlueSQL evaluates it for the probe.
fn is_computed_constant(expr: &Expr) -> bool {
    let mut plain = expr;
    loop {
        match plain {
            Expr::Nested(inner)
            | Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr: inner,
            } => plain = inner,
            Expr::Value(_) => return false,
            _ => break,
        }
    }
    let mut closed = true;
    let _ = super::visit::exprs(expr, |e| {
        closed = !matches!(
            e,
            Expr::Identifier(_)
                | Expr::CompoundIdentifier(_)
                | Expr::Subquery(_)
                | Expr::Exists { .. }
                | Expr::InSubquery { .. }
        );
        if closed {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    closed
}
