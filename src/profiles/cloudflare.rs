//! Cloudflare catalog task statuses: `pending, running, completed,
//! failed`.
//!
//! Catalog tasks have no word for a task paused or stalled (they show
//! `running`) nor for a cancelled one (it shows `failed`: it did not
//! complete).

use serde::{Deserialize, Serialize};

use super::UnknownStatus;
use crate::status::Status;

/// A Cloudflare catalog task status, as the API spells it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum CloudflareStatus {
    /// `pending`.
    Pending,
    /// `running` (and, lossily, waiting or stalled).
    Running,
    /// `completed`: done.
    Completed,
    /// `failed` (and, lossily, cancelled).
    Failed,
    /// A word this crate does not know, kept as read.
    Other(String),
}

impl CloudflareStatus {
    /// The word, as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            CloudflareStatus::Pending => "pending",
            CloudflareStatus::Running => "running",
            CloudflareStatus::Completed => "completed",
            CloudflareStatus::Failed => "failed",
            CloudflareStatus::Other(word) => word,
        }
    }

    /// Cloudflare's word for a canonical status.
    pub const fn from_canonical(status: Status) -> CloudflareStatus {
        match status {
            Status::Pending => CloudflareStatus::Pending,
            Status::Running | Status::Waiting | Status::Stalled => CloudflareStatus::Running,
            Status::Done => CloudflareStatus::Completed,
            Status::Failed | Status::Cancelled => CloudflareStatus::Failed,
        }
    }

    /// The canonical status.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    pub fn to_canonical(&self) -> Result<Status, UnknownStatus> {
        Ok(match self {
            CloudflareStatus::Pending => Status::Pending,
            CloudflareStatus::Running => Status::Running,
            CloudflareStatus::Completed => Status::Done,
            CloudflareStatus::Failed => Status::Failed,
            CloudflareStatus::Other(word) => {
                return Err(UnknownStatus {
                    system: "Cloudflare",
                    value: word.clone(),
                });
            }
        })
    }
}

impl From<String> for CloudflareStatus {
    fn from(word: String) -> Self {
        match word.as_str() {
            "pending" => CloudflareStatus::Pending,
            "running" => CloudflareStatus::Running,
            "completed" => CloudflareStatus::Completed,
            "failed" => CloudflareStatus::Failed,
            _ => CloudflareStatus::Other(word),
        }
    }
}

super::vocabulary_text!(CloudflareStatus);
