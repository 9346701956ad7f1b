//! Whole scenarios of a task's life, each row of the table taken by at
//! least one of them (checked by `every_row_of_the_table_is_exercised`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use taskstate::table::Coverage;
use taskstate::{
    Action, Actor, CancelRules, Command, Event, Failure, LeaseToken, NamedKind, Outcome, Pause,
    Rejection, ReplayError, Role, RoleSet, RuleName, Rules, Run, Status, Task,
};

use crate::common::{
    Logged, accept, alice, bob, logged_of, mallory, pending, provider_failure, reject, t,
};

type T = Task<NamedKind>;

fn running_kind() -> NamedKind {
    NamedKind::with_rules(
        "DomainCreate",
        Rules::new().cancel(CancelRules::STANDARD.with_running()),
    )
}

/// A pending DomainCreate with the standard rules, and its log.
fn pending_logged() -> Logged {
    logged_of(NamedKind::new("DomainCreate"))
}

/// Starts the task for an executor, logging the start.
fn start(
    task: &mut Logged,
    lease_until: DateTime<Utc>,
    worker: Option<&str>,
    now: DateTime<Utc>,
) -> Run {
    let (run, started) = task
        .task
        .start(lease_until, worker.map(str::to_owned), now)
        .unwrap();
    task.push(started);
    run
}

fn happy_path() -> Vec<Logged> {
    let mut task = pending_logged();
    let run = start(&mut task, t(300), Some("w1"), t(10));
    run.heartbeat(&mut task.task, t(600), Some("half way".into()), t(20))
        .unwrap();
    assert_eq!(task.task.comment(), Some("half way"));
    assert_eq!(task.task.lease().unwrap().expires_at(), t(600));
    task.log.push(
        run.complete(&mut task.task, Outcome::new().message("registered"), t(30))
            .unwrap(),
    );
    assert_eq!(task.task.status(), Status::Done);
    assert_eq!(task.task.done_at(), Some(t(30)));
    assert_eq!(task.task.comment(), Some("registered"));
    assert!(task.task.lease().is_none());
    assert_eq!(
        (task.task.runs(), task.task.attempts(), task.task.version()),
        (1, 0, 4)
    );
    // The heartbeat is not in the log: the completion counts it.
    let versions: Vec<(u64, u32)> = task.log.iter().map(|e| (e.version, e.heartbeats)).collect();
    assert_eq!(versions, [(1, 0), (2, 0), (4, 1)]);
    vec![task]
}

fn waiting_paths() -> Vec<Logged> {
    // wait, heartbeat while waiting, resume, complete
    let mut resumed = pending_logged();
    let run = start(&mut resumed, t(300), None, t(10));
    let kept = run.token();
    resumed.log.push(
        run.wait(
            &mut resumed.task,
            Pause::until(t(3600)).reason("registry"),
            t(20),
        )
        .unwrap(),
    );
    assert_eq!(resumed.task.status(), Status::Waiting);
    assert_eq!(resumed.task.lease().unwrap().expires_at(), t(3600));
    run.heartbeat(&mut resumed.task, t(7200), None, t(30))
        .unwrap();
    // A callback handler in another process rebuilds the run from the
    // token the executor kept.
    let found = Run::rebuild(&resumed.task, kept).unwrap();
    assert_eq!(found, run);
    resumed
        .log
        .push(found.resume(&mut resumed.task, t(4000), t(40)).unwrap());
    resumed.log.push(
        found
            .complete(&mut resumed.task, Outcome::new(), t(50))
            .unwrap(),
    );
    assert_eq!(resumed.task.status(), Status::Done);

    // the outside party answers: complete straight from waiting
    let mut answered = pending_logged();
    let run = start(&mut answered, t(300), None, t(10));
    answered.log.push(
        run.wait(&mut answered.task, Pause::until(t(900)), t(20))
            .unwrap(),
    );
    answered.log.push(
        run.complete(&mut answered.task, Outcome::new(), t(30))
            .unwrap(),
    );
    assert_eq!(answered.task.status(), Status::Done);

    // the outside party refuses: fail from waiting, which counts an attempt
    let mut refused = pending_logged();
    let run = start(&mut refused, t(300), None, t(10));
    let kept = run.token();
    refused.log.push(
        run.wait(&mut refused.task, Pause::until(t(900)), t(20))
            .unwrap(),
    );
    refused.log.push(
        run.fail(&mut refused.task, provider_failure(t(30)), t(30))
            .unwrap(),
    );
    assert_eq!(
        (refused.task.status(), refused.task.attempts()),
        (Status::Failed, 1)
    );
    assert!(matches!(
        Run::rebuild(&refused.task, kept),
        Err(Rejection::StaleLease { current: None, .. })
    ));
    vec![resumed, answered, refused]
}

fn stale_lease_is_fenced() -> Vec<Logged> {
    let mut task = pending_logged();
    // Worker A starts; its lease runs out at t(60).
    let a = start(&mut task, t(60), Some("worker-a"), t(0));
    let early = reject(&mut task.task, Command::MarkStalled, Actor::System, t(59));
    assert_eq!(early, Rejection::LeaseActive { expires_at: t(60) });
    assert!(task.task.can_mark_stalled(t(60)));
    accept(&mut task, Command::MarkStalled, Actor::System, t(61));
    assert_eq!(task.task.status(), Status::Stalled);
    accept(
        &mut task,
        Command::Requeue { todo_at: None },
        Actor::System,
        t(62),
    );
    // Worker B starts the same task and finishes it.
    let b = start(&mut task, t(200), Some("worker-b"), t(63));
    assert_ne!(a.token(), b.token());
    assert!(b.token() > a.token(), "tokens grow with every run");
    task.log.push(
        b.complete(&mut task.task, Outcome::new().message("done by b"), t(70))
            .unwrap(),
    );
    // A wakes up late: its result is refused as stale (its run is over,
    // whatever the status now is) and B's stands.
    let before = task.task.clone();
    let a_token = a.token();
    let refused = a
        .complete(&mut task.task, Outcome::new().message("done by a"), t(80))
        .unwrap_err();
    assert_eq!(
        refused.rejection,
        Rejection::StaleLease {
            action: Action::Complete,
            presented: Some(a_token),
            current: None,
        }
    );
    assert_eq!(task.task, before);
    assert_eq!(task.task.comment(), Some("done by b"));
    // The stall did not use up an attempt; both runs are counted.
    assert_eq!((task.task.runs(), task.task.attempts()), (2, 0));
    vec![task]
}

fn stale_lease_while_the_successor_runs() -> Vec<Logged> {
    let mut task = pending_logged();
    let a = start(&mut task, t(60), None, t(0));
    accept(&mut task, Command::MarkStalled, Actor::System, t(61));
    accept(
        &mut task,
        Command::Requeue {
            todo_at: Some(t(100)),
        },
        Actor::System,
        t(62),
    );
    assert_eq!(task.task.todo_at(), Some(t(100)));
    let not_due = task.task.start(t(200), None, t(99)).unwrap_err();
    assert_eq!(not_due, Rejection::NotDue { todo_at: t(100) });
    let b = start(&mut task, t(200), None, t(100));
    // Every executor move of A is refused with the facts.
    let (a_token, b_token) = (a.token(), b.token());
    let stale = |action| Rejection::StaleLease {
        action,
        presented: Some(a_token),
        current: Some(b_token),
    };
    let before = task.task.clone();
    assert_eq!(
        a.heartbeat(&mut task.task, t(300), None, t(101))
            .unwrap_err(),
        stale(Action::Heartbeat)
    );
    let refused = a
        .fail(&mut task.task, provider_failure(t(102)), t(102))
        .unwrap_err();
    assert_eq!(refused.rejection, stale(Action::Fail));
    let a = refused.run;
    assert_eq!(
        a.wait(&mut task.task, Pause::until(t(900)), t(103))
            .unwrap_err(),
        stale(Action::Wait)
    );
    let refused = a.acknowledge_cancel(&mut task.task, t(104)).unwrap_err();
    assert_eq!(refused.rejection, stale(Action::AcknowledgeCancel));
    assert_eq!(task.task, before);
    task.log.push(
        b.fail(&mut task.task, provider_failure(t(110)), t(110))
            .unwrap(),
    );
    assert_eq!((task.task.runs(), task.task.attempts()), (2, 1));
    vec![task]
}

fn stalled_tasks_are_settled_by_staff() -> Vec<Logged> {
    // From waiting, the wait's deadline runs out.
    let mut failed = pending_logged();
    let run = start(&mut failed, t(60), None, t(0));
    failed.log.push(
        run.wait(&mut failed.task, Pause::until(t(120)), t(10))
            .unwrap(),
    );
    accept(&mut failed, Command::MarkStalled, Actor::System, t(121));
    // The run lost the task: its resume is stale.
    let refused = run.resume(&mut failed.task, t(300), t(122)).unwrap_err();
    assert!(matches!(
        refused,
        Rejection::StaleLease {
            action: Action::Resume,
            current: None,
            ..
        }
    ));
    // A customer cannot requeue; an operator gives up on it instead.
    let rejection = reject(
        &mut failed.task,
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
    assert_eq!(failed.task.status(), Status::Failed);
    assert_eq!(
        failed.task.attempts(),
        0,
        "a staff fail of a stalled task uses no attempt"
    );

    // Staff cancels a stalled task (standard rules); the customer may not.
    let mut cancelled = pending_logged();
    let _run = start(&mut cancelled, t(60), None, t(0));
    accept(&mut cancelled, Command::MarkStalled, Actor::System, t(61));
    let rejection = reject(
        &mut cancelled.task,
        Command::Cancel { reason: None },
        alice(),
        t(62),
    );
    assert!(matches!(
        rejection,
        Rejection::RefusedByRule {
            rule: RuleName::Cancel,
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
    assert_eq!(cancelled.task.status(), Status::Cancelled);
    assert_eq!(cancelled.task.comment(), Some("given up"));
    vec![failed, cancelled]
}

fn cancel_rules_and_requests() -> Vec<Logged> {
    // Pending: the owner cancels; another customer cannot even try.
    let mut pending_cancel = pending_logged();
    let rejection = reject(
        &mut pending_cancel.task,
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
    assert!(pending_cancel.task.can_cancel(&alice(), t(1)));
    assert!(!pending_cancel.task.can_cancel(&mallory(), t(1)));
    accept(
        &mut pending_cancel,
        Command::Cancel { reason: None },
        alice(),
        t(2),
    );
    assert_eq!(pending_cancel.task.status(), Status::Cancelled);

    // Running, standard rules: running work cannot stop.
    let mut standard = pending_logged();
    let run = start(&mut standard, t(300), None, t(0));
    assert!(!standard.task.can_cancel(&alice(), t(1)));
    let rejection = reject(
        &mut standard.task,
        Command::Cancel { reason: None },
        alice(),
        t(1),
    );
    assert_eq!(
        rejection,
        Rejection::RefusedByRule {
            kind: "DomainCreate".into(),
            rule: RuleName::Cancel,
            action: Action::Cancel,
            status: Status::Running,
            role: Role::Customer,
        }
    );
    standard.log.push(
        run.complete(&mut standard.task, Outcome::new(), t(2))
            .unwrap(),
    );

    // Running, a kind whose work can stop: request, then acknowledge.
    let mut stopped = logged_of(running_kind());
    let run = start(&mut stopped, t(300), None, t(0));
    let refused = run.acknowledge_cancel(&mut stopped.task, t(1)).unwrap_err();
    assert_eq!(refused.rejection, Rejection::CancelNotRequested);
    let run = refused.run;
    accept(
        &mut stopped,
        Command::Cancel {
            reason: Some("changed my mind".into()),
        },
        alice(),
        t(2),
    );
    assert_eq!(
        stopped.task.status(),
        Status::Running,
        "a cancel of running work is a request"
    );
    assert_eq!(stopped.task.cancel_requested_at(), Some(t(2)));
    let again = reject(
        &mut stopped.task,
        Command::Cancel { reason: None },
        bob(),
        t(3),
    );
    assert_eq!(
        again,
        Rejection::CancelAlreadyRequested { requested_at: t(2) }
    );
    run.heartbeat(&mut stopped.task, t(400), None, t(4))
        .unwrap();
    stopped
        .log
        .push(run.acknowledge_cancel(&mut stopped.task, t(5)).unwrap());
    assert_eq!(stopped.task.status(), Status::Cancelled);
    assert!(stopped.task.cancel_requested_at().is_none());

    // Waiting work: request, then acknowledge from waiting.
    let mut waiting = logged_of(running_kind());
    let run = start(&mut waiting, t(300), None, t(0));
    waiting.log.push(
        run.wait(&mut waiting.task, Pause::until(t(900)), t(1))
            .unwrap(),
    );
    accept(
        &mut waiting,
        Command::Cancel { reason: None },
        Actor::System,
        t(2),
    );
    assert_eq!(waiting.task.status(), Status::Waiting);
    waiting
        .log
        .push(run.acknowledge_cancel(&mut waiting.task, t(3)).unwrap());
    assert_eq!(waiting.task.status(), Status::Cancelled);

    // Failed: the customer gives up on it.
    let mut given_up = pending_logged();
    let run = start(&mut given_up, t(300), None, t(0));
    given_up.log.push(
        run.fail(&mut given_up.task, provider_failure(t(1)), t(1))
            .unwrap(),
    );
    accept(
        &mut given_up,
        Command::Cancel { reason: None },
        alice(),
        t(2),
    );
    assert_eq!(given_up.task.status(), Status::Cancelled);
    assert_eq!(
        given_up.task.done_at(),
        Some(t(1)),
        "done_at is when it first settled"
    );

    vec![pending_cancel, standard, stopped, waiting, given_up]
}

fn cancel_request_and_completion_race() -> Vec<Logged> {
    // Request first, then the executor completes: completion wins.
    let mut request_first = logged_of(running_kind());
    let run = start(&mut request_first, t(300), None, t(0));
    accept(
        &mut request_first,
        Command::Cancel { reason: None },
        alice(),
        t(1),
    );
    request_first.log.push(
        run.complete(
            &mut request_first.task,
            Outcome::new().message("finished anyway"),
            t(2),
        )
        .unwrap(),
    );
    assert_eq!(request_first.task.status(), Status::Done);
    assert!(
        request_first.task.cancel_requested_at().is_none(),
        "the request lapses"
    );

    // Completion first, then the request: refused, the task is final.
    let mut complete_first = logged_of(running_kind());
    let run = start(&mut complete_first, t(300), None, t(0));
    complete_first.log.push(
        run.complete(&mut complete_first.task, Outcome::new(), t(1))
            .unwrap(),
    );
    let late = reject(
        &mut complete_first.task,
        Command::Cancel { reason: None },
        alice(),
        t(2),
    );
    assert!(
        matches!(late, Rejection::IllegalMove { status: Status::Done, ref legal, .. } if legal.is_empty())
    );

    // A request on a run that then stalls: the stalled task cannot be
    // requeued, only cancelled.
    let mut stalled = logged_of(running_kind());
    let _run = start(&mut stalled, t(60), None, t(0));
    accept(
        &mut stalled,
        Command::Cancel { reason: None },
        alice(),
        t(1),
    );
    accept(&mut stalled, Command::MarkStalled, Actor::System, t(61));
    assert_eq!(stalled.task.cancel_requested_at(), Some(t(1)));
    let requeue = reject(
        &mut stalled.task,
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
    assert_eq!(stalled.task.status(), Status::Cancelled);
    vec![request_first, complete_first, stalled]
}

fn accelerate() -> Vec<Logged> {
    let mut task = pending_logged();
    let rejection = reject(&mut task.task, Command::Accelerate, alice(), t(1));
    assert_eq!(rejection, Rejection::AlreadyDue);

    let new = common_new().todo_at(t(3600));
    let mut later = Logged::new(Task::create(new, alice(), t(0)).unwrap());
    assert!(later.task.can_accelerate(&alice(), t(10)));
    assert!(
        !later.task.can_accelerate(&Actor::System, t(10)),
        "the table keeps the system out"
    );
    assert!(later.task.start(t(4000), None, t(10)).is_err());
    accept(&mut later, Command::Accelerate, alice(), t(10));
    assert_eq!(later.task.todo_at(), Some(t(10)));
    let run = start(&mut later, t(400), None, t(11));
    assert_eq!(later.task.todo_at(), None);
    later.log.push(
        run.complete(&mut later.task, Outcome::new(), t(12))
            .unwrap(),
    );

    // A kind that lets nobody accelerate.
    let mut new = common_new().todo_at(t(3600));
    new.kind = NamedKind::with_rules("DomainTrade", Rules::new().accelerate(RoleSet::EMPTY));
    let mut frozen = Logged::new(Task::create(new, alice(), t(0)).unwrap());
    let rejection = reject(&mut frozen.task, Command::Accelerate, bob(), t(1));
    assert!(matches!(
        rejection,
        Rejection::RefusedByRule {
            rule: RuleName::Accelerate,
            role: Role::Operator,
            ..
        }
    ));
    vec![task, later, frozen]
}

fn bad_input_is_named() -> Vec<Logged> {
    let mut task = pending_logged();
    let rejection = task.task.start(t(0), None, t(0)).unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::InvalidInput {
            field: "lease_until",
            ..
        }
    ));
    assert_eq!(task.task.version(), 1);
    let run = start(&mut task, t(60), None, t(0));
    let rejection = run
        .heartbeat(&mut task.task, t(5), None, t(10))
        .unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::InvalidInput {
            field: "lease_until",
            ..
        }
    ));
    // A heartbeat only extends the lease: after now but before the
    // current deadline is refused too.
    let rejection = run
        .heartbeat(&mut task.task, t(30), None, t(10))
        .unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::InvalidInput {
            field: "lease_until",
            ..
        }
    ));
    let rejection = run
        .wait(&mut task.task, Pause::until(t(10)), t(10))
        .unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::InvalidInput { field: "until", .. }
    ));
    let refused = run
        .fail(
            &mut task.task,
            Failure::provider("", "no code", t(11)),
            t(11),
        )
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
    task.log.push(
        refused
            .run
            .fail(&mut task.task, provider_failure(t(12)), t(12))
            .unwrap(),
    );

    // The customer is no executor; and a create is no command on a task.
    let rejection = reject(
        &mut task.task,
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
    let mut fresh = pending_logged();
    let rejection = reject(
        &mut fresh.task,
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

fn handles_belong_to_their_task() -> Vec<Logged> {
    let mut one = pending_logged();
    let new = taskstate::NewTask::new(
        taskstate::IdGenerator::seeded(99).next_id(t(0)),
        NamedKind::new("DomainCreate"),
        taskstate::Owner::new("alice"),
        taskstate::ResourceRef::new("domain", "other.fr"),
    );
    let mut other = Logged::new(Task::create(new, alice(), t(0)).unwrap());
    let run = start(&mut one, t(60), None, t(0));
    let _other_run = start(&mut other, t(60), None, t(0));
    let before = other.task.clone();
    let refused = run
        .complete(&mut other.task, Outcome::new(), t(1))
        .unwrap_err();
    assert_eq!(
        refused.rejection,
        Rejection::WrongTask {
            handle: one.task.id(),
            task: other.task.id()
        }
    );
    assert_eq!(other.task, before);
    one.log.push(
        refused
            .run
            .complete(&mut one.task, Outcome::new(), t(2))
            .unwrap(),
    );
    vec![one]
}

fn corrections_relaunches_and_retries() -> Vec<Logged> {
    use taskstate::{ArgumentSpec, StatusSet};
    let kind = NamedKind::with_rules(
        "DomainCreate",
        Rules::new().edit(StatusSet::of(&[Status::Pending, Status::Failed])),
    )
    .argument(ArgumentSpec::text("authCode", 4, 32));
    let mut task = logged_of(kind);
    // Editable while pending, by this kind's rules.
    accept(
        &mut task,
        Command::set_argument("authCode", "0000"),
        alice(),
        t(1),
    );
    // A customer-origin failure, corrected and relaunched.
    let run = start(&mut task, t(300), None, t(2));
    let failure = Failure::customer(
        "AUTH_CODE_INVALID",
        "the registry refused the auth code",
        t(3),
    )
    .flag("authCode");
    task.log
        .push(run.fail(&mut task.task, failure, t(3)).unwrap());
    accept(
        &mut task,
        Command::set_argument("authCode", "s3cr3t"),
        alice(),
        t(4),
    );
    accept(&mut task, Command::relaunch(), alice(), t(5));
    assert_eq!(task.task.status(), Status::Pending);
    // A provider-origin failure, retried by the system when due.
    let run = start(&mut task, t(300), None, t(6));
    task.log.push(
        run.fail(&mut task.task, provider_failure(t(7)), t(7))
            .unwrap(),
    );
    let at = task.task.next_retry_at().unwrap();
    accept(&mut task, Command::Retry, Actor::System, at);
    let run = start(&mut task, at + chrono::Duration::minutes(5), None, at);
    task.log.push(
        run.complete(
            &mut task.task,
            Outcome::new(),
            at + chrono::Duration::seconds(1),
        )
        .unwrap(),
    );
    vec![task]
}

fn subtasks_progress_and_resolution() -> Vec<Logged> {
    use taskstate::{NewSubtask, SubtaskChange};
    let mut task = pending_logged();
    let run = start(&mut task, t(300), None, t(1));
    let token = run.token();
    let add = Command::AddSubtask {
        token,
        subtask: NewSubtask::new("publish", "publish the zone"),
    };
    accept(&mut task, add, Actor::System, t(2));
    let begin = Command::Subtask {
        token,
        id: 0,
        change: SubtaskChange::Start,
    };
    accept(&mut task, begin, Actor::System, t(3));
    let report = |steps| Command::ReportProgress {
        token,
        steps,
        percent: None,
        current_step: None,
        expected_done_at: Some(t(100)),
    };
    accept(&mut task, report(None), Actor::System, t(4));
    task.log.push(
        run.wait(&mut task.task, Pause::until(t(900)), t(5))
            .unwrap(),
    );
    accept(&mut task, report(None), Actor::System, t(6));
    assert_eq!(task.task.progress().unwrap().expected_done_at, Some(t(100)));
    task.log.push(
        run.fail(&mut task.task, provider_failure(t(7)), t(7))
            .unwrap(),
    );
    assert_eq!(
        task.task.resolution(),
        Some(taskstate::Resolution::Unresolved)
    );
    reject(&mut task.task, Command::Resolve, alice(), t(8));
    accept(&mut task, Command::Resolve, bob(), t(8));
    assert_eq!(
        task.task.resolution(),
        Some(taskstate::Resolution::Resolved)
    );
    vec![task]
}

fn scenarios() -> Vec<Logged> {
    [
        happy_path as fn() -> Vec<Logged>,
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
    for Logged { task, log } in scenarios() {
        task.check_log(&log).unwrap();
        // Every scenario ends with no lease, so no lease state (what
        // heartbeats changed) is left outside the log: the log rebuilds
        // the record exactly.
        assert!(task.lease().is_none());
        assert_eq!(Task::replay(&log).unwrap(), task);
    }
}

/// Records the rows a task's log took, heartbeats included: they are not
/// in the log, but each event counts those since the previous one, taken
/// from the status it leaves; the lease counts those since the last.
fn record(coverage: &mut Coverage, task: &T, log: &[Event<NamedKind>]) {
    coverage.record_history(log);
    for event in log {
        for _ in 0..event.heartbeats {
            coverage.record(event.from, Action::Heartbeat);
        }
    }
    for _ in 0..task.lease().map_or(0, |lease| lease.heartbeats()) {
        coverage.record(Some(task.status()), Action::Heartbeat);
    }
}

#[test]
fn every_row_of_the_table_is_exercised() {
    let mut coverage = Coverage::new();
    for Logged { task, log } in scenarios() {
        record(&mut coverage, &task, &log);
    }
    let missing: Vec<_> = coverage.missing().collect();
    assert!(missing.is_empty(), "rows no scenario takes: {missing:#?}");
}

#[test]
fn replay_rejects_broken_histories() {
    let Logged { task, log } = happy_path().remove(0);
    assert_eq!(
        T::replay(Vec::<Event<NamedKind>>::new()),
        Err(ReplayError::Empty)
    );
    assert_eq!(
        T::replay(&log[1..]),
        Err(ReplayError::NotCreatedFirst {
            action: Action::Start
        })
    );
    // The start missing: the completion counts a heartbeat, which a
    // pending task (no run holds it) cannot have had, so the event after
    // the creation must be version 2.
    let mut gap = log.clone();
    gap.remove(1);
    assert_eq!(
        T::replay(&gap),
        Err(ReplayError::VersionGap {
            expected: 2,
            found: 4
        })
    );
    // The heartbeat the completion counts, forgotten.
    let mut uncounted = log.clone();
    uncounted[2].heartbeats = 0;
    assert_eq!(
        T::replay(&uncounted),
        Err(ReplayError::VersionGap {
            expected: 3,
            found: 4
        })
    );
    let mut twice = log.clone();
    twice[1] = taskstate::Event {
        version: 2,
        ..log[0].clone()
    };
    assert_eq!(
        T::replay(&twice),
        Err(ReplayError::CreatedTwice { version: 2 })
    );
    let mut wrong_to = log.clone();
    wrong_to[2].to = Status::Failed;
    assert!(matches!(
        T::replay(&wrong_to),
        Err(ReplayError::Inconsistent { version: 4, .. })
    ));
    let mut wrong_role = log.clone();
    wrong_role[1].actor = alice();
    assert!(matches!(
        T::replay(&wrong_role),
        Err(ReplayError::Illegal {
            version: 2,
            rejection: Rejection::RoleNotAllowed { .. }
        })
    ));

    // A record edited behind its log's back is found out against the log,
    // naming the field; so is a log that was edited.
    let mut json = serde_json::to_value(&task).unwrap();
    json["state"]["comment"] = "edited".into();
    let edited = serde_json::from_value::<T>(json).unwrap();
    let err = edited.check_log(&log).unwrap_err();
    assert_eq!(err, ReplayError::Diverged { field: "comment" });
    assert_eq!(
        err.to_string(),
        "the record's comment differs from what its log rebuilds"
    );
    let mut json = serde_json::to_value(&log).unwrap();
    json[1]["to"] = "failed".into();
    let edited = serde_json::from_value::<Vec<Event<NamedKind>>>(json).unwrap();
    let err = T::replay(&edited).unwrap_err();
    assert!(err.to_string().starts_with("event 2 records"), "{err}");
    // A record whose state no command could make is refused when read.
    let mut json = serde_json::to_value(&task).unwrap();
    json["state"]["status"] = "pending".into();
    let err = serde_json::from_value::<T>(json).unwrap_err();
    assert!(err.to_string().starts_with("invalid task state"), "{err}");
}

#[test]
fn tokens_of_a_stale_run_are_refused_by_the_runtime_api_too() {
    let mut task = pending();
    let first = task.start(t(60), None, t(0)).unwrap().0.token();
    crate::common::accept(&mut task, Command::MarkStalled, Actor::System, t(61));
    crate::common::accept(&mut task, Command::Requeue { todo_at: None }, bob(), t(62));
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
    assert_send_sync::<taskstate::Refused>();
}
