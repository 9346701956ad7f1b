//! Subtasks, their aggregation into the parent, and progress.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::failure::Failure;
use crate::status::Status;

mod percent;
mod shared;
pub use percent::{Percent, PercentError};
use shared::SharedVec;

crate::vocabulary::vocabulary! {
    /// The status of a subtask.
    ///
    /// ```
    /// use taskstate::SubtaskStatus;
    ///
    /// let status: SubtaskStatus = "not_applicable".parse()?;
    /// assert_eq!(status, SubtaskStatus::NotApplicable);
    /// assert!(status.is_satisfied() && status.is_settled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[serde(rename_all = "snake_case")]
    pub enum SubtaskStatus("status", "statuses") {
        /// Not started yet.
        Pending => "pending",
        /// Being worked on.
        Running => "running",
        /// Finished successfully.
        Succeeded => "succeeded",
        /// Finished with errors.
        Failed => "failed",
        /// Passed over on purpose.
        Skipped => "skipped",
        /// Did not apply to this task.
        NotApplicable => "not_applicable",
        /// Stopped on request.
        Cancelled => "cancelled",
    }
    fn index;
    impl FromStr<Err = crate::status::ParseStatusError>;
}

impl SubtaskStatus {
    /// Succeeded, skipped or not applicable: nothing is left to do and
    /// nothing went wrong.
    ///
    /// ```
    /// use taskstate::SubtaskStatus;
    ///
    /// assert!(SubtaskStatus::Skipped.is_satisfied());
    /// assert!(!SubtaskStatus::Cancelled.is_satisfied()); // settled, but not satisfied
    /// assert!(!SubtaskStatus::Running.is_satisfied());
    /// ```
    pub const fn is_satisfied(self) -> bool {
        matches!(
            self,
            SubtaskStatus::Succeeded | SubtaskStatus::Skipped | SubtaskStatus::NotApplicable
        )
    }

    /// Neither pending nor running.
    ///
    /// ```
    /// use taskstate::SubtaskStatus;
    ///
    /// assert!(SubtaskStatus::Failed.is_settled());
    /// assert!(!SubtaskStatus::Pending.is_settled());
    /// ```
    pub const fn is_settled(self) -> bool {
        !matches!(self, SubtaskStatus::Pending | SubtaskStatus::Running)
    }
}

/// What an executor does to a subtask.
///
/// Serialized with a `change` tag: `{"change":"skip"}`,
/// `{"change":"fail","errors":[…]}`.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{Failure, SubtaskChange, SubtaskStatus};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
/// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
/// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
/// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
/// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
/// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
/// # let (mut task, _) = Task::create(new, Actor::System, now)?;
/// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
/// run.subtask(&mut task, 2, SubtaskChange::Start, now)?;
/// let errors = vec![Failure::provider("POOL_FULL", "the pool is full", now)];
/// run.subtask(&mut task, 2, SubtaskChange::Fail { errors }, now)?;
/// assert_eq!(task.subtasks().get(2).map(|s| s.status), Some(SubtaskStatus::Failed));
/// let skip: SubtaskChange = serde_json::from_str(r#"{"change":"skip"}"#)?;
/// assert_eq!(skip, SubtaskChange::Skip);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SubtaskChange {
    /// Start working on it.
    Start,
    /// It finished successfully.
    Succeed,
    /// It finished with errors.
    Fail {
        /// What went wrong; at least one.
        errors: Vec<Failure>,
    },
    /// Pass over it on purpose.
    Skip,
    /// It does not apply to this task.
    MarkNotApplicable,
    /// Stop it.
    Cancel,
}

crate::strict::strict_tagged!(
    SubtaskChange,
    "change",
    ["start", "succeed", "skip", "mark_not_applicable", "cancel"]
);

impl SubtaskChange {
    /// The change's name in the subtask table.
    ///
    /// ```
    /// use taskstate::{SubtaskAction, SubtaskChange};
    ///
    /// assert_eq!(SubtaskChange::MarkNotApplicable.action(), SubtaskAction::MarkNotApplicable);
    /// assert_eq!(SubtaskChange::Fail { errors: vec![] }.action(), SubtaskAction::Fail);
    /// ```
    pub const fn action(&self) -> SubtaskAction {
        match self {
            SubtaskChange::Start => SubtaskAction::Start,
            SubtaskChange::Succeed => SubtaskAction::Succeed,
            SubtaskChange::Fail { .. } => SubtaskAction::Fail,
            SubtaskChange::Skip => SubtaskAction::Skip,
            SubtaskChange::MarkNotApplicable => SubtaskAction::MarkNotApplicable,
            SubtaskChange::Cancel => SubtaskAction::Cancel,
        }
    }
}

crate::vocabulary::vocabulary! {
    /// The name of a [`SubtaskChange`], the key of the subtask table.
    ///
    /// ```
    /// use taskstate::{SubtaskAction, SubtaskChange, SubtaskStatus, SUBTASK_TRANSITIONS};
    ///
    /// let action = SubtaskChange::Succeed.action();
    /// assert_eq!(action, SubtaskAction::Succeed);
    /// let from: Vec<SubtaskStatus> = SUBTASK_TRANSITIONS.iter()
    ///     .filter(|(_, a, _)| *a == action).map(|(from, _, _)| *from).collect();
    /// assert_eq!(from, [SubtaskStatus::Running]); // only running work succeeds
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[serde(rename_all = "snake_case")]
    pub enum SubtaskAction("action", "actions") {
        /// See [`SubtaskChange::Start`].
        Start => "start",
        /// See [`SubtaskChange::Succeed`].
        Succeed => "succeed",
        /// See [`SubtaskChange::Fail`].
        Fail => "fail",
        /// See [`SubtaskChange::Skip`].
        Skip => "skip",
        /// See [`SubtaskChange::MarkNotApplicable`].
        MarkNotApplicable => "mark_not_applicable",
        /// See [`SubtaskChange::Cancel`].
        Cancel => "cancel",
    }
    impl FromStr<Err = crate::ParseActionError>;
}

/// The subtasks' transition table: `(from, action, to)`. Resets to pending
/// on a retry are not moves of this table: they are part of the task's
/// relaunch, retry and requeue.
///
/// ```
/// use taskstate::{SubtaskAction, SubtaskStatus, SUBTASK_TRANSITIONS};
///
/// let target = |from, action| SUBTASK_TRANSITIONS.iter()
///     .find(|(f, a, _)| *f == from && *a == action).map(|(_, _, to)| *to);
/// assert_eq!(target(SubtaskStatus::Pending, SubtaskAction::Skip), Some(SubtaskStatus::Skipped));
/// assert_eq!(target(SubtaskStatus::Pending, SubtaskAction::Succeed), None); // start it first
/// assert!(SUBTASK_TRANSITIONS.iter().all(|(from, _, _)| !from.is_settled()));
/// ```
pub const SUBTASK_TRANSITIONS: &[(SubtaskStatus, SubtaskAction, SubtaskStatus)] = {
    use SubtaskAction as A;
    use SubtaskStatus as S;
    &[
        (S::Pending, A::Start, S::Running),
        (S::Pending, A::Skip, S::Skipped),
        (S::Pending, A::MarkNotApplicable, S::NotApplicable),
        (S::Pending, A::Cancel, S::Cancelled),
        (S::Running, A::Succeed, S::Succeeded),
        (S::Running, A::Fail, S::Failed),
        (S::Running, A::Cancel, S::Cancelled),
    ]
};

/// Where `action` leads a subtask in `status`, if anywhere.
pub(crate) fn subtask_target(
    status: SubtaskStatus,
    action: SubtaskAction,
) -> Option<SubtaskStatus> {
    SUBTASK_TRANSITIONS
        .iter()
        .find(|(from, a, _)| *from == status && *a == action)
        .map(|(_, _, to)| *to)
}

/// The index of a subtask within its task: its position in
/// [`Subtasks::iter`], given in order of declaration.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
/// use taskstate::SubtaskId;
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
/// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
/// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
/// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
/// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
/// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
/// # let (mut task, _) = Task::create(new, Actor::System, now)?;
/// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
/// let commission: SubtaskId = 2;
/// assert_eq!(task.subtasks().get(commission).map(|s| s.name.as_str()), Some("Commission"));
/// assert!(task.subtasks().iter().enumerate().all(|(i, s)| s.id as usize == i));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type SubtaskId = u32;

/// How deep subtasks nest at most: a top-level subtask is at depth 1. A
/// subtask declared deeper is refused
/// ([`Rejection::InvalidInput`](crate::Rejection::InvalidInput)), so
/// that every view of the tree (VMware's nested `subTasks`) stays within
/// what a JSON reader takes.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{NewSubtask, Rejection, MAX_SUBTASK_DEPTH};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
/// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"));
/// // A chain of `depth` subtasks, each nested under the one before.
/// let chain = |depth: u32| (0..depth).fold(new.clone(), |new, i| {
///     let step = NewSubtask::new(format!("Step{i}"), "one level down");
///     new.subtask(if i == 0 { step } else { step.under(i - 1) })
/// });
/// let deepest = MAX_SUBTASK_DEPTH as u32;
/// assert!(Task::create(chain(deepest), Actor::System, now).is_ok());
/// let refused = Task::create(chain(deepest + 1), Actor::System, now);
/// assert!(matches!(refused, Err(Rejection::InvalidInput { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_SUBTASK_DEPTH: usize = 16;

/// The declaration of a subtask, as a task is created with it or an
/// executor adds it.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{NewSubtask, SubtaskStatus};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
/// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"));
/// let new = new
///     .subtask(NewSubtask::new("Validate", "Validate the host"))
///     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0).optional());
/// let (task, _) = Task::create(new, Actor::System, now)?;
/// let vib = task.subtasks().get(1).ok_or("no subtask")?;
/// assert_eq!((vib.parent, vib.optional, vib.status), (Some(0), true, SubtaskStatus::Pending));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubtask {
    /// A stable name (`HostVibValidationAction`).
    pub name: String,
    /// What it does, for people.
    #[serde(default)]
    pub description: String,
    /// The subtask it belongs to, if it is nested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<SubtaskId>,
    /// Whether its failure is only a warning on the task.
    #[serde(default)]
    pub optional: bool,
}

impl NewSubtask {
    /// A required, top-level subtask.
    ///
    /// ```
    /// use taskstate::NewSubtask;
    ///
    /// let validate = NewSubtask::new("Validate", "Validate the host");
    /// assert_eq!((validate.parent, validate.optional), (None, false));
    /// assert_eq!(validate.description, "Validate the host");
    /// ```
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        NewSubtask {
            name: name.into(),
            description: description.into(),
            parent: None,
            optional: false,
        }
    }

    /// This subtask, optional: its failure is a warning on the task.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Failure, NewSubtask, Outcome, SubtaskChange};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"));
    /// let new = new
    ///     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    ///     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// # for change in [SubtaskChange::Start, SubtaskChange::Succeed] {
    /// #     run.subtask(&mut task, 0, change, now)?;
    /// # }
    /// run.subtask(&mut task, 1, SubtaskChange::Start, now)?;
    /// let errors = vec![Failure::provider("TAGS_DOWN", "the tagging service is down", now)];
    /// run.subtask(&mut task, 1, SubtaskChange::Fail { errors }, now)?;
    /// run.complete(&mut task, Outcome::new(), now)?; // the failed optional subtask does not stop it
    /// assert!(task.completed_with_warnings());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// This subtask, nested under `parent`, which must be declared before
    /// it.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::NewSubtask;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"));
    /// let new = new
    ///     .subtask(NewSubtask::new("Validate", "Validate the host"))
    ///     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0));
    /// let (task, _) = Task::create(new, Actor::System, now)?;
    /// let nested: Vec<_> = task.subtasks().children(Some(0)).map(|s| s.name.as_str()).collect();
    /// assert_eq!(nested, ["CheckVib"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn under(mut self, parent: SubtaskId) -> Self {
        self.parent = Some(parent);
        self
    }
}

/// A subtask of a task.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{Failure, SubtaskChange, SubtaskStatus};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
/// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
/// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
/// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
/// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
/// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
/// # let (mut task, _) = Task::create(new, Actor::System, now)?;
/// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
/// run.subtask(&mut task, 2, SubtaskChange::Start, now)?;
/// let later = now + Duration::minutes(1);
/// let errors = vec![Failure::provider("POOL_FULL", "the pool is full", later)];
/// run.subtask(&mut task, 2, SubtaskChange::Fail { errors }, later)?;
/// let commission = task.subtasks().get(2).ok_or("no subtask")?;
/// assert_eq!((commission.status, commission.started_at, commission.finished_at),
///     (SubtaskStatus::Failed, Some(now), Some(later)));
/// assert_eq!(commission.errors[0].code, "POOL_FULL");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subtask {
    /// Its index in the task.
    pub id: SubtaskId,
    /// A stable name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The subtask it belongs to, if nested.
    pub parent: Option<SubtaskId>,
    /// Whether its failure is only a warning.
    pub optional: bool,
    /// Its status.
    pub status: SubtaskStatus,
    /// When it was declared.
    #[serde(with = "crate::stamp")]
    pub created_at: DateTime<Utc>,
    /// When its current or last run started.
    #[serde(default, with = "crate::stamp::option")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it settled.
    #[serde(default, with = "crate::stamp::option")]
    pub finished_at: Option<DateTime<Utc>>,
    /// What went wrong, when it failed.
    pub errors: Vec<Failure>,
}

/// Counts of subtasks (or child tasks) by status, required and optional
/// apart: all that aggregation and progress need.
///
/// ```
/// use taskstate::{Aggregate, AggregatePolicy, SubtaskStatus, Tally};
///
/// let mut tally = Tally::default();
/// tally.add(SubtaskStatus::Succeeded, false);
/// tally.add(SubtaskStatus::Running, false);
/// assert_eq!((tally.satisfied(), tally.total()), (1, 2));
/// assert_eq!(tally.aggregate(AggregatePolicy::FailFast), Aggregate::Running);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tally {
    counts: [[u32; SubtaskStatus::COUNT]; 2],
}

impl Tally {
    /// Folds the tally into the outcome of the task it counts for, by
    /// `policy` (what [`Subtasks::aggregate`] answers for a task's own
    /// subtasks, here for child tasks counted with [`Tally::of_tasks`]).
    ///
    /// ```
    /// use taskstate::{Aggregate, AggregatePolicy, Status, Tally};
    ///
    /// // Child tasks: two done, one optional failed.
    /// let children = Tally::of_tasks([(Status::Done, false), (Status::Done, false), (Status::Failed, true)]);
    /// assert_eq!(children.aggregate(AggregatePolicy::FailFast), Aggregate::SucceededWithWarnings);
    /// ```
    pub fn aggregate(&self, policy: AggregatePolicy) -> Aggregate {
        aggregate(policy, self)
    }

    /// Counts one more subtask in `status`, optional or not.
    ///
    /// ```
    /// use taskstate::{SubtaskStatus, Tally};
    ///
    /// let mut tally = Tally::default();
    /// tally.add(SubtaskStatus::Pending, false);
    /// tally.add(SubtaskStatus::Pending, true);
    /// assert_eq!(tally.count(SubtaskStatus::Pending, false), 1);
    /// assert_eq!(tally.total_in(SubtaskStatus::Pending), 2);
    /// ```
    pub fn add(&mut self, status: SubtaskStatus, optional: bool) {
        let slot = &mut self.counts[usize::from(optional)][status.index()];
        *slot = slot.saturating_add(1);
    }

    /// Counts one subtask fewer in `status` (none below zero): with
    /// [`add`](Tally::add), what a subtask's move does to the counts.
    ///
    /// ```
    /// use taskstate::{SubtaskStatus, Tally};
    ///
    /// let mut tally = Tally::default();
    /// tally.add(SubtaskStatus::Running, false);
    /// // It succeeded.
    /// tally.remove(SubtaskStatus::Running, false);
    /// tally.add(SubtaskStatus::Succeeded, false);
    /// assert_eq!((tally.total_in(SubtaskStatus::Running), tally.satisfied()), (0, 1));
    /// tally.remove(SubtaskStatus::Failed, false); // none there: nothing changes
    /// assert_eq!(tally.total(), 1);
    /// ```
    pub fn remove(&mut self, status: SubtaskStatus, optional: bool) {
        let slot = &mut self.counts[usize::from(optional)][status.index()];
        *slot = slot.saturating_sub(1);
    }

    /// How many subtasks are in `status`, required (`optional == false`)
    /// or optional.
    ///
    /// ```
    /// use taskstate::{SubtaskStatus, Tally};
    ///
    /// let mut tally = Tally::default();
    /// tally.add(SubtaskStatus::Failed, true);
    /// assert_eq!(tally.count(SubtaskStatus::Failed, true), 1); // optional: a warning
    /// assert_eq!(tally.count(SubtaskStatus::Failed, false), 0);
    /// ```
    pub fn count(&self, status: SubtaskStatus, optional: bool) -> u32 {
        self.counts[usize::from(optional)][status.index()]
    }

    /// How many subtasks are in `status`, required and optional.
    ///
    /// ```
    /// use taskstate::{SubtaskStatus, Tally};
    ///
    /// let mut tally = Tally::default();
    /// tally.add(SubtaskStatus::Skipped, false);
    /// tally.add(SubtaskStatus::Skipped, true);
    /// assert_eq!(tally.total_in(SubtaskStatus::Skipped), 2);
    /// ```
    pub fn total_in(&self, status: SubtaskStatus) -> u32 {
        self.count(status, false)
            .saturating_add(self.count(status, true))
    }

    /// How many subtasks there are, in every status.
    ///
    /// ```
    /// use taskstate::{SubtaskStatus, Tally};
    ///
    /// let mut tally = Tally::default();
    /// assert_eq!(tally.total(), 0);
    /// for status in SubtaskStatus::ALL {
    ///     tally.add(status, false);
    /// }
    /// assert_eq!(tally.total(), SubtaskStatus::COUNT as u32);
    /// ```
    pub fn total(&self) -> u32 {
        SubtaskStatus::ALL.into_iter().fold(0u32, |sum, status| {
            sum.saturating_add(self.total_in(status))
        })
    }

    /// How many subtasks are satisfied (succeeded, skipped, not applicable):
    /// the steps done of a task's progress.
    ///
    /// ```
    /// use taskstate::{SubtaskStatus, Tally};
    ///
    /// let mut tally = Tally::default();
    /// for status in SubtaskStatus::ALL {
    ///     tally.add(status, false);
    /// }
    /// assert_eq!(tally.satisfied(), 3);
    /// ```
    pub fn satisfied(&self) -> u32 {
        SubtaskStatus::ALL
            .into_iter()
            .filter(|status| status.is_satisfied())
            .fold(0u32, |sum, status| {
                sum.saturating_add(self.total_in(status))
            })
    }

    /// The statuses of child tasks, folded as subtasks: pending is pending;
    /// running, waiting and stalled are running; done succeeded; failed
    /// failed; cancelled cancelled. Each child comes with whether it is
    /// optional.
    ///
    /// ```
    /// use taskstate::{Status, SubtaskStatus, Tally};
    ///
    /// let tally = Tally::of_tasks([(Status::Waiting, false), (Status::Stalled, false), (Status::Done, true)]);
    /// assert_eq!(tally.total_in(SubtaskStatus::Running), 2);
    /// assert_eq!(tally.count(SubtaskStatus::Succeeded, true), 1);
    /// ```
    pub fn of_tasks(children: impl IntoIterator<Item = (Status, bool)>) -> Tally {
        let mut tally = Tally::default();
        for (status, optional) in children {
            tally.add(subtask_status_of(status), optional);
        }
        tally
    }
}

/// How a child task's status counts in its parent's aggregation.
pub(crate) const fn subtask_status_of(status: Status) -> SubtaskStatus {
    match status {
        Status::Pending => SubtaskStatus::Pending,
        Status::Running | Status::Waiting | Status::Stalled => SubtaskStatus::Running,
        Status::Done => SubtaskStatus::Succeeded,
        Status::Failed => SubtaskStatus::Failed,
        Status::Cancelled => SubtaskStatus::Cancelled,
    }
}

/// How a kind folds its subtasks into the task's outcome.
///
/// ```
/// use taskstate::{Aggregate, AggregatePolicy, SubtaskStatus, Tally};
///
/// let mut tally = Tally::default();
/// tally.add(SubtaskStatus::Failed, false);
/// tally.add(SubtaskStatus::Pending, false);
/// assert_eq!(tally.aggregate(AggregatePolicy::FailFast), Aggregate::Failed);
/// assert_eq!(tally.aggregate(AggregatePolicy::SettleAll), Aggregate::Running); // until all settle
/// assert_eq!(AggregatePolicy::default(), AggregatePolicy::FailFast);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum AggregatePolicy {
    /// The first failed (or cancelled) required subtask fails the task; no
    /// other subtask may start after it.
    #[default]
    FailFast,
    /// Every subtask settles; the task fails at the end if a required one
    /// failed.
    SettleAll,
}

/// What the subtasks say of the task.
///
/// ```
/// use taskstate::{Aggregate, AggregatePolicy, SubtaskStatus, Tally};
///
/// let mut tally = Tally::default();
/// tally.add(SubtaskStatus::Pending, false);
/// assert_eq!(tally.aggregate(AggregatePolicy::FailFast), Aggregate::Pending);
/// tally.remove(SubtaskStatus::Pending, false);
/// tally.add(SubtaskStatus::NotApplicable, false);
/// assert_eq!(tally.aggregate(AggregatePolicy::FailFast), Aggregate::Succeeded);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// No subtask has started.
    Pending,
    /// Work is underway, or some subtask (perhaps only an optional one)
    /// has not settled yet.
    Running,
    /// Every subtask settled, every required one satisfied, and no
    /// optional one failed or was cancelled.
    Succeeded,
    /// Every subtask settled, every required one satisfied; some optional
    /// ones failed or were cancelled, each a warning on the task (VMware's
    /// `COMPLETED_WITH_WARNING`).
    SucceededWithWarnings,
    /// A required subtask failed or was cancelled (at once under
    /// fail-fast, once all settled otherwise).
    Failed,
}

/// Folds a tally into the task's outcome by `policy`.
fn aggregate(policy: AggregatePolicy, tally: &Tally) -> Aggregate {
    let required_broken = tally
        .count(SubtaskStatus::Failed, false)
        .saturating_add(tally.count(SubtaskStatus::Cancelled, false));
    let unsettled = tally
        .total_in(SubtaskStatus::Pending)
        .saturating_add(tally.total_in(SubtaskStatus::Running));
    let required_unsettled = tally
        .count(SubtaskStatus::Pending, false)
        .saturating_add(tally.count(SubtaskStatus::Running, false));
    if required_broken > 0 && (policy == AggregatePolicy::FailFast || unsettled == 0) {
        return Aggregate::Failed;
    }
    if required_unsettled == 0 && required_broken == 0 && unsettled == 0 {
        return if tally.count(SubtaskStatus::Failed, true) > 0
            || tally.count(SubtaskStatus::Cancelled, true) > 0
        {
            Aggregate::SucceededWithWarnings
        } else {
            Aggregate::Succeeded
        };
    }
    if tally.total_in(SubtaskStatus::Pending) == tally.total() {
        Aggregate::Pending
    } else {
        Aggregate::Running
    }
}

/// A task's progress, in the shapes the seeds and their peers use: steps
/// done of a total (Dyn's `step_count`/`total_steps`), a percentage as a
/// provider reports it (Azure's `percentComplete`), the current step and
/// an expected finish (OVHcloud), and, through [`Subtasks::iter`], the
/// subtask tree (VMware).
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// use taskstate::Progress;
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
/// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"));
/// # let (mut task, _) = Task::create(new, Actor::System, now)?;
/// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// run.report_steps(&mut task, 2, 5, Some("signing the zone".into()), now)?;
/// let progress: Progress = task.progress().ok_or("no progress")?;
/// assert_eq!((progress.step_count, progress.total_steps), (2, 5));
/// assert_eq!(progress.current_step.as_deref(), Some("signing the zone"));
/// assert_eq!(progress.percent().whole(), 40);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// Steps done.
    pub step_count: u32,
    /// Steps in all.
    pub total_steps: u32,
    /// The share done as the executor reported it, with the precision it
    /// reported, for work that is not counted in steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_percent: Option<Percent>,
    /// The step being worked on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<String>,
    /// When the task is expected to finish.
    #[serde(
        with = "crate::stamp::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expected_done_at: Option<DateTime<Utc>>,
}

impl Progress {
    /// The share done: the reported percentage with its precision where
    /// there is one, else the steps done as a whole percentage of the
    /// total (0 when there are no steps).
    ///
    /// ```
    /// use taskstate::{Percent, Progress};
    ///
    /// let steps = Progress { step_count: 1, total_steps: 3, ..Progress::default() };
    /// assert_eq!(steps.percent(), Percent::from_parts(33, 0)?);
    /// let reported = Progress { reported_percent: Some("55.5".parse()?), ..steps };
    /// assert_eq!(reported.percent().to_string(), "55.5");
    /// assert_eq!(Progress::default().percent(), Percent::ZERO);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn percent(&self) -> Percent {
        self.reported_percent
            .unwrap_or_else(|| Percent::of_steps(self.step_count, self.total_steps))
    }
}

/// A subtask with what its parent's aggregation reads.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Node {
    subtask: Subtask,
    /// How many of its required children are not satisfied.
    open_children: u32,
}

/// A task's subtasks, with their tallies kept current.
///
/// Copies share their subtasks: a copy of a task (what a store hands out)
/// costs the same with ten subtasks or ten thousand, and a subtask's
/// change copies only that subtask and a few tree nodes.
///
/// # Subtasks and progress
///
/// Subtasks, their aggregation into the parent, and progress.
///
/// A task can carry subtasks (VMware's `subTasks`, Dyn's steps), which may
/// nest: each [`Subtask`] names its parent subtask, if any. They change
/// only through commands on the task ([`Command::Subtask`](crate::Command::Subtask),
/// recorded as events of the task), and each change is checked by the
/// subtasks' own small transition table, [`SUBTASK_TRANSITIONS`], on the
/// same table-as-data principle as the task's.
///
/// ## Aggregation
///
/// The kind chooses an [`AggregatePolicy`]: [`FailFast`](AggregatePolicy::FailFast)
/// stops at the first failed required subtask (no other subtask may start;
/// the rest stay pending), [`SettleAll`](AggregatePolicy::SettleAll) lets
/// every subtask settle and fails at the end. An optional subtask's failure
/// becomes a warning on the task instead. [`Subtasks::aggregate`] says what
/// the task's outcome should be; the task can never complete while a
/// required subtask is not succeeded, skipped or not applicable.
///
/// Counts per status are kept as subtasks change, so aggregation and
/// progress cost O(1) per update whatever the number of subtasks. The same
/// [`Tally`] and [`Tally::aggregate`] fold the statuses of child *tasks* for hosts
/// that store children as separate tasks ([`Tally::of_tasks`]).
///
/// ## Retry resumes where it failed
///
/// When a failed task is relaunched or retried, or a stalled one requeued,
/// its failed, cancelled and interrupted (running) subtasks go back to
/// pending, without their errors (the log keeps them); succeeded,
/// skipped and not-applicable ones keep their status and times. This one
/// step visits only those subtasks, once per new run.
///
/// ## Example
///
/// ```
/// use taskstate::{Aggregate, AggregatePolicy, SubtaskStatus, Tally};
///
/// let mut tally = Tally::default();
/// tally.add(SubtaskStatus::Succeeded, false);
/// tally.add(SubtaskStatus::Failed, true); // optional
/// tally.add(SubtaskStatus::Skipped, false);
/// assert_eq!(tally.aggregate(AggregatePolicy::FailFast), Aggregate::SucceededWithWarnings);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subtasks {
    nodes: SharedVec<Node>,
    tally: Tally,
    /// The subtasks a new run puts back to pending (running, failed or
    /// cancelled ones), so that a requeue visits only them.
    unfinished: Arc<BTreeSet<SubtaskId>>,
}

/// Whether a subtask in `status` goes back to pending when a new run
/// starts.
const fn is_unfinished(status: SubtaskStatus) -> bool {
    matches!(
        status,
        SubtaskStatus::Running | SubtaskStatus::Failed | SubtaskStatus::Cancelled
    )
}

impl Subtasks {
    /// Every subtask, in order of declaration (their ids).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::Subtask;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
    /// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
    /// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
    /// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    /// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
    /// let names: Vec<&str> = task.subtasks().iter().map(|s: &Subtask| s.name.as_str()).collect();
    /// assert_eq!(names, ["Validate", "CheckVib", "Commission", "Tag"]);
    /// assert_eq!(task.subtasks().iter().next_back().map(|s| s.id), Some(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Subtask> + '_ {
        self.nodes.iter().map(|node| &node.subtask)
    }

    /// The subtask `id`; `None` if the task has no such subtask.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::SubtaskStatus;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
    /// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
    /// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
    /// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    /// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
    /// let vib = task.subtasks().get(1).ok_or("no subtask")?;
    /// assert_eq!((vib.name.as_str(), vib.parent, vib.status), ("CheckVib", Some(0), SubtaskStatus::Pending));
    /// assert!(task.subtasks().get(4).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, id: SubtaskId) -> Option<&Subtask> {
        self.nodes.get(id as usize).map(|node| &node.subtask)
    }

    /// The number of subtasks, at every level.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::NewSubtask;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
    /// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
    /// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
    /// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    /// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
    /// assert_eq!(task.subtasks().len(), 4);
    /// run.add_subtask(&mut task, NewSubtask::new("Report", "Send the report"), now)?;
    /// assert_eq!(task.subtasks().len(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::Status;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"));
    /// let (task, _) = Task::create(new, Actor::System, now)?;
    /// assert!(task.subtasks().is_empty());
    /// assert_eq!(task.status(), Status::Pending);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 0
    }

    /// The counts by status, kept current as subtasks change.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{SubtaskChange, SubtaskStatus};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
    /// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
    /// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
    /// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    /// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
    /// run.subtask(&mut task, 0, SubtaskChange::Start, now)?;
    /// run.subtask(&mut task, 3, SubtaskChange::Skip, now)?;
    /// let tally = task.subtasks().tally();
    /// assert_eq!(tally.total_in(SubtaskStatus::Running), 1);
    /// assert_eq!(tally.count(SubtaskStatus::Skipped, true), 1);
    /// assert_eq!(tally.count(SubtaskStatus::Pending, false), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// What the subtasks say of the task, by `policy`.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Aggregate, AggregatePolicy, Failure, SubtaskChange};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
    /// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
    /// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
    /// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    /// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
    /// let subtasks = |task: &Task<NamedKind>, policy| task.subtasks().aggregate(policy);
    /// assert_eq!(subtasks(&task, AggregatePolicy::FailFast), Aggregate::Pending);
    /// run.subtask(&mut task, 2, SubtaskChange::Start, now)?;
    /// let errors = vec![Failure::provider("POOL_FULL", "the pool is full", now)];
    /// run.subtask(&mut task, 2, SubtaskChange::Fail { errors }, now)?;
    /// assert_eq!(subtasks(&task, AggregatePolicy::FailFast), Aggregate::Failed);
    /// assert_eq!(subtasks(&task, AggregatePolicy::SettleAll), Aggregate::Running);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn aggregate(&self, policy: AggregatePolicy) -> Aggregate {
        aggregate(policy, &self.tally)
    }

    /// The running subtask started last (the latest start time, then the
    /// highest id): the current step. Visits only the unfinished ones.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::SubtaskChange;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
    /// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
    /// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
    /// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    /// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
    /// assert!(task.subtasks().current().is_none());
    /// run.subtask(&mut task, 0, SubtaskChange::Start, now)?;
    /// run.subtask(&mut task, 1, SubtaskChange::Start, now + Duration::seconds(5))?;
    /// assert_eq!(task.subtasks().current().map(|s| s.name.as_str()), Some("CheckVib"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn current(&self) -> Option<&Subtask> {
        self.unfinished
            .iter()
            .filter_map(|id| self.get(*id))
            .filter(|subtask| subtask.status == SubtaskStatus::Running)
            .max_by_key(|subtask| (subtask.started_at, subtask.id))
    }

    /// The subtasks nested directly under `parent` (`None`: the top level).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::Subtask;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
    /// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
    /// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
    /// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    /// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
    /// let names = |parent| {
    ///     let children = task.subtasks().children(parent);
    ///     children.map(|s: &Subtask| s.name.as_str()).collect::<Vec<_>>()
    /// };
    /// assert_eq!(names(None), ["Validate", "Commission", "Tag"]);
    /// assert_eq!(names(Some(0)), ["CheckVib"]);
    /// assert!(names(Some(2)).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn children(&self, parent: Option<SubtaskId>) -> impl Iterator<Item = &Subtask> {
        self.iter().filter(move |subtask| subtask.parent == parent)
    }

    /// How many required subtasks, at every level, are not satisfied: while
    /// any is, the task cannot complete.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::SubtaskChange;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
    /// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
    /// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
    /// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    /// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
    /// assert_eq!(task.subtasks().unsatisfied_required(), 3); // the optional Tag aside
    /// run.subtask(&mut task, 2, SubtaskChange::MarkNotApplicable, now)?;
    /// assert_eq!(task.subtasks().unsatisfied_required(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unsatisfied_required(&self) -> u32 {
        SubtaskStatus::ALL
            .into_iter()
            .filter(|status| !status.is_satisfied())
            .fold(0u32, |sum, status| {
                sum.saturating_add(self.tally.count(status, false))
            })
    }

    /// How many required children of subtask `id` are not satisfied: while
    /// any is, `id` cannot succeed.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::SubtaskChange;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HostCommission"),
    /// #     Owner::new("acme"), ResourceRef::new("host", "esx-01"))
    /// #     .subtask(NewSubtask::new("Validate", "Validate the host"))
    /// #     .subtask(NewSubtask::new("CheckVib", "Check the VIBs").under(0))
    /// #     .subtask(NewSubtask::new("Commission", "Add the host to the pool"))
    /// #     .subtask(NewSubtask::new("Tag", "Tag the host").optional());
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// # let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// // Validate (0), CheckVib (1) under it, Commission (2), optional Tag (3).
    /// assert_eq!(task.subtasks().unsatisfied_children(0), 1);
    /// for change in [SubtaskChange::Start, SubtaskChange::Succeed] {
    ///     run.subtask(&mut task, 1, change, now)?;
    /// }
    /// assert_eq!(task.subtasks().unsatisfied_children(0), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unsatisfied_children(&self, id: SubtaskId) -> u32 {
        self.nodes
            .get(id as usize)
            .map_or(0, |node| node.open_children)
    }

    /// Rebuilds the tallies of subtasks read from storage, checking that
    /// each id is its position and each parent is declared before it.
    fn from_stored(stored: Vec<Subtask>) -> Result<Subtasks, String> {
        let mut subtasks = Subtasks::default();
        for subtask in stored {
            let position = subtasks.len();
            if subtask.id as usize != position {
                return Err(format!(
                    "subtask {} is stored at position {position}",
                    subtask.id
                ));
            }
            if subtask.parent.is_some_and(|parent| parent >= subtask.id) {
                return Err(format!(
                    "subtask {} names a parent not declared before it",
                    subtask.id
                ));
            }
            subtasks.add(subtask);
        }
        Ok(subtasks)
    }

    /// Appends a subtask, counting it in the tallies.
    fn add(&mut self, subtask: Subtask) {
        self.tally.add(subtask.status, subtask.optional);
        if !subtask.optional
            && !subtask.status.is_satisfied()
            && let Some(parent) = subtask.parent.and_then(|p| self.nodes.get_mut(p as usize))
        {
            parent.open_children = parent.open_children.saturating_add(1);
        }
        if is_unfinished(subtask.status) {
            Arc::make_mut(&mut self.unfinished).insert(subtask.id);
        }
        self.nodes.push(Node {
            subtask,
            open_children: 0,
        });
    }

    pub(crate) fn push(&mut self, new: &NewSubtask, at: DateTime<Utc>) {
        let id = SubtaskId::try_from(self.nodes.len()).unwrap_or(SubtaskId::MAX);
        self.add(Subtask {
            id,
            name: new.name.clone(),
            description: new.description.clone(),
            parent: new.parent,
            optional: new.optional,
            status: SubtaskStatus::Pending,
            created_at: at,
            started_at: None,
            finished_at: None,
            errors: Vec::new(),
        });
    }

    /// Moves subtask `id` to `to`, copying only what it changes.
    pub(crate) fn set(
        &mut self,
        id: SubtaskId,
        change: &SubtaskChange,
        to: SubtaskStatus,
        at: DateTime<Utc>,
    ) {
        let Some(node) = self.nodes.get(id as usize) else {
            return;
        };
        let subtask = &node.subtask;
        let (from, optional, parent) = (subtask.status, subtask.optional, subtask.parent);
        self.tally.remove(from, optional);
        self.tally.add(to, optional);
        if !optional
            && from.is_satisfied() != to.is_satisfied()
            && let Some(parent) = parent.and_then(|p| self.nodes.get_mut(p as usize))
        {
            parent.open_children = if to.is_satisfied() {
                parent.open_children.saturating_sub(1)
            } else {
                parent.open_children.saturating_add(1)
            };
        }
        if is_unfinished(from) != is_unfinished(to) {
            let unfinished = Arc::make_mut(&mut self.unfinished);
            if is_unfinished(to) {
                unfinished.insert(id);
            } else {
                unfinished.remove(&id);
            }
        }
        let Some(node) = self.nodes.get_mut(id as usize) else {
            return;
        };
        let subtask = &mut node.subtask;
        subtask.status = to;
        match change {
            SubtaskChange::Start => {
                subtask.started_at = Some(at);
                subtask.finished_at = None;
                subtask.errors.clear();
            }
            SubtaskChange::Fail { errors } => {
                subtask.errors.clone_from(errors);
                subtask.finished_at = Some(at);
            }
            _ => subtask.finished_at = Some(at),
        }
    }

    /// Puts failed, cancelled and interrupted subtasks back to pending for
    /// the next run, keeping the satisfied ones as they are. Visits only
    /// those subtasks.
    ///
    /// Neither of these statuses is satisfied, nor is pending, so the
    /// parents' counts of unsatisfied children do not change.
    pub(crate) fn reset_unfinished(&mut self) {
        if self.unfinished.is_empty() {
            return;
        }
        let unfinished = std::mem::take(&mut self.unfinished);
        for id in unfinished.iter() {
            if let Some(node) = self.nodes.get_mut(*id as usize) {
                let subtask = &mut node.subtask;
                self.tally.remove(subtask.status, subtask.optional);
                self.tally.add(SubtaskStatus::Pending, subtask.optional);
                subtask.status = SubtaskStatus::Pending;
                subtask.started_at = None;
                subtask.finished_at = None;
                subtask.errors.clear();
            }
        }
    }
}

impl Serialize for Subtasks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Subtasks {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Vec::<Subtask>::deserialize(deserializer)?;
        Subtasks::from_stored(stored).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(entries: &[(SubtaskStatus, bool)]) -> Tally {
        let mut tally = Tally::default();
        for (status, optional) in entries {
            tally.add(*status, *optional);
        }
        tally
    }

    #[test]
    fn fail_fast_fails_at_the_first_required_failure() {
        use SubtaskStatus as S;
        let t = tally(&[
            (S::Succeeded, false),
            (S::Failed, false),
            (S::Pending, false),
        ]);
        assert_eq!(aggregate(AggregatePolicy::FailFast, &t), Aggregate::Failed);
        assert_eq!(
            aggregate(AggregatePolicy::SettleAll, &t),
            Aggregate::Running
        );
        let settled = tally(&[
            (S::Succeeded, false),
            (S::Failed, false),
            (S::Skipped, false),
        ]);
        assert_eq!(
            aggregate(AggregatePolicy::SettleAll, &settled),
            Aggregate::Failed
        );
    }

    #[test]
    fn optional_failures_are_warnings_and_empty_is_success() {
        use SubtaskStatus as S;
        let t = tally(&[(S::Succeeded, false), (S::Failed, true)]);
        assert_eq!(
            aggregate(AggregatePolicy::FailFast, &t),
            Aggregate::SucceededWithWarnings
        );
        assert_eq!(
            aggregate(AggregatePolicy::FailFast, &Tally::default()),
            Aggregate::Succeeded
        );
        let pending = tally(&[(S::Pending, false), (S::Pending, true)]);
        assert_eq!(
            aggregate(AggregatePolicy::SettleAll, &pending),
            Aggregate::Pending
        );
        let optional_left = tally(&[(S::Succeeded, false), (S::Pending, true)]);
        assert_eq!(
            aggregate(AggregatePolicy::SettleAll, &optional_left),
            Aggregate::Running
        );
    }

    #[test]
    fn the_subtask_table_has_one_row_per_pair_and_settled_states_absorb() {
        for (i, (from, action, _)) in SUBTASK_TRANSITIONS.iter().enumerate() {
            assert!(!from.is_settled(), "{from} is settled but has a row");
            for (other_from, other_action, _) in &SUBTASK_TRANSITIONS[i + 1..] {
                assert!(!(from == other_from && action == other_action));
            }
        }
        assert_eq!(
            subtask_target(SubtaskStatus::Succeeded, SubtaskAction::Cancel),
            None
        );
        assert_eq!(
            subtask_target(SubtaskStatus::Pending, SubtaskAction::Start),
            Some(SubtaskStatus::Running)
        );
    }

    #[test]
    fn child_tasks_fold_like_subtasks() {
        let t = Tally::of_tasks([
            (Status::Done, false),
            (Status::Waiting, false),
            (Status::Failed, true),
        ]);
        assert_eq!(t.total_in(SubtaskStatus::Running), 1);
        assert_eq!(
            aggregate(AggregatePolicy::SettleAll, &t),
            Aggregate::Running
        );
    }

    #[test]
    fn progress_percent_is_bounded() {
        let p = Progress {
            step_count: 3,
            total_steps: 5,
            reported_percent: None,
            ..Progress::default()
        };
        assert_eq!(p.percent().whole(), 60);
        let over = Progress {
            step_count: 9,
            total_steps: 5,
            reported_percent: None,
            ..Progress::default()
        };
        assert_eq!(over.percent().whole(), 100);
        assert_eq!(Progress::default().percent(), Percent::ZERO);
    }

    #[test]
    fn subtask_words_agree_with_serde_and_parse_back() {
        crate::vocabulary::assert_words_agree(&SubtaskStatus::ALL, SubtaskStatus::as_str);
        crate::vocabulary::assert_words_parse(&SubtaskStatus::ALL, SubtaskStatus::as_str);
        crate::vocabulary::assert_words_agree(&SubtaskAction::ALL, SubtaskAction::as_str);
        for change in [
            SubtaskChange::Start,
            SubtaskChange::Skip,
            SubtaskChange::Cancel,
        ] {
            let json = serde_json::to_value(&change).unwrap();
            assert_eq!(json["change"], change.action().as_str());
        }
    }
}
