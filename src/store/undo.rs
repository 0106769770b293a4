//! The undo log: what a transaction did, step by step, so a rollback, a failed statement or a
//! failed write can restore the state before it exactly.

use {
    super::{MemoryStore, Row, Table},
    gluesql_core::data::{CustomFunction as StructCustomFunction, Key, Schema},
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

    pub(super) fn record(&mut self, undo: Undo) {
        if let Some(tx) = self.tx.as_mut() {
            tx.undo.push(undo);
        }
    }
}
