//! The task record: [`Task<K>`], the commands it takes, the answers it
//! derives, and replay.
//!
//! # Deciding and recording
//!
//! [`Task::apply`] first decides, without touching the record, in this
//! order:
//!
//! 1. a customer must own the task ([`Rejection::NotOwner`]);
//! 2. the table must have a row for the status and the action
//!    ([`Rejection::IllegalMove`]) that the actor's role may take
//!    ([`Rejection::RoleNotAllowed`]);
//! 3. the row's [guards](crate::table::Guard) must hold, in the row's
//!    order (a stale lease, a lease not yet expired, a task not yet due, a
//!    kind rule that refuses, …);
//! 4. the command's data must be valid ([`Rejection::InvalidInput`] names
//!    the field).
//!
//! Only then does it record: one [`Event`] appended, the version bumped by
//! one, the fields updated from the event. The recording step cannot fail,
//! so a rejected command leaves the record exactly as it was and an
//! accepted one is applied whole. [`Task::replay`] rebuilds a task by the
//! same recording step from its history alone.
//!
//! # Runs and attempts
//!
//! Attempts are counted here and nowhere else:
//!
//! - [`runs`](Task::runs) counts `start`s. Each `start` begins a run and
//!   issues it a new [lease token](crate::LeaseToken).
//! - A run ends when its executor completes it, fails it, or acknowledges
//!   a cancel, or when it is marked stalled.
//! - [`attempts`](Task::attempts) counts the runs that ended in a `fail`
//!   reported by their executor: the runs that used up the task's budget.
//!   A run that stalled (its executor died or lost its lease) ends without
//!   counting, and so does a staff `fail` of a stalled task: a fault of the
//!   provider's own executors does not use up the customer's attempts.
//!
//! # Times
//!
//! Every time comes in as an argument; nothing here reads a clock. Times
//! need not be monotonic: events are ordered by `version`, not by `at`,
//! and each field keeps the time of the event that set it.
//!
//! # Example
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Status, Task};
//!
//! let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
//! let mut ids = IdGenerator::seeded(1);
//! let mut task = Task::create(
//!     NewTask::new(ids.next_id(t0), NamedKind::new("DomainCreate"),
//!         Owner::new("alice"), ResourceRef::new("domain", "example.fr")),
//!     Actor::customer("alice"),
//!     t0,
//! )?;
//!
//! let run = task.start(t0 + Duration::minutes(5), Some("worker-1".into()), t0)?;
//! run.heartbeat(&mut task, t0 + Duration::minutes(10), Some("registry contacted".into()), t0 + Duration::minutes(1))?;
//! run.complete(&mut task, Outcome::new().message("domain created"), t0 + Duration::minutes(2))
//!     .map_err(|refused| refused.rejection)?;
//!
//! assert_eq!(task.status(), Status::Done);
//! assert_eq!(task.version(), 4);
//! assert_eq!(Task::replay(task.history().to_vec())?, task);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Owner};
use crate::command::{Command, Event, NewTask, Outcome, ResourceRef, Timeline};
use crate::error::{Rejection, ReplayError};
use crate::failure::{Failure, Warning};
use crate::id::TaskId;
use crate::lease::{Lease, LeaseToken};
use crate::rules::{Rule, TaskKind};
use crate::run::Run;
use crate::status::Status;
use crate::table::{self, Action, Guard, Transition};

/// A task: the record of one asynchronous provider operation.
///
/// Fields are read through methods and changed only by commands
/// ([`apply`](Task::apply) and the helpers built on it). The record
/// serializes with stable field names, history included; see the
/// [module docs](crate::task) for the rules of its life.
///
/// Deserializing a task checks it: the record is rebuilt from its history
/// and every stored field must agree, so a record edited behind the
/// crate's back is refused with the name of the field that disagrees,
/// rather than loaded in a state no command could have produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "StoredTask<K>",
    bound(deserialize = "K: Deserialize<'de> + Clone + PartialEq")
)]
pub struct Task<K> {
    id: TaskId,
    kind: K,
    owner: Owner,
    resource: ResourceRef,
    status: Status,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    done_at: Option<DateTime<Utc>>,
    #[serde(default)]
    todo_at: Option<DateTime<Utc>>,
    #[serde(default)]
    lease: Option<Lease>,
    #[serde(default)]
    cancel_requested_at: Option<DateTime<Utc>>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    warnings: Vec<Warning>,
    runs: u32,
    attempts: u32,
    version: u64,
    history: Vec<Event<K>>,
}

impl<K: TaskKind> Task<K> {
    /// Creates a task: the `create` row of the table, recorded as the
    /// first event of its history (version 1).
    ///
    /// # Errors
    ///
    /// - [`Rejection::NotOwner`] when a customer creates a task for another
    ///   owner.
    /// - [`Rejection::InvalidInput`] when the owner, the resource's kind or
    ///   the resource's id is empty.
    pub fn create(new: NewTask<K>, actor: Actor, now: DateTime<Utc>) -> Result<Task<K>, Rejection> {
        if let Some(acting) = actor.owner()
            && *acting != new.owner
        {
            return Err(Rejection::NotOwner {
                actor: acting.to_string(),
                action: Action::Create,
            });
        }
        let row = table::creation();
        if !row.roles.contains(actor.role()) {
            return Err(Rejection::RoleNotAllowed {
                status: row.to,
                action: Action::Create,
                role: actor.role(),
                allowed: row.roles,
            });
        }
        validate_new(&new)?;
        let event = Event {
            version: 1,
            at: now,
            actor,
            from: None,
            to: row.to,
            command: Command::Create(Box::new(new.clone())),
        };
        Ok(Task::from_creation(new, event))
    }

    /// Applies a command on behalf of `actor` at `now`.
    ///
    /// Returns the recorded event. On a rejection the task is unchanged.
    ///
    /// # Errors
    ///
    /// Any [`Rejection`], decided in the order given in the
    /// [module docs](crate::task).
    pub fn apply(
        &mut self,
        command: Command<K>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<&Event<K>, Rejection> {
        let row = self.decide(&command, &actor, now)?;
        let event = Event {
            version: self.version + 1,
            at: now,
            actor,
            from: Some(self.status),
            to: row.to,
            command,
        };
        Ok(self.record(event))
    }

    /// Whether `actor` could apply `command` at `now`, without applying it:
    /// the same decision as [`apply`](Task::apply), returning the row it
    /// would take.
    ///
    /// # Errors
    ///
    /// The [`Rejection`] that `apply` would return.
    pub fn check(
        &self,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<&'static Transition, Rejection> {
        self.decide(command, actor, now)
    }

    fn decide(
        &self,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<&'static Transition, Rejection> {
        let action = command.action();
        if let Some(acting) = actor.owner()
            && *acting != self.owner
        {
            return Err(Rejection::NotOwner {
                actor: acting.to_string(),
                action,
            });
        }
        let row = table::check(self.status, action, actor.role())?;
        for guard in row.guards {
            self.check_guard(*guard, command, actor, now)?;
        }
        validate(command, now)?;
        Ok(row)
    }

    /// Evaluates one guard of a row. The only place guards are decided.
    fn check_guard(
        &self,
        guard: Guard,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let refused_by = |rule| Rejection::RefusedByRule {
            kind: self.kind.name().to_owned(),
            rule,
            action: command.action(),
            status: self.status,
            role: actor.role(),
        };
        match guard {
            Guard::LeaseHolder => {
                let current = self.lease.as_ref().map(|lease| lease.token);
                let presented = command.token();
                if current.is_none() || presented != current {
                    return Err(Rejection::StaleLease {
                        action: command.action(),
                        presented,
                        current,
                    });
                }
            }
            Guard::LeaseExpired => {
                if let Some(lease) = &self.lease
                    && !lease.is_expired(now)
                {
                    return Err(Rejection::LeaseActive {
                        expires_at: lease.expires_at,
                    });
                }
            }
            Guard::Due => {
                if let Some(todo_at) = self.todo_at
                    && todo_at > now
                {
                    return Err(Rejection::NotDue { todo_at });
                }
            }
            Guard::ScheduledLater => {
                if self.todo_at.is_none_or(|todo_at| todo_at <= now) {
                    return Err(Rejection::AlreadyDue);
                }
            }
            Guard::CancelAllowed => {
                if !self.kind.rules().cancel.allows(actor.role(), self.status) {
                    return Err(refused_by(Rule::Cancel));
                }
            }
            Guard::CancelNotRequested => {
                if let Some(requested_at) = self.cancel_requested_at {
                    return Err(Rejection::CancelAlreadyRequested { requested_at });
                }
            }
            Guard::CancelRequested => {
                if self.cancel_requested_at.is_none() {
                    return Err(Rejection::CancelNotRequested);
                }
            }
            Guard::AccelerateAllowed => {
                if !self.kind.rules().accelerate.contains(actor.role()) {
                    return Err(refused_by(Rule::Accelerate));
                }
            }
        }
        Ok(())
    }

    /// Starts a due task for an executor: applies `start` as the system
    /// and returns the [`Run`] handle whose methods are exactly the
    /// executor's legal moves.
    ///
    /// # Errors
    ///
    /// As [`apply`](Task::apply) for [`Command::Start`]: the task must be
    /// `Pending` and due, and `lease_until` after `now`.
    pub fn start(
        &mut self,
        lease_until: DateTime<Utc>,
        worker: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Run, Rejection> {
        let id = self.id;
        let started = self.apply(
            Command::Start {
                lease_until,
                worker,
            },
            Actor::System,
            now,
        )?;
        Ok(Run::new(id, LeaseToken::for_start(started.version)))
    }

    /// Whether `actor` may cancel this task at `now` (OVHcloud's
    /// `canCancel`, VMware's `isCancellable`), by the table and the kind's
    /// rules. On running work, a cancel is a request the executor
    /// acknowledges.
    pub fn can_cancel(&self, actor: &Actor, now: DateTime<Utc>) -> bool {
        self.check(&Command::Cancel { reason: None }, actor, now)
            .is_ok()
    }

    /// Whether `actor` may bring this task's `todo_at` forward at `now`
    /// (OVHcloud's `canAccelerate`).
    pub fn can_accelerate(&self, actor: &Actor, now: DateTime<Utc>) -> bool {
        self.check(&Command::Accelerate, actor, now).is_ok()
    }

    /// Whether the lease has run out at `now`, so that `mark_stalled`
    /// would be accepted.
    pub fn can_mark_stalled(&self, now: DateTime<Utc>) -> bool {
        self.check(&Command::MarkStalled, &Actor::System, now)
            .is_ok()
    }
}

impl<K: PartialEq> Task<K> {
    /// The first stored field (history aside) in which two records
    /// differ: what names a corrupt record when one is read.
    fn first_difference(&self, other: &Task<K>) -> Option<&'static str> {
        let same = [
            ("id", self.id == other.id),
            ("kind", self.kind == other.kind),
            ("owner", self.owner == other.owner),
            ("resource", self.resource == other.resource),
            ("status", self.status == other.status),
            ("created_at", self.created_at == other.created_at),
            ("updated_at", self.updated_at == other.updated_at),
            ("done_at", self.done_at == other.done_at),
            ("todo_at", self.todo_at == other.todo_at),
            ("lease", self.lease == other.lease),
            (
                "cancel_requested_at",
                self.cancel_requested_at == other.cancel_requested_at,
            ),
            ("comment", self.comment == other.comment),
            ("warnings", self.warnings == other.warnings),
            ("runs", self.runs == other.runs),
            ("attempts", self.attempts == other.attempts),
            ("version", self.version == other.version),
        ];
        same.into_iter()
            .find(|(_, same)| !same)
            .map(|(field, _)| field)
    }
}

/// A task as read from storage, before it is checked against its history.
#[derive(Deserialize)]
struct StoredTask<K> {
    id: TaskId,
    kind: K,
    owner: Owner,
    resource: ResourceRef,
    status: Status,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    done_at: Option<DateTime<Utc>>,
    #[serde(default)]
    todo_at: Option<DateTime<Utc>>,
    #[serde(default)]
    lease: Option<Lease>,
    #[serde(default)]
    cancel_requested_at: Option<DateTime<Utc>>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    warnings: Vec<Warning>,
    runs: u32,
    attempts: u32,
    version: u64,
    history: Vec<Event<K>>,
}

impl<K: Clone + PartialEq> TryFrom<StoredTask<K>> for Task<K> {
    type Error = ReplayError;

    /// Rebuilds the task from the stored history and checks that every
    /// stored field agrees with it.
    fn try_from(stored: StoredTask<K>) -> Result<Self, Self::Error> {
        let rebuilt = Task::replay(stored.history)?;
        let claimed = Task {
            id: stored.id,
            kind: stored.kind,
            owner: stored.owner,
            resource: stored.resource,
            status: stored.status,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            done_at: stored.done_at,
            todo_at: stored.todo_at,
            lease: stored.lease,
            cancel_requested_at: stored.cancel_requested_at,
            comment: stored.comment,
            warnings: stored.warnings,
            runs: stored.runs,
            attempts: stored.attempts,
            version: stored.version,
            history: Vec::new(),
        };
        match claimed.first_difference(&rebuilt) {
            None => Ok(rebuilt),
            Some(field) => Err(ReplayError::Diverged { field }),
        }
    }
}

impl<K: Clone> Task<K> {
    /// Rebuilds a task from its history alone.
    ///
    /// Each event is checked against the table (its version, its `from`
    /// and `to`, its actor's role) and recorded by the same step as
    /// [`apply`](Task::apply). Guards that depend on the kind's rules are
    /// not re-decided: a history records what was accepted under the rules
    /// of its time.
    ///
    /// # Errors
    ///
    /// A [`ReplayError`] naming the first event that does not fit.
    pub fn replay(history: impl IntoIterator<Item = Event<K>>) -> Result<Task<K>, ReplayError> {
        let mut events = history.into_iter();
        let first = events.next().ok_or(ReplayError::Empty)?;
        let Command::Create(new) = &first.command else {
            return Err(ReplayError::NotCreatedFirst {
                action: first.action(),
            });
        };
        let new = (**new).clone();
        if first.version != 1 {
            return Err(ReplayError::VersionGap {
                expected: 1,
                found: first.version,
            });
        }
        let creation = table::creation();
        if first.from.is_some() || first.to != creation.to {
            return Err(ReplayError::Inconsistent {
                version: 1,
                recorded_from: first.from,
                recorded_to: first.to,
                actual_from: None,
                actual_to: creation.to,
            });
        }
        let mut task = Task::from_creation(new, first);
        for event in events {
            let expected = task.version + 1;
            if event.version != expected {
                return Err(ReplayError::VersionGap {
                    expected,
                    found: event.version,
                });
            }
            if event.action() == Action::Create {
                return Err(ReplayError::CreatedTwice {
                    version: event.version,
                });
            }
            let row = table::check(task.status, event.action(), event.actor.role()).map_err(
                |rejection| ReplayError::Illegal {
                    version: event.version,
                    rejection,
                },
            )?;
            if event.from != Some(task.status) || event.to != row.to {
                return Err(ReplayError::Inconsistent {
                    version: event.version,
                    recorded_from: event.from,
                    recorded_to: event.to,
                    actual_from: Some(task.status),
                    actual_to: row.to,
                });
            }
            task.record(event);
        }
        Ok(task)
    }

    /// The task that `event`, the `create` of `new`, makes.
    fn from_creation(new: NewTask<K>, event: Event<K>) -> Task<K> {
        Task {
            id: new.id,
            kind: new.kind,
            owner: new.owner,
            resource: new.resource,
            status: event.to,
            created_at: event.at,
            updated_at: event.at,
            done_at: None,
            todo_at: new.todo_at,
            lease: None,
            cancel_requested_at: None,
            comment: new.comment,
            warnings: Vec::new(),
            runs: 0,
            attempts: 0,
            version: event.version,
            history: vec![event],
        }
    }

    /// Records an accepted event: the one place where fields change.
    fn record(&mut self, event: Event<K>) -> &Event<K> {
        let at = event.at;
        match &event.command {
            Command::Create(_) => {}
            Command::Start {
                lease_until,
                worker,
            } => {
                self.runs = self.runs.saturating_add(1);
                self.todo_at = None;
                self.lease = Some(Lease {
                    token: LeaseToken::for_start(event.version),
                    expires_at: *lease_until,
                    worker: worker.clone(),
                });
            }
            Command::Heartbeat {
                lease_until,
                progress,
                ..
            } => {
                self.extend_lease(*lease_until);
                if let Some(progress) = progress {
                    self.comment = Some(progress.clone());
                }
            }
            Command::Wait { until, reason, .. } => {
                self.extend_lease(*until);
                if let Some(reason) = reason {
                    self.comment = Some(reason.clone());
                }
            }
            Command::Resume { lease_until, .. } => self.extend_lease(*lease_until),
            Command::Complete { outcome, .. } => {
                self.warnings.extend_from_slice(&outcome.warnings);
                if let Some(message) = &outcome.message {
                    self.comment = Some(message.clone());
                }
            }
            Command::Fail { failure, .. } => {
                if event.from.is_some_and(Status::is_leased) {
                    self.attempts = self.attempts.saturating_add(1);
                }
                self.comment = Some(failure.message.clone());
            }
            Command::Cancel { reason } => {
                if event.to == Status::Cancelled {
                    self.todo_at = None;
                } else {
                    self.cancel_requested_at = Some(at);
                }
                if let Some(reason) = reason {
                    self.comment = Some(reason.clone());
                }
            }
            Command::AcknowledgeCancel { .. } | Command::MarkStalled => {}
            Command::Requeue { todo_at } => self.todo_at = *todo_at,
            Command::Accelerate => self.todo_at = Some(at),
        }
        if !event.to.is_leased() {
            self.lease = None;
            // A cancel request concerns the run: it stays visible on a
            // stalled task (which then cannot be requeued, only cancelled
            // or failed) and lapses when the task settles.
            if event.to != Status::Stalled {
                self.cancel_requested_at = None;
            }
        }
        if event.to.is_settled() && !event.from.is_some_and(Status::is_settled) {
            self.done_at = Some(at);
        }
        self.status = event.to;
        self.updated_at = at;
        self.version = event.version;
        self.history.push(event);
        let last = self.history.len() - 1;
        &self.history[last]
    }

    fn extend_lease(&mut self, until: DateTime<Utc>) {
        if let Some(lease) = &mut self.lease {
            lease.expires_at = until;
        }
    }
}

impl<K> Task<K> {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The host's kind.
    pub fn kind(&self) -> &K {
        &self.kind
    }

    /// The customer account that owns it.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// What it acts on.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// Its canonical status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// When it was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When its last event was applied.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// When it settled (`Done`, `Failed` or `Cancelled`); `None` while
    /// active.
    pub fn done_at(&self) -> Option<DateTime<Utc>> {
        self.done_at
    }

    /// When it should next run, while `Pending`; `None` means as soon as
    /// possible (or not pending).
    pub fn todo_at(&self) -> Option<DateTime<Utc>> {
        self.todo_at
    }

    /// The current run's lease, while `Running` or `Waiting`.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// When a cancel was requested on the current run, if one was. An
    /// executor checks it (for instance after each heartbeat) and
    /// acknowledges. If the run stalls instead, the request stays on the
    /// stalled task, which then cannot be requeued (only cancelled or
    /// failed); it lapses when the task settles, so a run that completes
    /// after a request wins the race.
    pub fn cancel_requested_at(&self) -> Option<DateTime<Utc>> {
        self.cancel_requested_at
    }

    /// The human-readable status message.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Why the task failed, while it is `Failed`: read from the latest
    /// `fail` event of the history, not stored twice.
    pub fn failure(&self) -> Option<&Failure> {
        if self.status != Status::Failed {
            return None;
        }
        self.history
            .iter()
            .rev()
            .find_map(|event| match &event.command {
                Command::Fail { failure, .. } => Some(&**failure),
                _ => None,
            })
    }

    /// Informational warnings gathered so far.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// What the task produced, once `Done`: read from its `complete`
    /// event, the last of its history, not stored twice. The outcome's
    /// warnings are also among [`warnings`](Task::warnings).
    pub fn outcome(&self) -> Option<&Outcome> {
        match (self.status, self.history.last().map(|event| &event.command)) {
            (Status::Done, Some(Command::Complete { outcome, .. })) => Some(outcome),
            _ => None,
        }
    }

    /// How many runs have started.
    pub fn runs(&self) -> u32 {
        self.runs
    }

    /// How many runs ended in a failure reported by their executor (see
    /// [Runs and attempts](crate::task#runs-and-attempts)).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The number of accepted commands, creation included: equal to the
    /// length of the history. Stores compare-and-swap on it.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Every accepted command, oldest first.
    pub fn history(&self) -> &[Event<K>] {
        &self.history
    }

    /// The history as a readable table, for support teams and examples.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(t0), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let task = Task::create(new, Actor::customer("alice"), t0)?;
    /// let text = task.timeline().to_string();
    /// assert!(text.contains("customer alice  create"));
    /// # Ok::<(), taskstate::Rejection>(())
    /// ```
    pub fn timeline(&self) -> Timeline<'_, K> {
        Timeline::new(&self.history)
    }
}

fn validate_new<K>(new: &NewTask<K>) -> Result<(), Rejection> {
    if new.owner.as_str().is_empty() {
        return Err(Rejection::invalid("owner", "must not be empty"));
    }
    if new.resource.kind.is_empty() {
        return Err(Rejection::invalid("resource.kind", "must not be empty"));
    }
    if new.resource.id.is_empty() {
        return Err(Rejection::invalid("resource.id", "must not be empty"));
    }
    Ok(())
}

/// Checks a command's own data, once the move itself is allowed.
fn validate<K>(command: &Command<K>, now: DateTime<Utc>) -> Result<(), Rejection> {
    let after_now = |field, at: DateTime<Utc>| {
        if at > now {
            Ok(())
        } else {
            Err(Rejection::invalid(
                field,
                format!("{at} is not after now ({now})"),
            ))
        }
    };
    match command {
        Command::Start { lease_until, .. } => after_now("lease_until", *lease_until),
        Command::Heartbeat { lease_until, .. } => after_now("lease_until", *lease_until),
        Command::Resume { lease_until, .. } => after_now("lease_until", *lease_until),
        Command::Wait { until, .. } => after_now("until", *until),
        Command::Fail { failure, .. } if failure.code.is_empty() => {
            Err(Rejection::invalid("failure.code", "must not be empty"))
        }
        Command::Create(new) => validate_new(new),
        Command::Fail { .. }
        | Command::Complete { .. }
        | Command::Cancel { .. }
        | Command::AcknowledgeCancel { .. }
        | Command::MarkStalled
        | Command::Requeue { .. }
        | Command::Accelerate => Ok(()),
    }
}
