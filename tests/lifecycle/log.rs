//! The record and its log: forged logs and records are refused, naming the
//! event or the field; handles stay fenced; heartbeats are lease state;
//! waiting has two times. Properties: a log replays to its record, and a
//! log with one event dropped, repeated, swapped or structurally edited
//! does not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use taskstate::store::{ClaimRequest, MemoryStore, Scope, StoreError, Sweep, TaskStore};
use taskstate::testkit::strategies::step;
use taskstate::{
    Action, Actor, ArgumentSpec, ArgumentValue, Command, Decision, Event, Failure, FollowUp,
    LeaseToken, NamedKind, NewSubtask, NewTask, Outcome, Owner, Pause, Rejection, RelaunchRules,
    ReplayError, ReplayMode, ResourceRef, Rules, Run, Status, SubtaskChange, Task, TaskId,
    Timeline, WakeupReason,
};

use crate::common::{Logged, alice, bob, cases, logged_of, start_task, t};

type T = Task<NamedKind>;
type E = Event<NamedKind>;

/// A DomainCreate whose `domain` is read-only, whose `legitimacyAfnic`
/// is 5 to 50 characters, and which customers relaunch once at most.
fn afnic_kind() -> NamedKind {
    NamedKind::with_rules(
        "DomainCreate",
        Rules::new().relaunch(RelaunchRules::STANDARD.max(1)),
    )
    .argument(ArgumentSpec::text("domain", 1, 255).read_only().required())
    .argument(ArgumentSpec::text("legitimacyAfnic", 5, 50))
}

/// A task of [`afnic_kind`] created by alice, with its log.
fn afnic_task() -> Logged {
    let new = NewTask::new(
        taskstate::IdGenerator::seeded(11).next_id(t(0)),
        afnic_kind(),
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    )
    .argument("domain", "example.fr")
    .argument("legitimacyAfnic", "mayor office");
    Logged::new(Task::create(new, alice(), t(0)).unwrap())
}

/// Starts the task and fails its run for a missing justification:
/// awaiting alice's correction.
fn failed_for_afnic(task: &mut Logged) {
    let (run, started) = task.task.start(t(300), None, t(1)).unwrap();
    task.push(started);
    let failure = Failure::customer("AFNIC", "justify", t(2)).flag("legitimacyAfnic");
    let failed = run.fail(&mut task.task, failure, t(2)).unwrap();
    task.push(failed);
}

/// The next event of `task` as a forger writes it: the version after the
/// last, the same status before and after unless told otherwise.
fn forged(task: &T, actor: Actor, to: Status, command: Command<NamedKind>) -> E {
    Event {
        version: task.version() + 1,
        heartbeats: 0,
        at: t(10),
        actor,
        from: Some(task.status()),
        to,
        command,
        effect: None,
    }
}

fn replaced(key: &str, value: Option<&str>) -> Option<Box<Decision>> {
    let previous = BTreeMap::from([(key.to_owned(), value.map(ArgumentValue::from))]);
    Some(Box::new(Decision::Replaced { previous }))
}

/// A store holding one new task of `kind` by alice on `resource`, and
/// that task's id.
fn store_with(seed: u64, kind: NamedKind, resource: &str) -> (MemoryStore<NamedKind>, TaskId) {
    let store = MemoryStore::new();
    let new = NewTask::new(
        taskstate::IdGenerator::seeded(seed).next_id(t(0)),
        kind,
        Owner::new("alice"),
        ResourceRef::new("domain", resource),
    );
    let (task, created) = Task::create(new, alice(), t(0)).unwrap();
    let id = task.id();
    store.insert(task, created).unwrap();
    (store, id)
}

/// Claims the store's one due task at `now`, under a lease until `until`.
fn claim_one(
    store: &MemoryStore<NamedKind>,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> taskstate::store::Claimed<NamedKind> {
    store
        .claim(&ClaimRequest::new(now, until))
        .unwrap()
        .claimed
        .pop()
        .unwrap()
}

/// Replays `log` and expects the refusal to name event `version`.
fn refused_at(log: &[E], version: u64) -> ReplayError {
    let error = Task::replay(log).expect_err("a forged log must be refused");
    let named = match &error {
        ReplayError::Illegal { version, .. }
        | ReplayError::Undecided { version, .. }
        | ReplayError::Misclassified { version, .. }
        | ReplayError::Inconsistent { version, .. }
        | ReplayError::Heartbeat { version }
        | ReplayError::CreatedTwice { version } => Some(*version),
        ReplayError::VersionGap { found, .. } => Some(*found),
        _ => None,
    };
    assert_eq!(named, Some(version), "{error}");
    error
}

// ---------------------------------------------------------------------
// Forged logs
// ---------------------------------------------------------------------

#[test]
fn an_edited_counted_attempt_is_refused() {
    let mut task = afnic_task();
    failed_for_afnic(&mut task);
    let mut log = task.log.clone();
    let last = log.last_mut().unwrap();
    last.effect = Some(Box::new(Decision::Failed {
        follow_up: FollowUp::AwaitCorrection,
        counted: false,
        notice: None,
    }));
    let error = refused_at(&log, 3);
    assert!(matches!(error, ReplayError::Undecided { .. }), "{error}");
    assert!(error.to_string().contains("counted"), "{error}");
}

#[test]
fn a_retry_scheduled_after_a_cancel_request_is_refused_in_both_modes() {
    let mut task = logged_of(NamedKind::with_rules(
        "DomainCreate",
        Rules::new().cancel(taskstate::CancelRules::STANDARD.with_running()),
    ));
    let (run, started) = task.task.start(t(300), None, t(1)).unwrap();
    task.push(started);
    task.apply(Command::Cancel { reason: None }, alice(), t(2))
        .unwrap();
    let failed = run
        .fail(&mut task.task, crate::common::provider_failure(t(3)), t(3))
        .unwrap();
    assert!(matches!(
        failed.effect.as_deref(),
        Some(Decision::Failed {
            follow_up: FollowUp::Final,
            ..
        })
    ));
    task.push(failed);
    let mut log = task.log.clone();
    log.last_mut().unwrap().effect = Some(Box::new(Decision::Failed {
        follow_up: FollowUp::Retry { at: t(100) },
        counted: true,
        notice: None,
    }));
    refused_at(&log, 4);
    let as_recorded = Task::replay_with(&log, ReplayMode::AsRecorded);
    assert!(
        matches!(as_recorded, Err(ReplayError::Undecided { version: 4, .. })),
        "{as_recorded:?}"
    );
}

#[test]
fn a_removed_retry_schedule_is_refused_strictly_and_taken_as_recorded_otherwise() {
    let mut task = logged_of(NamedKind::new("DomainCreate"));
    let (run, started) = task.task.start(t(300), None, t(1)).unwrap();
    task.push(started);
    let failed = run
        .fail(&mut task.task, crate::common::provider_failure(t(3)), t(3))
        .unwrap();
    assert!(matches!(
        failed.effect.as_deref(),
        Some(Decision::Failed {
            follow_up: FollowUp::Retry { .. },
            ..
        })
    ));
    task.push(failed);
    let mut log = task.log.clone();
    log.last_mut().unwrap().effect = Some(Box::new(Decision::Failed {
        follow_up: FollowUp::Final,
        counted: true,
        notice: None,
    }));
    refused_at(&log, 3);
    // A host whose retry rules changed since: the decision stands as
    // recorded, and the state allows it.
    let rebuilt = Task::replay_with(&log, ReplayMode::AsRecorded).unwrap();
    assert_eq!(rebuilt.follow_up(), Some(FollowUp::Final));
}

#[test]
fn a_counted_attempt_for_a_run_that_was_not_running_is_refused_as_recorded_too() {
    let mut task = logged_of(NamedKind::new("DomainCreate"));
    let (_run, started) = task.task.start(t(10), None, t(1)).unwrap();
    task.push(started);
    task.apply(Command::MarkStalled, Actor::System, t(20))
        .unwrap();
    task.apply(
        Command::Fail {
            token: None,
            failure: Box::new(crate::common::provider_failure(t(21))),
        },
        bob(),
        t(21),
    )
    .unwrap();
    let mut log = task.log.clone();
    let Some(Decision::Failed { follow_up, .. }) = log.last().unwrap().effect.as_deref().cloned()
    else {
        panic!("a fail records its follow-up")
    };
    log.last_mut().unwrap().effect = Some(Box::new(Decision::Failed {
        follow_up,
        counted: true,
        notice: None,
    }));
    refused_at(&log, 4);
    assert!(matches!(
        Task::replay_with(&log, ReplayMode::AsRecorded),
        Err(ReplayError::Undecided { version: 4, .. })
    ));
}

#[test]
fn moves_the_records_own_rules_forbid_are_refused() {
    let mut task = afnic_task();
    failed_for_afnic(&mut task);
    let base = task.log.clone();
    let failed = &task.task;
    // A read-only argument set.
    let mut read_only = forged(
        failed,
        alice(),
        Status::Failed,
        Command::set_argument("domain", "evil.fr"),
    );
    read_only.effect = replaced("domain", Some("example.fr"));
    // An argument the kind does not declare.
    let mut undeclared = forged(
        failed,
        alice(),
        Status::Failed,
        Command::set_argument("field", "x"),
    );
    undeclared.effect = replaced("field", None);
    // A value far past its spec.
    let mut too_long = forged(
        failed,
        alice(),
        Status::Failed,
        Command::set_argument("legitimacyAfnic", "x".repeat(100_000)),
    );
    too_long.effect = replaced("legitimacyAfnic", Some("mayor office"));
    for event in [read_only, undeclared, too_long] {
        let mut log = base.clone();
        log.push(event);
        let error = refused_at(&log, 4);
        assert!(
            matches!(
                error,
                ReplayError::Illegal {
                    rejection: Rejection::InvalidArgument(_),
                    ..
                }
            ),
            "{error}"
        );
    }
}

#[test]
fn a_relaunch_past_the_budget_is_refused() {
    let mut task = afnic_task();
    failed_for_afnic(&mut task);
    task.apply(
        Command::Relaunch {
            arguments: [("legitimacyAfnic".to_owned(), "the tourist office".into())].into(),
        },
        alice(),
        t(3),
    )
    .unwrap();
    let (run, started) = task.task.start(t(400), None, t(4)).unwrap();
    task.push(started);
    let failure = Failure::customer("AFNIC", "justify better", t(5)).flag("legitimacyAfnic");
    let failed = run.fail(&mut task.task, failure, t(5)).unwrap();
    task.push(failed);
    // The live relaunch is refused: one relaunch is the budget.
    let live = task.task.apply(
        Command::Relaunch {
            arguments: [("legitimacyAfnic".to_owned(), "the town hall".into())].into(),
        },
        alice(),
        t(6),
    );
    assert!(matches!(live, Err(Rejection::CannotRelaunch { .. })));
    // And so is a log that says it happened.
    let mut relaunch = forged(
        &task.task,
        alice(),
        Status::Pending,
        Command::Relaunch {
            arguments: [("legitimacyAfnic".to_owned(), "the town hall".into())].into(),
        },
    );
    relaunch.effect = replaced("legitimacyAfnic", Some("the tourist office"));
    let mut log = task.log.clone();
    log.push(relaunch);
    let error = refused_at(&log, task.task.version() + 1);
    assert!(
        matches!(
            error,
            ReplayError::Illegal {
                rejection: Rejection::CannotRelaunch { .. },
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn edited_replaced_values_are_refused_in_both_modes() {
    let mut task = afnic_task();
    failed_for_afnic(&mut task);
    task.apply(
        Command::set_argument("legitimacyAfnic", "the tourist office"),
        alice(),
        t(3),
    )
    .unwrap();
    let mut log = task.log.clone();
    log.last_mut().unwrap().effect = replaced("legitimacyAfnic", Some("something else"));
    refused_at(&log, 4);
    assert!(matches!(
        Task::replay_with(&log, ReplayMode::AsRecorded),
        Err(ReplayError::Undecided { version: 4, .. })
    ));
}

#[test]
fn a_heartbeat_in_a_log_is_refused() {
    let mut task = logged_of(NamedKind::new("DomainCreate"));
    let (run, started) = task.task.start(t(300), None, t(1)).unwrap();
    task.push(started);
    let mut log = task.log.clone();
    log.push(forged(
        &task.task,
        Actor::System,
        Status::Running,
        Command::Heartbeat {
            token: run.token(),
            lease_until: t(400),
            progress: None,
            check_at: None,
        },
    ));
    let error = refused_at(&log, 3);
    assert_eq!(error, ReplayError::Heartbeat { version: 3 });
}

#[test]
fn a_misspelt_key_anywhere_is_refused() {
    let mut task = afnic_task();
    failed_for_afnic(&mut task);
    // In an event: `field` for `fields` in the failure.
    let event = serde_json::to_string(task.log.last().unwrap()).unwrap();
    assert!(event.contains("\"fields\""));
    let misspelt = event.replace("\"fields\"", "\"field\"");
    assert!(serde_json::from_str::<E>(&misspelt).is_err());
    // In the record: the same failure, stored in the state.
    let record = serde_json::to_string(&task.task).unwrap();
    let misspelt = record.replace("\"fields\"", "\"field\"");
    assert!(serde_json::from_str::<T>(&misspelt).is_err());
    // An unknown key beside the state's.
    let extra = record.replacen("\"state\":{", "\"state\":{\"priority\":1,", 1);
    assert!(serde_json::from_str::<T>(&extra).is_err());
    // And the record reads back as it was.
    assert_eq!(serde_json::from_str::<T>(&record).unwrap(), task.task);
}

#[test]
fn a_stored_state_no_command_produces_is_refused_on_reading() {
    let task = logged_of(NamedKind::new("DomainCreate"));
    let json: serde_json::Value = serde_json::to_value(&task.task).unwrap();
    let with = |path: &str, value: serde_json::Value| {
        let mut json = json.clone();
        json["state"][path] = value;
        serde_json::from_value::<T>(json)
    };
    // A pending task with a failure, with an outcome, with attempts but no runs.
    let failure = serde_json::to_value(crate::common::provider_failure(t(1))).unwrap();
    assert!(with("failure", failure).is_err());
    assert!(with("outcome", serde_json::json!({})).is_err());
    assert!(with("attempts", serde_json::json!(3)).is_err());
    assert!(with("version", serde_json::json!(0)).is_err());
    assert!(with("done_at", serde_json::json!("2026-11-23T09:00:00Z")).is_err());
}

#[test]
fn a_record_that_disagrees_with_its_log_is_refused_naming_the_field() {
    let mut task = afnic_task();
    failed_for_afnic(&mut task);
    task.task.check_log(&task.log).unwrap();
    let json = serde_json::to_value(&task.task).unwrap();
    for (field, value) in [
        ("attempts", serde_json::json!(0)),
        ("comment", serde_json::json!("all is well")),
        ("to_correct", serde_json::json!([])),
        ("runs", serde_json::json!(2)),
    ] {
        let mut edited = json.clone();
        edited["state"][field] = value;
        let edited: T = serde_json::from_value(edited).unwrap();
        assert_eq!(
            edited.check_log(&task.log),
            Err(ReplayError::Diverged { field }),
            "{field}"
        );
    }
    let mut edited = json.clone();
    edited["identity"]["owner"] = serde_json::json!("mallory");
    let edited: T = serde_json::from_value(edited).unwrap();
    assert_eq!(
        edited.check_log(&task.log),
        Err(ReplayError::Diverged { field: "owner" })
    );
}

// ---------------------------------------------------------------------
// Fencing: one handle per run, rebuilt only for that run
// ---------------------------------------------------------------------

#[test]
fn an_old_runs_every_move_is_a_stale_lease_whatever_the_status() {
    let mut task = logged_of(NamedKind::new("DomainCreate")).task;
    let (first, _) = task.start(t(10), Some("w1".into()), t(1)).unwrap();
    // The record as the first run's executor read it: what it rebuilds
    // its handle from, as often as it likes.
    let held = task.clone();
    let token = first.token();
    // Stalled: the lease ran out and the run was marked stalled.
    task.apply(Command::MarkStalled, Actor::System, t(20))
        .unwrap();
    every_move_is_stale(&held, token, &mut task, t(21));
    // Requeued: pending again.
    task.apply(Command::Requeue { todo_at: None }, Actor::System, t(22))
        .unwrap();
    every_move_is_stale(&held, token, &mut task, t(23));
    // Restarted: another run holds it.
    let (second, _) = task.start(t(100), Some("w2".into()), t(24)).unwrap();
    every_move_is_stale(&held, token, &mut task, t(25));
    // Finished by the successor.
    second.complete(&mut task, Outcome::new(), t(26)).unwrap();
    assert_eq!(task.status(), Status::Done);
    every_move_is_stale(&held, token, &mut task, t(27));
    drop(first);
}

/// Every move of the old run of `token` (whose executor read `held`) on
/// `task` at `now` is refused as a stale lease, and leaves `task` as it
/// was; the run cannot be rebuilt from `task` either.
fn every_move_is_stale(held: &T, token: LeaseToken, task: &mut T, now: DateTime<Utc>) {
    let before = task.clone();
    assert!(matches!(
        Run::rebuild(task, token),
        Err(Rejection::StaleLease { .. })
    ));
    // The executor's own handles: one per move (finishing moves consume
    // it), each rebuilt from the record the run held.
    let handles: Vec<Run> = (0..11)
        .map(|_| Run::rebuild(held, token).unwrap())
        .collect();
    let mut handles = handles.into_iter();
    let mut next = || handles.next().unwrap();
    let mut moves: Vec<(&str, Result<(), Rejection>)> = Vec::new();
    let later = now + Duration::hours(1);
    moves.push(("heartbeat", next().heartbeat(task, later, None, now)));
    moves.push((
        "check_later",
        next().check_later(task, now + Duration::minutes(1), later, now),
    ));
    moves.push((
        "wait",
        next().wait(task, Pause::until(later), now).map(drop),
    ));
    moves.push(("resume", next().resume(task, later, now).map(drop)));
    moves.push((
        "subtask",
        next().subtask(task, 0, SubtaskChange::Start, now).map(drop),
    ));
    moves.push((
        "add_subtask",
        next()
            .add_subtask(task, NewSubtask::new("late", "a late step"), now)
            .map(drop),
    ));
    moves.push((
        "report_steps",
        next().report_steps(task, 1, 2, None, now).map(drop),
    ));
    moves.push((
        "expect_done_at",
        next().expect_done_at(task, later, now).map(drop),
    ));
    moves.push((
        "complete",
        next()
            .complete(task, Outcome::new(), now)
            .map(drop)
            .map_err(Rejection::from),
    ));
    moves.push((
        "fail",
        next()
            .fail(task, crate::common::provider_failure(now), now)
            .map(drop)
            .map_err(Rejection::from),
    ));
    moves.push((
        "acknowledge_cancel",
        next()
            .acknowledge_cancel(task, now)
            .map(drop)
            .map_err(Rejection::from),
    ));
    for (what, result) in moves {
        assert!(
            matches!(result, Err(Rejection::StaleLease { .. })),
            "{what} of an old run on a {} task: {result:?}",
            before.status()
        );
    }
    assert_eq!(*task, before, "a stale move changed the task");
}

/// A record restored from a backup and started again: the run that
/// started after the backup was taken is fenced off the new one, though
/// both started at the same version (with tokens of the version alone,
/// the late run's heartbeat and completion landed on its successor).
#[test]
fn a_run_after_a_backup_is_fenced_off_the_restored_record() {
    let mut task = logged_of(NamedKind::new("DomainCreate")).task;
    let (first, _) = task.start(t(60), None, t(1)).unwrap();
    first.heartbeat(&mut task, t(120), None, t(30)).unwrap();
    // The backup holds the task running under its first run.
    let backup = task.clone();
    task.apply(Command::MarkStalled, Actor::System, t(200))
        .unwrap();
    task.apply(Command::Requeue { todo_at: None }, Actor::System, t(200))
        .unwrap();
    let (late, late_start) = task.start(t(300), None, t(201)).unwrap();
    // The backup is restored; its run stalls and the task starts again,
    // at the very version the late run started at.
    let mut restored = backup;
    restored
        .apply(Command::MarkStalled, Actor::System, t(400))
        .unwrap();
    restored
        .apply(Command::Requeue { todo_at: None }, Actor::System, t(400))
        .unwrap();
    let (again, again_start) = restored.start(t(500), None, t(401)).unwrap();
    assert_eq!(again_start.version, late_start.version);
    assert_ne!(again.token(), late.token());
    let before = restored.clone();
    assert!(matches!(
        late.heartbeat(&mut restored, t(600), None, t(402)),
        Err(Rejection::StaleLease { .. })
    ));
    assert!(matches!(
        Run::rebuild(&restored, late.token()),
        Err(Rejection::StaleLease { .. })
    ));
    let done = late
        .complete(&mut restored, Outcome::new(), t(403))
        .map_err(Rejection::from);
    assert!(
        matches!(done, Err(Rejection::StaleLease { .. })),
        "{done:?}"
    );
    assert_eq!(restored, before, "a refused move changed the record");
    // The new run holds it.
    again
        .complete(&mut restored, Outcome::new(), t(404))
        .unwrap();
    assert_eq!(restored.status(), Status::Done);
}

/// A record written when a token was its start's version alone is read,
/// and its run, holding such a token, still moves it; the next start
/// issues a token of the new form.
#[test]
fn a_token_of_the_version_alone_still_holds_its_run() {
    let mut task = logged_of(NamedKind::new("DomainCreate")).task;
    let (run, _) = task.start(t(60), None, t(1)).unwrap();
    let mut json = serde_json::to_value(&task).unwrap();
    let lease = &mut json["state"]["lease"];
    assert_eq!(lease["token"], serde_json::json!(run.token().get()));
    lease["token"] = serde_json::json!(2);
    let mut old: T = serde_json::from_value(json).unwrap();
    let legacy = Run::rebuild(&old, LeaseToken::new(2)).unwrap();
    let legacy_token = legacy.token();
    assert_eq!(legacy.token().start_version(), 2);
    assert!(Run::rebuild(&old, run.token()).is_err());
    legacy.heartbeat(&mut old, t(90), None, t(2)).unwrap();
    old.apply(Command::MarkStalled, Actor::System, t(100))
        .unwrap();
    old.apply(Command::Requeue { todo_at: None }, Actor::System, t(100))
        .unwrap();
    let (next, started) = old.start(t(200), None, t(101)).unwrap();
    assert_eq!(next.token().start_version(), started.version);
    assert!(next.token() > legacy_token);
}

proptest! {
    /// What a token holds: its start's version, read back; an order by
    /// version whatever the times; a number a double holds exactly (what
    /// JavaScript reads JSON numbers as), above every token of the
    /// version alone; and two tokens for two starts at one version 1 µs
    /// to 2^22 µs apart.
    #[test]
    fn a_token_holds_its_version_and_tells_close_starts_apart(
        version in 2u64..(1 << 31),
        other in 2u64..(1 << 31),
        seconds in -1_000_000_000_000i64..1_000_000_000_000,
        nanos in 0u32..1_000_000_000,
        apart in 1i64..(1 << 22),
        later in any::<bool>(),
    ) {
        let at = DateTime::from_timestamp(seconds / 100, nanos).unwrap();
        let token = LeaseToken::of_start(version, at);
        prop_assert_eq!(token.start_version(), version);
        prop_assert!(token.get() < 1 << 53);
        prop_assert_eq!(token.get() as f64 as u64, token.get());
        prop_assert!(token.get() >= 1 << 23);
        let moved = if later {
            at + Duration::microseconds(apart)
        } else {
            at - Duration::microseconds(apart)
        };
        prop_assert_ne!(LeaseToken::of_start(version, moved), token);
        let theirs = LeaseToken::of_start(other, moved);
        prop_assert_eq!(theirs.cmp(&token), other.cmp(&version));
    }
}

#[test]
fn a_version_beyond_the_tokens_bits_is_clamped_not_wrapped() {
    for version in [1u64 << 31, 1 << 32, u64::MAX] {
        let token = LeaseToken::of_start(version, t(0));
        assert_eq!(token.start_version(), (1 << 31) - 1);
        assert!(token.get() < 1 << 53);
        assert_ne!(token, LeaseToken::of_start(version, t(1)));
    }
}

#[test]
fn no_way_to_a_handle_for_a_run_you_did_not_start() {
    let mut task = logged_of(NamedKind::new("DomainCreate")).task;
    // A pending task has no run to hand out.
    assert!(matches!(
        Run::rebuild(&task, LeaseToken::new(1)),
        Err(Rejection::StaleLease { current: None, .. })
    ));
    let (run, started) = task.start(t(10), None, t(1)).unwrap();
    assert_eq!(Some(run.token()), started.lease_token());
    // Any token but the run's is refused: the start's version alone (as
    // tokens were before they held the start's time) among them.
    for guess in [0, 1, 2, 3, task.version(), run.token().get() ^ 1, u64::MAX] {
        if guess == run.token().get() {
            continue;
        }
        assert!(
            Run::rebuild(&task, LeaseToken::new(guess)).is_err(),
            "token {guess}"
        );
    }
    // The run's own token rebuilds its handle, and only on its task.
    let rebuilt = Run::rebuild(&task, run.token()).unwrap();
    let (mut other, _) = Task::create(
        NewTask::new(
            taskstate::IdGenerator::seeded(2).next_id(t(0)),
            NamedKind::new("ZonePublish"),
            Owner::new("alice"),
            ResourceRef::new("zone", "example.com"),
        ),
        alice(),
        t(0),
    )
    .unwrap();
    let (_, _) = other.start(t(10), None, t(1)).unwrap();
    let wrong = rebuilt.heartbeat(&mut other, t(20), None, t(2));
    assert!(
        matches!(wrong, Err(Rejection::WrongTask { .. })),
        "{wrong:?}"
    );
    rebuilt.heartbeat(&mut task, t(20), None, t(2)).unwrap();
}

#[test]
fn an_executor_that_restarts_rebuilds_its_handle_from_the_store() {
    let (store, id) = store_with(5, NamedKind::new("DomainCreate"), "restart.fr");
    let claim = claim_one(&store, t(1), t(60));
    // The executor writes its token down, then its process dies.
    let kept = claim.run.token();
    drop(claim);
    // On restart it reads the record back and rebuilds its handle.
    let mut task = store.get(&Scope::Staff, id).unwrap().unwrap();
    let run = Run::rebuild(&task, kept).unwrap();
    let version = task.version();
    let done = run.complete(&mut task, Outcome::new(), t(30)).unwrap();
    store.save(&task, version, &[done]).unwrap();
    let log = store.log(&Scope::Staff, id, 0, 10).unwrap();
    assert_eq!(log.len(), 3);
    task.check_log(&log).unwrap();
}

#[test]
fn a_made_up_token_is_a_stale_lease_even_where_the_table_has_no_row() {
    let mut task = logged_of(NamedKind::new("DomainCreate")).task;
    for status_step in 0..2 {
        if status_step == 1 {
            let (run, _) = task.start(t(10), None, t(1)).unwrap();
            run.complete(&mut task, Outcome::new(), t(2)).unwrap();
        }
        let before = task.clone();
        let refused = task.apply(
            Command::Resume {
                token: LeaseToken::new(99),
                lease_until: t(100),
            },
            Actor::System,
            t(3),
        );
        assert!(
            matches!(refused, Err(Rejection::StaleLease { .. })),
            "{} task: {refused:?}",
            task.status()
        );
        assert_eq!(task, before);
    }
}

// ---------------------------------------------------------------------
// Heartbeats are lease state
// ---------------------------------------------------------------------

#[test]
fn a_day_of_heartbeats_every_ten_seconds_logs_only_the_transitions() {
    let mut task = logged_of(NamedKind::new("DomainCreate"));
    let (run, started) = task.task.start(t(30), None, t(0)).unwrap();
    task.push(started);
    let beats = 8_640;
    for beat in 1..=beats {
        let now = t(beat * 10);
        run.heartbeat(
            &mut task.task,
            now + Duration::seconds(30),
            Some(format!("beat {beat}")),
            now,
        )
        .unwrap();
    }
    assert_eq!(task.log.len(), 2);
    assert_eq!(task.task.version(), 2 + 8_640);
    assert_eq!(task.task.comment(), Some("beat 8640"));
    assert_eq!(
        task.task.lease().map(|lease| lease.heartbeats()),
        Some(8_640)
    );
    task.task.check_log(&task.log).unwrap();
    // The next event counts them, and the log still rebuilds the record.
    let done = run
        .complete(&mut task.task, Outcome::new().message("done"), t(86_401))
        .unwrap();
    assert_eq!((done.version, done.heartbeats), (8_643, 8_640));
    task.push(done);
    assert_eq!(Task::replay(&task.log).unwrap(), task.task);
    assert!(
        Timeline::new(&task.log)
            .to_string()
            .contains("(after 8640 heartbeats)")
    );
}

#[test]
fn a_heartbeat_never_shortens_the_lease() {
    let mut task = logged_of(NamedKind::new("DomainCreate")).task;
    let (run, _) = task.start(t(300), None, t(0)).unwrap();
    let refused = run.heartbeat(&mut task, t(200), None, t(1));
    assert!(
        matches!(
            &refused,
            Err(Rejection::InvalidInput {
                field: "lease_until",
                ..
            })
        ),
        "{refused:?}"
    );
}

#[test]
fn a_heartbeat_and_a_concurrent_save_cannot_overwrite_each_other() {
    let kind = NamedKind::with_rules(
        "DomainCreate",
        Rules::new().cancel(taskstate::CancelRules::STANDARD.with_running()),
    );
    let (store, id) = store_with(9, kind, "race.fr");
    let claim = claim_one(&store, t(1), t(60));
    let run = claim.run;
    // Alice reads the task, then the executor heartbeats and saves.
    let mut alices = store.get(&Scope::Staff, id).unwrap().unwrap();
    let mut executors = store.get(&Scope::Staff, id).unwrap().unwrap();
    let version = executors.version();
    run.heartbeat(&mut executors, t(120), None, t(30)).unwrap();
    store.save(&executors, version, &[]).unwrap();
    // Alice's cancel request, from the copy she read, does not land over it.
    let version = alices.version();
    let cancel = alices
        .apply(Command::Cancel { reason: None }, alice(), t(31))
        .unwrap();
    let late = store.save(&alices, version, cancel.as_slice());
    assert!(matches!(late, Err(StoreError::Conflict { .. })), "{late:?}");
    // Re-applied on a fresh copy, it keeps the heartbeat's deadline.
    let mut fresh = store.get(&Scope::Staff, id).unwrap().unwrap();
    let version = fresh.version();
    let cancel = fresh
        .apply(Command::Cancel { reason: None }, alice(), t(31))
        .unwrap();
    store.save(&fresh, version, cancel.as_slice()).unwrap();
    let stored = store.get(&Scope::Staff, id).unwrap().unwrap();
    assert_eq!(stored.lease().map(|lease| lease.expires_at()), Some(t(120)));
    assert!(stored.cancel_requested_at().is_some());
    stored
        .check_log(store.log(&Scope::Staff, id, 0, 10).unwrap())
        .unwrap();
}

// ---------------------------------------------------------------------
// Waiting has two times
// ---------------------------------------------------------------------

#[test]
fn a_waiting_task_due_for_its_check_is_not_stalled_before_its_lease_runs_out() {
    let mut task = logged_of(NamedKind::new("DomainCreate")).task;
    let (run, _) = task.start(t(60), None, t(0)).unwrap();
    let day = Duration::days(1);
    run.wait(
        &mut task,
        Pause::until(t(0) + day)
            .check_at(t(300))
            .reason("waiting for the registry"),
        t(1),
    )
    .unwrap();
    let wakeup = task.next_wakeup().unwrap();
    assert_eq!((wakeup.at, wakeup.reason), (t(300), WakeupReason::Check));
    // Due for its check, and long after: not stallable.
    for later in [t(300), t(301), t(3_600), t(0) + day - Duration::seconds(1)] {
        assert!(!task.can_mark_stalled(later));
        let refused = task.apply(Command::MarkStalled, Actor::System, later);
        assert!(
            matches!(refused, Err(Rejection::LeaseActive { .. })),
            "{refused:?}"
        );
    }
    // The poller finds nothing yet: it looks again later.
    run.check_later(&mut task, t(900), t(0) + day, t(301))
        .unwrap();
    assert_eq!(
        task.lease().and_then(|lease| lease.check_at()),
        Some(t(900))
    );
    assert_eq!(task.next_wakeup().map(|w| w.at), Some(t(900)));
    // Once the wait gives up, it is.
    assert!(task.can_mark_stalled(t(0) + day));
    task.apply(Command::MarkStalled, Actor::System, t(0) + day)
        .unwrap();
    assert_eq!(task.status(), Status::Stalled);
}

#[test]
fn a_waiting_task_is_not_in_the_stores_expired_sweep_at_its_check_time() {
    let (store, id) = store_with(3, NamedKind::new("DomainCreate"), "wait.fr");
    let claim = claim_one(&store, t(0), t(60));
    let mut task = claim.task;
    let version = task.version();
    let waited = claim
        .run
        .wait(&mut task, Pause::until(t(3_600)).check_at(t(120)), t(1))
        .unwrap();
    store.save(&task, version, &[waited]).unwrap();
    assert!(
        store
            .sweep(Sweep::ExpiredLeases, t(121), 10)
            .unwrap()
            .tasks
            .is_empty()
    );
    assert_eq!(
        store
            .sweep(Sweep::ExpiredLeases, t(3_600), 10)
            .unwrap()
            .tasks
            .len(),
        1
    );
    assert_eq!(
        store.get(&Scope::Staff, id).unwrap().unwrap().status(),
        Status::Waiting
    );
}

#[test]
fn check_times_are_checked() {
    let mut task = logged_of(NamedKind::new("DomainCreate")).task;
    let (run, _) = task.start(t(60), None, t(0)).unwrap();
    // A running task has no time to check again.
    let refused = run.check_later(&mut task, t(30), t(90), t(1));
    assert!(
        matches!(
            &refused,
            Err(Rejection::InvalidInput {
                field: "check_at",
                ..
            })
        ),
        "{refused:?}"
    );
    // A check after the wait gives up, or not after now.
    for check_at in [t(4_000), t(1)] {
        let refused = run.wait(&mut task, Pause::until(t(3_600)).check_at(check_at), t(1));
        assert!(
            matches!(
                &refused,
                Err(Rejection::InvalidInput {
                    field: "check_at",
                    ..
                })
            ),
            "{refused:?}"
        );
    }
    assert_eq!(task.status(), Status::Running);
}

// ---------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------

/// Runs `steps` on `task`, logging every event.
fn drive(task: &mut Logged, steps: &[taskstate::testkit::strategies::Step]) {
    let mut now = task.task.created_at();
    for step in steps {
        now += Duration::seconds(step.advance);
        let (command, actor) = step.resolve(&task.task, now);
        let _ = task.apply(command, actor, now);
    }
}

/// The structural edits of one event that a log always shows: a
/// version, a heartbeat count, a status before or after, a recorded
/// decision.
fn edit(event: &mut E, how: u8) -> bool {
    match how % 6 {
        0 => event.version += 1,
        1 => event.heartbeats += 1,
        2 => {
            event.from = match event.from {
                Some(Status::Pending) => Some(Status::Failed),
                Some(_) => Some(Status::Pending),
                None => Some(Status::Running),
            }
        }
        3 => {
            event.to = if event.to == Status::Done {
                Status::Cancelled
            } else {
                Status::Done
            }
        }
        4 => match event.effect.as_deref_mut() {
            Some(Decision::Failed { counted, .. }) => *counted = !*counted,
            Some(Decision::Replaced { previous }) => {
                previous.insert(
                    "a_key_nobody_had".into(),
                    Some(ArgumentValue::Boolean(true)),
                );
            }
            // An effect of a later version of the crate, or none: a
            // failure recorded where there was none.
            _ => {
                event.effect = Some(Box::new(Decision::Failed {
                    follow_up: FollowUp::Final,
                    counted: false,
                    notice: None,
                }))
            }
        },
        _ => {
            if event.version == 0 {
                return false;
            }
            event.version -= 1;
        }
    }
    true
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn the_log_rebuilds_the_record(
        mut task in start_task(),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        drive(&mut task, &steps);
        prop_assert_eq!(task.task.check_log(&task.log), Ok(()));
        let rebuilt = Task::replay(&task.log).unwrap();
        let heartbeats = task.task.lease().map_or(0, |lease| lease.heartbeats());
        prop_assert_eq!(rebuilt.version() + u64::from(heartbeats), task.task.version());
        if task.task.lease().is_none() {
            prop_assert_eq!(rebuilt, task.task.clone());
        }
        // A log read back from JSON is the same log.
        let json = serde_json::to_string(&task.log).unwrap();
        let read: Vec<E> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(read, task.log.clone());
    }

    #[test]
    fn a_log_with_one_event_dropped_repeated_swapped_or_edited_is_refused_or_rebuilds_another_record(
        mut task in start_task(),
        steps in proptest::collection::vec(step(), 1..60),
        pick in any::<usize>(),
        how in 0u8..4,
        edit_how in any::<u8>(),
    ) {
        drive(&mut task, &steps);
        let mut log = task.log.clone();
        let at = pick % log.len();
        match how {
            0 => { log.remove(at); }
            1 => { let event = log[at].clone(); log.insert(at, event); }
            2 => {
                prop_assume!(log.len() >= 2);
                let at = at.min(log.len() - 2);
                log.swap(at, at + 1);
            }
            _ => { prop_assume!(edit(&mut log[at], edit_how)); }
        }
        prop_assert!(
            task.task.check_log(&log).is_err(),
            "a damaged log ({how}) at {at} still matches its record"
        );
    }
}

#[test]
fn every_action_is_logged_but_the_heartbeat() {
    let mut task = logged_of(NamedKind::new("DomainCreate"));
    let (run, started) = task.task.start(t(60), None, t(0)).unwrap();
    task.push(started);
    let before = task.log.len();
    run.heartbeat(&mut task.task, t(90), None, t(1)).unwrap();
    assert_eq!(task.log.len(), before);
    let reported = run.expect_done_at(&mut task.task, t(500), t(2)).unwrap();
    task.push(reported);
    assert!(
        task.log
            .iter()
            .all(|event| event.action() != Action::Heartbeat)
    );
    assert_eq!(task.log.last().map(|event| event.heartbeats), Some(1));
}

#[test]
fn heartbeats_counted_where_no_lease_was_held_are_refused() {
    let mut task = logged_of(NamedKind::new("DomainCreate"));
    task.apply(Command::Cancel { reason: None }, alice(), t(1))
        .unwrap();
    let mut log = task.log.clone();
    let cancel = log.last_mut().unwrap();
    cancel.heartbeats = 5;
    cancel.version = 7;
    assert!(matches!(
        Task::replay(&log),
        Err(ReplayError::VersionGap {
            expected: 2,
            found: 7
        })
    ));
}

#[test]
fn a_save_that_changes_what_never_changes_is_refused() {
    let store = MemoryStore::new();
    let id = taskstate::IdGenerator::seeded(21).next_id(t(0));
    let new = |kind: NamedKind| {
        NewTask::new(
            id,
            kind,
            Owner::new("alice"),
            ResourceRef::new("domain", "example.fr"),
        )
    };
    let (task, created) = Task::create(new(NamedKind::new("DomainCreate")), alice(), t(0)).unwrap();
    store.insert(task, created).unwrap();
    let forgeries = [
        new(NamedKind::with_rules(
            "DomainCreate",
            Rules::new().blocking(true),
        )),
        new(NamedKind::new("DomainCreate")).title("forged"),
        new(NamedKind::new("DomainCreate")).blocking(true),
        new(NamedKind::new("DomainCreate").argument(ArgumentSpec::text("extra", 0, 9))),
        new(NamedKind::new("DomainTrade")),
    ];
    for forged in forgeries {
        let (mut forged, _) = Task::create(forged, alice(), t(0)).unwrap();
        let event = forged
            .apply(Command::Cancel { reason: None }, alice(), t(1))
            .unwrap();
        let saved = store.save(&forged, 1, event.as_slice());
        assert!(
            matches!(saved, Err(StoreError::Refused { .. })),
            "{saved:?}"
        );
    }
    let stored = store.get(&Scope::Staff, id).unwrap().unwrap();
    stored
        .check_log(store.log(&Scope::Staff, id, 0, 10).unwrap())
        .unwrap();
}

#[test]
fn a_save_whose_events_do_not_make_the_record_is_refused() {
    let (store, id) = store_with(31, NamedKind::new("DomainCreate"), "events.fr");
    let claim = claim_one(&store, t(1), t(60));
    let version = claim.task.version();
    // Two copies of the claimed task: one completes, the other fails.
    let mut completed = claim.task.clone();
    let mut failed = claim.task.clone();
    let token = claim.run.token();
    let done = claim
        .run
        .complete(&mut completed, Outcome::new(), t(2))
        .unwrap();
    let fail = Run::rebuild(&failed, token)
        .unwrap()
        .fail(&mut failed, crate::common::provider_failure(t(2)), t(2))
        .unwrap();
    assert_eq!(done.version, fail.version);
    // The done record with the failure's event: the versions line up,
    // the contents do not.
    let saved = store.save(&completed, version, &[fail]);
    assert!(
        matches!(saved, Err(StoreError::Refused { .. })),
        "{saved:?}"
    );
    store.save(&completed, version, &[done]).unwrap();
    let stored = store.get(&Scope::Staff, id).unwrap().unwrap();
    stored
        .check_log(store.log(&Scope::Staff, id, 0, 10).unwrap())
        .unwrap();
}

#[test]
fn an_insert_whose_creation_does_not_make_the_record_is_refused() {
    let store = MemoryStore::new();
    let mut ids = taskstate::IdGenerator::seeded(32);
    let id = ids.next_id(t(0));
    let new = |owner: &str| {
        NewTask::new(
            id,
            NamedKind::new("DomainCreate"),
            Owner::new(owner),
            ResourceRef::new("domain", "insert.fr"),
        )
    };
    let (task, _) = Task::create(new("alice"), alice(), t(0)).unwrap();
    let (_, mallorys) = Task::create(new("mallory"), Actor::System, t(0)).unwrap();
    let inserted = store.insert(task, mallorys);
    assert!(
        matches!(inserted, Err(StoreError::Refused { .. })),
        "{inserted:?}"
    );
    assert!(store.get(&Scope::Staff, id).unwrap().is_none());
}
