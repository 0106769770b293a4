//! The journal: the one owner of durability. It opens what is stored into a store, takes every
//! kind of commit (local, outbox, confirmed remote, sync state, reset), writes each as one atomic
//! `Batch`, confirms or reverts the store's local commits, and folds checkpoint pages when the
//! policy says, keeping which checkpoint pages are on disk. It never runs SQL and never decides
//! what sync sends or applies; which rows a page holds and which changed is the store's.

use {
    super::{Batch, CheckpointWrite, Persistence},
    crate::{
        error::{DbError, ErrorCode},
        protocol::{decode_change_set, encode_change_set, ChangeSet},
        store::{FoldRequest, LoadedPage, MemoryStore, PageFold, Staged, CATALOG_PAGE},
    },
    std::collections::BTreeSet,
};

/// Checkpoint pages by id, encoded.
type Pages = Vec<(u64, Vec<u8>)>;

/// When the log outgrows a bound, or the rows waiting to be folded into the checkpoint
/// exceed `max_fold_rows`, the next commit folds them: it rewrites only the changed pages of
/// about `rows_per_page` rows each (see store::pages), so no commit pays for the database.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    pub max_log_entries: usize,
    pub max_log_bytes: usize,
    pub max_fold_rows: usize,
    pub rows_per_page: usize,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            max_log_entries: 1000,
            max_log_bytes: 8 << 20,
            max_fold_rows: 4_096,
            rows_per_page: 256,
        }
    }
}

/// The state a fold writes. An unsynced store is written as it is ([`AsIs`]); a synced one
/// as the server confirmed it, its pending changes set aside around the plan (sync's
/// `SyncState` is the other implementation).
pub trait FoldView {
    fn plan_fold(
        &mut self,
        store: &mut MemoryStore,
        request: &FoldRequest<'_>,
    ) -> Result<PageFold, DbError>;
}

/// The store as it is.
pub struct AsIs;

impl FoldView for AsIs {
    fn plan_fold(
        &mut self,
        store: &mut MemoryStore,
        request: &FoldRequest<'_>,
    ) -> Result<PageFold, DbError> {
        Ok(store.plan_fold(request))
    }
}

/// A call's answer `(call id, encoded results)`, kept in the same write as the commit so a
/// retried call finds it exactly when the call committed. Encoded only if there is a commit:
/// most calls commit nothing.
pub type CallAnswer<'a> = Box<dyn FnOnce() -> Result<(String, Vec<u8>), DbError> + 'a>;

/// One commit, of any kind a database makes.
pub enum Commit<'a> {
    /// The store's commits since the last one (an unsynced database): logged, or folded
    /// straight into the checkpoint's pages when a fold is due. The journal confirms them in
    /// the store once written and reverts them if the write fails.
    Local { call: Option<CallAnswer<'a>> },
    /// Local change sets a synced database moved to its outbox (by client sequence), with its
    /// sync state. On an error the caller takes them back off (only sync knows their inverses).
    Outbox {
        added: Vec<(u64, Vec<u8>)>,
        sync: Vec<u8>,
        call: Option<CallAnswer<'a>>,
    },
    /// Remote entries the server confirmed, already applied to the store, the outbox entries
    /// they settled and the sync state. On an error the caller reloads what is stored.
    Confirmed {
        log: Vec<Vec<u8>>,
        removed: Vec<u64>,
        sync: Vec<u8>,
    },
    /// Only the sync state (a new identity, stored before the first Hello).
    SyncState(Vec<u8>),
    /// After a sync reset: the stored checkpoint is replaced whole by the state the view
    /// gives, the log dropped, `removed` leave the outbox. If it fails, the stored state is
    /// the old one.
    Reset { removed: Vec<u64>, sync: Vec<u8> },
}

/// What `Journal::commit` did.
#[derive(Debug, Default)]
pub struct Committed {
    /// The local change sets written (for `Commit::Local`): events name their tables.
    pub change_sets: Vec<ChangeSet>,
}

/// What `open` found: the store, and for a synced database its outbox and sync state (opaque
/// bytes, encoded by `sync`).
pub struct Opened {
    pub store: MemoryStore,
    pub outbox: Vec<(u64, Vec<u8>)>,
    pub sync: Option<Vec<u8>>,
}

pub struct Journal<P: Persistence> {
    persistence: P,
    policy: CheckpointPolicy,
    /// The catalog page as last written: a fold rewrites it only when it differs.
    catalog_written: Option<Vec<u8>>,
    pages: StoredPages,
}

/// The checkpoint's pages on disk as last written or read.
#[derive(Debug, Default)]
struct StoredPages {
    /// Page ids on disk, the catalog aside.
    ids: BTreeSet<u64>,
    /// The next id to give a page.
    next_id: u64,
    /// The stored checkpoint must be rewritten whole at the next fold: it is not in pages
    /// (written by 0.1.0), or a reset replaced the state it holds and its write failed.
    whole: bool,
}

impl<P: Persistence> Journal<P> {
    /// Opens what is stored: the newest checkpoint, page by page, then the log tail replayed.
    pub async fn open(persistence: P, policy: CheckpointPolicy) -> Result<(Self, Opened), DbError> {
        let mut journal = Journal {
            persistence,
            policy,
            catalog_written: None,
            pages: StoredPages::default(),
        };
        let opened = journal.reload().await?;
        Ok((journal, opened))
    }

    /// Reads the stored state (on open, and again after a write of a remote change failed, so
    /// memory is put back as stored).
    pub async fn reload(&mut self) -> Result<Opened, DbError> {
        let mut store = MemoryStore::new();
        let unreadable =
            |e| DbError::new(ErrorCode::Format, format!("cannot replay stored data: {e}"));
        let mut catalog_written = None;
        let mut pages = StoredPages::default();
        let mut staged = Staged::default();
        // Page by page as they are read, each decoded and dropped before the next: the bytes
        // and the rows of the whole database are never in memory twice.
        let loaded = self
            .persistence
            .load(&mut |id, bytes| {
                let page = decode_change_set(&bytes)?;
                match store.load_page(id, page, &mut staged).map_err(unreadable)? {
                    LoadedPage::Rows => {
                        pages.ids.insert(id);
                        pages.next_id = pages.next_id.max(id + 1);
                    }
                    LoadedPage::Chunk => pages.whole = true,
                    LoadedPage::Catalog => {}
                }
                if id == CATALOG_PAGE {
                    catalog_written = Some(bytes);
                }
                Ok(())
            })
            .await?;
        store.finish_loading(staged);
        for bytes in &loaded.log {
            store
                .apply_change_set(decode_change_set(bytes)?)
                .map_err(unreadable)?;
        }
        self.catalog_written = catalog_written;
        self.pages = pages;
        Ok(Opened {
            store,
            outbox: loaded.outbox,
            sync: loaded.sync,
        })
    }

    pub fn persistence_mut(&mut self) -> &mut P {
        &mut self.persistence
    }

    /// The answer kept for call `id`, if that call committed.
    pub async fn call_result(&mut self, id: &str) -> Result<Option<Vec<u8>>, DbError> {
        self.persistence.call_result(id).await
    }

    pub fn close(&mut self) {
        self.persistence.close();
    }

    /// Writes `commit` (see `Commit` for who undoes what when it fails). A commit that
    /// lengthens the log past the policy's bounds is followed by a fold of `view`'s state; a
    /// failed fold loses nothing (the log still holds every change; the next commit tries
    /// again).
    pub async fn commit(
        &mut self,
        store: &mut MemoryStore,
        view: &mut dyn FoldView,
        commit: Commit<'_>,
    ) -> Result<Committed, DbError> {
        let (batch, fold_after) = match commit {
            Commit::Local { call } => {
                let change_sets = store.take_change_sets();
                if change_sets.is_empty() {
                    store.confirm_persisted();
                    return Ok(Committed::default());
                }
                let folded = match self.write_local(store, &change_sets, call).await {
                    Ok(folded) => folded,
                    Err(error) => {
                        store.revert_unpersisted();
                        return Err(error);
                    }
                };
                store.confirm_persisted();
                if !folded {
                    self.fold_if_due(store, view).await;
                }
                return Ok(Committed { change_sets });
            }
            Commit::Outbox { added, sync, call } => {
                let call = call.map(|answer| answer()).transpose()?;
                let batch = Batch {
                    outbox_add: added,
                    sync: Some(sync),
                    call,
                    ..Batch::default()
                };
                (batch, false)
            }
            Commit::Confirmed { log, removed, sync } => {
                let batch = Batch {
                    log,
                    outbox_remove: removed,
                    sync: Some(sync),
                    ..Batch::default()
                };
                (batch, true)
            }
            Commit::SyncState(sync) => {
                let batch = Batch {
                    sync: Some(sync),
                    ..Batch::default()
                };
                // Written on open, before anything else: a failure is the open's own error.
                self.persistence.commit(batch).await?;
                return Ok(Committed::default());
            }
            Commit::Reset { removed, sync } => {
                // The state the stored pages hold is gone: if this write fails, the next fold
                // must still rewrite them all.
                self.pages.whole = true;
                let with = Batch {
                    outbox_remove: removed,
                    sync: Some(sync),
                    ..Batch::default()
                };
                self.fold(store, view, true, with).await?;
                return Ok(Committed::default());
            }
        };
        self.persistence.commit(batch).await.map_err(not_saved)?;
        if fold_after {
            self.fold_if_due(store, view).await;
        }
        Ok(Committed::default())
    }

    /// A local commit's write: its change sets appended to the log, or (when a fold is due)
    /// folded straight into the checkpoint's pages in one write, so a bulk load is not written
    /// twice (log, then fold) nor encoded as a change set first. True when it folded.
    async fn write_local(
        &mut self,
        store: &mut MemoryStore,
        change_sets: &[ChangeSet],
        call: Option<CallAnswer<'_>>,
    ) -> Result<bool, DbError> {
        let call = call.map(|answer| answer()).transpose()?;
        if self.fold_due(store, change_sets.len()) {
            let with = Batch {
                call,
                ..Batch::default()
            };
            self.fold(store, &mut AsIs, false, with)
                .await
                .map_err(undone)?;
            return Ok(true);
        }
        // A value that cannot be stored (nested past the bound) refuses the change.
        let log = change_sets
            .iter()
            .map(encode_change_set)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| undone(DbError::from(error)))?;
        self.persistence
            .commit(Batch {
                log,
                call,
                ..Batch::default()
            })
            .await
            .map_err(not_saved)?;
        Ok(false)
    }

    async fn fold_if_due(&mut self, store: &mut MemoryStore, view: &mut dyn FoldView) {
        if self.fold_due(store, 0) {
            let _ = self.fold(store, view, false, Batch::default()).await;
        }
    }

    /// Whether the changes since the last fold (with `committing` log entries about to be
    /// added) are past the policy's bounds.
    fn fold_due(&self, store: &MemoryStore, committing: usize) -> bool {
        if !self.persistence.keeps_data() || store.in_explicit_transaction() {
            return false;
        }
        let (entries, bytes) = self.persistence.log_size();
        let waiting = store.fold_estimate(self.policy.rows_per_page);
        entries + committing >= self.policy.max_log_entries
            || bytes >= self.policy.max_log_bytes
            || waiting >= self.policy.max_fold_rows
    }

    /// Folds every change since the last checkpoint into it: the changed pages are rewritten
    /// (all of them if the stored checkpoint predates pages) and the log is dropped, in one
    /// atomic write.
    pub async fn checkpoint(
        &mut self,
        store: &mut MemoryStore,
        view: &mut dyn FoldView,
    ) -> Result<(), DbError> {
        self.fold(store, view, false, Batch::default()).await
    }

    /// Writes a fold (every page with `full`) with `with`'s other records, in one write.
    async fn fold(
        &mut self,
        store: &mut MemoryStore,
        view: &mut dyn FoldView,
        full: bool,
        with: Batch,
    ) -> Result<(), DbError> {
        let request = FoldRequest {
            on_disk: &self.pages.ids,
            next_id: self.pages.next_id,
            rows_per_page: self.policy.rows_per_page,
            full: full || self.pages.whole,
        };
        let mut fold = view.plan_fold(store, &request)?;
        let (catalog, put) = self.encode_fold(&fold)?;
        self.persistence
            .commit(Batch {
                checkpoint: Some(CheckpointWrite {
                    replace: fold.replace,
                    put,
                    delete: std::mem::take(&mut fold.delete),
                }),
                ..with
            })
            .await?;
        self.catalog_written = Some(catalog);
        let (ids, next_id) = store.confirm_fold(fold);
        self.pages = StoredPages {
            ids,
            next_id,
            whole: false,
        };
        Ok(())
    }

    /// The pages a fold writes, encoded, and the catalog's bytes: the catalog page goes with
    /// them when the checkpoint is rewritten whole or the catalog changed.
    fn encode_fold(&self, fold: &PageFold) -> Result<(Vec<u8>, Pages), DbError> {
        let catalog = encode_change_set(&fold.catalog)?;
        let mut put = Vec::with_capacity(fold.put.len() + 1);
        if fold.replace || self.catalog_written.as_ref() != Some(&catalog) {
            put.push((CATALOG_PAGE, catalog.clone()));
        }
        for (id, page) in &fold.put {
            put.push((*id, encode_change_set(page)?));
        }
        Ok((catalog, put))
    }
}

/// A commit that was reverted from memory because `error` kept it from being stored.
fn undone(error: DbError) -> DbError {
    DbError::new(
        error.code,
        format!(
            "the change was not saved and has been undone: {}",
            error.message
        ),
    )
}

/// `undone` for a failed write: always a `storage` error.
fn not_saved(error: DbError) -> DbError {
    DbError::new(ErrorCode::Storage, undone(error).message)
}
