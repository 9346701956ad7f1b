//! Any bytes read as a command, then applied by each actor to a task in
//! each of a few states: an error or an accepted event, never a panic; a
//! rejected command leaves the task as it was.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use taskstate::{
    Actor, Command, Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task,
};

fn tasks() -> Vec<Task<NamedKind>> {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    let new = NewTask::new(
        IdGenerator::seeded(7).next_id(at),
        NamedKind::new("DomainCreate"),
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    );
    let pending = Task::create(new, Actor::System, at).unwrap();
    let mut running = pending.clone();
    let run = running
        .start(at + chrono::Duration::minutes(5), None, at)
        .unwrap();
    let mut failed = running.clone();
    run.fail(
        &mut failed,
        Failure::provider("DOWN", "the registry does not answer", at),
        at,
    )
    .unwrap();
    vec![pending, running, failed]
}

fuzz_target!(|data: &[u8]| {
    let Ok(command) = serde_json::from_slice::<Command<NamedKind>>(data) else {
        return;
    };
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 1, 0).unwrap();
    let actors = [
        Actor::customer("alice"),
        Actor::customer("mallory"),
        Actor::operator("bob"),
        Actor::System,
    ];
    for task in tasks() {
        for actor in &actors {
            let mut copy = task.clone();
            if copy.apply(command.clone(), actor.clone(), at).is_err() {
                assert_eq!(copy, task, "a rejected command changed the task");
            }
        }
    }
});
