use {
    super::*,
    crate::protocol::{SchemaChange, TableChange},
    gluesql_core::{
        prelude::Glue,
        store::{Store, Transaction},
    },
};

fn run(glue: &mut Glue<MemoryStore>, sql: &str) {
    glue.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[test]
fn each_autocommit_statement_yields_one_change_set_with_final_rows() {
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    run(&mut glue, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    let change_sets = glue.storage.take_change_sets();
    assert_eq!(change_sets.len(), 2);
    assert!(matches!(
        change_sets[0].tables[0].schema,
        SchemaChange::Create { .. }
    ));
    assert_eq!(change_sets[1].tables[0].rows.len(), 2);
    glue.storage.confirm_persisted();

    run(&mut glue, "BEGIN");
    run(&mut glue, "UPDATE t SET v = 'x' WHERE id = 1");
    run(&mut glue, "UPDATE t SET v = 'y' WHERE id = 1");
    run(&mut glue, "DELETE FROM t WHERE id = 2");
    run(&mut glue, "COMMIT");
    let change_sets = glue.storage.take_change_sets();
    assert_eq!(
        change_sets,
        vec![ChangeSet {
            tables: vec![TableChange {
                name: "t".into(),
                schema: SchemaChange::Unchanged,
                rows: vec![
                    (
                        Key::I64(1),
                        Some(vec![Value::I64(1), Value::Str("y".into())])
                    ),
                    (Key::I64(2), None),
                ],
            }],
            functions: vec![],
        }]
    );
}

#[test]
fn rolled_back_work_yields_nothing() {
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    glue.storage.take_change_sets();
    run(&mut glue, "BEGIN");
    run(&mut glue, "INSERT INTO t VALUES (1)");
    run(&mut glue, "DROP TABLE t");
    run(&mut glue, "ROLLBACK");
    assert!(glue.storage.take_change_sets().is_empty());
    assert!(glue.storage.fetch_schema("t").unwrap().is_some());
}

#[test]
fn reverting_unpersisted_commits_restores_rows_schema_and_indexes() {
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY, n INT)");
    run(&mut glue, "CREATE INDEX t_n ON t (n)");
    run(&mut glue, "INSERT INTO t VALUES (1, 10), (2, 20)");
    glue.storage.take_change_sets();
    glue.storage.confirm_persisted();

    run(&mut glue, "UPDATE t SET n = 99 WHERE id = 1");
    run(&mut glue, "ALTER TABLE t ADD COLUMN extra INT DEFAULT 5");
    run(&mut glue, "CREATE TABLE u (x INT)");
    glue.storage.revert_unpersisted();

    assert!(glue.storage.fetch_schema("u").unwrap().is_none());
    let schema = glue.storage.fetch_schema("t").unwrap().unwrap();
    assert_eq!(schema.column_defs.unwrap().len(), 2);
    let found = glue.execute("SELECT id FROM t WHERE n = 10").unwrap();
    assert_eq!(
        found[0],
        gluesql_core::prelude::Payload::Select {
            labels: vec!["id".into()],
            rows: vec![vec![Value::I64(1)]]
        }
    );
    let found = glue.execute("SELECT id FROM t WHERE n = 99").unwrap();
    assert!(
        matches!(&found[0], gluesql_core::prelude::Payload::Select { rows, .. } if rows.is_empty())
    );
}

#[test]
fn savepoint_undoes_only_the_failed_statement() {
    let mut store = MemoryStore::new();
    store.begin(false).unwrap();
    let mut glue = Glue::new(store);
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    run(&mut glue, "INSERT INTO t VALUES (1)");
    let savepoint = glue.storage.savepoint().unwrap();
    run(&mut glue, "INSERT INTO t VALUES (2)");
    glue.storage.rollback_to(savepoint);
    run(&mut glue, "COMMIT");
    let rows = glue.storage.scan_data("t").unwrap().count();
    assert_eq!(rows, 1);
}

#[test]
fn a_named_savepoint_rolled_back_leaves_its_writes_out_of_the_change_set() {
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    run(&mut glue, "INSERT INTO t VALUES (1, 'a')");
    glue.storage.take_change_sets();
    glue.storage.confirm_persisted();
    run(&mut glue, "BEGIN");
    run(&mut glue, "INSERT INTO t VALUES (2, 'kept')");
    glue.storage.create_savepoint("s".to_owned()).unwrap();
    run(&mut glue, "INSERT INTO t VALUES (3, 'undone')");
    run(&mut glue, "UPDATE t SET v = 'undone' WHERE id = 1");
    glue.storage.create_savepoint("inner".to_owned()).unwrap();
    run(&mut glue, "DELETE FROM t WHERE id = 2");
    glue.storage.rollback_to_savepoint("s").unwrap();
    assert_eq!(
        glue.storage.release_savepoint("inner"),
        Err(SavepointError::Unknown("inner".to_owned()))
    );
    run(&mut glue, "COMMIT");
    let change_sets = glue.storage.take_change_sets();
    assert_eq!(change_sets.len(), 1);
    let rows = &change_sets[0].tables[0].rows;
    assert_eq!(
        rows.len(),
        1,
        "only the row written before the savepoint: {rows:?}"
    );
    assert_eq!(
        glue.storage.create_savepoint("after".to_owned()),
        Err(SavepointError::NoTransaction)
    );
}

#[test]
fn the_rows_a_statement_wrote_come_from_the_undo_log_once_each() {
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    run(&mut glue, "BEGIN");
    let before = glue.storage.savepoint().unwrap();
    run(&mut glue, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    run(&mut glue, "UPDATE t SET v = 'c' WHERE id = 1");
    let new = glue
        .storage
        .rows_written_since(&before, "t", Written::New, <[Value]>::to_vec);
    assert_eq!(
        new,
        vec![
            vec![Value::I64(1), Value::Str("c".to_owned())],
            vec![Value::I64(2), Value::Str("b".to_owned())],
        ]
    );
    let deleting = glue.storage.savepoint().unwrap();
    run(&mut glue, "DELETE FROM t WHERE id = 2");
    let old = glue
        .storage
        .rows_written_since(&deleting, "t", Written::Old, <[Value]>::to_vec);
    assert_eq!(old, vec![vec![Value::I64(2), Value::Str("b".to_owned())]]);
    assert!(glue
        .storage
        .rows_written_since(&deleting, "t", Written::New, <[Value]>::to_vec)
        .is_empty());
}

#[test]
fn the_rows_a_statement_wrote_come_in_the_order_written_whatever_their_keys() {
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    run(
        &mut glue,
        "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')",
    );
    let new = |glue: &Glue<MemoryStore>, since| {
        glue.storage
            .rows_written_since(since, "t", Written::New, |row| row[0].clone())
    };
    run(&mut glue, "BEGIN");
    // Ascending with gaps: each row found walking on, or looked for again past a gap.
    let before = glue.storage.savepoint().unwrap();
    run(&mut glue, "UPDATE t SET v = 'x' WHERE id IN (2, 5)");
    assert_eq!(new(&glue, &before), vec![Value::I64(2), Value::I64(5)]);
    // Descending: the walk starts over keyed by a set, the order written kept.
    let before = glue.storage.savepoint().unwrap();
    run(
        &mut glue,
        "INSERT INTO t VALUES (9, 'i'), (8, 'h'), (7, 'g')",
    );
    assert_eq!(
        new(&glue, &before),
        vec![Value::I64(9), Value::I64(8), Value::I64(7)]
    );
    // A row written twice, then others after it: once, where first written.
    let before = glue.storage.savepoint().unwrap();
    run(&mut glue, "UPDATE t SET v = 'y' WHERE id = 3");
    run(&mut glue, "UPDATE t SET v = 'z' WHERE id >= 3 AND id <= 4");
    assert_eq!(new(&glue, &before), vec![Value::I64(3), Value::I64(4)]);
    let old = glue
        .storage
        .rows_written_since(&before, "t", Written::Old, |row| row[1].clone());
    assert_eq!(
        old,
        vec![Value::Str("c".to_owned()), Value::Str("d".to_owned())],
        "each row as it was before the first write"
    );
}

#[test]
fn keys_of_keyless_rows_keep_insertion_order_and_never_repeat() {
    let mut minter = RowKeyMinter::default();
    let keys: Vec<Key> = (0..10_000).map(|_| minter.mint()).collect();
    assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
    let mut other = RowKeyMinter::default();
    let other_key = other.mint();
    assert!(!keys.contains(&other_key));
}

#[test]
fn snapshot_rebuilds_an_equal_store() {
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY, n INT)");
    run(&mut glue, "CREATE INDEX t_n ON t (n)");
    run(&mut glue, "CREATE TABLE k (s TEXT)");
    run(&mut glue, "CREATE FUNCTION twice(x INT) RETURN x * 2");
    for i in 0..50 {
        run(&mut glue, &format!("INSERT INTO t VALUES ({i}, {})", i % 7));
        run(&mut glue, &format!("INSERT INTO k VALUES ('s{i}')"));
    }
    let mut copy = MemoryStore::new();
    for chunk in glue.storage.snapshot(16) {
        copy.apply_change_set(chunk).unwrap();
    }
    let mut copy = Glue::new(copy);
    for sql in [
        "SELECT id FROM t WHERE n = 3 ORDER BY id",
        "SELECT s FROM k",
        "SELECT twice(n) FROM t WHERE id = 6",
    ] {
        assert_eq!(
            glue.execute(sql).unwrap(),
            copy.execute(sql).unwrap(),
            "{sql}"
        );
    }
}

#[test]
fn inverse_change_sets_restore_the_state_before() {
    let dump = |glue: &mut Glue<MemoryStore>| {
        let mut out = Vec::new();
        for table in ["t", "u"] {
            out.push(format!(
                "{:?}",
                glue.execute(format!("SELECT * FROM {table}")).ok()
            ));
        }
        out
    };
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY, n INT)");
    run(&mut glue, "CREATE INDEX t_n ON t (n)");
    run(&mut glue, "INSERT INTO t VALUES (1, 1), (2, 2)");
    glue.storage.take_change_sets();
    glue.storage.confirm_persisted();
    let before = dump(&mut glue);

    // Changes made on another replica, each applied here with its inverse recorded.
    let mut other = Glue::new(MemoryStore::new());
    for chunk in glue.storage.snapshot(100) {
        other.storage.apply_change_set(chunk).unwrap();
    }
    run(&mut other, "UPDATE t SET n = 9 WHERE id = 1");
    run(&mut other, "DELETE FROM t WHERE id = 2");
    run(
        &mut other,
        "ALTER TABLE t ADD COLUMN extra TEXT DEFAULT 'x'",
    );
    run(&mut other, "CREATE TABLE u (x INT)");
    run(&mut other, "DROP TABLE t");
    let mut inverses = Vec::new();
    for change_set in other.storage.take_change_sets() {
        inverses.push(
            glue.storage
                .apply_change_set_with_inverse(change_set)
                .unwrap(),
        );
    }
    assert_ne!(dump(&mut glue), before);
    for inverse in inverses.into_iter().rev() {
        glue.storage.apply_change_set(inverse).unwrap();
    }
    assert_eq!(dump(&mut glue), before);
    let found = glue.execute("SELECT id FROM t WHERE n = 2").unwrap();
    assert_eq!(
        found[0],
        gluesql_core::prelude::Payload::Select {
            labels: vec!["id".into()],
            rows: vec![vec![Value::I64(2)]]
        },
        "indexes follow"
    );
}

#[test]
fn primary_key_checks_hold_past_and_below_the_last_key() {
    // fetch_data answers keys above the last one without a search: the last key itself and
    // keys below it must still be found.
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    run(&mut glue, "INSERT INTO t VALUES (1, 'a'), (5, 'e')");
    for duplicate in [
        "INSERT INTO t VALUES (5, 'again')",
        "INSERT INTO t VALUES (1, 'again')",
    ] {
        assert!(glue.execute(duplicate).is_err(), "{duplicate} was accepted");
    }
    run(&mut glue, "INSERT INTO t VALUES (3, 'c'), (9, 'i')");
    assert!(glue
        .execute("INSERT INTO t VALUES (10, 'j'), (10, 'k')")
        .is_err());
    let keys: Vec<Key> = glue.storage.tables["t"].rows.keys().cloned().collect();
    assert_eq!(keys, [1, 3, 5, 9].map(Key::I64));
}

#[test]
fn a_commit_lists_each_written_key_once_in_key_order() {
    let mut glue = Glue::new(MemoryStore::new());
    run(&mut glue, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    glue.storage.take_change_sets();
    glue.storage.confirm_persisted();
    run(&mut glue, "BEGIN");
    run(
        &mut glue,
        "INSERT INTO t VALUES (3, 'c'), (1, 'a'), (2, 'b')",
    );
    run(&mut glue, "UPDATE t SET v = 'x' WHERE id = 3");
    run(&mut glue, "DELETE FROM t WHERE id = 1");
    run(&mut glue, "COMMIT");
    let change_sets = glue.storage.take_change_sets();
    let rows = &change_sets[0].tables[0].rows;
    let keys: Vec<&Key> = rows.iter().map(|(key, _)| key).collect();
    assert_eq!(keys, [&Key::I64(1), &Key::I64(2), &Key::I64(3)]);
    assert_eq!(rows[0].1, None, "the deleted row");
    assert_eq!(
        rows[2].1.as_ref().map(|row| row[1].clone()),
        Some(Value::Str("x".into()))
    );
}
