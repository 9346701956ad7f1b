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
/// [`UpdateError::Rejected`] with what `change` returned;
/// [`UpdateError::Store`] with [`StoreError::NotFound`] when `scope` does
/// not see the task, or what the store failed with.
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

/// What a handler did with a claimed task's run.
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
    pub fn new(name: impl Into<String>, lease: Duration) -> Worker {
        Worker {
            name: name.into(),
            lease,
            batch: 1,
            kinds: None,
        }
    }

    /// This worker, claiming (and sweeping) up to `batch` tasks a step;
    /// at least one (a batch of 0 is taken as 1).
    pub fn batch(mut self, batch: usize) -> Worker {
        self.batch = batch.max(1);
        self
    }

    /// This worker, claiming only tasks of these kinds.
    pub fn kinds<I, S>(mut self, kinds: I) -> Worker
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kinds = Some(kinds.into_iter().map(Into::into).collect());
        self
    }

    /// Its name, recorded on the leases it takes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The claim it makes at `now`.
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
    /// What the store fails with.
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
    /// What the store fails with.
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
        due.map_or(at_most, |due| {
            due.signed_duration_since(now)
                .clamp(Duration::zero(), at_most)
        })
    }
}

/// What one [`work_once`] step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkReport {
    /// Tasks whose lease had run out, or that were stalled, put back in
    /// the queue.
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
/// stalled). Sleep between steps with [`Worker::idle_for`].
///
/// # Errors
///
/// What the store fails with. Tasks recorded before the failure stay
/// recorded.
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
                Err(UpdateError::Store(error)) => return Err(error),
            }
        }
    }
    let retries = store.sweep(Sweep::RetriesDue, now, worker.batch).await?;
    report.unreadable.extend(retries.unreadable);
    for task in retries.tasks {
        let retry = |task: &mut Task<K>| {
            Ok(task
                .apply(Command::Retry, Actor::System, now)?
                .into_iter()
                .collect())
        };
        match update_from(store, &staff, task, retry).await {
            Ok(_) => report.retried += 1,
            Err(UpdateError::Rejected(_) | UpdateError::Store(StoreError::NotFound { .. })) => {}
            Err(UpdateError::Store(error)) => return Err(error),
        }
    }
    let claims = store.claim(&worker.claim_at(now)).await?;
    report.unreadable.extend(claims.unreadable);
    for claimed in claims.claimed {
        report.claimed += 1;
        let token = claimed.run.token();
        let handled = handler(claimed.task.clone(), claimed.run).await;
        let command = handled.command(token);
        let record = |task: &mut Task<K>| {
            Ok(task
                .apply(command.clone(), Actor::System, now)?
                .into_iter()
                .collect())
        };
        match update_from(store, &staff, claimed.task, record).await {
            Ok(_) => report.recorded += 1,
            Err(UpdateError::Rejected(_) | UpdateError::Store(StoreError::NotFound { .. })) => {
                report.refused += 1;
            }
            Err(UpdateError::Store(error)) => return Err(error),
        }
    }
    Ok(report)
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
