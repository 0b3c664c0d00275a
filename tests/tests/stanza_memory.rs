//! What unfinished stanzas cost the running roostd: many connections each
//! send all but the last bytes of a stanza that declares a 4,000-character
//! namespace over hundreds of empty children (before the fix each element
//! kept its own copy of the name: 3.9 MB per 9.7 kB stanza). roostd's
//! resident memory may grow by no more than the stanza's bytes plus 64 KiB
//! per connection. The figures are printed for the record.
//!
//! RSS is noisy, so each measurement waits until roostd has read every byte
//! sent (its sockets' receive queues are empty) and its RSS has settled,
//! and enough connections are used for the allocator's slack to average out.

use std::time::{Duration, Instant};

use roost_tests::floods::rss_bytes;
use roost_tests::raw::{RawClient, bound_in_plaintext};
use roost_tests::{HOST, Server};

const USER: &str = "alice";
const PASSWORD: &str = "correct horse";

/// What a connection may cost beyond its stanza's bytes.
const ALLOWANCE: u64 = 64 * 1024;

fn long_namespace() -> String {
    format!("urn:{}", "n".repeat(3996))
}

/// An `<iq>` holding `children` empty children in the long namespace under
/// prefix `a`, declared on the `<iq>` when `declare` is set.
fn iq(children: usize, declare: bool) -> String {
    let declaration = if declare {
        format!(" xmlns:a='{}'", long_namespace())
    } else {
        String::new()
    };
    format!(
        "<iq type='set' id='big'{declaration}>{}</iq>",
        "<a:b/>".repeat(children)
    )
}

/// All of `stanza` but its last bytes.
fn unfinished(stanza: &str) -> &str {
    &stanza[..stanza.len() - 3]
}

/// Established connections to local `port` and the bytes roostd has not
/// read from them yet, from /proc/net/tcp.
fn server_sockets(port: u16) -> (usize, u64) {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!(":{port:04X}");
    let mut sockets = 0;
    let mut unread = 0;
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // local_address rem_address st tx_queue:rx_queue
        if fields.len() > 4 && fields[1].ends_with(&local) && fields[3] == "01" {
            sockets += 1;
            let rx = fields[4].split(':').nth(1).expect("rx_queue");
            unread += u64::from_str_radix(rx, 16).expect("hex rx_queue");
        }
    }
    (sockets, unread)
}

/// roostd's RSS once it has accepted `connections` connections, read all
/// they sent, and its RSS has stopped moving.
async fn settled_rss(server: &Server, connections: usize) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = 0;
    loop {
        let (sockets, unread) = server_sockets(server.c2s_port);
        let rss = rss_bytes(server.pid());
        if sockets >= connections && unread == 0 && rss.abs_diff(last) < 64 * 1024 {
            return rss;
        }
        assert!(
            Instant::now() < deadline,
            "roostd did not settle: {sockets} of {connections} sockets, {unread} bytes unread, \
             RSS {rss}"
        );
        last = rss;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A fresh stream still gets its features: roostd is alive and well.
async fn assert_serving(server: &Server) {
    let mut client = RawClient::connect(server).await;
    let features = client.open(HOST).await;
    assert!(features.contains("<stream:features>"), "{features}");
}

fn header(extra: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream to='{HOST}' version='1.0' xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams'{extra}>"
    )
}

/// Opens `count` plain streams with `header` and sends each all of
/// `stanza` but its last bytes; returns roostd's RSS growth per connection
/// from before the first connection, and the clients (to keep them open).
async fn grow_before_login(
    server: &Server,
    count: usize,
    header: &str,
    stanza: &str,
) -> (u64, Vec<RawClient>) {
    let before = settled_rss(server, 0).await;
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        let mut client = RawClient::connect(server).await;
        client.send(header).await;
        client.read_until("</stream:features>").await;
        client.send(unfinished(stanza)).await;
        clients.push(client);
    }
    let after = settled_rss(server, count).await;
    (after.saturating_sub(before) / count as u64, clients)
}

/// Starts roostd, warms it up with one stream, grows it with 200
/// unfinished stanzas and checks the growth per connection.
async fn assert_bounded_before_login(what: &str, header: &str, stanza: &str) {
    const CONNECTIONS: usize = 200;
    // All of them wait unauthenticated from 127.0.0.1, past the default
    // share of one address.
    let server = Server::start_c2s("max_unauthenticated_per_address = 1000", "");
    assert_serving(&server).await;
    let (per_connection, clients) = grow_before_login(&server, CONNECTIONS, header, stanza).await;
    eprintln!(
        "before login, {what}: {} stanza bytes, roostd grew {per_connection} bytes per \
         connection ({CONNECTIONS} connections)",
        stanza.len()
    );
    assert!(
        per_connection < stanza.len() as u64 + ALLOWANCE,
        "{what}: {per_connection} bytes per connection for a {}-byte stanza",
        stanza.len()
    );
    drop(clients);
    assert_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unfinished_stanzas_declaring_a_long_prefix_cost_about_their_bytes() {
    let stanza = iq(950, true);
    assert!(stanza.len() > 9_500 && stanza.len() < 10_000);
    assert_bounded_before_login("prefix on the stanza", &header(""), &stanza).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unfinished_stanzas_using_a_long_header_prefix_cost_about_their_bytes() {
    let stanza = iq(1600, false);
    assert!(stanza.len() < 10_000);
    let declaring = header(&format!(" xmlns:a='{}'", long_namespace()));
    assert_bounded_before_login("prefix on the header", &declaring, &stanza).await;
}

/// Sends each of `clients` (logged in, bound) all of a 256 KiB stanza but
/// its last bytes; returns roostd's RSS growth per connection from the
/// logged-in state, after checking that the last bytes complete it.
async fn grow_after_login(server: &Server, mut clients: Vec<RawClient>, what: &str) -> (u64, u64) {
    let logged_in = settled_rss(server, clients.len()).await;

    let stanza = iq((256 * 1024 - 4_100) / 6, true);
    assert!(stanza.len() <= 256 * 1024);
    for client in &mut clients {
        client.send(unfinished(&stanza)).await;
    }
    let after = settled_rss(server, clients.len()).await;
    let per_connection = after.saturating_sub(logged_in) / clients.len() as u64;
    eprintln!(
        "after login, {what}: {} stanza bytes, roostd grew {per_connection} bytes per \
         connection ({} connections, from {logged_in} bytes RSS)",
        stanza.len(),
        clients.len()
    );

    // The last bytes complete it: the iq is answered (no handler: an error).
    clients[0].send(&stanza[stanza.len() - 3..]).await;
    let answer = clients[0].read_iq("big").await;
    assert!(answer.contains("type='error'"), "{answer}");
    (per_connection, stanza.len() as u64)
}

const LOGGED_IN: usize = 16;
/// Room for `LOGGED_IN` resources of one account (10 by default).
const SESSIONS: &str = "max_sessions_per_account = 16";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unfinished_256_kib_stanzas_after_login_cost_about_their_bytes() {
    let server = Server::start_c2s(&format!("require_encryption = false\n{SESSIONS}"), "");
    server.create_user(&format!("{USER}@{HOST}"), PASSWORD);
    let mut clients = Vec::with_capacity(LOGGED_IN);
    for i in 0..LOGGED_IN {
        clients.push(bound_in_plaintext(&server, USER, PASSWORD, &format!("r{i}")).await);
    }
    let (per_connection, stanza) = grow_after_login(&server, clients, "plain TCP").await;
    assert!(
        per_connection < stanza + ALLOWANCE,
        "{per_connection} bytes per connection for a {stanza}-byte stanza"
    );
}

/// Over TLS the same costs more, for reasons outside the XML codec: rustls
/// decrypts the burst into 16 KiB records that roostd reads 2 KiB at a
/// time, and the allocator keeps the holes they leave between the growing
/// stanza buffers (measured: 70 to 130 KiB per connection beyond the
/// stanza, against about 20 KiB over plain TCP). Still bounded by the
/// stanza's size, which is what this checks: less than twice its bytes
/// (before the fix: 180 MB per connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unfinished_256_kib_stanzas_over_tls_cost_about_their_bytes() {
    let server = Server::start_c2s(SESSIONS, "");
    server.create_user(&format!("{USER}@{HOST}"), PASSWORD);
    let mut clients = Vec::with_capacity(LOGGED_IN);
    for i in 0..LOGGED_IN {
        clients.push(RawClient::bound(&server, USER, PASSWORD, &format!("r{i}")).await);
    }
    let (per_connection, stanza) = grow_after_login(&server, clients, "TLS").await;
    assert!(
        per_connection < 2 * stanza,
        "{per_connection} bytes per connection for a {stanza}-byte stanza"
    );
}
