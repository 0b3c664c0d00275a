//! Fuzzes the roster backend's answer as roostd reads it
//! (`roost_http_proto::roster_backend::parse`, issue 10): arbitrary bytes
//! must never panic, and what is kept must respect every bound the roster
//! has (number of items, names, groups, bytes per item), be sorted by JID
//! without duplicates and never hold the user's own JID.
//!
//! Input layout: the first byte is the item limit; the rest is the answer.

#![no_main]

use jid::BareJid;
use libfuzzer_sys::fuzz_target;
use roost_http_proto::roster_backend;

fuzz_target!(|data: &[u8]| {
    let Some((&limit, body)) = data.split_first() else {
        return;
    };
    let user = BareJid::new("ann@school.example").unwrap();
    let max_items = usize::from(limit % 32);
    let Ok(roster) = roster_backend::parse(body, &user, max_items) else {
        return;
    };
    assert!(roster.items.len() <= max_items);
    for pair in roster.items.windows(2) {
        assert!(
            pair[0].jid.to_string() < pair[1].jid.to_string(),
            "sorted, no duplicates"
        );
    }
    for item in &roster.items {
        assert_ne!(item.jid, user);
        assert!(
            item.name
                .as_ref()
                .is_none_or(|n| !n.is_empty() && n.len() <= 1024)
        );
        assert!(item.groups.len() <= 64);
        assert!(item.groups.windows(2).all(|g| g[0] < g[1]));
        assert!(item.groups.iter().all(|g| !g.is_empty() && g.len() <= 1024));
        let bytes = item.name.as_ref().map_or(0, String::len)
            + item.groups.iter().map(String::len).sum::<usize>();
        assert!(bytes <= 4096, "{bytes} bytes on one item");
    }
});
