//! Per-database server state: the replica (our store, native) that validates pushes, the
//! durable log, and the broadcast of accepted entries to every connected client, in log order.

use {
    crate::log::{LogError, SyncLog},
    idbsql::{
        protocol::{decode_change_set, encode_change_set, messages::LogEntry},
        store::MemoryStore,
    },
    std::{
        collections::HashMap,
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
    },
    tokio::sync::{broadcast, Mutex},
};

/// Entries a slow client may lag behind before it is told to catch up from the log.
const BROADCAST_CAPACITY: usize = 4096;

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

struct DatabaseState {
    replica: MemoryStore,
}

pub struct DatabaseHub {
    name: String,
    state: Mutex<DatabaseState>,
    broadcast: broadcast::Sender<Arc<LogEntry>>,
    connections: AtomicUsize,
}

impl DatabaseHub {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LogEntry>> {
        self.broadcast.subscribe()
    }

    /// Reserves a connection slot, or `None` when the database is at its limit.
    pub fn try_connect(self: &Arc<Self>, limit: usize) -> Option<ConnectionSlot> {
        let previous = self.connections.fetch_add(1, Ordering::SeqCst);
        if previous >= limit {
            self.connections.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(ConnectionSlot(Arc::clone(self)))
    }

    /// Validates, appends durably, applies to the replica, broadcasts — in that order, under
    /// one lock, so the log order is the one total order everybody sees.
    pub async fn push(
        &self,
        log: &dyn SyncLog,
        client_id: u128,
        client_seq: u64,
        bytes: &[u8],
    ) -> Result<PushOutcome, LogError> {
        let mut state = self.state.lock().await;
        let progress = log.client_progress(&self.name, client_id)?;
        if client_seq <= progress.client_seq {
            return Ok(PushOutcome::Duplicate {
                server_seq: if client_seq == progress.client_seq {
                    progress.server_seq
                } else {
                    0
                },
            });
        }
        let checked = decode_change_set(bytes)
            .map_err(|e| e.to_string())
            .and_then(|change_set| state.replica.check_change_set(change_set))
            .and_then(|change_set| {
                let bytes = encode_change_set(&change_set).map_err(|e| e.to_string())?;
                Ok((change_set, bytes))
            });
        let (change_set, bytes) = match checked {
            Ok(checked) => checked,
            Err(reason) => {
                log.record_rejection(&self.name, client_id, client_seq)?;
                return Ok(PushOutcome::Rejected { reason });
            }
        };
        let server_seq = log.append(&self.name, client_id, client_seq, &bytes)?;
        if let Err(error) = state.replica.apply_change_set(change_set) {
            // Validated changes apply; if not, the log is still the truth and a restart
            // rebuilds the replica from it.
            tracing::error!(database = %self.name, %error, "replica diverged from the log");
        }
        let _ = self.broadcast.send(Arc::new(LogEntry {
            seq: server_seq,
            client_id,
            client_seq,
            change_set: bytes,
        }));
        Ok(PushOutcome::Accepted { server_seq })
    }
}

/// Holds one of a database's connection slots until dropped.
pub struct ConnectionSlot(Arc<DatabaseHub>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct Hub {
    pub log: Arc<dyn SyncLog>,
    databases: Mutex<HashMap<String, Arc<DatabaseHub>>>,
}

impl Hub {
    pub fn new(log: Arc<dyn SyncLog>) -> Self {
        Self {
            log,
            databases: Mutex::new(HashMap::new()),
        }
    }

    /// The hub of `name`, its replica rebuilt from the log on first use.
    pub async fn database(&self, name: &str) -> Result<Arc<DatabaseHub>, LogError> {
        let mut databases = self.databases.lock().await;
        if let Some(hub) = databases.get(name) {
            return Ok(Arc::clone(hub));
        }
        let mut replica = MemoryStore::new();
        let mut after = 0;
        loop {
            let entries = self.log.entries_after(name, after, 1000)?;
            let Some(last) = entries.last() else { break };
            after = last.seq;
            for entry in entries {
                let change_set = decode_change_set(&entry.change_set)
                    .map_err(|e| LogError::from_message(format!("entry {}: {e}", entry.seq)))?;
                replica
                    .apply_change_set(change_set)
                    .map_err(|e| LogError::from_message(format!("entry {}: {e}", entry.seq)))?;
            }
        }
        let hub = Arc::new(DatabaseHub {
            name: name.to_owned(),
            state: Mutex::new(DatabaseState { replica }),
            broadcast: broadcast::channel(BROADCAST_CAPACITY).0,
            connections: AtomicUsize::new(0),
        });
        databases.insert(name.to_owned(), Arc::clone(&hub));
        Ok(hub)
    }
}
