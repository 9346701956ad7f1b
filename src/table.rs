//! The transition table: every legal move, written once, as data.
//!
//! A row says: from this status, this [`Action`] leads to that status, and
//! these [`Role`]s may take it, provided its [`Guard`]s hold. Everything
//! else reads these rows: [`Task::apply`](crate::Task::apply) checks a
//! command against them, a rejection lists the legal alternatives from
//! them, [`mermaid`] and [`dot`] draw the state diagram from them, and the
//! property tests generate commands from them. No other code decides
//! whether a move is legal.
//!
//! Rows whose `to` equals their `from` are self-moves: they change the
//! record but not the status (a heartbeat, an accelerate, a cancel request
//! on running work).
//!
//! Each `(from, action)` pair has at most one row, so a status and an
//! action determine the target.
//!
//! # Guards
//!
//! A guard is a condition on the record, the command or the kind's rules
//! that the row needs besides status and role: the fenced lease token, an
//! expired lease, a due time, a cancel rule. Guards are named in the row
//! and evaluated in one place, so the table still tells the whole story of
//! a move.
//!
//! # Example
//!
//! ```
//! use taskstate::{table, Action, Role, Status};
//!
//! let row = table::find(Status::Pending, Action::Start).ok_or("no row")?;
//! assert_eq!(row.to, Status::Running);
//! assert!(row.roles.contains(Role::System));
//! assert!(!row.roles.contains(Role::Customer));
//!
//! // Nothing leaves a final status.
//! assert_eq!(table::from(Status::Done).count(), 0);
//!
//! // The diagram is drawn from the same rows.
//! assert!(table::mermaid().contains("Pending --> Running : start"));
//! # Ok::<(), &'static str>(())
//! ```
//!
//! The whole table, as [`markdown`] renders it:
//!
#![doc = include_str!("../docs/table.md")]

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::actor::{Role, RoleSet};
use crate::status::Status;

/// A condition a row needs besides status and role.
///
/// ```
/// use taskstate::{table, Action, Status};
/// use taskstate::table::Guard;
///
/// let complete = table::find(Status::Running, Action::Complete).ok_or("no row")?;
/// assert_eq!(complete.guards, [Guard::LeaseHolder, Guard::SubtasksSatisfied]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// The command presents the token of the current lease (fencing: a
    /// worker whose run was requeued and started again is refused).
    LeaseHolder,
    /// The current lease's deadline has passed at `now`.
    LeaseExpired,
    /// The task's `todo_at` has come at `now` (or it has none).
    Due,
    /// The task's `todo_at` is still in the future at `now`.
    ScheduledLater,
    /// The kind's [`CancelRules`](crate::CancelRules) let this role cancel
    /// in this status.
    CancelAllowed,
    /// No cancel has been requested yet on this run.
    CancelNotRequested,
    /// A cancel has been requested on this run.
    CancelRequested,
    /// The kind's rules let this role accelerate.
    AccelerateAllowed,
    /// The kind's rules let this role edit arguments in this status (on a
    /// failed task, a customer edits only what it could relaunch).
    EditAllowed,
    /// The kind's relaunch rules let this role relaunch this failure.
    RelaunchAllowed,
    /// The failure's follow-up is a retry whose time has come.
    RetryDue,
    /// The subtask table allows the subtask's move, and the kind's
    /// aggregation policy lets it start.
    SubtaskMove,
    /// Every required subtask is succeeded, skipped or not applicable.
    SubtasksSatisfied,
    /// The command carries no lease token: staff acting on a task that no
    /// run holds (a stalled run's worker is refused).
    Unleased,
    /// Corrections a relaunch carries are allowed by the kind's edit rule.
    CorrectionsAllowed,
}

impl Guard {
    /// Whether the guard reads the kind's rules. Replaying a history
    /// re-checks every other guard, and takes these as they were decided
    /// under the rules of their time.
    pub(crate) const fn reads_rules(self) -> bool {
        matches!(
            self,
            Guard::CancelAllowed
                | Guard::AccelerateAllowed
                | Guard::EditAllowed
                | Guard::RelaunchAllowed
                | Guard::CorrectionsAllowed
        )
    }
}

impl Guard {
    /// A short description, as the docs and diagrams show it (and
    /// `Display` writes).
    ///
    /// ```
    /// use taskstate::table::Guard;
    ///
    /// assert_eq!(Guard::LeaseExpired.describe(), "lease expired");
    /// assert_eq!(Guard::Due.to_string(), Guard::Due.describe());
    /// ```
    pub const fn describe(self) -> &'static str {
        match self {
            Guard::LeaseHolder => "holds the current lease",
            Guard::LeaseExpired => "lease expired",
            Guard::Due => "todo_at reached",
            Guard::ScheduledLater => "todo_at in the future",
            Guard::CancelAllowed => "kind's cancel rules allow",
            Guard::CancelNotRequested => "no cancel requested yet",
            Guard::CancelRequested => "cancel requested",
            Guard::AccelerateAllowed => "kind allows accelerate",
            Guard::EditAllowed => "kind allows edits",
            Guard::RelaunchAllowed => "kind's relaunch rules allow",
            Guard::RetryDue => "retry scheduled and due",
            Guard::SubtaskMove => "subtask table and policy allow",
            Guard::SubtasksSatisfied => "required subtasks satisfied",
            Guard::Unleased => "carries no lease token",
            Guard::CorrectionsAllowed => "kind allows the corrections it carries",
        }
    }
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// One row of the table: a legal move.
///
/// ```
/// use taskstate::{table, Action, Role, Status};
///
/// let requeue = table::find(Status::Stalled, Action::Requeue).ok_or("no row")?;
/// assert_eq!((requeue.from, requeue.to), (Some(Status::Stalled), Status::Pending));
/// assert!(requeue.roles.contains(Role::Operator) && !requeue.roles.contains(Role::Customer));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The status the move starts from; `None` for [`Action::Create`],
    /// which starts from no task at all.
    pub from: Option<Status>,
    /// The command's name.
    pub action: Action,
    /// The status the move ends in (equal to `from` for a self-move).
    pub to: Status,
    /// Who may take it.
    pub roles: RoleSet,
    /// What else must hold, checked in order.
    pub guards: &'static [Guard],
}

impl Transition {
    /// Whether the move leaves the status unchanged. The creation row,
    /// which starts from no status, is not a self-move.
    ///
    /// ```
    /// use taskstate::{table, Action, Status};
    ///
    /// let heartbeat = table::find(Status::Running, Action::Heartbeat).ok_or("no row")?;
    /// assert!(heartbeat.is_self_move());
    /// let wait = table::find(Status::Running, Action::Wait).ok_or("no row")?;
    /// assert!(!wait.is_self_move());
    /// assert!(!table::TRANSITIONS[0].is_self_move()); // create
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn is_self_move(&self) -> bool {
        match self.from {
            Some(from) => from as u8 == self.to as u8,
            None => false,
        }
    }
}

const CUSTOMER: Role = Role::Customer;
const OPERATOR: Role = Role::Operator;
const SYSTEM: Role = Role::System;
const ANYONE: RoleSet = RoleSet::ALL;
const STAFF: RoleSet = RoleSet::of(&[OPERATOR, SYSTEM]);
const PEOPLE: RoleSet = RoleSet::of(&[CUSTOMER, OPERATOR]);
const OPERATORS: RoleSet = RoleSet::of(&[OPERATOR]);
const EXECUTOR: RoleSet = RoleSet::of(&[SYSTEM]);

const fn row(
    from: Status,
    action: Action,
    to: Status,
    roles: RoleSet,
    guards: &'static [Guard],
) -> Transition {
    Transition {
        from: Some(from),
        action,
        to,
        roles,
        guards,
    }
}

use Action as A;
use Guard as G;
use Status as S;

/// Every legal move. The only place where legality is written.
///
/// ```
/// use taskstate::table::TRANSITIONS;
/// use taskstate::{Action, Status};
///
/// assert_eq!(TRANSITIONS[0].action, Action::Create);
/// // Done and Cancelled absorb: no row leaves them.
/// assert!(TRANSITIONS.iter().all(|row| !matches!(row.from, Some(Status::Done | Status::Cancelled))));
/// ```
#[rustfmt::skip]
pub const TRANSITIONS: &[Transition] = &[
    Transition { from: None, action: A::Create, to: S::Pending, roles: ANYONE, guards: &[] },
    // Pending: waiting to run.
    row(S::Pending, A::Start,             S::Running,   EXECUTOR,  &[G::Due]),
    row(S::Pending, A::Accelerate,        S::Pending,   PEOPLE,    &[G::AccelerateAllowed, G::ScheduledLater]),
    row(S::Pending, A::SetArgument,       S::Pending,   PEOPLE,    &[G::EditAllowed]),
    row(S::Pending, A::Cancel,            S::Cancelled, ANYONE,    &[G::CancelAllowed]),
    // Running: an executor holds the lease.
    row(S::Running, A::Heartbeat,         S::Running,   EXECUTOR,  &[G::LeaseHolder]),
    row(S::Running, A::Subtask,           S::Running,   EXECUTOR,  &[G::LeaseHolder, G::SubtaskMove]),
    row(S::Running, A::AddSubtask,        S::Running,   EXECUTOR,  &[G::LeaseHolder]),
    row(S::Running, A::ReportProgress,    S::Running,   EXECUTOR,  &[G::LeaseHolder]),
    row(S::Running, A::Wait,              S::Waiting,   EXECUTOR,  &[G::LeaseHolder]),
    row(S::Running, A::Complete,          S::Done,      EXECUTOR,  &[G::LeaseHolder, G::SubtasksSatisfied]),
    row(S::Running, A::Fail,              S::Failed,    EXECUTOR,  &[G::LeaseHolder]),
    row(S::Running, A::Cancel,            S::Running,   ANYONE,    &[G::CancelAllowed, G::CancelNotRequested]),
    row(S::Running, A::AcknowledgeCancel, S::Cancelled, EXECUTOR,  &[G::LeaseHolder, G::CancelRequested]),
    row(S::Running, A::MarkStalled,       S::Stalled,   EXECUTOR,  &[G::LeaseExpired]),
    // Waiting: paused on an outside party, the run's lease still held.
    row(S::Waiting, A::Heartbeat,         S::Waiting,   EXECUTOR,  &[G::LeaseHolder]),
    row(S::Waiting, A::ReportProgress,    S::Waiting,   EXECUTOR,  &[G::LeaseHolder]),
    row(S::Waiting, A::Resume,            S::Running,   EXECUTOR,  &[G::LeaseHolder]),
    row(S::Waiting, A::Complete,          S::Done,      EXECUTOR,  &[G::LeaseHolder, G::SubtasksSatisfied]),
    row(S::Waiting, A::Fail,              S::Failed,    EXECUTOR,  &[G::LeaseHolder]),
    row(S::Waiting, A::Cancel,            S::Waiting,   ANYONE,    &[G::CancelAllowed, G::CancelNotRequested]),
    row(S::Waiting, A::AcknowledgeCancel, S::Cancelled, EXECUTOR,  &[G::LeaseHolder, G::CancelRequested]),
    row(S::Waiting, A::MarkStalled,       S::Stalled,   EXECUTOR,  &[G::LeaseExpired]),
    // Stalled: the lease ran out; nobody runs it.
    row(S::Stalled, A::Requeue,           S::Pending,   STAFF,     &[G::CancelNotRequested]),
    row(S::Stalled, A::Fail,              S::Failed,    STAFF,     &[G::Unleased]),
    row(S::Stalled, A::Cancel,            S::Cancelled, ANYONE,    &[G::CancelAllowed]),
    // Failed: settled; corrected and relaunched, retried, resolved, or given up on.
    row(S::Failed,  A::SetArgument,       S::Failed,    PEOPLE,    &[G::EditAllowed]),
    row(S::Failed,  A::Relaunch,          S::Pending,   PEOPLE,    &[G::RelaunchAllowed, G::CorrectionsAllowed]),
    row(S::Failed,  A::Retry,             S::Pending,   EXECUTOR,  &[G::RetryDue]),
    row(S::Failed,  A::Resolve,           S::Failed,    OPERATORS, &[]),
    row(S::Failed,  A::Cancel,            S::Cancelled, ANYONE,    &[G::CancelAllowed]),
    // Done and Cancelled have no rows: they absorb.
];

/// `INDEX[status][action]` is the position of the row in [`TRANSITIONS`]
/// plus one, or 0 where there is none. Built at compile time, so a lookup
/// is two array reads.
const INDEX: [[u8; Action::COUNT]; Status::COUNT] = build_index();

const fn build_index() -> [[u8; Action::COUNT]; Status::COUNT] {
    assert!(TRANSITIONS.len() < u8::MAX as usize);
    let mut index = [[0u8; Action::COUNT]; Status::COUNT];
    let mut i = 0;
    while i < TRANSITIONS.len() {
        let row = &TRANSITIONS[i];
        if let Some(from) = row.from {
            let slot = &mut index[from.index()][row.action.index()];
            // Each (from, action) pair has at most one row.
            assert!(*slot == 0, "two rows share a (from, action) pair");
            *slot = (i + 1) as u8;
        }
        i += 1;
    }
    index
}

/// The row for `action` from `status`, if the move exists at all (for
/// some role: check [`Transition::roles`], or use [`target`]).
///
/// ```
/// use taskstate::{table, Action, Role, Status};
///
/// let retry = table::find(Status::Failed, Action::Retry).ok_or("no row")?;
/// assert_eq!(retry.to, Status::Pending);
/// assert!(retry.roles.contains(Role::System));
/// assert!(table::find(Status::Pending, Action::Retry).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[inline]
pub fn find(status: Status, action: Action) -> Option<&'static Transition> {
    match INDEX[status.index()][action.index()] {
        0 => None,
        n => TRANSITIONS.get(n as usize - 1),
    }
}

/// Where `action` leads from `status` when `role` may take it: the
/// table's legality check alone, without building a rejection.
///
/// ```
/// use taskstate::{table, Action, Role, Status};
///
/// assert_eq!(table::target(Status::Running, Action::Complete, Role::System), Some(Status::Done));
/// assert_eq!(table::target(Status::Running, Action::Complete, Role::Customer), None);
/// ```
#[inline]
pub fn target(status: Status, action: Action, role: Role) -> Option<Status> {
    match find(status, action) {
        Some(row) if row.roles.contains(role) => Some(row.to),
        _ => None,
    }
}

/// The row of [`Action::Create`].
pub(crate) fn creation() -> &'static Transition {
    &TRANSITIONS[0]
}

/// The rows that leave `status`, in table order: what may happen next.
///
/// ```
/// use taskstate::{table, Action, Status};
///
/// let next: Vec<Action> = table::from(Status::Stalled).map(|row| row.action).collect();
/// assert_eq!(next, [Action::Requeue, Action::Fail, Action::Cancel]);
/// assert_eq!(table::from(Status::Cancelled).count(), 0);
/// ```
pub fn from(status: Status) -> impl Iterator<Item = &'static Transition> {
    TRANSITIONS
        .iter()
        .filter(move |row| row.from == Some(status))
}

/// The position of a row in [`TRANSITIONS`], for coverage bookkeeping.
fn position(from: Option<Status>, action: Action) -> Option<usize> {
    match from {
        None if action == Action::Create => Some(0),
        None => None,
        Some(status) => match INDEX[status.index()][action.index()] {
            0 => None,
            n => Some(n as usize - 1),
        },
    }
}

/// Records which rows of the table a test suite (the crate's or a host's)
/// has taken, so a test can fail when a row never is.
///
/// ```
/// use taskstate::table::Coverage;
/// use taskstate::{Action, Status};
///
/// let mut coverage = Coverage::new();
/// coverage.record(Some(Status::Pending), Action::Start);
/// assert!(coverage.missing().all(|row| row.action != Action::Start
///     || row.from != Some(Status::Pending)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    taken: Vec<u64>,
}

impl Default for Coverage {
    fn default() -> Self {
        Self::new()
    }
}

impl Coverage {
    /// Nothing recorded yet: every row is missing.
    ///
    /// ```
    /// use taskstate::table::{Coverage, TRANSITIONS};
    ///
    /// let coverage = Coverage::new();
    /// assert_eq!(coverage.missing().count(), TRANSITIONS.len());
    /// assert_eq!(coverage, Coverage::default());
    /// ```
    pub fn new() -> Self {
        Coverage {
            taken: vec![0; TRANSITIONS.len()],
        }
    }

    /// Records one taking of the row `(from, action)`; ignored if there is
    /// no such row.
    ///
    /// ```
    /// use taskstate::table::Coverage;
    /// use taskstate::{Action, Status};
    ///
    /// let mut coverage = Coverage::new();
    /// coverage.record(None, Action::Create);
    /// coverage.record(Some(Status::Done), Action::Start); // no such row: ignored
    /// assert_eq!(coverage.count(None, Action::Create), 1);
    /// assert_eq!(coverage.count(Some(Status::Done), Action::Start), 0);
    /// ```
    pub fn record(&mut self, from: Option<Status>, action: Action) {
        if let Some(slot) = position(from, action).and_then(|i| self.taken.get_mut(i)) {
            *slot += 1;
        }
    }

    /// Records every event of a task's history.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::table::Coverage;
    /// use taskstate::{Action, Status};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let (mut task, created) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (_run, started) = task.start(now + Duration::minutes(5), None, now)?;
    /// let mut coverage = Coverage::new();
    /// coverage.record_history(&[created, started]);
    /// assert_eq!(coverage.count(Some(Status::Pending), Action::Start), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record_history<K>(&mut self, history: &[crate::Event<K>]) {
        for event in history {
            self.record(event.from, event.action());
        }
    }

    /// How many times the row `(from, action)` was taken (0 for a row that
    /// does not exist).
    ///
    /// ```
    /// use taskstate::table::Coverage;
    /// use taskstate::{Action, Status};
    ///
    /// let mut coverage = Coverage::new();
    /// for _ in 0..3 {
    ///     coverage.record(Some(Status::Running), Action::Heartbeat);
    /// }
    /// assert_eq!(coverage.count(Some(Status::Running), Action::Heartbeat), 3);
    /// assert_eq!(coverage.count(Some(Status::Waiting), Action::Heartbeat), 0);
    /// ```
    pub fn count(&self, from: Option<Status>, action: Action) -> u64 {
        position(from, action)
            .and_then(|i| self.taken.get(i).copied())
            .unwrap_or(0)
    }

    /// The rows never taken, in table order: what a suite that means to
    /// cover the table asserts is empty.
    ///
    /// ```
    /// use taskstate::table::{Coverage, TRANSITIONS};
    ///
    /// let mut coverage = Coverage::new();
    /// for row in &TRANSITIONS[1..] {
    ///     coverage.record(row.from, row.action);
    /// }
    /// let missing: Vec<_> = coverage.missing().collect();
    /// assert_eq!(missing, [&TRANSITIONS[0]]); // create, never recorded
    /// ```
    pub fn missing(&self) -> impl Iterator<Item = &'static Transition> + '_ {
        TRANSITIONS
            .iter()
            .zip(&self.taken)
            .filter(|(_, n)| **n == 0)
            .map(|(row, _)| row)
    }

    /// Adds another coverage's counts to this one (one per test thread or
    /// binary, merged at the end).
    ///
    /// ```
    /// use taskstate::table::Coverage;
    /// use taskstate::{Action, Status};
    ///
    /// let (mut all, mut other) = (Coverage::new(), Coverage::new());
    /// all.record(Some(Status::Pending), Action::Start);
    /// other.record(Some(Status::Pending), Action::Start);
    /// other.record(Some(Status::Running), Action::Complete);
    /// all.merge(&other);
    /// assert_eq!(all.count(Some(Status::Pending), Action::Start), 2);
    /// assert_eq!(all.count(Some(Status::Running), Action::Complete), 1);
    /// ```
    pub fn merge(&mut self, other: &Coverage) {
        for (mine, theirs) in self.taken.iter_mut().zip(&other.taken) {
            *mine += theirs;
        }
    }
}

fn state_name(status: Option<Status>) -> &'static str {
    match status {
        None => "[*]",
        Some(Status::Pending) => "Pending",
        Some(Status::Running) => "Running",
        Some(Status::Waiting) => "Waiting",
        Some(Status::Stalled) => "Stalled",
        Some(Status::Done) => "Done",
        Some(Status::Failed) => "Failed",
        Some(Status::Cancelled) => "Cancelled",
    }
}

fn roles_label(roles: RoleSet) -> String {
    if roles == RoleSet::ALL {
        "anyone".to_owned()
    } else {
        roles.to_string()
    }
}

/// The state diagram as Mermaid `stateDiagram-v2`, one edge per row,
/// labelled with the action and who may take it. Final statuses lead to
/// `[*]`.
///
/// ```
/// use taskstate::table;
///
/// let diagram = table::mermaid();
/// assert!(diagram.starts_with("stateDiagram-v2\n"));
/// assert!(diagram.contains("    [*] --> Pending : create (anyone)\n"));
/// assert!(diagram.contains("    Done --> [*]\n"));
/// ```
pub fn mermaid() -> String {
    let mut out = String::from("stateDiagram-v2\n");
    for row in TRANSITIONS {
        out.push_str(&format!(
            "    {} --> {} : {} ({})\n",
            state_name(row.from),
            state_name(Some(row.to)),
            row.action,
            roles_label(row.roles),
        ));
    }
    for status in Status::ALL.into_iter().filter(|s| s.is_final()) {
        out.push_str(&format!("    {} --> [*]\n", state_name(Some(status))));
    }
    out
}

/// The state diagram in Graphviz DOT, one edge per row; final statuses
/// are drawn as double circles.
///
/// ```
/// use taskstate::table;
///
/// let dot = table::dot();
/// assert!(dot.starts_with("digraph taskstate {"));
/// assert!(dot.contains("Done [shape=doublecircle];"));
/// assert!(dot.contains("Pending -> Running [label=\"start (system)\"];"));
/// ```
pub fn dot() -> String {
    let mut out = String::from("digraph taskstate {\n    rankdir=LR;\n    start [shape=point];\n");
    for status in Status::ALL {
        let shape = if status.is_final() {
            "doublecircle"
        } else {
            "circle"
        };
        out.push_str(&format!(
            "    {} [shape={shape}];\n",
            state_name(Some(status))
        ));
    }
    for row in TRANSITIONS {
        let from = match row.from {
            None => "start",
            Some(status) => state_name(Some(status)),
        };
        out.push_str(&format!(
            "    {from} -> {} [label=\"{} ({})\"];\n",
            state_name(Some(row.to)),
            row.action,
            roles_label(row.roles),
        ));
    }
    out.push_str("}\n");
    out
}

/// The table as a Markdown table: from, action, to, roles, guards (what
/// `docs/table.md` holds).
///
/// ```
/// use taskstate::table::{self, TRANSITIONS};
///
/// let markdown = table::markdown();
/// assert!(markdown.starts_with("| from | action | to | who | guards |"));
/// assert!(markdown.contains("| pending | `start` | running | system | todo_at reached |"));
/// assert_eq!(markdown.lines().count(), TRANSITIONS.len() + 2); // header and rule
/// ```
pub fn markdown() -> String {
    let mut out = String::from("| from | action | to | who | guards |\n|---|---|---|---|---|\n");
    for row in TRANSITIONS {
        let guards = if row.guards.is_empty() {
            "".to_owned()
        } else {
            row.guards
                .iter()
                .map(|g| g.describe())
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            row.from.map_or("(new)", Status::as_str),
            row.action,
            row.to,
            roles_label(row.roles),
            guards,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_have_no_rows() {
        for status in Status::ALL.into_iter().filter(|s| s.is_final()) {
            assert_eq!(from(status).count(), 0, "{status} must absorb");
        }
    }

    #[test]
    fn only_create_starts_from_nothing_and_it_is_first() {
        let rootless: Vec<_> = TRANSITIONS.iter().filter(|r| r.from.is_none()).collect();
        assert_eq!(rootless, [creation()]);
        assert_eq!(creation().action, Action::Create);
        assert_eq!(creation().to, Status::Pending);
        for row in &TRANSITIONS[1..] {
            assert_ne!(row.action, Action::Create);
        }
    }

    #[test]
    fn every_row_has_a_role_and_every_non_final_status_a_way_out() {
        for row in TRANSITIONS {
            assert!(!row.roles.is_empty(), "{row:?}");
        }
        for status in Status::ALL.into_iter().filter(|s| !s.is_final()) {
            assert!(from(status).any(|r| r.to != status), "{status} is a trap");
        }
    }

    #[test]
    fn executor_moves_are_fenced_by_the_lease() {
        for row in TRANSITIONS {
            let from_leased = row.from.is_some_and(Status::is_leased);
            let executor_only = row.roles == RoleSet::of(&[Role::System]);
            if from_leased && executor_only && row.action != Action::MarkStalled {
                assert!(row.guards.contains(&Guard::LeaseHolder), "{row:?}");
            }
        }
    }

    #[test]
    fn action_names_round_trip() {
        crate::vocabulary::assert_words_agree(&Action::ALL, Action::as_str);
        crate::vocabulary::assert_words_parse(&Action::ALL, Action::as_str);
        let err = "explode".parse::<Action>().unwrap_err();
        assert_eq!(err.to_string(), "unknown action `explode`");
    }

    #[test]
    fn diagrams_have_one_edge_per_row() {
        let mermaid = mermaid();
        assert!(mermaid.starts_with("stateDiagram-v2\n"));
        assert_eq!(mermaid.matches(" : ").count(), TRANSITIONS.len());
        assert!(mermaid.contains("[*] --> Pending : create (anyone)"));
        assert!(mermaid.contains("Done --> [*]"));
        let dot = dot();
        assert_eq!(dot.matches(" -> ").count(), TRANSITIONS.len());
        assert!(dot.contains("Done [shape=doublecircle]"));
        assert_eq!(markdown().lines().count(), TRANSITIONS.len() + 2);
    }

    #[test]
    fn coverage_counts_and_merges() {
        let mut a = Coverage::new();
        a.record(None, Action::Create);
        a.record(Some(Status::Done), Action::Cancel); // no such row: ignored
        let mut b = Coverage::new();
        b.record(None, Action::Create);
        a.merge(&b);
        assert_eq!(a.count(None, Action::Create), 2);
        assert_eq!(a.missing().count(), TRANSITIONS.len() - 1);
    }
}
