//! Who is on whose roster: the one definition of the bench's contact lists
//! in the backend's version 1 and version 2, shared by the backend (which
//! serves them as JSON) and the clients (which check what the server gave
//! and pushed them against it).
//!
//! User `i` has the `2 × half` users around it as contacts (`i-half ..
//! i+half`, modulo the user count), so every contact is online and presence
//! flows both ways. Version 2 changes exactly three items per user: the
//! contact at `i+half` is removed, `i+half+1` is added, and `i+1` is
//! renamed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One roster item as the client should see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub groups: BTreeSet<String>,
}

/// Bare JID → item.
pub type Roster = BTreeMap<String, Contact>;

#[derive(Clone, Debug)]
pub struct Plan {
    users: u64,
    half: u64,
    prefix: String,
    domain: String,
}

impl Plan {
    /// `contacts` per user (even, at least 2); `users` must leave room for
    /// version 2's new contact outside version 1's list.
    pub fn new(users: u64, contacts: u64, prefix: &str, domain: &str) -> Result<Plan, String> {
        if contacts < 2 || !contacts.is_multiple_of(2) {
            return Err(format!("--contacts {contacts}: an even number, at least 2"));
        }
        if users < contacts + 2 {
            return Err(format!(
                "--users {users}: at least --contacts + 2 ({})",
                contacts + 2
            ));
        }
        Ok(Plan {
            users,
            half: contacts / 2,
            prefix: prefix.to_owned(),
            domain: domain.to_owned(),
        })
    }

    pub fn users(&self) -> u64 {
        self.users
    }

    pub fn username(&self, i: u64) -> String {
        format!("{}{i}", self.prefix)
    }

    pub fn jid(&self, i: u64) -> String {
        format!("{}{i}@{}", self.prefix, self.domain)
    }

    /// The index of a bench username (`PREFIX{i}`, `i` < users, no leading zeros).
    pub fn index_of(&self, username: &str) -> Option<u64> {
        let digits = username.strip_prefix(&self.prefix)?;
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        let i: u64 = digits.parse().ok()?;
        (i < self.users).then_some(i)
    }

    fn around(&self, i: u64, d: i64) -> u64 {
        (i as i64 + d).rem_euclid(self.users as i64) as u64
    }

    fn contact(j: u64, renamed: bool) -> Contact {
        Contact {
            name: if renamed {
                format!("Bench {j} (renamed)")
            } else {
                format!("Bench {j}")
            },
            groups: ["Bench".to_owned(), format!("Class {}", j % 10)].into(),
        }
    }

    /// User `i`'s roster in backend `version` (1 or 2).
    pub fn roster(&self, i: u64, version: u8) -> Roster {
        let half = self.half as i64;
        let mut roster = Roster::new();
        for d in (-half..=half).filter(|&d| d != 0) {
            if version == 2 && d == half {
                continue;
            }
            let j = self.around(i, d);
            roster.insert(self.jid(j), Self::contact(j, version == 2 && d == 1));
        }
        if version == 2 {
            let j = self.around(i, half + 1);
            roster.insert(self.jid(j), Self::contact(j, false));
        }
        roster
    }

    /// The backend's answer for user `i`: `{"jid": {"name": …, "groups":
    /// {"Group": true}}}`, the seed's (Prosody's) form.
    pub fn json(&self, i: u64, version: u8) -> String {
        let mut items = Map::new();
        for (jid, c) in self.roster(i, version) {
            let groups: Map<String, Value> = c
                .groups
                .into_iter()
                .map(|g| (g, Value::Bool(true)))
                .collect();
            let mut item = Map::new();
            item.insert("name".into(), Value::String(c.name));
            item.insert("groups".into(), Value::Object(groups));
            items.insert(jid, Value::Object(item));
        }
        Value::Object(items).to_string()
    }
}

/// Roster pushes one online user gets when the backend goes from version 1
/// to version 2: one added, one removed, one renamed item.
pub const PUSHES_PER_USER: u64 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_one_is_the_neighbours_without_self() {
        let p = Plan::new(1000, 50, "bench", "bench.test").unwrap();
        let r = p.roster(0, 1);
        assert_eq!(r.len(), 50);
        assert!(!r.contains_key("bench0@bench.test"));
        assert!(r.contains_key("bench999@bench.test"));
        assert!(r.contains_key("bench975@bench.test"));
        assert!(r.contains_key("bench25@bench.test"));
        assert!(!r.contains_key("bench26@bench.test"));
        assert_eq!(r["bench13@bench.test"].name, "Bench 13");
        assert_eq!(
            r["bench13@bench.test"].groups,
            ["Bench".to_owned(), "Class 3".to_owned()].into()
        );
    }

    #[test]
    fn version_two_adds_removes_and_renames_one_each() {
        for users in [52, 53, 1000] {
            let p = Plan::new(users, 50, "bench", "bench.test").unwrap();
            for i in [0, 7, users - 1] {
                let (v1, v2) = (p.roster(i, 1), p.roster(i, 2));
                assert_eq!(v2.len(), 50);
                let added: Vec<_> = v2.keys().filter(|j| !v1.contains_key(*j)).collect();
                let removed: Vec<_> = v1.keys().filter(|j| !v2.contains_key(*j)).collect();
                let changed: Vec<_> = v2
                    .iter()
                    .filter(|(j, c)| v1.get(*j).is_some_and(|old| old != *c))
                    .collect();
                assert_eq!((added.len(), removed.len(), changed.len()), (1, 1, 1));
                assert_eq!(*added[0], p.jid((i + 26) % users));
                assert_eq!(*removed[0], p.jid((i + 25) % users));
                assert!(!v2.contains_key(&p.jid(i)));
            }
        }
    }

    #[test]
    fn json_is_the_seed_form_of_the_roster() {
        let p = Plan::new(10, 4, "u", "d").unwrap();
        let v: Value = serde_json::from_str(&p.json(0, 2)).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(o.len(), 4);
        assert_eq!(o["u1@d"]["name"], "Bench 1 (renamed)");
        assert_eq!(o["u1@d"]["groups"]["Class 1"], true);
        assert!(o.contains_key("u3@d") && !o.contains_key("u2@d"));
    }

    #[test]
    fn bad_sizes_and_names() {
        assert!(Plan::new(51, 50, "b", "d").is_err());
        assert!(Plan::new(100, 7, "b", "d").is_err());
        let p = Plan::new(100, 4, "bench", "d").unwrap();
        assert_eq!(p.index_of("bench42"), Some(42));
        assert_eq!(p.index_of("bench042"), None);
        assert_eq!(p.index_of("bench100"), None);
        assert_eq!(p.index_of("other1"), None);
        assert_eq!(p.index_of("bench"), None);
    }
}
