//! Helpers shared by the server's test crates (each `mod common;`): a raw protocol client, a
//! native client replica, and a throwaway PostgreSQL cluster.
// Each test crate uses a part of what is here.
#![allow(dead_code)]

pub mod binary;
pub mod client;
pub mod node;
pub mod pg_cluster;
