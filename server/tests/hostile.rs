//! The release shape of an attack: the real `idbsql-server` binary, a hostile client doing
//! one thing, then a check that the process still runs, other databases and clients still
//! work, and no acknowledged change was lost.

mod common;

use {
    common::{
        binary::ServerProcess,
        client::{change_set, read_log, Client},
        node::{settle, Node},
    },
    gluesql_core::{
        ast::{ColumnDef, DataType, Expr, Function, Literal},
        chrono::NaiveDateTime,
        data::{CustomFunction, Key, Schema, SchemaIndex, SchemaIndexOrd, Value},
    },
    idbsql::{
        engine::Engine,
        protocol::{
            decode_change_set, encode_change_set,
            messages::{ClientMessage, ErrorKind, ServerMessage},
            ChangeSet, FunctionChange, SchemaChange, TableChange,
        },
    },
    std::net::SocketAddr,
    tokio::io::{AsyncReadExt, AsyncWriteExt},
    tokio_tungstenite::{
        connect_async,
        tungstenite::{client::IntoClientRequest, http::HeaderValue},
    },
};

fn text(s: &str) -> Expr {
    Expr::Literal(Literal::QuotedString(s.into()))
}

fn number(n: i64) -> Expr {
    Expr::Literal(Literal::Number(n.into()))
}

fn call(function: Function) -> Expr {
    Expr::Function(Box::new(function))
}

fn column(name: &str, data_type: DataType, default: Option<Expr>) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        data_type,
        nullable: true,
        default,
        unique: None,
        comment: None,
    }
}

fn create(schema: Schema) -> ChangeSet {
    ChangeSet {
        tables: vec![TableChange {
            name: schema.table_name.clone(),
            schema: SchemaChange::Create {
                schema: Box::new(schema),
                created: NaiveDateTime::default(),
            },
            rows: Vec::new(),
        }],
        functions: Vec::new(),
    }
}

fn table(name: &str, columns: Vec<ColumnDef>) -> Schema {
    Schema {
        table_name: name.into(),
        column_defs: Some(columns),
        indexes: Vec::new(),
        engine: None,
        foreign_keys: Vec::new(),
        comment: None,
    }
}

/// Pushes and returns the answer, which must be a Reject naming `reason`.
async fn rejected(client: &mut Client, client_seq: u64, change_set: &ChangeSet, reason: &str) {
    match client
        .push(client_seq, encode_change_set(change_set).unwrap())
        .await
    {
        ServerMessage::Reject { reason: got, .. } => {
            assert!(got.contains(reason), "{got:?} should mention {reason:?}")
        }
        other => panic!("push {client_seq} should be rejected, got {other:?}"),
    }
}

async fn acked(client: &mut Client, client_seq: u64, bytes: Vec<u8>) -> u64 {
    match client.push(client_seq, bytes).await {
        ServerMessage::Ack { server_seq, .. } => server_seq,
        other => panic!("push {client_seq} should be acknowledged, got {other:?}"),
    }
}

/// Pushes each statement's change set in turn (client_seq from `first`), all acknowledged.
async fn acked_all(client: &mut Client, engine: &mut Engine, first: u64, statements: &[&str]) {
    for (i, sql) in statements.iter().enumerate() {
        acked(client, first + i as u64, change_set(engine, sql)).await;
    }
}

/// Another database on the same server takes a push and serves it back.
async fn other_database_works(addr: SocketAddr) {
    let (mut client, welcome) = Client::hello(addr, "bystander", 77, "", 0).await;
    assert!(matches!(welcome, ServerMessage::Welcome { .. }));
    let mut engine = Engine::default();
    let seq = acked(
        &mut client,
        1,
        change_set(&mut engine, "CREATE TABLE ok (id INT PRIMARY KEY)"),
    )
    .await;
    assert!(read_log(addr, "bystander")
        .await
        .iter()
        .any(|e| e.seq == seq));
}

#[tokio::test]
async fn a_rejected_change_set_leaves_nothing_behind_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &[], &[]);
    let (mut a, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let mut engine = Engine::default();
    let setup = [
        "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)",
        "INSERT INTO t VALUES (1, 'kept')",
    ];
    acked_all(&mut a, &mut engine, 1, &setup).await;

    // [CREATE ghost, Unchanged no_such_table]: the second part cannot apply.
    let mut ghost = decode_change_set(&change_set(
        &mut Engine::default(),
        "CREATE TABLE ghost (x INT)",
    ))
    .unwrap();
    ghost.tables.push(TableChange {
        name: "no_such_table".into(),
        schema: SchemaChange::Unchanged,
        rows: Vec::new(),
    });
    rejected(&mut a, 3, &ghost, "unknown table").await;
    // [Drop t, Unchanged t].
    let drop_then_touch = ChangeSet {
        tables: vec![
            TableChange {
                name: "t".into(),
                schema: SchemaChange::Drop,
                rows: Vec::new(),
            },
            TableChange {
                name: "t".into(),
                schema: SchemaChange::Unchanged,
                rows: Vec::new(),
            },
        ],
        functions: Vec::new(),
    };
    rejected(&mut a, 4, &drop_then_touch, "unknown table").await;
    // Neither left anything: ghost does not exist, t does.
    let mut writer = Engine::default();
    change_set(&mut writer, "CREATE TABLE ghost (x INT)");
    let into_ghost =
        decode_change_set(&change_set(&mut writer, "INSERT INTO ghost VALUES (1)")).unwrap();
    rejected(&mut a, 5, &into_ghost, "unknown table").await;
    acked(
        &mut a,
        6,
        change_set(&mut engine, "INSERT INTO t VALUES (2, 'also')"),
    )
    .await;
    assert!(server.is_running());

    // Restarted, every Hello still works and the log replays to the same rows.
    drop(server);
    let server = ServerProcess::start(dir.path(), &[], &[]);
    let mut node = Node::new(9);
    node.connect_to(server.addr, "db").await;
    settle(&mut [&mut node]).await;
    assert_eq!(
        node.rows("SELECT id, v FROM t ORDER BY id"),
        vec![
            vec![Value::I64(1), Value::Str("kept".into())],
            vec![Value::I64(2), Value::Str("also".into())]
        ]
    );
    assert!(node.replica.query("SELECT * FROM ghost", &[]).is_err());
}

#[tokio::test]
async fn expressions_glue_sql_panics_on_are_refused_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &[], &[]);
    let (mut a, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let mut engine = Engine::default();
    acked(
        &mut a,
        1,
        change_set(
            &mut engine,
            "CREATE TABLE t (id INT PRIMARY KEY, name TEXT)",
        ),
    )
    .await;
    acked(
        &mut a,
        2,
        change_set(&mut engine, "INSERT INTO t VALUES (1, 'é')"),
    )
    .await;

    let lpad = |expr: Expr, size: i64, fill: Option<&str>| {
        call(Function::Lpad {
            expr,
            size: number(size),
            fill: fill.map(text),
        })
    };
    let defaults = [
        (lpad(text("x"), 10, Some("")), "empty fill"),
        (lpad(text("é"), 1, None), "not ASCII"),
        (
            call(Function::Repeat {
                expr: text("x"),
                num: number(i64::MAX),
            }),
            "longer than",
        ),
        (
            call(Function::Format {
                expr: Expr::TypedString {
                    data_type: DataType::Date,
                    value: "2020-01-01".into(),
                },
                format: text("%Q"),
            }),
            "not a valid format",
        ),
    ];
    let mut seq = 2;
    for (default, reason) in defaults {
        // As a new table, and as ALTER TABLE … ADD COLUMN over a table with rows (the server
        // evaluates the default to rewrite them).
        seq += 1;
        let mut schema = table(
            "fresh",
            vec![column("v", DataType::Text, Some(default.clone()))],
        );
        rejected(&mut a, seq, &create(schema.clone()), reason).await;
        schema.table_name = "t".into();
        schema.column_defs = Some(vec![
            ColumnDef {
                unique: Some(gluesql_core::ast::ColumnUniqueOption { is_primary: true }),
                nullable: false,
                ..column("id", DataType::Int, None)
            },
            column("name", DataType::Text, None),
            column("v", DataType::Text, Some(default)),
        ]);
        seq += 1;
        let alter = ChangeSet {
            tables: vec![TableChange {
                name: "t".into(),
                schema: SchemaChange::Alter(Box::new(schema)),
                rows: Vec::new(),
            }],
            functions: Vec::new(),
        };
        rejected(&mut a, seq, &alter, reason).await;
        assert!(server.is_running());
    }

    // An index on an expression is evaluated on every replica that reads it: one naming
    // anything but its table's columns is refused; one GlueSQL would panic on is stored, and
    // evaluated behind the guards (a replica's lookup gets an error: tests/expression_indexes.rs).
    let index = |expr: Expr| SchemaIndex {
        name: "i".into(),
        expr,
        order: SchemaIndexOrd::Both,
        created: NaiveDateTime::default(),
    };
    let mut elsewhere = table("fresh", vec![column("name", DataType::Text, None)]);
    elsewhere
        .indexes
        .push(index(lpad(Expr::Identifier("nope".into()), 10, Some(""))));
    seq += 1;
    rejected(&mut a, seq, &create(elsewhere), "not on its columns").await;
    let mut indexed = table("fresh", vec![column("name", DataType::Text, None)]);
    indexed
        .indexes
        .push(index(lpad(Expr::Identifier("name".into()), 10, Some(""))));
    seq += 1;
    acked(&mut a, seq, encode_change_set(&create(indexed)).unwrap()).await;
    let row = ChangeSet {
        tables: vec![TableChange {
            name: "fresh".into(),
            schema: SchemaChange::Unchanged,
            rows: vec![(Key::Uuid(7), Some(vec![Value::Str("short".into())]))],
        }],
        functions: Vec::new(),
    };
    seq += 1;
    acked(&mut a, seq, encode_change_set(&row).unwrap()).await;
    assert!(server.is_running());

    // A function body is stored as written and guarded where it runs: accepted, and a
    // replica that calls it gets an error, not a crash.
    let function = ChangeSet {
        tables: Vec::new(),
        functions: vec![FunctionChange {
            name: "PAD".into(),
            function: Some(CustomFunction {
                func_name: "pad".into(),
                args: vec![gluesql_core::ast::OperateFunctionArg {
                    name: "x".into(),
                    data_type: DataType::Text,
                    default: None,
                }],
                body: lpad(Expr::Identifier("x".into()), 10, Some("")),
            }),
        }],
    };
    seq += 1;
    acked(&mut a, seq, encode_change_set(&function).unwrap()).await;
    let mut node = Node::new(5);
    node.connect_to(server.addr, "db").await;
    settle(&mut [&mut node]).await;
    let error = node
        .replica
        .query("SELECT pad(name) FROM t", &[])
        .unwrap_err();
    assert!(error.message.contains("LPAD"), "{}", error.message);
    assert_eq!(
        node.rows("SELECT name FROM t"),
        vec![vec![Value::Str("é".into())]]
    );

    assert!(server.is_running());
    other_database_works(server.addr).await;
}

#[tokio::test]
async fn a_panic_in_one_database_stays_in_that_database() {
    let dir = tempfile::tempdir().unwrap();
    // Debug builds only: a push touching table `boom` panics the writer.
    let mut server = ServerProcess::start(dir.path(), &[], &[("IDBSQL_TEST_PANIC_TABLE", "boom")]);
    let (mut a, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let mut engine = Engine::default();
    let first = acked(
        &mut a,
        1,
        change_set(&mut engine, "CREATE TABLE t (id INT PRIMARY KEY)"),
    )
    .await;
    let boom = change_set(&mut Engine::default(), "CREATE TABLE boom (x INT)");
    // Sent together, so the panic falls inside one batch with pushes after it.
    a.send_push(2, change_set(&mut engine, "INSERT INTO t VALUES (1)"))
        .await;
    a.send_push(3, boom).await;
    a.send_push(4, change_set(&mut engine, "INSERT INTO t VALUES (2)"))
        .await;
    let mut answers = Vec::new();
    while answers.len() < 3 {
        match a.recv().await.expect("the connection stays open") {
            ServerMessage::Ack { client_seq, .. } => answers.push((client_seq, true)),
            ServerMessage::Reject { client_seq, reason } => {
                assert!(
                    !reason.contains("IDBSQL_TEST"),
                    "no internal detail: {reason}"
                );
                answers.push((client_seq, false))
            }
            _ => {}
        }
    }
    answers.sort();
    assert_eq!(answers, vec![(2, true), (3, false), (4, true)]);
    assert!(server.is_running());
    other_database_works(server.addr).await;

    // The database goes on, from a replica rebuilt from its log.
    acked(
        &mut a,
        5,
        change_set(&mut engine, "INSERT INTO t VALUES (3)"),
    )
    .await;
    let log = read_log(server.addr, "db").await;
    assert_eq!(log.first().map(|e| e.seq), Some(first));
    assert_eq!(log.len(), 4);
    let mut node = Node::new(3);
    node.connect_to(server.addr, "db").await;
    settle(&mut [&mut node]).await;
    assert_eq!(
        node.rows("SELECT id FROM t ORDER BY id"),
        vec![
            vec![Value::I64(1)],
            vec![Value::I64(2)],
            vec![Value::I64(3)]
        ]
    );
}

/// Opens `/sync` as a browser page of `origin` would (or a native client, without one).
async fn open_sync(addr: SocketAddr, origin: Option<&str>) -> Result<(), u16> {
    let mut request = format!("ws://{addr}/sync").into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    match connect_async(request).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn pages_of_other_sites_cannot_open_sync() {
    let dir = tempfile::tempdir().unwrap();
    // As `npm run demo` runs it: no secret.
    let mut server = ServerProcess::start(dir.path(), &[], &[]);
    let own = format!("http://{}", server.addr);
    assert_eq!(
        open_sync(server.addr, Some("https://evil.example")).await,
        Err(403)
    );
    assert_eq!(open_sync(server.addr, Some("null")).await, Err(403));
    assert_eq!(open_sync(server.addr, Some(&own)).await, Ok(()));
    assert_eq!(
        open_sync(server.addr, Some("http://localhost:5173")).await,
        Ok(())
    );
    assert_eq!(open_sync(server.addr, None).await, Ok(()));
    assert!(server.is_running());
    drop(server);

    // With a secret, loopback pages are no longer trusted; listed origins are.
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "a test secret of enough bytes").unwrap();
    let secret = secret.to_str().unwrap();
    let server = ServerProcess::start(
        &dir.path().join("data"),
        &[
            "--secret-file",
            secret,
            "--allow-origin",
            "https://app.example",
        ],
        &[],
    );
    assert_eq!(
        open_sync(server.addr, Some("http://localhost:5173")).await,
        Err(403)
    );
    assert_eq!(
        open_sync(server.addr, Some("https://app.example")).await,
        Ok(())
    );
    assert_eq!(
        open_sync(server.addr, Some("https://evil.example")).await,
        Err(403)
    );
    assert_eq!(open_sync(server.addr, None).await, Ok(()));
}

async fn http_get(addr: SocketAddr, path: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_static_folder_never_serves_the_log_the_secret_or_dotfiles() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join(".git")).unwrap();
    std::fs::write(site.join("index.html"), "<p>demo</p>").unwrap();
    std::fs::write(site.join(".env"), "SECRET=1").unwrap();
    std::fs::write(site.join(".git").join("config"), "[core]").unwrap();
    let site_arg = site.to_str().unwrap();

    // README's old layout: data and secret in the folder served.
    let (ok, message) = ServerProcess::refused(&site.join("idbsql-data"), &["--static", site_arg]);
    assert!(!ok && message.contains("would serve"), "{message}");
    std::fs::write(site.join("secret"), "a test secret of enough bytes").unwrap();
    let secret = site.join("secret");
    let (ok, message) = ServerProcess::refused(
        &dir.path().join("data"),
        &[
            "--static",
            site_arg,
            "--secret-file",
            secret.to_str().unwrap(),
        ],
    );
    assert!(!ok && message.contains("would serve"), "{message}");
    std::fs::remove_file(&secret).unwrap();

    let mut server = ServerProcess::start(&dir.path().join("data"), &["--static", site_arg], &[]);
    assert_eq!(http_get(server.addr, "/index.html").await, 200);
    for hidden in [
        "/.env",
        "/%2eenv",
        "/.git/config",
        "/%2Egit/config",
        "/x/../.env",
    ] {
        assert_eq!(http_get(server.addr, hidden).await, 404, "{hidden}");
    }
    assert!(server.is_running());
}

#[tokio::test]
async fn a_client_cannot_claim_to_have_seen_past_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[], &[]);
    let (mut a, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let mut engine = Engine::default();
    acked(
        &mut a,
        1,
        change_set(&mut engine, "CREATE TABLE t (id INT PRIMARY KEY, v INT)"),
    )
    .await;
    // A client claiming to have seen everything that will ever be written: its pushes
    // would hide every conflict from the clients whose rows it overwrites.
    let (mut b, _) = Client::hello(server.addr, "db", 2, "", u64::MAX).await;
    b.send(&ClientMessage::Pull {
        after_seq: u64::MAX,
    })
    .await;
    let mut other = Engine::default();
    change_set(&mut other, "CREATE TABLE t (id INT PRIMARY KEY, v INT)");
    b.send(&ClientMessage::Push {
        client_seq: 1,
        change_set: change_set(&mut other, "INSERT INTO t VALUES (1, 2)"),
        seen: u64::MAX,
    })
    .await;
    b.expect(common::client::is_ack).await;
    for entry in read_log(server.addr, "db").await {
        assert!(
            entry.seen < entry.seq,
            "entry {} claims to have seen {}",
            entry.seq,
            entry.seen
        );
    }
}

#[tokio::test]
async fn clients_get_no_internal_detail_and_names_cannot_plant_sql_in_a_dump() {
    let dir = tempfile::tempdir().unwrap();
    // A log entry that cannot be read back (as a damaged disk would leave it).
    {
        let log = idbsql_server::log::RedbLog::open(&dir.path().join("log.redb")).unwrap();
        use idbsql_server::log::{Append, Batch, SyncLog};
        log.commit_batch(
            "damaged",
            &Batch {
                after: 0,
                assumed: &[],
                accepted: &[Append {
                    client_id: 1,
                    client_seq: 1,
                    seen: 0,
                    change_set: b"not a change set internal-detail",
                }],
                rejected: &[],
            },
        )
        .await
        .unwrap();
    }
    let mut server = ServerProcess::start(dir.path(), &[], &[]);
    let (_, welcome) = Client::hello(server.addr, "damaged", 1, "", 0).await;
    match welcome {
        ServerMessage::Error { code, message } => {
            assert_eq!(code, ErrorKind::Internal);
            assert_eq!(message, "internal server error");
        }
        other => panic!("{other:?}"),
    }

    // A writer names a table so that GlueSQL's DDL text would end and another statement begin.
    let name = "t\" (id INT); DROP TABLE victim; --";
    let (mut a, _) = Client::hello(server.addr, "names", 1, "", 0).await;
    let mut engine = Engine::default();
    let setup = [
        "CREATE TABLE victim (id INT PRIMARY KEY)",
        "INSERT INTO victim VALUES (1)",
    ];
    acked_all(&mut a, &mut engine, 1, &setup).await;
    let mut schema = table(name, vec![column("v\"; --", DataType::Int, None)]);
    schema.comment = Some("'; DROP TABLE victim; --".into());
    let mut hostile = create(schema);
    hostile.tables[0]
        .rows
        .push((Key::Uuid(7), Some(vec![Value::I64(1)])));
    acked(&mut a, 3, encode_change_set(&hostile).unwrap()).await;
    // A view definition that is two statements is refused outright.
    let mut views = Engine::default();
    views
        .query("CREATE TABLE victim (id INT PRIMARY KEY)", &[])
        .unwrap();
    views
        .query("CREATE VIEW v AS SELECT id FROM victim", &[])
        .unwrap();
    let mut planted = views.store_mut().take_change_sets().pop().unwrap();
    for change in &mut planted.tables {
        for (_, row) in change
            .rows
            .iter_mut()
            .filter(|_| change.name == "__idbsql_objects")
        {
            if let Some(row) = row {
                row[4] = Value::Str("CREATE VIEW v AS SELECT 1; DROP TABLE victim".into());
            }
        }
    }
    planted.tables.retain(|t| t.name == "__idbsql_objects");
    rejected(&mut a, 4, &planted, "is not one CREATE VIEW").await;

    let mut node = Node::new(4);
    node.connect_to(server.addr, "names").await;
    settle(&mut [&mut node]).await;
    let dump = idbsql::dump::dump_sql(node.replica.engine()).unwrap();
    let mut copy = Engine::default();
    for statement in copy.parse(&dump).unwrap().iter() {
        copy.execute(statement, &[]).unwrap();
    }
    assert_eq!(
        copy.query("SELECT id FROM victim", &[]).unwrap().rows,
        vec![vec![Value::I64(1)]]
    );
    let tables: Vec<String> = copy
        .store()
        .tables()
        .map(|t| t.schema.table_name.clone())
        .collect();
    assert_eq!(tables, vec![name.to_owned(), "victim".to_owned()]);
    assert!(server.is_running());
}
