//! One database cannot stall another (the real binary): while a database with a long log is
//! rebuilt from it, a client of another database is welcomed at once.

mod common;

use {
    common::{
        binary::ServerProcess,
        client::{change_set, Client},
    },
    idbsql::{engine::Engine, protocol::messages::ServerMessage},
    std::time::{Duration, Instant},
};

#[tokio::test]
async fn a_database_rebuilding_from_a_long_log_does_not_hold_up_another() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &["--idle-replica-timeout", "1s"], &[]);
    {
        // A log of ~20 MB for `big`: twenty pushes of 4,000 rows each.
        let (mut writer, _) = Client::hello(server.addr, "big", 1, "", 0).await;
        let mut engine = Engine::default();
        let create = change_set(
            &mut engine,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
        );
        assert!(matches!(
            writer.push(1, create).await,
            ServerMessage::Ack { .. }
        ));
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
