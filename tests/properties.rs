//! Properties over random sequences of commands from random actors at
//! random (monotonic and non-monotonic) times, on tasks of random rules.
//!
//! More cases: `PROPTEST_CASES=20000 cargo test --test properties`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::Duration;
use proptest::prelude::*;
use taskstate::{
    Action, Command, FollowUp, NamedKind, Origin, RetryPolicy, Role, Status, Task, TaskId,
    TaskKind, table,
};

use common::start_task;
use taskstate::strategies::{self, step};

/// The rules of corrections, relaunches and retries, checked on every
/// accepted command: what the kind's rules promise a customer can never
/// get around.
fn assert_rules_kept(
    before: &Task<NamedKind>,
    command: &Command<NamedKind>,
    role: Role,
    now: chrono::DateTime<chrono::Utc>,
) {
    let rules = before.kind().rules();
    match command {
        Command::Relaunch { arguments } if role == Role::Customer => {
            let failure = before.failure().expect("a relaunched task had failed");
            assert!(
                rules.relaunch.customer,
                "customer relaunch on an operators-only kind"
            );
            assert!(
                failure.origin == Origin::Customer || rules.relaunch.provider_failures,
                "a customer relaunched a provider-origin failure"
            );
            assert!(
                before.relaunches() < rules.relaunch.max,
                "relaunch past the budget"
            );
            assert_ne!(before.follow_up(), Some(FollowUp::Final));
            if rules.relaunch.require_corrections {
                let left: Vec<_> = before
                    .fields_to_correct()
                    .into_iter()
                    .filter(|key| !arguments.contains_key(*key))
                    .collect();
                assert!(left.is_empty(), "relaunched with {left:?} uncorrected");
            }
            if !arguments.is_empty() {
                assert!(
                    rules.edit.contains(Status::Failed),
                    "corrections past the edit rule"
                );
            }
            if rules.relaunch.dedicated_route.is_some() {
                assert!(
                    !arguments.is_empty(),
                    "generic relaunch on a dedicated-route kind"
                );
            }
        }
        Command::SetArgument { key, .. } => {
            let spec = before
                .argument(key)
                .expect("only declared arguments are set")
                .spec;
            assert!(!spec.read_only, "a read-only argument was edited");
            assert!(rules.edit.contains(before.status()));
        }
        Command::Retry => {
            let at = before.next_retry_at().expect("a retry was scheduled");
            assert!(at <= now, "a retry ran early");
        }
        _ => {}
    }
}

/// Every argument of the task fits its spec, and every required one is
/// present.
fn assert_arguments_valid(task: &Task<NamedKind>) {
    for spec in task.kind().arguments() {
        match task.arguments().get(&spec.key) {
            Some(value) => assert!(spec.check(value).is_ok(), "{} = {value:?}", spec.key),
            None => assert!(!spec.required, "required {} missing", spec.key),
        }
    }
    for key in task.arguments().keys() {
        assert!(task.argument(key).is_some(), "undeclared argument {key}");
    }
}

/// What the record must satisfy after any sequence of commands.
fn assert_invariants(task: &Task<taskstate::NamedKind>) {
    assert_eq!(task.version(), task.history().len() as u64);
    assert_eq!(
        task.lease().is_some(),
        task.status().is_leased(),
        "lease iff leased: {task:?}"
    );
    assert_eq!(
        task.done_at().is_some(),
        task.status().is_settled(),
        "done_at iff settled"
    );
    if task.cancel_requested_at().is_some() {
        assert!(
            task.status().is_leased() || task.status() == Status::Stalled,
            "a cancel request outlives its run"
        );
    }
    if task.status() == Status::Done {
        assert!(task.outcome().is_some());
    }
    if task.status() == Status::Failed {
        assert!(task.failure().is_some());
        assert!(task.follow_up().is_some());
    } else {
        assert!(task.follow_up().is_none() && task.next_retry_at().is_none());
    }
    if task.is_escalated() {
        assert!(task.attempts() >= task.kind().rules().retry.max_attempts);
        assert!(
            task.comment()
                .is_some_and(|c| c.contains("support request"))
        );
    }
    assert_arguments_valid(task);
    assert!(task.attempts() <= task.runs());
    let last = task.history().last().unwrap();
    assert_eq!(last.to, task.status());
    assert_eq!(last.version, task.version());
}

proptest! {
    #![proptest_config(common::cases(512))]

    #[test]
    fn retry_schedule_is_monotonic_bounded_and_deterministic(
        initial in 0u64..100_000,
        multiplier in 0.5f64..10.0,
        max in 0u64..1_000_000,
        jitter in -0.5f64..1.5,
        attempts in 1u32..64,
        id in any::<u128>(),
    ) {
        let policy = RetryPolicy::STANDARD
            .initial_delay_secs(initial)
            .multiplier(multiplier)
            .max_delay_secs(max)
            .jitter(jitter);
        let id = TaskId::from(uuid::Uuid::from_u128(id));
        let max = Duration::seconds(i64::try_from(max).unwrap());
        let mut previous = Duration::zero();
        for n in 1..=attempts {
            let delay = policy.delay(id, n);
            prop_assert!(delay >= previous, "attempt {} waits {} after {}", n, delay, previous);
            prop_assert!(delay <= max, "attempt {} waits {} beyond {}", n, delay, max);
            prop_assert_eq!(delay, policy.delay(id, n), "same task and attempt, same delay");
            previous = delay;
        }
    }

    #[test]
    fn generated_argument_values_fit_their_spec_exactly_when_meant_to(
        spec in strategies::argument_spec(),
        seeds in proptest::collection::vec(strategies::value_seed(), 1..20),
    ) {
        // Every spec argument_spec makes has values that fit it.
        for seed in &seeds {
            let value = seed.value_for(&spec);
            prop_assert_eq!(
                spec.check(&value).is_ok(),
                seed.valid,
                "{:?} for {:?} from {:?}", value, spec, seed
            );
        }
    }

    #[test]
    fn valid_and_invalid_values_are_so(
        (spec, valid, invalid) in strategies::argument_spec().prop_flat_map(|spec| {
            let valid = proptest::collection::vec(strategies::valid_value(&spec), 8);
            let invalid = proptest::collection::vec(strategies::invalid_value(&spec), 8);
            (Just(spec), valid, invalid)
        }),
    ) {
        for value in &valid {
            prop_assert!(spec.check(value).is_ok(), "{:?} refused by {:?}", value, spec);
        }
        for value in &invalid {
            prop_assert!(spec.check(value).is_err(), "{:?} accepted by {:?}", value, spec);
        }
    }

    #[test]
    fn generated_tasks_are_valid_tasks_of_the_given_kinds(
        (kinds, tasks) in proptest::collection::vec(strategies::named_kind(), 1..4)
            .prop_flat_map(|kinds| {
                let tasks = proptest::collection::vec(strategies::task_of(kinds.clone()), 1..4);
                (Just(kinds), tasks)
            }),
    ) {
        for task in &tasks {
            prop_assert!(kinds.contains(task.kind()));
            prop_assert_eq!(task.status(), Status::Pending);
            prop_assert_eq!(task.version(), 1);
            prop_assert!(strategies::OWNERS.contains(&task.owner().as_str()));
            prop_assert!(task.todo_at().is_none_or(|at| at >= task.created_at()));
            assert_arguments_valid(task);
            // A generated task is one its history rebuilds.
            prop_assert_eq!(&Task::replay(task.history().to_vec()).unwrap(), task);
        }
    }

    #[test]
    fn random_sequences_keep_every_invariant(
        mut task in start_task(),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut now = task.created_at();
        let mut accepted = 1u64; // the creation
        for step in &steps {
            now += Duration::seconds(step.advance);
            let (command, actor) = step.resolve(&task, now);
            let before = task.clone();
            let dry_run = task.check(&command, &actor, now).map(|row| row.to);
            match task.apply(command.clone(), actor.clone(), now) {
                Ok(event) => {
                    assert_rules_kept(&before, &command, actor.role(), now);
                    if event.action() == Action::Fail {
                        // The classification decided the origin and what follows.
                        prop_assert!(event.effect.is_some());
                    }
                    accepted += 1;
                    // Only rows of the table are ever taken, by roles they name.
                    let from = before.status();
                    let row = table::find(from, event.action()).expect("accepted move has a row");
                    prop_assert!(row.roles.contains(event.actor.role()));
                    prop_assert_eq!(event.from, Some(from));
                    prop_assert_eq!(event.to, row.to);
                    prop_assert_eq!(event.version, before.version() + 1);
                    prop_assert_eq!(dry_run, Ok(row.to), "check and apply agree");
                    // Final statuses absorb.
                    prop_assert!(!from.is_final(), "a move left final status {}", from);
                }
                Err(rejection) => {
                    // A rejected command changes nothing: the whole record.
                    prop_assert_eq!(&task, &before);
                    prop_assert_eq!(dry_run, Err(rejection));
                }
            }
            prop_assert_eq!(task.version(), accepted);
            assert_invariants(&task);
        }
        // Replay rebuilds the record.
        let replayed = Task::replay(task.history().to_vec()).unwrap();
        prop_assert_eq!(&replayed, &task);
        // JSON round-trips exactly.
        let json = serde_json::to_string(&task).unwrap();
        let back: Task<taskstate::NamedKind> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &task);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn final_statuses_absorb_every_command(
        mut task in start_task(),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let mut now = task.created_at();
        let mut settled_final: Option<Task<taskstate::NamedKind>> = None;
        for step in &steps {
            now += Duration::seconds(step.advance);
            let (command, actor) = step.resolve(&task, now);
            let result = task.apply(command, actor, now).map(|e| e.version);
            if let Some(final_task) = &settled_final {
                prop_assert!(result.is_err(), "a final task accepted a command");
                prop_assert_eq!(&task, final_task);
            } else if task.status().is_final() {
                settled_final = Some(task.clone());
            }
        }
    }

    #[test]
    fn events_round_trip_through_json(
        mut task in start_task(),
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let mut now = task.created_at();
        for step in &steps {
            now += Duration::seconds(step.advance);
            let (command, actor) = step.resolve(&task, now);
            let _ = task.apply(command, actor, now);
        }
        for event in task.history() {
            let json = serde_json::to_value(event).unwrap();
            let back: taskstate::Event<taskstate::NamedKind> = serde_json::from_value(json).unwrap();
            prop_assert_eq!(&back, event);
            let command = serde_json::to_string(&event.command).unwrap();
            let back: taskstate::Command<taskstate::NamedKind> = serde_json::from_str(&command).unwrap();
            prop_assert_eq!(&back, &event.command);
        }
    }
}

/// The generator behind these properties reaches every row of the table,
/// so that no property holds merely because its moves are never made.
#[test]
fn generated_sequences_take_every_row_of_the_table() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut coverage = table::Coverage::new();
    for _ in 0..512 {
        let mut task = start_task().new_tree(&mut runner).unwrap().current();
        let steps = proptest::collection::vec(step(), 1..60)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut now = task.created_at();
        for step in steps {
            now += Duration::seconds(step.advance);
            let (command, actor) = step.resolve(&task, now);
            let _ = task.apply(command, actor, now);
        }
        coverage.record_history(task.history());
    }
    let missing: Vec<_> = coverage.missing().collect();
    assert!(missing.is_empty(), "rows never generated: {missing:#?}");
    for role_action in [Action::Relaunch, Action::Retry, Action::SetArgument] {
        assert!(
            coverage.count(Some(Status::Failed), role_action) >= 10,
            "{role_action} too rare"
        );
    }
}
