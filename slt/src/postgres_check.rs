//! Holds the `division-by-zero` category to its word: each record the known-failures list puts
//! there is replayed on a throwaway PostgreSQL, which must refuse it with a division by zero too.

// The same throwaway cluster the server's tests start.
#[allow(dead_code)]
#[path = "../../server/tests/common/pg_cluster.rs"]
pub mod pg_cluster;

use {
    crate::script::{self, Expect},
    std::{collections::BTreeMap, path::PathBuf},
};

pub const CATEGORY: &str = "division-by-zero";

/// Replays every file up to each listed record (its statements, not its other queries) and runs
/// the record; returns what does not hold. `path_of` maps a record's file key to the file.
pub fn verify(
    records: &[(String, u32)],
    path_of: impl Fn(&str) -> PathBuf,
) -> Result<Vec<String>, String> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_file: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (file, line) in records {
        by_file.entry(file).or_default().push(*line);
    }
    with_throwaway(|client| async move {
        let mut problems = Vec::new();
        for (file, lines) in by_file {
            let steps = script::load(&path_of(file))?;
            fresh_schema(&client).await?;
            for step in steps.iter().filter(|s| !s.skipped) {
                if lines.contains(&step.line) {
                    let record = format!("{file}:{}", step.line);
                    match client.simple_query(&step.sql).await {
                        Err(error) if message(&error).contains("division by zero") => {}
                        Err(error) => problems.push(format!(
                            "{record}: listed as {CATEGORY}, but PostgreSQL refuses it otherwise: {}",
                            message(&error)
                        )),
                        Ok(_) => problems.push(format!(
                            "{record}: listed as {CATEGORY}, but PostgreSQL answers it"
                        )),
                    }
                } else if !matches!(step.expect, Expect::Rows { .. }) {
                    // Setup as the file wrote it; what PostgreSQL refuses, SQLite-only, stays out.
                    let _ = client.batch_execute(&step.sql).await;
                }
                if step.line >= lines.iter().copied().max().unwrap_or(0) {
                    break;
                }
            }
        }
        Ok(problems)
    })
}

/// Runs `f` with a client of a throwaway PostgreSQL cluster, stopped when `f` is done.
pub fn with_throwaway<T, F, Fut>(f: F) -> Result<T, String>
where
    F: FnOnce(tokio_postgres::Client) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let cluster = pg_cluster::PgCluster::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
        tokio::spawn(connection);
        f(client).await
    })
}

/// Ends any transaction a file left open and gives the next one an empty schema `slt`; a query
/// past 5 s is cancelled (a recursive query PostgreSQL would run forever).
pub async fn fresh_schema(client: &tokio_postgres::Client) -> Result<(), String> {
    client
        .batch_execute(
            "ROLLBACK; DROP SCHEMA IF EXISTS slt CASCADE; CREATE SCHEMA slt; \
             SET search_path TO slt; SET statement_timeout = '5s'",
        )
        .await
        .map_err(|e| e.to_string())
}

fn message(error: &tokio_postgres::Error) -> String {
    error
        .as_db_error()
        .map_or_else(|| error.to_string(), |db| db.message().to_owned())
}
