//! INSERT … ON CONFLICT [(columns) | ON CONSTRAINT name] DO NOTHING / DO UPDATE SET … [WHERE …],
//! and SQLite's INSERT OR IGNORE / OR REPLACE: the INSERT's rows are computed (not stored), each
//! is matched against the table's keys, then the new ones are inserted and the conflicting ones
//! skipped, updated by key or replaced, all in one statement.

use {
    super::{
        names::{column_position, same_name},
        relation::bind,
        Engine, QueryOutput,
    },
    crate::{
        error::{DbError, ErrorCode},
        store::UniqueDef,
    },
    gluesql_core::{
        data::{Key, Value},
        sqlparser::ast::{
            BinaryOperator, ConflictTarget, DoUpdate, Expr, Ident, Insert, OnConflict,
            OnConflictAction, OnInsert, SetExpr, SqliteOnConflict, Statement, Values,
        },
    },
    std::{
        collections::{HashMap, HashSet},
        ops::ControlFlow,
    },
};

/// Whether `statement` is an INSERT with ON CONFLICT (or MySQL's ON DUPLICATE KEY, refused),
/// or SQLite's OR IGNORE / OR REPLACE.
pub fn is_upsert(statement: &Statement) -> bool {
    matches!(statement, Statement::Insert(insert) if insert.on.is_some() || insert.or.is_some())
}

/// What happens to a proposed row that meets a stored one.
#[derive(Clone, Copy)]
enum Action<'a> {
    Nothing,
    Update(&'a DoUpdate),
    /// SQLite's REPLACE: the stored rows it meets on any key are deleted, then it is inserted.
    Replace,
}

fn plan_error(message: impl Into<String>) -> DbError {
    DbError::new(ErrorCode::Plan, message)
}

/// One key ON CONFLICT can meet: the positions of its columns in the table's rows.
#[derive(Debug, Clone)]
struct ConflictKey {
    positions: Vec<usize>,
}

impl ConflictKey {
    /// The row's values of this key; `None` when one is NULL (NULLs never conflict).
    fn tuple(&self, row: &[Value]) -> Option<Vec<Key>> {
        crate::store::key_tuple(&self.positions, row)
    }
}

/// The stored rows by their values of one conflict key: each row's own key and values.
type StoredByKey = HashMap<Vec<Key>, (Key, Vec<Value>)>;

impl Engine {
    /// The keys `target` names in `table` (every key when it names none).
    fn conflict_keys_of(
        &self,
        table: &str,
        columns: &[String],
        target: Option<&ConflictTarget>,
    ) -> Result<Vec<ConflictKey>, DbError> {
        let (primary, uniques) = self.store().conflict_keys(table);
        let mut keys: Vec<(String, Vec<String>)> = Vec::new();
        if let Some(primary) = primary {
            keys.push((format!("{table}_pkey"), vec![primary]));
        }
        for UniqueDef {
            name,
            columns: key_columns,
            column,
            ..
        } in uniques
        {
            // PostgreSQL names a column's UNIQUE constraint `<table>_<column>_key`; a UNIQUE
            // index (or a table's UNIQUE constraint, kept as one) is named as it was created,
            // its object named `<table>.<index>`.
            let name = if column {
                format!("{table}_{}_key", key_columns.join("_"))
            } else {
                name.strip_prefix(&format!("{table}."))
                    .map_or(name.clone(), str::to_owned)
            };
            keys.push((name, key_columns));
        }
        let chosen: Vec<&(String, Vec<String>)> = match target {
            None => keys.iter().collect(),
            Some(ConflictTarget::Columns(written)) => {
                let wanted: Option<HashSet<usize>> = written
                    .iter()
                    .map(|ident| column_position(columns, &ident.value))
                    .collect();
                let found = wanted.and_then(|wanted| {
                    keys.iter().find(|(_, key_columns)| {
                        let have: Option<HashSet<usize>> = key_columns
                            .iter()
                            .map(|c| column_position(columns, c))
                            .collect();
                        have.is_some_and(|have| have == wanted)
                    })
                });
                match found {
                    Some(key) => vec![key],
                    None => {
                        return Err(plan_error(format!(
                            "ON CONFLICT ({}): {table} has no primary key, UNIQUE column or \
                             UNIQUE index on exactly these columns",
                            written
                                .iter()
                                .map(|i| i.value.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )))
                    }
                }
            }
            Some(ConflictTarget::OnConstraint(name)) => {
                let written = name.0.last().map(|i| i.value.clone()).unwrap_or_default();
                match keys.iter().find(|(name, _)| same_name(name, &written)) {
                    Some(key) => vec![key],
                    None => {
                        return Err(plan_error(format!(
                            "ON CONFLICT ON CONSTRAINT {written}: {table} has no such primary \
                             key, UNIQUE column or UNIQUE index"
                        )))
                    }
                }
            }
        };
        chosen
            .into_iter()
            .map(|(_, key_columns)| {
                key_columns
                    .iter()
                    .map(|c| column_position(columns, c))
                    .collect::<Option<Vec<usize>>>()
                    .map(|positions| ConflictKey { positions })
                    .ok_or_else(|| plan_error(format!("ON CONFLICT: a key of {table} is unknown")))
            })
            .collect()
    }

    /// Runs an INSERT … ON CONFLICT (see the module's comment): its inserts and updates stand
    /// or fall together.
    pub(super) fn run_upsert(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let Statement::Insert(insert) = statement else {
            return Err(plan_error("internal: not an INSERT"));
        };
        let on_conflict = match (&insert.on, insert.or) {
            (Some(OnInsert::OnConflict(on_conflict)), None) => on_conflict.clone(),
            (None, Some(SqliteOnConflict::Ignore)) => OnConflict {
                conflict_target: None,
                action: OnConflictAction::DoNothing,
            },
            (None, Some(SqliteOnConflict::Replace)) => OnConflict {
                conflict_target: None,
                // Stands for REPLACE (see `upsert`): no SET list is ever empty in SQL.
                action: OnConflictAction::DoUpdate(DoUpdate {
                    assignments: Vec::new(),
                    selection: None,
                }),
            },
            (Some(OnInsert::DuplicateKeyUpdate(_)), _) => {
                return Err(plan_error(
                    "ON DUPLICATE KEY UPDATE is not supported; use ON CONFLICT",
                ))
            }
            _ => return Err(plan_error("this INSERT's conflict clause is not supported")),
        };
        self.atomically(|engine| engine.upsert(insert, &on_conflict, params))
    }

    fn upsert(
        &mut self,
        insert: &Insert,
        on_conflict: &OnConflict,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let table = insert
            .table_name
            .0
            .last()
            .map(|i| i.value.clone())
            .unwrap_or_default();
        let Some(columns) = self.store().table(&table).map(|t| t.column_names()) else {
            return Err(DbError::new(
                ErrorCode::Execute,
                format!("table not found: {table}"),
            ));
        };
        if columns.is_empty() {
            return Err(plan_error(format!(
                "ON CONFLICT needs a table with declared columns; {table} has none"
            )));
        }
        let action = match &on_conflict.action {
            OnConflictAction::DoNothing => Action::Nothing,
            OnConflictAction::DoUpdate(update) if update.assignments.is_empty() => Action::Replace,
            OnConflictAction::DoUpdate(update) => {
                if on_conflict.conflict_target.is_none() {
                    return Err(plan_error(
                        "ON CONFLICT DO UPDATE needs the columns or constraint it is about, \
                         e.g. ON CONFLICT (id)",
                    ));
                }
                Action::Update(update)
            }
        };
        let keys = self.conflict_keys_of(&table, &columns, on_conflict.conflict_target.as_ref())?;

        // The rows the INSERT would store, computed by running it with its writes captured.
        let mut probe = insert.clone();
        probe.on = None;
        probe.or = None;
        probe.returning = None;
        probe.table_alias = None;
        self.glue.storage.capture_inserts(&table);
        let ran = self.execute(&Statement::Insert(probe), params);
        let proposed = self.glue.storage.take_captured();
        ran?;

        // Each stored row by its values of each key (one pass over the table).
        let mut stored: Vec<StoredByKey> = vec![HashMap::new(); keys.len()];
        if let Some(t) = self.store().table(&table) {
            for (row_key, row) in &t.rows {
                for (key, index) in keys.iter().zip(stored.iter_mut()) {
                    if let Some(tuple) = key.tuple(row) {
                        index.insert(tuple, (row_key.clone(), row.clone()));
                    }
                }
            }
        }
        if let Action::Replace = action {
            return self.replace(insert, &table, &keys, stored, proposed, params);
        }
        let updating = match action {
            Action::Update(update) => Some(update),
            _ => None,
        };
        let mut inserting: Vec<Vec<Value>> = Vec::new();
        let mut inserted: Vec<HashSet<Vec<Key>>> = vec![HashSet::new(); keys.len()];
        let mut updating_rows: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
        let mut updated: HashSet<Vec<Key>> = HashSet::new();
        for row in proposed {
            let tuples: Vec<Option<Vec<Key>>> = keys.iter().map(|k| k.tuple(&row)).collect();
            let existing = tuples
                .iter()
                .zip(&stored)
                .find_map(|(tuple, index)| tuple.as_ref().and_then(|t| index.get(t)))
                .map(|(_, row)| row);
            let repeats = tuples
                .iter()
                .zip(&inserted)
                .any(|(tuple, seen)| tuple.as_ref().is_some_and(|t| seen.contains(t)));
            match (existing, updating) {
                (Some(_), None) => continue,
                (Some(existing), Some(_)) => {
                    let identity = keys[0].tuple(existing).unwrap_or_default();
                    if !updated.insert(identity) {
                        return Err(twice());
                    }
                    updating_rows.push((existing.clone(), row));
                }
                (None, _) if repeats => {
                    if updating.is_some() {
                        return Err(twice());
                    }
                }
                (None, _) => {
                    for (tuple, seen) in tuples.into_iter().zip(inserted.iter_mut()) {
                        if let Some(tuple) = tuple {
                            seen.insert(tuple);
                        }
                    }
                    inserting.push(row);
                }
            }
        }

        let mut affected = self.insert_rows(insert, inserting, params)?;
        if let Some(update) = updating {
            let key = &keys[0];
            for (existing, row) in updating_rows {
                let (statement, values) = self.update_for(
                    insert, &table, &columns, update, key, &existing, &row, params,
                )?;
                affected += self.execute(&statement, &values)?.row_count;
            }
        }
        Ok(QueryOutput::command("INSERT", affected))
    }

    /// Stores `rows` (whole rows, as captured) by one INSERT; the rows it stored.
    fn insert_rows(
        &mut self,
        insert: &Insert,
        rows: Vec<Vec<Value>>,
        params: &[Value],
    ) -> Result<usize, DbError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut values = params.to_vec();
        let rows = rows
            .into_iter()
            .map(|row| row.into_iter().map(|v| bind(&mut values, v)).collect())
            .collect();
        let mut write = insert.clone();
        write.on = None;
        write.or = None;
        write.returning = None;
        write.table_alias = None;
        write.columns = Vec::new();
        write.source = Some(Box::new(super::setops::plain_query(SetExpr::Values(
            Values {
                explicit_row: false,
                rows,
            },
        ))));
        Ok(self.execute(&Statement::Insert(write), &values)?.row_count)
    }

    /// SQLite's REPLACE: each proposed row deletes the stored rows it meets on any key (and a
    /// row proposed before it that it meets), then the rows left are inserted.
    fn replace(
        &mut self,
        insert: &Insert,
        table: &str,
        keys: &[ConflictKey],
        stored: Vec<StoredByKey>,
        proposed: Vec<Vec<Value>>,
        params: &[Value],
    ) -> Result<QueryOutput, DbError> {
        let mut doomed: Vec<Key> = Vec::new();
        let mut kept: Vec<Option<Vec<Value>>> = Vec::new();
        let mut proposed_at: Vec<HashMap<Vec<Key>, usize>> = vec![HashMap::new(); keys.len()];
        for row in proposed {
            let tuples: Vec<Option<Vec<Key>>> = keys.iter().map(|k| k.tuple(&row)).collect();
            for (i, tuple) in tuples.iter().enumerate() {
                let Some(tuple) = tuple else { continue };
                if let Some((row_key, _)) = stored[i].get(tuple) {
                    if !doomed.contains(row_key) {
                        doomed.push(row_key.clone());
                    }
                }
                if let Some(&earlier) = proposed_at[i].get(tuple) {
                    kept[earlier] = None;
                }
            }
            for (tuple, at) in tuples.into_iter().zip(proposed_at.iter_mut()) {
                if let Some(tuple) = tuple {
                    at.insert(tuple, kept.len());
                }
            }
            kept.push(Some(row));
        }
        if !doomed.is_empty() {
            self.delete_rows(table, doomed)?;
        }
        let inserted = self.insert_rows(insert, kept.into_iter().flatten().collect(), params)?;
        Ok(QueryOutput::command("INSERT", inserted))
    }

    /// Deletes stored rows by their keys: by SQL on the primary key, so foreign keys that
    /// reference them are checked; a table without one is never referenced, and goes by store.
    fn delete_rows(&mut self, table: &str, doomed: Vec<Key>) -> Result<(), DbError> {
        let (primary, _) = self.store().conflict_keys(table);
        let Some(primary) = primary else {
            use gluesql_core::store::StoreMut;
            return Ok(self.glue.storage.delete_data(table, doomed)?);
        };
        let Some(stored) = self.store().table(table) else {
            return Ok(());
        };
        let at = column_position(&stored.column_names(), &primary);
        let rows: Vec<Value> = doomed
            .iter()
            .filter_map(|key| stored.rows.get(key)?.get(at?).cloned())
            .collect();
        self.delete_by_key(table, &primary, rows)?;
        Ok(())
    }

    /// `UPDATE t [AS alias] SET … WHERE <key> = <existing row's key> [AND …]`, `excluded.c`
    /// bound to the proposed row's values.
    #[allow(clippy::too_many_arguments)]
    fn update_for(
        &mut self,
        insert: &Insert,
        table: &str,
        columns: &[String],
        update: &DoUpdate,
        key: &ConflictKey,
        existing: &[Value],
        proposed: &[Value],
        params: &[Value],
    ) -> Result<(Statement, Vec<Value>), DbError> {
        let alias = insert
            .table_alias
            .as_ref()
            .map(|a| format!(" AS {a}"))
            .unwrap_or_default();
        let template = format!("UPDATE {}{alias} SET x = NULL", insert.table_name);
        let mut statement = match super::parse_sql(&template)?.pop() {
            Some(statement @ Statement::Update { .. }) => statement,
            _ => return Err(plan_error("internal: ON CONFLICT's UPDATE did not parse")),
        };
        let mut values = params.to_vec();
        let Statement::Update {
            assignments,
            selection,
            ..
        } = &mut statement
        else {
            return Err(plan_error("internal: ON CONFLICT's UPDATE"));
        };
        *assignments = update.assignments.clone();
        let mut condition: Option<Expr> = None;
        for &i in &key.positions {
            let equal = Expr::BinaryOp {
                left: Box::new(Expr::Identifier(Ident::with_quote('"', &columns[i]))),
                op: BinaryOperator::Eq,
                right: Box::new(bind(&mut values, existing[i].clone())),
            };
            condition = Some(match condition {
                None => equal,
                Some(before) => and(before, equal),
            });
        }
        if let Some(filter) = &update.selection {
            let filter = Expr::Nested(Box::new(filter.clone()));
            condition = Some(match condition {
                None => filter,
                Some(before) => and(before, filter),
            });
        }
        *selection = condition;
        // `excluded.c`: the value the INSERT proposed for c.
        let mut unknown = None;
        let _ = super::visit::exprs_mut(&mut statement, |expr| {
            if let Expr::CompoundIdentifier(parts) = expr {
                if let [qualifier, column] = parts.as_slice() {
                    if same_name(&qualifier.value, "excluded") {
                        match column_position(columns, &column.value) {
                            Some(i) => *expr = bind(&mut values, proposed[i].clone()),
                            None => unknown = Some(column.value.clone()),
                        }
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
        if let Some(column) = unknown {
            return Err(DbError::new(
                ErrorCode::Execute,
                format!("excluded.{column}: {table} has no such column"),
            ));
        }
        Ok((statement, values))
    }
}

fn and(left: Expr, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(right),
    }
}

fn twice() -> DbError {
    DbError::new(
        ErrorCode::Constraint,
        "ON CONFLICT DO UPDATE command cannot affect row a second time: two rows of the INSERT \
         have the same key",
    )
}
