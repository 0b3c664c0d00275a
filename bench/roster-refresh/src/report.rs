//! The one JSON object a run prints (built from bench/fast-login's
//! `report.rs`), the error counter, and what `/proc` says about a process
//! (roostd's RSS and CPU time, this tool's CPU time).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

pub struct Report {
    fields: Vec<(String, Value)>,
}

impl Report {
    pub fn new(workload: &str, label: &str) -> Report {
        let mut r = Report { fields: Vec::new() };
        r.s("workload", workload);
        r.s("label", label);
        r
    }

    pub fn s(&mut self, key: &str, value: &str) {
        self.v(key, Value::from(value));
    }

    /// A number, rounded to 3 decimals; NaN and infinities become null.
    pub fn n(&mut self, key: &str, value: f64) {
        let v = if value.is_finite() {
            Value::from((value * 1000.0).round() / 1000.0)
        } else {
            Value::Null
        };
        self.v(key, v);
    }

    /// An optional number (null when absent).
    pub fn opt(&mut self, key: &str, value: Option<f64>) {
        self.n(key, value.unwrap_or(f64::NAN));
    }

    pub fn v(&mut self, key: &str, value: Value) {
        self.fields.push((key.to_owned(), value));
    }

    pub fn print(&self) {
        let body: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
            .collect();
        println!("{{{}}}", body.join(","));
    }
}

/// Counts failures and keeps the first three texts.
pub struct Errors {
    count: AtomicU64,
    first: Mutex<Vec<String>>,
}

impl Errors {
    pub fn new() -> Arc<Errors> {
        Arc::new(Errors {
            count: AtomicU64::new(0),
            first: Mutex::new(Vec::new()),
        })
    }

    pub fn add(&self, e: &io::Error) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap();
        if first.len() < 3 {
            first.push(e.to_string());
        }
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// `PREFIX` and `first_PREFIX` (e.g. `login_errors`, `first_login_errors`).
    pub fn report(&self, r: &mut Report, prefix: &str) {
        r.n(prefix, self.count() as f64);
        r.s(
            &format!("first_{prefix}"),
            &self.first.lock().unwrap().join(" | "),
        );
    }
}

/// CPU seconds (user + system) this process has used.
pub fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Milliseconds this core takes for a fixed piece of integer work (about
/// 50 ms on an unloaded core of this box). The box is a VM shared with
/// others: when the host is busy, the same work takes longer and the guest
/// sees no steal time; this figure, taken right before the call, shows it.
pub fn calibration_ms() -> f64 {
    let start = std::time::Instant::now();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x);
    start.elapsed().as_secs_f64() * 1000.0
}

/// Another process's memory and CPU time, from `/proc/PID/{status,stat}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcStats {
    pub rss_kb: u64,
    pub hwm_kb: u64,
    pub cpu_s: f64,
}

pub fn proc_stats(pid: u32) -> Option<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_proc(&status, &stat, clock_ticks())
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

fn parse_proc(status: &str, stat: &str, hz: f64) -> Option<ProcStats> {
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ProcStats {
        rss_kb: kb("VmRSS:")?,
        hwm_kb: kb("VmHWM:")?,
        cpu_s: ticks as f64 / hz,
    })
}

/// Clock ticks of one core (`cpuN` in `/proc/stat`): all, idle (with
/// iowait), softirq (the kernel's network work, much of loopback TCP) and
/// steal (time the hypervisor gave to others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreTicks {
    pub total: u64,
    pub idle: u64,
    pub softirq: u64,
    pub steal: u64,
}

pub fn core_ticks(core: usize) -> Option<CoreTicks> {
    parse_core(&std::fs::read_to_string("/proc/stat").ok()?, core)
}

fn parse_core(stat: &str, core: usize) -> Option<CoreTicks> {
    let name = format!("cpu{core}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    Some(CoreTicks {
        total: v.iter().sum(),
        idle: v.get(3)? + v.get(4)?,
        softirq: *v.get(6)?,
        steal: *v.get(7)?,
    })
}

/// Busy, softirq and steal % of a core between two readings (None when no
/// tick passed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoreUse {
    pub busy: f64,
    pub softirq: f64,
    pub steal: f64,
}

pub fn core_use(a: Option<CoreTicks>, b: Option<CoreTicks>) -> Option<CoreUse> {
    let (a, b) = (a?, b?);
    let total = b.total.checked_sub(a.total).filter(|&t| t > 0)? as f64;
    let pct = |x: u64, y: u64| 100.0 * y.saturating_sub(x) as f64 / total;
    Some(CoreUse {
        busy: 100.0 - pct(a.idle, b.idle),
        softirq: pct(a.softirq, b.softirq),
        steal: pct(a.steal, b.steal),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files() {
        let status = "Name:\troostd\nVmHWM:\t  20000 kB\nVmRSS:\t   12345 kB\n";
        let stat = "42 (roost d) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 300";
        let p = parse_proc(status, stat, 100.0).unwrap();
        assert_eq!((p.rss_kb, p.hwm_kb), (12345, 20000));
        assert_eq!(p.cpu_s, 3.0);
        assert!(parse_proc("", stat, 100.0).is_none());
        assert!(proc_stats(std::process::id()).is_some_and(|p| p.rss_kb > 0));
    }

    #[test]
    fn core_busy() {
        let a = parse_core(
            "cpu 1 2 3\ncpu0 10 0 10 70 10 0 0 0 0 0\ncpu1 1 1 1 1 1 1 1 1\n",
            0,
        );
        let b = parse_core("cpu0 30 0 10 100 20 0 10 10\n", 0);
        assert_eq!(
            a,
            Some(CoreTicks {
                total: 100,
                idle: 80,
                softirq: 0,
                steal: 0
            })
        );
        assert_eq!(
            core_use(a, b),
            Some(CoreUse {
                busy: 50.0,
                softirq: 12.5,
                steal: 12.5
            })
        );
        assert_eq!(core_use(a, a), None);
        assert!(parse_core("cpu0 1 2\n", 1).is_none());
    }
}
