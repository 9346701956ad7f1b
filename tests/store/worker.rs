//! Workers over a store: `work_once` hands the run to its handler,
//! claims only its kinds, sleeps until something is due, and never
//! strands a task, even when a save fails; `update` re-applies a change
//! on a conflict.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use taskstate::store::{
    ClaimRequest, Claims, Filter, HandlerReply, MemoryStore, Page, PageRequest, Scope, StoreError,
    Sweep, Swept, TaskStore, UpdateError, Worker, update, work_once, work_once_async,
};
use taskstate::{
    Action, Actor, CancelRules, Command, Event, IdGenerator, NamedKind, NewTask, Outcome, Owner,
    Rejection, ResourceRef, Rules, Status, Task, TaskId,
};

use crate::common::{block_on, t};

type K = NamedKind;

/// A store with one task of `kind` per `(resource, todo_at)`, and their
/// ids.
fn store_with(kind: &NamedKind, tasks: &[(&str, Option<i64>)]) -> (MemoryStore<K>, Vec<TaskId>) {
    let store = MemoryStore::new();
    let mut ids = IdGenerator::seeded(42);
    let mut made = Vec::new();
    for (resource, todo_at) in tasks {
        let mut new = NewTask::new(
            ids.next_id(t(0)),
            kind.clone(),
            Owner::new("alice"),
            ResourceRef::new("domain", *resource),
        );
        if let Some(at) = todo_at {
            new = new.todo_at(t(*at));
        }
        let (task, created) = Task::create(new, Actor::customer("alice"), t(0)).unwrap();
        made.push(task.id());
        store.insert(task, created).unwrap();
    }
    (store, made)
}

fn worker() -> Worker {
    Worker::new("w1", Duration::seconds(20)).batch(10)
}

/// A handler that extends its lease to 30 s and never finishes: a
/// crashed worker.
fn crash(_: Task<K>, _: taskstate::Run) -> HandlerReply {
    HandlerReply::Heartbeat {
        lease_until: t(30),
        progress: None,
    }
}

fn stored(store: &impl TaskStore<K>, id: TaskId) -> Task<K> {
    store.get(&Scope::Staff, id).unwrap().unwrap()
}

fn actions(store: &impl TaskStore<K>, id: TaskId) -> Vec<Action> {
    store
        .log(&Scope::Staff, id, 0, 100)
        .unwrap()
        .iter()
        .map(Event::action)
        .collect()
}

#[test]
fn a_worker_step_hands_the_run_to_its_handler_and_records_its_answer() {
    let (store, ids) = store_with(&NamedKind::new("DomainCreate"), &[("a.fr", None)]);
    let report = work_once(&store, &worker(), t(10), |task, run| {
        assert_eq!(run.task_id(), task.id());
        assert!(task.lease().unwrap().is_held_by(run.token()));
        HandlerReply::Complete(Outcome::new().message("done"))
    })
    .unwrap();
    assert_eq!((report.claimed, report.recorded, report.refused), (1, 1, 0));
    let task = stored(&store, ids[0]);
    assert_eq!(task.status(), Status::Done);
    assert_eq!(task.comment(), Some("done"));
    let log = store.log(&Scope::Staff, ids[0], 0, 100).unwrap();
    assert_eq!(log.len(), 3);
    task.check_log(&log).unwrap();
}

#[test]
fn a_handler_answer_the_task_refuses_is_counted_and_changes_nothing() {
    let (store, ids) = store_with(&NamedKind::new("DomainCreate"), &[("a.fr", None)]);
    // No cancel was requested: stopping for one is refused.
    let report = work_once(&store, &worker(), t(10), |_, _| HandlerReply::Stopped).unwrap();
    assert_eq!((report.claimed, report.recorded, report.refused), (1, 0, 1));
    assert_eq!(stored(&store, ids[0]).status(), Status::Running);
}

#[test]
fn a_worker_claims_only_the_kinds_it_handles() {
    let store = MemoryStore::new();
    let mut ids = IdGenerator::seeded(7);
    for kind in ["ZonePublish", "DomainRenew", "ZonePublish"] {
        let new = NewTask::new(
            ids.next_id(t(0)),
            NamedKind::new(kind),
            Owner::new("acme"),
            ResourceRef::new("zone", format!("{kind}.com")),
        );
        let (task, created) = Task::create(new, Actor::System, t(0)).unwrap();
        store.insert(task, created).unwrap();
    }
    let dns = worker().kinds(["ZonePublish"]);
    let mut kinds = BTreeSet::new();
    let report = work_once(&store, &dns, t(1), |task, _| {
        kinds.insert(task.kind().name.clone());
        HandlerReply::Complete(Outcome::new())
    })
    .unwrap();
    assert_eq!(report.claimed, 2);
    assert_eq!(kinds, BTreeSet::from(["ZonePublish".to_owned()]));
    // The renewal is still there for a registry worker.
    let registry = worker().kinds(["DomainRenew"]);
    let report = work_once(&store, &registry, t(1), |_, _| {
        HandlerReply::Complete(Outcome::new())
    })
    .unwrap();
    assert_eq!(report.claimed, 1);
}

#[test]
fn a_worker_sleeps_until_the_next_task_is_due() {
    let kind = NamedKind::new("DomainCreate");
    let (store, _) = store_with(&kind, &[("a.fr", Some(100)), ("b.fr", Some(400))]);
    let w = worker();
    let hour = Duration::hours(1);
    assert_eq!(
        w.idle_for(&store, t(0), hour).unwrap(),
        Duration::seconds(100)
    );
    assert_eq!(
        w.idle_for(&store, t(0), Duration::seconds(30)).unwrap(),
        Duration::seconds(30)
    );
    assert_eq!(w.idle_for(&store, t(150), hour).unwrap(), Duration::zero());
    // Claimed, the first one is due again when its lease runs out.
    let report = work_once(&store, &w, t(100), |_, _| HandlerReply::Heartbeat {
        lease_until: t(200),
        progress: None,
    })
    .unwrap();
    assert_eq!(report.claimed, 1);
    assert_eq!(
        w.idle_for(&store, t(100), hour).unwrap(),
        Duration::seconds(100)
    );
    // A worker of another kind has nothing to wait for but the lease.
    let other = worker().kinds(["ZonePublish"]);
    assert_eq!(
        other.idle_for(&store, t(100), hour).unwrap(),
        Duration::seconds(100)
    );
    let empty = MemoryStore::<K>::new();
    assert_eq!(w.idle_for(&empty, t(0), hour).unwrap(), hour);
    // A cap below zero is taken as zero, with a task due or none.
    let negative = Duration::seconds(-1);
    assert_eq!(
        w.idle_for(&store, t(0), negative).unwrap(),
        Duration::zero()
    );
    assert_eq!(
        w.idle_for(&empty, t(0), negative).unwrap(),
        Duration::zero()
    );
}

#[test]
fn a_failed_save_in_a_batch_leaves_the_other_tasks_handled() {
    // Three tasks claimed together; the first answer's save fails (a
    // dropped connection). The other two are still recorded, and the
    // step reports the failure; the first task runs again once its
    // lease runs out.
    let kind = NamedKind::new("DomainCreate");
    let (store, ids) = store_with(&kind, &[("a.fr", None), ("b.fr", None), ("c.fr", None)]);
    let flaky = Counting::new(store);
    flaky.fail_next_save();
    let mut handled = 0;
    let step = work_once(&flaky, &worker(), t(0), |_, _| {
        handled += 1;
        HandlerReply::Complete(Outcome::new())
    });
    assert!(
        matches!(&step, Err(error) if error.is_retryable()),
        "{step:?}"
    );
    assert_eq!(handled, 3, "every claimed task handed to the handler");
    let statuses: Vec<Status> = ids.iter().map(|id| stored(&flaky, *id).status()).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|status| **status == Status::Done)
            .count(),
        2,
        "{statuses:?}"
    );
    let report = work_once(&flaky, &worker(), t(21), |_, _| {
        HandlerReply::Complete(Outcome::new())
    })
    .unwrap();
    assert_eq!((report.requeued, report.recorded), (1, 1));
    for id in ids {
        assert_eq!(stored(&flaky, id).status(), Status::Done);
    }
}

#[test]
fn a_worker_sleeps_until_due_over_the_async_trait() {
    let (store, _) = store_with(&NamedKind::new("DomainCreate"), &[("a.fr", Some(100))]);
    let idle = block_on(worker().idle_for_async(&store, t(40), Duration::hours(1))).unwrap();
    assert_eq!(idle, Duration::seconds(60));
}

#[test]
fn an_expired_lease_is_marked_stalled_and_requeued_in_one_save() {
    let (store, ids) = store_with(&NamedKind::new("DomainCreate"), &[("a.fr", None)]);
    let counting = Counting::new(store);
    // The handler keeps the lease without finishing: a crashed worker.
    let report = work_once(&counting, &worker(), t(0), crash).unwrap();
    assert_eq!(report.claimed, 1);
    let before = counting.saves.load(Ordering::SeqCst);
    let report = work_once(&counting, &worker().kinds(["Nothing"]), t(31), |_, _| {
        panic!("no task of that kind")
    })
    .unwrap();
    assert_eq!(report.requeued, 1);
    assert_eq!(
        counting.saves.load(Ordering::SeqCst) - before,
        1,
        "one save"
    );
    let task = stored(&counting, ids[0]);
    assert_eq!(task.status(), Status::Pending);
    let log = actions(&counting, ids[0]);
    assert_eq!(
        log[log.len() - 2..],
        [Action::MarkStalled, Action::Requeue],
        "both events in the log"
    );
}

#[test]
fn a_failing_save_never_strands_a_task() {
    // Each save of the requeue fails in turn (there is one): the next step
    // finds the task again and moves it on.
    let (store, ids) = store_with(&NamedKind::new("DomainCreate"), &[("a.fr", None)]);
    let flaky = Counting::new(store);
    work_once(&flaky, &worker(), t(0), crash).unwrap();
    flaky.fail_next_save();
    let failed = work_once(&flaky, &worker(), t(31), |_, _| {
        HandlerReply::Complete(Outcome::new())
    });
    assert!(
        matches!(&failed, Err(error) if error.is_retryable()),
        "{failed:?}"
    );
    assert_eq!(stored(&flaky, ids[0]).status(), Status::Running);
    let report = work_once(&flaky, &worker(), t(32), |_, _| {
        HandlerReply::Complete(Outcome::new())
    })
    .unwrap();
    assert_eq!(
        (report.requeued, report.claimed, report.recorded),
        (1, 1, 1)
    );
    assert_eq!(stored(&flaky, ids[0]).status(), Status::Done);
}

#[test]
fn a_task_left_stalled_by_a_host_is_requeued_by_the_next_step() {
    // A host that marks stalled and requeues in two saves, whose second
    // save failed: the stalled sweep takes over.
    let (store, ids) = store_with(&NamedKind::new("DomainCreate"), &[("a.fr", None)]);
    let claim = store
        .claim(&ClaimRequest::new(t(0), t(30)))
        .unwrap()
        .claimed
        .pop()
        .unwrap();
    let mut task = claim.task;
    let version = task.version();
    let stalled = task
        .apply(Command::MarkStalled, Actor::System, t(31))
        .unwrap();
    store.save(&task, version, stalled.as_slice()).unwrap();
    let swept = store.sweep(Sweep::Stalled, t(31), 10).unwrap();
    assert_eq!(swept.tasks.len(), 1);
    let report = work_once(&store, &worker(), t(40), |_, _| {
        HandlerReply::Complete(Outcome::new())
    })
    .unwrap();
    assert_eq!((report.requeued, report.recorded), (1, 1));
    assert_eq!(stored(&store, ids[0]).status(), Status::Done);
    assert!(
        store
            .sweep(Sweep::Stalled, t(40), 10)
            .unwrap()
            .tasks
            .is_empty()
    );
}

#[test]
fn a_task_whose_lease_ran_out_with_a_cancel_request_ends_cancelled() {
    // VMware's generic route: running work is cancelled by request, and
    // only running work; the lease runs out before the executor stops.
    let kind = NamedKind::with_rules(
        "HostCommission",
        Rules::new().cancel(CancelRules::RUNNING_ONLY),
    );
    let (store, ids) = store_with(&kind, &[("host-1", None)]);
    work_once(&store, &worker(), t(0), crash).unwrap();
    let alice = Scope::Owner(Owner::new("alice"));
    update(&store, &alice, ids[0], |task| {
        Ok(task
            .apply(
                Command::Cancel { reason: None },
                Actor::customer("alice"),
                t(10),
            )?
            .into_iter()
            .collect())
    })
    .unwrap();
    let report = work_once(&store, &worker(), t(31), |_, _| panic!("nothing to claim")).unwrap();
    assert_eq!((report.cancelled, report.requeued), (1, 0));
    let task = stored(&store, ids[0]);
    assert_eq!(task.status(), Status::Cancelled);
    let log = actions(&store, ids[0]);
    assert_eq!(log[log.len() - 2..], [Action::MarkStalled, Action::Cancel]);
}

#[test]
fn a_stalled_task_with_a_cancel_request_may_be_cancelled_by_its_owner() {
    let kind = NamedKind::with_rules(
        "HostCommission",
        Rules::new().cancel(CancelRules::RUNNING_ONLY),
    );
    let (store, _) = store_with(&kind, &[("host-1", None)]);
    let claim = store
        .claim(&ClaimRequest::new(t(0), t(30)))
        .unwrap()
        .claimed
        .pop()
        .unwrap();
    let mut task = claim.task;
    task.apply(
        Command::Cancel { reason: None },
        Actor::customer("alice"),
        t(10),
    )
    .unwrap();
    task.apply(Command::MarkStalled, Actor::System, t(31))
        .unwrap();
    // The rules let nobody cancel a stalled task, but this one's cancel
    // was requested and allowed while it ran.
    assert!(task.can_cancel(&Actor::customer("alice"), t(32)));
    task.apply(
        Command::Cancel { reason: None },
        Actor::customer("alice"),
        t(32),
    )
    .unwrap();
    assert_eq!(task.status(), Status::Cancelled);
}

#[test]
fn update_re_applies_a_change_on_a_fresh_copy_after_a_conflict() {
    let (store, ids) = store_with(&NamedKind::new("DomainCreate"), &[("a.fr", Some(600))]);
    let calls = AtomicUsize::new(0);
    let alice = Scope::Owner(Owner::new("alice"));
    let cancelled = update(&store, &alice, ids[0], |task| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            // Another writer moves the task between this read and its save.
            let mut other = store.get(&Scope::Staff, task.id()).unwrap().unwrap();
            let version = other.version();
            let event = other
                .apply(Command::Accelerate, Actor::customer("alice"), t(1))
                .unwrap();
            store.save(&other, version, event.as_slice()).unwrap();
        }
        Ok(task
            .apply(
                Command::Cancel { reason: None },
                Actor::customer("alice"),
                t(2),
            )?
            .into_iter()
            .collect())
    })
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(cancelled.status(), Status::Cancelled);
    let log = actions(&store, ids[0]);
    assert_eq!(log, [Action::Create, Action::Accelerate, Action::Cancel]);
}

#[test]
fn update_reports_a_refusal_and_a_task_out_of_scope() {
    let (store, ids) = store_with(&NamedKind::new("DomainCreate"), &[("a.fr", None)]);
    let refused = update(&store, &Scope::Staff, ids[0], |task| {
        Ok(task
            .apply(Command::Retry, Actor::System, t(1))?
            .into_iter()
            .collect())
    });
    assert!(
        matches!(
            refused,
            Err(UpdateError::Rejected(Rejection::IllegalMove { .. }))
        ),
        "{refused:?}"
    );
    let mallory = Scope::Owner(Owner::new("mallory"));
    let hidden = update(&store, &mallory, ids[0], |_| Ok(Vec::new()));
    assert!(
        matches!(hidden, Err(UpdateError::Store(StoreError::NotFound { .. }))),
        "{hidden:?}"
    );
}

#[test]
fn an_async_worker_awaits_its_handler() {
    let (store, ids) = store_with(
        &NamedKind::new("DomainCreate"),
        &[("a.fr", None), ("b.fr", None)],
    );
    let report = block_on(work_once_async(
        &store,
        &worker(),
        t(10),
        |task, _run| async move {
            HandlerReply::Complete(Outcome::new().message(format!("{} done", task.resource().id)))
        },
    ))
    .unwrap();
    assert_eq!((report.claimed, report.recorded), (2, 2));
    for id in ids {
        assert_eq!(stored(&store, id).status(), Status::Done);
    }
}

/// A store that counts saves and fails the next one when asked (a
/// dropped connection: retryable).
struct Counting {
    inner: MemoryStore<K>,
    saves: AtomicUsize,
    fail_next: Mutex<bool>,
}

impl Counting {
    fn new(inner: MemoryStore<K>) -> Counting {
        Counting {
            inner,
            saves: AtomicUsize::new(0),
            fail_next: Mutex::new(false),
        }
    }

    fn fail_next_save(&self) {
        *self.fail_next.lock().unwrap() = true;
    }
}

impl TaskStore<K> for Counting {
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        self.inner.insert(task, created)
    }
    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        self.inner.get(scope, id)
    }
    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError> {
        self.inner.log(scope, id, after, limit)
    }
    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError> {
        if std::mem::take(&mut *self.fail_next.lock().unwrap()) {
            let reset =
                std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
            return Err(StoreError::backend(reset, true));
        }
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(task, expected, events)
    }
    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<Page<K>, StoreError> {
        self.inner.list(scope, filter, page)
    }
    fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError> {
        self.inner.claim(request)
    }
    fn sweep(
        &self,
        sweep: Sweep,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Swept<K>, StoreError> {
        self.inner.sweep(sweep, now, limit)
    }
    fn next_due(
        &self,
        kinds: Option<&BTreeSet<String>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_due(kinds)
    }
    fn purge(&self, settled_before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        self.inner.purge(settled_before, limit)
    }
}
