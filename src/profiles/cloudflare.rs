//! Cloudflare catalog task statuses: `pending, running, completed,
//! failed`.
//!
//! Catalog tasks have no word for a task paused or stalled (they show
//! `running`) nor for a cancelled one (it shows `failed`: it did not
//! complete).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{Covers, MirroredTask, Spelled, Timestamp, UnknownStatus};
use crate::argument::ArgumentValue;
use crate::command::ResourceRef;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::task::Task;

super::provider_vocabulary! {
    /// A Cloudflare catalog task status, as the API spells it.
    pub enum CloudflareStatus("Cloudflare", super::exact) {
        /// `pending`.
        Pending => "pending",
        /// `running` (and, lossily, waiting or stalled).
        Running => "running",
        /// `completed`: done.
        Completed => "completed",
        /// `failed` (and, lossily, cancelled).
        Failed => "failed",
    }
}

impl CloudflareStatus {
    /// Cloudflare's word for a canonical status.
    ///
    /// ```
    /// use taskstate::profiles::cloudflare::CloudflareStatus;
    /// use taskstate::Status;
    ///
    /// // No word for a cancelled task: it did not complete.
    /// assert_eq!(CloudflareStatus::from_canonical(Status::Cancelled), CloudflareStatus::Failed);
    /// ```
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
    ///
    /// ```
    /// use taskstate::profiles::cloudflare::CloudflareStatus;
    /// use taskstate::Status;
    ///
    /// assert_eq!(CloudflareStatus::Completed.to_canonical()?, Status::Done);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_canonical(&self) -> Result<Status, UnknownStatus> {
        Ok(match self {
            CloudflareStatus::Pending => Status::Pending,
            CloudflareStatus::Running => Status::Running,
            CloudflareStatus::Completed => Status::Done,
            CloudflareStatus::Failed => Status::Failed,
            CloudflareStatus::Other(_) => return Err(self.unknown()),
        })
    }

    /// The tasks Cloudflare shows with this word: `running` covers
    /// running, waiting and stalled tasks, `failed` failed and cancelled
    /// ones.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    ///
    /// ```
    /// use taskstate::profiles::cloudflare::CloudflareStatus;
    /// use taskstate::Status;
    ///
    /// let failed = CloudflareStatus::Failed.covers()?;
    /// assert!(failed.statuses.contains(Status::Cancelled));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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

/// A catalog task as Cloudflare's API shows it (`GET
/// /zones/{zone_id}/catalog_tasks/{task_id}`), field for field; optional
/// fields are left out when empty, as Cloudflare does. Times keep the text
/// they were read with; [`CloudflareTask::of`] writes them as Cloudflare
/// does, in UTC to the millisecond.
///
/// ```
/// use taskstate::profiles::cloudflare::CloudflareTask;
///
/// let json = serde_json::json!({
///     "id": "t1", "created_at": "2019-12-27T18:11:19.117Z", "operation": "create",
///     "status": "completed", "updated_at": "2019-12-27T18:12:00.000Z", "install_id": "inst-7"
/// });
/// let read: CloudflareTask = serde_json::from_value(json.clone())?;
/// assert_eq!(read.install_id.as_deref(), Some("inst-7"));
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudflareTask {
    /// The task's id.
    pub id: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// `create` or `delete` (the task's kind).
    pub operation: String,
    /// Its status.
    pub status: Spelled<CloudflareStatus>,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Why it failed, or that it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The install it produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_id: Option<String>,
    /// Links to related entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<CloudflareLink>>,
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

/// A link from a task to a related entity, as Cloudflare shows it.
///
/// ```
/// use taskstate::profiles::cloudflare::CloudflareLink;
///
/// let json = serde_json::json!({"href": "#www", "rel": "dns_record", "titles": {"en": "www record"}});
/// let read: CloudflareLink = serde_json::from_value(json.clone())?;
/// assert_eq!(read.rel, "dns_record");
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudflareLink {
    /// The target: `#name` for an entity of the same graph, an absolute
    /// path or URL for one outside it.
    pub href: String,
    /// The link relation type.
    pub rel: String,
    /// More metadata, by property name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
    /// Human-readable titles, by BCP 47 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titles: Option<BTreeMap<String, String>>,
    /// The target's media type, for external targets.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub media_type: Option<String>,
}

/// A warning as Cloudflare shows it.
///
/// ```
/// use taskstate::profiles::cloudflare::CloudflareWarning;
///
/// let json = serde_json::json!({
///     "code": "conflict", "details": [{"code": "conflict", "field": "$.records[0]", "message": "kept"}],
///     "message": "an adopted record is kept", "status": 409, "timestamp": "2019-12-27T18:11:19.117Z"
/// });
/// let read: CloudflareWarning = serde_json::from_value(json.clone())?;
/// assert_eq!((read.status, read.details[0].field.as_str()), (Some(409), "$.records[0]"));
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    pub timestamp: Option<Timestamp>,
}

/// The HTTP status Cloudflare answers with for an error or warning code
/// (`conflict`: 409), if it is one of its codes.
pub(crate) fn http_status_of(code: &str) -> Option<u16> {
    Some(match code {
        "validation_error" | "bad_request" => 400,
        "unauthorized" => 401,
        "forbidden" => 403,
        "not_found" => 404,
        "conflict" => 409,
        "rate_limit_exceeded" => 429,
        "internal_error" => 500,
        "service_unavailable" => 503,
        _ => return None,
    })
}

/// One detail of a Cloudflare warning.
///
/// ```
/// use taskstate::profiles::cloudflare::CloudflareDetail;
///
/// let json = serde_json::json!({"code": "validation_error", "field": "$.name", "message": "too long"});
/// let read: CloudflareDetail = serde_json::from_value(json.clone())?;
/// assert_eq!(read.field, "$.name");
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudflareDetail {
    /// Its code.
    pub code: String,
    /// A JSON path into the request body.
    pub field: String,
    /// Its message.
    pub message: String,
}

/// Cloudflare writes times in UTC to the millisecond.
fn stamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp::new(at, SecondsFormat::Millis)
}

/// What an HTTP handler answers for a task: Cloudflare answers a completed
/// task with a `303 See Other` to its install, and any other with `200`
/// and the task. Given as data, so a web layer does not re-derive it.
///
/// ```
/// use taskstate::profiles::cloudflare::HttpAnswer;
///
/// let answer = HttpAnswer::SeeOther { location: "/installs/inst-7".into() };
/// assert_eq!(answer.status(), 303);
/// ```
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
    ///
    /// ```
    /// use taskstate::profiles::cloudflare::HttpAnswer;
    ///
    /// let answer = HttpAnswer::SeeOther { location: "/installs/inst-1".into() };
    /// assert_eq!((HttpAnswer::Ok.status(), answer.status()), (200, 303));
    /// ```
    pub const fn status(&self) -> u16 {
        match self {
            HttpAnswer::Ok => 200,
            HttpAnswer::SeeOther { .. } => 303,
        }
    }
}

impl CloudflareTask {
    /// The view of `task`, everything built from the task:
    ///
    /// - the kind's name is the operation, the outcome's produced resource
    ///   the `install_id`;
    /// - `error_message` is the failure's message, or for a cancelled task
    ///   (which Cloudflare shows `failed`) the cancel's reason, else
    ///   `cancelled`;
    /// - `links` are the task's resources beyond the zone it acts on, each
    ///   a link whose `rel` is the resource's kind and `href` its id (a
    ///   host declares them with [`NewTask::also_on`](crate::NewTask::also_on)
    ///   as `ResourceRef::new("dns_record", "#www")`);
    /// - `package_id`, `package_slug` and `package_version` are the task's
    ///   arguments of those keys (the version an integer, or text that
    ///   reads as a number);
    /// - each warning's `status` is the HTTP status of its code, its
    ///   `path` the task's route (`/zones/{zone}/catalog_tasks/{id}`, when
    ///   the task acts on a `zone`), its `timestamp` when the task settled
    ///   (warnings come with the outcome), or last changed; its
    ///   `request_id` is left out (the task does not know which request
    ///   reads it: a handler that does sets it).
    ///
    /// ```
    /// use taskstate::profiles::cloudflare::CloudflareTask;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let view = CloudflareTask::of(&task);
    /// assert_eq!((view.operation.as_str(), view.status.text()), ("DomainCreate", "pending"));
    /// assert_eq!(view.created_at.text(), "2026-11-23T09:00:00.000Z");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of<K: TaskKind>(task: &Task<K>) -> CloudflareTask {
        let path = (task.resource().kind == "zone")
            .then(|| format!("/zones/{}/catalog_tasks/{}", task.resource().id, task.id()));
        let raised = stamp(task.done_at().unwrap_or(task.updated_at()));
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
                path: path.clone(),
                request_id: None,
                status: http_status_of(&warning.code),
                timestamp: Some(raised.clone()),
            })
            .collect();
        let links: Vec<CloudflareLink> = task
            .resources()
            .skip(1)
            .map(|resource| CloudflareLink {
                href: resource.id.clone(),
                rel: resource.kind.clone(),
                properties: None,
                titles: None,
                media_type: None,
            })
            .collect();
        let text = |key: &str| {
            task.arguments()
                .get(key)
                .map(|value| value.to_string())
                .filter(|text| !text.is_empty())
        };
        let package_version =
            task.arguments()
                .get("package_version")
                .and_then(|value| match value {
                    ArgumentValue::Integer(n) => Some(serde_json::Number::from(*n)),
                    other => other.to_string().parse().ok(),
                });
        let error_message = match task.status() {
            Status::Cancelled => Some(task.comment().unwrap_or("cancelled").to_owned()),
            _ => task.failure().map(|failure| failure.message.clone()),
        };
        CloudflareTask {
            id: task.id().to_string(),
            created_at: stamp(task.created_at()),
            operation: task.kind().name().to_owned(),
            status: Spelled::new(CloudflareStatus::from_canonical(task.status())),
            updated_at: stamp(task.updated_at()),
            error_message,
            install_id: task
                .outcome()
                .and_then(|outcome| outcome.produced.as_ref())
                .map(|install| install.id.clone()),
            links: (!links.is_empty()).then_some(links),
            package_id: text("package_id"),
            package_slug: text("package_slug"),
            package_version,
            warnings: (!warnings.is_empty()).then_some(warnings),
        }
    }

    /// The task in canonical terms (Cloudflare has no flags to keep).
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a status word this crate does not know.
    ///
    /// ```
    /// use taskstate::profiles::cloudflare::CloudflareTask;
    /// use taskstate::Status;
    ///
    /// let read: CloudflareTask = serde_json::from_value(serde_json::json!({
    ///     "id": "t1", "created_at": "2019-12-27T18:11:19.117Z", "operation": "create",
    ///     "status": "failed", "updated_at": "2019-12-27T18:12:00.000Z", "error_message": "quota"
    /// }))?;
    /// let mirrored = read.to_mirrored()?;
    /// assert_eq!(mirrored.status, Some(Status::Failed));
    /// assert_eq!(mirrored.comment.as_deref(), Some("quota"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_mirrored(&self) -> Result<MirroredTask, UnknownStatus> {
        Ok(MirroredTask {
            kind: Some(self.operation.clone()),
            status: Some(self.status.value.to_canonical()?),
            created_at: Some(self.created_at.utc()),
            updated_at: Some(self.updated_at.utc()),
            comment: self.error_message.clone(),
            resources: self
                .install_id
                .iter()
                .map(|install| ResourceRef::new("install", install.clone()))
                .collect(),
            ..MirroredTask::default()
        })
    }

    /// What to answer for this task: a `303` to `install_url(install_id)`
    /// once completed with an install, else `200` with the task.
    ///
    /// ```
    /// use taskstate::profiles::cloudflare::{CloudflareTask, HttpAnswer};
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let view = CloudflareTask::of(&task);
    /// assert_eq!(view.http_answer(|id| format!("/installs/{id}")), HttpAnswer::Ok);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_answer(&self, install_url: impl FnOnce(&str) -> String) -> HttpAnswer {
        match (&self.status.value, &self.install_id) {
            (CloudflareStatus::Completed, Some(install)) => HttpAnswer::SeeOther {
                location: install_url(install),
            },
            _ => HttpAnswer::Ok,
        }
    }
}
