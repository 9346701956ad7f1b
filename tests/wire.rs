//! The JSON shape of every public record is part of the API: these tests
//! pin the field names, so a rename is a visible, deliberate change.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::{Value, json};
use taskstate::{
    Actor, ArgumentValue, Command, Detail, Failure, LeaseToken, NamedKind, Outcome, ResourceRef,
    Rules, Task, Warning,
};

use common::{pending, t};

fn round_trip<X>(value: &X) -> Value
where
    X: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_value(value).unwrap();
    let back: X = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value);
    json
}

#[test]
fn a_failed_task_has_stable_field_names() {
    let kind = NamedKind::new("DomainCreate").argument(taskstate::ArgumentSpec::text(
        "legitimacyAfnic",
        10,
        2000,
    ));
    let mut task = common::task_of(kind);
    let run = task.start(t(300), Some("w1".into()), t(10)).unwrap();
    let failure = Failure::customer("AFNIC_LEGITIMACY_REQUIRED", "justify the use", t(20))
        .flag("legitimacyAfnic")
        .detail(Detail::new("missing", "required").field("legitimacyAfnic"));
    run.fail(&mut task, failure, t(20)).unwrap();
    let mut json = round_trip(&task);
    let history = json.as_object_mut().unwrap().remove("history").unwrap();
    assert_eq!(
        json,
        json!({
            "id": task.id().to_string(),
            "kind": {
                "name": "DomainCreate",
                "rules": serde_json::to_value(Rules::STANDARD).unwrap(),
                "arguments": [{
                    "key": "legitimacyAfnic", "type": "text", "min": 10, "max": 2000,
                    "read_only": false, "required": false, "description": ""
                }]
            },
            "owner": "alice",
            "resource": {"kind": "domain", "id": "example.fr"},
            "status": "failed",
            "created_at": "2026-11-23T09:00:00Z",
            "updated_at": "2026-11-23T09:00:20Z",
            "done_at": "2026-11-23T09:00:20Z",
            "todo_at": null,
            "lease": null,
            "cancel_requested_at": null,
            "comment": "justify the use",
            "title": null,
            "warnings": [],
            "arguments": {},
            "subtasks": [],
            "progress": null,
            "resources": [],
            "parent": null,
            "blocking": null,
            "resolution": "unresolved",
            "runs": 1,
            "attempts": 1,
            "relaunches": 0,
            "version": 3
        })
    );
    assert_eq!(
        history[2]["command"]["failure"],
        json!({
            "origin": "customer",
            "code": "AFNIC_LEGITIMACY_REQUIRED",
            "message": "justify the use",
            "at": "2026-11-23T09:00:20Z",
            "fields": ["legitimacyAfnic"],
            "details": [{"code": "missing", "field": "legitimacyAfnic", "message": "required"}]
        })
    );
    assert_eq!(
        history[2]["effect"],
        json!({"effect": "failed", "follow_up": {"next": "await_correction"}, "counted": true})
    );
    assert_eq!(
        history[1],
        json!({
            "version": 2,
            "at": "2026-11-23T09:00:10Z",
            "actor": {"role": "system"},
            "from": "pending",
            "to": "running",
            "command": {"action": "start", "lease_until": "2026-11-23T09:05:00Z", "worker": "w1"}
        })
    );
}

#[test]
fn a_running_task_shows_its_lease() {
    let mut task = pending();
    let run = task.start(t(300), None, t(10)).unwrap();
    let json = round_trip(&task);
    assert_eq!(
        json["lease"],
        json!({"token": run.token().get(), "expires_at": "2026-11-23T09:05:00Z"})
    );
}

#[test]
fn every_command_has_a_stable_shape() {
    let token = LeaseToken::new(2);
    let cases: Vec<(Command<NamedKind>, Value)> = vec![
        (
            Command::Start {
                lease_until: t(60),
                worker: None,
            },
            json!({"action": "start", "lease_until": "2026-11-23T09:01:00Z"}),
        ),
        (
            Command::Heartbeat {
                token,
                lease_until: t(60),
                progress: Some("50%".into()),
            },
            json!({"action": "heartbeat", "token": 2, "lease_until": "2026-11-23T09:01:00Z", "progress": "50%"}),
        ),
        (
            Command::Wait {
                token,
                until: t(60),
                reason: None,
            },
            json!({"action": "wait", "token": 2, "until": "2026-11-23T09:01:00Z"}),
        ),
        (
            Command::Resume {
                token,
                lease_until: t(60),
            },
            json!({"action": "resume", "token": 2, "lease_until": "2026-11-23T09:01:00Z"}),
        ),
        (
            Command::Complete {
                token,
                outcome: Box::new(
                    Outcome::new()
                        .produced(ResourceRef::new("install", "i-1"))
                        .warning(Warning::new("conflict", "adopted entity kept")),
                ),
            },
            json!({"action": "complete", "token": 2, "outcome": {
                "produced": {"kind": "install", "id": "i-1"},
                "warnings": [{"code": "conflict", "message": "adopted entity kept"}]
            }}),
        ),
        (
            Command::Fail {
                token: None,
                failure: Box::new(Failure::provider("DOWN", "down", t(0))),
            },
            json!({"action": "fail", "failure": {
                "origin": "provider", "code": "DOWN", "message": "down", "at": "2026-11-23T09:00:00Z"
            }}),
        ),
        (
            Command::Cancel { reason: None },
            json!({"action": "cancel"}),
        ),
        (
            Command::AcknowledgeCancel { token },
            json!({"action": "acknowledge_cancel", "token": 2}),
        ),
        (Command::MarkStalled, json!({"action": "mark_stalled"})),
        (
            Command::Requeue {
                todo_at: Some(t(60)),
            },
            json!({"action": "requeue", "todo_at": "2026-11-23T09:01:00Z"}),
        ),
        (Command::Accelerate, json!({"action": "accelerate"})),
        (
            Command::set_argument("legitimacyAfnic", "mayor"),
            json!({"action": "set_argument", "key": "legitimacyAfnic", "value": {"text": "mayor"}}),
        ),
        (
            Command::SetArgument {
                key: "note".into(),
                value: None,
            },
            json!({"action": "set_argument", "key": "note", "value": null}),
        ),
        (Command::relaunch(), json!({"action": "relaunch"})),
        (
            Command::Relaunch {
                arguments: [("duration".to_owned(), ArgumentValue::Integer(2))].into(),
            },
            json!({"action": "relaunch", "arguments": {"duration": {"integer": 2}}}),
        ),
        (Command::Retry, json!({"action": "retry"})),
    ];
    for (command, expected) in cases {
        assert_eq!(round_trip(&command), expected);
    }
}

#[test]
fn malformed_json_gives_errors_not_panics() {
    let bad = [
        r#"{"action":"explode"}"#,
        r#"{"action":"start"}"#,
        r#"{"action":"heartbeat","token":-1,"lease_until":"2026-11-23T09:01:00Z"}"#,
        r#"{"action":"start","lease_until":"not a time"}"#,
        r#"{"action":"start","lease_until":"+999999-01-01T00:00:00Z"}"#,
        r#"[]"#,
        "",
    ];
    for text in bad {
        assert!(
            serde_json::from_str::<Command<NamedKind>>(text).is_err(),
            "{text}"
        );
    }
    assert!(serde_json::from_str::<Task<NamedKind>>(r#"{"id":"x"}"#).is_err());
    assert!(serde_json::from_str::<taskstate::Status>(r#""doing""#).is_err());
    assert!(serde_json::from_str::<Actor>(r#"{"role":"root"}"#).is_err());
}

#[test]
fn times_keep_their_full_precision() {
    let mut task = pending();
    let precise = t(10) + chrono::Duration::nanoseconds(123_456_789);
    let _run = task
        .start(precise + chrono::Duration::minutes(1), None, precise)
        .unwrap();
    let json = serde_json::to_string(&task).unwrap();
    let back: Task<NamedKind> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.updated_at(), precise);
    assert_eq!(back, task);
}
