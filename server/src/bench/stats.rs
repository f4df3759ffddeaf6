//! The numbers: latency percentiles, and what this process, the database
//! server and the whole machine spent, read from `/proc` (Linux).

use std::time::{Duration, Instant};

use serde::Serialize;

/// Linux reports process times in clock ticks of 1/100 s (`USER_HZ`, fixed
/// at 100 on every architecture Rust targets).
const TICKS_PER_SECOND: f64 = 100.0;

/// Percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples`.
    pub fn of(samples: &[Duration]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let rank = |p: f64| {
            let i = (p * sorted.len() as f64).ceil() as usize;
            ms(sorted[i.clamp(1, sorted.len()) - 1])
        };
        let total: Duration = sorted.iter().sum();
        Self {
            count: sorted.len(),
            mean_ms: ms(total) / sorted.len() as f64,
            p50_ms: rank(0.50),
            p95_ms: rank(0.95),
            p99_ms: rank(0.99),
            max_ms: ms(sorted[sorted.len() - 1]),
        }
    }
}

/// CPU seconds spent, split into user and system time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CpuTime {
    pub user_s: f64,
    pub sys_s: f64,
}

impl CpuTime {
    pub fn total_s(&self) -> f64 {
        self.user_s + self.sys_s
    }

    fn minus(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user_s: self.user_s - earlier.user_s,
            sys_s: self.sys_s - earlier.sys_s,
        }
    }
}

/// `utime` and `stime` of a `/proc/PID/stat` line, in seconds.
fn stat_times(stat: &str) -> Option<CpuTime> {
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the line are the 12th and 13th after the name.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let sys: f64 = fields.get(12)?.parse().ok()?;
    Some(CpuTime {
        user_s: user / TICKS_PER_SECOND,
        sys_s: sys / TICKS_PER_SECOND,
    })
}

/// CPU time of this process so far (all threads).
pub fn process_cpu() -> CpuTime {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| stat_times(&s))
        .unwrap_or_default()
}

/// CPU time of every process named `postgres` on this machine (the
/// server and its backends, all clients' alike).
pub fn postgres_cpu() -> CpuTime {
    let mut sum = CpuTime::default();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return sum;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_pid = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        if !is_pid {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        let is_postgres = stat
            .find('(')
            .is_some_and(|i| stat[i + 1..].starts_with("postgres"));
        if let (true, Some(t)) = (is_postgres, stat_times(&stat)) {
            sum.user_s += t.user_s;
            sum.sys_s += t.sys_s;
        }
    }
    sum
}

/// Busy and total CPU time of the whole machine (`/proc/stat`), in ticks.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// A value of `/proc/self/status` (such as `VmHWM`), in bytes.
fn status_bytes(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak resident memory of this process (`VmHWM`).
pub fn peak_rss_bytes() -> u64 {
    status_bytes("VmHWM:").unwrap_or(0)
}

/// Resets the peak resident memory to the current one (Linux 4.0+), so that
/// a phase's peak is not an earlier phase's. Best effort.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut v = text.split_whitespace().filter_map(|x| x.parse().ok());
    [
        v.next().unwrap_or(0.0),
        v.next().unwrap_or(0.0),
        v.next().unwrap_or(0.0),
    ]
}

/// What the machine is: cores, CPU model, memory.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory_bytes: u64,
}

impl Machine {
    pub fn this() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024);
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_bytes,
        }
    }
}

/// A snapshot taken at the start of a phase; [`Sample::since`] turns it
/// into what the phase cost.
pub struct Sample {
    at: Instant,
    process: CpuTime,
    postgres: Option<CpuTime>,
    machine: Option<(u64, u64)>,
    load: [f64; 3],
}

/// What a phase cost.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    pub elapsed_s: f64,
    /// This process (engine, client and, in http mode, server and services).
    pub cpu: CpuTime,
    /// Every `postgres` process on this machine, when the database is local.
    pub postgres_cpu: Option<CpuTime>,
    /// Cores kept busy on average by everything on the machine.
    pub machine_busy_cores: Option<f64>,
    /// Cores kept busy by other processes than this one and the database.
    pub others_busy_cores: Option<f64>,
    pub loadavg_before: [f64; 3],
    pub loadavg_after: [f64; 3],
}

impl Sample {
    /// Now; `postgres` says whether to read the database server's CPU.
    pub fn now(postgres: bool) -> Self {
        Self {
            at: Instant::now(),
            process: process_cpu(),
            postgres: postgres.then(postgres_cpu),
            machine: machine_ticks(),
            load: loadavg(),
        }
    }

    pub fn since(&self) -> Usage {
        let elapsed = self.at.elapsed().as_secs_f64();
        let cpu = process_cpu().minus(self.process);
        let postgres_cpu = self.postgres.map(|before| postgres_cpu().minus(before));
        let machine_busy_cores = match (self.machine, machine_ticks()) {
            (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
                Some(cores * (busy1 - busy0) as f64 / (total1 - total0) as f64)
            }
            _ => None,
        };
        let others_busy_cores = machine_busy_cores.map(|busy| {
            let ours = cpu.total_s() + postgres_cpu.map_or(0.0, |p| p.total_s());
            (busy - ours / elapsed.max(1e-9)).max(0.0)
        });
        Usage {
            elapsed_s: elapsed,
            cpu,
            postgres_cpu,
            machine_busy_cores,
            others_busy_cores,
            loadavg_before: self.load,
            loadavg_after: loadavg(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = Percentiles::of(&samples);
        assert_eq!(p.count, 100);
        assert_eq!(p.p50_ms, 50.0);
        assert_eq!(p.p95_ms, 95.0);
        assert_eq!(p.p99_ms, 99.0);
        assert_eq!(p.max_ms, 100.0);
        assert!((p.mean_ms - 50.5).abs() < 1e-9);
        assert_eq!(Percentiles::of(&[]).count, 0);
    }

    #[test]
    fn stat_line_with_spaces_in_the_name() {
        let line = "42 (tokio runtime) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0";
        let t = stat_times(line).expect("parsed");
        assert_eq!(t.user_s, 2.5);
        assert_eq!(t.sys_s, 0.75);
    }

    #[test]
    fn this_process_is_measurable() {
        assert!(peak_rss_bytes() > 0);
        assert!(process_cpu().total_s() >= 0.0);
    }
}
