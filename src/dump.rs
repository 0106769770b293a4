//! SQL dumps: the whole database written as a script of CREATE and INSERT statements that
//! recreates it (schemas, indexes, functions, rows) when run on an empty database.

use {
    crate::store::{MemoryStore, Table},
    gluesql_core::{
        ast::ToSql,
        data::{CustomFunction, Value},
    },
    std::fmt::Write,
};

/// Rows per INSERT statement: large enough to import fast, small enough to keep one
/// statement's parse cheap and an error message's position useful.
const ROWS_PER_INSERT: usize = 500;

/// The first line of every dump; `import` does not require it, it tells a reader what the file is.
pub const DUMP_HEADER: &str = "-- idbsql dump";

/// Writes every function, table, index and row as SQL. Tables come after the tables their
/// foreign keys reference, so the script runs top to bottom.
pub fn dump_sql(store: &MemoryStore) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{DUMP_HEADER}");
    for function in store.functions() {
        out.push_str(&create_function_sql(function));
        out.push('\n');
    }
    for table in tables_in_dependency_order(store) {
        out.push_str(&table.schema.to_ddl());
        out.push('\n');
        write_inserts(&mut out, table);
    }
    out
}

fn tables_in_dependency_order(store: &MemoryStore) -> Vec<&Table> {
    let mut remaining: Vec<&Table> = store.tables().collect();
    let mut ordered: Vec<&Table> = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let ready = remaining.iter().position(|table| {
            table.schema.foreign_keys.iter().all(|fk| {
                fk.referenced_table_name == table.schema.table_name
                    || ordered
                        .iter()
                        .any(|done| done.schema.table_name == fk.referenced_table_name)
                    || !remaining
                        .iter()
                        .any(|other| other.schema.table_name == fk.referenced_table_name)
            })
        });
        // A reference cycle cannot be created in GlueSQL; should one appear, keep going in
        // name order rather than loop forever.
        ordered.push(remaining.remove(ready.unwrap_or(0)));
    }
    ordered
}

fn create_function_sql(function: &CustomFunction) -> String {
    let args = function
        .args
        .iter()
        .map(|arg| {
            let default = arg
                .default
                .as_ref()
                .map(|expr| format!(" DEFAULT {}", expr.to_sql()))
                .unwrap_or_default();
            format!("{} {}{default}", arg.name, arg.data_type)
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE FUNCTION {}({args}) RETURN {};",
        function.func_name,
        function.body.to_sql()
    )
}

fn write_inserts(out: &mut String, table: &Table) {
    let rows: Vec<_> = table.rows.values().collect();
    for batch in rows.chunks(ROWS_PER_INSERT) {
        let _ = write!(out, "INSERT INTO \"{}\" VALUES", table.schema.table_name);
        for (position, row) in batch.iter().enumerate() {
            out.push_str(if position == 0 { "\n(" } else { ",\n(" });
            for (column, value) in row.iter().enumerate() {
                if column > 0 {
                    out.push_str(", ");
                }
                out.push_str(&value_literal(value));
            }
            out.push(')');
        }
        out.push_str(";\n");
    }
}

/// A SQL expression that, inserted into its column, gives back `value` exactly.
fn value_literal(value: &Value) -> String {
    match value {
        // Number literals pass through a decimal conversion that can round, and NaN or the
        // infinities have none; a text CAST is parsed straight into the float, bit for bit.
        Value::F32(n) => format!("CAST('{n}' AS FLOAT32)"),
        Value::F64(n) => format!("CAST('{n}' AS FLOAT)"),
        // Display writes floats without an exponent, which is what the WKT reader accepts.
        Value::Point(point) => format!("'POINT({} {})'", point.x, point.y),
        _ => value.to_sql(),
    }
}
