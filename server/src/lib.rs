//! idbsql-server as a library: configuration, the HTTP router (WebSocket `/sync` plus an
//! optional static folder) and `start`, used by the binary and by in-process tests.

pub mod auth;
pub mod compaction;
pub mod connection;
pub mod fanout;
pub mod hub;
pub mod log;
pub mod origin;
pub mod quota;
pub mod revoked;
pub mod slots;

use {
    axum::{
        extract::{ConnectInfo, Request, State, WebSocketUpgrade},
        http::{HeaderMap, StatusCode},
        middleware::{self, Next},
        response::{IntoResponse, Response},
        routing::get,
        serve::ListenerExt,
        Router,
    },
    connection::{run_session, Admitted, SessionConfig},
    hub::Hub,
    log::{PostgresLog, RedbLog, SyncLog},
    origin::OriginPolicy,
    std::{
        net::SocketAddr,
        path::{Path, PathBuf},
        sync::Arc,
    },
    tokio::{
        net::TcpListener,
        sync::{oneshot, watch},
        task::JoinHandle,
    },
    tower_http::services::ServeDir,
};

/// What one connection or database may cost the server (each a `serve` flag).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest frame taken, and the most bytes of change sets one catch-up page carries.
    pub max_frame_bytes: usize,
    pub pushes_per_second: u32,
    pub pulls_per_second: u32,
    pub max_connections_per_database: usize,
    /// Of those, how many only writers may take (read-only sessions get the rest).
    pub reserved_writer_slots: usize,
    /// Sessions one client address may hold, over every database (0: no limit).
    pub max_connections_per_ip: usize,
    /// Sessions one token may hold (0: no limit).
    pub max_connections_per_token: usize,
    /// Connections that have not said Hello yet, over the whole server.
    pub max_pending_hellos: usize,
    /// What one database may hold (log bytes, rows, tables).
    pub quotas: quota::Quotas,
    /// A frame not taken by the client within this is a stalled reader: it is disconnected.
    pub send_timeout: std::time::Duration,
    /// Bytes of live entries queued for one session; a reader further behind is disconnected
    /// (it catches up from the log when it reconnects).
    pub max_queued_bytes: usize,
    /// A database's log is compacted once it holds this many bytes and half again what it
    /// held after its last compaction (so its size follows the data, not the history).
    pub compact_log_from_bytes: u64,
    /// A database nobody is connected to leaves memory (its replica and writer) after this.
    pub idle_replica: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 1 << 20,
            pushes_per_second: 1000,
            pulls_per_second: 20,
            max_connections_per_database: 256,
            reserved_writer_slots: 16,
            max_connections_per_ip: 512,
            max_connections_per_token: 128,
            max_pending_hellos: 256,
            quotas: quota::Quotas::default(),
            send_timeout: std::time::Duration::from_secs(10),
            max_queued_bytes: 16 << 20,
            compact_log_from_bytes: 4 << 20,
            idle_replica: std::time::Duration::from_secs(60),
        }
    }
}

pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Folder of the embedded log (redb); unused with `postgres`.
    pub data_dir: PathBuf,
    /// A PostgreSQL connection URL: the log lives there, shared with every server given it.
    pub postgres: Option<String>,
    pub static_dir: Option<PathBuf>,
    /// `None` disables token checks; the server then refuses non-loopback addresses.
    pub secret: Option<Vec<u8>>,
    /// Where `secret` was read from: the static folder may not hold it.
    pub secret_file: Option<PathBuf>,
    /// Pages of other origins allowed to open `/sync` (`*`: any); see `origin`.
    pub allow_origins: Vec<String>,
    /// Token ids whose sessions end and which are refused (see `revoked`).
    pub revoked_file: Option<PathBuf>,
    pub limits: Limits,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("without --secret-file the server only listens on loopback, not {0}")]
    NotLoopback(SocketAddr),
    #[error("data folder {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error(transparent)]
    Log(#[from] log::LogError),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error(
        "the static folder {0} holds {1}, which it would serve to anyone; serve another folder"
    )]
    StaticHoldsPrivate(PathBuf, PathBuf),
    #[error("static folder {0}: {1}")]
    StaticDir(PathBuf, std::io::Error),
    #[error("revocation list {0}: {1}")]
    Revoked(PathBuf, std::io::Error),
}

pub struct RunningServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    sessions_stop: watch::Sender<bool>,
    session: Arc<SessionConfig>,
    task: JoinHandle<()>,
    sweeper: JoinHandle<()>,
    /// Forwards other servers' appends (a shared log only).
    follower: Option<JoinHandle<()>>,
    /// Reads the revocation list again (with --revoked-file only).
    revocations: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, closes every session and waits until they (and the log) are released.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = self.sessions_stop.send(true);
        self.task.abort();
        let _ = self.task.await;
        self.sweeper.abort();
        if let Some(follower) = &self.follower {
            follower.abort();
        }
        if let Some(revocations) = &self.revocations {
            revocations.abort();
        }
        for _ in 0..500 {
            if Arc::strong_count(&self.session) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.session.hub.shutdown().await;
    }

    pub async fn wait(self) {
        let _ = self.task.await;
    }

    /// Databases whose replica is in memory now (idle ones leave after `idle_replica`).
    pub async fn open_databases(&self) -> usize {
        self.session.hub.open_databases().await
    }
}

async fn upgrade(
    State(config): State<Arc<SessionConfig>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !config.origins.allows(&headers) {
        tracing::info!(origin = ?headers.get("origin"), "refused a sync connection from another site's page");
        return (
            StatusCode::FORBIDDEN,
            "this page's origin may not sync with this server\n",
        )
            .into_response();
    }
    // Counted before the upgrade, so a flood of connections that never say Hello is refused
    // here, cheaply, instead of holding sockets for the Hello timeout.
    let Some(ip) = config.by_ip.take(peer.ip()) else {
        tracing::info!(peer = %peer.ip(), "refused a connection: too many from this address");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address\n",
        )
            .into_response();
    };
    let Some(hello) = config.pending_hellos.take(()) else {
        tracing::warn!("refused a connection: too many connections have not said Hello");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections are opening; try again\n",
        )
            .into_response();
    };
    let limit = config.limits.max_frame_bytes;
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| run_session(socket, config, Admitted { ip, hello }))
}

/// Paths served under a dot-named segment (`.git`, `.env`, a percent-encoded `%2e…`) are
/// not found, whatever the static folder holds.
async fn no_dotfiles(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let hidden = [path.to_owned(), percent_decoded(path)].iter().any(|path| {
        path.split(['/', '\\'])
            .any(|segment| segment.starts_with('.'))
    });
    if hidden {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// `%XX` escapes decoded (a malformed one is kept as it is); for request paths and URL options.
pub(crate) fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A static folder may not hold the log or the secret: it would serve them.
fn check_static_dir(
    dir: &Path,
    private: impl IntoIterator<Item = PathBuf>,
) -> Result<(), StartError> {
    let served = dir
        .canonicalize()
        .map_err(|e| StartError::StaticDir(dir.to_owned(), e))?;
    for path in private {
        if let Ok(path) = path.canonicalize() {
            if path.starts_with(&served) {
                return Err(StartError::StaticHoldsPrivate(dir.to_owned(), path));
            }
        }
    }
    Ok(())
}

pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    if config.secret.is_none() && !config.listen.ip().is_loopback() {
        return Err(StartError::NotLoopback(config.listen));
    }
    if let Some(dir) = &config.static_dir {
        let data = config.postgres.is_none().then(|| config.data_dir.clone());
        if let Some(data) = &data {
            // Made now (the log needs it anyway) so that where it lies can be compared.
            std::fs::create_dir_all(data).map_err(|e| StartError::DataDir(data.clone(), e))?;
        }
        check_static_dir(dir, data.into_iter().chain(config.secret_file.clone()))?;
    }
    let log: Arc<dyn SyncLog> = match &config.postgres {
        Some(url) => Arc::new(PostgresLog::connect(url).await?),
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
            Arc::new(RedbLog::open(&config.data_dir.join("log.redb"))?)
        }
    };
    let revocations = revoked::Revocations::start(config.revoked_file.clone())
        .map_err(|e| StartError::Revoked(config.revoked_file.clone().unwrap_or_default(), e))?;
    let (sessions_stop, shutdown_signal) = watch::channel(false);
    let appends = log.appends_elsewhere();
    let hub = Arc::new(Hub::new(
        log,
        config.limits.quotas,
        config.limits.max_queued_bytes,
        config.limits.compact_log_from_bytes,
    ));
    let sweeper = tokio::spawn(Arc::clone(&hub).sweep_idle(config.limits.idle_replica));
    let follower = appends.map(|appends| tokio::spawn(Arc::clone(&hub).follow(appends)));
    let session = Arc::new(SessionConfig {
        hub,
        shutdown: shutdown_signal,
        origins: OriginPolicy::new(&config.allow_origins, config.secret.is_some()),
        secret: config.secret.map(Arc::new),
        revoked: revocations.subscribe(),
        _revoked_sender: revocations.keep(),
        by_ip: slots::Counter::new(config.limits.max_connections_per_ip),
        by_token: slots::Counter::new(config.limits.max_connections_per_token),
        // At least one: 0 would refuse every connection.
        pending_hellos: slots::Counter::new(config.limits.max_pending_hellos.max(1)),
        limits: config.limits,
    });
    let mut router = Router::new()
        .route("/sync", get(upgrade))
        .with_state(Arc::clone(&session));
    if let Some(dir) = config.static_dir {
        router = router
            .fallback_service(ServeDir::new(dir))
            .layer(middleware::from_fn(no_dotfiles));
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError::Listen(config.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(config.listen, e))?;
    // Every frame goes out at once: with Nagle's algorithm a small frame (an ack, one change
    // set) written while the previous one is unacknowledged waits for the peer's delayed ACK,
    // 40 ms on Linux — a commit's latency and a catch-up's time jumped by that, now and then.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "could not set TCP_NODELAY");
        }
    });
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = signal.await;
        })
        .await;
        if let Err(error) = served {
            tracing::error!(%error, "server stopped");
        }
    });
    Ok(RunningServer {
        addr,
        shutdown: Some(shutdown),
        sessions_stop,
        session,
        task,
        sweeper,
        follower,
        revocations: revocations.task,
    })
}
