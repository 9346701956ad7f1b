//! Fenced leases: how an executor holds a running task.
//!
//! `start` hands the executor a [`Lease`]: a deadline and a [`LeaseToken`]
//! unique to that run. Every later executor command (heartbeat, wait,
//! resume, complete, fail, acknowledge a cancel) presents the token. When
//! a lease runs out, the task can be marked stalled and requeued; a new
//! `start` then issues a new token, and a late command from the first
//! worker carries a stale one and is refused. A slow worker can never
//! overwrite its successor's result.
//!
//! The token is the version of the task at which its run started, so it
//! grows with every run of the same task (a fencing token in the sense of
//! lock services) and needs no random source. It fences runs; it is not a
//! secret: customers cannot issue executor commands whatever they hold,
//! because the table grants those moves to the system only.
//!
//! The deadline is advisory until someone acts on it: a command with the
//! current token is accepted even after the deadline, as long as nobody
//! has marked the task stalled in between (the store's compare-and-swap
//! orders the two).

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
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lease {
    /// The run's token, presented by every executor command.
    pub token: LeaseToken,
    /// When the lease runs out unless a heartbeat extends it (while
    /// waiting: the wait's deadline).
    pub expires_at: DateTime<Utc>,
    /// Which worker holds it, if the executor said so at `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

impl Lease {
    /// Whether the lease has run out at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}
