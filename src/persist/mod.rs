//! Where change sets go: an append-only log plus a chunked checkpoint, in IndexedDB in the
//! browser (`idb`) or in memory (`memory`). Stores encoded bytes; never decodes them.

pub mod memory;

#[cfg(target_arch = "wasm32")]
pub mod idb;

use crate::error::DbError;

/// Everything needed to rebuild the database, in replay order: checkpoint chunks, then log.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub checkpoint: Vec<Vec<u8>>,
    pub log: Vec<Vec<u8>>,
}

#[allow(async_fn_in_trait)]
pub trait Persistence {
    async fn load(&mut self) -> Result<Loaded, DbError>;

    /// Appends change sets to the log in one atomic write: all land, or none does.
    async fn append(&mut self, entries: &[Vec<u8>]) -> Result<(), DbError>;

    /// Replaces the checkpoint with `chunks` and drops the whole log, atomically.
    async fn write_checkpoint(&mut self, chunks: &[Vec<u8>]) -> Result<(), DbError>;

    /// Entries and bytes in the log since the last checkpoint.
    fn log_size(&self) -> (usize, usize);

    fn close(&mut self) {}
}
