//! FULL JOIN, and a RIGHT JOIN after other joins (GlueSQL 0.20 has neither): the FROM item up to
//! such a join is computed here — its inner join, then the rows of either side nothing matched —
//! and handed back as one `VALUES` relation per name it held, joined by row number, so every
//! name the rest of the query reads keeps its meaning. Refuses what it cannot compute alone.

use {
    super::{relation::values_query, setops::row_canon, Engine},
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            BinaryOperator, Expr, Ident, Join, JoinConstraint, JoinOperator, ObjectName, Query,
            Select, SelectItem, SetExpr, Statement, TableAlias, TableFactor, TableWithJoins,
        },
    },
    std::{collections::HashSet, ops::ControlFlow},
};

/// The row number joining the relations of one computed FROM item: no column has this name.
const ROW: &str = "__idbsql_row";

/// Whether `statement` holds a FULL JOIN or a RIGHT JOIN that is not the first join of its
/// FROM item (compat.rs turns that one into a LEFT JOIN).
pub fn has_outer_join(statement: &Statement) -> bool {
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
        SetExpr::Select(select) => select.from.iter().any(|table| last_outer(table).is_some()),
        SetExpr::SetOperation { left, right, .. } => body_has(left) || body_has(right),
        SetExpr::Query(query) => body_has(&query.body),
        _ => false,
    }
}

/// The index of the last join of `table` that this module computes.
fn last_outer(table: &TableWithJoins) -> Option<usize> {
    table.joins.iter().rposition(|join| {
        matches!(
            join.join_operator,
            JoinOperator::FullOuter(_) | JoinOperator::RightOuter(_)
        )
    })
}

fn refused(what: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, what.into())
}

/// One name of the computed FROM item and its columns.
struct Named {
    name: String,
    columns: Vec<String>,
}

fn column(qualifier: &str, name: &str) -> Expr {
    Expr::CompoundIdentifier(vec![Ident::new(qualifier), Ident::new(name)])
}

/// `SELECT <each named column> FROM <table>` as a query.
fn select_columns(names: &[Named], from: TableWithJoins) -> Query {
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

impl Engine {
    /// Computes, in every FROM item of `select`, the joins up to its last FULL or RIGHT JOIN
    /// (see the module's note); their rows' values are appended to `params`.
    pub(super) fn compute_outer_joins(
        &mut self,
        select: &mut Select,
        params: &mut Vec<Value>,
    ) -> Result<(), DbError> {
        let mut replaced: Vec<Named> = Vec::new();
        for index in 0..select.from.len() {
            let Some(last) = last_outer(&select.from[index]) else {
                continue;
            };
            let names = self.computed(&mut select.from[index], last, params)?;
            replaced.extend(names);
        }
        if !replaced.is_empty() {
            spell_wildcards(select, &replaced);
        }
        Ok(())
    }

    /// Replaces `table`'s relation and joins up to `joins[last]` by the relations of their
    /// rows; answers the names it replaced.
    fn computed(
        &mut self,
        table: &mut TableWithJoins,
        last: usize,
        params: &mut Vec<Value>,
    ) -> Result<Vec<Named>, DbError> {
        let outer = table.joins[last].join_operator.clone();
        let (full, condition) = match outer {
            JoinOperator::FullOuter(JoinConstraint::On(on)) => (true, on),
            JoinOperator::RightOuter(JoinConstraint::On(on)) => (false, on),
            JoinOperator::FullOuter(JoinConstraint::None) => (true, true_expr()),
            _ => return Err(refused("this RIGHT or FULL JOIN form is not supported")),
        };
        let right_factor = table.joins[last].relation.clone();
        let left_table = TableWithJoins {
            relation: table.relation.clone(),
            joins: table.joins[..last].to_vec(),
        };
        let left = self.named(
            std::iter::once(&left_table.relation)
                .chain(left_table.joins.iter().map(|join| &join.relation)),
        )?;
        let right = self.named(std::iter::once(&right_factor))?;
        let left_width: usize = left.iter().map(|n| n.columns.len()).sum();
        let right_width: usize = right.iter().map(|n| n.columns.len()).sum();
        let both: Vec<Named> = left
            .iter()
            .chain(&right)
            .map(|n| Named {
                name: n.name.clone(),
                columns: n.columns.clone(),
            })
            .collect();

        // The inner join, then every row of each side, to find those nothing matched.
        let mut inner_table = left_table.clone();
        inner_table.joins.push(Join {
            relation: right_factor.clone(),
            global: false,
            join_operator: JoinOperator::Inner(JoinConstraint::On(condition)),
        });
        let inner = self.rows_of(select_columns(&both, inner_table), params)?;
        let right_rows = self.rows_of(
            select_columns(
                &right,
                TableWithJoins {
                    relation: right_factor,
                    joins: Vec::new(),
                },
            ),
            params,
        )?;
        let left_rows = if full {
            self.rows_of(select_columns(&left, left_table), params)?
        } else {
            Vec::new()
        };

        let matched_left: HashSet<_> = inner
            .iter()
            .map(|row| row_canon(&row[..left_width]))
            .collect();
        let matched_right: HashSet<_> = inner
            .iter()
            .map(|row| row_canon(&row[left_width..]))
            .collect();
        let mut rows = inner;
        for row in left_rows {
            if !matched_left.contains(&row_canon(&row)) {
                let mut row = row;
                row.extend(std::iter::repeat_n(Value::Null, right_width));
                rows.push(row);
            }
        }
        for row in right_rows {
            if !matched_right.contains(&row_canon(&row)) {
                let mut joined = vec![Value::Null; left_width];
                joined.extend(row);
                rows.push(joined);
            }
        }

        // One relation per name: its columns of each row, and the row's number.
        let mut relations = Vec::new();
        let mut start = 0;
        for named in &both {
            let width = named.columns.len();
            let part: Vec<Vec<Value>> = rows
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
        let first_name = both[0].name.clone();
        let Some(first) = relations.next() else {
            return Err(refused("internal: a computed join without relations"));
        };
        let mut joins: Vec<Join> = relations
            .zip(both.iter().skip(1))
            .map(|(relation, named)| Join {
                relation,
                global: false,
                join_operator: JoinOperator::Inner(JoinConstraint::On(Expr::BinaryOp {
                    left: Box::new(column(&first_name, ROW)),
                    op: BinaryOperator::Eq,
                    right: Box::new(column(&named.name, ROW)),
                })),
            })
            .collect();
        joins.extend(table.joins.drain(last + 1..));
        table.relation = first;
        table.joins = joins;
        Ok(both)
    }

    /// The name and columns of each FROM item, or a refusal naming what is not known.
    fn named<'a>(
        &self,
        factors: impl Iterator<Item = &'a TableFactor>,
    ) -> Result<Vec<Named>, DbError> {
        let mut named = Vec::new();
        for factor in factors {
            if matches!(factor, TableFactor::NestedJoin { .. }) {
                return Err(refused(
                    "RIGHT or FULL JOIN with a parenthesised join on either side is not supported",
                ));
            }
            let mut scope = super::scope::Scope::default();
            self.scope_of_factor(factor, &mut scope);
            let unknown = || {
                refused("RIGHT or FULL JOIN over a relation whose columns are not known is not supported")
            };
            let table = scope.tables.pop().ok_or_else(unknown)?;
            if table.name.is_empty() {
                return Err(refused(
                    "RIGHT or FULL JOIN over a subquery without an alias is not supported",
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

    /// The rows of a query this module built; one that reads an outer query's row is refused.
    fn rows_of(&mut self, mut query: Query, params: &[Value]) -> Result<Vec<Vec<Value>>, DbError> {
        if !self.is_closed(&mut query, &mut Vec::new()) {
            return Err(refused(
                "RIGHT or FULL JOIN reading a column of an outer query is not supported",
            ));
        }
        Ok(self
            .execute(&Statement::Query(Box::new(query)), params)?
            .rows)
    }
}

fn true_expr() -> Expr {
    Expr::Value(gluesql_core::sqlparser::ast::Value::Boolean(true))
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
