//! The MemoryStore passes both conformance suites, and every broken store
//! a careful reviewer can think of fails them, each naming its flaw.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use taskstate::store::{
    ClaimRequest, Claimed, Claims, Filter, MemoryStore, Page, PageRequest, Scope, StoreError,
    Sweep, Swept, TaskStore,
};
use taskstate::testkit::store as conformance;
use taskstate::{Event, NamedKind, ResourceRef, Status, StatusSet, Task, TaskId, TaskKind};

use crate::common::{block_on, pending};

type K = NamedKind;

#[test]
fn the_memory_store_passes_the_conformance_suite() {
    conformance::check_store(conformance::shared(MemoryStore::<K>::new)).unwrap();
}

#[test]
fn the_memory_store_passes_the_async_conformance_suite() {
    block_on(conformance::check_async_store(conformance::shared(
        MemoryStore::<K>::new,
    )))
    .unwrap();
}

#[test]
fn the_memory_store_is_send_and_sync_and_object_safe() {
    fn assert_send_sync<X: Send + Sync>() {}
    assert_send_sync::<MemoryStore<K>>();
    let store: &dyn TaskStore<K> = &MemoryStore::new();
    assert!(store.get(&Scope::Staff, pending().id()).unwrap().is_none());
}

// ---------------------------------------------------------------------
// Broken stores: each flaw makes the conformance suite fail, naming it
// ---------------------------------------------------------------------

/// What a broken store gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// A claim takes five times its limit.
    IgnoresLimit,
    /// A claim takes pending tasks in creation (id) order, not due order.
    CreationOrder,
    /// A claim ignores priorities and kinds.
    IgnoresPriorityAndKinds,
    /// A claim with a lease already over is carried out.
    AcceptsClaimsOfNothing,
    /// Each handle claims from its own cache of the store, and overwrites.
    StaleHandleCache,
    /// A save that carries a higher version than the stored one wins,
    /// whatever version the caller read.
    HigherVersionWins,
    /// A listing with a kind, resource or status filter forgets the
    /// customer's scope.
    ScopeDroppedUnderFilters,
    /// A save of an older record replaces the stored one.
    Rollback,
    /// A save of another task's record under the same id is answered Ok.
    ForeignRecord,
    /// The log loses the last event appended.
    LostAppend,
    /// Inserts ignore unique keys.
    IgnoresUniqueKeys,
    /// The stalled sweep finds nothing.
    ForgetsStalledTasks,
    /// The next due time leaves out leases.
    NextDueWithoutLeases,
    /// A purge deletes failed tasks too.
    PurgesFailedTasks,
    /// A listing ignores who must act on a failure, and warnings.
    IgnoresProviderConditions,
    /// A listing of running tasks finds none (a status index that leaves
    /// them out, read as if it held them).
    RunningUnlisted,
    /// A filtered listing's cursor skips the first task of the next page.
    FilteredCursorSkips,
    /// A claim judges the blocking rule against the tasks in progress
    /// before it only, not against those it starts itself.
    BlocksAgainstEarlierClaimsOnly,
    /// A claim counts running tasks only as holding their resource, not
    /// waiting or stalled ones.
    OnlyRunningTasksHold,
    /// The next due time leaves out stalled tasks and retries.
    NextDueWithoutStalledOrRetries,
    /// A purge deletes any task but a failed one changed last before the
    /// time: pending and running ones too.
    PurgesLiveTasks,
}

/// A handle on a shared `MemoryStore`, with one flaw.
struct Broken {
    inner: Arc<MemoryStore<K>>,
    flaw: Flaw,
    /// For [`Flaw::StaleHandleCache`]: the tasks this handle read once.
    cache: Mutex<Option<HashMap<TaskId, Task<K>>>>,
}

impl Broken {
    /// `make` for the suites: `n` handles with `flaw` on one new store.
    fn make(flaw: Flaw) -> impl FnMut(usize) -> Vec<Broken> {
        move |n| {
            let inner = Arc::new(MemoryStore::new());
            (0..n)
                .map(|_| Broken {
                    inner: Arc::clone(&inner),
                    flaw,
                    cache: Mutex::new(None),
                })
                .collect()
        }
    }

    /// Starts up to `limit` tasks of `tasks`, in their order, saving each
    /// started; with `overwrite`, reports a claim whose save failed as made.
    fn start_in_order(
        &self,
        tasks: impl IntoIterator<Item = Task<K>>,
        request: &ClaimRequest,
        overwrite: bool,
    ) -> Claims<K> {
        let mut claims = Claims::default();
        for mut task in tasks {
            if claims.claimed.len() == request.limit {
                break;
            }
            let version = task.version();
            if let Ok((run, started)) =
                task.start(request.lease_until, request.worker.clone(), request.now)
                && (self.inner.save(&task, version, &[started]).is_ok() || overwrite)
            {
                claims.claimed.push(Claimed { task, run });
            }
        }
        claims
    }

    fn pending(&self) -> Result<Vec<Task<K>>, StoreError> {
        self.of(&[Status::Pending])
    }

    /// Every task in one of `statuses`.
    fn of(&self, statuses: &[Status]) -> Result<Vec<Task<K>>, StoreError> {
        let filter = Filter::new().statuses(StatusSet::of(statuses));
        Ok(self
            .inner
            .list(&Scope::Staff, &filter, PageRequest::first(10_000))?
            .tasks)
    }

    /// A claim that applies the blocking rule itself: the tasks in
    /// `holders` hold their resource, and with `within`, so do the tasks
    /// the claim starts.
    fn claim_by_resource(
        &self,
        request: &ClaimRequest,
        holders: &[Status],
        within: bool,
    ) -> Result<Claims<K>, StoreError> {
        request.check()?;
        // Per resource: whether a task holds it, and whether one that
        // blocks does.
        let mut held: HashMap<ResourceRef, (bool, bool)> = HashMap::new();
        let hold = |held: &mut HashMap<ResourceRef, (bool, bool)>, task: &Task<K>| {
            let entry = held.entry(task.resource().clone()).or_default();
            *entry = (true, entry.1 || task.is_blocking());
        };
        for task in self.of(holders)? {
            hold(&mut held, &task);
        }
        let due_at = |task: &Task<K>| task.todo_at().unwrap_or(task.created_at());
        let mut due: Vec<Task<K>> = self
            .pending()?
            .into_iter()
            .filter(|task| due_at(task) <= request.now && request.wants(task.kind().name()))
            .collect();
        due.sort_by_key(|task| (Reverse(task.priority()), due_at(task), task.id()));
        let mut claims = Claims::default();
        for mut task in due {
            if claims.claimed.len() == request.limit {
                break;
            }
            let (any, blocking) = held.get(task.resource()).copied().unwrap_or_default();
            if blocking || (task.is_blocking() && any) {
                continue;
            }
            let version = task.version();
            if let Ok((run, started)) =
                task.start(request.lease_until, request.worker.clone(), request.now)
                && self.inner.save(&task, version, &[started]).is_ok()
            {
                if within {
                    hold(&mut held, &task);
                }
                claims.claimed.push(Claimed { task, run });
            }
        }
        Ok(claims)
    }
}

impl TaskStore<K> for Broken {
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        if self.flaw == Flaw::IgnoresUniqueKeys && task.unique_key().is_some() {
            // The same task without its key.
            let new = taskstate::NewTask::new(
                task.id(),
                task.kind().clone(),
                task.owner().clone(),
                task.resource().clone(),
            );
            let (bare, created) =
                Task::create(new, taskstate::Actor::System, task.created_at()).unwrap();
            return self.inner.insert(bare, created);
        }
        self.inner.insert(task, created)
    }

    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        self.inner.get(scope, id)
    }

    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError> {
        let mut log = self.inner.log(scope, id, after, limit)?;
        if self.flaw == Flaw::LostAppend && log.len() > 1 {
            log.pop();
        }
        Ok(log)
    }

    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError> {
        let stored = self
            .inner
            .get(&Scope::Staff, task.id())?
            .ok_or(StoreError::NotFound { id: task.id() })?;
        match self.flaw {
            Flaw::HigherVersionWins if task.version() > stored.version() => {
                self.inner.save(task, stored.version(), events)
            }
            Flaw::Rollback
                if expected == stored.version()
                    && task.version() < stored.version()
                    && task.version() == 1 =>
            {
                let created = self.inner.log(&Scope::Staff, task.id(), 0, 1)?.remove(0);
                self.inner.remove(task.id())?;
                self.inner.insert(task.clone(), created)
            }
            Flaw::ForeignRecord if !task.same_identity(&stored) => Ok(()),
            Flaw::StaleHandleCache => {
                self.inner.save(task, expected, events)?;
                if let Some(cache) = &mut *self.cache.lock().unwrap() {
                    cache.insert(task.id(), task.clone());
                }
                Ok(())
            }
            _ => self.inner.save(task, expected, events),
        }
    }

    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<Page<K>, StoreError> {
        let narrows =
            filter.kind.is_some() || filter.resource.is_some() || !filter.statuses.is_empty();
        if self.flaw == Flaw::ScopeDroppedUnderFilters && narrows {
            return self.inner.list(&Scope::Staff, filter, page);
        }
        if self.flaw == Flaw::RunningUnlisted && filter.statuses.contains(Status::Running) {
            let mut page = self.inner.list(scope, filter, page)?;
            page.tasks.retain(|task| task.status() != Status::Running);
            return Ok(page);
        }
        if self.flaw == Flaw::FilteredCursorSkips && narrows && page.after.is_some() {
            let mut page = self.inner.list(scope, filter, page)?;
            if !page.tasks.is_empty() {
                page.tasks.remove(0);
            }
            return Ok(page);
        }
        if self.flaw == Flaw::IgnoresProviderConditions {
            let mut loose = filter.clone();
            loose.failure_origin = None;
            loose.warnings = None;
            return self.inner.list(scope, &loose, page);
        }
        self.inner.list(scope, filter, page)
    }

    fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError> {
        match self.flaw {
            Flaw::IgnoresLimit => self.inner.claim(&request.clone().limit(request.limit * 5)),
            Flaw::CreationOrder => Ok(self.start_in_order(self.pending()?, request, false)),
            Flaw::IgnoresPriorityAndKinds => {
                let mut tasks = self.pending()?;
                tasks.sort_by_key(|task| (task.todo_at().unwrap_or(task.created_at()), task.id()));
                Ok(self.start_in_order(tasks, request, false))
            }
            Flaw::AcceptsClaimsOfNothing if request.check().is_err() => Ok(Claims::default()),
            Flaw::BlocksAgainstEarlierClaimsOnly => {
                self.claim_by_resource(request, &IN_PROGRESS, false)
            }
            Flaw::OnlyRunningTasksHold => self.claim_by_resource(request, &[Status::Running], true),
            Flaw::StaleHandleCache => {
                // Claims right, then tops the claim up from what this
                // handle last saw pending, overwriting: right as long as
                // no other handle writes.
                let mut claims = self.inner.claim(request)?;
                let mut cache = self.cache.lock().unwrap();
                let cache = match &mut *cache {
                    Some(cache) => cache,
                    None => cache.insert(
                        self.pending()?
                            .into_iter()
                            .map(|task| (task.id(), task))
                            .collect(),
                    ),
                };
                for claim in &claims.claimed {
                    cache.insert(claim.task.id(), claim.task.clone());
                }
                let mut stale: Vec<Task<K>> = cache
                    .values()
                    .filter(|task| {
                        task.status() == Status::Pending
                            && task.todo_at().is_none_or(|at| at <= request.now)
                            && request.wants(task.kind().name())
                    })
                    .cloned()
                    .collect();
                stale.sort_by_key(Task::id);
                let left = request
                    .clone()
                    .limit(request.limit.saturating_sub(claims.claimed.len()));
                let more = self.start_in_order(stale, &left, true);
                for claim in &more.claimed {
                    cache.insert(claim.task.id(), claim.task.clone());
                }
                claims.claimed.extend(more.claimed);
                Ok(claims)
            }
            _ => self.inner.claim(request),
        }
    }

    fn sweep(
        &self,
        sweep: Sweep,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Swept<K>, StoreError> {
        if self.flaw == Flaw::ForgetsStalledTasks && sweep == Sweep::Stalled {
            return Ok(Swept::default());
        }
        self.inner.sweep(sweep, now, limit)
    }

    fn next_due(
        &self,
        kinds: Option<&BTreeSet<String>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        if self.flaw == Flaw::NextDueWithoutLeases {
            // Pending tasks only: the earliest of their due times.
            return Ok(self
                .pending()?
                .iter()
                .filter(|task| kinds.is_none_or(|kinds| kinds.contains(task.kind().name())))
                .map(|task| task.todo_at().unwrap_or(task.created_at()))
                .min());
        }
        if self.flaw == Flaw::NextDueWithoutStalledOrRetries {
            let pending = self
                .pending()?
                .into_iter()
                .filter(|task| kinds.is_none_or(|kinds| kinds.contains(task.kind().name())))
                .map(|task| task.todo_at().unwrap_or(task.created_at()));
            let leases = self
                .of(&[Status::Running, Status::Waiting])?
                .into_iter()
                .filter_map(|task| task.lease().map(taskstate::Lease::expires_at));
            return Ok(pending.chain(leases).min());
        }
        self.inner.next_due(kinds)
    }

    fn purge(&self, settled_before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        if self.flaw == Flaw::PurgesFailedTasks {
            let failed = Filter::new().statuses(StatusSet::of(&[Status::Failed]));
            let page = self
                .inner
                .list(&Scope::Staff, &failed, PageRequest::first(limit))?;
            let mut purged = 0;
            for task in page.tasks {
                self.inner.remove(task.id())?;
                purged += 1;
            }
            return Ok(purged + self.inner.purge(settled_before, limit - purged)?);
        }
        if self.flaw == Flaw::PurgesLiveTasks {
            let mut old: Vec<Task<K>> = self
                .inner
                .list(&Scope::Staff, &Filter::new(), PageRequest::first(10_000))?
                .tasks
                .into_iter()
                .filter(|task| {
                    task.status() != Status::Failed && task.updated_at() < settled_before
                })
                .collect();
            old.sort_by_key(|task| (task.updated_at(), task.id()));
            for task in old.iter().take(limit) {
                self.inner.remove(task.id())?;
            }
            return Ok(old.len().min(limit));
        }
        self.inner.purge(settled_before, limit)
    }
}

/// The statuses of a task in progress: each holds its resource.
const IN_PROGRESS: [Status; 3] = [Status::Running, Status::Waiting, Status::Stalled];

#[test]
fn every_broken_store_fails_the_suite_naming_its_flaw() {
    for (flaw, check) in [
        (Flaw::IgnoresLimit, "a claim takes at most its limit"),
        (
            Flaw::CreationOrder,
            "a claim takes the oldest due first, not the oldest created",
        ),
        (
            Flaw::IgnoresPriorityAndKinds,
            "a claim of some kinds takes only those",
        ),
        (
            Flaw::AcceptsClaimsOfNothing,
            "a claim that could start nothing is refused",
        ),
        (
            Flaw::StaleHandleCache,
            "no double claim from two handles on one store",
        ),
        (
            Flaw::HigherVersionWins,
            "a save compares the version read, not which is higher",
        ),
        (
            Flaw::ScopeDroppedUnderFilters,
            "a customer's scope holds under every filter",
        ),
        (Flaw::Rollback, "a save never rolls a record back"),
        (
            Flaw::ForeignRecord,
            "a save never replaces a record with another task's",
        ),
        (Flaw::LostAppend, "the log rebuilds the record"),
        (Flaw::IgnoresUniqueKeys, "one live task per unique key"),
        (Flaw::ForgetsStalledTasks, "stalled tasks are swept"),
        (Flaw::NextDueWithoutLeases, "the next due time"),
        (Flaw::PurgesFailedTasks, "purge of settled tasks"),
        (Flaw::IgnoresProviderConditions, "filters"),
        (Flaw::RunningUnlisted, "filters"),
        (Flaw::FilteredCursorSkips, "filters"),
        (
            Flaw::BlocksAgainstEarlierClaimsOnly,
            "blocking holds among the tasks of one claim",
        ),
        (
            Flaw::OnlyRunningTasksHold,
            "a waiting or stalled task holds its resource",
        ),
        (
            Flaw::NextDueWithoutStalledOrRetries,
            "the next due time of stalled tasks and retries",
        ),
        (Flaw::PurgesLiveTasks, "purge of settled tasks"),
    ] {
        match conformance::check_store(Broken::make(flaw)) {
            Err(error) => assert_eq!(error.check, check, "{flaw:?}: {}", error.detail),
            Ok(()) => panic!("{flaw:?}: the suite passed a broken store"),
        }
    }
}
