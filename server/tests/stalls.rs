//! One database or client cannot stall the others (the real binary): while a database with a
//! long log is rebuilt from it, a client of another database is welcomed at once; a client
//! that stops reading is cut off at its queue's byte bound while the others go on.

mod common;

use {
    common::{
        binary::ServerProcess,
        client::{change_set, writer_of_table, Client},
    },
    idbsql::protocol::messages::{ErrorKind, ServerMessage},
    std::time::{Duration, Instant},
};

#[tokio::test]
async fn a_database_rebuilding_from_a_long_log_does_not_hold_up_another() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &["--idle-replica-timeout", "1s"], &[]);
    {
        // A log of ~20 MB for `big`: twenty pushes of 4,000 rows each.
        let (mut writer, mut engine) = writer_of_table(server.addr, "big", 1).await;
        let value = "x".repeat(200);
        for push in 0..20u64 {
            let rows: Vec<String> = (0..4_000)
                .map(|i| format!("({}, '{value}')", push * 4_000 + i))
                .collect();
            let insert = change_set(
                &mut engine,
                &format!("INSERT INTO t VALUES {}", rows.join(", ")),
            );
            assert!(matches!(
                writer.push(push + 2, insert).await,
                ServerMessage::Ack { .. }
            ));
        }
    }
    // Nobody connected: the replica leaves memory, and the next Hello rebuilds it.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let addr = server.addr;
    let started = Instant::now();
    let big = tokio::spawn(async move {
        let welcome = Client::hello(addr, "big", 2, "", 0).await.1;
        eprintln!("big welcomed after {:?}", started.elapsed());
        welcome
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_small, welcome) = Client::hello(server.addr, "small", 3, "", 0).await;
    eprintln!("small welcomed after {:?}", started.elapsed());
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    assert!(
        !big.is_finished(),
        "the other database's client was welcomed only after the rebuild ended"
    );
    let welcome = big.await.unwrap();
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    assert!(server.is_running());
}

#[tokio::test]
async fn a_reader_that_stops_reading_is_cut_off_at_its_queue_bound_and_catches_up_later() {
    let dir = tempfile::tempdir().unwrap();
    // The send timeout is out of the way: only the queue's bound can end the slow session.
    let mut server = ServerProcess::start(
        dir.path(),
        &[
            "--send-timeout",
            "600s",
            "--max-queued-bytes-per-connection",
            "2000000",
        ],
        &[],
    );
    let (mut writer, mut engine) = writer_of_table(server.addr, "feed", 1).await;
    // Welcomed and caught up, then it never reads again.
    let (mut slow, _) = Client::hello(server.addr, "feed", 2, "", 0).await;
    slow.recv_until(|m| matches!(m, ServerMessage::Changes { more: false, .. }))
        .await
        .expect("the catch-up ends");

    // 60 entries of 500 kB: 30 MB, far more than the socket buffers and the 2 MB bound hold.
    let value = "x".repeat(500_000);
    let pushes = 60u64;
    for id in 0..pushes {
        let insert = change_set(
            &mut engine,
            &format!("INSERT INTO t VALUES ({id}, '{value}')"),
        );
        assert!(matches!(
            writer.push(id + 2, insert).await,
            ServerMessage::Ack { .. }
        ));
    }
    let last = pushes + 1;

    // The slow client gets what was queued before the cut, then is told why it was dropped.
    let mut received = 0;
    let mut told = None;
    while let Some(message) = slow.recv().await {
        match message {
            ServerMessage::Changes { entries, .. } => {
                for entry in entries {
                    assert_eq!(entry.seq, received + 2, "entries arrive in order");
                    received += 1;
                }
            }
            ServerMessage::Error { code, message } => told = Some((code, message)),
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert!(received < pushes, "the slow reader was never cut off");
    let (code, message) = told.expect("the slow reader is told why it was disconnected");
    assert_eq!(code, ErrorKind::RateLimited, "{message}");

    // Reconnecting, it catches up on everything it missed, from the log.
    let (mut again, _) = Client::hello(server.addr, "feed", 2, "", received + 1).await;
    let mut seqs = Vec::new();
    while let Some(ServerMessage::Changes { entries, more }) = again.recv().await {
        seqs.extend(entries.iter().map(|entry| entry.seq));
        if !more {
            break;
        }
    }
    assert_eq!(seqs, ((received + 2)..=last).collect::<Vec<_>>());
    // The writer was never held up: its session still works.
    let one_more = change_set(&mut engine, "DELETE FROM t WHERE id = 0");
    assert!(matches!(
        writer.push(pushes + 2, one_more).await,
        ServerMessage::Ack { .. }
    ));
    assert!(server.is_running());
}
