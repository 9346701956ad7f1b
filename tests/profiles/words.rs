//! Every status word of every seed system maps both ways; the lossy cases
//! are listed and pinned.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use taskstate::profiles::UnknownStatus;
use taskstate::profiles::cloudflare::CloudflareStatus;
use taskstate::profiles::dyn_dns::DynStatus;
use taskstate::profiles::ovh::OvhStatus;
use taskstate::profiles::vcf::{VcfStatus, VcfSubtaskStatus};
use taskstate::{Failure, Origin, Status, SubtaskStatus};

use crate::common::{pending, t};

fn parse<T: std::str::FromStr<Err = std::convert::Infallible>>(word: &str) -> T {
    word.parse().unwrap_or_else(|never| match never {})
}

/// The canonical statuses a system cannot show as themselves.
const SHOWN_AS_RUNNING: [Status; 2] = [Status::Waiting, Status::Stalled];

#[test]
fn dyn_is_one_to_one() {
    let words = [
        "ready", "running", "waiting", "complete", "failed", "canceled", "stalled",
    ];
    for word in words {
        let status: DynStatus = parse(word);
        assert_eq!(status.as_str(), word);
        let canonical = status.to_canonical().unwrap();
        assert_eq!(DynStatus::from_canonical(canonical), status);
    }
    for status in Status::ALL {
        assert_eq!(DynStatus::from_canonical(status).to_canonical(), Ok(status));
    }
}

#[test]
fn ovh_words_both_ways_with_error_and_problem() {
    let words = [
        ("todo", Status::Pending),
        ("doing", Status::Running),
        ("done", Status::Done),
        ("cancelled", Status::Cancelled),
        ("error", Status::Failed),
        ("problem", Status::Failed),
    ];
    for (word, canonical) in words {
        let status: OvhStatus = parse(word);
        assert_eq!(status.as_str(), word);
        assert_eq!(status.to_canonical(), Ok(canonical));
    }
    assert_eq!(OvhStatus::Error.failure_origin(), Some(Origin::Customer));
    assert_eq!(OvhStatus::Problem.failure_origin(), Some(Origin::Provider));
    for status in Status::ALL {
        for origin in [Origin::Customer, Origin::Provider] {
            let shown = OvhStatus::from_canonical(status, Some(origin));
            let back = shown.to_canonical().unwrap();
            if SHOWN_AS_RUNNING.contains(&status) {
                assert_eq!(
                    (shown.clone(), back),
                    (OvhStatus::Doing, Status::Running),
                    "lossy: {status}"
                );
            } else {
                assert_eq!(back, status);
            }
            if status == Status::Failed {
                assert_eq!(shown.failure_origin(), Some(origin), "the origin survives");
            }
        }
    }
    // From a task: the failure's origin picks the word.
    let mut task = pending();
    let (run, _) = task.start(t(300), None, t(1)).unwrap();
    run.fail(
        &mut task,
        Failure::provider("DOWN", "registry down", t(2)),
        t(2),
    )
    .unwrap();
    assert_eq!(OvhStatus::of(&task), OvhStatus::Problem);
}

#[test]
fn vmware_parses_both_spellings_case_insensitively() {
    let words = [
        ("PENDING", VcfStatus::Pending, Status::Pending),
        ("Queued", VcfStatus::Queued, Status::Pending),
        ("IN_PROGRESS", VcfStatus::InProgress, Status::Running),
        ("In Progress", VcfStatus::InProgress, Status::Running),
        ("SUCCESSFUL", VcfStatus::Successful, Status::Done),
        ("Successful", VcfStatus::Successful, Status::Done),
        (
            "Completed With Warning",
            VcfStatus::CompletedWithWarning,
            Status::Done,
        ),
        ("FAILED", VcfStatus::Failed, Status::Failed),
        ("Failed", VcfStatus::Failed, Status::Failed),
        ("timed_out", VcfStatus::TimedOut, Status::Failed),
        ("CANCELLED", VcfStatus::Cancelled, Status::Cancelled),
        ("Skipped", VcfStatus::Skipped, Status::Done),
    ];
    for (word, status, canonical) in words {
        let read: VcfStatus = parse(word);
        assert_eq!(read, status, "{word}");
        assert_eq!(read.to_canonical(), Ok(canonical), "{word}");
        // Written back in upper snake case.
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            format!("\"{}\"", status.as_str())
        );
    }
    for status in Status::ALL {
        let shown = VcfStatus::from_canonical(status, false);
        let back = shown.to_canonical().unwrap();
        if SHOWN_AS_RUNNING.contains(&status) {
            assert_eq!(back, Status::Running, "lossy: {status}");
        } else {
            assert_eq!(back, status);
        }
    }
    assert_eq!(
        VcfStatus::from_canonical(Status::Done, true),
        VcfStatus::CompletedWithWarning
    );
    // Subtasks, with NOT_APPLICABLE, one-to-one.
    for status in SubtaskStatus::ALL {
        let shown = VcfSubtaskStatus::from(status);
        let reread: VcfSubtaskStatus = parse(&shown.as_str().replace('_', " ").to_lowercase());
        assert_eq!(reread.to_canonical(), Ok(status));
    }
    assert_eq!(
        parse::<VcfSubtaskStatus>("Not Applicable").to_canonical(),
        Ok(SubtaskStatus::NotApplicable)
    );
}

#[test]
fn cloudflare_words_and_its_lossy_cancel() {
    for (word, canonical) in [
        ("pending", Status::Pending),
        ("running", Status::Running),
        ("completed", Status::Done),
        ("failed", Status::Failed),
    ] {
        let status: CloudflareStatus = parse(word);
        assert_eq!(status.to_canonical(), Ok(canonical));
        assert_eq!(CloudflareStatus::from_canonical(canonical), status);
    }
    assert_eq!(
        CloudflareStatus::from_canonical(Status::Cancelled),
        CloudflareStatus::Failed,
        "lossy: catalog tasks have no cancelled"
    );
    for status in SHOWN_AS_RUNNING {
        assert_eq!(
            CloudflareStatus::from_canonical(status),
            CloudflareStatus::Running
        );
    }
}

#[test]
fn unknown_words_are_kept_and_refused_only_on_conversion() {
    let vcf: VcfStatus = serde_json::from_str("\"PAUSED\"").unwrap();
    assert_eq!(vcf, VcfStatus::Other("PAUSED".into()));
    assert_eq!(serde_json::to_string(&vcf).unwrap(), "\"PAUSED\"");
    assert_eq!(
        vcf.to_canonical(),
        Err(UnknownStatus {
            system: "VMware Cloud Foundation",
            value: "PAUSED".into()
        })
    );
    let ovh: OvhStatus = serde_json::from_str("\"init\"").unwrap();
    assert_eq!(
        ovh.to_canonical().unwrap_err().to_string(),
        "unknown OVHcloud status `init`"
    );
    let dyn_status: DynStatus = parse("archived");
    assert!(dyn_status.to_canonical().is_err());
    let cloudflare: CloudflareStatus = parse("queued");
    assert_eq!(cloudflare.as_str(), "queued");
    assert!(cloudflare.to_canonical().is_err());
    let subtask: VcfSubtaskStatus = parse("WAITING_FOR_INPUT");
    assert!(subtask.to_canonical().is_err());
}

#[test]
fn the_vmware_seed_documents_parse_and_write_back_as_printed() {
    use taskstate::profiles::vcf::{VcfTask, VcfTaskList};
    let list_text = include_str!("../fixtures/vcf_tasks.json");
    let list: VcfTaskList = serde_json::from_str(list_text).unwrap();
    assert_eq!(list.elements.len(), 2);
    assert_eq!(
        list.elements[0].status.value.to_canonical(),
        Ok(Status::Failed)
    );
    assert_eq!(list.elements[0].status.text(), "Failed");
    assert_eq!(
        list.elements[1].status.value.to_canonical(),
        Ok(Status::Done)
    );
    let statuses: Vec<_> = list.elements[0]
        .subtasks()
        .iter()
        .map(|s| s.status.value.to_canonical().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            SubtaskStatus::Succeeded,
            SubtaskStatus::Failed,
            SubtaskStatus::Pending
        ]
    );
    assert_eq!(
        list.elements[0].errors()[0].error_code,
        "COMMISION_HOST_FAILED"
    );
    let written = serde_json::to_value(&list).unwrap();
    let printed: serde_json::Value = serde_json::from_str(list_text).unwrap();
    assert_eq!(written, printed);

    let one_text = include_str!("../fixtures/vcf_task.json");
    let one: VcfTask = serde_json::from_str(one_text).unwrap();
    let printed: serde_json::Value = serde_json::from_str(one_text).unwrap();
    assert_eq!(serde_json::to_value(&one).unwrap(), printed);
}

#[test]
fn malformed_vmware_documents_are_typed_errors() {
    use taskstate::profiles::vcf::VcfTask;
    let good: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/vcf_task.json")).unwrap();
    let mutations: [(&str, serde_json::Value); 5] = [
        ("creationTimestamp", "not a time".into()),
        ("creationTimestamp", "+999999-01-01T00:00:00Z".into()),
        ("isCancellable", "no".into()),
        ("subTasks", 3.into()),
        ("status", serde_json::Value::Null),
    ];
    for (field, value) in mutations {
        let mut doc = good.clone();
        doc[field] = value;
        assert!(serde_json::from_value::<VcfTask>(doc).is_err(), "{field}");
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("id");
    assert!(serde_json::from_value::<VcfTask>(missing).is_err());
}

#[test]
fn the_cloudflare_seed_document_parses_and_writes_back_as_printed() {
    use taskstate::profiles::cloudflare::CloudflareTask;
    let text = include_str!("../fixtures/cloudflare_task.json");
    let task: CloudflareTask = serde_json::from_str(text).unwrap();
    assert_eq!(task.status.value, CloudflareStatus::Pending);
    assert_eq!(task.warnings.as_ref().unwrap()[0].details[0].field, "field");
    let printed: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::to_value(&task).unwrap(), printed);
}

#[test]
fn a_completed_catalog_task_answers_303_to_its_install() {
    use taskstate::profiles::cloudflare::{CloudflareTask, HttpAnswer};
    use taskstate::{Detail, Outcome, ResourceRef, Warning};
    let mut task = pending();
    let view = CloudflareTask::of(&task);
    assert_eq!(
        view.http_answer(|id| format!("/installs/{id}")),
        HttpAnswer::Ok
    );
    let (run, _) = task.start(t(300), None, t(1)).unwrap();
    let outcome = Outcome::new()
        .produced(ResourceRef::new("install", "inst-42"))
        .warning(
            Warning::new("conflict", "adopted entity kept")
                .detail(Detail::new("conflict", "kept").field("$.records[0]")),
        );
    run.complete(&mut task, outcome, t(2)).unwrap();
    let view = CloudflareTask::of(&task);
    assert_eq!(view.status.text(), "completed");
    assert_eq!(view.install_id.as_deref(), Some("inst-42"));
    assert_eq!(
        view.warnings.as_ref().unwrap()[0].details[0].field,
        "$.records[0]"
    );
    let answer = view.http_answer(|id| format!("/installs/{id}"));
    assert_eq!(
        answer,
        HttpAnswer::SeeOther {
            location: "/installs/inst-42".into()
        }
    );
    assert_eq!(answer.status(), 303);
    let json = serde_json::to_string(&view).unwrap();
    assert_eq!(serde_json::from_str::<CloudflareTask>(&json).unwrap(), view);
}

#[test]
fn the_ovh_view_of_the_guides_failed_task() {
    use taskstate::profiles::ovh::{OvhArgument, OvhTask};
    use taskstate::{ArgumentSpec, Command, NamedKind};
    let kind = NamedKind::new("DomainCreate").argument(
        ArgumentSpec::text("legitimacyAfnic", 10, 2000).describe("Why this name is yours"),
    );
    let mut task = crate::common::task_of(kind);
    let (run, _) = task.start(t(300), None, t(1)).unwrap();
    let failure =
        Failure::customer("AFNIC", "Afnic asks for a justification", t(2)).flag("legitimacyAfnic");
    run.fail(&mut task, failure, t(2)).unwrap();
    let alice = crate::common::alice();
    let view = OvhTask::of(&task, 4_242, &alice, t(3));
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["status"], "error");
    assert_eq!(json["function"], "DomainCreate");
    assert_eq!(json["canRelaunch"], true, "relaunchable once corrected");
    assert_eq!(json["canCancel"], true);
    assert_eq!(json["canAccelerate"], false);
    assert_eq!(json["domain"], "example.fr");
    assert_eq!(json["comment"], "Afnic asks for a justification");
    assert_eq!(json["todoDate"], serde_json::Value::Null);
    assert_eq!(json["doneDate"], "2026-11-23T09:00:02+00:00");
    assert_eq!(serde_json::from_value::<OvhTask>(json).unwrap(), view);

    let argument = OvhArgument::of(&task, "legitimacyAfnic").unwrap();
    assert_eq!(
        (argument.kind.as_str(), argument.value.as_deref()),
        ("text", None)
    );
    assert_eq!(
        argument.description.as_deref(),
        Some("Why this name is yours")
    );
    let json = serde_json::to_value(&argument).unwrap();
    assert_eq!(json["readOnly"], false);
    // What does not apply is null, as OVHcloud writes it.
    assert_eq!(json["acceptedValues"], serde_json::Value::Null);
    assert_eq!(
        (json["minimumSize"].as_u64(), json["maximumSize"].as_u64()),
        (Some(10), Some(2000))
    );
    crate::common::accept(
        &mut task,
        Command::set_argument("legitimacyAfnic", "the city's tourist office"),
        alice,
        t(4),
    );
    let argument = OvhArgument::of(&task, "legitimacyAfnic").unwrap();
    assert_eq!(argument.value.as_deref(), Some("the city's tourist office"));
    assert!(OvhArgument::of(&task, "nope").is_none());
}

#[test]
fn the_dyn_view_reports_steps_blocking_and_posix_times() {
    use taskstate::profiles::dyn_dns::{DynTask, YesNo};
    use taskstate::{
        Actor, Command, IdGenerator, NamedKind, NewSubtask, NewTask, Owner, ResourceRef,
        SubtaskChange, Task,
    };
    let mut new = NewTask::new(
        IdGenerator::seeded(5).next_id(t(0)),
        NamedKind::new("ZonePublish"),
        Owner::new("acme"),
        ResourceRef::new("zone", "example.com"),
    )
    .blocking(true);
    for i in 0..5 {
        new = new.subtask(NewSubtask::new(format!("step{i}"), ""));
    }
    let (mut task, _) = Task::create(new, Actor::System, t(0)).unwrap();
    let (run, _) = task.start(t(300), None, t(1)).unwrap();
    for id in 0..2 {
        for change in [SubtaskChange::Start, SubtaskChange::Succeed] {
            let command = Command::Subtask {
                token: run.token(),
                id,
                change,
            };
            crate::common::accept(&mut task, command, Actor::System, t(2));
        }
    }
    let view = DynTask::of(&task, 1725);
    assert_eq!((view.step_count, view.total_steps), (2, 5));
    assert_eq!(view.blocking, YesNo::Yes);
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["task_id"], 1725);
    assert_eq!(json["status"], "running");
    assert_eq!(json["blocking"], "Y");
    assert_eq!(json["customer_name"], "acme");
    assert_eq!(json["zone_name"], "example.com");
    assert_eq!(json["created_ts"], t(0).timestamp());
    assert_eq!(json["modified_ts"], t(2).timestamp());
    assert_eq!(serde_json::from_value::<DynTask>(json).unwrap(), view);
    // A document as Dyn sends it, with its debug field.
    let sent = serde_json::json!({
        "task_id": 1725, "name": "ZonePublish", "customer_name": "acme",
        "zone_name": "example.com", "status": "ready", "step_count": 0,
        "total_steps": 5, "blocking": "N", "message": "", "debug": "x",
        "created_ts": 1795000000, "modified_ts": 1795000000
    });
    let read: DynTask = serde_json::from_value(sent.clone()).unwrap();
    assert_eq!(read.status.value.to_canonical(), Ok(Status::Pending));
    assert_eq!(serde_json::to_value(&read).unwrap(), sent);
    let mut bad = sent;
    bad["blocking"] = "maybe".into();
    assert!(serde_json::from_value::<DynTask>(bad).is_err());
}

#[test]
fn a_mirror_keeps_the_providers_flags_as_read() {
    use taskstate::profiles::ovh::OvhTask;
    use taskstate::profiles::vcf::VcfTask;
    // OVHcloud says a failed task may be relaunched and cancelled; the
    // mirror keeps that, whatever local rules would answer.
    let ovh: OvhTask = serde_json::from_value(serde_json::json!({
        "id": 123, "function": "DomainTrade", "status": "problem", "comment": "registry down",
        "canRelaunch": true, "canCancel": false, "canAccelerate": false,
        "todoDate": null, "creationDate": "2026-11-23T09:00:00Z",
        "lastUpdate": "2026-11-23T09:05:00Z", "doneDate": "2026-11-23T09:05:00Z",
        "domain": "example.fr"
    }))
    .unwrap();
    let snapshot = ovh.to_mirrored().unwrap();
    assert_eq!(snapshot.status, Some(Status::Failed));
    assert_eq!(snapshot.failure_origin, Some(Origin::Provider));
    assert_eq!(snapshot.flags.can_relaunch, Some(true));
    assert_eq!(snapshot.flags.can_cancel, Some(false));
    assert_eq!(snapshot.comment.as_deref(), Some("registry down"));
    // VMware's seed: the failed task is not cancellable, as read.
    let list: taskstate::profiles::vcf::VcfTaskList =
        serde_json::from_str(include_str!("../fixtures/vcf_tasks.json")).unwrap();
    let first: &VcfTask = &list.elements[0];
    let snapshot = first.to_mirrored().unwrap();
    assert_eq!(snapshot.flags.can_cancel, Some(false));
    assert_eq!(snapshot.subtasks.len(), 3);
    assert_eq!(snapshot.resources[0].kind, "HOST");
    // An unknown word fails the conversion, naming it, not the read.
    let mut odd = first.clone();
    odd.status = serde_json::from_str("\"PAUSED\"").unwrap();
    assert_eq!(odd.to_mirrored().unwrap_err().value, "PAUSED");
}

#[test]
fn the_cloudflare_view_builds_links_package_fields_warnings_and_cancels_from_the_task() {
    use taskstate::profiles::cloudflare::CloudflareTask;
    use taskstate::{
        Actor, ArgumentSpec, Command, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef,
        Task, Warning,
    };
    let new = NewTask::new(
        IdGenerator::seeded(3).next_id(t(0)),
        NamedKind::new("delete")
            .argument(ArgumentSpec::text("package_id", 1, 64).read_only())
            .argument(ArgumentSpec::text("package_slug", 1, 64).read_only())
            .argument(ArgumentSpec::integer("package_version", 0, i64::MAX).read_only()),
        Owner::new("alice"),
        ResourceRef::new("zone", "023e105f4ecef8ad9ca31a8372d0c353"),
    )
    .also_on(ResourceRef::new("dns_record", "#www"))
    .also_on(ResourceRef::new(
        "worker",
        "/accounts/9a7806061c88ada191ed06f989cc3dac/workers/scripts/edge",
    ))
    .argument("package_id", "pkg-7f3a")
    .argument("package_slug", "waf-rules")
    .argument("package_version", 3_i64);
    let (mut task, _) = Task::create(new, Actor::customer("alice"), t(0)).unwrap();
    let (run, _) = task.start(t(300), None, t(1)).unwrap();
    let outcome = Outcome::new().warning(Warning::new(
        "conflict",
        "the adopted record www was kept, not deleted",
    ));
    run.complete(&mut task, outcome, t(2)).unwrap();
    let json = serde_json::to_value(CloudflareTask::of(&task)).unwrap();
    assert_eq!(
        json["links"],
        serde_json::json!([
            {"href": "#www", "rel": "dns_record"},
            {"href": "/accounts/9a7806061c88ada191ed06f989cc3dac/workers/scripts/edge", "rel": "worker"},
        ])
    );
    assert_eq!(json["package_id"], "pkg-7f3a");
    assert_eq!(json["package_slug"], "waf-rules");
    assert_eq!(json["package_version"], 3);
    let warning = &json["warnings"][0];
    assert_eq!(warning["status"], 409);
    assert_eq!(
        warning["path"],
        format!(
            "/zones/023e105f4ecef8ad9ca31a8372d0c353/catalog_tasks/{}",
            task.id()
        )
    );
    assert_eq!(warning["timestamp"], "2026-11-23T09:00:02.000Z");
    assert_eq!(json["created_at"], "2026-11-23T09:00:00.000Z");

    // Cancelled: Cloudflare shows it failed, and the message says why.
    let mut cancelled = pending();
    crate::common::accept(
        &mut cancelled,
        Command::Cancel {
            reason: Some("ordered by mistake".into()),
        },
        crate::common::alice(),
        t(1),
    );
    let view = CloudflareTask::of(&cancelled);
    assert_eq!(view.status.text(), "failed");
    assert_eq!(view.error_message.as_deref(), Some("ordered by mistake"));
    let mut silent = pending();
    crate::common::accept(
        &mut silent,
        Command::Cancel { reason: None },
        crate::common::alice(),
        t(1),
    );
    assert_eq!(
        CloudflareTask::of(&silent).error_message.as_deref(),
        Some("cancelled")
    );
}
