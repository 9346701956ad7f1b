//! Commands: what a caller asks of a task, and the events that record them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::action::Action;
use crate::actor::{Actor, Owner};
use crate::argument::{ArgumentValue, Arguments};
use crate::failure::{Failure, FollowUp, Warning};
use crate::id::TaskId;
use crate::lease::LeaseToken;
use crate::status::Status;
use crate::subtask::{NewSubtask, Percent, SubtaskChange, SubtaskId};

/// What a task acts on: a domain, a zone, a host. A typed reference that
/// the host fills: `kind` says what sort of thing `id` names.
///
/// ```
/// use taskstate::ResourceRef;
///
/// let domain = ResourceRef::new("domain", "example.fr");
/// assert_eq!(domain.to_string(), "domain:example.fr");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRef {
    /// What sort of resource (`domain`, `zone`, `host`, `install`).
    pub kind: String,
    /// Its identifier within that sort (a domain name, a UUID).
    pub id: String,
}

impl ResourceRef {
    /// A reference to the resource `id` of sort `kind`.
    ///
    /// ```
    /// use taskstate::ResourceRef;
    ///
    /// let zone = ResourceRef::new("zone", String::from("example.com"));
    /// assert_eq!((zone.kind.as_str(), zone.id.as_str()), ("zone", "example.com"));
    /// assert_ne!(zone, ResourceRef::new("domain", "example.com"));
    /// ```
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        ResourceRef {
            kind: kind.into(),
            id: id.into(),
        }
    }
}

impl std::fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

/// What a finished task produced: a link to its result (Cloudflare's
/// `install_id`, the created domain) and a closing message.
///
/// ```
/// use taskstate::{Outcome, ResourceRef, Warning};
///
/// let outcome = Outcome::new()
///     .produced(ResourceRef::new("install", "7f2c"))
///     .message("app installed")
///     .warning(Warning::new("DNS_PENDING", "the DNS record is not visible yet"));
/// assert_eq!(outcome.warnings.len(), 1);
/// let json = serde_json::to_string(&outcome)?;
/// assert_eq!(serde_json::from_str::<Outcome>(&json)?, outcome);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// What the task produced, if it produced something addressable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produced: Option<ResourceRef>,
    /// A closing message; it becomes the task's `comment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Informational warnings about the outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

impl Outcome {
    /// An outcome with nothing to report.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Outcome, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.complete(&mut task, Outcome::new(), now)?;
    /// assert_eq!(task.outcome(), Some(&Outcome::default()));
    /// assert_eq!(task.comment(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        Outcome::default()
    }

    /// This outcome, linking to what the task produced.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Outcome, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let domain = ResourceRef::new("domain", "example.fr");
    /// run.complete(&mut task, Outcome::new().produced(domain.clone()), now)?;
    /// assert_eq!(task.outcome().and_then(|o| o.produced.as_ref()), Some(&domain));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn produced(mut self, resource: ResourceRef) -> Self {
        self.produced = Some(resource);
        self
    }

    /// This outcome, with a closing message: it becomes the task's
    /// comment.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Outcome, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.complete(&mut task, Outcome::new().message("example.fr registered"), now)?;
    /// assert_eq!(task.comment(), Some("example.fr registered"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// This outcome, with one more warning: the task completes with
    /// warnings.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Outcome, Warning, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let late = Warning::new("DNSSEC_LATE", "DNSSEC keys publish within the hour");
    /// run.complete(&mut task, Outcome::new().warning(late), now)?;
    /// assert!(task.completed_with_warnings());
    /// assert_eq!(task.warnings()[0].code, "DNSSEC_LATE");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warning(mut self, warning: Warning) -> Self {
        self.warnings.push(warning);
        self
    }
}

/// Everything a new task starts from: the payload of the `create` command.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::{IdGenerator, NamedKind, NewTask, Owner, ResourceRef};
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let new = NewTask::new(
///     IdGenerator::seeded(1).next_id(now),
///     NamedKind::new("DomainCreate"),
///     Owner::new("alice"),
///     ResourceRef::new("domain", "example.fr"),
/// )
/// .todo_at(now + chrono::Duration::minutes(1))
/// .comment("waiting for the registry");
/// assert_eq!(new.comment.as_deref(), Some("waiting for the registry"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask<K> {
    /// The task's id (see [`TaskId`] for how to make one).
    pub id: TaskId,
    /// The host's kind.
    pub kind: K,
    /// The customer account that owns it.
    pub owner: Owner,
    /// What it acts on.
    pub resource: ResourceRef,
    /// Not to run before this time; `None` runs as soon as possible.
    #[serde(
        with = "crate::stamp::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub todo_at: Option<DateTime<Utc>>,
    /// The first status message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A human-readable name for this task, which stays as the comment
    /// changes (VMware's and Dyn's `name`): "Commissioning host(s) … to
    /// VMware Cloud Foundation".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The arguments' first values, checked against the kind's specs.
    #[serde(default, skip_serializing_if = "Arguments::is_empty")]
    pub arguments: Arguments,
    /// The subtasks it starts with, in order (their ids are their
    /// positions; a nested one names an earlier one as its parent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtasks: Vec<NewSubtask>,
    /// Other resources it acts on besides `resource` (VMware's
    /// `resources`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceRef>,
    /// The task this one is a child of, for hosts that store children as
    /// separate tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<TaskId>,
    /// Whether this task blocks other changes on its resource while in
    /// progress; `None` follows the kind's [`Rules::blocking`](crate::Rules::blocking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocking: Option<bool>,
    /// Claimed before due tasks of a lower priority (0 by default;
    /// negative for background work).
    #[serde(default, skip_serializing_if = "is_zero_priority")]
    pub priority: i32,
    /// A key no other live task (not done, not cancelled) may hold: a
    /// store refuses a second insert with [`StoreError::KeyTaken`]
    /// naming the holder (OVHcloud customers who order the same domain
    /// twice get the first order back).
    ///
    /// [`StoreError::KeyTaken`]: crate::store::StoreError::KeyTaken
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_key: Option<String>,
}

/// Whether a priority is the default, which is not written.
pub(crate) fn is_zero_priority(priority: &i32) -> bool {
    *priority == 0
}

impl<K> NewTask<K> {
    /// A task to run as soon as possible, with no comment.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Status, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(
    ///     IdGenerator::seeded(1).next_id(now),
    ///     NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"),
    ///     ResourceRef::new("domain", "example.fr"),
    /// );
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!((task.status(), task.todo_at(), task.comment()), (Status::Pending, None, None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(id: TaskId, kind: K, owner: Owner, resource: ResourceRef) -> Self {
        NewTask {
            id,
            kind,
            owner,
            resource,
            todo_at: None,
            comment: None,
            title: None,
            arguments: Arguments::new(),
            subtasks: Vec::new(),
            resources: Vec::new(),
            parent: None,
            blocking: None,
            priority: 0,
            unique_key: None,
        }
    }

    /// This task, not to run before `at`.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Rejection, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let id = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(id, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let later = now + Duration::hours(2);
    /// let (mut task, _) = Task::create(new.todo_at(later), Actor::customer("alice"), now)?;
    /// assert_eq!(task.todo_at(), Some(later));
    /// let early = task.start(now + Duration::minutes(5), None, now);
    /// assert!(matches!(early, Err(Rejection::NotDue { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn todo_at(mut self, at: DateTime<Utc>) -> Self {
        self.todo_at = Some(at);
        self
    }

    /// This task, with a first status message.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let id = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(id, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let new = new.comment("queued behind the registry's maintenance");
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.comment(), Some("queued behind the registry's maintenance"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// This task, with a human-readable name, which stays as the comment
    /// changes.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let id = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(id, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let new = new.title("Register example.fr").comment("waiting");
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.title(), Some("Register example.fr"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// This task, with one more subtask; subtasks take ids in the order
    /// they are added.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, NewSubtask, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let id = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(id, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let new = new
    ///     .subtask(NewSubtask::new("CheckAvailability", "Ask the registry"))
    ///     .subtask(NewSubtask::new("Register", "Create the domain"));
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.subtasks().len(), 2);
    /// assert_eq!(task.subtasks().get(1).map(|s| s.name.as_str()), Some("Register"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subtask(mut self, subtask: NewSubtask) -> Self {
        self.subtasks.push(subtask);
        self
    }

    /// This task, acting on one more resource.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let id = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(id, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let new = new.also_on(ResourceRef::new("zone", "example.fr"));
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let ids: Vec<_> = task.resources().map(ToString::to_string).collect();
    /// assert_eq!(ids, ["domain:example.fr", "zone:example.fr"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn also_on(mut self, resource: ResourceRef) -> Self {
        self.resources.push(resource);
        self
    }

    /// This task, blocking (or not) other changes on its resource while in
    /// progress, whatever its kind's rule.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Rules, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let id = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(id, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// assert!(!Rules::STANDARD.blocking);
    /// let (task, _) = Task::create(new.blocking(true), Actor::customer("alice"), now)?;
    /// assert!(task.is_blocking());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn blocking(mut self, blocking: bool) -> Self {
        self.blocking = Some(blocking);
        self
    }

    /// This task, claimed before due tasks of a lower priority (0 by
    /// default; negative for background work).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let id = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(id, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let (task, _) = Task::create(new.priority(10), Actor::customer("alice"), now)?;
    /// assert_eq!(task.priority(), 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// This task, refused by a store while another live task holds `key`.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let id = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(id, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let new = new.unique_key("order:example.fr");
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.unique_key(), Some("order:example.fr"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// This task, as a child of `parent`, for hosts that store children as
    /// separate tasks.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let id = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(id, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// let parent = IdGenerator::seeded(2).next_id(now);
    /// let (task, _) = Task::create(new.child_of(parent), Actor::customer("alice"), now)?;
    /// assert_eq!(task.parent(), Some(parent));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn child_of(mut self, parent: TaskId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// This task, with a first value for the argument `key`, which the
    /// kind must declare.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{ArgumentSpec, ArgumentValue};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::new("DomainTransfer").argument(ArgumentSpec::text("authCode", 6, 32));
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind, Owner::new("alice"),
    ///     ResourceRef::new("domain", "example.fr"))
    ///     .argument("authCode", "X7#kd82!");
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert_eq!(task.arguments().get("authCode"), Some(&ArgumentValue::from("X7#kd82!")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn argument(mut self, key: impl Into<String>, value: impl Into<ArgumentValue>) -> Self {
        self.arguments.insert(key.into(), value.into());
        self
    }
}

/// A command: an [`Action`] and its data.
///
/// Executor commands carry the [`LeaseToken`] of their run. The typed run
/// handle ([`Run`](crate::Run)) builds
/// them for you.
///
/// # Commands and events
///
/// Commands: what a caller asks of a task, and the events that record them.
///
/// A caller never sets a field of a [`Task`](crate::Task). It applies a
/// [`Command`] on behalf of an [`Actor`] at a time `now`; the task either
/// refuses it with a [`Rejection`](crate::Rejection) and stays exactly as
/// it was, or accepts it, bumps its version by one and appends one
/// [`Event`]: the accepted command with who, when, from-status and
/// to-status. The history of events rebuilds the task
/// ([`Task::replay`](crate::Task::replay)) and is the audit log.
///
/// Commands serialize with an `action` tag:
/// `{"action":"heartbeat","token":9782272,"lease_until":"…"}`.
///
/// ## Example
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{Command, NamedKind, Status};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// let cancel: Command<NamedKind> = serde_json::from_str(r#"{"action":"cancel","reason":"ordered twice"}"#)?;
/// let event = task.apply(cancel, Actor::customer("alice"), now)?.ok_or("not logged")?;
/// assert_eq!((event.from, event.to), (Some(Status::Pending), Status::Cancelled));
/// assert_eq!(task.comment(), Some("ordered twice"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command<K> {
    /// Create the task. Use [`Task::create`](crate::Task::create); applied
    /// to an existing task it is refused as an illegal move. Shared
    /// (`Arc`): every copy of a task shares its creation payload.
    Create(Arc<NewTask<K>>),
    /// Take a due task under a lease until `lease_until`.
    Start {
        /// The lease's deadline; must be after `now`.
        #[serde(with = "crate::stamp")]
        lease_until: DateTime<Utc>,
        /// Which worker takes it, for the audit log.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker: Option<String>,
    },
    /// Extend the lease, optionally with a progress message. Lease
    /// state, not history: accepted, it bumps the version but adds no
    /// event to the log.
    Heartbeat {
        /// The run's token.
        token: LeaseToken,
        /// The new deadline; must be after `now` and not before the
        /// current one (a heartbeat only extends).
        #[serde(with = "crate::stamp")]
        lease_until: DateTime<Utc>,
        /// A progress message; the task's `comment` shows it until the
        /// next logged event that sets one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        progress: Option<String>,
        /// On a waiting task: when to look again (a poll found nothing
        /// yet); after `now`, not after `lease_until`.
        #[serde(
            with = "crate::stamp::option",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        check_at: Option<DateTime<Utc>>,
    },
    /// Pause on an outside party until `until`.
    Wait {
        /// The run's token.
        token: LeaseToken,
        /// When the wait gives up: the lease runs out then, and the task
        /// can be marked stalled.
        #[serde(with = "crate::stamp")]
        until: DateTime<Utc>,
        /// When to look again (a poll's next time, a `Retry-After`): after
        /// `now`, not after `until`. A store offers the task to a poller
        /// then; the stall sweep looks only at `until`.
        #[serde(
            with = "crate::stamp::option",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        check_at: Option<DateTime<Utc>>,
        /// What the task waits for; it becomes the task's `comment`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Take a waiting task back into running.
    Resume {
        /// The run's token.
        token: LeaseToken,
        /// The lease's new deadline; must be after `now`.
        #[serde(with = "crate::stamp")]
        lease_until: DateTime<Utc>,
    },
    /// Finish successfully.
    Complete {
        /// The run's token.
        token: LeaseToken,
        /// What the task produced (boxed to keep commands and events
        /// small).
        outcome: Box<Outcome>,
    },
    /// Finish with a failure.
    ///
    /// The failure may flag (`fields`) only arguments a customer can
    /// correct: declared by the kind and not read-only; flagging another
    /// is refused as invalid input. A failure while a cancel is requested
    /// is final: nothing retries or relaunches a task its owner asked to
    /// stop.
    Fail {
        /// The run's token; `None` only when staff fails a stalled task,
        /// which no run holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<LeaseToken>,
        /// What went wrong.
        failure: Box<Failure>,
    },
    /// Cancel the task, or, when it is running or waiting, ask its
    /// executor to stop.
    Cancel {
        /// Why; it becomes the task's `comment`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The executor confirms it stopped after a cancel request.
    AcknowledgeCancel {
        /// The run's token.
        token: LeaseToken,
    },
    /// Record that the lease ran out.
    MarkStalled,
    /// Put a stalled task back in the queue.
    Requeue {
        /// Not to run again before this time; `None` for as soon as
        /// possible.
        #[serde(
            with = "crate::stamp::option",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        todo_at: Option<DateTime<Utc>>,
    },
    /// Bring a pending task's `todo_at` forward to now.
    Accelerate,
    /// Set one argument to a new value, or clear it (`None`): a
    /// correction, recorded with the old value.
    SetArgument {
        /// The argument's key.
        key: String,
        /// The new value; `None` clears it.
        value: Option<ArgumentValue>,
    },
    /// Reopen a failed task, applying the corrected values it carries in
    /// the same step: all of them or, if one is refused, none. The task
    /// returns to `pending` with its comment, `todo_at` and counted
    /// attempts cleared, and the warnings of its last run dropped; a
    /// customer's relaunch uses one of the kind's relaunch budget.
    Relaunch {
        /// Corrected argument values, by key.
        #[serde(default, skip_serializing_if = "Arguments::is_empty")]
        arguments: Arguments,
    },
    /// Reopen a failed task on the retry schedule. The task returns to
    /// `pending` with its comment and `todo_at` cleared and the warnings
    /// of its last run dropped; its counted attempts stay.
    Retry,
    /// Move one subtask: start it, finish it, skip it, …
    Subtask {
        /// The run's token.
        token: LeaseToken,
        /// Which subtask.
        id: SubtaskId,
        /// What happens to it.
        change: SubtaskChange,
    },
    /// Declare one more subtask while running (its name must not be
    /// empty; a parent must be an earlier subtask).
    AddSubtask {
        /// The run's token.
        token: LeaseToken,
        /// The subtask.
        subtask: NewSubtask,
    },
    /// Report progress directly, for a task that has steps but no named
    /// subtasks (steps), or to give an expected finish time.
    ReportProgress {
        /// The run's token.
        token: LeaseToken,
        /// Steps done and steps in all; refused for a task with subtasks,
        /// whose steps are its subtasks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        steps: Option<(u32, u32)>,
        /// The share done, for work not counted in steps (a provider that
        /// reports only a percentage).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        percent: Option<Percent>,
        /// The step being worked on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current_step: Option<String>,
        /// When the task is expected to finish.
        #[serde(
            with = "crate::stamp::option",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        expected_done_at: Option<DateTime<Utc>>,
    },
    /// An operator marks a failed task's problem resolved.
    Resolve,
}

crate::strict::strict_tagged!(
    Command<K>,
    "action",
    ["mark_stalled", "accelerate", "retry", "resolve"]
);

impl<K> Command<K> {
    /// A relaunch with no corrections.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Command, Failure, Status};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::customer("PAYMENT_DECLINED", "the card was declined", now), now)?;
    /// // Alice updated her card elsewhere: nothing to correct on the task.
    /// task.apply(Command::relaunch(), Actor::customer("alice"), now + Duration::minutes(1))?;
    /// assert_eq!((task.status(), task.relaunches()), (Status::Pending, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn relaunch() -> Self {
        Command::Relaunch {
            arguments: Arguments::new(),
        }
    }

    /// Set the argument `key` to `value`.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{ArgumentSpec, ArgumentValue, Command, Decision, NamedKind, Rules, Status, StatusSet};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("DomainTransfer", Rules::new().edit(StatusSet::of(&[Status::Pending])))
    ///     .argument(ArgumentSpec::text("authCode", 6, 32));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let event = task.apply(Command::set_argument("authCode", "X7#kd82!"), Actor::customer("alice"), now)?;
    /// assert_eq!(task.arguments().get("authCode"), Some(&ArgumentValue::from("X7#kd82!")));
    /// // The event keeps the value it replaced (none here).
    /// let effect = event.and_then(|e| e.effect).ok_or("no effect")?;
    /// assert!(matches!(*effect, Decision::Replaced { ref previous } if previous["authCode"].is_none()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_argument(key: impl Into<String>, value: impl Into<ArgumentValue>) -> Self {
        Command::SetArgument {
            key: key.into(),
            value: Some(value.into()),
        }
    }

    /// The command's name, the key of its row in the table.
    ///
    /// ```
    /// use taskstate::{table, Action, Command, NamedKind, Status};
    ///
    /// let command: Command<NamedKind> = Command::Accelerate;
    /// assert_eq!(command.action(), Action::Accelerate);
    /// let row = table::find(Status::Pending, command.action()).ok_or("no row")?;
    /// assert!(row.is_self_move());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn action(&self) -> Action {
        match self {
            Command::Create(_) => Action::Create,
            Command::Start { .. } => Action::Start,
            Command::Heartbeat { .. } => Action::Heartbeat,
            Command::Wait { .. } => Action::Wait,
            Command::Resume { .. } => Action::Resume,
            Command::Complete { .. } => Action::Complete,
            Command::Fail { .. } => Action::Fail,
            Command::Cancel { .. } => Action::Cancel,
            Command::AcknowledgeCancel { .. } => Action::AcknowledgeCancel,
            Command::MarkStalled => Action::MarkStalled,
            Command::Requeue { .. } => Action::Requeue,
            Command::Accelerate => Action::Accelerate,
            Command::SetArgument { .. } => Action::SetArgument,
            Command::Relaunch { .. } => Action::Relaunch,
            Command::Retry => Action::Retry,
            Command::Subtask { .. } => Action::Subtask,
            Command::AddSubtask { .. } => Action::AddSubtask,
            Command::ReportProgress { .. } => Action::ReportProgress,
            Command::Resolve => Action::Resolve,
        }
    }

    /// The lease token the command presents, if it is an executor command
    /// (a staff `fail` of a stalled task presents none).
    ///
    /// ```
    /// use taskstate::{Command, LeaseToken, NamedKind};
    ///
    /// let ack: Command<NamedKind> = Command::AcknowledgeCancel { token: LeaseToken::new(4) };
    /// assert_eq!(ack.token(), Some(LeaseToken::new(4)));
    /// assert_eq!(Command::<NamedKind>::MarkStalled.token(), None);
    /// ```
    pub const fn token(&self) -> Option<LeaseToken> {
        match self {
            Command::Heartbeat { token, .. }
            | Command::Wait { token, .. }
            | Command::Resume { token, .. }
            | Command::Complete { token, .. }
            | Command::AcknowledgeCancel { token }
            | Command::Subtask { token, .. }
            | Command::AddSubtask { token, .. }
            | Command::ReportProgress { token, .. } => Some(*token),
            Command::Fail { token, .. } => *token,
            Command::Create(_)
            | Command::Start { .. }
            | Command::Cancel { .. }
            | Command::MarkStalled
            | Command::Requeue { .. }
            | Command::Accelerate
            | Command::SetArgument { .. }
            | Command::Relaunch { .. }
            | Command::Retry
            | Command::Resolve => None,
        }
    }
}

/// One accepted command, with who issued it, when, and the move it made.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{Event, Status};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// let (_run, started) = task.start(now + Duration::minutes(5), None, now)?;
/// assert_eq!((created.version, created.from, created.to), (1, None, Status::Pending));
/// assert_eq!((started.version, &started.actor), (2, &Actor::System));
/// // Stored as JSON, read back as it was.
/// let log = serde_json::to_string(&[created, started])?;
/// let read: Vec<Event<NamedKind>> = serde_json::from_str(&log)?;
/// assert_eq!(Task::replay(&read)?, task);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// An event in JSON:
///
/// ```json
/// {"version":4,"heartbeats":1,"at":"2026-11-23T09:00:30Z","actor":{"role":"system"},
///  "from":"running","to":"done",
///  "command":{"action":"complete","token":9782272,"outcome":{"message":"registered"}}}
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event<K> {
    /// The task's version once this event was applied: 1 for the
    /// creation, then one more per accepted command, heartbeats included.
    pub version: u64,
    /// How many heartbeats were accepted since the previous event: they
    /// bumped the version but are not in the log, so this event's version
    /// is the previous one's plus this count plus one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub heartbeats: u32,
    /// When it was applied (the `now` of the command).
    #[serde(with = "crate::stamp")]
    pub at: DateTime<Utc>,
    /// Who issued it.
    pub actor: Actor,
    /// The status before; `None` for the creation.
    pub from: Option<Status>,
    /// The status after.
    pub to: Status,
    /// The accepted command.
    pub command: Command<K>,
    /// What the crate decided in accepting it, when that is more than the
    /// command says: a failure's follow-up, or the values a correction
    /// replaced.
    /// Boxed: most events have none, and events stay small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Box<Decision>>,
}

/// What was decided in accepting a command, recorded with its event so
/// that replay never re-decides it under rules that may have changed.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{Decision, Failure, FollowUp};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// let failed = run.fail(&mut task, Failure::customer("CONTACT_INVALID", "bad address", now), now)?;
/// let effect = failed.effect.ok_or("no decision")?;
/// assert!(matches!(*effect, Decision::Failed { follow_up: FollowUp::AwaitCorrection, .. }));
/// assert!(effect.to_string().starts_with("follow-up await correction"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Decision {
    /// A `fail`: what follows, and whether the run counted as an attempt.
    Failed {
        /// What follows the failure.
        follow_up: FollowUp,
        /// Whether the run used up an attempt.
        counted: bool,
        /// The notice an escalated task's comment ends with, as the kind's
        /// rules said it then ([`Rules::escalation_notice`](crate::Rules::escalation_notice));
        /// `None` when the failure is not escalated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
    },
    /// A `set_argument` or a `relaunch` with corrections: the values the
    /// changed arguments had before (`None` where they had none).
    Replaced {
        /// The previous values, by key.
        previous: std::collections::BTreeMap<String, Option<ArgumentValue>>,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decision::Failed {
                follow_up, counted, ..
            } => {
                write!(f, "follow-up {follow_up}")?;
                f.write_str(if *counted {
                    ", counted"
                } else {
                    ", not counted"
                })
            }
            Decision::Replaced { previous } => {
                f.write_str("replaced ")?;
                for (position, (key, value)) in previous.iter().enumerate() {
                    if position > 0 {
                        f.write_str(", ")?;
                    }
                    match value {
                        Some(value) => write!(f, "{key} = {value}")?,
                        None => write!(f, "{key} (unset)")?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl<K> Event<K> {
    /// The command's name.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::Action;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (_run, started) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!([created.action(), started.action()], [Action::Create, Action::Start]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn action(&self) -> Action {
        self.command.action()
    }

    /// The token of the run this event started: `Some` for a start only.
    /// It is the token [`Task::start`](crate::Task::start) handed its
    /// run, computed from the event's version and time, so a log says
    /// which run held the task at each of its events.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, started) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!(started.lease_token(), Some(run.token()));
    /// assert_eq!(created.lease_token(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lease_token(&self) -> Option<LeaseToken> {
        matches!(self.command, Command::Start { .. })
            .then(|| LeaseToken::of_start(self.version, self.at))
    }
}

impl<K> Command<K> {
    /// A one-line summary of the command's data, for timelines and logs:
    /// `lease #2:154400 until 2026-11-23 09:05:00 UTC`, `provider failure
    /// REGISTRY_DOWN: the registry is down`.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// use taskstate::{Command, Failure, NamedKind};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    ///
    /// let fail: Command<NamedKind> = Command::Fail {
    ///     token: None,
    ///     failure: Box::new(Failure::provider("REGISTRY_DOWN", "the registry is down", now)),
    /// };
    /// assert_eq!(fail.summary(), "provider failure REGISTRY_DOWN: the registry is down");
    /// assert_eq!(Command::<NamedKind>::set_argument("years", 2_i64).summary(), "years = 2");
    /// assert_eq!(Command::<NamedKind>::Retry.summary(), "");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn summary(&self) -> String {
        match self {
            Command::Create(new) => {
                let mut out = format!("for {} on {}", new.owner, new.resource);
                if let Some(todo_at) = new.todo_at {
                    out.push_str(&format!(", todo at {todo_at}"));
                }
                out
            }
            Command::Start {
                lease_until,
                worker,
            } => match worker {
                Some(worker) => format!("{worker} holds the lease until {lease_until}"),
                None => format!("lease until {lease_until}"),
            },
            Command::Heartbeat {
                token,
                lease_until,
                progress,
                check_at,
            } => {
                let mut out = format!("lease {token} until {lease_until}");
                if let Some(check_at) = check_at {
                    out.push_str(&format!(", check at {check_at}"));
                }
                with_message(out, progress)
            }
            Command::Wait {
                token,
                until,
                check_at,
                reason,
            } => {
                let mut out = format!("lease {token} waits until {until}");
                if let Some(check_at) = check_at {
                    out.push_str(&format!(", check at {check_at}"));
                }
                with_message(out, reason)
            }
            Command::Resume { token, lease_until } => {
                format!("lease {token} until {lease_until}")
            }
            Command::Complete { outcome, .. } => {
                let mut out = match &outcome.produced {
                    Some(produced) => format!("produced {produced}"),
                    None => String::new(),
                };
                if let Some(message) = &outcome.message {
                    if !out.is_empty() {
                        out.push_str(": ");
                    }
                    out.push_str(message);
                }
                if !outcome.warnings.is_empty() {
                    out.push_str(&format!(" ({} warnings)", outcome.warnings.len()));
                }
                out
            }
            Command::Fail { failure, .. } => format!(
                "{} failure {}: {}",
                failure.origin, failure.code, failure.message
            ),
            Command::Cancel { reason } => with_message(String::new(), reason),
            Command::AcknowledgeCancel { token } => format!("lease {token} stopped"),
            Command::MarkStalled | Command::Accelerate | Command::Retry | Command::Resolve => {
                String::new()
            }
            Command::Subtask { id, change, .. } => format!("subtask {id}: {}", change.action()),
            Command::AddSubtask { subtask, .. } => format!("new subtask {}", subtask.name),
            Command::ReportProgress {
                steps,
                current_step,
                ..
            } => {
                let steps = steps.map(|(done, total)| format!("{done}/{total}"));
                [steps, current_step.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            Command::SetArgument { key, value } => match value {
                Some(value) => format!("{key} = {value}"),
                None => format!("{key} cleared"),
            },
            Command::Relaunch { arguments } => arguments
                .iter()
                .map(|(key, value)| format!("{key} = {value}"))
                .collect::<Vec<_>>()
                .join(", "),
            Command::Requeue { todo_at } => match todo_at {
                Some(todo_at) => format!("todo at {todo_at}"),
                None => String::new(),
            },
        }
    }
}

/// A timeline's details, with the heartbeats that came before the event
/// (they are not in the log, and explain the gap in versions).
fn with_heartbeats(mut details: String, heartbeats: u32) -> String {
    if heartbeats > 0 {
        if !details.is_empty() {
            details.push(' ');
        }
        let plural = if heartbeats == 1 { "" } else { "s" };
        details.push_str(&format!("(after {heartbeats} heartbeat{plural})"));
    }
    details
}

fn with_message(mut out: String, message: &Option<String>) -> String {
    if let Some(message) = message {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(message);
    }
    out
}

/// A task's log as a readable table, one line per event: version, time,
/// actor, action, move and summary: what a support team reads.
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task, Timeline};
/// # let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(t0), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// let (_task, created) = Task::create(new, Actor::customer("alice"), t0)?;
/// let log = vec![created];
/// let text = Timeline::new(&log).to_string();
/// assert!(text.contains("customer alice  create"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Timeline<'a, K> {
    events: &'a [Event<K>],
}

impl<'a, K> Timeline<'a, K> {
    /// The timeline of a task's log (or of any page of it): a header line,
    /// then one line per event.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::Timeline;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (_run, started) = task.start(now + Duration::minutes(5), Some("worker-1".into()), now)?;
    /// let log = [created, started];
    /// let page = Timeline::new(&log[1..]).to_string();
    /// assert_eq!(page.lines().count(), 2);
    /// assert!(page.contains("worker-1 holds the lease until"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(events: &'a [Event<K>]) -> Self {
        Timeline { events }
    }
}

impl<K> std::fmt::Display for Timeline<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<[String; 6]> = self
            .events
            .iter()
            .map(|event| {
                let from = event.from.map_or("", Status::as_str);
                [
                    event.version.to_string(),
                    event.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    event.actor.to_string(),
                    event.action().to_string(),
                    format!("{from:>9} -> {}", event.to),
                    with_heartbeats(event.command.summary(), event.heartbeats),
                ]
            })
            .collect();
        let header = ["v", "at (UTC)", "actor", "action", "move", "details"];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                // A width is at most `u16::MAX` for `format!`, which panics
                // beyond it; a longer cell (an actor's name is anyone's
                // text) is written whole, out of line.
                *width = (*width)
                    .max(cell.chars().count())
                    .min(usize::from(u16::MAX));
            }
        }
        let line = |f: &mut std::fmt::Formatter<'_>, cells: [&str; 6]| {
            let [v, at, actor, action, moved, details] = cells;
            let text = format!(
                "{v:>w0$}  {at:<w1$}  {actor:<w2$}  {action:<w3$}  {moved:<w4$}  {details}",
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4],
            );
            writeln!(f, "{}", text.trim_end())
        };
        line(f, header)?;
        for row in &rows {
            line(f, row.each_ref().map(String::as_str))?;
        }
        Ok(())
    }
}
