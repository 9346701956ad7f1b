#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The permission matrix: every command, by every actor, in every status,
//! under every combination of a kind's rules, checked against a table
//! written here from the documentation (the README's diagram, the
//! `table` and `task` module docs, the docs of `CancelRules`,
//! `RelaunchRules` and `Rules`), never computed from the crate's own table
//! or its `can_*` answers.
//!
//! - **Statuses**: twelve fixtures, each driven from creation by accepted
//!   commands, cover the seven statuses: a pending task due now and one
//!   scheduled later; a running task with and without a cancel request; a
//!   waiting task; a stalled task with and without a cancel request; a
//!   done task; a failed task of three kinds (a customer-correctable
//!   failure, a provider failure, a failure made final by a cancel
//!   request); a cancelled task.
//! - **Commands**: every `Command` variant with a well-formed payload (an
//!   executor command presents the token of the fixture's run: the
//!   current lease's on a running or waiting task, a stale one on any
//!   other), with
//!   `set_argument` and `relaunch` twice (an editable and a read-only
//!   argument; a relaunch with and without a correction) and `fail` twice
//!   (with the run's token, and without one as staff fail a stalled task).
//! - **Actors**: the owning customer, another customer, an operator, the
//!   system.
//! - **Rules**: the cartesian product of six cancel rules, six relaunch
//!   rules, three edit rules, three accelerate rules, an argument editable
//!   or read-only, and two retry policies.
//!
//! The expected answer of a cell is the lease fence (a command carrying a
//! token that is not the current lease's is stale whatever the status),
//! then [`WHO`] (does a move exist, and may the actor's role take it) and
//! then [`guards`] (what the kind's rules and the record's state decide),
//! in the order the `task` module docs give: owner, lease token, move,
//! role, guards, data. A refusal is compared by its
//! kind (`NotOwner`, `RoleNotAllowed`, `RefusedByRule` and its rule,
//! `CannotRelaunch` and its reason, …), not only as "refused". Where a
//! relaunch is refused for more than one reason, the table names the
//! first in this order: who may relaunch, the failure's follow-up, its
//! origin, the budget, the corrections.
//!
//! Each cell also checks that `Task::check` answers as `apply` does, that
//! a refused command leaves the task equal and an accepted one records
//! version + 1, and that the task's own predicates (`can_cancel`,
//! `can_accelerate`, `can_relaunch`, `can_edit`, `can_mark_stalled`) agree
//! with the table. Fixtures the rules make unreachable (a cancelled task
//! of a kind nobody cancels, a cancel request on a kind whose running work
//! cannot stop) are skipped, and which ones they are is itself checked.
//!
//! Every mismatch is collected and the test fails with the whole list
//! (the first 200 lines of it).
//!
//! Four rules that hosts rely on most have their own tests at the end: a
//! customer cannot relaunch a provider fault, nobody edits a read-only
//! argument, a customer never touches another owner's task, and a kind
//! that cannot stop refuses to cancel running work.

mod common;

use std::sync::{Arc, LazyLock};

use taskstate::Problem;
use taskstate::{
    Action, Actor, ArgumentSpec, ArgumentValue, Arguments, CancelRules, Command, Failure,
    IdGenerator, LeaseToken, NamedKind, NewSubtask, NewTask, Owner, Rejection, RelaunchRefusal,
    RelaunchRules, ResourceRef, RetryPolicy, Role, RoleSet, RuleName, Rules, Status, StatusSet,
    SubtaskChange, Task,
};

use common::{alice, bob, mallory, t};

type T = Task<NamedKind>;

/// The time, in seconds after `t(0)`, at which every command of the matrix
/// is tried: after every fixture's lease deadline (`t(70)`) and retry time
/// (at most `t(80)`), before the scheduled fixture's `todo_at`.
const NOW: i64 = 1_000;

// ---------------------------------------------------------------------
// The dimensions
// ---------------------------------------------------------------------

/// A task in a known state, built by accepted commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fixture {
    /// Pending, due now (no `todo_at`).
    PendingDue,
    /// Pending, scheduled an hour after `NOW`.
    PendingLater,
    /// Running; the lease ran out at `t(70)`.
    Running,
    /// Running, with a cancel requested (only under rules that let
    /// someone cancel running work).
    RunningCancelRequested,
    /// Waiting until `t(70)`.
    Waiting,
    /// Stalled after its lease ran out.
    Stalled,
    /// Stalled, keeping a cancel request of its run.
    StalledCancelRequested,
    /// Done.
    Done,
    /// Failed with a customer-origin failure (flagging the `note`
    /// argument when it is editable): awaits correction.
    FailedCustomer,
    /// Failed with a provider-origin failure: a retry is due at `NOW`, or
    /// it was escalated under a policy that never retries.
    FailedProvider,
    /// Failed while a cancel was requested: the follow-up is final.
    FailedFinal,
    /// Cancelled (by whichever path the cancel rules leave open).
    Cancelled,
}

impl Fixture {
    const ALL: [Fixture; 12] = [
        Fixture::PendingDue,
        Fixture::PendingLater,
        Fixture::Running,
        Fixture::RunningCancelRequested,
        Fixture::Waiting,
        Fixture::Stalled,
        Fixture::StalledCancelRequested,
        Fixture::Done,
        Fixture::FailedCustomer,
        Fixture::FailedProvider,
        Fixture::FailedFinal,
        Fixture::Cancelled,
    ];

    fn status(self) -> Status {
        match self {
            Fixture::PendingDue | Fixture::PendingLater => Status::Pending,
            Fixture::Running | Fixture::RunningCancelRequested => Status::Running,
            Fixture::Waiting => Status::Waiting,
            Fixture::Stalled | Fixture::StalledCancelRequested => Status::Stalled,
            Fixture::Done => Status::Done,
            Fixture::FailedCustomer | Fixture::FailedProvider | Fixture::FailedFinal => {
                Status::Failed
            }
            Fixture::Cancelled => Status::Cancelled,
        }
    }

    fn cancel_requested(self) -> bool {
        matches!(
            self,
            Fixture::RunningCancelRequested | Fixture::StalledCancelRequested
        )
    }
}

/// The party trying a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// alice, who owns every fixture.
    Owner,
    /// mallory, another customer.
    OtherCustomer,
    /// bob, an operator.
    Operator,
    /// The scheduler or an executor.
    System,
}

impl Who {
    const ALL: [Who; 4] = [Who::Owner, Who::OtherCustomer, Who::Operator, Who::System];

    fn actor(self) -> Actor {
        match self {
            Who::Owner => alice(),
            Who::OtherCustomer => mallory(),
            Who::Operator => bob(),
            Who::System => Actor::System,
        }
    }

    fn role(self) -> Role {
        match self {
            Who::Owner | Who::OtherCustomer => Role::Customer,
            Who::Operator => Role::Operator,
            Who::System => Role::System,
        }
    }

    /// The letter of the role in [`WHO`].
    fn letter(self) -> char {
        match self.role() {
            Role::Customer => 'C',
            Role::Operator => 'O',
            Role::System => 'S',
        }
    }
}

/// A command of the matrix: every `Command` variant, some twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Create,
    Start,
    Heartbeat,
    Wait,
    Resume,
    Complete,
    /// `fail` presenting the run's token.
    FailLeased,
    /// `fail` with no token (staff giving up on a stalled task).
    FailUnleased,
    Cancel,
    AcknowledgeCancel,
    MarkStalled,
    Requeue,
    Accelerate,
    /// `set_argument` of `note` (editable, unless the variant makes it
    /// read-only).
    SetEditable,
    /// `set_argument` of `domain`, always read-only.
    SetReadOnly,
    /// `relaunch` carrying no correction.
    Relaunch,
    /// `relaunch` carrying a new value for `note`.
    RelaunchCorrected,
    Retry,
    Subtask,
    AddSubtask,
    ReportProgress,
    Resolve,
}

impl Cmd {
    const ALL: [Cmd; 22] = [
        Cmd::Create,
        Cmd::Start,
        Cmd::Heartbeat,
        Cmd::Wait,
        Cmd::Resume,
        Cmd::Complete,
        Cmd::FailLeased,
        Cmd::FailUnleased,
        Cmd::Cancel,
        Cmd::AcknowledgeCancel,
        Cmd::MarkStalled,
        Cmd::Requeue,
        Cmd::Accelerate,
        Cmd::SetEditable,
        Cmd::SetReadOnly,
        Cmd::Relaunch,
        Cmd::RelaunchCorrected,
        Cmd::Retry,
        Cmd::Subtask,
        Cmd::AddSubtask,
        Cmd::ReportProgress,
        Cmd::Resolve,
    ];

    /// The action a rejection names.
    fn action(self) -> Action {
        match self {
            Cmd::Create => Action::Create,
            Cmd::Start => Action::Start,
            Cmd::Heartbeat => Action::Heartbeat,
            Cmd::Wait => Action::Wait,
            Cmd::Resume => Action::Resume,
            Cmd::Complete => Action::Complete,
            Cmd::FailLeased | Cmd::FailUnleased => Action::Fail,
            Cmd::Cancel => Action::Cancel,
            Cmd::AcknowledgeCancel => Action::AcknowledgeCancel,
            Cmd::MarkStalled => Action::MarkStalled,
            Cmd::Requeue => Action::Requeue,
            Cmd::Accelerate => Action::Accelerate,
            Cmd::SetEditable | Cmd::SetReadOnly => Action::SetArgument,
            Cmd::Relaunch | Cmd::RelaunchCorrected => Action::Relaunch,
            Cmd::Retry => Action::Retry,
            Cmd::Subtask => Action::Subtask,
            Cmd::AddSubtask => Action::AddSubtask,
            Cmd::ReportProgress => Action::ReportProgress,
            Cmd::Resolve => Action::Resolve,
        }
    }
}

/// The token of the one run every fixture starts: the start is the
/// second event (version 2), at `t(10)`, and a run's token is made of its
/// start's version and time. The lease does not show its token; [`start`]
/// checks the handle carries this one, and [`build`] that a leased
/// fixture's lease is held by it.
static FIRST_RUN: LazyLock<LeaseToken> = LazyLock::new(|| {
    let mut task = created(standard().kind(), None);
    let (run, _) = task
        .start(t(70), None, t(10))
        .unwrap_or_else(|rejection| panic!("building a fixture: start refused: {rejection}"));
    run.token()
});

/// Whether `cmd` presents a lease token (`fail` only in its leased form).
fn carries_token(cmd: Cmd) -> bool {
    match cmd {
        Cmd::Heartbeat
        | Cmd::Wait
        | Cmd::Resume
        | Cmd::Complete
        | Cmd::FailLeased
        | Cmd::AcknowledgeCancel
        | Cmd::Subtask
        | Cmd::AddSubtask
        | Cmd::ReportProgress => true,
        Cmd::Create
        | Cmd::Start
        | Cmd::FailUnleased
        | Cmd::Cancel
        | Cmd::MarkStalled
        | Cmd::Requeue
        | Cmd::Accelerate
        | Cmd::SetEditable
        | Cmd::SetReadOnly
        | Cmd::Relaunch
        | Cmd::RelaunchCorrected
        | Cmd::Retry
        | Cmd::Resolve => false,
    }
}

/// The well-formed command `cmd` for `task`.
fn command(cmd: Cmd, task: &T) -> Command<NamedKind> {
    // The fixture's run's token: the current lease's on a running or
    // waiting task, a stale one on a task that no run holds.
    let token = *FIRST_RUN;
    let later = t(NOW + 300);
    let failure = || Box::new(Failure::provider("REGISTRY_DOWN", "no answer", t(NOW)));
    match cmd {
        Cmd::Create => Command::Create(Arc::new(
            NewTask::new(
                task.id(),
                task.kind().clone(),
                Owner::new("alice"),
                ResourceRef::new("domain", "example.fr"),
            )
            .argument("domain", "example.fr"),
        )),
        Cmd::Start => Command::Start {
            lease_until: later,
            worker: Some("worker-2".into()),
        },
        Cmd::Heartbeat => Command::Heartbeat {
            token,
            lease_until: later,
            progress: Some("still working".into()),
            check_at: None,
        },
        Cmd::Wait => Command::Wait {
            token,
            until: later,
            check_at: None,
            reason: Some("the registry".into()),
        },
        Cmd::Resume => Command::Resume {
            token,
            lease_until: later,
        },
        Cmd::Complete => Command::Complete {
            token,
            outcome: Box::default(),
        },
        Cmd::FailLeased => Command::Fail {
            token: Some(token),
            failure: failure(),
        },
        Cmd::FailUnleased => Command::Fail {
            token: None,
            failure: failure(),
        },
        Cmd::Cancel => Command::Cancel {
            reason: Some("no longer needed".into()),
        },
        Cmd::AcknowledgeCancel => Command::AcknowledgeCancel { token },
        Cmd::MarkStalled => Command::MarkStalled,
        Cmd::Requeue => Command::Requeue { todo_at: None },
        Cmd::Accelerate => Command::Accelerate,
        Cmd::SetEditable => Command::set_argument("note", "a corrected note"),
        Cmd::SetReadOnly => Command::set_argument("domain", "other.fr"),
        Cmd::Relaunch => Command::relaunch(),
        Cmd::RelaunchCorrected => Command::Relaunch {
            arguments: Arguments::from([(
                "note".to_owned(),
                ArgumentValue::from("a corrected note"),
            )]),
        },
        Cmd::Retry => Command::Retry,
        Cmd::Subtask => Command::Subtask {
            token,
            id: 0,
            change: SubtaskChange::Start,
        },
        Cmd::AddSubtask => Command::AddSubtask {
            token,
            subtask: NewSubtask::new("extra", "declared while running").optional(),
        },
        Cmd::ReportProgress => Command::ReportProgress {
            token,
            steps: None,
            percent: None,
            current_step: Some("registry".into()),
            expected_done_at: Some(later),
        },
        Cmd::Resolve => Command::Resolve,
    }
}

/// The name of a command's variant. No wildcard: a new variant of
/// `Command` fails to compile here until the matrix tries it.
fn variant_name(command: &Command<NamedKind>) -> &'static str {
    match command {
        Command::Create(_) => "create",
        Command::Start { .. } => "start",
        Command::Heartbeat { .. } => "heartbeat",
        Command::Wait { .. } => "wait",
        Command::Resume { .. } => "resume",
        Command::Complete { .. } => "complete",
        Command::Fail { .. } => "fail",
        Command::Cancel { .. } => "cancel",
        Command::AcknowledgeCancel { .. } => "acknowledge_cancel",
        Command::MarkStalled => "mark_stalled",
        Command::Requeue { .. } => "requeue",
        Command::Accelerate => "accelerate",
        Command::SetArgument { .. } => "set_argument",
        Command::Relaunch { .. } => "relaunch",
        Command::Retry => "retry",
        Command::Subtask { .. } => "subtask",
        Command::AddSubtask { .. } => "add_subtask",
        Command::ReportProgress { .. } => "report_progress",
        Command::Resolve => "resolve",
    }
}

/// The column of a status in [`WHO`]. No wildcard: a new status fails to
/// compile here until the table has a column for it.
fn column(status: Status) -> usize {
    match status {
        Status::Pending => 0,
        Status::Running => 1,
        Status::Waiting => 2,
        Status::Stalled => 3,
        Status::Done => 4,
        Status::Failed => 5,
        Status::Cancelled => 6,
    }
}

// ---------------------------------------------------------------------
// The rule variants, each with what its documentation says
// ---------------------------------------------------------------------

/// A cancel rule and the statuses in which, by its docs, customers and
/// staff may cancel.
#[derive(Clone, Debug)]
struct CancelCase {
    name: &'static str,
    rules: CancelRules,
    customer: &'static [Status],
    staff: &'static [Status],
}

impl CancelCase {
    fn allows(&self, role: Role, status: Status) -> bool {
        match role {
            Role::Customer => self.customer.contains(&status),
            Role::Operator | Role::System => self.staff.contains(&status),
        }
    }
}

fn cancel_cases() -> Vec<CancelCase> {
    use Status::{Failed, Pending, Running, Stalled, Waiting};
    vec![
        // "a customer may cancel a pending task, or give up on a failed
        // one; staff may also cancel a stalled one. Running work is not
        // cancellable."
        CancelCase {
            name: "cancel STANDARD",
            rules: CancelRules::STANDARD,
            customer: &[Pending, Failed],
            staff: &[Pending, Stalled, Failed],
        },
        // "Dyn: only pending tasks, for everyone."
        CancelCase {
            name: "cancel PENDING_ONLY",
            rules: CancelRules::PENDING_ONLY,
            customer: &[Pending],
            staff: &[Pending],
        },
        // "VMware's generic cancel route: only work in progress"
        CancelCase {
            name: "cancel RUNNING_ONLY",
            rules: CancelRules::RUNNING_ONLY,
            customer: &[Running, Waiting],
            staff: &[Running, Waiting],
        },
        // "VMware's credential tasks: only failed ones."
        CancelCase {
            name: "cancel FAILED_ONLY",
            rules: CancelRules::FAILED_ONLY,
            customer: &[Failed],
            staff: &[Failed],
        },
        // "Nobody cancels."
        CancelCase {
            name: "cancel NEVER",
            rules: CancelRules::NEVER,
            customer: &[],
            staff: &[],
        },
        // "running and waiting work cancellable (by request) by everyone
        // who may cancel a pending task"
        CancelCase {
            name: "cancel STANDARD.with_running()",
            rules: CancelRules::STANDARD.with_running(),
            customer: &[Pending, Running, Waiting, Failed],
            staff: &[Pending, Running, Waiting, Stalled, Failed],
        },
    ]
}

/// A relaunch rule and what its docs say it allows a customer.
#[derive(Clone, Debug)]
struct RelaunchCase {
    name: &'static str,
    rules: RelaunchRules,
    customer: bool,
    provider_failures: bool,
    max: u32,
    require_corrections: bool,
    dedicated_route: bool,
}

fn relaunch_cases() -> Vec<RelaunchCase> {
    // "Customers relaunch their own failures, up to 5 times, once the
    // flagged arguments are corrected."
    let standard = RelaunchCase {
        name: "relaunch STANDARD",
        rules: RelaunchRules::STANDARD,
        customer: true,
        provider_failures: false,
        max: 5,
        require_corrections: true,
        dedicated_route: false,
    };
    vec![
        standard.clone(),
        RelaunchCase {
            name: "relaunch OPERATORS_ONLY",
            rules: RelaunchRules::OPERATORS_ONLY,
            customer: false,
            ..standard.clone()
        },
        RelaunchCase {
            name: "relaunch provider_failures()",
            rules: RelaunchRules::STANDARD.provider_failures(),
            provider_failures: true,
            ..standard.clone()
        },
        RelaunchCase {
            name: "relaunch max(0)",
            rules: RelaunchRules::STANDARD.max(0),
            max: 0,
            ..standard.clone()
        },
        RelaunchCase {
            name: "relaunch without_corrections()",
            rules: RelaunchRules::STANDARD.without_corrections(),
            require_corrections: false,
            ..standard.clone()
        },
        RelaunchCase {
            name: "relaunch dedicated_route(..)",
            rules: RelaunchRules::dedicated_route("use the credentials route"),
            dedicated_route: true,
            ..standard
        },
    ]
}

/// The statuses in which arguments may be edited.
#[derive(Clone, Debug)]
struct EditCase {
    name: &'static str,
    rules: StatusSet,
    statuses: &'static [Status],
}

fn edit_cases() -> Vec<EditCase> {
    vec![
        // "arguments editable on failed tasks"
        EditCase {
            name: "edit STANDARD",
            rules: Rules::STANDARD.edit,
            statuses: &[Status::Failed],
        },
        EditCase {
            name: "edit pending+failed",
            rules: StatusSet::of(&[Status::Pending, Status::Failed]),
            statuses: &[Status::Pending, Status::Failed],
        },
        EditCase {
            name: "edit never",
            rules: StatusSet::EMPTY,
            statuses: &[],
        },
    ]
}

/// The roles the kind lets accelerate.
#[derive(Clone, Debug)]
struct AccelerateCase {
    name: &'static str,
    rules: RoleSet,
    roles: &'static [Role],
}

fn accelerate_cases() -> Vec<AccelerateCase> {
    vec![
        // "customers and operators may accelerate"
        AccelerateCase {
            name: "accelerate STANDARD",
            rules: Rules::STANDARD.accelerate,
            roles: &[Role::Customer, Role::Operator],
        },
        // The table lets only customers and operators accelerate; "this
        // set narrows it": the system stays refused by the table.
        AccelerateCase {
            name: "accelerate operators+system",
            rules: RoleSet::of(&[Role::Operator, Role::System]),
            roles: &[Role::Operator, Role::System],
        },
        AccelerateCase {
            name: "accelerate nobody",
            rules: RoleSet::EMPTY,
            roles: &[],
        },
    ]
}

/// A retry policy: whether a first provider failure is retried (a
/// minute later at most) or escalated at once.
#[derive(Clone, Debug)]
struct RetryCase {
    name: &'static str,
    rules: RetryPolicy,
    retries: bool,
}

fn retry_cases() -> Vec<RetryCase> {
    vec![
        RetryCase {
            name: "retry STANDARD",
            rules: RetryPolicy::STANDARD,
            retries: true,
        },
        RetryCase {
            name: "retry NEVER",
            rules: RetryPolicy::NEVER,
            retries: false,
        },
    ]
}

/// One combination of a kind's rules.
#[derive(Clone, Debug)]
struct Variant {
    cancel: CancelCase,
    relaunch: RelaunchCase,
    edit: EditCase,
    accelerate: AccelerateCase,
    retry: RetryCase,
    /// Whether `note` is read-only (`domain` always is).
    note_read_only: bool,
}

impl Variant {
    fn name(&self) -> String {
        format!(
            "{}, {}, {}, {}, {}, note {}",
            self.cancel.name,
            self.relaunch.name,
            self.edit.name,
            self.accelerate.name,
            self.retry.name,
            if self.note_read_only {
                "read-only"
            } else {
                "editable"
            }
        )
    }

    fn kind(&self) -> NamedKind {
        let rules = Rules::new()
            .cancel(self.cancel.rules)
            .relaunch(self.relaunch.rules.clone())
            .edit(self.edit.rules)
            .accelerate(self.accelerate.rules)
            .retry(self.retry.rules);
        let note = ArgumentSpec::text("note", 1, 50);
        let note = if self.note_read_only {
            note.read_only()
        } else {
            note
        };
        NamedKind::with_rules("DomainCreate", rules)
            .argument(ArgumentSpec::text("domain", 1, 255).read_only().required())
            .argument(note)
    }

    /// Rules under which someone may cancel running work.
    fn running_cancellable(&self) -> bool {
        self.cancel.customer.contains(&Status::Running)
            || self.cancel.staff.contains(&Status::Running)
    }
}

/// Every combination: 6 × 6 × 3 × 3 × 2 × 2.
fn variants() -> Vec<Variant> {
    let mut all = Vec::new();
    for cancel in cancel_cases() {
        for relaunch in relaunch_cases() {
            for edit in edit_cases() {
                for accelerate in accelerate_cases() {
                    for retry in retry_cases() {
                        for note_read_only in [false, true] {
                            all.push(Variant {
                                cancel: cancel.clone(),
                                relaunch: relaunch.clone(),
                                edit: edit.clone(),
                                accelerate: accelerate.clone(),
                                retry: retry.clone(),
                                note_read_only,
                            });
                        }
                    }
                }
            }
        }
    }
    all
}

// ---------------------------------------------------------------------
// Building the fixtures with accepted commands
// ---------------------------------------------------------------------

/// A pending task of `kind` for alice, created at `t(0)`, with its
/// read-only `domain` and one optional subtask.
fn created(kind: NamedKind, todo_at: Option<i64>) -> T {
    let mut new = NewTask::new(
        IdGenerator::seeded(1).next_id(t(0)),
        kind,
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    )
    .argument("domain", "example.fr")
    .subtask(NewSubtask::new("check", "an optional check").optional());
    if let Some(at) = todo_at {
        new = new.todo_at(t(at));
    }
    Task::create(new, alice(), t(0)).unwrap().0
}

/// Applies a command that must be accepted.
fn drive(task: &mut T, command: Command<NamedKind>, actor: Actor, at: i64) {
    if let Err(rejection) = task.apply(command.clone(), actor.clone(), t(at)) {
        panic!("building a fixture: {actor} {command:?} refused: {rejection}");
    }
}

/// Starts `task` at `t(10)` under a lease until `t(70)`, as its first
/// run (see [`FIRST_RUN`]).
fn start(task: &mut T) {
    let (run, started) = task
        .start(t(70), Some("worker-1".into()), t(10))
        .unwrap_or_else(|rejection| panic!("building a fixture: start refused: {rejection}"));
    assert_eq!(
        run.token(),
        *FIRST_RUN,
        "the fixture's run is not the first"
    );
    assert_eq!(Some(run.token()), started.lease_token());
}

/// Fails the running `task` at `at` as its executor.
fn fail(task: &mut T, failure: Failure, at: i64) {
    let command = Command::Fail {
        token: Some(*FIRST_RUN),
        failure: Box::new(failure),
    };
    drive(task, command, Actor::System, at);
}

/// Asks to cancel the running `task` at `t(20)`, as the owner or an
/// operator, whoever the rules let; `false` if neither may.
fn request_cancel(task: &mut T) -> bool {
    [alice(), bob()].into_iter().any(|actor| {
        task.apply(Command::Cancel { reason: None }, actor, t(20))
            .is_ok()
    })
}

/// Cancels `task` at `at` as an operator or the owner, whoever the rules
/// let; `false` if neither may.
fn cancel(task: &mut T, at: i64) -> bool {
    [bob(), alice()].into_iter().any(|actor| {
        task.apply(Command::Cancel { reason: None }, actor, t(at))
            .is_ok()
    })
}

/// The fixture under the variant's rules, or `None` if those rules leave
/// no way to reach it.
fn build(fixture: Fixture, variant: &Variant) -> Option<T> {
    let kind = variant.kind();
    let mut task = created(kind.clone(), None);
    match fixture {
        Fixture::PendingDue => {}
        Fixture::PendingLater => task = created(kind, Some(NOW + 3600)),
        Fixture::Running => start(&mut task),
        Fixture::RunningCancelRequested => {
            start(&mut task);
            if !request_cancel(&mut task) {
                return None;
            }
        }
        Fixture::Waiting => {
            start(&mut task);
            let wait = Command::Wait {
                token: *FIRST_RUN,
                until: t(70),
                check_at: None,
                reason: Some("the registry".into()),
            };
            drive(&mut task, wait, Actor::System, 20);
        }
        Fixture::Stalled => {
            start(&mut task);
            drive(&mut task, Command::MarkStalled, Actor::System, 100);
        }
        Fixture::StalledCancelRequested => {
            start(&mut task);
            if !request_cancel(&mut task) {
                return None;
            }
            drive(&mut task, Command::MarkStalled, Actor::System, 100);
        }
        Fixture::Done => {
            start(&mut task);
            let complete = Command::Complete {
                token: *FIRST_RUN,
                outcome: Box::default(),
            };
            drive(&mut task, complete, Actor::System, 20);
        }
        Fixture::FailedCustomer => {
            start(&mut task);
            let failure = Failure::customer("NOTE_INVALID", "the note is invalid", t(20));
            let failure = if variant.note_read_only {
                failure
            } else {
                failure.flag("note")
            };
            fail(&mut task, failure, 20);
        }
        Fixture::FailedProvider => {
            start(&mut task);
            fail(&mut task, common::provider_failure(t(20)), 20);
        }
        Fixture::FailedFinal => {
            start(&mut task);
            if !request_cancel(&mut task) {
                return None;
            }
            let failure = Failure::customer("STOPPED", "stopped on request", t(30));
            fail(&mut task, failure, 30);
        }
        Fixture::Cancelled => {
            // From pending; else a running cancel request acknowledged;
            // else a stalled task; else a failed one.
            let from_pending = cancel(&mut task, 20);
            let reached = from_pending
                || {
                    task = created(kind.clone(), None);
                    start(&mut task);
                    request_cancel(&mut task) && {
                        let ack = Command::AcknowledgeCancel { token: *FIRST_RUN };
                        drive(&mut task, ack, Actor::System, 30);
                        true
                    }
                }
                || {
                    task = created(kind.clone(), None);
                    start(&mut task);
                    drive(&mut task, Command::MarkStalled, Actor::System, 100);
                    cancel(&mut task, 110)
                }
                || {
                    task = created(kind, None);
                    start(&mut task);
                    fail(&mut task, common::provider_failure(t(20)), 20);
                    cancel(&mut task, 30)
                };
            if !reached {
                return None;
            }
        }
    }
    assert_eq!(task.status(), fixture.status(), "{fixture:?}");
    assert_eq!(
        task.lease().map(|lease| lease.is_held_by(*FIRST_RUN)),
        fixture.status().is_leased().then_some(true),
        "{fixture:?}: the lease is not the first run's"
    );
    assert_eq!(
        task.cancel_requested_at().is_some(),
        fixture.cancel_requested()
    );
    Some(task)
}

/// Whether, by the docs, the variant's rules leave a way to the fixture:
/// the cancel-requested fixtures need someone who may cancel running work,
/// and a cancelled task someone who may cancel at all.
fn reachable(fixture: Fixture, variant: &Variant) -> bool {
    match fixture {
        Fixture::RunningCancelRequested
        | Fixture::StalledCancelRequested
        | Fixture::FailedFinal => variant.running_cancellable(),
        Fixture::Cancelled => {
            !(variant.cancel.customer.is_empty() && variant.cancel.staff.is_empty())
        }
        _ => true,
    }
}

// ---------------------------------------------------------------------
// The expected table
// ---------------------------------------------------------------------

/// Who may take each command in each status, from the README's state
/// diagram: `C` the owning customer, `O` an operator, `S` the system, `-`
/// no such move (an illegal move for everyone).
///
/// Columns: pending, running, waiting, stalled, done, failed, cancelled.
#[rustfmt::skip]
const WHO: &[(Cmd, [&str; 7])] = &[
    //                         pend   run    wait   stall  done  failed cancl
    (Cmd::Create,            ["-",   "-",   "-",   "-",   "-",  "-",   "-"]),
    (Cmd::Start,             ["S",   "-",   "-",   "-",   "-",  "-",   "-"]),
    (Cmd::Heartbeat,         ["-",   "S",   "S",   "-",   "-",  "-",   "-"]),
    (Cmd::Wait,              ["-",   "S",   "-",   "-",   "-",  "-",   "-"]),
    (Cmd::Resume,            ["-",   "-",   "S",   "-",   "-",  "-",   "-"]),
    (Cmd::Complete,          ["-",   "S",   "S",   "-",   "-",  "-",   "-"]),
    (Cmd::FailLeased,        ["-",   "S",   "S",   "OS",  "-",  "-",   "-"]),
    (Cmd::FailUnleased,      ["-",   "S",   "S",   "OS",  "-",  "-",   "-"]),
    (Cmd::Cancel,            ["COS", "COS", "COS", "COS", "-",  "COS", "-"]),
    (Cmd::AcknowledgeCancel, ["-",   "S",   "S",   "-",   "-",  "-",   "-"]),
    (Cmd::MarkStalled,       ["-",   "S",   "S",   "-",   "-",  "-",   "-"]),
    (Cmd::Requeue,           ["-",   "-",   "-",   "OS",  "-",  "-",   "-"]),
    (Cmd::Accelerate,        ["CO",  "-",   "-",   "-",   "-",  "-",   "-"]),
    (Cmd::SetEditable,       ["CO",  "-",   "-",   "-",   "-",  "CO",  "-"]),
    (Cmd::SetReadOnly,       ["CO",  "-",   "-",   "-",   "-",  "CO",  "-"]),
    (Cmd::Relaunch,          ["-",   "-",   "-",   "-",   "-",  "CO",  "-"]),
    (Cmd::RelaunchCorrected, ["-",   "-",   "-",   "-",   "-",  "CO",  "-"]),
    (Cmd::Retry,             ["-",   "-",   "-",   "-",   "-",  "S",   "-"]),
    (Cmd::Subtask,           ["-",   "S",   "-",   "-",   "-",  "-",   "-"]),
    (Cmd::AddSubtask,        ["-",   "S",   "-",   "-",   "-",  "-",   "-"]),
    (Cmd::ReportProgress,    ["-",   "S",   "S",   "-",   "-",  "-",   "-"]),
    (Cmd::Resolve,           ["-",   "-",   "-",   "-",   "-",  "O",   "-"]),
];

fn who_may(cmd: Cmd, status: Status) -> &'static str {
    let (_, row) = WHO
        .iter()
        .find(|(c, _)| *c == cmd)
        .unwrap_or_else(|| panic!("{cmd:?} has no row in WHO"));
    row[column(status)]
}

/// A cell's answer: accepted, or refused for this reason.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Want {
    Allowed,
    NotOwner,
    IllegalMove,
    RoleNotAllowed,
    StaleLease,
    NotDue,
    AlreadyDue,
    CancelAlreadyRequested,
    CancelNotRequested,
    RefusedBy(RuleName),
    CannotRelaunch(Why),
    CannotCorrect(Why),
    /// `InvalidArgument` with `Problem::ReadOnly`.
    ReadOnly,
    NoRetryScheduled,
    /// A rejection this table never expects, or one whose facts are off.
    Unexpected(String),
}

/// Why a relaunch (or a correction) is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    DedicatedRoute,
    OperatorsOnly,
    ProviderFailure,
    Final,
    BudgetSpent,
    Uncorrected,
}

/// What follows a fixture's failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follow {
    None,
    AwaitCorrection,
    RetryDue,
    Escalated,
    Final,
}

/// What the guards read of a fixture.
struct Facts {
    status: Status,
    cancel_requested: bool,
    scheduled_later: bool,
    follow_up: Follow,
    provider_origin: bool,
    note_flagged: bool,
}

impl Facts {
    fn of(fixture: Fixture, variant: &Variant) -> Facts {
        Facts {
            status: fixture.status(),
            cancel_requested: fixture.cancel_requested(),
            scheduled_later: fixture == Fixture::PendingLater,
            follow_up: match fixture {
                Fixture::FailedCustomer => Follow::AwaitCorrection,
                Fixture::FailedProvider if variant.retry.retries => Follow::RetryDue,
                Fixture::FailedProvider => Follow::Escalated,
                Fixture::FailedFinal => Follow::Final,
                _ => Follow::None,
            },
            provider_origin: fixture == Fixture::FailedProvider,
            note_flagged: fixture == Fixture::FailedCustomer && !variant.note_read_only,
        }
    }
}

/// The expected answer of one cell: the owner first, then the lease
/// token, then the move and the role ([`WHO`]), then the guards.
fn expected(fixture: Fixture, cmd: Cmd, who: Who, variant: &Variant) -> Want {
    // "A customer never touches another owner's task", whatever it tries.
    if who == Who::OtherCustomer {
        return Want::NotOwner;
    }
    // A command carrying a token that is not the current lease's is
    // refused as stale before the table is consulted, whatever the status
    // and whoever presents it: the fixture's run holds the task only while
    // it is running or waiting.
    if carries_token(cmd) && !fixture.status().is_leased() {
        return Want::StaleLease;
    }
    let may = who_may(cmd, fixture.status());
    if may == "-" {
        return Want::IllegalMove;
    }
    if !may.contains(who.letter()) {
        return Want::RoleNotAllowed;
    }
    match guards(cmd, who.role(), &Facts::of(fixture, variant), variant) {
        Ok(()) => Want::Allowed,
        Err(want) => want,
    }
}

/// What the kind's rules and the record's state decide about a move the
/// role may take. Leases in the fixtures ran out before `NOW` (so
/// `mark_stalled` is due) and a token command that gets this far presents
/// the current token (a stale one is refused before the table, in
/// [`expected`]); the only subtask is optional.
fn guards(cmd: Cmd, role: Role, facts: &Facts, variant: &Variant) -> Result<(), Want> {
    let status = facts.status;
    match cmd {
        Cmd::Start if facts.scheduled_later => Err(Want::NotDue),
        // A running or waiting task is failed by its run's executor only.
        Cmd::FailUnleased if status != Status::Stalled => Err(Want::StaleLease),
        Cmd::Cancel => {
            // "anyone may then cancel it whatever these rules say": a
            // stalled task keeps the cancel request its run was given.
            let requested = status == Status::Stalled && facts.cancel_requested;
            if !requested && !variant.cancel.allows(role, status) {
                Err(Want::RefusedBy(RuleName::Cancel))
            } else if matches!(status, Status::Running | Status::Waiting) && facts.cancel_requested
            {
                Err(Want::CancelAlreadyRequested)
            } else {
                Ok(())
            }
        }
        Cmd::AcknowledgeCancel if !facts.cancel_requested => Err(Want::CancelNotRequested),
        // "the stalled task keeps the request and cannot be requeued"
        Cmd::Requeue if facts.cancel_requested => Err(Want::CancelAlreadyRequested),
        Cmd::Accelerate => {
            if !variant.accelerate.roles.contains(&role) {
                Err(Want::RefusedBy(RuleName::Accelerate))
            } else if !facts.scheduled_later {
                Err(Want::AlreadyDue)
            } else {
                Ok(())
            }
        }
        Cmd::SetEditable | Cmd::SetReadOnly => {
            if !variant.edit.statuses.contains(&status) {
                return Err(Want::RefusedBy(RuleName::Edit));
            }
            // "On a failed task a customer edits only while it could
            // relaunch it, corrections aside."
            if status == Status::Failed
                && role == Role::Customer
                && let Some(why) = customer_refusal(facts, variant, None)
            {
                return Err(Want::CannotCorrect(why));
            }
            if cmd == Cmd::SetReadOnly || variant.note_read_only {
                return Err(Want::ReadOnly);
            }
            Ok(())
        }
        Cmd::Relaunch | Cmd::RelaunchCorrected => {
            let corrected = cmd == Cmd::RelaunchCorrected;
            // "the generic relaunch is refused … a relaunch must carry
            // argument values", for operators too.
            if variant.relaunch.dedicated_route && !corrected {
                return Err(Want::CannotRelaunch(Why::DedicatedRoute));
            }
            // "An operator may relaunch any failed task, without a budget."
            if role == Role::Customer
                && let Some(why) = customer_refusal(facts, variant, Some(corrected))
            {
                return Err(Want::CannotRelaunch(why));
            }
            // Corrections a relaunch carries follow the edit rule, then
            // the argument's spec.
            if corrected && !variant.edit.statuses.contains(&Status::Failed) {
                return Err(Want::RefusedBy(RuleName::Edit));
            }
            if corrected && variant.note_read_only {
                return Err(Want::ReadOnly);
            }
            Ok(())
        }
        Cmd::Retry if facts.follow_up != Follow::RetryDue => Err(Want::NoRetryScheduled),
        _ => Ok(()),
    }
}

/// Why the owner may not relaunch (`relaunch` is `Some(corrected)`) or
/// correct (`None`) a failed task, by the relaunch rules' docs: "only a
/// customer-origin failure, unless `provider_failures` is set, within a
/// budget, and, by default, once every argument the failure flagged has
/// been corrected"; a final failure has no follow-up.
fn customer_refusal(facts: &Facts, variant: &Variant, relaunch: Option<bool>) -> Option<Why> {
    let rules = &variant.relaunch;
    if !rules.customer {
        Some(Why::OperatorsOnly)
    } else if facts.follow_up == Follow::Final {
        Some(Why::Final)
    } else if facts.provider_origin && !rules.provider_failures {
        Some(Why::ProviderFailure)
    } else if rules.max == 0 {
        // No fixture was relaunched by its customer yet.
        Some(Why::BudgetSpent)
    } else if relaunch == Some(false) && rules.require_corrections && facts.note_flagged {
        Some(Why::Uncorrected)
    } else {
        None
    }
}

/// The answer `apply` gave, as a [`Want`], checking the rejection's
/// facts (the actor, the action, the status, the role, the key).
fn observed(rejection: &Rejection, cmd: Cmd, who: Who, status: Status) -> Want {
    let off = || Want::Unexpected(format!("{rejection:?}"));
    // The token the command presented, and the current lease's.
    let presented = carries_token(cmd).then_some(*FIRST_RUN);
    let current = status.is_leased().then_some(*FIRST_RUN);
    match rejection {
        Rejection::NotOwner { actor, action } if actor == "mallory" && *action == cmd.action() => {
            Want::NotOwner
        }
        Rejection::IllegalMove {
            status: s, action, ..
        } if *s == status && *action == cmd.action() => Want::IllegalMove,
        Rejection::RoleNotAllowed {
            status: s,
            action,
            role,
            ..
        } if *s == status && *action == cmd.action() && *role == who.role() => Want::RoleNotAllowed,
        Rejection::StaleLease {
            action,
            presented: p,
            current: c,
        } if *action == cmd.action() && *p == presented && *c == current => Want::StaleLease,
        Rejection::NotDue { .. } => Want::NotDue,
        Rejection::AlreadyDue => Want::AlreadyDue,
        Rejection::CancelAlreadyRequested { .. } => Want::CancelAlreadyRequested,
        Rejection::CancelNotRequested => Want::CancelNotRequested,
        Rejection::RefusedByRule {
            rule,
            action,
            status: s,
            role,
            ..
        } if *action == cmd.action() && *s == status && *role == who.role() => {
            Want::RefusedBy(*rule)
        }
        Rejection::CannotRelaunch { reason } => why(reason).map_or_else(off, Want::CannotRelaunch),
        Rejection::CannotCorrect { reason } => why(reason).map_or_else(off, Want::CannotCorrect),
        Rejection::InvalidArgument(error) if error.problem == Problem::ReadOnly => {
            let key = if cmd == Cmd::SetReadOnly {
                "domain"
            } else {
                "note"
            };
            if error.key == key {
                Want::ReadOnly
            } else {
                off()
            }
        }
        Rejection::NoRetryScheduled { .. } => Want::NoRetryScheduled,
        _ => off(),
    }
}

fn why(reason: &RelaunchRefusal) -> Option<Why> {
    Some(match reason {
        RelaunchRefusal::DedicatedRoute { .. } => Why::DedicatedRoute,
        RelaunchRefusal::OperatorsOnly => Why::OperatorsOnly,
        RelaunchRefusal::ProviderFailure => Why::ProviderFailure,
        RelaunchRefusal::Final => Why::Final,
        RelaunchRefusal::BudgetSpent { .. } => Why::BudgetSpent,
        RelaunchRefusal::Uncorrected { keys } if keys == &["note"] => Why::Uncorrected,
        _ => return None,
    })
}

// ---------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------

/// The task's own answer to "may `actor` do `cmd` now?", for the
/// commands that have one.
fn predicate(task: &T, cmd: Cmd, actor: &Actor) -> Option<bool> {
    let now = t(NOW);
    match cmd {
        Cmd::Cancel => Some(task.can_cancel(actor, now)),
        Cmd::Accelerate => Some(task.can_accelerate(actor, now)),
        Cmd::Relaunch => Some(task.can_relaunch(actor, now)),
        Cmd::SetEditable => Some(task.can_edit("note", actor, now)),
        Cmd::SetReadOnly => Some(task.can_edit("domain", actor, now)),
        Cmd::MarkStalled if *actor == Actor::System => Some(task.can_mark_stalled(now)),
        _ => None,
    }
}

#[test]
fn every_command_by_every_actor_in_every_status_under_every_rule_combination() {
    let started = std::time::Instant::now();
    let variants = variants();
    let mut mismatches: Vec<String> = Vec::new();
    let (mut cells, mut allowed, mut unreachable) = (0usize, 0usize, 0usize);
    let mut statuses_seen = StatusSet::EMPTY;
    for variant in &variants {
        for fixture in Fixture::ALL {
            let built = build(fixture, variant);
            if built.is_some() != reachable(fixture, variant) {
                mismatches.push(format!(
                    "[{}] {fixture:?}: built {}, expected {}",
                    variant.name(),
                    built.is_some(),
                    reachable(fixture, variant)
                ));
            }
            let Some(task) = built else {
                unreachable += 1;
                continue;
            };
            statuses_seen = statuses_seen.with(task.status());
            // Refused commands leave `work` as it was (checked below), so
            // it is copied again only after an accepted one.
            let mut work = task.clone();
            for cmd in Cmd::ALL {
                let command = command(cmd, &task);
                for who in Who::ALL {
                    cells += 1;
                    let want = expected(fixture, cmd, who, variant);
                    let actor = who.actor();
                    let checked = task.check(&command, &actor, t(NOW)).map(|_| ());
                    // The answers a UI shows (OVHcloud's `canCancel`,
                    // `canAccelerate`, `canRelaunch`) follow the table too.
                    if let Some(answer) = predicate(&task, cmd, &actor)
                        && answer != (want == Want::Allowed)
                    {
                        mismatches.push(format!(
                            "[{}] {fixture:?} {cmd:?} by {who:?}: the can_* answer is {answer}, expected {want:?}",
                            variant.name()
                        ));
                    }
                    let got = match work.apply(command.clone(), actor, t(NOW)) {
                        Ok(event) => {
                            // Every accepted command bumps the version by
                            // one; all but a heartbeat return the event
                            // that made it.
                            let logged = event.as_ref().map(|event| event.version);
                            let want_logged = (cmd != Cmd::Heartbeat).then_some(work.version());
                            if work.version() != task.version() + 1 || logged != want_logged {
                                mismatches.push(format!(
                                    "[{}] {fixture:?} {cmd:?} by {who:?}: version {} -> {}, event version {logged:?}",
                                    variant.name(),
                                    task.version(),
                                    work.version(),
                                ));
                            }
                            work = task.clone();
                            Want::Allowed
                        }
                        Err(rejection) => {
                            if work != task {
                                mismatches.push(format!(
                                    "[{}] {fixture:?} {cmd:?} by {who:?}: refused but changed",
                                    variant.name()
                                ));
                                work = task.clone();
                            }
                            if checked.as_ref().err() != Some(&rejection) {
                                mismatches.push(format!(
                                    "[{}] {fixture:?} {cmd:?} by {who:?}: check said {checked:?}, apply {rejection:?}",
                                    variant.name()
                                ));
                            }
                            observed(&rejection, cmd, who, fixture.status())
                        }
                    };
                    if got == Want::Allowed {
                        allowed += 1;
                        if checked.is_err() {
                            mismatches.push(format!(
                                "[{}] {fixture:?} {cmd:?} by {who:?}: apply accepted, check said {checked:?}",
                                variant.name()
                            ));
                        }
                    }
                    if got != want {
                        mismatches.push(format!(
                            "[{}] {fixture:?} {cmd:?} by {who:?}: expected {want:?}, got {got:?}",
                            variant.name()
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "permission matrix: {} rule variants × {} fixtures ({unreachable} unreachable pairs) × {} commands × {} actors = {cells} cells, {allowed} allowed, in {:?}",
        variants.len(),
        Fixture::ALL.len(),
        Cmd::ALL.len(),
        Who::ALL.len(),
        started.elapsed()
    );
    assert_eq!(statuses_seen, StatusSet::ALL, "a status has no fixture");
    assert!(
        mismatches.is_empty(),
        "{} of {cells} cells differ from the table:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(200)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_matrix_tries_every_command_variant_and_every_status() {
    let variant = &variants()[0];
    let task = build(Fixture::Running, variant).unwrap();
    let mut names: Vec<&str> = Cmd::ALL
        .iter()
        .map(|cmd| variant_name(&command(*cmd, &task)))
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Action::COUNT, "{names:?}");
    let mut actions: Vec<Action> = Cmd::ALL.iter().map(|cmd| cmd.action()).collect();
    actions.dedup();
    assert_eq!(actions, Action::ALL);
    for cmd in Cmd::ALL {
        assert_eq!(command(cmd, &task).action(), cmd.action(), "{cmd:?}");
        who_may(cmd, Status::Pending);
    }
    let statuses: StatusSet = Fixture::ALL.iter().map(|f| f.status()).collect();
    assert_eq!(statuses, StatusSet::ALL);
    assert_eq!(WHO.len(), Cmd::ALL.len());
}

// ---------------------------------------------------------------------
// Four rules hosts rely on most
// ---------------------------------------------------------------------

/// The variant with the standard rules, `note` editable.
fn standard() -> Variant {
    variants()
        .into_iter()
        .find(|v| {
            v.cancel.name == "cancel STANDARD"
                && v.relaunch.name == "relaunch STANDARD"
                && v.edit.name == "edit STANDARD"
                && v.accelerate.name == "accelerate STANDARD"
                && v.retry.name == "retry STANDARD"
                && !v.note_read_only
        })
        .unwrap()
}

fn refused(task: &T, command: Command<NamedKind>, actor: Actor) -> Rejection {
    let mut work = task.clone();
    let rejection = work
        .apply(command, actor, t(NOW))
        .map(|event| event.map(|event| event.version))
        .expect_err("should be refused");
    assert_eq!(work, *task, "a refused command changed the task");
    rejection
}

#[test]
fn a_customer_cannot_relaunch_a_provider_fault() {
    let variant = standard();
    let task = build(Fixture::FailedProvider, &variant).unwrap();
    let provider = Rejection::CannotRelaunch {
        reason: RelaunchRefusal::ProviderFailure,
    };
    assert_eq!(refused(&task, Command::relaunch(), alice()), provider);
    assert_eq!(
        refused(&task, command(Cmd::RelaunchCorrected, &task), alice()),
        provider
    );
    // Nor correct it as a way in.
    assert_eq!(
        refused(&task, command(Cmd::SetEditable, &task), alice()),
        Rejection::CannotCorrect {
            reason: RelaunchRefusal::ProviderFailure
        }
    );
    // The system retries it; an operator may relaunch it.
    task.clone()
        .apply(Command::Retry, Actor::System, t(NOW))
        .unwrap();
    task.clone()
        .apply(Command::relaunch(), bob(), t(NOW))
        .unwrap();
    // Escalated, it stays out of the customer's reach.
    let escalated = Variant {
        retry: retry_cases().pop().unwrap(),
        ..standard()
    };
    let task = build(Fixture::FailedProvider, &escalated).unwrap();
    assert!(task.is_escalated());
    assert_eq!(refused(&task, Command::relaunch(), alice()), provider);
    // Only a kind that says so lets the customer relaunch it.
    let lenient = Variant {
        relaunch: relaunch_cases()
            .into_iter()
            .find(|r| r.provider_failures)
            .unwrap(),
        ..standard()
    };
    let mut task = build(Fixture::FailedProvider, &lenient).unwrap();
    task.apply(Command::relaunch(), alice(), t(NOW)).unwrap();
    assert_eq!(task.status(), Status::Pending);
}

#[test]
fn nobody_edits_a_read_only_argument() {
    let read_only = |key: &str| {
        Rejection::InvalidArgument(taskstate::ArgumentError {
            key: key.to_owned(),
            problem: Problem::ReadOnly,
        })
    };
    let variant = Variant {
        edit: edit_cases()
            .into_iter()
            .find(|e| e.statuses.len() == 2)
            .unwrap(),
        ..standard()
    };
    for fixture in [Fixture::PendingDue, Fixture::FailedCustomer] {
        let task = build(fixture, &variant).unwrap();
        for actor in [alice(), bob()] {
            // Setting it, clearing it, or slipping it into a relaunch.
            let set = Command::set_argument("domain", "other.fr");
            assert_eq!(refused(&task, set, actor.clone()), read_only("domain"));
            let clear = Command::SetArgument {
                key: "domain".into(),
                value: None,
            };
            assert_eq!(refused(&task, clear, actor.clone()), read_only("domain"));
            if fixture == Fixture::FailedCustomer {
                let relaunch = Command::Relaunch {
                    arguments: Arguments::from([
                        ("note".to_owned(), ArgumentValue::from("a corrected note")),
                        ("domain".to_owned(), ArgumentValue::from("other.fr")),
                    ]),
                };
                assert_eq!(refused(&task, relaunch, actor), read_only("domain"));
            }
        }
        assert_eq!(
            task.arguments().get("domain"),
            Some(&ArgumentValue::from("example.fr"))
        );
    }
    // The same argument, editable in another kind, is accepted.
    let editable = Variant {
        note_read_only: true,
        ..variant.clone()
    };
    let task = build(Fixture::PendingDue, &editable).unwrap();
    assert_eq!(
        refused(&task, command(Cmd::SetEditable, &task), bob()),
        read_only("note")
    );
    let task = build(Fixture::PendingDue, &variant).unwrap();
    task.clone()
        .apply(command(Cmd::SetEditable, &task), bob(), t(NOW))
        .unwrap();
}

#[test]
fn a_customer_never_touches_another_owners_task() {
    // The most permissive rules: running work cancellable, edits in
    // pending and failed, customers relaunch provider faults.
    let variant = Variant {
        cancel: cancel_cases().pop().unwrap(),
        relaunch: relaunch_cases()
            .into_iter()
            .find(|r| r.provider_failures)
            .unwrap(),
        edit: edit_cases()
            .into_iter()
            .find(|e| e.statuses.len() == 2)
            .unwrap(),
        ..standard()
    };
    for fixture in Fixture::ALL {
        let task = build(fixture, &variant).unwrap();
        for cmd in Cmd::ALL {
            let command = command(cmd, &task);
            let action = command.action();
            assert_eq!(
                refused(&task, command, mallory()),
                Rejection::NotOwner {
                    actor: "mallory".into(),
                    action
                },
                "{fixture:?} {cmd:?}"
            );
        }
    }
    // Nor create one in another owner's name.
    let new = NewTask::new(
        IdGenerator::seeded(1).next_id(t(0)),
        variant.kind(),
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    )
    .argument("domain", "example.fr");
    assert_eq!(
        Task::create(new, mallory(), t(0)).unwrap_err(),
        Rejection::NotOwner {
            actor: "mallory".into(),
            action: Action::Create
        }
    );
}

#[test]
fn a_kind_that_cannot_stop_refuses_to_cancel_running_work() {
    let variant = standard();
    for fixture in [Fixture::Running, Fixture::Waiting] {
        let task = build(fixture, &variant).unwrap();
        for actor in [alice(), bob(), Actor::System] {
            let role = actor.role();
            assert_eq!(
                refused(&task, Command::Cancel { reason: None }, actor),
                Rejection::RefusedByRule {
                    kind: "DomainCreate".into(),
                    rule: RuleName::Cancel,
                    action: Action::Cancel,
                    status: fixture.status(),
                    role,
                },
                "{fixture:?}"
            );
        }
        assert_eq!(task.cancel_requested_at(), None);
    }
    // A kind whose running work can stop takes the cancel as a request.
    let stoppable = Variant {
        cancel: cancel_cases().pop().unwrap(),
        ..standard()
    };
    for fixture in [Fixture::Running, Fixture::Waiting] {
        let mut task = build(fixture, &stoppable).unwrap();
        task.apply(Command::Cancel { reason: None }, alice(), t(NOW))
            .unwrap();
        assert_eq!(task.status(), fixture.status());
        assert_eq!(task.cancel_requested_at(), Some(t(NOW)));
    }
}
