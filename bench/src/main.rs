//! `kenpo-bench`: the release `kenpo-idp` on one pinned core, a closed-loop load generator on
//! the other, over loopback, against SQLite or PostgreSQL. Prints a Markdown table of
//! requests/s, latency, errors, CPU use and the server's RSS, and the machine it ran on.
//!
//! ```text
//! CARGO_TARGET_DIR=/var/tmp/kenpo-target cargo run --release -p kenpo-bench -- --backend sqlite
//! ```
#![expect(clippy::print_stdout, reason = "the benchmark's report is its standard output")]

mod import;
mod load;
mod procfs;
mod seed;
mod server;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use load::{Scenario, Tally, Target, Window};
use procfs::{CpuSnapshot, CpuUse};
use server::{Server, ServerEnv};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Parser)]
#[command(name = "kenpo-bench", about = "Throughput and memory of kenpo-idp on one pinned core")]
struct Cli {
    #[arg(long, value_enum)]
    backend: Backend,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Unmeasured seconds before each measurement (connections open, caches fill).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Concurrent connections of the auth_code scenario (default: --connections).
    #[arg(long)]
    login_connections: Option<usize>,
    #[arg(long, value_enum, value_delimiter = ',', default_values = [
        "discovery", "jwks", "client_credentials", "refresh", "auth_code",
    ])]
    scenarios: Vec<Scenario>,
    /// The core the server is pinned to.
    #[arg(long, default_value_t = 0)]
    server_core: usize,
    /// The core this load generator is pinned to.
    #[arg(long, default_value_t = 1)]
    client_core: usize,
    /// PostgreSQL server on which a fresh database is created and dropped.
    #[arg(long, env = "TEST_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    database_url: String,
    /// Use this server binary instead of building and finding the release one.
    #[arg(long)]
    server_binary: Option<PathBuf>,
    /// Do not run `cargo build --release -p kenpo-idp` first.
    #[arg(long)]
    no_build: bool,
    /// Longest wait, in seconds, for other builds on the machine to end before each scenario.
    #[arg(long, default_value_t = 1800)]
    max_quiet_wait: u64,
}

/// One scenario's result.
#[derive(Debug)]
struct Row {
    scenario: Scenario,
    connections: usize,
    seconds: f64,
    tally: Tally,
    cpu: CpuUse,
    /// Largest VmRSS sampled during the window, and VmRSS and VmHWM right after it (kB).
    rss_max_kb: u64,
    rss_after_kb: u64,
    hwm_kb: u64,
    load_before: String,
    /// Builds seen on the machine before (after waiting) or right after the window.
    builds: Vec<String>,
}

fn main() -> ExitCode {
    // `kenpo-bench import …` measures the portal's import; anything else the IdP's throughput.
    if std::env::args().nth(1).as_deref() == Some("import") {
        let cli = import::ImportCli::parse_from(std::env::args().skip(1));
        return match import::run(&cli) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kenpo-bench import: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kenpo-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    anyhow::ensure!(cli.server_core != cli.client_core, "the server and the load need different cores");
    // Others may commit while this runs: the source is read before the build that uses it.
    let source = git_describe();
    let binary = server::locate(cli.server_binary.clone(), !cli.no_build)?;
    // Before the runtime starts, so that every thread it makes inherits the pinning.
    server::pin_self(cli.client_core)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(bench(&cli, &binary, &source))
}

async fn bench(cli: &Cli, binary: &Path, source: &str) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let (database_url, pg) = match cli.backend {
        Backend::Sqlite => (format!("sqlite://{}", data.path().join("idp.db").display()), None),
        Backend::Postgres => {
            let pg = seed::PgDatabase::create(&cli.database_url).await?;
            (pg.url.clone(), Some(pg))
        }
    };
    let env = ServerEnv {
        binary: binary.to_owned(),
        core: cli.server_core,
        database_url,
        data_dir: data.path().to_owned(),
        master_key: seed::master_key_base64(),
    };
    let result = measure_all(cli, &env).await;
    if let Some(pg) = pg
        && let Err(e) = pg.drop_database().await
    {
        eprintln!("note: the benchmark database was not dropped: {e:#}");
    }
    let rows = result?;
    report(cli, binary, source, &rows);
    Ok(())
}

async fn measure_all(cli: &Cli, env: &ServerEnv) -> anyhow::Result<Vec<Row>> {
    let seeded = Arc::new(seed::seed(&env.database_url).await?);
    let http = load::http_client()?;
    let ticks = procfs::clock_ticks();
    let target = |server: &Server| Target {
        http: http.clone(),
        origin: server.origin.clone(),
        seeded: seeded.clone(),
    };
    {
        let server = Server::start(env, &http).await?;
        let checked = load::smoke(&target(&server)).await;
        server.stop().await?;
        checked.context("the smoke test before measuring")?;
    }
    let mut rows = Vec::new();
    for &scenario in &cli.scenarios {
        let connections = match scenario {
            Scenario::AuthCode => cli.login_connections.unwrap_or(cli.connections),
            _ => cli.connections,
        };
        // The refresh loop starts from one login per connection, made on a server of its own
        // (few at a time) so that the Argon2 memory of those logins is not in the measured RSS;
        // the tokens outlive it because they are stored durably.
        let mut tokens = Vec::new();
        if scenario == Scenario::Refresh {
            let server = Server::start(env, &http).await?;
            let made = load::refresh_tokens(&target(&server), connections, 2).await;
            server.stop().await?;
            tokens = made?;
        }
        let mut builds = wait_quiet(cli.max_quiet_wait).await;
        eprintln!("== {} on {:?}, {connections} connections", scenario.name(), cli.backend);
        let server = Server::start(env, &http).await?;
        let measured = measure(cli, scenario, &target(&server), &server, connections, tokens, ticks).await;
        let log = server.log_tail();
        server.stop().await?;
        let mut row = measured?;
        builds.extend(procfs::builds_running());
        row.builds = builds;
        eprintln!(
            "   {:.0}/s, {} errors, server {:.2} cores, client {:.2}, db {:.2}, other {:.2}",
            row.tally.ok as f64 / row.seconds,
            row.tally.errors,
            row.cpu.server,
            row.cpu.client,
            row.cpu.db,
            row.cpu.other
        );
        if row.tally.errors > 0 && !log.is_empty() {
            eprintln!("   server log:\n{log}");
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Waits until no compiler runs on the machine (or `max` seconds pass); returns what still ran.
async fn wait_quiet(max: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(max);
    loop {
        let builds = procfs::builds_running();
        if builds.is_empty() || Instant::now() > deadline {
            return builds;
        }
        eprintln!("waiting for other builds to end: {} (load {})", builds.join(" "), procfs::load_average());
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

async fn measure(
    cli: &Cli,
    scenario: Scenario,
    target: &Target,
    server: &Server,
    connections: usize,
    mut tokens: Vec<String>,
    ticks: f64,
) -> anyhow::Result<Row> {
    let load_before = procfs::load_average();
    let now = Instant::now();
    let start = now + Duration::from_secs(cli.warmup);
    let window = Window { start, end: start + Duration::from_secs(cli.seconds) };
    let workers: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(load::connection(scenario, target.clone(), window, tokens.pop())))
        .collect();
    tokio::time::sleep_until(window.start.into()).await;
    let before = CpuSnapshot::take(server.pid);
    let mut rss_max_kb = 0;
    while Instant::now() < window.end {
        rss_max_kb = rss_max_kb.max(procfs::status_kb(server.pid, "VmRSS").unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = CpuSnapshot::take(server.pid);
    let rss_after_kb = procfs::status_kb(server.pid, "VmRSS").unwrap_or(0);
    rss_max_kb = rss_max_kb.max(rss_after_kb);
    let hwm_kb = procfs::status_kb(server.pid, "VmHWM").unwrap_or(0);
    let mut tally = Tally::default();
    for worker in workers {
        tally = tally.merge(worker.await?);
    }
    tally.latencies_us.sort_unstable();
    Ok(Row {
        scenario,
        connections,
        seconds: window.end.duration_since(window.start).as_secs_f64(),
        tally,
        cpu: before.until(&after, ticks),
        rss_max_kb,
        rss_after_kb,
        hwm_kb,
        load_before,
        builds: Vec::new(),
    })
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default()
}

fn git_describe() -> String {
    let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    command_output("git", &["-C", tree, "describe", "--always", "--dirty"]).trim().to_owned()
}

fn report(cli: &Cli, binary: &Path, source: &str, rows: &[Row]) {
    let backend = match cli.backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "| scenario | backend | conns | req/s | p50 ms | p99 ms | errors | server CPU | req/s per server core \
         | client CPU | PostgreSQL CPU | other CPU | server RSS max / after / HWM (MB) |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for row in rows {
        let rate = row.tally.ok as f64 / row.seconds;
        let per_core = if row.cpu.server > 0.05 { rate / row.cpu.server } else { 0.0 };
        let lat = &row.tally.latencies_us;
        println!(
            "| {} | {backend} | {} | {rate:.0} | {:.2} | {:.2} | {} | {:.2} | {per_core:.0} | {:.2} | {:.2} | {:.2} \
             | {:.1} / {:.1} / {:.1} |",
            row.scenario.name(),
            row.connections,
            row.tally.quantile_ms(lat, 0.50),
            row.tally.quantile_ms(lat, 0.99),
            row.tally.errors,
            row.cpu.server,
            row.cpu.client,
            row.cpu.db,
            row.cpu.other,
            mb(row.rss_max_kb),
            mb(row.rss_after_kb),
            mb(row.hwm_kb),
        );
    }
    println!();
    for row in rows {
        let cores: Vec<String> = row.cpu.per_core.iter().map(|b| format!("{:.0}%", b * 100.0)).collect();
        let mut note = format!(
            "- {}: {} ok in {:.0} s; cores busy {}; load average before {}",
            row.scenario.name(),
            row.tally.ok,
            row.seconds,
            cores.join(" / "),
            row.load_before
        );
        if !row.builds.is_empty() {
            note.push_str(&format!("; POLLUTED, builds running: {}", row.builds.join(" ")));
        }
        if row.tally.errors > 0 {
            note.push_str(&format!("; INVALID, errors: {}", row.tally.samples.join(" | ")));
        }
        println!("{note}");
    }
    let model = command_output("lscpu", &[]);
    let model = model.lines().find_map(|l| l.strip_prefix("Model name:")).unwrap_or("?").trim().to_owned();
    println!();
    println!(
        "- machine: {model}, {} cores; `{}`",
        command_output("nproc", &["--all"]).trim(),
        command_output("uname", &["-a"]).trim()
    );
    let now = git_describe();
    if now == source {
        println!("- server source: commit {source} (as built at the start)");
    } else {
        println!("- server source: commit {source} when built; the tree is at {now} now");
    }
    println!(
        "- pinning: server `taskset -c {}` ({}), load generator on core {} (one tokio current-thread runtime, reqwest)",
        cli.server_core,
        binary.display(),
        cli.client_core
    );
    println!(
        "- CPU columns are cores (CPU-seconds per second) over the measured {} s, from /proc; \
         PostgreSQL's processes are not pinned",
        cli.seconds
    );
}
