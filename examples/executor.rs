//! Workers on one store: each claims only the kinds it handles and sleeps
//! until something is due.
//!
//! Run: `cargo run --example executor`
//!
//! A registrar runs domain renewals and DNS zone publishes on one
//! `MemoryStore`. Two registry workers handle `DomainRenew`, one DNS
//! worker handles `ZonePublish` (a blocking kind: one publish per zone at
//! a time). Every step of a worker (`store::work_once`) moves on tasks
//! whose lease ran out, retries failed ones whose time has come, claims up
//! to its batch and records what its handler returns; between steps it
//! sleeps until the store's next due time (`Worker::idle_for`), at most a
//! second, instead of polling. The registry is busy on one renewal in ten
//! the first time (the kind's retry policy brings it back after a second),
//! and one worker "crashes" once: it keeps the lease without finishing,
//! the lease runs out and the task runs again elsewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, Utc};
use taskstate::store::{
    Filter, HandlerReply, MemoryStore, PageRequest, Scope, TaskStore, Worker, work_once,
};
use taskstate::{
    Actor, Failure, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, RetryPolicy,
    Rules, Status, StatusSet, Task,
};

/// The wall clock.
fn clock() -> DateTime<Utc> {
    std::time::SystemTime::now().into()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let renew = NamedKind::with_rules(
        "DomainRenew",
        Rules::new().retry(RetryPolicy::STANDARD.initial_delay_secs(1).max_attempts(3)),
    );
    let publish = NamedKind::with_rules("ZonePublish", Rules::new().blocking(true));
    let store = Arc::new(MemoryStore::new());
    let now = clock();
    let mut ids = IdGenerator::seeded(7);
    for i in 0..200 {
        let domain = ResourceRef::new("domain", format!("domain-{i}.fr"));
        let new = NewTask::new(ids.next_id(now), renew.clone(), Owner::new("acme"), domain)
            // Half of them are ordered for a little later.
            .todo_at(now + Duration::milliseconds(if i % 2 == 0 { 0 } else { 500 }));
        let (task, created) = Task::create(new, Actor::customer("acme"), now)?;
        store.insert(task, created)?;
    }
    for i in 0..20 {
        let zone = ResourceRef::new("zone", format!("zone-{}.com", i % 5));
        let new = NewTask::new(ids.next_id(now), publish.clone(), Owner::new("acme"), zone);
        let (task, created) = Task::create(new, Actor::System, now)?;
        store.insert(task, created)?;
    }

    let finished = Arc::new(AtomicBool::new(false));
    let crashed = Arc::new(AtomicBool::new(false));
    let workers = [
        Worker::new("registry-1", Duration::seconds(1))
            .kinds(["DomainRenew"])
            .batch(16),
        Worker::new("registry-2", Duration::seconds(1))
            .kinds(["DomainRenew"])
            .batch(16),
        Worker::new("dns-1", Duration::seconds(1))
            .kinds(["ZonePublish"])
            .batch(4),
    ];
    let threads: Vec<_> = workers
        .into_iter()
        .map(|worker| {
            let (store, finished, crashed) = (
                Arc::clone(&store),
                Arc::clone(&finished),
                Arc::clone(&crashed),
            );
            std::thread::spawn(move || -> Result<usize, String> {
                let mut handled = 0;
                while !finished.load(Ordering::Acquire) {
                    let now = clock();
                    let report = work_once(&*store, &worker, now, |task, run| {
                        handled += 1;
                        if task.kind().name == "DomainRenew"
                            && !crashed.swap(true, Ordering::AcqRel)
                        {
                            // Crashes: the run keeps its lease until it runs out.
                            drop(run);
                            return HandlerReply::Heartbeat {
                                lease_until: now + Duration::seconds(1),
                                progress: None,
                            };
                        }
                        if task.kind().name == "DomainRenew"
                            && task.id().as_uuid().as_u128() % 10 == 0
                            && task.attempts() == 0
                        {
                            return HandlerReply::Fail(Failure::provider(
                                "REGISTRY_BUSY",
                                "the registry is busy",
                                now,
                            ));
                        }
                        HandlerReply::Complete(
                            Outcome::new().message(format!("done by {}", worker.name())),
                        )
                    })
                    .map_err(|error| error.to_string())?;
                    if report.claimed == 0 {
                        let idle = worker
                            .idle_for(&*store, clock(), Duration::seconds(1))
                            .map_err(|error| error.to_string())?;
                        std::thread::sleep(idle.to_std().unwrap_or_default());
                    }
                }
                Ok(handled)
            })
        })
        .collect();

    // The host's own loop: stop the workers once nothing is left to do.
    let live = StatusSet::ALL
        .without(Status::Done)
        .without(Status::Cancelled);
    while !store
        .list(
            &Scope::Staff,
            &Filter::new().statuses(live),
            PageRequest::first(1),
        )?
        .tasks
        .is_empty()
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    finished.store(true, Ordering::Release);
    for thread in threads {
        let handled = thread.join().map_err(|_| "a worker panicked")??;
        println!("a worker handled {handled} runs");
    }
    let done = store.list(
        &Scope::Staff,
        &Filter::new().statuses(StatusSet::of(&[Status::Done])),
        PageRequest::first(1_000),
    )?;
    println!(
        "{} of 220 tasks done in {:.1?}",
        done.tasks.len(),
        (clock() - now).to_std()?
    );
    if done.tasks.len() != 220 {
        return Err("a task did not finish".into());
    }
    Ok(())
}
