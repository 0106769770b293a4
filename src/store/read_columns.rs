//! Which columns the next plain scan of one table must hand over; the others go to GlueSQL as
//! NULL, so an aggregate or a narrow SELECT over a wide table does not clone every value.
//! Set by the engine from the statement (engine/read_columns.rs); the store never guesses.

use {
    super::MemoryStore,
    gluesql_core::{ast::ColumnDef, data::Value},
};

#[derive(Debug)]
pub(super) struct ReadColumns {
    table: String,
    /// Names the statement mentions (a superset of the columns it reads).
    names: Vec<String>,
}

impl MemoryStore {
    /// The running statement reads only these columns of `table` (by name, any case).
    pub fn set_read_columns(&self, table: String, names: Vec<String>) {
        *self.read_columns.borrow_mut() = Some(ReadColumns { table, names });
    }

    /// Called after every statement.
    pub fn clear_read_columns(&self) {
        self.read_columns.borrow_mut().take();
    }

    /// For a scan of `table` with these columns: which to hand over (`None`: all of them).
    pub(super) fn read_mask(&self, table: &str, defs: Option<&[ColumnDef]>) -> Option<Vec<bool>> {
        let hint = self.read_columns.borrow();
        let hint = hint.as_ref().filter(|hint| hint.table == table)?;
        let mask: Vec<bool> = defs?
            .iter()
            .map(|def| {
                hint.names
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(&def.name))
            })
            .collect();
        // Worth it only when something is left out.
        mask.contains(&false).then_some(mask)
    }
}

/// The row with every column outside `mask` as NULL.
pub(super) fn masked(row: &[Value], mask: &[bool]) -> Vec<Value> {
    row.iter()
        .zip(mask)
        .map(|(value, keep)| if *keep { value.clone() } else { Value::Null })
        .collect()
}
