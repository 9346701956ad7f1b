//! The in-memory store.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};

use super::{
    Claimed, Filter, Page, PageRequest, Scope, StoreError, TaskStore, check_insert, check_save,
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
/// Indexes: pending tasks by due time, leased tasks by lease deadline,
/// waiting tasks by their time to look again, failed tasks by retry time, the ids of the tasks of each owner,
/// resource, kind, status and parent, and the tasks in progress on each
/// resource (for the blocking rule). A listing walks the smallest index
/// its filter and scope name, in id order from its cursor.
///
/// Nothing is ever dropped by the store itself: a host applies its
/// retention policy with [`remove`](MemoryStore::remove).
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
    /// The indexes, apart from the tasks so that a task and the indexes
    /// can be borrowed together while the task changes.
    index: Index,
}

/// The tasks on one resource.
#[derive(Debug, Default)]
struct OnResource {
    /// All of them, in id order.
    ids: BTreeSet<TaskId>,
    /// Those in progress, for the blocking rule: a handful, however long
    /// the resource's history.
    in_progress: Vec<TaskId>,
}

#[derive(Debug, Default)]
struct Index {
    /// Every id, in order, for listings no index narrows.
    ids: BTreeSet<TaskId>,
    due: BTreeSet<(DateTime<Utc>, TaskId)>,
    leases: BTreeSet<(DateTime<Utc>, TaskId)>,
    retries: BTreeSet<(DateTime<Utc>, TaskId)>,
    /// Waiting tasks by their time to look again.
    checks: BTreeSet<(DateTime<Utc>, TaskId)>,
    by_owner: HashMap<Owner, BTreeSet<TaskId>>,
    by_resource: HashMap<ResourceRef, OnResource>,
    by_kind: HashMap<String, BTreeSet<TaskId>>,
    by_parent: HashMap<TaskId, BTreeSet<TaskId>>,
    by_status: [BTreeSet<TaskId>; Status::COUNT],
    /// Each owner's tasks by status: a customer's listing of one status.
    by_owner_status: HashMap<Owner, [BTreeSet<TaskId>; Status::COUNT]>,
    /// How many blocking tasks are in progress. While there are none, a
    /// task that is not blocking itself cannot be held back, and a claim
    /// skips the blocking check.
    blocking_in_progress: usize,
}

impl<K> Default for MemoryStore<K> {
    fn default() -> Self {
        MemoryStore {
            inner: RwLock::new(Inner {
                tasks: HashMap::new(),
                logs: HashMap::new(),
                index: Index::default(),
            }),
        }
    }
}

impl<K> MemoryStore<K> {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Inner<K>>, StoreError> {
        self.inner
            .read()
            .map_err(|_| StoreError::Backend("the store's lock is poisoned".into()))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, Inner<K>>, StoreError> {
        self.inner
            .write()
            .map_err(|_| StoreError::Backend("the store's lock is poisoned".into()))
    }

    /// How many tasks are stored.
    pub fn len(&self) -> usize {
        self.read().map_or(0, |inner| inner.tasks.len())
    }

    /// Whether no task is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: TaskKind> MemoryStore<K> {
    /// Deletes the task `id`, its log and its index entries, returning it: how a
    /// host applies its retention policy (OVHcloud, for one, forgets
    /// finished tasks after a while). Any task can be removed; an
    /// executor still running a removed task gets
    /// [`StoreError::NotFound`] when it saves.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] only (a poisoned lock).
    pub fn remove(&self, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        let mut inner = self.write()?;
        let Some(task) = inner.tasks.remove(&id) else {
            return Ok(None);
        };
        inner.logs.remove(&id);
        inner.index.entries(&task, false);
        Ok(Some(task))
    }
}

/// The due time of a pending task: its `todo_at`, or its creation.
fn due_at<K>(task: &Task<K>) -> DateTime<Utc> {
    task.todo_at().unwrap_or(task.created_at())
}

/// The entries of a task that change with its state.
#[derive(Clone, Copy, PartialEq, Eq)]
struct StateKeys {
    status: Status,
    due: Option<DateTime<Utc>>,
    lease: Option<DateTime<Utc>>,
    retry: Option<DateTime<Utc>>,
    check: Option<DateTime<Utc>>,
}

impl StateKeys {
    fn of<K: TaskKind>(task: &Task<K>) -> StateKeys {
        StateKeys {
            status: task.status(),
            due: (task.status() == Status::Pending).then(|| due_at(task)),
            lease: task
                .lease()
                .filter(|_| task.status().is_leased())
                .map(Lease::expires_at),
            retry: task.next_retry_at(),
            check: task.check_due_at(),
        }
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
        self.timed_entries(id, keys, add);
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
            self.in_progress_entry(task, add);
        }
    }

    /// Adds or removes the entries of the time indexes: due, lease and
    /// retry.
    fn timed_entries(&mut self, id: TaskId, keys: StateKeys, add: bool) {
        if let Some(due) = keys.due {
            put(&mut self.due, (due, id), add);
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
    }

    /// Adds or removes `task` among the tasks in progress on its resource
    /// (whose entry [`Index::entries`] made when the task was added).
    fn in_progress_entry<K: TaskKind>(&mut self, task: &Task<K>, add: bool) {
        let id = task.id();
        if let Some(on) = self.by_resource.get_mut(task.resource()) {
            if add {
                on.in_progress.push(id);
            } else {
                on.in_progress.retain(|other| *other != id);
            }
        }
        if task.is_blocking() {
            self.blocking_in_progress = if add {
                self.blocking_in_progress.saturating_add(1)
            } else {
                self.blocking_in_progress.saturating_sub(1)
            };
        }
    }

    /// Moves the state entries of `task` from `before` to `after`, with
    /// one lookup of its owner's sets (the hot path of a claim or a save).
    fn moved<K: TaskKind>(&mut self, task: &Task<K>, before: StateKeys, after: StateKeys) {
        if before == after {
            return;
        }
        let id = task.id();
        self.timed_entries(id, before, false);
        self.timed_entries(id, after, true);
        let (from, to) = (before.status, after.status);
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
        if from.is_in_progress() != to.is_in_progress() {
            self.in_progress_entry(task, to.is_in_progress());
        }
    }

    /// Adds or removes every entry of `task`: those commands never change
    /// (id, owner, resource, kind, parent) and those of its state.
    fn entries<K: TaskKind>(&mut self, task: &Task<K>, add: bool) {
        let id = task.id();
        put(&mut self.ids, id, add);
        if add {
            self.by_owner
                .entry(task.owner().clone())
                .or_default()
                .insert(id);
            self.by_resource
                .entry(task.resource().clone())
                .or_default()
                .ids
                .insert(id);
            self.by_kind
                .entry(task.kind().name().to_owned())
                .or_default()
                .insert(id);
            if let Some(parent) = task.parent() {
                self.by_parent.entry(parent).or_default().insert(id);
            }
            // After the resource's entry, which holds its tasks in progress.
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
        if let Some(on) = self.by_resource.get_mut(task.resource()) {
            on.ids.remove(&id);
            if on.ids.is_empty() {
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
        self.index
            .moved(&task, StateKeys::of(old), StateKeys::of(&task));
        *old = task;
    }

    /// Whether a task in progress on the resource of `task` keeps it from
    /// starting, by the core's blocking rule.
    fn is_held_back(&self, task: &Task<K>) -> bool {
        if !task.is_blocking() && self.index.blocking_in_progress == 0 {
            return false;
        }
        let others = self
            .index
            .by_resource
            .get(task.resource())
            .into_iter()
            .flat_map(|on| &on.in_progress)
            .filter_map(|id| self.tasks.get(id));
        task.blocked_by(others).is_some()
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
            sets.push(
                self.index
                    .by_resource
                    .get(resource)
                    .map_or(&EMPTY, |on| &on.ids),
            );
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
}

impl<K: TaskKind> TaskStore<K> for MemoryStore<K> {
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        check_insert(&task, &created)?;
        let mut inner = self.write()?;
        if inner.tasks.contains_key(&task.id()) {
            return Err(StoreError::Duplicate { id: task.id() });
        }
        inner.logs.insert(task.id(), vec![created]);
        inner.add(task);
        Ok(())
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
        let inner = self.read()?;
        if !inner
            .tasks
            .get(&id)
            .is_some_and(|task| scope.sees(task.owner()))
        {
            return Err(StoreError::NotFound { id });
        }
        let log = inner.logs.get(&id).map_or(&[][..], Vec::as_slice);
        let start = log.partition_point(|event| event.version <= after);
        Ok(log.iter().skip(start).take(limit).cloned().collect())
    }

    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError> {
        let mut inner = self.write()?;
        let stored = inner
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
        let last_logged = inner
            .logs
            .get(&task.id())
            .and_then(|log| log.last())
            .map_or(0, |event| event.version);
        check_save(stored, task, expected, last_logged, events)?;
        if !events.is_empty()
            && let Some(log) = inner.logs.get_mut(&task.id())
        {
            log.extend_from_slice(events);
        }
        inner.replace(task.clone());
        Ok(())
    }

    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<Page<K>, StoreError> {
        let inner = self.read()?;
        let start = page.after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut tasks = Vec::new();
        let sets = inner.candidate_sets(scope, filter);
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
                    if let Some(task) = inner.tasks.get(id)
                        && !take(task)
                    {
                        break;
                    }
                }
            }
            None => {
                for id in inner.index.ids.range((start, Bound::Unbounded)) {
                    if page.limit == 0 {
                        break;
                    }
                    if let Some(task) = inner.tasks.get(id)
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
        Ok(Page { tasks, next })
    }

    fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
        worker: Option<&str>,
    ) -> Result<Vec<Claimed<K>>, StoreError> {
        let mut inner = self.write()?;
        let mut claimed = Vec::new();
        let mut cursor = Bound::Unbounded;
        while claimed.len() < limit {
            let Some(&(due, id)) = inner.index.due.range((cursor, Bound::Unbounded)).next() else {
                break;
            };
            if due > now {
                break;
            }
            cursor = Bound::Excluded((due, id));
            match inner.tasks.get(&id) {
                Some(task) if !inner.is_held_back(task) => {}
                _ => continue,
            }
            let Inner { tasks, logs, index } = &mut *inner;
            let Some(task) = tasks.get_mut(&id) else {
                continue;
            };
            // Started in place: the stored task changes only if `start`
            // accepts (it refuses, for instance, a task not due by its
            // own `todo_at`, which stays queued).
            let before = StateKeys::of(task);
            let Ok((run, started)) = task.start(lease_until, worker.map(str::to_owned), now) else {
                continue;
            };
            if let Some(log) = logs.get_mut(&id) {
                log.push(started);
            }
            index.moved(task, before, StateKeys::of(task));
            claimed.push(Claimed {
                task: task.clone(),
                run,
            });
        }
        Ok(claimed)
    }

    fn expired(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        let inner = self.read()?;
        Ok(inner.come_by(&inner.index.leases, now, limit))
    }

    fn checks_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        let inner = self.read()?;
        Ok(inner.come_by(&inner.index.checks, now, limit))
    }

    fn retry_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        let inner = self.read()?;
        Ok(inner.come_by(&inner.index.retries, now, limit))
    }
}
