//! The in-memory store.

mod ids;
mod owners;
mod queue;
mod slots;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::ops::Bound;
use std::sync::{
    Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError,
};

use chrono::{DateTime, Utc};

use self::ids::IdMap;
use self::owners::{OwnerSlot, Owners, OwnersRead};
use self::queue::{Admitted, Entry, Pick, Queue};
use super::block_on::ready_async_store;
use super::{
    ClaimRequest, Claimed, Claims, Filter, Page, PageRequest, Scope, StoreError, Sweep, Swept,
    TaskStore, Unreadable, check_insert, check_save,
};
use crate::actor::Owner;
use crate::command::{Event, ResourceRef};
use crate::id::TaskId;
use crate::lease::Lease;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::task::Task;

/// The embedded store: every task in memory with its log beside it,
/// with indexes so that a claim, an expiry scan and a filtered listing do
/// not visit every task.
///
/// `Send + Sync`: share it between threads with an `Arc`. The tasks are
/// split by id among 32 shards, each behind its own lock with its tasks'
/// logs and indexes; the claim queue and the unique keys are behind one
/// more, and each owner's tasks by status (for a customer's listings)
/// behind one of 32 locks split by owner, taken only for a moment under a
/// shard's. A save takes its task's shard, and the queue's lock only when
/// what a claim sees changes (a task becomes due or leaves the queue, or
/// enters or leaves progress), so saves of tasks in different shards run
/// side by side. A claim picks its tasks under the queue's lock, then
/// starts each under its shard. A listing, a sweep and a purge read every
/// shard at once: what they see is one moment of the store.
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
/// ready at once: no call waits on anything but the locks). Nothing is
/// dropped but by [`purge`](TaskStore::purge) and
/// [`remove`](MemoryStore::remove).
///
/// A thread that panics while it holds a lock poisons it: the calls that
/// need that lock fail from then on ([`StoreError::Backend`], not
/// retryable). A claim that picks a task of a poisoned shard reports it
/// in [`Claims::unreadable`] and goes on with the others; the task stays
/// out of the queue, since no call reaches it again.
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
    shards: [RwLock<Shard<K>>; SHARDS],
    core: Mutex<Core>,
    owners: Owners,
}

/// How many shards the tasks are split among.
const SHARDS: usize = 32;

/// How many times a writer tries a lock before it waits on it: a few
/// microseconds.
const TRIES: usize = 200;

/// A lock taken with `try_lock`, tried again for a while, before `lock`
/// waits on it. The store's locks are held for microseconds, less than a
/// thread takes to fall asleep and be woken again: two threads that meet
/// on one lock lose less by trying again than by sleeping.
fn locked<G>(
    try_lock: impl Fn() -> Result<G, TryLockError<G>>,
    lock: impl FnOnce() -> Result<G, PoisonError<G>>,
) -> Result<G, StoreError> {
    for _ in 0..TRIES {
        match try_lock() {
            Ok(guard) => return Ok(guard),
            Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
            Err(TryLockError::WouldBlock) => {
                for _ in 0..16 {
                    std::hint::spin_loop();
                }
            }
        }
    }
    lock().map_err(|_| poisoned())
}

/// The shard of a task: a mix of all of its id's bits (ids made together
/// share their time bits, and spread over the shards by the rest).
fn shard_of(id: TaskId) -> usize {
    let bits = uuid::Uuid::from(id).as_u128();
    let mixed = ((bits as u64) ^ ((bits >> 64) as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The top bits of the product: the best mixed.
    (mixed >> (u64::BITS - SHARDS.ilog2())) as usize
}

/// The most a claim reserves room for before it has picked anything.
const CLAIMED_CAPACITY: usize = 64;

/// The tasks of one shard, their logs and their indexes.
#[derive(Debug)]
struct Shard<K> {
    /// The tasks with their logs, by id: one lookup reaches both.
    tasks: IdMap<Stored<K>>,
    /// The indexes, apart from the tasks so that a task and the indexes
    /// can be borrowed together while the task changes.
    index: Index,
}

/// A task and its log: a save appends to the log, a read never copies it.
/// With them, the slots the task keeps: its resource's and kind's in the
/// queue, its owner's among the owners' sets.
#[derive(Debug)]
struct Stored<K> {
    task: Task<K>,
    log: Vec<Event<K>>,
    admitted: Admitted,
    owner: OwnerSlot,
}

impl<K> Default for Shard<K> {
    fn default() -> Self {
        Shard {
            tasks: IdMap::default(),
            index: Index::default(),
        }
    }
}

/// What every shard shares: the claim queue and the unique keys.
#[derive(Debug, Default)]
struct Core {
    /// Pending tasks, for claims, and what is in progress on each
    /// resource.
    queue: Queue,
    /// The unique keys of live tasks, and which holds each.
    keys: HashMap<String, TaskId>,
}

/// The indexes of one shard's tasks.
#[derive(Debug, Default)]
struct Index {
    /// Every id, in order, for listings no index narrows.
    ids: BTreeSet<TaskId>,
    /// Every task by creation time, for listings of a creation window.
    by_created: BTreeSet<(DateTime<Utc>, TaskId)>,
    leases: BTreeSet<(DateTime<Utc>, TaskId)>,
    retries: BTreeSet<(DateTime<Utc>, TaskId)>,
    /// Waiting tasks by their time to look again.
    checks: BTreeSet<(DateTime<Utc>, TaskId)>,
    /// Stalled tasks since they stalled.
    stalled: BTreeSet<(DateTime<Utc>, TaskId)>,
    /// Done and cancelled tasks since they settled, for purges.
    settled: BTreeSet<(DateTime<Utc>, TaskId)>,
    by_resource: HashMap<ResourceRef, BTreeSet<TaskId>>,
    by_kind: HashMap<String, BTreeSet<TaskId>>,
    by_parent: IdMap<BTreeSet<TaskId>>,
    by_status: [BTreeSet<TaskId>; Status::COUNT],
}

/// A set of ids a listing walks, or checks the ids it walks against.
type Ids<'a> = &'a BTreeSet<TaskId>;

impl<K> Default for MemoryStore<K> {
    fn default() -> Self {
        MemoryStore {
            shards: std::array::from_fn(|_| RwLock::new(Shard::default())),
            core: Mutex::new(Core::default()),
            owners: Owners::default(),
        }
    }
}

/// A thread panicked while it held a lock: the indexes may disagree with
/// the tasks, and the calls that need that lock will not succeed again.
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

    fn shard(&self, id: TaskId) -> &RwLock<Shard<K>> {
        &self.shards[shard_of(id)]
    }

    fn read(&self, id: TaskId) -> Result<RwLockReadGuard<'_, Shard<K>>, StoreError> {
        self.shard(id).read().map_err(|_| poisoned())
    }

    fn write(&self, id: TaskId) -> Result<RwLockWriteGuard<'_, Shard<K>>, StoreError> {
        let shard = self.shard(id);
        locked(|| shard.try_write(), || shard.write())
    }

    /// Every shard, read at once (in shard order, as every call that
    /// holds more than one takes them).
    fn read_all(&self) -> Result<Vec<RwLockReadGuard<'_, Shard<K>>>, StoreError> {
        self.shards
            .iter()
            .map(|shard| shard.read().map_err(|_| poisoned()))
            .collect()
    }

    /// The queue and the keys: taken after a shard, never before one.
    fn core(&self) -> Result<MutexGuard<'_, Core>, StoreError> {
        locked(|| self.core.try_lock(), || self.core.lock())
    }

    /// How many tasks are stored (not counting those of a shard whose lock
    /// a panicking thread poisoned: see [`StoreError::Backend`]).
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
        self.shards
            .iter()
            .map(|shard| shard.read().map_or(0, |shard| shard.tasks.len()))
            .sum()
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
    /// one of the store's locks (the lock is poisoned, and every call that
    /// needs it fails).
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
        let mut shard = self.write(id)?;
        let Some(stored) = shard.tasks.get(&id) else {
            return Ok(None);
        };
        self.core()?.leave(&stored.task, stored.admitted);
        let Some((task, owner)) = shard.take(id) else {
            return Ok(None);
        };
        self.owners.leave(owner, id, task.status());
        Ok(Some(task))
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

/// What the claim queue needs of a pending task due at `due`, which keeps
/// the slots `admitted`.
fn entry<K: TaskKind>(task: &Task<K>, admitted: Admitted, due: DateTime<Utc>) -> Entry {
    Entry {
        id: task.id(),
        admitted,
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

impl Core {
    /// A task enters the store: its unique key is taken (refused if a
    /// live task holds it), and its queue entry made. The slots it keeps.
    fn enter<K: TaskKind>(&mut self, task: &Task<K>) -> Result<Admitted, StoreError> {
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
        let admitted = self.queue.admit(task.resource(), task.kind().name());
        self.queued(task, admitted, StateKeys::of(task), true);
        Ok(admitted)
    }

    /// A task leaves the store: its key is freed and its queue entry
    /// goes. (A task a claim has picked has none: the claim finds the task
    /// gone and unpicks it.)
    fn leave<K: TaskKind>(&mut self, task: &Task<K>, admitted: Admitted) {
        self.release_key(task);
        self.queued(task, admitted, StateKeys::of(task), false);
        self.queue.dismiss(admitted);
    }

    /// Adds or removes what the queue holds of `task` in the state `keys`
    /// describes: its entry if it is pending, its count on its resource
    /// if it is in progress.
    fn queued<K: TaskKind>(
        &mut self,
        task: &Task<K>,
        admitted: Admitted,
        keys: StateKeys,
        add: bool,
    ) {
        if let Some(due) = keys.due {
            let entry = entry(task, admitted, due);
            if add {
                self.queue.add(&entry);
            } else {
                self.queue.remove(&entry);
            }
        }
        if keys.status.is_in_progress() {
            self.queue.in_progress(admitted, task.is_blocking(), add);
        }
    }

    /// Whether a change of state from `before` to `after` concerns the
    /// queue or the keys.
    fn concerned(before: StateKeys, after: StateKeys) -> bool {
        before.due != after.due
            || before.status.is_in_progress() != after.status.is_in_progress()
            || is_absorbed(before.status) != is_absorbed(after.status)
    }

    /// A saved task (which keeps the slots `admitted`) moved from
    /// `before` to `after`.
    fn moved<K: TaskKind>(
        &mut self,
        task: &Task<K>,
        admitted: Admitted,
        before: StateKeys,
        after: StateKeys,
    ) {
        if is_absorbed(after.status) && !is_absorbed(before.status) {
            self.release_key(task);
        }
        // A task entering progress is counted on its resource before it
        // leaves its lane, and one leaving it after: the resource's entry
        // in the queue lives on in between.
        let progress = (
            before.status.is_in_progress(),
            after.status.is_in_progress(),
        );
        if progress == (false, true) {
            self.queue.in_progress(admitted, task.is_blocking(), true);
        }
        if let Some(due) = before.due {
            self.queue.remove(&entry(task, admitted, due));
        }
        if let Some(due) = after.due {
            self.queue.add(&entry(task, admitted, due));
        }
        if progress == (true, false) {
            self.queue.in_progress(admitted, task.is_blocking(), false);
        }
    }

    /// Frees the unique key `task` holds, if it is the holder.
    fn release_key<K: TaskKind>(&mut self, task: &Task<K>) {
        if let Some(key) = task.unique_key()
            && self.keys.get(key) == Some(&task.id())
        {
            self.keys.remove(key);
        }
    }
}

impl Index {
    /// Adds or removes (`add == false`) the entries of the task `id`
    /// that change with its state, as `keys` describes it.
    fn state_entries(&mut self, id: TaskId, keys: StateKeys, add: bool) {
        self.timed_entries(id, keys, add);
        if let Some(set) = self.by_status.get_mut(keys.status.index()) {
            put(set, id, add);
        }
    }

    /// Adds or removes the entries of the time indexes: leases, retries,
    /// checks, stalled and settled tasks.
    fn timed_entries(&mut self, id: TaskId, keys: StateKeys, add: bool) {
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

    /// Moves the state entries of the task `id` from `before` to `after`
    /// (the hot path of a claim or a save).
    fn moved(&mut self, id: TaskId, before: StateKeys, after: StateKeys) {
        if before == after {
            return;
        }
        self.timed_entries(id, before, false);
        self.timed_entries(id, after, true);
        let (from, to) = (before.status, after.status);
        if from == to {
            return;
        }
        if let Some(set) = self.by_status.get_mut(from.index()) {
            set.remove(&id);
        }
        if let Some(set) = self.by_status.get_mut(to.index()) {
            set.insert(id);
        }
    }

    /// Adds every entry of `task`: those commands never change (id,
    /// resource, kind, parent) and those of its state.
    fn add<K: TaskKind>(&mut self, task: &Task<K>) {
        let id = task.id();
        self.ids.insert(id);
        self.by_created.insert((task.created_at(), id));
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
        self.state_entries(id, StateKeys::of(task), true);
    }

    /// Removes every entry of `task`.
    fn remove<K: TaskKind>(&mut self, task: &Task<K>) {
        let id = task.id();
        self.ids.remove(&id);
        self.by_created.remove(&(task.created_at(), id));
        self.state_entries(id, StateKeys::of(task), false);
        // Keys left with no task go, so that removed tasks leave nothing.
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

/// Up to `limit` items of walks that are each in order of `key`, merged
/// in that order (a heap of each walk's next item: a step costs the
/// logarithm of the number of walks).
fn merged<T, O: Ord>(
    walks: impl IntoIterator<Item = impl Iterator<Item = T>>,
    key: impl Fn(&T) -> O,
    limit: usize,
) -> Vec<T> {
    let mut walks: Vec<_> = walks.into_iter().collect();
    let mut heads = BinaryHeap::new();
    let mut items: Vec<Option<T>> = Vec::with_capacity(walks.len());
    if limit > 0 {
        for (at, walk) in walks.iter_mut().enumerate() {
            let item = walk.next();
            if let Some(item) = &item {
                heads.push(Reverse((key(item), at)));
            }
            items.push(item);
        }
    }
    let mut out = Vec::new();
    while out.len() < limit
        && let Some(Reverse((_, at))) = heads.pop()
    {
        let (Some(slot), Some(walk)) = (items.get_mut(at), walks.get_mut(at)) else {
            break;
        };
        let next = walk.next();
        if let Some(item) = &next {
            heads.push(Reverse((key(item), at)));
        }
        if let Some(item) = std::mem::replace(slot, next) {
            out.push(item);
        }
    }
    out
}

/// The tasks of the time index `pick` names in every shard whose time has
/// come at `now` (every one for `None`), earliest first, up to `limit`.
fn timed<'a, K>(
    shards: &'a [RwLockReadGuard<'_, Shard<K>>],
    pick: impl Fn(&Index) -> &BTreeSet<(DateTime<Utc>, TaskId)>,
    now: Option<DateTime<Utc>>,
    limit: usize,
) -> Vec<&'a Task<K>> {
    let walks = shards.iter().map(|shard| {
        pick(&shard.index)
            .iter()
            .take_while(move |(at, _)| now.is_none_or(|now| *at <= now))
            .filter_map(|(at, id)| Some((*at, &shard.tasks.get(id)?.task)))
    });
    merged(walks, |(at, task)| (*at, task.id()), limit)
        .into_iter()
        .map(|(_, task)| task)
        .collect()
}

impl<K: TaskKind> Shard<K> {
    /// Stores a task that is not stored yet, with its log and the slots
    /// it keeps: those it was `admitted` to in the queue, its `owner`'s.
    fn add(&mut self, task: Task<K>, created: Event<K>, admitted: Admitted, owner: OwnerSlot) {
        self.index.add(&task);
        let stored = Stored {
            log: vec![created],
            admitted,
            owner,
            task,
        };
        self.tasks.insert(stored.task.id(), stored);
    }

    /// Deletes a task, its log and its index entries: the task, and the
    /// slot of its owner's sets.
    fn take(&mut self, id: TaskId) -> Option<(Task<K>, OwnerSlot)> {
        let Stored { task, owner, .. } = self.tasks.remove(&id)?;
        self.index.remove(&task);
        Some((task, owner))
    }

    /// The sets of this shard's indexes that the filter names, smallest
    /// first: of its resource, kind and parent, and of its one status
    /// unless the listing is narrowed to an owner (whose sets, by status,
    /// are the store's: `owned`).
    fn candidate_sets(&self, filter: &Filter, owned: bool) -> Vec<Ids<'_>> {
        let mut sets: Vec<Ids<'_>> = Vec::new();
        if !owned && let Some(status) = single_status(filter) {
            sets.extend(self.index.by_status.get(status.index()));
        }
        if let Some(resource) = &filter.resource {
            let set = self.index.by_resource.get(resource);
            sets.push(set.unwrap_or(&NO_IDS));
        }
        if let Some(kind) = &filter.kind {
            sets.push(self.index.by_kind.get(kind).unwrap_or(&NO_IDS));
        }
        if let Some(parent) = &filter.parent {
            let set = self.index.by_parent.get(parent);
            sets.push(set.unwrap_or(&NO_IDS));
        }
        sets.sort_by_key(|set| set.len());
        sets
    }

    /// How many ids a walk of this shard visits at most with these
    /// candidates: its smallest set, or every id.
    fn walk_len(&self, sets: &[Ids<'_>]) -> usize {
        sets.first().map_or(self.index.ids.len(), |set| set.len())
    }

    /// The ids of the tasks created in the filter's window, if it has one
    /// and it holds no more than `at_most` (beyond that, walking a
    /// smaller set costs less than collecting the window).
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

    /// The tasks of this shard `scope` sees and `filter` matches, after
    /// the cursor `start`, in id order: the smallest of `sets` is walked
    /// (every id if there is none), and the ids walked are checked against
    /// the others and `owned` (the owner's set, if the listing has one) by
    /// membership before a task is read.
    fn matching<'a>(
        &'a self,
        scope: &'a Scope,
        filter: &'a Filter,
        mut sets: Vec<Ids<'a>>,
        owned: Option<Ids<'a>>,
        start: Bound<TaskId>,
    ) -> impl Iterator<Item = &'a Task<K>> + 'a {
        let walked = if sets.is_empty() {
            &self.index.ids
        } else {
            sets.remove(0)
        };
        sets.extend(owned);
        walked
            .range((start, Bound::Unbounded))
            .filter(move |id| sets.iter().all(|set| set.contains(id)))
            .filter_map(|id| self.task(*id))
            .filter(|task| filter.matches(scope, task))
    }

    fn task(&self, id: TaskId) -> Option<&Task<K>> {
        self.tasks.get(&id).map(|stored| &stored.task)
    }

    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError> {
        let Some(Stored { log, .. }) = self
            .tasks
            .get(&id)
            .filter(|stored| scope.sees(stored.task.owner()))
        else {
            return Err(StoreError::NotFound { id });
        };
        let start = log.partition_point(|event| event.version <= after);
        Ok(log.iter().skip(start).take(limit).cloned().collect())
    }
}

/// An empty set, for the index of a key no task has.
static NO_IDS: BTreeSet<TaskId> = BTreeSet::new();

/// The one status a filter names, if it names exactly one (the indexes
/// keep each status apart).
fn single_status(filter: &Filter) -> Option<Status> {
    let mut statuses = filter.statuses.iter();
    match (statuses.next(), statuses.next()) {
        (Some(status), None) => Some(status),
        _ => None,
    }
}

/// The owner a listing is narrowed to, by its scope or its filter.
fn listed_owner<'a>(scope: &'a Scope, filter: &'a Filter) -> Option<&'a Owner> {
    match scope {
        Scope::Owner(owner) => Some(owner),
        Scope::Staff => filter.owner.as_ref(),
    }
}

/// The ids of the listing's owner that it may show, from the stripe that
/// holds the owner's sets (`None`: the owner has no task): all of them,
/// or those of the filter's one status. Empty when the filter asks for
/// another owner than the scope's (the scope sees none of them).
fn owned<'a>(
    scope: &Scope,
    filter: &Filter,
    owner: &Owner,
    stripe: Option<&'a OwnersRead<'_>>,
) -> Ids<'a> {
    if let (Scope::Owner(scoped), Some(asked)) = (scope, &filter.owner)
        && scoped != asked
    {
        return &NO_IDS;
    }
    match (
        stripe.and_then(|stripe| stripe.of(owner)),
        single_status(filter),
    ) {
        (Some(sets), Some(status)) => sets.of_status(status).unwrap_or(&NO_IDS),
        (Some(sets), None) => sets.all(),
        (None, _) => &NO_IDS,
    }
}

/// One page of a listing over every shard, in id order. A listing of one
/// owner's tasks walks the owner's set, reading each task in its shard,
/// unless the shards' own indexes name fewer: then, as for a listing of
/// every owner's, each shard walks the smallest set the filter names in
/// it, checking the ids against the others (and the owner's), and the
/// shards' walks are merged.
fn page<K: TaskKind>(
    shards: &[RwLockReadGuard<'_, Shard<K>>],
    owners: &Owners,
    scope: &Scope,
    filter: &Filter,
    page: PageRequest,
) -> Page<K> {
    let start = page.after.map_or(Bound::Unbounded, Bound::Excluded);
    let owner = listed_owner(scope, filter);
    // Read after every shard: a writer changes an owner's sets only
    // under the task's shard.
    let stripe = owner.and_then(|owner| owners.read(owner));
    let owned = owner.map(|owner| self::owned(scope, filter, owner, stripe.as_ref()));
    let mut sets: Vec<_> = shards
        .iter()
        .map(|shard| shard.candidate_sets(filter, owned.is_some()))
        .collect();
    // The creation windows, collected while they are smaller than what
    // else the walk would visit: in each shard its smallest set, and in
    // all the owner's set.
    let mut budget = owned.map_or(usize::MAX, BTreeSet::len);
    let windows: Vec<_> = shards
        .iter()
        .zip(&sets)
        .map(|(shard, sets)| {
            let at_most = shard.walk_len(sets).min(budget);
            let window = shard.created_window(filter, at_most);
            budget -= window.as_ref().map_or(at_most, BTreeSet::len);
            window
        })
        .collect();
    for (sets, window) in sets.iter_mut().zip(&windows) {
        if let Some(window) = window {
            sets.insert(0, window);
        }
    }
    let per_shard: usize = shards
        .iter()
        .zip(&sets)
        .map(|(shard, sets)| shard.walk_len(sets))
        .sum();
    let found: Vec<&Task<K>> = match owned {
        Some(owned) if owned.len() <= per_shard => owned
            .range((start, Bound::Unbounded))
            .filter_map(|id| shards.get(shard_of(*id))?.task(*id))
            .filter(|task| filter.matches(scope, task))
            .take(page.limit)
            .collect(),
        _ => {
            let walks = shards
                .iter()
                .zip(sets)
                .map(|(shard, sets)| shard.matching(scope, filter, sets, owned, start));
            merged(walks, |task| task.id(), page.limit)
        }
    };
    let tasks: Vec<Task<K>> = found.into_iter().cloned().collect();
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

impl<K: TaskKind> MemoryStore<K> {
    /// Starts the task a claim picked, under its shard (`shard`), if it is still
    /// pending and due at the claim's time; otherwise it is unpicked and
    /// (if pending) put back in the schedule. Whether it started.
    fn start_picked(
        &self,
        mut shard: RwLockWriteGuard<'_, Shard<K>>,
        pick: &Pick,
        request: &ClaimRequest,
        claims: &mut Claims<K>,
    ) -> Result<bool, StoreError> {
        let Shard { tasks, index } = &mut *shard;
        let Some(Stored {
            task,
            log,
            admitted,
            owner,
        }) = tasks.get_mut(&pick.id).filter(|stored| {
            stored.task.status() == Status::Pending && stored.task.is_blocking() == pick.blocking
        })
        else {
            // Gone, or moved on by a save since the pick: that save put
            // what the queue needs of it in the queue.
            self.core()?.queue.unpick(pick);
            return Ok(false);
        };
        let due = due_at(task);
        let before = StateKeys::of(task);
        // The queue's lock before the start: a start is never left
        // without its log entry by a queue that cannot be locked.
        let mut core = self.core()?;
        // Started in place: the stored task changes only if `start`
        // accepts.
        let started = (due <= request.now)
            .then(|| {
                task.start(request.lease_until, request.worker.clone(), request.now)
                    .ok()
            })
            .flatten();
        let Some((run, event)) = started else {
            // Not due at the claim's time (a save moved it since the
            // pick) or refused: back to the schedule, where the next claim
            // looks at it again. A save since the pick may have queued it.
            core.queue.unpick(pick);
            let entry = entry(task, *admitted, due);
            core.queue.remove(&entry);
            core.queue.schedule(&entry);
            return Ok(false);
        };
        // A save since the pick may have queued it again.
        core.queue.remove(&entry(task, *admitted, due));
        drop(core);
        log.push(event);
        let after = StateKeys::of(task);
        index.moved(task.id(), before, after);
        self.owners
            .moved(*owner, task.id(), before.status, after.status);
        claims.claimed.push(Claimed {
            task: task.clone(),
            run,
        });
        Ok(true)
    }
}

impl<K: TaskKind> TaskStore<K> for MemoryStore<K> {
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        check_insert(&task, &created)?;
        let mut shard = self.write(task.id())?;
        if shard.tasks.contains_key(&task.id()) {
            return Err(StoreError::Duplicate { id: task.id() });
        }
        let admitted = self.core()?.enter(&task)?;
        let owner = self.owners.enter(task.owner(), task.id(), task.status());
        shard.add(task, created, admitted, owner);
        Ok(())
    }

    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        Ok(self
            .read(id)?
            .tasks
            .get(&id)
            .filter(|stored| scope.sees(stored.task.owner()))
            .map(|stored| stored.task.clone()))
    }

    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError> {
        self.read(id)?.log(scope, id, after, limit)
    }

    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError> {
        let id = task.id();
        let mut shard = self.write(id)?;
        let Shard { tasks, index } = &mut *shard;
        let Stored {
            task: stored,
            log,
            admitted,
            owner,
        } = tasks.get_mut(&id).ok_or(StoreError::NotFound { id })?;
        let found = stored.version();
        if found != expected {
            return Err(StoreError::Conflict {
                id,
                expected,
                found,
            });
        }
        let last_logged = log.last().map_or(0, |event| event.version);
        check_save(stored, task, expected, last_logged, events)?;
        let (before, after) = (StateKeys::of(stored), StateKeys::of(task));
        if Core::concerned(before, after) {
            self.core()?.moved(task, *admitted, before, after);
        }
        log.extend_from_slice(events);
        index.moved(id, before, after);
        self.owners.moved(*owner, id, before.status, after.status);
        *stored = task.clone();
        Ok(())
    }

    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page_request: PageRequest,
    ) -> Result<Page<K>, StoreError> {
        Ok(page(
            &self.read_all()?,
            &self.owners,
            scope,
            filter,
            page_request,
        ))
    }

    fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError> {
        request.check()?;
        let mut claims = Claims {
            // One allocation for the usual claim of a few tasks.
            claimed: Vec::with_capacity(request.limit.min(CLAIMED_CAPACITY)),
            unreadable: Vec::new(),
        };
        let mut promote = true;
        loop {
            let wanted = request.limit.saturating_sub(claims.claimed.len());
            if wanted == 0 {
                break;
            }
            let picks =
                self.core()?
                    .queue
                    .pick(request.now, request.kinds.as_ref(), wanted, promote);
            promote = false;
            let mut all_started = true;
            for pick in &picks {
                match self.write(pick.id) {
                    Ok(shard) => {
                        all_started &= self.start_picked(shard, pick, request, &mut claims)?
                    }
                    Err(error) => {
                        // A shard a panic poisoned: its task is reported
                        // and left out of the queue (no call reaches it
                        // again), and its resource no longer counts it in
                        // progress, so the other picks and the tasks on
                        // that resource go on.
                        self.core()?.queue.unpick(pick);
                        claims.unreadable.push(Unreadable {
                            id: pick.id,
                            reason: error.to_string(),
                        });
                        all_started = false;
                    }
                }
            }
            // A pick that did not start went back to the schedule, which
            // only the next claim promotes: another round ends.
            if picks.is_empty() || all_started {
                break;
            }
        }
        Ok(claims)
    }

    fn sweep(
        &self,
        sweep: Sweep,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Swept<K>, StoreError> {
        let shards = self.read_all()?;
        let tasks = match sweep {
            Sweep::ExpiredLeases => timed(&shards, |index| &index.leases, Some(now), limit),
            Sweep::RetriesDue => timed(&shards, |index| &index.retries, Some(now), limit),
            Sweep::ChecksDue => timed(&shards, |index| &index.checks, Some(now), limit),
            Sweep::Stalled => timed(&shards, |index| &index.stalled, None, limit),
        };
        Ok(Swept {
            tasks: tasks.into_iter().cloned().collect(),
            unreadable: Vec::new(),
        })
    }

    fn next_due(
        &self,
        kinds: Option<&BTreeSet<String>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let first = |set: &BTreeSet<(DateTime<Utc>, TaskId)>| set.first().map(|(at, _)| *at);
        let mut earliest = self.core()?.queue.next_due(kinds);
        for shard in &self.shards {
            let shard = shard.read().map_err(|_| poisoned())?;
            let index = &shard.index;
            earliest = [
                earliest,
                first(&index.leases),
                first(&index.retries),
                first(&index.stalled),
            ]
            .into_iter()
            .flatten()
            .min();
        }
        Ok(earliest)
    }

    fn purge(&self, settled_before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        let ids: Vec<TaskId> = {
            let shards = self.read_all()?;
            let walks = shards.iter().map(|shard| {
                shard
                    .index
                    .settled
                    .iter()
                    .take_while(|(at, _)| *at < settled_before)
            });
            merged(walks, |entry| **entry, limit)
                .into_iter()
                .map(|(_, id)| *id)
                .collect()
        };
        // Settled tasks never change: those another call has not removed
        // meanwhile are removed here.
        let mut purged = 0;
        for id in ids {
            if self.remove(id)?.is_some() {
                purged += 1;
            }
        }
        Ok(purged)
    }
}

// The futures are ready at once: each call does its work under the locks
// when it is made, as the blocking call does.
ready_async_store!(impl<K> for MemoryStore<K> where [K: TaskKind + Send + Sync], |this| this);

#[cfg(test)]
mod poisoned_tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, Ordering};

    use chrono::{Duration, TimeZone, Utc};

    use super::MemoryStore;
    use crate::store::{ClaimRequest, Scope, StoreError, TaskStore};
    use crate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Rules, Status, Task, TaskKind};

    /// The store of the test below, which its kind reaches.
    static STORE: OnceLock<MemoryStore<Tripwire>> = OnceLock::new();
    /// Set: the next look at the kind's rules poisons the queue's lock.
    static ARMED: AtomicBool = AtomicBool::new(false);
    /// Whether it did.
    static POISONED: AtomicBool = AtomicBool::new(false);

    /// A kind whose rules, once armed, have another thread panic while
    /// holding the store's queue lock, and wait for it.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Tripwire;

    impl TaskKind for Tripwire {
        fn name(&self) -> &str {
            "Tripwire"
        }

        fn rules(&self) -> &Rules {
            if ARMED.swap(false, Ordering::SeqCst)
                && let Some(store) = STORE.get()
            {
                let panicked = std::thread::spawn(move || {
                    // Not waited for: a claim that holds the lock here
                    // would wait for this thread.
                    if let Ok(_core) = store.core.try_lock() {
                        panic!("the queue's lock poisoned on purpose");
                    }
                })
                .join()
                .is_err();
                POISONED.store(panicked, Ordering::SeqCst);
            }
            &Rules::STANDARD
        }
    }

    /// A claim picks under the queue's lock, lets it go, and starts the
    /// pick under its shard. Poisoned in between (by another thread, so
    /// the shard is not), the claim fails and the task is as it was:
    /// pending, with the log that makes it (it once started first and
    /// stayed running without its start logged).
    #[test]
    fn a_queue_lock_poisoned_between_pick_and_start_leaves_the_task_as_it_was() {
        let store = STORE.get_or_init(MemoryStore::default);
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
            .single()
            .unwrap();
        let new = NewTask::new(
            IdGenerator::seeded(3).next_id(t0),
            Tripwire,
            Owner::new("acme"),
            ResourceRef::new("domain", "example.fr"),
        );
        let (task, created) = Task::create(new, Actor::System, t0).unwrap();
        let id = task.id();
        store.insert(task, created).unwrap();
        ARMED.store(true, Ordering::SeqCst);
        let claimed = store.claim(&ClaimRequest::new(t0, t0 + Duration::minutes(5)));
        assert!(POISONED.load(Ordering::SeqCst), "the lock was not poisoned");
        assert!(
            matches!(claimed, Err(StoreError::Backend { .. })),
            "{claimed:?}"
        );
        let task = store.get(&Scope::Staff, id).unwrap().unwrap();
        assert_eq!((task.status(), task.version()), (Status::Pending, 1));
        let log = store.log(&Scope::Staff, id, 0, 10).unwrap();
        assert_eq!(log.len(), 1);
        task.check_log(&log).unwrap();
    }

    /// A claim picks a task of a shard a panic poisoned and one of a
    /// healthy shard: the healthy one starts, the other is reported as
    /// unreadable, and nothing of it stays behind in the queue (with the
    /// claim failing at the first pick, the second stayed out of its lane
    /// and counted in progress on its resource for good: a blocking task
    /// there never started).
    #[test]
    fn a_poisoned_shard_does_not_strand_the_other_picks_of_a_claim() {
        let store = MemoryStore::<crate::NamedKind>::new();
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
            .single()
            .unwrap();
        let mut ids = IdGenerator::seeded(3);
        let bad = ids.next_id(t0);
        let mut healthy = || loop {
            let id = ids.next_id(t0);
            if super::shard_of(id) != super::shard_of(bad) {
                break id;
            }
        };
        let (good, blocker) = (healthy(), healthy());
        let zone = ResourceRef::new("zone", "good.com");
        let new = |id, priority, resource: &ResourceRef, blocking| {
            NewTask::new(
                id,
                crate::NamedKind::new("ZonePublish"),
                Owner::new("acme"),
                resource.clone(),
            )
            .priority(priority)
            .blocking(blocking)
        };
        for (id, priority, resource) in [
            (bad, 10, ResourceRef::new("zone", "bad.com")),
            (good, 0, zone.clone()),
        ] {
            let (task, created) =
                Task::create(new(id, priority, &resource, false), Actor::System, t0).unwrap();
            store.insert(task, created).unwrap();
        }
        let shard = &store.shards[super::shard_of(bad)];
        std::thread::scope(|scope| {
            let panicked = scope
                .spawn(|| {
                    let _held = shard.write();
                    panic!("a shard poisoned on purpose");
                })
                .join();
            assert!(panicked.is_err());
        });

        let now = t0 + Duration::minutes(1);
        let request = ClaimRequest::new(now, now + Duration::minutes(5)).limit(2);
        let claims = store.claim(&request).unwrap();
        let claimed: Vec<_> = claims.claimed.iter().map(|claim| claim.task.id()).collect();
        assert_eq!(claimed, [good]);
        assert_eq!(claims.unreadable.len(), 1);
        assert_eq!(claims.unreadable[0].id, bad);
        // Not picked again.
        let again = store.claim(&request).unwrap();
        assert!(again.claimed.is_empty() && again.unreadable.is_empty());

        // The healthy task's resource is free once it is done: a blocking
        // task there starts.
        let Some(crate::store::Claimed { mut task, run }) = claims.claimed.into_iter().next()
        else {
            panic!("claimed above");
        };
        let read = task.version();
        let done = run.complete(&mut task, crate::Outcome::new(), now).unwrap();
        store.save(&task, read, &[done]).unwrap();
        let (task, created) =
            Task::create(new(blocker, 0, &zone, true), Actor::System, now).unwrap();
        store.insert(task, created).unwrap();
        let claimed = store.claim(&request).unwrap().claimed;
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].task.id(), blocker);
    }
}
