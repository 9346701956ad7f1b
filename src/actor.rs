//! Who issues a command: the customer who owns the task, the provider's operator, or the system (scheduler and executors).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The tenant a task belongs to: the customer account that owns it.
///
/// Serialized as a plain string. Cheap to clone (a shared string): every
/// copy of a task and every store index keyed by owner holds one.
///
/// ```
/// use taskstate::{Actor, Owner};
///
/// let owner = Owner::new("alice");
/// assert_eq!(Actor::customer("alice").owner(), Some(&owner));
/// assert_eq!(serde_json::to_string(&owner)?, r#""alice""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Owner(Arc<str>);

impl Owner {
    /// An owner with the given account name.
    ///
    /// ```
    /// use taskstate::Owner;
    ///
    /// let owner = Owner::new("acme-42");
    /// assert_eq!(owner.to_string(), "acme-42");
    /// assert_eq!(owner.clone(), owner); // a clone shares the name
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Owner(Arc::from(name.into()))
    }

    /// The account name.
    ///
    /// ```
    /// use taskstate::Owner;
    ///
    /// assert_eq!(Owner::new(String::from("alice")).as_str(), "alice");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::vocabulary::vocabulary! {
    /// The role an actor plays; the transition table grants moves to roles.
    ///
    /// ```
    /// use taskstate::{table, Action, Actor, Role, Status};
    ///
    /// assert_eq!(Actor::operator("bob").role(), Role::Operator);
    /// // Only the system starts a task.
    /// let start = table::find(Status::Pending, Action::Start).ok_or("no row")?;
    /// assert_eq!(start.roles.iter().collect::<Vec<_>>(), [Role::System]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[serde(rename_all = "snake_case")]
    pub enum Role("role", "roles") {
        /// The customer who owns the task.
        Customer => "customer",
        /// A person on the provider's side (support, operations).
        Operator => "operator",
        /// The scheduler and the executors that run tasks.
        System => "system",
    }
    impl FromStr<Err = ParseRoleError>;
}

/// Text that names no role.
///
/// ```
/// use taskstate::Role;
///
/// assert_eq!("operator".parse::<Role>()?, Role::Operator);
/// let err = "admin".parse::<Role>().err().ok_or("parsed")?;
/// assert_eq!(err.to_string(), "unknown role `admin`");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{value}`")]
pub struct ParseRoleError {
    value: String,
}

impl ParseRoleError {
    pub(crate) fn new(value: &str) -> Self {
        ParseRoleError {
            value: value.to_owned(),
        }
    }

    /// The text that was read.
    ///
    /// ```
    /// use taskstate::Role;
    ///
    /// let err = "admin".parse::<Role>().err().ok_or("parsed")?;
    /// assert_eq!(err.value(), "admin");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// A set of roles, as a bit mask.
///
/// ```
/// use taskstate::{Role, RoleSet};
///
/// let staff = RoleSet::of(&[Role::Operator, Role::System]);
/// assert!(staff.contains(Role::System));
/// assert!(!staff.contains(Role::Customer));
/// assert_eq!(staff.to_string(), "operator, system");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<Role>", into = "Vec<Role>")]
pub struct RoleSet(u8);

impl RoleSet {
    /// No role.
    ///
    /// ```
    /// use taskstate::{Role, RoleSet};
    ///
    /// assert!(RoleSet::EMPTY.is_empty());
    /// assert!(!RoleSet::EMPTY.contains(Role::System));
    /// assert_eq!(RoleSet::EMPTY.to_string(), "nobody");
    /// ```
    pub const EMPTY: RoleSet = RoleSet(0);
    /// Every role.
    ///
    /// ```
    /// use taskstate::{Role, RoleSet};
    ///
    /// assert!(Role::ALL.into_iter().all(|role| RoleSet::ALL.contains(role)));
    /// assert_eq!(RoleSet::ALL, RoleSet::of(&Role::ALL));
    /// ```
    pub const ALL: RoleSet = RoleSet(0b111);

    /// The set of the given roles; usable in a `const`.
    ///
    /// ```
    /// use taskstate::{Role, RoleSet};
    ///
    /// const PEOPLE: RoleSet = RoleSet::of(&[Role::Customer, Role::Operator]);
    /// assert!(PEOPLE.contains(Role::Customer));
    /// assert!(!PEOPLE.contains(Role::System));
    /// ```
    pub const fn of(roles: &[Role]) -> RoleSet {
        let mut bits = 0;
        let mut i = 0;
        while i < roles.len() {
            bits |= 1 << roles[i] as u8;
            i += 1;
        }
        RoleSet(bits)
    }

    /// Whether `role` is in the set.
    ///
    /// ```
    /// use taskstate::{Actor, Role, RoleSet};
    ///
    /// let staff = RoleSet::of(&[Role::Operator, Role::System]);
    /// assert!(staff.contains(Actor::System.role()));
    /// assert!(!staff.contains(Actor::customer("alice").role()));
    /// ```
    #[inline]
    pub const fn contains(self, role: Role) -> bool {
        self.0 & (1 << role as u8) != 0
    }

    /// The union of two sets.
    ///
    /// ```
    /// use taskstate::{Role, RoleSet};
    ///
    /// let both = RoleSet::of(&[Role::Customer]).union(RoleSet::of(&[Role::System]));
    /// assert_eq!(both.to_string(), "customer, system");
    /// ```
    pub const fn union(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 | other.0)
    }

    /// Whether the set has no role.
    ///
    /// ```
    /// use taskstate::{Role, RoleSet};
    ///
    /// assert!(RoleSet::of(&[]).is_empty());
    /// assert!(!RoleSet::of(&[Role::Operator]).is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in the set, in declaration order.
    ///
    /// ```
    /// use taskstate::{Role, RoleSet};
    ///
    /// let set = RoleSet::of(&[Role::System, Role::Customer]);
    /// assert_eq!(set.iter().collect::<Vec<_>>(), [Role::Customer, Role::System]);
    /// ```
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl From<Vec<Role>> for RoleSet {
    fn from(roles: Vec<Role>) -> Self {
        RoleSet::of(&roles)
    }
}

impl From<RoleSet> for Vec<Role> {
    fn from(set: RoleSet) -> Self {
        set.iter().collect()
    }
}

impl fmt::Display for RoleSet {
    /// `customer, operator`; `nobody` for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nobody");
        }
        for (i, role) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(role.as_str())?;
        }
        Ok(())
    }
}

/// The party issuing a command, as the history records it.
///
/// Serialized with a `role` tag: `{"role":"customer","owner":"alice"}`,
/// `{"role":"operator","name":"bob"}`, `{"role":"system"}`.
///
/// # Actors and roles
///
/// Who issues a command: the customer who owns the task, the provider's
/// operator, or the system (scheduler and executors).
///
/// Every row of the [transition table](crate::table) names the [`Role`]s
/// that may take it; [`Actor`] is the concrete party, carrying the identity
/// that the audit log records. A customer acts only on the tasks of its own
/// [`Owner`]: a command from another owner is rejected before anything
/// else is looked at.
///
/// ## Example
///
/// ```
/// use taskstate::{Actor, Owner, Role};
///
/// let alice = Actor::customer("alice");
/// assert_eq!(alice.role(), Role::Customer);
/// assert_eq!(alice.owner(), Some(&Owner::new("alice")));
/// assert_eq!(Actor::System.role(), Role::System);
/// assert_eq!(alice.to_string(), "customer alice");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Actor {
    /// The customer account that owns the task.
    Customer {
        /// The account acting; must be the task's owner.
        owner: Owner,
    },
    /// A named person on the provider's side.
    Operator {
        /// Who, for the audit log.
        name: String,
    },
    /// The scheduler or an executor. Which worker holds a run is recorded
    /// on the run's [`Lease`](crate::Lease), not here.
    System,
}

crate::strict::strict_tagged!(Actor, "role", ["system"]);

impl Actor {
    /// The customer `owner`.
    ///
    /// ```
    /// use taskstate::{Actor, Owner, Role};
    ///
    /// let alice = Actor::customer("alice");
    /// assert_eq!(alice, Actor::Customer { owner: Owner::new("alice") });
    /// assert_eq!(alice.role(), Role::Customer);
    /// ```
    pub fn customer(owner: impl Into<String>) -> Self {
        Actor::Customer {
            owner: Owner::new(owner),
        }
    }

    /// The operator `name`.
    ///
    /// ```
    /// use taskstate::{Actor, Role};
    ///
    /// let bob = Actor::operator("bob");
    /// assert_eq!(bob.role(), Role::Operator);
    /// assert_eq!(serde_json::to_string(&bob)?, r#"{"role":"operator","name":"bob"}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn operator(name: impl Into<String>) -> Self {
        Actor::Operator { name: name.into() }
    }

    /// The role this actor plays.
    ///
    /// ```
    /// use taskstate::{Actor, Role};
    ///
    /// assert_eq!(Actor::customer("alice").role(), Role::Customer);
    /// assert_eq!(Actor::operator("bob").role(), Role::Operator);
    /// assert_eq!(Actor::System.role(), Role::System);
    /// ```
    pub const fn role(&self) -> Role {
        match self {
            Actor::Customer { .. } => Role::Customer,
            Actor::Operator { .. } => Role::Operator,
            Actor::System => Role::System,
        }
    }

    /// The owner a customer acts as; `None` for operators and the system.
    ///
    /// ```
    /// use taskstate::{Actor, Owner};
    ///
    /// assert_eq!(Actor::customer("alice").owner(), Some(&Owner::new("alice")));
    /// assert_eq!(Actor::operator("bob").owner(), None);
    /// assert_eq!(Actor::System.owner(), None);
    /// ```
    pub fn owner(&self) -> Option<&Owner> {
        match self {
            Actor::Customer { owner } => Some(owner),
            Actor::Operator { .. } | Actor::System => None,
        }
    }
}

impl fmt::Display for Actor {
    /// `customer alice`, `operator bob`, `system`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Customer { owner } => write!(f, "customer {owner}"),
            Actor::Operator { name } => write!(f, "operator {name}"),
            Actor::System => f.write_str("system"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_serializes_with_a_role_tag() {
        let cases = [
            (
                Actor::customer("alice"),
                r#"{"role":"customer","owner":"alice"}"#,
            ),
            (
                Actor::operator("bob"),
                r#"{"role":"operator","name":"bob"}"#,
            ),
            (Actor::System, r#"{"role":"system"}"#),
        ];
        for (actor, json) in cases {
            assert_eq!(serde_json::to_string(&actor).unwrap(), json);
            assert_eq!(serde_json::from_str::<Actor>(json).unwrap(), actor);
        }
    }

    #[test]
    fn role_set_operations() {
        let set = RoleSet::of(&[Role::Customer]).union(RoleSet::of(&[Role::System]));
        assert!(set.contains(Role::Customer) && set.contains(Role::System));
        assert!(!set.contains(Role::Operator));
        assert_eq!(RoleSet::ALL.iter().collect::<Vec<_>>(), Role::ALL);
        assert_eq!(RoleSet::EMPTY.to_string(), "nobody");
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["customer","system"]"#);
        assert_eq!(serde_json::from_str::<RoleSet>(&json).unwrap(), set);
    }

    #[test]
    fn role_words_agree_with_serde() {
        crate::vocabulary::assert_words_agree(&Role::ALL, Role::as_str);
        for actor in [
            Actor::customer("alice"),
            Actor::operator("bob"),
            Actor::System,
        ] {
            let json = serde_json::to_value(&actor).unwrap();
            assert_eq!(json["role"], actor.role().as_str());
        }
    }
}
