//! idbsql: a SQL database for the browser — GlueSQL over memory-resident tables whose commits
//! are persisted to IndexedDB. This crate root only wires the layers together.

pub mod protocol;
pub mod store;
