//! The one JSON object each run prints, in the shared loadgen's field names
//! (`completed`, `logins_per_s`, `login_p50_ms`, `errors`, `first_errors`,
//! …), so the shared `measure.py` and `summarize.py` read it unchanged;
//! plus the error counter every workload reports through.

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
        self.fields.push((key.to_owned(), Value::from(value)));
    }

    /// A number, rounded to 3 decimals as the loadgen prints them; NaN and
    /// infinities become null.
    pub fn n(&mut self, key: &str, value: f64) {
        let v = if value.is_finite() {
            Value::from((value * 1000.0).round() / 1000.0)
        } else {
            Value::Null
        };
        self.fields.push((key.to_owned(), v));
    }

    /// `PREFIX_samples`, `_p50_ms`, `_p90_ms`, `_p99_ms`, `_max_ms` of
    /// latencies in microseconds.
    pub fn latencies(&mut self, prefix: &str, mut us: Vec<u32>) {
        us.sort_unstable();
        self.n(&format!("{prefix}_samples"), us.len() as f64);
        for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
            self.n(&format!("{prefix}_{name}_ms"), percentile_ms(&us, p));
        }
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

/// Nearest-rank percentile as the loadgen computes it.
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted_us.len() as f64 - 1.0)).round() as usize;
    sorted_us[idx.min(sorted_us.len() - 1)] as f64 / 1000.0
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

    /// `PREFIX` and `first_PREFIX` (e.g. `errors`, `first_errors`).
    pub fn report(&self, r: &mut Report, prefix: &str) {
        r.n(prefix, self.count() as f64);
        r.s(
            &format!("first_{prefix}"),
            &self.first.lock().unwrap().join(" | "),
        );
    }
}

/// CPU seconds (user + system) this process has used.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_as_the_loadgen() {
        let us: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&us, 50.0), 51.0);
        assert_eq!(percentile_ms(&us, 99.0), 99.0);
        assert_eq!(percentile_ms(&us, 100.0), 100.0);
        assert!(percentile_ms(&[], 50.0).is_nan());
    }
}
