//! idbsql-server as a library: configuration, the HTTP router (WebSocket `/sync` plus an
//! optional static folder) and `start`, used by the binary and by in-process tests.

pub mod auth;
pub mod connection;
pub mod hub;
pub mod log;

use {
    axum::{
        extract::{State, WebSocketUpgrade},
        response::Response,
        routing::get,
        Router,
    },
    connection::{run_session, SessionConfig},
    hub::Hub,
    log::{PostgresLog, RedbLog, SyncLog},
    std::{net::SocketAddr, path::PathBuf, sync::Arc},
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
    /// A frame not taken by the client within this is a stalled reader: it is disconnected
    /// (a session holds at most one frame, and the broadcast buffer is shared and bounded).
    pub send_timeout: std::time::Duration,
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
            send_timeout: std::time::Duration::from_secs(10),
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

async fn upgrade(State(config): State<Arc<SessionConfig>>, upgrade: WebSocketUpgrade) -> Response {
    let limit = config.limits.max_frame_bytes;
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| run_session(socket, config))
}

pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    if config.secret.is_none() && !config.listen.ip().is_loopback() {
        return Err(StartError::NotLoopback(config.listen));
    }
    let log: Arc<dyn SyncLog> = match &config.postgres {
        Some(url) => Arc::new(PostgresLog::connect(url).await?),
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
            Arc::new(RedbLog::open(&config.data_dir.join("log.redb"))?)
        }
    };
    let (sessions_stop, shutdown_signal) = watch::channel(false);
    let appends = log.appends_elsewhere();
    let hub = Arc::new(Hub::new(log));
    let sweeper = tokio::spawn(Arc::clone(&hub).sweep_idle(config.limits.idle_replica));
    let follower = appends.map(|appends| tokio::spawn(Arc::clone(&hub).follow(appends)));
    let session = Arc::new(SessionConfig {
        hub,
        shutdown: shutdown_signal,
        secret: config.secret.map(Arc::new),
        limits: config.limits,
    });
    let mut router = Router::new()
        .route("/sync", get(upgrade))
        .with_state(Arc::clone(&session));
    if let Some(dir) = config.static_dir {
        router = router.fallback_service(ServeDir::new(dir));
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError::Listen(config.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(config.listen, e))?;
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
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
    })
}
