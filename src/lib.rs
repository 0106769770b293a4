//! idbsql: a SQL database for the browser — GlueSQL over memory-resident tables whose commits
//! are persisted to IndexedDB. This crate root only wires the layers together.
//!
//! Natively, a [`Database`] runs over any [`persist::Persistence`]; the memory one keeps a
//! "disk" that a second open reads back, as IndexedDB would:
//!
//! ```
//! use futures::executor::block_on;
//! use idbsql::{persist::memory::{MemoryDisk, MemoryPersistence}, Database};
//! use std::{cell::RefCell, rc::Rc};
//!
//! let disk = Rc::new(RefCell::new(MemoryDisk::default()));
//! let mut db = block_on(Database::open(MemoryPersistence::shared(Rc::clone(&disk)))).unwrap();
//! block_on(db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")).unwrap();
//! block_on(db.query("INSERT INTO note VALUES (1, 'kept')", &[])).unwrap();
//!
//! let mut reopened = block_on(Database::open(MemoryPersistence::shared(disk))).unwrap();
//! let rows = block_on(reopened.query("SELECT body FROM note", &[])).unwrap().rows;
//! assert_eq!(rows, vec![vec![gluesql_core::data::Value::Str("kept".into())]]);
//! ```

pub mod catalog;
pub mod database;
pub mod decimal;
pub mod dump;
pub mod engine;
pub mod error;
pub mod guard;
pub mod json;
pub mod kinds;
pub mod packed_rows;
pub mod persist;
pub mod protocol;
pub mod sql_text;
pub mod store;
pub mod sync;

#[cfg(target_arch = "wasm32")]
pub mod api;

// Talc instead of Rust's default wasm allocator (dlmalloc): loading and writing rows is
// allocation-heavy, and talc is faster there and smaller (measured: README, issue 14).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub use {
    database::Database,
    error::{DbError, ErrorCode},
};
