//! Log compaction: which row writes of a database's log a later entry supersedes, and each
//! entry's change set without them. It reads and writes no log and decides no push.
//!
//! Every entry keeps its place, its writer, its client sequence and its `seen`, and every
//! schema change (CREATE, ALTER, DROP) stays; only a row (or function) write that a later
//! entry writes again — or a later CREATE or DROP of its table wipes — leaves. So a replica
//! at any position that applies the rest of the log reaches the same state as before, each
//! client still finds its own entries (its pending changes are confirmed, not taken for
//! rejected), and the write that decides a row's value keeps the `seen` conflicts are judged by.

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
}

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
        Ok(())
    }

    /// Pass two: the entry's change set without its superseded writes, or `None` when nothing
    /// in it is superseded.
    pub fn prune(&self, entry: &LogEntry) -> Result<Option<Vec<u8>>, String> {
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
        if !changed {
            return Ok(None);
        }
        encode_change_set(&change_set)
            .map(Some)
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
            .map(|entry| {
                let mut entry = entry.clone();
                if let Some(bytes) = last.prune(&entry).unwrap() {
                    entry.change_set = bytes;
                }
                entry
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
        for (before, after) in log.iter().zip(&compact) {
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
            assert_eq!(rows(&state(&compact[position..], at)), full, "{position}");
        }
        // Compacting again changes nothing.
        assert!(compact.iter().all(|entry| {
            let mut last = LastWrites::default();
            compact.iter().for_each(|e| last.record(e).unwrap());
            last.prune(entry).unwrap().is_none()
        }));
    }
}
