//! Helpers shared by the integration tests: fixed times, tasks, and the
//! random starting task of the property tests, built on the crate's own
//! strategies (`taskstate::testkit::strategies`, feature `testkit`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use taskstate::testkit::strategies;
use taskstate::{
    Actor, ArgumentSpec, ArgumentType, Command, Event, Failure, IdGenerator, NamedKind, NewTask,
    Owner, Rejection, ResourceRef, Task,
};

/// The proptest settings of a suite: `default` cases, or as many as the
/// `PROPTEST_CASES` environment variable asks for, so that
/// `PROPTEST_CASES=100000 cargo test --test <suite>` reruns a suite with
/// more cases. (`ProptestConfig::with_cases` alone would ignore the
/// variable.)
pub fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(cases)
}

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

/// A task with its log, as a store keeps them: what tests that read the
/// log or replay it use.
#[derive(Clone, Debug, PartialEq)]
pub struct Logged {
    /// The record.
    pub task: Task<NamedKind>,
    /// Its log, creation first.
    pub log: Vec<Event<NamedKind>>,
}

impl Logged {
    /// A new task and its log.
    pub fn new((task, created): (Task<NamedKind>, Event<NamedKind>)) -> Self {
        Logged {
            task,
            log: vec![created],
        }
    }

    /// Applies a command, appending its event (if any) to the log.
    pub fn apply(
        &mut self,
        command: Command<NamedKind>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<&Event<NamedKind>>, Rejection> {
        match self.task.apply(command, actor, now)? {
            Some(event) => {
                self.log.push(event);
                Ok(self.log.last())
            }
            None => Ok(None),
        }
    }

    /// Records an event a run handle returned.
    pub fn push(&mut self, event: Event<NamedKind>) {
        self.log.push(event);
    }
}

/// A pending task of `kind` owned by alice, created at `t(0)`, with its
/// log.
pub fn logged_of(kind: NamedKind) -> Logged {
    let new = NewTask::new(
        IdGenerator::seeded(1).next_id(t(0)),
        kind,
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    );
    Logged::new(Task::create(new, alice(), t(0)).unwrap())
}

/// A pending task of `kind` owned by alice, created at `t(0)`.
pub fn task_of(kind: NamedKind) -> Task<NamedKind> {
    logged_of(kind).task
}

/// A pending DomainCreate with the standard rules.
pub fn pending() -> Task<NamedKind> {
    task_of(NamedKind::new("DomainCreate"))
}

/// What commands are applied to in the tests: a task alone, or a task
/// with its log (which then logs each event).
pub trait Applies {
    /// Applies `command`, logging its event where there is a log.
    fn apply_command(
        &mut self,
        command: Command<NamedKind>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(), Rejection>;
}

impl Applies for Task<NamedKind> {
    fn apply_command(
        &mut self,
        command: Command<NamedKind>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        self.apply(command, actor, now).map(drop)
    }
}

impl Applies for Logged {
    fn apply_command(
        &mut self,
        command: Command<NamedKind>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        self.apply(command, actor, now).map(drop)
    }
}

/// Applies a command that must be accepted (to a task, or to a task and
/// its log).
pub fn accept(
    task: &mut impl Applies,
    command: Command<NamedKind>,
    actor: Actor,
    now: DateTime<Utc>,
) {
    if let Err(rejection) = task.apply_command(command.clone(), actor.clone(), now) {
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
        .map(|event| event.map(|e| e.version))
        .expect_err("command should have been rejected");
    assert_eq!(*task, before, "a rejected command changed the task");
    rejection
}

pub fn provider_failure(at: DateTime<Utc>) -> Failure {
    Failure::provider("REGISTRY_DOWN", "the registry does not answer", at)
}

// ---------------------------------------------------------------------
// The property tests' starting task
// ---------------------------------------------------------------------

/// The arguments of the property tests' kind: a read-only required one, a
/// correctable text, a required integer, an email.
pub fn specs() -> Vec<ArgumentSpec> {
    vec![
        ArgumentSpec::text("domain", 1, 255).read_only().required(),
        ArgumentSpec::text("legitimacyAfnic", 5, 50),
        ArgumentSpec::integer("duration", 1, 10).required(),
        ArgumentSpec::new("contactEmail", ArgumentType::Email),
    ]
}

/// A random starting task: a DomainCreate of random rules with the
/// [`specs`], from the crate's generators (valid values for the required
/// arguments, random subtasks, maybe scheduled for later), with its log.
pub fn start_task() -> impl Strategy<Value = Logged> {
    strategies::rules().prop_flat_map(|rules| {
        let mut kind = NamedKind::with_rules("DomainCreate", rules);
        kind.arguments = specs();
        strategies::task_of(vec![kind]).prop_map(Logged::new)
    })
}

/// Drives a future to its end on this thread: the async conformance
/// suite and async workers over the crate's own stores, whose futures
/// need no runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}
