//! Indexes on expressions and partial indexes answer exactly what a scan answers, and the
//! planner reads them where they fit: a lookup reads only the rows the index selects (the
//! store's row counter), a partial index only where the WHERE implies its predicate.

use {
    gluesql_core::data::Value,
    idbsql::{engine::Engine, store::MemoryStore},
};

const ROWS: i64 = 1_000;

/// `users` (names in mixed case, ages with NULLs) and `orders` (1 in 100 pending), with the
/// given index statements run after the rows.
fn engine(indexes: &[&str]) -> Engine {
    let mut engine = Engine::new(MemoryStore::new());
    for sql in [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, age INTEGER NULL)",
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT, created INTEGER, total FLOAT)",
    ] {
        engine.query(sql, &[]).unwrap();
    }
    let users: Vec<String> = (0..ROWS)
        .map(|i| {
            let name = if i % 2 == 0 {
                format!("User{i}")
            } else {
                format!("USER{i}")
            };
            let age = if i % 3 == 0 {
                "NULL".to_owned()
            } else {
                (i % 90).to_string()
            };
            format!("({i}, '{name}', {age})")
        })
        .collect();
    let orders: Vec<String> = (0..ROWS)
        .map(|i| {
            let status = if i % 100 == 7 { "pending" } else { "shipped" };
            format!("({i}, '{status}', {}, {}.5)", ROWS - i, i % 13)
        })
        .collect();
    for (table, rows) in [("users", users), ("orders", orders)] {
        engine
            .query(
                &format!("INSERT INTO {table} VALUES {}", rows.join(", ")),
                &[],
            )
            .unwrap();
    }
    for sql in indexes {
        engine.query(sql, &[]).expect(sql);
    }
    engine
}

const INDEXES: [&str; 4] = [
    "CREATE INDEX users_lower_name ON users (lower(name))",
    "CREATE INDEX users_age_plus ON users ((age + 1))",
    "CREATE INDEX orders_pending ON orders (created) WHERE status = 'pending'",
    "CREATE INDEX users_known_age ON users (age) WHERE age IS NOT NULL",
];

/// Runs `sql`; its rows and the rows it read of the user's tables. (Each statement also reads
/// the rows of the objects table, where the partial indexes are defined: a lookup by primary
/// key, which reads one row, measures them.)
fn run(engine: &mut Engine, sql: &str) -> (Vec<Vec<Value>>, u64) {
    let read = |engine: &mut Engine, sql: &str| {
        let before = engine.store().rows_read();
        let rows = engine.query(sql, &[]).expect(sql).rows;
        (rows, engine.store().rows_read() - before)
    };
    let (_, by_key) = read(engine, "SELECT id FROM users WHERE id = 1");
    let (rows, count) = read(engine, sql);
    (rows, count - (by_key - 1))
}

#[test]
fn lookups_read_only_the_rows_the_index_selects() {
    let mut indexed = engine(&INDEXES);
    let mut plain = engine(&[]);
    let cases: [(&str, u64); 8] = [
        ("SELECT id FROM users WHERE lower(name) = 'user7'", 1),
        (
            "SELECT id FROM users WHERE LOWER(name) = 'user8' AND id > 0",
            1,
        ),
        ("SELECT id FROM users WHERE age + 1 = 5 ORDER BY id", 12),
        // Pending orders only: 10 of them, whatever else the WHERE asks.
        (
            "SELECT id FROM orders WHERE status = 'pending' AND created > 500 ORDER BY id",
            10,
        ),
        (
            "SELECT id, created FROM orders WHERE status = 'pending' ORDER BY created",
            10,
        ),
        (
            "SELECT COUNT(*) FROM orders WHERE created < 400 AND status = 'pending'",
            10,
        ),
        // `age > 80` is never TRUE for a NULL age: the partial index of known ages serves it.
        ("SELECT id FROM users WHERE age > 85 ORDER BY id", 45),
        (
            "SELECT id FROM users WHERE age BETWEEN 88 AND 89 ORDER BY id",
            25,
        ),
    ];
    for (sql, most) in cases {
        let (rows, read) = run(&mut indexed, sql);
        assert!(
            read <= most,
            "{sql}: read {read} rows, expected at most {most}"
        );
        assert_eq!(rows, run(&mut plain, sql).0, "{sql}");
        assert!(!rows.is_empty(), "{sql}: the case selects rows");
    }
}

/// Where the WHERE does not imply a partial index's predicate (or the table is read twice),
/// the index is not read: the answer is the scan's, rows outside the index included.
#[test]
fn a_partial_index_is_read_only_where_its_predicate_holds() {
    let mut indexed = engine(&INDEXES);
    let mut plain = engine(&[]);
    for sql in [
        "SELECT id FROM orders WHERE created > 990 ORDER BY id",
        "SELECT id FROM orders WHERE status = 'shipped' AND created > 990 ORDER BY id",
        "SELECT id FROM orders WHERE status = 'pending' OR created > 990 ORDER BY id",
        "SELECT id FROM orders ORDER BY created LIMIT 5",
        "SELECT id FROM users WHERE age IS NULL AND id < 20 ORDER BY id",
        "SELECT id FROM users WHERE age IS NOT NULL OR id < 3 ORDER BY age, id LIMIT 5",
        "SELECT o.id FROM orders o WHERE o.status = 'pending' AND o.id IN (SELECT id FROM orders WHERE created > 900) ORDER BY o.id",
        "SELECT a.id, b.id FROM orders a JOIN orders b ON a.created = b.created WHERE a.status = 'pending' AND a.created > 900 ORDER BY 1",
    ] {
        let (rows, _) = run(&mut indexed, sql);
        assert_eq!(rows, run(&mut plain, sql).0, "{sql}");
        assert!(!rows.is_empty(), "{sql}: the case selects rows");
    }
}

#[test]
fn writes_keep_expression_and_partial_indexes_fresh() {
    let mut indexed = engine(&INDEXES);
    let statements = [
        "UPDATE users SET name = 'Zed' WHERE id = 7",
        "UPDATE orders SET status = 'pending' WHERE id = 500",
        "UPDATE orders SET status = 'shipped' WHERE id = 7",
        "DELETE FROM orders WHERE id = 107",
        "INSERT INTO orders VALUES (5000, 'pending', 10000, 1.5)",
        "UPDATE users SET age = 40 WHERE id = 0",
    ];
    for sql in statements {
        indexed.query(sql, &[]).expect(sql);
    }
    indexed.query("BEGIN", &[]).unwrap();
    indexed
        .query("UPDATE orders SET status = 'pending' WHERE id = 600", &[])
        .unwrap();
    indexed.query("ROLLBACK", &[]).unwrap();
    let mut plain = engine(&[]);
    for sql in statements {
        plain.query(sql, &[]).expect(sql);
    }
    for sql in [
        "SELECT id FROM users WHERE lower(name) = 'zed'",
        "SELECT id FROM users WHERE lower(name) = 'user7'",
        "SELECT id FROM orders WHERE status = 'pending' ORDER BY created",
        "SELECT id FROM users WHERE age = 40 ORDER BY id",
        "SELECT id FROM users WHERE age + 1 = 41 ORDER BY id",
    ] {
        assert_eq!(run(&mut indexed, sql).0, run(&mut plain, sql).0, "{sql}");
    }
    let pending = run(
        &mut indexed,
        "SELECT id FROM orders WHERE status = 'pending' ORDER BY created",
    );
    assert_eq!(
        pending.0.last(),
        Some(&vec![Value::I64(5000)]),
        "the inserted pending order comes last"
    );
    assert!(pending.1 <= 10, "read {} rows", pending.1);
}

#[test]
fn index_expressions_that_cannot_stay_true_are_refused() {
    let mut engine = engine(&[]);
    for (sql, says) in [
        ("CREATE INDEX i ON users ((random()))", "immutable"),
        ("CREATE INDEX i ON users ((age + (SELECT 1)))", "subquery"),
        ("CREATE INDEX i ON users ((1 + 2))", "must read a column"),
        ("CREATE INDEX i ON users ((nope + 1))", "does not exist"),
        (
            "CREATE UNIQUE INDEX i ON users (lower(name))",
            "not expressions",
        ),
        (
            "CREATE INDEX i ON users (created) WHERE age > (SELECT 1)",
            "subquery",
        ),
    ] {
        let error = engine.query(sql, &[]).expect_err(sql).to_string();
        assert!(error.contains(says), "{sql}: {error}");
    }
    // An expression that fails on a row already there fails CREATE INDEX, and nothing stays.
    engine
        .query("INSERT INTO users VALUES (5000, 'x', 0)", &[])
        .unwrap();
    assert!(engine
        .query("CREATE INDEX bad ON users ((100 / age))", &[])
        .is_err());
    engine
        .query("CREATE INDEX bad ON users (lower(name))", &[])
        .expect("the name is free again");
}

/// An index on an expression and a partial one travel in the writer's change set, pass the
/// server's check of definitions and serve the other replica's queries.
#[test]
fn expression_and_partial_indexes_sync_through_the_server() {
    let mut server = MemoryStore::new();
    let mut a = Engine::default();
    let mut b = Engine::default();
    a.set_synced(true);
    b.set_synced(true);
    for sql in [
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, done BOOLEAN)",
        "CREATE INDEX item_lower ON item (lower(name))",
        "CREATE INDEX item_open ON item (id) WHERE NOT done",
        "INSERT INTO item VALUES (1, 'Milk', FALSE), (2, 'BREAD', TRUE), (3, 'milk', TRUE)",
    ] {
        a.query(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
        for change_set in a.store_mut().take_change_sets() {
            idbsql::store::check_definitions(&change_set).expect("definitions pass");
            let (accepted, _) = server.accept_remote(change_set).expect("accepted");
            b.store_mut().apply_change_set(accepted).unwrap();
        }
        a.store_mut().confirm_persisted();
    }
    let before = b.store().rows_read();
    let rows = b
        .query(
            "SELECT id FROM item WHERE lower(name) = 'milk' ORDER BY id",
            &[],
        )
        .unwrap()
        .rows;
    assert_eq!(rows, vec![vec![Value::I64(1)], vec![Value::I64(3)]]);
    let open = b
        .query("SELECT id FROM item WHERE NOT done ORDER BY id", &[])
        .unwrap()
        .rows;
    assert_eq!(open, vec![vec![Value::I64(1)]]);
    assert!(b.store().rows_read() - before < 10);
    let tables = b.query("SELECT COUNT(*) FROM item", &[]).unwrap().rows;
    assert_eq!(tables, vec![vec![Value::I64(3)]]);
}

/// An index a hostile replica defined on an expression GlueSQL panics on (LPAD with an empty
/// fill) is evaluated behind the guards: the lookup that reads it is an error, not a crash.
#[test]
fn a_hostile_index_expression_is_an_error_where_it_is_read() {
    use gluesql_core::{
        ast::{Expr, Function, Literal},
        chrono::NaiveDateTime,
        data::{Key, Schema, SchemaIndex, SchemaIndexOrd},
    };
    use idbsql::protocol::{ChangeSet, SchemaChange, TableChange};
    let text = |s: &str| Expr::Literal(Literal::QuotedString(s.into()));
    let lpad = Expr::Function(Box::new(Function::Lpad {
        expr: Expr::Identifier("name".into()),
        size: Expr::Literal(Literal::Number(10.into())),
        fill: Some(text("")),
    }));
    let schema = Schema {
        table_name: "fresh".into(),
        column_defs: Some(vec![gluesql_core::ast::ColumnDef {
            name: "name".into(),
            data_type: gluesql_core::ast::DataType::Text,
            nullable: true,
            default: None,
            unique: None,
            comment: None,
        }]),
        indexes: vec![SchemaIndex {
            name: "i".into(),
            expr: lpad,
            order: SchemaIndexOrd::Both,
            created: NaiveDateTime::default(),
        }],
        engine: None,
        foreign_keys: Vec::new(),
        comment: None,
    };
    let change_set = ChangeSet {
        tables: vec![TableChange {
            name: "fresh".into(),
            schema: SchemaChange::Create {
                schema: Box::new(schema),
                created: NaiveDateTime::default(),
            },
            rows: vec![(Key::Uuid(7), Some(vec![Value::Str("short".into())]))],
        }],
        functions: Vec::new(),
    };
    idbsql::store::check_definitions(&change_set).expect("a guarded expression passes");
    let mut store = MemoryStore::new();
    store.apply_change_set(change_set).unwrap();
    let mut engine = Engine::new(store);
    let error = engine
        .query("SELECT name FROM fresh WHERE lpad(name, 10, '') = 'x'", &[])
        .expect_err("the index cannot be built");
    assert!(error.to_string().contains("empty fill"), "{error}");
}
