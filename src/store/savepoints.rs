//! Savepoints: points inside the open transaction to roll back to, unnamed (a statement or
//! script that failed) and named (SQL's SAVEPOINT). Positions in the undo log; the engine folds names.

use {super::MemoryStore, gluesql_core::data::Value};

/// A point inside an open transaction: where its undo log stood, and the named savepoints
/// then, so rolling back to it also forgets the names made after it and restores released ones.
#[derive(Debug, Clone)]
pub struct Savepoint {
    pub(super) undo: usize,
    named: Vec<(String, usize)>,
}

/// Why a named savepoint could not be made, released or rolled back to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavepointError {
    #[error("savepoints can only be used inside a transaction (BEGIN first)")]
    NoTransaction,
    #[error("savepoint \"{0}\" does not exist")]
    Unknown(String),
}

impl MemoryStore {
    /// The point the open transaction is at (`None` outside one).
    pub fn savepoint(&self) -> Option<Savepoint> {
        self.tx.as_ref().map(|tx| Savepoint {
            undo: tx.undo.len(),
            named: tx.savepoints.clone(),
        })
    }

    /// Undoes what the open transaction did after `savepoint`: a failed statement changes nothing.
    pub fn rollback_to(&mut self, savepoint: Savepoint) {
        let Some(tx) = self.tx.as_mut() else { return };
        tx.savepoints = savepoint.named;
        if tx.undo.len() <= savepoint.undo {
            return;
        }
        let tail = tx.undo.split_off(savepoint.undo);
        self.apply_undo(tail);
    }

    /// `SAVEPOINT name`: a name may be given again; the newest one with it is the one found.
    pub fn create_savepoint(&mut self, name: String) -> Result<(), SavepointError> {
        let tx = self.explicit_transaction()?;
        let at = tx.undo.len();
        tx.savepoints.push((name, at));
        Ok(())
    }

    /// `RELEASE SAVEPOINT name`: forgets it and every savepoint made after it; keeps the writes.
    pub fn release_savepoint(&mut self, name: &str) -> Result<(), SavepointError> {
        let tx = self.explicit_transaction()?;
        let index = newest(&tx.savepoints, name)?;
        tx.savepoints.truncate(index);
        Ok(())
    }

    /// `ROLLBACK TO SAVEPOINT name`: undoes the writes made since it and forgets the
    /// savepoints made after it; it stays, so it can be rolled back to again.
    pub fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), SavepointError> {
        let tx = self.explicit_transaction()?;
        let index = newest(&tx.savepoints, name)?;
        let at = tx.savepoints[index].1;
        tx.savepoints.truncate(index + 1);
        let tail = tx.undo.split_off(at.min(tx.undo.len()));
        self.apply_undo(tail);
        Ok(())
    }

    fn explicit_transaction(&mut self) -> Result<&mut super::OpenTransaction, SavepointError> {
        match self.tx.as_mut() {
            Some(tx) if !tx.autocommit => Ok(tx),
            _ => Err(SavepointError::NoTransaction),
        }
    }
}

fn newest(savepoints: &[(String, usize)], name: &str) -> Result<usize, SavepointError> {
    savepoints
        .iter()
        .rposition(|(n, _)| n == name)
        .ok_or_else(|| SavepointError::Unknown(name.to_owned()))
}

/// Which rows of a statement's writes to hand back (see `rows_written_since`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The rows as they are now: what an INSERT or UPDATE wrote.
    New,
    /// The rows as they were before: what a DELETE removed.
    Old,
}

impl MemoryStore {
    /// The rows of `table` written since `savepoint`, once each, in the order first written,
    /// each passed through `project`: read from the undo log and the table, not by a scan.
    pub fn rows_written_since<T>(
        &self,
        savepoint: &Savepoint,
        table: &str,
        which: Written,
        mut project: impl FnMut(&[Value]) -> T,
    ) -> Vec<T> {
        match self.try_rows_written_since(savepoint, table, which, |row| {
            Ok::<_, std::convert::Infallible>(project(row))
        }) {
            Ok(rows) => rows,
            Err(never) => match never {},
        }
    }

    /// `rows_written_since` with a projection that can fail: the first failure is the answer.
    pub fn try_rows_written_since<T, E>(
        &self,
        savepoint: &Savepoint,
        table: &str,
        which: Written,
        mut project: impl FnMut(&[Value]) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        let (Some(tx), Some(stored)) = (self.tx.as_ref(), self.tables.get(table)) else {
            return Ok(Vec::new());
        };
        let steps = || {
            tx.undo
                .iter()
                .skip(savepoint.undo)
                .filter_map(|step| match step {
                    super::Undo::Row {
                        table: name,
                        key,
                        previous,
                    } if name == table => Some((key, previous)),
                    _ => None,
                })
        };
        // A statement writes its rows in ascending key order as a rule (an UPDATE scans in
        // key order, keyless INSERTs mint growing keys): then no key repeats, none is hashed,
        // and each is found walking the table forward from the last (a statement's rows are
        // mostly neighbours). From the first key that does not ascend on, keys go through a
        // set (first sight of each wins) and rows are looked up: no row is projected twice,
        // as a projection may pack what it reads.
        // Sized once: a statement's steps are mostly its rows (sized by a bound, not a count).
        let mut rows = Vec::with_capacity(tx.undo.len().saturating_sub(savepoint.undo));
        let mut last: Option<&gluesql_core::data::Key> = None;
        let mut seen: Option<std::collections::HashSet<&gluesql_core::data::Key>> = None;
        let mut walk = None;
        for (step, (key, previous)) in steps().enumerate() {
            match seen.as_mut() {
                Some(seen) => {
                    if !seen.insert(key) {
                        continue;
                    }
                }
                None if last.is_some_and(|last| last >= key) => {
                    // The keys so far ascended, so each was new.
                    let mut keys: std::collections::HashSet<_> =
                        steps().take(step).map(|(key, _)| key).collect();
                    let new = keys.insert(key);
                    seen = Some(keys);
                    if !new {
                        continue;
                    }
                }
                None => last = Some(key),
            }
            let row = match which {
                Written::New if seen.is_none() => {
                    let walk = walk.get_or_insert_with(|| stored.rows.range(key..));
                    match walk.next() {
                        Some((found, row)) if found == key => Some(row),
                        // Not the next stored key: looked for from the root, walked on from it.
                        _ => {
                            *walk = stored.rows.range(key..);
                            walk.next()
                                .filter(|(found, _)| *found == key)
                                .map(|(_, row)| row)
                        }
                    }
                }
                Written::New => stored.rows.get(key),
                Written::Old => previous.as_ref(),
            };
            if let Some(row) = row {
                rows.push(project(row)?);
            }
        }
        Ok(rows)
    }
}
