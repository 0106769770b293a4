//! The wasm-bindgen surface (browser only): a `RawDatabase` handle the JS wrapper drives.
//! Calls are serialised by the wrapper; a call that overlaps another is refused, never raced.

mod values;

use {
    crate::sync::SyncEvent,
    crate::{
        database::Database,
        engine::QueryOutput,
        error::{DbError, ErrorCode},
        persist::{
            idb::{Durability, IdbPersistence},
            memory::MemoryPersistence,
        },
    },
    js_sys::{Array, Object, Promise, Reflect, Uint8Array},
    std::{cell::RefCell, rc::Rc},
    wasm_bindgen::prelude::*,
    wasm_bindgen_futures::future_to_promise,
};

enum Backend {
    IndexedDb(Database<IdbPersistence>),
    Memory(Database<MemoryPersistence>),
}

macro_rules! with_backend {
    ($backend:expr, $db:ident => $body:expr) => {
        match $backend {
            Backend::IndexedDb($db) => $body,
            Backend::Memory($db) => $body,
        }
    };
}

/// Turns our error into a JS `Error` carrying `.code`, which the wrapper re-throws as IdbsqlError.
fn to_js_error(error: DbError) -> JsValue {
    let js_error = js_sys::Error::new(&error.message);
    let _ = Reflect::set(&js_error, &"code".into(), &error.code.as_str().into());
    js_error.into()
}

fn output_to_js(output: QueryOutput) -> Result<JsValue, DbError> {
    output_to_js_as(output, false)
}

/// A result object; rows as arrays when `arrays`, else as objects keyed by column name.
fn output_to_js_as(output: QueryOutput, arrays: bool) -> Result<JsValue, DbError> {
    let result = Object::new();
    let columns: Array = output
        .columns
        .iter()
        .map(|c| JsValue::from_str(c))
        .collect();
    let types = column_types(&output);
    let rows = if arrays {
        values::rows_to_arrays(output.rows)
    } else {
        values::rows_to_js(&output.columns, output.rows)?
    };
    let set = |key: &str, value: &JsValue| {
        Reflect::set(&result, &key.into(), value)
            .map_err(|_| DbError::new(ErrorCode::Execute, "cannot build result object"))
    };
    set("command", &output.command.into())?;
    set("columns", &columns)?;
    set("types", &types)?;
    set("rows", &rows)?;
    set("rowCount", &(output.row_count as f64).into())?;
    Ok(result.into())
}

/// Each column's type, taken from its first non-NULL value (a query's columns have no declared
/// type); `null` when every value is NULL.
fn column_types(output: &QueryOutput) -> Array {
    (0..output.columns.len())
        .map(|column| {
            output
                .rows
                .iter()
                .find_map(|row| row.get(column).and_then(|value| value.get_type()))
                .map_or(JsValue::NULL, |data_type| {
                    JsValue::from_str(&data_type.to_string())
                })
        })
        .collect()
}

#[wasm_bindgen]
pub struct RawDatabase {
    backend: Rc<RefCell<Option<Backend>>>,
}

impl RawDatabase {
    /// Runs `work` with the database taken out of its cell for the duration of the call.
    fn run<F, Fut>(&self, work: F) -> Promise
    where
        F: FnOnce(Backend) -> Fut + 'static,
        Fut: std::future::Future<Output = (Backend, Result<JsValue, DbError>)> + 'static,
    {
        // A closed database answers `closed` itself (Database::ensure_open).
        let cell = Rc::clone(&self.backend);
        future_to_promise(async move {
            let Some(backend) = cell.borrow_mut().take() else {
                return Err(to_js_error(DbError::new(
                    ErrorCode::Execute,
                    "another call on this connection is still running",
                )));
            };
            let (backend, result) = work(backend).await;
            *cell.borrow_mut() = Some(backend);
            result.map_err(to_js_error)
        })
    }
}

#[wasm_bindgen]
impl RawDatabase {
    /// Opens (creating if needed) a database. `storage` is "indexeddb" or "memory";
    /// `durability` is "relaxed" or "strict"; `sync` keeps local commits in an outbox for
    /// the sync server.
    pub fn open(name: String, storage: String, durability: String, sync: bool) -> Promise {
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
            let backend = match storage.as_str() {
                "indexeddb" => {
                    let persistence = IdbPersistence::open(&name, durability)
                        .await
                        .map_err(to_js_error)?;
                    Backend::IndexedDb(
                        Database::open_with_options(persistence, Default::default(), sync)
                            .await
                            .map_err(to_js_error)?,
                    )
                }
                "memory" => Backend::Memory(
                    Database::open_with_options(
                        MemoryPersistence::volatile(),
                        Default::default(),
                        sync,
                    )
                    .await
                    .map_err(to_js_error)?,
                ),
                other => {
                    return Err(to_js_error(DbError::new(
                        ErrorCode::Params,
                        format!("storage must be \"indexeddb\" or \"memory\", not {other:?}"),
                    )));
                }
            };
            Ok(RawDatabase {
                backend: Rc::new(RefCell::new(Some(backend))),
            }
            .into())
        })
    }

    /// Runs exactly one statement with an array of parameters for `$1`, `$2`, …; rows come as
    /// arrays when `arrays` is true.
    pub fn query(&self, sql: String, params: JsValue, arrays: bool) -> Promise {
        self.run(move |mut backend| async move {
            let result = async {
                let params = values::params_from_js(&params)?;
                let output = with_backend!(&mut backend, db => db.query(&sql, &params).await)?;
                output_to_js_as(output, arrays)
            }
            .await;
            (backend, result)
        })
    }

    /// Runs every statement in `sql`; resolves to one result per statement.
    pub fn exec(&self, sql: String) -> Promise {
        self.run(move |mut backend| async move {
            let result = async {
                let outputs = with_backend!(&mut backend, db => db.exec(&sql).await)?;
                let array = Array::new();
                for output in outputs {
                    array.push(&output_to_js(output)?);
                }
                Ok(array.into())
            }
            .await;
            (backend, result)
        })
    }

    /// The whole database as a SQL script that recreates it.
    pub fn export(&self) -> Promise {
        self.run(move |backend| async move {
            let result = with_backend!(&backend, db => db.export());
            (backend, result.map(|sql| JsValue::from_str(&sql)))
        })
    }

    /// Runs a SQL script as one transaction; resolves to `{ statements, rows }`.
    pub fn import(&self, sql: String) -> Promise {
        self.run(move |mut backend| async move {
            let result = with_backend!(&mut backend, db => db.import(&sql).await);
            let summary = result.map(|summary| {
                let object = Object::new();
                let _ = Reflect::set(
                    &object,
                    &"statements".into(),
                    &(summary.statements as f64).into(),
                );
                let _ = Reflect::set(&object, &"rows".into(), &(summary.rows as f64).into());
                object.into()
            });
            (backend, summary)
        })
    }

    /// The tables with their columns, keys, indexes and row counts, as JSON text.
    #[wasm_bindgen(js_name = tablesJson)]
    pub fn tables_json(&self) -> Promise {
        self.run(move |mut backend| async move {
            let result = with_backend!(&mut backend, db => db.tables()).and_then(|tables| {
                serde_json::to_string(&tables)
                    .map(|json| JsValue::from_str(&json))
                    .map_err(|e| DbError::new(ErrorCode::Execute, e.to_string()))
            });
            (backend, result)
        })
    }

    /// Writes a checkpoint now (normally done when the log grows past its threshold).
    pub fn checkpoint(&self) -> Promise {
        self.run(move |mut backend| async move {
            let result = with_backend!(&mut backend, db => db.checkpoint().await);
            (backend, result.map(|()| JsValue::UNDEFINED))
        })
    }

    /// The Hello frame that opens a sync connection.
    #[wasm_bindgen(js_name = syncHello)]
    pub fn sync_hello(&self, database: String, token: String) -> Promise {
        self.run(move |mut backend| async move {
            let result = with_backend!(&mut backend, db => db.sync_hello(&database, &token));
            (
                backend,
                result.map(|frame| Uint8Array::from(frame.as_slice()).into()),
            )
        })
    }

    /// Handles one frame from the server; resolves to the frames to send back.
    #[wasm_bindgen(js_name = syncReceive)]
    pub fn sync_receive(&self, frame: Vec<u8>) -> Promise {
        self.run(move |mut backend| async move {
            let result = with_backend!(&mut backend, db => db.sync_receive(&frame).await);
            (backend, result.map(frames_to_js))
        })
    }

    /// Frames to send now (local change sets not yet pushed on this connection).
    #[wasm_bindgen(js_name = syncOutgoing)]
    pub fn sync_outgoing(&self) -> Promise {
        self.run(move |mut backend| async move {
            let result = with_backend!(&mut backend, db => db.sync_outgoing());
            (backend, result.map(frames_to_js))
        })
    }

    /// The sync connection dropped.
    #[wasm_bindgen(js_name = syncDisconnected)]
    pub fn sync_disconnected(&self) -> Promise {
        self.run(move |mut backend| async move {
            with_backend!(&mut backend, db => db.sync_disconnected());
            (backend, Ok(JsValue::UNDEFINED))
        })
    }

    /// `{ pending, connected, synced, events }`; events are taken (each reported once).
    #[wasm_bindgen(js_name = syncInfo)]
    pub fn sync_info(&self) -> Promise {
        self.run(move |mut backend| async move {
            let info = Object::new();
            let (pending, connected, synced, events) = with_backend!(&mut backend, db => {
                let (pending, connected, synced) = db.sync().map_or((0, false, false), |s| {
                    (s.pending_count(), s.is_connected(), s.is_synced())
                });
                (pending, connected, synced, db.sync_events())
            });
            let events: Array = events.iter().map(event_to_js).collect();
            let _ = Reflect::set(&info, &"pending".into(), &(pending as f64).into());
            let _ = Reflect::set(&info, &"connected".into(), &connected.into());
            let _ = Reflect::set(&info, &"synced".into(), &synced.into());
            let _ = Reflect::set(&info, &"events".into(), &events);
            (backend, Ok(info.into()))
        })
    }

    #[wasm_bindgen(js_name = inTransaction)]
    pub fn in_transaction(&self) -> bool {
        match self.backend.borrow().as_ref() {
            Some(backend) => with_backend!(backend, db => db.engine().in_transaction()),
            None => false,
        }
    }

    /// Test hook: the next IndexedDB write transaction aborts, as on a quota error.
    #[wasm_bindgen(js_name = failNextWrite)]
    pub fn fail_next_write(&self) {
        if let Some(Backend::IndexedDb(db)) = self.backend.borrow_mut().as_mut() {
            db.persistence_mut().fail_next_write();
        }
    }

    /// Closes the connection (an open transaction is rolled back). Idempotent.
    pub fn close(&self) {
        if let Some(backend) = self.backend.borrow_mut().as_mut() {
            with_backend!(backend, db => db.close());
        }
    }
}

fn frames_to_js(frames: Vec<Vec<u8>>) -> JsValue {
    frames
        .iter()
        .map(|frame| JsValue::from(Uint8Array::from(frame.as_slice())))
        .collect::<Array>()
        .into()
}

fn event_to_js(event: &SyncEvent) -> JsValue {
    let object = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&object, &key.into(), &value);
    };
    match event {
        SyncEvent::RemoteApplied { tables } => {
            set("type", "change".into());
            set(
                "tables",
                tables
                    .iter()
                    .map(|t| JsValue::from_str(t))
                    .collect::<Array>()
                    .into(),
            );
        }
        SyncEvent::Rejected { client_seq, reason } => {
            set("type", "reject".into());
            set("clientSeq", (*client_seq as f64).into());
            set("reason", reason.into());
        }
        SyncEvent::ServerError { message } => {
            set("type", "error".into());
            set("message", message.into());
        }
    }
    object.into()
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

#[wasm_bindgen]
impl RawDatabase {
    /// Test hook: panics inside a call, as a bug in idbsql or GlueSQL would.
    #[wasm_bindgen(js_name = panicForTest)]
    pub fn panic_for_test(&self) -> Promise {
        future_to_promise(async move {
            wasm_bindgen_futures::JsFuture::from(Promise::resolve(&JsValue::NULL)).await?;
            panic!("test panic requested by panicForTest");
        })
    }
}

/// Deletes a database's stored data. Close its connections first.
#[wasm_bindgen(js_name = deleteDatabase)]
pub fn delete_database(name: String) -> Promise {
    future_to_promise(async move {
        IdbPersistence::delete(&name).await.map_err(to_js_error)?;
        Ok(JsValue::UNDEFINED)
    })
}
