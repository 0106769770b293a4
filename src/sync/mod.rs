//! The sync client's state machine, free of browser and network types: local commits become
//! pending change sets, remote entries are applied in server order with the pending ones
//! rebased on top, rejections roll back. A transport feeds it messages and sends its output.

use {
    crate::{
        engine::{Engine, QueryOutput},
        error::{DbError, ErrorCode},
        protocol::{
            decode_change_set, encode_change_set,
            messages::{ClientMessage, LogEntry, ServerMessage, PROTOCOL_VERSION},
            ChangeSet,
        },
    },
    gluesql_core::data::Value,
    std::collections::{BTreeSet, VecDeque},
};

struct Pending {
    client_seq: u64,
    change_set: ChangeSet,
    bytes: Vec<u8>,
    /// Applied right after the change set, restores the state before it.
    inverse: ChangeSet,
}

/// What the application is told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// Remote change sets were applied; these tables changed.
    RemoteApplied { tables: Vec<String> },
    /// The server refused one of our change sets; it has been rolled back here.
    Rejected { client_seq: u64, reason: String },
    /// The server ended the session with an error (bad token, read-only, …).
    ServerError { message: String },
}

pub struct SyncReplica {
    engine: Engine,
    client_id: u128,
    next_client_seq: u64,
    last_seen_seq: u64,
    pending: VecDeque<Pending>,
    /// Highest client_seq pushed on the current connection.
    pushed_up_to: u64,
    /// After Welcome: the client_seq the server had processed, until catch-up completes.
    catching_up_to: Option<u64>,
    connected: bool,
    events: Vec<SyncEvent>,
}

impl SyncReplica {
    pub fn new(client_id: u128) -> Self {
        Self {
            engine: Engine::default(),
            client_id,
            next_client_seq: 1,
            last_seen_seq: 0,
            pending: VecDeque::new(),
            pushed_up_to: 0,
            catching_up_to: None,
            connected: false,
            events: Vec::new(),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Connected, caught up with the server's log, and nothing local waiting.
    pub fn is_synced(&self) -> bool {
        self.connected && self.catching_up_to.is_none() && self.pending.is_empty()
    }

    pub fn last_seen_seq(&self) -> u64 {
        self.last_seen_seq
    }

    pub fn take_events(&mut self) -> Vec<SyncEvent> {
        std::mem::take(&mut self.events)
    }

    /// Runs SQL locally; each commit becomes a pending change set (pushed when connected).
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryOutput, DbError> {
        let result = self.engine.query(sql, params);
        self.capture_commits()?;
        result
    }

    fn capture_commits(&mut self) -> Result<(), DbError> {
        let change_sets = self.engine.store_mut().take_change_sets();
        if change_sets.is_empty() {
            self.engine.store_mut().confirm_persisted();
            return Ok(());
        }
        // Take the commits off and put them back through the inverse-recording path.
        self.engine.store_mut().revert_unpersisted();
        for change_set in change_sets {
            let bytes = encode_change_set(&change_set)?;
            let inverse = self
                .engine
                .store_mut()
                .apply_change_set_with_inverse(change_set.clone())
                .map_err(|e| DbError::new(ErrorCode::Execute, e.to_string()))?;
            self.pending.push_back(Pending {
                client_seq: self.next_client_seq,
                change_set,
                bytes,
                inverse,
            });
            self.next_client_seq += 1;
        }
        Ok(())
    }

    /// The first message of a connection.
    pub fn hello(&mut self, database: &str, token: &str) -> ClientMessage {
        self.connected = false;
        self.pushed_up_to = 0;
        ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            database: database.to_owned(),
            client_id: self.client_id,
            token: token.to_owned(),
            last_seen_seq: self.last_seen_seq,
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
        let pushes: Vec<ClientMessage> = self
            .pending
            .iter()
            .filter(|p| p.client_seq > pushed_up_to)
            .map(|p| ClientMessage::Push {
                client_seq: p.client_seq,
                change_set: p.bytes.clone(),
            })
            .collect();
        if let Some(last) = self.pending.back() {
            self.pushed_up_to = self.pushed_up_to.max(last.client_seq);
        }
        pushes
    }

    pub fn on_message(&mut self, message: ServerMessage) -> Result<(), DbError> {
        match message {
            ServerMessage::Welcome {
                acked_client_seq, ..
            } => {
                self.connected = true;
                // Pending ones the server already processed arrive through catch-up (or were
                // rejected while we were away); only later ones are pushed.
                self.pushed_up_to = acked_client_seq;
                self.catching_up_to = Some(acked_client_seq);
                Ok(())
            }
            ServerMessage::Changes { entries, more } => {
                self.apply_remote(entries)?;
                if !more {
                    if let Some(processed) = self.catching_up_to.take() {
                        // Processed by the server but never in its log: rejected while away.
                        self.drop_pending(|p| p.client_seq <= processed, "rejected while offline")?;
                    }
                }
                Ok(())
            }
            ServerMessage::Reject { client_seq, reason } => {
                self.drop_pending(|p| p.client_seq == client_seq, &reason)
            }
            ServerMessage::Ack { .. } | ServerMessage::Pong { .. } => Ok(()),
            ServerMessage::Error { message, .. } => {
                self.events.push(SyncEvent::ServerError { message });
                Ok(())
            }
        }
    }

    fn store_error(error: gluesql_core::error::Error) -> DbError {
        DbError::new(
            ErrorCode::Storage,
            format!("applying a change set: {error}"),
        )
    }

    fn undo_pending(&mut self) -> Result<(), DbError> {
        for pending in self.pending.iter().rev() {
            self.engine
                .store_mut()
                .apply_change_set(pending.inverse.clone())
                .map_err(Self::store_error)?;
        }
        Ok(())
    }

    /// Puts the pending change sets back on top; one that no longer applies is dropped.
    fn redo_pending(&mut self) -> Result<(), DbError> {
        let mut kept = VecDeque::with_capacity(self.pending.len());
        while let Some(mut pending) = self.pending.pop_front() {
            // Checked as the server will check it; a CREATE of a table a remote change
            // already made becomes a row merge, here as there.
            let checked = match self
                .engine
                .store()
                .check_change_set(pending.change_set.clone())
            {
                Ok(checked) => checked,
                Err(reason) => {
                    self.events.push(SyncEvent::Rejected {
                        client_seq: pending.client_seq,
                        reason: format!("conflicts with a remote change: {reason}"),
                    });
                    continue;
                }
            };
            pending.inverse = self
                .engine
                .store_mut()
                .apply_change_set_with_inverse(checked)
                .map_err(Self::store_error)?;
            kept.push_back(pending);
        }
        self.pending = kept;
        Ok(())
    }

    fn apply_remote(&mut self, entries: Vec<LogEntry>) -> Result<(), DbError> {
        let entries: Vec<LogEntry> = entries
            .into_iter()
            .filter(|e| e.seq > self.last_seen_seq)
            .collect();
        if entries.is_empty() {
            return Ok(());
        }
        self.undo_pending()?;
        let mut tables = BTreeSet::new();
        for entry in entries {
            let own = entry.client_id == self.client_id;
            if own {
                self.pending.retain(|p| p.client_seq != entry.client_seq);
            }
            let change_set = decode_change_set(&entry.change_set)?;
            if !own {
                tables.extend(change_set.tables.iter().map(|t| t.name.clone()));
            }
            self.engine
                .store_mut()
                .apply_change_set(change_set)
                .map_err(Self::store_error)?;
            self.last_seen_seq = entry.seq;
        }
        self.redo_pending()?;
        if !tables.is_empty() {
            self.events.push(SyncEvent::RemoteApplied {
                tables: tables.into_iter().collect(),
            });
        }
        Ok(())
    }

    fn drop_pending(
        &mut self,
        which: impl Fn(&Pending) -> bool,
        reason: &str,
    ) -> Result<(), DbError> {
        if !self.pending.iter().any(&which) {
            return Ok(());
        }
        self.undo_pending()?;
        let (dropped, kept): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| which(p));
        self.pending = kept.into();
        for pending in dropped {
            self.events.push(SyncEvent::Rejected {
                client_seq: pending.client_seq,
                reason: reason.to_owned(),
            });
        }
        self.redo_pending()
    }
}
