//! Recording: the only code that writes a task's fields.
//!
//! A decided command becomes an [`Event`] and [`Task::record`] folds it
//! into the state; a heartbeat changes only the lease. Replay folds a log
//! through the same [`Task::record`].

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::decide::{Assume, Ruling, Scope, check_creation};
use super::run::Run;
use super::{Identity, State, Task};
use crate::actor::{Actor, Role};
use crate::command::{Command, Decision, Event, NewTask};
use crate::failure::{ESCALATION_NOTICE, FollowUp, Resolution, Warning};
use crate::lease::{Lease, LeaseToken};
use crate::rules::TaskKind;
use crate::status::Status;
use crate::subtask::{self, Progress, Subtasks};
use crate::task::error::Rejection;

impl<K: TaskKind> Task<K> {
    /// Creates a task: the `create` row of the table. Returns the task
    /// and its first event (version 1), which starts its log.
    ///
    /// # Errors
    ///
    /// - [`Rejection::NotOwner`] when a customer creates a task for another
    ///   owner.
    /// - [`Rejection::InvalidInput`] when the owner, the resource's kind or
    ///   the resource's id is empty, a subtask has no name or names a
    ///   parent not declared before it, or the kind's retry policy has a
    ///   multiplier or jitter that is not a finite number.
    /// - [`Rejection::InvalidArgument`] when an argument is not one of the
    ///   kind's, a value does not fit its spec, or a required argument has
    ///   no value.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!((task.status(), task.version(), created.version), (Status::Pending, 1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(
        new: NewTask<K>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Task<K>, Event<K>), Rejection> {
        let row = check_creation(&new, &actor, Scope::Full)?;
        let task = Task::from_creation(&new, now, row.to);
        let event = Event {
            version: 1,
            heartbeats: 0,
            at: now,
            actor,
            from: None,
            to: row.to,
            command: Command::Create(Arc::new(new)),
            effect: None,
        };
        Ok((task, event))
    }

    /// Applies a command on behalf of `actor` at `now`.
    ///
    /// Returns the event to append to the task's log, or `None` for an
    /// accepted heartbeat (lease state: the version moves, the log does
    /// not). On a rejection the task is unchanged.
    ///
    /// # Errors
    ///
    /// The [`Rejection`] of the first check that fails, in the order given
    /// in the [record's docs](crate::Task#deciding-and-recording):
    ///
    /// 1. [`Rejection::NotOwner`] when a customer acts on a task that
    ///    another owner owns.
    /// 2. [`Rejection::StaleLease`] when an executor command carries a
    ///    lease token that is not the current run's (the run was stalled,
    ///    requeued, restarted or finished, or the task is not leased at
    ///    all), whatever the status now is.
    /// 3. [`Rejection::IllegalMove`] when the table has no row for the
    ///    task's status and the command's action (`Done` and `Cancelled`
    ///    have none, and a `Create` is never applied);
    ///    [`Rejection::RoleNotAllowed`] when the row exists but not for
    ///    the actor's role (a customer's `Start`, a system `Relaunch`, …).
    /// 4. The row's guards:
    ///    - [`Rejection::LeaseActive`]: `MarkStalled` before the lease runs
    ///      out;
    ///    - [`Rejection::NotDue`]: `Start` before the task's `todo_at`;
    ///    - [`Rejection::AlreadyDue`]: `Accelerate` of a task already due;
    ///    - [`Rejection::CancelAlreadyRequested`]: a second `Cancel` of the
    ///      same run, or a `Requeue` of a stalled task that keeps a cancel
    ///      request;
    ///    - [`Rejection::CancelNotRequested`]: `AcknowledgeCancel` when no
    ///      cancel was requested;
    ///    - [`Rejection::RefusedByRule`]: the kind's rules refuse a
    ///      `Cancel` or an `Accelerate` to this role in this status, an
    ///      edit (`SetArgument`, or a `Relaunch` carrying corrections) in
    ///      this status, or, under [`AggregatePolicy::FailFast`](crate::AggregatePolicy::FailFast),
    ///      the start of a subtask after a required one failed;
    ///    - [`Rejection::CannotCorrect`]: a `SetArgument` on a failed task
    ///      that the actor could not relaunch, with the
    ///      [`RelaunchRefusal`](crate::RelaunchRefusal);
    ///    - [`Rejection::CannotRelaunch`]: a `Relaunch` that the kind's
    ///      [relaunch rules](crate::RelaunchRules) refuse (a dedicated
    ///      route, operators only, a provider-origin or final failure, the
    ///      budget spent, flagged arguments not corrected), with the
    ///      [`RelaunchRefusal`](crate::RelaunchRefusal);
    ///    - [`Rejection::NoRetryScheduled`]: a `Retry` of a failure whose
    ///      follow-up is not a retry; [`Rejection::RetryNotDue`]: a
    ///      `Retry` before its time;
    ///    - [`Rejection::IllegalSubtaskMove`]: a `Subtask` move that the
    ///      subtask table does not have from the subtask's status;
    ///    - [`Rejection::SubtasksUnsatisfied`]: `Complete`, or a subtask's
    ///      `Succeed`, while required (child) subtasks are not satisfied.
    /// 5. The command's data: [`Rejection::InvalidInput`], naming the
    ///    field, for a deadline or check time that is not after `now`, a
    ///    check time after the wait gives up, a heartbeat that would
    ///    shorten the lease, an empty failure code, a flagged field that
    ///    the kind does not declare or makes read-only, an unknown
    ///    subtask, a failed subtask without errors, a subtask without a
    ///    name or under a parent that is not an earlier, unsettled one,
    ///    more steps done than in all, or steps on a task with subtasks;
    ///    [`Rejection::InvalidArgument`] for an argument that the kind
    ///    does not declare or makes read-only, a value that does not fit
    ///    its spec, or a required argument cleared.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, Rejection, ResourceRef, Status, Task};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"))
    ///     .todo_at(now + Duration::hours(1));
    /// let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    ///
    /// let event = task.apply(Command::Accelerate, Actor::customer("alice"), now)?;
    /// assert_eq!(event.map(|e| e.version), Some(2));
    ///
    /// // Bob does not own it: refused, and nothing changes.
    /// let before = task.clone();
    /// let refused = task.apply(Command::Cancel { reason: None }, Actor::customer("bob"), now);
    /// assert!(matches!(refused, Err(Rejection::NotOwner { .. })));
    /// assert_eq!(task, before);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(
        &mut self,
        mut command: Command<K>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<Event<K>>, Rejection> {
        let Ruling {
            row,
            effect,
            origin,
        } = self.decide(&command, &actor, now, Scope::Full, Assume::Nothing)?;
        if let Command::Heartbeat {
            lease_until,
            progress,
            check_at,
            ..
        } = &command
        {
            self.record_heartbeat(*lease_until, progress.as_ref(), *check_at, now);
            return Ok(None);
        }
        if let (Command::Fail { failure, .. }, Some(origin)) = (&mut command, origin) {
            failure.origin = origin;
        }
        let event = Event {
            version: self.state.version.saturating_add(1),
            heartbeats: self.state.lease.as_ref().map_or(0, Lease::heartbeats),
            at: now,
            actor,
            from: Some(self.state.status),
            to: row.to,
            command,
            effect,
        };
        self.record(&event);
        Ok(Some(event))
    }

    /// Starts a due task for an executor: applies `start` as the system.
    /// Returns the run's handle, whose methods are the executor's moves,
    /// and the event to log.
    ///
    /// # Errors
    ///
    /// As [`apply`](Task::apply) for [`Command::Start`]:
    /// [`Rejection::IllegalMove`] unless the task is `Pending`,
    /// [`Rejection::NotDue`] before its `todo_at`, and
    /// [`Rejection::InvalidInput`] when `lease_until` is not after `now`.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    ///     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// let (run, started) = task.start(now + Duration::minutes(5), Some("worker-1".into()), now)?;
    /// assert_eq!(task.status(), Status::Running);
    /// assert_eq!(Some(run.token()), started.lease_token());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start(
        &mut self,
        lease_until: DateTime<Utc>,
        worker: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(Run, Event<K>), Rejection> {
        let command = Command::Start {
            lease_until,
            worker,
        };
        let event = self
            .apply(command, Actor::System, now)?
            .ok_or_else(|| Rejection::invalid("start", "a start is always logged"))?;
        let run = Run::of_start(
            self.identity.id,
            LeaseToken::of_start(event.version, event.at),
        );
        Ok((run, event))
    }
}

impl<K: Clone> Task<K> {
    /// The task that the creation of `new` at `at` makes (version 1).
    pub(super) fn from_creation(new: &NewTask<K>, at: DateTime<Utc>, status: Status) -> Task<K> {
        let mut subtasks = Subtasks::default();
        for subtask in &new.subtasks {
            subtasks.push(subtask, at);
        }
        Task {
            identity: Arc::new(Identity {
                id: new.id,
                kind: new.kind.clone(),
                owner: new.owner.clone(),
                resource: new.resource.clone(),
                created_at: at,
                title: new.title.clone(),
                resources: new.resources.clone(),
                parent: new.parent,
                blocking: new.blocking,
                priority: new.priority,
                unique_key: new.unique_key.clone(),
            }),
            state: State {
                status,
                version: 1,
                updated_at: at,
                done_at: None,
                todo_at: new.todo_at,
                lease: None,
                cancel_requested_at: None,
                comment: new.comment.clone(),
                warnings: Vec::new(),
                arguments: new.arguments.clone(),
                failure: None,
                follow_up: None,
                to_correct: Vec::new(),
                outcome: None,
                subtasks,
                progress: None,
                resolution: None,
                runs: 0,
                attempts: 0,
                relaunches: 0,
            },
        }
    }

    /// Records an accepted heartbeat: lease state only, and the version.
    fn record_heartbeat(
        &mut self,
        lease_until: DateTime<Utc>,
        progress: Option<&String>,
        check_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) {
        if let Some(lease) = &mut self.state.lease {
            lease.beat(lease_until, progress, check_at);
        }
        self.state.version = self.state.version.saturating_add(1);
        self.state.updated_at = now;
    }

    /// Records an accepted event: the one place where fields change.
    pub(super) fn record(&mut self, event: &Event<K>) {
        let at = event.at;
        let state = &mut self.state;
        let mut sets_comment = false;
        let mut set_comment = |state: &mut State, comment: Option<String>| {
            state.comment = comment;
            sets_comment = true;
        };
        match &event.command {
            Command::Create(_) | Command::Heartbeat { .. } => {}
            Command::Start {
                lease_until,
                worker,
            } => {
                state.runs = state.runs.saturating_add(1);
                state.todo_at = None;
                state.lease = Some(Lease::new(
                    LeaseToken::of_start(event.version, at),
                    *lease_until,
                    worker.clone(),
                ));
            }
            Command::Wait {
                until,
                check_at,
                reason,
                ..
            } => {
                if let Some(lease) = &mut state.lease {
                    lease.extend(*until);
                    lease.set_check_at(*check_at);
                }
                if let Some(reason) = reason {
                    set_comment(state, Some(reason.clone()));
                }
            }
            Command::Resume { lease_until, .. } => {
                if let Some(lease) = &mut state.lease {
                    lease.extend(*lease_until);
                    lease.set_check_at(None);
                }
            }
            Command::Complete { outcome, .. } => {
                state.warnings.extend_from_slice(&outcome.warnings);
                if let Some(message) = &outcome.message {
                    set_comment(state, Some(message.clone()));
                }
                state.outcome = Some(Arc::new((**outcome).clone()));
            }
            Command::Fail { failure, .. } => {
                let (follow_up, counted, notice) = match event.effect.as_deref() {
                    Some(Decision::Failed {
                        follow_up,
                        counted,
                        notice,
                    }) => (*follow_up, *counted, notice.as_deref()),
                    _ => (FollowUp::Final, false, None),
                };
                if counted {
                    state.attempts = state.attempts.saturating_add(1);
                }
                let comment = match follow_up {
                    FollowUp::Escalated => format!(
                        "{}; {}",
                        failure.message,
                        notice.unwrap_or(ESCALATION_NOTICE)
                    ),
                    _ => failure.message.clone(),
                };
                set_comment(state, Some(comment));
                state.to_correct.clone_from(&failure.fields);
                state.failure = Some(Arc::new((**failure).clone()));
                state.follow_up = Some(follow_up);
            }
            Command::Cancel { reason } => {
                if event.to == Status::Cancelled {
                    state.todo_at = None;
                } else {
                    state.cancel_requested_at = Some(at);
                }
                if let Some(reason) = reason {
                    set_comment(state, Some(reason.clone()));
                }
            }
            Command::AcknowledgeCancel { .. } | Command::MarkStalled => {}
            Command::Requeue { todo_at } => state.todo_at = *todo_at,
            Command::Accelerate => state.todo_at = Some(at),
            Command::SetArgument { key, value } => match value {
                Some(value) => {
                    state.arguments.insert(key.clone(), value.clone());
                    state.to_correct.retain(|flagged| flagged != key);
                }
                None => {
                    state.arguments.remove(key);
                }
            },
            Command::Relaunch { arguments } => {
                state.arguments.extend(
                    arguments
                        .iter()
                        .map(|(key, value)| (key.clone(), value.clone())),
                );
                state.attempts = 0;
                if event.actor.role() == Role::Customer {
                    state.relaunches = state.relaunches.saturating_add(1);
                }
                state.todo_at = None;
                set_comment(state, None);
            }
            Command::Retry => {
                state.todo_at = None;
                set_comment(state, None);
            }
            Command::Subtask { id, change, .. } => {
                if let Some(subtask) = state.subtasks.get(*id)
                    && let Some(to) = subtask::subtask_target(subtask.status, change.action())
                {
                    if subtask.optional && to.is_settled() && !to.is_satisfied() {
                        let warning = Warning::new(
                            format!("optional_subtask_{to}"),
                            format!("optional subtask {} {to}", subtask.name),
                        );
                        state.warnings.push(warning);
                    }
                    state.subtasks.set(*id, change, to, at);
                }
            }
            Command::AddSubtask { subtask, .. } => state.subtasks.push(subtask, at),
            Command::ReportProgress {
                steps,
                percent,
                current_step,
                expected_done_at,
                ..
            } => {
                let progress = state.progress.get_or_insert_with(Progress::default);
                if let Some((done, total)) = steps {
                    progress.step_count = *done;
                    progress.total_steps = *total;
                }
                if percent.is_some() {
                    progress.reported_percent = *percent;
                }
                if current_step.is_some() {
                    progress.current_step.clone_from(current_step);
                }
                if expected_done_at.is_some() {
                    progress.expected_done_at = *expected_done_at;
                }
            }
            Command::Resolve => state.resolution = Some(Resolution::Resolved),
        }
        match event.to {
            // A later run that succeeds resolves an earlier failure.
            Status::Done if state.resolution.is_some() => {
                state.resolution = Some(Resolution::Resolved);
            }
            Status::Failed if event.from != Some(Status::Failed) => {
                state.resolution = Some(Resolution::Unresolved);
            }
            // A new run starts where the last one stopped; the warnings
            // of the last run go with it.
            Status::Pending if event.from.is_some_and(|from| from != Status::Pending) => {
                state.subtasks.reset_unfinished();
                state.warnings.clear();
            }
            _ => {}
        }
        if event.to != Status::Failed {
            state.failure = None;
            state.follow_up = None;
            state.to_correct.clear();
        }
        if event.to.is_leased() {
            if let Some(lease) = &mut state.lease {
                lease.logged(sets_comment);
            }
        } else {
            state.lease = None;
            // A cancel request concerns the run: it stays visible on a
            // stalled task (which then cannot be requeued, only cancelled
            // or failed) and lapses when the task settles.
            if event.to != Status::Stalled {
                state.cancel_requested_at = None;
            }
        }
        if !event.to.is_settled() {
            state.done_at = None;
        } else if !event.from.is_some_and(Status::is_settled) {
            state.done_at = Some(at);
        }
        state.status = event.to;
        state.updated_at = at;
        state.version = event.version;
    }
}
