//! Claims of the MemoryStore under load, in one run:
//!
//! - `claim_behind_held_back`: one claim (limit 1) when 0 and when
//!   100 000 pending tasks are held back by a blocking task running on
//!   their resource (all on one resource, ranked ahead of everything
//!   else: created earlier and of a higher priority), with 10 000
//!   claimable tasks on other resources. Both stores hold the same number
//!   of tasks: with none held back, the 100 000 are pending but not due
//!   for ten years. Each claimed task is removed and replaced by a new
//!   claimable one (untimed), so the store keeps its size within 100. The
//!   ratio of the two times is what matters: a claim must not walk past
//!   the tasks held back (target: within 2x).
//! - `cycle`: one claim-and-complete cycle (claim one due task, complete
//!   it, save it with its event) at 10 000 and 1 000 000 stored pending
//!   tasks, against the floor: a minimal hand-written in-memory queue
//!   (`Floor` below) doing the same bookkeeping (status, version, lease,
//!   one logged event per transition, a compare-and-swap on completion).
//!   For both, every 100 cycles the completed tasks are removed and
//!   replaced by as many new pending ones, untimed, so both stores keep
//!   their size within 100 (target: MemoryStore within 2x of the floor).
//!   A second floor, `floor_with_rules` (`RulesFloor` below), does the
//!   crate's rule work as well (real `Task`s started with `Task::start`,
//!   a copy handed out, saves checked by `check_save`) on the same two
//!   sets: the MemoryStore over it is what the store's own indexes cost,
//!   it over the floor what the rules and checks cost.
//! - `threads`: the throughput of claim-and-complete cycles, 20 000 per
//!   run over 100 000 pending tasks, from 1 thread and from 2 threads
//!   sharing one `Arc` of the store (each does half), for the MemoryStore
//!   and the floor. A run is timed from the first spawn to the last join;
//!   between runs the completed tasks are removed and replaced (untimed).
//!   Reported in cycles per second (target: 2 threads at least as fast as
//!   1).
//!
//! Run: `cargo bench --bench claims`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use taskstate::store::{ClaimRequest, Claimed, MemoryStore, TaskStore, check_save};
use taskstate::{
    Actor, Event, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Task, TaskId,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

/// The time of every claim and completion: every task made here is due
/// by then, but those scheduled for later still.
fn now() -> DateTime<Utc> {
    t0() + chrono::Duration::days(365)
}

fn lease_until() -> DateTime<Utc> {
    now() + chrono::Duration::minutes(5)
}

/// Due ten years after the claims: pending, never claimed here.
fn far_away() -> DateTime<Utc> {
    t0() + chrono::Duration::days(3650)
}

/// The resource of the blocking task and of the tasks it holds back.
fn held_resource() -> ResourceRef {
    ResourceRef::new("domain", "held.fr")
}

struct Maker {
    ids: IdGenerator,
    kind: NamedKind,
    n: u64,
}

impl Maker {
    fn new(seed: u64) -> Maker {
        Maker {
            ids: IdGenerator::seeded(seed),
            kind: NamedKind::new("DomainRenew"),
            n: 0,
        }
    }

    /// A pending task of one of 100 owners, created a millisecond after
    /// the previous one, on `resource` or else on a domain of its own,
    /// with `edit` applied to its request.
    fn task(
        &mut self,
        resource: Option<&ResourceRef>,
        edit: impl FnOnce(NewTask<NamedKind>) -> NewTask<NamedKind>,
    ) -> (Task<NamedKind>, Event<NamedKind>) {
        self.n += 1;
        let at = t0() + chrono::Duration::milliseconds(self.n as i64);
        let resource = resource
            .cloned()
            .unwrap_or_else(|| ResourceRef::new("domain", format!("d{}.fr", self.n)));
        let new = NewTask::new(
            self.ids.next_id(at),
            self.kind.clone(),
            Owner::new(format!("customer-{}", self.n % 100)),
            resource,
        );
        Task::create(edit(new), Actor::System, at).unwrap()
    }

    /// A pending task due now, on a domain of its own.
    fn due(&mut self) -> (Task<NamedKind>, Event<NamedKind>) {
        self.task(None, |new| new)
    }
}

/// How many tasks are claimed in a row before they are replaced
/// (untimed), so that a timer is read once per 100 operations.
const CHUNK: u64 = 100;

// ---------------------------------------------------------------------
// claim_behind_held_back

const HELD: usize = 100_000;
const CLAIMABLE: usize = 10_000;

/// A store where a blocking task runs on `held_resource()`, holding back
/// `held` pending tasks there, with `HELD - held` pending tasks not due
/// yet and `CLAIMABLE` due tasks on resources of their own.
fn held_back_store(held: usize) -> (MemoryStore<NamedKind>, Maker) {
    let store = MemoryStore::new();
    let mut maker = Maker::new(held as u64 + 1);
    let resource = held_resource();
    // The blocking task first: the earliest due, so the first claimed.
    let (task, created) = maker.task(Some(&resource), |new| new.blocking(true));
    let blocking = task.id();
    store.insert(task, created).unwrap();
    let claimed = store
        .claim(&ClaimRequest::new(now(), lease_until()))
        .unwrap()
        .claimed;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].task.id(), blocking);
    for _ in 0..held {
        let (task, created) = maker.task(Some(&resource), |new| new.priority(1));
        store.insert(task, created).unwrap();
    }
    for _ in held..HELD {
        let (task, created) = maker.task(None, |new| new.todo_at(far_away()));
        store.insert(task, created).unwrap();
    }
    for _ in 0..CLAIMABLE {
        let (task, created) = maker.due();
        store.insert(task, created).unwrap();
    }
    assert_eq!(store.len(), 1 + HELD + CLAIMABLE);
    (store, maker)
}

fn claim_behind_held_back(c: &mut Criterion) {
    let mut group = c.benchmark_group("claim_behind_held_back");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    let request = ClaimRequest::new(now(), lease_until()).limit(1);
    let resource = held_resource();
    for held in [0usize, HELD] {
        let (store, mut maker) = held_back_store(held);
        group.bench_with_input(BenchmarkId::new("held_back", held), &held, |b, _| {
            b.iter_custom(|iters| {
                in_chunks(
                    iters,
                    || store.claim(black_box(&request)).unwrap().claimed,
                    |claimed| {
                        for claim in claimed {
                            assert_ne!(claim.task.resource(), &resource);
                            drop(black_box(store.remove(claim.task.id()).unwrap()));
                            let (task, created) = maker.due();
                            store.insert(task, created).unwrap();
                        }
                    },
                )
            })
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------
// The floor

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HandStatus {
    Pending,
    Running,
    Done,
}

#[derive(Clone, Copy, Debug)]
enum Transition {
    Created,
    Started,
    Completed,
}

/// One logged transition.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)]
struct HandEvent {
    version: u64,
    at: DateTime<Utc>,
    transition: Transition,
}

#[derive(Debug)]
struct Record {
    status: HandStatus,
    version: u64,
    /// The run's token and the lease's end, while running.
    lease: Option<(u64, DateTime<Utc>)>,
    log: Vec<HandEvent>,
}

/// What a claim hands out: enough to complete the task.
#[derive(Clone, Copy, Debug)]
struct HandClaim {
    id: u64,
    version: u64,
    token: u64,
}

#[derive(Debug, Default)]
struct FloorInner {
    records: HashMap<u64, Record>,
    /// Pending tasks by due time.
    pending: BTreeSet<(DateTime<Utc>, u64)>,
    /// Running tasks by lease end.
    leased: BTreeSet<(DateTime<Utc>, u64)>,
    tokens: u64,
}

/// The floor: a minimal in-memory queue, one lock, the same bookkeeping
/// as a claim and a completion (status, version, lease, one event per
/// transition), nothing more.
#[derive(Debug, Default)]
struct Floor {
    inner: Mutex<FloorInner>,
}

impl Floor {
    fn insert(&self, id: u64, due: DateTime<Utc>) {
        let mut inner = self.inner.lock().unwrap();
        let record = Record {
            status: HandStatus::Pending,
            version: 1,
            lease: None,
            log: vec![HandEvent {
                version: 1,
                at: due,
                transition: Transition::Created,
            }],
        };
        assert!(inner.records.insert(id, record).is_none());
        inner.pending.insert((due, id));
    }

    fn remove(&self, id: u64) {
        let mut inner = self.inner.lock().unwrap();
        let record = inner.records.remove(&id).unwrap();
        assert_eq!(record.status, HandStatus::Done);
        drop(black_box(record));
    }

    /// Starts the task due first, under a lease.
    fn claim(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Option<HandClaim> {
        let mut guard = self.inner.lock().unwrap();
        let inner = &mut *guard;
        let &(due, id) = inner.pending.first()?;
        if due > now {
            return None;
        }
        inner.pending.pop_first();
        inner.tokens += 1;
        let token = inner.tokens;
        let record = inner.records.get_mut(&id)?;
        record.status = HandStatus::Running;
        record.version += 1;
        record.lease = Some((token, lease_until));
        record.log.push(HandEvent {
            version: record.version,
            at: now,
            transition: Transition::Started,
        });
        inner.leased.insert((lease_until, id));
        Some(HandClaim {
            id,
            version: record.version,
            token,
        })
    }

    /// Completes a claimed task if it is still at the claimed version,
    /// running under the claim's token.
    fn complete(&self, claim: HandClaim, now: DateTime<Utc>) -> Result<(), &'static str> {
        let mut guard = self.inner.lock().unwrap();
        let inner = &mut *guard;
        let record = inner.records.get_mut(&claim.id).ok_or("not found")?;
        if record.version != claim.version {
            return Err("conflict");
        }
        let Some((token, lease_until)) = record.lease else {
            return Err("not leased");
        };
        if record.status != HandStatus::Running || token != claim.token {
            return Err("not this run");
        }
        inner.leased.remove(&(lease_until, claim.id));
        record.status = HandStatus::Done;
        record.version += 1;
        record.lease = None;
        record.log.push(HandEvent {
            version: record.version,
            at: now,
            transition: Transition::Completed,
        });
        Ok(())
    }
}

/// Makes the floor's pending tasks, a millisecond apart as `Maker` does.
struct FloorMaker {
    n: u64,
}

impl FloorMaker {
    fn add(&mut self, floor: &Floor) {
        self.n += 1;
        floor.insert(self.n, t0() + chrono::Duration::milliseconds(self.n as i64));
    }
}

fn floor_of(size: usize) -> (Floor, FloorMaker) {
    let floor = Floor::default();
    let mut maker = FloorMaker { n: 0 };
    for _ in 0..size {
        maker.add(&floor);
    }
    (floor, maker)
}

// ---------------------------------------------------------------------
// The floor with the rules

/// The floor doing the crate's rule work too: the same two `BTreeSet`s
/// and one lock, but holding real `Task`s, starting them with
/// `Task::start`, handing out a copy with its `Run`, and checking a save
/// with `check_save` before it replaces the record and appends the
/// events. What it leaves out is what the MemoryStore adds over it: the
/// listing indexes (owner, resource, kind, status, creation), blocking
/// lanes, priorities, kinds, unique keys, sweeps and purges.
#[derive(Default)]
struct RulesFloor {
    inner: Mutex<RulesInner>,
}

#[derive(Default)]
struct RulesInner {
    tasks: HashMap<TaskId, (Task<NamedKind>, Vec<Event<NamedKind>>)>,
    pending: BTreeSet<(DateTime<Utc>, TaskId)>,
    leased: BTreeSet<(DateTime<Utc>, TaskId)>,
}

impl RulesFloor {
    fn insert(&self, task: Task<NamedKind>, created: Event<NamedKind>) {
        let mut inner = self.inner.lock().unwrap();
        inner.pending.insert((task.created_at(), task.id()));
        inner.tasks.insert(task.id(), (task, vec![created]));
    }

    fn remove(&self, id: TaskId) {
        let mut inner = self.inner.lock().unwrap();
        drop(black_box(inner.tasks.remove(&id)));
    }

    fn claim(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Option<Claimed<NamedKind>> {
        let mut guard = self.inner.lock().unwrap();
        let inner = &mut *guard;
        let &(due, id) = inner.pending.first()?;
        if due > now {
            return None;
        }
        inner.pending.pop_first();
        let (task, log) = inner.tasks.get_mut(&id)?;
        let (run, started) = task.start(lease_until, None, now).ok()?;
        log.push(started);
        inner.leased.insert((lease_until, id));
        Some(Claimed {
            task: task.clone(),
            run,
        })
    }

    fn save(&self, task: &Task<NamedKind>, expected: u64, events: &[Event<NamedKind>]) {
        let mut guard = self.inner.lock().unwrap();
        let inner = &mut *guard;
        let (stored, log) = inner.tasks.get_mut(&task.id()).unwrap();
        assert_eq!(stored.version(), expected);
        let last_logged = log.last().map_or(0, |event| event.version);
        check_save(stored, task, expected, last_logged, events).unwrap();
        if let Some(lease) = stored.lease() {
            inner.leased.remove(&(lease.expires_at(), task.id()));
        }
        *stored = task.clone();
        log.extend_from_slice(events);
    }
}

fn rules_floor_of(size: usize) -> (RulesFloor, Maker) {
    let floor = RulesFloor::default();
    let mut maker = Maker::new(size as u64);
    for _ in 0..size {
        let (task, created) = maker.due();
        floor.insert(task, created);
    }
    (floor, maker)
}

/// The same cycle through the rules floor.
fn rules_floor_cycle(floor: &RulesFloor, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> TaskId {
    let Claimed { mut task, run } = floor.claim(now, lease_until).unwrap();
    let version = task.version();
    let event = run.complete(&mut task, Outcome::new(), now).unwrap();
    floor.save(&task, version, &[event]);
    task.id()
}

// ---------------------------------------------------------------------
// cycle

fn store_of(size: usize) -> (MemoryStore<NamedKind>, Maker) {
    let store = MemoryStore::new();
    let mut maker = Maker::new(size as u64);
    for _ in 0..size {
        let (task, created) = maker.due();
        store.insert(task, created).unwrap();
    }
    (store, maker)
}

/// One claim-and-complete cycle through a store: the id of the task done.
fn store_cycle<S: TaskStore<NamedKind>>(
    store: &S,
    request: &ClaimRequest,
    now: DateTime<Utc>,
) -> TaskId {
    let Claimed { mut task, run } = store.claim(request).unwrap().claimed.pop().unwrap();
    let version = task.version();
    let event = run.complete(&mut task, Outcome::new(), now).unwrap();
    store.save(&task, version, &[event]).unwrap();
    task.id()
}

/// The same cycle through the floor.
fn floor_cycle(floor: &Floor, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> u64 {
    let claim = floor.claim(now, lease_until).unwrap();
    floor.complete(claim, now).unwrap();
    claim.id
}

/// Times `iters` calls of `cycle`, in chunks of [`CHUNK`]; after each
/// chunk, untimed, `replace` takes each id a cycle returned (to remove the
/// done task and add a pending one).
fn in_chunks<T>(iters: u64, mut cycle: impl FnMut() -> T, mut replace: impl FnMut(T)) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    let mut done = Vec::with_capacity(CHUNK as usize);
    while left > 0 {
        let chunk = left.min(CHUNK);
        left -= chunk;
        let started = Instant::now();
        for _ in 0..chunk {
            done.push(cycle());
        }
        total += started.elapsed();
        done.drain(..).for_each(&mut replace);
    }
    total
}

fn cycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("cycle");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    let (now, lease_until) = (now(), lease_until());
    let request = ClaimRequest::new(now, lease_until).limit(1);
    for size in [10_000usize, 1_000_000] {
        let (store, mut maker) = store_of(size);
        group.bench_with_input(BenchmarkId::new("memory_store", size), &size, |b, _| {
            b.iter_custom(|iters| {
                in_chunks(
                    iters,
                    || store_cycle(&store, black_box(&request), now),
                    |id| {
                        drop(black_box(store.remove(id).unwrap()));
                        let (task, created) = maker.due();
                        store.insert(task, created).unwrap();
                    },
                )
            })
        });
        drop(store);
        let (floor, mut maker) = rules_floor_of(size);
        group.bench_with_input(BenchmarkId::new("floor_with_rules", size), &size, |b, _| {
            b.iter_custom(|iters| {
                in_chunks(
                    iters,
                    || rules_floor_cycle(&floor, black_box(now), lease_until),
                    |id| {
                        floor.remove(id);
                        let (task, created) = maker.due();
                        floor.insert(task, created);
                    },
                )
            })
        });
        drop(floor);
        let (floor, mut maker) = floor_of(size);
        group.bench_with_input(BenchmarkId::new("floor", size), &size, |b, _| {
            b.iter_custom(|iters| {
                in_chunks(
                    iters,
                    || floor_cycle(&floor, black_box(now), lease_until),
                    |id| {
                        floor.remove(id);
                        maker.add(&floor);
                    },
                )
            })
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------
// threads

const RUN: usize = 20_000;
const POOL: usize = 100_000;

/// Runs `RUN` cycles split among `threads` threads, each calling `work`
/// `RUN / threads` times; returns the time from the first spawn to the
/// last join and what the calls returned.
fn timed_run<T: Send + 'static>(
    threads: usize,
    work: impl Fn() -> T + Send + Sync + 'static + Clone,
) -> (Duration, Vec<T>) {
    let each = RUN / threads;
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let work = work.clone();
            thread::spawn(move || {
                let mut out = Vec::with_capacity(each);
                for _ in 0..each {
                    out.push(work());
                }
                out
            })
        })
        .collect();
    let out: Vec<Vec<T>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let elapsed = started.elapsed();
    (elapsed, out.into_iter().flatten().collect())
}

fn threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("threads");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(RUN as u64));
    let (now, lease_until) = (now(), lease_until());
    let request = ClaimRequest::new(now, lease_until).limit(1);

    let (store, mut maker) = store_of(POOL);
    let store = Arc::new(store);
    for threads in [1usize, 2] {
        group.bench_with_input(
            BenchmarkId::new("memory_store", threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (store_, request) = (Arc::clone(&store), request.clone());
                        let (elapsed, done) =
                            timed_run(threads, move || store_cycle(&store_, &request, now));
                        total += elapsed;
                        assert_eq!(done.len(), RUN);
                        for id in done {
                            drop(black_box(store.remove(id).unwrap()));
                            let (task, created) = maker.due();
                            store.insert(task, created).unwrap();
                        }
                    }
                    total
                })
            },
        );
    }
    drop(store);

    let (floor, mut maker) = floor_of(POOL);
    let floor = Arc::new(floor);
    for threads in [1usize, 2] {
        group.bench_with_input(
            BenchmarkId::new("floor", threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let floor_ = Arc::clone(&floor);
                        let (elapsed, done) =
                            timed_run(threads, move || floor_cycle(&floor_, now, lease_until));
                        total += elapsed;
                        assert_eq!(done.len(), RUN);
                        for id in done {
                            floor.remove(id);
                            maker.add(&floor);
                        }
                    }
                    total
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, claim_behind_held_back, cycle, threads);
criterion_main!(benches);
