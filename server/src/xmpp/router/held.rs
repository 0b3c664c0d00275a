//! What an inactive session holds back (XEP-0352 client state
//! indication): presence updates and stanzas without content, delivered
//! together once the client is active again. An update that makes an
//! earlier one obsolete (the same contact's newer presence) replaces it.
//! Bounded: past [`MAX_HELD_STANZAS`] or [`MAX_HELD_BYTES`] everything held
//! is let through, as if the client had become active. Held stanzas go
//! with the session when it ends (stream management will have to hand them
//! to its resend queue).

use std::collections::VecDeque;

use bytes::Bytes;

/// Most stanzas held for one session.
pub const MAX_HELD_STANZAS: usize = 256;
/// Most bytes held for one session.
pub const MAX_HELD_BYTES: usize = 256 * 1024;

#[derive(Debug, Default)]
pub struct Held {
    /// In arrival order, each with what makes a later one replace it.
    stanzas: VecDeque<(Option<Box<str>>, Bytes)>,
    bytes: usize,
}

/// What [`Held::hold`] did with a stanza.
#[derive(Debug, PartialEq, Eq)]
pub enum Holding {
    Held,
    /// Full: these (everything held, then the new stanza) are to be sent now.
    Overflow(Vec<Bytes>),
}

impl Held {
    /// Holds `bytes`, dropping an earlier stanza with the same `replaces`
    /// key; past [`MAX_HELD_STANZAS`] or `max_bytes` everything goes.
    pub fn hold(&mut self, replaces: Option<&str>, bytes: Bytes, max_bytes: usize) -> Holding {
        if let Some(key) = replaces {
            self.forget(key);
        }
        if self.stanzas.len() >= MAX_HELD_STANZAS || self.bytes + bytes.len() > max_bytes {
            let mut all = self.release();
            all.push(bytes);
            return Holding::Overflow(all);
        }
        self.bytes += bytes.len();
        self.stanzas.push_back((replaces.map(Into::into), bytes));
        Holding::Held
    }

    /// Drops the stanza held under `key`, if any.
    pub fn forget(&mut self, key: &str) {
        if let Some(at) = self
            .stanzas
            .iter()
            .position(|(k, _)| k.as_deref() == Some(key))
            && let Some((_, old)) = self.stanzas.remove(at)
        {
            self.bytes -= old.len();
        }
    }

    /// Everything held, in order, leaving nothing.
    pub fn release(&mut self) -> Vec<Bytes> {
        self.bytes = 0;
        self.stanzas.drain(..).map(|(_, bytes)| bytes).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(text: &'static str) -> Bytes {
        Bytes::from_static(text.as_bytes())
    }

    #[test]
    fn a_newer_update_replaces_the_older_one_in_its_place_at_the_end() {
        let mut held = Held::default();
        assert_eq!(
            held.hold(Some("bob/a"), b("bob away"), MAX_HELD_BYTES),
            Holding::Held
        );
        assert_eq!(
            held.hold(None, b("chat state"), MAX_HELD_BYTES),
            Holding::Held
        );
        assert_eq!(
            held.hold(Some("carol/b"), b("carol online"), MAX_HELD_BYTES),
            Holding::Held
        );
        assert_eq!(
            held.hold(Some("bob/a"), b("bob back"), MAX_HELD_BYTES),
            Holding::Held
        );
        assert_eq!(
            held.release(),
            [b("chat state"), b("carol online"), b("bob back")]
        );
        assert!(held.release().is_empty());
    }

    #[test]
    fn past_its_bounds_everything_goes_through() {
        let mut held = Held::default();
        for _ in 0..MAX_HELD_STANZAS {
            assert_eq!(held.hold(None, b("x"), MAX_HELD_BYTES), Holding::Held);
        }
        match held.hold(None, b("one more"), MAX_HELD_BYTES) {
            Holding::Overflow(all) => {
                assert_eq!(all.len(), MAX_HELD_STANZAS + 1);
                assert_eq!(all.last(), Some(&b("one more")));
            }
            other => panic!("{other:?}"),
        }
        let big = Bytes::from(vec![b'x'; MAX_HELD_BYTES]);
        assert_eq!(held.hold(None, b("small"), MAX_HELD_BYTES), Holding::Held);
        assert!(
            matches!(held.hold(None, big, MAX_HELD_BYTES), Holding::Overflow(all) if all.len() == 2)
        );
    }
}
