//! The executor's handle: a run's legal moves as methods.

use std::error::Error;
use std::fmt;

use chrono::{DateTime, Utc};

use super::Task;
use crate::actor::Actor;
use crate::command::{Command, Event, Outcome};
use crate::failure::Failure;
use crate::id::TaskId;
use crate::lease::LeaseToken;
use crate::rules::TaskKind;
use crate::subtask::{NewSubtask, Percent, SubtaskChange, SubtaskId};
use crate::task::error::Rejection;

/// The handle of one run of a task: its moves as methods.
///
/// # The run handle
///
/// The executor's handle: a run's legal moves as methods.
///
/// [`Task::start`] (or a store's claim) gives the executor a [`Run`]: the
/// handle of that run, holding its lease token. Its methods are the
/// executor's moves: [`heartbeat`](Run::heartbeat),
/// [`wait`](Run::wait) and [`check_later`](Run::check_later),
/// [`resume`](Run::resume), the subtask and progress moves, and the
/// finishing moves [`complete`](Run::complete), [`fail`](Run::fail) and
/// [`acknowledge_cancel`](Run::acknowledge_cancel), which consume the
/// handle (and give it back inside [`Refused`] when they are rejected, so
/// the executor can correct its input and try again).
///
/// Handles go through [`Task::apply`], never around it: the table, the
/// guards and the lease fence still decide. A handle whose run was
/// stalled, requeued, restarted or finished gets
/// [`Rejection::StaleLease`] for every move, whatever the task's status
/// is now.
///
/// A handle holds only the task id and the token. An executor that keeps
/// the task in a store loads the record, calls the handle's method on it,
/// and saves it with compare-and-swap, appending the event the move
/// returns. An executor that restarts, or a process that hears back from
/// an outside party (a registry callback), rebuilds the handle from the
/// stored record and the token it kept ([`Run::rebuild`]): only the run
/// that holds the task now can be rebuilt, and no method makes a handle
/// out of a task alone. The token fences runs; it is not a secret (the
/// log shows it): the table grants executor moves to the system only.
///
/// ## Example
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use taskstate::{Actor, Failure, IdGenerator, NamedKind, NewTask, Owner, Pause, ResourceRef, Run, Status, Task};
///
/// let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let new = NewTask::new(IdGenerator::seeded(3).next_id(t0), NamedKind::new("ZonePublish"),
///     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
/// let (mut task, _) = Task::create(new, Actor::System, t0)?;
///
/// let (run, _) = task.start(t0 + Duration::seconds(60), None, t0)?;
/// run.wait(&mut task, Pause::until(t0 + Duration::hours(1)).reason("waiting for the registry"), t0)?;
/// assert_eq!(task.status(), Status::Waiting);
/// let kept = run.token();
///
/// // Later, the registry's answer reaches another process: it rebuilds
/// // the handle from the record and the token the executor kept.
/// let run = Run::rebuild(&task, kept)?;
/// let failure = Failure::provider("REGISTRY_TIMEOUT", "the registry did not answer", t0 + Duration::hours(1));
/// run.fail(&mut task, failure, t0 + Duration::hours(1))?;
/// assert_eq!(task.status(), Status::Failed);
/// assert_eq!(task.attempts(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
#[must_use = "a run must be finished, or it stalls when its lease runs out"]
pub struct Run {
    task: TaskId,
    token: LeaseToken,
}

/// How a run waits on an outside party: when it gives up, and when to
/// look again. See [`Run::wait`].
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use taskstate::Pause;
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let pause = Pause::until(now + Duration::days(1))
///     .check_at(now + Duration::minutes(5))
///     .reason("waiting for the registry's answer");
/// assert_eq!(pause.check_at, Some(now + Duration::minutes(5)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pause {
    /// When the wait gives up: the lease's deadline, after which the task
    /// can be marked stalled.
    pub until: DateTime<Utc>,
    /// When to look again, before `until`; `None` when the outside party
    /// calls back.
    pub check_at: Option<DateTime<Utc>>,
    /// What the run waits for; it becomes the task's comment.
    pub reason: Option<String>,
}

impl Pause {
    /// A wait that gives up at `until`.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// use taskstate::Pause;
    ///
    /// let pause = Pause::until(now + Duration::hours(1));
    /// assert_eq!(pause.until, now + Duration::hours(1));
    /// // No check time: the outside party calls back.
    /// assert_eq!((pause.check_at, pause.reason), (None, None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn until(until: DateTime<Utc>) -> Self {
        Pause {
            until,
            check_at: None,
            reason: None,
        }
    }

    /// This wait, looking again at `at`.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, Pause, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let pause = Pause::until(now + Duration::days(1)).check_at(now + Duration::minutes(5));
    /// run.wait(&mut task, pause, now)?;
    /// assert_eq!(task.lease().and_then(|l| l.check_at()), Some(now + Duration::minutes(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_at(mut self, at: DateTime<Utc>) -> Self {
        self.check_at = Some(at);
        self
    }

    /// This wait, saying what it waits for.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, Pause, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let pause = Pause::until(now + Duration::days(1)).reason("waiting for the registry's answer");
    /// run.wait(&mut task, pause, now)?;
    /// assert_eq!(task.comment(), Some("waiting for the registry's answer"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// A finishing move was rejected: the handle comes back with the reason.
///
/// Its `Display` and `source` are the rejection's.
///
/// # Example
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Outcome, Owner, Rejection, ResourceRef, Status, SubtaskChange, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// let new = new.subtask(NewSubtask::new("register", "register the domain"));
/// let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// // Completing before the required subtask succeeds: the handle comes back.
/// let refused = run.complete(&mut task, Outcome::new(), now).err().ok_or("completed")?;
/// assert!(matches!(refused.rejection, Rejection::SubtasksUnsatisfied { remaining: 1, .. }));
/// let run = refused.run;
/// run.subtask(&mut task, 0, SubtaskChange::Start, now)?;
/// run.subtask(&mut task, 0, SubtaskChange::Succeed, now)?;
/// run.complete(&mut task, Outcome::new(), now)?;
/// assert_eq!(task.status(), Status::Done);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    /// The handle, still usable.
    pub run: Run,
    /// Why the move was rejected.
    pub rejection: Rejection,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.rejection, f)
    }
}

impl Error for Refused {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.rejection.source()
    }
}

impl From<Refused> for Rejection {
    fn from(refused: Refused) -> Self {
        refused.rejection
    }
}

impl Run {
    /// The handle of the run a start issued `token` to.
    pub(crate) fn of_start(task: TaskId, token: LeaseToken) -> Self {
        Run { task, token }
    }

    /// Rebuilds the handle of the run that holds `task` now, from the
    /// token its executor kept ([`token`](Run::token)): for an executor
    /// that restarted, or a process that hears back from an outside
    /// party.
    ///
    /// # Errors
    ///
    /// [`Rejection::StaleLease`] when `token` is not the current run's:
    /// the run was stalled, requeued, restarted or finished, or the task
    /// is not leased at all.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, Rejection, ResourceRef, Run, Task};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (first, _) = task.start(now + Duration::minutes(1), None, now)?;
    /// let kept = first.token();
    ///
    /// // The lease runs out; the run is marked stalled and the task requeued and restarted.
    /// let later = now + Duration::minutes(2);
    /// task.apply(Command::MarkStalled, Actor::System, later)?;
    /// task.apply(Command::Requeue { todo_at: None }, Actor::System, later)?;
    /// let (_second, _) = task.start(later + Duration::minutes(1), None, later)?;
    ///
    /// // The first run's token rebuilds nothing.
    /// assert!(matches!(Run::rebuild(&task, kept), Err(Rejection::StaleLease { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rebuild<K>(task: &Task<K>, token: LeaseToken) -> Result<Run, Rejection> {
        match task.lease() {
            Some(lease) if lease.is_held_by(token) => Ok(Run {
                task: task.id(),
                token,
            }),
            lease => Err(Rejection::StaleLease {
                action: crate::Action::Resume,
                presented: Some(token),
                current: lease.map(crate::lease::Lease::token),
            }),
        }
    }

    /// The task this run belongs to.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!(run.task_id(), task.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn task_id(&self) -> TaskId {
        self.task
    }

    /// The run's lease token: what the executor keeps to rebuild the
    /// handle later.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Run, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, started) = task.start(now + Duration::minutes(5), None, now)?;
    /// // The token is the one the start's event issued.
    /// assert_eq!(Some(run.token()), started.lease_token());
    /// assert_eq!(run.token().start_version(), started.version);
    /// let kept = run.token();
    /// assert_eq!(Run::rebuild(&task, kept)?, run);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token(&self) -> LeaseToken {
        self.token
    }

    /// Applies an executor command carrying this run's token, after
    /// checking the handle belongs to the task.
    fn apply<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        command: Command<K>,
        now: DateTime<Utc>,
    ) -> Result<Option<Event<K>>, Rejection> {
        if task.id() != self.task {
            return Err(Rejection::WrongTask {
                handle: self.task,
                task: task.id(),
            });
        }
        task.apply(command, Actor::System, now)
    }

    /// Applies a move that is always logged.
    fn logged<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        command: Command<K>,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Rejection> {
        let action = command.action();
        self.apply(task, command, now)?
            .ok_or_else(|| Rejection::invalid("action", format!("{action} is always logged")))
    }

    /// Applies a finishing move, giving the handle back if it is refused.
    fn finish<K: TaskKind>(
        self,
        task: &mut Task<K>,
        command: Command<K>,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Refused> {
        match self.logged(task, command, now) {
            Ok(event) => Ok(event),
            Err(rejection) => Err(Refused {
                run: self,
                rejection,
            }),
        }
    }

    /// Extends the lease to `lease_until`, with an optional progress
    /// message: lease state, so the version moves but there is no event
    /// to log (save the task with none).
    ///
    /// # Errors
    ///
    /// - [`Rejection::WrongTask`] for another task's record.
    /// - [`Rejection::StaleLease`] when the run no longer holds the task
    ///   (it was stalled, requeued, restarted or finished).
    /// - [`Rejection::InvalidInput`] when `lease_until` is not after `now`
    ///   or is before the current deadline, or after `u32::MAX` heartbeats
    ///   since the last logged event.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, Rejection, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.heartbeat(&mut task, now + Duration::minutes(10), Some("registry contacted".into()), now)?;
    /// let lease = task.lease().ok_or("no lease")?;
    /// assert_eq!((lease.expires_at(), lease.heartbeats()), (now + Duration::minutes(10), 1));
    /// // A heartbeat only extends the lease.
    /// let shorter = run.heartbeat(&mut task, now + Duration::minutes(8), None, now);
    /// assert!(matches!(shorter, Err(Rejection::InvalidInput { field: "lease_until", .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn heartbeat<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        lease_until: DateTime<Utc>,
        progress: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let command = Command::Heartbeat {
            token: self.token,
            lease_until,
            progress,
            check_at: None,
        };
        self.apply(task, command, now).map(drop)
    }

    /// On a waiting task whose outside party had no answer yet: look
    /// again at `check_at`, and give up no earlier than `lease_until`. A
    /// heartbeat: lease state, nothing to log.
    ///
    /// # Errors
    ///
    /// As [`heartbeat`](Run::heartbeat) ([`Rejection::WrongTask`],
    /// [`Rejection::StaleLease`], [`Rejection::InvalidInput`]), and
    /// [`Rejection::InvalidInput`] when the task is running rather than
    /// waiting, or `check_at` is not after `now` or is after
    /// `lease_until`.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, Pause, ResourceRef, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(1), None, now)?;
    /// let deadline = now + Duration::hours(1);
    /// run.wait(&mut task, Pause::until(deadline).check_at(now + Duration::minutes(5)), now)?;
    /// // At the check the registry has no answer yet: look again 10 minutes later.
    /// let checked = now + Duration::minutes(5);
    /// run.check_later(&mut task, checked + Duration::minutes(10), deadline, checked)?;
    /// assert_eq!(task.check_due_at(), Some(checked + Duration::minutes(10)));
    /// assert_eq!(task.status(), Status::Waiting);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_later<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        check_at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let command = Command::Heartbeat {
            token: self.token,
            lease_until,
            progress: None,
            check_at: Some(check_at),
        };
        self.apply(task, command, now).map(drop)
    }

    /// Pauses the run on an outside party (see [`Pause`]).
    ///
    /// # Errors
    ///
    /// [`Rejection::WrongTask`] for another task's record,
    /// [`Rejection::StaleLease`] when the run no longer holds the task,
    /// [`Rejection::IllegalMove`] when it is waiting already, and
    /// [`Rejection::InvalidInput`] when `until` is not after `now`, or
    /// the check time is not after `now` or is after `until`.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, Pause, Rejection, ResourceRef, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(1), None, now)?;
    /// // A check time after the wait gives up is refused.
    /// let late = Pause::until(now + Duration::hours(1)).check_at(now + Duration::hours(2));
    /// assert!(matches!(run.wait(&mut task, late, now), Err(Rejection::InvalidInput { field: "check_at", .. })));
    /// let waited = run.wait(&mut task, Pause::until(now + Duration::hours(1)), now)?;
    /// assert_eq!((waited.to, task.status()), (Status::Waiting, Status::Waiting));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        pause: Pause,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Rejection> {
        let command = Command::Wait {
            token: self.token,
            until: pause.until,
            check_at: pause.check_at,
            reason: pause.reason,
        };
        self.logged(task, command, now)
    }

    /// Takes a waiting task back into running, under a lease until
    /// `lease_until`.
    ///
    /// # Errors
    ///
    /// [`Rejection::WrongTask`] for another task's record,
    /// [`Rejection::StaleLease`] when the run no longer holds the task
    /// (the wait gave up and it was marked stalled, …),
    /// [`Rejection::IllegalMove`] when it is running rather than waiting,
    /// and [`Rejection::InvalidInput`] when `lease_until` is not after
    /// `now`.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, Pause, ResourceRef, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(1), None, now)?;
    /// run.wait(&mut task, Pause::until(now + Duration::hours(1)), now)?;
    /// // The registry calls back: back to work, under a 5-minute lease.
    /// let later = now + Duration::minutes(30);
    /// run.resume(&mut task, later + Duration::minutes(5), later)?;
    /// assert_eq!(task.status(), Status::Running);
    /// assert_eq!(task.lease().map(|l| l.expires_at()), Some(later + Duration::minutes(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resume<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Rejection> {
        let command = Command::Resume {
            token: self.token,
            lease_until,
        };
        self.logged(task, command, now)
    }

    /// Moves subtask `id`: starts it, finishes it, skips it, …
    ///
    /// # Errors
    ///
    /// [`Rejection::WrongTask`] for another task's record;
    /// [`Rejection::StaleLease`] when the run no longer holds the task;
    /// [`Rejection::IllegalMove`] when the task is waiting;
    /// [`Rejection::InvalidInput`] for an unknown id, or a failure without
    /// errors or with an empty code; [`Rejection::IllegalSubtaskMove`]
    /// when the subtask table has no such move from the subtask's status;
    /// [`Rejection::SubtasksUnsatisfied`] when a subtask would succeed
    /// before its required children; [`Rejection::RefusedByRule`] when a
    /// fail-fast kind refuses to start a subtask after a required one
    /// failed.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, Rejection, ResourceRef, SubtaskChange, SubtaskStatus, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let new = new.subtask(NewSubtask::new("check", "check availability"));
    /// let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.subtask(&mut task, 0, SubtaskChange::Start, now)?;
    /// run.subtask(&mut task, 0, SubtaskChange::Succeed, now)?;
    /// assert_eq!(task.subtasks().get(0).map(|s| s.status), Some(SubtaskStatus::Succeeded));
    /// // A subtask that succeeded does not start again.
    /// let again = run.subtask(&mut task, 0, SubtaskChange::Start, now);
    /// assert!(matches!(again, Err(Rejection::IllegalSubtaskMove { subtask: 0, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subtask<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        id: SubtaskId,
        change: SubtaskChange,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Rejection> {
        let command = Command::Subtask {
            token: self.token,
            id,
            change,
        };
        self.logged(task, command, now)
    }

    /// Declares one more subtask.
    ///
    /// # Errors
    ///
    /// [`Rejection::WrongTask`] for another task's record;
    /// [`Rejection::StaleLease`] when the run no longer holds the task;
    /// [`Rejection::IllegalMove`] when the task is waiting;
    /// [`Rejection::InvalidInput`] for an empty name, a parent that is not
    /// an earlier, unsettled subtask, or a subtask nested deeper than
    /// [`MAX_SUBTASK_DEPTH`](crate::MAX_SUBTASK_DEPTH).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, Rejection, ResourceRef, SubtaskStatus, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.add_subtask(&mut task, NewSubtask::new("dnssec", "sign the zone"), now)?;
    /// assert_eq!(task.subtasks().len(), 1);
    /// assert_eq!(task.subtasks().get(0).map(|s| s.status), Some(SubtaskStatus::Pending));
    /// // A subtask needs a name.
    /// let unnamed = run.add_subtask(&mut task, NewSubtask::new("", ""), now);
    /// assert!(matches!(unnamed, Err(Rejection::InvalidInput { field: "subtask.name", .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_subtask<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        subtask: NewSubtask,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Rejection> {
        let command = Command::AddSubtask {
            token: self.token,
            subtask,
        };
        self.logged(task, command, now)
    }

    /// Reports steps done of a total, and the step being worked on, for a
    /// task without subtasks.
    ///
    /// # Errors
    ///
    /// [`Rejection::WrongTask`] for another task's record;
    /// [`Rejection::StaleLease`] when the run no longer holds the task
    /// (so also when the task is not running or waiting);
    /// [`Rejection::InvalidInput`] for a task with subtasks (its steps are
    /// its subtasks) or more steps done than in all.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.report_steps(&mut task, 1, 3, Some("contacting the registry".into()), now)?;
    /// let progress = task.progress().ok_or("no progress")?;
    /// assert_eq!((progress.step_count, progress.total_steps), (1, 3));
    /// assert_eq!(progress.current_step.as_deref(), Some("contacting the registry"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn report_steps<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        done: u32,
        total: u32,
        current_step: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Rejection> {
        let command = Command::ReportProgress {
            token: self.token,
            steps: Some((done, total)),
            percent: None,
            current_step,
            expected_done_at: None,
        };
        self.logged(task, command, now)
    }

    /// Reports when the task is expected to finish.
    ///
    /// # Errors
    ///
    /// [`Rejection::WrongTask`] for another task's record;
    /// [`Rejection::StaleLease`] when the run no longer holds the task
    /// (so also when the task is not running or waiting).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.expect_done_at(&mut task, now + Duration::hours(2), now)?;
    /// let progress = task.progress().ok_or("no progress")?;
    /// assert_eq!(progress.expected_done_at, Some(now + Duration::hours(2)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expect_done_at<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Rejection> {
        let command = Command::ReportProgress {
            token: self.token,
            steps: None,
            percent: None,
            current_step: None,
            expected_done_at: Some(at),
        };
        self.logged(task, command, now)
    }

    /// Reports the share of the work done, as a percentage with the
    /// precision the work is measured in (for work not counted in steps:
    /// a provider that reports only a percentage), and the step being
    /// worked on if there is one.
    ///
    /// ```
    /// use taskstate::Percent;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("VmCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("vm", "vm-1"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// let (run, _) = task.start(now + chrono::Duration::minutes(5), None, now)?;
    /// run.report_percent(&mut task, "55.5".parse()?, None, now)?;
    /// let progress = task.progress().ok_or("no progress")?;
    /// assert_eq!(progress.percent().to_string(), "55.5");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejection::WrongTask`] for another task's record;
    /// [`Rejection::StaleLease`] when the run no longer holds the task
    /// (so also when the task is not running or waiting).
    pub fn report_percent<K: TaskKind>(
        &self,
        task: &mut Task<K>,
        percent: Percent,
        current_step: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Rejection> {
        let command = Command::ReportProgress {
            token: self.token,
            steps: None,
            percent: Some(percent),
            current_step,
            expected_done_at: None,
        };
        self.logged(task, command, now)
    }

    /// Finishes the run successfully.
    ///
    /// # Errors
    ///
    /// The handle comes back with the rejection (see [`Refused`]):
    /// [`Rejection::WrongTask`] for another task's record,
    /// [`Rejection::StaleLease`] when the run no longer holds the task (so
    /// also when the task is not running or waiting), and
    /// [`Rejection::SubtasksUnsatisfied`] while a required subtask is not
    /// satisfied.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let done = run.complete(&mut task, Outcome::new().message("example.fr created"), now)?;
    /// assert_eq!((done.to, task.status()), (Status::Done, Status::Done));
    /// assert_eq!(task.comment(), Some("example.fr created"));
    /// assert!(task.lease().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn complete<K: TaskKind>(
        self,
        task: &mut Task<K>,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Refused> {
        let command = Command::Complete {
            token: self.token,
            outcome: Box::new(outcome),
        };
        self.finish(task, command, now)
    }

    /// Finishes the run with a failure.
    ///
    /// # Errors
    ///
    /// The handle comes back with the rejection (see [`Refused`]):
    /// [`Rejection::WrongTask`] for another task's record,
    /// [`Rejection::StaleLease`] when the run no longer holds the task (so
    /// also when the task is not running or waiting), and
    /// [`Rejection::InvalidInput`] for an empty failure code
    /// (`failure.code`) or a flagged field that the kind does not declare
    /// or makes read-only (`failure.fields`).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Failure, FollowUp, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let failure = Failure::provider("REGISTRY_TIMEOUT", "the registry did not answer", now);
    /// let failed = run.fail(&mut task, failure, now)?;
    /// assert_eq!((failed.to, task.attempts()), (Status::Failed, 1));
    /// // A provider fault: the system retries it.
    /// assert!(matches!(task.follow_up(), Some(FollowUp::Retry { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fail<K: TaskKind>(
        self,
        task: &mut Task<K>,
        failure: Failure,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Refused> {
        let command = Command::Fail {
            token: Some(self.token),
            failure: Box::new(failure),
        };
        self.finish(task, command, now)
    }

    /// Confirms the run stopped after a cancel request: the task becomes
    /// `Cancelled`.
    ///
    /// # Errors
    ///
    /// The handle comes back with the rejection (see [`Refused`]):
    /// [`Rejection::WrongTask`] for another task's record,
    /// [`Rejection::StaleLease`] when the run no longer holds the task,
    /// and [`Rejection::CancelNotRequested`] when no cancel was requested.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, CancelRules, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Rules, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let kind = NamedKind::with_rules("DomainCreate", Rules::new().cancel(CancelRules::STANDARD.with_running()));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // The customer asks to cancel the running task (its kind allows it).
    /// task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?;
    /// assert!(task.cancel_requested_at().is_some());
    /// // The executor sees the request, stops, and confirms.
    /// run.acknowledge_cancel(&mut task, now)?;
    /// assert_eq!(task.status(), Status::Cancelled);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acknowledge_cancel<K: TaskKind>(
        self,
        task: &mut Task<K>,
        now: DateTime<Utc>,
    ) -> Result<Event<K>, Refused> {
        let command = Command::AcknowledgeCancel { token: self.token };
        self.finish(task, command, now)
    }
}
