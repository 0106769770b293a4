//! One client's WebSocket session: Hello and token check before any data, catch-up from the
//! log, live broadcast, pushes with rate limit, Ping/Pong. A bad frame closes only this session.

use {
    crate::{
        auth::{self, AuthError},
        hub::{Hub, PushOutcome},
        Limits,
    },
    axum::extract::ws::{Message, WebSocket},
    idbsql::protocol::messages::{
        decode_message, encode_message, ClientMessage, ErrorKind, LogEntry, ServerMessage,
        CHANGES_PAGE, PROTOCOL_VERSION,
    },
    std::{
        sync::Arc,
        time::{Duration, Instant, SystemTime, UNIX_EPOCH},
    },
    tokio::{sync::broadcast::error::RecvError, time::timeout},
};

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SessionConfig {
    pub hub: Arc<Hub>,
    /// Turns true when the server stops; every session then closes.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// `None`: tokens are not checked (loopback-only development mode).
    pub secret: Option<Arc<Vec<u8>>>,
    pub limits: Limits,
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    socket
        .send(Message::Binary(encode_message(message).into()))
        .await
        .is_ok()
}

async fn fail(socket: &mut WebSocket, code: ErrorKind, message: impl Into<String>) {
    let message = message.into();
    tracing::info!(?code, %message, "closing session");
    let _ = send(socket, &ServerMessage::Error { code, message }).await;
    let _ = socket.send(Message::Close(None)).await;
}

/// The next binary frame as a client message; `Err` with the reason when it is not one.
async fn receive(socket: &mut WebSocket) -> Option<Result<ClientMessage, String>> {
    loop {
        match socket.recv().await? {
            Ok(Message::Binary(bytes)) => {
                return Some(decode_message(&bytes).map_err(|e| e.to_string()));
            }
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Text(_)) => {
                return Some(Err("text frames are not part of the protocol".into()))
            }
            Ok(Message::Close(_)) => return None,
            Err(error) => return Some(Err(format!("transport: {error}"))),
        }
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Token bucket: `rate` pushes per second, bursts up to `rate`.
struct RateLimit {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn send_entries(socket: &mut WebSocket, entries: Vec<LogEntry>, more: bool) -> bool {
    send(socket, &ServerMessage::Changes { entries, more }).await
}

/// Sends every log entry after `after` in pages, the last with `more: false` (also when there
/// is nothing to send: that is how a client knows it has caught up); returns the last seq sent.
async fn catch_up(
    socket: &mut WebSocket,
    config: &SessionConfig,
    database: &str,
    mut after: u64,
) -> Result<u64, ()> {
    loop {
        let entries = config
            .hub
            .log
            .entries_after(database, after, CHANGES_PAGE)
            .map_err(|_| ())?;
        let more = entries.len() == CHANGES_PAGE;
        if let Some(last) = entries.last() {
            after = last.seq;
        }
        if !send_entries(socket, entries, more).await {
            return Err(());
        }
        if !more {
            return Ok(after);
        }
    }
}

pub async fn run_session(mut socket: WebSocket, config: Arc<SessionConfig>) {
    let hello = match timeout(HELLO_TIMEOUT, receive(&mut socket)).await {
        Ok(Some(Ok(hello))) => hello,
        Ok(Some(Err(reason))) => return fail(&mut socket, ErrorKind::Protocol, reason).await,
        Ok(None) => return,
        Err(_) => return fail(&mut socket, ErrorKind::Protocol, "no Hello in time").await,
    };
    let ClientMessage::Hello {
        protocol,
        database,
        client_id,
        token,
        last_seen_seq,
    } = hello
    else {
        return fail(
            &mut socket,
            ErrorKind::Protocol,
            "the first message must be Hello",
        )
        .await;
    };
    if protocol != PROTOCOL_VERSION {
        let message =
            format!("protocol {protocol} is not supported; this server speaks {PROTOCOL_VERSION}");
        return fail(&mut socket, ErrorKind::Protocol, message).await;
    }
    let read_only = match &config.secret {
        None => false,
        Some(secret) => match auth::verify(secret, &token, &database, now_unix()) {
            Ok(claims) => claims.read_only,
            Err(
                error @ (AuthError::Missing
                | AuthError::Malformed
                | AuthError::BadSignature
                | AuthError::Expired
                | AuthError::WrongDatabase),
            ) => {
                return fail(&mut socket, ErrorKind::Unauthorized, error.to_string()).await;
            }
        },
    };
    let hub = match config.hub.database(&database).await {
        Ok(hub) => hub,
        Err(error) => return fail(&mut socket, ErrorKind::Internal, error.to_string()).await,
    };
    let Some(_slot) = hub.try_connect(config.limits.max_connections_per_database) else {
        return fail(
            &mut socket,
            ErrorKind::TooManyConnections,
            "too many connections to this database",
        )
        .await;
    };
    // Subscribe before reading the log so no entry falls between catch-up and live.
    let mut live = hub.subscribe();
    let (server_seq, progress) = match (
        config.hub.log.last_seq(&database),
        config.hub.log.client_progress(&database, client_id),
    ) {
        (Ok(seq), Ok(progress)) => (seq, progress),
        _ => return fail(&mut socket, ErrorKind::Internal, "cannot read the log").await,
    };
    let welcome = ServerMessage::Welcome {
        server_seq,
        acked_client_seq: progress.client_seq,
        read_only,
        max_frame_bytes: config.limits.max_frame_bytes as u64,
    };
    if !send(&mut socket, &welcome).await {
        return;
    }
    let Ok(mut sent_seq) = catch_up(&mut socket, &config, &database, last_seen_seq).await else {
        return;
    };
    let mut rate = RateLimit::new(config.limits.pushes_per_second);
    let mut shutdown = config.shutdown.clone();
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            entry = live.recv() => match entry {
                Ok(entry) => {
                    if entry.seq <= sent_seq {
                        continue;
                    }
                    if entry.seq > sent_seq + 1 {
                        // Missed some (should not happen under the lock); read them from the log.
                        let Ok(seq) = catch_up(&mut socket, &config, &database, sent_seq).await else { return };
                        sent_seq = seq;
                        continue;
                    }
                    sent_seq = entry.seq;
                    if !send_entries(&mut socket, vec![(*entry).clone()], false).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let Ok(seq) = catch_up(&mut socket, &config, &database, sent_seq).await else { return };
                    sent_seq = seq;
                }
                Err(RecvError::Closed) => return,
            },
            message = receive(&mut socket) => match message {
                None => return,
                Some(Err(reason)) => return fail(&mut socket, ErrorKind::Protocol, reason).await,
                Some(Ok(ClientMessage::Ping { nonce })) => {
                    if !send(&mut socket, &ServerMessage::Pong { nonce }).await {
                        return;
                    }
                }
                Some(Ok(ClientMessage::Pull { after_seq })) => {
                    let Ok(seq) = catch_up(&mut socket, &config, &database, after_seq).await else { return };
                    sent_seq = sent_seq.max(seq);
                }
                Some(Ok(ClientMessage::Hello { .. })) => {
                    return fail(&mut socket, ErrorKind::Protocol, "Hello was already sent").await;
                }
                Some(Ok(ClientMessage::Push { client_seq, change_set })) => {
                    if read_only {
                        return fail(&mut socket, ErrorKind::ReadOnly, "this token is read-only").await;
                    }
                    if !rate.allow() {
                        return fail(&mut socket, ErrorKind::RateLimited, "too many change sets per second").await;
                    }
                    let reply = match hub.push(client_id, client_seq, change_set).await {
                        Ok(PushOutcome::Accepted { server_seq } | PushOutcome::Duplicate { server_seq }) => {
                            ServerMessage::Ack { client_seq, server_seq }
                        }
                        Ok(PushOutcome::Rejected { reason }) => ServerMessage::Reject { client_seq, reason },
                        Err(error) => return fail(&mut socket, ErrorKind::Internal, error.to_string()).await,
                    };
                    if !send(&mut socket, &reply).await {
                        return;
                    }
                }
            },
        }
    }
}
