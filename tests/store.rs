//! The MemoryStore passes the conformance suite; its worker step runs
//! tasks to the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use taskstate::store::{Handled, MemoryStore, Scope, TaskStore, testkit, work_once};
use taskstate::{NamedKind, Outcome, Status};

use common::{logged_of, pending, t};

#[test]
fn the_memory_store_passes_the_conformance_suite() {
    testkit::check_store(MemoryStore::<NamedKind>::new).unwrap();
}

#[test]
fn the_memory_store_is_send_and_sync() {
    fn assert_send_sync<X: Send + Sync>() {}
    assert_send_sync::<MemoryStore<NamedKind>>();
    let store: &dyn TaskStore<NamedKind> = &MemoryStore::new();
    assert!(store.get(&Scope::Staff, pending().id()).unwrap().is_none());
}

#[test]
fn a_worker_step_claims_handles_and_records() {
    let store = MemoryStore::new();
    let created = logged_of(NamedKind::new("DomainCreate"));
    let id = created.task.id();
    store
        .insert(created.task, created.log.into_iter().next().unwrap())
        .unwrap();
    let report = work_once(&store, t(10), 10, t(310), Some("w1"), |_task| {
        Handled::Complete(Outcome::new().message("done"))
    })
    .unwrap();
    assert_eq!((report.claimed, report.recorded, report.refused), (1, 1, 0));
    let task = store.get(&Scope::Staff, id).unwrap().unwrap();
    assert_eq!(task.status(), Status::Done);
    assert_eq!(task.comment(), Some("done"));
    // The log holds the creation, the claim's start and the completion,
    // and the record is what it rebuilds.
    let log = store.log(&Scope::Staff, id, 0, 100).unwrap();
    assert_eq!(log.len(), 3);
    task.check_log(&log).unwrap();
}

// ---------------------------------------------------------------------
// Broken stores: each flaw makes the conformance suite fail, naming it
// ---------------------------------------------------------------------

use chrono::{DateTime, Utc};
use taskstate::store::{Claimed, Filter, Page, PageRequest, StoreError};
use taskstate::{Event, StatusSet, Task, TaskId};

type K = NamedKind;

/// What a broken store gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// A claim takes five times its limit.
    IgnoresLimit,
    /// A claim takes pending tasks in creation (id) order, not due order.
    CreationOrder,
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
}

/// A `MemoryStore` with one flaw.
struct Broken {
    inner: MemoryStore<K>,
    flaw: Flaw,
}

impl TaskStore<K> for Broken {
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
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
        self.inner.list(scope, filter, page)
    }

    fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
        worker: Option<&str>,
    ) -> Result<Vec<Claimed<K>>, StoreError> {
        match self.flaw {
            Flaw::IgnoresLimit => self.inner.claim_due(now, limit * 5, lease_until, worker),
            Flaw::CreationOrder => {
                let pending = Filter::new().statuses(StatusSet::of(&[Status::Pending]));
                let page = self
                    .inner
                    .list(&Scope::Staff, &pending, PageRequest::first(10_000))?;
                let mut claimed = Vec::new();
                for mut task in page.tasks {
                    if claimed.len() == limit {
                        break;
                    }
                    let version = task.version();
                    if let Ok((run, started)) = task.start(lease_until, worker.map(Into::into), now)
                        && self.inner.save(&task, version, &[started]).is_ok()
                    {
                        claimed.push(Claimed { task, run });
                    }
                }
                Ok(claimed)
            }
            _ => self.inner.claim_due(now, limit, lease_until, worker),
        }
    }

    fn expired(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        self.inner.expired(now, limit)
    }

    fn checks_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        self.inner.checks_due(now, limit)
    }

    fn retry_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        self.inner.retry_due(now, limit)
    }
}

#[test]
fn every_broken_store_fails_the_suite_naming_its_flaw() {
    for (flaw, check) in [
        (Flaw::IgnoresLimit, "a claim takes at most its limit"),
        (
            Flaw::CreationOrder,
            "a claim takes the oldest due first, not the oldest created",
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
    ] {
        let result = testkit::check_store(|| Broken {
            inner: MemoryStore::new(),
            flaw,
        });
        match result {
            Err(error) => assert_eq!(error.check, check, "{flaw:?}: {}", error.detail),
            Ok(()) => panic!("{flaw:?}: the suite passed a broken store"),
        }
    }
}
