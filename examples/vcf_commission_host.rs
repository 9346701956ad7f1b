//! VMware Cloud Foundation: commissioning a host, with subtasks.
//!
//! Run: `cargo run --example vcf_commission_host`
//!
//! The task has three subtasks: validate the host's installed bundles,
//! check that no host is in maintenance mode, fetch the DNS and NTP
//! addresses. The second fails; the task fails and is unresolved. Once the
//! host is out of maintenance mode, the user retries the task (VMware's
//! `PATCH /v1/tasks/{id}`): only the second and third subtasks run again,
//! and the task ends successful and resolved. The task is printed at each
//! step as VMware's task JSON (`taskstate::profiles::vcf::VcfTask`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use taskstate::profiles::vcf::VcfTask;
use taskstate::{
    Actor, CancelRules, Command, Failure, IdGenerator, NewSubtask, NewTask, Outcome, Owner,
    RelaunchRules, ResourceRef, Rules, SubtaskChange, Task, TaskKind, Timeline,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Vcf {
    CommissionHosts,
}

/// VMware retries any failed task on request, whatever the failure's
/// origin; its generic route cancels only tasks in progress.
static COMMISSION: std::sync::LazyLock<Rules> = std::sync::LazyLock::new(|| {
    Rules::new().cancel(CancelRules::RUNNING_ONLY).relaunch(
        RelaunchRules::STANDARD
            .provider_failures()
            .without_corrections(),
    )
});

impl TaskKind for Vcf {
    fn name(&self) -> &str {
        "HOST_COMMISSION"
    }

    fn rules(&self) -> &Rules {
        &COMMISSION
    }
}

fn show(
    step: &str,
    task: &Task<Vcf>,
    user: &Actor,
    now: DateTime<Utc>,
) -> Result<(), serde_json::Error> {
    let view = VcfTask::of(task, user, now);
    println!("== {step}\n{}\n", serde_json::to_string_pretty(&view)?);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = Utc
        .with_ymd_and_hms(2019, 6, 20, 12, 3, 18)
        .single()
        .ok_or("bad time")?;
    let at = |seconds: i64| t0 + Duration::seconds(seconds);
    let admin = Actor::customer("administrator@vsphere.local");

    let new = NewTask::new(
        IdGenerator::seeded(2019).next_id(t0),
        Vcf::CommissionHosts,
        Owner::new("administrator@vsphere.local"),
        ResourceRef::new("HOST", "f0f2f355-c91a-4d29-ba55-1c5e73608baa"),
    )
    .title("Commissioning host(s) sfo01-w01-esx05.rainpole.io to VMware Cloud Foundation")
    .subtask(NewSubtask::new(
        "HostVibValidationAction",
        "Validate the hosts for any disallowed VIBS",
    ))
    .subtask(NewSubtask::new(
        "HostMaintenanceModeValidationAction",
        "Verifies that none of the hosts are in maintenance mode",
    ))
    .subtask(NewSubtask::new(
        "FetchDnsAndNtpAction",
        "Fetches DNS & NTP IPs",
    ));
    let (mut task, created) = Task::create(new, admin.clone(), t0)?;
    let mut log = vec![created];
    show("created", &task, &admin, t0)?;

    // The first run: the bundles validate, the maintenance-mode check fails.
    let (run, started) = task.start(at(600), Some("sddc-manager".into()), at(1))?;
    log.push(started);
    log.push(run.subtask(&mut task, 0, SubtaskChange::Start, at(2))?);
    log.push(run.subtask(&mut task, 0, SubtaskChange::Succeed, at(3))?);
    log.push(run.subtask(&mut task, 1, SubtaskChange::Start, at(4))?);
    let cause = Failure::customer(
        "HOST_IN_MAINTENANCE_MODE",
        "Host sfo01-w01-esx05.rainpole.io is in maintenance mode",
        at(5),
    );
    log.push(run.subtask(
        &mut task,
        1,
        SubtaskChange::Fail {
            errors: vec![cause],
        },
        at(5),
    )?);
    show(
        "a subtask failed (the task still runs)",
        &task,
        &admin,
        at(5),
    )?;

    // Fail-fast: the task fails with the subtask; the third never started.
    let failure = Failure::customer(
        "COMMISION_HOST_FAILED",
        "Failed to Commissioning host(s) sfo01-w01-esx05.rainpole.io to VMware Cloud Foundation",
        at(6),
    )
    .error_type("ERROR");
    log.push(run.fail(&mut task, failure, at(6))?);
    show("failed, unresolved", &task, &admin, at(6))?;

    // The host leaves maintenance mode; the user retries the task.
    log.extend(task.apply(Command::relaunch(), admin.clone(), at(3600))?);
    show(
        "retried: only the failed and unrun subtasks run again",
        &task,
        &admin,
        at(3600),
    )?;

    let (run, started) = task.start(at(4200), Some("sddc-manager".into()), at(3601))?;
    log.push(started);
    for id in [1, 2] {
        log.push(run.subtask(&mut task, id, SubtaskChange::Start, at(3602))?);
        log.push(run.subtask(&mut task, id, SubtaskChange::Succeed, at(3603))?);
    }
    log.push(run.complete(&mut task, Outcome::new(), at(3604))?);
    show("successful and resolved", &task, &admin, at(3604))?;

    println!("{}", Timeline::new(&log));
    assert_eq!(Task::replay(&log)?, task);
    Ok(())
}
