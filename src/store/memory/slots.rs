//! Values kept by a key (an owner, a resource, a kind) under a small
//! number, the key's *slot*: a stored task keeps the slots of its owner,
//! resource and kind, so that a claim and a save reach what is kept for
//! them by indexing a vector, without hashing the key's strings again.
//!
//! A slot is counted by the stored tasks that keep it: it lives while
//! one does, and is reused once the last one is removed.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// The values of the keys in use, each under its slot.
#[derive(Debug)]
pub(super) struct Slots<K, V> {
    by_key: HashMap<K, usize>,
    entries: Vec<Option<Slot<K, V>>>,
    free: Vec<usize>,
}

#[derive(Debug)]
struct Slot<K, V> {
    key: K,
    /// How many stored tasks keep this slot.
    users: usize,
    value: V,
}

impl<K, V> Default for Slots<K, V> {
    fn default() -> Self {
        Slots {
            by_key: HashMap::new(),
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> Slots<K, V> {
    /// The slot of `key`, if it is in use.
    pub(super) fn find<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.by_key.get(key).copied()
    }

    /// One more user of `key`'s slot, made (its value by `make`) if the
    /// key has none: the slot.
    pub(super) fn enter<Q>(&mut self, key: &Q, make: impl FnOnce() -> V) -> usize
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let slot = match self.by_key.get(key) {
            Some(&slot) => slot,
            None => {
                let entry = Slot {
                    key: key.to_owned(),
                    users: 0,
                    value: make(),
                };
                let slot = match self.free.pop() {
                    Some(slot) => {
                        if let Some(place) = self.entries.get_mut(slot) {
                            *place = Some(entry);
                        }
                        slot
                    }
                    None => {
                        self.entries.push(Some(entry));
                        self.entries.len() - 1
                    }
                };
                self.by_key.insert(key.to_owned(), slot);
                slot
            }
        };
        if let Some(Some(entry)) = self.entries.get_mut(slot) {
            entry.users += 1;
        }
        slot
    }

    /// One user fewer of `slot`; the slot goes when it has none left and
    /// `idle` says its value holds nothing.
    pub(super) fn leave(&mut self, slot: usize, idle: impl Fn(&V) -> bool) {
        if let Some(Some(entry)) = self.entries.get_mut(slot) {
            entry.users = entry.users.saturating_sub(1);
        }
        self.release(slot, idle);
    }

    /// Drops `slot` if no stored task keeps it and `idle` says its value
    /// holds nothing.
    pub(super) fn release(&mut self, slot: usize, idle: impl Fn(&V) -> bool) {
        let Some(place) = self.entries.get_mut(slot) else {
            return;
        };
        if place
            .as_ref()
            .is_some_and(|entry| entry.users == 0 && idle(&entry.value))
            && let Some(entry) = place.take()
        {
            self.by_key.remove(&entry.key);
            self.free.push(slot);
        }
    }

    /// The value of `slot`.
    pub(super) fn get(&self, slot: usize) -> Option<&V> {
        Some(&self.entries.get(slot)?.as_ref()?.value)
    }

    /// The value of `slot`, to change.
    pub(super) fn get_mut(&mut self, slot: usize) -> Option<&mut V> {
        Some(&mut self.entries.get_mut(slot)?.as_mut()?.value)
    }

    /// The value kept for `key`, if it is in use.
    pub(super) fn of<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(self.find(key)?)
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;

    #[test]
    fn a_slot_lives_while_it_has_users_or_its_value_is_busy() {
        let mut slots: Slots<String, usize> = Slots::default();
        let a = slots.enter("a", || 0);
        assert_eq!(slots.enter("a", || 99), a);
        let b = slots.enter("b", || 7);
        assert_ne!(a, b);
        assert_eq!(slots.of("b"), Some(&7));
        slots.leave(a, |_| true);
        assert_eq!(slots.find("a"), Some(a), "one user left");
        if let Some(value) = slots.get_mut(a) {
            *value = 1;
        }
        slots.leave(a, |value| *value == 0);
        assert_eq!(slots.find("a"), Some(a), "its value is busy");
        if let Some(value) = slots.get_mut(a) {
            *value = 0;
        }
        slots.release(a, |value| *value == 0);
        assert_eq!(slots.find("a"), None);
        assert!(slots.get(a).is_none());
        // The freed slot is reused.
        assert_eq!(slots.enter("c", || 3), a);
        assert_eq!(slots.of("c"), Some(&3));
    }
}
