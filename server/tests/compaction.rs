//! Log compaction through the real binary: a table rewritten 100 times leaves a log within
//! twice its data; a newcomer catches up from it, a client whose last seen entry was compacted
//! loses no pending change, and the overwrite it had not seen is still reported as a conflict.

mod common;

use {
    common::{
        binary::ServerProcess,
        client::compacted_log,
        node::{settle, Node},
    },
    gluesql_core::data::Value,
    idbsql::sync::SyncEvent,
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
    assert_eq!(log.len(), 103, "every entry keeps its place");
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
