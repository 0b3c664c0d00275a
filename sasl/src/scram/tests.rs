//! SCRAM against the RFC test vectors, with and without channel binding,
//! and every way a client can get it wrong.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::test_client::{CLIENT_NONCE, ScramClient};

fn creds(hash: ScramHash, password: &str, salt_b64: &str) -> ScramCredentials {
    ScramCredentials::derive(hash, password, &STANDARD.decode(salt_b64).unwrap(), 4096).unwrap()
}

/// Replays an RFC exchange byte for byte: every server message must be
/// the RFC's.
fn replay(hash: ScramHash, salt: &str, server_nonce: &str, messages: [&str; 4]) {
    let [client_first, server_first, client_final, server_final] = messages;
    let mut server = ScramServer::new(hash, false, None, false).with_server_nonce(server_nonce);
    let first = server.client_first(client_first.as_bytes()).unwrap();
    assert_eq!(
        first,
        ClientFirst {
            username: "user".into(),
            authzid: None
        }
    );
    let credentials = creds(hash, "pencil", salt);
    assert_eq!(
        server.server_first(Some(&credentials)),
        server_first.as_bytes()
    );
    assert_eq!(
        server.client_final(client_final.as_bytes()).unwrap(),
        server_final.as_bytes()
    );
}

#[test]
fn rfc_5802_scram_sha_1() {
    replay(
        ScramHash::Sha1,
        "QSXCR+Q6sek8bf92",
        "3rfcNHYJY1ZVvWVs7j",
        [
            "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        ],
    );
}

#[test]
fn rfc_7677_scram_sha_256() {
    replay(
        ScramHash::Sha256,
        "W22ZaJ0SNY7soEsUEjb6gQ==",
        "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        [
            "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ],
    );
}

const SALT: &str = "QSXCR+Q6sek8bf92";

fn exporter() -> ChannelBinding {
    ChannelBinding::tls_exporter(vec![0xA5; 32])
}

#[test]
fn round_trips_with_random_nonces() {
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let credentials = creds(hash, "pencil", SALT);
        let mut server = ScramServer::new(hash, false, None, false);
        ScramClient::new(hash, "user", "pencil", "n,,", &[])
            .log_in(&mut server, Some(&credentials))
            .unwrap();
    }
}

#[test]
fn server_nonce_extends_the_clients_with_fresh_randomness() {
    let nonce = |server_first: Vec<u8>| {
        let text = String::from_utf8(server_first).unwrap();
        text.split(',').next().unwrap()[2..].to_owned()
    };
    let credentials = creds(ScramHash::Sha1, "pencil", SALT);
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let mut server = ScramServer::new(ScramHash::Sha1, false, None, false);
        server.client_first(b"n,,n=user,r=abc").unwrap();
        let n = nonce(server.server_first(Some(&credentials)));
        assert!(n.starts_with("abc"), "{n}");
        assert!(n.len() >= 3 + 24, "{n}");
        assert!(!n.contains(','));
        nonces.push(n);
    }
    assert_ne!(nonces[0], nonces[1]);
}

#[test]
fn plus_with_tls_exporter() {
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let credentials = creds(hash, "pencil", SALT);
        let mut server = ScramServer::new(hash, true, Some(exporter()), true);
        let mut client = ScramClient::new(hash, "user", "pencil", "p=tls-exporter,,", &[0xA5; 32]);
        client.log_in(&mut server, Some(&credentials)).unwrap();
    }
}

#[test]
fn plus_with_authzid() {
    let credentials = creds(ScramHash::Sha256, "pencil", SALT);
    let mut server = ScramServer::new(ScramHash::Sha256, true, Some(exporter()), true);
    let mut client = ScramClient::new(
        ScramHash::Sha256,
        "user",
        "pencil",
        "p=tls-exporter,a=user@example.com,",
        &[0xA5; 32],
    );
    let first = server.client_first(&client.first()).unwrap();
    assert_eq!(first.authzid.as_deref(), Some("user@example.com"));
    let last = client.last(&server.server_first(Some(&credentials)));
    server.client_final(&last).unwrap();
}

#[test]
fn wrong_channel_binding_data_is_refused() {
    let credentials = creds(ScramHash::Sha256, "pencil", SALT);
    // The client sees other binding data: another TLS session, a MITM.
    let mut server = ScramServer::new(ScramHash::Sha256, true, Some(exporter()), true);
    let mut client = ScramClient::new(
        ScramHash::Sha256,
        "user",
        "pencil",
        "p=tls-exporter,,",
        &[0x5A; 32],
    );
    assert_eq!(
        client.log_in(&mut server, Some(&credentials)),
        Err(SaslFailure::NotAuthorized)
    );
}

#[test]
fn a_gs2_header_changed_between_messages_is_refused() {
    let credentials = creds(ScramHash::Sha1, "pencil", SALT);
    let mut server = ScramServer::new(ScramHash::Sha1, false, None, false);
    server.client_first(b"n,,n=user,r=abc").unwrap();
    // The client signs "y,," while the server saw "n,,".
    let mut client = ScramClient::new(ScramHash::Sha1, "user", "pencil", "y,,", &[]);
    let last = client.last(&server.server_first(Some(&credentials)));
    assert_eq!(server.client_final(&last), Err(SaslFailure::NotAuthorized));
}

#[test]
fn downgrade_is_detected() {
    // `y`: the client can bind but saw no -PLUS; we offered it, so someone
    // stripped it from the list.
    let mut server = ScramServer::new(ScramHash::Sha256, false, Some(exporter()), true);
    assert_eq!(
        server.client_first(b"y,,n=user,r=abc"),
        Err(SaslFailure::NotAuthorized)
    );
    // Without -PLUS on offer, `y` is honest and fine.
    let credentials = creds(ScramHash::Sha256, "pencil", SALT);
    let mut server = ScramServer::new(ScramHash::Sha256, false, None, false);
    ScramClient::new(ScramHash::Sha256, "user", "pencil", "y,,", &[])
        .log_in(&mut server, Some(&credentials))
        .unwrap();
}

#[test]
fn binding_flags_must_fit_the_mechanism() {
    let cases: [(bool, Option<ChannelBinding>, &str, SaslFailure); 5] = [
        // -PLUS chosen, but the client does not bind.
        (
            true,
            Some(exporter()),
            "n,,n=user,r=a",
            SaslFailure::MalformedRequest,
        ),
        (
            true,
            Some(exporter()),
            "y,,n=user,r=a",
            SaslFailure::MalformedRequest,
        ),
        // Binding with a non-PLUS mechanism.
        (
            false,
            Some(exporter()),
            "p=tls-exporter,,n=user,r=a",
            SaslFailure::MalformedRequest,
        ),
        // A type we do not support.
        (
            true,
            Some(exporter()),
            "p=tls-unique,,n=user,r=a",
            SaslFailure::NotAuthorized,
        ),
        // No binding data on this stream.
        (
            true,
            None,
            "p=tls-exporter,,n=user,r=a",
            SaslFailure::NotAuthorized,
        ),
    ];
    for (plus, binding, message, failure) in cases {
        let mut server = ScramServer::new(ScramHash::Sha256, plus, binding, true);
        assert_eq!(
            server.client_first(message.as_bytes()),
            Err(failure),
            "{message}"
        );
    }
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    let credentials = creds(ScramHash::Sha1, "pencil", SALT);
    let mut server = ScramServer::new(ScramHash::Sha1, false, None, false);
    let wrong = ScramClient::new(ScramHash::Sha1, "user", "crayon", "n,,", &[])
        .log_in(&mut server, Some(&credentials));
    assert_eq!(wrong, Err(SaslFailure::NotAuthorized));

    // Even the right password cannot log in as a user that does not exist.
    let mut server = ScramServer::new(ScramHash::Sha1, false, None, false);
    let unknown =
        ScramClient::new(ScramHash::Sha1, "nobody", "pencil", "n,,", &[]).log_in(&mut server, None);
    assert_eq!(unknown, Err(SaslFailure::NotAuthorized));
}

#[test]
fn unknown_users_get_a_stable_plausible_salt() {
    let salt_under = |secret: u8, username: &str, hash| {
        let mut server = ScramServer::new(hash, false, None, false)
            .with_decoy([secret; DECOY_SECRET_LEN], 12_345);
        server
            .client_first(format!("n,,n={username},r=abc").as_bytes())
            .unwrap();
        let text = String::from_utf8(server.server_first(None)).unwrap();
        let mut parts = text.split(',').skip(1);
        let salt = STANDARD.decode(&parts.next().unwrap()[2..]).unwrap();
        (salt, parts.next().unwrap().to_owned())
    };
    let server_first = |username: &str, hash| salt_under(7, username, hash);
    let (salt, iterations) = server_first("ghost", ScramHash::Sha1);
    assert_eq!(salt.len(), SALT_LEN);
    assert_eq!(iterations, "i=12345");
    assert_eq!(server_first("ghost", ScramHash::Sha1).0, salt);
    assert_ne!(server_first("ghost2", ScramHash::Sha1).0, salt);
    assert_ne!(server_first("ghost", ScramHash::Sha256).0, salt);
    // Names that are one account are one decoy: "Ghost" and "ghost" would
    // get the same salt from a real account.
    assert_eq!(server_first("Ghost", ScramHash::Sha1).0, salt);
    // The salt follows the secret alone: the same secret (as after a
    // restart) gives the same salt, another secret another one.
    assert_eq!(salt_under(7, "ghost", ScramHash::Sha1).0, salt);
    assert_ne!(salt_under(8, "ghost", ScramHash::Sha1).0, salt);
}

#[test]
fn usernames_are_decoded_and_prepared() {
    let mut server = ScramServer::new(ScramHash::Sha1, false, None, false);
    let first = server
        .client_first("n,,n=a=2Cb=3Dc\u{AD},r=x".as_bytes())
        .unwrap();
    assert_eq!(first.username, "a,b=c");
}

#[test]
fn malformed_client_first_messages() {
    for bad in [
        &b""[..],
        b"n,,",
        b"n,,r=abc",
        b"n,,n=user",
        b"n,,n=user,r=",
        b"n,,n=user,r=a b",
        b"n,,n=,r=abc",
        b"n,,n=us=er,r=abc",
        b"n,,m=ext,n=user,r=abc",
        b"n,,n=user,r=abc,bogus",
        b"n,,n=bell\x07,r=abc",
        b"n,,n=\xff,r=abc",
        b"q,,n=user,r=abc",
    ] {
        let mut server = ScramServer::new(ScramHash::Sha1, false, None, false);
        assert_eq!(
            server.client_first(bad),
            Err(SaslFailure::MalformedRequest),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // Unknown optional extensions are ignored.
    let mut server = ScramServer::new(ScramHash::Sha1, false, None, false);
    assert!(server.client_first(b"n,,n=user,r=abc,x=future").is_ok());
}

/// A server that has sent its first message for "user"/"pencil", with
/// "SRV" for its part of the nonce; returns it and the correct
/// client-final message.
fn after_server_first() -> (ScramServer, String) {
    let credentials = creds(ScramHash::Sha1, "pencil", SALT);
    let mut server = ScramServer::new(ScramHash::Sha1, false, None, false).with_server_nonce("SRV");
    let mut client = ScramClient::new(ScramHash::Sha1, "user", "pencil", "n,,", &[]);
    server.client_first(&client.first()).unwrap();
    let last = client.last(&server.server_first(Some(&credentials)));
    (server, String::from_utf8(last).unwrap())
}

#[test]
fn bad_client_final_messages() {
    let (_, good) = after_server_first();
    let proof = good.rsplit_once(",p=").unwrap().1.to_owned();
    let nonce = format!("{CLIENT_NONCE}SRV");
    let cases = [
        ("".to_owned(), SaslFailure::MalformedRequest),
        (format!("c=biws,r={nonce}"), SaslFailure::MalformedRequest),
        (
            format!("r={nonce},c=biws,p={proof}"),
            SaslFailure::MalformedRequest,
        ),
        (format!("c=biws,p={proof}"), SaslFailure::MalformedRequest),
        (
            format!("c=biws,r={nonce},m=x,p={proof}"),
            SaslFailure::MalformedRequest,
        ),
        (
            format!("c=biws,r={nonce},p={proof},x=y"),
            SaslFailure::MalformedRequest,
        ),
        (
            format!("c=biws,r={nonce},p=AAAA"),
            SaslFailure::MalformedRequest,
        ),
        (
            format!("c=b!ws,r={nonce},p={proof}"),
            SaslFailure::IncorrectEncoding,
        ),
        (
            format!("c=biws,r={nonce},p=not*base64"),
            SaslFailure::IncorrectEncoding,
        ),
        (
            format!("c=biws,r={CLIENT_NONCE}XXX,p={proof}"),
            SaslFailure::NotAuthorized,
        ),
        // "y,," where "n,," was sent: c= must repeat the header exactly.
        (
            format!("c=eSws,r={nonce},p={proof}"),
            SaslFailure::NotAuthorized,
        ),
        (
            format!("c=biws,r={nonce},p={}", STANDARD.encode([0u8; 20])),
            SaslFailure::NotAuthorized,
        ),
    ];
    for (message, failure) in cases {
        let (mut server, _) = after_server_first();
        assert_eq!(
            server.client_final(message.as_bytes()),
            Err(failure),
            "{message}"
        );
    }
    let (mut server, good) = after_server_first();
    assert!(server.client_final(good.as_bytes()).is_ok());
}

#[test]
fn steps_out_of_order_fail_and_end_the_exchange() {
    let credentials = creds(ScramHash::Sha1, "pencil", SALT);
    let mut server = ScramServer::new(ScramHash::Sha1, false, None, false);
    assert_eq!(
        server.client_final(b"c=biws,r=x,p=AAAA"),
        Err(SaslFailure::MalformedRequest)
    );
    assert!(server.server_first(Some(&credentials)).is_empty());

    let (mut server, good) = after_server_first();
    assert!(server.client_final(good.as_bytes()).is_ok());
    assert_eq!(
        server.client_final(good.as_bytes()),
        Err(SaslFailure::MalformedRequest),
        "a replayed final message"
    );
    assert_eq!(
        server.client_first(b"n,,n=user,r=abc"),
        Err(SaslFailure::MalformedRequest)
    );

    // After a failed first step nothing goes on.
    let mut server = ScramServer::new(ScramHash::Sha1, false, None, false);
    assert!(server.client_first(b"garbage").is_err());
    assert!(server.server_first(Some(&credentials)).is_empty());
}
