//! The in-memory store.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};

use super::{Claimed, Filter, Page, PageRequest, Scope, StoreError, TaskStore};
use crate::actor::Owner;
use crate::command::ResourceRef;
use crate::id::TaskId;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::task::Task;

/// The embedded store: every task in memory, behind one lock, with
/// indexes so that a claim, an expiry scan and a filtered listing do not
/// visit every task.
///
/// `Send + Sync`: share it between threads with an `Arc`. Every method
/// takes the lock once and holds it only for its own work.
///
/// Indexes: pending tasks by due time, leased tasks by lease deadline,
/// failed tasks by retry time, and the ids of the tasks of each owner,
/// resource, kind, status and parent. A listing walks the smallest index
/// its filter and scope name, in id order from its cursor.
#[derive(Debug)]
pub struct MemoryStore<K> {
    inner: RwLock<Inner<K>>,
}

#[derive(Debug)]
struct Inner<K> {
    /// The tasks, by id: one lookup to reach a task.
    tasks: HashMap<TaskId, Task<K>>,
    /// Every id, in order, for listings no index narrows.
    ids: BTreeSet<TaskId>,
    due: BTreeSet<(DateTime<Utc>, TaskId)>,
    leases: BTreeSet<(DateTime<Utc>, TaskId)>,
    retries: BTreeSet<(DateTime<Utc>, TaskId)>,
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
                ids: BTreeSet::new(),
                due: BTreeSet::new(),
                leases: BTreeSet::new(),
                retries: BTreeSet::new(),
                by_owner: HashMap::new(),
                by_resource: HashMap::new(),
                by_kind: HashMap::new(),
                by_parent: HashMap::new(),
                by_status: Default::default(),
                by_owner_status: HashMap::new(),
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
}

impl StateKeys {
    fn of<K: TaskKind>(task: &Task<K>) -> StateKeys {
        StateKeys {
            status: task.status(),
            due: (task.status() == Status::Pending).then(|| due_at(task)),
            lease: task
                .lease()
                .filter(|_| task.status().is_leased())
                .map(|lease| lease.expires_at),
            retry: task.next_retry_at(),
        }
    }
}

impl<K: TaskKind> Inner<K> {
    /// Adds or removes (`add == false`) the state entries of task `id`.
    fn state_entries(&mut self, id: TaskId, owner: &Owner, keys: StateKeys, add: bool) {
        fn apply<T: Ord>(set: &mut BTreeSet<T>, value: T, add: bool) {
            if add {
                set.insert(value);
            } else {
                set.remove(&value);
            }
        }
        if let Some(due) = keys.due {
            apply(&mut self.due, (due, id), add);
        }
        if let Some(lease) = keys.lease {
            apply(&mut self.leases, (lease, id), add);
        }
        if let Some(retry) = keys.retry {
            apply(&mut self.retries, (retry, id), add);
        }
        if let Some(set) = self.by_status.get_mut(keys.status.index()) {
            apply(set, id, add);
        }
        let sets = match self.by_owner_status.get_mut(owner) {
            Some(sets) => Some(sets),
            None if add => Some(self.by_owner_status.entry(owner.clone()).or_default()),
            None => None,
        };
        if let Some(set) = sets.and_then(|sets| sets.get_mut(keys.status.index())) {
            apply(set, id, add);
        }
    }

    /// Adds or removes the entries that commands never change: owner,
    /// resource, kind and parent.
    fn fixed_entries(&mut self, task: &Task<K>, add: bool) {
        let id = task.id();
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
            return;
        }
        if let Some(set) = self.by_owner.get_mut(task.owner()) {
            set.remove(&id);
        }
        if let Some(set) = self.by_resource.get_mut(task.resource()) {
            set.remove(&id);
        }
        if let Some(set) = self.by_kind.get_mut(task.kind().name()) {
            set.remove(&id);
        }
        if let Some(set) = task
            .parent()
            .and_then(|parent| self.by_parent.get_mut(&parent))
        {
            set.remove(&id);
        }
    }

    /// Stores a task that is not stored yet.
    fn add(&mut self, task: Task<K>) {
        self.fixed_entries(&task, true);
        self.state_entries(task.id(), task.owner(), StateKeys::of(&task), true);
        self.ids.insert(task.id());
        self.tasks.insert(task.id(), task);
    }

    /// Replaces the stored task with `task`, touching only the index
    /// entries that changed.
    fn replace(&mut self, task: Task<K>) {
        let id = task.id();
        let Some(old) = self.tasks.get(&id) else {
            self.add(task);
            return;
        };
        let (old_keys, new_keys) = (StateKeys::of(old), StateKeys::of(&task));
        let same_fixed = old.owner() == task.owner()
            && old.resource() == task.resource()
            && old.kind().name() == task.kind().name()
            && old.parent() == task.parent();
        if !same_fixed {
            self.ids.remove(&id);
            if let Some(old) = self.tasks.remove(&id) {
                self.fixed_entries(&old, false);
                self.state_entries(id, old.owner(), old_keys, false);
            }
            self.add(task);
            return;
        }
        if old_keys != new_keys {
            let owner = task.owner().clone();
            self.state_entries(id, &owner, old_keys, false);
            self.state_entries(id, &owner, new_keys, true);
        }
        if let Some(slot) = self.tasks.get_mut(&id) {
            *slot = task;
        }
    }

    /// The tasks in progress on `resource` other than `except`, for the
    /// blocking rule.
    fn in_progress_on(&self, resource: &ResourceRef, except: TaskId) -> Vec<&Task<K>> {
        self.by_resource
            .get(resource)
            .into_iter()
            .flatten()
            .filter(|id| **id != except)
            .filter_map(|id| self.tasks.get(id))
            .filter(|task| task.status().is_in_progress())
            .collect()
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
                self.by_owner_status
                    .get(owner)
                    .and_then(|sets| sets.get(status.index()))
                    .unwrap_or(&EMPTY),
            ),
            (Some(owner), None) => sets.push(self.by_owner.get(owner).unwrap_or(&EMPTY)),
            (None, Some(status)) => sets.extend(self.by_status.get(status.index())),
            (None, None) => {}
        }
        if let Some(resource) = &filter.resource {
            sets.push(self.by_resource.get(resource).unwrap_or(&EMPTY));
        }
        if let Some(kind) = &filter.kind {
            sets.push(self.by_kind.get(kind).unwrap_or(&EMPTY));
        }
        if let Some(parent) = &filter.parent {
            sets.push(self.by_parent.get(parent).unwrap_or(&EMPTY));
        }
        sets.sort_by_key(|set| set.len());
        sets
    }
}

impl<K: TaskKind> TaskStore<K> for MemoryStore<K> {
    fn insert(&self, task: Task<K>) -> Result<(), StoreError> {
        let mut inner = self.write()?;
        if inner.tasks.contains_key(&task.id()) {
            return Err(StoreError::Duplicate { id: task.id() });
        }
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

    fn save(&self, task: &Task<K>, expected: u64) -> Result<(), StoreError> {
        let mut inner = self.write()?;
        let found = inner
            .tasks
            .get(&task.id())
            .ok_or(StoreError::NotFound { id: task.id() })?
            .version();
        if found != expected {
            return Err(StoreError::Conflict {
                id: task.id(),
                expected,
                found,
            });
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
                for id in inner.ids.range((start, Bound::Unbounded)) {
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
            let Some(&(due, id)) = inner.due.range((cursor, Bound::Unbounded)).next() else {
                break;
            };
            if due > now {
                break;
            }
            cursor = Bound::Excluded((due, id));
            let Some(task) = inner.tasks.get(&id) else {
                continue;
            };
            if task
                .blocked_by(inner.in_progress_on(task.resource(), id))
                .is_some()
            {
                continue;
            }
            let (owner, before) = (task.owner().clone(), StateKeys::of(task));
            // Started in place: the stored task changes only if `start`
            // accepts (it refuses, for instance, a task not due by its
            // own `todo_at`, which stays queued).
            let Some(task) = inner.tasks.get_mut(&id) else {
                continue;
            };
            let Ok(run) = task.start(lease_until, worker.map(str::to_owned), now) else {
                continue;
            };
            let (after, copy) = (StateKeys::of(task), task.clone());
            inner.state_entries(id, &owner, before, false);
            inner.state_entries(id, &owner, after, true);
            claimed.push(Claimed { task: copy, run });
        }
        Ok(claimed)
    }

    fn expired(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        let inner = self.read()?;
        Ok(inner.come_by(&inner.leases, now, limit))
    }

    fn retry_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        let inner = self.read()?;
        Ok(inner.come_by(&inner.retries, now, limit))
    }
}
