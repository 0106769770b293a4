//! Checks a change set from another replica against this store before it is applied: the
//! server's guard. Unknown tables, malformed schemas, rows of the wrong shape or type, keys that
//! are not the row's primary key, unique values that collide after the merge, and a CREATE
//! TABLE that contradicts an existing table are refused.

use {
    super::{is_reserved, MemoryStore, Row, OBJECTS_TABLE},
    crate::{
        guard,
        protocol::{ChangeSet, FunctionChange, SchemaChange},
        sql_text,
    },
    gluesql_core::{
        ast::{ColumnDef, Expr},
        data::{Key, Schema, Value},
        executor::evaluate_stateless,
        plan::ExprPlan,
    },
    std::collections::{BTreeMap, HashSet},
};

/// Why a change set from another replica was not taken (nothing of it was applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The check refused it: the reason is about the change set and may be shown its writer.
    Invalid(String),
    /// It passed the check and still failed to apply: a bug to log, not to show.
    Failed(String),
}

impl MemoryStore {
    /// What the server does with a pushed change set, as one step: checked against this
    /// replica, then applied all or nothing, so what the check accepts is exactly what applies.
    /// Returns the change set as accepted (what the log keeps) and its inverse.
    pub fn accept_remote(
        &mut self,
        change_set: ChangeSet,
    ) -> Result<(ChangeSet, ChangeSet), Refusal> {
        self.accept_remote_as(change_set, |accepted| Ok(accepted.clone()))
    }

    /// `accept_remote`, keeping of the accepted change set what `keep` makes of it (the server
    /// keeps its encoding, not a copy); a `keep` error refuses it before anything is applied.
    pub fn accept_remote_as<T>(
        &mut self,
        change_set: ChangeSet,
        keep: impl FnOnce(&ChangeSet) -> Result<T, String>,
    ) -> Result<(T, ChangeSet), Refusal> {
        let checked = self
            .check_change_set(change_set)
            .map_err(Refusal::Invalid)?;
        let kept = keep(&checked).map_err(Refusal::Invalid)?;
        let inverse = self
            .apply_change_set_with_inverse(checked)
            .map_err(|error| Refusal::Failed(error.to_string()))?;
        // Foreign keys hold over the whole replica only once it is applied: a parent deleted
        // by one writer and a child inserted by another offline meet here.
        if let Err(violation) = self.check_foreign_keys_applied(&inverse) {
            self.apply_change_set(inverse)
                .map_err(|error| Refusal::Failed(error.to_string()))?;
            return Err(Refusal::Invalid(violation.0));
        }
        Ok((kept, inverse))
    }

    /// Validates `change_set` and returns it ready to apply: a CREATE of a table that already
    /// exists with the same schema becomes a plain row merge (two replicas made it offline).
    pub fn check_change_set(&self, mut change_set: ChangeSet) -> Result<ChangeSet, String> {
        // The schema each table has after the changes seen so far (None: dropped).
        let mut schemas: BTreeMap<String, Option<Schema>> = BTreeMap::new();
        let mut recreated: HashSet<String> = HashSet::new();
        for change in &mut change_set.tables {
            let current = match schemas.get(&change.name) {
                Some(schema) => schema.clone(),
                None => self.tables.get(&change.name).map(|t| t.schema.clone()),
            };
            if let SchemaChange::Create { schema, .. } | SchemaChange::Alter(schema) =
                &change.schema
            {
                check_schema(&change.name, schema)?;
            }
            let after = match &change.schema {
                SchemaChange::Drop => None,
                SchemaChange::Create { schema, .. } => match &current {
                    Some(existing) if !recreated.contains(&change.name) => {
                        if existing.column_defs != schema.column_defs {
                            return Err(format!(
                                "DDL conflict: table {} already exists with a different schema",
                                change.name
                            ));
                        }
                        let schema = (**schema).clone();
                        change.schema = SchemaChange::Unchanged;
                        Some(schema)
                    }
                    _ => {
                        recreated.insert(change.name.clone());
                        Some((**schema).clone())
                    }
                },
                SchemaChange::Alter(schema) => {
                    if current.is_none() {
                        return Err(format!("unknown table: {}", change.name));
                    }
                    Some((**schema).clone())
                }
                SchemaChange::Unchanged => {
                    if current.is_none() {
                        // Applying it would fail after the changes before it took effect.
                        return Err(format!("unknown table: {}", change.name));
                    }
                    current
                }
            };
            match &after {
                None if !change.rows.is_empty() => {
                    return Err(format!("unknown table: {}", change.name));
                }
                None => {}
                Some(schema) => {
                    // Rows made before an ALTER their replica had not seen take the new shape.
                    let earlier: &[Vec<ColumnDef>] =
                        match (&change.schema, self.tables.get(&change.name)) {
                            (SchemaChange::Unchanged, Some(table))
                                if !recreated.contains(&change.name) =>
                            {
                                &table.earlier_columns
                            }
                            _ => &[],
                        };
                    for (_, row) in change.rows.iter_mut() {
                        if let Some(row) = row {
                            if let Some(reshaped) = reshape_from_earlier(schema, earlier, row) {
                                *row = reshaped;
                            }
                        }
                    }
                    if let (SchemaChange::Alter(_), Some(table)) =
                        (&change.schema, self.tables.get(&change.name))
                    {
                        reshape_unlisted_rows(schema, table, &mut change.rows);
                    }
                    for (key, row) in change.rows.iter() {
                        if let Some(row) = row {
                            check_row(schema, row)?;
                            check_key(schema, key, row)?;
                            if change.name == OBJECTS_TABLE {
                                check_object_row(row)?;
                            }
                        }
                    }
                    let existing = if recreated.contains(&change.name) {
                        None
                    } else {
                        self.tables.get(&change.name)
                    };
                    let by_sets = existing
                        .filter(|table| table.schema.column_defs == schema.column_defs)
                        .and_then(|_| self.check_unique_by_sets(schema, &change.rows));
                    match by_sets {
                        Some(checked) => checked?,
                        None => check_unique(schema, existing.map(|t| &t.rows), &change.rows)?,
                    }
                }
            }
            schemas.insert(change.name.clone(), after);
        }
        change_set.functions.iter().try_for_each(check_function)?;
        Ok(change_set)
    }
}

/// A row whose width is not the schema's, made under an earlier column list (newest tried
/// first): its values by column name, a new column's default (or NULL) for the rest.
fn reshape_from_earlier(schema: &Schema, earlier: &[Vec<ColumnDef>], row: &Row) -> Option<Row> {
    let width = schema.column_defs.as_ref()?.len();
    if row.len() == width {
        return None;
    }
    earlier
        .iter()
        .rev()
        .filter(|columns| columns.len() == row.len())
        .find_map(|columns| {
            let reshaped = reshape(schema, columns, row)?;
            check_row(schema, &reshaped).is_ok().then_some(reshaped)
        })
}

/// An ALTER from a replica rewrites the rows it knew; rows others added meanwhile are
/// rewritten here (from the columns the table has now), and travel with it, so every replica
/// has every row in the new shape.
fn reshape_unlisted_rows(
    schema: &Schema,
    table: &super::Table,
    rows: &mut Vec<(Key, Option<Row>)>,
) {
    let (Some(width), Some(columns)) = (
        schema.column_defs.as_ref().map(Vec::len),
        table.schema.column_defs.as_ref(),
    ) else {
        return;
    };
    let listed: HashSet<Key> = rows.iter().map(|(key, _)| key.clone()).collect();
    let mut added = Vec::new();
    for (key, row) in &table.rows {
        if row.len() != width && !listed.contains(key) {
            if let Some(reshaped) = reshape(schema, columns, row) {
                added.push((key.clone(), Some(reshaped)));
            }
        }
    }
    rows.extend(added);
}

/// `row`, laid out by `from`, in `schema`'s columns: by name, a missing one its default.
fn reshape(schema: &Schema, from: &[ColumnDef], row: &Row) -> Option<Row> {
    if from.len() != row.len() {
        return None;
    }
    schema
        .column_defs
        .as_ref()?
        .iter()
        .map(
            |column| match from.iter().position(|c| c.name == column.name) {
                Some(i) => row.get(i).cloned(),
                None => default_value(column),
            },
        )
        .collect()
}

pub(super) fn default_value(column: &ColumnDef) -> Option<Value> {
    match &column.default {
        None => column.nullable.then_some(Value::Null),
        // Evaluated as written only once the checks found that safe.
        Some(expr) => match guard::check_default(expr).ok()? {
            Some(value) => value.cast(&column.data_type).ok(),
            None => evaluate_stateless(None, &ExprPlan::from(expr.clone()))
                .ok()?
                .try_into_value(&column.data_type, column.nullable)
                .ok(),
        },
    }
}

/// A schema from another replica: named as its table, columns named once, one primary key.
fn check_schema(name: &str, schema: &Schema) -> Result<(), String> {
    if schema.table_name != name {
        return Err(format!(
            "table {name}: its schema names another table ({})",
            schema.table_name
        ));
    }
    let mut names = HashSet::new();
    for column in schema.column_defs.iter().flatten() {
        if column.name.is_empty() || !names.insert(column.name.as_str()) {
            return Err(format!(
                "table {name}: column name {:?} is empty or repeated",
                column.name
            ));
        }
    }
    let primary_keys = schema
        .column_defs
        .iter()
        .flatten()
        .filter(|c| c.unique.is_some_and(|u| u.is_primary))
        .count();
    if primary_keys > 1 {
        return Err(format!("table {name}: more than one primary key column"));
    }
    let mut indexes = HashSet::new();
    for index in &schema.indexes {
        if index.name.is_empty() || !indexes.insert(index.name.as_str()) {
            return Err(format!(
                "table {name}: index name {:?} is empty or repeated",
                index.name
            ));
        }
        // What CREATE INDEX makes: one of the table's columns, or an expression of them
        // (partial: with its predicate) that index_expr.rs accepts. Every replica evaluates it
        // for every row it writes, guarded.
        let fits = match (&index.expr, &schema.column_defs) {
            (Expr::Identifier(_), None) => true,
            (_, None) => false,
            (expr, Some(_)) => {
                let columns: Vec<String> = names.iter().map(|c| c.to_string()).collect();
                super::index_expr::check(expr, &columns).is_ok()
            }
        };
        if !fits {
            return Err(format!(
                "table {name}: index {:?} is not on its columns",
                index.name
            ));
        }
    }
    if is_reserved(name) && name != OBJECTS_TABLE {
        return Err(format!(
            "table {name}: names starting with __idbsql_ are reserved"
        ));
    }
    if let Some(engine) = &schema.engine {
        if engine.is_empty()
            || !engine
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "table {name}: ENGINE {engine:?} is not a plain name"
            ));
        }
    }
    for foreign_key in &schema.foreign_keys {
        if !names.contains(foreign_key.referencing_column_name.as_str())
            || foreign_key.name.is_empty()
            || foreign_key.referenced_table_name.is_empty()
            || foreign_key.referenced_column_name.is_empty()
        {
            return Err(format!(
                "table {name}: foreign key {:?} does not name its columns",
                foreign_key.name
            ));
        }
    }
    for column in schema.column_defs.iter().flatten() {
        check_column_default(name, column)?;
    }
    Ok(())
}

/// A default that passes the guards' checks and converts to its column's type.
fn check_column_default(table: &str, column: &ColumnDef) -> Result<(), String> {
    let Some(expr) = &column.default else {
        return Ok(());
    };
    let refused = |reason: String| format!("table {table}, column {}: {reason}", column.name);
    // What export() cannot write back, or would write as something else, is not accepted.
    sql_text::expr(expr).map_err(|e| refused(format!("DEFAULT: {e}")))?;
    if let Some(value) = guard::check_default(expr).map_err(|e| refused(e.to_string()))? {
        value
            .validate_null(column.nullable)
            .and_then(|()| match value {
                Value::Null => Ok(()),
                value => value.cast(&column.data_type).map(|_| ()),
            })
            .map_err(|e| refused(format!("DEFAULT does not fit the column: {e}")))?;
    }
    Ok(())
}

/// A function from another replica: stored under its own name, arguments named once.
fn check_function(change: &FunctionChange) -> Result<(), String> {
    let Some(function) = &change.function else {
        return Ok(());
    };
    if change.name.is_empty() || change.name != function.func_name.to_uppercase() {
        return Err(format!(
            "function {:?}: stored under another name ({:?})",
            function.func_name, change.name
        ));
    }
    let refused = |reason: String| format!("function {}: {reason}", function.func_name);
    let mut names = HashSet::new();
    for arg in &function.args {
        if arg.name.is_empty() || !names.insert(arg.name.as_str()) {
            return Err(refused(format!(
                "argument name {:?} is empty or repeated",
                arg.name
            )));
        }
        if let Some(default) = &arg.default {
            sql_text::expr(default).map_err(refused)?;
            guard::check_default(default).map_err(|e| refused(e.to_string()))?;
        }
    }
    sql_text::expr(&function.body).map_err(refused)?;
    Ok(())
}

/// A row of the objects table: a view, an index, a foreign key or a CHECK, its id made of its
/// kind and name, and a definition that is one CREATE (a constraint: ALTER TABLE … ADD)
/// statement of it (export() writes it; views run from it).
fn check_object_row(row: &Row) -> Result<(), String> {
    let text = |i: usize| match row.get(i) {
        Some(Value::Str(text)) => Some(text.as_str()),
        _ => None,
    };
    let (Some(id), Some(kind), Some(name), Some(definition)) = (text(0), text(1), text(3), text(4))
    else {
        return Err(format!(
            "{OBJECTS_TABLE}: a row without its id, kind, name or definition"
        ));
    };
    if !matches!(kind, "view" | "index" | "foreign_key" | "check") || id != format!("{kind}:{name}")
    {
        return Err(format!(
            "{OBJECTS_TABLE}: row {id:?} is not a view, an index, a foreign key or a check under its own id"
        ));
    }
    sql_text::object_definition(kind, name, text(2), definition)
        .map(|_| ())
        .map_err(|e| format!("{OBJECTS_TABLE}: {e}"))
}

/// The checks of `check_change_set` that need no state: every schema and function a change set
/// defines, and the range of every date and interval it stores. A replica runs them on what the server sends before applying it, so a server that
/// let a bad definition through cannot make it evaluate one.
pub fn check_definitions(change_set: &ChangeSet) -> Result<(), String> {
    for change in &change_set.tables {
        if let SchemaChange::Create { schema, .. } | SchemaChange::Alter(schema) = &change.schema {
            check_schema(&change.name, schema)?;
        }
        for row in change.rows.iter().filter_map(|(_, row)| row.as_ref()) {
            for value in row {
                guard::check_value(value)
                    .map_err(|error| format!("table {}: {error}", change.name))?;
            }
            if change.name == OBJECTS_TABLE {
                check_object_row(row)?;
            }
        }
    }
    change_set.functions.iter().try_for_each(check_function)
}

/// A row's key is its primary key value; a table without one has keys minted as UUIDs.
fn check_key(schema: &Schema, key: &Key, row: &Row) -> Result<(), String> {
    let primary = schema
        .column_defs
        .iter()
        .flatten()
        .position(|c| c.unique.is_some_and(|u| u.is_primary));
    let matches = match primary {
        Some(i) => row
            .get(i)
            .and_then(|value| Key::try_from(value).ok())
            .is_some_and(|own| own == *key),
        None => matches!(key, Key::Uuid(_)),
    };
    if matches {
        Ok(())
    } else {
        Err(format!(
            "table {}: a row's key does not match its primary key",
            schema.table_name
        ))
    }
}

fn check_row(schema: &Schema, row: &Row) -> Result<(), String> {
    let Some(columns) = &schema.column_defs else {
        return match row.as_slice() {
            [Value::Map(_)] => Ok(()),
            _ => Err(format!(
                "table {}: a schemaless row must be one map",
                schema.table_name
            )),
        };
    };
    if columns.len() != row.len() {
        return Err(format!(
            "table {}: row has {} values for {} columns",
            schema.table_name,
            row.len(),
            columns.len()
        ));
    }
    for (column, value) in columns.iter().zip(row) {
        guard::check_value(value).map_err(|error| {
            format!(
                "table {}, column {}: {error}",
                schema.table_name, column.name
            )
        })?;
        let result = value
            .validate_null(column.nullable)
            .and_then(|()| match value {
                Value::Null => Ok(()),
                value => value.validate_type(&column.data_type),
            });
        if let (Some(_), Value::Str(text)) = (
            crate::json::JsonKind::of_marker(column.comment.as_deref()),
            value,
        ) {
            crate::json::parse(text).map_err(|error| {
                format!(
                    "table {}, column {}: {error}",
                    schema.table_name, column.name
                )
            })?;
        }
        if let Err(error) = result {
            return Err(format!(
                "table {}, column {}: {error}",
                schema.table_name, column.name
            ));
        }
    }
    Ok(())
}

/// Unique (non-key) columns must stay unique once the change set's rows replace existing ones.
fn check_unique(
    schema: &Schema,
    existing: Option<&BTreeMap<Key, Row>>,
    rows: &[(Key, Option<Row>)],
) -> Result<(), String> {
    let Some(columns) = &schema.column_defs else {
        return Ok(());
    };
    let unique: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.unique.is_some_and(|u| !u.is_primary))
        .map(|(i, _)| i)
        .collect();
    if unique.is_empty() {
        return Ok(());
    }
    let changed: HashSet<&Key> = rows.iter().map(|(key, _)| key).collect();
    let survivors = existing
        .into_iter()
        .flat_map(|rows| rows.iter())
        .filter(|(key, _)| !changed.contains(key))
        .map(|(_, row)| row);
    let incoming = rows.iter().filter_map(|(_, row)| row.as_ref());
    let all: Vec<&Row> = survivors.chain(incoming).collect();
    for index in unique {
        let mut seen = HashSet::new();
        for row in &all {
            let Some(value) = row.get(index) else {
                continue;
            };
            if matches!(value, Value::Null) {
                continue;
            }
            let Ok(key) = Key::try_from(value) else {
                continue;
            };
            if !seen.insert(key) {
                return Err(format!(
                    "unique violation: table {}, column {}",
                    schema.table_name, columns[index].name
                ));
            }
        }
    }
    Ok(())
}
