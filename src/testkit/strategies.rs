//! Proptest strategies for the crate's types (feature `testkit`): random
//! rules, actors, argument values, failures, valid tasks of a host's
//! kinds, and command sequences, so a host's property tests of its
//! handlers and its storage start from the same generators as the crate's
//! own.
//!
//! | strategy | generates |
//! |---|---|
//! | [`rules`] | [`Rules`]: every seed's cancel rules and more, accelerate roles, relaunch, retry, edit rules, with or without [`FAILURE_RULES`] |
//! | [`actor`] | an [`Actor`] for a task of an owner: the owner, another customer, an operator or the system |
//! | [`argument_spec`], [`named_kind`] | random argument declarations, and data-driven kinds that carry them |
//! | [`valid_value`], [`invalid_value`], [`argument_value`] | values for an [`ArgumentSpec`], derived from its type and bounds |
//! | [`arguments`] | a valid set of values for a list of specs |
//! | [`failure`] | a valid [`Failure`] flagging some of the given keys |
//! | [`new_task`], [`task_of`] | valid new tasks and created [`Task`]s of a host's kinds |
//! | [`step`] | a [`Step`]: a command template that [`Step::resolve`] turns into a command for the live task |
//!
//! Steps are templates rather than commands because a useful command
//! depends on the task it is applied to: the current lease token, the
//! arguments its kind declares, the rows of the table that leave its
//! status. Most steps are drawn from those rows, by roles the row allows,
//! so random sequences go deep into the lifecycle: the crate's own tests
//! check, with a [`Coverage`](crate::table::Coverage), that 512 sequences
//! take every row of the table. The other steps are arbitrary commands
//! from arbitrary parties, mostly refused, which is the point too.
//!
//! # Example: a host's property test
//!
//! ```
//! use std::sync::LazyLock;
//!
//! use chrono::Duration;
//! use proptest::prelude::*;
//! use taskstate::testkit::strategies::{self, step};
//! use taskstate::{ArgumentSpec, TaskKind};
//!
//! // The host's kinds.
//! #[derive(Clone, Debug, PartialEq)]
//! enum Zone {
//!     Create,
//!     Publish,
//! }
//!
//! static CREATE: LazyLock<Vec<ArgumentSpec>> = LazyLock::new(|| {
//!     vec![
//!         ArgumentSpec::text("zone", 1, 253).read_only().required(),
//!         ArgumentSpec::integer("ttl", 60, 86_400),
//!     ]
//! });
//!
//! impl TaskKind for Zone {
//!     fn name(&self) -> &str {
//!         match self {
//!             Zone::Create => "ZoneCreate",
//!             Zone::Publish => "ZonePublish",
//!         }
//!     }
//!
//!     fn arguments(&self) -> &[ArgumentSpec] {
//!         match self {
//!             Zone::Create => &CREATE,
//!             Zone::Publish => &[],
//!         }
//!     }
//! }
//!
//! proptest! {
//!     // In a host's `tests/` file, put `#[test]` on the function.
//!     fn handlers_keep_the_host_invariants(
//!         (mut task, created) in strategies::task_of(vec![Zone::Create, Zone::Publish]),
//!         steps in proptest::collection::vec(step(), 1..40),
//!     ) {
//!         // Required arguments have valid values from the start.
//!         if *task.kind() == Zone::Create {
//!             prop_assert!(task.arguments().contains_key("zone"));
//!         }
//!         let mut log = vec![created];
//!         let mut now = task.created_at();
//!         for step in &steps {
//!             now += Duration::seconds(step.advance);
//!             let (command, actor) = step.resolve(&task, now);
//!             let before = task.clone();
//!             match task.apply(command, actor, now) {
//!                 // The host's handler, or its store's save, runs here.
//!                 Ok(event) => {
//!                     prop_assert_eq!(task.version(), before.version() + 1);
//!                     log.extend(event);
//!                 }
//!                 Err(_) => prop_assert_eq!(&task, &before),
//!             }
//!         }
//!         // The log rebuilds the record.
//!         prop_assert!(task.check_log(&log).is_ok());
//!     }
//! }
//!
//! handlers_keep_the_host_invariants();
//! ```

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::sample::select;

use crate::action::Action;
use crate::actor::{Actor, Owner, Role, RoleSet};
use crate::argument::{ArgumentSpec, ArgumentType, ArgumentValue, Arguments, IdFormat};
use crate::command::{Command, Event, NewTask, Outcome, ResourceRef};
use crate::failure::{Failure, FailureRule, OnFailure, Origin, Warning};
use crate::id::IdGenerator;
use crate::lease::LeaseToken;
use crate::rules::{CancelRules, NamedKind, RelaunchRules, RetryPolicy, Rules, TaskKind};
use crate::status::{Status, StatusSet};
use crate::subtask::{AggregatePolicy, NewSubtask, Percent, SubtaskChange};
use crate::table;
use crate::task::Task;

// ---------------------------------------------------------------------
// Rules and failures
// ---------------------------------------------------------------------

/// The failure rules [`rules`] gives half of its values: a customer-origin
/// code awaiting correction, a prefix of uncounted provider retries, and a
/// final code. [`CODES`] matches each of them, and one more matches none.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, CODES, FAILURE_RULES};
///
/// assert!(!FAILURE_RULES.iter().any(|rule| rule.code.matches(CODES[0])));
/// for (rule, code) in FAILURE_RULES.iter().zip(&CODES[1..]) {
///     assert!(rule.code.matches(code));
/// }
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let rules = strategies::rules().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(rules.failures.is_empty() || rules.failures[..] == *FAILURE_RULES);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const FAILURE_RULES: &[FailureRule] = &[
    FailureRule::exact("AUTH_INVALID", Origin::Customer, OnFailure::AwaitCorrection),
    FailureRule::prefix("INFRA_", Origin::Provider, OnFailure::RetryUncounted),
    FailureRule::exact("QUOTA_FINAL", Origin::Customer, OnFailure::Final),
];

/// The codes random failures carry: one no rule of [`FAILURE_RULES`]
/// matches, then one for each rule.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, CODES};
///
/// let mut runner = TestRunner::deterministic();
/// let at = strategies::created_at().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
/// for _ in 0..16 {
///     let failure = strategies::failure(at, Vec::new()).new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(CODES.contains(&failure.code.as_str()));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CODES: [&str; 4] = ["SOME_CODE", "AUTH_INVALID", "INFRA_DOWN", "QUOTA_FINAL"];

/// A failure code from [`CODES`], the unclassified one most often.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, CODES};
///
/// let mut runner = TestRunner::deterministic();
/// let codes = strategies::code();
/// for _ in 0..16 {
///     let code = codes.new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(CODES.contains(&code));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn code() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just(CODES[0]),
        2 => Just(CODES[1]),
        2 => Just(CODES[2]),
        1 => Just(CODES[3]),
    ]
}

/// Random rules: every one of the seeds' cancel rules and arbitrary ones,
/// with and without running cancels; random accelerate roles; random
/// relaunch rules (sometimes a dedicated route); a random retry budget and
/// delay; edits on failed tasks, on pending and failed ones, or never;
/// either subtask policy; with or without [`FAILURE_RULES`].
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let rules = strategies::rules().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(rules.retry.max_attempts < 4 && rules.retry.max_delay_secs == 600);
///     assert!(rules.relaunch.max < 3);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rules() -> impl Strategy<Value = Rules> {
    let cancel = prop_oneof![
        Just(CancelRules::STANDARD),
        Just(CancelRules::PENDING_ONLY),
        Just(CancelRules::RUNNING_ONLY),
        Just(CancelRules::FAILED_ONLY),
        Just(CancelRules::NEVER),
        Just(CancelRules::STANDARD.with_running()),
        (status_set(), status_set()).prop_map(|(customer, staff)| CancelRules { customer, staff }),
    ];
    let relaunch = (
        any::<bool>(),
        any::<bool>(),
        0u32..3,
        any::<bool>(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(customer, provider_failures, max, require_corrections, dedicated)| RelaunchRules {
                customer,
                provider_failures,
                max,
                require_corrections,
                dedicated_route: dedicated.then_some(Cow::Borrowed("use the credentials route")),
            },
        );
    let retry = (0u32..4, 0u64..120).prop_map(|(max_attempts, initial)| {
        RetryPolicy::STANDARD
            .max_attempts(max_attempts)
            .initial_delay_secs(initial)
            .max_delay_secs(600)
    });
    let edit = prop_oneof![
        Just(StatusSet::of(&[Status::Failed])),
        Just(StatusSet::of(&[Status::Pending, Status::Failed])),
        Just(StatusSet::EMPTY),
    ];
    let policy = prop_oneof![
        Just(AggregatePolicy::FailFast),
        Just(AggregatePolicy::SettleAll)
    ];
    (
        cancel,
        role_set(),
        relaunch,
        retry,
        edit,
        policy,
        any::<bool>(),
    )
        .prop_map(
            |(cancel, accelerate, relaunch, retry, edit, policy, classify)| {
                let rules = Rules::new()
                    .subtasks(policy)
                    .cancel(cancel)
                    .accelerate(accelerate)
                    .relaunch(relaunch)
                    .retry(retry)
                    .edit(edit);
                if classify {
                    rules.failures(FAILURE_RULES)
                } else {
                    rules
                }
            },
        )
}

/// Any set of statuses.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::StatusSet;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let set = strategies::status_set().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert_eq!(set.iter().collect::<StatusSet>(), set);
///     assert_eq!(StatusSet::ALL.union(set), StatusSet::ALL);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn status_set() -> impl Strategy<Value = StatusSet> {
    any::<u8>().prop_map(|bits| {
        Status::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, status)| status)
            .collect()
    })
}

/// Any set of roles.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::RoleSet;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let roles = strategies::role_set().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(roles.iter().all(|role| roles.contains(role)));
///     assert_eq!(RoleSet::ALL.union(roles), RoleSet::ALL);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn role_set() -> impl Strategy<Value = RoleSet> {
    (0u8..8).prop_map(|bits| {
        let roles: Vec<Role> = Role::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, role)| role)
            .collect();
        RoleSet::of(&roles)
    })
}

/// A valid failure reported at `at`: either origin, a code from
/// [`code`], a message, some of `keys` flagged for correction, sometimes
/// an error type.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let at = strategies::created_at().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
/// let keys = vec!["zone".to_string(), "ttl".to_string()];
/// for _ in 0..16 {
///     let failure = strategies::failure(at, keys.clone()).new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert_eq!(failure.at, at);
///     assert!(failure.fields.iter().all(|field| keys.contains(field)));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn failure(at: DateTime<Utc>, keys: Vec<String>) -> impl Strategy<Value = Failure> {
    let count = keys.len();
    (
        origin(),
        code(),
        "[a-z]{1,10}( [a-z]{1,10}){0,4}",
        proptest::sample::subsequence(keys, 0..=count),
        proptest::option::of(Just("ERROR")),
    )
        .prop_map(move |(origin, code, message, fields, error_type)| {
            let mut failure = Failure::new(origin, code, message, at);
            for key in fields {
                failure = failure.flag(key);
            }
            if let Some(error_type) = error_type {
                failure = failure.error_type(error_type);
            }
            failure
        })
}

/// Either origin.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::Origin;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let origin = strategies::origin().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(matches!(origin, Origin::Customer | Origin::Provider));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn origin() -> impl Strategy<Value = Origin> {
    prop_oneof![Just(Origin::Customer), Just(Origin::Provider)]
}

// ---------------------------------------------------------------------
// Actors and owners
// ---------------------------------------------------------------------

/// The customer accounts that own [`task_of`]'s tasks.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, OWNERS};
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let owner = strategies::owner().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(OWNERS.contains(&owner.as_str()));
///     assert!(!OWNERS.contains(&strategies::other_owner(&owner).as_str()));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const OWNERS: &[&str] = &["alice", "carol", "dave", "erin"];

/// The operator of random actors.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, OPERATOR};
/// use taskstate::{Actor, Owner};
///
/// let mut runner = TestRunner::deterministic();
/// let owner = Owner::new("alice");
/// for _ in 0..16 {
///     if let Actor::Operator { name } = strategies::actor(&owner).new_tree(&mut runner).map_err(|e| e.to_string())?.current() {
///         assert_eq!(name, OPERATOR);
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const OPERATOR: &str = "support";

/// An owner from [`OWNERS`].
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, OWNERS};
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let owner = strategies::owner().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(OWNERS.contains(&owner.as_str()));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn owner() -> impl Strategy<Value = Owner> {
    select(OWNERS).prop_map(Owner::new)
}

/// Which party a random actor is, relative to a task's owner.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::Owner;
/// use taskstate::testkit::strategies::{self, ActorChoice};
///
/// let mut runner = TestRunner::deterministic();
/// let owner = Owner::new("alice");
/// for _ in 0..16 {
///     let choice = strategies::actor_choice().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     let role = choice.actor(&owner).role();
///     assert_eq!(ActorChoice::of(role) == choice, choice != ActorChoice::OtherCustomer);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorChoice {
    /// The customer who owns the task.
    Owner,
    /// A customer who does not own the task (see [`other_owner`]).
    OtherCustomer,
    /// The operator [`OPERATOR`].
    Operator,
    /// The system.
    System,
}

impl ActorChoice {
    /// The choice that plays `role` for the task's owner: the owner itself
    /// for [`Role::Customer`].
    ///
    /// ```
    /// # use proptest::strategy::{Strategy, ValueTree};
    /// # use proptest::test_runner::TestRunner;
    /// use taskstate::Role;
    /// use taskstate::testkit::strategies::{self, ActorChoice};
    ///
    /// let mut runner = TestRunner::deterministic();
    /// for _ in 0..4 {
    ///     let owner = strategies::owner().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    ///     for role in Role::ALL {
    ///         assert_eq!(ActorChoice::of(role).actor(&owner).role(), role);
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn of(role: Role) -> Self {
        match role {
            Role::Customer => ActorChoice::Owner,
            Role::Operator => ActorChoice::Operator,
            Role::System => ActorChoice::System,
        }
    }

    /// The actor for a task owned by `owner`.
    ///
    /// ```
    /// # use proptest::strategy::{Strategy, ValueTree};
    /// # use proptest::test_runner::TestRunner;
    /// use taskstate::testkit::strategies::{self, ActorChoice};
    ///
    /// let mut runner = TestRunner::deterministic();
    /// for _ in 0..16 {
    ///     let owner = strategies::owner().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    ///     assert_eq!(ActorChoice::Owner.actor(&owner).owner(), Some(&owner));
    ///     let other = ActorChoice::OtherCustomer.actor(&owner);
    ///     assert!(other.owner().is_some_and(|someone| *someone != owner));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn actor(self, owner: &Owner) -> Actor {
        match self {
            ActorChoice::Owner => Actor::Customer {
                owner: owner.clone(),
            },
            ActorChoice::OtherCustomer => Actor::Customer {
                owner: other_owner(owner),
            },
            ActorChoice::Operator => Actor::operator(OPERATOR),
            ActorChoice::System => Actor::System,
        }
    }
}

/// A customer account other than `owner`: `mallory`, or `trudy` for
/// mallory's tasks.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::Owner;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let owner = strategies::owner().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert_ne!(strategies::other_owner(&owner), owner);
/// }
/// let mallory = Owner::new("mallory");
/// assert_eq!(strategies::other_owner(&mallory).as_str(), "trudy");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn other_owner(owner: &Owner) -> Owner {
    if owner.as_str() == "mallory" {
        Owner::new("trudy")
    } else {
        Owner::new("mallory")
    }
}

/// A random party: the owner most of the time among customers, the
/// system most often of all (it issues most commands in real life).
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::Owner;
/// use taskstate::testkit::strategies::{self, ActorChoice};
///
/// let mut runner = TestRunner::deterministic();
/// let owner = Owner::new("alice");
/// for _ in 0..16 {
///     let choice = strategies::actor_choice().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     let actor = choice.actor(&owner);
///     assert_eq!(actor.owner() == Some(&owner), choice == ActorChoice::Owner);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn actor_choice() -> impl Strategy<Value = ActorChoice> {
    prop_oneof![
        3 => Just(ActorChoice::Owner),
        1 => Just(ActorChoice::OtherCustomer),
        2 => Just(ActorChoice::Operator),
        5 => Just(ActorChoice::System),
    ]
}

/// A random actor for a task owned by `owner`: the owner, another
/// customer, an operator or the system (see [`actor_choice`]).
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, OPERATOR};
/// use taskstate::{Actor, Owner};
///
/// let mut runner = TestRunner::deterministic();
/// let owner = Owner::new("alice");
/// for _ in 0..16 {
///     match strategies::actor(&owner).new_tree(&mut runner).map_err(|e| e.to_string())?.current() {
///         Actor::Customer { owner: customer } => assert!(!customer.as_str().is_empty()),
///         Actor::Operator { name } => assert_eq!(name, OPERATOR),
///         Actor::System => {}
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn actor(owner: &Owner) -> impl Strategy<Value = Actor> + use<> {
    let owner = owner.clone();
    actor_choice().prop_map(move |choice| choice.actor(&owner))
}

// ---------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------

/// The longest text a [`ValueSeed`] builds; a text argument whose minimum
/// is beyond it gets no valid value, and one whose maximum is beyond it no
/// value too long.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::ArgumentSpec;
/// use taskstate::testkit::strategies::{self, MAX_TEXT_CHARS};
///
/// let mut runner = TestRunner::deterministic();
/// let huge = ArgumentSpec::text("blob", MAX_TEXT_CHARS + 1, MAX_TEXT_CHARS + 2);
/// for _ in 0..8 {
///     let value = strategies::valid_value(&huge).new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(huge.check(&value).is_err());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_TEXT_CHARS: u32 = 1 << 16;

/// How many characters beyond its minimum a valid text has at most.
const EXTRA_CHARS: u32 = 40;

/// Random material for one argument value, that [`ValueSeed::value_for`]
/// turns into a value for a given spec. A [`Step`] carries one because the
/// spec it will set is known only once the step meets its task.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::ArgumentSpec;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let ttl = ArgumentSpec::integer("ttl", 60, 86_400);
/// for _ in 0..16 {
///     let seed = strategies::value_seed().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert_eq!(ttl.check(&seed.value_for(&ttl)).is_ok(), seed.valid);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ValueSeed {
    /// Whether the value should fit the spec.
    pub valid: bool,
    /// Which way to build (or to break) the value.
    pub variant: u8,
    /// Picks a length, a number within bounds, an accepted value, a date.
    pub number: u64,
    /// The characters texts are built from (repeated as needed).
    pub text: String,
}

impl ValueSeed {
    /// A value for `spec`: one that passes [`ArgumentSpec::check`] when
    /// [`valid`](ValueSeed::valid) is set and some value can (text bounds
    /// not crossed and a minimum up to [`MAX_TEXT_CHARS`], a non-empty
    /// one-of list, integer bounds not crossed), else one that fails it:
    /// too short, too long, not accepted, out of bounds, malformed, or of
    /// the wrong type.
    ///
    /// ```
    /// # use proptest::strategy::{Strategy, ValueTree};
    /// # use proptest::test_runner::TestRunner;
    /// use taskstate::testkit::strategies;
    ///
    /// let mut runner = TestRunner::deterministic();
    /// for _ in 0..16 {
    ///     let spec = strategies::argument_spec().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    ///     let seed = strategies::value_seed().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    ///     // Every spec `argument_spec` makes has values that fit it.
    ///     assert_eq!(spec.check(&seed.value_for(&spec)).is_ok(), seed.valid);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value_for(&self, spec: &ArgumentSpec) -> ArgumentValue {
        if self.valid
            && let Some(value) = self.fitting(&spec.kind)
        {
            return value;
        }
        self.misfit(&spec.kind)
    }

    /// `count` characters of [`text`](ValueSeed::text), repeated.
    fn chars(&self, count: u64) -> String {
        let source = if self.text.is_empty() {
            "x"
        } else {
            &self.text
        };
        let count = usize::try_from(count).unwrap_or(0);
        source.chars().cycle().take(count).collect()
    }

    /// `number` modulo `n` (`n` > 0), as an index.
    fn index(&self, n: usize) -> usize {
        let n = n.max(1) as u64;
        usize::try_from(self.number % n).unwrap_or(0)
    }

    fn fitting(&self, kind: &ArgumentType) -> Option<ArgumentValue> {
        let n = self.number;
        let value = match kind {
            ArgumentType::Text { min, max } => {
                if min > max || *min > MAX_TEXT_CHARS {
                    return None;
                }
                let room = (max - min).min(EXTRA_CHARS);
                let count = match self.variant % 4 {
                    0 => u64::from(*min),
                    1 => u64::from(min + room),
                    _ => u64::from(*min) + n % (u64::from(room) + 1),
                };
                ArgumentValue::Text(self.chars(count))
            }
            ArgumentType::OneOf { accepted } => {
                ArgumentValue::Text(accepted.get(self.index(accepted.len()))?.clone())
            }
            ArgumentType::Integer { min, max } => {
                if min > max {
                    return None;
                }
                let value = match self.variant % 4 {
                    0 => *min,
                    1 => *max,
                    _ => {
                        let span = i128::from(*max) - i128::from(*min) + 1;
                        let offset = i128::from(n) % span;
                        i64::try_from(i128::from(*min) + offset).unwrap_or(*min)
                    }
                };
                ArgumentValue::Integer(value)
            }
            ArgumentType::Boolean => ArgumentValue::Boolean(n % 2 == 1),
            ArgumentType::Date => {
                // From 1970 to about 2134.
                let days = i32::try_from(n % 60_000).unwrap_or(0);
                ArgumentValue::Date(
                    NaiveDate::from_num_days_from_ce_opt(UNIX_EPOCH_DAYS_FROM_CE + days)
                        .unwrap_or_default(),
                )
            }
            ArgumentType::Email => {
                let local: String = self
                    .text
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(16)
                    .collect();
                let local = if local.is_empty() {
                    "user".into()
                } else {
                    local
                };
                let domain = ["example", "registry", "mail-host"][self.index(3)];
                let tld = ["fr", "com", "org", "museum"][usize::from(self.variant % 4)];
                ArgumentValue::Text(format!("{local}@{domain}.{tld}"))
            }
            ArgumentType::Phone => {
                let code = 1 + n % 999;
                let code_digits = code.to_string().len();
                let total = 8 + usize::from(self.variant % 8);
                let rest = u32::try_from(total - code_digits).unwrap_or(7);
                let number = (n / 1000) % 10u64.pow(rest);
                let width = rest as usize;
                ArgumentValue::Text(if self.variant & 8 == 0 {
                    format!("+{code}.{number:0width$}")
                } else {
                    format!("+{code}{number:0width$}")
                })
            }
            ArgumentType::Reference { id, .. } => ArgumentValue::Text(match id {
                IdFormat::Number => (1 + n % 99_999_999).to_string(),
                IdFormat::Uuid => uuid::Uuid::from_u64_pair(n, n.rotate_left(17))
                    .hyphenated()
                    .to_string(),
                IdFormat::Token => {
                    let token: String = self
                        .text
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(32)
                        .collect();
                    format!("doc-{token}{}", n % 1000)
                }
            }),
            ArgumentType::Json => ArgumentValue::Json(match self.variant % 5 {
                0 => serde_json::Value::Null,
                1 => serde_json::Value::from(n % 1_000_000),
                2 => serde_json::Value::from(self.text.clone()),
                3 => serde_json::Value::Bool(n % 2 == 1),
                _ => serde_json::json!({ "note": self.text, "count": n % 100 }),
            }),
        };
        Some(value)
    }

    fn misfit(&self, kind: &ArgumentType) -> ArgumentValue {
        let n = self.number;
        let mut ways = Vec::new();
        match kind {
            ArgumentType::Text { min, max } => {
                if *min > 0 && *min <= MAX_TEXT_CHARS {
                    ways.push(ArgumentValue::Text(self.chars(n % u64::from(*min))));
                }
                if *max < MAX_TEXT_CHARS {
                    ways.push(ArgumentValue::Text(self.chars(u64::from(*max) + 1 + n % 8)));
                }
            }
            ArgumentType::OneOf { accepted } => {
                // Longer than any accepted value, so none of them.
                ways.push(ArgumentValue::Text(format!("{}~", accepted.concat())));
            }
            ArgumentType::Integer { min, max } => {
                let spread = i64::try_from(n % 1000).unwrap_or(0);
                if let Some(below) = min.checked_sub(1) {
                    ways.push(ArgumentValue::Integer(below.saturating_sub(spread)));
                }
                if let Some(above) = max.checked_add(1) {
                    ways.push(ArgumentValue::Integer(above.saturating_add(spread)));
                }
            }
            ArgumentType::Email => {
                ways.push(ArgumentValue::from(
                    BAD_EMAILS[self.index(BAD_EMAILS.len())],
                ));
            }
            ArgumentType::Phone => {
                ways.push(ArgumentValue::from(
                    BAD_PHONES[self.index(BAD_PHONES.len())],
                ));
            }
            ArgumentType::Reference { .. } => {
                ways.push(ArgumentValue::from(BAD_IDS[self.index(BAD_IDS.len())]));
            }
            ArgumentType::Boolean | ArgumentType::Date | ArgumentType::Json => {}
        }
        ways.push(self.wrong_type(kind));
        let pick = usize::from(self.variant) % ways.len();
        ways.into_iter()
            .nth(pick)
            .unwrap_or_else(|| self.wrong_type(kind))
    }

    /// A value of a type `kind` does not take.
    fn wrong_type(&self, kind: &ArgumentType) -> ArgumentValue {
        let n = self.number;
        let first = self.variant.is_multiple_of(2);
        let number = ArgumentValue::Integer(i64::try_from(n % 1000).unwrap_or(0));
        match kind {
            ArgumentType::Text { .. }
            | ArgumentType::OneOf { .. }
            | ArgumentType::Email
            | ArgumentType::Phone
            | ArgumentType::Reference { .. } => {
                if first {
                    number
                } else {
                    ArgumentValue::Boolean(n % 2 == 1)
                }
            }
            ArgumentType::Integer { .. } => {
                if first {
                    ArgumentValue::Text((n % 1000).to_string())
                } else {
                    ArgumentValue::Boolean(n % 2 == 1)
                }
            }
            ArgumentType::Boolean => {
                if first {
                    ArgumentValue::from("true")
                } else {
                    number
                }
            }
            ArgumentType::Date => {
                if first {
                    ArgumentValue::from("2026-11-23")
                } else {
                    number
                }
            }
            ArgumentType::Json => {
                if first {
                    ArgumentValue::Text(self.text.clone())
                } else {
                    number
                }
            }
        }
    }
}

/// The days from 0001-01-01 to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Texts that are not email addresses.
const BAD_EMAILS: [&str; 8] = [
    "",
    "a",
    "@example.fr",
    "a@b",
    "a@b..fr",
    "a b@example.fr",
    "a@b@c.fr",
    "not an email",
];

/// Texts that are ids of no form: not numbers, UUIDs or tokens.
const BAD_IDS: [&str; 5] = ["", "a b", "../../etc", "12 34", "x/y"];

/// Texts that are not international phone numbers.
const BAD_PHONES: [&str; 8] = [
    "",
    "0123456789",
    "+33.12",
    "+33.12345678901234",
    "+3a.123456789",
    "+1234.56789012",
    "+.12345678",
    "+0.00000000",
];

/// Seeds whose `valid` flag comes from `valid`.
fn seeds(valid: impl Strategy<Value = bool>) -> impl Strategy<Value = ValueSeed> {
    (valid, any::<u8>(), any::<u64>(), "[a-zA-Z0-9 éß.-]{0,16}").prop_map(
        |(valid, variant, number, text)| ValueSeed {
            valid,
            variant,
            number,
            text,
        },
    )
}

/// A random [`ValueSeed`], valid two times in three.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::ArgumentSpec;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let zone = ArgumentSpec::text("zone", 1, 253);
/// for _ in 0..16 {
///     let seed = strategies::value_seed().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(seed.text.chars().count() <= 16);
///     assert_eq!(zone.check(&seed.value_for(&zone)).is_ok(), seed.valid);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn value_seed() -> impl Strategy<Value = ValueSeed> {
    seeds(proptest::bool::weighted(2.0 / 3.0))
}

/// Values that fit `spec` (see [`ValueSeed::value_for`] for the specs no
/// value fits), the bounds themselves often.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::ArgumentSpec;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let zone = ArgumentSpec::text("zone", 1, 253).required();
/// for _ in 0..16 {
///     let value = strategies::valid_value(&zone).new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(zone.check(&value).is_ok());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn valid_value(spec: &ArgumentSpec) -> impl Strategy<Value = ArgumentValue> + use<> {
    let spec = spec.clone();
    seeds(Just(true)).prop_map(move |seed| seed.value_for(&spec))
}

/// Values that `spec` refuses: too short or too long, not accepted, out of
/// bounds by one or more, malformed, or of the wrong type.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::ArgumentSpec;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let ttl = ArgumentSpec::integer("ttl", 60, 86_400);
/// for _ in 0..16 {
///     let value = strategies::invalid_value(&ttl).new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(ttl.check(&value).is_err());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn invalid_value(spec: &ArgumentSpec) -> impl Strategy<Value = ArgumentValue> + use<> {
    let spec = spec.clone();
    seeds(Just(false)).prop_map(move |seed| seed.value_for(&spec))
}

/// Values for `spec`, valid two times in three.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies;
/// use taskstate::{ArgumentSpec, ArgumentValue};
///
/// let mut runner = TestRunner::deterministic();
/// let ttl = ArgumentSpec::integer("ttl", 60, 86_400);
/// for _ in 0..16 {
///     let value = strategies::argument_value(&ttl).new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     let fits = matches!(value, ArgumentValue::Integer(60..=86_400));
///     assert_eq!(ttl.check(&value).is_ok(), fits);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn argument_value(spec: &ArgumentSpec) -> impl Strategy<Value = ArgumentValue> + use<> {
    let spec = spec.clone();
    value_seed().prop_map(move |seed| seed.value_for(&spec))
}

/// A valid set of values for `specs`: one for every required argument,
/// and for each optional one half of the time.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::ArgumentSpec;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let specs = [ArgumentSpec::text("zone", 1, 253).required(), ArgumentSpec::integer("ttl", 60, 86_400)];
/// for _ in 0..16 {
///     let arguments = strategies::arguments(&specs).new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(arguments.contains_key("zone") && arguments.len() <= 2);
///     for spec in specs.iter().filter(|spec| arguments.contains_key(&spec.key)) {
///         assert!(spec.check(&arguments[&spec.key]).is_ok());
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn arguments(specs: &[ArgumentSpec]) -> impl Strategy<Value = Arguments> + use<> {
    let entries: Vec<BoxedStrategy<Option<(String, ArgumentValue)>>> = specs
        .iter()
        .map(|spec| {
            let key = spec.key.clone();
            let value = valid_value(spec).prop_map(move |value| (key.clone(), value));
            if spec.required {
                value.prop_map(Some).boxed()
            } else {
                proptest::option::of(value).boxed()
            }
        })
        .collect();
    entries.prop_map(|entries| entries.into_iter().flatten().collect())
}

/// A random argument declaration: any type with sound bounds, read-only
/// one time in five, required half of the time.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::{ArgumentType, testkit::strategies};
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let spec = strategies::argument_spec().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     match spec.kind {
///         ArgumentType::Text { min, max } => assert!(min <= max),
///         ArgumentType::Integer { min, max } => assert!(min <= max),
///         ArgumentType::OneOf { accepted } => assert!(!accepted.is_empty()),
///         _ => {}
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn argument_spec() -> impl Strategy<Value = ArgumentSpec> {
    let kind = prop_oneof![
        (0u32..20, 0u32..60).prop_map(|(min, extra)| ArgumentType::Text {
            min,
            max: min + extra
        }),
        proptest::collection::btree_set("[a-z]{1,8}", 1..5).prop_map(|accepted| {
            ArgumentType::OneOf {
                accepted: accepted.into_iter().collect(),
            }
        }),
        (-1000i64..1000, 0i64..1000).prop_map(|(min, span)| ArgumentType::Integer {
            min,
            max: min + span
        }),
        Just(ArgumentType::Boolean),
        Just(ArgumentType::Date),
        Just(ArgumentType::Email),
        Just(ArgumentType::Phone),
        Just(ArgumentType::Json),
        prop_oneof![
            Just(IdFormat::Number),
            Just(IdFormat::Uuid),
            Just(IdFormat::Token)
        ]
        .prop_map(|id| ArgumentType::Reference {
            resource: ["/me/contact", "/me/document"][usize::from(id == IdFormat::Uuid)].into(),
            id,
        }),
    ];
    (
        "[a-z][a-zA-Z]{0,11}",
        kind,
        proptest::bool::weighted(0.2),
        any::<bool>(),
    )
        .prop_map(|(key, kind, read_only, required)| {
            let mut spec = ArgumentSpec::new(key, kind);
            spec.read_only = read_only;
            spec.required = required;
            spec
        })
}

/// A data-driven kind: a name, random [`rules`] and up to four random
/// arguments with distinct keys.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use std::collections::BTreeSet;
///
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let kind = strategies::named_kind().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     let keys: BTreeSet<_> = kind.arguments.iter().map(|spec| &spec.key).collect();
///     assert!(kind.arguments.len() <= 4 && keys.len() == kind.arguments.len());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn named_kind() -> impl Strategy<Value = NamedKind> {
    (
        "[A-Z][a-zA-Z]{2,12}",
        rules(),
        proptest::collection::vec(argument_spec(), 0..5),
    )
        .prop_map(|(name, rules, specs)| {
            let mut seen = BTreeSet::new();
            let mut kind = NamedKind::with_rules(name, rules);
            kind.arguments = specs
                .into_iter()
                .filter(|spec| seen.insert(spec.key.clone()))
                .collect();
            kind
        })
}

// ---------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------

/// 2026-01-01 00:00:00 UTC: the earliest time [`task_of`] creates a task.
fn first_creation() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// A creation time in 2026, to the second.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use chrono::{Datelike, Timelike};
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let at = strategies::created_at().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert_eq!((at.year(), at.nanosecond()), (2026, 0));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn created_at() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..365 * 24 * 3600).prop_map(|seconds| first_creation() + Duration::seconds(seconds))
}

/// The sorts of [`resource`]s.
const RESOURCE_KINDS: &[&str] = &["domain", "zone", "host"];

/// A resource: a domain, a zone or a host, with a name.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let resource = strategies::resource().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(["domain", "zone", "host"].contains(&resource.kind.as_str()));
///     assert!(resource.id.contains('.'));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resource() -> impl Strategy<Value = ResourceRef> {
    (select(RESOURCE_KINDS), "[a-z]{1,10}\\.(fr|com|net)")
        .prop_map(|(kind, id)| ResourceRef::new(kind, id))
}

/// Up to four subtasks: named, optional half of the time, some nested
/// under an earlier one.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let subtasks = strategies::subtasks().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(subtasks.len() <= 4);
///     for (position, subtask) in subtasks.iter().enumerate() {
///         assert!(subtask.parent.is_none_or(|parent| (parent as usize) < position));
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn subtasks() -> impl Strategy<Value = Vec<NewSubtask>> {
    proptest::collection::vec((any::<bool>(), proptest::option::of(0u32..4)), 0..5).prop_map(
        |declared| {
            declared
                .into_iter()
                .enumerate()
                .map(|(position, (optional, parent))| {
                    let mut subtask = NewSubtask::new(format!("step{position}"), "a step");
                    if optional {
                        subtask = subtask.optional();
                    }
                    if let Some(parent) = parent.filter(|p| (*p as usize) < position) {
                        subtask = subtask.under(parent);
                    }
                    subtask
                })
                .collect()
        },
    )
}

/// A valid new task of `kind` created at `at`: an owner from [`OWNERS`], a
/// random resource, valid [`arguments`] for the kind, random
/// [`subtasks`], sometimes a title, a comment, a later `todo_at` or a
/// blocking flag.
fn new_task_of_kind<K: TaskKind + Debug + 'static>(
    kind: K,
    at: DateTime<Utc>,
) -> impl Strategy<Value = NewTask<K>> {
    let text = || proptest::option::weighted(0.3, "[a-z]{1,10}( [a-z]{1,10}){0,3}");
    (
        (
            arguments(kind.arguments()),
            owner(),
            resource(),
            any::<u64>(),
        ),
        (
            proptest::option::of(0i64..3600),
            subtasks(),
            text(),
            text(),
            proptest::option::weighted(0.2, any::<bool>()),
        ),
    )
        .prop_map(
            move |(
                (arguments, owner, resource, seed),
                (todo_in, subtasks, title, comment, blocking),
            )| {
                let id = IdGenerator::seeded(seed).next_id(at);
                let mut new = NewTask::new(id, kind.clone(), owner, resource);
                new.arguments = arguments;
                new.subtasks = subtasks;
                new.todo_at = todo_in.map(|seconds| at + Duration::seconds(seconds));
                new.title = title;
                new.comment = comment;
                new.blocking = blocking;
                new
            },
        )
}

/// Valid new tasks of one of `kinds`, created at `at` (see [`task_of`]).
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, OWNERS};
/// use taskstate::{ArgumentSpec, NamedKind};
///
/// let mut runner = TestRunner::deterministic();
/// let at = strategies::created_at().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
/// let kind = NamedKind::new("ZoneCreate").argument(ArgumentSpec::text("zone", 1, 253).required());
/// for _ in 0..16 {
///     let new = strategies::new_task(vec![kind.clone()], at).new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(OWNERS.contains(&new.owner.as_str()) && new.arguments.contains_key("zone"));
///     assert!(new.todo_at.is_none_or(|todo_at| todo_at >= at));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Panics
///
/// When `kinds` is empty.
pub fn new_task<K: TaskKind + Debug + 'static>(
    kinds: Vec<K>,
    at: DateTime<Utc>,
) -> impl Strategy<Value = NewTask<K>> {
    select(kinds).prop_flat_map(move |kind| new_task_of_kind(kind, at))
}

/// Tasks of one of `kinds`, just created (pending) at a random time in
/// 2026 by their owner, an operator or the system: an owner from
/// [`OWNERS`], a random resource, a valid value for every required
/// argument of the kind (and for optional ones half of the time), random
/// [`subtasks`], sometimes a later `todo_at`. Start a sequence's clock at
/// [`Task::created_at`].
///
/// A kind that no task can be created of (a required argument no value
/// fits, a retry policy with a non-finite number) makes proptest give up
/// with too many rejections naming this strategy.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, OWNERS};
/// use taskstate::{NamedKind, Status};
///
/// let mut runner = TestRunner::deterministic();
/// let tasks = strategies::task_of(vec![NamedKind::new("ZonePublish")]);
/// for _ in 0..16 {
///     let (task, created) = tasks.new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert_eq!((created.from, created.to), (None, Status::Pending));
///     assert_eq!(task.status(), Status::Pending);
///     assert!(OWNERS.contains(&task.owner().as_str()));
///     assert!(task.check_log(&[created]).is_ok());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Panics
///
/// When `kinds` is empty.
pub fn task_of<K: TaskKind + Debug + 'static>(
    kinds: Vec<K>,
) -> impl Strategy<Value = (Task<K>, Event<K>)> {
    let creators: Vec<ActorChoice> = table::creation()
        .roles
        .iter()
        .map(ActorChoice::of)
        .collect();
    (select(kinds), created_at(), select(creators))
        .prop_flat_map(|(kind, at, creator)| (new_task_of_kind(kind, at), Just(at), Just(creator)))
        .prop_filter_map(
            "taskstate::testkit::strategies::task_of: a kind no valid task can be created of",
            |(new, at, creator)| {
                let actor = creator.actor(&new.owner);
                Task::create(new, actor, at).ok()
            },
        )
}

// ---------------------------------------------------------------------
// Command sequences
// ---------------------------------------------------------------------

/// How a step's executor command picks its lease token.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, TokenChoice};
/// use taskstate::{Action, NamedKind};
///
/// let mut runner = TestRunner::deterministic();
/// let tasks = strategies::task_of(vec![NamedKind::new("ZonePublish")]);
/// let (task, _) = tasks.new_tree(&mut runner).map_err(|e| e.to_string())?.current();
/// for _ in 0..16 {
///     let mut step = strategies::step().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     step.action = Action::Heartbeat; // a pending task has no lease: no current token
///     let expected = if let TokenChoice::Stale(n) = step.token { n } else { 0 };
///     let command = step.command(&task, task.created_at());
///     assert_eq!(command.token().map(|token| token.get()), Some(expected));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenChoice {
    /// The task's current token (or none if it has no lease).
    Current,
    /// The token with this number: from an earlier run, or made up.
    Stale(u64),
    /// No token at all (only `fail` takes none; the others take 0).
    Missing,
}

/// A command template from a random party: resolved against the live task
/// when applied ([`Step::resolve`]), so that executor commands present the
/// current token most of the time, corrections name the kind's arguments,
/// and most steps take a row of the table that leaves the task's status.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::testkit::strategies::{self, CODES};
///
/// let mut runner = TestRunner::deterministic();
/// for _ in 0..16 {
///     let step = strategies::step().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     assert!(step.code.is_empty() || CODES.contains(&step.code));
///     assert!((-600..4000).contains(&step.advance) && (-60..900).contains(&step.horizon));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    /// The action, when the step is not drawn from the table.
    pub action: Action,
    /// Who issues it, when the step is not drawn from the table (or, one
    /// time in eight, even then).
    pub actor: ActorChoice,
    /// Seconds since the previous step; negative for a clock that goes
    /// back.
    pub advance: i64,
    /// Seconds from `now` for a lease or wait deadline, or a todo time;
    /// zero or negative ones are invalid input.
    pub horizon: i64,
    /// Which lease token an executor command presents.
    pub token: TokenChoice,
    /// A worker name, a reason, a message, a subtask name.
    pub text: Option<String>,
    /// A failure's reported origin.
    pub origin: Origin,
    /// A failure's code (the empty one is invalid input).
    pub code: &'static str,
    /// Which argument a correction or a failure's flag names: the kind's
    /// arguments by position, then one the kind does not declare.
    pub key: u8,
    /// A correction's value.
    pub value: ValueSeed,
    /// Whether a correction clears the argument, a relaunch carries no
    /// values, a failure flags nothing, a subtask failure has no error, a
    /// new subtask is optional.
    pub empty: bool,
    /// Whether the step is drawn from the table's rows leaving the task's
    /// current status (most steps), rather than from every action.
    pub from_table: bool,
    /// Which row, when drawn from the table; which subtask.
    pub pick: u8,
    /// The remaining choices: whether a drawn cancel stands, which role
    /// of the row acts, which subtask change, progress figures.
    pub roll: u8,
}

/// A random [`Step`]. Every action is possible; corrections and relaunches
/// are twice as likely as the others, and four steps in five are drawn
/// from the table when resolved.
///
/// ```
/// # use proptest::strategy::{Strategy, ValueTree};
/// # use proptest::test_runner::TestRunner;
/// use taskstate::NamedKind;
/// use taskstate::testkit::strategies;
///
/// let mut runner = TestRunner::deterministic();
/// let tasks = strategies::task_of(vec![NamedKind::new("ZonePublish")]);
/// let (task, _) = tasks.new_tree(&mut runner).map_err(|e| e.to_string())?.current();
/// for _ in 0..16 {
///     let step = strategies::step().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
///     let (command, _actor) = step.resolve(&task, task.created_at());
///     if !step.from_table {
///         assert_eq!(command.action(), step.action);
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn step() -> impl Strategy<Value = Step> {
    let action = prop_oneof![
        1 => Just(Action::Create),
        1 => Just(Action::Start),
        1 => Just(Action::Heartbeat),
        1 => Just(Action::Wait),
        1 => Just(Action::Resume),
        1 => Just(Action::Complete),
        1 => Just(Action::Fail),
        1 => Just(Action::Cancel),
        1 => Just(Action::AcknowledgeCancel),
        1 => Just(Action::MarkStalled),
        1 => Just(Action::Requeue),
        1 => Just(Action::Accelerate),
        2 => Just(Action::SetArgument),
        2 => Just(Action::Relaunch),
        1 => Just(Action::Retry),
        1 => Just(Action::Subtask),
        1 => Just(Action::AddSubtask),
        1 => Just(Action::ReportProgress),
        1 => Just(Action::Resolve),
    ];
    let advance = prop_oneof![
        6 => 0i64..120,
        2 => 0i64..4000,
        1 => -600i64..0,
    ];
    let horizon = prop_oneof![8 => 1i64..900, 1 => -60i64..=0];
    let token = prop_oneof![
        8 => Just(TokenChoice::Current),
        2 => (0u64..12).prop_map(TokenChoice::Stale),
        1 => Just(TokenChoice::Missing),
    ];
    let text = proptest::option::of("[a-z ]{0,12}");
    let code = prop_oneof![11 => code(), 1 => Just("")];
    (
        (action, actor_choice(), advance, horizon, token),
        (text, origin(), code, any::<u8>(), value_seed()),
        (
            proptest::bool::weighted(0.2),
            proptest::bool::weighted(0.8),
            any::<u8>(),
            any::<u8>(),
        ),
    )
        .prop_map(
            |(
                (action, actor, advance, horizon, token),
                (text, origin, code, key, value),
                (empty, from_table, pick, roll),
            )| Step {
                action,
                actor,
                advance,
                horizon,
                token,
                text,
                origin,
                code,
                key,
                value,
                empty,
                from_table,
                pick,
                roll,
            },
        )
}

/// A key no argument of `kind` has.
fn undeclared_key<K: TaskKind>(kind: &K) -> String {
    let mut key = String::from("undeclared");
    while kind.arguments().iter().any(|spec| spec.key == key) {
        key.push('_');
    }
    key
}

impl Step {
    /// The concrete command and actor for `task` at `now`. A step drawn
    /// from the table takes a row leaving the task's status (a cancel only
    /// one time in four, so sequences do not end early) and, seven times
    /// in eight, a party the row allows: the task's owner for the
    /// customer.
    ///
    /// ```
    /// # use proptest::strategy::{Strategy, ValueTree};
    /// # use proptest::test_runner::TestRunner;
    /// use taskstate::testkit::strategies;
    /// use taskstate::{NamedKind, table};
    ///
    /// let mut runner = TestRunner::deterministic();
    /// let tasks = strategies::task_of(vec![NamedKind::new("ZonePublish")]);
    /// let (task, _) = tasks.new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    /// for _ in 0..16 {
    ///     let step = strategies::step().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    ///     let (command, _actor) = step.resolve(&task, task.created_at());
    ///     // A step drawn from the table takes a row leaving the task's status.
    ///     let from_table = table::from(task.status()).any(|row| row.action == command.action());
    ///     assert!(!step.from_table || from_table);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve<K: TaskKind>(&self, task: &Task<K>, now: DateTime<Utc>) -> (Command<K>, Actor) {
        let mut step = self.clone();
        if self.from_table {
            let rows: Vec<_> = table::from(task.status()).collect();
            let at = |i: usize| rows.get(i % rows.len().max(1)).copied();
            if let Some(mut row) = at(usize::from(self.pick)) {
                if row.action == Action::Cancel
                    && !self.roll.is_multiple_of(4)
                    && let Some(next) = at(usize::from(self.pick) + 1)
                {
                    row = next;
                }
                step.action = row.action;
                if !self.roll.is_multiple_of(8) {
                    let roles: Vec<Role> = row.roles.iter().collect();
                    if let Some(role) = roles.get(usize::from(self.roll) % roles.len().max(1)) {
                        step.actor = ActorChoice::of(*role);
                    }
                }
            }
        }
        (step.command(task, now), step.actor.actor(task.owner()))
    }

    /// The argument key this step names for `task`: one of its kind's, or
    /// one the kind does not declare.
    ///
    /// ```
    /// # use proptest::strategy::{Strategy, ValueTree};
    /// # use proptest::test_runner::TestRunner;
    /// use taskstate::testkit::strategies;
    /// use taskstate::{ArgumentSpec, NamedKind};
    ///
    /// let mut runner = TestRunner::deterministic();
    /// let kind = NamedKind::new("ZoneCreate").argument(ArgumentSpec::integer("ttl", 60, 86_400));
    /// let (task, _) = strategies::task_of(vec![kind]).new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    /// for _ in 0..16 {
    ///     let key = strategies::step().new_tree(&mut runner).map_err(|e| e.to_string())?.current().key_for(&task);
    ///     let declared = task.kind().arguments.iter().any(|spec| spec.key == key);
    ///     assert!(declared || key.starts_with("undeclared"));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn key_for<K: TaskKind>(&self, task: &Task<K>) -> String {
        let specs = task.kind().arguments();
        match specs.get(usize::from(self.key) % (specs.len() + 1)) {
            Some(spec) => spec.key.clone(),
            None => undeclared_key(task.kind()),
        }
    }

    /// The value this step sets for `key` on `task`: from its
    /// [`value`](Step::value) seed for a declared argument; any value for
    /// an undeclared one.
    ///
    /// ```
    /// # use proptest::strategy::{Strategy, ValueTree};
    /// # use proptest::test_runner::TestRunner;
    /// use taskstate::testkit::strategies;
    /// use taskstate::{ArgumentSpec, NamedKind};
    ///
    /// let mut runner = TestRunner::deterministic();
    /// let ttl = ArgumentSpec::integer("ttl", 60, 86_400);
    /// let tasks = strategies::task_of(vec![NamedKind::new("ZoneCreate").argument(ttl.clone())]);
    /// let (task, _) = tasks.new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    /// for _ in 0..16 {
    ///     let step = strategies::step().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    ///     assert_eq!(ttl.check(&step.value_for(&task, "ttl")).is_ok(), step.value.valid);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value_for<K: TaskKind>(&self, task: &Task<K>, key: &str) -> ArgumentValue {
        match task.kind().arguments().iter().find(|spec| spec.key == key) {
            Some(spec) => self.value.value_for(spec),
            None => ArgumentValue::Boolean(true),
        }
    }

    /// The failure this step reports at `now`: its origin and code,
    /// flagging [`key_for`](Step::key_for) unless
    /// [`empty`](Step::empty).
    ///
    /// ```
    /// # use proptest::strategy::{Strategy, ValueTree};
    /// # use proptest::test_runner::TestRunner;
    /// use taskstate::NamedKind;
    /// use taskstate::testkit::strategies;
    ///
    /// let mut runner = TestRunner::deterministic();
    /// let tasks = strategies::task_of(vec![NamedKind::new("ZonePublish")]);
    /// let (task, _) = tasks.new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    /// for _ in 0..16 {
    ///     let step = strategies::step().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    ///     let failure = step.failure(&task, task.created_at());
    ///     assert_eq!((failure.origin, failure.code.as_str()), (step.origin, step.code));
    ///     assert_eq!(failure.fields.is_empty(), step.empty);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn failure<K: TaskKind>(&self, task: &Task<K>, now: DateTime<Utc>) -> Failure {
        let failure = Failure::new(self.origin, self.code, "it failed", now);
        if self.empty {
            failure
        } else {
            failure.flag(self.key_for(task))
        }
    }

    /// A time to check again, for a third of the steps: halfway to the
    /// step's deadline.
    fn check_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.roll
            .is_multiple_of(3)
            .then(|| now + Duration::seconds(self.horizon / 2))
    }

    /// The concrete command for `task` at `now`, for this step's action
    /// (without drawing from the table: see [`resolve`](Step::resolve)).
    ///
    /// ```
    /// # use proptest::strategy::{Strategy, ValueTree};
    /// # use proptest::test_runner::TestRunner;
    /// use taskstate::NamedKind;
    /// use taskstate::testkit::strategies;
    ///
    /// let mut runner = TestRunner::deterministic();
    /// let tasks = strategies::task_of(vec![NamedKind::new("ZonePublish")]);
    /// let (task, _) = tasks.new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    /// for _ in 0..16 {
    ///     let step = strategies::step().new_tree(&mut runner).map_err(|e| e.to_string())?.current();
    ///     assert_eq!(step.command(&task, task.created_at()).action(), step.action);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn command<K: TaskKind>(&self, task: &Task<K>, now: DateTime<Utc>) -> Command<K> {
        let current = task.lease().map(crate::Lease::token);
        let token = match self.token {
            TokenChoice::Current => current,
            TokenChoice::Stale(n) => Some(LeaseToken::new(n)),
            TokenChoice::Missing => None,
        };
        let token_or_zero = token.unwrap_or(LeaseToken::new(0));
        let deadline = now + Duration::seconds(self.horizon);
        let subtask_count = u32::try_from(task.subtasks().len()).unwrap_or(u32::MAX);
        // Sometimes one past the last: no such subtask.
        let subtask = u32::from(self.pick) % subtask_count.saturating_add(1);
        match self.action {
            Action::Create => Command::Create(Arc::new(NewTask::new(
                task.id(),
                task.kind().clone(),
                task.owner().clone(),
                task.resource().clone(),
            ))),
            Action::Start => Command::Start {
                lease_until: deadline,
                worker: self.text.clone(),
            },
            Action::Heartbeat => Command::Heartbeat {
                token: token_or_zero,
                lease_until: deadline,
                progress: self.text.clone(),
                check_at: self.check_at(now),
            },
            Action::Wait => Command::Wait {
                token: token_or_zero,
                until: deadline,
                check_at: self.check_at(now),
                reason: self.text.clone(),
            },
            Action::Resume => Command::Resume {
                token: token_or_zero,
                lease_until: deadline,
            },
            Action::Complete => {
                let mut outcome = Outcome::new();
                if let Some(text) = &self.text {
                    outcome = outcome
                        .message(text.clone())
                        .warning(Warning::new("adopted", text.clone()));
                }
                Command::Complete {
                    token: token_or_zero,
                    outcome: Box::new(outcome),
                }
            }
            Action::Fail => Command::Fail {
                token,
                failure: Box::new(self.failure(task, now)),
            },
            Action::SetArgument => {
                let key = self.key_for(task);
                let value = (!self.empty).then(|| self.value_for(task, &key));
                Command::SetArgument { key, value }
            }
            Action::Relaunch => {
                let mut arguments = Arguments::new();
                if !self.empty {
                    let key = self.key_for(task);
                    let value = self.value_for(task, &key);
                    arguments.insert(key, value);
                }
                Command::Relaunch { arguments }
            }
            Action::Retry => Command::Retry,
            Action::Subtask => {
                let change = match self.roll % 6 {
                    0 => SubtaskChange::Start,
                    1 => SubtaskChange::Succeed,
                    2 => SubtaskChange::Fail {
                        errors: if self.empty {
                            Vec::new()
                        } else {
                            vec![Failure::provider(self.code, "subtask failed", now)]
                        },
                    },
                    3 => SubtaskChange::Skip,
                    4 => SubtaskChange::MarkNotApplicable,
                    _ => SubtaskChange::Cancel,
                };
                Command::Subtask {
                    token: token_or_zero,
                    id: subtask,
                    change,
                }
            }
            Action::AddSubtask => {
                let mut new = NewSubtask::new(self.text.clone().unwrap_or_default(), "added");
                if self.roll.is_multiple_of(3) {
                    new = new.under(subtask);
                }
                if self.empty {
                    new = new.optional();
                }
                Command::AddSubtask {
                    token: token_or_zero,
                    subtask: new,
                }
            }
            Action::ReportProgress => Command::ReportProgress {
                token: token_or_zero,
                steps: (!self.empty)
                    .then_some((u32::from(self.roll % 7), u32::from(self.pick % 6))),
                // A percentage with 0 to 3 decimals, now and then.
                percent: self.roll.is_multiple_of(2).then(|| {
                    let decimals = self.pick % 4;
                    let units = u64::from(self.roll) * 10u64.pow(u32::from(decimals)) / 3;
                    Percent::from_parts(
                        units % (100 * 10u64.pow(u32::from(decimals)) + 1),
                        decimals,
                    )
                    .unwrap_or(Percent::ZERO)
                }),
                current_step: self.text.clone(),
                expected_done_at: Some(deadline),
            },
            Action::Resolve => Command::Resolve,
            Action::Cancel => Command::Cancel {
                reason: self.text.clone(),
            },
            Action::AcknowledgeCancel => Command::AcknowledgeCancel {
                token: token_or_zero,
            },
            Action::MarkStalled => Command::MarkStalled,
            Action::Requeue => Command::Requeue {
                todo_at: self.text.as_ref().map(|_| deadline),
            },
            Action::Accelerate => Command::Accelerate,
        }
    }
}
