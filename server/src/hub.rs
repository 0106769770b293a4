//! Per-database server state: one writer task owns the replica (our store, native) that
//! validates pushes, commits them to the durable log in batches (one disk commit for all the
//! pushes waiting), and broadcasts entries to every client, in log order — its own and, when
//! the log is shared with other servers, theirs. Log storage itself lives in `log`.

use {
    crate::{
        compaction::{LastWrites, Pruned},
        fanout::{Fanout, Subscription},
        log::{Append, Batch, ClientProgress, Commit, LogError, SyncLog},
        quota::{self, Quotas},
    },
    idbsql::{
        protocol::{decode_change_set, encode_change_set, messages::LogEntry, ChangeSet},
        store::{MemoryStore, Refusal},
    },
    std::{
        collections::HashMap,
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
        time::{Duration, Instant},
    },
    tokio::{
        sync::{broadcast, mpsc, oneshot, Mutex, OnceCell},
        task::JoinHandle,
    },
};

/// Pushes committed together at most.
const MAX_BATCH: usize = 512;
/// Times a batch is decided again after another server appended first, before giving up.
const MAX_REDECIDE: usize = 64;

pub enum PushOutcome {
    Accepted {
        server_seq: u64,
    },
    /// Already processed earlier (a retry after a dropped connection).
    Duplicate {
        server_seq: u64,
    },
    Rejected {
        reason: String,
    },
}

struct PushRequest {
    client_id: u128,
    client_seq: u64,
    seen: u64,
    bytes: Vec<u8>,
    /// The pusher's token may change the schema, not only rows.
    schema: bool,
    reply: oneshot::Sender<Result<PushOutcome, LogError>>,
}

enum Work {
    Push(PushRequest),
    /// Another server appended to the log: read it, apply it, broadcast it.
    CatchUp,
}

pub struct DatabaseHub {
    queue: mpsc::UnboundedSender<Work>,
    fanout: Arc<Fanout>,
    connections: AtomicUsize,
    /// Of `connections`, those of read-only sessions.
    readers: AtomicUsize,
    /// When the last connection left (`None` while any is open).
    idle_since: std::sync::Mutex<Option<Instant>>,
}

fn writer_stopped() -> LogError {
    LogError::from_message("the database writer has stopped".into())
}

impl DatabaseHub {
    /// A queue of every entry committed from now on (see `fanout`).
    pub fn subscribe(&self) -> Subscription {
        self.fanout.subscribe()
    }

    /// Reserves a connection slot, or `None` when the database is at its limit. A read-only
    /// session may not take the last `reserved_for_writers` slots, so readers cannot lock
    /// writers out.
    pub fn try_connect(
        self: &Arc<Self>,
        limit: usize,
        reserved_for_writers: usize,
        read_only: bool,
    ) -> Option<ConnectionSlot> {
        if read_only {
            let readers_limit = limit.saturating_sub(reserved_for_writers);
            let previous = self.readers.fetch_add(1, Ordering::SeqCst);
            if previous >= readers_limit {
                self.readers.fetch_sub(1, Ordering::SeqCst);
                return None;
            }
        }
        let previous = self.connections.fetch_add(1, Ordering::SeqCst);
        if previous >= limit {
            self.connections.fetch_sub(1, Ordering::SeqCst);
            if read_only {
                self.readers.fetch_sub(1, Ordering::SeqCst);
            }
            return None;
        }
        self.set_idle(None);
        Some(ConnectionSlot {
            hub: Arc::clone(self),
            read_only,
        })
    }

    fn set_idle(&self, since: Option<Instant>) {
        if let Ok(mut idle) = self.idle_since.lock() {
            *idle = since;
        }
    }

    /// Nobody connected for at least `idle`, and no push waiting.
    fn idle_for(&self, idle: Duration) -> bool {
        self.connections.load(Ordering::SeqCst) == 0
            && self
                .idle_since
                .lock()
                .is_ok_and(|since| since.is_some_and(|since| since.elapsed() >= idle))
    }

    /// Queues a push for the writer; resolves once it is durable (or refused).
    pub async fn push(
        &self,
        client_id: u128,
        client_seq: u64,
        seen: u64,
        bytes: Vec<u8>,
        schema: bool,
    ) -> Result<PushOutcome, LogError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Work::Push(PushRequest {
                client_id,
                client_seq,
                seen,
                bytes,
                schema,
                reply,
            }))
            .map_err(|_| writer_stopped())?;
        answer.await.map_err(|_| writer_stopped())?
    }

    /// Tells the writer the log may have grown elsewhere.
    fn catch_up(&self) {
        let _ = self.queue.send(Work::CatchUp);
    }
}

/// Holds one of a database's connection slots until dropped.
pub struct ConnectionSlot {
    hub: Arc<DatabaseHub>,
    read_only: bool,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if self.read_only {
            self.hub.readers.fetch_sub(1, Ordering::SeqCst);
        }
        if self.hub.connections.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.hub.set_idle(Some(Instant::now()));
        }
    }
}

enum Decision {
    Accept {
        bytes: Vec<u8>,
        inverse: ChangeSet,
    },
    Duplicate {
        server_seq: u64,
    },
    Reject {
        reason: String,
    },
    /// Not decided: an earlier push of the batch panicked, and the replica is rebuilt before
    /// this one is decided (in the next round).
    Retry,
}

/// What a client is told when its push made the server fail inside: the detail is in the
/// server's log, not sent (it may hold internal state).
const INTERNAL_REJECT: &str = "the server failed while applying this change; it was not applied";

struct Writer {
    name: String,
    log: Arc<dyn SyncLog>,
    replica: MemoryStore,
    /// The last log entry applied to the replica (and broadcast).
    position: u64,
    fanout: Arc<Fanout>,
    /// A panic left the replica in an unknown state: it is rebuilt from the log before the
    /// next decision.
    poisoned: bool,
    quotas: Quotas,
    /// Bytes of change sets the log holds for this database.
    logged_bytes: u64,
    /// Bytes the log held right after its last compaction (or when the replica was built).
    compacted_bytes: u64,
    /// The log is compacted once it holds this much and 1.5 × `compacted_bytes`.
    compact_from_bytes: u64,
}

impl Writer {
    async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Work>) {
        while let Some(first) = queue.recv().await {
            let mut batch = Vec::new();
            let mut catch_up = false;
            let mut next = Some(first);
            while let Some(work) = next.take() {
                match work {
                    Work::Push(request) => batch.push(request),
                    Work::CatchUp => catch_up = true,
                }
                if batch.len() < MAX_BATCH {
                    next = queue.try_recv().ok();
                }
            }
            if catch_up {
                if let Err(error) = self.catch_up().await {
                    tracing::error!(database = %self.name, %error, "cannot read the log");
                }
            }
            while !batch.is_empty() {
                self.heal().await;
                batch = self.process(batch).await;
            }
            self.heal().await;
            // Half again what compaction left: the log stays within 1.5× its data (plus one
            // batch), and each byte written is compacted about three times at most.
            let threshold = self.compacted_bytes + self.compacted_bytes / 2;
            if self.logged_bytes >= self.compact_from_bytes.max(threshold) {
                if let Err(error) = self.compact().await {
                    tracing::error!(database = %self.name, %error, "log compaction failed");
                    // Not tried again until the log has grown by half once more.
                    self.compacted_bytes = self.logged_bytes;
                }
            }
        }
    }

    /// Takes superseded row writes out of the log up to the replica's position, and entries
    /// left empty that their writers saw (see `compaction`), so its size follows the data
    /// rather than its history. Runs between
    /// batches, on a shared log under the write turn; the CPU work runs off the async runtime.
    async fn compact(&mut self) -> Result<(), LogError> {
        if self.poisoned {
            return Ok(());
        }
        let turn = self.log.write_turn(&self.name).await?;
        let result = self.compact_under_turn(turn.is_some()).await;
        if let Some(turn) = turn {
            turn.release().await;
        }
        result
    }

    async fn compact_under_turn(&mut self, shared: bool) -> Result<(), LogError> {
        if shared {
            self.catch_up().await?;
        }
        let until = self.position;
        let started = Instant::now();
        let mut last = LastWrites::default();
        // Pass one: the last write of every row; pass two: each page without what is superseded.
        let mut after = 0;
        loop {
            let entries = log_page(&*self.log, &self.name, after, Some(until)).await?;
            let Some(end) = entries.last().map(|entry| entry.seq) else {
                break;
            };
            last = blocking(move || {
                for entry in &entries {
                    last.record(entry)?;
                }
                Ok(last)
            })
            .await?;
            after = end;
        }
        let last = Arc::new(last);
        let (mut after, mut bytes, mut rewritten) = (0, 0u64, 0usize);
        loop {
            let entries = log_page(&*self.log, &self.name, after, Some(until)).await?;
            let Some(end) = entries.last().map(|entry| entry.seq) else {
                break;
            };
            let last = Arc::clone(&last);
            let (pruned, kept) = blocking(move || {
                let mut pruned = Vec::new();
                let mut kept = 0u64;
                for entry in &entries {
                    match last.prune(entry)? {
                        Pruned::Kept => kept += entry.change_set.len() as u64,
                        Pruned::Rewritten(change_set) => {
                            kept += change_set.len() as u64;
                            pruned.push((entry.seq, Some(change_set)));
                        }
                        Pruned::Removed => pruned.push((entry.seq, None)),
                    }
                }
                Ok((pruned, kept))
            })
            .await?;
            if !pruned.is_empty() {
                self.log.rewrite_entries(&self.name, &pruned).await?;
            }
            bytes += kept;
            rewritten += pruned.len();
            after = end;
        }
        // Under the turn `until` is the log's head: `bytes` is all the log holds. (Another
        // server's writer of this database still counts the history until it rebuilds: its
        // quota is the stricter for it, never the looser.)
        tracing::info!(database = %self.name, before = self.logged_bytes, after = bytes, rewritten, elapsed = ?started.elapsed(), "log compacted");
        self.logged_bytes = bytes;
        self.compacted_bytes = bytes;
        Ok(())
    }

    /// Rebuilds a poisoned replica from the log, up to the position it had reached: what it
    /// held is exactly what the log holds.
    async fn heal(&mut self) {
        if !self.poisoned {
            return;
        }
        match replay(&*self.log, &self.name, Some(self.position)).await {
            Ok((replica, position, logged_bytes)) => {
                self.logged_bytes = logged_bytes;
                tracing::warn!(database = %self.name, position, "replica rebuilt from the log");
                self.replica = replica;
                self.position = position;
                self.poisoned = false;
            }
            Err(error) => {
                tracing::error!(database = %self.name, %error, "cannot rebuild the replica");
            }
        }
    }

    /// Applies and broadcasts every entry other servers appended after `position`.
    async fn catch_up(&mut self) -> Result<(), LogError> {
        loop {
            let entries = log_page(&*self.log, &self.name, self.position, None).await?;
            if entries.is_empty() {
                return Ok(());
            }
            for entry in entries {
                match contained(|| apply_entry(&mut self.replica, &entry)) {
                    Ok(Ok(())) => {}
                    // Another server validated it against the same history; this is a bug.
                    Ok(Err(error)) => {
                        tracing::error!(database = %self.name, seq = entry.seq, %error, "a logged entry does not apply")
                    }
                    Err(panic) => {
                        tracing::error!(database = %self.name, seq = entry.seq, %panic, "applying a logged entry panicked");
                        self.poisoned = true;
                    }
                }
                self.position = entry.seq;
                self.logged_bytes += entry.change_set.len() as u64;
                self.fanout.publish(Arc::new(entry));
            }
        }
    }

    /// Decides the batch against the replica, commits it in one durable write, then
    /// broadcasts and answers.
    /// Returns the pushes left undecided (after a panic), to process again once healed.
    async fn process(&mut self, batch: Vec<PushRequest>) -> Vec<PushRequest> {
        // On a shared log, wait for this database's turn and catch up under it: the batch is
        // then decided on the log's latest state and nobody appends before it commits.
        let turn = match self.log.write_turn(&self.name).await {
            Ok(turn) => turn,
            Err(error) => {
                self.fail(batch, Vec::new(), error);
                return Vec::new();
            }
        };
        let caught_up = match &turn {
            Some(_) => self.catch_up().await,
            None => Ok(()),
        };
        let retry = match caught_up {
            Ok(()) if self.poisoned => batch,
            Ok(()) => self.decide_and_commit(batch).await,
            Err(error) => {
                self.fail(batch, Vec::new(), error);
                Vec::new()
            }
        };
        if let Some(turn) = turn {
            turn.release().await;
        }
        retry
    }

    /// The head check in the commit is what keeps the order total; the turn only spares the
    /// wasted work. When another writer appended first anyway, takes the decisions back off,
    /// catches up and decides again (a lost race is never a rejection).
    async fn decide_and_commit(&mut self, batch: Vec<PushRequest>) -> Vec<PushRequest> {
        for _ in 0..MAX_REDECIDE {
            // Once per client: a batch holds many pushes of few clients.
            let mut ids: Vec<u128> = batch.iter().map(|request| request.client_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let stored = match self.log.clients_progress(&self.name, &ids).await {
                Ok(stored) => stored,
                Err(error) => {
                    self.fail(batch, Vec::new(), error);
                    return Vec::new();
                }
            };
            let (decisions, assumed) = self.decide(&batch, &stored);
            let mut accepted = Vec::new();
            let mut rejected = Vec::new();
            for (request, decision) in batch.iter().zip(&decisions) {
                match decision {
                    Decision::Accept { bytes, .. } => accepted.push(Append {
                        client_id: request.client_id,
                        client_seq: request.client_seq,
                        seen: request.seen,
                        change_set: bytes,
                    }),
                    Decision::Reject { .. } => {
                        rejected.push((request.client_id, request.client_seq))
                    }
                    Decision::Duplicate { .. } | Decision::Retry => {}
                }
            }
            let commit = if accepted.is_empty() && rejected.is_empty() {
                Ok(Commit::Appended(Vec::new()))
            } else {
                let batch = Batch {
                    after: self.position,
                    assumed: &assumed,
                    accepted: &accepted,
                    rejected: &rejected,
                };
                self.log.commit_batch(&self.name, &batch).await
            };
            match commit {
                Ok(Commit::Appended(seqs)) => return self.answer(batch, decisions, seqs),
                Ok(Commit::Behind) if self.poisoned => {
                    // Decided on a replica a panic spoiled: nothing of it is committed, and
                    // the whole batch is decided again once the replica is rebuilt.
                    return batch;
                }
                Ok(Commit::Behind) => {
                    tracing::debug!(database = %self.name, "another server appended first; deciding again");
                    self.undo(decisions);
                    if let Err(error) = self.catch_up().await {
                        self.fail(batch, Vec::new(), error);
                        return Vec::new();
                    }
                }
                Err(error) => {
                    self.fail(batch, decisions, error);
                    return Vec::new();
                }
            }
        }
        let error = LogError::from_message("other servers kept appending first".into());
        self.fail(batch, Vec::new(), error);
        Vec::new()
    }

    /// Each push's decision, validated against the replica as updated by the ones before it,
    /// and the stored client progress the decisions relied on.
    fn decide(
        &mut self,
        batch: &[PushRequest],
        stored: &HashMap<u128, ClientProgress>,
    ) -> (Vec<Decision>, Vec<(u128, ClientProgress)>) {
        let mut progress: HashMap<u128, ClientProgress> = HashMap::new();
        let mut assumed = Vec::new();
        let mut decisions = Vec::with_capacity(batch.len());
        // What the batch's accepted pushes add to the log, before it is written.
        let mut adding = 0u64;
        for request in batch {
            let known = *progress.entry(request.client_id).or_insert_with(|| {
                let known = stored.get(&request.client_id).copied().unwrap_or_default();
                assumed.push((request.client_id, known));
                known
            });
            let decision = if self.poisoned {
                Decision::Retry
            } else if request.client_seq <= known.client_seq {
                Decision::Duplicate {
                    server_seq: if request.client_seq == known.client_seq {
                        known.server_seq
                    } else {
                        0
                    },
                }
            } else {
                match contained(|| self.validate(&request.bytes, request.schema, adding)) {
                    Ok(Ok((bytes, inverse))) => {
                        adding += bytes.len() as u64;
                        Decision::Accept { bytes, inverse }
                    }
                    Ok(Err(reason)) => Decision::Reject { reason },
                    Err(panic) => {
                        tracing::error!(database = %self.name, client_seq = request.client_seq, %panic, "a push panicked the writer; rebuilding the replica");
                        self.poisoned = true;
                        Decision::Reject {
                            reason: INTERNAL_REJECT.to_owned(),
                        }
                    }
                }
            };
            if !matches!(decision, Decision::Duplicate { .. } | Decision::Retry) {
                progress.insert(
                    request.client_id,
                    ClientProgress {
                        client_seq: request.client_seq,
                        server_seq: 0,
                    },
                );
            }
            decisions.push(decision);
        }
        (decisions, assumed)
    }

    /// The batch is durable: broadcast the accepted entries in order and answer everyone.
    /// Returns the pushes not decided (after a panic), to be decided again.
    fn answer(
        &mut self,
        batch: Vec<PushRequest>,
        decisions: Vec<Decision>,
        seqs: Vec<u64>,
    ) -> Vec<PushRequest> {
        if let Some(&last) = seqs.last() {
            self.position = last;
        }
        let mut retry = Vec::new();
        let mut seqs = seqs.into_iter();
        for (request, decision) in batch.into_iter().zip(decisions) {
            let outcome = match decision {
                Decision::Retry => {
                    retry.push(request);
                    continue;
                }
                Decision::Accept { bytes, .. } => {
                    let server_seq = seqs.next().unwrap_or_default();
                    self.logged_bytes += bytes.len() as u64;
                    self.fanout.publish(Arc::new(LogEntry {
                        seq: server_seq,
                        client_id: request.client_id,
                        client_seq: request.client_seq,
                        change_set: bytes,
                        seen: request.seen,
                    }));
                    PushOutcome::Accepted { server_seq }
                }
                Decision::Duplicate { server_seq } => PushOutcome::Duplicate { server_seq },
                Decision::Reject { reason } => PushOutcome::Rejected { reason },
            };
            let _ = request.reply.send(Ok(outcome));
        }
        retry
    }

    /// Checks a pushed change set and applies it to the replica, returning the bytes to log
    /// (the server's version of it) and the inverse that takes it back off.
    /// `adding`: bytes earlier pushes of the batch add to the log.
    fn validate(
        &mut self,
        bytes: &[u8],
        schema: bool,
        adding: u64,
    ) -> Result<(Vec<u8>, ChangeSet), String> {
        let change_set = decode_change_set(bytes).map_err(|e| e.to_string())?;
        if !schema && changes_schema(&change_set) {
            return Err(NO_SCHEMA_RIGHT.to_owned());
        }
        self.quotas
            .admits_log(self.logged_bytes + adding, bytes.len() as u64)?;
        let before = quota::usage(&self.replica);
        let (logged, inverse) = self.apply_checked(change_set)?;
        if let Err(reason) = self
            .quotas
            .admits_growth(before, quota::usage(&self.replica))
        {
            // Applied, so taken back off: the replica is as it was.
            if let Err(undo) = self.replica.apply_change_set(inverse) {
                tracing::error!(database = %self.name, %undo, "replica could not be rolled back");
                self.poisoned = true;
            }
            return Err(reason);
        }
        Ok((logged, inverse))
    }

    /// Checks a change set against the replica and applies it: the bytes to log and the
    /// inverse that takes it back off.
    fn apply_checked(&mut self, change_set: ChangeSet) -> Result<(Vec<u8>, ChangeSet), String> {
        test_panic::maybe(&change_set);
        let encode = |accepted: &ChangeSet| encode_change_set(accepted).map_err(|e| e.to_string());
        self.replica
            .accept_remote_as(change_set, encode)
            .map_err(|refusal| match refusal {
                Refusal::Invalid(reason) => reason,
                Refusal::Failed(error) => {
                    // All or nothing, so the replica is as it was; the check should have caught it.
                    tracing::error!(database = %self.name, %error, "a checked change set did not apply");
                    INTERNAL_REJECT.to_owned()
                }
            })
    }

    /// Takes accepted decisions back off the replica, newest first.
    fn undo(&mut self, decisions: Vec<Decision>) {
        for decision in decisions.into_iter().rev() {
            if let Decision::Accept { inverse, .. } = decision {
                if let Err(undo) = self.replica.apply_change_set(inverse) {
                    tracing::error!(database = %self.name, %undo, "replica could not be rolled back");
                    self.poisoned = true;
                }
            }
        }
    }

    /// The log could not be written: take the batch back off the replica and report.
    fn fail(&mut self, batch: Vec<PushRequest>, decisions: Vec<Decision>, error: LogError) {
        self.undo(decisions);
        tracing::error!(database = %self.name, %error, "log write failed");
        for request in batch {
            let _ = request.reply.send(Err(error.clone()));
        }
    }
}

/// Runs CPU-bound `work` off the async runtime (a panic becomes an error).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, LogError> {
    tokio::task::spawn_blocking(move || contained(work).and_then(|result| result))
        .await
        .map_err(|e| LogError::from_message(format!("a blocking task failed: {e}")))?
        .map_err(LogError::from_message)
}

/// Runs `work`, turning a panic into an error with its message. A server built with
/// `panic = "unwind"` (the `server` profile) keeps a panic inside the one database whose work
/// raised it; built to abort, the process stops (main warns about that at start).
fn contained<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic".to_owned())
    })
}

fn apply_entry(replica: &mut MemoryStore, entry: &LogEntry) -> Result<(), String> {
    let change_set = decode_change_set(&entry.change_set).map_err(|e| e.to_string())?;
    replica
        .apply_change_set(change_set)
        .map_err(|e| e.to_string())
}

/// The next page of `name`'s log after `after`, up to `until` when given (empty: no more).
async fn log_page(
    log: &dyn SyncLog,
    name: &str,
    after: u64,
    until: Option<u64>,
) -> Result<Vec<LogEntry>, LogError> {
    let mut entries = log.entries_after(name, after, 1000).await?;
    if let Some(until) = until {
        entries.retain(|entry| entry.seq <= until);
    }
    Ok(entries)
}

/// A database's replica rebuilt from its log, up to `until` (the whole log without it), and
/// the position it reached. A panic while applying is an error here, not a crash.
async fn replay(
    log: &dyn SyncLog,
    name: &str,
    until: Option<u64>,
) -> Result<(MemoryStore, u64, u64), LogError> {
    let mut replica = MemoryStore::new();
    let mut after = 0;
    let mut bytes = 0u64;
    loop {
        let entries = log_page(log, name, after, until).await?;
        let Some(last) = entries.last().map(|entry| entry.seq) else {
            break;
        };
        bytes += entries
            .iter()
            .map(|entry| entry.change_set.len() as u64)
            .sum::<u64>();
        // Applying is CPU work (seconds for a big log): off the async runtime, so the
        // sessions of other databases are not held up behind it.
        replica = blocking(move || {
            for entry in &entries {
                contained(|| apply_entry(&mut replica, entry))
                    .and_then(|applied| applied)
                    .map_err(|error| format!("entry {}: {error}", entry.seq))?;
            }
            Ok(replica)
        })
        .await?;
        after = last;
        if until.is_some_and(|until| after >= until) {
            break;
        }
    }
    Ok((replica, after, bytes))
}

/// Debug builds only: with `IDBSQL_TEST_PANIC_TABLE` set, a push touching that table panics
/// the writer, so the tests can show a panic stays inside its database. Release builds have
/// no such switch.
mod test_panic {
    #[cfg(debug_assertions)]
    pub fn maybe(change_set: &idbsql::protocol::ChangeSet) {
        if let Ok(table) = std::env::var("IDBSQL_TEST_PANIC_TABLE") {
            if change_set.tables.iter().any(|t| t.name == table) {
                panic!("IDBSQL_TEST_PANIC_TABLE: a push touched {table}");
            }
        }
    }

    #[cfg(not(debug_assertions))]
    pub fn maybe(_: &idbsql::protocol::ChangeSet) {}
}

pub struct Hub {
    pub log: Arc<dyn SyncLog>,
    quotas: Quotas,
    /// Bytes one session's queue of live entries may hold (see `fanout`).
    max_queued_bytes: usize,
    /// A database's log is compacted from this size on (see `Writer::compact`).
    compact_from_bytes: u64,
    /// Each database's hub, made once: the map's lock is held only to find the cell, so a
    /// database rebuilding from a long log does not hold up the others.
    databases: Mutex<HashMap<String, Arc<OnceCell<Arc<DatabaseHub>>>>>,
    writers: Mutex<Vec<JoinHandle<()>>>,
}

impl Hub {
    pub fn new(
        log: Arc<dyn SyncLog>,
        quotas: Quotas,
        max_queued_bytes: usize,
        compact_from_bytes: u64,
    ) -> Self {
        Self {
            log,
            quotas,
            max_queued_bytes,
            compact_from_bytes,
            databases: Mutex::new(HashMap::new()),
            writers: Mutex::new(Vec::new()),
        }
    }

    /// The hub of `name`, its replica rebuilt from the log on first use.
    pub async fn database(&self, name: &str) -> Result<Arc<DatabaseHub>, LogError> {
        let cell = Arc::clone(
            self.databases
                .lock()
                .await
                .entry(name.to_owned())
                .or_default(),
        );
        let mut made = false;
        let hub = cell
            .get_or_try_init(|| {
                made = true;
                self.open(name)
            })
            .await?;
        if made {
            // Another server's append that arrived while this replica was being rebuilt found
            // no hub to tell; the new writer looks once for itself.
            hub.catch_up();
        }
        Ok(Arc::clone(hub))
    }

    /// Rebuilds `name`'s replica from the log and starts its writer.
    async fn open(&self, name: &str) -> Result<Arc<DatabaseHub>, LogError> {
        let (replica, after, logged_bytes) = replay(&*self.log, name, None).await?;
        let (queue, requests) = mpsc::unbounded_channel();
        let fanout = Arc::new(Fanout::new(self.max_queued_bytes));
        let writer = Writer {
            name: name.to_owned(),
            log: Arc::clone(&self.log),
            replica,
            position: after,
            fanout: Arc::clone(&fanout),
            poisoned: false,
            quotas: self.quotas,
            logged_bytes,
            compacted_bytes: logged_bytes,
            compact_from_bytes: self.compact_from_bytes,
        };
        self.writers
            .lock()
            .await
            .push(tokio::spawn(writer.run(requests)));
        let hub = Arc::new(DatabaseHub {
            queue,
            fanout,
            connections: AtomicUsize::new(0),
            readers: AtomicUsize::new(0),
            idle_since: std::sync::Mutex::new(Some(Instant::now())),
        });
        Ok(hub)
    }

    /// Forwards other servers' appends to the writers of the databases open here; the hub
    /// lock orders this after a replica's rebuild, so no append falls between the two.
    pub async fn follow(self: Arc<Self>, mut appends: broadcast::Receiver<String>) {
        loop {
            let database = match appends.recv().await {
                Ok(database) => database,
                Err(broadcast::error::RecvError::Lagged(_)) => String::new(),
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let databases = self.databases.lock().await;
            if database.is_empty() {
                databases
                    .values()
                    .filter_map(|cell| cell.get())
                    .for_each(|hub| hub.catch_up());
            } else if let Some(hub) = databases.get(&database).and_then(|cell| cell.get()) {
                hub.catch_up();
            }
        }
    }

    /// Databases with a replica in memory.
    pub async fn open_databases(&self) -> usize {
        let databases = self.databases.lock().await;
        databases.values().filter(|cell| cell.initialized()).count()
    }

    /// Every `idle / 4`, drops the replicas of databases nobody used for `idle`: their writer
    /// ends once its queue is dropped, and the next connection rebuilds them from the log.
    pub async fn sweep_idle(self: Arc<Self>, idle: Duration) {
        let period = (idle / 4).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(period).await;
            let mut databases = self.databases.lock().await;
            // Only the map holds an idle hub: no session is between lookup and connect. A cell
            // still being filled is kept while someone fills it.
            databases.retain(|_, cell| match cell.get() {
                Some(hub) => !(hub.idle_for(idle) && Arc::strong_count(hub) == 1),
                None => Arc::strong_count(cell) > 1,
            });
            drop(databases);
            self.writers
                .lock()
                .await
                .retain(|writer| !writer.is_finished());
        }
    }

    /// Stops every database writer (after the sessions are gone) and waits for them, so the
    /// log is released.
    pub async fn shutdown(&self) {
        self.databases.lock().await.clear();
        for writer in self.writers.lock().await.drain(..) {
            // A session that outlived the server's stop still holds its hub; do not hang on it.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer).await;
        }
    }
}

/// Why a push is refused to a token without the schema right.
const NO_SCHEMA_RIGHT: &str = "this token may write rows but not change the schema (CREATE, \
                               ALTER or DROP of a table, view, index or function)";

/// Whether a change set creates, alters or drops a table, or a view, index or function (views
/// and indexes travel as rows of idbsql's objects table).
fn changes_schema(change_set: &ChangeSet) -> bool {
    !change_set.functions.is_empty()
        || change_set.tables.iter().any(|table| {
            table.schema != idbsql::protocol::SchemaChange::Unchanged
                || table.name == idbsql::engine::OBJECTS_TABLE
        })
}
