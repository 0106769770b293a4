//! Memory-resident tables implementing every GlueSQL storage trait, with transactions, secondary
//! indexes and one change set captured per commit. It never does I/O: `persist` does that.

mod alter_table;
mod function;
mod index;
mod index_data;
mod metadata;
mod planner;
mod row_key;
mod store_mut;
mod store_read;
mod transaction;
mod validate;

use {
    crate::protocol::{ChangeSet, FunctionChange, SchemaChange, TableChange},
    gluesql_core::{
        ast::IndexOperator,
        chrono::{NaiveDateTime, Utc},
        data::{CustomFunction as StructCustomFunction, Key, Schema, Value},
        error::Result,
    },
    index_data::IndexData,
    row_key::RowKeyMinter,
    std::{
        cell::{Cell, RefCell},
        collections::{BTreeMap, BTreeSet},
    },
};

pub type Row = Vec<Value>;

/// One table: its schema, rows ordered by key, and the secondary indexes its schema declares.
/// Indexes are rebuilt lazily after a schema change, because rows are rewritten to the new
/// shape only after the new schema is in place.
#[derive(Debug)]
pub struct Table {
    pub schema: Schema,
    pub created: NaiveDateTime,
    pub rows: BTreeMap<Key, Row>,
    indexes: RefCell<BTreeMap<String, IndexData>>,
    indexes_stale: Cell<bool>,
}

impl Table {
    fn new(schema: Schema, created: NaiveDateTime) -> Self {
        Table {
            schema,
            created,
            rows: BTreeMap::new(),
            indexes: RefCell::new(BTreeMap::new()),
            indexes_stale: Cell::new(true),
        }
    }

    fn column_names(&self) -> Vec<String> {
        self.schema
            .column_defs
            .as_ref()
            .map(|defs| defs.iter().map(|def| def.name.clone()).collect())
            .unwrap_or_default()
    }

    fn set_schema(&mut self, schema: Schema) -> Schema {
        self.indexes_stale.set(true);
        std::mem::replace(&mut self.schema, schema)
    }

    /// Recomputes every index from the rows if the schema changed since they were built.
    fn ensure_indexes(&self) -> Result<()> {
        if !self.indexes_stale.get() {
            return Ok(());
        }
        let columns = self.column_names();
        let mut indexes = BTreeMap::new();
        for schema_index in &self.schema.indexes {
            let mut data = IndexData::new(&schema_index.expr);
            for (key, row) in &self.rows {
                data.insert(&columns, key, row)?;
            }
            indexes.insert(schema_index.name.clone(), data);
        }
        *self.indexes.borrow_mut() = indexes;
        self.indexes_stale.set(false);
        Ok(())
    }

    fn index_lookup(
        &self,
        index_name: &str,
        asc: bool,
        cmp: Option<(&IndexOperator, Value)>,
    ) -> Result<Option<Vec<Key>>> {
        self.ensure_indexes()?;
        Ok(self
            .indexes
            .borrow()
            .get(index_name)
            .map(|index| index.lookup(asc, cmp)))
    }

    /// Writes or deletes one row, keeping fresh indexes in step; returns the previous row.
    /// A row whose index expression fails to evaluate is refused before anything changes.
    fn put_row(&mut self, key: Key, row: Option<Row>) -> Result<Option<Row>> {
        let maintain = !self.indexes_stale.get() && !self.indexes.borrow().is_empty();
        if !maintain {
            return Ok(match row {
                Some(row) => self.rows.insert(key, row),
                None => self.rows.remove(&key),
            });
        }
        let columns = self.column_names();
        let indexes = self.indexes.get_mut();
        if let Some(new_row) = &row {
            for data in indexes.values() {
                data.evaluate(&columns, new_row)?;
            }
        }
        let previous = match row {
            Some(row) => self.rows.insert(key.clone(), row),
            None => self.rows.remove(&key),
        };
        let current = self.rows.get(&key);
        for data in indexes.values_mut() {
            if let Some(old) = &previous {
                data.remove(&columns, &key, old)?;
            }
            if let Some(new_row) = current {
                data.insert(&columns, &key, new_row)?;
            }
        }
        Ok(previous)
    }
}

/// What a transaction did, in order, so that it can be undone exactly.
#[derive(Debug)]
enum Undo {
    Row {
        table: String,
        key: Key,
        previous: Option<Row>,
    },
    TableCreated {
        table: String,
    },
    TableDropped {
        table: Box<Table>,
    },
    SchemaReplaced {
        table: String,
        previous: Box<Schema>,
    },
    Function {
        name: String,
        previous: Option<StructCustomFunction>,
    },
}

#[derive(Debug, Default)]
struct OpenTransaction {
    autocommit: bool,
    undo: Vec<Undo>,
}

/// A committed transaction whose change set is not yet durable; kept so it can be reverted.
#[derive(Debug)]
struct UnpersistedCommit {
    undo: Vec<Undo>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: BTreeMap<String, Table>,
    functions: BTreeMap<String, StructCustomFunction>,
    tx: Option<OpenTransaction>,
    unpersisted: Vec<UnpersistedCommit>,
    produced: Vec<ChangeSet>,
    minter: RowKeyMinter,
}

/// Marks a point inside an open transaction that a failed statement can be rolled back to.
#[derive(Debug, Clone, Copy)]
pub struct Savepoint(usize);

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn in_explicit_transaction(&self) -> bool {
        self.tx.as_ref().is_some_and(|tx| !tx.autocommit)
    }

    pub fn savepoint(&self) -> Option<Savepoint> {
        self.tx.as_ref().map(|tx| Savepoint(tx.undo.len()))
    }

    /// Undoes what the open transaction did after `savepoint`: a failed statement changes nothing.
    pub fn rollback_to(&mut self, savepoint: Savepoint) {
        let Some(tx) = self.tx.as_mut() else { return };
        if tx.undo.len() <= savepoint.0 {
            return;
        }
        let tail = tx.undo.split_off(savepoint.0);
        self.apply_undo(tail);
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

    fn apply_undo(&mut self, undo: Vec<Undo>) {
        for step in undo.into_iter().rev() {
            match step {
                Undo::Row {
                    table,
                    key,
                    previous,
                } => {
                    if let Some(table) = self.tables.get_mut(&table) {
                        // Restoring a row that was valid before cannot fail index evaluation.
                        let _ = table.put_row(key, previous);
                    }
                }
                Undo::TableCreated { table } => {
                    self.tables.remove(&table);
                }
                Undo::TableDropped { table } => {
                    self.tables.insert(table.schema.table_name.clone(), *table);
                }
                Undo::SchemaReplaced { table, previous } => {
                    if let Some(table) = self.tables.get_mut(&table) {
                        table.set_schema(*previous);
                    }
                }
                Undo::Function { name, previous } => match previous {
                    Some(function) => {
                        self.functions.insert(name, function);
                    }
                    None => {
                        self.functions.remove(&name);
                    }
                },
            }
        }
    }

    fn record(&mut self, undo: Undo) {
        if let Some(tx) = self.tx.as_mut() {
            tx.undo.push(undo);
        }
    }

    fn now() -> NaiveDateTime {
        Utc::now().naive_utc()
    }

    fn write_row(&mut self, table_name: &str, key: Key, row: Option<Row>) -> Result<()> {
        let table = self
            .tables
            .get_mut(table_name)
            .ok_or_else(|| table_not_found(table_name))?;
        let previous = table.put_row(key.clone(), row)?;
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

    /// Builds the change set of a finished transaction from its undo log and the current state.
    fn change_set_of(&self, undo: &[Undo]) -> ChangeSet {
        let mut order: Vec<String> = Vec::new();
        let mut recreated = BTreeSet::new();
        let mut altered = BTreeSet::new();
        let mut touched: BTreeMap<String, BTreeSet<Key>> = BTreeMap::new();
        let mut functions = BTreeSet::new();
        let note = |order: &mut Vec<String>, name: &str| {
            if !order.iter().any(|seen| seen == name) {
                order.push(name.to_owned());
            }
        };
        for step in undo {
            match step {
                Undo::Row { table, key, .. } => {
                    note(&mut order, table);
                    touched
                        .entry(table.clone())
                        .or_default()
                        .insert(key.clone());
                }
                Undo::TableCreated { table } => {
                    note(&mut order, table);
                    recreated.insert(table.clone());
                }
                Undo::TableDropped { table } => {
                    let name = &table.schema.table_name;
                    note(&mut order, name);
                    recreated.insert(name.clone());
                    touched.remove(name);
                }
                Undo::SchemaReplaced { table, .. } => {
                    note(&mut order, table);
                    altered.insert(table.clone());
                }
                Undo::Function { name, .. } => {
                    functions.insert(name.clone());
                }
            }
        }
        let tables = order
            .into_iter()
            .map(|name| {
                let current = self.tables.get(&name);
                let schema = match current {
                    None => SchemaChange::Drop,
                    Some(table) if recreated.contains(&name) => SchemaChange::Create {
                        schema: Box::new(table.schema.clone()),
                        created: table.created,
                    },
                    Some(table) if altered.contains(&name) => {
                        SchemaChange::Alter(Box::new(table.schema.clone()))
                    }
                    Some(_) => SchemaChange::Unchanged,
                };
                let rows = match current {
                    None => Vec::new(),
                    Some(table) if recreated.contains(&name) => table
                        .rows
                        .iter()
                        .map(|(key, row)| (key.clone(), Some(row.clone())))
                        .collect(),
                    Some(table) => touched
                        .remove(&name)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|key| {
                            let row = table.rows.get(&key).cloned();
                            (key, row)
                        })
                        .collect(),
                };
                TableChange { name, schema, rows }
            })
            .collect();
        let functions = functions
            .into_iter()
            .map(|name| FunctionChange {
                function: self.functions.get(&name).cloned(),
                name,
            })
            .collect();
        ChangeSet { tables, functions }
    }

    /// Applies a change set produced elsewhere (log replay, checkpoint load, a remote replica).
    /// Not recorded in any transaction; validation of constraints is the producer's job.
    /// Takes the change set by value so that rows move into the tables without a copy.
    pub fn apply_change_set(&mut self, change_set: ChangeSet) -> Result<()> {
        for change in change_set.tables {
            self.apply_table_change(change)?;
        }
        for change in change_set.functions {
            self.apply_function_change(change);
        }
        Ok(())
    }

    /// Applies a change set and returns its inverse: the change set that, applied right after,
    /// restores the state before. Sync uses it to take pending local changes off and put them
    /// back on top of remote ones.
    pub fn apply_change_set_with_inverse(&mut self, change_set: ChangeSet) -> Result<ChangeSet> {
        let mut inverse_tables = Vec::with_capacity(change_set.tables.len());
        for change in change_set.tables {
            let previous = self.tables.get(&change.name);
            let whole_table = |table: &Table| TableChange {
                name: change.name.clone(),
                schema: SchemaChange::Create {
                    schema: Box::new(table.schema.clone()),
                    created: table.created,
                },
                rows: table
                    .rows
                    .iter()
                    .map(|(key, row)| (key.clone(), Some(row.clone())))
                    .collect(),
            };
            let inverse = match (&change.schema, previous) {
                (SchemaChange::Drop | SchemaChange::Create { .. }, Some(table)) => {
                    whole_table(table)
                }
                (SchemaChange::Create { .. }, None) => TableChange {
                    name: change.name.clone(),
                    schema: SchemaChange::Drop,
                    rows: Vec::new(),
                },
                (SchemaChange::Drop, None) => TableChange {
                    name: change.name.clone(),
                    schema: SchemaChange::Unchanged,
                    rows: Vec::new(),
                },
                (SchemaChange::Alter(_) | SchemaChange::Unchanged, Some(table)) => TableChange {
                    name: change.name.clone(),
                    schema: match change.schema {
                        SchemaChange::Alter(_) => {
                            SchemaChange::Alter(Box::new(table.schema.clone()))
                        }
                        _ => SchemaChange::Unchanged,
                    },
                    rows: change
                        .rows
                        .iter()
                        .map(|(key, _)| (key.clone(), table.rows.get(key).cloned()))
                        .collect(),
                },
                (SchemaChange::Alter(_) | SchemaChange::Unchanged, None) => {
                    return Err(table_not_found(&change.name));
                }
            };
            self.apply_table_change(change)?;
            inverse_tables.push(inverse);
        }
        inverse_tables.reverse();
        let mut inverse_functions = Vec::with_capacity(change_set.functions.len());
        for change in change_set.functions {
            inverse_functions.push(FunctionChange {
                function: self.functions.get(&change.name).cloned(),
                name: change.name.clone(),
            });
            self.apply_function_change(change);
        }
        inverse_functions.reverse();
        Ok(ChangeSet {
            tables: inverse_tables,
            functions: inverse_functions,
        })
    }

    fn apply_function_change(&mut self, change: FunctionChange) {
        match change.function {
            Some(function) => {
                self.functions.insert(change.name, function);
            }
            None => {
                self.functions.remove(&change.name);
            }
        }
    }

    fn apply_table_change(&mut self, change: TableChange) -> Result<()> {
        match change.schema {
            SchemaChange::Drop => {
                self.tables.remove(&change.name);
                return Ok(());
            }
            SchemaChange::Create { schema, created } => {
                let table = Table::new(*schema, created);
                self.tables.insert(change.name.clone(), table);
            }
            SchemaChange::Alter(schema) => {
                let table = self
                    .tables
                    .get_mut(&change.name)
                    .ok_or_else(|| table_not_found(&change.name))?;
                table.set_schema(*schema);
            }
            SchemaChange::Unchanged => {}
        }
        let table = self
            .tables
            .get_mut(&change.name)
            .ok_or_else(|| table_not_found(&change.name))?;
        // `append` merges the whole table, so it pays only when the change is large next to it.
        let bulk = change.rows.len() >= 1024 && change.rows.len() * 4 >= table.rows.len();
        if bulk && table.indexes_stale.get() && change.rows.iter().all(|(_, row)| row.is_some()) {
            // Loading (checkpoint or bulk insert): build the B-tree in bulk, index later.
            let mut rows: BTreeMap<Key, Row> = change
                .rows
                .into_iter()
                .filter_map(|(key, row)| row.map(|row| (key, row)))
                .collect();
            table.rows.append(&mut rows);
        } else {
            for (key, row) in change.rows {
                table.put_row(key, row)?;
            }
        }
        Ok(())
    }

    /// The whole database as change sets that rebuild it from empty, each holding at most
    /// about `rows_per_chunk` rows: the checkpoint format.
    pub fn snapshot(&self, rows_per_chunk: usize) -> Vec<ChangeSet> {
        let rows_per_chunk = rows_per_chunk.max(1);
        let mut chunks = vec![ChangeSet {
            tables: self
                .tables
                .values()
                .map(|table| TableChange {
                    name: table.schema.table_name.clone(),
                    schema: SchemaChange::Create {
                        schema: Box::new(table.schema.clone()),
                        created: table.created,
                    },
                    rows: Vec::new(),
                })
                .collect(),
            functions: self
                .functions
                .iter()
                .map(|(name, function)| FunctionChange {
                    name: name.clone(),
                    function: Some(function.clone()),
                })
                .collect(),
        }];
        let mut current = ChangeSet::default();
        let mut count = 0;
        for table in self.tables.values() {
            let mut change = TableChange {
                name: table.schema.table_name.clone(),
                schema: SchemaChange::Unchanged,
                rows: Vec::new(),
            };
            for (key, row) in &table.rows {
                change.rows.push((key.clone(), Some(row.clone())));
                count += 1;
                if count == rows_per_chunk {
                    let name = change.name.clone();
                    current.tables.push(std::mem::replace(
                        &mut change,
                        TableChange {
                            name,
                            schema: SchemaChange::Unchanged,
                            rows: Vec::new(),
                        },
                    ));
                    chunks.push(std::mem::take(&mut current));
                    count = 0;
                }
            }
            if !change.rows.is_empty() {
                current.tables.push(change);
            }
        }
        if !current.tables.is_empty() {
            chunks.push(current);
        }
        chunks
    }

    /// Every table, by name.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    /// Every function made with CREATE FUNCTION, by name.
    pub fn functions(&self) -> impl Iterator<Item = &StructCustomFunction> {
        self.functions.values()
    }

    pub fn table_exists(&self, name: &str) -> bool {
        self.tables.contains_key(name)
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
