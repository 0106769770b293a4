//! A FROM item whose first joins our layer computes (FULL / RIGHT JOIN, LATERAL; GlueSQL 0.20
//! has none): it finds the join to compute, gives each module the item's names and columns, and
//! hands the rows back as one `VALUES` relation under the first name, the other names' columns
//! renamed in it and every reference to them rewritten (GlueSQL never hash-joins two derived
//! relations, so one per name would cost the square of the rows). Computes no rows itself.

use {
    super::{relation::values_query_typed, Engine},
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            Expr, Ident, Join, JoinOperator, ObjectName, Query, Select, SelectItem, SetExpr,
            Statement, TableAlias, TableFactor, TableWithJoins,
        },
    },
    std::ops::ControlFlow,
};

/// `name.column` of a name other than the first, in the one relation: `name__column`.
fn renamed(name: &str, column: &str) -> String {
    format!("{name}__{column}")
}

/// A column of a computed name read under the first name: `(name, column)` → new column.
pub(super) struct Rename {
    name: String,
    column: String,
    first: String,
    to: String,
    /// Another name of the item has a column so named: unqualified, it is ambiguous.
    shared: bool,
}

/// Whether `statement` holds a join this module computes.
pub fn has_computed_join(statement: &Statement) -> bool {
    // Subqueries of UPDATE and DELETE are walked for having one (`has_subquery`).
    let Some(query) = super::joins::query_of(statement) else {
        return false;
    };
    super::visit::queries(query, |query| {
        if body_has(&query.body) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}

/// Whether `select`'s FROM holds a join this module computes (then its items become one).
pub(super) fn select_has_computed_join(select: &Select) -> bool {
    select
        .from
        .iter()
        .any(|table| last_computed(table).is_some() || is_lateral(&table.relation))
}

fn body_has(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => select_has_computed_join(select),
        SetExpr::SetOperation { left, right, .. } => body_has(left) || body_has(right),
        SetExpr::Query(query) => body_has(&query.body),
        _ => false,
    }
}

pub(super) fn is_lateral(factor: &TableFactor) -> bool {
    matches!(factor, TableFactor::Derived { lateral: true, .. })
}

/// The index of the last join of `table` computed here: a FULL JOIN, a RIGHT JOIN (compat.rs
/// has turned one that comes first into a LEFT JOIN), or a LATERAL subquery.
fn last_computed(table: &TableWithJoins) -> Option<usize> {
    table.joins.iter().rposition(|join| {
        matches!(
            join.join_operator,
            JoinOperator::FullOuter(_) | JoinOperator::RightOuter(_)
        ) || is_lateral(&join.relation)
    })
}

pub(super) fn refused(what: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, what.into())
}

/// One name of a computed FROM item and its columns.
#[derive(Clone)]
pub(super) struct Named {
    pub name: String,
    pub columns: Vec<String>,
    /// Each column's declared type, where known (a table's column).
    pub types: Vec<Option<gluesql_core::ast::DataType>>,
}

pub(super) fn column(qualifier: &str, name: &str) -> Expr {
    Expr::CompoundIdentifier(vec![Ident::new(qualifier), Ident::new(name)])
}

/// `SELECT <each named column> FROM <table>`.
pub(super) fn select_columns(names: &[Named], from: TableWithJoins) -> Query {
    let projection = names
        .iter()
        .flat_map(|named| {
            named
                .columns
                .iter()
                .map(|c| SelectItem::UnnamedExpr(column(&named.name, c)))
        })
        .collect();
    let select = super::setops::plain_select(projection, vec![from]);
    super::setops::plain_query(SetExpr::Select(Box::new(select)))
}

/// What computing one join gave: the names it covers, in order, and their rows (the columns
/// of every name, one after the other).
pub(super) struct Computed {
    pub names: Vec<Named>,
    pub rows: Vec<Vec<Value>>,
}

impl Engine {
    /// Computes, in every FROM item of `select`, its joins up to the last one GlueSQL cannot
    /// run (see the module's note); their rows' values are appended to `params`.
    pub(super) fn compute_joins(
        &mut self,
        select: &mut Select,
        params: &mut Vec<Value>,
    ) -> Result<Vec<Rename>, DbError> {
        // `FROM a, LATERAL (…) s` reads `a` as `FROM a CROSS JOIN LATERAL (…) s` does.
        let mut index = 1;
        while index < select.from.len() {
            if is_lateral(&select.from[index].relation) {
                let item = select.from.remove(index);
                let before = &mut select.from[index - 1];
                before.joins.push(Join {
                    relation: item.relation,
                    global: false,
                    join_operator: JoinOperator::CrossJoin,
                });
                before.joins.extend(item.joins);
            } else {
                index += 1;
            }
        }
        if select.from.first().is_some_and(|t| is_lateral(&t.relation)) {
            return Err(refused(
                "LATERAL as the first FROM item (it has nothing to its left to read) is not supported",
            ));
        }
        let mut renames: Vec<Rename> = Vec::new();
        let mut replaced: Vec<Vec<Named>> = Vec::new();
        for table in &mut select.from {
            let Some(last) = last_computed(table) else {
                continue;
            };
            let left_table = TableWithJoins {
                relation: table.relation.clone(),
                joins: table.joins[..last].to_vec(),
            };
            let left = self.named(
                std::iter::once(&left_table.relation)
                    .chain(left_table.joins.iter().map(|join| &join.relation)),
            )?;
            let join = table.joins[last].clone();
            let computed = if is_lateral(&join.relation) {
                self.lateral_rows(left_table, left, join, params)?
            } else {
                self.outer_join_rows(left_table, left, join, params)?
            };
            let Computed { names, rows } = computed;
            renames.extend(replace_prefix(table, last, &names, rows, params)?);
            replaced.push(names);
        }
        if replaced.is_empty() {
            return Ok(renames);
        }
        refuse_shadowing(select, &renames)?;
        spell_wildcards(select, &replaced, &renames);
        // A renamed column selected as itself keeps its name (a derived table or WITH around
        // this SELECT reads it by that name).
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(expr) = item {
                let label = match expr {
                    Expr::Identifier(ident) => ident.clone(),
                    Expr::CompoundIdentifier(parts) if parts.len() == 2 => parts[1].clone(),
                    _ => continue,
                };
                let mut renamed = expr.clone();
                rename(&mut renamed, &renames);
                if renamed != *expr {
                    *item = SelectItem::ExprWithAlias {
                        expr: renamed,
                        alias: label,
                    };
                }
            }
        }
        for expr in super::subquery::select_exprs_mut(select) {
            rename(expr, &renames);
        }
        Ok(renames)
    }

    /// The name and columns of each FROM item, or a refusal naming what is not known.
    pub(super) fn named<'a>(
        &self,
        factors: impl Iterator<Item = &'a TableFactor>,
    ) -> Result<Vec<Named>, DbError> {
        let mut named = Vec::new();
        for factor in factors {
            if matches!(factor, TableFactor::NestedJoin { .. }) {
                return Err(refused(
                    "RIGHT JOIN, FULL JOIN or LATERAL with a parenthesised join before it is not supported",
                ));
            }
            let mut scope = super::scope::Scope::default();
            self.scope_of_factor(factor, &mut scope);
            let unknown = || {
                refused("RIGHT JOIN, FULL JOIN or LATERAL over a relation whose columns are not known is not supported")
            };
            let table = scope.tables.pop().ok_or_else(unknown)?;
            if table.name.is_empty() {
                return Err(refused(
                    "RIGHT JOIN, FULL JOIN or LATERAL over a subquery without an alias is not supported",
                ));
            }
            let columns = table.columns.ok_or_else(unknown)?;
            let (columns, mut types): (Vec<String>, Vec<_>) = columns.into_iter().unzip();
            if let TableFactor::Derived { subquery, .. } = factor {
                // A derived table's (an expanded view's) column that names a table's column
                // has that column's type.
                let positional = |select: &Select| {
                    select.projection.iter().all(|item| {
                        matches!(
                            item,
                            SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
                        )
                    })
                };
                if let SetExpr::Select(select) = subquery.body.as_ref() {
                    let inner = [self.scope_of_from(&select.from)];
                    let items = if positional(select) {
                        select.projection.as_slice()
                    } else {
                        &[]
                    };
                    for (slot, item) in types.iter_mut().zip(items) {
                        if let SelectItem::UnnamedExpr(e)
                        | SelectItem::ExprWithAlias { expr: e, .. } = item
                        {
                            *slot = slot
                                .take()
                                .or_else(|| super::scope::column_type_of(e, &inner));
                        }
                    }
                }
                // A computed column (`b.c0 - 4` of a DATE) has the type the typer gives it.
                if types.iter().any(Option::is_none) {
                    let typed = super::bind_types::output_types(self, subquery, &[]);
                    for (slot, typed) in types.iter_mut().zip(typed) {
                        *slot = slot.take().or(typed);
                    }
                }
            }
            named.push(Named {
                name: table.name,
                columns,
                types,
            });
        }
        Ok(named)
    }

    /// The rows of a query built here; one reading an outer query's row is refused as `what`.
    pub(super) fn rows_of(
        &mut self,
        mut query: Query,
        params: &[Value],
        what: &str,
    ) -> Result<Vec<Vec<Value>>, DbError> {
        if !self.is_closed(&mut query, &mut Vec::new()) {
            return Err(refused(format!(
                "{what} reading a column of an outer query is not supported"
            )));
        }
        Ok(self
            .execute(&Statement::Query(Box::new(query)), params)?
            .rows)
    }
}

/// Replaces `table`'s relation and joins up to `joins[last]` by one relation of `rows` (the
/// columns of each of `names`) under the first name; answers how the other names' columns are read in it.
fn replace_prefix(
    table: &mut TableWithJoins,
    last: usize,
    names: &[Named],
    rows: Vec<Vec<Value>>,
    params: &mut Vec<Value>,
) -> Result<Vec<Rename>, DbError> {
    let Some(first) = names.first() else {
        return Err(refused("internal: a computed join without relations"));
    };
    let mut columns: Vec<Ident> = first.columns.iter().map(Ident::new).collect();
    let mut renames = Vec::new();
    for (at, named) in names.iter().enumerate().skip(1) {
        for column in &named.columns {
            let to = renamed(&named.name, column);
            columns.push(Ident::new(&to));
            let shared = names.iter().enumerate().any(|(other, n)| {
                other != at && n.columns.iter().any(|c| c.eq_ignore_ascii_case(column))
            });
            renames.push(Rename {
                name: named.name.clone(),
                column: column.clone(),
                first: first.name.clone(),
                to,
                shared,
            });
        }
    }
    let width = columns.len();
    let types: Vec<_> = names.iter().flat_map(|n| n.types.iter().cloned()).collect();
    let subquery = values_query_typed(rows, width, &types, params)?;
    table.relation = TableFactor::Derived {
        lateral: false,
        subquery: Box::new(subquery),
        alias: Some(TableAlias {
            name: Ident::new(&first.name),
            columns,
        }),
    };
    table.joins.drain(..=last);
    Ok(renames)
}

/// A subquery of `select` naming one of its own relations as a renamed name does: its
/// references could not be told apart.
fn refuse_shadowing(select: &Select, renames: &[Rename]) -> Result<(), DbError> {
    let mut select = select.clone();
    let shadowed = super::subquery::select_exprs_mut(&mut select)
        .into_iter()
        .any(|expr| {
            names_a_relation(expr, |name| {
                renames.iter().any(|r| r.name.eq_ignore_ascii_case(name))
            })
        });
    if shadowed {
        return Err(refused(
            "a subquery naming its own relation as a relation of a RIGHT JOIN, FULL JOIN or LATERAL around it is not supported",
        ));
    }
    Ok(())
}

/// Rewrites every reference to a renamed column in `expr` (its subqueries included): `b.y`,
/// and an unqualified `y` no relation of the first name has, outside subqueries.
pub(super) fn rename(expr: &mut Expr, renames: &[Rename]) {
    if renames.is_empty() {
        return;
    }
    let find = |name: Option<&str>, column: &str| {
        renames.iter().find(|r| {
            name.is_none_or(|n| r.name.eq_ignore_ascii_case(n))
                && r.column.eq_ignore_ascii_case(column)
        })
    };
    let _ = super::visit::exprs_mut(expr, |e| {
        if let Expr::CompoundIdentifier(parts) = e {
            if let [qualifier, column] = parts.as_slice() {
                if let Some(r) = find(Some(&qualifier.value), &column.value) {
                    *e = super::computed_from::column(&r.first, &r.to);
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    unqualified(expr, renames);
}

/// An unqualified name of a renamed column, outside subqueries (whose own FROM comes first).
fn unqualified(expr: &mut Expr, renames: &[Rename]) {
    match expr {
        Expr::Identifier(ident) => {
            let found: Vec<&Rename> = renames
                .iter()
                .filter(|r| !r.shared && r.column.eq_ignore_ascii_case(&ident.value))
                .collect();
            if let [r] = found.as_slice() {
                *expr = column(&r.first, &r.to);
            }
        }
        Expr::Subquery(_) | Expr::Exists { .. } => {}
        Expr::InSubquery { expr: operand, .. } => unqualified(operand, renames),
        other => {
            for operand in super::walk::operands_mut(other) {
                unqualified(operand, renames);
            }
        }
    }
}

/// `*` and `name.*` of a computed name become its columns, under their own names.
fn spell_wildcards(select: &mut Select, replaced: &[Vec<Named>], renames: &[Rename]) {
    let all: Vec<&Named> = replaced.iter().flatten().collect();
    let find = |name: &str| {
        all.iter()
            .copied()
            .find(|n| n.name.eq_ignore_ascii_case(name))
    };
    let columns_of = |named: &Named| -> Vec<SelectItem> {
        named
            .columns
            .iter()
            .map(|c| {
                let renamed = renames.iter().find(|r| {
                    r.name.eq_ignore_ascii_case(&named.name) && r.column.eq_ignore_ascii_case(c)
                });
                match renamed {
                    Some(r) => SelectItem::ExprWithAlias {
                        expr: column(&r.first, &r.to),
                        alias: Ident::new(c),
                    },
                    None => SelectItem::UnnamedExpr(column(&named.name, c)),
                }
            })
            .collect()
    };
    let has_wildcard = select.projection.iter().any(|item| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    if !has_wildcard {
        return;
    }
    // The names in written order: a computed item's first name stands for all of its names.
    let mut names: Vec<String> = Vec::new();
    for table in &select.from {
        let mut visible = Vec::new();
        visible_names(table, &mut visible);
        for name in visible {
            match replaced.iter().find(|group| {
                group
                    .first()
                    .is_some_and(|n| n.name.eq_ignore_ascii_case(&name))
            }) {
                Some(group) => names.extend(group.iter().map(|n| n.name.clone())),
                None => names.push(name),
            }
        }
    }
    let projection = std::mem::take(&mut select.projection);
    for item in projection {
        match item {
            SelectItem::Wildcard(_) => {
                for name in &names {
                    match find(name) {
                        Some(named) => select.projection.extend(columns_of(named)),
                        None => select.projection.push(SelectItem::QualifiedWildcard(
                            ObjectName(vec![Ident::new(name)]),
                            Default::default(),
                        )),
                    }
                }
            }
            SelectItem::QualifiedWildcard(name, options) => {
                let last = name.0.last().map(|i| i.value.clone()).unwrap_or_default();
                match find(&last) {
                    Some(named) => select.projection.extend(columns_of(named)),
                    None => select
                        .projection
                        .push(SelectItem::QualifiedWildcard(name, options)),
                }
            }
            other => select.projection.push(other),
        }
    }
}

/// The name a FROM item is visible by: its alias, or the table's own name.
pub(super) fn factor_name(factor: &TableFactor) -> Option<String> {
    match factor {
        TableFactor::Table {
            alias: Some(alias), ..
        }
        | TableFactor::Derived {
            alias: Some(alias), ..
        } => Some(alias.name.value.clone()),
        TableFactor::Table { name, .. } => name.0.last().map(|i| i.value.clone()),
        _ => None,
    }
}

/// Whether a FROM item anywhere inside `node` is visible by a name `taken` accepts.
pub(super) fn names_a_relation<N: gluesql_core::sqlparser::ast::Visit + ?Sized>(
    node: &N,
    taken: impl Fn(&str) -> bool,
) -> bool {
    super::visit::table_factors(node, |factor| match factor_name(factor) {
        Some(name) if taken(&name) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The names the FROM items of `table` are visible by, in written order.
pub(super) fn visible_names(table: &TableWithJoins, names: &mut Vec<String>) {
    for factor in std::iter::once(&table.relation).chain(table.joins.iter().map(|j| &j.relation)) {
        match factor {
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => visible_names(table_with_joins, names),
            other => names.extend(factor_name(other)),
        }
    }
}
