//! UPDATE and DELETE narrowed by primary key or index visit only the rows they can change
//! (the store's row counter), and change exactly what a full scan would: every statement runs
//! on a keyed, indexed table and on a plain copy, and the two must stay equal.

use {gluesql_core::data::Value, idbsql::engine::Engine};

const ROWS: i64 = 10_000;

fn load(engine: &mut Engine, table: &str, keyed: bool) {
    let key = if keyed { " PRIMARY KEY" } else { "" };
    engine
        .query(
            &format!(
                "CREATE TABLE {table} (id INTEGER{key}, grp INTEGER NULL, name TEXT, score FLOAT)"
            ),
            &[],
        )
        .unwrap();
    let rows: Vec<String> = (0..ROWS)
        .map(|i| {
            let grp = if i % 97 == 0 {
                "NULL".to_owned()
            } else {
                (i % 50).to_string()
            };
            format!("({i}, {grp}, 'n{i}', {})", i as f64 / 10.0)
        })
        .collect();
    engine
        .query(
            &format!("INSERT INTO {table} VALUES {}", rows.join(",")),
            &[],
        )
        .unwrap();
    if keyed {
        engine
            .query(&format!("CREATE INDEX {table}_grp ON {table} (grp)"), &[])
            .unwrap();
    }
}

fn contents(engine: &mut Engine, table: &str) -> Vec<Vec<Value>> {
    engine
        .query(
            &format!("SELECT id, grp, name, score FROM {table} ORDER BY id"),
            &[],
        )
        .unwrap()
        .rows
}

/// Runs `sql` (with `{t}` for the table) on both tables; returns rows read on the keyed one.
fn both(engine: &mut Engine, sql: &str, params: &[Value]) -> u64 {
    let before = engine.store().rows_read();
    let keyed = engine.query(&sql.replace("{t}", "keyed"), params);
    let read = engine.store().rows_read() - before;
    let plain = engine.query(&sql.replace("{t}", "plain"), params);
    match (keyed, plain) {
        (Ok(a), Ok(b)) => assert_eq!(a.row_count, b.row_count, "{sql}: rows affected"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{sql}: error"),
        (a, b) => panic!("{sql}: keyed {a:?}, plain {b:?}"),
    }
    assert_eq!(
        contents(engine, "keyed"),
        contents(engine, "plain"),
        "{sql}: tables differ afterwards"
    );
    read
}

fn setup() -> Engine {
    let mut engine = Engine::default();
    load(&mut engine, "keyed", true);
    load(&mut engine, "plain", false);
    engine
}

#[test]
fn updates_and_deletes_by_key_or_index_read_only_their_rows() {
    let mut engine = setup();
    let cases: &[(&str, &[Value], u64)] = &[
        ("UPDATE {t} SET score = 1.5 WHERE id = 5", &[], 1),
        (
            "UPDATE {t} SET score = $1 WHERE id = $2",
            &[Value::F64(2.5), Value::I64(6)],
            1,
        ),
        ("UPDATE {t} SET name = 'x' WHERE 7 = id", &[], 1),
        ("UPDATE {t} SET name = 'y' WHERE id = -3", &[], 0),
        ("UPDATE {t} SET name = 'z' WHERE id = 99999", &[], 0),
        (
            "UPDATE {t} SET score = 0 WHERE id IN (1, 2, 2, 3, 99999)",
            &[],
            3,
        ),
        ("UPDATE {t} SET score = 9 WHERE id = 10 OR id = 11", &[], 2),
        (
            "UPDATE {t} SET score = 8 WHERE id = 12 AND score > 100",
            &[],
            1,
        ),
        ("UPDATE {t} SET score = 7 WHERE (id = 13)", &[], 1),
        ("UPDATE {t} SET score = 6 WHERE {t}.id = 14", &[], 1),
        ("DELETE FROM {t} WHERE id = 20", &[], 1),
        (
            "DELETE FROM {t} WHERE id IN ($1, $2)",
            &[Value::I64(21), Value::I64(22)],
            2,
        ),
        // Through the index on grp: 10,000 / 50 rows per value, less the NULLs.
        ("UPDATE {t} SET name = 'g' WHERE grp = 7", &[], 200),
        (
            "UPDATE {t} SET name = 'h' WHERE grp = $1",
            &[Value::I64(8)],
            200,
        ),
        ("DELETE FROM {t} WHERE grp = 9 AND id < 5000", &[], 200),
        (
            "UPDATE {t} SET name = 'b' WHERE grp BETWEEN 10 AND 11",
            &[],
            400,
        ),
        ("UPDATE {t} SET name = 'r' WHERE grp > 47", &[], 400),
        ("UPDATE {t} SET name = 'i' WHERE grp IN (12, 13)", &[], 400),
        ("UPDATE {t} SET name = 'n' WHERE grp = NULL", &[], 0),
    ];
    for (sql, params, most) in cases {
        let read = both(&mut engine, sql, params);
        assert!(
            read <= *most,
            "{sql}: read {read} rows, expected at most {most}"
        );
    }
}

#[test]
fn what_no_key_or_index_narrows_still_changes_the_right_rows() {
    let mut engine = setup();
    let cases: &[(&str, &[Value])] = &[
        // Other types against the integer key: whatever GlueSQL's comparison says, both agree.
        ("UPDATE {t} SET name = 'a' WHERE id = '5'", &[]),
        ("UPDATE {t} SET name = 'b' WHERE id = 6.0", &[]),
        ("UPDATE {t} SET name = 'c' WHERE id = 7.5", &[]),
        (
            "UPDATE {t} SET name = 'd' WHERE id = $1",
            &[Value::F64(8.0)],
        ),
        (
            "UPDATE {t} SET name = 'e' WHERE id = $1",
            &[Value::Str("9".into())],
        ),
        ("UPDATE {t} SET name = 'f' WHERE id = NULL", &[]),
        ("UPDATE {t} SET name = 'g' WHERE id + 0 = 10", &[]),
        (
            "UPDATE {t} SET name = 'h' WHERE id = 11 OR score > 999",
            &[],
        ),
        (
            "UPDATE {t} SET name = 'i' WHERE NOT id = 12 AND id < 20",
            &[],
        ),
        ("UPDATE {t} SET name = 'j' WHERE id NOT IN (1, 2)", &[]),
        ("UPDATE {t} SET score = score + 1 WHERE grp = 3.5", &[]),
        ("UPDATE {t} SET score = score + 1 WHERE grp = '4'", &[]),
        ("UPDATE {t} SET score = score + 1 WHERE grp IS NULL", &[]),
        ("DELETE FROM {t} WHERE id = (SELECT MAX(id) FROM {t})", &[]),
        ("DELETE FROM {t} WHERE grp = 5 OR name = 'n5'", &[]),
    ];
    for (sql, params) in cases {
        both(&mut engine, sql, params);
    }
}

#[test]
fn a_hint_never_outlives_its_statement() {
    let mut engine = setup();
    // Fails before it scans (the key cannot be updated): the next full scan must see all rows.
    assert!(engine
        .query("UPDATE keyed SET id = 1 WHERE id = 2", &[])
        .is_err());
    let count = engine
        .query("SELECT COUNT(*) FROM keyed", &[])
        .unwrap()
        .rows;
    assert_eq!(count, vec![vec![Value::I64(ROWS)]]);
    let all = engine
        .query("UPDATE keyed SET name = name WHERE score >= 0", &[])
        .unwrap();
    assert_eq!(all.row_count, ROWS as usize);
}

/// UPDATE … FROM and DELETE … USING keep the key path: the join is planned from the WHERE
/// clause, so a target row is read by key (and written by key): the 10,000 rows are never
/// scanned, only the three labels and the rows named.
#[test]
fn update_from_and_delete_using_by_key_read_only_their_rows() {
    let mut engine = Engine::default();
    load(&mut engine, "keyed", true);
    for sql in [
        "CREATE TABLE labels (id INTEGER PRIMARY KEY, label TEXT)",
        "INSERT INTO labels VALUES (5, 'five'), (6, 'six'), (7, 'seven')",
    ] {
        engine.query(sql, &[]).unwrap();
    }
    let cases: &[(&str, usize, u64)] = &[
        (
            "UPDATE keyed SET name = l.label FROM labels l WHERE l.id = keyed.id AND keyed.id = 5",
            1,
            5,
        ),
        (
            "UPDATE keyed AS k SET name = l.label, score = k.score + 1 FROM labels AS l \
             WHERE k.id = l.id AND k.id = 6",
            1,
            5,
        ),
        (
            "DELETE FROM keyed USING labels WHERE labels.id = keyed.id AND keyed.id = 7",
            1,
            5,
        ),
    ];
    for (sql, affected, most) in cases {
        let before = engine.store().rows_read();
        let out = engine.query(sql, &[]).unwrap();
        let read = engine.store().rows_read() - before;
        assert_eq!(out.row_count, *affected, "{sql}");
        assert!(
            read <= *most,
            "{sql}: read {read} rows, expected at most {most}"
        );
    }
    let rows = engine
        .query(
            "SELECT id, name, score FROM keyed WHERE id BETWEEN 5 AND 7 ORDER BY id",
            &[],
        )
        .unwrap()
        .rows;
    assert_eq!(
        rows,
        vec![
            vec![Value::I64(5), Value::Str("five".into()), Value::F64(0.5)],
            vec![Value::I64(6), Value::Str("six".into()), Value::F64(1.6)],
        ]
    );
}
