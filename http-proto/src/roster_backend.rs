//! The roster service's answer, read into roster items: a JSON object
//! `{"bob@host": {"name": "Bob", "groups": {"Friends": true}}}`, where
//! `groups` may also be an array (`["Friends"]`). Pure: bytes in, items
//! and the reasons for what was skipped out.
//!
//! The JSON is read in one pass into what is kept ([`shape`]), never into
//! a tree, so a hostile answer costs at most its own size.
//!
//! What Prosody crashes on (array-shaped groups, a `null`), this reads or
//! skips: one bad item never costs the user the rest of the roster, and
//! unknown fields are ignored (and reported). Items are bounded as a roster
//! set is (names, groups, bytes per item) and in number by `[limits]
//! roster_items`.

mod shape;

use std::collections::BTreeMap;

use jid::BareJid;

use self::shape::{Answer, Details};

/// Longest name and group name kept, in bytes (as a roster set).
const MAX_NAME_BYTES: usize = 1024;
/// Most groups kept on one item.
const MAX_GROUPS: usize = 64;
/// Most bytes of name and groups together on one item.
const MAX_ITEM_BYTES: usize = 4096;

/// One contact as the service gave it; subscription is always `both`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatedItem {
    pub jid: BareJid,
    pub name: Option<String>,
    /// Sorted, without duplicates.
    pub groups: Vec<String>,
}

/// A readable answer: the items by JID, and what was left out and why.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParsedRoster {
    pub items: Vec<DelegatedItem>,
    pub skipped: Vec<String>,
}

/// Reads `body` for `user`; at most `max_items` items are kept, the first
/// by JID. `Err` when the body is not a JSON object (`[]` counts as an
/// empty one, as Prosody reads it).
pub fn parse(body: &[u8], user: &BareJid, max_items: usize) -> Result<ParsedRoster, String> {
    let Answer(entries) = serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => format!("not a roster object: {e}"),
        _ => format!("invalid JSON: {e}"),
    })?;
    let mut skipped = Vec::new();
    let mut items = BTreeMap::new();
    for (key, details) in entries {
        let (name, groups, unknown) = match details {
            Details::Object {
                name,
                groups,
                unknown,
            } => (name, groups, unknown),
            Details::Other(kind) => {
                skipped.push(format!("{key}: its details are {kind}, not an object"));
                continue;
            }
        };
        let jid = match BareJid::new(&key) {
            Ok(jid) => jid,
            Err(_) => {
                skipped.push(format!("'{key}' is not a bare JID"));
                continue;
            }
        };
        if jid == *user {
            skipped.push(format!("{key}: the user's own JID"));
            continue;
        }
        for field in unknown {
            skipped.push(format!("{key}: unknown field '{field}' ignored"));
        }
        let name = match name {
            Some(Ok(n)) if n.is_empty() => None,
            Some(Ok(n)) if n.len() <= MAX_NAME_BYTES => Some(n),
            None => None,
            Some(_) => {
                skipped.push(format!(
                    "{key}: name is not a string of at most {MAX_NAME_BYTES} bytes; left out"
                ));
                None
            }
        };
        let mut groups = groups;
        groups.retain(|g| !g.is_empty() && g.len() <= MAX_NAME_BYTES);
        groups.sort();
        groups.dedup();
        let mut bytes = name.as_ref().map_or(0, String::len);
        let before = groups.len();
        groups.retain(|g| {
            bytes += g.len();
            bytes <= MAX_ITEM_BYTES
        });
        groups.truncate(MAX_GROUPS);
        if groups.len() < before {
            skipped.push(format!(
                "{key}: {} groups left out (too many or too long)",
                before - groups.len()
            ));
        }
        // Two keys may name one JID ("Bob@x" and "bob@x"): the first wins.
        items
            .entry(jid.to_string())
            .or_insert(DelegatedItem { jid, name, groups });
    }
    let total = items.len();
    let items: Vec<DelegatedItem> = items.into_values().take(max_items).collect();
    if total > items.len() {
        skipped.push(format!(
            "{} contacts left out: a roster holds at most {max_items} ([limits] roster_items)",
            total - items.len()
        ));
    }
    Ok(ParsedRoster { items, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> BareJid {
        BareJid::new("ann@school.example").unwrap()
    }

    fn read(json: &str) -> ParsedRoster {
        parse(json.as_bytes(), &ann(), 1000).unwrap()
    }

    #[test]
    fn prosody_form_and_array_groups() {
        let r = read(
            r#"{"bob@school.example": {"name": "Bob", "groups": {"Friends": true, "Work": 1}},
                "carl@school.example": {"name": "Carl", "groups": ["Class 4b", "Class 4b", ""]},
                "dora@school.example": {}}"#,
        );
        assert_eq!(r.skipped, Vec::<String>::new());
        assert_eq!(
            r.items,
            vec![
                DelegatedItem {
                    jid: BareJid::new("bob@school.example").unwrap(),
                    name: Some("Bob".into()),
                    groups: vec!["Friends".into(), "Work".into()],
                },
                DelegatedItem {
                    jid: BareJid::new("carl@school.example").unwrap(),
                    name: Some("Carl".into()),
                    groups: vec!["Class 4b".into()],
                },
                DelegatedItem {
                    jid: BareJid::new("dora@school.example").unwrap(),
                    name: None,
                    groups: vec![],
                },
            ]
        );
    }

    #[test]
    fn empty_rosters() {
        assert_eq!(read("{}"), ParsedRoster::default());
        assert_eq!(read("[]"), ParsedRoster::default());
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in ["", "null", "<html>", "[1]", "\"x\"", "{\"a@b\": 1", "false"] {
            assert!(parse(bad.as_bytes(), &ann(), 10).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_items_are_skipped_with_a_reason() {
        let r = read(
            r#"{"not a jid@@": {}, "bob@school.example/phone": {}, "ann@school.example": {},
                "null@school.example": null, "num@school.example": {"name": 5, "extra": [1]},
                "ok@school.example": {"unknown": {"deep": true}}}"#,
        );
        let jids: Vec<String> = r.items.iter().map(|i| i.jid.to_string()).collect();
        assert_eq!(jids, ["num@school.example", "ok@school.example"]);
        assert_eq!(r.items[0].name, None);
        // Four items left out, a name that is not a string, two unknown fields.
        assert_eq!(r.skipped.len(), 7, "{:?}", r.skipped);
        assert!(
            r.skipped.iter().any(
                |s| s.contains("unknown field 'deep'") || s.contains("unknown field 'unknown'")
            )
        );
    }

    #[test]
    fn deep_or_wide_junk_is_read_past() {
        let wide = format!(
            r#"{{"bob@x": {{"junk": [{}], "name": "Bob"}}}}"#,
            "0,".repeat(200_000) + "0"
        );
        let r = read(&wide);
        assert_eq!(r.items[0].name.as_deref(), Some("Bob"));
        let deep = format!(
            r#"{{"bob@x": {{"junk": {}0{}}}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(read(&deep).items.len(), 1);
        // Skipped values are walked without recursion: no stack overflow.
        let deeper = format!(
            r#"{{"bob@x": {{"junk": {}0{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(read(&deeper).items.len(), 1);
        let deep_groups = format!(
            r#"{{"bob@x": {{"groups": ["G", {}0{}]}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(read(&deep_groups).items[0].groups, ["G"]);
    }

    #[test]
    fn items_are_bounded() {
        let many: String = (0..30)
            .map(|i| format!("\"u{i:02}@x\": {{}}"))
            .collect::<Vec<_>>()
            .join(",");
        let r = parse(format!("{{{many}}}").as_bytes(), &ann(), 25).unwrap();
        assert_eq!(r.items.len(), 25);
        assert_eq!(r.items[24].jid.to_string(), "u24@x");
        assert!(
            r.skipped[0].contains("5 contacts left out"),
            "{:?}",
            r.skipped
        );

        let long = "g".repeat(1000);
        let groups: Vec<String> = (0..10).map(|i| format!("\"{i}{long}\"")).collect();
        let r = read(&format!(
            r#"{{"bob@x": {{"name": "{}", "groups": [{}]}}}}"#,
            "n".repeat(2000),
            groups.join(",")
        ));
        assert_eq!(r.items[0].name, None);
        assert_eq!(r.items[0].groups.len(), 4);
        assert_eq!(r.skipped.len(), 2, "{:?}", r.skipped);
    }
}
