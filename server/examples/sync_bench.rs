//! Sync benchmark (run by `npm run bench`): commit-to-visible latency between two clients,
//! sustained change sets per second with 50 clients, and catch-up of 10,000 change sets.
//! Real server in-process on 127.0.0.1, real WebSockets; prints numbers, asserts nothing.

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
    idbsql_server::{Limits, ServerConfig},
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
        if let Some(Ok(Message::Binary(bytes))) = ws.next().await {
            return decode_message(&bytes).unwrap();
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

async fn latency(addr: SocketAddr) {
    let mut a = client(addr, "latency", 1, 0).await;
    let mut b = client(addr, "latency", 2, 0).await;
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
    println!(
        "| commit in A → visible in B, p50 / p99 (ms) | {:.2} / {:.2} |",
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99)
    );
}

async fn throughput(addr: SocketAddr) {
    const CLIENTS: usize = 50;
    const EACH: usize = 100;
    let mut tasks = Vec::new();
    let started = Instant::now();
    for c in 0..CLIENTS {
        let pushes = change_sets(EACH - 1, &format!("t{c}"));
        tasks.push(tokio::spawn(async move {
            let mut ws = client(addr, "throughput", 100 + c as u128, 0).await;
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
    println!(
        "| change sets per second, {CLIENTS} clients pushing ({} in all, durable) | {:.0} |",
        CLIENTS * EACH,
        (CLIENTS * EACH) as f64 / elapsed
    );
}

async fn catch_up(addr: SocketAddr) {
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
    println!("| catch-up of {ENTRIES} change sets, received and applied (ms) | {elapsed:.0} |");
    assert_eq!(
        format!("{count:?}"),
        format!(
            "{:?}",
            vec![vec![gluesql_core::data::Value::I64((ENTRIES - 1) as i64)]]
        )
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let server = idbsql_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        static_dir: None,
        secret: None,
        limits: Limits {
            pushes_per_second: 1_000_000,
            ..Limits::default()
        },
    })
    .await
    .unwrap();
    println!("\n| sync workload (loopback, native clients) | measured |\n|---|---:|");
    latency(server.addr).await;
    throughput(server.addr).await;
    catch_up(server.addr).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    server.stop().await;
}
