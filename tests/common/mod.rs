//! Helpers shared by the integration tests: fixed times, tasks, and
//! proptest strategies for random command sequences.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use std::borrow::Cow;

use taskstate::{
    Action, Actor, AggregatePolicy, ArgumentSpec, ArgumentType, ArgumentValue, Arguments,
    CancelRules, Command, Failure, FailureRule, IdGenerator, LeaseToken, NamedKind, NewSubtask,
    NewTask, Origin, Outcome, Owner, RelaunchRules, ResourceRef, RetryPolicy, Role, RoleSet, Rules,
    Status, StatusSet, SubtaskChange, Task, Then, Warning,
};

/// 2026-11-23 09:00:00 UTC plus `seconds`.
pub fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

pub fn alice() -> Actor {
    Actor::customer("alice")
}

pub fn mallory() -> Actor {
    Actor::customer("mallory")
}

pub fn bob() -> Actor {
    Actor::operator("bob")
}

/// A pending task of `kind` owned by alice, created at `t(0)`.
pub fn task_of(kind: NamedKind) -> Task<NamedKind> {
    let new = NewTask::new(
        IdGenerator::seeded(1).next_id(t(0)),
        kind,
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    );
    Task::create(new, alice(), t(0)).unwrap()
}

/// A pending DomainCreate with the standard rules.
pub fn pending() -> Task<NamedKind> {
    task_of(NamedKind::new("DomainCreate"))
}

/// Applies a command that must be accepted.
pub fn accept(
    task: &mut Task<NamedKind>,
    command: Command<NamedKind>,
    actor: Actor,
    now: DateTime<Utc>,
) {
    if let Err(rejection) = task.apply(command.clone(), actor.clone(), now) {
        panic!("{actor} {command:?} refused: {rejection}");
    }
}

/// Applies a command that must be rejected, checks that the task is
/// unchanged, and returns the rejection.
pub fn reject(
    task: &mut Task<NamedKind>,
    command: Command<NamedKind>,
    actor: Actor,
    now: DateTime<Utc>,
) -> taskstate::Rejection {
    let before = task.clone();
    let rejection = task
        .apply(command.clone(), actor.clone(), now)
        .map(|event| event.version)
        .expect_err("command should have been rejected");
    assert_eq!(*task, before, "a rejected command changed the task");
    rejection
}

pub fn provider_failure(at: DateTime<Utc>) -> Failure {
    Failure::provider("REGISTRY_DOWN", "the registry does not answer", at)
}

// ---------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------

/// The failure rules random kinds may use.
pub const FAILURE_RULES: &[FailureRule] = &[
    FailureRule::exact("AUTH_INVALID", Origin::Customer, Then::AwaitCorrection),
    FailureRule::prefix("INFRA_", Origin::Provider, Then::RetryUncounted),
    FailureRule::exact("QUOTA_FINAL", Origin::Customer, Then::Final),
];

/// The codes random failures carry (the empty one is invalid input).
pub const CODES: &[&str] = &["SOME_CODE", "AUTH_INVALID", "INFRA_DOWN", "QUOTA_FINAL", ""];

/// The argument specs of random kinds: a read-only required one, a
/// correctable text, a required integer, an email.
pub fn specs() -> Vec<ArgumentSpec> {
    vec![
        ArgumentSpec::text("domain", 1, 255).read_only().required(),
        ArgumentSpec::text("legitimacyAfnic", 5, 50),
        ArgumentSpec::integer("duration", 1, 10).required(),
        ArgumentSpec::new("contactEmail", ArgumentType::Email),
    ]
}

/// The keys random steps use: the specs' and one the kind lacks.
pub const KEYS: &[&str] = &[
    "domain",
    "legitimacyAfnic",
    "duration",
    "contactEmail",
    "nope",
];

/// A value for `key`: valid, invalid (out of bounds or of the wrong type)
/// by `choice`.
pub fn value_for(key: &str, choice: u8) -> ArgumentValue {
    let valid = !choice.is_multiple_of(3);
    match (key, valid) {
        ("domain", true) => "example.com".into(),
        ("legitimacyAfnic", true) => "I am the mayor".into(),
        ("legitimacyAfnic", false) => "no".into(),
        ("duration", true) => ArgumentValue::Integer(i64::from(choice % 10) + 1),
        ("duration", false) => ArgumentValue::Integer(99),
        ("contactEmail", true) => "a@example.fr".into(),
        ("contactEmail", false) => "not an email".into(),
        _ => ArgumentValue::Boolean(true),
    }
}

/// Random rules: every combination of the seeds' cancel rules, with and
/// without running cancels, random accelerate roles, random relaunch and
/// retry rules, edits in random statuses, with or without failure rules.
pub fn rules() -> impl Strategy<Value = Rules> {
    let cancel = prop_oneof![
        Just(CancelRules::STANDARD),
        Just(CancelRules::PENDING_ONLY),
        Just(CancelRules::RUNNING_ONLY),
        Just(CancelRules::FAILED_ONLY),
        Just(CancelRules::NEVER),
        Just(CancelRules::STANDARD.with_running()),
        (any::<u8>(), any::<u8>()).prop_map(|(c, s)| CancelRules {
            customer: status_set(c),
            staff: status_set(s),
        }),
    ];
    let accelerate = (0u8..8).prop_map(|bits| {
        RoleSet::of(
            &Role::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, r)| r)
                .collect::<Vec<_>>(),
        )
    });
    let relaunch = (
        any::<bool>(),
        any::<bool>(),
        0u32..3,
        any::<bool>(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(customer, provider_failures, max, require_corrections, dedicated)| RelaunchRules {
                customer,
                provider_failures,
                max,
                require_corrections,
                dedicated_route: dedicated.then_some(Cow::Borrowed("use the credentials route")),
            },
        );
    let retry = (0u32..4, 0u64..120).prop_map(|(max_attempts, initial)| {
        RetryPolicy::STANDARD
            .max_attempts(max_attempts)
            .initial_delay_secs(initial)
            .max_delay_secs(600)
    });
    let edit = prop_oneof![
        Just(StatusSet::of(&[Status::Failed])),
        Just(StatusSet::of(&[Status::Pending, Status::Failed])),
        Just(StatusSet::EMPTY),
    ];
    (cancel, accelerate, relaunch, retry, edit, any::<bool>()).prop_map(
        |(cancel, accelerate, relaunch, retry, edit, classify)| {
            let policy = if accelerate.contains(Role::System) {
                AggregatePolicy::SettleAll
            } else {
                AggregatePolicy::FailFast
            };
            let rules = Rules::new()
                .subtasks(policy)
                .cancel(cancel)
                .accelerate(accelerate)
                .relaunch(relaunch)
                .retry(retry)
                .edit(edit);
            if classify {
                rules.failures(FAILURE_RULES)
            } else {
                rules
            }
        },
    )
}

fn status_set(bits: u8) -> StatusSet {
    Status::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, s)| s)
        .collect()
}

/// A random actor: the owner, another customer, an operator or the system.
pub fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        3 => Just(alice()),
        1 => Just(mallory()),
        2 => Just(bob()),
        5 => Just(Actor::System),
    ]
}

/// How a random command picks its lease token.
#[derive(Clone, Debug)]
pub enum TokenChoice {
    /// The task's current token (or none if it has no lease).
    Current,
    /// A token from an earlier run, or a made-up one.
    Stale(u64),
    /// No token at all (only for `fail`).
    Missing,
}

/// A command template: resolved against the live task when applied, so
/// that executor commands can present the current token most of the time.
#[derive(Clone, Debug)]
pub struct Step {
    pub action: Action,
    pub actor: Actor,
    /// Seconds since the previous step; negative for a clock that goes
    /// back.
    pub advance: i64,
    /// Seconds from `now` for a lease or wait deadline, or a todo time;
    /// zero or negative ones are invalid input.
    pub horizon: i64,
    pub token: TokenChoice,
    pub text: Option<String>,
    pub origin: Origin,
    pub code: &'static str,
    /// Which argument key a correction or a flag names.
    pub key: &'static str,
    /// Whether a correction's value is valid (see [`value_for`]).
    pub value: u8,
    /// Whether a correction clears the argument, or a relaunch carries
    /// none.
    pub empty: bool,
    /// Whether the action is drawn from the table's rows leaving the
    /// task's current status (most steps), rather than from every action.
    pub from_table: bool,
    /// Which row, when drawn from the table.
    pub pick: u8,
}

pub fn step() -> impl Strategy<Value = Step> {
    let action = prop_oneof![
        Just(Action::Create),
        Just(Action::Start),
        Just(Action::Heartbeat),
        Just(Action::Wait),
        Just(Action::Resume),
        Just(Action::Complete),
        Just(Action::Fail),
        Just(Action::Cancel),
        Just(Action::AcknowledgeCancel),
        Just(Action::MarkStalled),
        Just(Action::Requeue),
        Just(Action::Accelerate),
        Just(Action::SetArgument),
        Just(Action::SetArgument),
        Just(Action::Relaunch),
        Just(Action::Relaunch),
        Just(Action::Retry),
        Just(Action::Subtask),
        Just(Action::AddSubtask),
        Just(Action::ReportProgress),
        Just(Action::Resolve),
    ];
    let advance = prop_oneof![
        6 => 0i64..120,
        2 => 0i64..4000,
        1 => -600i64..0,
    ];
    let horizon = prop_oneof![8 => 1i64..900, 1 => -60i64..=0];
    let token = prop_oneof![
        8 => Just(TokenChoice::Current),
        2 => (0u64..12).prop_map(TokenChoice::Stale),
        1 => Just(TokenChoice::Missing),
    ];
    let text = proptest::option::of("[a-z ]{0,12}");
    let origin = prop_oneof![Just(Origin::Customer), Just(Origin::Provider)];
    let code = prop_oneof![
        6 => Just(CODES[0]),
        2 => Just(CODES[1]),
        2 => Just(CODES[2]),
        1 => Just(CODES[3]),
        1 => Just(CODES[4]),
    ];
    let key = proptest::sample::select(KEYS);
    (
        (action, actor(), advance, horizon, token),
        (
            text,
            origin,
            code,
            key,
            any::<u8>(),
            proptest::bool::weighted(0.2),
        ),
        (proptest::bool::weighted(0.8), any::<u8>()),
    )
        .prop_map(
            |(
                (action, actor, advance, horizon, token),
                (text, origin, code, key, value, empty),
                (from_table, pick),
            )| Step {
                action,
                actor,
                advance,
                horizon,
                token,
                text,
                origin,
                code,
                key,
                value,
                empty,
                from_table,
                pick,
            },
        )
}

impl Step {
    /// The concrete command and actor for `task` at `now`. A step drawn
    /// from the table takes a row leaving the task's status (a cancel only
    /// one time in four, so sequences do not end early) and, most of the
    /// time, an actor the row allows.
    pub fn resolve(
        &self,
        task: &Task<NamedKind>,
        now: DateTime<Utc>,
    ) -> (Command<NamedKind>, Actor) {
        let mut step = self.clone();
        if self.from_table {
            let rows: Vec<_> = taskstate::table::from(task.status()).collect();
            if !rows.is_empty() {
                let mut row = rows[usize::from(self.pick) % rows.len()];
                if row.action == Action::Cancel && !self.value.is_multiple_of(4) {
                    row = rows[(usize::from(self.pick) + 1) % rows.len()];
                }
                step.action = row.action;
                if !self.value.is_multiple_of(8) {
                    let roles: Vec<Role> = row.roles.iter().collect();
                    step.actor = match roles[usize::from(self.value) % roles.len()] {
                        Role::Customer => alice(),
                        Role::Operator => bob(),
                        Role::System => Actor::System,
                    };
                }
            }
        }
        (step.command(task, now), step.actor)
    }

    /// The concrete command for `task` at `now`.
    pub fn command(&self, task: &Task<NamedKind>, now: DateTime<Utc>) -> Command<NamedKind> {
        let current = task.lease().map(|lease| lease.token);
        let token = match self.token {
            TokenChoice::Current => current,
            TokenChoice::Stale(n) => Some(LeaseToken::new(n)),
            TokenChoice::Missing => None,
        };
        let token_or_zero = token.unwrap_or(LeaseToken::new(0));
        let deadline = now + Duration::seconds(self.horizon);
        match self.action {
            Action::Create => Command::Create(Box::new(NewTask::new(
                task.id(),
                task.kind().clone(),
                task.owner().clone(),
                task.resource().clone(),
            ))),
            Action::Start => Command::Start {
                lease_until: deadline,
                worker: self.text.clone(),
            },
            Action::Heartbeat => Command::Heartbeat {
                token: token_or_zero,
                lease_until: deadline,
                progress: self.text.clone(),
            },
            Action::Wait => Command::Wait {
                token: token_or_zero,
                until: deadline,
                reason: self.text.clone(),
            },
            Action::Resume => Command::Resume {
                token: token_or_zero,
                lease_until: deadline,
            },
            Action::Complete => {
                let mut outcome = Outcome::new();
                if let Some(text) = &self.text {
                    outcome = outcome
                        .message(text.clone())
                        .warning(Warning::new("adopted", text.clone()));
                }
                Command::Complete {
                    token: token_or_zero,
                    outcome: Box::new(outcome),
                }
            }
            Action::Fail => {
                let mut failure = Failure::new(self.origin, self.code, "it failed", now);
                if !self.empty {
                    failure = failure.flag(self.key);
                }
                Command::Fail {
                    token,
                    failure: Box::new(failure),
                }
            }
            Action::SetArgument => Command::SetArgument {
                key: self.key.to_owned(),
                value: (!self.empty).then(|| value_for(self.key, self.value)),
            },
            Action::Relaunch => {
                let mut arguments = Arguments::new();
                if !self.empty {
                    arguments.insert(self.key.to_owned(), value_for(self.key, self.value));
                }
                Command::Relaunch { arguments }
            }
            Action::Retry => Command::Retry,
            Action::Subtask => {
                let count = task.subtasks().len() as u32;
                let id = u32::from(self.pick) % (count + 1); // sometimes no such subtask
                let change = match self.value % 6 {
                    0 => SubtaskChange::Start,
                    1 => SubtaskChange::Succeed,
                    2 => SubtaskChange::Fail {
                        errors: if self.empty {
                            Vec::new()
                        } else {
                            vec![Failure::provider(self.code, "subtask failed", now)]
                        },
                    },
                    3 => SubtaskChange::Skip,
                    4 => SubtaskChange::MarkNotApplicable,
                    _ => SubtaskChange::Cancel,
                };
                Command::Subtask {
                    token: token_or_zero,
                    id,
                    change,
                }
            }
            Action::AddSubtask => {
                let count = task.subtasks().len() as u32;
                let mut subtask = NewSubtask::new(self.text.clone().unwrap_or_default(), "added");
                if self.value.is_multiple_of(3) {
                    subtask = subtask.under(u32::from(self.pick) % (count + 1));
                }
                if self.empty {
                    subtask = subtask.optional();
                }
                Command::AddSubtask {
                    token: token_or_zero,
                    subtask,
                }
            }
            Action::ReportProgress => Command::ReportProgress {
                token: token_or_zero,
                steps: (!self.empty)
                    .then_some((u32::from(self.value % 7), u32::from(self.pick % 6))),
                current_step: self.text.clone(),
                expected_done_at: Some(deadline),
            },
            Action::Resolve => Command::Resolve,
            Action::Cancel => Command::Cancel {
                reason: self.text.clone(),
            },
            Action::AcknowledgeCancel => Command::AcknowledgeCancel {
                token: token_or_zero,
            },
            Action::MarkStalled => Command::MarkStalled,
            Action::Requeue => Command::Requeue {
                todo_at: self.text.as_ref().map(|_| deadline),
            },
            Action::Accelerate => Command::Accelerate,
        }
    }
}

/// A random starting task: random rules, the [`specs`] with valid first
/// values, maybe scheduled for later.
pub fn start_task() -> impl Strategy<Value = Task<NamedKind>> {
    let subtasks = proptest::collection::vec((any::<bool>(), proptest::option::of(0u32..4)), 0..5);
    (
        rules(),
        proptest::option::of(0i64..3600),
        any::<u64>(),
        subtasks,
    )
        .prop_map(|(rules, todo_in, seed, subtasks)| {
            let mut kind = NamedKind::with_rules("DomainCreate", rules);
            kind.arguments = specs();
            let mut new = NewTask::new(
                IdGenerator::seeded(seed).next_id(t(0)),
                kind,
                Owner::new("alice"),
                ResourceRef::new("domain", "example.fr"),
            )
            .argument("domain", "example.fr")
            .argument("duration", 1);
            for (position, (optional, parent)) in subtasks.into_iter().enumerate() {
                let mut subtask = NewSubtask::new(format!("step{position}"), "a step");
                if optional {
                    subtask = subtask.optional();
                }
                if let Some(parent) = parent.filter(|p| (*p as usize) < position) {
                    subtask = subtask.under(parent);
                }
                new = new.subtask(subtask);
            }
            if let Some(seconds) = todo_in {
                new = new.todo_at(t(seconds));
            }
            Task::create(new, alice(), t(0)).unwrap()
        })
}
