//! Subtasks, progress and aggregation: the Dyn five-step task
//! and its cancel, progress reported by an executor, fail-fast and
//! settle-all aggregation, optional subtasks as warnings, nesting, the
//! subtask table's refusals, retries that resume where they failed, the
//! resolution of a failure, and a property test of the O(1) tallies
//! against a naive recount.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use taskstate::SubtaskAction;
use taskstate::{
    Action, Actor, Aggregate, AggregatePolicy, CancelRules, Command, Failure, IdGenerator,
    LeaseToken, NamedKind, NewSubtask, NewTask, Outcome, Owner, Progress, Rejection, Resolution,
    ResourceRef, Role, RuleName, Rules, Status, Subtask, SubtaskChange, SubtaskStatus, Task,
};

use common::{Logged, accept, alice, bob, logged_of, provider_failure, t};

// ---------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------

/// A NewTask of `kind` owned by alice, with `subtasks` in order.
fn new_task(kind: NamedKind, subtasks: Vec<NewSubtask>) -> NewTask<NamedKind> {
    let mut new = NewTask::new(
        IdGenerator::seeded(4).next_id(t(0)),
        kind,
        Owner::new("alice"),
        ResourceRef::new("zone", "example.com"),
    );
    for subtask in subtasks {
        new = new.subtask(subtask);
    }
    new
}

/// The tests read the record through its log: `task.status()` on a
/// [`Logged`] is its record's. Commands go through [`Logged::apply`] (or
/// the helpers below), which logs their events, so that every test can
/// replay the log it kept.
impl std::ops::Deref for Logged {
    type Target = Task<NamedKind>;

    fn deref(&self) -> &Task<NamedKind> {
        &self.task
    }
}

/// Applies a command that must be rejected, checks that neither the
/// record nor its log changed, and returns the rejection.
fn reject(
    task: &mut Logged,
    command: Command<NamedKind>,
    actor: Actor,
    now: DateTime<Utc>,
) -> Rejection {
    let before = task.clone();
    let rejection = task
        .apply(command, actor, now)
        .map(|event| event.map(|e| e.version))
        .expect_err("command should have been rejected");
    assert_eq!(*task, before, "a rejected command changed the task");
    rejection
}

/// The log rebuilds the record exactly.
fn assert_replays(task: &Logged) {
    assert_eq!(Task::replay(&task.log).unwrap(), task.task);
}

/// A pending task of `kind` with `subtasks`, created by alice at `t(0)`,
/// with its log.
fn with_subtasks(kind: NamedKind, subtasks: Vec<NewSubtask>) -> Logged {
    Logged::new(Task::create(new_task(kind, subtasks), alice(), t(0)).unwrap())
}

/// Required top-level subtasks named `names`.
fn steps(names: &[&str]) -> Vec<NewSubtask> {
    names
        .iter()
        .map(|name| NewSubtask::new(*name, format!("the {name} step")))
        .collect()
}

/// Starts the task at `now` with a long lease, logs the start and returns
/// the run's token.
fn start(task: &mut Logged, now: DateTime<Utc>) -> LeaseToken {
    let (run, started) = task
        .task
        .start(
            now + chrono::Duration::days(30),
            Some("worker-1".into()),
            now,
        )
        .unwrap();
    task.push(started);
    run.token()
}

fn subtask(token: LeaseToken, id: u32, change: SubtaskChange) -> Command<NamedKind> {
    Command::Subtask { token, id, change }
}

fn fail_change(code: &str, now: DateTime<Utc>) -> SubtaskChange {
    SubtaskChange::Fail {
        errors: vec![Failure::provider(code, "the subtask failed", now).error_type("ERROR")],
    }
}

fn complete(token: LeaseToken) -> Command<NamedKind> {
    Command::Complete {
        token,
        outcome: Box::new(Outcome::new()),
    }
}

/// Applies `change` to subtask `id` as the executor; it must be accepted.
fn move_subtask(
    task: &mut Logged,
    token: LeaseToken,
    id: u32,
    change: SubtaskChange,
    now: DateTime<Utc>,
) {
    accept(task, subtask(token, id, change), Actor::System, now);
}

/// Starts then succeeds subtask `id`.
fn run_subtask(task: &mut Logged, token: LeaseToken, id: u32, now: DateTime<Utc>) {
    move_subtask(task, token, id, SubtaskChange::Start, now);
    move_subtask(task, token, id, SubtaskChange::Succeed, now);
}

fn status_of(task: &Task<NamedKind>, id: u32) -> SubtaskStatus {
    task.subtasks().get(id).unwrap().status
}

fn statuses(task: &Task<NamedKind>) -> Vec<SubtaskStatus> {
    task.subtasks().iter().map(|s| s.status).collect()
}

fn invalid_field(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

fn policy_kind(policy: AggregatePolicy) -> NamedKind {
    NamedKind::with_rules("HostCommission", Rules::new().subtasks(policy))
}

// ---------------------------------------------------------------------
// 1. Dyn: five steps, and a cancel while pending
// ---------------------------------------------------------------------

const DYN_STEPS: [&str; 5] = [
    "validate_records",
    "lock_zone",
    "publish_zone",
    "notify_secondaries",
    "unlock_zone",
];

fn dyn_kind() -> NamedKind {
    NamedKind::with_rules(
        "DnsZonePublish",
        Rules::new().cancel(CancelRules::PENDING_ONLY),
    )
}

#[test]
fn a_dyn_task_with_five_steps_reports_step_count_as_it_runs() {
    let mut task = with_subtasks(dyn_kind(), steps(&DYN_STEPS));
    assert_eq!(task.subtasks().len(), 5);
    assert_eq!(
        task.progress(),
        Some(Progress {
            step_count: 0,
            total_steps: 5,
            reported_percent: None,
            current_step: None,
            expected_done_at: None,
        })
    );
    assert_eq!(
        task.subtasks().aggregate(AggregatePolicy::FailFast),
        Aggregate::Pending
    );

    let token = start(&mut task, t(10));
    for (i, name) in DYN_STEPS.iter().enumerate() {
        let id = u32::try_from(i).unwrap();
        let now = t(100 + 10 * i64::from(id));
        move_subtask(&mut task, token, id, SubtaskChange::Start, now);
        let progress = task.progress().unwrap();
        assert_eq!((progress.step_count, progress.total_steps), (id, 5));
        assert_eq!(progress.current_step.as_deref(), Some(*name));
        assert_eq!(
            task.subtasks().aggregate(AggregatePolicy::FailFast),
            Aggregate::Running
        );
        move_subtask(&mut task, token, id, SubtaskChange::Succeed, now);
        let progress = task.progress().unwrap();
        assert_eq!((progress.step_count, progress.total_steps), (id + 1, 5));
        assert_eq!(progress.current_step, None, "no step is running");
        assert_eq!(
            progress.percent().whole(),
            u8::try_from((id + 1) * 20).unwrap()
        );
        let started = task.subtasks().get(id).unwrap();
        assert_eq!(
            (started.started_at, started.finished_at),
            (Some(now), Some(now))
        );
    }
    assert_eq!(
        task.subtasks().aggregate(AggregatePolicy::FailFast),
        Aggregate::Succeeded
    );
    accept(&mut task, complete(token), Actor::System, t(200));
    assert_eq!(task.status(), Status::Done);
    assert!(!task.completed_with_warnings());
    assert_eq!(task.progress().unwrap().step_count, 5);
    assert_replays(&task);
}

#[test]
fn a_dyn_task_is_cancelled_while_pending_and_not_while_running() {
    let created = with_subtasks(dyn_kind(), steps(&DYN_STEPS));

    // Pending: its owner cancels it; the steps never ran.
    let mut task = created.clone();
    assert!(task.can_cancel(&alice(), t(5)));
    accept(
        &mut task,
        Command::Cancel {
            reason: Some("changed my mind".into()),
        },
        alice(),
        t(5),
    );
    assert_eq!(task.status(), Status::Cancelled);
    assert!(
        task.subtasks()
            .iter()
            .all(|s| s.status == SubtaskStatus::Pending)
    );
    assert_eq!(task.progress().unwrap().step_count, 0);

    // Running: Dyn's rule refuses the cancel, even as a request.
    let mut task = created;
    let token = start(&mut task, t(10));
    run_subtask(&mut task, token, 0, t(20));
    move_subtask(&mut task, token, 1, SubtaskChange::Start, t(30));
    assert!(!task.can_cancel(&alice(), t(40)));
    let refused = reject(&mut task, Command::Cancel { reason: None }, alice(), t(40));
    assert!(
        matches!(
            refused,
            Rejection::RefusedByRule {
                rule: RuleName::Cancel,
                action: Action::Cancel,
                status: Status::Running,
                role: Role::Customer,
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(task.cancel_requested_at(), None);

    // The run stalls and is requeued: pending again, the interrupted step
    // back to pending, the finished one kept; now the owner may cancel.
    let expired = task.lease().unwrap().expires_at() + chrono::Duration::seconds(1);
    accept(&mut task, Command::MarkStalled, Actor::System, expired);
    accept(
        &mut task,
        Command::Requeue { todo_at: None },
        Actor::System,
        expired,
    );
    assert_eq!(task.status(), Status::Pending);
    assert_eq!(status_of(&task, 0), SubtaskStatus::Succeeded);
    assert_eq!(status_of(&task, 1), SubtaskStatus::Pending);
    assert_eq!(task.subtasks().get(1).unwrap().started_at, None);
    accept(
        &mut task,
        Command::Cancel { reason: None },
        alice(),
        expired,
    );
    assert_eq!(task.status(), Status::Cancelled);
}

// ---------------------------------------------------------------------
// 2. Progress reported by the executor
// ---------------------------------------------------------------------

#[test]
fn an_executor_reports_the_progress_of_a_task_without_subtasks() {
    let mut task = logged_of(NamedKind::new("DomainTransfer"));
    assert_eq!(task.progress(), None, "nothing reported yet");
    let token = start(&mut task, t(10));
    accept(
        &mut task,
        Command::ReportProgress {
            token,
            steps: Some((2, 5)),
            percent: None,
            current_step: Some("waiting for the losing registrar".into()),
            expected_done_at: Some(t(3600)),
        },
        Actor::System,
        t(20),
    );
    let progress = task.progress().unwrap();
    assert_eq!(
        progress,
        Progress {
            step_count: 2,
            total_steps: 5,
            reported_percent: None,
            current_step: Some("waiting for the losing registrar".into()),
            expected_done_at: Some(t(3600)),
        }
    );
    assert_eq!(progress.percent().whole(), 40);

    // More steps done than there are: refused, nothing changes.
    let refused = reject(
        &mut task,
        Command::ReportProgress {
            token,
            steps: Some((6, 5)),
            percent: None,
            current_step: None,
            expected_done_at: None,
        },
        Actor::System,
        t(30),
    );
    assert_eq!(invalid_field(&refused), "steps");

    // A report of the steps alone keeps the current step and the finish.
    accept(
        &mut task,
        Command::ReportProgress {
            token,
            steps: Some((5, 5)),
            percent: None,
            current_step: None,
            expected_done_at: None,
        },
        Actor::System,
        t(40),
    );
    let progress = task.progress().unwrap();
    assert_eq!((progress.step_count, progress.total_steps), (5, 5));
    assert_eq!(progress.percent().whole(), 100);
    assert_eq!(progress.expected_done_at, Some(t(3600)));
    assert!(progress.current_step.is_some());
    assert_replays(&task);
}

#[test]
fn a_task_with_subtasks_refuses_reported_steps_but_keeps_an_expected_finish() {
    let mut task = with_subtasks(NamedKind::new("HostCommission"), steps(&["a", "b", "c"]));
    let token = start(&mut task, t(10));
    run_subtask(&mut task, token, 0, t(20));
    let refused = reject(
        &mut task,
        Command::ReportProgress {
            token,
            steps: Some((1, 3)),
            percent: None,
            current_step: None,
            expected_done_at: Some(t(900)),
        },
        Actor::System,
        t(30),
    );
    assert_eq!(invalid_field(&refused), "steps");
    accept(
        &mut task,
        Command::ReportProgress {
            token,
            steps: None,
            percent: None,
            current_step: Some("ignored: the subtasks say".into()),
            expected_done_at: Some(t(900)),
        },
        Actor::System,
        t(30),
    );
    move_subtask(&mut task, token, 1, SubtaskChange::Start, t(40));
    assert_eq!(
        task.progress(),
        Some(Progress {
            step_count: 1,
            total_steps: 3,
            reported_percent: None,
            current_step: Some("b".into()),
            expected_done_at: Some(t(900)),
        })
    );
    // Two at once: the current step is the one started last.
    move_subtask(&mut task, token, 2, SubtaskChange::Start, t(50));
    assert_eq!(task.progress().unwrap().current_step.as_deref(), Some("c"));
    move_subtask(&mut task, token, 2, SubtaskChange::Succeed, t(60));
    assert_eq!(task.progress().unwrap().current_step.as_deref(), Some("b"));
    assert_eq!(task.progress().unwrap().step_count, 2);
}

// ---------------------------------------------------------------------
// 3. Fail-fast and settle-all
// ---------------------------------------------------------------------

#[test]
fn fail_fast_stops_at_the_first_failed_required_subtask() {
    let mut task = with_subtasks(
        policy_kind(AggregatePolicy::FailFast),
        steps(&["validate", "maintenance", "dns"]),
    );
    let token = start(&mut task, t(10));
    move_subtask(&mut task, token, 0, SubtaskChange::Start, t(20));
    move_subtask(
        &mut task,
        token,
        0,
        fail_change("VIB_MISMATCH", t(30)),
        t(30),
    );
    assert_eq!(
        task.subtasks().aggregate(AggregatePolicy::FailFast),
        Aggregate::Failed
    );
    let errors = &task.subtasks().get(0).unwrap().errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "VIB_MISMATCH");

    for id in [1, 2] {
        let refused = reject(
            &mut task,
            subtask(token, id, SubtaskChange::Start),
            Actor::System,
            t(40),
        );
        assert!(
            matches!(
                refused,
                Rejection::RefusedByRule {
                    rule: RuleName::Subtasks,
                    action: Action::Subtask,
                    status: Status::Running,
                    ..
                }
            ),
            "{refused:?}"
        );
    }
    assert_eq!(
        statuses(&task),
        [
            SubtaskStatus::Failed,
            SubtaskStatus::Pending,
            SubtaskStatus::Pending
        ]
    );
    let refused = reject(&mut task, complete(token), Actor::System, t(50));
    assert_eq!(
        refused,
        Rejection::SubtasksUnsatisfied {
            subtask: None,
            remaining: 3
        }
    );
    accept(
        &mut task,
        Command::Fail {
            token: Some(token),
            failure: Box::new(provider_failure(t(60))),
        },
        Actor::System,
        t(60),
    );
    assert_eq!(task.status(), Status::Failed);
}

#[test]
fn fail_fast_treats_a_cancelled_required_subtask_as_a_failure() {
    let mut task = with_subtasks(
        policy_kind(AggregatePolicy::FailFast),
        steps(&["validate", "maintenance"]),
    );
    let token = start(&mut task, t(10));
    move_subtask(&mut task, token, 0, SubtaskChange::Cancel, t(20));
    assert_eq!(
        task.subtasks().aggregate(AggregatePolicy::FailFast),
        Aggregate::Failed
    );
    let refused = reject(
        &mut task,
        subtask(token, 1, SubtaskChange::Start),
        Actor::System,
        t(30),
    );
    assert!(matches!(
        refused,
        Rejection::RefusedByRule {
            rule: RuleName::Subtasks,
            ..
        }
    ));
}

#[test]
fn settle_all_lets_the_others_run_and_fails_at_the_end() {
    let policy = AggregatePolicy::SettleAll;
    let mut task = with_subtasks(
        policy_kind(policy),
        steps(&["validate", "maintenance", "dns"]),
    );
    let token = start(&mut task, t(10));
    move_subtask(&mut task, token, 0, SubtaskChange::Start, t(20));
    move_subtask(
        &mut task,
        token,
        0,
        fail_change("VIB_MISMATCH", t(30)),
        t(30),
    );
    assert_eq!(task.subtasks().aggregate(policy), Aggregate::Running);
    // The same tally says Failed under fail-fast.
    assert_eq!(
        task.subtasks().aggregate(AggregatePolicy::FailFast),
        Aggregate::Failed
    );
    run_subtask(&mut task, token, 1, t(40));
    assert_eq!(task.subtasks().aggregate(policy), Aggregate::Running);
    move_subtask(&mut task, token, 2, SubtaskChange::Start, t(50));
    assert_eq!(task.subtasks().aggregate(policy), Aggregate::Running);
    move_subtask(&mut task, token, 2, SubtaskChange::Succeed, t(60));
    assert_eq!(task.subtasks().aggregate(policy), Aggregate::Failed);
    let refused = reject(&mut task, complete(token), Actor::System, t(70));
    assert_eq!(
        refused,
        Rejection::SubtasksUnsatisfied {
            subtask: None,
            remaining: 1
        }
    );
}

// ---------------------------------------------------------------------
// 4. Optional subtasks
// ---------------------------------------------------------------------

#[test]
fn an_optional_subtask_that_fails_is_a_warning_and_the_task_completes_with_warnings() {
    let policy = AggregatePolicy::FailFast;
    let mut task = with_subtasks(
        policy_kind(policy),
        vec![
            NewSubtask::new("validate", "validate the host"),
            NewSubtask::new("ntp", "fetch the NTP servers").optional(),
            NewSubtask::new("dns", "fetch the DNS servers"),
        ],
    );
    let token = start(&mut task, t(10));
    run_subtask(&mut task, token, 0, t(20));
    move_subtask(&mut task, token, 1, SubtaskChange::Start, t(30));
    move_subtask(
        &mut task,
        token,
        1,
        fail_change("NTP_UNREACHABLE", t(40)),
        t(40),
    );
    assert_eq!(task.warnings().len(), 1);
    assert_eq!(task.warnings()[0].code, "optional_subtask_failed");
    assert_eq!(task.subtasks().aggregate(policy), Aggregate::Running);
    // Not a failure: fail-fast lets the next required one start.
    run_subtask(&mut task, token, 2, t(50));
    assert_eq!(
        task.subtasks().aggregate(policy),
        Aggregate::SucceededWithWarnings
    );
    assert_eq!(
        task.subtasks().aggregate(AggregatePolicy::SettleAll),
        Aggregate::SucceededWithWarnings
    );
    accept(&mut task, complete(token), Actor::System, t(60));
    assert_eq!(task.status(), Status::Done);
    assert!(task.completed_with_warnings());
    assert_eq!(task.progress().unwrap().step_count, 2, "failed is not done");
    assert_replays(&task);
}

/// VMware's `COMPLETED_WITH_WARNING` should mean the same thing whether it
/// is read from the aggregate or from the finished task.
#[test]
fn an_optional_subtask_cancelled_gives_the_same_answer_from_aggregate_and_task() {
    let policy = AggregatePolicy::FailFast;
    let mut task = with_subtasks(
        policy_kind(policy),
        vec![
            NewSubtask::new("validate", "validate the host"),
            NewSubtask::new("ntp", "fetch the NTP servers").optional(),
        ],
    );
    let token = start(&mut task, t(10));
    run_subtask(&mut task, token, 0, t(20));
    move_subtask(&mut task, token, 1, SubtaskChange::Start, t(30));
    move_subtask(&mut task, token, 1, SubtaskChange::Cancel, t(40));
    accept(&mut task, complete(token), Actor::System, t(50));
    assert_eq!(
        task.completed_with_warnings(),
        task.subtasks().aggregate(policy) == Aggregate::SucceededWithWarnings
    );
}

// ---------------------------------------------------------------------
// 5. Nesting
// ---------------------------------------------------------------------

fn nested() -> Logged {
    with_subtasks(
        NamedKind::new("HostCommission"),
        vec![
            NewSubtask::new("commission", "commission the host"),
            NewSubtask::new("bundles", "validate the installed bundles").under(0),
            NewSubtask::new("telemetry", "enable telemetry")
                .under(0)
                .optional(),
        ],
    )
}

#[test]
fn a_subtask_cannot_succeed_before_its_required_children() {
    let mut task = nested();
    assert_eq!(task.subtasks().unsatisfied_children(0), 1);
    assert_eq!(task.subtasks().children(Some(0)).count(), 2);
    let token = start(&mut task, t(10));
    move_subtask(&mut task, token, 0, SubtaskChange::Start, t(20));
    move_subtask(&mut task, token, 1, SubtaskChange::Start, t(30));
    let refused = reject(
        &mut task,
        subtask(token, 0, SubtaskChange::Succeed),
        Actor::System,
        t(40),
    );
    assert_eq!(
        refused,
        Rejection::SubtasksUnsatisfied {
            subtask: Some(0),
            remaining: 1
        }
    );
    move_subtask(&mut task, token, 1, SubtaskChange::Succeed, t(50));
    assert_eq!(task.subtasks().unsatisfied_children(0), 0);
    // The optional child is still pending: it does not block its parent.
    move_subtask(&mut task, token, 0, SubtaskChange::Succeed, t(60));
    assert_eq!(status_of(&task, 0), SubtaskStatus::Succeeded);
    assert_eq!(status_of(&task, 2), SubtaskStatus::Pending);
    accept(&mut task, complete(token), Actor::System, t(70));
    assert_eq!(task.status(), Status::Done);
}

#[test]
fn a_skipped_or_inapplicable_child_lets_its_parent_succeed() {
    for change in [SubtaskChange::Skip, SubtaskChange::MarkNotApplicable] {
        let mut task = nested();
        let token = start(&mut task, t(10));
        move_subtask(&mut task, token, 0, SubtaskChange::Start, t(20));
        move_subtask(&mut task, token, 1, change.clone(), t(30));
        assert_eq!(task.subtasks().unsatisfied_children(0), 0, "{change:?}");
        move_subtask(&mut task, token, 0, SubtaskChange::Succeed, t(40));
    }
    // A failed child keeps blocking, and is counted.
    let mut task = nested();
    let token = start(&mut task, t(10));
    move_subtask(&mut task, token, 0, SubtaskChange::Start, t(20));
    move_subtask(&mut task, token, 1, SubtaskChange::Start, t(30));
    move_subtask(&mut task, token, 1, fail_change("BUNDLE", t(40)), t(40));
    assert_eq!(task.subtasks().unsatisfied_children(0), 1);
    assert!(matches!(
        reject(
            &mut task,
            subtask(token, 0, SubtaskChange::Succeed),
            Actor::System,
            t(50)
        ),
        Rejection::SubtasksUnsatisfied {
            subtask: Some(0),
            remaining: 1
        }
    ));
}

// ---------------------------------------------------------------------
// 6. Illegal subtask moves and invalid declarations
// ---------------------------------------------------------------------

#[test]
fn illegal_subtask_moves_and_invalid_subtasks_are_refused() {
    let mut task = with_subtasks(NamedKind::new("HostCommission"), steps(&["a", "b", "c"]));
    // Not running, and no run holds it: the token is refused before the
    // table is consulted.
    let refused = reject(
        &mut task,
        subtask(LeaseToken::new(1), 0, SubtaskChange::Start),
        Actor::System,
        t(5),
    );
    assert_eq!(
        refused,
        Rejection::StaleLease {
            action: Action::Subtask,
            presented: Some(LeaseToken::new(1)),
            current: None,
        }
    );
    let token = start(&mut task, t(10));
    // Not running, with the current run's token: the task's table refuses
    // any subtask move.
    accept(
        &mut task,
        Command::Wait {
            token,
            until: t(1000),
            check_at: None,
            reason: None,
        },
        Actor::System,
        t(11),
    );
    let refused = reject(
        &mut task,
        subtask(token, 0, SubtaskChange::Start),
        Actor::System,
        t(12),
    );
    assert!(
        matches!(
            refused,
            Rejection::IllegalMove {
                status: Status::Waiting,
                action: Action::Subtask,
                ..
            }
        ),
        "{refused:?}"
    );
    accept(
        &mut task,
        Command::Resume {
            token,
            lease_until: t(10) + chrono::Duration::days(30),
        },
        Actor::System,
        t(13),
    );
    // A stale token.
    let stale = LeaseToken::new(token.get() + 7);
    assert!(matches!(
        reject(
            &mut task,
            subtask(stale, 0, SubtaskChange::Start),
            Actor::System,
            t(15)
        ),
        Rejection::StaleLease { .. }
    ));

    assert_eq!(
        reject(
            &mut task,
            subtask(token, 0, SubtaskChange::Succeed),
            Actor::System,
            t(20)
        ),
        Rejection::IllegalSubtaskMove {
            subtask: 0,
            status: SubtaskStatus::Pending,
            action: SubtaskAction::Succeed,
        }
    );
    run_subtask(&mut task, token, 0, t(30));
    for (change, action) in [
        (SubtaskChange::Start, SubtaskAction::Start),
        (SubtaskChange::Cancel, SubtaskAction::Cancel),
        (SubtaskChange::Skip, SubtaskAction::Skip),
    ] {
        assert_eq!(
            reject(&mut task, subtask(token, 0, change), Actor::System, t(40)),
            Rejection::IllegalSubtaskMove {
                subtask: 0,
                status: SubtaskStatus::Succeeded,
                action,
            }
        );
    }

    // An unknown id.
    let refused = reject(
        &mut task,
        subtask(token, 3, SubtaskChange::Start),
        Actor::System,
        t(50),
    );
    assert_eq!(invalid_field(&refused), "id");

    // A failure must say what went wrong.
    move_subtask(&mut task, token, 1, SubtaskChange::Start, t(60));
    let refused = reject(
        &mut task,
        subtask(token, 1, SubtaskChange::Fail { errors: Vec::new() }),
        Actor::System,
        t(70),
    );
    assert_eq!(invalid_field(&refused), "change.errors");
    assert_eq!(status_of(&task, 1), SubtaskStatus::Running);

    // Added subtasks name a parent declared before them.
    for parent in [3, 4, 99] {
        let refused = reject(
            &mut task,
            Command::AddSubtask {
                token,
                subtask: NewSubtask::new("late", "added late").under(parent),
            },
            Actor::System,
            t(80),
        );
        assert_eq!(invalid_field(&refused), "subtask.parent", "parent {parent}");
    }
    let refused = reject(
        &mut task,
        Command::AddSubtask {
            token,
            subtask: NewSubtask::new("", "no name"),
        },
        Actor::System,
        t(80),
    );
    assert_eq!(invalid_field(&refused), "subtask.name");
    accept(
        &mut task,
        Command::AddSubtask {
            token,
            subtask: NewSubtask::new("late", "added late").under(1),
        },
        Actor::System,
        t(90),
    );
    let added = task.subtasks().get(3).unwrap();
    assert_eq!(
        (added.id, added.parent, added.status),
        (3, Some(1), SubtaskStatus::Pending)
    );
    assert_eq!(task.subtasks().unsatisfied_children(1), 1);
    assert_eq!(task.progress().unwrap().total_steps, 4);

    // At creation too.
    for (position, parent) in [(0usize, 0u32), (1, 1), (1, 2), (2, 5)] {
        let mut subtasks = steps(&["a", "b", "c"]);
        subtasks.truncate(position);
        subtasks.push(NewSubtask::new("bad", "bad parent").under(parent));
        let refused = Task::create(
            new_task(NamedKind::new("HostCommission"), subtasks),
            alice(),
            t(0),
        )
        .unwrap_err();
        assert_eq!(
            invalid_field(&refused),
            "subtask.parent",
            "{position} under {parent}"
        );
    }
    let fine = vec![
        NewSubtask::new("a", "top"),
        NewSubtask::new("b", "under a").under(0),
        NewSubtask::new("c", "under b").under(1),
    ];
    assert!(
        Task::create(
            new_task(NamedKind::new("HostCommission"), fine),
            alice(),
            t(0)
        )
        .is_ok()
    );
}

// ---------------------------------------------------------------------
// 7. Retry resumes where it failed; resolution
// ---------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Reopen {
    /// A customer-origin failure, relaunched by its owner.
    CustomerRelaunch,
    /// A provider-origin failure, retried by the system on schedule.
    SystemRetry,
}

#[test]
fn a_retry_re_runs_only_the_failed_and_not_yet_run_subtasks() {
    for reopen in [Reopen::CustomerRelaunch, Reopen::SystemRetry] {
        let mut task = with_subtasks(
            NamedKind::new("HostCommission"),
            steps(&["validate_bundles", "maintenance_mode", "dns_ntp"]),
        );
        assert_eq!(task.resolution(), None);
        let token = start(&mut task, t(10));
        run_subtask(&mut task, token, 0, t(20));
        move_subtask(&mut task, token, 1, SubtaskChange::Start, t(30));
        move_subtask(
            &mut task,
            token,
            1,
            fail_change("HOST_IN_MAINTENANCE", t(40)),
            t(40),
        );
        assert_eq!(
            task.resolution(),
            None,
            "{reopen:?}: the task has not failed"
        );
        let failure = match reopen {
            Reopen::CustomerRelaunch => Failure::customer(
                "HOST_IN_MAINTENANCE",
                "take the host out of maintenance",
                t(50),
            ),
            Reopen::SystemRetry => provider_failure(t(50)),
        };
        accept(
            &mut task,
            Command::Fail {
                token: Some(token),
                failure: Box::new(failure),
            },
            Actor::System,
            t(50),
        );
        assert_eq!(task.status(), Status::Failed);
        assert_eq!(
            task.resolution(),
            Some(Resolution::Unresolved),
            "{reopen:?}"
        );

        let reopened_at = match reopen {
            Reopen::CustomerRelaunch => {
                accept(&mut task, Command::relaunch(), alice(), t(60));
                t(60)
            }
            Reopen::SystemRetry => {
                let at = task.next_retry_at().unwrap();
                accept(&mut task, Command::Retry, Actor::System, at);
                at
            }
        };
        assert_eq!(task.status(), Status::Pending);
        assert_eq!(
            task.resolution(),
            Some(Resolution::Unresolved),
            "{reopen:?}: no later run has succeeded yet"
        );
        let kept = task.subtasks().get(0).unwrap();
        assert_eq!(kept.status, SubtaskStatus::Succeeded, "{reopen:?}");
        assert_eq!(
            (kept.started_at, kept.finished_at),
            (Some(t(20)), Some(t(20)))
        );
        for id in [1, 2] {
            let again: &Subtask = task.subtasks().get(id).unwrap();
            assert_eq!(again.status, SubtaskStatus::Pending, "{reopen:?} {id}");
            assert_eq!((again.started_at, again.finished_at), (None, None));
        }
        assert_eq!(task.progress().unwrap().step_count, 1);

        // The next run: the first is done already; the others run.
        let later = reopened_at + chrono::Duration::seconds(10);
        let token = start(&mut task, later);
        assert!(matches!(
            reject(
                &mut task,
                subtask(token, 0, SubtaskChange::Start),
                Actor::System,
                later
            ),
            Rejection::IllegalSubtaskMove {
                status: SubtaskStatus::Succeeded,
                ..
            }
        ));
        run_subtask(&mut task, token, 1, later);
        run_subtask(&mut task, token, 2, later);
        accept(&mut task, complete(token), Actor::System, later);
        assert_eq!(task.status(), Status::Done);
        assert_eq!(task.resolution(), Some(Resolution::Resolved), "{reopen:?}");
        let kept = task.subtasks().get(0).unwrap();
        assert_eq!(
            (kept.started_at, kept.finished_at),
            (Some(t(20)), Some(t(20)))
        );
        assert_eq!(task.runs(), 2);
        assert_replays(&task);
    }
}

#[test]
fn an_operator_resolves_a_failed_task_and_a_customer_may_not() {
    let mut task = with_subtasks(NamedKind::new("HostCommission"), steps(&["a"]));
    let token = start(&mut task, t(10));
    accept(
        &mut task,
        Command::Fail {
            token: Some(token),
            failure: Box::new(provider_failure(t(20))),
        },
        Actor::System,
        t(20),
    );
    assert_eq!(task.resolution(), Some(Resolution::Unresolved));
    let refused = reject(&mut task, Command::Resolve, alice(), t(30));
    assert!(
        matches!(
            refused,
            Rejection::RoleNotAllowed {
                status: Status::Failed,
                action: Action::Resolve,
                role: Role::Customer,
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(matches!(
        reject(&mut task, Command::Resolve, Actor::System, t(30)),
        Rejection::RoleNotAllowed { .. }
    ));
    accept(&mut task, Command::Resolve, bob(), t(40));
    assert_eq!(task.status(), Status::Failed);
    assert_eq!(task.resolution(), Some(Resolution::Resolved));
    assert_replays(&task);
    // Only a failed task is resolved.
    let mut done = with_subtasks(NamedKind::new("HostCommission"), Vec::new());
    let token = start(&mut done, t(10));
    accept(&mut done, complete(token), Actor::System, t(20));
    assert_eq!(done.resolution(), None);
    assert!(matches!(
        reject(&mut done, Command::Resolve, bob(), t(30)),
        Rejection::IllegalMove { .. }
    ));
}

// ---------------------------------------------------------------------
// 8. Property: the O(1) tallies agree with a naive recount
// ---------------------------------------------------------------------

/// What the subtasks say of the task, recomputed from the list by the
/// documented rules: a required subtask failed or cancelled fails the task
/// at once under fail-fast and once every subtask settled under
/// settle-all; once every subtask settled with none of the required ones
/// broken, it succeeded (with warnings if an optional one failed or was
/// cancelled); before that it is pending while nothing has moved, running
/// otherwise. No subtasks at all: nothing to do, succeeded.
fn naive_aggregate(all: &[Subtask], policy: AggregatePolicy) -> Aggregate {
    let broken = |s: &Subtask| matches!(s.status, SubtaskStatus::Failed | SubtaskStatus::Cancelled);
    let settled =
        |s: &Subtask| !matches!(s.status, SubtaskStatus::Pending | SubtaskStatus::Running);
    let required_broken = all.iter().any(|s| !s.optional && broken(s));
    let all_settled = all.iter().all(settled);
    if required_broken && (policy == AggregatePolicy::FailFast || all_settled) {
        Aggregate::Failed
    } else if all_settled {
        if all.iter().any(|s| s.optional && broken(s)) {
            Aggregate::SucceededWithWarnings
        } else {
            Aggregate::Succeeded
        }
    } else if all.iter().all(|s| s.status == SubtaskStatus::Pending) {
        Aggregate::Pending
    } else {
        Aggregate::Running
    }
}

fn satisfied(status: SubtaskStatus) -> bool {
    matches!(
        status,
        SubtaskStatus::Succeeded | SubtaskStatus::Skipped | SubtaskStatus::NotApplicable
    )
}

/// Where the subtask table leads, written out independently of
/// `SUBTASK_TRANSITIONS`.
fn expected_target(from: SubtaskStatus, change: &SubtaskChange) -> Option<SubtaskStatus> {
    use SubtaskStatus as S;
    match (from, change) {
        (S::Pending, SubtaskChange::Start) => Some(S::Running),
        (S::Pending, SubtaskChange::Skip) => Some(S::Skipped),
        (S::Pending, SubtaskChange::MarkNotApplicable) => Some(S::NotApplicable),
        (S::Pending | S::Running, SubtaskChange::Cancel) => Some(S::Cancelled),
        (S::Running, SubtaskChange::Succeed) => Some(S::Succeeded),
        (S::Running, SubtaskChange::Fail { .. }) => Some(S::Failed),
        _ => None,
    }
}

fn unsatisfied_children_recount(all: &[Subtask]) -> Vec<u32> {
    let mut counts = vec![0u32; all.len()];
    for s in all {
        if !s.optional
            && !satisfied(s.status)
            && let Some(parent) = s.parent
        {
            counts[parent as usize] += 1;
        }
    }
    counts
}

/// Checks every invariant of the subtasks against a recount of the list.
fn check_invariants(task: &Task<NamedKind>) {
    let subs = task.subtasks();
    let all: Vec<Subtask> = subs.iter().cloned().collect();
    let all = all.as_slice();
    assert_eq!(subs.len(), all.len());
    for (i, s) in all.iter().enumerate() {
        assert_eq!(subs.get(u32::try_from(i).unwrap()), Some(s), "get({i})");
    }
    assert_eq!(subs.get(u32::try_from(all.len()).unwrap()), None);
    for policy in [AggregatePolicy::FailFast, AggregatePolicy::SettleAll] {
        assert_eq!(
            subs.aggregate(policy),
            naive_aggregate(all, policy),
            "{policy:?} for {:?}",
            all.iter()
                .map(|s| (s.status, s.optional))
                .collect::<Vec<_>>()
        );
    }
    for status in SubtaskStatus::ALL {
        for optional in [false, true] {
            let recount = all
                .iter()
                .filter(|s| s.status == status && s.optional == optional)
                .count();
            assert_eq!(
                subs.tally().count(status, optional) as usize,
                recount,
                "{status} optional={optional}"
            );
        }
    }
    assert_eq!(subs.tally().total() as usize, all.len());
    for (i, s) in all.iter().enumerate() {
        assert_eq!(s.id as usize, i, "ids are positions");
    }
    let required_open = all
        .iter()
        .filter(|s| !s.optional && !satisfied(s.status))
        .count();
    assert_eq!(subs.unsatisfied_required() as usize, required_open);
    for (id, expected) in unsatisfied_children_recount(all).into_iter().enumerate() {
        assert_eq!(
            subs.unsatisfied_children(u32::try_from(id).unwrap()),
            expected,
            "children of {id}"
        );
    }
    if all.is_empty() {
        assert_eq!(task.progress(), None);
    } else {
        let progress = task.progress().unwrap();
        assert!(progress.step_count <= progress.total_steps);
        assert_eq!(progress.total_steps as usize, all.len());
        assert_eq!(
            progress.step_count as usize,
            all.iter().filter(|s| satisfied(s.status)).count()
        );
        assert!(progress.percent() <= taskstate::Percent::HUNDRED);
        // The current step: the running subtask started last (then the
        // highest id).
        let current = all
            .iter()
            .filter(|s| s.status == SubtaskStatus::Running)
            .fold(None::<&Subtask>, |best, s| match best {
                Some(b) if (b.started_at, b.id) > (s.started_at, s.id) => Some(b),
                _ => Some(s),
            });
        assert_eq!(progress.current_step, current.map(|s| s.name.clone()));
    }
    // Optional failures and cancels of this run are the task's warnings.
    let optional_failed = all
        .iter()
        .filter(|s| {
            s.optional && matches!(s.status, SubtaskStatus::Failed | SubtaskStatus::Cancelled)
        })
        .count();
    assert_eq!(task.warnings().len(), optional_failed);
}

#[derive(Clone, Debug)]
enum Op {
    /// A change to a subtask (the id taken modulo one more than the count,
    /// so that it is sometimes unknown).
    Change {
        id: u32,
        change: u8,
        no_errors: bool,
    },
    /// One more subtask, under an earlier one or not.
    Add { optional: bool, parent: Option<u32> },
    /// The run fails, an operator relaunches, a new run starts.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => (any::<u32>(), 0u8..6, proptest::bool::weighted(0.1))
            .prop_map(|(id, change, no_errors)| Op::Change { id, change, no_errors }),
        2 => (any::<bool>(), proptest::option::of(any::<u32>()))
            .prop_map(|(optional, parent)| Op::Add { optional, parent }),
        1 => Just(Op::Restart),
    ]
}

fn declarations() -> impl Strategy<Value = Vec<NewSubtask>> {
    proptest::collection::vec((any::<bool>(), proptest::option::of(any::<u32>())), 0..40).prop_map(
        |raw| {
            raw.into_iter()
                .enumerate()
                .map(|(position, (optional, parent))| {
                    let mut new = NewSubtask::new(format!("step{position}"), "a step");
                    if optional {
                        new = new.optional();
                    }
                    if let Some(parent) = parent
                        && position > 0
                    {
                        new = new.under(parent % u32::try_from(position).unwrap());
                    }
                    new
                })
                .collect()
        },
    )
}

fn policy() -> impl Strategy<Value = AggregatePolicy> {
    prop_oneof![
        Just(AggregatePolicy::FailFast),
        Just(AggregatePolicy::SettleAll)
    ]
}

fn change_of(choice: u8, no_errors: bool, now: DateTime<Utc>) -> SubtaskChange {
    match choice {
        0 => SubtaskChange::Start,
        1 => SubtaskChange::Succeed,
        2 => SubtaskChange::Fail {
            errors: if no_errors {
                Vec::new()
            } else {
                vec![Failure::provider("SUBTASK_FAILED", "it failed", now)]
            },
        },
        3 => SubtaskChange::Skip,
        4 => SubtaskChange::MarkNotApplicable,
        _ => SubtaskChange::Cancel,
    }
}

/// Applies one subtask change and checks it was accepted exactly when the
/// documented rules allow it, and did what they say.
fn apply_change(
    task: &mut Logged,
    policy: AggregatePolicy,
    token: LeaseToken,
    id: u32,
    change: SubtaskChange,
    now: DateTime<Utc>,
) {
    let before = task.clone();
    let all: Vec<&Subtask> = before.subtasks().iter().collect();
    let allowed = all.get(id as usize).and_then(|s| {
        let to = expected_target(s.status, &change)?;
        let refused = match &change {
            SubtaskChange::Start => {
                policy == AggregatePolicy::FailFast
                    && all.iter().any(|s| {
                        !s.optional
                            && matches!(s.status, SubtaskStatus::Failed | SubtaskStatus::Cancelled)
                    })
            }
            SubtaskChange::Succeed => all
                .iter()
                .any(|c| c.parent == Some(id) && !c.optional && !satisfied(c.status)),
            SubtaskChange::Fail { errors } => errors.is_empty(),
            _ => false,
        };
        (!refused).then_some(to)
    });
    let result = task
        .apply(subtask(token, id, change.clone()), Actor::System, now)
        .map(|event| event.map(|e| e.version));
    match (allowed, result) {
        (Some(to), Ok(logged)) => {
            let after = task.subtasks().get(id).unwrap();
            assert_eq!(after.status, to);
            assert_eq!(task.version(), before.version() + 1);
            // A subtask move is an event of the log.
            assert_eq!(logged, Some(task.version()));
            assert_eq!(task.log.len(), before.log.len() + 1);
            for (old, new) in before.subtasks().iter().zip(task.subtasks().iter()) {
                if old.id != id {
                    assert_eq!(old, new, "only subtask {id} moves");
                }
            }
            if change == SubtaskChange::Start {
                assert_eq!(after.started_at, Some(now));
                assert_eq!(after.finished_at, None);
            } else {
                assert_eq!(after.finished_at, Some(now));
            }
        }
        (None, Err(_)) => assert_eq!(*task, before, "a rejected command changed the task"),
        (expected, got) => panic!(
            "subtask {id} {change:?} from {:?}: expected {expected:?}, got {got:?}",
            before.subtasks().get(id).map(|s| s.status)
        ),
    }
}

proptest! {
    #![proptest_config(common::cases(256))]

    #[test]
    fn aggregation_and_counts_agree_with_a_naive_recount(
        declared in declarations(),
        policy in policy(),
        ops in proptest::collection::vec(op(), 0..120),
    ) {
        let mut task = with_subtasks(policy_kind(policy), declared);
        check_invariants(&task);
        let mut now = t(10);
        let mut token = start(&mut task, now);
        check_invariants(&task);
        for op in ops {
            now += chrono::Duration::seconds(1);
            let count = u32::try_from(task.subtasks().len()).unwrap();
            match op {
                Op::Change { id, change, no_errors } => {
                    let change = change_of(change, no_errors, now);
                    apply_change(&mut task, policy, token, id % (count + 1), change, now);
                }
                Op::Add { optional, parent } => {
                    let mut new = NewSubtask::new(format!("added{count}"), "added");
                    if optional {
                        new = new.optional();
                    }
                    // Sometimes a parent not declared yet: refused.
                    let parent = parent.map(|p| p % (count + 2));
                    if let Some(parent) = parent {
                        new = new.under(parent);
                    }
                    let before = task.clone();
                    let result = task
                        .apply(Command::AddSubtask { token, subtask: new }, Actor::System, now)
                        .map(|event| event.map(|e| e.version));
                    // Refused too: a child under a parent that has settled.
                    let settled_parent = parent
                        .and_then(|p| before.subtasks().get(p))
                        .is_some_and(|p| p.status.is_settled());
                    if parent.is_some_and(|p| p >= count) || settled_parent {
                        prop_assert!(result.is_err());
                        prop_assert_eq!(&task, &before);
                    } else {
                        prop_assert_eq!(result, Ok(Some(task.version())));
                        prop_assert_eq!(task.subtasks().len(), count as usize + 1);
                    }
                }
                Op::Restart => {
                    let before = task.subtasks().clone();
                    accept(
                        &mut task,
                        Command::Fail {
                            token: Some(token),
                            failure: Box::new(Failure::customer("BAD_INPUT", "fix it", now)),
                        },
                        Actor::System,
                        now,
                    );
                    check_invariants(&task);
                    accept(&mut task, Command::relaunch(), bob(), now);
                    // Satisfied subtasks keep their status and times; the
                    // others are pending again.
                    for (old, new) in before.iter().zip(task.subtasks().iter()) {
                        if satisfied(old.status) {
                            prop_assert_eq!(old, new);
                        } else {
                            prop_assert_eq!(new.status, SubtaskStatus::Pending);
                            prop_assert_eq!(new.started_at, None);
                            prop_assert_eq!(new.finished_at, None);
                        }
                    }
                    check_invariants(&task);
                    token = start(&mut task, now);
                }
            }
            check_invariants(&task);
        }
        let json = serde_json::to_string(&task.task).unwrap();
        let read: Task<NamedKind> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&read, &task.task);
        prop_assert_eq!(read.subtasks().tally(), task.subtasks().tally());
        prop_assert_eq!(&Task::replay(&task.log).unwrap(), &task.task);
    }
}

// ---------------------------------------------------------------------
// Progress as a percentage
// ---------------------------------------------------------------------

proptest! {
    #![proptest_config(common::cases(512))]

    /// A percentage reads back from its text and its JSON as itself, with
    /// its decimals; its whole part and float agree with its value.
    #[test]
    fn percentages_read_back_as_written(decimals in 0u8..=9, share in 0u64..=1_000_000) {
        use taskstate::Percent;
        let hundred = 100 * 10u64.pow(u32::from(decimals));
        let units = share * hundred / 1_000_000;
        let percent = Percent::from_parts(units, decimals).unwrap();
        let text = percent.to_string();
        let reread: Percent = text.parse().unwrap();
        prop_assert_eq!(reread, percent);
        prop_assert_eq!(reread.decimals(), decimals);
        let json = serde_json::to_string(&percent).unwrap();
        prop_assert_eq!(serde_json::from_str::<Percent>(&json).unwrap(), percent);
        let whole = units / 10u64.pow(u32::from(decimals));
        prop_assert_eq!(u64::from(percent.whole()), whole);
        prop_assert!((percent.as_f64() - text.parse::<f64>().unwrap()).abs() < 1e-9);
        prop_assert!(percent <= Percent::HUNDRED && percent >= Percent::ZERO);
        // Trailing zeros do not change the value.
        if decimals < 9 {
            let zero = if decimals == 0 { ".0" } else { "0" };
            let padded: Percent = format!("{text}{zero}").parse().unwrap();
            prop_assert_eq!(padded, percent);
        }
    }

    /// Any text either reads as a percentage from 0 to 100 or is refused
    /// with a typed error; nothing panics.
    #[test]
    fn any_text_reads_as_a_percentage_or_is_refused(text in "[-+0-9.eE ]{0,16}|\\PC{0,12}") {
        use taskstate::Percent;
        if let Ok(percent) = text.parse::<Percent>() {
            prop_assert!(percent <= Percent::HUNDRED);
            prop_assert_eq!(percent.to_string().parse::<Percent>().unwrap(), percent);
        }
    }
}

#[test]
fn a_provider_that_reports_only_a_percentage_needs_no_fake_steps() {
    use taskstate::{Percent, PercentError};
    let mut task = logged_of(NamedKind::new("VmCreate"));
    let (run, started) = task.task.start(t(600), None, t(1)).unwrap();
    task.push(started);
    let event = run
        .report_percent(&mut task.task, "33.333".parse().unwrap(), None, t(2))
        .unwrap();
    task.push(event);
    let progress = task.task.progress().unwrap();
    assert_eq!(progress.percent().to_string(), "33.333");
    assert_eq!((progress.step_count, progress.total_steps), (0, 0));
    // Steps alone still give a whole percentage.
    let steps = Progress {
        step_count: 1,
        total_steps: 3,
        ..Progress::default()
    };
    assert_eq!(steps.percent(), Percent::from_parts(33, 0).unwrap());
    for (bad, error) in [
        ("100.01", PercentError::AboveHundred),
        ("1000", PercentError::AboveHundred),
        ("0.1234567891", PercentError::TooPrecise),
        ("-5", PercentError::NotADecimal("-5".into())),
        ("5.", PercentError::NotADecimal("5.".into())),
        ("1e2", PercentError::NotADecimal("1e2".into())),
    ] {
        assert_eq!(bad.parse::<Percent>(), Err(error), "{bad}");
    }
    // The log rebuilds the record, the percentage with it.
    assert_eq!(Task::replay(&task.log).unwrap(), task.task);
}

// ---------------------------------------------------------------------
// How deep subtasks nest
// ---------------------------------------------------------------------

/// A pending task with a chain of `depth` subtasks, each under the one
/// before.
fn chain(depth: u32) -> Result<(Task<NamedKind>, taskstate::Event<NamedKind>), Rejection> {
    let mut new = NewTask::new(
        IdGenerator::seeded(16).next_id(t(0)),
        NamedKind::new("HOST_COMMISSION"),
        Owner::new("alice"),
        ResourceRef::new("HOST", "h1"),
    );
    for level in 0..depth {
        let mut subtask = NewSubtask::new(format!("level{}", level + 1), "nested");
        if level > 0 {
            subtask = subtask.under(level - 1);
        }
        new = new.subtask(subtask);
    }
    Task::create(new, alice(), t(0))
}

#[test]
fn subtasks_nest_at_most_sixteen_levels_deep() {
    use taskstate::MAX_SUBTASK_DEPTH;
    assert_eq!(MAX_SUBTASK_DEPTH, 16);
    let (mut task, _) = chain(16).unwrap();
    assert!(matches!(
        chain(17),
        Err(Rejection::InvalidInput { field, .. }) if field == "subtask.parent"
    ));
    // Added by a run: under the 15th level yes, under the 16th no.
    let (run, _) = task.start(t(600), None, t(1)).unwrap();
    let deeper = NewSubtask::new("level17", "too deep").under(15);
    let refused = run.add_subtask(&mut task, deeper, t(2)).unwrap_err();
    assert!(
        matches!(refused, Rejection::InvalidInput { .. }),
        "{refused:?}"
    );
    let sibling = NewSubtask::new("level16b", "fits").under(14);
    run.add_subtask(&mut task, sibling, t(3)).unwrap();
}

#[test]
fn a_vmware_view_of_a_record_nested_deeper_than_the_limit_loses_no_subtask() {
    use taskstate::profiles::vcf::VcfTask;
    // A record stored before the limit, with a chain of 20: made by
    // extending a stored chain of 16.
    let (task, _) = chain(16).unwrap();
    let mut stored = serde_json::to_value(&task).unwrap();
    let list = stored["state"]["subtasks"].as_array_mut().unwrap();
    let last = list.last().unwrap().clone();
    for id in 16..20u32 {
        let mut deeper = last.clone();
        deeper["id"] = id.into();
        deeper["parent"] = (id - 1).into();
        deeper["name"] = format!("level{}", id + 1).into();
        list.push(deeper);
    }
    let legacy: Task<NamedKind> = serde_json::from_value(stored).unwrap();
    assert_eq!(legacy.subtasks().len(), 20);
    let view = VcfTask::of(&legacy, &alice(), t(1));
    // Written and read back by serde_json, whose nesting limit is 128.
    let text = serde_json::to_string(&view).unwrap();
    let read: VcfTask = serde_json::from_str(&text).unwrap();
    let snapshot = read.to_mirrored().unwrap();
    let names: Vec<_> = snapshot.subtasks.iter().map(|s| s.name.clone()).collect();
    let want: Vec<_> = (1..=20).map(|level| format!("level{level}")).collect();
    assert_eq!(names, want);
    // Levels 17 to 20 hang under level 16.
    assert!(snapshot.subtasks[16..].iter().all(|s| s.parent == Some(15)));
}
