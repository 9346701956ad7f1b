//! The records a store handle wrote or read last, with their bodies.
//!
//! A save checks the new record against the stored one
//! ([`check_save`](taskstate::store::check_save) replays the events on
//! it), so it needs the stored record, which a save would decode from the
//! row's body: about 5 % of a claim-and-complete cycle. The record a
//! save replaces is nearly always one the same handle wrote (the claim
//! that started the run, the previous save of a heartbeating worker) or
//! read (`get` before an update), so the handle keeps the last few with
//! the exact bodies they were written as or read from, and a save whose
//! stored body is byte for byte one of them takes the record from here.
//!
//! A body decodes to one record only, so a record taken from here is the
//! one decoding would give, whoever wrote the row: another handle, or a
//! host that edited it by hand, leaves a body that differs, and the save
//! decodes it. A record the handle wrote is kept as it was, not decoded
//! from its body: the two are the same as long as the kind's serde
//! round-trips (what it writes reads back equal), which the crate's own
//! types do (property tests) and every persistent store needs of a host's
//! kind anyway. An insert keeps nothing: its record holds the host's own
//! kind value, never decoded. The first claim or save after it decodes
//! the body: a claim hands out the kind as decoded, as every other handle
//! sees it, and a save of the host's own copy is checked against the
//! decoded record, so a kind whose serde does not round-trip is refused
//! there, as before, rather than served from here.

use std::collections::VecDeque;
use std::fmt;

use taskstate::{Task, TaskId};

/// How many records a handle keeps: the runs of a claim of up to 64
/// tasks all find their record at their first save.
pub(crate) const RECENT: usize = 64;

/// The last [`RECENT`] records written or read, oldest first, with the
/// bodies they were written as or read from.
pub(crate) struct Recent<K> {
    entries: VecDeque<Entry<K>>,
}

struct Entry<K> {
    body: Vec<u8>,
    task: Task<K>,
}

impl<K> Recent<K> {
    pub(crate) fn new() -> Recent<K> {
        Recent {
            entries: VecDeque::with_capacity(RECENT),
        }
    }

    /// The record of task `id` whose body is `body`, if it is here.
    pub(crate) fn find(&self, id: TaskId, body: &[u8]) -> Option<&Task<K>> {
        self.entries
            .iter()
            .rev()
            .find(|entry| entry.task.id() == id && entry.body == body)
            .map(|entry| &entry.task)
    }

    /// Keeps `task`, written as or read from `body`, in place of what was
    /// kept of the same task, and forgets the oldest record past
    /// [`RECENT`].
    pub(crate) fn keep(&mut self, body: Vec<u8>, task: Task<K>) {
        self.entries.retain(|entry| entry.task.id() != task.id());
        if self.entries.len() == RECENT {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry { body, task });
    }
}

impl<K> fmt::Debug for Recent<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recent")
            .field("records", &self.entries.len())
            .finish()
    }
}
