//! Export and import: a dump recreates every value, schema, index and function exactly, and a
//! failing import changes nothing.

use {
    futures::executor::block_on,
    idbsql::{
        persist::memory::{MemoryDisk, MemoryPersistence},
        Database, ErrorCode,
    },
    std::{cell::RefCell, rc::Rc},
};

type Db = Database<MemoryPersistence>;

fn open(disk: &Rc<RefCell<MemoryDisk>>) -> Db {
    block_on(Database::open(MemoryPersistence::shared(Rc::clone(disk)))).expect("open")
}

fn fresh() -> Db {
    open(&Rc::new(RefCell::new(MemoryDisk::default())))
}

/// Rows as their Debug text, so NaN equals NaN and -0.0 differs from 0.0.
fn rows_text(db: &mut Db, sql: &str) -> String {
    format!("{:?}", block_on(db.query(sql, &[])).expect(sql).rows)
}

fn exec(db: &mut Db, sql: &str) {
    block_on(db.exec(sql)).expect(sql);
}

/// Exports `source`, imports into a fresh database, and checks that each query answers alike
/// and that exporting the copy gives the same text.
fn assert_round_trip(source: &mut Db, queries: &[&str]) -> Db {
    let dump = source.export().expect("export");
    let mut copy = fresh();
    block_on(copy.import(&dump)).unwrap_or_else(|e| panic!("import failed: {e}\n{dump}"));
    for query in queries {
        assert_eq!(
            rows_text(source, query),
            rows_text(&mut copy, query),
            "{query}"
        );
    }
    assert_eq!(copy.export().expect("export copy"), dump);
    copy
}

#[test]
fn every_value_type_round_trips() {
    let mut db = fresh();
    exec(&mut db, include_str!("fixtures/every_value_type.sql"));
    assert_round_trip(&mut db, &["SELECT * FROM v"]);
}

#[test]
fn floats_round_trip_bit_for_bit() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE f (id INT PRIMARY KEY, d FLOAT, s FLOAT32, p POINT)",
    );
    let doubles = [
        "0.1",
        "1e-310",
        "1.7976931348623157e308",
        "-2.2250738585072014e-308",
        "5e-324",
        "-0.0",
        "CAST('NaN' AS FLOAT)",
        "CAST('inf' AS FLOAT)",
        "CAST('-inf' AS FLOAT)",
        "123456789.12345678",
    ];
    for (id, double) in doubles.iter().enumerate() {
        exec(
            &mut db,
            &format!("INSERT INTO f VALUES ({id}, {double}, 3.4028235e38, POINT(0.1, -1e-300))"),
        );
    }
    exec(
        &mut db,
        "INSERT INTO f VALUES (100, 1, CAST('NaN' AS FLOAT32), POINT(-0.0, 0)), (101, 2, 1e-45, NULL)",
    );
    assert_round_trip(&mut db, &["SELECT * FROM f ORDER BY id"]);
}

#[test]
fn schema_indexes_functions_and_references_round_trip() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE z_parent (id INT PRIMARY KEY, name TEXT NOT NULL UNIQUE, \
             note TEXT DEFAULT 'none');
         CREATE TABLE a_child (id INT PRIMARY KEY, parent_id INT NULL, \
             FOREIGN KEY (parent_id) REFERENCES z_parent (id));
         CREATE INDEX idx_child_parent ON a_child (parent_id);
         CREATE TABLE log (message TEXT, at INT);
         CREATE TABLE doc;
         CREATE FUNCTION add_one(x INT, y INT DEFAULT 1) RETURN x + y;
         INSERT INTO z_parent (id, name) VALUES (1, 'it''s one'), (2, 'two');
         INSERT INTO a_child VALUES (10, 1), (11, 2), (12, NULL);
         INSERT INTO log VALUES ('third', 3), ('first', 1), ('second', 2);
         INSERT INTO doc VALUES ('{\"id\": 1, \"tags\": [\"a\", \"b\"], \"nested\": {\"x\": null}}');",
    );
    let mut copy = assert_round_trip(
        &mut db,
        &[
            "SELECT * FROM z_parent ORDER BY id",
            "SELECT * FROM a_child ORDER BY id",
            // Key-less rows keep their insertion order.
            "SELECT * FROM log",
            "SELECT * FROM doc",
            "SELECT add_one(41)",
            "SHOW INDEXES FROM a_child",
        ],
    );
    // Constraints came along: the copy refuses what the original refuses.
    let duplicate = block_on(copy.query("INSERT INTO z_parent (id, name) VALUES (3, 'two')", &[]));
    assert_eq!(duplicate.unwrap_err().code, ErrorCode::Constraint);
    let orphan = block_on(copy.query("INSERT INTO a_child VALUES (13, 99)", &[]));
    assert!(orphan.is_err(), "the foreign key must hold in the copy");
}

/// A DEFAULT that computes a constant is kept as its value, which is what the catalog shows and
/// the export writes: a copy made from the export gives new rows the same values.
#[test]
fn computed_defaults_are_kept_as_their_values() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE d (id INT PRIMARY KEY, half INTEGER DEFAULT (7.0 / 2), \
             third FLOAT DEFAULT (1 / 3.0), day DATE DEFAULT (DATE '2024-02-28' + 2), \
             tag TEXT DEFAULT ('a' || 'b'));
         INSERT INTO d (id) VALUES (1);",
    );
    let tables = db.tables().expect("tables");
    let defaults: Vec<Option<String>> = tables[0]
        .columns
        .iter()
        .map(|c| c.default.clone())
        .collect();
    assert_eq!(
        defaults,
        vec![
            None,
            Some("4".to_owned()),
            Some("CAST('0.3333333333333333' AS FLOAT)".to_owned()),
            Some("CAST('2024-03-01' AS DATE)".to_owned()),
            Some("'ab'".to_owned()),
        ]
    );
    let mut copy = assert_round_trip(&mut db, &["SELECT * FROM d"]);
    exec(&mut copy, "INSERT INTO d (id) VALUES (2)");
    assert_eq!(
        rows_text(
            &mut copy,
            "SELECT half, third, day, tag FROM d WHERE id = 2"
        ),
        rows_text(&mut db, "SELECT half, third, day, tag FROM d WHERE id = 1")
    );
}

#[test]
fn many_rows_round_trip_in_batches() {
    let mut db = fresh();
    exec(&mut db, "CREATE TABLE big (id INT PRIMARY KEY, label TEXT)");
    let values = (0..1234)
        .map(|i| format!("({i}, 'row {i}')"))
        .collect::<Vec<_>>()
        .join(", ");
    exec(&mut db, &format!("INSERT INTO big VALUES {values}"));
    let copy = assert_round_trip(&mut db, &["SELECT * FROM big ORDER BY id"]);
    let summary = block_on(fresh().import(&copy.export().unwrap())).unwrap();
    assert_eq!(summary.rows, 1234);
}

#[test]
fn a_failing_import_changes_nothing_and_names_the_statement() {
    let disk = Rc::new(RefCell::new(MemoryDisk::default()));
    let mut db = open(&disk);
    exec(
        &mut db,
        "CREATE TABLE kept (x INT); INSERT INTO kept VALUES (1);",
    );
    let log_before = disk.borrow().log.len();
    let error = block_on(db.import(
        "CREATE TABLE imported (x INT); INSERT INTO imported VALUES (1); INSERT INTO kept VALUES ('not a number');",
    ))
    .unwrap_err();
    assert!(
        error.message.starts_with("statement 3:"),
        "{}",
        error.message
    );
    assert_eq!(disk.borrow().log.len(), log_before);
    assert!(block_on(db.query("SELECT * FROM imported", &[])).is_err());
    assert_eq!(rows_text(&mut db, "SELECT * FROM kept"), "[[I64(1)]]");
    // Still usable, and not left inside a transaction.
    exec(&mut db, "INSERT INTO kept VALUES (2)");
    db.close();
    let mut reopened = open(&disk);
    assert_eq!(
        rows_text(&mut reopened, "SELECT * FROM kept"),
        "[[I64(1)], [I64(2)]]"
    );
}

#[test]
fn import_refuses_transaction_statements_and_export_refuses_open_transactions() {
    let mut db = fresh();
    let error = block_on(db.import("BEGIN; CREATE TABLE t (x INT); COMMIT;")).unwrap_err();
    assert_eq!(error.code, ErrorCode::Params);
    assert!(
        error.message.starts_with("statement 1:"),
        "{}",
        error.message
    );
    let malformed = block_on(db.import("CREATE TABLE (")).unwrap_err();
    assert_eq!(malformed.code, ErrorCode::Parse);
    exec(&mut db, "BEGIN");
    assert_eq!(db.export().unwrap_err().code, ErrorCode::Execute);
    assert_eq!(
        block_on(db.import("CREATE TABLE t (x INT)"))
            .unwrap_err()
            .code,
        ErrorCode::Execute
    );
}

#[test]
fn importing_into_a_database_that_has_the_table_fails_cleanly() {
    let mut db = fresh();
    exec(&mut db, "CREATE TABLE t (x INT); INSERT INTO t VALUES (7);");
    let dump = db.export().unwrap();
    let error = block_on(db.import(&dump)).unwrap_err();
    assert!(
        error.message.starts_with("statement 1:"),
        "{}",
        error.message
    );
    assert_eq!(rows_text(&mut db, "SELECT * FROM t"), "[[I64(7)]]");
}

#[test]
fn views_and_unique_and_multi_column_indexes_round_trip() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE item (id INTEGER PRIMARY KEY, sku TEXT, shelf INTEGER, bin INTEGER); \
         CREATE UNIQUE INDEX item_sku ON item (sku); \
         CREATE UNIQUE INDEX item_place ON item (shelf, bin); \
         CREATE INDEX item_bin_shelf ON item (bin DESC, shelf); \
         INSERT INTO item VALUES (1, 'a', 1, 1), (2, 'b', 1, 2), (3, 'c', 2, 1); \
         CREATE VIEW zz_base AS SELECT id, shelf FROM item WHERE shelf = 1; \
         CREATE VIEW aa_top (ident) AS SELECT id FROM zz_base WHERE id > 1;",
    );
    let dump = db.export().unwrap();
    assert!(
        !dump.contains("__idbsql"),
        "the hidden table is not dumped:\n{dump}"
    );
    assert!(
        dump.contains("CREATE UNIQUE INDEX item_place ON item(shelf,bin)"),
        "{dump}"
    );
    // A view comes after the view it reads, whatever their names.
    assert!(
        dump.find("CREATE VIEW \"zz_base\"").unwrap()
            < dump.find("CREATE VIEW \"aa_top\"").unwrap()
    );
    let mut copy = assert_round_trip(&mut db, &["SELECT * FROM aa_top", "SELECT * FROM item"]);
    // UNIQUE is enforced in the copy too.
    let error = block_on(copy.query("INSERT INTO item VALUES (4, 'd', 2, 1)", &[])).unwrap_err();
    assert_eq!(error.code, ErrorCode::Constraint);
}

/// What a synced writer can name, as its change set arrives (names GlueSQL's own DDL text
/// wrote without doubling their quotes).
fn hostile_schema(name: &str) -> gluesql_core::data::Schema {
    use gluesql_core::ast::{ColumnDef, ColumnUniqueOption, DataType};
    let column = |name: &str, primary: bool| ColumnDef {
        name: name.into(),
        data_type: DataType::Int,
        nullable: !primary,
        default: None,
        unique: primary.then_some(ColumnUniqueOption { is_primary: true }),
        comment: Some("it's'); DROP TABLE victim; --".into()),
    };
    gluesql_core::data::Schema {
        table_name: name.into(),
        column_defs: Some(vec![
            column("id", true),
            column("v\"); DROP TABLE victim; --", false),
        ]),
        indexes: Vec::new(),
        engine: None,
        foreign_keys: Vec::new(),
        comment: Some("'; DROP TABLE victim; --".into()),
    }
}

#[test]
fn names_from_a_synced_writer_cannot_add_statements_to_a_dump() {
    use gluesql_core::data::{Key, Value};
    use idbsql::protocol::{ChangeSet, SchemaChange, TableChange};
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE victim (id INT PRIMARY KEY); INSERT INTO victim VALUES (1);",
    );
    let name = "t\" (id INT); DROP TABLE victim; --";
    let mut engine = idbsql::engine::Engine::default();
    for statement in db.export().unwrap().split_inclusive(";\n") {
        engine.query(statement, &[]).unwrap();
    }
    engine
        .store_mut()
        .apply_change_set(ChangeSet {
            tables: vec![TableChange {
                name: name.into(),
                schema: SchemaChange::Create {
                    schema: Box::new(hostile_schema(name)),
                    created: gluesql_core::chrono::NaiveDateTime::default(),
                },
                rows: vec![(Key::I64(1), Some(vec![Value::I64(1), Value::I64(2)]))],
            }],
            functions: Vec::new(),
        })
        .unwrap();
    let dump = idbsql::dump::dump_sql(&engine).unwrap();
    let mut copy = fresh();
    block_on(copy.import(&dump)).unwrap_or_else(|e| panic!("{e}\n{dump}"));
    assert_eq!(rows_text(&mut copy, "SELECT * FROM victim"), "[[I64(1)]]");
    let tables: Vec<String> = copy.tables().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(tables, vec![name.to_owned(), "victim".to_owned()], "{dump}");
    assert_eq!(copy.export().unwrap(), dump);
}

#[test]
fn a_stored_view_that_is_not_one_create_view_is_refused_by_export() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE victim (id INT PRIMARY KEY); CREATE VIEW v AS SELECT id FROM victim;",
    );
    // As a synced writer could rewrite the hidden row that holds the definition.
    block_on(db.query(
        "UPDATE __idbsql_objects SET definition = 'CREATE VIEW v AS SELECT 1; DROP TABLE victim' WHERE name = 'v'",
        &[],
    ))
    .unwrap_err();
    let mut engine = idbsql::engine::Engine::default();
    engine
        .query("CREATE TABLE victim (id INT PRIMARY KEY)", &[])
        .unwrap();
    engine
        .query("CREATE VIEW v AS SELECT id FROM victim", &[])
        .unwrap();
    let mut change = engine.store().snapshot(1000).remove(1);
    for table in &mut change.tables {
        if table.name == "__idbsql_objects" {
            for (_, row) in &mut table.rows {
                if let Some(row) = row {
                    row[4] = gluesql_core::data::Value::Str(
                        "CREATE VIEW v AS SELECT 1; DROP TABLE victim".into(),
                    );
                }
            }
        }
    }
    engine.store_mut().apply_change_set(change).unwrap();
    let error = idbsql::dump::dump_sql(&engine).unwrap_err();
    assert_eq!(error.code, ErrorCode::Execute);
    assert!(error.message.contains("view v"), "{}", error.message);
}

/// A SERIAL or IDENTITY column comes back as one, going on from where its sequence stood (a
/// deleted largest key is not handed out again), and GENERATED ALWAYS keeps its stored values.
#[test]
fn generated_keys_round_trip_and_go_on_where_they_stood() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE a (id SERIAL PRIMARY KEY, v TEXT);
         CREATE TABLE b (id INTEGER GENERATED ALWAYS AS IDENTITY (INCREMENT BY 5) PRIMARY KEY, v TEXT);
         INSERT INTO a (v) VALUES ('x'), ('y'), ('z');
         DELETE FROM a WHERE id = 3;
         INSERT INTO b (v) VALUES ('p'), ('q');",
    );
    let mut copy = assert_round_trip(
        &mut db,
        &["SELECT * FROM a ORDER BY id", "SELECT * FROM b ORDER BY id"],
    );
    for db in [&mut db, &mut copy] {
        exec(
            db,
            "INSERT INTO a (v) VALUES ('w'); INSERT INTO b (v) VALUES ('r')",
        );
        assert_eq!(
            rows_text(db, "SELECT id FROM a ORDER BY id"),
            "[[I64(1)], [I64(2)], [I64(4)]]"
        );
        assert_eq!(
            rows_text(db, "SELECT id FROM b ORDER BY id"),
            "[[I64(1)], [I64(6)], [I64(11)]]"
        );
        let refused = block_on(db.query("INSERT INTO b (id, v) VALUES (99, 's')", &[]))
            .expect_err("GENERATED ALWAYS");
        assert_eq!(refused.code, ErrorCode::Constraint);
    }
}

#[test]
fn foreign_keys_round_trip_with_their_actions_and_stay_enforced() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE node (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES node (id) ON DELETE CASCADE);
         CREATE TABLE room (building TEXT PRIMARY KEY, num INTEGER, UNIQUE (building, num));
         CREATE TABLE booking (id INTEGER PRIMARY KEY, building TEXT, num INTEGER,
           CONSTRAINT \"booking room\" FOREIGN KEY (building, num) REFERENCES room (building, num) ON DELETE SET NULL ON UPDATE CASCADE);
         INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2);
         INSERT INTO room VALUES ('main', 1);
         INSERT INTO booking VALUES (1, 'main', 1);",
    );
    let dump = db.export().expect("export");
    assert!(
        dump.contains("ALTER TABLE \"booking\" ADD CONSTRAINT \"booking room\" FOREIGN KEY (\"building\", \"num\") REFERENCES \"room\" (\"building\", \"num\") ON DELETE SET NULL ON UPDATE CASCADE;"),
        "{dump}"
    );
    let mut copy = assert_round_trip(
        &mut db,
        &["SELECT * FROM node ORDER BY id", "SELECT * FROM booking"],
    );
    let refused = block_on(copy.query("INSERT INTO booking VALUES (2, 'annex', 1)", &[]));
    assert_eq!(refused.map(|_| ()).unwrap_err().code, ErrorCode::Constraint);
    exec(
        &mut copy,
        "DELETE FROM node WHERE id = 1; UPDATE room SET num = 2",
    );
    assert_eq!(
        rows_text(&mut copy, "SELECT COUNT(*) FROM node"),
        "[[I64(0)]]"
    );
    assert_eq!(
        rows_text(&mut copy, "SELECT num FROM booking"),
        "[[I64(2)]]"
    );
}

#[test]
fn check_constraints_round_trip_and_stay_enforced() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE item (id INTEGER PRIMARY KEY, qty INTEGER CHECK (qty >= 0), \"lo\" INTEGER, hi INTEGER,
           CONSTRAINT \"lo below hi\" CHECK (\"lo\" < hi));
         INSERT INTO item VALUES (1, 3, 1, 2);",
    );
    let dump = db.export().expect("export");
    assert!(
        dump.contains("ALTER TABLE \"item\" ADD CONSTRAINT \"lo below hi\" CHECK (\"lo\" < hi);"),
        "{dump}"
    );
    let mut copy = assert_round_trip(&mut db, &["SELECT * FROM item"]);
    for sql in [
        "INSERT INTO item VALUES (2, -1, 1, 2)",
        "UPDATE item SET hi = 0",
    ] {
        let refused = block_on(copy.query(sql, &[]));
        assert_eq!(
            refused.map(|_| ()).unwrap_err().code,
            ErrorCode::Constraint,
            "{sql}"
        );
    }
}

#[test]
fn partial_unique_indexes_round_trip_with_their_predicate() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE account (id INTEGER PRIMARY KEY, email TEXT, deleted BOOLEAN);
         CREATE UNIQUE INDEX live_email ON account (email) WHERE NOT deleted;
         INSERT INTO account VALUES (1, 'a@x', FALSE), (2, 'a@x', TRUE);",
    );
    let dump = db.export().expect("export");
    assert!(dump.contains("WHERE NOT deleted;"), "{dump}");
    let mut copy = assert_round_trip(&mut db, &["SELECT * FROM account ORDER BY id"]);
    let refused = block_on(copy.query("INSERT INTO account VALUES (3, 'a@x', FALSE)", &[]));
    assert_eq!(refused.map(|_| ()).unwrap_err().code, ErrorCode::Constraint);
    exec(&mut copy, "INSERT INTO account VALUES (3, 'a@x', TRUE)");
}

#[test]
fn expression_and_partial_indexes_round_trip() {
    let mut db = fresh();
    exec(
        &mut db,
        "CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT, age INTEGER);
         CREATE INDEX person_lower ON person (lower(name));
         CREATE INDEX person_next ON person ((age + 1));
         CREATE INDEX person_adult ON person (age) WHERE age >= 18;
         INSERT INTO person VALUES (1, 'Ann', 30), (2, 'bob', 12), (3, 'ANN', NULL);",
    );
    let dump = db.export().expect("export");
    assert!(dump.contains("WHERE age >= 18;"), "{dump}");
    assert!(dump.contains("ON person(lower(name));"), "{dump}");
    let tables = db.tables().expect("tables");
    let person = tables.iter().find(|t| t.name == "person").expect("person");
    let exprs: Vec<&str> = person.indexes.iter().map(|i| i.expr.as_str()).collect();
    assert!(exprs.contains(&"lower(name)"), "{exprs:?}");
    assert!(exprs.contains(&"(age + 1)"), "{exprs:?}");
    assert!(exprs.contains(&"\"age\""), "{exprs:?}");
    let mut copy = assert_round_trip(
        &mut db,
        &[
            "SELECT id FROM person WHERE lower(name) = 'ann' ORDER BY id",
            "SELECT id FROM person WHERE age + 1 = 13",
            "SELECT id FROM person WHERE age >= 18 AND age < 40",
        ],
    );
    let copied = copy.tables().expect("tables");
    let person = copied.iter().find(|t| t.name == "person").expect("person");
    assert_eq!(person.indexes.len(), 3, "{:?}", person.indexes);
}
