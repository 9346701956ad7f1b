//! The SQLite store against a minimal raw SQL queue, side by side in one
//! process, each on a real file in the temporary directory with the same
//! settings (WAL, the same `synchronous`, bundled SQLite, default page
//! size):
//!
//! - `cycle`: one claim-and-complete cycle (claim one due task, complete
//!   it, save it with its event; for the raw queue, its claim and its
//!   completion) at 10 000 and 100 000 pending rows, with `synchronous`
//!   FULL and NORMAL (target: the store within 1.5x of the raw queue).
//!   Every 100 cycles, 100 new pending rows replace those done, untimed,
//!   in both, so the pending count stays within 100 of its size. The
//!   store checkpoints on its own thread (its default,
//!   `Checkpoints::Background`); `raw` checkpoints as SQLite does by
//!   default, in the commit that takes the WAL past 1 000 pages, and
//!   `raw_background` is the raw queue given the same background
//!   checkpoints as the store (a thread of its own asked by a WAL hook
//!   at every 1 000 pages, a commit's own past 10 000), so that the store
//!   is also measured against a queue that waits for no more checkpoints
//!   at its commits than it.
//! - WAL pages (printed before the timings, not a criterion benchmark):
//!   with `wal_autocheckpoint = 0` and the WAL truncated by a checkpoint
//!   first, 1 000 inserts (one transaction each), then 1 000 claims, then
//!   1 000 completions, on 10 000 pending rows; the growth of the `-wal`
//!   file divided by the frame size (page size + 24) is the number of
//!   pages the commits wrote (target: the store within 2x of the raw
//!   queue per task).
//! - `heartbeat`: one heartbeat (get, `Run::heartbeat`, save with no
//!   event) of a running task whose log holds 8 640 earlier events (logged
//!   progress reports: heartbeats log none), FULL and NORMAL, against an
//!   `UPDATE` of one row plus one `INSERT` into the events table in one
//!   transaction on the raw queue (target: within 1.5x).
//! - `claim_behind_held_back`: one claim (limit 1, `synchronous =
//!   NORMAL`) when 0 and when 100 000 pending rows are held back by a
//!   blocking task running on their resource (ranked ahead of everything
//!   else: a higher priority), with 10 000 claimable rows on resources of
//!   their own; with none held back, the 100 000 are pending but due in
//!   ten years. Each claimed task is replaced by a new claimable one,
//!   untimed (target: within 2x).
//!
//! The raw queue: `queue (id INTEGER PRIMARY KEY, status, due_at,
//! lease_until, version, body TEXT)` with a partial index on `due_at` of
//! the pending rows and one on `lease_until` of the running rows (the
//! least a queue that takes expired leases back needs), and
//! `queue_events (task_id, version, at, body)` keyed by `(task_id,
//! version)`. A claim is `UPDATE ... WHERE id = (SELECT id ... ORDER BY
//! due_at LIMIT 1) RETURNING ...` plus one event row, a completion an
//! `UPDATE` of the status with a version check plus one event row, each
//! in one `IMMEDIATE` transaction. Its bodies are as long as the store's
//! (the same JSON), its times the same text.
//!
//! Run: `cargo bench -p taskstate-sqlite --bench sqlite`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use taskstate::store::{ClaimRequest, Claimed, Scope, TaskStore};
use taskstate::{Actor, Event, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Task};
use taskstate_sqlite::{Options, SqliteStore, Synchronous, insert_in, remove_files, temp_path};

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

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A database file, removed with its side files when dropped.
struct Db(PathBuf);

impl Db {
    fn new(label: &str) -> Db {
        Db(temp_path(label))
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        remove_files(&self.0).unwrap();
    }
}

fn options(sync: Synchronous) -> Options {
    Options::new().synchronous(sync)
}

fn sync_name(sync: Synchronous) -> &'static str {
    match sync {
        Synchronous::Full => "full",
        Synchronous::Normal => "normal",
    }
}

/// The size of the `-wal` file beside `path` (0 if there is none).
fn wal_size(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(&wal).map_or(0, |meta| meta.len())
}

/// Copies the WAL into the database and truncates it, from a connection
/// of its own.
fn checkpoint(path: &Path) -> u64 {
    let conn = Connection::open(path).unwrap();
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint was blocked");
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap();
    page as u64
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

/// How many cycles run in a row before the rows done are replaced
/// (untimed).
const CHUNK: u64 = 100;

/// Inserts `n` tasks made by `make` in transactions of 10 000.
fn fill(
    store: &SqliteStore<NamedKind>,
    n: usize,
    mut make: impl FnMut() -> (Task<NamedKind>, Event<NamedKind>),
) {
    let mut left = n;
    while left > 0 {
        let batch = left.min(10_000);
        left -= batch;
        store
            .with_transaction(|tx| {
                for _ in 0..batch {
                    let (task, created) = make();
                    insert_in(tx, &task, &created)?;
                }
                Ok::<_, taskstate::store::StoreError>(())
            })
            .unwrap();
    }
}

// ---------------------------------------------------------------------
// The raw queue

const RAW_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queue (
    id          INTEGER PRIMARY KEY,
    status      TEXT NOT NULL,
    due_at      TEXT,
    lease_until TEXT,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_due ON queue (due_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS queue_lease ON queue (lease_until) WHERE status = 'running';
CREATE TABLE IF NOT EXISTS queue_events (
    task_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (task_id, version)
) WITHOUT ROWID;
";

const RAW_CLAIM: &str = "UPDATE queue SET status = 'running', lease_until = ?2,
    version = version + 1
    WHERE id = (SELECT id FROM queue WHERE status = 'pending' AND due_at <= ?1
                ORDER BY due_at LIMIT 1)
    RETURNING id, version, body";

const RAW_COMPLETE: &str = "UPDATE queue SET status = 'done', lease_until = NULL,
    version = version + 1
    WHERE id = ?1 AND version = ?2 AND status = 'running'";

const RAW_EVENT: &str = "INSERT INTO queue_events (task_id, version, at, body)
    VALUES (?1, ?2, ?3, ?4)";

const RAW_INSERT: &str = "INSERT INTO queue (status, due_at, version, body)
    VALUES ('pending', ?1, 1, ?2) RETURNING id";

/// The minimal queue: one connection, the same file settings as the
/// store's.
struct Raw {
    conn: Connection,
    /// A task's body and an event's, as long as the store's.
    body: String,
    event: String,
    n: u64,
    /// Its checkpoint thread, if its checkpoints are in the background.
    checkpoints: Option<RawCheckpoints>,
}

/// The raw queue's checkpoints off its commits, by the rule of the
/// store's `Checkpoints::Background`: a WAL hook (which replaces SQLite's
/// `wal_autocheckpoint`) asks a thread with a connection of its own for a
/// `PASSIVE` checkpoint at every 1 000 pages the WAL grows, and a commit
/// that finds the WAL past 10 000 pages runs one itself.
struct RawCheckpoints {
    /// `true`: checkpoint; `false`: stop.
    ask: SyncSender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl RawCheckpoints {
    fn start(conn: &mut Connection, path: &Path, sync: Synchronous) -> RawCheckpoints {
        let own = Connection::open(path).unwrap();
        own.execute_batch(&format!("PRAGMA synchronous = {}", sync_pragma(sync)))
            .unwrap();
        let (ask, asked) = sync_channel::<bool>(1);
        let thread = std::thread::spawn(move || {
            while let Ok(true) = asked.recv() {
                own.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    .unwrap();
            }
        });
        let hook = ask.clone();
        let (mut next_ask, mut last) = (1_000, 0);
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
            if pages < last {
                next_ask = 1_000;
            }
            last = pages;
            if pages >= 10_000 {
                // Busy while the thread runs one: the commit is made.
                let _ran = wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE);
            } else if pages >= next_ask {
                next_ask = pages + 1_000;
                // A full channel: a checkpoint is asked for already.
                let _asked = hook.try_send(true);
            }
            Ok(())
        }))
        .unwrap();
        RawCheckpoints {
            ask,
            thread: Some(thread),
        }
    }
}

impl Drop for RawCheckpoints {
    fn drop(&mut self) {
        self.ask.send(false).unwrap();
        self.thread.take().unwrap().join().unwrap();
    }
}

fn sync_pragma(sync: Synchronous) -> &'static str {
    match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    }
}

impl Raw {
    fn open(path: &Path, sync: Synchronous) -> Raw {
        let conn = Connection::open(path).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .unwrap();
        conn.execute_batch(&format!("PRAGMA synchronous = {}", sync_pragma(sync)))
            .unwrap();
        conn.execute_batch(RAW_SCHEMA).unwrap();
        let (task, created) = Maker::new(0).due();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM queue", [], |row| row.get(0))
            .unwrap();
        Raw {
            conn,
            body: serde_json::to_string(&task).unwrap(),
            event: serde_json::to_string(&created).unwrap(),
            n: count as u64,
            checkpoints: None,
        }
    }

    /// [`open`](Raw::open) with its checkpoints in the background.
    fn open_background(path: &Path, sync: Synchronous) -> Raw {
        let mut raw = Raw::open(path, sync);
        raw.checkpoints = Some(RawCheckpoints::start(&mut raw.conn, path, sync));
        raw
    }

    fn insert_one(&mut self) {
        self.n += 1;
        let due = text(t0() + chrono::Duration::milliseconds(self.n as i64));
        let id: i64 = self
            .conn
            .prepare_cached(RAW_INSERT)
            .unwrap()
            .query_row(params![due, self.body], |row| row.get(0))
            .unwrap();
        self.conn
            .prepare_cached(RAW_EVENT)
            .unwrap()
            .execute(params![id, 1, due, self.event])
            .unwrap();
    }

    /// `n` pending rows, in one transaction.
    fn fill(&mut self, n: usize) {
        self.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        for _ in 0..n {
            self.insert_one();
        }
        self.conn.execute_batch("COMMIT").unwrap();
    }

    /// One insert in a transaction of its own.
    fn insert(&mut self) {
        self.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        self.insert_one();
        self.conn.execute_batch("COMMIT").unwrap();
    }

    /// Starts the pending row due first: its id and new version.
    fn claim(&mut self, now: &str, lease_until: &str) -> (i64, i64) {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let (id, version, body): (i64, i64, String) = tx
            .prepare_cached(RAW_CLAIM)
            .unwrap()
            .query_row(params![now, lease_until], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()
            .unwrap()
            .expect("a due row");
        black_box(body);
        tx.prepare_cached(RAW_EVENT)
            .unwrap()
            .execute(params![id, version, now, self.event])
            .unwrap();
        tx.commit().unwrap();
        (id, version)
    }

    fn complete(&mut self, (id, version): (i64, i64), now: &str) {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let moved = tx
            .prepare_cached(RAW_COMPLETE)
            .unwrap()
            .execute(params![id, version])
            .unwrap();
        assert_eq!(moved, 1);
        tx.prepare_cached(RAW_EVENT)
            .unwrap()
            .execute(params![id, version + 1, now, self.event])
            .unwrap();
        tx.commit().unwrap();
    }

    fn cycle(&mut self, now: &str, lease_until: &str) -> i64 {
        let claim = self.claim(now, lease_until);
        self.complete(claim, now);
        claim.0
    }
}

// ---------------------------------------------------------------------
// The store's side

/// One claim-and-complete cycle through the store.
fn store_cycle(store: &SqliteStore<NamedKind>, request: &ClaimRequest, now: DateTime<Utc>) {
    let Claimed { mut task, run } = store.claim(request).unwrap().claimed.pop().unwrap();
    let version = task.version();
    let event = run.complete(&mut task, Outcome::new(), now).unwrap();
    store.save(&task, version, &[event]).unwrap();
    black_box(task.id());
}

/// A store file of `size` due tasks, and its maker.
fn store_file(size: usize) -> (Db, Maker) {
    let db = Db::new("bench-store");
    let mut maker = Maker::new(size as u64);
    let store: SqliteStore<NamedKind> =
        SqliteStore::open_with(&db.0, &options(Synchronous::Normal)).unwrap();
    fill(&store, size, || maker.due());
    drop(store);
    (db, maker)
}

fn raw_file(size: usize) -> Db {
    let db = Db::new("bench-raw");
    Raw::open(&db.0, Synchronous::Normal).fill(size);
    db
}

// ---------------------------------------------------------------------
// cycle

/// Times `iters` calls of `cycle` in chunks of [`CHUNK`]; after each
/// chunk, untimed, `refill` adds as many pending rows as it took.
fn in_chunks<T>(
    iters: u64,
    mut cycle: impl FnMut() -> T,
    mut refill: impl FnMut(usize),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(CHUNK);
        left -= chunk;
        let started = Instant::now();
        for _ in 0..chunk {
            black_box(cycle());
        }
        total += started.elapsed();
        refill(chunk as usize);
    }
    total
}

fn cycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("cycle");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    let (now, lease_until) = (now(), lease_until());
    let (now_text, lease_text) = (text(now), text(lease_until));
    let request = ClaimRequest::new(now, lease_until).limit(1);
    for size in [10_000usize, 100_000] {
        let (store_db, mut maker) = store_file(size);
        let raw_db = raw_file(size);
        for sync in [Synchronous::Full, Synchronous::Normal] {
            let store: SqliteStore<NamedKind> =
                SqliteStore::open_with(&store_db.0, &options(sync)).unwrap();
            let id = format!("{}/{size}", sync_name(sync));
            group.bench_function(BenchmarkId::new("store", &id), |b| {
                b.iter_custom(|iters| {
                    in_chunks(
                        iters,
                        || store_cycle(&store, &request, now),
                        |chunk| fill(&store, chunk, || maker.due()),
                    )
                })
            });
            drop(store);
            for (name, background) in [("raw", false), ("raw_background", true)] {
                let raw = if background {
                    Raw::open_background(&raw_db.0, sync)
                } else {
                    Raw::open(&raw_db.0, sync)
                };
                let raw = std::cell::RefCell::new(raw);
                group.bench_function(BenchmarkId::new(name, &id), |b| {
                    b.iter_custom(|iters| {
                        in_chunks(
                            iters,
                            || black_box(raw.borrow_mut().cycle(&now_text, &lease_text)),
                            |chunk| raw.borrow_mut().fill(chunk),
                        )
                    })
                });
            }
        }
    }
    group.finish();
}

// ---------------------------------------------------------------------
// WAL pages

/// The pages `work` wrote to the WAL of `path`, from an empty WAL.
fn pages_written(path: &Path, work: impl FnOnce()) -> f64 {
    let page = checkpoint(path);
    let before = wal_size(path);
    assert_eq!(before, 0, "the WAL was not truncated");
    work();
    let after = wal_size(path);
    // A WAL file: a 32-byte header, then frames of a 24-byte header and a
    // page.
    (after.saturating_sub(32)) as f64 / (page + 24) as f64
}

fn wal_pages() {
    const SIZE: usize = 10_000;
    const N: usize = 1_000;
    let (now, lease_until) = (now(), lease_until());
    let (now_text, lease_text) = (text(now), text(lease_until));
    let request = ClaimRequest::new(now, lease_until).limit(1);

    let (store_db, mut maker) = store_file(SIZE);
    let store: SqliteStore<NamedKind> =
        SqliteStore::open_with(&store_db.0, &options(Synchronous::Normal)).unwrap();
    store
        .with_transaction(|tx| {
            tx.execute_batch("PRAGMA wal_autocheckpoint = 0")
                .map_err(|error| taskstate::store::StoreError::backend(error, false))
        })
        .unwrap();
    let insert = pages_written(&store_db.0, || {
        for _ in 0..N {
            let (task, created) = maker.due();
            store.insert(task, created).unwrap();
        }
    });
    let mut claimed = Vec::with_capacity(N);
    let claim = pages_written(&store_db.0, || {
        for _ in 0..N {
            claimed.push(store.claim(&request).unwrap().claimed.pop().unwrap());
        }
    });
    let complete = pages_written(&store_db.0, || {
        for Claimed { mut task, run } in claimed {
            let version = task.version();
            let event = run.complete(&mut task, Outcome::new(), now).unwrap();
            store.save(&task, version, &[event]).unwrap();
        }
    });
    let store_pages = [insert, claim, complete].map(|pages| pages / N as f64);
    drop(store);

    let raw_db = raw_file(SIZE);
    let mut raw = Raw::open(&raw_db.0, Synchronous::Normal);
    raw.conn
        .execute_batch("PRAGMA wal_autocheckpoint = 0")
        .unwrap();
    let insert = pages_written(&raw_db.0, || {
        for _ in 0..N {
            raw.insert();
        }
    });
    let mut claimed = Vec::with_capacity(N);
    let claim = pages_written(&raw_db.0, || {
        for _ in 0..N {
            claimed.push(raw.claim(&now_text, &lease_text));
        }
    });
    let complete = pages_written(&raw_db.0, || {
        for claim in claimed {
            raw.complete(claim, &now_text);
        }
    });
    let raw_pages = [insert, claim, complete].map(|pages| pages / N as f64);
    let cycle = |pages: [f64; 3]| pages[1] + pages[2];
    let whole = |pages: [f64; 3]| pages.iter().sum::<f64>();
    println!("WAL pages per task ({SIZE} pending rows, {N} tasks):");
    println!("            insert   claim  complete  claim+complete  all three");
    for (name, pages) in [("store", store_pages), ("raw", raw_pages)] {
        println!(
            "  {name:<8} {:>7.2} {:>7.2} {:>9.2} {:>15.2} {:>10.2}",
            pages[0],
            pages[1],
            pages[2],
            cycle(pages),
            whole(pages)
        );
    }
    println!(
        "  ratio store/raw: claim+complete {:.2}x, all three {:.2}x",
        cycle(store_pages) / cycle(raw_pages),
        whole(store_pages) / whole(raw_pages)
    );
}

// ---------------------------------------------------------------------
// heartbeat

const LOGGED: usize = 8_640;

fn heartbeat(c: &mut Criterion) {
    let mut group = c.benchmark_group("heartbeat");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    let at = |seconds: i64| t0() + chrono::Duration::seconds(seconds);

    // The store: one running task, its log 8 640 events long after its
    // creation and start.
    let store_db = Db::new("bench-heartbeat");
    let (id, run) = {
        let store: SqliteStore<NamedKind> =
            SqliteStore::open_with(&store_db.0, &options(Synchronous::Normal)).unwrap();
        let (task, created) = Maker::new(3).task(None, |new| new);
        store.insert(task, created).unwrap();
        let Claimed { mut task, run } = store
            .claim(&ClaimRequest::new(at(1), at(10)))
            .unwrap()
            .claimed
            .pop()
            .unwrap();
        for i in 0..LOGGED {
            let version = task.version();
            let event = run
                .expect_done_at(&mut task, at(100_000 + i as i64), at(2))
                .unwrap();
            store.save(&task, version, &[event]).unwrap();
        }
        let log = store.log(&Scope::Staff, task.id(), 0, usize::MAX).unwrap();
        assert_eq!(log.len(), LOGGED + 2);
        (task.id(), run)
    };

    // The raw queue: one running row, 8 640 events.
    let raw_db = Db::new("bench-heartbeat-raw");
    {
        let mut raw = Raw::open(&raw_db.0, Synchronous::Normal);
        raw.fill(1);
        let (row, _) = raw.claim(&text(now()), &text(lease_until()));
        raw.conn.execute_batch("BEGIN").unwrap();
        for version in 3..3 + LOGGED as i64 {
            raw.conn
                .prepare_cached(RAW_EVENT)
                .unwrap()
                .execute(params![row, version, text(at(2)), raw.event])
                .unwrap();
        }
        raw.conn
            .execute(
                "UPDATE queue SET version = ?1 WHERE id = ?2",
                params![2 + LOGGED as i64, row],
            )
            .unwrap();
        raw.conn.execute_batch("COMMIT").unwrap();
    }

    let mut deadline = at(1_000);
    let mut raw_version = 2 + LOGGED as i64;
    for sync in [Synchronous::Full, Synchronous::Normal] {
        let store: SqliteStore<NamedKind> =
            SqliteStore::open_with(&store_db.0, &options(sync)).unwrap();
        group.bench_function(BenchmarkId::new("store", sync_name(sync)), |b| {
            b.iter(|| {
                deadline += chrono::Duration::seconds(1);
                let mut task = store.get(&Scope::Staff, id).unwrap().unwrap();
                let version = task.version();
                run.heartbeat(&mut task, deadline, None, at(2)).unwrap();
                store.save(&task, version, &[]).unwrap();
                black_box(task.version())
            })
        });
        drop(store);
        let mut raw = Raw::open(&raw_db.0, sync);
        group.bench_function(BenchmarkId::new("raw", sync_name(sync)), |b| {
            b.iter(|| {
                deadline += chrono::Duration::seconds(1);
                raw_version += 1;
                let tx = raw
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .unwrap();
                let moved = tx
                    .prepare_cached(
                        "UPDATE queue SET lease_until = ?1, version = ?2
                         WHERE id = 1 AND version = ?3",
                    )
                    .unwrap()
                    .execute(params![text(deadline), raw_version, raw_version - 1])
                    .unwrap();
                assert_eq!(moved, 1);
                tx.prepare_cached(RAW_EVENT)
                    .unwrap()
                    .execute(params![1, raw_version, text(at(2)), raw.event])
                    .unwrap();
                tx.commit().unwrap();
            })
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------
// claim_behind_held_back

const HELD: usize = 100_000;
const CLAIMABLE: usize = 10_000;

fn held_resource() -> ResourceRef {
    ResourceRef::new("domain", "held.fr")
}

/// A store where a blocking task runs on `held_resource()`, holding back
/// `held` pending tasks there, with `HELD - held` pending tasks not due
/// yet and `CLAIMABLE` due tasks on resources of their own.
fn held_back_file(held: usize) -> (Db, Maker) {
    let db = Db::new("bench-held");
    let store: SqliteStore<NamedKind> =
        SqliteStore::open_with(&db.0, &options(Synchronous::Normal)).unwrap();
    let mut maker = Maker::new(held as u64 + 1);
    let resource = held_resource();
    let (task, created) = maker.task(Some(&resource), |new| new.blocking(true));
    let blocking = task.id();
    store.insert(task, created).unwrap();
    let claimed = store
        .claim(&ClaimRequest::new(now(), lease_until()))
        .unwrap()
        .claimed;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].task.id(), blocking);
    fill(&store, held, || {
        maker.task(Some(&resource), |new| new.priority(1))
    });
    fill(&store, HELD - held, || {
        maker.task(None, |new| new.todo_at(far_away()))
    });
    fill(&store, CLAIMABLE, || maker.due());
    drop(store);
    (db, maker)
}

fn claim_behind_held_back(c: &mut Criterion) {
    let mut group = c.benchmark_group("claim_behind_held_back");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    let request = ClaimRequest::new(now(), lease_until()).limit(1);
    let resource = held_resource();
    for held in [0usize, HELD] {
        let (db, mut maker) = held_back_file(held);
        let store: SqliteStore<NamedKind> =
            SqliteStore::open_with(&db.0, &options(Synchronous::Normal)).unwrap();
        group.bench_with_input(BenchmarkId::new("held_back", held), &held, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let chunk = left.min(CHUNK);
                    left -= chunk;
                    let mut claims = Vec::with_capacity(CHUNK as usize);
                    let started = Instant::now();
                    for _ in 0..chunk {
                        claims.push(store.claim(black_box(&request)).unwrap().claimed);
                    }
                    total += started.elapsed();
                    for claim in claims.into_iter().flatten() {
                        assert_ne!(claim.task.resource(), &resource);
                    }
                    fill(&store, chunk as usize, || maker.due());
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cycle, heartbeat, claim_behind_held_back);

fn main() {
    // The WAL's pages are counted, not timed: skipped when criterion is
    // only asked to list or to run other benchmarks by name.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filtered = args.iter().any(|arg| !arg.starts_with('-'));
    if !args.iter().any(|arg| arg == "--list") && (!filtered || args.iter().any(|a| a == "wal")) {
        wal_pages();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
