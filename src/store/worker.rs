//! A worker's loop step over any store.

use chrono::{DateTime, Utc};

use super::{Scope, StoreError, TaskStore};
use crate::actor::Actor;
use crate::command::{Command, Outcome};
use crate::error::Rejection;
use crate::failure::Failure;
use crate::id::TaskId;
use crate::rules::TaskKind;
use crate::task::Task;

/// What a handler did with a claimed task.
#[derive(Clone, Debug, PartialEq)]
pub enum Handled {
    /// The work finished.
    Complete(Outcome),
    /// The work failed.
    Fail(Failure),
    /// The work waits on an outside party until `until`.
    Wait {
        /// The wait's deadline.
        until: DateTime<Utc>,
        /// What it waits for.
        reason: Option<String>,
    },
    /// The work goes on: extend the lease.
    Heartbeat {
        /// The new deadline.
        lease_until: DateTime<Utc>,
        /// A progress message.
        progress: Option<String>,
    },
}

/// What one [`work_once`] step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkReport {
    /// Tasks whose lease had run out, marked stalled and requeued.
    pub requeued: usize,
    /// Failed tasks put back in the queue by their retry schedule.
    pub retried: usize,
    /// Tasks claimed and handed to the handler.
    pub claimed: usize,
    /// Handler results recorded.
    pub recorded: usize,
    /// Handler results refused by the task (a cancel acknowledged
    /// elsewhere, a stale lease): the task is left as the store has it.
    pub refused: usize,
    /// Saves that met another writer and were re-applied on a fresh copy.
    pub conflicts: usize,
}

/// How many times a command is re-applied on a fresh copy when its save
/// meets another writer.
const CAS_ATTEMPTS: usize = 16;

/// Applies `command` to the stored task `id` as `actor` and saves it with
/// compare-and-swap, reloading and re-applying on a conflict. Returns the
/// task as saved, or the rejection if the task refuses the command.
fn apply_and_save<K: TaskKind, S: TaskStore<K> + ?Sized>(
    store: &S,
    mut task: Task<K>,
    command: &Command<K>,
    actor: &Actor,
    now: DateTime<Utc>,
    report: &mut WorkReport,
) -> Result<Result<Task<K>, Rejection>, StoreError> {
    let id: TaskId = task.id();
    for _ in 0..CAS_ATTEMPTS {
        let expected = task.version();
        let event = match task.apply(command.clone(), actor.clone(), now) {
            Ok(event) => event,
            Err(rejection) => return Ok(Err(rejection)),
        };
        match store.save(&task, expected, event.as_slice()) {
            Ok(()) => return Ok(Ok(task)),
            Err(StoreError::Conflict { .. }) => {
                report.conflicts += 1;
                task = store
                    .get(&Scope::Staff, id)?
                    .ok_or(StoreError::NotFound { id })?;
            }
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Backend(format!(
        "task {id} kept changing under {CAS_ATTEMPTS} attempts to save it"
    )))
}

/// One step of a worker loop, at `now`: requeue tasks whose lease ran out,
/// put failed tasks whose retry is due back in the queue, claim up to
/// `batch` due tasks under a lease until `lease_until`, hand each to
/// `handler`, and record what it returns, every save a compare-and-swap
/// retried on conflict.
///
/// Call it from a thread's loop or an async runtime's blocking pool; it
/// holds no lock between calls. A host that wants housekeeping on its own
/// schedule calls the store's `expired` and `retry_due` itself and passes
/// a `batch` of claims only.
///
/// # Errors
///
/// What the store fails with ([`StoreError::Backend`], or a save that kept
/// conflicting).
pub fn work_once<K, S, H>(
    store: &S,
    now: DateTime<Utc>,
    batch: usize,
    lease_until: DateTime<Utc>,
    worker: Option<&str>,
    mut handler: H,
) -> Result<WorkReport, StoreError>
where
    K: TaskKind,
    S: TaskStore<K> + ?Sized,
    H: FnMut(&Task<K>) -> Handled,
{
    let mut report = WorkReport::default();
    let system = Actor::System;
    for task in store.expired(now, batch)? {
        let requeue = Command::Requeue { todo_at: None };
        if let Ok(stalled) = apply_and_save(
            store,
            task,
            &Command::MarkStalled,
            &system,
            now,
            &mut report,
        )? && apply_and_save(store, stalled, &requeue, &system, now, &mut report)?.is_ok()
        {
            report.requeued += 1;
        }
    }
    for task in store.retry_due(now, batch)? {
        if apply_and_save(store, task, &Command::Retry, &system, now, &mut report)?.is_ok() {
            report.retried += 1;
        }
    }
    for claimed in store.claim_due(now, batch, lease_until, worker)? {
        report.claimed += 1;
        let token = claimed.run.token();
        let command = match handler(&claimed.task) {
            Handled::Complete(outcome) => Command::Complete {
                token,
                outcome: Box::new(outcome),
            },
            Handled::Fail(failure) => Command::Fail {
                token: Some(token),
                failure: Box::new(failure),
            },
            Handled::Wait { until, reason } => Command::Wait {
                token,
                until,
                check_at: None,
                reason,
            },
            Handled::Heartbeat {
                lease_until,
                progress,
            } => Command::Heartbeat {
                token,
                lease_until,
                progress,
                check_at: None,
            },
        };
        match apply_and_save(store, claimed.task, &command, &system, now, &mut report)? {
            Ok(_) => report.recorded += 1,
            Err(_) => report.refused += 1,
        }
    }
    Ok(report)
}
