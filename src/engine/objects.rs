//! Schema objects GlueSQL has no place for (views, and index options it lacks) kept as rows of
//! one hidden table, so transactions, persistence, export and sync carry them like any data.
//! Reads and writes those rows; knows nothing of what a definition means.

use {
    super::Engine,
    crate::error::{DbError, ErrorCode},
    gluesql_core::{
        data::{Key, Value},
        store::{Store, Transaction},
    },
};

/// The hidden table (its name starts with `__idbsql_`, which user tables may not use).
pub use crate::store::{is_reserved, OBJECTS_TABLE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    View,
    Index,
    /// A SERIAL or IDENTITY column's sequence (generated_keys.rs).
    Sequence,
    /// A foreign key (foreign_keys.rs), named `table.constraint`.
    ForeignKey,
    /// A CHECK constraint (checks.rs), named `table.constraint`.
    Check,
}

impl ObjectKind {
    fn as_str(self) -> &'static str {
        match self {
            ObjectKind::View => "view",
            ObjectKind::Index => "index",
            ObjectKind::Sequence => "sequence",
            ObjectKind::ForeignKey => "foreign_key",
            ObjectKind::Check => "check",
        }
    }
}

/// One stored object: its name, the table it belongs to (an index's), and the SQL that
/// defines it; an index also lists its columns and whether it is UNIQUE (the store reads these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub kind: ObjectKind,
    pub name: String,
    pub table: Option<String>,
    pub definition: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

fn object_of(kind: ObjectKind, values: &[Value]) -> Option<Object> {
    let [Value::Str(_), Value::Str(k), table, Value::Str(name), Value::Str(definition), columns, unique] =
        values
    else {
        return None;
    };
    (k == kind.as_str()).then(|| Object {
        kind,
        name: name.clone(),
        table: match table {
            Value::Str(t) => Some(t.clone()),
            _ => None,
        },
        definition: definition.clone(),
        columns: match columns {
            Value::List(items) => items.iter().map(String::from).collect(),
            _ => Vec::new(),
        },
        unique: matches!(unique, Value::Bool(true)),
    })
}

fn id(kind: ObjectKind, name: &str) -> String {
    format!("{}:{name}", kind.as_str())
}

impl Engine {
    /// Every stored object of `kind`, in name order.
    pub fn objects(&self, kind: ObjectKind) -> Vec<Object> {
        let Ok(rows) = self.glue.storage.scan_data(OBJECTS_TABLE) else {
            return Vec::new();
        };
        rows.filter_map(|row| object_of(kind, &row.ok()?.1))
            .collect()
    }

    pub fn object(&self, kind: ObjectKind, name: &str) -> Option<Object> {
        let key = Key::Str(id(kind, name));
        let values = self.glue.storage.fetch_data(OBJECTS_TABLE, &key).ok()??;
        object_of(kind, &values)
    }

    /// Whether any object is stored at all: most databases have none, and then nothing
    /// needs looking up.
    pub fn has_objects(&self) -> bool {
        self.glue.storage.table_exists(OBJECTS_TABLE)
    }

    /// Stores `object`, creating the hidden table on first use. Runs inside the caller's
    /// transaction (see `Engine::atomically`).
    pub(super) fn put_object(&mut self, object: &Object) -> Result<(), DbError> {
        if !self.has_objects() {
            self.execute_internal(
                &format!(
                    "CREATE TABLE {OBJECTS_TABLE} (id TEXT PRIMARY KEY, kind TEXT NOT NULL, \
                     target TEXT NULL, name TEXT NOT NULL, definition TEXT NOT NULL, \
                     columns LIST NULL, is_unique BOOLEAN NULL)"
                ),
                &[],
            )?;
        }
        self.execute_internal(
            &format!("INSERT INTO {OBJECTS_TABLE} VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                Value::Str(id(object.kind, &object.name)),
                Value::Str(object.kind.as_str().to_owned()),
                object.table.clone().map_or(Value::Null, Value::Str),
                Value::Str(object.name.clone()),
                Value::Str(object.definition.clone()),
                Value::List(object.columns.iter().cloned().map(Value::Str).collect()),
                Value::Bool(object.unique),
            ],
        )
        .map(|_| ())
    }

    /// Rewrites a stored object's definition (a sequence's last value).
    pub(super) fn update_object_definition(
        &mut self,
        kind: ObjectKind,
        name: &str,
        definition: &str,
    ) -> Result<(), DbError> {
        self.execute_internal(
            &format!("UPDATE {OBJECTS_TABLE} SET definition = $1 WHERE id = $2"),
            &[
                Value::Str(definition.to_owned()),
                Value::Str(id(kind, name)),
            ],
        )
        .map(|_| ())
    }

    pub(super) fn delete_object(&mut self, kind: ObjectKind, name: &str) -> Result<(), DbError> {
        if !self.has_objects() {
            return Ok(());
        }
        self.execute_internal(
            &format!("DELETE FROM {OBJECTS_TABLE} WHERE id = $1"),
            &[Value::Str(id(kind, name))],
        )
        .map(|_| ())
    }

    /// Runs `work` as one transaction: joined to the caller's explicit transaction if one is
    /// open, else its own, committed if `work` succeeds and rolled back if it fails.
    pub(super) fn atomically<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        if self.in_transaction() {
            let savepoint = self.glue.storage.savepoint();
            let result = work(self);
            if result.is_err() {
                if let Some(savepoint) = savepoint {
                    self.glue.storage.rollback_to(savepoint);
                }
            }
            return result;
        }
        // The store's own BEGIN and COMMIT, as GlueSQL runs them, without a statement each.
        self.glue.storage.begin(false)?;
        match work(self) {
            Ok(value) => {
                self.glue.storage.commit()?;
                Ok(value)
            }
            Err(error) => {
                self.rollback_open_transaction();
                Err(error)
            }
        }
    }
}

/// A statement naming an idbsql table is refused: those tables are not the user's.
pub fn refuse_reserved(name: &str) -> Result<(), DbError> {
    if is_reserved(name) {
        return Err(DbError::new(
            ErrorCode::Execute,
            format!("table names starting with __idbsql_ are reserved: {name}"),
        ));
    }
    Ok(())
}
