//! Where each JSON call left after folding is computed (json_calls.rs says what a call is):
//! over a SELECT's rows as an internal window where it stands in the output, or as a column
//! added to the one FROM item it reads where rows are chosen, joined, grouped or aggregated;
//! `row_to_json(t)` expanded to `t`'s columns. Rewrites statements; evaluates nothing.

use {
    super::{
        computed_from::{column, refused},
        json_calls::{
            as_call, call_args_mut, fold, holds_call, internal, is_call, text_literal, written,
            yields_json,
        },
        Engine,
    },
    crate::{
        error::DbError,
        json::{ops::Op, JsonKind},
    },
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            BinaryOperator, DataType, Expr, FromTable, Function, FunctionArg, FunctionArgExpr,
            FunctionArguments, GroupByExpr, Ident, JoinConstraint, JoinOperator, ObjectName,
            OrderBy, Query, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Statement,
            TableAlias, TableFactor, TableWithJoins, WindowSpec, WindowType,
        },
    },
    std::ops::ControlFlow,
};

/// The column a JSON call computed for a FROM item is read from.
const COMPUTED: &str = "__idbsql_j";

/// How deep a derived table is followed to learn whether its column holds JSON.
const JSON_COLUMN_DEPTH: usize = 16;

/// Whether a `row_to_json` call stands in `expr`, to be expanded to its row's columns.
fn holds_row_object(expr: &Expr) -> bool {
    super::visit::exprs(expr, |e| match as_call(e) {
        Some((Op::RowObject | Op::ToJson(_) | Op::Element(_), _, args))
            if matches!(args.as_slice(), [Expr::Identifier(_)]) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Whether an aggregate call stands in `expr` itself (not in a subquery it holds).
fn holds_aggregate(expr: &mut Expr) -> bool {
    is_aggregate(expr)
        || super::walk::operands_mut(expr)
            .into_iter()
            .any(holds_aggregate)
}

/// The aggregates whose arguments are read before rows are grouped.
fn is_aggregate(expr: &Expr) -> bool {
    super::string_agg::is_aggregate(expr) || super::string_agg::is_string_agg(expr)
}

/// The outermost calls in `expr` (not in a subquery), and whether each stands inside an
/// aggregate's arguments.
fn outer_calls(expr: &mut Expr, in_aggregate: bool, found: &mut Vec<(Expr, bool)>) {
    if is_call(expr) {
        found.push((expr.clone(), in_aggregate));
        return;
    }
    // An aggregate's or a window's arguments are read before rows are grouped or windowed.
    let window = matches!(expr, Expr::Function(f) if f.over.is_some());
    let inside = in_aggregate || window || is_aggregate(expr);
    for operand in super::walk::operands_mut(expr) {
        outer_calls(operand, inside, found);
    }
}

/// Every expression of `select` where rows are chosen, joined or grouped.
fn row_clauses(select: &mut Select) -> Vec<&mut Expr> {
    let mut out: Vec<&mut Expr> = Vec::new();
    if let Some(selection) = select.selection.as_mut() {
        out.push(selection);
    }
    if let Some(having) = select.having.as_mut() {
        out.push(having);
    }
    if let GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
        out.extend(exprs.iter_mut());
    }
    for table in &mut select.from {
        for join in &mut table.joins {
            match &mut join.join_operator {
                JoinOperator::Inner(JoinConstraint::On(on))
                | JoinOperator::LeftOuter(JoinConstraint::On(on))
                | JoinOperator::RightOuter(JoinConstraint::On(on))
                | JoinOperator::FullOuter(JoinConstraint::On(on)) => out.push(on),
                _ => {}
            }
        }
    }
    out
}

fn output_clauses<'a>(
    select: &'a mut Select,
    order_by: Option<&'a mut OrderBy>,
) -> Vec<&'a mut Expr> {
    let mut out: Vec<&mut Expr> = select
        .projection
        .iter_mut()
        .filter_map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
            _ => None,
        })
        .collect();
    if let Some(order_by) = order_by {
        out.extend(order_by.exprs.iter_mut().map(|o| &mut o.expr));
    }
    out
}

/// `f` on every clause of `select` that may hold a call, and on its query's ORDER BY.
fn each_clause(select: &mut Select, order_by: Option<&mut OrderBy>, mut f: impl FnMut(&mut Expr)) {
    for expr in row_clauses(select) {
        f(expr);
    }
    for expr in output_clauses(select, order_by) {
        f(expr);
    }
}

/// Replaces every occurrence of `from` (outside subqueries) in `expr` with `to`.
fn replace(expr: &mut Expr, from: &Expr, to: &Expr) {
    if expr == from {
        *expr = to.clone();
        return;
    }
    for operand in super::walk::operands_mut(expr) {
        replace(operand, from, to);
    }
}

/// The column names a call reads (qualifier, name), or `None` when it holds a subquery.
fn columns_read(expr: &Expr) -> Option<Vec<(Option<String>, String)>> {
    let mut out = Vec::new();
    let mut subquery = false;
    let _ = super::visit::exprs(expr, |e| {
        match e {
            Expr::Identifier(ident) => out.push((None, ident.value.clone())),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                out.push((Some(parts[0].value.clone()), parts[1].value.clone()))
            }
            Expr::CompoundIdentifier(_) => subquery = true,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => subquery = true,
            _ => {}
        }
        ControlFlow::Continue(())
    });
    (!subquery).then_some(out)
}

/// Whether `select` holds a JSON call not placed yet (neither a window nor a FROM item's column).
pub(super) fn holds_unplaced_call(select: &Select) -> bool {
    super::visit::exprs(select, |e| match e {
        Expr::Function(f) if f.over.is_none() && is_call(e) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

fn factor_name(factor: &TableFactor) -> Option<String> {
    match factor {
        TableFactor::Table { name, alias, .. } => Some(match alias {
            Some(alias) => alias.name.value.clone(),
            None => name.0.last()?.value.clone(),
        }),
        TableFactor::Derived {
            alias: Some(alias), ..
        } => Some(alias.name.value.clone()),
        _ => None,
    }
}

fn factors_mut(select: &mut Select) -> Vec<&mut TableFactor> {
    select
        .from
        .iter_mut()
        .flat_map(|t| {
            std::iter::once(&mut t.relation).chain(t.joins.iter_mut().map(|j| &mut j.relation))
        })
        .collect()
}

impl Engine {
    /// Run-time: parameters folded, then every call left placed where it can be computed.
    pub(super) fn lower_json(
        &self,
        statement: &mut Statement,
        params: &[Value],
    ) -> Result<(), DbError> {
        fold(statement, params)?;
        // An INSERT's VALUES rows holding calls become SELECTs (UNION ALL of one per row),
        // whose outputs are computed as any SELECT's are. (UPDATE and DELETE run as a
        // SELECT, joined_writes.rs.)
        if let Statement::Insert(insert) = &mut *statement {
            if let Some(source) = insert.source.as_mut() {
                if let SetExpr::Values(values) = source.body.as_mut() {
                    if values.rows.iter_mut().flatten().any(holds_call) {
                        let rows = std::mem::take(&mut values.rows);
                        *source.body = rows_as_selects(rows);
                    }
                }
            }
        }
        let deferred = self.place_calls(statement)?;
        // A call left unplaced (an ORDER BY over a set operation, LIMIT, …) is refused here,
        // not handed to GlueSQL as an unknown function. Calls inside a call's arguments are
        // placed with it (a window's first query or a derived table lowers them in turn).
        let mut nested = Vec::new();
        let _ = super::visit::exprs(&*statement, |e| {
            if let Some((_, _, args)) = as_call(e) {
                for arg in args {
                    let _ = super::visit::exprs(arg, |inner| {
                        if is_call(inner) {
                            nested.push(inner.clone());
                        }
                        ControlFlow::Continue(())
                    });
                }
            }
            ControlFlow::Continue(())
        });
        let mut left = None;
        let _ = super::visit::exprs(&*statement, |e| match e {
            Expr::Function(f)
                if f.over.is_none()
                    && is_call(e)
                    && !nested.contains(e)
                    && !deferred.contains(e) =>
            {
                left = Some(written(e));
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        });
        match left {
            Some(call) => Err(refused(format!(
                "a JSON operation is not supported in this place: {call}"
            ))),
            None => Ok(()),
        }
    }

    /// Every SELECT's calls placed: as windows over its rows, or as columns of FROM items;
    /// answers the calls left for later (see `lower_json_select`).
    fn place_calls(&self, statement: &mut Statement) -> Result<Vec<Expr>, DbError> {
        let mut deferred = Vec::new();
        let mut failed = None;
        let _ = super::visit::queries_mut(statement, |query| {
            let Query { body, order_by, .. } = query;
            let over_json = self.set_operation_over_json(body);
            let result = match body.as_mut() {
                SetExpr::Select(select) => self
                    .json_comparisons(select, order_by.as_mut())
                    .and_then(|()| {
                        self.lower_json_select(select, order_by.as_mut(), &mut deferred)
                    }),
                _ if over_json => Err(refused(
                    "UNION, INTERSECT or EXCEPT over JSON values is not supported (their text's equality is not jsonb's; UNION ALL is)",
                )),
                _ => {
                    let mut result = Ok(());
                    super::subquery::all_selects(body, &mut |select| {
                        result = self
                            .json_comparisons(select, None)
                            .and_then(|()| self.lower_json_select(select, None, &mut deferred));
                        result.is_ok()
                    });
                    result
                }
            };
            match result {
                Ok(()) => ControlFlow::Continue(()),
                Err(error) => {
                    failed = Some(error);
                    ControlFlow::Break(())
                }
            }
        });
        failed.map_or(Ok(deferred), Err)
    }

    /// Whether a set operation that compares rows (not UNION ALL) has a branch outputting a
    /// JSON value.
    fn set_operation_over_json(&self, body: &mut SetExpr) -> bool {
        fn compares(body: &SetExpr) -> bool {
            match body {
                SetExpr::SetOperation {
                    op,
                    set_quantifier,
                    left,
                    right,
                } => {
                    !(*op == SetOperator::Union && *set_quantifier == SetQuantifier::All)
                        || compares(left)
                        || compares(right)
                }
                SetExpr::Query(query) => compares(&query.body),
                _ => false,
            }
        }
        if !compares(body) {
            return false;
        }
        let mut json = false;
        super::subquery::all_selects(body, &mut |select| {
            json = select.projection.iter().any(|item| match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.holds_json(select, e, 0)
                }
                _ => false,
            });
            !json
        });
        json
    }

    /// Whether an UPDATE's or DELETE's condition compares a JSON column of the written table:
    /// then it runs as a SELECT of keys (joined_writes.rs), where the comparison is jsonb's.
    pub(super) fn write_compares_json(&self, statement: &Statement) -> bool {
        let (target, selection) = match statement {
            Statement::Update {
                table, selection, ..
            } => (table, selection.as_ref()),
            Statement::Delete(delete) => match &delete.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => {
                    match t.as_slice() {
                        [one] => (one, delete.selection.as_ref()),
                        _ => return false,
                    }
                }
            },
            _ => return false,
        };
        let Some(selection) = selection else {
            return false;
        };
        if !self.store().column_kinds().json {
            return false;
        }
        let select = super::setops::plain_select(Vec::new(), vec![target.clone()]);
        let json = |e: &Expr| self.holds_json(&select, e, 0);
        super::visit::exprs(selection, |e| match e {
            Expr::BinaryOp { left, op, right }
                if matches!(
                    op,
                    BinaryOperator::Eq
                        | BinaryOperator::NotEq
                        | BinaryOperator::Lt
                        | BinaryOperator::LtEq
                        | BinaryOperator::Gt
                        | BinaryOperator::GtEq
                ) && (json(left) || json(right)) =>
            {
                ControlFlow::Break(())
            }
            Expr::Between { expr, .. } | Expr::InList { expr, .. } if json(expr) => {
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    }

    /// JSON values compared: `=` / `<>` as jsonb compares them (a call); by order, in ORDER BY,
    /// GROUP BY or DISTINCT they are refused — their text's order and equality are not jsonb's.
    fn json_comparisons(
        &self,
        select: &mut Select,
        order_by: Option<&mut OrderBy>,
    ) -> Result<(), DbError> {
        let ordered = |what: &str, expr: &Expr| {
            refused(format!(
                "{what} JSON values is not supported (compare a value in them, e.g. doc ->> 'key'): {}",
                written(expr)
            ))
        };
        if let Some(order_by) = order_by.as_deref() {
            // A key may name an output column by position or name.
            let output = |key: &Expr| -> Option<&Expr> {
                let item = match key {
                    Expr::Value(gluesql_core::sqlparser::ast::Value::Number(n, _)) => n
                        .to_string()
                        .parse::<usize>()
                        .ok()
                        .and_then(|p| p.checked_sub(1))
                        .and_then(|p| select.projection.get(p)),
                    Expr::Identifier(ident) => select.projection.iter().find(|item| {
                        matches!(item, SelectItem::ExprWithAlias { alias, .. } if alias.value == ident.value)
                    }),
                    _ => None,
                };
                match item? {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        Some(e)
                    }
                    _ => None,
                }
            };
            let json_key = order_by.exprs.iter().find(|o| {
                self.holds_json(select, &o.expr, 0)
                    || output(&o.expr).is_some_and(|e| self.holds_json(select, e, 0))
            });
            if let Some(o) = json_key {
                return Err(ordered("ORDER BY", &o.expr));
            }
        }
        if let GroupByExpr::Expressions(exprs, _) = &select.group_by {
            if let Some(e) = exprs.iter().find(|e| self.holds_json(select, e, 0)) {
                return Err(ordered("GROUP BY", e));
            }
        }
        if select.distinct.is_some() {
            let json_item = select.projection.iter().find_map(|item| match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }
                    if self.holds_json(select, e, 0) =>
                {
                    Some(e)
                }
                _ => None,
            });
            if let Some(e) = json_item {
                return Err(ordered("DISTINCT over", e));
            }
        }
        let snapshot = select.clone();
        let mut failed = None;
        let mut compare = |expr: &mut Expr| {
            fn walk(
                engine: &Engine,
                select: &Select,
                expr: &mut Expr,
                failed: &mut Option<DbError>,
            ) {
                if failed.is_some() || is_call(expr) {
                    return;
                }
                let json = |e: &Expr| engine.holds_json(select, e, 0);
                match expr {
                    Expr::BinaryOp { left, op, right } if json(left) || json(right) => match op {
                        BinaryOperator::Eq | BinaryOperator::NotEq => {
                            let equal = *op == BinaryOperator::Eq;
                            let args = vec![(**left).clone(), (**right).clone()];
                            *expr = internal(Op::Equals { equal }, args);
                            return;
                        }
                        BinaryOperator::Lt
                        | BinaryOperator::LtEq
                        | BinaryOperator::Gt
                        | BinaryOperator::GtEq => {
                            *failed = Some(refused(format!(
                                "comparing JSON values by order is not supported: {}",
                                written(expr)
                            )));
                            return;
                        }
                        _ => {}
                    },
                    Expr::Between { expr: e, .. }
                    | Expr::InList { expr: e, .. }
                    | Expr::InSubquery { expr: e, .. }
                        if json(e) =>
                    {
                        *failed = Some(refused(format!(
                            "BETWEEN or IN over JSON values is not supported (compare with =): {}",
                            written(expr)
                        )));
                        return;
                    }
                    _ => {}
                }
                for operand in super::walk::operands_mut(expr) {
                    walk(engine, select, operand, failed);
                }
            }
            walk(self, &snapshot, expr, &mut failed);
        };
        each_clause(select, order_by, &mut compare);
        failed.map_or(Ok(()), Err)
    }

    pub(super) fn lower_json_select(
        &self,
        select: &mut Select,
        mut order_by: Option<&mut OrderBy>,
        deferred: &mut Vec<Expr>,
    ) -> Result<(), DbError> {
        let mut placed = Vec::new();
        for expr in row_clauses(select) {
            outer_calls(expr, true, &mut placed);
        }
        let mut outputs = Vec::new();
        for expr in output_clauses(select, order_by.as_deref_mut()) {
            outer_calls(expr, false, &mut outputs);
        }
        if placed.is_empty() && outputs.is_empty() {
            return Ok(());
        }
        if placed
            .iter()
            .chain(&outputs)
            .any(|(c, _)| holds_row_object(c))
        {
            self.expand_rows(select, order_by.as_deref_mut())?;
            placed.clear();
            outputs.clear();
            for expr in row_clauses(select) {
                outer_calls(expr, true, &mut placed);
            }
            for expr in output_clauses(select, order_by.as_deref_mut()) {
                outer_calls(expr, false, &mut outputs);
            }
        }
        // Which arguments hold JSON, read before any call moves.
        let mut flagged = Vec::new();
        for (call, _) in placed.iter().chain(&outputs) {
            let mut with_flags = call.clone();
            self.set_flags(select, &mut with_flags, 0)?;
            flagged.push((call.clone(), with_flags));
        }
        for (call, with_flags) in &flagged {
            each_clause(select, order_by.as_deref_mut(), |expr| {
                replace(expr, call, with_flags)
            });
        }
        let flagged_of = |call: &Expr| {
            flagged
                .iter()
                .find(|(c, _)| c == call)
                .map_or_else(|| call.clone(), |(_, f)| f.clone())
        };
        // Calls that must be computed before rows are chosen or grouped: a column of the
        // FROM item they read; an output call equal to one reads the same column. So are the
        // output calls of a SELECT reading an outer query's row (a correlated subquery), whose
        // rows cannot be computed on their own.
        let closed = outputs.is_empty() || {
            let mut alone = super::setops::plain_query(SetExpr::Select(Box::new(select.clone())));
            self.is_closed(&mut alone, &mut Vec::new())
        };
        // A call reading several items of a FROM whose join is computed here (LATERAL, FULL,
        // RIGHT) is placed once the join is computed: the items are then one relation
        // (subquery.rs places the SELECT's calls again). Nothing of this SELECT moves before.
        if super::computed_from::select_has_computed_join(select)
            && placed
                .iter()
                .chain(&outputs)
                .any(|(call, _)| self.owner_of(select, &flagged_of(call)).is_err())
        {
            deferred.extend(
                placed
                    .iter()
                    .chain(&outputs)
                    .map(|(call, _)| flagged_of(call)),
            );
            return Ok(());
        }
        let mut wrapped: Vec<(Expr, usize)> = Vec::new();
        for (call, in_rows) in placed.iter().chain(&outputs) {
            let call = flagged_of(call);
            if closed && !*in_rows && !placed.iter().any(|(p, _)| flagged_of(p) == call) {
                continue;
            }
            if wrapped.iter().any(|(c, _)| *c == call) {
                continue;
            }
            if !closed && !*in_rows && holds_aggregate(&mut call.clone()) {
                // Over a correlated SELECT's groups: left for when it runs on its own, its
                // outer row bound (a LATERAL join, string_agg's lift).
                deferred.push(call);
                continue;
            }
            let owner = self.owner_of(select, &call)?;
            wrapped.push((call, owner));
        }
        if !wrapped.is_empty() {
            self.wrap_calls(select, order_by.as_deref_mut(), wrapped)?;
        }
        // The rest are computed over the SELECT's rows, as windows are.
        if closed {
            for expr in output_clauses(select, order_by) {
                mark_windows(expr);
            }
        }
        Ok(())
    }

    /// `row_to_json(t)` of a FROM item `t`: its columns' names and values as arguments; so is
    /// `to_json(t)` / `json_agg(t)` when `t` names a FROM item and no column.
    fn expand_rows(
        &self,
        select: &mut Select,
        order_by: Option<&mut OrderBy>,
    ) -> Result<(), DbError> {
        let mut items = Vec::new();
        for factor in select
            .from
            .iter()
            .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
        {
            if let (Some(name), Ok(named)) =
                (factor_name(factor), self.named(std::iter::once(factor)))
            {
                let columns: Vec<String> = named.into_iter().flat_map(|n| n.columns).collect();
                items.push((name, columns));
            }
        }
        let mut failed = None;
        fn row_object(name: &str, columns: &[String]) -> Expr {
            let args = columns
                .iter()
                .flat_map(|c| [text_literal(c), column(name, c)])
                .collect();
            internal(Op::RowObject, args)
        }
        fn expand(expr: &mut Expr, items: &[(String, Vec<String>)], failed: &mut Option<DbError>) {
            // to_json(t) / json_agg(t) of a FROM item that is no column's name: its row.
            if let Some((Op::ToJson(_) | Op::Element(_), _, args)) = as_call(expr) {
                let row = match args.as_slice() {
                    [Expr::Identifier(ident)] => items
                        .iter()
                        .find(|(name, _)| *name == ident.value)
                        .filter(|_| !items.iter().any(|(_, cs)| cs.contains(&ident.value))),
                    _ => None,
                };
                if let Some((name, columns)) = row {
                    let object = row_object(name, columns);
                    if matches!(as_call(expr), Some((Op::Element(JsonKind::Json), _, _))) {
                        *expr = internal(Op::RowElement, vec![object]);
                    } else if let Some(arg) = super::json_calls::call_args_mut(expr).pop() {
                        *arg = object;
                    }
                    return;
                }
            }
            if let Some((Op::RowObject, _, args)) = as_call(expr) {
                let target = match args.as_slice() {
                    [Expr::Identifier(ident)] => Some(ident.value.clone()),
                    _ => None,
                };
                let Some((name, columns)) =
                    target.and_then(|t| items.iter().find(|(name, _)| *name == t))
                else {
                    *failed = Some(refused(format!(
                        "row_to_json takes a table of its FROM list: {}",
                        written(expr)
                    )));
                    return;
                };
                *expr = row_object(name, columns);
                return;
            }
            for operand in super::walk::operands_mut(expr) {
                expand(operand, items, failed);
            }
        }
        each_clause(select, order_by, |expr| expand(expr, &items, &mut failed));
        failed.map_or(Ok(()), Err)
    }

    /// The index of the FROM item every column `call` reads belongs to.
    fn owner_of(&self, select: &Select, call: &Expr) -> Result<usize, DbError> {
        let not_placed = || {
            refused(format!(
                "a JSON operation in WHERE, JOIN, GROUP BY, HAVING or an aggregate must read the columns of one table of its own FROM list: {}",
                written(call)
            ))
        };
        let read = columns_read(call).ok_or_else(not_placed)?;
        let factors: Vec<&TableFactor> = select
            .from
            .iter()
            .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
            .collect();
        if factors.is_empty() {
            return Err(not_placed());
        }
        let mut owner = None;
        for (qualifier, name) in &read {
            let found: Vec<usize> = factors
                .iter()
                .enumerate()
                .filter(|(_, f)| match qualifier {
                    Some(q) => factor_name(f).as_deref() == Some(q.as_str()),
                    None => self
                        .named(std::iter::once(**f))
                        .is_ok_and(|n| n.iter().any(|n| n.columns.iter().any(|c| c == name))),
                })
                .map(|(i, _)| i)
                .collect();
            match (found.as_slice(), owner) {
                ([one], None) => owner = Some(*one),
                ([one], Some(o)) if *one == o => {}
                _ => return Err(not_placed()),
            }
        }
        Ok(owner.unwrap_or(0))
    }

    /// Each call of `wrapped` becomes a column of its FROM item: the item is read through a
    /// derived table of its columns and the calls, under the item's own name.
    fn wrap_calls(
        &self,
        select: &mut Select,
        mut order_by: Option<&mut OrderBy>,
        wrapped: Vec<(Expr, usize)>,
    ) -> Result<(), DbError> {
        self.spell_wildcards(select)?;
        let mut owners: Vec<usize> = wrapped.iter().map(|(_, o)| *o).collect();
        owners.sort_unstable();
        owners.dedup();
        let mut computed = 0;
        for owner in owners {
            let factor = factors_mut(select)
                .into_iter()
                .nth(owner)
                .ok_or_else(|| refused("internal: no such FROM item"))?;
            let unsupported = || {
                refused("a JSON operation in WHERE, JOIN, GROUP BY or HAVING over a parenthesised join or a subquery without an alias is not supported")
            };
            let name = factor_name(factor).ok_or_else(unsupported)?;
            let named = self
                .named(std::iter::once(&*factor))
                .map_err(|_| unsupported())?;
            let mut projection: Vec<SelectItem> = named
                .iter()
                .flat_map(|n| n.columns.iter())
                .map(|c| SelectItem::ExprWithAlias {
                    expr: column(&name, c),
                    alias: Ident::new(c),
                })
                .collect();
            let mut replacements = Vec::new();
            for (call, _) in wrapped.iter().filter(|(_, o)| *o == owner) {
                let label = format!("{COMPUTED}{computed}");
                computed += 1;
                let mut windowed = call.clone();
                mark_windows(&mut windowed);
                projection.push(SelectItem::ExprWithAlias {
                    expr: windowed,
                    alias: Ident::new(&label),
                });
                replacements.push((call.clone(), column(&name, &label)));
            }
            let original =
                std::mem::replace(factor, super::setops::plain_table(ObjectName(Vec::new())));
            let inner = super::setops::plain_select(
                projection,
                vec![TableWithJoins {
                    relation: original,
                    joins: Vec::new(),
                }],
            );
            *factor = TableFactor::Derived {
                lateral: false,
                subquery: Box::new(super::setops::plain_query(SetExpr::Select(Box::new(inner)))),
                alias: Some(TableAlias {
                    name: Ident::new(&name),
                    columns: Vec::new(),
                }),
            };
            for (call, to) in &replacements {
                each_clause(select, order_by.as_deref_mut(), |expr| {
                    replace(expr, call, to)
                });
            }
        }
        Ok(())
    }

    /// Sets the flags of `call` and of the calls among its arguments.
    fn set_flags(&self, select: &Select, call: &mut Expr, depth: usize) -> Result<(), DbError> {
        let flags: String = match as_call(call) {
            Some((_, _, args)) => args
                .iter()
                .map(|a| {
                    if self.holds_json(select, a, depth) {
                        'j'
                    } else {
                        '-'
                    }
                })
                .collect(),
            None => return Ok(()),
        };
        if let Expr::Function(Function {
            args: FunctionArguments::List(list),
            ..
        }) = call
        {
            if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(slot))) = list.args.get_mut(1) {
                // Flags set by an earlier placement stay: it saw the FROM items as written,
                // before a computed join made them one relation of plain values.
                if *slot == text_literal("") {
                    *slot = text_literal(&flags);
                }
            }
        }
        for arg in call_args_mut(call) {
            let arg = match arg {
                Expr::Nested(inner) => inner.as_mut(),
                other => other,
            };
            if is_call(arg) {
                self.set_flags(select, arg, depth)?;
            }
        }
        Ok(())
    }

    /// Whether `expr` (in `select`) is a JSON value: a call yielding JSON, or a column
    /// declared JSON / JSONB (also through a derived table naming one).
    fn holds_json(&self, select: &Select, expr: &Expr, depth: usize) -> bool {
        if depth > JSON_COLUMN_DEPTH {
            return false;
        }
        match expr {
            Expr::Nested(inner) => self.holds_json(select, inner, depth),
            Expr::Identifier(ident) => self.json_column(select, None, &ident.value, depth),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                self.json_column(select, Some(&parts[0].value), &parts[1].value, depth)
            }
            // `'[]'::json`, and COALESCE of a JSON value (its type is its arguments' common type;
            // a relational query's `coalesce(json_agg(…), '[]'::json)`).
            Expr::Cast { data_type, .. } => {
                matches!(data_type, DataType::JSON | DataType::JSONB)
            }
            Expr::Function(Function {
                name,
                args: FunctionArguments::List(list),
                over: None,
                ..
            }) if name.0.len() == 1 && name.0[0].value.eq_ignore_ascii_case("coalesce") => {
                list.args.iter().any(|arg| match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => {
                        self.holds_json(select, e, depth)
                    }
                    _ => false,
                })
            }
            // (A call already marked as a window is one too: `as_call` reads past OVER.)
            other => as_call(other).is_some_and(|(op, _, _)| yields_json(op)),
        }
    }

    fn json_column(
        &self,
        select: &Select,
        qualifier: Option<&str>,
        name: &str,
        depth: usize,
    ) -> bool {
        let factors = select
            .from
            .iter()
            .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
        for factor in factors {
            if qualifier.is_some_and(|q| factor_name(factor).as_deref() != Some(q)) {
                continue;
            }
            match factor {
                TableFactor::Table { name: table, .. } => {
                    let Some(table) = table.0.last() else {
                        continue;
                    };
                    let Some(stored) = self.store().table(&table.value) else {
                        continue;
                    };
                    let found = stored
                        .schema
                        .column_defs
                        .iter()
                        .flatten()
                        .find(|c| c.name == name);
                    if let Some(def) = found {
                        return JsonKind::of_marker(def.comment.as_deref()).is_some();
                    }
                }
                TableFactor::Derived { subquery, .. } => {
                    let SetExpr::Select(inner) = subquery.body.as_ref() else {
                        continue;
                    };
                    for item in &inner.projection {
                        match item {
                            SelectItem::ExprWithAlias { expr, alias } if alias.value == name => {
                                return self.holds_json(inner, expr, depth + 1)
                            }
                            SelectItem::UnnamedExpr(expr)
                                if super::windows::label(expr).value == name =>
                            {
                                return self.holds_json(inner, expr, depth + 1)
                            }
                            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
                                if self.json_column(inner, None, name, depth + 1) =>
                            {
                                return true;
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        false
    }
}

/// `VALUES (…), (…)` as `SELECT … UNION ALL SELECT …`, one SELECT without FROM per row.
fn rows_as_selects(rows: Vec<Vec<Expr>>) -> SetExpr {
    let mut selects = rows.into_iter().map(|row| {
        let projection = row.into_iter().map(SelectItem::UnnamedExpr).collect();
        SetExpr::Select(Box::new(super::setops::plain_select(
            projection,
            Vec::new(),
        )))
    });
    let first = selects.next().unwrap_or_else(|| {
        SetExpr::Select(Box::new(super::setops::plain_select(
            Vec::new(),
            Vec::new(),
        )))
    });
    selects.fold(first, |left, right| SetExpr::SetOperation {
        op: SetOperator::Union,
        set_quantifier: SetQuantifier::All,
        left: Box::new(left),
        right: Box::new(right),
    })
}

/// Every outermost call in `expr` (outside subqueries) is computed as an internal window.
fn mark_windows(expr: &mut Expr) {
    if let Expr::Function(f) = expr {
        if as_call(&Expr::Function(f.clone())).is_some() {
            if f.over.is_none() {
                f.over = Some(WindowType::WindowSpec(WindowSpec {
                    window_name: None,
                    partition_by: Vec::new(),
                    order_by: Vec::new(),
                    window_frame: None,
                }));
            }
            return;
        }
    }
    for operand in super::walk::operands_mut(expr) {
        mark_windows(operand);
    }
}
