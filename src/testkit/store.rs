//! The conformance suites any store runs with one call (feature
//! `testkit`): [`check_store`] for a [`TaskStore`], [`check_async_store`]
//! for an [`AsyncTaskStore`], awaited on the host's own runtime.
//!
//! ```
//! use taskstate::store::MemoryStore;
//! use taskstate::testkit;
//!
//! testkit::store::check_store(testkit::store::shared(MemoryStore::new))?;
//! # Ok::<(), testkit::store::ConformanceError>(())
//! ```
//!
//! Both are given `make`, which returns `n` handles on one new, empty
//! backing store (`n` is 1 for most checks, 2 for the checks that two
//! handles never claim one task and never both take one unique key). A
//! store whose handle is shared through an `Arc` passes
//! [`shared`]`(constructor)`; a store of connections opens `n` of them on
//! one new database.
//!
//! They check, on tasks of [`NamedKind`], each guarantee of the
//! [store contract](super): every field round-trips through insert, saves
//! and get, and the log holds every event saved and rebuilds the record;
//! duplicates and taken unique keys are refused; saves compare and swap
//! and refuse rollbacks, foreign records and lost appends; a customer's
//! scope sees only its own tasks under every filter; listings keep id
//! order and page without gaps or repeats; every filter narrows as
//! documented; claims take at most their limit, highest priority then
//! earliest due first, only of the kinds asked for, start what they take,
//! never hand one task to two claimers, respect blocking, and refuse a
//! request that could start nothing; sweeps find expired leases, due
//! retries, due checks and stalled tasks; `next_due` is the earliest of
//! them (stalled tasks and retries too); purges delete settled tasks and
//! their logs only (never a pending, running or failed task). Blocking is
//! checked against running, waiting and stalled tasks, and among the
//! tasks one claim starts. Each returns the
//! first check that fails, named, and never panics on a store's answer,
//! so a host's test reads `testkit::store::check_store(make).unwrap()`.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::actor::{Actor, Owner};
use crate::argument::ArgumentSpec;
use crate::command::{Command, Event, NewTask, Outcome, ResourceRef};
use crate::failure::{Failure, Origin, Warning};
use crate::id::{IdGenerator, TaskId};
use crate::rules::{NamedKind, Rules};
use crate::status::{Status, StatusSet};
use crate::store::block_on::{Blocking, block_on};
use crate::store::{
    AsyncTaskStore, ClaimRequest, Claimed, Filter, PageRequest, Scope, StoreError, Sweep, TaskStore,
};
use crate::subtask::{NewSubtask, SubtaskChange};
use crate::task::Task;
use crate::task::run::{Pause, Run};

/// `make` for a store whose one value is shared by its handles: each call
/// builds a store with `constructor` and hands out `n` `Arc`s of it.
///
/// ```
/// use taskstate::store::{MemoryStore, Scope, TaskStore};
/// use taskstate::testkit::store::shared;
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// let mut make = shared(MemoryStore::new);
/// let [one, other]: [_; 2] = make(2).try_into().map_err(|_| "two handles")?;
/// let id = task.id();
/// one.insert(task, created)?;
/// assert!(other.get(&Scope::Staff, id)?.is_some()); // one backing store
/// assert!(make(1)[0].is_empty()); // each call, a new one
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn shared<S>(constructor: impl Fn() -> S) -> impl FnMut(usize) -> Vec<Arc<S>> {
    move |n| {
        let store = Arc::new(constructor());
        (0..n).map(|_| Arc::clone(&store)).collect()
    }
}

/// Runs every check on a blocking store: the suite [`check_async_store`]
/// runs, over the store's blocking calls, then claims and inserts of one
/// key from four threads at once.
///
/// A host's test of its own store, here the [`MemoryStore`](crate::store::MemoryStore):
///
/// ```
/// use taskstate::store::MemoryStore;
/// use taskstate::testkit::store::{check_store, shared};
///
/// check_store(shared(MemoryStore::new))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// The first [`ConformanceError`], naming the check that failed: a
/// guarantee of the [store contract](crate::store) the store breaks, a
/// call that fails where it must succeed, or `make` returning fewer
/// handles than asked for.
pub fn check_store<S, F>(mut make: F) -> Result<(), ConformanceError>
where
    S: TaskStore<NamedKind> + Sync,
    F: FnMut(usize) -> Vec<S>,
{
    block_on(check_async_store(|n| {
        make(n).into_iter().map(Blocking).collect::<Vec<_>>()
    }))?;
    concurrent_claims(&one(&mut make)?)?;
    concurrent_keys(&one(&mut make)?)
}

/// Runs every check on an async store; await it on the host's runtime.
///
/// ```
/// use taskstate::store::MemoryStore;
/// use taskstate::testkit::store::{check_async_store, shared};
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     let mut future = std::pin::pin!(future);
/// #     let mut context = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
/// #             return output;
/// #         }
/// #     }
/// # }
/// // `block_on` stands for the host's runtime (`#[tokio::test]`, …).
/// block_on(check_async_store(shared(MemoryStore::new)))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`check_store`]: the first [`ConformanceError`].
pub async fn check_async_store<S, F>(mut make: F) -> Result<(), ConformanceError>
where
    S: AsyncTaskStore<NamedKind>,
    F: FnMut(usize) -> Vec<S>,
{
    round_trip(&one(&mut make)?).await?;
    compare_and_swap(&one(&mut make)?).await?;
    refused_saves(&one(&mut make)?).await?;
    unique_keys(&one(&mut make)?).await?;
    scoping(&one(&mut make)?).await?;
    scoping_under_filters(&one(&mut make)?).await?;
    paging_and_filters(&one(&mut make)?).await?;
    claims(&one(&mut make)?).await?;
    claim_limit_and_order(&one(&mut make)?).await?;
    claim_priority_and_kinds(&one(&mut make)?).await?;
    invalid_claims(&one(&mut make)?).await?;
    claims_from_two_handles(&two(&mut make)?).await?;
    keys_from_two_handles(&two(&mut make)?).await?;
    blocking(&one(&mut make)?).await?;
    blocking_within_one_claim(&one(&mut make)?).await?;
    waiting_and_stalled_tasks_hold_their_resource(&one(&mut make)?).await?;
    expiry_and_retries(&one(&mut make)?).await?;
    checks_of_waiting_tasks(&one(&mut make)?).await?;
    stalled_tasks(&one(&mut make)?).await?;
    next_due(&one(&mut make)?).await?;
    next_due_of_stalled_tasks_and_retries(&one(&mut make)?).await?;
    purge(&one(&mut make)?).await
}

/// One handle on a new backing store.
fn one<S>(make: &mut impl FnMut(usize) -> Vec<S>) -> Result<S, ConformanceError> {
    make(1).into_iter().next().ok_or_else(|| ConformanceError {
        check: "make(1) returns a handle",
        detail: "it returned none".into(),
    })
}

/// Two handles on one new backing store.
fn two<S>(make: &mut impl FnMut(usize) -> Vec<S>) -> Result<[S; 2], ConformanceError> {
    let handles = make(2);
    let count = handles.len();
    <[S; 2]>::try_from(handles).map_err(|_| ConformanceError {
        check: "make(2) returns two handles",
        detail: format!("it returned {count}"),
    })
}

/// Polls every future in turn until all are done: the calls of several
/// handles in flight at once, on the caller's runtime.
struct JoinAll<F: Future> {
    futures: Vec<Pin<Box<F>>>,
    outputs: Vec<Option<F::Output>>,
}

fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> JoinAll<F> {
    let futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let outputs = futures.iter().map(|_| None).collect();
    JoinAll { futures, outputs }
}

impl<F: Future> Future for JoinAll<F>
where
    F::Output: Unpin,
{
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut pending = false;
        for (future, output) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(this.outputs.iter_mut().filter_map(Option::take).collect())
        }
    }
}

/// A conformance check that failed: which, and what the store did.
///
/// ```
/// use taskstate::NamedKind;
/// use taskstate::store::MemoryStore;
/// use taskstate::testkit::store::check_store;
///
/// // A `make` that hands out no store fails the first check.
/// let error = check_store(|_| Vec::<MemoryStore<NamedKind>>::new()).err().ok_or("a failure")?;
/// assert_eq!(error.check, "make(1) returns a handle");
/// assert_eq!(error.detail, "it returned none");
/// assert!(error.to_string().starts_with("store conformance check `make(1) returns a handle`"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
async fn insert<S: AsyncTaskStore<NamedKind>>(
    store: &S,
    (task, created): &Fresh,
    check: &'static str,
) -> Result<Task<NamedKind>, ConformanceError> {
    store
        .insert(task.clone(), created.clone())
        .await
        .map_err(failed(check))?;
    Ok(task.clone())
}

/// Starts `task` at `at` (a lease of five minutes) and saves it: its run.
async fn start_saved<S: AsyncTaskStore<NamedKind>>(
    store: &S,
    task: &mut Task<NamedKind>,
    at: DateTime<Utc>,
    check: &'static str,
) -> Result<Run, ConformanceError> {
    let version = task.version();
    let (run, started) = task
        .start(at + Duration::minutes(5), None, at)
        .map_err(failed(check))?;
    store
        .save(task, version, &[started])
        .await
        .map_err(failed(check))?;
    Ok(run)
}

/// Starts `task` and saves it, then ends its run as `how` says and saves
/// it again: 1 failed by the provider, 3 by the customer, 5 done with a
/// warning, anything else done without.
async fn finish_saved<S: AsyncTaskStore<NamedKind>>(
    store: &S,
    task: &mut Task<NamedKind>,
    how: usize,
    at: DateTime<Utc>,
    check: &'static str,
) -> Result<(), ConformanceError> {
    let run = start_saved(store, task, at, check).await?;
    let version = task.version();
    let ended = match how {
        1 => run.fail(task, Failure::provider("DOWN", "registry down", at), at),
        3 => run.fail(
            task,
            Failure::customer("INVALID", "invalid contact", at),
            at,
        ),
        5 => run.complete(
            task,
            Outcome::new().warning(Warning::new("SLOW", "the registry was slow")),
            at,
        ),
        _ => run.complete(task, Outcome::new(), at),
    }
    .map_err(failed(check))?;
    store
        .save(task, version, &[ended])
        .await
        .map_err(failed(check))
}

/// Applies `command` to `task` and saves it with its event.
async fn apply_saved<S: AsyncTaskStore<NamedKind>>(
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
        .await
        .map_err(failed(check))
}

/// The tasks `store` starts for `request`, or the check failed.
async fn claimed_by<S: AsyncTaskStore<NamedKind>>(
    store: &S,
    request: &ClaimRequest,
    check: &'static str,
) -> Result<Vec<Claimed<NamedKind>>, ConformanceError> {
    store
        .claim(request)
        .await
        .map(|claims| claims.claimed)
        .map_err(failed(check))
}

/// Ends the claimed run with a provider failure at `at` and saves it:
/// the task, failed, with its retry scheduled by the standard rules.
async fn provider_failed_saved<S: AsyncTaskStore<NamedKind>>(
    store: &S,
    Claimed { mut task, run }: Claimed<NamedKind>,
    at: DateTime<Utc>,
    check: &'static str,
) -> Result<Task<NamedKind>, ConformanceError> {
    let version = task.version();
    let event = run
        .fail(
            &mut task,
            Failure::provider("DOWN", "registry down", at),
            at,
        )
        .map_err(failed(check))?;
    store
        .save(&task, version, &[event])
        .await
        .map_err(failed(check))?;
    Ok(task)
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

/// A task with every kind of field filled in, still pending, made
/// through `store` (inserted, then each command saved with its event).
async fn rich_task<S: AsyncTaskStore<NamedKind>>(
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
    let mut task = insert(store, &fresh, CHECK).await?;
    let now = at + Duration::minutes(2);
    let claimed = store
        .claim(
            &ClaimRequest::new(now, now + Duration::minutes(5))
                .limit(1)
                .worker("w"),
        )
        .await
        .map(|claims| claims.claimed)
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
            .await
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
    store
        .save(&task, version, &[])
        .await
        .map_err(failed(CHECK))?;
    let version = task.version();
    let failure = Failure::customer("AFNIC", "justify", now).flag("legitimacyAfnic");
    let event = run.fail(&mut task, failure, now).map_err(failed("fail"))?;
    store
        .save(&task, version, &[event])
        .await
        .map_err(failed(CHECK))?;
    apply_saved(
        store,
        &mut task,
        Command::set_argument("legitimacyAfnic", "tourist office"),
        Actor::customer("alice"),
        now,
        CHECK,
    )
    .await?;
    apply_saved(
        store,
        &mut task,
        Command::relaunch(),
        Actor::customer("alice"),
        now,
        CHECK,
    )
    .await?;
    Ok(task)
}

async fn round_trip<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "round trip of every field";
    let mut maker = Maker::new();
    let task = rich_task(store, &mut maker).await?;
    let read = store
        .get(&Scope::Staff, task.id())
        .await
        .map_err(failed(CHECK))?;
    ensure(read.as_ref() == Some(&task), CHECK, || {
        format!("stored {task:?}, read {read:?}")
    })?;
    // The log: every event appended, in order, and it rebuilds the record.
    let log = store
        .log(&Scope::Staff, task.id(), 0, 1_000)
        .await
        .map_err(failed("the log"))?;
    task.check_log(&log)
        .map_err(failed("the log rebuilds the record"))?;
    let tail = store
        .log(&Scope::Staff, task.id(), 3, 2)
        .await
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
    let hidden = store
        .log(&Scope::Owner(Owner::new("mallory")), task.id(), 0, 10)
        .await;
    ensure(
        matches!(&hidden, Err(StoreError::NotFound { id }) if *id == task.id()),
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
    let duplicate = store.insert(again, created).await;
    ensure(
        matches!(&duplicate, Err(StoreError::Duplicate { id }) if *id == task.id()),
        "duplicate insert refused",
        || format!("{duplicate:?}"),
    )?;
    let (missing, _) = maker.task("DomainCreate", "alice", "missing.fr")?;
    let read = store
        .get(&Scope::Staff, missing.id())
        .await
        .map_err(failed(CHECK))?;
    ensure(read.is_none(), "unknown id reads as none", || {
        format!("{read:?}")
    })
}

async fn compare_and_swap<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "compare-and-swap";
    let mut maker = Maker::new();
    let task = insert(
        store,
        &maker.task("DomainCreate", "alice", "cas.fr")?,
        CHECK,
    )
    .await?;
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
        .await
        .map_err(failed(CHECK))?;
    let late = store
        .save(&second, task.version(), accelerated.as_slice())
        .await;
    ensure(
        matches!(&late, Err(StoreError::Conflict { id, expected, found })
            if *id == task.id() && *expected == task.version() && *found == first.version()),
        CHECK,
        || format!("a save from a stale version gave {late:?}"),
    )?;
    let read = store
        .get(&Scope::Staff, task.id())
        .await
        .map_err(failed(CHECK))?;
    ensure(read.as_ref() == Some(&first), CHECK, || {
        "the first save was lost".into()
    })?;
    let (unknown, _) = maker.task("DomainCreate", "alice", "nowhere.fr")?;
    let saved = store.save(&unknown, 1, &[]).await;
    ensure(
        matches!(&saved, Err(StoreError::NotFound { id }) if *id == unknown.id()),
        "save of an unknown task",
        || format!("{saved:?}"),
    )
}

async fn scoping<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "tenant scoping";
    let mut maker = Maker::new();
    let alices = insert(store, &maker.task("DomainCreate", "alice", "a.fr")?, CHECK).await?;
    let bobs = insert(store, &maker.task("DomainCreate", "bob", "b.fr")?, CHECK).await?;
    let alice = Scope::Owner(Owner::new("alice"));
    let read = store.get(&alice, bobs.id()).await.map_err(failed(CHECK))?;
    ensure(read.is_none(), CHECK, || {
        "a customer read another owner's task".into()
    })?;
    let page = store
        .list(&alice, &Filter::new(), PageRequest::first(10))
        .await
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
        .await
        .map_err(failed(CHECK))?;
    ensure(page.tasks.is_empty(), CHECK, || {
        "a filter widened a customer's scope".into()
    })
}

fn ids_of<K>(tasks: &[Task<K>]) -> Vec<TaskId> {
    tasks.iter().map(Task::id).collect()
}

async fn paging_and_filters<S: AsyncTaskStore<NamedKind>>(
    store: &S,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "paging and filters";
    let mut maker = Maker::new();
    let parent = insert(store, &maker.task("Parent", "alice", "parent.fr")?, CHECK).await?;
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
        let mut task = insert(store, &fresh, CHECK).await?;
        let at = task.created_at();
        if i % 7 == 0 {
            apply_saved(
                store,
                &mut task,
                Command::Cancel { reason: None },
                Actor::System,
                at,
                CHECK,
            )
            .await?;
        } else if i % 6 != 0 && i % 6 != 4 {
            // Failed by either party, done with or without warnings: what
            // the failure-origin and warnings filters tell apart.
            finish_saved(store, &mut task, i % 6, at, CHECK).await?;
        } else if i % 6 == 4 {
            // Left running (four of them): a store may keep running
            // tasks apart (the SQLite store's status index leaves them
            // out).
            let _left_running = start_saved(store, &mut task, at, CHECK).await?;
        }
        all.push(task);
    }
    // Paging: every task once, in id order.
    let mut seen = Vec::new();
    let mut request = PageRequest::first(10);
    loop {
        let page = store
            .list(&Scope::Staff, &Filter::new(), request)
            .await
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
        Filter::new().statuses(StatusSet::of(&[Status::Running])),
        Filter::new()
            .statuses(StatusSet::of(&[Status::Running]))
            .owner(Owner::new("carol")),
        Filter::new().statuses(StatusSet::of(&[Status::Pending, Status::Cancelled])),
        Filter::new().owner(Owner::new("alice")),
        Filter::new().parent(parent.id()),
        Filter::new().created(t0() + Duration::seconds(5), t0() + Duration::seconds(12)),
        Filter::new()
            .kind("DomainCreate")
            .owner(Owner::new("carol"))
            .statuses(StatusSet::of(&[Status::Pending])),
        Filter::new().failure_origin(Origin::Provider),
        Filter::new()
            .statuses(StatusSet::of(&[Status::Failed]))
            .failure_origin(Origin::Customer),
        Filter::new().warnings(true),
        Filter::new()
            .statuses(StatusSet::of(&[Status::Done]))
            .warnings(false),
        Filter::new()
            .statuses(StatusSet::of(&[
                Status::Running,
                Status::Failed,
                Status::Done,
            ]))
            .failure_origin(Origin::Provider)
            .warnings(true),
    ];
    for filter in &filters {
        let page = store
            .list(&Scope::Staff, filter, PageRequest::first(100))
            .await
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
        // And a page at a time: the same tasks, in the same order.
        let mut paged = Vec::new();
        let mut request = PageRequest::first(2);
        for _ in 0..=all.len() {
            let page = store
                .list(&Scope::Staff, filter, request)
                .await
                .map_err(failed(CHECK))?;
            paged.extend(ids_of(&page.tasks));
            match page.next {
                Some(cursor) => request = PageRequest::after(cursor, 2),
                None => break,
            }
        }
        ensure(paged == want, "filters", || {
            format!("{filter:?} by pages of 2: got {paged:?}, want {want:?}")
        })?;
    }
    Ok(())
}

async fn claims<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
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
        insert(store, fresh, CHECK).await?;
    }
    let (first, second) = (first.0, second.0);
    let claimed = store
        .claim(
            &ClaimRequest::new(now, now + Duration::minutes(5))
                .limit(10)
                .worker("w1"),
        )
        .await
        .map(|claims| claims.claimed)
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
            .await
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
            .await
            .map_err(failed(CHECK))?;
        claim
            .task
            .check_log(&log)
            .map_err(failed("a claim logs its start"))?;
    }
    let again = store
        .claim(
            &ClaimRequest::new(now, now + Duration::minutes(5))
                .limit(10)
                .worker("w2"),
        )
        .await
        .map(|claims| claims.claimed)
        .map_err(failed(CHECK))?;
    ensure(again.is_empty(), CHECK, || {
        "a task was claimed twice".into()
    })
}

/// Inserts `count` due tasks through `store`, returning their ids.
async fn due_tasks<S: AsyncTaskStore<NamedKind>>(
    store: &S,
    maker: &mut Maker,
    count: usize,
    check: &'static str,
) -> Result<BTreeSet<TaskId>, ConformanceError> {
    let mut ids = BTreeSet::new();
    for i in 0..count {
        let fresh = maker.task("DomainCreate", "alice", &format!("d{i}.fr"))?;
        ids.insert(insert(store, &fresh, check).await?.id());
    }
    Ok(ids)
}

/// Every task claimed once and once only, by the claims of all workers.
fn claimed_once(
    check: &'static str,
    results: Vec<Result<Vec<TaskId>, StoreError>>,
    ids: &BTreeSet<TaskId>,
) -> Result<(), ConformanceError> {
    let mut claimed = Vec::new();
    for result in results {
        claimed.extend(result.map_err(failed(check))?);
    }
    let unique: BTreeSet<TaskId> = claimed.iter().copied().collect();
    ensure(unique.len() == claimed.len(), check, || {
        format!("{} claims for {} tasks", claimed.len(), unique.len())
    })?;
    ensure(unique == *ids, check, || {
        format!("{} of {} tasks claimed", unique.len(), ids.len())
    })
}

/// Four threads claim from one handle at once.
fn concurrent_claims<S: TaskStore<NamedKind> + Sync>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "no double claim from threads at once";
    let ids = block_on(due_tasks(&Blocking(store), &mut Maker::new(), 200, CHECK))?;
    let now = t0() + Duration::hours(1);
    let request = ClaimRequest::new(now, now + Duration::minutes(5)).limit(3);
    let results: Vec<Result<Vec<TaskId>, StoreError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let claims = store.claim(&request)?;
                        if claims.claimed.is_empty() {
                            return Ok(mine);
                        }
                        mine.extend(claims.claimed.iter().map(|c| c.task.id()));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| {
                    Err(StoreError::backend("a claiming thread panicked", false))
                })
            })
            .collect()
    });
    claimed_once(CHECK, results, &ids)
}

/// Claims until none is left, from one handle, letting the other
/// handles' claims run between its own.
async fn claim_all<S: AsyncTaskStore<NamedKind>>(
    store: &S,
    request: &ClaimRequest,
) -> Result<Vec<TaskId>, StoreError> {
    let mut mine = Vec::new();
    loop {
        let claims = store.claim(request).await?;
        if claims.claimed.is_empty() {
            return Ok(mine);
        }
        mine.extend(claims.claimed.iter().map(|c| c.task.id()));
        YieldNow(false).await;
    }
}

/// Pending once: lets the other futures of a [`join_all`] run.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Two handles on one backing store claim at once.
async fn claims_from_two_handles<S: AsyncTaskStore<NamedKind>>(
    handles: &[S; 2],
) -> Result<(), ConformanceError> {
    const CHECK: &str = "no double claim from two handles on one store";
    let ids = due_tasks(&handles[0], &mut Maker::new(), 100, CHECK).await?;
    let now = t0() + Duration::hours(1);
    let request = ClaimRequest::new(now, now + Duration::minutes(5)).limit(3);
    let results = join_all(handles.iter().map(|handle| claim_all(handle, &request))).await;
    claimed_once(CHECK, results, &ids)
}

/// A task holding `key`, created at `t0` plus `second` seconds.
fn keyed(maker: &mut Maker, key: &str, resource: &str) -> Result<Fresh, ConformanceError> {
    let (task, _) = maker.task("DomainCreate", "alice", resource)?;
    let new = NewTask::new(
        task.id(),
        task.kind().clone(),
        task.owner().clone(),
        task.resource().clone(),
    )
    .unique_key(key);
    Task::create(new, Actor::customer("alice"), task.created_at()).map_err(failed("make a task"))
}

/// One live task per unique key; the refusal names the holder; the key is
/// free again once the holder is done or cancelled.
async fn unique_keys<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "one live task per unique key";
    let mut maker = Maker::new();
    let first = insert(
        store,
        &keyed(&mut maker, "order:example.fr", "example.fr")?,
        CHECK,
    )
    .await?;
    let (second, created) = keyed(&mut maker, "order:example.fr", "example.fr")?;
    let refused = store.insert(second.clone(), created.clone()).await;
    ensure(
        matches!(&refused, Err(StoreError::KeyTaken { key, holder })
            if key == "order:example.fr" && *holder == first.id()),
        CHECK,
        || format!("a second task with a live task's key: {refused:?}"),
    )?;
    let absent = store.get(&Scope::Staff, second.id()).await;
    ensure(matches!(absent, Ok(None)), CHECK, || {
        format!("the refused task was stored: {absent:?}")
    })?;
    let other = insert(
        store,
        &keyed(&mut maker, "order:other.fr", "other.fr")?,
        CHECK,
    )
    .await?;
    ensure(other.unique_key() == Some("order:other.fr"), CHECK, || {
        "another key was refused".into()
    })?;
    let mut first = first;
    let at = first.created_at();
    apply_saved(
        store,
        &mut first,
        Command::Cancel { reason: None },
        Actor::customer("alice"),
        at,
        CHECK,
    )
    .await?;
    store
        .insert(second, created)
        .await
        .map_err(failed("a cancelled task frees its unique key"))
}

/// Two handles insert tasks of one key at once: one wins.
async fn keys_from_two_handles<S: AsyncTaskStore<NamedKind>>(
    handles: &[S; 2],
) -> Result<(), ConformanceError> {
    const CHECK: &str = "one unique key, two handles inserting at once";
    let mut maker = Maker::new();
    let mut fresh = Vec::new();
    for _ in 0..2 {
        fresh.push(keyed(&mut maker, "order:race.fr", "race.fr")?);
    }
    let results = join_all(
        handles
            .iter()
            .zip(fresh)
            .map(|(handle, (task, created))| handle.insert(task, created)),
    )
    .await;
    let won = results.iter().filter(|result| result.is_ok()).count();
    let refused = results
        .iter()
        .filter(|result| matches!(result, Err(StoreError::KeyTaken { .. })))
        .count();
    ensure(won == 1 && refused == 1, CHECK, || {
        format!("two inserts of one key gave {results:?}")
    })
}

/// Four threads insert tasks of one key at once: one wins.
fn concurrent_keys<S: TaskStore<NamedKind> + Sync>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "one unique key, threads inserting at once";
    let mut maker = Maker::new();
    let mut fresh = Vec::new();
    for _ in 0..4 {
        fresh.push(keyed(&mut maker, "order:race.fr", "race.fr")?);
    }
    let results: Vec<Result<(), StoreError>> = std::thread::scope(|scope| {
        let inserts: Vec<_> = fresh
            .into_iter()
            .map(|(task, created)| scope.spawn(move || store.insert(task, created)))
            .collect();
        inserts
            .into_iter()
            .map(|insert| {
                insert.join().unwrap_or_else(|_| {
                    Err(StoreError::backend("an inserting thread panicked", false))
                })
            })
            .collect()
    });
    let won = results.iter().filter(|result| result.is_ok()).count();
    ensure(won == 1, CHECK, || {
        format!("four inserts of one key gave {results:?}")
    })
}

/// A pending task with a priority and kind, due at its creation.
fn ranked(
    maker: &mut Maker,
    kind: &str,
    priority: i32,
    resource: &str,
) -> Result<Fresh, ConformanceError> {
    let (task, _) = maker.task(kind, "alice", resource)?;
    let new = NewTask::new(
        task.id(),
        task.kind().clone(),
        task.owner().clone(),
        task.resource().clone(),
    )
    .priority(priority);
    Task::create(new, Actor::System, task.created_at()).map_err(failed("make a task"))
}

fn claimed_ids<K>(claimed: &[Claimed<K>]) -> Vec<TaskId> {
    claimed.iter().map(|claim| claim.task.id()).collect()
}

/// Higher priorities first, then earlier due; a kinds filter claims only
/// those kinds.
async fn claim_priority_and_kinds<S: AsyncTaskStore<NamedKind>>(
    store: &S,
) -> Result<(), ConformanceError> {
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let lease = now + Duration::minutes(5);
    let low = insert(
        store,
        &ranked(&mut maker, "DomainCreate", -1, "low.fr")?,
        "priorities",
    )
    .await?;
    let normal = insert(
        store,
        &ranked(&mut maker, "DomainCreate", 0, "normal.fr")?,
        "priorities",
    )
    .await?;
    let urgent = insert(
        store,
        &ranked(&mut maker, "DomainCreate", 5, "urgent.fr")?,
        "priorities",
    )
    .await?;
    let dns = insert(
        store,
        &ranked(&mut maker, "ZonePublish", 9, "zone.com")?,
        "priorities",
    )
    .await?;
    {
        const CHECK: &str = "a claim of some kinds takes only those";
        let claims = store
            .claim(
                &ClaimRequest::new(now, lease)
                    .limit(10)
                    .kinds(["ZonePublish"]),
            )
            .await
            .map_err(failed(CHECK))?;
        let ids = claimed_ids(&claims.claimed);
        ensure(ids == [dns.id()], CHECK, || {
            format!("a ZonePublish claim took {ids:?}")
        })?;
        let none = store
            .claim(
                &ClaimRequest::new(now, lease)
                    .limit(10)
                    .kinds(["RecordUpdate"]),
            )
            .await
            .map_err(failed(CHECK))?;
        ensure(none.claimed.is_empty(), CHECK, || {
            format!(
                "a claim of a kind with no task took {:?}",
                claimed_ids(&none.claimed)
            )
        })?;
    }
    const CHECK: &str = "a claim takes the highest priority first, then the earliest due";
    let claims = store
        .claim(
            &ClaimRequest::new(now, lease)
                .limit(10)
                .kinds(["DomainCreate", "Other"]),
        )
        .await
        .map_err(failed(CHECK))?;
    let ids = claimed_ids(&claims.claimed);
    let want = [urgent.id(), normal.id(), low.id()];
    ensure(ids == want, CHECK, || {
        format!("claimed {ids:?}, want priorities 5, 0, -1: {want:?}")
    })
}

/// Claims that could start nothing are refused, and start nothing.
async fn invalid_claims<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "a claim that could start nothing is refused";
    let mut maker = Maker::new();
    let task = insert(
        store,
        &maker.task("DomainCreate", "alice", "idle.fr")?,
        CHECK,
    )
    .await?;
    let now = t0() + Duration::hours(1);
    let requests = [
        ClaimRequest::new(now, now),
        ClaimRequest::new(now, now - Duration::seconds(1)),
        ClaimRequest::new(now, now + Duration::minutes(5)).limit(0),
        ClaimRequest::new(now, now + Duration::minutes(5)).kinds(Vec::<String>::new()),
    ];
    for request in requests {
        let claims = store.claim(&request).await;
        ensure(
            matches!(claims, Err(StoreError::InvalidRequest { .. })),
            CHECK,
            || format!("{request:?} gave {claims:?}"),
        )?;
    }
    let stored = store
        .get(&Scope::Staff, task.id())
        .await
        .map_err(failed(CHECK))?;
    ensure(
        stored.as_ref().map(Task::status) == Some(Status::Pending),
        CHECK,
        || format!("a refused claim moved the task: {stored:?}"),
    )
}

/// A stalled task is found by the stalled sweep until it moves on.
async fn stalled_tasks<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "stalled tasks are swept";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let stalled = insert(
        store,
        &maker.task("DomainCreate", "alice", "stall.fr")?,
        CHECK,
    )
    .await?;
    insert(
        store,
        &maker.task("DomainCreate", "alice", "fine.fr")?,
        CHECK,
    )
    .await?;
    let claims = store
        .claim(&ClaimRequest::new(now, now + Duration::minutes(1)).limit(1))
        .await
        .map_err(failed(CHECK))?;
    let mut task = claims
        .claimed
        .into_iter()
        .map(|claim| claim.task)
        .find(|task| task.id() == stalled.id())
        .ok_or_else(|| failed(CHECK)("the first task was not claimed"))?;
    let later = now + Duration::minutes(2);
    let none = store
        .sweep(Sweep::Stalled, later, 10)
        .await
        .map_err(failed(CHECK))?;
    ensure(none.tasks.is_empty(), CHECK, || {
        "a running task was swept as stalled".into()
    })?;
    apply_saved(
        store,
        &mut task,
        Command::MarkStalled,
        Actor::System,
        later,
        CHECK,
    )
    .await?;
    let swept = store
        .sweep(Sweep::Stalled, later, 10)
        .await
        .map_err(failed(CHECK))?;
    ensure(ids_of(&swept.tasks) == [stalled.id()], CHECK, || {
        format!("stalled sweep: {:?}", ids_of(&swept.tasks))
    })?;
    let expired = store
        .sweep(Sweep::ExpiredLeases, later, 10)
        .await
        .map_err(failed(CHECK))?;
    ensure(expired.tasks.is_empty(), CHECK, || {
        "a stalled task is still offered as an expired lease".into()
    })?;
    apply_saved(
        store,
        &mut task,
        Command::Requeue { todo_at: None },
        Actor::System,
        later,
        CHECK,
    )
    .await?;
    let swept = store
        .sweep(Sweep::Stalled, later, 10)
        .await
        .map_err(failed(CHECK))?;
    ensure(swept.tasks.is_empty(), CHECK, || {
        "a requeued task is still swept as stalled".into()
    })
}

/// The earliest time anything is due: a pending task of the kinds asked
/// for, a lease running out, a retry.
async fn next_due<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "the next due time";
    let due = store.next_due(None).await.map_err(failed(CHECK))?;
    ensure(due.is_none(), CHECK, || {
        format!("an empty store is due at {due:?}")
    })?;
    let mut maker = Maker::new();
    let (task, _) = maker.task("DomainCreate", "alice", "soon.fr")?;
    let at = t0() + Duration::hours(3);
    let new = NewTask::new(
        task.id(),
        task.kind().clone(),
        task.owner().clone(),
        task.resource().clone(),
    )
    .todo_at(at);
    let fresh = Task::create(new, Actor::System, task.created_at()).map_err(failed(CHECK))?;
    insert(store, &fresh, CHECK).await?;
    let due = store.next_due(None).await.map_err(failed(CHECK))?;
    ensure(due == Some(at), CHECK, || {
        format!("a task due at {at} gave {due:?}")
    })?;
    let kinds: BTreeSet<String> = ["ZonePublish".to_owned()].into();
    let other = store.next_due(Some(&kinds)).await.map_err(failed(CHECK))?;
    ensure(other.is_none(), CHECK, || {
        format!("a kind with no task is due at {other:?}")
    })?;
    // Claimed, it is due again when its lease runs out.
    let lease = at + Duration::minutes(5);
    let claims = store
        .claim(&ClaimRequest::new(at, lease).limit(1))
        .await
        .map_err(failed(CHECK))?;
    ensure(claims.claimed.len() == 1, CHECK, || {
        "the due task was not claimed".into()
    })?;
    let due = store.next_due(Some(&kinds)).await.map_err(failed(CHECK))?;
    ensure(due == Some(lease), CHECK, || {
        format!("a lease running out at {lease} gave {due:?}")
    })
}

/// `next_due` counts a stalled task (due since it stalled: the sweeper
/// has it to move on) and a failed task's retry, not only pending tasks
/// and leases: a worker sleeping until then would sleep through them.
async fn next_due_of_stalled_tasks_and_retries<S: AsyncTaskStore<NamedKind>>(
    store: &S,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "the next due time of stalled tasks and retries";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let mut stuck = insert(
        store,
        &maker.task("DomainCreate", "alice", "stuck.fr")?,
        CHECK,
    )
    .await?;
    let claimed = claimed_by(
        store,
        &ClaimRequest::new(now, now + Duration::minutes(1)).limit(1),
        CHECK,
    )
    .await?;
    ensure(claimed_ids(&claimed) == [stuck.id()], CHECK, || {
        format!("claimed {:?}", claimed_ids(&claimed))
    })?;
    if let Some(claim) = claimed.into_iter().next() {
        stuck = claim.task;
    }
    let stalled_at = now + Duration::minutes(2);
    apply_saved(
        store,
        &mut stuck,
        Command::MarkStalled,
        Actor::System,
        stalled_at,
        CHECK,
    )
    .await?;
    let due = store.next_due(None).await.map_err(failed(CHECK))?;
    ensure(due == Some(stalled_at), CHECK, || {
        format!("a task stalled at {stalled_at} gave {due:?}")
    })?;
    // Requeued for much later, it is out of the way.
    let much_later = now + Duration::days(30);
    apply_saved(
        store,
        &mut stuck,
        Command::Requeue {
            todo_at: Some(much_later),
        },
        Actor::System,
        stalled_at,
        CHECK,
    )
    .await?;
    insert(
        store,
        &maker.task("DomainCreate", "alice", "flaky.fr")?,
        CHECK,
    )
    .await?;
    let at = now + Duration::minutes(3);
    let claimed = claimed_by(
        store,
        &ClaimRequest::new(at, at + Duration::minutes(5)).limit(1),
        CHECK,
    )
    .await?;
    let Some(claim) = claimed.into_iter().next() else {
        return Err(failed(CHECK)("the due task was not claimed"));
    };
    let task = provider_failed_saved(store, claim, at, CHECK).await?;
    let retry = task.next_retry_at();
    ensure(retry.is_some_and(|retry| retry < much_later), CHECK, || {
        format!("a provider failure's retry is at {retry:?}")
    })?;
    let due = store.next_due(None).await.map_err(failed(CHECK))?;
    ensure(due == retry, CHECK, || {
        format!("a retry due at {retry:?} gave {due:?}")
    })
}

/// Purges delete done and cancelled tasks settled before the time, in
/// batches, with their logs; failed, running and pending tasks stay, all
/// of them changed last before that time.
async fn purge<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "purge of settled tasks";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let mut settled = Vec::new();
    for (i, minutes) in [10, 20].into_iter().enumerate() {
        let mut task = insert(
            store,
            &maker.task("DomainCreate", "alice", &format!("old{i}.fr"))?,
            CHECK,
        )
        .await?;
        let at = now + Duration::minutes(minutes);
        apply_saved(
            store,
            &mut task,
            Command::Cancel { reason: None },
            Actor::System,
            at,
            CHECK,
        )
        .await?;
        settled.push(task);
    }
    let mut recent = insert(
        store,
        &maker.task("DomainCreate", "alice", "recent.fr")?,
        CHECK,
    )
    .await?;
    let late = now + Duration::hours(5);
    apply_saved(
        store,
        &mut recent,
        Command::Cancel { reason: None },
        Actor::System,
        late,
        CHECK,
    )
    .await?;
    // Pending, due long after the purge's time (so no claim takes it).
    let (task, _) = maker.task("DomainCreate", "alice", "live.fr")?;
    let new = NewTask::new(
        task.id(),
        task.kind().clone(),
        task.owner().clone(),
        task.resource().clone(),
    )
    .todo_at(now + Duration::days(30));
    let live = Task::create(new, Actor::System, task.created_at()).map_err(failed(CHECK))?;
    let live = insert(store, &live, CHECK).await?;
    for domain in ["failing.fr", "running.fr"] {
        insert(store, &maker.task("DomainCreate", "alice", domain)?, CHECK).await?;
    }
    let claims = store
        .claim(&ClaimRequest::new(now, now + Duration::minutes(1)).limit(2))
        .await
        .map_err(failed(CHECK))?;
    ensure(claims.claimed.len() == 2, CHECK, || {
        format!("claimed {} of the two due tasks", claims.claimed.len())
    })?;
    let mut failed_task = None;
    let mut running = Vec::new();
    for (i, claim) in claims.claimed.into_iter().enumerate() {
        if i == 1 {
            // Left running.
            running.push(claim.task.id());
            continue;
        }
        let mut task = claim.task;
        let version = task.version();
        let failure = Failure::customer("MISSING", "a document is missing", now);
        let event = claim
            .run
            .fail(&mut task, failure, now)
            .map_err(failed(CHECK))?;
        store
            .save(&task, version, &[event])
            .await
            .map_err(failed(CHECK))?;
        failed_task = Some(task);
    }
    let before = now + Duration::hours(2);
    let mut purged = Vec::new();
    for _ in 0..3 {
        purged.push(store.purge(before, 1).await.map_err(failed(CHECK))?);
    }
    ensure(purged == [1, 1, 0], CHECK, || {
        format!("purges of 1 at a time deleted {purged:?}, want [1, 1, 0]")
    })?;
    for task in &settled {
        let read = store
            .get(&Scope::Staff, task.id())
            .await
            .map_err(failed(CHECK))?;
        ensure(read.is_none(), CHECK, || {
            format!("purged task {} is still read", task.id())
        })?;
        let log = store.log(&Scope::Staff, task.id(), 0, 10).await;
        ensure(
            matches!(log, Err(StoreError::NotFound { .. })),
            CHECK,
            || {
                format!(
                    "the log of purged task {} is still read: {log:?}",
                    task.id()
                )
            },
        )?;
    }
    let mut kept = vec![recent.id(), live.id()];
    kept.extend(failed_task.as_ref().map(Task::id));
    kept.extend(running);
    for id in kept {
        let read = store.get(&Scope::Staff, id).await.map_err(failed(CHECK))?;
        ensure(read.is_some(), CHECK, || {
            format!(
                "task {id} was purged: it settled after the time, or is not done or cancelled \
                 (pending, running or failed)"
            )
        })?;
    }
    Ok(())
}

async fn blocking<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    const CHECK: &str = "blocking per resource";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let lease = now + Duration::minutes(5);
    let blocker = maker.blocking_task("zone.com")?;
    let other = maker.task("RecordUpdate", "acme", "zone.com")?;
    let elsewhere = maker.task("RecordUpdate", "acme", "other.com")?;
    insert(store, &blocker, CHECK).await?;
    let first = claimed_by(store, &ClaimRequest::new(now, lease).limit(1), CHECK).await?;
    ensure(first.len() == 1, CHECK, || {
        "the blocking task was not claimed".into()
    })?;
    let other = insert(store, &other, CHECK).await?;
    let elsewhere = insert(store, &elsewhere, CHECK).await?;
    let next = claimed_by(store, &ClaimRequest::new(now, lease).limit(10), CHECK).await?;
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
            .await
            .map_err(failed(CHECK))?;
    }
    let last = claimed_by(store, &ClaimRequest::new(now, lease).limit(10), CHECK).await?;
    let ids: Vec<TaskId> = last.iter().map(|c| c.task.id()).collect();
    ensure(ids == [other.id()], CHECK, || {
        format!("claimed {ids:?} after the blocker finished")
    })?;
    // And a new blocking task waits for the one in progress.
    let late_blocker = maker.blocking_task("zone.com")?;
    insert(store, &late_blocker, CHECK).await?;
    let waiting = claimed_by(store, &ClaimRequest::new(now, lease).limit(10), CHECK).await?;
    ensure(waiting.is_empty(), CHECK, || {
        "a blocking task started beside one in progress".into()
    })
}

/// A claim for several tasks holds the blocking rule among the tasks it
/// starts, not only against those in progress before it: of a blocking
/// task and another on one resource it starts one, and two tasks that do
/// not block share theirs.
async fn blocking_within_one_claim<S: AsyncTaskStore<NamedKind>>(
    store: &S,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "blocking holds among the tasks of one claim";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let blocker = insert(store, &maker.blocking_task("pair.com")?, CHECK).await?;
    let beside = insert(
        store,
        &maker.task("RecordUpdate", "acme", "pair.com")?,
        CHECK,
    )
    .await?;
    let mut free = Vec::new();
    for _ in 0..2 {
        free.push(
            insert(
                store,
                &maker.task("RecordUpdate", "acme", "free.com")?,
                CHECK,
            )
            .await?,
        );
    }
    let claimed = claimed_by(
        store,
        &ClaimRequest::new(now, now + Duration::minutes(5)).limit(10),
        CHECK,
    )
    .await?;
    let ids: BTreeSet<TaskId> = claimed.iter().map(|claim| claim.task.id()).collect();
    let want: BTreeSet<TaskId> = [blocker.id()]
        .into_iter()
        .chain(free.iter().map(Task::id))
        .collect();
    ensure(ids == want, CHECK, || {
        format!(
            "one claim started {ids:?}: want the blocking task {} of pair.com without {} \
             beside it, and both tasks of free.com",
            blocker.id(),
            beside.id()
        )
    })
}

/// A waiting task and a stalled one hold their resource as a running
/// one does: behind a blocking task that waits on an outside party, or
/// whose run stalled, nothing starts.
async fn waiting_and_stalled_tasks_hold_their_resource<S: AsyncTaskStore<NamedKind>>(
    store: &S,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "a waiting or stalled task holds its resource";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let waits = insert(store, &maker.blocking_task("wait.com")?, CHECK).await?;
    insert(store, &maker.blocking_task("stall.com")?, CHECK).await?;
    let claimed = claimed_by(
        store,
        &ClaimRequest::new(now, now + Duration::minutes(5)).limit(2),
        CHECK,
    )
    .await?;
    ensure(claimed.len() == 2, CHECK, || {
        format!("claimed {} of the two blocking tasks", claimed.len())
    })?;
    let later = now + Duration::minutes(10);
    for Claimed { mut task, run } in claimed {
        if task.id() == waits.id() {
            let version = task.version();
            let event = run
                .wait(&mut task, Pause::until(now + Duration::hours(2)), now)
                .map_err(failed(CHECK))?;
            store
                .save(&task, version, &[event])
                .await
                .map_err(failed(CHECK))?;
        } else {
            // Its lease ran out: the sweeper marks it stalled.
            apply_saved(
                store,
                &mut task,
                Command::MarkStalled,
                Actor::System,
                later,
                CHECK,
            )
            .await?;
        }
    }
    for resource in ["wait.com", "stall.com"] {
        insert(store, &maker.task("RecordUpdate", "acme", resource)?, CHECK).await?;
    }
    let claimed = claimed_by(
        store,
        &ClaimRequest::new(later, later + Duration::minutes(5)).limit(10),
        CHECK,
    )
    .await?;
    ensure(claimed.is_empty(), CHECK, || {
        format!(
            "started {:?} beside a waiting and a stalled blocking task",
            claimed_ids(&claimed)
        )
    })
}

async fn expiry_and_retries<S: AsyncTaskStore<NamedKind>>(
    store: &S,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "expired leases and due retries";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let short = insert(
        store,
        &maker.task("DomainCreate", "alice", "short.fr")?,
        CHECK,
    )
    .await?;
    let long = maker.task("DomainCreate", "alice", "long.fr")?;
    claimed_by(
        store,
        &ClaimRequest::new(now, now + Duration::minutes(1)).limit(1),
        CHECK,
    )
    .await?;
    insert(store, &long, CHECK).await?;
    let claimed = claimed_by(
        store,
        &ClaimRequest::new(now, now + Duration::hours(1)).limit(1),
        CHECK,
    )
    .await?;
    let later = now + Duration::minutes(2);
    let expired = store
        .sweep(Sweep::ExpiredLeases, later, 10)
        .await
        .map(|swept| swept.tasks)
        .map_err(failed(CHECK))?;
    ensure(ids_of(&expired) == [short.id()], CHECK, || {
        format!("expired: {:?}", ids_of(&expired))
    })?;
    // A provider failure whose retry comes due.
    for claim in claimed {
        let task = provider_failed_saved(store, claim, later, CHECK).await?;
        let at = task.next_retry_at().unwrap_or(later);
        let early = store
            .sweep(Sweep::RetriesDue, at - Duration::seconds(1), 10)
            .await
            .map(|swept| swept.tasks)
            .map_err(failed(CHECK))?;
        ensure(early.is_empty(), CHECK, || "a retry came due early".into())?;
        let due = store
            .sweep(Sweep::RetriesDue, at, 10)
            .await
            .map(|swept| swept.tasks)
            .map_err(failed(CHECK))?;
        ensure(ids_of(&due) == [task.id()], CHECK, || {
            format!("retry due: {:?}", ids_of(&due))
        })?;
    }
    Ok(())
}

async fn checks_of_waiting_tasks<S: AsyncTaskStore<NamedKind>>(
    store: &S,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "waiting tasks due for a check";
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let waiting = insert(
        store,
        &maker.task("DomainCreate", "alice", "wait.fr")?,
        CHECK,
    )
    .await?;
    let claim = claimed_by(
        store,
        &ClaimRequest::new(now, now + Duration::minutes(1)).limit(1),
        CHECK,
    )
    .await?
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
        .await
        .map_err(failed(CHECK))?;
    let early = store
        .sweep(Sweep::ChecksDue, check_at - Duration::seconds(1), 10)
        .await
        .map(|swept| swept.tasks)
        .map_err(failed(CHECK))?;
    ensure(early.is_empty(), CHECK, || "a check came due early".into())?;
    let due = store
        .sweep(Sweep::ChecksDue, check_at, 10)
        .await
        .map(|swept| swept.tasks)
        .map_err(failed(CHECK))?;
    ensure(ids_of(&due) == [waiting.id()], CHECK, || {
        format!("checks due: {:?}", ids_of(&due))
    })?;
    let expired = store
        .sweep(Sweep::ExpiredLeases, check_at, 10)
        .await
        .map(|swept| swept.tasks)
        .map_err(failed(CHECK))?;
    ensure(expired.is_empty(), CHECK, || {
        "a waiting task due for its check was offered to the stall sweep".into()
    })?;
    // The poller finds nothing yet: it looks again later.
    let later = check_at + Duration::minutes(10);
    let version = task.version();
    run.check_later(&mut task, later, until, check_at)
        .map_err(failed(CHECK))?;
    store
        .save(&task, version, &[])
        .await
        .map_err(failed(CHECK))?;
    let due = store
        .sweep(Sweep::ChecksDue, check_at, 10)
        .await
        .map(|swept| swept.tasks)
        .map_err(failed(CHECK))?;
    ensure(due.is_empty(), CHECK, || {
        "a check moved later is still offered at its old time".into()
    })?;
    let due = store
        .sweep(Sweep::ChecksDue, later, 10)
        .await
        .map(|swept| swept.tasks)
        .map_err(failed(CHECK))?;
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
        .await
        .map_err(failed(CHECK))?;
    let due = store
        .sweep(Sweep::ChecksDue, until, 10)
        .await
        .map(|swept| swept.tasks)
        .map_err(failed(CHECK))?;
    ensure(due.is_empty(), CHECK, || {
        "a resumed task is still offered for a check".into()
    })
}

/// Saves no sequence of commands makes: a copy that skips the stored
/// version (a higher version must not win over the compare-and-swap), a
/// rollback to an older record, another task's record under the same id,
/// a record whose event is not appended.
async fn refused_saves<S: AsyncTaskStore<NamedKind>>(store: &S) -> Result<(), ConformanceError> {
    let mut maker = Maker::new();
    let now = t0() + Duration::hours(1);
    let first = insert(
        store,
        &maker.task("DomainCreate", "alice", "refused.fr")?,
        "refused saves",
    )
    .await?;
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
    )
    .await?;
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
        let saved = store.save(&stale, first.version(), &[started]).await;
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
        let saved = store.save(&first, moved.version(), &[]).await;
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
        let saved = store.save(&foreign, moved.version(), &[completed]).await;
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
        )
        .await?;
        let mut task = second.clone();
        let event = task
            .apply(
                Command::Cancel { reason: None },
                Actor::customer("alice"),
                now,
            )
            .map_err(failed(CHECK))?;
        let without = store.save(&task, second.version(), &[]).await;
        ensure(without.is_err(), CHECK, || {
            format!("a record saved without its event: {without:?}")
        })?;
        store
            .save(&task, second.version(), event.as_slice())
            .await
            .map_err(failed(CHECK))?;
        let log = store
            .log(&Scope::Staff, task.id(), 0, 10)
            .await
            .map_err(failed(CHECK))?;
        task.check_log(&log).map_err(failed(CHECK))?;
    }
    let stored = store
        .get(&Scope::Staff, first.id())
        .await
        .map_err(failed("refused saves"))?;
    ensure(
        stored.as_ref() == Some(&moved),
        "a refused save changes nothing",
        || format!("stored {stored:?}, want {moved:?}"),
    )
}

/// A customer's scope holds under every filter: kind, resource, status,
/// parent, creation range, and their combinations.
async fn scoping_under_filters<S: AsyncTaskStore<NamedKind>>(
    store: &S,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "a customer's scope holds under every filter";
    let mut maker = Maker::new();
    let alices = insert(
        store,
        &maker.task("DomainCreate", "alice", "shared.fr")?,
        CHECK,
    )
    .await?;
    let bobs = insert(
        store,
        &maker.task("DomainCreate", "bob", "shared.fr")?,
        CHECK,
    )
    .await?;
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
            .await
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
async fn claim_limit_and_order<S: AsyncTaskStore<NamedKind>>(
    store: &S,
) -> Result<(), ConformanceError> {
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
    insert(store, &late_due, "claims by due time").await?;
    let mut others = Vec::new();
    for i in 0..4 {
        others.push(
            insert(
                store,
                &maker.task("DomainCreate", "alice", &format!("due{i}.fr"))?,
                "claims by due time",
            )
            .await?,
        );
    }
    {
        const CHECK: &str = "a claim takes at most its limit";
        let claimed = claimed_by(
            store,
            &ClaimRequest::new(now, now + Duration::minutes(5)).limit(1),
            CHECK,
        )
        .await?;
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
    let claimed = claimed_by(
        store,
        &ClaimRequest::new(now, now + Duration::minutes(5)).limit(2),
        CHECK,
    )
    .await?;
    ensure(claimed.len() == 2, CHECK, || {
        format!("asked for 2 of 4 due, claimed {}", claimed.len())
    })
}
