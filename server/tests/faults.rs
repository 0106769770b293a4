//! Storage faults in the release shape (the real binary): a log write that fails with an I/O
//! error (here a file-size limit, which fails writes as a full disk does) fails only the pushes
//! it carried; once there is room again the log file is reopened and writes go on, without a
//! restart, and no acknowledged change is lost.

mod common;

use {
    common::{
        binary::ServerProcess,
        client::{change_set, read_log, Client},
    },
    idbsql::{
        engine::Engine,
        protocol::messages::{ErrorKind, ServerMessage},
    },
};

/// Pushes and returns the server's answer (Ack, Reject or Error), or `None` when the
/// connection closed without one.
async fn answer(
    client: &mut Client,
    client_seq: u64,
    change_set: Vec<u8>,
) -> Option<ServerMessage> {
    client.send_push(client_seq, change_set).await;
    client
        .recv_until(|m| {
            matches!(
                m,
                ServerMessage::Ack { .. }
                    | ServerMessage::Reject { .. }
                    | ServerMessage::Error { .. }
            )
        })
        .await
}

fn acked(message: &Option<ServerMessage>) -> bool {
    matches!(message, Some(ServerMessage::Ack { .. }))
}

#[tokio::test]
async fn a_full_disk_fails_pushes_without_losing_any_and_writes_resume_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = ServerProcess::start_with_file_size_limit(&data, &[], 4 << 20);

    let (mut small, _) = Client::hello(server.addr, "small", 1, "", 0).await;
    let mut small_engine = Engine::default();
    let create = change_set(&mut small_engine, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    assert!(acked(&answer(&mut small, 1, create).await));

    let (mut big, _) = Client::hello(server.addr, "big", 2, "", 0).await;
    let mut engine = Engine::default();
    let create = change_set(
        &mut engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    );
    assert!(acked(&answer(&mut big, 1, create).await));
    let value = "x".repeat(200_000);
    let insert = |engine: &mut Engine, id: u64| {
        change_set(engine, &format!("INSERT INTO t VALUES ({id}, '{value}')"))
    };

    // Writes fill the file up to the limit; the push that finds no room fails, unacknowledged.
    let mut client_seq = 1;
    let failed = loop {
        client_seq += 1;
        assert!(client_seq < 200, "the file-size limit was never reached");
        let push = insert(&mut engine, client_seq);
        match answer(&mut big, client_seq, push.clone()).await {
            Some(ServerMessage::Ack { .. }) => continue,
            Some(ServerMessage::Error { code, message }) => {
                assert_eq!(code, ErrorKind::Internal, "{message}");
                break push;
            }
            other => panic!("a push past the disk's room: {other:?}"),
        }
    };
    assert!(server.is_running(), "an I/O error stopped the server");

    // Room again (the disk was cleaned up): the same client pushes its change again, and the
    // server takes it and more without a restart.
    server.lift_file_size_limit();
    let (mut big, welcome) = Client::hello(server.addr, "big", 2, "", 0).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { acked_client_seq, .. } if acked_client_seq == client_seq - 1),
        "{welcome:?}"
    );
    assert!(acked(&answer(&mut big, client_seq, failed).await));
    let next = insert(&mut engine, client_seq + 1);
    assert!(acked(&answer(&mut big, client_seq + 1, next).await));
    let row = change_set(&mut small_engine, "INSERT INTO t VALUES (1)");
    assert!(acked(&answer(&mut small, 2, row).await));

    // Every acknowledged change is in the log, once, in order — also after a restart.
    let check = |log: Vec<idbsql::protocol::messages::LogEntry>, last: u64| {
        let seqs: Vec<u64> = log.iter().map(|entry| entry.seq).collect();
        let client_seqs: Vec<u64> = log.iter().map(|entry| entry.client_seq).collect();
        assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
        assert_eq!(client_seqs, (1..=last).collect::<Vec<_>>());
    };
    check(read_log(server.addr, "big").await, client_seq + 1);
    check(read_log(server.addr, "small").await, 2);
    drop(server);
    let server = ServerProcess::start(&data, &[], &[]);
    check(read_log(server.addr, "big").await, client_seq + 1);
    check(read_log(server.addr, "small").await, 2);
}
