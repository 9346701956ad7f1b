//! A [`TaskStore`] over SQLite, through `rusqlite` and its bundled SQLite.
//!
//! Two tables. `tasks` holds the record: the task as JSON in `body`
//! (identity and state; the log is not in it), and beside it the columns
//! the store queries, kept in step with the body on every write:
//!
//! | column | what |
//! |---|---|
//! | `id` | the task id, hyphenated (text order is id order) |
//! | `version` | the task's version: `save` compares and swaps on it |
//! | `owner`, `resource_kind`, `resource_id`, `kind_name`, `status`, `parent` | the listing filters |
//! | `created_at` | RFC 3339 with nanoseconds, fixed width, so text order is time order |
//! | `due_at` | pending tasks only: `todo_at`, or the creation time |
//! | `lease_until` | running and waiting tasks only: the lease deadline |
//! | `retry_at` | failed tasks with an automatic retry scheduled |
//! | `check_at` | waiting tasks only: when to look again, if before the wait's deadline |
//! | `blocking` | whether the task blocked its resource when last written, for a host's own queries (a claim asks the task, as a kind's rules may have changed since) |
//! | `body` | the task, JSON, without its log |
//!
//! `events` holds each task's log, one row per event, keyed by
//! `(task_id, version)`: `action` and `at` (the same fixed-width time
//! text) for a host's audit queries, and the event as JSON in `body`.
//! Rows are only ever appended: an insert writes the creation, a claim
//! its start, a save the events its commands returned, each in the same
//! transaction as the record, so the record and its log never disagree.
//! Reading a task reads one row of `tasks`, whatever the length of its
//! log; [`TaskStore::log`] pages the log by version on the primary key.
//!
//! Partial indexes on `due_at`, `lease_until`, `retry_at` and `check_at` hold only the
//! rows that have one, so a claim, an expiry scan and a retry scan read
//! just the candidates; a partial index of the tasks in progress by
//! resource gives a claim the tasks the blocking rule looks at; indexes
//! on owner, resource, kind, status, parent and creation serve the
//! listing filters in id order.
//!
//! Every write runs in an `IMMEDIATE` transaction, which takes SQLite's
//! write lock at `BEGIN`: a claim reads the due rows and writes them back
//! started before any other connection (in this process or another) can
//! write, so no two claimers ever start the same task; a save reads the
//! stored version, the stored record and the log's last version, checks
//! the save with [`check_save`], and writes the record and appends its
//! events, all under that lock. The connection waits up to
//! [`BUSY_TIMEOUT`] for the lock rather than failing.
//!
//! [`SqliteStore::with_transaction`] and [`insert_in`] let a host create a
//! task in the same transaction as its own change, so both commit or
//! neither does.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use rusqlite::ToSql;
use rusqlite::types::Value;
use rusqlite::{
    Connection, OptionalExtension, Transaction, TransactionBehavior, params, params_from_iter,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use taskstate::store::{
    Claimed, Filter, Page, PageRequest, Scope, StoreError, TaskStore, check_insert, check_save,
};
use taskstate::{Event, Status, Task, TaskId, TaskKind};

/// How long a connection waits for another one's write lock before it
/// reports the database busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema version this store writes in `PRAGMA user_version`: 2
/// since the log moved out of the record into `events` (a version 1 file,
/// whose bodies held the history, is refused).
const SCHEMA_VERSION: i64 = 2;

/// The tables and their indexes.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
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
    body          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (due_at, id) WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_lease ON tasks (lease_until, id) WHERE lease_until IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_retry ON tasks (retry_at, id) WHERE retry_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_check ON tasks (check_at, id) WHERE check_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_owner ON tasks (owner, id);
CREATE INDEX IF NOT EXISTS tasks_resource ON tasks (resource_kind, resource_id, id);
CREATE INDEX IF NOT EXISTS tasks_in_progress ON tasks (resource_kind, resource_id)
    WHERE status IN ('running', 'waiting', 'stalled');
CREATE INDEX IF NOT EXISTS tasks_kind ON tasks (kind_name, id);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, id);
CREATE INDEX IF NOT EXISTS tasks_parent ON tasks (parent, id) WHERE parent IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at);
CREATE TABLE IF NOT EXISTS events (
    task_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    action  TEXT NOT NULL,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (task_id, version)
) WITHOUT ROWID;
";

/// The statuses of tasks in progress, the ones the blocking rule looks at
/// (active but not pending), as SQL: the same text as in the
/// `tasks_in_progress` index, so that SQLite sees the index applies.
const IN_PROGRESS: &str = "('running', 'waiting', 'stalled')";

/// How many due rows a claim reads at a time.
const CLAIM_BATCH: i64 = 64;

/// The columns of a row, in the order of [`INSERT`] and [`UPDATE`].
const INSERT: &str = "INSERT INTO tasks (id, version, owner, resource_kind, resource_id,
    kind_name, status, parent, created_at, due_at, lease_until, retry_at, blocking, body,
    check_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
    ON CONFLICT (id) DO NOTHING";

/// Appends one event to a task's log. No `ON CONFLICT`: an event that
/// would replace another is an error, never a silent overwrite.
const APPEND: &str = "INSERT INTO events (task_id, version, action, at, body)
    VALUES (?1, ?2, ?3, ?4, ?5)";

/// A compare-and-swap write: `?16` is the version the caller read.
const UPDATE: &str = "UPDATE tasks SET version = ?2, owner = ?3, resource_kind = ?4,
    resource_id = ?5, kind_name = ?6, status = ?7, parent = ?8, created_at = ?9, due_at = ?10,
    lease_until = ?11, retry_at = ?12, blocking = ?13, body = ?14, check_at = ?15
    WHERE id = ?1 AND version = ?16";

/// A task store in one SQLite database file.
///
/// One connection behind a mutex makes it `Send + Sync`; several stores
/// (or processes) may open the same file, and SQLite's locking keeps
/// their writes apart. `K` is the host's kind type, which the tasks'
/// JSON carries.
#[derive(Debug)]
pub struct SqliteStore<K> {
    conn: Mutex<Connection>,
    kind: PhantomData<fn() -> K>,
}

impl<K> SqliteStore<K> {
    /// Opens (or creates) the database at `path`, in WAL mode, and creates
    /// the `tasks` and `events` tables and their indexes if they are
    /// missing.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if SQLite cannot open the file, or it holds
    /// a schema of another version.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore<K>, StoreError> {
        let mut conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        // WAL: readers do not wait for the writer, and a commit is one
        // append. `journal_mode` answers with the mode it set.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(backend)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(backend)?;
        match version {
            0 => {
                tx.execute_batch(SCHEMA).map_err(backend)?;
                tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
                    .map_err(backend)?;
            }
            SCHEMA_VERSION => {}
            other => {
                return Err(StoreError::Backend(format!(
                    "the database has schema version {other}; this store knows {SCHEMA_VERSION}"
                )));
            }
        }
        tx.commit().map_err(backend)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            kind: PhantomData,
        })
    }

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
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let value = work(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(value)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Backend("the connection's lock is poisoned".into()))
    }
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
/// [`StoreError::Backend`] if the write fails. On an error, nothing of the
/// task is written in `tx` (the host decides whether to commit the rest).
pub fn insert_in<K: TaskKind + Serialize>(
    tx: &Transaction<'_>,
    task: &Task<K>,
    created: &Event<K>,
) -> Result<(), StoreError> {
    insert_rows(tx, task, created)
}

/// Checks that `created` starts the log of `task`, then writes the row
/// and the first event. The row goes first, so a duplicate id writes
/// nothing.
fn insert_rows<K: TaskKind + Serialize>(
    conn: &Connection,
    task: &Task<K>,
    created: &Event<K>,
) -> Result<(), StoreError> {
    check_insert(task, created)?;
    let row = Row::of(task)?;
    let event = EventRow::of(task.id(), created)?;
    let inserted = conn
        .execute(INSERT, params_from_iter(row.columns()))
        .map_err(backend)?;
    if inserted == 0 {
        return Err(StoreError::Duplicate { id: task.id() });
    }
    event.append(conn)
}

/// The version of the last event in the log of task `id` (0 if it has
/// none).
fn last_logged(conn: &Connection, id: &str) -> Result<u64, StoreError> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT max(version) FROM events WHERE task_id = ?1")
        .and_then(|mut statement| statement.query_row([id], |row| row.get(0)))
        .map_err(backend)?;
    last.map_or(Ok(0), |last| stored_version(id, last))
}

/// A version read back from SQLite.
fn stored_version(id: &str, version: i64) -> Result<u64, StoreError> {
    u64::try_from(version)
        .map_err(|_| StoreError::Backend(format!("task {id} has version {version}")))
}

/// Replaces the row `row` describes if its version is `expected`; the
/// number of rows written (0 or 1).
fn update_row(conn: &Connection, row: &Row, expected: u64) -> Result<usize, StoreError> {
    let expected = sql_version(expected)?;
    let columns = row.columns().into_iter().chain([&expected as &dyn ToSql]);
    conn.prepare_cached(UPDATE)
        .and_then(|mut statement| statement.execute(params_from_iter(columns)))
        .map_err(backend)
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
    due_at: Option<String>,
    lease_until: Option<String>,
    retry_at: Option<String>,
    blocking: bool,
    body: String,
    check_at: Option<String>,
}

impl Row {
    /// The row's values in the order of the table's columns, which
    /// `INSERT` and `UPDATE` bind as `?1` to `?15`.
    fn columns(&self) -> [&dyn ToSql; 15] {
        [
            &self.id,
            &self.version,
            &self.owner,
            &self.resource_kind,
            &self.resource_id,
            &self.kind_name,
            &self.status,
            &self.parent,
            &self.created_at,
            &self.due_at,
            &self.lease_until,
            &self.retry_at,
            &self.blocking,
            &self.body,
            &self.check_at,
        ]
    }

    fn of<K: TaskKind + Serialize>(task: &Task<K>) -> Result<Row, StoreError> {
        let status = task.status();
        let due_at = match status {
            Status::Pending => Some(stamp(task.todo_at().unwrap_or(task.created_at()))?),
            _ => None,
        };
        let lease_until = match task.lease() {
            Some(lease) if status.is_leased() => Some(stamp(lease.expires_at())?),
            _ => None,
        };
        let retry_at = match task.next_retry_at() {
            Some(at) if status == Status::Failed => Some(stamp(at)?),
            _ => None,
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
            due_at,
            lease_until,
            retry_at,
            blocking: task.is_blocking(),
            check_at: task.check_due_at().map(stamp).transpose()?,
            body: serde_json::to_string(task).map_err(|error| {
                StoreError::Backend(format!("task {} does not serialize: {error}", task.id()))
            })?,
        })
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
                StoreError::Backend(format!(
                    "event {} of task {id} does not serialize: {error}",
                    event.version
                ))
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
/// width within the years 0 to 9999, so that text order is time order.
fn stamp(at: DateTime<Utc>) -> Result<String, StoreError> {
    if !(0..=9999).contains(&at.year()) {
        return Err(StoreError::Backend(format!(
            "{at} is outside the years 0 to 9999 that stored times cover"
        )));
    }
    Ok(at.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

fn sql_version(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version)
        .map_err(|_| StoreError::Backend(format!("version {version} does not fit SQLite")))
}

/// A row limit for SQL.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {error}"))
}

/// Reads a stored body back; deserializing checks the state's invariants
/// (not the log, which is not in the body).
fn decode<K>(id: &str, body: &str) -> Result<Task<K>, StoreError>
where
    K: TaskKind + DeserializeOwned + PartialEq,
{
    serde_json::from_str(body)
        .map_err(|error| StoreError::Backend(format!("stored task {id} does not read: {error}")))
}

/// Runs `sql` (which selects `id, body`) and reads every task.
fn query_tasks<K, P>(conn: &Connection, sql: &str, params: P) -> Result<Vec<Task<K>>, StoreError>
where
    K: TaskKind + DeserializeOwned + PartialEq,
    P: rusqlite::Params,
{
    let mut statement = conn.prepare_cached(sql).map_err(backend)?;
    let rows = statement
        .query_map(params, |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(backend)?;
    let mut tasks = Vec::new();
    for row in rows {
        let (id, body) = row.map_err(backend)?;
        tasks.push(decode(&id, &body)?);
    }
    Ok(tasks)
}

/// The tasks in progress on `task`'s resource, other than `task`: what
/// the blocking rule needs.
fn in_progress_on<K>(conn: &Connection, task: &Task<K>) -> Result<Vec<Task<K>>, StoreError>
where
    K: TaskKind + DeserializeOwned + PartialEq,
{
    query_tasks(
        conn,
        &format!(
            "SELECT id, body FROM tasks
             WHERE resource_kind = ?1 AND resource_id = ?2 AND id <> ?3
               AND status IN {IN_PROGRESS}"
        ),
        params![
            task.resource().kind,
            task.resource().id,
            task.id().to_string()
        ],
    )
}

/// One batch of due pending rows after `cursor`, oldest due first: `(due,
/// id, body)`.
fn due_batch(
    conn: &Connection,
    now: &str,
    cursor: Option<&(String, String)>,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let read = |row: &rusqlite::Row<'_>| Ok((row.get(0)?, row.get(1)?, row.get(2)?));
    let rows = match cursor {
        None => {
            let mut statement = conn
                .prepare_cached(
                    "SELECT due_at, id, body FROM tasks
                     WHERE due_at IS NOT NULL AND due_at <= ?1
                     ORDER BY due_at, id LIMIT ?2",
                )
                .map_err(backend)?;
            statement
                .query_map(params![now, CLAIM_BATCH], read)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
        }
        Some((due, id)) => {
            let mut statement = conn
                .prepare_cached(
                    "SELECT due_at, id, body FROM tasks
                     WHERE due_at IS NOT NULL AND due_at <= ?1 AND (due_at, id) > (?2, ?3)
                     ORDER BY due_at, id LIMIT ?4",
                )
                .map_err(backend)?;
            statement
                .query_map(params![now, due, id, CLAIM_BATCH], read)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
        }
    };
    rows.map_err(backend)
}

impl<K> TaskStore<K> for SqliteStore<K>
where
    K: TaskKind + Serialize + DeserializeOwned + PartialEq,
{
    fn insert(&self, task: Task<K>, created: Event<K>) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        // An error drops `tx`, which rolls back: nothing is written.
        insert_rows(&tx, &task, &created)?;
        tx.commit().map_err(backend)
    }

    fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<Task<K>>, StoreError> {
        let conn = self.lock()?;
        let id = id.to_string();
        let body: Option<String> = conn
            .prepare_cached("SELECT body FROM tasks WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)")
            .and_then(|mut statement| {
                statement
                    .query_row(params![id, scope_owner(scope)], |row| row.get(0))
                    .optional()
            })
            .map_err(backend)?;
        let task = body.map(|body| decode::<K>(&id, &body)).transpose()?;
        Ok(task.filter(|task| scope.sees(task.owner())))
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
        let visible: Option<String> = tx
            .prepare_cached("SELECT owner FROM tasks WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)")
            .and_then(|mut statement| {
                statement
                    .query_row(params![key, scope_owner(scope)], |row| row.get(0))
                    .optional()
            })
            .map_err(backend)?;
        if visible.is_none() {
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
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(backend)?;
        let mut events = Vec::new();
        for row in rows {
            let (version, body) = row.map_err(backend)?;
            let event: Event<K> = serde_json::from_str(&body).map_err(|error| {
                StoreError::Backend(format!(
                    "stored event {version} of task {key} does not read: {error}"
                ))
            })?;
            if i64::try_from(event.version).ok() != Some(version) {
                return Err(StoreError::Backend(format!(
                    "stored event {version} of task {key} says it is version {}",
                    event.version
                )));
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
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let stored: Option<(i64, String)> = tx
            .prepare_cached("SELECT version, body FROM tasks WHERE id = ?1")
            .and_then(|mut statement| {
                statement
                    .query_row([&row.id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(backend)?;
        let Some((found, body)) = stored else {
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
        let stored: Task<K> = decode(&row.id, &body)?;
        check_save(&stored, task, expected, last_logged(&tx, &row.id)?, events)?;
        // The write lock is ours since `BEGIN`, so the version cannot have
        // moved; the compare-and-swap costs nothing and says so.
        if update_row(&tx, &row, expected)? != 1 {
            return Err(StoreError::Backend(format!(
                "task {} moved under the write lock",
                task.id()
            )));
        }
        for event in &appended {
            event.append(&tx)?;
        }
        tx.commit().map_err(backend)
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
            });
        }
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
            clause("created_at >= ?", Value::Text(stamp(from)?));
        }
        if let Some(until) = filter.created_until {
            clause("created_at < ?", Value::Text(stamp(until)?));
        }
        if let Some(after) = page.after {
            clause("id > ?", Value::Text(after.to_string()));
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
        values.push(Value::Integer(sql_limit(page.limit)));
        let condition = if clauses.is_empty() {
            "1".to_owned()
        } else {
            clauses.join(" AND ")
        };
        let sql = format!("SELECT id, body FROM tasks WHERE {condition} ORDER BY id LIMIT ?");
        let conn = self.lock()?;
        let read: Vec<Task<K>> = query_tasks(&conn, &sql, params_from_iter(values))?;
        drop(conn);
        // The cursor is the last row read, whether or not the check below
        // keeps it, so a page never hides the rows after it.
        let next = if read.len() == page.limit {
            read.last().map(Task::id)
        } else {
            None
        };
        // Every filter is in the SQL; the crate's own rule has the last
        // word all the same.
        let tasks = read
            .into_iter()
            .filter(|task| filter.matches(scope, task))
            .collect();
        Ok(Page { tasks, next })
    }

    fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
        worker: Option<&str>,
    ) -> Result<Vec<Claimed<K>>, StoreError> {
        let mut claimed = Vec::new();
        if limit == 0 {
            return Ok(claimed);
        }
        let now_text = stamp(now)?;
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut cursor: Option<(String, String)> = None;
        'scan: loop {
            let batch = due_batch(&tx, &now_text, cursor.as_ref())?;
            if batch.is_empty() {
                break;
            }
            for (due, id, body) in batch {
                if claimed.len() == limit {
                    break 'scan;
                }
                let mut task: Task<K> = decode(&id, &body)?;
                cursor = Some((due, id));
                let others = in_progress_on(&tx, &task)?;
                if task.blocked_by(&others).is_some() {
                    continue;
                }
                let expected = task.version();
                // Not startable after all (not due by its own clock):
                // leave it for a later claim.
                let Ok((run, started)) = task.start(lease_until, worker.map(str::to_owned), now)
                else {
                    continue;
                };
                let row = Row::of(&task)?;
                let event = EventRow::of(task.id(), &started)?;
                // The write lock is ours, so the version cannot have moved;
                // the compare-and-swap costs nothing and says so. The start
                // is logged with the record, in the same transaction.
                if update_row(&tx, &row, expected)? == 1 {
                    event.append(&tx)?;
                    claimed.push(Claimed { task, run });
                }
            }
        }
        tx.commit().map_err(backend)?;
        Ok(claimed)
    }

    fn expired(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        let now = stamp(now)?;
        let conn = self.lock()?;
        query_tasks(
            &conn,
            "SELECT id, body FROM tasks
             WHERE lease_until IS NOT NULL AND lease_until <= ?1
             ORDER BY lease_until, id LIMIT ?2",
            params![now, sql_limit(limit)],
        )
    }

    fn checks_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        let now = stamp(now)?;
        let conn = self.lock()?;
        query_tasks(
            &conn,
            "SELECT id, body FROM tasks
             WHERE check_at IS NOT NULL AND check_at <= ?1
             ORDER BY check_at, id LIMIT ?2",
            params![now, sql_limit(limit)],
        )
    }

    fn retry_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Task<K>>, StoreError> {
        let now = stamp(now)?;
        let conn = self.lock()?;
        query_tasks(
            &conn,
            "SELECT id, body FROM tasks
             WHERE retry_at IS NOT NULL AND retry_at <= ?1
             ORDER BY retry_at, id LIMIT ?2",
            params![now, sql_limit(limit)],
        )
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
