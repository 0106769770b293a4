//! The sync client's state machine, free of browser and network types: local commits become
//! pending change sets, remote entries are applied in server order with the pending ones
//! rebased on top, rejections roll back. A transport feeds it messages and sends its output.

mod replica;

pub use replica::SyncReplica;

use {
    crate::{
        error::{DbError, ErrorCode},
        protocol::{
            decode_change_set, encode_change_set,
            messages::{ClientMessage, ErrorKind, LogEntry, ServerMessage, PROTOCOL_VERSION},
            ChangeSet,
        },
        store::{check_definitions, MemoryStore},
    },
    gluesql_core::data::{Key, Value},
    serde::{Deserialize, Serialize},
    std::collections::{BTreeSet, HashMap, VecDeque},
};

/// What a sync client keeps on disk besides its outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMeta {
    /// Proves this client's identity in Hello; never sent elsewhere (see `Hello`).
    pub client_secret: u128,
    pub next_client_seq: u64,
    pub last_seen_seq: u64,
}

/// First byte of the sync state's current layout. The layout before it (0.1.0, protocol 2)
/// began with the client id's varint, whose first byte is 0x80 or more for any minted id.
const SYNC_META_LAYOUT: u8 = 2;

fn sync_state_error(error: postcard::Error) -> DbError {
    DbError::new(ErrorCode::Format, format!("sync state: {error}"))
}

impl SyncMeta {
    /// The bytes persistence keeps: the layout byte, then postcard.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = vec![SYNC_META_LAYOUT];
        bytes.extend(postcard::to_allocvec(self).unwrap_or_default());
        bytes
    }

    /// The stored state, and whether it was re-keyed: state written before protocol 3 held a
    /// client id every broadcast showed, so it is replaced by a fresh secret (the caller
    /// stores it before connecting). Positions are kept.
    pub fn decode(bytes: &[u8]) -> Result<(Self, bool), DbError> {
        match bytes.split_first() {
            Some((&SYNC_META_LAYOUT, body)) => {
                Ok((postcard::from_bytes(body).map_err(sync_state_error)?, false))
            }
            _ => {
                let (_public, next_client_seq, last_seen_seq): (u128, u64, u64) =
                    postcard::from_bytes(bytes).map_err(sync_state_error)?;
                let meta = Self {
                    client_secret: uuid::Uuid::new_v4().as_u128(),
                    next_client_seq,
                    last_seen_seq,
                };
                Ok((meta, true))
            }
        }
    }

    pub fn fresh() -> Self {
        Self {
            client_secret: uuid::Uuid::new_v4().as_u128(),
            next_client_seq: 1,
            last_seen_seq: 0,
        }
    }
}

struct Pending {
    client_seq: u64,
    change_set: ChangeSet,
    bytes: Vec<u8>,
    /// Applied right after the change set, restores the state before it.
    inverse: ChangeSet,
    /// Whether it is applied in memory now. After a reset a change set that needs the
    /// confirmed state (its table) waits unapplied for the catch-up (see `redo_pending`).
    applied: bool,
    /// The newest server entry seen when it was committed (at most; see `Push::seen`).
    seen: u64,
}

/// Rows our confirmed writes were last seen under, kept for conflict detection; past this
/// many the oldest are forgotten (a conflict on them goes unreported).
const OWN_WRITES_KEPT: usize = 100_000;

/// What the application is told about.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// Remote change sets were applied; these tables changed.
    RemoteApplied { tables: Vec<String> },
    /// The server refused one of our change sets; it has been rolled back here.
    Rejected { client_seq: u64, reason: String },
    /// The server ended the session with an error (bad token, read-only, …).
    ServerError {
        message: String,
        /// The server's reason, when it sent one: "unauthorized" (a missing, expired or
        /// forged token), "read_only", "protocol", "too_many_connections", "rate_limited",
        /// "internal".
        code: Option<&'static str>,
    },
    /// The server's log is behind what this client had seen (wiped, or restored from a
    /// backup): the confirmed state was dropped, unconfirmed changes kept on top, and the
    /// client reconnects to catch up from the server's log and push them again.
    Reset { server_seq: u64, had_seen: u64 },
    /// A remote change overwrote (or deleted) a row this client had written, and its writer
    /// had not seen that write: last writer wins, and this says what was lost.
    Conflict {
        table: String,
        columns: Vec<String>,
        key: Value,
        /// Our row before the remote change (`None`: it was gone already).
        local: Option<Vec<Value>>,
        /// The remote row (`None`: a delete).
        remote: Option<Vec<Value>>,
    },
}

/// What handling a server message changed, for persistence: remote entries now confirmed
/// (in server order) and outbox entries that left the outbox (confirmed or rejected).
#[derive(Debug, Default)]
pub struct SyncEffects {
    pub confirmed: Vec<Vec<u8>>,
    pub removed: Vec<u64>,
    /// The confirmed state was dropped (see `SyncEvent::Reset`): the stored checkpoint and
    /// log are replaced by the state now in memory.
    pub reset: bool,
}

pub struct SyncState {
    meta: SyncMeta,
    pending: VecDeque<Pending>,
    /// Highest client_seq pushed on the current connection.
    pushed_up_to: u64,
    /// After Welcome: the client_seq the server had processed, until catch-up completes.
    catching_up_to: Option<u64>,
    connected: bool,
    events: Vec<SyncEvent>,
    /// The server's frame limit, known after its Welcome (see `push_fits`).
    max_frame_bytes: Option<u64>,
    /// Our public id, as the server's Welcome gave it: log entries carrying it are ours.
    public_id: Option<u128>,
    /// After a reset this connection is done: its frames are ignored until the next Hello.
    needs_reconnect: bool,
    /// For each row our confirmed change sets wrote, the server seq of the latest one.
    own_writes: HashMap<(String, Key), u64>,
    own_writes_order: VecDeque<((String, Key), u64)>,
}

/// Bytes a Push frame adds around its change set: message tag, client_seq and length varints.
const PUSH_FRAME_OVERHEAD: u64 = 32;

/// A change set of `bytes` fits in one frame of at most `max_frame_bytes`.
fn push_fits(bytes: usize, max_frame_bytes: u64) -> bool {
    bytes as u64 + PUSH_FRAME_OVERHEAD <= max_frame_bytes
}

/// Commits taken from the store with their inverses, undone: the state before the oldest.
fn undo_newest_first(store: &mut MemoryStore, commits: Vec<(ChangeSet, ChangeSet)>) {
    for (_, inverse) in commits.into_iter().rev() {
        // Each restores rows and schemas that held before; it cannot meet a new conflict.
        let _ = store.apply_change_set(inverse);
    }
}

fn store_error(error: gluesql_core::error::Error) -> DbError {
    DbError::new(
        ErrorCode::Storage,
        format!("applying a change set: {error}"),
    )
}

impl SyncState {
    pub fn new(meta: SyncMeta) -> Self {
        Self {
            meta,
            pending: VecDeque::new(),
            pushed_up_to: 0,
            catching_up_to: None,
            connected: false,
            events: Vec::new(),
            max_frame_bytes: None,
            public_id: None,
            needs_reconnect: false,
            own_writes: HashMap::new(),
            own_writes_order: VecDeque::new(),
        }
    }

    pub fn meta(&self) -> SyncMeta {
        self.meta
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The connection must be dropped and made again (after a reset).
    pub fn needs_reconnect(&self) -> bool {
        self.needs_reconnect
    }

    /// Ignores the current connection's frames from now on; the caller reconnects.
    pub fn require_reconnect(&mut self) {
        self.connected = false;
        self.catching_up_to = None;
        self.needs_reconnect = true;
    }

    /// Connected, caught up with the server's log, and nothing local waiting.
    pub fn is_synced(&self) -> bool {
        self.connected && self.catching_up_to.is_none() && self.pending.is_empty()
    }

    /// Reports a problem found outside a server message (e.g. applying a held one failed).
    pub fn report_error(&mut self, message: String) {
        self.events.push(SyncEvent::ServerError {
            message,
            code: None,
        });
    }

    pub fn take_events(&mut self) -> Vec<SyncEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Puts stored outbox entries (in client_seq order) back on top of the confirmed state.
    pub fn restore_outbox(
        &mut self,
        store: &mut MemoryStore,
        outbox: Vec<(u64, Vec<u8>)>,
    ) -> Result<(), DbError> {
        for (client_seq, bytes) in outbox {
            let change_set = decode_change_set(&bytes)?;
            // After a reset a change set may need a table the catch-up brings: it waits.
            let (inverse, applied) = match store.check_change_set(change_set.clone()) {
                Ok(checked) => (
                    store
                        .apply_change_set_with_inverse(checked)
                        .map_err(store_error)?,
                    true,
                ),
                Err(_) => (ChangeSet::default(), false),
            };
            self.pending.push_back(Pending {
                client_seq,
                change_set,
                bytes,
                inverse,
                applied,
                // Committed before this load, when at most this much had been seen.
                seen: self.meta.last_seen_seq,
            });
            self.meta.next_client_seq = self.meta.next_client_seq.max(client_seq + 1);
        }
        Ok(())
    }

    /// The change sets of the newest `count` pending commits (what `capture_commits` added).
    pub fn newest_pending(&self, count: usize) -> impl Iterator<Item = &ChangeSet> {
        self.pending
            .iter()
            .skip(self.pending.len().saturating_sub(count))
            .map(|p| &p.change_set)
    }

    /// Turns the store's new commits into pending change sets; returns them for the outbox.
    pub fn capture_commits(
        &mut self,
        store: &mut MemoryStore,
    ) -> Result<Vec<(u64, Vec<u8>)>, DbError> {
        // A commit that wrote rows alone gives its inverse from the undo log; one that changed a
        // schema or a function is taken off and put back through the inverse-recording path.
        let commits = match store.take_row_commits_with_inverses() {
            Some(commits) => commits,
            None => {
                let change_sets = store.take_change_sets();
                if change_sets.is_empty() {
                    store.confirm_persisted();
                    return Ok(Vec::new());
                }
                store.revert_unpersisted();
                let mut commits = Vec::with_capacity(change_sets.len());
                for change_set in change_sets {
                    let inverse = match store.apply_change_set_with_inverse(change_set.clone()) {
                        Ok(inverse) => inverse,
                        Err(error) => {
                            undo_newest_first(store, commits);
                            return Err(store_error(error));
                        }
                    };
                    commits.push((change_set, inverse));
                }
                commits
            }
        };
        if commits.is_empty() {
            return Ok(Vec::new());
        }
        let encoded = match commits
            .iter()
            .map(|(change_set, _)| encode_change_set(change_set))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(encoded) => encoded,
            Err(error) => {
                undo_newest_first(store, commits);
                return Err(error.into());
            }
        };
        if let Some(limit) = self.max_frame_bytes {
            if let Some(bytes) = encoded.iter().find(|bytes| !push_fits(bytes.len(), limit)) {
                // It could never reach the server (the frame would close the connection on
                // every retry), so it is refused here, undone, like a failed write.
                let size = bytes.len();
                undo_newest_first(store, commits);
                return Err(DbError::new(
                    ErrorCode::TooLarge,
                    format!(
                        "the change is {size} bytes encoded but the sync server takes at most {limit} \
                         per change; it was undone — commit it in smaller transactions",
                    ),
                ));
            }
        }
        let mut added = Vec::with_capacity(commits.len());
        for ((change_set, inverse), bytes) in commits.into_iter().zip(encoded) {
            let client_seq = self.meta.next_client_seq;
            self.meta.next_client_seq += 1;
            added.push((client_seq, bytes.clone()));
            self.pending.push_back(Pending {
                client_seq,
                change_set,
                bytes,
                inverse,
                applied: true,
                seen: self.meta.last_seen_seq,
            });
        }
        Ok(added)
    }

    /// Persisting the newest `count` pending change sets failed: take them out of memory.
    pub fn discard_newest(&mut self, store: &mut MemoryStore, count: usize) -> Result<(), DbError> {
        for _ in 0..count {
            if let Some(pending) = self.pending.pop_back() {
                store
                    .apply_change_set(pending.inverse)
                    .map_err(store_error)?;
                self.meta.next_client_seq = pending.client_seq;
            }
        }
        Ok(())
    }

    /// Runs `f` on the confirmed state (pending change sets taken off), then puts them back.
    pub fn with_confirmed_state<T>(
        &mut self,
        store: &mut MemoryStore,
        f: impl FnOnce(&MemoryStore) -> T,
    ) -> Result<T, DbError> {
        self.undo_pending(store)?;
        let result = f(store);
        self.redo_pending_with(store, true)?;
        Ok(result)
    }

    /// The first message of a connection.
    pub fn hello(&mut self, database: &str, token: &str) -> ClientMessage {
        self.connected = false;
        self.needs_reconnect = false;
        self.pushed_up_to = 0;
        ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            database: database.to_owned(),
            client_secret: self.meta.client_secret,
            token: token.to_owned(),
            last_seen_seq: self.meta.last_seen_seq,
        }
    }

    /// The connection dropped: everything pending is pushed again after the next Welcome.
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.pushed_up_to = 0;
        self.catching_up_to = None;
    }

    /// Pushes for pending change sets not yet sent on this connection.
    pub fn outgoing(&mut self) -> Vec<ClientMessage> {
        if !self.connected {
            return Vec::new();
        }
        let pushed_up_to = self.pushed_up_to;
        // Nothing too large for a frame is pending here: capture_commits refuses it once the
        // limit is known, and Welcome (which makes us connected) drops what came before.
        let pushes: Vec<ClientMessage> = self
            .pending
            .iter()
            .filter(|p| p.client_seq > pushed_up_to)
            .map(|p| ClientMessage::Push {
                client_seq: p.client_seq,
                change_set: p.bytes.clone(),
                seen: p.seen,
            })
            .collect();
        if let Some(last) = self.pending.back() {
            self.pushed_up_to = self.pushed_up_to.max(last.client_seq);
        }
        pushes
    }

    pub fn on_message(
        &mut self,
        store: &mut MemoryStore,
        message: ServerMessage,
    ) -> Result<SyncEffects, DbError> {
        let mut effects = SyncEffects::default();
        if self.needs_reconnect {
            return Ok(effects);
        }
        match message {
            ServerMessage::Welcome { server_seq, .. } if server_seq < self.meta.last_seen_seq => {
                self.reset(store, server_seq, &mut effects)?;
            }
            ServerMessage::Welcome {
                acked_client_seq,
                max_frame_bytes,
                client_id,
                ..
            } => {
                self.connected = true;
                self.public_id = Some(client_id);
                self.max_frame_bytes = Some(max_frame_bytes);
                // Committed offline before the limit was known: these can never be pushed.
                self.drop_pending(
                    store,
                    |p| !push_fits(p.bytes.len(), max_frame_bytes),
                    &format!(
                        "too large to sync: the server takes at most {max_frame_bytes} bytes per change"
                    ),
                    &mut effects,
                )?;
                // Pending ones the server already processed arrive through catch-up (or were
                // rejected while we were away); only later ones are pushed.
                self.pushed_up_to = acked_client_seq;
                self.catching_up_to = Some(acked_client_seq);
            }
            ServerMessage::Changes { entries, more } => {
                self.apply_remote(store, entries, &mut effects)?;
                if !more {
                    if let Some(processed) = self.catching_up_to.take() {
                        // Processed by the server but never in its log: rejected while away.
                        self.drop_pending(
                            store,
                            |p| p.client_seq <= processed,
                            "rejected while offline",
                            &mut effects,
                        )?;
                    }
                }
            }
            ServerMessage::Reject { client_seq, reason } => {
                self.drop_pending(store, |p| p.client_seq == client_seq, &reason, &mut effects)?;
            }
            ServerMessage::Ack { .. } | ServerMessage::Pong { .. } => {}
            ServerMessage::Error { message, code } => {
                let code = match code {
                    ErrorKind::Protocol => "protocol",
                    ErrorKind::Unauthorized => "unauthorized",
                    ErrorKind::ReadOnly => "read_only",
                    ErrorKind::TooManyConnections => "too_many_connections",
                    ErrorKind::RateLimited => "rate_limited",
                    ErrorKind::Internal => "internal",
                };
                self.events.push(SyncEvent::ServerError {
                    message,
                    code: Some(code),
                });
            }
        }
        Ok(effects)
    }

    /// The server has fewer entries than we saw: what we hold as confirmed may be gone from
    /// it, so it is dropped. Unconfirmed changes stay on top (pushed again after the
    /// reconnect the caller makes, with `last_seen_seq` 0 so the whole log comes back).
    fn reset(
        &mut self,
        store: &mut MemoryStore,
        server_seq: u64,
        effects: &mut SyncEffects,
    ) -> Result<(), DbError> {
        self.undo_pending(store)?;
        let mut tables: BTreeSet<String> = store
            .tables()
            .map(|t| t.schema.table_name.clone())
            .collect();
        store.clear_for_reset();
        let had_seen = std::mem::take(&mut self.meta.last_seen_seq);
        effects.removed = self.redo_pending_with(store, true)?;
        tables.extend(store.tables().map(|t| t.schema.table_name.clone()));
        effects.reset = true;
        self.require_reconnect();
        self.events.push(SyncEvent::Reset {
            server_seq,
            had_seen,
        });
        if !tables.is_empty() {
            self.events.push(SyncEvent::RemoteApplied {
                tables: tables.into_iter().collect(),
            });
        }
        Ok(())
    }

    fn undo_pending(&mut self, store: &mut MemoryStore) -> Result<(), DbError> {
        for pending in self.pending.iter().rev().filter(|p| p.applied) {
            store
                .apply_change_set(pending.inverse.clone())
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// Puts the pending change sets back on top; one that no longer applies is dropped.
    fn redo_pending(&mut self, store: &mut MemoryStore) -> Result<Vec<u64>, DbError> {
        self.redo_pending_with(store, false)
    }

    /// `redo_pending`; with `wait`, one that does not apply stays unapplied instead (the
    /// state it needs is still to come), and is tried again at the next redo.
    fn redo_pending_with(
        &mut self,
        store: &mut MemoryStore,
        wait: bool,
    ) -> Result<Vec<u64>, DbError> {
        let mut dropped = Vec::new();
        let mut kept = VecDeque::with_capacity(self.pending.len());
        while let Some(mut pending) = self.pending.pop_front() {
            // Checked as the server will check it; a CREATE of a table a remote change
            // already made becomes a row merge, here as there.
            let checked = match store.check_change_set(pending.change_set.clone()) {
                Ok(checked) => checked,
                Err(_) if wait => {
                    pending.applied = false;
                    kept.push_back(pending);
                    continue;
                }
                Err(reason) => {
                    self.events.push(SyncEvent::Rejected {
                        client_seq: pending.client_seq,
                        reason: format!("conflicts with a remote change: {reason}"),
                    });
                    dropped.push(pending.client_seq);
                    continue;
                }
            };
            pending.inverse = store
                .apply_change_set_with_inverse(checked)
                .map_err(store_error)?;
            pending.applied = true;
            kept.push_back(pending);
        }
        self.pending = kept;
        Ok(dropped)
    }

    fn apply_remote(
        &mut self,
        store: &mut MemoryStore,
        entries: Vec<LogEntry>,
        effects: &mut SyncEffects,
    ) -> Result<(), DbError> {
        let last_seen = self.meta.last_seen_seq;
        let entries: Vec<LogEntry> = entries.into_iter().filter(|e| e.seq > last_seen).collect();
        if entries.is_empty() {
            return Ok(());
        }
        // Checked before anything changes: a definition GlueSQL would panic on (the browser
        // cannot catch that) is refused even if a server let it through.
        let mut decoded = Vec::with_capacity(entries.len());
        for entry in &entries {
            let change_set = decode_change_set(&entry.change_set)?;
            if let Err(reason) = check_definitions(&change_set) {
                // Never skipped: nothing after it applies until a new connection brings it
                // again (a server that let it through keeps this replica where it was).
                self.require_reconnect();
                return Err(DbError::new(
                    ErrorCode::Format,
                    format!(
                        "the server sent change {} that this replica refuses: {reason}",
                        entry.seq
                    ),
                ));
            }
            decoded.push(change_set);
        }
        self.undo_pending(store)?;
        let mut tables = BTreeSet::new();
        for (entry, change_set) in entries.into_iter().zip(decoded) {
            let own = Some(entry.client_id) == self.public_id;
            if own {
                self.pending.retain(|p| p.client_seq != entry.client_seq);
                effects.removed.push(entry.client_seq);
            }
            if own {
                self.remember_own_writes(&change_set, entry.seq);
            } else {
                tables.extend(change_set.tables.iter().map(|t| t.name.clone()));
                self.report_conflicts(store, &change_set, entry.seen);
            }
            store.apply_change_set(change_set).map_err(store_error)?;
            self.meta.last_seen_seq = entry.seq;
            effects.confirmed.push(entry.change_set);
        }
        let dropped = self.redo_pending(store)?;
        effects.removed.extend(dropped);
        if !tables.is_empty() {
            self.events.push(SyncEvent::RemoteApplied {
                tables: tables.into_iter().collect(),
            });
        }
        Ok(())
    }

    fn remember_own_writes(&mut self, change_set: &ChangeSet, seq: u64) {
        for table in &change_set.tables {
            for (key, _) in &table.rows {
                let row = (table.name.clone(), key.clone());
                self.own_writes.insert(row.clone(), seq);
                self.own_writes_order.push_back((row, seq));
            }
        }
        while self.own_writes_order.len() > OWN_WRITES_KEPT {
            if let Some((row, seq)) = self.own_writes_order.pop_front() {
                if self.own_writes.get(&row) == Some(&seq) {
                    self.own_writes.remove(&row);
                }
            }
        }
    }

    /// A remote change set overwrites rows our confirmed writes made after the newest entry
    /// its writer had seen: that writer did not know of ours, and ours is lost. Reported with
    /// both rows (before the remote one is applied; pending changes are off at this point).
    fn report_conflicts(&mut self, store: &MemoryStore, change_set: &ChangeSet, seen: u64) {
        for table in &change_set.tables {
            let Some(stored) = store.tables().find(|t| t.schema.table_name == table.name) else {
                continue;
            };
            for (key, remote) in &table.rows {
                let row = (table.name.clone(), key.clone());
                let Some(&written) = self.own_writes.get(&row) else {
                    continue;
                };
                if written <= seen {
                    continue;
                }
                self.own_writes.remove(&row);
                let local = stored.rows.get(key).cloned();
                if local.as_ref() == remote.as_ref() {
                    continue;
                }
                self.events.push(SyncEvent::Conflict {
                    table: table.name.clone(),
                    columns: stored.column_names(),
                    key: Value::from(key.clone()),
                    local,
                    remote: remote.clone(),
                });
            }
        }
    }

    fn drop_pending(
        &mut self,
        store: &mut MemoryStore,
        which: impl Fn(&Pending) -> bool,
        reason: &str,
        effects: &mut SyncEffects,
    ) -> Result<(), DbError> {
        if !self.pending.iter().any(&which) {
            return Ok(());
        }
        self.undo_pending(store)?;
        let (dropped, kept): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| which(p));
        self.pending = kept.into();
        for pending in dropped {
            effects.removed.push(pending.client_seq);
            self.events.push(SyncEvent::Rejected {
                client_seq: pending.client_seq,
                reason: reason.to_owned(),
            });
        }
        let dropped = self.redo_pending(store)?;
        effects.removed.extend(dropped);
        Ok(())
    }
}

/// A synced database folds its confirmed state: the pending changes are set aside around the
/// plan, so the checkpoint never holds what the server may still refuse.
impl crate::persist::journal::FoldView for SyncState {
    fn plan_fold(
        &mut self,
        store: &mut MemoryStore,
        request: &crate::store::FoldRequest<'_>,
    ) -> Result<crate::store::PageFold, DbError> {
        self.with_confirmed_state(store, |store| store.plan_fold(request))
    }
}
