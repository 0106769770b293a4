//! A database: the engine plus where its commits go. Every call that commits returns only
//! after the change sets are durable; if persisting fails, memory is reverted first.

use crate::{
    engine::{Engine, QueryOutput},
    error::{DbError, ErrorCode},
    persist::Persistence,
    protocol::{decode_change_set, encode_change_set},
    store::MemoryStore,
};

/// When the log outgrows either bound, the next commit also writes a checkpoint.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    pub max_log_entries: usize,
    pub max_log_bytes: usize,
    pub rows_per_chunk: usize,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            max_log_entries: 1000,
            max_log_bytes: 8 << 20,
            rows_per_chunk: 25_000,
        }
    }
}

pub struct Database<P: Persistence> {
    engine: Engine,
    persistence: P,
    policy: CheckpointPolicy,
    closed: bool,
}

impl<P: Persistence> Database<P> {
    /// Opens a database: newest checkpoint, then the log tail replayed on top.
    pub async fn open(persistence: P) -> Result<Self, DbError> {
        Self::open_with_policy(persistence, CheckpointPolicy::default()).await
    }

    pub async fn open_with_policy(
        mut persistence: P,
        policy: CheckpointPolicy,
    ) -> Result<Self, DbError> {
        let loaded = persistence.load().await?;
        let mut store = MemoryStore::new();
        for bytes in loaded.checkpoint.iter().chain(loaded.log.iter()) {
            let change_set = decode_change_set(bytes)?;
            store.apply_change_set(change_set).map_err(|e| {
                DbError::new(ErrorCode::Format, format!("cannot replay stored data: {e}"))
            })?;
        }
        Ok(Self {
            engine: Engine::new(store),
            persistence,
            policy,
            closed: false,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn persistence_mut(&mut self) -> &mut P {
        &mut self.persistence
    }

    fn ensure_open(&self) -> Result<(), DbError> {
        if self.closed {
            return Err(DbError::new(
                ErrorCode::Closed,
                "the database connection is closed",
            ));
        }
        Ok(())
    }

    /// Runs exactly one statement with `$n` parameters.
    pub async fn query(
        &mut self,
        sql: &str,
        params: &[gluesql_core::data::Value],
    ) -> Result<QueryOutput, DbError> {
        self.ensure_open()?;
        let result = self.engine.query(sql, params);
        self.persist().await?;
        result
    }

    /// Runs every statement in `sql`, in order, each in its own autocommit transaction unless
    /// the script opens one. On the first failure it stops: the statements before it are kept
    /// (and durable), the failing one changed nothing, and the error names its position.
    pub async fn exec(&mut self, sql: &str) -> Result<Vec<QueryOutput>, DbError> {
        self.ensure_open()?;
        let statements = self.engine.parse(sql)?;
        let mut outputs = Vec::with_capacity(statements.len());
        for (position, statement) in statements.iter().enumerate() {
            match self.engine.execute(statement, &[]) {
                Ok(output) => outputs.push(output),
                Err(mut error) => {
                    self.persist().await?;
                    if statements.len() > 1 {
                        error.message = format!("statement {}: {}", position + 1, error.message);
                    }
                    return Err(error);
                }
            }
        }
        self.persist().await?;
        Ok(outputs)
    }

    /// Makes the commits made since the last call durable, or reverts them from memory.
    async fn persist(&mut self) -> Result<(), DbError> {
        let change_sets = self.engine.store_mut().take_change_sets();
        if change_sets.is_empty() {
            self.engine.store_mut().confirm_persisted();
            return Ok(());
        }
        let written = match change_sets
            .iter()
            .map(encode_change_set)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(entries) => self.persistence.append(&entries).await,
            Err(error) => Err(error.into()),
        };
        if let Err(error) = written {
            self.engine.store_mut().revert_unpersisted();
            return Err(DbError::new(
                ErrorCode::Storage,
                format!(
                    "the change was not saved and has been undone: {}",
                    error.message
                ),
            ));
        }
        self.engine.store_mut().confirm_persisted();
        let (entries, bytes) = self.persistence.log_size();
        if entries >= self.policy.max_log_entries || bytes >= self.policy.max_log_bytes {
            // A failed checkpoint loses nothing: the log still holds every change.
            let _ = self.checkpoint().await;
        }
        Ok(())
    }

    /// Writes the whole database as a new checkpoint and drops the log it covers.
    pub async fn checkpoint(&mut self) -> Result<(), DbError> {
        self.ensure_open()?;
        if self.engine.in_transaction() {
            return Err(DbError::new(
                ErrorCode::Execute,
                "cannot checkpoint inside a transaction",
            ));
        }
        let chunks = self
            .engine
            .store()
            .snapshot(self.policy.rows_per_chunk)
            .iter()
            .map(encode_change_set)
            .collect::<Result<Vec<_>, _>>()?;
        self.persistence.write_checkpoint(&chunks).await
    }

    /// Closes the connection: an open transaction is rolled back; later calls fail `closed`.
    pub fn close(&mut self) {
        if !self.closed {
            self.engine.rollback_open_transaction();
            self.engine.store_mut().take_change_sets();
            self.engine.store_mut().confirm_persisted();
            self.persistence.close();
            self.closed = true;
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }
}
