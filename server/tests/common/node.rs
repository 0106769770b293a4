//! A client replica (the sync state machine, natively) over a real WebSocket, and `settle`,
//! shared by the test crates that sync several replicas through real servers.

use {
    futures_util::{SinkExt, StreamExt},
    gluesql_core::data::Value,
    idbsql::{
        protocol::messages::{decode_message, encode_message, ServerMessage},
        sync::SyncReplica,
    },
    std::{net::SocketAddr, time::Duration},
    tokio::{net::TcpStream, time::timeout},
    tokio_tungstenite::{connect_async, tungstenite::Message, MaybeTlsStream, WebSocketStream},
};

pub struct Node {
    pub replica: SyncReplica,
    pub ws: Option<WebSocketStream<MaybeTlsStream<TcpStream>>>,
}

impl Node {
    pub fn new(id: u128) -> Self {
        Self {
            replica: SyncReplica::new(id),
            ws: None,
        }
    }

    pub async fn connect(&mut self, addr: SocketAddr) {
        self.connect_to(addr, "shared").await;
    }

    pub async fn connect_to(&mut self, addr: SocketAddr, database: &str) {
        let (mut ws, _) = connect_async(format!("ws://{addr}/sync")).await.unwrap();
        let hello = self.replica.hello(database, "");
        ws.send(Message::Binary(encode_message(&hello).into()))
            .await
            .unwrap();
        self.ws = Some(ws);
    }

    pub fn disconnect(&mut self) {
        self.ws = None;
        self.replica.disconnected();
    }

    pub fn sql(&mut self, sql: &str) {
        self.replica
            .query(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub fn rows(&mut self, sql: &str) -> Vec<Vec<Value>> {
        self.replica.query(sql, &[]).unwrap().rows
    }

    /// Sends what is pending and handles what arrived; true if anything happened.
    pub async fn pump(&mut self) -> bool {
        let Some(ws) = self.ws.as_mut() else {
            return false;
        };
        let mut active = false;
        for message in self.replica.outgoing() {
            ws.send(Message::Binary(encode_message(&message).into()))
                .await
                .unwrap();
            active = true;
        }
        while let Ok(Some(Ok(frame))) = timeout(Duration::from_millis(20), ws.next()).await {
            if let Message::Binary(bytes) = frame {
                let message: ServerMessage = decode_message(&bytes).unwrap();
                self.replica.on_message(message).unwrap();
                active = true;
            }
        }
        active
    }
}

/// Pumps every connected node until each is synced and nothing has moved for a while.
pub async fn settle(nodes: &mut [&mut Node]) {
    let mut quiet_rounds = 0;
    for _ in 0..500 {
        let mut active = false;
        for node in nodes.iter_mut() {
            active |= node.pump().await;
        }
        let synced = nodes
            .iter()
            .filter(|n| n.ws.is_some())
            .all(|n| n.replica.is_synced());
        quiet_rounds = if active || !synced {
            0
        } else {
            quiet_rounds + 1
        };
        if quiet_rounds == 3 {
            return;
        }
    }
    panic!("replicas did not settle");
}
