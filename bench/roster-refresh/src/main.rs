//! roster-refresh: the benchmark of issue 10's refresh endpoint (roster
//! delegation, bench/run-roster-refresh.sh).
//!
//! It serves a local contacts backend (`/contacts/{username}`, version 1),
//! brings N bench users online against roostd (login, roster get, which
//! makes roostd fetch version 1, initial presence) and keeps their sessions
//! open, reading everything. Then it switches the backend to version 2 (one
//! contact removed, one added, one renamed per user), calls `POST
//! /roster_admin/refresh` with every username, and prints one JSON object:
//! the call's wall time and answer, the backend requests it caused, the
//! roster pushes the clients got (waiting until all arrived or a bound
//! passed) and when the last one arrived, and roostd's RSS and CPU time.
//!
//! The clients run on a current-thread tokio runtime and the backend on a
//! second one in its own thread; `taskset` pins both to the load core.
//! Every wait is bounded.

mod backend;
mod conn;
mod contacts;
mod login;
mod refresh;
mod report;
mod session;
mod stanzas;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::{Args, Parser};
use serde_json::Value;
use tokio::sync::{oneshot, Semaphore};

use crate::backend::Backend;
use crate::contacts::{Plan, PUSHES_PER_USER};
use crate::report::{
    calibration_ms, core_ticks, core_use, own_cpu_seconds, proc_stats, CoreTicks, Errors,
    ProcStats, Report,
};
use crate::session::{Shared, UserState};

/// Where and as whom the clients log in (the shared loadgen's names and env).
#[derive(Args, Debug, Clone)]
pub struct Target {
    #[arg(long, default_value = "127.0.0.1", env = "XMPP_HOST")]
    pub host: String,
    #[arg(long, default_value_t = 5222, env = "XMPP_PORT")]
    pub port: u16,
    /// XMPP domain (stream 'to', account domain, the delegated host)
    #[arg(long, default_value = "localhost", env = "XMPP_DOMAIN")]
    pub domain: String,
    /// Accounts are PREFIX0 .. PREFIX{N-1}
    #[arg(long, default_value = "bench", env = "XMPP_PREFIX")]
    pub prefix: String,
    /// Password of every bench account
    #[arg(long, default_value = "benchpass", env = "XMPP_PASSWORD")]
    pub password: String,
    /// Per-step timeout in seconds (any single network wait while logging in)
    #[arg(long, default_value_t = 10.0)]
    pub step_timeout: f64,
    /// Label copied into the JSON output
    #[arg(long, default_value = "")]
    pub label: String,
}

#[cfg(test)]
impl Target {
    pub fn for_tests() -> Target {
        Target {
            host: "127.0.0.1".into(),
            port: 1,
            domain: "d".into(),
            prefix: "u".into(),
            password: "p".into(),
            step_timeout: 1.0,
            label: String::new(),
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Roster delegation refresh benchmark: local contacts backend, N online users, one POST /roster_admin/refresh, one JSON object"
)]
struct Cli {
    #[command(flatten)]
    t: Target,
    /// Online users (PREFIX0 .. PREFIX{users-1}, accounts must exist)
    #[arg(long, default_value_t = 1000)]
    users: u64,
    /// Contacts per user (even; other bench users)
    #[arg(long, default_value_t = 50)]
    contacts: u64,
    /// Logins in flight at once
    #[arg(long, default_value_t = 50)]
    login_concurrency: usize,
    /// Port of the contacts backend on 127.0.0.1 (roostd's url must point at it)
    #[arg(long, default_value_t = 6490)]
    backend_port: u16,
    /// Delay before each backend answer, in milliseconds (0: at once)
    #[arg(long, default_value_t = 0)]
    backend_delay_ms: u64,
    /// roostd's HTTP listener (the refresh endpoint)
    #[arg(long, default_value = "127.0.0.1")]
    http_host: String,
    #[arg(long, default_value_t = 6480)]
    http_port: u16,
    /// Host header of the refresh call (default: --domain)
    #[arg(long)]
    refresh_host: Option<String>,
    /// roostd's PID, for its RSS and CPU time
    #[arg(long)]
    server_pid: Option<u32>,
    /// Seconds to wait for the pushes after the refresh answer
    #[arg(long, default_value_t = 5.0)]
    push_wait: f64,
    /// Traffic counts as settled after this many seconds without a stanza
    #[arg(long, default_value_t = 1.0)]
    quiet: f64,
    /// Most seconds to wait for the presence traffic after the logins to settle
    #[arg(long, default_value_t = 60.0)]
    settle_max: f64,
    /// Most seconds for bringing every user online
    #[arg(long, default_value_t = 300.0)]
    login_max_time: f64,
    /// Most seconds for the refresh call
    #[arg(long, default_value_t = 60.0)]
    refresh_max_time: f64,
    /// Before the refresh, wait (at most --quiet-wait s) until both cores
    /// were below this busy % for 1 s: this box is shared
    #[arg(long, default_value_t = 15.0)]
    quiet_busy: f64,
    /// Most seconds to wait for quiet cores before the refresh (0: measure
    /// their busy % over 1 s, don't wait)
    #[arg(long, default_value_t = 0.0)]
    quiet_wait: f64,
    /// Just before the refresh call, create this file and wait (at most
    /// 30 s) until FILE.go exists: lets a profiler attach to roostd for the
    /// refresh only (run-roster-refresh.sh PROFILE=1)
    #[arg(long)]
    ready_file: Option<std::path::PathBuf>,
    /// Print every stanza this user (index) receives to stderr, with the
    /// time since the start and the refresh call's start marked
    #[arg(long)]
    trace_user: Option<u64>,
    /// Core roostd is pinned to (its busy % is reported)
    #[arg(long, default_value_t = 0, env = "SERVER_CPU")]
    server_cpu: usize,
    /// Core this tool is pinned to (its busy % is reported)
    #[arg(long, default_value_t = 1, env = "LOADGEN_CPU")]
    load_cpu: usize,
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ok = rt.block_on(run(cli));
    // The sessions stay open to the end; exiting closes them.
    std::process::exit(if ok { 0 } else { 1 });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Waits until `counter` has not moved for `quiet`, at most until `deadline`;
/// returns whether it settled.
async fn settle(counter: &AtomicU64, quiet: Duration, deadline: Instant) -> bool {
    let mut last = counter.load(Ordering::Relaxed);
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = Instant::now();
        let n = counter.load(Ordering::Relaxed);
        if n != last {
            (last, since) = (n, now);
        } else if now - since >= quiet {
            return true;
        }
        if now >= deadline {
            return false;
        }
    }
}

/// Both cores' busy % over 1 s, repeated until both are below `limit` or
/// `max_wait` passed; the last reading and whether it was quiet.
async fn wait_quiet(cores: [usize; 2], limit: f64, max_wait: Duration) -> ([Option<f64>; 2], bool) {
    let start = Instant::now();
    loop {
        let a = cores.map(core_ticks);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let b = cores.map(core_ticks);
        let busy = [0, 1].map(|k| core_use(a[k], b[k]).map(|u| u.busy));
        let quiet = busy.iter().all(|b| b.is_some_and(|b| b < limit));
        if quiet || start.elapsed() >= max_wait {
            return (busy, quiet);
        }
    }
}

/// Waits until `path` exists, at most `limit`.
async fn wait_for_file(path: &std::path::Path, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while !path.exists() {
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

fn add_server(r: &mut Report, key: &str, s: Option<ProcStats>) {
    r.opt(&format!("server_rss_kb_{key}"), s.map(|s| s.rss_kb as f64));
}

async fn run(cli: Cli) -> bool {
    let mut r = Report::new("roster-refresh", &cli.t.label);
    r.s("host", &cli.t.host);
    r.n("port", f64::from(cli.t.port));
    r.s("domain", &cli.t.domain);
    r.n("users", cli.users as f64);
    r.n("contacts", cli.contacts as f64);
    r.n("backend_delay_ms", cli.backend_delay_ms as f64);
    let fatal = |mut r: Report, msg: String| {
        r.s("status", &msg);
        r.print();
        false
    };
    let plan = match Plan::new(cli.users, cli.contacts, &cli.t.prefix, &cli.t.domain) {
        Ok(p) => p,
        Err(e) => return fatal(r, e),
    };
    let (backend, backend_addr) = match Backend::start(
        plan.clone(),
        cli.backend_port,
        Duration::from_millis(cli.backend_delay_ms),
    ) {
        Ok(b) => b,
        Err(e) => {
            return fatal(
                r,
                format!(
                    "backend cannot listen on 127.0.0.1:{}: {e}",
                    cli.backend_port
                ),
            )
        }
    };
    r.s("backend", &backend_addr.to_string());
    let server = || cli.server_pid.and_then(proc_stats);
    let at_start = server();

    // ---- bring every user online --------------------------------------
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        target: cli.t.clone(),
        refresh_start: OnceLock::new(),
        pushes: AtomicU64::new(0),
        stanzas: AtomicU64::new(0),
        ended: AtomicU64::new(0),
        trace_user: cli.trace_user,
        started: Instant::now(),
    });
    let logins = Arc::new(Semaphore::new(cli.login_concurrency.max(1)));
    let states: Vec<Arc<Mutex<UserState>>> = (0..cli.users)
        .map(|_| Arc::new(Mutex::new(UserState::default())))
        .collect();
    let t_login = Instant::now();
    let login_deadline = tokio::time::Instant::now() + Duration::from_secs_f64(cli.login_max_time);
    let mut waiting = Vec::new();
    for (i, state) in states.iter().enumerate() {
        let (tx, rx) = oneshot::channel();
        tokio::spawn(session::run(
            shared.clone(),
            i as u64,
            state.clone(),
            logins.clone(),
            tx,
        ));
        waiting.push(rx);
    }
    let login_errors = Errors::new();
    let mut online_users = vec![false; cli.users as usize];
    for (i, rx) in waiting.into_iter().enumerate() {
        match tokio::time::timeout_at(login_deadline, rx).await {
            Ok(Ok(Ok(()))) => online_users[i] = true,
            Ok(Ok(Err(e))) => login_errors.add(&e),
            Ok(Err(_)) => login_errors.add(&std::io::Error::other("session task ended")),
            Err(_) => login_errors.add(&std::io::Error::other(format!(
                "{}: not online within --login-max-time",
                plan.username(i as u64)
            ))),
        }
    }
    let online = online_users.iter().filter(|&&o| o).count() as u64;
    r.n("online", online as f64);
    login_errors.report(&mut r, "login_errors");
    r.n("login_s", t_login.elapsed().as_secs_f64());
    let v1 = backend.spread(1);
    r.n("backend_requests_login", backend.counts().requests as f64);
    r.n("backend_users_login", v1.users as f64);
    r.n(
        "rosters_v1_ok",
        states.iter().filter(|s| s.lock().unwrap().got_v1).count() as f64,
    );
    let t_settle = Instant::now();
    let settled = settle(
        &shared.stanzas,
        Duration::from_secs_f64(cli.quiet),
        t_settle + Duration::from_secs_f64(cli.settle_max),
    )
    .await;
    r.n("settle_s", t_settle.elapsed().as_secs_f64());
    r.v("settled", Value::Bool(settled));
    r.n(
        "presences_before_refresh",
        states
            .iter()
            .map(|s| s.lock().unwrap().available_before)
            .sum::<u64>() as f64,
    );
    let when_online = server();
    if online == 0 {
        return fatal(r, "no user came online".into());
    }
    let t_quiet = Instant::now();
    let (before, quiet) = wait_quiet(
        [cli.server_cpu, cli.load_cpu],
        cli.quiet_busy,
        Duration::from_secs_f64(cli.quiet_wait),
    )
    .await;
    r.n("quiet_wait_s", t_quiet.elapsed().as_secs_f64());
    r.v("quiet_before_refresh", Value::Bool(quiet));
    r.opt("server_core_busy_pct_before", before[0]);
    r.opt("load_core_busy_pct_before", before[1]);
    r.n("calibration_ms", calibration_ms());
    if let Some(ready) = &cli.ready_file {
        let go = ready.with_extension("go");
        let released = match std::fs::write(ready, b"") {
            Ok(()) => wait_for_file(&go, Duration::from_secs(30)).await,
            Err(_) => false,
        };
        r.v("ready_file_released", Value::Bool(released));
    }

    // ---- the refresh ----------------------------------------------------
    let usernames: Vec<Value> = (0..cli.users).map(|i| plan.username(i).into()).collect();
    let body = Value::Array(usernames).to_string();
    backend.set_version(2);
    backend.reset_max_in_flight();
    let before_call = backend.counts();
    let own_cpu0 = own_cpu_seconds();
    let cpu0 = server();
    let cores = || [core_ticks(cli.server_cpu), core_ticks(cli.load_cpu)];
    let cores0 = cores();
    let t0 = Instant::now();
    shared.refresh_start.set(t0).expect("set once");
    if cli.trace_user.is_some() {
        eprintln!(
            "{:10.3} ms refresh call starts",
            shared.started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let host = cli
        .refresh_host
        .clone()
        .unwrap_or_else(|| cli.t.domain.clone());
    let answer = refresh::post(
        (&cli.http_host, cli.http_port),
        &host,
        "/roster_admin/refresh",
        body.as_bytes(),
        Duration::from_secs_f64(cli.refresh_max_time),
    )
    .await;
    let t1 = Instant::now();
    let after_call = backend.counts();
    let cpu1 = server();
    let cores1 = cores();
    let own_cpu_call = own_cpu_seconds() - own_cpu0;
    let pushes_at_answer = shared.pushes.load(Ordering::Relaxed);
    r.n("refresh_ms", ms(t1 - t0));
    match &answer {
        Ok((status, body)) => {
            r.n("refresh_status", f64::from(*status));
            let parsed: Value = serde_json::from_slice(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
            let count = |k: &str| parsed.get(k).and_then(Value::as_f64);
            r.opt("refresh_updated", count("updated"));
            r.opt("refresh_errors", count("errors"));
            r.v("refresh_answer", parsed);
        }
        Err(e) => {
            r.v("refresh_status", Value::Null);
            r.s("refresh_failure", &e.to_string());
        }
    }
    r.n(
        "backend_requests_refresh",
        (after_call.requests - before_call.requests) as f64,
    );
    r.n("backend_max_in_flight", after_call.max_in_flight as f64);

    // ---- the pushes -------------------------------------------------------
    let expected = online * PUSHES_PER_USER;
    let wait_end = t1 + Duration::from_secs_f64(cli.push_wait);
    while shared.pushes.load(Ordering::Relaxed) < expected && Instant::now() < wait_end {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let all_pushes_seen = Instant::now();
    // The presences that follow the pushes, within the same bound.
    settle(
        &shared.stanzas,
        Duration::from_secs_f64(cli.quiet.min(0.5)),
        wait_end,
    )
    .await;
    let at_end = server();
    let cores_end = cores();
    let t_end = Instant::now();
    let own_cpu1 = own_cpu_seconds();
    r.n("pushes_expected", expected as f64);
    r.n("pushes", shared.pushes.load(Ordering::Relaxed) as f64);
    r.n("pushes_at_answer", pushes_at_answer as f64);
    r.n("pushes_wait_ms", ms(all_pushes_seen - t1));
    let after_wait = backend.counts();
    r.n(
        "backend_requests_refresh_total",
        (after_wait.requests - before_call.requests) as f64,
    );
    let v2 = backend.spread(2);
    r.n("backend_v2_users", v2.users as f64);
    r.n("backend_v2_max_per_user", v2.max_per_user as f64);
    r.n("backend_not_found", after_wait.not_found as f64);

    let mut sum = UserState::default();
    let (mut first, mut last) = (None::<Instant>, None::<Instant>);
    let (mut users_exact, mut rosters_v2_ok) = (0u64, 0u64);
    let mut ended = Vec::new();
    for (i, s) in states.iter().enumerate() {
        let s = s.lock().unwrap();
        sum.added += s.added;
        sum.removed += s.removed;
        sum.changed += s.changed;
        sum.unexpected += s.unexpected;
        sum.not_both += s.not_both;
        sum.without_ver += s.without_ver;
        sum.pushes_before += s.pushes_before;
        sum.available_after += s.available_after;
        sum.unavailable_after += s.unavailable_after;
        sum.other_after += s.other_after;
        first = first.into_iter().chain(s.first_push).min();
        last = last.into_iter().chain(s.last_push).max();
        users_exact += u64::from((s.added, s.removed, s.changed, s.unexpected) == (1, 1, 1, 0));
        if online_users[i] && s.roster == plan.roster(i as u64, 2) {
            rosters_v2_ok += 1;
        }
        if let Some(e) = &s.ended {
            ended.push(e.clone());
        }
    }
    r.n("pushes_added", sum.added as f64);
    r.n("pushes_removed", sum.removed as f64);
    r.n("pushes_changed", sum.changed as f64);
    r.n("pushes_unexpected", sum.unexpected as f64);
    r.n("pushes_not_both", sum.not_both as f64);
    r.n("pushes_without_ver", sum.without_ver as f64);
    r.n("pushes_before_refresh", sum.pushes_before as f64);
    r.opt("first_push_ms", first.map(|f| ms(f - t0)));
    r.opt("last_push_ms", last.map(|l| ms(l - t0)));
    r.n("users_with_exact_pushes", users_exact as f64);
    r.n("rosters_v2_ok", rosters_v2_ok as f64);
    r.n("presences_available_after", sum.available_after as f64);
    r.n("presences_unavailable_after", sum.unavailable_after as f64);
    r.n("other_stanzas_after", sum.other_after as f64);
    r.n(
        "sessions_ended",
        shared.ended.load(Ordering::Relaxed) as f64,
    );
    r.s(
        "first_sessions_ended",
        &ended
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(" | "),
    );
    r.opt("server_pid", cli.server_pid.map(f64::from));
    add_server(&mut r, "start", at_start);
    add_server(&mut r, "online", when_online);
    add_server(&mut r, "end", at_end);
    r.opt("server_hwm_kb", at_end.map(|s| s.hwm_kb as f64));
    let cpu_between = |a: Option<ProcStats>, b: Option<ProcStats>| Some(b?.cpu_s - a?.cpu_s);
    r.opt("server_cpu_s_refresh_call", cpu_between(cpu0, cpu1));
    r.opt("server_cpu_s_refresh_to_end", cpu_between(cpu0, at_end));
    r.n("tool_cpu_s_refresh_call", own_cpu_call);
    r.n("tool_cpu_s_refresh_to_end", own_cpu1 - own_cpu0);
    let busy = |r: &mut Report, key: &str, a: [Option<CoreTicks>; 2], b: [Option<CoreTicks>; 2]| {
        for (core, k) in [("server", 0), ("load", 1)] {
            let u = core_use(a[k], b[k]);
            r.opt(&format!("{core}_core_busy_pct_{key}"), u.map(|u| u.busy));
            r.opt(
                &format!("{core}_core_softirq_pct_{key}"),
                u.map(|u| u.softirq),
            );
            r.opt(&format!("{core}_core_steal_pct_{key}"), u.map(|u| u.steal));
        }
    };
    busy(&mut r, "refresh_call", cores0, cores1);
    busy(&mut r, "refresh_to_end", cores0, cores_end);
    r.n("refresh_to_end_ms", ms(t_end - t0));
    r.s(
        "tls_negotiated",
        conn::TLS_INFO.get().map(String::as_str).unwrap_or("none"),
    );
    r.s(
        "status",
        if answer.is_ok() {
            "done"
        } else {
            "refresh call failed"
        },
    );
    r.print();
    true
}
