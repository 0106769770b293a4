//! A FROM item whose first joins our layer computes (FULL / RIGHT JOIN, LATERAL; GlueSQL 0.20
//! has none): it finds the join to compute, gives each module the item's names and columns, and
//! hands the rows back as one `VALUES` relation per name joined by row number, so every name the
//! rest of the query reads keeps its meaning. Computes no rows itself; never touches the store.

use {
    super::{relation::values_query, Engine},
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            BinaryOperator, Expr, Ident, Join, JoinConstraint, JoinOperator, ObjectName, Query,
            Select, SelectItem, SetExpr, Statement, TableAlias, TableFactor, TableWithJoins,
        },
    },
    std::ops::ControlFlow,
};

/// The row number joining the relations of one computed FROM item: no column has this name.
const ROW: &str = "__idbsql_row";

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

fn body_has(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => select
            .from
            .iter()
            .any(|table| last_computed(table).is_some() || is_lateral(&table.relation)),
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
    ) -> Result<(), DbError> {
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
        let mut replaced: Vec<Named> = Vec::new();
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
            replace_prefix(table, last, &computed, params)?;
            replaced.extend(computed.names);
        }
        if !replaced.is_empty() {
            spell_wildcards(select, &replaced);
        }
        Ok(())
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
            named.push(Named {
                name: table.name,
                columns: columns.into_iter().map(|(name, _)| name).collect(),
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

/// Replaces `table`'s relation and joins up to `joins[last]` by one relation per name of
/// `computed`: its columns of each row, and the row's number.
fn replace_prefix(
    table: &mut TableWithJoins,
    last: usize,
    computed: &Computed,
    params: &mut Vec<Value>,
) -> Result<(), DbError> {
    let mut relations = Vec::new();
    let mut start = 0;
    for named in &computed.names {
        let width = named.columns.len();
        let part: Vec<Vec<Value>> = computed
            .rows
            .iter()
            .enumerate()
            .map(|(number, row)| {
                let mut part = row[start..start + width].to_vec();
                part.push(Value::I64(number as i64));
                part
            })
            .collect();
        start += width;
        let subquery = values_query(part, width + 1, params)?;
        let mut columns: Vec<Ident> = named.columns.iter().map(Ident::new).collect();
        columns.push(Ident::new(ROW));
        relations.push(TableFactor::Derived {
            lateral: false,
            subquery: Box::new(subquery),
            alias: Some(TableAlias {
                name: Ident::new(&named.name),
                columns,
            }),
        });
    }
    let mut relations = relations.into_iter();
    let (Some(first), Some(first_name)) = (relations.next(), computed.names.first()) else {
        return Err(refused("internal: a computed join without relations"));
    };
    let mut joins: Vec<Join> = relations
        .zip(computed.names.iter().skip(1))
        .map(|(relation, named)| Join {
            relation,
            global: false,
            join_operator: JoinOperator::Inner(JoinConstraint::On(Expr::BinaryOp {
                left: Box::new(column(&first_name.name, ROW)),
                op: BinaryOperator::Eq,
                right: Box::new(column(&named.name, ROW)),
            })),
        })
        .collect();
    joins.extend(table.joins.drain(last + 1..));
    table.relation = first;
    table.joins = joins;
    Ok(())
}

/// `*` and `name.*` of a computed name become its columns (its row number is not one).
fn spell_wildcards(select: &mut Select, replaced: &[Named]) {
    let find = |name: &str| replaced.iter().find(|n| n.name.eq_ignore_ascii_case(name));
    let columns_of = |named: &Named| -> Vec<SelectItem> {
        named
            .columns
            .iter()
            .map(|c| SelectItem::UnnamedExpr(column(&named.name, c)))
            .collect()
    };
    let projection = std::mem::take(&mut select.projection);
    for item in projection {
        match item {
            SelectItem::Wildcard(_) => {
                let mut names = Vec::new();
                for table in &select.from {
                    visible_names(table, &mut names);
                }
                for name in names {
                    match find(&name) {
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

/// The names the FROM items of `table` are visible by, in written order.
fn visible_names(table: &TableWithJoins, names: &mut Vec<String>) {
    for factor in std::iter::once(&table.relation).chain(table.joins.iter().map(|j| &j.relation)) {
        match factor {
            TableFactor::Table {
                alias: Some(alias), ..
            }
            | TableFactor::Derived {
                alias: Some(alias), ..
            } => names.push(alias.name.value.clone()),
            TableFactor::Table { name, .. } => {
                names.extend(name.0.last().map(|i| i.value.clone()));
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => visible_names(table_with_joins, names),
            _ => {}
        }
    }
}
