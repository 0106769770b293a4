//! idbsql: a SQL database for the browser — GlueSQL over memory-resident tables whose commits
//! are persisted to IndexedDB. This crate root only wires the layers together.

pub mod catalog;
pub mod database;
pub mod dump;
pub mod engine;
pub mod error;
pub mod kinds;
pub mod persist;
pub mod protocol;
pub mod store;
pub mod sync;

#[cfg(target_arch = "wasm32")]
pub mod api;

pub use {
    database::Database,
    error::{DbError, ErrorCode},
};
