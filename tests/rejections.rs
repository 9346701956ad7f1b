#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Nothing lost on rejection: for every way a command or a store call is
//! refused, the whole record is the same before and after (`==` on the
//! task, and the same JSON, value and text), its log still rebuilds it,
//! and the store holds the same bytes, the log's included.
//!
//! - **Rejections** ([`rejection_cases`]): every variant of `Rejection`
//!   that `Task::apply`, `Task::create` or a run handle returns, and every
//!   `RelaunchRefusal` a relaunch or a correction carries, each on a
//!   record driven to where it applies (with its log). Each case runs
//!   three times: on the record alone, and on the record as loaded from a
//!   `MemoryStore` and from the SQLite example store, with other tasks
//!   beside it. The store must hold the same bytes after the refusal, and
//!   again after the host saves the refused record anyway: that save is
//!   itself refused (`StoreError::Refused`, as the record is no newer
//!   than the stored one) and writes nothing.
//! - **Store errors** ([`store_refusals`]): a compare-and-swap conflict
//!   (a stale copy, an expected version ahead), a save of a task never
//!   stored, a duplicate insert (the same task, and a forged one with the
//!   same id and another owner), the saves a store refuses
//!   (`StoreError::Refused`: an insert with another task's creation, a
//!   save that rolls back, a save whose events do not follow the log, a
//!   save that drops an append, a save changing the owner), another
//!   owner's scoped reads (of records and logs) and a save of what it was
//!   refused, an insert of a unique key a live task holds
//!   (`StoreError::KeyTaken`), claims with nothing due (scheduled later,
//!   blocked by a blocking task in progress) and sweeps with nothing to
//!   find, a claim that could start nothing (`StoreError::InvalidRequest`)
//!   and, on SQLite, times outside the years the store covers, in the
//!   record or in an event (`StoreError::InvalidRequest`), a save on a
//!   file whose events table is gone (`StoreError::Backend`) and a row
//!   that does not read (`StoreError::Unreadable`).
//!
//! "The same bytes" is, for the `MemoryStore`, the JSON text of every
//! stored task and of its log read through `Scope::Staff`; for SQLite,
//! every column of every row of `tasks` (the task's JSON `body`, its
//! `version`, the indexed columns) and of `events` (the log) read through
//! a second `rusqlite` connection, and SQLite's `data_version`, which
//! moves when any other connection commits a write.
//!
//! `Rejection`, `RelaunchRefusal` and `StoreError` are `#[non_exhaustive]`,
//! so a `match` on them outside the crate needs a wildcard arm. To still
//! fail when a variant is added, the test reads the enums' declarations in
//! the crate's source and requires a case for each variant they list.

mod common;

use taskstate_sqlite as store;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use rusqlite::types::Value;

use taskstate::store::{
    ClaimRequest, Filter, MemoryStore, PageRequest, Scope, StoreError, Sweep, TaskStore,
};
use taskstate::{
    Action, Actor, ArgumentSpec, ArgumentValue, Arguments, CancelRules, Command, Event, Failure,
    IdGenerator, LeaseToken, NamedKind, NewSubtask, NewTask, Outcome, Owner, Rejection,
    RelaunchRefusal, RelaunchRules, ResourceRef, RoleSet, Rules, StatusSet, SubtaskChange, Task,
};

use common::{Logged, alice, bob, mallory, provider_failure, t};

use store::{SqliteStore, remove_files, temp_path};

type T = Task<NamedKind>;
type E = Event<NamedKind>;

// ---------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------

/// The kind of the tasks here: a read-only `domain` and a correctable
/// `note` of 5 to 50 characters.
fn kind(rules: Rules) -> NamedKind {
    NamedKind::with_rules("DomainCreate", rules)
        .argument(ArgumentSpec::text("domain", 1, 255).read_only().required())
        .argument(ArgumentSpec::text("note", 5, 50))
}

fn new_task(seed: u64, rules: Rules) -> NewTask<NamedKind> {
    NewTask::new(
        IdGenerator::seeded(seed).next_id(t(0)),
        kind(rules),
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    )
    .argument("domain", "example.fr")
}

/// Applies a command that must be accepted to a record and its log.
fn drive(task: &mut Logged, command: Command<NamedKind>, actor: Actor, at: i64) {
    if let Err(rejection) = task.apply(command.clone(), actor.clone(), t(at)) {
        panic!("{actor} {command:?} refused: {rejection}");
    }
}

/// Applies a command that must be accepted to a record alone (one loaded
/// from a store), and returns the event to save with it.
fn step(task: &mut T, command: Command<NamedKind>, actor: Actor, at: i64) -> Option<E> {
    match task.apply(command.clone(), actor.clone(), t(at)) {
        Ok(event) => event,
        Err(rejection) => panic!("{actor} {command:?} refused: {rejection}"),
    }
}

/// The token of the latest run in `log`: the one its latest `start`
/// issued (a lease does not show its token).
fn token(log: &[E]) -> LeaseToken {
    let start = log
        .iter()
        .rev()
        .find(|event| event.action() == Action::Start)
        .expect("a started task");
    start.lease_token().expect("a start issues a token")
}

/// alice's pending task, created at `t(0)`.
fn pending(rules: Rules) -> Logged {
    Logged::new(Task::create(new_task(1, rules), alice(), t(0)).unwrap())
}

/// Started at `t(10)` under a lease until `t(300)`.
fn started(mut task: Logged) -> Logged {
    let start = Command::Start {
        lease_until: t(300),
        worker: Some("worker-1".into()),
    };
    drive(&mut task, start, Actor::System, 10);
    task
}

fn running(rules: Rules) -> Logged {
    started(pending(rules))
}

/// Failed by its executor at `t(20)`.
fn failed(rules: Rules, failure: Failure) -> Logged {
    let mut task = running(rules);
    let fail = Command::Fail {
        token: Some(token(&task.log)),
        failure: Box::new(failure),
    };
    drive(&mut task, fail, Actor::System, 20);
    task
}

fn customer_failure() -> Failure {
    Failure::customer("NOTE_INVALID", "the note is invalid", t(20)).flag("note")
}

/// A valid correction of `note`.
fn valid_note() -> Arguments {
    Arguments::from([("note".to_owned(), ArgumentValue::from("a fine note"))])
}

fn cmd_fail(token: Option<LeaseToken>, failure: Failure) -> Command<NamedKind> {
    Command::Fail {
        token,
        failure: Box::new(failure),
    }
}

/// Applies a command that must be refused, and returns the refusal.
fn refuse(task: &mut T, command: Command<NamedKind>, actor: Actor, at: i64) -> Rejection {
    task.apply(command, actor, t(at))
        .map(|event| event.map(|event| event.version))
        .expect_err("the command should be refused")
}

// ---------------------------------------------------------------------
// The variants, read from the source
// ---------------------------------------------------------------------

/// The variants declared in `pub enum {name} {…}` of `source`: the lines
/// indented by four spaces that start with a capital.
fn declared_variants(source: &str, name: &str) -> BTreeSet<String> {
    let start = format!("pub enum {name} {{");
    let body = source
        .split_once(&start)
        .unwrap_or_else(|| panic!("no `{start}` in the source"))
        .1;
    let body = body.split_once("\n}").unwrap().0;
    body.lines()
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|line| {
            line.chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect()
        })
        .collect()
}

const ERROR_RS: &str = include_str!("../src/task/error.rs");
const STORE_ERROR_RS: &str = include_str!("../src/store/error.rs");

/// The name of a rejection's variant. The wildcard is forced by
/// `#[non_exhaustive]`; [`every_variant_has_a_case`] catches new variants.
fn rejection_name(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::IllegalMove { .. } => "IllegalMove",
        Rejection::RoleNotAllowed { .. } => "RoleNotAllowed",
        Rejection::NotOwner { .. } => "NotOwner",
        Rejection::StaleLease { .. } => "StaleLease",
        Rejection::LeaseActive { .. } => "LeaseActive",
        Rejection::NotDue { .. } => "NotDue",
        Rejection::AlreadyDue => "AlreadyDue",
        Rejection::CancelAlreadyRequested { .. } => "CancelAlreadyRequested",
        Rejection::CancelNotRequested => "CancelNotRequested",
        Rejection::RefusedByRule { .. } => "RefusedByRule",
        Rejection::WrongTask { .. } => "WrongTask",
        Rejection::InvalidArgument(_) => "InvalidArgument",
        Rejection::CannotRelaunch { .. } => "CannotRelaunch",
        Rejection::CannotCorrect { .. } => "CannotCorrect",
        Rejection::NoRetryScheduled { .. } => "NoRetryScheduled",
        Rejection::RetryNotDue { .. } => "RetryNotDue",
        Rejection::IllegalSubtaskMove { .. } => "IllegalSubtaskMove",
        Rejection::SubtasksUnsatisfied { .. } => "SubtasksUnsatisfied",
        Rejection::InvalidInput { .. } => "InvalidInput",
        _ => "a variant this test does not know",
    }
}

/// The name of a relaunch refusal's variant, or `None` for a rejection
/// that carries none.
fn refusal_name(rejection: &Rejection) -> Option<&'static str> {
    let (Rejection::CannotRelaunch { reason } | Rejection::CannotCorrect { reason }) = rejection
    else {
        return None;
    };
    Some(match reason {
        RelaunchRefusal::DedicatedRoute { .. } => "DedicatedRoute",
        RelaunchRefusal::OperatorsOnly => "OperatorsOnly",
        RelaunchRefusal::ProviderFailure => "ProviderFailure",
        RelaunchRefusal::Final => "Final",
        RelaunchRefusal::BudgetSpent { .. } => "BudgetSpent",
        RelaunchRefusal::Uncorrected { .. } => "Uncorrected",
        _ => "a variant this test does not know",
    })
}

fn store_error_name(error: &StoreError) -> &'static str {
    match error {
        StoreError::Conflict { .. } => "Conflict",
        StoreError::Duplicate { .. } => "Duplicate",
        StoreError::NotFound { .. } => "NotFound",
        StoreError::KeyTaken { .. } => "KeyTaken",
        StoreError::Refused { .. } => "Refused",
        StoreError::InvalidRequest { .. } => "InvalidRequest",
        StoreError::Unreadable { .. } => "Unreadable",
        StoreError::Backend { .. } => "Backend",
        _ => "a variant this test does not know",
    }
}

// ---------------------------------------------------------------------
// The rejection cases
// ---------------------------------------------------------------------

/// An attempt on a record, given the record's log (to find its run's
/// token).
type Attempt = Box<dyn Fn(&mut T, &[E]) -> Rejection>;

/// One way to be refused: the record it is tried on, and the attempt.
struct Case {
    /// The `Rejection` variant expected.
    variant: &'static str,
    /// The `RelaunchRefusal` variant it carries, if any.
    reason: Option<&'static str>,
    /// What is tried.
    what: &'static str,
    /// The record, as stored before the attempt.
    task: T,
    /// Its log.
    log: Vec<E>,
    attempt: Attempt,
}

fn case(
    variant: &'static str,
    what: &'static str,
    record: Logged,
    attempt: impl Fn(&mut T, &[E]) -> Rejection + 'static,
) -> Case {
    Case {
        variant,
        reason: None,
        what,
        task: record.task,
        log: record.log,
        attempt: Box::new(attempt),
    }
}

fn relaunch_case(
    variant: &'static str,
    reason: &'static str,
    what: &'static str,
    task: Logged,
    attempt: impl Fn(&mut T, &[E]) -> Rejection + 'static,
) -> Case {
    Case {
        reason: Some(reason),
        ..case(variant, what, task, attempt)
    }
}

/// Every refusal of a command, on a record driven to where it applies.
fn rejection_cases() -> Vec<Case> {
    let standard = || Rules::STANDARD;
    let stoppable = || Rules::new().cancel(CancelRules::STANDARD.with_running());
    let with_subtasks = || {
        let new = new_task(1, Rules::STANDARD)
            .subtask(NewSubtask::new("validate", "required"))
            .subtask(NewSubtask::new("commit", "required"))
            .subtask(NewSubtask::new("child", "nested").under(1));
        started(Logged::new(Task::create(new, alice(), t(0)).unwrap()))
    };

    let mut cases = vec![
        // The move itself.
        case(
            "IllegalMove",
            "cancel a done task",
            {
                let mut task = running(standard());
                let complete = Command::Complete {
                    token: token(&task.log),
                    outcome: Box::default(),
                };
                drive(&mut task, complete, Actor::System, 20);
                task
            },
            |task, _| refuse(task, Command::Cancel { reason: None }, alice(), 30),
        ),
        case(
            "IllegalMove",
            "create an existing task again",
            pending(standard()),
            |task, _| {
                let again = Command::Create(Arc::new(new_task(1, Rules::STANDARD)));
                refuse(task, again, bob(), 30)
            },
        ),
        case(
            "RoleNotAllowed",
            "a customer starts its task",
            pending(standard()),
            |task, _| {
                let start = Command::Start {
                    lease_until: t(300),
                    worker: None,
                };
                refuse(task, start, alice(), 10)
            },
        ),
        case(
            "RoleNotAllowed",
            "the system resolves a failure, which only operators may",
            failed(standard(), provider_failure(t(20))),
            |task, _| refuse(task, Command::Resolve, Actor::System, 30),
        ),
        case(
            "NotOwner",
            "another customer cancels",
            pending(standard()),
            |task, _| refuse(task, Command::Cancel { reason: None }, mallory(), 10),
        ),
        case(
            "NotOwner",
            "another customer relaunches",
            failed(standard(), customer_failure()),
            |task, _| {
                let relaunch = Command::Relaunch {
                    arguments: valid_note(),
                };
                refuse(task, relaunch, mallory(), 30)
            },
        ),
        case(
            "NotOwner",
            "a customer creates a task in another owner's name",
            pending(standard()),
            |_, _| Task::create(new_task(7, Rules::STANDARD), mallory(), t(0)).unwrap_err(),
        ),
        // The lease.
        case(
            "StaleLease",
            "the first run heartbeats after a requeue and a new start",
            {
                let mut task = running(standard());
                drive(&mut task, Command::MarkStalled, Actor::System, 400);
                drive(&mut task, Command::Requeue { todo_at: None }, bob(), 410);
                started_at(task, 420)
            },
            |task, _| {
                let heartbeat = Command::Heartbeat {
                    token: LeaseToken::new(2),
                    lease_until: t(900),
                    progress: None,
                    check_at: None,
                };
                refuse(task, heartbeat, Actor::System, 430)
            },
        ),
        case(
            "StaleLease",
            "the system fails a running task without a token",
            running(standard()),
            |task, _| {
                refuse(
                    task,
                    cmd_fail(None, provider_failure(t(20))),
                    Actor::System,
                    20,
                )
            },
        ),
        case(
            "StaleLease",
            "a stalled task failed with a token",
            {
                let mut task = running(standard());
                drive(&mut task, Command::MarkStalled, Actor::System, 400);
                task
            },
            |task, _| {
                refuse(
                    task,
                    cmd_fail(Some(LeaseToken::new(2)), provider_failure(t(410))),
                    bob(),
                    410,
                )
            },
        ),
        // A token that is not the current lease's is stale before the
        // table is asked: on a task whose run ended, a heartbeat is
        // refused as stale, not as an illegal move from `done`.
        case(
            "StaleLease",
            "the run heartbeats after it completed",
            {
                let mut task = running(standard());
                let complete = Command::Complete {
                    token: token(&task.log),
                    outcome: Box::default(),
                };
                drive(&mut task, complete, Actor::System, 20);
                task
            },
            |task, log| {
                let heartbeat = Command::Heartbeat {
                    token: token(log),
                    lease_until: t(900),
                    progress: None,
                    check_at: None,
                };
                refuse(task, heartbeat, Actor::System, 30)
            },
        ),
        case(
            "LeaseActive",
            "mark stalled before the lease runs out",
            running(standard()),
            |task, _| refuse(task, Command::MarkStalled, Actor::System, 100),
        ),
        case(
            "WrongTask",
            "a run handle used on another task",
            running(standard()),
            |task, _| {
                let (mut other, _) =
                    Task::create(new_task(9, Rules::STANDARD), alice(), t(0)).unwrap();
                let (run, _) = other.start(t(300), None, t(10)).unwrap();
                run.heartbeat(task, t(400), None, t(20)).unwrap_err()
            },
        ),
        // Times.
        case(
            "NotDue",
            "start before todo_at",
            {
                let new = new_task(1, Rules::STANDARD).todo_at(t(600));
                Logged::new(Task::create(new, alice(), t(0)).unwrap())
            },
            |task, _| {
                let start = Command::Start {
                    lease_until: t(300),
                    worker: None,
                };
                refuse(task, start, Actor::System, 10)
            },
        ),
        case(
            "AlreadyDue",
            "accelerate a due task",
            pending(standard()),
            |task, _| refuse(task, Command::Accelerate, alice(), 10),
        ),
        case(
            "RetryNotDue",
            "retry before the retry time",
            failed(standard(), provider_failure(t(20))),
            |task, _| refuse(task, Command::Retry, Actor::System, 21),
        ),
        case(
            "NoRetryScheduled",
            "retry a customer failure",
            failed(standard(), customer_failure()),
            |task, _| refuse(task, Command::Retry, Actor::System, 5000),
        ),
        // Cancel requests.
        case(
            "CancelAlreadyRequested",
            "cancel running work twice",
            {
                let mut task = running(stoppable());
                drive(&mut task, Command::Cancel { reason: None }, alice(), 20);
                task
            },
            |task, _| refuse(task, Command::Cancel { reason: None }, bob(), 30),
        ),
        case(
            "CancelAlreadyRequested",
            "requeue a stalled task that keeps a cancel request",
            {
                let mut task = running(stoppable());
                drive(&mut task, Command::Cancel { reason: None }, alice(), 20);
                drive(&mut task, Command::MarkStalled, Actor::System, 400);
                task
            },
            |task, _| refuse(task, Command::Requeue { todo_at: None }, bob(), 410),
        ),
        case(
            "CancelNotRequested",
            "acknowledge a cancel nobody asked for",
            running(standard()),
            |task, log| {
                let ack = Command::AcknowledgeCancel { token: token(log) };
                refuse(task, ack, Actor::System, 20)
            },
        ),
        // The kind's rules.
        case(
            "RefusedByRule",
            "a customer cancels running work of a kind that cannot stop",
            running(standard()),
            |task, _| refuse(task, Command::Cancel { reason: None }, alice(), 20),
        ),
        case(
            "RefusedByRule",
            "accelerate where the kind lets nobody",
            {
                let new = new_task(1, Rules::new().accelerate(RoleSet::EMPTY)).todo_at(t(600));
                Logged::new(Task::create(new, alice(), t(0)).unwrap())
            },
            |task, _| refuse(task, Command::Accelerate, alice(), 10),
        ),
        case(
            "RefusedByRule",
            "edit a pending task of a kind that edits failed ones",
            pending(standard()),
            |task, _| {
                refuse(
                    task,
                    Command::set_argument("note", "a fine note"),
                    alice(),
                    10,
                )
            },
        ),
        case(
            "RefusedByRule",
            "relaunch with corrections where the kind edits nothing",
            failed(Rules::new().edit(StatusSet::EMPTY), customer_failure()),
            |task, _| {
                refuse(
                    task,
                    Command::Relaunch {
                        arguments: valid_note(),
                    },
                    bob(),
                    30,
                )
            },
        ),
        case(
            "RefusedByRule",
            "start a subtask after a required one failed, under fail-fast",
            {
                let mut task = with_subtasks();
                let token = token(&task.log);
                drive(
                    &mut task,
                    Command::Subtask {
                        token,
                        id: 0,
                        change: SubtaskChange::Start,
                    },
                    Actor::System,
                    20,
                );
                let errors = vec![Failure::provider("CHECK_FAILED", "no", t(21))];
                drive(
                    &mut task,
                    Command::Subtask {
                        token,
                        id: 0,
                        change: SubtaskChange::Fail { errors },
                    },
                    Actor::System,
                    21,
                );
                task
            },
            |task, log| {
                let start = Command::Subtask {
                    token: token(log),
                    id: 1,
                    change: SubtaskChange::Start,
                };
                refuse(task, start, Actor::System, 22)
            },
        ),
        // Arguments.
        case(
            "InvalidArgument",
            "set a value shorter than the spec allows",
            failed(standard(), customer_failure()),
            |task, _| refuse(task, Command::set_argument("note", "abc"), alice(), 30),
        ),
        case(
            "InvalidArgument",
            "set a read-only argument",
            failed(standard(), customer_failure()),
            |task, _| refuse(task, Command::set_argument("domain", "other.fr"), bob(), 30),
        ),
        case(
            "InvalidArgument",
            "set an argument the kind does not declare",
            failed(standard(), customer_failure()),
            |task, _| refuse(task, Command::set_argument("color", "blue"), alice(), 30),
        ),
        case(
            "InvalidArgument",
            "relaunch with one valid and one read-only correction: none applied",
            failed(standard(), customer_failure()),
            |task, _| {
                let mut arguments = valid_note();
                arguments.insert("domain".to_owned(), ArgumentValue::from("other.fr"));
                refuse(task, Command::Relaunch { arguments }, alice(), 30)
            },
        ),
        case(
            "InvalidArgument",
            "create with a value outside the spec",
            pending(standard()),
            |_, _| {
                let new = new_task(7, Rules::STANDARD).argument("note", "abc");
                Task::create(new, alice(), t(0)).unwrap_err()
            },
        ),
        // Relaunches and corrections.
        relaunch_case(
            "CannotRelaunch",
            "DedicatedRoute",
            "an operator relaunches without values where the kind has its own route",
            failed(
                Rules::new().relaunch(RelaunchRules::dedicated_route("use the credentials route")),
                customer_failure(),
            ),
            |task, _| refuse(task, Command::relaunch(), bob(), 30),
        ),
        relaunch_case(
            "CannotRelaunch",
            "OperatorsOnly",
            "a customer relaunches a kind only operators relaunch",
            failed(
                Rules::new().relaunch(RelaunchRules::OPERATORS_ONLY),
                customer_failure(),
            ),
            move |task, _| {
                refuse(
                    task,
                    Command::Relaunch {
                        arguments: valid_note(),
                    },
                    alice(),
                    30,
                )
            },
        ),
        relaunch_case(
            "CannotRelaunch",
            "ProviderFailure",
            "a customer relaunches a provider fault",
            failed(standard(), provider_failure(t(20))),
            |task, _| refuse(task, Command::relaunch(), alice(), 30),
        ),
        relaunch_case(
            "CannotRelaunch",
            "Final",
            "a customer relaunches a failure made final by its cancel request",
            {
                let mut task = running(stoppable());
                drive(&mut task, Command::Cancel { reason: None }, alice(), 20);
                let fail = cmd_fail(
                    Some(token(&task.log)),
                    Failure::customer("STOPPED", "stopped", t(30)),
                );
                drive(&mut task, fail, Actor::System, 30);
                task
            },
            |task, _| refuse(task, Command::relaunch(), alice(), 40),
        ),
        relaunch_case(
            "CannotRelaunch",
            "BudgetSpent",
            "a customer relaunches once more than the kind allows",
            {
                let rules = Rules::new().relaunch(RelaunchRules::STANDARD.max(1));
                let mut task = failed(rules, customer_failure());
                drive(
                    &mut task,
                    Command::Relaunch {
                        arguments: valid_note(),
                    },
                    alice(),
                    30,
                );
                let mut task = started_at(task, 40);
                let fail = cmd_fail(Some(token(&task.log)), customer_failure());
                drive(&mut task, fail, Actor::System, 50);
                task
            },
            move |task, _| {
                refuse(
                    task,
                    Command::Relaunch {
                        arguments: valid_note(),
                    },
                    alice(),
                    60,
                )
            },
        ),
        relaunch_case(
            "CannotRelaunch",
            "Uncorrected",
            "a customer relaunches before correcting",
            failed(standard(), customer_failure()),
            |task, _| refuse(task, Command::relaunch(), alice(), 30),
        ),
        relaunch_case(
            "CannotCorrect",
            "ProviderFailure",
            "a customer corrects a provider fault",
            failed(standard(), provider_failure(t(20))),
            |task, _| {
                refuse(
                    task,
                    Command::set_argument("note", "a fine note"),
                    alice(),
                    30,
                )
            },
        ),
        relaunch_case(
            "CannotCorrect",
            "OperatorsOnly",
            "a customer corrects a kind only operators relaunch",
            failed(
                Rules::new().relaunch(RelaunchRules::OPERATORS_ONLY),
                customer_failure(),
            ),
            |task, _| {
                refuse(
                    task,
                    Command::set_argument("note", "a fine note"),
                    alice(),
                    30,
                )
            },
        ),
        // Subtasks.
        case(
            "IllegalSubtaskMove",
            "succeed a subtask that never started",
            with_subtasks(),
            |task, log| {
                let succeed = Command::Subtask {
                    token: token(log),
                    id: 0,
                    change: SubtaskChange::Succeed,
                };
                refuse(task, succeed, Actor::System, 20)
            },
        ),
        case(
            "SubtasksUnsatisfied",
            "complete with required subtasks pending",
            with_subtasks(),
            |task, log| {
                let complete = Command::Complete {
                    token: token(log),
                    outcome: Box::new(Outcome::new().message("done")),
                };
                refuse(task, complete, Actor::System, 20)
            },
        ),
        case(
            "SubtasksUnsatisfied",
            "succeed a subtask whose child is pending",
            {
                let mut task = with_subtasks();
                let token = token(&task.log);
                drive(
                    &mut task,
                    Command::Subtask {
                        token,
                        id: 1,
                        change: SubtaskChange::Start,
                    },
                    Actor::System,
                    20,
                );
                task
            },
            |task, log| {
                let succeed = Command::Subtask {
                    token: token(log),
                    id: 1,
                    change: SubtaskChange::Succeed,
                };
                refuse(task, succeed, Actor::System, 21)
            },
        ),
        // The command's own data.
        case(
            "InvalidInput",
            "start with a lease that ends now",
            pending(standard()),
            |task, _| {
                refuse(
                    task,
                    Command::Start {
                        lease_until: t(10),
                        worker: None,
                    },
                    Actor::System,
                    10,
                )
            },
        ),
        case(
            "InvalidInput",
            "heartbeat with a deadline in the past",
            running(standard()),
            |task, log| {
                let heartbeat = Command::Heartbeat {
                    token: token(log),
                    lease_until: t(5),
                    progress: None,
                    check_at: None,
                };
                refuse(task, heartbeat, Actor::System, 20)
            },
        ),
        case(
            "InvalidInput",
            "heartbeat that would shorten the lease",
            running(standard()),
            |task, log| {
                let heartbeat = Command::Heartbeat {
                    token: token(log),
                    lease_until: t(200),
                    progress: Some("shorter".into()),
                    check_at: None,
                };
                refuse(task, heartbeat, Actor::System, 20)
            },
        ),
        case(
            "InvalidInput",
            "wait with a time to look again after the wait gives up",
            running(standard()),
            |task, log| {
                let wait = Command::Wait {
                    token: token(log),
                    until: t(600),
                    check_at: Some(t(700)),
                    reason: Some("the registry answers later".into()),
                };
                refuse(task, wait, Actor::System, 20)
            },
        ),
        case(
            "InvalidInput",
            "fail with an empty code",
            running(standard()),
            |task, log| {
                refuse(
                    task,
                    cmd_fail(Some(token(log)), Failure::provider("", "?", t(20))),
                    Actor::System,
                    20,
                )
            },
        ),
        case(
            "InvalidInput",
            "fail flagging a read-only argument",
            running(standard()),
            |task, log| {
                let failure = Failure::customer("DOMAIN_BAD", "bad", t(20)).flag("domain");
                refuse(task, cmd_fail(Some(token(log)), failure), Actor::System, 20)
            },
        ),
        case(
            "InvalidInput",
            "report more steps done than there are",
            running(standard()),
            |task, log| {
                let progress = Command::ReportProgress {
                    token: token(log),
                    percent: None,
                    steps: Some((3, 2)),
                    current_step: None,
                    expected_done_at: None,
                };
                refuse(task, progress, Actor::System, 20)
            },
        ),
        case(
            "InvalidInput",
            "add a subtask without a name",
            running(standard()),
            |task, log| {
                let add = Command::AddSubtask {
                    token: token(log),
                    subtask: NewSubtask::new("", ""),
                };
                refuse(task, add, Actor::System, 20)
            },
        ),
        case(
            "InvalidInput",
            "move a subtask the task does not have",
            with_subtasks(),
            |task, log| {
                let start = Command::Subtask {
                    token: token(log),
                    id: 9,
                    change: SubtaskChange::Start,
                };
                refuse(task, start, Actor::System, 20)
            },
        ),
        case(
            "InvalidInput",
            "fail a subtask with no error",
            {
                let mut task = with_subtasks();
                let token = token(&task.log);
                drive(
                    &mut task,
                    Command::Subtask {
                        token,
                        id: 0,
                        change: SubtaskChange::Start,
                    },
                    Actor::System,
                    20,
                );
                task
            },
            |task, log| {
                let fail = Command::Subtask {
                    token: token(log),
                    id: 0,
                    change: SubtaskChange::Fail { errors: vec![] },
                };
                refuse(task, fail, Actor::System, 21)
            },
        ),
        case(
            "InvalidInput",
            "create a task on a resource with no id",
            pending(standard()),
            |_, _| {
                let mut new = new_task(7, Rules::STANDARD);
                new.resource.id.clear();
                Task::create(new, alice(), t(0)).unwrap_err()
            },
        ),
    ];
    // The same record, refused by each party in turn where the table has
    // no move for it: nothing leaks through any role.
    for actor in [alice(), bob(), Actor::System] {
        let what = match actor.role() {
            taskstate::Role::Customer => "the owner starts a cancelled task",
            taskstate::Role::Operator => "an operator starts a cancelled task",
            taskstate::Role::System => "the system starts a cancelled task",
        };
        let mut task = pending(standard());
        drive(&mut task, Command::Cancel { reason: None }, alice(), 5);
        cases.push(case("IllegalMove", what, task, move |task, _| {
            let start = Command::Start {
                lease_until: t(300),
                worker: None,
            };
            refuse(task, start, actor.clone(), 10)
        }));
    }
    cases
}

/// `task` started again at `t(at)` under a lease until `t(at + 300)`.
fn started_at(mut task: Logged, at: i64) -> Logged {
    let start = Command::Start {
        lease_until: t(at + 300),
        worker: Some("worker-2".into()),
    };
    drive(&mut task, start, Actor::System, at);
    task
}

/// Tasks stored beside a case's record: another owner's, and another of
/// alice's, running.
fn neighbours() -> Vec<Logged> {
    let theirs = NewTask::new(
        IdGenerator::seeded(2).next_id(t(0)),
        kind(Rules::STANDARD),
        Owner::new("mallory"),
        ResourceRef::new("domain", "mallory.fr"),
    )
    .argument("domain", "mallory.fr");
    let theirs = Logged::new(Task::create(theirs, mallory(), t(0)).unwrap());
    let mine = Logged::new(Task::create(new_task(3, Rules::STANDARD), alice(), t(0)).unwrap());
    vec![theirs, started(mine)]
}

/// Stores a record with its log, as a host would have: the creation
/// inserted, then everything after it saved in one go.
fn put<S: TaskStore<NamedKind>>(store: &S, task: &T, log: &[E]) {
    let created = Task::replay(&log[..1]).unwrap();
    store.insert(created, log[0].clone()).unwrap();
    if log.len() > 1 {
        store.save(task, 1, &log[1..]).unwrap();
    }
    assert_eq!(
        store.get(&Scope::Staff, task.id()).unwrap().as_ref(),
        Some(task)
    );
    assert_eq!(store.log(&Scope::Staff, task.id(), 0, 1000).unwrap(), log);
}

/// The record alone: equal, and the same JSON value and text, after the
/// refusal. Returns the refusal.
fn check_record(case: &Case) -> Rejection {
    let mut task = case.task.clone();
    let value = serde_json::to_value(&task).unwrap();
    let text = serde_json::to_string(&task).unwrap();
    let rejection = (case.attempt)(&mut task, &case.log);
    let label = format!("{} ({})", case.what, rejection);
    assert_eq!(rejection_name(&rejection), case.variant, "{label}");
    assert_eq!(refusal_name(&rejection), case.reason, "{label}");
    assert_eq!(task, case.task, "{label}: the record changed");
    assert_eq!(serde_json::to_value(&task).unwrap(), value, "{label}");
    assert_eq!(serde_json::to_string(&task).unwrap(), text, "{label}");
    // What a caller would ask next reads the same too: the version, and
    // the log still rebuilds the record.
    assert_eq!(task.version(), case.task.version());
    task.check_log(&case.log)
        .unwrap_or_else(|error| panic!("{label}: the log no longer fits: {error}"));
    rejection
}

/// The case through a store: load, refuse, compare the store's bytes;
/// save the refused record anyway (refused: it is no newer than what is
/// stored), compare again; load, compare the record and its log.
fn check_in_store<S, Snap>(
    case: &Case,
    expected: &Rejection,
    store: &S,
    snapshot: &dyn Fn() -> Snap,
) where
    S: TaskStore<NamedKind>,
    Snap: PartialEq + Debug,
{
    put(store, &case.task, &case.log);
    for other in neighbours() {
        put(store, &other.task, &other.log);
    }
    let before = snapshot();
    let mut loaded = store.get(&Scope::Staff, case.task.id()).unwrap().unwrap();
    assert_eq!(
        loaded, case.task,
        "{}: the store gives back another record",
        case.what
    );
    let log = store.log(&Scope::Staff, case.task.id(), 0, 1000).unwrap();
    let rejection = (case.attempt)(&mut loaded, &log);
    assert_eq!(&rejection, expected, "{}", case.what);
    assert_eq!(loaded, case.task, "{}", case.what);
    assert_eq!(snapshot(), before, "{}: the store changed", case.what);
    // The refused record saved anyway: nothing newer than the stored one,
    // so the store refuses it and writes nothing.
    let saved = store.save(&loaded, loaded.version(), &[]);
    assert!(
        matches!(saved, Err(StoreError::Refused { id, .. }) if id == case.task.id()),
        "{}: saving the refused record gave {saved:?}",
        case.what
    );
    assert_eq!(
        snapshot(),
        before,
        "{}: saving the refused record wrote something",
        case.what
    );
    assert_eq!(
        store.get(&Scope::Staff, case.task.id()).unwrap().unwrap(),
        case.task
    );
    assert_eq!(
        store.log(&Scope::Staff, case.task.id(), 0, 1000).unwrap(),
        case.log
    );
}

/// The JSON text of every task a `MemoryStore` holds and of its log, read
/// as staff.
fn memory_bytes(store: &MemoryStore<NamedKind>) -> Vec<(String, String)> {
    let page = store
        .list(&Scope::Staff, &Filter::new(), PageRequest::first(10_000))
        .unwrap();
    assert!(page.next.is_none());
    page.tasks
        .iter()
        .map(|task| {
            let log = store.log(&Scope::Staff, task.id(), 0, usize::MAX).unwrap();
            (
                serde_json::to_string(task).unwrap(),
                serde_json::to_string(&log).unwrap(),
            )
        })
        .collect()
}

/// A SQLite database file, removed with its side files when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new(label: &str) -> TempDb {
        TempDb(temp_path(label))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_files(&self.0).unwrap();
    }
}

/// Every column of every row of `table`, in key order, as SQLite stores
/// it.
fn table_rows(reader: &rusqlite::Connection, table: &str, order: &str) -> Vec<Vec<Value>> {
    let mut statement = reader
        .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
        .unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|i| row.get::<_, Value>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// What a second connection reads of the store: every column of every row
/// of `tasks` (by id) and of `events` (by task and version), read in one
/// transaction so that both are of the same moment.
fn sqlite_rows(reader: &rusqlite::Connection) -> (Vec<Vec<Value>>, Vec<Vec<Value>>) {
    reader.execute_batch("BEGIN").unwrap();
    let rows = (
        table_rows(reader, "tasks", "id"),
        table_rows(reader, "events", "task_id, version"),
    );
    reader.execute_batch("COMMIT").unwrap();
    rows
}

/// SQLite's count of commits by other connections, as `reader` sees it.
fn data_version(reader: &rusqlite::Connection) -> i64 {
    reader
        .query_row("PRAGMA data_version", [], |row| row.get(0))
        .unwrap()
}

fn reader(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn every_refused_command_leaves_the_record_and_both_stores_as_they_were() {
    let cases = rejection_cases();
    for case in &cases {
        let rejection = check_record(case);

        let memory = MemoryStore::new();
        check_in_store(case, &rejection, &memory, &|| memory_bytes(&memory));

        let db = TempDb::new("rejections");
        let sqlite: SqliteStore<NamedKind> = SqliteStore::open(&db.0).unwrap();
        let reader = reader(&db.0);
        check_in_store(case, &rejection, &sqlite, &|| sqlite_rows(&reader));
        // Refusals alone commit nothing at all, a refused save included.
        let version = data_version(&reader);
        let mut loaded = sqlite.get(&Scope::Staff, case.task.id()).unwrap().unwrap();
        let _ = (case.attempt)(&mut loaded, &case.log);
        assert!(sqlite.save(&loaded, loaded.version(), &[]).is_err());
        assert_eq!(data_version(&reader), version, "{}", case.what);
    }
}

#[test]
fn every_variant_has_a_case() {
    let cases = rejection_cases();
    let covered: BTreeSet<String> = cases.iter().map(|c| c.variant.to_owned()).collect();
    assert_eq!(
        covered,
        declared_variants(ERROR_RS, "Rejection"),
        "a Rejection variant without a case here, or a case of no variant"
    );
    let reasons: BTreeSet<String> = cases
        .iter()
        .filter_map(|c| c.reason.map(str::to_owned))
        .collect();
    assert_eq!(reasons, declared_variants(ERROR_RS, "RelaunchRefusal"));
    let store_errors: BTreeSet<String> = STORE_PATHS.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        store_errors,
        declared_variants(STORE_ERROR_RS, "StoreError")
    );
}

// ---------------------------------------------------------------------
// Store refusals
// ---------------------------------------------------------------------

/// The `StoreError` variants [`store_refusals`] and the SQLite tests
/// after it reach.
const STORE_PATHS: &[&str] = &[
    "Conflict",
    "Duplicate",
    "KeyTaken",
    "NotFound",
    "Refused",
    "InvalidRequest",
    "Unreadable",
    "Backend",
];

/// A snapshot of a store: its bytes, and whether anything was committed
/// (SQLite's `data_version`; always 0 for the `MemoryStore`).
#[derive(Debug, PartialEq)]
struct Snap<B> {
    bytes: B,
    commits: i64,
}

/// Every store refusal, on `store` seeded with: alice's pending task `a`,
/// alice's running blocking task `b` on `busy.fr`, alice's pending task
/// `c` on `busy.fr` (blocked by `b`), mallory's task `d` scheduled later,
/// holding the unique key `order:mallory.fr`.
fn store_refusals<S, B>(store: &S, snapshot: &dyn Fn() -> Snap<B>)
where
    S: TaskStore<NamedKind>,
    B: PartialEq + Debug,
{
    let on = |seed: u64, owner: &str, domain: &str| {
        NewTask::new(
            IdGenerator::seeded(seed).next_id(t(0)),
            kind(Rules::STANDARD),
            Owner::new(owner),
            ResourceRef::new("domain", domain),
        )
        .argument("domain", domain)
    };
    let a = Logged::new(Task::create(on(1, "alice", "example.fr"), alice(), t(0)).unwrap());
    let b = started(Logged::new(
        Task::create(on(2, "alice", "busy.fr").blocking(true), alice(), t(0)).unwrap(),
    ));
    let c = Logged::new(Task::create(on(3, "alice", "busy.fr"), alice(), t(0)).unwrap());
    let d = Logged::new(
        Task::create(
            on(4, "mallory", "mallory.fr")
                .todo_at(t(5000))
                .unique_key("order:mallory.fr"),
            mallory(),
            t(0),
        )
        .unwrap(),
    );
    for task in [&a, &b, &c, &d] {
        put(store, &task.task, &task.log);
    }
    // alice cancels `a` (version 2) while an operator holds a stale copy.
    let stale = store.get(&Scope::Staff, a.task.id()).unwrap().unwrap();
    let mut fresh = store
        .get(&Scope::Owner(Owner::new("alice")), a.task.id())
        .unwrap()
        .unwrap();
    let cancelled = step(
        &mut fresh,
        Command::Cancel {
            reason: Some("changed my mind".into()),
        },
        alice(),
        10,
    );
    store.save(&fresh, 1, cancelled.as_slice()).unwrap();
    let a_log: Vec<E> = a.log.iter().cloned().chain(cancelled).collect();

    let unchanged = |what: &str, attempt: &mut dyn FnMut()| {
        let before = snapshot();
        attempt();
        assert_eq!(snapshot(), before, "{what}: the store changed");
    };
    let expect = |result: Result<(), StoreError>, variant: &str, what: &str| {
        let error = result.expect_err(what);
        assert_eq!(store_error_name(&error), variant, "{what}: {error}");
        error
    };
    // A refusal of a save, with what its reason names.
    let refused = |result: Result<(), StoreError>, id, names: &str, what: &str| match expect(
        result, "Refused", what,
    ) {
        StoreError::Refused {
            id: refused,
            reason,
        } => {
            assert_eq!(refused, id, "{what}");
            assert!(reason.contains(names), "{what}: {reason}");
        }
        other => panic!("{what}: {other}"),
    };

    // Conflict: the stale copy, changed, saved on the version it read.
    unchanged("a stale save", &mut || {
        let mut changed = stale.clone();
        let event = step(
            &mut changed,
            Command::Cancel {
                reason: Some("operator".into()),
            },
            bob(),
            20,
        );
        let copy = changed.clone();
        let error = expect(
            store.save(&changed, 1, event.as_slice()),
            "Conflict",
            "a stale save",
        );
        assert!(
            matches!(error, StoreError::Conflict { id, expected: 1, found: 2 } if id == a.task.id()),
            "{error:?}"
        );
        assert_eq!(changed, copy, "a refused save changed the caller's record");
    });
    // Conflict: an expected version ahead of the stored one.
    unchanged("a save expecting a later version", &mut || {
        let error = expect(store.save(&fresh, 7, &[]), "Conflict", "a save ahead");
        assert!(
            matches!(error, StoreError::Conflict { id, expected: 7, found: 2 } if id == a.task.id()),
            "{error:?}"
        );
    });
    // NotFound: a task never stored.
    let (never, _) = Task::create(on(9, "alice", "example.fr"), alice(), t(0)).unwrap();
    unchanged("a save of a task never stored", &mut || {
        expect(
            store.save(&never, 1, &[]),
            "NotFound",
            "save of a task never stored",
        );
    });
    assert!(store.get(&Scope::Staff, never.id()).unwrap().is_none());
    let log = store.log(&Scope::Staff, never.id(), 0, 10);
    assert!(
        matches!(log, Err(StoreError::NotFound { id }) if id == never.id()),
        "{log:?}"
    );
    // Duplicate: the same task again, and a forged one with its id.
    unchanged("a duplicate insert", &mut || {
        expect(
            store.insert(c.task.clone(), c.log[0].clone()),
            "Duplicate",
            "the same task again",
        );
        let mut forged = on(3, "mallory", "busy.fr");
        forged.id = c.task.id();
        let (forged, created) = Task::create(forged, mallory(), t(0)).unwrap();
        expect(
            store.insert(forged, created),
            "Duplicate",
            "a forged task with its id",
        );
    });
    assert_eq!(
        store.get(&Scope::Staff, c.task.id()).unwrap().unwrap(),
        c.task
    );
    // Refused: an insert whose event is not the task's creation.
    unchanged("an insert without its creation", &mut || {
        let (fresh_task, _) = Task::create(on(10, "alice", "new.fr"), alice(), t(0)).unwrap();
        let id = fresh_task.id();
        refused(
            store.insert(fresh_task, c.log[0].clone()),
            id,
            "creation",
            "an insert with another task's creation",
        );
        assert!(store.get(&Scope::Staff, id).unwrap().is_none());
    });
    // Refused: a rollback. The stale copy (version 1) saved over the
    // version found, and the current record saved again at its own
    // version: neither is newer than what is stored.
    unchanged("a save that rolls back", &mut || {
        refused(
            store.save(&stale, 2, &[]),
            a.task.id(),
            "rollback",
            "the stale copy saved over the version found",
        );
        refused(
            store.save(&fresh, 2, &[]),
            a.task.id(),
            "rollback",
            "the record saved again at its version",
        );
    });
    // Refused: events that do not follow the log. `d` is at version 1;
    // mallory brings it forward, then cancels it (versions 2 and 3).
    let mut later = store
        .get(&Scope::Owner(Owner::new("mallory")), d.task.id())
        .unwrap()
        .unwrap();
    let first = step(&mut later, Command::Accelerate, mallory(), 20).unwrap();
    let second = step(&mut later, Command::Cancel { reason: None }, mallory(), 21).unwrap();
    unchanged("a save whose events do not follow the log", &mut || {
        for (what, events) in [
            ("the first event missing", vec![second.clone()]),
            (
                "the events out of order",
                vec![second.clone(), first.clone()],
            ),
            (
                "an event twice",
                vec![first.clone(), first.clone(), second.clone()],
            ),
            (
                "the creation again",
                vec![d.log[0].clone(), first.clone(), second.clone()],
            ),
            (
                "an event past the record's version",
                vec![first.clone(), second.clone(), {
                    let mut beyond = second.clone();
                    beyond.version = 4;
                    beyond
                }],
            ),
        ] {
            refused(
                store.save(&later, 1, &events),
                d.task.id(),
                "do not follow the log",
                what,
            );
        }
    });
    // Refused: a save that drops an append: the record at version 3 with
    // only one event, or none.
    unchanged("a save that drops an append", &mut || {
        for (what, events) in [
            ("the last event dropped", vec![first.clone()]),
            ("every event dropped", vec![]),
        ] {
            refused(
                store.save(&later, 1, &events),
                d.task.id(),
                "an append is missing",
                what,
            );
        }
    });
    // Refused: a save changing the owner: mallory's record under `c`'s id,
    // one move on, with its event.
    unchanged("a save changing the owner", &mut || {
        let mut forged = on(3, "mallory", "busy.fr");
        forged.id = c.task.id();
        let (mut forged, _) = Task::create(forged, mallory(), t(0)).unwrap();
        let event = step(&mut forged, Command::Cancel { reason: None }, mallory(), 20);
        refused(
            store.save(&forged, 1, event.as_slice()),
            c.task.id(),
            "never changes",
            "a save changing the owner",
        );
    });
    // After all of them, `c` and `d` are as stored.
    for task in [&c, &d] {
        let id = task.task.id();
        assert_eq!(store.get(&Scope::Staff, id).unwrap().unwrap(), task.task);
        assert_eq!(store.log(&Scope::Staff, id, 0, 10).unwrap(), task.log);
    }
    // Another owner: sees nothing of alice's, and is refused what it
    // tries on a copy it should never have had.
    let mallory_scope = Scope::Owner(Owner::new("mallory"));
    unchanged("another owner's reads", &mut || {
        for task in [&a, &b, &c] {
            let id = task.task.id();
            assert!(store.get(&mallory_scope, id).unwrap().is_none());
            let log = store.log(&mallory_scope, id, 0, 10);
            assert!(
                matches!(log, Err(StoreError::NotFound { id: found }) if found == id),
                "{log:?}"
            );
        }
        assert!(
            store
                .get(&Scope::Owner(Owner::new("alice")), d.task.id())
                .unwrap()
                .is_none()
        );
        let page = store
            .list(&mallory_scope, &Filter::new(), PageRequest::first(100))
            .unwrap();
        assert_eq!(page.tasks, std::slice::from_ref(&d.task));
        let page = store
            .list(
                &mallory_scope,
                &Filter::new().owner(Owner::new("alice")),
                PageRequest::first(100),
            )
            .unwrap();
        assert!(page.tasks.is_empty());
        let mut copy = store.get(&Scope::Staff, c.task.id()).unwrap().unwrap();
        let rejection = refuse(&mut copy, Command::Cancel { reason: None }, mallory(), 30);
        assert_eq!(rejection_name(&rejection), "NotOwner");
        assert_eq!(copy, c.task);
    });
    // KeyTaken: another task with the key `d` holds, whoever asks.
    unchanged("an insert of a key a live task holds", &mut || {
        for (seed, owner) in [(11, "mallory"), (12, "alice")] {
            let new = on(seed, owner, "mallory.fr").unique_key("order:mallory.fr");
            let (task, created) = Task::create(new, Actor::System, t(0)).unwrap();
            let id = task.id();
            match expect(store.insert(task, created), "KeyTaken", "a taken key") {
                StoreError::KeyTaken { key, holder } => {
                    assert_eq!((key.as_str(), holder), ("order:mallory.fr", d.task.id()));
                }
                other => panic!("a taken key: {other}"),
            }
            assert!(store.get(&Scope::Staff, id).unwrap().is_none());
        }
    });
    // Claims with nothing to claim: `a` cancelled, `b` running, `c`
    // blocked by `b`, `d` not due before t(5000).
    unchanged("a claim with nothing due", &mut || {
        let claims = store
            .claim(&ClaimRequest::new(t(100), t(400)).limit(10).worker("w"))
            .unwrap();
        assert!(
            claims.claimed.is_empty() && claims.unreadable.is_empty(),
            "{:?}",
            claims
                .claimed
                .iter()
                .map(|c| c.task.id())
                .collect::<Vec<_>>()
        );
    });
    // InvalidRequest: claims that could start nothing, even with `d` due.
    unchanged("a claim that could start nothing", &mut || {
        for request in [
            ClaimRequest::new(t(6000), t(6300)).limit(0),
            ClaimRequest::new(t(6000), t(6000)),
            ClaimRequest::new(t(6000), t(6300)).kinds(Vec::<String>::new()),
        ] {
            let claimed = store.claim(&request).map(drop);
            expect(
                claimed,
                "InvalidRequest",
                "a claim that could start nothing",
            );
        }
    });
    // Reads of due work write nothing either.
    unchanged(
        "sweeps, the next due time and a purge of nothing",
        &mut || {
            for sweep in [
                Sweep::ExpiredLeases,
                Sweep::RetriesDue,
                Sweep::ChecksDue,
                Sweep::Stalled,
            ] {
                let swept = store.sweep(sweep, t(100), 10).unwrap();
                assert!(
                    swept.tasks.is_empty() && swept.unreadable.is_empty(),
                    "{sweep:?}"
                );
            }
            assert!(store.next_due(None).unwrap().is_some());
            // `a` was cancelled at t(10): nothing settled before t(5).
            assert_eq!(store.purge(t(5), 10).unwrap(), 0);
        },
    );
    // The stored records and logs are the ones written, byte for byte.
    assert_eq!(
        store.get(&Scope::Staff, a.task.id()).unwrap().unwrap(),
        fresh
    );
    assert_eq!(store.log(&Scope::Staff, a.task.id(), 0, 10).unwrap(), a_log);
    for task in [&b, &d] {
        let id = task.task.id();
        assert_eq!(store.get(&Scope::Staff, id).unwrap().unwrap(), task.task);
        assert_eq!(store.log(&Scope::Staff, id, 0, 10).unwrap(), task.log);
    }
    // And the moves refused above go through once saved as they were made.
    store
        .save(&later, 1, &[first.clone(), second.clone()])
        .unwrap();
    assert_eq!(
        store.get(&Scope::Staff, d.task.id()).unwrap().unwrap(),
        later
    );
    assert_eq!(
        store.log(&Scope::Staff, d.task.id(), 0, 10).unwrap(),
        [d.log[0].clone(), first, second]
    );
}

#[test]
fn the_memory_store_keeps_its_bytes_through_every_store_refusal() {
    let store = MemoryStore::new();
    store_refusals(&store, &|| Snap {
        bytes: memory_bytes(&store),
        commits: 0,
    });
}

#[test]
fn the_sqlite_store_keeps_its_bytes_through_every_store_refusal() {
    let db = TempDb::new("store-refusals");
    let store: SqliteStore<NamedKind> = SqliteStore::open(&db.0).unwrap();
    let reader = reader(&db.0);
    store_refusals(&store, &|| Snap {
        bytes: sqlite_rows(&reader),
        commits: data_version(&reader),
    });
}

#[test]
fn the_sqlite_store_refuses_times_it_cannot_store_without_writing() {
    let db = TempDb::new("time-refusals");
    let store: SqliteStore<NamedKind> = SqliteStore::open(&db.0).unwrap();
    let reader = reader(&db.0);
    let snapshot = || (sqlite_rows(&reader), data_version(&reader));
    let stored = running(Rules::STANDARD);
    put(&store, &stored.task, &stored.log);
    let far = |secs: i64| {
        Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    };

    // An insert of a task created in the year 10000.
    let before = snapshot();
    let new = NewTask::new(
        IdGenerator::seeded(5).next_id(far(0)),
        kind(Rules::STANDARD),
        Owner::new("alice"),
        ResourceRef::new("domain", "later.fr"),
    )
    .argument("domain", "later.fr");
    let (late, created) = Task::create(new, alice(), far(0)).unwrap();
    let error = store.insert(late.clone(), created).unwrap_err();
    assert_eq!(store_error_name(&error), "InvalidRequest", "{error}");
    assert_eq!(snapshot(), before);
    assert!(store.get(&Scope::Staff, late.id()).unwrap().is_none());

    // A save of a heartbeat whose lease runs into the year 10000: the
    // update is refused before it is written, and the row keeps its bytes.
    let mut task = store.get(&Scope::Staff, stored.task.id()).unwrap().unwrap();
    let heartbeat = Command::Heartbeat {
        token: token(&stored.log),
        lease_until: far(0),
        progress: Some("far".into()),
        check_at: None,
    };
    assert!(step(&mut task, heartbeat, Actor::System, 20).is_none());
    let error = store.save(&task, stored.task.version(), &[]).unwrap_err();
    assert_eq!(store_error_name(&error), "InvalidRequest", "{error}");
    assert_eq!(snapshot(), before);
    assert_eq!(
        store.get(&Scope::Staff, stored.task.id()).unwrap().unwrap(),
        stored.task
    );

    // A save whose event happens in the year 10000: refused before
    // anything is written, the record and the log alike.
    let mut task = store.get(&Scope::Staff, stored.task.id()).unwrap().unwrap();
    let late_fail = Command::Fail {
        token: Some(token(&stored.log)),
        failure: Box::new(provider_failure(t(30))),
    };
    let event = task
        .apply(late_fail, Actor::System, far(0))
        .unwrap()
        .unwrap();
    let error = store
        .save(&task, stored.task.version(), &[event])
        .unwrap_err();
    assert_eq!(store_error_name(&error), "InvalidRequest", "{error}");
    assert_eq!(snapshot(), before);
    assert_eq!(
        store.log(&Scope::Staff, stored.task.id(), 0, 10).unwrap(),
        stored.log
    );
}

/// A running task stored on a new SQLite file: the file, the store, a
/// plain connection to the file, and the task with its log.
fn running_in_sqlite(
    label: &str,
) -> (TempDb, SqliteStore<NamedKind>, rusqlite::Connection, Logged) {
    let db = TempDb::new(label);
    let store: SqliteStore<NamedKind> = SqliteStore::open(&db.0).unwrap();
    let reader = reader(&db.0);
    let stored = running(Rules::STANDARD);
    put(&store, &stored.task, &stored.log);
    (db, store, reader, stored)
}

/// `stored`'s task failed by its own run at `t(30)`, and the event.
fn failed_by_its_run(stored: &Logged) -> (T, Option<E>) {
    let mut task = stored.task.clone();
    let fail = Command::Fail {
        token: Some(token(&stored.log)),
        failure: Box::new(provider_failure(t(30))),
    };
    let event = step(&mut task, fail, Actor::System, 30);
    (task, event)
}

/// A file whose events table was dropped by hand: a save that appends an
/// event fails as the storage (`Backend`, not retryable), and the row is
/// as it was.
#[test]
fn the_sqlite_store_fails_a_save_on_a_broken_file_without_writing() {
    let (_db, store, reader, stored) = running_in_sqlite("broken-file");
    let id = stored.task.id();
    reader.execute_batch("DROP TABLE events").unwrap();
    let rows = || table_rows(&reader, "tasks", "id");
    let before = rows();
    let (task, event) = failed_by_its_run(&stored);
    let error = store
        .save(&task, stored.task.version(), event.as_slice())
        .unwrap_err();
    assert_eq!(store_error_name(&error), "Backend", "{error}");
    assert!(matches!(
        error,
        StoreError::Backend {
            retryable: false,
            ..
        }
    ));
    assert_eq!(rows(), before);
    assert_eq!(
        store
            .get(&Scope::Staff, id)
            .unwrap()
            .map(|task| task.version()),
        Some(stored.task.version())
    );
}

#[test]
fn the_sqlite_store_refuses_a_row_it_cannot_read_without_writing() {
    let (_db, store, reader, stored) = running_in_sqlite("unreadable");
    let id = stored.task.id();
    // By hand, from another connection: the record garbled.
    reader
        .execute(
            "UPDATE tasks SET body = '{\"identity\":' WHERE id = ?1",
            [id.to_string()],
        )
        .unwrap();
    let snapshot = || (sqlite_rows(&reader), data_version(&reader));
    let before = snapshot();

    // A read of it, and a save over it of the record as it was, with the
    // executor's failure: both refused, naming the task.
    let error = store.get(&Scope::Staff, id).unwrap_err();
    assert_eq!(store_error_name(&error), "Unreadable", "{error}");
    assert!(matches!(&error, StoreError::Unreadable { id: found, .. } if *found == id));
    let (task, event) = failed_by_its_run(&stored);
    let error = store
        .save(&task, stored.task.version(), event.as_slice())
        .unwrap_err();
    assert_eq!(store_error_name(&error), "Unreadable", "{error}");
    // A listing skips it and reports it; its log still reads.
    let page = store
        .list(&Scope::Staff, &Filter::new(), PageRequest::first(10))
        .unwrap();
    assert!(page.tasks.is_empty());
    assert_eq!(
        page.unreadable.iter().map(|u| u.id).collect::<Vec<_>>(),
        [id]
    );
    assert_eq!(store.log(&Scope::Staff, id, 0, 10).unwrap(), stored.log);
    // None of it wrote anything.
    assert_eq!(snapshot(), before);
}
