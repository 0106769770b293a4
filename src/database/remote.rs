//! A database's side of sync: the verbs a transport drives (hello, outgoing, receive), server
//! messages held while a transaction is open, and what they settled handed to the journal.
//! The sync state machine itself is `crate::sync`; this file only glues it to the database.

use {
    super::Database,
    crate::{
        error::{DbError, ErrorCode},
        persist::{journal::Commit, Persistence},
        protocol::messages::{decode_message, encode_message, ServerMessage},
        sync::{SyncEvent, SyncMeta, SyncState},
    },
};

impl<P: Persistence> Database<P> {
    /// Makes the database synced from now on (the owner learns a connection wants sync after
    /// opening it). Rows already there are not uploaded; a synced database stays synced.
    pub fn enable_sync(&mut self) -> Result<(), DbError> {
        self.ensure_open()?;
        self.refuse_inside_transaction("start sync")?;
        if self.sync.is_none() {
            self.sync = Some(SyncState::new(SyncMeta::fresh()));
        }
        self.engine.set_synced(true);
        Ok(())
    }

    fn sync_mut(&mut self) -> Result<&mut SyncState, DbError> {
        self.sync
            .as_mut()
            .ok_or_else(|| DbError::new(ErrorCode::Params, "this database is not synced"))
    }

    pub fn sync(&self) -> Option<&SyncState> {
        self.sync.as_ref()
    }

    /// The Hello frame that opens a sync connection.
    pub fn sync_hello(&mut self, database: &str, token: &str) -> Result<Vec<u8>, DbError> {
        self.ensure_open()?;
        let hello = self.sync_mut()?.hello(database, token);
        Ok(encode_message(&hello))
    }

    pub fn sync_disconnected(&mut self) {
        if let Some(sync) = self.sync.as_mut() {
            sync.disconnected();
        }
    }

    /// Frames to send now: pushes of local change sets not yet sent on this connection.
    pub fn sync_outgoing(&mut self) -> Result<Vec<Vec<u8>>, DbError> {
        Ok(self
            .sync_mut()?
            .outgoing()
            .iter()
            .map(encode_message)
            .collect())
    }

    /// Handles one frame from the server and persists what it settled; returns frames to send.
    pub async fn sync_receive(&mut self, frame: &[u8]) -> Result<Vec<Vec<u8>>, DbError> {
        self.ensure_open()?;
        let message: ServerMessage =
            decode_message(frame).map_err(|e| DbError::new(ErrorCode::Format, e.to_string()))?;
        self.sync_mut()?;
        if self.engine.in_transaction() {
            self.held.push(message);
            return Ok(Vec::new());
        }
        self.apply_message(message).await?;
        self.sync_outgoing()
    }

    /// Handles one server message and persists what it settled.
    async fn apply_message(&mut self, message: ServerMessage) -> Result<(), DbError> {
        let sync = self
            .sync
            .as_mut()
            .ok_or_else(|| DbError::new(ErrorCode::Params, "this database is not synced"))?;
        let store = self.engine.store_mut();
        let effects = sync.on_message(store, message)?;
        let meta = sync.meta().encode();
        if effects.reset {
            let commit = Commit::Reset {
                removed: effects.removed,
                sync: meta,
            };
            return self.journal.commit(store, sync, commit).await.map(drop);
        }
        if !effects.confirmed.is_empty() || !effects.removed.is_empty() {
            let commit = Commit::Confirmed {
                log: effects.confirmed,
                removed: effects.removed,
                sync: meta,
            };
            if let Err(error) = self.journal.commit(store, sync, commit).await {
                self.restore_stored_state().await;
                return Err(error);
            }
        }
        Ok(())
    }

    /// Applies server messages held during a transaction, once none is open. A failure is
    /// reported as a sync error event: the caller's own statement succeeded.
    pub(super) async fn release_held_frames(&mut self) {
        if self.held.is_empty() || self.engine.in_transaction() {
            return;
        }
        for message in std::mem::take(&mut self.held) {
            if let Err(error) = self.apply_message(message).await {
                if let Some(sync) = self.sync.as_mut() {
                    sync.report_error(error.message);
                }
            }
        }
    }

    /// Whether server messages wait for the open transaction to end.
    pub fn holds_sync_messages(&self) -> bool {
        !self.held.is_empty()
    }

    pub fn sync_events(&mut self) -> Vec<SyncEvent> {
        self.sync
            .as_mut()
            .map(SyncState::take_events)
            .unwrap_or_default()
    }

    /// Storing what a server message settled failed: memory is put back as stored (the
    /// entries come again, from the stored position, after the reconnect this asks for).
    async fn restore_stored_state(&mut self) {
        let reloaded = match self.journal.reload().await {
            Ok(opened) => Self::opened(&mut self.journal, opened, true).await,
            Err(error) => Err(error),
        };
        match reloaded {
            Ok((engine, mut sync)) => {
                if let Some(sync) = sync.as_mut() {
                    sync.require_reconnect();
                }
                self.engine = engine;
                self.sync = sync;
            }
            Err(error) => {
                if let Some(sync) = self.sync.as_mut() {
                    sync.require_reconnect();
                    sync.report_error(format!(
                        "reloading the stored state failed: {}",
                        error.message
                    ));
                }
            }
        }
    }
}
