//! Dyn DNS task statuses: `ready, running, waiting, complete, failed,
//! canceled, stalled`, one-to-one with the canonical ones.

use serde::{Deserialize, Serialize};

use super::UnknownStatus;
use crate::status::Status;

/// A Dyn task status, as the API spells it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DynStatus {
    /// `ready`: pending.
    Ready,
    /// `running`.
    Running,
    /// `waiting`.
    Waiting,
    /// `complete`: done.
    Complete,
    /// `failed`.
    Failed,
    /// `canceled`: cancelled.
    Canceled,
    /// `stalled`.
    Stalled,
    /// A word this crate does not know, kept as read.
    Other(String),
}

impl DynStatus {
    /// The word, as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            DynStatus::Ready => "ready",
            DynStatus::Running => "running",
            DynStatus::Waiting => "waiting",
            DynStatus::Complete => "complete",
            DynStatus::Failed => "failed",
            DynStatus::Canceled => "canceled",
            DynStatus::Stalled => "stalled",
            DynStatus::Other(word) => word,
        }
    }

    /// Dyn's word for a canonical status.
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
    pub fn to_canonical(&self) -> Result<Status, UnknownStatus> {
        Ok(match self {
            DynStatus::Ready => Status::Pending,
            DynStatus::Running => Status::Running,
            DynStatus::Waiting => Status::Waiting,
            DynStatus::Complete => Status::Done,
            DynStatus::Failed => Status::Failed,
            DynStatus::Canceled => Status::Cancelled,
            DynStatus::Stalled => Status::Stalled,
            DynStatus::Other(word) => {
                return Err(UnknownStatus {
                    system: "Dyn",
                    value: word.clone(),
                });
            }
        })
    }
}

impl From<String> for DynStatus {
    fn from(word: String) -> Self {
        match word.as_str() {
            "ready" => DynStatus::Ready,
            "running" => DynStatus::Running,
            "waiting" => DynStatus::Waiting,
            "complete" => DynStatus::Complete,
            "failed" => DynStatus::Failed,
            "canceled" => DynStatus::Canceled,
            "stalled" => DynStatus::Stalled,
            _ => DynStatus::Other(word),
        }
    }
}

super::vocabulary_text!(DynStatus);
