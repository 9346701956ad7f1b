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

use serde::{Deserialize, Serialize};

use super::UnknownStatus;
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
