//! The server under test: the release `kenpo-idp` binary, pinned to one core with `taskset`,
//! started on a free loopback port and stopped with SIGTERM.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Builds the release server (unless told not to) and finds its binary: beside this one when
/// both come from the same target directory, else under `$CARGO_TARGET_DIR/release`.
pub fn locate(given: Option<PathBuf>, build: bool) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    if build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "kenpo-idp", "--bin", "kenpo-idp"])
            .status()
            .context("running cargo build")?;
        if !status.success() {
            bail!("cargo build --release -p kenpo-idp failed: {status}");
        }
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().as_deref().and_then(Path::parent) {
        candidates.push(dir.join("kenpo-idp"));
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("release/kenpo-idp"));
    }
    candidates.push(PathBuf::from("target/release/kenpo-idp"));
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .context("no release kenpo-idp binary found: build it or pass --server-binary")
}

/// Pins this process, every thread included, to `core` (threads started later inherit it).
pub fn pin_self(core: usize) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-cp", &core.to_string(), &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .context("running taskset")?;
    if !status.success() {
        bail!("taskset -a -cp {core} failed: {status}");
    }
    Ok(())
}

/// What every start of the server shares.
#[derive(Debug, Clone)]
pub struct ServerEnv {
    pub binary: PathBuf,
    pub core: usize,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub master_key: String,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    log: PathBuf,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Starts the server and waits for `/health/ready`.
    pub async fn start(env: &ServerEnv, http: &reqwest::Client) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log = env.data_dir.join(format!("server-{port}.log"));
        let log_file = std::fs::File::create(&log)?;
        let mut command = Command::new("taskset");
        command.arg("-c").arg(env.core.to_string()).arg(&env.binary).arg("serve");
        // Only what is set here: no stray KENPO_IDP_REDIS_URL or the like from the caller.
        for (key, _) in std::env::vars() {
            if key.starts_with("KENPO_IDP_") {
                command.env_remove(key);
            }
        }
        command
            .env("KENPO_IDP_LISTEN", format!("127.0.0.1:{port}"))
            .env("KENPO_IDP_DATABASE_URL", &env.database_url)
            .env("KENPO_IDP_MASTER_KEY", &env.master_key)
            .env("KENPO_IDP_DATA_DIR", &env.data_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        // taskset execs the server, so the child's pid is the server's.
        let child = command.spawn().with_context(|| format!("starting {}", env.binary.display()))?;
        let mut server = Self { pid: child.id(), child, origin: format!("http://127.0.0.1:{port}"), log };
        let ready = format!("{}/health/ready", server.origin);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("the server exited during start ({status}):\n{}", server.log_tail());
            }
            match http.get(&ready).send().await {
                Ok(r) if r.status().is_success() => return Ok(server),
                _ if Instant::now() > deadline => {
                    let _ = server.child.kill();
                    bail!("the server was not ready within 30 s:\n{}", server.log_tail());
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The end of the server's log, for error messages and the report.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM, then up to 15 s for a graceful stop, then SIGKILL.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    eprintln!("note: the server exited with {status}:\n{}", self.log_tail());
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("the server did not stop within 15 s of SIGTERM and was killed")
    }
}
