//! The cost of deciding and recording a move.
//!
//! Three groups, in one run:
//! - `legality`: a hand-written `match` over (status, action, role), the
//!   floor, against the table's check (`table::target`), over all 399
//!   triples per iteration;
//! - `apply`: a full `Task::apply` of `start`, `heartbeat` and `complete`
//!   on a fresh copy of a task (`heartbeat` also in the steady state of a
//!   worker that holds the task, and on a task just read from JSON);
//! - the size of a task is printed once.
//!
//! Run: `cargo bench --bench transitions`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use taskstate::{
    Action, Actor, Command, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Role,
    Status, Task, TaskKind, table,
};

/// A host's own kind enum, whose rules live in code rather than in the
/// record (unlike `NamedKind`, which carries them).
#[derive(Clone)]
#[allow(dead_code)] // only its size is measured
enum HostKind {
    DomainCreate,
}

impl TaskKind for HostKind {
    fn name(&self) -> &str {
        match self {
            HostKind::DomainCreate => "DomainCreate",
        }
    }
}

/// The floor: the same legality as the table, written as a `match`.
#[inline(never)]
fn hand_written(status: Status, action: Action, role: Role) -> Option<Status> {
    use Action as A;
    use Role as R;
    use Status as S;
    let system = role == R::System;
    let staff = role != R::Customer;
    match (status, action) {
        (S::Pending, A::Start) if system => Some(S::Running),
        (S::Pending, A::Accelerate) if !system => Some(S::Pending),
        (S::Pending, A::SetArgument) if !system => Some(S::Pending),
        (S::Pending, A::Cancel) => Some(S::Cancelled),
        (S::Running, A::Heartbeat) if system => Some(S::Running),
        (S::Running, A::Wait) if system => Some(S::Waiting),
        (S::Running, A::Subtask) if system => Some(S::Running),
        (S::Running, A::AddSubtask) if system => Some(S::Running),
        (S::Running, A::ReportProgress) if system => Some(S::Running),
        (S::Waiting, A::ReportProgress) if system => Some(S::Waiting),
        (S::Failed, A::Resolve) if role == R::Operator => Some(S::Failed),
        (S::Running, A::Complete) if system => Some(S::Done),
        (S::Running, A::Fail) if system => Some(S::Failed),
        (S::Running, A::Cancel) => Some(S::Running),
        (S::Running, A::AcknowledgeCancel) if system => Some(S::Cancelled),
        (S::Running, A::MarkStalled) if system => Some(S::Stalled),
        (S::Waiting, A::Heartbeat) if system => Some(S::Waiting),
        (S::Waiting, A::Resume) if system => Some(S::Running),
        (S::Waiting, A::Complete) if system => Some(S::Done),
        (S::Waiting, A::Fail) if system => Some(S::Failed),
        (S::Waiting, A::Cancel) => Some(S::Waiting),
        (S::Waiting, A::AcknowledgeCancel) if system => Some(S::Cancelled),
        (S::Waiting, A::MarkStalled) if system => Some(S::Stalled),
        (S::Stalled, A::Requeue) if staff => Some(S::Pending),
        (S::Stalled, A::Fail) if staff => Some(S::Failed),
        (S::Stalled, A::Cancel) => Some(S::Cancelled),
        (S::Failed, A::SetArgument) if !system => Some(S::Failed),
        (S::Failed, A::Relaunch) if !system => Some(S::Pending),
        (S::Failed, A::Retry) if system => Some(S::Pending),
        (S::Failed, A::Cancel) => Some(S::Cancelled),
        _ => None,
    }
}

#[inline(never)]
fn table_check(status: Status, action: Action, role: Role) -> Option<Status> {
    table::target(status, action, role)
}

fn triples() -> Vec<(Status, Action, Role)> {
    let mut out = Vec::new();
    for status in Status::ALL {
        for action in Action::ALL {
            for role in Role::ALL {
                out.push((status, action, role));
            }
        }
    }
    out
}

fn legality(c: &mut Criterion) {
    let triples = triples();
    for &(s, a, r) in &triples {
        assert_eq!(hand_written(s, a, r), table_check(s, a, r), "{s} {a} {r}");
    }
    let mut group = c.benchmark_group("legality");
    group.bench_function("hand_written_match", |b| {
        b.iter(|| {
            let mut legal = 0u32;
            for &(s, a, r) in black_box(&triples) {
                legal += u32::from(hand_written(s, a, r).is_some());
            }
            legal
        })
    });
    group.bench_function("table_check", |b| {
        b.iter(|| {
            let mut legal = 0u32;
            for &(s, a, r) in black_box(&triples) {
                legal += u32::from(table_check(s, a, r).is_some());
            }
            legal
        })
    });
    group.finish();
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn pending() -> Task<NamedKind> {
    let new = NewTask::new(
        IdGenerator::seeded(1).next_id(t0()),
        NamedKind::new("DomainCreate"),
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    );
    Task::create(new, Actor::customer("alice"), t0()).unwrap().0
}

fn apply(c: &mut Criterion) {
    let lease_until = t0() + Duration::minutes(5);
    let now = t0() + Duration::seconds(1);
    let pending = pending();
    let mut running = pending.clone();
    let token = running.start(lease_until, None, t0()).unwrap().0.token();

    println!(
        "size_of::<Task<NamedKind>>() = {} bytes, size_of::<Task<HostKind>>() = {} bytes",
        std::mem::size_of::<Task<NamedKind>>(),
        std::mem::size_of::<Task<HostKind>>()
    );

    let mut group = c.benchmark_group("apply");
    group.bench_function("start", |b| {
        b.iter_batched_ref(
            || pending.clone(),
            |task| {
                task.apply(
                    Command::Start {
                        lease_until,
                        worker: None,
                    },
                    Actor::System,
                    now,
                )
                .map(|e| e.map(|e| e.version))
            },
            BatchSize::SmallInput,
        )
    });
    // A worker holding a task in memory heartbeats it again and again:
    // lease state only, nothing logged. The task is cloned afresh
    // (untimed) every 1000 heartbeats.
    group.bench_function("heartbeat", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let chunk = left.min(1000);
                left -= chunk;
                let mut task = running.clone();
                let started = Instant::now();
                for _ in 0..chunk {
                    let accepted = task.apply(
                        Command::Heartbeat {
                            token,
                            lease_until,
                            progress: None,
                            check_at: None,
                        },
                        Actor::System,
                        now,
                    );
                    black_box(accepted.map(|e| e.map(|e| e.version)).ok());
                }
                total += started.elapsed();
                drop(black_box(task));
            }
            total
        })
    });
    // The same heartbeat as the first command on a task just read from
    // storage (deserialized, untimed), as a store-backed worker does.
    let stored = serde_json::to_string(&running).unwrap();
    group.bench_function("heartbeat_on_loaded_task", |b| {
        b.iter_batched_ref(
            || serde_json::from_str::<Task<NamedKind>>(&stored).unwrap(),
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
                .map(|e| e.map(|e| e.version))
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("complete", |b| {
        b.iter_batched_ref(
            || running.clone(),
            |task| {
                task.apply(
                    Command::Complete {
                        token,
                        outcome: Box::new(Outcome::new()),
                    },
                    Actor::System,
                    now,
                )
                .map(|e| e.map(|e| e.version))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, legality, apply);
criterion_main!(benches);
