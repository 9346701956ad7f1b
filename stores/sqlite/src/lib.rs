//! A [`TaskStore`] over SQLite, through `rusqlite` and its bundled
//! SQLite, and [`AsyncSqliteStore`], the store behind
//! [`AsyncTaskStore`](taskstate::store::AsyncTaskStore).
//!
//! # The schema (version 6)
//!
//! Two tables. `tasks` holds the record: the task as JSON in `body`
//! (identity and state; the log is not in it), and beside it the columns
//! the store queries, derived from the body and rewritten with it on every
//! write:
//!
//! | column | what |
//! |---|---|
//! | `id` | the task id, hyphenated (text order is id order) |
//! | `version` | the task's version: `save` compares and swaps on it |
//! | `owner`, `resource_kind`, `resource_id`, `kind_name`, `status`, `parent` | the listing filters |
//! | `created_at` | RFC 3339 with nanoseconds, fixed width, so text order is time order (every time column is written so, for the years 0 to 9999: an insert, a save or a claim with a time outside them is refused as [`StoreError::InvalidRequest`] before anything is written) |
//! | `priority` | [`Task::priority`]: claims take the highest first |
//! | `unique_key` | [`Task::unique_key`], if any |
//! | `blocking` | [`Task::is_blocking`] when last written |
//! | `in_progress` | whether the status is running, waiting or stalled (what the blocking rule looks at) |
//! | `due_at` | pending tasks only: `todo_at`, or the creation time |
//! | `lease_until` | running and waiting tasks only: the lease deadline |
//! | `retry_at` | failed tasks with an automatic retry scheduled |
//! | `check_at` | waiting tasks only: when to look again, if before the wait's deadline |
//! | `stalled_at` | stalled tasks only: since when (their `updated_at`) |
//! | `done_at` | done and cancelled tasks only: when they settled, for purges |
//! | `quarantined` | 1 once a claim or a sweep met a body that does not read (below) |
//! | `held` | pending tasks only: 1 while a task in progress on the same resource holds it back (below); not from the body |
//! | `listed_status` | the status the status index lists the row under: its `status`, but `pending` for a running row (below) |
//! | `body` | the task, JSON, without its log |
//!
//! `events` holds each task's log, one row per event, keyed by
//! `(task_id, version)`: `action` and `at` (the same fixed-width time
//! text) for a host's audit queries, and the event as JSON in `body`.
//! Rows are only ever appended: an insert writes the creation, a claim
//! its start, a save the events its commands returned (none for a
//! heartbeat), each in the same transaction as the record, so the record
//! and its log never disagree. Reading a task reads one row of `tasks`,
//! whatever the length of its log; [`TaskStore::log`] pages the log by
//! version on the primary key. A purge deletes a task's row and its
//! events in one transaction.
//!
//! `PRAGMA user_version` holds the schema version. [`SqliteStore::open`]
//! creates a new file at the current version and migrates an older one
//! in one transaction, a version at a time: version 2 (no priority, key,
//! progress, stall, settlement or quarantine columns) gets the new
//! columns, and every row's columns are derived again from its body (a
//! body that does not read is quarantined); version 3 gets `held`,
//! computed for every row from the rows in progress, and the claim index
//! made again without the held rows; version 4 loses the index of due
//! rows by time and gets a status index without the running rows;
//! version 5 gets `listed_status`, derived from `status`, and the status
//! index on it (every older file gets the column first, so that the
//! indexes each step makes can read it). Version 1, whose bodies held
//! the log, is refused.
//!
//! # Queries
//!
//! Everything a claim decides is in one SQL query: the due pending rows
//! that are not quarantined, of the kinds asked for (`kind_name IN
//! json_each(?)`), with no task in progress on the same resource where
//! either of the two blocks (`NOT EXISTS` over the partial index of the
//! rows `in_progress = 1`, by resource), in claim order: `priority DESC,
//! due_at, id`, walked on `tasks_claim`, partial on `due_at IS NOT NULL
//! AND held = 0`. Only the rows it returns are decoded.
//!
//! `held` keeps the rows that blocking rule holds back out of that walk,
//! so that a claim behind any number of them costs what a claim behind
//! none does. It is kept in the transaction of every write that changes
//! what is in progress on a resource or adds a pending row there: an
//! insert computes the new row's own flag; a claim's start and a save
//! compute what is in progress on the resource before and after the
//! write (two look-ups on the index of the rows in progress, made by the
//! query that reads the row, so no statement of their own), and when
//! that changes, an `UPDATE` over the resource's rows on `tasks_resource`
//! sets the flag of its pending rows where it differs. A purge deletes
//! settled rows only, which are neither pending nor in progress: it moves
//! no flag. The query's `NOT EXISTS` stays, as the guard of correctness:
//! a row whose `held` is 0 when it should be 1 is walked and left out
//! there, so such a stale flag costs a claim speed, never a wrong start.
//! The other way round (1 where it should be 0; only a hand edit of the
//! rows does that) would keep a task out of claims until its resource's
//! progress next changes or [`SqliteStore::reindex`] runs, which computes
//! every flag again. The claim starts
//! each, saves its row and appends its start event, all in one
//! `IMMEDIATE` transaction, which takes SQLite's write lock at `BEGIN`:
//! no other connection (in this process or another) writes between the
//! query and the starts, so no two claimers ever start the same task. A
//! task started by the claim itself is seen by the same query run again,
//! which the claim does when the rest of its batch shares that task's
//! resource.
//!
//! The `blocking` column is what the task said when it was last written:
//! a host that changes a kind's blocking rule (or its priority, for
//! hosts whose kinds carry them) runs [`SqliteStore::reindex`] once.
//!
//! A unique key is held by a live task (neither done nor cancelled):
//! a `UNIQUE` partial index on `unique_key WHERE status NOT IN ('done',
//! 'cancelled')` makes a second live holder impossible whatever the
//! connections and transactions, and an insert looks the holder up first,
//! in its `IMMEDIATE` transaction, to name it in
//! [`StoreError::KeyTaken`]. A save that settles the holder, or a purge
//! that deletes it, frees the key.
//!
//! Sweeps and purges read partial indexes on `lease_until`, `retry_at`,
//! `check_at`, `stalled_at` and `done_at`, which hold only the rows that
//! have one; `next_due` reads the first of them and seeks the claim index
//! once per priority. Indexes on owner, resource, kind, status, parent
//! and creation serve the listing filters in id order. The status index
//! is on `listed_status`, where a running row stays under pending, so a
//! claim writes no page of it (a completion writes one): a listing of
//! pending tasks walks the pending and running rows in id order and
//! keeps the pending ones, passing no more running rows than the
//! workers hold leases; a listing of running tasks reads them on the
//! lease index and sorts them: its cost follows the number of running
//! tasks, not the page.
//!
//! # Records that do not read
//!
//! A row whose body does not decode (edited by hand, written by a kind
//! that has since lost a variant) never stops the others: a claim, a
//! sweep or a listing skips it and reports it in its `unreadable` list;
//! [`TaskStore::get`] and `save` of it fail with
//! [`StoreError::Unreadable`]. A claim or a sweep that meets such a row
//! in its queue also sets its `quarantined` column, which takes it out of
//! every queue (claims, sweeps, `next_due`, purges), so it is reported
//! once there rather than met by every worker step for ever; listings
//! still report it each time. `SELECT id FROM tasks WHERE quarantined =
//! 1` lists them. Once a body is repaired, [`SqliteStore::reindex`]
//! derives the row's columns again and lifts the quarantine.
//!
//! # Writes
//!
//! Every write runs in an `IMMEDIATE` transaction. A save reads the stored
//! version, the stored record, its columns and the log's last version,
//! checks the save with [`check_save`], and writes the record and appends
//! its events, all under the write lock. The connection waits up to
//! [`BUSY_TIMEOUT`] (or [`Options::busy_timeout`]) for the lock rather
//! than failing, trying again in short jittered sleeps (50 µs to 1 ms)
//! rather than SQLite's own, which grow to 100 ms and let the process
//! that just committed take the lock again and again: three processes on
//! one file each take a fair share of the claims. A failure to get it
//! (`SQLITE_BUSY`, `SQLITE_LOCKED`) is a retryable [`StoreError::Backend`],
//! every other failure of SQLite is not.
//!
//! A save or a claim rewrites the body, the version and only those
//! columns whose value changed (a claim: the status and the due and lease
//! times; a heartbeat: the lease time). SQLite rewrites an index's page
//! whenever an `UPDATE` sets one of its columns, even to the value it
//! had, so writing every column would rewrite a page of each of the
//! fifteen indexes in every commit; writing the changed ones keeps the
//! WAL to the pages a transition really moves. [`SqliteStore::reindex`]
//! still writes every column.
//!
//! # Durability
//!
//! The file is in WAL mode: a commit appends its pages to the `-wal`
//! file, readers do not wait for the writer, and a checkpoint copies the
//! pages back into the database now and then. [`Synchronous`] chooses
//! when SQLite waits for the disk ([`Options::synchronous`]):
//!
//! - [`Synchronous::Full`], the default of [`SqliteStore::open`]: the WAL
//!   is synced at every commit. A write that returned `Ok` survives a
//!   crash of the process, of the operating system and a power failure.
//! - [`Synchronous::Normal`]: the WAL is synced only at checkpoints.
//!   A crash of the process loses nothing (the pages are with the
//!   operating system), but a crash of the operating system or a power
//!   failure can lose the last commits before the next checkpoint: the
//!   file comes back as it was before them, consistent, never corrupt.
//!   A lost claim or completion runs the task again (below); a lost
//!   insert loses the task, so a host whose inserts must not vanish
//!   keeps `Full`, or makes its inserts again after such a crash.
//!
//! Either way the store is at-least-once: a claimed task whose worker
//! dies stays running until its lease ends; then the sweep of expired
//! leases ([`Sweep::ExpiredLeases`], which
//! [`work_once`](taskstate::store::work_once) runs) marks it stalled and
//! requeues it, and it runs again. A provider call the dead worker made
//! may so be made twice: handlers make their effects idempotent, or look
//! first whether they were done.
//!
//! A checkpoint (copying the WAL's pages back into the database file,
//! and syncing both) runs by default on a thread of the store's own
//! ([`Checkpoints::Background`], [`Options::checkpoints`]): a WAL hook on
//! the store's connection asks it at every [`CHECKPOINT_PAGES`] pages the
//! WAL grows, and a commit runs one itself only once the WAL is past
//! [`CHECKPOINT_BACKSTOP`] pages. SQLite's own rule runs each in the
//! commit that takes the WAL past 1 000 pages, which then waits for two
//! syncs: under `Normal`, about 40 % of a claim-and-complete cycle's
//! time. A checkpoint overlapping writes cannot let the WAL start again
//! from its beginning, so under a steady stream of writes the WAL grows
//! to the backstop (about 40 MB) before a commit's checkpoint lets it;
//! after a pause in the writes, the thread's next try does. Checkpoints
//! are `PASSIVE`: they take no lock a writer waits for (only the commit
//! that runs one at the backstop waits, for its own), and what a commit
//! made durable stays so. A host that sets `PRAGMA wal_autocheckpoint`
//! on the store's connection replaces the store's rule with SQLite's.
//!
//! [`SqliteStore::with_transaction`] and [`insert_in`] let a host create a
//! task in the same transaction as its own change, so both commit or
//! neither does.
//!
//! # Async
//!
//! [`AsyncSqliteStore`] (feature `tokio`, on by default) is the store
//! behind [`AsyncTaskStore`](taskstate::store::AsyncTaskStore): each call
//! runs on tokio's blocking pool, so a query or a wait for the write lock
//! never holds up the runtime's workers.

#[cfg(feature = "tokio")]
mod bridge;
mod checkpoint;
mod recent;

#[cfg(feature = "tokio")]
pub use bridge::AsyncSqliteStore;
use checkpoint::Checkpointer;
pub use checkpoint::{CHECKPOINT_BACKSTOP, CHECKPOINT_PAGES, CheckpointCounts, Checkpoints};
use recent::Recent;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, ToSql, Transaction, TransactionBehavior, params,
    params_from_iter,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use taskstate::store::{
    BoxError, ClaimRequest, Claimed, Claims, Filter, Page, PageRequest, Scope, StoreError, Sweep,
    Swept, TaskStore, Unreadable, check_insert, check_save,
};
use taskstate::{Event, Origin, Status, StatusSet, Task, TaskId, TaskKind};

/// How long a connection waits for another one's write lock before it
/// reports the database busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema version this store writes in `PRAGMA user_version`: 2
/// when the log moved out of the record into `events`, 3 with the columns
/// of priorities, unique keys, blocking, stalls, settlements and
/// quarantine, 4 with `held`, which takes the pending rows a blocking
/// task holds back out of the claim index, 5 without the index of due
/// rows by time (`tasks_due`), which every insert, claim and
/// cancellation of a pending row wrote a page of and only
/// [`TaskStore::next_due`] read (it now walks the claim index, one seek
/// per priority), and with running tasks out of the status index, which
/// a claim and a completion each wrote a page of for them, 6 with the
/// status index on `listed_status` (a running row listed under pending),
/// which a claim no longer writes a page of.
pub const SCHEMA_VERSION: i64 = 6;

/// SQLite's `synchronous` setting, which decides when a commit waits
/// for the disk (see [Durability](self#durability)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Synchronous {
    /// `PRAGMA synchronous = FULL`, the default: the WAL is synced at
    /// every commit, so a write that returned survives a power failure.
    /// Each commit waits for one sync of the `-wal` file.
    #[default]
    Full,
    /// `PRAGMA synchronous = NORMAL`: the WAL is synced at checkpoints
    /// only. A power failure or a crash of the operating system can lose
    /// the last commits (never corrupt the file); a crash of the process
    /// loses nothing.
    Normal,
}

impl Synchronous {
    /// The value of `PRAGMA synchronous`.
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// How [`SqliteStore::open_with`] sets up its connection.
///
/// ```no_run
/// use std::time::Duration;
/// use taskstate::NamedKind;
/// use taskstate_sqlite::{Options, SqliteStore, Synchronous};
///
/// let options = Options::new()
///     .synchronous(Synchronous::Normal)
///     .busy_timeout(Duration::from_secs(2));
/// let store: SqliteStore<NamedKind> = SqliteStore::open_with("tasks.sqlite3", &options)?;
/// # Ok::<(), taskstate::store::StoreError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    synchronous: Synchronous,
    busy_timeout: Duration,
    checkpoints: Checkpoints,
}

impl Default for Options {
    fn default() -> Options {
        Options::new()
    }
}

impl Options {
    /// What [`SqliteStore::open`] uses: [`Synchronous::Full`],
    /// [`BUSY_TIMEOUT`] and [`Checkpoints::Background`].
    pub fn new() -> Options {
        Options {
            synchronous: Synchronous::Full,
            busy_timeout: BUSY_TIMEOUT,
            checkpoints: Checkpoints::Background,
        }
    }

    /// When a commit waits for the disk (see [`Synchronous`]).
    #[must_use]
    pub fn synchronous(mut self, synchronous: Synchronous) -> Options {
        self.synchronous = synchronous;
        self
    }

    /// How long the connection waits for another one's write lock
    /// ([`SqliteStore::set_busy_timeout`] changes it later).
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Options {
        self.busy_timeout = timeout;
        self
    }

    /// Who copies the WAL back into the database file (see
    /// [`Checkpoints`]).
    #[must_use]
    pub fn checkpoints(mut self, checkpoints: Checkpoints) -> Options {
        self.checkpoints = checkpoints;
        self
    }
}

/// How many prepared statements a connection keeps: the fixed queries,
/// the listings' and sweeps' variants and the updates of the column sets
/// transitions change.
const STATEMENT_CACHE: usize = 64;

/// The tables of a new file, at [`SCHEMA_VERSION`]; [`INDEXES`] follow.
const TABLES: &str = "
CREATE TABLE tasks (
    id            TEXT PRIMARY KEY NOT NULL,
    version       INTEGER NOT NULL,
    owner         TEXT NOT NULL,
    resource_kind TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    kind_name     TEXT NOT NULL,
    status        TEXT NOT NULL,
    parent        TEXT,
    created_at    TEXT NOT NULL,
    due_at        TEXT,
    lease_until   TEXT,
    retry_at      TEXT,
    check_at      TEXT,
    blocking      INTEGER NOT NULL,
    body          TEXT NOT NULL,
    priority      INTEGER NOT NULL DEFAULT 0,
    unique_key    TEXT,
    in_progress   INTEGER NOT NULL DEFAULT 0,
    stalled_at    TEXT,
    done_at       TEXT,
    quarantined   INTEGER NOT NULL DEFAULT 0,
    held          INTEGER NOT NULL DEFAULT 0,
    listed_status TEXT NOT NULL DEFAULT 'pending'
);
CREATE TABLE events (
    task_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    action  TEXT NOT NULL,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (task_id, version)
) WITHOUT ROWID;
";

/// From version 2 to 3: the new columns, and the index of tasks in
/// progress, which now holds the `blocking` flag. The rows' new columns
/// are derived from their bodies afterwards ([`reindex_rows`]).
const MIGRATE_2_TO_3: &str = "
ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN unique_key TEXT;
ALTER TABLE tasks ADD COLUMN in_progress INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN stalled_at TEXT;
ALTER TABLE tasks ADD COLUMN done_at TEXT;
ALTER TABLE tasks ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS tasks_in_progress;
";

/// From version 3 to 4: the `held` column, and the claim index, which
/// now leaves the held rows out. [`hold_all`] computes the column, and
/// [`INDEXES`] makes the index again.
const MIGRATE_3_TO_4: &str = "
ALTER TABLE tasks ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS tasks_claim;
";

/// Whether the row `tasks` is held back: pending, with a task in progress
/// on its resource where either of the two blocks (the rule of the claim
/// query's `NOT EXISTS`).
const HELD_EXPR: &str = "CASE WHEN tasks.due_at IS NOT NULL AND EXISTS (
        SELECT 1 FROM tasks AS o INDEXED BY tasks_in_progress
        WHERE o.in_progress = 1
          AND o.resource_kind = tasks.resource_kind AND o.resource_id = tasks.resource_id
          AND (tasks.blocking = 1 OR o.blocking = 1))
    THEN 1 ELSE 0 END";

/// From version 4 to 5: no index of due rows by time, and a status index
/// without the running rows, which [`INDEXES`] makes again.
const MIGRATE_4_TO_5: &str = "DROP INDEX IF EXISTS tasks_due; DROP INDEX IF EXISTS tasks_status;";

/// The `listed_status` column of version 6, derived from `status`: every
/// file older than 6 gets it first, since the [`INDEXES`] each later step
/// makes read it.
const ADD_LISTED_STATUS: &str = "
ALTER TABLE tasks ADD COLUMN listed_status TEXT NOT NULL DEFAULT 'pending';
UPDATE tasks SET listed_status = CASE status WHEN 'running' THEN 'pending' ELSE status END;
";

/// From version 5 to 6: the status index on `listed_status`, which
/// [`INDEXES`] makes again.
const MIGRATE_5_TO_6: &str = "DROP INDEX IF EXISTS tasks_status;";

/// The indexes of version 6 (those of earlier versions are kept as they
/// were, but for `tasks_claim`, which version 4 makes again, `tasks_due`,
/// which version 5 drops, and `tasks_status`, which versions 5 and 6 make
/// again).
///
/// `tasks_status` is on `listed_status`, the status but for a running
/// row, which is listed under pending: a claim starts a row without
/// writing a page of it, and a completion writes one (a
/// claim-and-complete cycle wrote 4 pages of it with `status` in the
/// index, 2 with the running rows left out in version 5, 1 now). A
/// listing of pending tasks walks the pending and running rows in id
/// order and keeps the pending ones: the running rows it passes are as
/// many as the workers' leases. A listing of running tasks reads them on
/// `tasks_lease` (every running task has a lease) and sorts them by id:
/// its cost follows the number of running tasks, not the page.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS tasks_claim ON tasks (priority DESC, due_at, id)
    WHERE due_at IS NOT NULL AND held = 0;
CREATE INDEX IF NOT EXISTS tasks_lease ON tasks (lease_until, id) WHERE lease_until IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_retry ON tasks (retry_at, id) WHERE retry_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_check ON tasks (check_at, id) WHERE check_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_stalled ON tasks (stalled_at, id) WHERE stalled_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_done ON tasks (done_at, id) WHERE done_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_in_progress ON tasks (resource_kind, resource_id, blocking)
    WHERE in_progress = 1;
CREATE UNIQUE INDEX IF NOT EXISTS tasks_live_key ON tasks (unique_key)
    WHERE unique_key IS NOT NULL AND status NOT IN ('done', 'cancelled');
CREATE INDEX IF NOT EXISTS tasks_owner ON tasks (owner, id);
CREATE INDEX IF NOT EXISTS tasks_resource ON tasks (resource_kind, resource_id, id);
CREATE INDEX IF NOT EXISTS tasks_kind ON tasks (kind_name, id);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (listed_status, id);
CREATE INDEX IF NOT EXISTS tasks_parent ON tasks (parent, id) WHERE parent IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at);
";

/// Writes a new row. `ON CONFLICT (id)` only: a live unique key taken
/// meanwhile fails the statement (and writes nothing).
const INSERT: &str = "INSERT INTO tasks (id, version, owner, resource_kind, resource_id,
    kind_name, status, parent, created_at, priority, unique_key, blocking, in_progress, due_at,
    lease_until, retry_at, check_at, stalled_at, done_at, listed_status, body, held)
    VALUES (:id, :version, :owner, :resource_kind, :resource_id, :kind_name, :status, :parent,
    :created_at, :priority, :unique_key, :blocking, :in_progress, :due_at, :lease_until,
    :retry_at, :check_at, :stalled_at, :done_at, :listed_status, :body, :held)
    ON CONFLICT (id) DO NOTHING";

/// A compare-and-swap write of every column from the body: `:expected` is
/// the version the caller read. A row written from a body that reads is
/// no longer quarantined.
const UPDATE: &str = "UPDATE tasks SET version = :version, owner = :owner,
    resource_kind = :resource_kind, resource_id = :resource_id, kind_name = :kind_name,
    status = :status, parent = :parent, created_at = :created_at, priority = :priority,
    unique_key = :unique_key, blocking = :blocking, in_progress = :in_progress,
    due_at = :due_at, lease_until = :lease_until, retry_at = :retry_at, check_at = :check_at,
    stalled_at = :stalled_at, done_at = :done_at, listed_status = :listed_status, body = :body,
    quarantined = 0
    WHERE id = :id AND version = :expected";

/// The columns derived from the body, in the order [`Row::derived`] gives
/// them: those a save or a claim compares with the stored ones, and
/// writes only where they differ ([`update_changed`]).
const DERIVED: [&str; 18] = [
    "owner",
    "resource_kind",
    "resource_id",
    "kind_name",
    "status",
    "parent",
    "created_at",
    "priority",
    "unique_key",
    "blocking",
    "in_progress",
    "due_at",
    "lease_until",
    "retry_at",
    "check_at",
    "stalled_at",
    "done_at",
    "listed_status",
];

/// The two columns of [`Progress`] on the resource of the row `t`, that
/// row left out: whether any other task is in progress there, and
/// whether one that is blocks. Read with the row, so that a claim's start
/// and a save need no query of their own for it.
macro_rules! progress_of_others {
    () => {
        "EXISTS (SELECT 1 FROM tasks AS p INDEXED BY tasks_in_progress
             WHERE p.in_progress = 1 AND p.resource_kind = t.resource_kind
               AND p.resource_id = t.resource_id AND p.id != t.id),
         EXISTS (SELECT 1 FROM tasks AS p INDEXED BY tasks_in_progress
             WHERE p.in_progress = 1 AND p.resource_kind = t.resource_kind
               AND p.resource_id = t.resource_id AND p.blocking = 1 AND p.id != t.id)"
    };
}

/// Whether another row on the resource of the row `t` is pending (and so
/// may have a `held` to change), looked up on `tasks_resource` only when
/// `$when` (an SQL condition) says the write changes what is in progress
/// there: the walk passes the resource's settled rows too. 1 when not
/// looked up.
macro_rules! others_pending_when {
    ($when:literal) => {
        concat!(
            "CASE WHEN ",
            $when,
            " THEN EXISTS (SELECT 1 FROM tasks AS q INDEXED BY tasks_resource
                 WHERE q.resource_kind = t.resource_kind AND q.resource_id = t.resource_id
                   AND q.id != t.id AND q.due_at IS NOT NULL)
             ELSE 1 END"
        )
    };
}

/// What a save reads of the stored row: the version, the body, the
/// [`DERIVED`] columns, `held`, what else is in progress on its resource,
/// and whether another row there is pending, when the write (whose
/// `in_progress` and `blocking` are `?2` and `?3`) changes one of the
/// two.
const STORED: &str = concat!(
    "SELECT version, body, owner, resource_kind, resource_id, kind_name,
    status, parent, created_at, priority, unique_key, blocking, in_progress, due_at,
    lease_until, retry_at, check_at, stalled_at, done_at, listed_status, held, ",
    progress_of_others!(),
    ", ",
    others_pending_when!("t.in_progress != ?2 OR t.blocking != ?3"),
    " FROM tasks AS t WHERE t.id = ?1"
);

/// Appends one event to a task's log. No `ON CONFLICT`: an event that
/// would replace another is an error, never a silent overwrite.
const APPEND: &str = "INSERT INTO events (task_id, version, action, at, body)
    VALUES (?1, ?2, ?3, ?4, ?5)";

/// The due pending rows a claim may start, in claim order, after a
/// cursor: `?1` the claim's time, `?2` the kinds as a JSON array (or
/// NULL for every kind), `?3`..`?5` the cursor's priority, due time and id
/// (NULL for the start), `?6` the batch's length. After the body come the
/// stored [`DERIVED`] columns, which the start compares its own with, and
/// what else is in progress on the row's resource. A
/// row is held back when a task in progress on its resource blocks, or
/// when it blocks and any task is in progress there.
///
/// `INDEXED BY` pins the plan: the walk in claim order on `tasks_claim`,
/// which stops at the batch's length, and the look-up of tasks in progress
/// on the small partial index. Left to itself, SQLite may take the range
/// `due_at <= ?1` on another index and sort every due row for each claim,
/// and look tasks in progress up among all the resource's rows.
const CANDIDATES: &str = concat!(
    "SELECT t.id, t.resource_kind, t.resource_id, t.priority, t.due_at, t.body,
    t.owner, t.resource_kind, t.resource_id, t.kind_name, t.status, t.parent, t.created_at,
    t.priority, t.unique_key, t.blocking, t.in_progress, t.due_at, t.lease_until, t.retry_at,
    t.check_at, t.stalled_at, t.done_at, t.listed_status, ",
    progress_of_others!(),
    ", ",
    others_pending_when!("1"),
    "
    FROM tasks AS t INDEXED BY tasks_claim
    WHERE t.due_at IS NOT NULL AND t.held = 0 AND t.due_at <= ?1 AND t.quarantined = 0
      AND (?2 IS NULL OR t.kind_name IN (SELECT value FROM json_each(?2)))
      AND (?5 IS NULL OR t.priority < ?3
           OR (t.priority = ?3 AND (t.due_at > ?4 OR (t.due_at = ?4 AND t.id > ?5))))
      AND NOT EXISTS (
          SELECT 1 FROM tasks AS o INDEXED BY tasks_in_progress
          WHERE o.in_progress = 1
            AND o.resource_kind = t.resource_kind AND o.resource_id = t.resource_id
            AND (t.blocking = 1 OR o.blocking = 1))
    ORDER BY t.priority DESC, t.due_at, t.id
    LIMIT ?6"
);

/// The earliest time anything is due ([`TaskStore::next_due`]); `?1` the
/// kinds as a JSON array, or NULL.
const NEXT_DUE: &str = "WITH RECURSIVE levels(priority) AS (
    SELECT max(priority) FROM tasks INDEXED BY tasks_claim
        WHERE due_at IS NOT NULL AND held = 0
    UNION ALL
    SELECT (SELECT max(t.priority) FROM tasks AS t INDEXED BY tasks_claim
            WHERE t.due_at IS NOT NULL AND t.held = 0 AND t.priority < levels.priority)
    FROM levels WHERE levels.priority IS NOT NULL
)
SELECT min(at) FROM (
    SELECT (SELECT t.due_at FROM tasks AS t INDEXED BY tasks_claim
            WHERE t.due_at IS NOT NULL AND t.held = 0 AND t.priority = levels.priority
              AND t.quarantined = 0
              AND (?1 IS NULL OR t.kind_name IN (SELECT value FROM json_each(?1)))
              AND NOT EXISTS (
                  SELECT 1 FROM tasks AS o INDEXED BY tasks_in_progress
                  WHERE o.in_progress = 1
                    AND o.resource_kind = t.resource_kind AND o.resource_id = t.resource_id
                    AND (t.blocking = 1 OR o.blocking = 1))
            ORDER BY t.due_at LIMIT 1) AS at
    FROM levels WHERE levels.priority IS NOT NULL
    UNION ALL
    SELECT (SELECT lease_until FROM tasks WHERE lease_until IS NOT NULL AND quarantined = 0
            ORDER BY lease_until LIMIT 1)
    UNION ALL
    SELECT (SELECT retry_at FROM tasks WHERE retry_at IS NOT NULL AND quarantined = 0
            ORDER BY retry_at LIMIT 1)
    UNION ALL
    SELECT (SELECT stalled_at FROM tasks WHERE stalled_at IS NOT NULL AND quarantined = 0
            ORDER BY stalled_at LIMIT 1)
)";

/// How many candidate rows a claim reads at a time.
const CLAIM_BATCH: i64 = 64;

/// How many rows [`reindex_rows`] reads at a time.
const REINDEX_BATCH: i64 = 256;

/// A task store in one SQLite database file.
///
/// One connection behind a mutex makes it `Send + Sync` (for a kind `K`
/// that is `Send + Sync`: the store keeps the last records it wrote or
/// read); several stores (or processes) may open the same file, and
/// SQLite's locking keeps their writes apart. `K` is the host's kind
/// type, which the tasks' JSON carries.
///
/// A save checks the new record against the stored one, which it takes
/// from the last 64 records this handle wrote or read when the stored
/// body is byte for byte the one it kept with it (the run's claim, a
/// previous save, a `get` before an update), and decodes otherwise (a
/// kind's serde must round-trip, as for any store that keeps records as
/// JSON).
#[derive(Debug)]
pub struct SqliteStore<K> {
    /// Dropped first: its thread's connection closes before the store's,
    /// whose close (the file's last) checkpoints and removes the WAL.
    checkpointer: Checkpointer,
    conn: Mutex<Connection>,
    /// How long a write waits for the lock, in nanoseconds: what
    /// [`busy`] reads, through [`arm`], on the thread holding `conn`.
    busy_timeout: AtomicU64,
    /// The records this handle wrote or read last: a save that replaces
    /// one of them does not decode the stored body. Taken only while
    /// `conn` is held.
    recent: Mutex<Recent<K>>,
}

/// What [`SqliteStore::reindex`] did.
#[derive(Debug, Default)]
pub struct Reindexed {
    /// Rows whose columns were derived again from their bodies.
    pub rows: usize,
    /// Rows whose bodies do not read: quarantined.
    pub unreadable: Vec<Unreadable>,
}

impl<K> SqliteStore<K>
where
    K: TaskKind + Serialize + DeserializeOwned,
{
    /// Opens (or creates) the database at `path`, in WAL mode with
    /// `synchronous = FULL`, a busy timeout of [`BUSY_TIMEOUT`] and its
    /// checkpoints on a thread of its own ([`Options::new`]): creates the `tasks` and `events` tables and
    /// their indexes in a new file, and migrates a file of an older schema
    /// (see the [module docs](self)), in one transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if SQLite cannot open the file, or it holds
    /// a schema this store cannot read (version 1, or newer than
    /// [`SCHEMA_VERSION`]).
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore<K>, StoreError> {
        SqliteStore::open_with(path, &Options::new())
    }

    /// Opens (or creates) the database at `path` as [`open`](Self::open)
    /// does, with the `synchronous` setting, busy timeout and checkpoint
    /// rule of `options`.
    /// The setting is the connection's: stores on the same file may
    /// choose differently.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_with(
        path: impl AsRef<Path>,
        options: &Options,
    ) -> Result<SqliteStore<K>, StoreError> {
        let mut conn = Connection::open(path).map_err(backend)?;
        conn.busy_handler(Some(busy)).map_err(backend)?;
        arm(options.busy_timeout);
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // The query planner stability guarantee: a plan never depends on
        // the values bound to it. Without it, a statement whose `LIMIT`
        // or range is a parameter is marked for a new plan at each
        // binding, and the bundled SQLite (built with STAT4) prepared the
        // claim's query again at every claim, a fifth of its time. The
        // plans that matter are pinned with `INDEXED BY` anyway.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(backend)?;
        // WAL: readers do not wait for the writer, and a commit is one
        // append. `journal_mode` answers with the mode it set.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(backend)?;
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {}",
            options.synchronous.pragma()
        ))
        .map_err(backend)?;
        let tx = immediate(&mut conn)?;
        let mut version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(backend)?;
        if (2..SCHEMA_VERSION).contains(&version) {
            tx.execute_batch(ADD_LISTED_STATUS).map_err(backend)?;
        }
        while version != SCHEMA_VERSION {
            version = match version {
                0 => {
                    tx.execute_batch(TABLES).map_err(backend)?;
                    tx.execute_batch(INDEXES).map_err(backend)?;
                    SCHEMA_VERSION
                }
                // The indexes of version 3 and on come with the step to 4,
                // whose claim index reads `held`.
                2 => {
                    tx.execute_batch(MIGRATE_2_TO_3).map_err(backend)?;
                    reindex_rows::<K>(&tx)?;
                    3
                }
                3 => {
                    tx.execute_batch(MIGRATE_3_TO_4).map_err(backend)?;
                    tx.execute_batch(INDEXES).map_err(backend)?;
                    hold_all(&tx)?;
                    4
                }
                4 => {
                    tx.execute_batch(MIGRATE_4_TO_5).map_err(backend)?;
                    tx.execute_batch(INDEXES).map_err(backend)?;
                    5
                }
                5 => {
                    tx.execute_batch(MIGRATE_5_TO_6).map_err(backend)?;
                    tx.execute_batch(INDEXES).map_err(backend)?;
                    6
                }
                other => {
                    return Err(StoreError::backend(
                        format!(
                            "the database has schema version {other}; this store reads \
                             versions 2 to {SCHEMA_VERSION}"
                        ),
                        false,
                    ));
                }
            };
            tx.execute_batch(&format!("PRAGMA user_version = {version}"))
                .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        let checkpointer = Checkpointer::start(&mut conn, options)?;
        Ok(SqliteStore {
            checkpointer,
            conn: Mutex::new(conn),
            busy_timeout: AtomicU64::new(nanos(options.busy_timeout)),
            recent: Mutex::new(Recent::new()),
        })
    }

    /// Derives every row's columns again from its body, in one
    /// transaction: after a change of a kind's rules (whether it blocks),
    /// or to lift the quarantine of bodies repaired by hand. Rows whose
    /// bodies still do not read are quarantined and reported.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub fn reindex(&self) -> Result<Reindexed, StoreError> {
        let mut conn = self.lock()?;
        let tx = immediate(&mut conn)?;
        let reindexed = reindex_rows::<K>(&tx)?;
        hold_all(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(reindexed)
    }
}

impl<K> SqliteStore<K> {
    /// Runs `work` in one `IMMEDIATE` transaction on the store's
    /// connection, and commits if it returns `Ok`; an `Err` (or a panic)
    /// rolls everything back.
    ///
    /// This is how a host creates a task together with its own change: do
    /// the host's writes with `tx` and add the task with [`insert_in`],
    /// and both are kept or neither is. Inside `work`, use only `tx`: the
    /// store's own methods would wait for the connection `work` holds.
    ///
    /// # Errors
    ///
    /// `work`'s error, or a [`StoreError::Backend`] if the transaction
    /// cannot begin or commit.
    pub fn with_transaction<T, E>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.lock()?;
        let tx = immediate(&mut conn)?;
        let value = work(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(value)
    }

    /// How long this store's connection waits for another one's write
    /// lock ([`BUSY_TIMEOUT`] from `open`); past it, a write fails with a
    /// retryable [`StoreError::Backend`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<(), StoreError> {
        let _conn = self.lock()?;
        self.busy_timeout.store(nanos(timeout), Ordering::Relaxed);
        Ok(())
    }

    /// How long this store's connection waits for another one's write
    /// lock.
    pub fn busy_timeout(&self) -> Duration {
        Duration::from_nanos(self.busy_timeout.load(Ordering::Relaxed))
    }

    /// How many checkpoints this handle's commits and its thread ran
    /// (see [`Checkpoints`]).
    ///
    /// ```
    /// use taskstate::NamedKind;
    /// use taskstate_sqlite::{Checkpoints, Options, SqliteStore, remove_files, temp_path};
    ///
    /// let path = temp_path("example-checkpoints");
    /// // SQLite's own rule: the commit past 1 000 pages checkpoints.
    /// let options = Options::new().checkpoints(Checkpoints::Inline);
    /// let store: SqliteStore<NamedKind> = SqliteStore::open_with(&path, &options)?;
    /// let counts = store.checkpoints();
    /// assert_eq!((counts.background, counts.inline, counts.failed), (0, 0, 0));
    /// drop(store);
    /// remove_files(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoints(&self) -> CheckpointCounts {
        self.checkpointer.counts()
    }

    /// The records this handle wrote or read last. A poisoned lock is
    /// taken all the same: what is kept is only used where the stored
    /// body is byte for byte the one kept with it.
    fn recent(&self) -> MutexGuard<'_, Recent<K>> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection, for this thread, with the busy timeout armed.
    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::backend("the connection's lock is poisoned", false))?;
        arm(self.busy_timeout());
        Ok(conn)
    }
}

/// A duration in nanoseconds, at most `u64::MAX` (584 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The longest sleep of [`busy`] between two tries, in microseconds.
const BUSY_SLEEP_MICROS: u64 = 1000;

thread_local! {
    /// The busy timeout of the connection this thread holds (set by
    /// [`arm`]), and when its current wait for the lock began.
    static BUSY: Cell<(Duration, Option<Instant>)> = const { Cell::new((BUSY_TIMEOUT, None)) };
}

/// Sets the busy timeout [`busy`] applies on this thread: called with the
/// connection's mutex held, before any statement.
fn arm(timeout: Duration) {
    BUSY.with(|busy| busy.set((timeout, None)));
}

/// The busy handler of every connection: SQLite calls it, on the thread
/// running the statement, each time the lock it wants is taken, with the
/// number of times it has called it for this wait. It sleeps between
/// 1/20 and 1 of [`BUSY_SLEEP_MICROS`], jittered by the retry count, the
/// process and the thread, and gives up (`false`: the statement fails
/// with `SQLITE_BUSY`) once the wait has lasted the busy timeout.
///
/// SQLite's own handler (`busy_timeout`) sleeps 1, 2, 5, 10, 15, 20, 25,
/// 25, 25, 50, 50 and then 100 ms between tries: a connection that has
/// waited a while sleeps long, while the one that just committed takes
/// the lock again at once, so under contention one process took nearly
/// every claim. Short sleeps, jittered so that waiters do not wake
/// together, give each a fair chance at the lock.
fn busy(retries: i32) -> bool {
    let now = Instant::now();
    let (timeout, began) = BUSY.with(|busy| {
        let (timeout, began) = busy.get();
        let began = match began {
            Some(began) if retries > 0 => began,
            _ => now,
        };
        busy.set((timeout, Some(began)));
        (timeout, began)
    });
    let waited = now.saturating_duration_since(began);
    let Some(left) = timeout.checked_sub(waited).filter(|left| !left.is_zero()) else {
        return false;
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (retries, std::process::id(), std::thread::current().id()).hash(&mut hasher);
    let micros = BUSY_SLEEP_MICROS / 20 + hasher.finish() % (BUSY_SLEEP_MICROS * 19 / 20);
    std::thread::sleep(Duration::from_micros(micros).min(left));
    true
}

/// Begins an `IMMEDIATE` transaction: the write lock from `BEGIN` on.
fn immediate(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)
}

/// Inserts `task` with `created`, the first event of its log (what
/// [`Task::create`] returns), in `tx`, the host's transaction: both are
/// stored if and when `tx` commits, together with whatever else `tx`
/// wrote.
///
/// # Errors
///
/// [`StoreError::Refused`] if `created` is not the task's creation at
/// version 1; [`StoreError::Duplicate`] if its id is stored already;
/// [`StoreError::KeyTaken`] if a live task holds its unique key;
/// [`StoreError::Backend`] if the write fails. On an error, nothing of the
/// task is written in `tx` (the host decides whether to commit the rest).
pub fn insert_in<K: TaskKind + Serialize>(
    tx: &Transaction<'_>,
    task: &Task<K>,
    created: &Event<K>,
) -> Result<(), StoreError> {
    // A savepoint: the row is written before the event, and the host
    // commits its own change whatever this returned, so a failed append
    // must take the row back with it.
    tx.execute_batch("SAVEPOINT taskstate_insert_in")
        .map_err(backend)?;
    let inserted = insert_rows(tx, task, created);
    let end = if inserted.is_ok() {
        "RELEASE taskstate_insert_in"
    } else {
        "ROLLBACK TO taskstate_insert_in; RELEASE taskstate_insert_in"
    };
    match tx.execute_batch(end) {
        Ok(()) => inserted,
        Err(error) => Err(StoreError::backend(
            format!(
                "the insert of task {} could not be {}: {error}; the transaction must not commit",
                task.id(),
                if inserted.is_ok() {
                    "released"
                } else {
                    "rolled back"
                }
            ),
            false,
        )),
    }
}

/// Checks that `created` starts the log of `task`, that its id is free
/// and that no live task holds its key, then writes the row and the first
/// event. The row goes first, so a refused row writes nothing.
fn insert_rows<K: TaskKind + Serialize>(
    conn: &Connection,
    task: &Task<K>,
    created: &Event<K>,
) -> Result<(), StoreError> {
    check_insert(task, created)?;
    let row = Row::of(task)?;
    let event = EventRow::of(task.id(), created)?;
    let exists = conn
        .prepare_cached("SELECT 1 FROM tasks WHERE id = ?1")
        .and_then(|mut statement| statement.exists([&row.id]))
        .map_err(backend)?;
    if exists {
        return Err(StoreError::Duplicate { id: task.id() });
    }
    if let Some(key) = &row.unique_key
        && let Some(holder) = key_holder(conn, key)?
    {
        return Err(StoreError::KeyTaken {
            key: key.clone(),
            holder,
        });
    }
    // A new row is pending: it changes what is held on its resource only
    // by being held itself.
    let held = keep_held(conn, &row, None)?;
    let mut params = row.params();
    params.push((":held", &held));
    let inserted = conn
        .prepare_cached(INSERT)
        .and_then(|mut statement| statement.execute(params.as_slice()));
    match inserted {
        Ok(0) => Err(StoreError::Duplicate { id: task.id() }),
        Ok(_) => event.append(conn),
        // Taken between the look-up and the write: only a host's deferred
        // transaction lets another connection in there.
        Err(error) if is_unique_violation(&error) => match &row.unique_key {
            Some(key) => match key_holder(conn, key)? {
                Some(holder) => Err(StoreError::KeyTaken {
                    key: key.clone(),
                    holder,
                }),
                None => Err(backend(error)),
            },
            None => Err(backend(error)),
        },
        Err(error) => Err(backend(error)),
    }
}

/// The live task that holds `key`, if any.
fn key_holder(conn: &Connection, key: &str) -> Result<Option<TaskId>, StoreError> {
    let holder: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM tasks
             WHERE unique_key = ?1 AND status NOT IN ('done', 'cancelled') LIMIT 1",
        )
        .and_then(|mut statement| statement.query_row([key], |row| row.get(0)).optional())
        .map_err(backend)?;
    holder.as_deref().map(parse_id).transpose()
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    error
        .sqlite_error()
        .is_some_and(|error| error.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// A version read back from SQLite.
fn stored_version(id: &str, version: i64) -> Result<u64, StoreError> {
    u64::try_from(version)
        .map_err(|_| StoreError::backend(format!("task {id} has version {version}"), false))
}

/// Replaces the row `row` describes if its version is `expected`; the
/// number of rows written (0 or 1).
fn update_row(conn: &Connection, row: &Row, expected: u64) -> Result<usize, StoreError> {
    let expected = sql_version(expected)?;
    let mut params = row.params();
    params.push((":expected", &expected));
    conn.prepare_cached(UPDATE)
        .and_then(|mut statement| statement.execute(params.as_slice()))
        .map_err(backend)
}

/// Writes the row `row` describes if its version is `expected`: the
/// version, the body, and those [`DERIVED`] columns whose bit is set in
/// `changed` ([`Row::changed`]); the number of rows written (0 or 1).
/// A row written from a body that reads is no longer quarantined (a
/// column no index holds: free to write). `held`, if given, is written
/// too.
fn update_changed(
    conn: &Connection,
    row: &Row,
    changed: u32,
    held: Option<bool>,
    expected: u64,
) -> Result<usize, StoreError> {
    let expected = sql_version(expected)?;
    let derived = row.derived();
    // Parameters in the order they appear (`?` numbers itself): the
    // text is pushed, never formatted.
    let mut sql = String::with_capacity(256);
    sql.push_str("UPDATE tasks SET version = ?, body = ?, quarantined = 0");
    if let Some(held) = held {
        sql.push_str(if held { ", held = 1" } else { ", held = 0" });
    }
    let mut values: Vec<ToSqlOutput<'_>> = Vec::new();
    for (index, (name, value)) in DERIVED.iter().zip(derived).enumerate() {
        if changed & (1 << index) != 0 {
            sql.push_str(", ");
            sql.push_str(name);
            sql.push_str(" = ?");
            values.push(ToSqlOutput::Borrowed(value));
        }
    }
    sql.push_str(" WHERE id = ? AND version = ?");
    let mut params: Vec<&dyn ToSql> = vec![&row.version, &row.body];
    params.extend(values.iter().map(|value| value as &dyn ToSql));
    params.push(&row.id);
    params.push(&expected);
    conn.prepare_cached(&sql)
        .and_then(|mut statement| statement.execute(params.as_slice()))
        .map_err(backend)
}

/// What is in progress on one resource, one row left out: whether any
/// task is, and whether one that is blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Progress {
    any: bool,
    blocking: bool,
}

impl Progress {
    /// With one more row, in progress or not, blocking or not.
    fn with(self, in_progress: bool, blocking: bool) -> Progress {
        Progress {
            any: self.any || in_progress,
            blocking: self.blocking || (in_progress && blocking),
        }
    }

    /// Whether it holds back a pending task that blocks (or not).
    fn holds(self, blocking: bool) -> bool {
        self.blocking || (blocking && self.any)
    }
}

/// What is in progress on the resource `(kind, id)`, the row `except`
/// left out: two look-ups on the small index of the rows in progress.
fn progress_on(
    conn: &Connection,
    kind: &str,
    id: &str,
    except: &str,
) -> Result<Progress, StoreError> {
    conn.prepare_cached(
        "SELECT
             EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_in_progress
                     WHERE in_progress = 1 AND resource_kind = ?1 AND resource_id = ?2
                       AND id != ?3),
             EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_in_progress
                     WHERE in_progress = 1 AND resource_kind = ?1 AND resource_id = ?2
                       AND blocking = 1 AND id != ?3)",
    )
    .and_then(|mut statement| {
        statement.query_row(params![kind, id, except], |row| {
            Ok(Progress {
                any: row.get(0)?,
                blocking: row.get(1)?,
            })
        })
    })
    .map_err(backend)
}

/// Sets `held` of the pending rows on the resource `(kind, id)` but
/// `except` to what `progress` (everything in progress there) says, in
/// those rows where it differs: a walk of the resource's rows on
/// `tasks_resource`.
fn hold_pending(
    conn: &Connection,
    kind: &str,
    id: &str,
    except: &str,
    progress: Progress,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE tasks INDEXED BY tasks_resource
         SET held = CASE WHEN ?4 THEN 1 WHEN ?5 THEN blocking ELSE 0 END
         WHERE resource_kind = ?1 AND resource_id = ?2 AND id != ?3 AND due_at IS NOT NULL
           AND held != CASE WHEN ?4 THEN 1 WHEN ?5 THEN blocking ELSE 0 END",
    )
    .and_then(|mut statement| {
        statement.execute(params![kind, id, except, progress.blocking, progress.any])
    })
    .map_err(backend)?;
    Ok(())
}

/// A row as stored before a write, as far as `held` is concerned: its
/// resource, whether it was in progress, whether it blocked, what else
/// was in progress on its resource, and whether another row there may be
/// pending (false only when it was looked up and none is).
struct Before<'a> {
    resource_kind: &'a str,
    resource_id: &'a str,
    in_progress: bool,
    blocking: bool,
    others: Progress,
    others_pending: bool,
}

/// [`Before`] as a save reads it, with the stored `held`.
struct Held {
    resource_kind: String,
    resource_id: String,
    in_progress: bool,
    blocking: bool,
    others: Progress,
    others_pending: bool,
    held: bool,
}

impl Held {
    fn before(&self) -> Before<'_> {
        Before {
            resource_kind: &self.resource_kind,
            resource_id: &self.resource_id,
            in_progress: self.in_progress,
            blocking: self.blocking,
            others: self.others,
            others_pending: self.others_pending,
        }
    }
}

/// Keeps `held` exact around the write of `row` (over `before`, the row
/// as stored; `None` for an insert), in the write's transaction: sets
/// `held` of the other pending rows on its resource when what is in
/// progress there changes and there are any, and returns the row's own
/// `held`.
fn keep_held(
    conn: &Connection,
    row: &Row,
    before: Option<&Before<'_>>,
) -> Result<bool, StoreError> {
    let same = before.is_none_or(|before| {
        before.resource_kind == row.resource_kind && before.resource_id == row.resource_id
    });
    // What else is in progress there, as read with the row when the row
    // stays on its resource (the write lock is held since, so it holds).
    let others = match before {
        Some(before) if same => before.others,
        _ => progress_on(conn, &row.resource_kind, &row.resource_id, &row.id)?,
    };
    let was = match before {
        Some(before) if same => others.with(before.in_progress, before.blocking),
        _ => others,
    };
    let now = others.with(row.in_progress, row.blocking);
    let others_pending = match before {
        Some(before) if same => before.others_pending,
        _ => true,
    };
    if was != now && others_pending {
        hold_pending(conn, &row.resource_kind, &row.resource_id, &row.id, now)?;
    }
    if let Some(before) = before
        && !same
    {
        // A row moved to another resource (only a body edited by hand
        // does that): what it leaves behind.
        let left = before.others;
        if left.with(before.in_progress, before.blocking) != left {
            hold_pending(
                conn,
                before.resource_kind,
                before.resource_id,
                &row.id,
                left,
            )?;
        }
    }
    Ok(row.due_at.is_some() && others.holds(row.blocking))
}

/// Computes `held` of every row again (a migration, a reindex).
fn hold_all(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&format!(
        "UPDATE tasks SET held = {HELD_EXPR} WHERE held != {HELD_EXPR}"
    ))
    .map_err(backend)
}

/// Takes the row `id` out of every queue: its body does not read.
fn quarantine(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tasks SET quarantined = 1 WHERE id = ?1")
        .and_then(|mut statement| statement.execute([id]))
        .map_err(backend)?;
    Ok(())
}

/// Derives the columns of every row again from its body; quarantines
/// those whose bodies do not read.
fn reindex_rows<K>(conn: &Connection) -> Result<Reindexed, StoreError>
where
    K: TaskKind + Serialize + DeserializeOwned,
{
    let mut reindexed = Reindexed::default();
    let mut after = String::new();
    loop {
        let batch: Vec<(String, i64, Vec<u8>)> = conn
            .prepare_cached(
                "SELECT id, version, body FROM tasks WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_map(params![after, REINDEX_BATCH], |row| {
                        Ok((row.get(0)?, row.get(1)?, body(row, 2)?))
                    })?
                    .collect()
            })
            .map_err(backend)?;
        let Some((last, _, _)) = batch.last() else {
            return Ok(reindexed);
        };
        after = last.clone();
        for (id, version, body) in batch {
            let task_id = parse_id(&id)?;
            match decode::<K>(task_id, &body) {
                Ok(task) => {
                    update_row(conn, &Row::of(&task)?, stored_version(&id, version)?)?;
                    reindexed.rows += 1;
                }
                Err(reason) => {
                    quarantine(conn, &id)?;
                    reindexed.unreadable.push(Unreadable {
                        id: task_id,
                        reason: reason.to_string(),
                    });
                }
            }
        }
    }
}

/// The owner a scope restricts to, as the `?2 IS NULL OR owner = ?2` of
/// the lookups binds it.
fn scope_owner(scope: &Scope) -> Option<&str> {
    match scope {
        Scope::Staff => None,
        Scope::Owner(owner) => Some(owner.as_str()),
    }
}

/// A task's row: its columns, derived from the task.
struct Row {
    id: String,
    version: i64,
    owner: String,
    resource_kind: String,
    resource_id: String,
    kind_name: String,
    status: &'static str,
    parent: Option<String>,
    created_at: String,
    priority: i32,
    unique_key: Option<String>,
    blocking: bool,
    in_progress: bool,
    due_at: Option<String>,
    lease_until: Option<String>,
    retry_at: Option<String>,
    check_at: Option<String>,
    stalled_at: Option<String>,
    done_at: Option<String>,
    /// The status the status index lists the row under: a running row
    /// under pending (see [`INDEXES`]).
    listed_status: &'static str,
    body: String,
}

impl Row {
    /// The row's values by column name, which [`INSERT`] and [`UPDATE`]
    /// bind.
    fn params(&self) -> Vec<(&'static str, &dyn ToSql)> {
        vec![
            (":id", &self.id),
            (":version", &self.version),
            (":owner", &self.owner),
            (":resource_kind", &self.resource_kind),
            (":resource_id", &self.resource_id),
            (":kind_name", &self.kind_name),
            (":status", &self.status),
            (":parent", &self.parent),
            (":created_at", &self.created_at),
            (":priority", &self.priority),
            (":unique_key", &self.unique_key),
            (":blocking", &self.blocking),
            (":in_progress", &self.in_progress),
            (":due_at", &self.due_at),
            (":lease_until", &self.lease_until),
            (":retry_at", &self.retry_at),
            (":check_at", &self.check_at),
            (":stalled_at", &self.stalled_at),
            (":done_at", &self.done_at),
            (":listed_status", &self.listed_status),
            (":body", &self.body),
        ]
    }

    /// The [`DERIVED`] columns' values, in their order.
    fn derived(&self) -> [ValueRef<'_>; 18] {
        fn text(text: &str) -> ValueRef<'_> {
            ValueRef::Text(text.as_bytes())
        }
        fn maybe(text: Option<&String>) -> ValueRef<'_> {
            text.map_or(ValueRef::Null, |text| ValueRef::Text(text.as_bytes()))
        }
        [
            text(&self.owner),
            text(&self.resource_kind),
            text(&self.resource_id),
            text(&self.kind_name),
            text(self.status),
            maybe(self.parent.as_ref()),
            text(&self.created_at),
            ValueRef::Integer(i64::from(self.priority)),
            maybe(self.unique_key.as_ref()),
            ValueRef::Integer(i64::from(self.blocking)),
            ValueRef::Integer(i64::from(self.in_progress)),
            maybe(self.due_at.as_ref()),
            maybe(self.lease_until.as_ref()),
            maybe(self.retry_at.as_ref()),
            maybe(self.check_at.as_ref()),
            maybe(self.stalled_at.as_ref()),
            maybe(self.done_at.as_ref()),
            text(self.listed_status),
        ]
    }

    /// Which [`DERIVED`] columns differ from `stored` (the stored row's,
    /// in the same order): bit `i` for column `i`. A column missing from
    /// `stored` differs.
    fn changed(&self, stored: &[ValueRef<'_>]) -> u32 {
        self.derived()
            .iter()
            .enumerate()
            .filter(|&(index, value)| stored.get(index) != Some(value))
            .fold(0, |mask, (index, _)| mask | (1 << index))
    }

    fn of<K: TaskKind + Serialize>(task: &Task<K>) -> Result<Row, StoreError> {
        let status = task.status();
        let when = |cond: bool, at: Option<DateTime<Utc>>| match at {
            Some(at) if cond => stamp(at).map(Some),
            _ => Ok(None),
        };
        Ok(Row {
            id: task.id().to_string(),
            version: sql_version(task.version())?,
            owner: task.owner().as_str().to_owned(),
            resource_kind: task.resource().kind.clone(),
            resource_id: task.resource().id.clone(),
            kind_name: task.kind().name().to_owned(),
            status: status.as_str(),
            parent: task.parent().map(|parent| parent.to_string()),
            created_at: stamp(task.created_at())?,
            priority: task.priority(),
            unique_key: task.unique_key().map(str::to_owned),
            blocking: task.is_blocking(),
            in_progress: status.is_in_progress(),
            due_at: when(
                status == Status::Pending,
                Some(task.todo_at().unwrap_or(task.created_at())),
            )?,
            lease_until: when(
                status.is_leased(),
                task.lease().map(|lease| lease.expires_at()),
            )?,
            retry_at: when(status == Status::Failed, task.next_retry_at())?,
            check_at: when(status == Status::Waiting, task.check_due_at())?,
            stalled_at: when(status == Status::Stalled, Some(task.updated_at()))?,
            done_at: when(
                matches!(status, Status::Done | Status::Cancelled),
                task.done_at(),
            )?,
            listed_status: listed_status(status),
            body: serde_json::to_string(task).map_err(|error| {
                StoreError::backend(
                    format!("task {} does not serialize: {error}", task.id()),
                    false,
                )
            })?,
        })
    }
}

/// The status the status index lists a row of `status` under: its own,
/// but pending for a running row ([`INDEXES`]; [`ADD_LISTED_STATUS`] says
/// the same in SQL).
fn listed_status(status: Status) -> &'static str {
    match status {
        Status::Running => Status::Pending.as_str(),
        other => other.as_str(),
    }
}

/// An event's row in `events`.
struct EventRow {
    task_id: String,
    version: i64,
    action: &'static str,
    at: String,
    body: String,
}

impl EventRow {
    fn of<K: Serialize>(id: TaskId, event: &Event<K>) -> Result<EventRow, StoreError> {
        Ok(EventRow {
            task_id: id.to_string(),
            version: sql_version(event.version)?,
            action: event.action().as_str(),
            at: stamp(event.at)?,
            body: serde_json::to_string(event).map_err(|error| {
                StoreError::backend(
                    format!(
                        "event {} of task {id} does not serialize: {error}",
                        event.version
                    ),
                    false,
                )
            })?,
        })
    }

    fn append(&self, conn: &Connection) -> Result<(), StoreError> {
        conn.prepare_cached(APPEND)
            .and_then(|mut statement| {
                statement.execute(params![
                    self.task_id,
                    self.version,
                    self.action,
                    self.at,
                    self.body
                ])
            })
            .map_err(backend)?;
        Ok(())
    }
}

/// A time as stored: RFC 3339 in UTC with nanoseconds, always the same
/// width within the years 0 to 9999, so that text order is time order. A
/// time outside them is the caller's to change: refused as
/// [`StoreError::InvalidRequest`], with nothing written.
fn stamp(at: DateTime<Utc>) -> Result<String, StoreError> {
    if !(0..=9999).contains(&at.year()) {
        return Err(StoreError::InvalidRequest {
            reason: OUT_OF_YEARS,
        });
    }
    Ok(nanos_text(at))
}

/// Why a time outside the years 0 to 9999 is refused.
const OUT_OF_YEARS: &str = "a time outside the years 0 to 9999, which this store keeps";

/// `at` in RFC 3339 with nine digits of fraction and `Z`, as
/// `to_rfc3339_opts(SecondsFormat::Nanos, true)` writes it, without
/// `chrono`'s general formatter for the years 0 to 9999 (every stored
/// time), which took about 2 % of a claim-and-complete cycle.
fn nanos_text(at: DateTime<Utc>) -> String {
    let (date, time) = (at.date_naive(), at.time());
    let year = u32::try_from(date.year()).ok().filter(|year| *year <= 9999);
    let nanos = time.nanosecond();
    let (Some(year), true) = (year, nanos < 1_000_000_000) else {
        return at.to_rfc3339_opts(SecondsFormat::Nanos, true);
    };
    let mut text = *b"0000-00-00T00:00:00.000000000Z";
    let fields = [
        (4, year),
        (7, date.month()),
        (10, date.day()),
        (13, time.hour()),
        (16, time.minute()),
        (19, time.second()),
        (29, nanos),
    ];
    for (end, value) in fields {
        let mut value = value;
        // Each field's digits end before its separator, last digit first.
        for digit in text.iter_mut().take(end).rev() {
            if !digit.is_ascii_digit() || value == 0 {
                break;
            }
            // `value % 10` is a digit: the cast keeps it.
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// A time a query compares stored times with: its stamp, or for a time
/// outside the years stored times cover, a text before (`""`) or after
/// (`"~"`) every stamp.
fn bound(at: DateTime<Utc>) -> String {
    match at.year() {
        ..0 => String::new(),
        10_000.. => "~".to_owned(),
        _ => nanos_text(at),
    }
}

/// A stored time read back.
fn parse_stamp(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| {
            StoreError::backend(
                format!("the stored time {text:?} does not read: {error}"),
                false,
            )
        })
}

fn sql_version(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version)
        .map_err(|_| StoreError::backend(format!("version {version} does not fit SQLite"), false))
}

/// A row limit for SQL.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A set of kind names as the JSON array `json_each` reads.
fn kinds_json(kinds: Option<&BTreeSet<String>>) -> Result<Option<String>, StoreError> {
    kinds
        .map(serde_json::to_string)
        .transpose()
        .map_err(|error| StoreError::backend(error, false))
}

/// A failure of SQLite: retryable when the database was busy or locked
/// by another connection.
fn backend(error: rusqlite::Error) -> StoreError {
    let retryable = matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    StoreError::backend(error, retryable)
}

/// A stored id read back.
fn parse_id(id: &str) -> Result<TaskId, StoreError> {
    id.parse().map_err(|error| {
        StoreError::backend(
            format!("the stored id {id:?} does not read: {error}"),
            false,
        )
    })
}

/// The bytes of a stored body, whatever SQLite holds there (a body edited
/// into a blob or a number decodes as the error it is).
fn body(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Vec<u8>> {
    Ok(match row.get_ref(index)? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes.to_vec(),
        ValueRef::Null => Vec::new(),
        ValueRef::Integer(n) => n.to_string().into_bytes(),
        ValueRef::Real(x) => x.to_string().into_bytes(),
    })
}

/// Reads the stored body of task `id` back; deserializing checks the
/// state's invariants (not the log, which is not in the body). A body
/// that does not decode, or is another task's, is the error returned.
fn decode<K>(id: TaskId, body: &[u8]) -> Result<Task<K>, BoxError>
where
    K: TaskKind + DeserializeOwned,
{
    let task: Task<K> = serde_json::from_slice(body)?;
    if task.id() != id {
        return Err(format!("the body is the record of task {}", task.id()).into());
    }
    Ok(task)
}

/// Runs `sql`, which selects `id, body` and then, optionally, the
/// cursor's columns, and reads every task, setting aside those that do not
/// read. Returns the tasks, the unreadable rows and the last row's id.
fn query_tasks<K, P>(conn: &Connection, sql: &str, params: P) -> Result<Read<K>, StoreError>
where
    K: TaskKind + DeserializeOwned,
    P: rusqlite::Params,
{
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let rows = statement
        .query_map(params, |row| Ok((row.get::<_, String>(0)?, body(row, 1)?)))
        .map_err(backend)?;
    let mut read = Read {
        tasks: Vec::new(),
        unreadable: Vec::new(),
        rows: 0,
        last: None,
    };
    for row in rows {
        let (id, body) = row.map_err(backend)?;
        let task_id = parse_id(&id)?;
        read.rows += 1;
        read.last = Some(task_id);
        match decode(task_id, &body) {
            Ok(task) => read.tasks.push(task),
            Err(reason) => read.unreadable.push(Unreadable {
                id: task_id,
                reason: reason.to_string(),
            }),
        }
    }
    Ok(read)
}

/// What [`query_tasks`] read.
struct Read<K> {
    tasks: Vec<Task<K>>,
    unreadable: Vec<Unreadable>,
    /// How many rows, read or not.
    rows: usize,
    /// The id of the last row.
    last: Option<TaskId>,
}

/// A row a claim may start.
struct Candidate {
    id: String,
    resource: (String, String),
    priority: i32,
    due_at: String,
    body: Vec<u8>,
    /// The stored [`DERIVED`] columns.
    stored: Vec<Value>,
    /// What else is in progress on its resource.
    others: Progress,
    /// Whether another row on its resource is pending.
    others_pending: bool,
}

/// One batch of the rows a claim may start, up to `limit`, after
/// `cursor` (the priority, due time and id of the last row looked at).
fn candidates(
    conn: &Connection,
    now: &str,
    kinds: Option<&str>,
    cursor: Option<&(i32, String, String)>,
    limit: i64,
) -> Result<Vec<Candidate>, StoreError> {
    let (priority, due, id) = match cursor {
        Some((priority, due, id)) => (Some(*priority), Some(due.as_str()), Some(id.as_str())),
        None => (None, None, None),
    };
    let mut statement = conn.prepare_cached(CANDIDATES).map_err(backend)?;
    let rows = statement
        .query_map(params![now, kinds, priority, due, id, limit], |row| {
            Ok(Candidate {
                id: row.get(0)?,
                resource: (row.get(1)?, row.get(2)?),
                priority: row.get(3)?,
                due_at: row.get(4)?,
                body: body(row, 5)?,
                stored: (6..6 + DERIVED.len())
                    .map(|index| row.get(index))
                    .collect::<Result<_, _>>()?,
                others: Progress {
                    any: row.get(6 + DERIVED.len())?,
                    blocking: row.get(7 + DERIVED.len())?,
                },
                others_pending: row.get(8 + DERIVED.len())?,
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}

/// The query of a listing page, and its values.
fn listing(scope: &Scope, filter: &Filter, page: PageRequest) -> (String, Vec<Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut clause = |sql: &str, value: Value| {
        clauses.push(sql.to_owned());
        values.push(value);
    };
    if let Scope::Owner(owner) = scope {
        clause("owner = ?", Value::Text(owner.as_str().to_owned()));
    }
    if let Some(owner) = &filter.owner {
        clause("owner = ?", Value::Text(owner.as_str().to_owned()));
    }
    if let Some(resource) = &filter.resource {
        clause("resource_kind = ?", Value::Text(resource.kind.clone()));
        clause("resource_id = ?", Value::Text(resource.id.clone()));
    }
    if let Some(kind) = &filter.kind {
        clause("kind_name = ?", Value::Text(kind.clone()));
    }
    if let Some(parent) = filter.parent {
        clause("parent = ?", Value::Text(parent.to_string()));
    }
    if let Some(from) = filter.created_from {
        clause("created_at >= ?", Value::Text(bound(from)));
    }
    if let Some(until) = filter.created_until {
        clause("created_at < ?", Value::Text(bound(until)));
    }
    if let Some(after) = page.after {
        clause("id > ?", Value::Text(after.to_string()));
    }
    // The terms that let SQLite use the index that holds the statuses
    // asked for (see [`INDEXES`]).
    let running_only = filter.statuses == StatusSet::of(&[Status::Running]);
    if running_only {
        clauses.push("lease_until IS NOT NULL".to_owned());
    } else if !filter.statuses.is_empty() {
        let listed: BTreeSet<&str> = filter.statuses.iter().map(listed_status).collect();
        let marks = vec!["?"; listed.len()].join(", ");
        clauses.push(format!("listed_status IN ({marks})"));
        values.extend(listed.into_iter().map(|name| Value::Text(name.to_owned())));
    }
    if !filter.statuses.is_empty() {
        let marks = vec!["?"; filter.statuses.iter().count()].join(", ");
        clauses.push(format!("status IN ({marks})"));
        values.extend(
            filter
                .statuses
                .iter()
                .map(|status| Value::Text(status.as_str().to_owned())),
        );
    }
    // Read from the body: a failure's origin and a done task's
    // warnings have no column of their own, and the status index
    // narrows the rows to read first when the filter names one.
    if let Some(origin) = filter.failure_origin {
        clauses.push(format!(
            "(status <> '{failed}' OR \
             COALESCE(json_extract(body, '$.state.failure.origin'), '{customer}') = ?)",
            failed = Status::Failed.as_str(),
            customer = Origin::Customer.as_str(),
        ));
        values.push(Value::Text(origin.as_str().to_owned()));
    }
    if let Some(with) = filter.warnings {
        clauses.push(format!(
            "(status <> '{done}' OR \
             (COALESCE(json_array_length(body, '$.state.warnings'), 0) > 0) = ?)",
            done = Status::Done.as_str(),
        ));
        values.push(Value::Integer(i64::from(with)));
    }
    values.push(Value::Integer(sql_limit(page.limit)));
    let condition = if clauses.is_empty() {
        "1".to_owned()
    } else {
        clauses.join(" AND ")
    };
    // Left to itself, SQLite walks every row in id order for running
    // tasks, however few they are.
    let index = if running_only {
        " INDEXED BY tasks_lease"
    } else {
        ""
    };
    let sql = format!("SELECT id, body FROM tasks{index} WHERE {condition} ORDER BY id LIMIT ?");
    (sql, values)
}

impl<K> TaskStore<K> for SqliteStore<K>
where
    K: TaskKind + Serialize + DeserializeOwned,
{
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = immediate(&mut conn)?;
        // An error drops `tx`, which rolls back: nothing is written.
        insert_rows(&tx, &task, &created)?;
        tx.commit().map_err(backend)
    }

    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        let conn = self.lock()?;
        let body: Option<Vec<u8>> = conn
            .prepare_cached("SELECT body FROM tasks WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)")
            .and_then(|mut statement| {
                statement
                    .query_row(params![id.to_string(), scope_owner(scope)], |row| {
                        body(row, 0)
                    })
                    .optional()
            })
            .map_err(backend)?;
        let Some(body) = body else {
            return Ok(None);
        };
        let mut recent = self.recent();
        let task = match recent.find(id, &body) {
            Some(task) => task.clone(),
            None => {
                let task = decode::<K>(id, &body)
                    .map_err(|source| StoreError::Unreadable { id, source })?;
                // The save after this read finds the record here.
                recent.keep(body, task.clone());
                task
            }
        };
        Ok(Some(task).filter(|task| scope.sees(task.owner())))
    }

    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event<K>>, StoreError> {
        let mut conn = self.lock()?;
        // One read transaction: the task's visibility and its events are
        // read from the same snapshot.
        let tx = conn.transaction().map_err(backend)?;
        let key = id.to_string();
        let visible = tx
            .prepare_cached("SELECT 1 FROM tasks WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)")
            .and_then(|mut statement| statement.exists(params![key, scope_owner(scope)]))
            .map_err(backend)?;
        if !visible {
            return Err(StoreError::NotFound { id });
        }
        // Versions above i64::MAX are never stored: after one, nothing.
        let Ok(after) = i64::try_from(after) else {
            return Ok(Vec::new());
        };
        let mut statement = tx
            .prepare_cached(
                "SELECT version, body FROM events WHERE task_id = ?1 AND version > ?2
                 ORDER BY version LIMIT ?3",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map(params![key, after, sql_limit(limit)], |row| {
                Ok((row.get::<_, i64>(0)?, body(row, 1)?))
            })
            .map_err(backend)?;
        let mut events = Vec::new();
        for row in rows {
            let (version, body) = row.map_err(backend)?;
            let event: Event<K> =
                serde_json::from_slice(&body).map_err(|error| StoreError::Unreadable {
                    id,
                    source: format!("stored event {version} does not read: {error}").into(),
                })?;
            if i64::try_from(event.version).ok() != Some(version) {
                return Err(StoreError::Unreadable {
                    id,
                    source: format!(
                        "stored event {version} says it is version {}",
                        event.version
                    )
                    .into(),
                });
            }
            events.push(event);
        }
        Ok(events)
    }

    fn save(&self, task: &Task<K>, expected: u64, events: &[Event<K>]) -> Result<(), StoreError> {
        // Everything the write needs, before the transaction: a task or an
        // event the store cannot hold is refused without a write.
        let row = Row::of(task)?;
        let appended = events
            .iter()
            .map(|event| EventRow::of(task.id(), event))
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.lock()?;
        let tx = immediate(&mut conn)?;
        let stored: Option<(i64, Vec<u8>, u32, Held)> = tx
            .prepare_cached(STORED)
            .and_then(|mut statement| {
                statement
                    .query_row(params![row.id, row.in_progress, row.blocking], |r| {
                        let columns = (2..2 + DERIVED.len())
                            .map(|index| r.get_ref(index))
                            .collect::<Result<Vec<_>, _>>()?;
                        let held = Held {
                            resource_kind: r.get(3)?,
                            resource_id: r.get(4)?,
                            in_progress: r.get(12)?,
                            blocking: r.get(11)?,
                            others: Progress {
                                any: r.get(3 + DERIVED.len())?,
                                blocking: r.get(4 + DERIVED.len())?,
                            },
                            others_pending: r.get(5 + DERIVED.len())?,
                            held: r.get(2 + DERIVED.len())?,
                        };
                        Ok((r.get(0)?, body(r, 1)?, row.changed(&columns), held))
                    })
                    .optional()
            })
            .map_err(backend)?;
        let Some((found, body, changed, before)) = stored else {
            return Err(StoreError::NotFound { id: task.id() });
        };
        let found = stored_version(&row.id, found)?;
        if found != expected {
            return Err(StoreError::Conflict {
                id: task.id(),
                expected,
                found,
            });
        }
        let mut recent = self.recent();
        let decoded: Task<K>;
        let stored = match recent.find(task.id(), &body) {
            Some(stored) => stored,
            None => {
                decoded = decode(task.id(), &body).map_err(|source| StoreError::Unreadable {
                    id: task.id(),
                    source,
                })?;
                &decoded
            }
        };
        // The version of the log's last event, as the stored record
        // tells it: its version less the heartbeats since, which log
        // nothing (every save checks the two agree), so the events table
        // is not read.
        let heartbeats = stored.lease().map_or(0, |lease| lease.heartbeats());
        let last_logged = stored.version().saturating_sub(u64::from(heartbeats));
        check_save(stored, task, expected, last_logged, events)?;
        let held = keep_held(&tx, &row, Some(&before.before()))?;
        let held = (held != before.held).then_some(held);
        // The write lock is ours since `BEGIN`, so the version cannot have
        // moved; the compare-and-swap costs nothing and says so.
        if update_changed(&tx, &row, changed, held, expected)? != 1 {
            return Err(StoreError::backend(
                format!("task {} moved under the write lock", task.id()),
                false,
            ));
        }
        for event in &appended {
            event.append(&tx)?;
        }
        tx.commit().map_err(backend)?;
        recent.keep(row.body.into_bytes(), task.clone());
        Ok(())
    }

    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> Result<Page<K>, StoreError> {
        if page.limit == 0 {
            return Ok(Page {
                tasks: Vec::new(),
                next: None,
                unreadable: Vec::new(),
            });
        }
        let (sql, values) = listing(scope, filter, page);
        let conn = self.lock()?;
        let read: Read<K> = query_tasks(&conn, &sql, params_from_iter(values))?;
        drop(conn);
        // The cursor is the last row read, whether or not it reads or the
        // check below keeps it, so a page never hides the rows after it.
        let next = if read.rows == page.limit {
            read.last
        } else {
            None
        };
        // Every filter is in the SQL; the crate's own rule has the last
        // word all the same.
        let tasks = read
            .tasks
            .into_iter()
            .filter(|task| filter.matches(scope, task))
            .collect();
        Ok(Page {
            tasks,
            next,
            unreadable: read.unreadable,
        })
    }

    fn claim(&self, request: &ClaimRequest) -> Result<Claims<K>, StoreError> {
        request.check()?;
        // The times a start writes, refused before anything is read.
        stamp(request.now)?;
        stamp(request.lease_until)?;
        let now = bound(request.now);
        let kinds = kinds_json(request.kinds.as_ref())?;
        let mut conn = self.lock()?;
        let tx = immediate(&mut conn)?;
        let mut recent = self.recent();
        let mut claims = Claims::default();
        let mut cursor: Option<(i32, String, String)> = None;
        'scan: while claims.claimed.len() < request.limit {
            // No more rows than the claim still wants: a row read is a
            // body copied and a resource looked up.
            let wanted = sql_limit(request.limit - claims.claimed.len()).min(CLAIM_BATCH);
            let batch = candidates(&tx, &now, kinds.as_deref(), cursor.as_ref(), wanted)?;
            if batch.is_empty() {
                break;
            }
            for (index, candidate) in batch.iter().enumerate() {
                if claims.claimed.len() == request.limit {
                    break 'scan;
                }
                cursor = Some((
                    candidate.priority,
                    candidate.due_at.clone(),
                    candidate.id.clone(),
                ));
                let id = parse_id(&candidate.id)?;
                let mut task: Task<K> = match decode(id, &candidate.body) {
                    Ok(task) => task,
                    Err(reason) => {
                        quarantine(&tx, &candidate.id)?;
                        claims.unreadable.push(Unreadable {
                            id,
                            reason: reason.to_string(),
                        });
                        continue;
                    }
                };
                let expected = task.version();
                // Not startable after all (the columns disagree with the
                // body): left for a later claim.
                let Ok((run, started)) =
                    task.start(request.lease_until, request.worker.clone(), request.now)
                else {
                    continue;
                };
                let row = Row::of(&task)?;
                let stored: Vec<ValueRef<'_>> =
                    candidate.stored.iter().map(ValueRef::from).collect();
                let changed = row.changed(&stored);
                let event = EventRow::of(task.id(), &started)?;
                // The task starts: it may hold back the pending rows on its
                // resource. It was not held (the claim index has no held
                // row), and a running task is not.
                let before = Before {
                    resource_kind: &candidate.resource.0,
                    resource_id: &candidate.resource.1,
                    in_progress: candidate.stored.get(10) == Some(&Value::Integer(1)),
                    blocking: candidate.stored.get(9) == Some(&Value::Integer(1)),
                    others: candidate.others,
                    others_pending: candidate.others_pending,
                };
                let held = keep_held(&tx, &row, Some(&before))?;
                let held = held.then_some(true);
                // The write lock is ours, so the version cannot have moved;
                // the compare-and-swap costs nothing and says so. The start
                // is logged with the record, in the same transaction.
                if update_changed(&tx, &row, changed, held, expected)? != 1 {
                    return Err(StoreError::backend(
                        format!("task {id} moved under the write lock"),
                        false,
                    ));
                }
                event.append(&tx)?;
                // Kept before the commit: should it fail, the stored body
                // is not this one, and a save decodes it.
                recent.keep(row.body.into_bytes(), task.clone());
                claims.claimed.push(Claimed { task, run });
                // The task just started may hold back the rest of the batch
                // on its resource: the query decides again.
                let rest = batch.get(index + 1..).unwrap_or_default();
                if rest
                    .iter()
                    .any(|other| other.resource == candidate.resource)
                {
                    continue 'scan;
                }
            }
        }
        tx.commit().map_err(backend)?;
        Ok(claims)
    }

    fn sweep(
        &self,
        sweep: Sweep,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Swept<K>, StoreError> {
        let (column, now) = match sweep {
            Sweep::ExpiredLeases => ("lease_until", Some(bound(now))),
            Sweep::RetriesDue => ("retry_at", Some(bound(now))),
            Sweep::ChecksDue => ("check_at", Some(bound(now))),
            Sweep::Stalled => ("stalled_at", None),
        };
        let sql = format!(
            "SELECT id, body, {column} FROM tasks
             WHERE {column} IS NOT NULL AND (?1 IS NULL OR {column} <= ?1) AND quarantined = 0
               AND (?2 IS NULL OR ({column}, id) > (?2, ?3))
             ORDER BY {column}, id LIMIT ?4"
        );
        let mut swept = Swept::default();
        let mut conn = self.lock()?;
        {
            // One snapshot for every page.
            let tx = conn.transaction().map_err(backend)?;
            let mut cursor: Option<(String, String)> = None;
            while swept.tasks.len() < limit {
                let want = limit - swept.tasks.len();
                let (at, id) = match &cursor {
                    Some((at, id)) => (Some(at.as_str()), Some(id.as_str())),
                    None => (None, None),
                };
                let rows: Vec<(String, Vec<u8>, String)> = tx
                    .prepare_cached(&sql)
                    .and_then(|mut statement| {
                        statement
                            .query_map(params![now, at, id, sql_limit(want)], |row| {
                                Ok((row.get(0)?, body(row, 1)?, row.get(2)?))
                            })?
                            .collect()
                    })
                    .map_err(backend)?;
                let Some((last_id, _, last_at)) = rows.last() else {
                    break;
                };
                cursor = Some((last_at.clone(), last_id.clone()));
                for (id, body, _) in rows {
                    let task_id = parse_id(&id)?;
                    match decode(task_id, &body) {
                        Ok(task) => swept.tasks.push(task),
                        Err(reason) => swept.unreadable.push(Unreadable {
                            id: task_id,
                            reason: reason.to_string(),
                        }),
                    }
                }
            }
        }
        if !swept.unreadable.is_empty() {
            let tx = immediate(&mut conn)?;
            for unreadable in &swept.unreadable {
                quarantine(&tx, &unreadable.id.to_string())?;
            }
            tx.commit().map_err(backend)?;
        }
        Ok(swept)
    }

    fn next_due(
        &self,
        kinds: Option<&BTreeSet<String>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let kinds = kinds_json(kinds)?;
        let conn = self.lock()?;
        let due: Option<String> = conn
            .prepare_cached(NEXT_DUE)
            .and_then(|mut statement| statement.query_row([kinds], |row| row.get(0)))
            .map_err(backend)?;
        due.as_deref().map(parse_stamp).transpose()
    }

    fn purge(&self, settled_before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        let before = bound(settled_before);
        let mut conn = self.lock()?;
        let tx = immediate(&mut conn)?;
        let ids: Vec<String> = tx
            .prepare_cached(
                "SELECT id FROM tasks
                 WHERE done_at IS NOT NULL AND done_at < ?1 AND quarantined = 0
                 ORDER BY done_at, id LIMIT ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_map(params![before, sql_limit(limit)], |row| row.get(0))?
                    .collect()
            })
            .map_err(backend)?;
        for id in &ids {
            tx.prepare_cached("DELETE FROM events WHERE task_id = ?1")
                .and_then(|mut statement| statement.execute([id]))
                .map_err(backend)?;
            tx.prepare_cached("DELETE FROM tasks WHERE id = ?1")
                .and_then(|mut statement| statement.execute([id]))
                .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(ids.len())
    }
}

/// A fresh database path in the system's temporary directory, unique to
/// this process and call: `taskstate-{label}-{pid}-{time}-{n}.sqlite3`.
pub fn temp_path(label: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    std::env::temp_dir().join(format!(
        "taskstate-{label}-{}-{nanos}-{n}.sqlite3",
        std::process::id()
    ))
}

/// Removes the database at `path` and SQLite's files beside it (the WAL,
/// its shared memory and a rollback journal), those that exist.
///
/// # Errors
///
/// The first failure to remove a file that exists.
pub fn remove_files(path: &Path) -> std::io::Result<()> {
    let mut result = Ok(());
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound && result.is_ok() => {
                result = Err(error);
            }
            _ => {}
        }
    }
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;
    use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef};

    use super::*;

    /// A store on a new file, with `options`; the file goes with the test.
    struct Db(PathBuf);

    impl Drop for Db {
        fn drop(&mut self) {
            remove_files(&self.0).unwrap();
        }
    }

    proptest::proptest! {
        /// A stored time is chrono's nine-digit text, whatever the time
        /// (the fast path for the years stores keep, chrono's beyond).
        #[test]
        fn a_stamp_is_chronos_nanosecond_text(
            seconds in proptest::prop_oneof![
                // The years 0 to 9999, and every time chrono holds.
                -62_167_219_200i64..=253_402_300_799,
                DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
            ],
            nanos in proptest::prop_oneof![0u32..1_000_000_000, 1_000_000_000u32..2_000_000_000],
        ) {
            if let Some(at) = DateTime::from_timestamp(seconds, nanos) {
                proptest::prop_assert_eq!(nanos_text(at), at.to_rfc3339_opts(SecondsFormat::Nanos, true));
            }
        }
    }

    /// A store with `synchronous = NORMAL` on a new file named after
    /// `label`; the file goes with the returned [`Db`].
    fn normal_store<K: TaskKind + Serialize + DeserializeOwned>(
        label: &str,
    ) -> (Db, SqliteStore<K>) {
        let db = Db(temp_path(label));
        let options = Options::new().synchronous(Synchronous::Normal);
        let store = SqliteStore::open_with(&db.0, &options).unwrap();
        (db, store)
    }

    /// A pending task of acme's on example.fr, made at `t0`.
    fn one_task<K: TaskKind>(seed: u64, kind: K, t0: DateTime<Utc>) -> (Task<K>, Event<K>) {
        let new = NewTask::new(
            IdGenerator::seeded(seed).next_id(t0),
            kind,
            Owner::new("acme"),
            ResourceRef::new("domain", "example.fr"),
        );
        Task::create(new, Actor::System, t0).unwrap()
    }

    fn pragma(store: &SqliteStore<NamedKind>, name: &str) -> String {
        store
            .lock()
            .unwrap()
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, Value>(0))
            .map(|value| match value {
                Value::Integer(n) => n.to_string(),
                Value::Text(text) => text,
                other => format!("{other:?}"),
            })
            .unwrap()
    }

    /// SQLite's plan of the listing page of `statuses` in `scope`.
    fn plan_of(store: &SqliteStore<NamedKind>, scope: &Scope, statuses: &[Status]) -> String {
        let filter = Filter::new().statuses(StatusSet::of(statuses));
        let (sql, values) = listing(scope, &filter, PageRequest::first(10));
        let conn = store.lock().unwrap();
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let details = statement
            .query_map(params_from_iter(values), |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        details.join("; ")
    }

    #[test]
    fn a_listing_of_one_status_reads_the_index_that_holds_it() {
        let db = Db(temp_path("status-plans"));
        let store: SqliteStore<NamedKind> = SqliteStore::open(&db.0).unwrap();
        // Every status but running on the status index, in id order: no
        // sort, the walk stops at the page.
        for status in Status::ALL.into_iter().filter(|s| *s != Status::Running) {
            let plan = plan_of(&store, &Scope::Staff, &[status]);
            assert!(
                plan.contains("USING INDEX tasks_status"),
                "{status}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{status}: {plan}");
        }
        // Running tasks, which that index lists under pending, on the
        // lease index (every running task has a lease), sorted.
        let plan = plan_of(&store, &Scope::Staff, &[Status::Running]);
        assert!(plan.contains("USING INDEX tasks_lease"), "{plan}");
        // A customer's listing of any status but running walks the
        // customer's rows or the status's, in id order; of running tasks,
        // the running ones.
        let alice = Scope::Owner(Owner::new("alice"));
        let plan = plan_of(&store, &alice, &[Status::Running]);
        assert!(plan.contains("USING INDEX tasks_lease"), "{plan}");
        for status in Status::ALL.into_iter().filter(|s| *s != Status::Running) {
            let plan = plan_of(&store, &alice, &[status]);
            assert!(
                plan.contains("USING INDEX tasks_owner")
                    || plan.contains("USING INDEX tasks_status"),
                "{status}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{status}: {plan}");
        }
    }

    #[test]
    fn open_is_full_and_open_with_chooses() {
        let db = Db(temp_path("options"));
        let store: SqliteStore<NamedKind> = SqliteStore::open(&db.0).unwrap();
        assert_eq!(pragma(&store, "journal_mode"), "wal");
        // 2 is FULL, 1 NORMAL.
        assert_eq!(pragma(&store, "synchronous"), "2");
        let options = Options::new()
            .synchronous(Synchronous::Normal)
            .busy_timeout(Duration::from_millis(250));
        assert_eq!(Options::default(), Options::new());
        let normal: SqliteStore<NamedKind> = SqliteStore::open_with(&db.0, &options).unwrap();
        assert_eq!(pragma(&normal, "synchronous"), "1");
        assert_eq!(normal.busy_timeout(), Duration::from_millis(250));
        // The setting is the connection's: the first store keeps FULL.
        assert_eq!(pragma(&store, "synchronous"), "2");
        assert_eq!(store.busy_timeout(), BUSY_TIMEOUT);
    }

    /// The rows whose `held` is not what the blocking rule says.
    fn wrongly_held(store: &SqliteStore<NamedKind>) -> i64 {
        store
            .lock()
            .unwrap()
            .query_row(
                &format!("SELECT count(*) FROM tasks WHERE held != {HELD_EXPR}"),
                [],
                |row| row.get(0),
            )
            .unwrap()
    }

    fn held_ids(store: &SqliteStore<NamedKind>) -> Vec<String> {
        store
            .lock()
            .unwrap()
            .prepare("SELECT id FROM tasks WHERE held = 1 ORDER BY id")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn held_follows_every_write_that_changes_what_is_in_progress() {
        let db = Db(temp_path("held"));
        let store: SqliteStore<NamedKind> = SqliteStore::open(&db.0).unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let lease = t0 + chrono::Duration::minutes(5);
        let mut ids = IdGenerator::seeded(11);
        let mut add = |zone: &str, blocking: bool, priority: i32| {
            let new = NewTask::new(
                ids.next_id(t0),
                NamedKind::new("ZoneChange"),
                Owner::new("acme"),
                ResourceRef::new("zone", zone),
            )
            .blocking(blocking)
            .priority(priority);
            let (task, created) = Task::create(new, Actor::System, t0).unwrap();
            let id = task.id().to_string();
            store.insert(task, created).unwrap();
            id
        };
        let first = add("a.com", false, 9);
        let blocker = add("a.com", true, 8);
        let second = add("a.com", false, 7);
        let other = add("b.com", true, 0);
        assert!(held_ids(&store).is_empty());
        let one = ClaimRequest::new(t0, lease).limit(1);
        // `first` runs: the blocking task waits, the other does not.
        let Claimed {
            task: mut running,
            run,
        } = store.claim(&one).unwrap().claimed.remove(0);
        assert_eq!(running.id().to_string(), first);
        assert_eq!(held_ids(&store), std::slice::from_ref(&blocker));
        assert_eq!(wrongly_held(&store), 0);
        // Done: nothing is held.
        let version = running.version();
        let done = run
            .complete(&mut running, taskstate::Outcome::new(), t0)
            .unwrap();
        store.save(&running, version, &[done]).unwrap();
        assert!(held_ids(&store).is_empty());
        // The blocking task runs, and beats (still in progress): every
        // pending row on a.com is held, a new one too; b.com is not.
        let Claimed {
            task: mut running,
            run,
        } = store.claim(&one).unwrap().claimed.remove(0);
        assert_eq!(running.id().to_string(), blocker);
        assert_eq!(held_ids(&store), std::slice::from_ref(&second));
        let version = running.version();
        run.heartbeat(&mut running, lease, None, t0).unwrap();
        store.save(&running, version, &[]).unwrap();
        let third = add("a.com", false, 9);
        let mut want = vec![second.clone(), third.clone()];
        want.sort();
        assert_eq!(held_ids(&store), want);
        assert_eq!(wrongly_held(&store), 0);
        // The held rows are out of the claim: only b.com's task is there.
        let claimed = store
            .claim(&ClaimRequest::new(t0, lease).limit(10))
            .unwrap()
            .claimed;
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].task.id().to_string(), other);
        // A stale flag costs a claim speed, never a wrong start: the rows
        // wrongly left in the claim index are still checked there.
        store
            .lock()
            .unwrap()
            .execute("UPDATE tasks SET held = 0", [])
            .unwrap();
        assert_eq!(wrongly_held(&store), 2);
        assert!(
            store
                .claim(&ClaimRequest::new(t0, lease))
                .unwrap()
                .claimed
                .is_empty()
        );
        // The blocking task is done: out of progress, nothing held.
        let version = running.version();
        let done = run
            .complete(&mut running, taskstate::Outcome::new(), t0)
            .unwrap();
        store.save(&running, version, &[done]).unwrap();
        assert!(held_ids(&store).is_empty());
        assert_eq!(wrongly_held(&store), 0);
        let claimed = store
            .claim(&ClaimRequest::new(t0, lease).limit(10))
            .unwrap()
            .claimed;
        assert_eq!(claimed.len(), 2, "{claimed:?}");
        assert_eq!(wrongly_held(&store), 0);
    }

    #[test]
    fn a_save_writes_the_columns_that_changed_and_mends_the_others() {
        let (_db, store) = normal_store::<NamedKind>("columns");
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let (task, created) = one_task(7, NamedKind::new("DomainRenew"), t0);
        let id = task.id().to_string();
        store.insert(task, created).unwrap();
        // A column edited by hand, which the body contradicts.
        store
            .lock()
            .unwrap()
            .execute("UPDATE tasks SET kind_name = 'Other' WHERE id = ?1", [&id])
            .unwrap();
        let request = ClaimRequest::new(t0, t0 + chrono::Duration::minutes(5));
        let Claimed { mut task, run } = store.claim(&request).unwrap().claimed.pop().unwrap();
        let columns = |store: &SqliteStore<NamedKind>| -> (String, String, Option<String>) {
            store
                .lock()
                .unwrap()
                .query_row(
                    "SELECT kind_name, status, lease_until FROM tasks WHERE id = ?1",
                    [&id],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .unwrap()
        };
        let (kind, status, lease) = columns(&store);
        assert_eq!((kind.as_str(), status.as_str()), ("DomainRenew", "running"));
        assert_eq!(
            lease,
            Some(stamp(t0 + chrono::Duration::minutes(5)).unwrap())
        );
        // A heartbeat moves the lease only.
        let version = task.version();
        let later = t0 + chrono::Duration::minutes(9);
        run.heartbeat(&mut task, later, None, t0).unwrap();
        let row = Row::of(&task).unwrap();
        let mut stored = Row::of(&task).unwrap();
        stored.lease_until = None;
        assert_eq!(row.changed(&stored.derived()), 1 << 12);
        assert_eq!(DERIVED[12], "lease_until");
        store.save(&task, version, &[]).unwrap();
        assert_eq!(columns(&store).2, Some(stamp(later).unwrap()));
        assert_eq!(
            store
                .get(&Scope::Staff, task.id())
                .unwrap()
                .unwrap()
                .version(),
            task.version()
        );
    }

    #[test]
    fn a_save_takes_the_record_it_kept_only_while_the_stored_body_is_the_one_kept() {
        let (db, store) = normal_store::<NamedKind>("recent");
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let (task, created) = one_task(8, NamedKind::new("DomainRenew"), t0);
        let id = task.id();
        store.insert(task, created).unwrap();
        let request = ClaimRequest::new(t0, t0 + chrono::Duration::minutes(5));
        let Claimed { mut task, run } = store.claim(&request).unwrap().claimed.pop().unwrap();
        let stored_body = |store: &SqliteStore<NamedKind>| -> String {
            store
                .lock()
                .unwrap()
                .query_row(
                    "SELECT body FROM tasks WHERE id = ?1",
                    [id.to_string()],
                    |row| row.get(0),
                )
                .unwrap()
        };
        let claimed = stored_body(&store);
        // The claim kept what it wrote.
        assert_eq!(store.recent().find(id, claimed.as_bytes()), Some(&task));
        // Another handle reads the row and keeps it too.
        let other: SqliteStore<NamedKind> =
            SqliteStore::open_with(&db.0, &Options::new().synchronous(Synchronous::Normal))
                .unwrap();
        assert_eq!(other.get(&Scope::Staff, id).unwrap().as_ref(), Some(&task));
        assert_eq!(other.recent().find(id, claimed.as_bytes()), Some(&task));
        // The row edited by hand into a body that does not read: the save
        // decodes it and refuses, though the handle kept the record at
        // the same version.
        let set_body = |body: &str| {
            store
                .lock()
                .unwrap()
                .execute(
                    "UPDATE tasks SET body = ?2 WHERE id = ?1",
                    [id.to_string(), body.to_owned()],
                )
                .unwrap();
        };
        set_body("{}");
        let version = task.version();
        let event = run.complete(&mut task, Outcome::new(), t0).unwrap();
        let refused = store.save(&task, version, std::slice::from_ref(&event));
        assert!(
            matches!(refused, Err(StoreError::Unreadable { id: unreadable, .. }) if unreadable == id),
            "{refused:?}"
        );
        // Put back as it was, the kept record serves again, and the save
        // keeps the new one.
        set_body(&claimed);
        store.save(&task, version, &[event]).unwrap();
        let done = stored_body(&store);
        assert_eq!(store.recent().find(id, done.as_bytes()), Some(&task));
        assert_eq!(store.recent().find(id, claimed.as_bytes()), None);
        assert_eq!(
            store
                .get(&Scope::Staff, id)
                .unwrap()
                .map(|task| task.status()),
            Some(Status::Done)
        );
    }

    /// A kind whose serde does not round-trip: written lower-case, read
    /// as written.
    #[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
    struct Lossy(String);

    impl Serialize for Lossy {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&self.0.to_lowercase())
        }
    }

    impl TaskKind for Lossy {
        fn name(&self) -> &str {
            &self.0
        }
    }

    /// An insert keeps nothing: the host's own copy, whose kind never went
    /// through serde, is checked at its first save against the record as
    /// the body reads, and a kind that does not read back as written is
    /// refused there.
    #[test]
    fn a_save_of_the_hosts_own_copy_is_checked_against_the_body_as_it_reads() {
        let (_db, store) = normal_store::<Lossy>("lossy");
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let (mut task, created) = one_task(9, Lossy("DomainRenew".to_owned()), t0);
        store.insert(task.clone(), created).unwrap();
        let event = task
            .apply(
                taskstate::Command::Cancel { reason: None },
                Actor::System,
                t0,
            )
            .unwrap()
            .unwrap();
        let refused = store.save(&task, 1, &[event]);
        assert!(
            matches!(refused, Err(StoreError::Refused { .. })),
            "{refused:?}"
        );
    }
}
