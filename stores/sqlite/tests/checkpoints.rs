#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Who copies the WAL back into the database file, on real files: the
//! store's thread under `Checkpoints::Background` (no commit runs one),
//! the commit under `Checkpoints::Inline` and, past the backstop, under
//! `Background` too; every task written is read back after each.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use taskstate::store::{ClaimRequest, Filter, PageRequest, Scope, TaskStore};
use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Task};
use taskstate_sqlite::{
    CHECKPOINT_BACKSTOP, CHECKPOINT_PAGES, CheckpointCounts, Checkpoints, Options, SqliteStore,
    Synchronous, remove_files, temp_path,
};

/// A database file, removed with its side files when dropped.
struct TempDb(PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_files(&self.0).unwrap();
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn open(checkpoints: Checkpoints) -> (TempDb, SqliteStore<NamedKind>) {
    let db = TempDb(temp_path("checkpoints"));
    let options = Options::new()
        .synchronous(Synchronous::Normal)
        .checkpoints(checkpoints);
    let store = SqliteStore::open_with(&db.0, &options).unwrap();
    (db, store)
}

/// The pages in the WAL file beside `db` (its frames: a 32-byte header,
/// then a 24-byte header and a page each).
fn wal_pages(db: &TempDb) -> u64 {
    let mut wal = db.0.as_os_str().to_owned();
    wal.push("-wal");
    let size = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
    size.saturating_sub(32) / (4096 + 24)
}

/// Inserts, claims and completes tasks one commit each until `enough`
/// says so (at most 5 000 tasks): how many.
fn write_until(
    store: &SqliteStore<NamedKind>,
    ids: &mut IdGenerator,
    mut enough: impl FnMut() -> bool,
) -> usize {
    let now = t0() + chrono::Duration::hours(1);
    let request = ClaimRequest::new(now, now + chrono::Duration::minutes(5)).limit(1);
    let mut n = 0;
    while !enough() && n < 5_000 {
        n += 1;
        let new = NewTask::new(
            ids.next_id(t0()),
            NamedKind::new("DomainRenew"),
            Owner::new("alice"),
            ResourceRef::new("domain", format!("d{n}.fr")),
        );
        let (task, created) = Task::create(new, Actor::System, t0()).unwrap();
        store.insert(task, created).unwrap();
        let claimed = store.claim(&request).unwrap().claimed.pop().unwrap();
        let (mut task, run) = (claimed.task, claimed.run);
        let version = task.version();
        let done = run.complete(&mut task, Outcome::new(), now).unwrap();
        store.save(&task, version, &[done]).unwrap();
    }
    n
}

/// Every task of the file, read on a new handle: `written` of them, all
/// done.
fn assert_all_done(db: &TempDb, written: usize) {
    let store: SqliteStore<NamedKind> = SqliteStore::open(&db.0).unwrap();
    let page = store
        .list(&Scope::Staff, &Filter::new(), PageRequest::first(10_000))
        .unwrap();
    assert_eq!(page.tasks.len(), written);
    assert!(
        page.tasks
            .iter()
            .all(|task| task.status() == taskstate::Status::Done)
    );
}

/// Waits up to 30 s for `store`'s counts to satisfy `done`.
fn wait_for(
    store: &SqliteStore<NamedKind>,
    done: impl Fn(CheckpointCounts) -> bool,
) -> CheckpointCounts {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(store.checkpoints()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    store.checkpoints()
}

/// The pages in the WAL (not its file, which never shrinks), read by a
/// checkpoint from a connection of its own.
fn frames_in_wal(db: &TempDb) -> i64 {
    let conn = rusqlite::Connection::open(&db.0).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
        .unwrap()
}

/// A reader holding a snapshot of `db` until it commits: no checkpoint
/// copies a page written after it, nor lets the WAL start again.
fn snapshot(db: &TempDb) -> rusqlite::Connection {
    let reader = rusqlite::Connection::open(&db.0).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _rows: i64 = reader
        .query_row("SELECT count(*) FROM tasks", [], |row| row.get(0))
        .unwrap();
    reader
}

/// Writes `n` tasks as [`write_until`] does.
fn write_tasks(store: &SqliteStore<NamedKind>, ids: &mut IdGenerator, n: usize) -> usize {
    let mut left = n;
    write_until(store, ids, || {
        let done = left == 0;
        left = left.saturating_sub(1);
        done
    })
}

#[test]
fn background_checkpoints_run_on_the_stores_thread_and_no_commit_waits_for_one() {
    let (db, store) = open(Checkpoints::Background);
    let mut ids = IdGenerator::seeded(1);
    // A burst past three thresholds.
    let mut written = write_until(&store, &mut ids, || {
        wal_pages(&db) > u64::from(3 * CHECKPOINT_PAGES)
    });
    let counts = wait_for(&store, |counts| counts.background >= 1);
    assert!(
        counts.background >= 1,
        "no checkpoint on the thread: {counts:?}"
    );
    assert_eq!(counts.inline, 0, "a commit ran a checkpoint: {counts:?}");
    // A reader's snapshot while the writes go on past one more
    // threshold (60 tasks, some 1 600 pages): the thread's checkpoint
    // then cannot copy the pages written after the snapshot.
    let reader = snapshot(&db);
    let before = counts.background;
    written += write_tasks(&store, &mut ids, 60);
    let counts = wait_for(&store, |counts| counts.background > before);
    assert!(counts.background > before, "{counts:?}");
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    // A pause: unasked, the thread tries again and copies the rest, and
    // the next write starts the WAL again from its beginning.
    std::thread::sleep(Duration::from_millis(600));
    written += write_tasks(&store, &mut ids, 1);
    let frames = frames_in_wal(&db);
    assert!(
        frames < 200,
        "the WAL did not start again after the pause: {frames} pages in it"
    );
    // A second burst past one threshold from the new beginning: the
    // thread is asked again (at the first thousand pages, not where the
    // first burst left off).
    let before = store.checkpoints().background;
    let mut tasks = 0;
    written += write_until(&store, &mut ids, || {
        tasks += 1;
        if tasks > 40 {
            std::thread::sleep(Duration::from_millis(5));
        }
        tasks > 100 || store.checkpoints().background > before
    });
    let counts = wait_for(&store, |counts| counts.background > before);
    assert!(
        counts.background > before,
        "the thread was not asked after the WAL started again: {counts:?}"
    );
    assert_eq!(counts.inline, 0, "a commit ran a checkpoint: {counts:?}");
    assert_eq!(counts.failed, 0, "{counts:?}");
    drop(store);
    assert_all_done(&db, written);
}

#[test]
fn inline_checkpoints_run_in_the_commit_that_passes_the_threshold() {
    let (db, store) = open(Checkpoints::Inline);
    let mut ids = IdGenerator::seeded(2);
    let written = write_until(&store, &mut ids, || store.checkpoints().inline >= 2);
    let counts = store.checkpoints();
    assert!(counts.inline >= 2, "{counts:?} after {written} tasks");
    assert_eq!(counts.background, 0, "{counts:?}");
    // SQLite's rule: the WAL never grows far past the threshold.
    assert!(wal_pages(&db) <= u64::from(CHECKPOINT_PAGES) + 50);
    drop(store);
    assert_all_done(&db, written);
}

#[test]
fn a_commit_checkpoints_itself_once_the_wal_passes_the_backstop() {
    let (db, store) = open(Checkpoints::Background);
    let mut ids = IdGenerator::seeded(3);
    // A reader holding a snapshot from the start: no checkpoint can let
    // the WAL start again, so it grows past the backstop.
    let reader = snapshot(&db);
    let written = write_until(&store, &mut ids, || store.checkpoints().inline >= 1);
    // The thread's first checkpoint, which may end after the backstop's.
    let counts = wait_for(&store, |counts| counts.background >= 1);
    assert!(
        counts.inline >= 1,
        "no commit checkpointed: {counts:?}, {} pages",
        wal_pages(&db)
    );
    assert!(wal_pages(&db) >= u64::from(CHECKPOINT_BACKSTOP));
    // The thread was asked at each thousand pages of growth, no more
    // (each ask may be followed by three tries of its own, should the
    // writes slow down): asked at every commit past the threshold, it
    // ran checkpoints back to back, some 950 here.
    let asks = u64::from(CHECKPOINT_BACKSTOP / CHECKPOINT_PAGES);
    assert!(
        (1..=4 * asks).contains(&counts.background),
        "{counts:?}: the thread ran {} checkpoints for {asks} asks",
        counts.background
    );
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    drop(store);
    assert_all_done(&db, written);
}
