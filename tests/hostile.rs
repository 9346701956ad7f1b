//! Hostile input: every type a host deserializes, fed what an attacker or
//! a damaged store could send.
//!
//! The types: tasks, their logs, commands, events, new tasks and their effects and
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
//! `from_value` agree. A task is `{"identity", "state"}` and its log is
//! kept apart. Reading a record checks its state (a lease only on a
//! leased task, a failure only on a failed one, …) and refuses unknown
//! keys, a misspelt one anywhere included; a mutated record that is read
//! writes back as it was read (see `disagreement`), keeps those
//! invariants, and is refused by `Task::check_log` against the log of the
//! record it was mutated from unless it differs only in what heartbeats
//! change (the lease's deadline, check time and note). A mutated log is
//! refused by `Task::replay`, or it is one the commands make: its creation
//! is one `Task::create` accepts, applying each event's command to the
//! record before it gives the event back, the record it rebuilds agrees
//! with it, and replaying it as recorded gives the same record. Whatever
//! is accepted is then used as a host would: views built, snapshots
//! taken, permission questions asked, and commands applied at the edges
//! of time; a command refused leaves the record as it was, a record a
//! command changed reads back equal, and with the event appended to its
//! log it still agrees with the log.
//!
//! Argument values beyond their spec (too long or short, out of range, of
//! the wrong type, not among the accepted values, edits of read-only
//! arguments, unknown keys, JSON nested too deep to be stored) are
//! refused by creation, correction and relaunch, and the record before
//! and after is equal, to the byte.
//!
//! Regressions: a JSON argument nested close to `serde_json`'s limit made
//! a record that could be stored but never read back (now refused beyond
//! `MAX_JSON_DEPTH`); a log whose creation `Task::create` refuses (a
//! customer creating another's task, an unnamed owner or resource,
//! subtasks out of order) was replayed (now refused by replay, and the
//! record by `check_log`).
//!
//! The proptests run 256 cases of random bytes, random JSON and status
//! words, 64 of damaged JSON, mutated commands, extreme commands and
//! argument bounds, 16 of mutated tasks and logs and of everything else; the
//! deterministic tests walk one sample of every type and shape. About
//! 35 s in a debug build on two cores.
//!
//! More cases: `PROPTEST_CASES=20000 cargo test --test hostile`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::any::type_name;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::LazyLock;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use taskstate::SubtaskAction;
use taskstate::profiles::cloudflare::{
    CloudflareDetail, CloudflareStatus, CloudflareTask, CloudflareWarning,
};
use taskstate::profiles::dyn_dns::{DynStatus, DynTask, YesNo};
use taskstate::profiles::ovh::{OvhArgument, OvhStatus, OvhTask};
use taskstate::profiles::vcf::{
    VcfCause, VcfError, VcfMessagePack, VcfPageMetadata, VcfResource, VcfStage, VcfStatus,
    VcfSubtask, VcfSubtaskStatus, VcfTask, VcfTaskList,
};
use taskstate::profiles::{Spelled, Timestamp};
use taskstate::table::Guard;
use taskstate::testkit::strategies::{self, step};
use taskstate::{
    Action, Actor, Aggregate, AggregatePolicy, ArgumentSpec, ArgumentType, ArgumentValue,
    Arguments, CancelRules, CodeMatch, Command, Decision, Detail, Event, Failure, FailureRule,
    FollowUp, IdGenerator, Lease, LeaseToken, NamedKind, NewSubtask, NewTask, OnFailure, Origin,
    Outcome, Owner, Progress, Rejection, RelaunchRules, ReplayError, ReplayMode, Resolution,
    ResourceRef, RetryPolicy, Role, RoleSet, RuleName, Rules, Run, Status, StatusSet, Subtask,
    SubtaskChange, SubtaskStatus, Subtasks, Task, TaskId, TaskKind, Timeline, Warning,
};
use taskstate::{MAX_JSON_DEPTH, Problem};

use common::{Logged, alice, bob, t};

/// A log: what a store keeps beside a record.
type Log = Vec<Event<NamedKind>>;

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
        Log,
        Command<NamedKind>,
        Event<NamedKind>,
        NewTask<NamedKind>,
        Decision,
        Outcome,
        ResourceRef,
        Failure,
        Detail,
        Warning,
        FollowUp,
        Resolution,
        Origin,
        OnFailure,
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
        RuleName,
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
        VcfStage,
        VcfMessagePack,
        VcfPageMetadata,
        VcfTaskList,
        Timestamp,
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
    Decision,
    Outcome,
    ResourceRef,
    Failure,
    Detail,
    Warning,
    FollowUp,
    Resolution,
    Origin,
    OnFailure,
    FailureRule,
    Arguments,
    CancelRules,
    RelaunchRules,
    RuleName,
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
    VcfStage,
    VcfMessagePack,
    VcfPageMetadata,
    Timestamp,
    CloudflareWarning,
    CloudflareDetail,
    Spelled<OvhStatus>,
    Spelled<DynStatus>,
    Spelled<VcfStatus>,
    Spelled<VcfSubtaskStatus>,
    Spelled<CloudflareStatus>,
);

// ---------------------------------------------------------------------
// The records and logs the samples were made from
// ---------------------------------------------------------------------

thread_local! {
    /// The record and log each task or log sample was made from, by the
    /// sample's JSON: a mutated record is checked against its original's
    /// log, a mutated log against its original's record.
    static ORIGINS: RefCell<HashMap<String, Logged>> = RefCell::new(HashMap::new());
}

/// Remembers that `json` (a task's or a log's) was made from `logged`.
fn register(json: &Value, logged: &Logged) {
    ORIGINS.with(|origins| {
        origins
            .borrow_mut()
            .insert(json.to_string(), logged.clone())
    });
}

/// The record and log `json` was made from, if it is a sample's.
fn origin_of(json: &Value) -> Option<Logged> {
    if json.is_null() {
        return None;
    }
    ORIGINS.with(|origins| origins.borrow().get(&json.to_string()).cloned())
}

impl Hostile for Task<NamedKind> {
    fn exercise(&self, original: &Value, given: Option<&Value>) {
        let written = serde_json::to_value(self).unwrap();
        assert_consistent(self, &written, original, given);
        // Against the log of the record it was mutated from: refused, or
        // it differs only in what heartbeats change.
        let origin = origin_of(original);
        let mut log = None;
        if let Some(origin) = &origin {
            match self.check_log(&origin.log) {
                Ok(()) => {
                    assert_differs_only_by_heartbeats(self, &origin.task);
                    log = Some(origin.log.as_slice());
                }
                Err(error) => assert!(
                    written != *original,
                    "a record disagrees with the log it was made with: {error}"
                ),
            }
        }
        // A mutation that changed nothing gives the valid task, which the
        // proptests exercise.
        if written != *original {
            exercise_task(self);
            at_the_edges(self, log, false);
        }
    }
}

impl Hostile for Log {
    fn exercise(&self, original: &Value, _: Option<&Value>) {
        let _ = Timeline::new(self).to_string();
        let strict = Task::replay(self);
        let as_recorded = Task::replay_with(self, ReplayMode::AsRecorded);
        if let Ok(task) = &strict {
            assert_eq!(
                as_recorded.as_ref().ok(),
                Some(task),
                "a log replayed strictly is not the same replayed as recorded"
            );
            assert_made_by_its_commands(self);
        }
        let written = serde_json::to_value(self).unwrap();
        if let Some(origin) = origin_of(original)
            && written == *original
        {
            origin.task.check_log(self).unwrap();
        }
        // Under either mode, what is rebuilt agrees with its log and reads
        // back.
        for (mode, replayed) in [
            (ReplayMode::Strict, &strict),
            (ReplayMode::AsRecorded, &as_recorded),
        ] {
            if let Ok(task) = replayed {
                if let Err(error) = task.check_log_with(self, mode) {
                    panic!("a log rebuilds a record that disagrees with it ({mode:?}): {error}");
                }
                assert_loadable(task);
            }
        }
        // (A log made in a test, not read from a sample, is only
        // replayed.)
        if written != *original
            && !original.is_null()
            && let Ok(task) = &strict
        {
            exercise_task(task);
            at_the_edges(task, Some(self), false);
        }
    }
}

/// A log that replays is one the commands make: its creation is one
/// `Task::create` accepts, and applying each event's command, by its
/// actor at its time, to the record the events before it make gives the
/// event back (its version aside when heartbeats came before it, which
/// are not in the log).
fn assert_made_by_its_commands(log: &[Event<NamedKind>]) {
    let first = &log[0];
    let Command::Create(new) = &first.command else {
        panic!("a log replays that does not start with its creation");
    };
    let (mut task, created) = Task::create(NewTask::clone(new), first.actor.clone(), first.at)
        .unwrap_or_else(|rejection| {
            panic!("a log replays whose creation Task::create refuses: {rejection}")
        });
    assert_eq!(
        &created, first,
        "the creation Task::create makes is another"
    );
    for (i, event) in log.iter().enumerate().skip(1) {
        assert!(
            event.heartbeats == 0 || task.status().is_leased(),
            "event {} replays with heartbeats before it on a task no run holds",
            event.version
        );
        let made = task
            .apply(event.command.clone(), event.actor.clone(), event.at)
            .unwrap_or_else(|rejection| {
                panic!(
                    "event {} replays but its command is refused: {rejection}",
                    event.version
                )
            })
            .unwrap_or_else(|| panic!("event {} replays but is not logged", event.version));
        let expected = Event {
            version: made.version + u64::from(event.heartbeats),
            heartbeats: event.heartbeats,
            ..made.clone()
        };
        assert_eq!(
            &expected, event,
            "event {} replays but its command makes another",
            event.version
        );
        if event.heartbeats > 0 {
            // The heartbeats before it moved the version: on from the
            // record replay rebuilds with it.
            task = Task::replay(&log[..=i]).unwrap();
        }
    }
}

/// A record that `check_log` accepts against the log of `original` is
/// `original` but for what heartbeats change: the lease's deadline, check
/// time and note, and the time of the last change after a heartbeat.
fn assert_differs_only_by_heartbeats(read: &Task<NamedKind>, original: &Task<NamedKind>) {
    if read == original {
        return;
    }
    let heartbeats = read.lease().map_or(0, Lease::heartbeats);
    let strip = |task: &Task<NamedKind>| {
        let mut json = serde_json::to_value(task).unwrap();
        let state = json["state"].as_object_mut().unwrap();
        if let Some(Value::Object(lease)) = state.get_mut("lease") {
            for key in ["expires_at", "check_at", "note"] {
                lease.remove(key);
            }
        }
        if heartbeats > 0 {
            state.remove("updated_at");
        }
        json
    };
    let (read, original) = (strip(read), strip(original));
    if read != original {
        let path = disagreement(&read, &original)
            .or_else(|| disagreement(&original, &read))
            .unwrap_or_default();
        panic!("a damaged record agrees with its log: at {path}");
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
        // A log of this event alone, and one of a waiting task's life
        // with this event next.
        let _ = Task::replay([self.clone()]);
        vec![self.clone()].exercise(&Value::Null, None);
        let mut log = RICH[3].log.clone();
        let mut next = self.clone();
        next.version = log
            .last()
            .map_or(0, |last| last.version)
            .saturating_add(u64::from(next.heartbeats))
            .saturating_add(1);
        log.push(next);
        log.exercise(&Value::Null, None);
    }
}

impl Hostile for NewTask<NamedKind> {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let creator = Actor::Customer {
            owner: self.owner.clone(),
        };
        let Ok((task, created)) = Task::create(self.clone(), creator, t(0)) else {
            return;
        };
        assert_arguments_fit(&task);
        assert_loadable(&task);
        task.check_log([&created]).unwrap();
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
        for subtask in self.iter() {
            let _ = self.unsatisfied_children(subtask.id);
            let _ = self.children(Some(subtask.id)).count();
        }
        let _ = self.unsatisfied_children(u32::MAX);
    }
}

impl Hostile for Progress {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        assert!(self.percent() <= taskstate::Percent::HUNDRED);
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
        let _ = self.to_mirrored();
    }
}

impl Hostile for OvhArgument {}

impl Hostile for DynTask {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        if let Ok(snapshot) = self.to_mirrored() {
            assert_eq!(
                snapshot.created_at.map(|at| at.timestamp()),
                DateTime::<Utc>::from_timestamp(self.created_ts, 0).map(|at| at.timestamp())
            );
            if let Some(progress) = snapshot.progress {
                assert!(progress.percent() <= taskstate::Percent::HUNDRED);
            }
        }
    }
}

impl Hostile for VcfTask {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = self.to_mirrored();
    }
}

impl Hostile for VcfTaskList {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        for task in &self.elements {
            let _ = task.to_mirrored();
        }
    }
}

impl Hostile for CloudflareTask {
    fn exercise(&self, _: &Value, _: Option<&Value>) {
        let _ = self.to_mirrored();
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

/// Whether `value` is what a kind's rules take when `key` is missing from
/// them or from one of their parts: the standard rules' `key`.
fn is_default_rule(key: &str, value: &Value) -> bool {
    static STANDARD: LazyLock<Value> =
        LazyLock::new(|| serde_json::to_value(Rules::STANDARD).unwrap());
    let standard = &*STANDARD;
    (key == "rules" && value == standard)
        || std::iter::once(standard)
            .chain(
                standard
                    .as_object()
                    .into_iter()
                    .flat_map(|map| map.values()),
            )
            .any(|part| part.get(key) == Some(value))
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
                // A kind's rules default to the standard ones, field by
                // field.
                None if is_default_rule(key, value) => None,
                None => Some(format!("/{key} (missing, written {value})")),
            })
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .find_map(|(i, (w, g))| disagreement(w, g).map(|path| format!("/{i}{path}"))),
        // A struct read from a sequence (serde takes its fields in
        // declaration order): the same values, in another order, each
        // read as a field reads it (an integer as a float, say).
        (Value::Object(w), Value::Array(g)) if g.len() <= w.len() => {
            let mut left: Vec<&Value> = w.values().collect();
            g.iter()
                .all(|item| {
                    match left
                        .iter()
                        .position(|value| disagreement(value, item).is_none())
                    {
                        Some(i) => {
                            left.swap_remove(i);
                            true
                        }
                        None => false,
                    }
                })
                .then_some(())
                .map_or_else(
                    || Some(format!(" (written {written}, read {given})")),
                    |()| None,
                )
        }
        // An id read in another of the spellings of a UUID (upper case,
        // no hyphens, braces): the same id.
        (Value::String(w), Value::String(g))
            if uuid::Uuid::parse_str(w).is_ok_and(|w| uuid::Uuid::parse_str(g).ok() == Some(w)) =>
        {
            None
        }
        // A float read from an integer: the same number.
        (Value::Number(w), Value::Number(g)) if w.is_f64() && w.as_f64() == g.as_f64() => None,
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
/// was read (see [`disagreement`]), or it is the original, and its state
/// keeps the invariants reading checks.
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
    assert_state_holds(task);
}

/// The invariants of a record's state, as its public answers show them:
/// a lease only and always while running or waiting, a check time only
/// while waiting, a failure and its follow-up only and always while
/// failed, fields to correct only then, an outcome only and always once
/// done, a settle time only and always once settled, a todo time only
/// while pending, a cancel request only on a running, waiting or stalled
/// task, no more counted attempts than runs, a version of at least 1.
fn assert_state_holds(task: &Task<NamedKind>) {
    let status = task.status();
    let checks = [
        (task.version() >= 1, "a version of 0"),
        (
            task.lease().is_some() == status.is_leased(),
            "a lease on an unleased task, or none on a leased one",
        ),
        (
            task.lease().is_none_or(|lease| lease.check_at().is_none())
                || status == Status::Waiting,
            "a check time on a task that is not waiting",
        ),
        (
            task.failure().is_some() == (status == Status::Failed),
            "a failure on a task that is not failed, or none on a failed one",
        ),
        (
            task.follow_up().is_some() == (status == Status::Failed),
            "a follow-up on a task that is not failed, or none on a failed one",
        ),
        (
            task.fields_to_correct().is_empty() || status == Status::Failed,
            "fields to correct on a task that is not failed",
        ),
        (
            task.outcome().is_some() == (status == Status::Done),
            "an outcome on a task that is not done, or none on a done one",
        ),
        (
            task.done_at().is_some() == status.is_settled(),
            "a settle time on an active task, or none on a settled one",
        ),
        (
            task.todo_at().is_none() || status == Status::Pending,
            "a todo time on a task that is not pending",
        ),
        (
            task.cancel_requested_at().is_none()
                || matches!(status, Status::Running | Status::Waiting | Status::Stalled),
            "a cancel request on a task that is not running, waiting or stalled",
        ),
        (task.attempts() <= task.runs(), "more attempts than runs"),
    ];
    for (holds, problem) in checks {
        assert!(holds, "a record was read with {problem}");
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

/// The log reads back, equal.
fn assert_log_loadable(log: &[Event<NamedKind>]) {
    let text = serde_json::to_string(log).unwrap();
    let back: Log = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("a log no longer reads back: {e}: {}", excerpt(&text)));
    assert_eq!(back, log, "a log reads back different");
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

/// The current run's token: the record does not answer it (a run's
/// handle keeps it), but its stored form holds it.
fn current_token(task: &Task<NamedKind>) -> Option<LeaseToken> {
    let json = serde_json::to_value(task).unwrap();
    let token = json.pointer("/state/lease/token")?.clone();
    let token: LeaseToken = serde_json::from_value(token).unwrap();
    assert!(task.lease().is_some_and(|lease| lease.is_held_by(token)));
    Some(token)
}

/// Every answer a task gives, every view of it, at the edges of time.
fn exercise_task(task: &Task<NamedKind>) {
    assert!(task.same_identity(task));
    let _ = (task.comment(), task.next_wakeup(), task.warnings().len());
    if let Some(lease) = task.lease() {
        let _ = (
            lease.expires_at(),
            lease.worker(),
            lease.check_at(),
            lease.note(),
            lease.heartbeats(),
            lease.is_expired(MIN),
            lease.is_expired(MAX),
        );
    }
    // Only the current run's handle is rebuilt.
    let current = current_token(task);
    for token in [0, 1, task.version(), u64::MAX].map(LeaseToken::new) {
        let rebuilt = Run::rebuild(task, token);
        assert_eq!(rebuilt.is_ok(), Some(token) == current, "{token:?}");
    }
    if let Some(token) = current {
        let run = Run::rebuild(task, token).unwrap();
        assert_eq!((run.token(), run.task_id()), (token, task.id()));
    }
    if let Some(progress) = task.progress() {
        assert!(progress.percent() <= taskstate::Percent::HUNDRED);
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
    let _ = DynTask::of(task, u64::MAX).to_mirrored();
    let _ = CloudflareTask::of(task).to_mirrored();
    for now in [task.updated_at(), MIN, MAX] {
        for actor in parties(task) {
            let _ = (
                task.can_cancel(&actor, now),
                task.can_accelerate(&actor, now),
                task.can_relaunch(&actor, now),
                task.can_relaunch_once_corrected(&actor, now),
                task.relaunch_rejection(&actor, now),
            );
            let _ = OvhTask::of(task, u64::MAX, &actor, now).to_mirrored();
            let _ = VcfTask::of(task, &actor, now).to_mirrored();
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
    let token = current_token(task).unwrap_or(LeaseToken::new(u64::MAX));
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
            check_at: None,
        },
        Command::Heartbeat {
            token,
            lease_until: MAX,
            progress: Some("x".into()),
            check_at: Some(MAX),
        },
        Command::Heartbeat {
            token,
            lease_until: MIN,
            progress: None,
            check_at: Some(MIN),
        },
        Command::Wait {
            token,
            until: MAX,
            check_at: None,
            reason: None,
        },
        Command::Wait {
            token,
            until: MAX,
            check_at: Some(MAX),
            reason: Some("x".into()),
        },
        Command::Wait {
            token,
            until: MAX,
            check_at: Some(MIN),
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
            percent: None,
            current_step: None,
            expected_done_at: Some(MAX),
        },
        Command::ReportProgress {
            token,
            steps: Some((u32::MAX, 0)),
            percent: None,
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
/// that reads back and, with its event appended to `log` (the task's, if
/// known), agrees with the log. `thorough` tries every party at three
/// times; else the system and the owner at the last instant.
fn at_the_edges(task: &Task<NamedKind>, log: Option<&[Event<NamedKind>]>, thorough: bool) {
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
                    Ok(event) => {
                        assert_loadable(&copy);
                        if let Some(log) = log {
                            assert_agrees(&copy, log, event);
                        }
                    }
                    Err(_) => assert_eq!(&copy, task, "a refused command changed the record"),
                }
            }
        }
    }
}

/// `task`, changed by a command that returned `event`, agrees with `log`
/// (the log before the command) with the event appended.
fn assert_agrees(
    task: &Task<NamedKind>,
    log: &[Event<NamedKind>],
    event: Option<Event<NamedKind>>,
) {
    let mut log = log.to_vec();
    let action = event.as_ref().map(Event::action);
    log.extend(event);
    if let Err(error) = task.check_log(&log) {
        panic!(
            "an accepted command ({action:?}) leaves a record that disagrees with its log: {error}"
        );
    }
}

/// A task of `kind` through a life at the edges of its rules: created,
/// started, failed by the provider as many times as it is retried, the
/// retry delays computed from whatever numbers the kind's retry policy
/// holds (and computed again, equal, by the replay of its log).
fn exercise_kind(kind: NamedKind) {
    let new = NewTask::new(
        IdGenerator::seeded(3).next_id(t(0)),
        kind,
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    );
    let Ok(created) = Task::create(new, Actor::System, t(0)) else {
        return;
    };
    let mut logged = Logged::new(created);
    let mut now = t(1);
    for _ in 0..3 {
        let Ok((run, started)) = logged.task.start(now + Duration::seconds(60), None, now) else {
            break;
        };
        logged.push(started);
        let failure = Failure::provider("SOME_CODE", "down", now);
        match run.fail(&mut logged.task, failure, now) {
            Ok(failed) => logged.push(failed),
            Err(_) => break,
        }
        match logged.task.next_retry_at() {
            Some(at) => {
                assert!(at >= now, "a retry scheduled before its failure");
                now = at;
                if logged.apply(Command::Retry, Actor::System, now).is_err() {
                    break;
                }
            }
            None => break,
        }
    }
    assert_loadable(&logged.task);
    logged.task.check_log(&logged.log).unwrap();
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

/// Applies a command that must be accepted, logging its event; returns
/// the event, if it is logged.
fn go(
    logged: &mut Logged,
    command: Command<NamedKind>,
    actor: Actor,
    now: DateTime<Utc>,
) -> Option<Event<NamedKind>> {
    match logged.apply(command.clone(), actor.clone(), now) {
        Ok(event) => event.cloned(),
        Err(rejection) => panic!("{actor} {command:?} refused: {rejection}"),
    }
}

/// The token of the run a start event began.
fn token_of(started: Option<Event<NamedKind>>) -> LeaseToken {
    let started = started.expect("a start is logged");
    assert_eq!(started.action(), Action::Start);
    started.lease_token().expect("a start issues a token")
}

fn created(new: NewTask<NamedKind>, actor: Actor) -> Logged {
    Logged::new(Task::create(new, actor, t(0)).unwrap())
}

/// Tasks in every corner of the lifecycle, every field of the record
/// filled in one of them, with their logs: done with warnings after a
/// corrected failure and nested subtasks; stalled with a cancel request;
/// failed, escalated and resolved; waiting with reported progress, a
/// time to check again and a heartbeat's note since its last event;
/// cancelled; failed awaiting the correction of a flagged argument.
fn rich_tasks() -> Vec<Logged> {
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
    let mut done = created(new, alice());
    go(&mut done, Command::Accelerate, alice(), t(1));
    let start = |until| Command::Start {
        lease_until: t(until),
        worker: Some("w1".into()),
    };
    let tk = token_of(go(&mut done, start(100), system.clone(), t(2)));
    let heartbeat = Command::Heartbeat {
        token: tk,
        lease_until: t(200),
        progress: Some("registry contacted".into()),
        check_at: None,
    };
    assert!(go(&mut done, heartbeat, system.clone(), t(3)).is_none());
    let subtask = |token, id, change| Command::Subtask { token, id, change };
    go(
        &mut done,
        subtask(tk, 0, SubtaskChange::Start),
        system.clone(),
        t(4),
    );
    let add = Command::AddSubtask {
        token: tk,
        subtask: NewSubtask::new("late", "added late"),
    };
    go(&mut done, add, system.clone(), t(5));
    let failure = Failure::customer("AFNIC_LEGITIMACY_REQUIRED", "justify", t(6))
        .flag("legitimacyAfnic")
        .detail(Detail::new("missing", "required").field("legitimacyAfnic"))
        .cause(Detail::new("afnic", "says no"))
        .error_type("ERROR");
    let fail = Command::Fail {
        token: Some(tk),
        failure: Box::new(failure),
    };
    go(&mut done, fail, system.clone(), t(6));
    let correct = Command::set_argument("legitimacyAfnic", "I am the mayor");
    go(&mut done, correct, alice(), t(7));
    let relaunch = Command::Relaunch {
        arguments: Arguments::from([("contactEmail".into(), ArgumentValue::from("a@b.fr"))]),
    };
    go(&mut done, relaunch, alice(), t(8));
    let tk = token_of(go(&mut done, start(300), system.clone(), t(9)));
    let wait = Command::Wait {
        token: tk,
        until: t(400),
        check_at: Some(t(60)),
        reason: Some("registry".into()),
    };
    go(&mut done, wait, system.clone(), t(10));
    let resume = Command::Resume {
        token: tk,
        lease_until: t(500),
    };
    go(&mut done, resume, system.clone(), t(11));
    go(
        &mut done,
        subtask(tk, 1, SubtaskChange::Start),
        system.clone(),
        t(12),
    );
    let errors = vec![Failure::provider("VIB", "bad vib", t(13))];
    let failed = SubtaskChange::Fail { errors };
    go(&mut done, subtask(tk, 1, failed), system.clone(), t(13));
    go(
        &mut done,
        subtask(tk, 0, SubtaskChange::Start),
        system.clone(),
        t(14),
    );
    go(
        &mut done,
        subtask(tk, 0, SubtaskChange::Succeed),
        system.clone(),
        t(15),
    );
    go(
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
    go(&mut done, complete, system.clone(), t(17));

    // Stalled, with a cancel request.
    let mut stalled = created(new_task(3, rich_kind()), bob());
    go(&mut stalled, start(60), system.clone(), t(1));
    let cancel = Command::Cancel {
        reason: Some("changed my mind".into()),
    };
    go(&mut stalled, cancel, alice(), t(2));
    go(&mut stalled, Command::MarkStalled, system.clone(), t(61));

    // Failed twice by the provider: retried, escalated, resolved.
    let rules = Rules::new().retry(RetryPolicy::STANDARD.max_attempts(2));
    let mut kind = NamedKind::with_rules("ZonePublish", rules);
    kind.arguments = common::specs();
    let mut escalated = created(new_task(4, kind), system.clone());
    let tk = token_of(go(&mut escalated, start(60), system.clone(), t(1)));
    let first = Command::Fail {
        token: Some(tk),
        failure: Box::new(common::provider_failure(t(2))),
    };
    go(&mut escalated, first, system.clone(), t(2));
    let due = escalated.task.next_retry_at().unwrap();
    go(&mut escalated, Command::Retry, system.clone(), due);
    let now = due + Duration::seconds(1);
    let run = Command::Start {
        lease_until: now + Duration::seconds(60),
        worker: None,
    };
    let tk = token_of(go(&mut escalated, run, system.clone(), now));
    let fail = Command::Fail {
        token: Some(tk),
        failure: Box::new(common::provider_failure(now)),
    };
    go(&mut escalated, fail, system.clone(), now);
    go(
        &mut escalated,
        Command::Resolve,
        bob(),
        now + Duration::seconds(1),
    );

    // Waiting, with reported progress, a time to check again, and a
    // heartbeat since its last event (its note, its count).
    let mut waiting = created(new_task(5, rich_kind()), alice());
    let tk = token_of(go(&mut waiting, start(60), system.clone(), t(1)));
    let progress = Command::ReportProgress {
        token: tk,
        percent: None,
        steps: Some((3, 10)),
        current_step: Some("dns".into()),
        expected_done_at: Some(t(900)),
    };
    go(&mut waiting, progress, system.clone(), t(2));
    let wait = Command::Wait {
        token: tk,
        until: t(500),
        check_at: Some(t(300)),
        reason: None,
    };
    go(&mut waiting, wait, system.clone(), t(3));
    let poll = Command::Heartbeat {
        token: tk,
        lease_until: t(600),
        progress: Some("no answer yet".into()),
        check_at: Some(t(400)),
    };
    assert!(go(&mut waiting, poll, system.clone(), t(4)).is_none());

    // Cancelled while pending.
    let mut new = new_task(6, rich_kind());
    new.todo_at = Some(t(3600));
    let mut cancelled = created(new, alice());
    go(
        &mut cancelled,
        Command::Cancel { reason: None },
        alice(),
        t(1),
    );

    // Failed by the customer's data: a flagged argument to correct.
    let mut correcting = created(new_task(7, rich_kind()), alice());
    let tk = token_of(go(&mut correcting, start(60), system.clone(), t(1)));
    let failure = Failure::customer("AFNIC_LEGITIMACY_REQUIRED", "justify", t(2))
        .flag("legitimacyAfnic")
        .detail(Detail::new("missing", "required").field("legitimacyAfnic"));
    let fail = Command::Fail {
        token: Some(tk),
        failure: Box::new(failure),
    };
    go(&mut correcting, fail, system.clone(), t(2));

    let all = vec![done, stalled, escalated, waiting, cancelled, correcting];
    for logged in &all {
        logged.task.check_log(&logged.log).unwrap();
    }
    all
}

/// The rich tasks, made once.
static RICH: LazyLock<Vec<Logged>> = LazyLock::new(rich_tasks);

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

/// The record of `logged`, remembered with its log.
fn task_sample(logged: &Logged) -> Sample {
    let sample = sample("task", &logged.task);
    register(&sample.json, logged);
    sample
}

/// The log of `logged`, remembered with its record.
fn log_sample(logged: &Logged) -> Sample {
    let sample = sample("log", &logged.log);
    register(&sample.json, logged);
    sample
}

/// Valid JSON of every type a host reads, from the rich tasks, their
/// logs, their views, and the provider fixtures.
fn samples() -> Vec<Sample> {
    let logged = rich_tasks();
    let tasks: Vec<&Task<NamedKind>> = logged.iter().map(|logged| &logged.task).collect();
    let mut out = Vec::new();
    for (logged, task) in logged.iter().zip(&tasks) {
        out.push(task_sample(logged));
        out.push(log_sample(logged));
        let now = task.updated_at();
        out.push(sample("ovh task", &OvhTask::of(task, 42, &alice(), now)));
        out.push(sample("dyn task", &DynTask::of(task, 42)));
        out.push(sample("vcf task", &VcfTask::of(task, &alice(), now)));
        out.push(sample("cloudflare task", &CloudflareTask::of(task)));
    }
    let done = tasks[0];
    let views = tasks
        .iter()
        .map(|task| VcfTask::of(task, &bob(), t(0)))
        .collect();
    out.push(sample("vcf task list", &VcfTaskList::new(views)));
    for spec in done.kind().arguments() {
        if let Some(argument) = OvhArgument::of(done, &spec.key) {
            out.push(sample("ovh argument", &argument));
        }
        out.push(sample("argument spec", spec));
    }
    for event in logged.iter().flat_map(|logged| &logged.log) {
        out.push(sample("event", event));
        out.push(sample("command", &event.command));
        if let Command::Create(new) = &event.command {
            out.push(sample("new task", &**new));
        }
        if let Command::Fail { failure, .. } = &event.command {
            out.push(sample("failure", &**failure));
        }
    }
    if let Some(failure) = tasks[5].failure() {
        out.push(sample("failure", failure));
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
                "task" | "log" | "ovh task" | "dyn task" | "vcf task" | "cloudflare task" => None,
                _ => shape,
            };
            shape.is_none() || seen.insert((sample.name, shape))
        })
        .collect()
}

/// Whether a path leads inside a kind (its rules, its argument specs),
/// which a task, its log's creation and a new task all repeat and the
/// kind's own sample covers.
fn inside_a_kind(path: &[Seg]) -> bool {
    path.iter()
        .position(|seg| *seg == Seg::Key("kind".into()))
        .is_some_and(|i| i + 1 < path.len())
}

/// Provider JSON as printed.
const FIXTURES: [(&str, &str); 4] = [
    (
        "cloudflare fixture",
        include_str!("fixtures/cloudflare_task.json"),
    ),
    ("vcf fixture", include_str!("fixtures/vcf_task.json")),
    ("vcf list fixture", include_str!("fixtures/vcf_tasks.json")),
    (
        "vcf nested page fixture",
        include_str!("fixtures/vcf_page_nested.json"),
    ),
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
    "identity",
    "state",
    "heartbeats",
    "check_at",
    "note",
    "to_correct",
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

/// A starting task with its log: the common suite's, or one of a random
/// kind with random arguments.
fn any_task() -> impl Strategy<Value = Logged> {
    prop_oneof![
        common::start_task(),
        strategies::named_kind()
            .prop_flat_map(|kind| strategies::task_of(vec![kind]))
            .prop_map(Logged::new),
    ]
}

/// One command of a life, with the record it was applied to and its log.
#[derive(Clone, Debug)]
struct Moment {
    before: Logged,
    command: Command<NamedKind>,
    actor: Actor,
    now: DateTime<Utc>,
}

/// Lives `logged` through `steps`: the task and its log at the end, and
/// every command tried with the record it met.
fn live(mut logged: Logged, steps: &[strategies::Step]) -> (Logged, Vec<Moment>) {
    let mut now = logged.task.created_at();
    let mut moments = Vec::new();
    for step in steps {
        now += Duration::seconds(step.advance);
        let (command, actor) = step.resolve(&logged.task, now);
        moments.push(Moment {
            before: logged.clone(),
            command: command.clone(),
            actor: actor.clone(),
            now,
        });
        let _ = logged.apply(command, actor, now);
    }
    (logged, moments)
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
        slice!(Task<NamedKind>, Log, Command<NamedKind>, Event<NamedKind>, NewTask<NamedKind>,
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

    /// A random task, lived through random commands, its record and its
    /// log mutated on every path of their JSON: refused with a typed
    /// error (the record by reading or by `check_log`, the log by
    /// `replay`), or accepted only when it is consistent.
    #[test]
    fn tasks_and_logs_mutated_field_by_field_are_refused_or_consistent(
        task in any_task(),
        steps in proptest::collection::vec(step(), 0..16),
        seed in any::<u64>(),
        huge in proptest::collection::vec(any::<Index>(), 1..3),
        subtrees in proptest::collection::vec((any::<Index>(), json_value()), 0..3),
    ) {
        let (logged, _) = live(task, &steps);
        logged.task.check_log(&logged.log).unwrap();
        walk(&task_sample(&logged), seed, 1, &huge, &subtrees);
        walk(&log_sample(&logged), seed, 1, &huge, &subtrees);
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
        let (logged, _) = live(task, &steps);
        let task = &logged.task;
        let now = task.updated_at();
        let history = &logged.log;
        let mut samples = vec![
            sample("kind", task.kind()),
            sample("arguments", task.arguments()),
            sample("ovh task", &OvhTask::of(task, 7, &alice(), now)),
            sample("dyn task", &DynTask::of(task, 7)),
            sample("vcf task", &VcfTask::of(task, &alice(), now)),
            sample("cloudflare task", &CloudflareTask::of(task)),
        ];
        if let Some(failure) = task.failure() {
            samples.push(sample("failure", failure));
        }
        if let Some(lease) = task.lease() {
            samples.push(sample("lease", lease));
        }
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
            if let Some(argument) = OvhArgument::of(task, &spec.key) {
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
        let (logged, _) = live(task, &steps);
        let task = &logged.task;
        let now = task.updated_at();
        let documents = [
            task_sample(&logged),
            log_sample(&logged),
            sample("ovh task", &OvhTask::of(task, 1, &alice(), now)),
            sample("dyn task", &DynTask::of(task, 1)),
            sample("vcf task", &VcfTask::of(task, &alice(), now)),
            sample("cloudflare task", &CloudflareTask::of(task)),
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
    /// leaves as it was and an acceptance leaves readable and agreeing
    /// with its log and the event appended.
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
                let mut record = moment.before.task.clone();
                match record.apply(command, moment.actor.clone(), moment.now) {
                    Ok(event) => {
                        assert_arguments_fit(&record);
                        assert_loadable(&record);
                        assert_agrees(&record, &moment.before.log, event);
                    }
                    Err(_) => prop_assert_eq!(&record, &moment.before.task),
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
        let (logged, _) = live(task, &steps);
        exercise_task(&logged.task);
        at_the_edges(&logged.task, Some(&logged.log), true);
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
                (strategies::task_of(vec![kind]).prop_map(Logged::new), bad, good)
            }),
        steps in proptest::collection::vec(step(), 0..16),
    ) {
        let (logged, _) = live(task, &steps);
        let task = logged.task;
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
            if let Command::Create(new) = &logged.log[0].command {
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
/// (inside a kind only in the kind's own sample and the first task's and
/// log's); tasks and logs, which are checked against each other and
/// replayed, with one structural mutation per path, in turn: the
/// proptests try the others.
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
        // The first task and its log come first.
        let whole = matches!(sample.name, "task" | "log");
        for (i, path) in paths(&sample.json).iter().enumerate() {
            if inside_a_kind(path) && !(whole && n <= 1) && sample.name != "kind" {
                continue;
            }
            if whole {
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
    let task = &rich_tasks()[0].task;
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
            let snapshot = read.to_mirrored().unwrap();
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
    let json = serde_json::to_value(&done.task).unwrap();
    let log = serde_json::to_value(&done.log).unwrap();
    let event = log[0].clone();
    let command = event["command"].clone();
    let correction = done
        .log
        .iter()
        .find(|event| event.action() == Action::SetArgument)
        .map(|event| serde_json::to_value(event).unwrap())
        .unwrap();
    let mut cloudflare = serde_json::to_value(CloudflareTask::of(&done.task)).unwrap();
    // A link's properties hold any JSON.
    cloudflare["links"] = json!([{"href": "#www", "rel": "dns_record", "properties": {}}]);
    let positions: [(&str, &str, Value, Refusal); 7] = [
        (
            "/state/arguments/extra",
            "json",
            json,
            refusal::<Task<NamedKind>>,
        ),
        ("/0/command/arguments/extra", "json", log, refusal::<Log>),
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
        (
            "/links/0/properties",
            "extra",
            cloudflare.clone(),
            refusal::<CloudflareTask>,
        ),
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

/// A log nests an argument's JSON 5 levels down (the log, an event, its
/// command, arguments, the value) and a record 4 (state, arguments, the
/// value), under `serde_json`'s limit of 128: a JSON argument nested close
/// to the limit used to be accepted, stored, and then never read back.
/// Every depth `serde_json` reads, by `ArgumentSpec::parse`, creation,
/// correction and relaunch: accepted up to `MAX_JSON_DEPTH`, the record
/// and its log reading back; refused beyond, the record unchanged. And a value far deeper, built in memory, is refused
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
            Ok((task, created)) => {
                assert!(depth <= MAX_JSON_DEPTH);
                assert_loadable(&task);
                assert_log_loadable(&[created]);
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
        let mut logged = Logged::new(
            Task::create(
                NewTask::new(
                    id(2),
                    kind.clone(),
                    Owner::new("alice"),
                    ResourceRef::new("d", "x"),
                ),
                alice(),
                t(0),
            )
            .unwrap(),
        );
        let (run, started) = logged.task.start(t(60), None, t(1)).unwrap();
        logged.push(started);
        let failed = run
            .fail(
                &mut logged.task,
                Failure::customer("BAD", "bad", t(2)).flag("extra"),
                t(2),
            )
            .unwrap();
        logged.push(failed);
        let task = logged.task.clone();
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
                Ok(event) => {
                    assert!(depth <= MAX_JSON_DEPTH);
                    assert_loadable(&record);
                    let mut log = logged.log.clone();
                    log.extend(event);
                    assert_log_loadable(&log);
                    record.check_log(&log).unwrap();
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

/// A log whose creation `Task::create` would refuse is refused by replay,
/// under either mode, and the record by `check_log` against it: the
/// creator must be the owner if a customer, the owner and the resource
/// must be named, the subtasks declared in order. (The record holds no
/// creation: reading it checks its state, and `check_log` its identity.)
#[test]
fn a_log_whose_creation_create_refuses_is_not_replayed() {
    let logged = common::logged_of(NamedKind::new("DomainCreate"));
    let log = serde_json::to_value(&logged.log).unwrap();
    let cases: [(&str, Edit); 6] = [
        ("another customer creates", |r| {
            r[0]["actor"] = json!({"role": "customer", "owner": "mallory"});
        }),
        ("a customer of no name creates", |r| {
            r[0]["actor"]["owner"] = json!("");
        }),
        ("a resource of no kind", |r| {
            r[0]["command"]["resource"]["kind"] = json!("");
        }),
        ("a subtask its own parent", |r| {
            r[0]["command"]["subtasks"] = json!([{"name": "a", "parent": 0}]);
        }),
        ("a subtask of no name", |r| {
            r[0]["command"]["subtasks"] = json!([{"name": ""}]);
        }),
        ("a parent declared later", |r| {
            r[0]["command"]["subtasks"] = json!([{"name": "a"}, {"name": "b", "parent": 5}]);
        }),
    ];
    for (case, edit) in cases {
        let mut damaged = log.clone();
        edit(&mut damaged);
        let events: Log = serde_json::from_value(damaged.clone())
            .unwrap_or_else(|e| panic!("{case}: the events do not read: {e}"));
        let error = Task::replay(&events).expect_err(case);
        assert!(
            matches!(error, ReplayError::Illegal { version: 1, .. }),
            "{case}: {error}"
        );
        assert!(
            error.to_string().contains("event 1 is not a legal move"),
            "{case}: {error}"
        );
        assert!(
            matches!(
                Task::replay_with(&events, ReplayMode::AsRecorded),
                Err(ReplayError::Illegal { version: 1, .. })
            ),
            "{case}: replayed as recorded"
        );
        assert!(
            matches!(
                logged.task.check_log(&events),
                Err(ReplayError::Illegal { version: 1, .. })
            ),
            "{case}: the record checked against it"
        );
        events.exercise(&damaged, Some(&damaged));
    }
    // The same damage to the record's identity: read or refused, never
    // agreeing with its log.
    for (pointer, value) in [
        ("/identity/resource/kind", json!("")),
        ("/identity/owner", json!("")),
        ("/identity/owner", json!("mallory")),
    ] {
        let mut record = serde_json::to_value(&logged.task).unwrap();
        *record.pointer_mut(pointer).unwrap() = value;
        if let Ok(read) = serde_json::from_value::<Task<NamedKind>>(record) {
            assert!(
                matches!(
                    read.check_log(&logged.log),
                    Err(ReplayError::Diverged { .. })
                ),
                "{pointer}"
            );
        }
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
    // Subtask ids and parents, steps, tokens, versions and heartbeat
    // counts at their largest: a record refused when read or by its log,
    // and used in bounded time either way; a log refused by replay.
    for logged in rich_tasks() {
        let task = &logged.task;
        timed("extreme commands", &mut || {
            at_the_edges(task, Some(&logged.log), true)
        });
        let json = serde_json::to_value(task).unwrap();
        for (pointer, value) in [
            ("/state/version", json!(u64::MAX)),
            ("/state/runs", json!(u32::MAX)),
            ("/state/attempts", json!(u32::MAX)),
            ("/state/relaunches", json!(u32::MAX)),
            ("/state/lease/token", json!(u64::MAX)),
            ("/state/lease/heartbeats", json!(u32::MAX)),
            ("/state/subtasks/0/parent", json!(u32::MAX)),
            ("/state/subtasks/0/id", json!(u32::MAX)),
            ("/state/progress/step_count", json!(u32::MAX)),
            ("/state/progress/total_steps", json!(u32::MAX)),
        ] {
            let mut damaged = json.clone();
            if let Some(slot) = damaged.pointer_mut(pointer) {
                *slot = value;
                timed("a record with a huge number", &mut || {
                    if let Ok(read) = serde_json::from_value::<Task<NamedKind>>(damaged.clone()) {
                        assert!(read.check_log(&logged.log).is_err(), "{pointer}");
                        exercise_task(&read);
                        at_the_edges(&read, None, false);
                    }
                });
            }
        }
        let log = serde_json::to_value(&logged.log).unwrap();
        let last = logged.log.len() - 1;
        for (pointer, value) in [
            ("/0/version".to_owned(), json!(u64::MAX)),
            ("/1/version".to_owned(), json!(u64::MAX)),
            ("/1/heartbeats".to_owned(), json!(u32::MAX)),
            (format!("/{last}/version"), json!(u64::MAX)),
            (format!("/{last}/heartbeats"), json!(u32::MAX)),
        ] {
            let mut damaged = log.clone();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let Some(Value::Object(event)) = damaged.pointer_mut(parent) else {
                panic!("no event at {parent}");
            };
            event.insert(key.to_owned(), value);
            timed("a log with a huge number", &mut || {
                let events: Log = serde_json::from_value(damaged.clone()).unwrap();
                assert!(
                    matches!(Task::replay(&events), Err(ReplayError::VersionGap { .. })),
                    "{pointer}"
                );
                assert!(task.check_log(&events).is_err(), "{pointer}");
            });
        }
    }
    // Subtasks are stored at their ids' positions, a parent before its
    // children: the largest id and parent are refused when read (they
    // would be read as they are, and an index from them used), in
    // bounded time; the queries ask about the largest id.
    let out_of_place = json!([
        {"id": u32::MAX, "name": "a", "description": "", "parent": u32::MAX, "optional": false,
         "status": "running", "created_at": "2026-11-23T09:00:00Z", "started_at": null,
         "finished_at": null, "errors": []},
        {"id": 0, "name": "b", "description": "", "parent": 0, "optional": false,
         "status": "failed", "created_at": "2026-11-23T09:00:00Z", "started_at": null,
         "finished_at": null, "errors": []}
    ]);
    timed("subtasks out of place", &mut || {
        let error = serde_json::from_value::<Subtasks>(out_of_place.clone()).unwrap_err();
        assert!(
            error.to_string().contains("is stored at position 0"),
            "{error}"
        );
    });
    let mut parent_max = out_of_place.clone();
    parent_max[0]["id"] = json!(0);
    parent_max[1]["id"] = json!(1);
    timed("a parent beyond", &mut || {
        assert!(serde_json::from_value::<Subtasks>(parent_max.clone()).is_err());
    });
    parent_max[0]["parent"] = Value::Null;
    let subtasks: Subtasks = serde_json::from_value(parent_max).unwrap();
    timed("subtasks", &mut || subtasks.exercise(&Value::Null, None));
    let progress: Progress =
        serde_json::from_value(json!({"step_count": u32::MAX, "total_steps": u32::MAX})).unwrap();
    assert_eq!(progress.percent().whole(), 100);
    let mut dyn_view = serde_json::to_value(DynTask::of(&rich_tasks()[3].task, u64::MAX)).unwrap();
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
        let mut logged =
            Logged::new(Task::create(new, Actor::customer(name.clone()), t(0)).unwrap());
        go(
            &mut logged,
            Command::Cancel { reason: None },
            Actor::operator(name.clone()),
            t(1),
        );
        let timeline = Timeline::new(&logged.log).to_string();
        assert_eq!(timeline.matches(&name).count(), 3, "{length}");
        exercise_task(&logged.task);
        assert_loadable(&logged.task);
        assert_log_loadable(&logged.log);
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
    let (mut task, _) = Task::create(new_task(9, rich_kind()), alice(), t(0)).unwrap();
    let (run, _) = task.start(t(60), None, t(1)).unwrap();
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

// ---------------------------------------------------------------------
// Heartbeats and attempts the lifecycle never makes
// ---------------------------------------------------------------------

/// A record that counts as many attempts as runs while a run is still
/// going is one no life makes (the current run has not ended, so it
/// cannot have counted): reading refuses it, so that no command can turn
/// a record reading accepted into one reading refuses (its counted
/// failure would make more attempts than runs).
#[test]
fn attempts_as_many_as_runs_while_a_run_goes_on_are_refused_on_reading() {
    let mut task = common::pending();
    let (run, _) = task.start(t(60), None, t(1)).unwrap();
    let mut json = serde_json::to_value(&task).unwrap();
    assert_eq!(json["state"]["runs"], json!(1));
    json["state"]["attempts"] = json!(1);
    let read = serde_json::from_value::<Task<NamedKind>>(json);
    assert!(read.is_err(), "{read:?}");
    // The undamaged record fails its run, counts it, and reads back.
    run.fail(&mut task, common::provider_failure(t(2)), t(2))
        .unwrap();
    assert_eq!((task.runs(), task.attempts()), (1, 1));
    assert_loadable(&task);
}

/// A log that replays is one commands make: an event counts the
/// heartbeats since the one before it, and only a run's lease takes
/// heartbeats. A start of a pending task that claims two heartbeats
/// before it (its version 4 right after the creation's 1) is refused.
#[test]
fn replay_refuses_heartbeats_before_an_event_of_an_unleased_task() {
    let mut logged = common::logged_of(NamedKind::new("DomainCreate"));
    let (_run, mut started) = logged.task.start(t(60), None, t(1)).unwrap();
    started.heartbeats = 2;
    started.version = 4;
    logged.push(started);
    let replayed = Task::replay(&logged.log);
    assert!(
        matches!(replayed, Err(ReplayError::VersionGap { .. })),
        "{replayed:?}"
    );
}

// ---------------------------------------------------------------------
// Misspelt keys and damaged logs
// ---------------------------------------------------------------------

/// The spellings of `key` a typo gives: a plural made singular or a
/// singular plural, and a capital first letter.
fn misspellings(key: &str) -> Vec<String> {
    let toggled = match key.strip_suffix('s') {
        Some(singular) if !singular.is_empty() => singular.to_owned(),
        _ => format!("{key}s"),
    };
    let mut capital = key.to_owned();
    if let Some(first) = capital.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    vec![toggled, capital]
}

/// Whether the last key of `path` is data rather than a field's name: an
/// argument's key, a replaced value's key, or anything inside a JSON
/// argument.
fn is_free_key(path: &[Seg]) -> bool {
    let free_map =
        |seg: &Seg| matches!(seg, Seg::Key(key) if key == "arguments" || key == "previous");
    let in_json = path[..path.len() - 1]
        .iter()
        .any(|seg| *seg == Seg::Key("json".into()));
    let under_map = path.len() >= 2 && free_map(&path[path.len() - 2]);
    in_json || under_map
}

/// A misspelt key anywhere in what the crate stores is refused, not
/// ignored (and its field taken at its default): every key of every
/// object of every sample of a task and its log, an event, a command, a
/// new task, a failure, a kind, its rules, an argument spec, subtasks,
/// progress and a lease, made singular or plural or capitalised, by
/// `from_str` and `from_value`. Among them `field` for `fields` in the
/// failure a failed task's state holds, and `fields` for a detail's
/// `field`.
#[test]
fn a_misspelt_key_anywhere_is_refused() {
    let stored = [
        "task",
        "log",
        "event",
        "command",
        "new task",
        "failure",
        "kind",
        "rules",
        "argument spec",
        "subtasks",
        "progress",
        "lease",
        "arguments",
    ];
    let mut renamed = 0;
    for sample in samples()
        .into_iter()
        .filter(|sample| stored.contains(&sample.name))
    {
        for path in paths(&sample.json) {
            let Some((Seg::Key(key), parent)) = path.split_last() else {
                continue;
            };
            if is_free_key(&path) || (sample.name == "arguments" && path.len() == 1) {
                continue;
            }
            for misspelt in misspellings(key) {
                let mut document = sample.json.clone();
                let Some(Value::Object(map)) = at_mut(&mut document, parent) else {
                    panic!("no object at {parent:?}");
                };
                if map.contains_key(&misspelt) {
                    continue;
                }
                let value = map.remove(key).unwrap();
                map.insert(misspelt.clone(), value);
                let text = serde_json::to_string(&document).unwrap();
                assert!(
                    !(sample.accepts)(&text) && !(sample.accepts_value)(document),
                    "{}: {key} spelt {misspelt} at {path:?} was read",
                    sample.name
                );
                renamed += 1;
            }
        }
    }
    assert!(renamed > 1000, "only {renamed} keys renamed");
    // The failed task's state, by name.
    let correcting = &RICH[5].task;
    assert_eq!(correcting.fields_to_correct(), ["legitimacyAfnic"]);
    let json = serde_json::to_value(correcting).unwrap();
    for (parent, key, misspelt) in [
        ("/state/failure", "fields", "field"),
        ("/state/failure/details/0", "field", "fields"),
        ("/state", "to_correct", "to_corect"),
        ("/state", "follow_up", "followup"),
        ("/identity", "resource", "ressource"),
        ("", "state", "State"),
    ] {
        let mut document = json.clone();
        let Some(Value::Object(map)) = document.pointer_mut(parent) else {
            panic!("no object at {parent}");
        };
        let value = map.remove(key).unwrap();
        map.insert(misspelt.to_owned(), value);
        let error = serde_json::from_value::<Task<NamedKind>>(document.clone()).unwrap_err();
        let text = serde_json::to_string(&document).unwrap();
        assert!(
            serde_json::from_str::<Task<NamedKind>>(&text).is_err(),
            "{parent}/{misspelt}"
        );
        assert!(
            error.to_string().contains("unknown field")
                || error.to_string().contains("missing field"),
            "{parent}/{misspelt}: {error}"
        );
    }
}

/// A log damaged the ways a store or a hand could damage it is refused by
/// replay, which names the damage, and the record it belongs to by
/// `check_log`: empty, not starting with the creation, an event dropped,
/// repeated or moved, a second creation, a heartbeat logged, a `from` or
/// a `to` the table does not give, a move the task refuses (a time
/// before the lease ran out, a party the table does not allow, an
/// argument beyond its spec), a failure's follow-up or origin or a
/// correction's replaced values other than the rules decide.
#[test]
fn damaged_logs_are_refused_and_the_damage_named() {
    let done = &RICH[0];
    let log = &done.log;
    let at = |action: Action| {
        log.iter()
            .position(|event| event.action() == action)
            .unwrap()
    };
    let (start, fail, set) = (at(Action::Start), at(Action::Fail), at(Action::SetArgument));
    type Damage = Box<dyn Fn(&mut Log)>;
    type Named = fn(&ReplayError) -> bool;
    let version_gap = |e: &ReplayError| matches!(e, ReplayError::VersionGap { .. });
    let illegal = |e: &ReplayError| matches!(e, ReplayError::Illegal { .. });
    let undecided = |e: &ReplayError| matches!(e, ReplayError::Undecided { .. });
    let inconsistent = |e: &ReplayError| matches!(e, ReplayError::Inconsistent { .. });
    let cases: Vec<(&str, Damage, Named)> = vec![
        ("empty", Box::new(|l| l.clear()), |e| {
            *e == ReplayError::Empty
        }),
        (
            "not created first",
            Box::new(|l| {
                l.remove(0);
            }),
            |e| matches!(e, ReplayError::NotCreatedFirst { .. }),
        ),
        (
            "an event dropped",
            Box::new(|l| {
                l.remove(3);
            }),
            version_gap,
        ),
        (
            "an event repeated",
            Box::new(|l| {
                let again = l[3].clone();
                l.insert(3, again);
            }),
            version_gap,
        ),
        (
            "two events swapped",
            Box::new(|l| l.swap(3, 4)),
            version_gap,
        ),
        (
            "created twice",
            Box::new(|l| {
                let mut again = l[0].clone();
                again.version = l.last().unwrap().version + 1;
                again.from = Some(Status::Done);
                l.push(again);
            }),
            |e| matches!(e, ReplayError::CreatedTwice { .. }),
        ),
        (
            "a heartbeat logged",
            Box::new(move |l| {
                let started = l[start].clone();
                let heartbeat = Event {
                    version: started.version + 1,
                    heartbeats: 0,
                    at: started.at,
                    actor: Actor::System,
                    from: Some(Status::Running),
                    to: Status::Running,
                    command: Command::Heartbeat {
                        token: started.lease_token().expect("a start"),
                        lease_until: t(150),
                        progress: None,
                        check_at: None,
                    },
                    effect: None,
                };
                l.truncate(start + 1);
                l.push(heartbeat);
            }),
            |e| matches!(e, ReplayError::Heartbeat { .. }),
        ),
        (
            "a from the task was not in",
            Box::new(|l| l[1].from = Some(Status::Running)),
            inconsistent,
        ),
        (
            "a to the table does not give",
            Box::new(|l| l[1].to = Status::Done),
            inconsistent,
        ),
        (
            "an actor the table does not allow",
            Box::new(move |l| l[start].actor = alice()),
            illegal,
        ),
        (
            "a start before its todo time",
            Box::new(|l| {
                l.remove(1);
                for event in &mut l[1..] {
                    event.version -= 1;
                }
            }),
            |e| {
                matches!(
                    e,
                    ReplayError::Illegal {
                        rejection: Rejection::NotDue { .. },
                        ..
                    }
                )
            },
        ),
        (
            "an argument beyond its spec",
            Box::new(|l| {
                if let Command::Create(new) = &mut l[0].command {
                    std::sync::Arc::make_mut(new)
                        .arguments
                        .insert("duration".into(), ArgumentValue::Integer(99));
                }
            }),
            |e| {
                matches!(
                    e,
                    ReplayError::Illegal {
                        version: 1,
                        rejection: Rejection::InvalidArgument(_)
                    }
                )
            },
        ),
        (
            "a follow-up the rules do not give",
            Box::new(move |l| {
                l[fail].effect = Some(Box::new(Decision::Failed {
                    follow_up: FollowUp::Final,
                    counted: true,
                    notice: None,
                }));
            }),
            undecided,
        ),
        (
            "a run counted that the rules do not count",
            Box::new(move |l| {
                l[fail].effect = Some(Box::new(Decision::Failed {
                    follow_up: FollowUp::AwaitCorrection,
                    counted: false,
                    notice: None,
                }));
            }),
            undecided,
        ),
        (
            "no follow-up recorded",
            Box::new(move |l| l[fail].effect = None),
            undecided,
        ),
        (
            "replaced values that were not the values",
            Box::new(move |l| {
                l[set].effect = Some(Box::new(Decision::Replaced {
                    previous: [("legitimacyAfnic".to_owned(), Some(ArgumentValue::from("x")))]
                        .into(),
                }));
            }),
            undecided,
        ),
        (
            "a correction flagged a field that cannot be",
            Box::new(move |l| {
                if let Command::Fail { failure, .. } = &mut l[fail].command {
                    failure.fields.push("domain".into());
                }
            }),
            illegal,
        ),
    ];
    for (case, damage, named) in cases {
        let mut damaged = log.clone();
        damage(&mut damaged);
        let error = Task::replay(&damaged).expect_err(case);
        assert!(named(&error), "{case}: {error:?}");
        assert!(done.task.check_log(&damaged).is_err(), "{case}: checked");
        damaged.exercise(&Value::Null, None);
    }
    // Under the rules as recorded, a value beyond the spec of its day is
    // taken (the spec may have changed since), and nothing else above.
    let mut beyond = log.clone();
    if let Command::Create(new) = &mut beyond[0].command {
        std::sync::Arc::make_mut(new)
            .arguments
            .insert("duration".into(), ArgumentValue::Integer(99));
    }
    assert!(Task::replay_with(&beyond, ReplayMode::AsRecorded).is_ok());
    // A failure recorded with the origin its code's rule overrides.
    let mut logged = created(new_task(8, rich_kind()), alice());
    let tk = token_of(go(
        &mut logged,
        Command::Start {
            lease_until: t(60),
            worker: None,
        },
        Actor::System,
        t(1),
    ));
    let fail = Command::Fail {
        token: Some(tk),
        failure: Box::new(Failure::provider("AUTH_INVALID", "the credentials", t(2))),
    };
    let failed = go(&mut logged, fail, Actor::System, t(2)).unwrap();
    let Command::Fail { failure, .. } = &failed.command else {
        panic!("a fail event");
    };
    assert_eq!(failure.origin, Origin::Customer, "classified by its code");
    logged.task.check_log(&logged.log).unwrap();
    let mut damaged = logged.log.clone();
    if let Some(Event {
        command: Command::Fail { failure, .. },
        ..
    }) = damaged.last_mut()
    {
        failure.origin = Origin::Provider;
    }
    assert!(
        matches!(
            Task::replay(&damaged),
            Err(ReplayError::Misclassified {
                recorded: Origin::Provider,
                decided: Origin::Customer,
                ..
            })
        ),
        "{:?}",
        Task::replay(&damaged)
    );
    assert!(logged.task.check_log(&damaged).is_err());
}

/// A key no type of the crate has, added to every object of every sample
/// of what the crate stores (as in [`a_misspelt_key_anywhere_is_refused`]),
/// is refused by `from_str` and `from_value`.
#[test]
fn an_unknown_key_anywhere_is_refused() {
    let stored = [
        "task",
        "log",
        "event",
        "command",
        "new task",
        "failure",
        "kind",
        "rules",
        "argument spec",
        "subtasks",
        "progress",
        "lease",
    ];
    let mut added = 0;
    for sample in samples()
        .into_iter()
        .filter(|sample| stored.contains(&sample.name))
    {
        let objects = std::iter::once(Vec::new()).chain(paths(&sample.json));
        for path in objects {
            let Some(Value::Object(_)) = at(&sample.json, &path) else {
                continue;
            };
            let map_of_data = path.last().is_some_and(
                |seg| matches!(seg, Seg::Key(key) if key == "arguments" || key == "previous"),
            );
            let in_json = path.iter().any(|seg| *seg == Seg::Key("json".into()));
            if map_of_data || in_json {
                continue;
            }
            let mut document = sample.json.clone();
            let Some(Value::Object(map)) = at_mut(&mut document, &path) else {
                unreachable!();
            };
            map.insert("unknown_key".into(), json!(1));
            let text = serde_json::to_string(&document).unwrap();
            assert!(
                !(sample.accepts)(&text) && !(sample.accepts_value)(document),
                "{}: an unknown key at {path:?} was read",
                sample.name
            );
            added += 1;
        }
    }
    assert!(added > 500, "only {added} objects given a key");
}

/// Unknown keys beside a unit variant of an internally tagged enum are
/// refused: a command that takes no data, a follow-up without a time, the
/// system actor, a subtask change without errors, an argument type
/// without bounds. They are not: `serde` reads `{"action":"retry","x":1}`
/// as `Retry`, `{"next":"final","x":1}` as `Final`,
/// `{"role":"system","owner":"x"}` as `System`,
/// `{"change":"start","errors":[]}` as `Start`, `{"type":"email","x":1}` as
/// `Email`, whatever `deny_unknown_fields` says; and so an argument spec
/// of such a type takes a misspelt `read_only`, `required` or
/// `description` as unknown and drops it: `{"key":"e","type":"email",
/// "readonly":true}` is read as an editable argument, and a task whose
/// kind declares it so is read with it editable.
#[test]
fn unknown_keys_beside_a_unit_variant_are_refused() {
    let mut accepted = Vec::new();
    let mut read_anyway = |what: &str, read: bool| {
        if read {
            accepted.push(what.to_owned());
        }
    };
    for text in [
        r#"{"action":"retry","x":1}"#,
        r#"{"action":"accelerate","token":2}"#,
        r#"{"action":"mark_stalled","x":1}"#,
        r#"{"action":"resolve","x":1}"#,
    ] {
        read_anyway(
            text,
            serde_json::from_str::<Command<NamedKind>>(text).is_ok(),
        );
    }
    for text in [
        r#"{"next":"final","at":"2026-11-23T09:00:00Z"}"#,
        r#"{"next":"escalated","x":1}"#,
        r#"{"next":"await_correction","x":1}"#,
    ] {
        read_anyway(text, serde_json::from_str::<FollowUp>(text).is_ok());
    }
    let text = r#"{"role":"system","owner":"mallory"}"#;
    read_anyway(text, serde_json::from_str::<Actor>(text).is_ok());
    for text in [
        r#"{"change":"start","errors":[]}"#,
        r#"{"change":"skip","x":1}"#,
    ] {
        read_anyway(text, serde_json::from_str::<SubtaskChange>(text).is_ok());
    }
    for text in [r#"{"type":"email","x":1}"#, r#"{"type":"boolean","min":1}"#] {
        read_anyway(text, serde_json::from_str::<ArgumentType>(text).is_ok());
    }
    for text in [
        r#"{"key":"e","type":"email","readonly":true}"#,
        r#"{"key":"e","type":"date","Required":true}"#,
        r#"{"key":"e","type":"json","descriptions":"x"}"#,
    ] {
        read_anyway(text, serde_json::from_str::<ArgumentSpec>(text).is_ok());
    }
    // In a stored record: the kind's email argument, read-only, with the
    // key misspelt.
    let kind = NamedKind::new("DomainCreate")
        .argument(ArgumentSpec::new("contactEmail", ArgumentType::Email).read_only());
    let task = common::task_of(kind);
    let mut json = serde_json::to_value(&task).unwrap();
    let spec = &mut json["identity"]["kind"]["arguments"][0];
    let read_only = spec.as_object_mut().unwrap().remove("read_only").unwrap();
    spec["readonly"] = read_only;
    if let Ok(read) = serde_json::from_value::<Task<NamedKind>>(json) {
        assert!(!read.kind().arguments[0].read_only);
        read_anyway("a task whose kind misspells read_only", true);
    }
    assert!(accepted.is_empty(), "read: {accepted:#?}");
}
