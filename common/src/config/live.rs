//! Options a reload changes while roostd runs (`[limits]`, `[invite_page]`).
//!
//! Such an option sits in a [`Live`] cell inside [`super::Config`]. Every
//! holder of the running configuration shares the cells, so the reload
//! swaps a value once and each reader sees it at its next [`Live::get`]; a
//! reader holding the `Arc` it got keeps a consistent value until it is
//! done. The other options are fixed at start.

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Deserializer};

/// A value that a reload may replace. Clones share the value: a clone of
/// the running configuration follows its reloads.
pub struct Live<T>(Arc<RwLock<Arc<T>>>);

impl<T> Live<T> {
    pub fn new(value: T) -> Live<T> {
        Live(Arc::new(RwLock::new(Arc::new(value))))
    }

    /// The current value.
    pub fn get(&self) -> Arc<T> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the value for every holder.
    pub fn replace(&self, value: T) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
    }

    /// Changes the value in place (for every holder).
    pub fn update(&self, change: impl FnOnce(&mut T))
    where
        T: Clone,
    {
        let mut value = (*self.get()).clone();
        change(&mut value);
        self.replace(value);
    }
}

impl<T> Clone for Live<T> {
    fn clone(&self) -> Live<T> {
        Live(self.0.clone())
    }
}

impl<T: Default> Default for Live<T> {
    fn default() -> Live<T> {
        Live::new(T::default())
    }
}

impl<T: PartialEq> PartialEq for Live<T> {
    fn eq(&self, other: &Live<T>) -> bool {
        *self.get() == *other.get()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Live<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Live<T>, D::Error> {
        T::deserialize(deserializer).map(Live::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_see_a_replacement_and_held_values_stay() {
        let running = Live::new(5);
        let reader = running.clone();
        let held = reader.get();
        running.replace(7);
        assert_eq!(*reader.get(), 7);
        assert_eq!(*held, 5);
        reader.update(|v| *v += 1);
        assert_eq!(*running.get(), 8);
    }
}
