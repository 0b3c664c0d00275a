//! Stream features as bytes, made once per combination: they depend only
//! on the stage, the configuration and what the transport offers, so a
//! login need not build and serialise the same tree twice per connection.

use std::sync::OnceLock;

/// What the features of a stream depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSet {
    /// Authenticated (after SASL), else before.
    pub authenticated: bool,
    /// A resource is bound already (SASL2 with Bind2).
    pub bound: bool,
    pub tls: bool,
    /// The TLS session can give `tls-exporter` data (TLS 1.3).
    pub channel_binding: bool,
    /// FAST may be offered (TLS, and the stream header named the user).
    pub fast: bool,
    /// Stream management is on already (enabled in Bind2, or resumed), so
    /// it is not offered again.
    pub stream_management: bool,
}

impl FeatureSet {
    fn index(self) -> usize {
        [
            self.authenticated,
            self.bound,
            self.tls,
            self.channel_binding,
            self.fast,
            self.stream_management,
        ]
        .into_iter()
        .enumerate()
        .map(|(bit, on)| usize::from(on) << bit)
        .sum()
    }
}

pub struct FeatureCache {
    made: [OnceLock<Vec<u8>>; 64],
}

impl Default for FeatureCache {
    fn default() -> Self {
        FeatureCache {
            made: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl FeatureCache {
    /// The features for `set`, made by `make` the first time.
    pub fn get(&self, set: FeatureSet, make: impl FnOnce() -> Vec<u8>) -> &[u8] {
        self.made[set.index()].get_or_init(make)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_has_its_own_entry() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..64u8 {
            let bit = |n: u8| i & (1 << n) != 0;
            let set = FeatureSet {
                authenticated: bit(0),
                bound: bit(1),
                tls: bit(2),
                channel_binding: bit(3),
                fast: bit(4),
                stream_management: bit(5),
            };
            assert!(seen.insert(set.index()));
        }
        let cache = FeatureCache::default();
        let set = FeatureSet {
            authenticated: false,
            bound: false,
            tls: true,
            channel_binding: true,
            fast: false,
            stream_management: false,
        };
        assert_eq!(cache.get(set, || b"first".to_vec()), b"first");
        assert_eq!(cache.get(set, || b"second".to_vec()), b"first");
    }
}
