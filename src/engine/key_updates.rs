//! `UPDATE … SET key = …` of a table's primary key, which GlueSQL 0.20 refuses: the new rows
//! come from one SELECT over the target (joined_writes.rs's), then the old rows are deleted and
//! the new ones inserted, and the store is told which key became which, so a foreign key sees
//! an update (its ON UPDATE action) and not a delete. Owns only that lowering.

use {
    super::{joined_writes, relation::bind, result::QueryOutput, Engine},
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        data::{Key, Value},
        sqlparser::ast::{AssignmentTarget, Ident, SelectItem, Statement, TableFactor},
    },
    std::collections::HashSet,
};

fn plan_error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

impl Engine {
    /// Whether `statement` is an UPDATE (without RETURNING) that sets its table's primary key.
    pub(super) fn assigns_primary_key(&self, statement: &Statement) -> bool {
        let Statement::Update {
            table,
            assignments,
            returning: None,
            ..
        } = statement
        else {
            return false;
        };
        let TableFactor::Table { name, .. } = &table.relation else {
            return false;
        };
        let Some(table) = name.0.last() else {
            return false;
        };
        // Every UPDATE asks: the key's name is read in place, the unique sets left alone.
        let Some(key) = self.store().primary_key(&table.value) else {
            return false;
        };
        assignments
            .iter()
            .any(|assignment| match &assignment.target {
                AssignmentTarget::ColumnName(column) => {
                    column.0.last().is_some_and(|c| c.value == key)
                }
                AssignmentTarget::Tuple(_) => false,
            })
    }

    /// Runs an UPDATE that sets the primary key: every matched row is replaced by its new row
    /// at its new key, as one step. A new key another row holds is a duplicate (checked after
    /// every old row is gone: the SQL standard's end-of-statement check, so `SET id = id + 1`
    /// succeeds where PostgreSQL's row-by-row check may refuse it).
    pub(super) fn update_primary_key(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let Statement::Update {
            table: target,
            assignments,
            from,
            selection,
            returning: None,
        } = statement
        else {
            return Err(plan_error("internal: not an UPDATE of a primary key"));
        };
        if self.has_objects() {
            self.refuse_update_of_always(statement)?;
        }
        let (table, key) = self.target_key(target, "UPDATE of a primary key")?;
        let columns: Vec<String> = self
            .store()
            .table(&table)
            .map(|t| t.column_names())
            .unwrap_or_default();
        let Some(key_position) = columns.iter().position(|c| *c == key) else {
            return Err(plan_error(format!("table {table} has no column {key}")));
        };
        let mut items = vec![SelectItem::UnnamedExpr(joined_writes::qualified(
            target, &table, &key,
        ))];
        for column in &columns {
            let assigned = assignments.iter().rev().find(|a| match &a.target {
                AssignmentTarget::ColumnName(name) => {
                    name.0.last().is_some_and(|c| c.value == *column)
                }
                AssignmentTarget::Tuple(_) => false,
            });
            items.push(SelectItem::UnnamedExpr(match assigned {
                Some(assignment) => assignment.value.clone(),
                None => joined_writes::qualified(target, &table, column),
            }));
        }
        let from = from.as_slice();
        let select = joined_writes::select_over(items, target, from, selection.clone(), false);
        self.atomically(|engine| {
            let rows = engine.execute(&select, params)?.rows;
            let mut seen = HashSet::new();
            let mut old_keys = Vec::new();
            let mut new_rows = Vec::new();
            for mut row in rows {
                let old = row.remove(0);
                if !seen.insert(format!("{old:?}")) {
                    continue;
                }
                old_keys.push(old);
                new_rows.push(row);
            }
            let moves: Vec<(Key, Key)> = old_keys
                .iter()
                .zip(&new_rows)
                .filter_map(|(old, row)| {
                    let new = row.get(key_position)?;
                    Some((Key::try_from(old).ok()?, Key::try_from(new).ok()?))
                })
                .collect();
            let count = old_keys.len();
            engine.delete_by_key(&table, &key, old_keys)?;
            engine.glue.storage.note_key_moves(&table, moves);
            engine.insert_moved_rows(&table, &columns, new_rows)?;
            Ok(QueryOutput::command("UPDATE", count))
        })
    }

    /// `INSERT INTO table (columns) VALUES …` of `rows`, bound as parameters.
    fn insert_moved_rows(
        &mut self,
        table: &str,
        columns: &[String],
        rows: Vec<Vec<Value>>,
    ) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut bound = Vec::new();
        let values: Vec<String> = rows
            .into_iter()
            .map(|row| {
                let placeholders: Vec<String> = row
                    .into_iter()
                    .map(|value| bind(&mut bound, value).to_string())
                    .collect();
                format!("({})", placeholders.join(", "))
            })
            .collect();
        let names: Vec<String> = columns
            .iter()
            .map(|c| Ident::with_quote('"', c).to_string())
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            Ident::with_quote('"', table),
            names.join(", "),
            values.join(", ")
        );
        let statement = super::parse_sql(&sql)?
            .pop()
            .ok_or_else(|| plan_error("internal: INSERT of updated rows"))?;
        self.execute(&statement, &bound).map(|_| ())
    }
}
