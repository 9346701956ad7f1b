//! VMware Cloud Foundation's commissioning example, with its subtasks:
//! the second fails, the task fails unresolved, a retry re-runs only the
//! second and third, and the task ends done and resolved.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use taskstate::{
    Actor, Aggregate, AggregatePolicy, CancelRules, Command, Failure, IdGenerator, NamedKind,
    NewSubtask, NewTask, Outcome, Owner, Rejection, RelaunchRules, Resolution, ResourceRef, Rules,
    Status, SubtaskChange, SubtaskStatus, Task,
};

use common::{Logged, t};

/// Applies a command that must be accepted, logging its event.
fn accept(
    logged: &mut Logged,
    command: Command<NamedKind>,
    actor: Actor,
    now: chrono::DateTime<chrono::Utc>,
) {
    if let Err(rejection) = logged.apply(command.clone(), actor.clone(), now) {
        panic!("{actor} {command:?} refused: {rejection}");
    }
}

fn admin() -> Actor {
    Actor::customer("administrator@vsphere.local")
}

fn commission() -> Logged {
    let rules = Rules::new().cancel(CancelRules::RUNNING_ONLY).relaunch(
        RelaunchRules::STANDARD
            .provider_failures()
            .without_corrections(),
    );
    let new = NewTask::new(
        IdGenerator::seeded(2019).next_id(t(0)),
        NamedKind::with_rules("HOST_COMMISSION", rules),
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
    Logged::new(Task::create(new, admin(), t(0)).unwrap())
}

fn statuses(task: &Task<NamedKind>) -> Vec<SubtaskStatus> {
    task.subtasks().iter().map(|s| s.status).collect()
}

#[test]
fn commissioning_a_host_fails_on_maintenance_mode_then_resumes_where_it_failed() {
    use SubtaskStatus as S;
    let mut logged = commission();
    assert_eq!(logged.task.resolution(), None);
    assert!(
        !logged.task.can_cancel(&admin(), t(0)),
        "only in-progress tasks are cancellable"
    );

    let (run, started) = logged.task.start(t(600), None, t(1)).unwrap();
    logged.push(started);
    assert!(logged.task.can_cancel(&admin(), t(1)));
    let token = run.token();
    let step = |id, change| Command::Subtask { token, id, change };
    accept(
        &mut logged,
        step(0, SubtaskChange::Start),
        Actor::System,
        t(2),
    );
    assert_eq!(
        logged.task.progress().unwrap().current_step.as_deref(),
        Some("HostVibValidationAction")
    );
    accept(
        &mut logged,
        step(0, SubtaskChange::Succeed),
        Actor::System,
        t(3),
    );
    accept(
        &mut logged,
        step(1, SubtaskChange::Start),
        Actor::System,
        t(4),
    );
    let cause = Failure::customer("HOST_IN_MAINTENANCE_MODE", "host in maintenance mode", t(5));
    accept(
        &mut logged,
        step(
            1,
            SubtaskChange::Fail {
                errors: vec![cause.clone()],
            },
        ),
        Actor::System,
        t(5),
    );
    assert_eq!(
        statuses(&logged.task),
        [S::Succeeded, S::Failed, S::Pending]
    );
    assert_eq!(logged.task.subtasks().get(1).unwrap().errors, [cause]);
    assert_eq!(
        logged.task.subtasks().aggregate(AggregatePolicy::FailFast),
        Aggregate::Failed
    );
    // Fail-fast: the third does not start, and the task cannot complete.
    let refused = logged
        .task
        .apply(step(2, SubtaskChange::Start), Actor::System, t(6));
    assert!(matches!(refused, Err(Rejection::RefusedByRule { .. })));
    let progress = logged.task.progress().unwrap();
    assert_eq!((progress.step_count, progress.total_steps), (1, 3));

    let failure = Failure::customer(
        "COMMISION_HOST_FAILED",
        "Failed to Commissioning host(s)",
        t(6),
    )
    .error_type("ERROR");
    let refused = run
        .complete(&mut logged.task, Outcome::new(), t(6))
        .unwrap_err();
    assert!(matches!(
        refused.rejection,
        Rejection::SubtasksUnsatisfied {
            subtask: None,
            remaining: 2
        }
    ));
    let failed = refused.run.fail(&mut logged.task, failure, t(6)).unwrap();
    logged.push(failed);
    assert_eq!(logged.task.status(), Status::Failed);
    assert_eq!(logged.task.resolution(), Some(Resolution::Unresolved));
    assert!(
        !logged.task.can_cancel(&admin(), t(7)),
        "VMware: a failed task is not cancellable"
    );
    assert_eq!(
        logged.task.failure().unwrap().error_type.as_deref(),
        Some("ERROR")
    );
    // VMware's view of it, as its API would print it.
    let view = taskstate::profiles::vcf::VcfTask::of(&logged.task, &admin(), t(7));
    assert_eq!(view.status.text(), "FAILED");
    let subtask_words: Vec<_> = view.sub_tasks.iter().map(|s| s.status.text()).collect();
    assert_eq!(subtask_words, ["SUCCESSFUL", "FAILED", "PENDING"]);
    assert_eq!(view.errors[0].error_code, "COMMISION_HOST_FAILED");
    assert_eq!(view.errors[0].error_type, "ERROR");
    assert_eq!(view.resolution_status, "UNRESOLVED");
    assert!(!view.is_cancellable);
    assert_eq!(view.resources[0].kind, "HOST");
    let json = serde_json::to_string(&view).unwrap();
    assert_eq!(
        serde_json::from_str::<taskstate::profiles::vcf::VcfTask>(&json).unwrap(),
        view
    );

    // The cause is fixed; the user retries: only the second and third run.
    let first = logged.task.subtasks().get(0).unwrap().clone();
    accept(&mut logged, Command::relaunch(), admin(), t(3600));
    assert_eq!(
        statuses(&logged.task),
        [S::Succeeded, S::Pending, S::Pending]
    );
    assert_eq!(
        logged.task.subtasks().get(0).unwrap(),
        &first,
        "succeeded keeps its times"
    );
    let (run, started) = logged.task.start(t(4200), None, t(3601)).unwrap();
    logged.push(started);
    let token = run.token();
    let step = |id, change| Command::Subtask { token, id, change };
    let refused = logged
        .task
        .apply(step(0, SubtaskChange::Start), Actor::System, t(3602));
    assert!(matches!(
        refused,
        Err(Rejection::IllegalSubtaskMove { subtask: 0, .. })
    ));
    for id in [1, 2] {
        accept(
            &mut logged,
            step(id, SubtaskChange::Start),
            Actor::System,
            t(3602),
        );
        accept(
            &mut logged,
            step(id, SubtaskChange::Succeed),
            Actor::System,
            t(3603),
        );
    }
    assert_eq!(
        logged.task.subtasks().aggregate(AggregatePolicy::FailFast),
        Aggregate::Succeeded
    );
    let completed = run
        .complete(&mut logged.task, Outcome::new(), t(3604))
        .unwrap();
    logged.push(completed);
    assert_eq!(logged.task.status(), Status::Done);
    assert_eq!(logged.task.resolution(), Some(Resolution::Resolved));
    assert!(!logged.task.completed_with_warnings());
    assert_eq!(logged.task.subtasks().get(0).unwrap(), &first);

    // Replay and a JSON round trip rebuild the subtasks exactly.
    assert_eq!(Task::replay(&logged.log).unwrap(), logged.task);
    let json = serde_json::to_string(&logged.task).unwrap();
    assert_eq!(
        serde_json::from_str::<Task<NamedKind>>(&json).unwrap(),
        logged.task
    );
}

#[test]
fn the_vmware_resources_list_holds_every_resource() {
    let new = NewTask::new(
        IdGenerator::seeded(1).next_id(t(0)),
        NamedKind::new("HOST_COMMISSION"),
        Owner::new("admin"),
        ResourceRef::new("HOST", "h1"),
    )
    .also_on(ResourceRef::new("HOST", "h2"))
    .child_of(IdGenerator::seeded(2).next_id(t(0)));
    let (task, _) = Task::create(new, Actor::System, t(0)).unwrap();
    let ids: Vec<_> = task.resources().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["h1", "h2"]);
    assert_eq!(task.parent(), Some(IdGenerator::seeded(2).next_id(t(0))));
}

#[test]
fn tasks_made_of_tasks_fold_like_subtasks() {
    use taskstate::subtask::{Tally, aggregate};
    let children = [
        (Status::Done, false),
        (Status::Failed, true),
        (Status::Done, false),
    ];
    let tally = Tally::of_tasks(children);
    assert_eq!(
        aggregate(AggregatePolicy::SettleAll, &tally),
        Aggregate::SucceededWithWarnings
    );
    let children = [
        (Status::Done, false),
        (Status::Failed, false),
        (Status::Running, false),
    ];
    let tally = Tally::of_tasks(children);
    assert_eq!(
        aggregate(AggregatePolicy::FailFast, &tally),
        Aggregate::Failed
    );
    assert_eq!(
        aggregate(AggregatePolicy::SettleAll, &tally),
        Aggregate::Running
    );
    let pending = Tally::of_tasks([(Status::Pending, false), (Status::Pending, true)]);
    assert_eq!(
        aggregate(AggregatePolicy::SettleAll, &pending),
        Aggregate::Pending
    );
}
