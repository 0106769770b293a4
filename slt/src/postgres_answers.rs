//! Proves our own `.slt` files' answers on PostgreSQL: each file marked `# answers: PostgreSQL`
//! is replayed on a throwaway cluster, and every record must get there the answer it expects.
//! Judges only the files; idbsql's own run of them is the driver's business.

use {
    crate::{
        driver::{self, Outcome},
        postgres_check,
        script::{self, Expect, Step},
    },
    std::path::{Path, PathBuf},
    tokio_postgres::{types::Type, Client, SimpleQueryMessage},
};

/// The line that puts a file under this check.
pub const MARK: &str = "# answers: PostgreSQL";

/// The engine name `skipif` / `onlyif` are decided for here: a record PostgreSQL answers
/// differently (an idbsql or SQLite habit) says so with `skipif postgresql` and why.
const ENGINE: &str = "postgresql";

/// Whether `path` carries the mark.
pub fn is_marked(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.lines().any(|line| line.trim() == MARK))
}

/// Replays each file on one throwaway cluster, each in a fresh schema; returns what differs,
/// as `file:line: what`.
pub fn verify(files: &[(String, PathBuf)]) -> Result<Vec<String>, String> {
    postgres_check::with_throwaway(|client| async move {
        let mut problems = Vec::new();
        for (key, path) in files {
            postgres_check::fresh_schema(&client).await?;
            for step in script::load_for(path, ENGINE)?
                .iter()
                .filter(|s| !s.skipped)
            {
                if let Err(problem) = run(&client, step).await {
                    problems.push(format!("{key}:{}: {problem}", step.line));
                }
            }
        }
        Ok(problems)
    })
}

async fn run(client: &Client, step: &Step) -> Result<(), String> {
    match &step.expect {
        Expect::Error(_) => match client.simple_query(&step.sql).await {
            Ok(_) => Err("PostgreSQL runs it; the record expects an error".to_owned()),
            // Messages differ between databases: that it fails is the answer compared.
            Err(_) => Ok(()),
        },
        Expect::StatementOk => client
            .simple_query(&step.sql)
            .await
            .map(|_| ())
            .map_err(|e| format!("PostgreSQL refuses it: {}", message(&e))),
        Expect::StatementCount(n) => {
            let messages = client
                .simple_query(&step.sql)
                .await
                .map_err(|e| format!("PostgreSQL refuses it: {}", message(&e)))?;
            let affected = messages.iter().find_map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => Some(*n),
                _ => None,
            });
            match affected {
                Some(count) if count == *n => Ok(()),
                other => Err(format!("PostgreSQL affects {other:?} rows, the record {n}")),
            }
        }
        Expect::Rows {
            types,
            sort,
            results,
            ..
        } => {
            // The column types come from preparing it (which runs nothing); the values as text.
            let prepared = client
                .prepare(&step.sql)
                .await
                .map_err(|e| format!("PostgreSQL refuses it: {}", message(&e)))?;
            let column_types: Vec<Type> = prepared
                .columns()
                .iter()
                .map(|c| c.type_().clone())
                .collect();
            if column_types.len() != types.len() {
                return Err(format!(
                    "PostgreSQL gives {} columns, the record {}",
                    column_types.len(),
                    types.len()
                ));
            }
            let messages = client
                .simple_query(&step.sql)
                .await
                .map_err(|e| format!("PostgreSQL refuses it: {}", message(&e)))?;
            let rows: Vec<Vec<String>> = messages
                .iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| format(row.get(i), &column_types[i], types.get(i).copied()))
                            .collect(),
                    ),
                    _ => None,
                })
                .collect();
            match driver::compare(rows, *sort, step.hash_threshold, results) {
                Outcome::Fail { message } => Err(format!("PostgreSQL: {message}")),
                _ => Ok(()),
            }
        }
    }
}

/// A PostgreSQL value printed as the driver prints idbsql's (see `driver::format_value`):
/// integers as they are, floats `%.3f`, NUMERIC `%.3f` unless a whole number in an `I` column
/// (PostgreSQL's SUM of integers is NUMERIC), booleans 1 / 0, NULL, `(empty)`.
fn format(text: Option<&str>, column: &Type, declared: Option<char>) -> String {
    let Some(text) = text else {
        return "NULL".to_owned();
    };
    let real = |text: &str| {
        text.parse::<f64>()
            .map_or_else(|_| text.to_owned(), |f| format!("{f:.3}"))
    };
    match *column {
        Type::BOOL => (if text == "t" { "1" } else { "0" }).to_owned(),
        Type::FLOAT4 | Type::FLOAT8 => real(text),
        Type::NUMERIC if declared == Some('I') && !text.contains('.') => text.to_owned(),
        Type::NUMERIC => real(text),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => match declared {
            Some('I') => driver::integer_prefix(text).to_string(),
            Some('R') => format!("{:.3}", driver::real_prefix(text)),
            _ if text.is_empty() => "(empty)".to_owned(),
            _ => text
                .chars()
                .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
                .collect(),
        },
        _ => text.to_owned(),
    }
}

fn message(error: &tokio_postgres::Error) -> String {
    error
        .as_db_error()
        .map_or_else(|| error.to_string(), |db| db.message().to_owned())
}
