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
//! | `GET /me/task/domain?domain=&function=&status=` | `TaskStore::list` with [`OvhTaskQuery::me`]'s filter |
//! | `GET /domain/{serviceName}/task?function=&status=` | `TaskStore::list` with [`OvhTaskQuery::service`]'s filter |
//! | `GET /me/task/domain/{id}` | [`OvhTask::of`] |
//! | `POST /me/task/domain/{id}/accelerate` | `Command::Accelerate` |
//! | `POST /me/task/domain/{id}/relaunch` | `Command::Relaunch` |
//! | `POST /me/task/domain/{id}/cancel` | `Command::Cancel` |
//! | `GET /me/task/domain/{id}/argument` | `Task::fields_to_correct` |
//! | `GET /me/task/domain/{id}/argument/{key}` | [`OvhArgument::of`] |
//! | `PUT /me/task/domain/{id}/argument/{key}` | `Command::SetArgument` (a string API reads the value with `ArgumentSpec::parse`) |

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Covers, MirroredTask, ProviderFlags, Spelled, Timestamp, UnknownStatus};
use crate::actor::Actor;
use crate::argument::ArgumentType;
use crate::command::ResourceRef;
use crate::failure::Origin;
use crate::rules::TaskKind;
use crate::status::Status;
use crate::store::Filter;
use crate::task::Task;

super::provider_vocabulary! {
    /// An OVHcloud task status, as the API spells it.
    pub enum OvhStatus("OVHcloud", super::exact) {
        /// `todo`: pending.
        Todo => "todo",
        /// `doing`: running (and, lossily, waiting or stalled).
        Doing => "doing",
        /// `done`.
        Done => "done",
        /// `cancelled`.
        Cancelled => "cancelled",
        /// `error`: failed; the customer must correct and relaunch.
        Error => "error",
        /// `problem`: failed on OVHcloud's side.
        Problem => "problem",
    }
}

impl OvhStatus {
    /// OVHcloud's word for a canonical status; a failure needs its origin
    /// (`None` reads as the customer's, OVHcloud's historical `error`).
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhStatus;
    /// use taskstate::{Origin, Status};
    ///
    /// assert_eq!(OvhStatus::from_canonical(Status::Failed, Some(Origin::Provider)), OvhStatus::Problem);
    /// assert_eq!(OvhStatus::from_canonical(Status::Waiting, None), OvhStatus::Doing);
    /// ```
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
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhStatus;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(OvhStatus::of(&task).as_str(), "todo");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of<K>(task: &Task<K>) -> OvhStatus {
        OvhStatus::from_canonical(task.status(), task.failure().map(|f| f.origin))
    }

    /// The canonical status.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhStatus;
    /// use taskstate::Status;
    ///
    /// assert_eq!(OvhStatus::Problem.to_canonical()?, Status::Failed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_canonical(&self) -> Result<Status, UnknownStatus> {
        Ok(match self {
            OvhStatus::Todo => Status::Pending,
            OvhStatus::Doing => Status::Running,
            OvhStatus::Done => Status::Done,
            OvhStatus::Cancelled => Status::Cancelled,
            OvhStatus::Error | OvhStatus::Problem => Status::Failed,
            OvhStatus::Other(_) => return Err(self.unknown()),
        })
    }

    /// The tasks OVHcloud shows with this word: `doing` covers running,
    /// waiting and stalled tasks; `error` the failed tasks the customer
    /// must act on, `problem` those of the provider.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a word this crate does not know.
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhStatus;
    /// use taskstate::{Origin, Status};
    ///
    /// let problem = OvhStatus::Problem.covers()?;
    /// assert!(problem.statuses.contains(Status::Failed));
    /// assert_eq!(problem.failure_origin, Some(Origin::Provider));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn covers(&self) -> Result<Covers, UnknownStatus> {
        Ok(match self {
            OvhStatus::Todo => Covers::statuses(&[Status::Pending]),
            OvhStatus::Doing => {
                Covers::statuses(&[Status::Running, Status::Waiting, Status::Stalled])
            }
            OvhStatus::Done => Covers::statuses(&[Status::Done]),
            OvhStatus::Cancelled => Covers::statuses(&[Status::Cancelled]),
            OvhStatus::Error => Covers::statuses(&[Status::Failed]).failed_by(Origin::Customer),
            OvhStatus::Problem => Covers::statuses(&[Status::Failed]).failed_by(Origin::Provider),
            OvhStatus::Other(_) => return Err(self.unknown()),
        })
    }

    /// Who must act on a failure with this status: `error` the customer,
    /// `problem` the provider; `None` for the other statuses.
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhStatus;
    /// use taskstate::Origin;
    ///
    /// assert_eq!(OvhStatus::Error.failure_origin(), Some(Origin::Customer));
    /// assert_eq!(OvhStatus::Done.failure_origin(), None);
    /// ```
    pub const fn failure_origin(&self) -> Option<Origin> {
        match self {
            OvhStatus::Error => Some(Origin::Customer),
            OvhStatus::Problem => Some(Origin::Provider),
            _ => None,
        }
    }
}

/// A domain task as OVHcloud's API shows it (`GET /me/task/domain/{id}`),
/// field for field. OVHcloud's ids are numbers: the host, which keeps the
/// mapping, supplies it. Times keep the text they were read with; the
/// view built by [`OvhTask::of`] writes them as OVHcloud does, to the
/// second with an offset (`2026-11-23T09:00:00+00:00`).
///
/// ```
/// use taskstate::profiles::ovh::OvhTask;
///
/// let json = serde_json::json!({
///     "id": 1234567, "function": "DomainCreate", "status": "error", "comment": "Afnic asks for a justification",
///     "canRelaunch": true, "canCancel": true, "canAccelerate": false, "todoDate": null,
///     "creationDate": "2026-11-23T10:00:00+01:00", "lastUpdate": "2026-11-23T10:02:00+01:00",
///     "doneDate": "2026-11-23T10:02:00+01:00", "domain": "example.fr"
/// });
/// let read: OvhTask = serde_json::from_value(json.clone())?;
/// assert_eq!(read.creation_date.text(), "2026-11-23T10:00:00+01:00");
/// assert_eq!(serde_json::to_value(&read)?, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// When it should run next: a pending task's start, or the next
    /// automatic restart of a task in `problem`.
    pub todo_date: Option<Timestamp>,
    /// When it was created.
    pub creation_date: Timestamp,
    /// When it last changed.
    pub last_update: Timestamp,
    /// When it finished.
    pub done_date: Option<Timestamp>,
    /// The domain it acts on.
    pub domain: String,
}

/// One argument of a task as OVHcloud shows it
/// (`GET /me/task/domain/{id}/argument/{key}`), field for field: every
/// field but the key and the type may be `null`, and is written back as
/// `null` when it is, as OVHcloud writes it.
///
/// ```
/// use taskstate::profiles::ovh::OvhArgument;
///
/// let json = serde_json::json!({
///     "key": "legitimacyDocument", "type": "/me/document", "value": null,
///     "description": "A document proving your right to the name",
///     "acceptedValues": null, "acceptedFormats": ["pdf", "jpg"],
///     "minimumSize": 1, "maximumSize": 10485760, "fields": null,
///     "template": null, "readOnly": false
/// });
/// let argument: OvhArgument = serde_json::from_value(json.clone())?;
/// assert_eq!(argument.accepted_formats.as_deref(), Some(&["pdf".to_owned(), "jpg".to_owned()][..]));
/// assert_eq!(serde_json::to_value(&argument)?, json);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OvhArgument {
    /// The key.
    pub key: String,
    /// The type: a resource's path for an argument that names one
    /// (`/me/contact`, `/me/document`), else the type's name (`text`,
    /// `one_of`, `integer`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The current value, as text.
    #[serde(default)]
    pub value: Option<String>,
    /// How to fill it.
    #[serde(default)]
    pub description: Option<String>,
    /// The accepted values, for a one-of argument.
    #[serde(default)]
    pub accepted_values: Option<Vec<String>>,
    /// The accepted formats, for a document.
    #[serde(default)]
    pub accepted_formats: Option<Vec<String>>,
    /// The smallest size of the content (characters of a text).
    #[serde(default)]
    pub minimum_size: Option<u64>,
    /// The largest size of the content (characters of a text).
    #[serde(default)]
    pub maximum_size: Option<u64>,
    /// The fields concerned, for a contact.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// A template of the content.
    #[serde(default)]
    pub template: Option<String>,
    /// Whether it is read-only.
    #[serde(default)]
    pub read_only: Option<bool>,
}

/// OVHcloud writes times to the second, with an offset.
fn stamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp::in_offset(at.fixed_offset(), SecondsFormat::Secs)
}

impl OvhTask {
    /// The view of `task` as `viewer` sees it at `now`, under OVHcloud's
    /// numeric `id`. `canRelaunch` is
    /// [`can_relaunch_once_corrected`](Task::can_relaunch_once_corrected):
    /// OVHcloud shows it before the corrections are made. `todoDate` is a
    /// pending task's start, or a failed task's next automatic restart
    /// ([`Task::next_retry_at`]).
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhTask;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let view = OvhTask::of(&task, 1234567, &Actor::customer("alice"), now);
    /// assert_eq!((view.status.text(), view.can_cancel), ("todo", true));
    /// assert_eq!(view.creation_date.text(), "2026-11-23T09:00:00+00:00");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of<K: TaskKind>(task: &Task<K>, id: u64, viewer: &Actor, now: DateTime<Utc>) -> OvhTask {
        OvhTask {
            id,
            function: task.kind().name().to_owned(),
            status: Spelled::new(OvhStatus::of(task)),
            comment: task.comment().map(str::to_owned),
            can_relaunch: task.can_relaunch_once_corrected(viewer, now),
            can_cancel: task.can_cancel(viewer, now),
            can_accelerate: task.can_accelerate(viewer, now),
            todo_date: match task.status() {
                Status::Pending => task.todo_at(),
                // OVHcloud restarts a task in `problem` on its own.
                Status::Failed => task.next_retry_at(),
                _ => None,
            }
            .map(stamp),
            creation_date: stamp(task.created_at()),
            last_update: stamp(task.updated_at()),
            done_date: task.done_at().map(stamp),
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
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhTask;
    /// use taskstate::Status;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let view = OvhTask::of(&task, 1, &Actor::customer("alice"), now);
    /// let mirrored = view.to_mirrored()?;
    /// assert_eq!(mirrored.status, Some(Status::Pending));
    /// assert_eq!(mirrored.flags.can_cancel, Some(true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_mirrored(&self) -> Result<MirroredTask, UnknownStatus> {
        Ok(MirroredTask {
            kind: Some(self.function.clone()),
            status: Some(self.status.value.to_canonical()?),
            failure_origin: self.status.value.failure_origin(),
            created_at: Some(self.creation_date.utc()),
            updated_at: Some(self.last_update.utc()),
            done_at: self.done_date.as_ref().map(Timestamp::utc),
            todo_at: self.todo_date.as_ref().map(Timestamp::utc),
            comment: self.comment.clone(),
            flags: ProviderFlags {
                can_relaunch: Some(self.can_relaunch),
                can_cancel: Some(self.can_cancel),
                can_accelerate: Some(self.can_accelerate),
                blocking: None,
            },
            resources: vec![ResourceRef::new("domain", self.domain.clone())],
            ..MirroredTask::default()
        })
    }
}

impl OvhArgument {
    /// The view of the argument `key` of `task`, if the kind declares it:
    /// a text's bounds as its sizes, a one-of's accepted values, and the
    /// spec's [hints](crate::argument::ArgumentHints).
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhArgument;
    /// use taskstate::{Actor, ArgumentSpec, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # use chrono::{TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("legitimacyAfnic", 10, 2000));
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind, Owner::new("alice"),
    ///     ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let argument = OvhArgument::of(&task, "legitimacyAfnic").ok_or("not declared")?;
    /// assert_eq!((argument.minimum_size, argument.maximum_size), (Some(10), Some(2000)));
    /// assert_eq!(argument.accepted_values, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of<K: TaskKind>(task: &Task<K>, key: &str) -> Option<OvhArgument> {
        let view = task.argument(key)?;
        let spec = view.spec;
        let hints = &spec.hints;
        let (minimum_size, maximum_size) = match &spec.kind {
            ArgumentType::Text { min, max } => (Some(u64::from(*min)), Some(u64::from(*max))),
            _ => (hints.minimum_size, hints.maximum_size),
        };
        let listed = |list: &[String]| (!list.is_empty()).then(|| list.to_vec());
        Some(OvhArgument {
            key: spec.key.clone(),
            kind: match &spec.kind {
                ArgumentType::Reference { resource, .. } => resource.clone(),
                kind => kind.name().to_owned(),
            },
            value: view.value.map(ToString::to_string),
            description: Some(spec.description.clone()),
            accepted_values: match &spec.kind {
                ArgumentType::OneOf { accepted } => Some(accepted.clone()),
                _ => None,
            },
            accepted_formats: listed(&hints.accepted_formats),
            minimum_size,
            maximum_size,
            fields: listed(&hints.fields),
            template: hints.template.clone(),
            read_only: Some(spec.read_only),
        })
    }
}

/// A listing in OVHcloud's words, from either of its two paths:
/// `GET /me/task/domain?domain=&function=&status=` (the customer's domain
/// tasks) and `GET /domain/{serviceName}/task?function=&status=` (one
/// domain's). [`filter`](OvhTaskQuery::filter) makes the store's filter,
/// exact for every status word (`doing` lists waiting and stalled tasks
/// too; `error` and `problem` tell who must act).
///
/// ```
/// use taskstate::profiles::ovh::OvhTaskQuery;
/// use taskstate::{ResourceRef, Status};
///
/// let query = OvhTaskQuery::me([("domain", "example.fr"), ("status", "problem")])?;
/// let filter = query.filter()?.ok_or("covers no task")?;
/// assert_eq!(filter.resource, Some(ResourceRef::new("domain", "example.fr")));
/// assert!(filter.statuses.contains(Status::Failed));
///
/// // The other path names the domain itself, and refuses `domain=`.
/// let same = OvhTaskQuery::service("example.fr", [("status", "problem")])?;
/// assert_eq!(same, query);
/// assert!(OvhTaskQuery::service("example.fr", [("domain", "other.fr")]).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OvhTaskQuery {
    /// `domain`: the tasks of this domain.
    pub domain: Option<String>,
    /// `function`: the tasks of this type (the kind's name).
    pub function: Option<String>,
    /// `status`: the tasks OVHcloud shows with this word.
    pub status: Option<OvhStatus>,
}

/// A query OVHcloud's listing routes would refuse.
///
/// ```
/// use taskstate::profiles::ovh::{OvhQueryError, OvhTaskQuery};
///
/// let refused = OvhTaskQuery::me([("status", "doing"), ("status", "done")]);
/// assert_eq!(refused, Err(OvhQueryError::Repeated("status".into())));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum OvhQueryError {
    /// A parameter the route does not take.
    #[error("unknown parameter `{0}`")]
    UnknownParameter(String),
    /// A parameter given twice.
    #[error("parameter `{0}` given twice")]
    Repeated(String),
    /// A parameter given empty.
    #[error("parameter `{0}` is empty")]
    Empty(String),
    /// A status word OVHcloud does not have.
    #[error(transparent)]
    UnknownStatus(#[from] UnknownStatus),
}

impl OvhTaskQuery {
    /// The query of `GET /me/task/domain`, from its query parameters
    /// (`domain`, `function`, `status`).
    ///
    /// # Errors
    ///
    /// [`OvhQueryError`]: an unknown, repeated or empty parameter, or a
    /// status word OVHcloud does not have.
    ///
    /// ```
    /// use taskstate::profiles::ovh::{OvhQueryError, OvhStatus, OvhTaskQuery};
    ///
    /// let query = OvhTaskQuery::me([("status", "doing"), ("function", "DomainCreate")])?;
    /// assert_eq!(query.status, Some(OvhStatus::Doing));
    /// assert!(matches!(OvhTaskQuery::me([("sort", "asc")]), Err(OvhQueryError::UnknownParameter(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn me<K: AsRef<str>, V: AsRef<str>>(
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Result<OvhTaskQuery, OvhQueryError> {
        OvhTaskQuery::read(params, &["domain", "function", "status"])
    }

    /// The query of `GET /domain/{serviceName}/task`: the tasks of the
    /// domain `service_name`, from the query parameters (`function`,
    /// `status`; the path names the domain).
    ///
    /// # Errors
    ///
    /// As [`me`](OvhTaskQuery::me); `domain` is an unknown parameter here.
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhTaskQuery;
    ///
    /// let query = OvhTaskQuery::service("example.fr", [("status", "todo")])?;
    /// assert_eq!(query.domain.as_deref(), Some("example.fr"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn service<K: AsRef<str>, V: AsRef<str>>(
        service_name: &str,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Result<OvhTaskQuery, OvhQueryError> {
        if service_name.is_empty() {
            return Err(OvhQueryError::Empty("serviceName".to_owned()));
        }
        let mut query = OvhTaskQuery::read(params, &["function", "status"])?;
        query.domain = Some(service_name.to_owned());
        Ok(query)
    }

    fn read<K: AsRef<str>, V: AsRef<str>>(
        params: impl IntoIterator<Item = (K, V)>,
        known: &[&str],
    ) -> Result<OvhTaskQuery, OvhQueryError> {
        let mut query = OvhTaskQuery::default();
        for (name, value) in params {
            let (name, value) = (name.as_ref(), value.as_ref());
            if !known.contains(&name) {
                return Err(OvhQueryError::UnknownParameter(name.to_owned()));
            }
            if value.is_empty() {
                return Err(OvhQueryError::Empty(name.to_owned()));
            }
            let repeated = match name {
                "domain" => query.domain.replace(value.to_owned()).is_some(),
                "function" => query.function.replace(value.to_owned()).is_some(),
                _ => {
                    let status = OvhStatus::from(value.to_owned());
                    status.covers()?;
                    query.status.replace(status).is_some()
                }
            };
            if repeated {
                return Err(OvhQueryError::Repeated(name.to_owned()));
            }
        }
        Ok(query)
    }

    /// The store's filter for this query: tasks on the domain
    /// (`ResourceRef::new("domain", …)`), of the function, covered by the
    /// status word. `None` when no task can match.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] for a status word OVHcloud does not have.
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhTaskQuery;
    /// use taskstate::Status;
    ///
    /// let filter = OvhTaskQuery::me([("status", "doing")])?.filter()?.ok_or("no task")?;
    /// assert!(filter.statuses.contains(Status::Stalled));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn filter(&self) -> Result<Option<Filter>, UnknownStatus> {
        let mut filter = Filter::new();
        if let Some(domain) = &self.domain {
            filter = filter.resource(ResourceRef::new("domain", domain.clone()));
        }
        if let Some(function) = &self.function {
            filter = filter.kind(function.clone());
        }
        match &self.status {
            Some(status) => Ok(status.covers()?.filter(filter)),
            None => Ok(Some(filter)),
        }
    }
}
