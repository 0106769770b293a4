//! SQL dumps: the whole database written as a script of CREATE and INSERT statements that
//! recreates it (schemas, indexes, functions, rows) when run on an empty database.

use {
    crate::{
        engine::{parse_sql, Engine, ObjectKind, OBJECTS_TABLE},
        store::{MemoryStore, Table},
    },
    gluesql_core::{
        ast::ToSql,
        data::{CustomFunction, Value},
    },
    std::{collections::BTreeMap, fmt::Write, ops::ControlFlow},
};

/// Rows per INSERT statement: large enough to import fast, small enough to keep one
/// statement's parse cheap and an error message's position useful.
const ROWS_PER_INSERT: usize = 500;

/// The first line of every dump; `import` does not require it, it tells a reader what the file is.
pub const DUMP_HEADER: &str = "-- idbsql dump";

/// Writes every function, table, index, row and view as SQL. Tables come after the tables
/// their foreign keys reference, views after the views they read, so the script runs top to
/// bottom. An index GlueSQL keeps on its first column only (UNIQUE, several columns) is written
/// as it was created.
pub fn dump_sql(engine: &Engine) -> String {
    let store = engine.store();
    let definitions: BTreeMap<String, String> = engine
        .objects(ObjectKind::Index)
        .into_iter()
        .map(|o| (o.name, o.definition))
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "{DUMP_HEADER}");
    for function in store.functions() {
        out.push_str(&create_function_sql(function));
        out.push('\n');
    }
    for table in tables_in_dependency_order(store) {
        let mut schema = table.schema.clone();
        let indexes = std::mem::take(&mut schema.indexes);
        out.push_str(&schema.to_ddl());
        out.push('\n');
        for index in indexes {
            let key = format!("{}.{}", schema.table_name, index.name);
            match definitions.get(&key) {
                Some(definition) => {
                    let _ = writeln!(out, "{definition};");
                }
                None => {
                    let _ = writeln!(
                        out,
                        r#"CREATE INDEX "{}" ON "{}" ({});"#,
                        index.name,
                        schema.table_name,
                        index.expr.to_sql()
                    );
                }
            }
        }
        write_inserts(&mut out, table);
    }
    for definition in views_in_dependency_order(engine) {
        let _ = writeln!(out, "{definition};");
    }
    out
}

/// View definitions, each after the views it reads.
fn views_in_dependency_order(engine: &Engine) -> Vec<String> {
    let mut remaining: Vec<(String, String, Vec<String>)> = engine
        .objects(ObjectKind::View)
        .into_iter()
        .map(|view| {
            let mut reads = Vec::new();
            if let Ok(statements) = parse_sql(&view.definition) {
                let _ = crate::engine::visit::relations(&statements, |name| {
                    reads.extend(name.0.last().map(|i| i.value.clone()));
                    ControlFlow::<()>::Continue(())
                });
            }
            (view.name, view.definition, reads)
        })
        .collect();
    let mut ordered: Vec<(String, String, Vec<String>)> = Vec::new();
    while !remaining.is_empty() {
        let ready = remaining.iter().position(|(_, _, reads)| {
            reads.iter().all(|read| {
                ordered.iter().any(|(done, _, _)| done == read)
                    || !remaining.iter().any(|(name, _, _)| name == read)
            })
        });
        ordered.push(remaining.remove(ready.unwrap_or(0)));
    }
    ordered
        .into_iter()
        .map(|(_, definition, _)| definition)
        .collect()
}

fn tables_in_dependency_order(store: &MemoryStore) -> Vec<&Table> {
    let mut remaining: Vec<&Table> = store
        .tables()
        .filter(|table| table.schema.table_name != OBJECTS_TABLE)
        .collect();
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
