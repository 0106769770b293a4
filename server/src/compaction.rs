//! Log compaction: which row writes of a database's log a later entry supersedes, each entry's
//! change set without them, and which emptied entries may leave. It reads and writes no log.
//!
//! Every entry that stays keeps its place, its writer, its client sequence and its `seen`, and
//! every schema change (CREATE, ALTER, DROP) stays; a row (or function) write that a later
//! entry writes again — or a later CREATE or DROP of its table wipes — leaves. So a replica at
//! any position that applies the rest of the log reaches the same state as before, and the
//! write that decides a row's value keeps the `seen` conflicts are judged by.
//!
//! An entry left with nothing to apply leaves too, once its own writer has shown it saw it: a
//! later entry of the same client declares a `seen` at or past it. Only its writer ever needs
//! it (a client catching up takes a pending change it does not find for rejected); that
//! writer's catch-ups start past it from then on, because a client stores what it has seen
//! before it commits anything that declares it.

use {
    gluesql_core::data::Key,
    idbsql::protocol::{decode_change_set, encode_change_set, messages::LogEntry, SchemaChange},
    std::collections::HashMap,
};

/// The last write of every row, table reset and function in a log prefix: pass one of two.
#[derive(Default)]
pub struct LastWrites {
    rows: HashMap<String, HashMap<Key, u64>>,
    /// The last CREATE or DROP of each table, which supersedes every earlier row write.
    resets: HashMap<String, u64>,
    functions: HashMap<String, u64>,
    /// The newest log position each client declared it had seen, over its entries.
    seen: HashMap<u128, u64>,
}

/// What compaction does to one entry.
#[derive(Debug, PartialEq, Eq)]
pub enum Pruned {
    /// Nothing in it is superseded.
    Kept,
    /// Its change set without the superseded writes.
    Rewritten(Vec<u8>),
    /// Everything in it is superseded and its writer has seen it: the entry leaves the log.
    Removed,
}

/// Entries logged before `seen` existed read as this: they declare nothing.
const SEEN_UNKNOWN: u64 = u64::MAX;

impl LastWrites {
    /// Records an entry's writes; entries come in log order.
    pub fn record(&mut self, entry: &LogEntry) -> Result<(), String> {
        let change_set = decode_change_set(&entry.change_set).map_err(|e| e.to_string())?;
        for table in change_set.tables {
            if matches!(
                table.schema,
                SchemaChange::Create { .. } | SchemaChange::Drop
            ) {
                self.resets.insert(table.name.clone(), entry.seq);
            }
            let rows = self.rows.entry(table.name).or_default();
            for (key, _) in table.rows {
                rows.insert(key, entry.seq);
            }
        }
        for function in change_set.functions {
            self.functions.insert(function.name, entry.seq);
        }
        if entry.seen != SEEN_UNKNOWN {
            let seen = self.seen.entry(entry.client_id).or_default();
            *seen = (*seen).max(entry.seen);
        }
        Ok(())
    }

    /// Pass two: what becomes of the entry (see `Pruned`).
    pub fn prune(&self, entry: &LogEntry) -> Result<Pruned, String> {
        let seq = entry.seq;
        let mut change_set = decode_change_set(&entry.change_set).map_err(|e| e.to_string())?;
        let mut changed = false;
        for table in &mut change_set.tables {
            let reset_later = self.resets.get(&table.name).is_some_and(|&at| at > seq);
            let rows = self.rows.get(&table.name);
            let before = table.rows.len();
            table.rows.retain(|(key, _)| {
                !reset_later
                    && rows
                        .and_then(|rows| rows.get(key))
                        .is_none_or(|&at| at <= seq)
            });
            changed |= table.rows.len() != before;
        }
        let before = change_set.tables.len();
        change_set
            .tables
            .retain(|table| table.schema != SchemaChange::Unchanged || !table.rows.is_empty());
        changed |= change_set.tables.len() != before;
        let before = change_set.functions.len();
        change_set.functions.retain(|function| {
            self.functions
                .get(&function.name)
                .is_none_or(|&at| at <= seq)
        });
        changed |= change_set.functions.len() != before;
        let seen_by_writer = self
            .seen
            .get(&entry.client_id)
            .is_some_and(|&seen| seen >= seq);
        if change_set.tables.is_empty() && change_set.functions.is_empty() && seen_by_writer {
            return Ok(Pruned::Removed);
        }
        if !changed {
            return Ok(Pruned::Kept);
        }
        encode_change_set(&change_set)
            .map(Pruned::Rewritten)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use {
        super::*,
        idbsql::{engine::Engine, store::MemoryStore},
    };

    /// Runs each statement on one engine; each commit becomes a log entry.
    fn log_of(statements: &[&str]) -> Vec<LogEntry> {
        let mut engine = Engine::default();
        let mut entries = Vec::new();
        for sql in statements {
            for statement in engine.parse(sql).unwrap().iter() {
                engine.execute(statement, &[]).unwrap();
            }
            for change_set in engine.store_mut().take_change_sets() {
                entries.push(LogEntry {
                    seq: entries.len() as u64 + 1,
                    client_id: 7,
                    client_seq: entries.len() as u64 + 1,
                    change_set: encode_change_set(&change_set).unwrap(),
                    seen: entries.len() as u64,
                });
            }
            engine.store_mut().confirm_persisted();
        }
        entries
    }

    fn compacted(log: &[LogEntry]) -> Vec<LogEntry> {
        let mut last = LastWrites::default();
        for entry in log {
            last.record(entry).unwrap();
        }
        log.iter()
            .filter_map(|entry| {
                let mut entry = entry.clone();
                match last.prune(&entry).unwrap() {
                    Pruned::Kept => {}
                    Pruned::Rewritten(bytes) => entry.change_set = bytes,
                    Pruned::Removed => return None,
                }
                Some(entry)
            })
            .collect()
    }

    fn state(entries: &[LogEntry], from: MemoryStore) -> MemoryStore {
        let mut store = from;
        for entry in entries {
            store
                .apply_change_set(decode_change_set(&entry.change_set).unwrap())
                .unwrap();
        }
        store
    }

    /// Each table's rows, in order.
    type Rows = Vec<(String, Vec<(Key, Vec<gluesql_core::data::Value>)>)>;

    fn rows(store: &MemoryStore) -> Rows {
        store
            .tables()
            .map(|table| {
                (
                    table.schema.table_name.clone(),
                    table
                        .rows
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_replica_at_any_position_reaches_the_same_state_from_the_compacted_log() {
        let log = log_of(&[
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
            "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')",
            "UPDATE t SET v = 'b2' WHERE id = 2",
            "DELETE FROM t WHERE id = 3",
            "CREATE TABLE gone (id INTEGER PRIMARY KEY)",
            "INSERT INTO gone VALUES (1)",
            "ALTER TABLE t ADD COLUMN w INTEGER",
            "UPDATE t SET v = 'b3', w = 1 WHERE id = 2",
            "DROP TABLE gone",
            "CREATE TABLE gone (id INTEGER PRIMARY KEY)",
            "INSERT INTO gone VALUES (2)",
            "UPDATE t SET v = 'a2' WHERE id = 1",
        ]);
        let compact = compacted(&log);
        let history: usize = log.iter().map(|e| e.change_set.len()).sum();
        let now: usize = compact.iter().map(|e| e.change_set.len()).sum();
        assert!(now < history, "{now} < {history}");
        // Entries that stay keep their header; those that left had nothing left to apply.
        assert!(compact.len() < log.len(), "emptied entries leave");
        for after in &compact {
            let before = &log[after.seq as usize - 1];
            assert_eq!(
                (before.seq, before.client_id, before.client_seq, before.seen),
                (after.seq, after.client_id, after.client_seq, after.seen)
            );
        }
        let full = rows(&state(&log, MemoryStore::new()));
        for position in 0..=log.len() {
            // A replica that had applied the original log up to `position` goes on with the
            // compacted rest, and one that applies the compacted log from the start.
            let at = state(&log[..position], MemoryStore::new());
            let rest: Vec<LogEntry> = compact
                .iter()
                .filter(|entry| entry.seq > position as u64)
                .cloned()
                .collect();
            assert_eq!(rows(&state(&rest, at)), full, "{position}");
        }
        // Compacting again changes nothing.
        assert!(compact.iter().all(|entry| {
            let mut last = LastWrites::default();
            compact.iter().for_each(|e| last.record(e).unwrap());
            last.prune(entry).unwrap() == Pruned::Kept
        }));
    }

    /// An emptied entry leaves only once its own writer has declared, in a later entry, that
    /// it saw it: until then that writer may still be looking for it to confirm a pending
    /// change. Another client's `seen`, an older one, or an unknown one (logged before `seen`
    /// existed) is not enough.
    #[test]
    fn an_emptied_entry_leaves_only_once_its_writer_has_seen_it() {
        let statements = [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
            "INSERT INTO t VALUES (1, 'a')",
            "UPDATE t SET v = 'b'",
            "UPDATE t SET v = 'c'",
            "UPDATE t SET v = 'd'",
        ];
        let outcome = |writers: [(u128, u64); 5]| {
            let mut log = log_of(&statements);
            for (entry, (client_id, seen)) in log.iter_mut().zip(writers) {
                entry.client_id = client_id;
                entry.seen = seen;
            }
            let kept: Vec<u64> = compacted(&log).iter().map(|e| e.seq).collect();
            kept
        };
        // One writer that saw each of its entries before the next: only the CREATE (a schema
        // change) and the last write stay.
        assert_eq!(outcome([(7, 0), (7, 1), (7, 2), (7, 3), (7, 4)]), [1, 5]);
        // It saw entry 3 (its `seen` in entry 4 is 3) but not entry 4 yet: 4 stays, emptied.
        assert_eq!(outcome([(7, 0), (7, 1), (7, 2), (7, 3), (7, 3)]), [1, 4, 5]);
        // Entries 2–4 of client 8 are seen only by client 7: none leaves.
        assert_eq!(
            outcome([(7, 0), (8, 1), (8, 1), (8, 1), (7, 4)]),
            [1, 2, 3, 4, 5]
        );
        // Unknown `seen` declares nothing.
        let unknown = SEEN_UNKNOWN;
        assert_eq!(
            outcome([
                (7, unknown),
                (7, unknown),
                (7, unknown),
                (7, unknown),
                (7, unknown)
            ]),
            [1, 2, 3, 4, 5]
        );
    }
}
