//! The in-memory store.

mod queue;

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};

use self::queue::{Entry, Queue};
use super::block_on::ready_async_store;
use super::{
    ClaimRequest, Claimed, Claims, Filter, Page, PageRequest, Scope, StoreError, Sweep, Swept,
    TaskStore, check_insert, check_save,
};
use crate::actor::Owner;
use crate::command::{Event, ResourceRef};
use crate::id::TaskId;
use crate::lease::Lease;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::task::Task;

/// The embedded store: every task in memory with its log beside it,
/// behind one lock, with indexes so that a claim, an expiry scan and a
/// filtered listing do not visit every task.
///
/// `Send + Sync`: share it between threads with an `Arc`. Every method
/// takes the lock once and holds it only for its own work.
///
/// Indexes: a claim queue that keeps the tasks a blocking task holds back
/// out of a claim's way (so a claim costs the same behind none or 100 000
/// of them), leased tasks by lease deadline, waiting tasks by their time
/// to look again, failed tasks by retry time, stalled tasks since they
/// stalled, done and cancelled tasks since they settled, the unique keys
/// of live tasks, and the ids of the tasks of each owner, resource, kind,
/// status and parent. A listing walks the smallest index its filter and
/// scope name, in id order from its cursor.
///
/// It implements [`TaskStore`] and [`AsyncTaskStore`](super::AsyncTaskStore) (whose futures are
/// ready at once: no call waits on anything but the lock). Nothing is
/// dropped but by [`purge`](TaskStore::purge) and
/// [`remove`](MemoryStore::remove).
///
/// Two workers' threads claim from one store; no task goes to both:
///
/// ```
/// use std::sync::Arc;
/// use std::thread;
///
/// use taskstate::store::{ClaimRequest, MemoryStore, TaskStore};
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let mut ids = IdGenerator::seeded(1);
/// let store = Arc::new(MemoryStore::new());
/// for _ in 0..10 {
///     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
///         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
///     let (task, created) = Task::create(new, Actor::System, now)?;
///     store.insert(task, created)?;
/// }
/// let workers: Vec<_> = (0..2).map(|_| {
///     let store = Arc::clone(&store);
///     let request = ClaimRequest::new(now, now + Duration::minutes(5)).limit(10);
///     thread::spawn(move || store.claim(&request).map(|claims| claims.claimed.len()))
/// }).collect();
/// let mut claimed = 0;
/// for worker in workers {
///     claimed += worker.join().map_err(|_| "a worker panicked")??;
/// }
/// assert_eq!(claimed, 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MemoryStore<K> {
    inner: RwLock<Inner<K>>,
}

#[derive(Debug)]
struct Inner<K> {
    /// The tasks, by id: one lookup to reach a task.
    tasks: HashMap<TaskId, Task<K>>,
    /// Each task's log, beside it: a save appends, a read never copies it.
    logs: HashMap<TaskId, Vec<Event<K>>>,
    /// The unique keys of live tasks, and which holds each.
    keys: HashMap<String, TaskId>,
    /// The indexes, apart from the tasks so that a task and the indexes
    /// can be borrowed together while the task changes.
    index: Index,
}

#[derive(Debug, Default)]
struct Index {
    /// Every id, in order, for listings no index narrows.
    ids: BTreeSet<TaskId>,
    /// Every task by creation time, for listings of a creation window.
    by_created: BTreeSet<(DateTime<Utc>, TaskId)>,
    /// Pending tasks, for claims.
    queue: Queue,
    leases: BTreeSet<(DateTime<Utc>, TaskId)>,
    retries: BTreeSet<(DateTime<Utc>, TaskId)>,
    /// Waiting tasks by their time to look again.
    checks: BTreeSet<(DateTime<Utc>, TaskId)>,
    /// Stalled tasks since they stalled.
    stalled: BTreeSet<(DateTime<Utc>, TaskId)>,
    /// Done and cancelled tasks since they settled, for purges.
    settled: BTreeSet<(DateTime<Utc>, TaskId)>,
    by_owner: HashMap<Owner, BTreeSet<TaskId>>,
    by_resource: HashMap<ResourceRef, BTreeSet<TaskId>>,
    by_kind: HashMap<String, BTreeSet<TaskId>>,
    by_parent: HashMap<TaskId, BTreeSet<TaskId>>,
    by_status: [BTreeSet<TaskId>; Status::COUNT],
    /// Each owner's tasks by status: a customer's listing of one status.
    by_owner_status: HashMap<Owner, [BTreeSet<TaskId>; Status::COUNT]>,
}

impl<K> Default for MemoryStore<K> {
    fn default() -> Self {
        MemoryStore {
            inner: RwLock::new(Inner {
                tasks: HashMap::new(),
                logs: HashMap::new(),
                keys: HashMap::new(),
                index: Index::default(),
            }),
        }
    }
}

/// A thread panicked while it held the lock: the indexes may disagree with
/// the tasks, and no call will succeed again.
fn poisoned() -> StoreError {
    StoreError::backend("the store's lock is poisoned", false)
}

impl<K> MemoryStore<K> {
    /// An empty store.
    ///
    /// ```
    /// use taskstate::NamedKind;
    /// use taskstate::store::MemoryStore;
    ///
    /// let store = MemoryStore::<NamedKind>::new();
    /// assert!(store.is_empty());
    /// assert_eq!(store.len(), 0);
    /// ```
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Inner<K>>, StoreError> {
        self.inner.read().map_err(|_| poisoned())
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, Inner<K>>, StoreError> {
        self.inner.write().map_err(|_| poisoned())
    }

    /// How many tasks are stored (0 once a thread panicked holding the
    /// lock: see [`StoreError::Backend`]).
    ///
    /// ```
    /// use taskstate::store::{MemoryStore, TaskStore};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// let store = MemoryStore::new();
    /// store.insert(task, created)?;
    /// assert_eq!(store.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.read().map_or(0, |inner| inner.tasks.len())
    }

    /// Whether no task is stored.
    ///
    /// ```
    /// use taskstate::store::{MemoryStore, TaskStore};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// let store = MemoryStore::new();
    /// let id = task.id();
    /// store.insert(task, created)?;
    /// assert!(!store.is_empty());
    /// store.remove(id)?;
    /// assert!(store.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: TaskKind> MemoryStore<K> {
    /// Deletes the task `id`, its log and its index entries, whatever its
    /// status, returning it: for tasks [`purge`](TaskStore::purge) keeps
    /// (a host's own retention of failed tasks, a customer's erasure). An
    /// executor still running a removed task gets
    /// [`StoreError::NotFound`] when it saves.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] only, when a thread panicked while it held
    /// the store's lock (the lock is poisoned, and every call fails).
    ///
    /// ```
    /// use taskstate::store::{ClaimRequest, MemoryStore, Scope, TaskStore};
    /// use taskstate::Failure;
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let store = MemoryStore::new();
    /// # let id = task.id();
    /// # store.insert(task, created)?;
    /// let mut claims = store.claim(&ClaimRequest::new(now, now + Duration::minutes(5)))?;
    /// let claimed = claims.claimed.pop().ok_or("a claim")?;
    /// let (mut task, expected) = (claimed.task.clone(), claimed.task.version());
    /// let failure = Failure::customer("MISSING_DOCUMENT", "an ID card is required", now);
    /// let failed = claimed.run.fail(&mut task, failure, now)?;
    /// store.save(&task, expected, &[failed])?;
    /// // A purge keeps failed tasks; the host's own retention removes them.
    /// assert_eq!(store.purge(now + Duration::days(365), 100)?, 0);
    /// assert_eq!(store.remove(id)?.map(|task| task.id()), Some(id));
    /// assert!(store.get(&Scope::Staff, id)?.is_none());
    /// assert!(store.remove(id)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove(&self, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        Ok(self.write()?.remove(id))
    }
}

/// The due time of a pending task: its `todo_at`, or its creation.
fn due_at<K>(task: &Task<K>) -> DateTime<Utc> {
    task.todo_at().unwrap_or(task.created_at())
}

/// Whether a task is done or cancelled: nothing moves it any more, it
/// holds no unique key, and a purge may delete it.
fn is_absorbed(status: Status) -> bool {
    matches!(status, Status::Done | Status::Cancelled)
}

/// The entries of a task that change with its state.
#[derive(Clone, Copy, PartialEq, Eq)]
struct StateKeys {
    status: Status,
    due: Option<DateTime<Utc>>,
    lease: Option<DateTime<Utc>>,
    retry: Option<DateTime<Utc>>,
    check: Option<DateTime<Utc>>,
    stalled: Option<DateTime<Utc>>,
    settled: Option<DateTime<Utc>>,
}

impl StateKeys {
    fn of<K: TaskKind>(task: &Task<K>) -> StateKeys {
        let status = task.status();
        StateKeys {
            status,
            due: (status == Status::Pending).then(|| due_at(task)),
            lease: task
                .lease()
                .filter(|_| status.is_leased())
                .map(Lease::expires_at),
            retry: task.next_retry_at(),
            check: task.check_due_at(),
            stalled: (status == Status::Stalled).then(|| task.updated_at()),
            settled: if is_absorbed(status) {
                task.done_at()
            } else {
                None
            },
        }
    }
}

/// What the claim queue needs of a pending task due at `due`.
fn entry<K: TaskKind>(task: &Task<K>, due: DateTime<Utc>) -> Entry<'_> {
    Entry {
        id: task.id(),
        kind: task.kind().name(),
        resource: task.resource(),
        blocking: task.is_blocking(),
        priority: task.priority(),
        due,
        seen: task.updated_at(),
    }
}

/// Adds `value` to `set`, or removes it (`add == false`).
fn put<T: Ord>(set: &mut BTreeSet<T>, value: T, add: bool) {
    if add {
        set.insert(value);
    } else {
        set.remove(&value);
    }
}

impl Index {
    /// Adds or removes (`add == false`) the entries of `task` that
    /// change with its state, as `keys` describes it.
    fn state_entries<K: TaskKind>(&mut self, task: &Task<K>, keys: StateKeys, add: bool) {
        let id = task.id();
        self.timed_entries(task, keys, add);
        if let Some(set) = self.by_status.get_mut(keys.status.index()) {
            put(set, id, add);
        }
        let sets = match self.by_owner_status.get_mut(task.owner()) {
            Some(sets) => Some(sets),
            None if add => Some(
                self.by_owner_status
                    .entry(task.owner().clone())
                    .or_default(),
            ),
            None => None,
        };
        if let Some(set) = sets.and_then(|sets| sets.get_mut(keys.status.index())) {
            put(set, id, add);
        }
        if keys.status.is_in_progress() {
            self.queue
                .in_progress(task.resource(), task.is_blocking(), add);
        }
    }

    /// Adds or removes the entries of the time indexes: the claim queue,
    /// leases, retries, checks, stalled and settled tasks.
    fn timed_entries<K: TaskKind>(&mut self, task: &Task<K>, keys: StateKeys, add: bool) {
        let id = task.id();
        if let Some(due) = keys.due {
            let entry = entry(task, due);
            if add {
                self.queue.add(&entry);
            } else {
                self.queue.remove(&entry);
            }
        }
        if let Some(lease) = keys.lease {
            put(&mut self.leases, (lease, id), add);
        }
        if let Some(retry) = keys.retry {
            put(&mut self.retries, (retry, id), add);
        }
        if let Some(check) = keys.check {
            put(&mut self.checks, (check, id), add);
        }
        if let Some(stalled) = keys.stalled {
            put(&mut self.stalled, (stalled, id), add);
        }
        if let Some(settled) = keys.settled {
            put(&mut self.settled, (settled, id), add);
        }
    }

    /// Moves the state entries of `task` from `before` to `after`, with
    /// one lookup of its owner's sets (the hot path of a claim or a save).
    fn moved<K: TaskKind>(&mut self, task: &Task<K>, before: StateKeys, after: StateKeys) {
        if before == after {
            return;
        }
        let id = task.id();
        let (from, to) = (before.status, after.status);
        // A task entering progress is counted on its resource before it
        // leaves its lane, and one leaving it after: the resource's entry
        // in the claim queue lives on in between.
        let progress = (from.is_in_progress(), to.is_in_progress());
        if progress == (false, true) {
            self.queue
                .in_progress(task.resource(), task.is_blocking(), true);
        }
        self.timed_entries(task, before, false);
        self.timed_entries(task, after, true);
        if progress == (true, false) {
            self.queue
                .in_progress(task.resource(), task.is_blocking(), false);
        }
        if from == to {
            return;
        }
        let owner_sets = self.by_owner_status.get_mut(task.owner());
        for sets in [Some(&mut self.by_status), owner_sets]
            .into_iter()
            .flatten()
        {
            if let Some(set) = sets.get_mut(from.index()) {
                set.remove(&id);
            }
            if let Some(set) = sets.get_mut(to.index()) {
                set.insert(id);
            }
        }
    }

    /// Adds or removes every entry of `task`: those commands never change
    /// (id, owner, resource, kind, parent) and those of its state.
    fn entries<K: TaskKind>(&mut self, task: &Task<K>, add: bool) {
        let id = task.id();
        put(&mut self.ids, id, add);
        put(&mut self.by_created, (task.created_at(), id), add);
        if add {
            self.by_owner
                .entry(task.owner().clone())
                .or_default()
                .insert(id);
            self.by_resource
                .entry(task.resource().clone())
                .or_default()
                .insert(id);
            self.by_kind
                .entry(task.kind().name().to_owned())
                .or_default()
                .insert(id);
            if let Some(parent) = task.parent() {
                self.by_parent.entry(parent).or_default().insert(id);
            }
            self.state_entries(task, StateKeys::of(task), true);
            return;
        }
        self.state_entries(task, StateKeys::of(task), false);
        // Keys left with no task go, so that removed tasks leave nothing.
        if let Some(set) = self.by_owner.get_mut(task.owner()) {
            set.remove(&id);
            if set.is_empty() {
                self.by_owner.remove(task.owner());
                self.by_owner_status.remove(task.owner());
            }
        }
        if let Some(set) = self.by_resource.get_mut(task.resource()) {
            set.remove(&id);
            if set.is_empty() {
                self.by_resource.remove(task.resource());
            }
        }
        if let Some(set) = self.by_kind.get_mut(task.kind().name()) {
            set.remove(&id);
            if set.is_empty() {
                self.by_kind.remove(task.kind().name());
            }
        }
        if let Some(parent) = task.parent()
            && let Some(set) = self.by_parent.get_mut(&parent)
        {
            set.remove(&id);
            if set.is_empty() {
                self.by_parent.remove(&parent);
            }
        }
    }
}

impl<K: TaskKind> Inner<K> {
    /// Stores a task that is not stored yet.
    fn add(&mut self, task: Task<K>) {
        self.index.entries(&task, true);
        self.tasks.insert(task.id(), task);
    }

    /// Replaces the stored task with `task`, touching only the index
    /// entries that changed: its identity is the stored one's
    /// ([`check_save`] refused any other).
    fn replace(&mut self, task: Task<K>) {
        let Some(old) = self.tasks.get_mut(&task.id()) else {
            self.add(task);
            return;
        };
        let (before, after) = (StateKeys::of(old), StateKeys::of(&task));
        self.index.moved(&task, before, after);
        if is_absorbed(after.status) && !is_absorbed(before.status) {
            release_key(&mut self.keys, &task);
        }
        *old = task;
    }

    /// Deletes a task, its log, its key and its index entries.
    fn remove(&mut self, id: TaskId) -> Option<Task<K>> {
        let task = self.tasks.remove(&id)?;
        self.logs.remove(&id);
        release_key(&mut self.keys, &task);
        self.index.entries(&task, false);
        Some(task)
    }

    /// Up to `limit` tasks of a time index whose time has come at `now`,
    /// earliest first.
    fn come_by(
        &self,
        index: &BTreeSet<(DateTime<Utc>, TaskId)>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Vec<Task<K>> {
        index
            .iter()
            .take_while(|(at, _)| *at <= now)
            .filter_map(|(_, id)| self.tasks.get(id))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The sets of ids the scope and the filter name, smallest first.
    fn candidate_sets(&self, scope: &Scope, filter: &Filter) -> Vec<&BTreeSet<TaskId>> {
        static EMPTY: BTreeSet<TaskId> = BTreeSet::new();
        let mut sets: Vec<&BTreeSet<TaskId>> = Vec::new();
        let owner = match scope {
            Scope::Owner(owner) => Some(owner),
            Scope::Staff => filter.owner.as_ref(),
        };
        let mut statuses = filter.statuses.iter();
        let single_status = match (statuses.next(), statuses.next()) {
            (Some(status), None) => Some(status),
            _ => None,
        };
        match (owner, single_status) {
            (Some(owner), Some(status)) => sets.push(
                self.index
                    .by_owner_status
                    .get(owner)
                    .and_then(|sets| sets.get(status.index()))
                    .unwrap_or(&EMPTY),
            ),
            (Some(owner), None) => sets.push(self.index.by_owner.get(owner).unwrap_or(&EMPTY)),
            (None, Some(status)) => sets.extend(self.index.by_status.get(status.index())),
            (None, None) => {}
        }
        if let Some(resource) = &filter.resource {
            sets.push(self.index.by_resource.get(resource).unwrap_or(&EMPTY));
        }
        if let Some(kind) = &filter.kind {
            sets.push(self.index.by_kind.get(kind).unwrap_or(&EMPTY));
        }
        if let Some(parent) = &filter.parent {
            sets.push(self.index.by_parent.get(parent).unwrap_or(&EMPTY));
        }
        sets.sort_by_key(|set| set.len());
        sets
    }

    /// The ids of the tasks created in the filter's window, if it has one
    /// and it holds no more than `at_most` tasks (beyond that, walking a
    /// smaller index costs less than collecting the window).
    fn created_window(&self, filter: &Filter, at_most: usize) -> Option<BTreeSet<TaskId>> {
        if filter.created_from.is_none() && filter.created_until.is_none() {
            return None;
        }
        // The smallest id: a window's bounds fall before every task of
        // their time.
        let first = TaskId::from(uuid::Uuid::nil());
        let from = filter
            .created_from
            .map_or(Bound::Unbounded, |from| Bound::Included((from, first)));
        let until = filter
            .created_until
            .map_or(Bound::Unbounded, |until| Bound::Excluded((until, first)));
        if matches!((from, until), (Bound::Included(a), Bound::Excluded(b)) if a >= b) {
            return Some(BTreeSet::new());
        }
        let mut window = BTreeSet::new();
        for (_, id) in self.index.by_created.range((from, until)) {
            if window.len() == at_most {
                return None;
            }
            window.insert(*id);
        }
        Some(window)
    }

    fn page(&self, scope: &Scope, filter: &Filter, page: PageRequest) -> Page<K> {
        let start = page.after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut tasks = Vec::new();
        let mut sets = self.candidate_sets(scope, filter);
        let smallest = sets.first().map_or(self.index.ids.len(), |set| set.len());
        let window = self.created_window(filter, smallest);
        if let Some(window) = &window {
            sets.insert(0, window);
        }
        let mut take = |task: &Task<K>| {
            if filter.matches(scope, task) {
                tasks.push(task.clone());
            }
            tasks.len() < page.limit
        };
        match sets.split_first() {
            // Walk the smallest index; the others are checked by
            // membership before a task is read.
            Some((smallest, others)) => {
                for id in smallest.range((start, Bound::Unbounded)) {
                    if page.limit == 0 {
                        break;
                    }
                    if !others.iter().all(|set| set.contains(id)) {
                        continue;
                    }
                    if let Some(task) = self.tasks.get(id)
                        && !take(task)
                    {
                        break;
                    }
                }
            }
            None => {
                for id in self.index.ids.range((start, Bound::Unbounded)) {
                    if page.limit == 0 {
                        break;
                    }
                    if let Some(task) = self.tasks.get(id)
                        && !take(task)
                    {
                        break;
                    }
                }
            }
        }
        let next = if tasks.len() == page.limit && page.limit > 0 {
            tasks.last().map(Task::id)
        } else {
            None
        };
        Page {
            tasks,
            next,
            unreadable: Vec::new(),
        }
    }

    /// Moves the scheduled tasks due at `now` into the claim queue.
    fn promote(&mut self, now: DateTime<Utc>) {
        let Inner { tasks, index, .. } = self;
        for id in index.queue.due_by(now) {
            if let Some(task) = tasks.get(&id) {
                index.queue.promote(&entry(task, due_at(task)));
            }
        }
    }

    fn claim(&mut self, request: &ClaimRequest) -> Claims<K> {
        let now = request.now;
        self.promote(now);
        let mut claims = Claims::default();
        let Inner {
            tasks, logs, index, ..
        } = self;
        while claims.claimed.len() < request.limit {
            let Some((rank, lane)) = index.queue.best(request.kinds.as_ref()) else {
                break;
            };
            let (_, due, id) = rank;
            // A claim whose clock is behind an earlier claim's finds tasks
            // in the queue that are not due at its time: back to the
            // schedule until their time.
            let Some(task) = tasks.get_mut(&id).filter(|_| due <= now) else {
                index.queue.defer(lane, rank);
                continue;
            };
            // Started in place: the stored task changes only if `start`
            // accepts.
            let before = StateKeys::of(task);
            let Ok((run, started)) = task.start(request.lease_until, request.worker.clone(), now)
            else {
                index.queue.defer(lane, rank);
                continue;
            };
            if let Some(log) = logs.get_mut(&id) {
                log.push(started);
            }
            index.moved(task, before, StateKeys::of(task));
            claims.claimed.push(Claimed {
                task: task.clone(),
                run,
            });
        }
        claims
    }

    fn insert(&mut self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        if self.tasks.contains_key(&task.id()) {
            return Err(StoreError::Duplicate { id: task.id() });
        }
        if let Some(key) = task.unique_key() {
            if let Some(&holder) = self.keys.get(key) {
                return Err(StoreError::KeyTaken {
                    key: key.to_owned(),
                    holder,
                });
            }
            if !is_absorbed(task.status()) {
                self.keys.insert(key.to_owned(), task.id());
            }
        }
        self.logs.insert(task.id(), vec![created]);
        self.add(task);
        Ok(())
    }

    fn save(
        &mut self,
        task: &Task<K>,
        expected: u64,
        events: &[Event<K>],
    ) -> Result<(), StoreError> {
        let stored = self
            .tasks
            .get(&task.id())
            .ok_or(StoreError::NotFound { id: task.id() })?;
        let found = stored.version();
        if found != expected {
            return Err(StoreError::Conflict {
                id: task.id(),
                expected,
                found,
            });
        }
        let last_logged = self
            .logs
            .get(&task.id())
            .and_then(|log| log.last())
            .map_or(0, |event| event.version);
        check_save(stored, task, expected, last_logged, events)?;
        if !events.is_empty()
            && let Some(log) = self.logs.get_mut(&task.id())
        {
            log.extend_from_slice(events);
        }
        self.replace(task.clone());
        Ok(())
    }

    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError> {
        if !self
            .tasks
            .get(&id)
            .is_some_and(|task| scope.sees(task.owner()))
        {
            return Err(StoreError::NotFound { id });
        }
        let log = self.logs.get(&id).map_or(&[][..], Vec::as_slice);
        let start = log.partition_point(|event| event.version <= after);
        Ok(log.iter().skip(start).take(limit).cloned().collect())
    }

    fn sweep(&self, sweep: Sweep, now: DateTime<Utc>, limit: usize) -> Swept<K> {
        let index = match sweep {
            Sweep::ExpiredLeases => &self.index.leases,
            Sweep::RetriesDue => &self.index.retries,
            Sweep::ChecksDue => &self.index.checks,
            Sweep::Stalled => {
                return Swept {
                    tasks: self
                        .index
                        .stalled
                        .iter()
                        .filter_map(|(_, id)| self.tasks.get(id))
                        .take(limit)
                        .cloned()
                        .collect(),
                    unreadable: Vec::new(),
                };
            }
        };
        Swept {
            tasks: self.come_by(index, now, limit),
            unreadable: Vec::new(),
        }
    }

    fn next_due(&self, kinds: Option<&BTreeSet<String>>) -> Option<DateTime<Utc>> {
        let first = |set: &BTreeSet<(DateTime<Utc>, TaskId)>| set.first().map(|(at, _)| *at);
        [
            self.index.queue.next_due(kinds),
            first(&self.index.leases),
            first(&self.index.retries),
            first(&self.index.stalled),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn purge(&mut self, settled_before: DateTime<Utc>, limit: usize) -> usize {
        let ids: Vec<TaskId> = self
            .index
            .settled
            .iter()
            .take_while(|(at, _)| *at < settled_before)
            .take(limit)
            .map(|(_, id)| *id)
            .collect();
        for id in &ids {
            self.remove(*id);
        }
        ids.len()
    }
}

/// Frees the unique key `task` holds, if it is the holder.
fn release_key<K: TaskKind>(keys: &mut HashMap<String, TaskId>, task: &Task<K>) {
    if let Some(key) = task.unique_key()
        && keys.get(key) == Some(&task.id())
    {
        keys.remove(key);
    }
}

impl<K: TaskKind> TaskStore<K> for MemoryStore<K> {
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        check_insert(&task, &created)?;
        self.write()?.insert(task, created)
    }

    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        let inner = self.read()?;
        Ok(inner
            .tasks
            .get(&id)
            .filter(|task| scope.sees(task.owner()))
            .cloned())
    }

    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError> {
        self.read()?.log(scope, id, after, limit)
    }

    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError> {
        self.write()?.save(task, expected, events)
    }

    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<Page<K>, StoreError> {
        Ok(self.read()?.page(scope, filter, page))
    }

    fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError> {
        request.check()?;
        Ok(self.write()?.claim(request))
    }

    fn sweep(
        &self,
        sweep: Sweep,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Swept<K>, StoreError> {
        Ok(self.read()?.sweep(sweep, now, limit))
    }

    fn next_due(
        &self,
        kinds: Option<&BTreeSet<String>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.read()?.next_due(kinds))
    }

    fn purge(&self, settled_before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        Ok(self.write()?.purge(settled_before, limit))
    }
}

// The futures are ready at once: each call does its work under the lock
// when it is made, as the blocking call does.
ready_async_store!(impl<K> for MemoryStore<K> where [K: TaskKind + Send + Sync], |this| this);
