//! What the load was told: every write roostd acknowledged, every write in
//! flight when it was killed (its outcome unknown until checked), and every
//! answer that was simply wrong. The checks after each kill compare the
//! database and the restarted server against this.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A registration roostd acknowledged, or one in flight at a kill.
#[derive(Debug, Clone)]
pub struct Registration {
    pub username: String,
    pub password: String,
    pub token: String,
    /// `xmpp` (XEP-0077 with `<preauth/>`) or `web` (the form's POST).
    pub door: &'static str,
}

impl Registration {
    pub fn jid(&self) -> String {
        format!("{}@{}", self.username, crate::HOST)
    }
}

/// What a roster item may be after a kill: its last acknowledged state
/// (`None`: absent), and the states of changes in flight since then.
#[derive(Debug, Clone, Default)]
pub struct ItemModel {
    pub acknowledged: Option<String>,
    pub in_flight: Vec<Option<String>>,
}

impl ItemModel {
    /// Whether `found` (the item's name, `None`: absent) is a state the
    /// item may be in.
    pub fn allows(&self, found: &Option<String>) -> bool {
        self.acknowledged == *found || self.in_flight.contains(found)
    }
}

/// Counts of acknowledged writes, for the report.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Made with the API key, and with an ad-hoc command.
    pub invites: usize,
    pub contact_invites: usize,
    pub registrations_xmpp: usize,
    pub registrations_web: usize,
    pub roster_changes: usize,
    pub offline_messages: usize,
    /// Writes whose answer a kill cut off, and how many of those turned out
    /// to have been made (registrations and messages, which can be told).
    pub in_flight: usize,
    pub in_flight_registrations_made: usize,
    pub in_flight_registrations_not_made: usize,
    pub in_flight_messages_delivered: usize,
    /// Roster items with a change in flight whose state differs from the
    /// acknowledged one afterwards (a change that was made), or not.
    pub in_flight_roster_applied: usize,
    pub in_flight_roster_not_applied: usize,
}

#[derive(Debug, Default)]
pub struct Ledger {
    /// Every token of an invite the API answered 201 for.
    pub tokens: Vec<String>,
    /// Tokens of acknowledged invites nobody has tried to use yet.
    pub unused_tokens: VecDeque<String>,
    /// Tokens acknowledged since the last verification.
    pub new_tokens: Vec<String>,
    /// Token → inviter, for the contact invites (the others are account
    /// invites from the API).
    pub inviters: BTreeMap<String, String>,
    /// Acknowledged registrations, all of them, and those since the last
    /// verification.
    pub registered: Vec<Registration>,
    pub new_registrations: Vec<Registration>,
    /// Registrations sent and not answered before a kill.
    pub registrations_in_flight: Vec<Registration>,
    /// (user, contact) → what the item may be.
    pub roster: BTreeMap<(String, String), ItemModel>,
    /// Recipient → bodies of acknowledged offline messages not delivered yet.
    pub undelivered: BTreeMap<String, BTreeSet<String>>,
    /// Bodies of messages sent and not acknowledged before a kill.
    pub messages_in_flight: BTreeSet<String>,
    /// Bodies of every message delivered so far.
    pub delivered: BTreeSet<String>,
    pub counts: Counts,
    /// Answers that were wrong whatever the kills: the test fails on them.
    pub failures: Vec<String>,
}

impl Ledger {
    pub fn fail(&mut self, what: String) {
        self.failures.push(what);
    }

    /// An invite made with the API key.
    pub fn invite_created(&mut self, token: String) {
        self.counts.invites += 1;
        self.add_token(token);
    }

    /// A contact invite made by `inviter` with an ad-hoc command.
    pub fn contact_invite_created(&mut self, token: String, inviter: &str) {
        self.counts.contact_invites += 1;
        self.inviters.insert(token.clone(), inviter.to_owned());
        self.add_token(token);
    }

    fn add_token(&mut self, token: String) {
        self.tokens.push(token.clone());
        self.new_tokens.push(token.clone());
        self.unused_tokens.push_back(token);
    }

    pub fn take_token(&mut self) -> Option<String> {
        self.unused_tokens.pop_front()
    }

    /// A token taken and not sent to roostd (the connection broke first).
    pub fn give_back_token(&mut self, token: String) {
        self.unused_tokens.push_front(token);
    }

    pub fn registered(&mut self, registration: Registration) {
        match registration.door {
            "web" => self.counts.registrations_web += 1,
            _ => self.counts.registrations_xmpp += 1,
        }
        self.new_registrations.push(registration.clone());
        self.registered.push(registration);
    }

    pub fn registration_in_flight(&mut self, registration: Registration) {
        self.counts.in_flight += 1;
        self.registrations_in_flight.push(registration);
    }

    pub fn roster_changed(&mut self, user: &str, contact: &str, state: Option<String>) {
        self.counts.roster_changes += 1;
        let item = self
            .roster
            .entry((user.to_owned(), contact.to_owned()))
            .or_default();
        item.acknowledged = state;
        item.in_flight.clear();
    }

    pub fn roster_in_flight(&mut self, user: &str, contact: &str, state: Option<String>) {
        self.counts.in_flight += 1;
        self.roster
            .entry((user.to_owned(), contact.to_owned()))
            .or_default()
            .in_flight
            .push(state);
    }

    pub fn message_stored(&mut self, recipient: &str, body: String) {
        self.counts.offline_messages += 1;
        self.undelivered
            .entry(recipient.to_owned())
            .or_default()
            .insert(body);
    }

    pub fn message_in_flight(&mut self, body: String) {
        self.counts.in_flight += 1;
        self.messages_in_flight.insert(body);
    }
}
