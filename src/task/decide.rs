//! Deciding: the only code that decides whether a command is accepted.
//!
//! [`Task::decide`] is the whole decision on a command: who may issue it,
//! whether its run still holds the task, the table's row and its guards,
//! the command's data, and what the kind's rules decide about it. Live
//! commands, replayed events and the `can_*` questions all go through it;
//! each guard's meaning is decided in [`Task::check_guard`] alone.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::Task;
use crate::action::Action;
use crate::actor::{Actor, Role};
use crate::argument::{self, Arguments, Problem};
use crate::command::{Command, Decision, NewTask};
use crate::failure::{self, FollowUp, OnFailure, Origin};
use crate::rules::{RuleName, TaskKind};
use crate::status::Status;
use crate::subtask::{
    self, Aggregate, AggregatePolicy, MAX_SUBTASK_DEPTH, NewSubtask, SubtaskChange, SubtaskId,
};
use crate::table::{self, Guard, Transition};
use crate::task::error::{Rejection, RelaunchRefusal};

/// How much of the decision to take: everything, for a live command and a
/// strict replay; or, for a log recorded under other rules, only what
/// does not read the kind's rules and argument specs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scope {
    /// Every check, and the rules' decisions.
    Full,
    /// The checks that read only the state and the command.
    StateOnly,
}

/// What a question assumes beyond the record, to answer "could, once …".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Assume {
    /// Nothing: the record as it is.
    Nothing,
    /// The flagged arguments are corrected by the relaunch itself.
    Corrected,
}

/// What [`Task::decide`] concluded about an acceptable command.
pub(super) struct Ruling {
    /// The table row it takes.
    pub(super) row: &'static Transition,
    /// What was decided beyond the command itself.
    pub(super) effect: Option<Box<Decision>>,
    /// The origin a failure is recorded with, after classification.
    pub(super) origin: Option<Origin>,
}

impl<K: TaskKind> Task<K> {
    /// The full decision on `command` from `actor` at `now`.
    pub(super) fn decide(
        &self,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
        scope: Scope,
        assume: Assume,
    ) -> Result<Ruling, Rejection> {
        let row = self.check_move(command, actor, now, scope, assume)?;
        let mut decision = Ruling {
            row,
            effect: None,
            origin: None,
        };
        if scope == Scope::StateOnly {
            return Ok(decision);
        }
        let specs = self.identity.kind.arguments();
        match command {
            Command::Fail { failure, .. } => {
                // Only what the customer can correct may be flagged.
                for key in &failure.fields {
                    argument::check_edit(specs, key, None).or_else(|error| {
                        match error.problem {
                            Problem::Required => Ok(()),
                            _ => Err(Rejection::invalid(
                                "failure.fields",
                                format!("{key} cannot be corrected: {}", error.problem),
                            )),
                        }
                    })?;
                }
                let (origin, then) =
                    failure::classify(&self.identity.kind.rules().failures, failure);
                let counted = self.state.status.is_leased() && then != OnFailure::RetryUncounted;
                let follow_up = self.follow_up_of(then, counted, now);
                decision.origin = Some(origin);
                let notice = (follow_up == FollowUp::Escalated)
                    .then(|| self.identity.kind.rules().escalation_notice.to_string());
                decision.effect = Some(Box::new(Decision::Failed {
                    follow_up,
                    counted,
                    notice,
                }));
            }
            Command::SetArgument { key, value } => {
                argument::check_edit(specs, key, value.as_ref())?;
                decision.effect = Some(Box::new(self.replaced([key])));
            }
            Command::Relaunch { arguments } if !arguments.is_empty() => {
                for (key, value) in arguments {
                    argument::check_edit(specs, key, Some(value))?;
                }
                decision.effect = Some(Box::new(self.replaced(arguments.keys())));
            }
            _ => {}
        }
        Ok(decision)
    }

    /// What follows a failure classified `then`, counted or not, at `now`.
    fn follow_up_of(&self, then: OnFailure, counted: bool, now: DateTime<Utc>) -> FollowUp {
        let attempts = self.state.attempts.saturating_add(u32::from(counted));
        let retry = &self.identity.kind.rules().retry;
        match then {
            // Its owner asked to stop it: nothing retries it.
            _ if self.state.cancel_requested_at.is_some() => FollowUp::Final,
            OnFailure::AwaitCorrection => FollowUp::AwaitCorrection,
            OnFailure::Final => FollowUp::Final,
            OnFailure::Retry if attempts >= retry.max_attempts => FollowUp::Escalated,
            OnFailure::Retry | OnFailure::RetryUncounted => FollowUp::Retry {
                at: now
                    .checked_add_signed(retry.delay(self.identity.id, attempts))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            },
        }
    }

    /// The effect of changing `keys`: the values they have now.
    pub(super) fn replaced<'k>(&self, keys: impl IntoIterator<Item = &'k String>) -> Decision {
        let previous = keys
            .into_iter()
            .map(|key| (key.clone(), self.state.arguments.get(key).cloned()))
            .collect::<BTreeMap<_, _>>();
        Decision::Replaced { previous }
    }

    /// The checks of a move: the owner, the run's token, the table, the
    /// row's guards and the command's own data.
    pub(super) fn check_move(
        &self,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
        scope: Scope,
        assume: Assume,
    ) -> Result<&'static Transition, Rejection> {
        let action = command.action();
        if let Some(acting) = actor.owner()
            && *acting != self.identity.owner
        {
            return Err(Rejection::NotOwner {
                actor: acting.to_string(),
                action,
            });
        }
        // An old run's move is refused as stale whatever the status now
        // is, before the table: its executor learns it lost the task.
        self.fence(command, false)?;
        let row = legal_row(self.state.status, action, actor.role())?;
        for guard in row.guards {
            if scope == Scope::Full || !guard.reads_rules() {
                self.check_guard(*guard, command, actor, now, scope, assume)?;
            }
        }
        self.check_data(command, now)?;
        Ok(row)
    }

    /// The lease fence, the only place tokens are compared: a command
    /// that carries a token must carry the current run's, and with
    /// `required` it must carry one.
    fn fence(&self, command: &Command<K>, required: bool) -> Result<(), Rejection> {
        let current = self.state.lease.as_ref().map(|lease| lease.token());
        let presented = command.token();
        let holds = match presented {
            Some(token) => current == Some(token),
            None => !required,
        };
        if holds {
            Ok(())
        } else {
            Err(Rejection::StaleLease {
                action: command.action(),
                presented,
                current,
            })
        }
    }

    /// Evaluates one guard of a row. The only place guards are decided.
    fn check_guard(
        &self,
        guard: Guard,
        command: &Command<K>,
        actor: &Actor,
        now: DateTime<Utc>,
        scope: Scope,
        assume: Assume,
    ) -> Result<(), Rejection> {
        let state = &self.state;
        let rules = self.identity.kind.rules();
        let refused_by = |rule| Rejection::RefusedByRule {
            kind: self.identity.kind.name().to_owned(),
            rule,
            action: command.action(),
            status: state.status,
            role: actor.role(),
        };
        match guard {
            Guard::LeaseHolder => self.fence(command, true)?,
            Guard::LeaseExpired => {
                if let Some(lease) = &state.lease
                    && !lease.is_expired(now)
                {
                    return Err(Rejection::LeaseActive {
                        expires_at: lease.expires_at(),
                    });
                }
            }
            Guard::Due => {
                if let Some(todo_at) = state.todo_at
                    && todo_at > now
                {
                    return Err(Rejection::NotDue { todo_at });
                }
            }
            Guard::ScheduledLater => {
                if state.todo_at.is_none_or(|todo_at| todo_at <= now) {
                    return Err(Rejection::AlreadyDue);
                }
            }
            Guard::CancelAllowed => {
                // A stalled task keeps the cancel request its run was
                // given: nobody runs it to acknowledge the request, so
                // cancelling it is honouring a cancel the rules allowed
                // already, whoever asks.
                let requested =
                    state.status == Status::Stalled && state.cancel_requested_at.is_some();
                if !requested && !rules.cancel.allows(actor.role(), state.status) {
                    return Err(refused_by(RuleName::Cancel));
                }
            }
            Guard::CancelNotRequested => {
                if let Some(requested_at) = state.cancel_requested_at {
                    return Err(Rejection::CancelAlreadyRequested { requested_at });
                }
            }
            Guard::CancelRequested => {
                if state.cancel_requested_at.is_none() {
                    return Err(Rejection::CancelNotRequested);
                }
            }
            Guard::AccelerateAllowed => {
                if !rules.accelerate.contains(actor.role()) {
                    return Err(refused_by(RuleName::Accelerate));
                }
            }
            Guard::EditAllowed => {
                if !rules.edit.contains(state.status) {
                    return Err(refused_by(RuleName::Edit));
                }
                if state.status == Status::Failed
                    && let Some(reason) = self.relaunch_refusal(actor.role(), None, false)
                {
                    return Err(Rejection::CannotCorrect { reason });
                }
            }
            Guard::RelaunchAllowed => {
                let corrections = match command {
                    Command::Relaunch { arguments } => Some(arguments),
                    _ => None,
                };
                let refusal = match assume {
                    Assume::Nothing => self.relaunch_refusal(actor.role(), corrections, true),
                    Assume::Corrected => self.relaunch_refusal_once_corrected(actor.role()),
                };
                if let Some(reason) = refusal {
                    return Err(Rejection::CannotRelaunch { reason });
                }
            }
            Guard::SubtaskMove => {
                if let Command::Subtask { id, change, .. } = command {
                    self.check_subtask_move(*id, change, scope)?;
                }
            }
            Guard::Unleased => {
                if let Some(presented) = command.token() {
                    return Err(Rejection::StaleLease {
                        action: command.action(),
                        presented: Some(presented),
                        current: None,
                    });
                }
            }
            Guard::CorrectionsAllowed => {
                let corrects = match (command, assume) {
                    (Command::Relaunch { arguments }, Assume::Nothing) => !arguments.is_empty(),
                    (_, Assume::Corrected) => !state.to_correct.is_empty(),
                    _ => false,
                };
                if corrects && !rules.edit.contains(state.status) {
                    return Err(refused_by(RuleName::Edit));
                }
            }
            Guard::SubtasksSatisfied => {
                let remaining = state.subtasks.unsatisfied_required();
                if remaining > 0 {
                    return Err(Rejection::SubtasksUnsatisfied {
                        subtask: None,
                        remaining,
                    });
                }
            }
            Guard::RetryDue => match state.follow_up {
                Some(FollowUp::Retry { at }) if at <= now => {}
                Some(FollowUp::Retry { at }) => return Err(Rejection::RetryNotDue { at }),
                follow_up => return Err(Rejection::NoRetryScheduled { follow_up }),
            },
        }
        Ok(())
    }

    /// Checks a subtask's move against the subtask table, its children, and
    /// the kind's aggregation policy.
    fn check_subtask_move(
        &self,
        id: SubtaskId,
        change: &SubtaskChange,
        scope: Scope,
    ) -> Result<(), Rejection> {
        let subtasks = &self.state.subtasks;
        let subtask = subtasks
            .get(id)
            .ok_or_else(|| Rejection::invalid("id", format!("the task has no subtask {id}")))?;
        let action = change.action();
        let illegal = Rejection::IllegalSubtaskMove {
            subtask: id,
            status: subtask.status,
            action,
        };
        subtask::subtask_target(subtask.status, action).ok_or(illegal)?;
        match change {
            SubtaskChange::Start
                if scope == Scope::Full
                    && self.identity.kind.rules().subtasks == AggregatePolicy::FailFast
                    && subtasks.aggregate(AggregatePolicy::FailFast) == Aggregate::Failed =>
            {
                Err(Rejection::RefusedByRule {
                    kind: self.identity.kind.name().to_owned(),
                    rule: RuleName::Subtasks,
                    action: Action::Subtask,
                    status: self.state.status,
                    role: Role::System,
                })
            }
            SubtaskChange::Succeed if subtasks.unsatisfied_children(id) > 0 => {
                Err(Rejection::SubtasksUnsatisfied {
                    subtask: Some(id),
                    remaining: subtasks.unsatisfied_children(id),
                })
            }
            SubtaskChange::Fail { errors } if errors.is_empty() => Err(Rejection::invalid(
                "change.errors",
                "a failed subtask needs at least one error",
            )),
            SubtaskChange::Fail { errors } if errors.iter().any(|e| e.code.is_empty()) => Err(
                Rejection::invalid("change.errors.code", "must not be empty"),
            ),
            _ => Ok(()),
        }
    }

    /// Why `role` may not relaunch this failed task, if it may not: the
    /// kind's relaunch rules applied to the failure. With
    /// `with_corrections`, the flagged arguments must be corrected (by
    /// earlier edits or by the `corrections` the relaunch carries).
    fn relaunch_refusal(
        &self,
        role: Role,
        corrections: Option<&Arguments>,
        with_corrections: bool,
    ) -> Option<RelaunchRefusal> {
        let rules = &self.identity.kind.rules().relaunch;
        if let Some(reason) = &rules.dedicated_route
            && with_corrections
            && corrections.is_none_or(Arguments::is_empty)
        {
            return Some(RelaunchRefusal::DedicatedRoute {
                reason: reason.to_string(),
            });
        }
        if let Some(refusal) = self.customer_relaunch_refusal(role) {
            return Some(refusal);
        }
        if role == Role::Customer && with_corrections && rules.require_corrections {
            let keys: Vec<String> = self
                .state
                .to_correct
                .iter()
                .filter(|key| corrections.is_none_or(|c| !c.contains_key(*key)))
                .cloned()
                .collect();
            return (!keys.is_empty()).then_some(RelaunchRefusal::Uncorrected { keys });
        }
        None
    }

    /// Why `role` could not relaunch even once the relaunch itself
    /// carries a correction of every flagged argument.
    fn relaunch_refusal_once_corrected(&self, role: Role) -> Option<RelaunchRefusal> {
        let rules = &self.identity.kind.rules().relaunch;
        if let Some(reason) = &rules.dedicated_route
            && self.state.to_correct.is_empty()
        {
            return Some(RelaunchRefusal::DedicatedRoute {
                reason: reason.to_string(),
            });
        }
        self.customer_relaunch_refusal(role)
    }

    /// The refusals of the relaunch rules that concern a customer and
    /// not the corrections.
    fn customer_relaunch_refusal(&self, role: Role) -> Option<RelaunchRefusal> {
        if role != Role::Customer {
            return None;
        }
        let rules = &self.identity.kind.rules().relaunch;
        if !rules.customer {
            Some(RelaunchRefusal::OperatorsOnly)
        } else if self.state.follow_up == Some(FollowUp::Final) {
            Some(RelaunchRefusal::Final)
        } else if self
            .state
            .failure
            .as_ref()
            .is_some_and(|f| f.origin == Origin::Provider)
            && !rules.provider_failures
        {
            Some(RelaunchRefusal::ProviderFailure)
        } else if self.state.relaunches >= rules.max {
            Some(RelaunchRefusal::BudgetSpent {
                used: self.state.relaunches,
                max: rules.max,
            })
        } else {
            None
        }
    }

    /// Checks a command's own data, once the move itself is allowed.
    fn check_data(&self, command: &Command<K>, now: DateTime<Utc>) -> Result<(), Rejection> {
        let after_now = |field, at: DateTime<Utc>| {
            if at > now {
                Ok(())
            } else {
                Err(Rejection::invalid(
                    field,
                    format!("{at} is not after now ({now})"),
                ))
            }
        };
        let not_after = |field, at: DateTime<Utc>, limit: DateTime<Utc>| {
            if at <= limit {
                Ok(())
            } else {
                Err(Rejection::invalid(
                    field,
                    format!("{at} is after the wait gives up ({limit})"),
                ))
            }
        };
        match command {
            Command::Start { lease_until, .. } => after_now("lease_until", *lease_until),
            Command::Heartbeat {
                lease_until,
                check_at,
                ..
            } => {
                after_now("lease_until", *lease_until)?;
                if let Some(lease) = &self.state.lease
                    && lease.heartbeats() == u32::MAX
                {
                    return Err(Rejection::invalid(
                        "heartbeat",
                        "too many heartbeats since the last event: log one first (a progress report)",
                    ));
                }
                if let Some(lease) = &self.state.lease
                    && *lease_until < lease.expires_at()
                {
                    return Err(Rejection::invalid(
                        "lease_until",
                        format!(
                            "{lease_until} is before the lease's deadline ({}): a heartbeat only extends it",
                            lease.expires_at()
                        ),
                    ));
                }
                match check_at {
                    Some(_) if self.state.status != Status::Waiting => Err(Rejection::invalid(
                        "check_at",
                        "only a waiting task has a time to check again",
                    )),
                    Some(check_at) => {
                        after_now("check_at", *check_at)?;
                        not_after("check_at", *check_at, *lease_until)
                    }
                    None => Ok(()),
                }
            }
            Command::Resume { lease_until, .. } => after_now("lease_until", *lease_until),
            Command::Wait {
                until, check_at, ..
            } => {
                after_now("until", *until)?;
                match check_at {
                    Some(check_at) => {
                        after_now("check_at", *check_at)?;
                        not_after("check_at", *check_at, *until)
                    }
                    None => Ok(()),
                }
            }
            Command::Fail { failure, .. } if failure.code.is_empty() => {
                Err(Rejection::invalid("failure.code", "must not be empty"))
            }
            Command::Create(new) => check_new(new),
            Command::AddSubtask { subtask, .. } => {
                let subtasks = &self.state.subtasks;
                check_subtask(subtask, subtasks.len(), |id| {
                    subtasks.get(id).and_then(|s| s.parent)
                })?;
                if let Some(parent) = subtask.parent.and_then(|p| subtasks.get(p))
                    && parent.status.is_settled()
                {
                    return Err(Rejection::invalid(
                        "subtask.parent",
                        format!("subtask {} has already settled", parent.id),
                    ));
                }
                Ok(())
            }
            Command::ReportProgress {
                steps: Some((done, total)),
                ..
            } => {
                if !self.state.subtasks.is_empty() {
                    return Err(Rejection::invalid(
                        "steps",
                        "this task's steps are its subtasks",
                    ));
                }
                if done > total {
                    return Err(Rejection::invalid(
                        "steps",
                        format!("{done} steps done of {total}"),
                    ));
                }
                Ok(())
            }
            Command::Fail { .. }
            | Command::Complete { .. }
            | Command::Cancel { .. }
            | Command::AcknowledgeCancel { .. }
            | Command::MarkStalled
            | Command::Requeue { .. }
            | Command::Accelerate
            | Command::SetArgument { .. }
            | Command::Relaunch { .. }
            | Command::Retry
            | Command::Subtask { .. }
            | Command::ReportProgress { .. }
            | Command::Resolve => Ok(()),
        }
    }
}

/// The whole decision on a creation, as [`Task::create`] takes it and a
/// replay re-takes it: its party, its own data, and, in [`Scope::Full`],
/// the kind's rules and argument specs.
pub(super) fn check_creation<K: TaskKind>(
    new: &NewTask<K>,
    actor: &Actor,
    scope: Scope,
) -> Result<&'static Transition, Rejection> {
    if let Some(acting) = actor.owner()
        && *acting != new.owner
    {
        return Err(Rejection::NotOwner {
            actor: acting.to_string(),
            action: Action::Create,
        });
    }
    let row = table::creation();
    if !row.roles.contains(actor.role()) {
        return Err(Rejection::RoleNotAllowed {
            status: row.to,
            action: Action::Create,
            role: actor.role(),
            allowed: row.roles,
        });
    }
    check_new(new)?;
    for (position, subtask) in new.subtasks.iter().enumerate() {
        check_subtask(subtask, position, |id| {
            new.subtasks.get(id as usize).and_then(|s| s.parent)
        })?;
    }
    if scope == Scope::Full {
        let retry = &new.kind.rules().retry;
        if !(retry.multiplier.is_finite() && retry.jitter.is_finite()) {
            return Err(Rejection::invalid(
                "kind.rules.retry",
                "the multiplier and the jitter must be finite numbers",
            ));
        }
        argument::check_all(new.kind.arguments(), &new.arguments)?;
    }
    Ok(row)
}

fn check_new<K>(new: &NewTask<K>) -> Result<(), Rejection> {
    if new.owner.as_str().is_empty() {
        return Err(Rejection::invalid("owner", "must not be empty"));
    }
    if new.resource.kind.is_empty() {
        return Err(Rejection::invalid("resource.kind", "must not be empty"));
    }
    if new.resource.id.is_empty() {
        return Err(Rejection::invalid("resource.id", "must not be empty"));
    }
    Ok(())
}

/// Checks a subtask declared at position `position`: a name, a parent
/// declared before it, and no deeper than [`MAX_SUBTASK_DEPTH`] (each
/// subtask's parent is `parent_of` it).
fn check_subtask(
    subtask: &NewSubtask,
    position: usize,
    parent_of: impl Fn(SubtaskId) -> Option<SubtaskId>,
) -> Result<(), Rejection> {
    if subtask.name.is_empty() {
        return Err(Rejection::invalid("subtask.name", "must not be empty"));
    }
    if u32::try_from(position).is_err() {
        return Err(Rejection::invalid("subtasks", "too many subtasks"));
    }
    if let Some(parent) = subtask.parent
        && parent as usize >= position
    {
        return Err(Rejection::invalid(
            "subtask.parent",
            format!("subtask {parent} is not declared before subtask {position}"),
        ));
    }
    // Parents come first, so the walk up ends; it stops at the limit.
    let mut depth = 1;
    let mut above = subtask.parent;
    while let Some(parent) = above {
        depth += 1;
        if depth > MAX_SUBTASK_DEPTH {
            return Err(Rejection::invalid(
                "subtask.parent",
                format!("subtasks nest at most {MAX_SUBTASK_DEPTH} levels deep"),
            ));
        }
        above = parent_of(parent);
    }
    Ok(())
}

/// The row for `action` from `status` if `role` may take it: the table's
/// legality alone (guards need the record and the command).
///
/// # Errors
///
/// [`Rejection::IllegalMove`] when no row leads from `status` by
/// `action`, listing the actions that do; [`Rejection::RoleNotAllowed`]
/// when the row exists but not for `role`, listing the roles that may.
fn legal_row(status: Status, action: Action, role: Role) -> Result<&'static Transition, Rejection> {
    match table::find(status, action) {
        Some(row) if row.roles.contains(role) => Ok(row),
        Some(row) => Err(Rejection::RoleNotAllowed {
            status,
            action,
            role,
            allowed: row.roles,
        }),
        None => Err(Rejection::IllegalMove {
            status,
            action,
            legal: table::from(status).map(|row| row.action).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{TRANSITIONS, from};

    #[test]
    fn every_status_action_role_triple_is_a_row_or_rejected() {
        for status in Status::ALL {
            for action in Action::ALL {
                for role in Role::ALL {
                    let row = TRANSITIONS
                        .iter()
                        .find(|r| r.from == Some(status) && r.action == action);
                    match (row, legal_row(status, action, role)) {
                        (Some(row), Ok(found)) => {
                            assert!(row.roles.contains(role));
                            assert_eq!(row, found);
                        }
                        (Some(row), Err(Rejection::RoleNotAllowed { allowed, .. })) => {
                            assert!(!row.roles.contains(role));
                            assert_eq!(allowed, row.roles);
                        }
                        (None, Err(Rejection::IllegalMove { legal, .. })) => {
                            assert!(!legal.contains(&action));
                            let expected: Vec<_> = from(status).map(|r| r.action).collect();
                            assert_eq!(legal, expected);
                        }
                        (row, result) => panic!("{status} {action} {role}: {row:?} {result:?}"),
                    }
                }
            }
        }
    }
}
