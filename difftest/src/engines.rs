//! The three engines behind one face: load a generated database, run one query, answer with
//! rows of normalized cells (a number's kind — integer or fraction — kept). SQLite is the
//! bundled library, PostgreSQL a throwaway cluster, idbsql its real engine (natively).

use {
    crate::{
        ast::{create_table, create_table_defaulting, Dialect, Lit, Params, Render, Write},
        gen::{Db, Sink, SINK_EXTRA},
    },
    gluesql_core::data::Value,
    idbsql::engine::Engine,
    std::time::{Duration, Instant},
};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i128),
    /// A fraction: a float, or a decimal (exact in the engine, compared approximately here).
    Num(f64),
    /// A decimal with its exact text (PostgreSQL's NUMERIC, idbsql's DECIMAL): a fraction
    /// compared approximately, and exactly where the judge says (judge.rs).
    Dec(f64, String),
    Text(String),
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Int(n) => write!(f, "{n}"),
            Cell::Num(n) => write!(f, "{n:?}"),
            Cell::Dec(_, text) => write!(f, "{text}"),
            Cell::Text(text) => write!(f, "{text:?}"),
        }
    }
}

pub type Rows = Vec<Vec<Cell>>;

/// An answer and how long it took.
pub struct Answer {
    pub rows: Result<Rows, String>,
    pub took: Duration,
    /// The output columns' names (idbsql only: the references name computed columns their
    /// own way, and every generated column has an alias idbsql must keep).
    pub columns: Vec<String>,
}

fn numeric_text(text: &str) -> Cell {
    if text.contains(['.', 'e', 'E', 'N', 'I']) {
        match text {
            "NaN" => Cell::Num(f64::NAN),
            "Infinity" => Cell::Num(f64::INFINITY),
            "-Infinity" => Cell::Num(f64::NEG_INFINITY),
            _ => text
                .parse()
                .map(Cell::Num)
                .unwrap_or(Cell::Text(text.into())),
        }
    } else {
        text.parse()
            .map(Cell::Int)
            .unwrap_or(Cell::Text(text.into()))
    }
}

/// A value of a fractional type in PostgreSQL's text form.
fn fraction_text(text: &str) -> Cell {
    match numeric_text(text) {
        Cell::Int(n) => Cell::Num(n as f64),
        other => other,
    }
}

/// A NUMERIC in PostgreSQL's text form (or a DECIMAL in idbsql's), its text kept.
fn decimal_text(text: &str) -> Cell {
    match fraction_text(text) {
        Cell::Num(x) if x.is_finite() => Cell::Dec(x, text.to_owned()),
        other => other,
    }
}

/// Writing a query's rows to its sink and reading them back: the statements, in one dialect.
pub struct SinkScript {
    pub create: String,
    pub insert: String,
    pub read: String,
}

/// Each engine drops the sink after reading it, whatever happened.
const DROP_SINK: &str = "DROP TABLE IF EXISTS sink";

impl SinkScript {
    /// `columns`: the query's output columns; `sql`: the query in `dialect`.
    pub fn new(sink: &Sink, columns: &[String], dialect: Dialect, sql: &str) -> Self {
        let insert = if sink.listed {
            format!("INSERT INTO sink ({}) {sql}", columns.join(", "))
        } else {
            format!("INSERT INTO sink {sql}")
        };
        let mut read = columns.to_vec();
        if sink.listed {
            read.push(SINK_EXTRA.to_owned());
        }
        SinkScript {
            create: create_table_defaulting(
                dialect,
                "sink",
                &sink.declared,
                sink.default
                    .as_ref()
                    .map(|e| (SINK_EXTRA, Render::new(dialect, false).expr_text(e))),
            ),
            insert,
            read: format!("SELECT {} FROM sink", read.join(", ")),
        }
    }
}

/// The answer of `read` after `create` and `insert` succeeded, else the first error; the time
/// taken is the INSERT's and the read's.
fn write_then_read(
    mut execute: impl FnMut(&str) -> Answer,
    script: &SinkScript,
    insert: impl FnOnce() -> Answer,
) -> Answer {
    let created = execute(&script.create);
    let answer = if created.rows.is_err() {
        created
    } else {
        let inserted = insert();
        if inserted.rows.is_err() {
            inserted
        } else {
            let mut read = execute(&script.read);
            read.took += inserted.took;
            read
        }
    };
    execute(DROP_SINK);
    answer
}

/// A write on `w`, a keyed copy of one table: the statements, in one dialect.
pub struct WriteScript {
    pub create: String,
    pub copy: String,
    pub write: String,
    pub read: String,
}

impl WriteScript {
    pub fn new(write: &Write, dialect: Dialect, sql: &str) -> Self {
        WriteScript {
            create: create_table(dialect, "w", &write.columns),
            copy: format!("INSERT INTO w SELECT * FROM {}", write.source),
            write: sql.to_owned(),
            read: "SELECT * FROM w".to_owned(),
        }
    }
}

/// The rows the write returned, each after a cell "returned", then the table's rows after it,
/// each after "stored"; else the first error. The time taken is the write's.
fn write_and_read(
    mut execute: impl FnMut(&str) -> Answer,
    script: &WriteScript,
    write: impl FnOnce() -> Answer,
) -> Answer {
    let mut answer = execute(&script.create);
    if answer.rows.is_ok() {
        answer = execute(&script.copy);
    }
    if answer.rows.is_ok() {
        let written = write();
        answer = match written.rows {
            Err(error) => Answer {
                rows: Err(error),
                ..written
            },
            Ok(returned) => {
                let read = execute(&script.read);
                let tagged = |tag: &str, rows: Rows| {
                    rows.into_iter().map({
                        let tag = tag.to_owned();
                        move |mut row| {
                            row.insert(0, Cell::Text(tag.clone()));
                            row
                        }
                    })
                };
                Answer {
                    rows: read.rows.map(|stored| {
                        tagged("returned", returned)
                            .chain(tagged("stored", stored))
                            .collect()
                    }),
                    took: written.took,
                    columns: written.columns,
                }
            }
        };
    }
    execute(DROP_WRITTEN);
    answer
}

/// Each engine drops `w` after reading it, whatever happened.
const DROP_WRITTEN: &str = "DROP TABLE IF EXISTS w";

// --- SQLite ---

pub struct Sqlite(rusqlite::Connection);

impl Sqlite {
    pub fn load(db: &Db) -> Result<Self, String> {
        let connection = rusqlite::Connection::open_in_memory().map_err(|e| e.to_string())?;
        let sqlite = Sqlite(connection);
        for statement in load_script(db, Dialect::Sqlite) {
            sqlite
                .0
                .execute_batch(&statement)
                .map_err(|e| format!("{statement}: {e}"))?;
        }
        Ok(sqlite)
    }

    pub fn write_then_read(&self, script: &SinkScript) -> Answer {
        write_then_read(|sql| self.run(sql), script, || self.run(&script.insert))
    }

    pub fn write_and_read(&self, script: &WriteScript) -> Answer {
        write_and_read(|sql| self.run(sql), script, || self.run(&script.write))
    }

    pub fn run(&self, sql: &str) -> Answer {
        let started = Instant::now();
        let rows = (|| {
            let mut statement = self.0.prepare(sql).map_err(|e| e.to_string())?;
            let width = statement.column_count();
            let mut rows = statement.query([]).map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(|e| e.to_string())? {
                let mut cells = Vec::with_capacity(width);
                for i in 0..width {
                    use rusqlite::types::ValueRef;
                    cells.push(match row.get_ref(i).map_err(|e| e.to_string())? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(n) => Cell::Int(i128::from(n)),
                        ValueRef::Real(x) => Cell::Num(x),
                        ValueRef::Text(text) => Cell::Text(String::from_utf8_lossy(text).into()),
                        ValueRef::Blob(bytes) => Cell::Text(format!("{bytes:?}")),
                    });
                }
                out.push(cells);
            }
            Ok(out)
        })();
        Answer {
            rows,
            took: started.elapsed(),
            columns: Vec::new(),
        }
    }
}

// --- PostgreSQL ---

pub struct Postgres {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Postgres {
    pub fn connect(url: &str) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            Ok::<_, String>(client)
        })?;
        Ok(Self { runtime, client })
    }

    /// Replaces whatever the last database left with `db`.
    pub fn load(&mut self, db: &Db) -> Result<(), String> {
        let mut script = vec![
            "DROP SCHEMA IF EXISTS judge CASCADE".to_owned(),
            "CREATE SCHEMA judge".to_owned(),
            "SET search_path TO judge".to_owned(),
        ];
        script.extend(load_script(db, Dialect::Postgres));
        self.runtime.block_on(async {
            for statement in &script {
                self.client
                    .batch_execute(statement)
                    .await
                    .map_err(|e| format!("{statement}: {}", error_text(&e)))?;
            }
            Ok(())
        })
    }

    pub fn write_and_read(&mut self, script: &WriteScript) -> Answer {
        let this = std::cell::RefCell::new(self);
        write_and_read(
            |sql| this.borrow_mut().run(sql),
            script,
            || this.borrow_mut().run(&script.write),
        )
    }

    pub fn write_then_read(&mut self, script: &SinkScript) -> Answer {
        let insert = script.insert.clone();
        let this = std::cell::RefCell::new(self);
        write_then_read(
            |sql| this.borrow_mut().run(sql),
            script,
            || this.borrow_mut().run(&insert),
        )
    }

    pub fn run(&mut self, sql: &str) -> Answer {
        let started = Instant::now();
        let rows = (|| {
            use tokio_postgres::types::Type;
            let types: Vec<Type> = self
                .runtime
                .block_on(self.client.prepare(sql))
                .map_err(|e| error_text(&e))?
                .columns()
                .iter()
                .map(|c| c.type_().clone())
                .collect();
            let cell = |text: &Option<String>, ty: &Type| match text.as_deref() {
                None => Cell::Null,
                Some(text) => match *ty {
                    Type::INT2 | Type::INT4 | Type::INT8 => numeric_text(text),
                    // SQLite has no boolean: its TRUE is the integer 1, and so are the others'.
                    Type::BOOL => Cell::Int(i128::from(text == "t")),
                    // A FLOAT or NUMERIC column holds fractions even where a value prints
                    // whole (`CASE … THEN id ELSE 0.5 END` is 12).
                    Type::FLOAT4 | Type::FLOAT8 => fraction_text(text),
                    Type::NUMERIC => decimal_text(text),
                    _ => Cell::Text(text.into()),
                },
            };
            Ok(self
                .texts(sql)?
                .iter()
                .map(|row| row.iter().zip(&types).map(|(t, ty)| cell(t, ty)).collect())
                .collect())
        })();
        Answer {
            rows,
            took: started.elapsed(),
            columns: Vec::new(),
        }
    }

    /// A query's rows as PostgreSQL prints them (NULL as None): `run` types them into cells; the
    /// stored-decimal check compares them as text (a NUMERIC's scale, which cells do not keep).
    pub fn texts(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        self.runtime.block_on(async {
            let messages = self
                .client
                .simple_query(sql)
                .await
                .map_err(|e| error_text(&e))?;
            Ok(messages
                .into_iter()
                .filter_map(|message| match message {
                    tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_owned))
                            .collect(),
                    ),
                    _ => None,
                })
                .collect())
        })
    }
}

fn error_text(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => error.to_string(),
    }
}

// --- idbsql ---

pub struct Idbsql(pub Engine);

impl Idbsql {
    pub fn load(db: &Db) -> Result<Self, String> {
        let mut engine = Engine::default();
        for statement in load_script(db, Dialect::Idbsql) {
            engine
                .query(&statement, &[])
                .map_err(|e| format!("{statement}: {}", e.message))?;
        }
        Ok(Idbsql(engine))
    }

    pub fn write_and_read(&mut self, script: &WriteScript, params: &Params) -> Answer {
        let this = std::cell::RefCell::new(self);
        let none = Params::new();
        write_and_read(
            |sql| this.borrow_mut().run(sql, &none),
            script,
            || this.borrow_mut().run(&script.write, params),
        )
    }

    pub fn write_then_read(&mut self, script: &SinkScript, params: &Params) -> Answer {
        let this = std::cell::RefCell::new(self);
        let none = Params::new();
        write_then_read(
            |sql| this.borrow_mut().run(sql, &none),
            script,
            || this.borrow_mut().run(&script.insert, params),
        )
    }

    /// Runs a query; a panic is reported as `Err("panic: …")` (the judge is built to unwind).
    pub fn run(&mut self, sql: &str, params: &Params) -> Answer {
        let started = Instant::now();
        let mut columns = Vec::new();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.query(sql, params)));
        let rows = match outcome {
            Err(panic) => Err(format!(
                "panic: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default()
            )),
            Ok(Err(error)) => Err(format!("{}: {}", error.code.as_str(), error.message)),
            Ok(Ok(out)) => Ok({
                columns = out.columns;
                out.rows
                    .into_iter()
                    .map(|row| row.into_iter().map(cell).collect())
                    .collect()
            }),
        };
        Answer {
            rows,
            took: started.elapsed(),
            columns,
        }
    }

    /// A query's rows as text (NULL as None), a DECIMAL with the scale it keeps.
    pub fn texts(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let out = self
            .0
            .query(sql, &[])
            .map_err(|e| format!("{}: {}", e.code.as_str(), e.message))?;
        Ok(out
            .rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|value| match value {
                        Value::Null => None,
                        Value::Decimal(d) => Some(d.to_string()),
                        other => Some(format!("{other:?}")),
                    })
                    .collect()
            })
            .collect())
    }
}

fn cell(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::I8(n) => Cell::Int(n.into()),
        Value::I16(n) => Cell::Int(n.into()),
        Value::I32(n) => Cell::Int(n.into()),
        Value::I64(n) => Cell::Int(n.into()),
        Value::I128(n) => Cell::Int(n),
        Value::U8(n) => Cell::Int(n.into()),
        Value::U16(n) => Cell::Int(n.into()),
        Value::U32(n) => Cell::Int(n.into()),
        Value::U64(n) => Cell::Int(n.into()),
        Value::U128(n) => i128::try_from(n)
            .map(Cell::Int)
            .unwrap_or(Cell::Num(n as f64)),
        Value::F32(x) => Cell::Num(x.into()),
        Value::F64(x) => Cell::Num(x),
        Value::Decimal(d) => decimal_text(&d.to_string()),
        Value::Str(text) => Cell::Text(text),
        Value::Bool(b) => Cell::Int(i128::from(b)),
        Value::Date(date) => Cell::Text(date.to_string()),
        Value::Timestamp(timestamp) => Cell::Text(timestamp.to_string()),
        other => Cell::Text(format!("{other:?}")),
    }
}

/// The DDL and INSERTs that load `db` in `dialect`, the view last.
pub fn load_script(db: &Db, dialect: Dialect) -> Vec<String> {
    let mut script = Vec::new();
    for table in &db.tables {
        script.push(create_table(dialect, &table.name, &table.columns));
        for row in &table.rows {
            let mut values = String::new();
            for (i, lit) in row.iter().enumerate() {
                if i > 0 {
                    values.push_str(", ");
                }
                match (dialect, lit) {
                    // Every other row's decimals as plain literals (`-4.50`), which idbsql must
                    // store exactly, scale and all, as it stores `CAST('-4.50' AS DECIMAL)`.
                    (Dialect::Idbsql, Lit::Dec(text)) if matches!(row[0], Lit::Int(id) if id % 2 == 1) => {
                        values.push_str(text)
                    }
                    _ => Render::new(dialect, false).lit(&mut values, lit),
                }
            }
            script.push(format!("INSERT INTO {} VALUES ({values})", table.name));
        }
    }
    for view in &db.views {
        let (sql, _) = Render::new(dialect, false).query_text(&view.query);
        script.push(format!("CREATE VIEW {} AS {sql}", view.name));
    }
    script
}
