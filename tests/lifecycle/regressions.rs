//! Defects found in review, each pinned by the scenario that showed it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use taskstate::{
    Action, Actor, ArgumentSpec, CancelRules, Command, Event, Failure, FollowUp, NamedKind,
    Rejection, ReplayError, RetryPolicy, Rules, Status, Task,
};

use crate::common::{accept, alice, bob, pending, provider_failure, reject, t, task_of};

type T = Task<NamedKind>;

#[test]
fn a_stalled_runs_worker_cannot_fail_the_task() {
    let mut task = pending();
    let (run, _) = task.start(t(60), None, t(0)).unwrap();
    accept(&mut task, Command::MarkStalled, Actor::System, t(61));
    let before = task.clone();
    let refused = run
        .fail(&mut task, provider_failure(t(62)), t(62))
        .unwrap_err();
    assert!(matches!(
        refused.rejection,
        Rejection::StaleLease { current: None, .. }
    ));
    assert_eq!(task, before);
    // Staff, carrying no token, may.
    let failure = Box::new(provider_failure(t(63)));
    accept(
        &mut task,
        Command::Fail {
            token: None,
            failure,
        },
        bob(),
        t(63),
    );
}

#[test]
fn a_cancel_request_is_never_retried_away() {
    let kind = NamedKind::with_rules(
        "ZonePublish",
        Rules::new().cancel(CancelRules::RUNNING_ONLY),
    );
    let mut task = task_of(kind);
    let _run = task.start(t(60), None, t(0)).unwrap();
    accept(&mut task, Command::Cancel { reason: None }, alice(), t(1));
    accept(&mut task, Command::MarkStalled, Actor::System, t(61));
    let failure = Box::new(provider_failure(t(62)));
    accept(
        &mut task,
        Command::Fail {
            token: None,
            failure,
        },
        Actor::System,
        t(62),
    );
    assert_eq!(task.follow_up(), Some(FollowUp::Final));
    reject(&mut task, Command::Retry, Actor::System, t(100_000));

    // The same when the executor itself fails a run its owner asked to stop.
    let kind = NamedKind::with_rules(
        "ZonePublish",
        Rules::new().cancel(CancelRules::RUNNING_ONLY),
    );
    let mut task = task_of(kind);
    let (run, _) = task.start(t(60), None, t(0)).unwrap();
    accept(&mut task, Command::Cancel { reason: None }, alice(), t(1));
    run.fail(&mut task, provider_failure(t(2)), t(2)).unwrap();
    assert_eq!(task.follow_up(), Some(FollowUp::Final));
}

fn tampered(task: &T, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json = serde_json::to_value(task).unwrap();
    edit(&mut json);
    match serde_json::from_value::<T>(json) {
        Ok(_) => panic!("a tampered record loaded"),
        Err(err) => err.to_string(),
    }
}

/// The log with one more event read from `json`, and its replay's error.
fn tampered_log(log: &[Event<NamedKind>], json: serde_json::Value) -> ReplayError {
    let mut log = log.to_vec();
    log.push(serde_json::from_value(json).unwrap());
    Task::replay(&log).unwrap_err()
}

#[test]
fn replaying_a_log_rechecks_owners_tokens_and_times() {
    let (mut task, created) = pending_with_log();
    let (_run, started) = task.start(t(600), None, t(5)).unwrap();
    let log = vec![created, started];
    // Another customer's cancel slipped into the log.
    let err = tampered_log(
        &log,
        serde_json::json!({
            "version": 3, "at": "2026-11-23T09:00:10Z",
            "actor": {"role": "customer", "owner": "mallory"},
            "from": "running", "to": "running",
            "command": {"action": "cancel"}
        }),
    );
    assert_eq!(
        err,
        ReplayError::Illegal {
            version: 3,
            rejection: Rejection::NotOwner {
                actor: "mallory".into(),
                action: Action::Cancel,
            },
        }
    );
    assert!(
        err.to_string().contains("event 3 is not a legal move"),
        "{err}"
    );
    // A stall recorded while the lease still held.
    let err = tampered_log(
        &log,
        serde_json::json!({
            "version": 3, "at": "2026-11-23T09:00:10Z",
            "actor": {"role": "system"},
            "from": "running", "to": "stalled",
            "command": {"action": "mark_stalled"}
        }),
    );
    assert_eq!(
        err,
        ReplayError::Illegal {
            version: 3,
            rejection: Rejection::LeaseActive { expires_at: t(600) },
        }
    );
    // A completion presenting another run's token.
    let err = tampered_log(
        &log,
        serde_json::json!({
            "version": 3, "at": "2026-11-23T09:00:10Z",
            "actor": {"role": "system"},
            "from": "running", "to": "done",
            "command": {"action": "complete", "token": 1, "outcome": {}}
        }),
    );
    assert!(
        matches!(
            err,
            ReplayError::Illegal {
                version: 3,
                rejection: Rejection::StaleLease { .. },
            }
        ),
        "{err}"
    );
    // The untampered log rebuilds the record.
    task.check_log(&log).unwrap();
}

#[test]
fn reading_a_task_rechecks_its_state() {
    let mut task = pending();
    let _run = task.start(t(600), None, t(5)).unwrap();
    // A running task without its lease.
    let err = tampered(&task, |json| {
        json["state"].as_object_mut().unwrap().remove("lease");
    });
    assert!(
        err.contains("a lease only and always on a running or waiting task"),
        "{err}"
    );
    // A stall recorded over a lease that still holds.
    let err = tampered(&task, |json| {
        json["state"]["status"] = "stalled".into();
    });
    assert!(
        err.contains("a lease only and always on a running or waiting task"),
        "{err}"
    );
    // A key no version of the record has.
    let err = tampered(&task, |json| {
        json["history"] = serde_json::json!([]);
    });
    assert!(err.contains("unknown field `history`"), "{err}");
}

/// A pending DomainCreate and its creation event.
fn pending_with_log() -> (T, Event<NamedKind>) {
    let crate::common::Logged { task, mut log } =
        crate::common::logged_of(NamedKind::new("DomainCreate"));
    (task, log.remove(0))
}

#[test]
fn a_kind_with_non_finite_retry_settings_is_refused() {
    let kind = NamedKind::with_rules(
        "DomainCreate",
        Rules::new().retry(RetryPolicy::STANDARD.jitter(f64::NAN)),
    );
    let new = taskstate::NewTask::new(
        pending().id(),
        kind,
        taskstate::Owner::new("alice"),
        taskstate::ResourceRef::new("domain", "example.fr"),
    );
    let rejection = Task::create(new, alice(), t(0)).unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::InvalidInput {
            field: "kind.rules.retry",
            ..
        }
    ));
}

#[test]
fn a_failure_flags_only_what_the_customer_can_correct() {
    let kind = NamedKind::new("DomainCreate")
        .argument(ArgumentSpec::text("domain", 1, 255).read_only())
        .argument(ArgumentSpec::text("authCode", 4, 32));
    let mut task = task_of(kind);
    let (run, _) = task.start(t(300), None, t(1)).unwrap();
    let mut run = run;
    for key in ["domain", "nosuchkey"] {
        let failure = Failure::customer("BAD", "bad", t(2)).flag(key);
        let before = task.clone();
        let refused = run.fail(&mut task, failure, t(2)).unwrap_err();
        assert!(matches!(
            refused.rejection,
            Rejection::InvalidInput {
                field: "failure.fields",
                ..
            }
        ));
        assert_eq!(task, before);
        run = refused.run; // the handle came back
    }
    run.fail(
        &mut task,
        Failure::customer("BAD", "bad", t(2)).flag("authCode"),
        t(2),
    )
    .unwrap();
    assert_eq!(task.status(), Status::Failed);
}

#[test]
fn json_floats_round_trip_exactly() {
    let kind = NamedKind::new("DomainCreate")
        .argument(ArgumentSpec::new("extra", taskstate::ArgumentType::Json));
    let mut task = task_of(kind);
    let (run, _) = task.start(t(300), None, t(1)).unwrap();
    let failure = Failure::customer("BAD", "bad", t(2)).flag("extra");
    run.fail(&mut task, failure, t(2)).unwrap();
    let value = serde_json::json!(0.373_975_990_686_291_17_f64);
    let event = task
        .apply(Command::set_argument("extra", value), alice(), t(3))
        .unwrap()
        .unwrap();
    let json = serde_json::to_string(&task).unwrap();
    assert_eq!(serde_json::from_str::<T>(&json).unwrap(), task);
    // The event that carries the value round-trips too.
    let json = serde_json::to_string(&event).unwrap();
    assert_eq!(
        serde_json::from_str::<Event<NamedKind>>(&json).unwrap(),
        event
    );
}
