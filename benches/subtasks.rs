//! The cost of one subtask update with aggregation, at 10, 10 000 and
//! 1 000 000 subtasks, in one run: it must grow with the change, not with
//! the number of subtasks.
//!
//! Each measured step applies one `Command::Subtask` (starting or
//! finishing the next subtask) through `Task::apply`, then asks for the
//! aggregate and the step counts. A fresh task (untimed) replaces one
//! whose subtasks are all done.
//!
//! Run: `cargo bench --bench subtasks`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use taskstate::{
    Actor, AggregatePolicy, Command, IdGenerator, LeaseToken, NamedKind, NewSubtask, NewTask,
    Owner, ResourceRef, SubtaskChange, Task,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

/// A running task with `n` pending subtasks, and its run's token.
fn running_with(n: u32) -> (Task<NamedKind>, LeaseToken) {
    let mut new = NewTask::new(
        IdGenerator::seeded(1).next_id(t0()),
        NamedKind::new("ZonePublish"),
        Owner::new("acme"),
        ResourceRef::new("zone", "example.com"),
    );
    new.subtasks = (0..n)
        .map(|i| NewSubtask::new(format!("step-{i}"), ""))
        .collect();
    let (mut task, _) = Task::create(new, Actor::System, t0()).unwrap();
    let token = task
        .start(t0() + chrono::Duration::days(1), None, t0())
        .unwrap()
        .0
        .token();
    (task, token)
}

fn one_update(c: &mut Criterion) {
    let mut group = c.benchmark_group("subtask_update");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for n in [10u32, 10_000, 1_000_000] {
        let (prototype, token) = running_with(n);
        let now = t0() + chrono::Duration::seconds(1);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let mut task = prototype.clone();
            let mut position: u64 = 0;
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    if position == 2 * u64::from(n) {
                        task = prototype.clone();
                        position = 0;
                    }
                    let chunk = left.min(2 * u64::from(n) - position);
                    left -= chunk;
                    let started = Instant::now();
                    for _ in 0..chunk {
                        let id = u32::try_from(position / 2).unwrap();
                        let change = if position.is_multiple_of(2) {
                            SubtaskChange::Start
                        } else {
                            SubtaskChange::Succeed
                        };
                        let command = Command::Subtask { token, id, change };
                        let accepted = task.apply(command, Actor::System, now).is_ok();
                        let subtasks = task.subtasks();
                        black_box((
                            accepted,
                            subtasks.aggregate(AggregatePolicy::FailFast),
                            subtasks.tally().satisfied(),
                            subtasks.tally().total(),
                        ));
                        position += 1;
                    }
                    total += started.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, one_update);
criterion_main!(benches);
