//! Task kinds and their rules.

use std::borrow::Cow;
use std::fmt;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::actor::{Role, RoleSet};
use crate::argument::ArgumentSpec;
use crate::failure::FailureRule;
use crate::id::TaskId;
use crate::status::{Status, StatusSet};
use crate::subtask::AggregatePolicy;

/// A host's task kind: a stable name and the rules tasks of that kind
/// follow.
///
/// `K` in [`Task<K>`](crate::Task) is the host's kind type. It is stored
/// in every task and in its creation event (hence `Clone`), and serialized
/// with them by its own `serde` implementation.
///
/// # Kinds and their rules
///
/// Task kinds and their rules.
///
/// A host declares its own kinds (`DomainCreate`, `DomainTrade`,
/// `ZonePublish`, …) by implementing [`TaskKind`] for its enum: a stable
/// name and a [`Rules`] value per kind. The [transition table](crate::table)
/// says what is possible at all; a kind's rules narrow it (for instance
/// whether a customer may cancel running work). A host with thirty kinds
/// declares thirty rule sets without touching the crate; a data-driven
/// host uses [`NamedKind`], whose rules travel with it.
///
/// ## Example
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use taskstate::{CancelRules, Rules, TaskKind};
///
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// enum Domain {
///     Create,
///     DnsUpdate,
/// }
///
/// // Dyn cancels only pending tasks.
/// static DNS_UPDATE: Rules = Rules::new().cancel(CancelRules::PENDING_ONLY);
///
/// impl TaskKind for Domain {
///     fn name(&self) -> &str {
///         match self {
///             Domain::Create => "DomainCreate",
///             Domain::DnsUpdate => "DomainDnsUpdate",
///         }
///     }
///
///     fn rules(&self) -> &Rules {
///         match self {
///             Domain::Create => &Rules::STANDARD,
///             Domain::DnsUpdate => &DNS_UPDATE,
///         }
///     }
/// }
///
/// assert_eq!(Domain::DnsUpdate.name(), "DomainDnsUpdate");
/// ```
pub trait TaskKind: Clone {
    /// The kind's stable name (OVHcloud's `function`, Dyn's `name`,
    /// Cloudflare's `operation`): what logs, filters and provider views
    /// show. Changing it breaks stored filters, so keep it stable.
    fn name(&self) -> &str;

    /// The rules of this kind. The default is [`Rules::STANDARD`].
    fn rules(&self) -> &Rules {
        &Rules::STANDARD
    }

    /// The arguments tasks of this kind run with. The default is none.
    fn arguments(&self) -> &[ArgumentSpec] {
        &[]
    }
}

/// A kind named by a string, with its rules alongside: for hosts that
/// declare kinds in data (a config file, a database) rather than in code.
///
/// Serialized as `{"name": "...", "rules": {...}, "arguments": [...]}`;
/// `rules` and `arguments` may be omitted and then take the defaults. They
/// are stored with every task, so a task keeps the rules it was created
/// under when the host's configuration changes later.
///
/// ```
/// use taskstate::{NamedKind, Rules, TaskKind};
///
/// let kind = NamedKind::new("ZonePublish");
/// assert_eq!(kind.name(), "ZonePublish");
/// assert_eq!(kind.rules(), &Rules::STANDARD);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedKind {
    /// The kind's name.
    pub name: String,
    /// The kind's rules.
    #[serde(default)]
    pub rules: Rules,
    /// The kind's arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<ArgumentSpec>,
}

impl NamedKind {
    /// A kind with the standard rules.
    pub fn new(name: impl Into<String>) -> Self {
        NamedKind::with_rules(name, Rules::STANDARD)
    }

    /// A kind with the given rules.
    pub fn with_rules(name: impl Into<String>, rules: Rules) -> Self {
        NamedKind {
            name: name.into(),
            rules,
            arguments: Vec::new(),
        }
    }

    /// This kind, with one more argument.
    pub fn argument(mut self, spec: ArgumentSpec) -> Self {
        self.arguments.push(spec);
        self
    }
}

impl TaskKind for NamedKind {
    fn name(&self) -> &str {
        &self.name
    }

    fn rules(&self) -> &Rules {
        &self.rules
    }

    fn arguments(&self) -> &[ArgumentSpec] {
        &self.arguments
    }
}

/// Names a rule, so a rejection can say which rule refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RuleName {
    /// [`Rules::cancel`]: who may cancel in which status.
    Cancel,
    /// [`Rules::accelerate`]: who may accelerate.
    Accelerate,
    /// [`Rules::edit`]: in which statuses arguments may be edited.
    Edit,
    /// [`Rules::subtasks`]: under fail-fast, no subtask starts after a
    /// required one failed.
    Subtasks,
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleName::Cancel => "cancel rule",
            RuleName::Accelerate => "accelerate rule",
            RuleName::Edit => "edit rule",
            RuleName::Subtasks => "subtask policy",
        })
    }
}

/// The rules of one task kind. Build one with [`Rules::new`] and the
/// builder methods, or in a `static` with the struct update syntax:
///
/// ```
/// use std::borrow::Cow;
/// use taskstate::{CancelRules, FailureRule, Origin, RelaunchRules, Rules, OnFailure};
///
/// static CREDENTIALS: Rules = Rules {
///     cancel: CancelRules::FAILED_ONLY,
///     relaunch: RelaunchRules::dedicated_route(
///         "credential tasks are retried through the credentials route with a new spec",
///     ),
///     failures: Cow::Borrowed(&[FailureRule::prefix("SSH_", Origin::Provider, OnFailure::Retry)]),
///     ..Rules::STANDARD
/// };
/// assert!(CREDENTIALS.relaunch.dedicated_route.is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct Rules {
    /// In which statuses customers and staff may cancel.
    pub cancel: CancelRules,
    /// Who may bring a pending task's `todo_at` forward. The table lets
    /// only customers and operators accelerate; this set narrows it.
    pub accelerate: RoleSet,
    /// Who may relaunch a failed task, how often, and on what condition.
    pub relaunch: RelaunchRules,
    /// How the system retries provider-side failures.
    pub retry: RetryPolicy,
    /// The statuses in which arguments may be edited (the table allows
    /// `pending` and `failed`). On a failed task a customer edits only
    /// while it could relaunch it, corrections aside.
    pub edit: StatusSet,
    /// How failures are classified by their code, in order; the first
    /// match wins (see [`FailureRule`]).
    pub failures: Cow<'static, [FailureRule]>,
    /// How subtasks fold into the task's outcome.
    pub subtasks: AggregatePolicy,
    /// Whether tasks of this kind block other changes on their resource
    /// while in progress (Dyn's `blocking`); a task may override it.
    pub blocking: bool,
}

impl Rules {
    /// The defaults: [`CancelRules::STANDARD`], customers and operators
    /// may accelerate, [`RelaunchRules::STANDARD`],
    /// [`RetryPolicy::STANDARD`], arguments editable on failed tasks, and
    /// no failure rules (a failure keeps its reported origin).
    pub const STANDARD: Rules = Rules {
        cancel: CancelRules::STANDARD,
        accelerate: RoleSet::of(&[Role::Customer, Role::Operator]),
        relaunch: RelaunchRules::STANDARD,
        retry: RetryPolicy::STANDARD,
        edit: StatusSet::of(&[Status::Failed]),
        failures: Cow::Borrowed(&[]),
        subtasks: AggregatePolicy::FailFast,
        blocking: false,
    };

    /// The defaults, to build on.
    pub const fn new() -> Self {
        Rules::STANDARD
    }

    /// These rules with other cancel rules.
    pub const fn cancel(mut self, cancel: CancelRules) -> Self {
        self.cancel = cancel;
        self
    }

    /// These rules with another set of roles that may accelerate.
    pub const fn accelerate(mut self, roles: RoleSet) -> Self {
        self.accelerate = roles;
        self
    }

    /// These rules with other relaunch rules.
    pub fn relaunch(mut self, relaunch: RelaunchRules) -> Self {
        self.relaunch = relaunch;
        self
    }

    /// These rules with another retry policy.
    pub const fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// These rules with tasks that block (or not) other changes on their
    /// resource while in progress.
    pub const fn blocking(mut self, blocking: bool) -> Self {
        self.blocking = blocking;
        self
    }

    /// These rules with another subtask aggregation policy.
    pub const fn subtasks(mut self, policy: AggregatePolicy) -> Self {
        self.subtasks = policy;
        self
    }

    /// These rules with arguments editable in other statuses.
    pub const fn edit(mut self, statuses: StatusSet) -> Self {
        self.edit = statuses;
        self
    }

    /// These rules with a failure classification, tried in order.
    pub fn failures(mut self, rules: impl Into<Cow<'static, [FailureRule]>>) -> Self {
        self.failures = rules.into();
        self
    }
}

/// Who may relaunch a failed task, and on what condition.
///
/// A customer relaunches a task that failed for its own information
/// (OVHcloud's `canRelaunch`): only a customer-origin failure, unless
/// `provider_failures` is set (VMware's retry route retries any failed
/// task), within a budget, and, by default, once every argument the
/// failure flagged has been corrected. An operator may relaunch any failed
/// task, without a budget. A kind with a dedicated route (VMware's
/// credential tasks) refuses a relaunch that carries no argument
/// values, with the reason a caller shows.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct RelaunchRules {
    /// Whether customers may relaunch at all.
    pub customer: bool,
    /// Whether customers may relaunch provider-origin failures too.
    pub provider_failures: bool,
    /// How many times customers may relaunch one task.
    pub max: u32,
    /// Whether every flagged argument must be corrected first.
    pub require_corrections: bool,
    /// When set, the generic relaunch is refused with this reason: a
    /// relaunch must carry argument values, the new spec the kind's own
    /// route takes (they may equal the current ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedicated_route: Option<Cow<'static, str>>,
}

impl RelaunchRules {
    /// Customers relaunch their own failures, up to 5 times, once the
    /// flagged arguments are corrected.
    pub const STANDARD: RelaunchRules = RelaunchRules {
        customer: true,
        provider_failures: false,
        max: 5,
        require_corrections: true,
        dedicated_route: None,
    };

    /// Only operators relaunch.
    pub const OPERATORS_ONLY: RelaunchRules = RelaunchRules {
        customer: false,
        ..RelaunchRules::STANDARD
    };

    /// These rules with another customer budget.
    pub const fn max(mut self, max: u32) -> Self {
        self.max = max;
        self
    }

    /// These rules letting customers relaunch provider-origin failures too.
    pub const fn provider_failures(mut self) -> Self {
        self.provider_failures = true;
        self
    }

    /// These rules not requiring corrections before a relaunch.
    pub const fn without_corrections(mut self) -> Self {
        self.require_corrections = false;
        self
    }

    /// The standard rules, except that the generic relaunch is refused
    /// with `reason`: a relaunch must carry argument values.
    pub const fn dedicated_route(reason: &'static str) -> Self {
        RelaunchRules {
            dedicated_route: Some(Cow::Borrowed(reason)),
            ..RelaunchRules::STANDARD
        }
    }
}

impl Default for RelaunchRules {
    fn default() -> Self {
        RelaunchRules::STANDARD
    }
}

/// How the system retries provider-side failures: exponential backoff with
/// deterministic jitter and a maximum number of attempts, after which the
/// task is escalated.
///
/// The delay before retry `n` (the retry after the `n`-th counted failed
/// attempt) is `base(n) = min(initial × multiplierⁿ⁻¹, max)`, moved down
/// by jitter into the band between `base(n-1)` and `base(n)`: by
/// `jitter × (base(n) − base(n-1)) × u`, where `u ∈ [0, 1)` is derived from
/// the task's id and `n`. So the same task and attempt always give the same
/// delay (no random source), delays never decrease from one attempt to the
/// next, and none exceeds `max`.
///
/// ```
/// use chrono::Duration;
/// use taskstate::{RetryPolicy, TaskId};
///
/// let policy = RetryPolicy::STANDARD.jitter(0.0);
/// let id = TaskId::from(uuid::Uuid::nil());
/// assert_eq!(policy.delay(id, 1), Duration::seconds(60));
/// assert_eq!(policy.delay(id, 2), Duration::seconds(120));
/// assert_eq!(policy.delay(id, 10), Duration::seconds(3600)); // capped
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct RetryPolicy {
    /// The delay before the first retry, in seconds.
    pub initial_delay_secs: u64,
    /// How much each delay grows over the previous base (at least 1).
    pub multiplier: f64,
    /// The longest delay, in seconds.
    pub max_delay_secs: u64,
    /// How many counted attempts a task has before it is escalated.
    pub max_attempts: u32,
    /// The share of the band below each delay that jitter may take, from
    /// 0 (none) to 1.
    pub jitter: f64,
}

impl RetryPolicy {
    /// A minute, doubling, at most an hour, 5 attempts, 10% jitter.
    pub const STANDARD: RetryPolicy = RetryPolicy {
        initial_delay_secs: 60,
        multiplier: 2.0,
        max_delay_secs: 3600,
        max_attempts: 5,
        jitter: 0.1,
    };

    /// No counted retry: a provider failure escalates at once (a failure
    /// the kind classifies as [`OnFailure::RetryUncounted`](crate::OnFailure::RetryUncounted)
    /// is still retried, since it uses no attempt).
    pub const NEVER: RetryPolicy = RetryPolicy {
        max_attempts: 0,
        ..RetryPolicy::STANDARD
    };

    /// This policy with another first delay.
    pub const fn initial_delay_secs(mut self, secs: u64) -> Self {
        self.initial_delay_secs = secs;
        self
    }

    /// This policy with another multiplier.
    pub const fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// This policy with another longest delay.
    pub const fn max_delay_secs(mut self, secs: u64) -> Self {
        self.max_delay_secs = secs;
        self
    }

    /// This policy with another number of attempts.
    pub const fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// This policy with another jitter share.
    pub const fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// The base delay before retry `n`, in milliseconds, without jitter.
    fn base_millis(&self, n: u32) -> f64 {
        if n == 0 {
            return 0.0;
        }
        let max = self.max_delay_secs as f64 * 1000.0;
        let multiplier = if self.multiplier.is_finite() {
            self.multiplier.max(1.0)
        } else {
            1.0
        };
        let exponent = i32::try_from(n - 1).unwrap_or(i32::MAX);
        let base = self.initial_delay_secs as f64 * 1000.0 * multiplier.powi(exponent);
        if base.is_finite() { base.min(max) } else { max }
    }

    /// The delay before the retry that follows the `attempt`-th counted
    /// failed attempt of task `id` (attempts count from 1; 0 is taken as
    /// 1).
    pub fn delay(&self, id: TaskId, attempt: u32) -> Duration {
        let n = attempt.max(1);
        let high = self.base_millis(n);
        let low = self.base_millis(n - 1).min(high);
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let seed = id.as_uuid().as_u128();
        let seed = (seed as u64)
            ^ ((seed >> 64) as u64)
            ^ u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // 53 random bits as a fraction in [0, 1).
        let unit = (crate::mix64(seed) >> 11) as f64 / (1u64 << 53) as f64;
        let millis = high - jitter * (high - low) * unit;
        // Bounded by max_delay_secs, so the conversion cannot overflow
        // for any sane maximum; clamp anyway.
        Duration::milliseconds(millis.clamp(0.0, MAX_DELAY_MILLIS) as i64)
    }
}

/// The longest delay a policy can produce: a hundred years, far beyond any
/// use, and within what `chrono` can add to a time.
const MAX_DELAY_MILLIS: f64 = 100.0 * 365.0 * 24.0 * 3600.0 * 1000.0;

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::STANDARD
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::STANDARD
    }
}

/// In which statuses each party may cancel a task of a kind.
///
/// The seeds disagree, and each of them is one value of this type:
///
/// | system | rule |
/// |---|---|
/// | Dyn | [`CancelRules::PENDING_ONLY`]: "cancels a currently pending task" |
/// | VMware, generic route | [`CancelRules::RUNNING_ONLY`]: cancels in-progress tasks |
/// | VMware, credential tasks | [`CancelRules::FAILED_ONLY`]: cancels failed tasks |
/// | OVHcloud | per task `canCancel`: [`Task::can_cancel`](crate::Task::can_cancel) from these rules |
///
/// Cancelling a `Running` or `Waiting` task is a request: the task records
/// it and stays where it is until its executor acknowledges it
/// ([`Action::AcknowledgeCancel`](crate::Action::AcknowledgeCancel)). Put
/// those statuses in a set only for kinds whose running work can stop.
/// If the run's lease runs out first, the task stalls with the request
/// on it, and anyone may then cancel it whatever these rules say: the
/// request was allowed, and nobody runs the task to acknowledge it (a
/// store's worker does so in the same save that marks it stalled).
///
/// ```
/// use taskstate::{CancelRules, Role, Status};
///
/// let rules = CancelRules::STANDARD.with_running();
/// assert!(rules.allows(Role::Customer, Status::Running));
/// assert!(!CancelRules::PENDING_ONLY.allows(Role::Customer, Status::Failed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct CancelRules {
    /// Statuses in which the owning customer may cancel.
    pub customer: StatusSet,
    /// Statuses in which operators and the system may cancel.
    pub staff: StatusSet,
}

impl CancelRules {
    /// The default: a customer may cancel a pending task, or give up on a
    /// failed one; staff may also cancel a stalled one. Running work is
    /// not cancellable.
    pub const STANDARD: CancelRules = CancelRules {
        customer: StatusSet::of(&[Status::Pending, Status::Failed]),
        staff: StatusSet::of(&[Status::Pending, Status::Stalled, Status::Failed]),
    };

    /// Dyn: only pending tasks, for everyone.
    pub const PENDING_ONLY: CancelRules = CancelRules {
        customer: StatusSet::of(&[Status::Pending]),
        staff: StatusSet::of(&[Status::Pending]),
    };

    /// VMware's generic cancel route: only work in progress (a request the
    /// executor acknowledges).
    pub const RUNNING_ONLY: CancelRules = CancelRules {
        customer: StatusSet::of(&[Status::Running, Status::Waiting]),
        staff: StatusSet::of(&[Status::Running, Status::Waiting]),
    };

    /// VMware's credential tasks: only failed ones.
    pub const FAILED_ONLY: CancelRules = CancelRules {
        customer: StatusSet::of(&[Status::Failed]),
        staff: StatusSet::of(&[Status::Failed]),
    };

    /// Nobody cancels.
    pub const NEVER: CancelRules = CancelRules {
        customer: StatusSet::EMPTY,
        staff: StatusSet::EMPTY,
    };

    /// These rules, with running and waiting work cancellable (by request)
    /// by everyone who may cancel a pending task.
    pub const fn with_running(self) -> Self {
        let running = StatusSet::of(&[Status::Running, Status::Waiting]);
        CancelRules {
            customer: if self.customer.contains(Status::Pending) {
                self.customer.union(running)
            } else {
                self.customer
            },
            staff: if self.staff.contains(Status::Pending) {
                self.staff.union(running)
            } else {
                self.staff
            },
        }
    }

    /// Whether `role` may cancel in `status` by these rules.
    pub const fn allows(&self, role: Role, status: Status) -> bool {
        match role {
            Role::Customer => self.customer.contains(status),
            Role::Operator | Role::System => self.staff.contains(status),
        }
    }
}

impl Default for CancelRules {
    fn default() -> Self {
        CancelRules::STANDARD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_rules_match_the_documented_defaults() {
        let rules = Rules::default();
        assert!(rules.cancel.allows(Role::Customer, Status::Pending));
        assert!(rules.cancel.allows(Role::Customer, Status::Failed));
        assert!(!rules.cancel.allows(Role::Customer, Status::Running));
        assert!(!rules.cancel.allows(Role::Customer, Status::Stalled));
        assert!(rules.cancel.allows(Role::Operator, Status::Stalled));
        assert!(rules.accelerate.contains(Role::Customer));
    }

    #[test]
    fn with_running_extends_only_parties_that_cancel_pending_work() {
        let rules = CancelRules::FAILED_ONLY.with_running();
        assert_eq!(rules, CancelRules::FAILED_ONLY);
        let rules = CancelRules::PENDING_ONLY.with_running();
        assert!(rules.allows(Role::Customer, Status::Waiting));
        assert!(rules.allows(Role::System, Status::Running));
    }

    #[test]
    fn named_kind_rules_default_when_omitted() {
        let kind: NamedKind = serde_json::from_str(r#"{"name":"DomainCreate"}"#).unwrap();
        assert_eq!(kind, NamedKind::new("DomainCreate"));
        let custom = NamedKind::with_rules(
            "ZonePublish",
            Rules::new()
                .cancel(CancelRules::PENDING_ONLY)
                .accelerate(RoleSet::EMPTY),
        );
        let json = serde_json::to_string(&custom).unwrap();
        assert_eq!(serde_json::from_str::<NamedKind>(&json).unwrap(), custom);
    }
}
