//! Quotas in the release shape (the real binary): a push that would take a database past its
//! tables, rows or log bytes is rejected with a `quota: …` reason and leaves nothing; the
//! session, the server and other databases go on.

mod common;

use {
    common::{
        binary::ServerProcess,
        client::{change_set, read_log, Client},
    },
    idbsql::{engine::Engine, protocol::messages::ServerMessage},
};

fn quota_reason(message: &ServerMessage) -> Option<&str> {
    match message {
        ServerMessage::Reject { reason, .. } if reason.starts_with("quota: ") => Some(reason),
        _ => None,
    }
}

fn acked(message: &ServerMessage) -> bool {
    matches!(message, ServerMessage::Ack { .. })
}

#[tokio::test]
async fn tables_rows_and_log_bytes_past_their_quota_are_rejected_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            "--max-tables-per-database",
            "1",
            "--max-rows-per-database",
            "3",
            "--max-log-bytes-per-database",
            "4000",
        ],
        &[],
    );
    let (mut client, _) = Client::hello(server.addr, "notes", 1, "", 0).await;
    let mut engine = Engine::default();
    let create = change_set(
        &mut engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    );
    assert!(acked(&client.push(1, create).await));

    let mut other = Engine::default();
    change_set(
        &mut other,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    );
    let second = change_set(&mut other, "CREATE TABLE u (id INTEGER PRIMARY KEY)");
    let answer = client.push(2, second).await;
    assert!(
        quota_reason(&answer).is_some_and(|r| r.contains("tables")),
        "{answer:?}"
    );

    let rows = change_set(&mut engine, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    assert!(acked(&client.push(3, rows).await));
    let too_many = change_set(&mut engine, "INSERT INTO t VALUES (3, 'c'), (4, 'd')");
    let answer = client.push(4, too_many).await;
    assert!(
        quota_reason(&answer).is_some_and(|r| r.contains("rows")),
        "{answer:?}"
    );
    // Deleting is allowed whatever the count: a full database can make room.
    let mut fresh = Engine::default();
    change_set(
        &mut fresh,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    );
    change_set(&mut fresh, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    let delete = change_set(&mut fresh, "DELETE FROM t WHERE id = 2");
    assert!(acked(&client.push(5, delete).await));

    // A big row passes the log's 4,000 bytes.
    let big = change_set(
        &mut fresh,
        &format!("INSERT INTO t VALUES (9, '{}')", "x".repeat(5000)),
    );
    let answer = client.push(6, big).await;
    assert!(
        quota_reason(&answer).is_some_and(|r| r.contains("log")),
        "{answer:?}"
    );

    // The log holds exactly the accepted pushes; the session goes on, as do other databases.
    assert_eq!(read_log(server.addr, "notes").await.len(), 3);
    let small = change_set(&mut fresh, "UPDATE t SET v = 'z' WHERE id = 1");
    assert!(acked(&client.push(7, small).await));
    let (mut elsewhere, _) = Client::hello(server.addr, "todo", 2, "", 0).await;
    let mut todo = Engine::default();
    let create = change_set(&mut todo, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    assert!(acked(&elsewhere.push(1, create).await));
    assert!(server.is_running());
}
