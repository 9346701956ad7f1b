//! Storage: the contract a host's store keeps, and the in-memory default.
//!
//! The core does no I/O. A host keeps its tasks where it likes; the
//! [`TaskStore`] trait says what that storage must do for the lifecycle to
//! stay correct under many workers:
//!
//! - **the record and its log**: [`insert`](TaskStore::insert) stores a
//!   task with its first event; the log is kept beside the record (a
//!   table of events, not a field of it) and read in pages with
//!   [`log`](TaskStore::log); reading a task costs the same whatever the
//!   length of its log;
//! - **compare-and-swap saves**: [`save`](TaskStore::save) writes a task
//!   and appends its new events, atomically, only if the stored version
//!   is the one the caller read, else [`StoreError::Conflict`] carries the
//!   version found, so the caller reloads and retries. A heartbeat saves
//!   the task with no event: it bumps the version, so it and any other
//!   save are ordered by the same compare-and-swap;
//! - **claims with leases**: [`claim_due`](TaskStore::claim_due) starts up
//!   to N due pending tasks (oldest due first) under a lease in the same
//!   step, so two executors never hold the same task, and respects
//!   [blocking](crate::Task::blocked_by) per resource;
//!   [`expired`](TaskStore::expired) finds running or waiting tasks whose
//!   lease ran out, for `mark_stalled`;
//! - **filtered, paged listings** ([`list`](TaskStore::list)) in a stable
//!   order (by id, so by creation) with cursors: by resource, kind, status
//!   set, owner, parent and creation range (OVHcloud's listing filters by
//!   domain, function and status);
//! - **tenant scoping**: a [`Scope`] on every lookup and listing; a
//!   customer's scope sees only its owner's tasks.
//!
//! The trait is synchronous and object-safe (`dyn TaskStore<K>`). An async
//! host calls it from its runtime's blocking pool (for instance
//! `tokio::task::spawn_blocking`) or implements it over a connection pool
//! whose calls block; every method is short and holds no lock across
//! calls.
//!
//! [`MemoryStore`] is the embedded default: `Send + Sync`, indexed, for
//! tests, single-process hosts and as a reference. The conformance suite
//! in `testkit` (feature `testkit`) checks any implementation with one
//! call. [`work_once`] is a worker's loop step over any store.
//!
//! # Example
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
//! use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
//!
//! let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
//! let store = MemoryStore::<NamedKind>::new();
//! let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
//!     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
//! let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
//! let id = task.id();
//! store.insert(task, created)?;
//!
//! let claimed = store.claim_due(now, 10, now + Duration::minutes(5), Some("worker-1"))?;
//! assert_eq!(claimed.len(), 1);
//!
//! let alice = Scope::Owner(Owner::new("alice"));
//! let page = store.list(&alice, &Filter::new(), PageRequest::first(100))?;
//! assert_eq!(page.tasks.len(), 1);
//!
//! // The log holds the creation and the claim's start.
//! let log = store.log(&alice, id, 0, 100)?;
//! assert_eq!(log.len(), 2);
//! page.tasks[0].check_log(&log)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod memory;
#[cfg(feature = "testkit")]
pub mod testkit;
mod worker;

pub use memory::MemoryStore;
pub use worker::{Handled, WorkReport, work_once};

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::actor::Owner;
use crate::command::{Event, ResourceRef};
use crate::id::TaskId;
use crate::run::Run;
use crate::status::StatusSet;
use crate::task::Task;

/// Who is looking: the staff (every task) or one customer (its tasks
/// only). Every lookup and listing goes through a scope, so a customer's
/// request cannot reach another owner's task.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Operators and the system: every task.
    Staff,
    /// A customer: only the tasks of this owner.
    Owner(Owner),
}

impl Scope {
    /// Whether a task of `owner` is visible in this scope.
    pub fn sees(&self, owner: &Owner) -> bool {
        match self {
            Scope::Staff => true,
            Scope::Owner(scope) => scope == owner,
        }
    }
}

/// Which tasks a listing returns. Every field is optional; set ones must
/// all match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Tasks acting on this resource (OVHcloud's `domain`).
    pub resource: Option<ResourceRef>,
    /// Tasks of the kind with this name (OVHcloud's `function`).
    pub kind: Option<String>,
    /// Tasks in one of these statuses (OVHcloud's `status`); empty means
    /// any.
    pub statuses: StatusSet,
    /// Tasks of this owner (within the scope).
    pub owner: Option<Owner>,
    /// Children of this task.
    pub parent: Option<TaskId>,
    /// Tasks created at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Tasks created before this time.
    pub created_until: Option<DateTime<Utc>>,
}

impl Filter {
    /// Every task.
    pub fn new() -> Self {
        Filter::default()
    }

    /// Only tasks on `resource`.
    pub fn resource(mut self, resource: ResourceRef) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Only tasks of the kind named `kind`.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only tasks in one of `statuses`.
    pub fn statuses(mut self, statuses: StatusSet) -> Self {
        self.statuses = statuses;
        self
    }

    /// Only tasks of `owner`.
    pub fn owner(mut self, owner: Owner) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Only children of `parent`.
    pub fn parent(mut self, parent: TaskId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Only tasks created in `[from, until)`.
    pub fn created(mut self, from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        self.created_from = Some(from);
        self.created_until = Some(until);
        self
    }

    /// Whether `task` matches, in `scope`.
    pub fn matches<K: crate::TaskKind>(&self, scope: &Scope, task: &Task<K>) -> bool {
        scope.sees(task.owner())
            && self.resource.as_ref().is_none_or(|r| r == task.resource())
            && self.kind.as_deref().is_none_or(|k| k == task.kind().name())
            && (self.statuses.is_empty() || self.statuses.contains(task.status()))
            && self.owner.as_ref().is_none_or(|o| o == task.owner())
            && self.parent.is_none_or(|p| task.parent() == Some(p))
            && self
                .created_from
                .is_none_or(|from| task.created_at() >= from)
            && self
                .created_until
                .is_none_or(|until| task.created_at() < until)
    }
}

/// Where a page starts and how long it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this task id (a previous page's `next`); `None` for the
    /// first page.
    pub after: Option<TaskId>,
    /// At most this many tasks.
    pub limit: usize,
}

impl PageRequest {
    /// The first page of `limit` tasks.
    pub fn first(limit: usize) -> Self {
        PageRequest { after: None, limit }
    }

    /// The page after `cursor`.
    pub fn after(cursor: TaskId, limit: usize) -> Self {
        PageRequest {
            after: Some(cursor),
            limit,
        }
    }
}

/// A page of tasks, in id order (creation order for v7 ids).
#[derive(Clone, Debug, PartialEq)]
pub struct Page<K> {
    /// The tasks.
    pub tasks: Vec<Task<K>>,
    /// The cursor of the next page, if there may be one.
    pub next: Option<TaskId>,
}

/// A task an executor claimed, with its run's handle. The store has
/// logged the start already.
#[derive(Debug)]
pub struct Claimed<K> {
    /// The task as stored once started.
    pub task: Task<K>,
    /// The run's handle.
    pub run: Run,
}

/// What a store refused or failed at.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `save` found another version than the caller read: reload, re-apply
    /// and save again.
    #[error("task {id} is at version {found}, not {expected}")]
    Conflict {
        /// The task.
        id: TaskId,
        /// The version the caller read.
        expected: u64,
        /// The version stored now.
        found: u64,
    },
    /// `insert` of an id already stored.
    #[error("task {id} already exists")]
    Duplicate {
        /// The task.
        id: TaskId,
    },
    /// No such task (in the caller's scope).
    #[error("no task {id}")]
    NotFound {
        /// The task.
        id: TaskId,
    },
    /// A save that no sequence of commands produces from the stored
    /// record: a version that does not grow, events that do not follow
    /// the log, or a change to what never changes.
    #[error("task {id}: {reason}")]
    Refused {
        /// The task.
        id: TaskId,
        /// What is wrong with the save.
        reason: &'static str,
    },
    /// The storage itself failed (I/O, a driver); the message says how.
    #[error("storage failed: {0}")]
    Backend(String),
}

/// The checks of a save that any store makes before it writes: `task`
/// is newer than `expected`, has the identity of `stored` (the record
/// now stored, at version `expected`), `events` follow the log, whose
/// last event has version `last_logged`, up to `task`'s version, and
/// they make `task` from `stored` ([`Task::check_next`]).
///
/// # Errors
///
/// [`StoreError::Refused`] naming what is wrong.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::store::{StoreError, check_save};
/// use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// let (stored, _) = Task::create(new, Actor::customer("alice"), now)?;
/// let mut task = stored.clone();
/// let event = task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?;
/// check_save(&stored, &task, 1, 1, event.as_slice())?;
/// // The same save without its event would lose it from the log.
/// assert!(matches!(check_save(&stored, &task, 1, 1, &[]), Err(StoreError::Refused { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_save<K: crate::TaskKind>(
    stored: &Task<K>,
    task: &Task<K>,
    expected: u64,
    last_logged: u64,
    events: &[Event<K>],
) -> Result<(), StoreError> {
    let refused = |reason| {
        Err(StoreError::Refused {
            id: task.id(),
            reason,
        })
    };
    if task.version() <= expected {
        return refused("the saved version does not grow: a rollback or a stale copy");
    }
    if !task.same_identity(stored) {
        return refused(
            "the save changes what never changes (id, kind, owner, resource, creation)",
        );
    }
    let mut previous = last_logged;
    for event in events {
        let follows = event
            .version
            .checked_sub(u64::from(event.heartbeats))
            .and_then(|v| v.checked_sub(1));
        if follows != Some(previous) || event.version > task.version() {
            return refused("the events do not follow the log");
        }
        previous = event.version;
    }
    let heartbeats = task.lease().map_or(0, crate::Lease::heartbeats);
    if previous.checked_add(u64::from(heartbeats)) != Some(task.version()) {
        return refused("the events do not reach the saved version: an append is missing");
    }
    if stored.check_next(last_logged, events, task).is_err() {
        return refused("the events do not make the saved record from the stored one");
    }
    Ok(())
}

/// The checks of an insert that any store makes before it writes: `task`
/// is the record its creation event `created` makes (version 1, the same
/// identity and state).
///
/// # Errors
///
/// [`StoreError::Refused`] naming what is wrong.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::store::{StoreError, check_insert};
/// use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let mut ids = IdGenerator::seeded(1);
/// let mut new = |owner: &str| NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
///     Owner::new(owner), ResourceRef::new("domain", "example.fr"));
/// let (task, created) = Task::create(new("alice"), Actor::System, now)?;
/// check_insert(&task, &created)?;
/// let (_, other) = Task::create(new("mallory"), Actor::System, now)?;
/// assert!(matches!(check_insert(&task, &other), Err(StoreError::Refused { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_insert<K: crate::TaskKind>(
    task: &Task<K>,
    created: &Event<K>,
) -> Result<(), StoreError> {
    Task::check_created(task, created).map_err(|_| StoreError::Refused {
        id: task.id(),
        reason: "a new task is inserted at version 1 with the creation that makes it",
    })
}

/// The contract of a task store. See the [module docs](self).
pub trait TaskStore<K> {
    /// Stores a new task with the first event of its log (what
    /// [`Task::create`] returns).
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] if its id is stored already;
    /// [`StoreError::Refused`] if `created` is not the task's creation at
    /// its version.
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError>;

    /// The task `id`, if it exists and `scope` sees it. Costs the same
    /// whatever the length of its log.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] only.
    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError>;

    /// Up to `limit` events of the log of task `id`, oldest first, from
    /// the first whose version is greater than `after` (0 for the start of
    /// the log): a page of the audit trail, and what
    /// [`Task::replay`] folds.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when the task does not exist or `scope`
    /// does not see it.
    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError>;

    /// Replaces the stored task with `task` and appends `events` to its
    /// log, atomically, if the stored version is `expected` (the version
    /// the caller read before applying commands). `events` are those the
    /// commands returned, in order (none for heartbeats).
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] with the version found;
    /// [`StoreError::NotFound`]; [`StoreError::Refused`] when `task` is
    /// not newer than `expected`, its events do not follow the log up to
    /// its version, or it changes what never changes (owner, kind,
    /// resource, creation).
    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError>;

    /// The tasks `scope` sees that match `filter`, in id order, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] only.
    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<Page<K>, StoreError>;

    /// Starts up to `limit` pending tasks that are due at `now` (a
    /// `todo_at` that has come, or none), oldest due first, each under a
    /// lease until `lease_until`, skipping those a blocking task keeps
    /// waiting. Each is saved started, its start logged, before it is
    /// returned.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] only.
    fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
        worker: Option<&str>,
    ) -> Result<Vec<Claimed<K>>, StoreError>;

    /// Up to `limit` running or waiting tasks whose lease ran out at `now`,
    /// earliest deadline first: the candidates for `mark_stalled`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] only.
    fn expired(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError>;

    /// Up to `limit` waiting tasks whose time to look again
    /// ([`Lease::check_at`](crate::Lease::check_at)) has come at `now`,
    /// earliest first: what a poller asks the outside party about. Only
    /// the wait's deadline makes a task stallable ([`expired`](TaskStore::expired));
    /// a check time at or after it is not offered here.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] only.
    fn checks_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError>;

    /// Up to `limit` failed tasks whose automatic retry is due at `now`,
    /// earliest first: the candidates for `retry`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] only.
    fn retry_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError>;
}
