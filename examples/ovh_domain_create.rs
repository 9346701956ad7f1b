//! The OVHcloud domain task guide's example, end to end.
//!
//! Run: `cargo run --example ovh_domain_create`
//!
//! A `.fr` DomainCreate fails because Afnic, the `.fr` registry, asks for a
//! justification of use (the name matches a city). The failure is the
//! customer's to fix: the customer lists the fields to correct, reads the
//! field, sets it (a bad value first, which is refused and changes
//! nothing), relaunches, and the task runs to `Done`.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use taskstate::profiles::ovh::{OvhArgument, OvhTask};
use taskstate::{
    Actor, ArgumentSpec, Command, Failure, IdGenerator, NewTask, Outcome, Owner, ResourceRef, Task,
    TaskKind, Timeline,
};

/// The registrar's task kinds (OVHcloud has more than thirty).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum DomainTask {
    DomainCreate,
    DomainTrade,
}

/// What a DomainCreate runs with.
static DOMAIN_CREATE_ARGUMENTS: LazyLock<Vec<ArgumentSpec>> = LazyLock::new(|| {
    vec![
        ArgumentSpec::text("domain", 1, 255)
            .read_only()
            .required()
            .describe("The domain name to register"),
        ArgumentSpec::text("legitimacyAfnic", 10, 2000).describe(
            "Afnic may ask why you are entitled to this name (for instance when it \
             matches a city): explain your use of it",
        ),
    ]
});

impl TaskKind for DomainTask {
    fn name(&self) -> &str {
        match self {
            DomainTask::DomainCreate => "DomainCreate",
            DomainTask::DomainTrade => "DomainTrade",
        }
    }

    fn arguments(&self) -> &[ArgumentSpec] {
        match self {
            DomainTask::DomainCreate => &DOMAIN_CREATE_ARGUMENTS,
            DomainTask::DomainTrade => &[],
        }
    }
}

/// Prints the task as OVHcloud's API shows it to `viewer`.
fn show(
    step: &str,
    task: &Task<DomainTask>,
    ovh_id: u64,
    viewer: &Actor,
    now: DateTime<Utc>,
) -> Result<(), serde_json::Error> {
    let view = OvhTask::of(task, ovh_id, viewer, now);
    println!("== {step}\n{}\n", serde_json::to_string_pretty(&view)?);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .ok_or("bad time")?;
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    let customer = Actor::customer("ab12345-ovh");

    // POST /order: the order creates the task.
    let new = NewTask::new(
        IdGenerator::seeded(7).next_id(t0),
        DomainTask::DomainCreate,
        Owner::new("ab12345-ovh"),
        ResourceRef::new("domain", "marseille.fr"),
    )
    .argument("domain", "marseille.fr");
    let (mut task, created) = Task::create(new, customer.clone(), t0)?;
    // The log a store keeps beside the record: every event, in order.
    let mut log = vec![created];
    // OVHcloud's task ids are numbers; the host keeps the mapping.
    let ovh_id = 1_234_567;
    show(
        "GET /me/task/domain/1234567: created",
        &task,
        ovh_id,
        &customer,
        t0,
    )?;

    // The executor runs it; Afnic answers that a justification is needed.
    let (run, started) = task.start(at(5), Some("registrar-worker-3".into()), at(1))?;
    log.push(started);
    let failure = Failure::customer(
        "AFNIC_LEGITIMACY_REQUIRED",
        "Afnic asks for a justification for the use of this domain name",
        at(2),
    )
    .flag("legitimacyAfnic");
    log.push(run.fail(&mut task, failure, at(2))?);
    // status error, canRelaunch true: the customer may correct and relaunch.
    show(
        "GET /me/task/domain/1234567: in error",
        &task,
        ovh_id,
        &customer,
        at(3),
    )?;
    if let Some(why) = task.relaunch_rejection(&customer, at(3)) {
        println!("relaunch right now? no: {why}");
    }

    // GET /me/task/domain/{id}/argument: the fields to correct.
    println!("fields to correct: {:?}", task.fields_to_correct());

    // GET /me/task/domain/{id}/argument/legitimacyAfnic: how to fill it.
    let field = OvhArgument::of(&task, "legitimacyAfnic").ok_or("no such argument")?;
    println!("{}\n", serde_json::to_string_pretty(&field)?);

    // PUT /me/task/domain/{id}/argument/legitimacyAfnic: a bad value first.
    let before = task.clone();
    let refused = task.apply(
        Command::set_argument("legitimacyAfnic", "mayor"),
        customer.clone(),
        at(10),
    );
    println!(
        "set \"mayor\": {}",
        refused.err().ok_or("expected a rejection")?
    );
    assert_eq!(task, before, "a refused correction changes nothing");

    log.extend(task.apply(
        Command::set_argument(
            "legitimacyAfnic",
            "I run the official tourist office of the city of Marseille",
        ),
        customer.clone(),
        at(11),
    )?);
    // Read it again to check it was taken into account.
    let field = OvhArgument::of(&task, "legitimacyAfnic").ok_or("no such argument")?;
    println!("{}", serde_json::to_string_pretty(&field)?);
    println!("fields still to correct: {:?}\n", task.fields_to_correct());

    // POST /me/task/domain/{id}/relaunch.
    log.extend(task.apply(Command::relaunch(), customer.clone(), at(12))?);
    show(
        "GET /me/task/domain/1234567: relaunched",
        &task,
        ovh_id,
        &customer,
        at(12),
    )?;
    let (run, started) = task.start(at(18), Some("registrar-worker-1".into()), at(13))?;
    log.push(started);
    log.push(
        run.complete(
            &mut task,
            Outcome::new()
                .produced(ResourceRef::new("domain", "marseille.fr"))
                .message("marseille.fr is registered"),
            at(14),
        )?,
    );

    show(
        "GET /me/task/domain/1234567: done",
        &task,
        ovh_id,
        &customer,
        at(15),
    )?;
    println!("{}", Timeline::new(&log));
    assert_eq!(Task::replay(&log)?, task);
    Ok(())
}
