//! The database schema, as an ordered list of migrations. A migration once
//! released is never edited: change the schema by appending one.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

const MIGRATIONS: &[M<'static>] = &[M::up(
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
)];

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
