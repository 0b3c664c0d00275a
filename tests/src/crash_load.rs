//! `kill -9` under load (issue 11): clients create invites (over HTTP, and
//! contact invites with an ad-hoc command), register with them (in-band
//! and on the web), change rosters and send messages to offline accounts
//! while roostd is killed with SIGKILL at moments a seeded RNG chooses. After each kill the database, opened
//! read-only before roostd restarts, must pass SQLite's checks, hold no
//! half-made record and hold every acknowledged write; after the restart
//! the server must serve them (`verify`). Writes in flight at a kill may
//! be there or not, but all or nothing.
//!
//! `load` runs the clients, `ledger` records what they were told, `db`
//! and `verify` check it, `stream` is the XMPP client that reports a broken
//! connection instead of panicking.

pub mod db;
pub mod ledger;
pub mod load;
pub mod stream;
pub mod verify;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::watch;

use self::ledger::Counts;
use self::load::{Cast, PASSWORD, Shared, Target};
use crate::{HOST, Server};

/// How many kills, and the seed that chooses their moments and what the
/// clients do (thread scheduling still varies from run to run).
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub rounds: usize,
    pub seed: u64,
}

impl Plan {
    /// `ROOST_KILL9_ROUNDS` (else `default_rounds`) and `ROOST_KILL9_SEED`
    /// (else one from the clock, printed so a failure can be replayed).
    pub fn from_env(default_rounds: usize) -> Plan {
        let rounds = std::env::var("ROOST_KILL9_ROUNDS")
            .ok()
            .map(|r| r.parse().expect("ROOST_KILL9_ROUNDS is a number"))
            .unwrap_or(default_rounds);
        let seed = std::env::var("ROOST_KILL9_SEED")
            .ok()
            .map(|s| s.parse().expect("ROOST_KILL9_SEED is a number"))
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock after 1970")
                    .as_nanos() as u64
            });
        Plan { rounds, seed }
    }
}

/// The longest a round's load runs before its kill.
const MAX_LOAD: Duration = Duration::from_millis(1000);

/// What a run did, for the test's output.
pub struct Report {
    pub plan: Plan,
    pub kills: usize,
    pub counts: Counts,
    pub duration: Duration,
    pub tables: String,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        write!(
            f,
            "{} kills in {:.1} s (seed {}); acknowledged and verified: {} API and {} contact invites, \
             {} in-band and {} web registrations, {} roster changes, {} offline messages; \
             {} writes in flight at a kill ({} registrations made, {} not made; \
             {} roster changes made, {} not made; {} messages delivered); \
             database at the end: {}",
            self.kills,
            self.duration.as_secs_f64(),
            self.plan.seed,
            c.invites,
            c.contact_invites,
            c.registrations_xmpp,
            c.registrations_web,
            c.roster_changes,
            c.offline_messages,
            c.in_flight,
            c.in_flight_registrations_made,
            c.in_flight_registrations_not_made,
            c.in_flight_roster_applied,
            c.in_flight_roster_not_applied,
            c.in_flight_messages_delivered,
            self.tables
        )
    }
}

/// Runs the plan against a fresh roostd; panics with the seed and round at
/// the first problem.
pub async fn run(plan: Plan) -> Report {
    eprintln!(
        "kill -9 under load: {} rounds, seed {} (replay: ROOST_KILL9_SEED={} ROOST_KILL9_ROUNDS={})",
        plan.rounds, plan.seed, plan.seed, plan.rounds
    );
    let started = Instant::now();
    // Offline storage bounds are not under test here: a full store would
    // refuse messages and leave less to check.
    let user = |name: &str| format!("{name}@{HOST}");
    let inviter = user("boss");
    let mut server = Server::start_with_top_level(
        &format!("admins = [\"{inviter}\"]"),
        "[limits]\noffline_messages_per_sender = 1000000\noffline_bytes = 1073741824\n",
    );
    let cast = Cast {
        inviter,
        roster_users: vec![user("editor1"), user("editor2")],
        senders: vec![user("sender1"), user("sender2")],
        recipients: vec![user("inbox1"), user("inbox2"), user("inbox3")],
    };
    let made_by_admin: Vec<String> = [&cast.roster_users, &cast.senders, &cast.recipients]
        .into_iter()
        .flatten()
        .chain([&cast.inviter])
        .cloned()
        .collect();
    for jid in &made_by_admin {
        server.create_user(jid, PASSWORD);
    }
    let target = Target {
        c2s: server.c2s_addr(),
        http: server.url(""),
        api_key: server.create_key(HOST, "kill9"),
    };
    let shared = Arc::new(Shared::default());
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let fail = |round: usize, problems: Vec<String>| {
        if !problems.is_empty() {
            panic!(
                "seed {} round {round}: {} problems (replay: ROOST_KILL9_SEED={} ROOST_KILL9_ROUNDS={}):\n{}",
                plan.seed,
                problems.len(),
                plan.seed,
                plan.rounds,
                problems.join("\n")
            );
        }
    };
    for round in 1..=plan.rounds {
        let (kill, killed) = watch::channel(false);
        let mut workers = load::start(round, plan.seed, &target, &cast, &shared, &killed);
        // The random moment: the load has run for this long.
        let load_for = rng.random_range(Duration::from_millis(20)..MAX_LOAD);
        tokio::time::sleep(load_for).await;
        kill9(&server);
        kill.send_replace(true);
        while let Some(ended) = workers.join_next().await {
            if let Err(e) = ended {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        let conn = db::open_read_only(&server.database_path());
        let mut problems = db::check_structure(&conn, &made_by_admin);
        problems.extend(db::check_ledger(&conn, &mut shared.ledger()));
        drop(conn);
        problems.append(&mut shared.ledger().failures);
        fail(round, problems);
        tokio::task::block_in_place(|| server.kill9_and_restart());
        fail(round, verify::verify(&target, &cast, &shared).await);
    }
    let (status, log) = tokio::task::block_in_place(|| server.terminate());
    assert!(status.success(), "roostd stopped with {status}: {log}");
    let conn = db::open_read_only(&server.database_path());
    let mut problems = db::check_structure(&conn, &made_by_admin);
    problems.extend(db::check_ledger(&conn, &mut shared.ledger()));
    fail(plan.rounds, problems);
    Report {
        plan,
        kills: plan.rounds,
        counts: shared.ledger().counts.clone(),
        duration: started.elapsed(),
        tables: db::table_sizes(&conn),
    }
}

/// SIGKILL, and wait until roostd is dead without reaping it: the
/// `Server` reaps it when it restarts it.
fn kill9(server: &Server) {
    let pid = server.pid() as libc::pid_t;
    // SAFETY: kill(2) and waitid(2) on our own child; WNOWAIT leaves it a
    // zombie, so the pid cannot be reused before `Server` reaps it.
    unsafe {
        assert_eq!(libc::kill(pid, libc::SIGKILL), 0, "SIGKILL roostd");
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let waited = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        );
        assert_eq!(waited, 0, "wait for roostd to die");
    }
}
