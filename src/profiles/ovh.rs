//! OVHcloud domain task statuses: `todo, doing, done, cancelled, error,
//! problem`.
//!
//! OVHcloud's current API tells failures apart by who must act: `error`
//! when the customer must correct information and relaunch, `problem`
//! for a fault on OVHcloud's side (retried automatically, then a support
//! request). The canonical `failed` becomes one or the other by the
//! failure's [`Origin`].
//!
//! # The guide's routes and the core's commands
//!
//! | OVHcloud route | the core |
//! |---|---|
//! | `GET /me/task/domain?domain=&function=&status=` | `TaskStore::list` with a `Filter` on resource, kind and status |
//! | `GET /me/task/domain/{id}` | [`OvhTask::of`] |
//! | `POST /me/task/domain/{id}/accelerate` | `Command::Accelerate` |
//! | `POST /me/task/domain/{id}/relaunch` | `Command::Relaunch` |
//! | `POST /me/task/domain/{id}/cancel` | `Command::Cancel` |
//! | `GET /me/task/domain/{id}/argument` | `Task::fields_to_correct` |
//! | `GET /me/task/domain/{id}/argument/{key}` | [`OvhArgument::of`] |
//! | `PUT /me/task/domain/{id}/argument/{key}` | `Command::SetArgument` (a string API reads the value with `ArgumentSpec::parse`) |

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ProviderFlags, Snapshot, Spelled, UnknownStatus};
use crate::actor::Actor;
use crate::command::ResourceRef;
use crate::failure::Origin;
use crate::rules::TaskKind;
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

/// A domain task as OVHcloud's API shows it (`GET /me/task/domain/{id}`),
/// field for field. OVHcloud's ids are numbers: the host, which keeps the
/// mapping, supplies it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OvhTask {
    /// OVHcloud's numeric id.
    pub id: u64,
    /// The task type (`DomainCreate`): the kind's name.
    pub function: String,
    /// Its status, as spelled.
    pub status: Spelled<OvhStatus>,
    /// The status message.
    pub comment: Option<String>,
    /// Whether the viewer may relaunch it once corrected.
    pub can_relaunch: bool,
    /// Whether the viewer may cancel it.
    pub can_cancel: bool,
    /// Whether the viewer may bring its `todoDate` forward.
    pub can_accelerate: bool,
    /// When it should run next (pending tasks).
    pub todo_date: Option<DateTime<Utc>>,
    /// When it was created.
    pub creation_date: DateTime<Utc>,
    /// When it last changed.
    pub last_update: DateTime<Utc>,
    /// When it finished.
    pub done_date: Option<DateTime<Utc>>,
    /// The domain it acts on.
    pub domain: String,
}

/// One argument of a task as OVHcloud shows it
/// (`GET /me/task/domain/{id}/argument/{key}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OvhArgument {
    /// The key.
    pub key: String,
    /// The type's name (`text`, `one_of`, `integer`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The current value, as text.
    pub value: Option<String>,
    /// How to fill it.
    pub description: String,
    /// The accepted values, for a one-of argument.
    pub accepted_values: Vec<String>,
    /// Whether it is read-only.
    pub read_only: bool,
}

impl OvhTask {
    /// The view of `task` as `viewer` sees it at `now`, under OVHcloud's
    /// numeric `id`. `canRelaunch` is
    /// [`can_relaunch_once_corrected`](Task::can_relaunch_once_corrected):
    /// OVHcloud shows it before the corrections are made.
    pub fn of<K: TaskKind>(task: &Task<K>, id: u64, viewer: &Actor, now: DateTime<Utc>) -> OvhTask {
        OvhTask {
            id,
            function: task.kind().name().to_owned(),
            status: Spelled::new(OvhStatus::of(task)),
            comment: task.comment().map(str::to_owned),
            can_relaunch: task.can_relaunch_once_corrected(viewer, now),
            can_cancel: task.can_cancel(viewer, now),
            can_accelerate: task.can_accelerate(viewer, now),
            todo_date: task.todo_at().filter(|_| task.status() == Status::Pending),
            creation_date: task.created_at(),
            last_update: task.updated_at(),
            done_date: task.done_at(),
            domain: task.resource().id.clone(),
        }
    }
}

impl OvhTask {
    /// The task in canonical terms, OVHcloud's flags kept as read.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a status word this crate does not know.
    pub fn to_snapshot(&self) -> Result<Snapshot, UnknownStatus> {
        Ok(Snapshot {
            kind: Some(self.function.clone()),
            status: Some(self.status.value.to_canonical()?),
            failure_origin: self.status.value.failure_origin(),
            created_at: Some(self.creation_date),
            updated_at: Some(self.last_update),
            done_at: self.done_date,
            todo_at: self.todo_date,
            comment: self.comment.clone(),
            flags: ProviderFlags {
                can_relaunch: Some(self.can_relaunch),
                can_cancel: Some(self.can_cancel),
                can_accelerate: Some(self.can_accelerate),
                blocking: None,
            },
            resources: vec![ResourceRef::new("domain", self.domain.clone())],
            ..Snapshot::default()
        })
    }
}

impl OvhArgument {
    /// The view of the argument `key` of `task`, if the kind declares it.
    pub fn of<K: TaskKind>(task: &Task<K>, key: &str) -> Option<OvhArgument> {
        let view = task.argument(key)?;
        Some(OvhArgument {
            key: view.spec.key.clone(),
            kind: view.spec.kind.name().to_owned(),
            value: view.value.map(ToString::to_string),
            description: view.spec.description.clone(),
            accepted_values: view.spec.accepted_values().to_vec(),
            read_only: view.spec.read_only,
        })
    }
}
