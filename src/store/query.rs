//! What a caller asks a store for, and what it answers: scopes, filters
//! and pages of listings, claim requests and their claims, sweeps.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::StoreError;
use crate::actor::Owner;
use crate::command::ResourceRef;
use crate::failure::Origin;
use crate::id::TaskId;
use crate::status::{Status, StatusSet};
use crate::task::Task;
use crate::task::run::Run;

/// Who is looking: the staff (every task) or one customer (its tasks
/// only). Every lookup and listing goes through a scope, so a customer's
/// request cannot reach another owner's task.
///
/// ```
/// use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// let store = MemoryStore::new();
/// let id = task.id();
/// store.insert(task, created)?;
/// // A customer's request is scoped to its account, whatever it asks for.
/// let mallory = Scope::Owner(Owner::new("mallory"));
/// assert!(store.get(&mallory, id)?.is_none());
/// let everything = Filter::new().owner(Owner::new("alice"));
/// assert!(store.list(&mallory, &everything, PageRequest::first(10))?.tasks.is_empty());
/// assert!(store.get(&Scope::Staff, id)?.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Operators and the system: every task.
    Staff,
    /// A customer: only the tasks of this owner.
    Owner(Owner),
}

impl Scope {
    /// Whether a task of `owner` is visible in this scope.
    ///
    /// ```
    /// use taskstate::Owner;
    /// use taskstate::store::Scope;
    ///
    /// let alice = Scope::Owner(Owner::new("alice"));
    /// assert!(alice.sees(&Owner::new("alice")));
    /// assert!(!alice.sees(&Owner::new("mallory")));
    /// assert!(Scope::Staff.sees(&Owner::new("mallory")));
    /// ```
    pub fn sees(&self, owner: &Owner) -> bool {
        match self {
            Scope::Staff => true,
            Scope::Owner(scope) => scope == owner,
        }
    }
}

/// Which tasks a listing returns. Every field is optional; set ones must
/// all match.
///
/// ```
/// use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
/// use taskstate::{ResourceRef, Status, StatusSet};
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let mut ids = IdGenerator::seeded(1);
/// let store = MemoryStore::new();
/// for (kind, domain) in [("DomainCreate", "example.fr"), ("DomainCreate", "example.com"),
///     ("DnsZoneUpdate", "example.fr")] {
///     let new = NewTask::new(ids.next_id(now), NamedKind::new(kind), Owner::new("alice"),
///         ResourceRef::new("domain", domain));
///     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
///     store.insert(task, created)?;
/// }
/// // OVHcloud's `GET /me/task/domain?domain=example.fr&status=todo`.
/// let filter = Filter::new()
///     .resource(ResourceRef::new("domain", "example.fr"))
///     .statuses(StatusSet::of(&[Status::Pending]));
/// let page = store.list(&Scope::Owner(Owner::new("alice")), &filter, PageRequest::first(10))?;
/// assert_eq!(page.tasks.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Tasks acting on this resource (OVHcloud's `domain`).
    pub resource: Option<ResourceRef>,
    /// Tasks of the kind with this name (OVHcloud's `function`).
    pub kind: Option<String>,
    /// Tasks in one of these statuses (OVHcloud's `status`); empty means
    /// any.
    pub statuses: StatusSet,
    /// Tasks of this owner (within the scope).
    pub owner: Option<Owner>,
    /// Children of this task.
    pub parent: Option<TaskId>,
    /// Tasks created at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Tasks created before this time.
    pub created_until: Option<DateTime<Utc>>,
    /// Failed tasks only where this party must act (OVHcloud's `error`
    /// is the customer's, `problem` the provider's); tasks of other
    /// statuses are not concerned. A failed task with no failure recorded
    /// counts as the customer's.
    pub failure_origin: Option<Origin>,
    /// Done tasks only with (`true`) or without (`false`) warnings
    /// (VMware's `COMPLETED_WITH_WARNING` and `SUCCESSFUL`); tasks of
    /// other statuses are not concerned.
    pub warnings: Option<bool>,
}

impl Filter {
    /// Every task (that the scope sees).
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert!(Filter::new().matches(&Scope::Staff, &task));
    /// assert!(!Filter::new().matches(&Scope::Owner(Owner::new("mallory")), &task));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        Filter::default()
    }

    /// Only tasks on `resource`.
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let on = |domain| Filter::new().resource(ResourceRef::new("domain", domain));
    /// assert!(on("example.fr").matches(&Scope::Staff, &task));
    /// assert!(!on("example.com").matches(&Scope::Staff, &task));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resource(mut self, resource: ResourceRef) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Only tasks of the kind named `kind`.
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert!(Filter::new().kind("DomainCreate").matches(&Scope::Staff, &task));
    /// assert!(!Filter::new().kind("DomainTransfer").matches(&Scope::Staff, &task));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only tasks in one of `statuses` (an empty set: any status).
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// use taskstate::{Status, StatusSet};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let open = StatusSet::of(&[Status::Pending, Status::Running, Status::Waiting]);
    /// assert!(Filter::new().statuses(open).matches(&Scope::Staff, &task));
    /// let settled = StatusSet::of(&[Status::Done, Status::Failed]);
    /// assert!(!Filter::new().statuses(settled).matches(&Scope::Staff, &task));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn statuses(mut self, statuses: StatusSet) -> Self {
        self.statuses = statuses;
        self
    }

    /// Only tasks of `owner`: the staff's way to look at one account (a
    /// customer's scope narrows to its own tasks already).
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert!(Filter::new().owner(Owner::new("alice")).matches(&Scope::Staff, &task));
    /// assert!(!Filter::new().owner(Owner::new("bob")).matches(&Scope::Staff, &task));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn owner(mut self, owner: Owner) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Only children of `parent`.
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let zone = ResourceRef::new("zone", "example.fr");
    /// let child = NewTask::new(IdGenerator::seeded(2).next_id(now),
    ///     NamedKind::new("DnsZoneCreate"), Owner::new("alice"), zone).child_of(task.id());
    /// let (child, _) = Task::create(child, Actor::System, now)?;
    /// let children = Filter::new().parent(task.id());
    /// assert!(children.matches(&Scope::Staff, &child));
    /// assert!(!children.matches(&Scope::Staff, &task));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parent(mut self, parent: TaskId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Only tasks created in `[from, until)`: `from` included, `until`
    /// not.
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let hour = Duration::hours(1);
    /// assert!(Filter::new().created(now, now + hour).matches(&Scope::Staff, &task));
    /// assert!(!Filter::new().created(now - hour, now).matches(&Scope::Staff, &task));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn created(mut self, from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        self.created_from = Some(from);
        self.created_until = Some(until);
        self
    }

    /// Only failed tasks where `origin` must act, among the failed ones
    /// (see [`failure_origin`](Filter::failure_origin)).
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// use taskstate::{Failure, Origin};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (pending, mut failed) = (task.clone(), task);
    /// let (run, _) = failed.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut failed, Failure::customer("MISSING_DOCUMENT", "an ID card", now), now)?;
    /// let customers = Filter::new().failure_origin(Origin::Customer);
    /// assert!(customers.matches(&Scope::Staff, &failed));
    /// assert!(!Filter::new().failure_origin(Origin::Provider).matches(&Scope::Staff, &failed));
    /// // A task that has not failed is not concerned.
    /// assert!(Filter::new().failure_origin(Origin::Provider).matches(&Scope::Staff, &pending));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn failure_origin(mut self, origin: Origin) -> Self {
        self.failure_origin = Some(origin);
        self
    }

    /// Only done tasks with (`true`) or without (`false`) warnings, among
    /// the done ones (see [`warnings`](Filter::warnings)).
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// use taskstate::{Outcome, Warning};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let mut done = task;
    /// let (run, _) = done.start(now + Duration::minutes(5), None, now)?;
    /// let outcome = Outcome::new().warning(Warning::new("DNSSEC_SKIPPED", "no DS record sent"));
    /// run.complete(&mut done, outcome, now)?;
    /// assert!(Filter::new().warnings(true).matches(&Scope::Staff, &done));
    /// assert!(!Filter::new().warnings(false).matches(&Scope::Staff, &done));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warnings(mut self, with_warnings: bool) -> Self {
        self.warnings = Some(with_warnings);
        self
    }

    /// Whether `task` matches, in `scope`: `scope` sees its owner and
    /// every field set matches. What a store's listing keeps.
    ///
    /// ```
    /// use taskstate::store::{Filter, Scope};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let first = IdGenerator::seeded(1).next_id(now);
    /// # let new = NewTask::new(first, NamedKind::new("DomainCreate"), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let filter = Filter::new().kind("DomainCreate");
    /// assert!(filter.matches(&Scope::Owner(Owner::new("alice")), &task));
    /// // The scope holds whatever the filter asks for.
    /// let mallory = Scope::Owner(Owner::new("mallory"));
    /// assert!(!filter.owner(Owner::new("alice")).matches(&mallory, &task));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches<K: crate::rules::TaskKind>(&self, scope: &Scope, task: &Task<K>) -> bool {
        scope.sees(task.owner())
            && self.resource.as_ref().is_none_or(|r| r == task.resource())
            && self.kind.as_deref().is_none_or(|k| k == task.kind().name())
            && (self.statuses.is_empty() || self.statuses.contains(task.status()))
            && self.owner.as_ref().is_none_or(|o| o == task.owner())
            && self.parent.is_none_or(|p| task.parent() == Some(p))
            && self
                .created_from
                .is_none_or(|from| task.created_at() >= from)
            && self
                .created_until
                .is_none_or(|until| task.created_at() < until)
            && self.failure_origin.is_none_or(|origin| {
                task.status() != Status::Failed
                    || task.failure().map_or(Origin::Customer, |f| f.origin) == origin
            })
            && self.warnings.is_none_or(|with| {
                task.status() != Status::Done || task.completed_with_warnings() == with
            })
    }
}

/// Where a page starts and how long it is.
///
/// Every page of a listing, one request after the other:
///
/// ```
/// use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let mut ids = IdGenerator::seeded(1);
/// # let store = MemoryStore::new();
/// # for _ in 0..5 {
/// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
/// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// #     store.insert(task, created)?;
/// # }
/// let mut request = PageRequest::first(2);
/// let mut seen = Vec::new();
/// loop {
///     let page = store.list(&Scope::Staff, &Filter::new(), request)?;
///     seen.extend(page.tasks.iter().map(Task::id));
///     match page.next {
///         Some(cursor) => request = PageRequest::after(cursor, 2),
///         None => break,
///     }
/// }
/// assert_eq!(seen.len(), 5);
/// assert!(seen.windows(2).all(|pair| pair[0] < pair[1])); // id order, no repeats
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this task id (a previous page's `next`); `None` for the
    /// first page.
    pub after: Option<TaskId>,
    /// At most this many tasks.
    pub limit: usize,
}

impl PageRequest {
    /// The first page of `limit` tasks.
    ///
    /// ```
    /// use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let mut ids = IdGenerator::seeded(1);
    /// # let store = MemoryStore::new();
    /// # for _ in 0..3 {
    /// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
    /// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// #     store.insert(task, created)?;
    /// # }
    /// let page = store.list(&Scope::Staff, &Filter::new(), PageRequest::first(2))?;
    /// assert_eq!(page.tasks.len(), 2);
    /// assert_eq!(page.next, Some(page.tasks[1].id())); // there may be more
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn first(limit: usize) -> Self {
        PageRequest { after: None, limit }
    }

    /// The page after `cursor` (a previous page's
    /// [`next`](Page::next)): the tasks whose id is greater, the cursor's
    /// own task left out.
    ///
    /// ```
    /// use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let mut ids = IdGenerator::seeded(1);
    /// # let store = MemoryStore::new();
    /// # for _ in 0..3 {
    /// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
    /// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// #     store.insert(task, created)?;
    /// # }
    /// let all = store.list(&Scope::Staff, &Filter::new(), PageRequest::first(10))?;
    /// let after_first = PageRequest::after(all.tasks[0].id(), 10);
    /// let rest = store.list(&Scope::Staff, &Filter::new(), after_first)?;
    /// assert_eq!(rest.tasks, all.tasks[1..]);
    /// assert_eq!(rest.next, None); // shorter than its limit: the last page
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn after(cursor: TaskId, limit: usize) -> Self {
        PageRequest {
            after: Some(cursor),
            limit,
        }
    }
}

/// A page of tasks, in id order (creation order for v7 ids).
///
/// ```
/// use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let mut ids = IdGenerator::seeded(1);
/// # let store = MemoryStore::new();
/// # for _ in 0..2 {
/// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
/// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// #     store.insert(task, created)?;
/// # }
/// let page = store.list(&Scope::Staff, &Filter::new(), PageRequest::first(2))?;
/// assert!(page.tasks[0].id() < page.tasks[1].id());
/// // A full page names its last task as the cursor of the next one.
/// assert_eq!(page.next, page.tasks.last().map(Task::id));
/// assert!(page.unreadable.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Page<K> {
    /// The tasks.
    pub tasks: Vec<Task<K>>,
    /// The cursor of the next page, if there may be one.
    pub next: Option<TaskId>,
    /// Records skipped because they cannot be read.
    pub unreadable: Vec<Unreadable>,
}

/// A record a store could not read, skipped by a claim, a sweep or a
/// listing so that the others are still served. [`get`](super::TaskStore::get)
/// of its id fails with [`StoreError::Unreadable`].
///
/// A host's store that cannot decode a row reports it both ways:
///
/// ```
/// use taskstate::store::{Page, StoreError, Unreadable};
/// use taskstate::{NamedKind, TaskId};
///
/// let id = TaskId::from(uuid::Uuid::nil());
/// let decoding = serde_json::from_str::<serde_json::Value>(r#"{"status":"#);
/// let error = decoding.err().ok_or("a truncated row")?;
/// let skipped = Unreadable { id, reason: error.to_string() };
/// let page = Page::<NamedKind> { tasks: Vec::new(), next: None, unreadable: vec![skipped] };
/// assert_eq!(page.unreadable[0].id, id);
/// // `get` of that id fails, with the decoder's error as its source.
/// let failed = StoreError::Unreadable { id, source: error.into() };
/// assert!(failed.to_string().starts_with(&format!("task {id} cannot be read")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// The task.
    pub id: TaskId,
    /// Why it cannot be read.
    pub reason: String,
}

/// A request to start due tasks under a lease: what a worker asks for.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use taskstate::store::ClaimRequest;
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let request = ClaimRequest::new(now, now + Duration::minutes(5))
///     .limit(16)
///     .worker("dns-1")
///     .kinds(["ZonePublish", "RecordUpdate"]);
/// assert!(request.check().is_ok());
/// // A lease that ends before it starts could start nothing.
/// assert!(ClaimRequest::new(now, now).check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimRequest {
    /// The time of the claim: tasks due at or before it may start.
    pub now: DateTime<Utc>,
    /// Each claimed task's lease runs until this time.
    pub lease_until: DateTime<Utc>,
    /// At most this many tasks (1 by default).
    pub limit: usize,
    /// The worker, recorded on each lease.
    pub worker: Option<String>,
    /// Only tasks of kinds with these names; `None` for every kind.
    pub kinds: Option<BTreeSet<String>>,
}

impl ClaimRequest {
    /// A claim of one task of any kind at `now`, leased until
    /// `lease_until`, by no worker in particular.
    ///
    /// ```
    /// use taskstate::store::ClaimRequest;
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let request = ClaimRequest::new(now, now + Duration::minutes(5));
    /// assert_eq!(request.limit, 1);
    /// assert_eq!(request.worker, None);
    /// assert!(request.wants("DomainCreate"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(now: DateTime<Utc>, lease_until: DateTime<Utc>) -> ClaimRequest {
        ClaimRequest {
            now,
            lease_until,
            limit: 1,
            worker: None,
            kinds: None,
        }
    }

    /// This claim, of up to `limit` tasks.
    ///
    /// ```
    /// use taskstate::store::{ClaimRequest, MemoryStore, TaskStore};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let mut ids = IdGenerator::seeded(1);
    /// # let store = MemoryStore::new();
    /// # for _ in 0..3 {
    /// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
    /// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// #     store.insert(task, created)?;
    /// # }
    /// let request = ClaimRequest::new(now, now + Duration::minutes(5)).limit(2);
    /// assert_eq!(store.claim(&request)?.claimed.len(), 2);
    /// assert_eq!(store.claim(&request)?.claimed.len(), 1); // the one left
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn limit(mut self, limit: usize) -> ClaimRequest {
        self.limit = limit;
        self
    }

    /// This claim, made by `worker`: the name each lease records.
    ///
    /// ```
    /// use taskstate::store::{ClaimRequest, MemoryStore, TaskStore};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let mut ids = IdGenerator::seeded(1);
    /// # let store = MemoryStore::new();
    /// # for _ in 0..1 {
    /// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
    /// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// #     store.insert(task, created)?;
    /// # }
    /// let request = ClaimRequest::new(now, now + Duration::minutes(5)).worker("dns-1");
    /// let claims = store.claim(&request)?;
    /// let lease = claims.claimed[0].task.lease().ok_or("a lease")?;
    /// assert_eq!(lease.worker(), Some("dns-1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn worker(mut self, worker: impl Into<String>) -> ClaimRequest {
        self.worker = Some(worker.into());
        self
    }

    /// This claim, of tasks of these kinds only (by
    /// [name](crate::TaskKind::name)).
    ///
    /// ```
    /// use taskstate::store::{ClaimRequest, MemoryStore, TaskStore};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let mut ids = IdGenerator::seeded(1);
    /// # let store = MemoryStore::new();
    /// # for _ in 0..1 {
    /// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
    /// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// #     store.insert(task, created)?;
    /// # }
    /// // The one task stored is a `DomainCreate`.
    /// let dns = ClaimRequest::new(now, now + Duration::minutes(5)).kinds(["ZonePublish"]);
    /// assert!(store.claim(&dns)?.claimed.is_empty());
    /// let domains = ClaimRequest::new(now, now + Duration::minutes(5)).kinds(["DomainCreate"]);
    /// assert_eq!(store.claim(&domains)?.claimed.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kinds<I, S>(mut self, kinds: I) -> ClaimRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kinds = Some(kinds.into_iter().map(Into::into).collect());
        self
    }

    /// Whether a task of the kind named `kind` may be claimed.
    ///
    /// ```
    /// use taskstate::store::ClaimRequest;
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let request = ClaimRequest::new(now, now + Duration::minutes(5));
    /// assert!(request.wants("DomainCreate")); // every kind
    /// let dns = request.kinds(["ZonePublish", "RecordUpdate"]);
    /// assert!(dns.wants("ZonePublish"));
    /// assert!(!dns.wants("DomainCreate"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wants(&self, kind: &str) -> bool {
        self.kinds.as_ref().is_none_or(|kinds| kinds.contains(kind))
    }

    /// Refuses a claim that could start nothing: a lease that ends at or
    /// before `now`, a limit of 0, an empty set of kinds. Every store
    /// calls it first.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidRequest`] saying which: `lease_until` at or
    /// before `now`, `limit` of 0, or `kinds` set and empty.
    ///
    /// ```
    /// use taskstate::store::{ClaimRequest, StoreError};
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let request = ClaimRequest::new(now, now + Duration::minutes(5));
    /// request.check()?;
    /// let invalid = |r: ClaimRequest| matches!(r.check(), Err(StoreError::InvalidRequest { .. }));
    /// assert!(invalid(ClaimRequest::new(now, now)));
    /// assert!(invalid(request.clone().limit(0)));
    /// assert!(invalid(request.kinds(Vec::<String>::new())));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self) -> Result<(), StoreError> {
        let invalid = |reason| Err(StoreError::InvalidRequest { reason });
        if self.lease_until <= self.now {
            return invalid("the lease ends at or before the claim");
        }
        if self.limit == 0 {
            return invalid("a claim of no task");
        }
        if self.kinds.as_ref().is_some_and(BTreeSet::is_empty) {
            return invalid("a claim of no kind");
        }
        Ok(())
    }
}

/// A task an executor claimed, with its run's handle. The store has
/// logged the start already.
///
/// ```
/// use taskstate::store::{Claimed, ClaimRequest, MemoryStore, Scope, TaskStore};
/// use taskstate::{Outcome, Status};
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let mut ids = IdGenerator::seeded(1);
/// # let store = MemoryStore::new();
/// # for _ in 0..1 {
/// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
/// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// #     store.insert(task, created)?;
/// # }
/// let mut claims = store.claim(&ClaimRequest::new(now, now + Duration::minutes(5)))?;
/// let Claimed { mut task, run } = claims.claimed.pop().ok_or("a claim")?;
/// // The executor does the work, then records it with the run's handle.
/// let expected = task.version();
/// let done = run.complete(&mut task, Outcome::new().message("example.fr created"), now)?;
/// store.save(&task, expected, &[done])?;
/// let stored = store.get(&Scope::Staff, task.id())?.ok_or("stored")?;
/// assert_eq!(stored.status(), Status::Done);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Claimed<K> {
    /// The task as stored once started.
    pub task: Task<K>,
    /// The run's handle.
    pub run: Run,
}

/// What a claim started: the due tasks, highest priority then earliest
/// due first, and the records it could not read on its way.
///
/// ```
/// use chrono::Duration;
/// use taskstate::store::{ClaimRequest, MemoryStore, TaskStore};
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let mut ids = IdGenerator::seeded(1);
/// let store = MemoryStore::new();
/// for priority in [0, 5, 1] {
///     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
///         Owner::new("alice"), ResourceRef::new("domain", "example.fr")).priority(priority);
///     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
///     store.insert(task, created)?;
/// }
/// let claims = store.claim(&ClaimRequest::new(now, now + Duration::minutes(5)).limit(10))?;
/// let order: Vec<i32> = claims.claimed.iter().map(|claimed| claimed.task.priority()).collect();
/// assert_eq!(order, [5, 1, 0]);
/// assert!(claims.unreadable.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Claims<K> {
    /// The tasks started, each under its lease.
    pub claimed: Vec<Claimed<K>>,
    /// Records skipped because they cannot be read.
    pub unreadable: Vec<Unreadable>,
}

impl<K> Default for Claims<K> {
    fn default() -> Self {
        Claims {
            claimed: Vec::new(),
            unreadable: Vec::new(),
        }
    }
}

/// Which tasks a sweep finds: the housekeeping queues a worker empties
/// ([`work_once`](super::work_once) empties all but
/// [`ChecksDue`](Sweep::ChecksDue), which is a poller's).
///
/// A provider fault schedules a retry, which the retry queue offers once
/// it is due:
///
/// ```
/// use taskstate::store::{ClaimRequest, MemoryStore, Sweep, TaskStore};
/// use taskstate::Failure;
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let mut ids = IdGenerator::seeded(1);
/// # let store = MemoryStore::new();
/// # for _ in 0..1 {
/// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
/// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// #     store.insert(task, created)?;
/// # }
/// let mut claims = store.claim(&ClaimRequest::new(now, now + Duration::minutes(5)))?;
/// let claimed = claims.claimed.pop().ok_or("a claim")?;
/// let (mut task, expected) = (claimed.task.clone(), claimed.task.version());
/// let fault = Failure::provider("REGISTRY_TIMEOUT", "the registry did not answer", now);
/// let failed = claimed.run.fail(&mut task, fault, now)?;
/// store.save(&task, expected, &[failed])?;
/// assert!(store.sweep(Sweep::RetriesDue, now, 10)?.tasks.is_empty());
/// let due = store.sweep(Sweep::RetriesDue, now + Duration::hours(2), 10)?;
/// assert_eq!(due.tasks[0].id(), task.id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sweep {
    /// Running or waiting tasks whose lease ran out, earliest deadline
    /// first: to mark stalled.
    ExpiredLeases,
    /// Failed tasks whose automatic retry is due, earliest first: to
    /// retry.
    RetriesDue,
    /// Waiting tasks whose time to look again has come, earliest first:
    /// what a poller asks the outside party about. A check time at or
    /// after the wait's deadline is not offered (the lease sweep has it).
    ChecksDue,
    /// Stalled tasks, longest stalled first: to requeue, or cancel when a
    /// cancel was requested. Any time `now` finds all of them.
    Stalled,
}

/// What a sweep found.
///
/// ```
/// use taskstate::store::{ClaimRequest, MemoryStore, Sweep, TaskStore};
/// use taskstate::Pause;
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let mut ids = IdGenerator::seeded(1);
/// # let store = MemoryStore::new();
/// # for _ in 0..1 {
/// #     let new = NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
/// #         Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// #     let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// #     store.insert(task, created)?;
/// # }
/// let mut claims = store.claim(&ClaimRequest::new(now, now + Duration::minutes(5)))?;
/// let claimed = claims.claimed.pop().ok_or("a claim")?;
/// let (mut task, expected) = (claimed.task.clone(), claimed.task.version());
/// // The registry answers within the hour: look again in ten minutes.
/// let pause = Pause::until(now + Duration::hours(1)).check_at(now + Duration::minutes(10));
/// let waiting = claimed.run.wait(&mut task, pause, now)?;
/// store.save(&task, expected, &[waiting])?;
/// let swept = store.sweep(Sweep::ChecksDue, now + Duration::minutes(15), 10)?;
/// assert_eq!(swept.tasks.len(), 1);
/// assert!(swept.unreadable.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Swept<K> {
    /// The tasks, in the sweep's order.
    pub tasks: Vec<Task<K>>,
    /// Records skipped because they cannot be read.
    pub unreadable: Vec<Unreadable>,
}

impl<K> Default for Swept<K> {
    fn default() -> Self {
        Swept {
            tasks: Vec::new(),
            unreadable: Vec::new(),
        }
    }
}
