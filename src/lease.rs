//! Fenced leases: how an executor holds a running task.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The token of one run of a task. Serialized as a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeaseToken(u64);

impl LeaseToken {
    /// A token from its number, as a host that stored it reads it back.
    pub const fn new(value: u64) -> Self {
        LeaseToken(value)
    }

    /// The token of the run started by the event of version `version`.
    pub(crate) const fn for_start(version: u64) -> Self {
        LeaseToken(version)
    }

    /// The token's number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An executor's hold on a running or waiting task.
///
/// Besides the run's token and its deadline, the lease keeps what
/// heartbeats change: a heartbeat moves the deadline (never earlier), may
/// leave a progress note, and, on a waiting task, may move the time to
/// check again. None of that is logged: a lease is state, not history,
/// and [`heartbeats`](Lease::heartbeats) counts the heartbeats since the
/// last logged event so that a log can be checked against its record.
///
/// The token is not readable from here: a run's handle is rebuilt from
/// the token its executor kept ([`Run::rebuild`](crate::Run::rebuild)),
/// and [`is_held_by`](Lease::is_held_by) answers whether a token is this
/// lease's.
///
/// # Leases
///
/// Fenced leases: how an executor holds a running task.
///
/// `start` hands the executor a [`Lease`]: a deadline and a [`LeaseToken`]
/// unique to that run. Every later executor command (heartbeat, wait,
/// resume, complete, fail, acknowledge a cancel) presents the token. When
/// a lease runs out, the task can be marked stalled and requeued; a new
/// `start` then issues a new token, and a late command from the first
/// worker carries a stale one and is refused. A slow worker can never
/// overwrite its successor's result.
///
/// The token is the version of the task at which its run started, so it
/// grows with every run of the same task (a fencing token in the sense of
/// lock services) and needs no random source. It fences runs; it is not a
/// secret: customers cannot issue executor commands whatever they hold,
/// because the table grants those moves to the system only.
///
/// Heartbeats are lease state, not history: they extend the deadline
/// without adding an event to the task's log, so a task that heartbeats
/// every ten seconds for a day logs only its real transitions. They still
/// bump the task's version, so a store's compare-and-swap orders a
/// heartbeat against every other save: neither can overwrite the other.
///
/// The deadline is advisory until someone acts on it: a command with the
/// current token is accepted even after the deadline, as long as nobody
/// has marked the task stalled in between (the store's compare-and-swap
/// orders the two).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    token: LeaseToken,
    expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    worker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    check_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    heartbeats: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Lease {
    /// The lease of the run started by the event of version `version`.
    pub(crate) fn new(version: u64, expires_at: DateTime<Utc>, worker: Option<String>) -> Self {
        Lease {
            token: LeaseToken::for_start(version),
            expires_at,
            worker,
            check_at: None,
            note: None,
            heartbeats: 0,
        }
    }

    /// Whether `token` is this lease's: whether a command presenting it
    /// comes from the run that holds the task now.
    pub fn is_held_by(&self, token: LeaseToken) -> bool {
        self.token == token
    }

    pub(crate) fn token(&self) -> LeaseToken {
        self.token
    }

    /// When the lease runs out unless a heartbeat extends it (while
    /// waiting: when the wait gives up).
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// Which worker holds it, if the executor said so at `start`.
    pub fn worker(&self) -> Option<&str> {
        self.worker.as_deref()
    }

    /// While waiting: when to look again (a poll's next time, a
    /// `Retry-After`), before the wait gives up at
    /// [`expires_at`](Lease::expires_at).
    pub fn check_at(&self) -> Option<DateTime<Utc>> {
        self.check_at
    }

    /// The progress message of the run's latest heartbeat, until a logged
    /// event sets the task's comment (a wait's reason, a cancel's).
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// How many heartbeats were accepted since the last logged event.
    pub fn heartbeats(&self) -> u32 {
        self.heartbeats
    }

    /// Whether the lease has run out at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    pub(crate) fn extend(&mut self, until: DateTime<Utc>) {
        self.expires_at = until;
    }

    pub(crate) fn set_check_at(&mut self, at: Option<DateTime<Utc>>) {
        self.check_at = at;
    }

    /// Records a heartbeat.
    pub(crate) fn beat(
        &mut self,
        until: DateTime<Utc>,
        note: Option<&String>,
        check_at: Option<DateTime<Utc>>,
    ) {
        self.expires_at = until;
        if note.is_some() {
            self.note = note.cloned();
        }
        if check_at.is_some() {
            self.check_at = check_at;
        }
        self.heartbeats = self.heartbeats.saturating_add(1);
    }

    /// A logged event on the run: the heartbeats before it are counted in
    /// it, and a comment it sets replaces the note.
    pub(crate) fn logged(&mut self, sets_comment: bool) {
        self.heartbeats = 0;
        if sets_comment {
            self.note = None;
        }
    }

    /// Whether this lease is the one a log rebuilds as `logged`, up to
    /// what heartbeats change and the log does not keep: the same token
    /// and worker, a deadline no earlier (heartbeats only extend it), and
    /// any check time and note.
    pub(crate) fn agrees_with_log(&self, logged: &Lease) -> bool {
        self.token == logged.token
            && self.worker == logged.worker
            && self.expires_at >= logged.expires_at
    }
}
