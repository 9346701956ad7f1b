//! What went wrong, and who can fix it.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who can fix a failure.
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
    /// `"customer"` or `"provider"`.
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
/// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 5, 0).unwrap();
/// let failure = Failure::customer(
///     "AFNIC_LEGITIMACY_REQUIRED",
///     "Afnic asks for a justification of use for this domain name",
///     at,
/// )
/// .flag("legitimacyAfnic")
/// .detail(Detail::new("missing", "a justification is required").field("legitimacyAfnic"));
/// assert_eq!(failure.origin, Origin::Customer);
/// assert_eq!(failure.fields, ["legitimacyAfnic"]);
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
    /// A failure of the given origin.
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

    /// A customer-origin failure: invalid or missing information.
    pub fn customer(
        code: impl Into<String>,
        message: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Failure::new(Origin::Customer, code, message, at)
    }

    /// A provider-origin failure: a fault on the provider's side.
    pub fn provider(
        code: impl Into<String>,
        message: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Failure::new(Origin::Provider, code, message, at)
    }

    /// This failure, flagging the argument `key` for correction.
    pub fn flag(mut self, key: impl Into<String>) -> Self {
        self.fields.push(key.into());
        self
    }

    /// This failure, with an error type.
    pub fn error_type(mut self, error_type: impl Into<String>) -> Self {
        self.error_type = Some(error_type.into());
        self
    }

    /// This failure, with one more cause.
    pub fn cause(mut self, cause: Detail) -> Self {
        self.causes.push(cause);
        self
    }

    /// This failure, with one more structured detail.
    pub fn detail(mut self, detail: Detail) -> Self {
        self.details.push(detail);
        self
    }
}

/// One structured detail of a failure or a warning: a code and a message,
/// about a field when it names one (a JSON path into the request, like
/// Cloudflare's warning details).
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
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Detail {
            code: code.into(),
            field: None,
            message: message.into(),
        }
    }

    /// This detail, about `field`.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

/// An informational warning about a task's outcome.
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
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Warning {
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// This warning, with one more detail.
    pub fn detail(mut self, detail: Detail) -> Self {
        self.details.push(detail);
        self
    }
}

/// What follows a failure, as the kind's rules decided when it was
/// recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
#[serde(tag = "next", rename_all = "snake_case")]
pub enum FollowUp {
    /// The customer corrects the flagged arguments and relaunches.
    AwaitCorrection,
    /// The system retries once `at` has come.
    Retry {
        /// When the retry becomes due.
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
pub const ESCALATION_NOTICE: &str =
    "the automatic retries are exhausted: please open a support request";

/// How a failure is handled once classified.
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
    /// Whether `code` matches.
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
    /// A rule for exactly `code`.
    pub const fn exact(code: &'static str, origin: Origin, then: OnFailure) -> Self {
        FailureRule {
            code: CodeMatch::Exact(Cow::Borrowed(code)),
            origin: Some(origin),
            then,
        }
    }

    /// A rule for every code starting with `prefix`.
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
