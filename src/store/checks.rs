//! The checks every store makes before it writes.

use super::StoreError;
use crate::command::Event;
use crate::rules::TaskKind;
use crate::task::Task;

/// The checks of a save that any store makes before it writes: `task`
/// is newer than `expected`, has the identity of `stored` (the record
/// now stored, at version `expected`), `events` follow the log, whose
/// last event has version `last_logged`, up to `task`'s version, and
/// they make `task` from `stored` ([`Task::check_next`]).
///
/// # Errors
///
/// [`StoreError::Refused`] naming what is wrong.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::store::{StoreError, check_save};
/// use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// let (stored, _) = Task::create(new, Actor::customer("alice"), now)?;
/// let mut task = stored.clone();
/// let event = task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?;
/// check_save(&stored, &task, 1, 1, event.as_slice())?;
/// // The same save without its event would lose it from the log.
/// assert!(matches!(check_save(&stored, &task, 1, 1, &[]), Err(StoreError::Refused { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_save<K: TaskKind>(
    stored: &Task<K>,
    task: &Task<K>,
    expected: u64,
    last_logged: u64,
    events: &[Event<K>],
) -> Result<(), StoreError> {
    let refused = |reason| {
        Err(StoreError::Refused {
            id: task.id(),
            reason,
        })
    };
    if task.version() <= expected {
        return refused("the saved version does not grow: a rollback or a stale copy");
    }
    if !task.same_identity(stored) {
        return refused(
            "the save changes what never changes (id, kind, owner, resource, creation)",
        );
    }
    let mut previous = last_logged;
    for event in events {
        let follows = event
            .version
            .checked_sub(u64::from(event.heartbeats))
            .and_then(|v| v.checked_sub(1));
        if follows != Some(previous) || event.version > task.version() {
            return refused("the events do not follow the log");
        }
        previous = event.version;
    }
    let heartbeats = task.lease().map_or(0, crate::lease::Lease::heartbeats);
    if previous.checked_add(u64::from(heartbeats)) != Some(task.version()) {
        return refused("the events do not reach the saved version: an append is missing");
    }
    if stored.check_next(last_logged, events, task).is_err() {
        return refused("the events do not make the saved record from the stored one");
    }
    Ok(())
}

/// The checks of an insert that any store makes before it writes: `task`
/// is the record its creation event `created` makes (version 1, the same
/// identity and state).
///
/// # Errors
///
/// [`StoreError::Refused`] naming what is wrong.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::store::{StoreError, check_insert};
/// use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let mut ids = IdGenerator::seeded(1);
/// let mut new = |owner: &str| NewTask::new(ids.next_id(now), NamedKind::new("DomainCreate"),
///     Owner::new(owner), ResourceRef::new("domain", "example.fr"));
/// let (task, created) = Task::create(new("alice"), Actor::System, now)?;
/// check_insert(&task, &created)?;
/// let (_, other) = Task::create(new("mallory"), Actor::System, now)?;
/// assert!(matches!(check_insert(&task, &other), Err(StoreError::Refused { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_insert<K: TaskKind>(task: &Task<K>, created: &Event<K>) -> Result<(), StoreError> {
    Task::check_created(task, created).map_err(|_| StoreError::Refused {
        id: task.id(),
        reason: "a new task is inserted at version 1 with the creation that makes it",
    })
}
