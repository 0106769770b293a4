//! The `idbsql-server` command: `serve` runs the sync endpoint (and the demo's static files),
//! `token` mints access tokens. Everything else lives in the library.

use {
    clap::{Parser, Subcommand},
    idbsql_server::{auth, Limits, ServerConfig},
    std::{
        net::SocketAddr,
        path::PathBuf,
        process::ExitCode,
        time::{Duration, SystemTime, UNIX_EPOCH},
    },
};

#[derive(Parser)]
#[command(
    name = "idbsql-server",
    version,
    about = "Sync server for idbsql databases"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Folder for the durable log (embedded; one server). Unused with --postgres.
    #[arg(long, default_value = "./idbsql-data")]
    data: PathBuf,
    /// Keep the log in PostgreSQL instead, e.g. postgres://user@host:5432/idbsql, shared
    /// by every server given the same database. Prefer the environment variable, which
    /// keeps a password out of the process list.
    #[arg(long, env = "IDBSQL_POSTGRES_URL", hide_env_values = true)]
    postgres: Option<String>,
    /// Folder served over HTTP besides /sync (e.g. the demo page).
    #[arg(long = "static")]
    static_dir: Option<PathBuf>,
    /// File holding the token-signing secret; without it tokens are not checked and
    /// the server only listens on loopback.
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// Largest WebSocket frame accepted, in bytes; also the most change-set bytes one
    /// catch-up page carries.
    #[arg(long, default_value_t = 1 << 20)]
    max_frame_bytes: usize,
    /// Change sets a connection may push per second.
    #[arg(long, default_value_t = 1000)]
    max_pushes_per_second: u32,
    /// Pull requests (catch-up from a position) a connection may make per second.
    #[arg(long, default_value_t = 20)]
    max_pulls_per_second: u32,
    /// A client that does not take a frame within this is disconnected (a stalled
    /// reader cannot pin the server's memory), e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    send_timeout: Duration,
    /// Bytes of changes queued for one connection that has not taken them yet; a client
    /// further behind is disconnected and catches up from the log when it reconnects.
    #[arg(long, default_value_t = 16 << 20)]
    max_queued_bytes_per_connection: usize,
    /// A database's log is compacted (row writes a later change superseded are taken out)
    /// once it holds this many bytes of changes and half again what it held after its
    /// last compaction, so its size follows the data, not its history.
    #[arg(long, default_value_t = 4 << 20)]
    compact_log_from_bytes: u64,
    /// A database nobody is connected to leaves memory after this, e.g. 60s; the next
    /// connection rebuilds it from the log.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    idle_replica_timeout: Duration,
    /// Connections allowed per database.
    #[arg(long, default_value_t = 256)]
    max_connections_per_database: usize,
    /// Of those, how many only writers may take: read-only sessions cannot fill a
    /// database and lock its writers out.
    #[arg(long, default_value_t = 16)]
    reserved_writer_slots: usize,
    /// Connections one client address may hold, over every database (0: no limit;
    /// behind a reverse proxy every client has the proxy's address).
    #[arg(long, default_value_t = 512)]
    max_connections_per_ip: usize,
    /// Sessions one token may hold at once (0: no limit).
    #[arg(long, default_value_t = 128)]
    max_connections_per_token: usize,
    /// Connections that have not said Hello yet, over the whole server; more are
    /// refused with HTTP 503 until some have.
    #[arg(long, default_value_t = 256)]
    max_pending_hellos: usize,
    /// Bytes of change sets one database's log may hold (0: no limit); a push past it is
    /// rejected with code `quota`. Compaction takes superseded writes out, so this follows
    /// the data (within about 1.5×), not the history.
    #[arg(long, default_value_t = 1 << 30)]
    max_log_bytes_per_database: u64,
    /// Rows one database may hold, over its tables (0: no limit).
    #[arg(long, default_value_t = 10_000_000)]
    max_rows_per_database: u64,
    /// Tables one database may hold (0: no limit).
    #[arg(long, default_value_t = 1_000)]
    max_tables_per_database: u64,
    /// A web page origin (e.g. https://app.example) whose pages may sync; repeatable, `*`
    /// for any. Pages of the server's own origin may always; without --secret-file, so may
    /// pages served from loopback. Clients that send no Origin (native, Node) are not
    /// affected: their token decides.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// A file of revoked token ids, one per line (`#` starts a comment), read again every
    /// second: a session of a listed token ends, and the token is refused.
    #[arg(long)]
    revoked_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the WebSocket sync endpoint at /sync (and a static folder, if given).
    Serve(Box<ServeArgs>),
    /// Print an access token for one database.
    Token {
        #[arg(long)]
        db: String,
        /// How long the token is valid, e.g. 24h, 30m, 7d.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        /// The token can read but not push.
        #[arg(long)]
        read_only: bool,
        /// The token may also change the schema (CREATE / ALTER / DROP of tables, views,
        /// indexes, functions); without it a client writes rows only.
        #[arg(long)]
        schema: bool,
        /// The token's id, for --revoked-file (default: a random one, printed on stderr).
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        secret_file: PathBuf,
    },
}

fn read_secret(path: &PathBuf) -> Result<Vec<u8>, String> {
    let secret = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let secret = secret.trim_ascii().to_vec();
    if secret.len() < 16 {
        return Err(format!(
            "{}: the secret must be at least 16 bytes",
            path.display()
        ));
    }
    Ok(secret)
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Token {
            db,
            ttl,
            read_only,
            schema,
            id,
            secret_file,
        } => {
            let secret = read_secret(&secret_file)?;
            let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
            if id.is_empty() || id.contains(['\n', '\r']) {
                return Err("--id must be one non-empty line".into());
            }
            eprintln!("token id: {id}");
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|e| e.to_string())?;
            let claims = auth::Claims {
                database: db,
                expires_at: (now + ttl).as_secs(),
                read_only,
                schema,
                id: Some(id),
            };
            println!("{}", auth::mint(&secret, &claims));
            Ok(())
        }
        Command::Serve(args) => {
            let ServeArgs {
                listen,
                data,
                postgres,
                static_dir,
                secret_file,
                max_frame_bytes,
                max_pushes_per_second,
                max_pulls_per_second,
                send_timeout,
                max_queued_bytes_per_connection,
                compact_log_from_bytes,
                idle_replica_timeout,
                max_connections_per_database,
                reserved_writer_slots,
                max_connections_per_ip,
                max_connections_per_token,
                max_pending_hellos,
                max_log_bytes_per_database,
                max_rows_per_database,
                max_tables_per_database,
                allow_origins,
                revoked_file,
            } = *args;
            if cfg!(panic = "abort") {
                tracing::warn!(
                    "built with panic = \"abort\": a panic in one database's work stops the whole \
                     server; build with `cargo build --profile server -p idbsql-server`"
                );
            }
            keep_file_size_limit_an_io_error();
            let secret = secret_file.as_ref().map(read_secret).transpose()?;
            if secret.is_none() {
                tracing::warn!(
                    "no --secret-file: tokens are not checked; listening on loopback only"
                );
            }
            let server = idbsql_server::start(ServerConfig {
                listen,
                data_dir: data,
                postgres,
                static_dir,
                secret,
                secret_file,
                allow_origins,
                revoked_file,
                limits: Limits {
                    max_frame_bytes,
                    pushes_per_second: max_pushes_per_second,
                    pulls_per_second: max_pulls_per_second,
                    max_connections_per_database,
                    reserved_writer_slots,
                    max_connections_per_ip,
                    max_connections_per_token,
                    max_pending_hellos,
                    quotas: idbsql_server::quota::Quotas {
                        log_bytes: max_log_bytes_per_database,
                        rows: max_rows_per_database,
                        tables: max_tables_per_database,
                    },
                    send_timeout,
                    max_queued_bytes: max_queued_bytes_per_connection,
                    compact_log_from_bytes,
                    idle_replica: idle_replica_timeout,
                },
            })
            .await
            .map_err(|e| e.to_string())?;
            println!("idbsql-server listening on http://{}", server.addr);
            tokio::select! {
                _ = tokio::signal::ctrl_c() => server.stop().await,
                () = server_wait_forever() => {}
            }
            Ok(())
        }
    }
}

/// A write past the process's file-size limit (`ulimit -f`) raises SIGXFSZ, whose default
/// action kills the server. Caught, the write fails with an I/O error instead, which the log
/// survives like a full disk (it reopens its file once writes succeed again).
fn keep_file_size_limit_an_io_error() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::from_raw(libc::SIGXFSZ)) {
            Ok(mut signals) => {
                tokio::spawn(async move {
                    while signals.recv().await.is_some() {
                        tracing::warn!("a write passed the file-size limit (SIGXFSZ)");
                    }
                });
            }
            Err(error) => tracing::warn!(%error, "cannot catch SIGXFSZ"),
        }
    }
}

async fn server_wait_forever() {
    std::future::pending::<()>().await
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("idbsql-server: {error}");
            ExitCode::FAILURE
        }
    }
}
