//! The loops every caller of a store writes: load, apply, compare-and-swap
//! and retry ([`update`]), and a worker's step ([`work_once`]).
//!
//! Each is written once, async, against [`AsyncTaskStore`]; the blocking
//! forms run the same code over a [`TaskStore`] whose calls return at
//! once.

use std::future::{Future, ready};

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use super::block_on::{Blocking, block_on};
use super::{AsyncTaskStore, ClaimRequest, Scope, StoreError, Sweep, TaskStore, Unreadable};
use crate::actor::Actor;
use crate::command::{Command, Event, Outcome};
use crate::failure::Failure;
use crate::id::TaskId;
use crate::lease::LeaseToken;
use crate::rules::TaskKind;
use crate::task::Task;
use crate::task::error::Rejection;
use crate::task::run::{Pause, Run};

/// Why [`update`] did not save.
///
/// ```
/// use taskstate::store::{MemoryStore, Scope, StoreError, TaskStore, UpdateError, update};
/// use taskstate::{Command, Rejection};
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// # let store = MemoryStore::new();
/// # let id = task.id();
/// # store.insert(task, created)?;
/// let cancel = |task: &mut Task<NamedKind>| {
///     Ok(task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?
///         .into_iter().collect())
/// };
/// update(&store, &Scope::Staff, id, cancel)?;
/// // Cancelled already: the task refuses, and nothing is saved.
/// let again = update(&store, &Scope::Staff, id, cancel);
/// assert!(matches!(again, Err(UpdateError::Rejected(Rejection::IllegalMove { .. }))));
/// // Out of the caller's scope: the store's answer.
/// let mallory = update(&store, &Scope::Owner(Owner::new("mallory")), id, cancel);
/// assert!(matches!(mallory, Err(UpdateError::Store(StoreError::NotFound { .. }))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Error)]
pub enum UpdateError {
    /// The task refused the change.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The store failed, or the task kept changing under every attempt
    /// (a [`StoreError::Conflict`] after the last one).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many times [`update`] reloads and re-applies a change whose save
/// met another writer.
const ATTEMPTS: usize = 16;

/// Loads task `id` as `scope` sees it, lets `change` apply commands to it
/// (returning their events), and saves it with compare-and-swap; on a
/// conflict, reloads and calls `change` again on the fresh copy. Returns
/// the task as saved. A change that returns no event and leaves the
/// version alone saves nothing.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::store::{MemoryStore, Scope, TaskStore, update};
/// use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let store = MemoryStore::new();
/// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// let id = task.id();
/// store.insert(task, created)?;
///
/// let alice = Scope::Owner(Owner::new("alice"));
/// let cancelled = update(&store, &alice, id, |task| {
///     let event = task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?;
///     Ok(event.into_iter().collect())
/// })?;
/// assert_eq!(cancelled.status(), Status::Cancelled);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`UpdateError::Rejected`] with the [`Rejection`] `change` returned
/// (nothing is saved); [`UpdateError::Store`] with:
///
/// - [`StoreError::NotFound`] when no task `id` is stored or `scope` does
///   not see it (or it was removed between two attempts);
/// - [`StoreError::Conflict`] when every one of the 16 attempts met
///   another writer;
/// - [`StoreError::Refused`] when the events `change` returned do not make
///   the record it left (it changed the task by hand, or dropped an
///   event);
/// - [`StoreError::Unreadable`] or [`StoreError::Backend`] from the load
///   or the save.
pub fn update<K, S, F>(
    store: &S,
    scope: &Scope,
    id: TaskId,
    change: F,
) -> Result<Task<K>, UpdateError>
where
    K: TaskKind + Send + Sync,
    S: TaskStore<K> + ?Sized,
    F: FnMut(&mut Task<K>) -> Result<Vec<Event<K>>, Rejection>,
{
    block_on(update_async(&Blocking(store), scope, id, change))
}

/// [`update`] over an [`AsyncTaskStore`].
///
/// ```
/// use taskstate::store::{AsyncTaskStore, MemoryStore, Scope, update_async};
/// use taskstate::{Command, Status};
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     let mut future = std::pin::pin!(future);
/// #     let mut context = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
/// #             return output;
/// #         }
/// #     }
/// # }
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// // `block_on` stands for the host's runtime (tokio's, …).
/// let store = MemoryStore::new();
/// let id = task.id();
/// block_on(store.insert(task, created))?;
/// let alice = Scope::Owner(Owner::new("alice"));
/// let cancelled = block_on(update_async(&store, &alice, id, |task| {
///     Ok(task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?
///         .into_iter().collect())
/// }))?;
/// assert_eq!(cancelled.status(), Status::Cancelled);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`update`].
pub async fn update_async<K, S, F>(
    store: &S,
    scope: &Scope,
    id: TaskId,
    change: F,
) -> Result<Task<K>, UpdateError>
where
    K: TaskKind + Send + Sync,
    S: AsyncTaskStore<K> + ?Sized,
    F: FnMut(&mut Task<K>) -> Result<Vec<Event<K>>, Rejection>,
{
    let task = store
        .get(scope, id)
        .await?
        .ok_or(StoreError::NotFound { id })?;
    update_from(store, scope, task, change).await
}

/// [`update_async`] from a copy the caller has already.
async fn update_from<K, S, F>(
    store: &S,
    scope: &Scope,
    mut task: Task<K>,
    mut change: F,
) -> Result<Task<K>, UpdateError>
where
    K: TaskKind + Send + Sync,
    S: AsyncTaskStore<K> + ?Sized,
    F: FnMut(&mut Task<K>) -> Result<Vec<Event<K>>, Rejection>,
{
    let id = task.id();
    let mut attempt = 0;
    loop {
        let expected = task.version();
        let events = change(&mut task)?;
        if events.is_empty() && task.version() == expected {
            return Ok(task);
        }
        match store.save(&task, expected, &events).await {
            Ok(()) => return Ok(task),
            Err(StoreError::Conflict { .. }) if attempt + 1 < ATTEMPTS => {
                attempt += 1;
                task = store
                    .get(scope, id)
                    .await?
                    .ok_or(StoreError::NotFound { id })?;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// What a handler did with a claimed task's run: [`work_once`] records it
/// with the run's token.
///
/// ```
/// use taskstate::store::{HandlerReply, MemoryStore, Scope, TaskStore, Worker, work_once};
/// use taskstate::{Pause, Status};
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// # let store = MemoryStore::new();
/// # let id = task.id();
/// # store.insert(task, created)?;
/// let worker = Worker::new("registry-1", Duration::minutes(5));
/// // The registry takes the order and answers within the hour.
/// let pause = Pause::until(now + Duration::hours(1)).check_at(now + Duration::minutes(10));
/// let report = work_once(&store, &worker, now, |_task, _run| HandlerReply::Wait(pause.clone()))?;
/// assert_eq!(report.recorded, 1);
/// let task = store.get(&Scope::Staff, id)?.ok_or("stored")?;
/// assert_eq!(task.status(), Status::Waiting);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HandlerReply {
    /// The work finished.
    Complete(Outcome),
    /// The work failed.
    Fail(Failure),
    /// The work waits on an outside party: the run keeps its lease until
    /// the pause's deadline. The handler keeps the [`Run`] (or its
    /// token) to resume later.
    Wait(Pause),
    /// The work goes on: extend the lease.
    Heartbeat {
        /// The new deadline.
        lease_until: DateTime<Utc>,
        /// A progress message.
        progress: Option<String>,
    },
    /// The work stopped after a cancel request.
    Stopped,
}

impl HandlerReply {
    fn command<K>(&self, token: LeaseToken) -> Command<K> {
        match self.clone() {
            HandlerReply::Complete(outcome) => Command::Complete {
                token,
                outcome: Box::new(outcome),
            },
            HandlerReply::Fail(failure) => Command::Fail {
                token: Some(token),
                failure: Box::new(failure),
            },
            HandlerReply::Wait(pause) => Command::Wait {
                token,
                until: pause.until,
                check_at: pause.check_at,
                reason: pause.reason,
            },
            HandlerReply::Heartbeat {
                lease_until,
                progress,
            } => Command::Heartbeat {
                token,
                lease_until,
                progress,
                check_at: None,
            },
            HandlerReply::Stopped => Command::AcknowledgeCancel { token },
        }
    }
}

/// A worker: its name, the kinds it handles, how many tasks it claims at
/// once and for how long.
///
/// ```
/// use chrono::Duration;
/// use taskstate::store::Worker;
///
/// let dns = Worker::new("dns-1", Duration::minutes(5)).kinds(["ZonePublish"]).batch(8);
/// assert_eq!(dns.name(), "dns-1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Worker {
    name: String,
    lease: Duration,
    batch: usize,
    kinds: Option<std::collections::BTreeSet<String>>,
}

impl Worker {
    /// A worker named `name` that claims one task at a time, of any kind,
    /// under leases of `lease`.
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::store::Worker;
    /// # use chrono::{TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let claim = Worker::new("worker-1", Duration::minutes(5)).claim_at(now);
    /// assert_eq!(claim.lease_until, now + Duration::minutes(5));
    /// assert_eq!(claim.limit, 1);
    /// assert_eq!(claim.kinds, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(name: impl Into<String>, lease: Duration) -> Worker {
        Worker {
            name: name.into(),
            lease,
            batch: 1,
            kinds: None,
        }
    }

    /// This worker, claiming (and sweeping) up to `batch` tasks a step;
    /// at least one (a batch of 0 is taken as 1). [`work_once`] hands a
    /// batch's tasks to the handler one after another under leases taken
    /// together: the lease must cover the handling of the whole batch.
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::store::Worker;
    /// # use chrono::{TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let worker = Worker::new("worker-1", Duration::minutes(5));
    /// assert_eq!(worker.clone().batch(8).claim_at(now).limit, 8);
    /// assert_eq!(worker.batch(0).claim_at(now).limit, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn batch(mut self, batch: usize) -> Worker {
        self.batch = batch.max(1);
        self
    }

    /// This worker, claiming only tasks of these kinds (by
    /// [name](crate::TaskKind::name)); its sweeps still move on tasks of
    /// every kind.
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::store::Worker;
    /// # use chrono::{TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let dns = Worker::new("dns-1", Duration::minutes(5)).kinds(["ZonePublish", "RecordUpdate"]);
    /// let claim = dns.claim_at(now);
    /// assert!(claim.wants("ZonePublish"));
    /// assert!(!claim.wants("DomainCreate"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kinds<I, S>(mut self, kinds: I) -> Worker
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kinds = Some(kinds.into_iter().map(Into::into).collect());
        self
    }

    /// Its name, recorded on the leases it takes.
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::store::Worker;
    /// # use chrono::{TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let worker = Worker::new("dns-1", Duration::minutes(5));
    /// assert_eq!(worker.name(), "dns-1");
    /// assert_eq!(worker.claim_at(now).worker.as_deref(), Some(worker.name()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The claim it makes at `now`: up to its batch, of its kinds, leased
    /// until `now` plus its lease, in its name. [`work_once`] makes it; a
    /// host with its own loop passes it to [`TaskStore::claim`].
    ///
    /// ```
    /// use taskstate::store::{MemoryStore, TaskStore, Worker};
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
    /// let worker = Worker::new("worker-1", Duration::minutes(5));
    /// let claims = store.claim(&worker.claim_at(now))?;
    /// let lease = claims.claimed[0].task.lease().ok_or("a lease")?;
    /// assert_eq!(lease.expires_at(), now + Duration::minutes(5));
    /// assert_eq!(lease.worker(), Some("worker-1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn claim_at(&self, now: DateTime<Utc>) -> ClaimRequest {
        let mut request = ClaimRequest::new(now, now.checked_add_signed(self.lease).unwrap_or(now))
            .limit(self.batch)
            .worker(self.name.clone());
        request.kinds.clone_from(&self.kinds);
        request
    }

    /// How long to sleep at `now` before the next step has something to
    /// do, at most `at_most` (also the longest a task a blocking task held
    /// back waits after it is let go: see [`TaskStore::next_due`]). Zero
    /// when something is due already.
    ///
    /// # Errors
    ///
    /// What [`TaskStore::next_due`] fails with: [`StoreError::Backend`]
    /// when the storage fails.
    ///
    /// ```
    /// use taskstate::store::{MemoryStore, TaskStore, Worker};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let (store, worker) = (MemoryStore::new(), Worker::new("worker-1", Duration::minutes(5)));
    /// let hour = Duration::hours(1);
    /// assert_eq!(worker.idle_for(&store, now, hour)?, hour); // nothing scheduled
    /// let soon = new.todo_at(now + Duration::minutes(10));
    /// let (task, created) = Task::create(soon, Actor::System, now)?;
    /// store.insert(task, created)?;
    /// assert_eq!(worker.idle_for(&store, now, hour)?, Duration::minutes(10));
    /// assert_eq!(worker.idle_for(&store, now, Duration::minutes(1))?, Duration::minutes(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn idle_for<K, S>(
        &self,
        store: &S,
        now: DateTime<Utc>,
        at_most: Duration,
    ) -> Result<Duration, StoreError>
    where
        S: TaskStore<K> + ?Sized,
    {
        Ok(self.idle_until(store.next_due(self.kinds.as_ref())?, now, at_most))
    }

    /// [`idle_for`](Worker::idle_for) over an [`AsyncTaskStore`].
    ///
    /// # Errors
    ///
    /// What [`AsyncTaskStore::next_due`] fails with:
    /// [`StoreError::Backend`] when the storage fails.
    ///
    /// ```
    /// use taskstate::store::{AsyncTaskStore, MemoryStore, Worker};
    /// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
    /// #     let mut future = std::pin::pin!(future);
    /// #     let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop {
    /// #         if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
    /// #             return output;
    /// #         }
    /// #     }
    /// # }
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// // `block_on` stands for the host's runtime (tokio's, …).
    /// let (store, worker) = (MemoryStore::new(), Worker::new("worker-1", Duration::minutes(5)));
    /// let soon = new.todo_at(now + Duration::minutes(10));
    /// let (task, created) = Task::create(soon, Actor::System, now)?;
    /// block_on(store.insert(task, created))?;
    /// let idle = block_on(worker.idle_for_async(&store, now, Duration::hours(1)))?;
    /// assert_eq!(idle, Duration::minutes(10));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn idle_for_async<K, S>(
        &self,
        store: &S,
        now: DateTime<Utc>,
        at_most: Duration,
    ) -> Result<Duration, StoreError>
    where
        S: AsyncTaskStore<K> + ?Sized,
    {
        let due = store.next_due(self.kinds.as_ref()).await?;
        Ok(self.idle_until(due, now, at_most))
    }

    fn idle_until(
        &self,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        at_most: Duration,
    ) -> Duration {
        // A cap below zero is taken as zero (no panic on any input).
        let at_most = at_most.max(Duration::zero());
        due.map_or(at_most, |due| {
            due.signed_duration_since(now)
                .clamp(Duration::zero(), at_most)
        })
    }
}

/// What one [`work_once`] step did.
///
/// ```
/// use taskstate::store::{ClaimRequest, HandlerReply, MemoryStore, TaskStore, Worker, work_once};
/// use taskstate::Outcome;
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let mut ids = IdGenerator::seeded(1);
/// # let mut new = || NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// let store = MemoryStore::new();
/// for _ in 0..2 {
///     let (task, created) = Task::create(new(), Actor::System, now)?;
///     store.insert(task, created)?;
/// }
/// // A worker that died holding one of them: its lease runs out.
/// store.claim(&ClaimRequest::new(now, now + Duration::minutes(1)))?;
/// let worker = Worker::new("worker-2", Duration::minutes(5)).batch(10);
/// let later = now + Duration::minutes(2);
/// let report = work_once(&store, &worker, later, |_, _| HandlerReply::Complete(Outcome::new()))?;
/// assert_eq!((report.requeued, report.claimed, report.recorded), (1, 2, 2));
/// assert!(report.unreadable.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkReport {
    /// Tasks whose lease had run out, or that were stalled, put back in
    /// the queue (or, where their rules refuse the requeue, failed with
    /// `LEASE_EXPIRED`).
    pub requeued: usize,
    /// Tasks whose lease had run out, or that were stalled, with a cancel
    /// request: cancelled.
    pub cancelled: usize,
    /// Failed tasks put back in the queue by their retry schedule.
    pub retried: usize,
    /// Tasks claimed and handed to the handler.
    pub claimed: usize,
    /// Handler results recorded.
    pub recorded: usize,
    /// Handler results refused by the task (a cancel acknowledged with no
    /// request, a stale lease): the task is left as the store has it.
    pub refused: usize,
    /// Records the store could not read, skipped.
    pub unreadable: Vec<Unreadable>,
}

/// One step of a worker loop, at `now`: moves on every task whose lease
/// ran out and every stalled task, each in one save (marked stalled and
/// requeued, or cancelled when a cancel was requested), puts failed tasks
/// whose retry is due back in the queue, claims up to the worker's batch,
/// hands each claimed task and its [`Run`] to `handler`, and records what
/// it returns. Every save is a compare-and-swap, re-applied on a fresh
/// copy on a conflict ([`update`]).
///
/// No task is stranded: a save that fails leaves the task where a later
/// step's sweep finds it again (a lease still expired, a task still
/// stalled), and the step goes on with the other tasks. A handler's
/// answer the store cannot keep ([`StoreError::InvalidRequest`]: a time
/// it does not store) fails the task with the provider failure
/// `ANSWER_NOT_STORED`, counted in [`WorkReport::refused`], rather than
/// let it run again at every step. Sleep between steps with
/// [`Worker::idle_for`].
///
/// A batch's leases are all taken by its claim, and the handlers run
/// one after another: a worker's lease covers the handling of its whole
/// batch, or a task whose lease ran out while the handlers before it ran
/// may already be running elsewhere when its turn comes (its answer is
/// then refused as a stale lease, but the provider was called twice).
///
/// ```
/// use taskstate::store::{HandlerReply, MemoryStore, Scope, TaskStore, Worker, work_once};
/// use taskstate::{Outcome, Status};
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// # let store = MemoryStore::new();
/// # let id = task.id();
/// # store.insert(task, created)?;
/// let worker = Worker::new("worker-1", Duration::minutes(5));
/// let report = work_once(&store, &worker, now, |task, _run| {
///     HandlerReply::Complete(Outcome::new().message(format!("{} created", task.resource().id)))
/// })?;
/// assert_eq!((report.claimed, report.recorded), (1, 1));
/// let task = store.get(&Scope::Staff, id)?.ok_or("stored")?;
/// assert_eq!(task.status(), Status::Done);
/// // Nothing left to do: the next step claims nothing.
/// assert_eq!(work_once(&store, &worker, now, |_, _| HandlerReply::Stopped)?.claimed, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// From a sweep or the claim, the step stops there. From one task's
/// save or reload, the step goes on with the other tasks and returns the
/// first such error at its end. Tasks moved on or recorded stay so:
///
/// - from a sweep or the claim: [`StoreError::Backend`], or
///   [`StoreError::InvalidRequest`] when the worker's claim could start
///   nothing (a lease of zero or less, an empty set of kinds);
/// - from a save or a reload: [`StoreError::Conflict`] when every one of
///   [`update`]'s attempts met another writer, [`StoreError::Refused`],
///   [`StoreError::Unreadable`], [`StoreError::Backend`].
///
/// A task the lifecycle refuses to move (a stale lease, a cancel
/// acknowledged with no request) or that is gone
/// ([`StoreError::NotFound`]) is not an error: it is skipped, and a
/// handler's result counted in [`WorkReport::refused`].
pub fn work_once<K, S, H>(
    store: &S,
    worker: &Worker,
    now: DateTime<Utc>,
    mut handler: H,
) -> Result<WorkReport, StoreError>
where
    K: TaskKind + Send + Sync,
    S: TaskStore<K> + ?Sized,
    H: FnMut(Task<K>, Run) -> HandlerReply,
{
    block_on(work_once_async(
        &Blocking(store),
        worker,
        now,
        |task, run| ready(handler(task, run)),
    ))
}

/// [`work_once`] over an [`AsyncTaskStore`], with a handler whose answer
/// is a future (it may call the provider's API).
///
/// ```
/// use taskstate::store::{
///     AsyncTaskStore, HandlerReply, MemoryStore, Scope, Worker, work_once_async,
/// };
/// use taskstate::{Failure, Status};
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     let mut future = std::pin::pin!(future);
/// #     let mut context = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
/// #             return output;
/// #         }
/// #     }
/// # }
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// # let store = MemoryStore::new();
/// # let id = task.id();
/// # block_on(store.insert(task, created))?;
/// // `block_on` stands for the host's runtime (tokio's, …).
/// let worker = Worker::new("worker-1", Duration::minutes(5));
/// let step = work_once_async(&store, &worker, now, |_task, _run| async move {
///     // The provider's API answers: a document is missing.
///     HandlerReply::Fail(Failure::customer("MISSING_DOCUMENT", "an ID card is required", now))
/// });
/// assert_eq!(block_on(step)?.recorded, 1);
/// let task = block_on(store.get(&Scope::Staff, id))?.ok_or("stored")?;
/// assert_eq!(task.status(), Status::Failed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`work_once`].
pub async fn work_once_async<K, S, H, F>(
    store: &S,
    worker: &Worker,
    now: DateTime<Utc>,
    mut handler: H,
) -> Result<WorkReport, StoreError>
where
    K: TaskKind + Send + Sync,
    S: AsyncTaskStore<K> + ?Sized,
    H: FnMut(Task<K>, Run) -> F,
    F: Future<Output = HandlerReply>,
{
    let mut report = WorkReport::default();
    let staff = Scope::Staff;
    // The first failure of one task's save: kept, and the step goes on
    // with the others (one task the store keeps refusing would otherwise
    // hold back every task claimed or swept with it, step after step).
    let mut failed: Option<StoreError> = None;
    for sweep in [Sweep::ExpiredLeases, Sweep::Stalled] {
        let swept = store.sweep(sweep, now, worker.batch).await?;
        report.unreadable.extend(swept.unreadable);
        for task in swept.tasks {
            match update_from(store, &staff, task, |task| move_on(task, now)).await {
                Ok(task) if task.status() == crate::Status::Cancelled => report.cancelled += 1,
                Ok(_) => report.requeued += 1,
                // Moved on by another worker already, or gone.
                Err(UpdateError::Rejected(_) | UpdateError::Store(StoreError::NotFound { .. })) => {
                }
                Err(UpdateError::Store(error)) => {
                    failed.get_or_insert(error);
                }
            }
        }
    }
    let retries = store.sweep(Sweep::RetriesDue, now, worker.batch).await?;
    report.unreadable.extend(retries.unreadable);
    for task in retries.tasks {
        match update_from(store, &staff, task, by_system(Command::Retry, now)).await {
            Ok(_) => report.retried += 1,
            Err(UpdateError::Rejected(_) | UpdateError::Store(StoreError::NotFound { .. })) => {}
            Err(UpdateError::Store(error)) => {
                failed.get_or_insert(error);
            }
        }
    }
    let claims = store.claim(&worker.claim_at(now)).await?;
    report.unreadable.extend(claims.unreadable);
    for claimed in claims.claimed {
        report.claimed += 1;
        let token = claimed.run.token();
        let handled = handler(claimed.task.clone(), claimed.run).await;
        let command = handled.command(token);
        let record = by_system(command, now);
        match update_from(store, &staff, claimed.task.clone(), record).await {
            Ok(_) => report.recorded += 1,
            Err(UpdateError::Rejected(_) | UpdateError::Store(StoreError::NotFound { .. })) => {
                report.refused += 1;
            }
            // The store cannot keep the answer (a time it does not
            // store): the task fails, so that it does not run again at
            // every step for an answer no store call will take.
            Err(UpdateError::Store(StoreError::InvalidRequest { reason })) => {
                report.refused += 1;
                let failure = Failure::provider(
                    "ANSWER_NOT_STORED",
                    format!("the store refused the handler's answer: {reason}"),
                    now,
                );
                let fail = Command::Fail {
                    token: Some(token),
                    failure: Box::new(failure),
                };
                match update_from(store, &staff, claimed.task, by_system(fail, now)).await {
                    Ok(_)
                    | Err(
                        UpdateError::Rejected(_) | UpdateError::Store(StoreError::NotFound { .. }),
                    ) => {}
                    Err(UpdateError::Store(error)) => {
                        failed.get_or_insert(error);
                    }
                }
            }
            Err(UpdateError::Store(error)) => {
                failed.get_or_insert(error);
            }
        }
    }
    match failed {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// The change that applies `command` as the system at `now`, for
/// [`update_from`] (which may apply it again on a fresh copy).
fn by_system<K: TaskKind>(
    command: Command<K>,
    now: DateTime<Utc>,
) -> impl FnMut(&mut Task<K>) -> Result<Vec<Event<K>>, Rejection> {
    move |task| {
        Ok(task
            .apply(command.clone(), Actor::System, now)?
            .into_iter()
            .collect())
    }
}

/// Moves on a task whose lease ran out, or a stalled one, in one save:
/// marks it stalled if it is not yet, then cancels it if a cancel was
/// requested, requeues it if it may be, or fails it.
fn move_on<K: TaskKind>(
    task: &mut Task<K>,
    now: DateTime<Utc>,
) -> Result<Vec<Event<K>>, Rejection> {
    let system = Actor::System;
    let mut events = Vec::with_capacity(2);
    if task.status().is_leased() {
        events.extend(task.apply(Command::MarkStalled, system.clone(), now)?);
    }
    let next = if task.cancel_requested_at().is_some() {
        Command::Cancel {
            reason: Some("cancelled as requested: its run's lease ran out".into()),
        }
    } else if task
        .check(&Command::Requeue { todo_at: None }, &system, now)
        .is_ok()
    {
        Command::Requeue { todo_at: None }
    } else {
        Command::Fail {
            token: None,
            failure: Box::new(Failure::provider(
                "LEASE_EXPIRED",
                "its run's lease ran out and it could not be requeued",
                now,
            )),
        }
    };
    events.extend(task.apply(next, system, now)?);
    Ok(events)
}
