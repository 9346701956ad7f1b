//! The MemoryStore at 10 000 and 1 000 000 stored tasks, in one run:
//! inserting a task, claiming the next due task, a filtered page of 100
//! (one owner's pending tasks), and a listing of an empty creation window.
//!
//! Run: `cargo bench --bench store`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use taskstate::store::{ClaimRequest, Filter, MemoryStore, PageRequest, Scope, TaskStore};
use taskstate::{
    Actor, Event, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, StatusSet, Task,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
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
    /// the previous one.
    fn task(&mut self) -> (Task<NamedKind>, Event<NamedKind>) {
        self.n += 1;
        let at = t0() + chrono::Duration::milliseconds(self.n as i64);
        let new = NewTask::new(
            self.ids.next_id(at),
            self.kind.clone(),
            Owner::new(format!("customer-{}", self.n % 100)),
            ResourceRef::new("domain", format!("d{}.fr", self.n)),
        );
        Task::create(new, Actor::System, at).unwrap()
    }
}

fn store_of(size: usize) -> (MemoryStore<NamedKind>, Maker) {
    let store = MemoryStore::new();
    let mut maker = Maker::new(size as u64);
    for _ in 0..size {
        let (task, created) = maker.task();
        store.insert(task, created).unwrap();
    }
    (store, maker)
}

fn bench_store(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_store");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    // Far in the future: every stored task is due.
    let now = t0() + chrono::Duration::days(365);
    let lease_until = now + chrono::Duration::minutes(5);
    let page_filter = Filter::new()
        .owner(Owner::new("customer-7"))
        .statuses(StatusSet::of(&[Status::Pending]));
    for size in [10_000usize, 1_000_000] {
        let (store, mut maker) = store_of(size);
        // Each inserted task is removed again (untimed), so the store
        // keeps its size.
        group.bench_with_input(BenchmarkId::new("insert", size), &size, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (task, created) = maker.task();
                    let id = task.id();
                    let started = Instant::now();
                    store.insert(task, created).unwrap();
                    total += started.elapsed();
                    drop(black_box(store.remove(id).unwrap()));
                }
                total
            })
        });
        // A worker claims one task at a time, back to back; every 100
        // claims the claimed tasks are removed and replaced by new pending
        // ones (untimed), so the store keeps its size within 100.
        group.bench_with_input(BenchmarkId::new("claim_next_due", size), &size, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let chunk = left.min(100);
                    left -= chunk;
                    let mut claims = Vec::with_capacity(100);
                    let started = Instant::now();
                    for _ in 0..chunk {
                        claims.push(
                            store
                                .claim(&ClaimRequest::new(now, lease_until))
                                .unwrap()
                                .claimed,
                        );
                    }
                    total += started.elapsed();
                    for claim in claims.into_iter().flatten() {
                        drop(black_box(store.remove(claim.task.id()).unwrap()));
                    }
                    for _ in 0..chunk {
                        let (task, created) = maker.task();
                        store.insert(task, created).unwrap();
                    }
                }
                total
            })
        });
        group.bench_with_input(
            BenchmarkId::new("filtered_page_of_100", size),
            &size,
            |b, _| {
                b.iter(|| {
                    let page = store
                        .list(
                            &Scope::Staff,
                            black_box(&page_filter),
                            PageRequest::first(100),
                        )
                        .unwrap();
                    assert_eq!(page.tasks.len(), 100);
                    page.next
                })
            },
        );
        // A creation window no task falls in, with a status filter every
        // task matches: the window index answers, not a walk of them all.
        let empty_window = Filter::new()
            .statuses(StatusSet::of(&[Status::Pending]))
            .created(
                t0() - chrono::Duration::days(2),
                t0() - chrono::Duration::days(1),
            );
        group.bench_with_input(
            BenchmarkId::new("empty_creation_window", size),
            &size,
            |b, _| {
                b.iter(|| {
                    let page = store
                        .list(
                            &Scope::Staff,
                            black_box(&empty_window),
                            PageRequest::first(100),
                        )
                        .unwrap();
                    assert!(page.tasks.is_empty());
                    page.next
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_store);
criterion_main!(benches);
