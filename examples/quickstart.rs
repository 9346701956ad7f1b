//! Quickstart: one task through the happy path, one through a failure.
//!
//! Run: `cargo run --example quickstart`
//!
//! A registrar declares its task kinds, creates a task when a customer
//! orders a domain, and lets an executor run it under a lease. Every move
//! goes through the transition table and returns the event to append to
//! the task's log (a store keeps it beside the record); the log is printed
//! as a timeline at the end of each story and rebuilds the record.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use taskstate::{
    Actor, CancelRules, Command, Failure, IdGenerator, NewTask, Outcome, Owner, Pause, ResourceRef,
    Rules, Status, Task, TaskKind, Timeline,
};

/// The registrar's own task kinds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Registrar {
    DomainCreate,
    DomainDnsUpdate,
}

/// DNS updates follow Dyn's rule: only pending ones can be cancelled.
static DNS_UPDATE: Rules = Rules::new().cancel(CancelRules::PENDING_ONLY);

impl TaskKind for Registrar {
    fn name(&self) -> &str {
        match self {
            Registrar::DomainCreate => "DomainCreate",
            Registrar::DomainDnsUpdate => "DomainDnsUpdate",
        }
    }

    fn rules(&self) -> &Rules {
        match self {
            Registrar::DomainCreate => &Rules::STANDARD,
            Registrar::DomainDnsUpdate => &DNS_UPDATE,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The core reads no clock: the host passes `now` to every command.
    // Fixed times keep this example's output the same on every run.
    let t0: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .ok_or("bad time")?;
    let at = |seconds: i64| t0 + Duration::seconds(seconds);
    let mut ids = IdGenerator::seeded(2026);
    let alice = Actor::customer("alice");

    println!("== 1. DomainCreate example.fr: the happy path\n");
    let (mut task, created) = Task::create(
        NewTask::new(
            ids.next_id(t0),
            Registrar::DomainCreate,
            Owner::new("alice"),
            ResourceRef::new("domain", "example.fr"),
        )
        .comment("order received"),
        alice.clone(),
        t0,
    )?;
    let mut log = vec![created];

    // An executor takes the due task under a five-minute lease.
    let (run, started) = task.start(at(300), Some("worker-1".into()), at(20))?;
    log.push(started);
    // A heartbeat is lease state: the version moves, nothing is logged.
    run.heartbeat(
        &mut task,
        at(330),
        Some("contact created at the registry".into()),
        at(30),
    )?;

    // The registry answers asynchronously: the run pauses on it, looking
    // again every ten minutes and giving up after an hour.
    log.push(
        run.wait(
            &mut task,
            Pause::until(at(3600))
                .check_at(at(640))
                .reason("waiting for Afnic"),
            at(40),
        )?,
    );
    println!("status while the registry works: {}", task.status());
    if let Some(wakeup) = task.next_wakeup() {
        println!("next wakeup: {} ({:?})", wakeup.at, wakeup.reason);
    }

    // The customer is not an executor: the table refuses, nothing changes.
    let before = task.clone();
    let refused = task.apply(
        Command::Resume {
            token: run.token(),
            lease_until: at(600),
        },
        alice.clone(),
        at(50),
    );
    println!(
        "customer tries to resume: {}",
        refused.err().ok_or("expected a rejection")?
    );
    assert_eq!(task, before);

    log.push(run.resume(&mut task, at(660), at(360))?);
    log.push(
        run.complete(
            &mut task,
            Outcome::new()
                .produced(ResourceRef::new("domain", "example.fr"))
                .message("example.fr is registered"),
            at(370),
        )?,
    );
    assert_eq!(task.status(), Status::Done);
    println!("\n{}", Timeline::new(&log));
    // The log and the record agree (the heartbeat is counted in the next
    // event, not logged).
    task.check_log(&log)?;

    println!("== 2. DomainDnsUpdate example.com: a failure\n");
    let (mut task, created) = Task::create(
        NewTask::new(
            ids.next_id(at(400)),
            Registrar::DomainDnsUpdate,
            Owner::new("alice"),
            ResourceRef::new("domain", "example.com"),
        ),
        alice.clone(),
        at(400),
    )?;
    let mut log = vec![created];
    println!(
        "can alice cancel it while pending? {}",
        task.can_cancel(&alice, at(401))
    );
    let (run, started) = task.start(at(700), Some("worker-2".into()), at(410))?;
    log.push(started);
    println!(
        "can alice cancel it while running? {}",
        task.can_cancel(&alice, at(411))
    );
    log.push(run.fail(
        &mut task,
        Failure::customer(
            "INVALID_NAME_SERVER",
            "ns1.example.net does not answer for example.com",
            at(420),
        ),
        at(420),
    )?);
    let failure = task.failure().ok_or("expected a failure")?;
    println!(
        "status {}, {} failure {}: {} (what follows: {})",
        task.status(),
        failure.origin,
        failure.code,
        failure.message,
        task.follow_up().ok_or("expected a follow-up")?,
    );
    println!("\n{}", Timeline::new(&log));

    // The log alone rebuilds the record.
    assert_eq!(Task::replay(&log)?, task);
    Ok(())
}
