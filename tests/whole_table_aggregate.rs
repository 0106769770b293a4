//! The whole-table aggregate path (engine/aggregate.rs) answers exactly as GlueSQL does: each
//! query is run as written (the direct path) and with `WHERE TRUE` added (GlueSQL's path),
//! over tables with NULLs, floats with NaN and -0.0, text, decimals, narrow integers that
//! overflow, an empty table, and inside a transaction.

use {gluesql_core::data::Value, idbsql::engine::Engine};

fn answer(engine: &mut Engine, sql: &str) -> Result<(Vec<String>, Vec<Vec<Value>>), String> {
    engine
        .query(sql, &[])
        .map(|out| (out.columns, out.rows))
        .map_err(|e| format!("{:?}", e.code))
}

/// NaN is not equal to itself; compare values by their debug text.
fn same(
    a: &Result<(Vec<String>, Vec<Vec<Value>>), String>,
    b: &Result<(Vec<String>, Vec<Vec<Value>>), String>,
) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

#[test]
fn every_whole_table_aggregate_answers_as_glue_sql_does() {
    let mut engine = Engine::default();
    for sql in [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, i INT, f FLOAT, s TEXT, d DECIMAL, n INT8)",
        "INSERT INTO t VALUES (1, 5, 1.5, 'b', 1.25, 100), (2, NULL, -0.0, 'a', NULL, 27), \
         (3, -7, 2.25, NULL, 3.5, NULL), (4, 9, 0.1, 'c', -2, 1)",
        "CREATE TABLE nan (id INTEGER PRIMARY KEY, f FLOAT)",
        "INSERT INTO nan VALUES (1, 1.0), (2, CAST('NaN' AS FLOAT)), (3, -1.0)",
        "CREATE TABLE empty (id INTEGER PRIMARY KEY, v INT)",
        "CREATE TABLE nulls (id INTEGER PRIMARY KEY, v INT)",
        "INSERT INTO nulls VALUES (1, NULL), (2, NULL)",
        "CREATE TABLE big (id INTEGER PRIMARY KEY, v INT)",
        "INSERT INTO big VALUES (1, 9223372036854775807), (2, 1)",
    ] {
        engine
            .query(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let queries = [
        "SELECT COUNT(*) FROM t",
        "SELECT COUNT(*), SUM(f) FROM t",
        "SELECT COUNT(i), COUNT(s), COUNT(d) FROM t",
        "SELECT SUM(i), MIN(i), MAX(i) FROM t",
        "SELECT SUM(f), MIN(f), MAX(f) FROM t",
        "SELECT MIN(s), MAX(s), SUM(d), MIN(d), MAX(d) FROM t",
        "SELECT SUM(n), MIN(n), MAX(n) FROM t",
        "SELECT COUNT(*) AS rows, sum(i) AS total FROM t",
        "SELECT SUM(s) FROM t",
        "SELECT SUM(f), MIN(f), MAX(f), COUNT(f) FROM nan",
        "SELECT COUNT(*), COUNT(v), SUM(v), MIN(v), MAX(v) FROM empty",
        "SELECT COUNT(*), COUNT(v), SUM(v), MIN(v), MAX(v) FROM nulls",
        "SELECT SUM(v) FROM big",
        "SELECT MAX(v), MIN(v) FROM big",
        "SELECT COUNT(nope) FROM t",
    ];
    let compare = |engine: &mut Engine| {
        for sql in queries {
            let direct = answer(engine, sql);
            // Every query ends with its FROM: a WHERE makes GlueSQL answer it.
            let through_glue = answer(engine, &format!("{sql} WHERE TRUE"));
            assert!(
                same(&direct, &through_glue),
                "{sql}: {direct:?} vs {through_glue:?}"
            );
        }
    };
    compare(&mut engine);
    // Inside a transaction the rows it wrote count, as GlueSQL sees them.
    engine.query("BEGIN", &[]).unwrap();
    engine
        .query("INSERT INTO t VALUES (5, 100, 10.5, 'z', 0.5, 2)", &[])
        .unwrap();
    engine.query("DELETE FROM t WHERE id = 1", &[]).unwrap();
    compare(&mut engine);
    engine.query("ROLLBACK", &[]).unwrap();
    compare(&mut engine);
}
