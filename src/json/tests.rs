use super::{number_text, ops, ops::Op, parse, JsonKind};
use gluesql_core::data::Value;

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

#[test]
fn jsonb_text_is_postgresql_s_normal_form() {
    let stored = JsonKind::Jsonb
        .stored(r#"{"bb": 1.50, "a": [1e2, -0, "x\u0041\n"], "bb": true, "c": {}}"#)
        .expect("parses");
    assert_eq!(stored, r#"{"a": [100, 0, "xA\n"], "c": {}, "bb": true}"#);
    // json keeps the text as written.
    let text = r#"{"b":1,  "a":2, "b":3}"#;
    assert_eq!(JsonKind::Json.stored(text).expect("parses"), text);
}

#[test]
fn numbers_print_as_numeric_does() {
    for (written, printed) in [
        ("1", "1"),
        ("1.50", "1.50"),
        ("1e2", "100"),
        ("1.0e2", "100"),
        ("1.5e-3", "0.0015"),
        ("-0.00", "0.00"),
        ("0.1e1", "1"),
        ("-12.5E+1", "-125"),
        ("1e-64", &format!("0.{}1", "0".repeat(63))),
        // Past the bound the written form stays (a few bytes never become thousands).
        ("1e-65", "1e-65"),
        ("2E99999999999999999999", "2E99999999999999999999"),
    ] {
        assert_eq!(number_text(written), printed, "{written}");
    }
}

#[test]
fn malformed_text_is_refused_and_depth_is_bounded() {
    for bad in [
        "",
        "{",
        "[1,]",
        "{\"a\" 1}",
        "01",
        "1.",
        "tru",
        "\"\\x\"",
        "\"a\nb\"",
        "[1] 2",
        "nulls",
    ] {
        let error = parse(bad).expect_err(bad);
        assert!(error.starts_with(super::INVALID), "{error}");
    }
    let deep = "[".repeat(super::MAX_DEPTH + 1) + &"]".repeat(super::MAX_DEPTH + 1);
    assert!(parse(&deep).is_err());
    let fine = "[".repeat(super::MAX_DEPTH) + &"]".repeat(super::MAX_DEPTH);
    assert!(parse(&fine).is_ok());
}

#[test]
fn arrows_answer_members_elements_and_paths() {
    let doc = s(r#"{"a": {"b": [10, "x", null]}, "n": 1.50}"#);
    let get = |sel: Value, text: bool| ops::apply(Op::Get { text }, &[doc.clone(), sel], &[]);
    assert_eq!(get(s("n"), false), Ok(s("1.50")));
    assert_eq!(get(s("a"), false), Ok(s(r#"{"b": [10, "x", null]}"#)));
    assert_eq!(get(s("missing"), true), Ok(Value::Null));
    assert_eq!(get(Value::I64(0), true), Ok(Value::Null));
    // An index into a scalar: json and jsonb disagree, so it is refused.
    let scalar = ops::apply(Op::Get { text: false }, &[s("\"x\""), Value::I64(0)], &[]);
    assert!(scalar.is_err(), "{scalar:?}");
    let path = |p: &str, text: bool| ops::apply(Op::Path { text }, &[doc.clone(), s(p)], &[]);
    assert_eq!(path("{a,b,1}", true), Ok(s("x")));
    assert_eq!(path("{a,b,-3}", false), Ok(s("10")));
    assert_eq!(path("{a,b,2}", true), Ok(Value::Null));
    assert_eq!(path("{a,b,2}", false), Ok(s("null")));
}

#[test]
fn containment_builders_and_extract() {
    let contains = |a: &str, b: &str| ops::apply(Op::Contains, &[s(a), s(b)], &[]);
    assert_eq!(
        contains(r#"{"a": [1, 2], "b": 1}"#, r#"{"a": [2]}"#),
        Ok(Value::Bool(true))
    );
    assert_eq!(contains(r#"[1, [2]]"#, "[2]"), Ok(Value::Bool(false)));
    assert_eq!(contains(r#"[1, 2]"#, "1.0"), Ok(Value::Bool(true)));
    let object = ops::apply(
        Op::BuildObject(JsonKind::Json),
        &[
            s("a"),
            Value::I64(1),
            s("d"),
            s(r#"{"x": 1}"#),
            s("t"),
            s("q\""),
        ],
        &[false, false, false, true, false, false],
    );
    assert_eq!(object, Ok(s(r#"{"a" : 1, "d" : {"x": 1}, "t" : "q\""}"#)));
    let array = ops::apply(
        Op::BuildArray(JsonKind::Jsonb),
        &[Value::F64(1.5), Value::Null, Value::Bool(true)],
        &[],
    );
    assert_eq!(array, Ok(s("[1.5, null, true]")));
    let doc = s(r#"{"a": [1, {"b": "x"}], "c": true}"#);
    let extract = |p: &[&str]| {
        let mut args = vec![doc.clone()];
        args.extend(p.iter().map(|p| s(p)));
        ops::apply(Op::Extract, &args, &[])
    };
    assert_eq!(extract(&["$.a[1].b"]), Ok(s("x")));
    assert_eq!(extract(&["$.c"]), Ok(Value::I64(1)));
    assert_eq!(extract(&["$.a"]), Ok(s(r#"[1,{"b":"x"}]"#)));
    assert_eq!(extract(&["$.a[#-1]"]), Ok(s(r#"{"b":"x"}"#)));
    assert_eq!(extract(&["$.a[0]", "$.zz"]), Ok(s("[1,null]")));
}
