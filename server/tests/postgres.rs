//! Several idbsql-server instances on one real PostgreSQL (a throwaway cluster per test, fsync
//! on): one total order, replicas that converge across instances, races re-validated, a killed
//! instance losing no acknowledged change, a late instance serving the whole history.

mod common;

use {
    common::{
        client::{change_set, compacted_log, is_ack, read_log, Client},
        node::{settle, Node},
        pg_cluster::PgCluster,
    },
    gluesql_core::data::Value,
    idbsql::{
        engine::Engine,
        protocol::messages::{LogEntry, ServerMessage},
    },
    idbsql_server::{auth, Limits, RunningServer, ServerConfig},
    std::{
        collections::{BTreeSet, HashMap},
        io::{BufRead, BufReader},
        net::SocketAddr,
        process::{Child, Command, Stdio},
        time::Duration,
    },
};

fn on(cluster: &PgCluster) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: cluster.path().join("unused"),
        postgres: Some(cluster.url()),
        static_dir: None,
        secret: None,
        secret_file: None,
        allow_origins: Vec::new(),
        revoked_file: None,
        limits: Limits::default(),
    }
}

async fn start_on(cluster: &PgCluster) -> RunningServer {
    idbsql_server::start(on(cluster))
        .await
        .expect("server starts on PostgreSQL")
}

/// The log is one total order: sequence numbers 1..=n, each (client, client seq) once.
fn assert_total_order(log: &[LogEntry]) {
    for (index, entry) in log.iter().enumerate() {
        assert_eq!(entry.seq, index as u64 + 1, "gap-free, no number twice");
    }
    let pushes: BTreeSet<(u128, u64)> = log.iter().map(|e| (e.client_id, e.client_seq)).collect();
    assert_eq!(pushes.len(), log.len(), "every push logged once");
}

/// Waits until every node holds the same rows as the first (changes cross instances through
/// PostgreSQL's notifications, a few milliseconds behind).
async fn converge(nodes: &mut [&mut Node], query: &str) -> Vec<Vec<Value>> {
    for _ in 0..100 {
        settle(nodes).await;
        let expected = nodes[0].rows(query);
        if nodes.iter_mut().all(|node| node.rows(query) == expected) {
            return expected;
        }
    }
    panic!("replicas on different instances did not converge");
}

const TABLE: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, who TEXT)";
const ALL: &str = "SELECT id, v, who FROM t ORDER BY id";

#[tokio::test]
async fn replicas_on_two_instances_converge_and_a_later_instance_serves_the_history() {
    let cluster = PgCluster::start();
    let (server_a, server_b) = (start_on(&cluster).await, start_on(&cluster).await);
    let (mut a, mut b, mut c, mut d) = (Node::new(1), Node::new(2), Node::new(3), Node::new(4));
    a.connect(server_a.addr).await;
    b.connect(server_b.addr).await;
    c.connect(server_a.addr).await;
    d.connect(server_b.addr).await;
    a.sql(TABLE);
    converge(&mut [&mut a, &mut b, &mut c, &mut d], ALL).await;
    for round in 0..10 {
        // Everyone writes a shared row and its own before hearing from the others.
        for (node, who) in [(&mut a, "a"), (&mut b, "b"), (&mut c, "c"), (&mut d, "d")] {
            let own = 1000 + round * 10 + who.as_bytes()[0] as usize % 10;
            node.sql(&format!(
                "INSERT INTO t VALUES ({own}, '{who}-{round}', '{who}')"
            ));
            node.sql(&format!("DELETE FROM t WHERE id = {round}"));
            node.sql(&format!(
                "INSERT INTO t VALUES ({round}, 'shared-{who}-{round}', '{who}')"
            ));
        }
        for node in [&mut a, &mut b, &mut c, &mut d] {
            node.pump().await;
        }
    }
    let expected = converge(&mut [&mut a, &mut b, &mut c, &mut d], ALL).await;
    assert_eq!(expected.len(), 10 + 40, "10 shared rows and 40 own rows");

    // A third instance started now, on the same PostgreSQL, serves all of it.
    let server_c = start_on(&cluster).await;
    let mut e = Node::new(5);
    e.connect(server_c.addr).await;
    settle(&mut [&mut e]).await;
    assert_eq!(e.rows(ALL), expected);
    let log = read_log(server_c.addr, "shared").await;
    assert_total_order(&log);
    assert_eq!(read_log(server_a.addr, "shared").await, log);
    for server in [server_a, server_b, server_c] {
        server.stop().await;
    }
}

/// Compaction on the shared log: instances that both write one table keep its log near the
/// size of its data, emptied entries their writers saw leave it, and a newcomer on a third
/// instance builds the same table from it.
#[tokio::test]
async fn compaction_on_a_shared_log_keeps_the_same_state() {
    let cluster = PgCluster::start();
    let compacting = || {
        let mut config = on(&cluster);
        config.limits.compact_log_from_bytes = 0;
        idbsql_server::start(config)
    };
    let (server_a, server_b) = (compacting().await.unwrap(), compacting().await.unwrap());
    let (mut a, mut b) = (Node::new(61), Node::new(62));
    a.connect(server_a.addr).await;
    b.connect(server_b.addr).await;
    a.sql(TABLE);
    let rows: Vec<String> = (1..=50).map(|id| format!("({id}, 'v', 'a')")).collect();
    a.sql(&format!("INSERT INTO t VALUES {}", rows.join(", ")));
    converge(&mut [&mut a, &mut b], ALL).await;
    for round in 0..20 {
        let (node, who) = if round % 2 == 0 {
            (&mut a, "a")
        } else {
            (&mut b, "b")
        };
        node.sql(&format!(
            "UPDATE t SET v = 'round {round} {}', who = '{who}'",
            "x".repeat(100)
        ));
        converge(&mut [&mut a, &mut b], ALL).await;
    }
    let expected = converge(&mut [&mut a, &mut b], ALL).await;
    let (log, total, data) = compacted_log(server_a.addr, "shared").await;
    // Entries keep their places; rounds that were rewritten by the next one and that their
    // writer saw before writing again left (the newest round and the CREATE stay).
    assert!(log.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    assert_eq!(log.first().map(|entry| entry.seq), Some(1));
    assert_eq!(log.last().map(|entry| entry.seq), Some(22));
    assert!(log.len() < 22, "{} entries", log.len());
    assert!(
        total <= 2 * data,
        "log {total} bytes for {data} bytes of data"
    );

    let server_c = start_on(&cluster).await;
    let mut c = Node::new(63);
    c.connect(server_c.addr).await;
    settle(&mut [&mut c]).await;
    assert_eq!(c.rows(ALL), expected);
    for server in [server_a, server_b, server_c] {
        server.stop().await;
    }
}

#[tokio::test]
async fn a_unique_race_across_instances_has_one_winner_and_other_races_are_revalidated() {
    let cluster = PgCluster::start();
    let (server_a, server_b) = (start_on(&cluster).await, start_on(&cluster).await);
    let create = "CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE)";
    let mut engines = [Engine::default(), Engine::default()];
    let schema = change_set(&mut engines[0], create);
    change_set(&mut engines[1], create);
    let (mut on_a, _) = Client::hello(server_a.addr, "race", 1, "", 0).await;
    let (mut on_b, _) = Client::hello(server_b.addr, "race", 2, "", 0).await;
    assert!(matches!(
        on_a.push(1, schema).await,
        ServerMessage::Ack { .. }
    ));
    let mut outcomes = Vec::new();
    for round in 0..30u64 {
        // Same email from both instances at once: exactly one may win.
        let same_a = change_set(
            &mut engines[0],
            &format!("INSERT INTO u VALUES ({}, 'same{round}')", 2 * round),
        );
        let same_b = change_set(
            &mut engines[1],
            &format!("INSERT INTO u VALUES ({}, 'same{round}')", 2 * round + 1),
        );
        let (from_a, from_b) = tokio::join!(on_a.push(round * 2 + 2, same_a), async {
            // Instance B may not have heard of the table yet: its writer catches up first.
            on_b.push(round * 2 + 1, same_b).await
        });
        let accepted = [&from_a, &from_b]
            .iter()
            .filter(|m| matches!(m, ServerMessage::Ack { .. }))
            .count();
        assert_eq!(accepted, 1, "round {round}: {from_a:?} / {from_b:?}");
        // Distinct emails from both at once: both win, whoever appended first.
        let own_a = change_set(
            &mut engines[0],
            &format!("INSERT INTO u VALUES ({}, 'a{round}')", 1000 + round),
        );
        let own_b = change_set(
            &mut engines[1],
            &format!("INSERT INTO u VALUES ({}, 'b{round}')", 2000 + round),
        );
        let (from_a, from_b) = tokio::join!(
            on_a.push(round * 2 + 3, own_a),
            on_b.push(round * 2 + 2, own_b)
        );
        outcomes.push((from_a, from_b));
        // Keep each client engine in step with what the server kept.
        for engine in &mut engines {
            engine.store_mut().take_change_sets();
        }
    }
    for (from_a, from_b) in &outcomes {
        assert!(
            matches!(from_a, ServerMessage::Ack { .. })
                && matches!(from_b, ServerMessage::Ack { .. }),
            "a lost race is decided again, never rejected: {from_a:?} / {from_b:?}"
        );
    }
    let log = read_log(server_b.addr, "race").await;
    assert_total_order(&log);
    assert_eq!(
        log.len(),
        1 + 30 + 60,
        "schema, 30 race winners, 60 own rows"
    );
    server_a.stop().await;
    server_b.stop().await;
}

/// The change sets of `count` inserts as one client makes them.
fn inserts(secret: u128, first_id: u64, count: u64) -> Vec<Vec<u8>> {
    let mut engine = Engine::default();
    change_set(&mut engine, TABLE);
    (first_id + 1..=first_id + count)
        .map(|id| {
            change_set(
                &mut engine,
                &format!("INSERT INTO t VALUES ({id}, 'v{id}', '{secret}')"),
            )
        })
        .collect()
}

/// One client pushing its change sets one after another; returns each push's answer.
async fn push_all(addr: SocketAddr, secret: u128, pushes: Vec<Vec<u8>>) -> Vec<ServerMessage> {
    let (mut client, welcome) = Client::hello(addr, "burst", secret, "", 0).await;
    assert!(matches!(welcome, ServerMessage::Welcome { .. }));
    let mut answers = Vec::new();
    for (seq, bytes) in (1..).zip(pushes) {
        answers.push(client.push(seq, bytes).await);
    }
    answers
}

#[tokio::test]
async fn three_instances_twenty_clients_each_five_hundred_pushes() {
    const CLIENTS: u64 = 20;
    const PUSHES: u64 = 500;
    let cluster = PgCluster::start();
    let servers = [
        start_on(&cluster).await,
        start_on(&cluster).await,
        start_on(&cluster).await,
    ];
    let mut engine = Engine::default();
    let (mut creator, _) = Client::hello(servers[0].addr, "burst", 9999, "", 0).await;
    assert!(matches!(
        creator.push(1, change_set(&mut engine, TABLE)).await,
        ServerMessage::Ack { .. }
    ));
    let mut tasks = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        for client in 0..CLIENTS {
            let secret = (index as u128) * 100 + u128::from(client) + 1;
            let first_id = secret as u64 * 10_000;
            let pushes = inserts(secret, first_id, PUSHES);
            tasks.push(tokio::spawn(push_all(server.addr, secret, pushes)));
        }
    }
    let mut server_seqs = BTreeSet::new();
    for task in tasks {
        let answers = task.await.expect("client task");
        assert_eq!(answers.len() as u64, PUSHES);
        for (seq, answer) in (1..).zip(answers) {
            let ServerMessage::Ack {
                client_seq,
                server_seq,
            } = answer
            else {
                panic!("push {seq} not acknowledged: {answer:?}");
            };
            assert_eq!(client_seq, seq, "acknowledged once, in order");
            assert!(
                server_seqs.insert(server_seq),
                "a sequence number given twice"
            );
        }
    }
    let total = 3 * CLIENTS * PUSHES;
    assert_eq!(server_seqs.len() as u64, total);
    let log = read_log(servers[1].addr, "burst").await;
    assert_total_order(&log);
    assert_eq!(log.len() as u64, total + 1);
    for server in &servers {
        assert_eq!(
            read_log(server.addr, "burst").await,
            log,
            "one log, whichever instance"
        );
    }
    // A client replica on each instance holds every row, the same rows.
    let mut nodes: Vec<Node> = (0..3).map(|i| Node::new(50_000 + i)).collect();
    for (node, server) in nodes.iter_mut().zip(&servers) {
        node.connect_to(server.addr, "burst").await;
    }
    let mut nodes: Vec<&mut Node> = nodes.iter_mut().collect();
    let rows = converge(&mut nodes, "SELECT COUNT(*), SUM(id) FROM t").await;
    assert_eq!(rows[0][0], Value::I64(total as i64));
    for server in servers {
        server.stop().await;
    }
}

/// Starts the real binary on the cluster (URL through the environment, as documented).
fn spawn_binary(cluster: &PgCluster) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idbsql-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(cluster.path().join("unused"))
        .env("IDBSQL_POSTGRES_URL", cluster.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("idbsql-server binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server prints its address");
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, addr)
}

#[tokio::test]
async fn an_instance_killed_mid_burst_loses_no_acknowledged_change() {
    let cluster = PgCluster::start();
    let (mut killed, addr_a) = spawn_binary(&cluster);
    let server_b = start_on(&cluster).await;
    let secret = 77;
    let mut engine = Engine::default();
    let mut pushes = vec![change_set(&mut engine, TABLE)];
    for id in 1..=400 {
        pushes.push(change_set(
            &mut engine,
            &format!("INSERT INTO t VALUES ({id}, 'v', 'x')"),
        ));
    }
    let (mut client, _) = Client::hello(addr_a, "burst", secret, "", 0).await;
    // All in flight at once; the instance dies after 100 acknowledgements, with the rest
    // queued, being validated or being committed.
    for (seq, bytes) in (1..).zip(pushes.iter().cloned()) {
        client.send_push(seq, bytes).await;
    }
    let mut acked: HashMap<u64, u64> = HashMap::new();
    while let Some(answer) = client.recv_until(is_ack).await {
        let ServerMessage::Ack {
            client_seq,
            server_seq,
        } = answer
        else {
            panic!("{answer:?}");
        };
        acked.insert(client_seq, server_seq);
        if acked.len() == 100 {
            killed.kill().expect("SIGKILL the instance");
            let _ = killed.wait();
        }
    }
    assert!(
        (100..401).contains(&acked.len()),
        "killed mid-burst: {} acknowledged",
        acked.len()
    );
    // The client moves to instance B: everything acknowledged is there, and its retries of
    // what was in flight apply once.
    let (mut moved, welcome) = Client::hello(server_b.addr, "burst", secret, "", 0).await;
    let ServerMessage::Welcome {
        acked_client_seq, ..
    } = welcome
    else {
        panic!("{welcome:?}");
    };
    let highest = acked.keys().copied().max().unwrap_or(0);
    assert!(acked_client_seq >= highest);
    for (seq, bytes) in (1..).zip(pushes).skip(highest as usize) {
        let answer = moved.push(seq, bytes).await;
        let ServerMessage::Ack { server_seq, .. } = answer else {
            panic!("retry {seq}: {answer:?}");
        };
        assert!(server_seq > 0 || seq > acked_client_seq, "push {seq}");
    }
    let log = read_log(server_b.addr, "burst").await;
    assert_total_order(&log);
    assert_eq!(log.len(), 401, "every push once");
    let client_id = auth::client_identity("burst", secret);
    for (client_seq, server_seq) in &acked {
        let entry = &log[*server_seq as usize - 1];
        assert_eq!(
            (entry.client_id, entry.client_seq),
            (client_id, *client_seq)
        );
    }
    // The killed instance restarted serves the same log.
    let (mut restarted, addr_a) = spawn_binary(&cluster);
    assert_eq!(read_log(addr_a, "burst").await, log);
    let _ = restarted.kill();
    let _ = restarted.wait();
    server_b.stop().await;
}

#[tokio::test]
async fn the_schema_is_created_once_and_a_newer_one_is_refused() {
    let cluster = PgCluster::start();
    let (first, second) = tokio::join!(start_on(&cluster), start_on(&cluster));
    let (client, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(connection);
    let versions: Vec<i32> = client
        .query("SELECT version FROM idbsql_schema", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        versions,
        [1],
        "created once by two instances starting together"
    );
    client
        .execute("UPDATE idbsql_schema SET version = 2", &[])
        .await
        .unwrap();
    let refused = idbsql_server::start(on(&cluster)).await;
    let Err(error) = refused else {
        panic!("a newer schema must be refused")
    };
    assert!(error.to_string().contains("schema version 2"), "{error}");
    driver.abort();
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn postgres_going_away_fails_pushes_cleanly_and_sync_resumes_after() {
    let cluster = PgCluster::start();
    let server = start_on(&cluster).await;
    let mut engine = Engine::default();
    let (mut client, _) = Client::hello(server.addr, "outage", 5, "", 0).await;
    assert!(matches!(
        client.push(1, change_set(&mut engine, TABLE)).await,
        ServerMessage::Ack { .. }
    ));
    cluster.stop();
    let bytes = change_set(&mut engine, "INSERT INTO t VALUES (1, 'during', 'x')");
    client.send_push(2, bytes.clone()).await;
    let answer = client
        .recv_until(|m| !matches!(m, ServerMessage::Changes { .. }))
        .await;
    assert!(
        matches!(answer, Some(ServerMessage::Error { .. }) | None),
        "no acknowledgement without PostgreSQL: {answer:?}"
    );
    cluster.restart();
    // The client retries on a new connection: the push lands once.
    let mut landed = None;
    for _ in 0..50 {
        let (mut retry, _) = Client::hello(server.addr, "outage", 5, "", 0).await;
        retry.send_push(2, bytes.clone()).await;
        if let Some(ServerMessage::Ack { server_seq, .. }) = retry.recv_until(is_ack_or_error).await
        {
            landed = Some(server_seq);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(landed, Some(2));
    let log = read_log(server.addr, "outage").await;
    assert_total_order(&log);
    assert_eq!(log.len(), 2);
    server.stop().await;
}

fn is_ack_or_error(message: &ServerMessage) -> bool {
    is_ack(message) || matches!(message, ServerMessage::Error { .. })
}

/// The check that keeps the order total even without write turns: a batch decided on a stale
/// position, or on client progress that changed since, writes nothing — on both backends.
#[tokio::test]
async fn a_batch_decided_on_a_stale_log_writes_nothing() {
    use idbsql_server::log::{
        Append, Batch, ClientProgress, Commit, PostgresLog, RedbLog, SyncLog,
    };
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let logs: [Box<dyn SyncLog>; 2] = [
        Box::new(PostgresLog::connect(&cluster.url()).await.unwrap()),
        Box::new(RedbLog::open(&dir.path().join("log.redb")).unwrap()),
    ];
    for log in logs {
        let append = |client_seq| Append {
            client_id: 7,
            client_seq,
            seen: 0,
            change_set: b"bytes",
        };
        let fresh = ClientProgress::default();
        let first = [append(1)];
        let batch = |after, assumed: &'static [(u128, ClientProgress)], accepted| Batch {
            after,
            assumed,
            accepted,
            rejected: &[],
        };
        const NEVER_SEEN: &[(u128, ClientProgress)] = &[(
            7,
            ClientProgress {
                client_seq: 0,
                server_seq: 0,
            },
        )];
        assert_eq!(fresh, NEVER_SEEN[0].1);
        assert_eq!(
            log.commit_batch("db", &batch(0, NEVER_SEEN, &first))
                .await
                .unwrap(),
            Commit::Appended(vec![1])
        );
        // Another writer's view from before that commit: position 0 — refused.
        let second = [append(2)];
        assert_eq!(
            log.commit_batch("db", &batch(0, &[], &second))
                .await
                .unwrap(),
            Commit::Behind
        );
        // Right position, but it judged client 7 as never seen — refused too.
        assert_eq!(
            log.commit_batch("db", &batch(1, NEVER_SEEN, &second))
                .await
                .unwrap(),
            Commit::Behind
        );
        assert_eq!(log.last_seq("db").await.unwrap(), 1);
        assert_eq!(log.entries_after("db", 0, 10).await.unwrap().len(), 1);
        assert_eq!(
            log.client_progress("db", 7).await.unwrap(),
            ClientProgress {
                client_seq: 1,
                server_seq: 1
            }
        );
    }
}

/// More databases writing at once than the server has PostgreSQL connections: writers holding
/// a write turn still get a connection to commit with (no pool starvation).
#[tokio::test]
async fn more_busy_databases_than_connections_all_make_progress() {
    let cluster = PgCluster::start();
    let server = start_on(&cluster).await;
    let mut tasks = Vec::new();
    for database in 0..30u128 {
        let mut pushes = vec![{
            let mut engine = Engine::default();
            change_set(&mut engine, TABLE)
        }];
        pushes.extend(inserts(database, 0, 20));
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let name = format!("db{database}");
            let (mut client, _) = Client::hello(addr, &name, database + 1, "", 0).await;
            for (seq, bytes) in (1..).zip(pushes) {
                let answer = client.push(seq, bytes).await;
                assert!(
                    matches!(answer, ServerMessage::Ack { .. }),
                    "{name}: {answer:?}"
                );
            }
        }));
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("no database waits for a connection forever")
            .expect("client task");
    }
    server.stop().await;
}

/// Pins the PostgreSQL layout docs/format.md describes: tables, columns, types, and how an
/// entry's unsigned numbers and client id are stored.
#[tokio::test]
async fn the_tables_are_as_documented() {
    use idbsql_server::log::{Append, Batch, Commit, PostgresLog, SyncLog};
    let cluster = PgCluster::start();
    let log = PostgresLog::connect(&cluster.url()).await.unwrap();
    let (client, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(connection);
    let columns: Vec<String> = client
        .query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns \
             WHERE table_name LIKE 'idbsql\\_%' ORDER BY table_name, ordinal_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            format!(
                "{}.{} {}",
                row.get::<_, String>(0),
                row.get::<_, String>(1),
                row.get::<_, String>(2)
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            "idbsql_clients.db text",
            "idbsql_clients.client_id bytea",
            "idbsql_clients.client_seq bigint",
            "idbsql_clients.server_seq bigint",
            "idbsql_heads.db text",
            "idbsql_heads.last_seq bigint",
            "idbsql_log.db text",
            "idbsql_log.seq bigint",
            "idbsql_log.client_id bytea",
            "idbsql_log.client_seq bigint",
            "idbsql_log.seen bigint",
            "idbsql_log.change_set bytea",
            "idbsql_schema.version integer",
        ]
    );
    let client_id = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10_u128;
    let appended = log
        .commit_batch(
            "notes",
            &Batch {
                after: 0,
                assumed: &[],
                accepted: &[Append {
                    client_id,
                    client_seq: u64::MAX,
                    seen: 5,
                    change_set: &[1, 2, 3],
                }],
                rejected: &[],
            },
        )
        .await
        .unwrap();
    assert_eq!(appended, Commit::Appended(vec![1]));
    let row = client
        .query_one(
            "SELECT db, seq, client_id, client_seq, seen, change_set FROM idbsql_log",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "notes");
    assert_eq!(row.get::<_, i64>(1), 1);
    assert_eq!(row.get::<_, Vec<u8>>(2), client_id.to_le_bytes());
    assert_eq!(row.get::<_, i64>(3), -1, "u64::MAX, same bits");
    assert_eq!(row.get::<_, i64>(4), 5);
    assert_eq!(row.get::<_, Vec<u8>>(5), [1, 2, 3]);
    let head: i64 = client
        .query_one("SELECT last_seq FROM idbsql_heads WHERE db = 'notes'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(head, 1);
    let progress = client
        .query_one("SELECT client_seq, server_seq FROM idbsql_clients", &[])
        .await
        .unwrap();
    assert_eq!(
        (progress.get::<_, i64>(0), progress.get::<_, i64>(1)),
        (-1, 1)
    );
    driver.abort();
}
