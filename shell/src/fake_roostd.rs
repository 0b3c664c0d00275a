//! A stand-in for roostd's admin socket, for tests (here and, through the
//! `test-support` feature, in `roostctl`): a real
//! `UnixListener` on a temporary path, served by a thread that answers each
//! request as the test's closure decides and records what it was sent.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;

use roost_common::admin::{
    AdminError, ApiKeyInfo, ClientAuth, ClientInfo, ErrorKind, InviteInfo, InviteStatus,
    InviteType, Outcome, PROTOCOL_VERSION, RedemptionInfo, Reply, Request, RequestFrame,
    ResponseFrame, Role, RosterInfo, RosterItemInfo, RosterRefreshFailure, UserInfo,
};
use roost_common::frame;

/// What the fake does with one request.
pub enum Action {
    Answer(Outcome),
    /// Answers, then closes the connection, as a restarting roostd would.
    AnswerAndClose(Outcome),
    /// Sends these bytes as the answer, for malformed-frame tests.
    Raw(Vec<u8>),
    /// Closes the connection without answering.
    Close,
}

pub struct FakeRoostd {
    pub path: PathBuf,
    /// Every request received, with the number of the connection (from 1)
    /// it came on.
    pub received: Arc<Mutex<Vec<(usize, RequestFrame)>>>,
    _dir: tempfile::TempDir,
}

impl FakeRoostd {
    pub fn start(mut decide: impl FnMut(&Request) -> Action + Send + 'static) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roostd.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        // The thread outlives the test's interest in it; it dies with the
        // test process, blocked in accept.
        thread::spawn(move || {
            for (number, stream) in (1..).zip(listener.incoming()) {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let request: RequestFrame = frame::decode(line.as_bytes()).unwrap();
                    line.clear();
                    let action = decide(&request.request);
                    log.lock().unwrap().push((number, request.clone()));
                    let answer = |outcome| {
                        frame::encode(&ResponseFrame {
                            v: PROTOCOL_VERSION,
                            id: request.id,
                            outcome,
                        })
                    };
                    let (bytes, then_close) = match action {
                        Action::Answer(outcome) => (answer(outcome), false),
                        Action::AnswerAndClose(outcome) => (answer(outcome), true),
                        Action::Raw(bytes) => (bytes, false),
                        Action::Close => break,
                    };
                    if stream.write_all(&bytes).is_err() || then_close {
                        break;
                    }
                }
            }
        });
        FakeRoostd {
            path,
            received,
            _dir: dir,
        }
    }

    /// A fake that answers every request with this reply.
    pub fn replying(reply: Reply) -> Self {
        FakeRoostd::start(move |_| Action::Answer(Outcome::Ok(reply.clone())))
    }

    pub fn requests(&self) -> Vec<Request> {
        let log = self.received.lock().unwrap();
        log.iter().map(|(_, frame)| frame.request.clone()).collect()
    }

    pub fn connection_numbers(&self) -> Vec<usize> {
        let log = self.received.lock().unwrap();
        log.iter().map(|(number, _)| *number).collect()
    }
}

pub fn refusal(kind: ErrorKind, message: &str) -> Action {
    Action::Answer(Outcome::Error(AdminError::new(kind, message)))
}

/// Two keys in the shapes the tests format: one with every field set, one
/// with none of the optional ones.
pub fn sample_keys() -> Vec<ApiKeyInfo> {
    vec![
        ApiKeyInfo {
            id: "k1a2b3".into(),
            host: "example.com".into(),
            name: Some("signup page".into()),
            created_at: 1_700_000_000,
            expires_at: Some(1_700_604_800),
            last_used_at: Some(1_700_003_600),
            invites_created: 12,
        },
        ApiKeyInfo {
            id: "z9y8x7".into(),
            host: "example.com".into(),
            name: None,
            created_at: 1_600_000_000,
            expires_at: None,
            last_used_at: None,
            invites_created: 0,
        },
    ]
}

/// Two pending invites, oldest first as roostd lists them: an admin's
/// single-use account invite, unused, and an API key's unlimited contact
/// invite, used twice.
pub fn sample_invites() -> Vec<InviteInfo> {
    vec![
        InviteInfo {
            id: 3,
            kind: InviteType::Account,
            creator: "admin".into(),
            created_at: 1_600_000_000,
            expires_at: 1_600_604_800,
            uses_left: Some(1),
            status: InviteStatus::Pending,
            inviter: None,
            redemptions: Vec::new(),
        },
        InviteInfo {
            id: 12,
            kind: InviteType::Contact,
            creator: "api/token/k1a2b3".into(),
            created_at: 1_700_000_000,
            expires_at: 1_700_086_400,
            uses_left: None,
            status: InviteStatus::Pending,
            inviter: Some("bob@example.com".into()),
            redemptions: vec![
                RedemptionInfo {
                    jid: "carol@example.com".into(),
                    redeemed_at: 1_700_003_600,
                },
                RedemptionInfo {
                    jid: "dave@example.com".into(),
                    redeemed_at: 1_700_007_200,
                },
            ],
        },
    ]
}

/// A used-up invite, as `invite list --all` and `invite show` add them:
/// a user's account-and-contact invite, redeemed once.
pub fn sample_used_invite() -> InviteInfo {
    InviteInfo {
        id: 7,
        kind: InviteType::Both,
        creator: "erin@example.com/phone".into(),
        created_at: 1_650_000_000,
        expires_at: 1_650_604_800,
        uses_left: Some(0),
        status: InviteStatus::Used,
        inviter: Some("erin@example.com".into()),
        redemptions: vec![RedemptionInfo {
            jid: "frank@example.com".into(),
            redeemed_at: 1_650_001_234,
        }],
    }
}

/// Two accounts, a user and an admin, in JID order as roostd lists them.
pub fn sample_users() -> Vec<UserInfo> {
    vec![
        UserInfo {
            jid: "alice@example.com".into(),
            role: Role::User,
            created_at: 1_700_000_000,
        },
        UserInfo {
            jid: "root@example.com".into(),
            role: Role::Admin,
            created_at: 1_600_000_000,
        },
    ]
}

/// Three clients of alice@example.com, oldest use first as roostd lists
/// them: an app that knows the password and holds a FAST token, connected;
/// one with a FAST token only, offline; and a legacy client known by its
/// resource, connected, with neither software nor device.
pub fn sample_clients() -> Vec<ClientInfo> {
    vec![
        ClientInfo {
            id: "client/7lQ6PFduJt".into(),
            software: None,
            device: None,
            first_seen: 1_699_990_000,
            last_seen: 1_699_996_400,
            auth: vec![ClientAuth::Password],
            connected: true,
            jid: Some("alice@example.com/laptop".into()),
            legacy: true,
        },
        ClientInfo {
            id: "client/d4565fa7-4c79-4f4e-b8d2-1f0d9e3b2a10".into(),
            software: Some("Conversations/2.16".into()),
            device: Some("Pixel 8".into()),
            first_seen: 1_700_000_000,
            last_seen: 1_700_003_600,
            auth: vec![ClientAuth::Password, ClientAuth::Fast],
            connected: true,
            jid: Some("alice@example.com/Conversations.x1Y2".into()),
            legacy: false,
        },
        ClientInfo {
            id: "client/mVq3-Yk2".into(),
            software: Some("xmpp.js".into()),
            device: None,
            first_seen: 1_700_000_100,
            last_seen: 1_700_007_200,
            auth: vec![ClientAuth::Fast],
            connected: false,
            jid: None,
            legacy: false,
        },
    ]
}

/// The delegated roster of ann@school.example, fetched once, by contact JID
/// as roostd lists it: a teacher with a name and two groups (one with a
/// comma), a classmate without a name in no group, and (as a local roster
/// could have, shown here to cover every column) a contact with a pending
/// request and a pre-approval.
pub fn sample_roster() -> RosterInfo {
    let item =
        |jid: &str, name: Option<&str>, subscription: &str, groups: &[&str]| RosterItemInfo {
            jid: jid.into(),
            name: name.map(Into::into),
            subscription: subscription.into(),
            ask: false,
            approved: false,
            groups: groups.iter().map(|g| (*g).into()).collect(),
        };
    let mut pending = item("zoe@example.org", Some("Zoë"), "none", &["Friends"]);
    pending.ask = true;
    pending.approved = true;
    RosterInfo {
        jid: "ann@school.example".into(),
        delegated: true,
        fetched_at: Some(1_700_000_000),
        version: 7,
        items: vec![
            item(
                "bo@school.example",
                Some("Mr Bo"),
                "both",
                &["Teachers", "Class 4b, Maths"],
            ),
            item("cy@school.example", None, "both", &[]),
            pending,
        ],
    }
}

/// A refresh of three JIDs of which one failed.
pub fn sample_refresh_failures() -> Vec<RosterRefreshFailure> {
    vec![RosterRefreshFailure {
        jid: "cy@school.example".into(),
        reason: "the roster service answered 500 Internal Server Error".into(),
    }]
}
