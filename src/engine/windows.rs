//! Window functions (`OVER`; GlueSQL 0.20 runs none): a SELECT holding them first runs without
//! them (its FROM, WHERE, GROUP BY and HAVING, selecting every value the windows and the rest
//! of its select list read), window_values.rs computes each window over those rows, and the
//! SELECT is rewritten to read them as one VALUES relation. Evaluates no SQL expression itself.

use {
    super::{
        computed_from::{column, refused},
        window_values::{self, Bound, Call, Frame, Function, SortKey},
        Engine,
    },
    crate::error::DbError,
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
            Ident, NamedWindowDefinition, NamedWindowExpr, OrderBy, Select, SelectItem, SetExpr,
            Statement, TableAlias, TableFactor, TableWithJoins, UnaryOperator, Value as SqlValue,
            WindowFrameBound, WindowFrameUnits, WindowSpec, WindowType,
        },
    },
    std::ops::ControlFlow,
};

/// The relation a windowed SELECT reads after the rewrite: `c<i>` the values its first query
/// selected, `w<i>` the windows'.
const RELATION: &str = "__window";

fn is_call(expr: &Expr) -> bool {
    matches!(expr, Expr::Function(f) if f.over.is_some())
}

/// Whether `statement` calls a window function anywhere.
pub fn has_window(statement: &Statement) -> bool {
    super::visit::exprs(statement, |e| {
        if is_call(e) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// Whether a window call stands in `expr` itself, not in a subquery it holds.
fn holds_call(expr: &mut Expr) -> bool {
    is_call(expr) || super::walk::operands_mut(expr).into_iter().any(holds_call)
}

fn holds_call_in(expr: &Expr) -> bool {
    holds_call(&mut expr.clone())
}

/// Whether one of this SELECT's own output expressions or its query's ORDER BY calls a window.
pub(super) fn select_has_window(select: &Select, order_by: Option<&OrderBy>) -> bool {
    let projected = select.projection.iter().any(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => holds_call_in(e),
        _ => false,
    });
    projected || order_by.is_some_and(|o| o.exprs.iter().any(|o| holds_call_in(&o.expr)))
}

/// The refusal of a window function where SQL allows none (WHERE, GROUP BY, HAVING, ON, a
/// write's values).
pub fn misplaced(statement: &Statement) -> Option<&'static str> {
    if !has_window(statement) {
        return None;
    }
    let mut found = None;
    let _ = super::visit::queries(statement, |query| {
        found = body_misplaced(&query.body);
        match found {
            Some(_) => ControlFlow::Break(()),
            None => ControlFlow::Continue(()),
        }
    });
    if found.is_some() {
        return found;
    }
    let (written, clause): (Vec<&Expr>, _) = match statement {
        Statement::Update {
            assignments,
            selection,
            ..
        } => {
            if selection.as_ref().is_some_and(holds_call_in) {
                return Some("window functions are not allowed in WHERE");
            }
            (
                assignments.iter().map(|a| &a.value).collect(),
                "window functions are not allowed in UPDATE",
            )
        }
        Statement::Delete(delete) => (
            delete.selection.iter().collect(),
            "window functions are not allowed in WHERE",
        ),
        Statement::Insert(insert) => match insert.source.as_deref().map(|s| s.body.as_ref()) {
            Some(SetExpr::Values(values)) => (
                values.rows.iter().flatten().collect(),
                "window functions are not allowed in VALUES",
            ),
            _ => return None,
        },
        _ => return None,
    };
    written.into_iter().any(holds_call_in).then_some(clause)
}

fn body_misplaced(body: &SetExpr) -> Option<&'static str> {
    use gluesql_core::sqlparser::ast::{JoinConstraint, JoinOperator};
    match body {
        SetExpr::Select(select) => {
            if select.selection.as_ref().is_some_and(holds_call_in) {
                return Some("window functions are not allowed in WHERE");
            }
            if select.having.as_ref().is_some_and(holds_call_in) {
                return Some("window functions are not allowed in HAVING");
            }
            if matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.iter().any(holds_call_in))
            {
                return Some("window functions are not allowed in GROUP BY");
            }
            let in_on = select.from.iter().flat_map(|t| &t.joins).any(|join| {
                matches!(
                    &join.join_operator,
                    JoinOperator::Inner(JoinConstraint::On(on))
                    | JoinOperator::LeftOuter(JoinConstraint::On(on))
                    | JoinOperator::RightOuter(JoinConstraint::On(on))
                    | JoinOperator::FullOuter(JoinConstraint::On(on)) if holds_call_in(on)
                )
            });
            in_on.then_some("window functions are not allowed in JOIN conditions")
        }
        SetExpr::SetOperation { left, right, .. } => {
            body_misplaced(left).or_else(|| body_misplaced(right))
        }
        _ => None,
    }
}

/// What splitting a SELECT's expressions gathered: the window-free values its first query
/// selects, and the window calls over them.
struct Split<'a> {
    leaves: Vec<Expr>,
    calls: Vec<Call>,
    call_exprs: Vec<Expr>,
    named: &'a [NamedWindowDefinition],
    params: &'a [Value],
}

impl Split<'_> {
    fn leaf(&mut self, expr: Expr) -> usize {
        match self.leaves.iter().position(|e| *e == expr) {
            Some(i) => i,
            None => {
                self.leaves.push(expr);
                self.leaves.len() - 1
            }
        }
    }

    fn operand(&mut self, expr: &Expr) -> Result<usize, DbError> {
        if holds_call_in(expr) {
            return Err(refused("window function calls cannot be nested"));
        }
        Ok(self.leaf(expr.clone()))
    }

    /// `expr` as the rewritten SELECT computes it: each largest part without a window call
    /// read from the first query's values, each window call from its column.
    fn skeleton(&mut self, mut expr: Expr) -> Result<Expr, DbError> {
        if !holds_call(&mut expr) {
            let i = self.leaf(expr);
            return Ok(column(RELATION, &format!("c{i}")));
        }
        if is_call(&expr) {
            let i = self.call(&expr)?;
            return Ok(column(RELATION, &format!("w{i}")));
        }
        if matches!(
            expr,
            Expr::InSubquery { .. } | Expr::Subquery(_) | Expr::Exists { .. }
        ) {
            return Err(refused(
                "a subquery in one expression with a window function is not supported",
            ));
        }
        for operand in super::walk::operands_mut(&mut expr) {
            let taken = std::mem::replace(operand, Expr::Value(SqlValue::Null));
            *operand = self.skeleton(taken)?;
        }
        Ok(expr)
    }

    fn call(&mut self, expr: &Expr) -> Result<usize, DbError> {
        if let Some(i) = self.call_exprs.iter().position(|e| e == expr) {
            return Ok(i);
        }
        let Expr::Function(f) = expr else {
            return Err(refused("internal: not a window call"));
        };
        if super::json_calls::as_call(expr).is_some() {
            let json = super::json_calls::JsonTree::of(expr, &mut |e| self.operand(e))?;
            self.calls.push(Call {
                function: Function::Json,
                args: Vec::new(),
                partition: Vec::new(),
                order: Vec::new(),
                frame: Frame::default(),
                json: Some(json),
            });
            self.call_exprs.push(expr.clone());
            return Ok(self.calls.len() - 1);
        }
        let name = f.name.to_string();
        if f.filter.is_some() {
            return Err(refused(format!(
                "FILTER on the window function {name} is not supported"
            )));
        }
        if f.null_treatment.is_some() || !f.within_group.is_empty() {
            return Err(refused(format!(
                "{name} with IGNORE / RESPECT NULLS or WITHIN GROUP over a window is not supported"
            )));
        }
        let (args, wildcard) = match &f.args {
            FunctionArguments::None => (Vec::new(), false),
            FunctionArguments::List(list) => {
                if matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct)) {
                    return Err(refused(format!(
                        "DISTINCT in the window function {name} is not supported"
                    )));
                }
                if !list.clauses.is_empty() {
                    return Err(refused(format!(
                        "clauses inside the arguments of the window function {name} are not supported"
                    )));
                }
                let mut args = Vec::new();
                let mut wildcard = false;
                for arg in &list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e.clone()),
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) if list.args.len() == 1 => {
                            wildcard = true
                        }
                        _ => {
                            return Err(refused(format!(
                                "this argument of the window function {name}: {arg}"
                            )))
                        }
                    }
                }
                (args, wildcard)
            }
            FunctionArguments::Subquery(_) => {
                return Err(refused(format!(
                    "a subquery as the arguments of {name} is not supported"
                )))
            }
        };
        let Some((function, least, most)) = Function::named(&name, wildcard) else {
            return Err(refused(format!(
                "{name} is not supported as a window function"
            )));
        };
        if !(least..=most).contains(&args.len()) {
            return Err(refused(format!(
                "{name} takes {least} to {most} arguments over a window, got {}",
                args.len()
            )));
        }
        let Some(over) = &f.over else {
            return Err(refused("internal: a window call without OVER"));
        };
        let spec = self.spec(over)?;
        let args = args
            .iter()
            .map(|a| self.operand(a))
            .collect::<Result<Vec<_>, _>>()?;
        let partition = spec
            .partition_by
            .iter()
            .map(|e| self.operand(e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut order = Vec::new();
        for item in &spec.order_by {
            let asc = item.asc.unwrap_or(true);
            order.push(SortKey {
                column: self.operand(&item.expr)?,
                asc,
                // SQL puts NULLs last ascending and first descending unless told.
                nulls_first: item.nulls_first.unwrap_or(!asc),
            });
        }
        let frame = match &spec.window_frame {
            None => Frame::default(),
            Some(frame) => {
                let rows = match frame.units {
                    WindowFrameUnits::Rows => true,
                    WindowFrameUnits::Range => false,
                    WindowFrameUnits::Groups => {
                        return Err(refused("GROUPS window frames are not supported"))
                    }
                };
                let start = self.bound(&frame.start_bound, rows)?;
                let end = match &frame.end_bound {
                    Some(bound) => self.bound(bound, rows)?,
                    None => Bound::CurrentRow,
                };
                check_frame(&start, &end)?;
                let offset = |b: &Bound| matches!(b, Bound::Preceding(_) | Bound::Following(_));
                if !rows && (offset(&start) || offset(&end)) && order.len() != 1 {
                    return Err(refused(
                        "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column",
                    ));
                }
                Frame { rows, start, end }
            }
        };
        self.calls.push(Call {
            function,
            args,
            partition,
            order,
            frame,
            json: None,
        });
        self.call_exprs.push(expr.clone());
        Ok(self.calls.len() - 1)
    }

    /// The window `over` names or spells, named windows it builds on resolved.
    fn spec(&self, over: &WindowType) -> Result<WindowSpec, DbError> {
        match over {
            WindowType::NamedWindow(name) => self.named_spec(name, 0),
            WindowType::WindowSpec(spec) => self.resolved(spec, 0),
        }
    }

    fn resolved(&self, spec: &WindowSpec, depth: usize) -> Result<WindowSpec, DbError> {
        let Some(name) = &spec.window_name else {
            return Ok(spec.clone());
        };
        let base = self.named_spec(name, depth + 1)?;
        if !spec.partition_by.is_empty() {
            return Err(refused(format!(
                "cannot override PARTITION BY clause of window {name}"
            )));
        }
        if !base.order_by.is_empty() && !spec.order_by.is_empty() {
            return Err(refused(format!(
                "cannot override ORDER BY clause of window {name}"
            )));
        }
        if base.window_frame.is_some() {
            return Err(refused(format!(
                "cannot copy window {name} because it has a frame clause"
            )));
        }
        Ok(WindowSpec {
            window_name: None,
            partition_by: base.partition_by,
            order_by: if base.order_by.is_empty() {
                spec.order_by.clone()
            } else {
                base.order_by
            },
            window_frame: spec.window_frame.clone(),
        })
    }

    fn named_spec(&self, name: &Ident, depth: usize) -> Result<WindowSpec, DbError> {
        // Each step names another definition: more steps than definitions is a cycle.
        if depth > self.named.len() {
            return Err(refused(format!(
                "window {name} is defined in terms of itself"
            )));
        }
        let Some(NamedWindowDefinition(_, definition)) =
            self.named.iter().find(|d| d.0.value == name.value)
        else {
            return Err(refused(format!("window {name} does not exist")));
        };
        match definition {
            NamedWindowExpr::NamedWindow(other) => self.named_spec(other, depth + 1),
            NamedWindowExpr::WindowSpec(spec) => self.resolved(spec, depth),
        }
    }

    /// A frame bound; an offset must be a constant: a number or a parameter.
    fn bound(&self, bound: &WindowFrameBound, rows: bool) -> Result<Bound, DbError> {
        Ok(match bound {
            WindowFrameBound::CurrentRow => Bound::CurrentRow,
            WindowFrameBound::Preceding(None) => Bound::UnboundedPreceding,
            WindowFrameBound::Following(None) => Bound::UnboundedFollowing,
            WindowFrameBound::Preceding(Some(offset)) => {
                Bound::Preceding(self.offset(offset, rows)?)
            }
            WindowFrameBound::Following(Some(offset)) => {
                Bound::Following(self.offset(offset, rows)?)
            }
        })
    }

    fn offset(&self, expr: &Expr, rows: bool) -> Result<Value, DbError> {
        let value = match expr {
            Expr::Value(SqlValue::Number(number, _)) => {
                let text = number.to_string();
                text.parse::<i64>()
                    .map(Value::I64)
                    .or_else(|_| text.parse::<f64>().map(Value::F64))
                    .map_err(|_| refused(format!("frame offset {text} is not a number")))?
            }
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                ..
            } => return Err(refused("frame offset must not be negative")),
            Expr::Nested(inner) => return self.offset(inner, rows),
            other => match super::params::bound_value(other, self.params) {
                Some(value) => value.clone(),
                None => {
                    return Err(refused(format!(
                        "a frame offset must be a number or a parameter, got {other}"
                    )))
                }
            },
        };
        let negative = value
            .evaluate_cmp(&Value::I64(0))
            .is_some_and(|o| o.is_lt());
        if negative {
            return Err(refused("frame offset must not be negative"));
        }
        match (&value, rows) {
            (Value::Null, _) => Err(refused("frame offset must not be null")),
            (Value::I8(_) | Value::I16(_) | Value::I32(_) | Value::I64(_), true) => value
                .cast(&gluesql_core::ast::DataType::Int)
                .map_err(DbError::from),
            (_, true) => Err(refused("a ROWS frame offset must be an integer")),
            (Value::I8(_) | Value::I16(_) | Value::I32(_) | Value::I64(_), false)
            | (Value::F32(_) | Value::F64(_) | Value::Decimal(_), false) => Ok(value),
            (_, false) => Err(refused("a RANGE frame offset must be a number")),
        }
    }
}

/// PostgreSQL's rules for which bound may start or end a frame.
fn check_frame(start: &Bound, end: &Bound) -> Result<(), DbError> {
    let message = match (start, end) {
        (Bound::UnboundedFollowing, _) => "frame start cannot be UNBOUNDED FOLLOWING",
        (_, Bound::UnboundedPreceding) => "frame end cannot be UNBOUNDED PRECEDING",
        (Bound::CurrentRow, Bound::Preceding(_)) => {
            "frame starting from current row cannot have preceding rows"
        }
        (Bound::Following(_), Bound::Preceding(_) | Bound::CurrentRow) => {
            "frame starting from following row cannot have preceding rows"
        }
        _ => return Ok(()),
    };
    Err(refused(message))
}

/// The name an unnamed output column gets (GlueSQL's: a column's name, else the expression).
pub(super) fn label(expr: &Expr) -> Ident {
    match expr {
        Expr::Identifier(ident) => ident.clone(),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .cloned()
            .unwrap_or_else(|| Ident::new(expr.to_string())),
        other => Ident::new(other.to_string()),
    }
}

/// A select-list item as an expression and the name its column has (GlueSQL's when none is
/// written); a wildcard beside `what` is refused.
pub(super) fn named_item(item: SelectItem, what: &str) -> Result<(Expr, Ident), DbError> {
    match item {
        SelectItem::UnnamedExpr(expr) => {
            let alias = label(&expr);
            Ok((expr, alias))
        }
        SelectItem::ExprWithAlias { expr, alias } => Ok((expr, alias)),
        other => Err(refused(format!("{other} beside {what} is not supported"))),
    }
}

/// Whether an ORDER BY key reads the rewritten select list `items` (a position, or an output
/// column's name) rather than the FROM list.
pub(super) fn reads_output(key: &Expr, items: &[SelectItem]) -> bool {
    match key {
        Expr::Value(SqlValue::Number(..)) => true,
        Expr::Identifier(ident) => items.iter().any(|item| {
            matches!(item, SelectItem::ExprWithAlias { alias, .. } if alias.value == ident.value)
        }),
        _ => false,
    }
}

/// A windowed SELECT split in two: its first query, the windows over that query's rows, and
/// the select list and ORDER BY rewritten to read both from `RELATION`.
struct Plan {
    first: Select,
    /// How many values each row of the first query has.
    width: usize,
    calls: Vec<Call>,
    items: Vec<SelectItem>,
    order_by: Option<OrderBy>,
}

/// Where a rewritten expression that only reads `RELATION` finds its value in a row.
fn relation_column(expr: &Expr, width: usize) -> Option<usize> {
    let Expr::CompoundIdentifier(parts) = expr else {
        return None;
    };
    let [relation, column] = parts.as_slice() else {
        return None;
    };
    if relation.value != RELATION {
        return None;
    }
    let (kind, index) = column.value.split_at(1);
    let index: usize = index.parse().ok()?;
    match kind {
        "c" => Some(index),
        "w" => Some(width + index),
        _ => None,
    }
}

impl Engine {
    fn plan_windows(
        &self,
        select: &Select,
        order_by: Option<&OrderBy>,
        params: &[Value],
    ) -> Result<Plan, DbError> {
        let mut select = select.clone();
        self.spell_wildcards(&mut select)?;
        let named = std::mem::take(&mut select.named_window);
        let projection = std::mem::take(&mut select.projection);
        let mut order_by = order_by.cloned();
        let mut split = Split {
            leaves: Vec::new(),
            calls: Vec::new(),
            call_exprs: Vec::new(),
            named: &named,
            params,
        };
        let mut items = Vec::new();
        for item in projection {
            let (expr, alias) = named_item(item, "window functions")?;
            items.push(SelectItem::ExprWithAlias {
                expr: split.skeleton(expr)?,
                alias,
            });
        }
        if let Some(order_by) = order_by.as_mut() {
            for item in &mut order_by.exprs {
                if !reads_output(&item.expr, &items) {
                    let expr = std::mem::replace(&mut item.expr, Expr::Value(SqlValue::Null));
                    item.expr = split.skeleton(expr)?;
                }
            }
        }
        if split.leaves.is_empty() {
            // The first query needs a column; its rows are what counts.
            split.leaf(Expr::Value(SqlValue::Number(1.into(), false)));
        }
        let Split { leaves, calls, .. } = split;
        let width = leaves.len();
        select.projection = leaves.into_iter().map(SelectItem::UnnamedExpr).collect();
        select.distinct = None;
        Ok(Plan {
            first: select,
            width,
            calls,
            items,
            order_by,
        })
    }

    /// The first query's rows, each with its windows' values after its own.
    fn window_rows(&mut self, plan: &Plan, params: &[Value]) -> Result<Vec<Vec<Value>>, DbError> {
        let query = super::setops::plain_query(SetExpr::Select(Box::new(plan.first.clone())));
        let mut rows = self.rows_of(query, params, "a SELECT with window functions")?;
        let values = plan
            .calls
            .iter()
            .map(|call| window_values::evaluate(&rows, call))
            .collect::<Result<Vec<_>, _>>()?;
        for (at, row) in rows.iter_mut().enumerate() {
            row.extend(values.iter().map(|column| column[at].clone()));
        }
        Ok(rows)
    }

    /// Computes the window functions of `select` (and of its query's `order_by`) and rewrites
    /// it to read them; the computed rows' values are appended to `params`.
    pub(super) fn compute_windows(
        &mut self,
        select: &mut Select,
        order_by: Option<&mut OrderBy>,
        params: &mut Vec<Value>,
    ) -> Result<(), DbError> {
        let plan = self.plan_windows(select, order_by.as_deref(), params)?;
        let rows = self.window_rows(&plan, params)?;
        let width = plan.width;
        let columns = (0..width)
            .map(|i| Ident::new(format!("c{i}")))
            .chain((0..plan.calls.len()).map(|i| Ident::new(format!("w{i}"))))
            .collect();
        let relation = super::relation::values_query(rows, width + plan.calls.len(), params)?;
        select.from = vec![TableWithJoins {
            relation: TableFactor::Derived {
                lateral: false,
                subquery: Box::new(relation),
                alias: Some(TableAlias {
                    name: Ident::new(RELATION),
                    columns,
                }),
            },
            joins: Vec::new(),
        }];
        select.selection = None;
        select.group_by = GroupByExpr::Expressions(Vec::new(), Vec::new());
        select.having = None;
        select.named_window.clear();
        select.projection = plan.items;
        if let (Some(order_by), Some(rewritten)) = (order_by, plan.order_by) {
            *order_by = rewritten;
        }
        Ok(())
    }

    /// A query whose windowed SELECT outputs its values and windows as they are, ordered by
    /// them: answered here from the computed rows, without handing them to GlueSQL as a
    /// relation (binding 100,000 rows as parameters cost more than computing them). `None`
    /// for any other query.
    pub(super) fn windows_answered_directly(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<Option<super::QueryOutput>, DbError> {
        let Statement::Query(query) = statement else {
            return Ok(None);
        };
        let SetExpr::Select(select) = query.body.as_ref() else {
            return Ok(None);
        };
        let plain = query.with.is_none()
            && query.fetch.is_none()
            && query.locks.is_empty()
            && query.limit_by.is_empty()
            && select.distinct.is_none()
            && select_has_window(select, query.order_by.as_ref());
        if !plain {
            return Ok(None);
        }
        let plan = self.plan_windows(select, query.order_by.as_ref(), params)?;
        let width = plan.width;
        let mut projected = Vec::new();
        let mut names = Vec::new();
        for item in &plan.items {
            let SelectItem::ExprWithAlias { expr, alias } = item else {
                return Ok(None);
            };
            let Some(column) = relation_column(expr, width) else {
                return Ok(None);
            };
            projected.push(column);
            names.push(alias.value.clone());
        }
        let mut keys = Vec::new();
        for item in plan.order_by.iter().flat_map(|o| &o.exprs) {
            let column = match &item.expr {
                Expr::Value(SqlValue::Number(number, _)) => {
                    let position: Option<usize> = number.to_string().parse().ok();
                    match position
                        .and_then(|p| p.checked_sub(1))
                        .and_then(|p| projected.get(p))
                    {
                        Some(&column) => column,
                        None => return Ok(None),
                    }
                }
                Expr::Identifier(ident) => match names.iter().position(|n| *n == ident.value) {
                    Some(at) => projected[at],
                    None => return Ok(None),
                },
                other => match relation_column(other, width) {
                    Some(column) => column,
                    None => return Ok(None),
                },
            };
            let asc = item.asc.unwrap_or(true);
            keys.push((column, asc, item.nulls_first.unwrap_or(!asc)));
        }
        let mut rows = self.window_rows(&plan, params)?;
        // One numeric kind per column, as the relation would have given it.
        for column in width..width + plan.calls.len() {
            super::relation::widen_column(&mut rows, column, None);
        }
        if !keys.is_empty() {
            rows.sort_by(|a, b| super::setops::compare_rows(a, b, &keys));
        }
        if let Some(offset) = &query.offset {
            let skip = super::setops::count(&offset.value, params)?;
            rows.drain(..skip.min(rows.len()));
        }
        if let Some(limit) = &query.limit {
            rows.truncate(super::setops::count(limit, params)?);
        }
        let rows: Vec<Vec<Value>> = rows
            .into_iter()
            .map(|mut row| {
                projected
                    .iter()
                    .map(|&c| std::mem::replace(&mut row[c], Value::Null))
                    .collect()
            })
            .collect();
        Ok(Some(super::QueryOutput {
            command: "SELECT",
            row_count: rows.len(),
            columns: names,
            rows,
        }))
    }

    /// `*` and `name.*` beside window functions (or JSON operations computed as columns)
    /// become the columns they stand for.
    pub(super) fn spell_wildcards(&self, select: &mut Select) -> Result<(), DbError> {
        let has_wildcard = select.projection.iter().any(|item| {
            matches!(
                item,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
            )
        });
        if !has_wildcard {
            return Ok(());
        }
        let factors = select
            .from
            .iter()
            .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
        let named = self.named(factors).map_err(|_| {
            refused("* beside window functions or JSON operations over a parenthesised join or a relation whose columns are not known is not supported")
        })?;
        let projection = std::mem::take(&mut select.projection);
        for item in projection {
            let wanted: Vec<_> = match &item {
                SelectItem::Wildcard(_) => named.iter().collect(),
                SelectItem::QualifiedWildcard(name, _) => {
                    let last = name.0.last().map(|i| i.value.as_str()).unwrap_or_default();
                    named.iter().filter(|n| n.name == last).collect()
                }
                _ => {
                    select.projection.push(item);
                    continue;
                }
            };
            for named in wanted {
                for c in &named.columns {
                    select.projection.push(SelectItem::ExprWithAlias {
                        expr: column(&named.name, c),
                        alias: Ident::new(c),
                    });
                }
            }
        }
        Ok(())
    }
}
