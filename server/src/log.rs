//! The durable, totally ordered log of change sets per database, behind `SyncLog` so another
//! backend (e.g. PostgreSQL shared by several servers) can replace redb without touching sync.

use {
    idbsql::protocol::messages::LogEntry,
    redb::{Database, ReadableDatabase, ReadableTable, TableDefinition},
    std::path::Path,
    thiserror::Error,
};

#[derive(Debug, Error)]
#[error("log storage: {0}")]
pub struct LogError(String);

impl LogError {
    pub fn from_message(message: String) -> Self {
        LogError(message)
    }
}

fn log_error(error: impl std::fmt::Display) -> LogError {
    LogError(error.to_string())
}

/// What the server remembers of one client, so retried pushes apply once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientProgress {
    /// The highest client sequence number processed (accepted or rejected).
    pub client_seq: u64,
    /// The server sequence number it was given (0 when rejected).
    pub server_seq: u64,
}

pub trait SyncLog: Send + Sync + 'static {
    /// Durably, in one commit: appends accepted change sets (in order) and records each
    /// client's progress, rejections included so a retry of a rejected push is not applied
    /// later. Returns the accepted entries' sequence numbers.
    fn commit_batch(
        &self,
        database: &str,
        accepted: &[(u128, u64, u64, &[u8])],
        rejected: &[(u128, u64)],
    ) -> Result<Vec<u64>, LogError>;

    fn entries_after(
        &self,
        database: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, LogError>;

    fn last_seq(&self, database: &str) -> Result<u64, LogError>;

    fn client_progress(&self, database: &str, client_id: u128) -> Result<ClientProgress, LogError>;
}

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
        return Err(LogError("truncated log entry".into()));
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

impl SyncLog for RedbLog {
    fn commit_batch(
        &self,
        database: &str,
        accepted: &[(u128, u64, u64, &[u8])],
        rejected: &[(u128, u64)],
    ) -> Result<Vec<u64>, LogError> {
        let write = self.db.begin_write().map_err(log_error)?;
        let seqs = {
            let mut log = write.open_table(LOG).map_err(log_error)?;
            let mut clients = write.open_table(CLIENTS).map_err(log_error)?;
            let mut seq = last_seq_in(&log, database)?;
            let mut seqs = Vec::with_capacity(accepted.len());
            for &(client_id, client_seq) in rejected {
                clients
                    .insert((database, client_id), (client_seq, 0))
                    .map_err(log_error)?;
            }
            for &(client_id, client_seq, seen, change_set) in accepted {
                seq += 1;
                log.insert(
                    (database, seq),
                    encode_entry(client_id, client_seq, seen, change_set).as_slice(),
                )
                .map_err(log_error)?;
                let previous = clients
                    .get((database, client_id))
                    .map_err(log_error)?
                    .map(|v| v.value().0)
                    .unwrap_or(0);
                if client_seq >= previous {
                    clients
                        .insert((database, client_id), (client_seq, seq))
                        .map_err(log_error)?;
                }
                seqs.push(seq);
            }
            seqs
        };
        write.commit().map_err(log_error)?;
        Ok(seqs)
    }

    fn entries_after(
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

    fn last_seq(&self, database: &str) -> Result<u64, LogError> {
        let read = self.db.begin_read().map_err(log_error)?;
        let log = read.open_table(LOG).map_err(log_error)?;
        last_seq_in(&log, database)
    }

    fn client_progress(&self, database: &str, client_id: u128) -> Result<ClientProgress, LogError> {
        let read = self.db.begin_read().map_err(log_error)?;
        let clients = read.open_table(CLIENTS).map_err(log_error)?;
        Ok(clients
            .get((database, client_id))
            .map_err(log_error)?
            .map(|value| {
                let (client_seq, server_seq) = value.value();
                ClientProgress {
                    client_seq,
                    server_seq,
                }
            })
            .unwrap_or_default())
    }
}
