//! The seven canonical statuses of a task, and sets of them.

use std::fmt;

use serde::{Deserialize, Serialize};

use thiserror::Error;

crate::vocabulary::vocabulary! {
    /// The canonical status of a task.
    ///
    /// Serialized in `snake_case` (`"pending"`, `"running"`, …), the same text
    /// as [`Status::as_str`], [`Display`](fmt::Display) and [`FromStr`](std::str::FromStr).
    ///
    /// # The statuses
    ///
    /// The seven canonical statuses of a task, and sets of them.
    ///
    /// Every provider vocabulary (OVHcloud's `todo/doing/done`, Dyn's
    /// `ready/running/…/stalled`, VMware's `IN_PROGRESS/SUCCESSFUL`,
    /// Cloudflare's `pending/completed`) is a view over these seven.
    ///
    /// | status | meaning |
    /// |---|---|
    /// | [`Pending`](Status::Pending) | accepted, waiting to run; may carry a `todo_at` time |
    /// | [`Running`](Status::Running) | an executor holds it under a lease |
    /// | [`Waiting`](Status::Waiting) | paused on an outside party (a registry, a peer) |
    /// | [`Stalled`](Status::Stalled) | its lease ran out while running or waiting |
    /// | [`Done`](Status::Done) | finished successfully; final |
    /// | [`Failed`](Status::Failed) | finished with an error; settled, but may be reopened |
    /// | [`Cancelled`](Status::Cancelled) | stopped on request; final |
    ///
    /// Which command moves a task from one status to another is the business
    /// of the [transition table](crate::table).
    ///
    /// ## Why `Status` has no `Ord`
    ///
    /// A lifecycle is a graph, not a line: `Failed` is not "greater" than
    /// `Running` (a relaunch takes it back to `Pending`), and `Waiting` and
    /// `Stalled` are side branches of `Running`. An `Ord` would invite code
    /// such as `status >= Status::Running` that silently breaks the day a
    /// status is added. Ask the question you mean instead
    /// ([`is_final`](Status::is_final), [`is_active`](Status::is_active), …), or
    /// use a [`StatusSet`]. The declaration order is used only for display.
    ///
    /// ## Example
    ///
    /// ```
    /// use taskstate::Status;
    ///
    /// let status: Status = "running".parse()?;
    /// assert!(status.is_active());
    /// assert!(!status.is_final());
    /// assert_eq!(status.to_string(), "running");
    /// # Ok::<(), taskstate::ParseStatusError>(())
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[serde(rename_all = "snake_case")]
    pub enum Status("status", "statuses") {
        /// Accepted and waiting to run, possibly not before its `todo_at`.
        Pending => "pending",
        /// An executor holds the task under a lease.
        Running => "running",
        /// Paused on an outside party (a registry, a peer); the run's lease
        /// still holds, with the wait's deadline.
        Waiting => "waiting",
        /// The lease ran out while the task was running or waiting: its
        /// executor is presumed gone.
        Stalled => "stalled",
        /// Finished successfully. Final.
        Done => "done",
        /// Finished with an error. Settled, but a relaunch or a retry may
        /// reopen it.
        Failed => "failed",
        /// Stopped on request. Final.
        Cancelled => "cancelled",
    }
    fn index;
    impl FromStr<Err = ParseStatusError>;
}

impl Status {
    /// `Done` or `Cancelled`: nothing can ever change the status again.
    ///
    /// ```
    /// use taskstate::Status;
    /// assert!(Status::Done.is_final());
    /// assert!(!Status::Failed.is_final()); // a relaunch may reopen it
    /// ```
    pub const fn is_final(self) -> bool {
        matches!(self, Status::Done | Status::Cancelled)
    }

    /// `Done`, `Failed` or `Cancelled`: no work is going on and none is
    /// scheduled. A `Failed` task is settled but not final.
    ///
    /// ```
    /// use taskstate::Status;
    ///
    /// assert!(Status::Failed.is_settled());
    /// assert!(Status::Cancelled.is_settled());
    /// assert!(!Status::Stalled.is_settled()); // a requeue may run it again
    /// ```
    pub const fn is_settled(self) -> bool {
        matches!(self, Status::Done | Status::Failed | Status::Cancelled)
    }

    /// `Pending`, `Running`, `Waiting` or `Stalled`: the task is still
    /// underway (the opposite of [`is_settled`](Status::is_settled)).
    ///
    /// ```
    /// use taskstate::Status;
    ///
    /// assert!(Status::Pending.is_active());
    /// assert!(Status::Stalled.is_active());
    /// assert!(!Status::Failed.is_active());
    /// ```
    pub const fn is_active(self) -> bool {
        !self.is_settled()
    }

    /// `Running` or `Waiting`: an executor's run holds a lease on the task.
    ///
    /// ```
    /// use taskstate::Status;
    ///
    /// assert!(Status::Waiting.is_leased());
    /// assert!(!Status::Stalled.is_leased()); // its lease ran out
    /// ```
    pub const fn is_leased(self) -> bool {
        matches!(self, Status::Running | Status::Waiting)
    }

    /// `Running`, `Waiting` or `Stalled`: a run has started and not
    /// ended, so the task holds its resource (what blocking looks at).
    ///
    /// ```
    /// use taskstate::Status;
    ///
    /// assert!(Status::Stalled.is_in_progress());
    /// assert!(!Status::Pending.is_in_progress()); // not started yet
    /// ```
    pub const fn is_in_progress(self) -> bool {
        matches!(self, Status::Running | Status::Waiting | Status::Stalled)
    }

    /// `Done`.
    ///
    /// ```
    /// use taskstate::Status;
    ///
    /// assert!(Status::Done.is_success());
    /// assert!(!Status::Cancelled.is_success()); // final, but not a success
    /// ```
    pub const fn is_success(self) -> bool {
        matches!(self, Status::Done)
    }
}

/// A set of statuses, stored as a bit mask: cheap to copy, compare and
/// test.
///
/// Rules use it (the statuses in which a kind may be cancelled), and so do
/// filters.
///
/// ```
/// use taskstate::{Status, StatusSet};
///
/// let set = StatusSet::of(&[Status::Pending, Status::Failed]);
/// assert!(set.contains(Status::Failed));
/// assert!(!set.contains(Status::Running));
/// assert_eq!(set.iter().collect::<Vec<_>>(), [Status::Pending, Status::Failed]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<Status>", into = "Vec<Status>")]
pub struct StatusSet(u8);

impl StatusSet {
    /// No status.
    ///
    /// ```
    /// use taskstate::{Status, StatusSet};
    ///
    /// assert!(StatusSet::EMPTY.is_empty());
    /// assert_eq!(StatusSet::EMPTY.with(Status::Done), StatusSet::of(&[Status::Done]));
    /// assert_eq!(StatusSet::EMPTY, StatusSet::default());
    /// ```
    pub const EMPTY: StatusSet = StatusSet(0);

    /// Every status.
    ///
    /// ```
    /// use taskstate::{Status, StatusSet};
    ///
    /// assert_eq!(StatusSet::ALL.iter().count(), Status::COUNT);
    /// let unfinished = StatusSet::ALL.without(Status::Done).without(Status::Cancelled);
    /// assert!(!unfinished.contains(Status::Done) && unfinished.contains(Status::Failed));
    /// ```
    pub const ALL: StatusSet = StatusSet((1 << Status::COUNT) - 1);

    /// The set of the given statuses; usable in a `const`.
    ///
    /// ```
    /// use taskstate::{Status, StatusSet};
    ///
    /// const RETRYABLE: StatusSet = StatusSet::of(&[Status::Stalled, Status::Failed]);
    /// assert!(RETRYABLE.contains(Status::Stalled));
    /// assert_eq!(RETRYABLE.to_string(), "{stalled, failed}");
    /// ```
    pub const fn of(statuses: &[Status]) -> StatusSet {
        let mut bits = 0;
        let mut i = 0;
        while i < statuses.len() {
            bits |= 1 << statuses[i].index();
            i += 1;
        }
        StatusSet(bits)
    }

    /// Whether `status` is in the set.
    ///
    /// ```
    /// use taskstate::{Status, StatusSet};
    ///
    /// let set = StatusSet::of(&[Status::Pending]);
    /// assert!(set.contains(Status::Pending));
    /// assert!(!set.contains(Status::Running));
    /// ```
    #[inline]
    pub const fn contains(self, status: Status) -> bool {
        self.0 & (1 << status.index()) != 0
    }

    /// This set with `status` added (unchanged if it was there).
    ///
    /// ```
    /// use taskstate::{Status, StatusSet};
    ///
    /// let set = StatusSet::EMPTY.with(Status::Waiting).with(Status::Waiting);
    /// assert_eq!(set.iter().collect::<Vec<_>>(), [Status::Waiting]);
    /// ```
    pub const fn with(self, status: Status) -> StatusSet {
        StatusSet(self.0 | (1 << status.index()))
    }

    /// This set with `status` removed (unchanged if it was not there).
    ///
    /// ```
    /// use taskstate::{Status, StatusSet};
    ///
    /// let set = StatusSet::of(&[Status::Pending, Status::Failed]).without(Status::Failed);
    /// assert_eq!(set, StatusSet::of(&[Status::Pending]));
    /// assert_eq!(set.without(Status::Done), set);
    /// ```
    pub const fn without(self, status: Status) -> StatusSet {
        StatusSet(self.0 & !(1 << status.index()))
    }

    /// The statuses in either set.
    ///
    /// ```
    /// use taskstate::{Status, StatusSet};
    ///
    /// let leased = StatusSet::of(&[Status::Running, Status::Waiting]);
    /// let both = StatusSet::of(&[Status::Pending]).union(leased);
    /// assert_eq!(both.to_string(), "{pending, running, waiting}");
    /// ```
    pub const fn union(self, other: StatusSet) -> StatusSet {
        StatusSet(self.0 | other.0)
    }

    /// Whether the set has no status.
    ///
    /// ```
    /// use taskstate::{Status, StatusSet};
    ///
    /// assert!(StatusSet::of(&[]).is_empty());
    /// assert!(StatusSet::of(&[Status::Done]).without(Status::Done).is_empty());
    /// assert!(!StatusSet::ALL.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The statuses in the set, in declaration order (not the order they
    /// were given in).
    ///
    /// ```
    /// use taskstate::{Status, StatusSet};
    ///
    /// let set = StatusSet::of(&[Status::Failed, Status::Pending]);
    /// assert_eq!(set.iter().collect::<Vec<_>>(), [Status::Pending, Status::Failed]);
    /// ```
    pub fn iter(self) -> impl Iterator<Item = Status> {
        Status::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl From<Vec<Status>> for StatusSet {
    fn from(statuses: Vec<Status>) -> Self {
        StatusSet::of(&statuses)
    }
}

impl From<StatusSet> for Vec<Status> {
    fn from(set: StatusSet) -> Self {
        set.iter().collect()
    }
}

impl FromIterator<Status> for StatusSet {
    fn from_iter<I: IntoIterator<Item = Status>>(iter: I) -> Self {
        iter.into_iter().fold(StatusSet::EMPTY, StatusSet::with)
    }
}

impl fmt::Display for StatusSet {
    /// `{pending, failed}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, status) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(status.as_str())?;
        }
        f.write_str("}")
    }
}

/// Text that names no canonical status.
///
/// ```
/// use taskstate::Status;
///
/// let err = "doing".parse::<Status>().err().ok_or("parsed")?;
/// assert_eq!(err.to_string(), "unknown status `doing`");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("unknown status `{value}`")]
pub struct ParseStatusError {
    value: String,
}

impl ParseStatusError {
    pub(crate) fn new(value: &str) -> Self {
        ParseStatusError {
            value: value.to_owned(),
        }
    }

    /// The text that was read.
    ///
    /// ```
    /// use taskstate::Status;
    ///
    /// // Provider words are not canonical statuses: read them with a profile.
    /// let err = "todo".parse::<Status>().err().ok_or("parsed")?;
    /// assert_eq!(err.value(), "todo");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value(&self) -> &str {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_display_from_str_and_serde() {
        crate::vocabulary::assert_words_agree(&Status::ALL, Status::as_str);
        crate::vocabulary::assert_words_parse(&Status::ALL, Status::as_str);
    }

    #[test]
    fn unknown_name_is_a_typed_error_naming_the_value() {
        let err = "doing".parse::<Status>().unwrap_err();
        assert_eq!(err.value(), "doing");
        assert_eq!(err.to_string(), "unknown status `doing`");
        assert!(
            "Pending".parse::<Status>().is_err(),
            "canonical names are exact"
        );
    }

    #[test]
    fn predicates_partition_the_statuses() {
        for status in Status::ALL {
            assert_ne!(status.is_active(), status.is_settled());
            if status.is_final() {
                assert!(status.is_settled());
            }
            if status.is_leased() {
                assert!(status.is_active());
            }
            assert_eq!(
                status.is_in_progress(),
                status.is_active() && status != Status::Pending
            );
        }
        let finals: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [Status::Done, Status::Cancelled]);
    }

    #[test]
    fn index_matches_position_in_all() {
        for (i, status) in Status::ALL.into_iter().enumerate() {
            assert_eq!(status.index(), i);
        }
    }

    #[test]
    fn status_set_operations() {
        let set = StatusSet::EMPTY.with(Status::Running).with(Status::Done);
        assert!(set.contains(Status::Running) && set.contains(Status::Done));
        assert!(!set.contains(Status::Pending));
        assert_eq!(set.without(Status::Done), StatusSet::of(&[Status::Running]));
        assert!(StatusSet::EMPTY.is_empty());
        assert_eq!(StatusSet::ALL.iter().count(), Status::COUNT);
        assert_eq!(set.to_string(), "{running, done}");
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["running","done"]"#);
        assert_eq!(serde_json::from_str::<StatusSet>(&json).unwrap(), set);
        assert_eq!(
            Status::ALL.into_iter().collect::<StatusSet>(),
            StatusSet::ALL
        );
    }
}
