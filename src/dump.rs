//! SQL dumps: the whole database written as a script of CREATE and INSERT statements that
//! recreates it (schemas, indexes, functions, rows, foreign keys) when run on an empty database.

use {
    crate::{
        engine::{parse_sql, Engine, ObjectKind, Sequence, OBJECTS_TABLE},
        error::{DbError, ErrorCode},
        sql_text,
        store::{MemoryStore, Table},
    },
    gluesql_core::{
        ast::{Expr, ToSql},
        data::{CustomFunction, Schema, Value},
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
/// as it was created. Every name is quoted and every stored statement re-read (see sql_text), so
/// nothing a synced writer named can add a statement; what cannot be written so is refused.
pub fn dump_sql(engine: &Engine) -> Result<String, DbError> {
    let store = engine.store();
    let mut definitions: BTreeMap<String, String> = BTreeMap::new();
    for object in engine.objects(ObjectKind::Index) {
        let definition = sql_text::object_definition(
            "index",
            &object.name,
            object.table.as_deref(),
            &object.definition,
        )
        .map_err(refused)?;
        definitions.insert(object.name, definition);
    }
    let sequences = engine.sequences();
    let mut out = String::new();
    let _ = writeln!(out, "{DUMP_HEADER}");
    for function in store.functions() {
        out.push_str(&create_function_sql(function)?);
        out.push('\n');
    }
    for table in tables_in_dependency_order(store) {
        let schema = &table.schema;
        out.push_str(&create_table_sql(schema, &sequences)?);
        out.push('\n');
        for index in &schema.indexes {
            let key = format!("{}.{}", schema.table_name, index.name);
            match definitions.get(&key) {
                Some(definition) => {
                    let _ = writeln!(out, "{definition};");
                }
                None => {
                    let expr = match &index.expr {
                        Expr::Identifier(column) => sql_text::ident(column),
                        // PostgreSQL's form of an index on an expression: in its own parentheses.
                        other => format!(
                            "({})",
                            sql_text::expr(other).map_err(|e| {
                                refused(format!(
                                    "index {} of {}: {e}",
                                    index.name, schema.table_name
                                ))
                            })?
                        ),
                    };
                    let _ = writeln!(
                        out,
                        "CREATE INDEX {} ON {} ({expr});",
                        sql_text::ident(&index.name),
                        sql_text::ident(&schema.table_name),
                    );
                }
            }
        }
        write_inserts(&mut out, table);
    }
    // Foreign keys after every table's rows: a table may reference one written after it, or
    // itself, and ADD CONSTRAINT checks the rows already there.
    for key in store.foreign_keys().iter() {
        let _ = writeln!(out, "{};", key.to_sql());
    }
    for check in store.checks().iter() {
        let _ = writeln!(out, "{};", check.to_sql());
    }
    for definition in views_in_dependency_order(engine)? {
        let _ = writeln!(out, "{definition};");
    }
    Ok(out)
}

fn refused(reason: String) -> DbError {
    DbError::new(ErrorCode::Execute, format!("cannot export: {reason}"))
}

/// `CREATE TABLE` with every name and comment quoted (GlueSQL's own DDL text quotes names
/// without doubling their quotes).
/// A table's CREATE statement; a column with a sequence declares it as an identity that goes
/// on from where the sequence stands.
fn create_table_sql(schema: &Schema, sequences: &[Sequence]) -> Result<String, DbError> {
    let mut out = format!("CREATE TABLE {}", sql_text::ident(&schema.table_name));
    if let Some(columns) = &schema.column_defs {
        let mut parts = Vec::with_capacity(columns.len() + schema.foreign_keys.len());
        for column in columns {
            // A JSON column is TEXT with a marking comment in the schema; it is written as the
            // type it was declared with.
            let json = crate::json::JsonKind::of_marker(column.comment.as_deref());
            let mut part = format!(
                "{} {} {}",
                sql_text::ident(&column.name),
                json.map_or_else(|| column.data_type.to_string(), |k| k.name().to_owned()),
                if column.nullable { "NULL" } else { "NOT NULL" }
            );
            if let Some(sequence) = sequences
                .iter()
                .find(|s| s.table == schema.table_name && s.column == column.name)
            {
                let _ = write!(part, " {}", sequence.clause());
            }
            if let Some(default) = &column.default {
                let default = sql_text::expr(default).map_err(|e| {
                    refused(format!(
                        "the DEFAULT of {}.{}: {e}",
                        schema.table_name, column.name
                    ))
                })?;
                let _ = write!(part, " DEFAULT {default}");
            }
            if let Some(unique) = &column.unique {
                let _ = write!(part, " {}", unique.to_sql());
            }
            if let (Some(comment), None) = (&column.comment, json) {
                let _ = write!(part, " COMMENT {}", sql_text::literal(comment));
            }
            parts.push(part);
        }
        for key in &schema.foreign_keys {
            parts.push(format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
                sql_text::ident(&key.name),
                sql_text::ident(&key.referencing_column_name),
                sql_text::ident(&key.referenced_table_name),
                sql_text::ident(&key.referenced_column_name),
                key.on_delete,
                key.on_update,
            ));
        }
        let _ = write!(out, " ({})", parts.join(", "));
    }
    if let Some(engine) = &schema.engine {
        // Checked to be a plain name wherever it came from (see store/validate.rs).
        if engine
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            let _ = write!(out, " ENGINE = {engine}");
        }
    }
    if let Some(comment) = &schema.comment {
        let _ = write!(out, " COMMENT = {}", sql_text::literal(comment));
    }
    out.push(';');
    Ok(out)
}

/// View definitions, re-read, each after the views it reads.
fn views_in_dependency_order(engine: &Engine) -> Result<Vec<String>, DbError> {
    let mut remaining: Vec<(String, String, Vec<String>)> = Vec::new();
    for view in engine.objects(ObjectKind::View) {
        let definition = sql_text::object_definition("view", &view.name, None, &view.definition)
            .map_err(refused)?;
        let mut reads = Vec::new();
        if let Ok(statements) = parse_sql(&definition) {
            let _ = crate::engine::visit::relations(&statements, |name| {
                reads.extend(name.0.last().map(|i| i.value.clone()));
                ControlFlow::<()>::Continue(())
            });
        }
        remaining.push((view.name, definition, reads));
    }
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
    Ok(ordered
        .into_iter()
        .map(|(_, definition, _)| definition)
        .collect())
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

fn create_function_sql(function: &CustomFunction) -> Result<String, DbError> {
    let what = |e: String| refused(format!("function {}: {e}", function.func_name));
    let mut args = Vec::with_capacity(function.args.len());
    for arg in &function.args {
        let mut part = format!("{} {}", sql_text::ident(&arg.name), arg.data_type);
        if let Some(default) = &arg.default {
            let _ = write!(part, " DEFAULT {}", sql_text::expr(default).map_err(what)?);
        }
        args.push(part);
    }
    Ok(format!(
        "CREATE FUNCTION {}({}) RETURN {};",
        sql_text::ident(&function.func_name),
        args.join(", "),
        sql_text::expr(&function.body).map_err(what)?
    ))
}

fn write_inserts(out: &mut String, table: &Table) {
    let rows: Vec<_> = table.rows.values().collect();
    for batch in rows.chunks(ROWS_PER_INSERT) {
        let _ = write!(
            out,
            "INSERT INTO {} VALUES",
            sql_text::ident(&table.schema.table_name)
        );
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
