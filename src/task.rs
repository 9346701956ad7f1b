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
//! - [`attempts`](Task::attempts) counts the runs, since creation or the
//!   last relaunch, that ended in a `fail` reported by their executor: the
//!   runs that used up the retry budget. A run that stalled (its executor
//!   died or lost its lease) ends without counting, and so does a staff
//!   `fail` of a stalled task, and a failure its kind classifies as
//!   [`Then::RetryUncounted`]: a fault of the
//!   provider's own infrastructure does not use up the customer's attempts.
//! - A relaunch starts a fresh budget (`attempts` back to 0); a customer's
//!   relaunch counts in [`relaunches`](Task::relaunches).
//!
//! # Failures, corrections, relaunches and retries
//!
//! When a run fails, the kind's [failure rules](crate::FailureRule)
//! classify the failure by its code (first match wins; by default a
//! failure keeps the origin its executor reported). The event records the
//! origin and the [`FollowUp`] decided then:
//!
//! - a **customer-origin** failure awaits correction: the customer lists
//!   [`fields_to_correct`](Task::fields_to_correct), reads each
//!   [`argument`](Task::argument), sets new values
//!   ([`Command::SetArgument`], checked against the kind's specs and
//!   recorded with the old value), and relaunches ([`Command::Relaunch`],
//!   which may also carry the corrections, applied all or nothing). The
//!   kind's [`RelaunchRules`](crate::RelaunchRules) decide whether a
//!   customer may, how often, and whether every flagged field must be
//!   corrected first; an operator may relaunch any failure.
//! - a **provider-origin** failure is retried by the system: the kind's
//!   [`RetryPolicy`](crate::RetryPolicy) gives the retry time
//!   ([`next_retry_at`](Task::next_retry_at)), and [`Command::Retry`] is
//!   accepted once it has come. After the last counted attempt the task
//!   stays `Failed`, [escalated](Task::is_escalated): its comment tells the
//!   customer to open a support request.
//! - a failure classified as final has no follow-up.
//!
//! A rejection says which rule refused: [`Rejection::CannotRelaunch`] and
//! [`Rejection::CannotCorrect`] carry a
//! [`RelaunchRefusal`].
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
use std::sync::Arc;

use std::collections::BTreeMap;

use crate::actor::{Actor, Owner, Role};
use crate::argument::{self, ArgumentView, Arguments, Problem};
use crate::command::{Command, Effect, Event, NewTask, Outcome, ResourceRef, Timeline};
use crate::error::{Rejection, RelaunchRefusal, ReplayError};
use crate::failure::{
    self, ESCALATION_NOTICE, Failure, FollowUp, Origin, Resolution, Then, Warning,
};
use crate::id::TaskId;
use crate::lease::{Lease, LeaseToken};
use crate::rules::{Rule, TaskKind};
use crate::run::Run;
use crate::status::Status;
use crate::subtask::{
    self, Aggregate, AggregatePolicy, NewSubtask, Progress, SubtaskChange, SubtaskId, Subtasks,
};
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
    bound(deserialize = "K: Deserialize<'de> + TaskKind + PartialEq")
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
    title: Option<String>,
    #[serde(default)]
    warnings: Vec<Warning>,
    #[serde(default)]
    arguments: Arguments,
    #[serde(default)]
    subtasks: Subtasks,
    #[serde(default)]
    progress: Option<Progress>,
    #[serde(default)]
    resources: Vec<ResourceRef>,
    #[serde(default)]
    parent: Option<TaskId>,
    #[serde(default)]
    blocking: Option<bool>,
    #[serde(default)]
    resolution: Option<Resolution>,
    runs: u32,
    attempts: u32,
    #[serde(default)]
    relaunches: u32,
    version: u64,
    /// Shared between copies: a copy of a task (what a store hands out)
    /// shares the history until one of them records an event, which then
    /// copies it once.
    history: Arc<Vec<Event<K>>>,
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
    /// - [`Rejection::InvalidArgument`] when an argument is not one of the
    ///   kind's, a value does not fit its spec, or a required argument has
    ///   no value.
    pub fn create(new: NewTask<K>, actor: Actor, now: DateTime<Utc>) -> Result<Task<K>, Rejection> {
        let row = check_creation(&new, &actor)?;
        let retry = &new.kind.rules().retry;
        if !(retry.multiplier.is_finite() && retry.jitter.is_finite()) {
            return Err(Rejection::invalid(
                "kind.rules.retry",
                "the multiplier and the jitter must be finite numbers",
            ));
        }
        argument::check_all(new.kind.arguments(), &new.arguments)?;
        for (position, subtask) in new.subtasks.iter().enumerate() {
            validate_subtask(subtask, position)?;
        }
        let event = Event {
            version: 1,
            at: now,
            actor,
            from: None,
            to: row.to,
            command: Command::Create(Arc::new(new.clone())),
            effect: None,
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
        mut command: Command<K>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<&Event<K>, Rejection> {
        let Decision {
            row,
            effect,
            origin,
        } = self.decide(&command, &actor, now)?;
        if let (Command::Fail { failure, .. }, Some(origin)) = (&mut command, origin) {
            failure.origin = origin;
        }
        let event = Event {
            version: self.version + 1,
            at: now,
            actor,
            from: Some(self.status),
            to: row.to,
            command,
            effect,
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
            .map(|decision| decision.row)
    }

    /// The full decision on a live command: the move's checks, then what
    /// the kind's rules and argument specs decide about it.
    fn decide(
        &self,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Decision, Rejection> {
        let row = self.check_move(command, actor, now, Scope::Live)?;
        let specs = self.kind.arguments();
        let mut decision = Decision {
            row,
            effect: None,
            origin: None,
        };
        match command {
            Command::Fail { failure, .. } => {
                // Only what the customer can correct may be flagged.
                for key in &failure.fields {
                    argument::check_edit(specs, key, None).or_else(|error| {
                        match error.problem {
                            Problem::Required => Ok(()),
                            _ => Err(Rejection::invalid(
                                "failure.fields",
                                format!("{key} cannot be corrected: {}", error.problem),
                            )),
                        }
                    })?;
                }
                let (origin, then) = failure::classify(&self.kind.rules().failures, failure);
                // Only a run that its executor reports failed counts; a
                // staff fail of a stalled task ends no run.
                let counted = self.status.is_leased() && then != Then::RetryUncounted;
                let attempts = self.attempts.saturating_add(u32::from(counted));
                let retry = &self.kind.rules().retry;
                let follow_up = match then {
                    // Its owner asked to stop it: nothing retries it.
                    _ if self.cancel_requested_at.is_some() => FollowUp::Final,
                    Then::AwaitCorrection => FollowUp::AwaitCorrection,
                    Then::Final => FollowUp::Final,
                    Then::Retry if attempts >= retry.max_attempts => FollowUp::Escalated,
                    Then::Retry | Then::RetryUncounted => FollowUp::Retry {
                        at: now
                            .checked_add_signed(retry.delay(self.id, attempts))
                            .unwrap_or(DateTime::<Utc>::MAX_UTC),
                    },
                };
                decision.origin = Some(origin);
                decision.effect = Some(Box::new(Effect::Failed { follow_up, counted }));
            }
            Command::SetArgument { key, value } => {
                argument::check_edit(specs, key, value.as_ref())?;
                let previous = BTreeMap::from([(key.clone(), self.arguments.get(key).cloned())]);
                decision.effect = Some(Box::new(Effect::Replaced { previous }));
            }
            Command::Relaunch { arguments } if !arguments.is_empty() => {
                for (key, value) in arguments {
                    argument::check_edit(specs, key, Some(value))?;
                }
                let previous = arguments
                    .keys()
                    .map(|key| (key.clone(), self.arguments.get(key).cloned()))
                    .collect();
                decision.effect = Some(Box::new(Effect::Replaced { previous }));
            }
            _ => {}
        }
        Ok(decision)
    }

    /// The checks of a move that a live command and a replayed event both
    /// pass: the owner, the table, the row's guards (in `Scope::History`,
    /// those that do not read the kind's rules) and the command's own
    /// data.
    fn check_move(
        &self,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
        scope: Scope,
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
            if scope == Scope::Live || !guard.reads_rules() {
                self.check_guard(*guard, command, actor, now, scope)?;
            }
        }
        validate(command, now)?;
        match command {
            Command::AddSubtask { subtask, .. } => {
                validate_subtask(subtask, self.subtasks.len())?;
                if let Some(parent) = subtask.parent.and_then(|p| self.subtasks.get(p))
                    && parent.status.is_settled()
                {
                    return Err(Rejection::invalid(
                        "subtask.parent",
                        format!("subtask {} has already settled", parent.id),
                    ));
                }
            }
            Command::ReportProgress {
                steps: Some((done, total)),
                ..
            } => {
                if !self.subtasks.is_empty() {
                    return Err(Rejection::invalid(
                        "steps",
                        "this task's steps are its subtasks",
                    ));
                }
                if done > total {
                    return Err(Rejection::invalid(
                        "steps",
                        format!("{done} steps done of {total}"),
                    ));
                }
            }
            _ => {}
        }
        Ok(row)
    }

    /// Rebuilds a task from its history alone.
    ///
    /// Each event is checked as a live command would be (its owner, its
    /// row of the table with its `from` and `to`, every guard that does not
    /// read the kind's rules: lease tokens, lease expiry, due and retry
    /// times, subtask moves; the command's own data) and recorded by the
    /// same step as [`apply`](Task::apply); the creation as
    /// [`create`](Task::create) checks it (its party, its owner and
    /// resource, its subtasks). What the kind's rules decided
    /// (cancel, accelerate, edit and relaunch rules, the classification
    /// and retry schedule of a failure recorded in the event's effect,
    /// argument specs) is taken as recorded: a history holds what was
    /// accepted under the rules of its time.
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
        // The creation's party and data, as `create` checks them (its
        // argument values and rules are taken as recorded).
        check_creation(&new, &first.actor)
            .and_then(|_| {
                new.subtasks
                    .iter()
                    .enumerate()
                    .try_for_each(|(position, subtask)| validate_subtask(subtask, position))
            })
            .map_err(|rejection| ReplayError::Illegal {
                version: 1,
                rejection,
            })?;
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
            let row = task
                .check_move(&event.command, &event.actor, event.at, Scope::History)
                .map_err(|rejection| ReplayError::Illegal {
                    version: event.version,
                    rejection,
                })?;
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

    /// Evaluates one guard of a row. The only place guards are decided.
    fn check_guard(
        &self,
        guard: Guard,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
        scope: Scope,
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
            Guard::EditAllowed => {
                if !self.kind.rules().edit.contains(self.status) {
                    return Err(refused_by(Rule::Edit));
                }
                if self.status == Status::Failed
                    && let Some(reason) = self.relaunch_refusal(actor.role(), None, false)
                {
                    return Err(Rejection::CannotCorrect { reason });
                }
            }
            Guard::RelaunchAllowed => {
                let corrections = match command {
                    Command::Relaunch { arguments } => Some(arguments),
                    _ => None,
                };
                if let Some(reason) = self.relaunch_refusal(actor.role(), corrections, true) {
                    return Err(Rejection::CannotRelaunch { reason });
                }
            }
            Guard::SubtaskMove => {
                if let Command::Subtask { id, change, .. } = command {
                    self.check_subtask_move(*id, change, scope)?;
                }
            }
            Guard::Unleased => {
                if let Some(presented) = command.token() {
                    return Err(Rejection::StaleLease {
                        action: command.action(),
                        presented: Some(presented),
                        current: None,
                    });
                }
            }
            Guard::CorrectionsAllowed => {
                if let Command::Relaunch { arguments } = command
                    && !arguments.is_empty()
                    && !self.kind.rules().edit.contains(self.status)
                {
                    return Err(refused_by(Rule::Edit));
                }
            }
            Guard::SubtasksSatisfied => {
                let remaining = self.subtasks.unsatisfied_required();
                if remaining > 0 {
                    return Err(Rejection::SubtasksUnsatisfied {
                        subtask: None,
                        remaining,
                    });
                }
            }
            Guard::RetryDue => match self.follow_up() {
                Some(FollowUp::Retry { at }) if at <= now => {}
                Some(FollowUp::Retry { at }) => return Err(Rejection::RetryNotDue { at }),
                follow_up => return Err(Rejection::NoRetryScheduled { follow_up }),
            },
        }
        Ok(())
    }

    /// Checks a subtask's move against the subtask table, its children, and
    /// the kind's aggregation policy.
    fn check_subtask_move(
        &self,
        id: SubtaskId,
        change: &SubtaskChange,
        scope: Scope,
    ) -> Result<(), Rejection> {
        let subtask = self
            .subtasks
            .get(id)
            .ok_or_else(|| Rejection::invalid("id", format!("the task has no subtask {id}")))?;
        let action = change.action();
        let illegal = Rejection::IllegalSubtaskMove {
            subtask: id,
            status: subtask.status,
            action,
        };
        subtask::subtask_target(subtask.status, action).ok_or(illegal)?;
        match change {
            SubtaskChange::Start
                if scope == Scope::Live
                    && self.kind.rules().subtasks == AggregatePolicy::FailFast
                    && self.subtasks.aggregate(AggregatePolicy::FailFast) == Aggregate::Failed =>
            {
                Err(Rejection::RefusedByRule {
                    kind: self.kind.name().to_owned(),
                    rule: Rule::Subtasks,
                    action: Action::Subtask,
                    status: self.status,
                    role: Role::System,
                })
            }
            SubtaskChange::Succeed if self.subtasks.unsatisfied_children(id) > 0 => {
                Err(Rejection::SubtasksUnsatisfied {
                    subtask: Some(id),
                    remaining: self.subtasks.unsatisfied_children(id),
                })
            }
            SubtaskChange::Fail { errors } if errors.is_empty() => Err(Rejection::invalid(
                "change.errors",
                "a failed subtask needs at least one error",
            )),
            SubtaskChange::Fail { errors } if errors.iter().any(|e| e.code.is_empty()) => Err(
                Rejection::invalid("change.errors.code", "must not be empty"),
            ),
            _ => Ok(()),
        }
    }

    /// Why `role` may not relaunch this failed task, if it may not:
    /// the kind's relaunch rules applied to the latest failure. With
    /// `with_corrections`, the flagged arguments must be corrected (by
    /// earlier edits or by the `corrections` the relaunch carries).
    fn relaunch_refusal(
        &self,
        role: Role,
        corrections: Option<&Arguments>,
        with_corrections: bool,
    ) -> Option<RelaunchRefusal> {
        let rules = &self.kind.rules().relaunch;
        if let Some(reason) = &rules.dedicated_route
            && with_corrections
            && corrections.is_none_or(Arguments::is_empty)
        {
            return Some(RelaunchRefusal::DedicatedRoute {
                reason: reason.to_string(),
            });
        }
        if role != Role::Customer {
            return None;
        }
        let failure = self.failure();
        if !rules.customer {
            Some(RelaunchRefusal::OperatorsOnly)
        } else if self.follow_up() == Some(FollowUp::Final) {
            Some(RelaunchRefusal::Final)
        } else if failure.is_some_and(|f| f.origin == Origin::Provider) && !rules.provider_failures
        {
            Some(RelaunchRefusal::ProviderFailure)
        } else if self.relaunches >= rules.max {
            Some(RelaunchRefusal::BudgetSpent {
                used: self.relaunches,
                max: rules.max,
            })
        } else if with_corrections && rules.require_corrections {
            let keys: Vec<String> = self
                .uncorrected()
                .filter(|key| corrections.is_none_or(|c| !c.contains_key(*key)))
                .map(str::to_owned)
                .collect();
            (!keys.is_empty()).then_some(RelaunchRefusal::Uncorrected { keys })
        } else {
            None
        }
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

    /// Whether `actor` could relaunch this task at `now` as it stands
    /// (the flagged arguments corrected, the budget not spent, …).
    pub fn can_relaunch(&self, actor: &Actor, now: DateTime<Utc>) -> bool {
        self.check(&Command::relaunch(), actor, now).is_ok()
    }

    /// Whether `actor` could relaunch this task once the flagged arguments
    /// are corrected: OVHcloud's `canRelaunch`, which tells a customer
    /// that correcting and relaunching is up to them. Only when the actor
    /// may edit every argument still to correct (a kind whose edit rule
    /// leaves out `failed` answers `false`: the customer could never
    /// correct them).
    pub fn can_relaunch_once_corrected(&self, actor: &Actor, now: DateTime<Utc>) -> bool {
        match self.check(&Command::relaunch(), actor, now) {
            Ok(_) => true,
            Err(Rejection::CannotRelaunch {
                reason: RelaunchRefusal::Uncorrected { keys },
            }) => keys.iter().all(|key| self.can_edit(key, actor, now)),
            Err(_) => false,
        }
    }

    /// Why `actor` could not relaunch this task at `now`, if it could
    /// not: the rejection a relaunch would get, naming the rule.
    pub fn relaunch_rejection(&self, actor: &Actor, now: DateTime<Utc>) -> Option<Rejection> {
        self.check(&Command::relaunch(), actor, now).err()
    }

    /// Whether `actor` may set the argument `key` at `now`: the kind allows
    /// edits in this status and the argument exists and is not read-only.
    pub fn can_edit(&self, key: &str, actor: &Actor, now: DateTime<Utc>) -> bool {
        let clear = Command::SetArgument {
            key: key.to_owned(),
            value: None,
        };
        match self.check(&clear, actor, now) {
            Ok(_) => true,
            // Clearing a required argument is refused for the value, not
            // for the edit: a valid value would be accepted.
            Err(Rejection::InvalidArgument(error)) => error.problem == Problem::Required,
            Err(_) => false,
        }
    }

    /// How many more counted attempts the retry policy allows before the
    /// task is escalated.
    pub fn attempts_left(&self) -> u32 {
        self.kind
            .rules()
            .retry
            .max_attempts
            .saturating_sub(self.attempts)
    }

    /// One argument with its spec and current value, as a correction form
    /// shows it; `None` if the kind declares no such argument.
    pub fn argument(&self, key: &str) -> Option<ArgumentView<'_>> {
        let spec = self.kind.arguments().iter().find(|spec| spec.key == key)?;
        Some(ArgumentView {
            spec,
            value: self.arguments.get(key),
        })
    }

    /// Whether this task blocks other changes on its resource while in
    /// progress: its own setting, or its kind's rule.
    pub fn is_blocking(&self) -> bool {
        self.blocking.unwrap_or(self.kind.rules().blocking)
    }

    /// The task that keeps this one from starting, among `others` on the
    /// same resource (Dyn's `blocking`), if any: a blocking task in
    /// progress (running, waiting or stalled) blocks every other task on
    /// its resource, and a blocking task waits for every task in progress
    /// on its resource. Pending tasks block nobody. The rule is pure: a
    /// store supplies the tasks active on the resource.
    pub fn blocked_by<'a>(
        &self,
        others: impl IntoIterator<Item = &'a Task<K>>,
    ) -> Option<&'a Task<K>>
    where
        K: 'a,
    {
        let blocking = self.is_blocking();
        others.into_iter().find(|other| {
            other.id != self.id
                && other.resource == self.resource
                && other.status.is_in_progress()
                && (blocking || other.is_blocking())
        })
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
            ("title", self.title == other.title),
            ("warnings", self.warnings == other.warnings),
            ("arguments", self.arguments == other.arguments),
            ("subtasks", self.subtasks == other.subtasks),
            ("progress", self.progress == other.progress),
            ("resources", self.resources == other.resources),
            ("parent", self.parent == other.parent),
            ("blocking", self.blocking == other.blocking),
            ("resolution", self.resolution == other.resolution),
            ("runs", self.runs == other.runs),
            ("attempts", self.attempts == other.attempts),
            ("relaunches", self.relaunches == other.relaunches),
            ("version", self.version == other.version),
        ];
        same.into_iter()
            .find(|(_, same)| !same)
            .map(|(field, _)| field)
    }
}

/// Which checks a move gets: all of them for a live command, and, for an
/// event replayed from a history, all but those that read the kind's rules
/// (they were decided under the rules of their time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Live,
    History,
}

/// What `decide` concluded about an acceptable command.
struct Decision {
    /// The table row it takes.
    row: &'static Transition,
    /// What was decided beyond the command itself.
    effect: Option<Box<Effect>>,
    /// The origin a failure is recorded with, after classification.
    origin: Option<Origin>,
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
    title: Option<String>,
    #[serde(default)]
    warnings: Vec<Warning>,
    #[serde(default)]
    arguments: Arguments,
    #[serde(default)]
    subtasks: Subtasks,
    #[serde(default)]
    progress: Option<Progress>,
    #[serde(default)]
    resources: Vec<ResourceRef>,
    #[serde(default)]
    parent: Option<TaskId>,
    #[serde(default)]
    blocking: Option<bool>,
    #[serde(default)]
    resolution: Option<Resolution>,
    runs: u32,
    attempts: u32,
    #[serde(default)]
    relaunches: u32,
    version: u64,
    history: Vec<Event<K>>,
}

impl<K: TaskKind + PartialEq> TryFrom<StoredTask<K>> for Task<K> {
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
            title: stored.title,
            warnings: stored.warnings,
            arguments: stored.arguments,
            subtasks: stored.subtasks,
            progress: stored.progress,
            resources: stored.resources,
            parent: stored.parent,
            blocking: stored.blocking,
            resolution: stored.resolution,
            runs: stored.runs,
            attempts: stored.attempts,
            relaunches: stored.relaunches,
            version: stored.version,
            history: Arc::default(),
        };
        match claimed.first_difference(&rebuilt) {
            None => Ok(rebuilt),
            Some(field) => Err(ReplayError::Diverged { field }),
        }
    }
}

impl<K: Clone> Task<K> {
    /// The task that `event`, the `create` of `new`, makes.
    fn from_creation(new: NewTask<K>, event: Event<K>) -> Task<K> {
        let mut subtasks = Subtasks::default();
        for subtask in &new.subtasks {
            subtasks.push(subtask, event.at);
        }
        let (at, to, version) = (event.at, event.to, event.version);
        // Room for the creation, a start and an end: most tasks record at
        // least these, and the claim that records the start does not
        // reallocate.
        let mut history = Vec::with_capacity(4);
        history.push(event);
        Task {
            id: new.id,
            kind: new.kind,
            owner: new.owner,
            resource: new.resource,
            status: to,
            created_at: at,
            updated_at: at,
            done_at: None,
            todo_at: new.todo_at,
            lease: None,
            cancel_requested_at: None,
            comment: new.comment,
            title: new.title,
            warnings: Vec::new(),
            arguments: new.arguments,
            subtasks,
            progress: None,
            resources: new.resources,
            parent: new.parent,
            blocking: new.blocking,
            resolution: None,
            runs: 0,
            attempts: 0,
            relaunches: 0,
            version,
            history: Arc::new(history),
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
                let (follow_up, counted) = match event.effect.as_deref() {
                    Some(Effect::Failed { follow_up, counted }) => (Some(*follow_up), *counted),
                    _ => (None, false),
                };
                if counted {
                    self.attempts = self.attempts.saturating_add(1);
                }
                self.comment = Some(match follow_up {
                    Some(FollowUp::Escalated) => {
                        format!("{}; {ESCALATION_NOTICE}", failure.message)
                    }
                    _ => failure.message.clone(),
                });
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
            Command::SetArgument { key, value } => match value {
                Some(value) => {
                    self.arguments.insert(key.clone(), value.clone());
                }
                None => {
                    self.arguments.remove(key);
                }
            },
            Command::Relaunch { arguments } => {
                self.arguments.extend(
                    arguments
                        .iter()
                        .map(|(key, value)| (key.clone(), value.clone())),
                );
                self.attempts = 0;
                if event.actor.role() == Role::Customer {
                    self.relaunches = self.relaunches.saturating_add(1);
                }
                self.todo_at = None;
                self.comment = None;
            }
            Command::Retry => {
                self.todo_at = None;
                self.comment = None;
            }
            Command::Subtask { id, change, .. } => {
                if let Some(subtask) = self.subtasks.get(*id)
                    && let Some(to) = subtask::subtask_target(subtask.status, change.action())
                {
                    if subtask.optional && to.is_settled() && !to.is_satisfied() {
                        let warning = Warning::new(
                            format!("optional_subtask_{to}"),
                            format!("optional subtask {} {to}", subtask.name),
                        );
                        self.warnings.push(warning);
                    }
                    self.subtasks.set(*id, change, to, at);
                }
            }
            Command::AddSubtask { subtask, .. } => self.subtasks.push(subtask, at),
            Command::ReportProgress {
                steps,
                current_step,
                expected_done_at,
                ..
            } => {
                let progress = self.progress.get_or_insert_with(Progress::default);
                if let Some((done, total)) = steps {
                    progress.step_count = *done;
                    progress.total_steps = *total;
                }
                if current_step.is_some() {
                    progress.current_step.clone_from(current_step);
                }
                if expected_done_at.is_some() {
                    progress.expected_done_at = *expected_done_at;
                }
            }
            Command::Resolve => self.resolution = Some(Resolution::Resolved),
        }
        match event.to {
            // A later run that succeeds resolves an earlier failure.
            Status::Done if self.resolution.is_some() => {
                self.resolution = Some(Resolution::Resolved);
            }
            Status::Failed if event.from != Some(Status::Failed) => {
                self.resolution = Some(Resolution::Unresolved);
            }
            // A new run starts where the last one stopped; the warnings
            // of the last run go with it.
            Status::Pending if event.from.is_some_and(|from| from != Status::Pending) => {
                self.subtasks.reset_unfinished();
                self.warnings.clear();
            }
            _ => {}
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
        if !event.to.is_settled() {
            self.done_at = None;
        } else if !event.from.is_some_and(Status::is_settled) {
            self.done_at = Some(at);
        }
        self.status = event.to;
        self.updated_at = at;
        self.version = event.version;
        if Arc::get_mut(&mut self.history).is_none() {
            // Shared with other copies: copy it once, with room for the
            // events that usually follow.
            let mut own = Vec::with_capacity(self.history.len() + 4);
            own.extend(self.history.iter().cloned());
            self.history = Arc::new(own);
        }
        // Not shared any more: `make_mut` does not copy again.
        let history = Arc::make_mut(&mut self.history);
        history.push(event);
        let last = history.len() - 1;
        &history[last]
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
    /// active. A failed task that is then cancelled keeps the time it
    /// failed: it was settled already.
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

    /// The task's human-readable name, if it was given one.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
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

    /// Informational warnings of the current run (or, once settled, of
    /// the run that ended it): a task that returns to `pending` (requeue,
    /// relaunch, retry) drops those of its last run.
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

    /// How many runs since creation or the last relaunch ended in a
    /// counted failure (see
    /// [Runs and attempts](crate::task#runs-and-attempts)).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How many times a customer relaunched the task.
    pub fn relaunches(&self) -> u32 {
        self.relaunches
    }

    /// The current values of the task's arguments.
    pub fn arguments(&self) -> &Arguments {
        &self.arguments
    }

    /// The task's subtasks.
    pub fn subtasks(&self) -> &Subtasks {
        &self.subtasks
    }

    /// The task's progress: derived from its subtasks when it has some
    /// (steps are subtasks; done are the satisfied ones; the current step
    /// is the subtask started last), otherwise as its executor reported
    /// it. The expected finish is always the reported one. `None` when
    /// there are no subtasks and nothing was reported.
    pub fn progress(&self) -> Option<Progress> {
        let reported = self.progress.as_ref();
        if self.subtasks.is_empty() {
            return reported.cloned();
        }
        Some(Progress {
            step_count: self.subtasks.tally().satisfied(),
            total_steps: self.subtasks.tally().total(),
            current_step: self.subtasks.current().map(|subtask| subtask.name.clone()),
            expected_done_at: reported.and_then(|p| p.expected_done_at),
        })
    }

    /// Every resource the task acts on: its `resource` first, then the
    /// others it was created with.
    pub fn resources(&self) -> impl Iterator<Item = &ResourceRef> {
        std::iter::once(&self.resource).chain(&self.resources)
    }

    /// The task this one is a child of, if any.
    pub fn parent(&self) -> Option<TaskId> {
        self.parent
    }

    /// Whether a failure of the task has been dealt with: `None` if it
    /// never failed; unresolved from its first failure until a later run
    /// succeeds or an operator resolves it.
    pub fn resolution(&self) -> Option<Resolution> {
        self.resolution
    }

    /// Whether the task finished with warnings (VMware's
    /// `COMPLETED_WITH_WARNING`): done, with warnings gathered.
    pub fn completed_with_warnings(&self) -> bool {
        self.status == Status::Done && !self.warnings.is_empty()
    }

    /// The latest `fail` event, while the task is `Failed`.
    fn failure_event(&self) -> Option<&Event<K>> {
        if self.status != Status::Failed {
            return None;
        }
        self.history
            .iter()
            .rev()
            .find(|event| matches!(event.command, Command::Fail { .. }))
    }

    /// What follows the failure, while the task is `Failed`: a retry and
    /// when, the customer's correction, an escalation, or nothing.
    pub fn follow_up(&self) -> Option<FollowUp> {
        match self.failure_event()?.effect.as_deref() {
            Some(Effect::Failed { follow_up, .. }) => Some(*follow_up),
            _ => None,
        }
    }

    /// When the system may retry the failed task, if a retry is scheduled.
    pub fn next_retry_at(&self) -> Option<DateTime<Utc>> {
        match self.follow_up()? {
            FollowUp::Retry { at } => Some(at),
            _ => None,
        }
    }

    /// Whether the provider's retries are spent and the customer must
    /// open a support request.
    pub fn is_escalated(&self) -> bool {
        self.follow_up() == Some(FollowUp::Escalated)
    }

    /// The argument keys the failure flagged that have not been set to a
    /// value since it was recorded (clearing one does not correct it):
    /// OVHcloud's list of fields to correct, in the failure's order.
    pub fn fields_to_correct(&self) -> Vec<&str> {
        self.uncorrected().collect()
    }

    fn uncorrected(&self) -> impl Iterator<Item = &str> {
        let fail_position = self
            .failure_event()
            .map_or(self.history.len(), |event| event.version as usize);
        let corrected: Vec<&str> = self
            .history
            .get(fail_position..)
            .unwrap_or_default()
            .iter()
            .filter_map(|event| match &event.command {
                Command::SetArgument {
                    key,
                    value: Some(_),
                } => Some(key.as_str()),
                _ => None,
            })
            .collect();
        self.failure()
            .into_iter()
            .flat_map(|failure| failure.fields.iter())
            .map(String::as_str)
            .filter(move |key| !corrected.contains(key))
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

/// The checks of a creation that concern its party and its own data: a
/// customer creates only for itself, the role may create, and the new
/// task names its owner and resource. Returns the creation row.
fn check_creation<K>(new: &NewTask<K>, actor: &Actor) -> Result<&'static Transition, Rejection> {
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
    validate_new(new)?;
    Ok(row)
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

/// Checks a subtask declared at position `position`: a name, and a parent
/// declared before it.
fn validate_subtask(subtask: &NewSubtask, position: usize) -> Result<(), Rejection> {
    if subtask.name.is_empty() {
        return Err(Rejection::invalid("subtask.name", "must not be empty"));
    }
    if u32::try_from(position).is_err() {
        return Err(Rejection::invalid("subtasks", "too many subtasks"));
    }
    match subtask.parent {
        Some(parent) if parent as usize >= position => Err(Rejection::invalid(
            "subtask.parent",
            format!("subtask {parent} is not declared before subtask {position}"),
        )),
        _ => Ok(()),
    }
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
        | Command::Accelerate
        | Command::SetArgument { .. }
        | Command::Relaunch { .. }
        | Command::Retry
        | Command::Subtask { .. }
        | Command::AddSubtask { .. }
        | Command::ReportProgress { .. }
        | Command::Resolve => Ok(()),
    }
}
