//! Sans-IO reading of the server's stanzas: where the next whole top-level
//! element ends in the received bytes, its attributes, and the roster items
//! in it.
//!
//! As in the shared loadgen this is not a general XML parser: the server
//! under test is ours and writes no comments, CDATA or processing
//! instructions after the stream header, and escapes `<` and `>` in
//! attribute values and text. Anything else is reported, never skipped.

use std::collections::BTreeSet;

use memchr::memchr;

use crate::conn::find;

/// What the start of a buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A whole element at `start..end` (leading whitespace skipped).
    Element {
        start: usize,
        end: usize,
    },
    /// Not a whole element yet.
    Incomplete,
    /// `</stream:stream>`: the server closed the stream.
    StreamEnd,
    Invalid(String),
}

/// Finds the first whole top-level element in `buf`.
pub fn next_element(buf: &[u8]) -> Next {
    let Some(start) = buf.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Next::Incomplete;
    };
    if buf[start] != b'<' {
        return Next::Invalid(format!(
            "text between stanzas: {}",
            crate::conn::excerpt(&buf[start..], 100)
        ));
    }
    if buf[start..].starts_with(b"</stream:stream") {
        return Next::StreamEnd;
    }
    let mut depth = 0usize;
    let mut at = start;
    loop {
        let Some(lt) = memchr(b'<', &buf[at..]) else {
            return Next::Incomplete;
        };
        let tag = at + lt;
        let Some(gt) = tag_end(&buf[tag..]) else {
            return Next::Incomplete;
        };
        let end = tag + gt + 1;
        match buf.get(tag + 1) {
            Some(b'/') => {
                if depth == 0 {
                    return Next::Invalid(format!(
                        "end tag without a start: {}",
                        crate::conn::excerpt(&buf[tag..], 100)
                    ));
                }
                depth -= 1;
            }
            Some(b'!' | b'?') => {
                return Next::Invalid(format!(
                    "comment, CDATA or processing instruction: {}",
                    crate::conn::excerpt(&buf[tag..], 100)
                ))
            }
            _ if buf[end - 2] == b'/' => {}
            _ => depth += 1,
        }
        if depth == 0 {
            return Next::Element { start, end };
        }
        at = end;
    }
}

/// Offset of the `>` that ends the tag `tag` starts with, outside quoted
/// attribute values.
fn tag_end(tag: &[u8]) -> Option<usize> {
    let mut quote = None;
    for (k, &b) in tag.iter().enumerate().skip(1) {
        match (quote, b) {
            (None, b'\'' | b'"') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return Some(k),
            _ => {}
        }
    }
    None
}

/// The start tag an element begins with.
pub fn start_tag(el: &[u8]) -> &[u8] {
    tag_end(el).map(|k| &el[..=k]).unwrap_or(el)
}

/// Is `el` a `<name …>` element (not `<name-something`)?
pub fn is(el: &[u8], name: &str) -> bool {
    el.len() > name.len() + 1
        && el[0] == b'<'
        && &el[1..=name.len()] == name.as_bytes()
        && matches!(
            el[name.len() + 1],
            b' ' | b'>' | b'/' | b'\t' | b'\n' | b'\r'
        )
}

/// Value of attribute `name` in a start tag (either quote), unescaped.
pub fn attr(tag: &[u8], name: &str) -> Option<String> {
    for quote in [b'\'', b'"'] {
        for ws in [b' ', b'\t', b'\n', b'\r'] {
            let pattern = [&[ws][..], name.as_bytes(), b"=", &[quote][..]].concat();
            if let Some(at) = find(tag, &pattern) {
                let value = &tag[at + pattern.len()..];
                let end = value.iter().position(|&b| b == quote)?;
                return Some(unescape(&String::from_utf8_lossy(&value[..end])));
            }
        }
    }
    None
}

/// A roster `<item/>` as received.
#[derive(Debug, PartialEq, Eq)]
pub struct Item {
    pub jid: String,
    pub name: Option<String>,
    pub subscription: Option<String>,
    pub groups: BTreeSet<String>,
}

/// The `<item>`s of a roster query (result or push) `el`.
pub fn roster_items(el: &[u8]) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut rest = el;
    while let Some(at) = find(rest, b"<item") {
        let from = &rest[at..];
        if !is(from, "item") {
            rest = &from[5..];
            continue;
        }
        let tag = start_tag(from);
        let jid = attr(tag, "jid").ok_or_else(|| {
            format!(
                "roster item without a jid: {}",
                crate::conn::excerpt(tag, 200)
            )
        })?;
        let (body, next) = if tag.ends_with(b"/>") {
            (&b""[..], &from[tag.len()..])
        } else {
            let close = find(from, b"</item>")
                .ok_or_else(|| format!("unclosed item: {}", crate::conn::excerpt(from, 200)))?;
            (&from[tag.len()..close], &from[close + 7..])
        };
        let mut groups = BTreeSet::new();
        let mut g = body;
        while let Some(open) = find(g, b"<group") {
            let gtag = start_tag(&g[open..]);
            let after = &g[open + gtag.len()..];
            if gtag.ends_with(b"/>") {
                groups.insert(String::new());
                g = after;
                continue;
            }
            let close = find(after, b"</group>").ok_or("unclosed group")?;
            groups.insert(unescape(&String::from_utf8_lossy(&after[..close])));
            g = &after[close + 8..];
        }
        items.push(Item {
            jid,
            name: attr(tag, "name"),
            subscription: attr(tag, "subscription"),
            groups,
        });
        rest = next;
    }
    Ok(items)
}

/// The five predefined entities and character references.
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..semi];
        let c = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=semi]),
        }
        rest = &tail[semi + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_elements_only() {
        let push = b" <iq type='set' id='p1'><query xmlns='jabber:iq:roster' ver='7'><item jid='a@d' name='x &gt; y' subscription='both'><group>G</group></item></query></iq><presence/>";
        let Next::Element { start, end } = next_element(push) else {
            panic!()
        };
        assert_eq!(start, 1);
        assert!(push[..end].ends_with(b"</iq>"));
        assert_eq!(
            next_element(&push[end..]),
            Next::Element {
                start: 0,
                end: b"<presence/>".len()
            }
        );
        for cut in 1..end - 1 {
            assert_eq!(next_element(&push[..cut]), Next::Incomplete, "cut at {cut}");
        }
        assert_eq!(next_element(b"\n</stream:stream>"), Next::StreamEnd);
        assert!(matches!(next_element(b"x<a/>"), Next::Invalid(_)));
        assert!(matches!(next_element(b"</a>"), Next::Invalid(_)));
        assert!(matches!(
            next_element(b"<a><!-- c --></a>"),
            Next::Invalid(_)
        ));
    }

    #[test]
    fn quoted_gt_does_not_end_a_tag() {
        let el = b"<presence from=\"a>b\" type='x>y'/><next/>";
        let Next::Element { end, .. } = next_element(el) else {
            panic!()
        };
        assert_eq!(&el[..end], b"<presence from=\"a>b\" type='x>y'/>");
        assert_eq!(attr(start_tag(el), "from").as_deref(), Some("a>b"));
    }

    #[test]
    fn attributes_and_names() {
        let tag = b"<iq id='a&apos;b' type=\"set\" xtype='no'>";
        assert_eq!(attr(tag, "id").as_deref(), Some("a'b"));
        assert_eq!(attr(tag, "type").as_deref(), Some("set"));
        assert_eq!(attr(tag, "ty"), None);
        assert!(is(b"<iq type='x'/>", "iq"));
        assert!(!is(b"<iqx/>", "iq"));
        assert!(is(b"<presence/>", "presence"));
    }

    #[test]
    fn roster_items_with_groups() {
        let el = b"<iq type='result' id='r'><query xmlns='jabber:iq:roster' ver='3'>\
<item jid='a@d' name='A' subscription='both'><group>Class 1</group><group>B&amp;C</group></item>\
<item subscription='remove' jid='b@d'/><items/><item jid='c@d'></item></query></iq>";
        let items = roster_items(el).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].jid, "a@d");
        assert_eq!(items[0].name.as_deref(), Some("A"));
        assert_eq!(
            items[0].groups,
            ["Class 1".to_owned(), "B&C".to_owned()].into()
        );
        assert_eq!(items[1].subscription.as_deref(), Some("remove"));
        assert!(items[1].groups.is_empty());
        assert_eq!(items[2].name, None);
        assert!(roster_items(b"<query><item name='x'/></query>").is_err());
    }
}
