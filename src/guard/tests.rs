//! Each GlueSQL panic found, through the engine as a user meets it: an `execute` error, or
//! SQL's answer where idbsql can give it; and the guarded calls still answer as before.

use crate::{engine::Engine, error::ErrorCode, guard::check_default};
use gluesql_core::data::Value;

fn answer(sql: &str) -> Result<Vec<Vec<Value>>, (ErrorCode, String)> {
    let mut engine = Engine::default();
    engine
        .query(sql, &[])
        .map(|out| out.rows)
        .map_err(|e| (e.code, e.message))
}

fn text(sql: &str) -> String {
    match answer(sql) {
        Ok(rows) => match rows.as_slice() {
            [row] => match row.as_slice() {
                [Value::Str(s)] => s.clone(),
                other => panic!("{sql}: {other:?}"),
            },
            other => panic!("{sql}: {other:?}"),
        },
        Err(error) => panic!("{sql}: {error:?}"),
    }
}

fn refused(sql: &str, wanted: &str) {
    match answer(sql) {
        Err((ErrorCode::Execute, message)) => {
            assert!(message.contains(wanted), "{sql}: {message}")
        }
        other => panic!("{sql}: expected an execute error with {wanted:?}, got {other:?}"),
    }
}

#[test]
fn calls_glue_sql_panics_on_are_execute_errors() {
    // Each of these panicked inside GlueSQL 0.20 (a crash of the page in the browser).
    refused("SELECT LPAD('x', 10, '')", "empty fill");
    refused("SELECT RPAD('x', 10, '')", "empty fill");
    refused("SELECT LPAD('é', 1)", "not ASCII");
    refused("SELECT RPAD('ab', 5, 'é')", "not ASCII");
    refused("SELECT LPAD('abc', 9223372036854775807)", "longer than");
    refused("SELECT REPEAT('abc', 9223372036854775807)", "overflow");
    refused("SELECT REPEAT('abc', 5000000)", "longer than");
    refused("SELECT SUBSTR('héllo', 3, 1)", "not ASCII");
    refused("SELECT SUBSTR('é', 2)", "not ASCII");
    refused(
        "SELECT SUBSTR('abc', 9223372036854775807, 9223372036854775807)",
        "out of range",
    );
    refused(
        "SELECT SUBSTR('abc', -9223372036854775808, 5)",
        "out of range",
    );
    refused("SELECT LTRIM('ééx', 'é')", "not ASCII");
    refused("SELECT TRIM(BOTH 'é' FROM 'éxé')", "not ASCII");
    refused("SELECT FIND_IDX('abc', 'b', 10)", "past the end");
    refused("SELECT FIND_IDX('éabc', 'b', 2)", "not ASCII");
    refused("SELECT FORMAT(DATE '2020-01-01', '%H')", "needs a TIME");
    refused("SELECT FORMAT(TIME '10:00:00', '%Y')", "needs a DATE");
    refused(
        "SELECT FORMAT(TIMESTAMP '2020-01-01 10:00:00', '%z')",
        "time zone",
    );
    refused(
        "SELECT FORMAT(DATE '2020-01-01', '%Q')",
        "not a valid format",
    );
    refused("SELECT LAST_DAY(DATE '+262142-12-01')", "out of range");
    refused("SELECT ABS(-9223372036854775808)", "out of range");
    refused(
        "SELECT ADD_MONTH('2020-01-01', -9223372036854775808)",
        "out of range",
    );
    refused(
        "SELECT SPLICE(CAST('[1,2,3]' AS LIST), 2, 1)",
        "before the begin",
    );
    refused(
        "SELECT DATE '2020-01-01' + INTERVAL '99999999' DAY",
        "100000 years",
    );
    refused("SELECT INTERVAL '1' DAY * 9999999999999", "scaled past");
    refused(
        "SELECT DATE '+262142-12-31' + INTERVAL '1' DAY",
        "from year 0",
    );
}

#[test]
fn text_functions_refuse_what_they_would_count_in_bytes() {
    // GlueSQL answered these differently from SQL (bytes for characters); now refused.
    refused("SELECT LPAD('é', 5)", "not ASCII");
    refused("SELECT SUBSTR('héllo', 5, 1)", "not ASCII");
    refused("SELECT LEFT('héllo', 2)", "not ASCII");
    refused("SELECT RIGHT('héllo', 4)", "not ASCII");
    refused("SELECT POSITION('l' IN 'héllo')", "not ASCII");
    // Where the bytes before the cut are ASCII, the answer is SQL's and is given.
    assert_eq!(text("SELECT SUBSTR('José', 1, 2)"), "Jo");
    assert_eq!(text("SELECT SUBSTR('José', 2)"), "osé");
    assert_eq!(text("SELECT LEFT('José', 3)"), "Jos");
    assert_eq!(text("SELECT LEFT('José', 10)"), "José");
    assert_eq!(text("SELECT RIGHT('éab', 2)"), "ab");
    assert_eq!(text("SELECT RIGHT('héllo', 10)"), "héllo");
    assert_eq!(text("SELECT TRIM('  héllo  ')"), "héllo");
    assert_eq!(text("SELECT LTRIM('xxé', 'x')"), "é");
}

#[test]
fn guarded_calls_answer_as_before() {
    assert_eq!(text("SELECT LPAD('ab', 5, 'xy')"), "xyxab");
    assert_eq!(text("SELECT RPAD('ab', 5)"), "ab   ");
    assert_eq!(text("SELECT LPAD('abcdef', 3)"), "abc");
    assert_eq!(text("SELECT LPAD('hello', 2, '')"), "he");
    assert_eq!(text("SELECT REPEAT('ab', 3)"), "ababab");
    assert_eq!(text("SELECT REPEAT('ab', -1)"), "");
    assert_eq!(text("SELECT SUBSTR('hello', 2, 3)"), "ell");
    assert_eq!(text("SELECT SUBSTR('hello', 0, 2)"), "h");
    assert_eq!(text("SELECT SUBSTR('hello', 4)"), "lo");
    assert_eq!(text("SELECT LEFT('hello', 2)"), "he");
    assert_eq!(text("SELECT RIGHT('hello', 2)"), "lo");
    assert_eq!(text("SELECT TRIM(BOTH 'x' FROM 'xxhixx')"), "hi");
    assert_eq!(
        text("SELECT FORMAT(DATE '2020-03-04', '%Y/%m/%d')"),
        "2020/03/04"
    );
    assert_eq!(
        text("SELECT FORMAT(TIMESTAMP '2020-03-04 05:06:07', '%Y %H:%M')"),
        "2020 05:06"
    );
    assert_eq!(text("SELECT FORMAT(TIME '05:06:07', '%H-%M')"), "05-06");
    assert_eq!(
        answer("SELECT POSITION('l' IN 'hello'), POSITION('' IN 'abc'), POSITION('z' IN 'é')"),
        Ok(vec![vec![Value::I64(3), Value::I64(1), Value::I64(0)]])
    );
    assert_eq!(
        answer("SELECT ABS(-5), ABS(-2.5), LPAD(NULL, 3), SUBSTR(NULL, 1, 2)"),
        // `-2.5` is a NUMERIC, as in PostgreSQL: its ABS is one.
        Ok(vec![vec![
            Value::I64(5),
            Value::Decimal(rust_decimal::Decimal::new(25, 1)),
            Value::Null,
            Value::Null
        ]])
    );
    // A column name keeps the call's own spelling.
    let mut engine = Engine::default();
    let out = engine
        .query("SELECT LPAD('a', 2) AS x, SUBSTR('abc', 2)", &[])
        .unwrap();
    assert_eq!(out.columns, vec!["x", "SUBSTR('abc', 2)"]);
}

#[test]
fn guards_apply_to_columns_parameters_and_function_bodies() {
    let mut engine = Engine::default();
    engine
        .query("CREATE TABLE t (id INT PRIMARY KEY, s TEXT, n INT)", &[])
        .unwrap();
    engine
        .query("INSERT INTO t VALUES (1, 'abc', 2), (2, 'é', 1)", &[])
        .unwrap();
    let out = engine
        .query("SELECT SUBSTR(s, n) FROM t WHERE id = 1", &[])
        .unwrap();
    assert_eq!(out.rows, vec![vec![Value::Str("bc".into())]]);
    let error = engine.query(
        "SELECT LPAD(s, 10, $1) FROM t",
        &[Value::Str(String::new())],
    );
    assert_eq!(error.unwrap_err().code, ErrorCode::Execute);
    let error = engine.query("SELECT SUBSTR(s, n + 1) FROM t WHERE id = 2", &[]);
    assert_eq!(error.unwrap_err().code, ErrorCode::Execute);
    engine
        .query("CREATE FUNCTION pad(x TEXT) RETURN LPAD(x, 10, '')", &[])
        .unwrap();
    let error = engine.query("SELECT pad(s) FROM t", &[]).unwrap_err();
    assert_eq!(error.code, ErrorCode::Execute, "{}", error.message);
    // Through a view, as another replica may have written it.
    engine
        .query("CREATE VIEW v AS SELECT REPEAT(s, -1 - n) AS r FROM t", &[])
        .unwrap();
    let out = engine.query("SELECT r FROM v", &[]).unwrap();
    assert_eq!(out.rows.len(), 2);
}

#[test]
fn defaults_are_checked_before_glue_sql_evaluates_them() {
    let mut engine = Engine::default();
    for (sql, code) in [
        (
            "CREATE TABLE a (x TEXT DEFAULT LPAD('x', 10, ''))",
            ErrorCode::Execute,
        ),
        (
            "CREATE TABLE a (x TEXT DEFAULT REPEAT('x', 99999999))",
            ErrorCode::Execute,
        ),
        (
            "CREATE TABLE a (x TEXT DEFAULT LPAD(CAST(RAND() AS TEXT), 3))",
            ErrorCode::Plan,
        ),
        (
            "CREATE TABLE a (x TIMESTAMP DEFAULT NOW() + INTERVAL '99999999' DAY)",
            ErrorCode::Plan,
        ),
        (
            "CREATE FUNCTION f(x TEXT DEFAULT LPAD('é', 1)) RETURN x",
            ErrorCode::Execute,
        ),
    ] {
        let error = engine.query(sql, &[]).unwrap_err();
        assert_eq!(error.code, code, "{sql}: {}", error.message);
    }
    engine
        .query("CREATE TABLE ok (id INT, a TEXT DEFAULT LPAD('x', 3, '0'), b TIMESTAMP DEFAULT NOW() + INTERVAL '1' DAY, c FLOAT DEFAULT RAND() * 2, d INT DEFAULT 1 + 2)", &[])
        .unwrap();
    engine.query("INSERT INTO ok (id) VALUES (1)", &[]).unwrap();
    let out = engine.query("SELECT a, d FROM ok", &[]).unwrap();
    assert_eq!(
        out.rows,
        vec![vec![Value::Str("00x".into()), Value::I64(3)]]
    );
    engine
        .query(
            "ALTER TABLE ok ADD COLUMN e TEXT DEFAULT SUBSTR('abc', 2)",
            &[],
        )
        .unwrap();
    let error = engine
        .query(
            "ALTER TABLE ok ADD COLUMN f TEXT DEFAULT FORMAT(NOW(), '%Q')",
            &[],
        )
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::Plan, "{}", error.message);
}

#[test]
fn the_default_checker_knows_constants_from_what_varies() {
    use gluesql_core::{parse_sql::parse_expr, translate::translate_expr};
    let check = |sql: &str| check_default(&translate_expr(&parse_expr(sql).unwrap(), &[]).unwrap());
    assert_eq!(check("1 + 2"), Ok(Some(Value::I64(3))));
    assert_eq!(check("NOW()"), Ok(None));
    assert_eq!(check("CAST(NOW() AS TEXT)"), Ok(None));
    assert!(check("GENERATE_UUID()").is_ok());
    assert!(check("LPAD('a', 3, '')").is_err());
    assert!(check("some_column").is_err());
    assert!(check("(SELECT 1)").is_err());
    assert!(check("NOW() + INTERVAL '1' DAY * 3").is_err());
}

#[test]
fn date_arithmetic_is_refused_before_it_leaves_chronos_range() {
    let mut engine = Engine::default();
    engine
        .query(
            "CREATE TABLE t (id INT PRIMARY KEY, d DATE, iv INTERVAL, n INT)",
            &[],
        )
        .unwrap();
    engine
        .query(
            "INSERT INTO t VALUES (1, '+99999-01-01', INTERVAL '36000000' DAY, 5)",
            &[],
        )
        .unwrap();
    // Each of these left chrono's range, which panicked GlueSQL (a crash of the page).
    for sql in [
        "SELECT d + iv + iv FROM t",
        "SELECT d + iv * 2 FROM t",
        "SELECT (SELECT d + iv FROM t) + iv",
        "SELECT DATE '2020-01-01' + INTERVAL '36000000' DAY + INTERVAL '36000000' DAY + INTERVAL '36000000' DAY",
    ] {
        let error = engine.query(sql, &[]).unwrap_err();
        assert_eq!(error.code, ErrorCode::Execute, "{sql}: {}", error.message);
        assert!(error.message.contains("100000 years"), "{sql}: {}", error.message);
    }
    // Inside the range it answers, and other arithmetic is left as it was.
    let out = engine
        .query(
            "SELECT d - iv, n + 1, DATE '2020-01-01' + INTERVAL '1' DAY FROM t",
            &[],
        )
        .unwrap();
    assert_eq!(out.rows[0][1], Value::I64(6));
    // A view's column keeps its type through the view.
    engine
        .query("CREATE VIEW v AS SELECT d + iv AS later FROM t", &[])
        .unwrap();
    let error = engine
        .query("SELECT later + iv FROM v, t", &[])
        .unwrap_err();
    assert!(
        error.message.contains("date arithmetic"),
        "{}",
        error.message
    );
}

/// A value made text costs a second look only where it may be a boolean: a TEXT column's `||`
/// is left as written, a BOOLEAN column's is spelled once, a name of unknown type both ways.
#[test]
fn only_operands_that_may_be_boolean_are_spelled() {
    use gluesql_core::ast::{BinaryOperator, DataType, Expr, Literal};
    let concat = |name: &str| Expr::BinaryOp {
        left: Box::new(Expr::Identifier(name.to_owned())),
        op: BinaryOperator::StringConcat,
        right: Box::new(Expr::Literal(Literal::QuotedString("x".to_owned()))),
    };
    let columns = [
        ("name".to_owned(), DataType::Text),
        ("ok".to_owned(), DataType::Boolean),
    ];
    let mut text_column = concat("name");
    crate::guard::guard_row_expr(&mut text_column, &columns).expect("guarded");
    assert_eq!(text_column, concat("name"));
    let arms = |expr: &Expr| match expr {
        Expr::BinaryOp { left, .. } => match left.as_ref() {
            Expr::Case {
                when_then,
                else_result,
                ..
            } => (when_then.len(), else_result.is_some()),
            other => panic!("not spelled: {other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let mut boolean = concat("ok");
    crate::guard::guard_row_expr(&mut boolean, &columns).expect("guarded");
    assert_eq!(arms(&boolean), (2, false));
    let mut unknown = concat("elsewhere");
    crate::guard::guard_row_expr(&mut unknown, &columns).expect("guarded");
    assert_eq!(arms(&unknown), (2, true));
    assert_eq!(
        text("SELECT CAST(1 < 2 AS TEXT) || CONCAT(NULL, FALSE)"),
        "truef"
    );
}
