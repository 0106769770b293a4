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

/// The rewrites that give SQL's answers (three-valued logic, BETWEEN, integer bounds, IN with
/// NULLs, subqueries run once) keep key and index predicates where the planner finds them:
/// each statement reads only the rows its key or index selects.
#[test]
fn rewritten_statements_still_take_the_key_and_index_paths() {
    use idbsql::engine::Engine;
    let mut engine = Engine::default();
    engine
        .query(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER NULL, a INTEGER NULL, b INTEGER NULL)",
            &[],
        )
        .unwrap();
    let values: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                "({i}, {}, {}, NULL)",
                if i == 500 {
                    "NULL".to_owned()
                } else {
                    i.to_string()
                },
                i % 7
            )
        })
        .collect();
    engine
        .query(
            &format!("INSERT INTO big VALUES {}", values.join(", ")),
            &[],
        )
        .unwrap();
    engine.query("CREATE INDEX big_n ON big (n)", &[]).unwrap();
    let cases: [(&str, u64); 9] = [
        ("SELECT id FROM big WHERE id = 7", 1),
        ("SELECT id FROM big WHERE n = 5 AND (a > 3 OR b IS NULL)", 1),
        ("SELECT id FROM big WHERE n BETWEEN 990 AND 992", 10),
        ("SELECT id FROM big WHERE n < 4.5", 5),
        ("SELECT id FROM big WHERE n >= 995.5", 4),
        ("SELECT id FROM big WHERE n IS NULL", 1),
        (
            "SELECT id FROM big WHERE n = 3 AND NOT (a = 1 OR a IN (2, NULL))",
            1,
        ),
        (
            "SELECT id FROM big WHERE n = (SELECT MAX(n) FROM big WHERE n < 10)",
            10 + 1,
        ),
        // A full scan whose subquery runs once, not once per row (that would read 11,000).
        (
            "SELECT id FROM big WHERE a IN (SELECT a FROM big WHERE n < 10)",
            1000 + 10,
        ),
    ];
    for (sql, most) in cases {
        let before = engine.store().rows_read();
        engine.query(sql, &[]).expect(sql);
        let read = engine.store().rows_read() - before;
        assert!(
            read <= most,
            "{sql}: read {read} rows, expected at most {most}"
        );
    }
}

/// Parameters reach the index converted like literals: `score > $1` with 5 (a JS whole number)
/// or 5.5, and a date string against a DATE index, select what a scan selects.
#[test]
fn parameters_through_an_index_select_what_a_scan_selects() {
    use idbsql::engine::Engine;
    let build = |indexed: bool| {
        let mut engine = Engine::default();
        engine
            .query("CREATE TABLE m (id INTEGER PRIMARY KEY, score FLOAT NULL, day DATE NULL, n INT8 NULL)", &[])
            .unwrap();
        engine
            .query(
                "INSERT INTO m VALUES (1, 7.5, '2024-02-10', 3), (2, -4.0, '2024-02-11', 5), (3, 5.0, NULL, NULL), (4, 5.5, '2024-02-10', 4)",
                &[],
            )
            .unwrap();
        if indexed {
            for sql in [
                "CREATE INDEX m_score ON m (score)",
                "CREATE INDEX m_day ON m (day)",
                "CREATE INDEX m_n ON m (n)",
            ] {
                engine.query(sql, &[]).unwrap();
            }
        }
        engine
    };
    let cases: [(&str, Vec<Value>, Vec<i64>); 6] = [
        (
            "SELECT id FROM m WHERE score > $1 ORDER BY id",
            vec![Value::I64(5)],
            vec![1, 4],
        ),
        (
            "SELECT id FROM m WHERE score > $1 ORDER BY id",
            vec![Value::F64(5.5)],
            vec![1],
        ),
        (
            "SELECT id FROM m WHERE day = $1 ORDER BY id",
            vec![Value::Str("2024-02-10".into())],
            vec![1, 4],
        ),
        (
            "SELECT id FROM m WHERE n >= $1 ORDER BY id",
            vec![Value::F64(3.5)],
            vec![2, 4],
        ),
        (
            "SELECT id FROM m WHERE n = $1 ORDER BY id",
            vec![Value::F64(4.0)],
            vec![4],
        ),
        (
            "SELECT id FROM m WHERE n < $1 ORDER BY id",
            vec![Value::I64(300)],
            vec![1, 2, 4],
        ),
    ];
    for indexed in [false, true] {
        let mut engine = build(indexed);
        for (sql, params, expected) in &cases {
            let rows = engine.query(sql, params).expect(sql).rows;
            let ids: Vec<i64> = rows
                .iter()
                .map(|r| match r[0] {
                    Value::I64(id) => id,
                    ref other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(&ids, expected, "{sql} {params:?} (indexed: {indexed})");
        }
    }
}
