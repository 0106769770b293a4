//! An engine plus a sync state with no persistence: a replica for native tests and tools.

use {
    super::{SyncEvent, SyncMeta, SyncState},
    crate::{
        engine::{Engine, QueryOutput},
        error::DbError,
        protocol::messages::{ClientMessage, ServerMessage},
    },
    gluesql_core::data::Value,
};

pub struct SyncReplica {
    engine: Engine,
    state: SyncState,
}

impl SyncReplica {
    pub fn new(client_secret: u128) -> Self {
        Self {
            engine: Engine::default(),
            state: SyncState::new(SyncMeta {
                client_secret,
                next_client_seq: 1,
                last_seen_seq: 0,
            }),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn pending_count(&self) -> usize {
        self.state.pending_count()
    }

    pub fn needs_reconnect(&self) -> bool {
        self.state.needs_reconnect()
    }

    pub fn is_synced(&self) -> bool {
        self.state.is_synced()
    }

    pub fn take_events(&mut self) -> Vec<SyncEvent> {
        self.state.take_events()
    }

    /// Runs SQL locally; each commit becomes a pending change set (pushed when connected).
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryOutput, DbError> {
        let result = self.engine.query(sql, params);
        self.state.capture_commits(self.engine.store_mut())?;
        result
    }

    pub fn hello(&mut self, database: &str, token: &str) -> ClientMessage {
        self.state.hello(database, token)
    }

    pub fn disconnected(&mut self) {
        self.state.disconnected();
    }

    pub fn outgoing(&mut self) -> Vec<ClientMessage> {
        self.state.outgoing()
    }

    pub fn on_message(&mut self, message: ServerMessage) -> Result<(), DbError> {
        self.state
            .on_message(self.engine.store_mut(), message)
            .map(|_| ())
    }
}
