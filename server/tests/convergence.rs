//! Several replicas (the client sync state machine, natively) through the real server over
//! real WebSockets: concurrent writes converge, offline edits converge after reconnecting,
//! a rejected change set is rolled back on its client, a change too large to send is refused.

mod common;

use {
    common::node::{settle, Node},
    futures_util::{SinkExt, StreamExt},
    gluesql_core::data::Value,
    idbsql::{sync::SyncEvent, ErrorCode},
    idbsql_server::{Limits, RunningServer, ServerConfig},
    std::{net::SocketAddr, path::Path, time::Duration},
    tokio::{net::TcpStream, time::timeout},
    tokio_tungstenite::{connect_async, tungstenite::Message, MaybeTlsStream, WebSocketStream},
};

async fn start(dir: &Path) -> RunningServer {
    start_with_limits(dir, Limits::default()).await
}

async fn start_with_limits(dir: &Path, limits: Limits) -> RunningServer {
    idbsql_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        postgres: None,
        static_dir: None,
        secret: None,
        secret_file: None,
        allow_origins: Vec::new(),
        revoked_file: None,
        limits,
    })
    .await
    .unwrap()
}

const TABLE: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, who TEXT)";
const ALL: &str = "SELECT id, v, who FROM t ORDER BY id";

#[tokio::test]
async fn concurrent_writes_on_three_replicas_converge() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (mut a, mut b, mut c) = (Node::new(1), Node::new(2), Node::new(3));
    for node in [&mut a, &mut b, &mut c] {
        node.connect(server.addr).await;
    }
    a.sql(TABLE);
    settle(&mut [&mut a, &mut b, &mut c]).await;
    for round in 0..10 {
        // All three write the same rows and their own rows before hearing from each other.
        for (node, who) in [(&mut a, "a"), (&mut b, "b"), (&mut c, "c")] {
            node.sql(&format!(
                "INSERT INTO t VALUES ({}, '{who}-{round}', '{who}')",
                1000 + round * 10 + who.len()
            ));
            node.sql(&format!("DELETE FROM t WHERE id = {round}"));
            node.sql(&format!(
                "INSERT INTO t VALUES ({round}, 'shared-{who}-{round}', '{who}')"
            ));
        }
        for node in [&mut a, &mut b, &mut c] {
            node.pump().await;
        }
    }
    settle(&mut [&mut a, &mut b, &mut c]).await;
    let expected = a.rows(ALL);
    assert_eq!(b.rows(ALL), expected);
    assert_eq!(c.rows(ALL), expected);
    assert_eq!(
        expected.len(),
        10 + 10,
        "10 shared rows plus the per-round rows (same key)"
    );
    // A newcomer that only reads the server's log agrees too.
    let mut d = Node::new(4);
    d.connect(server.addr).await;
    settle(&mut [&mut d]).await;
    assert_eq!(d.rows(ALL), expected);
    server.stop().await;
}

#[tokio::test]
async fn offline_edits_converge_after_reconnecting() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (mut a, mut b) = (Node::new(11), Node::new(12));
    a.connect(server.addr).await;
    b.connect(server.addr).await;
    a.sql(TABLE);
    a.sql("INSERT INTO t VALUES (1, 'one', 'a'), (2, 'two', 'a')");
    settle(&mut [&mut a, &mut b]).await;

    a.disconnect();
    b.disconnect();
    a.sql("UPDATE t SET v = 'a-was-here' WHERE id = 1");
    a.sql("INSERT INTO t VALUES (3, 'a-offline', 'a')");
    b.sql("UPDATE t SET v = 'b-was-here' WHERE id = 1");
    b.sql("DELETE FROM t WHERE id = 2");
    b.sql("INSERT INTO t VALUES (4, 'b-offline', 'b')");
    assert_eq!(a.replica.pending_count(), 2);
    assert_eq!(b.replica.pending_count(), 3);

    b.connect(server.addr).await;
    settle(&mut [&mut b]).await;
    a.connect(server.addr).await;
    settle(&mut [&mut a, &mut b]).await;
    let expected = a.rows(ALL);
    assert_eq!(b.rows(ALL), expected);
    // Last writer in server order wins row 1: A reconnected last.
    assert_eq!(expected[0][1], Value::Str("a-was-here".into()));
    assert_eq!(expected.len(), 3, "rows 1, 3, 4; row 2 deleted");
    server.stop().await;
}

#[tokio::test]
async fn a_rejected_change_set_is_rolled_back_on_its_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (mut a, mut b) = (Node::new(21), Node::new(22));
    a.connect(server.addr).await;
    b.connect(server.addr).await;
    a.sql("CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE)");
    settle(&mut [&mut a, &mut b]).await;
    b.disconnect();
    a.sql("INSERT INTO u VALUES (1, 'same@x')");
    settle(&mut [&mut a]).await;
    b.sql("INSERT INTO u VALUES (2, 'same@x')");
    b.sql("INSERT INTO u VALUES (3, 'other@x')");
    b.connect(server.addr).await;
    settle(&mut [&mut a, &mut b]).await;
    let all = "SELECT id, email FROM u ORDER BY id";
    assert_eq!(a.rows(all), b.rows(all));
    assert_eq!(b.rows(all).len(), 2, "row 2 dropped, rows 1 and 3 kept");
    let events = b.replica.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SyncEvent::Rejected { .. })),
        "the app is told: {events:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_change_too_large_for_the_server_is_refused_by_its_client_and_sync_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_frame_bytes: 16 * 1024,
        ..Limits::default()
    };
    let server = start_with_limits(dir.path(), limits).await;
    let (mut a, mut b) = (Node::new(31), Node::new(32));
    let big = |id: u32| format!("INSERT INTO t VALUES ({id}, '{}', 'a')", "x".repeat(40_000));
    let ids = |rows: Vec<Vec<Value>>| {
        rows.into_iter()
            .map(|row| row[0].clone())
            .collect::<Vec<_>>()
    };

    // Offline, before the limit is known: the big change waits, then is rejected on Welcome.
    a.sql(TABLE);
    a.sql(&big(1));
    a.sql("INSERT INTO t VALUES (2, 'small', 'a')");
    a.connect(server.addr).await;
    b.connect(server.addr).await;
    settle(&mut [&mut a, &mut b]).await;
    assert_eq!(a.rows(ALL), b.rows(ALL));
    assert_eq!(ids(a.rows(ALL)), [Value::I64(2)]);
    let events = a.replica.take_events();
    assert!(
        events.iter().any(|e| matches!(e,
            SyncEvent::Rejected { reason, .. } if reason.contains("too large"))),
        "{events:?}"
    );

    // Connected, the limit is known: the commit itself fails and changes nothing.
    let error = a.replica.query(&big(3), &[]).unwrap_err();
    assert_eq!(error.code, ErrorCode::TooLarge);
    assert_eq!(a.replica.pending_count(), 0);
    a.sql("INSERT INTO t VALUES (4, 'after', 'a')");
    settle(&mut [&mut a, &mut b]).await;
    assert_eq!(a.rows(ALL), b.rows(ALL));
    assert_eq!(ids(b.rows(ALL)), [Value::I64(2), Value::I64(4)]);
    server.stop().await;
}

/// A synced `Database` over in-memory persistence, driven over a real WebSocket.
struct DbNode {
    db: idbsql::Database<idbsql::persist::memory::MemoryPersistence>,
    ws: Option<WebSocketStream<MaybeTlsStream<TcpStream>>>,
}

impl DbNode {
    async fn open(
        disk: &std::rc::Rc<std::cell::RefCell<idbsql::persist::memory::MemoryDisk>>,
    ) -> Self {
        let persistence =
            idbsql::persist::memory::MemoryPersistence::shared(std::rc::Rc::clone(disk));
        let db = idbsql::Database::open_with_options(persistence, Default::default(), true)
            .await
            .unwrap();
        Self { db, ws: None }
    }

    async fn connect(&mut self, addr: SocketAddr) {
        let (mut ws, _) = connect_async(format!("ws://{addr}/sync")).await.unwrap();
        let hello = self.db.sync_hello("shared-db", "").unwrap();
        ws.send(Message::Binary(hello.into())).await.unwrap();
        self.ws = Some(ws);
    }

    async fn pump_until_synced(&mut self) {
        let ws = self.ws.as_mut().unwrap();
        let mut quiet = 0;
        for _ in 0..500 {
            let mut active = false;
            for frame in self.db.sync_outgoing().unwrap() {
                ws.send(Message::Binary(frame.into())).await.unwrap();
                active = true;
            }
            while let Ok(Some(Ok(Message::Binary(bytes)))) =
                timeout(Duration::from_millis(20), ws.next()).await
            {
                for frame in self.db.sync_receive(&bytes).await.unwrap() {
                    ws.send(Message::Binary(frame.into())).await.unwrap();
                }
                active = true;
            }
            let synced = self.db.sync().is_some_and(|s| s.is_synced());
            quiet = if active || !synced { 0 } else { quiet + 1 };
            if quiet == 3 {
                return;
            }
        }
        panic!("did not settle");
    }

    async fn rows(&mut self, sql: &str) -> Vec<Vec<Value>> {
        self.db.query(sql, &[]).await.unwrap().rows
    }

    fn take_events_now(&mut self) {
        self.db.take_events();
    }
}

#[tokio::test]
async fn a_synced_database_keeps_its_outbox_across_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let disk_a = std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let disk_b = std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let mut a = DbNode::open(&disk_a).await;
    let mut b = DbNode::open(&disk_b).await;
    a.connect(server.addr).await;
    b.connect(server.addr).await;
    a.db.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'online');",
    )
    .await
    .unwrap();
    a.pump_until_synced().await;
    b.pump_until_synced().await;
    assert_eq!(
        b.rows("SELECT v FROM t").await,
        vec![vec![Value::Str("online".into())]]
    );

    // A writes offline, then "reloads": the write is only in its outbox on disk.
    a.ws = None;
    a.db.sync_disconnected();
    a.db.query("INSERT INTO t VALUES (2, 'offline')", &[])
        .await
        .unwrap();
    assert_eq!(disk_a.borrow().outbox.len(), 1);
    a.db.close();
    let mut a = DbNode::open(&disk_a).await;
    assert_eq!(
        a.rows("SELECT id FROM t ORDER BY id").await.len(),
        2,
        "outbox reapplied on open"
    );
    a.connect(server.addr).await;
    a.pump_until_synced().await;
    assert!(disk_a.borrow().outbox.is_empty(), "confirmed by the server");
    b.pump_until_synced().await;
    assert_eq!(
        b.rows("SELECT id, v FROM t ORDER BY id").await,
        a.rows("SELECT id, v FROM t ORDER BY id").await
    );
    // B reloads from its own disk (confirmed log only) and catches up without refetching all.
    b.db.close();
    let mut b = DbNode::open(&disk_b).await;
    assert_eq!(
        b.rows("SELECT COUNT(*) FROM t").await,
        vec![vec![Value::I64(2)]]
    );
    server.stop().await;
}

/// Remote changes that arrive while a transaction is open wait for it to end: a ROLLBACK does
/// not write the rows from before the transaction over them, and both replicas converge.
#[tokio::test]
async fn remote_changes_wait_for_an_open_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let disk_a = std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let disk_b = std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let mut a = DbNode::open(&disk_a).await;
    let mut b = DbNode::open(&disk_b).await;
    a.connect(server.addr).await;
    b.connect(server.addr).await;
    a.db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one');")
        .await
        .unwrap();
    a.pump_until_synced().await;
    b.pump_until_synced().await;

    // A opens a transaction and changes row 1; B changes row 1 too, and A receives it.
    a.db.exec("BEGIN; UPDATE t SET v = 'a-local' WHERE id = 1;")
        .await
        .unwrap();
    b.db.query("UPDATE t SET v = 'from-b' WHERE id = 1", &[])
        .await
        .unwrap();
    b.pump_until_synced().await;
    let ws = a.ws.as_mut().unwrap();
    while let Ok(Some(Ok(Message::Binary(bytes)))) =
        timeout(Duration::from_millis(200), ws.next()).await
    {
        assert!(a.db.sync_receive(&bytes).await.unwrap().is_empty());
    }
    assert!(
        a.db.holds_sync_messages(),
        "held while the transaction is open"
    );
    assert_eq!(
        a.rows("SELECT v FROM t").await,
        vec![vec![Value::Str("a-local".into())]],
        "the transaction sees its own write"
    );
    a.db.query("ROLLBACK", &[]).await.unwrap();
    assert!(!a.db.holds_sync_messages());
    assert_eq!(
        a.rows("SELECT v FROM t").await,
        vec![vec![Value::Str("from-b".into())]],
        "the remote change applies after the rollback, not under it"
    );
    a.pump_until_synced().await;
    b.pump_until_synced().await;
    assert_eq!(
        a.rows("SELECT * FROM t").await,
        b.rows("SELECT * FROM t").await
    );
    server.stop().await;
}

/// A checkpoint fold while a local change is still pending writes the confirmed state; once
/// the server confirms the change, the next fold writes it too, and a reload finds it (the
/// log that held it is gone by then).
#[tokio::test]
async fn a_fold_around_a_pending_change_keeps_it_after_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let disk = std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let mut a = DbNode::open(&disk).await;
    a.connect(server.addr).await;
    a.db.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'online');",
    )
    .await
    .unwrap();
    a.pump_until_synced().await;
    a.db.checkpoint().await.unwrap();

    a.ws = None;
    a.db.sync_disconnected();
    a.db.query("UPDATE t SET v = 'pending' WHERE id = 1", &[])
        .await
        .unwrap();
    a.db.checkpoint().await.unwrap();
    a.connect(server.addr).await;
    a.pump_until_synced().await;
    assert!(disk.borrow().outbox.is_empty(), "confirmed by the server");
    a.db.checkpoint().await.unwrap();
    assert!(disk.borrow().log.is_empty(), "folded");
    a.db.close();
    let mut a = DbNode::open(&disk).await;
    assert_eq!(
        a.rows("SELECT v FROM t").await,
        vec![vec![Value::Str("pending".into())]]
    );
    server.stop().await;
}

/// A server restored from a backup (its log behind what a client had seen) is found at
/// Welcome: the client drops its confirmed state, reconnects to catch up from the server's
/// log, keeps its unconfirmed change on top and pushes it again — and stores the result, so
/// a reload agrees. Without this it would go on silently believing in rows the server lost.
#[tokio::test]
async fn a_server_behind_the_client_resets_it_to_the_servers_log() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let disk = std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let mut a = DbNode::open(&disk).await;
    a.connect(server.addr).await;
    a.db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    a.db.query("INSERT INTO t VALUES (1, 'kept')", &[])
        .await
        .unwrap();
    a.pump_until_synced().await;
    server.stop().await;
    std::fs::copy(dir.path().join("log.redb"), backup.path().join("log.redb")).unwrap();

    let server = start(dir.path()).await;
    a.connect(server.addr).await;
    a.db.query("INSERT INTO t VALUES (2, 'lost with the server')", &[])
        .await
        .unwrap();
    a.pump_until_synced().await;
    a.db.checkpoint().await.unwrap();
    server.stop().await;

    // The server comes back from the backup, without entry 3; A wrote offline meanwhile.
    let server = start(backup.path()).await;
    a.ws = None;
    a.db.sync_disconnected();
    a.db.query("INSERT INTO t VALUES (3, 'offline')", &[])
        .await
        .unwrap();
    a.take_events_now();
    a.connect(server.addr).await;
    for _ in 0..100 {
        let ws = a.ws.as_mut().unwrap();
        if let Ok(Some(Ok(Message::Binary(bytes)))) =
            timeout(Duration::from_millis(50), ws.next()).await
        {
            a.db.sync_receive(&bytes).await.unwrap();
        }
        if a.db.sync().is_some_and(|s| s.needs_reconnect()) {
            break;
        }
    }
    let events = a.db.sync_events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            SyncEvent::Reset {
                server_seq: 2,
                had_seen: 3
            }
        )),
        "{events:?}"
    );
    a.connect(server.addr).await;
    a.pump_until_synced().await;
    let expected = vec![
        vec![Value::I64(1), Value::Str("kept".into())],
        vec![Value::I64(3), Value::Str("offline".into())],
    ];
    assert_eq!(a.rows("SELECT id, v FROM t ORDER BY id").await, expected);
    assert!(
        disk.borrow().outbox.is_empty(),
        "the offline row was pushed again"
    );

    // The server agrees, and a reload from A's disk holds the same.
    let disk_b = std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let mut b = DbNode::open(&disk_b).await;
    b.connect(server.addr).await;
    b.pump_until_synced().await;
    assert_eq!(b.rows("SELECT id, v FROM t ORDER BY id").await, expected);
    a.db.close();
    let mut a = DbNode::open(&disk).await;
    assert_eq!(a.rows("SELECT id, v FROM t ORDER BY id").await, expected);
    server.stop().await;
}

/// Storing a remote entry fails (quota, abort): memory is put back as stored, the client
/// reconnects, the entry comes again and is stored — nothing applied in memory only.
#[tokio::test]
async fn a_failed_write_of_remote_entries_leaves_memory_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let disk_a = std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let disk_b: std::rc::Rc<std::cell::RefCell<idbsql::persist::memory::MemoryDisk>> =
        std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let mut a = DbNode::open(&disk_a).await;
    let mut b = DbNode::open(&disk_b).await;
    a.connect(server.addr).await;
    b.connect(server.addr).await;
    a.db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    a.db.query("INSERT INTO t VALUES (1, 'one')", &[])
        .await
        .unwrap();
    a.pump_until_synced().await;
    b.pump_until_synced().await;

    disk_b.borrow_mut().fail_next_write = true;
    a.db.query("INSERT INTO t VALUES (2, 'two')", &[])
        .await
        .unwrap();
    a.pump_until_synced().await;
    let mut failed = None;
    for _ in 0..100 {
        let ws = b.ws.as_mut().unwrap();
        if let Ok(Some(Ok(Message::Binary(bytes)))) =
            timeout(Duration::from_millis(50), ws.next()).await
        {
            if let Err(error) = b.db.sync_receive(&bytes).await {
                failed = Some(error);
                break;
            }
        }
    }
    let failed = failed.expect("the write failed");
    assert_eq!(failed.code, ErrorCode::Storage);
    assert_eq!(
        b.rows("SELECT id FROM t ORDER BY id").await,
        vec![vec![Value::I64(1)]],
        "memory is as stored"
    );
    assert!(b.db.sync().is_some_and(|s| s.needs_reconnect()));

    b.connect(server.addr).await;
    b.pump_until_synced().await;
    let both = vec![vec![Value::I64(1)], vec![Value::I64(2)]];
    assert_eq!(b.rows("SELECT id FROM t ORDER BY id").await, both);
    b.db.close();
    let mut b = DbNode::open(&disk_b).await;
    assert_eq!(b.rows("SELECT id FROM t ORDER BY id").await, both);
    server.stop().await;
}

/// An ALTER TABLE on one client and rows inserted by another, offline at the same time, in
/// either server order: after the merge every replica holds every row, each in the table's
/// new shape (a column added gets its default; a dropped one goes).
#[tokio::test]
async fn a_concurrent_alter_table_and_inserts_leave_every_row_in_the_new_shape() {
    for alter_first in [true, false] {
        for alter in [
            "ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 7",
            "ALTER TABLE t DROP COLUMN who",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let server = start(dir.path()).await;
            let (mut a, mut b) = (Node::new(21), Node::new(22));
            a.connect(server.addr).await;
            b.connect(server.addr).await;
            a.sql(TABLE);
            a.sql("INSERT INTO t VALUES (1, 'one', 'a')");
            settle(&mut [&mut a, &mut b]).await;

            a.disconnect();
            b.disconnect();
            a.sql(alter);
            b.sql("INSERT INTO t VALUES (2, 'two', 'b')");
            let (first, second) = if alter_first {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            first.connect(server.addr).await;
            settle(&mut [&mut *first]).await;
            second.connect(server.addr).await;
            settle(&mut [&mut a, &mut b]).await;

            let case = format!("{alter}, alter first: {alter_first}");
            let rejected: Vec<_> = [a.replica.take_events(), b.replica.take_events()]
                .concat()
                .into_iter()
                .filter(|e| matches!(e, SyncEvent::Rejected { .. }))
                .collect();
            assert!(rejected.is_empty(), "{case}: {rejected:?}");
            let rows = a.rows("SELECT * FROM t ORDER BY id");
            assert_eq!(b.rows("SELECT * FROM t ORDER BY id"), rows, "{case}");
            let mut c = Node::new(23);
            c.connect(server.addr).await;
            settle(&mut [&mut c]).await;
            assert_eq!(
                c.rows("SELECT * FROM t ORDER BY id"),
                rows,
                "{case}: the log"
            );
            assert_eq!(rows.len(), 2, "{case}: {rows:?}");
            let width = if alter.contains("ADD") { 4 } else { 2 };
            assert!(
                rows.iter().all(|row| row.len() == width),
                "{case}: {rows:?}"
            );
            if alter.contains("ADD") {
                assert_eq!(rows[1][3], Value::I64(7), "{case}: the default");
            }
            server.stop().await;
        }
    }
}

/// README's conflict model, as it behaves: whole rows, last writer in server order wins.
#[tokio::test]
async fn conflicts_resolve_by_whole_row_last_writer_in_server_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (mut a, mut b) = (Node::new(31), Node::new(32));
    a.connect(server.addr).await;
    b.connect(server.addr).await;
    a.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT, y TEXT)");
    a.sql("INSERT INTO t VALUES (1, 'x0', 'y0'), (2, 'x0', 'y0')");
    settle(&mut [&mut a, &mut b]).await;

    a.disconnect();
    b.disconnect();
    a.sql("INSERT INTO t VALUES (3, 'a', 'a')"); // same key, both offline
    b.sql("INSERT INTO t VALUES (3, 'b', 'b')");
    a.sql("UPDATE t SET x = 'x-by-a' WHERE id = 1"); // different columns of one row
    b.sql("UPDATE t SET y = 'y-by-b' WHERE id = 1");
    a.sql("DELETE FROM t WHERE id = 2"); // update racing delete: the update comes later
    b.sql("UPDATE t SET x = 'kept' WHERE id = 2");
    a.connect(server.addr).await;
    settle(&mut [&mut a]).await;
    b.connect(server.addr).await;
    settle(&mut [&mut a, &mut b]).await;

    let rows = a.rows("SELECT id, x, y FROM t ORDER BY id");
    assert_eq!(b.rows("SELECT id, x, y FROM t ORDER BY id"), rows);
    let text = |s: &str| Value::Str(s.into());
    assert_eq!(
        rows,
        vec![
            // B's whole row won: A's edit of x is gone.
            vec![Value::I64(1), text("x0"), text("y-by-b")],
            // B's update, ordered after A's delete, brought the row back whole.
            vec![Value::I64(2), text("kept"), text("y0")],
            // B's insert, ordered later, replaced A's.
            vec![Value::I64(3), text("b"), text("b")],
        ]
    );
    server.stop().await;
}

/// A remote change that overwrites a row this client wrote, made by a writer that had not
/// seen that write, is reported as a conflict with both rows; one made after seeing it is not.
#[tokio::test]
async fn an_overwrite_by_a_writer_that_had_not_seen_ours_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (mut a, mut b) = (Node::new(41), Node::new(42));
    a.connect(server.addr).await;
    b.connect(server.addr).await;
    a.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    a.sql("INSERT INTO t VALUES (1, 'start')");
    settle(&mut [&mut a, &mut b]).await;

    b.disconnect();
    a.sql("UPDATE t SET v = 'by a' WHERE id = 1");
    settle(&mut [&mut a]).await;
    b.sql("UPDATE t SET v = 'by b, offline' WHERE id = 1");
    b.connect(server.addr).await;
    settle(&mut [&mut a, &mut b]).await;
    let conflicts = |events: Vec<SyncEvent>| -> Vec<SyncEvent> {
        events
            .into_iter()
            .filter(|e| matches!(e, SyncEvent::Conflict { .. }))
            .collect()
    };
    let text = |s: &str| Value::Str(s.into());
    assert_eq!(
        conflicts(a.replica.take_events()),
        vec![SyncEvent::Conflict {
            table: "t".into(),
            columns: vec!["id".into(), "v".into()],
            key: Value::I64(1),
            local: Some(vec![Value::I64(1), text("by a")]),
            remote: Some(vec![Value::I64(1), text("by b, offline")]),
        }]
    );
    assert!(
        conflicts(b.replica.take_events()).is_empty(),
        "b's write won"
    );

    // B writes again after seeing A's newer write: not a conflict.
    a.sql("UPDATE t SET v = 'a again' WHERE id = 1");
    settle(&mut [&mut a, &mut b]).await;
    b.sql("UPDATE t SET v = 'b after seeing it' WHERE id = 1");
    settle(&mut [&mut a, &mut b]).await;
    assert!(conflicts(a.replica.take_events()).is_empty());
    assert_eq!(
        a.rows("SELECT v FROM t"),
        vec![vec![text("b after seeing it")]]
    );
    server.stop().await;
}
