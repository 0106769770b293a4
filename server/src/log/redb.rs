//! The log in one redb file: an embedded, crash-safe B-tree store with ACID commits, written
//! by this process alone, reopened after an I/O error. Entry and key layouts are in
//! docs/format.md; sync logic is not here.

use {
    super::{
        assumptions_hold, log_error, progress_after, Batch, ClientProgress, Commit, LogError,
        SyncLog,
    },
    async_trait::async_trait,
    idbsql::protocol::messages::LogEntry,
    redb::{Database, ReadableDatabase, ReadableTable, TableDefinition},
    std::{
        collections::HashMap,
        path::{Path, PathBuf},
        sync::{Arc, Mutex},
    },
};

const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("log");
const CLIENTS: TableDefinition<(&str, u128), (u64, u64)> = TableDefinition::new("clients");

/// Why an operation on the file failed: redb's own error (an I/O one means reopening), or an
/// entry that does not decode.
enum Failure {
    Redb(redb::Error),
    Log(LogError),
}

/// Each of redb's error types, as the one `redb::Error` that tells an I/O failure apart.
macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for Failure {
            fn from(error: $error) -> Self {
                Failure::Redb(error.into())
            }
        }
    )*};
}

from_redb!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl From<Failure> for LogError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Redb(error) => log_error(error),
            Failure::Log(error) => error,
        }
    }
}

/// The log in one redb file: an embedded, crash-safe B-tree store with ACID commits.
///
/// After an I/O error (a full disk, a failing device) redb refuses every later operation on
/// that handle until the file is reopened. So the failed handle is dropped and the next
/// operation opens the file again (redb checks and repairs it on open): the server goes on
/// once the disk allows, without a restart, and what was committed before stays. Reopening
/// rather than exiting keeps the server's other work (sessions, catch-ups from memory) alive
/// and needs no supervisor.
pub struct RedbLog {
    path: PathBuf,
    /// The open handle; `None` after an I/O error until it is reopened.
    db: Mutex<Option<Arc<Database>>>,
}

fn open_file(path: &Path) -> Result<Database, redb::Error> {
    let db = Database::create(path)?;
    let write = db.begin_write()?;
    write.open_table(LOG)?;
    write.open_table(CLIENTS)?;
    write.commit()?;
    Ok(db)
}

impl RedbLog {
    pub fn open(path: &Path) -> Result<Self, LogError> {
        let db = open_file(path).map_err(log_error)?;
        Ok(Self {
            path: path.to_owned(),
            db: Mutex::new(Some(Arc::new(db))),
        })
    }

    /// The open handle, opening the file again if an I/O error closed it. While an operation
    /// that began before the error still holds the old handle, this fails (the file is locked)
    /// and a later call succeeds.
    fn handle(&self) -> Result<Arc<Database>, LogError> {
        let mut slot = self
            .db
            .lock()
            .map_err(|_| LogError::from_message("the log's handle lock is poisoned".into()))?;
        if let Some(db) = slot.as_ref() {
            return Ok(Arc::clone(db));
        }
        let db = Arc::new(open_file(&self.path).map_err(log_error)?);
        tracing::warn!(path = %self.path.display(), "log file reopened after an I/O error");
        *slot = Some(Arc::clone(&db));
        Ok(db)
    }

    /// Runs `work` on the open handle; after an I/O error, drops the handle so the next
    /// operation reopens the file.
    fn with<T>(&self, work: impl FnOnce(&Database) -> Result<T, Failure>) -> Result<T, LogError> {
        let db = self.handle()?;
        let result = work(&db);
        if let Err(Failure::Redb(redb::Error::Io(_) | redb::Error::PreviousIo)) = &result {
            if let Ok(mut slot) = self.db.lock() {
                if slot.as_ref().is_some_and(|open| Arc::ptr_eq(open, &db)) {
                    tracing::error!(path = %self.path.display(), "I/O error on the log file; it is reopened on the next operation");
                    *slot = None;
                }
            }
        }
        drop(db);
        result.map_err(LogError::from)
    }
}

/// The newest sequence number of `database` in a log table, read or write alike (0: empty).
fn last_seq_in(
    log: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    database: &str,
) -> Result<u64, Failure> {
    Ok(log
        .range((database, 0)..=(database, u64::MAX))?
        .next_back()
        .transpose()?
        .map_or(0, |(key, _)| key.value().1))
}

/// The stored progress of these clients (absent: never seen), in a read or write transaction.
fn read_progress(
    clients: &impl ReadableTable<(&'static str, u128), (u64, u64)>,
    database: &str,
    client_ids: impl Iterator<Item = u128>,
) -> Result<HashMap<u128, ClientProgress>, Failure> {
    let mut found = HashMap::new();
    for client_id in client_ids {
        if let Some(value) = clients.get((database, client_id))? {
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
        self.with(|db| {
            let write = db.begin_write()?;
            let seqs = {
                let mut log = write.open_table(LOG)?;
                let mut clients = write.open_table(CLIENTS)?;
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
                    log.insert((database, seq), entry.as_slice())?;
                }
                for (client_id, progress) in progress {
                    clients.insert(
                        (database, client_id),
                        (progress.client_seq, progress.server_seq),
                    )?;
                }
                seqs
            };
            write.commit()?;
            Ok(Commit::Appended(seqs))
        })
    }

    async fn entries_after(
        &self,
        database: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, LogError> {
        self.with(|db| {
            let read = db.begin_read()?;
            let log = read.open_table(LOG)?;
            let start = after_seq.saturating_add(1);
            log.range((database, start)..=(database, u64::MAX))?
                .take(limit)
                .map(|item| {
                    let (key, value) = item?;
                    decode_entry(key.value().1, value.value()).map_err(Failure::Log)
                })
                .collect()
        })
    }

    async fn rewrite_entries(
        &self,
        database: &str,
        rewritten: &[(u64, Option<Vec<u8>>)],
    ) -> Result<(), LogError> {
        self.with(|db| {
            let write = db.begin_write()?;
            {
                let mut log = write.open_table(LOG)?;
                for (seq, change_set) in rewritten {
                    let Some(change_set) = change_set else {
                        log.remove((database, *seq))?;
                        continue;
                    };
                    let Some(entry) = log
                        .get((database, *seq))?
                        .map(|stored| decode_entry(*seq, stored.value()))
                        .transpose()
                        .map_err(Failure::Log)?
                    else {
                        continue;
                    };
                    let bytes =
                        encode_entry(entry.client_id, entry.client_seq, entry.seen, change_set);
                    log.insert((database, *seq), bytes.as_slice())?;
                }
            }
            write.commit()?;
            Ok(())
        })
    }

    async fn last_seq(&self, database: &str) -> Result<u64, LogError> {
        self.with(|db| {
            let read = db.begin_read()?;
            let log = read.open_table(LOG)?;
            last_seq_in(&log, database)
        })
    }

    async fn clients_progress(
        &self,
        database: &str,
        client_ids: &[u128],
    ) -> Result<HashMap<u128, ClientProgress>, LogError> {
        self.with(|db| {
            let read = db.begin_read()?;
            let clients = read.open_table(CLIENTS)?;
            read_progress(&clients, database, client_ids.iter().copied())
        })
    }
}
