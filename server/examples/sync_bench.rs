//! Sync benchmark (run by `npm run bench`): commit-to-visible latency between two clients,
//! sustained change sets per second with 50 clients, and catch-up of 10,000 change sets — on
//! redb, and on one throwaway PostgreSQL (fsync on) with 1 and with 3 server instances, the
//! clients spread over them. Real servers in-process on 127.0.0.1, real WebSockets; prints
//! numbers, asserts nothing.

// Shared with the tests, which use more of it.
#[allow(dead_code)]
#[path = "../tests/common/pg_cluster.rs"]
mod pg_cluster;

use {
    futures_util::{SinkExt, StreamExt},
    idbsql::{
        engine::Engine,
        protocol::{
            encode_change_set,
            messages::{
                decode_message, encode_message, ClientMessage, ServerMessage, PROTOCOL_VERSION,
            },
        },
        sync::SyncReplica,
    },
    idbsql_server::{Limits, RunningServer, ServerConfig},
    std::{
        net::SocketAddr,
        time::{Duration, Instant},
    },
    tokio::net::TcpStream,
    tokio_tungstenite::{connect_async, tungstenite::Message, MaybeTlsStream, WebSocketStream},
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn client(addr: SocketAddr, database: &str, client_secret: u128, last_seen_seq: u64) -> Ws {
    let (mut ws, _) = connect_async(format!("ws://{addr}/sync")).await.unwrap();
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        database: database.into(),
        client_secret,
        token: String::new(),
        last_seen_seq,
    };
    ws.send(Message::Binary(encode_message(&hello).into()))
        .await
        .unwrap();
    ws
}

async fn next(ws: &mut Ws) -> ServerMessage {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => return decode_message(&bytes).unwrap(),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("the connection closed: {other:?}"),
            Err(_) => panic!("no message in 30 s"),
        }
    }
}

/// Reads until the catch-up page that ends it (`more: false`).
async fn until_caught_up(ws: &mut Ws) {
    loop {
        if let ServerMessage::Changes { more: false, .. } = next(ws).await {
            return;
        }
    }
}

fn change_sets(count: usize, table: &str) -> Vec<Vec<u8>> {
    let mut engine = Engine::default();
    engine
        .query(
            &format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)"),
            &[],
        )
        .unwrap();
    let mut out: Vec<Vec<u8>> = engine
        .store_mut()
        .take_change_sets()
        .iter()
        .map(|c| encode_change_set(c).unwrap())
        .collect();
    for i in 0..count {
        engine
            .query(
                &format!("INSERT INTO {table} VALUES ({i}, 'value {i}')"),
                &[],
            )
            .unwrap();
        out.extend(
            engine
                .store_mut()
                .take_change_sets()
                .iter()
                .map(|c| encode_change_set(c).unwrap()),
        );
        engine.store_mut().confirm_persisted();
    }
    out
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

/// A pushes on the first instance, B listens on the last.
async fn latency(addrs: &[SocketAddr]) -> String {
    let (first, last) = (addrs[0], addrs[addrs.len() - 1]);
    let mut a = client(first, "latency", 1, 0).await;
    let mut b = client(last, "latency", 2, 0).await;
    for ws in [&mut a, &mut b] {
        next(ws).await; // Welcome
        until_caught_up(ws).await;
    }
    let pushes = change_sets(300, "t");
    let mut samples = Vec::new();
    for (i, bytes) in pushes.into_iter().enumerate() {
        let started = Instant::now();
        a.send(Message::Binary(
            encode_message(&ClientMessage::Push {
                client_seq: i as u64 + 1,
                change_set: bytes,
                seen: 0,
            })
            .into(),
        ))
        .await
        .unwrap();
        loop {
            if let ServerMessage::Changes { entries, .. } = next(&mut b).await {
                if entries.iter().any(|e| e.client_seq == i as u64 + 1) {
                    break;
                }
            }
        }
        if i >= 20 {
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    format!(
        "{:.2} / {:.2}",
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99)
    )
}

/// 50 clients, spread over the instances, pushing into `databases` databases.
async fn throughput(addrs: &[SocketAddr], databases: usize) -> String {
    const CLIENTS: usize = 50;
    const EACH: usize = 100;
    let mut tasks = Vec::new();
    let started = Instant::now();
    for c in 0..CLIENTS {
        let pushes = change_sets(EACH - 1, &format!("t{c}"));
        let addr = addrs[c % addrs.len()];
        tasks.push(tokio::spawn(async move {
            let database = format!("throughput-{databases}-{}", c % databases);
            let mut ws = client(addr, &database, 100 + c as u128, 0).await;
            next(&mut ws).await;
            for (i, bytes) in pushes.into_iter().enumerate() {
                let push = ClientMessage::Push {
                    client_seq: i as u64 + 1,
                    change_set: bytes,
                    seen: 0,
                };
                ws.send(Message::Binary(encode_message(&push).into()))
                    .await
                    .unwrap();
            }
            let mut acked = 0;
            while acked < EACH {
                if let ServerMessage::Ack { .. } = next(&mut ws).await {
                    acked += 1;
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    format!("{:.0}", (CLIENTS * EACH) as f64 / elapsed)
}

/// Written through the first instance, read by a newcomer on the last.
async fn catch_up(addrs: &[SocketAddr]) -> String {
    let addr = addrs[0];
    const ENTRIES: usize = 10_000;
    let mut writer = client(addr, "catchup", 1, 0).await;
    next(&mut writer).await;
    let pushes = change_sets(ENTRIES - 1, "t");
    for (i, bytes) in pushes.into_iter().enumerate() {
        let push = ClientMessage::Push {
            client_seq: i as u64 + 1,
            change_set: bytes,
            seen: 0,
        };
        writer
            .send(Message::Binary(encode_message(&push).into()))
            .await
            .unwrap();
    }
    let mut acked = 0;
    while acked < ENTRIES {
        if let ServerMessage::Ack { .. } = next(&mut writer).await {
            acked += 1;
        }
    }
    // A replica that missed all of it: connect, receive and apply every change set.
    let addr = addrs[addrs.len() - 1];
    let started = Instant::now();
    let mut replica = SyncReplica::new(2);
    let (mut ws, _) = connect_async(format!("ws://{addr}/sync")).await.unwrap();
    ws.send(Message::Binary(
        encode_message(&replica.hello("catchup", "")).into(),
    ))
    .await
    .unwrap();
    while !replica.is_synced() {
        let message = next(&mut ws).await;
        replica.on_message(message).unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let count = replica.query("SELECT COUNT(*) FROM t", &[]).unwrap().rows;
    assert_eq!(
        format!("{count:?}"),
        format!(
            "{:?}",
            vec![vec![gluesql_core::data::Value::I64((ENTRIES - 1) as i64)]]
        )
    );
    format!("{elapsed:.0}")
}

async fn start(dir: &std::path::Path, postgres: Option<String>) -> RunningServer {
    idbsql_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        postgres,
        static_dir: None,
        secret: None,
        secret_file: None,
        allow_origins: Vec::new(),
        revoked_file: None,
        // Pushes are not rate limited here: the bench measures the server, not the limit.
        limits: Limits {
            pushes_per_second: 1_000_000,
            ..Limits::default()
        },
    })
    .await
    .unwrap()
}

/// The three workloads against these instances, as table cells.
async fn run(servers: Vec<RunningServer>) -> [String; 4] {
    let addrs: Vec<SocketAddr> = servers.iter().map(|server| server.addr).collect();
    let cells = [
        latency(&addrs).await,
        throughput(&addrs, 1).await,
        throughput(&addrs, 10).await,
        catch_up(&addrs).await,
    ];
    tokio::time::sleep(Duration::from_millis(10)).await;
    for server in servers {
        server.stop().await;
    }
    cells
}

#[tokio::main]
async fn main() {
    // The servers' warnings and errors (a benchmark that fails should say why).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .init();
    let dir = tempfile::tempdir().unwrap();
    let redb = run(vec![start(dir.path(), None).await]).await;
    let cluster = pg_cluster::PgCluster::start();
    let one = run(vec![start(dir.path(), Some(cluster.url())).await]).await;
    // A fresh database on the same cluster for the three instances.
    let three_url = cluster.url().replace("/postgres?", "/three?");
    cluster.create_database("three");
    let mut three = Vec::new();
    for _ in 0..3 {
        three.push(start(dir.path(), Some(three_url.clone())).await);
    }
    let three = run(three).await;
    println!(
        "\n| sync workload (loopback, native clients) | redb | PostgreSQL, 1 instance | PostgreSQL, 3 instances |\n|---|---:|---:|---:|"
    );
    let names = [
        "commit in A → visible in B (another instance when 3), p50 / p99 (ms)",
        "change sets per second, 50 clients pushing into one database (5,000 in all, durable)",
        "change sets per second, 50 clients pushing into 10 databases",
        "catch-up of 10,000 change sets, received and applied (ms)",
    ];
    for (row, name) in names.iter().enumerate() {
        println!("| {name} | {} | {} | {} |", redb[row], one[row], three[row]);
    }
}
