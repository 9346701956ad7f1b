//! Properties over random sequences of commands from random actors at
//! random (monotonic and non-monotonic) times, on tasks of random rules.
//!
//! More cases: `PROPTEST_CASES=20000 cargo test --test properties`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::Duration;
use proptest::prelude::*;
use taskstate::{Status, Task, table};

use common::{start_task, step, t};

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
    }
    assert!(task.attempts() <= task.runs());
    let last = task.history().last().unwrap();
    assert_eq!(last.to, task.status());
    assert_eq!(last.version, task.version());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_sequences_keep_every_invariant(
        mut task in start_task(),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut now = t(0);
        let mut accepted = 1u64; // the creation
        for step in &steps {
            now += Duration::seconds(step.advance);
            let command = step.command(&task, now);
            let before = task.clone();
            let dry_run = task.check(&command, &step.actor, now).map(|row| row.to);
            match task.apply(command, step.actor.clone(), now) {
                Ok(event) => {
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
        let mut now = t(0);
        let mut settled_final: Option<Task<taskstate::NamedKind>> = None;
        for step in &steps {
            now += Duration::seconds(step.advance);
            let command = step.command(&task, now);
            let result = task.apply(command, step.actor.clone(), now).map(|e| e.version);
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
        let mut now = t(0);
        for step in &steps {
            now += Duration::seconds(step.advance);
            let command = step.command(&task, now);
            let _ = task.apply(command, step.actor.clone(), now);
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
