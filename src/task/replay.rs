//! Replay: folding a log back into the record, and checking a record
//! against its log.
//!
//! Each event is decided again as a live command would be, and recorded
//! by the same step as [`Task::apply`]. A log that no sequence of
//! accepted commands could have produced is refused, naming the event.
//!
//! # Rules that changed
//!
//! A kind's rules are a function of the kind's value, and the create
//! event records that value. A host that versions its rules puts the
//! version in its kind (`DomainCreate { rules: 2 }`) and keeps answering
//! the rules of every version it has stored: [`ReplayMode::Strict`] then
//! replays every log under the rules it was recorded with. A host that
//! changed its rules in place replays older logs with
//! [`ReplayMode::AsRecorded`], which takes what the rules decided as the
//! events record it and still checks everything the state decides.
//!
//! Replay costs the log's length plus the subtasks, never their product.

use std::borrow::Borrow;

use super::decide::{Assume, Scope, check_creation};
use super::{Identity, Task};
use crate::action::Action;
use crate::command::{Command, Decision, Event};
use crate::failure::FollowUp;
use crate::rules::TaskKind;
use crate::table;
use crate::task::error::ReplayError;

/// How replay treats what a kind's rules decided.
///
/// # Example
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// # let mut log = vec![created];
/// # log.extend(task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?);
/// use taskstate::ReplayMode;
///
/// assert_eq!(ReplayMode::default(), ReplayMode::Strict);
/// // Under unchanged rules, both modes rebuild the same record.
/// assert_eq!(Task::replay_with(&log, ReplayMode::Strict)?, task);
/// assert_eq!(Task::replay_with(&log, ReplayMode::AsRecorded)?, task);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReplayMode {
    /// Every event decided again under the kind its create event records:
    /// every guard, the argument specs, and every recorded decision (a
    /// failure's origin, follow-up and counted attempt, the values a
    /// correction replaced) must be the one the rules and the state give.
    #[default]
    Strict,
    /// For logs recorded under rules that have changed since: the guards
    /// that read the kind's rules (cancel, accelerate, edit, relaunch) and
    /// the argument specs are taken as passed, and recorded decisions as
    /// recorded, as long as the state allows them: a counted attempt only
    /// for a run that was running, no retry after a cancel request, no
    /// retry before the failure, replaced values that were the values.
    AsRecorded,
}

impl<K: TaskKind> Task<K> {
    /// Rebuilds a task from its log, under [`ReplayMode::Strict`].
    ///
    /// The task is rebuilt from what the log holds. Heartbeats are not in
    /// it: while a run goes on, the rebuilt lease has the deadline and
    /// check time its last logged move (`start`, `wait`, `resume`) set,
    /// no progress note, and the version of the last event. Everything
    /// else is the record's. To compare a stored record with its log, use
    /// [`check_log`](Task::check_log), which allows exactly these
    /// differences.
    ///
    /// # Errors
    ///
    /// A [`ReplayError`] naming the first event that does not fit:
    /// [`Empty`](ReplayError::Empty), [`NotCreatedFirst`](ReplayError::NotCreatedFirst),
    /// [`CreatedTwice`](ReplayError::CreatedTwice), a
    /// [`VersionGap`](ReplayError::VersionGap) (an event missing,
    /// repeated or out of order), a [`Heartbeat`](ReplayError::Heartbeat)
    /// in the log, a move the task refuses ([`Illegal`](ReplayError::Illegal)),
    /// a recorded `from` or `to` the table does not give
    /// ([`Inconsistent`](ReplayError::Inconsistent)), or a decision the
    /// rules do not give ([`Undecided`](ReplayError::Undecided),
    /// [`Misclassified`](ReplayError::Misclassified)).
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ReplayError, ResourceRef, Task};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// let mut log = vec![created];
    /// log.extend(task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?);
    /// assert_eq!(Task::replay(&log)?, task);
    ///
    /// // A log with an event dropped is refused.
    /// log.remove(0);
    /// assert!(matches!(Task::replay(&log), Err(ReplayError::NotCreatedFirst { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replay<E: Borrow<Event<K>>>(
        log: impl IntoIterator<Item = E>,
    ) -> Result<Task<K>, ReplayError> {
        Task::replay_with(log, ReplayMode::Strict)
    }

    /// Rebuilds a task from its log, under `mode`.
    ///
    /// # Errors
    ///
    /// As [`replay`](Task::replay); under [`ReplayMode::AsRecorded`] an
    /// [`Undecided`](ReplayError::Undecided) names a decision the state
    /// does not allow.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, CancelRules, Command, IdGenerator, NamedKind, NewTask, Owner, ReplayError, ReplayMode, ResourceRef, Rules, Status, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, created) = Task::create(new.clone(), Actor::customer("alice"), now)?;
    /// let mut log = vec![created];
    /// log.extend(task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?);
    ///
    /// // Since then, the host changed the kind's rules in place: nobody may cancel.
    /// let mut changed = new;
    /// changed.kind = NamedKind::with_rules("DomainCreate", Rules::new().cancel(CancelRules::NEVER));
    /// log[0].command = Command::Create(Arc::new(changed));
    /// let strict = Task::replay_with(&log, ReplayMode::Strict);
    /// assert!(matches!(strict, Err(ReplayError::Illegal { version: 2, .. })));
    /// assert_eq!(Task::replay_with(&log, ReplayMode::AsRecorded)?.status(), Status::Cancelled);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replay_with<E: Borrow<Event<K>>>(
        log: impl IntoIterator<Item = E>,
        mode: ReplayMode,
    ) -> Result<Task<K>, ReplayError> {
        let scope = match mode {
            ReplayMode::Strict => Scope::Full,
            ReplayMode::AsRecorded => Scope::StateOnly,
        };
        let mut events = log.into_iter();
        let first = events.next().ok_or(ReplayError::Empty)?;
        let first = first.borrow();
        let Command::Create(new) = &first.command else {
            return Err(ReplayError::NotCreatedFirst {
                action: first.action(),
            });
        };
        if first.version != 1 || first.heartbeats != 0 {
            return Err(ReplayError::VersionGap {
                expected: 1,
                found: first.version,
            });
        }
        let creation = table::creation();
        if first.from.is_some() || first.to != creation.to {
            return Err(ReplayError::Inconsistent {
                version: 1,
                recorded_from: first.from,
                recorded_to: first.to,
                actual_from: None,
                actual_to: creation.to,
            });
        }
        check_creation(new, &first.actor, scope).map_err(|rejection| ReplayError::Illegal {
            version: 1,
            rejection,
        })?;
        if first.effect.is_some() {
            return Err(ReplayError::Undecided {
                version: 1,
                recorded: first.effect.clone(),
                decided: None,
            });
        }
        let mut task = Task::from_creation(new, first.at, first.to);
        for event in events {
            let event = event.borrow();
            task.replay_event(event, scope)?;
        }
        Ok(task)
    }

    /// Checks and records one event after the creation.
    fn replay_event(&mut self, event: &Event<K>, scope: Scope) -> Result<(), ReplayError> {
        let version = event.version;
        let expected = self
            .state
            .version
            .saturating_add(u64::from(event.heartbeats))
            .saturating_add(1);
        // Heartbeats happen only under a lease: an event after some must
        // follow a running or waiting state.
        if event.heartbeats > 0 && !self.state.status.is_leased() {
            return Err(ReplayError::VersionGap {
                expected: self.state.version.saturating_add(1),
                found: version,
            });
        }
        if version != expected {
            return Err(ReplayError::VersionGap {
                expected,
                found: version,
            });
        }
        match event.action() {
            Action::Create => return Err(ReplayError::CreatedTwice { version }),
            Action::Heartbeat => return Err(ReplayError::Heartbeat { version }),
            _ => {}
        }
        let decision = self
            .decide(
                &event.command,
                &event.actor,
                event.at,
                scope,
                Assume::Nothing,
            )
            .map_err(|rejection| ReplayError::Illegal { version, rejection })?;
        if event.from != Some(self.state.status) || event.to != decision.row.to {
            return Err(ReplayError::Inconsistent {
                version,
                recorded_from: event.from,
                recorded_to: event.to,
                actual_from: Some(self.state.status),
                actual_to: decision.row.to,
            });
        }
        match scope {
            Scope::Full => {
                if decision.effect != event.effect {
                    return Err(ReplayError::Undecided {
                        version,
                        recorded: event.effect.clone(),
                        decided: decision.effect,
                    });
                }
                if let (Command::Fail { failure, .. }, Some(decided)) =
                    (&event.command, decision.origin)
                    && failure.origin != decided
                {
                    return Err(ReplayError::Misclassified {
                        version,
                        recorded: failure.origin,
                        decided,
                    });
                }
            }
            Scope::StateOnly => self.check_recorded_effect(event)?,
        }
        self.record(event);
        Ok(())
    }

    /// Under [`ReplayMode::AsRecorded`]: whether the state allows the
    /// decision the event records.
    fn check_recorded_effect(&self, event: &Event<K>) -> Result<(), ReplayError> {
        let undecided = |decided: Option<Decision>| ReplayError::Undecided {
            version: event.version,
            recorded: event.effect.clone(),
            decided: decided.map(Box::new),
        };
        let recorded = event.effect.as_deref();
        match (&event.command, recorded) {
            (
                Command::Fail { .. },
                Some(Decision::Failed {
                    follow_up, counted, ..
                }),
            ) => {
                let counted_ok = !*counted || self.state.status.is_leased();
                let follow_up_ok = match follow_up {
                    FollowUp::Retry { at } => {
                        self.state.cancel_requested_at.is_none() && *at >= event.at
                    }
                    FollowUp::Escalated => self.state.cancel_requested_at.is_none(),
                    FollowUp::AwaitCorrection | FollowUp::Final => true,
                };
                if counted_ok && follow_up_ok {
                    Ok(())
                } else {
                    Err(undecided(None))
                }
            }
            (Command::Fail { .. }, _) => Err(undecided(None)),
            (Command::SetArgument { key, .. }, _) => {
                let decided = self.replaced([key]);
                match recorded {
                    Some(effect) if *effect == decided => Ok(()),
                    _ => Err(undecided(Some(decided))),
                }
            }
            (Command::Relaunch { arguments }, _) if !arguments.is_empty() => {
                let decided = self.replaced(arguments.keys());
                match recorded {
                    Some(effect) if *effect == decided => Ok(()),
                    _ => Err(undecided(Some(decided))),
                }
            }
            (_, None) => Ok(()),
            (_, Some(_)) => Err(undecided(None)),
        }
    }
}

impl<K: TaskKind + PartialEq> Task<K> {
    /// Checks this record against its log, under [`ReplayMode::Strict`]:
    /// the log must replay, and every field of the record must be what
    /// the log rebuilds, up to what heartbeats since the last event
    /// changed (the version grows by one per heartbeat the lease counts;
    /// the lease's deadline may be later and its check time and note
    /// other; the time of the last change is the last heartbeat's).
    ///
    /// # Errors
    ///
    /// What [`replay`](Task::replay) refuses, or
    /// [`ReplayError::Diverged`] naming the first field that disagrees.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, started) = task.start(now + Duration::minutes(1), None, now)?;
    /// for beat in 1..=100 {
    ///     run.heartbeat(&mut task, now + Duration::minutes(1 + beat), None, now + Duration::seconds(beat))?;
    /// }
    /// let log = vec![created, started];
    /// assert_eq!(task.version(), 102);
    /// task.check_log(&log)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_log<E: Borrow<Event<K>>>(
        &self,
        log: impl IntoIterator<Item = E>,
    ) -> Result<(), ReplayError> {
        self.check_log_with(log, ReplayMode::Strict)
    }

    /// Checks this record against its log, under `mode`.
    ///
    /// # Errors
    ///
    /// As [`check_log`](Task::check_log): what
    /// [`replay_with`](Task::replay_with) refuses under `mode`, or
    /// [`ReplayError::Diverged`] naming the first field that disagrees.
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ReplayError, ReplayMode, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let mut log = vec![created];
    /// # log.extend(task.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?);
    /// task.check_log_with(&log, ReplayMode::AsRecorded)?;
    /// // A log missing its last event does not make this record.
    /// let short = task.check_log_with(&log[..1], ReplayMode::AsRecorded);
    /// assert_eq!(short, Err(ReplayError::Diverged { field: "status" }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_log_with<E: Borrow<Event<K>>>(
        &self,
        log: impl IntoIterator<Item = E>,
        mode: ReplayMode,
    ) -> Result<(), ReplayError> {
        let rebuilt = Task::replay_with(log, mode)?;
        match self.first_difference(&rebuilt) {
            None => Ok(()),
            Some(field) => Err(ReplayError::Diverged { field }),
        }
    }

    /// The first field in which this record differs from `rebuilt`, its
    /// log's replay, beyond what heartbeats change.
    fn first_difference(&self, rebuilt: &Task<K>) -> Option<&'static str> {
        let (a, b): (&Identity<K>, &Identity<K>) = (&self.identity, &rebuilt.identity);
        let same = [
            ("id", a.id == b.id),
            ("kind", a.kind == b.kind),
            ("owner", a.owner == b.owner),
            ("resource", a.resource == b.resource),
            ("created_at", a.created_at == b.created_at),
            ("title", a.title == b.title),
            ("resources", a.resources == b.resources),
            ("parent", a.parent == b.parent),
            ("blocking", a.blocking == b.blocking),
            ("priority", a.priority == b.priority),
            ("unique_key", a.unique_key == b.unique_key),
        ];
        same.into_iter()
            .find(|(_, same)| !same)
            .map(|(field, _)| field)
            .or_else(|| self.state_difference(rebuilt))
    }
}

impl<K: TaskKind> Task<K> {
    /// Checks that `events`, applied to this record (the one a store
    /// holds, whose last logged event has version `last_logged`), make
    /// `next`: each event is decided again on the stored state, and the
    /// result must be `next` up to what heartbeats change. What a store
    /// checks before it saves `next` with `events`, so that its log never
    /// disagrees with its record. Costs the events, not the log.
    ///
    /// # Errors
    ///
    /// What [`replay`](Task::replay) refuses of the events, naming the
    /// first that does not fit: a [`VersionGap`](ReplayError::VersionGap)
    /// (an event's version does not follow `last_logged`, or the event
    /// before it, by one plus the heartbeats it counts),
    /// [`CreatedTwice`](ReplayError::CreatedTwice),
    /// a [`Heartbeat`](ReplayError::Heartbeat),
    /// [`Illegal`](ReplayError::Illegal) (a move the task refuses),
    /// [`Inconsistent`](ReplayError::Inconsistent),
    /// [`Undecided`](ReplayError::Undecided) or
    /// [`Misclassified`](ReplayError::Misclassified); then
    /// [`ReplayError::Diverged`] naming the first field of `next` the
    /// events do not make (`identity` when `next` is not a record of this
    /// task).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ReplayError, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (stored, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let mut next = stored.clone();
    /// let events: Vec<_> = next.apply(Command::Cancel { reason: None }, Actor::customer("alice"), now)?.into_iter().collect();
    /// // Before it saves `next` with `events`, a store checks that they make it.
    /// stored.check_next(stored.version(), &events, &next)?;
    /// assert_eq!(stored.check_next(stored.version(), &[], &next), Err(ReplayError::Diverged { field: "status" }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_next(
        &self,
        last_logged: u64,
        events: &[Event<K>],
        next: &Task<K>,
    ) -> Result<(), ReplayError> {
        let mut rebuilt = self.clone();
        // The heartbeats saved since the last event are counted again by
        // the next event, or by `next`'s lease.
        rebuilt.state.version = last_logged;
        if let Some(lease) = &mut rebuilt.state.lease {
            lease.logged(false);
        }
        for event in events {
            rebuilt.replay_event(event, Scope::Full)?;
        }
        if !next.same_identity(&rebuilt) {
            return Err(ReplayError::Diverged { field: "identity" });
        }
        match next.state_difference(&rebuilt) {
            None => Ok(()),
            Some(field) => Err(ReplayError::Diverged { field }),
        }
    }

    /// Checks that `task` is the record its creation event `created`
    /// makes: what a store checks before it inserts them.
    ///
    /// # Errors
    ///
    /// What [`replay`](Task::replay) refuses of the creation:
    /// [`NotCreatedFirst`](ReplayError::NotCreatedFirst) when `created` is
    /// not a `create`, [`VersionGap`](ReplayError::VersionGap) when its
    /// version is not 1, [`Inconsistent`](ReplayError::Inconsistent) when
    /// its `from` or `to` is not the table's, [`Illegal`](ReplayError::Illegal)
    /// when the creation is refused (see [`create`](Task::create)'s
    /// errors), [`Undecided`](ReplayError::Undecided) when it records a
    /// decision; then [`ReplayError::Diverged`] naming the first field
    /// that differs (`identity` when `task` is another task).
    ///
    /// # Example
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ReplayError, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// Task::check_created(&task, &created)?;
    /// // Another task's record is not what this creation makes.
    /// let other = NewTask::new(IdGenerator::seeded(2).next_id(now), NamedKind::new("DomainCreate"),
    ///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (other, _) = Task::create(other, Actor::customer("alice"), now)?;
    /// assert_eq!(Task::check_created(&other, &created), Err(ReplayError::Diverged { field: "identity" }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_created(task: &Task<K>, created: &Event<K>) -> Result<(), ReplayError> {
        let rebuilt = Task::replay([created])?;
        if !task.same_identity(&rebuilt) {
            return Err(ReplayError::Diverged { field: "identity" });
        }
        match task.state_difference(&rebuilt) {
            None => Ok(()),
            Some(field) => Err(ReplayError::Diverged { field }),
        }
    }
}

impl<K> Task<K> {
    /// The first field of the state in which this record differs from
    /// `rebuilt`, beyond what heartbeats change.
    fn state_difference(&self, rebuilt: &Task<K>) -> Option<&'static str> {
        let (s, r) = (&self.state, &rebuilt.state);
        let heartbeats = s.lease.as_ref().map_or(0, |lease| lease.heartbeats());
        let same = [
            ("status", s.status == r.status),
            (
                "version",
                s.version == r.version.saturating_add(u64::from(heartbeats)),
            ),
            ("updated_at", heartbeats > 0 || s.updated_at == r.updated_at),
            ("done_at", s.done_at == r.done_at),
            ("todo_at", s.todo_at == r.todo_at),
            (
                "lease",
                match (&s.lease, &r.lease) {
                    (Some(stored), Some(logged)) => stored.agrees_with_log(logged),
                    (None, None) => true,
                    _ => false,
                },
            ),
            (
                "cancel_requested_at",
                s.cancel_requested_at == r.cancel_requested_at,
            ),
            ("comment", s.comment == r.comment),
            ("warnings", s.warnings == r.warnings),
            ("arguments", s.arguments == r.arguments),
            ("failure", s.failure == r.failure),
            ("follow_up", s.follow_up == r.follow_up),
            ("to_correct", s.to_correct == r.to_correct),
            ("outcome", s.outcome == r.outcome),
            ("subtasks", s.subtasks == r.subtasks),
            ("progress", s.progress == r.progress),
            ("resolution", s.resolution == r.resolution),
            ("runs", s.runs == r.runs),
            ("attempts", s.attempts == r.attempts),
            ("relaunches", s.relaunches == r.relaunches),
        ];
        same.into_iter()
            .find(|(_, same)| !same)
            .map(|(field, _)| field)
    }
}
