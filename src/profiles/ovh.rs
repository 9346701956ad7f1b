//! OVHcloud domain task statuses: `todo, doing, done, cancelled, error,
//! problem`.
//!
//! OVHcloud's current API tells failures apart by who must act: `error`
//! when the customer must correct information and relaunch, `problem`
//! for a fault on OVHcloud's side (retried automatically, then a support
//! request). The canonical `failed` becomes one or the other by the
//! failure's [`Origin`].

use serde::{Deserialize, Serialize};

use super::UnknownStatus;
use crate::failure::Origin;
use crate::status::Status;
use crate::task::Task;

/// An OVHcloud task status, as the API spells it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum OvhStatus {
    /// `todo`: pending.
    Todo,
    /// `doing`: running (and, lossily, waiting or stalled).
    Doing,
    /// `done`.
    Done,
    /// `cancelled`.
    Cancelled,
    /// `error`: failed; the customer must correct and relaunch.
    Error,
    /// `problem`: failed on OVHcloud's side.
    Problem,
    /// A word this crate does not know, kept as read.
    Other(String),
}

impl OvhStatus {
    /// The word, as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            OvhStatus::Todo => "todo",
            OvhStatus::Doing => "doing",
            OvhStatus::Done => "done",
            OvhStatus::Cancelled => "cancelled",
            OvhStatus::Error => "error",
            OvhStatus::Problem => "problem",
            OvhStatus::Other(word) => word,
        }
    }

    /// OVHcloud's word for a canonical status; a failure needs its origin
    /// (`None` reads as the customer's, OVHcloud's historical `error`).
    pub const fn from_canonical(status: Status, origin: Option<Origin>) -> OvhStatus {
        match status {
            Status::Pending => OvhStatus::Todo,
            Status::Running | Status::Waiting | Status::Stalled => OvhStatus::Doing,
            Status::Done => OvhStatus::Done,
            Status::Cancelled => OvhStatus::Cancelled,
            Status::Failed => match origin {
                Some(Origin::Provider) => OvhStatus::Problem,
                Some(Origin::Customer) | None => OvhStatus::Error,
            },
        }
    }

    /// OVHcloud's word for a task's status.
    pub fn of<K>(task: &Task<K>) -> OvhStatus {
        OvhStatus::from_canonical(task.status(), task.failure().map(|f| f.origin))
    }

    /// The canonical status.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    pub fn to_canonical(&self) -> Result<Status, UnknownStatus> {
        Ok(match self {
            OvhStatus::Todo => Status::Pending,
            OvhStatus::Doing => Status::Running,
            OvhStatus::Done => Status::Done,
            OvhStatus::Cancelled => Status::Cancelled,
            OvhStatus::Error | OvhStatus::Problem => Status::Failed,
            OvhStatus::Other(word) => {
                return Err(UnknownStatus {
                    system: "OVHcloud",
                    value: word.clone(),
                });
            }
        })
    }

    /// Who must act on a failure with this status: `error` the customer,
    /// `problem` the provider; `None` for the other statuses.
    pub const fn failure_origin(&self) -> Option<Origin> {
        match self {
            OvhStatus::Error => Some(Origin::Customer),
            OvhStatus::Problem => Some(Origin::Provider),
            _ => None,
        }
    }
}

impl From<String> for OvhStatus {
    fn from(word: String) -> Self {
        match word.as_str() {
            "todo" => OvhStatus::Todo,
            "doing" => OvhStatus::Doing,
            "done" => OvhStatus::Done,
            "cancelled" => OvhStatus::Cancelled,
            "error" => OvhStatus::Error,
            "problem" => OvhStatus::Problem,
            _ => OvhStatus::Other(word),
        }
    }
}

super::vocabulary_text!(OvhStatus);
