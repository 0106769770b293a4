//! Memory-resident tables implementing every GlueSQL storage trait, with transactions, secondary
//! indexes and one change set captured per commit. It never does I/O: `persist` does that.

mod alter_table;
mod capture;
mod change_set;
mod checks;
mod foreign_keys;
mod function;
mod functions;
mod index;
mod index_data;
pub mod index_expr;
mod metadata;
mod object_defs;
mod pages;
mod partial_indexes;
mod planner;
mod read_columns;
mod row_key;
mod savepoints;
mod scan_hint;
mod store_mut;
mod store_read;
mod table;
mod transaction;
mod undo;
mod unique;
mod unique_check;
mod validate;

pub use {
    checks::CheckDef,
    foreign_keys::{FkAction, ForeignKeyDef, ForeignKeyViolation},
    pages::{FoldRequest, LoadedPage, PageFold, Staged, CATALOG_PAGE},
    savepoints::{Savepoint, SavepointError, Written},
    table::Table,
    unique::{is_reserved, key_tuple, UniqueDef, OBJECTS_TABLE},
    validate::{check_definitions, Refusal},
};

use {
    crate::protocol::ChangeSet,
    gluesql_core::{
        chrono::{NaiveDateTime, Utc},
        data::{CustomFunction as StructCustomFunction, Key, Schema, Value},
        error::Result,
    },
    row_key::RowKeyMinter,
    std::{
        cell::{Cell, RefCell},
        collections::BTreeMap,
    },
    undo::{OpenTransaction, Undo, UnpersistedCommit},
};

pub type Row = Vec<Value>;

/// A JSON / JSONB column holds JSON text (a jsonb one in its normal form): whatever writes a
/// row — a statement, an import, another replica's change — is checked here.
fn check_json(columns: &[gluesql_core::ast::ColumnDef], row: &mut Row) -> Result<()> {
    for (column, value) in columns.iter().zip(row.iter_mut()) {
        let Some(kind) = crate::json::JsonKind::of_marker(column.comment.as_deref()) else {
            continue;
        };
        let refused = |message: String| {
            gluesql_core::error::Error::StorageMsg(format!("{message} (column {})", column.name))
        };
        match value {
            Value::Null => {}
            Value::Str(text) => {
                let node = crate::json::parse(text).map_err(refused)?;
                if kind == crate::json::JsonKind::Jsonb {
                    let normal = node.jsonb(text);
                    if normal != *text {
                        *text = normal;
                    }
                }
            }
            other => {
                return Err(refused(format!(
                    "{}: a {} value is not JSON text",
                    crate::json::INVALID,
                    other.get_type().map_or_else(String::new, |t| t.to_string())
                )))
            }
        }
    }
    Ok(())
}

/// See `MemoryStore::column_kinds`.
#[derive(Clone, Copy, Default, Debug)]
pub struct ColumnKinds {
    pub narrow_ints: bool,
    pub decimals: bool,
    /// A JSON / JSONB column (crate::json): comparisons may meet JSON values.
    pub json: bool,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: BTreeMap<String, Table>,
    functions: functions::Functions,
    tx: Option<OpenTransaction>,
    unpersisted: Vec<UnpersistedCommit>,
    produced: Vec<ChangeSet>,
    minter: RowKeyMinter,
    /// Unique indexes per table, read from the objects table; `None` until read again.
    unique_defs: RefCell<Option<BTreeMap<String, Vec<UniqueDef>>>>,
    /// Foreign keys, read from the objects table; read again once it changed.
    foreign_defs: RefCell<object_defs::ObjectDefs<ForeignKeyDef>>,
    /// CHECK constraints, likewise.
    check_defs: RefCell<object_defs::ObjectDefs<CheckDef>>,
    /// Rows handed to GlueSQL by scans, key lookups and index reads: tests use it to show a
    /// statement took the key or index path.
    rows_read: Cell<u64>,
    /// The rows the next scan of one table may be limited to (see scan_hint).
    scan_hint: RefCell<Option<scan_hint::ScanHint>>,
    /// The columns the running SELECT reads of its one table (see read_columns).
    read_columns: RefCell<Option<read_columns::ReadColumns>>,
    /// The running INSERT/UPDATE whose UNIQUE validation scan the sets answer (see unique_check).
    unique_check: RefCell<Option<unique_check::UniqueCheck>>,
    /// An INSERT whose rows are captured, not stored (see capture).
    capture: Option<capture::Capture>,
    /// Rows the running statement moved to a new primary key (table, old key, new key): the
    /// foreign keys read such a delete and insert as an update (engine/key_updates.rs).
    key_moves: RefCell<Vec<(String, Key, Key)>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn in_explicit_transaction(&self) -> bool {
        self.tx.as_ref().is_some_and(|tx| !tx.autocommit)
    }

    /// Change sets committed since the last call, in commit order, each awaiting persistence.
    pub fn take_change_sets(&mut self) -> Vec<ChangeSet> {
        std::mem::take(&mut self.produced)
    }

    /// The change sets taken are durable: their undo information can go.
    pub fn confirm_persisted(&mut self) {
        self.unpersisted.clear();
    }

    /// Persisting failed: return memory to the state before the unpersisted commits.
    pub fn revert_unpersisted(&mut self) {
        self.produced.clear();
        while let Some(commit) = self.unpersisted.pop() {
            self.apply_undo(commit.undo);
        }
    }

    fn now() -> NaiveDateTime {
        Utc::now().naive_utc()
    }

    fn write_row(&mut self, table_name: &str, key: Key, mut row: Option<Row>) -> Result<()> {
        if let Some(row) = &row {
            for value in row {
                crate::guard::check_value(value).map_err(gluesql_core::error::Error::StorageMsg)?;
            }
        }
        let defs = self.check_defs(table_name);
        let table = self
            .tables
            .get_mut(table_name)
            .ok_or_else(|| table_not_found(table_name))?;
        if let (Some(row), Some(columns)) = (row.as_mut(), table.schema.column_defs.as_ref()) {
            check_json(columns, row)?;
        }
        if let (false, Some(row)) = (defs.is_empty(), &row) {
            table.check_unique(&defs, &key, row)?;
        }
        let previous = table.put_row(key.clone(), row)?;
        self.objects_changed(table_name);
        self.record(Undo::Row {
            table: table_name.to_owned(),
            key,
            previous,
        });
        Ok(())
    }

    fn replace_schema(&mut self, schema: Schema) -> Result<()> {
        let name = schema.table_name.clone();
        let table = self
            .tables
            .get_mut(&name)
            .ok_or_else(|| table_not_found(&name))?;
        let previous = table.set_schema(schema);
        self.record(Undo::SchemaReplaced {
            table: name,
            previous: Box::new(previous),
        });
        Ok(())
    }

    /// Drops every table and function, outside any transaction and without a change set:
    /// a synced replica whose server lost what it had confirmed starts again from the
    /// server's log (whose reset the journal writes as a whole new checkpoint).
    pub fn clear_for_reset(&mut self) {
        self.tables.clear();
        self.functions.clear();
        *self.unique_defs.borrow_mut() = None;
        self.foreign_defs.borrow_mut().mark_stale();
        self.check_defs.borrow_mut().mark_stale();
        self.clear_scan_hint();
        self.clear_read_columns();
    }

    /// A store of one table holding `rows` in this order, for reading them again (RETURNING's
    /// expressions). The rows come from a store already: nothing is checked, undone or paged.
    pub fn of_rows(schema: Schema, rows: Vec<Row>) -> Self {
        let mut store = Self::new();
        let mut table = Table::new(schema, Self::now());
        // Keys in written order; minting would cost a clock read and random bits per row.
        table.rows = (0i64..).map(Key::I64).zip(rows).collect();
        store.tables.insert(table.schema.table_name.clone(), table);
        store
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Every table, by name.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    /// Every function made with CREATE FUNCTION, by name.
    pub fn functions(&self) -> impl Iterator<Item = &StructCustomFunction> {
        self.functions.values()
    }

    /// Rows read so far (see the field).
    pub fn rows_read(&self) -> u64 {
        self.rows_read.get()
    }

    fn count_read(&self) {
        self.rows_read.set(self.rows_read.get() + 1);
    }

    pub fn table_exists(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    /// Which number types the tables' columns use that change how literals compare with
    /// them (see engine::numeric): an integer type narrower than INT (INT8 … INT32, UINT8 …
    /// UINT64), whose range a whole literal can miss, and DECIMAL, which GlueSQL never finds
    /// equal to a literal; and whether any column holds JSON (engine::json_placement). One
    /// pass over the columns, asked once per statement.
    pub fn column_kinds(&self) -> ColumnKinds {
        use gluesql_core::ast::DataType;
        let mut found = ColumnKinds::default();
        for column in self
            .tables
            .values()
            .flat_map(|table| table.schema.column_defs.iter().flatten())
        {
            match column.data_type {
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Uint8
                | DataType::Uint16
                | DataType::Uint32
                | DataType::Uint64 => found.narrow_ints = true,
                DataType::Decimal => found.decimals = true,
                _ => {}
            }
            if crate::json::JsonKind::of_marker(column.comment.as_deref()).is_some() {
                found.json = true;
            }
        }
        found
    }

    pub fn row_count(&self) -> usize {
        self.tables.values().map(|table| table.rows.len()).sum()
    }
}

fn table_not_found(name: &str) -> gluesql_core::error::Error {
    gluesql_core::error::Error::StorageMsg(format!("table not found: {name}"))
}

#[cfg(test)]
mod tests;
