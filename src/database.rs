//! A database: the engine plus where its commits go (and, when synced, its sync state).
//! Every call that commits returns only after the change sets are durable; if persisting
//! fails, memory is reverted first.

use crate::{
    catalog::{describe_tables, TableInfo},
    dump::dump_sql,
    engine::{Engine, QueryOutput},
    error::{DbError, ErrorCode},
    persist::{Batch, CheckpointWrite, Persistence},
    protocol::{
        decode_change_set, decode_results, encode_change_set, encode_results,
        messages::{decode_message, encode_message, ServerMessage},
        ChangeSet, StoredResult,
    },
    store::{MemoryStore, PageFold, CATALOG_PAGE},
    sync::{SyncEvent, SyncMeta, SyncState},
};
use gluesql_core::sqlparser::ast::Statement as SqlStatement;

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

pub struct Database<P: Persistence> {
    engine: Engine,
    persistence: P,
    policy: CheckpointPolicy,
    closed: bool,
    sync: Option<SyncState>,
    /// Server messages that arrived while a transaction was open: applied when it ends, so
    /// a ROLLBACK never writes the rows from before the transaction over them.
    held: Vec<ServerMessage>,
    /// What happened that the application (live queries, other tabs) is told about.
    events: Vec<DbEvent>,
    /// The catalog page as last written: a fold rewrites it only when it differs.
    catalog_written: Option<Vec<u8>>,
}

/// What the application is told about: local commits (by the tables they changed) and the
/// sync client's events.
#[derive(Debug, Clone, PartialEq)]
pub enum DbEvent {
    Committed { tables: Vec<String> },
    Sync(SyncEvent),
}

impl<P: Persistence> Database<P> {
    /// Opens a database: newest checkpoint, then the log tail replayed on top.
    pub async fn open(persistence: P) -> Result<Self, DbError> {
        Self::open_with_policy(persistence, CheckpointPolicy::default()).await
    }

    pub async fn open_with_policy(
        persistence: P,
        policy: CheckpointPolicy,
    ) -> Result<Self, DbError> {
        Self::open_with_options(persistence, policy, false).await
    }

    /// Opens a database; with `sync`, local commits go to an outbox for the sync server
    /// (a database that was synced once stays synced).
    pub async fn open_with_options(
        mut persistence: P,
        policy: CheckpointPolicy,
        sync: bool,
    ) -> Result<Self, DbError> {
        let (engine, sync, catalog_written) = Self::load(&mut persistence, sync).await?;
        Ok(Self {
            engine,
            persistence,
            policy,
            closed: false,
            sync,
            held: Vec::new(),
            events: Vec::new(),
            catalog_written,
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
        self.query_call(sql, params, None).await
    }

    /// `query`, keeping its answer under `call` if it commits (see `call_result`).
    pub async fn query_call(
        &mut self,
        sql: &str,
        params: &[gluesql_core::data::Value],
        call: Option<&str>,
    ) -> Result<QueryOutput, DbError> {
        self.ensure_open()?;
        let result = self.engine.query(sql, params);
        let record = match (&result, call) {
            (Ok(output), Some(id)) => Some((id, std::slice::from_ref(output))),
            _ => None,
        };
        self.persist(record).await?;
        self.release_held_frames().await;
        result
    }

    /// The answer a committed call gave, kept for a retry of the same call (by id) after the
    /// owner of the database changed; `None` if that call did not commit.
    pub async fn call_result(&mut self, call: &str) -> Result<Option<Vec<QueryOutput>>, DbError> {
        self.ensure_open()?;
        let Some(bytes) = self.persistence.call_result(call).await? else {
            return Ok(None);
        };
        let results = decode_results(&bytes)?;
        Ok(Some(results.into_iter().map(output_of_stored).collect()))
    }

    /// Whether `take_events` has anything to give.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty() || self.sync.as_ref().is_some_and(SyncState::has_events)
    }

    /// Events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<DbEvent> {
        let mut events = std::mem::take(&mut self.events);
        if let Some(sync) = self.sync.as_mut() {
            events.extend(sync.take_events().into_iter().map(DbEvent::Sync));
        }
        events
    }

    /// Runs every statement in `sql`, in order, each in its own autocommit transaction unless
    /// the script opens one. On the first failure it stops: the statements before it outside
    /// any transaction are kept (and durable), the failing one changed nothing, a transaction
    /// the script opened is rolled back whole, and in a transaction the caller had open before
    /// the call the script's statements are undone (the transaction stays open, as it was). The
    /// error names the failing statement's position.
    pub async fn exec(&mut self, sql: &str) -> Result<Vec<QueryOutput>, DbError> {
        self.exec_call(sql, None).await
    }

    /// `exec`, keeping its answers under `call` if it commits (see `call_result`).
    pub async fn exec_call(
        &mut self,
        sql: &str,
        call: Option<&str>,
    ) -> Result<Vec<QueryOutput>, DbError> {
        self.ensure_open()?;
        let statements = self.engine.parse(sql)?;
        let mut outputs = Vec::with_capacity(statements.len());
        // The caller's transaction, and where it stood when the script began.
        let callers = self.engine.savepoint();
        let mut opened_here = false;
        let mut callers_open = callers.is_some();
        for (position, statement) in statements.iter().enumerate() {
            match self.engine.execute(statement, &[]) {
                Ok(output) => {
                    match statement {
                        SqlStatement::StartTransaction { .. } => opened_here = true,
                        SqlStatement::Commit { .. } | SqlStatement::Rollback { .. } => {
                            opened_here = false;
                            callers_open = false;
                        }
                        _ => {}
                    }
                    outputs.push(output);
                }
                Err(mut error) => {
                    if self.engine.in_transaction() {
                        match (opened_here, callers_open, &callers) {
                            (true, _, _) => self.engine.rollback_open_transaction(),
                            (false, true, Some(savepoint)) => {
                                self.engine.rollback_to(savepoint.clone())
                            }
                            _ => {}
                        }
                    }
                    self.persist(None).await?;
                    self.release_held_frames().await;
                    if statements.len() > 1 {
                        error = at_statement(position, error);
                    }
                    return Err(error);
                }
            }
        }
        self.persist(call.map(|id| (id, outputs.as_slice())))
            .await?;
        self.release_held_frames().await;
        Ok(outputs)
    }

    /// Makes the commits made since the last call durable, or reverts them from memory. With
    /// `call`, its answer is kept in the same write, so a retried call finds it exactly when
    /// the call committed.
    async fn persist(&mut self, call: Option<(&str, &[QueryOutput])>) -> Result<(), DbError> {
        // Encoded only when there is a commit to keep it with: most calls (reads, statements
        // inside a transaction) commit nothing, and encoding their rows cost W3 a third.
        let encode_call = || -> Result<_, DbError> {
            match call {
                Some((id, outputs)) => Ok(Some((id.to_owned(), encode_results(&stored(outputs))?))),
                None => Ok(None),
            }
        };
        if let Some(sync) = self.sync.as_mut() {
            let added = sync.capture_commits(&mut self.engine)?;
            if added.is_empty() {
                return Ok(());
            }
            let call = match encode_call() {
                Ok(call) => call,
                Err(error) => {
                    sync.discard_newest(&mut self.engine, added.len())?;
                    return Err(error);
                }
            };
            let tables = changed_tables(sync.newest_pending(added.len()));
            let batch = Batch {
                outbox_add: added.clone(),
                sync: Some(sync.meta().encode()),
                call,
                ..Batch::default()
            };
            if let Err(error) = self.persistence.commit(batch).await {
                if let Some(sync) = self.sync.as_mut() {
                    sync.discard_newest(&mut self.engine, added.len())?;
                }
                return Err(not_saved(error));
            }
            self.events.push(DbEvent::Committed { tables });
            return Ok(());
        }
        let change_sets = self.engine.store_mut().take_change_sets();
        if change_sets.is_empty() {
            self.engine.store_mut().confirm_persisted();
            return Ok(());
        }
        let tables = changed_tables(&change_sets);
        let call = match encode_call() {
            Ok(call) => call,
            Err(error) => {
                self.engine.store_mut().revert_unpersisted();
                return Err(error);
            }
        };
        if self.fold_due(change_sets.len()) {
            // The commit goes straight into the checkpoint's pages, in one write: a bulk load
            // is not written twice (log, then fold) nor encoded as a change set first.
            if let Err(error) = self
                .fold(
                    false,
                    Batch {
                        call,
                        ..Batch::default()
                    },
                )
                .await
            {
                self.engine.store_mut().revert_unpersisted();
                return Err(undone(error));
            }
            self.engine.store_mut().confirm_persisted();
            self.events.push(DbEvent::Committed { tables });
            return Ok(());
        }
        let log = match change_sets
            .iter()
            .map(encode_change_set)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(log) => log,
            Err(error) => {
                // A value that cannot be stored (nested past the bound): the change is refused.
                self.engine.store_mut().revert_unpersisted();
                return Err(undone(DbError::from(error)));
            }
        };
        let written = self
            .persistence
            .commit(Batch {
                log,
                call,
                ..Batch::default()
            })
            .await;
        if let Err(error) = written {
            self.engine.store_mut().revert_unpersisted();
            return Err(not_saved(error));
        }
        self.engine.store_mut().confirm_persisted();
        self.events.push(DbEvent::Committed { tables });
        self.checkpoint_if_log_is_long().await;
        Ok(())
    }

    /// Past the policy's bounds the changes since the last fold are folded into the
    /// checkpoint. A failed fold loses nothing: the log still holds every change, and the next
    /// commit tries again.
    async fn checkpoint_if_log_is_long(&mut self) {
        if self.fold_due(0) {
            let _ = self.checkpoint().await;
        }
    }

    /// Whether the changes since the last fold (with `committing` log entries about to be
    /// added) are past the policy's bounds.
    fn fold_due(&self, committing: usize) -> bool {
        if !self.persistence.keeps_data() || self.engine.in_transaction() {
            return false;
        }
        let (entries, bytes) = self.persistence.log_size();
        let waiting = self.engine.store().fold_estimate(self.policy.rows_per_page);
        entries + committing >= self.policy.max_log_entries
            || bytes >= self.policy.max_log_bytes
            || waiting >= self.policy.max_fold_rows
    }

    /// Folds every change since the last checkpoint into it: the changed pages are rewritten
    /// (all of them if the stored checkpoint predates pages) and the log is dropped, in one
    /// atomic write.
    pub async fn checkpoint(&mut self) -> Result<(), DbError> {
        self.ensure_open()?;
        self.refuse_inside_transaction("checkpoint")?;
        self.fold(false, Batch::default()).await
    }

    /// Writes a fold (every page with `full`) with `with`'s other records, in one write.
    async fn fold(&mut self, full: bool, with: Batch) -> Result<(), DbError> {
        let rows_per_page = self.policy.rows_per_page;
        let plan = |engine: &Engine| engine.store().plan_fold(rows_per_page, full);
        // A synced database checkpoints its confirmed state; the outbox stays as it is.
        let fold = match self.sync.as_mut() {
            Some(sync) => sync.with_confirmed_state(&mut self.engine, plan)?,
            None => plan(&self.engine),
        };
        let (catalog, put) = self.encode_fold(&fold)?;
        self.persistence
            .commit(Batch {
                checkpoint: Some(CheckpointWrite {
                    replace: fold.replace,
                    put,
                    delete: fold.delete.clone(),
                }),
                ..with
            })
            .await?;
        self.catalog_written = Some(catalog);
        self.engine.store_mut().confirm_fold(fold);
        Ok(())
    }

    /// The stored database in memory: the engine, the sync state (with `sync`, or when the
    /// database was synced once) and the catalog page's bytes as stored.
    async fn load(
        persistence: &mut P,
        sync: bool,
    ) -> Result<(Engine, Option<SyncState>, Option<Vec<u8>>), DbError> {
        let mut store = MemoryStore::new();
        let unreadable =
            |e| DbError::new(ErrorCode::Format, format!("cannot replay stored data: {e}"));
        let mut catalog_written = None;
        // Page by page as they are read, each decoded and dropped before the next: the bytes
        // and the rows of the whole database are never in memory twice.
        let loaded = persistence
            .load(&mut |id, bytes| {
                store
                    .load_page(id, decode_change_set(&bytes)?)
                    .map_err(unreadable)?;
                if id == CATALOG_PAGE {
                    catalog_written = Some(bytes);
                }
                Ok(())
            })
            .await?;
        store.finish_loading();
        for bytes in &loaded.log {
            store
                .apply_change_set(decode_change_set(bytes)?)
                .map_err(unreadable)?;
        }
        let mut engine = Engine::new(store);
        let sync = match (loaded.sync, sync) {
            (None, false) => None,
            (meta, _) => {
                let (meta, rekeyed) = match meta.as_deref().map(SyncMeta::decode).transpose()? {
                    Some((meta, rekeyed)) => (meta, rekeyed),
                    None => (SyncMeta::fresh(), false),
                };
                if rekeyed {
                    // Stored before the first Hello, so every connection proves one identity.
                    persistence
                        .commit(Batch {
                            sync: Some(meta.encode()),
                            ..Batch::default()
                        })
                        .await?;
                }
                let mut state = SyncState::new(meta);
                state.restore_outbox(&mut engine, loaded.outbox)?;
                Some(state)
            }
        };
        engine.set_synced(sync.is_some());
        Ok((engine, sync, catalog_written))
    }

    /// Storing what a server message settled failed: memory is put back as stored (the
    /// entries come again, from the stored position, after the reconnect this asks for).
    async fn restore_stored_state(&mut self) {
        match Self::load(&mut self.persistence, true).await {
            Ok((engine, mut sync, catalog_written)) => {
                if let Some(sync) = sync.as_mut() {
                    sync.require_reconnect();
                }
                self.engine = engine;
                self.sync = sync;
                self.catalog_written = catalog_written;
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

    /// After a sync reset (the server's log is behind ours): the stored confirmed state is
    /// replaced by the one now in memory (nothing, until the catch-up), the log dropped, the
    /// pending changes that no longer apply leave the outbox — one atomic write. If it fails,
    /// the stored state is the old one: the next open finds the server behind again.
    async fn persist_reset(&mut self, removed: Vec<u64>, meta: Vec<u8>) -> Result<(), DbError> {
        let with = Batch {
            outbox_remove: removed,
            sync: Some(meta),
            ..Batch::default()
        };
        self.fold(true, with).await
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

    /// Every table with its columns, keys, indexes and row count.
    pub fn tables(&mut self) -> Result<Vec<TableInfo>, DbError> {
        self.ensure_open()?;
        Ok(describe_tables(&mut self.engine))
    }

    /// The whole database as a SQL script (see `dump`). Refused inside a transaction, whose
    /// uncommitted changes would otherwise leak into the file.
    pub fn export(&self) -> Result<String, DbError> {
        self.ensure_open()?;
        self.refuse_inside_transaction("export")?;
        dump_sql(&self.engine)
    }

    /// Runs a SQL script (e.g. an `export`) as one transaction: all of it is committed, or on
    /// the first failing statement none of it is, and the error names that statement.
    pub async fn import(&mut self, sql: &str) -> Result<ImportSummary, DbError> {
        self.import_call(sql, None).await
    }

    /// `import`, keeping its summary under `call` (see `call_result`: one result whose one
    /// row is `statements, rows`).
    pub async fn import_call(
        &mut self,
        sql: &str,
        call: Option<&str>,
    ) -> Result<ImportSummary, DbError> {
        self.ensure_open()?;
        self.refuse_inside_transaction("import")?;
        let statements = parse_script(sql)?;
        if let Some(position) = statements.iter().position(controls_transaction) {
            return Err(at_statement(
                position,
                DbError::new(
                    ErrorCode::Params,
                    "import runs the script in its own transaction; remove BEGIN / COMMIT / ROLLBACK",
                ),
            ));
        }
        self.engine.query("BEGIN", &[])?;
        let mut rows = 0;
        // A dump gives GENERATED ALWAYS columns their stored values, as pg_dump's
        // OVERRIDING SYSTEM VALUE does.
        self.engine.set_overriding_system_value(true);
        for (position, statement) in statements.iter().enumerate() {
            match self.engine.execute(statement, &[]) {
                Ok(output) if output.command == "INSERT" => rows += output.row_count,
                Ok(_) => {}
                Err(error) => {
                    self.engine.set_overriding_system_value(false);
                    self.engine.rollback_open_transaction();
                    return Err(at_statement(position, error));
                }
            }
        }
        self.engine.set_overriding_system_value(false);
        self.engine.query("COMMIT", &[])?;
        let summary = ImportSummary {
            statements: statements.len(),
            rows,
        };
        let answer = [summary.as_output()];
        self.persist(call.map(|id| (id, &answer[..]))).await?;
        self.release_held_frames().await;
        Ok(summary)
    }

    fn refuse_inside_transaction(&self, what: &str) -> Result<(), DbError> {
        if self.engine.in_transaction() {
            return Err(DbError::new(
                ErrorCode::Execute,
                format!("cannot {what} inside a transaction; COMMIT or ROLLBACK first"),
            ));
        }
        Ok(())
    }

    /// Closes the connection: an open transaction is rolled back; later calls fail `closed`.
    pub fn close(&mut self) {
        if !self.closed {
            self.engine.rollback_open_transaction();
            self.held.clear();
            self.engine.store_mut().take_change_sets();
            self.engine.store_mut().confirm_persisted();
            self.persistence.close();
            self.closed = true;
        }
    }

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
        let effects = sync.on_message(&mut self.engine, message)?;
        let meta = sync.meta();
        if effects.reset {
            return self.persist_reset(effects.removed, meta.encode()).await;
        }
        if !effects.confirmed.is_empty() || !effects.removed.is_empty() {
            let written = self
                .persistence
                .commit(Batch {
                    log: effects.confirmed,
                    outbox_remove: effects.removed,
                    sync: Some(meta.encode()),
                    ..Batch::default()
                })
                .await;
            if let Err(error) = written {
                self.restore_stored_state().await;
                return Err(not_saved(error));
            }
            self.checkpoint_if_log_is_long().await;
        }
        Ok(())
    }

    /// Applies server messages held during a transaction, once none is open. A failure is
    /// reported as a sync error event: the caller's own statement succeeded.
    async fn release_held_frames(&mut self) {
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

    /// The tables `sql` reads (views counted with the tables they read): a live query re-runs
    /// when one of them changes.
    pub fn tables_read(&mut self, sql: &str) -> Result<Vec<String>, DbError> {
        self.ensure_open()?;
        self.engine.tables_read(sql)
    }
}

fn changed_tables<'a>(change_sets: impl IntoIterator<Item = &'a ChangeSet>) -> Vec<String> {
    let mut tables: Vec<String> = change_sets
        .into_iter()
        .flat_map(|c| c.tables.iter().map(|t| t.name.clone()))
        .collect();
    tables.sort();
    tables.dedup();
    tables
}

fn stored(outputs: &[QueryOutput]) -> Vec<StoredResult> {
    outputs
        .iter()
        .map(|o| StoredResult {
            command: o.command.to_owned(),
            columns: o.columns.clone(),
            row_count: o.row_count as u64,
            rows: o.rows.clone(),
        })
        .collect()
}

fn output_of_stored(result: StoredResult) -> QueryOutput {
    QueryOutput {
        command: crate::engine::command_name(&result.command),
        columns: result.columns,
        row_count: usize::try_from(result.row_count).unwrap_or(usize::MAX),
        rows: result.rows,
    }
}

/// What `import` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub statements: usize,
    pub rows: usize,
}

impl ImportSummary {
    /// As a result with one row `statements, rows`, the form a kept call answer takes.
    pub fn as_output(&self) -> QueryOutput {
        use gluesql_core::data::Value;
        let count = |n: usize| Value::I64(i64::try_from(n).unwrap_or(i64::MAX));
        QueryOutput {
            command: "IMPORT",
            columns: vec!["statements".to_owned(), "rows".to_owned()],
            rows: vec![vec![count(self.statements), count(self.rows)]],
            row_count: 1,
        }
    }
}

/// Names the failing statement of a script (1-based) in its error message.
fn at_statement(position: usize, mut error: DbError) -> DbError {
    error.message = format!("statement {}: {}", position + 1, error.message);
    error
}

/// Parses a script without the statement cache: scripts are big and rarely run twice.
fn parse_script(sql: &str) -> Result<Vec<SqlStatement>, DbError> {
    crate::engine::parse_sql(sql)
}

fn controls_transaction(statement: &SqlStatement) -> bool {
    matches!(
        statement,
        SqlStatement::StartTransaction { .. }
            | SqlStatement::Commit { .. }
            | SqlStatement::Rollback { .. }
    )
}

/// A failed write: memory has already been returned to its state before the change.
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
