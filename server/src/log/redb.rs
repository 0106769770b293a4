//! The log in one redb file: an embedded, crash-safe B-tree store with ACID commits, written
//! by this process alone. Entry and key layouts are in docs/format.md; sync logic is not here.

use {
    super::{
        assumptions_hold, log_error, progress_after, Batch, ClientProgress, Commit, LogError,
        SyncLog,
    },
    async_trait::async_trait,
    idbsql::protocol::messages::LogEntry,
    redb::{Database, ReadableDatabase, ReadableTable, TableDefinition},
    std::{collections::HashMap, path::Path},
};

const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("log");
const CLIENTS: TableDefinition<(&str, u128), (u64, u64)> = TableDefinition::new("clients");

/// The log in one redb file: an embedded, crash-safe B-tree store with ACID commits.
pub struct RedbLog {
    db: Database,
}

impl RedbLog {
    pub fn open(path: &Path) -> Result<Self, LogError> {
        let db = Database::create(path).map_err(log_error)?;
        let write = db.begin_write().map_err(log_error)?;
        write.open_table(LOG).map_err(log_error)?;
        write.open_table(CLIENTS).map_err(log_error)?;
        write.commit().map_err(log_error)?;
        Ok(Self { db })
    }
}

/// The newest sequence number of `database` in a log table, read or write alike (0: empty).
fn last_seq_in(
    log: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    database: &str,
) -> Result<u64, LogError> {
    Ok(log
        .range((database, 0)..=(database, u64::MAX))
        .map_err(log_error)?
        .next_back()
        .transpose()
        .map_err(log_error)?
        .map_or(0, |(key, _)| key.value().1))
}

/// The stored progress of these clients (absent: never seen), in a read or write transaction.
fn read_progress(
    clients: &impl ReadableTable<(&'static str, u128), (u64, u64)>,
    database: &str,
    client_ids: impl Iterator<Item = u128>,
) -> Result<HashMap<u128, ClientProgress>, LogError> {
    let mut found = HashMap::new();
    for client_id in client_ids {
        if let Some(value) = clients.get((database, client_id)).map_err(log_error)? {
            let (client_seq, server_seq) = value.value();
            found.insert(
                client_id,
                ClientProgress {
                    client_seq,
                    server_seq,
                },
            );
        }
    }
    Ok(found)
}

/// Marks an entry that records `seen` after its client sequence. Entries written before it
/// go straight on with the change set, whose first byte is its format version (1), never this.
const SEEN_MARK: u8 = 0xfe;

/// `client_id (16 LE) ++ client_seq (8 LE) ++ [SEEN_MARK] ++ seen (8 LE) ++ change set`.
fn encode_entry(client_id: u128, client_seq: u64, seen: u64, change_set: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(33 + change_set.len());
    bytes.extend_from_slice(&client_id.to_le_bytes());
    bytes.extend_from_slice(&client_seq.to_le_bytes());
    bytes.push(SEEN_MARK);
    bytes.extend_from_slice(&seen.to_le_bytes());
    bytes.extend_from_slice(change_set);
    bytes
}

fn decode_entry(seq: u64, bytes: &[u8]) -> Result<LogEntry, LogError> {
    if bytes.len() < 24 {
        return Err(LogError::from_message("truncated log entry".into()));
    }
    let (id, rest) = bytes.split_at(16);
    let (client_seq, rest) = rest.split_at(8);
    let (seen, change_set) = match rest.split_first() {
        Some((&SEEN_MARK, marked)) if marked.len() >= 8 => {
            let (seen, change_set) = marked.split_at(8);
            (
                u64::from_le_bytes(seen.try_into().map_err(log_error)?),
                change_set,
            )
        }
        // Logged before `seen` existed: assume its writer had seen everything.
        _ => (u64::MAX, rest),
    };
    Ok(LogEntry {
        seq,
        client_id: u128::from_le_bytes(id.try_into().map_err(log_error)?),
        client_seq: u64::from_le_bytes(client_seq.try_into().map_err(log_error)?),
        change_set: change_set.to_vec(),
        seen,
    })
}

#[async_trait]
impl SyncLog for RedbLog {
    async fn commit_batch(&self, database: &str, batch: &Batch<'_>) -> Result<Commit, LogError> {
        let write = self.db.begin_write().map_err(log_error)?;
        let seqs = {
            let mut log = write.open_table(LOG).map_err(log_error)?;
            let mut clients = write.open_table(CLIENTS).map_err(log_error)?;
            let stored = read_progress(&clients, database, batch.client_ids())?;
            let stored = |client_id| stored.get(&client_id).copied().unwrap_or_default();
            // One process writes this file, so this holds unless the file changed under us.
            if last_seq_in(&log, database)? != batch.after || !assumptions_hold(batch, stored) {
                return Ok(Commit::Behind);
            }
            let seqs: Vec<u64> = (batch.after + 1..).take(batch.accepted.len()).collect();
            let progress = progress_after(batch, &seqs, stored);
            for (append, &seq) in batch.accepted.iter().zip(&seqs) {
                let entry = encode_entry(
                    append.client_id,
                    append.client_seq,
                    append.seen,
                    append.change_set,
                );
                log.insert((database, seq), entry.as_slice())
                    .map_err(log_error)?;
            }
            for (client_id, progress) in progress {
                clients
                    .insert(
                        (database, client_id),
                        (progress.client_seq, progress.server_seq),
                    )
                    .map_err(log_error)?;
            }
            seqs
        };
        write.commit().map_err(log_error)?;
        Ok(Commit::Appended(seqs))
    }

    async fn entries_after(
        &self,
        database: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, LogError> {
        let read = self.db.begin_read().map_err(log_error)?;
        let log = read.open_table(LOG).map_err(log_error)?;
        let start = after_seq.saturating_add(1);
        log.range((database, start)..=(database, u64::MAX))
            .map_err(log_error)?
            .take(limit)
            .map(|item| {
                let (key, value) = item.map_err(log_error)?;
                decode_entry(key.value().1, value.value())
            })
            .collect()
    }

    async fn last_seq(&self, database: &str) -> Result<u64, LogError> {
        let read = self.db.begin_read().map_err(log_error)?;
        let log = read.open_table(LOG).map_err(log_error)?;
        last_seq_in(&log, database)
    }

    async fn clients_progress(
        &self,
        database: &str,
        client_ids: &[u128],
    ) -> Result<HashMap<u128, ClientProgress>, LogError> {
        let read = self.db.begin_read().map_err(log_error)?;
        let clients = read.open_table(CLIENTS).map_err(log_error)?;
        read_progress(&clients, database, client_ids.iter().copied())
    }
}
