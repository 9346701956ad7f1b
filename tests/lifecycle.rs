//! Whole scenarios of a task's life, each row of the table taken by at
//! least one of them (checked by `every_row_of_the_table_is_exercised`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use taskstate::table::Coverage;
use taskstate::{
    Action, Actor, CancelRules, Command, Failure, LeaseToken, NamedKind, Outcome, PausedRun,
    Rejection, ReplayError, Role, RoleSet, Rule, Rules, Status, Task,
};

use common::{accept, alice, bob, mallory, pending, provider_failure, reject, t, task_of};

type T = Task<NamedKind>;

fn running_kind() -> NamedKind {
    NamedKind::with_rules(
        "DomainCreate",
        Rules::new().cancel(CancelRules::STANDARD.with_running()),
    )
}

fn happy_path() -> Vec<T> {
    let mut task = pending();
    let run = task.start(t(300), Some("w1".into()), t(10)).unwrap();
    run.heartbeat(&mut task, t(600), Some("half way".into()), t(20))
        .unwrap();
    assert_eq!(task.comment(), Some("half way"));
    assert_eq!(task.lease().unwrap().expires_at, t(600));
    run.complete(&mut task, Outcome::new().message("registered"), t(30))
        .unwrap();
    assert_eq!(task.status(), Status::Done);
    assert_eq!(task.done_at(), Some(t(30)));
    assert_eq!(task.comment(), Some("registered"));
    assert!(task.lease().is_none());
    assert_eq!((task.runs(), task.attempts(), task.version()), (1, 0, 4));
    vec![task]
}

fn waiting_paths() -> Vec<T> {
    // wait, heartbeat while waiting, resume, complete
    let mut resumed = pending();
    let run = resumed.start(t(300), None, t(10)).unwrap();
    let paused = run
        .wait(&mut resumed, t(3600), Some("registry".into()), t(20))
        .unwrap();
    assert_eq!(resumed.status(), Status::Waiting);
    assert_eq!(resumed.lease().unwrap().expires_at, t(3600));
    paused
        .heartbeat(&mut resumed, t(7200), None, t(30))
        .unwrap();
    // A callback handler in another process finds the paused run.
    let found = PausedRun::of(&resumed).unwrap();
    assert_eq!(found, paused);
    let run = found.resume(&mut resumed, t(4000), t(40)).unwrap();
    run.complete(&mut resumed, Outcome::new(), t(50)).unwrap();
    assert_eq!(resumed.status(), Status::Done);

    // the outside party answers: complete straight from waiting
    let mut answered = pending();
    let paused = answered
        .start(t(300), None, t(10))
        .unwrap()
        .wait(&mut answered, t(900), None, t(20))
        .unwrap();
    paused
        .complete(&mut answered, Outcome::new(), t(30))
        .unwrap();
    assert_eq!(answered.status(), Status::Done);

    // the outside party refuses: fail from waiting, which counts an attempt
    let mut refused = pending();
    let paused = refused
        .start(t(300), None, t(10))
        .unwrap()
        .wait(&mut refused, t(900), None, t(20))
        .unwrap();
    paused
        .fail(&mut refused, provider_failure(t(30)), t(30))
        .unwrap();
    assert_eq!((refused.status(), refused.attempts()), (Status::Failed, 1));
    assert!(PausedRun::of(&refused).is_none());
    vec![resumed, answered, refused]
}

fn stale_lease_is_fenced() -> Vec<T> {
    let mut task = pending();
    // Worker A starts; its lease runs out at t(60).
    let a = task.start(t(60), Some("worker-a".into()), t(0)).unwrap();
    let early = reject(&mut task, Command::MarkStalled, Actor::System, t(59));
    assert_eq!(early, Rejection::LeaseActive { expires_at: t(60) });
    assert!(task.can_mark_stalled(t(60)));
    accept(&mut task, Command::MarkStalled, Actor::System, t(61));
    assert_eq!(task.status(), Status::Stalled);
    accept(
        &mut task,
        Command::Requeue { todo_at: None },
        Actor::System,
        t(62),
    );
    // Worker B starts the same task and finishes it.
    let b = task.start(t(200), Some("worker-b".into()), t(63)).unwrap();
    assert_ne!(a.token(), b.token());
    assert!(b.token() > a.token(), "tokens grow with every run");
    b.complete(&mut task, Outcome::new().message("done by b"), t(70))
        .unwrap();
    // A wakes up late: its result is refused and B's stands.
    let before = task.clone();
    let refused = a
        .complete(&mut task, Outcome::new().message("done by a"), t(80))
        .unwrap_err();
    assert!(matches!(
        refused.rejection,
        Rejection::IllegalMove {
            status: Status::Done,
            ..
        }
    ));
    assert_eq!(task, before);
    assert_eq!(task.comment(), Some("done by b"));
    // The stall did not use up an attempt; both runs are counted.
    assert_eq!((task.runs(), task.attempts()), (2, 0));
    vec![task]
}

fn stale_lease_while_the_successor_runs() -> Vec<T> {
    let mut task = pending();
    let a = task.start(t(60), None, t(0)).unwrap();
    accept(&mut task, Command::MarkStalled, Actor::System, t(61));
    accept(
        &mut task,
        Command::Requeue {
            todo_at: Some(t(100)),
        },
        Actor::System,
        t(62),
    );
    assert_eq!(task.todo_at(), Some(t(100)));
    let not_due = task.start(t(200), None, t(99)).unwrap_err();
    assert_eq!(not_due, Rejection::NotDue { todo_at: t(100) });
    let b = task.start(t(200), None, t(100)).unwrap();
    // Every executor move of A is refused with the facts.
    let stale = a.heartbeat(&mut task, t(300), None, t(101)).unwrap_err();
    assert_eq!(
        stale,
        Rejection::StaleLease {
            action: Action::Heartbeat,
            presented: Some(a.token()),
            current: Some(b.token()),
        }
    );
    let a = a
        .fail(&mut task, provider_failure(t(102)), t(102))
        .unwrap_err()
        .handle;
    let a = a.wait(&mut task, t(900), None, t(103)).unwrap_err().handle;
    let _ = a.acknowledge_cancel(&mut task, t(104)).unwrap_err();
    b.fail(&mut task, provider_failure(t(110)), t(110)).unwrap();
    assert_eq!((task.runs(), task.attempts()), (2, 1));
    vec![task]
}

fn stalled_tasks_are_settled_by_staff() -> Vec<T> {
    // From waiting, the wait's deadline runs out.
    let mut failed = pending();
    let run = failed.start(t(60), None, t(0)).unwrap();
    let paused = run.wait(&mut failed, t(120), None, t(10)).unwrap();
    accept(&mut failed, Command::MarkStalled, Actor::System, t(121));
    let refused = paused.resume(&mut failed, t(300), t(122)).unwrap_err();
    assert!(matches!(
        refused.rejection,
        Rejection::IllegalMove {
            status: Status::Stalled,
            ..
        }
    ));
    // A customer cannot requeue; an operator gives up on it instead.
    let rejection = reject(
        &mut failed,
        Command::Requeue { todo_at: None },
        alice(),
        t(130),
    );
    assert_eq!(
        rejection,
        Rejection::RoleNotAllowed {
            status: Status::Stalled,
            action: Action::Requeue,
            role: Role::Customer,
            allowed: RoleSet::of(&[Role::Operator, Role::System]),
        }
    );
    let failure = Failure::provider("EXECUTOR_LOST", "the executor stopped answering", t(140));
    accept(
        &mut failed,
        Command::Fail {
            token: None,
            failure: Box::new(failure),
        },
        bob(),
        t(140),
    );
    assert_eq!(failed.status(), Status::Failed);
    assert_eq!(
        failed.attempts(),
        0,
        "a staff fail of a stalled task uses no attempt"
    );

    // Staff cancels a stalled task (standard rules); the customer may not.
    let mut cancelled = pending();
    let _run = cancelled.start(t(60), None, t(0)).unwrap();
    accept(&mut cancelled, Command::MarkStalled, Actor::System, t(61));
    let rejection = reject(
        &mut cancelled,
        Command::Cancel { reason: None },
        alice(),
        t(62),
    );
    assert!(matches!(
        rejection,
        Rejection::RefusedByRule {
            rule: Rule::Cancel,
            ..
        }
    ));
    accept(
        &mut cancelled,
        Command::Cancel {
            reason: Some("given up".into()),
        },
        bob(),
        t(63),
    );
    assert_eq!(cancelled.status(), Status::Cancelled);
    assert_eq!(cancelled.comment(), Some("given up"));
    vec![failed, cancelled]
}

fn cancel_rules_and_requests() -> Vec<T> {
    // Pending: the owner cancels; another customer cannot even try.
    let mut pending_cancel = pending();
    let rejection = reject(
        &mut pending_cancel,
        Command::Cancel { reason: None },
        mallory(),
        t(1),
    );
    assert_eq!(
        rejection,
        Rejection::NotOwner {
            actor: "mallory".into(),
            action: Action::Cancel
        }
    );
    assert!(pending_cancel.can_cancel(&alice(), t(1)));
    assert!(!pending_cancel.can_cancel(&mallory(), t(1)));
    accept(
        &mut pending_cancel,
        Command::Cancel { reason: None },
        alice(),
        t(2),
    );
    assert_eq!(pending_cancel.status(), Status::Cancelled);

    // Running, standard rules: running work cannot stop.
    let mut standard = pending();
    let run = standard.start(t(300), None, t(0)).unwrap();
    assert!(!standard.can_cancel(&alice(), t(1)));
    let rejection = reject(
        &mut standard,
        Command::Cancel { reason: None },
        alice(),
        t(1),
    );
    assert_eq!(
        rejection,
        Rejection::RefusedByRule {
            kind: "DomainCreate".into(),
            rule: Rule::Cancel,
            action: Action::Cancel,
            status: Status::Running,
            role: Role::Customer,
        }
    );
    run.complete(&mut standard, Outcome::new(), t(2)).unwrap();

    // Running, a kind whose work can stop: request, then acknowledge.
    let mut stopped = task_of(running_kind());
    let run = stopped.start(t(300), None, t(0)).unwrap();
    let run = run.acknowledge_cancel(&mut stopped, t(1)).unwrap_err();
    assert_eq!(run.rejection, Rejection::CancelNotRequested);
    let run = run.handle;
    accept(
        &mut stopped,
        Command::Cancel {
            reason: Some("changed my mind".into()),
        },
        alice(),
        t(2),
    );
    assert_eq!(
        stopped.status(),
        Status::Running,
        "a cancel of running work is a request"
    );
    assert_eq!(stopped.cancel_requested_at(), Some(t(2)));
    let again = reject(&mut stopped, Command::Cancel { reason: None }, bob(), t(3));
    assert_eq!(
        again,
        Rejection::CancelAlreadyRequested { requested_at: t(2) }
    );
    run.heartbeat(&mut stopped, t(400), None, t(4)).unwrap();
    run.acknowledge_cancel(&mut stopped, t(5)).unwrap();
    assert_eq!(stopped.status(), Status::Cancelled);
    assert!(stopped.cancel_requested_at().is_none());

    // Waiting work: request, then acknowledge from waiting.
    let mut waiting = task_of(running_kind());
    let paused = waiting
        .start(t(300), None, t(0))
        .unwrap()
        .wait(&mut waiting, t(900), None, t(1))
        .unwrap();
    accept(
        &mut waiting,
        Command::Cancel { reason: None },
        Actor::System,
        t(2),
    );
    assert_eq!(waiting.status(), Status::Waiting);
    paused.acknowledge_cancel(&mut waiting, t(3)).unwrap();
    assert_eq!(waiting.status(), Status::Cancelled);

    // Failed: the customer gives up on it.
    let mut given_up = pending();
    let run = given_up.start(t(300), None, t(0)).unwrap();
    run.fail(&mut given_up, provider_failure(t(1)), t(1))
        .unwrap();
    accept(
        &mut given_up,
        Command::Cancel { reason: None },
        alice(),
        t(2),
    );
    assert_eq!(given_up.status(), Status::Cancelled);
    assert_eq!(
        given_up.done_at(),
        Some(t(1)),
        "done_at is when it first settled"
    );

    vec![pending_cancel, standard, stopped, waiting, given_up]
}

fn cancel_request_and_completion_race() -> Vec<T> {
    // Request first, then the executor completes: completion wins.
    let mut request_first = task_of(running_kind());
    let run = request_first.start(t(300), None, t(0)).unwrap();
    accept(
        &mut request_first,
        Command::Cancel { reason: None },
        alice(),
        t(1),
    );
    run.complete(
        &mut request_first,
        Outcome::new().message("finished anyway"),
        t(2),
    )
    .unwrap();
    assert_eq!(request_first.status(), Status::Done);
    assert!(
        request_first.cancel_requested_at().is_none(),
        "the request lapses"
    );

    // Completion first, then the request: refused, the task is final.
    let mut complete_first = task_of(running_kind());
    let run = complete_first.start(t(300), None, t(0)).unwrap();
    run.complete(&mut complete_first, Outcome::new(), t(1))
        .unwrap();
    let late = reject(
        &mut complete_first,
        Command::Cancel { reason: None },
        alice(),
        t(2),
    );
    assert!(
        matches!(late, Rejection::IllegalMove { status: Status::Done, ref legal, .. } if legal.is_empty())
    );

    // A request on a run that then stalls: the stalled task cannot be
    // requeued, only cancelled.
    let mut stalled = task_of(running_kind());
    let _run = stalled.start(t(60), None, t(0)).unwrap();
    accept(
        &mut stalled,
        Command::Cancel { reason: None },
        alice(),
        t(1),
    );
    accept(&mut stalled, Command::MarkStalled, Actor::System, t(61));
    assert_eq!(stalled.cancel_requested_at(), Some(t(1)));
    let requeue = reject(
        &mut stalled,
        Command::Requeue { todo_at: None },
        Actor::System,
        t(62),
    );
    assert_eq!(
        requeue,
        Rejection::CancelAlreadyRequested { requested_at: t(1) }
    );
    accept(
        &mut stalled,
        Command::Cancel { reason: None },
        Actor::System,
        t(63),
    );
    assert_eq!(stalled.status(), Status::Cancelled);
    vec![request_first, complete_first, stalled]
}

fn accelerate() -> Vec<T> {
    let mut task = pending();
    let rejection = reject(&mut task, Command::Accelerate, alice(), t(1));
    assert_eq!(rejection, Rejection::AlreadyDue);

    let new = common_new().todo_at(t(3600));
    let mut later = Task::create(new, alice(), t(0)).unwrap();
    assert!(later.can_accelerate(&alice(), t(10)));
    assert!(
        !later.can_accelerate(&Actor::System, t(10)),
        "the table keeps the system out"
    );
    assert!(later.start(t(4000), None, t(10)).is_err());
    accept(&mut later, Command::Accelerate, alice(), t(10));
    assert_eq!(later.todo_at(), Some(t(10)));
    let run = later.start(t(400), None, t(11)).unwrap();
    assert_eq!(later.todo_at(), None);
    run.complete(&mut later, Outcome::new(), t(12)).unwrap();

    // A kind that lets nobody accelerate.
    let mut new = common_new().todo_at(t(3600));
    new.kind = NamedKind::with_rules("DomainTrade", Rules::new().accelerate(RoleSet::EMPTY));
    let mut frozen = Task::create(new, alice(), t(0)).unwrap();
    let rejection = reject(&mut frozen, Command::Accelerate, bob(), t(1));
    assert!(matches!(
        rejection,
        Rejection::RefusedByRule {
            rule: Rule::Accelerate,
            role: Role::Operator,
            ..
        }
    ));
    vec![task, later, frozen]
}

fn bad_input_is_named() -> Vec<T> {
    let mut task = pending();
    let rejection = task.start(t(0), None, t(0)).unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::InvalidInput {
            field: "lease_until",
            ..
        }
    ));
    assert_eq!(task.version(), 1);
    let run = task.start(t(60), None, t(0)).unwrap();
    let rejection = run.heartbeat(&mut task, t(5), None, t(10)).unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::InvalidInput {
            field: "lease_until",
            ..
        }
    ));
    let refused = run.wait(&mut task, t(10), None, t(10)).unwrap_err();
    assert!(matches!(
        refused.rejection,
        Rejection::InvalidInput { field: "until", .. }
    ));
    let run = refused.handle;
    let refused = run
        .fail(&mut task, Failure::provider("", "no code", t(11)), t(11))
        .unwrap_err();
    assert!(matches!(
        refused.rejection,
        Rejection::InvalidInput {
            field: "failure.code",
            ..
        }
    ));
    assert_eq!(
        refused.to_string(),
        "invalid failure.code: must not be empty"
    );
    // The handle came back: the executor corrects its input.
    refused
        .handle
        .fail(&mut task, provider_failure(t(12)), t(12))
        .unwrap();

    // The customer is no executor; and a create is no command on a task.
    let rejection = reject(
        &mut task,
        Command::Create(Arc::new(common_new())),
        alice(),
        t(13),
    );
    assert!(matches!(
        rejection,
        Rejection::IllegalMove {
            action: Action::Create,
            ..
        }
    ));
    let mut fresh = pending();
    let rejection = reject(
        &mut fresh,
        Command::Start {
            lease_until: t(60),
            worker: None,
        },
        alice(),
        t(1),
    );
    assert_eq!(
        rejection.to_string(),
        "a customer may not start a pending task (allowed: system)"
    );

    // Creation checks its input and its owner.
    let mut new = common_new();
    new.resource.id.clear();
    let rejection = Task::create(new, alice(), t(0)).unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::InvalidInput {
            field: "resource.id",
            ..
        }
    ));
    let rejection = Task::create(common_new(), mallory(), t(0)).unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::NotOwner {
            action: Action::Create,
            ..
        }
    ));
    let mut new = common_new();
    new.owner = taskstate::Owner::new("");
    assert!(matches!(
        Task::create(new, bob(), t(0)),
        Err(Rejection::InvalidInput { field: "owner", .. })
    ));
    vec![task, fresh]
}

fn common_new() -> taskstate::NewTask<NamedKind> {
    let task = pending();
    taskstate::NewTask::new(
        task.id(),
        task.kind().clone(),
        task.owner().clone(),
        task.resource().clone(),
    )
}

fn handles_belong_to_their_task() -> Vec<T> {
    let mut one = pending();
    let new = taskstate::NewTask::new(
        taskstate::IdGenerator::seeded(99).next_id(t(0)),
        NamedKind::new("DomainCreate"),
        taskstate::Owner::new("alice"),
        taskstate::ResourceRef::new("domain", "other.fr"),
    );
    let mut other = Task::create(new, alice(), t(0)).unwrap();
    let run = one.start(t(60), None, t(0)).unwrap();
    let _ = other.start(t(60), None, t(0)).unwrap();
    let refused = run.complete(&mut other, Outcome::new(), t(1)).unwrap_err();
    assert_eq!(
        refused.rejection,
        Rejection::WrongTask {
            handle: one.id(),
            task: other.id()
        }
    );
    refused
        .handle
        .complete(&mut one, Outcome::new(), t(2))
        .unwrap();
    vec![one]
}

fn corrections_relaunches_and_retries() -> Vec<T> {
    use taskstate::{ArgumentSpec, StatusSet};
    let kind = NamedKind::with_rules(
        "DomainCreate",
        Rules::new().edit(StatusSet::of(&[Status::Pending, Status::Failed])),
    )
    .argument(ArgumentSpec::text("authCode", 4, 32));
    let mut task = task_of(kind);
    // Editable while pending, by this kind's rules.
    accept(
        &mut task,
        Command::set_argument("authCode", "0000"),
        alice(),
        t(1),
    );
    // A customer-origin failure, corrected and relaunched.
    let run = task.start(t(300), None, t(2)).unwrap();
    let failure = Failure::customer(
        "AUTH_CODE_INVALID",
        "the registry refused the auth code",
        t(3),
    )
    .flag("authCode");
    run.fail(&mut task, failure, t(3)).unwrap();
    accept(
        &mut task,
        Command::set_argument("authCode", "s3cr3t"),
        alice(),
        t(4),
    );
    accept(&mut task, Command::relaunch(), alice(), t(5));
    assert_eq!(task.status(), Status::Pending);
    // A provider-origin failure, retried by the system when due.
    let run = task.start(t(300), None, t(6)).unwrap();
    run.fail(&mut task, provider_failure(t(7)), t(7)).unwrap();
    let at = task.next_retry_at().unwrap();
    accept(&mut task, Command::Retry, Actor::System, at);
    let run = task
        .start(at + chrono::Duration::minutes(5), None, at)
        .unwrap();
    run.complete(&mut task, Outcome::new(), at + chrono::Duration::seconds(1))
        .unwrap();
    vec![task]
}

fn subtasks_progress_and_resolution() -> Vec<T> {
    use taskstate::{NewSubtask, SubtaskChange};
    let mut task = pending();
    let run = task.start(t(300), None, t(1)).unwrap();
    let token = run.token();
    let add = Command::AddSubtask {
        token,
        subtask: NewSubtask::new("publish", "publish the zone"),
    };
    accept(&mut task, add, Actor::System, t(2));
    let start = Command::Subtask {
        token,
        id: 0,
        change: SubtaskChange::Start,
    };
    accept(&mut task, start, Actor::System, t(3));
    let report = |steps| Command::ReportProgress {
        token,
        steps,
        current_step: None,
        expected_done_at: Some(t(100)),
    };
    accept(&mut task, report(None), Actor::System, t(4));
    let paused = run.wait(&mut task, t(900), None, t(5)).unwrap();
    accept(&mut task, report(None), Actor::System, t(6));
    assert_eq!(task.progress().unwrap().expected_done_at, Some(t(100)));
    paused
        .fail(&mut task, provider_failure(t(7)), t(7))
        .unwrap();
    assert_eq!(task.resolution(), Some(taskstate::Resolution::Unresolved));
    reject(&mut task, Command::Resolve, alice(), t(8));
    accept(&mut task, Command::Resolve, bob(), t(8));
    assert_eq!(task.resolution(), Some(taskstate::Resolution::Resolved));
    vec![task]
}

fn scenarios() -> Vec<T> {
    [
        happy_path as fn() -> Vec<T>,
        waiting_paths,
        stale_lease_is_fenced,
        stale_lease_while_the_successor_runs,
        stalled_tasks_are_settled_by_staff,
        cancel_rules_and_requests,
        cancel_request_and_completion_race,
        accelerate,
        bad_input_is_named,
        handles_belong_to_their_task,
        corrections_relaunches_and_retries,
        subtasks_progress_and_resolution,
    ]
    .into_iter()
    .flat_map(|scenario| scenario())
    .collect()
}

#[test]
fn every_scenario_passes_and_replays() {
    for task in scenarios() {
        assert_eq!(Task::replay(task.history().to_vec()).unwrap(), task);
    }
}

#[test]
fn every_row_of_the_table_is_exercised() {
    let mut coverage = Coverage::new();
    for task in scenarios() {
        coverage.record_history(task.history());
    }
    let missing: Vec<_> = coverage.missing().collect();
    assert!(missing.is_empty(), "rows no scenario takes: {missing:#?}");
}

#[test]
fn replay_rejects_broken_histories() {
    let task = happy_path().remove(0);
    let history = task.history().to_vec();
    assert_eq!(T::replay(Vec::new()), Err(ReplayError::Empty));
    assert_eq!(
        T::replay(history[1..].to_vec()),
        Err(ReplayError::NotCreatedFirst {
            action: Action::Start
        })
    );
    let mut gap = history.clone();
    gap.remove(2);
    assert_eq!(
        T::replay(gap),
        Err(ReplayError::VersionGap {
            expected: 3,
            found: 4
        })
    );
    let mut twice = history.clone();
    twice[1] = taskstate::Event {
        version: 2,
        ..history[0].clone()
    };
    assert_eq!(
        T::replay(twice),
        Err(ReplayError::CreatedTwice { version: 2 })
    );
    let mut wrong_to = history.clone();
    wrong_to[3].to = Status::Failed;
    assert!(matches!(
        T::replay(wrong_to),
        Err(ReplayError::Inconsistent { version: 4, .. })
    ));
    let mut wrong_role = history.clone();
    wrong_role[1].actor = alice();
    assert!(matches!(
        T::replay(wrong_role),
        Err(ReplayError::Illegal {
            version: 2,
            rejection: Rejection::RoleNotAllowed { .. }
        })
    ));

    // A record edited behind the history's back is refused when read,
    // naming the field; so is one whose history was edited.
    let mut json = serde_json::to_value(&task).unwrap();
    json["comment"] = "edited".into();
    let err = serde_json::from_value::<T>(json).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the record's comment differs from what its history rebuilds"
    );
    let mut json = serde_json::to_value(&task).unwrap();
    json["history"][2]["to"] = "failed".into();
    let err = serde_json::from_value::<T>(json).unwrap_err();
    assert!(err.to_string().starts_with("event 3 records"), "{err}");
}

#[test]
fn tokens_of_a_stale_run_are_refused_by_the_runtime_api_too() {
    let mut task = pending();
    let first = task.start(t(60), None, t(0)).unwrap().token();
    accept(&mut task, Command::MarkStalled, Actor::System, t(61));
    accept(&mut task, Command::Requeue { todo_at: None }, bob(), t(62));
    let _second = task.start(t(200), None, t(63)).unwrap();
    let stale = reject(
        &mut task,
        Command::Complete {
            token: first,
            outcome: Box::new(Outcome::new()),
        },
        Actor::System,
        t(64),
    );
    assert!(matches!(stale, Rejection::StaleLease { .. }));
    let forged = reject(
        &mut task,
        Command::Complete {
            token: LeaseToken::new(999),
            outcome: Box::new(Outcome::new()),
        },
        Actor::System,
        t(64),
    );
    assert!(matches!(
        forged,
        Rejection::StaleLease {
            presented: Some(_),
            ..
        }
    ));
}

#[test]
fn core_types_are_send_and_sync() {
    fn assert_send_sync<X: Send + Sync>() {}
    assert_send_sync::<Task<NamedKind>>();
    assert_send_sync::<Command<NamedKind>>();
    assert_send_sync::<taskstate::Event<NamedKind>>();
    assert_send_sync::<Rejection>();
    assert_send_sync::<ReplayError>();
    assert_send_sync::<taskstate::Run>();
    assert_send_sync::<PausedRun>();
}
