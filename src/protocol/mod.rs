//! Change sets — what one committed transaction did — their binary codec, and the sync
//! protocol's messages. Shared by persistence, the client and the server; no state, no I/O.

mod codec;
pub mod messages;

pub use codec::{
    decode_change_set, decode_results, encode_change_set, encode_results, CodecError,
    FORMAT_VERSION,
};

use gluesql_core::{
    chrono::NaiveDateTime,
    data::{CustomFunction, Key, Schema, Value},
};

/// Per table and key, the new row or a deletion, plus schema changes; functions likewise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    pub tables: Vec<TableChange>,
    pub functions: Vec<FunctionChange>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
            && self
                .tables
                .iter()
                .all(|t| t.rows.is_empty() && t.schema == SchemaChange::Unchanged)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableChange {
    pub name: String,
    pub schema: SchemaChange,
    /// `None` deletes the row with that key.
    pub rows: Vec<(Key, Option<Vec<Value>>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SchemaChange {
    Unchanged,
    /// The table is (re)created empty with this schema; its rows follow in `rows`.
    Create {
        schema: Box<Schema>,
        created: NaiveDateTime,
    },
    /// The schema (columns or indexes) changed; existing rows stay, rewritten ones follow.
    Alter(Box<Schema>),
    Drop,
}

/// The answer one statement of a call gave, as kept for answering a retried call.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    pub command: String,
    pub columns: Vec<String>,
    pub row_count: u64,
    pub rows: Vec<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionChange {
    pub name: String,
    /// `None` drops the function.
    pub function: Option<CustomFunction>,
}
