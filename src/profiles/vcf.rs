//! VMware Cloud Foundation task and subtask statuses.
//!
//! Tasks: `PENDING, IN_PROGRESS, SUCCESSFUL, FAILED, CANCELLED,
//! COMPLETED_WITH_WARNING, SKIPPED`, and on newer managers `QUEUED` and
//! `TIMED_OUT`. Subtasks add `NOT_APPLICABLE`. The API sends them in upper
//! snake case and in title case (`In Progress`, `Failed`, `Successful`):
//! both parse, case-insensitively; they are written in upper snake case.
//!
//! Lossy cases: `QUEUED` reads as pending, `TIMED_OUT` as failed and
//! `SKIPPED` as done (settled, with nothing left to do, as a skipped
//! subtask counts as satisfied); waiting and stalled tasks show
//! `IN_PROGRESS`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ProviderFlags, Snapshot, Spelled, UnknownStatus};
use crate::actor::Actor;
use crate::command::ResourceRef;
use crate::failure::Resolution;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::subtask::SubtaskStatus;
use crate::task::Task;

/// A VMware Cloud Foundation task status.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum VcfStatus {
    /// `PENDING`.
    Pending,
    /// `QUEUED` (newer managers): read as pending.
    Queued,
    /// `IN_PROGRESS`: running (and, lossily, waiting or stalled).
    InProgress,
    /// `SUCCESSFUL`: done.
    Successful,
    /// `COMPLETED_WITH_WARNING`: done, with warnings.
    CompletedWithWarning,
    /// `FAILED`.
    Failed,
    /// `TIMED_OUT` (newer managers): read as failed.
    TimedOut,
    /// `CANCELLED`.
    Cancelled,
    /// `SKIPPED`: read as done.
    Skipped,
    /// A word this crate does not know, kept as read.
    Other(String),
}

/// Upper snake case of a word in either of VMware's spellings.
fn normalize(word: &str) -> String {
    word.trim().to_ascii_uppercase().replace([' ', '-'], "_")
}

impl VcfStatus {
    /// The word in upper snake case.
    pub fn as_str(&self) -> &str {
        match self {
            VcfStatus::Pending => "PENDING",
            VcfStatus::Queued => "QUEUED",
            VcfStatus::InProgress => "IN_PROGRESS",
            VcfStatus::Successful => "SUCCESSFUL",
            VcfStatus::CompletedWithWarning => "COMPLETED_WITH_WARNING",
            VcfStatus::Failed => "FAILED",
            VcfStatus::TimedOut => "TIMED_OUT",
            VcfStatus::Cancelled => "CANCELLED",
            VcfStatus::Skipped => "SKIPPED",
            VcfStatus::Other(word) => word,
        }
    }

    /// VMware's word for a canonical status; a done task with warnings is
    /// `COMPLETED_WITH_WARNING`.
    pub const fn from_canonical(status: Status, with_warnings: bool) -> VcfStatus {
        match status {
            Status::Pending => VcfStatus::Pending,
            Status::Running | Status::Waiting | Status::Stalled => VcfStatus::InProgress,
            Status::Done if with_warnings => VcfStatus::CompletedWithWarning,
            Status::Done => VcfStatus::Successful,
            Status::Failed => VcfStatus::Failed,
            Status::Cancelled => VcfStatus::Cancelled,
        }
    }

    /// VMware's word for a task's status.
    pub fn of<K>(task: &Task<K>) -> VcfStatus {
        VcfStatus::from_canonical(task.status(), task.completed_with_warnings())
    }

    /// The canonical status.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    pub fn to_canonical(&self) -> Result<Status, UnknownStatus> {
        Ok(match self {
            VcfStatus::Pending | VcfStatus::Queued => Status::Pending,
            VcfStatus::InProgress => Status::Running,
            VcfStatus::Successful | VcfStatus::CompletedWithWarning | VcfStatus::Skipped => {
                Status::Done
            }
            VcfStatus::Failed | VcfStatus::TimedOut => Status::Failed,
            VcfStatus::Cancelled => Status::Cancelled,
            VcfStatus::Other(word) => {
                return Err(UnknownStatus {
                    system: "VMware Cloud Foundation",
                    value: word.clone(),
                });
            }
        })
    }
}

impl From<String> for VcfStatus {
    fn from(word: String) -> Self {
        match normalize(&word).as_str() {
            "PENDING" => VcfStatus::Pending,
            "QUEUED" => VcfStatus::Queued,
            "IN_PROGRESS" => VcfStatus::InProgress,
            "SUCCESSFUL" => VcfStatus::Successful,
            "COMPLETED_WITH_WARNING" => VcfStatus::CompletedWithWarning,
            "FAILED" => VcfStatus::Failed,
            "TIMED_OUT" => VcfStatus::TimedOut,
            "CANCELLED" => VcfStatus::Cancelled,
            "SKIPPED" => VcfStatus::Skipped,
            _ => VcfStatus::Other(word),
        }
    }
}

/// A VMware Cloud Foundation subtask status, one-to-one with
/// [`SubtaskStatus`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum VcfSubtaskStatus {
    /// A known status.
    Known(SubtaskStatus),
    /// A word this crate does not know, kept as read.
    Other(String),
}

impl VcfSubtaskStatus {
    /// The word in upper snake case.
    pub fn as_str(&self) -> &str {
        match self {
            VcfSubtaskStatus::Known(status) => match status {
                SubtaskStatus::Pending => "PENDING",
                SubtaskStatus::Running => "IN_PROGRESS",
                SubtaskStatus::Succeeded => "SUCCESSFUL",
                SubtaskStatus::Failed => "FAILED",
                SubtaskStatus::Skipped => "SKIPPED",
                SubtaskStatus::NotApplicable => "NOT_APPLICABLE",
                SubtaskStatus::Cancelled => "CANCELLED",
            },
            VcfSubtaskStatus::Other(word) => word,
        }
    }

    /// The canonical subtask status.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    pub fn to_canonical(&self) -> Result<SubtaskStatus, UnknownStatus> {
        match self {
            VcfSubtaskStatus::Known(status) => Ok(*status),
            VcfSubtaskStatus::Other(word) => Err(UnknownStatus {
                system: "VMware Cloud Foundation",
                value: word.clone(),
            }),
        }
    }
}

impl From<SubtaskStatus> for VcfSubtaskStatus {
    fn from(status: SubtaskStatus) -> Self {
        VcfSubtaskStatus::Known(status)
    }
}

impl From<String> for VcfSubtaskStatus {
    fn from(word: String) -> Self {
        let known = SubtaskStatus::ALL
            .into_iter()
            .find(|status| VcfSubtaskStatus::Known(*status).as_str() == normalize(&word));
        match known {
            Some(status) => VcfSubtaskStatus::Known(status),
            None => VcfSubtaskStatus::Other(word),
        }
    }
}

super::vocabulary_text!(VcfStatus);

super::vocabulary_text!(VcfSubtaskStatus);

/// A task as VMware Cloud Foundation's API shows it (`GET /v1/tasks/{id}`),
/// field for field.
///
/// Built from a canonical task with [`VcfTask::of`], or read from VMware's
/// JSON as printed (statuses in either spelling, unknown words kept).
///
/// ```
/// use taskstate::profiles::vcf::VcfTask;
///
/// let json = r#"{"id":"63eb8b2c-c3b9-4aed-919a-26ac1315d359","name":"Vi workload Domain Creation",
///   "status":"FAILED","creationTimestamp":"1970-01-20T06:19:07.495Z","subTasks":[],"errors":[],
///   "resources":[],"resolutionStatus":"UNRESOLVED","isCancellable":false}"#;
/// let task: VcfTask = serde_json::from_str(json)?;
/// assert_eq!(task.status.value.to_canonical()?, taskstate::Status::Failed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfTask {
    /// The task's id.
    pub id: String,
    /// Its human-readable name.
    pub name: String,
    /// Its status, as spelled.
    pub status: Spelled<VcfStatus>,
    /// When it was created.
    pub creation_timestamp: DateTime<Utc>,
    /// Its subtasks.
    pub sub_tasks: Vec<VcfSubtask>,
    /// Its errors.
    pub errors: Vec<VcfError>,
    /// The resources it acts on.
    pub resources: Vec<VcfResource>,
    /// `RESOLVED` or `UNRESOLVED`, as read.
    pub resolution_status: String,
    /// Whether the task can be cancelled now.
    pub is_cancellable: bool,
}

/// A subtask as VMware shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfSubtask {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its status, as spelled.
    pub status: Spelled<VcfSubtaskStatus>,
    /// When it was created.
    pub creation_timestamp: DateTime<Utc>,
}

/// An error as VMware shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfError {
    /// The machine code.
    pub error_code: String,
    /// The error's type (`ERROR`).
    pub error_type: String,
    /// The message.
    pub message: String,
    /// What caused it.
    pub causes: Vec<VcfCause>,
}

/// One cause of an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VcfCause {
    /// The cause's type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its message.
    pub message: String,
}

/// A resource as VMware shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfResource {
    /// Its id.
    pub resource_id: String,
    /// Its type (`HOST`).
    #[serde(rename = "type")]
    pub kind: String,
}

/// VMware's list envelope (`GET /v1/tasks`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VcfTaskList {
    /// The tasks.
    pub elements: Vec<VcfTask>,
}

impl VcfTask {
    /// The task in canonical terms, VMware's `isCancellable` kept as read.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a task or subtask status this crate does not
    /// know.
    pub fn to_snapshot(&self) -> Result<Snapshot, UnknownStatus> {
        let subtasks = self
            .sub_tasks
            .iter()
            .map(|s| {
                let status = s.status.value.to_canonical()?;
                Ok((s.name.clone(), s.description.clone(), status))
            })
            .collect::<Result<Vec<_>, UnknownStatus>>()?;
        Ok(Snapshot {
            kind: Some(self.name.clone()),
            status: Some(self.status.value.to_canonical()?),
            created_at: Some(self.creation_timestamp),
            comment: self.errors.first().map(|error| error.message.clone()),
            flags: ProviderFlags {
                can_cancel: Some(self.is_cancellable),
                ..ProviderFlags::default()
            },
            subtasks,
            resources: self
                .resources
                .iter()
                .map(|r| ResourceRef::new(r.kind.clone(), r.resource_id.clone()))
                .collect(),
            ..Snapshot::default()
        })
    }

    /// The view of `task` as `viewer` sees it at `now` (`isCancellable`
    /// depends on who asks and when). The name is the task's title, or its
    /// kind's name; the errors are the current failure.
    pub fn of<K: TaskKind>(task: &Task<K>, viewer: &Actor, now: DateTime<Utc>) -> VcfTask {
        let errors = task
            .failure()
            .map(|failure| VcfError {
                error_code: failure.code.clone(),
                error_type: failure
                    .error_type
                    .clone()
                    .unwrap_or_else(|| "ERROR".to_owned()),
                message: failure.message.clone(),
                causes: failure
                    .causes
                    .iter()
                    .map(|cause| VcfCause {
                        kind: cause.code.clone(),
                        message: cause.message.clone(),
                    })
                    .collect(),
            })
            .into_iter()
            .collect();
        VcfTask {
            id: task.id().to_string(),
            name: task.title().unwrap_or(task.kind().name()).to_owned(),
            status: Spelled::new(VcfStatus::of(task)),
            creation_timestamp: task.created_at(),
            sub_tasks: task
                .subtasks()
                .iter()
                .map(|subtask| VcfSubtask {
                    name: subtask.name.clone(),
                    description: subtask.description.clone(),
                    status: Spelled::new(subtask.status.into()),
                    creation_timestamp: subtask.created_at,
                })
                .collect(),
            errors,
            resources: task
                .resources()
                .map(|resource| VcfResource {
                    resource_id: resource.id.clone(),
                    kind: resource.kind.clone(),
                })
                .collect(),
            resolution_status: match task.resolution() {
                Some(Resolution::Resolved) => "RESOLVED",
                _ => "UNRESOLVED",
            }
            .to_owned(),
            is_cancellable: task.can_cancel(viewer, now),
        }
    }
}
