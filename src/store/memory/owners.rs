//! Each owner's tasks, all of them and by status, for a customer's
//! listings: kept apart from the shards, one set of trees per owner,
//! split by owner among a few locks (*stripes*).
//!
//! Kept per shard, an owner's tasks were in a set of trees in each of the
//! 32 shards: with 100 owners, 3 200 sets, each claim and save reaching a
//! path of one that the last hundred calls had not touched (half of the
//! cache misses of a claim-and-complete cycle among 1 000 000 tasks).
//! Kept per owner, the few places a claim and a save reach in an owner's
//! trees (the oldest pending tasks, the running ones, the newest settled)
//! are 100 paths, which stay in the last-level cache between two visits.
//!
//! A stripe's lock is the innermost of the store's: it is taken under a
//! shard's write lock by what changes an owner's sets (a writer changes
//! them only while it holds the task's shard), or under every shard's
//! read lock by a listing, and no other lock is taken while it is held.
//! So a listing sees each owner's sets as its shards' tasks are. The
//! sections under it only move ids between trees and cannot panic; a
//! lock is poisoned only by a panic elsewhere in its thread, after the
//! section ended, and its sets are then whole: poisoning is ignored.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::slots::Slots;
use crate::actor::Owner;
use crate::id::TaskId;
use crate::status::Status;

/// How many locks the owners are split among.
const STRIPES: usize = 32;

/// Every owner's sets, under the stripe of its owner.
#[derive(Debug)]
pub(super) struct Owners {
    stripes: [RwLock<Slots<Owner, OwnerSets>>; STRIPES],
    hashing: RandomState,
}

impl Default for Owners {
    fn default() -> Self {
        Owners {
            stripes: std::array::from_fn(|_| RwLock::default()),
            hashing: RandomState::new(),
        }
    }
}

/// Where a stored task's owner keeps its sets: its stripe, and its slot
/// in the stripe.
#[derive(Clone, Copy, Debug)]
pub(super) struct OwnerSlot {
    stripe: usize,
    slot: usize,
}

/// The ids of one owner's tasks: all of them, and those of each status
/// in a tree of their own. (One tree keyed by status and id costs more:
/// a claim moving a task from pending to running walks it twice from the
/// root, where the running tasks' own small tree is one node.)
#[derive(Debug, Default)]
pub(super) struct OwnerSets {
    all: BTreeSet<TaskId>,
    by_status: [BTreeSet<TaskId>; Status::COUNT],
}

/// A stripe read by a listing: the sets of the owners it holds.
pub(super) struct OwnersRead<'a>(RwLockReadGuard<'a, Slots<Owner, OwnerSets>>);

impl OwnersRead<'_> {
    /// The sets of `owner`, if it has stored tasks.
    pub(super) fn of(&self, owner: &Owner) -> Option<&OwnerSets> {
        self.0.of(owner)
    }
}

impl Owners {
    fn stripe_of(&self, owner: &Owner) -> usize {
        // The remainder of a hash: below the number of stripes.
        (self.hashing.hash_one(owner) % STRIPES as u64) as usize
    }

    fn write(&self, stripe: usize) -> Option<RwLockWriteGuard<'_, Slots<Owner, OwnerSets>>> {
        let lock = self.stripes.get(stripe)?;
        Some(lock.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// The stripe that holds `owner`'s sets, read.
    pub(super) fn read(&self, owner: &Owner) -> Option<OwnersRead<'_>> {
        let lock = self.stripes.get(self.stripe_of(owner))?;
        Some(OwnersRead(
            lock.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// A task `id` of `owner`, in `status`, is stored: the slot of its
    /// owner's sets, which it keeps.
    pub(super) fn enter(&self, owner: &Owner, id: TaskId, status: Status) -> OwnerSlot {
        let stripe = self.stripe_of(owner);
        let mut slots = self.write(stripe);
        let slot = slots
            .as_mut()
            .map_or(0, |slots| slots.enter(owner, OwnerSets::default));
        if let Some(sets) = slots.as_mut().and_then(|slots| slots.get_mut(slot)) {
            sets.all.insert(id);
            sets.put(id, status, true);
        }
        OwnerSlot { stripe, slot }
    }

    /// The task `id`, in `status`, whose owner's sets are at `at`, is no
    /// longer stored.
    pub(super) fn leave(&self, at: OwnerSlot, id: TaskId, status: Status) {
        if let Some(mut slots) = self.write(at.stripe) {
            if let Some(sets) = slots.get_mut(at.slot) {
                sets.all.remove(&id);
                sets.put(id, status, false);
            }
            slots.leave(at.slot, OwnerSets::is_idle);
        }
    }

    /// The task `id`, whose owner's sets are at `at`, moved from the
    /// status `from` to `to`.
    pub(super) fn moved(&self, at: OwnerSlot, id: TaskId, from: Status, to: Status) {
        if from == to {
            return;
        }
        if let Some(sets) = self
            .write(at.stripe)
            .as_mut()
            .and_then(|slots| slots.get_mut(at.slot))
        {
            sets.put(id, from, false);
            sets.put(id, to, true);
        }
    }
}

impl OwnerSets {
    fn is_idle(&self) -> bool {
        self.all.is_empty()
    }

    /// Adds the task `id` of `status`, or removes it (`add == false`).
    fn put(&mut self, id: TaskId, status: Status, add: bool) {
        if let Some(set) = self.by_status.get_mut(status.index()) {
            if add {
                set.insert(id);
            } else {
                set.remove(&id);
            }
        }
    }

    /// Every task of the owner.
    pub(super) fn all(&self) -> &BTreeSet<TaskId> {
        &self.all
    }

    /// The owner's tasks in `status`.
    pub(super) fn of_status(&self, status: Status) -> Option<&BTreeSet<TaskId>> {
        self.by_status.get(status.index())
    }
}

#[cfg(test)]
mod tests {
    use super::Owners;
    use crate::actor::Owner;
    use crate::id::TaskId;
    use crate::status::Status;

    fn id(n: u128) -> TaskId {
        TaskId::from(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn an_owner_s_sets_follow_its_tasks_and_go_with_the_last() {
        let owners = Owners::default();
        let alice = Owner::new("alice");
        let first = owners.enter(&alice, id(1), Status::Pending);
        let second = owners.enter(&alice, id(2), Status::Pending);
        owners.moved(first, id(1), Status::Pending, Status::Running);
        let read = |status| {
            let stripe = owners.read(&alice);
            stripe
                .as_ref()
                .and_then(|stripe| stripe.of(&alice))
                .map(|sets| {
                    let ids = sets.of_status(status).into_iter().flatten().copied();
                    (sets.all().len(), ids.collect::<Vec<_>>())
                })
        };
        assert_eq!(read(Status::Pending), Some((2, vec![id(2)])));
        assert_eq!(read(Status::Running), Some((2, vec![id(1)])));
        owners.leave(first, id(1), Status::Running);
        assert_eq!(read(Status::Running), Some((1, vec![])));
        owners.leave(second, id(2), Status::Pending);
        assert_eq!(read(Status::Pending), None, "no task left: the sets go");
    }
}
