//! A throwaway PostgreSQL cluster for tests and the bench: Debian's `postgresql` binaries,
//! `initdb` in a temp folder, run as the `postgres` user when we are root, a random loopback
//! port, stopped (immediately) and deleted on drop. Default durability: fsync stays on.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    /// Server options besides the port and socket (TLS settings).
    options: String,
}

/// Where `initdb` and `pg_ctl` are: `IDBSQL_PG_BIN`, else Debian's newest
/// `/usr/lib/postgresql/<version>/bin`, else the PATH.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IDBSQL_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| PathBuf::from(""))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

impl PgCluster {
    /// A fresh cluster, started and accepting connections.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A fresh cluster that takes TCP connections over TLS only, with this certificate and
    /// key (PEM): a plaintext connection is refused.
    #[allow(dead_code)]
    pub fn start_tls_only(certificate: &str, key: &str) -> Self {
        Self::start_with(Some((certificate, key)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("idbsql-pg-")
            .tempdir()
            .expect("temp dir");
        let mut cluster = Self {
            dir,
            bin: bin_dir(),
            port: free_port(),
            options: String::new(),
        };
        if is_root() {
            // PostgreSQL refuses to run as root: the folder belongs to `postgres`.
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster folder to postgres");
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().to_string_lossy(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        if let Some((certificate, key)) = tls {
            let data = cluster.data();
            std::fs::write(data.join("server.crt"), certificate).expect("certificate written");
            std::fs::write(data.join("server.key"), key).expect("key written");
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\n\
                 hostssl all all 127.0.0.1/32 trust\n\
                 hostnossl all all 127.0.0.1/32 reject\n",
            )
            .expect("pg_hba.conf written");
            // PostgreSQL takes a key only its own user can read.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                data.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .expect("key permissions");
            if is_root() {
                for file in ["server.crt", "server.key", "pg_hba.conf"] {
                    let status = Command::new("chown")
                        .arg("postgres:postgres")
                        .arg(data.join(file))
                        .status()
                        .expect("chown");
                    assert!(status.success(), "chown {file} to postgres");
                }
            }
            cluster.options = "-c ssl=on".into();
        }
        cluster.pg_ctl_start();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?connect_timeout=5",
            self.port
        )
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e} (is Debian's postgresql installed?)"));
        assert!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 {}",
            self.port,
            self.dir.path().display(),
            self.options
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    /// Creates another (empty) database in the cluster.
    pub fn create_database(&self, name: &str) {
        let port = self.port.to_string();
        let host = self.dir.path().to_string_lossy().into_owned();
        self.run(
            "createdb",
            &["-h", &host, "-p", &port, "-U", "postgres", name],
        );
    }

    /// Stops the server (fast shutdown: connections are cut, nothing committed is lost).
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// Starts it again on the same port after `stop`.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                &self.data().to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}
