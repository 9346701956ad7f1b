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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Operators and the system: every task.
    Staff,
    /// A customer: only the tasks of this owner.
    Owner(Owner),
}

impl Scope {
    /// Whether a task of `owner` is visible in this scope.
    pub fn sees(&self, owner: &Owner) -> bool {
        match self {
            Scope::Staff => true,
            Scope::Owner(scope) => scope == owner,
        }
    }
}

/// Which tasks a listing returns. Every field is optional; set ones must
/// all match.
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
    /// Every task.
    pub fn new() -> Self {
        Filter::default()
    }

    /// Only tasks on `resource`.
    pub fn resource(mut self, resource: ResourceRef) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Only tasks of the kind named `kind`.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only tasks in one of `statuses`.
    pub fn statuses(mut self, statuses: StatusSet) -> Self {
        self.statuses = statuses;
        self
    }

    /// Only tasks of `owner`.
    pub fn owner(mut self, owner: Owner) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Only children of `parent`.
    pub fn parent(mut self, parent: TaskId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Only tasks created in `[from, until)`.
    pub fn created(mut self, from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        self.created_from = Some(from);
        self.created_until = Some(until);
        self
    }

    /// Only failed tasks where `origin` must act, among the failed ones
    /// (see [`failure_origin`](Filter::failure_origin)).
    pub fn failure_origin(mut self, origin: Origin) -> Self {
        self.failure_origin = Some(origin);
        self
    }

    /// Only done tasks with (`true`) or without (`false`) warnings, among
    /// the done ones (see [`warnings`](Filter::warnings)).
    pub fn warnings(mut self, with_warnings: bool) -> Self {
        self.warnings = Some(with_warnings);
        self
    }

    /// Whether `task` matches, in `scope`.
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
    pub fn first(limit: usize) -> Self {
        PageRequest { after: None, limit }
    }

    /// The page after `cursor`.
    pub fn after(cursor: TaskId, limit: usize) -> Self {
        PageRequest {
            after: Some(cursor),
            limit,
        }
    }
}

/// A page of tasks, in id order (creation order for v7 ids).
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
    /// A claim of one task of any kind at `now`, leased until `lease_until`.
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
    pub fn limit(mut self, limit: usize) -> ClaimRequest {
        self.limit = limit;
        self
    }

    /// This claim, made by `worker`.
    pub fn worker(mut self, worker: impl Into<String>) -> ClaimRequest {
        self.worker = Some(worker.into());
        self
    }

    /// This claim, of tasks of these kinds only.
    pub fn kinds<I, S>(mut self, kinds: I) -> ClaimRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kinds = Some(kinds.into_iter().map(Into::into).collect());
        self
    }

    /// Whether a task of the kind named `kind` may be claimed.
    pub fn wants(&self, kind: &str) -> bool {
        self.kinds.as_ref().is_none_or(|kinds| kinds.contains(kind))
    }

    /// Refuses a claim that could start nothing: a lease that ends at or
    /// before `now`, a limit of 0, an empty set of kinds. Every store
    /// calls it first.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidRequest`] saying which.
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
#[derive(Debug)]
pub struct Claimed<K> {
    /// The task as stored once started.
    pub task: Task<K>,
    /// The run's handle.
    pub run: Run,
}

/// What a claim started: the due tasks, highest priority then earliest
/// due first, and the records it could not read on its way.
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

/// Which tasks a sweep finds: the housekeeping queues a worker empties.
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
