//! What `/proc` says about the machine during a run: the server's memory, the CPU time of the
//! server, of this load generator, of PostgreSQL's processes and of everything else, and whether
//! someone else is compiling.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in kB.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// `(comm, ppid, utime + stime in clock ticks)` of a process, all threads included.
fn stat(pid: u32) -> Option<(String, u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: the command may hold spaces and parentheses, so split at the
    // last parenthesis.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    // After the command: state(0) ppid(1) … utime(11) stime(12).
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, ppid, utime + stime))
}

fn pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux almost everywhere).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Busy and total ticks of each core, from `/proc/stat`.
fn core_times() -> Vec<(u64, u64)> {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else { return Vec::new() };
    text.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            let v: Vec<u64> = l.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
            // user nice system idle iowait irq softirq steal (guest time is inside user).
            let total: u64 = v.iter().take(8).sum();
            let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
            (total - idle, total)
        })
        .collect()
}

/// CPU counters at one instant.
#[derive(Debug, Clone)]
pub struct CpuSnapshot {
    at: Instant,
    server: u64,
    client: u64,
    postgres: HashMap<u32, u64>,
    cores: Vec<(u64, u64)>,
}

impl CpuSnapshot {
    pub fn take(server_pid: u32) -> Self {
        let mut postgres = HashMap::new();
        for pid in pids() {
            if let Some((comm, _, ticks)) = stat(pid)
                && comm == "postgres"
            {
                postgres.insert(pid, ticks);
            }
        }
        Self {
            at: Instant::now(),
            server: stat(server_pid).map_or(0, |s| s.2),
            client: stat(std::process::id()).map_or(0, |s| s.2),
            postgres,
            cores: core_times(),
        }
    }

    /// Average use between `self` and a later snapshot, in cores (CPU-seconds per second).
    pub fn until(&self, later: &Self, ticks_per_second: f64) -> CpuUse {
        let seconds = later.at.duration_since(self.at).as_secs_f64().max(1e-3);
        let cores = |ticks: u64| ticks as f64 / ticks_per_second / seconds;
        let db: u64 = later
            .postgres
            .iter()
            .map(|(pid, t)| t.saturating_sub(self.postgres.get(pid).copied().unwrap_or(0)))
            .sum();
        let server = later.server.saturating_sub(self.server);
        let client = later.client.saturating_sub(self.client);
        let per_core: Vec<f64> = self
            .cores
            .iter()
            .zip(&later.cores)
            .map(|((b0, t0), (b1, t1))| {
                let total = t1.saturating_sub(*t0).max(1);
                b1.saturating_sub(*b0) as f64 / total as f64
            })
            .collect();
        let busy: u64 =
            self.cores.iter().zip(&later.cores).map(|((b0, _), (b1, _))| b1.saturating_sub(*b0)).sum();
        CpuUse {
            server: cores(server),
            client: cores(client),
            db: cores(db),
            other: cores(busy.saturating_sub(server + client + db)),
            per_core,
        }
    }
}

/// CPU use over a window, in cores.
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    pub server: f64,
    pub client: f64,
    /// All `postgres` processes (the server's backends, and any other client's).
    pub db: f64,
    /// Everything else that ran: other engineers' work, the kernel's threads, daemons.
    pub other: f64,
    /// Busy fraction of each core.
    pub per_core: Vec<f64>,
}

/// Compilers and build tools running on the machine, other than this process's ancestors
/// (`cargo run` itself).
pub fn builds_running() -> Vec<String> {
    const BUILDERS: [&str; 6] = ["cargo", "rustc", "clippy-driver", "rustdoc", "cc1", "ld"];
    let mut ancestors = HashSet::new();
    let mut pid = std::process::id();
    while pid > 1 && ancestors.insert(pid) {
        match stat(pid) {
            Some((_, ppid, _)) => pid = ppid,
            None => break,
        }
    }
    pids()
        .into_iter()
        .filter(|p| !ancestors.contains(p))
        .filter_map(|p| stat(p).map(|(comm, _, _)| (p, comm)))
        .filter(|(_, comm)| BUILDERS.contains(&comm.as_str()))
        .map(|(p, comm)| format!("{comm}[{p}]"))
        .collect()
}

/// The 1-minute load average.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}
