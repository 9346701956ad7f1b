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

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    Covers, MirroredSubtask, MirroredTask, ProviderFlags, Spelled, Timestamp, UnknownStatus,
};
use crate::actor::Actor;
use crate::command::ResourceRef;
use crate::failure::{Detail, Failure, Resolution};
use crate::rules::TaskKind;
use crate::status::Status;
use crate::subtask::{MAX_SUBTASK_DEPTH, Subtask, SubtaskStatus};
use crate::task::Task;

super::provider_vocabulary! {
    /// A VMware Cloud Foundation task status.
    pub enum VcfStatus("VMware Cloud Foundation", normalize) {
        /// `PENDING`.
        Pending => "PENDING",
        /// `QUEUED` (newer managers): read as pending.
        Queued => "QUEUED",
        /// `IN_PROGRESS`: running (and, lossily, waiting or stalled).
        InProgress => "IN_PROGRESS",
        /// `SUCCESSFUL`: done.
        Successful => "SUCCESSFUL",
        /// `COMPLETED_WITH_WARNING`: done, with warnings.
        CompletedWithWarning => "COMPLETED_WITH_WARNING",
        /// `FAILED`.
        Failed => "FAILED",
        /// `TIMED_OUT` (newer managers): read as failed.
        TimedOut => "TIMED_OUT",
        /// `CANCELLED`.
        Cancelled => "CANCELLED",
        /// `SKIPPED`: read as done.
        Skipped => "SKIPPED",
    }
}

/// Upper snake case of a word in either of VMware's spellings.
fn normalize(word: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Owned(word.trim().to_ascii_uppercase().replace([' ', '-'], "_"))
}

impl VcfStatus {
    /// VMware's word for a canonical status; a done task with warnings is
    /// `COMPLETED_WITH_WARNING`.
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfStatus;
    /// use taskstate::Status;
    ///
    /// assert_eq!(VcfStatus::from_canonical(Status::Done, true), VcfStatus::CompletedWithWarning);
    /// assert_eq!(VcfStatus::from_canonical(Status::Stalled, false).as_str(), "IN_PROGRESS");
    /// ```
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
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfStatus;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HOST_COMMISSION"),
    /// #     Owner::new("admin"), ResourceRef::new("HOST", "h1"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("admin"), now)?;
    /// assert_eq!(VcfStatus::of(&task), VcfStatus::Pending);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of<K>(task: &Task<K>) -> VcfStatus {
        VcfStatus::from_canonical(task.status(), task.completed_with_warnings())
    }

    /// The canonical status.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfStatus;
    /// use taskstate::Status;
    ///
    /// assert_eq!(VcfStatus::TimedOut.to_canonical()?, Status::Failed);
    /// assert!(VcfStatus::from("PAUSED".to_owned()).to_canonical().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_canonical(&self) -> Result<Status, UnknownStatus> {
        Ok(match self {
            VcfStatus::Pending | VcfStatus::Queued => Status::Pending,
            VcfStatus::InProgress => Status::Running,
            VcfStatus::Successful | VcfStatus::CompletedWithWarning | VcfStatus::Skipped => {
                Status::Done
            }
            VcfStatus::Failed | VcfStatus::TimedOut => Status::Failed,
            VcfStatus::Cancelled => Status::Cancelled,
            VcfStatus::Other(_) => return Err(self.unknown()),
        })
    }

    /// The tasks VMware shows with this word: `IN_PROGRESS` covers
    /// running, waiting and stalled tasks; `SUCCESSFUL` the done tasks
    /// without warnings and `COMPLETED_WITH_WARNING` those with. The words
    /// VMware reads but this crate never writes (`QUEUED`, `TIMED_OUT`,
    /// `SKIPPED`) cover no task.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfStatus;
    ///
    /// let warned = VcfStatus::CompletedWithWarning.covers()?;
    /// assert_eq!(warned.warnings, Some(true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn covers(&self) -> Result<Covers, UnknownStatus> {
        Ok(match self {
            VcfStatus::Pending => Covers::statuses(&[Status::Pending]),
            VcfStatus::InProgress => {
                Covers::statuses(&[Status::Running, Status::Waiting, Status::Stalled])
            }
            VcfStatus::Successful => Covers::statuses(&[Status::Done]).with_warnings(false),
            VcfStatus::CompletedWithWarning => {
                Covers::statuses(&[Status::Done]).with_warnings(true)
            }
            VcfStatus::Failed => Covers::statuses(&[Status::Failed]),
            VcfStatus::Cancelled => Covers::statuses(&[Status::Cancelled]),
            VcfStatus::Queued | VcfStatus::TimedOut | VcfStatus::Skipped => Covers::NOTHING,
            VcfStatus::Other(_) => return Err(self.unknown()),
        })
    }
}

/// A VMware Cloud Foundation subtask status, one-to-one with
/// [`SubtaskStatus`].
///
/// ```
/// use taskstate::profiles::vcf::VcfSubtaskStatus;
/// use taskstate::SubtaskStatus;
///
/// let read: VcfSubtaskStatus = serde_json::from_str("\"NOT_APPLICABLE\"")?;
/// assert_eq!(read.to_canonical()?, SubtaskStatus::NotApplicable);
/// assert_eq!(VcfSubtaskStatus::from(SubtaskStatus::Running).as_str(), "IN_PROGRESS");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfSubtaskStatus;
    /// use taskstate::SubtaskStatus;
    ///
    /// assert_eq!(VcfSubtaskStatus::from(SubtaskStatus::Succeeded).as_str(), "SUCCESSFUL");
    /// assert_eq!(VcfSubtaskStatus::from("Waiting".to_owned()).as_str(), "Waiting");
    /// ```
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
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfSubtaskStatus;
    /// use taskstate::SubtaskStatus;
    ///
    /// let read = VcfSubtaskStatus::from("Not Applicable".to_owned());
    /// assert_eq!(read.to_canonical()?, SubtaskStatus::NotApplicable);
    /// assert_eq!(read.as_str(), "NOT_APPLICABLE");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
        let read = normalize(&word);
        let known = SubtaskStatus::ALL
            .into_iter()
            .find(|status| VcfSubtaskStatus::Known(*status).as_str() == read);
        match known {
            Some(status) => VcfSubtaskStatus::Known(status),
            None => VcfSubtaskStatus::Other(word),
        }
    }
}

super::vocabulary_text!(VcfSubtaskStatus);

/// A task as VMware Cloud Foundation's API shows it (`GET /v1/tasks/{id}`),
/// field for field: every field VMware's API reference documents for a
/// task, and any other field kept as read in
/// [`unknown`](VcfTask::unknown), so that a task read and written back
/// is the JSON it was.
///
/// Built from a canonical task with [`VcfTask::of`], or read from VMware's
/// JSON as printed (statuses in either spelling, unknown words kept,
/// times with their precision). What VMware's reference marks optional is
/// an `Option` here, the lists included: a list VMware left out stays
/// out when written back, an empty one stays `[]`. The accessors
/// ([`subtasks`](VcfTask::subtasks), [`errors`](VcfTask::errors),
/// [`resources`](VcfTask::resources), [`stages`](VcfTask::stages)) read a
/// missing list as empty.
///
/// Subtasks nest: each [`VcfSubtask`] has its own `subTasks`.
///
/// ```
/// use taskstate::profiles::vcf::VcfTask;
///
/// let json = r#"{"id":"63eb8b2c-c3b9-4aed-919a-26ac1315d359","name":"Vi workload Domain Creation",
///   "status":"FAILED","creationTimestamp":"1970-01-20T06:19:07.495Z","subTasks":[],"errors":[],
///   "resources":[],"resolutionStatus":"UNRESOLVED","isCancellable":false,"owner":"admin"}"#;
/// let task: VcfTask = serde_json::from_str(json)?;
/// assert_eq!(task.status.value.to_canonical()?, taskstate::Status::Failed);
/// // A field the crate does not know is kept, and written back.
/// assert_eq!(task.unknown["owner"], "admin");
/// let back = serde_json::to_value(&task)?;
/// assert_eq!(back, serde_json::from_str::<serde_json::Value>(json)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfTask {
    /// The task's id.
    pub id: String,
    /// Its human-readable name.
    pub name: String,
    /// Its description, localizable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localizable_description_pack: Option<VcfMessagePack>,
    /// Its type (`HOST_COMMISSION`): the kind.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its status, as spelled.
    pub status: Spelled<VcfStatus>,
    /// When it was created.
    pub creation_timestamp: Timestamp,
    /// When it settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Timestamp>,
    /// Its subtasks, each with its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_tasks: Option<Vec<VcfSubtask>>,
    /// Its errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<VcfError>>,
    /// The resources it acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<VcfResource>>,
    /// Its stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<VcfStage>>,
    /// `RESOLVED` or `UNRESOLVED`, as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_status: Option<String>,
    /// Whether the task can be cancelled now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_cancellable: Option<bool>,
    /// Whether the task can be retried now (`PATCH /v1/tasks/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_retryable: Option<bool>,
    /// The fields this crate does not know, as read.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// A subtask as VMware shows it; subtasks nest.
///
/// ```
/// use taskstate::profiles::vcf::VcfSubtask;
///
/// let json = serde_json::json!({
///     "name": "HostValidation", "status": "FAILED",
///     "subTasks": [{"name": "HostVibValidationAction", "status": "SUCCESSFUL"}]
/// });
/// let read: VcfSubtask = serde_json::from_value(json.clone())?;
/// assert_eq!(read.subtasks()[0].name, "HostVibValidationAction");
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfSubtask {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its status, as spelled.
    pub status: Spelled<VcfSubtaskStatus>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<Timestamp>,
    /// When it settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Timestamp>,
    /// Its errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<VcfError>>,
    /// The resources it acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<VcfResource>>,
    /// Its stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<VcfStage>>,
    /// The subtasks nested under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_tasks: Option<Vec<VcfSubtask>>,
    /// The fields this crate does not know, as read.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// A stage of a task or subtask as VMware shows it.
///
/// ```
/// use taskstate::profiles::vcf::VcfStage;
///
/// let json = serde_json::json!({"name": "Prepare", "type": "CHECK", "status": "SUCCESSFUL", "completionTimestamp": "2026-11-23T09:00:05.000Z"});
/// let read: VcfStage = serde_json::from_value(json.clone())?;
/// assert_eq!(read.kind.as_deref(), Some("CHECK"));
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfStage {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its status (`PENDING, IN_PROGRESS, SUCCESSFUL, FAILED`), as spelled.
    pub status: Spelled<VcfSubtaskStatus>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<Timestamp>,
    /// When it settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Timestamp>,
    /// Its errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<VcfError>>,
    /// The fields this crate does not know, as read.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// An error as VMware shows it.
///
/// ```
/// use taskstate::profiles::vcf::VcfError;
///
/// let json = serde_json::json!({
///     "errorCode": "COMMISION_HOST_FAILED", "errorType": "ERROR", "message": "failed",
///     "causes": [], "referenceToken": "K2Q4XE", "notifications": []
/// });
/// let read: VcfError = serde_json::from_value(json.clone())?;
/// assert_eq!(read.reference_token.as_deref(), Some("K2Q4XE"));
/// assert!(read.unknown.contains_key("notifications"));
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfError {
    /// The machine code.
    pub error_code: String,
    /// The error's type (`ERROR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The arguments of its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Vec<String>>,
    /// Its context, as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Map<String, Value>>,
    /// The message.
    pub message: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation_message: Option<String>,
    /// What caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causes: Option<Vec<VcfCause>>,
    /// The errors under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nested_errors: Option<Vec<VcfError>>,
    /// The token to quote to support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_token: Option<String>,
    /// The fields this crate does not know (newer managers'
    /// `notifications`, say), as read.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// One cause of an error.
///
/// ```
/// use taskstate::profiles::vcf::VcfCause;
///
/// let json = serde_json::json!({"type": "MaintenanceModeException", "message": "in maintenance mode"});
/// let read: VcfCause = serde_json::from_value(json.clone())?;
/// assert_eq!(read.kind, "MaintenanceModeException");
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VcfCause {
    /// The cause's type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its message.
    pub message: String,
    /// The fields this crate does not know, as read.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// A resource as VMware shows it.
///
/// ```
/// use taskstate::profiles::vcf::VcfResource;
///
/// let json = serde_json::json!({"resourceId": "f0f2f355", "type": "HOST", "fqdn": "esx05.rainpole.io"});
/// let read: VcfResource = serde_json::from_value(json.clone())?;
/// assert_eq!(read.fqdn.as_deref(), Some("esx05.rainpole.io"));
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfResource {
    /// Its id.
    pub resource_id: String,
    /// Its type (`HOST`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its fully qualified domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its subject alternative names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sans: Option<Vec<String>>,
    /// The fields this crate does not know, as read.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// A localizable message as VMware shows it (`localizableDescriptionPack`).
///
/// ```
/// use taskstate::profiles::vcf::VcfMessagePack;
///
/// let json = serde_json::json!({"component": "com.vmware.vcf", "messageKey": "host.commission", "arguments": ["esx05"]});
/// let read: VcfMessagePack = serde_json::from_value(json.clone())?;
/// assert_eq!(read.message_key.as_deref(), Some("host.commission"));
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfMessagePack {
    /// The component whose bundle holds the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The message's key in the bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_key: Option<String>,
    /// The message's arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Vec<String>>,
    /// The message, in the default language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// The fields this crate does not know, as read.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// VMware's list envelope (`GET /v1/tasks`), a page of tasks.
///
/// ```
/// use taskstate::profiles::vcf::VcfTaskList;
///
/// let json = serde_json::json!({
///     "elements": [{"id": "t1", "name": "Commission", "status": "Successful", "creationTimestamp": "2026-11-23T09:00:00.000Z"}],
///     "pageMetadata": {"pageNumber": 0, "pageSize": 1, "totalElements": 3, "totalPages": 3}
/// });
/// let read: VcfTaskList = serde_json::from_value(json.clone())?;
/// assert_eq!(read.page_metadata.as_ref().and_then(|m| m.total_pages), Some(3));
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfTaskList {
    /// The tasks.
    pub elements: Vec<VcfTask>,
    /// Where the page is among all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_metadata: Option<VcfPageMetadata>,
    /// The fields this crate does not know, as read.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

impl VcfTaskList {
    /// A page of `elements`, without page metadata.
    ///
    /// ```
    /// use taskstate::profiles::vcf::{VcfTask, VcfTaskList};
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HOST_COMMISSION"),
    /// #     Owner::new("admin"), ResourceRef::new("HOST", "h1"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("admin"), now)?;
    /// let page = VcfTaskList::new(vec![VcfTask::of(&task, &Actor::customer("admin"), now)]);
    /// assert_eq!(serde_json::to_value(&page)?["elements"][0]["type"], "HOST_COMMISSION");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(elements: Vec<VcfTask>) -> VcfTaskList {
        VcfTaskList {
            elements,
            page_metadata: None,
            unknown: Map::new(),
        }
    }
}

/// Where a page is among all (`pageMetadata`).
///
/// ```
/// use taskstate::profiles::vcf::VcfPageMetadata;
///
/// let json = serde_json::json!({"pageNumber": 1, "pageSize": 20, "totalElements": 41, "totalPages": 3});
/// let read: VcfPageMetadata = serde_json::from_value(json.clone())?;
/// assert_eq!(read.total_elements, Some(41));
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcfPageMetadata {
    /// The page's number, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u64>,
    /// How many elements a page holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
    /// How many elements there are in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_elements: Option<u64>,
    /// How many pages there are in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_pages: Option<u64>,
    /// The fields this crate does not know, as read.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// VMware prints times in UTC to the millisecond.
fn stamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp::new(at, SecondsFormat::Millis)
}

impl VcfError {
    /// VMware's error for a failure: its code, type (`ERROR` when it has
    /// none), message and causes.
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfError;
    /// use taskstate::Failure;
    /// # use chrono::{TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    ///
    /// let error = VcfError::of(&Failure::provider("COMMISION_HOST_FAILED", "the host did not answer", now));
    /// assert_eq!((error.error_code.as_str(), error.error_type.as_deref()), ("COMMISION_HOST_FAILED", Some("ERROR")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of(failure: &Failure) -> VcfError {
        VcfError {
            error_code: failure.code.clone(),
            error_type: Some(
                failure
                    .error_type
                    .clone()
                    .unwrap_or_else(|| "ERROR".to_owned()),
            ),
            arguments: None,
            context: None,
            message: failure.message.clone(),
            remediation_message: None,
            causes: Some(
                failure
                    .causes
                    .iter()
                    .map(|cause| VcfCause {
                        kind: cause.code.clone(),
                        message: cause.message.clone(),
                        unknown: Map::new(),
                    })
                    .collect(),
            ),
            nested_errors: None,
            reference_token: None,
            unknown: Map::new(),
        }
    }
}

impl VcfSubtask {
    /// The subtasks nested under this one (none when VMware left the list
    /// out).
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfTask;
    /// # let json = r#"{"id":"t1","name":"Commission","status":"FAILED","creationTimestamp":"2026-11-23T09:00:00.000Z",
    /// #   "subTasks":[{"name":"Validate","status":"FAILED","errors":[{"errorCode":"MM","message":"maintenance mode"}],
    /// #     "subTasks":[{"name":"Vibs","status":"SUCCESSFUL"}]}],
    /// #   "errors":[{"errorCode":"COMMISION_HOST_FAILED","message":"failed"}],
    /// #   "resources":[{"resourceId":"h1","type":"HOST","fqdn":"esx05.rainpole.io"}],
    /// #   "stages":[{"name":"Prepare","status":"SUCCESSFUL"}]}"#;
    /// # let task: VcfTask = serde_json::from_str(json)?;
    /// let validate = &task.subtasks()[0];
    /// assert_eq!(validate.subtasks()[0].name, "Vibs");
    /// assert!(validate.subtasks()[0].subtasks().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subtasks(&self) -> &[VcfSubtask] {
        self.sub_tasks.as_deref().unwrap_or_default()
    }

    /// Its errors (none when VMware left the list out).
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfTask;
    /// # let json = r#"{"id":"t1","name":"Commission","status":"FAILED","creationTimestamp":"2026-11-23T09:00:00.000Z",
    /// #   "subTasks":[{"name":"Validate","status":"FAILED","errors":[{"errorCode":"MM","message":"maintenance mode"}],
    /// #     "subTasks":[{"name":"Vibs","status":"SUCCESSFUL"}]}],
    /// #   "errors":[{"errorCode":"COMMISION_HOST_FAILED","message":"failed"}],
    /// #   "resources":[{"resourceId":"h1","type":"HOST","fqdn":"esx05.rainpole.io"}],
    /// #   "stages":[{"name":"Prepare","status":"SUCCESSFUL"}]}"#;
    /// # let task: VcfTask = serde_json::from_str(json)?;
    /// assert_eq!(task.subtasks()[0].errors()[0].error_code, "MM");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn errors(&self) -> &[VcfError] {
        self.errors.as_deref().unwrap_or_default()
    }

    /// VMware's view of the subtask at `at`, with the subtasks nested
    /// under it (`children`: the positions of each subtask's children),
    /// at `depth` (1 at the top). Below [`MAX_SUBTASK_DEPTH`], which the
    /// core refuses to declare but a record stored before the limit may
    /// hold, the rest of the tree hangs flat under its last level.
    fn of(
        subtasks: &[&Subtask],
        children: &[Vec<usize>],
        at: usize,
        depth: usize,
    ) -> Option<VcfSubtask> {
        let mut view = VcfSubtask::alone(subtasks.get(at)?);
        let nested: Vec<VcfSubtask> = if depth < MAX_SUBTASK_DEPTH {
            children
                .get(at)
                .into_iter()
                .flatten()
                .filter_map(|&child| VcfSubtask::of(subtasks, children, child, depth + 1))
                .collect()
        } else {
            let mut below = Vec::new();
            let mut stack: Vec<usize> = children
                .get(at)
                .into_iter()
                .flatten()
                .rev()
                .copied()
                .collect();
            while let Some(next) = stack.pop() {
                below.extend(subtasks.get(next).map(|subtask| VcfSubtask::alone(subtask)));
                stack.extend(children.get(next).into_iter().flatten().rev());
            }
            below
        };
        view.sub_tasks = (!nested.is_empty()).then_some(nested);
        Some(view)
    }

    /// VMware's view of `subtask`, without the subtasks nested under it.
    fn alone(subtask: &Subtask) -> VcfSubtask {
        VcfSubtask {
            name: subtask.name.clone(),
            kind: None,
            description: Some(subtask.description.clone()),
            status: Spelled::new(subtask.status.into()),
            creation_timestamp: Some(stamp(subtask.created_at)),
            completion_timestamp: subtask.finished_at.map(stamp),
            errors: (!subtask.errors.is_empty())
                .then(|| subtask.errors.iter().map(VcfError::of).collect()),
            resources: None,
            stages: None,
            sub_tasks: None,
            unknown: Map::new(),
        }
    }

    /// Appends this subtask and those nested under it, depth first, to
    /// `out`, under the subtask at `parent`.
    fn flatten_into(
        &self,
        parent: Option<usize>,
        out: &mut Vec<MirroredSubtask>,
    ) -> Result<(), UnknownStatus> {
        let at = out.len();
        out.push(MirroredSubtask {
            name: self.name.clone(),
            description: self.description.clone().unwrap_or_default(),
            status: self.status.value.to_canonical()?,
            parent,
            errors: details(self.errors()),
        });
        for child in self.subtasks() {
            child.flatten_into(Some(at), out)?;
        }
        Ok(())
    }
}

/// The code and message of each error.
fn details(errors: &[VcfError]) -> Vec<Detail> {
    errors
        .iter()
        .map(|error| Detail::new(error.error_code.clone(), error.message.clone()))
        .collect()
}

impl VcfTask {
    /// Its subtasks (none when VMware left the list out).
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfTask;
    /// # let json = r#"{"id":"t1","name":"Commission","status":"FAILED","creationTimestamp":"2026-11-23T09:00:00.000Z",
    /// #   "subTasks":[{"name":"Validate","status":"FAILED","errors":[{"errorCode":"MM","message":"maintenance mode"}],
    /// #     "subTasks":[{"name":"Vibs","status":"SUCCESSFUL"}]}],
    /// #   "errors":[{"errorCode":"COMMISION_HOST_FAILED","message":"failed"}],
    /// #   "resources":[{"resourceId":"h1","type":"HOST","fqdn":"esx05.rainpole.io"}],
    /// #   "stages":[{"name":"Prepare","status":"SUCCESSFUL"}]}"#;
    /// # let task: VcfTask = serde_json::from_str(json)?;
    /// assert_eq!(task.subtasks().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subtasks(&self) -> &[VcfSubtask] {
        self.sub_tasks.as_deref().unwrap_or_default()
    }

    /// Its errors (none when VMware left the list out).
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfTask;
    /// # let json = r#"{"id":"t1","name":"Commission","status":"FAILED","creationTimestamp":"2026-11-23T09:00:00.000Z",
    /// #   "subTasks":[{"name":"Validate","status":"FAILED","errors":[{"errorCode":"MM","message":"maintenance mode"}],
    /// #     "subTasks":[{"name":"Vibs","status":"SUCCESSFUL"}]}],
    /// #   "errors":[{"errorCode":"COMMISION_HOST_FAILED","message":"failed"}],
    /// #   "resources":[{"resourceId":"h1","type":"HOST","fqdn":"esx05.rainpole.io"}],
    /// #   "stages":[{"name":"Prepare","status":"SUCCESSFUL"}]}"#;
    /// # let task: VcfTask = serde_json::from_str(json)?;
    /// assert_eq!(task.errors()[0].error_code, "COMMISION_HOST_FAILED");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn errors(&self) -> &[VcfError] {
        self.errors.as_deref().unwrap_or_default()
    }

    /// The resources it acts on (none when VMware left the list out).
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfTask;
    /// # let json = r#"{"id":"t1","name":"Commission","status":"FAILED","creationTimestamp":"2026-11-23T09:00:00.000Z",
    /// #   "subTasks":[{"name":"Validate","status":"FAILED","errors":[{"errorCode":"MM","message":"maintenance mode"}],
    /// #     "subTasks":[{"name":"Vibs","status":"SUCCESSFUL"}]}],
    /// #   "errors":[{"errorCode":"COMMISION_HOST_FAILED","message":"failed"}],
    /// #   "resources":[{"resourceId":"h1","type":"HOST","fqdn":"esx05.rainpole.io"}],
    /// #   "stages":[{"name":"Prepare","status":"SUCCESSFUL"}]}"#;
    /// # let task: VcfTask = serde_json::from_str(json)?;
    /// assert_eq!(task.resources()[0].fqdn.as_deref(), Some("esx05.rainpole.io"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resources(&self) -> &[VcfResource] {
        self.resources.as_deref().unwrap_or_default()
    }

    /// Its stages (none when VMware left the list out).
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfTask;
    /// # let json = r#"{"id":"t1","name":"Commission","status":"FAILED","creationTimestamp":"2026-11-23T09:00:00.000Z",
    /// #   "subTasks":[{"name":"Validate","status":"FAILED","errors":[{"errorCode":"MM","message":"maintenance mode"}],
    /// #     "subTasks":[{"name":"Vibs","status":"SUCCESSFUL"}]}],
    /// #   "errors":[{"errorCode":"COMMISION_HOST_FAILED","message":"failed"}],
    /// #   "resources":[{"resourceId":"h1","type":"HOST","fqdn":"esx05.rainpole.io"}],
    /// #   "stages":[{"name":"Prepare","status":"SUCCESSFUL"}]}"#;
    /// # let task: VcfTask = serde_json::from_str(json)?;
    /// assert_eq!(task.stages()[0].name, "Prepare");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stages(&self) -> &[VcfStage] {
        self.stages.as_deref().unwrap_or_default()
    }

    /// The task in canonical terms, VMware's `isCancellable` and
    /// `isRetryable` kept as read. Nested subtasks come depth first, each
    /// naming the position of the one it is nested under.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a task or subtask status this crate does not
    /// know.
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfTask;
    /// use taskstate::Status;
    ///
    /// let json = r#"{"id":"t1","name":"Commissioning","type":"HOST_COMMISSION","status":"In Progress",
    ///   "creationTimestamp":"2026-11-23T09:00:00.000Z","isCancellable":true,"isRetryable":false}"#;
    /// let mirrored = serde_json::from_str::<VcfTask>(json)?.to_mirrored()?;
    /// assert_eq!(mirrored.kind.as_deref(), Some("HOST_COMMISSION"));
    /// assert_eq!(mirrored.status, Some(Status::Running));
    /// assert_eq!((mirrored.flags.can_cancel, mirrored.flags.can_relaunch), (Some(true), Some(false)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_mirrored(&self) -> Result<MirroredTask, UnknownStatus> {
        let mut subtasks = Vec::new();
        for subtask in self.subtasks() {
            subtask.flatten_into(None, &mut subtasks)?;
        }
        let status = self.status.value.to_canonical()?;
        Ok(MirroredTask {
            kind: Some(self.kind.clone().unwrap_or_else(|| self.name.clone())),
            status: Some(status),
            created_at: Some(self.creation_timestamp.utc()),
            done_at: self.completion_timestamp.as_ref().map(Timestamp::utc),
            comment: self.errors().first().map(|error| error.message.clone()),
            flags: ProviderFlags {
                can_cancel: self.is_cancellable,
                can_relaunch: self.is_retryable,
                ..ProviderFlags::default()
            },
            subtasks,
            resources: self
                .resources()
                .iter()
                .map(|r| ResourceRef::new(r.kind.clone(), r.resource_id.clone()))
                .collect(),
            ..MirroredTask::default()
        })
    }

    /// The view of `task` as `viewer` sees it at `now` (`isCancellable`
    /// and `isRetryable` depend on who asks and when). The name is the
    /// task's title, or its kind's name; the type is the kind's name; the
    /// errors are the current failure; subtasks nest as they were
    /// declared, each with its errors. Times are written as VMware writes
    /// them, in UTC to the millisecond.
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfTask;
    /// use taskstate::NewSubtask;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("HOST_COMMISSION"),
    ///     Owner::new("admin"), ResourceRef::new("HOST", "h1"))
    ///     .subtask(NewSubtask::new("Validate", "validates the host"))
    ///     .subtask(NewSubtask::new("Vibs", "checks the VIBs").under(0));
    /// let (task, _) = Task::create(new, Actor::customer("admin"), now)?;
    /// let json = serde_json::to_value(VcfTask::of(&task, &Actor::customer("admin"), now))?;
    /// assert_eq!(json["subTasks"][0]["subTasks"][0]["name"], "Vibs");
    /// assert_eq!(json["creationTimestamp"], "2026-11-23T09:00:00.000Z");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of<K: TaskKind>(task: &Task<K>, viewer: &Actor, now: DateTime<Utc>) -> VcfTask {
        let subtasks: Vec<&Subtask> = task.subtasks().iter().collect();
        let mut roots = Vec::new();
        let mut children = vec![Vec::new(); subtasks.len()];
        for (at, subtask) in subtasks.iter().enumerate() {
            // Each parent is declared before its children (the core
            // refuses any other), so every subtask is reached once.
            match subtask
                .parent
                .and_then(|parent| children.get_mut(parent as usize))
            {
                Some(siblings) => siblings.push(at),
                None => roots.push(at),
            }
        }
        VcfTask {
            id: task.id().to_string(),
            name: task.title().unwrap_or(task.kind().name()).to_owned(),
            localizable_description_pack: None,
            kind: Some(task.kind().name().to_owned()),
            status: Spelled::new(VcfStatus::of(task)),
            creation_timestamp: stamp(task.created_at()),
            completion_timestamp: task.done_at().map(stamp),
            sub_tasks: Some(
                roots
                    .into_iter()
                    .filter_map(|at| VcfSubtask::of(&subtasks, &children, at, 1))
                    .collect(),
            ),
            errors: Some(task.failure().map(VcfError::of).into_iter().collect()),
            resources: Some(
                task.resources()
                    .map(|resource| VcfResource {
                        resource_id: resource.id.clone(),
                        kind: resource.kind.clone(),
                        fqdn: None,
                        name: None,
                        sans: None,
                        unknown: Map::new(),
                    })
                    .collect(),
            ),
            stages: None,
            resolution_status: Some(
                match task.resolution() {
                    Some(Resolution::Resolved) => "RESOLVED",
                    _ => "UNRESOLVED",
                }
                .to_owned(),
            ),
            is_cancellable: Some(task.can_cancel(viewer, now)),
            is_retryable: Some(task.can_relaunch(viewer, now)),
            unknown: Map::new(),
        }
    }
}
