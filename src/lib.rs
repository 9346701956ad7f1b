//! `taskstate`: the lifecycle of asynchronous provider tasks, done once.
//!
//! When an API call cannot finish inside the request (registering a domain,
//! publishing a DNS zone, commissioning a host, installing a catalog
//! package), the provider creates a task. The task waits, runs, fails for a
//! missing document, gets corrected and relaunched, retries by itself after
//! a provider fault, gets cancelled. This crate decides what may happen to
//! such a task; the host decides where it is stored and who does the work.
//!
//! The core is sans-I/O: no clock, no random source, no file or socket.
//! Time comes in as an argument (`now`), ids are made by the caller, and
//! every decision is a pure function of the record and the command.
//!
//! # Where things live
//!
//! The lifecycle's types are at the root; the modules in the
//! table's last rows hold the rest.
//! Each type's page opens with its concept (the statuses on [`Status`],
//! the record and its phases on [`Task`], the run handle on [`Run`], …).
//!
//! | concept | types |
//! |---|---|
//! | statuses | [`Status`], the seven canonical statuses, and [`StatusSet`] |
//! | who acts | [`Actor`], [`Role`], [`RoleSet`], [`Owner`] |
//! | the record | [`Task<K>`]: the state, [`apply`](Task::apply) returning the event to log, the `can_*` questions, [`replay`](Task::replay) of a log; [`Rejection`] and [`ReplayError`], what it refuses |
//! | commands and their log | [`Command`], [`Event`], [`Decision`], [`NewTask`], [`ResourceRef`], [`Outcome`], [`Timeline`] |
//! | the executor | [`Run`]: every executor move, rebuilt from a kept token; [`Pause`]; [`Lease`] and [`LeaseToken`] |
//! | kinds and rules | [`TaskKind`], [`NamedKind`], [`Rules`], [`CancelRules`], [`RelaunchRules`], [`RetryPolicy`], [`RuleName`] |
//! | failures | [`Failure`], [`Origin`], [`FailureRule`] and [`OnFailure`], [`FollowUp`], [`Warning`], [`Detail`] |
//! | subtasks and progress | [`Subtasks`], [`Subtask`], [`NewSubtask`], [`SubtaskChange`], [`AggregatePolicy`], [`Tally`], [`Progress`], [`Percent`] |
//! | arguments | [`ArgumentSpec`], [`ArgumentType`], [`ArgumentValue`], [`ArgumentError`] and its [`Problem`] |
//! | ids | [`TaskId`] (UUID v7) and a deterministic [`IdGenerator`] |
//! | [`table`] | the transition table: every legal move as data, and the state diagram |
//! | [`store`] | [`TaskStore`](store::TaskStore) and [`AsyncTaskStore`](store::AsyncTaskStore): compare-and-swap with the log, claims by priority and kind under leases, blocking, unique keys, sweeps, purges, scoping; [`MemoryStore`](store::MemoryStore); the update loop and a worker step |
//! | [`profiles`] | provider views: OVHcloud, Dyn, VMware Cloud Foundation and Cloudflare, their words both ways and their JSON; a guide for a fifth |
//! | [`design`] | why it is built this way: the design notes |
//! | `testkit` | (feature `testkit`) `testkit::store`, the conformance suites for a host's own store, and `testkit::strategies`, proptest generators for the crate's types |
//!
//! # Features
//!
//! - `testkit`: `testkit::store::check_store` and `check_async_store`, the
//!   conformance suites for a host's own [`TaskStore`](store::TaskStore)
//!   or [`AsyncTaskStore`](store::AsyncTaskStore), and `testkit::strategies`, proptest
//!   generators for the crate's types (adds `proptest`). Off by default.
//! - `float-roundtrip` (default): floats in JSON arguments and retry
//!   policies read back bit for bit (`serde_json`'s `float_roundtrip`).
//!
//! # Example
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use taskstate::{
//!     Actor, Command, IdGenerator, NamedKind, NewTask, Outcome, Owner, Rejection, ResourceRef,
//!     Status, Task, Timeline,
//! };
//!
//! let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
//! let mut ids = IdGenerator::seeded(7);
//!
//! // A customer's order creates a task, and the first event of its log.
//! let new = NewTask::new(
//!     ids.next_id(t0),
//!     NamedKind::new("DomainCreate"),
//!     Owner::new("alice"),
//!     ResourceRef::new("domain", "example.fr"),
//! );
//! let (mut task, created) = Task::create(new, Actor::customer("alice"), t0)?;
//! let mut log = vec![created];
//! assert_eq!(task.status(), Status::Pending);
//!
//! // An executor starts it under a lease and finishes it.
//! let (run, started) = task.start(t0 + Duration::minutes(5), Some("worker-1".into()), t0)?;
//! log.push(started);
//! log.push(run.complete(&mut task, Outcome::new().message("example.fr created"), t0 + Duration::minutes(1))?);
//! assert_eq!(task.status(), Status::Done);
//!
//! // Final statuses absorb: a late cancel is refused, and nothing changes.
//! let before = task.clone();
//! let refused = task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), t0 + Duration::minutes(2));
//! assert!(matches!(refused, Err(Rejection::IllegalMove { status: Status::Done, .. })));
//! assert_eq!(task, before);
//!
//! // The log is the audit trail, and rebuilds the record.
//! assert_eq!(Task::replay(&log)?, task);
//! println!("{}", Timeline::new(&log));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod action;
mod actor;
mod argument;
mod command;
mod failure;
mod id;
mod lease;
pub mod design {
    //! Why the crate is built as it is: the design notes.
    #![doc = include_str!("../docs/design.md")]
}
pub mod profiles;
mod rules;
mod stamp;
mod status;
pub mod store;
mod strict;
mod subtask;
pub mod table;
mod task;
#[cfg(feature = "testkit")]
pub mod testkit;
mod vocabulary;

pub use action::{Action, ParseActionError};
pub use actor::{Actor, Owner, ParseRoleError, Role, RoleSet};
pub use argument::{
    ArgumentError, ArgumentHints, ArgumentSpec, ArgumentType, ArgumentValue, ArgumentView,
    Arguments, IdFormat, MAX_JSON_DEPTH, Problem,
};
pub use command::{Command, Decision, Event, NewTask, Outcome, ResourceRef, Timeline};
pub use failure::{
    CodeMatch, Detail, ESCALATION_NOTICE, Failure, FailureRule, FollowUp, OnFailure, Origin,
    Resolution, Warning,
};
pub use id::{IdGenerator, TaskId};
pub use lease::{Lease, LeaseToken};
pub use rules::{CancelRules, NamedKind, RelaunchRules, RetryPolicy, RuleName, Rules, TaskKind};
pub use status::{ParseStatusError, Status, StatusSet};
pub use subtask::{
    Aggregate, AggregatePolicy, MAX_SUBTASK_DEPTH, NewSubtask, Percent, PercentError, Progress,
    SUBTASK_TRANSITIONS, Subtask, SubtaskAction, SubtaskChange, SubtaskId, SubtaskStatus, Subtasks,
    Tally,
};
pub use task::error::{Rejection, RelaunchRefusal, ReplayError};
pub use task::run::{Pause, Refused, Run};
pub use task::{ReplayMode, Task, Wakeup, WakeupReason};

/// A 64-bit finalizer (SplitMix64's): spreads the bits of `x` so that
/// nearby inputs give unrelated outputs. Deterministic, not cryptographic.
pub(crate) const fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

// The types hosts share between threads and tasks are `Send + Sync`: a
// change that loses it fails to compile here, not in a host's build.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Task<NamedKind>>();
    shared::<Event<NamedKind>>();
    shared::<Command<NamedKind>>();
    shared::<Run>();
    shared::<Rejection>();
    shared::<store::MemoryStore<NamedKind>>();
    shared::<store::StoreError>();
    shared::<store::ClaimRequest>();
    shared::<store::Filter>();
    shared::<profiles::MirroredTask>();
    shared::<profiles::Timestamp>();
    shared::<profiles::vcf::VcfTask>();
    shared::<profiles::ovh::OvhTask>();
    shared::<Percent>();
};
