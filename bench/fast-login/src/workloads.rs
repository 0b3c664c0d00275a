//! The two runs: `setup` (a FAST token per account) and `login` (the timed
//! FAST login loop, shaped as the shared loadgen's `cmd_login`).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::conn::TLS_INFO;
use crate::report::{cpu_seconds, Errors, Report};
use crate::session;
use crate::tokens;
use crate::Target;

const GIVE_UP_AFTER: u64 = 20;

fn add_target(r: &mut Report, t: &Target) {
    r.s("host", &t.host);
    r.n("port", f64::from(t.port));
    r.s("domain", &t.domain);
    r.s("tls", "on");
    r.s(
        "tls_negotiated",
        TLS_INFO.get().map(String::as_str).unwrap_or("none"),
    );
}

/// Gets a token for every account (three tries each), writes the token
/// file. True if every account has one. Gives up early when the first
/// [`GIVE_UP_AFTER`] accounts all failed: the server does not do FAST.
pub async fn setup(t: Target, users: u64, concurrency: usize, max_time: f64) -> bool {
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(max_time);
    let next = Arc::new(AtomicU64::new(0));
    let errors = Errors::new();
    let got: Arc<Vec<Mutex<Option<String>>>> =
        Arc::new((0..users).map(|_| Mutex::new(None)).collect());
    let successes = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (t, next, errors, got, successes) = (
            t.clone(),
            next.clone(),
            errors.clone(),
            got.clone(),
            successes.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users || Instant::now() > deadline {
                    break;
                }
                if errors.count() >= GIVE_UP_AFTER && successes.load(Ordering::Relaxed) == 0 {
                    break;
                }
                for attempt in 1..=3 {
                    match session::request_token(&t, i).await {
                        Ok(token) => {
                            *got[i as usize].lock().unwrap() = Some(token);
                            successes.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(e) if attempt == 3 => errors.add(&e),
                        Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                    }
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let got: Vec<Option<String>> = got.iter().map(|m| m.lock().unwrap().clone()).collect();
    let obtained = got.iter().filter(|t| t.is_some()).count();
    let saved = tokens::save(&t.tokens, &got);
    let mut r = Report::new("fast-setup", &t.label);
    add_target(&mut r, &t);
    r.n("users", users as f64);
    r.n("tokens", obtained as f64);
    r.n("elapsed_s", t0.elapsed().as_secs_f64());
    errors.report(&mut r, "errors");
    r.s("tokens_file", &t.tokens.display().to_string());
    if let Err(e) = &saved {
        r.s("save_error", &e.to_string());
    }
    r.print();
    saved.is_ok() && obtained as u64 == users
}

/// What one worker brings back.
#[derive(Default)]
struct WorkerResult {
    login_us: Vec<u32>,
    cycle_us: Vec<u32>,
    rotations: u64,
}

/// The timed FAST login loop. False if it could not run at all (missing
/// tokens, bad parameters); login failures are counted in the report.
pub async fn login(t: Target, users: u64, concurrency: usize, duration: f64, warmup: f64) -> bool {
    let fatal = |msg: String| {
        let mut r = Report::new("login", &t.label);
        add_target(&mut r, &t);
        r.s("status", &msg);
        r.n("errors", 1.0);
        r.s("first_errors", &msg);
        r.print();
        false
    };
    // Two logins of one account at once would share a client id and so a
    // Bind2 resource: the second would replace the first.
    if users < concurrency as u64 {
        return fatal(format!(
            "--users {users} must be at least --concurrency {concurrency}"
        ));
    }
    let loaded = match tokens::load(&t.tokens, users as usize) {
        Ok(loaded) => loaded,
        Err(e) => {
            return fatal(format!(
                "cannot read tokens {}: {e} (run `setup` first)",
                t.tokens.display()
            ))
        }
    };
    let missing = loaded.iter().filter(|t| t.is_none()).count();
    if missing > 0 {
        return fatal(format!(
            "{missing} of {users} accounts have no token in {} (run `setup`)",
            t.tokens.display()
        ));
    }
    let store: Arc<Vec<Mutex<Option<String>>>> =
        Arc::new(loaded.into_iter().map(Mutex::new).collect());
    let next = Arc::new(AtomicU64::new(0));
    let errors = Errors::new();
    let warmup_errors = Errors::new();
    let t0 = Instant::now();
    let m_start = t0 + Duration::from_secs_f64(warmup);
    let m_end = m_start + Duration::from_secs_f64(duration);
    let cpu_at_start = Arc::new(Mutex::new(None::<f64>));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (t, next, errors, warmup_errors, store, cpu_at_start) = (
            t.clone(),
            next.clone(),
            errors.clone(),
            warmup_errors.clone(),
            store.clone(),
            cpu_at_start.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut res = WorkerResult::default();
            loop {
                let now = Instant::now();
                if now >= m_end {
                    break;
                }
                if now >= m_start {
                    cpu_at_start.lock().unwrap().get_or_insert_with(cpu_seconds);
                }
                let i = next.fetch_add(1, Ordering::Relaxed) % users;
                let token = store[i as usize]
                    .lock()
                    .unwrap()
                    .clone()
                    .expect("checked above");
                let s = Instant::now();
                match session::fast_login(&t, i, &token).await {
                    Ok((conn, rotated)) => {
                        let login = s.elapsed();
                        if let Some(new) = rotated {
                            *store[i as usize].lock().unwrap() = Some(new);
                            res.rotations += 1;
                        }
                        conn.close().await;
                        let cycle = s.elapsed();
                        // Only logins that started and ended inside the window.
                        if s >= m_start && Instant::now() <= m_end {
                            res.login_us.push(login.as_micros() as u32);
                            res.cycle_us.push(cycle.as_micros() as u32);
                        }
                    }
                    Err(e) => {
                        if s >= m_start {
                            &errors
                        } else {
                            &warmup_errors
                        }
                        .add(&e);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            res
        }));
    }
    let mut all = WorkerResult::default();
    let mut lost_workers = 0;
    for w in workers {
        match w.await {
            Ok(r) => {
                all.login_us.extend(r.login_us);
                all.cycle_us.extend(r.cycle_us);
                all.rotations += r.rotations;
            }
            Err(e) => {
                lost_workers += 1;
                errors.add(&io::Error::other(format!("worker panicked: {e}")));
            }
        }
    }
    let cpu_used = cpu_seconds() - cpu_at_start.lock().unwrap().unwrap_or(0.0);
    let tokens_now: Vec<Option<String>> = store.iter().map(|m| m.lock().unwrap().clone()).collect();
    let saved = if all.rotations > 0 {
        tokens::save(&t.tokens, &tokens_now)
    } else {
        Ok(())
    };
    if let Err(e) = &saved {
        errors.add(&io::Error::other(format!("saving rotated tokens: {e}")));
    }
    let mut r = Report::new("login", &t.label);
    add_target(&mut r, &t);
    r.s("mechanism", "FAST HT-SHA-256-NONE, SASL2 + Bind2 inline");
    r.n("concurrency", concurrency as f64);
    r.n("users", users as f64);
    r.n("duration_s", duration);
    r.n("completed", all.login_us.len() as f64);
    r.n("logins_per_s", all.login_us.len() as f64 / duration);
    r.n("loadgen_cpu_util", cpu_used / duration);
    r.n("token_rotations", all.rotations as f64);
    r.n("lost_workers", f64::from(lost_workers));
    errors.report(&mut r, "errors");
    warmup_errors.report(&mut r, "warmup_errors");
    r.latencies("login", all.login_us);
    r.latencies("cycle", all.cycle_us);
    r.print();
    true
}
