//! One online bench user for the whole run: login, a roster get (which makes
//! the server fetch version 1 from the backend), initial presence, then
//! every stanza the server sends until the process ends. Roster pushes are
//! answered and applied to the client's copy of the roster; pushes and
//! presences are counted apart before and after the refresh call started.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Semaphore};

use crate::conn::{excerpt, fail, Conn};
use crate::contacts::{Contact, Plan, Roster};
use crate::login::login;
use crate::stanzas::{attr, is, roster_items, start_tag};
use crate::Target;

const ROSTER_NS: &[u8] = b"jabber:iq:roster";
const ROSTER_GET_ID: &str = "roster-get-1";

/// What every session task shares with the run.
pub struct Shared {
    pub plan: Plan,
    pub target: Target,
    /// When the refresh call started: stanzas from then on belong to it.
    pub refresh_start: OnceLock<Instant>,
    /// Roster pushes received since the refresh started, all users.
    pub pushes: AtomicU64,
    /// Stanzas received, all users (to see when the traffic settles).
    pub stanzas: AtomicU64,
    /// Sessions that ended after login (EOF, stream error, bad input).
    pub ended: AtomicU64,
    /// The user whose received stanzas go to stderr (for looking at what
    /// the server sends, not for measuring).
    pub trace_user: Option<u64>,
    /// When the run started, for the trace's timestamps.
    pub started: Instant,
}

impl Shared {
    fn trace(&self, index: u64, el: &[u8]) {
        if self.trace_user == Some(index) {
            eprintln!(
                "{:10.3} ms {}: {}",
                self.started.elapsed().as_secs_f64() * 1000.0,
                self.plan.username(index),
                String::from_utf8_lossy(el)
            );
        }
    }
}

impl Shared {
    fn in_refresh(&self, at: Instant) -> bool {
        self.refresh_start.get().is_some_and(|t0| at >= *t0)
    }
}

/// One user's view of the run, read by the report at the end.
#[derive(Default)]
pub struct UserState {
    /// The client's copy of its roster: the roster get's result with every
    /// push applied.
    pub roster: Roster,
    /// The roster get's result was exactly the backend's version 1.
    pub got_v1: bool,
    /// Pushes before the refresh started (applied to `roster` all the same).
    pub pushes_before: u64,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// Pushes after the refresh started that changed nothing or removed an
    /// item the client did not have.
    pub unexpected: u64,
    /// Pushed items other than `remove` whose subscription was not `both`.
    pub not_both: u64,
    /// Pushes (before or after) without a `ver`.
    pub without_ver: u64,
    pub first_push: Option<Instant>,
    pub last_push: Option<Instant>,
    pub available_before: u64,
    pub unavailable_before: u64,
    pub available_after: u64,
    pub unavailable_after: u64,
    /// Other stanzas after the refresh started (messages, other iqs or presences).
    pub other_after: u64,
    pub ended: Option<String>,
}

impl UserState {
    /// Handles one stanza received at `at`; returns the reply to send, if any.
    fn handle(
        &mut self,
        shared: &Shared,
        el: &[u8],
        at: Instant,
    ) -> Result<Option<String>, String> {
        let tag = start_tag(el);
        let after = shared.in_refresh(at);
        if is(el, "iq") {
            let kind = attr(tag, "type").unwrap_or_default();
            let id = attr(tag, "id").unwrap_or_default();
            if kind == "set" && crate::conn::find(el, ROSTER_NS).is_some() {
                self.push(shared, el, at, after)?;
                return Ok(Some(format!("<iq type='result' id='{}'/>", escape(&id))));
            }
            if after {
                self.other_after += 1;
            }
            if kind == "get" || kind == "set" {
                return Ok(Some(format!(
                    "<iq type='error' id='{}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
                    escape(&id)
                )));
            }
            return Ok(None);
        }
        if is(el, "presence") {
            let counter = match (attr(tag, "type").as_deref(), after) {
                (None, false) => &mut self.available_before,
                (Some("unavailable"), false) => &mut self.unavailable_before,
                (None, true) => &mut self.available_after,
                (Some("unavailable"), true) => &mut self.unavailable_after,
                (_, true) => &mut self.other_after,
                (_, false) => return Ok(None),
            };
            *counter += 1;
            return Ok(None);
        }
        if is(el, "stream:error") {
            return Err(format!("stream error: {}", excerpt(el, 300)));
        }
        if after {
            self.other_after += 1;
        }
        Ok(None)
    }

    fn push(&mut self, shared: &Shared, el: &[u8], at: Instant, after: bool) -> Result<(), String> {
        if crate::conn::find(el, b" ver=").is_none() {
            self.without_ver += 1;
        }
        if !after {
            self.pushes_before += 1;
        } else {
            shared.pushes.fetch_add(1, Ordering::Relaxed);
            self.first_push.get_or_insert(at);
            self.last_push = Some(at);
        }
        // Pushes before the refresh are applied but not sorted by kind: the
        // kinds count what the refresh changed.
        let count = |kind: &mut u64| {
            if after {
                *kind += 1;
            }
        };
        for item in roster_items(el)? {
            if item.subscription.as_deref() == Some("remove") {
                match self.roster.remove(&item.jid) {
                    Some(_) => count(&mut self.removed),
                    None => count(&mut self.unexpected),
                }
                continue;
            }
            if item.subscription.as_deref() != Some("both") {
                count(&mut self.not_both);
            }
            let contact = Contact {
                name: item.name.unwrap_or_default(),
                groups: item.groups,
            };
            match self.roster.insert(item.jid, contact.clone()) {
                None => count(&mut self.added),
                Some(old) if old != contact => count(&mut self.changed),
                Some(_) => count(&mut self.unexpected),
            }
        }
        Ok(())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&apos;")
        .replace('<', "&lt;")
}

/// Login, roster get, initial presence; the connection then carries the
/// pushes. Runs under one of the login permits.
async fn bring_online(shared: &Shared, index: u64, state: &Mutex<UserState>) -> io::Result<Conn> {
    let username = shared.plan.username(index);
    let mut c = login(&shared.target, &username, index).await?;
    c.write(
        format!("<iq type='get' id='{ROSTER_GET_ID}'><query xmlns='jabber:iq:roster'/></iq>")
            .as_bytes(),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs_f64(shared.target.step_timeout);
    loop {
        let el = c.next_element(Some(deadline)).await?;
        shared.trace(index, &el);
        let tag = start_tag(&el);
        if is(&el, "iq") && attr(tag, "id").as_deref() == Some(ROSTER_GET_ID) {
            if attr(tag, "type").as_deref() != Some("result") {
                return fail(format!(
                    "{username}: roster get not answered with a result: {}",
                    excerpt(&el, 400)
                ));
            }
            let items = roster_items(&el).map_err(io::Error::other)?;
            let roster: Roster = items
                .into_iter()
                .map(|i| {
                    let c = Contact {
                        name: i.name.unwrap_or_default(),
                        groups: i.groups,
                    };
                    (i.jid, c)
                })
                .collect();
            let mut s = state.lock().unwrap();
            s.got_v1 = roster == shared.plan.roster(index, 1);
            s.roster = roster;
            break;
        }
        let reply = state
            .lock()
            .unwrap()
            .handle(shared, &el, Instant::now())
            .map_err(io::Error::other)?;
        if let Some(reply) = reply {
            c.write(reply.as_bytes()).await?;
        }
    }
    c.write(b"<presence/>").await?;
    Ok(c)
}

/// The task of user `index`: online (reported through `online`), then
/// reading until the process ends or the server ends the session.
pub async fn run(
    shared: Arc<Shared>,
    index: u64,
    state: Arc<Mutex<UserState>>,
    logins: Arc<Semaphore>,
    online: oneshot::Sender<io::Result<()>>,
) {
    let permit = logins.acquire_owned().await;
    let up = bring_online(&shared, index, &state).await;
    drop(permit);
    let mut c = match up {
        Ok(c) => {
            let _ = online.send(Ok(()));
            c
        }
        Err(e) => {
            let _ = online.send(Err(e));
            return;
        }
    };
    let why = loop {
        let el = match c.next_element(None).await {
            Ok(el) => el,
            Err(e) => break e.to_string(),
        };
        shared.trace(index, &el);
        shared.stanzas.fetch_add(1, Ordering::Relaxed);
        let reply = state.lock().unwrap().handle(&shared, &el, Instant::now());
        match reply {
            Ok(Some(reply)) => {
                if let Err(e) = c.write(reply.as_bytes()).await {
                    break e.to_string();
                }
            }
            Ok(None) => {}
            Err(e) => break e,
        }
    };
    state.lock().unwrap().ended = Some(format!("{}: {why}", shared.plan.username(index)));
    shared.ended.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            plan: Plan::new(10, 4, "u", "d").unwrap(),
            target: Target::for_tests(),
            refresh_start: OnceLock::new(),
            pushes: AtomicU64::new(0),
            stanzas: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            trace_user: None,
            started: Instant::now(),
        }
    }

    fn push(item: &str) -> Vec<u8> {
        format!("<iq type='set' id='p&apos;1'><query xmlns='jabber:iq:roster' ver='9'>{item}</query></iq>")
            .into_bytes()
    }

    #[test]
    fn pushes_of_version_two_bring_the_roster_to_version_two() {
        let sh = shared();
        let mut s = UserState {
            roster: sh.plan.roster(0, 1),
            ..UserState::default()
        };
        sh.refresh_start.set(Instant::now()).unwrap();
        let now = Instant::now();
        let reply = s
            .handle(&sh, &push("<item jid='u2@d' subscription='remove'/>"), now)
            .unwrap();
        assert_eq!(reply.as_deref(), Some("<iq type='result' id='p&apos;1'/>"));
        s.handle(&sh, &push("<item jid='u3@d' name='Bench 3' subscription='both'><group>Bench</group><group>Class 3</group></item>"), now).unwrap();
        s.handle(&sh, &push("<item jid='u1@d' name='Bench 1 (renamed)' subscription='both'><group>Bench</group><group>Class 1</group></item>"), now).unwrap();
        assert_eq!((s.added, s.removed, s.changed, s.unexpected), (1, 1, 1, 0));
        assert_eq!(s.roster, sh.plan.roster(0, 2));
        assert_eq!(sh.pushes.load(Ordering::Relaxed), 3);
        assert_eq!((s.not_both, s.without_ver, s.pushes_before), (0, 0, 0));
        // A repeat changes nothing: unexpected.
        s.handle(&sh, &push("<item jid='u2@d' subscription='remove'/>"), now)
            .unwrap();
        assert_eq!(s.unexpected, 1);
    }

    #[test]
    fn pushes_before_the_refresh_are_applied_but_not_sorted() {
        let sh = shared();
        let mut s = UserState::default();
        s.handle(
            &sh,
            &push("<item jid='u3@d' name='Bench 3' subscription='both'/>"),
            Instant::now(),
        )
        .unwrap();
        s.handle(
            &sh,
            &push("<item jid='u3@d' name='Bench 3' subscription='both'/>"),
            Instant::now(),
        )
        .unwrap();
        assert_eq!(s.pushes_before, 2);
        assert_eq!((s.added, s.unexpected), (0, 0));
        assert_eq!(s.roster.len(), 1);
        assert_eq!(sh.pushes.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn presences_are_counted_by_phase() {
        let sh = shared();
        let mut s = UserState::default();
        s.handle(&sh, b"<presence from='u1@d/r'/>", Instant::now())
            .unwrap();
        s.handle(
            &sh,
            b"<presence from='u1@d/r' type='unavailable'/>",
            Instant::now(),
        )
        .unwrap();
        sh.refresh_start.set(Instant::now()).unwrap();
        s.handle(
            &sh,
            b"<presence from='u1@d/r'><show>away</show></presence>",
            Instant::now(),
        )
        .unwrap();
        s.handle(
            &sh,
            b"<presence type='unavailable' from='u1@d/r'/>",
            Instant::now(),
        )
        .unwrap();
        s.handle(&sh, b"<presence type='error' from='u1@d'/>", Instant::now())
            .unwrap();
        assert_eq!((s.available_before, s.unavailable_before), (1, 1));
        assert_eq!(
            (s.available_after, s.unavailable_after, s.other_after),
            (1, 1, 1)
        );
        let reply = s
            .handle(
                &sh,
                b"<iq type='get' id='x'><ping xmlns='urn:xmpp:ping'/></iq>",
                Instant::now(),
            )
            .unwrap();
        assert!(reply.unwrap().contains("service-unavailable"));
        assert!(s
            .handle(
                &sh,
                b"<stream:error><conflict/></stream:error>",
                Instant::now()
            )
            .is_err());
    }
}
