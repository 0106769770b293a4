//! Tokens in the release shape: the real binary mints them (`token`) and serves with them. A
//! session ends when its token expires or is revoked; a token without the schema right writes
//! rows but cannot CREATE / ALTER / DROP. After each, the server still serves other tokens.

mod common;

use {
    common::{
        binary::{mint, ServerProcess},
        client::{change_set, read_log_with, Client},
    },
    idbsql::{
        engine::Engine,
        protocol::messages::{ErrorKind, ServerMessage},
    },
    std::time::{Duration, Instant},
};

fn is_welcome(message: &ServerMessage) -> bool {
    matches!(message, ServerMessage::Welcome { .. })
}

/// Waits (up to `within`) for the server to end the session with `unauthorized`.
async fn ended_unauthorized(client: &mut Client, within: Duration) -> String {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match client.recv().await {
            Some(ServerMessage::Error {
                code: ErrorKind::Unauthorized,
                message,
            }) => return message,
            Some(_) => continue,
            None => panic!("the session closed without saying why"),
        }
    }
    panic!("the session outlived its token");
}

#[tokio::test]
async fn a_session_ends_when_its_token_expires() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, secret) = ServerProcess::start_with_secret(dir.path(), &[]);
    let short = mint(&secret, "notes", &["--ttl", "2s", "--schema"]);
    let (mut client, welcome) = Client::hello(server.addr, "notes", 1, &short, 0).await;
    assert!(is_welcome(&welcome), "{welcome:?}");
    let started = Instant::now();
    let message = ended_unauthorized(&mut client, Duration::from_secs(8)).await;
    assert_eq!(message, "token has expired");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(client.recv().await.is_none(), "the connection is closed");
    // The same client reconnects with a fresh token, and nothing else was disturbed.
    let fresh = mint(&secret, "notes", &["--ttl", "1h", "--schema"]);
    let (mut again, welcome) = Client::hello(server.addr, "notes", 1, &fresh, 0).await;
    assert!(is_welcome(&welcome), "{welcome:?}");
    let mut engine = Engine::default();
    let create = change_set(&mut engine, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    assert!(matches!(
        again.push(1, create).await,
        ServerMessage::Ack { .. }
    ));
    assert!(server.is_running());
}

#[tokio::test]
async fn a_revoked_token_id_ends_its_sessions_and_is_refused_while_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let revoked = dir.path().join("revoked");
    std::fs::write(&revoked, "# revoked token ids\n").unwrap();
    let (mut server, secret) = ServerProcess::start_with_secret(
        dir.path(),
        &["--revoked-file", revoked.to_str().unwrap()],
    );
    let stolen = mint(&secret, "notes", &["--id", "laptop-7", "--schema"]);
    let other = mint(&secret, "notes", &["--id", "desktop-2", "--schema"]);
    let (mut thief, welcome) = Client::hello(server.addr, "notes", 1, &stolen, 0).await;
    assert!(is_welcome(&welcome), "{welcome:?}");
    let (mut owner, welcome) = Client::hello(server.addr, "notes", 2, &other, 0).await;
    assert!(is_welcome(&welcome), "{welcome:?}");

    std::fs::write(&revoked, "# revoked token ids\nlaptop-7  # stolen\n").unwrap();
    let message = ended_unauthorized(&mut thief, Duration::from_secs(6)).await;
    assert_eq!(message, "token has been revoked");
    let (_, refused) = Client::hello(server.addr, "notes", 1, &stolen, 0).await;
    assert!(
        matches!(&refused, ServerMessage::Error { code: ErrorKind::Unauthorized, message } if message == "token has been revoked"),
        "{refused:?}"
    );
    // The other token's session goes on and can write.
    let mut engine = Engine::default();
    let create = change_set(&mut engine, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    assert!(matches!(
        owner.push(1, create).await,
        ServerMessage::Ack { .. }
    ));
    assert!(server.is_running());
}

#[tokio::test]
async fn without_the_schema_right_a_token_writes_rows_but_not_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, secret) = ServerProcess::start_with_secret(dir.path(), &[]);
    let admin = mint(&secret, "notes", &["--schema"]);
    let writer = mint(&secret, "notes", &[]);
    let (mut rows_only, welcome) = Client::hello(server.addr, "notes", 1, &writer, 0).await;
    assert!(is_welcome(&welcome), "{welcome:?}");

    // Every kind of schema change is refused: a table, a view, an index, a function.
    let mut local = Engine::default();
    let refused = [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
        "CREATE FUNCTION two() RETURN 2",
    ];
    for (seq, sql) in refused.iter().enumerate() {
        let bytes = change_set(&mut local, sql);
        match rows_only.push(seq as u64 + 1, bytes).await {
            ServerMessage::Reject { reason, .. } => {
                assert!(reason.contains("not change the schema"), "{sql}: {reason}")
            }
            other => panic!("{sql}: {other:?}"),
        }
    }

    // The schema comes from a token that may change it; rows from either.
    let (mut owner, _) = Client::hello(server.addr, "notes", 2, &admin, 0).await;
    let mut schema = Engine::default();
    let create = change_set(
        &mut schema,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    );
    assert!(matches!(
        owner.push(1, create).await,
        ServerMessage::Ack { .. }
    ));
    for (seq, sql) in [
        "CREATE VIEW vt AS SELECT id FROM t",
        "CREATE INDEX t_v ON t (v)",
        "ALTER TABLE t ADD COLUMN w INTEGER",
        "DROP TABLE t",
    ]
    .iter()
    .enumerate()
    {
        let mut copy = Engine::default();
        change_set(&mut copy, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
        let bytes = change_set(&mut copy, sql);
        match rows_only.push(seq as u64 + 3, bytes).await {
            ServerMessage::Reject { reason, .. } => {
                assert!(reason.contains("not change the schema"), "{sql}: {reason}")
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    let insert = change_set(&mut schema, "INSERT INTO t VALUES (1, 'a')");
    assert!(matches!(
        rows_only.push(7, insert).await,
        ServerMessage::Ack { .. }
    ));
    // What the log holds: the admin's table and the writer's row, nothing refused.
    let log = read_log_with(server.addr, "notes", &admin).await;
    assert_eq!(log.len(), 2);
    assert!(server.is_running());
}
