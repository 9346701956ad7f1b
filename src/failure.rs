//! What went wrong, and who can fix it.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who can fix a failure.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::{Failure, Origin};
///
/// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// assert_eq!(Failure::customer("DOC_MISSING", "send the ID card", at).origin, Origin::Customer);
/// assert_eq!(Failure::provider("REGISTRY_DOWN", "try later", at).origin, Origin::Provider);
/// assert_eq!(serde_json::to_string(&Origin::Provider)?, r#""provider""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Information the customer gave is invalid or missing: the customer
    /// corrects the flagged arguments and relaunches.
    Customer,
    /// A fault on the provider's side: the customer cannot relaunch; the
    /// system retries on its own schedule and escalates after its last
    /// attempt.
    Provider,
}

impl Origin {
    /// `"customer"` or `"provider"`, as serialized and displayed.
    ///
    /// ```
    /// use taskstate::Origin;
    ///
    /// assert_eq!(Origin::Customer.as_str(), "customer");
    /// assert_eq!(Origin::Provider.to_string(), Origin::Provider.as_str());
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Origin::Customer => "customer",
            Origin::Provider => "provider",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure: why a run ended without success.
///
/// # Failures
///
/// What went wrong, and who can fix it.
///
/// A [`Failure`] records its [`Origin`]: the customer (information they
/// gave is invalid or missing: they correct it, then relaunch) or the
/// provider (a fault on the provider's side: the customer cannot relaunch;
/// the system retries). The origin is what decides, in the kind's rules,
/// whether a relaunch or a retry may follow.
///
/// A [`Warning`] is informational: a task can finish `Done` with warnings
/// (Cloudflare's task warnings, VMware's `COMPLETED_WITH_WARNING`).
///
/// ## Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::{Detail, Failure, Origin};
///
/// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 5, 0).single().ok_or("time")?;
/// let failure = Failure::customer(
///     "AFNIC_LEGITIMACY_REQUIRED",
///     "Afnic asks for a justification of use for this domain name",
///     at,
/// )
/// .flag("legitimacyAfnic")
/// .detail(Detail::new("missing", "a justification is required").field("legitimacyAfnic"));
/// assert_eq!(failure.origin, Origin::Customer);
/// assert_eq!(failure.fields, ["legitimacyAfnic"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// Who can fix it.
    pub origin: Origin,
    /// A machine-readable code (`AFNIC_LEGITIMACY_REQUIRED`,
    /// `COMMISION_HOST_FAILED`). Must not be empty.
    pub code: String,
    /// The human-readable explanation; it becomes the task's `comment`.
    pub message: String,
    /// When it happened, as the reporter saw it.
    #[serde(with = "crate::stamp")]
    pub at: DateTime<Utc>,
    /// The keys of the arguments the customer must correct.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Structured details, each about one field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
    /// The error's type, where a system has one (VMware's `errorType`,
    /// such as `ERROR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// What caused it, outermost first (VMware's `causes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Detail>,
}

impl Failure {
    /// A failure of the given origin, with no flagged field and no
    /// detail.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use taskstate::{Failure, Origin};
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// // An origin read from the executor's own report.
    /// let origin: Origin = serde_json::from_str(r#""provider""#)?;
    /// let failure = Failure::new(origin, "EPP_TIMEOUT", "the registry did not answer", at);
    /// assert_eq!(failure, Failure::provider("EPP_TIMEOUT", "the registry did not answer", at));
    /// assert!(failure.fields.is_empty() && failure.details.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        origin: Origin,
        code: impl Into<String>,
        message: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Failure {
            origin,
            code: code.into(),
            message: message.into(),
            at,
            fields: Vec::new(),
            details: Vec::new(),
            error_type: None,
            causes: Vec::new(),
        }
    }

    /// A customer-origin failure: invalid or missing information. The task
    /// awaits the customer's correction (unless the kind's rules classify
    /// the code otherwise).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// use taskstate::{Failure, FollowUp};
    ///
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::customer("OWNER_INVALID", "the owner's email bounces", now), now)?;
    /// assert_eq!(task.follow_up(), Some(FollowUp::AwaitCorrection));
    /// assert!(task.can_relaunch(&Actor::customer("alice"), now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn customer(
        code: impl Into<String>,
        message: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Failure::new(Origin::Customer, code, message, at)
    }

    /// A provider-origin failure: a fault on the provider's side. The
    /// system retries it on the kind's schedule; the customer cannot
    /// relaunch it.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// use taskstate::{Failure, FollowUp};
    ///
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.fail(&mut task, Failure::provider("REGISTRY_DOWN", "the registry is down", now), now)?;
    /// assert!(matches!(task.follow_up(), Some(FollowUp::Retry { .. })));
    /// assert!(!task.can_relaunch(&Actor::customer("alice"), now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn provider(
        code: impl Into<String>,
        message: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Failure::new(Origin::Provider, code, message, at)
    }

    /// This failure, flagging the argument `key` for correction. The kind
    /// must declare `key`, and not as read-only.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{ArgumentSpec, Failure, NamedKind};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("legitimacyAfnic", 10, 2000));
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "paris.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let failure = Failure::customer("AFNIC_LEGITIMACY_REQUIRED", "justify the use", now)
    ///     .flag("legitimacyAfnic");
    /// run.fail(&mut task, failure, now)?;
    /// assert_eq!(task.fields_to_correct(), ["legitimacyAfnic"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flag(mut self, key: impl Into<String>) -> Self {
        self.fields.push(key.into());
        self
    }

    /// This failure, with an error type.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use taskstate::Failure;
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let failure = Failure::provider("COMMISION_HOST_FAILED", "host commissioning failed", at)
    ///     .error_type("ERROR");
    /// assert_eq!(failure.error_type.as_deref(), Some("ERROR"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn error_type(mut self, error_type: impl Into<String>) -> Self {
        self.error_type = Some(error_type.into());
        self
    }

    /// This failure, with one more cause; causes are kept outermost
    /// first, in the order they are added.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use taskstate::{Detail, Failure};
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let failure = Failure::provider("COMMISION_HOST_FAILED", "host commissioning failed", at)
    ///     .cause(Detail::new("VALIDATION_FAILED", "the host did not validate"))
    ///     .cause(Detail::new("SSH_REFUSED", "the host refused the SSH connection"));
    /// let codes: Vec<_> = failure.causes.iter().map(|c| c.code.as_str()).collect();
    /// assert_eq!(codes, ["VALIDATION_FAILED", "SSH_REFUSED"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cause(mut self, cause: Detail) -> Self {
        self.causes.push(cause);
        self
    }

    /// This failure, with one more structured detail.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use taskstate::{Detail, Failure};
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let failure = Failure::customer("CONTACT_INVALID", "the contact is incomplete", at)
    ///     .detail(Detail::new("missing", "the city is required").field("address.city"));
    /// assert_eq!(failure.details[0].field.as_deref(), Some("address.city"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn detail(mut self, detail: Detail) -> Self {
        self.details.push(detail);
        self
    }
}

/// One structured detail of a failure or a warning: a code and a message,
/// about a field when it names one (a JSON path into the request, like
/// Cloudflare's warning details).
///
/// ```
/// use taskstate::Detail;
///
/// let detail = Detail::new("too_long", "at most 63 characters").field("/labels/0");
/// let json = serde_json::to_string(&detail)?;
/// assert_eq!(json, r#"{"code":"too_long","field":"/labels/0","message":"at most 63 characters"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detail {
    /// A machine-readable code.
    pub code: String,
    /// The field it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The human-readable message.
    pub message: String,
}

impl Detail {
    /// A detail about no particular field.
    ///
    /// ```
    /// use taskstate::Detail;
    ///
    /// let detail = Detail::new("quota", "the account's quota is reached");
    /// assert_eq!((detail.code.as_str(), detail.field), ("quota", None));
    /// ```
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Detail {
            code: code.into(),
            field: None,
            message: message.into(),
        }
    }

    /// This detail, about `field`.
    ///
    /// ```
    /// use taskstate::Detail;
    ///
    /// let detail = Detail::new("missing", "the city is required").field("address.city");
    /// assert_eq!(detail.field.as_deref(), Some("address.city"));
    /// ```
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

/// An informational warning about a task's outcome: a task can finish
/// `Done` with warnings.
///
/// ```
/// use taskstate::{Detail, Warning};
///
/// let warning = Warning::new("RECORD_IGNORED", "one record was ignored")
///     .detail(Detail::new("unsupported_type", "SPF records are deprecated").field("/records/3"));
/// assert_eq!(warning.details.len(), 1);
/// assert_eq!(serde_json::from_str::<Warning>(&serde_json::to_string(&warning)?)?, warning);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    /// A machine-readable code.
    pub code: String,
    /// The human-readable summary.
    pub message: String,
    /// Structured details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
}

impl Warning {
    /// A warning with no details.
    ///
    /// ```
    /// use taskstate::Warning;
    ///
    /// let warning = Warning::new("DNS_PENDING", "the record is not visible yet");
    /// assert_eq!(warning.code, "DNS_PENDING");
    /// assert!(warning.details.is_empty());
    /// ```
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Warning {
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// This warning, with one more detail.
    ///
    /// ```
    /// use taskstate::{Detail, Warning};
    ///
    /// let warning = Warning::new("PARTIAL", "two hosts were skipped")
    ///     .detail(Detail::new("skipped", "in maintenance").field("esx-01"))
    ///     .detail(Detail::new("skipped", "in maintenance").field("esx-02"));
    /// assert_eq!(warning.details.len(), 2);
    /// ```
    pub fn detail(mut self, detail: Detail) -> Self {
        self.details.push(detail);
        self
    }
}

/// What follows a failure, as the kind's rules decided when it was
/// recorded.
///
/// Serialized with a `next` tag: `{"next":"retry","at":"…"}`,
/// `{"next":"escalated"}`.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// use taskstate::{Failure, FollowUp};
///
/// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// run.fail(&mut task, Failure::provider("REGISTRY_DOWN", "the registry is down", now), now)?;
/// let Some(FollowUp::Retry { at }) = task.follow_up() else { return Err("no retry".into()) };
/// assert!(at > now);
/// assert_eq!(task.next_retry_at(), Some(at));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
#[serde(tag = "next", rename_all = "snake_case")]
pub enum FollowUp {
    /// The customer corrects the flagged arguments and relaunches.
    AwaitCorrection,
    /// The system retries once `at` has come.
    Retry {
        /// When the retry becomes due.
        #[serde(with = "crate::stamp")]
        at: DateTime<Utc>,
    },
    /// The provider's retries are spent: the customer must open a support
    /// request.
    Escalated,
    /// The task failed for good: nothing follows automatically.
    Final,
}

crate::strict::strict_tagged!(FollowUp, "next", ["await_correction", "escalated", "final"]);

impl std::fmt::Display for FollowUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FollowUp::AwaitCorrection => f.write_str("await correction"),
            FollowUp::Retry { at } => write!(f, "retry at {at}"),
            FollowUp::Escalated => f.write_str("escalated"),
            FollowUp::Final => f.write_str("final"),
        }
    }
}

/// Whether a failed task's problem has been dealt with (VMware's
/// `resolutionStatus`).
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// use taskstate::{Command, Failure, Resolution};
///
/// assert_eq!(task.resolution(), None); // never failed
/// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// run.fail(&mut task, Failure::customer("DOC_REFUSED", "the document is unreadable", now), now)?;
/// assert_eq!(task.resolution(), Some(Resolution::Unresolved));
/// task.apply(Command::Resolve, Actor::operator("bob"), now)?;
/// assert_eq!(task.resolution(), Some(Resolution::Resolved));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// It failed, and neither a later run succeeded nor an operator
    /// marked it resolved.
    Unresolved,
    /// A later run succeeded, or an operator marked it resolved.
    Resolved,
}

/// The comment an escalated task shows after its failure's message.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{Failure, NamedKind, RetryPolicy, Rules, ESCALATION_NOTICE};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let kind = NamedKind::with_rules("DomainCreate", Rules::new().retry(RetryPolicy::NEVER));
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// run.fail(&mut task, Failure::provider("REGISTRY_DOWN", "the registry is down", now), now)?;
/// assert!(task.is_escalated());
/// assert_eq!(task.comment(), Some(format!("the registry is down; {ESCALATION_NOTICE}").as_str()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const ESCALATION_NOTICE: &str =
    "the automatic retries are exhausted: please open a support request";

/// How a failure is handled once classified.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// use taskstate::{Failure, FailureRule, FollowUp, OnFailure, Origin, Rules};
///
/// // A customer-reported code the provider treats as final.
/// static RULES: &[FailureRule] = &[FailureRule::exact("DOMAIN_TAKEN", Origin::Customer, OnFailure::Final)];
/// let kind = NamedKind::with_rules("DomainCreate", Rules::new().failures(RULES));
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// run.fail(&mut task, Failure::customer("DOMAIN_TAKEN", "someone registered it first", now), now)?;
/// assert_eq!(task.follow_up(), Some(FollowUp::Final));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Retry automatically, counting the attempt against the budget.
    Retry,
    /// Retry automatically without counting the attempt (an
    /// infrastructure fault that is not the task's doing).
    RetryUncounted,
    /// Wait for the customer's correction and relaunch.
    AwaitCorrection,
    /// Fail for good.
    Final,
}

/// Which failure codes a [`FailureRule`] matches.
///
/// ```
/// use taskstate::CodeMatch;
///
/// let ssh = CodeMatch::Prefix("SSH_".into());
/// assert!(ssh.matches("SSH_TIMEOUT"));
/// assert!(!ssh.matches("HTTP_TIMEOUT"));
/// assert!(CodeMatch::Any.matches(""));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum CodeMatch {
    /// Exactly this code.
    Exact(Cow<'static, str>),
    /// Every code that starts with this prefix.
    Prefix(Cow<'static, str>),
    /// Every code.
    Any,
}

impl CodeMatch {
    /// Whether `code` matches: case-sensitively, the whole code for
    /// [`Exact`](CodeMatch::Exact), its start for
    /// [`Prefix`](CodeMatch::Prefix).
    ///
    /// ```
    /// use taskstate::CodeMatch;
    ///
    /// let exact = CodeMatch::Exact("DOMAIN_TAKEN".into());
    /// assert!(exact.matches("DOMAIN_TAKEN"));
    /// assert!(!exact.matches("DOMAIN_TAKEN_BY_PEER"));
    /// assert!(!exact.matches("domain_taken"));
    /// ```
    pub fn matches(&self, code: &str) -> bool {
        match self {
            CodeMatch::Exact(exact) => code == exact,
            CodeMatch::Prefix(prefix) => code.starts_with(&**prefix),
            CodeMatch::Any => true,
        }
    }
}

/// One rule of a kind's failure classification: failures whose code
/// matches get this origin and this handling. A kind's rules are tried in
/// order and the first match wins; when none matches, a failure keeps the
/// origin its executor reported, and a customer-origin failure awaits
/// correction while a provider-origin one is retried.
///
/// ```
/// use taskstate::{CodeMatch, FailureRule, Origin, OnFailure};
///
/// // Registry timeouts are the provider's: retry, but do not count them.
/// const TIMEOUTS: FailureRule = FailureRule::prefix("REGISTRY_TIMEOUT", Origin::Provider, OnFailure::RetryUncounted);
/// assert!(TIMEOUTS.code.matches("REGISTRY_TIMEOUT_EPP"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureRule {
    /// The codes it matches.
    pub code: CodeMatch,
    /// The origin it gives the failure; `None` keeps the reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// What follows.
    pub then: OnFailure,
}

impl FailureRule {
    /// A rule for exactly `code`; usable in a `const` or `static`.
    ///
    /// ```
    /// use taskstate::{CodeMatch, FailureRule, OnFailure, Origin};
    ///
    /// const TAKEN: FailureRule = FailureRule::exact("DOMAIN_TAKEN", Origin::Customer, OnFailure::Final);
    /// assert_eq!(TAKEN.code, CodeMatch::Exact("DOMAIN_TAKEN".into()));
    /// assert!(!TAKEN.code.matches("DOMAIN_TAKEN_2"));
    /// assert_eq!(TAKEN.origin, Some(Origin::Customer));
    /// ```
    pub const fn exact(code: &'static str, origin: Origin, then: OnFailure) -> Self {
        FailureRule {
            code: CodeMatch::Exact(Cow::Borrowed(code)),
            origin: Some(origin),
            then,
        }
    }

    /// A rule for every code starting with `prefix`; usable in a `const`
    /// or `static`.
    ///
    /// ```
    /// use taskstate::{FailureRule, OnFailure, Origin, Rules};
    ///
    /// static RULES: &[FailureRule] = &[FailureRule::prefix("SSH_", Origin::Provider, OnFailure::Retry)];
    /// let rules = Rules::new().failures(RULES);
    /// assert!(rules.failures[0].code.matches("SSH_REFUSED"));
    /// assert_eq!(rules.failures[0].then, OnFailure::Retry);
    /// ```
    pub const fn prefix(prefix: &'static str, origin: Origin, then: OnFailure) -> Self {
        FailureRule {
            code: CodeMatch::Prefix(Cow::Borrowed(prefix)),
            origin: Some(origin),
            then,
        }
    }
}

/// Classifies `failure` by `rules` (first match wins, then the default):
/// the origin it is recorded with, and how it is handled.
pub(crate) fn classify(rules: &[FailureRule], failure: &Failure) -> (Origin, OnFailure) {
    match rules.iter().find(|rule| rule.code.matches(&failure.code)) {
        Some(rule) => (rule.origin.unwrap_or(failure.origin), rule.then),
        None => match failure.origin {
            Origin::Customer => (Origin::Customer, OnFailure::AwaitCorrection),
            Origin::Provider => (Origin::Provider, OnFailure::Retry),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn classification_takes_the_first_match_then_the_default() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let rules = [
            FailureRule::exact(
                "AUTH_CODE_INVALID",
                Origin::Customer,
                OnFailure::AwaitCorrection,
            ),
            FailureRule::prefix("INFRA_", Origin::Provider, OnFailure::RetryUncounted),
            FailureRule::prefix("INFRA_DISK", Origin::Provider, OnFailure::Final),
            FailureRule {
                code: CodeMatch::Exact("QUOTA".into()),
                origin: None,
                then: OnFailure::Final,
            },
        ];
        let f = |origin, code: &str| classify(&rules, &Failure::new(origin, code, "m", at));
        assert_eq!(
            f(Origin::Provider, "AUTH_CODE_INVALID"),
            (Origin::Customer, OnFailure::AwaitCorrection)
        );
        assert_eq!(
            f(Origin::Customer, "INFRA_DISK_FULL"),
            (Origin::Provider, OnFailure::RetryUncounted)
        );
        assert_eq!(
            f(Origin::Customer, "QUOTA"),
            (Origin::Customer, OnFailure::Final)
        );
        assert_eq!(
            f(Origin::Customer, "OTHER"),
            (Origin::Customer, OnFailure::AwaitCorrection)
        );
        assert_eq!(
            f(Origin::Provider, "OTHER"),
            (Origin::Provider, OnFailure::Retry)
        );
        assert!(CodeMatch::Any.matches(""));
    }
}
