//! What one connection may cost the server, and how it ends when it asks
//! for more: a client that stops reading (bounded queue, stalled writes),
//! too many resources for one account, a TLS handshake that never ends, and
//! an account deleted between authentication and binding.

use std::time::{Duration, Instant};

use roost_tests::raw::RawClient;
use roost_tests::{HOST, Server};

const PASSWORD: &str = "correct horse";
/// A 16 KiB message body; 512 of them (8 MiB) are more than the kernel's
/// socket buffers on loopback take in for a client that does not read.
const BODY_BYTES: usize = 16 * 1024;
const FLOOD: usize = 512;

fn server_with_alice(c2s: &str) -> Server {
    let server = Server::start_c2s(c2s, "");
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    server
}

/// Sends `FLOOD` messages from `writer` to alice/reader, then a ping: once
/// its answer is back, the server has routed every message.
async fn flood_reader(writer: &mut RawClient) {
    let body = "x".repeat(BODY_BYTES);
    let stanza =
        format!("<message to='alice@{HOST}/reader' type='chat'><body>{body}</body></message>");
    for _ in 0..FLOOD {
        writer.send(&stanza).await;
    }
    writer
        .send(&format!(
            "<iq type='get' id='ping1' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    writer.read_iq("ping1").await;
}

fn messages_in(text: &str) -> usize {
    text.matches("<message").count()
}

#[tokio::test]
async fn a_client_that_stops_reading_is_ended_once_its_queue_is_full() {
    let server = server_with_alice(
        "max_stanza_size = 65536\nmax_queued_bytes = 262144\nwrite_timeout = \"120s\"",
    );
    let mut reader = RawClient::bound(&server, "alice", PASSWORD, "reader").await;
    let mut writer = RawClient::bound(&server, "alice", PASSWORD, "writer").await;
    flood_reader(&mut writer).await;

    let received = reader.read_to_end().await;
    let tail = &received[received.len().saturating_sub(400)..];
    assert!(
        tail.contains(
            "<stream:error><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        ) && tail.contains("the client does not read")
            && tail.ends_with("</stream:error></stream:stream>"),
        "expected resource-constraint and the end of the stream, got ...{tail:?}"
    );
    let delivered = messages_in(&received);
    assert!(
        delivered < FLOOD,
        "{delivered} of {FLOOD} messages delivered: nothing was refused"
    );
    eprintln!("queue full: {delivered} of {FLOOD} messages written before the stream error");
    // The writer and the server are fine.
    writer
        .send(&format!(
            "<iq type='get' id='ping2' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    assert!(writer.read_iq("ping2").await.contains("type='result'"));
}

#[tokio::test]
async fn a_write_that_makes_no_progress_ends_the_session() {
    // A queue large enough for the whole flood: only the stalled write can
    // end the session here.
    let server = server_with_alice(
        "max_stanza_size = 65536\nmax_queued_bytes = 67108864\nwrite_timeout = \"2s\"",
    );
    let mut reader = RawClient::bound(&server, "alice", PASSWORD, "reader").await;
    let mut writer = RawClient::bound(&server, "alice", PASSWORD, "writer").await;
    flood_reader(&mut writer).await;
    // Waiting out the write timeout is the point of this test.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let received = reader.read_to_end().await;
    assert!(
        !received.ends_with("[not closed]"),
        "the server still keeps the session of a client that stopped reading"
    );
    let delivered = messages_in(&received);
    assert!(
        delivered < FLOOD,
        "{delivered} of {FLOOD} messages delivered after the write timeout"
    );
}

#[tokio::test]
async fn sessions_per_account_are_capped_at_bind() {
    let server = server_with_alice("max_sessions_per_account = 2");
    let _a = RawClient::bound(&server, "alice", PASSWORD, "a").await;
    let _b = RawClient::bound(&server, "alice", PASSWORD, "b").await;

    let mut third = RawClient::authenticated(&server, "alice", PASSWORD).await;
    third
        .send(
            "<iq type='set' id='bind3'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <resource>c</resource></bind></iq>",
        )
        .await;
    let answer = third.read_iq("bind3").await;
    assert!(
        answer.contains("type='error'")
            && answer.contains("<error type='wait'><resource-constraint"),
        "{answer}"
    );
    assert!(answer.contains("2 connected resources"), "{answer}");

    // Binding a resource that is connected replaces it: not one more.
    let _b_again = RawClient::bound(&server, "alice", PASSWORD, "b").await;
    // Other accounts are not affected.
    server.create_user(&format!("bob@{HOST}"), PASSWORD);
    let _bob = RawClient::bound(&server, "bob", PASSWORD, "a").await;
}

#[tokio::test]
async fn a_stalled_starttls_handshake_ends_at_the_negotiation_deadline() {
    let server = server_with_alice("negotiation_timeout = \"2s\"");
    let mut client = RawClient::connect(&server).await;
    client.open(HOST).await;
    let started = Instant::now();
    client
        .send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .await;
    client.read_until("<proceed").await;
    // No ClientHello follows.
    let rest = client.read_to_end().await;
    assert!(!rest.ends_with("[not closed]"), "still open: {rest:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "closed only after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stalled_direct_tls_handshake_ends_at_the_negotiation_deadline() {
    let port = roost_tests::free_port();
    let server = server_with_alice(&format!(
        "negotiation_timeout = \"2s\"\ndirect_tls_bind = [\"127.0.0.1:{port}\"]"
    ));
    let started = Instant::now();
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut silent, &mut sink),
    )
    .await;
    assert!(
        closed.is_ok(),
        "direct TLS connection still open after 10 s"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    drop(server);
}

#[tokio::test]
async fn an_account_deleted_after_authentication_cannot_bind() {
    let server = server_with_alice("");
    let mut client = RawClient::authenticated(&server, "alice", PASSWORD).await;
    let out = server.ctl(&["user", "delete", &format!("alice@{HOST}")]);
    assert!(out.status.success(), "{}", roost_tests::stderr(&out));
    client
        .send(
            "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <resource>r</resource></bind></iq>",
        )
        .await;
    let rest = client.read_to_end().await;
    assert!(
        rest.contains("<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
            && rest.trim_end().ends_with("</stream:stream>"),
        "a deleted account bound a resource: {rest:?}"
    );
}

#[tokio::test]
async fn an_offline_backlog_larger_than_the_queue_arrives_whole_in_one_login() {
    let server = server_with_alice("max_stanza_size = 65536\nmax_queued_bytes = 262144");
    server.create_user(&format!("bob@{HOST}"), PASSWORD);
    let mut alice = RawClient::bound(&server, "alice", PASSWORD, "a").await;
    // 40 × 16 KiB: more than twice what may wait in bob's queue.
    let padding = "x".repeat(BODY_BYTES);
    for i in 0..40 {
        alice
            .send(&format!(
                "<message to='bob@{HOST}' type='chat'><body>{i}:{padding}</body></message>"
            ))
            .await;
    }
    alice
        .send(&format!(
            "<iq type='get' id='sync' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    alice.read_iq("sync").await;

    let mut bob = RawClient::bound(&server, "bob", PASSWORD, "phone").await;
    bob.send("<presence/>").await;
    for i in 0..40 {
        bob.read_until(&format!("<body>{i}:")).await;
    }
    bob.send(&format!(
        "<iq type='get' id='alive' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    let answer = bob.read_iq("alive").await;
    assert!(
        !answer.contains("<body>"),
        "a message came twice: {answer:.200}"
    );
    assert!(answer.contains("type='result'"), "{answer:.300}");
}
