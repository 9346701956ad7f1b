//! Quickstart: one task through the happy path, one through a failure.
//!
//! Run: `cargo run --example quickstart`
//!
//! A registrar declares its task kinds, creates a task when a customer
//! orders a domain, and lets an executor run it under a lease. Every move
//! goes through the transition table; the history is printed as a
//! timeline at the end of each story.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use taskstate::{
    Actor, CancelRules, Command, Failure, IdGenerator, NewTask, Outcome, Owner, ResourceRef, Rules,
    Status, Task, TaskKind,
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
    let mut task = Task::create(
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

    // An executor takes the due task under a five-minute lease.
    let run = task.start(at(300), Some("worker-1".into()), at(20))?;
    run.heartbeat(
        &mut task,
        at(330),
        Some("contact created at the registry".into()),
        at(30),
    )?;

    // The registry answers asynchronously: the run pauses on it.
    let paused = run.wait(
        &mut task,
        at(3600),
        Some("waiting for Afnic".into()),
        at(40),
    )?;
    println!("status while the registry works: {}", task.status());

    // The customer is not an executor: the table refuses, nothing changes.
    let before = task.clone();
    let refused = task.apply(
        Command::Resume {
            token: paused.token(),
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

    let run = paused.resume(&mut task, at(660), at(360))?;
    run.complete(
        &mut task,
        Outcome::new()
            .produced(ResourceRef::new("domain", "example.fr"))
            .message("example.fr is registered"),
        at(370),
    )?;
    assert_eq!(task.status(), Status::Done);
    println!("\n{}", task.timeline());

    println!("== 2. DomainDnsUpdate example.com: a failure\n");
    let mut task = Task::create(
        NewTask::new(
            ids.next_id(at(400)),
            Registrar::DomainDnsUpdate,
            Owner::new("alice"),
            ResourceRef::new("domain", "example.com"),
        ),
        alice.clone(),
        at(400),
    )?;
    println!(
        "can alice cancel it while pending? {}",
        task.can_cancel(&alice, at(401))
    );
    let run = task.start(at(700), Some("worker-2".into()), at(410))?;
    println!(
        "can alice cancel it while running? {}",
        task.can_cancel(&alice, at(411))
    );
    run.fail(
        &mut task,
        Failure::customer(
            "INVALID_NAME_SERVER",
            "ns1.example.net does not answer for example.com",
            at(420),
        ),
        at(420),
    )?;
    let failure = task.failure().ok_or("expected a failure")?;
    println!(
        "status {}, {} failure {}: {} (what follows: {:?})",
        task.status(),
        failure.origin,
        failure.code,
        failure.message,
        task.follow_up(),
    );
    println!("\n{}", task.timeline());

    // The history alone rebuilds the record.
    assert_eq!(Task::replay(task.history().to_vec())?, task);
    Ok(())
}
