//! Every value a query returns is accepted back as a parameter of its column's type, in the
//! form the JS API returns it (README, "Values"): numbers, BigInt, strings for DECIMAL, dates,
//! times, UUID, INET and ISO 8601 INTERVALs, objects for MAP and POINT, arrays for LIST.

use {
    futures::executor::block_on,
    gluesql_core::data::Value,
    idbsql::{persist::memory::MemoryPersistence, Database, ErrorCode},
    std::collections::BTreeMap,
};

/// A value as the JS API hands it to JS and JS hands it back (src/api/values.rs both ways).
fn as_js_param(value: &Value) -> Value {
    const MAX_SAFE: i128 = (1 << 53) - 1;
    let number = |n: i128| {
        if (-MAX_SAFE..=MAX_SAFE).contains(&n) {
            Value::I64(n as i64)
        } else {
            Value::I128(n)
        }
    };
    let float = |f: f64| {
        if f.fract() == 0.0 && f.abs() <= MAX_SAFE as f64 {
            Value::I64(f as i64)
        } else {
            Value::F64(f)
        }
    };
    match value {
        Value::I8(v) => number((*v).into()),
        Value::I16(v) => number((*v).into()),
        Value::I32(v) => number((*v).into()),
        Value::I64(v) => number((*v).into()),
        Value::I128(v) => number(*v),
        Value::U8(v) => number((*v).into()),
        Value::U16(v) => number((*v).into()),
        Value::U32(v) => number((*v).into()),
        Value::U64(v) => number((*v).into()),
        Value::U128(v) => i128::try_from(*v).map_or(Value::U128(*v), number),
        Value::F32(v) => float(f64::from(*v)),
        Value::F64(v) => float(*v),
        Value::Decimal(d) => Value::Str(d.to_string()),
        Value::Inet(ip) => Value::Str(ip.to_string()),
        Value::Date(d) => Value::Str(d.format("%Y-%m-%d").to_string()),
        Value::Timestamp(t) => Value::Str(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        Value::Time(t) => Value::Str(t.format("%H:%M:%S%.f").to_string()),
        Value::Interval(i) => Value::Str(iso(i)),
        Value::Uuid(u) => Value::Str(uuid::Uuid::from_u128(*u).hyphenated().to_string()),
        Value::Map(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), as_js_param(v)))
                .collect(),
        ),
        Value::List(items) => Value::List(items.iter().map(as_js_param).collect()),
        Value::Point(p) => Value::Map(BTreeMap::from([
            ("x".to_owned(), float(p.x)),
            ("y".to_owned(), float(p.y)),
        ])),
        other => other.clone(),
    }
}

fn iso(interval: &gluesql_core::data::Interval) -> String {
    use gluesql_core::data::Interval;
    match *interval {
        Interval::Month(m) => format!(
            "{}P{}Y{}M",
            if m < 0 { "-" } else { "" },
            m.abs() / 12,
            m.abs() % 12
        ),
        Interval::Microsecond(us) => {
            let sign = if us < 0 { "-" } else { "" };
            let us = us.unsigned_abs();
            let (days, rest) = (us / 86_400_000_000, us % 86_400_000_000);
            let seconds = (rest % 60_000_000) as f64 / 1e6;
            format!(
                "{sign}P{days}DT{}H{}M{seconds}S",
                rest / 3_600_000_000,
                rest % 3_600_000_000 / 60_000_000
            )
        }
    }
}

fn db() -> Database<MemoryPersistence> {
    let mut db = block_on(Database::open(MemoryPersistence::volatile())).unwrap();
    block_on(db.exec(include_str!("fixtures/every_value_type.sql"))).unwrap();
    db
}

fn row(db: &mut Database<MemoryPersistence>, id: i64) -> Vec<Value> {
    block_on(db.query("SELECT * FROM v WHERE id = $1", &[Value::I64(id)]))
        .unwrap()
        .rows
        .remove(0)
}

#[test]
fn every_returned_value_is_accepted_back() {
    let mut db = db();
    let original = row(&mut db, 1);
    let mut params: Vec<Value> = original.iter().map(as_js_param).collect();
    params[0] = Value::I64(2);
    let placeholders: Vec<String> = (1..=params.len()).map(|i| format!("${i}")).collect();
    block_on(db.query(
        &format!("INSERT INTO v VALUES ({})", placeholders.join(", ")),
        &params,
    ))
    .unwrap_or_else(|e| panic!("{e:?}\n{params:?}"));
    let copy = row(&mut db, 2);
    assert_eq!(&copy[1..], &original[1..]);

    // Each comparable column finds both rows by the value it returned.
    let columns = [
        "d", "dt", "ts", "tm", "iv", "iv2", "u", "ip", "f", "i128", "u64", "u128",
    ];
    for (column, position) in columns.iter().map(|c| {
        let position = [
            "id", "b", "i8", "i16", "i32", "i128", "u8", "u16", "u32", "u64", "u128", "f32", "f",
            "d", "s", "by", "ip", "dt", "ts", "tm", "iv", "iv2", "u", "m", "l", "p", "n",
        ]
        .iter()
        .position(|name| name == c)
        .unwrap();
        (c, position)
    }) {
        let found = block_on(db.query(
            &format!("SELECT id FROM v WHERE {column} = $1 ORDER BY id"),
            &[params[position].clone()],
        ))
        .unwrap_or_else(|e| panic!("{column}: {e:?}"))
        .rows;
        assert_eq!(
            found,
            vec![vec![Value::I64(1)], vec![Value::I64(2)]],
            "{column}"
        );
    }
}

#[test]
fn decimal_takes_text_and_numbers() {
    let mut db = block_on(Database::open(MemoryPersistence::volatile())).unwrap();
    block_on(db.exec("CREATE TABLE price (id INTEGER PRIMARY KEY, amount DECIMAL)")).unwrap();
    for (id, param) in [
        (1, Value::Str("0.5".into())),
        (2, Value::F64(0.1)),
        (3, Value::I64(7)),
    ] {
        block_on(db.query(
            "INSERT INTO price VALUES ($1, $2)",
            &[Value::I64(id), param],
        ))
        .unwrap();
    }
    let rows = block_on(db.query("SELECT amount FROM price ORDER BY id", &[]))
        .unwrap()
        .rows;
    let text: Vec<String> = rows.iter().map(|r| String::from(&r[0])).collect();
    assert_eq!(text, ["0.5", "0.1", "7"]);
    let error = block_on(db.query(
        "INSERT INTO price VALUES (4, $1)",
        &[Value::Str("cheap".into())],
    ))
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::Params);
    assert!(error.message.contains("$1"), "{}", error.message);
}

/// A parameter takes its type from where it stands, as PostgreSQL types one: beside a column
/// of a view, a derived table or a WITH query, in COALESCE / NULLIF / CASE, in an IN list or
/// BETWEEN. Each value goes back as the API hands it to JS (a DECIMAL as its text). Before the
/// binder typed them, `d = $1` over a view compared a DECIMAL with text: no row, no error.
#[test]
fn parameters_take_their_type_from_where_they_stand() {
    let mut db = db();
    let original = row(&mut db, 1);
    let params: Vec<Value> = original.iter().map(as_js_param).collect();
    block_on(db.exec("CREATE VIEW w AS SELECT * FROM v")).unwrap();
    let names = [
        "id", "b", "i8", "i16", "i32", "i128", "u8", "u16", "u32", "u64", "u128", "f32", "f", "d",
        "s", "by", "ip", "dt", "ts", "tm", "iv", "iv2", "u", "m", "l", "p", "n",
    ];
    let one = vec![vec![Value::I64(1)]];
    for column in [
        "d", "dt", "ts", "tm", "iv", "iv2", "u", "ip", "f", "i128", "u64", "u128",
    ] {
        let position = names.iter().position(|n| *n == column).unwrap();
        let param = [params[position].clone()];
        for (sql, expected) in [
            (format!("SELECT id FROM w WHERE {column} = $1"), &one),
            (
                format!("SELECT id FROM (SELECT * FROM v) q WHERE q.{column} = $1"),
                &one,
            ),
            (
                format!("WITH c AS (SELECT * FROM v) SELECT id FROM c WHERE {column} = $1"),
                &one,
            ),
            (
                format!("SELECT id FROM v WHERE id IN (SELECT id FROM w WHERE {column} = $1)"),
                &one,
            ),
            (format!("SELECT id FROM v WHERE $1 = {column}"), &one),
            (format!("SELECT id FROM v WHERE {column} IN ($1)"), &one),
            (
                format!("SELECT id FROM v WHERE {column} BETWEEN $1 AND $1"),
                &one,
            ),
            (
                format!("SELECT id FROM v WHERE COALESCE({column}, $1) = $1"),
                &one,
            ),
            (
                format!("SELECT CASE WHEN {column} = $1 THEN 1 ELSE 0 END FROM v"),
                &one,
            ),
            (
                format!("SELECT id FROM v WHERE {column} <> $1 OR id = 1"),
                &one,
            ),
            (
                format!("SELECT CASE WHEN NULLIF({column}, $1) IS NULL THEN 1 END FROM v"),
                &one,
            ),
        ] {
            let rows = block_on(db.query(&sql, &param))
                .unwrap_or_else(|e| panic!("{sql}: {e:?} {param:?}"))
                .rows;
            assert_eq!(&rows, expected, "{sql} with {param:?}");
        }
    }
}

/// An INTERVAL parameter may also be PostgreSQL's quantity-and-unit text, as node-postgres
/// users write it; text that is neither that nor ISO 8601 is refused naming the parameter.
#[test]
fn interval_parameters_take_postgres_text() {
    let mut db = db();
    for (column, text) in [("iv", "3 years 2 months"), ("iv", "38 mons")] {
        let rows = block_on(db.query(
            &format!("SELECT id FROM v WHERE {column} = $1"),
            &[Value::Str(text.into())],
        ))
        .unwrap()
        .rows;
        assert_eq!(rows, vec![vec![Value::I64(1)]], "{text}");
    }
    let error = block_on(db.query(
        "SELECT id FROM v WHERE iv = $1",
        &[Value::Str("soon".into())],
    ))
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::Params);
}

#[test]
fn round_takes_its_places_as_a_parameter() {
    let mut db = block_on(Database::open(MemoryPersistence::volatile())).unwrap();
    block_on(db.exec("CREATE TABLE p (d DECIMAL); INSERT INTO p VALUES (1234.567);")).unwrap();
    for (places, rounded) in [(2, "1234.57"), (0, "1235"), (-2, "1200")] {
        let rows = block_on(db.query(
            "SELECT CAST(ROUND(d, $1) AS TEXT) FROM p",
            &[Value::I64(places)],
        ))
        .unwrap()
        .rows;
        assert_eq!(rows, vec![vec![Value::Str(rounded.into())]], "{places}");
    }
    // A fraction is no number of places.
    let error = block_on(db.query("SELECT ROUND(d, $1) FROM p", &[Value::F64(1.5)])).unwrap_err();
    assert_eq!(error.code, ErrorCode::Plan);
}

/// A FLOAT parameter cast to an integer rounds to even, as PostgreSQL's cast does (GlueSQL
/// truncated: 3.5 was 3).
#[test]
fn a_float_parameter_cast_to_an_integer_rounds() {
    let mut db = block_on(Database::open(MemoryPersistence::volatile())).unwrap();
    for (value, rounded) in [(2.5, 2), (3.5, 4), (-2.5, -2), (2.4, 2), (-0.6, -1)] {
        let rows = block_on(db.query("SELECT CAST($1 AS INTEGER)", &[Value::F64(value)]))
            .unwrap()
            .rows;
        assert_eq!(rows, vec![vec![Value::I64(rounded)]], "{value}");
    }
}
