//! Storage: the contract a host's store keeps, the in-memory default, and
//! the worker loop over any store.
//!
//! The core does no I/O. A host keeps its tasks where it likes; the
//! [`TaskStore`] trait (blocking calls) and the [`AsyncTaskStore`] trait
//! (the same methods, returning futures that are `Send`) say what that
//! storage must do for the lifecycle to stay correct under many workers.
//! Both share every request and answer type. Each guarantee below names
//! the check of the conformance suite (`testkit`, feature `testkit`) that
//! fails on a store that breaks it.
//!
//! | guarantee | checked by |
//! |---|---|
//! | **insert** stores a task with its first event ([`check_insert`]); an id stored already is [`StoreError::Duplicate`]; a [unique key](crate::NewTask::unique_key) a live task holds is [`StoreError::KeyTaken`] naming the holder, also under concurrent inserts | `round_trip`, `refused_saves`, `unique_keys`, `keys_from_two_handles`, `concurrent_keys` |
//! | **get** costs the same whatever the log's length; the log is kept beside the record and read in pages with **log** | `round_trip` |
//! | **save** is compare-and-swap plus append, atomically: it writes only if the stored version is the one read ([`StoreError::Conflict`] carries the one found), and refuses a rollback, events that do not follow the log or do not make the record, a lost append and any change to what never changes ([`check_save`], [`StoreError::Refused`]) | `compare_and_swap`, `refused_saves` |
//! | **list** filters by owner, kind, status set, resource, parent and creation range, in id order with cursors; a customer's [`Scope`] sees only its own tasks, whatever the filter | `paging_and_filters`, `scoping`, `scoping_under_filters` |
//! | **claim** starts up to N due pending tasks under a lease in one step, highest priority then earliest due first, only of the kinds asked for, skipping resources a blocking task holds (running, waiting or stalled, or started by the same claim); never the same task to two claimers, from two threads or two handles on one backing store; a request that could start nothing is [`StoreError::InvalidRequest`] | `claims`, `claim_limit_and_order`, `claim_priority_and_kinds`, `concurrent_claims`, `claims_from_two_handles`, `blocking`, `blocking_within_one_claim`, `waiting_and_stalled_tasks_hold_their_resource`, `invalid_claims` |
//! | **sweep** finds expired leases, due retries, due checks and stalled tasks; **next_due** is the earliest time a worker has something to do (a due pending task, a lease running out, a retry, a stalled task) | `expiry_and_retries`, `checks_of_waiting_tasks`, `stalled_tasks`, `next_due`, `next_due_of_stalled_tasks_and_retries` |
//! | **purge** deletes done and cancelled tasks settled before a time, with their logs, in batches, and no other task (pending, running or failed) | `purge` |
//! | a record a store cannot read is reported as [`Unreadable`] and never stops claims, sweeps or listings of the others | the store's own tests (a conformance suite cannot write a corrupt record) |
//!
//! A heartbeat saves the task with no event: it bumps the version, so it
//! and any other save are ordered by the same compare-and-swap.
//!
//! [`MemoryStore`] is the embedded default: `Send + Sync`, indexed, for
//! tests, single-process hosts and as a reference; it implements both
//! traits. [`update`] is the load, apply, compare-and-swap and retry loop
//! every caller of `save` needs, and [`work_once`] one step of a worker.
//!
//! # Example
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use taskstate::store::{ClaimRequest, Filter, MemoryStore, PageRequest, Scope, TaskStore};
//! use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
//!
//! let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
//! let store = MemoryStore::<NamedKind>::new();
//! let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
//!     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
//! let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
//! let id = task.id();
//! store.insert(task, created)?;
//!
//! let claims = store.claim(&ClaimRequest::new(now, now + Duration::minutes(5)).limit(10))?;
//! assert_eq!(claims.claimed.len(), 1);
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

pub(crate) mod block_on;
mod checks;
mod error;
mod memory;
mod query;
mod worker;

pub use checks::{check_insert, check_save};
pub use error::{BoxError, StoreError};
pub use memory::MemoryStore;
pub use query::{
    ClaimRequest, Claimed, Claims, Filter, Page, PageRequest, Scope, Sweep, Swept, Unreadable,
};
pub use worker::{
    HandlerReply, UpdateError, WorkReport, Worker, update, update_async, work_once, work_once_async,
};

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::command::Event;
use crate::id::TaskId;
use crate::task::Task;

/// The contract of a task store, with blocking calls. See the
/// [module docs](self) for the guarantees and the checks that test them.
///
/// Object-safe (`dyn TaskStore<K>`); implemented for `&S` and `Arc<S>` of
/// any store `S`.
///
/// # Example
///
/// A host's service holds its store behind the trait, whatever backs it:
///
/// ```
/// use std::sync::Arc;
///
/// use chrono::{TimeZone, Utc};
/// use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, StoreError, TaskStore};
/// use taskstate::{
///     Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, StatusSet, Task,
/// };
///
/// fn pending(store: &dyn TaskStore<NamedKind>) -> Result<usize, StoreError> {
///     let filter = Filter::new().statuses(StatusSet::of(&[Status::Pending]));
///     Ok(store.list(&Scope::Staff, &filter, PageRequest::first(100))?.tasks.len())
/// }
///
/// let store: Arc<dyn TaskStore<NamedKind> + Send + Sync> = Arc::new(MemoryStore::new());
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// store.insert(task, created)?;
/// assert_eq!(pending(&*store)?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait TaskStore<K> {
    /// Stores a new task with the first event of its log (what
    /// [`Task::create`] returns).
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] if its id is stored already;
    /// [`StoreError::KeyTaken`] if a live task (neither done nor
    /// cancelled) holds its [unique key](crate::NewTask::unique_key);
    /// [`StoreError::Refused`] if `created` is not the creation that makes
    /// `task` ([`check_insert`]); [`StoreError::Backend`] when the storage
    /// fails. Nothing is stored on an error.
    ///
    /// # Example
    ///
    /// ```
    /// use taskstate::store::{MemoryStore, StoreError, TaskStore};
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let mut ids = IdGenerator::seeded(1);
    /// # let mut new = || NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    ///
    /// let store = MemoryStore::new();
    /// let alice = Actor::customer("alice");
    /// let (task, created) = Task::create(new().unique_key("example.fr"), alice.clone(), now)?;
    /// let id = task.id();
    /// store.insert(task.clone(), created.clone())?;
    /// // The same id again is refused, and so is another task holding the key.
    /// assert!(matches!(store.insert(task, created), Err(StoreError::Duplicate { .. })));
    /// let (other, other_created) = Task::create(new().unique_key("example.fr"), alice, now)?;
    /// let refused = store.insert(other, other_created);
    /// assert!(matches!(refused, Err(StoreError::KeyTaken { holder, .. }) if holder == id));
    /// assert_eq!(store.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError>;

    /// The task `id`, if it exists and `scope` sees it (`None` otherwise:
    /// a customer cannot tell another owner's task from no task). Costs
    /// the same whatever the length of its log.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unreadable`] for a record that cannot be read;
    /// [`StoreError::Backend`] when the storage fails.
    ///
    /// # Example
    ///
    /// ```
    /// use taskstate::store::{MemoryStore, Scope, TaskStore};
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    ///
    /// let store = MemoryStore::new();
    /// let id = task.id();
    /// store.insert(task, created)?;
    /// let alice = Scope::Owner(Owner::new("alice"));
    /// assert_eq!(store.get(&alice, id)?.map(|task| task.version()), Some(1));
    /// // Another customer sees no task: no error, nothing to learn.
    /// assert!(store.get(&Scope::Owner(Owner::new("mallory")), id)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError>;

    /// Up to `limit` events of the log of task `id`, oldest first, from
    /// the first whose version is greater than `after` (0 for the start of
    /// the log): a page of the audit trail, and what [`Task::replay`]
    /// folds.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when the task does not exist or `scope`
    /// does not see it; [`StoreError::Backend`] when the storage fails.
    ///
    /// # Example
    ///
    /// ```
    /// use taskstate::store::{ClaimRequest, MemoryStore, Scope, TaskStore};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    ///
    /// let store = MemoryStore::new();
    /// let id = task.id();
    /// store.insert(task, created)?;
    /// store.claim(&ClaimRequest::new(now, now + Duration::minutes(5)))?;
    /// // The creation and the start; the page after version 1 holds the start only.
    /// let log = store.log(&Scope::Staff, id, 0, 100)?;
    /// assert_eq!(log.len(), 2);
    /// assert_eq!(store.log(&Scope::Staff, id, 1, 100)?.len(), 1);
    /// assert_eq!(Some(Task::replay(&log)?), store.get(&Scope::Staff, id)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    /// [`StoreError::Conflict`], with the version found, when the stored
    /// version is not `expected`; [`StoreError::NotFound`] when no task
    /// `task.id()` is stored; [`StoreError::Refused`] when `task` is not
    /// newer than `expected`, its events do not follow the log up to its
    /// version or do not make it, or it changes what never changes
    /// ([`check_save`]); [`StoreError::Backend`] when the storage fails.
    /// Nothing is written on an error.
    ///
    /// # Example
    ///
    /// ```
    /// use taskstate::store::{MemoryStore, Scope, StoreError, TaskStore};
    /// use taskstate::Command;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let store = MemoryStore::new();
    /// # let id = task.id();
    /// # store.insert(task, created)?;
    ///
    /// let mut task = store.get(&Scope::Staff, id)?.ok_or("stored")?;
    /// let expected = task.version();
    /// let event = task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?;
    /// store.save(&task, expected, event.as_slice())?;
    /// // A second save from the same read finds the version it made.
    /// let again = store.save(&task, expected, event.as_slice());
    /// let saved = task.version();
    /// assert!(matches!(again, Err(StoreError::Conflict { found, .. }) if found == saved));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError>;

    /// The tasks `scope` sees that match `filter`, in id order, one page.
    /// Records that cannot be read are skipped and named in
    /// [`Page::unreadable`], not an error.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the storage fails.
    ///
    /// # Example
    ///
    /// ```
    /// use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let mut ids = IdGenerator::seeded(1);
    /// let store = MemoryStore::new();
    /// for owner in ["alice", "alice", "alice", "bob"] {
    ///     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
    ///         Owner::new(owner), ResourceRef::new("domain", "example.fr"));
    ///     let (task, created) = Task::create(new, Actor::customer(owner), now)?;
    ///     store.insert(task, created)?;
    /// }
    /// let alice = Scope::Owner(Owner::new("alice"));
    /// let first = store.list(&alice, &Filter::new(), PageRequest::first(2))?;
    /// assert_eq!(first.tasks.len(), 2);
    /// let cursor = first.next.ok_or("a next page")?;
    /// let second = store.list(&alice, &Filter::new(), PageRequest::after(cursor, 2))?;
    /// assert_eq!(second.tasks.len(), 1); // bob's task is not in alice's scope
    /// assert_eq!(second.next, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<Page<K>, StoreError>;

    /// Starts up to `request.limit` pending tasks due at `request.now` (a
    /// `todo_at` that has come, or none) of the kinds asked for, highest
    /// [priority](crate::Task::priority) first and earliest due within
    /// one priority, each under a lease until `request.lease_until`,
    /// skipping those a blocking task keeps waiting. Each is saved
    /// started, its start logged, before it is returned.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidRequest`] when [`ClaimRequest::check`] refuses
    /// the request (a lease ending at or before `request.now`, a limit of
    /// 0, an empty set of kinds), before the store is touched;
    /// [`StoreError::Backend`] when the storage fails. Finding nothing due
    /// is not an error: the claims are empty.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::store::{ClaimRequest, MemoryStore, StoreError, TaskStore};
    /// use taskstate::Status;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let mut ids = IdGenerator::seeded(1);
    /// # let mut new = |domain: &str| NewTask::new(ids.next_id(now),
    /// #     NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", domain));
    /// let store = MemoryStore::new();
    /// let (routine, created) = Task::create(new("example.fr"), Actor::System, now)?;
    /// store.insert(routine, created)?;
    /// let (urgent, created) = Task::create(new("example.com").priority(10), Actor::System, now)?;
    /// let urgent_id = urgent.id();
    /// store.insert(urgent, created)?;
    ///
    /// let claims = store.claim(&ClaimRequest::new(now, now + Duration::minutes(5)))?;
    /// assert_eq!(claims.claimed.len(), 1);
    /// assert_eq!(claims.claimed[0].task.id(), urgent_id);
    /// assert_eq!(claims.claimed[0].task.status(), Status::Running);
    /// let refused = store.claim(&ClaimRequest::new(now, now)); // a lease already over
    /// assert!(matches!(refused, Err(StoreError::InvalidRequest { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError>;

    /// Up to `limit` tasks of one housekeeping queue at `now`, in its
    /// order ([`Sweep`]). A sweep only finds: the caller moves each task
    /// on and saves it ([`work_once`] does). Records that cannot be read
    /// are skipped and named in [`Swept::unreadable`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the storage fails.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::store::{ClaimRequest, MemoryStore, Sweep, TaskStore};
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// let store = MemoryStore::new();
    /// store.insert(task, created)?;
    /// store.claim(&ClaimRequest::new(now, now + Duration::minutes(5)))?;
    /// // The lease still holds a minute in, and has run out ten minutes in.
    /// let held = store.sweep(Sweep::ExpiredLeases, now + Duration::minutes(1), 10)?;
    /// assert!(held.tasks.is_empty());
    /// let expired = store.sweep(Sweep::ExpiredLeases, now + Duration::minutes(10), 10)?;
    /// assert_eq!(expired.tasks.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn sweep(&self, sweep: Sweep, now: DateTime<Utc>, limit: usize)
    -> Result<Swept<K>, StoreError>;

    /// The earliest time a worker has something to do: a pending task of
    /// one of `kinds` (every kind for `None`) becomes due, a lease runs
    /// out, a retry is due, or a task is stalled (since it stalled). A
    /// time in the past means now; `None` means nothing is scheduled. Due
    /// checks of waiting tasks are left out: the run that waits keeps its
    /// own time to look again. A task a blocking task holds back is due
    /// once that task leaves, which a save of another worker decides:
    /// a worker sleeping until this time also wakes at an interval of its
    /// choosing ([`Worker::idle_for`] caps the sleep).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the storage fails.
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::BTreeSet;
    ///
    /// use chrono::Duration;
    /// use taskstate::store::{MemoryStore, TaskStore};
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let store = MemoryStore::new();
    /// assert_eq!(store.next_due(None)?, None);
    /// let in_an_hour = now + Duration::hours(1);
    /// let (task, created) = Task::create(new.todo_at(in_an_hour), Actor::customer("alice"), now)?;
    /// store.insert(task, created)?;
    /// assert_eq!(store.next_due(None)?, Some(in_an_hour));
    /// // A worker of other kinds has nothing scheduled.
    /// let dns = BTreeSet::from(["ZonePublish".to_owned()]);
    /// assert_eq!(store.next_due(Some(&dns))?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn next_due(
        &self,
        kinds: Option<&BTreeSet<String>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Deletes up to `limit` done or cancelled tasks settled before
    /// `settled_before`, oldest first, with their logs; returns how many.
    /// A host calls it until it returns less than `limit`, so that no call
    /// holds the store for long. Failed tasks are kept (a customer may
    /// still correct and relaunch them): cancel them to let them go.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the storage fails; the tasks deleted
    /// before it stay deleted.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::store::{MemoryStore, Scope, TaskStore, update};
    /// use taskstate::Command;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let store = MemoryStore::new();
    /// # let id = task.id();
    /// # store.insert(task, created)?;
    /// update(&store, &Scope::Staff, id, |task| {
    ///     Ok(task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?
    ///         .into_iter().collect())
    /// })?;
    /// // Settled at `now`: not before `now`, well before a month later.
    /// assert_eq!(store.purge(now, 100)?, 0);
    /// assert_eq!(store.purge(now + Duration::days(30), 100)?, 1);
    /// assert!(store.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn purge(&self, settled_before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError>;
}

/// The contract of a task store whose calls are futures: every method of
/// [`TaskStore`], with the same arguments, answers and guarantees,
/// returning a future that is `Send`, so a tokio service awaits it from
/// any task. The core brings no runtime; `testkit::store::check_async_store` is
/// an async function the host awaits on its own.
///
/// Implemented for `&S` and `Arc<S>` of any store `S` that is `Sync`.
/// Each method's errors are those of its [`TaskStore`] twin.
///
/// # Example
///
/// A host's async service, generic over its store; [`MemoryStore`]
/// implements both traits, its futures ready at once:
///
/// ```
/// use taskstate::store::{AsyncTaskStore, MemoryStore, Scope, StoreError};
/// use taskstate::{NamedKind, Status, TaskId};
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     let mut future = std::pin::pin!(future);
/// #     let mut context = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
/// #             return output;
/// #         }
/// #     }
/// # }
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
///
/// async fn status(store: &impl AsyncTaskStore<NamedKind>, id: TaskId)
///     -> Result<Option<Status>, StoreError> {
///     Ok(store.get(&Scope::Staff, id).await?.map(|task| task.status()))
/// }
///
/// // `block_on` stands for the host's runtime (tokio's, …).
/// let store = MemoryStore::new();
/// let id = task.id();
/// block_on(store.insert(task, created))?;
/// assert_eq!(block_on(status(&store, id))?, Some(Status::Pending));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AsyncTaskStore<K> {
    /// [`TaskStore::insert`].
    fn insert(
        &self,
        task: Task<K>,
        created: Event<K>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// [`TaskStore::get`].
    fn get(
        &self,
        scope: &Scope,
        id: TaskId,
    ) -> impl Future<Output = Result<Option<Task<K>>, StoreError>> + Send;
    /// [`TaskStore::log`].
    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Event<K>>, StoreError>> + Send;
    /// [`TaskStore::save`].
    fn save(
        &self,
        task: &Task<K>,
        expected: u64,
        events: &[Event<K>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// [`TaskStore::list`].
    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<K>, StoreError>> + Send;
    /// [`TaskStore::claim`].
    fn claim(
        &self,
        request: &ClaimRequest,
    ) -> impl Future<Output = Result<Claims<K>, StoreError>> + Send;
    /// [`TaskStore::sweep`].
    fn sweep(
        &self,
        sweep: Sweep,
        now: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Swept<K>, StoreError>> + Send;
    /// [`TaskStore::next_due`].
    fn next_due(
        &self,
        kinds: Option<&BTreeSet<String>>,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;
    /// [`TaskStore::purge`].
    fn purge(
        &self,
        settled_before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Forwards every method of both traits through a pointer type.
macro_rules! forward_stores {
    ($($pointer:ty),*) => {$(
        impl<K, S: TaskStore<K> + ?Sized> TaskStore<K> for $pointer {
            fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
                (**self).insert(task, created)
            }
            fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
                (**self).get(scope, id)
            }
            fn log(&self, scope: &Scope, id: TaskId, after: u64, limit: usize)
                -> Result<Vec<Event<K>>, StoreError> {
                (**self).log(scope, id, after, limit)
            }
            fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>])
                -> Result<(), StoreError> {
                (**self).save(task, expected, events)
            }
            fn list(&self, scope: &Scope, filter: &Filter, page: PageRequest)
                -> Result<Page<K>, StoreError> {
                (**self).list(scope, filter, page)
            }
            fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError> {
                (**self).claim(request)
            }
            fn sweep(&self, sweep: Sweep, now: DateTime<Utc>, limit: usize)
                -> Result<Swept<K>, StoreError> {
                (**self).sweep(sweep, now, limit)
            }
            fn next_due(&self, kinds: Option<&BTreeSet<String>>)
                -> Result<Option<DateTime<Utc>>, StoreError> {
                (**self).next_due(kinds)
            }
            fn purge(&self, settled_before: DateTime<Utc>, limit: usize)
                -> Result<usize, StoreError> {
                (**self).purge(settled_before, limit)
            }
        }

        impl<K, S: AsyncTaskStore<K> + Sync + ?Sized> AsyncTaskStore<K> for $pointer {
            fn insert(&self, task: Task<K>, created: Event<K>)
                -> impl Future<Output = Result<(), StoreError>> + Send {
                (**self).insert(task, created)
            }
            fn get(&self, scope: &Scope, id: TaskId)
                -> impl Future<Output = Result<Option<Task<K>>, StoreError>> + Send {
                (**self).get(scope, id)
            }
            fn log(&self, scope: &Scope, id: TaskId, after: u64, limit: usize)
                -> impl Future<Output = Result<Vec<Event<K>>, StoreError>> + Send {
                (**self).log(scope, id, after, limit)
            }
            fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>])
                -> impl Future<Output = Result<(), StoreError>> + Send {
                (**self).save(task, expected, events)
            }
            fn list(&self, scope: &Scope, filter: &Filter, page: PageRequest)
                -> impl Future<Output = Result<Page<K>, StoreError>> + Send {
                (**self).list(scope, filter, page)
            }
            fn claim(&self, request: &ClaimRequest)
                -> impl Future<Output = Result<Claims<K>, StoreError>> + Send {
                (**self).claim(request)
            }
            fn sweep(&self, sweep: Sweep, now: DateTime<Utc>, limit: usize)
                -> impl Future<Output = Result<Swept<K>, StoreError>> + Send {
                (**self).sweep(sweep, now, limit)
            }
            fn next_due(&self, kinds: Option<&BTreeSet<String>>)
                -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send {
                (**self).next_due(kinds)
            }
            fn purge(&self, settled_before: DateTime<Utc>, limit: usize)
                -> impl Future<Output = Result<usize, StoreError>> + Send {
                (**self).purge(settled_before, limit)
            }
        }
    )*};
}

forward_stores!(&S, Arc<S>);
