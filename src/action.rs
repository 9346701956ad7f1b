//! The names of commands: what the transition table is keyed by.

use serde::{Deserialize, Serialize};
use thiserror::Error;

crate::vocabulary::vocabulary! {
    /// The name of a command: what a row of the table is keyed by.
    ///
    /// [`Command`](crate::Command) carries the data of a command;
    /// `Action` is only its name.
    ///
    /// ```
    /// use taskstate::{Action, Command, NamedKind};
    ///
    /// let command: Command<NamedKind> = Command::relaunch();
    /// assert_eq!(command.action(), Action::Relaunch);
    /// assert_eq!(Action::AcknowledgeCancel.to_string(), "acknowledge_cancel");
    /// assert_eq!("mark_stalled".parse::<Action>()?, Action::MarkStalled);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[serde(rename_all = "snake_case")]
    #[non_exhaustive]
    pub enum Action("action", "actions") {
        /// Create a task (the only row with no `from`).
        Create => "create",
        /// An executor takes a due task and holds it under a lease.
        Start => "start",
        /// The lease holder extends its lease, optionally with a progress
        /// message.
        Heartbeat => "heartbeat",
        /// The lease holder pauses on an outside party until a deadline.
        Wait => "wait",
        /// The lease holder takes a waiting task back into running.
        Resume => "resume",
        /// The lease holder finishes the task successfully.
        Complete => "complete",
        /// The lease holder finishes the task with a failure; or the staff
        /// gives up on a stalled one.
        Fail => "fail",
        /// Cancel a task that nobody runs, or ask the executor of running work
        /// to stop.
        Cancel => "cancel",
        /// The lease holder confirms it stopped after a cancel request.
        AcknowledgeCancel => "acknowledge_cancel",
        /// Record that a lease ran out: the run's executor is presumed gone.
        MarkStalled => "mark_stalled",
        /// Put a stalled task back in the queue.
        Requeue => "requeue",
        /// Bring a pending task's `todo_at` forward to now.
        Accelerate => "accelerate",
        /// Set (or clear) one argument's value: a correction.
        SetArgument => "set_argument",
        /// Reopen a failed task (customer or operator), optionally with
        /// corrected argument values.
        Relaunch => "relaunch",
        /// Reopen a failed task on the retry schedule (system).
        Retry => "retry",
        /// Move one subtask by the subtask table (start, succeed, fail, …).
        Subtask => "subtask",
        /// Declare one more subtask while running.
        AddSubtask => "add_subtask",
        /// Report progress directly (steps, current step, expected finish).
        ReportProgress => "report_progress",
        /// An operator marks a failed task's problem resolved.
        Resolve => "resolve",
    }
    fn index;
    impl FromStr<Err = ParseActionError>;
}

/// Text that names no action.
///
/// ```
/// use taskstate::Action;
///
/// let err = "launch".parse::<Action>().err().ok_or("parsed")?;
/// assert_eq!(err.to_string(), "unknown action `launch`");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("unknown action `{value}`")]
pub struct ParseActionError {
    value: String,
}

impl ParseActionError {
    pub(crate) fn new(value: &str) -> Self {
        ParseActionError {
            value: value.to_owned(),
        }
    }

    /// The text that was read.
    ///
    /// ```
    /// use taskstate::Action;
    ///
    /// let err = "Start".parse::<Action>().err().ok_or("parsed")?;
    /// assert_eq!(err.value(), "Start"); // words are exact: `start`
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value(&self) -> &str {
        &self.value
    }
}
