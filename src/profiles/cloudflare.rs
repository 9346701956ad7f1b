//! Cloudflare catalog task statuses: `pending, running, completed,
//! failed`.
//!
//! Catalog tasks have no word for a task paused or stalled (they show
//! `running`) nor for a cancelled one (it shows `failed`: it did not
//! complete).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Covers, Snapshot, Spelled, UnknownStatus};
use crate::command::ResourceRef;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::task::Task;

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

    /// The tasks Cloudflare shows with this word: `running` covers
    /// running, waiting and stalled tasks, `failed` failed and cancelled
    /// ones.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    pub fn covers(&self) -> Result<Covers, UnknownStatus> {
        Ok(match self {
            CloudflareStatus::Running => {
                Covers::statuses(&[Status::Running, Status::Waiting, Status::Stalled])
            }
            CloudflareStatus::Failed => Covers::statuses(&[Status::Failed, Status::Cancelled]),
            known => Covers::statuses(&[known.to_canonical()?]),
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

/// A catalog task as Cloudflare's API shows it (`GET
/// /zones/{zone_id}/catalog_tasks/{task_id}`), field for field; optional
/// fields are left out when empty, as Cloudflare does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudflareTask {
    /// The task's id.
    pub id: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// `create` or `delete` (the task's kind).
    pub operation: String,
    /// Its status.
    pub status: Spelled<CloudflareStatus>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The install it produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_id: Option<String>,
    /// Links to related entities, kept as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<serde_json::Value>>,
    /// The package's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    /// The package's slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_slug: Option<String>,
    /// The package's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_version: Option<serde_json::Number>,
    /// Informational warnings about the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<CloudflareWarning>>,
}

/// A warning as Cloudflare shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudflareWarning {
    /// `validation_error`, `conflict`, … (kept as text: Cloudflare adds
    /// codes).
    pub code: String,
    /// Details, each about one field.
    #[serde(default)]
    pub details: Vec<CloudflareDetail>,
    /// The summary.
    pub message: String,
    /// The request path, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The request id, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// An HTTP status, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// When, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// One detail of a Cloudflare warning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudflareDetail {
    /// Its code.
    pub code: String,
    /// A JSON path into the request body.
    pub field: String,
    /// Its message.
    pub message: String,
}

/// What an HTTP handler answers for a task: Cloudflare answers a completed
/// task with a `303 See Other` to its install, and any other with `200`
/// and the task. Given as data, so a web layer does not re-derive it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpAnswer {
    /// `200 OK` with the task as body.
    Ok,
    /// `303 See Other` to `location`.
    SeeOther {
        /// Where the install lives.
        location: String,
    },
}

impl HttpAnswer {
    /// The status code.
    pub const fn status(&self) -> u16 {
        match self {
            HttpAnswer::Ok => 200,
            HttpAnswer::SeeOther { .. } => 303,
        }
    }
}

impl CloudflareTask {
    /// The view of `task`: the kind's name is the operation, the
    /// outcome's `install` resource the `install_id`, the failure's
    /// message the `error_message`, the task's warnings the warnings.
    pub fn of<K: TaskKind>(task: &Task<K>) -> CloudflareTask {
        let warnings: Vec<CloudflareWarning> = task
            .warnings()
            .iter()
            .map(|warning| CloudflareWarning {
                code: warning.code.clone(),
                details: warning
                    .details
                    .iter()
                    .map(|detail| CloudflareDetail {
                        code: detail.code.clone(),
                        field: detail.field.clone().unwrap_or_default(),
                        message: detail.message.clone(),
                    })
                    .collect(),
                message: warning.message.clone(),
                path: None,
                request_id: None,
                status: None,
                timestamp: None,
            })
            .collect();
        CloudflareTask {
            id: task.id().to_string(),
            created_at: task.created_at(),
            operation: task.kind().name().to_owned(),
            status: Spelled::new(CloudflareStatus::from_canonical(task.status())),
            updated_at: task.updated_at(),
            error_message: task.failure().map(|failure| failure.message.clone()),
            install_id: task
                .outcome()
                .and_then(|outcome| outcome.produced.as_ref())
                .map(|install| install.id.clone()),
            links: None,
            package_id: None,
            package_slug: None,
            package_version: None,
            warnings: (!warnings.is_empty()).then_some(warnings),
        }
    }

    /// The task in canonical terms (Cloudflare has no flags to keep).
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a status word this crate does not know.
    pub fn to_snapshot(&self) -> Result<Snapshot, UnknownStatus> {
        Ok(Snapshot {
            kind: Some(self.operation.clone()),
            status: Some(self.status.value.to_canonical()?),
            created_at: Some(self.created_at),
            updated_at: Some(self.updated_at),
            comment: self.error_message.clone(),
            resources: self
                .install_id
                .iter()
                .map(|install| ResourceRef::new("install", install.clone()))
                .collect(),
            ..Snapshot::default()
        })
    }

    /// What to answer for this task: a `303` to `install_url(install_id)`
    /// once completed with an install, else `200` with the task.
    pub fn http_answer(&self, install_url: impl FnOnce(&str) -> String) -> HttpAnswer {
        match (&self.status.value, &self.install_id) {
            (CloudflareStatus::Completed, Some(install)) => HttpAnswer::SeeOther {
                location: install_url(install),
            },
            _ => HttpAnswer::Ok,
        }
    }
}
