//! Ad-hoc commands (XEP-0050) on the server's domain: the invite commands of
//! XEP-0401, as Prosody's mod_invites_adhoc offers them.
//!
//! - `urn:xmpp:invite#invite` ("Create new contact invite") makes an invite
//!   to become the requester's contact; it also lets the invitee register
//!   here when the requester is an admin or `invites.allow_user_invites` is on.
//! - `urn:xmpp:invite#create-account` ("Create new account invite") makes an
//!   account invite; admins only.
//!
//! Who may see and run which command is the onboarding service's rule
//! (`may_create`); this module only speaks the protocol. Both commands
//! complete in one round trip, so no session state is kept: a `sessionid`
//! from the client can only name a finished command. The result is a
//! `jabber:x:data` form of `type='result'` (as Prosody 0.12.5 and 13 send)
//! with Prosody's fields `landing-url`, `uri` and `expire`. Unlike Prosody,
//! `landing-url` always has a value: our landing page serves contact
//! invites too.

use jid::BareJid;
use rand::RngCore as _;

use super::XmppContext;
use super::disco::{feature_element, identity};
use super::iq::{
    DetailedFuture, IqAnswer, IqError, IqFuture, IqHandler, IqKind, IqRequest, IqTarget,
};
use crate::metrics::InviteCreatedBy;
use crate::services::ServiceError;
use crate::services::onboarding::{UserInviteError, UserInviteRequest};
use crate::xmpp::stanza::StanzaError;
use roost_xml::{Element, ns};

/// XEP-0050's namespace, also its disco node listing the commands.
pub const COMMANDS: &str = "http://jabber.org/protocol/commands";
/// XEP-0004 data forms.
const DATA_FORMS: &str = "jabber:x:data";

const FORBIDDEN_TEXT: &str = "You don't have permission to execute this command";
const NOT_AVAILABLE_TEXT: &str = "This item is not available to you";

/// One command of ours.
struct Command {
    node: &'static str,
    name: &'static str,
    request: UserInviteRequest,
}

/// Sorted by node: disco#items lists them in this order, as Prosody does.
const COMMAND_LIST: [Command; 2] = [
    Command {
        node: "urn:xmpp:invite#create-account",
        name: "Create new account invite",
        request: UserInviteRequest::Account,
    },
    Command {
        node: "urn:xmpp:invite#invite",
        name: "Create new contact invite",
        request: UserInviteRequest::Contact,
    },
];

fn command(node: &str) -> Option<&'static Command> {
    COMMAND_LIST.iter().find(|c| c.node == node)
}

/// The actions of XEP-0050 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Execute,
    Cancel,
    Prev,
    Next,
    Complete,
}

impl Action {
    /// No `action` attribute means execute (XEP-0050 §3.2).
    fn parse(value: Option<&str>) -> Option<Action> {
        Some(match value {
            None | Some("execute") => Action::Execute,
            Some("cancel") => Action::Cancel,
            Some("prev") => Action::Prev,
            Some("next") => Action::Next,
            Some("complete") => Action::Complete,
            Some(_) => return None,
        })
    }
}

pub struct AdhocHandler;

impl IqHandler for AdhocHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("command", COMMANDS)
    }

    fn features(&self) -> &'static [&'static str] {
        &[COMMANDS]
    }

    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move { run(ctx, request).await.map_err(|e| e.error) })
    }

    fn handle_detailed<'a>(
        &'a self,
        ctx: &'a XmppContext,
        request: IqRequest<'a>,
    ) -> DetailedFuture<'a> {
        Box::pin(run(ctx, request))
    }
}

/// Answers one `<command/>`.
async fn run(ctx: &XmppContext, request: IqRequest<'_>) -> Result<Option<Element>, IqError> {
    // Accounts have no commands; an iq to one gets the usual answer.
    let IqTarget::Server(host) = &request.target else {
        return Err(StanzaError::service_unavailable().into());
    };
    if request.kind != IqKind::Set {
        return Err(StanzaError::bad_request()
            .with_text("commands are executed with iq type 'set'")
            .into());
    }
    let payload = request.payload;
    let Some(node) = payload.attr("node") else {
        return Err(StanzaError::bad_request()
            .with_text("a command needs a node")
            .into());
    };
    let Some(command) = command(node) else {
        return Err(StanzaError::item_not_found().into());
    };
    // Permission first, as Prosody does: a refused user learns nothing else.
    if !may_use(ctx, &request.session.jid.to_bare(), host, command).await? {
        return Err(forbidden(command));
    }
    let Some(action) = Action::parse(payload.attr("action")) else {
        return Err(command_error("malformed-action", "unknown action"));
    };
    let session_id = payload.attr("sessionid");
    match (action, session_id) {
        // Nothing is pending, so cancelling always succeeds; a cancel must
        // not create an invite (Prosody's handlers ignore the action).
        (Action::Cancel, _) => Ok(Some(command_reply(
            command,
            "canceled",
            &session_id.map_or_else(new_session_id, str::to_owned),
        ))),
        // Our commands complete at once: any session is over.
        (_, Some(_)) => Err(command_error(
            "bad-sessionid",
            "this command session is unknown or completed",
        )),
        (Action::Prev | Action::Next, None) => Err(command_error(
            "bad-action",
            "a new command is started with 'execute'",
        )),
        // A client that offers to finish at once gets the same as execute.
        (Action::Execute | Action::Complete, None) => {
            let invite = ctx
                .services
                .onboarding
                .create_for_user(&request.session.jid, host, command.request)
                .await
                .map_err(|e| match e {
                    // Permissions changed since the check: still a refusal.
                    UserInviteError::Service(ServiceError::Forbidden(_)) => forbidden(command),
                    UserInviteError::DailyLimit(_) => daily_limit(command, &e.to_string()),
                    UserInviteError::Service(e) => StanzaError::from(e).into(),
                })?;
            ctx.services
                .metrics
                .invites
                .created(InviteCreatedBy::XmppAdhoc);
            let mut reply = command_reply(command, "completed", &new_session_id());
            reply.push_child(result_form(
                &invite.landing_url,
                &invite.uri,
                invite.expires_at,
            ));
            Ok(Some(reply))
        }
    }
}

/// disco#info on `node` of `host`: a command's identity and features, or
/// the command list's identity.
pub async fn disco_info(
    ctx: &XmppContext,
    requester: &BareJid,
    host: &str,
    node: &str,
) -> IqAnswer {
    let mut query = Element::new("query", ns::DISCO_INFO).with_attr("node", node);
    if node == COMMANDS {
        query.push_child(identity("automation", "command-list", "Ad-Hoc Commands"));
        return Ok(Some(query));
    }
    let Some(command) = command(node) else {
        return Err(StanzaError::item_not_found());
    };
    if !may_use(ctx, requester, host, command).await? {
        return Err(StanzaError::forbidden().with_text(NOT_AVAILABLE_TEXT));
    }
    query.push_child(identity("automation", "command-node", command.name));
    query.push_child(feature_element(COMMANDS));
    query.push_child(feature_element(DATA_FORMS));
    Ok(Some(query))
}

/// disco#items on `node` of `host`: on the commands node, the commands the
/// requester may run.
pub async fn disco_items(
    ctx: &XmppContext,
    requester: &BareJid,
    host: &str,
    node: &str,
) -> IqAnswer {
    if node != COMMANDS {
        return Err(StanzaError::item_not_found());
    }
    let mut query = Element::new("query", ns::DISCO_ITEMS).with_attr("node", COMMANDS);
    for command in &COMMAND_LIST {
        if may_use(ctx, requester, host, command).await? {
            query.push_child(
                Element::new("item", ns::DISCO_ITEMS)
                    .with_attr("jid", host)
                    .with_attr("node", command.node)
                    .with_attr("name", command.name),
            );
        }
    }
    Ok(Some(query))
}

async fn may_use(
    ctx: &XmppContext,
    requester: &BareJid,
    host: &str,
    command: &Command,
) -> Result<bool, StanzaError> {
    Ok(ctx
        .services
        .onboarding
        .may_create(requester, host, command.request)
        .await?)
}

/// `<command node=… status=… sessionid=…/>`.
fn command_reply(command: &Command, status: &str, session_id: &str) -> Element {
    Element::new("command", COMMANDS)
        .with_attr("node", command.node)
        .with_attr("status", status)
        .with_attr("sessionid", session_id)
}

/// The refusal Prosody sends: `forbidden` with a text, and the command
/// canceled with the same words as an error note for clients that show
/// only the command.
fn forbidden(command: &Command) -> IqError {
    canceled(command, StanzaError::forbidden(), FORBIDDEN_TEXT)
}

/// A user's daily invites are used up: `resource-constraint`, XEP-0050
/// §4.6's condition for "cannot accommodate new commands at this time"
/// (type `wait`: tomorrow it can), and the command canceled with the
/// reason as an error note, like [`forbidden`].
fn daily_limit(command: &Command, text: &str) -> IqError {
    canceled(command, StanzaError::resource_constraint(), text)
}

/// `error` with `text`, and the command canceled with `text` as its note.
fn canceled(command: &Command, error: StanzaError, text: &str) -> IqError {
    let canceled = Element::new("command", COMMANDS)
        .with_attr("status", "canceled")
        .with_attr("node", command.node)
        .with_child(
            Element::new("note", COMMANDS)
                .with_attr("type", "error")
                .with_text(text),
        );
    IqError {
        error: error.with_text(text),
        condition: None,
        payload: Some(canceled),
    }
}

/// A `bad-request` with one of XEP-0050's conditions (§4.6).
fn command_error(condition: &str, text: &str) -> IqError {
    IqError {
        error: StanzaError::bad_request().with_text(text),
        condition: Some(Element::new(condition, COMMANDS)),
        payload: None,
    }
}

/// The form that carries a created invite, with Prosody's field names.
fn result_form(landing_url: &str, uri: &str, expires_at: i64) -> Element {
    Element::new("x", DATA_FORMS)
        .with_attr("type", "result")
        .with_child(Element::new("title", DATA_FORMS).with_text("Your invite has been created"))
        .with_child(field(
            "landing-url",
            "Invite web page",
            Some("Share this link"),
            landing_url,
        ))
        .with_child(field(
            "uri",
            "Invite URI",
            Some("This alternative link can be opened with some XMPP clients"),
            uri,
        ))
        .with_child(field(
            "expire",
            "Invite valid until",
            None,
            &roost_common::time::xep0082(expires_at),
        ))
}

fn field(var: &str, label: &str, desc: Option<&str>, value: &str) -> Element {
    let mut field = Element::new("field", DATA_FORMS)
        .with_attr("var", var)
        .with_attr("type", "text-single")
        .with_attr("label", label);
    if let Some(desc) = desc {
        field.push_child(Element::new("desc", DATA_FORMS).with_text(desc));
    }
    field.with_child(Element::new("value", DATA_FORMS).with_text(value))
}

/// A fresh random UUID (version 4), the shape of Prosody's session ids.
fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_text(el: &Element) -> String {
        String::from_utf8(el.to_bytes(ns::CLIENT)).unwrap()
    }

    #[test]
    fn result_form_has_prosodys_fields() {
        let form = result_form(
            "https://example.com/invite/T",
            "xmpp:admin@example.com?roster;preauth=T;ibr=y",
            1_700_000_000,
        );
        assert_eq!(
            to_text(&form),
            "<x xmlns='jabber:x:data' type='result'>\
             <title>Your invite has been created</title>\
             <field var='landing-url' type='text-single' label='Invite web page'>\
             <desc>Share this link</desc><value>https://example.com/invite/T</value></field>\
             <field var='uri' type='text-single' label='Invite URI'>\
             <desc>This alternative link can be opened with some XMPP clients</desc>\
             <value>xmpp:admin@example.com?roster;preauth=T;ibr=y</value></field>\
             <field var='expire' type='text-single' label='Invite valid until'>\
             <value>2023-11-14T22:13:20Z</value></field></x>"
        );
    }

    #[test]
    fn forbidden_cancels_the_command_with_a_note() {
        let error = forbidden(command("urn:xmpp:invite#create-account").unwrap());
        assert_eq!(error.error.condition, "forbidden");
        assert_eq!(error.error.text.as_deref(), Some(FORBIDDEN_TEXT));
        assert!(error.condition.is_none());
        let canceled = error.payload.unwrap();
        assert!(canceled.is("command", COMMANDS));
        assert_eq!(canceled.attr("status"), Some("canceled"));
        assert_eq!(
            canceled.attr("node"),
            Some("urn:xmpp:invite#create-account")
        );
        let note = canceled.child("note", COMMANDS).unwrap();
        assert_eq!(note.attr("type"), Some("error"));
        assert_eq!(note.text(), FORBIDDEN_TEXT);
    }

    #[test]
    fn a_used_up_day_cancels_the_command_with_resource_constraint() {
        let error = daily_limit(command("urn:xmpp:invite#invite").unwrap(), "later");
        assert_eq!(error.error.condition, "resource-constraint");
        assert_eq!(error.error.kind, crate::xmpp::stanza::ErrorType::Wait);
        let canceled = error.payload.unwrap();
        assert_eq!(canceled.attr("status"), Some("canceled"));
        assert_eq!(canceled.child("note", COMMANDS).unwrap().text(), "later");
    }

    #[test]
    fn command_errors_carry_xep0050_conditions() {
        let error = command_error("bad-sessionid", "gone");
        assert_eq!(error.error.condition, "bad-request");
        assert_eq!(
            to_text(&error.condition.unwrap()),
            "<bad-sessionid xmlns='http://jabber.org/protocol/commands'/>"
        );
    }

    #[test]
    fn actions() {
        assert_eq!(Action::parse(None), Some(Action::Execute));
        assert_eq!(Action::parse(Some("execute")), Some(Action::Execute));
        assert_eq!(Action::parse(Some("cancel")), Some(Action::Cancel));
        assert_eq!(Action::parse(Some("complete")), Some(Action::Complete));
        assert_eq!(Action::parse(Some("next")), Some(Action::Next));
        assert_eq!(Action::parse(Some("prev")), Some(Action::Prev));
        assert_eq!(Action::parse(Some("Execute")), None);
        assert_eq!(Action::parse(Some("")), None);
    }

    #[test]
    fn commands_are_sorted_by_node() {
        let nodes: Vec<&str> = COMMAND_LIST.iter().map(|c| c.node).collect();
        let mut sorted = nodes.clone();
        sorted.sort_unstable();
        assert_eq!(nodes, sorted);
        assert!(command("urn:xmpp:invite#invite").is_some());
        assert!(command("urn:xmpp:invite").is_none());
    }

    #[test]
    fn session_ids_are_fresh_uuids() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_ne!(a, b);
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{a}");
        assert_eq!(&a[14..15], "4", "version 4: {a}");
    }
}
