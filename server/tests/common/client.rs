//! A raw protocol client over a real WebSocket (Hello, Push, frames as sent) and a change set
//! made the way a client makes one, shared by the server's test crates.

use {
    futures_util::{SinkExt, StreamExt},
    idbsql::{
        engine::Engine,
        protocol::{
            encode_change_set,
            messages::{
                decode_message, encode_message, ClientMessage, LogEntry, ServerMessage,
                PROTOCOL_VERSION,
            },
        },
    },
    std::{net::SocketAddr, time::Duration},
    tokio::{net::TcpStream, time::timeout},
    tokio_tungstenite::{connect_async, tungstenite::Message, MaybeTlsStream, WebSocketStream},
};

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn open(addr: SocketAddr) -> Self {
        let (ws, _) = connect_async(format!("ws://{addr}/sync"))
            .await
            .expect("connect");
        Self { ws }
    }

    pub async fn hello(
        addr: SocketAddr,
        database: &str,
        client_secret: u128,
        token: &str,
        last_seen_seq: u64,
    ) -> (Self, ServerMessage) {
        let mut client = Self::open(addr).await;
        client
            .send(&ClientMessage::Hello {
                protocol: PROTOCOL_VERSION,
                database: database.into(),
                client_secret,
                token: token.into(),
                last_seen_seq,
            })
            .await;
        let welcome = client.recv().await.expect("a reply to Hello");
        (client, welcome)
    }

    /// Pushes a change set and returns the server's answer to it (Ack or Reject).
    pub async fn push(&mut self, client_seq: u64, change_set: Vec<u8>) -> ServerMessage {
        self.push_having_seen(client_seq, change_set, 0).await
    }

    /// `push` of a change set made when the log up to `seen` had been applied.
    pub async fn push_having_seen(
        &mut self,
        client_seq: u64,
        change_set: Vec<u8>,
        seen: u64,
    ) -> ServerMessage {
        self.send(&ClientMessage::Push {
            client_seq,
            change_set,
            seen,
        })
        .await;
        self.expect(is_ack).await
    }

    /// Sends a push without waiting for its answer.
    pub async fn send_push(&mut self, client_seq: u64, change_set: Vec<u8>) {
        self.send(&ClientMessage::Push {
            client_seq,
            change_set,
            seen: 0,
        })
        .await;
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.ws
            .send(Message::Binary(encode_message(message).into()))
            .await
            .expect("send");
    }

    /// The next server message, or `None` when the server closed the connection.
    pub async fn recv(&mut self) -> Option<ServerMessage> {
        loop {
            match timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("server answers in time")
            {
                Some(Ok(Message::Binary(bytes))) => {
                    return Some(decode_message(&bytes).expect("valid server message"))
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Skips messages until one matches; `None` when the connection closes first.
    pub async fn recv_until(
        &mut self,
        wanted: impl Fn(&ServerMessage) -> bool,
    ) -> Option<ServerMessage> {
        loop {
            let message = self.recv().await?;
            if wanted(&message) {
                return Some(message);
            }
        }
    }

    /// Skips catch-up pages and other messages until one matches.
    pub async fn expect(&mut self, wanted: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let message = self.recv().await.expect("connection stays open");
            if wanted(&message) {
                return message;
            }
        }
    }
}

/// A change set as a client produces it: run SQL on a local engine, take what it committed.
pub fn change_set(engine: &mut Engine, sql: &str) -> Vec<u8> {
    for statement in engine.parse(sql).unwrap().iter() {
        engine.execute(statement, &[]).unwrap();
    }
    let change_sets = engine.store_mut().take_change_sets();
    engine.store_mut().confirm_persisted();
    assert_eq!(change_sets.len(), 1, "{sql}");
    encode_change_set(&change_sets[0]).unwrap()
}

pub fn is_ack(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::Ack { .. } | ServerMessage::Reject { .. })
}

/// Every entry of `database`'s log as a newcomer receives it (catch-up from the start).
pub async fn read_log(addr: SocketAddr, database: &str) -> Vec<LogEntry> {
    read_log_with(addr, database, "").await
}

/// `read_log` on a server that checks tokens.
#[allow(dead_code)]
pub async fn read_log_with(addr: SocketAddr, database: &str, token: &str) -> Vec<LogEntry> {
    let secret = u128::from_le_bytes(*uuid::Uuid::new_v4().as_bytes());
    let (mut reader, welcome) = Client::hello(addr, database, secret, token, 0).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    let mut log = Vec::new();
    loop {
        match reader.recv().await.expect("catch-up pages") {
            ServerMessage::Changes { entries, more } => {
                log.extend(entries);
                if !more {
                    return log;
                }
            }
            other => panic!("unexpected during catch-up: {other:?}"),
        }
    }
}

/// `database`'s log once compaction (which runs after a batch is acknowledged) has brought it
/// within twice its largest entry, or as it is after 10 s; with (total, largest) change-set bytes.
#[allow(dead_code)]
pub async fn compacted_log(addr: SocketAddr, database: &str) -> (Vec<LogEntry>, usize, usize) {
    let mut tries = 0;
    loop {
        let log = read_log(addr, database).await;
        let total: usize = log.iter().map(|entry| entry.change_set.len()).sum();
        let largest = log
            .iter()
            .map(|entry| entry.change_set.len())
            .max()
            .unwrap_or(0);
        tries += 1;
        if total <= 2 * largest || tries == 100 {
            return (log, total, largest);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A client of `database` whose first push (acknowledged) creates `t (id, v TEXT)`, and the
/// engine its later pushes are made with.
#[allow(dead_code)]
pub async fn writer_of_table(
    addr: SocketAddr,
    database: &str,
    client_secret: u128,
) -> (Client, Engine) {
    let (mut writer, _) = Client::hello(addr, database, client_secret, "", 0).await;
    let mut engine = Engine::default();
    let create = change_set(
        &mut engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    );
    assert!(matches!(
        writer.push(1, create).await,
        ServerMessage::Ack { .. }
    ));
    (writer, engine)
}
