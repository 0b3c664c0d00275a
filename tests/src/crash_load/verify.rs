//! The acknowledged writes as the restarted roostd serves them: new
//! accounts log in, new invites open their pages, rosters hold what was
//! acknowledged (or what was in flight), and each recipient's next login
//! delivers every offline message acknowledged for it, once.

use reqwest::StatusCode;
use tokio_xmpp::minidom::Element;

use super::db::Problems;
use super::load::{Cast, PASSWORD, Shared, Target};
use super::stream::XmppStream;

const ROSTER: &str = "jabber:iq:roster";

/// Checks what was acknowledged since the last verification (and the
/// rosters and undelivered messages of all time) against the running
/// roostd; resolves what was in flight to what the server now holds.
pub async fn verify(target: &Target, cast: &Cast, shared: &Shared) -> Problems {
    let mut problems = Vec::new();
    let (registrations, tokens) = {
        let mut ledger = shared.ledger();
        let registrations = std::mem::take(&mut ledger.new_registrations);
        let new_tokens = std::mem::take(&mut ledger.new_tokens);
        // Only those nobody used: a used one no longer opens its page.
        let unused: Vec<String> = new_tokens
            .into_iter()
            .filter(|t| ledger.unused_tokens.contains(t))
            .collect();
        (registrations, unused)
    };
    let inviters = shared.ledger().inviters.clone();
    for registration in &registrations {
        let jid = registration.jid();
        let login = XmppStream::login(&target.c2s, &jid, PASSWORD, "check").await;
        let mut stream = match login {
            Ok(stream) => stream,
            Err(e) => {
                problems.push(format!(
                    "{jid} registered ({}) and cannot log in: {e}",
                    registration.door
                ));
                continue;
            }
        };
        // A contact invite's registration made the two mutual contacts.
        if let Some(inviter) = inviters.get(&registration.token) {
            let items = roster(&mut stream).await;
            let subscription = items.as_ref().map(|items| {
                items
                    .iter()
                    .find(|i| i.attr("jid") == Some(inviter.as_str()))
                    .and_then(|i| i.attr("subscription"))
                    .map(str::to_owned)
            });
            if !matches!(&subscription, Ok(Some(s)) if s == "both") {
                problems.push(format!(
                    "{jid} registered with {inviter}'s contact invite: subscription {subscription:?}"
                ));
            }
        }
    }
    let client = crate::http();
    for token in &tokens {
        let page = client
            .get(format!("{}/invite/{token}", target.http))
            .send()
            .await
            .map(|r| r.status());
        if !matches!(page, Ok(StatusCode::OK)) {
            problems.push(format!("acknowledged invite {token}: page {page:?}"));
        }
    }
    for user in &cast.roster_users {
        problems.extend(verify_roster(target, shared, user).await);
    }
    for recipient in &cast.recipients {
        problems.extend(collect_offline(target, shared, recipient).await);
    }
    problems
}

/// The roster of `user` holds, for each contact, its acknowledged state or
/// a state in flight; what it holds becomes the acknowledged state.
async fn verify_roster(target: &Target, shared: &Shared, user: &str) -> Problems {
    let mut stream = match XmppStream::login(&target.c2s, user, PASSWORD, "check").await {
        Ok(s) => s,
        Err(e) => return vec![format!("{user} cannot log in: {e}")],
    };
    let items: Vec<(String, Option<String>)> = match roster(&mut stream).await {
        Ok(items) => items
            .iter()
            .map(|i| {
                (
                    i.attr("jid").unwrap_or_default().to_owned(),
                    i.attr("name").map(str::to_owned),
                )
            })
            .collect(),
        Err(e) => return vec![format!("roster get of {user}: {e}")],
    };
    let mut problems = Vec::new();
    let mut guard = shared.ledger();
    // Through a plain reference, so that its fields borrow apart.
    let ledger = &mut *guard;
    let known: Vec<String> = ledger
        .roster
        .keys()
        .filter(|(u, _)| u == user)
        .map(|(_, c)| c.clone())
        .collect();
    for (contact, _) in &items {
        if !known.contains(contact) {
            problems.push(format!("{user}'s roster holds {contact}, never added"));
        }
    }
    for contact in known {
        let found = items
            .iter()
            .find(|(c, _)| *c == contact)
            .map(|(_, name)| name.clone().unwrap_or_default());
        let model = ledger
            .roster
            .get_mut(&(user.to_owned(), contact.clone()))
            .expect("known item");
        if !model.allows(&found) {
            problems.push(format!(
                "{user}'s roster item {contact} is {found:?}; acknowledged {:?}, in flight {:?}",
                model.acknowledged, model.in_flight
            ));
        }
        if !model.in_flight.is_empty() {
            if model.acknowledged != found {
                ledger.counts.in_flight_roster_applied += 1;
            } else {
                ledger.counts.in_flight_roster_not_applied += 1;
            }
        }
        model.acknowledged = found;
        model.in_flight.clear();
    }
    problems
}

/// The roster's items, by a roster get.
async fn roster(stream: &mut XmppStream) -> Result<Vec<Element>, String> {
    let answer = stream
        .iq("get", "roster", "<query xmlns='jabber:iq:roster'/>")
        .await?;
    if !answer.is_result() {
        return Err(String::from(&answer.answer));
    }
    Ok(answer
        .answer
        .get_child("query", ROSTER)
        .map(|q| q.children().cloned().collect())
        .unwrap_or_default())
}

/// Logs `recipient` in, becomes available, and reads until every message
/// acknowledged for it has arrived; then closes and takes what else came.
/// Every message must be one that was sent, and none may come twice.
async fn collect_offline(target: &Target, shared: &Shared, recipient: &str) -> Problems {
    let expected = shared
        .ledger()
        .undelivered
        .get(recipient)
        .cloned()
        .unwrap_or_default();
    let mut stream = match XmppStream::login(&target.c2s, recipient, PASSWORD, "check").await {
        Ok(s) => s,
        Err(e) => return vec![format!("{recipient} cannot log in: {e}")],
    };
    let mut received = Vec::new();
    let mut problems = Vec::new();
    let read = async {
        stream.send("<presence/>").await?;
        while !expected
            .iter()
            .all(|body| received.iter().any(|b| b == body))
        {
            let stanza = stream.next_stanza().await?;
            received.extend(body_of(&stanza));
        }
        Ok::<_, String>(())
    }
    .await;
    match read {
        Ok(()) => match stream.close().await {
            Ok(rest) => received.extend(rest.iter().filter_map(body_of)),
            Err(e) => problems.push(format!("{recipient}: closing: {e}")),
        },
        Err(e) => problems.push(format!("{recipient}: reading offline messages: {e}")),
    }
    let mut ledger = shared.ledger();
    for body in &expected {
        if !received.contains(body) {
            problems.push(format!(
                "acknowledged offline message {body} for {recipient} was not delivered"
            ));
        }
    }
    for body in received {
        let pending = ledger
            .undelivered
            .get_mut(recipient)
            .is_some_and(|set| set.remove(&body));
        let was_in_flight = ledger.messages_in_flight.remove(&body);
        if was_in_flight {
            ledger.counts.in_flight_messages_delivered += 1;
        }
        if !ledger.delivered.insert(body.clone()) {
            problems.push(format!("{recipient} got {body} twice"));
        } else if !pending && !was_in_flight {
            problems.push(format!("{recipient} got {body}, never sent to it"));
        }
    }
    problems
}

/// The body of a chat message.
fn body_of(stanza: &Element) -> Option<String> {
    (stanza.name() == "message")
        .then(|| stanza.get_child("body", "jabber:client").map(Element::text))
        .flatten()
}
