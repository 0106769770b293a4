//! Uncorrelated subqueries run once per statement, before it runs, and their answers are bound
//! as parameters: GlueSQL 0.20 re-runs a subquery for every outer row. A subquery that names
//! anything outside itself, or whose answer cannot be taken now, is left to GlueSQL.

use {
    super::{
        relation::bind,
        scope::{label_of, Scope},
        walk::operands_mut,
        Engine,
    },
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        data::{Key, Value},
        sqlparser::ast::{
            Expr, Ident, Query, Select, SelectItem, SetExpr, Statement, TableAlias, TableFactor,
            Value as SqlValue,
        },
    },
    std::{collections::HashSet, ops::ControlFlow},
};

/// Whether `statement` holds a subquery at all (then it is worth a walk).
pub fn has_subquery(statement: &Statement) -> bool {
    let mut found = false;
    let _ = super::visit::exprs(statement, |expr| {
        found = matches!(
            expr,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        );
        if found {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    });
    found
}

/// Whether `statement` reads a set operation as a derived table (`FROM (… UNION …) AS s`),
/// which GlueSQL 0.20 cannot run: its rows are computed first (see `relation`).
pub fn has_derived_set_operation(statement: &Statement) -> bool {
    // One inside an UPDATE's or DELETE's subquery is found by `has_subquery`.
    let Some(query) = super::joins::query_of(statement) else {
        return false;
    };
    super::visit::table_factors(query, |factor| match factor {
        TableFactor::Derived { subquery, .. } if super::setops::is_set_operation(subquery) => {
            std::ops::ControlFlow::Break(())
        }
        _ => std::ops::ControlFlow::Continue(()),
    })
    .is_break()
}

/// Whether some SELECT in `statement` (any query, any arm of a set operation) is one `is`
/// accepts.
fn any_select(statement: &Statement, is: impl Fn(&Select) -> bool) -> bool {
    fn body(set: &SetExpr, is: &dyn Fn(&Select) -> bool) -> bool {
        match set {
            SetExpr::Select(select) => is(select),
            SetExpr::Query(query) => body(&query.body, is),
            SetExpr::SetOperation { left, right, .. } => body(left, is) || body(right, is),
            _ => false,
        }
    }
    super::visit::queries(statement, |query| {
        if body(&query.body, &is) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// Whether some SELECT in `statement` reads a derived table (a view, a WITH query) under a
/// WHERE that ANDs a constant false: GlueSQL would compute its rows before filtering them.
pub fn derived_under_false_where(statement: &Statement, params: &[Value]) -> bool {
    any_select(statement, |select| {
        let derived = select.from.iter().any(|table| {
            std::iter::once(&table.relation)
                .chain(table.joins.iter().map(|join| &join.relation))
                .any(|factor| matches!(factor, TableFactor::Derived { .. }))
        });
        derived
            && select
                .selection
                .as_ref()
                .is_some_and(|selection| ands_false(selection, params))
    })
}

/// Whether a SELECT of `statement` has a HAVING that is, or ANDs, a constant false.
pub fn has_false_having(statement: &Statement, params: &[Value]) -> bool {
    any_select(statement, |select| {
        select
            .having
            .as_ref()
            .is_some_and(|having| ands_false(having, params))
    })
}

/// A SELECT whose HAVING is, or ANDs, a constant false keeps no group, and PostgreSQL
/// computes nothing for it — no aggregate, no WHERE. Its WHERE becomes that false, so nothing
/// under it is computed here either (a division by zero in an aggregate's argument or FILTER,
/// or in a derived table, is never reached); the HAVING stays and still keeps no row.
pub fn settle_false_having(statement: &mut Statement, params: &[Value]) {
    let _ = super::visit::queries_mut(statement, |query| {
        all_selects(&mut query.body, &mut |select| {
            if select
                .having
                .as_ref()
                .is_some_and(|having| ands_false(having, params))
            {
                select.selection = Some(Expr::Value(SqlValue::Boolean(false)));
            }
            true
        });
        ControlFlow::Continue(())
    });
}

/// Whether a WHERE ANDs a constant false (constant_case.rs decides each conjunct): it is
/// false whatever the others are.
fn ands_false(selection: &Expr, params: &[Value]) -> bool {
    super::joins::split(selection)
        .into_iter()
        .any(|conjunct| super::constant_case::is_false(conjunct, params))
}

/// Whether `expr` holds a subquery.
pub(super) fn holds_subquery(expr: &Expr) -> bool {
    super::visit::exprs(expr, |e| match e {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Whether `expr` reads no column outside the subqueries it holds.
fn reads_no_column(expr: &mut Expr) -> bool {
    match expr {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => false,
        Expr::Subquery(_) | Expr::Exists { .. } => true,
        other => operands_mut(other).into_iter().all(reads_no_column),
    }
}

/// Calls `f` on every SELECT of a query body (each branch of a set operation is one) until it
/// answers false; answers whether all answered true.
pub(super) fn all_selects(body: &mut SetExpr, f: &mut impl FnMut(&mut Select) -> bool) -> bool {
    match body {
        SetExpr::Select(select) => f(select),
        SetExpr::Query(query) => all_selects(&mut query.body, f),
        SetExpr::SetOperation { left, right, .. } => all_selects(left, f) && all_selects(right, f),
        _ => true,
    }
}

impl Engine {
    /// Whether every name inside `query` is its own (or its subqueries'): it can run alone.
    pub(super) fn is_closed(&self, query: &mut Query, inner: &mut Vec<Scope>) -> bool {
        self.is_closed_over(query, inner, None)
    }

    /// `is_closed`, where a name none of `query`'s scopes has may also be `outer`'s: an
    /// unqualified one is then qualified by the FROM item of `outer` that has it (one only).
    pub(super) fn is_closed_over(
        &self,
        query: &mut Query,
        inner: &mut Vec<Scope>,
        outer: Option<&Scope>,
    ) -> bool {
        let mut labels = Vec::new();
        let selects_closed = all_selects(&mut query.body, &mut |select| {
            let mut scope = self.scope_of_from(&select.from);
            // A recursive WITH's own rows have the columns its first term gives: a name it
            // does not know may be one of them, never an outer query's.
            scope.any_column = scope.tables.iter().any(|t| {
                t.source
                    .as_deref()
                    .is_some_and(super::recursive::is_self_reference)
            });
            scope.labels = select.projection.iter().filter_map(label_of).collect();
            labels.extend(scope.labels.iter().cloned());
            // A LATERAL subquery may read the FROM items before it (their scope is built only
            // for a SELECT holding one).
            let has_lateral = select.from.iter().any(|table| {
                std::iter::once(&table.relation)
                    .chain(table.joins.iter().map(|join| &join.relation))
                    .any(super::computed_from::is_lateral)
            });
            let mut before = Scope::default();
            let sources_closed = select.from.iter_mut().all(|table| {
                let factors = std::iter::once(&mut table.relation)
                    .chain(table.joins.iter_mut().map(|join| &mut join.relation));
                for factor in factors {
                    let lateral = super::computed_from::is_lateral(factor);
                    if lateral {
                        inner.push(std::mem::take(&mut before));
                    }
                    let closed = self.factor_is_closed(factor, inner, outer);
                    if lateral {
                        before = inner.pop().unwrap_or_default();
                    }
                    if !closed {
                        return false;
                    }
                    if has_lateral {
                        self.scope_of_factor(factor, &mut before);
                    }
                }
                true
            });
            if !sources_closed {
                return false;
            }
            inner.push(scope);
            let closed = select_exprs_mut(select)
                .into_iter()
                .all(|expr| self.expr_is_closed(expr, inner, outer));
            inner.pop();
            closed
        });
        if !selects_closed {
            return false;
        }
        // ORDER BY / LIMIT / OFFSET name output labels or, after a plain SELECT, its sources.
        let mut tail = Scope {
            labels,
            ..Scope::default()
        };
        if let SetExpr::Select(select) = query.body.as_ref() {
            tail.tables = self.scope_of_from(&select.from).tables;
        }
        inner.push(tail);
        let closed = query_tail_exprs_mut(query)
            .into_iter()
            .all(|expr| self.expr_is_closed(expr, inner, outer));
        inner.pop();
        closed
    }

    fn factor_is_closed(
        &self,
        factor: &mut TableFactor,
        inner: &mut Vec<Scope>,
        outer: Option<&Scope>,
    ) -> bool {
        match factor {
            TableFactor::Derived { subquery, .. } => self.is_closed_over(subquery, inner, outer),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.factor_is_closed(&mut table_with_joins.relation, inner, outer)
                    && table_with_joins
                        .joins
                        .iter_mut()
                        .all(|join| self.factor_is_closed(&mut join.relation, inner, outer))
            }
            _ => true,
        }
    }

    pub(super) fn expr_is_closed(
        &self,
        expr: &mut Expr,
        inner: &mut Vec<Scope>,
        outer: Option<&Scope>,
    ) -> bool {
        match expr {
            // An unquoted name is its own in any case (PostgreSQL folds it): `S0.c` inside
            // `FROM t AS s0` is the inner `s0`'s, even beside an outer `S0`.
            Expr::Identifier(ident) => {
                let own = inner.iter().any(|scope| {
                    scope.names(&ident.value)
                        || (ident.quote_style.is_none() && scope.names_folded(&ident.value))
                });
                if own {
                    return true;
                }
                let Some(table) = outer.and_then(|outer| outer.only_table_naming(ident)) else {
                    return false;
                };
                *expr = Expr::CompoundIdentifier(vec![Ident::new(table), ident.clone()]);
                true
            }
            Expr::CompoundIdentifier(idents) if idents.len() == 2 => {
                let table = &idents[0];
                let has = |scope: &Scope| {
                    scope.has_table(&table.value)
                        || (table.quote_style.is_none() && scope.has_table_folded(&table.value))
                };
                inner.iter().any(has) || outer.is_some_and(has)
            }
            Expr::CompoundIdentifier(_) => false,
            Expr::Subquery(query)
            | Expr::Exists {
                subquery: query, ..
            } => self.is_closed_over(query, inner, outer),
            Expr::InSubquery { expr, subquery, .. } => {
                self.expr_is_closed(expr, inner, outer)
                    && self.is_closed_over(subquery, inner, outer)
            }
            other => operands_mut(other)
                .into_iter()
                .all(|operand| self.expr_is_closed(operand, inner, outer)),
        }
    }

    /// Runs every uncorrelated subquery in `statement` once and binds its answer as new
    /// parameters appended to `params`. Fails with the error of a set operation read as a
    /// derived table (its rows are always needed).
    pub(super) fn materialize_subqueries(
        &mut self,
        statement: &mut Statement,
        params: &mut Vec<Value>,
    ) -> Result<(), DbError> {
        // A statement run for a derived set operation keeps its own failure apart.
        let outer = self.relation_failed.take();
        match statement {
            Statement::Query(query) => self.walk_query(query, params),
            Statement::Insert(insert) => {
                if let Some(source) = insert.source.as_mut() {
                    self.walk_query(source, params);
                }
            }
            Statement::Update {
                assignments,
                selection,
                ..
            } => {
                for assignment in assignments {
                    self.walk_expr(&mut assignment.value, params);
                }
                if let Some(selection) = selection {
                    self.walk_expr(selection, params);
                }
            }
            Statement::Delete(delete) => {
                if let Some(selection) = delete.selection.as_mut() {
                    self.walk_expr(selection, params);
                }
            }
            _ => {}
        }
        let failed = std::mem::replace(&mut self.relation_failed, outer);
        failed.map_or(Ok(()), Err)
    }

    fn walk_query(&mut self, query: &mut Query, params: &mut Vec<Value>) {
        // A SELECT whose WHERE is a constant false (or ANDs one) reads no row of its FROM: what
        // we would compute ahead there (set operations, windows, recursive WITH) is never
        // computed, as PostgreSQL's planner never runs it (a division by zero in it is never
        // reached).
        // Its subqueries are computed first where they are all it reads (`WHERE NOT EXISTS
        // (SELECT … FROM t)`): they may make it one.
        all_selects(&mut query.body, &mut |select| {
            if let Some(selection) = select.selection.as_mut() {
                if holds_subquery(selection) && reads_no_column(selection) {
                    self.walk_expr(selection, params);
                }
                if ands_false(selection, params) {
                    self.empty_derived(select, params);
                }
            }
            true
        });
        // Windows first: their SELECT then reads one relation of computed rows, and its first
        // query (run as its own statement) takes every other step.
        if let SetExpr::Select(select) = query.body.as_mut() {
            if super::windows::select_has_window(select, query.order_by.as_ref()) {
                if let Err(error) = self.compute_windows(select, query.order_by.as_mut(), params) {
                    self.relation_failed.get_or_insert(error);
                    return;
                }
            }
        }
        let mut renames = Vec::new();
        all_selects(&mut query.body, &mut |select| {
            let computed = super::computed_from::select_has_computed_join(select);
            match self.compute_joins(select, params) {
                Ok(renamed) => renames = renamed,
                Err(error) => {
                    self.relation_failed.get_or_insert(error);
                }
            }
            // JSON calls left until the join was computed (json_placement.rs) are placed now
            // that its items are one relation, before that relation's FROM is walked.
            if computed && super::json_placement::holds_unplaced_call(select) {
                let placed = self
                    .lower_json_select(select, None, &mut Vec::new())
                    .and_then(|()| {
                        // Calls over the SELECT's rows are windows, computed as windows are.
                        if super::windows::select_has_window(select, None) {
                            self.compute_windows(select, None, params)
                        } else {
                            Ok(())
                        }
                    });
                if let Err(error) = placed {
                    self.relation_failed.get_or_insert(error);
                }
            }
            for table in &mut select.from {
                self.walk_factor(&mut table.relation, params);
                for join in &mut table.joins {
                    self.walk_factor(&mut join.relation, params);
                }
            }
            for expr in select_exprs_mut(select) {
                self.walk_expr(expr, params);
            }
            true
        });
        // ORDER BY after one SELECT reads its relations: a renamed column there too.
        let plain = matches!(query.body.as_ref(), SetExpr::Select(_));
        for expr in query_tail_exprs_mut(query) {
            if plain {
                super::computed_from::rename(expr, &renames);
            }
            self.walk_expr(expr, params);
        }
    }

    fn walk_factor(&mut self, factor: &mut TableFactor, params: &mut Vec<Value>) {
        match factor {
            TableFactor::Derived {
                subquery,
                alias: Some(alias),
                lateral: false,
            } if super::recursive::is_recursive(subquery) => {
                match self.recursive_relation(subquery, alias, params) {
                    Ok(rows) => **subquery = rows,
                    Err(error) => {
                        self.relation_failed.get_or_insert(error);
                    }
                }
            }
            TableFactor::Derived {
                subquery,
                alias: Some(alias),
                lateral: false,
            } if super::setops::is_set_operation(subquery) => {
                match self.relation(subquery, alias, params) {
                    Ok(Some(rows)) => **subquery = rows,
                    Ok(None) => self.walk_query(subquery, params),
                    Err(error) => {
                        self.relation_failed.get_or_insert(error);
                    }
                }
            }
            TableFactor::Derived { subquery, .. } => self.walk_query(subquery, params),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.walk_factor(&mut table_with_joins.relation, params);
                for join in &mut table_with_joins.joins {
                    self.walk_factor(&mut join.relation, params);
                }
            }
            _ => {}
        }
    }

    fn walk_expr(&mut self, expr: &mut Expr, params: &mut Vec<Value>) {
        let replacement = match expr {
            Expr::Subquery(query) => self.scalar(query, params),
            Expr::Exists { subquery, negated } => self
                .row_count(subquery, params)
                .map(|rows| Expr::Value(SqlValue::Boolean((rows == 0) == *negated))),
            Expr::InSubquery {
                expr: target,
                subquery,
                negated,
            } => {
                self.walk_expr(target, params);
                self.in_list(subquery, params).map(|list| Expr::InList {
                    expr: target.clone(),
                    list,
                    negated: *negated,
                })
            }
            other => {
                for operand in operands_mut(other) {
                    self.walk_expr(operand, params);
                }
                return;
            }
        };
        match replacement {
            Some(replacement) => *expr = replacement,
            // Correlated, or its answer is an error GlueSQL must raise only if it gets there:
            // look for uncorrelated subqueries inside it instead.
            None => match expr {
                Expr::Subquery(query)
                | Expr::Exists {
                    subquery: query, ..
                }
                | Expr::InSubquery {
                    subquery: query, ..
                } => self.walk_query(query, params),
                _ => {}
            },
        }
    }

    /// Each derived table in `select`'s FROM replaced by an empty relation with its columns
    /// (and their types, where known); one whose columns are not known stays.
    fn empty_derived(&mut self, select: &mut Select, params: &mut Vec<Value>) {
        for table in &mut select.from {
            for factor in std::iter::once(&mut table.relation)
                .chain(table.joins.iter_mut().map(|join| &mut join.relation))
            {
                // VALUES rows are given, not computed (the empty relation is one).
                let computed = matches!(
                    factor,
                    TableFactor::Derived { subquery, alias: Some(_), .. }
                        if !matches!(subquery.body.as_ref(), SetExpr::Values(_))
                );
                if !computed {
                    continue;
                }
                let Ok(mut named) = self.named(std::iter::once(&*factor)) else {
                    continue;
                };
                let Some(named) = named.pop() else {
                    continue;
                };
                let width = named.columns.len();
                let Ok(empty) =
                    super::relation::values_query_typed(Vec::new(), width, &named.types, params)
                else {
                    continue;
                };
                if let TableFactor::Derived {
                    subquery,
                    alias: Some(alias),
                    lateral,
                } = factor
                {
                    **subquery = empty;
                    *lateral = false;
                    alias.columns = named.columns.iter().map(Ident::new).collect();
                }
            }
        }
    }

    /// How many rows an uncorrelated subquery of any width gives (EXISTS), or `None` to leave
    /// it in place.
    fn row_count(&mut self, query: &mut Query, params: &[Value]) -> Option<usize> {
        let output = self.closed_output(query, params)?;
        Some(output.rows.len())
    }

    /// The output of an uncorrelated subquery, run now, or `None` to leave it in place.
    fn closed_output(&mut self, query: &mut Query, params: &[Value]) -> Option<super::QueryOutput> {
        if !self.is_closed(query, &mut Vec::new()) {
            return None;
        }
        let statement = Statement::Query(Box::new(query.clone()));
        let output = self.execute(&statement, params).ok()?;
        (output.command == "SELECT").then_some(output)
    }

    /// The rows of an uncorrelated one-column subquery, or `None` to leave it in place.
    fn answer(&mut self, query: &mut Query, params: &[Value]) -> Option<Vec<Value>> {
        let output = self.closed_output(query, params)?;
        if output.columns.len() != 1 {
            return None;
        }
        Some(
            output
                .rows
                .into_iter()
                .filter_map(|row| row.into_iter().next())
                .collect(),
        )
    }

    /// An uncorrelated set operation read as a derived table, run now (set operations are ours,
    /// setops.rs) and handed to GlueSQL as the `VALUES` rows it gave, bound as parameters: a
    /// relation that lives in this statement only. `alias` gets the output column names when
    /// it names none. `None` leaves it in place (GlueSQL then refuses it).
    fn relation(
        &mut self,
        query: &mut Query,
        alias: &mut TableAlias,
        params: &mut Vec<Value>,
    ) -> Result<Option<Query>, DbError> {
        if !self.is_closed(query, &mut Vec::new()) {
            // A name that is no table's (a WITH query read inside itself without RECURSIVE)
            // says so, rather than GlueSQL refusing the set operation.
            if let Some(missing) = self.missing_table(query) {
                return Err(DbError::new(
                    ErrorCode::Plan,
                    format!("table not found: {missing}"),
                ));
            }
            return Ok(None);
        }
        let statement = Statement::Query(Box::new(query.clone()));
        let output = self.execute(&statement, params)?;
        if output.command != "SELECT" || output.columns.is_empty() {
            return Ok(None);
        }
        if alias.columns.is_empty() {
            alias.columns = output.columns.iter().map(Ident::new).collect();
        }
        let width = output.columns.len();
        // Each column of the type its arms unify to, whichever arms gave rows.
        let types = super::bind_types::output_types(self, query, params);
        super::relation::values_query_typed(output.rows, width, &types, params).map(Some)
    }

    /// Whether an INSERT's rows come from a query, which then runs first and gives them as
    /// VALUES (`insert_source_as_values`): GlueSQL 0.20 puts a SELECT's columns in table order
    /// whatever the column list says, stores short rows for a partial list, refuses a selected
    /// value of another type than its column's where SQL converts it on assignment (an integer
    /// or a float into DECIMAL), and cannot run a set operation (ours, setops.rs) there.
    pub(super) fn insert_needs_values(&self, statement: &Statement) -> bool {
        let Statement::Insert(insert) = statement else {
            return false;
        };
        insert
            .source
            .as_deref()
            .is_some_and(|source| !matches!(source.body.as_ref(), SetExpr::Values(_)))
    }

    /// Runs an INSERT's SELECT now and puts the rows it gave in its place as `VALUES` bound as
    /// parameters, which GlueSQL inserts by the column list with defaults for the rest. `Some`
    /// is the answer when there is no row to insert.
    pub(super) fn insert_source_as_values(
        &mut self,
        statement: &mut Statement,
        params: &mut Vec<Value>,
    ) -> Result<Option<super::QueryOutput>, DbError> {
        let Statement::Insert(insert) = statement else {
            return Ok(None);
        };
        let Some(source) = insert.source.as_mut() else {
            return Ok(None);
        };
        let output = self.execute(&Statement::Query(source.clone()), params)?;
        if output.rows.is_empty() {
            return Ok(Some(super::QueryOutput::command("INSERT", 0)));
        }
        let rows = output
            .rows
            .into_iter()
            .map(|row| row.into_iter().map(|value| bind(params, value)).collect())
            .collect();
        **source =
            super::setops::plain_query(SetExpr::Values(gluesql_core::sqlparser::ast::Values {
                explicit_row: false,
                rows,
            }));
        // Each value takes its column's type as a stored parameter does (an integer or a float
        // into a DECIMAL column, an integer into a FLOAT one): GlueSQL refuses a bound value of
        // another type, where PostgreSQL and SQLite convert it on assignment.
        let mut typed = std::borrow::Cow::Borrowed(params.as_slice());
        self.type_parameters(statement, &mut typed)
            .map_err(|error| {
                let reason = error
                    .message
                    .split_once(": ")
                    .map_or("", |(_, reason)| reason);
                DbError::new(
                    ErrorCode::Execute,
                    format!("INSERT … SELECT: a selected value cannot be stored: {reason}"),
                )
            })?;
        if let std::borrow::Cow::Owned(converted) = typed {
            *params = converted;
        }
        Ok(None)
    }

    fn scalar(&mut self, query: &mut Query, params: &mut Vec<Value>) -> Option<Expr> {
        let mut rows = self.answer(query, params)?;
        match rows.len() {
            0 => Some(Expr::Value(SqlValue::Null)),
            1 => rows.pop().map(|value| bind(params, value)),
            // A set operation GlueSQL cannot run: the error is ours to raise.
            _ if super::correlated_setops::holds_set_operation(query) => {
                self.relation_failed.get_or_insert(DbError::new(
                    ErrorCode::Execute,
                    "more than one row returned by a subquery used as an expression",
                ));
                None
            }
            // More than one row is an error, but only for a row that evaluates it.
            _ => None,
        }
    }

    fn in_list(&mut self, query: &mut Query, params: &mut Vec<Value>) -> Option<Vec<Expr>> {
        let rows = self.answer(query, params)?;
        let mut seen = HashSet::new();
        let mut list = Vec::new();
        for value in rows {
            // Repeated values add nothing to IN; values without a key are kept as they are.
            if let Ok(key) = Key::try_from(&value) {
                if !seen.insert(key) {
                    continue;
                }
            }
            list.push(bind(params, value));
        }
        Some(list)
    }
}

/// The expressions of one SELECT: projection, join conditions, WHERE, GROUP BY, HAVING.
pub(super) fn select_exprs_mut(select: &mut Select) -> Vec<&mut Expr> {
    use gluesql_core::sqlparser::ast::{GroupByExpr, JoinConstraint, JoinOperator};
    let mut exprs = Vec::new();
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            exprs.push(e);
        }
    }
    for table in &mut select.from {
        for join in &mut table.joins {
            if let JoinOperator::Inner(JoinConstraint::On(e))
            | JoinOperator::LeftOuter(JoinConstraint::On(e)) = &mut join.join_operator
            {
                exprs.push(e);
            }
        }
    }
    exprs.extend(select.selection.iter_mut());
    if let GroupByExpr::Expressions(group_by, _) = &mut select.group_by {
        exprs.extend(group_by.iter_mut());
    }
    exprs.extend(select.having.iter_mut());
    exprs
}

/// ORDER BY, LIMIT and OFFSET of a query.
pub(super) fn query_tail_exprs_mut(query: &mut Query) -> Vec<&mut Expr> {
    let mut exprs: Vec<&mut Expr> = Vec::new();
    if let Some(order_by) = query.order_by.as_mut() {
        exprs.extend(order_by.exprs.iter_mut().map(|o| &mut o.expr));
    }
    exprs.extend(query.limit.iter_mut());
    exprs.extend(query.offset.iter_mut().map(|o| &mut o.value));
    exprs
}
