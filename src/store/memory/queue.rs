//! The claim queue of the in-memory store.
//!
//! A claim must not walk past the tasks a blocking task holds back, so
//! those are kept out of what a claim looks at. Pending tasks that are due
//! sit in *lanes*, one per resource, kind and blocking setting, each
//! ordered by rank (priority, then due time, then id). A lane is *open*
//! while its resource lets its tasks start (no blocking task in progress
//! there for a lane of tasks that do not block; nothing in progress there
//! for a lane of blocking tasks); the best rank of each open lane is in
//! its kind's `open` map, and the best of those in `heads`. A claim takes
//! the best open rank, so it
//! costs a few B-tree steps however many tasks are held back, and a
//! resource that becomes blocked or free moves only its lanes. Tasks not
//! due by the *horizon* (the latest time the queue knows has come: a
//! claim's time, or a task's last change) wait in `scheduled`, and move
//! to their lane when a claim's time passes theirs.
//!
//! The queue needs no task to do its work: a scheduled entry names its
//! lane, so a claim [`pick`](Queue::pick)s tasks holding the queue's lock
//! only, and starts each afterwards under its task's shard. A pick takes
//! the task out of its lane and counts it in progress on its resource at
//! once, so that no other claim breaks the blocking rule meanwhile; a
//! pick that does not start is [`unpick`](Queue::unpick)ed.
//!
//! Resources and kinds are kept under [`Slots`]: a stored task is
//! [`admit`](Queue::admit)ted once, keeps the slots of its resource and
//! kind, and names them in its entries, so that no claim or save hashes
//! a resource's or a kind's strings.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::slots::Slots;
use crate::command::ResourceRef;
use crate::id::TaskId;

/// The order of claims: the highest priority, then the earliest due, then
/// the smallest id.
pub(super) type Rank = (Reverse<i32>, DateTime<Utc>, TaskId);

/// The slots a stored task keeps in the queue: its resource's and its
/// kind's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Admitted {
    resource: usize,
    kind: usize,
}

/// What the queue needs to know of a pending task.
pub(super) struct Entry {
    pub id: TaskId,
    pub admitted: Admitted,
    pub blocking: bool,
    pub priority: i32,
    pub due: DateTime<Utc>,
    /// A time that has come: the task's last change.
    pub seen: DateTime<Utc>,
}

impl Entry {
    fn rank(&self) -> Rank {
        (Reverse(self.priority), self.due, self.id)
    }
}

/// A lane: the due tasks of one resource, kind and blocking setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LaneId {
    resource: usize,
    slot: usize,
}

#[derive(Debug)]
struct Lane {
    /// The slot of its kind.
    kind: usize,
    blocking: bool,
    ranks: Ranks,
    /// The rank this lane has in `open`, if it is open and not empty.
    listed: Option<Rank>,
}

/// The ranks of a lane's tasks: the best kept apart from the others, so
/// that the lane of a single task (a resource with one task pending, the
/// usual case) allocates no B-tree node and a claim reads no more than
/// the lane to take its task and see what comes next.
#[derive(Debug, Default)]
struct Ranks {
    best: Option<Rank>,
    others: BTreeSet<Rank>,
}

impl Ranks {
    fn first(&self) -> Option<&Rank> {
        self.best.as_ref()
    }

    fn is_empty(&self) -> bool {
        self.best.is_none()
    }

    fn insert(&mut self, rank: Rank) {
        match self.best {
            None => self.best = Some(rank),
            Some(best) if rank < best => {
                self.others.insert(best);
                self.best = Some(rank);
            }
            Some(best) if rank == best => {}
            Some(_) => {
                self.others.insert(rank);
            }
        }
    }

    fn remove(&mut self, rank: &Rank) {
        if self.best.as_ref() == Some(rank) {
            self.best = self.others.pop_first();
        } else {
            self.others.remove(rank);
        }
    }
}

/// The lanes of one resource, by slot: the first in place (a resource
/// usually has one lane, and a claim reads it with the resource's counts
/// instead of following a pointer to it), the others apart. A lane stays
/// as long as its resource.
#[derive(Debug, Default)]
struct Lanes {
    first: Option<Lane>,
    others: Vec<Lane>,
}

impl Lanes {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.others.len()
    }

    fn get(&self, slot: usize) -> Option<&Lane> {
        match slot.checked_sub(1) {
            None => self.first.as_ref(),
            Some(other) => self.others.get(other),
        }
    }

    fn get_mut(&mut self, slot: usize) -> Option<&mut Lane> {
        match slot.checked_sub(1) {
            None => self.first.as_mut(),
            Some(other) => self.others.get_mut(other),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Lane> {
        self.first.iter().chain(&self.others)
    }

    /// A new lane: its slot.
    fn push(&mut self, lane: Lane) -> usize {
        if self.first.is_none() {
            self.first = Some(lane);
            0
        } else {
            self.others.push(lane);
            self.others.len()
        }
    }
}

/// The lanes of one resource and what is in progress on it.
#[derive(Debug, Default)]
struct OnResource {
    lanes: Lanes,
    in_progress: usize,
    blocking_in_progress: usize,
    /// How many scheduled entries name a lane of this resource: the
    /// resource's entry lives while it has any.
    scheduled: usize,
}

impl OnResource {
    /// Whether nothing is due or in progress on it: with no stored task
    /// on it either, its slot goes.
    fn is_idle(&self) -> bool {
        self.in_progress == 0
            && self.scheduled == 0
            && self.lanes.iter().all(|lane| lane.ranks.is_empty())
    }
}

/// A task a claim took out of its lane, counted in progress on its
/// resource until it starts or is [`unpick`](Queue::unpick)ed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pick {
    pub id: TaskId,
    pub blocking: bool,
    lane: LaneId,
}

/// What the queue keeps for one kind: its open lanes' best ranks and
/// its scheduled tasks, for claims of some kinds only.
#[derive(Debug, Default)]
struct OnKind {
    open: BTreeMap<Rank, LaneId>,
    scheduled: BTreeSet<(DateTime<Utc>, TaskId)>,
}

impl OnKind {
    fn is_idle(&self) -> bool {
        self.open.is_empty() && self.scheduled.is_empty()
    }
}

#[derive(Debug, Default)]
pub(super) struct Queue {
    /// Pending tasks not yet due at the latest claim's time, by due time,
    /// with their lane and priority.
    scheduled: BTreeMap<(DateTime<Utc>, TaskId), (LaneId, i32)>,
    /// The latest time a claim promoted scheduled tasks at.
    horizon: Option<DateTime<Utc>>,
    resources: Slots<ResourceRef, OnResource>,
    kinds: Slots<String, OnKind>,
    /// The best open rank of each kind, for claims of any kind.
    heads: Heads,
}

/// The best open rank (and its lane) of each kind, by kind slot, in a
/// tournament tree: the best of all at its root, and a change of one
/// kind's costs the logarithm of the number of kinds (no more B-tree of
/// every open lane to keep beside the kinds' own).
#[derive(Debug, Default)]
struct Heads {
    /// `width - 1` inner nodes, then `width` leaves, one per kind slot:
    /// node `i`'s children are `2i + 1` and `2i + 2`, and each node holds
    /// the best of its children.
    nodes: Vec<Option<(Rank, LaneId)>>,
    width: usize,
}

/// The better of two heads: the smaller rank, any rank before none.
fn better(a: Option<(Rank, LaneId)>, b: Option<(Rank, LaneId)>) -> Option<(Rank, LaneId)> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

impl Heads {
    /// The best open rank of all, and its lane.
    fn best(&self) -> Option<(Rank, LaneId)> {
        self.nodes.first().copied().flatten()
    }

    /// The kind of slot `kind` has `head` as its best open rank now.
    fn set(&mut self, kind: usize, head: Option<(Rank, LaneId)>) {
        if kind >= self.width {
            if head.is_none() {
                return;
            }
            self.grow(kind + 1);
        }
        let mut at = self.width - 1 + kind;
        if let Some(leaf) = self.nodes.get_mut(at) {
            *leaf = head;
        }
        while at > 0 {
            at = (at - 1) / 2;
            let children = (
                self.nodes.get(2 * at + 1).copied().flatten(),
                self.nodes.get(2 * at + 2).copied().flatten(),
            );
            let best = better(children.0, children.1);
            match self.nodes.get_mut(at) {
                // Unchanged here, unchanged above.
                Some(node) if *node == best => break,
                Some(node) => *node = best,
                None => break,
            }
        }
    }

    /// Room for `kinds` leaves at least, the heads kept.
    fn grow(&mut self, kinds: usize) {
        let leaves: Vec<_> = self
            .nodes
            .get(self.width.saturating_sub(1)..)
            .unwrap_or_default()
            .to_vec();
        self.width = kinds.next_power_of_two().max(4);
        self.nodes = vec![None; 2 * self.width - 1];
        for (kind, head) in leaves.into_iter().enumerate() {
            self.set(kind, head);
        }
    }
}

impl Queue {
    /// A task enters the store: the slots of its resource and kind, kept
    /// until it is [`dismiss`](Queue::dismiss)ed.
    pub(super) fn admit(&mut self, resource: &ResourceRef, kind: &str) -> Admitted {
        Admitted {
            resource: self.resources.enter(resource, OnResource::default),
            kind: self.kinds.enter(kind, OnKind::default),
        }
    }

    /// A task leaves the store, its entries out of the queue already.
    pub(super) fn dismiss(&mut self, admitted: Admitted) {
        self.resources.leave(admitted.resource, OnResource::is_idle);
        self.kinds.leave(admitted.kind, OnKind::is_idle);
    }

    /// A pending task enters the queue: its lane if it is due by the
    /// latest time the queue knows has come, else the schedule.
    pub(super) fn add(&mut self, entry: &Entry) {
        self.saw(entry.seen);
        if self.horizon.is_some_and(|horizon| entry.due <= horizon) {
            self.add_to_lane(entry);
        } else {
            self.schedule(entry);
        }
    }

    /// A pending task into the schedule, whatever its due time: a claim
    /// promotes it when its time has come, the next claim at the earliest.
    pub(super) fn schedule(&mut self, entry: &Entry) {
        let Some(lane) = self.lane_of(entry) else {
            return;
        };
        if self
            .scheduled
            .insert((entry.due, entry.id), (lane, entry.priority))
            .is_none()
            && let Some(on) = self.resources.get_mut(lane.resource)
        {
            on.scheduled += 1;
        }
        if let Some(on) = self.kinds.get_mut(entry.admitted.kind) {
            on.scheduled.insert((entry.due, entry.id));
        }
    }

    /// A pending task leaves the queue (started, cancelled, removed), if
    /// it is there: it is not while a claim has it picked.
    pub(super) fn remove(&mut self, entry: &Entry) {
        if self.unschedule(entry) {
            return;
        }
        let resource = entry.admitted.resource;
        if let Some(slot) = self.slot(resource, entry.admitted.kind, entry.blocking) {
            self.take(LaneId { resource, slot }, entry.rank());
        }
    }

    /// A task of `admitted` enters (`add`) or leaves progress on its
    /// resource.
    pub(super) fn in_progress(&mut self, admitted: Admitted, blocking: bool, add: bool) {
        self.count_progress(admitted.resource, blocking, add);
    }

    fn count_progress(&mut self, index: usize, blocking: bool, add: bool) {
        let Some(on) = self.resources.get_mut(index) else {
            return;
        };
        let step = |count: usize| {
            if add {
                count.saturating_add(1)
            } else {
                count.saturating_sub(1)
            }
        };
        on.in_progress = step(on.in_progress);
        if blocking {
            on.blocking_in_progress = step(on.blocking_in_progress);
        }
        for slot in 0..on.lanes.len() {
            self.relist(LaneId {
                resource: index,
                slot,
            });
        }
        // A pick whose task was removed meanwhile kept the resource.
        self.resources.release(index, OnResource::is_idle);
    }

    /// Up to `limit` tasks for a claim at `now` of one of `kinds` (any
    /// kind for `None`), best rank first, each out of its lane and counted
    /// in progress on its resource. With `promote`, the scheduled tasks
    /// due at `now` enter their lanes first. A task in a lane but not due
    /// at `now` (the claim's clock is behind an earlier claim's) goes back
    /// to the schedule.
    pub(super) fn pick(
        &mut self,
        now: DateTime<Utc>,
        kinds: Option<&BTreeSet<String>>,
        limit: usize,
        promote: bool,
    ) -> Vec<Pick> {
        if promote {
            self.promote(now);
        }
        let mut picks = Vec::new();
        while picks.len() < limit {
            let Some((rank, lane)) = self.best(kinds) else {
                break;
            };
            let (_, due, id) = rank;
            if due > now {
                self.defer(lane, rank);
                continue;
            }
            let Some(found) = self.lane_mut(lane) else {
                break;
            };
            found.ranks.remove(&rank);
            let blocking = found.blocking;
            self.relist(lane);
            self.count_progress(lane.resource, blocking, true);
            picks.push(Pick { id, blocking, lane });
        }
        picks
    }

    /// A pick that did not start: no longer counted in progress. The
    /// caller puts the task back ([`add`](Queue::add) or
    /// [`schedule`](Queue::schedule)) if it is still pending.
    pub(super) fn unpick(&mut self, pick: &Pick) {
        self.count_progress(pick.lane.resource, pick.blocking, false);
    }

    /// Moves the horizon to `at` if it is later: a time that has come.
    fn saw(&mut self, at: DateTime<Utc>) {
        if self.horizon.is_none_or(|horizon| horizon < at) {
            self.horizon = Some(at);
        }
    }

    /// Moves the scheduled tasks due at `now` into their lanes.
    fn promote(&mut self, now: DateTime<Utc>) {
        self.saw(now);
        while let Some((&(due, id), &(lane, priority))) = self.scheduled.first_key_value()
            && due <= now
        {
            self.scheduled.remove(&(due, id));
            let Some(on) = self.resources.get_mut(lane.resource) else {
                continue;
            };
            on.scheduled = on.scheduled.saturating_sub(1);
            let Some(found) = on.lanes.get_mut(lane.slot) else {
                continue;
            };
            found.ranks.insert((Reverse(priority), due, id));
            if let Some(on) = self.kinds.get_mut(found.kind) {
                on.scheduled.remove(&(due, id));
            }
            self.relist(lane);
        }
    }

    /// The best rank of an open lane of one of `kinds` (any kind for
    /// `None`), and its lane.
    fn best(&self, kinds: Option<&BTreeSet<String>>) -> Option<(Rank, LaneId)> {
        match kinds {
            None => self.heads.best(),
            Some(kinds) => kinds
                .iter()
                .filter_map(|kind| self.kinds.of(kind.as_str())?.open.first_key_value())
                .min_by_key(|(rank, _)| **rank)
                .map(|(rank, lane)| (*rank, *lane)),
        }
    }

    /// A task a claim found in its lane but could not start yet (the
    /// claim's time is behind an earlier claim's): back to the schedule.
    fn defer(&mut self, lane: LaneId, rank: Rank) {
        let Some(kind) = self.lane(lane).map(|lane| lane.kind) else {
            return;
        };
        let (Reverse(priority), due, id) = rank;
        if self.scheduled.insert((due, id), (lane, priority)).is_none()
            && let Some(on) = self.resources.get_mut(lane.resource)
        {
            on.scheduled += 1;
        }
        self.take(lane, rank);
        if let Some(on) = self.kinds.get_mut(kind) {
            on.scheduled.insert((due, id));
        }
    }

    /// The earliest due time of a pending task of one of `kinds` that may
    /// start: open lanes hold tasks due already, the schedule the others.
    pub(super) fn next_due(&self, kinds: Option<&BTreeSet<String>>) -> Option<DateTime<Utc>> {
        let open = self.best(kinds).map(|((_, due, _), _)| due);
        let scheduled = match kinds {
            None => self.scheduled.first_key_value().map(|((at, _), _)| *at),
            Some(kinds) => kinds
                .iter()
                .filter_map(|kind| self.kinds.of(kind.as_str())?.scheduled.first())
                .map(|(at, _)| *at)
                .min(),
        };
        open.into_iter().chain(scheduled).min()
    }

    /// Takes `entry` out of the schedule: whether it was there.
    fn unschedule(&mut self, entry: &Entry) -> bool {
        let key = (entry.due, entry.id);
        let Some((lane, _)) = self.scheduled.remove(&key) else {
            return false;
        };
        if let Some(on) = self.resources.get_mut(lane.resource) {
            on.scheduled = on.scheduled.saturating_sub(1);
        }
        if let Some(on) = self.kinds.get_mut(entry.admitted.kind) {
            on.scheduled.remove(&key);
        }
        true
    }

    fn add_to_lane(&mut self, entry: &Entry) {
        let Some(lane) = self.lane_of(entry) else {
            return;
        };
        if let Some(found) = self.lane_mut(lane) {
            found.ranks.insert(entry.rank());
        }
        self.relist(lane);
    }

    /// The lane of `entry`, made if it has none.
    fn lane_of(&mut self, entry: &Entry) -> Option<LaneId> {
        let Admitted { resource, kind } = entry.admitted;
        let on = self.resources.get_mut(resource)?;
        let found = on
            .lanes
            .iter()
            .position(|lane| lane.blocking == entry.blocking && lane.kind == kind);
        let slot = match found {
            Some(slot) => slot,
            None => on.lanes.push(Lane {
                kind,
                blocking: entry.blocking,
                ranks: Ranks::default(),
                listed: None,
            }),
        };
        Some(LaneId { resource, slot })
    }

    /// Removes `rank` from `lane`.
    fn take(&mut self, lane: LaneId, rank: Rank) {
        if let Some(found) = self.lane_mut(lane) {
            found.ranks.remove(&rank);
        }
        self.relist(lane);
    }

    /// Puts `lane` in the open sets at its best rank if its resource lets
    /// it start, or takes it out.
    fn relist(&mut self, id: LaneId) {
        let Some(on) = self.resources.get_mut(id.resource) else {
            return;
        };
        let (in_progress, blocking_in_progress) = (on.in_progress, on.blocking_in_progress);
        let Some(lane) = on.lanes.get_mut(id.slot) else {
            return;
        };
        let may_start = if lane.blocking {
            in_progress == 0
        } else {
            blocking_in_progress == 0
        };
        let wanted = if may_start {
            lane.ranks.first().copied()
        } else {
            None
        };
        if wanted == lane.listed {
            return;
        }
        let old = std::mem::replace(&mut lane.listed, wanted);
        let kind = lane.kind;
        let Some(open) = self.kinds.get_mut(kind).map(|on| &mut on.open) else {
            return;
        };
        let head_before = open.first_key_value().map(|(rank, _)| *rank);
        if let Some(old) = old {
            open.remove(&old);
        }
        if let Some(new) = wanted {
            open.insert(new, id);
        }
        let head = open.first_key_value().map(|(rank, lane)| (*rank, *lane));
        if head.map(|(rank, _)| rank) != head_before {
            self.heads.set(kind, head);
        }
    }

    fn slot(&self, resource: usize, kind: usize, blocking: bool) -> Option<usize> {
        self.resources
            .get(resource)?
            .lanes
            .iter()
            .position(|lane| lane.blocking == blocking && lane.kind == kind)
    }

    fn lane(&self, id: LaneId) -> Option<&Lane> {
        self.resources.get(id.resource)?.lanes.get(id.slot)
    }

    fn lane_mut(&mut self, id: LaneId) -> Option<&mut Lane> {
        self.resources.get_mut(id.resource)?.lanes.get_mut(id.slot)
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;

    use chrono::{DateTime, Utc};

    use super::{Heads, LaneId, Rank};
    use crate::id::IdGenerator;

    #[test]
    fn the_heads_root_is_the_best_of_every_kind_as_kinds_grow_and_empty() {
        let mut ids = IdGenerator::seeded(5);
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let mut heads = Heads::default();
        let mut model: Vec<Option<(Rank, LaneId)>> = vec![None; 11];
        // Kinds set in a scrambled order, past the first width, then
        // emptied one by one.
        let order = [3usize, 0, 9, 4, 10, 1, 7, 2, 8, 5, 6];
        for (n, &kind) in order.iter().enumerate() {
            let priority = (n as i32 * 7) % 5;
            let rank: Rank = (Reverse(priority), at, ids.next_id(at));
            let lane = LaneId {
                resource: kind,
                slot: 0,
            };
            heads.set(kind, Some((rank, lane)));
            model[kind] = Some((rank, lane));
            let best = model
                .iter()
                .flatten()
                .min_by_key(|(rank, _)| *rank)
                .copied();
            assert_eq!(heads.best(), best);
        }
        for &kind in order.iter().rev() {
            heads.set(kind, None);
            model[kind] = None;
            let best = model
                .iter()
                .flatten()
                .min_by_key(|(rank, _)| *rank)
                .copied();
            assert_eq!(heads.best(), best);
        }
        assert_eq!(heads.best(), None);
        // A kind past the width with no head makes no room.
        heads.set(1000, None);
        assert!(heads.nodes.len() < 1000);
    }
}
