//! fast-login: login-rate load generator for XMPP FAST (XEP-0484,
//! HT-SHA-256-NONE) with SASL2 (XEP-0388) and Bind2 (XEP-0386) inline, the
//! FAST side of Roost's bench/run-fast.sh.
//!
//! `setup` logs every bench account in once with SASL2 PLAIN and asks for a
//! FAST token (not timed); `login` then measures FAST logins the way the
//! shared loadgen's `login` workload measures SCRAM-SHA-1 ones: a fresh TCP
//! connection and TLS 1.3 session per login, N in flight, each login ending
//! with initial presence and a ping reply, logins/s and latency over a
//! window after a warm-up. Single-threaded tokio runtime, so `taskset` pins
//! all of it; every run is bounded in time and prints one JSON object.

mod conn;
mod report;
mod sasl2;
mod session;
mod tokens;
mod workloads;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "XMPP FAST login-rate load generator (single core, bounded runs, JSON output)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Where and as whom to log in (the shared loadgen's names and env).
#[derive(Args, Debug, Clone)]
pub struct Target {
    #[arg(long, default_value = "127.0.0.1", env = "XMPP_HOST")]
    pub host: String,
    #[arg(long, default_value_t = 5222, env = "XMPP_PORT")]
    pub port: u16,
    /// XMPP domain (stream 'to' and account domain)
    #[arg(long, default_value = "localhost", env = "XMPP_DOMAIN")]
    pub domain: String,
    /// Accounts are PREFIX0 .. PREFIX{N-1}
    #[arg(long, default_value = "bench", env = "XMPP_PREFIX")]
    pub prefix: String,
    /// Password of every bench account (setup only)
    #[arg(long, default_value = "benchpass", env = "XMPP_PASSWORD")]
    pub password: String,
    /// Client ids (`<user-agent id>`) are CLIENT_PREFIX{index}
    #[arg(long, default_value = "bench-")]
    pub client_prefix: String,
    /// Bind2 tag (the resource is TAG~SUFFIX)
    #[arg(long, default_value = "bench")]
    pub tag: String,
    /// Per-step timeout in seconds (any single network wait)
    #[arg(long, default_value_t = 10.0)]
    pub step_timeout: f64,
    /// Label copied into the JSON output
    #[arg(long, default_value = "")]
    pub label: String,
    /// Token file (INDEX<TAB>TOKEN lines, 0600)
    #[arg(long)]
    pub tokens: PathBuf,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Log each of PREFIX0..PREFIX{users-1} in with SASL2 PLAIN and keep a FAST token
    Setup {
        #[command(flatten)]
        t: Target,
        #[arg(long, default_value_t = 1000)]
        users: u64,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Hard time limit in seconds
        #[arg(long, default_value_t = 600.0)]
        max_time: f64,
    },
    /// Login rate: connect, STARTTLS, FAST + Bind2, presence, ping, close; repeat
    Login {
        #[command(flatten)]
        t: Target,
        /// Accounts cycled through (each needs a token from `setup`)
        #[arg(long, default_value_t = 1000)]
        users: u64,
        /// Logins in flight at any time
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        /// Measured seconds (after warm-up)
        #[arg(long, default_value_t = 15.0)]
        duration: f64,
        /// Warm-up seconds (not measured)
        #[arg(long, default_value_t = 3.0)]
        warmup: f64,
    },
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ok = rt.block_on(async move {
        match cli.cmd {
            Cmd::Setup {
                t,
                users,
                concurrency,
                max_time,
            } => workloads::setup(t, users, concurrency, max_time).await,
            Cmd::Login {
                t,
                users,
                concurrency,
                duration,
                warmup,
            } => workloads::login(t, users, concurrency, duration, warmup).await,
        }
    });
    if !ok {
        std::process::exit(1);
    }
}
