//! The undo log: what a transaction did, step by step, so a rollback, a failed statement or a
//! failed write can restore the state before it exactly.

use {
    super::{MemoryStore, Row, Table},
    crate::protocol::{ChangeSet, SchemaChange, TableChange},
    gluesql_core::data::{CustomFunction as StructCustomFunction, Key, Schema},
    std::collections::HashMap,
};

/// What a transaction did, in order, so that it can be undone exactly.
#[derive(Debug)]
pub(super) enum Undo {
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
pub(super) struct OpenTransaction {
    pub(super) autocommit: bool,
    pub(super) undo: Vec<Undo>,
    /// Named savepoints, oldest first: each name with the undo log's length when it was made.
    pub(super) savepoints: Vec<(String, usize)>,
}

/// A committed transaction whose change set is not yet durable; kept so it can be reverted.
#[derive(Debug)]
pub(super) struct UnpersistedCommit {
    pub(super) undo: Vec<Undo>,
}

impl MemoryStore {
    pub(super) fn apply_undo(&mut self, undo: Vec<Undo>) {
        for step in undo.into_iter().rev() {
            match step {
                Undo::Row {
                    table,
                    key,
                    previous,
                } => {
                    self.objects_changed(&table);
                    if let Some(table) = self.tables.get_mut(&table) {
                        // Restoring a row that was valid before cannot fail index evaluation.
                        let _ = table.put_row(key, previous);
                    }
                }
                Undo::TableCreated { table } => {
                    self.objects_changed(&table);
                    self.tables.remove(&table);
                }
                Undo::TableDropped { table } => {
                    self.objects_changed(&table.schema.table_name);
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

    /// The commits not yet persisted, taken and confirmed, each with its inverse (the change
    /// set that, applied right after it, restores the state before it) read off its undo log:
    /// every row as it was before the commit. Only when every commit wrote rows alone; `None`,
    /// with nothing taken, when one changed a schema or a function (its inverse would need the
    /// whole table or schema as it was, which `apply_change_set_with_inverse` computes).
    pub fn take_row_commits_with_inverses(&mut self) -> Option<Vec<(ChangeSet, ChangeSet)>> {
        let rows_only = self.produced.len() == self.unpersisted.len()
            && self.unpersisted.iter().all(|commit| {
                commit
                    .undo
                    .iter()
                    .all(|step| matches!(step, Undo::Row { .. }))
            })
            && self.produced.iter().all(|change_set| {
                change_set.functions.is_empty()
                    && change_set
                        .tables
                        .iter()
                        .all(|t| t.schema == SchemaChange::Unchanged)
            });
        if !rows_only {
            return None;
        }
        let commits = std::mem::take(&mut self.unpersisted);
        let change_sets = std::mem::take(&mut self.produced);
        Some(
            change_sets
                .into_iter()
                .zip(commits)
                .map(|(change_set, commit)| {
                    let inverse = row_inverse(&change_set, commit.undo);
                    (change_set, inverse)
                })
                .collect(),
        )
    }

    pub(super) fn record(&mut self, undo: Undo) {
        if let Some(tx) = self.tx.as_mut() {
            tx.undo.push(undo);
        }
    }
}

/// The inverse of a commit that wrote rows alone: each row of `change_set` as the first undo step
/// for it saw it (later steps of the same row saw the commit's own writes). Tables newest first,
/// as `apply_change_set_with_inverse` orders them.
fn row_inverse(change_set: &ChangeSet, undo: Vec<Undo>) -> ChangeSet {
    let mut before: HashMap<String, HashMap<Key, Option<Row>>> = HashMap::new();
    for step in undo {
        if let Undo::Row {
            table,
            key,
            previous,
        } = step
        {
            before
                .entry(table)
                .or_default()
                .entry(key)
                .or_insert(previous);
        }
    }
    let tables = change_set
        .tables
        .iter()
        .rev()
        .map(|change| {
            let mut rows_before = before.remove(&change.name).unwrap_or_default();
            TableChange {
                name: change.name.clone(),
                schema: SchemaChange::Unchanged,
                rows: change
                    .rows
                    .iter()
                    .map(|(key, _)| (key.clone(), rows_before.remove(key).flatten()))
                    .collect(),
            }
        })
        .collect();
    ChangeSet {
        tables,
        functions: Vec::new(),
    }
}
