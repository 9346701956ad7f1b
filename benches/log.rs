//! The record and its log: what a command costs as a task ages, in one
//! run.
//!
//! - `store_heartbeat`: through a `MemoryStore`, get + heartbeat + save of
//!   a running task whose log holds 10 and 100 000 events. The cost must
//!   not depend on the log's length.
//! - `store_subtask_update`: through a `MemoryStore`, get + one subtask
//!   move + save (appending its event), with 10 and 10 000 subtasks.
//! - `replay`: `Task::replay` of a 10 000-event log (throughput per
//!   event).
//! - `command_on_copy`: one command on a copy of a task just handed out by
//!   a store (the copy untimed): a heartbeat and a logged self-move,
//!   against the floor, a hand-written record update doing the same
//!   checks (token, status) and writes.
//!
//! Run: `cargo bench --bench log`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use taskstate::store::{ClaimRequest, MemoryStore, Scope, TaskStore};
use taskstate::{
    Actor, Command, Event, IdGenerator, LeaseToken, NamedKind, NewSubtask, NewTask, Owner,
    ResourceRef, Run, SubtaskChange, Task,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(seconds)
}

/// A running task of `subtasks` subtasks in a new store, whose log holds
/// `events` events (progress reports, each one logged).
fn stored_running(subtasks: u32, events: usize) -> (MemoryStore<NamedKind>, Task<NamedKind>, Run) {
    let store = MemoryStore::new();
    let mut new = NewTask::new(
        IdGenerator::seeded(u64::from(subtasks)).next_id(t0()),
        NamedKind::new("ZonePublish"),
        Owner::new("acme"),
        ResourceRef::new("zone", "example.com"),
    );
    new.subtasks = (0..subtasks)
        .map(|i| NewSubtask::new(format!("step-{i}"), "a step"))
        .collect();
    let (task, created) = Task::create(new, Actor::System, t0()).unwrap();
    store.insert(task, created).unwrap();
    let claim = store
        .claim(&ClaimRequest::new(t0(), at(10)))
        .unwrap()
        .claimed
        .pop()
        .unwrap();
    let (mut task, run) = (claim.task, claim.run);
    // Creation and start are two events; the rest are progress reports.
    for i in 2..events {
        let version = task.version();
        let event = run.expect_done_at(&mut task, at(i as i64), at(1)).unwrap();
        store.save(&task, version, &[event]).unwrap();
    }
    (store, task, run)
}

fn store_heartbeat(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_heartbeat");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    for events in [10usize, 100_000] {
        let (store, task, run) = stored_running(0, events);
        let id = task.id();
        let (mut deadline, now) = (at(1_000), at(2));
        group.bench_with_input(BenchmarkId::new("log_events", events), &events, |b, _| {
            b.iter(|| {
                deadline += chrono::Duration::seconds(1);
                let mut task = store.get(&Scope::Staff, id).unwrap().unwrap();
                let version = task.version();
                run.heartbeat(&mut task, deadline, None, now).unwrap();
                store.save(&task, version, &[]).unwrap();
                black_box(task.version())
            })
        });
    }
    group.finish();
}

fn store_subtask_update(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_subtask_update");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    for subtasks in [10u32, 10_000] {
        let mut stored = stored_running(subtasks, 2);
        let mut position = 0u64;
        let now = at(3);
        group.bench_with_input(
            BenchmarkId::new("subtasks", subtasks),
            &subtasks,
            |b, &n| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        // Every subtask is started and succeeded in turn; once
                        // all are done, a fresh store replaces it (untimed).
                        if position == 2 * u64::from(n) {
                            stored = stored_running(n, 2);
                            position = 0;
                        }
                        let (store, task, run) = &stored;
                        let sub = u32::try_from(position / 2).unwrap();
                        let change = if position.is_multiple_of(2) {
                            SubtaskChange::Start
                        } else {
                            SubtaskChange::Succeed
                        };
                        let started = Instant::now();
                        let mut task = store.get(&Scope::Staff, task.id()).unwrap().unwrap();
                        let version = task.version();
                        let event = run.subtask(&mut task, sub, change, now).unwrap();
                        store.save(&task, version, &[event]).unwrap();
                        total += started.elapsed();
                        drop(black_box(task));
                        position += 1;
                    }
                    total
                })
            },
        );
    }
    group.finish();
}

fn replay(c: &mut Criterion) {
    let (store, task, _) = stored_running(0, 10_000);
    let log: Vec<Event<NamedKind>> = store.log(&Scope::Staff, task.id(), 0, usize::MAX).unwrap();
    assert_eq!(log.len(), 10_000);
    let mut group = c.benchmark_group("replay");
    group.sample_size(20);
    group.throughput(Throughput::Elements(log.len() as u64));
    group.bench_function("log_of_10000_events", |b| {
        b.iter(|| Task::replay(black_box(&log)).unwrap().version())
    });
    group.finish();
}

/// The floor: a record updated by hand, with the checks a heartbeat and
/// a progress report make (the run's token, the status) and their writes.
#[derive(Clone)]
struct HandRecord {
    running: bool,
    version: u64,
    token: u64,
    lease_until: DateTime<Utc>,
    expected_done_at: Option<DateTime<Utc>>,
}

impl HandRecord {
    fn heartbeat(&mut self, token: u64, until: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        if !self.running || token != self.token || until <= now || until < self.lease_until {
            return false;
        }
        self.lease_until = until;
        self.version += 1;
        true
    }

    fn expect_done_at(&mut self, token: u64, at: DateTime<Utc>) -> bool {
        if !self.running || token != self.token {
            return false;
        }
        self.expected_done_at = Some(at);
        self.version += 1;
        true
    }
}

fn command_on_copy(c: &mut Criterion) {
    let (store, task, run) = stored_running(0, 10);
    let token: LeaseToken = run.token();
    let copy = || store.get(&Scope::Staff, task.id()).unwrap().unwrap();
    let hand = HandRecord {
        running: true,
        version: task.version(),
        token: token.get(),
        lease_until: at(10),
        expected_done_at: None,
    };
    // Times made once: building a time from a calendar date costs more
    // than the commands measured here.
    let (now, lease_until, done_at) = (at(2), at(20), at(30));
    let mut group = c.benchmark_group("command_on_copy");
    group.bench_function("heartbeat", |b| {
        b.iter_batched_ref(
            copy,
            |task| {
                task.apply(
                    Command::Heartbeat {
                        token,
                        lease_until,
                        progress: None,
                        check_at: None,
                    },
                    Actor::System,
                    now,
                )
                .map(|event| event.is_none())
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("report_progress", |b| {
        b.iter_batched_ref(
            copy,
            |task| {
                task.apply(
                    Command::ReportProgress {
                        token,
                        steps: None,
                        percent: None,
                        current_step: None,
                        expected_done_at: Some(done_at),
                    },
                    Actor::System,
                    now,
                )
                .map(|event| event.map(|e| e.version))
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("floor_hand_written_heartbeat", |b| {
        b.iter_batched_ref(
            || hand.clone(),
            |record| record.heartbeat(black_box(token.get()), lease_until, now),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("floor_hand_written_progress", |b| {
        b.iter_batched_ref(
            || hand.clone(),
            |record| record.expect_done_at(black_box(token.get()), done_at),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(
    benches,
    store_heartbeat,
    store_subtask_update,
    replay,
    command_on_copy
);
criterion_main!(benches);
