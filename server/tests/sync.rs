//! The real server in-process on 127.0.0.1 with real WebSocket clients: pushes, acks and
//! broadcast, idempotent retries, rejected change sets, restart durability, every token
//! failure, and malformed, truncated and oversized frames.

mod common;

use {
    common::client::{change_set, writer_of_table, Client},
    futures_util::SinkExt,
    idbsql::{
        engine::Engine,
        protocol::{
            decode_change_set, encode_change_set,
            messages::{encode_message, ClientMessage, ErrorKind, ServerMessage, PROTOCOL_VERSION},
            SchemaChange,
        },
    },
    idbsql_server::{auth, Limits, RunningServer, ServerConfig},
    std::{path::Path, time::Duration},
    tokio::net::TcpStream,
    tokio_tungstenite::tungstenite::Message,
};

const SECRET: &[u8] = b"a test secret of enough bytes";

/// The public id the server gives the client with this secret.
fn id(database: &str, client_secret: u128) -> u128 {
    auth::client_identity(database, client_secret)
}

async fn start(dir: &Path, secret: Option<&[u8]>, limits: Limits) -> RunningServer {
    idbsql_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        postgres: None,
        static_dir: None,
        secret: secret.map(<[u8]>::to_vec),
        secret_file: None,
        allow_origins: Vec::new(),
        revoked_file: None,
        limits,
    })
    .await
    .expect("server starts")
}

fn token(database: &str, read_only: bool, expires_in: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    auth::mint(
        SECRET,
        &auth::Claims {
            database: database.into(),
            expires_at: (now + expires_in) as u64,
            read_only,
            schema: true,
            id: Some("sync-test".into()),
        },
    )
}

#[tokio::test]
async fn push_is_acked_broadcast_and_retries_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), Some(SECRET), Limits::default()).await;
    let t = token("notes", false, 3600);
    let (mut a, welcome) = Client::hello(server.addr, "notes", 1, &t, 0).await;
    assert_eq!(
        welcome,
        ServerMessage::Welcome {
            server_seq: 0,
            acked_client_seq: 0,
            read_only: false,
            max_frame_bytes: 1 << 20,
            client_id: id("notes", 1),
        }
    );
    let (mut b, _) = Client::hello(server.addr, "notes", 2, &t, 0).await;

    let mut engine = Engine::default();
    let create = change_set(
        &mut engine,
        "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)",
    );
    assert_eq!(
        a.push(1, create.clone()).await,
        ServerMessage::Ack {
            client_seq: 1,
            server_seq: 1
        }
    );
    let insert = change_set(&mut engine, "INSERT INTO note VALUES (1, 'hi')");
    assert_eq!(
        a.push(2, insert.clone()).await,
        ServerMessage::Ack {
            client_seq: 2,
            server_seq: 2
        }
    );

    // B sees both, in order, with their origin.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        if let ServerMessage::Changes { entries, .. } = b.recv().await.unwrap() {
            seen.extend(entries);
        }
    }
    assert_eq!(
        seen.iter()
            .map(|e| (e.seq, e.client_id, e.client_seq))
            .collect::<Vec<_>>(),
        vec![(1, id("notes", 1), 1), (2, id("notes", 1), 2)]
    );
    assert_eq!(
        decode_change_set(&seen[1].change_set).unwrap(),
        decode_change_set(&insert).unwrap()
    );

    // A reconnects and retries push 2 (its Ack was "lost"): acknowledged, not applied twice.
    drop(a);
    let (mut a, welcome) = Client::hello(server.addr, "notes", 1, &t, 2).await;
    // Already up to date: catch-up is one empty page, which tells the client so.
    assert_eq!(
        a.recv().await,
        Some(ServerMessage::Changes {
            entries: vec![],
            more: false
        })
    );
    assert_eq!(
        welcome,
        ServerMessage::Welcome {
            server_seq: 2,
            acked_client_seq: 2,
            read_only: false,
            max_frame_bytes: 1 << 20,
            client_id: id("notes", 1),
        }
    );
    assert_eq!(
        a.push(2, insert).await,
        ServerMessage::Ack {
            client_seq: 2,
            server_seq: 2
        }
    );
    a.send(&ClientMessage::Ping { nonce: 9 }).await;
    assert_eq!(
        a.expect(|m| matches!(m, ServerMessage::Pong { .. })).await,
        ServerMessage::Pong { nonce: 9 }
    );
    let (_, welcome) = Client::hello(server.addr, "notes", 3, &t, 0).await;
    assert!(matches!(
        welcome,
        ServerMessage::Welcome { server_seq: 2, .. }
    ));
    server.stop().await;
}

#[tokio::test]
async fn invalid_change_sets_are_rejected_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), None, Limits::default()).await;
    let (mut a, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let mut engine = Engine::default();
    let create = change_set(
        &mut engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT UNIQUE, n INT NOT NULL)",
    );
    assert!(matches!(a.push(1, create).await, ServerMessage::Ack { .. }));
    let first = change_set(&mut engine, "INSERT INTO t VALUES (1, 'a@x', 1)");
    assert!(matches!(a.push(2, first).await, ServerMessage::Ack { .. }));

    // Another replica, unaware of row 1, inserts the same unique email under another key.
    let mut other = Engine::default();
    change_set(
        &mut other,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT UNIQUE, n INT NOT NULL)",
    );
    let clash = change_set(&mut other, "INSERT INTO t VALUES (2, 'a@x', 2)");
    let unknown = change_set(&mut Engine::default(), "CREATE TABLE other (x INT)");
    let mut unknown_rows = Engine::default();
    change_set(&mut unknown_rows, "CREATE TABLE ghost (x INT)");
    let ghost_rows = change_set(&mut unknown_rows, "INSERT INTO ghost VALUES (1)");
    let conflicting_ddl = change_set(&mut Engine::default(), "CREATE TABLE t (id TEXT)");
    let mut wrong_type = decode_change_set(&change_set(
        &mut other,
        "INSERT INTO t VALUES (3, 'c@x', 3)",
    ))
    .unwrap();
    wrong_type.tables[0].rows[0].1.as_mut().unwrap()[2] =
        gluesql_core::data::Value::Str("three".into());
    let wrong_type = encode_change_set(&wrong_type).unwrap();
    // A row filed under another key than its primary key would shadow row 99 on replicas.
    let mut wrong_key = decode_change_set(&change_set(
        &mut other,
        "INSERT INTO t VALUES (4, 'd@x', 4)",
    ))
    .unwrap();
    wrong_key.tables[0].rows[0].0 = gluesql_core::data::Key::I64(99);
    let wrong_key = encode_change_set(&wrong_key).unwrap();
    // A schema that names another table, and one with a column twice.
    let mut misnamed = decode_change_set(&change_set(
        &mut Engine::default(),
        "CREATE TABLE fresh (id INTEGER PRIMARY KEY, v TEXT)",
    ))
    .unwrap();
    let mut twice = misnamed.clone();
    if let SchemaChange::Create { schema, .. } = &mut misnamed.tables[0].schema {
        schema.table_name = "t".into();
    }
    if let SchemaChange::Create { schema, .. } = &mut twice.tables[0].schema {
        let columns = schema.column_defs.as_mut().unwrap();
        columns[1].name = "id".into();
    }
    let misnamed = encode_change_set(&misnamed).unwrap();
    let twice = encode_change_set(&twice).unwrap();

    for (client_seq, bytes, reason) in [
        (3, clash, "unique"),
        (4, ghost_rows, "unknown table"),
        (5, conflicting_ddl, "DDL conflict"),
        (6, wrong_type, "column n"),
        (7, vec![1, 255, 255, 255], "corrupt"),
        (8, wrong_key, "key does not match its primary key"),
        (9, misnamed, "names another table"),
        (10, twice, "empty or repeated"),
    ] {
        match a.push(client_seq, bytes).await {
            ServerMessage::Reject {
                client_seq: seq,
                reason: got,
            } => {
                assert_eq!(seq, client_seq);
                assert!(got.contains(reason), "{got:?} should mention {reason:?}");
            }
            other => panic!("push {client_seq} should be rejected, got {other:?}"),
        }
    }
    // A valid push after the rejections still works; the log holds only valid entries.
    assert_eq!(
        a.push(11, unknown).await,
        ServerMessage::Ack {
            client_seq: 11,
            server_seq: 3
        }
    );
    server.stop().await;
}

#[tokio::test]
async fn a_restarted_server_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), None, Limits::default()).await;
    let (mut a, _) = Client::hello(server.addr, "db", 7, "", 0).await;
    let mut engine = Engine::default();
    let pushes = [
        change_set(
            &mut engine,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)",
        ),
        change_set(&mut engine, "INSERT INTO t VALUES (1, 'one')"),
        change_set(&mut engine, "INSERT INTO t VALUES (2, 'two')"),
    ];
    for (i, bytes) in pushes.iter().enumerate() {
        assert!(matches!(
            a.push(i as u64 + 1, bytes.clone()).await,
            ServerMessage::Ack { .. }
        ));
    }
    server.stop().await;
    // Its own entries come back in the stream (clients confirm by them); then the close.
    while let Some(message) = a.recv().await {
        assert!(
            matches!(message, ServerMessage::Changes { .. }),
            "{message:?}"
        );
    }

    let server = start(dir.path(), None, Limits::default()).await;
    let (mut b, welcome) = Client::hello(server.addr, "db", 8, "", 0).await;
    assert_eq!(
        welcome,
        ServerMessage::Welcome {
            server_seq: 3,
            acked_client_seq: 0,
            read_only: false,
            max_frame_bytes: 1 << 20,
            client_id: id("db", 8),
        }
    );
    let mut entries = Vec::new();
    while entries.len() < 3 {
        if let ServerMessage::Changes { entries: page, .. } = b.recv().await.unwrap() {
            entries.extend(page);
        }
    }
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // The replica was rebuilt from the log: a unique clash with a pre-restart row is refused.
    let mut other = Engine::default();
    change_set(
        &mut other,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)",
    );
    let clash = change_set(&mut other, "INSERT INTO t VALUES (9, 'two')");
    assert!(matches!(
        b.push(1, clash).await,
        ServerMessage::Reject { .. }
    ));
    // And client 7's progress survived: its retry of push 3 is a duplicate.
    let (mut a, welcome) = Client::hello(server.addr, "db", 7, "", 3).await;
    assert!(matches!(
        welcome,
        ServerMessage::Welcome {
            acked_client_seq: 3,
            ..
        }
    ));
    assert_eq!(
        a.push(3, pushes[2].clone()).await,
        ServerMessage::Ack {
            client_seq: 3,
            server_seq: 3
        }
    );
    server.stop().await;
}

#[tokio::test]
async fn every_token_failure_is_refused_before_any_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), Some(SECRET), Limits::default()).await;
    // Put one entry in so a leak would be visible.
    let (mut writer, _) =
        Client::hello(server.addr, "notes", 1, &token("notes", false, 60), 0).await;
    assert!(matches!(
        writer
            .push(
                1,
                change_set(&mut Engine::default(), "CREATE TABLE secret (x INT)")
            )
            .await,
        ServerMessage::Ack { .. }
    ));

    let forged = {
        let good = token("notes", false, 60);
        let (payload, _) = good.split_once('.').unwrap();
        format!("{payload}.AAAA")
    };
    for (bad, why) in [
        (String::new(), "missing"),
        (token("notes", false, -10), "expired"),
        (forged, "signature"),
        (token("other", false, 60), "another database"),
        ("garbage".to_owned(), "malformed"),
    ] {
        let (mut client, reply) = Client::hello(server.addr, "notes", 5, &bad, 0).await;
        match reply {
            ServerMessage::Error {
                code: ErrorKind::Unauthorized,
                message,
            } => assert!(message.contains(why), "{message}"),
            other => panic!("{why}: expected Unauthorized, got {other:?}"),
        }
        assert!(
            client.recv().await.is_none(),
            "{why}: connection closed with no data"
        );
    }
    // A read-only token reads but cannot push.
    let (mut reader, welcome) =
        Client::hello(server.addr, "notes", 6, &token("notes", true, 60), 0).await;
    assert!(matches!(
        welcome,
        ServerMessage::Welcome {
            read_only: true,
            ..
        }
    ));
    assert!(matches!(
        reader.recv().await,
        Some(ServerMessage::Changes { .. })
    ));
    reader
        .send(&ClientMessage::Push {
            client_seq: 1,
            change_set: change_set(&mut Engine::default(), "CREATE TABLE x (y INT)"),
            seen: 0,
        })
        .await;
    assert!(matches!(
        reader.expect(|_| true).await,
        ServerMessage::Error {
            code: ErrorKind::ReadOnly,
            ..
        }
    ));
    server.stop().await;
}

#[tokio::test]
async fn bad_frames_close_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_frame_bytes: 64 * 1024,
        ..Limits::default()
    };
    let server = start(dir.path(), None, limits).await;
    let (mut healthy, _) = Client::hello(server.addr, "db", 1, "", 0).await;

    // Garbage, a truncated Hello, a text frame, a non-Hello first message, an oversized frame.
    let hello = encode_message(&ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        database: "db".into(),
        client_secret: 2,
        token: String::new(),
        last_seen_seq: 0,
    });
    let frames: Vec<Message> = vec![
        Message::Binary(vec![0xde, 0xad, 0xbe, 0xef].into()),
        Message::Binary(hello[..hello.len() / 2].to_vec().into()),
        Message::Text("hello".into()),
        Message::Binary(encode_message(&ClientMessage::Ping { nonce: 1 }).into()),
    ];
    for frame in frames {
        let mut client = Client::open(server.addr).await;
        client.ws.send(frame).await.unwrap();
        assert!(matches!(
            client.recv().await,
            Some(ServerMessage::Error {
                code: ErrorKind::Protocol,
                ..
            })
        ));
        assert!(client.recv().await.is_none());
    }
    let (mut big, _) = Client::hello(server.addr, "db", 3, "", 0).await;
    let _ = big
        .ws
        .send(Message::Binary(vec![0u8; 100 * 1024].into()))
        .await;
    loop {
        match big.recv().await {
            None => break,
            Some(ServerMessage::Changes { .. } | ServerMessage::Error { .. }) => continue,
            Some(other) => panic!("oversized frame answered with {other:?}"),
        }
    }
    // A wrong protocol version is refused with a clear message.
    let mut old = Client::open(server.addr).await;
    old.send(&ClientMessage::Hello {
        protocol: 999,
        database: "db".into(),
        client_secret: 4,
        token: String::new(),
        last_seen_seq: 0,
    })
    .await;
    match old.recv().await {
        Some(ServerMessage::Error {
            code: ErrorKind::Protocol,
            message,
        }) => assert!(message.contains("999")),
        other => panic!("{other:?}"),
    }
    // The server and the healthy client carry on.
    healthy.send(&ClientMessage::Ping { nonce: 5 }).await;
    assert_eq!(
        healthy
            .expect(|m| matches!(m, ServerMessage::Pong { .. }))
            .await,
        ServerMessage::Pong { nonce: 5 }
    );
    server.stop().await;
}

/// A megabyte of nested lists used to overflow the writer task's stack and abort the server
/// with every database in it. Now it is refused; the server and other clients go on.
#[tokio::test]
async fn a_megabyte_of_nested_values_is_rejected_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), None, Limits::default()).await;
    let mut engine = Engine::default();
    let (mut a, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let (mut b, _) = Client::hello(server.addr, "db", 2, "", 0).await;
    let create = change_set(
        &mut engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, l LIST)",
    );
    assert!(matches!(a.push(1, create).await, ServerMessage::Ack { .. }));

    // Table t, one row with key 1 whose only value opens a list in every byte pair.
    let mut nested = vec![1, 1, 1, b't', 0, 1, 5, 2, 1, 1];
    while nested.len() < (1 << 20) - 64 {
        nested.extend_from_slice(&[25, 1]);
    }
    match a.push(2, nested).await {
        ServerMessage::Reject { reason, .. } => {
            assert!(reason.contains("nest deeper than 64"), "{reason}")
        }
        other => panic!("the nested push should be rejected, got {other:?}"),
    }
    // The server is up: both clients still push and see each other's changes.
    let row = change_set(&mut engine, "INSERT INTO t VALUES (1, '[[1], [2]]')");
    assert!(matches!(b.push(1, row).await, ServerMessage::Ack { .. }));
    let seen = a
        .expect(|m| {
            matches!(m, ServerMessage::Changes { entries, .. } if entries.iter().any(|e| e.client_id == id("db", 2)))
        })
        .await;
    assert!(
        matches!(seen, ServerMessage::Changes { .. }),
        "a sees b's row"
    );
    let (mut c, _) = Client::hello(server.addr, "db", 3, "", 0).await;
    c.send(&ClientMessage::Ping { nonce: 9 }).await;
    assert_eq!(
        c.expect(|m| matches!(m, ServerMessage::Pong { .. })).await,
        ServerMessage::Pong { nonce: 9 }
    );
    server.stop().await;
}

#[tokio::test]
async fn pushes_beyond_the_rate_limit_close_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        pushes_per_second: 5,
        ..Limits::default()
    };
    let server = start(dir.path(), None, limits).await;
    let (mut client, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let mut engine = Engine::default();
    let mut closed_with = None;
    for i in 0..50u64 {
        let bytes = change_set(&mut engine, &format!("CREATE TABLE t{i} (x INT)"));
        client
            .send(&ClientMessage::Push {
                client_seq: i + 1,
                change_set: bytes,
                seen: 0,
            })
            .await;
    }
    while let Some(message) = client.recv().await {
        if let ServerMessage::Error { code, .. } = message {
            closed_with = Some(code);
        }
    }
    assert_eq!(closed_with, Some(ErrorKind::RateLimited));
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_per_database_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_connections_per_database: 2,
        ..Limits::default()
    };
    let server = start(dir.path(), None, limits).await;
    let (_a, first) = Client::hello(server.addr, "db", 1, "", 0).await;
    let (_b, second) = Client::hello(server.addr, "db", 2, "", 0).await;
    assert!(matches!(first, ServerMessage::Welcome { .. }));
    assert!(matches!(second, ServerMessage::Welcome { .. }));
    let (_c, third) = Client::hello(server.addr, "db", 3, "", 0).await;
    assert!(matches!(
        third,
        ServerMessage::Error {
            code: ErrorKind::TooManyConnections,
            ..
        }
    ));
    // Another database has its own allowance.
    let (_d, other) = Client::hello(server.addr, "other", 4, "", 0).await;
    assert!(matches!(other, ServerMessage::Welcome { .. }));
    server.stop().await;
}

#[tokio::test]
async fn the_static_folder_is_served_beside_the_sync_endpoint() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let data = tempfile::tempdir().unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<h1>demo</h1>").unwrap();
    let server = idbsql_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.path().to_path_buf(),
        postgres: None,
        static_dir: Some(site.path().to_path_buf()),
        secret: None,
        secret_file: None,
        allow_origins: Vec::new(),
        revoked_file: None,
        limits: Limits::default(),
    })
    .await
    .unwrap();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("<h1>demo</h1>"), "{response}");
    // The WebSocket endpoint still answers.
    let (_client, welcome) = Client::hello(server.addr, "db", 1, "", 0).await;
    assert!(matches!(welcome, ServerMessage::Welcome { .. }));
    server.stop().await;
}

/// Every entry a fresh client receives while catching up, page by page, and each page's bytes.
async fn catch_up_pages(client: &mut Client) -> Vec<(usize, usize, bool)> {
    let mut pages = Vec::new();
    loop {
        match client.recv().await.expect("catch-up") {
            ServerMessage::Changes { entries, more } => {
                let bytes = entries.iter().map(|e| e.change_set.len()).sum();
                pages.push((entries.len(), bytes, more));
                if !more {
                    return pages;
                }
            }
            _ => continue,
        }
    }
}

#[tokio::test]
async fn catch_up_pages_are_bounded_in_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_frame_bytes: 64 * 1024,
        ..Limits::default()
    };
    let server = start(dir.path(), None, limits).await;
    let mut engine = Engine::default();
    let (mut a, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let create = change_set(
        &mut engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    );
    assert!(matches!(a.push(1, create).await, ServerMessage::Ack { .. }));
    for i in 0..10u64 {
        let text = "x".repeat(20_000);
        let insert = change_set(
            &mut engine,
            &format!("INSERT INTO t VALUES ({i}, '{text}')"),
        );
        assert!(matches!(
            a.push(i + 2, insert).await,
            ServerMessage::Ack { .. }
        ));
    }
    let (mut fresh, _) = Client::hello(server.addr, "db", 2, "", 0).await;
    let pages = catch_up_pages(&mut fresh).await;
    assert_eq!(pages.iter().map(|p| p.0).sum::<usize>(), 11, "{pages:?}");
    assert!(pages.len() >= 4, "20 KB entries, 64 KiB pages: {pages:?}");
    for (_, bytes, _) in &pages {
        assert!(*bytes <= 64 * 1024, "{pages:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn pulls_beyond_the_rate_limit_close_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        pulls_per_second: 3,
        ..Limits::default()
    };
    let server = start(dir.path(), None, limits).await;
    let (mut a, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    for _ in 0..20 {
        a.send(&ClientMessage::Pull { after_seq: 0 }).await;
    }
    loop {
        match a.recv().await {
            Some(ServerMessage::Error { code, .. }) => {
                assert_eq!(code, ErrorKind::RateLimited);
                break;
            }
            Some(_) => continue,
            None => panic!("closed without saying why"),
        }
    }
    assert!(a.recv().await.is_none(), "then the connection closes");
    server.stop().await;
}

/// A client that stops reading is disconnected after the send timeout, so it frees its slot
/// and cannot pin the server's memory with frames it never takes.
#[tokio::test]
async fn a_stalled_reader_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_connections_per_database: 2,
        send_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = start(dir.path(), None, limits).await;
    let (_stalled, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let (mut writer, mut engine) = writer_of_table(server.addr, "db", 2).await;
    // Megabytes of broadcast the stalled client never reads fill its TCP buffers.
    let text = "y".repeat(500_000);
    for i in 0..60u64 {
        let insert = change_set(
            &mut engine,
            &format!("INSERT INTO t VALUES ({i}, '{text}')"),
        );
        assert!(matches!(
            writer.push(i + 2, insert).await,
            ServerMessage::Ack { .. }
        ));
    }
    // The stalled session ended: its slot is free for a third client.
    let mut joined = false;
    for _ in 0..50 {
        let (mut third, welcome) = Client::hello(server.addr, "db", 3, "", u64::MAX / 2).await;
        if matches!(welcome, ServerMessage::Welcome { .. }) {
            third.send(&ClientMessage::Ping { nonce: 1 }).await;
            third
                .expect(|m| matches!(m, ServerMessage::Pong { .. }))
                .await;
            joined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(joined, "the stalled reader still holds its slot");
    server.stop().await;
}

#[tokio::test]
async fn an_idle_database_leaves_memory_and_comes_back_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        idle_replica: Duration::from_millis(200),
        ..Limits::default()
    };
    let server = start(dir.path(), None, limits).await;
    let mut engine = Engine::default();
    let (mut a, _) = Client::hello(server.addr, "db", 1, "", 0).await;
    let create = change_set(
        &mut engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT UNIQUE)",
    );
    assert!(matches!(a.push(1, create).await, ServerMessage::Ack { .. }));
    let insert = change_set(&mut engine, "INSERT INTO t VALUES (1, 'a@x')");
    assert!(matches!(a.push(2, insert).await, ServerMessage::Ack { .. }));
    assert_eq!(server.open_databases().await, 1);
    drop(a);
    let mut left = false;
    for _ in 0..100 {
        if server.open_databases().await == 0 {
            left = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(left, "the idle replica stayed in memory");
    // Rebuilt from the log: it knows the table and its unique values.
    let (mut b, _) = Client::hello(server.addr, "db", 2, "", 0).await;
    let mut other = Engine::default();
    change_set(
        &mut other,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT UNIQUE)",
    );
    let clash = change_set(&mut other, "INSERT INTO t VALUES (2, 'a@x')");
    assert!(matches!(
        b.push(1, clash).await,
        ServerMessage::Reject { .. }
    ));
    let fine = change_set(&mut other, "INSERT INTO t VALUES (3, 'b@x')");
    assert!(matches!(b.push(2, fine).await, ServerMessage::Ack { .. }));
    server.stop().await;
}

/// Broadcasts show a client's public id. Someone who sends that id as their secret gets
/// another identity, so their `client_seq = u64::MAX` cannot turn the victim's later pushes
/// into "duplicates" it would roll back.
#[tokio::test]
async fn a_client_id_seen_in_a_broadcast_cannot_be_claimed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), None, Limits::default()).await;
    let mut engine = Engine::default();
    let (mut victim, welcome) = Client::hello(server.addr, "db", 0xabcdef, "", 0).await;
    let ServerMessage::Welcome { client_id, .. } = welcome else {
        panic!("{welcome:?}")
    };
    let create = change_set(&mut engine, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    assert!(matches!(
        victim.push(1, create).await,
        ServerMessage::Ack { .. }
    ));

    // The attacker reads the victim's public id from the log and claims it.
    let (mut attacker, _) = Client::hello(server.addr, "db", 99, "", 0).await;
    let seen = attacker
        .expect(|m| matches!(m, ServerMessage::Changes { entries, .. } if !entries.is_empty()))
        .await;
    let ServerMessage::Changes { entries, .. } = seen else {
        unreachable!()
    };
    assert_eq!(entries[0].client_id, client_id);
    assert_ne!(client_id, 0xabcdef, "the secret itself is never shown");
    drop(attacker);
    let (mut attacker, welcome) = Client::hello(server.addr, "db", client_id, "", 0).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { client_id: other, acked_client_seq: 0, .. } if other != client_id)
    );
    let spoof = change_set(&mut engine, "INSERT INTO t VALUES (666)");
    assert!(matches!(
        attacker.push(u64::MAX, spoof).await,
        ServerMessage::Ack { .. }
    ));

    // The victim's next push is a new change, not a duplicate.
    let insert = change_set(&mut engine, "INSERT INTO t VALUES (1)");
    assert_eq!(
        victim.push(2, insert).await,
        ServerMessage::Ack {
            client_seq: 2,
            server_seq: 3
        }
    );
    server.stop().await;
}

/// A data folder written by the server before protocol 3 (tests/fixtures/log-protocol-2,
/// made by commit 31163dd's server: two clients, three pushes) opens: a new client catches up
/// on every entry and pushes after them; the UNIQUE column is still enforced.
#[tokio::test]
async fn a_data_folder_written_before_protocol_3_opens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/log-protocol-2/log.redb"
        ),
        dir.path().join("log.redb"),
    )
    .unwrap();
    let server = start(dir.path(), None, Limits::default()).await;
    let (mut client, welcome) = Client::hello(server.addr, "notes", 99, "", 0).await;
    assert!(matches!(
        welcome,
        ServerMessage::Welcome { server_seq: 3, .. }
    ));
    let mut entries = Vec::new();
    while entries.len() < 3 {
        if let Some(ServerMessage::Changes { entries: page, .. }) = client.recv().await {
            entries.extend(page);
        }
    }
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.seq, e.client_id))
            .collect::<Vec<_>>(),
        vec![(1, 7), (2, 7), (3, 8)],
        "entries keep the ids they were pushed with"
    );
    let mut engine = Engine::default();
    for entry in &entries {
        let change_set = decode_change_set(&entry.change_set).unwrap();
        engine.store_mut().apply_change_set(change_set).unwrap();
    }
    let rows = engine
        .query("SELECT id, body FROM note ORDER BY id", &[])
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 2);
    let fresh = change_set(
        &mut engine,
        "INSERT INTO note VALUES (3, 'after the upgrade')",
    );
    assert_eq!(
        client.push(1, fresh).await,
        ServerMessage::Ack {
            client_seq: 1,
            server_seq: 4
        }
    );
    // A replica that only saw the CREATE: its row clashes with the stored UNIQUE value.
    let mut other = Engine::default();
    let create = decode_change_set(&entries[0].change_set).unwrap();
    other.store_mut().apply_change_set(create).unwrap();
    let clash = change_set(
        &mut other,
        "INSERT INTO note VALUES (4, 'written by 0.1.0')",
    );
    assert!(matches!(
        client.push(2, clash).await,
        ServerMessage::Reject { .. }
    ));
    server.stop().await;
}
