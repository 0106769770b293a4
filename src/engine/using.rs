//! `JOIN … USING (k)` and `NATURAL JOIN` (GlueSQL 0.20 refuses both) as the ON equalities they
//! stand for, with the merged columns PostgreSQL gives `*`: each USING column once, first, then
//! the other columns of each side, in every join kind and around parenthesised joins. Reads the
//! catalog for the columns; refuses what it cannot spell exactly (a side whose columns are
//! unknown, a parenthesised join with an alias).

use {
    super::{scope::Scope, Engine},
    crate::error::{DbError, ErrorCode},
    gluesql_core::sqlparser::ast::{
        BinaryOperator, Expr, Ident, JoinConstraint, JoinOperator, Query, Select, SelectItem,
        SetExpr, Statement, TableFactor, TableWithJoins, Value,
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
        SetExpr::Select(select) => select.from.iter().any(joins_have_using),
        SetExpr::SetOperation { left, right, .. } => body_has_using(left) || body_has_using(right),
        _ => false,
    }
}

/// Whether a FROM item's joins, parenthesised ones included, hold a USING or NATURAL join.
fn joins_have_using(table: &TableWithJoins) -> bool {
    let nested = |factor: &TableFactor| match factor {
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => joins_have_using(table_with_joins),
        _ => false,
    };
    nested(&table.relation)
        || table.joins.iter().any(|join| {
            matches!(
                join_constraint(&join.join_operator),
                Some(JoinConstraint::Using(_) | JoinConstraint::Natural)
            ) || nested(&join.relation)
        })
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Inner,
    Left,
    Right,
    Full,
}

/// `COALESCE(l, r)`: a FULL JOIN's merged column.
fn coalesce(l: Expr, r: Expr) -> Expr {
    super::string_agg::call("COALESCE", vec![l, r])
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

    /// The columns one FROM item gives, under the name it is visible by; a parenthesised
    /// join's are its items', its own USING joins lowered first.
    fn item_columns(
        &self,
        factor: &mut TableFactor,
        all_merged: &mut Vec<(String, Expr)>,
    ) -> Result<Vec<Column>, DbError> {
        match factor {
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => return self.lower_joins(table_with_joins, all_merged),
            TableFactor::NestedJoin { .. } => {
                return Err(refused(
                    "JOIN … USING or NATURAL JOIN beside a parenthesised join with an alias is not supported",
                ))
            }
            _ => {}
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

    /// Lowers the USING joins of one FROM item (its parenthesised joins first); answers the
    /// columns it gives, merged ones first as PostgreSQL orders them.
    fn lower_joins(
        &self,
        table: &mut TableWithJoins,
        all_merged: &mut Vec<(String, Expr)>,
    ) -> Result<Vec<Column>, DbError> {
        let mut left = self.item_columns(&mut table.relation, all_merged)?;
        for join in &mut table.joins {
            let right = self.item_columns(&mut join.relation, all_merged)?;
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
            let kind = match join.join_operator {
                JoinOperator::Inner(_) => Kind::Inner,
                JoinOperator::LeftOuter(_) => Kind::Left,
                JoinOperator::RightOuter(_) => Kind::Right,
                _ => Kind::Full,
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
            let constraint = match condition {
                Some(condition) => JoinConstraint::On(condition),
                None if kind == Kind::Inner => JoinConstraint::None,
                None => JoinConstraint::On(Expr::Value(Value::Boolean(true))),
            };
            join.join_operator = match kind {
                Kind::Inner => JoinOperator::Inner(constraint),
                Kind::Left => JoinOperator::LeftOuter(constraint),
                Kind::Right => JoinOperator::RightOuter(constraint),
                Kind::Full => JoinOperator::FullOuter(constraint),
            };
            // The merged column reads the side that keeps every row (PostgreSQL's rule): the
            // left after an inner or left join (equal to the right where they met), the right
            // after a right join, whichever is not NULL after a full join.
            let mut next: Vec<Column> = Vec::new();
            let mut taken_left = vec![false; left.len()];
            let mut taken_right = vec![false; right.len()];
            for &(l, r) in &merged {
                taken_left[l] = true;
                taken_right[r] = true;
                let expr = match kind {
                    Kind::Inner | Kind::Left => left[l].expr.clone(),
                    Kind::Right => right[r].expr.clone(),
                    Kind::Full => coalesce(left[l].expr.clone(), right[r].expr.clone()),
                };
                next.push(Column {
                    name: left[l].name.clone(),
                    expr: expr.clone(),
                });
                all_merged.push((left[l].name.clone(), expr));
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
        Ok(left)
    }

    /// Lowers one SELECT's USING joins; answers its merged columns and what reads each.
    fn lower_select(&self, select: &mut Select) -> Result<Vec<(String, Expr)>, DbError> {
        if !body_has_using(&SetExpr::Select(Box::new(select.clone()))) {
            return Ok(Vec::new());
        }
        let mut output: Vec<Column> = Vec::new();
        let mut all_merged: Vec<(String, Expr)> = Vec::new();
        for table in &mut select.from {
            output.extend(self.lower_joins(table, &mut all_merged)?);
        }
        super::compat::splice_parenthesised(select);
        // A merged name another visible column also has (`a JOIN b USING (k) JOIN c ON …`
        // with `c.k`) is ambiguous unqualified, as in PostgreSQL: left for GlueSQL to refuse.
        all_merged.retain(|(name, _)| {
            output
                .iter()
                .filter(|column| column.name.eq_ignore_ascii_case(name))
                .count()
                == 1
        });
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
        // A select item naming a merged column keeps that name as its label (a FULL JOIN's
        // reads COALESCE(…)).
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(Expr::Identifier(ident)) = item {
                if all_merged
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case(&ident.value))
                {
                    let alias = ident.clone();
                    *item = SelectItem::ExprWithAlias {
                        expr: Expr::Identifier(ident.clone()),
                        alias,
                    };
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
            // A later join's merged column of the same name is the one the name reads.
            if let Some((_, reading)) = merged
                .iter()
                .rev()
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
