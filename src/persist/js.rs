//! Persistence behind a JS object (wasm only): `storage: "file"` in Node, where js/file_store.js
//! keeps the same records and pages IndexedDB keeps, in a journal file. Hands the bytes across
//! as they are; knows nothing of files, locks or frames (the JS side owns those).

use {
    super::{Batch, Loaded, PageSink, Persistence},
    crate::error::{DbError, ErrorCode},
    js_sys::{Array, Object, Promise, Reflect, Uint8Array},
    wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue},
    wasm_bindgen_futures::JsFuture,
};

#[wasm_bindgen]
extern "C" {
    /// The JS store: `load()`, `commit(batch)`, `callResult(id)` (each a Promise), `close()`.
    pub type JsStore;
    #[wasm_bindgen(method, catch)]
    fn load(this: &JsStore) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn commit(this: &JsStore, batch: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = callResult)]
    fn call_result(this: &JsStore, id: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method)]
    fn close(this: &JsStore);
}

pub struct JsPersistence {
    store: JsStore,
    log_entries: usize,
    log_bytes: usize,
}

fn storage_error(what: &str, error: JsValue) -> DbError {
    let message = Reflect::get(&error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".into());
    // The JS side names a stored file it cannot read as `format`; anything else is `storage`.
    let code = match Reflect::get(&error, &"code".into())
        .ok()
        .and_then(|c| c.as_string())
    {
        Some(code) if code == "format" => ErrorCode::Format,
        Some(code) if code == "locked" => ErrorCode::Locked,
        _ => ErrorCode::Storage,
    };
    DbError::new(code, format!("{what}: {message}"))
}

async fn settle(what: &str, started: Result<Promise, JsValue>) -> Result<JsValue, DbError> {
    let promise = started.map_err(|e| storage_error(what, e))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| storage_error(what, e))
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn bytes(value: &JsValue, what: &str) -> Result<Vec<u8>, DbError> {
    value
        .dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| {
            DbError::new(
                ErrorCode::Format,
                format!("the file store's {what} is not bytes"),
            )
        })
}

fn number(value: &JsValue, what: &str) -> Result<u64, DbError> {
    value
        .as_f64()
        .filter(|n| n.fract() == 0.0 && *n >= 0.0)
        .map(|n| n as u64)
        .ok_or_else(|| {
            DbError::new(
                ErrorCode::Format,
                format!("the file store's {what} is not a number"),
            )
        })
}

/// `[[number, bytes], …]` from the JS side.
fn pairs(value: &JsValue, what: &str) -> Result<Vec<(u64, Vec<u8>)>, DbError> {
    let Some(array) = value.dyn_ref::<Array>() else {
        return Ok(Vec::new());
    };
    array
        .iter()
        .map(|pair| {
            Ok((
                number(&get(&pair, "0"), what)?,
                bytes(&get(&pair, "1"), what)?,
            ))
        })
        .collect()
}

fn byte_array(items: &[Vec<u8>]) -> Array {
    items
        .iter()
        .map(|b| JsValue::from(Uint8Array::from(b.as_slice())))
        .collect()
}

fn pair_array(items: &[(u64, Vec<u8>)]) -> Array {
    items
        .iter()
        .map(|(n, b)| {
            let pair = Array::new();
            pair.push(&JsValue::from(*n as f64));
            pair.push(&Uint8Array::from(b.as_slice()));
            JsValue::from(pair)
        })
        .collect()
}

impl JsPersistence {
    pub fn new(store: JsValue) -> Result<Self, DbError> {
        if !store.is_object() {
            return Err(DbError::new(
                ErrorCode::Params,
                "a file store object is needed",
            ));
        }
        Ok(Self {
            store: store.unchecked_into(),
            log_entries: 0,
            log_bytes: 0,
        })
    }

    /// Test hook of the browser's storages; a file store's failures are real ones.
    pub fn fail_next_write(&mut self) {}

    fn batch_to_js(batch: &Batch) -> Result<JsValue, DbError> {
        let object = Object::new();
        let set = |key: &str, value: &JsValue| {
            Reflect::set(&object, &key.into(), value)
                .map(|_| ())
                .map_err(|e| storage_error("batch", e))
        };
        set("log", &byte_array(&batch.log))?;
        if let Some(write) = &batch.checkpoint {
            let checkpoint = Object::new();
            let _ = Reflect::set(&checkpoint, &"replace".into(), &write.replace.into());
            let _ = Reflect::set(&checkpoint, &"put".into(), &pair_array(&write.put));
            let deleted: Array = write
                .delete
                .iter()
                .map(|id| JsValue::from(*id as f64))
                .collect();
            let _ = Reflect::set(&checkpoint, &"delete".into(), &deleted);
            set("checkpoint", &checkpoint)?;
        }
        set("outboxAdd", &pair_array(&batch.outbox_add))?;
        let removed: Array = batch
            .outbox_remove
            .iter()
            .map(|s| JsValue::from(*s as f64))
            .collect();
        set("outboxRemove", &removed)?;
        if let Some(sync) = &batch.sync {
            set("sync", &Uint8Array::from(sync.as_slice()))?;
        }
        if let Some((id, answer)) = &batch.call {
            let call = Array::new();
            call.push(&id.into());
            call.push(&Uint8Array::from(answer.as_slice()));
            set("call", &call)?;
        }
        Ok(object.into())
    }
}

impl Persistence for JsPersistence {
    async fn load(&mut self, page: &mut PageSink<'_>) -> Result<Loaded, DbError> {
        let loaded = settle("file store load", self.store.load()).await?;
        for (id, bytes) in pairs(&get(&loaded, "pages"), "page")? {
            page(id, bytes)?;
        }
        let log = match get(&loaded, "log").dyn_ref::<Array>() {
            Some(array) => array
                .iter()
                .map(|entry| bytes(&entry, "log record"))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let sync = get(&loaded, "sync");
        let loaded = Loaded {
            outbox: pairs(&get(&loaded, "outbox"), "outbox entry")?,
            sync: if sync.is_null() || sync.is_undefined() {
                None
            } else {
                Some(bytes(&sync, "sync state")?)
            },
            log,
        };
        self.log_entries = loaded.log.len();
        self.log_bytes = loaded.log.iter().map(Vec::len).sum();
        Ok(loaded)
    }

    async fn commit(&mut self, batch: Batch) -> Result<(), DbError> {
        if batch.is_empty() {
            return Ok(());
        }
        let js = Self::batch_to_js(&batch)?;
        settle("file store write", self.store.commit(&js)).await?;
        if batch.checkpoint.is_some() {
            self.log_entries = 0;
            self.log_bytes = 0;
        }
        self.log_entries += batch.log.len();
        self.log_bytes += batch.log.iter().map(Vec::len).sum::<usize>();
        Ok(())
    }

    async fn call_result(&mut self, id: &str) -> Result<Option<Vec<u8>>, DbError> {
        let answer = settle("file store read", self.store.call_result(id)).await?;
        if answer.is_null() || answer.is_undefined() {
            return Ok(None);
        }
        bytes(&answer, "call answer").map(Some)
    }

    fn log_size(&self) -> (usize, usize) {
        (self.log_entries, self.log_bytes)
    }

    fn close(&mut self) {
        self.store.close();
    }
}
