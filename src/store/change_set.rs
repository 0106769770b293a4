//! Change sets in and out of the store: the one a commit produced (from its undo log), applying
//! one made elsewhere (replay, checkpoint, a remote replica) with or without its inverse, and the
//! whole database as change sets (a checkpoint).

use {
    super::{table_not_found, MemoryStore, Row, Table, Undo},
    crate::protocol::{ChangeSet, FunctionChange, SchemaChange, TableChange},
    gluesql_core::{data::Key, error::Result},
    std::collections::{BTreeMap, BTreeSet},
};

impl MemoryStore {
    /// Builds the change set of a finished transaction from its undo log and the current state.
    pub(super) fn change_set_of(&self, undo: &[Undo]) -> ChangeSet {
        let mut order: Vec<String> = Vec::new();
        let mut recreated = BTreeSet::new();
        let mut altered = BTreeSet::new();
        // Keys per table as written, sorted and deduplicated once at the end: a commit of
        // 10k rows paid for 10k sorted-set insertions here (W1).
        let mut touched: BTreeMap<String, Vec<Key>> = BTreeMap::new();
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
                    touched.entry(table.clone()).or_default().push(key.clone());
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
                    Some(table) => sorted_unique(touched.remove(&name).unwrap_or_default())
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
    /// back on top of remote ones. All or nothing: when a part fails, what was applied of it is
    /// taken back off before the error returns.
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
                    let error = table_not_found(&change.name);
                    self.take_back(inverse_tables);
                    return Err(error);
                }
            };
            let applied = self.apply_table_change(change);
            // Pushed even on failure: the change may have written part of its rows.
            inverse_tables.push(inverse);
            if let Err(error) = applied {
                self.take_back(inverse_tables);
                return Err(error);
            }
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

    /// All or nothing: the inverses of the table changes applied so far, newest first.
    fn take_back(&mut self, inverses: Vec<TableChange>) {
        for inverse in inverses.into_iter().rev() {
            // Each restores rows and schemas that held before; it cannot meet a new conflict.
            let _ = self.apply_table_change(inverse);
        }
    }

    pub(super) fn apply_function_change(&mut self, change: FunctionChange) {
        match change.function {
            Some(function) => {
                self.functions.insert(change.name, function);
            }
            None => {
                self.functions.remove(&change.name);
            }
        }
    }

    pub(super) fn apply_table_change(&mut self, change: TableChange) -> Result<()> {
        self.objects_changed(&change.name);
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
            for key in rows.keys() {
                let added = !table.rows.contains_key(key);
                table.pages.mark(key, added);
            }
            table.rows.append(&mut rows);
            table.uniques.get_mut().mark_stale();
        } else {
            for (key, row) in change.rows {
                table.put_row(key, row)?;
            }
        }
        Ok(())
    }

    /// The whole database as change sets that rebuild it from empty, each holding at most
    /// about `rows_per_chunk` rows: 0.1.0's checkpoint (tests make such checkpoints with it).
    pub fn snapshot(&self, rows_per_chunk: usize) -> Vec<ChangeSet> {
        let rows_per_chunk = rows_per_chunk.max(1);
        let mut chunks = vec![self.catalog_change_set()];
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
}

/// `keys` in order, each once (an unstable sort: equal keys are interchangeable).
fn sorted_unique(mut keys: Vec<Key>) -> Vec<Key> {
    keys.sort_unstable();
    keys.dedup();
    keys
}
