//! The log in PostgreSQL, shared by every server instance pointed at it: one total order per
//! database through a locked head row, write turns as advisory locks, LISTEN/NOTIFY to tell
//! the others. No sync logic here.

use {
    super::{
        assumptions_hold, progress_after, Batch, ClientProgress, Commit, LogError, SyncLog,
        WriteTurn,
    },
    async_trait::async_trait,
    deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod},
    futures_util::{
        future::{try_join, try_join4},
        stream::poll_fn,
        StreamExt,
    },
    idbsql::protocol::messages::LogEntry,
    sha2::{Digest, Sha256},
    std::{collections::HashMap, time::Duration},
    tokio::{sync::broadcast, task::JoinHandle},
    tokio_postgres::AsyncMessage,
};

/// The version of the tables below; a server refuses a database written by a newer one.
pub const SCHEMA_VERSION: i32 = 1;

/// Held while the schema is created or checked, so instances starting together do not race.
const SCHEMA_LOCK: i64 = 0x6964_6273_716c_0001;

const CREATE_SCHEMA: &str = "
CREATE TABLE idbsql_heads (
    db text PRIMARY KEY,
    last_seq bigint NOT NULL
);
CREATE TABLE idbsql_log (
    db text NOT NULL,
    seq bigint NOT NULL,
    client_id bytea NOT NULL,
    client_seq bigint NOT NULL,
    seen bigint NOT NULL,
    change_set bytea NOT NULL,
    PRIMARY KEY (db, seq)
);
CREATE TABLE idbsql_clients (
    db text NOT NULL,
    client_id bytea NOT NULL,
    client_seq bigint NOT NULL,
    server_seq bigint NOT NULL,
    PRIMARY KEY (db, client_id)
);
INSERT INTO idbsql_schema (version) VALUES (1);
";

/// First key of every write-turn advisory lock (the second is the database's), so ours are
/// told from any an application takes on the same PostgreSQL.
const TURN_LOCK_CLASS: i32 = 0x6964_6273;

/// The channel commits are announced on; the payload is `<instance id> <database>`.
const CHANNEL: &str = "idbsql_log";
/// NOTIFY payloads stop at 8,000 bytes; a longer name is announced as "any database".
const MAX_NOTIFIED_NAME: usize = 4000;

fn pg_error(error: impl std::fmt::Display) -> LogError {
    LogError::from_message(format!("PostgreSQL: {error}"))
}

/// A connection that could not be had, with every cause: tokio-postgres says only "db error"
/// at the top, and the reason (a refused TLS handshake, a `pg_hba.conf` rule) is beneath it.
fn pool_error(error: deadpool_postgres::PoolError) -> LogError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some layers repeat their cause in their own message.
        if !message.ends_with(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    pg_error(message)
}

fn db_error(error: tokio_postgres::Error) -> LogError {
    match error.as_db_error() {
        Some(db) => pg_error(format!("{}: {}", db.code().code(), db.message())),
        None => pg_error(error),
    }
}

// PostgreSQL has no unsigned 64-bit integer: client sequence numbers and `seen` are stored as
// bigint with the same bits (u64::MAX reads back as -1); ordering is done here, never in SQL.
fn to_sql(value: u64) -> i64 {
    value as i64
}

fn from_sql(value: i64) -> u64 {
    value as u64
}

fn id_bytes(client_id: u128) -> [u8; 16] {
    client_id.to_le_bytes()
}

fn id_from(bytes: &[u8]) -> Result<u128, LogError> {
    let bytes: [u8; 16] = bytes
        .try_into()
        .map_err(|_| pg_error("a client id that is not 16 bytes"))?;
    Ok(u128::from_le_bytes(bytes))
}

/// Connections for reads and commits, and apart from them the connections that hold write
/// turns: a writer holding a turn needs a second connection to commit, so one pool for both
/// could be emptied by turn holders all waiting for it. 1 + 2 × 10 connections per server.
const POOL_SIZE: usize = 10;

pub struct PostgresLog {
    pool: Pool,
    turns: Pool,
    /// Tells this instance's notifications from the others'.
    instance: String,
    appends: broadcast::Sender<String>,
    listener: JoinHandle<()>,
}

impl Drop for PostgresLog {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PostgresLog {
    /// Connects, creates the tables on first use (or checks their version) and starts
    /// listening for other instances' commits.
    pub async fn connect(url: &str) -> Result<Self, LogError> {
        let (config, tls) = super::tls::configure(url)?;
        let pool = |wait| {
            let manager = Manager::from_config(
                config.clone(),
                tls.clone(),
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(POOL_SIZE)
                .wait_timeout(Some(wait))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(pg_error)
        };
        let pool_for_turns = pool(Duration::from_secs(60))?;
        let pool = pool(Duration::from_secs(30))?;
        prepare_schema(&pool).await?;
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let appends = broadcast::channel(1024).0;
        let listener = tokio::spawn(listen(config, tls, instance.clone(), appends.clone()));
        Ok(Self {
            pool,
            turns: pool_for_turns,
            instance,
            appends,
            listener,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, LogError> {
        self.pool.get().await.map_err(pool_error)
    }
}

async fn prepare_schema(pool: &Pool) -> Result<(), LogError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let transaction = client.transaction().await.map_err(db_error)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(db_error)?;
    transaction
        .batch_execute("CREATE TABLE IF NOT EXISTS idbsql_schema (version integer NOT NULL)")
        .await
        .map_err(db_error)?;
    let version: Option<i32> = transaction
        .query_one("SELECT max(version) FROM idbsql_schema", &[])
        .await
        .map_err(db_error)?
        .get(0);
    match version {
        None => transaction
            .batch_execute(CREATE_SCHEMA)
            .await
            .map_err(db_error)?,
        Some(SCHEMA_VERSION) => {}
        Some(newer) if newer > SCHEMA_VERSION => {
            return Err(pg_error(format!(
                "its idbsql tables are at schema version {newer}, newer than this server's \
                 {SCHEMA_VERSION}; run a newer idbsql-server"
            )))
        }
        Some(other) => return Err(pg_error(format!("unknown idbsql schema version {other}"))),
    }
    transaction.commit().await.map_err(db_error)
}

/// Forwards other instances' commit notifications, reconnecting after a lost connection; every
/// (re)connection announces "any database", since notifications sent meanwhile were missed.
async fn listen(
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    instance: String,
    appends: broadcast::Sender<String>,
) {
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let (messages_tx, mut messages) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut stream = poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(message)) = stream.next().await {
                        if messages_tx.send(message).is_err() {
                            break;
                        }
                    }
                });
                if client
                    .batch_execute(&format!("LISTEN {CHANNEL}"))
                    .await
                    .is_ok()
                {
                    let _ = appends.send(String::new());
                    while let Some(message) = messages.recv().await {
                        let AsyncMessage::Notification(notification) = message else {
                            continue;
                        };
                        let Some((from, database)) = notification.payload().split_once(' ') else {
                            continue;
                        };
                        if from != instance {
                            let _ = appends.send(database.to_owned());
                        }
                    }
                }
                driver.abort();
                tracing::warn!("lost the PostgreSQL notification connection; reconnecting");
            }
            Err(error) => {
                tracing::warn!(%error, "cannot open the PostgreSQL notification connection");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A session-level advisory lock on one pooled connection. Released explicitly; a turn
/// dropped without release (a writer that panicked) closes its connection instead, which
/// releases the lock in PostgreSQL rather than returning a locked connection to the pool.
struct PostgresTurn {
    client: Option<deadpool_postgres::Object>,
    key: i32,
}

#[async_trait]
impl WriteTurn for PostgresTurn {
    async fn release(mut self: Box<Self>) {
        if let Some(client) = self.client.take() {
            let released = client
                .execute(
                    "SELECT pg_advisory_unlock($1, $2)",
                    &[&TURN_LOCK_CLASS, &self.key],
                )
                .await;
            if released.is_err() {
                drop(deadpool_postgres::Object::take(client));
            }
        }
    }
}

impl Drop for PostgresTurn {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// The second key of a database's write-turn lock: the first 4 bytes of SHA-256 of its name
/// (two databases sharing one only take turns together).
fn turn_key(database: &str) -> i32 {
    let digest = Sha256::digest(database.as_bytes());
    i32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The stored progress of these clients (absent: never seen), inside a transaction or not.
async fn read_progress(
    client: &impl GenericClient,
    database: &str,
    client_ids: impl Iterator<Item = u128>,
) -> Result<HashMap<u128, ClientProgress>, LogError> {
    let statement = client
        .prepare_cached(
            "SELECT client_id, client_seq, server_seq FROM idbsql_clients \
             WHERE db = $1 AND client_id = ANY($2)",
        )
        .await
        .map_err(db_error)?;
    let ids: Vec<[u8; 16]> = client_ids.map(id_bytes).collect();
    let ids: Vec<&[u8]> = ids.iter().map(<[u8; 16]>::as_slice).collect();
    let mut found = HashMap::with_capacity(ids.len());
    for row in client
        .query(&statement, &[&database, &ids])
        .await
        .map_err(db_error)?
    {
        found.insert(
            id_from(row.try_get(0).map_err(db_error)?)?,
            ClientProgress {
                client_seq: from_sql(row.try_get(1).map_err(db_error)?),
                server_seq: from_sql(row.try_get(2).map_err(db_error)?),
            },
        );
    }
    Ok(found)
}

fn entry_from(row: &tokio_postgres::Row) -> Result<LogEntry, LogError> {
    Ok(LogEntry {
        seq: from_sql(row.try_get(0).map_err(db_error)?),
        client_id: id_from(row.try_get(1).map_err(db_error)?)?,
        client_seq: from_sql(row.try_get(2).map_err(db_error)?),
        seen: from_sql(row.try_get(3).map_err(db_error)?),
        change_set: row.try_get(4).map_err(db_error)?,
    })
}

#[async_trait]
impl SyncLog for PostgresLog {
    async fn write_turn(&self, database: &str) -> Result<Option<Box<dyn WriteTurn>>, LogError> {
        let client = self.turns.get().await.map_err(pool_error)?;
        let key = turn_key(database);
        client
            .execute("SELECT pg_advisory_lock($1, $2)", &[&TURN_LOCK_CLASS, &key])
            .await
            .map_err(db_error)?;
        Ok(Some(Box::new(PostgresTurn {
            client: Some(client),
            key,
        })))
    }

    async fn commit_batch(&self, database: &str, batch: &Batch<'_>) -> Result<Commit, LogError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(db_error)?;
        // The head row is the database's lock: every commit to it, on any instance, waits here
        // and then sees the others' effects (READ COMMITTED re-reads after the lock).
        let lock = transaction
            .prepare_cached(
                "INSERT INTO idbsql_heads (db, last_seq) VALUES ($1, 0) \
                 ON CONFLICT (db) DO UPDATE SET last_seq = idbsql_heads.last_seq \
                 RETURNING last_seq",
            )
            .await
            .map_err(db_error)?;
        let head: i64 = transaction
            .query_one(&lock, &[&database])
            .await
            .map_err(db_error)?
            .get(0);
        if from_sql(head) != batch.after {
            return Ok(Commit::Behind);
        }
        let stored = read_progress(&transaction, database, batch.client_ids()).await?;
        let stored = |client_id| stored.get(&client_id).copied().unwrap_or_default();
        if !assumptions_hold(batch, stored) {
            return Ok(Commit::Behind);
        }
        let seqs: Vec<u64> = (batch.after + 1..).take(batch.accepted.len()).collect();
        let progress = progress_after(batch, &seqs, stored);

        let seq_column: Vec<i64> = seqs.iter().map(|&seq| to_sql(seq)).collect();
        let entry_ids: Vec<[u8; 16]> = batch
            .accepted
            .iter()
            .map(|a| id_bytes(a.client_id))
            .collect();
        let entry_ids: Vec<&[u8]> = entry_ids.iter().map(<[u8; 16]>::as_slice).collect();
        let client_seqs: Vec<i64> = batch
            .accepted
            .iter()
            .map(|a| to_sql(a.client_seq))
            .collect();
        let seens: Vec<i64> = batch.accepted.iter().map(|a| to_sql(a.seen)).collect();
        let change_sets: Vec<&[u8]> = batch.accepted.iter().map(|a| a.change_set).collect();
        let progress_ids: Vec<[u8; 16]> = progress.keys().map(|&id| id_bytes(id)).collect();
        let progress_ids: Vec<&[u8]> = progress_ids.iter().map(<[u8; 16]>::as_slice).collect();
        let progress_client: Vec<i64> = progress.values().map(|p| to_sql(p.client_seq)).collect();
        let progress_server: Vec<i64> = progress.values().map(|p| to_sql(p.server_seq)).collect();
        let new_head = to_sql(batch.after + seqs.len() as u64);
        let mut notice = format!("{} ", self.instance);
        if database.len() <= MAX_NOTIFIED_NAME {
            notice.push_str(database);
        }

        let (append, record, advance, announce) = try_join4(
            transaction.prepare_cached(
                "INSERT INTO idbsql_log (db, seq, client_id, client_seq, seen, change_set) \
                 SELECT $1::text, * FROM unnest($2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[], $6::bytea[])",
            ),
            transaction.prepare_cached(
                "INSERT INTO idbsql_clients (db, client_id, client_seq, server_seq) \
                 SELECT $1::text, * FROM unnest($2::bytea[], $3::bigint[], $4::bigint[]) \
                 ON CONFLICT (db, client_id) DO UPDATE \
                 SET client_seq = EXCLUDED.client_seq, server_seq = EXCLUDED.server_seq",
            ),
            transaction.prepare_cached("UPDATE idbsql_heads SET last_seq = $2 WHERE db = $1"),
            transaction.prepare_cached("SELECT pg_notify($1, $2)"),
        )
        .await
        .map_err(db_error)?;
        // Sent together (pipelined): one round trip for the writes of the batch.
        let channel = CHANNEL;
        try_join4(
            transaction.execute(
                &append,
                &[
                    &database,
                    &seq_column,
                    &entry_ids,
                    &client_seqs,
                    &seens,
                    &change_sets,
                ],
            ),
            transaction.execute(
                &record,
                &[&database, &progress_ids, &progress_client, &progress_server],
            ),
            transaction.execute(&advance, &[&database, &new_head]),
            async {
                if seqs.is_empty() {
                    Ok(0)
                } else {
                    transaction.execute(&announce, &[&channel, &notice]).await
                }
            },
        )
        .await
        .map_err(db_error)?;
        transaction.commit().await.map_err(db_error)?;
        Ok(Commit::Appended(seqs))
    }

    async fn entries_after(
        &self,
        database: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, LogError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT seq, client_id, client_seq, seen, change_set FROM idbsql_log \
                 WHERE db = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .await
            .map_err(db_error)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        client
            .query(&statement, &[&database, &to_sql(after_seq), &limit])
            .await
            .map_err(db_error)?
            .iter()
            .map(entry_from)
            .collect()
    }

    async fn rewrite_entries(
        &self,
        database: &str,
        rewritten: &[(u64, Option<Vec<u8>>)],
    ) -> Result<(), LogError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(db_error)?;
        let (update, remove) = try_join(
            transaction
                .prepare_cached("UPDATE idbsql_log SET change_set = $3 WHERE db = $1 AND seq = $2"),
            transaction.prepare_cached("DELETE FROM idbsql_log WHERE db = $1 AND seq = $2"),
        )
        .await
        .map_err(db_error)?;
        for (seq, change_set) in rewritten {
            let seq = to_sql(*seq);
            match change_set {
                Some(change_set) => {
                    transaction
                        .execute(&update, &[&database, &seq, change_set])
                        .await
                }
                None => transaction.execute(&remove, &[&database, &seq]).await,
            }
            .map_err(db_error)?;
        }
        transaction.commit().await.map_err(db_error)
    }

    async fn last_seq(&self, database: &str) -> Result<u64, LogError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT last_seq FROM idbsql_heads WHERE db = $1")
            .await
            .map_err(db_error)?;
        Ok(client
            .query_opt(&statement, &[&database])
            .await
            .map_err(db_error)?
            .map_or(0, |row| from_sql(row.get(0))))
    }

    async fn clients_progress(
        &self,
        database: &str,
        client_ids: &[u128],
    ) -> Result<HashMap<u128, ClientProgress>, LogError> {
        let client = self.client().await?;
        read_progress(&client, database, client_ids.iter().copied()).await
    }

    fn appends_elsewhere(&self) -> Option<broadcast::Receiver<String>> {
        Some(self.appends.subscribe())
    }
}
