//! UNIQUE columns are checked by lookup: an INSERT or an UPDATE by key on a table with a
//! UNIQUE column reads only the rows it changes (the store's row counter), refuses exactly the
//! duplicates, and an UPDATE that keeps a row's own value passes (GlueSQL's scan refused it).

use {
    gluesql_core::data::{Key, Value},
    idbsql::{
        engine::Engine,
        protocol::{ChangeSet, SchemaChange, TableChange},
        store::MemoryStore,
    },
};

const ROWS: i64 = 10_000;

fn engine() -> Engine {
    let mut engine = Engine::new(MemoryStore::new());
    engine
        .query(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE, n INTEGER UNIQUE, name TEXT)",
            &[],
        )
        .unwrap();
    let rows: Vec<String> = (0..ROWS)
        .map(|i| format!("({i}, 'u{i}@x', {i}, 'name {i}')"))
        .collect();
    engine
        .query(&format!("INSERT INTO users VALUES {}", rows.join(",")), &[])
        .unwrap();
    engine
}

/// Runs `sql`; returns its outcome (rows affected or the error) and the rows it read.
fn run(engine: &mut Engine, sql: &str, params: &[Value]) -> (Result<usize, String>, u64) {
    let before = engine.store().rows_read();
    let result = engine
        .query(sql, params)
        .map(|out| out.row_count)
        .map_err(|e| e.to_string());
    (result, engine.store().rows_read() - before)
}

fn emails(engine: &mut Engine, ids: &str) -> Vec<Vec<Value>> {
    engine
        .query(
            &format!("SELECT id, email, n FROM users WHERE id IN ({ids}) ORDER BY id"),
            &[],
        )
        .unwrap()
        .rows
}

#[test]
fn inserts_and_updates_check_unique_columns_by_lookup() {
    let mut engine = engine();
    let (result, read) = run(
        &mut engine,
        "INSERT INTO users VALUES ($1, $2, $3, 'new')",
        &[
            Value::I64(ROWS),
            Value::Str("fresh@x".into()),
            Value::I64(ROWS),
        ],
    );
    assert_eq!(result, Ok(1));
    assert_eq!(read, 0, "an INSERT reads no stored row");

    let (result, read) = run(
        &mut engine,
        "UPDATE users SET email = $1 WHERE id = $2",
        &[Value::Str("changed@x".into()), Value::I64(7)],
    );
    assert_eq!(result, Ok(1));
    assert_eq!(read, 1, "an UPDATE by key reads its one row");

    let (result, read) = run(
        &mut engine,
        "UPDATE users SET email = 'u8@x', name = 'same email' WHERE id = 8",
        &[],
    );
    assert_eq!(result, Ok(1), "a row may keep its own unique value");
    assert_eq!(read, 1);
    assert_eq!(
        emails(&mut engine, "7, 8"),
        vec![
            vec![Value::I64(7), Value::Str("changed@x".into()), Value::I64(7)],
            vec![Value::I64(8), Value::Str("u8@x".into()), Value::I64(8)],
        ]
    );
}

#[test]
fn duplicates_are_refused_and_change_nothing() {
    let mut engine = engine();
    let refused = [
        (
            "INSERT INTO users VALUES (20000, 'u5@x', 20000, 'dup email')",
            "duplicate entry 'u5@x' for unique column 'email'",
        ),
        (
            "INSERT INTO users VALUES (20000, 'new@x', 5, 'dup n')",
            "duplicate entry '5' for unique column 'n'",
        ),
        (
            "INSERT INTO users VALUES (5, 'new@x', 20000, 'dup key')",
            "duplicate entry '5' for unique column 'id'",
        ),
        (
            "INSERT INTO users VALUES (20000, 'a@x', 20000, ''), (20001, 'a@x', 20001, '')",
            "duplicate entry 'a@x' for unique column 'email'",
        ),
        (
            "INSERT INTO users VALUES (20000, 'b@x', 20000, ''), (20001, 'u9@x', 20001, '')",
            "duplicate entry 'u9@x' for unique column 'email'",
        ),
        (
            "UPDATE users SET email = 'u3@x' WHERE id = 4",
            "duplicate entry 'u3@x' for unique column 'email'",
        ),
        (
            "UPDATE users SET n = 3 WHERE id IN (1, 2)",
            "duplicate entry '3' for unique column 'n'",
        ),
        (
            "UPDATE users SET email = 'same@x' WHERE id IN (1, 2)",
            "duplicate entry 'same@x' for unique column 'email'",
        ),
        // A subquery scans the table inside the UPDATE's fetch: still told apart.
        (
            "UPDATE users SET email = 'u2@x' WHERE id = (SELECT MIN(id) FROM users WHERE n > 0)",
            "duplicate entry 'u2@x' for unique column 'email'",
        ),
    ];
    for (sql, error) in refused {
        let (result, _) = run(&mut engine, sql, &[]);
        let message = result.expect_err(sql);
        assert!(message.contains(error), "{sql}: {message}");
        let count = engine
            .query("SELECT COUNT(*) FROM users", &[])
            .unwrap()
            .rows;
        assert_eq!(count, vec![vec![Value::I64(ROWS)]], "{sql} changed nothing");
        assert_eq!(
            emails(&mut engine, "1, 2, 4, 5"),
            (1..=5)
                .filter(|i| *i != 3)
                .map(|i| vec![Value::I64(i), Value::Str(format!("u{i}@x")), Value::I64(i)])
                .collect::<Vec<_>>(),
            "{sql} changed nothing"
        );
    }
    // NULL is never a duplicate; a value freed by an UPDATE or DELETE can be taken.
    for sql in [
        "INSERT INTO users (id, name) VALUES (30000, 'no email'), (30001, 'no email either')",
        "UPDATE users SET email = 'moved@x' WHERE id = 1",
        "INSERT INTO users VALUES (30002, 'u1@x', 30002, 'took u1')",
        "DELETE FROM users WHERE id = 2",
        "UPDATE users SET email = 'u2@x', n = 2 WHERE id = 3",
        "UPDATE users SET email = (SELECT email FROM users WHERE id = 4) WHERE id = 4",
    ] {
        let (result, _) = run(&mut engine, sql, &[]);
        assert!(result.is_ok(), "{sql}: {result:?}");
    }
    let (result, _) = run(
        &mut engine,
        "INSERT INTO users VALUES (30003, 'moved@x', 1, '')",
        &[],
    );
    assert!(result.is_err(), "the moved value is held");
}

#[test]
fn a_rolled_back_write_frees_its_values() {
    let mut engine = engine();
    engine.query("BEGIN", &[]).unwrap();
    engine
        .query("INSERT INTO users VALUES (50000, 'tx@x', 50000, '')", &[])
        .unwrap();
    engine
        .query("UPDATE users SET email = 'tx2@x' WHERE id = 1", &[])
        .unwrap();
    engine.query("ROLLBACK", &[]).unwrap();
    let (result, _) = run(
        &mut engine,
        "INSERT INTO users VALUES (50001, 'tx@x', 50001, '')",
        &[],
    );
    assert_eq!(result, Ok(1));
    let (result, _) = run(
        &mut engine,
        "INSERT INTO users VALUES (50002, 'u1@x', 50002, '')",
        &[],
    );
    assert!(result.is_err(), "row 1 holds its email again");
    let (result, _) = run(
        &mut engine,
        "INSERT INTO users VALUES (50003, 'tx2@x', 50003, '')",
        &[],
    );
    assert_eq!(result, Ok(1));
}

/// A remote change set is not validated (its producer did); if it brings two rows with one
/// value, the check falls back to GlueSQL's scan, which still refuses a third.
#[test]
fn duplicates_brought_by_a_remote_change_set_fall_back_to_the_scan() {
    let mut engine = engine();
    let row = |id: i64, email: &str| {
        (
            Key::I64(id),
            Some(vec![
                Value::I64(id),
                Value::Str(email.into()),
                Value::I64(id),
                Value::Str("remote".into()),
            ]),
        )
    };
    engine
        .store_mut()
        .apply_change_set(ChangeSet {
            tables: vec![TableChange {
                name: "users".into(),
                schema: SchemaChange::Unchanged,
                rows: vec![row(60000, "twice@x"), row(60001, "twice@x")],
            }],
            functions: Vec::new(),
        })
        .unwrap();
    let (result, read) = run(
        &mut engine,
        "INSERT INTO users VALUES (60002, 'twice@x', 60002, '')",
        &[],
    );
    assert!(result.is_err(), "{result:?}");
    assert!(read > 0, "GlueSQL's scan validated");
    let (result, _) = run(
        &mut engine,
        "INSERT INTO users VALUES (60003, 'once@x', 60003, '')",
        &[],
    );
    assert_eq!(result, Ok(1));
}
