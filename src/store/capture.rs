//! Proposed rows: an INSERT run to learn what it would store in one table (defaults filled in,
//! values converted to the columns) without storing it or checking its keys — ON CONFLICT
//! decides about those. Armed for one statement by the engine; never writes anything.

use {
    super::{MemoryStore, Row},
    gluesql_core::data::Schema,
};

#[derive(Debug)]
pub(super) struct Capture {
    table: String,
    rows: Vec<Row>,
}

impl MemoryStore {
    /// The next INSERT into `table` hands its rows here instead of storing them.
    pub fn capture_inserts(&mut self, table: &str) {
        self.capture = Some(Capture {
            table: table.to_owned(),
            rows: Vec::new(),
        });
    }

    /// The rows captured since `capture_inserts`, in the INSERT's order; disarms it.
    pub fn take_captured(&mut self) -> Vec<Row> {
        self.capture.take().map(|c| c.rows).unwrap_or_default()
    }

    /// Whether reads of `table` are an INSERT's key checks being captured: they find nothing.
    pub(super) fn capturing(&self, table: &str) -> bool {
        self.capture.as_ref().is_some_and(|c| c.table == table)
    }

    /// Keeps `rows` if they are being captured; gives them back otherwise.
    pub(super) fn captured(&mut self, table: &str, rows: Vec<Row>) -> Option<Vec<Row>> {
        match self.capture.as_mut() {
            Some(capture) if capture.table == table => {
                capture.rows.extend(rows);
                None
            }
            _ => Some(rows),
        }
    }
}

/// `schema` with no PRIMARY KEY or UNIQUE column: GlueSQL then neither checks the captured rows'
/// keys (against the table or each other) nor keys them; they arrive in order, as proposed.
pub(super) fn without_keys(mut schema: Schema) -> Schema {
    for column in schema.column_defs.iter_mut().flatten() {
        column.unique = None;
    }
    schema
}
