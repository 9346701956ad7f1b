//! The MemoryStore's indexes against a scan: random tasks on a few shared
//! resources, then random claims, commands saved with compare-and-swap
//! (and stale saves), listings with random filters walked page by page,
//! expiry and retry scans, removals, and pages of each task's log. After
//! every step each answer of the store equals what a scan over a plain map
//! of the same tasks and their logs gives, computed from the documented
//! contract of `TaskStore` and the core's pure blocking rule; a save that
//! drops its event is refused.
//!
//! More cases: `PROPTEST_CASES=2000 cargo test --test store_indexes`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, StoreError, TaskStore};
use taskstate::strategies::{self, Step};
use taskstate::{
    Event, NamedKind, Owner, ResourceRef, RetryPolicy, Rules, Status, StatusSet, Task, TaskId,
};

/// Three kinds: plain, blocking (Dyn's zone publish) and retried
/// automatically after provider failures.
fn kinds() -> Vec<NamedKind> {
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
/// first hour of 2026-11-23, each with its creation event.
fn tasks() -> impl Strategy<Value = Vec<(Task<NamedKind>, Event<NamedKind>)>> {
    let one = (0i64..3600, 0usize..RESOURCES.len()).prop_flat_map(|(seconds, resource)| {
        let at = common::t(seconds);
        strategies::new_task(kinds(), at).prop_filter_map("a task of the kind", move |mut new| {
            new.resource = ResourceRef::new("zone", RESOURCES[resource]);
            Task::create(new, taskstate::Actor::System, at).ok()
        })
    });
    proptest::collection::vec(one, 1..20)
}

#[derive(Clone, Debug)]
enum Op {
    /// Claim up to `limit` after `advance` seconds, under a lease of
    /// `lease` seconds.
    Claim {
        advance: i64,
        limit: usize,
        lease: i64,
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
    /// Expired leases, up to `limit`.
    Expired { advance: i64, limit: usize },
    /// Due retries, up to `limit`.
    RetryDue { advance: i64, limit: usize },
    /// Remove the task at `which` (a retention purge).
    Remove { which: usize },
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
        proptest::option::of((0i64..3600, 0i64..3600)),
    )
        .prop_map(
            |(resource, kind, statuses, owner, customer_scope, created)| FilterSeed {
                resource,
                kind,
                statuses,
                owner,
                customer_scope,
                created,
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
            filter = filter.created(common::t(from), common::t(until));
        }
        filter
    }

    fn scope(&self) -> Scope {
        match &self.owner {
            Some(owner) if self.customer_scope => Scope::Owner(owner.clone()),
            _ if self.customer_scope => Scope::Owner(Owner::new("alice")),
            _ => Scope::Staff,
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0i64..600, 1usize..4, prop_oneof![1i64..300, 1i64..3600])
            .prop_map(|(advance, limit, lease)| Op::Claim { advance, limit, lease }),
        6 => (any::<usize>(), proptest::bool::weighted(0.7), strategies::step())
            .prop_map(|(which, started, step)| Op::Apply { which, started, step }),
        1 => any::<usize>().prop_map(|which| Op::StaleSave { which }),
        2 => (filter_seed(), 1usize..6).prop_map(|(filter, page)| Op::List { filter, page }),
        1 => (0i64..900, 1usize..5).prop_map(|(advance, limit)| Op::Expired { advance, limit }),
        1 => (0i64..900, 1usize..5).prop_map(|(advance, limit)| Op::RetryDue { advance, limit }),
        1 => any::<usize>().prop_map(|which| Op::Remove { which }),
        1 => (any::<usize>(), 0u64..8, 1usize..5, proptest::bool::weighted(0.8)).prop_map(
            |(which, after, limit, own_scope)| Op::Log { which, after, limit, own_scope }
        ),
    ]
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

    /// What `claim_due` must start: pending tasks due at `now`, by due
    /// time then id, skipping those the blocking rule holds back (the
    /// tasks started earlier in the same claim count) and those `start`
    /// refuses.
    fn claim(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
    ) -> Vec<TaskId> {
        let mut due: Vec<(DateTime<Utc>, TaskId)> = self
            .tasks
            .values()
            .filter(|task| task.status() == Status::Pending)
            .map(|task| (task.todo_at().unwrap_or(task.created_at()), task.id()))
            .filter(|(at, _)| *at <= now)
            .collect();
        due.sort();
        let mut started = Vec::new();
        for (_, id) in due {
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

fn run(initial: Vec<(Task<NamedKind>, Event<NamedKind>)>, ops: Vec<Op>) {
    let store = MemoryStore::new();
    let mut model = Model {
        tasks: BTreeMap::new(),
        logs: BTreeMap::new(),
    };
    for (task, created) in initial {
        let duplicate = model.tasks.contains_key(&task.id());
        let inserted = store.insert(task.clone(), created.clone());
        assert_eq!(inserted.is_err(), duplicate);
        if duplicate {
            assert!(
                matches!(inserted, Err(StoreError::Duplicate { id }) if id == task.id()),
                "{inserted:?}"
            );
        }
        model.logs.entry(task.id()).or_insert_with(|| vec![created]);
        model.tasks.entry(task.id()).or_insert(task);
    }
    let mut now = common::t(3600);
    for op in ops {
        match op {
            Op::Claim {
                advance,
                limit,
                lease,
            } => {
                now += Duration::seconds(advance);
                let lease_until = now + Duration::seconds(lease);
                let expected = model.claim(now, limit, lease_until);
                let claimed = store.claim_due(now, limit, lease_until, Some("w")).unwrap();
                let got: Vec<TaskId> = claimed.iter().map(|claim| claim.task.id()).collect();
                assert_eq!(got, expected, "claim at {now}");
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
            Op::Expired { advance, limit } => {
                now += Duration::seconds(advance);
                let expected = model.come_by(now, limit, |task| {
                    task.lease()
                        .filter(|_| matches!(task.status(), Status::Running | Status::Waiting))
                        .map(|lease| lease.expires_at())
                });
                assert_eq!(ids(&store.expired(now, limit).unwrap()), expected);
            }
            Op::RetryDue { advance, limit } => {
                now += Duration::seconds(advance);
                let expected = model.come_by(now, limit, Task::next_retry_at);
                assert_eq!(ids(&store.retry_due(now, limit).unwrap()), expected);
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
                assert_eq!(
                    store.log(&Scope::Staff, id, 0, 100),
                    Err(StoreError::NotFound { id })
                );
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
                    assert_eq!(
                        store.log(&other, id, after, limit),
                        Err(StoreError::NotFound { id })
                    );
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
    }
}

proptest! {
    #![proptest_config(common::cases(96))]

    #[test]
    fn memory_store_answers_as_a_scan_does(
        initial in tasks(),
        ops in proptest::collection::vec(op(), 1..100),
    ) {
        run(initial, ops);
    }
}
