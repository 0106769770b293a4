//! Untrusted SQL cannot exhaust the stack: expressions nest at most
//! `PARSER_RECURSION_LIMIT` deep, and a statement at that limit runs through every pass
//! (rewrites, GlueSQL's translate, plan and evaluate) within 1 MiB of stack in an optimised
//! build — the browser build has 4 MiB (.cargo/config.toml). Unoptimised frames are several
//! times larger, so a debug build of this test gets 8 MiB.

use {
    futures::executor::block_on,
    idbsql::{
        engine::PARSER_RECURSION_LIMIT, persist::memory::MemoryPersistence, Database, ErrorCode,
    },
};

fn on_small_stack(work: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(if cfg!(debug_assertions) {
            8 << 20
        } else {
            1 << 20
        })
        .spawn(work)
        .expect("thread")
        .join()
        .expect("the statement ran within a 1 MiB stack");
}

fn nested(depth: usize) -> String {
    format!("{}a{}", "(".repeat(depth), ")".repeat(depth))
}

/// `a = 1 OR (a = 2 AND (a = 3 OR (…)))`: AND and OR alternating, each level a rewrite.
fn alternating(depth: usize) -> String {
    let mut sql = String::from("a = 0");
    for level in 0..depth {
        let op = if level % 2 == 0 { "OR" } else { "AND" };
        sql = format!("a = {level} {op} ({sql})");
    }
    sql
}

/// `a = (SELECT a FROM t WHERE a = (… '1' …))`: scalar subqueries nested, each typed where it
/// stands (bind_types.rs) and holding a quoted literal its comparison types.
fn nested_subqueries(depth: usize) -> String {
    let mut sql = String::from("a = '1'");
    for _ in 0..depth {
        sql = format!("a = (SELECT a FROM t WHERE {sql})");
    }
    sql
}

/// The deepest statement `build` makes that the parser takes.
fn deepest(build: &dyn Fn(usize) -> String) -> String {
    (1..=PARSER_RECURSION_LIMIT)
        .rev()
        .map(build)
        .find(|sql| idbsql::engine::parse_sql(sql).is_ok())
        .expect("some depth parses")
}

#[test]
fn expressions_at_the_limit_run_and_deeper_ones_are_refused() {
    on_small_stack(|| {
        let mut db = block_on(Database::open(MemoryPersistence::volatile())).unwrap();
        block_on(db.exec("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2), (NULL);"))
            .unwrap();
        // The deepest statements the parser takes, run through everything after it.
        for sql in [
            deepest(&|d| format!("SELECT {} FROM t", nested(d))),
            deepest(&|d| format!("SELECT * FROM t WHERE {}", alternating(d))),
            deepest(&|d| format!("SELECT NOT ({}) FROM t", alternating(d))),
            deepest(&|d| {
                format!("SELECT * FROM t WHERE {}", alternating(d)).replace("= 1 ", "= '1' ")
            }),
            deepest(&|d| format!("SELECT * FROM t WHERE {}", nested_subqueries(d))),
        ] {
            block_on(db.query(&sql, &[])).expect("a statement at the nesting limit runs");
        }

        let too_deep = format!("SELECT {} FROM t", nested(PARSER_RECURSION_LIMIT * 20));
        let error = block_on(db.query(&too_deep, &[])).unwrap_err();
        assert_eq!(error.code, ErrorCode::Parse);
        assert!(
            error.message.contains("RecursionLimitExceeded"),
            "{}",
            error.message
        );
    });
}

/// `ROUND(x)` of a DECIMAL or a FLOAT writes `x` more than once (math_functions.rs): nested
/// calls multiply, so past a budget the statement is refused, by name, before it is built.
#[test]
fn nested_rounding_is_bounded() {
    on_small_stack(|| {
        let mut db = block_on(Database::open(MemoryPersistence::volatile())).unwrap();
        block_on(db.exec("CREATE TABLE p (d DECIMAL, f FLOAT); INSERT INTO p VALUES (2.5, 2.5);"))
            .unwrap();
        let rounds = |x: &str, depth: usize| {
            format!(
                "SELECT {}{x}{} FROM p",
                "ROUND(".repeat(depth),
                ")".repeat(depth)
            )
        };
        let rows = block_on(db.query(&rounds("d", 10), &[])).unwrap().rows;
        assert_eq!(rows[0][0], gluesql_core::data::Value::Decimal(3.into()));
        let rows = block_on(db.query(&rounds("f", 6), &[])).unwrap().rows;
        assert_eq!(rows[0][0], gluesql_core::data::Value::F64(2.0));
        for x in ["d", "f"] {
            let deepest = deepest(&|d| rounds(x, d));
            let error = block_on(db.query(&deepest, &[])).unwrap_err();
            assert_eq!(error.code, ErrorCode::Plan);
            assert!(
                error.message.contains("nested too deeply"),
                "{}",
                error.message
            );
        }
    });
}
