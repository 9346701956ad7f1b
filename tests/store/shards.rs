//! The MemoryStore's locks: a claim picks tasks under the queue's lock
//! and starts each under its shard's, so a save, a cancel or a removal of
//! a task can come between its pick and its start. Threads race on few
//! tasks of few resources (blocking and plain kinds, some due later):
//! claimers claim and complete, a saver accelerates and cancels pending
//! tasks, a remover deletes some and stores a new task under the same id,
//! due later than the claims' clock. No task is claimed twice, and
//! afterwards nothing is stranded: claims at a later time drain every
//! pending task, which only happens if every pick that did not start gave
//! its task and its resource back.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use chrono::{DateTime, Duration, Utc};
use taskstate::store::{
    ClaimRequest, Claimed, Filter, MemoryStore, PageRequest, Scope, StoreError, TaskStore,
};
use taskstate::{
    Actor, Command, Event, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Status,
    StatusSet, Task, TaskId,
};

use crate::common::t;
use crate::indexes::kinds;

type K = NamedKind;

/// A small deterministic random source.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A pending task `id` on one of four zones, of either kind, created at
/// `created` and due at `todo_at` (at its creation for `None`).
fn make(
    random: &mut XorShift,
    id: TaskId,
    created: DateTime<Utc>,
    todo_at: Option<DateTime<Utc>>,
) -> (Task<K>, Event<K>) {
    // The plain kind or the blocking one.
    let kind = kinds()[random.below(2)].clone();
    let zone = format!("z{}.fr", random.below(4));
    let mut new = NewTask::new(id, kind, Owner::new("acme"), ResourceRef::new("zone", zone));
    if let Some(todo_at) = todo_at {
        new = new.todo_at(todo_at);
    }
    Task::create(new, Actor::System, created).unwrap()
}

/// `count` pending tasks created at `t(0)`, a third due up to a minute
/// later; their ids.
fn filled(store: &MemoryStore<K>, count: usize, seed: u64) -> Vec<TaskId> {
    let mut ids = IdGenerator::seeded(seed);
    let mut random = XorShift(seed | 1);
    (0..count)
        .map(|n| {
            let todo_at = (n % 3 == 0).then(|| t(1 + random.below(60) as i64));
            let (task, created) = make(&mut random, ids.next_id(t(0)), t(0), todo_at);
            let id = task.id();
            store.insert(task, created).unwrap();
            id
        })
        .collect()
}

fn pending(store: &MemoryStore<K>) -> Vec<TaskId> {
    let filter = Filter {
        statuses: StatusSet::from_iter([Status::Pending]),
        ..Filter::default()
    };
    let page = store
        .list(&Scope::Staff, &filter, PageRequest::first(10_000))
        .unwrap();
    page.tasks.iter().map(|task| task.id()).collect()
}

/// Claims at `now` and completes what it got; the ids claimed, with the
/// creation time of each (a task stored again under the id of a removed
/// one has a later one).
fn claim_and_complete(
    store: &MemoryStore<K>,
    now: DateTime<Utc>,
    limit: usize,
) -> Vec<(TaskId, DateTime<Utc>)> {
    let request = ClaimRequest::new(now, now + Duration::minutes(5)).limit(limit);
    let mut claimed = Vec::new();
    for Claimed { mut task, run } in store.claim(&request).unwrap().claimed {
        let version = task.version();
        let event = run.complete(&mut task, Outcome::new(), now).unwrap();
        // Only this run moves a running task, but the remover may have
        // deleted it, and stored a new one under its id.
        match store.save(&task, version, &[event]) {
            Ok(()) | Err(StoreError::NotFound { .. } | StoreError::Conflict { .. }) => {}
            Err(other) => panic!("completion of {}: {other}", task.id()),
        }
        claimed.push((task.id(), task.created_at()));
    }
    claimed
}

#[test]
fn claims_racing_saves_and_removals_strand_no_task() {
    for seed in 1..=12u64 {
        let store = Arc::new(MemoryStore::new());
        let ids = Arc::new(filled(&store, 200, seed));
        let clock = Arc::new(AtomicI64::new(0));
        let claimed = Arc::new(Mutex::new(Vec::new()));
        let claimers = (0..2).map(|n| {
            let (store, clock, claimed) = (store.clone(), clock.clone(), claimed.clone());
            thread::spawn(move || {
                let mut random = XorShift(seed * 31 + n);
                for _ in 0..300 {
                    let now = t(clock.fetch_add(1, Ordering::Relaxed) / 4);
                    let got = claim_and_complete(&store, now, 1 + random.below(3));
                    claimed.lock().unwrap().extend(got);
                }
            })
        });
        let saver = {
            let (store, ids, clock) = (store.clone(), ids.clone(), clock.clone());
            thread::spawn(move || {
                let mut random = XorShift(seed * 37);
                for _ in 0..300 {
                    let id = ids[random.below(ids.len())];
                    let Some(mut task) = store.get(&Scope::Staff, id).unwrap() else {
                        continue;
                    };
                    let version = task.version();
                    let command = if random.below(4) == 0 {
                        Command::Cancel { reason: None }
                    } else {
                        Command::Accelerate
                    };
                    let now = t(clock.load(Ordering::Relaxed) / 4);
                    let Ok(Some(event)) = task.apply(command, Actor::customer("acme"), now) else {
                        continue;
                    };
                    // Another thread may have moved the task on, or the
                    // remover stored another one under its id.
                    match store.save(&task, version, &[event]) {
                        Ok(())
                        | Err(
                            StoreError::Conflict { .. }
                            | StoreError::NotFound { .. }
                            | StoreError::Refused { .. },
                        ) => {}
                        Err(other) => panic!("save of {id}: {other}"),
                    }
                }
            })
        };
        let remover = {
            let (store, ids, clock) = (store.clone(), ids.clone(), clock.clone());
            thread::spawn(move || {
                let mut random = XorShift(seed * 41);
                for n in 1..=200 {
                    let id = ids[random.below(ids.len())];
                    store.remove(id).unwrap();
                    // Due after the claims' clock: a claim that picked the
                    // removed task finds this one not due yet.
                    let due = t(clock.load(Ordering::Relaxed) / 4 + 5);
                    let created = t(0) + Duration::milliseconds(n);
                    let (task, event) = make(&mut random, id, created, Some(due));
                    store.insert(task, event).unwrap();
                }
            })
        };
        for handle in claimers.chain([saver, remover]) {
            handle.join().unwrap();
        }

        // A claim ends each run it starts: nothing is in progress now, so
        // claims drain every pending task, one resource's blocking tasks
        // one at a time.
        let later = t(3_600);
        let mut drained = Vec::new();
        loop {
            let got = claim_and_complete(&store, later, 10);
            if got.is_empty() {
                break;
            }
            drained.extend(got);
        }
        assert_eq!(pending(&store), Vec::<TaskId>::new(), "seed {seed}");
        let mut all = claimed.lock().unwrap().clone();
        all.extend(drained);
        let unique: HashSet<(TaskId, DateTime<Utc>)> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len(), "seed {seed}: a task claimed twice");
        // Every task left is done or cancelled.
        let left = store
            .list(
                &Scope::Staff,
                &Filter::default(),
                PageRequest::first(10_000),
            )
            .unwrap();
        for task in &left.tasks {
            assert!(
                matches!(task.status(), Status::Done | Status::Cancelled),
                "seed {seed}: {} is {:?}",
                task.id(),
                task.status()
            );
        }
        assert_eq!(left.tasks.len(), ids.len(), "seed {seed}");
    }
}
