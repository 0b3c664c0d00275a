//! The database schema, as an ordered list of migrations. A migration once
//! released is never edited: change the schema by appending one.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        "CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        name TEXT,
        secret_hash BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        invites_created INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX api_keys_by_host ON api_keys (host);

    CREATE TABLE invites (
        id INTEGER PRIMARY KEY,
        host TEXT NOT NULL,
        token_hash BLOB NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('account', 'contact', 'account_and_contact')),
        jid TEXT NOT NULL,
        creator TEXT NOT NULL,
        api_key_id TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        uses_left INTEGER
    ) STRICT;
    CREATE INDEX invites_by_expiry ON invites (expires_at);
    CREATE INDEX invites_by_host ON invites (host);",
    ),
    // Accounts, their SCRAM credentials (never a password), rosters, pending
    // inbound subscription requests and offline messages (issue 3).
    M::up(
        "CREATE TABLE accounts (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
        created_at INTEGER NOT NULL,
        roster_version INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (host, username)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE scram_credentials (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        mechanism TEXT NOT NULL CHECK (mechanism IN ('SCRAM-SHA-1', 'SCRAM-SHA-256')),
        salt BLOB NOT NULL,
        iterations INTEGER NOT NULL,
        stored_key BLOB NOT NULL,
        server_key BLOB NOT NULL,
        PRIMARY KEY (host, username, mechanism),
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE roster_items (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        contact TEXT NOT NULL,
        name TEXT,
        subscription TEXT NOT NULL DEFAULT 'none'
            CHECK (subscription IN ('none', 'to', 'from', 'both')),
        ask_subscribe INTEGER NOT NULL DEFAULT 0,
        approved INTEGER NOT NULL DEFAULT 0,
        groups TEXT NOT NULL DEFAULT '[]',
        version INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (host, username, contact),
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE subscription_requests (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        contact TEXT NOT NULL,
        stanza TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (host, username, contact),
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE offline_messages (
        id INTEGER PRIMARY KEY,
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        stanza TEXT NOT NULL,
        stored_at INTEGER NOT NULL,
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX offline_by_user ON offline_messages (host, username, id);",
    ),
    // Who redeemed each invite and when; the local account to notify when an
    // invite is used (issue 4). Used-up invites are kept until they expire so
    // that `invite list --all` can show who used them.
    M::up(
        "ALTER TABLE invites ADD COLUMN inviter TEXT;
    CREATE TABLE invite_redemptions (
        id INTEGER PRIMARY KEY,
        invite_id INTEGER NOT NULL REFERENCES invites (id) ON DELETE CASCADE,
        jid TEXT NOT NULL,
        redeemed_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX invite_redemptions_by_invite ON invite_redemptions (invite_id);",
    ),
    // Per-account bounds (issue 8): offline messages remember their sender
    // and size, so that storage is bounded per sender and in bytes per
    // recipient (the covering index answers both without reading stanzas);
    // invites users create with ad-hoc commands are counted per 24 hours.
    M::up(
        "ALTER TABLE offline_messages ADD COLUMN sender TEXT NOT NULL DEFAULT '';
    ALTER TABLE offline_messages ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
    UPDATE offline_messages SET bytes = length(CAST(stanza AS BLOB));
    CREATE INDEX offline_by_sender ON offline_messages (host, username, sender, bytes);
    CREATE TABLE user_invites_created (
        id INTEGER PRIMARY KEY,
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX user_invites_created_by_user ON user_invites_created (host, username, created_at);",
    ),
    // Client management (issue 9): every client (installation) that gained
    // access to an account, and its FAST tokens. A token itself is never
    // stored: only the random id it is derived from with the server key
    // (`services/fast_tokens.rs`). `new` is issued and not yet used,
    // `current` used, `superseded` replaced by a newer used one or made void
    // by a password change, kept until it would have expired so that using
    // it says credentials-expired. At most one `new` and one `current` per
    // client. Tokens do not reference `clients`: one may be issued before
    // its client's first bind is recorded.
    M::up(
        "CREATE TABLE clients (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        id TEXT NOT NULL,
        legacy INTEGER NOT NULL,
        software TEXT,
        device TEXT,
        full_jid TEXT,
        last_mechanism TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        password_used_at INTEGER,
        fast_used_at INTEGER,
        PRIMARY KEY (host, username, id),
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX clients_by_full_jid ON clients (host, username, full_jid);

    CREATE TABLE fast_tokens (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        client TEXT NOT NULL,
        token_id BLOB NOT NULL,
        slot TEXT NOT NULL CHECK (slot IN ('new', 'current', 'superseded')),
        mechanism TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (host, username, client, token_id),
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;
    CREATE UNIQUE INDEX fast_tokens_live_slot ON fast_tokens (host, username, client, slot)
        WHERE slot != 'superseded';",
    ),
    // When the password last changed (Unix ms): a login that began before
    // gets no FAST token after it (issue 9).
    M::up("ALTER TABLE accounts ADD COLUMN password_changed_ms INTEGER;"),
    // When a delegated roster was last fetched from its roster service
    // (issue 10); the items themselves are ordinary roster_items.
    M::up(
        "CREATE TABLE delegated_rosters (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        fetched_at INTEGER NOT NULL,
        PRIMARY KEY (host, username),
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;",
    ),
    // The audit log (issue 12): who changed what and security events, kept
    // for `audit.retention`. `at` in Unix seconds; `id` orders entries.
    // Indexes serve `roostctl audit`'s filters and the purge by age.
    M::up(
        "CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor_kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        host TEXT,
        jid TEXT,
        subject TEXT,
        outcome TEXT NOT NULL,
        detail TEXT
    ) STRICT;
    CREATE INDEX audit_log_by_time ON audit_log (at);
    CREATE INDEX audit_log_by_host ON audit_log (host, id);
    CREATE INDEX audit_log_by_jid ON audit_log (jid, id);
    CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
    CREATE INDEX audit_log_by_action ON audit_log (action, id);",
    ),
    // The message archive (XEP-0313): one row per message and owner, `id`
    // increasing in the order rows were written (so paging is a range of
    // an index, never an OFFSET), `stamp` in Unix ms, never decreasing with
    // `id` (so a time is found by a binary search over ids, with no index
    // of its own). Owners are numbered in `archive_owners`: each row's
    // index entries carry an integer, not the host and username, which
    // keeps the three indexes small and cheap to write on the message path.
    // `archive_totals` keeps each owner's count and bytes for its bounds
    // and `<count/>`; `archive_prefs` the owners' own preferences.
    M::up(
        "CREATE TABLE archive_owners (
        owner INTEGER PRIMARY KEY,
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        UNIQUE (host, username),
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT;

    CREATE TABLE archive (
        id INTEGER PRIMARY KEY,
        owner INTEGER NOT NULL REFERENCES archive_owners (owner) ON DELETE CASCADE,
        stanza_id TEXT NOT NULL,
        with_jid TEXT NOT NULL,
        stamp INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        stanza TEXT NOT NULL
    ) STRICT;
    CREATE INDEX archive_by_owner ON archive (owner, id);
    CREATE INDEX archive_by_with ON archive (owner, with_jid, id);
    CREATE UNIQUE INDEX archive_by_stanza_id ON archive (owner, stanza_id);

    CREATE TABLE archive_totals (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        messages INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (host, username),
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE archive_prefs (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        policy TEXT NOT NULL CHECK (policy IN ('always', 'roster', 'never')),
        always TEXT NOT NULL,
        never TEXT NOT NULL,
        PRIMARY KEY (host, username),
        FOREIGN KEY (host, username) REFERENCES accounts (host, username) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;",
    ),
    // Archive ids are made from the time and are the rows' own ids
    // (services/archive/ids.rs), so they follow time rather than the order
    // rows are written in: new rows leave `stanza_id` empty, and only the
    // rows written before keep an index of their string ids. An index
    // ends with the row id and is ordered by it, so `id` need not be one
    // of its columns (where it would be stored twice, in 8 bytes each).
    M::up(
        "DROP INDEX archive_by_stanza_id;
    CREATE UNIQUE INDEX archive_by_legacy_stanza_id ON archive (owner, stanza_id)
        WHERE stanza_id <> '';
    DROP INDEX archive_by_owner;
    CREATE INDEX archive_by_owner ON archive (owner);
    DROP INDEX archive_by_with;
    CREATE INDEX archive_by_with ON archive (owner, with_jid);",
    ),
];

pub fn migrate(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    Migrations::from_slice(MIGRATIONS).to_latest(conn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::Migrations::from_slice(super::MIGRATIONS)
            .validate()
            .unwrap();
    }
}
