//! GlueSQL's UNIQUE validation of an INSERT or UPDATE reads the whole table; this answers that
//! scan from the unique sets instead (unique.rs), which check each row as it is written. Never
//! narrows any other scan, and gives way to GlueSQL's scan whenever it cannot tell the scans apart.
//!
//! GlueSQL validates after it has every new row: an INSERT … VALUES (no subquery) scans the
//! table once, for the validation; an UPDATE scans it first to fetch its rows (subqueries scan
//! inside that scan) and, once that scan is finished, again to validate. The planner hook arms
//! the statement; `scan_data` asks which scan it is serving; the engine clears it after each
//! statement. The sets compare a new value with every other row, so an UPDATE that keeps a
//! row's own value (`SET email = $1` with the same email) passes, where GlueSQL's scan compared
//! it with the row's old self and refused it.

use {
    super::MemoryStore,
    gluesql_core::{
        data::{Key, Value},
        error::{Error, Result, ValidateError},
        plan::{ExprPlan, QueryPlan, StatementPlan, ValuesPlan},
    },
    std::cmp::Ordering,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// INSERT: its first scan of the table is the validation.
    InsertArmed,
    /// UPDATE: its first scan fetches the rows.
    UpdateArmed,
    /// UPDATE: fetching; scans started now are subqueries.
    Fetching,
    /// UPDATE: the fetch is finished; the next scan is the validation.
    Fetched,
    /// The validation was answered by the sets: an INSERT must still refuse stored keys.
    Answered { insert: bool },
}

#[derive(Debug, Clone)]
pub(super) struct UniqueCheck {
    table: String,
    stage: Stage,
}

/// What a scan of a table is to the statement running.
pub(super) enum ScanRole {
    Other,
    /// The UPDATE's fetch: the scan reports when it is finished.
    Fetch,
    /// GlueSQL's unique validation, answered already: the scan yields nothing.
    Validation,
}

/// Whether evaluating `expr` can scan a table (a subquery, maybe inside a function).
fn may_scan(expr: &ExprPlan) -> bool {
    match expr {
        ExprPlan::Literal(_)
        | ExprPlan::Value(_)
        | ExprPlan::TypedString { .. }
        | ExprPlan::Identifier(_)
        | ExprPlan::CompoundIdentifier { .. } => false,
        ExprPlan::Nested(inner)
        | ExprPlan::UnaryOp { expr: inner, .. }
        | ExprPlan::IsNull(inner)
        | ExprPlan::IsNotNull(inner)
        | ExprPlan::Interval { expr: inner, .. } => may_scan(inner),
        ExprPlan::BinaryOp { left, right, .. } => may_scan(left) || may_scan(right),
        ExprPlan::Array { elem } => elem.iter().any(may_scan),
        ExprPlan::Function(function) => {
            // Functions have dozens of shapes; their printed plan names any subquery inside.
            let printed = format!("{function:?}");
            ["Subquery", "Exists", "Query"]
                .iter()
                .any(|word| printed.contains(word))
        }
        _ => true,
    }
}

impl MemoryStore {
    /// Arms the statement if GlueSQL will validate UNIQUE columns of its table by a scan.
    pub(super) fn arm_unique_check(&self, statement: &StatementPlan) {
        let (table, stage) = match statement {
            StatementPlan::Insert {
                table_name,
                source: QueryPlan::Values(ValuesPlan(rows)),
                ..
            } if !rows.iter().flatten().any(may_scan) => (table_name, Stage::InsertArmed),
            StatementPlan::Update {
                table_name,
                assignments,
                ..
            } => {
                let sets_unique = assignments
                    .iter()
                    .any(|a| self.is_unique_column(table_name, &a.id));
                if !sets_unique {
                    return;
                }
                (table_name, Stage::UpdateArmed)
            }
            _ => return,
        };
        if self.check_defs(table).iter().any(|def| def.column) {
            *self.unique_check.borrow_mut() = Some(UniqueCheck {
                table: table.clone(),
                stage,
            });
        }
    }

    fn is_unique_column(&self, table: &str, column: &str) -> bool {
        self.tables
            .get(table)
            .and_then(|t| t.schema.column_defs.as_ref())
            .is_some_and(|defs| {
                defs.iter()
                    .any(|d| d.name == column && d.unique.is_some_and(|u| !u.is_primary))
            })
    }

    pub(super) fn clear_unique_check(&self) {
        self.unique_check.borrow_mut().take();
    }

    /// Which scan of `table` this is; moves the statement's stage on.
    pub(super) fn scan_role(&self, table: &str) -> ScanRole {
        let mut check = self.unique_check.borrow_mut();
        let Some(armed) = check.as_mut().filter(|c| c.table == table) else {
            return ScanRole::Other;
        };
        match armed.stage {
            Stage::UpdateArmed => {
                armed.stage = Stage::Fetching;
                ScanRole::Fetch
            }
            Stage::Fetching | Stage::Answered { .. } => ScanRole::Other,
            Stage::InsertArmed | Stage::Fetched => {
                let insert = armed.stage == Stage::InsertArmed;
                let usable = self
                    .tables
                    .get(table)
                    .is_some_and(|t| t.column_sets_usable(&self.check_defs(table)));
                if usable {
                    armed.stage = Stage::Answered { insert };
                    ScanRole::Validation
                } else {
                    // GlueSQL's scan validates; nothing more to do here.
                    *check = None;
                    ScanRole::Other
                }
            }
        }
    }

    /// The UPDATE's fetch scan is finished.
    pub(super) fn fetch_finished(&self) {
        if let Some(check) = self.unique_check.borrow_mut().as_mut() {
            if check.stage == Stage::Fetching {
                check.stage = Stage::Fetched;
            }
        }
    }

    /// Before an INSERT whose validation the sets answered writes rows by key: a key already
    /// stored is a duplicate primary key, as GlueSQL's scan would have found.
    pub(super) fn refuse_stored_keys(&self, table: &str, rows: &[(Key, Vec<Value>)]) -> Result<()> {
        let answered_insert = self
            .unique_check
            .borrow()
            .as_ref()
            .is_some_and(|c| c.table == table && c.stage == Stage::Answered { insert: true });
        let Some(stored) = self.tables.get(table).filter(|_| answered_insert) else {
            return Ok(());
        };
        match rows.iter().find(|(key, _)| stored.rows.contains_key(key)) {
            Some((_, row)) => Err(self.duplicate_key(table, row)),
            None => Ok(()),
        }
    }

    /// GlueSQL checks an INSERT's primary keys against the stored rows only (an upstream
    /// bug): `INSERT INTO t VALUES (1, 'a'), (1, 'b')` answered 2 rows and kept one, the second
    /// overwriting the first. No batch of keyed rows may name a key twice — an INSERT's are
    /// new, an UPDATE's are distinct stored rows — so a repeat is refused before any write.
    pub(super) fn refuse_repeated_keys(
        &self,
        table: &str,
        rows: &[(Key, Vec<Value>)],
    ) -> Result<()> {
        // Rows usually come in ascending key order: then one comparison per row settles it.
        if rows.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return Ok(());
        }
        let mut sorted: Vec<&(Key, Vec<Value>)> = rows.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        match sorted
            .windows(2)
            .find(|pair| pair[0].0.cmp(&pair[1].0) == Ordering::Equal)
        {
            Some(pair) => Err(self.duplicate_key(table, &pair[1].1)),
            None => Ok(()),
        }
    }

    /// The duplicate-key error for `row` of `table`, naming its primary key column and value.
    fn duplicate_key(&self, table: &str, row: &[Value]) -> Error {
        let primary = self
            .tables
            .get(table)
            .and_then(|t| t.schema.column_defs.as_ref())
            .and_then(|defs| {
                defs.iter()
                    .position(|d| d.unique.is_some_and(|u| u.is_primary))
                    .map(|i| (i, defs[i].name.clone()))
            });
        let (value, name) = match primary {
            Some((i, name)) => (row.get(i).cloned().unwrap_or(Value::Null), name),
            None => (Value::Null, String::new()),
        };
        ValidateError::DuplicateEntryOnUniqueField(value, name).into()
    }
}

/// A scan that tells the store when it is finished (the UPDATE's fetch).
pub(super) struct Finishing<'a, I> {
    pub inner: I,
    pub store: &'a MemoryStore,
}

impl<I: Iterator> Iterator for Finishing<'_, I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let next = self.inner.next();
        if next.is_none() {
            self.store.fetch_finished();
        }
        next
    }
}
