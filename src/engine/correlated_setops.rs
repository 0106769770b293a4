//! A subquery that reads the outer row and holds a set operation that does too (GlueSQL 0.20
//! runs no set operation, and ours run as statements of their own, not once per outer row)
//! becomes a one-row `LEFT JOIN LATERAL (SELECT <the subquery expression> AS v)` of the SELECT
//! holding it — from WHERE, the select list, ORDER BY, an inner join's ON, an aggregate's
//! arguments in the select list or HAVING — which lateral.rs runs per distinct outer row with
//! that row bound. Where no such join can stand (HAVING outside an aggregate, a RIGHT or FULL
//! join's ON, …) the statement is refused by name. Rewrites only; runs nothing.

use {
    super::{
        computed_from::{column, refused, visible_names},
        scope::Scope,
        subquery::all_selects,
        walk::operands_mut,
        Engine,
    },
    crate::error::DbError,
    gluesql_core::sqlparser::ast::{
        Expr, GroupByExpr, Ident, Join, JoinConstraint, JoinOperator, ObjectName, Query, Select,
        SelectItem, SetExpr, Statement, TableAlias, TableFactor, TableWithJoins, Value as SqlValue,
    },
    std::ops::ControlFlow,
};

/// The names of lifted relations begin so, a name no query writes (as string_agg.rs's
/// `__string_agg`).
const LIFTED: &str = "__correlated_set";

/// The name of the n-th lifted relation.
fn lifted_name(n: usize) -> String {
    format!("{LIFTED}{n}")
}

/// Whether `join` is one this module lifted a subquery expression into: exactly one row per
/// row before it, reading only that row (join planning may move it to the earliest place where
/// all it reads is joined).
pub(super) fn is_lifted_row(join: &Join) -> bool {
    let TableFactor::Derived {
        lateral: true,
        subquery,
        alias: Some(alias),
    } = &join.relation
    else {
        return false;
    };
    let one_row =
        matches!(subquery.body.as_ref(), SetExpr::Select(select) if select.from.is_empty());
    alias.name.value.starts_with(LIFTED)
        && one_row
        && matches!(
            &join.join_operator,
            JoinOperator::LeftOuter(JoinConstraint::On(Expr::Value(SqlValue::Boolean(true))))
        )
}

/// Whether `query` holds a set operation anywhere (its body, a derived table, a subquery).
pub(super) fn holds_set_operation(query: &Query) -> bool {
    super::visit::queries(query, |query| {
        if matches!(query.body.as_ref(), SetExpr::SetOperation { .. }) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// The query of a subquery expression (scalar, EXISTS, IN), not looking inside anything else.
fn subquery_of(expr: &Expr) -> Option<&Query> {
    match expr {
        Expr::Subquery(query)
        | Expr::Exists {
            subquery: query, ..
        }
        | Expr::InSubquery {
            subquery: query, ..
        } => Some(query),
        _ => None,
    }
}

/// Whether `statement` holds a subquery expression with a set operation in it: the only
/// statements worth the walk below.
pub fn may_apply(statement: &Statement) -> bool {
    super::visit::exprs(statement, |expr| {
        if subquery_of(expr).is_some_and(holds_set_operation) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// Whether `select` aggregates (GROUP BY, HAVING, or an aggregate call in its output): its
/// output rows are groups, not the rows a LATERAL join would run beside.
fn aggregates(select: &Select) -> bool {
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    grouped
        || select.having.is_some()
        || select.projection.iter().any(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                super::string_agg::holds(e, super::string_agg::is_aggregate)
            }
            _ => false,
        })
}

fn refuse_in(clause: &str) -> Result<(), DbError> {
    Err(refused(format!(
        "a correlated subquery holding UNION / INTERSECT / EXCEPT in {clause} is not supported"
    )))
}

impl Engine {
    /// Lifts every correlated subquery holding a set operation in `statement` (see the module's
    /// note), or refuses the statement naming where one stands that cannot be lifted. Whether
    /// it lifted one.
    pub(super) fn lift_correlated_set_operations(
        &self,
        statement: &mut Statement,
    ) -> Result<bool, DbError> {
        match statement {
            Statement::Query(query) => {
                let mut lifted = 0;
                self.lift_in_query(query, &mut lifted)?;
                Ok(lifted > 0)
            }
            // An INSERT's SELECT runs as a statement of its own (and is walked then), so do
            // an UPDATE's and a DELETE's rows (`write_reads_correlated_set_operation`).
            Statement::Insert(_) => Ok(false),
            other => {
                let mut refusal = Ok(());
                let _ = super::visit::exprs_mut(other, |expr| {
                    if self.is_correlated_set_operation(expr) {
                        refusal = Err(refused(
                            "a subquery reading the written row that holds UNION / INTERSECT / EXCEPT is not supported in this statement (select the keys to write in a SELECT first)",
                        ));
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                });
                refusal.map(|()| false)
            }
        }
    }

    /// Whether an UPDATE or DELETE holds a correlated subquery with a set operation: it then
    /// runs as a SELECT of the rows' keys and new values (joined_writes.rs), lifted there.
    pub(super) fn write_reads_correlated_set_operation(&self, statement: &Statement) -> bool {
        matches!(statement, Statement::Update { .. } | Statement::Delete(_))
            && may_apply(statement)
            && super::visit::exprs(statement, |expr| {
                if self.is_correlated_set_operation(expr) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .is_break()
    }

    /// Whether `expr` is a subquery expression that reads a name from outside itself and
    /// holds a set operation that does too (one that does not is computed once, subquery.rs).
    fn is_correlated_set_operation(&self, expr: &Expr) -> bool {
        subquery_of(expr).is_some_and(|query| {
            self.holds_open_set_operation(query)
                && !self.is_closed(&mut query.clone(), &mut Vec::new())
        })
    }

    /// Whether a set operation in `query` (itself included) reads a name from outside it.
    fn holds_open_set_operation(&self, query: &Query) -> bool {
        super::visit::queries(query, |inner| {
            let open = matches!(inner.body.as_ref(), SetExpr::SetOperation { .. })
                && !self.is_closed(&mut inner.clone(), &mut Vec::new());
            if open {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .is_break()
    }

    fn lift_in_query(&self, query: &mut Query, lifted: &mut usize) -> Result<(), DbError> {
        let mut order_by: Vec<&mut Expr> = match query.order_by.as_mut() {
            Some(order_by) => order_by.exprs.iter_mut().map(|o| &mut o.expr).collect(),
            None => Vec::new(),
        };
        let ordered = order_by
            .iter()
            .any(|e| self.holds_correlated_set_operation(e));
        if let (SetExpr::Select(select), true) = (query.body.as_mut(), ordered) {
            // ORDER BY after a SELECT of rows (not groups, not DISTINCT) reads its FROM items,
            // a lifted relation among them.
            if select.distinct.is_none() && !aggregates(select) {
                return self.lift_in_select(select, &mut order_by, lifted);
            }
        }
        if ordered {
            return refuse_in("ORDER BY after a set operation, DISTINCT or grouping");
        }
        let mut result = Ok(());
        all_selects(&mut query.body, &mut |select| {
            result = self.lift_in_select(select, &mut Vec::new(), lifted);
            result.is_ok()
        });
        result
    }

    /// Whether a correlated subquery holding a set operation stands in `expr` (not inside
    /// another subquery).
    fn holds_correlated_set_operation(&self, expr: &Expr) -> bool {
        fn walk(engine: &Engine, expr: &mut Expr) -> bool {
            // An IN's own subquery, or (when it is not one) its left operand.
            (subquery_of(expr).is_some() && engine.is_correlated_set_operation(expr))
                || operands_mut(expr).into_iter().any(|e| walk(engine, e))
        }
        walk(self, &mut expr.clone())
    }

    /// Lifts what `select` holds (and `order_by`, the ORDER BY after it, when it may read its
    /// FROM items).
    fn lift_in_select(
        &self,
        select: &mut Select,
        order_by: &mut [&mut Expr],
        lifted: &mut usize,
    ) -> Result<(), DbError> {
        // Derived tables run inside this statement: their SELECTs are walked here.
        for table in &mut select.from {
            for factor in std::iter::once(&mut table.relation)
                .chain(table.joins.iter_mut().map(|join| &mut join.relation))
            {
                self.lift_in_factor(factor, lifted)?;
            }
        }
        // An inner join's ON with no RIGHT or FULL join after it filters as WHERE does: it
        // moves there (what it keeps of the rows before it, joins before or after keep too —
        // a LEFT join after keeps every row on its left). A LEFT JOIN's becomes the filter of
        // a LATERAL subquery over its relation (run per row of what precedes it, and lifted
        // again inside). Anywhere else it is refused.
        for table in &mut select.from {
            for j in 0..table.joins.len() {
                let inner = matches!(table.joins[j].join_operator, JoinOperator::Inner(_))
                    && !table.joins[j + 1..].iter().any(|join| {
                        matches!(
                            join.join_operator,
                            JoinOperator::RightOuter(_) | JoinOperator::FullOuter(_)
                        )
                    });
                let operator = &mut table.joins[j].join_operator;
                let (JoinOperator::Inner(JoinConstraint::On(on))
                | JoinOperator::LeftOuter(JoinConstraint::On(on))
                | JoinOperator::RightOuter(JoinConstraint::On(on))
                | JoinOperator::FullOuter(JoinConstraint::On(on))) = operator
                else {
                    continue;
                };
                if !self.holds_correlated_set_operation(on) {
                    continue;
                }
                if inner {
                    let moved = std::mem::replace(on, Expr::Value(SqlValue::Boolean(true)));
                    select.selection = Some(match select.selection.take() {
                        Some(selection) => Expr::BinaryOp {
                            left: Box::new(Expr::Nested(Box::new(selection))),
                            op: gluesql_core::sqlparser::ast::BinaryOperator::And,
                            right: Box::new(Expr::Nested(Box::new(moved))),
                        },
                        None => moved,
                    });
                    continue;
                }
                let before = TableWithJoins {
                    relation: table.relation.clone(),
                    joins: table.joins[..j].to_vec(),
                };
                let left = self.scope_of_from(std::slice::from_ref(&before));
                if !self.left_join_as_lateral(&mut table.joins[j], &left) {
                    return refuse_in(
                        "the ON of a RIGHT or FULL join, or of an inner join before one",
                    );
                }
                *lifted += 1;
            }
        }
        if let GroupByExpr::Expressions(exprs, _) = &select.group_by {
            if exprs.iter().any(|e| self.holds_correlated_set_operation(e)) {
                return refuse_in("GROUP BY");
            }
        }
        let in_output = select.projection.iter().any(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                self.holds_correlated_set_operation(e)
            }
            _ => false,
        });
        let in_where = select
            .selection
            .as_ref()
            .is_some_and(|e| self.holds_correlated_set_operation(e));
        let in_having = select
            .having
            .as_ref()
            .is_some_and(|e| self.holds_correlated_set_operation(e));
        if !in_output && !in_where && !in_having && order_by.is_empty() {
            return Ok(());
        }
        if select.from.is_empty() {
            // No row of its own to run beside: the subquery reads a query further out.
            return refuse_in("a SELECT without FROM inside another subquery");
        }
        // Over groups, only an aggregate's arguments and FILTER are read per row.
        let per_group = aggregates(select);
        let scope = self.scope_of_from(&select.from);
        let mut found = Vec::new();
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(e) = item {
                if self.holds_correlated_set_operation(e) {
                    // The column keeps the name the query wrote.
                    let alias = super::windows::label(e);
                    let expr = std::mem::replace(e, Expr::Value(SqlValue::Null));
                    *item = SelectItem::ExprWithAlias { expr, alias };
                }
            }
            if let SelectItem::ExprWithAlias { expr, .. } = item {
                self.take_lifted(expr, &scope, per_group, lifted, &mut found);
                if per_group && self.holds_correlated_set_operation(expr) {
                    return refuse_in(
                        "the output of a SELECT that aggregates (outside an aggregate's arguments)",
                    );
                }
            }
        }
        if let Some(selection) = select.selection.as_mut() {
            self.take_lifted(selection, &scope, false, lifted, &mut found);
        }
        // HAVING reads groups: an aggregate's arguments and FILTER there are read per row,
        // as in the output (`MIN(x) FILTER (WHERE c IN (… EXCEPT …)) > 6`).
        if let Some(having) = select.having.as_mut() {
            self.take_lifted(having, &scope, true, lifted, &mut found);
            if self.holds_correlated_set_operation(having) {
                return refuse_in("HAVING (outside an aggregate's arguments)");
            }
        }
        for expr in order_by.iter_mut() {
            self.take_lifted(expr, &scope, false, lifted, &mut found);
        }
        spell_wildcard(select);
        for (name, subquery_expr) in found {
            let at = item_reading(select, &subquery_expr);
            let projection = vec![SelectItem::ExprWithAlias {
                expr: subquery_expr,
                alias: Ident::new("v"),
            }];
            let one_row = super::setops::plain_query(SetExpr::Select(Box::new(
                super::setops::plain_select(projection, Vec::new()),
            )));
            select.from[at].joins.push(Join {
                relation: TableFactor::Derived {
                    lateral: true,
                    subquery: Box::new(one_row),
                    alias: Some(TableAlias {
                        name: Ident::new(name),
                        columns: Vec::new(),
                    }),
                },
                global: false,
                join_operator: JoinOperator::LeftOuter(JoinConstraint::On(Expr::Value(
                    SqlValue::Boolean(true),
                ))),
            });
        }
        Ok(())
    }

    /// `LEFT JOIN b ON c` as `LEFT JOIN LATERAL (SELECT b.* FROM b WHERE c) AS b ON TRUE`, the
    /// names `c` reads from `left` (what precedes the join) qualified; false where the joined
    /// relation is not a table or a named subquery.
    fn left_join_as_lateral(&self, join: &mut Join, left: &Scope) -> bool {
        let name = match &join.relation {
            TableFactor::Table {
                alias: Some(alias), ..
            }
            | TableFactor::Derived {
                lateral: false,
                alias: Some(alias),
                ..
            } => alias.name.clone(),
            TableFactor::Table { name, .. } => match name.0.last() {
                Some(name) => name.clone(),
                None => return false,
            },
            _ => return false,
        };
        let JoinOperator::LeftOuter(JoinConstraint::On(on)) = &mut join.join_operator else {
            return false;
        };
        let on = std::mem::replace(on, Expr::Value(SqlValue::Boolean(true)));
        let from = TableWithJoins {
            relation: join.relation.clone(),
            joins: Vec::new(),
        };
        let items = vec![SelectItem::QualifiedWildcard(
            ObjectName(vec![name.clone()]),
            Default::default(),
        )];
        let mut select = super::setops::plain_select(items, vec![from]);
        select.selection = Some(on);
        let mut query = super::setops::plain_query(SetExpr::Select(Box::new(select)));
        self.is_closed_over(&mut query, &mut Vec::new(), Some(left));
        join.relation = TableFactor::Derived {
            lateral: true,
            subquery: Box::new(query),
            alias: Some(TableAlias {
                name,
                columns: Vec::new(),
            }),
        };
        true
    }

    fn lift_in_factor(&self, factor: &mut TableFactor, lifted: &mut usize) -> Result<(), DbError> {
        match factor {
            // A LATERAL subquery runs per row of what precedes it, each run walked then.
            TableFactor::Derived { lateral: true, .. } => Ok(()),
            TableFactor::Derived { subquery, .. } => self.lift_in_query(subquery, lifted),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.lift_in_factor(&mut table_with_joins.relation, lifted)?;
                for join in &mut table_with_joins.joins {
                    self.lift_in_factor(&mut join.relation, lifted)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Replaces each correlated subquery expression holding a set operation in `expr` (with
    /// `in_aggregates`, only one inside an aggregate call) by the column of the relation it is
    /// lifted into; `found` gets (relation, expression), the names it reads from `scope`
    /// qualified by their FROM item.
    fn take_lifted(
        &self,
        expr: &mut Expr,
        scope: &Scope,
        in_aggregates: bool,
        lifted: &mut usize,
        found: &mut Vec<(String, Expr)>,
    ) {
        let in_aggregates = in_aggregates && !super::string_agg::is_aggregate(expr);
        if subquery_of(expr).is_some() && !in_aggregates && self.is_correlated_set_operation(expr) {
            let mut taken = std::mem::replace(expr, Expr::Value(SqlValue::Null));
            qualify(self, &mut taken, scope);
            let name = lifted_name(*lifted);
            *lifted += 1;
            *expr = column(&name, "v");
            found.push((name, taken));
            return;
        }
        for operand in operands_mut(expr) {
            self.take_lifted(operand, scope, in_aggregates, lifted, found);
        }
    }
}

/// Qualifies the names in `expr` that only `scope` (the SELECT it is lifted from) has.
fn qualify(engine: &Engine, expr: &mut Expr, scope: &Scope) {
    match expr {
        Expr::Subquery(query)
        | Expr::Exists {
            subquery: query, ..
        } => {
            engine.is_closed_over(query, &mut Vec::new(), Some(scope));
        }
        Expr::InSubquery {
            expr: target,
            subquery,
            ..
        } => {
            engine.expr_is_closed(target, &mut Vec::new(), Some(scope));
            engine.is_closed_over(subquery, &mut Vec::new(), Some(scope));
        }
        _ => {}
    }
}

/// `*` read beside a lifted relation names the FROM items written, each by `name.*`, so the
/// lifted column is not one of them.
fn spell_wildcard(select: &mut Select) {
    if !select
        .projection
        .iter()
        .any(|item| matches!(item, SelectItem::Wildcard(_)))
    {
        return;
    }
    let mut names = Vec::new();
    for table in &select.from {
        visible_names(table, &mut names);
    }
    let projection = std::mem::take(&mut select.projection);
    for item in projection {
        match item {
            SelectItem::Wildcard(_) => select.projection.extend(names.iter().map(|name| {
                SelectItem::QualifiedWildcard(
                    ObjectName(vec![Ident::new(name)]),
                    Default::default(),
                )
            })),
            other => select.projection.push(other),
        }
    }
}

/// The FROM item the lifted `expr` joins: the one whose names it reads. Items it reads
/// together are first made one (`a, b` → `a CROSS JOIN b`), as the LATERAL reads only its own
/// item's rows.
fn item_reading(select: &mut Select, expr: &Expr) -> usize {
    let mut qualifiers = Vec::new();
    let _ = super::visit::exprs(expr, |e| {
        if let Expr::CompoundIdentifier(parts) = e {
            if let [qualifier, _] = parts.as_slice() {
                qualifiers.push(qualifier.value.to_lowercase());
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let reads: Vec<usize> = select
        .from
        .iter()
        .enumerate()
        .filter(|(_, table)| {
            let mut names = Vec::new();
            visible_names(table, &mut names);
            names
                .iter()
                .any(|name| qualifiers.contains(&name.to_lowercase()))
        })
        .map(|(i, _)| i)
        .collect();
    let (Some(&first), Some(&last)) = (reads.first(), reads.last()) else {
        return select.from.len() - 1;
    };
    if first < last {
        let merged: Vec<TableWithJoins> = select.from.drain(first + 1..=last).collect();
        let into = &mut select.from[first];
        for item in merged {
            into.joins.push(Join {
                relation: item.relation,
                global: false,
                join_operator: JoinOperator::CrossJoin,
            });
            into.joins.extend(item.joins);
        }
    }
    first
}
