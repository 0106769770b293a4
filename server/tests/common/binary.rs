//! The real `idbsql-server` binary as a child process, for tests in the shape of an attack:
//! whatever a hostile client does, the process must still be running afterwards.

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// `idbsql-server serve --listen 127.0.0.1:0 --data <data> <args…>`, once it listens.
    pub fn start(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(command(data, args, env))
    }

    /// `start`, under a file-size limit of `bytes` (util-linux's `prlimit`): a write past it
    /// fails as on a full disk, until `lift_file_size_limit`.
    #[allow(dead_code)]
    pub fn start_with_file_size_limit(data: &Path, args: &[&str], bytes: u64) -> Self {
        let server = command(data, args, &[]);
        let mut limited = Command::new("prlimit");
        limited
            .arg(format!("--fsize={bytes}:unlimited"))
            .arg("--")
            .arg(server.get_program())
            .args(server.get_args());
        for (key, value) in server.get_envs() {
            if let Some(value) = value {
                limited.env(key, value);
            }
        }
        Self::spawn(limited)
    }

    /// Gives the running server room again (as when a full disk is cleaned up).
    #[allow(dead_code)]
    pub fn lift_file_size_limit(&self) {
        let status = Command::new("prlimit")
            .arg(format!("--pid={}", self.child.id()))
            .arg("--fsize=unlimited:unlimited")
            .status()
            .expect("prlimit runs");
        assert!(status.success(), "prlimit lifts the limit");
    }

    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("idbsql-server listening on http://") {
                        break addr.trim().parse().expect("an address");
                    }
                }
                _ => panic!("the server exited before listening: {:?}", child.wait()),
            }
        };
        Self { child, addr }
    }

    /// Runs `serve` expecting it to refuse to start: its exit status and what it printed.
    pub fn refused(data: &Path, args: &[&str]) -> (bool, String) {
        let mut child = command(data, args, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the server did not refuse to start");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status.success(), stderr)
    }

    /// `serve` with tokens checked: a secret written to `<dir>/secret`, the log in
    /// `<dir>/data`; returns the process and the secret's path (for `mint`).
    pub fn start_with_secret(dir: &Path, args: &[&str]) -> (Self, std::path::PathBuf) {
        let secret = dir.join("secret");
        std::fs::write(&secret, "a test secret of enough bytes").expect("the secret is written");
        let mut all = vec!["--secret-file", secret.to_str().expect("a UTF-8 path")];
        all.extend_from_slice(args);
        (Self::start(&dir.join("data"), &all, &[]), secret)
    }

    /// The process has not exited (crashed, aborted).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("status").is_none()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_idbsql-server"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// `idbsql-server token --db <database> --secret-file <secret> <args…>`: the token it prints.
pub fn mint(secret: &Path, database: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_idbsql-server"))
        .args(["token", "--db", database, "--secret-file"])
        .arg(secret)
        .args(args)
        .output()
        .expect("the token command runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("a token is text")
        .trim()
        .to_owned()
}
