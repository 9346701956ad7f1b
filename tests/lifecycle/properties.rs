//! Properties over random sequences of commands from random actors at
//! random (monotonic and non-monotonic) times, on tasks of random rules.
//!
//! More cases: `PROPTEST_CASES=20000 cargo test --test lifecycle properties::`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Duration;
use proptest::prelude::*;
use taskstate::{
    Action, Command, Event, FollowUp, NamedKind, Origin, RetryPolicy, Role, Status, Task, TaskId,
    TaskKind, table,
};

use crate::common::{Logged, start_task};
use taskstate::testkit::strategies::{self, step};

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

/// The heartbeats accepted since the last event of the log: kept in the
/// lease, which a logged event that ends the run drops.
fn heartbeats_since_last_event(task: &Task<NamedKind>) -> u32 {
    task.lease().map_or(0, |lease| lease.heartbeats())
}

/// What the record must satisfy after any sequence of commands, with its
/// log.
fn assert_invariants(task: &Task<NamedKind>, log: &[Event<NamedKind>]) {
    // Every accepted command is counted in the version: the logged ones,
    // and the heartbeats, counted in the event after them or, since the
    // last event, in the lease.
    let heartbeats: u64 = log.iter().map(|event| u64::from(event.heartbeats)).sum();
    assert_eq!(
        task.version(),
        log.len() as u64 + heartbeats + u64::from(heartbeats_since_last_event(task))
    );
    // The log's versions follow each other, heartbeats in between.
    for pair in log.windows(2) {
        assert_eq!(
            pair[1].version,
            pair[0].version + u64::from(pair[1].heartbeats) + 1
        );
    }
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
    let last = log.last().unwrap();
    assert_eq!(last.to, task.status());
    assert_eq!(
        last.version + u64::from(heartbeats_since_last_event(task)),
        task.version()
    );
}

/// The heartbeats accepted during the current run, if there is one:
/// those counted in the events since its start, and those since the last
/// event.
fn heartbeats_of_the_run(task: &Task<NamedKind>, log: &[Event<NamedKind>]) -> u32 {
    if task.lease().is_none() {
        return 0;
    }
    let start = log
        .iter()
        .rposition(|event| event.action() == Action::Start)
        .expect("a leased task was started");
    log[start + 1..]
        .iter()
        .map(|event| event.heartbeats)
        .sum::<u32>()
        + heartbeats_since_last_event(task)
}

/// The record is the one its log rebuilds: exactly when the current run
/// (if any) had no heartbeat, else up to what its heartbeats changed (a
/// later deadline, and a progress note that stays in the lease until an
/// event sets a comment: neither is in the log).
fn assert_log_rebuilds(task: &Task<NamedKind>, log: &[Event<NamedKind>]) {
    task.check_log(log).unwrap();
    if heartbeats_of_the_run(task, log) == 0 {
        assert_eq!(&Task::replay(log).unwrap(), task);
    }
}

proptest! {
    #![proptest_config(crate::common::cases(512))]

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
        for (task, created) in &tasks {
            prop_assert!(kinds.contains(task.kind()));
            prop_assert_eq!(task.status(), Status::Pending);
            prop_assert_eq!(task.version(), 1);
            prop_assert!(strategies::OWNERS.contains(&task.owner().as_str()));
            prop_assert!(task.todo_at().is_none_or(|at| at >= task.created_at()));
            assert_arguments_valid(task);
            // A generated task is one its creation event rebuilds.
            prop_assert_eq!(created.version, 1);
            prop_assert_eq!(created.action(), Action::Create);
            prop_assert_eq!(&Task::replay([created]).unwrap(), task);
        }
    }

    #[test]
    fn random_sequences_keep_every_invariant(
        Logged { mut task, mut log } in start_task(),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut now = task.created_at();
        let mut accepted = 1u64; // the creation
        let mut last_token = log.iter().filter_map(Event::lease_token).next_back();
        for step in &steps {
            now += Duration::seconds(step.advance);
            let (command, actor) = step.resolve(&task, now);
            let before = task.clone();
            let dry_run = task.check(&command, &actor, now).map(|row| row.to);
            match task.apply(command.clone(), actor.clone(), now) {
                Ok(event) => {
                    assert_rules_kept(&before, &command, actor.role(), now);
                    accepted += 1;
                    let from = before.status();
                    let action = command.action();
                    // Only rows of the table are ever taken, by roles they name.
                    let row = table::find(from, action).expect("accepted move has a row");
                    prop_assert!(row.roles.contains(actor.role()));
                    prop_assert_eq!(dry_run, Ok(row.to), "check and apply agree");
                    prop_assert_eq!(task.status(), row.to);
                    prop_assert_eq!(task.version(), before.version() + 1);
                    // Final statuses absorb.
                    prop_assert!(!from.is_final(), "a move left final status {}", from);
                    match event {
                        Some(event) => {
                            prop_assert_eq!(event.action(), action);
                            prop_assert_eq!(&event.command.token(), &command.token());
                            if event.action() == Action::Fail {
                                // The classification decided the origin and what follows.
                                prop_assert!(event.effect.is_some());
                            }
                            prop_assert_eq!(&event.actor, &actor);
                            prop_assert_eq!(event.at, now);
                            prop_assert!(row.roles.contains(event.actor.role()));
                            prop_assert_eq!(event.from, Some(from));
                            prop_assert_eq!(event.to, row.to);
                            prop_assert_eq!(event.version, before.version() + 1);
                            // The event counts the heartbeats since the previous one.
                            prop_assert_eq!(event.heartbeats, heartbeats_since_last_event(&before));
                            // Each start issues a token larger than every
                            // earlier one, whatever the clock did, and the
                            // lease holds it.
                            if let Some(token) = event.lease_token() {
                                prop_assert!(last_token < Some(token));
                                prop_assert!(task.lease().is_some_and(|lease| lease.is_held_by(token)));
                                last_token = Some(token);
                            }
                            log.push(event);
                        }
                        None => {
                            // Only an accepted heartbeat goes unlogged: lease
                            // state, which it only extends.
                            prop_assert_eq!(action, Action::Heartbeat);
                            prop_assert_eq!(row.to, from);
                            let (lease, was) = (task.lease().unwrap(), before.lease().unwrap());
                            prop_assert_eq!(lease.heartbeats(), was.heartbeats() + 1);
                            prop_assert!(lease.expires_at() >= was.expires_at());
                            prop_assert_eq!(task.updated_at(), now);
                        }
                    }
                }
                Err(rejection) => {
                    // A rejected command changes nothing: the whole record.
                    prop_assert_eq!(&task, &before);
                    prop_assert_eq!(dry_run, Err(rejection));
                }
            }
            prop_assert_eq!(task.version(), accepted);
            assert_invariants(&task, &log);
            // The log kept so far rebuilds the record at every step.
            assert_log_rebuilds(&task, &log);
        }
        // Replay rebuilds the record.
        assert_log_rebuilds(&task, &log);
        // JSON round-trips exactly.
        let json = serde_json::to_string(&task).unwrap();
        let back: Task<taskstate::NamedKind> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &task);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn final_statuses_absorb_every_command(
        Logged { mut task, .. } in start_task(),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let mut now = task.created_at();
        let mut settled_final: Option<Task<taskstate::NamedKind>> = None;
        for step in &steps {
            now += Duration::seconds(step.advance);
            let (command, actor) = step.resolve(&task, now);
            let result = task.apply(command, actor, now).map(|e| e.map(|e| e.version));
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
        mut logged in start_task(),
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let mut now = logged.task.created_at();
        // Accepted heartbeats, which leave no event in the log.
        let mut heartbeats = Vec::new();
        for step in &steps {
            now += Duration::seconds(step.advance);
            let (command, actor) = step.resolve(&logged.task, now);
            if let Ok(None) = logged.apply(command.clone(), actor, now) {
                heartbeats.push(command);
            }
        }
        for command in &heartbeats {
            let json = serde_json::to_string(command).unwrap();
            let back: taskstate::Command<taskstate::NamedKind> = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, command);
        }
        for event in &logged.log {
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
        let mut logged = start_task().new_tree(&mut runner).unwrap().current();
        let steps = proptest::collection::vec(step(), 1..60)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut now = logged.task.created_at();
        for step in steps {
            now += Duration::seconds(step.advance);
            let (command, actor) = step.resolve(&logged.task, now);
            let from = logged.task.status();
            // Heartbeats are not logged: they are counted as they are accepted.
            if let Ok(None) = logged.apply(command, actor, now) {
                coverage.record(Some(from), Action::Heartbeat);
            }
        }
        coverage.record_history(&logged.log);
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
