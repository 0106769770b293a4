//! Connection slots in the release shape (the real binary): read-only sessions cannot fill a
//! database and lock its writers out, one token or one address cannot take every slot, and
//! connections that never say Hello cannot hold the server. After each: the server runs, and
//! others connect and write.

mod common;

use {
    common::{
        binary::{mint, ServerProcess},
        client::{change_set, Client},
    },
    idbsql::{
        engine::Engine,
        protocol::messages::{ErrorKind, ServerMessage},
    },
    std::{net::SocketAddr, time::Duration},
    tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream},
};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

fn welcomed(message: &ServerMessage) -> bool {
    matches!(message, ServerMessage::Welcome { .. })
}

fn too_many(message: &ServerMessage) -> bool {
    matches!(
        message,
        ServerMessage::Error {
            code: ErrorKind::TooManyConnections,
            ..
        }
    )
}

/// A WebSocket to /sync that says nothing, or the HTTP status that refused it.
async fn open_silent(addr: SocketAddr) -> Result<Socket, u16> {
    match connect_async(format!("ws://{addr}/sync")).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("{other}"),
    }
}

async fn writes(addr: SocketAddr, token: &str, client: u128) {
    let (mut writer, welcome) = Client::hello(addr, "notes", client, token, 0).await;
    assert!(welcomed(&welcome), "{welcome:?}");
    let mut engine = Engine::default();
    let create = change_set(
        &mut engine,
        &format!("CREATE TABLE IF NOT EXISTS t{client} (id INTEGER PRIMARY KEY)"),
    );
    assert!(matches!(
        writer.push(1, create).await,
        ServerMessage::Ack { .. }
    ));
}

#[tokio::test]
async fn read_only_sessions_cannot_lock_writers_out() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, secret) = ServerProcess::start_with_secret(
        dir.path(),
        &[
            "--max-connections-per-database",
            "8",
            "--reserved-writer-slots",
            "2",
        ],
    );
    let readers_token = mint(&secret, "notes", &["--schema", "--read-only"]);
    let mut readers = Vec::new();
    for client in 0..6 {
        let (reader, welcome) =
            Client::hello(server.addr, "notes", client, &readers_token, 0).await;
        assert!(welcomed(&welcome), "reader {client}: {welcome:?}");
        readers.push(reader);
    }
    let (_, seventh) = Client::hello(server.addr, "notes", 6, &readers_token, 0).await;
    assert!(too_many(&seventh), "{seventh:?}");
    // The two reserved slots are a writer's.
    let writer_token = mint(&secret, "notes", &["--schema"]);
    writes(server.addr, &writer_token, 100).await;
    assert!(server.is_running());
}

#[tokio::test]
async fn one_token_cannot_take_every_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, secret) =
        ServerProcess::start_with_secret(dir.path(), &["--max-connections-per-token", "3"]);
    let greedy = mint(&secret, "notes", &["--schema"]);
    let mut held = Vec::new();
    for client in 0..3 {
        let (session, welcome) = Client::hello(server.addr, "notes", client, &greedy, 0).await;
        assert!(welcomed(&welcome), "{welcome:?}");
        held.push(session);
    }
    let (_, fourth) = Client::hello(server.addr, "notes", 3, &greedy, 0).await;
    assert!(too_many(&fourth), "{fourth:?}");
    let other = mint(&secret, "notes", &["--schema"]);
    writes(server.addr, &other, 100).await;
    // A session that ends gives its slot back.
    held.pop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, again) = Client::hello(server.addr, "notes", 3, &greedy, 0).await;
    assert!(welcomed(&again), "{again:?}");
    assert!(server.is_running());
}

#[tokio::test]
async fn connections_that_never_say_hello_cannot_hold_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, secret) =
        ServerProcess::start_with_secret(dir.path(), &["--max-pending-hellos", "4"]);
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(open_silent(server.addr).await.expect("admitted"));
    }
    assert_eq!(open_silent(server.addr).await.err(), Some(503));
    // Once they go, others get in, and write.
    silent.clear();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let token = mint(&secret, "notes", &["--schema"]);
    writes(server.addr, &token, 100).await;
    assert!(server.is_running());
}

#[tokio::test]
async fn one_address_cannot_take_every_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, secret) =
        ServerProcess::start_with_secret(dir.path(), &["--max-connections-per-ip", "5"]);
    let token = mint(&secret, "notes", &["--schema"]);
    let mut held = Vec::new();
    for client in 0..3 {
        let (session, welcome) = Client::hello(server.addr, "notes", client, &token, 0).await;
        assert!(welcomed(&welcome), "{welcome:?}");
        held.push(session);
    }
    // Silent connections count too: the address's fourth and fifth, then no more.
    let _a = open_silent(server.addr).await.expect("fourth");
    let _b = open_silent(server.addr).await.expect("fifth");
    assert_eq!(open_silent(server.addr).await.err(), Some(429));
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    writes(server.addr, &token, 100).await;
    assert!(server.is_running());
}
