//! The load a kill interrupts: clients that create invites over HTTP with
//! an API key and with an admin's XEP-0401 ad-hoc command, register with
//! those invites (in-band and through the web form), change their rosters
//! and send messages to offline accounts, each
//! writing down in the [`Ledger`] what roostd acknowledged and what was
//! still in flight when the connection broke. A worker stops at its first
//! broken connection (roostd was killed) and never retries: a retry would
//! blur which attempt a write belongs to.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use reqwest::StatusCode;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::ledger::{Ledger, Registration};
use super::stream::{XmppStream, error_condition};

/// The password of every account in this test.
pub const PASSWORD: &str = "kill nine password";

/// Contacts the roster workers add and remove: few, so that the same items
/// are changed again and again.
const CONTACTS: usize = 6;

/// Where the load goes.
#[derive(Clone)]
pub struct Target {
    pub c2s: String,
    /// `http://127.0.0.1:PORT`
    pub http: String,
    /// `ID/SECRET` of an API key for the invites API.
    pub api_key: String,
}

/// The accounts made before the load: an admin who makes contact invites
/// over XMPP, who edits rosters, who sends, who receives (and is never
/// online while the load runs).
#[derive(Clone)]
pub struct Cast {
    pub inviter: String,
    pub roster_users: Vec<String>,
    pub senders: Vec<String>,
    pub recipients: Vec<String>,
}

/// How many workers of each kind run at once.
pub const INVITE_CREATORS: usize = 2;
pub const XMPP_REGISTRARS: usize = 3;
pub const WEB_REGISTRARS: usize = 2;

/// Most acknowledged invites left unused before the invite creators wait
/// for the registrars: without a bound they make fifteen for each one
/// used, and checking those would take most of the run.
const MAX_UNUSED_TOKENS: usize = 16;

/// What the workers share: the ledger, and wake-ups for registrars waiting
/// for a token and creators waiting for one to be used.
#[derive(Default)]
pub struct Shared {
    ledger: Mutex<Ledger>,
    token_added: Notify,
    token_taken: Notify,
}

impl Shared {
    pub fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next unused acknowledged token; `None` once roostd was killed.
    async fn wait_token(&self, killed: &mut watch::Receiver<bool>) -> Option<String> {
        loop {
            let added = self.token_added.notified();
            tokio::pin!(added);
            added.as_mut().enable();
            if *killed.borrow() {
                return None;
            }
            let token = self.ledger().take_token();
            if let Some(token) = token {
                self.token_taken.notify_waiters();
                return Some(token);
            }
            tokio::select! {
                () = added => {}
                _ = killed.changed() => {}
            }
        }
    }

    /// Waits until fewer than [`MAX_UNUSED_TOKENS`] are unused; `false`
    /// once roostd was killed.
    async fn wait_for_room(&self, killed: &mut watch::Receiver<bool>) -> bool {
        loop {
            let taken = self.token_taken.notified();
            tokio::pin!(taken);
            taken.as_mut().enable();
            if *killed.borrow() {
                return false;
            }
            if self.ledger().unused_tokens.len() < MAX_UNUSED_TOKENS {
                return true;
            }
            tokio::select! {
                () = taken => {}
                _ = killed.changed() => {}
            }
        }
    }
}

/// One worker's identity within a round: names and RNG derive from it.
#[derive(Clone, Copy)]
struct Worker {
    round: usize,
    index: usize,
}

impl Worker {
    fn rng(self, seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed ^ ((self.round as u64) << 32) ^ self.index as u64)
    }

    fn name(self, kind: char, n: usize) -> String {
        format!("{kind}{}w{}n{n}", self.round, self.index)
    }
}

/// Starts every worker of `round`; they run until `killed` is set or their
/// connection breaks.
pub fn start(
    round: usize,
    seed: u64,
    target: &Target,
    cast: &Cast,
    shared: &Arc<Shared>,
    killed: &watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut workers = JoinSet::new();
    let mut index = 0;
    let mut next = || {
        index += 1;
        Worker { round, index }
    };
    for _ in 0..INVITE_CREATORS {
        workers.spawn(create_invites(
            target.clone(),
            shared.clone(),
            killed.clone(),
        ));
    }
    workers.spawn(create_contact_invites(
        cast.inviter.clone(),
        target.clone(),
        shared.clone(),
        killed.clone(),
    ));
    for _ in 0..XMPP_REGISTRARS {
        workers.spawn(register_in_band(
            next(),
            target.clone(),
            shared.clone(),
            killed.clone(),
        ));
    }
    for _ in 0..WEB_REGISTRARS {
        workers.spawn(register_on_the_web(
            next(),
            target.clone(),
            shared.clone(),
            killed.clone(),
        ));
    }
    for user in &cast.roster_users {
        let worker = next();
        workers.spawn(edit_roster(
            worker,
            worker.rng(seed),
            user.clone(),
            target.clone(),
            shared.clone(),
            killed.clone(),
        ));
    }
    for sender in &cast.senders {
        let worker = next();
        workers.spawn(send_offline(
            worker,
            worker.rng(seed),
            sender.clone(),
            cast.recipients.clone(),
            target.clone(),
            shared.clone(),
            killed.clone(),
        ));
    }
    workers
}

fn http_client() -> reqwest::Client {
    crate::http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

/// `GET /invites_api` with the key, again and again: a 201 is an
/// acknowledged invite.
async fn create_invites(target: Target, shared: Arc<Shared>, mut killed: watch::Receiver<bool>) {
    let client = http_client();
    while shared.wait_for_room(&mut killed).await {
        let sent = client
            .get(format!("{}/invites_api", target.http))
            .bearer_auth(&target.api_key)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                if !e.is_connect() {
                    shared.ledger().counts.in_flight += 1;
                }
                return;
            }
        };
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        match (status, location) {
            (StatusCode::CREATED, Some(location)) => {
                let token = location.rsplit('/').next().unwrap_or_default().to_owned();
                shared.ledger().invite_created(token);
                shared.token_added.notify_waiters();
            }
            (status, _) => {
                let body = response.text().await.unwrap_or_default();
                shared
                    .ledger()
                    .fail(format!("invites API answered {status}: {body}"));
                return;
            }
        }
    }
}

/// XEP-0401 ad-hoc commands of an admin: each completed command is an
/// acknowledged invite that registers its holder and makes them mutual
/// contacts of the inviter (in the registration's storage job).
async fn create_contact_invites(
    inviter: String,
    target: Target,
    shared: Arc<Shared>,
    mut killed: watch::Receiver<bool>,
) {
    let Ok(mut stream) = XmppStream::login(&target.c2s, &inviter, PASSWORD, "invites").await else {
        return;
    };
    let mut n = 0;
    while shared.wait_for_room(&mut killed).await {
        n += 1;
        let id = format!("invite{n}");
        let command = format!(
            "<iq type='set' id='{id}' to='{}'><command xmlns='http://jabber.org/protocol/commands' \
             node='urn:xmpp:invite#invite' action='execute'/></iq>",
            crate::HOST
        );
        let answer = match stream.send(&command).await {
            Ok(()) => stream.answer_to(&id).await,
            Err(e) => Err(e),
        };
        let Ok(answer) = answer else {
            shared.ledger().counts.in_flight += 1;
            return;
        };
        let token = answer
            .answer
            .get_child("command", "http://jabber.org/protocol/commands")
            .filter(|c| c.attr("status") == Some("completed"))
            .and_then(|c| c.get_child("x", "jabber:x:data"))
            .and_then(|x| {
                x.children()
                    .find(|f| f.attr("var") == Some("uri"))
                    .and_then(|f| f.get_child("value", "jabber:x:data"))
                    .map(|v| v.text())
            })
            .and_then(|uri| {
                uri.split(';')
                    .find_map(|p| p.strip_prefix("preauth="))
                    .map(str::to_owned)
            });
        match token {
            Some(token) => {
                shared.ledger().contact_invite_created(token, &inviter);
                shared.token_added.notify_waiters();
            }
            None => {
                shared.ledger().fail(format!(
                    "invite command of {inviter} not completed: {}",
                    String::from(&answer.answer)
                ));
                return;
            }
        }
    }
}

/// XEP-0077 registration with `<preauth/>`, one new stream per account.
async fn register_in_band(
    worker: Worker,
    target: Target,
    shared: Arc<Shared>,
    mut killed: watch::Receiver<bool>,
) {
    for n in 0.. {
        let Some(token) = shared.wait_token(&mut killed).await else {
            return;
        };
        let Ok(mut stream) = XmppStream::connect_tls(&target.c2s).await else {
            shared.ledger().give_back_token(token);
            return;
        };
        let preauth = format!("<preauth xmlns='urn:xmpp:pars:0' token='{token}'/>");
        match stream.iq("set", "p", &preauth).await {
            Ok(answer) if answer.is_result() => {}
            Ok(answer) => {
                shared.ledger().fail(format!(
                    "an acknowledged invite was refused: {token}: {}",
                    String::from(&answer.answer)
                ));
                continue;
            }
            Err(_) => {
                shared.ledger().give_back_token(token);
                return;
            }
        }
        let registration = Registration {
            username: worker.name('x', n),
            password: PASSWORD.to_owned(),
            token,
            door: "xmpp",
        };
        let query = format!(
            "<query xmlns='jabber:iq:register'><username>{}</username><password>{}</password></query>",
            registration.username, registration.password
        );
        match stream.iq("set", "r", &query).await {
            Ok(answer) if answer.is_result() => shared.ledger().registered(registration),
            Ok(answer) => shared.ledger().fail(format!(
                "registration of {} refused: {}",
                registration.username,
                String::from(&answer.answer)
            )),
            Err(_) => {
                shared.ledger().registration_in_flight(registration);
                return;
            }
        }
    }
}

/// The web form: GET for its CSRF cookie and field, then POST.
async fn register_on_the_web(
    worker: Worker,
    target: Target,
    shared: Arc<Shared>,
    mut killed: watch::Receiver<bool>,
) {
    let client = http_client();
    for n in 0.. {
        let Some(token) = shared.wait_token(&mut killed).await else {
            return;
        };
        let url = format!("{}/invite/{token}/register", target.http);
        let form = match client.get(&url).send().await {
            Ok(r) if r.status() == StatusCode::OK => r,
            Ok(r) => {
                let status = r.status();
                shared
                    .ledger()
                    .fail(format!("the form of an acknowledged invite: {status}"));
                continue;
            }
            Err(_) => {
                shared.ledger().give_back_token(token);
                return;
            }
        };
        let cookie = form
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("roost_csrf="))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let Ok(html) = form.text().await else {
            shared.ledger().give_back_token(token);
            return;
        };
        let csrf = html
            .split_once("name=\"csrf\" value=\"")
            .and_then(|(_, rest)| rest.split('"').next())
            .map(str::to_owned);
        let (Some(cookie), Some(csrf)) = (cookie, csrf) else {
            shared
                .ledger()
                .fail(format!("no CSRF cookie or field on {url}"));
            continue;
        };
        let registration = Registration {
            username: worker.name('h', n),
            password: PASSWORD.to_owned(),
            token,
            door: "web",
        };
        let posted = client
            .post(&url)
            .header("cookie", cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("user", &registration.username),
                ("password", &registration.password),
                ("password2", &registration.password),
            ])
            .send()
            .await;
        let response = match posted {
            Ok(r) => r,
            Err(_) => {
                shared.ledger().registration_in_flight(registration);
                return;
            }
        };
        // The status line comes only after the account was committed: a
        // 200 is the acknowledgement, even if the page is then cut off.
        let status = response.status();
        let html = response.text().await;
        if status == StatusCode::OK {
            if html.as_ref().is_ok_and(|h| !h.contains("is ready")) {
                shared.ledger().fail(format!(
                    "web registration of {} answered 200 without success: {html:?}",
                    registration.username
                ));
            }
            shared.ledger().registered(registration);
        } else {
            shared.ledger().fail(format!(
                "web registration of {} answered {status}: {html:?}",
                registration.username
            ));
        }
    }
}

/// Roster sets (a new name each time) and removes on a few contacts.
async fn edit_roster(
    worker: Worker,
    mut rng: StdRng,
    user: String,
    target: Target,
    shared: Arc<Shared>,
    killed: watch::Receiver<bool>,
) {
    let Ok(mut stream) = XmppStream::login(&target.c2s, &user, PASSWORD, "roster").await else {
        return;
    };
    for n in 0.. {
        if *killed.borrow() {
            return;
        }
        let contact = format!("contact{}@remote.example", rng.random_range(0..CONTACTS));
        let state = rng.random_bool(0.7).then(|| worker.name('n', n));
        let item = match &state {
            Some(name) => format!("<item jid='{contact}' name='{name}'><group>g{n}</group></item>"),
            None => format!("<item jid='{contact}' subscription='remove'/>"),
        };
        let query = format!("<query xmlns='jabber:iq:roster'>{item}</query>");
        match stream.iq("set", &format!("r{n}"), &query).await {
            Ok(answer)
                if answer.is_result()
                    || (state.is_none()
                        && answer.condition().as_deref() == Some("item-not-found")) =>
            {
                shared.ledger().roster_changed(&user, &contact, state);
            }
            Ok(answer) => shared.ledger().fail(format!(
                "roster set of {user} refused: {}",
                String::from(&answer.answer)
            )),
            Err(_) => {
                shared.ledger().roster_in_flight(&user, &contact, state);
                return;
            }
        }
    }
}

/// Chat messages to accounts that are offline, each followed by a ping on
/// the same stream. roostd handles one stream's stanzas in order and
/// answers the ping only after the message was stored (or bounced, with
/// the bounce queued first): a ping answer with no bounce before it is the
/// acknowledgement.
async fn send_offline(
    worker: Worker,
    mut rng: StdRng,
    sender: String,
    recipients: Vec<String>,
    target: Target,
    shared: Arc<Shared>,
    killed: watch::Receiver<bool>,
) {
    let Ok(mut stream) = XmppStream::login(&target.c2s, &sender, PASSWORD, "sender").await else {
        return;
    };
    for n in 0.. {
        if *killed.borrow() {
            return;
        }
        let to = &recipients[rng.random_range(0..recipients.len())];
        let body = worker.name('m', n);
        let message = format!(
            "<message type='chat' to='{to}' id='{body}'><body>{body}</body></message>\
             <iq type='get' id='ping{n}'><ping xmlns='urn:xmpp:ping'/></iq>"
        );
        let answer = match stream.send(&message).await {
            Ok(()) => stream.answer_to(&format!("ping{n}")).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(answer) => {
                let bounce = answer.before.iter().find(|s| {
                    s.name() == "message"
                        && s.attr("type") == Some("error")
                        && s.attr("id") == Some(body.as_str())
                });
                match bounce {
                    None => shared.ledger().message_stored(to, body),
                    Some(bounce) => shared.ledger().fail(format!(
                        "message {body} to {to} bounced ({:?}): {}",
                        error_condition(bounce),
                        String::from(bounce)
                    )),
                }
            }
            Err(_) => {
                shared.ledger().message_in_flight(body);
                return;
            }
        }
    }
}
