//! What roostd counts for its OpenMetrics endpoint (`GET /metrics` on the
//! `[metrics]` listener): one registry, made once in `run()` and shared
//! as an `Arc<Metrics>` through the services, where each front door counts
//! what passes it.
//!
//! The exposition is prometheus-client's, never written by hand. Every
//! label value comes from a fixed set in this code (a mechanism, a door, a
//! stanza kind, a route pattern, a command name, a status code), never
//! from what a client sent, so the number of series is bounded. Counters
//! on the message path are resolved once here ([`Stanzas`]): counting a
//! stanza is one relaxed atomic add, with no label look-up and no lock.
//! Gauges of state (sessions, database size, memory) are read at scrape
//! time from [`Sampled`].

mod listener;
pub(crate) mod process;
mod stanzas;

use std::time::SystemTime;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use roost_sasl::Mechanism;
use roost_sasl::fast::FastMechanism;

use crate::storage::Db;

pub use listener::{bind, serve};
pub use stanzas::{StanzaCounters, Stanzas};

/// The content type of the exposition (OpenMetrics 1.0 text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The mechanism label of a login that named no mechanism we implement.
pub const OTHER_MECHANISM: &str = "other";

/// The route label of an HTTP request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// A label set whose values are all fixed in the code.
type Labels<const N: usize> = [(&'static str, &'static str); N];

/// How a login ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    /// Wrong password or token, unknown account, a malformed or refused
    /// message: any end but success and the limiter's refusal.
    Failure,
    /// Refused by the login limiter (`[auth]` max_failures_*) before any
    /// password was checked.
    Refused,
}

impl LoginOutcome {
    const ALL: [LoginOutcome; 3] = [
        LoginOutcome::Success,
        LoginOutcome::Failure,
        LoginOutcome::Refused,
    ];

    fn label(self) -> &'static str {
        match self {
            LoginOutcome::Success => "success",
            LoginOutcome::Failure => "failure",
            LoginOutcome::Refused => "refused",
        }
    }
}

/// Where an invite was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteCreatedBy {
    /// `roostctl invite create` (the admin socket).
    Admin,
    /// `GET /invites_api` with an API key.
    Api,
    /// An XMPP client's ad-hoc command (XEP-0050).
    XmppAdhoc,
}

/// Where an invite was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteRedeemedBy {
    /// In-band registration (XEP-0077 with `<preauth/>`).
    XmppRegistration,
    /// The web registration form.
    Web,
    /// A subscription request carrying the token (XEP-0379).
    XmppSubscription,
}

/// Counters by door, resolved once.
pub struct InviteCounters {
    created: [Counter; 3],
    redeemed: [Counter; 3],
}

impl InviteCounters {
    pub fn created(&self, by: InviteCreatedBy) {
        self.created[by as usize].inc();
    }

    pub fn redeemed(&self, by: InviteRedeemedBy) {
        self.redeemed[by as usize].inc();
    }
}

/// What is read afresh at each scrape rather than counted as it happens.
pub struct Sampled {
    pub db: Db,
    /// Client connections that have not authenticated yet.
    pub unauthenticated: Box<dyn Fn() -> usize + Send + Sync>,
    /// Bound client sessions (resources), hibernated ones included.
    pub bound: Box<dyn Fn() -> usize + Send + Sync>,
    /// Bound sessions whose connection was lost, waiting to be resumed
    /// (XEP-0198).
    pub hibernated: Box<dyn Fn() -> usize + Send + Sync>,
}

/// Every metric roostd exposes.
pub struct Metrics {
    registry: Registry,
    pub stanzas: Stanzas,
    pub invites: InviteCounters,
    offline_stored: Counter,
    archived: Counter,
    logins: Family<Labels<2>, Counter>,
    http_requests: Family<[(&'static str, String); 2], Counter>,
    admin_commands: Family<[(&'static str, String); 2], Counter>,
    unauthenticated: Gauge,
    bound: Gauge,
    hibernated: Gauge,
    database_size: Gauge,
    resident_memory: Gauge,
}

impl Metrics {
    /// The registry with every metric, the storage thread's job latency
    /// histogram (which `db` observes) among them.
    pub fn new(db: &Db) -> Metrics {
        let mut registry = Registry::default();
        // The process metrics keep their customary names (no prefix), so
        // dashboards made for any exporter show them.
        let start_time = Gauge::<i64>::default();
        start_time.set(unix_seconds(SystemTime::now()));
        registry.register_with_unit(
            "process_start_time",
            "When roostd started, in Unix seconds",
            Unit::Seconds,
            start_time,
        );
        let resident_memory = Gauge::default();
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory of roostd",
            Unit::Bytes,
            resident_memory.clone(),
        );

        let roost = registry.sub_registry_with_prefix("roost");
        let sessions = Family::<Labels<1>, Gauge>::default();
        roost.register(
            "c2s_sessions",
            "Client sessions: unauthenticated (negotiating a stream, TLS or SASL), \
             bound (a resource, after authentication, on a live connection) and \
             hibernated (bound, the connection lost, waiting to be resumed)",
            sessions.clone(),
        );
        let unauthenticated = sessions.get_or_create_owned(&[("state", "unauthenticated")]);
        let bound = sessions.get_or_create_owned(&[("state", "bound")]);
        let hibernated = sessions.get_or_create_owned(&[("state", "hibernated")]);

        let logins = Family::<Labels<2>, Counter>::default();
        roost.register(
            "logins",
            "Logins by SASL mechanism (legacy SASL and SASL2, FAST's HT-* included) and \
             outcome (success, failure, refused by the login limiter)",
            logins.clone(),
        );
        let mechanisms = Mechanism::ALL
            .iter()
            .map(|m| m.name())
            .chain(FastMechanism::ALL.iter().map(|m| m.name()))
            .chain([OTHER_MECHANISM]);
        for mechanism in mechanisms {
            for outcome in LoginOutcome::ALL {
                logins
                    .get_or_create_owned(&[("mechanism", mechanism), ("outcome", outcome.label())]);
            }
        }

        let stanza_family = Family::<Labels<2>, Counter>::default();
        roost.register(
            "stanzas",
            "Stanzas of bound client sessions by direction (in: sent by the client, \
             out: written to it) and kind",
            stanza_family.clone(),
        );
        let stanzas = Stanzas::resolve(&stanza_family);

        let offline_stored = Counter::default();
        roost.register(
            "offline_messages_stored",
            "Messages stored for accounts with no available session",
            offline_stored.clone(),
        );

        let archived = Counter::default();
        roost.register(
            "archive_messages",
            "Message copies handed to the archive (XEP-0313): one per archive \
             that keeps it, so a chat between two accounts counts twice",
            archived.clone(),
        );

        let created = Family::<Labels<1>, Counter>::default();
        roost.register(
            "invites_created",
            "Invites created, by door: admin (roostctl), api (invite API), xmpp_adhoc",
            created.clone(),
        );
        let redeemed = Family::<Labels<1>, Counter>::default();
        roost.register(
            "invites_redeemed",
            "Invites used, by door: xmpp_registration, web, xmpp_subscription",
            redeemed.clone(),
        );
        let invites = InviteCounters {
            created: ["admin", "api", "xmpp_adhoc"]
                .map(|door| created.get_or_create_owned(&[("door", door)])),
            redeemed: ["xmpp_registration", "web", "xmpp_subscription"]
                .map(|door| redeemed.get_or_create_owned(&[("door", door)])),
        };

        let http_requests = Family::default();
        roost.register(
            "http_requests",
            "HTTP requests on the [http] listener by route pattern (unmatched: no route) \
             and status",
            http_requests.clone(),
        );
        let admin_commands = Family::default();
        roost.register(
            "admin_commands",
            "Admin socket requests by command and outcome (ok, or the error kind)",
            admin_commands.clone(),
        );

        roost.register_with_unit(
            "storage_job_duration",
            "Time from queueing a storage job to its answer (transaction committed)",
            Unit::Seconds,
            db.job_latency(),
        );
        let database_size = Gauge::default();
        roost.register_with_unit(
            "database_size",
            "The database on disk: file, write-ahead log and shared-memory index",
            Unit::Bytes,
            database_size.clone(),
        );

        Metrics {
            registry,
            stanzas,
            invites,
            offline_stored,
            archived,
            logins,
            http_requests,
            admin_commands,
            unauthenticated,
            bound,
            hibernated,
            database_size,
            resident_memory,
        }
    }

    /// One login that ended. `mechanism` is one of ours (`Mechanism::name`,
    /// `FastMechanism::name`) or [`OTHER_MECHANISM`].
    pub fn login(&self, mechanism: &'static str, outcome: LoginOutcome) {
        self.logins
            .get_or_create(&[("mechanism", mechanism), ("outcome", outcome.label())])
            .inc();
    }

    pub fn offline_message_stored(&self) {
        self.offline_stored.inc();
    }

    /// A message copy queued for an account's archive.
    pub fn archive_message(&self) {
        self.archived.inc();
    }

    /// One HTTP request answered. `route` is a route pattern of the
    /// router (or [`UNMATCHED_ROUTE`]), never the path asked for.
    pub fn http_request(&self, route: &str, status: u16) {
        self.http_requests
            .get_or_create(&[("route", route.to_owned()), ("status", status.to_string())])
            .inc();
    }

    /// One admin request answered. `command` is the request's name on the
    /// wire; `outcome` `ok` or the error kind's.
    pub fn admin_command(&self, command: &'static str, outcome: &str) {
        self.admin_commands
            .get_or_create(&[
                ("command", command.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    /// The exposition, with the sampled gauges read now.
    pub fn render(&self, sampled: &Sampled) -> String {
        self.unauthenticated
            .set(gauge_value((sampled.unauthenticated)()));
        let hibernated = (sampled.hibernated)();
        let bound = (sampled.bound)().saturating_sub(hibernated);
        self.bound.set(gauge_value(bound));
        self.hibernated.set(gauge_value(hibernated));
        self.database_size
            .set(gauge_value(sampled.db.size_on_disk()));
        if let Some(rss) = process::resident_bytes() {
            self.resident_memory.set(gauge_value(rss));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

fn gauge_value(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| gauge_value(d.as_secs()))
}

#[cfg(test)]
mod tests;
