//! `JOIN … USING (k)` and `NATURAL JOIN` (GlueSQL 0.20 refuses both) as the ON equalities they
//! stand for, with the merged columns PostgreSQL gives `*`: each USING column once, first, then
//! the other columns of each side. Reads the catalog for the columns; refuses what it cannot
//! spell exactly (an outer join keeping the right side, a side whose columns are unknown).

use {
    super::{scope::Scope, Engine},
    crate::error::{DbError, ErrorCode},
    gluesql_core::sqlparser::ast::{
        BinaryOperator, Expr, Ident, JoinConstraint, JoinOperator, Query, Select, SelectItem,
        SetExpr, Statement, TableFactor,
    },
    std::ops::ControlFlow,
};

/// Whether `statement` holds a USING or NATURAL join anywhere.
pub fn has_using(statement: &Statement) -> bool {
    // INSERT … VALUES joins nothing: its rows (thousands of parameters) are not walked.
    if let Statement::Insert(insert) = statement {
        let values = insert
            .source
            .as_ref()
            .is_none_or(|source| matches!(source.body.as_ref(), SetExpr::Values(_)));
        if values {
            return false;
        }
    }
    let mut found = false;
    let _ = super::visit::queries(statement, |query| {
        found = body_has_using(&query.body);
        if found {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    found
}

fn body_has_using(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => select.from.iter().any(|table| {
            table.joins.iter().any(|join| {
                matches!(
                    join_constraint(&join.join_operator),
                    Some(JoinConstraint::Using(_) | JoinConstraint::Natural)
                )
            })
        }),
        SetExpr::SetOperation { left, right, .. } => body_has_using(left) || body_has_using(right),
        _ => false,
    }
}

fn join_constraint(operator: &JoinOperator) -> Option<&JoinConstraint> {
    match operator {
        JoinOperator::Inner(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c) => Some(c),
        _ => None,
    }
}

fn refused(what: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, what.into())
}

/// One output column of the joined items so far: its name and the expression reading it.
struct Column {
    name: String,
    expr: Expr,
}

impl Engine {
    /// Rewrites every USING and NATURAL join in `statement` into ON equalities.
    pub(super) fn lower_using(&self, statement: &mut Statement) -> Result<(), DbError> {
        let mut failed = None;
        let _ = super::visit::queries_mut(statement, |query| match self.lower_query(query) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => {
                failed = Some(error);
                ControlFlow::Break(())
            }
        });
        failed.map_or(Ok(()), Err)
    }

    fn lower_query(&self, query: &mut Query) -> Result<(), DbError> {
        let mut failed = Ok(());
        let mut merged = Vec::new();
        super::subquery::all_selects(&mut query.body, &mut |select| {
            match self.lower_select(select) {
                Ok(columns) => merged = columns,
                Err(error) => failed = Err(error),
            }
            failed.is_ok()
        });
        failed?;
        // ORDER BY of one SELECT may name a merged column too (unless an output column of
        // another meaning has its name).
        if let SetExpr::Select(select) = query.body.as_ref() {
            merged.retain(|(name, expr)| {
                !select.projection.iter().any(|item| {
                    matches!(item, SelectItem::ExprWithAlias { alias, expr: e }
                        if alias.value.eq_ignore_ascii_case(name) && e != expr)
                })
            });
            if let Some(order_by) = query.order_by.as_mut() {
                for item in &mut order_by.exprs {
                    merged_names(&mut item.expr, &merged);
                }
            }
        }
        Ok(())
    }

    /// The columns one FROM item gives, under the name it is visible by.
    fn item_columns(&self, factor: &TableFactor) -> Result<Vec<Column>, DbError> {
        if matches!(factor, TableFactor::NestedJoin { .. }) {
            return Err(refused(
                "JOIN … USING or NATURAL JOIN around a parenthesised join is not supported",
            ));
        }
        let mut scope = Scope::default();
        self.scope_of_factor(factor, &mut scope);
        let unknown = || {
            refused("JOIN … USING or NATURAL JOIN over a relation whose columns are not known is not supported")
        };
        let table = scope.tables.pop().ok_or_else(unknown)?;
        if table.name.is_empty() {
            return Err(unknown());
        }
        let columns = table.columns.ok_or_else(unknown)?;
        Ok(columns
            .into_iter()
            .map(|(name, _)| Column {
                expr: super::computed_from::column(&table.name, &name),
                name,
            })
            .collect())
    }

    /// Lowers one SELECT's USING joins; answers its merged columns and what reads each.
    fn lower_select(&self, select: &mut Select) -> Result<Vec<(String, Expr)>, DbError> {
        if !body_has_using(&SetExpr::Select(Box::new(select.clone()))) {
            return Ok(Vec::new());
        }
        let mut output: Vec<Column> = Vec::new();
        let mut all_merged: Vec<(String, Expr)> = Vec::new();
        for table in &mut select.from {
            let mut left = self.item_columns(&table.relation)?;
            for join in &mut table.joins {
                let right = self.item_columns(&join.relation)?;
                let names: Vec<String> = match join_constraint(&join.join_operator) {
                    Some(JoinConstraint::Using(idents)) => {
                        idents.iter().map(|i| i.value.clone()).collect()
                    }
                    Some(JoinConstraint::Natural) => left
                        .iter()
                        .filter(|l| right.iter().any(|r| r.name.eq_ignore_ascii_case(&l.name)))
                        .map(|l| l.name.clone())
                        .collect(),
                    _ => {
                        left.extend(right);
                        continue;
                    }
                };
                let inner = match join.join_operator {
                    JoinOperator::Inner(_) => true,
                    JoinOperator::LeftOuter(_) => false,
                    _ => {
                        return Err(refused(
                            "RIGHT or FULL JOIN with USING or NATURAL is not supported",
                        ))
                    }
                };
                let mut merged = Vec::new();
                let mut condition: Option<Expr> = None;
                for name in &names {
                    let find = |side: &[Column], which: &str| {
                        let found: Vec<usize> = side
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| c.name.eq_ignore_ascii_case(name))
                            .map(|(i, _)| i)
                            .collect();
                        match found.as_slice() {
                            [one] => Ok(*one),
                            [] => Err(refused(format!(
                                "column \"{name}\" specified in USING clause does not exist in {which} table"
                            ))),
                            _ => Err(refused(format!(
                                "common column name \"{name}\" appears more than once in {which} table"
                            ))),
                        }
                    };
                    let l = find(&left, "left")?;
                    let r = find(&right, "right")?;
                    let equal = Expr::BinaryOp {
                        left: Box::new(left[l].expr.clone()),
                        op: BinaryOperator::Eq,
                        right: Box::new(right[r].expr.clone()),
                    };
                    condition = Some(match condition {
                        None => equal,
                        Some(c) => Expr::BinaryOp {
                            left: Box::new(c),
                            op: BinaryOperator::And,
                            right: Box::new(equal),
                        },
                    });
                    merged.push((l, r));
                }
                // Without common columns, NATURAL joins every row.
                let constraint = condition.map_or(JoinConstraint::None, JoinConstraint::On);
                join.join_operator = if inner {
                    JoinOperator::Inner(constraint)
                } else {
                    JoinOperator::LeftOuter(constraint)
                };
                // The merged column reads the left side: equal to the right where they met, and
                // the left keeps every row (an inner or left join).
                let mut next: Vec<Column> = Vec::new();
                let mut taken_left = vec![false; left.len()];
                let mut taken_right = vec![false; right.len()];
                for &(l, r) in &merged {
                    taken_left[l] = true;
                    taken_right[r] = true;
                    next.push(Column {
                        name: left[l].name.clone(),
                        expr: left[l].expr.clone(),
                    });
                    all_merged.push((left[l].name.clone(), left[l].expr.clone()));
                }
                next.extend(
                    left.into_iter()
                        .zip(taken_left)
                        .filter(|(_, taken)| !taken)
                        .map(|(c, _)| c),
                );
                next.extend(
                    right
                        .into_iter()
                        .zip(taken_right)
                        .filter(|(_, taken)| !taken)
                        .map(|(c, _)| c),
                );
                left = next;
            }
            output.extend(left);
        }
        if select
            .projection
            .iter()
            .any(|item| matches!(item, SelectItem::Wildcard(_)))
        {
            let projection = std::mem::take(&mut select.projection);
            for item in projection {
                match item {
                    SelectItem::Wildcard(_) => {
                        select.projection.extend(output.iter().map(|column| {
                            SelectItem::ExprWithAlias {
                                expr: column.expr.clone(),
                                alias: Ident::new(column.name.clone()),
                            }
                        }));
                    }
                    other => select.projection.push(other),
                }
            }
        }
        // An unqualified merged name is the merged column: GlueSQL would find it in two
        // tables (ambiguous, or the right side's NULL after a LEFT JOIN).
        for expr in super::subquery::select_exprs_mut(select) {
            merged_names(expr, &all_merged);
        }
        Ok(all_merged)
    }
}

/// Replaces each unqualified name of a merged column in `expr` (not inside its subqueries,
/// whose own FROM comes first) by the expression reading it.
fn merged_names(expr: &mut Expr, merged: &[(String, Expr)]) {
    match expr {
        Expr::Identifier(ident) => {
            if let Some((_, reading)) = merged
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&ident.value))
            {
                *expr = reading.clone();
            }
        }
        Expr::Subquery(_) | Expr::Exists { .. } => {}
        Expr::InSubquery { expr: operand, .. } => merged_names(operand, merged),
        other => {
            for operand in super::walk::operands_mut(other) {
                merged_names(operand, merged);
            }
        }
    }
}
