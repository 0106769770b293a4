//! Turns GlueSQL payloads into one plain result shape: command, columns, rows, row count.

use gluesql_core::{
    data::Value,
    executor::{Payload, PayloadVariable},
};

#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    pub command: &'static str,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// Rows returned for a query, rows affected for INSERT / UPDATE / DELETE, else 0.
    pub row_count: usize,
}

impl QueryOutput {
    /// The form a committed call's answer is kept in (see `Database::call_result`).
    pub fn to_stored(&self) -> crate::protocol::StoredResult {
        crate::protocol::StoredResult {
            command: self.command.to_owned(),
            columns: self.columns.clone(),
            row_count: self.row_count as u64,
            rows: self.rows.clone(),
        }
    }

    /// A kept answer as the call gave it.
    pub fn from_stored(result: crate::protocol::StoredResult) -> Self {
        Self {
            command: command_name(&result.command),
            columns: result.columns,
            row_count: usize::try_from(result.row_count).unwrap_or(usize::MAX),
            rows: result.rows,
        }
    }

    pub(crate) fn command(command: &'static str, row_count: usize) -> Self {
        Self {
            command,
            columns: Vec::new(),
            rows: Vec::new(),
            row_count,
        }
    }
}

/// The command name a stored result gives back as the `&'static str` results carry.
pub fn command_name(command: &str) -> &'static str {
    const COMMANDS: &[&str] = &[
        "SELECT",
        "SHOW COLUMNS",
        "SHOW",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP TABLE",
        "DROP FUNCTION",
        "ALTER TABLE",
        "CREATE INDEX",
        "DROP INDEX",
        "CREATE VIEW",
        "DROP VIEW",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "IMPORT",
    ];
    COMMANDS
        .iter()
        .find(|c| **c == command)
        .copied()
        .unwrap_or("OK")
}

pub fn output_of(payload: Payload) -> QueryOutput {
    match payload {
        Payload::Select { labels, rows } => QueryOutput {
            command: "SELECT",
            row_count: rows.len(),
            columns: labels,
            rows,
        },
        Payload::SelectMap(maps) => {
            let mut columns: Vec<String> = Vec::new();
            for map in &maps {
                for name in map.keys() {
                    if !columns.contains(name) {
                        columns.push(name.clone());
                    }
                }
            }
            let rows = maps
                .into_iter()
                .map(|mut map| {
                    columns
                        .iter()
                        .map(|c| map.remove(c).unwrap_or(Value::Null))
                        .collect()
                })
                .collect::<Vec<_>>();
            QueryOutput {
                command: "SELECT",
                row_count: rows.len(),
                columns,
                rows,
            }
        }
        Payload::ShowColumns(columns) => {
            let rows = columns
                .into_iter()
                .map(|(name, data_type)| vec![Value::Str(name), Value::Str(data_type.to_string())])
                .collect::<Vec<_>>();
            QueryOutput {
                command: "SHOW COLUMNS",
                row_count: rows.len(),
                columns: vec!["name".to_owned(), "type".to_owned()],
                rows,
            }
        }
        Payload::ShowVariable(variable) => {
            let (column, values) = match variable {
                PayloadVariable::Tables(names) => ("table", names),
                PayloadVariable::Functions(names) => ("function", names),
                PayloadVariable::Version(version) => ("version", vec![version]),
            };
            let rows = values
                .into_iter()
                .map(|v| vec![Value::Str(v)])
                .collect::<Vec<_>>();
            QueryOutput {
                command: "SHOW",
                row_count: rows.len(),
                columns: vec![column.to_owned()],
                rows,
            }
        }
        Payload::Insert(n) => QueryOutput::command("INSERT", n),
        Payload::Update(n) => QueryOutput::command("UPDATE", n),
        Payload::Delete(n) => QueryOutput::command("DELETE", n),
        Payload::Create => QueryOutput::command("CREATE", 0),
        Payload::DropTable(n) => QueryOutput::command("DROP TABLE", n),
        Payload::DropFunction => QueryOutput::command("DROP FUNCTION", 0),
        Payload::AlterTable => QueryOutput::command("ALTER TABLE", 0),
        Payload::CreateIndex => QueryOutput::command("CREATE INDEX", 0),
        Payload::DropIndex => QueryOutput::command("DROP INDEX", 0),
        Payload::StartTransaction => QueryOutput::command("BEGIN", 0),
        Payload::Commit => QueryOutput::command("COMMIT", 0),
        Payload::Rollback => QueryOutput::command("ROLLBACK", 0),
    }
}
