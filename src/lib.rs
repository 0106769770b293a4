//! idbsql: a SQL database for the browser — GlueSQL over memory-resident tables whose commits
//! are persisted to IndexedDB. This crate root only wires the layers together.

pub mod catalog;
pub mod database;
pub mod decimal;
pub mod dump;
pub mod engine;
pub mod error;
pub mod guard;
pub mod json;
pub mod kinds;
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
