//! The in-memory store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    tasks: BTreeMap<TaskId, Task<K>>,
    due: BTreeSet<(DateTime<Utc>, TaskId)>,
    leases: BTreeSet<(DateTime<Utc>, TaskId)>,
    retries: BTreeSet<(DateTime<Utc>, TaskId)>,
    by_owner: HashMap<Owner, BTreeSet<TaskId>>,
    by_resource: HashMap<ResourceRef, BTreeSet<TaskId>>,
    by_kind: HashMap<String, BTreeSet<TaskId>>,
    by_parent: HashMap<TaskId, BTreeSet<TaskId>>,
    by_status: [BTreeSet<TaskId>; Status::COUNT],
}

impl<K> Default for MemoryStore<K> {
    fn default() -> Self {
        MemoryStore {
            inner: RwLock::new(Inner {
                tasks: BTreeMap::new(),
                due: BTreeSet::new(),
                leases: BTreeSet::new(),
                retries: BTreeSet::new(),
                by_owner: HashMap::new(),
                by_resource: HashMap::new(),
                by_kind: HashMap::new(),
                by_parent: HashMap::new(),
                by_status: Default::default(),
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

impl<K: TaskKind> Inner<K> {
    /// Adds `task`'s entries to the indexes.
    fn index(&mut self, task: &Task<K>) {
        let id = task.id();
        match task.status() {
            Status::Pending => {
                self.due.insert((due_at(task), id));
            }
            Status::Running | Status::Waiting => {
                if let Some(lease) = task.lease() {
                    self.leases.insert((lease.expires_at, id));
                }
            }
            Status::Failed => {
                if let Some(at) = task.next_retry_at() {
                    self.retries.insert((at, id));
                }
            }
            Status::Stalled | Status::Done | Status::Cancelled => {}
        }
        if let Some(set) = self.by_status.get_mut(task.status().index()) {
            set.insert(id);
        }
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
    }

    /// Removes every entry of `task` from the indexes.
    fn unindex(&mut self, task: &Task<K>) {
        let id = task.id();
        self.due.remove(&(due_at(task), id));
        if let Some(lease) = task.lease() {
            self.leases.remove(&(lease.expires_at, id));
        }
        if let Some(at) = task.next_retry_at() {
            self.retries.remove(&(at, id));
        }
        if let Some(set) = self.by_status.get_mut(task.status().index()) {
            set.remove(&id);
        }
        // Commands never change these; a save that does (another task
        // under the same id) must not leave stale entries behind.
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

    /// Replaces the stored task with `task`, keeping the indexes current.
    fn replace(&mut self, task: Task<K>) {
        if let Some(old) = self.tasks.remove(&task.id()) {
            self.unindex(&old);
        }
        self.index(&task);
        self.tasks.insert(task.id(), task);
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

    /// The tasks in progress on `resource`, for the blocking rule.
    fn in_progress_on(&self, resource: &ResourceRef) -> Vec<&Task<K>> {
        self.by_resource
            .get(resource)
            .into_iter()
            .flatten()
            .filter_map(|id| self.tasks.get(id))
            .filter(|task| task.status().is_active() && task.status() != Status::Pending)
            .collect()
    }

    /// The smallest index the scope and the filter name, if any.
    fn candidates(&self, scope: &Scope, filter: &Filter) -> Option<&BTreeSet<TaskId>> {
        static EMPTY: BTreeSet<TaskId> = BTreeSet::new();
        let mut sets: Vec<&BTreeSet<TaskId>> = Vec::new();
        let owner = match scope {
            Scope::Owner(owner) => Some(owner),
            Scope::Staff => filter.owner.as_ref(),
        };
        if let Some(owner) = owner {
            sets.push(self.by_owner.get(owner).unwrap_or(&EMPTY));
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
        let mut statuses = filter.statuses.iter();
        if let (Some(status), None) = (statuses.next(), statuses.next()) {
            sets.extend(self.by_status.get(status.index()));
        }
        sets.into_iter().min_by_key(|set| set.len())
    }
}

impl<K: TaskKind> TaskStore<K> for MemoryStore<K> {
    fn insert(&self, task: Task<K>) -> Result<(), StoreError> {
        let mut inner = self.write()?;
        if inner.tasks.contains_key(&task.id()) {
            return Err(StoreError::Duplicate { id: task.id() });
        }
        inner.index(&task);
        inner.tasks.insert(task.id(), task);
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
        let matching = |id: &TaskId| {
            inner
                .tasks
                .get(id)
                .filter(|task| filter.matches(scope, task))
        };
        match inner.candidates(scope, filter) {
            Some(set) => {
                for task in set.range((start, Bound::Unbounded)).filter_map(matching) {
                    if tasks.len() == page.limit {
                        break;
                    }
                    tasks.push(task.clone());
                }
            }
            None => {
                for (_, task) in inner.tasks.range((start, Bound::Unbounded)) {
                    if tasks.len() == page.limit {
                        break;
                    }
                    if filter.matches(scope, task) {
                        tasks.push(task.clone());
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
                .blocked_by(inner.in_progress_on(task.resource()))
                .is_some()
            {
                continue;
            }
            let mut task = task.clone();
            match task.start(lease_until, worker.map(str::to_owned), now) {
                Ok(run) => {
                    inner.replace(task.clone());
                    claimed.push(Claimed { task, run });
                }
                // Not startable after all (not due by its own clock):
                // leave it for a later claim.
                Err(_) => continue,
            }
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
