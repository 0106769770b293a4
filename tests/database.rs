//! The database over in-memory persistence: durability, revert on failed writes, reopen from
//! log and checkpoint, error codes, and every value type round-tripping through the codec.

use {
    futures::executor::block_on,
    gluesql_core::data::Value,
    idbsql::{
        database::CheckpointPolicy,
        persist::memory::{MemoryDisk, MemoryPersistence},
        Database, ErrorCode,
    },
    std::{cell::RefCell, rc::Rc},
};

fn disk() -> Rc<RefCell<MemoryDisk>> {
    Rc::new(RefCell::new(MemoryDisk::default()))
}

fn open(disk: &Rc<RefCell<MemoryDisk>>) -> Database<MemoryPersistence> {
    block_on(Database::open(MemoryPersistence::shared(Rc::clone(disk)))).expect("open")
}

fn rows(db: &mut Database<MemoryPersistence>, sql: &str) -> Vec<Vec<Value>> {
    block_on(db.query(sql, &[])).expect(sql).rows
}

#[test]
fn committed_rows_survive_reopen() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');")).unwrap();
    block_on(db.query("UPDATE t SET name = 'z' WHERE id = $1", &[Value::I64(2)])).unwrap();
    db.close();
    let mut db = open(&disk);
    assert_eq!(
        rows(&mut db, "SELECT id, name FROM t ORDER BY id"),
        vec![
            vec![Value::I64(1), Value::Str("a".into())],
            vec![Value::I64(2), Value::Str("z".into())]
        ]
    );
}

#[test]
fn one_log_entry_per_commit_and_none_for_reads_or_rollbacks() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec("CREATE TABLE t (x INT); INSERT INTO t VALUES (1);")).unwrap();
    assert_eq!(disk.borrow().log.len(), 2);
    rows(&mut db, "SELECT * FROM t");
    block_on(db.exec("BEGIN; INSERT INTO t VALUES (2); ROLLBACK;")).unwrap();
    assert_eq!(disk.borrow().log.len(), 2);
    block_on(db.exec("BEGIN; INSERT INTO t VALUES (3); INSERT INTO t VALUES (4); COMMIT;"))
        .unwrap();
    assert_eq!(disk.borrow().log.len(), 3);
}

#[test]
fn failed_write_reverts_memory_and_reports_storage() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);"))
        .unwrap();
    disk.borrow_mut().fail_next_write = true;
    let error = block_on(db.query("INSERT INTO t VALUES (2)", &[])).unwrap_err();
    assert_eq!(error.code, ErrorCode::Storage);
    assert_eq!(rows(&mut db, "SELECT id FROM t"), vec![vec![Value::I64(1)]]);
    disk.borrow_mut().fail_next_write = true;
    let error =
        block_on(db.exec("BEGIN; DELETE FROM t; CREATE TABLE u (x INT); COMMIT;")).unwrap_err();
    assert_eq!(error.code, ErrorCode::Storage);
    assert_eq!(rows(&mut db, "SELECT id FROM t"), vec![vec![Value::I64(1)]]);
    assert!(block_on(db.query("SELECT * FROM u", &[])).is_err());
    // The database keeps working after the failure.
    block_on(db.query("INSERT INTO t VALUES (3)", &[])).unwrap();
    db.close();
    let mut db = open(&disk);
    assert_eq!(rows(&mut db, "SELECT id FROM t").len(), 2);
}

#[test]
fn failed_statement_changes_nothing_even_inside_a_transaction() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);"))
        .unwrap();
    block_on(db.query("BEGIN", &[])).unwrap();
    block_on(db.query("INSERT INTO t VALUES (2)", &[])).unwrap();
    let error = block_on(db.query("INSERT INTO t VALUES (3), (1)", &[])).unwrap_err();
    assert_eq!(error.code, ErrorCode::Constraint);
    block_on(db.query("COMMIT", &[])).unwrap();
    assert_eq!(
        rows(&mut db, "SELECT id FROM t ORDER BY id"),
        vec![vec![Value::I64(1)], vec![Value::I64(2)]]
    );
}

#[test]
fn error_codes() {
    let mut db = open(&disk());
    let code = |db: &mut Database<MemoryPersistence>, sql: &str| {
        block_on(db.query(sql, &[])).unwrap_err().code
    };
    assert_eq!(code(&mut db, "SELEC 1"), ErrorCode::Parse);
    assert_eq!(
        code(&mut db, "SELECT 1; SELECT 2"),
        ErrorCode::MultipleStatements
    );
    block_on(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")).unwrap();
    assert_eq!(
        code(&mut db, "INSERT INTO t VALUES (1, NULL)"),
        ErrorCode::Constraint
    );
    block_on(db.query("INSERT INTO t VALUES (1, 'x')", &[])).unwrap();
    assert_eq!(
        code(&mut db, "INSERT INTO t VALUES (1, 'y')"),
        ErrorCode::Constraint
    );
    assert_eq!(code(&mut db, "SELECT * FROM missing"), ErrorCode::Execute);
    assert_eq!(
        block_on(db.query("SELECT * FROM t WHERE id = $2", &[Value::I64(1)]))
            .unwrap_err()
            .code,
        ErrorCode::Plan
    );
    block_on(db.query("BEGIN", &[])).unwrap();
    assert_eq!(code(&mut db, "BEGIN"), ErrorCode::Execute);
    db.close();
    assert_eq!(code(&mut db, "SELECT 1"), ErrorCode::Closed);
}

#[test]
fn checkpoint_then_log_tail_reopens_to_the_same_state() {
    let disk = disk();
    let policy = CheckpointPolicy {
        max_log_entries: 10,
        max_log_bytes: usize::MAX,
        max_fold_rows: usize::MAX,
        rows_per_page: 7,
    };
    let mut db = block_on(Database::open_with_policy(
        MemoryPersistence::shared(Rc::clone(&disk)),
        policy,
    ))
    .unwrap();
    block_on(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INT); CREATE INDEX t_n ON t (n); CREATE TABLE nokey (x TEXT);")).unwrap();
    for i in 0..25 {
        block_on(db.query(
            "INSERT INTO t VALUES ($1, $2)",
            &[Value::I64(i), Value::I64(i % 5)],
        ))
        .unwrap();
        block_on(db.query(
            "INSERT INTO nokey VALUES ($1)",
            &[Value::Str(format!("r{i}"))],
        ))
        .unwrap();
    }
    block_on(db.query("DELETE FROM t WHERE id < 3", &[])).unwrap();
    assert!(disk.borrow().checkpoints_written >= 4);
    assert!(disk.borrow().log.len() < 10);
    assert!(disk.borrow().checkpoint.len() > 2, "checkpoint is chunked");
    let expected = rows(&mut db, "SELECT id, n FROM t WHERE n = 4 ORDER BY id");
    let expected_nokey = rows(&mut db, "SELECT x FROM nokey");
    db.close();
    let mut db = open(&disk);
    assert_eq!(
        rows(&mut db, "SELECT id, n FROM t WHERE n = 4 ORDER BY id"),
        expected
    );
    assert_eq!(
        rows(&mut db, "SELECT x FROM nokey"),
        expected_nokey,
        "insertion order of key-less rows"
    );
    assert_eq!(
        rows(&mut db, "SELECT COUNT(*) FROM t"),
        vec![vec![Value::I64(22)]]
    );
}

#[test]
fn every_value_type_round_trips_through_the_log() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec(include_str!("fixtures/every_value_type.sql"))).unwrap();
    let before = rows(&mut db, "SELECT * FROM v");
    db.close();
    let mut db = open(&disk);
    assert_eq!(rows(&mut db, "SELECT * FROM v"), before);
    // And through a checkpoint.
    block_on(db.checkpoint()).unwrap();
    db.close();
    let mut db = open(&disk);
    assert_eq!(rows(&mut db, "SELECT * FROM v"), before);
}

#[test]
fn newer_format_is_refused_with_a_clear_error() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.query("CREATE TABLE t (x INT)", &[])).unwrap();
    db.close();
    disk.borrow_mut().log[0][0] = 200;
    let error = block_on(Database::open(MemoryPersistence::shared(Rc::clone(&disk))))
        .err()
        .unwrap();
    assert_eq!(error.code, ErrorCode::Format);
    assert!(error.message.contains("newer"), "{}", error.message);
}

#[test]
fn exec_keeps_statements_before_a_failure_and_names_the_failing_one() {
    let disk = disk();
    let mut db = open(&disk);
    let error = block_on(db.exec("CREATE TABLE t (x INT); INSERT INTO t VALUES (1); INSERT INTO nope VALUES (2); INSERT INTO t VALUES (3);")).unwrap_err();
    assert!(
        error.message.starts_with("statement 3:"),
        "{}",
        error.message
    );
    db.close();
    let mut db = open(&disk);
    assert_eq!(rows(&mut db, "SELECT x FROM t"), vec![vec![Value::I64(1)]]);
}

#[test]
fn parameters_bind_by_position_and_reject_missing_ones() {
    let mut db = open(&disk());
    block_on(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, d DATE, m MAP)")).unwrap();
    let map = Value::Map([("k".to_owned(), Value::I64(1))].into_iter().collect());
    block_on(db.query(
        "INSERT INTO t VALUES ($1, $2, $3, $4)",
        &[
            Value::I64(7),
            Value::Str("it's".into()),
            Value::Str("2024-01-02".into()),
            map.clone(),
        ],
    ))
    .unwrap();
    let out = block_on(db.query("SELECT name, m FROM t WHERE id = $1", &[Value::I64(7)])).unwrap();
    assert_eq!(out.rows, vec![vec![Value::Str("it's".into()), map]]);
    assert_eq!(out.columns, vec!["name", "m"]);
}

#[test]
fn js_style_numbers_fit_float_and_integer_columns() {
    // A JS number arrives as I64 when whole and F64 otherwise; both must work for both kinds.
    let mut db = open(&disk());
    block_on(db.exec("CREATE TABLE kv (id INTEGER PRIMARY KEY, score FLOAT)")).unwrap();
    block_on(db.query(
        "INSERT INTO kv VALUES ($1, $2)",
        &[Value::I64(1), Value::I64(0)],
    ))
    .unwrap();
    block_on(db.query(
        "INSERT INTO kv VALUES ($1, $2)",
        &[Value::I64(-2), Value::F64(-0.1)],
    ))
    .unwrap();
    block_on(db.query(
        "INSERT INTO kv VALUES ($1, $2)",
        &[Value::I64(3), Value::F64(1e300)],
    ))
    .unwrap();
    assert_eq!(
        rows(&mut db, "SELECT id, score FROM kv ORDER BY id"),
        vec![
            vec![Value::I64(-2), Value::F64(-0.1)],
            vec![Value::I64(1), Value::F64(0.0)],
            vec![Value::I64(3), Value::F64(1e300)],
        ]
    );
    let out = block_on(db.query("SELECT id FROM kv WHERE score < $1", &[Value::I64(0)])).unwrap();
    assert_eq!(out.rows, vec![vec![Value::I64(-2)]]);
}

#[test]
fn views_and_unique_indexes_survive_reopen_and_rollback() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER); \
         INSERT INTO t VALUES (1, 10), (2, 20); \
         CREATE VIEW big AS SELECT id FROM t WHERE a > 15; \
         CREATE UNIQUE INDEX t_a ON t (a);",
    ))
    .unwrap();
    block_on(db.exec("BEGIN; CREATE VIEW small AS SELECT id FROM t; DROP VIEW big; ROLLBACK;"))
        .unwrap();
    db.close();
    let mut db = open(&disk);
    assert_eq!(
        rows(&mut db, "SELECT id FROM big"),
        vec![vec![Value::I64(2)]]
    );
    assert!(block_on(db.query("SELECT * FROM small", &[])).is_err());
    let error = block_on(db.query("INSERT INTO t VALUES (3, 10)", &[])).unwrap_err();
    assert_eq!(error.code, ErrorCode::Constraint);
    // Checkpointed and reopened, the same.
    block_on(db.checkpoint()).unwrap();
    db.close();
    let mut db = open(&disk);
    assert_eq!(
        rows(&mut db, "SELECT id FROM big"),
        vec![vec![Value::I64(2)]]
    );
    let error = block_on(db.query("UPDATE t SET a = 20 WHERE id = 1", &[])).unwrap_err();
    assert_eq!(error.code, ErrorCode::Constraint);
}

#[test]
fn a_failed_script_rolls_back_the_transaction_it_opened() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec("CREATE TABLE a (x INTEGER PRIMARY KEY)")).unwrap();
    let error = block_on(db.exec(
        "INSERT INTO a VALUES (0); BEGIN; INSERT INTO a VALUES (1); INSERT INTO missing VALUES (1); COMMIT;",
    ))
    .unwrap_err();
    assert!(
        error.message.starts_with("statement 4:"),
        "{}",
        error.message
    );
    assert!(
        !db.engine().in_transaction(),
        "the script's transaction is gone"
    );
    block_on(db.query("INSERT INTO a VALUES (2)", &[])).unwrap();
    db.close();
    let mut db = open(&disk);
    assert_eq!(
        rows(&mut db, "SELECT x FROM a ORDER BY x"),
        vec![vec![Value::I64(0)], vec![Value::I64(2)]],
        "the statement before BEGIN and the later write stay; the transaction's do not"
    );
}

#[test]
fn a_failed_script_leaves_the_callers_transaction_as_it_was() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec("CREATE TABLE a (x INTEGER PRIMARY KEY)")).unwrap();
    block_on(db.query("BEGIN", &[])).unwrap();
    block_on(db.query("INSERT INTO a VALUES (10)", &[])).unwrap();
    let error =
        block_on(db.exec("INSERT INTO a VALUES (11); INSERT INTO a VALUES (10);")).unwrap_err();
    assert_eq!(error.code, ErrorCode::Constraint);
    assert!(
        db.engine().in_transaction(),
        "the caller's transaction is still open"
    );
    assert_eq!(rows(&mut db, "SELECT x FROM a"), vec![vec![Value::I64(10)]]);
    assert_eq!(disk.borrow().log.len(), 1, "nothing of it committed yet");
    block_on(db.query("COMMIT", &[])).unwrap();
    db.close();
    let mut db = open(&disk);
    assert_eq!(rows(&mut db, "SELECT x FROM a"), vec![vec![Value::I64(10)]]);
}

#[test]
fn a_committed_calls_answer_is_kept_for_its_retry() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")).unwrap();
    let inserted = block_on(db.query_call(
        "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
        &[],
        Some("000000001-x"),
    ))
    .unwrap();
    let script = block_on(db.exec_call(
        "UPDATE t SET v = 'z' WHERE id = 1; SELECT v FROM t ORDER BY id;",
        Some("000000002-y"),
    ))
    .unwrap();
    // A read commits nothing, a failed call changes nothing: neither is kept.
    block_on(db.query_call("SELECT * FROM t", &[], Some("000000003-r"))).unwrap();
    block_on(db.query_call("INSERT INTO t VALUES (1, 'dup')", &[], Some("000000004-f")))
        .unwrap_err();
    db.close();
    // A new owner of the database (here: a reopen) answers the retries from what was kept.
    let mut db = open(&disk);
    assert_eq!(
        block_on(db.call_result("000000001-x")).unwrap(),
        Some(vec![inserted])
    );
    assert_eq!(
        block_on(db.call_result("000000002-y")).unwrap(),
        Some(script)
    );
    assert_eq!(block_on(db.call_result("000000003-r")).unwrap(), None);
    assert_eq!(block_on(db.call_result("000000004-f")).unwrap(), None);
}

#[test]
fn commits_are_reported_as_events_with_the_tables_they_changed() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec("CREATE TABLE a (x INTEGER); CREATE TABLE b (y INTEGER);")).unwrap();
    db.take_events();
    block_on(db.exec("INSERT INTO a VALUES (1); INSERT INTO b VALUES (2);")).unwrap();
    block_on(db.query("SELECT * FROM a", &[])).unwrap();
    assert_eq!(
        db.take_events(),
        vec![idbsql::database::DbEvent::Committed {
            tables: vec!["a".into(), "b".into()]
        }]
    );
    assert_eq!(
        db.tables_read("SELECT * FROM a JOIN b ON a.x = b.y WHERE x IN (SELECT y FROM b)")
            .unwrap(),
        ["a", "b"]
    );
}

/// A synced database never mints a key another replica could mint too: SERIAL and IDENTITY
/// tables are refused, an integer key left out is refused, and the error points to UUID keys,
/// which work; the same holds after reopening, and for a database that starts syncing later.
#[test]
fn a_synced_database_refuses_to_mint_keys_and_points_to_uuids() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec(
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE counted (id SERIAL PRIMARY KEY, name TEXT)",
    ))
    .expect("unsynced: generated keys are fine");
    db.enable_sync().expect("enable sync");
    let error = block_on(db.query("INSERT INTO counted (name) VALUES ('a')", &[]))
        .expect_err("synced from now on");
    assert!(error.message.contains("this database syncs"), "{error}");
    drop(db);
    let mut db = block_on(Database::open_with_options(
        MemoryPersistence::shared(Rc::clone(&disk)),
        CheckpointPolicy::default(),
        true,
    ))
    .expect("open synced");
    for sql in [
        "CREATE TABLE t (id SERIAL PRIMARY KEY, name TEXT)",
        "CREATE TABLE t (id INTEGER GENERATED ALWAYS AS IDENTITY, name TEXT)",
        "INSERT INTO item (name) VALUES ('a')",
        "INSERT INTO item VALUES (NULL, 'a')",
        "INSERT INTO counted (name) VALUES ('a')",
    ] {
        let error = block_on(db.query(sql, &[])).expect_err(sql);
        assert_eq!(error.code, ErrorCode::Plan, "{sql}");
        assert!(
            error.message.contains("this database syncs"),
            "{sql}: {error}"
        );
        assert!(error.message.contains("UUID"), "{sql}: {error}");
    }
    block_on(db.exec(
        "INSERT INTO item VALUES (1, 'given');
         CREATE TABLE doc (id UUID PRIMARY KEY DEFAULT GENERATE_UUID(), name TEXT);
         INSERT INTO doc (name) VALUES ('a'), ('b')",
    ))
    .expect("keys given, or UUIDs");
    assert_eq!(
        rows(&mut db, "SELECT COUNT(DISTINCT id) FROM doc"),
        vec![vec![Value::I64(2)]]
    );
}

#[test]
fn table_constraints_and_altered_columns_survive_reopen() {
    let disk = disk();
    let mut db = open(&disk);
    block_on(db.exec(
        "CREATE TABLE public.users (id INTEGER, email TEXT NOT NULL, name TEXT, n INTEGER, \
         CONSTRAINT users_pk PRIMARY KEY (id), CONSTRAINT \"users_email_unique\" UNIQUE(\"email\")); \
         INSERT INTO users VALUES (1, 'a@x', 'A', 1); \
         ALTER TABLE users ALTER COLUMN name SET DEFAULT 'anon'; \
         ALTER TABLE users ALTER COLUMN name SET NOT NULL; \
         ALTER TABLE users ALTER COLUMN n TYPE TEXT;",
    ))
    .unwrap();
    db.close();
    let mut db = open(&disk);
    block_on(db.exec("INSERT INTO users (id, email) VALUES (2, 'b@x')")).unwrap();
    assert_eq!(
        rows(&mut db, "SELECT id, name, n FROM public.users ORDER BY id"),
        vec![
            vec![
                Value::I64(1),
                Value::Str("A".into()),
                Value::Str("1".into())
            ],
            vec![Value::I64(2), Value::Str("anon".into()), Value::Null],
        ]
    );
    let duplicate = block_on(db.exec("INSERT INTO users VALUES (3, 'a@x', 'C', NULL)"))
        .expect_err("the UNIQUE constraint survives a reopen");
    assert_eq!(duplicate.code, ErrorCode::Constraint);
    let null = block_on(db.exec("UPDATE users SET name = NULL WHERE id = 1"))
        .expect_err("NOT NULL survives a reopen");
    assert_eq!(null.code, ErrorCode::Constraint);
}

#[test]
fn expression_and_partial_indexes_survive_reopen_and_checkpoints() {
    let disk = disk();
    let policy = CheckpointPolicy {
        max_log_entries: 4,
        max_log_bytes: usize::MAX,
        max_fold_rows: usize::MAX,
        rows_per_page: 5,
    };
    let mut db = block_on(Database::open_with_policy(
        MemoryPersistence::shared(Rc::clone(&disk)),
        policy,
    ))
    .unwrap();
    block_on(db.exec(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT, age INTEGER); \
         CREATE INDEX p_lower ON p (lower(name)); \
         CREATE INDEX p_adult ON p (age) WHERE age >= 18;",
    ))
    .unwrap();
    for i in 0..20 {
        block_on(db.query(
            "INSERT INTO p VALUES ($1, $2, $3)",
            &[
                Value::I64(i),
                Value::Str(if i % 2 == 0 {
                    format!("N{i}")
                } else {
                    format!("n{i}")
                }),
                Value::I64(i * 2),
            ],
        ))
        .unwrap();
    }
    assert!(disk.borrow().checkpoints_written >= 2);
    let queries = [
        "SELECT id FROM p WHERE lower(name) = 'n4'",
        "SELECT id FROM p WHERE age >= 18 AND age < 24 ORDER BY id",
    ];
    let expected: Vec<_> = queries.iter().map(|sql| rows(&mut db, sql)).collect();
    assert_eq!(expected[0], vec![vec![Value::I64(4)]]);
    assert_eq!(expected[1].len(), 3);
    db.close();
    let mut db = open(&disk);
    for (sql, expected) in queries.iter().zip(&expected) {
        assert_eq!(&rows(&mut db, sql), expected, "{sql}");
    }
    let tables = db.tables().unwrap();
    let p = tables.iter().find(|t| t.name == "p").unwrap();
    assert_eq!(p.indexes.len(), 2, "{:?}", p.indexes);
}
