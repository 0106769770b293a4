//! The durable, totally ordered log of change sets per database, behind `SyncLog`: redb in one
//! process (the default) or PostgreSQL shared by several servers. Sync logic does not live here.

mod postgres;
mod redb;
mod tls;

pub use {postgres::PostgresLog, redb::RedbLog};

use {
    async_trait::async_trait, idbsql::protocol::messages::LogEntry, std::collections::HashMap,
    thiserror::Error, tokio::sync::broadcast,
};

#[derive(Debug, Clone, Error)]
#[error("log storage: {0}")]
pub struct LogError(String);

impl LogError {
    pub fn from_message(message: String) -> Self {
        LogError(message)
    }
}

pub(crate) fn log_error(error: impl std::fmt::Display) -> LogError {
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

/// A change set the writer accepted, to be appended in batch order.
#[derive(Debug, Clone, Copy)]
pub struct Append<'a> {
    pub client_id: u128,
    pub client_seq: u64,
    /// The last server sequence number its writer had seen.
    pub seen: u64,
    pub change_set: &'a [u8],
}

/// One writer's decisions, valid only on the log state they were made against.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The log position the writer's replica stood at: the batch goes right after it.
    pub after: u64,
    /// Each client's progress as read when deciding (duplicates were judged by it).
    pub assumed: &'a [(u128, ClientProgress)],
    pub accepted: &'a [Append<'a>],
    /// `(client_id, client_seq)` of refused pushes, recorded so a retry is not applied later.
    pub rejected: &'a [(u128, u64)],
}

impl Batch<'_> {
    /// Every client the batch reads or writes the progress of, once each.
    pub fn client_ids(&self) -> impl Iterator<Item = u128> {
        self.assumed
            .iter()
            .map(|(client_id, _)| *client_id)
            .chain(self.accepted.iter().map(|append| append.client_id))
            .chain(self.rejected.iter().map(|(client_id, _)| *client_id))
            .collect::<std::collections::BTreeSet<u128>>()
            .into_iter()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Commit {
    /// Durable; the accepted entries' sequence numbers, in order.
    Appended(Vec<u64>),
    /// Another writer got there first (the log grew past `after`, or an assumed client
    /// progress changed): nothing was written; catch up and decide again.
    Behind,
}

/// A database's write turn on a log shared by several servers: while one server holds it, the
/// others' writers wait instead of deciding on a state that is about to change.
#[async_trait]
pub trait WriteTurn: Send {
    async fn release(self: Box<Self>);
}

#[async_trait]
pub trait SyncLog: Send + Sync + 'static {
    /// Waits for `database`'s write turn when other servers write this log too; `None` when
    /// this process is its only writer.
    async fn write_turn(&self, _database: &str) -> Result<Option<Box<dyn WriteTurn>>, LogError> {
        Ok(None)
    }

    /// Durably, in one commit: appends the accepted change sets (in order) right after
    /// `batch.after` and records each client's progress, rejections included — or nothing,
    /// with `Commit::Behind`, when the log is no longer where the batch was decided.
    async fn commit_batch(&self, database: &str, batch: &Batch<'_>) -> Result<Commit, LogError>;

    async fn entries_after(
        &self,
        database: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, LogError>;

    async fn last_seq(&self, database: &str) -> Result<u64, LogError>;

    /// Replaces the change sets of these entries, keeping each entry's place, client, client
    /// sequence and `seen`; `None` takes the entry out of the log (compaction: see
    /// `compaction`). One commit for all of them.
    async fn rewrite_entries(
        &self,
        database: &str,
        rewritten: &[(u64, Option<Vec<u8>>)],
    ) -> Result<(), LogError>;

    /// The progress of each client asked for (default for clients never seen).
    async fn clients_progress(
        &self,
        database: &str,
        client_ids: &[u128],
    ) -> Result<HashMap<u128, ClientProgress>, LogError>;

    async fn client_progress(
        &self,
        database: &str,
        client_id: u128,
    ) -> Result<ClientProgress, LogError> {
        Ok(self
            .clients_progress(database, &[client_id])
            .await?
            .remove(&client_id)
            .unwrap_or_default())
    }

    /// For a log other servers append to: names of databases they appended to (an empty
    /// name: any database may have grown, e.g. after notifications could have been missed).
    fn appends_elsewhere(&self) -> Option<broadcast::Receiver<String>> {
        None
    }
}

/// Whether `current` still holds what the batch assumed of every client.
pub(crate) fn assumptions_hold(
    batch: &Batch<'_>,
    current: impl Fn(u128) -> ClientProgress,
) -> bool {
    batch
        .assumed
        .iter()
        .all(|&(client_id, assumed)| current(client_id) == assumed)
}

/// The client progress rows a committed batch leaves: a rejection records its client sequence
/// (server sequence 0); an accepted entry records its own unless a later one was recorded.
pub(crate) fn progress_after(
    batch: &Batch<'_>,
    seqs: &[u64],
    current: impl Fn(u128) -> ClientProgress,
) -> HashMap<u128, ClientProgress> {
    let mut progress: HashMap<u128, ClientProgress> = HashMap::new();
    for &(client_id, client_seq) in batch.rejected {
        progress.insert(
            client_id,
            ClientProgress {
                client_seq,
                server_seq: 0,
            },
        );
    }
    for (append, &seq) in batch.accepted.iter().zip(seqs) {
        let previous = progress
            .get(&append.client_id)
            .copied()
            .unwrap_or_else(|| current(append.client_id));
        if append.client_seq >= previous.client_seq {
            progress.insert(
                append.client_id,
                ClientProgress {
                    client_seq: append.client_seq,
                    server_seq: seq,
                },
            );
        }
    }
    progress
}
