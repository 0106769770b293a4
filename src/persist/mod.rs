//! Where change sets go: an append-only log plus a chunked checkpoint, in IndexedDB in the
//! browser (`idb`) or in memory (`memory`). Stores encoded bytes; never decodes them.

pub mod memory;

#[cfg(target_arch = "wasm32")]
pub mod idb;

use crate::{error::DbError, sync::SyncMeta};

/// Everything needed to rebuild the database, in replay order: checkpoint chunks, then log;
/// for a synced database also its outbox (local change sets not yet confirmed) and sync state.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub checkpoint: Vec<Vec<u8>>,
    pub log: Vec<Vec<u8>>,
    pub outbox: Vec<(u64, Vec<u8>)>,
    pub sync: Option<SyncMeta>,
}

#[allow(async_fn_in_trait)]
pub trait Persistence {
    async fn load(&mut self) -> Result<Loaded, DbError>;

    /// Appends change sets to the log in one atomic write: all land, or none does.
    async fn append(&mut self, entries: &[Vec<u8>]) -> Result<(), DbError>;

    /// Replaces the checkpoint with `chunks` and drops the whole log, atomically.
    async fn write_checkpoint(&mut self, chunks: &[Vec<u8>]) -> Result<(), DbError>;

    /// A synced database's local commits: added to the outbox, not the log, atomically with
    /// the sync state.
    async fn write_outbox(
        &mut self,
        added: &[(u64, Vec<u8>)],
        meta: &SyncMeta,
    ) -> Result<(), DbError>;

    /// Remote entries confirmed in server order join the log, outbox entries they settled
    /// leave it, and the sync state moves on — in one atomic write.
    async fn write_confirmed(
        &mut self,
        confirmed: &[Vec<u8>],
        removed: &[u64],
        meta: &SyncMeta,
    ) -> Result<(), DbError>;

    /// Entries and bytes in the log since the last checkpoint.
    fn log_size(&self) -> (usize, usize);

    fn close(&mut self) {}
}
