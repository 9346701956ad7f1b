//! What a task refuses: the errors of its decisions and of its replay.

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::action::Action;
use crate::actor::{Role, RoleSet};
use crate::argument::ArgumentError;
use crate::command::Decision;
use crate::failure::{FollowUp, Origin};
use crate::id::TaskId;
use crate::lease::LeaseToken;
use crate::rules::RuleName;
use crate::status::Status;
use crate::subtask::{SubtaskAction, SubtaskId, SubtaskStatus};

/// Why a command was refused. The task it was applied to is unchanged.
///
/// Each variant carries the facts a caller needs to act on it: the status
/// the task was in, what was tried, and what would have been allowed.
///
/// # What a task refuses
///
/// What a task refuses: the errors of its decisions and of its replay.
///
/// - [`Rejection`]: a command was refused. An expected outcome that every
///   caller handles; the record is exactly as it was. Relaunches refused
///   say why with a [`RelaunchRefusal`]; argument values refused carry an
///   [`ArgumentError`].
/// - [`ReplayError`]: a history does not rebuild a valid task.
///
/// The other errors sit beside what they refuse:
/// [`ParseStatusError`](crate::ParseStatusError) and
/// [`ParseActionError`](crate::ParseActionError) beside the vocabularies,
/// [`ArgumentError`] beside the argument specs,
/// [`StoreError`](crate::store::StoreError) beside the store contract.
///
/// Messages are lowercase, without trailing punctuation.
///
/// # Example
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// use taskstate::Rejection;
///
/// task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?;
/// // A cancelled task absorbs: no move leaves it, and the record is unchanged.
/// let before = task.clone();
/// let rejection = task.apply(Command::Accelerate, Actor::customer("alice"), now).err().ok_or("accepted")?;
/// assert!(matches!(&rejection, Rejection::IllegalMove { status: Status::Cancelled, legal, .. } if legal.is_empty()));
/// assert_eq!(rejection.to_string(), "cannot accelerate a cancelled task (legal: none)");
/// assert_eq!(task, before);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No row of the table leads from `status` by `action`.
    #[error("cannot {action} a {status} task (legal: {})", list(legal))]
    IllegalMove {
        /// The task's status.
        status: Status,
        /// What was tried.
        action: Action,
        /// The actions that do leave `status`, for some role.
        legal: Vec<Action>,
    },
    /// The row exists, but not for this actor's role.
    #[error("a {role} may not {action} a {status} task (allowed: {allowed})")]
    RoleNotAllowed {
        /// The task's status.
        status: Status,
        /// What was tried.
        action: Action,
        /// The role that tried.
        role: Role,
        /// The roles that may.
        allowed: RoleSet,
    },
    /// A customer acted on a task that another owner owns.
    #[error("customer {actor} does not own this task")]
    NotOwner {
        /// The owner the customer acted as.
        actor: String,
        /// What was tried.
        action: Action,
    },
    /// The command's lease token is not the current one: its run was
    /// stalled, requeued or finished, and perhaps started again.
    #[error(
        "{action} with a stale lease token {} (current: {})",
        opt(presented),
        opt(current)
    )]
    StaleLease {
        /// What was tried.
        action: Action,
        /// The token the command carried, if any.
        presented: Option<LeaseToken>,
        /// The task's current token, if it is leased.
        current: Option<LeaseToken>,
    },
    /// `mark_stalled` before the lease ran out.
    #[error("the lease is still valid until {expires_at}")]
    LeaseActive {
        /// When the lease runs out.
        expires_at: DateTime<Utc>,
    },
    /// `start` before the task's `todo_at`.
    #[error("the task is not due until {todo_at}")]
    NotDue {
        /// When the task is due.
        todo_at: DateTime<Utc>,
    },
    /// `accelerate` on a task that is already due.
    #[error("the task is already due")]
    AlreadyDue,
    /// A cancel was already requested on this run.
    #[error("a cancel was already requested at {requested_at}")]
    CancelAlreadyRequested {
        /// When it was requested.
        requested_at: DateTime<Utc>,
    },
    /// `acknowledge_cancel` when no cancel was requested.
    #[error("no cancel was requested")]
    CancelNotRequested,
    /// The task kind's rules refuse this move to this role.
    #[error("the rules of kind {kind} refuse to let a {role} {action} a {status} task ({rule})")]
    RefusedByRule {
        /// The kind's name.
        kind: String,
        /// The rule that refused.
        rule: RuleName,
        /// What was tried.
        action: Action,
        /// The task's status.
        status: Status,
        /// The role that tried.
        role: Role,
    },
    /// A run handle was used on another task than the one it was issued
    /// for.
    #[error("this handle belongs to task {handle}, not {task}")]
    WrongTask {
        /// The task the handle was issued for.
        handle: TaskId,
        /// The task it was used on.
        task: TaskId,
    },
    /// An argument value is refused: the key and the problem.
    #[error(transparent)]
    InvalidArgument(#[from] ArgumentError),
    /// A relaunch is refused, for the reason given.
    #[error("cannot relaunch: {reason}")]
    CannotRelaunch {
        /// Why.
        reason: RelaunchRefusal,
    },
    /// An edit of a failed task's arguments is refused: the customer could
    /// not relaunch it anyway.
    #[error("cannot correct this task: {reason}")]
    CannotCorrect {
        /// Why a relaunch, and so a correction, is out of reach.
        reason: RelaunchRefusal,
    },
    /// `retry` on a failure whose follow-up is not a retry.
    #[error("no retry is scheduled (follow-up: {})", shown(follow_up))]
    NoRetryScheduled {
        /// What follows the failure instead, if known.
        follow_up: Option<FollowUp>,
    },
    /// `retry` before its time.
    #[error("the retry is not due until {at}")]
    RetryNotDue {
        /// When it is due.
        at: DateTime<Utc>,
    },
    /// The subtask table has no such move for the subtask's status.
    #[error("cannot {action} subtask {subtask}: it is {status}")]
    IllegalSubtaskMove {
        /// The subtask.
        subtask: SubtaskId,
        /// Its status.
        status: SubtaskStatus,
        /// What was tried.
        action: SubtaskAction,
    },
    /// Required subtasks are not satisfied: the task (or, when `subtask`
    /// is set, that subtask) cannot succeed yet.
    #[error("{remaining} required subtasks are not satisfied")]
    SubtasksUnsatisfied {
        /// The subtask that tried to succeed, if not the task itself.
        subtask: Option<SubtaskId>,
        /// How many required (child) subtasks are not satisfied.
        remaining: u32,
    },
    /// A field of the command is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, as a path into the command (`lease_until`,
        /// `failure.code`, `resource.id`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl Rejection {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Rejection::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}

/// Why a relaunch is refused: what a UI shows next to a disabled
/// "relaunch" button.
///
/// # Example
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, Command, Failure, IdGenerator, NamedKind, NewTask, Owner, RelaunchRules, ResourceRef, Rules, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// use taskstate::{RelaunchRefusal, Rejection};
///
/// let kind = NamedKind::with_rules("DomainCreate", Rules::new().relaunch(RelaunchRules::OPERATORS_ONLY));
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// run.fail(&mut task, Failure::customer("DOCUMENT_MISSING", "a document is missing", now), now)?;
/// let refused = task.apply(Command::relaunch(), Actor::customer("alice"), now);
/// assert!(matches!(refused, Err(Rejection::CannotRelaunch { reason: RelaunchRefusal::OperatorsOnly })));
/// // What a UI shows beside the disabled button:
/// assert_eq!(RelaunchRefusal::OperatorsOnly.to_string(), "only an operator may relaunch tasks of this kind");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RelaunchRefusal {
    /// The kind has its own route for this (VMware's credential tasks): a
    /// relaunch must carry argument values.
    #[error("{reason}")]
    DedicatedRoute {
        /// The kind's explanation.
        reason: String,
    },
    /// The kind lets only operators relaunch.
    #[error("only an operator may relaunch tasks of this kind")]
    OperatorsOnly,
    /// The failure is the provider's: the system retries it, or it was
    /// escalated to support.
    #[error("the failure is on the provider's side: it is retried automatically or escalated")]
    ProviderFailure,
    /// The failure was classified as final.
    #[error("the failure is final")]
    Final,
    /// The customer's relaunches are spent.
    #[error("the relaunches allowed ({max}) are spent")]
    BudgetSpent {
        /// How many the customer made.
        used: u32,
        /// How many the kind allows.
        max: u32,
    },
    /// Flagged arguments have not been corrected since the failure.
    #[error("correct {} first", keys.join(", "))]
    Uncorrected {
        /// The keys still to correct.
        keys: Vec<String>,
    },
}

fn list(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "none".to_owned();
    }
    actions
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn opt(token: &Option<LeaseToken>) -> String {
    shown(token)
}

/// An optional value as a message shows it: the value, or `none`.
fn shown<T: std::fmt::Display>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map_or_else(|| "none".to_owned(), ToString::to_string)
}

/// Why a log does not rebuild a task, or a record disagrees with its log.
///
/// # Example
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// use taskstate::ReplayError;
///
/// let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// let cancelled = task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?.ok_or("not logged")?;
/// // The same event saved twice: version 3 is missing.
/// let log = vec![created, cancelled.clone(), cancelled];
/// let error = Task::replay(&log).err().ok_or("replayed")?;
/// assert_eq!(error, ReplayError::VersionGap { expected: 3, found: 2 });
/// assert_eq!(error.to_string(), "event version 2 where 3 was expected");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The log has no event.
    #[error("the log is empty")]
    Empty,
    /// The first event is not a `create`.
    #[error("the first event is {action}, not create")]
    NotCreatedFirst {
        /// The first event's action.
        action: Action,
    },
    /// A `create` after the first event.
    #[error("event {version} creates the task again")]
    CreatedTwice {
        /// The event's version.
        version: u64,
    },
    /// Versions do not count up from 1 by one per event and one per
    /// heartbeat the event says came before it.
    #[error("event version {found} where {expected} was expected")]
    VersionGap {
        /// The version the event should have.
        expected: u64,
        /// The version it has.
        found: u64,
    },
    /// The event's recorded `from` or `to` is not what the table gives.
    #[error(
        "event {version} records {} -> {recorded_to} but the table gives {} -> {actual_to}",
        shown(recorded_from),
        shown(actual_from)
    )]
    Inconsistent {
        /// The event's version.
        version: u64,
        /// The `from` the event records.
        recorded_from: Option<Status>,
        /// The `to` the event records.
        recorded_to: Status,
        /// The status the task was in.
        actual_from: Option<Status>,
        /// Where the table leads.
        actual_to: Status,
    },
    /// The event is not a legal move from the task's state, under the
    /// task's rules.
    #[error("event {version} is not a legal move")]
    Illegal {
        /// The event's version.
        version: u64,
        /// Why the task refuses it.
        #[source]
        rejection: Rejection,
    },
    /// The event records a decision (a failure's follow-up, a counted
    /// attempt, replaced values) that the rules and the state do not
    /// produce.
    #[error(
        "event {version} records {} but the task decides {}",
        shown(recorded),
        shown(decided)
    )]
    Undecided {
        /// The event's version.
        version: u64,
        /// What the event records.
        recorded: Option<Box<Decision>>,
        /// What the task decides.
        decided: Option<Box<Decision>>,
    },
    /// A failure recorded with another origin than its kind's rules give it.
    #[error("event {version} records a {recorded} failure but the rules classify it {decided}")]
    Misclassified {
        /// The event's version.
        version: u64,
        /// The origin the event records.
        recorded: Origin,
        /// The origin the rules give.
        decided: Origin,
    },
    /// A heartbeat in a log: heartbeats are lease state and never logged.
    #[error("event {version} is a heartbeat, which a log never holds")]
    Heartbeat {
        /// The event's version.
        version: u64,
    },
    /// A record differs from what its log rebuilds.
    #[error("the record's {field} differs from what its log rebuilds")]
    Diverged {
        /// The first field that differs.
        field: &'static str,
    },
}
