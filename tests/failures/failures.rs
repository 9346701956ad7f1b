//! Failures that say who can fix them: the OVHcloud guide's correction
//! example, provider-side retries on schedule, and escalation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Duration;
use taskstate::Problem;
use taskstate::{
    Actor, ArgumentError, ArgumentSpec, ArgumentValue, Command, Decision, Failure, FollowUp,
    NamedKind, Origin, Outcome, Rejection, RelaunchRefusal, RetryPolicy, Rules, Status, Task,
};

use crate::common::{Logged, accept, alice, bob, provider_failure, reject, t, task_of};

fn domain_create() -> NamedKind {
    NamedKind::new("DomainCreate")
        .argument(ArgumentSpec::text("domain", 1, 255).read_only().required())
        .argument(
            ArgumentSpec::text("legitimacyAfnic", 10, 2000)
                .describe("Why you are entitled to this name"),
        )
}

#[test]
fn the_ovh_guide_example_end_to_end() {
    let new = taskstate::NewTask::new(
        taskstate::IdGenerator::seeded(1).next_id(t(0)),
        domain_create(),
        taskstate::Owner::new("alice"),
        taskstate::ResourceRef::new("domain", "marseille.fr"),
    );
    // A DomainCreate must say which domain: `domain` is required.
    let missing = Task::create(new.clone(), alice(), t(0)).unwrap_err();
    assert!(
        matches!(missing, Rejection::InvalidArgument(ArgumentError { ref key, problem: Problem::Required }) if key == "domain")
    );
    // The task and its log, as a store keeps them.
    let mut logged =
        Logged::new(Task::create(new.argument("domain", "marseille.fr"), alice(), t(0)).unwrap());

    // The registry asks for a justification of use: the customer's to fix.
    let (run, started) = logged.task.start(t(300), None, t(60)).unwrap();
    logged.push(started);
    let failure = Failure::customer(
        "AFNIC_LEGITIMACY_REQUIRED",
        "Afnic asks for a justification for the use of this domain name",
        t(120),
    )
    .flag("legitimacyAfnic");
    logged
        .log
        .push(run.fail(&mut logged.task, failure, t(120)).unwrap());
    let task = &mut logged.task;
    assert_eq!(task.status(), Status::Failed);
    assert_eq!(task.follow_up(), Some(FollowUp::AwaitCorrection));
    assert_eq!(
        task.comment(),
        Some("Afnic asks for a justification for the use of this domain name")
    );
    // canRelaunch: yes, once corrected; right now: not yet, and why.
    assert!(task.can_relaunch_once_corrected(&alice(), t(130)));
    assert!(!task.can_relaunch(&alice(), t(130)));
    assert_eq!(
        task.relaunch_rejection(&alice(), t(130)),
        Some(Rejection::CannotRelaunch {
            reason: RelaunchRefusal::Uncorrected {
                keys: vec!["legitimacyAfnic".into()]
            }
        })
    );

    // List the fields to correct, and read the one.
    assert_eq!(task.fields_to_correct(), ["legitimacyAfnic"]);
    let field = task.argument("legitimacyAfnic").unwrap();
    assert_eq!(field.value, None);
    assert_eq!(field.spec.description, "Why you are entitled to this name");
    assert!(task.can_edit("legitimacyAfnic", &alice(), t(130)));
    assert!(!task.can_edit("domain", &alice(), t(130)), "read-only");

    // A bad value first: refused, naming the key, and nothing changes.
    let rejection = reject(
        task,
        Command::set_argument("legitimacyAfnic", "mayor"),
        alice(),
        t(140),
    );
    assert_eq!(
        rejection,
        Rejection::InvalidArgument(ArgumentError {
            key: "legitimacyAfnic".into(),
            problem: Problem::TooShort { min: 10 },
        })
    );

    // The right value: recorded with the old value and who set it.
    let justification = "I run the official tourist office of Marseille";
    let event = logged
        .apply(
            Command::set_argument("legitimacyAfnic", justification),
            alice(),
            t(150),
        )
        .unwrap()
        .expect("a correction is logged");
    assert_eq!(event.actor, alice());
    assert_eq!(
        event.effect.as_deref(),
        Some(&Decision::Replaced {
            previous: [("legitimacyAfnic".to_owned(), None)].into()
        })
    );
    let task = &logged.task;
    assert_eq!(
        task.argument("legitimacyAfnic").unwrap().value,
        Some(&ArgumentValue::from(justification))
    );
    assert!(task.fields_to_correct().is_empty());

    // Relaunch; the task runs to done.
    assert!(task.can_relaunch(&alice(), t(160)));
    logged
        .apply(Command::relaunch(), alice(), t(160))
        .unwrap()
        .expect("a relaunch is logged");
    let task = &mut logged.task;
    assert_eq!(task.status(), Status::Pending);
    assert_eq!(task.failure(), None, "the failure is left to the log");
    assert_eq!(task.relaunches(), 1);
    let failed = logged
        .log
        .iter()
        .find_map(|event| match &event.command {
            Command::Fail { failure, .. } => Some(failure),
            _ => None,
        })
        .expect("the log keeps the failure");
    assert_eq!(failed.code, "AFNIC_LEGITIMACY_REQUIRED");
    assert_eq!(failed.fields, ["legitimacyAfnic"]);
    let (run, started) = task.start(t(500), None, t(170)).unwrap();
    logged.push(started);
    let completed = run
        .complete(
            &mut logged.task,
            Outcome::new().message("registered"),
            t(180),
        )
        .unwrap();
    logged.push(completed);
    assert_eq!(logged.task.status(), Status::Done);
    logged.task.check_log(&logged.log).unwrap();
    assert_eq!(Task::replay(&logged.log).unwrap(), logged.task);
}

fn flaky(max_attempts: u32) -> NamedKind {
    NamedKind::with_rules(
        "DomainDsUpdate",
        Rules::new().retry(
            RetryPolicy::STANDARD
                .max_attempts(max_attempts)
                .initial_delay_secs(60)
                .multiplier(2.0)
                .max_delay_secs(3600)
                .jitter(0.0),
        ),
    )
}

/// Starts the task at `now`, fails it on the provider's side, and returns
/// when the retry is due.
fn fail_on_provider_side(task: &mut Task<NamedKind>, now: chrono::DateTime<chrono::Utc>) {
    let (run, _) = task.start(now + Duration::minutes(5), None, now).unwrap();
    run.fail(task, provider_failure(now), now + Duration::seconds(1))
        .unwrap();
}

#[test]
fn a_provider_failure_is_retried_on_schedule_until_success() {
    let mut task = task_of(flaky(5));
    let mut now = t(0);
    let mut retry_times = Vec::new();
    for attempt in 1..=3u32 {
        fail_on_provider_side(&mut task, now);
        assert_eq!(task.attempts(), attempt);
        assert_eq!(task.attempts_left(), 5 - attempt);
        let at = task.next_retry_at().unwrap();
        let failed_at = now + Duration::seconds(1);
        // 60 s, 120 s, 240 s: the backoff without jitter.
        assert_eq!(at - failed_at, Duration::seconds(60 << (attempt - 1)));
        // The customer cannot relaunch a provider fault.
        let rejection = reject(&mut task, Command::relaunch(), alice(), failed_at);
        assert_eq!(
            rejection,
            Rejection::CannotRelaunch {
                reason: RelaunchRefusal::ProviderFailure
            }
        );
        assert!(!task.can_edit("anything", &alice(), failed_at));
        // The system's retry waits for its time.
        let early = reject(
            &mut task,
            Command::Retry,
            Actor::System,
            at - Duration::seconds(1),
        );
        assert_eq!(early, Rejection::RetryNotDue { at });
        accept(&mut task, Command::Retry, Actor::System, at);
        assert_eq!(task.status(), Status::Pending);
        retry_times.push(at);
        now = at;
    }
    let (run, _) = task.start(now + Duration::minutes(5), None, now).unwrap();
    run.complete(&mut task, Outcome::new(), now + Duration::seconds(1))
        .unwrap();
    assert_eq!(task.status(), Status::Done);
    assert_eq!(task.attempts(), 3);
    assert!(retry_times.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn exhausted_retries_escalate_and_nobody_but_an_operator_reopens() {
    let mut task = task_of(flaky(2));
    fail_on_provider_side(&mut task, t(0));
    let at = task.next_retry_at().unwrap();
    accept(&mut task, Command::Retry, Actor::System, at);
    fail_on_provider_side(&mut task, at);
    // The second counted attempt was the last one.
    assert_eq!(task.status(), Status::Failed);
    assert!(task.is_escalated());
    assert_eq!(task.follow_up(), Some(FollowUp::Escalated));
    assert_eq!(task.next_retry_at(), None);
    assert_eq!(task.attempts_left(), 0);
    assert_eq!(
        task.comment(),
        Some(
            "the registry does not answer; the automatic retries are exhausted: please open a support request"
        )
    );
    let late = at + Duration::hours(5);
    let retry = reject(&mut task, Command::Retry, Actor::System, late);
    assert_eq!(
        retry,
        Rejection::NoRetryScheduled {
            follow_up: Some(FollowUp::Escalated)
        }
    );
    let relaunch = reject(&mut task, Command::relaunch(), alice(), late);
    assert_eq!(
        relaunch,
        Rejection::CannotRelaunch {
            reason: RelaunchRefusal::ProviderFailure
        }
    );
    // Support fixed the cause: an operator relaunches, the budget resets.
    accept(&mut task, Command::relaunch(), bob(), late);
    assert_eq!(
        (task.status(), task.attempts(), task.relaunches()),
        (Status::Pending, 0, 0)
    );
    assert!(!task.is_escalated());
}

#[test]
fn a_policy_without_retries_escalates_the_first_provider_failure() {
    let mut task = task_of(NamedKind::with_rules(
        "DomainTrade",
        Rules::new().retry(RetryPolicy::NEVER),
    ));
    fail_on_provider_side(&mut task, t(0));
    assert!(task.is_escalated());
    // A customer-origin failure is never escalated: it awaits correction.
    let mut other = task_of(NamedKind::with_rules(
        "DomainTrade",
        Rules::new().retry(RetryPolicy::NEVER),
    ));
    let (run, _) = other.start(t(300), None, t(0)).unwrap();
    run.fail(
        &mut other,
        Failure::new(Origin::Customer, "BAD", "bad", t(1)),
        t(1),
    )
    .unwrap();
    assert_eq!(other.follow_up(), Some(FollowUp::AwaitCorrection));
}

#[test]
fn the_same_task_retried_twice_gets_the_same_schedule() {
    let jittery = NamedKind::with_rules(
        "DomainCreate",
        Rules::new().retry(RetryPolicy::STANDARD.jitter(1.0)),
    );
    let schedule = || {
        let mut task = task_of(jittery.clone());
        fail_on_provider_side(&mut task, t(0));
        task.next_retry_at().unwrap()
    };
    assert_eq!(schedule(), schedule());
    let policy = RetryPolicy::STANDARD.jitter(1.0);
    let task = task_of(jittery.clone());
    let delay = policy.delay(task.id(), 1);
    assert!(delay <= Duration::seconds(60) && delay >= Duration::zero());
}

#[test]
fn the_escalation_notice_is_the_kinds_and_is_recorded_with_the_escalation() {
    use taskstate::{ESCALATION_NOTICE, IdGenerator, NewTask, Owner, ReplayMode, ResourceRef};
    let french = "les relances automatiques sont épuisées : ouvrez une demande";
    let kind = |notice: &str| {
        NamedKind::with_rules(
            "DomainTrade",
            Rules::new()
                .retry(RetryPolicy::STANDARD.max_attempts(1))
                .escalation_notice(notice),
        )
    };
    let new = NewTask::new(
        IdGenerator::seeded(3).next_id(t(0)),
        kind(french),
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    );
    let mut task = Logged::new(Task::create(new, alice(), t(0)).unwrap());
    let (run, started) = task.task.start(t(300), None, t(1)).unwrap();
    task.push(started);
    let failed = run
        .fail(&mut task.task, provider_failure(t(2)), t(2))
        .unwrap();
    task.push(failed);
    assert_eq!(task.task.follow_up(), Some(FollowUp::Escalated));
    let comment = task.task.comment().unwrap();
    assert!(comment.ends_with(french), "{comment}");
    assert!(matches!(
        task.log.last().unwrap().effect.as_deref(),
        Some(Decision::Failed { notice: Some(notice), .. }) if notice == french
    ));
    // The log replays to the record.
    assert_eq!(Task::replay(&task.log).unwrap(), task.task);
    // The default notice is what a kind says unless told otherwise.
    assert_eq!(Rules::new().escalation_notice, ESCALATION_NOTICE);
    // Under other text, a strict replay refuses the recorded decision; as
    // recorded, it rebuilds the comment that was written.
    let mut edited = task.log.clone();
    let serde_json::Value::Object(mut created) = serde_json::to_value(&edited[0]).unwrap() else {
        panic!("an event is an object");
    };
    created["command"]["kind"]["rules"]["escalation_notice"] = "autre texte".into();
    edited[0] = serde_json::from_value(serde_json::Value::Object(created)).unwrap();
    assert!(Task::replay(&edited).is_err());
    let rebuilt = Task::replay_with(&edited, ReplayMode::AsRecorded).unwrap();
    assert_eq!(rebuilt.comment(), task.task.comment());
}
