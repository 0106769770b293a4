//! The rows of `[LEFT | CROSS] JOIN LATERAL (subquery) AS s [ON …]` (GlueSQL 0.20 has no
//! LATERAL): the subquery runs once per distinct row of what precedes it, that row's columns
//! bound as parameters where it names them. Runs SELECTs through the engine; computed_from.rs
//! hands the rows back.

use {
    super::{
        computed_from::{refused, select_columns, Computed, Named},
        setops::row_canon,
        Engine,
    },
    crate::error::DbError,
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            Expr, Join, JoinConstraint, JoinOperator, Query, SelectItem, SetExpr, Statement,
            TableAlias, TableFactor, TableWithJoins, Value as SqlValue,
        },
    },
    std::collections::HashMap,
};

const WHAT: &str = "LATERAL";

impl Engine {
    /// The rows of `left` joined with the LATERAL subquery of `join`.
    pub(super) fn lateral_rows(
        &mut self,
        left_table: TableWithJoins,
        left: Vec<Named>,
        join: Join,
        params: &[Value],
    ) -> Result<Computed, DbError> {
        let (keep_left, condition) = match join.join_operator {
            JoinOperator::CrossJoin | JoinOperator::Inner(JoinConstraint::None) => (false, None),
            JoinOperator::Inner(JoinConstraint::On(on)) => (false, Some(on)),
            JoinOperator::LeftOuter(JoinConstraint::On(on)) => (true, Some(on)),
            _ => {
                return Err(refused(
                    "LATERAL with this join (only JOIN, LEFT JOIN and CROSS JOIN) is not supported",
                ))
            }
        };
        if !matches!(join.relation, TableFactor::Derived { alias: Some(_), .. }) {
            return Err(refused("LATERAL needs a subquery with an alias"));
        }
        let right = self.named(std::iter::once(&join.relation))?;
        let TableFactor::Derived {
            subquery,
            alias: Some(alias),
            ..
        } = join.relation
        else {
            return Err(refused("LATERAL needs a subquery with an alias"));
        };
        let right_width: usize = right.iter().map(|n| n.columns.len()).sum();

        // The subquery as `SELECT * FROM (subquery) AS s WHERE <ON>`, each column of the left
        // side it names (`a.x`) a parameter after the statement's own.
        let mut template = on_filtered(*subquery, alias, condition);
        // Only where no relation of its own by that name is in scope (bind_names.rs): a view
        // expanded inside may call its table as the FROM list before does.
        let positions = positions(&left);
        let mut read: Vec<usize> = Vec::new();
        super::bind_names::free_columns(self, &mut template, &mut |expr| {
            if let Expr::CompoundIdentifier(parts) = expr {
                if let [qualifier, name] = parts.as_slice() {
                    let key = (qualifier.value.to_lowercase(), name.value.to_lowercase());
                    if let Some(&position) = positions.get(&key) {
                        let slot = match read.iter().position(|&p| p == position) {
                            Some(slot) => slot,
                            None => {
                                read.push(position);
                                read.len() - 1
                            }
                        };
                        *expr = Expr::Value(SqlValue::Placeholder(format!(
                            "${}",
                            params.len() + slot + 1
                        )));
                    }
                }
            }
        });
        if !self.is_closed(&mut template, &mut Vec::new()) {
            return Err(refused(
                "a LATERAL subquery reading a column unqualified, or a column of an outer query, is not supported (write name.column)",
            ));
        }

        let left_rows = self.rows_of(select_columns(&left, left_table), params, WHAT)?;
        let statement = Statement::Query(Box::new(template));
        let mut answers: HashMap<Vec<super::setops::Canon>, Vec<Vec<Value>>> = HashMap::new();
        let mut rows = Vec::new();
        let mut bound = params.to_vec();
        for row in left_rows {
            let key = row_canon(&read.iter().map(|&p| row[p].clone()).collect::<Vec<_>>());
            if !answers.contains_key(&key) {
                bound.truncate(params.len());
                bound.extend(read.iter().map(|&p| row[p].clone()));
                let output = self.execute(&statement, &bound)?;
                answers.insert(key.clone(), output.rows);
            }
            let found = &answers[&key];
            if found.is_empty() && keep_left {
                let mut joined = row;
                joined.extend(std::iter::repeat_n(Value::Null, right_width));
                rows.push(joined);
                continue;
            }
            for found in found {
                let mut joined = row.clone();
                joined.extend(found.iter().cloned());
                rows.push(joined);
            }
        }
        let names = left.into_iter().chain(right).collect();
        Ok(Computed { names, rows })
    }
}

/// Where each `name.column` of the left side stands in its rows (names in lower case).
fn positions(left: &[Named]) -> HashMap<(String, String), usize> {
    let mut positions = HashMap::new();
    let mut at = 0;
    for named in left {
        for column in &named.columns {
            positions
                .entry((named.name.to_lowercase(), column.to_lowercase()))
                .or_insert(at);
            at += 1;
        }
    }
    positions
}

/// `SELECT * FROM (subquery) AS alias [WHERE condition]`: the ON condition reads the
/// subquery's rows under its alias, and the left side's columns.
fn on_filtered(subquery: Query, alias: TableAlias, condition: Option<Expr>) -> Query {
    let from = TableWithJoins {
        relation: TableFactor::Derived {
            lateral: false,
            subquery: Box::new(subquery),
            alias: Some(alias),
        },
        joins: Vec::new(),
    };
    let mut select =
        super::setops::plain_select(vec![SelectItem::Wildcard(Default::default())], vec![from]);
    select.selection = condition.filter(|on| !is_true(on));
    super::setops::plain_query(SetExpr::Select(Box::new(select)))
}

fn is_true(expr: &Expr) -> bool {
    match expr {
        Expr::Value(gluesql_core::sqlparser::ast::Value::Boolean(true)) => true,
        Expr::Nested(inner) => is_true(inner),
        _ => false,
    }
}
