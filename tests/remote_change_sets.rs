//! A seeded fuzzer of what a server takes from its clients: whole change sets, made by running
//! random SQL on a writer replica and then, often, damaged the way a hostile client would
//! (unknown tables, schemas and defaults GlueSQL panics on, wrong rows, huge values); foreign
//! keys and CHECKs among the definitions, so pushes the server's foreign-key check refuses too. Each goes
//! through `accept_remote`, the server's one check-and-apply step, against a reference model
//! of what was accepted:
//! - nothing panics;
//! - a refused change set leaves the replica exactly as it was;
//! - an accepted one changes the replica as the model says, passes the checks every replica
//!   runs on what a server sends, and applies on a replica that follows the log;
//! - replaying the log from empty gives the same state.

use {
    gluesql_core::{
        ast::{DataType, Expr, Function, Literal, UnaryOperator},
        chrono::NaiveDate,
        data::{CustomFunction, Interval, Key, Schema, SchemaIndex, SchemaIndexOrd, Value},
    },
    idbsql::{
        engine::Engine,
        protocol::{decode_change_set, encode_change_set, ChangeSet, SchemaChange, TableChange},
        store::{check_definitions, MemoryStore, Refusal},
    },
    std::{collections::BTreeMap, panic::AssertUnwindSafe},
};

/// Cases run (change sets that reached the server) across all seeds, at least.
const MIN_CASES: usize = 10_000;
const SEEDS: u64 = 20;
const ATTEMPTS_PER_SEED: usize = 1_350;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

/// Every table's schema and rows, and every function: what two replicas must agree on.
type State = (
    BTreeMap<String, (Schema, Vec<(Key, Vec<Value>)>)>,
    BTreeMap<String, CustomFunction>,
);

fn state_of(store: &MemoryStore) -> State {
    let tables = store
        .tables()
        .map(|table| {
            let rows = table
                .rows
                .iter()
                .map(|(key, row)| (key.clone(), row.clone()))
                .collect();
            (
                table.schema.table_name.clone(),
                (table.schema.clone(), rows),
            )
        })
        .collect();
    let functions = store
        .functions()
        .map(|f| (f.func_name.to_uppercase(), f.clone()))
        .collect();
    (tables, functions)
}

/// The reference: an accepted change set's plain meaning, nothing else.
#[derive(Default)]
struct Model {
    tables: BTreeMap<String, (Schema, BTreeMap<Key, Vec<Value>>)>,
    functions: BTreeMap<String, CustomFunction>,
}

impl Model {
    fn apply(&mut self, change_set: &ChangeSet) {
        for change in &change_set.tables {
            match &change.schema {
                SchemaChange::Drop => {
                    self.tables.remove(&change.name);
                    continue;
                }
                SchemaChange::Create { schema, .. } => {
                    self.tables
                        .insert(change.name.clone(), ((**schema).clone(), BTreeMap::new()));
                }
                SchemaChange::Alter(schema) => {
                    self.tables.get_mut(&change.name).expect("altered table").0 =
                        (**schema).clone();
                }
                SchemaChange::Unchanged => {}
            }
            let rows = &mut self.tables.get_mut(&change.name).expect("table").1;
            for (key, row) in &change.rows {
                match row {
                    Some(row) => rows.insert(key.clone(), row.clone()),
                    None => rows.remove(key),
                };
            }
        }
        for change in &change_set.functions {
            match &change.function {
                Some(function) => self.functions.insert(change.name.clone(), function.clone()),
                None => self.functions.remove(&change.name),
            };
        }
    }

    fn state(&self) -> State {
        let tables = self
            .tables
            .iter()
            .map(|(name, (schema, rows))| {
                let rows = rows.iter().map(|(k, r)| (k.clone(), r.clone())).collect();
                (name.clone(), (schema.clone(), rows))
            })
            .collect();
        (tables, self.functions.clone())
    }
}

const TYPES: &[&str] = &[
    "INT", "FLOAT", "DECIMAL", "TEXT", "BOOLEAN", "DATE", "INTERVAL",
];

fn literal(rng: &mut Rng, data_type: &str, large: bool) -> String {
    if rng.percent(10) {
        return "NULL".into();
    }
    match data_type {
        "INT" => (rng.below(2000) as i64 - 1000).to_string(),
        "FLOAT" => format!("{}.5", rng.below(100)),
        "DECIMAL" => format!("'{}.{:02}'", rng.below(1000), rng.below(100)),
        "TEXT" if large => format!("'{}'", "é".repeat(40_000)),
        "TEXT" => format!(
            "'{}'",
            rng.pick(&["a", "b'c", "é", "", "x y", "\"q\""])
                .replace('\'', "''")
        ),
        "BOOLEAN" => rng.pick(&["TRUE", "FALSE"]).to_string(),
        "DATE" => format!(
            "DATE '{}-0{}-1{}'",
            1900 + rng.below(200),
            1 + rng.below(9),
            rng.below(9)
        ),
        _ => format!("INTERVAL '{}' DAY", rng.below(400)),
    }
}

/// One random statement for the writer, given its tables.
fn statement(rng: &mut Rng, writer: &Engine) -> String {
    let tables: Vec<(String, Vec<(String, String)>)> = writer
        .store()
        .tables()
        .filter(|t| !t.schema.table_name.starts_with("__idbsql_"))
        .map(|t| {
            let columns = t
                .schema
                .column_defs
                .iter()
                .flatten()
                .map(|c| (c.name.clone(), c.data_type.to_string()))
                .collect();
            (t.schema.table_name.clone(), columns)
        })
        .collect();
    let name = format!("t{}", rng.below(4));
    if tables.is_empty() || rng.percent(12) {
        let mut columns = vec!["id INT PRIMARY KEY".to_owned()];
        // A reference to another table's key, whose values below meet its rows often.
        if !tables.is_empty() && rng.percent(40) {
            let (parent, _) = rng.pick(&tables).clone();
            columns.push(format!(
                "p INT REFERENCES {parent} (id) ON DELETE {}",
                rng.pick(&["CASCADE", "SET NULL", "NO ACTION"])
            ));
        }
        for i in 0..1 + rng.below(4) {
            let data_type = *rng.pick(TYPES);
            let mut column = format!("c{i} {data_type}");
            if rng.percent(20) && data_type == "TEXT" {
                column.push_str(" UNIQUE");
            }
            if rng.percent(25) {
                column = format!("{column} DEFAULT {}", literal(rng, data_type, false));
            }
            columns.push(column);
        }
        return format!("CREATE TABLE {name} ({})", columns.join(", "));
    }
    let (table, columns) = rng.pick(&tables).clone();
    let value_for = |rng: &mut Rng, i: usize, large: bool| {
        if i == 0 || columns[i].0 == "p" {
            (rng.below(60) as i64).to_string()
        } else {
            literal(rng, columns[i].1.as_str(), large)
        }
    };
    match rng.below(12) {
        0..=4 => {
            let large = rng.percent(2);
            let rows = if rng.percent(2) {
                600
            } else {
                1 + rng.below(4)
            };
            let values: Vec<String> = (0..rows)
                .map(|n| {
                    let mut row: Vec<String> = (0..columns.len())
                        .map(|i| value_for(rng, i, large))
                        .collect();
                    if rows > 10 {
                        row[0] = (1000 + n).to_string();
                    }
                    format!("({})", row.join(", "))
                })
                .collect();
            format!("INSERT INTO {table} VALUES {}", values.join(", "))
        }
        5 if columns.len() > 1 => {
            let i = 1 + rng.below(columns.len() - 1);
            format!(
                "UPDATE {table} SET {} = {} WHERE id < {}",
                columns[i].0,
                value_for(rng, i, false),
                rng.below(60)
            )
        }
        6 => format!("DELETE FROM {table} WHERE id > {}", rng.below(60)),
        7 => {
            let data_type = *rng.pick(TYPES);
            format!(
                "ALTER TABLE {table} ADD COLUMN a{} {data_type} DEFAULT {}",
                rng.below(100),
                literal(rng, data_type, false)
            )
        }
        8 if columns.len() > 2 && rng.percent(50) => {
            format!(
                "ALTER TABLE {table} DROP COLUMN {}",
                columns.last().unwrap().0
            )
        }
        // ALTER COLUMN: a new default, NULL rule or type travels as the table's schema.
        8 if columns.len() > 1 => {
            let i = 1 + rng.below(columns.len() - 1);
            let column = &columns[i].0;
            let change = match rng.below(5) {
                0 => format!("SET DEFAULT {}", literal(rng, columns[i].1.as_str(), false)),
                1 => "DROP DEFAULT".to_owned(),
                2 => "SET NOT NULL".to_owned(),
                3 => "DROP NOT NULL".to_owned(),
                _ => "TYPE TEXT".to_owned(),
            };
            format!("ALTER TABLE {table} ALTER COLUMN {column} {change}")
        }
        9 if columns.len() > 1 => {
            let column = &columns[1 + rng.below(columns.len() - 1)].0;
            match rng.below(5) {
                0 => format!("CREATE INDEX i{} ON {table} ({column})", rng.below(5)),
                // Foreign keys and CHECKs travel as rows of the objects table; cascades as
                // rows of their tables, and the server checks every key after each push.
                3 => {
                    let (parent, _) = rng.pick(&tables).clone();
                    format!(
                        "ALTER TABLE {table} ADD CONSTRAINT fk{} FOREIGN KEY ({column}) REFERENCES {parent} (id) ON DELETE {}",
                        rng.below(3),
                        rng.pick(&["CASCADE", "SET NULL", "NO ACTION", "RESTRICT", "SET DEFAULT"])
                    )
                }
                4 => format!(
                    "ALTER TABLE {table} ADD CONSTRAINT ck{} CHECK ({column} IS NULL OR id >= {})",
                    rng.below(3),
                    rng.below(10)
                ),
                1 => format!(
                    "CREATE VIEW v{} AS SELECT id, {column} FROM {table}",
                    rng.below(3)
                ),
                // A partial one: every replica evaluates its predicate on the rows it stores.
                _ if rng.percent(30) => format!(
                    "CREATE UNIQUE INDEX u{} ON {table} ({column}) WHERE {column} IS NOT NULL AND id > {}",
                    rng.below(3),
                    rng.below(30)
                ),
                _ => format!(
                    "CREATE UNIQUE INDEX u{} ON {table} ({column})",
                    rng.below(3)
                ),
            }
        }
        10 => format!(
            "CREATE FUNCTION f{}(x INT) RETURN {}",
            rng.below(3),
            rng.pick(&["x + 1", "LPAD(CAST(x AS TEXT), 5, '0')", "REPEAT('ab', x)"])
        ),
        // Tables are dropped less often than rows are deleted: deletes are what set off
        // foreign keys' cascades.
        _ if rng.percent(60) => format!("DELETE FROM {table} WHERE id > {}", rng.below(60)),
        _ => format!("DROP TABLE {table}"),
    }
}

fn number(n: i64) -> Expr {
    Expr::Literal(Literal::Number(n.into()))
}

fn text(s: &str) -> Expr {
    Expr::Literal(Literal::QuotedString(s.into()))
}

fn call(function: Function) -> Expr {
    Expr::Function(Box::new(function))
}

/// Expressions a hostile writer puts where a replica evaluates them.
fn hostile_expr(rng: &mut Rng) -> Expr {
    let date = |value: &str| Expr::TypedString {
        data_type: DataType::Date,
        value: value.into(),
    };
    match rng.below(11) {
        0 => call(Function::Lpad {
            expr: text("x"),
            size: number(10),
            fill: Some(text("")),
        }),
        1 => call(Function::Lpad {
            expr: text("é"),
            size: number(1),
            fill: None,
        }),
        2 => call(Function::Repeat {
            expr: text("x"),
            num: number(if rng.percent(50) { -1 } else { i64::MAX }),
        }),
        3 => call(Function::Substr {
            expr: text("é"),
            start: number(2),
            count: None,
        }),
        4 => call(Function::Format {
            expr: date("2020-01-01"),
            format: {
                let patterns = ["%Q", "%H", "%z", "%#z"];
                text(patterns[rng.below(patterns.len())])
            },
        }),
        5 => call(Function::LastDay(date("+262142-12-01"))),
        6 => Expr::BinaryOp {
            left: Box::new(date("2020-01-01")),
            op: gluesql_core::ast::BinaryOperator::Plus,
            right: Box::new(Expr::Interval {
                expr: Box::new(text("99999999")),
                leading_field: Some(gluesql_core::ast::DateTimeField::Day),
                last_field: None,
            }),
        },
        7 => call(Function::Abs(Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: Box::new(number(i64::MAX)),
        })),
        8 => Expr::Identifier("x\" + 1; DROP TABLE t0; --".into()),
        9 => call(Function::Cast {
            expr: text("abc"),
            data_type: DataType::Int,
        }),
        _ => call(Function::Splice {
            list_data: text("[1, 2, 3]"),
            begin_index: number(2),
            end_index: number(1),
            values: None,
        }),
    }
}

fn schema_of(change: &mut TableChange) -> Option<&mut Schema> {
    match &mut change.schema {
        SchemaChange::Create { schema, .. } | SchemaChange::Alter(schema) => Some(schema),
        _ => None,
    }
}

/// Damages a change set as a hostile client could; returns what was done.
fn damage(rng: &mut Rng, change_set: &mut ChangeSet) -> &'static str {
    let Some(index) = (!change_set.tables.is_empty()).then(|| rng.below(change_set.tables.len()))
    else {
        return "none";
    };
    // A statement that wrote several tables (a cascade) sent with one of them left out: the
    // rest may leave a reference dangling.
    if change_set.tables.len() > 1 && rng.percent(60) {
        // The tables a cascade wrote come after the one the statement wrote.
        let last = change_set.tables.len() - 1;
        change_set.tables[last].rows.clear();
        return "left out a table's rows";
    }
    let change = &mut change_set.tables[index];
    match rng.below(14) {
        0 => {
            change.name = format!("ghost{}", rng.below(3));
            "renamed the table"
        }
        1 => {
            change.schema = SchemaChange::Unchanged;
            "dropped the schema change"
        }
        2 => {
            let name = change.name.clone();
            change_set.tables.push(TableChange {
                name: if rng.percent(50) {
                    name
                } else {
                    "unknown".into()
                },
                schema: SchemaChange::Unchanged,
                rows: Vec::new(),
            });
            "appended an Unchanged entry"
        }
        3 => {
            let name = change.name.clone();
            change_set.tables.insert(
                0,
                TableChange {
                    name,
                    schema: SchemaChange::Drop,
                    rows: Vec::new(),
                },
            );
            "dropped the table first"
        }
        4 | 5 => match change.rows.iter_mut().find_map(|(_, row)| row.as_mut()) {
            Some(row) => {
                match rng.below(4) {
                    0 => {
                        row.pop();
                    }
                    1 => row.push(Value::I64(1)),
                    2 => {
                        let i = rng.below(row.len());
                        row[i] = Value::Str("not of this type".into());
                    }
                    _ => {
                        let i = rng.below(row.len());
                        row[i] = if rng.percent(50) {
                            Value::Date(NaiveDate::from_ymd_opt(200_000, 1, 1).unwrap())
                        } else {
                            Value::Interval(Interval::Microsecond(i64::MAX))
                        };
                    }
                }
                "damaged a row"
            }
            None => "none",
        },
        6 => match change.rows.first_mut() {
            Some((key, _)) => {
                *key = Key::I64(rng.below(1000) as i64 + 5000);
                "filed a row under another key"
            }
            None => "none",
        },
        7..=9 => match schema_of(change) {
            Some(schema) => {
                let expr = hostile_expr(rng);
                match rng.below(3) {
                    0 => {
                        if let Some(column) = schema.column_defs.iter_mut().flatten().last() {
                            column.default = Some(expr);
                        }
                        "put a hostile DEFAULT"
                    }
                    1 => {
                        // Half the time it reads a column, as an index expression must: a
                        // partial index's CASE, evaluated (guarded) on every row it keeps.
                        let column = schema
                            .column_defs
                            .iter()
                            .flatten()
                            .next()
                            .map(|c| c.name.clone());
                        let expr = match column {
                            Some(column) if rng.percent(50) => Expr::Case {
                                operand: None,
                                when_then: vec![(
                                    Expr::IsNotNull(Box::new(Expr::Identifier(column))),
                                    expr,
                                )],
                                else_result: None,
                            },
                            _ => expr,
                        };
                        schema.indexes.push(SchemaIndex {
                            name: format!("evil{}", rng.below(3)),
                            expr,
                            order: SchemaIndexOrd::Both,
                            created: Default::default(),
                        });
                        "put a hostile index"
                    }
                    _ => {
                        schema.engine = Some("x; DROP TABLE t0".into());
                        "put a hostile ENGINE"
                    }
                }
            }
            None => "none",
        },
        10 => {
            let reserved = rng.below(3) == 2;
            if reserved && schema_of(change).is_some() {
                change.name = "__idbsql_mine".into();
            }
            match schema_of(change) {
                Some(schema) => {
                    if reserved {
                        schema.table_name = "__idbsql_mine".into();
                    } else if rng.percent(50) {
                        schema.table_name = "other".into();
                    } else if let Some(columns) = schema.column_defs.as_mut() {
                        let first = columns[0].name.clone();
                        if let Some(last) = columns.last_mut() {
                            last.name = first;
                        }
                    }
                    "broke the schema"
                }
                None => "none",
            }
        }
        11 => {
            change_set.functions.push(idbsql::protocol::FunctionChange {
                name: "EVIL".into(),
                function: Some(CustomFunction {
                    func_name: if rng.percent(50) { "evil" } else { "other" }.into(),
                    args: Vec::new(),
                    body: hostile_expr(rng),
                }),
            });
            "added a hostile function"
        }
        12 => {
            if change.name == "__idbsql_objects" {
                // A second statement, or a view whose dates leave chrono's range.
                let definition = if rng.percent(50) {
                    "CREATE VIEW v0 AS SELECT 1; DROP TABLE t0"
                } else {
                    "CREATE VIEW v0 AS SELECT DATE '2020-01-01' + INTERVAL '36000000' DAY \
                     + INTERVAL '36000000' DAY + INTERVAL '36000000' DAY AS x"
                };
                for (key, row) in change.rows.iter_mut() {
                    if let Some(row) = row {
                        *key = Key::Str("view:v0".into());
                        row[0] = Value::Str("view:v0".into());
                        row[1] = Value::Str("view".into());
                        row[2] = Value::Null;
                        row[3] = Value::Str("v0".into());
                        row[4] = Value::Str(definition.into());
                    }
                }
                "planted a view"
            } else {
                "none"
            }
        }
        _ => {
            let big: Vec<(Key, Option<Vec<Value>>)> =
                change.rows.iter().cycle().take(2000).cloned().collect();
            if !big.is_empty() {
                change.rows = big;
            }
            "repeated rows"
        }
    }
}

#[derive(Default)]
struct Counts {
    cases: usize,
    accepted: usize,
    refused: usize,
    /// Refused by the server's foreign-key check after applying (a dangling reference).
    dangling: usize,
    damaged: BTreeMap<&'static str, usize>,
}

/// What a replica does with definitions it received: inserts that take every DEFAULT, calls of
/// every function, a read of every view. Errors are fine; a panic would crash a browser tab.
fn exercise(replica: &mut Engine) -> Result<(), String> {
    let tables: Vec<String> = replica
        .store()
        .tables()
        .map(|t| t.schema.table_name.clone())
        .filter(|name| !name.starts_with("__idbsql_"))
        .collect();
    let functions: Vec<String> = replica
        .store()
        .functions()
        .map(|f| f.func_name.clone())
        .collect();
    let mut statements: Vec<String> = tables
        .iter()
        .flat_map(|t| {
            [
                format!("INSERT INTO {t} (id) VALUES (987654)"),
                format!("SELECT * FROM {t}"),
            ]
        })
        .collect();
    statements.extend(functions.iter().map(|f| format!("SELECT {f}(1)")));
    statements.extend((0..3).map(|i| format!("SELECT * FROM v{i}")));
    for sql in statements {
        let outcome =
            std::panic::catch_unwind(AssertUnwindSafe(|| replica.query(&sql, &[]).map(|_| ())));
        replica.store_mut().take_change_sets();
        replica.store_mut().revert_unpersisted();
        if outcome.is_err() {
            return Err(sql);
        }
    }
    Ok(())
}

fn run_seed(seed: u64, counts: &mut Counts) {
    let mut rng = Rng(seed);
    let mut writer = Engine::default();
    let mut server = MemoryStore::new();
    let mut follower = Engine::default();
    let mut model = Model::default();
    let mut log: Vec<ChangeSet> = Vec::new();
    for attempt in 0..ATTEMPTS_PER_SEED {
        let sql = statement(&mut rng, &writer);
        let made = writer.query(&sql, &[]);
        let mut change_sets = writer.store_mut().take_change_sets();
        // The writer only proposes: the server's answer decides what it holds.
        writer.store_mut().revert_unpersisted();
        if made.is_err() || change_sets.len() != 1 {
            continue;
        }
        let mut change_set = change_sets.remove(0);
        let damaged = if rng.percent(45) {
            damage(&mut rng, &mut change_set)
        } else {
            "none"
        };
        // Over the wire: what cannot be encoded cannot be sent.
        let Ok(bytes) = encode_change_set(&change_set) else {
            continue;
        };
        let change_set = decode_change_set(&bytes).expect("a change set decodes as encoded");
        counts.cases += 1;
        *counts.damaged.entry(damaged).or_default() += 1;
        let context = || format!("seed {seed}, attempt {attempt}: {sql} ({damaged})");
        let before = state_of(&server);
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| {
            server.accept_remote(change_set.clone())
        }))
        .unwrap_or_else(|_| panic!("the server panicked: {}", context()));
        match answer {
            Ok((accepted, _inverse)) => {
                check_definitions(&accepted).unwrap_or_else(|reason| {
                    panic!(
                        "replicas would refuse what the server accepted ({reason}): {}",
                        context()
                    )
                });
                model.apply(&accepted);
                let defines = !accepted.functions.is_empty()
                    || accepted.tables.iter().any(|t| {
                        t.schema != SchemaChange::Unchanged || t.name == "__idbsql_objects"
                    });
                follower
                    .store_mut()
                    .apply_change_set(accepted.clone())
                    .unwrap_or_else(|e| panic!("a follower cannot apply it ({e}): {}", context()));
                if defines {
                    if let Err(sql) = exercise(&mut follower) {
                        panic!("a replica panicked on {sql} after accepting: {}", context());
                    }
                }
                writer
                    .store_mut()
                    .apply_change_set(accepted.clone())
                    .expect("the writer applies it");
                log.push(accepted);
                counts.accepted += 1;
            }
            Err(Refusal::Invalid(reason)) => {
                counts.refused += 1;
                if reason.contains("foreign key constraint") {
                    counts.dangling += 1;
                }
                assert!(
                    state_of(&server) == before,
                    "a refusal changed the replica: {}",
                    context()
                );
            }
            Err(Refusal::Failed(error)) => {
                panic!(
                    "the check accepted what does not apply ({error}): {}",
                    context()
                )
            }
        }
        let expected = model.state();
        assert!(
            state_of(&server) == expected,
            "the server's replica is not the model's: {}",
            context()
        );
        assert!(
            state_of(follower.store()) == expected,
            "a follower is not the model's: {}",
            context()
        );
        if attempt % 200 == 199 {
            let mut replayed = MemoryStore::new();
            for change_set in &log {
                replayed.apply_change_set(change_set.clone()).unwrap();
            }
            assert!(
                state_of(&replayed) == expected,
                "the log does not replay: {}",
                context()
            );
        }
    }
}

#[test]
fn change_sets_from_hostile_clients_leave_the_server_as_the_model_says() {
    let mut counts = Counts::default();
    for seed in 1..=SEEDS {
        run_seed(seed, &mut counts);
    }
    println!(
        "remote change sets: {} cases over {SEEDS} seeds, {} accepted, {} refused ({} leaving a dangling reference); damage: {:?}",
        counts.cases, counts.accepted, counts.refused, counts.dangling, counts.damaged
    );
    assert!(counts.cases >= MIN_CASES, "only {} cases ran", counts.cases);
    // Both sides of the check are exercised, not one.
    assert!(counts.accepted * 4 > counts.cases && counts.refused * 10 > counts.cases);
    assert!(counts.dangling > 0, "no push met the foreign-key check");
}
