//! Dyn DNS: a zone publish in five steps, blocking other changes on the
//! zone, and a pending change cancelled.
//!
//! Run: `cargo run --example dyn_zone_publish`
//!
//! Prints the tasks as Dyn's API shows them (`task_id`, `status`,
//! `step_count`/`total_steps`, `blocking`, POSIX times) at each step.

use chrono::{DateTime, Duration, TimeZone, Utc};
use taskstate::profiles::dyn_dns::DynTask;
use taskstate::store::{ClaimRequest, MemoryStore, Scope, TaskStore};
use taskstate::{
    Actor, CancelRules, Command, IdGenerator, NamedKind, NewSubtask, NewTask, Outcome, Owner,
    ResourceRef, Rules, SubtaskChange, Task,
};

fn show(step: &str, task: &Task<NamedKind>, dyn_id: u64) -> Result<(), serde_json::Error> {
    println!(
        "== {step}\n{}\n",
        serde_json::to_string(&DynTask::of(task, dyn_id))?
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .ok_or("bad time")?;
    let at = |seconds: i64| t0 + Duration::seconds(seconds);
    // Dyn cancels pending tasks only; zone publishes block other changes.
    let rules = Rules::new().cancel(CancelRules::PENDING_ONLY);
    let publish_kind = NamedKind::with_rules("ZonePublish", rules.clone().blocking(true));
    let record_kind = NamedKind::with_rules("RecordUpdate", rules);
    let mut ids = IdGenerator::seeded(1725);
    let zone = ResourceRef::new("zone", "example.com");
    let store = MemoryStore::new();

    let mut publish = NewTask::new(
        ids.next_id(t0),
        publish_kind,
        Owner::new("acme"),
        zone.clone(),
    );
    for step in ["validate", "sign", "serialize", "push", "notify"] {
        publish = publish.subtask(NewSubtask::new(step, format!("{step} the zone")));
    }
    let (publish, publish_created) = Task::create(publish, Actor::customer("acme"), t0)?;
    let record = NewTask::new(
        ids.next_id(at(1)),
        record_kind.clone(),
        Owner::new("acme"),
        zone.clone(),
    );
    let (record, record_created) = Task::create(record, Actor::customer("acme"), at(1))?;
    let (publish_id, record_id) = (publish.id(), record.id());
    store.insert(publish, publish_created)?;
    store.insert(record, record_created)?;

    // The publish is claimed; the record update waits behind it.
    let claimed = store
        .claim(
            &ClaimRequest::new(at(2), at(600))
                .limit(10)
                .worker("dyn-worker"),
        )?
        .claimed;
    println!(
        "claimed {} task(s): the record update waits for the blocking publish\n",
        claimed.len()
    );
    for claim in claimed {
        let mut task = claim.task;
        show("publish claimed", &task, 1725)?;
        for id in 0..5u32 {
            let version = task.version();
            let mut events = Vec::new();
            for change in [SubtaskChange::Start, SubtaskChange::Succeed] {
                events.push(
                    claim
                        .run
                        .subtask(&mut task, id, change, at(3 + i64::from(id)))?,
                );
            }
            // One compare-and-swap for the record, both events appended.
            store.save(&task, version, &events)?;
            show(&format!("step {} of 5 done", id + 1), &task, 1725)?;
        }
        let version = task.version();
        let completed =
            claim
                .run
                .complete(&mut task, Outcome::new().message("zone published"), at(10))?;
        store.save(&task, version, &[completed])?;
        show("publish complete", &task, 1725)?;
    }

    // A second change arrives and its owner cancels it while pending.
    let second = NewTask::new(ids.next_id(at(11)), record_kind, Owner::new("acme"), zone);
    let (mut second, _) = Task::create(second, Actor::customer("acme"), at(11))?;
    second.apply(
        Command::Cancel {
            reason: Some("entered by mistake".into()),
        },
        Actor::customer("acme"),
        at(12),
    )?;
    show(
        "a pending change cancelled (DELETE /REST/task/1727/)",
        &second,
        1727,
    )?;

    // Now the first record update can run.
    let claimed = store
        .claim(
            &ClaimRequest::new(at(13), at(600))
                .limit(10)
                .worker("dyn-worker"),
        )?
        .claimed;
    let stored = store
        .get(&Scope::Staff, record_id)?
        .ok_or("record update lost")?;
    show("record update claimed after the publish", &stored, 1726)?;
    assert_eq!(claimed.len(), 1);
    assert!(store.get(&Scope::Staff, publish_id)?.is_some());
    Ok(())
}
