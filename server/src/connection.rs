//! One client's WebSocket session: Hello and token check before any data, catch-up from the
//! log, live broadcast, pushes with rate limit, Ping/Pong. A bad frame closes only this session.

use {
    crate::{
        auth::{self, AuthError},
        fanout::Ended,
        hub::{Hub, PushOutcome},
        slots::{Counter, Slot},
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
    tokio::time::timeout,
};

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How far away "never" is for a session without a token (no secret configured).
const NEVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
const REVOKED: &str = "token has been revoked";

fn is_revoked(ids: &crate::revoked::RevokedIds, claims: &auth::Claims) -> bool {
    claims.id.as_ref().is_some_and(|id| ids.contains(id))
}

pub struct SessionConfig {
    pub hub: Arc<Hub>,
    /// Turns true when the server stops; every session then closes.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// `None`: tokens are not checked (loopback-only development mode).
    pub secret: Option<Arc<Vec<u8>>>,
    /// Which pages may connect (checked before the upgrade).
    pub origins: crate::origin::OriginPolicy,
    /// Token ids revoked now (see `revoked`); a session whose id appears ends.
    pub revoked: tokio::sync::watch::Receiver<crate::revoked::RevokedIds>,
    /// Keeps `revoked` open for as long as sessions run.
    pub _revoked_sender: Arc<tokio::sync::watch::Sender<crate::revoked::RevokedIds>>,
    /// Sessions per client address, per token, and connections still to say Hello.
    pub by_ip: Arc<Counter<std::net::IpAddr>>,
    pub by_token: Arc<Counter<[u8; 32]>>,
    pub pending_hellos: Arc<Counter<()>>,
    pub limits: Limits,
}

/// The slots a connection took before its Hello: its address's (held to the end) and one of
/// the connections still to say Hello (given back once it has).
pub struct Admitted {
    pub ip: Slot<std::net::IpAddr>,
    pub hello: Slot<()>,
}

/// The key a token's sessions are counted under: SHA-256 of the token as sent.
fn token_key(token: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// The client's socket and how long it may take to accept a frame.
struct Peer {
    socket: WebSocket,
    /// Past this a client is a stalled reader and the session ends, releasing what it held.
    wait: Duration,
}

/// Sends one frame; `false` when the connection is gone or the client did not take the frame
/// within the send timeout.
async fn send(peer: &mut Peer, message: &ServerMessage) -> bool {
    let frame = Message::Binary(encode_message(message).into());
    match timeout(peer.wait, peer.socket.send(frame)).await {
        Ok(sent) => sent.is_ok(),
        Err(_) => {
            tracing::info!("client did not take a frame in time; closing session");
            false
        }
    }
}

async fn fail(peer: &mut Peer, code: ErrorKind, message: impl Into<String>) {
    let message = message.into();
    tracing::info!(?code, %message, "closing session");
    if send(peer, &ServerMessage::Error { code, message }).await {
        let _ = timeout(peer.wait, peer.socket.send(Message::Close(None))).await;
    }
}

/// What a client is told of a failure inside the server; the detail (log storage errors,
/// internal state) goes to the server's log only.
async fn internal(peer: &mut Peer, database: &str, error: impl std::fmt::Display) {
    tracing::error!(%database, %error, "internal error; closing session");
    fail(peer, ErrorKind::Internal, "internal server error").await
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

async fn send_entries(peer: &mut Peer, entries: Vec<LogEntry>, more: bool) -> bool {
    send(peer, &ServerMessage::Changes { entries, more }).await
}

/// Sends every log entry after `after` in pages, the last with `more: false` (also when there
/// is nothing to send: that is how a client knows it has caught up); returns the last seq sent.
/// A page holds at most `CHANGES_PAGE` entries and about `max_frame_bytes` of change sets
/// (always at least one entry, which a push of at most that size fits).
async fn catch_up(
    peer: &mut Peer,
    config: &SessionConfig,
    database: &str,
    mut after: u64,
) -> Result<u64, ()> {
    loop {
        let mut entries = config
            .hub
            .log
            .entries_after(database, after, CHANGES_PAGE)
            .await
            .map_err(|_| ())?;
        let mut more = entries.len() == CHANGES_PAGE;
        let mut bytes = 0;
        let fits = entries
            .iter()
            .position(|entry| {
                bytes += entry.change_set.len() + 64;
                bytes > config.limits.max_frame_bytes
            })
            .map(|cut| cut.max(1));
        if let Some(cut) = fits.filter(|cut| *cut < entries.len()) {
            entries.truncate(cut);
            more = true;
        }
        if let Some(last) = entries.last() {
            after = last.seq;
        }
        if !send_entries(peer, entries, more).await {
            return Err(());
        }
        if !more {
            return Ok(after);
        }
    }
}

pub async fn run_session(socket: WebSocket, config: Arc<SessionConfig>, admitted: Admitted) {
    let Admitted {
        ip: _ip,
        hello: opening,
    } = admitted;
    let mut peer = Peer {
        socket,
        wait: config.limits.send_timeout,
    };
    let hello = match timeout(HELLO_TIMEOUT, receive(&mut peer.socket)).await {
        Ok(Some(Ok(hello))) => hello,
        Ok(Some(Err(reason))) => return fail(&mut peer, ErrorKind::Protocol, reason).await,
        Ok(None) => return,
        Err(_) => return fail(&mut peer, ErrorKind::Protocol, "no Hello in time").await,
    };
    let ClientMessage::Hello {
        protocol,
        database,
        client_secret,
        token,
        last_seen_seq,
    } = hello
    else {
        return fail(
            &mut peer,
            ErrorKind::Protocol,
            "the first message must be Hello",
        )
        .await;
    };
    if protocol != PROTOCOL_VERSION {
        let message =
            format!("protocol {protocol} is not supported; this server speaks {PROTOCOL_VERSION}");
        return fail(&mut peer, ErrorKind::Protocol, message).await;
    }
    let claims = match &config.secret {
        None => None,
        Some(secret) => match auth::verify(secret, &token, &database, now_unix()) {
            Ok(claims) if is_revoked(&config.revoked.borrow(), &claims) => {
                return fail(&mut peer, ErrorKind::Unauthorized, REVOKED).await;
            }
            Ok(claims) => Some(claims),
            Err(
                error @ (AuthError::Missing
                | AuthError::Malformed
                | AuthError::BadSignature
                | AuthError::Expired
                | AuthError::WrongDatabase),
            ) => {
                return fail(&mut peer, ErrorKind::Unauthorized, error.to_string()).await;
            }
        },
    };
    let read_only = claims.as_ref().is_some_and(|c| c.read_only);
    let may_change_schema = claims.as_ref().is_none_or(|c| c.schema);
    // The session ends when its token does (the client reconnects with a fresh one).
    let expires = tokio::time::Instant::now()
        + claims.as_ref().map_or(NEVER, |c| {
            Duration::from_secs(c.expires_at.saturating_sub(now_unix()))
        });
    let expiry = tokio::time::sleep_until(expires);
    tokio::pin!(expiry);
    let mut revoked = config.revoked.clone();
    drop(opening);
    let _token_slot = match &claims {
        Some(_) => match config.by_token.take(token_key(&token)) {
            Some(slot) => Some(slot),
            None => {
                return fail(
                    &mut peer,
                    ErrorKind::TooManyConnections,
                    "too many connections with this token",
                )
                .await
            }
        },
        None => None,
    };
    // Identity is what the client proved: the id others see is derived from its secret.
    let client_id = auth::client_identity(&database, client_secret);
    let hub = match config.hub.database(&database).await {
        Ok(hub) => hub,
        Err(error) => return internal(&mut peer, &database, error).await,
    };
    let slot = hub.try_connect(
        config.limits.max_connections_per_database,
        config.limits.reserved_writer_slots,
        read_only,
    );
    let Some(_slot) = slot else {
        return fail(
            &mut peer,
            ErrorKind::TooManyConnections,
            "too many connections to this database",
        )
        .await;
    };
    // Subscribe before reading the log so no entry falls between catch-up and live.
    let mut live = hub.subscribe();
    let (server_seq, progress) = match (
        config.hub.log.last_seq(&database).await,
        config.hub.log.client_progress(&database, client_id).await,
    ) {
        (Ok(seq), Ok(progress)) => (seq, progress),
        (Err(error), _) | (_, Err(error)) => return internal(&mut peer, &database, error).await,
    };
    let welcome = ServerMessage::Welcome {
        server_seq,
        acked_client_seq: progress.client_seq,
        read_only,
        max_frame_bytes: config.limits.max_frame_bytes as u64,
        client_id,
    };
    if !send(&mut peer, &welcome).await {
        return;
    }
    // A client cannot have seen more than the log holds: its claim bounds the `seen` of its
    // pushes, which decides whether other clients hear of a conflict.
    let last_seen_seq = last_seen_seq.min(server_seq);
    let Ok(mut sent_seq) = catch_up(&mut peer, &config, &database, last_seen_seq).await else {
        return;
    };
    let mut rate = RateLimit::new(config.limits.pushes_per_second);
    let mut pulls = RateLimit::new(config.limits.pulls_per_second);
    let mut shutdown = config.shutdown.clone();
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = timeout(peer.wait, peer.socket.send(Message::Close(None))).await;
                return;
            }
            () = &mut expiry => {
                return fail(&mut peer, ErrorKind::Unauthorized, "token has expired").await;
            }
            Ok(()) = revoked.changed() => {
                let ended = claims.as_ref().is_some_and(|c| is_revoked(&revoked.borrow_and_update(), c));
                if ended {
                    return fail(&mut peer, ErrorKind::Unauthorized, REVOKED).await;
                }
            }
            entry = live.recv() => match entry {
                Ok(entry) => {
                    if entry.seq <= sent_seq {
                        continue;
                    }
                    if entry.seq > sent_seq + 1 {
                        // Missed some (should not happen under the lock); read them from the log.
                        let Ok(seq) = catch_up(&mut peer, &config, &database, sent_seq).await else { return };
                        sent_seq = seq;
                        continue;
                    }
                    sent_seq = entry.seq;
                    if !send_entries(&mut peer, vec![(*entry).clone()], false).await {
                        return;
                    }
                }
                Err(Ended::TooSlow) => {
                    // Its queue reached the bound: what it missed stays in the log, for the
                    // catch-up of its next connection.
                    return fail(&mut peer, ErrorKind::RateLimited, "this client fell too far behind the database's changes; reconnect to catch up").await;
                }
                Err(Ended::Closed) => return,
            },
            message = receive(&mut peer.socket) => match message {
                None => return,
                Some(Err(reason)) => return fail(&mut peer, ErrorKind::Protocol, reason).await,
                Some(Ok(ClientMessage::Ping { nonce })) => {
                    if !send(&mut peer, &ServerMessage::Pong { nonce }).await {
                        return;
                    }
                }
                Some(Ok(ClientMessage::Pull { after_seq })) => {
                    if !pulls.allow() {
                        return fail(&mut peer, ErrorKind::RateLimited, "too many Pull requests per second").await;
                    }
                    // Re-reading what was sent is allowed; claiming more than was sent is not.
                    let after_seq = after_seq.min(sent_seq);
                    let Ok(seq) = catch_up(&mut peer, &config, &database, after_seq).await else { return };
                    sent_seq = sent_seq.max(seq);
                }
                Some(Ok(ClientMessage::Hello { .. })) => {
                    return fail(&mut peer, ErrorKind::Protocol, "Hello was already sent").await;
                }
                Some(Ok(ClientMessage::Push { client_seq, change_set, seen })) => {
                    if read_only {
                        return fail(&mut peer, ErrorKind::ReadOnly, "this token is read-only").await;
                    }
                    if !rate.allow() {
                        return fail(&mut peer, ErrorKind::RateLimited, "too many change sets per second").await;
                    }
                    let reply = match hub.push(client_id, client_seq, seen.min(sent_seq), change_set, may_change_schema).await {
                        Ok(PushOutcome::Accepted { server_seq } | PushOutcome::Duplicate { server_seq }) => {
                            ServerMessage::Ack { client_seq, server_seq }
                        }
                        Ok(PushOutcome::Rejected { reason }) => ServerMessage::Reject { client_seq, reason },
                        Err(error) => return internal(&mut peer, &database, error).await,
                    };
                    if !send(&mut peer, &reply).await {
                        return;
                    }
                }
            },
        }
    }
}
