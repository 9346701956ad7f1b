//! A model-based property test of the whole lifecycle.
//!
//! `Model` below is a deliberately simple reference model of one task,
//! written from the documentation (the README, `docs/table.md`, the
//! rustdoc of `command`, `rules`, `failure`, `status`, `actor`, `subtask`
//! and `task`) as plain `match` arms. It never consults the crate's
//! transition table (`table::*`) or its derived answers (`Task::check`,
//! `can_*`): those are among what it checks. It covers the statuses, who
//! may do what, leases and their fencing tokens, due times and
//! acceleration, cancel rules and cancel requests, failure classification,
//! counted attempts, the retry schedule and escalation, corrections of
//! arguments, relaunch rules and budgets, requeues, resolutions, comments
//! and flat subtasks.
//!
//! `the_task_follows_the_reference_model` drives a real [`Task`] and the
//! model with the same random kind (cancel, accelerate and edit rules,
//! relaunch rules and budget, retry policy, failure classification,
//! argument specs, subtasks and their policy) and the same random sequence
//! of 20 to 60 steps: a command of any [`Command`] variant, from the
//! owner, another customer, an operator or the system, after a random
//! (sometimes negative) time advance, with the lease token of the current
//! run, of an earlier one, or made up. The system's executor moves with
//! the current token go, every other step, through the [`Run`] handle
//! that `start` returned (a handle whose run was stalled keeps being
//! used, and must be refused as stale); the other steps through
//! [`Task::apply`]. The driver keeps the task's log itself, as a store
//! does. After every step it compares:
//!
//! - accepted or rejected, and for a rejection by owner, lease token,
//!   table or role the kind of rejection; `Task::check` must agree with
//!   `Task::apply`, and `Run::rebuild` with the model on whether the
//!   presented token holds the task;
//! - the status and the observable record: version, runs, attempts,
//!   relaunches, the lease (which token holds it, its deadline, worker,
//!   check time, progress note and heartbeats since the last event),
//!   `todo_at`, cancel request, `done_at`, `updated_at`, resolution,
//!   warnings, comment, the failure's origin and follow-up, the fields to
//!   correct, arguments, subtasks, and `next_wakeup`;
//! - the event an accepted command returns (none for a heartbeat, which
//!   is lease state): its version, the heartbeats it counts, time, actor,
//!   move, action and effect;
//! - the derived answers (`can_cancel`, `can_accelerate`, `can_relaunch`,
//!   `can_relaunch_once_corrected`, `relaunch_rejection`, `can_edit`,
//!   `can_mark_stalled`, `is_escalated`, `next_retry_at`,
//!   `attempts_left`) for every party;
//!
//! and it checks that a rejected command leaves the whole record equal to
//! before, that an accepted one bumps the version by exactly one, that
//! nothing accepted moves a `done` or `cancelled` task, and at the end
//! that the log checks against the record (`Task::check_log`) and, when
//! no heartbeat of the current run changed the lease beyond what the log
//! keeps, replays to exactly the record.
//!
//! On a disagreement the message names the step and lists the steps so
//! far, one a line, with what the model said of each; proptest shrinks
//! the sequence (steps it does not need become idle ones).
//! `the_sequences_reach_every_move` checks that the generator is worth
//! its cases: a fixed sample of sequences takes every row of the table,
//! reaches every follow-up and every refusal the model knows, and carries
//! every executor move through the run's handle, accepted and refused as
//! stale.
//!
//! More cases: `PROPTEST_CASES=50000 cargo test --test model`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use taskstate::{
    Actor, AggregatePolicy, ArgumentSpec, ArgumentValue, Arguments, CancelRules, CodeMatch,
    Command, Decision, Event, Failure, FailureRule, FollowUp, IdGenerator, LeaseToken, NamedKind,
    NewSubtask, NewTask, OnFailure, Origin, Outcome, Owner, Pause, Refused, Rejection,
    RelaunchRules, Resolution, ResourceRef, RetryPolicy, Role, RoleSet, Rules, Run, Status,
    StatusSet, SubtaskChange, SubtaskStatus, Task, Wakeup, WakeupReason,
};

use common::t;
use taskstate::ESCALATION_NOTICE;

// ---------------------------------------------------------------------
// The generated kind
// ---------------------------------------------------------------------

/// Which cancel rules the kind has (the `CancelRules` constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CancelChoice {
    Standard,
    StandardWithRunning,
    PendingOnly,
    RunningOnly,
    FailedOnly,
    Never,
}

/// Who may accelerate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AccelerateChoice {
    People,
    OperatorsOnly,
    Nobody,
}

/// In which statuses arguments may be edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EditChoice {
    Failed,
    PendingAndFailed,
    Pending,
    Nowhere,
}

/// The kind's failure classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailureChoice {
    /// No rule: a failure keeps its origin; customer ones await
    /// correction, provider ones are retried.
    Default,
    /// `INFRA_*` is the provider's and retried without counting.
    InfraUncounted,
    /// `FATAL` is the customer's and final.
    FatalFinal,
    /// `BAD_DATA` keeps its origin and is retried; `INFRA_*` retried
    /// uncounted; `FATAL*` provider and final; anything else customer,
    /// awaiting correction.
    Mixed,
}

/// A kind: the rule combination and what its tasks start with.
#[derive(Clone, Debug)]
struct KindSpec {
    cancel: CancelChoice,
    accelerate: AccelerateChoice,
    edit: EditChoice,
    customer_relaunch: bool,
    provider_failures: bool,
    max_relaunches: u32,
    require_corrections: bool,
    dedicated_route: bool,
    retry_initial_secs: u64,
    max_attempts: u32,
    failures: FailureChoice,
    /// Whether the kind declares arguments (a read-only required
    /// `domain`, a correctable optional `legitimacyAfnic`, a required
    /// integer `duration` from 1 to 10).
    arguments: bool,
    /// Whether the task starts with a `legitimacyAfnic` value.
    with_afnic: bool,
    /// The task's subtasks, flat: `true` for an optional one.
    subtasks: Vec<bool>,
    settle_all: bool,
    /// Seconds after creation before which the task may not start.
    todo_in: Option<i64>,
    /// Whether the system (rather than the owner) creates the task.
    created_by_system: bool,
}

const RETRY_MAX_DELAY_SECS: u64 = 300;
const AFNIC: &str = "legitimacyAfnic";
const DURATION: &str = "duration";
const DOMAIN: &str = "domain";

impl KindSpec {
    fn rules(&self) -> Rules {
        let cancel = match self.cancel {
            CancelChoice::Standard => CancelRules::STANDARD,
            CancelChoice::StandardWithRunning => CancelRules::STANDARD.with_running(),
            CancelChoice::PendingOnly => CancelRules::PENDING_ONLY,
            CancelChoice::RunningOnly => CancelRules::RUNNING_ONLY,
            CancelChoice::FailedOnly => CancelRules::FAILED_ONLY,
            CancelChoice::Never => CancelRules::NEVER,
        };
        let accelerate = match self.accelerate {
            AccelerateChoice::People => RoleSet::of(&[Role::Customer, Role::Operator]),
            AccelerateChoice::OperatorsOnly => RoleSet::of(&[Role::Operator]),
            AccelerateChoice::Nobody => RoleSet::EMPTY,
        };
        let edit = match self.edit {
            EditChoice::Failed => StatusSet::of(&[Status::Failed]),
            EditChoice::PendingAndFailed => StatusSet::of(&[Status::Pending, Status::Failed]),
            EditChoice::Pending => StatusSet::of(&[Status::Pending]),
            EditChoice::Nowhere => StatusSet::EMPTY,
        };
        let mut relaunch = if self.dedicated_route {
            RelaunchRules::dedicated_route("use the dedicated route with a new spec")
        } else {
            RelaunchRules::STANDARD
        };
        relaunch.customer = self.customer_relaunch;
        relaunch.provider_failures = self.provider_failures;
        relaunch.max = self.max_relaunches;
        relaunch.require_corrections = self.require_corrections;
        let retry = RetryPolicy::STANDARD
            .initial_delay_secs(self.retry_initial_secs)
            .multiplier(2.0)
            .max_delay_secs(RETRY_MAX_DELAY_SECS)
            .max_attempts(self.max_attempts)
            .jitter(0.0);
        let failures: Vec<FailureRule> = match self.failures {
            FailureChoice::Default => vec![],
            FailureChoice::InfraUncounted => vec![FailureRule::prefix(
                "INFRA_",
                Origin::Provider,
                OnFailure::RetryUncounted,
            )],
            FailureChoice::FatalFinal => {
                vec![FailureRule::exact(
                    "FATAL",
                    Origin::Customer,
                    OnFailure::Final,
                )]
            }
            FailureChoice::Mixed => vec![
                FailureRule {
                    code: CodeMatch::Exact(Cow::Borrowed("BAD_DATA")),
                    origin: None,
                    then: OnFailure::Retry,
                },
                FailureRule::prefix("INFRA_", Origin::Provider, OnFailure::RetryUncounted),
                FailureRule::prefix("FATAL", Origin::Provider, OnFailure::Final),
                FailureRule {
                    code: CodeMatch::Any,
                    origin: Some(Origin::Customer),
                    then: OnFailure::AwaitCorrection,
                },
            ],
        };
        Rules::new()
            .cancel(cancel)
            .accelerate(accelerate)
            .edit(edit)
            .relaunch(relaunch)
            .retry(retry)
            .failures(failures)
            .subtasks(if self.settle_all {
                AggregatePolicy::SettleAll
            } else {
                AggregatePolicy::FailFast
            })
    }

    fn kind(&self) -> NamedKind {
        let mut kind = NamedKind::with_rules("DomainCreate", self.rules());
        if self.arguments {
            kind = kind
                .argument(ArgumentSpec::text(DOMAIN, 1, 255).read_only().required())
                .argument(ArgumentSpec::text(AFNIC, 5, 50))
                .argument(ArgumentSpec::integer(DURATION, 1, 10).required());
        }
        kind
    }

    fn new_task(&self) -> NewTask<NamedKind> {
        let mut new = NewTask::new(
            IdGenerator::seeded(7).next_id(t(0)),
            self.kind(),
            Owner::new("alice"),
            ResourceRef::new("domain", "example.fr"),
        );
        if self.arguments {
            new = new.argument(DOMAIN, "example.fr").argument(DURATION, 1i64);
            if self.with_afnic {
                new = new.argument(AFNIC, "the first justification");
            }
        }
        for (i, optional) in self.subtasks.iter().enumerate() {
            let subtask = NewSubtask::new(format!("step{i}"), "a step");
            new = new.subtask(if *optional {
                subtask.optional()
            } else {
                subtask
            });
        }
        if let Some(secs) = self.todo_in {
            new = new.todo_at(t(secs));
        }
        new
    }
}

// ---------------------------------------------------------------------
// The generated steps
// ---------------------------------------------------------------------

/// Who issues a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// alice, the owner.
    Owner,
    /// mallory, a customer who does not own the task.
    OtherCustomer,
    /// bob, an operator.
    Operator,
    System,
}

impl Who {
    fn actor(self) -> Actor {
        match self {
            Who::Owner => common::alice(),
            Who::OtherCustomer => common::mallory(),
            Who::Operator => common::bob(),
            Who::System => Actor::System,
        }
    }

    fn role(self) -> Role {
        match self {
            Who::Owner | Who::OtherCustomer => Role::Customer,
            Who::Operator => Role::Operator,
            Who::System => Role::System,
        }
    }
}

/// Which lease token an executor command presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    /// The token of the latest run started (0 if none).
    Current,
    /// The token of the run before it (0 if none): stale.
    Previous,
    /// A token no run ever had.
    Bogus,
}

/// An argument key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Afnic,
    Duration,
    Domain,
    Unknown,
}

impl Key {
    fn as_str(self) -> &'static str {
        match self {
            Key::Afnic => AFNIC,
            Key::Duration => DURATION,
            Key::Domain => DOMAIN,
            Key::Unknown => "nickname",
        }
    }
}

/// An argument value, by what it is worth for its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    /// Fits the key's spec.
    Good,
    /// Out of the key's bounds or of the wrong type.
    Bad,
    /// No value: clears the argument.
    Clear,
}

fn value_of(key: Key, val: Val) -> Option<ArgumentValue> {
    match (key, val) {
        (_, Val::Clear) => None,
        (Key::Afnic, Val::Good) => Some("official tourist office".into()),
        (Key::Afnic, Val::Bad) => Some("ab".into()),
        (Key::Duration, Val::Good) => Some(3i64.into()),
        (Key::Duration, Val::Bad) => Some(42i64.into()),
        (Key::Domain, Val::Good) => Some("example.com".into()),
        (Key::Domain, Val::Bad) => Some(1i64.into()),
        (Key::Unknown, _) => Some("x".into()),
    }
}

/// A failure code; the kind's classification reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    BadData,
    RegistryDown,
    InfraTimeout,
    Fatal,
    Empty,
}

impl Code {
    fn as_str(self) -> &'static str {
        match self {
            Code::BadData => "BAD_DATA",
            Code::RegistryDown => "REGISTRY_DOWN",
            Code::InfraTimeout => "INFRA_TIMEOUT",
            Code::Fatal => "FATAL",
            Code::Empty => "",
        }
    }
}

/// What a subtask step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Start,
    Succeed,
    /// Fail with one error, or (`false`) with none.
    Fail(bool),
    Skip,
    NotApplicable,
    Cancel,
}

/// A command, in the terms of the generator. Durations are seconds after
/// the step's time.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cmd {
    /// Nothing is issued; only time passes. Listed first, so that
    /// shrinking turns the steps a failure does not need into idle ones.
    Idle,
    Create,
    Start {
        lease: i64,
    },
    /// A heartbeat: with a progress note (`check: None`, as
    /// `Run::heartbeat` sends it) or moving the time to check again (as
    /// `Run::check_later` sends it, without a note).
    Heartbeat {
        token: Tok,
        lease: i64,
        check: Option<i64>,
    },
    Wait {
        token: Tok,
        until: i64,
        check: Option<i64>,
    },
    Resume {
        token: Tok,
        lease: i64,
    },
    Complete {
        token: Tok,
    },
    Fail {
        token: Option<Tok>,
        origin: Origin,
        code: Code,
        flags: Vec<Key>,
    },
    Cancel,
    AcknowledgeCancel {
        token: Tok,
    },
    MarkStalled,
    Requeue {
        later: Option<i64>,
    },
    Accelerate,
    SetArgument {
        key: Key,
        value: Val,
    },
    Relaunch {
        corrections: Vec<(Key, Val)>,
    },
    Retry,
    Subtask {
        token: Tok,
        id: u32,
        change: Change,
    },
    AddSubtask {
        token: Tok,
        optional: bool,
        named: bool,
    },
    ReportProgress {
        token: Tok,
        steps: Option<(u32, u32)>,
    },
    Resolve,
}

impl Cmd {
    /// The lease token the command presents, if it presents one.
    fn token(&self) -> Option<Tok> {
        match self {
            Cmd::Heartbeat { token, .. }
            | Cmd::Wait { token, .. }
            | Cmd::Resume { token, .. }
            | Cmd::Complete { token }
            | Cmd::AcknowledgeCancel { token }
            | Cmd::Subtask { token, .. }
            | Cmd::AddSubtask { token, .. }
            | Cmd::ReportProgress { token, .. } => Some(*token),
            Cmd::Fail { token, .. } => *token,
            Cmd::Idle
            | Cmd::Create
            | Cmd::Start { .. }
            | Cmd::Cancel
            | Cmd::MarkStalled
            | Cmd::Requeue { .. }
            | Cmd::Accelerate
            | Cmd::SetArgument { .. }
            | Cmd::Relaunch { .. }
            | Cmd::Retry
            | Cmd::Resolve => None,
        }
    }
}

/// One step: wait `after` seconds (negative: a clock behind), then `who`
/// issues `cmd`.
#[derive(Clone)]
struct Step {
    after: i64,
    who: Who,
    cmd: Cmd,
}

/// One line per step, so that proptest's report of a minimal sequence
/// reads as a script: `+30s System: Start { lease: 60 }`.
impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cmd == Cmd::Idle {
            return write!(f, "{:+}s (idle)", self.after);
        }
        write!(f, "{:+}s {:?}: {:?}", self.after, self.who, self.cmd)
    }
}

// ---------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------

/// Why the model refuses a command, coarsely: the stages that the
/// implementation reports with their own rejection variants, then
/// anything else with a short reason for the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    NotOwner,
    NoSuchMove,
    RoleNotAllowed,
    Refused(&'static str),
}

/// The failure of a failed task, as the model keeps it.
#[derive(Clone, Debug, PartialEq)]
struct ModelFailure {
    origin: Origin,
    follow_up: FollowUp,
    /// The flagged keys, in the failure's order.
    flagged: Vec<String>,
    /// Keys set to a value since the failure.
    corrected: BTreeSet<String>,
}

/// The current run's lease, as the model keeps it.
#[derive(Clone, Debug, PartialEq)]
struct ModelLease {
    token: u64,
    /// The deadline.
    until: DateTime<Utc>,
    /// While waiting: when to look again.
    check_at: Option<DateTime<Utc>>,
    /// Whether the latest heartbeat's progress note is held (until the
    /// next logged event that sets a comment).
    note: bool,
    /// Heartbeats accepted since the last logged event.
    heartbeats: u32,
    /// Whether a heartbeat of this run changed the lease: the log then
    /// rebuilds the record only up to what heartbeats change.
    beaten: bool,
}

/// The reference model of one task.
#[derive(Clone, Debug)]
struct Model {
    kind: KindSpec,
    status: Status,
    version: u64,
    todo_at: Option<DateTime<Utc>>,
    /// The current run's lease, while running or waiting.
    lease: Option<ModelLease>,
    /// When a cancel was requested on the current run.
    cancel_requested: Option<DateTime<Utc>>,
    runs: u32,
    attempts: u32,
    relaunches: u32,
    arguments: BTreeMap<String, ArgumentValue>,
    failure: Option<ModelFailure>,
    /// Each subtask: optional, and its status.
    subtasks: Vec<(bool, SubtaskStatus)>,
    /// Every token issued, oldest first.
    tokens: Vec<u64>,
    /// The status message the last logged event left (see [`Comment`]);
    /// a heartbeat's note shows instead while the lease holds it.
    comment: Comment,
    /// When the task settled, while it is settled.
    done_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    resolution: Option<Resolution>,
    /// Warnings of the current run: one per optional subtask that failed
    /// or was cancelled.
    warnings: usize,
}

/// The status message: the messages that, by the commands' docs,
/// "become the task's comment"; an escalated failure's comment is its
/// message followed by the escalation notice. A heartbeat's progress
/// note is lease state: it shows until the next logged event that sets a
/// comment, or until the lease ends, and then the comment of the last
/// event shows again.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Comment {
    None,
    Exact(&'static str),
    Escalated(&'static str),
}

impl Comment {
    fn matches(&self, actual: Option<&str>) -> bool {
        match (self, actual) {
            (Comment::None, None) => true,
            (Comment::Exact(text), Some(actual)) => actual == *text,
            (Comment::Escalated(message), Some(actual)) => {
                actual.starts_with(message) && actual.ends_with(ESCALATION_NOTICE)
            }
            _ => false,
        }
    }
}

const PROGRESS: &str = "still working";
const WAIT_REASON: &str = "waiting for the registry";
const OUTCOME: &str = "registered";
const FAILURE_MESSAGE: &str = "it went wrong";
const CANCEL_REASON: &str = "no longer needed";

const ANYONE: &[Role] = &[Role::Customer, Role::Operator, Role::System];
const PEOPLE: &[Role] = &[Role::Customer, Role::Operator];
const STAFF: &[Role] = &[Role::Operator, Role::System];
const SYSTEM: &[Role] = &[Role::System];
const OPERATOR: &[Role] = &[Role::Operator];

impl Model {
    fn new(kind: &KindSpec) -> Model {
        let mut arguments = BTreeMap::new();
        if kind.arguments {
            arguments.insert(DOMAIN.to_owned(), "example.fr".into());
            arguments.insert(DURATION.to_owned(), 1i64.into());
            if kind.with_afnic {
                arguments.insert(AFNIC.to_owned(), "the first justification".into());
            }
        }
        Model {
            kind: kind.clone(),
            status: Status::Pending,
            version: 1,
            todo_at: kind.todo_in.map(t),
            lease: None,
            cancel_requested: None,
            runs: 0,
            attempts: 0,
            relaunches: 0,
            arguments,
            failure: None,
            subtasks: kind
                .subtasks
                .iter()
                .map(|optional| (*optional, SubtaskStatus::Pending))
                .collect(),
            tokens: Vec::new(),
            comment: Comment::None,
            done_at: None,
            updated_at: t(0),
            resolution: None,
            warnings: 0,
        }
    }

    fn token(&self, tok: Tok) -> u64 {
        let n = self.tokens.len();
        match tok {
            Tok::Current => n.checked_sub(1).map_or(0, |i| self.tokens[i]),
            Tok::Previous => n.checked_sub(2).map_or(0, |i| self.tokens[i]),
            Tok::Bogus => 10_000,
        }
    }

    fn holds(&self, tok: Tok) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|lease| lease.token == self.token(tok))
    }

    /// The comment the task shows: the lease's progress note while it
    /// holds one, else the last event's.
    fn shown_comment(&self) -> Comment {
        if self.lease.as_ref().is_some_and(|lease| lease.note) {
            Comment::Exact(PROGRESS)
        } else {
            self.comment.clone()
        }
    }

    /// When the task next needs anyone, by `next_wakeup`'s docs: a
    /// pending task at its `todo_at` (or from its creation), a running
    /// one when its lease runs out, a waiting one at its check time if
    /// that comes before its deadline, a stalled one since it stalled, a
    /// failed one at its retry time; done and cancelled ones never.
    fn wakeup(&self) -> Option<Wakeup> {
        let wakeup = |at, reason| Some(Wakeup { at, reason });
        match self.status {
            Status::Pending => wakeup(self.todo_at.unwrap_or(t(0)), WakeupReason::Start),
            Status::Running => {
                let lease = self.lease.as_ref()?;
                wakeup(lease.until, WakeupReason::LeaseExpiry)
            }
            Status::Waiting => {
                let lease = self.lease.as_ref()?;
                match lease.check_at {
                    Some(at) if at < lease.until => wakeup(at, WakeupReason::Check),
                    _ => wakeup(lease.until, WakeupReason::LeaseExpiry),
                }
            }
            Status::Stalled => wakeup(self.updated_at, WakeupReason::Requeue),
            Status::Failed => match self.failure.as_ref()?.follow_up {
                FollowUp::Retry { at } => wakeup(at, WakeupReason::Retry),
                _ => None,
            },
            Status::Done | Status::Cancelled => None,
        }
    }

    /// The cancel rules, as `CancelRules`' docs state each constant.
    fn may_cancel(&self, role: Role, status: Status) -> bool {
        use Status::*;
        let customer = role == Role::Customer;
        match self.kind.cancel {
            CancelChoice::Standard => match status {
                Pending | Failed => true,
                Stalled => !customer,
                _ => false,
            },
            CancelChoice::StandardWithRunning => match status {
                Pending | Failed | Running | Waiting => true,
                Stalled => !customer,
                _ => false,
            },
            CancelChoice::PendingOnly => status == Pending,
            CancelChoice::RunningOnly => matches!(status, Running | Waiting),
            CancelChoice::FailedOnly => status == Failed,
            CancelChoice::Never => false,
        }
    }

    fn may_accelerate(&self, role: Role) -> bool {
        match self.kind.accelerate {
            AccelerateChoice::People => role != Role::System,
            AccelerateChoice::OperatorsOnly => role == Role::Operator,
            AccelerateChoice::Nobody => false,
        }
    }

    fn edits_in(&self, status: Status) -> bool {
        match self.kind.edit {
            EditChoice::Failed => status == Status::Failed,
            EditChoice::PendingAndFailed => matches!(status, Status::Pending | Status::Failed),
            EditChoice::Pending => status == Status::Pending,
            EditChoice::Nowhere => false,
        }
    }

    /// Whether `value` fits the spec of `key` (type and bounds).
    fn fits(key: &str, value: &ArgumentValue) -> bool {
        match (key, value) {
            (DOMAIN, ArgumentValue::Text(text)) => (1..=255).contains(&text.chars().count()),
            (AFNIC, ArgumentValue::Text(text)) => (5..=50).contains(&text.chars().count()),
            (DURATION, ArgumentValue::Integer(n)) => (1..=10).contains(n),
            _ => false,
        }
    }

    /// Whether `key` may be set to `value` (`None` clears it): a declared,
    /// editable argument, a value that fits, and no required one cleared.
    fn edit_ok(&self, key: &str, value: Option<&ArgumentValue>) -> bool {
        if !self.kind.arguments {
            return false;
        }
        match key {
            AFNIC => value.is_none_or(|value| Model::fits(key, value)),
            DURATION => value.is_some_and(|value| Model::fits(key, value)),
            // `domain` is read-only; anything else is not an argument.
            _ => false,
        }
    }

    /// Whether a failure may flag `key`: something the customer can
    /// correct (a declared argument that is not read-only).
    fn flaggable(&self, key: &str) -> bool {
        self.kind.arguments && matches!(key, AFNIC | DURATION)
    }

    /// The kind's classification of a failure, first match wins.
    fn classify(&self, origin: Origin, code: Code) -> (Origin, OnFailure) {
        let default = match origin {
            Origin::Customer => (Origin::Customer, OnFailure::AwaitCorrection),
            Origin::Provider => (Origin::Provider, OnFailure::Retry),
        };
        match (self.kind.failures, code) {
            (FailureChoice::InfraUncounted, Code::InfraTimeout) => {
                (Origin::Provider, OnFailure::RetryUncounted)
            }
            (FailureChoice::FatalFinal, Code::Fatal) => (Origin::Customer, OnFailure::Final),
            (FailureChoice::Mixed, Code::BadData) => (origin, OnFailure::Retry),
            (FailureChoice::Mixed, Code::InfraTimeout) => {
                (Origin::Provider, OnFailure::RetryUncounted)
            }
            (FailureChoice::Mixed, Code::Fatal) => (Origin::Provider, OnFailure::Final),
            (FailureChoice::Mixed, _) => (Origin::Customer, OnFailure::AwaitCorrection),
            _ => default,
        }
    }

    /// The delay before the retry after the `attempt`-th counted attempt:
    /// `min(initial × 2ⁿ⁻¹, max)`, no jitter (the kinds here have none).
    fn delay(&self, attempt: u32) -> Duration {
        let n = attempt.max(1);
        let mut secs = self.kind.retry_initial_secs;
        for _ in 1..n {
            secs = (secs * 2).min(RETRY_MAX_DELAY_SECS);
        }
        Duration::seconds(secs.min(RETRY_MAX_DELAY_SECS) as i64)
    }

    /// The flagged keys still to correct, given the keys a relaunch
    /// carries.
    fn uncorrected(&self, carried: &[String]) -> Vec<String> {
        self.failure.as_ref().map_or_else(Vec::new, |failure| {
            failure
                .flagged
                .iter()
                .filter(|key| !failure.corrected.contains(*key) && !carried.contains(key))
                .cloned()
                .collect()
        })
    }

    /// Whether the owner could relaunch the failed task by the kind's
    /// relaunch rules; with `corrections_aside`, whatever is left to
    /// correct.
    fn customer_could_relaunch(&self, carried: &[String], corrections_aside: bool) -> bool {
        let Some(failure) = &self.failure else {
            return false;
        };
        let rules = &self.kind;
        rules.customer_relaunch
            && (failure.origin == Origin::Customer || rules.provider_failures)
            && failure.follow_up != FollowUp::Final
            && self.relaunches < rules.max_relaunches
            && (corrections_aside
                || !rules.require_corrections
                || self.uncorrected(carried).is_empty())
    }

    /// Whether `who` could relaunch the failed task once its flagged
    /// arguments are corrected (OVHcloud's `canRelaunch`): the decision
    /// on a relaunch that carries a correction of every argument still to
    /// correct, and `who` may edit each of them. So: someone who may
    /// relaunch (the owner or an operator); a dedicated-route kind takes
    /// such a relaunch unless nothing is left to correct (then the
    /// relaunch would carry nothing); the owner within the relaunch rules,
    /// corrections aside; and, when something is left to correct, edits
    /// allowed in `failed` (the corrections a relaunch carries, and each
    /// edit, follow the edit rule). A relaunch possible right now also
    /// answers yes (see the caller).
    fn could_relaunch_once_corrected(&self, who: Who) -> bool {
        if self.status != Status::Failed {
            return false;
        }
        let uncorrected = self.uncorrected(&[]);
        let route = !(self.kind.dedicated_route && uncorrected.is_empty());
        let corrections = uncorrected.is_empty() || self.edits_in(Status::Failed);
        let party = match who {
            Who::Owner => self.customer_could_relaunch(&[], true),
            Who::Operator => true,
            Who::OtherCustomer | Who::System => false,
        };
        party && route && corrections
    }

    /// The target status of `cmd` in the current status and the roles
    /// that may take it: `docs/table.md`, row by row.
    fn row(&self, cmd: &Cmd) -> Option<(Status, &'static [Role])> {
        use Status::*;
        let s = self.status;
        Some(match (s, cmd) {
            (Pending, Cmd::Start { .. }) => (Running, SYSTEM),
            (Pending, Cmd::Accelerate) => (Pending, PEOPLE),
            (Pending | Failed, Cmd::SetArgument { .. }) => (s, PEOPLE),
            (Pending | Stalled | Failed, Cmd::Cancel) => (Cancelled, ANYONE),
            (Running | Waiting, Cmd::Cancel) => (s, ANYONE),
            (Running | Waiting, Cmd::Heartbeat { .. } | Cmd::ReportProgress { .. }) => (s, SYSTEM),
            (Running, Cmd::Subtask { .. } | Cmd::AddSubtask { .. }) => (Running, SYSTEM),
            (Running, Cmd::Wait { .. }) => (Waiting, SYSTEM),
            (Waiting, Cmd::Resume { .. }) => (Running, SYSTEM),
            (Running | Waiting, Cmd::Complete { .. }) => (Done, SYSTEM),
            (Running | Waiting, Cmd::Fail { .. }) => (Failed, SYSTEM),
            (Running | Waiting, Cmd::AcknowledgeCancel { .. }) => (Cancelled, SYSTEM),
            (Running | Waiting, Cmd::MarkStalled) => (Stalled, SYSTEM),
            (Stalled, Cmd::Requeue { .. }) => (Pending, STAFF),
            (Stalled, Cmd::Fail { .. }) => (Failed, STAFF),
            (Failed, Cmd::Relaunch { .. }) => (Pending, PEOPLE),
            (Failed, Cmd::Retry) => (Pending, SYSTEM),
            (Failed, Cmd::Resolve) => (Failed, OPERATOR),
            _ => return None,
        })
    }

    /// Decides `cmd` from `who` at `now`: the target status, or why not.
    fn decide(&self, cmd: &Cmd, who: Who, now: DateTime<Utc>) -> Result<Status, Why> {
        use Why::Refused;
        if who == Who::OtherCustomer {
            return Err(Why::NotOwner);
        }
        let check = |ok: bool, why: &'static str| if ok { Ok(()) } else { Err(Refused(why)) };
        // A token that is not the current lease's is stale whatever the
        // status is, before the table: its run lost the task.
        if let Some(tok) = cmd.token() {
            check(self.holds(tok), "stale lease")?;
        }
        let role = who.role();
        let (to, roles) = self.row(cmd).ok_or(Why::NoSuchMove)?;
        if !roles.contains(&role) {
            return Err(Why::RoleNotAllowed);
        }
        let after_now = |secs: i64, why| check(secs > 0, why);
        // A time to check again: after now, not after the deadline.
        let check_at = |check_secs: Option<i64>, deadline_secs: i64| match check_secs {
            Some(secs) => {
                after_now(secs, "check_at not after now")?;
                check(secs <= deadline_secs, "check_at after the deadline")
            }
            None => Ok(()),
        };
        match cmd {
            Cmd::Idle | Cmd::Create => return Err(Why::NoSuchMove),
            Cmd::Start { lease } => {
                check(self.todo_at.is_none_or(|at| at <= now), "not due")?;
                after_now(*lease, "lease_until not after now")?;
            }
            Cmd::Heartbeat {
                lease, check: at, ..
            } => {
                after_now(*lease, "lease_until not after now")?;
                // "heartbeats only extend".
                let deadline = self.lease.as_ref().map(|lease| lease.until);
                check(
                    deadline.is_none_or(|until| now + Duration::seconds(*lease) >= until),
                    "heartbeat before the deadline",
                )?;
                if at.is_some() {
                    check(self.status == Status::Waiting, "check_at on a running task")?;
                }
                check_at(*at, *lease)?;
            }
            Cmd::Resume { lease, .. } => {
                after_now(*lease, "lease_until not after now")?;
            }
            Cmd::Wait {
                until, check: at, ..
            } => {
                after_now(*until, "until not after now")?;
                check_at(*at, *until)?;
            }
            Cmd::Complete { .. } => {
                let unsatisfied = self.subtasks.iter().any(|(optional, status)| {
                    !optional
                        && !matches!(
                            status,
                            SubtaskStatus::Succeeded
                                | SubtaskStatus::Skipped
                                | SubtaskStatus::NotApplicable
                        )
                });
                check(!unsatisfied, "required subtasks unsatisfied")?;
            }
            Cmd::Fail {
                token, code, flags, ..
            } => {
                // A token was checked above (on a stalled task, which no
                // run holds, any token is stale); a running or waiting
                // task is failed by its run only.
                if self.status != Status::Stalled && token.is_none() {
                    return Err(Refused("stale lease (none presented)"));
                }
                check(*code != Code::Empty, "empty failure code")?;
                let flags_ok = flags.iter().all(|key| self.flaggable(key.as_str()));
                check(flags_ok, "flags an argument that cannot be corrected")?;
            }
            Cmd::Cancel => {
                // A stalled task's cancel request was allowed when made:
                // anyone may honour it.
                let requested = self.status == Status::Stalled && self.cancel_requested.is_some();
                check(
                    requested || self.may_cancel(role, self.status),
                    "cancel rule",
                )?;
                if self.status.is_leased() {
                    check(self.cancel_requested.is_none(), "cancel already requested")?;
                }
            }
            Cmd::AcknowledgeCancel { .. } => {
                check(self.cancel_requested.is_some(), "no cancel requested")?;
            }
            Cmd::MarkStalled => {
                let expired = self.lease.as_ref().is_some_and(|lease| lease.until <= now);
                check(expired, "lease still valid")?;
            }
            Cmd::Requeue { .. } => check(self.cancel_requested.is_none(), "cancel requested")?,
            Cmd::Accelerate => {
                check(self.may_accelerate(role), "accelerate rule")?;
                check(self.todo_at.is_some_and(|at| at > now), "already due")?;
            }
            Cmd::SetArgument { key, value } => {
                check(self.edits_in(self.status), "edit rule")?;
                if role == Role::Customer && self.status == Status::Failed {
                    check(
                        self.customer_could_relaunch(&[], true),
                        "customer could not relaunch",
                    )?;
                }
                let value = value_of(*key, *value);
                check(
                    self.edit_ok(key.as_str(), value.as_ref()),
                    "argument refused",
                )?;
            }
            Cmd::Relaunch { corrections } => {
                let carried = relaunch_arguments(corrections);
                let keys: Vec<String> = carried.keys().cloned().collect();
                check(
                    !(self.kind.dedicated_route && carried.is_empty()),
                    "dedicated route",
                )?;
                if role == Role::Customer {
                    check(self.customer_could_relaunch(&keys, false), "relaunch rules")?;
                }
                if !carried.is_empty() {
                    check(
                        self.edits_in(Status::Failed),
                        "corrections past the edit rule",
                    )?;
                    let all_ok = carried
                        .iter()
                        .all(|(key, value)| self.edit_ok(key, Some(value)));
                    check(all_ok, "correction refused")?;
                }
            }
            Cmd::Retry => {
                let due = match self.failure.as_ref().map(|f| f.follow_up) {
                    Some(FollowUp::Retry { at }) => at <= now,
                    _ => false,
                };
                check(due, "no retry due")?;
            }
            Cmd::Subtask { id, change, .. } => {
                let Some((_, status)) = self.subtasks.get(*id as usize) else {
                    return Err(Refused("no such subtask"));
                };
                check(
                    subtask_move(*status, *change).is_some(),
                    "illegal subtask move",
                )?;
                if *change == Change::Start && !self.kind.settle_all {
                    let broken = self.subtasks.iter().any(|(optional, status)| {
                        !optional
                            && matches!(status, SubtaskStatus::Failed | SubtaskStatus::Cancelled)
                    });
                    check(!broken, "fail-fast: a required subtask failed")?;
                }
                check(
                    *change != Change::Fail(false),
                    "a subtask fails with errors",
                )?;
            }
            Cmd::AddSubtask { named, .. } => {
                check(*named, "subtask without a name")?;
            }
            Cmd::ReportProgress { steps, .. } => {
                if let Some((done, total)) = steps {
                    check(self.subtasks.is_empty(), "steps of a task with subtasks")?;
                    check(done <= total, "more steps done than in all")?;
                }
            }
            Cmd::Resolve => {}
        }
        Ok(to)
    }

    /// Records an accepted `cmd`; returns the effect its event must carry
    /// (what was decided beyond the command: a failure's follow-up and
    /// whether it counted, the values a correction replaced). A heartbeat
    /// has no event: it changes the lease, the version and the time of
    /// the last change only.
    fn record(&mut self, cmd: &Cmd, who: Who, now: DateTime<Utc>, to: Status) -> Option<Decision> {
        let from = self.status;
        self.version += 1;
        let mut effect = None;
        let at = |secs: i64| now + Duration::seconds(secs);
        match cmd {
            Cmd::Start { lease } => {
                self.runs += 1;
                let token = LeaseToken::of_start(self.version, now).get();
                self.tokens.push(token);
                self.lease = Some(ModelLease {
                    token,
                    until: at(*lease),
                    check_at: None,
                    note: false,
                    heartbeats: 0,
                    beaten: false,
                });
            }
            // Lease state only: no event, nothing else changes but the
            // version and the time of the last change.
            Cmd::Heartbeat { lease, check, .. } => {
                if let Some(held) = &mut self.lease {
                    held.until = at(*lease);
                    match check {
                        Some(secs) => held.check_at = Some(at(*secs)),
                        None => held.note = true,
                    }
                    held.heartbeats += 1;
                    held.beaten = true;
                }
                self.updated_at = now;
                return None;
            }
            Cmd::Resume { lease, .. } => {
                if let Some(held) = &mut self.lease {
                    held.until = at(*lease);
                    held.check_at = None;
                }
            }
            Cmd::Wait { until, check, .. } => {
                if let Some(held) = &mut self.lease {
                    held.until = at(*until);
                    held.check_at = check.map(at);
                }
                self.comment = Comment::Exact(WAIT_REASON);
            }
            Cmd::Complete { .. } => self.comment = Comment::Exact(OUTCOME),
            Cmd::Resolve => self.resolution = Some(Resolution::Resolved),
            Cmd::Fail {
                origin,
                code,
                flags,
                ..
            } => {
                let (origin, then) = self.classify(*origin, *code);
                let counted = from.is_leased() && then != OnFailure::RetryUncounted;
                if counted {
                    self.attempts += 1;
                }
                let follow_up = if self.cancel_requested.is_some() {
                    FollowUp::Final
                } else {
                    match then {
                        OnFailure::AwaitCorrection => FollowUp::AwaitCorrection,
                        OnFailure::Final => FollowUp::Final,
                        OnFailure::Retry if self.attempts >= self.kind.max_attempts => {
                            FollowUp::Escalated
                        }
                        OnFailure::Retry | OnFailure::RetryUncounted => FollowUp::Retry {
                            at: now + self.delay(self.attempts),
                        },
                    }
                };
                self.comment = if follow_up == FollowUp::Escalated {
                    Comment::Escalated(FAILURE_MESSAGE)
                } else {
                    Comment::Exact(FAILURE_MESSAGE)
                };
                // The model's kinds keep the default escalation notice.
                let notice =
                    (follow_up == FollowUp::Escalated).then(|| ESCALATION_NOTICE.to_owned());
                effect = Some(Decision::Failed {
                    follow_up,
                    counted,
                    notice,
                });
                self.failure = Some(ModelFailure {
                    origin,
                    follow_up,
                    flagged: flags.iter().map(|key| key.as_str().to_owned()).collect(),
                    corrected: BTreeSet::new(),
                });
            }
            Cmd::Cancel => {
                if from.is_leased() {
                    self.cancel_requested = Some(now);
                }
                self.comment = Comment::Exact(CANCEL_REASON);
            }
            Cmd::Requeue { later } => {
                self.todo_at = later.map(|secs| now + Duration::seconds(secs));
            }
            Cmd::Accelerate => self.todo_at = Some(now),
            Cmd::SetArgument { key, value } => {
                let name = key.as_str().to_owned();
                let previous = match value_of(*key, *value) {
                    Some(value) => {
                        if let Some(failure) = &mut self.failure {
                            failure.corrected.insert(name.clone());
                        }
                        self.arguments.insert(name.clone(), value)
                    }
                    None => self.arguments.remove(&name),
                };
                effect = Some(Decision::Replaced {
                    previous: BTreeMap::from([(name, previous)]),
                });
            }
            Cmd::Relaunch { corrections } => {
                let carried = relaunch_arguments(corrections);
                if !carried.is_empty() {
                    let previous = carried
                        .keys()
                        .map(|key| (key.clone(), self.arguments.get(key).cloned()))
                        .collect();
                    effect = Some(Decision::Replaced { previous });
                }
                self.arguments.extend(carried);
                self.attempts = 0;
                if who.role() == Role::Customer {
                    self.relaunches += 1;
                }
                self.todo_at = None;
                // Not documented: the failure's message goes with it.
                self.comment = Comment::None;
            }
            Cmd::Retry => {
                self.todo_at = None;
                self.comment = Comment::None;
            }
            Cmd::Subtask { id, change, .. } => {
                let subtask = &mut self.subtasks[*id as usize];
                if let Some(next) = subtask_move(subtask.1, *change) {
                    subtask.1 = next;
                    if subtask.0 && matches!(next, SubtaskStatus::Failed | SubtaskStatus::Cancelled)
                    {
                        self.warnings += 1;
                    }
                }
            }
            Cmd::AddSubtask { optional, .. } => {
                self.subtasks.push((*optional, SubtaskStatus::Pending));
            }
            _ => {}
        }
        // A new run starts where the last one stopped, without the last
        // run's warnings.
        if to == Status::Pending && from != Status::Pending {
            self.warnings = 0;
            for (_, status) in &mut self.subtasks {
                if matches!(
                    status,
                    SubtaskStatus::Failed | SubtaskStatus::Cancelled | SubtaskStatus::Running
                ) {
                    *status = SubtaskStatus::Pending;
                }
            }
        }
        // A logged event counts the heartbeats before it, and one that
        // sets a comment replaces the note. Of the events that set one,
        // only a wait and a cancel request keep the lease; the others end
        // it (complete, fail) or come when there is none (cancel, relaunch,
        // retry of a task no run holds).
        let sets_comment = matches!(cmd, Cmd::Wait { .. } | Cmd::Cancel);
        if let Some(held) = &mut self.lease {
            held.heartbeats = 0;
            if sets_comment {
                held.note = false;
            }
        }
        if !to.is_leased() {
            self.lease = None;
            // A cancel request stays on a stalled task, and lapses when
            // the task settles or goes back to pending.
            if to != Status::Stalled {
                self.cancel_requested = None;
            }
        }
        if to != Status::Pending {
            self.todo_at = None;
        }
        if to != Status::Failed {
            self.failure = None;
        }
        // "When it settled": kept while it stays settled.
        if !to.is_settled() {
            self.done_at = None;
        } else if !from.is_settled() {
            self.done_at = Some(now);
        }
        // Unresolved from a failure until a later run succeeds or an
        // operator resolves it.
        if to == Status::Failed && from != Status::Failed {
            self.resolution = Some(Resolution::Unresolved);
        }
        if to == Status::Done && self.resolution.is_some() {
            self.resolution = Some(Resolution::Resolved);
        }
        self.updated_at = now;
        self.status = to;
        effect
    }
}

/// The subtask table, from `subtask`'s docs: pending starts, is skipped,
/// marked not applicable or cancelled; running succeeds, fails or is
/// cancelled.
fn subtask_move(status: SubtaskStatus, change: Change) -> Option<SubtaskStatus> {
    use SubtaskStatus as S;
    match (status, change) {
        (S::Pending, Change::Start) => Some(S::Running),
        (S::Pending, Change::Skip) => Some(S::Skipped),
        (S::Pending, Change::NotApplicable) => Some(S::NotApplicable),
        (S::Pending | S::Running, Change::Cancel) => Some(S::Cancelled),
        (S::Running, Change::Succeed) => Some(S::Succeeded),
        (S::Running, Change::Fail(_)) => Some(S::Failed),
        _ => None,
    }
}

/// The values a relaunch carries (a later value for the same key wins).
/// A `Clear` is sent as a bad value: a relaunch carries values only.
fn relaunch_arguments(corrections: &[(Key, Val)]) -> Arguments {
    corrections
        .iter()
        .map(|(key, val)| {
            let value = value_of(*key, *val)
                .or_else(|| value_of(*key, Val::Bad))
                .unwrap_or_else(|| "x".into());
            (key.as_str().to_owned(), value)
        })
        .collect()
}

// ---------------------------------------------------------------------
// Driving the implementation
// ---------------------------------------------------------------------

fn command(cmd: &Cmd, model: &Model, now: DateTime<Utc>) -> Command<NamedKind> {
    let token = |tok: Tok| LeaseToken::new(model.token(tok));
    let at = |secs: i64| now + Duration::seconds(secs);
    match cmd {
        // (An idle step issues nothing: `run` skips it before this.)
        Cmd::Idle | Cmd::Create => Command::Create(std::sync::Arc::new(model.kind.new_task())),
        Cmd::Start { lease } => Command::Start {
            lease_until: at(*lease),
            worker: Some("worker-1".into()),
        },
        // As `Run::heartbeat` (a note) or `Run::check_later` (a check
        // time, no note) send it.
        Cmd::Heartbeat {
            token: tok,
            lease,
            check,
        } => Command::Heartbeat {
            token: token(*tok),
            lease_until: at(*lease),
            progress: check.is_none().then(|| PROGRESS.into()),
            check_at: check.map(at),
        },
        Cmd::Wait {
            token: tok,
            until,
            check,
        } => Command::Wait {
            token: token(*tok),
            until: at(*until),
            check_at: check.map(at),
            reason: Some(WAIT_REASON.into()),
        },
        Cmd::Resume { token: tok, lease } => Command::Resume {
            token: token(*tok),
            lease_until: at(*lease),
        },
        Cmd::Complete { token: tok } => Command::Complete {
            token: token(*tok),
            outcome: Box::new(Outcome::new().message(OUTCOME)),
        },
        Cmd::Fail {
            token: tok,
            origin,
            code,
            flags,
        } => {
            let mut failure = Failure::new(*origin, code.as_str(), FAILURE_MESSAGE, now);
            for key in flags {
                failure = failure.flag(key.as_str());
            }
            Command::Fail {
                token: tok.map(token),
                failure: Box::new(failure),
            }
        }
        Cmd::Cancel => Command::Cancel {
            reason: Some(CANCEL_REASON.into()),
        },
        Cmd::AcknowledgeCancel { token: tok } => Command::AcknowledgeCancel { token: token(*tok) },
        Cmd::MarkStalled => Command::MarkStalled,
        Cmd::Requeue { later } => Command::Requeue {
            todo_at: later.map(at),
        },
        Cmd::Accelerate => Command::Accelerate,
        Cmd::SetArgument { key, value } => Command::SetArgument {
            key: key.as_str().to_owned(),
            value: value_of(*key, *value),
        },
        Cmd::Relaunch { corrections } => Command::Relaunch {
            arguments: relaunch_arguments(corrections),
        },
        Cmd::Retry => Command::Retry,
        Cmd::Subtask {
            token: tok,
            id,
            change,
        } => Command::Subtask {
            token: token(*tok),
            id: *id,
            change: match change {
                Change::Start => SubtaskChange::Start,
                Change::Succeed => SubtaskChange::Succeed,
                Change::Fail(with_error) => SubtaskChange::Fail {
                    errors: if *with_error {
                        vec![Failure::provider("STEP_FAILED", "the step failed", now)]
                    } else {
                        vec![]
                    },
                },
                Change::Skip => SubtaskChange::Skip,
                Change::NotApplicable => SubtaskChange::MarkNotApplicable,
                Change::Cancel => SubtaskChange::Cancel,
            },
        },
        Cmd::AddSubtask {
            token: tok,
            optional,
            named,
        } => {
            let subtask = NewSubtask::new(if *named { "extra" } else { "" }, "added");
            Command::AddSubtask {
                token: token(*tok),
                subtask: if *optional {
                    subtask.optional()
                } else {
                    subtask
                },
            }
        }
        // As `Run::report_steps` (steps and the current one) or
        // `Run::expect_done_at` send it.
        Cmd::ReportProgress { token: tok, steps } => Command::ReportProgress {
            token: token(*tok),
            percent: None,
            steps: *steps,
            current_step: steps.map(|_| "checking".into()),
            expected_done_at: steps.is_none().then(|| at(600)),
        },
        Cmd::Resolve => Command::Resolve,
    }
}

/// Applies `command` through the run's handle, as its executor does, when
/// the handle has a method for it; `None` for a command that goes through
/// [`Task::apply`]. A finishing move consumes the handle, and gives it
/// back when it is refused.
fn through_handle(
    handle: &mut Option<Run>,
    task: &mut Task<NamedKind>,
    command: &Command<NamedKind>,
    now: DateTime<Utc>,
) -> Option<Result<Option<Event<NamedKind>>, Rejection>> {
    let run = handle.as_ref()?;
    if command.token() != Some(run.token()) {
        return None;
    }
    let finish = |handle: &mut Option<Run>, result: Result<Event<NamedKind>, Refused>| {
        result.map(Some).map_err(|refused| {
            let Refused { run, rejection } = refused;
            *handle = Some(run);
            rejection
        })
    };
    Some(match command.clone() {
        Command::Heartbeat {
            lease_until,
            progress,
            check_at: None,
            ..
        } => run
            .heartbeat(task, lease_until, progress, now)
            .map(|()| None),
        Command::Heartbeat {
            lease_until,
            progress: None,
            check_at: Some(check_at),
            ..
        } => run
            .check_later(task, check_at, lease_until, now)
            .map(|()| None),
        Command::Wait {
            until,
            check_at,
            reason,
            ..
        } => run
            .wait(
                task,
                Pause {
                    until,
                    check_at,
                    reason,
                },
                now,
            )
            .map(Some),
        Command::Resume { lease_until, .. } => run.resume(task, lease_until, now).map(Some),
        Command::Subtask { id, change, .. } => run.subtask(task, id, change, now).map(Some),
        Command::AddSubtask { subtask, .. } => run.add_subtask(task, subtask, now).map(Some),
        Command::ReportProgress {
            steps: Some((done, total)),
            current_step,
            expected_done_at: None,
            ..
        } => run
            .report_steps(task, done, total, current_step, now)
            .map(Some),
        Command::ReportProgress {
            steps: None,
            current_step: None,
            expected_done_at: Some(at),
            ..
        } => run.expect_done_at(task, at, now).map(Some),
        Command::Complete { outcome, .. } => {
            let run = handle.take()?;
            finish(handle, run.complete(task, *outcome, now))
        }
        Command::Fail {
            token: Some(_),
            failure,
        } => {
            let run = handle.take()?;
            finish(handle, run.fail(task, *failure, now))
        }
        Command::AcknowledgeCancel { .. } => {
            let run = handle.take()?;
            finish(handle, run.acknowledge_cancel(task, now))
        }
        _ => return None,
    })
}

/// The coarse kind of a rejection, comparable with [`Why`].
fn why_of(rejection: &Rejection) -> Why {
    match rejection {
        Rejection::NotOwner { .. } => Why::NotOwner,
        Rejection::IllegalMove { .. } => Why::NoSuchMove,
        Rejection::RoleNotAllowed { .. } => Why::RoleNotAllowed,
        _ => Why::Refused("(the implementation's reason)"),
    }
}

/// The observable fields the model predicts, side by side.
#[derive(Debug, PartialEq)]
struct Observed {
    status: Status,
    version: u64,
    runs: u32,
    attempts: u32,
    relaunches: u32,
    lease: Option<ObservedLease>,
    todo_at: Option<DateTime<Utc>>,
    cancel_requested: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    resolution: Option<Resolution>,
    warnings: usize,
    failure_origin: Option<Origin>,
    follow_up: Option<FollowUp>,
    fields_to_correct: Vec<String>,
    arguments: BTreeMap<String, ArgumentValue>,
    subtasks: Vec<(bool, SubtaskStatus)>,
    wakeup: Option<Wakeup>,
}

/// A lease as the task shows it.
#[derive(Debug, PartialEq)]
struct ObservedLease {
    /// Which of the tokens issued so far holds it (the lease does not
    /// show its token: `is_held_by` answers for each); `None` if none.
    held_by: Option<u64>,
    expires_at: DateTime<Utc>,
    worker: Option<String>,
    check_at: Option<DateTime<Utc>>,
    note: Option<String>,
    heartbeats: u32,
}

/// What the task shows; `tokens` are the tokens the model issued.
fn observe(task: &Task<NamedKind>, tokens: &[u64]) -> Observed {
    Observed {
        status: task.status(),
        version: task.version(),
        runs: task.runs(),
        attempts: task.attempts(),
        relaunches: task.relaunches(),
        lease: task.lease().map(|lease| ObservedLease {
            held_by: tokens
                .iter()
                .copied()
                .find(|token| lease.is_held_by(LeaseToken::new(*token))),
            expires_at: lease.expires_at(),
            worker: lease.worker().map(str::to_owned),
            check_at: lease.check_at(),
            note: lease.note().map(str::to_owned),
            heartbeats: lease.heartbeats(),
        }),
        todo_at: task.todo_at(),
        cancel_requested: task.cancel_requested_at(),
        done_at: task.done_at(),
        updated_at: task.updated_at(),
        resolution: task.resolution(),
        warnings: task.warnings().len(),
        failure_origin: task.failure().map(|failure| failure.origin),
        follow_up: task.follow_up(),
        fields_to_correct: task
            .fields_to_correct()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        arguments: task.arguments().clone(),
        subtasks: task
            .subtasks()
            .iter()
            .map(|subtask| (subtask.optional, subtask.status))
            .collect(),
        wakeup: task.next_wakeup(),
    }
}

fn predict(model: &Model) -> Observed {
    Observed {
        status: model.status,
        version: model.version,
        runs: model.runs,
        attempts: model.attempts,
        relaunches: model.relaunches,
        lease: model.lease.as_ref().map(|lease| ObservedLease {
            held_by: Some(lease.token),
            expires_at: lease.until,
            worker: Some("worker-1".into()),
            check_at: lease.check_at,
            note: lease.note.then(|| PROGRESS.to_owned()),
            heartbeats: lease.heartbeats,
        }),
        todo_at: model.todo_at,
        cancel_requested: model.cancel_requested,
        done_at: model.done_at,
        updated_at: model.updated_at,
        resolution: model.resolution,
        warnings: model.warnings,
        failure_origin: model.failure.as_ref().map(|failure| failure.origin),
        follow_up: model.failure.as_ref().map(|failure| failure.follow_up),
        fields_to_correct: model.uncorrected(&[]),
        arguments: model.arguments.clone(),
        subtasks: model.subtasks.clone(),
        wakeup: model.wakeup(),
    }
}

/// What one run of a sequence reached, for the coverage test.
#[derive(Default)]
struct Reached {
    /// `(from, command name)` pairs accepted.
    accepted: BTreeSet<(&'static str, &'static str)>,
    follow_ups: BTreeSet<&'static str>,
    /// The model's reasons for the refusals it predicted.
    refusals: BTreeSet<&'static str>,
    /// The commands the run's handle carried: accepted, and refused as
    /// stale (a handle whose run lost the task).
    by_handle: BTreeSet<&'static str>,
    stale_handle: BTreeSet<&'static str>,
}

fn cmd_name(cmd: &Cmd) -> &'static str {
    match cmd {
        Cmd::Idle => "idle",
        Cmd::Create => "create",
        Cmd::Start { .. } => "start",
        Cmd::Heartbeat { .. } => "heartbeat",
        Cmd::Wait { .. } => "wait",
        Cmd::Resume { .. } => "resume",
        Cmd::Complete { .. } => "complete",
        Cmd::Fail { .. } => "fail",
        Cmd::Cancel => "cancel",
        Cmd::AcknowledgeCancel { .. } => "acknowledge_cancel",
        Cmd::MarkStalled => "mark_stalled",
        Cmd::Requeue { .. } => "requeue",
        Cmd::Accelerate => "accelerate",
        Cmd::SetArgument { .. } => "set_argument",
        Cmd::Relaunch { .. } => "relaunch",
        Cmd::Retry => "retry",
        Cmd::Subtask { .. } => "subtask",
        Cmd::AddSubtask { .. } => "add_subtask",
        Cmd::ReportProgress { .. } => "report_progress",
        Cmd::Resolve => "resolve",
    }
}

/// What the model said of one step, for the report of a failure.
struct Verdict {
    step: usize,
    secs: i64,
    from: Status,
    said: Result<Status, Why>,
}

/// Runs `steps` on a task of `kind` and on the model, comparing after
/// every step. Returns what was reached, or the first disagreement with
/// the steps so far.
fn run(kind: &KindSpec, steps: &[Step]) -> Result<Reached, String> {
    let creator = if kind.created_by_system {
        Actor::System
    } else {
        common::alice()
    };
    let (mut task, created) = Task::create(kind.new_task(), creator.clone(), t(0))
        .map_err(|rejection| format!("creation refused: {rejection}"))?;
    // The task's log, kept beside the record as a store keeps it.
    let mut log = vec![created];
    // The handle of the latest run started, as its executor keeps it.
    let mut handle: Option<Run> = None;
    let mut model = Model::new(kind);
    let mut now = t(0);
    // What the model said at each step, formatted only on a failure.
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut reached = Reached::default();
    let fail = |verdicts: &[Verdict], what: String| {
        let mut trace = String::new();
        for verdict in verdicts {
            let step = &steps[verdict.step];
            let _ = write!(
                trace,
                "  #{:<2} t={:<5} {step:?}  ",
                verdict.step, verdict.secs
            );
            let _ = match verdict.said {
                Ok(to) => writeln!(trace, "model: {} -> {to}", verdict.from),
                Err(why) => writeln!(trace, "model: refused ({why:?})"),
            };
        }
        format!("{what}\nkind: {kind:?}\nsteps (t in seconds after creation):\n{trace}")
    };
    let first = &log[0];
    if (
        first.version,
        first.heartbeats,
        first.from,
        first.to,
        &first.actor,
    ) != (1, 0, None, Status::Pending, &creator)
        || first.action().as_str() != "create"
    {
        return Err(fail(&[], format!("the creation event is {first:?}")));
    }
    if observe(&task, &model.tokens) != predict(&model) {
        return Err(fail(
            &[],
            format!(
                "after creation\n  task:  {:?}\n  model: {:?}",
                observe(&task, &model.tokens),
                predict(&model)
            ),
        ));
    }
    for (i, step) in steps.iter().enumerate() {
        now += Duration::seconds(step.after);
        if step.cmd == Cmd::Idle {
            continue;
        }
        let expected = model.decide(&step.cmd, step.who, now);
        // The whole record, to compare after a rejection (when the model
        // expects one: otherwise the step fails on acceptance anyway).
        let before = expected.is_err().then(|| task.clone());
        let (version_before, status_before) = (task.version(), task.status());
        let command = command(&step.cmd, &model, now);
        let checked = task.check(&command, &step.who.actor(), now).map(|_| ());
        // Only the run that holds the task now can have its handle
        // rebuilt from its token.
        if let (Some(tok), Some(token)) = (step.cmd.token(), command.token()) {
            let rebuilt = Run::rebuild(&task, token);
            let agrees = match &rebuilt {
                Ok(run) => model.holds(tok) && run.token() == token && run.task_id() == task.id(),
                Err(Rejection::StaleLease { .. }) => !model.holds(tok),
                Err(_) => false,
            };
            if !agrees {
                return Err(fail(
                    &verdicts,
                    format!(
                        "step #{i}: Run::rebuild with {tok:?} ({token}) gave {rebuilt:?}, the model says the token {} the task",
                        if model.holds(tok) {
                            "holds"
                        } else {
                            "does not hold"
                        }
                    ),
                ));
            }
        }
        // The heartbeats the next event must count.
        let beats = model.lease.as_ref().map_or(0, |lease| lease.heartbeats);
        let mut started = None;
        let mut by_handle = false;
        let actual: Result<Option<Event<NamedKind>>, Rejection> = match (&step.cmd, step.who) {
            // The executor's way in: `start` hands back the run's handle.
            (Cmd::Start { .. }, Who::System) => {
                let Command::Start {
                    lease_until,
                    worker,
                } = command
                else {
                    unreachable!()
                };
                task.start(lease_until, worker, now).map(|(run, event)| {
                    started = Some((run.token(), event.version, event.at));
                    handle = Some(run);
                    Some(event)
                })
            }
            // Every other step, the executor uses the handle it holds
            // (with its token: the current one, or a stale one once its
            // run was stalled).
            (_, Who::System) if step.cmd.token() == Some(Tok::Current) && i % 2 == 0 => {
                match through_handle(&mut handle, &mut task, &command, now) {
                    Some(result) => {
                        by_handle = true;
                        result
                    }
                    None => task.apply(command, Actor::System, now),
                }
            }
            _ => task.apply(command, step.who.actor(), now),
        };
        verdicts.push(Verdict {
            step: i,
            secs: (now - t(0)).num_seconds(),
            from: model.status,
            said: expected,
        });
        if checked.as_ref().err() != actual.as_ref().err() {
            return Err(fail(
                &verdicts,
                format!("step #{i}: check said {checked:?}, apply {actual:?}"),
            ));
        }
        match (&expected, actual) {
            (Ok(_), Err(rejection)) => {
                return Err(fail(
                    &verdicts,
                    format!("step #{i}: the model accepts, the task refuses: {rejection}"),
                ));
            }
            (Err(why), Ok(_)) => {
                return Err(fail(
                    &verdicts,
                    format!("step #{i}: the model refuses ({why:?}), the task accepts"),
                ));
            }
            (Err(why), Err(rejection)) => {
                if let Why::Refused(reason) = why {
                    reached.refusals.insert(reason);
                }
                if by_handle && matches!(rejection, Rejection::StaleLease { .. }) {
                    reached.stale_handle.insert(cmd_name(&step.cmd));
                }
                let theirs = why_of(&rejection);
                // The fence has its own rejection, told apart from the
                // other refusals.
                let stale = matches!(rejection, Rejection::StaleLease { .. });
                let coarse_agree = match (why, theirs) {
                    (Why::Refused(reason), Why::Refused(_)) => {
                        reason.starts_with("stale lease") == stale
                    }
                    (ours, theirs) => *ours == theirs,
                };
                if !coarse_agree {
                    return Err(fail(
                        &verdicts,
                        format!(
                            "step #{i}: refused for different reasons: model {why:?}, task {rejection:?}"
                        ),
                    ));
                }
                if before.as_ref() != Some(&task) {
                    return Err(fail(
                        &verdicts,
                        format!("step #{i}: a rejected command changed the record"),
                    ));
                }
            }
            (Ok(to), Ok(event)) => {
                if task.version() != version_before + 1 {
                    return Err(fail(
                        &verdicts,
                        format!(
                            "step #{i}: accepted, but the version went {} -> {}",
                            version_before,
                            task.version(),
                        ),
                    ));
                }
                if status_before.is_final() && task.status() != status_before {
                    return Err(fail(
                        &verdicts,
                        format!("step #{i}: a final status moved to {}", task.status()),
                    ));
                }
                reached
                    .accepted
                    .insert((model.status.as_str(), cmd_name(&step.cmd)));
                if by_handle {
                    reached.by_handle.insert(cmd_name(&step.cmd));
                }
                let to = *to;
                let effect = model.record(&step.cmd, step.who, now, to);
                let heartbeat = matches!(step.cmd, Cmd::Heartbeat { .. });
                match event {
                    // A heartbeat is lease state: nothing to log.
                    None if heartbeat => {}
                    Some(event) if !heartbeat => {
                        let expected_event = (
                            event.version == model.version,
                            event.heartbeats == beats,
                            event.at == now,
                            event.actor == step.who.actor(),
                            event.from == Some(status_before),
                            event.to == to,
                            event.action().as_str() == cmd_name(&step.cmd),
                            event.effect.as_deref() == effect.as_ref(),
                        );
                        if expected_event != (true, true, true, true, true, true, true, true) {
                            return Err(fail(
                                &verdicts,
                                format!(
                                    "step #{i}: the event recorded is {event:?}; the model expects version {}, \
                                     {beats} heartbeats, at {now}, {:?}, {status_before} -> {to}, effect {effect:?}",
                                    model.version, step.who
                                ),
                            ));
                        }
                        log.push(event);
                    }
                    event => {
                        return Err(fail(
                            &verdicts,
                            format!(
                                "step #{i}: accepted {:?}, returning the event {event:?}",
                                step.cmd
                            ),
                        ));
                    }
                }
                // The log's last event and the heartbeats since make the
                // version.
                let logged = log.last().map_or(0, |event| event.version);
                let since = task
                    .lease()
                    .map_or(0, |lease| u64::from(lease.heartbeats()));
                if logged + since != task.version() {
                    return Err(fail(
                        &verdicts,
                        format!(
                            "step #{i}: the log ends at version {logged}, {since} heartbeats since, the task is at {}",
                            task.version()
                        ),
                    ));
                }
                if let Some(failure) = &model.failure {
                    reached.follow_ups.insert(match failure.follow_up {
                        FollowUp::AwaitCorrection => "await_correction",
                        FollowUp::Retry { .. } => "retry",
                        FollowUp::Escalated => "escalated",
                        FollowUp::Final => "final",
                    });
                }
            }
        }
        // A run's token is made of the version and time of the event that
        // started it.
        if let Some((token, version, at)) = started
            && (model.tokens.last() != Some(&token.get())
                || token != LeaseToken::of_start(version, at)
                || token.start_version() != version)
        {
            return Err(fail(
                &verdicts,
                format!(
                    "step #{i}: start handed out token {token} with the event of version {version}, the model {:?}",
                    model.tokens.last()
                ),
            ));
        }
        let (ours, theirs) = (predict(&model), observe(&task, &model.tokens));
        if ours != theirs {
            return Err(fail(
                &verdicts,
                format!("step #{i}: the records differ\n  task:  {theirs:?}\n  model: {ours:?}"),
            ));
        }
        let comment = model.shown_comment();
        if !comment.matches(task.comment()) {
            return Err(fail(
                &verdicts,
                format!(
                    "step #{i}: the comment is {:?}, the model expects {comment:?}",
                    task.comment(),
                ),
            ));
        }
        // The derived answers after every accepted step, and after every
        // third other one (time alone changes some of them).
        if (expected.is_ok() || i % 3 == 0)
            && let Err(what) = compare_answers(&task, &model, now)
        {
            return Err(fail(&verdicts, format!("after step #{i}: {what}")));
        }
    }
    if let Err(error) = task.check_log(&log) {
        return Err(fail(
            &verdicts,
            format!("the log does not check against the task: {error:?}"),
        ));
    }
    // Unless a heartbeat of the current run changed the lease, the log
    // rebuilds the very record.
    if !model.lease.as_ref().is_some_and(|lease| lease.beaten) {
        let replayed = Task::replay(&log);
        if replayed.as_ref() != Ok(&task) {
            return Err(fail(
                &verdicts,
                format!("the log does not replay to the task: {replayed:?}"),
            ));
        }
    }
    Ok(reached)
}

/// The task's derived answers (`can_*`, `attempts_left`, …) for every
/// party, against what the model decides of the same commands.
fn compare_answers(
    task: &Task<NamedKind>,
    model: &Model,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let answer = |what: &str, who: Who, theirs: bool, ours: bool| {
        if theirs == ours {
            Ok(())
        } else {
            Err(format!(
                "{what} for {who:?} at t={}: the task answers {theirs}, the model {ours}",
                (now - t(0)).num_seconds()
            ))
        }
    };
    for who in [Who::Owner, Who::OtherCustomer, Who::Operator, Who::System] {
        let actor = who.actor();
        let may = |cmd: Cmd| model.decide(&cmd, who, now).is_ok();
        answer(
            "can_cancel",
            who,
            task.can_cancel(&actor, now),
            may(Cmd::Cancel),
        )?;
        answer(
            "can_accelerate",
            who,
            task.can_accelerate(&actor, now),
            may(Cmd::Accelerate),
        )?;
        let relaunch = may(Cmd::Relaunch {
            corrections: vec![],
        });
        answer(
            "can_relaunch",
            who,
            task.can_relaunch(&actor, now),
            relaunch,
        )?;
        answer(
            "relaunch_rejection is none",
            who,
            task.relaunch_rejection(&actor, now).is_none(),
            relaunch,
        )?;
        answer(
            "can_relaunch_once_corrected",
            who,
            task.can_relaunch_once_corrected(&actor, now),
            relaunch || model.could_relaunch_once_corrected(who),
        )?;
        for key in [Key::Afnic, Key::Duration, Key::Domain, Key::Unknown] {
            answer(
                match key {
                    Key::Afnic => "can_edit(legitimacyAfnic)",
                    Key::Duration => "can_edit(duration)",
                    Key::Domain => "can_edit(domain)",
                    Key::Unknown => "can_edit(nickname)",
                },
                who,
                task.can_edit(key.as_str(), &actor, now),
                may(Cmd::SetArgument {
                    key,
                    value: Val::Good,
                }),
            )?;
        }
    }
    answer(
        "can_mark_stalled",
        Who::System,
        task.can_mark_stalled(now),
        model.decide(&Cmd::MarkStalled, Who::System, now).is_ok(),
    )?;
    let follow_up = model.failure.as_ref().map(|failure| failure.follow_up);
    answer(
        "is_escalated",
        Who::System,
        task.is_escalated(),
        follow_up == Some(FollowUp::Escalated),
    )?;
    let retry_at = match follow_up {
        Some(FollowUp::Retry { at }) => Some(at),
        _ => None,
    };
    if task.next_retry_at() != retry_at {
        return Err(format!(
            "next_retry_at is {:?}, the model expects {retry_at:?}",
            task.next_retry_at()
        ));
    }
    let left = model.kind.max_attempts.saturating_sub(model.attempts);
    if task.attempts_left() != left {
        return Err(format!(
            "attempts_left is {}, the model expects {left}",
            task.attempts_left()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------

fn kind_spec() -> impl Strategy<Value = KindSpec> {
    let rules = (
        prop_oneof![
            3 => Just(CancelChoice::Standard),
            2 => Just(CancelChoice::StandardWithRunning),
            1 => Just(CancelChoice::PendingOnly),
            2 => Just(CancelChoice::RunningOnly),
            1 => Just(CancelChoice::FailedOnly),
            1 => Just(CancelChoice::Never),
        ],
        prop_oneof![
            3 => Just(AccelerateChoice::People),
            1 => Just(AccelerateChoice::OperatorsOnly),
            1 => Just(AccelerateChoice::Nobody),
        ],
        prop_oneof![
            3 => Just(EditChoice::Failed),
            2 => Just(EditChoice::PendingAndFailed),
            1 => Just(EditChoice::Pending),
            1 => Just(EditChoice::Nowhere),
        ],
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.3),
        0u32..=3,
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.15),
    );
    let more = (
        prop_oneof![Just(10u64), Just(60u64)],
        0u32..=3,
        prop_oneof![
            2 => Just(FailureChoice::Default),
            1 => Just(FailureChoice::InfraUncounted),
            1 => Just(FailureChoice::FatalFinal),
            1 => Just(FailureChoice::Mixed),
        ],
        prop::bool::weighted(0.8),
        any::<bool>(),
        prop::collection::vec(prop::bool::weighted(0.3), 0..=3),
        prop::bool::weighted(0.3),
        prop_oneof![3 => Just(None), 1 => (1i64..300).prop_map(Some)],
        prop::bool::weighted(0.2),
    );
    (rules, more).prop_map(
        |(
            (
                cancel,
                accelerate,
                edit,
                customer_relaunch,
                provider_failures,
                max_relaunches,
                require_corrections,
                dedicated_route,
            ),
            (
                retry_initial_secs,
                max_attempts,
                failures,
                arguments,
                with_afnic,
                subtasks,
                settle_all,
                todo_in,
                created_by_system,
            ),
        )| KindSpec {
            cancel,
            accelerate,
            edit,
            customer_relaunch,
            provider_failures,
            max_relaunches,
            require_corrections,
            dedicated_route,
            retry_initial_secs,
            max_attempts,
            failures,
            arguments,
            with_afnic,
            subtasks,
            settle_all,
            todo_in,
            created_by_system,
        },
    )
}

fn tok() -> impl Strategy<Value = Tok> {
    prop_oneof![8 => Just(Tok::Current), 1 => Just(Tok::Previous), 1 => Just(Tok::Bogus)]
}

/// Seconds to a deadline: mostly ahead, sometimes not after now.
fn ahead() -> impl Strategy<Value = i64> {
    prop_oneof![9 => 20i64..300, 1 => -10i64..=0]
}

/// Seconds to a time to check again: mostly ahead (sometimes past the
/// deadline), sometimes not after now.
fn check() -> impl Strategy<Value = i64> {
    prop_oneof![8 => 1i64..250, 1 => -10i64..=0]
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        4 => Just(Key::Afnic),
        2 => Just(Key::Duration),
        1 => Just(Key::Domain),
        1 => Just(Key::Unknown),
    ]
}

fn val() -> impl Strategy<Value = Val> {
    prop_oneof![5 => Just(Val::Good), 2 => Just(Val::Bad), 1 => Just(Val::Clear)]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        1 => Just(Cmd::Idle),
        1 => Just(Cmd::Create),
        5 => ahead().prop_map(|lease| Cmd::Start { lease }),
        2 => (tok(), ahead(), prop_oneof![3 => Just(None), 1 => check().prop_map(Some)])
            .prop_map(|(token, lease, check)| Cmd::Heartbeat { token, lease, check }),
        2 => (tok(), ahead(), prop::option::of(check()))
            .prop_map(|(token, until, check)| Cmd::Wait { token, until, check }),
        1 => (tok(), ahead()).prop_map(|(token, lease)| Cmd::Resume { token, lease }),
        1 => tok().prop_map(|token| Cmd::Complete { token }),
        5 => (
            prop_oneof![5 => tok().prop_map(Some), 1 => Just(None)],
            prop_oneof![Just(Origin::Customer), Just(Origin::Provider)],
            prop_oneof![
                3 => Just(Code::BadData),
                3 => Just(Code::RegistryDown),
                2 => Just(Code::InfraTimeout),
                1 => Just(Code::Fatal),
                1 => Just(Code::Empty),
            ],
            prop::collection::vec(
                prop_oneof![6 => Just(Key::Afnic), 2 => Just(Key::Duration), 1 => key()],
                0..=2,
            ),
        )
            .prop_map(|(token, origin, code, flags)| Cmd::Fail {
                token,
                origin,
                code,
                flags,
            }),
        3 => Just(Cmd::Cancel),
        3 => tok().prop_map(|token| Cmd::AcknowledgeCancel { token }),
        3 => Just(Cmd::MarkStalled),
        2 => prop_oneof![3 => Just(None), 1 => (-30i64..200).prop_map(Some)]
            .prop_map(|later| Cmd::Requeue { later }),
        1 => Just(Cmd::Accelerate),
        4 => (key(), val()).prop_map(|(key, value)| Cmd::SetArgument { key, value }),
        4 => prop_oneof![
            2 => Just(vec![]),
            1 => prop::collection::vec((key(), val()), 1..=2),
        ]
        .prop_map(|corrections| Cmd::Relaunch { corrections }),
        3 => Just(Cmd::Retry),
        5 => (
            tok(),
            prop_oneof![4 => 0u32..2, 1 => 2u32..4],
            prop_oneof![
                3 => Just(Change::Start),
                3 => Just(Change::Succeed),
                2 => Just(Change::Fail(true)),
                1 => Just(Change::Fail(false)),
                1 => Just(Change::Skip),
                1 => Just(Change::NotApplicable),
                2 => Just(Change::Cancel),
            ],
        )
            .prop_map(|(token, id, change)| Cmd::Subtask { token, id, change }),
        1 => (tok(), any::<bool>(), prop::bool::weighted(0.9)).prop_map(
            |(token, optional, named)| Cmd::AddSubtask {
                token,
                optional,
                named,
            }
        ),
        1 => (
            tok(),
            prop_oneof![Just(None), Just(Some((1, 3))), Just(Some((3, 3))), Just(Some((4, 3)))],
        )
            .prop_map(|(token, steps)| Cmd::ReportProgress { token, steps }),
        1 => Just(Cmd::Resolve),
    ]
}

/// The party that would usually issue `cmd`: the system for executor
/// moves, the owner or an operator for people's moves.
fn usual(cmd: &Cmd, person: bool) -> Who {
    match cmd {
        Cmd::Accelerate | Cmd::SetArgument { .. } | Cmd::Relaunch { .. } | Cmd::Cancel => {
            if person { Who::Owner } else { Who::Operator }
        }
        Cmd::Resolve => Who::Operator,
        Cmd::Requeue { .. } => {
            if person {
                Who::Operator
            } else {
                Who::System
            }
        }
        Cmd::Fail { token: None, .. } => Who::Operator,
        _ => Who::System,
    }
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop_oneof![10 => 0i64..90, 2 => 90i64..400, 1 => -30i64..0],
        cmd(),
        prop_oneof![
            12 => Just(None),
            2 => Just(Some(Who::Owner)),
            1 => Just(Some(Who::OtherCustomer)),
            2 => Just(Some(Who::Operator)),
            2 => Just(Some(Who::System)),
        ],
        prop::bool::weighted(0.7),
    )
        .prop_map(|(after, cmd, who, person)| Step {
            after,
            who: who.unwrap_or_else(|| usual(&cmd, person)),
            cmd,
        })
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 20..=60)
}

/// Prints a failing sequence readably: one step a line, idle ones left
/// out.
fn readable(steps: &[Step]) -> String {
    steps
        .iter()
        .enumerate()
        .filter(|(_, step)| step.cmd != Cmd::Idle || step.after != 0)
        .map(|(i, step)| format!("  #{i:<2} {step:?}\n"))
        .collect()
}

proptest! {
    // XorShift rather than the default ChaCha: in a debug build, ChaCha
    // costs most of the time of these long sequences.
    #![proptest_config(ProptestConfig {
        rng_algorithm: RngAlgorithm::XorShift,
        ..common::cases(4000)
    })]

    /// The task and the model agree on every step of every sequence.
    #[test]
    fn the_task_follows_the_reference_model(kind in kind_spec(), steps in steps()) {
        if let Err(report) = run(&kind, &steps) {
            prop_assert!(false, "{}\nthe whole sequence:\n{}", report, readable(&steps));
        }
    }
}

/// The generator is worth its cases: over a fixed sample of sequences,
/// every row of the documented table is taken at least once, every kind
/// of follow-up and every refusal the model knows is reached (each also
/// agreeing with the task), and every executor move goes through the
/// run's handle, both accepted and refused as stale.
#[test]
fn the_sequences_reach_every_move() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::XorShift),
    );
    let mut accepted = BTreeSet::new();
    let mut follow_ups = BTreeSet::new();
    let mut refusals = BTreeSet::new();
    let mut by_handle = BTreeSet::new();
    let mut stale_handle = BTreeSet::new();
    let strategy = (kind_spec(), steps());
    for _ in 0..1500 {
        let (kind, steps) = strategy.new_tree(&mut runner).unwrap().current();
        let reached = run(&kind, &steps).unwrap_or_else(|report| panic!("{report}"));
        accepted.extend(reached.accepted);
        follow_ups.extend(reached.follow_ups);
        refusals.extend(reached.refusals);
        by_handle.extend(reached.by_handle);
        stale_handle.extend(reached.stale_handle);
    }
    let rows = [
        ("pending", "start"),
        ("pending", "accelerate"),
        ("pending", "set_argument"),
        ("pending", "cancel"),
        ("running", "heartbeat"),
        ("running", "subtask"),
        ("running", "add_subtask"),
        ("running", "report_progress"),
        ("running", "wait"),
        ("running", "complete"),
        ("running", "fail"),
        ("running", "cancel"),
        ("running", "acknowledge_cancel"),
        ("running", "mark_stalled"),
        ("waiting", "heartbeat"),
        ("waiting", "report_progress"),
        ("waiting", "resume"),
        ("waiting", "complete"),
        ("waiting", "fail"),
        ("waiting", "cancel"),
        ("waiting", "acknowledge_cancel"),
        ("waiting", "mark_stalled"),
        ("stalled", "requeue"),
        ("stalled", "fail"),
        ("stalled", "cancel"),
        ("failed", "set_argument"),
        ("failed", "relaunch"),
        ("failed", "retry"),
        ("failed", "resolve"),
        ("failed", "cancel"),
    ];
    let missing: Vec<_> = rows.iter().filter(|row| !accepted.contains(*row)).collect();
    assert!(missing.is_empty(), "never accepted: {missing:?}");
    let reasons = [
        "a subtask fails with errors",
        "accelerate rule",
        "already due",
        "argument refused",
        "cancel already requested",
        "cancel requested",
        "cancel rule",
        "check_at after the deadline",
        "check_at not after now",
        "check_at on a running task",
        "correction refused",
        "corrections past the edit rule",
        "customer could not relaunch",
        "dedicated route",
        "edit rule",
        "empty failure code",
        "fail-fast: a required subtask failed",
        "flags an argument that cannot be corrected",
        "heartbeat before the deadline",
        "illegal subtask move",
        "lease still valid",
        "lease_until not after now",
        "more steps done than in all",
        "no cancel requested",
        "no retry due",
        "no such subtask",
        "not due",
        "relaunch rules",
        "required subtasks unsatisfied",
        "stale lease",
        "stale lease (none presented)",
        "steps of a task with subtasks",
        "subtask without a name",
        "until not after now",
    ];
    let missing: Vec<_> = reasons
        .iter()
        .filter(|reason| !refusals.contains(*reason))
        .collect();
    assert!(missing.is_empty(), "never refused for: {missing:?}");
    // Every executor move went through the run's handle, and a handle
    // whose run lost the task was refused as stale.
    let moves = [
        "heartbeat",
        "wait",
        "resume",
        "complete",
        "fail",
        "acknowledge_cancel",
        "subtask",
        "add_subtask",
        "report_progress",
    ];
    let missing: Vec<_> = moves.iter().filter(|m| !by_handle.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "never accepted through the handle: {missing:?}"
    );
    let missing: Vec<_> = moves
        .iter()
        .filter(|m| !stale_handle.contains(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "a stale handle never tried: {missing:?}"
    );
    for follow_up in ["await_correction", "retry", "escalated", "final"] {
        assert!(
            follow_ups.contains(follow_up),
            "never reached follow-up {follow_up}"
        );
    }
}
