//! Task kinds and their rules.
//!
//! A host declares its own kinds (`DomainCreate`, `DomainTrade`,
//! `ZonePublish`, …) by implementing [`TaskKind`] for its enum: a stable
//! name and a [`Rules`] value per kind. The [transition table](crate::table)
//! says what is possible at all; a kind's rules narrow it (for instance
//! whether a customer may cancel running work). A host with thirty kinds
//! declares thirty rule sets without touching the crate; a data-driven
//! host uses [`NamedKind`], whose rules travel with it.
//!
//! # Example
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use taskstate::{CancelRules, Rules, TaskKind};
//!
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
//! enum Domain {
//!     Create,
//!     DnsUpdate,
//! }
//!
//! // Dyn cancels only pending tasks.
//! static DNS_UPDATE: Rules = Rules::new().cancel(CancelRules::PENDING_ONLY);
//!
//! impl TaskKind for Domain {
//!     fn name(&self) -> &str {
//!         match self {
//!             Domain::Create => "DomainCreate",
//!             Domain::DnsUpdate => "DomainDnsUpdate",
//!         }
//!     }
//!
//!     fn rules(&self) -> &Rules {
//!         match self {
//!             Domain::Create => &Rules::STANDARD,
//!             Domain::DnsUpdate => &DNS_UPDATE,
//!         }
//!     }
//! }
//!
//! assert_eq!(Domain::DnsUpdate.name(), "DomainDnsUpdate");
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::actor::{Role, RoleSet};
use crate::status::{Status, StatusSet};

/// A host's task kind: a stable name and the rules tasks of that kind
/// follow.
///
/// `K` in [`Task<K>`](crate::Task) is the host's kind type. It is stored
/// in every task and in its creation event (hence `Clone`), and serialized
/// with them by its own `serde` implementation.
pub trait TaskKind: Clone {
    /// The kind's stable name (OVHcloud's `function`, Dyn's `name`,
    /// Cloudflare's `operation`): what logs, filters and provider views
    /// show. Changing it breaks stored filters, so keep it stable.
    fn name(&self) -> &str;

    /// The rules of this kind. The default is [`Rules::STANDARD`].
    fn rules(&self) -> &Rules {
        &Rules::STANDARD
    }
}

/// A kind named by a string, with its rules alongside: for hosts that
/// declare kinds in data (a config file, a database) rather than in code.
///
/// Serialized as `{"name": "...", "rules": {...}}`; `rules` may be omitted
/// and then takes the defaults. The rules are stored with every task, so a
/// task keeps the rules it was created under when the host's
/// configuration changes later.
///
/// ```
/// use taskstate::{NamedKind, Rules, TaskKind};
///
/// let kind = NamedKind::new("ZonePublish");
/// assert_eq!(kind.name(), "ZonePublish");
/// assert_eq!(kind.rules(), &Rules::STANDARD);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NamedKind {
    /// The kind's name.
    pub name: String,
    /// The kind's rules.
    #[serde(default)]
    pub rules: Rules,
}

impl NamedKind {
    /// A kind with the standard rules.
    pub fn new(name: impl Into<String>) -> Self {
        NamedKind {
            name: name.into(),
            rules: Rules::STANDARD,
        }
    }

    /// A kind with the given rules.
    pub fn with_rules(name: impl Into<String>, rules: Rules) -> Self {
        NamedKind {
            name: name.into(),
            rules,
        }
    }
}

impl TaskKind for NamedKind {
    fn name(&self) -> &str {
        &self.name
    }

    fn rules(&self) -> &Rules {
        &self.rules
    }
}

/// Names a rule, so a rejection can say which rule refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// [`Rules::cancel`]: who may cancel in which status.
    Cancel,
    /// [`Rules::accelerate`]: who may accelerate.
    Accelerate,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Cancel => "cancel rule",
            Rule::Accelerate => "accelerate rule",
        })
    }
}

/// The rules of one task kind. Build one with [`Rules::new`] and the
/// builder methods, in a `const` or `static` if you like.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Rules {
    /// In which statuses customers and staff may cancel.
    pub cancel: CancelRules,
    /// Who may bring a pending task's `todo_at` forward. The table lets
    /// only customers and operators accelerate; this set narrows it.
    pub accelerate: RoleSet,
}

impl Rules {
    /// The defaults: [`CancelRules::STANDARD`], and customers and
    /// operators may accelerate.
    pub const STANDARD: Rules = Rules {
        cancel: CancelRules::STANDARD,
        accelerate: RoleSet::of(&[Role::Customer, Role::Operator]),
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
///
/// ```
/// use taskstate::{CancelRules, Role, Status};
///
/// let rules = CancelRules::STANDARD.with_running();
/// assert!(rules.allows(Role::Customer, Status::Running));
/// assert!(!CancelRules::PENDING_ONLY.allows(Role::Customer, Status::Failed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
