//! Checks and decoding for complete tokens: XML characters and names,
//! attribute lists, character data and attribute values.
//!
//! Entity and character references are decoded by quick-xml's
//! [`unescape`], which knows only the five predefined entities and never
//! expands anything else. Attributes are split here rather than with
//! quick-xml's attribute iterator, which accepts `a='1'b='2'`, `<` in values
//! and any bytes as names, and allocates for its duplicate check.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::escape::{EscapeError, unescape};

use super::errors::StreamError;
use super::lexer::is_whitespace;

/// Rejects characters outside XML 1.0's `Char` production. Surrogates are
/// already impossible in a `str`; what is left are the C0 controls other
/// than tab, line feed and carriage return, and U+FFFE and U+FFFF.
pub(super) fn check_chars(text: &str) -> Result<(), StreamError> {
    let bytes = text.as_bytes();
    // No early exit, so that the loop vectorises: this runs on every byte.
    let controls = bytes.iter().fold(false, |found, &b| {
        found | (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r')
    });
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
    let nonchars = || {
        memchr::memchr_iter(0xEF, bytes).any(|i| {
            bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF))
        })
    };
    if controls || nonchars() {
        return Err(StreamError::malformed("character not allowed in XML"));
    }
    Ok(())
}

/// Splits a qualified name into prefix and local part, checking that both
/// are XML names without colons (Namespaces in XML, `QName`).
pub(super) fn split_qname(qname: &str) -> Result<(Option<&str>, &str), StreamError> {
    let (prefix, local) = match qname.split_once(':') {
        Some((prefix, local)) => (Some(prefix), local),
        None => (None, qname),
    };
    if prefix.is_some_and(|p| !is_ncname(p)) || !is_ncname(local) {
        return Err(StreamError::malformed(format!("bad name {qname:?}")));
    }
    Ok((prefix, local))
}

/// An XML `Name` without colons.
pub(super) fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(|c| is_name_start(c) || is_name_char(c))
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | 'a'..='z' | '_'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// Characters allowed in a name after the first, besides [`is_name_start`].
fn is_name_char(c: char) -> bool {
    matches!(c,
        '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A start tag's attribute, as byte ranges into the tag's content.
pub(super) struct RawAttr {
    pub(super) name: Range<usize>,
    pub(super) value: Range<usize>,
}

/// Splits `content[from..]` (what follows the element name) into
/// attributes, appending them to `out`. Enforces the syntax (whitespace
/// before each, `=`, quotes, no `<` in values), unique names and at most
/// `max` attributes. Names are checked by the caller.
pub(super) fn split_attributes(
    content: &str,
    from: usize,
    max: usize,
    out: &mut Vec<RawAttr>,
) -> Result<(), StreamError> {
    let bytes = content.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && is_whitespace(bytes[i]) {
            i += 1;
        }
        i
    };
    let mut i = from;
    loop {
        let after_ws = skip_ws(i);
        if after_ws == bytes.len() {
            return Ok(());
        }
        if after_ws == i {
            return Err(StreamError::malformed(
                "attributes must be separated by whitespace",
            ));
        }
        let name_start = after_ws;
        i = name_start;
        while i < bytes.len() && !is_whitespace(bytes[i]) && bytes[i] != b'=' {
            i += 1;
        }
        let name = name_start..i;
        i = skip_ws(i);
        if bytes.get(i) != Some(&b'=') {
            return Err(StreamError::malformed("attribute without a value"));
        }
        i = skip_ws(i + 1);
        let quote = match bytes.get(i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(StreamError::malformed("attribute value without quotes")),
        };
        let value_start = i + 1;
        let Some(len) = memchr::memchr(quote, &bytes[value_start..]) else {
            return Err(StreamError::malformed("unterminated attribute value"));
        };
        let value = value_start..value_start + len;
        if memchr::memchr(b'<', &bytes[value.clone()]).is_some() {
            return Err(StreamError::malformed("'<' in an attribute value"));
        }
        i = value.end + 1;
        if out
            .iter()
            .any(|a| bytes[a.name.clone()] == bytes[name.clone()])
        {
            return Err(StreamError::malformed(format!(
                "duplicate attribute {}",
                &content[name]
            )));
        }
        if out.len() == max {
            return Err(StreamError::TooManyAttributes { limit: max });
        }
        out.push(RawAttr { name, value });
    }
}

/// Decodes character data: line ends normalised to `\n` (XML 1.0 §2.11),
/// references resolved. `raw` was checked by [`check_chars`].
pub(super) fn decode_text(raw: &str) -> Result<Cow<'_, str>, StreamError> {
    let bytes = raw.as_bytes();
    if memchr::memchr_iter(b'>', bytes).any(|i| i >= 2 && bytes[i - 2..i] == *b"]]") {
        return Err(StreamError::malformed("']]>' in character data"));
    }
    let raw = normalize_line_ends(raw);
    resolve_references(raw)
}

/// Decodes the text of a CDATA section: only line ends change.
pub(super) fn decode_cdata(raw: &str) -> Cow<'_, str> {
    normalize_line_ends(raw)
}

/// Decodes an attribute value: literal tabs and line ends become spaces
/// (XML 1.0 §3.3.3, for CDATA-typed attributes), then references resolve,
/// so `&#10;` still gives a line feed.
pub(super) fn decode_attribute(raw: &str) -> Result<Cow<'_, str>, StreamError> {
    let raw = if raw.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
        Cow::Owned(raw.replace("\r\n", " ").replace(['\t', '\n', '\r'], " "))
    } else {
        Cow::Borrowed(raw)
    };
    resolve_references(raw)
}

fn normalize_line_ends(raw: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\r', raw.as_bytes()).is_some() {
        Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(raw)
    }
}

fn resolve_references(raw: Cow<'_, str>) -> Result<Cow<'_, str>, StreamError> {
    if memchr::memchr(b'&', raw.as_bytes()).is_none() {
        return Ok(raw);
    }
    let decoded = unescape(&raw).map_err(reference_error)?.into_owned();
    // A character reference can name a character that may not appear
    // literally (quick-xml refuses only `&#0;`).
    check_chars(&decoded)?;
    Ok(Cow::Owned(decoded))
}

fn reference_error(e: EscapeError) -> StreamError {
    match e {
        EscapeError::UnrecognizedEntity(_, name) if is_ncname(&name) => {
            StreamError::RestrictedXml("entity reference other than the predefined ones")
        }
        e => StreamError::malformed(format!("bad reference: {e}")),
    }
}
