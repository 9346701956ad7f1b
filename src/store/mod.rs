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
//! | **claim** starts up to N due pending tasks under a lease in one step, highest priority then earliest due first, only of the kinds asked for, skipping resources a blocking task holds; never the same task to two claimers, from two threads or two handles on one backing store; a request that could start nothing is [`StoreError::InvalidRequest`] | `claims`, `claim_limit_and_order`, `claim_priority_and_kinds`, `concurrent_claims`, `claims_from_two_handles`, `blocking`, `invalid_claims` |
//! | **sweep** finds expired leases, due retries, due checks and stalled tasks; **next_due** is the earliest time a worker has something to do | `expiry_and_retries`, `checks_of_waiting_tasks`, `stalled_tasks`, `next_due` |
//! | **purge** deletes done and cancelled tasks settled before a time, with their logs, in batches | `purge` |
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
pub trait TaskStore<K> {
    /// Stores a new task with the first event of its log (what
    /// [`Task::create`] returns).
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] if its id is stored already;
    /// [`StoreError::KeyTaken`] if a live task holds its unique key;
    /// [`StoreError::Refused`] if `created` is not the task's creation at
    /// its version.
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError>;

    /// The task `id`, if it exists and `scope` sees it. Costs the same
    /// whatever the length of its log.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unreadable`] for a record that cannot be read;
    /// [`StoreError::Backend`].
    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError>;

    /// Up to `limit` events of the log of task `id`, oldest first, from
    /// the first whose version is greater than `after` (0 for the start of
    /// the log): a page of the audit trail, and what [`Task::replay`]
    /// folds.
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
    /// its version or do not make it, or it changes what never changes
    /// ([`check_save`]).
    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError>;

    /// The tasks `scope` sees that match `filter`, in id order, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
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
    /// the request; [`StoreError::Backend`].
    fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError>;

    /// Up to `limit` tasks of one housekeeping queue at `now`, in its
    /// order ([`Sweep`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
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
    /// choosing.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
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
    /// [`StoreError::Backend`].
    fn purge(&self, settled_before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError>;
}

/// The contract of a task store whose calls are futures: every method of
/// [`TaskStore`], with the same arguments, answers and guarantees,
/// returning a future that is `Send`, so a tokio service awaits it from
/// any task. The core brings no runtime; `testkit::store::check_async_store` is
/// an async function the host awaits on its own.
///
/// Implemented for `&S` and `Arc<S>` of any store `S` that is `Sync`.
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
