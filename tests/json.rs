//! JSON / JSONB columns as a user meets them through the database: parameters, refusals that
//! name what they refuse, the table list, export / import and reload keeping the text exactly.
//! (The SQL itself is in tests/slt/json.slt, proven on PostgreSQL.)

use {
    futures::executor::block_on,
    gluesql_core::data::Value,
    idbsql::{
        persist::memory::{MemoryDisk, MemoryPersistence},
        Database, ErrorCode,
    },
    std::{cell::RefCell, collections::BTreeMap, rc::Rc},
};

type Db = Database<MemoryPersistence>;

fn open(disk: &Rc<RefCell<MemoryDisk>>) -> Db {
    block_on(Database::open(MemoryPersistence::shared(Rc::clone(disk)))).expect("open")
}

fn exec(db: &mut Db, sql: &str) {
    block_on(db.exec(sql)).expect(sql);
}

fn rows(db: &mut Db, sql: &str, params: &[Value]) -> Vec<Vec<Value>> {
    block_on(db.query(sql, params)).expect(sql).rows
}

fn text(s: &str) -> Value {
    Value::Str(s.to_owned())
}

fn with_docs() -> (Rc<RefCell<MemoryDisk>>, Db) {
    let disk = Rc::new(RefCell::new(MemoryDisk::default()));
    let mut db = open(&disk);
    exec(
        &mut db,
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, doc JSON, meta JSONB)",
    );
    (disk, db)
}

#[test]
fn objects_arrays_and_text_parameters_are_stored_as_json_text() {
    let (_, mut db) = with_docs();
    let object = Value::Map(BTreeMap::from([
        ("b".to_owned(), Value::I64(1)),
        ("a".to_owned(), Value::List(vec![Value::I64(1), text("x")])),
    ]));
    block_on(db.query(
        "INSERT INTO docs VALUES (1, $1, $2)",
        &[object.clone(), object],
    ))
    .expect("insert maps");
    block_on(db.query(
        "INSERT INTO docs VALUES (2, $1, $2)",
        &[text(r#"{"z":  [true]}"#), Value::List(vec![Value::Null])],
    ))
    .expect("insert text and a list");
    assert_eq!(
        rows(&mut db, "SELECT doc, meta FROM docs ORDER BY id", &[]),
        vec![
            vec![
                text(r#"{"a":[1,"x"],"b":1}"#),
                text(r#"{"a": [1, "x"], "b": 1}"#)
            ],
            vec![text(r#"{"z":  [true]}"#), text("[null]")],
        ]
    );
    // A parameter is a constant to JSON operations, as a literal is.
    assert_eq!(
        rows(
            &mut db,
            "SELECT $1::jsonb ->> 'k', json_build_object('p', $2) FROM docs WHERE id = 1",
            &[text(r#"{"k": "v"}"#), Value::I64(7)],
        ),
        vec![vec![text("v"), text(r#"{"p" : 7}"#)]]
    );
    // Compared with a parameter.
    assert_eq!(
        rows(
            &mut db,
            "SELECT id FROM docs WHERE doc ->> 'b' = $1",
            &[text("1")]
        ),
        vec![vec![Value::I64(1)]]
    );
}

#[test]
fn text_that_is_not_json_is_refused_as_a_constraint_and_nothing_is_written() {
    let (_, mut db) = with_docs();
    let error = block_on(db.query(
        "INSERT INTO docs VALUES (1, '{}', '{}'), (2, '{\"a\":', NULL)",
        &[],
    ))
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::Constraint, "{error}");
    assert!(error.message.contains("column doc"), "{error}");
    assert_eq!(
        rows(&mut db, "SELECT COUNT(*) FROM docs", &[]),
        vec![vec![Value::I64(0)]]
    );
    let error =
        block_on(db.query("INSERT INTO docs VALUES (1, NULL, $1)", &[text("nope")])).unwrap_err();
    assert_eq!(error.code, ErrorCode::Constraint, "{error}");
}

#[test]
fn writes_compute_json_over_their_rows_and_values() {
    let (_, mut db) = with_docs();
    exec(
        &mut db,
        r#"INSERT INTO docs VALUES (1, '{"a": {"n": 1}}', NULL), (2, '{"a": {"n": 2}}', NULL), (3, json_build_object('a', 1 + 1), jsonb_build_array(CURRENT_DATE > '2000-01-01'))"#,
    );
    exec(
        &mut db,
        "UPDATE docs SET meta = doc -> 'a' WHERE doc -> 'a' ->> 'n' = '2'",
    );
    exec(&mut db, "DELETE FROM docs WHERE doc #>> '{a,n}' = '1'");
    assert_eq!(
        rows(&mut db, "SELECT id, doc, meta FROM docs ORDER BY id", &[]),
        vec![
            vec![
                Value::I64(2),
                text(r#"{"a": {"n": 2}}"#),
                text(r#"{"n": 2}"#)
            ],
            vec![Value::I64(3), text(r#"{"a" : 2}"#), text("[true]")],
        ]
    );
}

#[test]
fn json_operations_it_cannot_place_are_refused_by_name() {
    let (_, mut db) = with_docs();
    exec(
        &mut db,
        "CREATE TABLE keys (k TEXT); CREATE TABLE loose (doc JSON)",
    );
    for sql in [
        "DELETE FROM loose WHERE doc ->> 'a' = 'x'",
        "UPDATE loose SET doc = doc -> 'a'",
        "SELECT d.id FROM docs d, keys WHERE d.doc ->> keys.k = 'x'",
        "SELECT id, doc FROM docs UNION SELECT id, doc FROM docs ORDER BY doc ->> 'a'",
        "SELECT id FROM docs ORDER BY meta",
        "SELECT DISTINCT doc FROM docs",
        "SELECT id FROM docs WHERE meta IN ('1', '2')",
    ] {
        let error = block_on(db.query(sql, &[])).unwrap_err();
        assert_eq!(error.code, ErrorCode::Plan, "{sql}: {error}");
        assert!(error.message.contains("JSON"), "{sql}: {error}");
    }
}

#[test]
fn json_columns_keep_their_type_and_text_through_the_table_list_export_and_reload() {
    let (disk, mut db) = with_docs();
    exec(
        &mut db,
        r#"INSERT INTO docs VALUES (1, '{"b": 1,"a" : [1.50]}', '{"b": 1,"a" : [1.50]}')"#,
    );
    let tables = db.tables().expect("tables");
    let types: Vec<&str> = tables[0]
        .columns
        .iter()
        .map(|c| c.data_type.as_str())
        .collect();
    assert_eq!(types, vec!["INT", "JSON", "JSONB"]);
    let dump = db.export().expect("export");
    let mut copy = open(&Rc::new(RefCell::new(MemoryDisk::default())));
    block_on(copy.import(&dump)).unwrap_or_else(|e| panic!("{e}\n{dump}"));
    let expected = vec![vec![
        text(r#"{"b": 1,"a" : [1.50]}"#),
        text(r#"{"a": [1.50], "b": 1}"#),
    ]];
    assert_eq!(rows(&mut copy, "SELECT doc, meta FROM docs", &[]), expected);
    assert_eq!(copy.export().expect("export copy"), dump);
    // The copy checks what it is given as the original does.
    let error = block_on(copy.query("UPDATE docs SET doc = 'x'", &[])).unwrap_err();
    assert_eq!(error.code, ErrorCode::Constraint, "{error}");
    drop(db);
    let mut reopened = open(&disk);
    assert_eq!(
        rows(&mut reopened, "SELECT doc, meta FROM docs", &[]),
        expected
    );
}
