//! Dyn DNS task statuses: `ready, running, waiting, complete, failed,
//! canceled, stalled`, one-to-one with the canonical ones.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::{Covers, MirroredTask, ProviderFlags, Spelled, UnknownStatus};
use crate::command::ResourceRef;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::subtask::Progress;
use crate::task::Task;

super::provider_vocabulary! {
    /// A Dyn task status, as the API spells it.
    pub enum DynStatus("Dyn", super::exact) {
        /// `ready`: pending.
        Ready => "ready",
        /// `running`.
        Running => "running",
        /// `waiting`.
        Waiting => "waiting",
        /// `complete`: done.
        Complete => "complete",
        /// `failed`.
        Failed => "failed",
        /// `canceled`: cancelled.
        Canceled => "canceled",
        /// `stalled`.
        Stalled => "stalled",
    }
}

impl DynStatus {
    /// Dyn's word for a canonical status.
    ///
    /// ```
    /// use taskstate::profiles::dyn_dns::DynStatus;
    /// use taskstate::Status;
    ///
    /// assert_eq!(DynStatus::from_canonical(Status::Cancelled), DynStatus::Canceled);
    /// assert_eq!(DynStatus::Canceled.as_str(), "canceled");
    /// ```
    pub const fn from_canonical(status: Status) -> DynStatus {
        match status {
            Status::Pending => DynStatus::Ready,
            Status::Running => DynStatus::Running,
            Status::Waiting => DynStatus::Waiting,
            Status::Stalled => DynStatus::Stalled,
            Status::Done => DynStatus::Complete,
            Status::Failed => DynStatus::Failed,
            Status::Cancelled => DynStatus::Canceled,
        }
    }

    /// The canonical status.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    ///
    /// ```
    /// use taskstate::profiles::dyn_dns::DynStatus;
    /// use taskstate::Status;
    ///
    /// assert_eq!(DynStatus::Complete.to_canonical()?, Status::Done);
    /// assert!(DynStatus::from("paused".to_owned()).to_canonical().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_canonical(&self) -> Result<Status, UnknownStatus> {
        Ok(match self {
            DynStatus::Ready => Status::Pending,
            DynStatus::Running => Status::Running,
            DynStatus::Waiting => Status::Waiting,
            DynStatus::Complete => Status::Done,
            DynStatus::Failed => Status::Failed,
            DynStatus::Canceled => Status::Cancelled,
            DynStatus::Stalled => Status::Stalled,
            DynStatus::Other(_) => return Err(self.unknown()),
        })
    }

    /// The tasks Dyn shows with this word: the one canonical status it
    /// names (Dyn's vocabulary is one-to-one).
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    ///
    /// ```
    /// use taskstate::profiles::dyn_dns::DynStatus;
    /// use taskstate::Status;
    ///
    /// assert!(DynStatus::Stalled.covers()?.statuses.contains(Status::Stalled));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn covers(&self) -> Result<Covers, UnknownStatus> {
        Ok(Covers::statuses(&[self.to_canonical()?]))
    }
}

/// A task as Dyn's DNS API shows it (for instance in answer to
/// `DELETE /REST/task/<task_id>/`), field for field. Dyn's ids are
/// numbers and its customers and zones have names: the host supplies
/// them. Times are POSIX seconds; `blocking` is `Y` or `N`.
///
/// ```
/// use taskstate::profiles::dyn_dns::DynTask;
///
/// let json = serde_json::json!({
///     "task_id": 4321, "name": "ZonePublish", "customer_name": "acme", "zone_name": "example.com",
///     "status": "running", "step_count": 2, "total_steps": 5, "blocking": "Y",
///     "message": "publishing", "created_ts": 1795000000, "modified_ts": 1795000060
/// });
/// let read: DynTask = serde_json::from_value(json.clone())?;
/// assert_eq!((read.step_count, read.total_steps), (2, 5));
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DynTask {
    /// Dyn's numeric id.
    pub task_id: u64,
    /// The task's name: its kind's name.
    pub name: String,
    /// The customer account's name.
    pub customer_name: String,
    /// The zone it acts on.
    pub zone_name: String,
    /// Its status, as spelled.
    pub status: Spelled<DynStatus>,
    /// Steps completed.
    pub step_count: u32,
    /// Steps in all.
    pub total_steps: u32,
    /// `Y` if it blocks other changes on its zone, else `N`.
    pub blocking: YesNo,
    /// Information about its state; error codes may appear here.
    pub message: String,
    /// Internal Dyn use, kept as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<String>,
    /// When it was created, in POSIX seconds.
    pub created_ts: i64,
    /// When it last changed, in POSIX seconds.
    pub modified_ts: i64,
}

/// Dyn's booleans: `Y` or `N`.
///
/// ```
/// use taskstate::profiles::dyn_dns::YesNo;
///
/// assert_eq!(serde_json::to_string(&YesNo::Yes)?, "\"Y\"");
/// assert_eq!(serde_json::from_str::<YesNo>("\"N\"")?, YesNo::No);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum YesNo {
    /// `Y`.
    #[serde(rename = "Y")]
    Yes,
    /// `N`.
    #[serde(rename = "N")]
    No,
}

impl DynTask {
    /// The task in canonical terms, Dyn's `blocking` kept as read. Times
    /// are to the second.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a status word this crate does not know.
    ///
    /// ```
    /// use taskstate::profiles::dyn_dns::DynTask;
    /// use taskstate::Status;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (task, _) = Task::create(new, Actor::customer("acme"), now)?;
    /// let mirrored = DynTask::of(&task, 42).to_mirrored()?;
    /// assert_eq!(mirrored.status, Some(Status::Pending));
    /// assert_eq!(mirrored.created_at, Some(now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_mirrored(&self) -> Result<MirroredTask, UnknownStatus> {
        let time = |seconds| DateTime::<Utc>::from_timestamp(seconds, 0);
        Ok(MirroredTask {
            kind: Some(self.name.clone()),
            status: Some(self.status.value.to_canonical()?),
            created_at: time(self.created_ts),
            updated_at: time(self.modified_ts),
            comment: (!self.message.is_empty()).then(|| self.message.clone()),
            flags: ProviderFlags {
                blocking: Some(self.blocking == YesNo::Yes),
                ..ProviderFlags::default()
            },
            progress: Some(Progress {
                step_count: self.step_count,
                total_steps: self.total_steps,
                reported_percent: None,
                ..Progress::default()
            }),
            resources: vec![ResourceRef::new("zone", self.zone_name.clone())],
            ..MirroredTask::default()
        })
    }

    /// The view of `task` under Dyn's numeric `task_id`. Steps are the
    /// task's progress (its subtasks, or what its executor reported); the
    /// message is the task's comment.
    ///
    /// ```
    /// use taskstate::profiles::dyn_dns::DynTask;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (task, _) = Task::create(new, Actor::customer("acme"), now)?;
    /// let view = DynTask::of(&task, 42);
    /// assert_eq!((view.task_id, view.status.text()), (42, "ready"));
    /// assert_eq!(view.created_ts, now.timestamp());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of<K: TaskKind>(task: &Task<K>, task_id: u64) -> DynTask {
        let progress = task.progress().unwrap_or_default();
        DynTask {
            task_id,
            name: task.kind().name().to_owned(),
            customer_name: task.owner().to_string(),
            zone_name: task.resource().id.clone(),
            status: Spelled::new(DynStatus::from_canonical(task.status())),
            step_count: progress.step_count,
            total_steps: progress.total_steps,
            blocking: if task.is_blocking() {
                YesNo::Yes
            } else {
                YesNo::No
            },
            message: task.comment().unwrap_or_default().to_owned(),
            debug: None,
            created_ts: task.created_at().timestamp(),
            modified_ts: task.updated_at().timestamp(),
        }
    }
}
