//! One sqllogictest file as the steps to run: parsed by the `sqllogictest` crate, with
//! `skipif`/`onlyif` decided for engine `idbsql`. Never changes the SQL it is given.

use {
    sqllogictest::{
        ColumnType, Condition, DefaultColumnType, QueryExpect, Record, SortMode, StatementExpect,
    },
    std::path::Path,
};

const DEFAULT_HASH_THRESHOLD: usize = 8;

/// The engine name `skipif` / `onlyif` conditions are matched against.
pub const ENGINE: &str = "idbsql";

#[derive(Debug, Clone)]
pub enum Expect {
    StatementOk,
    StatementCount(u64),
    /// An error; its message must match what the record names, if it names one.
    Error(sqllogictest::ExpectedError),
    Rows {
        /// The record's column types: `I`, `R`, `T` (any other letter is kept as given).
        types: Vec<char>,
        sort: SortMode,
        label: Option<String>,
        results: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Step {
    pub line: u32,
    pub sql: String,
    pub expect: Expect,
    /// Skipped by the file's own `skipif` / `onlyif`.
    pub skipped: bool,
    pub hash_threshold: usize,
    /// One of idbsql's own files (tests/slt), held to naming the errors it expects.
    pub own_file: bool,
}

/// The corpus writes `skipif mysql # reason`; the crate's parser takes no comment there.
/// Only those lines change, and each keeps its place, so line numbers stay true.
fn strip_condition_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let is_condition = line.starts_with("skipif ") || line.starts_with("onlyif ");
        match line.find('#').filter(|_| is_condition) {
            Some(at) => {
                out.push_str(line[..at].trim_end());
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

fn skips(condition: &Condition, engine: &str) -> bool {
    match condition {
        Condition::OnlyIf { label } => label != engine,
        Condition::SkipIf { label } => label == engine,
    }
}

/// Reads and parses a file into steps, stopping at a `halt` that applies to this engine.
pub fn load(path: &Path) -> Result<Vec<Step>, String> {
    load_for(path, ENGINE)
}

/// `load`, with `skipif` / `onlyif` decided for `engine` (`postgresql` when our own files are
/// replayed on PostgreSQL).
pub fn load_for(path: &Path, engine: &str) -> Result<Vec<Step>, String> {
    let skips = |condition: &Condition| skips(condition, engine);
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.display().to_string();
    let own_file = path.parent().is_some_and(|dir| dir.ends_with("tests/slt"));
    let records =
        sqllogictest::parse_with_name::<DefaultColumnType>(&strip_condition_comments(&text), name)
            .map_err(|e| e.to_string())?;

    let mut steps = Vec::new();
    // SQLite's corpus was made with a hash threshold of 8; a file may set its own.
    let mut hash_threshold = DEFAULT_HASH_THRESHOLD;
    // The parser hands conditions to the next statement or query; conditions written before a
    // `halt` belong to the halt, so they are taken back from the record that follows it.
    let mut pending: Vec<Condition> = Vec::new();
    let mut owed_to_halt = 0usize;
    for record in records {
        match record {
            Record::Condition(condition) => pending.push(condition),
            Record::HashThreshold { threshold, .. } => {
                hash_threshold = usize::try_from(threshold).unwrap_or(usize::MAX);
            }
            Record::Halt { .. } => {
                let skipped = pending.iter().any(&skips);
                owed_to_halt += pending.len();
                pending.clear();
                if !skipped {
                    break;
                }
            }
            Record::Statement {
                loc,
                conditions,
                sql,
                expected,
                ..
            } => {
                let conditions = &conditions[owed_to_halt.min(conditions.len())..];
                let expect = match expected {
                    StatementExpect::Ok => Expect::StatementOk,
                    StatementExpect::Count(n) => Expect::StatementCount(n),
                    StatementExpect::Error(expected) => Expect::Error(expected),
                };
                steps.push(Step {
                    line: loc.line(),
                    sql,
                    expect,
                    skipped: conditions.iter().any(&skips),
                    hash_threshold,
                    own_file,
                });
                owed_to_halt = 0;
                pending.clear();
            }
            Record::Query {
                loc,
                conditions,
                sql,
                expected,
                ..
            } => {
                let conditions = &conditions[owed_to_halt.min(conditions.len())..];
                let expect = match expected {
                    QueryExpect::Error(expected) => Expect::Error(expected),
                    QueryExpect::Results {
                        types,
                        sort_mode,
                        label,
                        results,
                        ..
                    } => Expect::Rows {
                        types: types.iter().map(ColumnType::to_char).collect(),
                        sort: sort_mode.unwrap_or(SortMode::NoSort),
                        label,
                        results,
                    },
                };
                steps.push(Step {
                    line: loc.line(),
                    sql,
                    expect,
                    skipped: conditions.iter().any(&skips),
                    hash_threshold,
                    own_file,
                });
                owed_to_halt = 0;
                pending.clear();
            }
            _ => {}
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_comments_go_and_lines_stay() {
        let text = "skipif mysql # not compatible\nquery I\nSELECT 1 # kept\n";
        assert_eq!(
            strip_condition_comments(text),
            "skipif mysql\nquery I\nSELECT 1 # kept\n"
        );
    }

    #[test]
    fn halt_for_another_engine_is_skipped_and_does_not_leak() {
        let dir = std::env::temp_dir().join(format!("slt-halt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.test");
        std::fs::write(
            &path,
            "onlyif mssql\nhalt\n\nstatement ok\nCREATE TABLE t (a INT)\n\nonlyif idbsql\nhalt\n\nstatement ok\nSELECT 1\n",
        )
        .unwrap();
        let steps = load(&path).unwrap();
        assert_eq!(steps.len(), 1);
        assert!(!steps[0].skipped);
        assert_eq!(steps[0].line, 4);
    }
}
