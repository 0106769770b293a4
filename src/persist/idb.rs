//! IndexedDB persistence (browser only): object stores `meta` (format version, sync state),
//! `checkpoint` (pages by id, see store::pages), `log` (change sets by sequence number), `outbox` (a synced
//! database's unconfirmed change sets by client sequence) and `calls` (answers of committed
//! calls by call id). One IDB transaction per batch.

use {
    super::{Batch, Loaded, PageSink, Persistence},
    crate::{
        error::{DbError, ErrorCode},
        protocol::FORMAT_VERSION,
    },
    idb::{
        builder::{DatabaseBuilder, ObjectStoreBuilder},
        request::futures::{
            GetAllKeysStoreRequestFuture, GetAllStoreRequestFuture, GetStoreRequestFuture,
        },
        Database, Factory, KeyRange, ObjectStore, Query, Transaction, TransactionMode,
    },
    js_sys::{Array, Object, Reflect, Uint8Array},
    std::future::IntoFuture,
    wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue},
    web_sys::IdbDatabase,
};

const META: &str = "meta";
const CHECKPOINT: &str = "checkpoint";
const LOG: &str = "log";
const OUTBOX: &str = "outbox";
const CALLS: &str = "calls";
/// IndexedDB schema version: 2 added `outbox`, 3 `calls` (the upgrade only creates missing
/// stores, so a database of any earlier version opens).
const SCHEMA_VERSION: u32 = 3;
/// Checkpoint pages per read while loading (a page holds a few hundred rows): small enough
/// that decoding starts early, large enough that requests stay few.
pub const PAGES_PER_READ: usize = 16;
/// How long a call's answer is kept for a retry: retries follow a hand-over within seconds.
const CALL_RECORD_MILLIS: f64 = 3_600_000.0;

/// Puts `bytes` under `key` (every record but the format number is bytes).
fn put_bytes(store: &ObjectStore, key: &JsValue, bytes: &[u8]) -> Result<(), DbError> {
    store
        .put(&Uint8Array::from(bytes), Some(key))
        .map_err(|e| storage_error("write", e))?;
    Ok(())
}

/// A checkpoint page's key: a whole number (0.1.0 wrote chunk indexes, which are the same).
fn page_id(key: &JsValue) -> Result<u64, DbError> {
    key.as_f64()
        .filter(|k| k.fract() == 0.0 && *k >= 0.0)
        .map(|k| k as u64)
        .ok_or_else(|| {
            DbError::new(
                ErrorCode::Format,
                "a checkpoint page has a key that is not a page id",
            )
        })
}

#[wasm_bindgen]
extern "C" {
    /// An IDBDatabase seen through the one call web-sys keeps unstable.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type IdbDatabaseWithOptions;

    /// `IDBDatabase.transaction(names, mode, { durability })`.
    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        this: &IdbDatabaseWithOptions,
        names: &Array,
        mode: &str,
        options: &JsValue,
    ) -> Result<web_sys::IdbTransaction, JsValue>;
}

/// The browser's durability hint for write transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Survives a tab or browser crash; the browser's default.
    Relaxed,
    /// Waits for the disk flush: survives power loss.
    Strict,
}

pub struct IdbPersistence {
    database: Database,
    raw: IdbDatabase,
    durability: Durability,
    next_seq: f64,
    log_entries: usize,
    log_bytes: usize,
    fail_next_write: bool,
    /// The `format` record is known to be on disk, so writes need not put it again.
    format_stamped: bool,
}

pub fn database_name(name: &str) -> String {
    format!("idbsql/{name}")
}

fn storage_error(context: &str, error: impl std::fmt::Debug) -> DbError {
    DbError::new(
        ErrorCode::Storage,
        format!("IndexedDB {context} failed: {error:?}"),
    )
}

impl IdbPersistence {
    pub async fn open(name: &str, durability: Durability) -> Result<Self, DbError> {
        let database = DatabaseBuilder::new(&database_name(name))
            .version(SCHEMA_VERSION)
            .add_object_store(ObjectStoreBuilder::new(META))
            .add_object_store(ObjectStoreBuilder::new(CHECKPOINT))
            .add_object_store(ObjectStoreBuilder::new(LOG))
            .add_object_store(ObjectStoreBuilder::new(OUTBOX))
            .add_object_store(ObjectStoreBuilder::new(CALLS))
            .build()
            .await
            .map_err(|e| {
                // An IndexedDB version above ours was written by a newer idbsql.
                if format!("{e:?}").contains("VersionError") {
                    DbError::new(
                        ErrorCode::Format,
                        format!(
                            "database \"{name}\" was stored by a newer idbsql (IndexedDB schema version above {SCHEMA_VERSION}); open it with that version"
                        ),
                    )
                } else {
                    storage_error("open", e)
                }
            })?;
        let raw: IdbDatabase = database.into();
        Ok(Self {
            database: Database::from(raw.clone()),
            raw,
            durability,
            next_seq: 0.0,
            log_entries: 0,
            log_bytes: 0,
            fail_next_write: false,
            format_stamped: false,
        })
    }

    /// Deletes a database's IndexedDB storage; it must not be open.
    pub async fn delete(name: &str) -> Result<(), DbError> {
        let factory = Factory::new().map_err(|e| storage_error("delete", e))?;
        factory
            .delete(&database_name(name))
            .map_err(|e| storage_error("delete", e))?
            .await
            .map_err(|e| storage_error("delete", e))
    }

    /// Test hook: abort the next write transaction as a quota error would.
    pub fn fail_next_write(&mut self) {
        self.fail_next_write = true;
    }

    fn write_transaction(&self, stores: &[&str]) -> Result<Transaction, DbError> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let options = Object::new();
        let durability = match self.durability {
            Durability::Relaxed => "relaxed",
            Durability::Strict => "strict",
        };
        Reflect::set(&options, &"durability".into(), &durability.into())
            .map_err(|e| storage_error("transaction", e))?;
        let transaction = self
            .raw
            .unchecked_ref::<IdbDatabaseWithOptions>()
            .transaction_with_options(&names, "readwrite", &options)
            .map_err(|e| storage_error("transaction", e))?;
        Ok(transaction.into())
    }

    /// Puts the format record with the first write of a connection; later writes know it is
    /// there (see `finish`).
    fn stamp_format(&self, meta: &ObjectStore) -> Result<(), DbError> {
        if self.format_stamped {
            return Ok(());
        }
        meta.put(
            &JsValue::from(FORMAT_VERSION),
            Some(&JsValue::from_str("format")),
        )
        .map_err(|e| storage_error("write", e))?;
        Ok(())
    }

    /// Puts entries at the next sequence numbers; returns the sequence number after them.
    fn put_log_entries(&self, log: &ObjectStore, entries: &[Vec<u8>]) -> Result<f64, DbError> {
        let mut seq = self.next_seq;
        for entry in entries {
            put_bytes(log, &JsValue::from(seq), entry)?;
            seq += 1.0;
        }
        Ok(seq)
    }

    /// Counts entries that are now durable in the log.
    fn logged(&mut self, next_seq: f64, entries: &[Vec<u8>]) {
        self.next_seq = next_seq;
        self.log_entries += entries.len();
        self.log_bytes += entries.iter().map(Vec::len).sum::<usize>();
    }

    async fn finish(&mut self, transaction: Transaction, context: &str) -> Result<(), DbError> {
        let transaction = if std::mem::take(&mut self.fail_next_write) {
            transaction.abort().map_err(|e| storage_error(context, e))?
        } else {
            transaction
        };
        // Kept to read the reason of an abort (Chromium's QuotaExceededError) after the await.
        let raw = web_sys::IdbTransaction::from(transaction);
        let result = Transaction::from(raw.clone())
            .await
            .map_err(|e| transaction_error(context, e))?;
        if result.is_committed() {
            self.format_stamped = true;
            Ok(())
        } else {
            let reason = error_reason(&raw)
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            Err(DbError::new(
                ErrorCode::Storage,
                format!("IndexedDB {context} was aborted{reason}"),
            ))
        }
    }
}

/// Call ids start with the time they were made, in base 36 (see js/owner.js), so old answers
/// are one key range.
fn call_id_cutoff() -> String {
    let mut millis = (js_sys::Date::now() - CALL_RECORD_MILLIS).max(0.0) as u64;
    let mut digits = Vec::new();
    while millis > 0 {
        let digit = (millis % 36) as u32;
        digits.push(char::from_digit(digit, 36).unwrap_or('0'));
        millis /= 36;
    }
    let text: String = digits.iter().rev().collect();
    format!("{text:0>9}")
}

/// idb 0.6.5 takes the target of a transaction's error event for the transaction, but a failed
/// request's error reaches the transaction with the request as its target, and idb then reports
/// "unexpected JS type" instead of the browser's reason (Firefox's QuotaExceededError): the
/// reason is read off the request.
fn transaction_error(context: &str, error: idb::Error) -> DbError {
    if let idb::Error::UnexpectedJsType(_, target) = &error {
        if let Some(reason) = error_reason(target) {
            return DbError::new(
                ErrorCode::Storage,
                format!("IndexedDB {context} failed: {reason}"),
            );
        }
    }
    storage_error(context, error)
}

/// `name: message` of a failed IDBRequest's or aborted IDBTransaction's `error`; None otherwise.
fn error_reason(target: &JsValue) -> Option<String> {
    let error = Reflect::get(target, &JsValue::from_str("error")).ok()?;
    if error.is_null() || error.is_undefined() {
        return None;
    }
    let name = Reflect::get(&error, &JsValue::from_str("name"))
        .ok()?
        .as_string()?;
    let message = Reflect::get(&error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    Some(format!("{name}: {message}"))
}

fn read_error(error: impl std::fmt::Debug) -> DbError {
    storage_error("read", error)
}

/// A get of `key`, sent now; its answer is awaited later.
fn one_request(store: &ObjectStore, key: &str) -> Result<GetStoreRequestFuture, DbError> {
    Ok(store
        .get(JsValue::from_str(key))
        .map_err(read_error)?
        .into_future())
}

async fn read_one(store: &ObjectStore, key: &str) -> Result<Option<JsValue>, DbError> {
    one_request(store, key)?.await.map_err(read_error)
}

/// A getAll request, sent now; its answer is awaited later.
fn values_request(
    store: &ObjectStore,
    query: Option<Query>,
) -> Result<GetAllStoreRequestFuture, DbError> {
    Ok(store
        .get_all(query, None)
        .map_err(read_error)?
        .into_future())
}

/// A getAllKeys request, sent now; its answer is awaited later.
fn keys_request(store: &ObjectStore) -> Result<GetAllKeysStoreRequestFuture, DbError> {
    Ok(store
        .get_all_keys(None, None)
        .map_err(read_error)?
        .into_future())
}

fn bytes_of(value: &JsValue) -> Result<Vec<u8>, DbError> {
    value
        .dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| DbError::new(ErrorCode::Format, "stored record is not binary"))
}

impl Persistence for IdbPersistence {
    async fn load(&mut self, page: &mut PageSink<'_>) -> Result<Loaded, DbError> {
        let transaction = self
            .database
            .transaction(&[META, CHECKPOINT, LOG, OUTBOX], TransactionMode::ReadOnly)
            .map_err(|e| storage_error("read", e))?;
        let store = |name| transaction.object_store(name).map_err(read_error);
        // Every request goes out before the first answer is awaited: IndexedDB answers them
        // in order, one round trip for all instead of one each.
        let format = one_request(&store(META)?, "format")?;
        let checkpoint_keys = keys_request(&store(CHECKPOINT)?)?;
        let log_keys = keys_request(&store(LOG)?)?;
        let log = values_request(&store(LOG)?, None)?;
        let outbox_keys = keys_request(&store(OUTBOX)?)?;
        let outbox = values_request(&store(OUTBOX)?, None)?;
        let sync = one_request(&store(META)?, "sync")?;
        if let Some(version) = format.await.map_err(read_error)?.and_then(|v| v.as_f64()) {
            if version > f64::from(FORMAT_VERSION) {
                return Err(DbError::new(
                    ErrorCode::Format,
                    format!("database was written in format {version}, newer than this idbsql understands ({FORMAT_VERSION}); upgrade idbsql"),
                ));
            }
            self.format_stamped = version == f64::from(FORMAT_VERSION);
        }
        // The pages in chunks, all asked for now: while `page` decodes one chunk, IndexedDB
        // reads the next (one getAll of the whole store would make decoding wait for all).
        let checkpoint_keys = checkpoint_keys.await.map_err(read_error)?;
        let chunks = checkpoint_keys
            .chunks(PAGES_PER_READ)
            .map(|keys| {
                let range = KeyRange::bound(&keys[0], &keys[keys.len() - 1], None, None)
                    .map_err(read_error)?;
                Ok((
                    keys,
                    values_request(&store(CHECKPOINT)?, Some(Query::KeyRange(range)))?,
                ))
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        for (keys, values) in chunks {
            let values = values.await.map_err(read_error)?;
            if values.len() != keys.len() {
                return Err(DbError::new(
                    ErrorCode::Storage,
                    "the checkpoint changed while it was read",
                ));
            }
            for (key, value) in keys.iter().zip(&values) {
                page(page_id(key)?, bytes_of(value)?)?;
            }
        }
        let log_keys = log_keys.await.map_err(read_error)?;
        let log = log
            .await
            .map_err(read_error)?
            .iter()
            .map(bytes_of)
            .collect::<Result<Vec<_>, _>>()?;
        let outbox_keys = outbox_keys.await.map_err(read_error)?;
        let outbox = outbox.await.map_err(read_error)?;
        let loaded = Loaded {
            log,
            outbox: outbox_keys
                .iter()
                .zip(outbox.iter())
                .map(|(key, value)| Ok((key.as_f64().unwrap_or(0.0) as u64, bytes_of(value)?)))
                .collect::<Result<_, DbError>>()?,
            sync: sync
                .await
                .map_err(read_error)?
                .map(|value| bytes_of(&value))
                .transpose()?,
        };
        self.next_seq = log_keys
            .last()
            .and_then(JsValue::as_f64)
            .map_or(0.0, |last| last + 1.0);
        self.log_entries = loaded.log.len();
        self.log_bytes = loaded.log.iter().map(Vec::len).sum();
        Ok(loaded)
    }

    async fn commit(&mut self, batch: Batch) -> Result<(), DbError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut stores = vec![META];
        if !batch.log.is_empty() || batch.checkpoint.is_some() {
            stores.push(LOG);
        }
        if batch.checkpoint.is_some() {
            stores.push(CHECKPOINT);
        }
        if !batch.outbox_add.is_empty() || !batch.outbox_remove.is_empty() {
            stores.push(OUTBOX);
        }
        if batch.call.is_some() {
            stores.push(CALLS);
        }
        let transaction = self.write_transaction(&stores)?;
        let store = |name| {
            transaction
                .object_store(name)
                .map_err(|e| storage_error("write", e))
        };
        let write = |e| storage_error("write", e);
        self.stamp_format(&store(META)?)?;
        if let Some(pages) = &batch.checkpoint {
            let checkpoint = store(CHECKPOINT)?;
            if pages.replace {
                checkpoint.clear().map_err(write)?;
            }
            for id in &pages.delete {
                checkpoint
                    .delete(JsValue::from(*id as f64))
                    .map_err(write)?;
            }
            for (id, page) in &pages.put {
                put_bytes(&checkpoint, &JsValue::from(*id as f64), page)?;
            }
            store(LOG)?.clear().map_err(write)?;
        }
        let next_seq = if batch.log.is_empty() {
            self.next_seq
        } else {
            self.put_log_entries(&store(LOG)?, &batch.log)?
        };
        if !batch.outbox_add.is_empty() || !batch.outbox_remove.is_empty() {
            let outbox = store(OUTBOX)?;
            for (client_seq, bytes) in &batch.outbox_add {
                put_bytes(&outbox, &JsValue::from(*client_seq as f64), bytes)?;
            }
            for client_seq in &batch.outbox_remove {
                outbox
                    .delete(JsValue::from(*client_seq as f64))
                    .map_err(write)?;
            }
        }
        if let Some(sync) = &batch.sync {
            put_bytes(&store(META)?, &JsValue::from_str("sync"), sync)?;
        }
        if let Some((id, result)) = &batch.call {
            let calls = store(CALLS)?;
            let old = KeyRange::upper_bound(&JsValue::from_str(&call_id_cutoff()), Some(true))
                .map_err(write)?;
            calls.delete(Query::KeyRange(old)).map_err(write)?;
            put_bytes(&calls, &JsValue::from_str(id), result)?;
        }
        self.finish(transaction, "write").await?;
        if batch.checkpoint.is_some() {
            self.log_entries = 0;
            self.log_bytes = 0;
        }
        self.logged(next_seq, &batch.log);
        Ok(())
    }

    async fn call_result(&mut self, id: &str) -> Result<Option<Vec<u8>>, DbError> {
        let transaction = self
            .database
            .transaction(&[CALLS], TransactionMode::ReadOnly)
            .map_err(read_error)?;
        let calls = transaction.object_store(CALLS).map_err(read_error)?;
        read_one(&calls, id)
            .await?
            .map(|value| bytes_of(&value))
            .transpose()
    }

    fn log_size(&self) -> (usize, usize) {
        (self.log_entries, self.log_bytes)
    }

    fn close(&mut self) {
        self.database.close();
    }
}
