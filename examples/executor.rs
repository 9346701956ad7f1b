//! Four worker threads run 10 000 tasks on the MemoryStore.
//!
//! Run: `cargo run --example executor`
//!
//! Each worker calls `store::work_once` in a loop: it requeues tasks whose
//! lease ran out, puts failed tasks back on their retry schedule, claims
//! due tasks and records what its handler returns, every save a
//! compare-and-swap retried on conflict. The handler fails one task in ten
//! on the provider's side the first time (the kind's retry policy brings
//! it back) and "crashes" on one in a hundred (it heartbeats and never
//! finishes: the lease runs out and another worker takes over). Time is a
//! shared simulated clock, one second per loop step.
//!
//! At the end it checks that every task is done, that no task was ever
//! handled by two workers at once, that no event was lost or duplicated,
//! and that every task's log, kept by the store, replays to its record.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicUsize, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use taskstate::store::{Filter, Handled, MemoryStore, PageRequest, Scope, TaskStore, work_once};
use taskstate::{
    Action, Actor, Failure, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef,
    RetryPolicy, Rules, Status, StatusSet, Task, TaskId,
};

const TASKS: usize = 10_000;
const WORKERS: usize = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .ok_or("bad time")?;
    let kind = NamedKind::with_rules(
        "DomainRenew",
        Rules::new().retry(
            RetryPolicy::STANDARD
                .initial_delay_secs(2)
                .max_delay_secs(10)
                .max_attempts(5),
        ),
    );
    let store = Arc::new(MemoryStore::new());
    let mut ids = IdGenerator::seeded(10_000);
    let mut busy: HashMap<TaskId, AtomicU32> = HashMap::new();
    for i in 0..TASKS {
        let new = NewTask::new(
            ids.next_id(t0),
            kind.clone(),
            Owner::new(format!("customer-{}", i % 97)),
            ResourceRef::new("domain", format!("domain-{i}.fr")),
        );
        busy.insert(new.id, AtomicU32::new(0));
        let (task, created) = Task::create(new, Actor::System, t0)?;
        store.insert(task, created)?;
    }
    let busy = Arc::new(busy);
    let clock = Arc::new(AtomicI64::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let started = std::time::Instant::now();

    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (store, busy, clock) = (Arc::clone(&store), Arc::clone(&busy), Arc::clone(&clock));
            let (overlaps, finished) = (Arc::clone(&overlaps), Arc::clone(&finished));
            std::thread::spawn(move || -> Result<usize, String> {
                let name = format!("worker-{w}");
                let mut steps = 0;
                while !finished.load(Ordering::Acquire) {
                    let now = t0 + Duration::seconds(clock.fetch_add(1, Ordering::AcqRel));
                    let handler = |task: &Task<NamedKind>| {
                        let Some(flag) = busy.get(&task.id()) else {
                            return Handled::Fail(Failure::provider(
                                "UNKNOWN",
                                "unknown task",
                                now,
                            ));
                        };
                        if flag.fetch_add(1, Ordering::AcqRel) != 0 {
                            overlaps.fetch_add(1, Ordering::AcqRel);
                        }
                        let n = task.id().as_uuid().as_u128();
                        let handled = if n.is_multiple_of(100) && task.runs() == 1 {
                            // This worker "crashes": the lease will run out.
                            Handled::Heartbeat {
                                lease_until: now + Duration::seconds(3),
                                progress: None,
                            }
                        } else if n % 10 == 1 && task.attempts() == 0 {
                            Handled::Fail(Failure::provider(
                                "REGISTRY_BUSY",
                                "the registry is busy",
                                now,
                            ))
                        } else {
                            Handled::Complete(Outcome::new().message(format!("renewed by {name}")))
                        };
                        flag.fetch_sub(1, Ordering::AcqRel);
                        handled
                    };
                    let report = work_once(
                        &*store,
                        now,
                        16,
                        now + Duration::seconds(30),
                        Some(&name),
                        handler,
                    )
                    .map_err(|e| e.to_string())?;
                    steps += 1;
                    if report.claimed + report.requeued + report.retried == 0 {
                        let active = StatusSet::ALL
                            .without(Status::Done)
                            .without(Status::Cancelled);
                        let left = store
                            .list(
                                &Scope::Staff,
                                &Filter::new().statuses(active),
                                PageRequest::first(1),
                            )
                            .map_err(|e| e.to_string())?;
                        if left.tasks.is_empty() {
                            finished.store(true, Ordering::Release);
                        }
                        std::thread::yield_now();
                    }
                }
                Ok(steps)
            })
        })
        .collect();
    let mut steps = 0;
    for worker in workers {
        steps += worker.join().map_err(|_| "a worker panicked")??;
    }
    let elapsed = started.elapsed();

    // Every task is done, once, and its log rebuilds it.
    let (mut done, mut runs, mut failures, mut stalls) = (0, 0, 0, 0);
    let mut request = PageRequest::first(1000);
    loop {
        let page = store.list(&Scope::Staff, &Filter::new(), request)?;
        for task in &page.tasks {
            if task.status() != Status::Done {
                return Err(format!("task {} ended {}", task.id(), task.status()).into());
            }
            let log = store.log(&Scope::Staff, task.id(), 0, usize::MAX)?;
            let count = |action| log.iter().filter(|e| e.action() == action).count();
            let completions = count(Action::Complete);
            if completions != 1 {
                return Err(format!("task {} completed {completions} times", task.id()).into());
            }
            task.check_log(&log)
                .map_err(|e| format!("task {} does not replay: {e}", task.id()))?;
            done += 1;
            runs += task.runs();
            failures += count(Action::Fail);
            stalls += count(Action::MarkStalled);
        }
        match page.next {
            Some(cursor) => request = PageRequest::after(cursor, 1000),
            None => break,
        }
    }
    if done != TASKS {
        return Err(format!("{done} of {TASKS} tasks found: some were lost").into());
    }
    let overlaps = overlaps.load(Ordering::Acquire);
    if overlaps != 0 {
        return Err(format!("{overlaps} times a task was handled by two workers at once").into());
    }
    println!("{TASKS} tasks done by {WORKERS} workers in {steps} loop steps ({elapsed:.2?})");
    println!("{runs} runs: {failures} provider failures retried, {stalls} crashed runs requeued");
    println!("no task handled twice at once, none lost, every log replays to its record");
    Ok(())
}
