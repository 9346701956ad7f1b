//! The MemoryStore's indexes against a scan: random tasks on a few shared
//! resources, then random claims, commands saved with compare-and-swap
//! (and stale saves), listings with random filters walked page by page,
//! sweeps (expired leases, due retries, due checks, stalled tasks), the
//! next due time, purges and removals, and pages of each task's log.
//! Claims ask for random kinds, some at a time behind an earlier claim's,
//! and tasks have random priorities and unique keys. After
//! every step each answer of the store equals what a scan over a plain map
//! of the same tasks and their logs gives, computed from the documented
//! contract of `TaskStore` and the core's pure blocking rule; a save that
//! drops its event is refused.
//!
//! More cases: `PROPTEST_CASES=2000 cargo test --test store indexes::`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use taskstate::store::{
    ClaimRequest, Filter, MemoryStore, PageRequest, Scope, StoreError, Sweep, TaskStore,
};
use taskstate::testkit::strategies::{self, Step};
use taskstate::{
    Event, NamedKind, Owner, ResourceRef, RetryPolicy, Rules, Status, StatusSet, Task, TaskId,
};

/// Three kinds: plain, blocking (Dyn's zone publish) and retried
/// automatically after provider failures.
pub(crate) fn kinds() -> Vec<NamedKind> {
    vec![
        NamedKind::new("DomainRenew"),
        NamedKind::with_rules(
            "ZonePublish",
            Rules {
                blocking: true,
                ..Rules::default()
            },
        ),
        NamedKind::with_rules(
            "HostAdd",
            Rules {
                retry: RetryPolicy::STANDARD.initial_delay_secs(30).max_attempts(3),
                ..Rules::default()
            },
        ),
    ]
}

const RESOURCES: [&str; 3] = ["a.fr", "b.fr", "c.fr"];

/// Pending tasks of [`kinds`] on three shared resources, created in the
/// first hour of 2026-11-23, each with its creation event, a priority
/// from -1 to 2, and one of two unique keys or none.
fn tasks() -> impl Strategy<Value = Vec<(Task<NamedKind>, Event<NamedKind>)>> {
    let one = (
        0i64..3600,
        0usize..RESOURCES.len(),
        -1i32..3,
        proptest::option::weighted(0.2, 0usize..2),
    )
        .prop_flat_map(|(seconds, resource, priority, key)| {
            let at = crate::common::t(seconds);
            strategies::new_task(kinds(), at).prop_filter_map(
                "a task of the kind",
                move |mut new| {
                    new.resource = ResourceRef::new("zone", RESOURCES[resource]);
                    new.priority = priority;
                    new.unique_key = key.map(|key| format!("key-{key}"));
                    Task::create(new, taskstate::Actor::System, at).ok()
                },
            )
        });
    proptest::collection::vec(one, 1..20)
}

#[derive(Clone, Debug)]
enum Op {
    /// Claim up to `limit` tasks of some `kinds` (indexes into
    /// [`kinds`]; all for `None`) at `advance` seconds from now (behind
    /// the latest claim when negative), under a lease of `lease` seconds.
    Claim {
        advance: i64,
        limit: usize,
        lease: i64,
        kinds: Option<BTreeSet<usize>>,
    },
    /// Resolve `step` against the task at `which` (among the started
    /// ones if `started`), apply it, save it.
    Apply {
        which: usize,
        started: bool,
        step: Step,
    },
    /// Save the task at `which` with a version it does not have.
    StaleSave { which: usize },
    /// List with a filter built from the seeds, `page` tasks a page.
    List { filter: FilterSeed, page: usize },
    /// A sweep of up to `limit` tasks after `advance` seconds.
    Sweep {
        sweep: Sweep,
        advance: i64,
        limit: usize,
    },
    /// The next due time, for some kinds.
    NextDue { kinds: Option<BTreeSet<usize>> },
    /// Purge up to `limit` tasks settled before `advance` seconds from
    /// now.
    Purge { advance: i64, limit: usize },
    /// Remove the task at `which` (a host's own retention).
    Remove { which: usize },
    /// Insert again, as it was created, the task at `which` among those
    /// removed or purged: the same id, its resource's and owner's
    /// entries made anew (perhaps where another's were).
    Reinsert { which: usize },
    /// Read the log of the task at `which` in pages of `limit` events
    /// from version `after`, in the owner's scope or another customer's.
    Log {
        which: usize,
        after: u64,
        limit: usize,
        own_scope: bool,
    },
}

#[derive(Clone, Debug)]
struct FilterSeed {
    resource: Option<usize>,
    kind: Option<usize>,
    statuses: StatusSet,
    owner: Option<Owner>,
    customer_scope: bool,
    /// With an owner in the filter and a customer's scope: the scope is
    /// another customer's, which sees none of the owner's tasks.
    foreign_scope: bool,
    created: Option<(i64, i64)>,
}

fn filter_seed() -> impl Strategy<Value = FilterSeed> {
    (
        proptest::option::of(0usize..4),
        proptest::option::of(0usize..4),
        prop_oneof![
            2 => Just(StatusSet::EMPTY),
            // One status: the indexes by status (and owner) answer alone.
            3 => proptest::sample::select(Status::ALL.to_vec())
                .prop_map(|status| StatusSet::of(&[status])),
            2 => strategies::status_set(),
        ],
        proptest::option::of(strategies::owner()),
        any::<bool>(),
        proptest::bool::weighted(0.15),
        proptest::option::of((0i64..3600, 0i64..3600)),
    )
        .prop_map(
            |(resource, kind, statuses, owner, customer_scope, foreign_scope, created)| {
                FilterSeed {
                    resource,
                    kind,
                    statuses,
                    owner,
                    customer_scope,
                    foreign_scope,
                    created,
                }
            },
        )
}

impl FilterSeed {
    fn filter(&self) -> Filter {
        let mut filter = Filter::new().statuses(self.statuses);
        if let Some(resource) = self.resource {
            // The fourth is a resource no task is on.
            let id = RESOURCES.get(resource).copied().unwrap_or("none.fr");
            filter = filter.resource(ResourceRef::new("zone", id));
        }
        if let Some(kind) = self.kind {
            let name = kinds()
                .get(kind)
                .map_or("NoSuchKind".to_owned(), |kind| kind.name.clone());
            filter = filter.kind(name);
        }
        if let Some(owner) = &self.owner {
            filter = filter.owner(owner.clone());
        }
        if let Some((from, until)) = self.created {
            filter = filter.created(crate::common::t(from), crate::common::t(until));
        }
        filter
    }

    fn scope(&self) -> Scope {
        match &self.owner {
            Some(owner) if self.customer_scope && self.foreign_scope => {
                Scope::Owner(strategies::other_owner(owner))
            }
            Some(owner) if self.customer_scope => Scope::Owner(owner.clone()),
            _ if self.customer_scope => Scope::Owner(Owner::new("alice")),
            _ => Scope::Staff,
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (
            prop_oneof![4 => 0i64..600, 1 => -900i64..0],
            1usize..4,
            prop_oneof![1i64..300, 1i64..3600],
            kind_set(),
        )
            .prop_map(|(advance, limit, lease, kinds)| Op::Claim { advance, limit, lease, kinds }),
        6 => (any::<usize>(), proptest::bool::weighted(0.7), strategies::step())
            .prop_map(|(which, started, step)| Op::Apply { which, started, step }),
        1 => any::<usize>().prop_map(|which| Op::StaleSave { which }),
        2 => (filter_seed(), 1usize..6).prop_map(|(filter, page)| Op::List { filter, page }),
        2 => (
            proptest::sample::select(vec![
                Sweep::ExpiredLeases,
                Sweep::RetriesDue,
                Sweep::ChecksDue,
                Sweep::Stalled,
            ]),
            0i64..900,
            1usize..5,
        )
            .prop_map(|(sweep, advance, limit)| Op::Sweep { sweep, advance, limit }),
        1 => kind_set().prop_map(|kinds| Op::NextDue { kinds }),
        1 => (-3600i64..3600, 1usize..4).prop_map(|(advance, limit)| Op::Purge { advance, limit }),
        1 => any::<usize>().prop_map(|which| Op::Remove { which }),
        1 => any::<usize>().prop_map(|which| Op::Reinsert { which }),
        1 => (any::<usize>(), 0u64..8, 1usize..5, proptest::bool::weighted(0.8)).prop_map(
            |(which, after, limit, own_scope)| Op::Log { which, after, limit, own_scope }
        ),
    ]
}

/// Some of the kinds, by index into [`kinds`] (3 names none), or all.
fn kind_set() -> impl Strategy<Value = Option<BTreeSet<usize>>> {
    proptest::option::of(proptest::collection::btree_set(0usize..4, 1..3))
}

/// The names of the kinds a [`kind_set`] picks.
fn kind_names(kinds_picked: &Option<BTreeSet<usize>>) -> Option<BTreeSet<String>> {
    kinds_picked.as_ref().map(|picked| {
        picked
            .iter()
            .map(|i| {
                kinds()
                    .get(*i)
                    .map_or("NoSuchKind".to_owned(), |k| k.name.clone())
            })
            .collect()
    })
}

/// The plain map the store is checked against, and each task's log.
struct Model {
    tasks: BTreeMap<TaskId, Task<NamedKind>>,
    logs: BTreeMap<TaskId, Vec<Event<NamedKind>>>,
}

impl Model {
    fn nth(&self, which: usize) -> &Task<NamedKind> {
        let index = which % self.tasks.len().max(1);
        self.tasks.values().nth(index).unwrap()
    }

    /// The task at `which` among those that left `Pending`, if any.
    fn nth_started(&self, which: usize) -> Option<&Task<NamedKind>> {
        let started: Vec<_> = self
            .tasks
            .values()
            .filter(|task| task.status() != Status::Pending)
            .collect();
        started.get(which % started.len().max(1)).copied()
    }

    /// What `claim` must start: pending tasks of the kinds asked for, due
    /// at `now`, by priority (highest first), then due time, then id,
    /// skipping those the blocking rule holds back (the tasks started
    /// earlier in the same claim count) and those `start` refuses.
    fn claim(&mut self, request: &ClaimRequest) -> Vec<TaskId> {
        let (now, limit, lease_until) = (request.now, request.limit, request.lease_until);
        let mut due: Vec<(std::cmp::Reverse<i32>, DateTime<Utc>, TaskId)> = self
            .tasks
            .values()
            .filter(|task| task.status() == Status::Pending && request.wants(&task.kind().name))
            .map(|task| {
                let at = task.todo_at().unwrap_or(task.created_at());
                (std::cmp::Reverse(task.priority()), at, task.id())
            })
            .filter(|(_, at, _)| *at <= now)
            .collect();
        due.sort();
        let mut started = Vec::new();
        for (_, _, id) in due {
            if started.len() == limit {
                break;
            }
            let task = &self.tasks[&id];
            let others = self
                .tasks
                .values()
                .filter(|other| other.resource() == task.resource());
            if task.blocked_by(others).is_some() {
                continue;
            }
            let mut copy = task.clone();
            if let Ok((_run, event)) = copy.start(lease_until, Some("w".to_owned()), now) {
                self.tasks.insert(id, copy);
                self.logs.entry(id).or_default().push(event);
                started.push(id);
            }
        }
        started
    }

    /// Up to `limit` tasks of `(time, id)` keys at or before `now`,
    /// earliest first.
    fn come_by(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        time: impl Fn(&Task<NamedKind>) -> Option<DateTime<Utc>>,
    ) -> Vec<TaskId> {
        let mut keys: Vec<(DateTime<Utc>, TaskId)> = self
            .tasks
            .values()
            .filter_map(|task| time(task).map(|at| (at, task.id())))
            .filter(|(at, _)| *at <= now)
            .collect();
        keys.sort();
        keys.into_iter().take(limit).map(|(_, id)| id).collect()
    }
}

/// The deadline of a running or waiting task's lease.
fn lease_deadline(task: &Task<NamedKind>) -> Option<DateTime<Utc>> {
    task.lease()
        .filter(|_| matches!(task.status(), Status::Running | Status::Waiting))
        .map(|lease| lease.expires_at())
}

/// When a stalled task stalled.
fn stalled_since(task: &Task<NamedKind>) -> Option<DateTime<Utc>> {
    (task.status() == Status::Stalled).then(|| task.updated_at())
}

fn ids(tasks: &[Task<NamedKind>]) -> Vec<TaskId> {
    tasks.iter().map(Task::id).collect()
}

/// Walks every page of a listing; checks each page's size and cursor.
fn walk(
    store: &MemoryStore<NamedKind>,
    scope: &Scope,
    filter: &Filter,
    limit: usize,
) -> Vec<Task<NamedKind>> {
    let mut all = Vec::new();
    let mut request = PageRequest::first(limit);
    loop {
        let page = store.list(scope, filter, request).unwrap();
        assert!(page.tasks.len() <= limit, "a page longer than asked");
        all.extend(page.tasks);
        match page.next {
            Some(cursor) => {
                assert_eq!(
                    Some(cursor),
                    all.last().map(Task::id),
                    "cursor is the last id"
                );
                request = PageRequest::after(cursor, limit);
            }
            None => return all,
        }
    }
}

/// Every stored task, through the index-free listing, is the model's;
/// so are the tasks of each status, staff-wide and for each owner (the
/// indexes a status filter walks); so is each task's log.
fn check_everything(store: &MemoryStore<NamedKind>, model: &Model) {
    let everything = walk(store, &Scope::Staff, &Filter::new(), 50);
    assert_eq!(
        everything,
        model.tasks.values().cloned().collect::<Vec<_>>()
    );
    for id in model.tasks.keys() {
        let log = store.log(&Scope::Staff, *id, 0, usize::MAX).unwrap();
        assert_eq!(log, model.logs[id], "the log of {id}");
    }
    let owners: BTreeSet<&Owner> = model.tasks.values().map(Task::owner).collect();
    for status in Status::ALL {
        let filter = Filter::new().statuses(StatusSet::of(&[status]));
        let scopes = owners
            .iter()
            .map(|owner| Scope::Owner((*owner).clone()))
            .chain([Scope::Staff]);
        for scope in scopes {
            let expected: Vec<TaskId> = model
                .tasks
                .values()
                .filter(|task| task.status() == status && scope.sees(task.owner()))
                .map(Task::id)
                .collect();
            let listed = walk(store, &scope, &filter, 50);
            assert_eq!(ids(&listed), expected, "{status} tasks in {scope:?}");
        }
    }
}

/// Inserts `task` in the store and, if the contract accepts it, in the
/// model: refused as a duplicate, or for a unique key a live task holds.
fn insert(
    store: &MemoryStore<NamedKind>,
    model: &mut Model,
    task: Task<NamedKind>,
    created: Event<NamedKind>,
) {
    let duplicate = model.tasks.contains_key(&task.id());
    let holder = model
        .tasks
        .values()
        .find(|other| {
            other.unique_key().is_some()
                && other.unique_key() == task.unique_key()
                && !matches!(other.status(), Status::Done | Status::Cancelled)
        })
        .map(Task::id);
    let inserted = store.insert(task.clone(), created.clone());
    match (duplicate, holder) {
        (true, _) => assert!(
            matches!(inserted, Err(StoreError::Duplicate { id }) if id == task.id()),
            "{inserted:?}"
        ),
        (false, Some(holder)) => assert!(
            matches!(&inserted, Err(StoreError::KeyTaken { holder: found, .. }) if *found == holder),
            "{inserted:?}"
        ),
        (false, None) => {
            inserted.unwrap();
            model.logs.insert(task.id(), vec![created]);
            model.tasks.insert(task.id(), task);
        }
    }
}

fn run(initial: Vec<(Task<NamedKind>, Event<NamedKind>)>, ops: Vec<Op>) {
    let store = MemoryStore::new();
    let mut model = Model {
        tasks: BTreeMap::new(),
        logs: BTreeMap::new(),
    };
    // Every task as it was created, for `Reinsert`.
    let originals: BTreeMap<TaskId, _> = initial
        .iter()
        .map(|(task, created)| (task.id(), (task.clone(), created.clone())))
        .collect();
    for (task, created) in initial {
        insert(&store, &mut model, task, created);
    }
    let mut now = crate::common::t(3600);
    // At least the latest time the store knows has come: a claim's time,
    // a task's last change (the store's own horizon may be earlier).
    let mut horizon: Option<DateTime<Utc>> = model.tasks.values().map(Task::updated_at).max();
    for op in ops {
        match op {
            Op::Claim {
                advance,
                limit,
                lease,
                kinds,
            } => {
                let at = now + Duration::seconds(advance);
                now = now.max(at);
                horizon = horizon.max(Some(at));
                let mut request = ClaimRequest::new(at, at + Duration::seconds(lease))
                    .limit(limit)
                    .worker("w");
                request.kinds = kind_names(&kinds);
                let expected = model.claim(&request);
                let claims = store.claim(&request).unwrap();
                assert!(claims.unreadable.is_empty());
                let claimed = claims.claimed;
                let got: Vec<TaskId> = claimed.iter().map(|claim| claim.task.id()).collect();
                assert_eq!(got, expected, "claim {request:?}");
                for claim in &claimed {
                    let id = claim.task.id();
                    assert_eq!(claim.task, model.tasks[&id]);
                    assert_eq!(claim.run.task_id(), id);
                    assert!(claim.task.lease().unwrap().is_held_by(claim.run.token()));
                    claim.task.check_log(&model.logs[&id]).unwrap();
                }
            }
            Op::Apply {
                which,
                started,
                step,
            } => {
                now += Duration::seconds(step.advance.max(0));
                if model.tasks.is_empty() {
                    continue;
                }
                let task = match model.nth_started(which) {
                    Some(task) if started => task.clone(),
                    _ => model.nth(which).clone(),
                };
                let (command, actor) = step.resolve(&task, now);
                let mut changed = task.clone();
                if let Ok(event) = changed.apply(command, actor, now) {
                    let id = changed.id();
                    if event.is_some() {
                        // The save without its event would lose it from
                        // the log: refused, nothing written.
                        match store.save(&changed, task.version(), &[]) {
                            Err(StoreError::Refused { id: refused, .. }) => {
                                assert_eq!(refused, id)
                            }
                            other => panic!("a save without its event gave {other:?}"),
                        }
                    }
                    store
                        .save(&changed, task.version(), event.as_slice())
                        .unwrap();
                    model.logs.entry(id).or_default().extend(event);
                    changed.check_log(&model.logs[&id]).unwrap();
                    model.tasks.insert(id, changed);
                }
            }
            Op::StaleSave { which } => {
                if model.tasks.is_empty() {
                    continue;
                }
                let task = model.nth(which).clone();
                let stale = task.version() + 1;
                match store.save(&task, stale, &[]) {
                    Err(StoreError::Conflict { found, .. }) => {
                        assert_eq!(found, task.version())
                    }
                    other => panic!("a stale save gave {other:?}"),
                }
            }
            Op::List { filter, page } => {
                let (scope, filter) = (filter.scope(), filter.filter());
                let expected: Vec<TaskId> = model
                    .tasks
                    .values()
                    .filter(|task| filter.matches(&scope, task))
                    .map(Task::id)
                    .collect();
                let listed = walk(&store, &scope, &filter, page);
                assert_eq!(ids(&listed), expected, "listing {filter:?} in {scope:?}");
                for task in &listed {
                    assert_eq!(*task, model.tasks[&task.id()]);
                }
            }
            Op::Sweep {
                sweep,
                advance,
                limit,
            } => {
                now += Duration::seconds(advance);
                let expected = match sweep {
                    Sweep::ExpiredLeases => model.come_by(now, limit, lease_deadline),
                    Sweep::RetriesDue => model.come_by(now, limit, Task::next_retry_at),
                    Sweep::ChecksDue => model.come_by(now, limit, Task::check_due_at),
                    // Every stalled task, whatever the time.
                    _ => model.come_by(DateTime::<Utc>::MAX_UTC, limit, stalled_since),
                };
                let swept = store.sweep(sweep, now, limit).unwrap();
                assert_eq!(ids(&swept.tasks), expected, "{sweep:?} at {now}");
            }
            Op::NextDue { kinds } => {
                let names = kind_names(&kinds);
                let wanted = |task: &&Task<NamedKind>| {
                    names
                        .as_ref()
                        .is_none_or(|names| names.contains(&task.kind().name))
                };
                let pending = model
                    .tasks
                    .values()
                    .filter(|task| task.status() == Status::Pending)
                    .filter(wanted)
                    .map(|task| (task, task.todo_at().unwrap_or(task.created_at())))
                    .filter(|(task, at)| {
                        // Held back by a blocking task, a task due already
                        // is due when that task leaves; one not due yet
                        // counts at its time (who knows what runs then).
                        horizon.is_none_or(|h| *at > h)
                            || task.blocked_by(model.tasks.values()).is_none()
                    })
                    .map(|(_, at)| at);
                let others = model.tasks.values().flat_map(|task| {
                    [
                        lease_deadline(task),
                        task.next_retry_at(),
                        stalled_since(task),
                    ]
                });
                let exact = pending.chain(others.flatten()).min();
                let due = store.next_due(names.as_ref()).unwrap();
                // Tasks due by the latest claim's time are due already:
                // the store may answer the due time of the one a claim
                // would take first (by priority), not the earliest, and
                // a task a late clock put back in the schedule. Never
                // later than the earliest: no task waits for nothing.
                let due_already = |at: DateTime<Utc>| horizon.is_some_and(|h| at <= h);
                let fits = match (due, exact) {
                    (Some(d), Some(e)) => d == e || (due_already(d) && (due_already(e) || d < e)),
                    (Some(d), None) => due_already(d),
                    (None, e) => e.is_none(),
                };
                assert!(
                    fits,
                    "next due for {names:?}: {due:?}, a scan finds {exact:?}"
                );
            }
            Op::Purge { advance, limit } => {
                let before = now + Duration::seconds(advance);
                let mut settled: Vec<(DateTime<Utc>, TaskId)> = model
                    .tasks
                    .values()
                    .filter(|task| matches!(task.status(), Status::Done | Status::Cancelled))
                    .filter_map(|task| task.done_at().map(|at| (at, task.id())))
                    .filter(|(at, _)| *at < before)
                    .collect();
                settled.sort();
                settled.truncate(limit);
                assert_eq!(store.purge(before, limit).unwrap(), settled.len());
                for (_, id) in settled {
                    model.tasks.remove(&id);
                    model.logs.remove(&id);
                    assert_eq!(store.get(&Scope::Staff, id).unwrap(), None);
                }
            }
            Op::Remove { which } => {
                if model.tasks.is_empty() {
                    continue;
                }
                let id = model.nth(which).id();
                let removed = model.tasks.remove(&id);
                model.logs.remove(&id);
                assert_eq!(store.remove(id).unwrap(), removed);
                assert_eq!(store.remove(id).unwrap(), None);
                assert_eq!(store.get(&Scope::Staff, id).unwrap(), None);
                // Its log went with it.
                assert!(matches!(
                    store.log(&Scope::Staff, id, 0, 100),
                    Err(StoreError::NotFound { id: missing }) if missing == id
                ));
            }
            Op::Reinsert { which } => {
                let gone: Vec<_> = originals
                    .iter()
                    .filter(|(id, _)| !model.tasks.contains_key(id))
                    .map(|(_, original)| original.clone())
                    .collect();
                if gone.is_empty() {
                    continue;
                }
                let (task, created) = gone[which % gone.len()].clone();
                insert(&store, &mut model, task, created);
            }
            Op::Log {
                which,
                after,
                limit,
                own_scope,
            } => {
                if model.tasks.is_empty() {
                    continue;
                }
                let task = model.nth(which);
                let id = task.id();
                if !own_scope {
                    // Another customer's scope sees no log of it.
                    let other = Scope::Owner(strategies::other_owner(task.owner()));
                    assert!(matches!(
                        store.log(&other, id, after, limit),
                        Err(StoreError::NotFound { id: missing }) if missing == id
                    ));
                    continue;
                }
                let scope = Scope::Owner(task.owner().clone());
                let expected: Vec<Event<NamedKind>> = model.logs[&id]
                    .iter()
                    .filter(|event| event.version > after)
                    .take(limit)
                    .cloned()
                    .collect();
                assert_eq!(store.log(&scope, id, after, limit).unwrap(), expected);
                // Walked page by page from the start, the whole log.
                let mut walked: Vec<Event<NamedKind>> = Vec::new();
                loop {
                    let from = walked.last().map_or(0, |event| event.version);
                    let page = store.log(&scope, id, from, limit).unwrap();
                    assert!(page.len() <= limit, "a log page longer than asked");
                    let done = page.len() < limit;
                    walked.extend(page);
                    if done {
                        break;
                    }
                }
                assert_eq!(walked, model.logs[&id]);
            }
        }
        check_everything(&store, &model);
        horizon = horizon.max(model.tasks.values().map(Task::updated_at).max());
    }
}

proptest! {
    #![proptest_config(crate::common::cases(96))]

    #[test]
    fn memory_store_answers_as_a_scan_does(
        initial in tasks(),
        ops in proptest::collection::vec(op(), 1..100),
    ) {
        run(initial, ops);
    }
}
