//! Log compaction through the real binary: a table rewritten 100 times leaves a log within
//! twice its data, and so do 2,000 one-row pushes, entry headers included; a newcomer catches
//! up from it, a client whose last seen entry was compacted loses no pending change, a client
//! that never saw its own entry still finds it, and the overwrite a client had not seen is
//! still reported as a conflict.

mod common;

use {
    common::{
        binary::ServerProcess,
        client::{change_set, compacted_log, is_ack, read_log, Client},
        node::{settle, Node},
    },
    futures_util::SinkExt,
    gluesql_core::data::Value,
    idbsql::{
        engine::Engine,
        protocol::{
            decode_change_set,
            messages::{encode_message, ClientMessage, LogEntry, ServerMessage},
        },
        sync::SyncEvent,
    },
    std::{net::SocketAddr, time::Duration},
    tokio_tungstenite::tungstenite::Message,
};

#[tokio::test]
async fn a_table_rewritten_100_times_keeps_a_log_within_twice_its_data_and_nobody_loses_anything() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--compact-log-from-bytes", "0"], &[]);
    let (mut a, mut b) = (Node::new(51), Node::new(52));
    a.connect_to(server.addr, "db").await;
    b.connect_to(server.addr, "db").await;
    a.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    let rows: Vec<String> = (1..=100).map(|id| format!("({id}, 'first')")).collect();
    a.sql(&format!("INSERT INTO t VALUES {}", rows.join(", ")));
    settle(&mut [&mut a, &mut b]).await;

    // A goes offline; B's write of row 1 is confirmed, then B goes offline with a pending change.
    a.disconnect();
    b.sql("UPDATE t SET v = 'by b' WHERE id = 1");
    settle(&mut [&mut b]).await;
    b.disconnect();
    b.sql("UPDATE t SET v = 'by b, offline' WHERE id = 2");

    // A, offline, rewrites the whole table 100 times (without having seen B's write), syncs.
    let padding = "x".repeat(100);
    for round in 1..=100 {
        a.sql(&format!("UPDATE t SET v = 'round {round} {padding}'"));
    }
    a.connect_to(server.addr, "db").await;
    settle(&mut [&mut a]).await;

    // The log now holds about one copy of the table, not a hundred (compaction runs after the
    // batch is acknowledged: wait for it).
    let (log, total, data) = compacted_log(server.addr, "db").await;
    // A's INSERT, rewritten by its own later entries made after it saw it, left; A's 100
    // rounds stay (it pushed them all before seeing any), and B's write, which B has not yet
    // declared it saw, too.
    assert_eq!(
        log.iter().map(|entry| entry.seq).collect::<Vec<_>>(),
        [1].into_iter().chain(3..=103).collect::<Vec<_>>()
    );
    assert!(
        total <= 2 * data,
        "log {total} bytes for {data} bytes of data"
    );
    assert!(
        data > 100 * 100,
        "the largest entry is the whole table: {data}"
    );

    // B comes back: it catches up through the compacted entries, its pending change is pushed
    // and wins, and A's overwrite of the row B wrote, made without seeing it, is a conflict.
    b.connect_to(server.addr, "db").await;
    settle(&mut [&mut a, &mut b]).await;
    let text = |s: &str| Value::Str(s.into());
    let last_round = format!("round 100 {padding}");
    let conflicts: Vec<SyncEvent> = b
        .replica
        .take_events()
        .into_iter()
        .filter(|event| matches!(event, SyncEvent::Conflict { .. }))
        .collect();
    assert_eq!(
        conflicts,
        vec![SyncEvent::Conflict {
            table: "t".into(),
            columns: vec!["id".into(), "v".into()],
            key: Value::I64(1),
            local: Some(vec![Value::I64(1), text("by b")]),
            remote: Some(vec![Value::I64(1), text(&last_round)]),
        }]
    );
    let expected: Vec<Vec<Value>> = (1..=100)
        .map(|id| {
            let v = if id == 2 {
                "by b, offline"
            } else {
                &last_round
            };
            vec![Value::I64(id), text(v)]
        })
        .collect();
    let query = "SELECT id, v FROM t ORDER BY id";
    assert_eq!(a.rows(query), expected);
    assert_eq!(b.rows(query), expected);

    // A newcomer builds the same table from the compacted log.
    let mut c = Node::new(53);
    c.connect_to(server.addr, "db").await;
    settle(&mut [&mut c]).await;
    assert_eq!(c.rows(query), expected);
}

/// What the redb log stores for an entry besides its change set: the key (database name and
/// sequence number) and the value's header (docs/format.md).
fn header_bytes(database: &str) -> usize {
    database.len() + 8 + 33
}

fn log_bytes(log: &[LogEntry], database: &str) -> usize {
    log.iter()
        .map(|entry| header_bytes(database) + entry.change_set.len())
        .sum()
}

/// `database`'s log once `done` holds of it, or as it is after 10 s.
async fn log_when(
    addr: SocketAddr,
    database: &str,
    done: impl Fn(&[LogEntry]) -> bool,
) -> Vec<LogEntry> {
    for _ in 0..100 {
        let log = read_log(addr, database).await;
        if done(&log) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    read_log(addr, database).await
}

/// Many tiny pushes: a client rewrites a 20-row table 100 times over, one row per push, in
/// bursts of 20 pushes sent before their acknowledgements come back (as a client with a busy
/// outbox does), each burst made having seen the one before. The entries it was shown and that
/// hold nothing any more leave the log, so the log, headers included, stays within twice a log
/// that holds just the data; a newcomer builds the same table.
#[tokio::test]
async fn two_thousand_one_row_pushes_leave_a_log_within_twice_its_data_headers_included() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--compact-log-from-bytes", "0"], &[]);
    let database = "tiny";
    let (mut writer, _) = Client::hello(server.addr, database, 71, "", 0).await;
    let mut engine = Engine::default();
    let padding = "x".repeat(500);
    let rows: Vec<String> = (1..=20)
        .map(|id| format!("({id}, 'first {padding}')"))
        .collect();
    let create = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)";
    let mut bursts = vec![
        vec![create.to_string()],
        vec![format!("INSERT INTO t VALUES {}", rows.join(", "))],
    ];
    bursts.extend((1..=100).map(|round| {
        (1..=20)
            .map(|id| format!("UPDATE t SET v = 'round {round} {padding}' WHERE id = {id}"))
            .collect()
    }));
    let (mut client_seq, mut seen) = (0, 0);
    for burst in &bursts {
        for sql in burst {
            client_seq += 1;
            let change_set = change_set(&mut engine, sql);
            writer
                .send(&ClientMessage::Push {
                    client_seq,
                    change_set,
                    seen,
                })
                .await;
        }
        for sql in burst {
            match writer.expect(is_ack).await {
                ServerMessage::Ack { server_seq, .. } => seen = seen.max(server_seq),
                other => panic!("{sql}: {other:?}"),
            }
        }
    }

    // The same table as a log that holds only the data: its CREATE, then one INSERT of the rows.
    let query = "SELECT id, v FROM t ORDER BY id";
    let expected = engine.query(query, &[]).unwrap().rows;
    let mut fresh = Engine::default();
    let create = change_set(&mut fresh, create);
    let values: Vec<String> = expected
        .iter()
        .map(|row| match row.as_slice() {
            [Value::I64(id), Value::Str(v)] => format!("({id}, '{v}')"),
            other => panic!("{other:?}"),
        })
        .collect();
    let insert = change_set(
        &mut fresh,
        &format!("INSERT INTO t VALUES {}", values.join(", ")),
    );
    let data = 2 * header_bytes(database) + create.len() + insert.len();

    let log = log_when(server.addr, database, |log| {
        log_bytes(log, database) <= 2 * data
    })
    .await;
    let total = log_bytes(&log, database);
    assert!(
        total <= 2 * data,
        "log {total} bytes in {} entries for {data} bytes of data",
        log.len()
    );
    assert!(log.len() < 100, "{} of 2,002 entries stay", log.len());
    assert!(log.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    assert_eq!(
        log.last().map(|entry| entry.seq),
        Some(seen),
        "the newest entry stays"
    );

    let mut newcomer = Node::new(72);
    newcomer.connect_to(server.addr, database).await;
    settle(&mut [&mut newcomer]).await;
    assert_eq!(newcomer.rows(query), expected);
}

/// A client whose push was logged but who left before seeing it: others overwrite that row
/// many times and compaction empties its entry, yet the entry stays (its writer never said it
/// saw it), so when the client comes back its pending change is confirmed, not taken for
/// rejected, and the replicas agree.
#[tokio::test]
async fn an_entry_its_writer_never_saw_stays_until_the_writer_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--compact-log-from-bytes", "0"], &[]);
    let database = "unseen";
    let (mut a, mut b) = (Node::new(81), Node::new(82));
    a.connect_to(server.addr, database).await;
    b.connect_to(server.addr, database).await;
    a.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    a.sql("INSERT INTO t VALUES (1, 'first'), (2, 'first')");
    settle(&mut [&mut a, &mut b]).await;
    let before = read_log(server.addr, database).await;
    let head = before.last().map_or(0, |entry| entry.seq);

    // A's push reaches the server; A leaves before the acknowledgement or the entry come back.
    a.sql("UPDATE t SET v = 'by a' WHERE id = 1");
    let ws = a.ws.as_mut().unwrap();
    for message in a.replica.outgoing() {
        ws.send(Message::Binary(encode_message(&message).into()))
            .await
            .unwrap();
    }
    let logged = log_when(server.addr, database, |log| {
        log.last().is_some_and(|entry| entry.seq > head)
    })
    .await;
    let a_seq = logged.last().unwrap().seq;
    a.disconnect();
    assert_eq!(a.replica.pending_count(), 1);

    // B, who saw A's write, overwrites that row five times, seeing each of its own writes.
    settle(&mut [&mut b]).await;
    for round in 1..=5 {
        b.sql(&format!("UPDATE t SET v = 'by b {round}' WHERE id = 1"));
        settle(&mut [&mut b]).await;
    }
    // Compaction has run over A's entry once B's first overwrite, seen by B before its next,
    // has left the log.
    let log = log_when(server.addr, database, |log| {
        log.iter().all(|entry| entry.seq != a_seq + 1)
    })
    .await;
    assert!(log.iter().all(|entry| entry.seq != a_seq + 1), "compacted");

    a.connect_to(server.addr, database).await;
    settle(&mut [&mut a, &mut b]).await;
    let rejected: Vec<SyncEvent> = a
        .replica
        .take_events()
        .into_iter()
        .filter(|event| matches!(event, SyncEvent::Rejected { .. }))
        .collect();
    assert_eq!(
        rejected,
        vec![],
        "A's change was accepted, then overwritten"
    );
    assert_eq!(a.replica.pending_count(), 0);
    // A's entry is still there, with nothing left to apply.
    let a_entry = log.iter().find(|entry| entry.seq == a_seq);
    assert!(
        a_entry.is_some_and(|entry| decode_change_set(&entry.change_set).unwrap().is_empty()),
        "{:?}",
        log.iter().map(|entry| entry.seq).collect::<Vec<_>>()
    );
    let query = "SELECT id, v FROM t ORDER BY id";
    let expected = vec![
        vec![Value::I64(1), Value::Str("by b 5".into())],
        vec![Value::I64(2), Value::Str("first".into())],
    ];
    assert_eq!(a.rows(query), expected);
    assert_eq!(b.rows(query), expected);
}
