//! The aggregates `string_agg(value, separator [ORDER BY …])` and SQLite's / MySQL's
//! `group_concat(value [, separator])` (GlueSQL 0.20 has neither): a SELECT calling them is
//! rewritten, as the statement is parsed, to group the rows of a derived table in which each
//! group's string is computed as an internal window over the group (window_values.rs). Reads
//! and writes SQL syntax only; evaluates nothing.

use {
    super::{
        computed_from::{column, refused},
        window_values::{GROUP_STRING, GROUP_STRING_DISTINCT},
    },
    crate::error::DbError,
    gluesql_core::sqlparser::ast::{
        DuplicateTreatment, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
        FunctionArgumentList, FunctionArguments, GroupByExpr, Ident, NamedWindowDefinition,
        NamedWindowExpr, ObjectName, OrderBy, OrderByExpr, Query, Select, SelectItem, SetExpr,
        Statement, TableAlias, TableFactor, TableWithJoins, Value as SqlValue, WindowSpec,
        WindowType,
    },
    std::ops::ControlFlow,
};

/// The derived table a rewritten SELECT groups: `c<i>` the values it reads, `s<i>` the strings.
const RELATION: &str = "__string_agg";

/// The aggregates GlueSQL computes itself; their arguments are read from the derived table.
const AGGREGATES: [&str; 7] = ["COUNT", "SUM", "MIN", "MAX", "AVG", "VARIANCE", "STDEV"];

pub(super) fn is_string_agg(expr: &Expr) -> bool {
    matches!(expr, Expr::Function(f) if f.over.is_none() && {
        let name = f.name.to_string();
        name.eq_ignore_ascii_case("string_agg") || name.eq_ignore_ascii_case("group_concat")
    })
}

pub(super) fn is_aggregate(expr: &Expr) -> bool {
    matches!(expr, Expr::Function(f) if f.over.is_none() && {
        let name = f.name.to_string();
        AGGREGATES.iter().any(|a| name.eq_ignore_ascii_case(a))
    })
}

/// Whether `expr` itself (not a subquery in it) holds a call `found` accepts: one copy, then
/// a walk of its operands (a copy per level made the walk quadratic in the depth).
pub(super) fn holds(expr: &Expr, found: fn(&Expr) -> bool) -> bool {
    fn walk(expr: &mut Expr, found: fn(&Expr) -> bool) -> bool {
        found(expr)
            || super::walk::operands_mut(expr)
                .into_iter()
                .any(|e| walk(e, found))
    }
    walk(&mut expr.clone(), found)
}

fn is_window(expr: &Expr) -> bool {
    matches!(expr, Expr::Function(f) if f.over.is_some())
}

/// Rewrites every SELECT of `statement` that calls string_agg or group_concat.
pub fn rewrite(statement: &mut Statement) -> Result<(), DbError> {
    fn calls<N: gluesql_core::sqlparser::ast::Visit + ?Sized>(node: &N) -> bool {
        super::visit::exprs(node, |e| match is_string_agg(e) {
            true => ControlFlow::Break(()),
            false => ControlFlow::Continue(()),
        })
        .is_break()
    }
    if !calls(&*statement) {
        return Ok(());
    }
    // Every column holding a call, here or in a subquery, keeps the name the query wrote:
    // each named before any is renamed, by one visitor twice so that the orders agree.
    let mut labels = Vec::new();
    let _ = super::visit::queries_mut(statement, |query| {
        if let SetExpr::Select(select) = query.body.as_ref() {
            for item in &select.projection {
                if let SelectItem::UnnamedExpr(e) = item {
                    if calls(e) {
                        labels.push(super::windows::label(e));
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let mut labels = labels.into_iter();
    let _ = super::visit::queries_mut(statement, |query| {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(e) = item {
                    if calls(&*e) {
                        let alias = labels.next().unwrap_or_else(|| super::windows::label(e));
                        let expr = std::mem::replace(e, Expr::Value(SqlValue::Null));
                        *item = SelectItem::ExprWithAlias { expr, alias };
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let mut failed = None;
    let _ = super::visit::queries_mut(statement, |query| match rewrite_query(query) {
        Ok(()) => ControlFlow::Continue(()),
        Err(error) => {
            failed = Some(error);
            ControlFlow::Break(())
        }
    });
    if let Some(error) = failed {
        return Err(error);
    }
    let _ = super::visit::queries_mut(statement, |query| {
        if let SetExpr::Select(select) = query.body.as_mut() {
            lift_correlated(select);
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(())
}

/// Whether `query` is one this module rewrote that answers exactly one row: a string_agg
/// over all the rows its FROM gives, no GROUP BY.
fn one_string_row(query: &Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    let over_strings = matches!(
        select.from.as_slice(),
        [TableWithJoins { relation: TableFactor::Derived { alias: Some(alias), .. }, joins }]
            if alias.name.value == RELATION && joins.is_empty()
    );
    over_strings
        && matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty())
        && select.having.is_none()
        && select.projection.len() == 1
        && query.limit.is_none()
        && query.offset.is_none()
        && query.fetch.is_none()
}

/// A scalar subquery computing a string_agg in the select list or WHERE of a SELECT that does
/// not aggregate becomes a `LEFT JOIN LATERAL … ON TRUE` of it: it may read the outer row's
/// columns, which the group strings' windows (run as their own statement) cannot, and LATERAL
/// binds them per row. It answers one row, so the join keeps every row once.
fn lift_correlated(select: &mut Select) {
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if grouped || select.from.is_empty() || select.having.is_some() {
        return;
    }
    let aggregates = output_exprs(select).any(|e| holds(e, is_aggregate) || holds(e, is_window));
    if aggregates {
        return;
    }
    let mut lifted = Vec::new();
    for item in &mut select.projection {
        let before = lifted.len();
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            let written = e.clone();
            lift_in(e, &mut lifted);
            // The column keeps the name the query wrote.
            if lifted.len() > before {
                if let SelectItem::UnnamedExpr(e) = item {
                    let expr = std::mem::replace(e, Expr::Value(SqlValue::Null));
                    let alias = super::windows::label(&written);
                    *item = SelectItem::ExprWithAlias { expr, alias };
                }
            }
        }
    }
    // And in WHERE: the joined row is there for the filter to read.
    if let Some(selection) = select.selection.as_mut() {
        lift_in(selection, &mut lifted);
    }
    let Some(last) = select.from.last_mut() else {
        return;
    };
    for (name, query) in lifted {
        last.joins.push(gluesql_core::sqlparser::ast::Join {
            relation: TableFactor::Derived {
                lateral: true,
                subquery: Box::new(query),
                alias: Some(TableAlias {
                    name: Ident::new(name),
                    columns: Vec::new(),
                }),
            },
            global: false,
            join_operator: gluesql_core::sqlparser::ast::JoinOperator::LeftOuter(
                gluesql_core::sqlparser::ast::JoinConstraint::On(Expr::Value(SqlValue::Boolean(
                    true,
                ))),
            ),
        });
    }
}

fn lift_in(expr: &mut Expr, lifted: &mut Vec<(String, Query)>) {
    if let Expr::Subquery(query) = expr {
        if one_string_row(query) {
            let mut query = (**query).clone();
            if let SetExpr::Select(select) = query.body.as_mut() {
                if let Some(
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. },
                ) = select.projection.pop()
                {
                    select.projection.push(SelectItem::ExprWithAlias {
                        expr: e,
                        alias: Ident::new("v"),
                    });
                }
            }
            let name = format!("{RELATION}_row{}", lifted.len());
            *expr = column(&name, "v");
            lifted.push((name, query));
        }
        return;
    }
    for operand in super::walk::operands_mut(expr) {
        lift_in(operand, lifted);
    }
}

fn rewrite_query(query: &mut Query) -> Result<(), DbError> {
    let plain = matches!(query.body.as_ref(), SetExpr::Select(_));
    let mut order_by = if plain { query.order_by.take() } else { None };
    let result = rewrite_body(&mut query.body, order_by.as_mut());
    if plain {
        query.order_by = order_by;
    }
    result
}

fn rewrite_body(body: &mut SetExpr, order_by: Option<&mut OrderBy>) -> Result<(), DbError> {
    match body {
        SetExpr::Select(select) => {
            if calls_string_agg(select, order_by.as_deref()) {
                regroup(select, order_by)?;
            }
            Ok(())
        }
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_body(left, None)?;
            rewrite_body(right, None)
        }
        _ => Ok(()),
    }
}

fn output_exprs(select: &Select) -> impl Iterator<Item = &Expr> {
    select.projection.iter().filter_map(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
        _ => None,
    })
}

fn calls_string_agg(select: &Select, order_by: Option<&OrderBy>) -> bool {
    output_exprs(select)
        .chain(select.having.iter())
        .chain(
            order_by
                .iter()
                .flat_map(|o| o.exprs.iter().map(|o| &o.expr)),
        )
        .any(|e| holds(e, is_string_agg))
}

/// What regrouping a SELECT gathered: the values the derived table selects per row, and the
/// group strings it computes.
struct Split {
    group_keys: Vec<Expr>,
    leaves: Vec<Expr>,
    strings: Vec<Expr>,
}

impl Split {
    fn leaf(&mut self, expr: Expr) -> Expr {
        let i = match self.leaves.iter().position(|e| *e == expr) {
            Some(i) => i,
            None => {
                self.leaves.push(expr);
                self.leaves.len() - 1
            }
        };
        column(RELATION, &format!("c{i}"))
    }

    /// `expr` as the grouping SELECT computes it over the derived table.
    fn skeleton(&mut self, mut expr: Expr) -> Result<Expr, DbError> {
        if is_string_agg(&expr) {
            let Expr::Function(function) = expr else {
                return Err(refused("internal: not a string_agg call"));
            };
            let window = self.group_string(function)?;
            self.strings.push(window);
            let string = column(RELATION, &format!("s{}", self.strings.len() - 1));
            return Ok(call("MAX", vec![string]));
        }
        if is_window(&expr) {
            // Computed after the grouping, over what the grouping SELECT computes.
            for operand in super::walk::operands_mut(&mut expr) {
                let taken = std::mem::replace(operand, Expr::Value(SqlValue::Null));
                *operand = self.skeleton(taken)?;
            }
            if let Expr::Function(Function {
                over: Some(WindowType::WindowSpec(spec)),
                ..
            }) = &mut expr
            {
                self.window_spec(spec)?;
            }
            return Ok(expr);
        }
        if is_aggregate(&expr) {
            for operand in super::walk::operands_mut(&mut expr) {
                if holds(operand, is_string_agg) || holds(operand, is_aggregate) {
                    return Err(refused("aggregate function calls cannot be nested"));
                }
                let taken = std::mem::replace(operand, Expr::Value(SqlValue::Null));
                *operand = self.leaf(taken);
            }
            return Ok(expr);
        }
        if self.group_keys.contains(&expr) {
            return Ok(self.leaf(expr));
        }
        match expr {
            Expr::Identifier(_)
            | Expr::CompoundIdentifier(_)
            | Expr::Subquery(_)
            | Expr::Exists { .. } => return Ok(self.leaf(expr)),
            Expr::InSubquery { .. } if !holds(&expr, is_aggregate) => return Ok(self.leaf(expr)),
            Expr::InSubquery { .. } => {
                return Err(refused(
                    "an aggregate tested with IN (subquery) beside string_agg is not supported",
                ))
            }
            _ => {}
        }
        for operand in super::walk::operands_mut(&mut expr) {
            let taken = std::mem::replace(operand, Expr::Value(SqlValue::Null));
            *operand = self.skeleton(taken)?;
        }
        Ok(expr)
    }

    fn window_spec(&mut self, spec: &mut WindowSpec) -> Result<(), DbError> {
        for key in &mut spec.partition_by {
            let taken = std::mem::replace(key, Expr::Value(SqlValue::Null));
            *key = self.skeleton(taken)?;
        }
        for item in &mut spec.order_by {
            let taken = std::mem::replace(&mut item.expr, Expr::Value(SqlValue::Null));
            item.expr = self.skeleton(taken)?;
        }
        Ok(())
    }

    /// The internal window computing one string_agg / group_concat call's string per group.
    fn group_string(&self, function: Function) -> Result<Expr, DbError> {
        let name = function.name.to_string();
        let concat = name.eq_ignore_ascii_case("group_concat");
        let FunctionArguments::List(list) = function.args else {
            return Err(refused(format!("{name} needs arguments")));
        };
        let FunctionArgumentList {
            duplicate_treatment,
            args,
            clauses,
        } = list;
        let distinct = matches!(duplicate_treatment, Some(DuplicateTreatment::Distinct));
        let mut values = Vec::new();
        for arg in args {
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => values.push(e),
                other => return Err(refused(format!("this argument of {name}: {other}"))),
            }
        }
        let mut order = Vec::new();
        let mut separator = None;
        for clause in clauses {
            match clause {
                FunctionArgumentClause::OrderBy(items) => order = items,
                FunctionArgumentClause::Separator(value) => separator = Some(Expr::Value(value)),
                other => return Err(refused(format!("{other} in {name} is not supported"))),
            }
        }
        let (value, separator) = match (values.len(), concat, separator) {
            (2, _, None) => {
                let separator = values.pop();
                (values.pop(), separator)
            }
            // group_concat's separator is a comma unless given.
            (1, true, separator) => (
                values.pop(),
                Some(separator.unwrap_or(Expr::Value(SqlValue::SingleQuotedString(",".into())))),
            ),
            _ if concat => {
                return Err(refused(
                    "group_concat takes a value and an optional separator",
                ))
            }
            _ => return Err(refused("string_agg takes a value and a separator")),
        };
        let (Some(mut value), Some(separator)) = (value, separator) else {
            return Err(refused(format!("{name} needs a value")));
        };
        if distinct
            && !name.eq_ignore_ascii_case("group_concat")
            && !order.iter().all(|o| {
                // json_agg(DISTINCT x ORDER BY x) aggregates x's JSON text, made from x.
                o.expr == value || super::json_calls::element_of(&value) == Some(&o.expr)
            })
        {
            return Err(refused(
                "in an aggregate with DISTINCT, ORDER BY expressions must appear in the argument list",
            ));
        }
        for e in std::iter::once(&value)
            .chain(std::iter::once(&separator))
            .chain(order.iter().map(|o| &o.expr))
        {
            if holds(e, is_string_agg) || holds(e, is_aggregate) || holds(e, is_window) {
                return Err(refused("aggregate function calls cannot be nested"));
            }
        }
        if let Some(filter) = function.filter {
            value = Expr::Case {
                operand: None,
                conditions: vec![*filter],
                results: vec![value],
                else_result: None,
            };
        }
        let internal = if distinct {
            GROUP_STRING_DISTINCT
        } else {
            GROUP_STRING
        };
        let mut window = call(internal, vec![value, separator]);
        if let Expr::Function(f) = &mut window {
            f.over = Some(WindowType::WindowSpec(WindowSpec {
                window_name: None,
                partition_by: self.group_keys.clone(),
                order_by: order
                    .into_iter()
                    .map(|o| OrderByExpr {
                        expr: o.expr,
                        asc: o.asc,
                        nulls_first: o.nulls_first,
                        with_fill: None,
                    })
                    .collect(),
                window_frame: None,
            }));
        }
        Ok(window)
    }
}

/// `name(args…)`, a plain call.
pub(super) fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![Ident::new(name)]),
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// `select` as a grouping of a derived table that computes its group strings.
fn regroup(select: &mut Select, order_by: Option<&mut OrderBy>) -> Result<(), DbError> {
    let group_keys = match &select.group_by {
        GroupByExpr::Expressions(keys, modifiers) if modifiers.is_empty() => keys.clone(),
        _ => {
            return Err(refused(
                "GROUP BY ALL or grouping modifiers beside string_agg are not supported",
            ))
        }
    };
    let mut split = Split {
        group_keys,
        leaves: Vec::new(),
        strings: Vec::new(),
    };
    let projection = std::mem::take(&mut select.projection);
    let mut items = Vec::new();
    for item in projection {
        let (expr, alias) = super::windows::named_item(item, "string_agg / group_concat")?;
        items.push(SelectItem::ExprWithAlias {
            expr: split.skeleton(expr)?,
            alias,
        });
    }
    let group_by = split
        .group_keys
        .clone()
        .into_iter()
        .map(|key| split.leaf(key))
        .collect::<Vec<_>>();
    for NamedWindowDefinition(_, definition) in &mut select.named_window {
        if let NamedWindowExpr::WindowSpec(spec) = definition {
            split.window_spec(spec)?;
        }
    }
    let having = select
        .having
        .take()
        .map(|h| split.skeleton(h))
        .transpose()?;
    if let Some(order_by) = order_by {
        for item in &mut order_by.exprs {
            if !super::windows::reads_output(&item.expr, &items) {
                let expr = std::mem::replace(&mut item.expr, Expr::Value(SqlValue::Null));
                item.expr = split.skeleton(expr)?;
            }
        }
    }
    let Split {
        leaves, strings, ..
    } = split;
    let mut inner = select.clone();
    inner.distinct = None;
    inner.group_by = GroupByExpr::Expressions(Vec::new(), Vec::new());
    inner.having = None;
    inner.named_window.clear();
    inner.projection = leaves
        .into_iter()
        .enumerate()
        .map(|(i, expr)| SelectItem::ExprWithAlias {
            expr,
            alias: Ident::new(format!("c{i}")),
        })
        .chain(
            strings
                .into_iter()
                .enumerate()
                .map(|(i, window)| SelectItem::ExprWithAlias {
                    expr: window,
                    alias: Ident::new(format!("s{i}")),
                }),
        )
        .collect();
    select.projection = items;
    select.from = vec![TableWithJoins {
        relation: TableFactor::Derived {
            lateral: false,
            subquery: Box::new(super::setops::plain_query(SetExpr::Select(Box::new(inner)))),
            alias: Some(TableAlias {
                name: Ident::new(RELATION),
                columns: Vec::new(),
            }),
        },
        joins: Vec::new(),
    }];
    select.selection = None;
    select.group_by = GroupByExpr::Expressions(group_by, Vec::new());
    select.having = having;
    Ok(())
}
