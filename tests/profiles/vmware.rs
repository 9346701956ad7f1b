//! VMware Cloud Foundation's commissioning example, with its subtasks:
//! the second fails, the task fails unresolved, a retry re-runs only the
//! second and third, and the task ends done and resolved.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use taskstate::{
    Actor, Aggregate, AggregatePolicy, CancelRules, Command, Failure, IdGenerator, NamedKind,
    NewSubtask, NewTask, Outcome, Owner, Rejection, RelaunchRules, Resolution, ResourceRef, Rules,
    Status, SubtaskChange, SubtaskStatus, Task,
};

use crate::common::{Logged, accept, t};

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
    let subtask_words: Vec<_> = view.subtasks().iter().map(|s| s.status.text()).collect();
    assert_eq!(subtask_words, ["SUCCESSFUL", "FAILED", "PENDING"]);
    assert_eq!(view.errors()[0].error_code, "COMMISION_HOST_FAILED");
    assert_eq!(view.errors()[0].error_type.as_deref(), Some("ERROR"));
    assert_eq!(view.resolution_status.as_deref(), Some("UNRESOLVED"));
    assert_eq!(view.is_cancellable, Some(false));
    assert_eq!(view.resources()[0].kind, "HOST");
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
    use taskstate::Tally;
    let children = [
        (Status::Done, false),
        (Status::Failed, true),
        (Status::Done, false),
    ];
    let tally = Tally::of_tasks(children);
    assert_eq!(
        tally.aggregate(AggregatePolicy::SettleAll),
        Aggregate::SucceededWithWarnings
    );
    let children = [
        (Status::Done, false),
        (Status::Failed, false),
        (Status::Running, false),
    ];
    let tally = Tally::of_tasks(children);
    assert_eq!(
        tally.aggregate(AggregatePolicy::FailFast),
        Aggregate::Failed
    );
    assert_eq!(
        tally.aggregate(AggregatePolicy::SettleAll),
        Aggregate::Running
    );
    let pending = Tally::of_tasks([(Status::Pending, false), (Status::Pending, true)]);
    assert_eq!(
        pending.aggregate(AggregatePolicy::SettleAll),
        Aggregate::Pending
    );
}

// ---------------------------------------------------------------------
// VMware's JSON, nested and complete
// ---------------------------------------------------------------------

const NESTED_PAGE: &str = include_str!("../fixtures/vcf_page_nested.json");

#[test]
fn a_nested_vmware_page_writes_back_as_printed_with_its_unknown_fields_and_times() {
    use taskstate::profiles::vcf::VcfTaskList;
    let page: VcfTaskList = serde_json::from_str(NESTED_PAGE).unwrap();
    let printed: serde_json::Value = serde_json::from_str(NESTED_PAGE).unwrap();
    assert_eq!(serde_json::to_value(&page).unwrap(), printed);
    // Read, write, read: the same value.
    let text = serde_json::to_string(&page).unwrap();
    assert_eq!(serde_json::from_str::<VcfTaskList>(&text).unwrap(), page);
    // Each time is written back byte for byte, precision and offset kept.
    for time in [
        "\"2026-11-23T09:00:00.000Z\"",
        "\"2026-11-23T09:00:40.5Z\"",
        "\"2026-11-23T09:01:30+00:00\"",
        "\"2026-11-23T08:00:00.000+01:00\"",
        "\"2026-11-23T07:05:12.345678Z\"",
    ] {
        assert!(text.contains(time), "{time} lost in {text}");
    }

    let task = &page.elements[0];
    assert_eq!(task.kind.as_deref(), Some("HOST_COMMISSION"));
    assert_eq!(task.is_retryable, Some(false));
    assert_eq!(task.unknown["origin"], "UI");
    assert_eq!(page.unknown["links"], serde_json::json!([]));
    let metadata = page.page_metadata.as_ref().unwrap();
    assert_eq!(
        (metadata.total_elements, metadata.total_pages),
        (Some(7), Some(4))
    );
    let resource = &task.resources()[0];
    assert_eq!(
        resource.fqdn.as_deref(),
        Some("sfo01-w01-esx06.rainpole.io")
    );
    assert_eq!(resource.sans.as_ref().map(Vec::len), Some(2));
    let validation = &task.subtasks()[0];
    let error = &validation.errors()[0];
    assert_eq!(error.reference_token.as_deref(), Some("K2Q4XE"));
    assert_eq!(
        error.nested_errors.as_ref().unwrap()[0].error_code,
        "HOST_CHECK_FAILED"
    );
    assert_eq!(
        error.context.as_ref().unwrap()["host"],
        "sfo01-w01-esx06.rainpole.io"
    );
    // Newer managers' notifications are kept among the unknown fields.
    assert_eq!(error.unknown["notifications"][0]["severity"], "ERROR");
    let nested = validation.subtasks();
    assert_eq!(nested.len(), 2);
    assert_eq!(nested[1].stages.as_ref().unwrap()[0].name, "QueryHostState");
    // A list left out stays out; an empty one stays empty.
    assert!(nested[0].sub_tasks.is_none());
    assert_eq!(nested[1].sub_tasks.as_deref(), Some(&[][..]));
}

#[test]
fn the_snapshot_of_a_nested_page_keeps_the_tree_the_errors_and_the_flags() {
    use taskstate::profiles::vcf::VcfTaskList;
    let page: VcfTaskList = serde_json::from_str(NESTED_PAGE).unwrap();
    let snapshot = page.elements[0].to_mirrored().unwrap();
    assert_eq!(snapshot.kind.as_deref(), Some("HOST_COMMISSION"));
    assert_eq!(snapshot.status, Some(Status::Running));
    assert_eq!(snapshot.flags.can_cancel, Some(true));
    assert_eq!(snapshot.flags.can_relaunch, Some(false));
    let tree: Vec<_> = snapshot
        .subtasks
        .iter()
        .map(|s| (s.name.as_str(), s.status, s.parent))
        .collect();
    assert_eq!(
        tree,
        [
            ("HostValidation", SubtaskStatus::Failed, None),
            ("HostVibValidationAction", SubtaskStatus::Succeeded, Some(0)),
            (
                "HostMaintenanceModeValidationAction",
                SubtaskStatus::Failed,
                Some(0)
            ),
            ("FetchDnsAndNtpAction", SubtaskStatus::Pending, None),
        ]
    );
    assert_eq!(
        snapshot.subtasks[0].errors[0].code,
        "HOST_IN_MAINTENANCE_MODE"
    );
    assert!(snapshot.subtasks[1].errors.is_empty());
    assert_eq!(snapshot.subtasks[3].description, "Fetches DNS & NTP IPs");

    // Times in any offset read as the same instant.
    let second = page.elements[1].to_mirrored().unwrap();
    assert_eq!(second.created_at, Some(t(0) - chrono::Duration::hours(2)));
    assert_eq!(
        second.done_at.map(|at| at.to_rfc3339()),
        Some("2026-11-23T07:05:12.345678+00:00".to_owned())
    );
    // An unknown word deep in the tree fails the conversion, naming it.
    let mut odd = page.elements[0].clone();
    let deep = &mut odd.sub_tasks.as_mut().unwrap()[0]
        .sub_tasks
        .as_mut()
        .unwrap()[1];
    deep.status = serde_json::from_str("\"WAITING_FOR_INPUT\"").unwrap();
    assert_eq!(odd.to_mirrored().unwrap_err().value, "WAITING_FOR_INPUT");
}

#[test]
fn vmware_statuses_are_equal_in_either_spelling() {
    use taskstate::profiles::Spelled;
    use taskstate::profiles::vcf::{VcfStatus, VcfSubtaskStatus};
    let title: Spelled<VcfStatus> = serde_json::from_str("\"In Progress\"").unwrap();
    let upper: Spelled<VcfStatus> = serde_json::from_str("\"IN_PROGRESS\"").unwrap();
    assert_eq!(title, upper);
    assert_eq!(title, Spelled::new(VcfStatus::InProgress));
    // Each is written as it was read.
    assert_eq!(serde_json::to_string(&title).unwrap(), "\"In Progress\"");
    assert_eq!(serde_json::to_string(&upper).unwrap(), "\"IN_PROGRESS\"");
    let sub: Spelled<VcfSubtaskStatus> = serde_json::from_str("\"Not Applicable\"").unwrap();
    assert_eq!(
        sub,
        Spelled::new(VcfSubtaskStatus::from(SubtaskStatus::NotApplicable))
    );
    assert_ne!(title, Spelled::new(VcfStatus::Failed));
}

#[test]
fn a_tasks_nested_subtasks_nest_in_its_vmware_view_with_their_errors() {
    use taskstate::profiles::vcf::VcfTask;
    let new = NewTask::new(
        IdGenerator::seeded(7).next_id(t(0)),
        NamedKind::new("HOST_COMMISSION"),
        Owner::new("administrator@vsphere.local"),
        ResourceRef::new("HOST", "f0f2f355-c91a-4d29-ba55-1c5e73608baa"),
    )
    .subtask(NewSubtask::new("HostValidation", "Validates the hosts"))
    .subtask(NewSubtask::new(
        "FetchDnsAndNtpAction",
        "Fetches DNS & NTP IPs",
    ))
    .subtask(NewSubtask::new("HostVibValidationAction", "VIBs").under(0))
    .subtask(NewSubtask::new("HostMaintenanceModeValidationAction", "maintenance").under(0))
    .subtask(NewSubtask::new("QueryHostState", "reads the state").under(3));
    let mut logged = Logged::new(Task::create(new, admin(), t(0)).unwrap());
    let (run, started) = logged.task.start(t(600), None, t(1)).unwrap();
    logged.push(started);
    let token = run.token();
    let step = |id, change| Command::Subtask { token, id, change };
    let cause = Failure::customer("HOST_IN_MAINTENANCE_MODE", "host in maintenance mode", t(5));
    accept(
        &mut logged,
        step(4, SubtaskChange::Start),
        Actor::System,
        t(2),
    );
    accept(
        &mut logged,
        step(
            4,
            SubtaskChange::Fail {
                errors: vec![cause],
            },
        ),
        Actor::System,
        t(5),
    );

    let view = VcfTask::of(&logged.task, &admin(), t(6));
    let json = serde_json::to_value(&view).unwrap();
    let top = json["subTasks"].as_array().unwrap();
    let names: Vec<_> = top.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["HostValidation", "FetchDnsAndNtpAction"]);
    let maintenance = &top[0]["subTasks"][1];
    assert_eq!(maintenance["name"], "HostMaintenanceModeValidationAction");
    let deepest = &maintenance["subTasks"][0];
    assert_eq!(deepest["name"], "QueryHostState");
    assert_eq!(deepest["status"], "FAILED");
    assert_eq!(
        deepest["errors"][0]["errorCode"],
        "HOST_IN_MAINTENANCE_MODE"
    );
    assert_eq!(deepest["completionTimestamp"], "2026-11-23T09:00:05.000Z");
    assert_eq!(json["type"], "HOST_COMMISSION");
    assert_eq!(json["creationTimestamp"], "2026-11-23T09:00:00.000Z");
    // Nothing is dropped or flattened: five subtasks in, five back,
    // depth first.
    let snapshot = view.to_mirrored().unwrap();
    let tree: Vec<_> = snapshot
        .subtasks
        .iter()
        .map(|s| (s.name.as_str(), s.parent))
        .collect();
    assert_eq!(
        tree,
        [
            ("HostValidation", None),
            ("HostVibValidationAction", Some(0)),
            ("HostMaintenanceModeValidationAction", Some(0)),
            ("QueryHostState", Some(2)),
            ("FetchDnsAndNtpAction", None),
        ]
    );
    assert_eq!(
        snapshot.subtasks[3].errors[0].code,
        "HOST_IN_MAINTENANCE_MODE"
    );
}
