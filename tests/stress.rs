#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Concurrency stress on the stores: 8 threads, each with its own
//! deterministic random source (xorshift), claim, heartbeat, wait, resume,
//! complete, fail (provider and customer failures), acknowledge cancels,
//! abandon runs (a crashed executor), mark expired leases stalled and
//! requeue, retry due failures, relaunch, correct, accelerate, cancel,
//! resolve and insert new tasks, every write a `get` → `apply` →
//! `save(task, version_read, events)` retried on [`StoreError::Conflict`]
//! (the events the command returned; none for a heartbeat). Time is
//! a shared logical clock (an `AtomicI64` of seconds), not the wall clock.
//! The same driver runs on the `MemoryStore` and on the SQLite store of
//! `taskstate-sqlite` (two connections to one file, four threads on
//! each, so both SQLite's locking between connections and each store's
//! mutex are in play). Four kinds: provider failures retried by the
//! system, customer failures corrected and relaunched (with running work
//! cancellable by request), a blocking kind and a plain one sharing a few
//! zones; four owners.
//!
//! What is checked:
//!
//! - **no task held by two executors at once**: a tracker follows every
//!   run (task id, lease token) from the claim that returned it until a
//!   save ends it (`complete`, `fail`, `acknowledge_cancel`,
//!   `mark_stalled`, then `requeue` or a staff `fail`/`cancel` of the
//!   stalled task); a save that ends a run holds the tracker's lock across
//!   the store call, so the tracker never lags the store. A claim must
//!   never return a token already handed out, nor a task whose earlier
//!   run no save has ended (the lease deadline is advisory until
//!   `mark_stalled` is saved), nor a task on a resource where a blocking
//!   task is in progress (or a blocking one where any task is). An
//!   executor that finds its run gone must find it ended in the tracker,
//!   and no run ends twice.
//! - **no event lost or duplicated**: every writer logs each successful
//!   write (claim, save, insert): the version it wrote and the events it
//!   appended (a claim, whose store logs the start itself, logs the start
//!   it asked for). At the end, every version of every task was written by
//!   exactly one writer, the writes reach exactly `1..=version`, and every
//!   event of the store's log was written by exactly one writer, equal to
//!   what it wrote, and no written event is missing from it.
//! - **records agree with their logs**: the store keeps each task's log;
//!   the event versions follow one another (each one more than the
//!   previous plus the heartbeats it counts), `check_log` of the log
//!   `store.log(..)` pages out against `store.get(..)` passes, a record
//!   no lease holds any more equals `Task::replay(log)`, a sample makes a
//!   JSON round trip, every connection reads the same record and the same
//!   log, and the tracker's runs are exactly the log's `start`s, each in
//!   the phase the status says.
//! - **the store's indexes agree with the records**: listings (all, and
//!   by status), the sweeps of expired leases, due retries and stalled
//!   tasks during the run and at the final time, and nothing unreadable;
//!   a customer neither reads nor lists another owner's task.
//!
//! Each run is bounded by a count of operations per thread and by a wall
//! clock, so the file finishes well under a minute in a debug build;
//! `STRESS_SCALE=n` multiplies both, and `STRESS_VERBOSE=1` (with
//! `--nocapture`) prints what each run did. Two deliberately broken stores
//! (one hands a claimed task out again, one saves without
//! compare-and-swap, the last writer winning the record and each version
//! of the log) and a unit test of the tracker show that the checks fail
//! when they should.

use taskstate_sqlite as store;

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::{Duration as WallDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use taskstate::store::{
    ClaimRequest, Claimed, Claims, Filter, MemoryStore, Page, PageRequest, Scope, StoreError,
    Sweep, Swept, TaskStore,
};
use taskstate::{
    Action, Actor, ArgumentSpec, Arguments, CancelRules, Command, Event, Failure, IdGenerator,
    Lease, LeaseToken, NamedKind, NewTask, Outcome, Owner, RelaunchRules, ResourceRef, RetryPolicy,
    Rules, Status, StatusSet, Task, TaskId,
};

use common::t;
use store::{SqliteStore, remove_files, temp_path};

type K = NamedKind;

// ---------------------------------------------------------------------
// Setup: random source, kinds, tasks
// ---------------------------------------------------------------------

/// xorshift64: a deterministic random source per thread, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Spread small seeds; never zero.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn seconds(&mut self, from: i64, span: usize) -> Duration {
        Duration::seconds(from + self.below(span) as i64)
    }
}

const OWNERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// The zones the blocking kind and the record kind share.
const ZONES: usize = 8;
const AUTH_CODE: &str = "authCode";
/// How many times a write is re-applied on a fresh copy after a conflict.
const CAS_ATTEMPTS: usize = 32;

/// Provider failures retried by the system on a short schedule, then
/// escalated.
fn retried_kind() -> NamedKind {
    let retry = RetryPolicy::STANDARD
        .initial_delay_secs(5)
        .max_delay_secs(60)
        .max_attempts(4);
    NamedKind::with_rules("DomainCreate", Rules::new().retry(retry))
}

/// Customer failures flag an argument; the customer corrects and
/// relaunches (at most 3 times), and may cancel running work by request.
fn relaunchable_kind() -> NamedKind {
    let rules = Rules::new()
        .cancel(CancelRules::STANDARD.with_running())
        .relaunch(RelaunchRules::STANDARD.max(3));
    NamedKind::with_rules("DomainTrade", rules).argument(ArgumentSpec::text(AUTH_CODE, 6, 32))
}

/// Blocks its zone while in progress; cancellable only while pending.
fn blocking_kind() -> NamedKind {
    NamedKind::with_rules(
        "ZonePublish",
        Rules::new()
            .blocking(true)
            .cancel(CancelRules::PENDING_ONLY),
    )
}

/// Standard rules, on the same zones as the blocking kind.
fn record_kind() -> NamedKind {
    NamedKind::new("ZoneRecord")
}

/// The owner of task number `n`.
fn owner_of(n: usize) -> &'static str {
    OWNERS[(n / 3) % OWNERS.len()]
}

/// Task number `n` and its creation event: its kind, owner and resource
/// follow from `n`.
fn new_task(
    n: usize,
    id: TaskId,
    now: DateTime<Utc>,
    todo_at: Option<DateTime<Utc>>,
) -> (Task<K>, Event<K>) {
    let owner = owner_of(n);
    // Each zone gets blocking and record tasks alike.
    let zone = ResourceRef::new("zone", format!("z{}.example", (n / 4) % ZONES));
    let (kind, resource) = match n % 4 {
        0 => (
            retried_kind(),
            ResourceRef::new("domain", format!("d{n}.fr")),
        ),
        1 => (
            relaunchable_kind(),
            ResourceRef::new("domain", format!("d{n}.fr")),
        ),
        2 => (blocking_kind(), zone),
        _ => (record_kind(), zone),
    };
    let mut new = NewTask::new(id, kind, Owner::new(owner), resource);
    if let Some(at) = todo_at {
        new = new.todo_at(at);
    }
    let actor = if n.is_multiple_of(3) {
        Actor::System
    } else {
        Actor::customer(owner)
    };
    Task::create(new, actor, now).unwrap()
}

/// The token of the latest run in `log` up to version `upto`: the one its
/// latest `start` issued (0 if it never started). A stalled task keeps no
/// lease, and a lease does not show its token, so this reads the log.
fn current_run(log: &[Event<K>], upto: u64) -> u64 {
    log.iter()
        .rev()
        .filter(|event| event.version <= upto)
        .find_map(Event::lease_token)
        .map_or(0, LeaseToken::get)
}

/// The whole log of task `id` as `store` keeps it.
fn whole_log<S: TaskStore<K> + ?Sized>(store: &S, id: TaskId) -> Result<Vec<Event<K>>, StoreError> {
    store.log(&Scope::Staff, id, 0, usize::MAX)
}

/// Whether `token`'s run still holds `task`.
fn holds(task: &Task<K>, token: LeaseToken) -> bool {
    task.status().is_leased() && task.lease().is_some_and(|lease| lease.is_held_by(token))
}

// ---------------------------------------------------------------------
// The run tracker
// ---------------------------------------------------------------------

/// Where a run stands, as the tracker saw the saves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Running or waiting: an executor holds the task.
    Held,
    /// Marked stalled: nobody holds it, but it is still in progress (it
    /// blocks its resource).
    Stalled,
    /// Ended: the task left its run's progress.
    Over,
}

impl Phase {
    fn of(status: Status) -> Phase {
        match status {
            Status::Running | Status::Waiting => Phase::Held,
            Status::Stalled => Phase::Stalled,
            _ => Phase::Over,
        }
    }
}

#[derive(Debug)]
struct RunEntry {
    phase: Phase,
    /// The worker whose claim returned the run; `None` while the claim's
    /// registration is still on its way (a save may end a run before its
    /// claimer registers it).
    worker: Option<String>,
}

/// Every run of every task, from the claims and the saves that move them.
#[derive(Debug, Default)]
struct Tracker {
    runs: HashMap<TaskId, BTreeMap<u64, RunEntry>>,
    /// Each claimed task's resource and whether it blocks.
    tasks: HashMap<TaskId, (ResourceRef, bool)>,
    on_resource: HashMap<ResourceRef, BTreeSet<TaskId>>,
    violations: Vec<String>,
}

impl Tracker {
    fn violation(&mut self, message: String) {
        // Enough to diagnose; a broken store would otherwise report
        // thousands.
        if self.violations.len() < 200 {
            self.violations.push(message);
        }
    }

    /// A claim returned `task`'s run `token` to `worker`.
    fn claimed(&mut self, task: &Task<K>, token: u64, worker: &str) {
        let id = task.id();
        let resource = task.resource().clone();
        self.tasks
            .entry(id)
            .or_insert_with(|| (resource.clone(), task.is_blocking()));
        self.on_resource
            .entry(resource.clone())
            .or_default()
            .insert(id);
        let runs = self.runs.entry(id).or_default();
        let entry = runs.entry(token).or_insert(RunEntry {
            phase: Phase::Held,
            worker: None,
        });
        if let Some(first) = &entry.worker {
            let message =
                format!("task {id}: run {token} claimed by {first} and again by {worker}");
            self.violation(message);
            return;
        }
        entry.worker = Some(worker.to_owned());
        let phase = entry.phase;
        let mut found = Vec::new();
        if phase == Phase::Held {
            for (other, entry) in runs.iter() {
                if *other != token && entry.phase == Phase::Held {
                    found.push(format!(
                        "task {id} held by two executors at once: run {other} ({}) not ended \
                         when run {token} was handed to {worker}",
                        entry.worker.as_deref().unwrap_or("unregistered")
                    ));
                }
            }
        }
        if phase != Phase::Over {
            let blocking = task.is_blocking();
            for other in self.on_resource.get(&resource).into_iter().flatten() {
                let Some((_, other_blocking)) = self.tasks.get(other) else {
                    continue;
                };
                if *other == id || !(blocking || *other_blocking) {
                    continue;
                }
                let in_progress = self
                    .runs
                    .get(other)
                    .into_iter()
                    .flatten()
                    .find(|(_, e)| matches!(e.phase, Phase::Held | Phase::Stalled));
                if let Some((other_token, entry)) = in_progress {
                    found.push(format!(
                        "resource {resource:?}: task {id} (blocking: {blocking}) claimed by \
                         {worker} while task {other} (blocking: {other_blocking}) run \
                         {other_token} is {:?}",
                        entry.phase
                    ));
                }
            }
        }
        for message in found {
            self.violation(message);
        }
    }

    /// A save moved `id`'s run `token` to `to` (from another phase).
    fn moved(&mut self, id: TaskId, token: u64, to: Phase) {
        let entry = self
            .runs
            .entry(id)
            .or_default()
            .entry(token)
            .or_insert(RunEntry {
                phase: Phase::Held,
                worker: None,
            });
        let from = entry.phase;
        entry.phase = to;
        if !matches!((from, to), (Phase::Held, _) | (Phase::Stalled, Phase::Over)) {
            self.violation(format!(
                "task {id}: run {token} moved from {from:?} to {to:?}: it ended twice"
            ));
        }
    }

    /// `worker` found its run `token` of `id` gone: a save must have ended
    /// it.
    fn lost(&mut self, id: TaskId, token: u64, worker: &str) {
        let phase = self
            .runs
            .get(&id)
            .and_then(|runs| runs.get(&token))
            .map(|entry| entry.phase);
        if phase == Some(Phase::Held) {
            self.violation(format!(
                "task {id}: run {token} of {worker} is gone, but no save ended it"
            ));
        }
    }
}

// ---------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------

/// How big one stress run is.
#[derive(Clone, Debug)]
struct Config {
    threads: usize,
    ops_per_thread: usize,
    /// Tasks seeded before the threads start.
    tasks: usize,
    /// No more tasks than this are inserted during the run.
    max_tasks: usize,
    /// The wall-clock budget; threads stop when it runs out.
    wall: WallDuration,
    seed: u64,
}

/// What one run did and what it found wrong.
#[derive(Debug)]
struct Report {
    violations: Vec<String>,
    stats: BTreeMap<&'static str, u64>,
    tasks: usize,
    /// How long the threads ran, and the checks after them.
    ran: WallDuration,
    verified: WallDuration,
}

impl Report {
    fn count(&self, what: &str) -> u64 {
        self.stats.get(what).copied().unwrap_or(0)
    }

    fn assert_clean(&self) {
        // Silent unless asked: `STRESS_VERBOSE=1 cargo test --test stress
        // -- --nocapture` prints what each run did.
        if std::env::var_os("STRESS_VERBOSE").is_some() {
            eprintln!(
                "{} tasks, ran {:?}, verified {:?}: {:?}",
                self.tasks, self.ran, self.verified, self.stats
            );
        }
        assert!(
            self.violations.is_empty(),
            "{} violations:\n{}\nstats: {:?}",
            self.violations.len(),
            self.violations.join("\n"),
            self.stats
        );
        // The run exercised what it is meant to (a wall-clock stop on a
        // very slow machine would still leave plenty of each).
        for what in [
            "claim",
            "heartbeat",
            "complete",
            "fail",
            "stall",
            "requeue",
            "retry",
            "relaunch",
            "cancel",
            "cancel request",
            "acknowledge cancel",
            "conflict",
        ] {
            assert!(
                self.count(what) > 0,
                "no {what} in the run: {:?}",
                self.stats
            );
        }
    }

    fn has(&self, needle: &str) -> bool {
        self.violations.iter().any(|v| v.contains(needle))
    }
}

/// State all threads share.
struct Shared {
    clock: AtomicI64,
    tracker: Mutex<Tracker>,
    /// Every task inserted.
    ids: RwLock<Vec<TaskId>>,
    /// The tasks not known to have finished, with their owners: what
    /// customers and operators pick from.
    live: RwLock<Vec<(TaskId, &'static str)>>,
    next_task: AtomicUsize,
    max_tasks: usize,
    deadline: Instant,
}

impl Shared {
    fn tracker(&self) -> MutexGuard<'_, Tracker> {
        self.tracker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn violation(&self, message: String) {
        self.tracker().violation(message);
    }
}

/// The result of one write.
enum Wrote {
    /// Saved, with the event appended (none for a heartbeat).
    Saved(Task<K>, Option<Event<K>>),
    Refused(Task<K>),
    /// The task vanished, the store failed (a violation is recorded), or
    /// the save kept conflicting.
    Dropped,
}

/// A run this executor holds: the claim's token.
struct Held {
    id: TaskId,
    token: LeaseToken,
}

/// One successful write, as its writer saw it.
#[derive(Clone, Debug)]
struct Write {
    id: TaskId,
    /// The version the write stored.
    version: u64,
    /// What it did.
    action: Action,
    /// The events it appended (none for a heartbeat).
    events: Vec<Event<K>>,
}

/// One thread: an executor, a housekeeper, customers and operators.
struct Worker<'a, S> {
    shared: &'a Shared,
    store: &'a S,
    name: String,
    rng: Rng,
    ids: IdGenerator,
    runs: Vec<Held>,
    /// Every write of this thread that the store accepted.
    log: Vec<Write>,
    stats: BTreeMap<&'static str, u64>,
}

impl<'a, S: TaskStore<K>> Worker<'a, S> {
    fn bump(&mut self, what: &'static str) {
        *self.stats.entry(what).or_insert(0) += 1;
    }

    /// Advances the shared clock by 0 or 1 second and returns the time.
    fn tick(&mut self) -> DateTime<Utc> {
        let step = self.rng.below(2) as i64;
        t(self.shared.clock.fetch_add(step, Ordering::SeqCst) + step)
    }

    fn logged(&mut self, task: &Task<K>, action: Action, event: Option<&Event<K>>) {
        self.log.push(Write {
            id: task.id(),
            version: task.version(),
            action,
            events: event.into_iter().cloned().collect(),
        });
    }

    fn read(&mut self, scope: &Scope, id: TaskId) -> Option<Task<K>> {
        match self.store.get(scope, id) {
            Ok(Some(task)) => Some(task),
            Ok(None) => {
                self.shared
                    .violation(format!("task {id} not found in scope {scope:?}"));
                None
            }
            Err(error) => {
                self.shared.violation(format!("get {id}: {error}"));
                None
            }
        }
    }

    /// Applies the command `make` gives for the current copy of the task
    /// as `actor`, and saves it with compare-and-swap on the version read,
    /// re-reading and re-applying on a conflict. A save that ends a run
    /// (or moves it to stalled) holds the tracker's lock across the store
    /// call, so that a claim of the task's next run always finds the run
    /// ended.
    fn write(
        &mut self,
        mut task: Task<K>,
        actor: &Actor,
        now: DateTime<Utc>,
        mut make: impl FnMut(&Task<K>) -> Command<K>,
    ) -> Wrote {
        let id = task.id();
        for _ in 0..CAS_ATTEMPTS {
            let command = make(&task);
            let action = command.action();
            let read = task.version();
            let before = task.status();
            let event = match task.apply(command, actor.clone(), now) {
                Ok(event) => event,
                Err(_) => return Wrote::Refused(task),
            };
            let after = task.status();
            let result = if before.is_in_progress() && Phase::of(before) != Phase::of(after) {
                let mut tracker = self.shared.tracker();
                let result = self.store.save(&task, read, event.as_slice());
                if result.is_ok() {
                    // The run that ended is the latest started in the log
                    // as this write read it; events are never rewritten,
                    // so later appends do not change it.
                    match whole_log(self.store, id) {
                        Ok(log) => tracker.moved(id, current_run(&log, read), Phase::of(after)),
                        Err(error) => tracker.violation(format!("log {id}: {error}")),
                    }
                }
                result
            } else {
                self.store.save(&task, read, event.as_slice())
            };
            match result {
                Ok(()) => {
                    self.logged(&task, action, event.as_ref());
                    return Wrote::Saved(task, event);
                }
                Err(StoreError::Conflict { found, .. }) => {
                    self.bump("conflict");
                    if found <= read {
                        self.shared.violation(format!(
                            "task {id}: conflict at version {read} reports version {found}"
                        ));
                    }
                    match self.read(&Scope::Staff, id) {
                        Some(fresh) => task = fresh,
                        None => return Wrote::Dropped,
                    }
                }
                Err(error) => {
                    self.shared.violation(format!("save {id}: {error}"));
                    return Wrote::Dropped;
                }
            }
        }
        self.bump("gave up");
        Wrote::Dropped
    }

    fn step(&mut self) {
        let now = self.tick();
        match self.rng.below(100) {
            0..20 => self.claim(now),
            20..55 => self.execute(now),
            55..63 => self.housekeep(now),
            63..69 => self.retry(now),
            69..96 => self.people(now),
            _ => self.insert(now),
        }
    }

    /// Claims up to two due tasks under a lease.
    fn claim(&mut self, now: DateTime<Utc>) {
        if self.runs.len() >= 4 {
            return self.execute(now);
        }
        let limit = 1 + self.rng.below(2);
        let lease_until = now + self.rng.seconds(30, 60);
        let request = ClaimRequest::new(now, lease_until)
            .limit(limit)
            .worker(self.name.clone());
        let claimed = match self.store.claim(&request) {
            Ok(claims) if !claims.unreadable.is_empty() => {
                return self
                    .shared
                    .violation(format!("claim: unreadable {:?}", claims.unreadable));
            }
            Ok(claims) => claims.claimed,
            Err(error) => {
                return self.shared.violation(format!("claim: {error}"));
            }
        };
        if claimed.is_empty() {
            // The queue ran dry: a customer orders something new.
            return self.insert(now);
        }
        if claimed.len() > limit {
            self.shared.violation(format!(
                "claim returned {} tasks for a limit of {limit}",
                claimed.len()
            ));
        }
        for Claimed { task, run } in claimed {
            let token = run.token();
            self.bump("claim");
            // The store logs the start itself: this is the start the claim
            // asked for, which its log must hold, written by this claim
            // only.
            let started = Event {
                version: token.start_version(),
                heartbeats: 0,
                at: now,
                actor: Actor::System,
                from: Some(Status::Pending),
                to: Status::Running,
                command: Command::Start {
                    lease_until,
                    worker: Some(self.name.clone()),
                },
                effect: None,
            };
            self.logged(&task, Action::Start, Some(&started));
            let lease = task.lease();
            if task.status() != Status::Running
                || task.version() != token.start_version()
                || !lease.is_some_and(|lease| lease.is_held_by(token))
                || lease.and_then(Lease::worker) != Some(self.name.as_str())
                || lease.map(Lease::expires_at) != Some(lease_until)
                || run.task_id() != task.id()
            {
                self.shared.violation(format!(
                    "claim of {} by {}: returned {:?} at version {} with lease {lease:?} and \
                     token {token}",
                    task.id(),
                    self.name,
                    task.status(),
                    task.version()
                ));
            }
            self.shared
                .tracker()
                .claimed(&task, token.get(), &self.name);
            self.runs.push(Held {
                id: task.id(),
                token,
            });
        }
    }

    /// One executor move on one of the runs this thread holds.
    fn execute(&mut self, now: DateTime<Utc>) {
        if self.runs.is_empty() {
            return self.claim(now);
        }
        let index = self.rng.below(self.runs.len());
        let held = self.runs.swap_remove(index);
        let roll = self.rng.below(100);
        if roll < 4 {
            // The executor crashes: its lease runs out and a housekeeper
            // marks the task stalled.
            self.bump("abandon");
            return;
        }
        let Some(task) = self.read(&Scope::Staff, held.id) else {
            return;
        };
        let token = held.token;
        let lease_until = now + self.rng.seconds(30, 60);
        let make = |task: &Task<K>| {
            if task.cancel_requested_at().is_some() && !roll.is_multiple_of(3) {
                return Command::AcknowledgeCancel { token };
            }
            let paused = task.status() == Status::Waiting;
            let flag = task.kind().name == "DomainTrade";
            // Heartbeats only extend: never before the current deadline.
            let lease_until = task
                .lease()
                .map_or(lease_until, |lease| lease_until.max(lease.expires_at()));
            match roll {
                4..34 => Command::Heartbeat {
                    token,
                    lease_until,
                    progress: Some(format!("step {roll}")),
                    check_at: None,
                },
                34..44 if paused => Command::Resume { token, lease_until },
                34..44 => Command::Wait {
                    token,
                    until: lease_until,
                    check_at: None,
                    reason: Some("the registry answers later".into()),
                },
                44..70 => Command::Complete {
                    token,
                    outcome: Box::new(Outcome::new().message("done")),
                },
                70..88 => Command::Fail {
                    token: Some(token),
                    failure: Box::new(Failure::provider(
                        "REGISTRY_DOWN",
                        "the registry does not answer",
                        now,
                    )),
                },
                _ => {
                    let failure = Failure::customer("BAD_INPUT", "check your input", now);
                    Command::Fail {
                        token: Some(token),
                        failure: Box::new(if flag {
                            failure.flag(AUTH_CODE)
                        } else {
                            failure
                        }),
                    }
                }
            }
        };
        match self.write(task, &Actor::System, now, make) {
            Wrote::Saved(task, event) => {
                self.bump(match event.as_ref().map(Event::action) {
                    None => "heartbeat",
                    Some(Action::Wait) => "wait",
                    Some(Action::Resume) => "resume",
                    Some(Action::Complete) => "complete",
                    Some(Action::Fail) => "fail",
                    Some(Action::AcknowledgeCancel) => "acknowledge cancel",
                    _ => "other executor move",
                });
                if holds(&task, token) {
                    self.runs.push(held);
                }
            }
            Wrote::Refused(task) if holds(&task, token) => {
                self.bump("refused");
                self.runs.push(held);
            }
            Wrote::Refused(..) => {
                // Stalled (and maybe requeued and started again) by a
                // housekeeper: the lease is lost, and a save must have
                // ended the run.
                self.bump("lost lease");
                self.shared.tracker().lost(held.id, token.get(), &self.name);
            }
            Wrote::Dropped => {}
        }
    }

    /// Marks tasks whose lease ran out stalled, then requeues them (or
    /// fails or cancels them as staff).
    fn housekeep(&mut self, now: DateTime<Utc>) {
        let expired = match self.store.sweep(Sweep::ExpiredLeases, now, 3) {
            Ok(swept) if swept.unreadable.is_empty() => swept.tasks,
            Ok(swept) => {
                return self
                    .shared
                    .violation(format!("expired leases: unreadable {:?}", swept.unreadable));
            }
            Err(error) => return self.shared.violation(format!("expired leases: {error}")),
        };
        for task in expired {
            let lease = task.lease();
            if !task.status().is_leased() || lease.is_none_or(|lease| !lease.is_expired(now)) {
                self.shared.violation(format!(
                    "the sweep of expired leases at {now} returned task {} {:?} with lease \
                     {lease:?}",
                    task.id(),
                    task.status()
                ));
                continue;
            }
            let Wrote::Saved(task, _) =
                self.write(task, &Actor::System, now, |_| Command::MarkStalled)
            else {
                // Extended, finished or stalled by someone else meanwhile.
                continue;
            };
            self.bump("stall");
            let roll = self.rng.below(100);
            let delay = self.rng.seconds(0, 20);
            let operator = Actor::operator("ops");
            let (actor, command) = match roll {
                0..75 => (
                    Actor::System,
                    Command::Requeue {
                        todo_at: roll.is_multiple_of(2).then_some(now + delay),
                    },
                ),
                75..90 => (
                    operator,
                    Command::Fail {
                        token: None,
                        failure: Box::new(Failure::provider(
                            "EXECUTOR_LOST",
                            "the executor died",
                            now,
                        )),
                    },
                ),
                _ => (
                    operator,
                    Command::Cancel {
                        reason: Some("stalled too often".into()),
                    },
                ),
            };
            let action = command.action();
            match self.write(task, &actor, now, move |_| command.clone()) {
                Wrote::Saved(..) => self.bump(match action {
                    Action::Requeue => "requeue",
                    Action::Fail => "fail stalled",
                    _ => "cancel",
                }),
                // A cancel was requested before the run stalled: it cannot
                // be requeued, only cancelled or failed.
                Wrote::Refused(task) if task.status() == Status::Stalled => {
                    let cancel = Command::Cancel { reason: None };
                    if let Wrote::Saved(..) =
                        self.write(task, &Actor::System, now, move |_| cancel.clone())
                    {
                        self.bump("cancel");
                    }
                }
                _ => {}
            }
        }
    }

    /// Retries failed tasks whose retry time has come.
    fn retry(&mut self, now: DateTime<Utc>) {
        let due = match self.store.sweep(Sweep::RetriesDue, now, 3) {
            Ok(swept) if swept.unreadable.is_empty() => swept.tasks,
            Ok(swept) => {
                return self
                    .shared
                    .violation(format!("retries due: unreadable {:?}", swept.unreadable));
            }
            Err(error) => return self.shared.violation(format!("retries due: {error}")),
        };
        for task in due {
            if task.status() != Status::Failed || task.next_retry_at().is_none_or(|at| at > now) {
                self.shared.violation(format!(
                    "the sweep of due retries at {now} returned task {} {:?} retrying at {:?}",
                    task.id(),
                    task.status(),
                    task.next_retry_at()
                ));
                continue;
            }
            if let Wrote::Saved(..) = self.write(task, &Actor::System, now, |_| Command::Retry) {
                self.bump("retry");
            }
        }
    }

    /// A customer (the owner, or now and then a stranger) or an operator
    /// acts on a random task that has not finished.
    fn people(&mut self, now: DateTime<Utc>) {
        let (index, id, owner) = {
            let live = self.shared.live.read().unwrap_or_else(|p| p.into_inner());
            if live.is_empty() {
                return;
            }
            let mut index = self.rng.below(live.len());
            // Now and then a task this thread's executor holds, so that
            // running work meets cancels often enough.
            if !self.runs.is_empty() && self.rng.below(4) == 0 {
                let held = self.runs[self.rng.below(self.runs.len())].id;
                index = live.iter().position(|(id, _)| *id == held).unwrap_or(index);
            }
            let (id, owner) = live[index];
            (index, id, Owner::new(owner))
        };
        let roll = self.rng.below(100);
        if roll < 5 {
            // A stranger neither reads the task nor finds it in a listing.
            let stranger = Owner::new(
                OWNERS
                    .iter()
                    .find(|name| **name != owner.as_str())
                    .copied()
                    .unwrap_or("mallory"),
            );
            let scope = Scope::Owner(stranger.clone());
            let read = self.store.get(&scope, id);
            let listed = self.store.list(
                &scope,
                &Filter::new().owner(owner.clone()),
                PageRequest::first(10),
            );
            if !matches!(read, Ok(None)) || !listed.is_ok_and(|page| page.tasks.is_empty()) {
                self.shared.violation(format!(
                    "{stranger} reads or lists {owner}'s task {id}: {:?}",
                    read.map(|task| task.map(|task| task.status()))
                ));
            }
            self.bump("stranger");
            return;
        }
        let customer = roll < 75;
        let (actor, scope) = if customer {
            (Actor::customer(owner.as_str()), Scope::Owner(owner.clone()))
        } else {
            (Actor::operator("ops"), Scope::Staff)
        };
        let Some(task) = self.read(&scope, id) else {
            return;
        };
        if task.status().is_final() {
            // Nothing moves it any more: leave it out of later picks.
            let mut live = self.shared.live.write().unwrap_or_else(|p| p.into_inner());
            if live.get(index).is_some_and(|(other, _)| *other == id) {
                live.swap_remove(index);
            }
            return;
        }
        let code = format!("AUTH-{}", self.rng.below(100_000));
        let delay = self.rng.seconds(1, 60);
        let make = move |task: &Task<K>| match task.status() {
            Status::Pending if roll.is_multiple_of(2) => Command::Accelerate,
            Status::Pending if customer || roll.is_multiple_of(5) => Command::Cancel {
                reason: Some("no longer needed".into()),
            },
            Status::Pending => Command::Requeue {
                todo_at: Some(now + delay),
            },
            Status::Running | Status::Waiting => Command::Cancel {
                reason: Some("stop".into()),
            },
            Status::Failed if customer && !task.fields_to_correct().is_empty() => {
                if roll.is_multiple_of(3) {
                    Command::set_argument(AUTH_CODE, code.as_str())
                } else {
                    Command::Relaunch {
                        arguments: Arguments::from([(AUTH_CODE.to_owned(), code.as_str().into())]),
                    }
                }
            }
            Status::Failed if roll.is_multiple_of(5) => Command::Cancel {
                reason: Some("giving up".into()),
            },
            Status::Failed if !customer && roll % 5 == 1 => Command::Resolve,
            Status::Failed => Command::relaunch(),
            Status::Stalled if roll.is_multiple_of(3) => Command::Fail {
                token: None,
                failure: Box::new(Failure::provider("STALLED", "gave up", now)),
            },
            Status::Stalled if roll % 3 == 1 => Command::Cancel { reason: None },
            Status::Stalled => Command::Requeue { todo_at: None },
            Status::Done | Status::Cancelled => Command::Cancel { reason: None },
        };
        match self.write(task, &actor, now, make) {
            Wrote::Saved(_, event) => {
                let action = event.as_ref().map(Event::action);
                let to = event.as_ref().map(|event| event.to);
                self.bump(match (action, to) {
                    (Some(Action::Cancel), Some(Status::Cancelled)) => "cancel",
                    (Some(Action::Cancel), _) => "cancel request",
                    (Some(Action::Accelerate), _) => "accelerate",
                    (Some(Action::Relaunch), _) => "relaunch",
                    (Some(Action::SetArgument), _) => "correct",
                    (Some(Action::Resolve), _) => "resolve",
                    (Some(Action::Requeue), _) => "requeue",
                    (Some(Action::Fail), _) => "fail stalled",
                    _ => "other people's move",
                });
            }
            Wrote::Refused(..) => self.bump("refused"),
            Wrote::Dropped => {}
        }
    }

    /// Inserts a new task, now and then (the pool would otherwise run
    /// dry as tasks finish).
    fn insert(&mut self, now: DateTime<Utc>) {
        let n = self.shared.next_task.fetch_add(1, Ordering::SeqCst);
        if n >= self.shared.max_tasks {
            return self.people(now);
        }
        let todo_at = n.is_multiple_of(3).then(|| now + self.rng.seconds(0, 120));
        let (task, created) = new_task(n, self.ids.next_id(now), now, todo_at);
        let id = task.id();
        let write = Write {
            id,
            version: 1,
            action: Action::Create,
            events: vec![created.clone()],
        };
        match self.store.insert(task, created) {
            Ok(()) => {
                self.log.push(write);
                self.bump("insert");
                self.shared
                    .ids
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(id);
                self.shared
                    .live
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((id, owner_of(n)));
            }
            Err(error) => self.shared.violation(format!("insert {id}: {error}")),
        }
    }
}

/// Runs the stress on `stores` (thread `i` uses `stores[i % len]`, all on
/// the same data) and checks the result.
fn stress<S: TaskStore<K> + Sync>(stores: &[S], config: &Config) -> Report {
    let started = Instant::now();
    let mut ids = IdGenerator::seeded(config.seed);
    let mut rng = Rng::new(config.seed);
    let mut seed_log = Vec::new();
    let mut seeded = Vec::new();
    for n in 0..config.tasks {
        let todo_at = n.is_multiple_of(3).then(|| t(0) + rng.seconds(10, 600));
        let (task, created) = new_task(n, ids.next_id(t(0)), t(0), todo_at);
        seed_log.push(Write {
            id: task.id(),
            version: 1,
            action: Action::Create,
            events: vec![created.clone()],
        });
        seeded.push((task.id(), owner_of(n)));
        stores[n % stores.len()].insert(task, created).unwrap();
    }
    let shared = Shared {
        clock: AtomicI64::new(0),
        tracker: Mutex::new(Tracker::default()),
        ids: RwLock::new(seeded.iter().map(|(id, _)| *id).collect()),
        live: RwLock::new(seeded),
        next_task: AtomicUsize::new(config.tasks),
        max_tasks: config.max_tasks,
        deadline: started + config.wall,
    };
    let results: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..config.threads)
            .map(|i| {
                let shared = &shared;
                let store = &stores[i % stores.len()];
                let seed = config.seed ^ (i as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
                let ops = config.ops_per_thread;
                scope.spawn(move || {
                    let mut worker = Worker {
                        shared,
                        store,
                        name: format!("w{i}"),
                        rng: Rng::new(seed),
                        ids: IdGenerator::seeded(seed),
                        runs: Vec::new(),
                        log: Vec::new(),
                        stats: BTreeMap::new(),
                    };
                    for _ in 0..ops {
                        if Instant::now() >= shared.deadline {
                            worker.bump("stopped by the wall clock");
                            break;
                        }
                        worker.bump("op");
                        worker.step();
                    }
                    (worker.log, worker.stats)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });
    let mut stats = BTreeMap::new();
    let mut logs = vec![seed_log];
    for (log, worker_stats) in results {
        logs.push(log);
        for (what, n) in worker_stats {
            *stats.entry(what).or_insert(0) += n;
        }
    }
    let tasks = shared.ids.read().unwrap().len();
    let ran = started.elapsed();
    let violations = verify(stores, &shared, logs);
    Report {
        violations,
        stats,
        tasks,
        ran,
        verified: started.elapsed() - ran,
    }
}

// ---------------------------------------------------------------------
// The final checks
// ---------------------------------------------------------------------

/// Every page of a listing.
fn list_all<S: TaskStore<K>>(store: &S, filter: &Filter) -> Result<Vec<Task<K>>, StoreError> {
    let mut tasks = Vec::new();
    let mut page = PageRequest::first(97);
    loop {
        let Page {
            tasks: more,
            next,
            unreadable,
        } = store.list(&Scope::Staff, filter, page)?;
        if !unreadable.is_empty() {
            return Err(StoreError::backend(
                format!("unreadable records listed: {unreadable:?}"),
                false,
            ));
        }
        tasks.extend(more);
        match next {
            Some(cursor) => page = PageRequest::after(cursor, 97),
            None => return Ok(tasks),
        }
    }
}

fn verify<S: TaskStore<K>>(stores: &[S], shared: &Shared, logs: Vec<Vec<Write>>) -> Vec<String> {
    let mut tracker = shared.tracker();
    let mut violations = std::mem::take(&mut tracker.violations);
    let mut fail = |message: String| {
        if violations.len() < 400 {
            violations.push(message);
        }
    };
    let store = &stores[0];
    let now = t(shared.clock.load(Ordering::SeqCst));
    let ids: BTreeSet<TaskId> = shared.ids.read().unwrap().iter().copied().collect();

    // Every write's version and events, by task: two writers of one
    // version, or of one event, mean one of them was lost.
    let mut versions: HashMap<TaskId, BTreeMap<u64, Action>> = HashMap::new();
    let mut written: HashMap<TaskId, BTreeMap<u64, Event<K>>> = HashMap::new();
    for write in logs.into_iter().flatten() {
        let id = write.id;
        if let Some(first) = versions
            .entry(id)
            .or_default()
            .insert(write.version, write.action)
        {
            fail(format!(
                "task {id}: version {} written twice ({first} and {}): a write was lost",
                write.version, write.action
            ));
        }
        for event in write.events {
            let version = event.version;
            let action = event.action();
            if let Some(first) = written.entry(id).or_default().insert(version, event) {
                fail(format!(
                    "task {id}: event {version} written twice ({} and {action}): an event was lost",
                    first.action()
                ));
            }
        }
    }

    let listed = match list_all(store, &Filter::new()) {
        Ok(listed) => listed,
        Err(error) => return vec![format!("list: {error}")],
    };
    let listed_ids: BTreeSet<TaskId> = listed.iter().map(Task::id).collect();
    if listed_ids != ids {
        fail(format!(
            "the listing has {} tasks, {} were inserted; missing {:?}, unknown {:?}",
            listed_ids.len(),
            ids.len(),
            ids.difference(&listed_ids).collect::<Vec<_>>(),
            listed_ids.difference(&ids).collect::<Vec<_>>()
        ));
    }
    let listed: HashMap<TaskId, Task<K>> = listed.into_iter().map(|t| (t.id(), t)).collect();

    let mut by_status: BTreeMap<&str, BTreeSet<TaskId>> = BTreeMap::new();
    let mut expired = BTreeSet::new();
    let mut retry_due = BTreeSet::new();
    let mut stalled = BTreeSet::new();
    for (sample, &id) in ids.iter().enumerate() {
        let task = match store.get(&Scope::Staff, id) {
            Ok(Some(task)) => task,
            other => {
                fail(format!("task {id} does not read back: {other:?}"));
                continue;
            }
        };
        let log = match whole_log(store, id) {
            Ok(log) => log,
            Err(error) => {
                fail(format!("task {id}: the log does not read: {error}"));
                continue;
            }
        };
        let n = task.version();
        by_status
            .entry(task.status().as_str())
            .or_default()
            .insert(id);
        if task.status().is_leased() && task.lease().is_some_and(|l| l.is_expired(now)) {
            expired.insert(id);
        }
        if task.status() == Status::Failed && task.next_retry_at().is_some_and(|at| at <= now) {
            retry_due.insert(id);
        }
        if task.status() == Status::Stalled {
            stalled.insert(id);
        }

        // The record and its log.
        if listed.get(&id) != Some(&task) {
            fail(format!("task {id}: the listing and get disagree"));
        }
        for (i, other) in stores.iter().enumerate().skip(1) {
            if other.get(&Scope::Staff, id).ok().flatten().as_ref() != Some(&task) {
                fail(format!("task {id}: connection {i} reads another record"));
            }
            if whole_log(other, id).ok().as_ref() != Some(&log) {
                fail(format!("task {id}: connection {i} reads another log"));
            }
        }
        let mut previous = 0u64;
        for event in &log {
            if Some(event.version) != previous.checked_add(u64::from(event.heartbeats) + 1) {
                fail(format!(
                    "task {id}: event versions {:?}",
                    log.iter()
                        .map(|e| (e.version, e.heartbeats))
                        .collect::<Vec<_>>()
                ));
                break;
            }
            previous = event.version;
        }
        let heartbeats = task.lease().map_or(0, Lease::heartbeats);
        if previous + u64::from(heartbeats) != n {
            fail(format!(
                "task {id}: version {n}, but its log reaches {previous} and {heartbeats} \
                 heartbeats since"
            ));
        }
        if let Err(error) = task.check_log(&log) {
            fail(format!(
                "task {id}: the log does not rebuild the record: {error}"
            ));
        }
        // Once no lease holds the task, nothing of it is outside the log.
        if task.lease().is_none() {
            match Task::replay(&log) {
                Ok(replayed) if replayed == task => {}
                Ok(_) => fail(format!("task {id}: the replay differs from the record")),
                Err(error) => fail(format!("task {id}: the log does not replay: {error}")),
            }
        }
        // A JSON round trip checks the state's invariants; a sample.
        if sample % 8 == 0 {
            let json = serde_json::to_string(&task).unwrap();
            match serde_json::from_str::<Task<K>>(&json) {
                Ok(read) if read == task => {}
                other => fail(format!("task {id}: the JSON round trip gives {other:?}")),
            }
        }

        // Each version written by exactly one writer, up to the record's.
        let wrote = versions.remove(&id).unwrap_or_default();
        if let Some((&version, action)) = wrote.range(n + 1..).next() {
            fail(format!(
                "task {id}: {action} written at version {version} is lost (the task is at {n})"
            ));
        }
        let missing: Vec<u64> = (1..=n).filter(|v| !wrote.contains_key(v)).collect();
        if !missing.is_empty() {
            fail(format!(
                "task {id}: {} writes accepted, but version {n} records {} writes after its \
                 creation; no writer wrote versions {missing:?}",
                wrote.len().saturating_sub(1),
                n.saturating_sub(1)
            ));
        }
        // Each event of the log written by exactly one writer, as it wrote
        // it, and no written event missing from the log.
        let mut mine = written.remove(&id).unwrap_or_default();
        for event in &log {
            match mine.remove(&event.version) {
                Some(logged) if logged == *event => {}
                Some(logged) => fail(format!(
                    "task {id}: version {} is {} in the log, but its writer wrote {}",
                    event.version,
                    event.action(),
                    logged.action()
                )),
                None => fail(format!(
                    "task {id}: version {} ({}) has no writer",
                    event.version,
                    event.action()
                )),
            }
        }
        for (version, event) in mine {
            fail(format!(
                "task {id}: {} written at version {version} is lost (not in the log)",
                event.action()
            ));
        }

        // The tracker's runs are the log's starts, in the phase the status
        // says.
        let starts: BTreeSet<u64> = log
            .iter()
            .filter_map(Event::lease_token)
            .map(LeaseToken::get)
            .collect();
        let runs = tracker.runs.remove(&id).unwrap_or_default();
        let tracked: BTreeSet<u64> = runs.keys().copied().collect();
        if tracked != starts {
            fail(format!(
                "task {id}: the log starts runs {starts:?}, the claims returned {tracked:?}"
            ));
        }
        let last = current_run(&log, n);
        for (token, entry) in &runs {
            let expected = if *token == last {
                Phase::of(task.status())
            } else {
                Phase::Over
            };
            if entry.phase != expected || entry.worker.is_none() {
                fail(format!(
                    "task {id}: run {token} is {:?} (claimed by {:?}), the task is {:?} at run \
                     {last}",
                    entry.phase,
                    entry.worker,
                    task.status()
                ));
            }
        }
    }
    for (id, events) in written {
        fail(format!(
            "{} events written for task {id}, which is not stored",
            events.len()
        ));
    }
    for (id, writes) in versions {
        fail(format!(
            "{} writes for task {id}, which is not stored",
            writes.len()
        ));
    }
    for (id, _) in tracker.runs.drain() {
        fail(format!("runs claimed of task {id}, which is not stored"));
    }

    // The store's indexes agree with the records.
    for status in Status::ALL {
        let filter = Filter::new().statuses(StatusSet::of(&[status]));
        let found: BTreeSet<TaskId> = match list_all(store, &filter) {
            Ok(tasks) => tasks.iter().map(Task::id).collect(),
            Err(error) => {
                fail(format!("list {status:?}: {error}"));
                continue;
            }
        };
        let expected = by_status.remove(status.as_str()).unwrap_or_default();
        if found != expected {
            fail(format!(
                "listing {status:?} gives {} tasks, {} are {status:?}",
                found.len(),
                expected.len()
            ));
        }
    }
    for (sweep, expected) in [
        (Sweep::ExpiredLeases, &expired),
        (Sweep::RetriesDue, &retry_due),
        (Sweep::Stalled, &stalled),
    ] {
        match store.sweep(sweep, now, 1_000_000) {
            Ok(Swept { tasks, unreadable }) => {
                let found: BTreeSet<TaskId> = tasks.iter().map(Task::id).collect();
                if found != *expected || !unreadable.is_empty() {
                    fail(format!(
                        "the sweep {sweep:?} at {now} gives {found:?} and unreadable \
                         {unreadable:?}, expected {expected:?}"
                    ));
                }
            }
            Err(error) => fail(format!("the sweep {sweep:?} at {now}: {error}")),
        }
    }
    violations
}

// ---------------------------------------------------------------------
// The stores under test
// ---------------------------------------------------------------------

/// A database file, removed with SQLite's side files when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new(label: &str) -> TempDb {
        TempDb(temp_path(label))
    }

    fn open(&self) -> SqliteStore<K> {
        SqliteStore::open(&self.0).unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_files(&self.0).unwrap();
    }
}

/// `STRESS_SCALE=n` multiplies the operations per thread and the wall
/// budget (default 1): `STRESS_SCALE=20 cargo test --release --test
/// stress` runs a long stress.
fn scale() -> usize {
    std::env::var("STRESS_SCALE")
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|scale| *scale > 0)
        .unwrap_or(1)
}

fn config(ops_per_thread: usize, tasks: usize, wall_secs: u64, seed: u64) -> Config {
    Config {
        threads: 8,
        ops_per_thread: ops_per_thread * scale(),
        tasks,
        max_tasks: tasks * 20,
        wall: WallDuration::from_secs(wall_secs * scale() as u64),
        seed,
    }
}

#[test]
fn the_memory_store_keeps_every_invariant_under_eight_threads() {
    let store = MemoryStore::<K>::new();
    stress(std::slice::from_ref(&store), &config(3000, 300, 15, 1)).assert_clean();
}

#[test]
fn the_sqlite_store_keeps_every_invariant_under_eight_threads() {
    let db = TempDb::new("stress");
    // Two connections to one file, four threads on each: SQLite's locks
    // between connections and each store's mutex within one.
    let stores = [db.open(), db.open()];
    // Every read decodes a task's JSON, and every write waits for
    // SQLite's write lock and reads the stored record back to check the
    // save: fewer operations than in memory.
    stress(&stores, &config(200, 150, 25, 2)).assert_clean();
    // The claim index's `held` flags are what the blocking rule says.
    let wrongly_held: i64 = rusqlite::Connection::open(&db.0)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM tasks AS t WHERE t.held !=
                 (t.status = 'pending' AND EXISTS (SELECT 1 FROM tasks AS o
                     WHERE o.status IN ('running', 'waiting', 'stalled')
                       AND o.resource_kind = t.resource_kind
                       AND o.resource_id = t.resource_id
                       AND (t.blocking = 1 OR o.blocking = 1)))",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(wrongly_held, 0);
}

// ---------------------------------------------------------------------
// The checks catch what they should
// ---------------------------------------------------------------------

/// A store whose claims hand the last claimed task out once more: what a
/// claim without its compare-and-swap (or its write lock) does when two
/// claimers read the same pending row and both start it. The second
/// start is not written (the record has moved on, and the inner store
/// would refuse it): the broken claim returns it as claimed all the same.
struct DoubleClaims {
    inner: MemoryStore<K>,
    /// The pending copy of the last task claimed.
    last: Mutex<Option<Task<K>>>,
}

impl TaskStore<K> for DoubleClaims {
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        self.inner.insert(task, created)
    }

    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        self.inner.get(scope, id)
    }

    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError> {
        self.inner.log(scope, id, after, limit)
    }

    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError> {
        self.inner.save(task, expected, events)
    }

    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<Page<K>, StoreError> {
        self.inner.list(scope, filter, page)
    }

    fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError> {
        let mut last = self.last.lock().unwrap();
        let mut claimed = Vec::new();
        if let Some(mut again) = last.take()
            && let Ok((run, _started)) =
                again.start(request.lease_until, request.worker.clone(), request.now)
        {
            claimed.push(Claimed { task: again, run });
        }
        let fresh = self.inner.claim(request)?;
        if let Some(first) = fresh.claimed.first() {
            // The pending copy the claim read: its log without the start.
            let log = whole_log(&self.inner, first.task.id())?;
            *last = Some(Task::replay(&log[..log.len() - 1]).unwrap());
        }
        claimed.extend(fresh.claimed);
        Ok(Claims {
            claimed,
            unreadable: fresh.unreadable,
        })
    }

    fn sweep(
        &self,
        sweep: Sweep,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Swept<K>, StoreError> {
        self.inner.sweep(sweep, now, limit)
    }

    fn next_due(
        &self,
        kinds: Option<&BTreeSet<String>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_due(kinds)
    }

    fn purge(&self, settled_before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        self.inner.purge(settled_before, limit)
    }
}

/// A task and its log, as [`NoCompareAndSwap`] keeps them: the log by
/// version, so that a later write of a version replaces the earlier one.
type Kept = (Task<K>, BTreeMap<u64, Event<K>>);

/// A store whose saves ignore the version read and check nothing (no
/// compare-and-swap, no `check_save`): the last writer wins the record and
/// each version of the log. Its reads now and then return the copy before
/// the last save (a lagging replica; harmless behind a compare-and-swap,
/// which refuses the write). Two writers from one version then both
/// succeed. It keeps its own maps, as the `MemoryStore` refuses such
/// saves; scans are linear, which a small run affords.
struct NoCompareAndSwap {
    tasks: Mutex<BTreeMap<TaskId, Kept>>,
    previous: Mutex<HashMap<TaskId, Task<K>>>,
    reads: AtomicU64,
}

impl NoCompareAndSwap {
    fn new() -> NoCompareAndSwap {
        NoCompareAndSwap {
            tasks: Mutex::new(BTreeMap::new()),
            previous: Mutex::new(HashMap::new()),
            reads: AtomicU64::new(0),
        }
    }

    fn tasks(&self) -> MutexGuard<'_, BTreeMap<TaskId, Kept>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tasks `keep` selects, sorted by `key`, at most `limit`.
    fn scan<T: Ord>(&self, limit: usize, keep: impl Fn(&Task<K>) -> Option<T>) -> Vec<Task<K>> {
        let tasks = self.tasks();
        let mut found: Vec<(T, &Task<K>)> = tasks
            .values()
            .filter_map(|(task, _)| keep(task).map(|key| (key, task)))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
            .into_iter()
            .take(limit)
            .map(|(_, task)| task.clone())
            .collect()
    }
}

impl TaskStore<K> for NoCompareAndSwap {
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        let mut tasks = self.tasks();
        if tasks.contains_key(&task.id()) {
            return Err(StoreError::Duplicate { id: task.id() });
        }
        tasks.insert(task.id(), (task, BTreeMap::from([(1, created)])));
        Ok(())
    }

    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        if self.reads.fetch_add(1, Ordering::SeqCst).is_multiple_of(4)
            && let Some(stale) = self.previous.lock().unwrap().get(&id)
            && scope.sees(stale.owner())
        {
            return Ok(Some(stale.clone()));
        }
        Ok(self
            .tasks()
            .get(&id)
            .map(|(task, _)| task)
            .filter(|task| scope.sees(task.owner()))
            .cloned())
    }

    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError> {
        let tasks = self.tasks();
        match tasks.get(&id) {
            Some((task, log)) if scope.sees(task.owner()) => Ok(log
                .range(after.saturating_add(1)..)
                .take(limit)
                .map(|(_, event)| event.clone())
                .collect()),
            _ => Err(StoreError::NotFound { id }),
        }
    }

    fn save(&self, task: &Task<K>, _expected: u64, events: &[Event<K>]) -> Result<(), StoreError> {
        let mut tasks = self.tasks();
        let (stored, log) = tasks
            .get_mut(&task.id())
            .ok_or(StoreError::NotFound { id: task.id() })?;
        let current = std::mem::replace(stored, task.clone());
        for event in events {
            log.insert(event.version, event.clone());
        }
        self.previous.lock().unwrap().insert(task.id(), current);
        Ok(())
    }

    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<Page<K>, StoreError> {
        let tasks = self.tasks();
        let start = page.after.map_or(Bound::Unbounded, Bound::Excluded);
        let found: Vec<Task<K>> = tasks
            .range((start, Bound::Unbounded))
            .map(|(_, (task, _))| task)
            .filter(|task| filter.matches(scope, task))
            .take(page.limit)
            .cloned()
            .collect();
        let next = (page.limit > 0 && found.len() == page.limit)
            .then(|| found.last().map(Task::id))
            .flatten();
        Ok(Page {
            tasks: found,
            next,
            unreadable: Vec::new(),
        })
    }

    fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError> {
        request.check()?;
        let (now, limit, lease_until) = (request.now, request.limit, request.lease_until);
        let worker = request.worker.as_deref();
        let mut tasks = self.tasks();
        let mut due: Vec<(i32, DateTime<Utc>, TaskId)> = tasks
            .values()
            .map(|(task, _)| task)
            .filter(|task| task.status() == Status::Pending && request.wants(&task.kind().name))
            .map(|task| {
                let due = task.todo_at().unwrap_or(task.created_at());
                (-task.priority(), due, task.id())
            })
            .filter(|(_, at, _)| *at <= now)
            .collect();
        due.sort();
        let mut claimed = Vec::new();
        for (_, _, id) in due {
            if claimed.len() == limit {
                break;
            }
            let blocked = {
                let (task, _) = &tasks[&id];
                let others = tasks
                    .values()
                    .map(|(other, _)| other)
                    .filter(|other| other.status().is_in_progress());
                task.blocked_by(others).is_some()
            };
            if blocked {
                continue;
            }
            let Some((task, log)) = tasks.get_mut(&id) else {
                continue;
            };
            let Ok((run, started)) = task.start(lease_until, worker.map(str::to_owned), now) else {
                continue;
            };
            log.insert(started.version, started);
            claimed.push(Claimed {
                task: task.clone(),
                run,
            });
        }
        Ok(Claims {
            claimed,
            unreadable: Vec::new(),
        })
    }

    fn sweep(
        &self,
        sweep: Sweep,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Swept<K>, StoreError> {
        let tasks = match sweep {
            Sweep::ExpiredLeases => self.scan(limit, |task| {
                task.lease()
                    .filter(|lease| task.status().is_leased() && lease.is_expired(now))
                    .map(|lease| (lease.expires_at(), task.id()))
            }),
            Sweep::ChecksDue => self.scan(limit, |task| {
                task.check_due_at()
                    .filter(|at| *at <= now)
                    .map(|at| (at, task.id()))
            }),
            Sweep::RetriesDue => self.scan(limit, |task| {
                task.next_retry_at()
                    .filter(|at| task.status() == Status::Failed && *at <= now)
                    .map(|at| (at, task.id()))
            }),
            Sweep::Stalled => self.scan(limit, |task| {
                (task.status() == Status::Stalled).then(|| (task.updated_at(), task.id()))
            }),
        };
        Ok(Swept {
            tasks,
            unreadable: Vec::new(),
        })
    }

    fn next_due(
        &self,
        _kinds: Option<&BTreeSet<String>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        // The stress never sleeps on it.
        Ok(None)
    }

    fn purge(&self, _settled_before: DateTime<Utc>, _limit: usize) -> Result<usize, StoreError> {
        // The stress never purges.
        Ok(0)
    }
}

fn small_run(seed: u64) -> Config {
    Config {
        threads: 8,
        ops_per_thread: 400,
        tasks: 60,
        max_tasks: 100,
        wall: WallDuration::from_secs(10),
        seed,
    }
}

/// The second handout starts the task again at its start's version: at
/// the same time as the first, it carries the same token ("and again
/// by"); at another time, another token, so the task is held by two runs
/// at once. Either names the double handout.
#[test]
fn a_store_that_hands_a_claimed_task_out_again_is_caught() {
    let store = DoubleClaims {
        inner: MemoryStore::new(),
        last: Mutex::new(None),
    };
    let report = stress(std::slice::from_ref(&store), &small_run(3));
    assert!(
        report.has("and again by") || report.has("held by two executors at once"),
        "{:#?}",
        report.violations
    );
}

#[test]
fn a_store_that_saves_without_compare_and_swap_is_caught() {
    let store = NoCompareAndSwap::new();
    let report = stress(std::slice::from_ref(&store), &small_run(4));
    assert!(
        report.has("written twice") || report.has("is lost"),
        "{:#?}",
        report.violations
    );
}

#[test]
fn the_tracker_flags_overlapping_runs_and_blocking_but_not_late_registrations() {
    let mut ids = IdGenerator::seeded(5);
    let mut task = |n| new_task(n, ids.next_id(t(0)), t(0), None).0;
    // Numbers 2 (mod 4) are of the blocking kind, 3 (mod 4) records;
    // tasks 4 × ZONES apart are on the same zone.
    let publish = task(2);
    let other_publish = task(2 + 4 * ZONES);
    let record_here = task(3);
    let record = task(7);
    let other_record = task(7 + 4 * ZONES);
    assert!(publish.is_blocking() && !record.is_blocking());
    assert_eq!(publish.resource(), other_publish.resource());
    assert_eq!(publish.resource(), record_here.resource());
    assert_eq!(record.resource(), other_record.resource());
    assert_ne!(publish.resource(), record.resource());

    // A run ended (by a save) before its claimer registered it, then the
    // next run: nothing wrong.
    let mut tracker = Tracker::default();
    tracker.moved(publish.id(), 2, Phase::Stalled);
    tracker.moved(publish.id(), 2, Phase::Over);
    tracker.claimed(&publish, 2, "w0");
    tracker.claimed(&publish, 5, "w1");
    tracker.lost(publish.id(), 2, "w0");
    // Two non-blocking tasks on one resource may run together.
    tracker.claimed(&record, 2, "w2");
    tracker.claimed(&other_record, 2, "w3");
    assert_eq!(tracker.violations, Vec::<String>::new());

    // The same token twice.
    tracker.claimed(&record, 2, "w4");
    assert!(
        tracker
            .violations
            .pop()
            .unwrap()
            .contains("and again by w4")
    );
    // A new run while the last one is held.
    tracker.claimed(&publish, 9, "w5");
    assert!(
        tracker
            .violations
            .pop()
            .unwrap()
            .contains("held by two executors")
    );
    // A record where a blocking task runs.
    tracker.claimed(&record_here, 2, "w6");
    assert!(tracker.violations.pop().unwrap().contains("is Held"));
    assert!(tracker.violations.is_empty());
    // A blocking task while another is in progress on its resource, even
    // stalled.
    tracker.moved(record_here.id(), 2, Phase::Over);
    tracker.moved(publish.id(), 5, Phase::Stalled);
    tracker.moved(publish.id(), 9, Phase::Over);
    tracker.claimed(&other_publish, 2, "w7");
    assert!(tracker.violations.pop().unwrap().contains("is Stalled"));
    assert!(tracker.violations.is_empty());
    // A run that went away without a save ending it; one ended twice.
    tracker.lost(other_publish.id(), 2, "w7");
    assert!(
        tracker
            .violations
            .pop()
            .unwrap()
            .contains("no save ended it")
    );
    tracker.moved(publish.id(), 9, Phase::Over);
    assert!(tracker.violations.pop().unwrap().contains("ended twice"));
}
