//! A DECIMAL comes back digit for digit with its scale — `0.00` stays `0.00` — whether it
//! entered as a literal, a parameter, through export → import or through sync; a number no
//! DECIMAL holds exactly (`1e-30`, 90 digits) is refused wherever it enters, never rounded.

use {
    futures::executor::block_on,
    gluesql_core::data::Value,
    idbsql::{
        engine::Engine,
        persist::memory::{MemoryDisk, MemoryPersistence},
        protocol::{decode_change_set, encode_change_set},
        store::MemoryStore,
        Database, ErrorCode,
    },
    std::{cell::RefCell, rc::Rc},
};

type Db = Database<MemoryPersistence>;

fn fresh() -> Db {
    block_on(Database::open(MemoryPersistence::shared(Rc::new(
        RefCell::new(MemoryDisk::default()),
    ))))
    .expect("open")
}

/// Each value as written, and as PostgreSQL gives it back.
const VALUES: [(&str, &str); 11] = [
    ("0.00", "0.00"),
    ("12.50", "12.50"),
    ("-0.00", "0.00"),
    ("5.000", "5.000"),
    (
        "9999999999999999999999999999",
        "9999999999999999999999999999",
    ),
    (
        "79228162514264337593543950335",
        "79228162514264337593543950335",
    ),
    (
        "-79228162514264337593543950335",
        "-79228162514264337593543950335",
    ),
    (
        "0.0000000000000000000000000001",
        "0.0000000000000000000000000001",
    ),
    (
        "-0.0000000000000000000000000001",
        "-0.0000000000000000000000000001",
    ),
    (
        "1.0000000000000000000000000000",
        "1.0000000000000000000000000000",
    ),
    (
        "0.1234567890123456789012345678",
        "0.1234567890123456789012345678",
    ),
];

const BEYOND: [&str; 5] = [
    "1e-30",
    "0.00000000000000000000000000001",
    "1.00000000000000000000000000001",
    "79228162514264337593543950336",
    "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
];

fn texts(db: &mut Db, sql: &str) -> Vec<String> {
    block_on(db.query(sql, &[]))
        .expect(sql)
        .rows
        .into_iter()
        .map(|row| match &row[0] {
            Value::Decimal(d) => d.to_string(),
            other => format!("not a decimal: {other:?}"),
        })
        .collect()
}

fn expected() -> Vec<String> {
    VALUES.iter().map(|(_, back)| back.to_string()).collect()
}

fn create(db: &mut Db) {
    block_on(db.exec("CREATE TABLE d (id INTEGER PRIMARY KEY, v DECIMAL)")).expect("create");
}

#[test]
fn literals_keep_their_scale_through_export_and_import() {
    let mut db = fresh();
    create(&mut db);
    for (i, (written, _)) in VALUES.iter().enumerate() {
        let sql = format!("INSERT INTO d VALUES ({i}, {written})");
        block_on(db.query(&sql, &[])).expect(&sql);
    }
    assert_eq!(texts(&mut db, "SELECT v FROM d ORDER BY id"), expected());
    let dump = db.export().expect("export");
    assert!(
        dump.contains("(0, 0.00)") && dump.contains("(2, 0.00)"),
        "{dump}"
    );
    let mut copy = fresh();
    block_on(copy.import(&dump)).expect("import");
    assert_eq!(texts(&mut copy, "SELECT v FROM d ORDER BY id"), expected());
    assert_eq!(copy.export().expect("export copy"), dump);
}

#[test]
fn updates_defaults_and_casts_keep_their_scale() {
    let mut db = fresh();
    block_on(db.exec(
        "CREATE TABLE d (id INTEGER PRIMARY KEY, v DECIMAL, w NUMERIC(10, 2) DEFAULT 0.00);
         INSERT INTO d (id, v) VALUES (1, 1);
         UPDATE d SET v = -0.00 WHERE id = 1",
    ))
    .expect("script");
    assert_eq!(texts(&mut db, "SELECT v FROM d"), ["0.00"]);
    assert_eq!(texts(&mut db, "SELECT w FROM d"), ["0.00"]);
    for (sql, back) in [
        ("SELECT CAST(0.00 AS DECIMAL)", "0.00"),
        ("SELECT CAST('-0.00' AS DECIMAL)", "0.00"),
        ("SELECT '12.50'::NUMERIC", "12.50"),
        ("SELECT CAST('1e2' AS DECIMAL)", "100"),
    ] {
        assert_eq!(texts(&mut db, sql), [back], "{sql}");
    }
}

#[test]
fn parameters_keep_their_scale() {
    let mut db = fresh();
    create(&mut db);
    for (i, (written, _)) in VALUES.iter().enumerate() {
        let params = [Value::I64(i as i64), Value::Str(written.to_string())];
        block_on(db.query("INSERT INTO d VALUES ($1, $2)", &params)).expect(written);
    }
    assert_eq!(texts(&mut db, "SELECT v FROM d ORDER BY id"), expected());
    // A JavaScript number arrives as a float: its shortest text is what is stored.
    block_on(db.query("INSERT INTO d VALUES (100, $1)", &[Value::F64(0.1 + 0.2)])).expect("float");
    assert_eq!(
        texts(&mut db, "SELECT v FROM d WHERE id = 100"),
        ["0.30000000000000004"]
    );
}

#[test]
fn a_number_no_decimal_holds_is_refused_wherever_it_enters() {
    let mut db = fresh();
    create(&mut db);
    for (i, beyond) in BEYOND.iter().enumerate() {
        for sql in [
            format!("INSERT INTO d VALUES ({i}, {beyond})"),
            format!("INSERT INTO d VALUES ({i}, CAST('{beyond}' AS DECIMAL))"),
            format!("UPDATE d SET v = {beyond}"),
        ] {
            let error = block_on(db.query(&sql, &[])).expect_err(&sql);
            assert_eq!(error.code, ErrorCode::Execute, "{sql}: {error}");
        }
        let params = [Value::I64(i as i64), Value::Str(beyond.to_string())];
        let error = block_on(db.query("INSERT INTO d VALUES ($1, $2)", &params)).expect_err(beyond);
        assert_eq!(error.code, ErrorCode::Params, "{beyond}: {error}");
        assert!(
            error.message.contains("refused rather than rounded"),
            "{error}"
        );
        let script = format!("CREATE TABLE e (v DECIMAL);\nINSERT INTO e VALUES ({beyond});");
        let error = block_on(fresh().import(&script)).expect_err(beyond);
        assert!(error.message.starts_with("statement 2:"), "{error}");
    }
    let error = block_on(db.query("INSERT INTO d VALUES (9, $1)", &[Value::F64(1e-30)]))
        .expect_err("1e-30 as a float");
    assert_eq!(error.code, ErrorCode::Params);
    assert_eq!(texts(&mut db, "SELECT v FROM d"), Vec::<String>::new());
}

/// Through the wire format, the server and a second replica.
#[test]
fn decimals_sync_digit_for_digit() {
    let mut server = MemoryStore::new();
    let mut a = Engine::default();
    let mut b = Engine::default();
    a.set_synced(true);
    b.set_synced(true);
    let mut statements = vec!["CREATE TABLE d (id INTEGER PRIMARY KEY, v DECIMAL)".to_string()];
    for (i, (written, _)) in VALUES.iter().enumerate() {
        statements.push(format!("INSERT INTO d VALUES ({i}, {written})"));
    }
    for sql in &statements {
        a.query(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
        for change_set in a.store_mut().take_change_sets() {
            let wire = decode_change_set(&encode_change_set(&change_set).expect("encode"))
                .expect("decode");
            let (accepted, _) = server.accept_remote(wire).expect("accepted");
            b.store_mut().apply_change_set(accepted).expect("applied");
        }
        a.store_mut().confirm_persisted();
    }
    let rows = b
        .query("SELECT v FROM d ORDER BY id", &[])
        .expect("read")
        .rows;
    let back: Vec<String> = rows
        .iter()
        .map(|row| match &row[0] {
            Value::Decimal(d) => d.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(back, expected());
}
