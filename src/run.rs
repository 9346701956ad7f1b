//! Typed handles for executors: a run's legal moves as methods.
//!
//! [`Task::start`] gives the executor a [`Run`]: the handle of that run,
//! holding its lease token. Its methods are exactly an executor's moves on
//! a running task: [`heartbeat`](Run::heartbeat), [`wait`](Run::wait),
//! [`complete`](Run::complete), [`fail`](Run::fail) and
//! [`acknowledge_cancel`](Run::acknowledge_cancel). `wait` turns it into a
//! [`PausedRun`], whose moves are those of a waiting task (`resume` turns it
//! back). A pending or finished task has no handle, so an executor cannot
//! even write an illegal move; a finishing move consumes the handle.
//!
//! Handles go through [`Task::apply`], never around it: the table, the
//! guards and the lease fence still decide. A handle whose run was stalled
//! and requeued gets [`Rejection::StaleLease`] for every move.
//!
//! A move that consumes the handle gives it back inside [`Refused`] when
//! it is rejected, so the executor can correct its input and try again.
//!
//! Handles hold only the task id and the token, so an executor that keeps
//! the task in a store loads the record, calls the handle's method on it,
//! and saves it with compare-and-swap.
//!
//! # Example
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use taskstate::{Actor, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
//!
//! let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
//! let new = NewTask::new(IdGenerator::seeded(3).next_id(t0), NamedKind::new("ZonePublish"),
//!     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
//! let mut task = Task::create(new, Actor::System, t0)?;
//!
//! let run = task.start(t0 + Duration::seconds(60), None, t0)?;
//! let paused = run
//!     .wait(&mut task, t0 + Duration::hours(1), Some("waiting for the registry".into()), t0)
//!     .map_err(|refused| refused.rejection)?;
//! assert_eq!(task.status(), Status::Waiting);
//!
//! let failure = Failure::provider("REGISTRY_TIMEOUT", "the registry did not answer", t0 + Duration::hours(1));
//! paused.fail(&mut task, failure, t0 + Duration::hours(1)).map_err(|refused| refused.rejection)?;
//! assert_eq!(task.status(), Status::Failed);
//! assert_eq!(task.attempts(), 1);
//! # Ok::<(), taskstate::Rejection>(())
//! ```

use std::error::Error;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::command::{Command, Event, Outcome};
use crate::error::Rejection;
use crate::failure::Failure;
use crate::id::TaskId;
use crate::lease::LeaseToken;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::task::Task;

/// The handle of a running run.
#[derive(Debug, PartialEq, Eq, Hash)]
#[must_use = "a run must be finished, or it stalls when its lease runs out"]
pub struct Run {
    task: TaskId,
    token: LeaseToken,
}

/// The handle of a run paused on an outside party.
#[derive(Debug, PartialEq, Eq, Hash)]
#[must_use = "a paused run must be resumed or finished, or it stalls at its deadline"]
pub struct PausedRun {
    task: TaskId,
    token: LeaseToken,
}

/// A consuming move was rejected: the handle comes back with the reason.
///
/// Its `Display` and `source` are the rejection's.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused<H> {
    /// The handle, still usable.
    pub handle: H,
    /// Why the move was rejected.
    pub rejection: Rejection,
}

impl<H> fmt::Display for Refused<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.rejection, f)
    }
}

impl<H: fmt::Debug> Error for Refused<H> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.rejection.source()
    }
}

impl<H> From<Refused<H>> for Rejection {
    fn from(refused: Refused<H>) -> Self {
        refused.rejection
    }
}

/// Applies an executor command carrying a handle's token, after checking
/// the handle belongs to the task.
fn apply_as<K: TaskKind>(
    handle_task: TaskId,
    task: &mut Task<K>,
    command: Command<K>,
    now: DateTime<Utc>,
) -> Result<&Event<K>, Rejection> {
    if task.id() != handle_task {
        return Err(Rejection::WrongTask {
            handle: handle_task,
            task: task.id(),
        });
    }
    task.apply(command, Actor::System, now)
}

/// Gives `handle` back with the rejection, if there is one.
fn refuse<H, T>(handle: H, result: Result<T, Rejection>) -> Result<T, Refused<H>> {
    result.map_err(|rejection| Refused { handle, rejection })
}

macro_rules! finishing_moves {
    ($handle:ident) => {
        impl $handle {
            /// The task this run belongs to.
            pub fn task_id(&self) -> TaskId {
                self.task
            }

            /// The run's lease token, for hosts that persist it.
            pub fn token(&self) -> LeaseToken {
                self.token
            }

            /// Extends the lease to `lease_until` (for a paused run: moves
            /// the wait's deadline), with an optional progress message.
            ///
            /// # Errors
            ///
            /// [`Rejection::StaleLease`] when the run no longer holds the
            /// task; [`Rejection::InvalidInput`] when `lease_until` is not
            /// after `now`.
            pub fn heartbeat<'t, K: TaskKind>(
                &self,
                task: &'t mut Task<K>,
                lease_until: DateTime<Utc>,
                progress: Option<String>,
                now: DateTime<Utc>,
            ) -> Result<&'t Event<K>, Rejection> {
                let command = Command::Heartbeat {
                    token: self.token,
                    lease_until,
                    progress,
                };
                apply_as(self.task, task, command, now)
            }

            /// Finishes the run successfully.
            ///
            /// # Errors
            ///
            /// The handle comes back with the rejection, for instance
            /// [`Rejection::StaleLease`].
            pub fn complete<K: TaskKind>(
                self,
                task: &mut Task<K>,
                outcome: Outcome,
                now: DateTime<Utc>,
            ) -> Result<&Event<K>, Refused<Self>> {
                let command = Command::Complete {
                    token: self.token,
                    outcome: Box::new(outcome),
                };
                let result = apply_as(self.task, task, command, now);
                refuse(self, result)
            }

            /// Finishes the run with a failure.
            ///
            /// # Errors
            ///
            /// The handle comes back with the rejection, for instance
            /// [`Rejection::InvalidInput`] for an empty failure code.
            pub fn fail<K: TaskKind>(
                self,
                task: &mut Task<K>,
                failure: Failure,
                now: DateTime<Utc>,
            ) -> Result<&Event<K>, Refused<Self>> {
                let command = Command::Fail {
                    token: Some(self.token),
                    failure: Box::new(failure),
                };
                let result = apply_as(self.task, task, command, now);
                refuse(self, result)
            }

            /// Confirms the run stopped after a cancel request: the task
            /// becomes `Cancelled`.
            ///
            /// # Errors
            ///
            /// The handle comes back with the rejection, for instance
            /// [`Rejection::CancelNotRequested`].
            pub fn acknowledge_cancel<K: TaskKind>(
                self,
                task: &mut Task<K>,
                now: DateTime<Utc>,
            ) -> Result<&Event<K>, Refused<Self>> {
                let command = Command::AcknowledgeCancel { token: self.token };
                let result = apply_as(self.task, task, command, now);
                refuse(self, result)
            }
        }
    };
}

finishing_moves!(Run);
finishing_moves!(PausedRun);

impl Run {
    pub(crate) fn new(task: TaskId, token: LeaseToken) -> Self {
        Run { task, token }
    }

    /// Pauses the run on an outside party until `until`, with what it
    /// waits for as the task's comment.
    ///
    /// # Errors
    ///
    /// The handle comes back with the rejection, for instance
    /// [`Rejection::InvalidInput`] when `until` is not after `now`.
    pub fn wait<K: TaskKind>(
        self,
        task: &mut Task<K>,
        until: DateTime<Utc>,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<PausedRun, Refused<Self>> {
        let command = Command::Wait {
            token: self.token,
            until,
            reason,
        };
        let paused = PausedRun {
            task: self.task,
            token: self.token,
        };
        let result = apply_as(self.task, task, command, now);
        refuse(self, result).map(|_| paused)
    }
}

impl PausedRun {
    /// The handle of `task`'s paused run, for the process that hears back
    /// from the outside party (a registry callback, a poller); `None`
    /// unless the task is `Waiting`.
    pub fn of<K>(task: &Task<K>) -> Option<PausedRun> {
        match (task.status(), task.lease()) {
            (Status::Waiting, Some(lease)) => Some(PausedRun {
                task: task.id(),
                token: lease.token,
            }),
            _ => None,
        }
    }

    /// Takes the task back into running, under a lease until
    /// `lease_until`.
    ///
    /// # Errors
    ///
    /// The handle comes back with the rejection, for instance
    /// [`Rejection::StaleLease`] when the wait ran out and the task was
    /// marked stalled.
    pub fn resume<K: TaskKind>(
        self,
        task: &mut Task<K>,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Run, Refused<Self>> {
        let command = Command::Resume {
            token: self.token,
            lease_until,
        };
        let running = Run::new(self.task, self.token);
        let result = apply_as(self.task, task, command, now);
        refuse(self, result).map(|_| running)
    }
}
