//! Where change sets go: an append-only log plus a chunked checkpoint, in IndexedDB in the
//! browser (`idb`), a JS object (`js`, Node's files) or in memory (`memory`), written only by
//! the `journal`. Every write is one `Batch`, atomic: all of it lands or none does. Nothing
//! outside this folder builds a `Batch` (the backends' trait must name it, so it stays `pub`).

pub mod journal;
pub mod memory;

#[cfg(target_arch = "wasm32")]
pub mod idb;
#[cfg(target_arch = "wasm32")]
pub mod js;

use crate::error::DbError;

/// What rebuilds the database after the checkpoint pages (which `Persistence::load` hands over
/// one by one): the log, in replay order; for a synced database also its outbox (local change
/// sets not yet confirmed) and its sync state (opaque bytes, encoded by `sync`).
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub log: Vec<Vec<u8>>,
    pub outbox: Vec<(u64, Vec<u8>)>,
    pub sync: Option<Vec<u8>>,
}

/// One atomic write. Every part is optional; an empty batch writes nothing.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Appended to the log, in order.
    pub log: Vec<Vec<u8>>,
    /// Checkpoint pages written: with it the whole log is dropped (before `log` is appended,
    /// so entries in the same batch follow the checkpoint).
    pub checkpoint: Option<CheckpointWrite>,
    /// Outbox entries added (by client sequence) and removed.
    pub outbox_add: Vec<(u64, Vec<u8>)>,
    pub outbox_remove: Vec<u64>,
    /// The sync state, replaced.
    pub sync: Option<Vec<u8>>,
    /// A call's answer kept under its id, so a retried call is answered, not run again.
    pub call: Option<(String, Vec<u8>)>,
}

/// The pages of a checkpoint fold (see store::pages).
#[derive(Debug, Default, Clone)]
pub struct CheckpointWrite {
    /// Clear every stored page first (the checkpoint is rewritten whole).
    pub replace: bool,
    /// Pages written, by id.
    pub put: Vec<(u64, Vec<u8>)>,
    /// Pages no table refers to any more.
    pub delete: Vec<u64>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
            && self.checkpoint.is_none()
            && self.outbox_add.is_empty()
            && self.outbox_remove.is_empty()
            && self.sync.is_none()
            && self.call.is_none()
    }
}

/// Receives the checkpoint pages during `Persistence::load`: (page id, its bytes).
pub type PageSink<'a> = dyn FnMut(u64, Vec<u8>) -> Result<(), DbError> + 'a;

#[allow(async_fn_in_trait)]
pub trait Persistence {
    /// Reads what is stored: every checkpoint page goes to `page` in id order (page 0, the
    /// catalog, first) as it arrives, so decoding one overlaps reading the next; then the rest.
    /// An error from `page` ends the load with that error.
    async fn load(&mut self, page: &mut PageSink<'_>) -> Result<Loaded, DbError>;

    /// Writes `batch` atomically.
    async fn commit(&mut self, batch: Batch) -> Result<(), DbError>;

    /// The answer kept for call `id`, if that call committed.
    async fn call_result(&mut self, id: &str) -> Result<Option<Vec<u8>>, DbError>;

    /// Entries and bytes in the log since the last checkpoint.
    fn log_size(&self) -> (usize, usize);

    /// Whether anything written is kept (a `storage: "memory"` database keeps nothing, so it
    /// never folds a checkpoint).
    fn keeps_data(&self) -> bool {
        true
    }

    fn close(&mut self) {}
}

/// The storage a database was opened with: the one place that knows there are several.
pub enum Storage {
    #[cfg(target_arch = "wasm32")]
    IndexedDb(idb::IdbPersistence),
    /// A JS object's (Node's `storage: "file"`).
    #[cfg(target_arch = "wasm32")]
    Js(js::JsPersistence),
    Memory(memory::MemoryPersistence),
}

macro_rules! each {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            #[cfg(target_arch = "wasm32")]
            Storage::IndexedDb($p) => $body,
            #[cfg(target_arch = "wasm32")]
            Storage::Js($p) => $body,
            Storage::Memory($p) => $body,
        }
    };
}

impl Persistence for Storage {
    async fn load(&mut self, page: &mut PageSink<'_>) -> Result<Loaded, DbError> {
        each!(self, p => p.load(page).await)
    }

    async fn commit(&mut self, batch: Batch) -> Result<(), DbError> {
        each!(self, p => p.commit(batch).await)
    }

    async fn call_result(&mut self, id: &str) -> Result<Option<Vec<u8>>, DbError> {
        each!(self, p => p.call_result(id).await)
    }

    fn log_size(&self) -> (usize, usize) {
        each!(self, p => p.log_size())
    }

    fn keeps_data(&self) -> bool {
        each!(self, p => p.keeps_data())
    }

    fn close(&mut self) {
        each!(self, p => p.close())
    }
}

impl Storage {
    /// Test hook: the next write fails, as on a quota error or an aborted transaction.
    pub fn fail_next_write(&mut self) {
        each!(self, p => p.fail_next_write())
    }
}
