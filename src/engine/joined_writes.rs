//! `UPDATE … FROM` and `DELETE … USING`, which GlueSQL 0.20 refuses: the rows to write and
//! their new values come from one SELECT over the target and the other relations (joins planned
//! by their predicates), then each target row is written by its primary key. Owns only that
//! lowering; the writes themselves are ordinary UPDATE and DELETE statements.

use {
    super::{
        relation::bind,
        result::QueryOutput,
        setops::{plain_query, plain_select},
        Engine,
    },
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        data::Value,
        sqlparser::ast::{
            Assignment, AssignmentTarget, BinaryOperator, Distinct, Expr, FromTable, Ident, Join,
            JoinConstraint, JoinOperator, ObjectName, SelectItem, SetExpr, Statement, TableFactor,
            TableWithJoins, Value as SqlValue,
        },
    },
    std::collections::HashSet,
};

/// Whether `statement` is an UPDATE with FROM or a DELETE with USING, or an UPDATE / DELETE
/// whose values or condition compute a JSON operation over the written rows (GlueSQL cannot
/// run those per row; the SELECT this lowering runs can; so is a correlated set operation,
/// `Engine::write_reads_correlated_set_operation`).
pub fn is_joined_write(statement: &Statement) -> bool {
    match statement {
        Statement::Update { from, .. } => {
            from.is_some() || super::json_calls::write_computes_json(statement)
        }
        Statement::Delete(delete) => {
            delete.using.is_some() || super::json_calls::write_computes_json(statement)
        }
        _ => false,
    }
}

fn plan_error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

/// A SELECT of `items` over `target` and `others` where `selection` holds.
pub(super) fn select_over(
    items: Vec<SelectItem>,
    target: &TableWithJoins,
    others: &[TableWithJoins],
    selection: Option<Expr>,
    distinct: bool,
) -> Statement {
    // GlueSQL reads one FROM item: the others join the target (as `,` does: ON TRUE, the
    // predicates in WHERE, where the join planner finds them).
    let mut joined = target.clone();
    for other in others {
        joined.joins.push(Join {
            relation: other.relation.clone(),
            global: false,
            join_operator: JoinOperator::Inner(JoinConstraint::On(Expr::Value(SqlValue::Boolean(
                true,
            )))),
        });
        joined.joins.extend(other.joins.iter().cloned());
    }
    let mut select = plain_select(items, vec![joined]);
    select.distinct = distinct.then_some(Distinct::Distinct);
    select.selection = selection;
    Statement::Query(Box::new(plain_query(SetExpr::Select(Box::new(select)))))
}

/// `target.column`, by the name the target is read as.
pub(super) fn qualified(target: &TableWithJoins, table: &str, column: &str) -> Expr {
    let qualifier = match &target.relation {
        TableFactor::Table { alias: Some(a), .. } => a.name.clone(),
        _ => Ident::with_quote('"', table),
    };
    Expr::CompoundIdentifier(vec![qualifier, Ident::with_quote('"', column)])
}

impl Engine {
    /// The written table's name and primary key column; a table without one is refused,
    /// since its rows could not be named one by one.
    pub(super) fn target_key(
        &self,
        target: &TableWithJoins,
        what: &str,
    ) -> Result<(String, String), DbError> {
        let TableFactor::Table { name, .. } = &target.relation else {
            return Err(plan_error(format!("{what} writes a table, not a subquery")));
        };
        if !target.joins.is_empty() {
            return Err(plan_error(format!(
                "{what}: join the other tables in its FROM / USING list, not to the target"
            )));
        }
        let table = name.0.last().map(|i| i.value.clone()).unwrap_or_default();
        if self.store().table(&table).is_none() {
            return Err(DbError::new(
                ErrorCode::Execute,
                format!("table not found: {table}"),
            ));
        }
        match self.store().primary_key(&table).map(str::to_owned) {
            Some(key) => Ok((table, key)),
            None => Err(plan_error(format!(
                "{what} needs a target table with a PRIMARY KEY; {table} has none"
            ))),
        }
    }

    pub(super) fn run_joined_write(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        self.atomically(|engine| match statement {
            Statement::Update {
                table,
                assignments,
                from,
                selection,
                returning: None,
            } => engine.update_from(
                table,
                assignments,
                from.as_slice(),
                selection.as_ref(),
                params,
            ),
            Statement::Delete(delete) if delete.returning.is_none() => {
                if !delete.tables.is_empty()
                    || !delete.order_by.is_empty()
                    || delete.limit.is_some()
                {
                    return Err(plan_error(
                        "DELETE … USING takes one table after FROM, and no ORDER BY or LIMIT",
                    ));
                }
                let (FromTable::WithFromKeyword(targets) | FromTable::WithoutKeyword(targets)) =
                    &delete.from;
                let [target] = targets.as_slice() else {
                    return Err(plan_error("DELETE … USING deletes from one table"));
                };
                let using = delete.using.as_deref().unwrap_or_default();
                engine.delete_using(target, using, delete.selection.as_ref(), params)
            }
            _ => Err(plan_error(
                "internal: not an UPDATE … FROM or DELETE … USING",
            )),
        })
    }

    fn update_from(
        &mut self,
        target: &TableWithJoins,
        assignments: &[Assignment],
        from: &[TableWithJoins],
        selection: Option<&Expr>,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let what = if from.is_empty() {
            "UPDATE computed per row (a JSON operation, a correlated set operation)"
        } else {
            "UPDATE … FROM"
        };
        let (table, key) = self.target_key(target, what)?;
        let mut columns = Vec::with_capacity(assignments.len());
        let mut items = vec![SelectItem::UnnamedExpr(qualified(target, &table, &key))];
        for assignment in assignments {
            let AssignmentTarget::ColumnName(name) = &assignment.target else {
                return Err(plan_error("UPDATE … FROM sets columns one by one"));
            };
            let column = name.0.last().cloned().unwrap_or_else(|| Ident::new(""));
            columns.push(column);
            items.push(SelectItem::UnnamedExpr(assignment.value.clone()));
        }
        let select = select_over(items, target, from, selection.cloned(), false);
        let rows = self.execute(&select, params)?.rows;

        // Each target row once, with the values of the first row it joined (PostgreSQL takes
        // an unspecified one).
        let mut seen = HashSet::new();
        let mut updated = 0;
        let name = ObjectName(vec![Ident::with_quote('"', &table)]);
        for row in rows {
            let Some((key_value, values)) = row.split_first() else {
                continue;
            };
            if !seen.insert(format!("{key_value:?}")) {
                continue;
            }
            let mut bound = Vec::with_capacity(values.len() + 1);
            let assignments = columns
                .iter()
                .zip(values)
                .map(|(column, value)| Assignment {
                    target: AssignmentTarget::ColumnName(ObjectName(vec![column.clone()])),
                    value: bind(&mut bound, value.clone()),
                })
                .collect();
            let selection = Expr::BinaryOp {
                left: Box::new(Expr::Identifier(Ident::with_quote('"', &key))),
                op: BinaryOperator::Eq,
                right: Box::new(bind(&mut bound, key_value.clone())),
            };
            let update = Statement::Update {
                table: TableWithJoins {
                    relation: super::setops::plain_table(name.clone()),
                    joins: Vec::new(),
                },
                assignments,
                from: None,
                selection: Some(selection),
                returning: None,
            };
            updated += self.execute(&update, &bound)?.row_count;
        }
        Ok(QueryOutput::command("UPDATE", updated))
    }

    fn delete_using(
        &mut self,
        target: &TableWithJoins,
        using: &[TableWithJoins],
        selection: Option<&Expr>,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let what = if using.is_empty() {
            "DELETE computed per row (a JSON operation, a correlated set operation)"
        } else {
            "DELETE … USING"
        };
        let (table, key) = self.target_key(target, what)?;
        let items = vec![SelectItem::UnnamedExpr(qualified(target, &table, &key))];
        let select = select_over(items, target, using, selection.cloned(), true);
        let keys: Vec<Value> = self
            .execute(&select, params)?
            .rows
            .into_iter()
            .filter_map(|row| row.into_iter().next())
            .collect();
        let deleted = self.delete_by_key(&table, &key, keys)?;
        Ok(QueryOutput::command("DELETE", deleted))
    }

    /// Deletes the rows of `table` whose primary key `key` is one of `values`, by SQL (so
    /// foreign keys that reference them are checked); the rows deleted.
    pub(super) fn delete_by_key(
        &mut self,
        table: &str,
        key: &str,
        values: Vec<Value>,
    ) -> Result<usize, DbError> {
        if values.is_empty() {
            return Ok(0);
        }
        let mut bound = Vec::with_capacity(values.len());
        let list = values
            .into_iter()
            .map(|value| bind(&mut bound, value))
            .collect();
        let mut statement = super::parse_sql(&format!(
            "DELETE FROM {} WHERE {} IN (NULL)",
            Ident::with_quote('"', table),
            Ident::with_quote('"', key),
        ))?
        .pop()
        .ok_or_else(|| plan_error("internal: DELETE by key"))?;
        if let Statement::Delete(delete) = &mut statement {
            if let Some(Expr::InList { list: l, .. }) = delete.selection.as_mut() {
                *l = list;
            }
        }
        Ok(self.execute(&statement, &bound)?.row_count)
    }
}
