//! Password guessing against the real roostd: the per-account and
//! per-address tiers of the login limiter, attempts counted when they
//! start (parallel connections get no more guesses than one), and SCRAM
//! answers for unknown users that do not tell them from real ones, even
//! across a restart.

use std::os::unix::fs::PermissionsExt as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use roost_tests::raw::{RawClient, tls_stream};
use roost_tests::{HOST, Server};

const PASSWORD: &str = "correct horse";

fn server_with(users: &[&str], auth: &str) -> Server {
    let server = Server::start_auth(auth);
    for user in users {
        server.create_user(&format!("{user}@{HOST}"), PASSWORD);
    }
    server
}

/// One PLAIN attempt on an open TLS stream; returns the answer.
async fn plain_login(client: &mut RawClient, user: &str, password: &str) -> String {
    let credentials = STANDARD.encode(format!("\0{user}\0{password}"));
    client
        .send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>"
        ))
        .await;
    client.read_until_any(&["<success", "</failure>"]).await
}

/// A new connection's PLAIN attempt.
async fn plain_login_once(server: &Server, user: &str, password: &str) -> String {
    let (mut client, _) = tls_stream(server).await;
    plain_login(&mut client, user, password).await
}

/// Sends SCRAM-SHA-1's client-first message for `user`; returns the
/// server's answer (a challenge or a failure) and the client, whose
/// exchange stays open.
async fn scram_first(server: &Server, user: &str) -> (String, RawClient) {
    let (mut client, _) = tls_stream(server).await;
    let first = STANDARD.encode(format!("n,,n={user},r=fyko+d2lbbFgONRv9qkxdawL"));
    client
        .send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>{first}</auth>"
        ))
        .await;
    let answer = client.read_until_any(&["</challenge>", "</failure>"]).await;
    (answer, client)
}

/// (salt, iteration count) shown for `user`.
async fn probe(server: &Server, user: &str) -> (String, String) {
    salt_and_iterations(&scram_first(server, user).await.0)
}

/// (salt, iteration count) of a server-first message in a `<challenge>`.
fn salt_and_iterations(answer: &str) -> (String, String) {
    let payload = answer
        .rsplit_once("</challenge>")
        .and_then(|(before, _)| before.rsplit_once('>'))
        .map(|(_, payload)| payload)
        .unwrap_or_else(|| panic!("no challenge: {answer}"));
    let server_first = String::from_utf8(STANDARD.decode(payload).unwrap()).unwrap();
    let field = |name: &str| {
        server_first
            .split(',')
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {server_first}"))
            .to_owned()
    };
    (field("s="), field("i="))
}

#[tokio::test]
async fn parallel_connections_get_no_more_guesses_than_one() {
    let server = server_with(&["alice", "bob"], "");
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(tls_stream(&server).await.0);
    }
    // All eight guesses are sent before any answer is read.
    let credentials = STANDARD.encode("\0alice\0wrong");
    for client in &mut clients {
        client
            .send(&format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>"
            ))
            .await;
    }
    let mut answers = Vec::new();
    for client in &mut clients {
        answers.push(client.read_until_any(&["<success", "</failure>"]).await);
    }
    let guessed = answers
        .iter()
        .filter(|a| a.contains("<not-authorized/>"))
        .count();
    let refused = answers
        .iter()
        .filter(|a| a.contains("<temporary-auth-failure/>"))
        .count();
    assert_eq!(
        (guessed, refused),
        (5, 3),
        "5 failures per account and address: {answers:#?}"
    );
    // Another account's right password from the same address still works.
    let answer = plain_login_once(&server, "bob", PASSWORD).await;
    assert!(answer.contains("<success"), "{answer}");
}

/// Sends a client-final message with a wrong proof for the challenge in
/// `answer`.
async fn send_wrong_proof(client: &mut RawClient, answer: &str) {
    let payload = answer
        .rsplit_once("</challenge>")
        .and_then(|(before, _)| before.rsplit_once('>'))
        .map(|(_, payload)| payload)
        .unwrap_or_else(|| panic!("no challenge: {answer}"));
    let server_first = String::from_utf8(STANDARD.decode(payload).unwrap()).unwrap();
    let nonce = server_first
        .split(',')
        .find_map(|f| f.strip_prefix("r="))
        .expect("a nonce");
    let proof = STANDARD.encode([0u8; 20]);
    let last = STANDARD.encode(format!("c=biws,r={nonce},p={proof}"));
    client
        .send(&format!(
            "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{last}</response>"
        ))
        .await;
}

#[tokio::test]
async fn scram_proofs_count_and_open_exchanges_hold_nothing() {
    let server = server_with(&["alice"], "max_failures_per_account = 3\n");
    // Five exchanges left open after the challenge lock nothing: the right
    // password still logs in meanwhile.
    let mut open = Vec::new();
    for _ in 0..5 {
        let (answer, client) = scram_first(&server, "alice").await;
        salt_and_iterations(&answer);
        open.push((answer, client));
    }
    let answer = plain_login_once(&server, "alice", PASSWORD).await;
    assert!(
        answer.contains("<success"),
        "stalled exchanges locked alice out: {answer}"
    );
    // Their wrong proofs, all sent before any answer is read, count as
    // guesses: three are tested, the others refused.
    for (answer, client) in &mut open {
        send_wrong_proof(client, answer).await;
    }
    let mut answers = Vec::new();
    for (_, client) in &mut open {
        answers.push(client.read_until_any(&["<success", "</failure>"]).await);
    }
    let tested = answers
        .iter()
        .filter(|a| a.contains("<not-authorized/>"))
        .count();
    let refused = answers
        .iter()
        .filter(|a| a.contains("<temporary-auth-failure/>"))
        .count();
    assert_eq!((tested, refused), (3, 2), "{answers:#?}");
    // Now the pair is locked, the right password included.
    let answer = plain_login_once(&server, "alice", PASSWORD).await;
    assert!(answer.contains("<temporary-auth-failure/>"), "{answer}");
}

#[tokio::test]
async fn a_sweep_over_many_names_hits_the_address_budget() {
    let server = server_with(
        &["carol", "dave"],
        "max_failures_per_address = 6\nmax_failures_per_account = 3\n",
    );
    let (mut client, _) = tls_stream(&server).await;
    // carol has logged in from this address before.
    assert!(
        plain_login(&mut client, "carol", PASSWORD)
            .await
            .contains("<success")
    );
    let (mut client, _) = tls_stream(&server).await;
    let mut refused = None;
    for i in 0..10 {
        let answer = plain_login(&mut client, &format!("user{i}"), "guess").await;
        if answer.contains("<temporary-auth-failure/>") {
            refused = Some(i);
            break;
        }
        assert!(answer.contains("<not-authorized/>"), "{answer}");
    }
    assert_eq!(refused, Some(6), "the address budget is 6 failures");
    // A trusted account is not stopped by the budget...
    let answer = plain_login(&mut client, "carol", PASSWORD).await;
    assert!(answer.contains("<success"), "{answer}");
    // ...one new to this address waits like any other name.
    let answer = plain_login_once(&server, "dave", PASSWORD).await;
    assert!(answer.contains("<temporary-auth-failure/>"), "{answer}");
}

#[tokio::test]
async fn unknown_users_salts_survive_a_restart_and_look_real() {
    // No limits: this test asks many times.
    let mut server = server_with(
        &["alice"],
        "max_failures_per_account = 0\nmax_failures_per_address = 0\n",
    );
    let (alice_salt, alice_iterations) = probe(&server, "alice").await;
    let (ghost_salt, ghost_iterations) = probe(&server, "ghost").await;
    assert_eq!(ghost_iterations, alice_iterations);
    assert_ne!(ghost_salt, alice_salt);
    assert_eq!(probe(&server, "ghost").await.0, ghost_salt);
    // One account name, one salt: as a real account's would be.
    assert_eq!(probe(&server, "Ghost").await.0, ghost_salt);
    assert_eq!(probe(&server, "Alice").await.0, alice_salt);

    let secret = server.database_path().with_file_name("scram-decoy.secret");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", secret.display());

    server.kill9_and_restart();
    assert_eq!(
        probe(&server, "alice").await,
        (alice_salt, alice_iterations.clone())
    );
    assert_eq!(
        probe(&server, "ghost").await,
        (ghost_salt, alice_iterations),
        "an unknown user's salt changed with the restart"
    );
}
