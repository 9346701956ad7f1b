//! The conformance suite any [`TaskStore`] can run with one call (feature
//! `testkit`).
//!
//! ```
//! use taskstate::store::{MemoryStore, testkit};
//!
//! testkit::check_store(MemoryStore::new)?;
//! # Ok::<(), testkit::ConformanceError>(())
//! ```
//!
//! [`check_store`] builds fresh stores with the caller's constructor and
//! checks, on tasks of [`NamedKind`]: every field round-trips through
//! insert, saves and get, and the log a store keeps holds every event
//! saved and rebuilds the record; duplicates are refused; saves compare
//! and swap; a
//! customer's scope sees only its own tasks; listings keep id order and
//! page without gaps or repeats; every filter narrows as documented;
//! claims take due tasks oldest first, start them, never hand one task to
//! two claimers even from several threads at once, and respect blocking;
//! expired leases and due retries are found; a waiting task is offered
//! for its check at its check time and not to the stall sweep before its
//! deadline. It returns the first check
//! that fails, named, so a host's test reads
//! `testkit::check_store(|| MyStore::open_temp()).unwrap()`.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::{Filter, PageRequest, Scope, StoreError, TaskStore};
use crate::actor::{Actor, Owner};
use crate::argument::ArgumentSpec;
use crate::command::{Command, Event, NewTask, Outcome, ResourceRef};
use crate::failure::Failure;
use crate::id::{IdGenerator, TaskId};
use crate::rules::{NamedKind, Rules};
use crate::run::Pause;
use crate::status::{Status, StatusSet};
use crate::subtask::{NewSubtask, SubtaskChange};
use crate::task::Task;

/// A conformance check that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConformanceError {
    /// The check.
    pub check: &'static str,
    /// What went wrong.
    pub detail: String,
}

impl fmt::Display for ConformanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "store conformance check `{}` failed: {}",
            self.check, self.detail
        )
    }
}

impl std::error::Error for ConformanceError {}

fn ensure(
    ok: bool,
    check: &'static str,
    detail: impl FnOnce() -> String,
) -> Result<(), ConformanceError> {
    if ok {
        Ok(())
    } else {
        Err(ConformanceError {
            check,
            detail: detail(),
        })
    }
}

fn failed<E: fmt::Display>(check: &'static str) -> impl FnOnce(E) -> ConformanceError {
    move |error| ConformanceError {
        check,
        detail: error.to_string(),
    }
}

fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A new task and its creation event, to insert.
type Fresh = (Task<NamedKind>, Event<NamedKind>);

/// Inserts a new task, keeping a copy.
fn insert<S: TaskStore<NamedKind>>(
    store: &S,
    (task, created): &Fresh,
    check: &'static str,
) -> Result<Task<NamedKind>, ConformanceError> {
    store
        .insert(task.clone(), created.clone())
        .map_err(failed(check))?;
    Ok(task.clone())
}

/// Applies `command` to `task` and saves it with its event.
fn apply_saved<S: TaskStore<NamedKind>>(
    store: &S,
    task: &mut Task<NamedKind>,
    command: Command<NamedKind>,
    actor: Actor,
    now: DateTime<Utc>,
    check: &'static str,
) -> Result<(), ConformanceError> {
    let version = task.version();
    let event = task.apply(command, actor, now).map_err(failed(check))?;
    store
        .save(task, version, event.as_slice())
        .map_err(failed(check))
}

struct Maker {
    ids: IdGenerator,
    clock: i64,
}

impl Maker {
    fn new() -> Maker {
        Maker {
            ids: IdGenerator::seeded(0x7E57),
            clock: 0,
        }
    }

    /// A new pending task that blocks other changes on `resource`.
    fn blocking_task(&mut self, resource: &str) -> Result<Fresh, ConformanceError> {
        let (task, _) = self.task("ZonePublish", "acme", resource)?;
        let new = NewTask::new(
            task.id(),
            task.kind().clone(),
            task.owner().clone(),
            task.resource().clone(),
        )
        .blocking(true);
        Task::create(new, Actor::System, task.created_at()).map_err(failed("make a blocking task"))
    }

    /// A new pending task, created one second after the previous one.
    fn task(&mut self, kind: &str, owner: &str, resource: &str) -> Result<Fresh, ConformanceError> {
        self.clock += 1;
        let at = t0() + Duration::seconds(self.clock);
        let new = NewTask::new(
            self.ids.next_id(at),
            NamedKind::new(kind),
            Owner::new(owner),
            ResourceRef::new("domain", resource),
        );
        Task::create(new, Actor::System, at).map_err(failed("make a task"))
    }
}

/// Runs every check on stores made by `make` (a fresh, empty store per
/// check).
///
/// # Errors
///
/// The first [`ConformanceError`].
pub fn check_store<S, F>(make: F) -> Result<(), ConformanceError>
where
    S: TaskStore<NamedKind> + Sync,
    F: Fn() -> S,
{
    round_trip(&make())?;
    compare_and_swap(&make())?;
    refused_saves(&make())?;
    scoping(&make())?;
    scoping_under_filters(&make())?;
    paging_and_filters(&make())?;
    claims(&make())?;
    claim_limit_and_order(&make())?;
    concurrent_claims(&make())?;
    blocking(&make())?;
    expiry_and_retries(&make())?;
    checks_of_waiting_tasks(&make())?;
    Ok(())
}

/// A task with every kind of field filled in, still pending, made
/// through `store` (inserted, then each command saved with its event).
fn rich_task<S: TaskStore<NamedKind>>(
    store: &S,
    maker: &mut Maker,
) -> Result<Task<NamedKind>, ConformanceError> {
    const CHECK: &str = "round trip of every field";
    maker.clock += 1;
    let at = t0() + Duration::seconds(maker.clock);
    let kind = NamedKind::with_rules("DomainCreate", Rules::new().blocking(true))
        .argument(ArgumentSpec::text("legitimacyAfnic", 2, 100));
    let new = NewTask::new(
        maker.ids.next_id(at),
        kind,
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    )
    .title("Create example.fr")
    .comment("ordered")
    .argument("legitimacyAfnic", "mayor's office")
    .subtask(NewSubtask::new("contact", "create the contact"))
    .subtask(NewSubtask::new("whois", "publish the whois").optional())
    .also_on(ResourceRef::new("contact", "c-1"))
    .child_of(maker.ids.next_id(at))
    .todo_at(at + Duration::minutes(1));
    let fresh =
        Task::create(new, Actor::customer("alice"), at).map_err(failed("make a rich task"))?;
    let mut task = insert(store, &fresh, CHECK)?;
    let now = at + Duration::minutes(2);
    let claimed = store
        .claim_due(now, 1, now + Duration::minutes(5), Some("w"))
        .map_err(failed(CHECK))?;
    let claim = claimed
        .into_iter()
        .find(|claim| claim.task.id() == task.id())
        .ok_or_else(|| failed(CHECK)("the rich task was not claimed"))?;
    let run = claim.run;
    task = claim.task;
    for (id, change) in [
        (0, SubtaskChange::Start),
        (0, SubtaskChange::Succeed),
        (1, SubtaskChange::Start),
    ] {
        let version = task.version();
        let event = run
            .subtask(&mut task, id, change, now)
            .map_err(failed("move a subtask"))?;
        store
            .save(&task, version, &[event])
            .map_err(failed(CHECK))?;
    }
    let version = task.version();
    run.heartbeat(
        &mut task,
        now + Duration::minutes(6),
        Some("halfway".into()),
        now,
    )
    .map_err(failed("heartbeat"))?;
    store.save(&task, version, &[]).map_err(failed(CHECK))?;
    let version = task.version();
    let failure = Failure::customer("AFNIC", "justify", now).flag("legitimacyAfnic");
    let event = run.fail(&mut task, failure, now).map_err(failed("fail"))?;
    store
        .save(&task, version, &[event])
        .map_err(failed(CHECK))?;
    apply_saved(
        store,
        &mut task,
        Command::set_argument("legitimacyAfnic", "tourist office"),
        Actor::customer("alice"),
        now,
        CHECK,
    )?;
    apply_saved(
        store,
        &mut task,
        Command::relaunch(),
        Actor::customer("alice"),
        now,
        CHECK,
    )?;
    Ok(task)
}

fn round_trip<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "round trip of every field";
    let mut maker = Maker::new();
    let task = rich_task(store, &mut maker)?;
    let read = store.get(&Scope::Staff, task.id()).map_err(failed(CHECK))?;
    ensure(read.as_ref() == Some(&task), CHECK, || {
        format!("stored {task:?}, read {read:?}")
    })?;
    // The log: every event appended, in order, and it rebuilds the record.
    let log = store
        .log(&Scope::Staff, task.id(), 0, 1_000)
        .map_err(failed("the log"))?;
    task.check_log(&log)
        .map_err(failed("the log rebuilds the record"))?;
    let tail = store
        .log(&Scope::Staff, task.id(), 3, 2)
        .map_err(failed("the log"))?;
    let versions: Vec<u64> = tail.iter().map(|event| event.version).collect();
    let want: Vec<u64> = log
        .iter()
        .map(|event| event.version)
        .filter(|v| *v > 3)
        .take(2)
        .collect();
    ensure(versions == want, "a page of the log", || {
        format!("after 3, 2 events: {versions:?}, want {want:?}")
    })?;
    let hidden = store.log(&Scope::Owner(Owner::new("mallory")), task.id(), 0, 10);
    ensure(
        hidden == Err(StoreError::NotFound { id: task.id() }),
        "the log is scoped",
        || format!("mallory read alice's log: {hidden:?}"),
    )?;
    let (again, created) = Task::create(
        NewTask::new(
            task.id(),
            task.kind().clone(),
            task.owner().clone(),
            task.resource().clone(),
        ),
        Actor::System,
        task.created_at(),
    )
    .map_err(failed(CHECK))?;
    let duplicate = store.insert(again, created);
    ensure(
        duplicate == Err(StoreError::Duplicate { id: task.id() }),
        "duplicate insert refused",
        || format!("{duplicate:?}"),
    )?;
    let (missing, _) = maker.task("DomainCreate", "alice", "missing.fr")?;
    let read = store
        .get(&Scope::Staff, missing.id())
        .map_err(failed(CHECK))?;
    ensure(read.is_none(), "unknown id reads as none", || {
        format!("{read:?}")
    })
}

fn compare_and_swap<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "compare-and-swap";
    let mut maker = Maker::new();
    let task = insert(
        store,
        &maker.task("DomainCreate", "alice", "cas.fr")?,
        CHECK,
    )?;
    let now = t0() + Duration::hours(1);
    let mut first = task.clone();
    let cancelled = first
        .apply(
            Command::Cancel {
                reason: Some("first".into()),
            },
            Actor::customer("alice"),
            now,
        )
        .map_err(failed(CHECK))?;
    let mut second = task.clone();
    let accelerated = second
        .apply(
            Command::set_argument("nothing", "declared"),
            Actor::customer("alice"),
            now,
        )
        .ok()
        .flatten();
    store
        .save(&first, task.version(), cancelled.as_slice())
        .map_err(failed(CHECK))?;
    let late = store.save(&second, task.version(), accelerated.as_slice());
    ensure(
        late == Err(StoreError::Conflict {
            id: task.id(),
            expected: task.version(),
            found: first.version(),
        }),
        CHECK,
        || format!("a save from a stale version gave {late:?}"),
    )?;
    let read = store.get(&Scope::Staff, task.id()).map_err(failed(CHECK))?;
    ensure(read.as_ref() == Some(&first), CHECK, || {
        "the first save was lost".into()
    })?;
    let (unknown, _) = maker.task("DomainCreate", "alice", "nowhere.fr")?;
    let saved = store.save(&unknown, 1, &[]);
    ensure(
        saved == Err(StoreError::NotFound { id: unknown.id() }),
        "save of an unknown task",
        || format!("{saved:?}"),
    )
}

fn scoping<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "tenant scoping";
    let mut maker = Maker::new();
    let alices = insert(store, &maker.task("DomainCreate", "alice", "a.fr")?, CHECK)?;
    let bobs = insert(store, &maker.task("DomainCreate", "bob", "b.fr")?, CHECK)?;
    let alice = Scope::Owner(Owner::new("alice"));
    let read = store.get(&alice, bobs.id()).map_err(failed(CHECK))?;
    ensure(read.is_none(), CHECK, || {
        "a customer read another owner's task".into()
    })?;
    let page = store
        .list(&alice, &Filter::new(), PageRequest::first(10))
        .map_err(failed(CHECK))?;
    let ids: Vec<TaskId> = page.tasks.iter().map(Task::id).collect();
    ensure(ids == [alices.id()], CHECK, || {
        format!("alice listed {ids:?}")
    })?;
    let page = store
        .list(
            &alice,
            &Filter::new().owner(Owner::new("bob")),
            PageRequest::first(10),
        )
        .map_err(failed(CHECK))?;
    ensure(page.tasks.is_empty(), CHECK, || {
        "a filter widened a customer's scope".into()
    })
}

fn ids_of<K>(tasks: &[Task<K>]) -> Vec<TaskId> {
    tasks.iter().map(Task::id).collect()
}

fn paging_and_filters<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "paging and filters";
    let mut maker = Maker::new();
    let parent = insert(store, &maker.task("Parent", "alice", "parent.fr")?, CHECK)?;
    let mut all = vec![parent.clone()];
    for i in 0..25 {
        let mut fresh = maker.task(
            if i % 2 == 0 {
                "DomainCreate"
            } else {
                "DomainTrade"
            },
            if i % 3 == 0 { "alice" } else { "carol" },
            if i % 5 == 0 { "five.fr" } else { "other.fr" },
        )?;
        if i % 4 == 0 {
            let task = &fresh.0;
            let new = NewTask::new(
                task.id(),
                task.kind().clone(),
                task.owner().clone(),
                task.resource().clone(),
            )
            .child_of(parent.id());
            fresh = Task::create(new, Actor::System, task.created_at()).map_err(failed(CHECK))?;
        }
        let mut task = insert(store, &fresh, CHECK)?;
        if i % 7 == 0 {
            let at = task.created_at();
            apply_saved(
                store,
                &mut task,
                Command::Cancel { reason: None },
                Actor::System,
                at,
                CHECK,
            )?;
        }
        all.push(task);
    }
    // Paging: every task once, in id order.
    let mut seen = Vec::new();
    let mut request = PageRequest::first(10);
    loop {
        let page = store
            .list(&Scope::Staff, &Filter::new(), request)
            .map_err(failed(CHECK))?;
        ensure(page.tasks.len() <= 10, CHECK, || {
            "a page longer than its limit".into()
        })?;
        seen.extend(ids_of(&page.tasks));
        match page.next {
            Some(cursor) => request = PageRequest::after(cursor, 10),
            None => break,
        }
    }
    let mut expected = ids_of(&all);
    expected.sort();
    ensure(
        seen == expected,
        "paging in id order without gaps or repeats",
        || {
            format!(
                "listed {} of {} tasks, or out of order",
                seen.len(),
                expected.len()
            )
        },
    )?;
    // Each filter against the documented meaning.
    let filters = [
        Filter::new().resource(ResourceRef::new("domain", "five.fr")),
        Filter::new().kind("DomainTrade"),
        Filter::new().statuses(StatusSet::of(&[Status::Cancelled])),
        Filter::new().statuses(StatusSet::of(&[Status::Pending, Status::Cancelled])),
        Filter::new().owner(Owner::new("alice")),
        Filter::new().parent(parent.id()),
        Filter::new().created(t0() + Duration::seconds(5), t0() + Duration::seconds(12)),
        Filter::new()
            .kind("DomainCreate")
            .owner(Owner::new("carol"))
            .statuses(StatusSet::of(&[Status::Pending])),
    ];
    for filter in filters {
        let page = store
            .list(&Scope::Staff, &filter, PageRequest::first(100))
            .map_err(failed(CHECK))?;
        let mut want: Vec<TaskId> = all
            .iter()
            .filter(|task| filter.matches(&Scope::Staff, task))
            .map(Task::id)
            .collect();
        want.sort();
        let got = ids_of(&page.tasks);
        ensure(got == want, "filters", || {
            format!("{filter:?}: got {got:?}, want {want:?}")
        })?;
    }
    Ok(())
}

fn claims<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "claims of due tasks";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let (later, _) = maker.task("DomainCreate", "alice", "later.fr")?;
    let new = NewTask::new(
        later.id(),
        later.kind().clone(),
        later.owner().clone(),
        later.resource().clone(),
    )
    .todo_at(now + Duration::hours(1));
    let later = Task::create(new, Actor::System, later.created_at()).map_err(failed(CHECK))?;
    let first = maker.task("DomainCreate", "alice", "first.fr")?;
    let second = maker.task("DomainCreate", "alice", "second.fr")?;
    for fresh in [&later, &second, &first] {
        insert(store, fresh, CHECK)?;
    }
    let (first, second) = (first.0, second.0);
    let claimed = store
        .claim_due(now, 10, now + Duration::minutes(5), Some("w1"))
        .map_err(failed(CHECK))?;
    let ids: Vec<TaskId> = claimed.iter().map(|c| c.task.id()).collect();
    ensure(ids == [first.id(), second.id()], CHECK, || {
        format!("claimed {ids:?}: due tasks, oldest due first, not the later one")
    })?;
    for claim in &claimed {
        ensure(claim.task.status() == Status::Running, CHECK, || {
            "a claimed task is not running".into()
        })?;
        let stored = store
            .get(&Scope::Staff, claim.task.id())
            .map_err(failed(CHECK))?;
        ensure(stored.as_ref() == Some(&claim.task), CHECK, || {
            "a claim was not saved".into()
        })?;
        ensure(
            claim
                .task
                .lease()
                .is_some_and(|lease| lease.is_held_by(claim.run.token())),
            CHECK,
            || "the run's token is not the stored lease's".into(),
        )?;
        let log = store
            .log(&Scope::Staff, claim.task.id(), 0, 10)
            .map_err(failed(CHECK))?;
        claim
            .task
            .check_log(&log)
            .map_err(failed("a claim logs its start"))?;
    }
    let again = store
        .claim_due(now, 10, now + Duration::minutes(5), Some("w2"))
        .map_err(failed(CHECK))?;
    ensure(again.is_empty(), CHECK, || {
        "a task was claimed twice".into()
    })
}

fn concurrent_claims<S: TaskStore<NamedKind> + Sync>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "no double claim under concurrency";
    let mut maker = Maker::new();
    let mut ids = BTreeSet::new();
    for i in 0..200 {
        let task = insert(
            store,
            &maker.task("DomainCreate", "alice", &format!("d{i}.fr"))?,
            CHECK,
        )?;
        ids.insert(task.id());
    }
    let now = t0() + Duration::hours(1);
    let results: Vec<Result<Vec<TaskId>, StoreError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let claimed = store.claim_due(now, 3, now + Duration::minutes(5), None)?;
                        if claimed.is_empty() {
                            return Ok(mine);
                        }
                        mine.extend(claimed.iter().map(|c| c.task.id()));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| {
                    Err(StoreError::Backend("a claiming thread panicked".into()))
                })
            })
            .collect()
    });
    let mut claimed = Vec::new();
    for result in results {
        claimed.extend(result.map_err(failed(CHECK))?);
    }
    let unique: BTreeSet<TaskId> = claimed.iter().copied().collect();
    ensure(unique.len() == claimed.len(), CHECK, || {
        format!("{} claims for {} tasks", claimed.len(), unique.len())
    })?;
    ensure(unique == ids, CHECK, || {
        format!("{} of {} tasks claimed", unique.len(), ids.len())
    })
}

fn blocking<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "blocking per resource";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let lease = now + Duration::minutes(5);
    let blocker = maker.blocking_task("zone.com")?;
    let other = maker.task("RecordUpdate", "acme", "zone.com")?;
    let elsewhere = maker.task("RecordUpdate", "acme", "other.com")?;
    insert(store, &blocker, CHECK)?;
    let first = store
        .claim_due(now, 1, lease, None)
        .map_err(failed(CHECK))?;
    ensure(first.len() == 1, CHECK, || {
        "the blocking task was not claimed".into()
    })?;
    let other = insert(store, &other, CHECK)?;
    let elsewhere = insert(store, &elsewhere, CHECK)?;
    let next = store
        .claim_due(now, 10, lease, None)
        .map_err(failed(CHECK))?;
    let ids: Vec<TaskId> = next.iter().map(|c| c.task.id()).collect();
    ensure(ids == [elsewhere.id()], CHECK, || {
        format!("claimed {ids:?} while a blocking task runs on zone.com")
    })?;
    // Once the blocking task is done, the other one goes.
    for claim in first {
        let mut task = claim.task;
        let version = task.version();
        let event = claim
            .run
            .complete(&mut task, Outcome::new(), now)
            .map_err(failed(CHECK))?;
        store
            .save(&task, version, &[event])
            .map_err(failed(CHECK))?;
    }
    let last = store
        .claim_due(now, 10, lease, None)
        .map_err(failed(CHECK))?;
    let ids: Vec<TaskId> = last.iter().map(|c| c.task.id()).collect();
    ensure(ids == [other.id()], CHECK, || {
        format!("claimed {ids:?} after the blocker finished")
    })?;
    // And a new blocking task waits for the one in progress.
    let late_blocker = maker.blocking_task("zone.com")?;
    insert(store, &late_blocker, CHECK)?;
    let waiting = store
        .claim_due(now, 10, lease, None)
        .map_err(failed(CHECK))?;
    ensure(waiting.is_empty(), CHECK, || {
        "a blocking task started beside one in progress".into()
    })
}

fn expiry_and_retries<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "expired leases and due retries";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let short = insert(
        store,
        &maker.task("DomainCreate", "alice", "short.fr")?,
        CHECK,
    )?;
    let long = maker.task("DomainCreate", "alice", "long.fr")?;
    store
        .claim_due(now, 1, now + Duration::minutes(1), None)
        .map_err(failed(CHECK))?;
    insert(store, &long, CHECK)?;
    let claimed = store
        .claim_due(now, 1, now + Duration::hours(1), None)
        .map_err(failed(CHECK))?;
    let later = now + Duration::minutes(2);
    let expired = store.expired(later, 10).map_err(failed(CHECK))?;
    ensure(ids_of(&expired) == [short.id()], CHECK, || {
        format!("expired: {:?}", ids_of(&expired))
    })?;
    // A provider failure whose retry comes due.
    for claim in claimed {
        let mut task = claim.task;
        let version = task.version();
        let event = claim
            .run
            .fail(
                &mut task,
                Failure::provider("DOWN", "registry down", later),
                later,
            )
            .map_err(failed(CHECK))?;
        store
            .save(&task, version, &[event])
            .map_err(failed(CHECK))?;
        let at = task.next_retry_at().unwrap_or(later);
        let early = store
            .retry_due(at - Duration::seconds(1), 10)
            .map_err(failed(CHECK))?;
        ensure(early.is_empty(), CHECK, || "a retry came due early".into())?;
        let due = store.retry_due(at, 10).map_err(failed(CHECK))?;
        ensure(ids_of(&due) == [task.id()], CHECK, || {
            format!("retry due: {:?}", ids_of(&due))
        })?;
    }
    Ok(())
}

fn checks_of_waiting_tasks<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "waiting tasks due for a check";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let waiting = insert(
        store,
        &maker.task("DomainCreate", "alice", "wait.fr")?,
        CHECK,
    )?;
    let claim = store
        .claim_due(now, 1, now + Duration::minutes(1), None)
        .map_err(failed(CHECK))?
        .pop()
        .ok_or_else(|| failed(CHECK)("the task was not claimed"))?;
    let (mut task, run) = (claim.task, claim.run);
    let check_at = now + Duration::minutes(5);
    let until = now + Duration::hours(2);
    let version = task.version();
    let event = run
        .wait(&mut task, Pause::until(until).check_at(check_at), now)
        .map_err(failed(CHECK))?;
    store
        .save(&task, version, &[event])
        .map_err(failed(CHECK))?;
    let early = store
        .checks_due(check_at - Duration::seconds(1), 10)
        .map_err(failed(CHECK))?;
    ensure(early.is_empty(), CHECK, || "a check came due early".into())?;
    let due = store.checks_due(check_at, 10).map_err(failed(CHECK))?;
    ensure(ids_of(&due) == [waiting.id()], CHECK, || {
        format!("checks due: {:?}", ids_of(&due))
    })?;
    let expired = store.expired(check_at, 10).map_err(failed(CHECK))?;
    ensure(expired.is_empty(), CHECK, || {
        "a waiting task due for its check was offered to the stall sweep".into()
    })?;
    // The poller finds nothing yet: it looks again later.
    let later = check_at + Duration::minutes(10);
    let version = task.version();
    run.check_later(&mut task, later, until, check_at)
        .map_err(failed(CHECK))?;
    store.save(&task, version, &[]).map_err(failed(CHECK))?;
    let due = store.checks_due(check_at, 10).map_err(failed(CHECK))?;
    ensure(due.is_empty(), CHECK, || {
        "a check moved later is still offered at its old time".into()
    })?;
    let due = store.checks_due(later, 10).map_err(failed(CHECK))?;
    ensure(ids_of(&due) == [waiting.id()], CHECK, || {
        format!("checks due after check_later: {:?}", ids_of(&due))
    })?;
    // Resumed, it is no one's check any more.
    let version = task.version();
    let event = run
        .resume(&mut task, later + Duration::minutes(5), later)
        .map_err(failed(CHECK))?;
    store
        .save(&task, version, &[event])
        .map_err(failed(CHECK))?;
    let due = store.checks_due(until, 10).map_err(failed(CHECK))?;
    ensure(due.is_empty(), CHECK, || {
        "a resumed task is still offered for a check".into()
    })
}

/// Saves no sequence of commands makes: a copy that skips the stored
/// version (a higher version must not win over the compare-and-swap), a
/// rollback to an older record, another task's record under the same id,
/// a record whose event is not appended.
fn refused_saves<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let first = insert(
        store,
        &maker.task("DomainCreate", "alice", "refused.fr")?,
        "refused saves",
    )?;
    // Alice's copy at version 1; the store moves to version 2.
    let mut moved = first.clone();
    apply_saved(
        store,
        &mut moved,
        Command::Cancel {
            reason: Some("first".into()),
        },
        Actor::customer("alice"),
        now,
        "refused saves",
    )?;
    // A stale copy that took two commands is at version 3, above the
    // stored 2: its save from version 1 must conflict.
    {
        const CHECK: &str = "a save compares the version read, not which is higher";
        let mut stale = first.clone();
        let (run, started) = stale
            .start(now + Duration::minutes(5), None, now)
            .map_err(failed(CHECK))?;
        run.heartbeat(&mut stale, now + Duration::minutes(6), None, now)
            .map_err(failed(CHECK))?;
        let saved = store.save(&stale, first.version(), &[started]);
        ensure(
            matches!(saved, Err(StoreError::Conflict { .. })),
            CHECK,
            || {
                format!(
                    "a stale copy at version {} saved over version {}: {saved:?}",
                    stale.version(),
                    moved.version()
                )
            },
        )?;
    }
    {
        const CHECK: &str = "a save never rolls a record back";
        let saved = store.save(&first, moved.version(), &[]);
        ensure(
            matches!(saved, Err(StoreError::Refused { .. })),
            CHECK,
            || {
                format!(
                    "version 1 saved over version {}: {saved:?}",
                    moved.version()
                )
            },
        )?;
    }
    {
        const CHECK: &str = "a save never replaces a record with another task's";
        let (foreign, _) = Task::create(
            NewTask::new(
                first.id(),
                first.kind().clone(),
                Owner::new("mallory"),
                first.resource().clone(),
            ),
            Actor::customer("mallory"),
            first.created_at(),
        )
        .map_err(failed(CHECK))?;
        // Started and completed: version 3, its last event following the
        // stored log's version 2, so only the identity is wrong.
        let mut foreign = foreign;
        let (run, _) = foreign
            .start(now + Duration::minutes(5), None, now)
            .map_err(failed(CHECK))?;
        let completed = run
            .complete(&mut foreign, Outcome::new(), now)
            .map_err(failed(CHECK))?;
        let saved = store.save(&foreign, moved.version(), &[completed]);
        ensure(saved.is_err(), CHECK, || {
            format!("mallory's record saved under alice's task: {saved:?}")
        })?;
    }
    {
        const CHECK: &str = "a save never drops the events it is given";
        let second = insert(
            store,
            &maker.task("DomainCreate", "alice", "append.fr")?,
            CHECK,
        )?;
        let mut task = second.clone();
        let event = task
            .apply(
                Command::Cancel { reason: None },
                Actor::customer("alice"),
                now,
            )
            .map_err(failed(CHECK))?;
        let without = store.save(&task, second.version(), &[]);
        ensure(without.is_err(), CHECK, || {
            format!("a record saved without its event: {without:?}")
        })?;
        store
            .save(&task, second.version(), event.as_slice())
            .map_err(failed(CHECK))?;
        let log = store
            .log(&Scope::Staff, task.id(), 0, 10)
            .map_err(failed(CHECK))?;
        task.check_log(&log).map_err(failed(CHECK))?;
    }
    let stored = store
        .get(&Scope::Staff, first.id())
        .map_err(failed("refused saves"))?;
    ensure(
        stored.as_ref() == Some(&moved),
        "a refused save changes nothing",
        || format!("stored {stored:?}, want {moved:?}"),
    )
}

/// A customer's scope holds under every filter: kind, resource, status,
/// parent, creation range, and their combinations.
fn scoping_under_filters<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "a customer's scope holds under every filter";
    let mut maker = Maker::new();
    let alices = insert(
        store,
        &maker.task("DomainCreate", "alice", "shared.fr")?,
        CHECK,
    )?;
    let bobs = insert(
        store,
        &maker.task("DomainCreate", "bob", "shared.fr")?,
        CHECK,
    )?;
    let alice = Scope::Owner(Owner::new("alice"));
    let filters = [
        Filter::new().kind("DomainCreate"),
        Filter::new().resource(ResourceRef::new("domain", "shared.fr")),
        Filter::new().statuses(StatusSet::of(&[Status::Pending])),
        Filter::new().created(t0(), t0() + Duration::days(1)),
        Filter::new()
            .kind("DomainCreate")
            .resource(ResourceRef::new("domain", "shared.fr"))
            .statuses(StatusSet::of(&[Status::Pending])),
    ];
    for filter in filters {
        let page = store
            .list(&alice, &filter, PageRequest::first(10))
            .map_err(failed(CHECK))?;
        let ids = ids_of(&page.tasks);
        ensure(ids == [alices.id()], CHECK, || {
            format!(
                "alice listed {ids:?} under {filter:?} (bob's is {})",
                bobs.id()
            )
        })?;
    }
    Ok(())
}

/// A claim takes at most its limit, the oldest due first: by due time,
/// not by creation.
fn claim_limit_and_order<S: TaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    // Created first, due last.
    let (early, _) = maker.task("DomainCreate", "alice", "early.fr")?;
    let new = NewTask::new(
        early.id(),
        early.kind().clone(),
        early.owner().clone(),
        early.resource().clone(),
    )
    .todo_at(t0() + Duration::minutes(30));
    let late_due =
        Task::create(new, Actor::System, early.created_at()).map_err(failed("make a task"))?;
    insert(store, &late_due, "claims by due time")?;
    let mut others = Vec::new();
    for i in 0..4 {
        others.push(insert(
            store,
            &maker.task("DomainCreate", "alice", &format!("due{i}.fr"))?,
            "claims by due time",
        )?);
    }
    {
        const CHECK: &str = "a claim takes at most its limit";
        let claimed = store
            .claim_due(now, 1, now + Duration::minutes(5), None)
            .map_err(failed(CHECK))?;
        ensure(claimed.len() == 1, CHECK, || {
            format!("asked for 1, claimed {}", claimed.len())
        })?;
        const ORDER: &str = "a claim takes the oldest due first, not the oldest created";
        let ids: Vec<TaskId> = claimed.iter().map(|claim| claim.task.id()).collect();
        ensure(ids == [others[0].id()], ORDER, || {
            format!(
                "claimed {ids:?}; {} was created first but is due at {}, {} is due at its creation",
                late_due.0.id(),
                t0() + Duration::minutes(30),
                others[0].id()
            )
        })?;
    }
    const CHECK: &str = "a claim takes at most its limit";
    let claimed = store
        .claim_due(now, 2, now + Duration::minutes(5), None)
        .map_err(failed(CHECK))?;
    ensure(claimed.len() == 2, CHECK, || {
        format!("asked for 2 of 4 due, claimed {}", claimed.len())
    })
}
