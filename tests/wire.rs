//! The JSON shape of every public record is part of the API: these tests
//! pin the field names, so a rename is a visible, deliberate change.
//!
//! A task is `{"identity": .., "state": ..}` (what no command changes, and
//! what commands change); its log is a separate list of events.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::{Value, json};
use taskstate::{
    Actor, ArgumentValue, Command, Detail, Event, Failure, LeaseToken, NamedKind, Outcome, Pause,
    ResourceRef, Rules, Task, Warning,
};

use common::{logged_of, pending, t};

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
    let mut logged = logged_of(kind);
    let (run, started) = logged.task.start(t(300), Some("w1".into()), t(10)).unwrap();
    logged.push(started);
    let failure = Failure::customer("AFNIC_LEGITIMACY_REQUIRED", "justify the use", t(20))
        .flag("legitimacyAfnic")
        .detail(Detail::new("missing", "required").field("legitimacyAfnic"));
    let failed = run.fail(&mut logged.task, failure, t(20)).unwrap();
    logged.push(failed);
    let task = &logged.task;
    let json = round_trip(task);
    // The record: its identity and its state, no history; the failure,
    // its follow-up and the fields to correct are state.
    assert_eq!(
        json,
        json!({
            "identity": {
                "id": task.id().to_string(),
                "kind": {
                    "name": "DomainCreate",
                    "arguments": [{
                        "key": "legitimacyAfnic", "type": "text", "min": 10, "max": 2000,
                        "read_only": false, "required": false, "description": ""
                    }]
                },
                "owner": "alice",
                "resource": {"kind": "domain", "id": "example.fr"},
                "created_at": "2026-11-23T09:00:00Z"
            },
            "state": {
                "status": "failed",
                "version": 3,
                "updated_at": "2026-11-23T09:00:20Z",
                "done_at": "2026-11-23T09:00:20Z",
                "comment": "justify the use",
                "failure": {
                    "origin": "customer",
                    "code": "AFNIC_LEGITIMACY_REQUIRED",
                    "message": "justify the use",
                    "at": "2026-11-23T09:00:20Z",
                    "fields": ["legitimacyAfnic"],
                    "details": [{"code": "missing", "field": "legitimacyAfnic", "message": "required"}]
                },
                "follow_up": {"next": "await_correction"},
                "to_correct": ["legitimacyAfnic"],
                "resolution": "unresolved",
                "runs": 1,
                "attempts": 1,
                "relaunches": 0
            }
        })
    );
    // The log, apart from the record.
    let history = round_trip(&logged.log);
    assert_eq!(history.as_array().unwrap().len(), 3);
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
    let (run, started) = task.start(t(300), None, t(10)).unwrap();
    let json = round_trip(&task);
    assert_eq!(
        json["state"]["lease"],
        json!({"token": run.token().get(), "expires_at": "2026-11-23T09:05:00Z"})
    );
    assert_eq!(Some(run.token()), started.lease_token());
    assert_eq!(run.token().start_version(), started.version);
    // A heartbeat is lease state: the deadline, the note, the count.
    run.heartbeat(&mut task, t(400), Some("half way".into()), t(20))
        .unwrap();
    let json = round_trip(&task);
    assert_eq!(
        json["state"]["lease"],
        json!({
            "token": run.token().get(), "expires_at": "2026-11-23T09:06:40Z",
            "note": "half way", "heartbeats": 1
        })
    );
    assert_eq!(json["state"]["version"], json!(3));
    // The event after it counts it; a wait keeps its check time in the
    // lease.
    let waited = run
        .wait(&mut task, Pause::until(t(900)).check_at(t(600)), t(30))
        .unwrap();
    assert_eq!(
        round_trip(&waited),
        json!({
            "version": 4, "heartbeats": 1, "at": "2026-11-23T09:00:30Z",
            "actor": {"role": "system"}, "from": "running", "to": "waiting",
            "command": {"action": "wait", "token": run.token().get(),
                "until": "2026-11-23T09:15:00Z", "check_at": "2026-11-23T09:10:00Z"}
        })
    );
    let json = round_trip(&task);
    assert_eq!(
        json["state"]["lease"],
        json!({
            "token": run.token().get(), "expires_at": "2026-11-23T09:15:00Z",
            "check_at": "2026-11-23T09:10:00Z", "note": "half way"
        })
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
                check_at: None,
            },
            json!({"action": "heartbeat", "token": 2, "lease_until": "2026-11-23T09:01:00Z", "progress": "50%"}),
        ),
        (
            Command::Heartbeat {
                token,
                lease_until: t(60),
                progress: None,
                check_at: Some(t(30)),
            },
            json!({"action": "heartbeat", "token": 2, "lease_until": "2026-11-23T09:01:00Z", "check_at": "2026-11-23T09:00:30Z"}),
        ),
        (
            Command::Wait {
                token,
                until: t(60),
                check_at: None,
                reason: None,
            },
            json!({"action": "wait", "token": 2, "until": "2026-11-23T09:01:00Z"}),
        ),
        (
            Command::Wait {
                token,
                until: t(60),
                check_at: Some(t(30)),
                reason: Some("registry".into()),
            },
            json!({"action": "wait", "token": 2, "until": "2026-11-23T09:01:00Z",
                "check_at": "2026-11-23T09:00:30Z", "reason": "registry"}),
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
    // A valid record, then the old flat shape of it, an unknown key in
    // each part, a history inside it, and a state that contradicts itself.
    let mut task = pending();
    let _run = task.start(t(60), None, t(1)).unwrap();
    let json = serde_json::to_value(&task).unwrap();
    assert!(serde_json::from_value::<Task<NamedKind>>(json.clone()).is_ok());
    let mut flat = json["identity"].as_object().unwrap().clone();
    flat.extend(json["state"].as_object().unwrap().clone());
    let mut unknown_in_identity = json.clone();
    unknown_in_identity["identity"]["titel"] = json!("typo");
    let mut unknown_in_state = json.clone();
    unknown_in_state["state"]["comments"] = json!("typo");
    let mut unknown_in_lease = json.clone();
    unknown_in_lease["state"]["lease"]["expires"] = json!("2026-11-23T09:01:00Z");
    let mut with_history = json.clone();
    with_history["history"] = json!([]);
    let mut no_lease = json.clone();
    no_lease["state"].as_object_mut().unwrap().remove("lease");
    for bad in [
        Value::Object(flat),
        unknown_in_identity,
        unknown_in_state,
        unknown_in_lease,
        with_history,
        no_lease,
    ] {
        assert!(
            serde_json::from_value::<Task<NamedKind>>(bad.clone()).is_err(),
            "{bad}"
        );
    }
    // Events refuse unknown keys too.
    let created = logged_of(NamedKind::new("DomainCreate")).log.remove(0);
    let mut event = serde_json::to_value(&created).unwrap();
    assert!(serde_json::from_value::<Event<NamedKind>>(event.clone()).is_ok());
    event["heartbeat"] = json!(1);
    assert!(serde_json::from_value::<Event<NamedKind>>(event).is_err());
    assert!(serde_json::from_str::<Actor>(r#"{"role":"root"}"#).is_err());
}

#[test]
fn a_kind_writes_its_rules_only_when_they_are_not_the_standard_ones() {
    // The standard rules are left out, and read back as the standard
    // rules: a kind of the standard rules is its name.
    let standard = NamedKind::new("DomainCreate");
    assert_eq!(round_trip(&standard), json!({"name": "DomainCreate"}));
    let read: NamedKind = serde_json::from_value(json!({"name": "DomainCreate"})).unwrap();
    assert_eq!(read.rules, Rules::STANDARD);
    // Any other rules are written whole, so a task keeps the rules it was
    // created under.
    let blocking = NamedKind::with_rules("ZonePublish", Rules::new().blocking(true));
    let json = round_trip(&blocking);
    let mut want = serde_json::to_value(Rules::STANDARD).unwrap();
    want["blocking"] = json!(true);
    assert_eq!(json, json!({"name": "ZonePublish", "rules": want}));
}

#[test]
fn times_keep_their_full_precision() {
    let mut task = pending();
    let precise = t(10) + chrono::Duration::nanoseconds(123_456_789);
    let (_run, started) = task
        .start(precise + chrono::Duration::minutes(1), None, precise)
        .unwrap();
    let event: Event<NamedKind> =
        serde_json::from_str(&serde_json::to_string(&started).unwrap()).unwrap();
    assert_eq!(event.at, precise);
    let json = serde_json::to_string(&task).unwrap();
    let back: Task<NamedKind> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.updated_at(), precise);
    assert_eq!(back, task);
}

#[test]
fn roles_and_subtask_actions_read_from_their_words() {
    use taskstate::{Role, SubtaskAction};
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
    }
    for action in SubtaskAction::ALL {
        assert_eq!(action.as_str().parse::<SubtaskAction>().unwrap(), action);
    }
    assert_eq!("Admin".parse::<Role>().unwrap_err().value(), "Admin");
    assert_eq!(
        "explode".parse::<SubtaskAction>().unwrap_err().value(),
        "explode"
    );
}
