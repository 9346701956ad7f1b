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
/// `rules` and `arguments` may be omitted and then take the defaults, and
/// are left out when they are the defaults ([`Rules::STANDARD`], no
/// arguments), so a kind of the standard rules is written as its name.
/// Other rules are stored with every task, so a task keeps the rules it
/// was created under when the host's configuration changes later (the
/// standard rules are the crate's, and a release that changed them would
/// be a breaking one).
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
    #[serde(default, skip_serializing_if = "is_standard")]
    pub rules: Rules,
    /// The kind's arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<ArgumentSpec>,
}

/// Whether `rules` are the standard ones, which a kind's JSON leaves out.
fn is_standard(rules: &Rules) -> bool {
    *rules == Rules::STANDARD
}

impl NamedKind {
    /// A kind with the standard rules and no arguments: what a kind read
    /// from data with only a name is.
    ///
    /// ```
    /// use taskstate::{NamedKind, Rules};
    ///
    /// let kind = NamedKind::new("ZonePublish");
    /// assert_eq!(kind.rules, Rules::STANDARD);
    /// assert!(kind.arguments.is_empty());
    /// assert_eq!(serde_json::from_str::<NamedKind>(r#"{"name":"ZonePublish"}"#)?, kind);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        NamedKind::with_rules(name, Rules::STANDARD)
    }

    /// A kind with the given rules.
    ///
    /// ```
    /// use taskstate::{CancelRules, NamedKind, Role, Rules, Status, TaskKind};
    ///
    /// // Dyn cancels only pending tasks.
    /// let kind = NamedKind::with_rules("DomainDnsUpdate", Rules::new().cancel(CancelRules::PENDING_ONLY));
    /// assert_eq!(kind.rules().cancel, CancelRules::PENDING_ONLY);
    /// assert!(!kind.rules().cancel.allows(Role::Customer, Status::Failed));
    /// ```
    pub fn with_rules(name: impl Into<String>, rules: Rules) -> Self {
        NamedKind {
            name: name.into(),
            rules,
            arguments: Vec::new(),
        }
    }

    /// This kind, with one more argument.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{ArgumentSpec, NamedKind, Problem, Rejection, TaskKind};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::new("DomainTrade").argument(ArgumentSpec::text("authCode", 6, 32).required());
    /// assert_eq!(kind.arguments()[0].key, "authCode");
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// // Created without its required argument: refused.
    /// let refused = Task::create(new, Actor::customer("alice"), now);
    /// assert!(matches!(refused, Err(Rejection::InvalidArgument(e)) if e.problem == Problem::Required));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{CancelRules, Command, NamedKind, Rejection, RuleName, Rules};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let kind = NamedKind::with_rules("DomainDelete", Rules::new().cancel(CancelRules::NEVER));
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// # let alice = Actor::customer("alice");
/// let refused = task.apply(Command::Cancel { reason: None }, alice, now);
/// assert!(matches!(refused, Err(Rejection::RefusedByRule { rule: RuleName::Cancel, .. })));
/// assert_eq!(RuleName::Cancel.to_string(), "cancel rule");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// What an escalated task's comment ends with, after the failure's
    /// message: the text a customer reads when the automatic retries are
    /// spent ([`ESCALATION_NOTICE`](crate::ESCALATION_NOTICE) by
    /// default). Recorded with each escalation, so a log replays to the
    /// comment it made even after the text changes.
    #[serde(skip_serializing_if = "is_default_notice")]
    pub escalation_notice: Cow<'static, str>,
}

/// Whether `notice` is the default, which a kind's JSON leaves out.
// serde hands `skip_serializing_if` a reference to the field's own type.
#[allow(clippy::ptr_arg)]
fn is_default_notice(notice: &Cow<'static, str>) -> bool {
    notice == crate::failure::ESCALATION_NOTICE
}

impl Rules {
    /// The defaults: [`CancelRules::STANDARD`], customers and operators
    /// may accelerate, [`RelaunchRules::STANDARD`],
    /// [`RetryPolicy::STANDARD`], arguments editable on failed tasks, and
    /// no failure rules (a failure keeps its reported origin).
    ///
    /// ```
    /// use taskstate::{AggregatePolicy, CancelRules, Rules, Status, StatusSet};
    ///
    /// assert_eq!(Rules::default(), Rules::STANDARD);
    /// assert_eq!(Rules::STANDARD.cancel, CancelRules::STANDARD);
    /// assert_eq!(Rules::STANDARD.edit, StatusSet::of(&[Status::Failed]));
    /// assert_eq!(Rules::STANDARD.subtasks, AggregatePolicy::FailFast);
    /// assert!(Rules::STANDARD.failures.is_empty() && !Rules::STANDARD.blocking);
    /// ```
    pub const STANDARD: Rules = Rules {
        cancel: CancelRules::STANDARD,
        accelerate: RoleSet::of(&[Role::Customer, Role::Operator]),
        relaunch: RelaunchRules::STANDARD,
        retry: RetryPolicy::STANDARD,
        edit: StatusSet::of(&[Status::Failed]),
        failures: Cow::Borrowed(&[]),
        subtasks: AggregatePolicy::FailFast,
        blocking: false,
        escalation_notice: Cow::Borrowed(crate::failure::ESCALATION_NOTICE),
    };

    /// The defaults, to build on; usable in a `static`.
    ///
    /// ```
    /// use taskstate::{CancelRules, Rules};
    ///
    /// // Dyn's DNS updates: cancelled only while pending, blocking their zone.
    /// static DNS_UPDATE: Rules = Rules::new().cancel(CancelRules::PENDING_ONLY).blocking(true);
    /// assert!(DNS_UPDATE.blocking);
    /// assert_eq!(Rules::new(), Rules::STANDARD);
    /// ```
    pub const fn new() -> Self {
        Rules::STANDARD
    }

    /// These rules with other cancel rules.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{CancelRules, NamedKind, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("HostCommission", Rules::new().cancel(CancelRules::RUNNING_ONLY));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// assert!(!task.can_cancel(&alice, now)); // pending: not by these rules
    /// task.start(now + Duration::minutes(5), None, now)?;
    /// assert!(task.can_cancel(&alice, now)); // running: a request the executor acknowledges
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn cancel(mut self, cancel: CancelRules) -> Self {
        self.cancel = cancel;
        self
    }

    /// These rules with another set of roles that may accelerate.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{NamedKind, Role, RoleSet, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let rules = Rules::new().accelerate(RoleSet::of(&[Role::Operator]));
    /// let kind = NamedKind::with_rules("DomainRenew", rules);
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"))
    /// #     .todo_at(now + Duration::days(7));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// assert!(!task.can_accelerate(&alice, now));
    /// assert!(task.can_accelerate(&Actor::operator("bob"), now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn accelerate(mut self, roles: RoleSet) -> Self {
        self.accelerate = roles;
        self
    }

    /// These rules with other relaunch rules.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Failure, NamedKind, RelaunchRules, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("DomainCreate", Rules::new().relaunch(RelaunchRules::OPERATORS_ONLY));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::customer("CARD_DECLINED", "the card was declined", now), now)?;
    /// assert!(!task.can_relaunch(&alice, now));
    /// assert!(task.can_relaunch(&Actor::operator("bob"), now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn relaunch(mut self, relaunch: RelaunchRules) -> Self {
        self.relaunch = relaunch;
        self
    }

    /// These rules with another retry policy.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{NamedKind, RetryPolicy, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let rules = Rules::new().retry(RetryPolicy::STANDARD.max_attempts(2));
    /// let kind = NamedKind::with_rules("ZonePublish", rules);
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// assert_eq!(task.attempts_left(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// These rules with tasks that block (or not) other changes on their
    /// resource while in progress.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{NamedKind, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("ZoneTransfer", Rules::new().blocking(true));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// assert!(task.is_blocking());
    /// # let new = NewTask::new(IdGenerator::seeded(2).next_id(now), NamedKind::with_rules("ZoneTransfer",
    /// #     Rules::new().blocking(true)), Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// // A task may override its kind's rule.
    /// let (other, _) = Task::create(new.blocking(false), alice, now)?;
    /// assert!(!other.is_blocking());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn blocking(mut self, blocking: bool) -> Self {
        self.blocking = blocking;
        self
    }

    /// These rules with another subtask aggregation policy.
    ///
    /// ```
    /// use taskstate::{Aggregate, AggregatePolicy, Rules, SubtaskStatus, Tally};
    ///
    /// let rules = Rules::new().subtasks(AggregatePolicy::SettleAll);
    /// let mut tally = Tally::default();
    /// tally.add(SubtaskStatus::Failed, false);
    /// tally.add(SubtaskStatus::Pending, false);
    /// // Settle-all lets the pending subtask run; fail-fast fails at once.
    /// assert_eq!(tally.aggregate(rules.subtasks), Aggregate::Running);
    /// assert_eq!(tally.aggregate(Rules::STANDARD.subtasks), Aggregate::Failed);
    /// ```
    pub const fn subtasks(mut self, policy: AggregatePolicy) -> Self {
        self.subtasks = policy;
        self
    }

    /// These rules with another escalation notice: what an escalated
    /// task's comment ends with (in the customers' language, say).
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Failure, NamedKind, RetryPolicy, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let rules = Rules::new()
    ///     .retry(RetryPolicy::STANDARD.max_attempts(1))
    ///     .escalation_notice("les relances automatiques sont épuisées : ouvrez une demande");
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now),
    /// #     NamedKind::with_rules("DomainTrade", rules), Owner::new("alice"),
    /// #     ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + chrono::Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::provider("DOWN", "le registre ne répond pas", now), now)?;
    /// assert!(task.is_escalated());
    /// assert_eq!(
    ///     task.comment(),
    ///     Some("le registre ne répond pas; les relances automatiques sont épuisées : ouvrez une demande")
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn escalation_notice(mut self, notice: impl Into<String>) -> Self {
        self.escalation_notice = Cow::Owned(notice.into());
        self
    }

    /// These rules with arguments editable in other statuses (within what
    /// the table allows: `pending` and `failed`).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{ArgumentSpec, NamedKind, Rules, Status, StatusSet};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let rules = Rules::new().edit(StatusSet::of(&[Status::Pending, Status::Failed]));
    /// let kind = NamedKind::with_rules("DomainTrade", rules)
    ///     .argument(ArgumentSpec::text("authCode", 6, 32));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// assert!(task.can_edit("authCode", &alice, now)); // pending: editable by these rules
    /// assert!(!task.can_edit("registrant", &alice, now)); // not an argument of the kind
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn edit(mut self, statuses: StatusSet) -> Self {
        self.edit = statuses;
        self
    }

    /// These rules with a failure classification, tried in order: a
    /// `static` slice, or rules built at run time (a `Vec`).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Failure, FailureRule, FollowUp, NamedKind, OnFailure, Origin, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// // The executor reports an unreadable document as its own fault; it is the customer's.
    /// let rules = vec![FailureRule::prefix("DOC_", Origin::Customer, OnFailure::AwaitCorrection)];
    /// let kind = NamedKind::with_rules("DomainCreate", Rules::new().failures(rules));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::provider("DOC_UNREADABLE", "the scan is blank", now), now)?;
    /// assert_eq!(task.failure().map(|f| f.origin), Some(Origin::Customer));
    /// assert_eq!(task.follow_up(), Some(FollowUp::AwaitCorrection));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{ArgumentSpec, Command, Failure, NamedKind};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("legitimacyAfnic", 10, 2000));
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// # let alice = Actor::customer("alice");
/// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// let failure = Failure::customer("AFNIC_LEGITIMACY_REQUIRED", "justify the use", now)
///     .flag("legitimacyAfnic");
/// run.fail(&mut task, failure, now)?;
/// // The standard rules: correct the flagged argument first, then relaunch.
/// assert!(!task.can_relaunch(&alice, now));
/// assert!(task.can_relaunch_once_corrected(&alice, now));
/// task.apply(Command::set_argument("legitimacyAfnic", "I am the mayor of this town"), alice.clone(), now)?;
/// assert!(task.can_relaunch(&alice, now));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    ///
    /// ```
    /// use taskstate::RelaunchRules;
    ///
    /// let rules = RelaunchRules::STANDARD;
    /// assert!(rules.customer && rules.require_corrections && !rules.provider_failures);
    /// assert_eq!(rules.max, 5);
    /// assert_eq!(RelaunchRules::default(), rules);
    /// ```
    pub const STANDARD: RelaunchRules = RelaunchRules {
        customer: true,
        provider_failures: false,
        max: 5,
        require_corrections: true,
        dedicated_route: None,
    };

    /// Only operators relaunch.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Failure, NamedKind, Rejection, RelaunchRefusal, RelaunchRules, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("DomainCreate", Rules::new().relaunch(RelaunchRules::OPERATORS_ONLY));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::customer("CARD_DECLINED", "the card was declined", now), now)?;
    /// let refusal = task.relaunch_rejection(&alice, now);
    /// assert!(matches!(refusal, Some(Rejection::CannotRelaunch { reason: RelaunchRefusal::OperatorsOnly })));
    /// assert!(task.can_relaunch(&Actor::operator("bob"), now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const OPERATORS_ONLY: RelaunchRules = RelaunchRules {
        customer: false,
        ..RelaunchRules::STANDARD
    };

    /// These rules with another customer budget (operators have none).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Command, Failure, NamedKind, Rejection, RelaunchRefusal, RelaunchRules, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("DomainCreate", Rules::new().relaunch(RelaunchRules::STANDARD.max(1)));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// # let lease = now + Duration::minutes(5);
    /// # let declined = Failure::customer("CARD_DECLINED", "the card was declined", now);
    /// let (run, _) = task.start(lease, None, now)?;
    /// run.fail(&mut task, declined.clone(), now)?;
    /// task.apply(Command::relaunch(), alice.clone(), now)?;
    /// let (run, _) = task.start(lease, None, now)?;
    /// run.fail(&mut task, declined, now)?;
    /// let spent = RelaunchRefusal::BudgetSpent { used: 1, max: 1 };
    /// assert_eq!(task.relaunch_rejection(&alice, now), Some(Rejection::CannotRelaunch { reason: spent }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn max(mut self, max: u32) -> Self {
        self.max = max;
        self
    }

    /// These rules letting customers relaunch provider-origin failures too.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Failure, NamedKind, RelaunchRules, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let rules = Rules::new().relaunch(RelaunchRules::STANDARD.provider_failures());
    /// let kind = NamedKind::with_rules("HostCommission", rules);
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::provider("HOST_UNREACHABLE", "the host did not answer", now), now)?;
    /// assert!(task.can_relaunch(&alice, now)); // without waiting for the retry
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn provider_failures(mut self) -> Self {
        self.provider_failures = true;
        self
    }

    /// These rules not requiring corrections before a relaunch.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{ArgumentSpec, Failure, NamedKind, RelaunchRules, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let rules = Rules::new().relaunch(RelaunchRules::STANDARD.without_corrections());
    /// let kind = NamedKind::with_rules("DomainCreate", rules)
    ///     .argument(ArgumentSpec::text("legitimacyAfnic", 10, 2000));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let failure = Failure::customer("AFNIC_LEGITIMACY_REQUIRED", "justify the use", now)
    ///     .flag("legitimacyAfnic");
    /// run.fail(&mut task, failure, now)?;
    /// assert!(task.can_relaunch(&alice, now)); // the flagged argument left as it is
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn without_corrections(mut self) -> Self {
        self.require_corrections = false;
        self
    }

    /// The standard rules, except that the generic relaunch is refused
    /// with `reason`: a relaunch must carry argument values.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Failure, NamedKind, Rejection, RelaunchRefusal, RelaunchRules, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let route = RelaunchRules::dedicated_route("retry credential tasks through their own route");
    /// let kind = NamedKind::with_rules("CredentialsRotate", Rules::new().relaunch(route));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::customer("SSH_REFUSED", "the password was refused", now), now)?;
    /// let Some(Rejection::CannotRelaunch { reason: RelaunchRefusal::DedicatedRoute { reason } }) =
    ///     task.relaunch_rejection(&alice, now) else { return Err("relaunched".into()) };
    /// assert!(reason.starts_with("retry credential tasks"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::{RetryPolicy, TaskId};
    ///
    /// let first = RetryPolicy::STANDARD.delay(TaskId::from(uuid::Uuid::from_u128(7)), 1);
    /// // A minute, moved down by at most 10% of it.
    /// assert!(first <= Duration::seconds(60) && first >= Duration::seconds(54));
    /// assert_eq!(RetryPolicy::default(), RetryPolicy::STANDARD);
    /// ```
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
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Failure, NamedKind, RetryPolicy, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("DomainCreate", Rules::new().retry(RetryPolicy::NEVER));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// assert_eq!(task.attempts_left(), 0);
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::provider("REGISTRY_DOWN", "the registry is down", now), now)?;
    /// assert!(task.is_escalated());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const NEVER: RetryPolicy = RetryPolicy {
        max_attempts: 0,
        ..RetryPolicy::STANDARD
    };

    /// This policy with another first delay.
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::{RetryPolicy, TaskId};
    ///
    /// let policy = RetryPolicy::STANDARD.jitter(0.0).initial_delay_secs(10);
    /// let id = TaskId::from(uuid::Uuid::from_u128(7));
    /// assert_eq!(policy.delay(id, 1), Duration::seconds(10));
    /// assert_eq!(policy.delay(id, 2), Duration::seconds(20));
    /// ```
    pub const fn initial_delay_secs(mut self, secs: u64) -> Self {
        self.initial_delay_secs = secs;
        self
    }

    /// This policy with another multiplier (below 1, or not finite, it
    /// counts as 1).
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::{RetryPolicy, TaskId};
    ///
    /// let id = TaskId::from(uuid::Uuid::from_u128(7));
    /// let tripling = RetryPolicy::STANDARD.jitter(0.0).multiplier(3.0);
    /// assert_eq!(tripling.delay(id, 3), Duration::seconds(540));
    /// let flat = RetryPolicy::STANDARD.jitter(0.0).multiplier(0.5);
    /// assert_eq!(flat.delay(id, 3), Duration::seconds(60));
    /// ```
    pub const fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// This policy with another longest delay.
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::{RetryPolicy, TaskId};
    ///
    /// let policy = RetryPolicy::STANDARD.max_delay_secs(300);
    /// let id = TaskId::from(uuid::Uuid::from_u128(7));
    /// assert!((1..=10).all(|attempt| policy.delay(id, attempt) <= Duration::minutes(5)));
    /// ```
    pub const fn max_delay_secs(mut self, secs: u64) -> Self {
        self.max_delay_secs = secs;
        self
    }

    /// This policy with another number of attempts.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{Failure, NamedKind, RetryPolicy, Rules};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let rules = Rules::new().retry(RetryPolicy::STANDARD.max_attempts(1));
    /// let kind = NamedKind::with_rules("DomainCreate", rules);
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::provider("REGISTRY_DOWN", "the registry is down", now), now)?;
    /// assert_eq!(task.attempts_left(), 0);
    /// assert!(task.is_escalated());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// This policy with another jitter share (clamped to 0 to 1).
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::{RetryPolicy, TaskId};
    ///
    /// let id = TaskId::from(uuid::Uuid::from_u128(7));
    /// assert_eq!(RetryPolicy::STANDARD.jitter(0.0).delay(id, 2), Duration::seconds(120));
    /// // Full jitter: anywhere in the band between the first delay and the second.
    /// let jittered = RetryPolicy::STANDARD.jitter(1.0).delay(id, 2);
    /// assert!(jittered > Duration::seconds(60) && jittered <= Duration::seconds(120));
    /// ```
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
    ///
    /// ```
    /// use chrono::Duration;
    /// use taskstate::{RetryPolicy, TaskId};
    ///
    /// let (policy, id) = (RetryPolicy::STANDARD, TaskId::from(uuid::Uuid::from_u128(7)));
    /// let delays: Vec<Duration> = (1..=8).map(|attempt| policy.delay(id, attempt)).collect();
    /// assert!(delays.windows(2).all(|pair| pair[0] <= pair[1]), "never shorter");
    /// assert!(delays.iter().all(|delay| *delay <= Duration::hours(1)), "never beyond the max");
    /// assert_eq!(policy.delay(id, 3), policy.delay(id, 3), "no random source");
    /// assert_eq!(policy.delay(id, 0), policy.delay(id, 1));
    /// ```
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
    ///
    /// ```
    /// use taskstate::{CancelRules, Role, Status};
    ///
    /// let rules = CancelRules::STANDARD;
    /// assert!(rules.allows(Role::Customer, Status::Pending) && rules.allows(Role::Customer, Status::Failed));
    /// assert!(!rules.allows(Role::Customer, Status::Stalled));
    /// assert!(rules.allows(Role::Operator, Status::Stalled));
    /// assert!(!rules.allows(Role::Operator, Status::Running));
    /// ```
    pub const STANDARD: CancelRules = CancelRules {
        customer: StatusSet::of(&[Status::Pending, Status::Failed]),
        staff: StatusSet::of(&[Status::Pending, Status::Stalled, Status::Failed]),
    };

    /// Dyn: only pending tasks, for everyone.
    ///
    /// ```
    /// use taskstate::{CancelRules, Role, Status, StatusSet};
    ///
    /// let rules = CancelRules::PENDING_ONLY;
    /// assert_eq!((rules.customer, rules.staff), (StatusSet::of(&[Status::Pending]), rules.customer));
    /// assert!(!rules.allows(Role::Operator, Status::Failed));
    /// ```
    pub const PENDING_ONLY: CancelRules = CancelRules {
        customer: StatusSet::of(&[Status::Pending]),
        staff: StatusSet::of(&[Status::Pending]),
    };

    /// VMware's generic cancel route: only work in progress (a request the
    /// executor acknowledges).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{CancelRules, Command, NamedKind, Rules, Status};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("HostCommission", Rules::new().cancel(CancelRules::RUNNING_ONLY));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// # let alice = Actor::customer("alice");
    /// task.start(now + Duration::minutes(5), None, now)?;
    /// task.apply(Command::Cancel { reason: Some("wrong host".into()) }, alice, now)?;
    /// // Still running: the executor sees the request and acknowledges it.
    /// assert_eq!(task.status(), Status::Running);
    /// assert_eq!(task.cancel_requested_at(), Some(now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const RUNNING_ONLY: CancelRules = CancelRules {
        customer: StatusSet::of(&[Status::Running, Status::Waiting]),
        staff: StatusSet::of(&[Status::Running, Status::Waiting]),
    };

    /// VMware's credential tasks: only failed ones.
    ///
    /// ```
    /// use taskstate::{CancelRules, Role, Status};
    ///
    /// assert!(CancelRules::FAILED_ONLY.allows(Role::Customer, Status::Failed));
    /// assert!(!CancelRules::FAILED_ONLY.allows(Role::Customer, Status::Pending));
    /// assert!(!CancelRules::FAILED_ONLY.allows(Role::Operator, Status::Stalled));
    /// ```
    pub const FAILED_ONLY: CancelRules = CancelRules {
        customer: StatusSet::of(&[Status::Failed]),
        staff: StatusSet::of(&[Status::Failed]),
    };

    /// Nobody cancels.
    ///
    /// ```
    /// use taskstate::{CancelRules, Role, Status};
    ///
    /// let nobody = Role::ALL.into_iter().all(|role| {
    ///     Status::ALL.into_iter().all(|status| !CancelRules::NEVER.allows(role, status))
    /// });
    /// assert!(nobody);
    /// ```
    pub const NEVER: CancelRules = CancelRules {
        customer: StatusSet::EMPTY,
        staff: StatusSet::EMPTY,
    };

    /// These rules, with running and waiting work cancellable (by request)
    /// by everyone who may cancel a pending task.
    ///
    /// ```
    /// use taskstate::{CancelRules, Role, Status};
    ///
    /// let rules = CancelRules::PENDING_ONLY.with_running();
    /// assert!(rules.allows(Role::Customer, Status::Running) && rules.allows(Role::Customer, Status::Waiting));
    /// assert!(!rules.allows(Role::Customer, Status::Failed));
    /// // Nobody may cancel a pending credential task, so nobody gains running ones.
    /// assert_eq!(CancelRules::FAILED_ONLY.with_running(), CancelRules::FAILED_ONLY);
    /// ```
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

    /// Whether `role` may cancel in `status` by these rules: customers by
    /// [`customer`](CancelRules::customer), operators and the system by
    /// [`staff`](CancelRules::staff). The table and the task's state have
    /// their say too ([`Task::can_cancel`](crate::Task::can_cancel)).
    ///
    /// ```
    /// use taskstate::{CancelRules, Role, Status, StatusSet};
    ///
    /// let rules = CancelRules { customer: StatusSet::of(&[Status::Pending]), staff: StatusSet::ALL };
    /// assert!(rules.allows(Role::Customer, Status::Pending));
    /// assert!(!rules.allows(Role::Customer, Status::Failed));
    /// assert!(rules.allows(Role::System, Status::Failed));
    /// ```
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
