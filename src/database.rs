//! A database's verbs (query, exec, import, export, checkpoint, close) over the engine. What
//! they commit goes to the journal (`persist::journal`), which owns durability; a call that
//! commits returns only once it is stored, or reverted. Sync's verbs are in `database/remote`.

use crate::{
    catalog::{describe_tables, TableInfo},
    dump::dump_sql,
    engine::{Engine, QueryOutput},
    error::{DbError, ErrorCode},
    persist::{
        journal::{AsIs, CallAnswer, Commit, Journal, Opened},
        Persistence,
    },
    protocol::{decode_results, encode_results, messages::ServerMessage, ChangeSet},
    sync::{SyncEvent, SyncMeta, SyncState},
};
use gluesql_core::sqlparser::ast::Statement as SqlStatement;

mod remote;

pub use crate::persist::journal::CheckpointPolicy;

pub struct Database<P: Persistence> {
    engine: Engine,
    /// Where commits go: the one owner of what is stored.
    journal: Journal<P>,
    closed: bool,
    sync: Option<SyncState>,
    /// Server messages that arrived while a transaction was open: applied when it ends, so
    /// a ROLLBACK never writes the rows from before the transaction over them.
    held: Vec<ServerMessage>,
    /// What happened that the application (live queries, other tabs) is told about.
    events: Vec<DbEvent>,
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
        persistence: P,
        policy: CheckpointPolicy,
        sync: bool,
    ) -> Result<Self, DbError> {
        let (mut journal, opened) = Journal::open(persistence, policy).await?;
        let (engine, sync) = Self::opened(&mut journal, opened, sync).await?;
        Ok(Self {
            engine,
            journal,
            closed: false,
            sync,
            held: Vec::new(),
            events: Vec::new(),
        })
    }

    /// The engine over what the journal loaded, and the sync state (with `sync`, or when the
    /// database was synced once) with its outbox back on top of the confirmed state.
    async fn opened(
        journal: &mut Journal<P>,
        opened: Opened,
        sync: bool,
    ) -> Result<(Engine, Option<SyncState>), DbError> {
        let mut engine = Engine::new(opened.store);
        let sync = match (opened.sync, sync) {
            (None, false) => None,
            (meta, _) => {
                let (meta, rekeyed) = match meta.as_deref().map(SyncMeta::decode).transpose()? {
                    Some((meta, rekeyed)) => (meta, rekeyed),
                    None => (SyncMeta::fresh(), false),
                };
                if rekeyed {
                    // Stored before the first Hello, so every connection proves one identity.
                    let commit = Commit::SyncState(meta.encode());
                    journal
                        .commit(engine.store_mut(), &mut AsIs, commit)
                        .await?;
                }
                let mut state = SyncState::new(meta);
                state.restore_outbox(engine.store_mut(), opened.outbox)?;
                Some(state)
            }
        };
        engine.set_synced(sync.is_some());
        Ok((engine, sync))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn persistence_mut(&mut self) -> &mut P {
        self.journal.persistence_mut()
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

    /// `query`, with RETURNING's rows packed for the JS edge where the engine packs them
    /// (`Engine::pack_returning`): then they are the second value and the output's `rows` are
    /// empty.
    pub async fn query_packed(
        &mut self,
        sql: &str,
        params: &[gluesql_core::data::Value],
    ) -> Result<(QueryOutput, Option<crate::packed_rows::PackedRows>), DbError> {
        self.engine.pack_returning();
        let result = self.query_call(sql, params, None).await;
        let packed = self.engine.take_packed();
        Ok((result?, packed))
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
        let Some(bytes) = self.journal.call_result(call).await? else {
            return Ok(None);
        };
        let results = decode_results(&bytes)?;
        Ok(Some(
            results.into_iter().map(QueryOutput::from_stored).collect(),
        ))
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
        let answer = call.map(|(id, outputs)| -> CallAnswer<'_> {
            let stored = move || {
                outputs
                    .iter()
                    .map(QueryOutput::to_stored)
                    .collect::<Vec<_>>()
            };
            Box::new(move || Ok((id.to_owned(), encode_results(&stored())?)))
        });
        let store = self.engine.store_mut();
        let Some(sync) = self.sync.as_mut() else {
            let commit = Commit::Local { call: answer };
            let committed = self.journal.commit(store, &mut AsIs, commit).await?;
            if !committed.change_sets.is_empty() {
                let tables = changed_tables(&committed.change_sets);
                self.events.push(DbEvent::Committed { tables });
            }
            return Ok(());
        };
        // A synced commit goes to the outbox; only sync knows how to take it back off.
        let added = sync.capture_commits(store)?;
        if added.is_empty() {
            return Ok(());
        }
        let count = added.len();
        let tables = changed_tables(sync.newest_pending(count));
        let commit = Commit::Outbox {
            added,
            sync: sync.meta().encode(),
            call: answer,
        };
        if let Err(error) = self.journal.commit(store, sync, commit).await {
            sync.discard_newest(store, count)?;
            return Err(error);
        }
        self.events.push(DbEvent::Committed { tables });
        Ok(())
    }

    /// Folds every change since the last checkpoint into it (see `Journal::checkpoint`); a
    /// synced database folds its confirmed state.
    pub async fn checkpoint(&mut self) -> Result<(), DbError> {
        self.ensure_open()?;
        self.refuse_inside_transaction("checkpoint")?;
        let store = self.engine.store_mut();
        match self.sync.as_mut() {
            Some(sync) => self.journal.checkpoint(store, sync).await,
            None => self.journal.checkpoint(store, &mut AsIs).await,
        }
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
            self.journal.close();
            self.closed = true;
        }
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
