//! The task record: [`Task<K>`], the commands it takes, the answers it derives, and replay of its log.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::Owner;
use crate::argument::{ArgumentView, Arguments};
use crate::command::{Outcome, ResourceRef};
use crate::failure::{Failure, FollowUp, Resolution, Warning};
use crate::id::TaskId;
use crate::lease::Lease;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::subtask::{Progress, Subtasks};

mod decide;
pub mod error;
mod questions;
mod record;
mod replay;
pub mod run;

pub use questions::{Wakeup, WakeupReason};
pub use replay::ReplayMode;

/// A task: the current state of one asynchronous provider operation.
///
/// Fields are read through methods and changed only by commands
/// ([`apply`](Task::apply) and the [`Run`](crate::Run) handle built on
/// it). The record serializes as two objects: `identity`, what no command
/// changes (id, kind, owner, resources, parent, creation), and `state`,
/// what commands change. A store may keep the identity once and rewrite
/// only the state on each save. Unknown keys are refused, and the state
/// is checked on reading (a lease only on a leased task, a failure only
/// on a failed one, …); [`check_log`](Task::check_log) checks a record
/// against its log.
///
/// A copy shares the identity and the subtasks with the original, so a
/// store hands out copies at a cost that does not depend on the task's
/// age or its number of subtasks.
///
/// # The record
///
/// The task record: [`Task<K>`], the commands it takes, the answers it
/// derives, and replay of its log.
///
/// ## The record and its log
///
/// A [`Task`] is the **current state** of one task and its version:
/// everything a decision reads (status, lease, counters, the latest
/// failure and what follows it, the outcome, arguments and what is left
/// to correct, subtasks and their tallies, a cancel request, the todo
/// time). It does not hold its history, so loading, copying and saving it
/// cost the same on its first minute and after a year.
///
/// [`Task::create`] and [`Task::apply`] return the [`Event`](crate::Event) to append to
/// the task's **log**: append-only, ordered by version, kept by the store
/// beside the record (a table of events, not a field of the record). The
/// log is the audit trail ([`Timeline`](crate::Timeline) prints it), and
/// [`Task::replay`] folds it back into the record.
///
/// Heartbeats are lease state, not history: an accepted heartbeat bumps
/// the version (so a store's compare-and-swap orders it against every
/// other save) and returns no event. The next event counts them in its
/// [`heartbeats`](crate::Event::heartbeats).
///
/// ## Deciding and recording
///
/// [`Task::apply`] first decides, without touching the record, in this
/// order:
///
/// 1. a customer must own the task ([`Rejection::NotOwner`](crate::Rejection::NotOwner));
/// 2. an executor command's lease token must be the current run's
///    ([`Rejection::StaleLease`](crate::Rejection::StaleLease)), whatever the status now is;
/// 3. the table must have a row for the status and the action
///    ([`Rejection::IllegalMove`](crate::Rejection::IllegalMove)) that the actor's role may take
///    ([`Rejection::RoleNotAllowed`](crate::Rejection::RoleNotAllowed));
/// 4. the row's [guards](crate::table::Guard) must hold, in the row's
///    order (a lease not yet expired, a task not yet due, a kind rule
///    that refuses, …);
/// 5. the command's data must be valid ([`Rejection::InvalidInput`](crate::Rejection::InvalidInput) names
///    the field; [`Rejection::InvalidArgument`](crate::Rejection::InvalidArgument) an argument);
/// 6. what the kind's rules decide is worked out: a failure's origin and
///    follow-up, whether the run counts as an attempt, the values a
///    correction replaces. The event records it as its
///    [`Decision`](crate::Decision).
///
/// Only then does it record: the version bumped by one, the fields
/// updated from the event. The recording step cannot fail, so a rejected
/// command leaves the record exactly as it was and an accepted one is
/// applied whole. Replay runs the same decision on each event and the
/// same recording step.
///
/// ## Runs and attempts
///
/// Attempts are counted here and nowhere else:
///
/// - [`runs`](Task::runs) counts `start`s. Each `start` begins a run and
///   issues it a new [lease token](crate::LeaseToken), held by the
///   [`Run`](crate::Run) handle it returns.
/// - A run ends when its executor completes it, fails it, or acknowledges
///   a cancel, or when it is marked stalled.
/// - [`attempts`](Task::attempts) counts the runs, since creation or the
///   last relaunch, that ended in a `fail` reported by their executor: the
///   runs that used up the retry budget. A run that stalled (its executor
///   died or lost its lease) ends without counting, and so does a staff
///   `fail` of a stalled task, and a failure its kind classifies as
///   [`OnFailure::RetryUncounted`](crate::OnFailure::RetryUncounted): a fault of the
///   provider's own infrastructure does not use up the customer's attempts.
/// - A relaunch starts a fresh budget (`attempts` back to 0); a customer's
///   relaunch counts in [`relaunches`](Task::relaunches).
///
/// ## Failures, corrections, relaunches and retries
///
/// When a run fails, the kind's [failure rules](crate::FailureRule)
/// classify the failure by its code (first match wins; by default a
/// failure keeps the origin its executor reported). The event records the
/// origin and the [`FollowUp`] decided then:
///
/// - a **customer-origin** failure awaits correction: the customer lists
///   [`fields_to_correct`](Task::fields_to_correct), reads each
///   [`argument`](Task::argument), sets new values
///   ([`Command::SetArgument`](crate::Command::SetArgument), checked against the kind's specs and
///   recorded with the old value), and relaunches ([`Command::Relaunch`](crate::Command::Relaunch),
///   which may also carry the corrections, applied all or nothing). The
///   kind's [`RelaunchRules`](crate::RelaunchRules) decide whether a
///   customer may, how often, and whether every flagged field must be
///   corrected first; an operator may relaunch any failure.
/// - a **provider-origin** failure is retried by the system: the kind's
///   [`RetryPolicy`](crate::RetryPolicy) gives the retry time
///   ([`next_retry_at`](Task::next_retry_at)), and [`Command::Retry`](crate::Command::Retry) is
///   accepted once it has come. After the last counted attempt the task
///   stays `Failed`, [escalated](Task::is_escalated): its comment tells the
///   customer to open a support request.
/// - a failure classified as final has no follow-up.
///
/// ## Waiting has two times
///
/// A run that waits on an outside party ([`Run::wait`](crate::Run::wait))
/// says when to look again ([`Lease::check_at`](crate::Lease::check_at):
/// a registry's answer window, a `Retry-After`) and when to give up (the
/// lease's deadline). A poller that finds nothing yet moves the check
/// time with a heartbeat. Only the deadline makes the task stallable;
/// [`next_wakeup`](Task::next_wakeup) answers the earliest time the task
/// needs anyone, and for what.
///
/// ## Times
///
/// Every time comes in as an argument; nothing here reads a clock. Times
/// need not be monotonic: events are ordered by `version`, not by `at`,
/// and each field keeps the time of the event that set it.
///
/// ## Example
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Status, Task};
///
/// let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let mut ids = IdGenerator::seeded(1);
/// let (mut task, created) = Task::create(
///     NewTask::new(ids.next_id(t0), NamedKind::new("DomainCreate"),
///         Owner::new("alice"), ResourceRef::new("domain", "example.fr")),
///     Actor::customer("alice"),
///     t0,
/// )?;
/// let mut log = vec![created];
///
/// let (run, started) = task.start(t0 + Duration::minutes(5), Some("worker-1".into()), t0)?;
/// log.push(started);
/// // A heartbeat is lease state: the version moves, the log does not.
/// run.heartbeat(&mut task, t0 + Duration::minutes(10), Some("registry contacted".into()), t0 + Duration::minutes(1))?;
/// log.push(run.complete(&mut task, Outcome::new().message("domain created"), t0 + Duration::minutes(2))?);
///
/// assert_eq!(task.status(), Status::Done);
/// assert_eq!((task.version(), log.len()), (4, 3));
/// task.check_log(&log)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    try_from = "Stored<K>",
    bound(deserialize = "K: Deserialize<'de> + TaskKind")
)]
pub struct Task<K> {
    identity: Arc<Identity<K>>,
    state: State,
}

/// What no command changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Identity<K> {
    id: TaskId,
    kind: K,
    owner: Owner,
    resource: ResourceRef,
    #[serde(with = "crate::stamp")]
    created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<ResourceRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blocking: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::command::is_zero_priority")]
    priority: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unique_key: Option<String>,
}

/// What commands change: the one list of the record's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    status: Status,
    version: u64,
    #[serde(with = "crate::stamp")]
    updated_at: DateTime<Utc>,
    #[serde(
        with = "crate::stamp::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    done_at: Option<DateTime<Utc>>,
    #[serde(
        with = "crate::stamp::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    todo_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease: Option<Lease>,
    #[serde(
        with = "crate::stamp::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    cancel_requested_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<Warning>,
    #[serde(default, skip_serializing_if = "Arguments::is_empty")]
    arguments: Arguments,
    /// The failure, while failed (shared: a copy does not copy it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<Arc<Failure>>,
    /// What follows the failure, while failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    follow_up: Option<FollowUp>,
    /// The flagged arguments not set to a value since the failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    to_correct: Vec<String>,
    /// What the task produced, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<Arc<Outcome>>,
    #[serde(default, skip_serializing_if = "Subtasks::is_empty")]
    subtasks: Subtasks,
    /// Progress as the executor reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    progress: Option<Progress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolution: Option<Resolution>,
    #[serde(default)]
    runs: u32,
    #[serde(default)]
    attempts: u32,
    #[serde(default)]
    relaunches: u32,
}

/// A task as read from storage, before its state is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored<K> {
    identity: Arc<Identity<K>>,
    state: State,
}

impl<K: TaskKind> TryFrom<Stored<K>> for Task<K> {
    type Error = String;

    fn try_from(stored: Stored<K>) -> Result<Self, Self::Error> {
        let task = Task {
            identity: stored.identity,
            state: stored.state,
        };
        match task.state_problem() {
            None => Ok(task),
            Some(problem) => Err(format!("invalid task state: {problem}")),
        }
    }
}

impl<K> Task<K> {
    /// The task's id.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let id = IdGenerator::seeded(1).next_id(now);
    /// let new = NewTask::new(id, NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.id(), id);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> TaskId {
        self.identity.id
    }

    /// The host's kind.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.kind().name, "DomainCreate");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> &K {
        &self.identity.kind
    }

    /// The customer account that owns it.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.owner(), &Owner::new("alice"));
    /// // Only that customer may act on it.
    /// assert!(!task.can_cancel(&Actor::customer("bob"), now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn owner(&self) -> &Owner {
        &self.identity.owner
    }

    /// What it acts on.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.resource(), &ResourceRef::new("domain", "example.fr"));
    /// assert_eq!(task.resource().to_string(), "domain:example.fr");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resource(&self) -> &ResourceRef {
        &self.identity.resource
    }

    /// Every resource the task acts on: its `resource` first, then the
    /// others it was created with.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let new = new.also_on(ResourceRef::new("zone", "example.fr"));
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let kinds: Vec<&str> = task.resources().map(|r| r.kind.as_str()).collect();
    /// assert_eq!(kinds, ["domain", "zone"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resources(&self) -> impl Iterator<Item = &ResourceRef> {
        std::iter::once(&self.identity.resource).chain(&self.identity.resources)
    }

    /// The task this one is a child of, if any.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let mut ids = IdGenerator::seeded(1);
    /// let order = NewTask::new(ids.next_id(now), NamedKind::new("Order"),
    ///     Owner::new("alice"), ResourceRef::new("order", "42"));
    /// let (order, _) = Task::create(order, Actor::customer("alice"), now)?;
    /// let step = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"))
    ///     .child_of(order.id());
    /// let (step, _) = Task::create(step, Actor::customer("alice"), now)?;
    /// assert_eq!(step.parent(), Some(order.id()));
    /// assert_eq!(order.parent(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parent(&self) -> Option<TaskId> {
        self.identity.parent
    }

    /// The task's human-readable name, if it was given one.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new.title("Register example.fr"), Actor::customer("alice"), now)?;
    /// assert_eq!(task.title(), Some("Register example.fr"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn title(&self) -> Option<&str> {
        self.identity.title.as_deref()
    }

    /// When it was created.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let later = now + Duration::hours(1);
    /// let (_run, _) = task.start(later + Duration::minutes(5), None, later)?;
    /// // Commands change the state, never the creation time.
    /// assert_eq!(task.created_at(), now);
    /// assert_eq!(task.updated_at(), later);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn created_at(&self) -> DateTime<Utc> {
        self.identity.created_at
    }

    /// Its canonical status.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.status(), Status::Pending);
    /// let (_run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!(task.status(), Status::Running);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status(&self) -> Status {
        self.state.status
    }

    /// The number of accepted commands, creation and heartbeats included.
    /// Stores compare-and-swap on it; the log's events carry the version
    /// each one made.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.version(), 1);
    /// let (run, started) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!((task.version(), started.version), (2, 2));
    /// // A heartbeat makes a version, and no event.
    /// run.heartbeat(&mut task, now + Duration::minutes(10), None, now + Duration::minutes(1))?;
    /// assert_eq!(task.version(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn version(&self) -> u64 {
        self.state.version
    }

    /// When its last command was accepted.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let beat = now + Duration::minutes(1);
    /// run.heartbeat(&mut task, now + Duration::minutes(10), None, beat)?;
    /// assert_eq!(task.updated_at(), beat);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.state.updated_at
    }

    /// When it settled (`Done`, `Failed` or `Cancelled`); `None` while
    /// active. A failed task that is then cancelled keeps the time it
    /// failed: it was settled already.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.done_at(), None);
    /// let later = now + Duration::hours(1);
    /// task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), later)?;
    /// assert_eq!(task.done_at(), Some(later));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn done_at(&self) -> Option<DateTime<Utc>> {
        self.state.done_at
    }

    /// When it should next run, while `Pending`; `None` means as soon as
    /// possible (or not pending).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, _) = Task::create(new.todo_at(now + Duration::hours(1)), Actor::customer("alice"), now)?;
    /// assert_eq!(task.todo_at(), Some(now + Duration::hours(1)));
    /// // The customer brings it forward: it is due now.
    /// task.apply(Command::Accelerate, Actor::customer("alice"), now)?;
    /// assert_eq!(task.todo_at(), Some(now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn todo_at(&self) -> Option<DateTime<Utc>> {
        self.state.todo_at
    }

    /// The current run's lease, while `Running` or `Waiting`.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert!(task.lease().is_none());
    /// let (run, _) = task.start(now + Duration::minutes(5), Some("worker-1".into()), now)?;
    /// let lease = task.lease().ok_or("no lease")?;
    /// assert_eq!((lease.expires_at(), lease.worker()), (now + Duration::minutes(5), Some("worker-1")));
    /// assert!(lease.is_held_by(run.token()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lease(&self) -> Option<&Lease> {
        self.state.lease.as_ref()
    }

    /// When a cancel was requested on the current run, if one was. An
    /// executor checks it (for instance after each heartbeat) and
    /// acknowledges. If the run stalls instead, the request stays on the
    /// stalled task, which then can be cancelled or failed but not
    /// requeued; it lapses when the task settles, so a run that completes
    /// after a request wins the race.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, CancelRules, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Rules, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("DomainCreate", Rules::new().cancel(CancelRules::STANDARD.with_running()));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (_run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // On running work, a cancel is a request that the executor acknowledges.
    /// task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?;
    /// assert_eq!(task.cancel_requested_at(), Some(now));
    /// assert_eq!(task.status(), Status::Running);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel_requested_at(&self) -> Option<DateTime<Utc>> {
        self.state.cancel_requested_at
    }

    /// The human-readable status message: the latest heartbeat's progress
    /// note while the run holds one, else the comment the last event
    /// left.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.heartbeat(&mut task, now + Duration::minutes(10), Some("registry contacted".into()), now)?;
    /// assert_eq!(task.comment(), Some("registry contacted"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn comment(&self) -> Option<&str> {
        self.state
            .lease
            .as_ref()
            .and_then(Lease::note)
            .or(self.state.comment.as_deref())
    }

    /// Why the task failed, while it is `Failed`.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Failure, IdGenerator, NamedKind, NewTask, Origin, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::provider("REGISTRY_TIMEOUT", "the registry did not answer", now), now)?;
    /// let failure = task.failure().ok_or("not failed")?;
    /// assert_eq!((failure.code.as_str(), failure.origin), ("REGISTRY_TIMEOUT", Origin::Provider));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn failure(&self) -> Option<&Failure> {
        self.state.failure.as_deref()
    }

    /// What follows the failure, while the task is `Failed`: a retry and
    /// when, the customer's correction, an escalation, or nothing.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Failure, FollowUp, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::customer("DOCUMENT_MISSING", "a document is missing", now), now)?;
    /// // A customer-origin failure waits for the customer.
    /// assert_eq!(task.follow_up(), Some(FollowUp::AwaitCorrection));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn follow_up(&self) -> Option<FollowUp> {
        self.state.follow_up
    }

    /// When the system may retry the failed task, if a retry is scheduled.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Command, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, RetryPolicy, Rules, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("DomainCreate", Rules::new().retry(RetryPolicy::STANDARD.jitter(0.0)));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::provider("REGISTRY_TIMEOUT", "the registry did not answer", now), now)?;
    /// // The standard policy, without jitter: the first retry a minute later.
    /// let at = task.next_retry_at().ok_or("no retry")?;
    /// assert_eq!(at, now + Duration::minutes(1));
    /// task.apply(Command::Retry, Actor::System, at)?;
    /// assert_eq!(task.status(), Status::Pending);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_retry_at(&self) -> Option<DateTime<Utc>> {
        match self.state.follow_up? {
            FollowUp::Retry { at } => Some(at),
            _ => None,
        }
    }

    /// Whether the provider's retries are spent and the customer must
    /// open a support request.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, ESCALATION_NOTICE, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, RetryPolicy, Rules, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("DomainCreate", Rules::new().retry(RetryPolicy::NEVER));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::provider("REGISTRY_DOWN", "the registry is down", now), now)?;
    /// // No retry left: the comment tells the customer to open a support request.
    /// assert!(task.is_escalated());
    /// assert!(task.comment().is_some_and(|c| c.ends_with(ESCALATION_NOTICE)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_escalated(&self) -> bool {
        self.state.follow_up == Some(FollowUp::Escalated)
    }

    /// The argument keys the failure flagged that have not been set to a
    /// value since it was recorded (clearing one does not correct it):
    /// OVHcloud's list of fields to correct, in the failure's order.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, ArgumentSpec, Command, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("contact", 1, 64));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let failure = Failure::customer("CONTACT_INVALID", "the owner contact is invalid", now).flag("contact");
    /// run.fail(&mut task, failure, now)?;
    /// assert_eq!(task.fields_to_correct(), ["contact"]);
    /// task.apply(Command::set_argument("contact", "c-2"), Actor::customer("alice"), now)?;
    /// assert!(task.fields_to_correct().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fields_to_correct(&self) -> Vec<&str> {
        self.state.to_correct.iter().map(String::as_str).collect()
    }

    /// Informational warnings of the current run (or, once settled, of
    /// the run that ended it): a task that returns to `pending` (requeue,
    /// relaunch, retry) drops those of its last run.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Task, Warning};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let outcome = Outcome::new().warning(Warning::new("DNSSEC_LATE", "DNSSEC keys publish within the hour"));
    /// run.complete(&mut task, outcome, now)?;
    /// let codes: Vec<&str> = task.warnings().iter().map(|w| w.code.as_str()).collect();
    /// assert_eq!(codes, ["DNSSEC_LATE"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warnings(&self) -> &[Warning] {
        &self.state.warnings
    }

    /// What the task produced, once `Done`. The outcome's warnings are
    /// also among [`warnings`](Task::warnings).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert!(task.outcome().is_none());
    /// run.complete(&mut task, Outcome::new().message("example.fr created"), now)?;
    /// let outcome = task.outcome().ok_or("not done")?;
    /// assert_eq!(outcome.message.as_deref(), Some("example.fr created"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn outcome(&self) -> Option<&Outcome> {
        self.state.outcome.as_deref()
    }

    /// How many runs have started.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (_first, _) = task.start(now + Duration::minutes(1), None, now)?;
    /// // Its executor dies: the lease runs out, and the task is requeued and started again.
    /// let later = now + Duration::minutes(2);
    /// task.apply(Command::MarkStalled, Actor::System, later)?;
    /// task.apply(Command::Requeue { todo_at: None }, Actor::System, later)?;
    /// let (_second, _) = task.start(later + Duration::minutes(1), None, later)?;
    /// // Two runs; a stalled run uses up no attempt.
    /// assert_eq!((task.runs(), task.attempts()), (2, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn runs(&self) -> u32 {
        self.state.runs
    }

    /// How many runs since creation or the last relaunch ended in a
    /// counted failure (see
    /// [Runs and attempts](crate::Task#runs-and-attempts)).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!(task.attempts(), 0);
    /// run.fail(&mut task, Failure::provider("REGISTRY_TIMEOUT", "the registry did not answer", now), now)?;
    /// assert_eq!(task.attempts(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attempts(&self) -> u32 {
        self.state.attempts
    }

    /// How many times a customer relaunched the task.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Command, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::customer("DOCUMENT_MISSING", "a document is missing", now), now)?;
    /// task.apply(Command::relaunch(), Actor::customer("alice"), now)?;
    /// assert_eq!((task.relaunches(), task.status()), (1, Status::Pending));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn relaunches(&self) -> u32 {
        self.state.relaunches
    }

    /// The current values of the task's arguments.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, ArgumentSpec, ArgumentValue, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("contact", 1, 64));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new.argument("contact", "c-1"), Actor::customer("alice"), now)?;
    /// assert_eq!(task.arguments().get("contact"), Some(&ArgumentValue::from("c-1")));
    /// assert_eq!(task.arguments().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn arguments(&self) -> &Arguments {
        &self.state.arguments
    }

    /// The task's subtasks.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let new = new.subtask(NewSubtask::new("check", "check availability"))
    ///     .subtask(NewSubtask::new("register", "register the domain"));
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let names: Vec<&str> = task.subtasks().iter().map(|s| s.name.as_str()).collect();
    /// assert_eq!(names, ["check", "register"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subtasks(&self) -> &Subtasks {
        &self.state.subtasks
    }

    /// The task's progress: derived from its subtasks when it has some
    /// (steps are subtasks; done are the satisfied ones; the current step
    /// is the subtask started last), otherwise as its executor reported
    /// it. The expected finish is always the reported one. `None` when
    /// there are no subtasks and nothing was reported.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, SubtaskChange, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let new = new.subtask(NewSubtask::new("check", "")).subtask(NewSubtask::new("register", ""));
    /// let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.subtask(&mut task, 0, SubtaskChange::Start, now)?;
    /// run.subtask(&mut task, 0, SubtaskChange::Succeed, now)?;
    /// run.subtask(&mut task, 1, SubtaskChange::Start, now)?;
    /// // Derived from the subtasks: one step of two done, working on the second.
    /// let progress = task.progress().ok_or("no progress")?;
    /// assert_eq!((progress.step_count, progress.total_steps), (1, 2));
    /// assert_eq!(progress.current_step.as_deref(), Some("register"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn progress(&self) -> Option<Progress> {
        let reported = self.state.progress.as_ref();
        let subtasks = &self.state.subtasks;
        if subtasks.is_empty() {
            return reported.cloned();
        }
        Some(Progress {
            step_count: subtasks.tally().satisfied(),
            total_steps: subtasks.tally().total(),
            reported_percent: reported.and_then(|p| p.reported_percent),
            current_step: subtasks.current().map(|subtask| subtask.name.clone()),
            expected_done_at: reported.and_then(|p| p.expected_done_at),
        })
    }

    /// Whether a failure of the task has been dealt with: `None` if it
    /// never failed; unresolved from its first failure until a later run
    /// succeeds or an operator resolves it.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Command, Failure, IdGenerator, NamedKind, NewTask, Owner, Resolution, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!(task.resolution(), None);
    /// run.fail(&mut task, Failure::customer("DOCUMENT_MISSING", "a document is missing", now), now)?;
    /// assert_eq!(task.resolution(), Some(Resolution::Unresolved));
    /// task.apply(Command::Resolve, Actor::operator("bob"), now)?;
    /// assert_eq!(task.resolution(), Some(Resolution::Resolved));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolution(&self) -> Option<Resolution> {
        self.state.resolution
    }

    /// Whether the task finished with warnings (VMware's
    /// `COMPLETED_WITH_WARNING`): done, with warnings gathered.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Status, Task, Warning};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let outcome = Outcome::new().warning(Warning::new("DNSSEC_LATE", "DNSSEC keys publish within the hour"));
    /// run.complete(&mut task, outcome, now)?;
    /// assert_eq!(task.status(), Status::Done);
    /// assert!(task.completed_with_warnings());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn completed_with_warnings(&self) -> bool {
        self.state.status == Status::Done && !self.state.warnings.is_empty()
    }

    /// What is wrong with a state read from storage, if anything: the
    /// facts every accepted command keeps true.
    fn state_problem(&self) -> Option<&'static str> {
        let state = &self.state;
        let status = state.status;
        let checks = [
            (state.version >= 1, "the version is 0"),
            (
                state.lease.is_some() == status.is_leased(),
                "a lease only and always on a running or waiting task",
            ),
            (
                state.lease.as_ref().is_none_or(|l| l.check_at().is_none())
                    || status == Status::Waiting,
                "a check time only on a waiting task",
            ),
            (
                state
                    .lease
                    .as_ref()
                    .is_none_or(|l| l.check_at().is_none_or(|at| at <= l.expires_at())),
                "a check time after the wait gives up",
            ),
            (
                state.lease.as_ref().is_none_or(|l| {
                    let started = l.token().start_version();
                    started >= 2 && started <= state.version
                }) && (state.lease.is_none() || state.runs >= 1),
                "a lease no start issued",
            ),
            (
                state.failure.is_some() == (status == Status::Failed),
                "a failure only and always on a failed task",
            ),
            (
                state.follow_up.is_some() == (status == Status::Failed),
                "a follow-up only and always on a failed task",
            ),
            (
                state.to_correct.is_empty() || status == Status::Failed,
                "fields to correct only on a failed task",
            ),
            (
                state.outcome.is_some() == (status == Status::Done),
                "an outcome only and always on a done task",
            ),
            (
                state.done_at.is_some() == status.is_settled(),
                "a settle time only and always on a settled task",
            ),
            (
                state.todo_at.is_none() || status == Status::Pending,
                "a todo time only on a pending task",
            ),
            (
                state.cancel_requested_at.is_none()
                    || matches!(status, Status::Running | Status::Waiting | Status::Stalled),
                "a cancel request only on a running, waiting or stalled task",
            ),
            (
                state.attempts <= state.runs,
                "more counted attempts than runs",
            ),
            (
                !status.is_leased() || state.attempts < state.runs,
                "as many counted attempts as runs while a run goes on",
            ),
        ];
        checks
            .into_iter()
            .find(|(holds, _)| !holds)
            .map(|(_, problem)| problem)
    }
}

impl<K: TaskKind> Task<K> {
    /// Whether `other` is a record of the same task: the same identity,
    /// which no command changes (id, owner, resources, parent, creation
    /// time, title, blocking setting, priority, unique key, and a kind of the same name, rules
    /// and argument specs). What a store checks before it replaces a
    /// record.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let copy = task.clone();
    /// task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?;
    /// // The state moved on; the identity did not.
    /// assert_ne!(task, copy);
    /// assert!(task.same_identity(&copy));
    /// let other = NewTask::new(IdGenerator::seeded(2).next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (other, _) = Task::create(other, Actor::customer("alice"), now)?;
    /// assert!(!task.same_identity(&other));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn same_identity(&self, other: &Task<K>) -> bool {
        let (a, b) = (&*self.identity, &*other.identity);
        Arc::ptr_eq(&self.identity, &other.identity)
            || (a.id == b.id
                && a.owner == b.owner
                && a.resource == b.resource
                && a.resources == b.resources
                && a.parent == b.parent
                && a.created_at == b.created_at
                && a.title == b.title
                && a.blocking == b.blocking
                && a.priority == b.priority
                && a.unique_key == b.unique_key
                && a.kind.name() == b.kind.name()
                && a.kind.rules() == b.kind.rules()
                && a.kind.arguments() == b.kind.arguments())
    }

    /// Its claim priority: due tasks of a higher priority are claimed
    /// first ([`NewTask::priority`](crate::NewTask::priority)).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new.priority(10), Actor::customer("alice"), now)?;
    /// assert_eq!(task.priority(), 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn priority(&self) -> i32 {
        self.identity.priority
    }

    /// The key no other live task may hold while this one is not done or
    /// cancelled ([`NewTask::unique_key`](crate::NewTask::unique_key)).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new.unique_key("domain-create:example.fr"), Actor::customer("alice"), now)?;
    /// assert_eq!(task.unique_key(), Some("domain-create:example.fr"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unique_key(&self) -> Option<&str> {
        self.identity.unique_key.as_deref()
    }

    /// Whether this task blocks other changes on its resource while in
    /// progress: its own setting, or its kind's rule.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// // The kind does not block by default; this task does.
    /// assert!(!NamedKind::new("DomainCreate").rules.blocking);
    /// let (task, _) = Task::create(new.blocking(true), Actor::customer("alice"), now)?;
    /// assert!(task.is_blocking());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_blocking(&self) -> bool {
        self.identity
            .blocking
            .unwrap_or(self.identity.kind.rules().blocking)
    }

    /// One argument with its spec and current value, as a correction form
    /// shows it; `None` if the kind declares no such argument.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, ArgumentSpec, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let spec = ArgumentSpec::text("contact", 1, 64).describe("the owner contact");
    /// let kind = NamedKind::new("DomainCreate").argument(spec);
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new.argument("contact", "c-1"), Actor::customer("alice"), now)?;
    /// let view = task.argument("contact").ok_or("no such argument")?;
    /// assert_eq!(view.spec.description, "the owner contact");
    /// assert_eq!(view.value.and_then(|v| v.as_str()), Some("c-1"));
    /// assert!(task.argument("password").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn argument(&self, key: &str) -> Option<ArgumentView<'_>> {
        let spec = self
            .identity
            .kind
            .arguments()
            .iter()
            .find(|spec| spec.key == key)?;
        Some(ArgumentView {
            spec,
            value: self.state.arguments.get(key),
        })
    }

    /// How many more counted attempts the retry policy allows before the
    /// task is escalated.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!(task.attempts_left(), 5);
    /// run.fail(&mut task, Failure::provider("REGISTRY_TIMEOUT", "the registry did not answer", now), now)?;
    /// // The standard policy allows 5 counted attempts: one is used.
    /// assert_eq!(task.attempts_left(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attempts_left(&self) -> u32 {
        self.identity
            .kind
            .rules()
            .retry
            .max_attempts
            .saturating_sub(self.state.attempts)
    }
}
