//! Browser tests (`wasm-pack test --headless --chrome`): the database over real IndexedDB in
//! headless Chromium — reopen, checkpoints, rollbacks, failed writes, every value type.
#![cfg(target_arch = "wasm32")]

use {
    gluesql_core::data::Value,
    idbsql::{
        database::CheckpointPolicy,
        persist::{
            idb::{Durability, IdbPersistence, PAGES_PER_READ},
            Persistence,
        },
        Database, ErrorCode,
    },
    wasm_bindgen_test::*,
};

wasm_bindgen_test_configure!(run_in_browser);

async fn fresh(name: &str) -> Database<IdbPersistence> {
    IdbPersistence::delete(name).await.expect("delete");
    reopen(name).await
}

async fn reopen(name: &str) -> Database<IdbPersistence> {
    let persistence = IdbPersistence::open(name, Durability::Relaxed)
        .await
        .expect("open idb");
    Database::open(persistence).await.expect("open database")
}

/// What is on disk, read by a separate connection: (checkpoint chunks, log entries).
async fn on_disk(name: &str) -> (usize, usize) {
    let mut persistence = IdbPersistence::open(name, Durability::Relaxed)
        .await
        .unwrap();
    let mut pages = 0;
    let loaded = persistence
        .load(&mut |_, _| {
            pages += 1;
            Ok(())
        })
        .await
        .unwrap();
    persistence.close();
    (pages, loaded.log.len())
}

async fn rows(db: &mut Database<IdbPersistence>, sql: &str) -> Vec<Vec<Value>> {
    db.query(sql, &[]).await.expect(sql).rows
}

#[wasm_bindgen_test]
async fn write_disconnect_reconnect_read_back() {
    let mut db = fresh("web-reopen").await;
    db.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO note VALUES (1, 'one'), (2, 'two');")
        .await
        .unwrap();
    db.query("DELETE FROM note WHERE id = $1", &[Value::I64(1)])
        .await
        .unwrap();
    db.close();
    let mut db = reopen("web-reopen").await;
    assert_eq!(
        rows(&mut db, "SELECT id, body FROM note").await,
        vec![vec![Value::I64(2), Value::Str("two".into())]]
    );
    db.close();
}

#[wasm_bindgen_test]
async fn reopen_after_checkpoint_and_log_tail() {
    let name = "web-checkpoint";
    IdbPersistence::delete(name).await.unwrap();
    let policy = CheckpointPolicy {
        max_log_entries: 5,
        max_log_bytes: usize::MAX,
        max_fold_rows: usize::MAX,
        rows_per_page: 4,
    };
    let persistence = IdbPersistence::open(name, Durability::Relaxed)
        .await
        .unwrap();
    let mut db = Database::open_with_policy(persistence, policy)
        .await
        .unwrap();
    db.query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", &[])
        .await
        .unwrap();
    for i in 0..12 {
        db.query(
            "INSERT INTO t VALUES ($1, $2)",
            &[Value::I64(i), Value::Str(format!("v{i}"))],
        )
        .await
        .unwrap();
    }
    db.close();
    let (chunks, log) = on_disk(name).await;
    assert!(chunks >= 3, "checkpoint written in chunks, found {chunks}");
    assert!(log < 5, "log truncated by the checkpoint, found {log}");
    let mut db = reopen(name).await;
    assert_eq!(
        rows(&mut db, "SELECT COUNT(*) FROM t").await,
        vec![vec![Value::I64(12)]]
    );
    assert_eq!(
        rows(&mut db, "SELECT v FROM t WHERE id = 11").await,
        vec![vec![Value::Str("v11".into())]]
    );
    db.close();
}

#[wasm_bindgen_test]
async fn rollback_and_failed_statement_leave_indexeddb_unchanged() {
    let name = "web-rollback";
    let mut db = fresh(name).await;
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);")
        .await
        .unwrap();
    db.close();
    let before = on_disk(name).await;
    let mut db = reopen(name).await;
    db.exec("BEGIN; INSERT INTO t VALUES (2); ROLLBACK;")
        .await
        .unwrap();
    let error = db
        .query("INSERT INTO t VALUES (3), (1)", &[])
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::Constraint);
    db.close();
    assert_eq!(on_disk(name).await, before);
    let mut db = reopen(name).await;
    assert_eq!(
        rows(&mut db, "SELECT id FROM t").await,
        vec![vec![Value::I64(1)]]
    );
    db.close();
}

#[wasm_bindgen_test]
async fn ten_thousand_rows_survive_reopen() {
    let name = "web-10k";
    let mut db = fresh(name).await;
    db.query(
        "CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT, score FLOAT)",
        &[],
    )
    .await
    .unwrap();
    let values = (0..10_000)
        .map(|i| format!("({i}, 'name-{i}', {}.5)", i % 100))
        .collect::<Vec<_>>()
        .join(",");
    db.exec(&format!("BEGIN; INSERT INTO kv VALUES {values}; COMMIT;"))
        .await
        .unwrap();
    db.close();
    // More pages than one read fetches: the load reads and decodes them chunk by chunk.
    assert!(on_disk(name).await.0 > 2 * PAGES_PER_READ);
    let mut db = reopen(name).await;
    assert_eq!(
        rows(&mut db, "SELECT COUNT(*), SUM(id) FROM kv").await,
        vec![vec![Value::I64(10_000), Value::I64(49_995_000)]]
    );
    assert_eq!(
        rows(&mut db, "SELECT name FROM kv WHERE id = 9999").await,
        vec![vec![Value::Str("name-9999".into())]]
    );
    db.close();
}

#[wasm_bindgen_test]
async fn every_value_type_round_trips_through_indexeddb() {
    let name = "web-types";
    let mut db = fresh(name).await;
    db.exec(include_str!("fixtures/every_value_type.sql"))
        .await
        .unwrap();
    let before = rows(&mut db, "SELECT * FROM v").await;
    db.close();
    let mut db = reopen(name).await;
    assert_eq!(rows(&mut db, "SELECT * FROM v").await, before);
    db.checkpoint().await.unwrap();
    db.close();
    let mut db = reopen(name).await;
    assert_eq!(rows(&mut db, "SELECT * FROM v").await, before);
    db.close();
}

#[wasm_bindgen_test]
async fn aborted_indexeddb_write_leaves_memory_and_disk_unchanged() {
    let name = "web-abort";
    let mut db = fresh(name).await;
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'kept');")
        .await
        .unwrap();
    db.persistence_mut().fail_next_write();
    let error = db
        .exec("BEGIN; UPDATE t SET v = 'lost'; INSERT INTO t VALUES (2, 'lost'); COMMIT;")
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::Storage);
    assert_eq!(
        rows(&mut db, "SELECT id, v FROM t").await,
        vec![vec![Value::I64(1), Value::Str("kept".into())]]
    );
    db.query("INSERT INTO t VALUES (3, 'after')", &[])
        .await
        .unwrap();
    db.close();
    let mut db = reopen(name).await;
    assert_eq!(
        rows(&mut db, "SELECT id FROM t ORDER BY id").await,
        vec![vec![Value::I64(1)], vec![Value::I64(3)]]
    );
    db.close();
}

#[wasm_bindgen_test]
async fn strict_durability_commits_too() {
    let name = "web-strict";
    IdbPersistence::delete(name).await.unwrap();
    let persistence = IdbPersistence::open(name, Durability::Strict)
        .await
        .unwrap();
    let mut db = Database::open(persistence).await.unwrap();
    db.exec("CREATE TABLE t (x INT); INSERT INTO t VALUES (1);")
        .await
        .unwrap();
    db.close();
    assert_eq!(on_disk(name).await, (0, 2));
}
