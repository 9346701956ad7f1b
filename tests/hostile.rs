//! Hostile input: every type a host deserializes, fed what an attacker or
//! a damaged store could send.
//!
//! The types: tasks, commands, events, new tasks and their effects and
//! outcomes, failures, argument values, types and specs, kinds and their
//! rules, actors, leases, subtasks and progress, every provider view
//! (OVHcloud, Dyn, VMware Cloud Foundation, Cloudflare, and their parts)
//! and every status vocabulary. (The store's `Filter` and `PageRequest`
//! are not deserializable.) Each is fed:
//!
//! - random bytes, and valid JSON truncated or with a byte changed or
//!   inserted;
//! - random JSON values (objects keyed by the crate's own field names);
//! - valid JSON mutated one field at a time, on every path of the tree:
//!   the field deleted, set to null, to a value of the wrong type, to a
//!   huge string (1 MB) or a huge number (beyond `u64`, beyond `f64`), to
//!   a negative or fractional number, to `NaN`-like text, an array turned
//!   into an object and back, wrapped in an array, a random JSON subtree;
//! - nesting 10 000 levels deep at every position, by `from_str` and
//!   `from_slice`: an error (the recursion limit) where the value is read,
//!   skipped without recursion where it is an unknown field, never a
//!   stack overflow; and the deepest value `serde_json` reads, at every
//!   position, by `from_value`;
//! - timestamps outside chrono's range (years ±300 000, offsets past the
//!   first and last instants, impossible dates) in every timestamp field
//!   of every type, refused; times at its edges (the first and last
//!   instants, a leap second, the year 0, nanosecond fractions and more
//!   digits) read and used; Dyn's POSIX seconds at the ends of `i64`;
//! - huge numbers where the crate computes with them: subtask ids and
//!   parents, progress steps, retry policies (delays, multiplier,
//!   attempts, jitter), budgets, bounds of argument specs, lease tokens,
//!   versions, Dyn's step counts. Each runs in bounded time, and the test
//!   process's peak virtual memory stays far below what a number used as
//!   a capacity would ask for.
//!
//! Each input gives a typed `serde_json::Error`, or a value that writes
//! back and reads back equal; never a panic. `from_str`, `from_slice` and
//! `from_value` agree. A task is read by replaying its history, so a
//! mutated record is refused or accepted only when it is consistent:
//! written back, it says what it was read from (see `disagreement`), and
//! its creation is one `Task::create` accepts (argument values aside,
//! which a history keeps as recorded). Whatever is accepted is then used
//! as a host would: views built, snapshots taken, permission questions
//! asked, and commands applied at the edges of time; a command refused
//! leaves the record as it was, and a record a command changed reads back
//! equal.
//!
//! Argument values beyond their spec (too long or short, out of range, of
//! the wrong type, not among the accepted values, edits of read-only
//! arguments, unknown keys, JSON nested too deep to be stored) are
//! refused by creation, correction and relaunch, and the record before
//! and after is equal, to the byte.
//!
//! Regressions: a JSON argument nested close to `serde_json`'s limit made
//! a record that could be stored but never read back (now refused beyond
//! `MAX_JSON_DEPTH`); a record whose creation `Task::create` refuses (a
//! customer creating another's task, an unnamed owner or resource,
//! subtasks out of order) was read (now refused by replay).
//!
//! The proptests run 256 cases of random bytes, random JSON and status
//! words, 64 of damaged JSON, mutated commands, extreme commands and
//! argument bounds, 16 of mutated tasks and of everything else; the
//! deterministic tests walk one sample of every type and shape. About
//! 30 s in a debug build on two cores.
//!
//! More cases: `PROPTEST_CASES=20000 cargo test --test hostile`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::any::type_name;
use std::fmt::Debug;
use std::sync::LazyLock;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use taskstate::argument::{MAX_JSON_DEPTH, Problem};
use taskstate::profiles::Spelled;
use taskstate::profiles::cloudflare::{
    CloudflareDetail, CloudflareStatus, CloudflareTask, CloudflareWarning,
};
use taskstate::profiles::dyn_dns::{DynStatus, DynTask, YesNo};
use taskstate::profiles::ovh::{OvhArgument, OvhStatus, OvhTask};
use taskstate::profiles::vcf::{
    VcfCause, VcfError, VcfResource, VcfStatus, VcfSubtask, VcfSubtaskStatus, VcfTask, VcfTaskList,
};
use taskstate::strategies::{self, step};
use taskstate::subtask::SubtaskAction;
use taskstate::table::Guard;
use taskstate::{
    Action, Actor, Aggregate, AggregatePolicy, ArgumentSpec, ArgumentType, ArgumentValue,
    Arguments, CancelRules, CodeMatch, Command, Detail, Effect, Event, Failure, FailureRule,
    FollowUp, IdGenerator, Lease, LeaseToken, NamedKind, NewSubtask, NewTask, Origin, Outcome,
    Owner, Progress, Rejection, RelaunchRules, ReplayError, Resolution, ResourceRef, RetryPolicy,
    Role, RoleSet, Rule, Rules, Status, StatusSet, Subtask, SubtaskChange, SubtaskStatus, Subtasks,
    Task, TaskId, TaskKind, Then, Warning,
};

use common::{accept, alice, bob, t};

// ---------------------------------------------------------------------
// Reading: every way, agreeing, and writing back
// ---------------------------------------------------------------------

/// A type a host reads, and what a host does next with a value read.
trait Hostile: Serialize + DeserializeOwned + PartialEq + Debug {
    /// Uses a value that was read from `given` (a mutation of
    /// `original`, or `Null` when there is no original).
    fn exercise(&self, _original: &Value, _given: Option<&Value>) {}
}

/// The beginning of a long input, for messages.
fn excerpt(text: &str) -> String {
    let head: String = text.chars().take(300).collect();
    if head.len() < text.len() {
        format!("{head}… ({} bytes)", text.len())
    } else {
        head
    }
}

/// Reads `text` as a `T` with `from_str` and `from_slice`, and `given`
/// (the same document as a `Value`) with `from_value`: they must agree,
/// an error must be a typed one, and a value read must write back and
/// read back equal. (`from_slice` runs the same parser as `from_str` over
/// bytes: on long documents it is compared only on what is accepted.)
fn read<T: Hostile>(text: &str, given: Option<&Value>) -> Option<T> {
    let from_str = serde_json::from_str::<T>(text);
    if text.len() < 2048 || from_str.is_ok() {
        let from_slice = serde_json::from_slice::<T>(text.as_bytes());
        assert_eq!(
            from_str.as_ref().ok(),
            from_slice.as_ref().ok(),
            "{}: from_str and from_slice disagree on {}",
            type_name::<T>(),
            excerpt(text)
        );
    }
    if let Err(error) = &from_str {
        assert!(!error.is_io(), "an I/O error reading a string: {error}");
    }
    if let Some(value) = given {
        let from_value = serde_json::from_value::<T>(value.clone());
        assert_eq!(
            from_value.as_ref().ok(),
            from_str.as_ref().ok(),
            "{}: from_value and from_str disagree on {}",
            type_name::<T>(),
            excerpt(text)
        );
    }
    let read = from_str.ok()?;
    let written = serde_json::to_string(&read)
        .unwrap_or_else(|e| panic!("{}: a value read does not write: {e}", type_name::<T>()));
    let again: T = serde_json::from_str(&written).unwrap_or_else(|e| {
        panic!(
            "{}: accepted {} but does not read back what it writes ({}): {e}",
            type_name::<T>(),
            excerpt(text),
            excerpt(&written)
        )
    });
    assert_eq!(
        again,
        read,
        "{}: the round trip changed it",
        type_name::<T>()
    );
    Some(read)
}

/// Reads and, if accepted, exercises. `given` is the document as a
/// `Value` when `text` was written from one (then `from_value` must
/// agree); text written otherwise may hold duplicate keys, which `Value`
/// keeps the last of and a struct refuses, so it is read as it is and,
/// once more, as written from its `Value`.
fn check<T: Hostile>(original: &Value, text: &str, given: Option<&Value>) {
    if let Some(value) = given {
        if let Some(read) = read::<T>(text, Some(value)) {
            read.exercise(original, Some(value));
        }
        return;
    }
    let given: Option<Value> = serde_json::from_str(text).ok();
    if let Some(read) = read::<T>(text, None) {
        read.exercise(original, given.as_ref());
    }
    if let Some(value) = &given {
        let text = serde_json::to_string(value).unwrap();
        if let Some(read) = read::<T>(&text, Some(value)) {
            read.exercise(original, Some(value));
        }
    }
}

/// Every type a host deserializes.
fn every_type(original: &Value, text: &str, given: Option<&Value>) {
    macro_rules! each {
        ($($t:ty),* $(,)?) => { $( check::<$t>(original, text, given); )* };
    }
    each!(
        Task<NamedKind>,
        Command<NamedKind>,
        Event<NamedKind>,
        NewTask<NamedKind>,
        Effect,
        Outcome,
        ResourceRef,
        Failure,
        Detail,
        Warning,
        FollowUp,
        Resolution,
        Origin,
        Then,
        CodeMatch,
        FailureRule,
        ArgumentValue,
        ArgumentSpec,
        ArgumentType,
        Arguments,
        NamedKind,
        Rules,
        CancelRules,
        RelaunchRules,
        RetryPolicy,
        Rule,
        Actor,
        Role,
        RoleSet,
        Owner,
        Status,
        StatusSet,
        Action,
        Guard,
        Lease,
        LeaseToken,
        TaskId,
        Subtask,
        Subtasks,
        SubtaskStatus,
        SubtaskChange,
        SubtaskAction,
        NewSubtask,
        Progress,
        AggregatePolicy,
        Aggregate,
        OvhStatus,
        OvhTask,
        OvhArgument,
        DynStatus,
        DynTask,
        YesNo,
        VcfStatus,
        VcfSubtaskStatus,
        VcfTask,
        VcfSubtask,
        VcfError,
        VcfCause,
        VcfResource,
        VcfTaskList,
        CloudflareStatus,
        CloudflareTask,
        CloudflareWarning,
        CloudflareDetail,
        Spelled<OvhStatus>,
        Spelled<DynStatus>,
        Spelled<VcfStatus>,
        Spelled<VcfSubtaskStatus>,
        Spelled<CloudflareStatus>,
    );
}

macro_rules! plain {
    ($($t:ty),* $(,)?) => { $( impl Hostile for $t {} )* };
}

plain!(
    Effect,
    Outcome,
    ResourceRef,
    Failure,
    Detail,
    Warning,
    FollowUp,
    Resolution,
    Origin,
    Then,
    FailureRule,
    Arguments,
    CancelRules,
    RelaunchRules,
    Rule,
    Role,
    RoleSet,
    Owner,
    StatusSet,
    Action,
    Guard,
    Lease,
    LeaseToken,
    TaskId,
    Subtask,
    SubtaskChange,
    SubtaskAction,
    NewSubtask,
    AggregatePolicy,
    Aggregate,
    YesNo,
    VcfSubtask,
    VcfError,
    VcfCause,
    VcfResource,
    CloudflareWarning,
    CloudflareDetail,
    Spelled<OvhStatus>,
    Spelled<DynStatus>,
    Spelled<VcfStatus>,
    Spelled<VcfSubtaskStatus>,
    Spelled<CloudflareStatus>,
);

impl Hostile for Task<NamedKind> {
    fn exercise(&self, original: &Value, given: Option<&Value>) {
        let written = serde_json::to_value(self).unwrap();
        assert_consistent(self, &written, original, given);
        // A mutation that changed nothing gives the valid task, which the
        // proptests exercise.
        if written != *original {
            exercise_task(self);
            at_the_edges(self, false);
        }
    }
}

impl Hostile for Command<NamedKind> {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = (self.summary(), self.action(), self.token());
    }
}

impl Hostile for Event<NamedKind> {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = self.command.summary();
        // A history of this event alone, and one of a waiting task's life
        // with this event next.
        let _ = Task::replay([self.clone()]);
        let mut history = RICH[3].history().to_vec();
        let mut next = self.clone();
        next.version = history.len() as u64 + 1;
        history.push(next);
        if let Ok(task) = Task::replay(history) {
            let _ = task.timeline().to_string();
            assert_loadable(&task);
        }
    }
}

impl Hostile for NewTask<NamedKind> {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let creator = Actor::Customer {
            owner: self.owner.clone(),
        };
        let Ok(task) = Task::create(self.clone(), creator, t(0)) else {
            return;
        };
        assert_arguments_fit(&task);
        assert_loadable(&task);
    }
}

impl Hostile for ArgumentValue {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let text = self.to_string();
        for spec in specs_of_every_type() {
            let _ = spec.check(self);
            let _ = spec.parse(&text);
        }
    }
}

impl Hostile for ArgumentSpec {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = self.accepted_values();
        for value in values_of_every_type() {
            let _ = self.check(&value);
            let _ = self.parse(&value.to_string());
        }
        let kind = NamedKind::new("Hostile").argument(self.clone());
        exercise_kind(kind);
    }
}

impl Hostile for ArgumentType {
    fn exercise(&self, original: &Value, given: Option<&Value>) {
        ArgumentSpec::new("key", self.clone()).exercise(original, given);
    }
}

impl Hostile for CodeMatch {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = (self.matches(""), self.matches("INFRA_DOWN"));
    }
}

impl Hostile for NamedKind {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        exercise_kind(self.clone());
    }
}

impl Hostile for Rules {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        exercise_kind(NamedKind::with_rules("Hostile", self.clone()));
    }
}

impl Hostile for RetryPolicy {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let id = TaskId::from(uuid::Uuid::max());
        for attempt in [0, 1, 2, 63, 64, 1025, u32::MAX - 1, u32::MAX] {
            let delay = self.delay(id, attempt);
            assert!(delay >= Duration::zero(), "a negative delay: {delay}");
        }
        exercise_kind(NamedKind::with_rules("Hostile", Rules::new().retry(*self)));
    }
}

impl Hostile for Actor {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = (self.to_string(), self.role(), self.owner());
    }
}

impl Hostile for Status {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = (self.as_str(), self.is_settled(), self.is_leased());
    }
}

impl Hostile for SubtaskStatus {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = (self.as_str(), self.is_settled(), self.is_satisfied());
    }
}

impl Hostile for Subtasks {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = (
            self.aggregate(AggregatePolicy::FailFast),
            self.aggregate(AggregatePolicy::SettleAll),
            self.current(),
            self.unsatisfied_required(),
            self.children(None).count(),
            self.tally().total(),
            self.tally().satisfied(),
        );
        for subtask in self.all() {
            let _ = self.unsatisfied_children(subtask.id);
            let _ = self.children(Some(subtask.id)).count();
        }
        let _ = self.unsatisfied_children(u32::MAX);
    }
}

impl Hostile for Progress {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        assert!(self.percent() <= 100);
    }
}

macro_rules! vocabulary {
    ($($t:ty),* $(,)?) => {$(
        impl Hostile for $t {
            fn exercise(&self, _: &Value, _: Option<&Value>) {
                let _ = self.to_canonical();
                let word = self.to_string();
                let again: $t = word.parse().unwrap_or_else(|never| match never {});
                assert_eq!(again.to_canonical().ok(), self.to_canonical().ok());
            }
        }
    )*};
}

vocabulary!(
    OvhStatus,
    DynStatus,
    VcfStatus,
    VcfSubtaskStatus,
    CloudflareStatus
);

impl Hostile for OvhTask {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = self.to_snapshot();
    }
}

impl Hostile for OvhArgument {}

impl Hostile for DynTask {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        if let Ok(snapshot) = self.to_snapshot() {
            assert_eq!(
                snapshot.created_at.map(|at| at.timestamp()),
                DateTime::<Utc>::from_timestamp(self.created_ts, 0).map(|at| at.timestamp())
            );
            if let Some(progress) = snapshot.progress {
                assert!(progress.percent() <= 100);
            }
        }
    }
}

impl Hostile for VcfTask {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = self.to_snapshot();
    }
}

impl Hostile for VcfTaskList {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        for task in &self.elements {
            let _ = task.to_snapshot();
        }
    }
}

impl Hostile for CloudflareTask {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = self.to_snapshot();
        let _ = self.http_answer(|install| format!("/installs/{install}"));
    }
}

// ---------------------------------------------------------------------
// What a host does with what it read
// ---------------------------------------------------------------------

/// Times compared as instants: every string that reads as a time is
/// rewritten as chrono writes it (`+00:00` and `Z`, extra fraction digits).
fn canonical(value: &Value) -> Value {
    match value {
        Value::String(text) => match serde_json::from_value::<DateTime<Utc>>(value.clone()) {
            Ok(at) => serde_json::to_value(at).unwrap(),
            Err(_) => Value::String(text.clone()),
        },
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), canonical(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Where `written` (a record as the crate writes it) says something
/// `given` (the JSON it was read from) does not, if anywhere: a field
/// `given` lacks must be written at its default, a field only `given` has
/// is one the crate ignores, times compare as instants, and serde's other
/// spellings are the same value (a struct as the sequence of its fields,
/// an enum variant as its index).
fn disagreement(written: &Value, given: &Value) -> Option<String> {
    let is_default = |value: &Value| match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_u64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    };
    if written == given {
        return None;
    }
    match (written, given) {
        (Value::Object(w), Value::Object(g)) => {
            w.iter().find_map(|(key, value)| match g.get(key) {
                Some(other) => disagreement(value, other).map(|path| format!("/{key}{path}")),
                None if is_default(value) => None,
                None => Some(format!("/{key} (missing, written {value})")),
            })
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .find_map(|(i, (w, g))| disagreement(w, g).map(|path| format!("/{i}{path}"))),
        // A struct read from a sequence (serde takes its fields in
        // declaration order): the same values, in another order.
        (Value::Object(w), Value::Array(g)) if g.len() <= w.len() => {
            let mut left: Vec<Value> = w.values().map(canonical).collect();
            g.iter()
                .map(canonical)
                .all(|item| match left.iter().position(|value| *value == item) {
                    Some(i) => {
                        left.swap_remove(i);
                        true
                    }
                    None => false,
                })
                .then_some(())
                .map_or_else(
                    || Some(format!(" (written {written}, read {given})")),
                    |()| None,
                )
        }
        // An enum read from its variant's index (serde takes `4` for the
        // fifth variant).
        (Value::String(_), Value::Number(n)) if n.as_u64().is_some_and(|i| i < 64) => None,
        _ if canonical(written) == canonical(given) => None,
        _ => Some(format!(
            " (written {}, read {})",
            excerpt(&written.to_string()),
            excerpt(&given.to_string())
        )),
    }
}

/// A task read from hostile JSON is consistent: written back it says what
/// was read (see [`disagreement`]), or it is the original, and its
/// creation is one
/// `Task::create` accepts, argument values aside.
fn assert_consistent(
    task: &Task<NamedKind>,
    written: &Value,
    original: &Value,
    given: Option<&Value>,
) {
    // A mutation that changed nothing (a field deleted that takes its
    // default) reads as the original.
    if written != original
        && let Some(given) = given
        && let Some(path) = disagreement(written, given)
    {
        panic!("a task was read that does not write back as it was read: at {path}");
    }
    let first = &task.history()[0];
    let Command::Create(new) = &first.command else {
        panic!("a task was read whose history does not start with its creation");
    };
    match Task::create((**new).clone(), first.actor.clone(), first.at) {
        Ok(_) | Err(Rejection::InvalidArgument(_)) => {}
        Err(rejection) => {
            panic!("a task was read whose creation Task::create refuses: {rejection}")
        }
    }
}

/// Every argument value of a task fits its spec, and every required one
/// has a value.
fn assert_arguments_fit(task: &Task<NamedKind>) {
    let specs = task.kind().arguments();
    for (key, value) in task.arguments() {
        let spec = specs.iter().find(|spec| spec.key == *key);
        let spec = spec.unwrap_or_else(|| panic!("an undeclared argument {key} reached a record"));
        if let Err(error) = spec.check(value) {
            panic!("a value beyond its spec reached a record: {error}");
        }
    }
    for spec in specs.iter().filter(|spec| spec.required) {
        assert!(task.arguments().contains_key(&spec.key));
    }
}

/// The record reads back, equal.
fn assert_loadable(task: &Task<NamedKind>) {
    let text = serde_json::to_string(task).unwrap();
    let back: Task<NamedKind> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("a record no longer reads back: {e}: {}", excerpt(&text)));
    assert_eq!(&back, task, "a record reads back different");
}

/// The parties around a task: its owner, another customer, an operator,
/// the system.
fn parties(task: &Task<NamedKind>) -> [Actor; 4] {
    [
        Actor::Customer {
            owner: task.owner().clone(),
        },
        common::mallory(),
        bob(),
        Actor::System,
    ]
}

const MIN: DateTime<Utc> = DateTime::<Utc>::MIN_UTC;
const MAX: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

/// Every answer a task gives, every view of it, at the edges of time.
fn exercise_task(task: &Task<NamedKind>) {
    let _ = task.timeline().to_string();
    if let Some(progress) = task.progress() {
        assert!(progress.percent() <= 100);
    }
    let _ = (
        task.fields_to_correct(),
        task.follow_up(),
        task.next_retry_at(),
        task.is_escalated(),
        task.failure(),
        task.outcome(),
        task.attempts_left(),
        task.is_blocking(),
        task.completed_with_warnings(),
        task.resources().count(),
    );
    task.subtasks().exercise(&Value::Null, None);
    let _ = DynTask::of(task, u64::MAX).to_snapshot();
    let _ = CloudflareTask::of(task).to_snapshot();
    for now in [task.updated_at(), MIN, MAX] {
        for actor in parties(task) {
            let _ = (
                task.can_cancel(&actor, now),
                task.can_accelerate(&actor, now),
                task.can_relaunch(&actor, now),
                task.can_relaunch_once_corrected(&actor, now),
                task.relaunch_rejection(&actor, now),
            );
            let _ = OvhTask::of(task, u64::MAX, &actor, now).to_snapshot();
            let _ = VcfTask::of(task, &actor, now).to_snapshot();
            for spec in task.kind().arguments() {
                let _ = task.can_edit(&spec.key, &actor, now);
            }
        }
        let _ = task.can_mark_stalled(now);
    }
    for spec in task.kind().arguments() {
        let _ = (task.argument(&spec.key), OvhArgument::of(task, &spec.key));
    }
}

/// Commands with extreme values for `task`: deadlines at the last
/// instant, the largest subtask ids and step counts, an unknown token.
fn edge_commands(task: &Task<NamedKind>) -> Vec<Command<NamedKind>> {
    let token = task
        .lease()
        .map_or(LeaseToken::new(u64::MAX), |lease| lease.token);
    let key = task
        .kind()
        .arguments()
        .first()
        .map_or_else(|| "x".to_owned(), |spec| spec.key.clone());
    vec![
        Command::Start {
            lease_until: MAX,
            worker: Some("w".into()),
        },
        Command::Heartbeat {
            token,
            lease_until: MAX,
            progress: None,
        },
        Command::Wait {
            token,
            until: MAX,
            reason: None,
        },
        Command::Resume {
            token,
            lease_until: MAX,
        },
        Command::Complete {
            token,
            outcome: Box::new(Outcome::new()),
        },
        Command::Fail {
            token: Some(token),
            failure: Box::new(Failure::provider("INFRA_DOWN", "x", MAX)),
        },
        Command::Fail {
            token: Some(token),
            failure: Box::new(Failure::provider("SOME_CODE", "x", MIN)),
        },
        Command::Fail {
            token: None,
            failure: Box::new(Failure::customer("AUTH_INVALID", "x", MIN).flag(key.clone())),
        },
        Command::Cancel { reason: None },
        Command::AcknowledgeCancel { token },
        Command::MarkStalled,
        Command::Requeue { todo_at: Some(MAX) },
        Command::Requeue { todo_at: Some(MIN) },
        Command::Accelerate,
        Command::Retry,
        Command::Resolve,
        Command::relaunch(),
        Command::Subtask {
            token,
            id: u32::MAX,
            change: SubtaskChange::Start,
        },
        Command::Subtask {
            token,
            id: 0,
            change: SubtaskChange::Fail { errors: Vec::new() },
        },
        Command::AddSubtask {
            token,
            subtask: NewSubtask::new("late", "").under(u32::MAX),
        },
        Command::AddSubtask {
            token,
            subtask: NewSubtask::new("late", ""),
        },
        Command::ReportProgress {
            token,
            steps: Some((u32::MAX, u32::MAX)),
            current_step: None,
            expected_done_at: Some(MAX),
        },
        Command::ReportProgress {
            token,
            steps: Some((u32::MAX, 0)),
            current_step: None,
            expected_done_at: Some(MIN),
        },
        Command::SetArgument {
            key,
            value: Some(ArgumentValue::Integer(i64::MIN)),
        },
    ]
}

/// Applies each of the [`edge_commands`] to a copy of `task` at the edges
/// of time: a refusal leaves the copy equal, an acceptance leaves a record
/// that reads back. `thorough` tries every party at three times; else the
/// system and the owner at the last instant.
fn at_the_edges(task: &Task<NamedKind>, thorough: bool) {
    let (nows, actors): (Vec<_>, Vec<_>) = if thorough {
        (
            vec![MIN, task.updated_at() + Duration::seconds(1), MAX],
            parties(task).to_vec(),
        )
    } else {
        (vec![MAX], vec![Actor::System, parties(task)[0].clone()])
    };
    for command in edge_commands(task) {
        for now in &nows {
            for actor in &actors {
                let mut copy = task.clone();
                match copy.apply(command.clone(), actor.clone(), *now) {
                    Ok(_) => assert_loadable(&copy),
                    Err(_) => assert_eq!(&copy, task, "a refused command changed the record"),
                }
            }
        }
    }
}

/// A task of `kind` through a life at the edges of its rules: created,
/// started, failed by the provider as many times as it is retried, the
/// retry delays computed from whatever numbers the kind's retry policy
/// holds.
fn exercise_kind(kind: NamedKind) {
    let new = NewTask::new(
        IdGenerator::seeded(3).next_id(t(0)),
        kind,
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    );
    let Ok(mut task) = Task::create(new, Actor::System, t(0)) else {
        return;
    };
    let mut now = t(1);
    for _ in 0..3 {
        let Ok(run) = task.start(now + Duration::seconds(60), None, now) else {
            break;
        };
        let failure = Failure::provider("SOME_CODE", "down", now);
        if run.fail(&mut task, failure, now).is_err() {
            break;
        }
        match task.next_retry_at() {
            Some(at) => {
                assert!(at >= now, "a retry scheduled before its failure");
                now = at;
                if task.apply(Command::Retry, Actor::System, now).is_err() {
                    break;
                }
            }
            None => break,
        }
    }
    assert_loadable(&task);
}

// ---------------------------------------------------------------------
// Valid samples
// ---------------------------------------------------------------------

fn id(seed: u64) -> TaskId {
    IdGenerator::seeded(seed).next_id(t(0))
}

/// A kind with an argument of every type, running cancels, and the
/// strategies' failure classification.
fn rich_kind() -> NamedKind {
    let rules = Rules::new()
        .cancel(CancelRules::STANDARD.with_running())
        .failures(strategies::FAILURE_RULES);
    let mut kind = NamedKind::with_rules("DomainCreate", rules);
    kind.arguments = common::specs();
    kind.arguments.extend([
        ArgumentSpec::one_of("use", ["personal", "business"]).describe("what for"),
        ArgumentSpec::new("extra", ArgumentType::Json),
        ArgumentSpec::new("birth", ArgumentType::Date),
        ArgumentSpec::new("phone", ArgumentType::Phone),
        ArgumentSpec::new("consent", ArgumentType::Boolean),
    ]);
    kind
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn new_task(seed: u64, kind: NamedKind) -> NewTask<NamedKind> {
    let mut new = NewTask::new(
        id(seed),
        kind,
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    );
    new.arguments = Arguments::from([
        ("domain".into(), ArgumentValue::from("example.fr")),
        ("duration".into(), ArgumentValue::Integer(2)),
    ]);
    new
}

fn token(task: &Task<NamedKind>) -> LeaseToken {
    task.lease().expect("a leased task").token
}

/// Tasks in every corner of the lifecycle, every field of the record
/// filled in one of them: done with warnings after a corrected failure and
/// nested subtasks; stalled with a cancel request; failed, escalated and
/// resolved; waiting with reported progress; cancelled.
fn rich_tasks() -> Vec<Task<NamedKind>> {
    let system = Actor::System;
    // Done, with everything.
    let mut new = new_task(1, rich_kind());
    new.arguments.extend([
        (
            "extra".into(),
            ArgumentValue::Json(json!({"a": [1, 2.5, null, true, "x"], "b": {}})),
        ),
        ("birth".into(), ArgumentValue::Date(date(2000, 2, 29))),
        ("use".into(), ArgumentValue::from("personal")),
        ("phone".into(), ArgumentValue::from("+33.123456789")),
        ("consent".into(), ArgumentValue::Boolean(true)),
    ]);
    new.todo_at = Some(t(60));
    new.comment = Some("queued".into());
    new.title = Some("Create example.fr".into());
    new.subtasks = vec![
        NewSubtask::new("check", "checks"),
        NewSubtask::new("vib", "validates").optional().under(0),
    ];
    new.resources = vec![ResourceRef::new("host", "h1")];
    new.parent = Some(id(2));
    new.blocking = Some(true);
    let mut done = Task::create(new, alice(), t(0)).unwrap();
    accept(&mut done, Command::Accelerate, alice(), t(1));
    let start = |until| Command::Start {
        lease_until: t(until),
        worker: Some("w1".into()),
    };
    accept(&mut done, start(100), system.clone(), t(2));
    let tk = token(&done);
    let heartbeat = Command::Heartbeat {
        token: tk,
        lease_until: t(200),
        progress: Some("registry contacted".into()),
    };
    accept(&mut done, heartbeat, system.clone(), t(3));
    let subtask = |token, id, change| Command::Subtask { token, id, change };
    accept(
        &mut done,
        subtask(tk, 0, SubtaskChange::Start),
        system.clone(),
        t(4),
    );
    let add = Command::AddSubtask {
        token: tk,
        subtask: NewSubtask::new("late", "added late"),
    };
    accept(&mut done, add, system.clone(), t(5));
    let failure = Failure::customer("AFNIC_LEGITIMACY_REQUIRED", "justify", t(6))
        .flag("legitimacyAfnic")
        .detail(Detail::new("missing", "required").field("legitimacyAfnic"))
        .cause(Detail::new("afnic", "says no"))
        .error_type("ERROR");
    let fail = Command::Fail {
        token: Some(tk),
        failure: Box::new(failure),
    };
    accept(&mut done, fail, system.clone(), t(6));
    let correct = Command::set_argument("legitimacyAfnic", "I am the mayor");
    accept(&mut done, correct, alice(), t(7));
    let relaunch = Command::Relaunch {
        arguments: Arguments::from([("contactEmail".into(), ArgumentValue::from("a@b.fr"))]),
    };
    accept(&mut done, relaunch, alice(), t(8));
    accept(&mut done, start(300), system.clone(), t(9));
    let tk = token(&done);
    let wait = Command::Wait {
        token: tk,
        until: t(400),
        reason: Some("registry".into()),
    };
    accept(&mut done, wait, system.clone(), t(10));
    let resume = Command::Resume {
        token: tk,
        lease_until: t(500),
    };
    accept(&mut done, resume, system.clone(), t(11));
    accept(
        &mut done,
        subtask(tk, 1, SubtaskChange::Start),
        system.clone(),
        t(12),
    );
    let errors = vec![Failure::provider("VIB", "bad vib", t(13))];
    let failed = SubtaskChange::Fail { errors };
    accept(&mut done, subtask(tk, 1, failed), system.clone(), t(13));
    accept(
        &mut done,
        subtask(tk, 0, SubtaskChange::Start),
        system.clone(),
        t(14),
    );
    accept(
        &mut done,
        subtask(tk, 0, SubtaskChange::Succeed),
        system.clone(),
        t(15),
    );
    accept(
        &mut done,
        subtask(tk, 2, SubtaskChange::Skip),
        system.clone(),
        t(16),
    );
    let outcome = Outcome::new()
        .produced(ResourceRef::new("install", "i-1"))
        .message("created")
        .warning(Warning::new("slow", "it was slow").detail(Detail::new("d", "m").field("f")));
    let complete = Command::Complete {
        token: tk,
        outcome: Box::new(outcome),
    };
    accept(&mut done, complete, system.clone(), t(17));

    // Stalled, with a cancel request.
    let mut stalled = Task::create(new_task(3, rich_kind()), bob(), t(0)).unwrap();
    accept(&mut stalled, start(60), system.clone(), t(1));
    let cancel = Command::Cancel {
        reason: Some("changed my mind".into()),
    };
    accept(&mut stalled, cancel, alice(), t(2));
    accept(&mut stalled, Command::MarkStalled, system.clone(), t(61));

    // Failed twice by the provider: retried, escalated, resolved.
    let rules = Rules::new().retry(RetryPolicy::STANDARD.max_attempts(2));
    let mut kind = NamedKind::with_rules("ZonePublish", rules);
    kind.arguments = common::specs();
    let mut escalated = Task::create(new_task(4, kind), system.clone(), t(0)).unwrap();
    accept(&mut escalated, start(60), system.clone(), t(1));
    let fail = |token, at| Command::Fail {
        token: Some(token),
        failure: Box::new(common::provider_failure(t(at))),
    };
    let first = fail(token(&escalated), 2);
    accept(&mut escalated, first, system.clone(), t(2));
    let due = escalated.next_retry_at().unwrap();
    accept(&mut escalated, Command::Retry, system.clone(), due);
    let now = due + Duration::seconds(1);
    let run = Command::Start {
        lease_until: now + Duration::seconds(60),
        worker: None,
    };
    accept(&mut escalated, run, system.clone(), now);
    let fail = Command::Fail {
        token: Some(token(&escalated)),
        failure: Box::new(common::provider_failure(now)),
    };
    accept(&mut escalated, fail, system.clone(), now);
    accept(
        &mut escalated,
        Command::Resolve,
        bob(),
        now + Duration::seconds(1),
    );

    // Waiting, with reported progress.
    let mut waiting = Task::create(new_task(5, rich_kind()), alice(), t(0)).unwrap();
    accept(&mut waiting, start(60), system.clone(), t(1));
    let tk = token(&waiting);
    let progress = Command::ReportProgress {
        token: tk,
        steps: Some((3, 10)),
        current_step: Some("dns".into()),
        expected_done_at: Some(t(900)),
    };
    accept(&mut waiting, progress, system.clone(), t(2));
    let wait = Command::Wait {
        token: tk,
        until: t(500),
        reason: None,
    };
    accept(&mut waiting, wait, system.clone(), t(3));

    // Cancelled while pending.
    let mut new = new_task(6, rich_kind());
    new.todo_at = Some(t(3600));
    let mut cancelled = Task::create(new, alice(), t(0)).unwrap();
    accept(
        &mut cancelled,
        Command::Cancel { reason: None },
        alice(),
        t(1),
    );

    vec![done, stalled, escalated, waiting, cancelled]
}

/// The rich tasks, made once.
static RICH: LazyLock<Vec<Task<NamedKind>>> = LazyLock::new(rich_tasks);

/// A spec of every type.
fn specs_of_every_type() -> Vec<ArgumentSpec> {
    rich_kind().arguments
}

/// A value of every type.
fn values_of_every_type() -> Vec<ArgumentValue> {
    vec![
        ArgumentValue::from("text"),
        ArgumentValue::Integer(-3),
        ArgumentValue::Boolean(false),
        ArgumentValue::Date(date(2026, 11, 23)),
        ArgumentValue::Json(json!([{"k": "v"}])),
    ]
}

/// How a sample is checked.
type Checker = fn(&Value, &str, Option<&Value>);

/// Valid JSON of one type, and how to read it.
struct Sample {
    name: &'static str,
    json: Value,
    /// Reads, checks and exercises (see [`check`]).
    check: Checker,
    /// Whether `from_str` accepts a document.
    accepts: fn(&str) -> bool,
    /// Whether `from_value` accepts a document (also those `from_str`
    /// cannot read).
    accepts_value: fn(Value) -> bool,
}

/// Why `from_str` refuses a document, if it does, for some type.
type Refusal = fn(&str) -> Option<String>;

/// Why `from_str` refuses a document, if it does.
fn refusal<T: Hostile>(text: &str) -> Option<String> {
    serde_json::from_str::<T>(text)
        .err()
        .map(|error| error.to_string())
}

fn accepts<T: Hostile>(text: &str) -> bool {
    serde_json::from_str::<T>(text).is_ok()
}

fn accepts_value<T: Hostile>(value: Value) -> bool {
    serde_json::from_value::<T>(value).is_ok()
}

fn typed<T: Hostile>(name: &'static str, json: Value) -> Sample {
    Sample {
        name,
        json,
        check: check::<T>,
        accepts: accepts::<T>,
        accepts_value: accepts_value::<T>,
    }
}

fn sample<T: Hostile>(name: &'static str, value: &T) -> Sample {
    typed::<T>(name, serde_json::to_value(value).unwrap())
}

/// Valid JSON of every type a host reads, from the rich tasks, their
/// histories, their views, and the provider fixtures.
fn samples() -> Vec<Sample> {
    let tasks = rich_tasks();
    let mut out = Vec::new();
    for task in &tasks {
        out.push(sample("task", task));
        let now = task.updated_at();
        out.push(sample("ovh task", &OvhTask::of(task, 42, &alice(), now)));
        out.push(sample("dyn task", &DynTask::of(task, 42)));
        out.push(sample("vcf task", &VcfTask::of(task, &alice(), now)));
        out.push(sample("cloudflare task", &CloudflareTask::of(task)));
    }
    let done = &tasks[0];
    let views = tasks
        .iter()
        .map(|task| VcfTask::of(task, &bob(), t(0)))
        .collect();
    out.push(sample("vcf task list", &VcfTaskList { elements: views }));
    for spec in done.kind().arguments() {
        if let Some(argument) = OvhArgument::of(done, &spec.key) {
            out.push(sample("ovh argument", &argument));
        }
        out.push(sample("argument spec", spec));
    }
    for event in tasks.iter().flat_map(|task| task.history()) {
        out.push(sample("event", event));
        out.push(sample("command", &event.command));
        if let Command::Create(new) = &event.command {
            out.push(sample("new task", &**new));
        }
        if let Command::Fail { failure, .. } = &event.command {
            out.push(sample("failure", &**failure));
        }
    }
    out.push(sample("arguments", done.arguments()));
    for value in values_of_every_type() {
        out.push(sample("argument value", &value));
    }
    out.push(sample("kind", done.kind()));
    let dedicated = Rules::new().relaunch(RelaunchRules::dedicated_route("use the route"));
    out.push(sample("rules", &dedicated));
    out.push(sample("subtasks", done.subtasks()));
    out.push(sample("progress", &tasks[3].progress().unwrap()));
    out.push(sample("lease", tasks[3].lease().unwrap()));
    for (name, text) in FIXTURES {
        let json: Value = serde_json::from_str(text).unwrap();
        out.push(if json.get("elements").is_some() {
            typed::<VcfTaskList>(name, json)
        } else if json.get("operation").is_some() {
            typed::<CloudflareTask>(name, json)
        } else {
            typed::<VcfTask>(name, json)
        });
    }
    out
}

/// One sample of each type and shape: of each command and event, the
/// first of its action; of each argument spec and value, the first of its
/// type.
fn distinct_samples() -> Vec<Sample> {
    let mut seen = std::collections::BTreeSet::new();
    samples()
        .into_iter()
        .filter(|sample| {
            let json = &sample.json;
            let shape = json
                .get("action")
                .or_else(|| json.pointer("/command/action"))
                .or_else(|| json.get("type"))
                .map(Value::to_string)
                .or_else(|| json.as_object().and_then(|map| map.keys().next().cloned()));
            let shape = match sample.name {
                "task" | "ovh task" | "dyn task" | "vcf task" | "cloudflare task" => None,
                _ => shape,
            };
            shape.is_none() || seen.insert((sample.name, shape))
        })
        .collect()
}

/// Whether a path leads inside a kind (its rules, its argument specs),
/// which a task, its creation and a new task all repeat and the kind's own
/// sample covers.
fn inside_a_kind(path: &[Seg]) -> bool {
    path.iter()
        .position(|seg| *seg == Seg::Key("kind".into()))
        .is_some_and(|i| i + 1 < path.len())
}

/// Provider JSON as printed.
const FIXTURES: [(&str, &str); 3] = [
    (
        "cloudflare fixture",
        include_str!("fixtures/cloudflare_task.json"),
    ),
    ("vcf fixture", include_str!("fixtures/vcf_task.json")),
    ("vcf list fixture", include_str!("fixtures/vcf_tasks.json")),
];

// ---------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------

/// One step of a path into a JSON tree.
#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Every path of a tree, the root aside, parents before children.
fn paths(value: &Value) -> Vec<Vec<Seg>> {
    let mut out = Vec::new();
    let mut stack: Vec<(Vec<Seg>, &Value)> = vec![(Vec::new(), value)];
    while let Some((path, value)) = stack.pop() {
        let children: Vec<(Seg, &Value)> = match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (Seg::Index(i), item))
                .collect(),
            Value::Object(map) => map
                .iter()
                .map(|(key, item)| (Seg::Key(key.clone()), item))
                .collect(),
            _ => Vec::new(),
        };
        for (seg, child) in children {
            let mut child_path = path.clone();
            child_path.push(seg);
            out.push(child_path.clone());
            stack.push((child_path, child));
        }
    }
    out
}

fn at<'a>(value: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, seg| match seg {
        Seg::Key(key) => value.get(key),
        Seg::Index(i) => value.get(i),
    })
}

fn at_mut<'a>(value: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |value, seg| match seg {
        Seg::Key(key) => value.get_mut(key),
        Seg::Index(i) => value.get_mut(i),
    })
}

/// One change to one field.
#[derive(Clone, Debug)]
enum Mutation {
    /// The field removed (from its object or its array).
    Delete,
    /// The field replaced by this value.
    Set(Value),
    /// The field replaced by this JSON text, which a `Value` cannot hold
    /// (`1e400`) or holds only as a float (integers beyond 64 bits).
    Raw(String),
    /// An array turned into an object and back, a string into a number and
    /// back, a boolean into text, null into an object.
    Flip,
    /// The field wrapped in an array.
    Wrap,
}

/// A string that stands for [`Mutation::Raw`] text until the document is
/// written.
const RAW: &str = "\u{1}raw-json\u{1}";

/// A megabyte of text.
fn huge_string() -> String {
    "é".repeat(1 << 19)
}

/// The mutations tried on every field: the wrong types, the edges of
/// every number type and beyond, `NaN`-like text, the empty containers.
fn mutations() -> Vec<Mutation> {
    let set = |value: Value| Mutation::Set(value);
    let number = |x: f64| Mutation::Set(Value::from(x));
    vec![
        Mutation::Delete,
        set(Value::Null),
        set(Value::Bool(true)),
        set(json!(0)),
        set(json!(-1)),
        number(0.5),
        number(-0.0),
        set(json!(u32::MAX)),
        set(json!(u64::from(u32::MAX) + 1)),
        set(json!(i64::MAX)),
        set(json!(u64::MAX)),
        set(json!(i64::MIN)),
        number(f64::MAX),
        number(f64::MIN),
        number(f64::MIN_POSITIVE),
        set(json!("")),
        set(json!("NaN")),
        set(json!("Infinity")),
        set(json!("-0")),
        set(json!("1e999")),
        set(json!("\u{0}")),
        set(json!([])),
        set(json!({})),
        Mutation::Raw("1e400".into()),
        Mutation::Raw("-1e400".into()),
        Mutation::Raw("18446744073709551616".into()),
        Mutation::Raw("-9223372036854775809".into()),
        Mutation::Raw(format!("1{}", "0".repeat(400))),
        Mutation::Raw(format!("0.{}1", "0".repeat(400))),
        Mutation::Flip,
        Mutation::Wrap,
    ]
}

/// Times chrono cannot hold, or that are no time at all.
const TIMES_OUT_OF_RANGE: &[&str] = &[
    "+300000-01-01T00:00:00Z",
    "-300000-01-01T00:00:00Z",
    "+262143-01-01T00:00:00Z",
    "-262144-12-31T23:59:59Z",
    "+9999999999-01-01T00:00:00Z",
    "+262142-12-31T23:59:59.999999999-23:59",
    "-262143-01-01T00:00:00+23:59",
    "2026-02-30T00:00:00Z",
    "2026-11-23T24:00:01Z",
    "2026-11-23T09:00:61Z",
    "2026-11-23T09:00:00+24:00",
    "2026-11-23T09:00:00",
    "2026-11-23",
    "",
];

/// Times at the edges of what chrono holds: the first and last instants,
/// a leap second, the epoch, the year 0, nanosecond fractions (and more
/// digits than nanoseconds).
const TIMES_AT_THE_EDGES: &[&str] = &[
    "-262143-01-01T00:00:00Z",
    "+262142-12-31T23:59:59.999999999Z",
    "+262142-12-31T23:59:60.999999999Z",
    "2026-12-31T23:59:60Z",
    "1970-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "2026-11-23T09:00:00.000000001Z",
    "2026-11-23T09:00:00.999999999Z",
    "2026-11-23T09:00:00.12345678912345678912345Z",
    "2026-11-23T09:00:00+00:00",
];

/// Whether a field holds a time.
fn is_time(value: &Value) -> bool {
    value.is_string() && serde_json::from_value::<DateTime<Utc>>(value.clone()).is_ok()
}

/// The time mutations: out of range, then at the edges.
fn time_mutations() -> Vec<Mutation> {
    TIMES_OUT_OF_RANGE
        .iter()
        .chain(TIMES_AT_THE_EDGES)
        .map(|text| Mutation::Set(json!(text)))
        .collect()
}

fn flip(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Object(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| (i.to_string(), item))
                .collect(),
        ),
        Value::Object(map) => Value::Array(map.into_iter().map(|(_, item)| item).collect()),
        Value::String(text) => text
            .parse::<serde_json::Number>()
            .map_or_else(|_| json!(text.len()), Value::Number),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Null => json!({}),
    }
}

/// `original` with `mutation` applied at `path`: the JSON text, and the
/// `Value` it was written from, if a `Value` can hold it.
fn mutated(original: &Value, path: &[Seg], mutation: &Mutation) -> (String, Option<Value>) {
    let mut value = original.clone();
    let (last, parent) = path.split_last().expect("a path below the root");
    match mutation {
        Mutation::Delete => match (at_mut(&mut value, parent), last) {
            (Some(Value::Object(map)), Seg::Key(key)) => {
                map.remove(key);
            }
            (Some(Value::Array(items)), Seg::Index(i)) => {
                items.remove(*i);
            }
            _ => panic!("no field at {path:?}"),
        },
        Mutation::Set(new) => *at_mut(&mut value, path).unwrap() = new.clone(),
        Mutation::Raw(_) => *at_mut(&mut value, path).unwrap() = json!(RAW),
        Mutation::Flip => {
            let slot = at_mut(&mut value, path).unwrap();
            *slot = flip(slot.take());
        }
        Mutation::Wrap => {
            let slot = at_mut(&mut value, path).unwrap();
            *slot = Value::Array(vec![slot.take()]);
        }
    }
    let text = serde_json::to_string(&value).unwrap();
    match mutation {
        Mutation::Raw(raw) => {
            let placeholder = serde_json::to_string(RAW).unwrap();
            (text.replacen(&placeholder, raw, 1), None)
        }
        _ => (text, Some(value)),
    }
}

/// Reads `sample` with `mutation` at `path`.
fn try_mutation(sample: &Sample, path: &[Seg], mutation: &Mutation) {
    let (text, value) = mutated(&sample.json, path, mutation);
    (sample.check)(&sample.json, &text, value.as_ref());
}

/// A small deterministic generator, to pick mutations from a proptest
/// seed.
struct Picker(u64);

impl Picker {
    fn below(&mut self, n: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        usize::try_from(x % n.max(1) as u64).unwrap_or(0)
    }
}

/// Walks every path of `sample` (inside a kind only for a kind or a task:
/// the others repeat it): `per_path` mutations picked by `seed` on each,
/// and a time mutation more on each time; a megabyte of text on the paths
/// `huge` picks, and `subtrees` random JSON at the paths they pick.
fn walk(sample: &Sample, seed: u64, per_path: usize, huge: &[Index], subtrees: &[(Index, Value)]) {
    let all = mutations();
    let times = time_mutations();
    let mut picker = Picker(seed | 1);
    let paths = paths(&sample.json);
    for path in &paths {
        if inside_a_kind(path) && !matches!(sample.name, "kind" | "task") {
            continue;
        }
        for _ in 0..per_path {
            try_mutation(sample, path, &all[picker.below(all.len())]);
        }
        if at(&sample.json, path).is_some_and(is_time) {
            try_mutation(sample, path, &times[picker.below(times.len())]);
        }
    }
    if paths.is_empty() {
        return;
    }
    for index in huge {
        let path: &Vec<Seg> = index.get(&paths);
        try_mutation(sample, path, &Mutation::Set(Value::String(huge_string())));
    }
    for (index, subtree) in subtrees {
        let path: &Vec<Seg> = index.get(&paths);
        try_mutation(sample, path, &Mutation::Set(subtree.clone()));
    }
}

// ---------------------------------------------------------------------
// Random JSON and random lives
// ---------------------------------------------------------------------

/// The crate's field names and some of its words, so random objects look
/// like its records.
const KEYS: &[&str] = &[
    "id",
    "kind",
    "owner",
    "resource",
    "status",
    "created_at",
    "updated_at",
    "done_at",
    "todo_at",
    "lease",
    "cancel_requested_at",
    "comment",
    "title",
    "warnings",
    "arguments",
    "subtasks",
    "progress",
    "resources",
    "parent",
    "blocking",
    "resolution",
    "runs",
    "attempts",
    "relaunches",
    "version",
    "history",
    "at",
    "actor",
    "from",
    "to",
    "command",
    "effect",
    "action",
    "role",
    "name",
    "rules",
    "token",
    "lease_until",
    "worker",
    "until",
    "reason",
    "outcome",
    "failure",
    "key",
    "value",
    "change",
    "subtask",
    "steps",
    "current_step",
    "expected_done_at",
    "origin",
    "code",
    "message",
    "fields",
    "details",
    "error_type",
    "causes",
    "field",
    "produced",
    "follow_up",
    "counted",
    "previous",
    "next",
    "expires_at",
    "text",
    "integer",
    "boolean",
    "date",
    "json",
    "type",
    "min",
    "max",
    "accepted",
    "read_only",
    "required",
    "description",
    "cancel",
    "accelerate",
    "relaunch",
    "retry",
    "edit",
    "failures",
    "customer",
    "staff",
    "provider_failures",
    "require_corrections",
    "dedicated_route",
    "initial_delay_secs",
    "multiplier",
    "max_delay_secs",
    "max_attempts",
    "jitter",
    "then",
    "exact",
    "prefix",
    "errors",
    "optional",
    "started_at",
    "finished_at",
    "step_count",
    "total_steps",
    "function",
    "canRelaunch",
    "canCancel",
    "canAccelerate",
    "todoDate",
    "creationDate",
    "lastUpdate",
    "doneDate",
    "domain",
    "acceptedValues",
    "readOnly",
    "task_id",
    "customer_name",
    "zone_name",
    "debug",
    "created_ts",
    "modified_ts",
    "creationTimestamp",
    "subTasks",
    "resolutionStatus",
    "isCancellable",
    "errorCode",
    "errorType",
    "resourceId",
    "elements",
    "operation",
    "error_message",
    "install_id",
    "links",
    "package_id",
    "package_slug",
    "package_version",
    "path",
    "request_id",
    "timestamp",
];

/// Words the crate reads: statuses of every vocabulary, roles, actions,
/// tags, ids, times.
const WORDS: &[&str] = &[
    "pending",
    "running",
    "waiting",
    "stalled",
    "done",
    "failed",
    "cancelled",
    "customer",
    "operator",
    "system",
    "provider",
    "create",
    "start",
    "heartbeat",
    "fail",
    "complete",
    "set_argument",
    "relaunch",
    "retry",
    "subtask",
    "add_subtask",
    "report_progress",
    "resolve",
    "succeed",
    "skip",
    "mark_not_applicable",
    "text",
    "one_of",
    "integer",
    "json",
    "email",
    "phone",
    "boolean",
    "date",
    "failed",
    "replaced",
    "await_correction",
    "escalated",
    "final",
    "retry_uncounted",
    "fail_fast",
    "settle_all",
    "unresolved",
    "resolved",
    "todo",
    "doing",
    "error",
    "problem",
    "ready",
    "complete",
    "canceled",
    "IN_PROGRESS",
    "In Progress",
    "SUCCESSFUL",
    "COMPLETED_WITH_WARNING",
    "NOT_APPLICABLE",
    "TIMED_OUT",
    "QUEUED",
    "completed",
    "Y",
    "N",
    "alice",
    "mallory",
    "",
    "2026-11-23T09:00:00Z",
    "+300000-01-01T00:00:00Z",
    "2026-11-23",
    "+262143-01-01",
    "389c2fb6-3cea-47d7-b830-e701f4cf9aed",
    "00000000-0000-0000-0000-000000000000",
    "NaN",
    "-0",
    "1e999",
];

/// Random JSON: the edges of every number type, the crate's words, any
/// text; arrays and objects (keyed mostly by the crate's field names)
/// nested up to 6 deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(i64::from(u32::MAX)),
            Just(i64::from(u32::MAX) + 1),
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        proptest::sample::select(WORDS).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        let key = prop_oneof![
            4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
            1 => "\\PC{0,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A starting task: the common suite's, or one of a random kind with
/// random arguments.
fn any_task() -> impl Strategy<Value = Task<NamedKind>> {
    prop_oneof![
        common::start_task(),
        strategies::named_kind().prop_flat_map(|kind| strategies::task_of(vec![kind])),
    ]
}

/// One command of a life, with the record it was applied to.
#[derive(Clone, Debug)]
struct Moment {
    before: Task<NamedKind>,
    command: Command<NamedKind>,
    actor: Actor,
    now: DateTime<Utc>,
}

/// Lives `task` through `steps`: the task at the end, and every command
/// tried with the record it met.
fn live(mut task: Task<NamedKind>, steps: &[strategies::Step]) -> (Task<NamedKind>, Vec<Moment>) {
    let mut now = task.created_at();
    let mut moments = Vec::new();
    for step in steps {
        now += Duration::seconds(step.advance);
        let (command, actor) = step.resolve(&task, now);
        moments.push(Moment {
            before: task.clone(),
            command: command.clone(),
            actor: actor.clone(),
            now,
        });
        let _ = task.apply(command, actor, now);
    }
    (task, moments)
}

// ---------------------------------------------------------------------
// The suites
// ---------------------------------------------------------------------

proptest! {
    #![proptest_config(common::cases(256))]

    /// Random bytes, as text and as a slice, for every type.
    #[test]
    fn random_bytes_give_errors_not_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..96),
    ) {
        let text = String::from_utf8_lossy(&bytes);
        every_type(&Value::Null, &text, None);
        macro_rules! slice {
            ($($t:ty),*) => { $( let _ = serde_json::from_slice::<$t>(&bytes); )* };
        }
        slice!(Task<NamedKind>, Command<NamedKind>, Event<NamedKind>, NewTask<NamedKind>,
            ArgumentValue, ArgumentSpec, NamedKind, Failure, OvhTask, DynTask, VcfTask,
            VcfTaskList, CloudflareTask);
    }

    /// Random JSON, by `from_str`, `from_slice` and `from_value`, for
    /// every type.
    #[test]
    fn random_json_gives_errors_not_panics(value in json_value()) {
        let text = serde_json::to_string(&value).unwrap();
        every_type(&Value::Null, &text, Some(&value));
    }

    /// Status words of every vocabulary, from any text: kept as read,
    /// written back as read, and an unknown one is a typed error only when
    /// converted.
    #[test]
    fn status_words_from_any_text_are_kept_as_read(
        word in prop_oneof!["\\PC{0,24}", proptest::sample::select(WORDS).prop_map(str::to_owned)],
    ) {
        let text = serde_json::to_string(&word).unwrap();
        every_type(&Value::Null, &text, Some(&Value::String(word.clone())));
        macro_rules! spelled {
            ($($t:ty),*) => {$(
                let spelled: Spelled<$t> = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(spelled.text(), word.as_str());
                prop_assert_eq!(serde_json::to_string(&spelled).unwrap(), text.clone());
                let _ = spelled.value.to_canonical();
            )*};
        }
        spelled!(OvhStatus, DynStatus, VcfStatus, VcfSubtaskStatus, CloudflareStatus);
    }
}

proptest! {
    #![proptest_config(common::cases(16))]

    /// A random task, lived through random commands, mutated on every
    /// path of its JSON: refused with a typed error, or accepted only when
    /// it is consistent.
    #[test]
    fn tasks_mutated_field_by_field_are_refused_or_consistent(
        task in any_task(),
        steps in proptest::collection::vec(step(), 0..16),
        seed in any::<u64>(),
        huge in proptest::collection::vec(any::<Index>(), 1..3),
        subtrees in proptest::collection::vec((any::<Index>(), json_value()), 0..3),
    ) {
        let (task, _) = live(task, &steps);
        walk(&sample("task", &task), seed, 1, &huge, &subtrees);
    }

    /// Events of a random history, new tasks, failures, kinds, argument
    /// specs and values, and every view of a random task, mutated on every
    /// path.
    #[test]
    fn everything_else_mutated_field_by_field_is_refused_or_round_trips(
        task in any_task(),
        steps in proptest::collection::vec(step(), 0..12),
        picks in proptest::collection::vec(any::<Index>(), 2),
        seed in any::<u64>(),
    ) {
        let (task, _) = live(task, &steps);
        let now = task.updated_at();
        let history = task.history();
        let mut samples = vec![
            sample("kind", task.kind()),
            sample("arguments", task.arguments()),
            sample("ovh task", &OvhTask::of(&task, 7, &alice(), now)),
            sample("dyn task", &DynTask::of(&task, 7)),
            sample("vcf task", &VcfTask::of(&task, &alice(), now)),
            sample("cloudflare task", &CloudflareTask::of(&task)),
        ];
        for pick in &picks {
            let event = pick.get(history);
            samples.push(sample("event", event));
            if let Command::Create(new) = &event.command {
                samples.push(sample("new task", &**new));
            }
            if let Command::Fail { failure, .. } = &event.command {
                samples.push(sample("failure", &**failure));
            }
        }
        if let Command::Create(new) = &history[0].command {
            samples.push(sample("new task", &**new));
        }
        for spec in task.kind().arguments() {
            samples.push(sample("argument spec", spec));
            if let Some(argument) = OvhArgument::of(&task, &spec.key) {
                samples.push(sample("ovh argument", &argument));
            }
        }
        for sample in &samples {
            walk(sample, seed, 2, &[], &[]);
        }
    }
}

proptest! {
    #![proptest_config(common::cases(64))]

    /// Valid JSON of a random task and its views, damaged byte by byte:
    /// truncated, a byte changed, a byte inserted.
    #[test]
    fn damaged_json_gives_errors_not_panics(
        task in any_task(),
        steps in proptest::collection::vec(step(), 0..12),
        cuts in proptest::collection::vec((any::<Index>(), any::<u8>()), 1..6),
    ) {
        let (task, _) = live(task, &steps);
        let now = task.updated_at();
        let documents = [
            sample("task", &task),
            sample("ovh task", &OvhTask::of(&task, 1, &alice(), now)),
            sample("dyn task", &DynTask::of(&task, 1)),
            sample("vcf task", &VcfTask::of(&task, &alice(), now)),
            sample("cloudflare task", &CloudflareTask::of(&task)),
        ];
        for document in documents {
            let text = serde_json::to_string(&document.json).unwrap();
            let bytes = text.as_bytes();
            let check = |text: &str| (document.check)(&document.json, text, None);
            for (index, byte) in &cuts {
                let at = index.index(bytes.len());
                check(&String::from_utf8_lossy(&bytes[..at]));
                let mut changed = bytes.to_vec();
                changed[at] = *byte;
                check(&String::from_utf8_lossy(&changed));
                let mut inserted = bytes.to_vec();
                inserted.insert(at, *byte);
                check(&String::from_utf8_lossy(&inserted));
            }
        }
    }

    /// The commands of a random life, mutated on every path: refused, or
    /// read and then applied to the record they met, which a refusal
    /// leaves as it was and an acceptance leaves readable.
    #[test]
    fn commands_mutated_field_by_field_never_reach_a_record_unchecked(
        task in any_task(),
        steps in proptest::collection::vec(step(), 1..16),
        picks in proptest::collection::vec(any::<Index>(), 1..4),
        seed in any::<u64>(),
    ) {
        let (_, moments) = live(task, &steps);
        let all = mutations();
        let mut picker = Picker(seed | 1);
        for pick in &picks {
            let moment = pick.get(&moments);
            let original = serde_json::to_value(&moment.command).unwrap();
            let mut variants = vec![(original.to_string(), Some(original.clone()))];
            for path in paths(&original) {
                for _ in 0..4 {
                    variants.push(mutated(&original, &path, &all[picker.below(all.len())]));
                }
                if at(&original, &path).is_some_and(is_time) {
                    for mutation in time_mutations() {
                        variants.push(mutated(&original, &path, &mutation));
                    }
                }
            }
            for (text, value) in variants {
                let Some(command) = read::<Command<NamedKind>>(&text, value.as_ref()) else {
                    continue;
                };
                let mut record = moment.before.clone();
                match record.apply(command, moment.actor.clone(), moment.now) {
                    Ok(_) => {
                        assert_arguments_fit(&record);
                        assert_loadable(&record);
                    }
                    Err(_) => prop_assert_eq!(&record, &moment.before),
                }
            }
        }
    }

    /// Commands at the edges of time and of every number, applied to
    /// random tasks by every party: a refusal leaves the record as it was,
    /// an acceptance leaves a record that reads back.
    #[test]
    fn extreme_commands_leave_records_unchanged_or_readable(
        task in any_task(),
        steps in proptest::collection::vec(step(), 0..16),
    ) {
        let (task, _) = live(task, &steps);
        exercise_task(&task);
        at_the_edges(&task, true);
    }

    /// Argument values beyond their spec, in every status and by every
    /// party, through correction, relaunch and creation: refused, and the
    /// record before and after is equal, to the byte.
    #[test]
    fn argument_values_beyond_their_spec_never_reach_a_record(
        (task, bad, good) in strategies::named_kind()
            .prop_filter("a kind with arguments", |kind| !kind.arguments.is_empty())
            .prop_flat_map(|kind| {
                let bad: Vec<_> = kind.arguments.iter().map(strategies::invalid_value).collect();
                let good: Vec<_> = kind.arguments.iter().map(strategies::valid_value).collect();
                (strategies::task_of(vec![kind]), bad, good)
            }),
        steps in proptest::collection::vec(step(), 0..16),
    ) {
        let (task, _) = live(task, &steps);
        let before = serde_json::to_string(&task).unwrap();
        let now = task.updated_at() + Duration::seconds(1);
        let specs = task.kind().arguments().to_vec();
        for ((spec, bad), good) in specs.iter().zip(&bad).zip(&good) {
            prop_assert!(spec.check(bad).is_err(), "{bad:?} fits {spec:?}");
            for actor in parties(&task) {
                let commands = [
                    Command::SetArgument { key: spec.key.clone(), value: Some(bad.clone()) },
                    Command::Relaunch {
                        arguments: Arguments::from([(spec.key.clone(), bad.clone())]),
                    },
                ];
                for command in commands {
                    // Would the same command with a value that fits be
                    // taken? Then the value alone is refused.
                    let fitting = match &command {
                        Command::SetArgument { key, .. } => Command::SetArgument {
                            key: key.clone(),
                            value: Some(good.clone()),
                        },
                        _ => Command::Relaunch {
                            arguments: Arguments::from([(spec.key.clone(), good.clone())]),
                        },
                    };
                    let fits = task.check(&fitting, &actor, now).is_ok();
                    let mut record = task.clone();
                    let refused = record.apply(command, actor.clone(), now);
                    match refused {
                        Ok(_) => prop_assert!(false, "{bad:?} reached the record for {spec:?}"),
                        Err(Rejection::InvalidArgument(error)) => {
                            prop_assert_eq!(&error.key, &spec.key);
                        }
                        Err(other) => prop_assert!(
                            !fits,
                            "a value that would fit is taken, but {bad:?} was refused for another reason: {other}"
                        ),
                    }
                    prop_assert_eq!(&record, &task);
                    prop_assert_eq!(serde_json::to_string(&record).unwrap(), before.clone());
                }
                // A read-only argument is not edited, even to a value that
                // fits; an undeclared one not at all.
                let mut others = vec![Command::SetArgument {
                    key: format!("{}_undeclared", spec.key),
                    value: Some(good.clone()),
                }];
                if spec.read_only {
                    others.push(Command::set_argument(spec.key.clone(), good.clone()));
                    others.push(Command::SetArgument { key: spec.key.clone(), value: None });
                    others.push(Command::Relaunch {
                        arguments: Arguments::from([(spec.key.clone(), good.clone())]),
                    });
                }
                for command in others {
                    let mut record = task.clone();
                    prop_assert!(record.apply(command, actor.clone(), now).is_err());
                    prop_assert_eq!(&record, &task);
                }
            }
            // Creation with the value refused.
            if let Command::Create(new) = &task.history()[0].command {
                let mut new = (**new).clone();
                new.arguments.insert(spec.key.clone(), bad.clone());
                let creator = Actor::Customer { owner: new.owner.clone() };
                match Task::create(new, creator, now) {
                    Err(Rejection::InvalidArgument(error)) => prop_assert_eq!(error.key, spec.key.clone()),
                    other => prop_assert!(false, "creation with {bad:?} for {spec:?}: {other:?}"),
                }
            }
            // Read from text, as a string API sends it.
            if let Ok(value) = spec.parse(&bad.to_string()) {
                prop_assert!(spec.check(&value).is_ok());
            }
        }
        prop_assert_eq!(serde_json::to_string(&task).unwrap(), before);
    }
}

/// Every path of one sample of every type and shape, with every mutation
/// (inside a kind only in the kind's own sample and the first task's);
/// tasks, which are read by replaying their history, with one structural
/// mutation per path, in turn: the proptests try the others.
#[test]
fn every_field_of_every_sample_mutated() {
    let all = mutations();
    let structural = [
        Mutation::Delete,
        Mutation::Flip,
        Mutation::Set(Value::Null),
        Mutation::Wrap,
    ];
    for (n, sample) in distinct_samples().iter().enumerate() {
        let is_task = sample.name == "task";
        for (i, path) in paths(&sample.json).iter().enumerate() {
            if inside_a_kind(path) && (n > 0 || !is_task) && sample.name != "kind" {
                continue;
            }
            if is_task {
                try_mutation(sample, path, &structural[i % structural.len()]);
            } else {
                for mutation in &all {
                    try_mutation(sample, path, mutation);
                }
            }
        }
    }
}

/// A time outside chrono's range, in any timestamp field of any type, is
/// refused by `from_str` and `from_value`; one at its edges is read and
/// used.
#[test]
fn timestamps_outside_chronos_range_are_refused_in_every_field() {
    let mut fields = 0;
    for sample in distinct_samples() {
        for path in paths(&sample.json) {
            if !at(&sample.json, &path).is_some_and(is_time) {
                continue;
            }
            fields += 1;
            for time in TIMES_OUT_OF_RANGE {
                let mut document = sample.json.clone();
                *at_mut(&mut document, &path).unwrap() = json!(time);
                let text = serde_json::to_string(&document).unwrap();
                assert!(
                    !(sample.accepts)(&text) && !(sample.accepts_value)(document),
                    "{} accepted {time} at {path:?}",
                    sample.name
                );
            }
            for time in TIMES_AT_THE_EDGES {
                try_mutation(&sample, &path, &Mutation::Set(json!(time)));
            }
        }
    }
    assert!(fields > 50, "only {fields} timestamp fields found");
}

/// Dyn's POSIX seconds at the ends of `i64` are read, and the snapshot has
/// no time rather than a wrong one or a panic; beyond `i64`, refused.
#[test]
fn dyn_posix_seconds_at_the_ends_of_i64() {
    let task = &rich_tasks()[0];
    let view = serde_json::to_value(DynTask::of(task, 1)).unwrap();
    for field in ["created_ts", "modified_ts"] {
        for seconds in [
            i64::MAX,
            i64::MIN,
            i64::MAX / 1000,
            -8_334_601_228_800,
            8_210_266_876_800,
        ] {
            let mut json = view.clone();
            json[field] = json!(seconds);
            let read: DynTask = serde_json::from_value(json).unwrap();
            let snapshot = read.to_snapshot().unwrap();
            let at = if field == "created_ts" {
                snapshot.created_at
            } else {
                snapshot.updated_at
            };
            assert_eq!(at, DateTime::<Utc>::from_timestamp(seconds, 0));
            read.exercise(&Value::Null, None);
        }
        for raw in ["9223372036854775808", "-9223372036854775809", "1e19", "1.5"] {
            let mut json = view.clone();
            json[field] = json!(RAW);
            let text = serde_json::to_string(&json).unwrap().replacen(
                &serde_json::to_string(RAW).unwrap(),
                raw,
                1,
            );
            assert!(
                serde_json::from_str::<DynTask>(&text).is_err(),
                "{field} = {raw}"
            );
        }
    }
}

/// `depth` arrays, one in the other.
fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `depth` objects, one in the other.
fn nested_objects(depth: usize) -> String {
    format!("{}null{}", r#"{"json":"#.repeat(depth), "}".repeat(depth))
}

/// The deepest nesting `serde_json` reads.
fn deepest_readable() -> usize {
    (1..=200)
        .rev()
        .find(|depth| serde_json::from_str::<Value>(&nested_arrays(*depth)).is_ok())
        .unwrap()
}

/// Nesting 10 000 deep at the top for every type, and at every position
/// of one sample of every type and shape (arrays and objects in turn), by
/// `from_str` and `from_slice`: an error (the recursion limit), never a
/// stack overflow. The deepest value `serde_json` reads, at every
/// position, by `from_value`.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = [nested_arrays(10_000), nested_objects(10_000)];
    for text in &deep {
        every_type(&Value::Null, text, None);
        let json = format!(r#"{{"json":{text}}}"#);
        let error = serde_json::from_str::<ArgumentValue>(&json).unwrap_err();
        assert!(error.to_string().contains("recursion limit"), "{error}");
        let error = serde_json::from_slice::<ArgumentValue>(json.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("recursion limit"), "{error}");
    }
    let deepest: Value = serde_json::from_str(&nested_arrays(deepest_readable())).unwrap();
    for sample in distinct_samples() {
        for (i, path) in paths(&sample.json).iter().enumerate() {
            if sample.name != "kind" && inside_a_kind(path) {
                continue;
            }
            let (text, _) = mutated(&sample.json, path, &Mutation::Raw(deep[i % 2].clone()));
            assert!(serde_json::from_str::<Value>(&text).is_err());
            assert!(serde_json::from_slice::<Value>(text.as_bytes()).is_err());
            // An error, or a field the type ignores (serde_json skips it
            // without recursion).
            (sample.check)(&sample.json, &text, None);
            // Deeper than from_str reads: only from_value can be given it.
            let mut document = sample.json.clone();
            *at_mut(&mut document, path).unwrap() = deepest.clone();
            let _ = (sample.accepts_value)(document);
        }
    }
    // Where the crate reads any JSON (argument values, their previous
    // values, Cloudflare's links), the limit is what refuses it.
    let done = &RICH[0];
    let json = serde_json::to_value(done).unwrap();
    let event = json["history"][0].clone();
    let command = event["command"].clone();
    let correction = json["history"][7].clone();
    let cloudflare = serde_json::to_value(CloudflareTask::of(done)).unwrap();
    let positions: [(&str, &str, Value, Refusal); 7] = [
        (
            "/arguments/extra",
            "json",
            json.clone(),
            refusal::<Task<NamedKind>>,
        ),
        (
            "/history/0/command/arguments/extra",
            "json",
            json,
            refusal::<Task<NamedKind>>,
        ),
        (
            "/command/arguments/extra",
            "json",
            event,
            refusal::<Event<NamedKind>>,
        ),
        (
            "/arguments/extra",
            "json",
            command,
            refusal::<Command<NamedKind>>,
        ),
        (
            "/effect/previous",
            "legitimacyAfnic",
            correction,
            refusal::<Event<NamedKind>>,
        ),
        ("", "links", cloudflare.clone(), refusal::<CloudflareTask>),
        ("", "package_version", cloudflare, refusal::<CloudflareTask>),
    ];
    for (parent, key, mut document, refusal) in positions {
        let Some(Value::Object(map)) = document.pointer_mut(parent) else {
            panic!("no object at {parent}");
        };
        let value = if key == "legitimacyAfnic" {
            json!({"json": RAW})
        } else {
            json!(RAW)
        };
        map.insert(key.to_owned(), value);
        let written = serde_json::to_string(&document).unwrap();
        for text in &deep {
            let text = written.replacen(&serde_json::to_string(RAW).unwrap(), text, 1);
            let error = refusal(&text).unwrap_or_else(|| panic!("{parent}/{key} read"));
            if text.contains("[[[") && key != "package_version" {
                assert!(error.contains("recursion limit"), "{parent}/{key}: {error}");
            }
        }
    }
    for spec in specs_of_every_type() {
        for text in &deep {
            assert!(spec.parse(text).is_err());
        }
    }
}

/// A record nests an argument's JSON 6 levels down (history, event,
/// command, arguments, key, value) under `serde_json`'s limit of 128: a
/// JSON argument nested close to the limit used to be accepted, stored,
/// and then never read back. Every depth `serde_json` reads, by
/// `ArgumentSpec::parse`, creation, correction and relaunch: accepted up
/// to `MAX_JSON_DEPTH`, the record reading back; refused beyond, the
/// record unchanged. And a value far deeper, built in memory, is refused
/// without recursion.
#[test]
fn json_arguments_too_deep_to_be_stored_are_refused() {
    let kind =
        NamedKind::new("DomainCreate").argument(ArgumentSpec::new("extra", ArgumentType::Json));
    let spec = kind.arguments[0].clone();
    for depth in 1..=deepest_readable() {
        let text = nested_arrays(depth);
        let parsed = spec.parse(&text);
        assert_eq!(
            parsed.is_ok(),
            depth <= MAX_JSON_DEPTH,
            "depth {depth}: {parsed:?}"
        );
        let value = ArgumentValue::Json(serde_json::from_str(&text).unwrap());
        let mut new = NewTask::new(
            id(1),
            kind.clone(),
            Owner::new("alice"),
            ResourceRef::new("d", "x"),
        );
        new.arguments.insert("extra".into(), value.clone());
        match Task::create(new, alice(), t(0)) {
            Ok(task) => {
                assert!(depth <= MAX_JSON_DEPTH);
                assert_loadable(&task);
            }
            Err(Rejection::InvalidArgument(error)) => {
                assert!(depth > MAX_JSON_DEPTH);
                assert_eq!(
                    error.problem,
                    Problem::TooDeep {
                        max: MAX_JSON_DEPTH
                    }
                );
            }
            Err(other) => panic!("{other}"),
        }
        // Corrections: a failed task, the value set, then relaunched with it.
        let mut task = Task::create(
            NewTask::new(
                id(2),
                kind.clone(),
                Owner::new("alice"),
                ResourceRef::new("d", "x"),
            ),
            alice(),
            t(0),
        )
        .unwrap();
        let run = task.start(t(60), None, t(1)).unwrap();
        run.fail(
            &mut task,
            Failure::customer("BAD", "bad", t(2)).flag("extra"),
            t(2),
        )
        .unwrap();
        for command in [
            Command::SetArgument {
                key: "extra".into(),
                value: Some(value.clone()),
            },
            Command::Relaunch {
                arguments: Arguments::from([("extra".into(), value.clone())]),
            },
        ] {
            let mut record = task.clone();
            match record.apply(command, alice(), t(3)) {
                Ok(_) => {
                    assert!(depth <= MAX_JSON_DEPTH);
                    assert_loadable(&record);
                }
                Err(_) => {
                    assert!(depth > MAX_JSON_DEPTH);
                    assert_eq!(record, task);
                }
            }
        }
    }
    // A value far deeper than any text can carry, built in memory: refused
    // without recursion. (Dropping it recurses in serde_json: a thread with
    // room.)
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut value = Value::Null;
            for _ in 0..100_000 {
                value = Value::Array(vec![value]);
            }
            let value = ArgumentValue::Json(value);
            assert_eq!(
                spec.check(&value).unwrap_err().problem,
                Problem::TooDeep {
                    max: MAX_JSON_DEPTH
                }
            );
        })
        .unwrap()
        .join()
        .unwrap();
}

/// A change to a record's JSON.
type Edit = fn(&mut Value);

/// A history whose creation `Task::create` would refuse is refused when a
/// record is read: the creator must be the owner if a customer, the owner
/// and the resource must be named, the subtasks declared in order.
#[test]
fn a_record_whose_creation_create_refuses_is_not_read() {
    let task = common::pending();
    let json = serde_json::to_value(&task).unwrap();
    let cases: [(&str, Edit); 6] = [
        ("another customer creates", |r| {
            r["history"][0]["actor"] = json!({"role": "customer", "owner": "mallory"});
        }),
        ("a customer of no name creates", |r| {
            r["history"][0]["actor"]["owner"] = json!("");
        }),
        ("a resource of no kind", |r| {
            r["resource"]["kind"] = json!("");
            r["history"][0]["command"]["resource"]["kind"] = json!("");
        }),
        ("a subtask its own parent", |r| {
            r["history"][0]["command"]["subtasks"] = json!([{"name": "a", "parent": 0}]);
        }),
        ("a subtask of no name", |r| {
            r["history"][0]["command"]["subtasks"] = json!([{"name": ""}]);
        }),
        ("a parent declared later", |r| {
            r["history"][0]["command"]["subtasks"] =
                json!([{"name": "a"}, {"name": "b", "parent": 5}]);
        }),
    ];
    for (case, edit) in cases {
        let mut record = json.clone();
        edit(&mut record);
        // The record's own subtasks as the history builds them, so that
        // only the check of the creation can refuse it.
        let new: NewTask<NamedKind> =
            serde_json::from_value(record["history"][0]["command"].clone()).unwrap();
        let subtasks: Vec<Value> = new
            .subtasks
            .iter()
            .enumerate()
            .map(|(i, declared)| {
                json!({
                    "id": i, "name": declared.name, "description": declared.description,
                    "parent": declared.parent, "optional": declared.optional,
                    "status": "pending", "created_at": record["created_at"],
                    "started_at": null, "finished_at": null, "errors": [],
                })
            })
            .collect();
        record["subtasks"] = Value::Array(subtasks);
        let error = serde_json::from_value::<Task<NamedKind>>(record.clone())
            .expect_err(&format!("{case}: read"));
        assert!(
            error.to_string().contains("event 1 is not a legal move"),
            "{case}: {error}"
        );
        let text = serde_json::to_string(&record).unwrap();
        assert!(serde_json::from_str::<Task<NamedKind>>(&text).is_err());
        let history: Vec<Event<NamedKind>> =
            serde_json::from_value(record["history"].clone()).unwrap();
        assert!(
            matches!(
                Task::replay(history),
                Err(ReplayError::Illegal { version: 1, .. })
            ),
            "{case}: replayed"
        );
    }
}

/// The numbers the crate computes with, at their largest: each use runs
/// in bounded time, and nothing is allocated in proportion to a number.
#[test]
fn huge_numbers_are_not_capacities_or_loop_bounds() {
    let timed = |what: &str, f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        let elapsed = start.elapsed();
        assert!(elapsed.as_secs() < 5, "{what} took {elapsed:?}");
    };
    // Retry policies and budgets at their largest, through a life of
    // failures and retries.
    let kinds = [
        json!({"name": "K", "rules": {"retry": {"initial_delay_secs": u64::MAX,
            "multiplier": f64::MAX, "max_delay_secs": u64::MAX, "max_attempts": u32::MAX,
            "jitter": f64::MAX}, "relaunch": {"max": u32::MAX}}}),
        json!({"name": "K", "rules": {"retry": {"initial_delay_secs": 0, "multiplier": 0.0,
            "max_delay_secs": 0, "max_attempts": u32::MAX, "jitter": -f64::MAX}}}),
        json!({"name": "K", "rules": {"retry": {"initial_delay_secs": 1,
            "multiplier": f64::MIN_POSITIVE, "max_delay_secs": u64::MAX, "max_attempts": 1,
            "jitter": 1.0}}}),
        json!({"name": "K", "arguments": [
            {"key": "a", "type": "text", "min": u32::MAX, "max": u32::MAX},
            {"key": "b", "type": "text", "min": 0, "max": u32::MAX},
            {"key": "c", "type": "integer", "min": i64::MIN, "max": i64::MAX},
            {"key": "d", "type": "integer", "min": i64::MAX, "max": i64::MIN}]}),
    ];
    for kind in kinds {
        let kind: NamedKind = serde_json::from_value(kind).unwrap();
        timed("a kind's life", &mut || {
            kind.exercise(&Value::Null, None);
            for spec in &kind.arguments {
                spec.exercise(&Value::Null, None);
                let _ = spec.check(&ArgumentValue::Text(huge_string()));
            }
        });
        for attempt in [1, 1 << 20, u32::MAX] {
            timed("a delay", &mut || {
                let delay = kind.rules.retry.delay(id(1), attempt);
                assert!(delay <= Duration::days(365 * 101));
            });
        }
    }
    // Subtask ids and parents, steps, tokens, versions at their largest.
    for task in rich_tasks() {
        timed("extreme commands", &mut || at_the_edges(&task, true));
        let mut json = serde_json::to_value(&task).unwrap();
        for (pointer, value) in [
            ("/version", json!(u64::MAX)),
            ("/runs", json!(u32::MAX)),
            ("/history/0/version", json!(u64::MAX)),
            ("/subtasks/0/parent", json!(u32::MAX)),
            ("/subtasks/0/id", json!(u32::MAX)),
        ] {
            if let Some(slot) = json.pointer_mut(pointer) {
                *slot = value;
                timed("a record with a huge number", &mut || {
                    assert!(serde_json::from_value::<Task<NamedKind>>(json.clone()).is_err());
                });
                json = serde_json::to_value(&task).unwrap();
            }
        }
    }
    let subtasks: Subtasks = serde_json::from_value(json!([
        {"id": u32::MAX, "name": "a", "description": "", "parent": u32::MAX, "optional": false,
         "status": "running", "created_at": "2026-11-23T09:00:00Z", "started_at": null,
         "finished_at": null, "errors": []},
        {"id": 0, "name": "b", "description": "", "parent": 0, "optional": false,
         "status": "failed", "created_at": "2026-11-23T09:00:00Z", "started_at": null,
         "finished_at": null, "errors": []}
    ]))
    .unwrap();
    timed("subtasks", &mut || subtasks.exercise(&Value::Null, None));
    let progress: Progress =
        serde_json::from_value(json!({"step_count": u32::MAX, "total_steps": u32::MAX})).unwrap();
    assert_eq!(progress.percent(), 100);
    let mut dyn_view = serde_json::to_value(DynTask::of(&rich_tasks()[3], u64::MAX)).unwrap();
    dyn_view["step_count"] = json!(u32::MAX);
    dyn_view["total_steps"] = json!(1);
    let dyn_view: DynTask = serde_json::from_value(dyn_view).unwrap();
    timed("a Dyn view", &mut || dyn_view.exercise(&Value::Null, None));
    // Nothing above asked for memory in proportion to a number: a
    // `u32::MAX` capacity of anything would reserve gigabytes.
    if let Some(peak) = peak_virtual_memory() {
        assert!(peak < 4 << 30, "peak virtual memory {peak} bytes");
    }
}

/// The process's peak virtual memory, where `/proc` tells it.
fn peak_virtual_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmPeak:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

/// Long text in every string field of one sample of every type and shape
/// (70 000 characters, more than a format width holds), a megabyte in one
/// field of each type: read in time proportional to it, or refused.
/// (Tasks get a megabyte at random paths in the proptest.)
#[test]
fn huge_strings_in_every_field_cost_their_size() {
    let long = Value::String("x".repeat(70_000));
    let huge = Value::String(huge_string());
    let mut seen = std::collections::BTreeSet::new();
    for sample in distinct_samples().into_iter().filter(|s| s.name != "task") {
        let first_of_its_type = seen.insert(sample.name);
        let view = matches!(
            sample.name,
            "ovh task" | "dyn task" | "vcf task" | "cloudflare task"
        );
        if view && !first_of_its_type {
            continue;
        }
        let strings: Vec<Vec<Seg>> = paths(&sample.json)
            .into_iter()
            .filter(|path| sample.name == "kind" || !inside_a_kind(path))
            .filter(|path| at(&sample.json, path).is_some_and(Value::is_string))
            .collect();
        for (i, path) in strings.iter().enumerate() {
            let text = if i == 0 && first_of_its_type {
                &huge
            } else {
                &long
            };
            let start = Instant::now();
            try_mutation(&sample, path, &Mutation::Set(text.clone()));
            assert!(start.elapsed().as_secs() < 5, "{} at {path:?}", sample.name);
        }
    }
}

/// A timeline names every actor in a column as wide as the widest name:
/// a name longer than a format width (`u16::MAX`) once made it panic.
#[test]
fn a_timeline_of_actors_with_long_names_is_written() {
    for length in [65_535, 65_536, 70_000, 1 << 20] {
        let name = "n".repeat(length);
        let mut new = new_task(1, NamedKind::new("DomainCreate"));
        new.arguments.clear();
        new.owner = Owner::new(name.clone());
        let mut task = Task::create(new, Actor::customer(name.clone()), t(0)).unwrap();
        accept(
            &mut task,
            Command::Cancel { reason: None },
            Actor::operator(name.clone()),
            t(1),
        );
        let timeline = task.timeline().to_string();
        assert_eq!(timeline.matches(&name).count(), 3, "{length}");
        exercise_task(&task);
        assert_loadable(&task);
    }
}

/// Argument values beyond their spec, at the edges: each refused with the
/// problem named; values at the edges of their bounds accepted.
#[test]
fn argument_values_at_and_beyond_the_edges() {
    let text = ArgumentSpec::text("t", 1, 255);
    let integer = ArgumentSpec::integer("i", -5, 5);
    let wide = ArgumentSpec::integer("w", i64::MIN, i64::MAX);
    let one_of = ArgumentSpec::one_of("o", ["personal", "business"]);
    let email = ArgumentSpec::new("e", ArgumentType::Email);
    let phone = ArgumentSpec::new("p", ArgumentType::Phone);
    let day = ArgumentSpec::new("d", ArgumentType::Date);
    let flag = ArgumentSpec::new("b", ArgumentType::Boolean);
    let megabyte = huge_string();
    let refused: Vec<(&ArgumentSpec, ArgumentValue, Problem)> = vec![
        (
            &text,
            ArgumentValue::Text(megabyte.clone()),
            Problem::TooLong { max: 255 },
        ),
        (&text, ArgumentValue::from(""), Problem::TooShort { min: 1 }),
        (
            &text,
            ArgumentValue::Integer(1),
            Problem::WrongType {
                expected: "text",
                found: "integer",
            },
        ),
        (
            &integer,
            ArgumentValue::Integer(i64::MIN),
            Problem::BelowMinimum { min: -5 },
        ),
        (
            &integer,
            ArgumentValue::Integer(i64::MAX),
            Problem::AboveMaximum { max: 5 },
        ),
        (
            &integer,
            ArgumentValue::from("3"),
            Problem::WrongType {
                expected: "integer",
                found: "text",
            },
        ),
        (
            &one_of,
            ArgumentValue::from("Personal"),
            Problem::NotAccepted {
                accepted: vec!["personal".into(), "business".into()],
            },
        ),
        (
            &one_of,
            ArgumentValue::from("personal "),
            Problem::NotAccepted {
                accepted: vec!["personal".into(), "business".into()],
            },
        ),
        (
            &email,
            ArgumentValue::Text(format!("a@{megabyte}.fr")),
            Problem::InvalidEmail,
        ),
        (
            &phone,
            ArgumentValue::Text(format!("+33.{}", "1".repeat(1 << 20))),
            Problem::InvalidPhone,
        ),
        (
            &day,
            ArgumentValue::from("2026-11-23"),
            Problem::WrongType {
                expected: "date",
                found: "text",
            },
        ),
        (
            &flag,
            ArgumentValue::Json(json!(true)),
            Problem::WrongType {
                expected: "boolean",
                found: "json",
            },
        ),
    ];
    for (spec, value, problem) in refused {
        assert_eq!(
            spec.check(&value).unwrap_err().problem,
            problem,
            "{value:?}"
        );
    }
    for (spec, value) in [
        (&wide, ArgumentValue::Integer(i64::MIN)),
        (&wide, ArgumentValue::Integer(i64::MAX)),
        (&text, ArgumentValue::Text("é".repeat(255))),
        (&day, ArgumentValue::Date(NaiveDate::MAX)),
        (&day, ArgumentValue::Date(NaiveDate::MIN)),
    ] {
        assert!(spec.check(&value).is_ok(), "{value:?}");
    }
    // From text, as string APIs send it.
    for (spec, text) in [
        (&wide, "9223372036854775808"),
        (&wide, "-9223372036854775809"),
        (&wide, "1e3"),
        (&wide, "NaN"),
        (&integer, &"9".repeat(1 << 16)),
        (&day, "+262143-01-01"),
        (&day, "-262145-01-01"),
        (&day, "+300000-01-01"),
        (&day, "2026-02-30"),
        (&flag, "TRUE"),
    ] {
        assert!(
            matches!(
                spec.parse(text).unwrap_err().problem,
                Problem::Unparsable { .. }
            ),
            "{text}"
        );
    }
    // From JSON, as a host reads a command.
    for json in [
        r#"{"integer":9223372036854775808}"#,
        r#"{"integer":1.5}"#,
        r#"{"integer":1e400}"#,
        r#"{"date":"+300000-01-01"}"#,
        r#"{"date":"2026-02-30"}"#,
        r#"{"boolean":"true"}"#,
        r#"{"text":null}"#,
        r#"{"text":"a","integer":1}"#,
        r#"{"unknown":1}"#,
    ] {
        assert!(
            serde_json::from_str::<ArgumentValue>(json).is_err(),
            "{json}"
        );
    }
    // And through the lifecycle: the kind's own arguments, each value that
    // fits refused once made too big, with the record unchanged.
    let mut task = Task::create(new_task(9, rich_kind()), alice(), t(0)).unwrap();
    let run = task.start(t(60), None, t(1)).unwrap();
    run.fail(&mut task, Failure::customer("BAD", "bad", t(2)), t(2))
        .unwrap();
    let before = serde_json::to_string(&task).unwrap();
    for (key, value) in [
        ("legitimacyAfnic", ArgumentValue::Text(megabyte.clone())),
        ("duration", ArgumentValue::Integer(i64::MAX)),
        ("duration", ArgumentValue::Integer(0)),
        ("contactEmail", ArgumentValue::Text(megabyte.clone())),
        ("use", ArgumentValue::from("PERSONAL")),
        ("birth", ArgumentValue::from("2000-01-01")),
        (
            "extra",
            ArgumentValue::Json(serde_json::from_str(&nested_arrays(100)).unwrap()),
        ),
        ("domain", ArgumentValue::from("example.com")),
        ("undeclared", ArgumentValue::Boolean(true)),
    ] {
        for command in [
            Command::set_argument(key, value.clone()),
            Command::Relaunch {
                arguments: Arguments::from([(key.to_owned(), value.clone())]),
            },
        ] {
            for actor in [alice(), bob()] {
                let mut record = task.clone();
                let rejection = record.apply(command.clone(), actor, t(3)).unwrap_err();
                assert!(
                    matches!(&rejection, Rejection::InvalidArgument(error) if error.key == key),
                    "{key}: {rejection}"
                );
                assert_eq!(serde_json::to_string(&record).unwrap(), before);
            }
        }
    }
}
