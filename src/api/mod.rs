//! The wasm-bindgen surface (browser only): a `RawDatabase` handle the JS owner drives. A call
//! answers its result, or a Promise of it when it had to wait; calls are serialised by the JS side, and one that overlaps another
//! is refused, never raced. Rows cross by hand (values.rs, the hot path); other structured
//! objects (tables, events, sync state) through serde-wasm-bindgen.

mod values;

use {
    crate::{
        database::{Database, DbEvent},
        engine::QueryOutput,
        error::{DbError, ErrorCode},
        packed_rows::PackedRows,
        persist::{
            idb::{Durability, IdbPersistence},
            js::JsPersistence,
            memory::MemoryPersistence,
            Storage,
        },
        sync::SyncEvent,
    },
    gluesql_core::data::Value,
    js_sys::{Array, Object, Promise, Reflect, Uint8Array},
    serde::Serialize,
    std::{
        cell::{Cell, RefCell},
        future::Future,
        rc::Rc,
        task::{Context, Poll, Waker},
    },
    wasm_bindgen::prelude::*,
    wasm_bindgen_futures::future_to_promise,
};

type Db = Database<Storage>;

/// Turns our error into a JS `Error` carrying `.code`, which the wrapper re-throws as IdbsqlError.
fn to_js_error(error: DbError) -> JsValue {
    let js_error = js_sys::Error::new(&error.message);
    let _ = Reflect::set(&js_error, &"code".into(), &error.code.as_str().into());
    js_error.into()
}

/// A plain JS object (not a JS Map) for a serializable value.
fn to_plain<T: Serialize>(value: &T) -> Result<JsValue, DbError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| DbError::new(ErrorCode::Execute, e.to_string()))
}

/// A result object; rows as arrays when `arrays`, else as objects keyed by column name. Its rows
/// are `packed` where the engine packed them (RETURNING's), else `output`'s.
fn output_to_js(
    output: QueryOutput,
    packed: Option<PackedRows>,
    arrays: bool,
) -> Result<JsValue, DbError> {
    let result = Object::new();
    let columns: Array = output.columns.iter().map(|c| values::js_str(c)).collect();
    let packed = match packed {
        Some(packed) => packed,
        None => values::pack(&output.columns, &output.rows)?,
    };
    // Each column's type, taken from its first non-NULL value (a query's columns have no
    // declared type); `null` when every value is NULL.
    let types: Array = packed
        .types
        .iter()
        .map(|t| {
            t.as_ref()
                .map_or(JsValue::NULL, |t| values::js_str(&t.to_string()))
        })
        .collect();
    let rows = values::packed_to_js(&output.columns, &packed, arrays)?;
    let set = |key: &str, value: &JsValue| {
        Reflect::set(&result, &values::js_str(key), value)
            .map_err(|_| DbError::new(ErrorCode::Execute, "cannot build result object"))
    };
    set("command", &values::js_str(output.command))?;
    set("columns", &columns)?;
    set("types", &types)?;
    set("rows", &rows)?;
    set("rowCount", &(output.row_count as f64).into())?;
    Ok(result.into())
}

fn outputs_to_js(outputs: Vec<QueryOutput>, arrays: bool) -> Result<JsValue, DbError> {
    let array = Array::new();
    for output in outputs {
        array.push(&output_to_js(output, None, arrays)?);
    }
    Ok(array.into())
}

/// An event as JS sees it: `{ type: "commit" | "remote" | "reject" | "error" | "reset", … }`
/// (and "conflict", built by `event_to_js`).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum JsEvent<'a> {
    Commit {
        tables: &'a [String],
    },
    Remote {
        tables: &'a [String],
    },
    #[serde(rename_all = "camelCase")]
    Reject {
        client_seq: u64,
        reason: &'a str,
        /// `quota` when a server quota refused it, else `rejected`.
        code: &'static str,
    },
    Error {
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<&'static str>,
    },
    #[serde(rename_all = "camelCase")]
    Reset {
        server_seq: u64,
        had_seen: u64,
    },
}

impl<'a> JsEvent<'a> {
    /// The event as plain data; `None` for a conflict, which carries rows (see `event_to_js`).
    fn of(event: &'a DbEvent) -> Option<Self> {
        Some(match event {
            DbEvent::Committed { tables } => JsEvent::Commit { tables },
            DbEvent::Sync(SyncEvent::RemoteApplied { tables }) => JsEvent::Remote { tables },
            DbEvent::Sync(SyncEvent::Rejected { client_seq, reason }) => JsEvent::Reject {
                client_seq: *client_seq,
                reason,
                code: if reason.starts_with(crate::protocol::messages::QUOTA_REJECT_PREFIX) {
                    "quota"
                } else {
                    "rejected"
                },
            },
            DbEvent::Sync(SyncEvent::ServerError { message, code }) => JsEvent::Error {
                message,
                code: *code,
            },
            DbEvent::Sync(SyncEvent::Reset {
                server_seq,
                had_seen,
            }) => JsEvent::Reset {
                server_seq: *server_seq,
                had_seen: *had_seen,
            },
            DbEvent::Sync(SyncEvent::Conflict { .. }) => return None,
        })
    }
}

/// `{ type: "conflict", table, key, local, remote }`, rows as objects (or null).
fn event_to_js(event: &DbEvent) -> Result<JsValue, DbError> {
    if let Some(plain) = JsEvent::of(event) {
        return to_plain(&plain);
    }
    let DbEvent::Sync(SyncEvent::Conflict {
        table,
        columns,
        key,
        local,
        remote,
    }) = event
    else {
        return Ok(JsValue::NULL);
    };
    let row = |row: &Option<Vec<Value>>| -> Result<JsValue, DbError> {
        match row {
            Some(row) => Ok(Array::from(&values::rows_to_js(
                columns,
                std::slice::from_ref(row),
                false,
            )?)
            .get(0)),
            None => Ok(JsValue::NULL),
        }
    };
    let object = Object::new();
    let failed = |_| DbError::new(ErrorCode::Execute, "cannot build a conflict event");
    for (name, value) in [
        ("type", JsValue::from_str("conflict")),
        ("table", JsValue::from_str(table)),
        ("key", values::value_to_js(key)),
        ("local", row(local)?),
        ("remote", row(remote)?),
    ] {
        Reflect::set(&object, &name.into(), &value).map_err(failed)?;
    }
    Ok(object.into())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncInfo {
    pending: usize,
    connected: bool,
    synced: bool,
    /// Drop this connection and make a new one (after a reset or a failed write).
    reconnect: bool,
}

fn frames_to_js(frames: Vec<Vec<u8>>) -> JsValue {
    frames
        .iter()
        .map(|frame| JsValue::from(Uint8Array::from(frame.as_slice())))
        .collect::<Array>()
        .into()
}

#[wasm_bindgen]
pub struct RawDatabase {
    db: Rc<RefCell<Option<Db>>>,
    /// `STATE_*` bits as the last finished call left them, readable without a call of its own
    /// (two extra promise round trips per query measured as ~9 µs of W3's 45).
    state: Rc<Cell<u32>>,
}

/// Bits of `RawDatabase::state`.
const STATE_IN_TRANSACTION: u32 = 1;
const STATE_EVENTS: u32 = 2;

fn state_of(db: &Db) -> u32 {
    let mut bits = 0;
    if db.engine().in_transaction() {
        bits |= STATE_IN_TRANSACTION;
    }
    if db.has_events() {
        bits |= STATE_EVENTS;
    }
    bits
}

impl RawDatabase {
    /// Runs `work` with the database taken out of its cell for the duration of the call.
    fn run<F, Fut>(&self, work: F) -> JsValue
    where
        F: FnOnce(Db) -> Fut + 'static,
        Fut: std::future::Future<Output = (Db, Result<JsValue, DbError>)> + 'static,
    {
        // A closed database answers `closed` itself (Database::ensure_open).
        let cell = Rc::clone(&self.db);
        let state = Rc::clone(&self.state);
        let mut call = Box::pin(async move {
            let Some(db) = cell.borrow_mut().take() else {
                return Err(to_js_error(DbError::new(
                    ErrorCode::Execute,
                    "another call on this connection is still running",
                )));
            };
            let (db, result) = work(db).await;
            state.set(state_of(&db));
            *cell.borrow_mut() = Some(db);
            result.map_err(to_js_error)
        });
        // Most calls never wait (reads, statements inside a transaction, memory storage): run
        // to their end now and hand the answer back as it is, without a Promise and a
        // microtask of wasm-bindgen's executor (W3 is a few microseconds). A call that waits
        // (an IndexedDB write) goes on as a Promise; its next poll registers the real waker.
        let mut context = Context::from_waker(Waker::noop());
        match call.as_mut().poll(&mut context) {
            Poll::Ready(Ok(value)) => value,
            Poll::Ready(Err(error)) => Promise::reject(&error).into(),
            Poll::Pending => future_to_promise(call).into(),
        }
    }

    /// `run` for work that needs no await.
    fn run_now(&self, work: impl FnOnce(&mut Db) -> Result<JsValue, DbError> + 'static) -> JsValue {
        self.run(move |mut db| async move {
            let result = work(&mut db);
            (db, result)
        })
    }
}

#[wasm_bindgen]
impl RawDatabase {
    /// Opens (creating if needed) a database. `storage` is "indexeddb", "memory" or "file"
    /// (`store`, a JS object: see persist::js);
    /// `durability` is "relaxed" or "strict"; `sync` keeps local commits in an outbox for
    /// the sync server.
    pub fn open(
        name: String,
        storage: String,
        durability: String,
        sync: bool,
        store: JsValue,
    ) -> Promise {
        future_to_promise(async move {
            let durability = match durability.as_str() {
                "relaxed" | "default" | "" => Durability::Relaxed,
                "strict" => Durability::Strict,
                other => {
                    return Err(to_js_error(DbError::new(
                        ErrorCode::Params,
                        format!("durability must be \"relaxed\" or \"strict\", not {other:?}"),
                    )));
                }
            };
            let storage = match storage.as_str() {
                "indexeddb" => Storage::IndexedDb(
                    IdbPersistence::open(&name, durability)
                        .await
                        .map_err(to_js_error)?,
                ),
                "memory" => Storage::Memory(MemoryPersistence::volatile()),
                "file" => Storage::Js(JsPersistence::new(store).map_err(to_js_error)?),
                other => {
                    return Err(to_js_error(DbError::new(
                        ErrorCode::Params,
                        format!(
                            "storage must be \"indexeddb\", \"memory\" or \"file\", not {other:?}"
                        ),
                    )));
                }
            };
            let db = Database::open_with_options(storage, Default::default(), sync)
                .await
                .map_err(to_js_error)?;
            let state = Rc::new(Cell::new(state_of(&db)));
            Ok(RawDatabase {
                db: Rc::new(RefCell::new(Some(db))),
                state,
            }
            .into())
        })
    }

    /// Runs exactly one statement with an array of parameters for `$1`, `$2`, …; rows come as
    /// arrays when `arrays` is true. With `call`, a commit keeps the answer under that id.
    pub fn query(
        &self,
        sql: String,
        params: JsValue,
        arrays: bool,
        call: Option<String>,
    ) -> JsValue {
        self.run(move |mut db| async move {
            let result = async {
                let params = values::params_from_js(&params)?;
                // A forwarded call keeps its answer as rows (see `call_result`): not packed.
                let (output, packed) = match call.as_deref() {
                    None => db.query_packed(&sql, &params).await?,
                    Some(call) => (db.query_call(&sql, &params, Some(call)).await?, None),
                };
                output_to_js(output, packed, arrays)
            }
            .await;
            (db, result)
        })
    }

    /// Runs every statement in `sql`; resolves to one result per statement.
    pub fn exec(&self, sql: String, call: Option<String>) -> JsValue {
        self.run(move |mut db| async move {
            let result = async {
                let outputs = db.exec_call(&sql, call.as_deref()).await?;
                outputs_to_js(outputs, false)
            }
            .await;
            (db, result)
        })
    }

    /// The answers kept for call `call` if it committed (an array of results), else `null`.
    #[wasm_bindgen(js_name = callResult)]
    pub fn call_result(&self, call: String, arrays: bool) -> JsValue {
        self.run(move |mut db| async move {
            let result = match db.call_result(&call).await {
                Ok(Some(outputs)) => outputs_to_js(outputs, arrays),
                Ok(None) => Ok(JsValue::NULL),
                Err(error) => Err(error),
            };
            (db, result)
        })
    }

    /// After the last call: bit 1, an explicit transaction is open; bit 2, `events()` has
    /// something. Synchronous, so the owner checks it after every call for free.
    pub fn state(&self) -> u32 {
        self.state.get()
    }

    /// The whole database as a SQL script that recreates it.
    pub fn export(&self) -> JsValue {
        self.run_now(|db| db.export().map(|sql| JsValue::from_str(&sql)))
    }

    /// Runs a SQL script as one transaction; resolves to `{ statements, rows }`.
    pub fn import(&self, sql: String, call: Option<String>) -> JsValue {
        self.run(move |mut db| async move {
            let result = db
                .import_call(&sql, call.as_deref())
                .await
                .and_then(|summary| {
                    #[derive(Serialize)]
                    struct Summary {
                        statements: usize,
                        rows: usize,
                    }
                    to_plain(&Summary {
                        statements: summary.statements,
                        rows: summary.rows,
                    })
                });
            (db, result)
        })
    }

    /// The tables and views with their columns, keys, indexes and row counts.
    pub fn tables(&self) -> JsValue {
        self.run_now(|db| db.tables().and_then(|tables| to_plain(&tables)))
    }

    /// The tables `sql` reads, for live queries.
    #[wasm_bindgen(js_name = tablesRead)]
    pub fn tables_read(&self, sql: String) -> JsValue {
        self.run_now(move |db| db.tables_read(&sql).and_then(|tables| to_plain(&tables)))
    }

    /// Events since the last call (commits, remote changes, rejections, sync errors).
    pub fn events(&self) -> JsValue {
        self.run_now(|db| {
            let events = db.take_events();
            let array = Array::new();
            for event in &events {
                array.push(&event_to_js(event)?);
            }
            Ok(array.into())
        })
    }

    /// Writes a checkpoint now (normally done when the log grows past its threshold).
    pub fn checkpoint(&self) -> JsValue {
        self.run(move |mut db| async move {
            let result = db.checkpoint().await;
            (db, result.map(|()| JsValue::UNDEFINED))
        })
    }

    /// Makes the database synced from now on (see `Database::enable_sync`).
    #[wasm_bindgen(js_name = enableSync)]
    pub fn enable_sync(&self) -> JsValue {
        self.run_now(|db| db.enable_sync().map(|()| JsValue::UNDEFINED))
    }

    /// The Hello frame that opens a sync connection.
    #[wasm_bindgen(js_name = syncHello)]
    pub fn sync_hello(&self, database: String, token: String) -> JsValue {
        self.run_now(move |db| {
            db.sync_hello(&database, &token)
                .map(|frame| Uint8Array::from(frame.as_slice()).into())
        })
    }

    /// Handles one frame from the server; resolves to the frames to send back.
    #[wasm_bindgen(js_name = syncReceive)]
    pub fn sync_receive(&self, frame: Vec<u8>) -> JsValue {
        self.run(move |mut db| async move {
            let result = db.sync_receive(&frame).await;
            (db, result.map(frames_to_js))
        })
    }

    /// Frames to send now (local change sets not yet pushed on this connection).
    #[wasm_bindgen(js_name = syncOutgoing)]
    pub fn sync_outgoing(&self) -> JsValue {
        self.run_now(|db| db.sync_outgoing().map(frames_to_js))
    }

    /// The sync connection dropped.
    #[wasm_bindgen(js_name = syncDisconnected)]
    pub fn sync_disconnected(&self) -> JsValue {
        self.run_now(|db| {
            db.sync_disconnected();
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `{ pending, connected, synced }` of the sync client.
    #[wasm_bindgen(js_name = syncInfo)]
    pub fn sync_info(&self) -> JsValue {
        self.run_now(|db| {
            let (pending, connected, synced, reconnect) =
                db.sync().map_or((0, false, false, false), |s| {
                    (
                        s.pending_count(),
                        s.is_connected(),
                        s.is_synced(),
                        s.needs_reconnect(),
                    )
                });
            to_plain(&SyncInfo {
                pending,
                connected,
                synced,
                reconnect,
            })
        })
    }

    /// Test hook: the next IndexedDB write transaction aborts, as on a quota error.
    #[wasm_bindgen(js_name = failNextWrite)]
    pub fn fail_next_write(&self) {
        if let Some(db) = self.db.borrow_mut().as_mut() {
            db.persistence_mut().fail_next_write();
        }
    }

    /// Test hook: panics inside a call, as a bug in idbsql or GlueSQL would.
    #[wasm_bindgen(js_name = panicForTest)]
    pub fn panic_for_test(&self) -> Promise {
        future_to_promise(async move {
            wasm_bindgen_futures::JsFuture::from(Promise::resolve(&JsValue::NULL)).await?;
            panic!("test panic requested by panicForTest");
        })
    }

    /// Closes the database (an open transaction is rolled back). Idempotent.
    pub fn close(&self) {
        if let Some(db) = self.db.borrow_mut().as_mut() {
            db.close();
        }
    }
}

thread_local! {
    static PANIC_HANDLER: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Registers the function told about a Rust panic (with its message) before the module
/// aborts: the JS wrapper then fails every later call with `internal` instead of leaving the
/// call that panicked pending forever.
#[wasm_bindgen(js_name = setPanicHandler)]
pub fn set_panic_handler(handler: js_sys::Function) {
    PANIC_HANDLER.with(|slot| *slot.borrow_mut() = Some(handler));
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            PANIC_HANDLER.with(|slot| {
                if let Ok(slot) = slot.try_borrow() {
                    if let Some(handler) = slot.as_ref() {
                        let _ = handler.call1(&JsValue::NULL, &JsValue::from_str(&message));
                    }
                }
            });
        }));
    });
}
