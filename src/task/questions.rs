//! Questions: what a caller may do next, derived from the same decision
//! as [`Task::apply`], and when the task next needs anyone.

use chrono::{DateTime, Utc};

use super::Task;
use super::decide::{Assume, Scope};
use crate::actor::Actor;
use crate::argument;
use crate::command::Command;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::table::Transition;
use crate::task::error::Rejection;

/// The earliest time a task needs someone, and for what: what a worker
/// sleeps until (quinn's `poll_timeout`). See [`Task::next_wakeup`].
///
/// # Example
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// use taskstate::{Wakeup, WakeupReason};
///
/// // A pending task with no todo time is due from its creation.
/// assert_eq!(task.next_wakeup(), Some(Wakeup { at: now, reason: WakeupReason::Start }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Wakeup {
    /// When.
    pub at: DateTime<Utc>,
    /// What is due then.
    pub reason: WakeupReason,
}

/// What a [`Wakeup`] is for.
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
/// use taskstate::WakeupReason;
///
/// let (_run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// // A running task needs someone when its lease runs out: to mark it stalled.
/// let wakeup = task.next_wakeup().ok_or("no wakeup")?;
/// assert_eq!((wakeup.at, wakeup.reason), (now + Duration::minutes(5), WakeupReason::LeaseExpiry));
/// assert!(task.can_mark_stalled(wakeup.at));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WakeupReason {
    /// A pending task becomes due: an executor may start it.
    Start,
    /// A waiting task's time to look again: a poller checks on the outside
    /// party.
    Check,
    /// The run's lease runs out: the task may be marked stalled.
    LeaseExpiry,
    /// A stalled task waits to be requeued, failed or cancelled.
    Requeue,
    /// A failed task's automatic retry becomes due.
    Retry,
}

impl<K: TaskKind> Task<K> {
    /// Whether `actor` could apply `command` at `now`, without applying it:
    /// the same decision as [`apply`](Task::apply), returning the row it
    /// would take.
    ///
    /// # Errors
    ///
    /// The [`Rejection`] that [`apply`](Task::apply) would return, from
    /// the first check that fails: [`NotOwner`](Rejection::NotOwner) for
    /// a customer who does not own the task,
    /// [`StaleLease`](Rejection::StaleLease) for a token that is not the
    /// current run's, [`IllegalMove`](Rejection::IllegalMove) or
    /// [`RoleNotAllowed`](Rejection::RoleNotAllowed) when the table has no
    /// such row or not for this role, then the row's guards
    /// ([`LeaseActive`](Rejection::LeaseActive),
    /// [`NotDue`](Rejection::NotDue), [`AlreadyDue`](Rejection::AlreadyDue),
    /// [`CancelAlreadyRequested`](Rejection::CancelAlreadyRequested),
    /// [`CancelNotRequested`](Rejection::CancelNotRequested),
    /// [`RefusedByRule`](Rejection::RefusedByRule),
    /// [`CannotCorrect`](Rejection::CannotCorrect),
    /// [`CannotRelaunch`](Rejection::CannotRelaunch),
    /// [`NoRetryScheduled`](Rejection::NoRetryScheduled),
    /// [`RetryNotDue`](Rejection::RetryNotDue),
    /// [`IllegalSubtaskMove`](Rejection::IllegalSubtaskMove),
    /// [`SubtasksUnsatisfied`](Rejection::SubtasksUnsatisfied)), and
    /// [`InvalidInput`](Rejection::InvalidInput) or
    /// [`InvalidArgument`](Rejection::InvalidArgument) for the command's
    /// data. The errors of [`apply`](Task::apply) say when each applies.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let row = task.check(&Command::Cancel { reason: None }, &Actor::customer("alice"), now)?;
    /// assert_eq!(row.to, Status::Cancelled);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(
        &self,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<&'static Transition, Rejection> {
        self.decide(command, actor, now, Scope::Full, Assume::Nothing)
            .map(|decision| decision.row)
    }

    /// Whether `actor` may cancel this task at `now` (OVHcloud's
    /// `canCancel`, VMware's `isCancellable`), by the table and the kind's
    /// rules. On running work, a cancel is a request the executor
    /// acknowledges.
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
    /// let alice = Actor::customer("alice");
    /// assert!(task.can_cancel(&alice, now));
    /// assert!(!task.can_cancel(&Actor::customer("bob"), now));
    /// // By the standard rules, running work is not cancellable.
    /// let (_run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert!(!task.can_cancel(&alice, now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn can_cancel(&self, actor: &Actor, now: DateTime<Utc>) -> bool {
        self.check(&Command::Cancel { reason: None }, actor, now)
            .is_ok()
    }

    /// Whether `actor` may bring this task's `todo_at` forward at `now`
    /// (OVHcloud's `canAccelerate`).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new.todo_at(now + Duration::hours(1)), Actor::customer("alice"), now)?;
    /// let alice = Actor::customer("alice");
    /// assert!(task.can_accelerate(&alice, now));
    /// // Once it is due, there is nothing to bring forward.
    /// assert!(!task.can_accelerate(&alice, now + Duration::hours(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn can_accelerate(&self, actor: &Actor, now: DateTime<Utc>) -> bool {
        self.check(&Command::Accelerate, actor, now).is_ok()
    }

    /// Whether `actor` could relaunch this task at `now` as it stands,
    /// with no corrections in the relaunch (the flagged arguments
    /// corrected already, the budget not spent, …).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, ArgumentSpec, Command, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("contact", 1, 64));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let failure = Failure::customer("CONTACT_INVALID", "the owner contact is invalid", now).flag("contact");
    /// run.fail(&mut task, failure, now)?;
    /// let alice = Actor::customer("alice");
    /// assert!(!task.can_relaunch(&alice, now));
    /// task.apply(Command::set_argument("contact", "c-2"), alice.clone(), now)?;
    /// assert!(task.can_relaunch(&alice, now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn can_relaunch(&self, actor: &Actor, now: DateTime<Utc>) -> bool {
        self.check(&Command::relaunch(), actor, now).is_ok()
    }

    /// Whether `actor` could relaunch this task once the flagged arguments
    /// are corrected, by earlier edits or in the relaunch itself:
    /// OVHcloud's `canRelaunch`, which tells a customer that correcting
    /// and relaunching is up to them. The same decision as a relaunch
    /// carrying the corrections, and the actor must be allowed to edit
    /// every argument still to correct; or a relaunch is possible right
    /// now (a kind that does not require corrections takes one without
    /// them).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, ArgumentSpec, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("contact", 1, 64));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let failure = Failure::customer("CONTACT_INVALID", "the owner contact is invalid", now).flag("contact");
    /// run.fail(&mut task, failure, now)?;
    /// let alice = Actor::customer("alice");
    /// // Not as it stands: the contact is still to correct. But correcting it is up to Alice.
    /// assert!(!task.can_relaunch(&alice, now));
    /// assert!(task.can_relaunch_once_corrected(&alice, now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn can_relaunch_once_corrected(&self, actor: &Actor, now: DateTime<Utc>) -> bool {
        if self.can_relaunch(actor, now) {
            return true;
        }
        self.decide(
            &Command::relaunch(),
            actor,
            now,
            Scope::Full,
            Assume::Corrected,
        )
        .is_ok()
            && self
                .state
                .to_correct
                .iter()
                .all(|key| self.can_edit(key, actor, now))
    }

    /// Why `actor` could not relaunch this task at `now`, if it could
    /// not: the rejection a relaunch would get, naming the rule.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, ArgumentSpec, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("contact", 1, 64));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// use taskstate::{RelaunchRefusal, Rejection};
    ///
    /// let failure = Failure::customer("CONTACT_INVALID", "the owner contact is invalid", now).flag("contact");
    /// run.fail(&mut task, failure, now)?;
    /// let refusal = task.relaunch_rejection(&Actor::customer("alice"), now);
    /// let uncorrected = RelaunchRefusal::Uncorrected { keys: vec!["contact".into()] };
    /// assert_eq!(refusal, Some(Rejection::CannotRelaunch { reason: uncorrected }));
    /// // An operator may relaunch any failure.
    /// assert_eq!(task.relaunch_rejection(&Actor::operator("bob"), now), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn relaunch_rejection(&self, actor: &Actor, now: DateTime<Utc>) -> Option<Rejection> {
        self.check(&Command::relaunch(), actor, now).err()
    }

    /// Whether `actor` may set the argument `key` at `now`: the move is
    /// allowed (the kind allows edits in this status, for this actor) and
    /// the kind declares the argument and does not make it read-only. The
    /// value is not judged: a valid one would be accepted.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, ArgumentSpec, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("contact", 1, 64));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let failure = Failure::customer("CONTACT_INVALID", "the owner contact is invalid", now).flag("contact");
    /// run.fail(&mut task, failure, now)?;
    /// let alice = Actor::customer("alice");
    /// assert!(task.can_edit("contact", &alice, now));
    /// // The kind declares no such argument.
    /// assert!(!task.can_edit("password", &alice, now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn can_edit(&self, key: &str, actor: &Actor, now: DateTime<Utc>) -> bool {
        let clear = Command::SetArgument {
            key: key.to_owned(),
            value: None,
        };
        self.check_move(&clear, actor, now, Scope::Full, Assume::Nothing)
            .is_ok()
            && argument::spec_of(self.identity.kind.arguments(), key)
                .is_ok_and(|spec| !spec.read_only)
    }

    /// Whether the lease has run out at `now`, so that `mark_stalled`
    /// would be accepted.
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
    /// let (_run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert!(!task.can_mark_stalled(now + Duration::minutes(4)));
    /// assert!(task.can_mark_stalled(now + Duration::minutes(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn can_mark_stalled(&self, now: DateTime<Utc>) -> bool {
        self.check(&Command::MarkStalled, &Actor::System, now)
            .is_ok()
    }

    /// The task that keeps this one from starting, among `others` on the
    /// same resource (Dyn's `blocking`), if any: a blocking task in
    /// progress (running, waiting or stalled) blocks every other task on
    /// its resource, and a blocking task waits for every task in progress
    /// on its resource. Pending tasks block nobody. The rule is pure: a
    /// store supplies the tasks active on the resource.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let mut ids = IdGenerator::seeded(1);
    /// let zone = ResourceRef::new("zone", "example.com");
    /// let publish = NewTask::new(ids.next_id(now), NamedKind::new("ZonePublish"), Owner::new("acme"), zone.clone());
    /// let (mut publish, _) = Task::create(publish.blocking(true), Actor::System, now)?;
    /// let edit = NewTask::new(ids.next_id(now), NamedKind::new("RecordEdit"), Owner::new("acme"), zone);
    /// let (edit, _) = Task::create(edit, Actor::System, now)?;
    /// // A pending task blocks nobody; a blocking task in progress does.
    /// assert!(edit.blocked_by([&publish]).is_none());
    /// let (_run, _) = publish.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!(edit.blocked_by([&publish]).map(Task::id), Some(publish.id()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn blocked_by<'a>(
        &self,
        others: impl IntoIterator<Item = &'a Task<K>>,
    ) -> Option<&'a Task<K>>
    where
        K: 'a,
    {
        let blocking = self.is_blocking();
        others.into_iter().find(|other| {
            other.id() != self.id()
                && other.resource() == self.resource()
                && other.status().is_in_progress()
                && (blocking || other.is_blocking())
        })
    }
}

impl<K> Task<K> {
    /// While waiting: when to look again, if that comes before the wait
    /// gives up. What a store's check queue is keyed by.
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
    /// let (run, _) = task.start(now + Duration::minutes(1), None, now)?;
    /// assert_eq!(task.check_due_at(), None);
    /// run.wait(&mut task, Pause::until(now + Duration::days(1)).check_at(now + Duration::minutes(5)), now)?;
    /// assert_eq!(task.check_due_at(), Some(now + Duration::minutes(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_due_at(&self) -> Option<DateTime<Utc>> {
        self.next_wakeup()
            .filter(|wakeup| wakeup.reason == WakeupReason::Check)
            .map(|wakeup| wakeup.at)
    }

    /// The earliest time the task needs anyone, and for what; `None` for a
    /// task that needs nobody (done, cancelled, or failed with no retry
    /// scheduled). A pending task is due at its `todo_at`, or from its
    /// creation; a waiting one at its check time if that comes before its
    /// deadline; a stalled one now (since it stalled).
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, Pause, ResourceRef, Task, WakeupReason};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(1), None, now)?;
    /// // Wait for the registry: look again in 5 minutes, give up after a day.
    /// run.wait(&mut task, Pause::until(now + Duration::days(1)).check_at(now + Duration::minutes(5)), now)?;
    /// let wakeup = task.next_wakeup().ok_or("a wakeup")?;
    /// assert_eq!((wakeup.at, wakeup.reason), (now + Duration::minutes(5), WakeupReason::Check));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_wakeup(&self) -> Option<Wakeup> {
        let state = &self.state;
        let wakeup = |at, reason| Some(Wakeup { at, reason });
        match state.status {
            Status::Pending => wakeup(
                state.todo_at.unwrap_or(self.identity.created_at),
                WakeupReason::Start,
            ),
            Status::Running => {
                let lease = state.lease.as_ref()?;
                wakeup(lease.expires_at(), WakeupReason::LeaseExpiry)
            }
            Status::Waiting => {
                let lease = state.lease.as_ref()?;
                match lease.check_at() {
                    Some(check_at) if check_at < lease.expires_at() => {
                        wakeup(check_at, WakeupReason::Check)
                    }
                    _ => wakeup(lease.expires_at(), WakeupReason::LeaseExpiry),
                }
            }
            Status::Stalled => wakeup(state.updated_at, WakeupReason::Requeue),
            Status::Failed => {
                let at = self.next_retry_at()?;
                wakeup(at, WakeupReason::Retry)
            }
            Status::Done | Status::Cancelled => None,
        }
    }
}
