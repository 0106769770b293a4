//! Secondary indexes return exactly what a full scan returns: NULL never satisfies a range
//! (the one place we differ from upstream's index::null fixture), and writes keep indexes fresh.

use {
    gluesql_core::{
        data::Value,
        prelude::{Glue, Payload},
    },
    idbsql::store::MemoryStore,
};

fn select(glue: &mut Glue<MemoryStore>, sql: &str) -> Vec<Vec<Value>> {
    match glue.execute(sql).unwrap().remove(0) {
        Payload::Select { rows, .. } => rows,
        other => panic!("{sql}: {other:?}"),
    }
}

fn setup(indexed: bool) -> Glue<MemoryStore> {
    let mut glue = Glue::new(MemoryStore::new());
    glue.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE NULL, n INT NULL)")
        .unwrap();
    glue.execute(
        "INSERT INTO t VALUES (1, '2020-03-20', 5), (2, NULL, NULL), (3, '1989-02-01', 7), (4, NULL, 5)",
    )
    .unwrap();
    if indexed {
        glue.execute("CREATE INDEX t_d ON t (d)").unwrap();
        glue.execute("CREATE INDEX t_n ON t (n)").unwrap();
    }
    glue
}

#[test]
fn indexed_and_unindexed_queries_agree_including_nulls() {
    let queries = [
        "SELECT id FROM t WHERE d >= DATE '2000-01-01' ORDER BY id",
        "SELECT id FROM t WHERE d > DATE '1900-01-01' ORDER BY id",
        "SELECT id FROM t WHERE d < DATE '2040-12-24' ORDER BY id",
        "SELECT id FROM t WHERE d <= DATE '2040-12-24' ORDER BY id",
        "SELECT id FROM t WHERE n = 5 ORDER BY id",
        "SELECT id FROM t WHERE n > 5 ORDER BY id",
        "SELECT id FROM t WHERE n = NULL ORDER BY id",
    ];
    let mut plain = setup(false);
    let mut indexed = setup(true);
    for sql in queries {
        assert_eq!(select(&mut indexed, sql), select(&mut plain, sql), "{sql}");
    }
    assert_eq!(
        select(
            &mut indexed,
            "SELECT id FROM t WHERE d >= DATE '2000-01-01'"
        ),
        vec![vec![Value::I64(1)]]
    );
}

#[test]
fn updates_and_deletes_keep_the_index_fresh() {
    let mut glue = setup(true);
    glue.execute("UPDATE t SET n = 9 WHERE id = 1").unwrap();
    glue.execute("DELETE FROM t WHERE id = 4").unwrap();
    assert!(select(&mut glue, "SELECT id FROM t WHERE n = 5").is_empty());
    assert_eq!(
        select(&mut glue, "SELECT id FROM t WHERE n = 9"),
        vec![vec![Value::I64(1)]]
    );
    glue.execute("BEGIN").unwrap();
    glue.execute("UPDATE t SET n = 1 WHERE id = 1").unwrap();
    glue.execute("ROLLBACK").unwrap();
    assert_eq!(
        select(&mut glue, "SELECT id FROM t WHERE n = 9"),
        vec![vec![Value::I64(1)]]
    );
    assert!(select(&mut glue, "SELECT id FROM t WHERE n = 1").is_empty());
}
