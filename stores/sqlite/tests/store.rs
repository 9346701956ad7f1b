#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SQLite store on real database files:
//! both conformance suites (blocking and async, each check on a new file
//! with as many connections as it asks for), a reopened file, the log in
//! its own table (appended with the record, paged by version, never in the
//! record's body), the migration of a version 2 file, rows that do not
//! read (skipped, reported, quarantined), unique keys under threads on
//! several connections, busy and broken databases, purges, a task created
//! in the host's own transaction, two connections claiming from one
//! file, and a file restored from a backup (the run of a claim made after
//! the backup fenced off the restored task's new run).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::error::Error;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use taskstate::store::{
    ClaimRequest, Claims, Filter, PageRequest, Scope, StoreError, Sweep, TaskStore,
};
use taskstate::testkit::store as conformance;
use taskstate::{
    Action, Actor, ArgumentSpec, Command, Event, Failure, IdGenerator, NamedKind, NewSubtask,
    NewTask, Outcome, Owner, Pause, ResourceRef, Rules, Status, StatusSet, SubtaskChange, Task,
    TaskId,
};

use taskstate_sqlite::{
    AsyncSqliteStore, SCHEMA_VERSION, SqliteStore, insert_in, remove_files, temp_path,
};

/// A database file, removed with SQLite's side files when dropped (even
/// when the test fails).
struct TempDb(PathBuf);

impl TempDb {
    fn new(label: &str) -> TempDb {
        TempDb(temp_path(label))
    }

    fn open(&self) -> SqliteStore<NamedKind> {
        SqliteStore::open(&self.0).unwrap()
    }

    /// A plain connection to the file, beside the store's.
    fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.0).unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_files(&self.0).unwrap();
    }
}

/// The conformance suites' `make`: a new file, and `n` connections to it.
/// The files are kept (and removed) with `files`.
fn connections(
    files: &RefCell<Vec<TempDb>>,
) -> impl FnMut(usize) -> Vec<SqliteStore<NamedKind>> + '_ {
    move |n| {
        let db = TempDb::new("conformance");
        let stores = (0..n).map(|_| db.open()).collect();
        files.borrow_mut().push(db);
        stores
    }
}

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

/// A new task and its creation event, to insert.
type Fresh = (Task<NamedKind>, Event<NamedKind>);

fn new_task(
    ids: &mut IdGenerator,
    kind: NamedKind,
    owner: &str,
    domain: &str,
) -> NewTask<NamedKind> {
    NewTask::new(
        ids.next_id(t(0)),
        kind,
        Owner::new(owner),
        ResourceRef::new("domain", domain),
    )
}

fn task(ids: &mut IdGenerator, kind: NamedKind, owner: &str, domain: &str) -> Fresh {
    Task::create(new_task(ids, kind, owner, domain), Actor::System, t(0)).unwrap()
}

/// A claim at `now` of up to `limit` tasks, leased for five minutes.
fn claim_at(now: DateTime<Utc>, limit: usize) -> ClaimRequest {
    ClaimRequest::new(now, now + Duration::minutes(5))
        .limit(limit)
        .worker("w")
}

fn claimed_ids(claims: &Claims<NamedKind>) -> Vec<TaskId> {
    claims.claimed.iter().map(|claim| claim.task.id()).collect()
}

fn ids_of(tasks: &[Task<NamedKind>]) -> Vec<TaskId> {
    tasks.iter().map(Task::id).collect()
}

/// The whole log of task `id`, read `page` events at a time.
fn whole_log(store: &SqliteStore<NamedKind>, id: TaskId, page: usize) -> Vec<Event<NamedKind>> {
    let mut log: Vec<Event<NamedKind>> = Vec::new();
    loop {
        let after = log.last().map_or(0, |event| event.version);
        let more = store.log(&Scope::Staff, id, after, page).unwrap();
        assert!(
            more.len() <= page,
            "a page of the log longer than its limit"
        );
        if more.is_empty() {
            return log;
        }
        log.extend(more);
    }
}

fn every_task(store: &SqliteStore<NamedKind>) -> Vec<Task<NamedKind>> {
    let page = store
        .list(&Scope::Staff, &Filter::new(), PageRequest::first(1000))
        .unwrap();
    assert!(page.next.is_none());
    assert!(page.unreadable.is_empty(), "{:?}", page.unreadable);
    page.tasks
}

#[test]
fn the_sqlite_store_passes_the_conformance_suite() {
    let files = RefCell::new(Vec::new());
    conformance::check_store(connections(&files)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_store_passes_the_async_conformance_suite_through_the_bridge() {
    let files = RefCell::new(Vec::new());
    let mut make = connections(&files);
    let bridged = |n| {
        make(n)
            .into_iter()
            .map(AsyncSqliteStore::new)
            .collect::<Vec<_>>()
    };
    conformance::check_async_store(bridged).await.unwrap();
}

#[test]
fn the_store_is_send_sync_and_object_safe_and_its_futures_are_send() {
    fn assert_send_sync<X: Send + Sync>() {}
    fn assert_send<X: Send>(_: &X) {}
    assert_send_sync::<SqliteStore<NamedKind>>();
    let db = TempDb::new("dyn");
    let store = db.open();
    let id = IdGenerator::seeded(3).next_id(t(0));
    {
        let store: &dyn TaskStore<NamedKind> = &store;
        assert!(store.get(&Scope::Staff, id).unwrap().is_none());
    }
    let store = AsyncSqliteStore::new(store);
    let future = taskstate::store::AsyncTaskStore::get(&store, &Scope::Staff, id);
    assert_send(&future);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(runtime.block_on(future).unwrap().is_none());
    // Outside a runtime, a call fails rather than panics.
    let outside = poll_once(taskstate::store::AsyncTaskStore::get(
        &store,
        &Scope::Staff,
        id,
    ));
    assert!(
        matches!(outside, Some(Err(StoreError::Backend { .. }))),
        "{outside:?}"
    );
}

/// Polls `future` once on this thread, outside any runtime.
fn poll_once<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

#[test]
fn a_reopened_file_gives_back_equal_tasks() {
    let db = TempDb::new("reopen");
    let mut ids = IdGenerator::seeded(11);
    let rich = {
        let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("holder", 1, 100));
        let new = new_task(&mut ids, kind, "alice", "rich.fr")
            .title("Create rich.fr")
            .argument("holder", "Alice Martin")
            .subtask(NewSubtask::new("contact", "create the contact"))
            .also_on(ResourceRef::new("contact", "c-1"))
            .priority(3)
            .unique_key("order:rich.fr");
        Task::create(new, Actor::customer("alice"), t(0)).unwrap()
    };
    let failing = task(&mut ids, NamedKind::new("DomainCreate"), "bob", "down.fr");
    let waiting = task(&mut ids, NamedKind::new("DomainTrade"), "bob", "slow.fr");
    let later = {
        let new = new_task(&mut ids, NamedKind::new("DomainRenew"), "carol", "later.fr")
            .todo_at(t(86_400));
        Task::create(new, Actor::System, t(0)).unwrap()
    };

    let mut held: Vec<Task<NamedKind>> = Vec::new();
    // Each task's log as the writers produced it.
    let mut logs: Vec<Vec<Event<NamedKind>>> = Vec::new();
    {
        let store = db.open();
        for (task, created) in [&rich, &failing, &waiting, &later] {
            store.insert(task.clone(), created.clone()).unwrap();
        }
        let claims = store.claim(&claim_at(t(10), 10)).unwrap();
        assert_eq!(claims.claimed.len(), 3, "the later one is not due");
        assert_eq!(claims.claimed[0].task.id(), rich.0.id(), "priority 3 first");
        for claim in claims.claimed {
            let mut task = claim.task;
            let mut log = store.log(&Scope::Staff, task.id(), 0, 10).unwrap();
            assert_eq!(
                log.iter().map(Event::action).collect::<Vec<_>>(),
                [Action::Create, Action::Start],
                "a claim logs its start"
            );
            let read = task.version();
            // Every event of the moves, saved at once.
            let mut events = Vec::new();
            if task.id() == rich.0.id() {
                let token = claim.run.token();
                for change in [SubtaskChange::Start, SubtaskChange::Succeed] {
                    events.extend(
                        task.apply(
                            Command::Subtask {
                                token,
                                id: 0,
                                change,
                            },
                            Actor::System,
                            t(15),
                        )
                        .unwrap(),
                    );
                }
                // A heartbeat between two logged events: counted in the
                // next one.
                claim
                    .run
                    .heartbeat(&mut task, t(320), Some("contact created".into()), t(16))
                    .unwrap();
                events.push(
                    claim
                        .run
                        .complete(&mut task, Outcome::new().message("created"), t(20))
                        .unwrap(),
                );
                assert_eq!(events.last().map(|e| e.heartbeats), Some(1));
            } else if task.id() == failing.0.id() {
                events.push(
                    claim
                        .run
                        .fail(
                            &mut task,
                            Failure::provider("DOWN", "registry down", t(20)),
                            t(20),
                        )
                        .unwrap(),
                );
            } else {
                // The registry answers later; the run's handle stays with
                // the executor.
                events.push(
                    claim
                        .run
                        .wait(
                            &mut task,
                            Pause::until(t(3600)).reason("registry answers later"),
                            t(20),
                        )
                        .unwrap(),
                );
            }
            store.save(&task, read, &events).unwrap();
            log.extend(events);
            held.push(task);
            logs.push(log);
        }
        held.push(later.0.clone());
        logs.push(vec![later.1.clone()]);
        let mut both: Vec<_> = held.into_iter().zip(logs).collect();
        both.sort_by_key(|(task, _)| task.id());
        (held, logs) = both.into_iter().unzip();
        assert_eq!(every_task(&store), held);
    }

    // A new connection to the same file reads the same tasks, field for
    // field, and the same logs, and its indexes still answer.
    let store = db.open();
    assert_eq!(every_task(&store), held);
    for (task, log) in held.iter().zip(&logs) {
        assert_eq!(
            store.get(&Scope::Staff, task.id()).unwrap().as_ref(),
            Some(task)
        );
        for page in [1, 2, 100] {
            assert_eq!(&whole_log(&store, task.id(), page), log, "page of {page}");
        }
        task.check_log(log).unwrap();
    }
    let failed = held
        .iter()
        .find(|task| task.id() == failing.0.id())
        .unwrap();
    assert_eq!(failed.status(), Status::Failed);
    if let Some(at) = failed.next_retry_at() {
        let due = store.sweep(Sweep::RetriesDue, at, 10).unwrap();
        assert_eq!(ids_of(&due.tasks), [failing.0.id()]);
    }
    let expired = store.sweep(Sweep::ExpiredLeases, t(3600), 10).unwrap();
    assert_eq!(ids_of(&expired.tasks), [waiting.0.id()]);
    let pending = store.claim(&claim_at(t(86_400), 10)).unwrap();
    assert_eq!(claimed_ids(&pending), [later.0.id()]);
    // The version column still drives compare-and-swap.
    let stale = held.iter().find(|task| task.id() == later.0.id()).unwrap();
    let conflict = store.save(stale, stale.version(), &[]);
    assert!(
        matches!(conflict, Err(StoreError::Conflict { id, expected: 1, found: 2 }) if id == later.0.id()),
        "{conflict:?}"
    );
    // The done task freed its key: a new order of rich.fr goes in.
    let (again, created) = Task::create(
        new_task(&mut ids, NamedKind::new("DomainCreate"), "alice", "rich.fr")
            .unique_key("order:rich.fr"),
        Actor::System,
        t(0),
    )
    .unwrap();
    store.insert(again, created).unwrap();
}

/// Every row of the `events` table, as `(task_id, version, action, at,
/// body)`, read by a second connection.
fn event_rows(path: &Path) -> Vec<(String, i64, String, String, String)> {
    let reader = rusqlite::Connection::open(path).unwrap();
    let mut statement = reader
        .prepare("SELECT task_id, version, action, at, body FROM events ORDER BY task_id, version")
        .unwrap();
    statement
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

#[test]
fn the_log_is_its_own_table_appended_with_the_record_and_paged_by_version() {
    let db = TempDb::new("log");
    let store = db.open();
    let mut ids = IdGenerator::seeded(21);
    let (other, other_created) = task(&mut ids, NamedKind::new("DomainCreate"), "bob", "other.fr");
    let (mut task, created) = task(&mut ids, NamedKind::new("DomainCreate"), "alice", "log.fr");
    store.insert(task.clone(), created.clone()).unwrap();
    store.insert(other.clone(), other_created).unwrap();

    let claim = store
        .claim(&claim_at(t(10), 1))
        .unwrap()
        .claimed
        .pop()
        .unwrap();
    assert_eq!(claim.task.id(), task.id());
    task = claim.task;
    let mut log = store.log(&Scope::Staff, task.id(), 0, 100).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0], created);
    // Heartbeats move the version and append nothing.
    for beat in 1..=5 {
        let read = task.version();
        claim
            .run
            .heartbeat(&mut task, t(310 + beat), None, t(10 + beat))
            .unwrap();
        store.save(&task, read, &[]).unwrap();
    }
    assert_eq!(task.version(), 7);
    assert_eq!(store.log(&Scope::Staff, task.id(), 0, 100).unwrap(), log);
    task.check_log(&log).unwrap();
    // Several events in one save: all appended, in order.
    let read = task.version();
    let mut events = Vec::new();
    for step in 1..=3 {
        events.push(
            claim
                .run
                .report_steps(&mut task, step, 3, Some(format!("step {step}")), t(20))
                .unwrap(),
        );
    }
    events.push(
        claim
            .run
            .complete(&mut task, Outcome::new(), t(21))
            .unwrap(),
    );
    store.save(&task, read, &events).unwrap();
    log.extend(events);
    let versions: Vec<u64> = log.iter().map(|event| event.version).collect();
    assert_eq!(
        versions,
        [1, 2, 8, 9, 10, 11],
        "the heartbeats are in version 8"
    );
    assert_eq!(log[2].heartbeats, 5);

    // Pages by version: after any version, at most `limit`, in order.
    for after in 0..=12 {
        for limit in [0, 1, 2, 100] {
            let page = store.log(&Scope::Staff, task.id(), after, limit).unwrap();
            let want: Vec<Event<NamedKind>> = log
                .iter()
                .filter(|event| event.version > after)
                .take(limit)
                .cloned()
                .collect();
            assert_eq!(page, want, "after {after}, limit {limit}");
        }
    }
    assert!(
        store
            .log(&Scope::Staff, task.id(), u64::MAX, 10)
            .unwrap()
            .is_empty()
    );
    // Scoped: the owner reads it, another owner is told it does not exist.
    let alice = Scope::Owner(Owner::new("alice"));
    assert_eq!(store.log(&alice, task.id(), 0, 100).unwrap(), log);
    let bob = Scope::Owner(Owner::new("bob"));
    let hidden = store.log(&bob, task.id(), 0, 100);
    assert!(
        matches!(hidden, Err(StoreError::NotFound { id }) if id == task.id()),
        "{hidden:?}"
    );
    let unknown = ids.next_id(t(0));
    let missing = store.log(&Scope::Staff, unknown, 0, 100);
    assert!(
        matches!(missing, Err(StoreError::NotFound { id }) if id == unknown),
        "{missing:?}"
    );

    // The rows: one per event, keyed by (task, version), the event's JSON
    // in `body`; the record's body holds no event.
    let rows: Vec<_> = event_rows(&db.0)
        .into_iter()
        .filter(|row| row.0 == task.id().to_string())
        .collect();
    assert_eq!(rows.len(), log.len());
    for (row, event) in rows.iter().zip(&log) {
        assert_eq!(row.1, i64::try_from(event.version).unwrap());
        assert_eq!(row.2, event.action().as_str());
        assert_eq!(
            serde_json::from_str::<Event<NamedKind>>(&row.4).unwrap(),
            *event
        );
    }
    let body: String = db
        .raw()
        .query_row(
            "SELECT body FROM tasks WHERE id = ?1",
            [task.id().to_string()],
            |row| row.get(0),
        )
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["identity", "state"]);
    assert_eq!(
        serde_json::from_str::<Task<NamedKind>>(&body).unwrap(),
        task
    );
    // The other task's log was never touched.
    assert_eq!(
        store.log(&Scope::Staff, other.id(), 0, 100).unwrap().len(),
        1
    );
}

#[test]
fn files_of_the_first_schema_or_of_a_newer_one_are_refused() {
    // Version 1 kept the history inside the record's body; this store
    // cannot read it, and says so rather than misreading it. A newer
    // version is another store's.
    for version in [1, SCHEMA_VERSION + 1] {
        let db = TempDb::new("schema-refused");
        db.raw()
            .execute_batch(&format!("PRAGMA user_version = {version}"))
            .unwrap();
        let refused = SqliteStore::<NamedKind>::open(&db.0).unwrap_err();
        assert!(
            matches!(&refused, StoreError::Backend { source, retryable: false }
                if source.to_string().contains(&format!("schema version {version}"))),
            "{refused:?}"
        );
    }
}

/// The tables of schema version 2, as the previous store wrote them.
const SCHEMA_2: &str = "
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
    body          TEXT NOT NULL
);
CREATE INDEX tasks_due ON tasks (due_at, id) WHERE due_at IS NOT NULL;
CREATE INDEX tasks_lease ON tasks (lease_until, id) WHERE lease_until IS NOT NULL;
CREATE INDEX tasks_retry ON tasks (retry_at, id) WHERE retry_at IS NOT NULL;
CREATE INDEX tasks_check ON tasks (check_at, id) WHERE check_at IS NOT NULL;
CREATE INDEX tasks_owner ON tasks (owner, id);
CREATE INDEX tasks_resource ON tasks (resource_kind, resource_id, id);
CREATE INDEX tasks_in_progress ON tasks (resource_kind, resource_id)
    WHERE status IN ('running', 'waiting', 'stalled');
CREATE INDEX tasks_kind ON tasks (kind_name, id);
CREATE INDEX tasks_status ON tasks (status, id);
CREATE INDEX tasks_parent ON tasks (parent, id) WHERE parent IS NOT NULL;
CREATE INDEX tasks_created ON tasks (created_at);
CREATE TABLE events (
    task_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    action  TEXT NOT NULL,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (task_id, version)
) WITHOUT ROWID;
PRAGMA user_version = 2;
";

/// The columns version 4 derives from the body (and `held`, from the
/// rows in progress), of every row.
const DERIVED: &str = "SELECT id, version, owner, resource_kind, resource_id, kind_name, status,
    parent, created_at, due_at, lease_until, retry_at, check_at, blocking, priority, unique_key,
    in_progress, stalled_at, done_at, quarantined, body, held, listed_status FROM tasks ORDER BY id";

fn derived(conn: &rusqlite::Connection) -> Vec<Vec<rusqlite::types::Value>> {
    let mut statement = conn.prepare(DERIVED).unwrap();
    let width = statement.column_count();
    statement
        .query_map([], |row| (0..width).map(|i| row.get(i)).collect())
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// A file of the current version with tasks in every status, each with
/// the columns of its own: pending (one held back by a blocking task in
/// progress, one scheduled and cancelled), running, waiting with a check,
/// stalled, failed, done; each of another priority. Returns the file,
/// its tasks, its derived columns ([`DERIVED`]) and the stalled task.
fn every_status_file(
    label: &str,
) -> (
    TempDb,
    Vec<Task<NamedKind>>,
    Vec<Vec<rusqlite::types::Value>>,
    TaskId,
) {
    // The tasks of a version 3 file, in every status, each with the
    // columns of its own: pending (one held back by a blocking task in
    // progress, one scheduled and cancelled), running, waiting with a
    // check, stalled, failed, done; each of another priority.
    let current = TempDb::new(label);
    let store = current.open();
    let mut ids = IdGenerator::seeded(31);
    let blocking = NamedKind::with_rules("ZonePublish", Rules::new().blocking(true));
    let fresh: Vec<Fresh> = (0..8)
        .map(|n: i32| {
            let kind = if n == 0 {
                blocking.clone()
            } else {
                NamedKind::new("DomainCreate")
            };
            let domain = if n < 2 {
                "zone.fr".to_owned()
            } else {
                format!("d{n}.fr")
            };
            let mut new = new_task(&mut ids, kind, "alice", &domain)
                .priority(7 - n)
                .unique_key(format!("order:{n}"));
            if n == 7 {
                new = new.todo_at(t(5000));
            }
            Task::create(new, Actor::System, t(0)).unwrap()
        })
        .collect();
    for (task, created) in &fresh {
        store.insert(task.clone(), created.clone()).unwrap();
    }
    let claims = store.claim(&claim_at(t(10), 10)).unwrap();
    // Task 1 waits for the blocking task 0 on zone.fr; task 7 is not due.
    assert_eq!(claims.claimed.len(), 6);
    for claim in claims.claimed {
        let mut task = claim.task;
        let read = task.version();
        let n = fresh.iter().position(|(f, _)| f.id() == task.id()).unwrap();
        let event = match n {
            3 => claim
                .run
                .wait(&mut task, Pause::until(t(3600)).check_at(t(600)), t(20))
                .unwrap(),
            4 => task
                .apply(Command::MarkStalled, Actor::System, t(400))
                .unwrap()
                .unwrap(),
            5 => claim
                .run
                .fail(
                    &mut task,
                    Failure::provider("DOWN", "registry down", t(20)),
                    t(20),
                )
                .unwrap(),
            6 => claim
                .run
                .complete(&mut task, Outcome::new(), t(20))
                .unwrap(),
            _ => continue,
        };
        store.save(&task, read, &[event]).unwrap();
    }
    let stalled = fresh[4].0.id();
    taskstate::store::update(&store, &Scope::Staff, fresh[7].0.id(), |task| {
        Ok(task
            .apply(Command::Cancel { reason: None }, Actor::System, t(30))?
            .into_iter()
            .collect())
    })
    .unwrap();
    let tasks = every_task(&store);
    let statuses: BTreeSet<&str> = tasks.iter().map(|task| task.status().as_str()).collect();
    assert_eq!(statuses.len(), Status::ALL.len(), "{statuses:?}");
    let want = derived(&current.raw());
    drop(store);

    (current, tasks, want, stalled)
}

#[test]
fn a_file_of_schema_2_is_migrated_and_its_columns_derived_from_the_bodies() {
    let (current, tasks, want, stalled) = every_status_file("schema-current");
    // The same rows in a version 2 file: its columns only, and a row whose
    // body does not read.
    let old = TempDb::new("schema-2");
    {
        let conn = old.raw();
        conn.execute_batch(SCHEMA_2).unwrap();
        conn.execute(
            "ATTACH DATABASE ?1 AS current",
            [current.0.to_str().unwrap()],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO main.tasks SELECT id, version, owner, resource_kind, resource_id,
                 kind_name, status, parent, created_at, due_at, lease_until, retry_at, check_at,
                 blocking, body FROM current.tasks;
             INSERT INTO main.events SELECT * FROM current.events;
             DETACH DATABASE current;",
        )
        .unwrap();
    }
    let broken = IdGenerator::seeded(32).next_id(t(0));
    old.raw()
        .execute(
            "INSERT INTO tasks (id, version, owner, resource_kind, resource_id, kind_name,
                 status, created_at, due_at, blocking, body)
             VALUES (?1, 1, 'alice', 'domain', 'broken.fr', 'DomainCreate', 'pending',
                 '2026-11-23T09:00:00.000000000Z', '2026-11-23T09:00:00.000000000Z', 0,
                 '{\"identity\": 42}')",
            [broken.to_string()],
        )
        .unwrap();

    let store = old.open();
    assert_eq!(user_version(&old.raw()), SCHEMA_VERSION);
    // Every derived column is what version 3 writes itself, the priorities
    // and the flags of the blocking rule included.
    let mut got = derived(&old.raw());
    let broken_row = got
        .iter()
        .position(|row| row[0] == rusqlite::types::Value::Text(broken.to_string()))
        .unwrap();
    let broken_row = got.remove(broken_row);
    assert_eq!(got, want);
    // The row that does not read is quarantined by the migration.
    assert_eq!(broken_row[19], rusqlite::types::Value::Integer(1));
    let page = store
        .list(&Scope::Staff, &Filter::new(), PageRequest::first(100))
        .unwrap();
    assert_eq!(page.tasks, tasks);
    assert_eq!(
        page.unreadable.iter().map(|u| u.id).collect::<Vec<_>>(),
        [broken]
    );
    for task in &tasks {
        task.check_log(whole_log(&store, task.id(), 100)).unwrap();
    }
    // And the queues answer as on a new file: the blocked task waits for
    // the blocking one, the stalled one is swept.
    assert!(
        store
            .claim(&claim_at(t(1000), 10))
            .unwrap()
            .claimed
            .is_empty()
    );
    let swept = store.sweep(Sweep::Stalled, t(1000), 10).unwrap();
    assert_eq!(ids_of(&swept.tasks), [stalled]);
    assert!(swept.unreadable.is_empty());
    // Opening it again migrates nothing more.
    drop(store);
    let store = old.open();
    assert_eq!(derived(&old.raw()).len(), tasks.len() + 1);
    assert_eq!(every_task_and_unreadable(&store).0, tasks);
}

#[test]
fn a_file_of_schema_3_is_migrated_and_its_held_back_rows_leave_the_claim_index() {
    let (db, tasks, want, _) = every_status_file("schema-3");
    // The file as version 3 left it: no `held`, and a claim index of every
    // pending row.
    db.raw()
        .execute_batch(
            "DROP INDEX tasks_claim;
             ALTER TABLE tasks DROP COLUMN held;
             DROP INDEX tasks_status;
             ALTER TABLE tasks DROP COLUMN listed_status;
             CREATE INDEX tasks_status ON tasks (status, id);
             CREATE INDEX tasks_claim ON tasks (priority DESC, due_at, id)
                 WHERE due_at IS NOT NULL;
             PRAGMA user_version = 3;",
        )
        .unwrap();
    let store = db.open();
    let raw = db.raw();
    assert_eq!(user_version(&raw), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 6);
    // `held` is computed: the one task held back (behind the blocking task
    // in progress on zone.fr) is, and nothing else.
    assert_eq!(derived(&raw), want);
    let held: i64 = raw
        .query_row("SELECT count(*) FROM tasks WHERE held = 1", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(held, 1);
    let index = index_sql(&raw, "tasks_claim").unwrap();
    assert!(index.contains("held = 0"), "{index}");
    assert_eq!(every_task(&store), tasks);
    assert!(
        store
            .claim(&claim_at(t(1000), 10))
            .unwrap()
            .claimed
            .is_empty()
    );
    // Opening it again migrates nothing more.
    drop(store);
    let store = db.open();
    assert_eq!(derived(&db.raw()), want);
    assert_eq!(every_task(&store), tasks);
}

#[test]
fn a_file_of_schema_4_is_migrated_without_due_rows_and_running_rows_indexed() {
    let (db, tasks, want, _) = every_status_file("schema-4");
    let store = db.open();
    let next_due = store.next_due(None).unwrap();
    let next_due_of_kind = store
        .next_due(Some(&BTreeSet::from(["DomainCreate".to_owned()])))
        .unwrap();
    drop(store);
    // The file as version 4 left it: an index of due rows by time beside
    // the claim index, and every status in the status index.
    db.raw()
        .execute_batch(
            "CREATE INDEX tasks_due ON tasks (due_at, id) WHERE due_at IS NOT NULL;
             DROP INDEX tasks_status;
             ALTER TABLE tasks DROP COLUMN listed_status;
             CREATE INDEX tasks_status ON tasks (status, id);
             PRAGMA user_version = 4;",
        )
        .unwrap();
    let store = db.open();
    let raw = db.raw();
    assert_eq!(user_version(&raw), SCHEMA_VERSION);
    assert_eq!(index_sql(&raw, "tasks_due"), None);
    // The status index is made again on the listed status.
    let status_index = index_sql(&raw, "tasks_status").unwrap();
    assert!(status_index.contains("listed_status"), "{status_index}");
    assert_eq!(derived(&raw), want);
    assert_eq!(every_task(&store), tasks);
    // The earliest due time, now read from the claim index, is the same.
    assert!(next_due.is_some());
    assert_eq!(store.next_due(None).unwrap(), next_due);
    assert_eq!(
        store
            .next_due(Some(&BTreeSet::from(["DomainCreate".to_owned()])))
            .unwrap(),
        next_due_of_kind
    );
}

#[test]
fn a_file_of_schema_5_is_migrated_to_the_listed_status() {
    let (db, tasks, want, _) = every_status_file("schema-5");
    // The file as version 5 left it: no `listed_status`, and a status
    // index on `status` without the running rows.
    db.raw()
        .execute_batch(
            "DROP INDEX tasks_status;
             ALTER TABLE tasks DROP COLUMN listed_status;
             CREATE INDEX tasks_status ON tasks (status, id) WHERE status <> 'running';
             PRAGMA user_version = 5;",
        )
        .unwrap();
    let store = db.open();
    let raw = db.raw();
    assert_eq!(user_version(&raw), SCHEMA_VERSION);
    let status_index = index_sql(&raw, "tasks_status").unwrap();
    assert!(status_index.contains("listed_status"), "{status_index}");
    // The column is derived as a save writes it: the running task under
    // pending, every other under its own status.
    assert_eq!(derived(&raw), want);
    let listed: Vec<(String, String)> = raw
        .prepare("SELECT status, listed_status FROM tasks ORDER BY id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (status, listed) in &listed {
        let expected = if status == "running" {
            "pending"
        } else {
            status
        };
        assert_eq!(listed, expected, "{status}");
    }
    // Listings of pending and of running tasks each give their own.
    for status in [Status::Pending, Status::Running] {
        let page = store
            .list(
                &Scope::Staff,
                &Filter::new().statuses(StatusSet::of(&[status])),
                PageRequest::first(100),
            )
            .unwrap();
        let expected: Vec<_> = tasks.iter().filter(|t| t.status() == status).collect();
        assert!(!expected.is_empty(), "{status}");
        assert_eq!(page.tasks.iter().collect::<Vec<_>>(), expected, "{status}");
    }
    assert_eq!(every_task(&store), tasks);
}

/// The schema version a file says it has.
fn user_version(raw: &rusqlite::Connection) -> i64 {
    raw.query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

/// The `CREATE INDEX` statement of the index `name`, if there is one.
fn index_sql(raw: &rusqlite::Connection, name: &str) -> Option<String> {
    use rusqlite::OptionalExtension;
    raw.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
        [name],
        |row| row.get(0),
    )
    .optional()
    .unwrap()
}

/// Every task and every unreadable row a listing gives.
fn every_task_and_unreadable(
    store: &SqliteStore<NamedKind>,
) -> (Vec<Task<NamedKind>>, Vec<TaskId>) {
    let page = store
        .list(&Scope::Staff, &Filter::new(), PageRequest::first(1000))
        .unwrap();
    (
        page.tasks,
        page.unreadable
            .iter()
            .map(|unreadable| unreadable.id)
            .collect(),
    )
}

/// Whether the row of `id` is quarantined.
fn quarantined(db: &TempDb, id: TaskId) -> bool {
    db.raw()
        .query_row(
            "SELECT quarantined FROM tasks WHERE id = ?1",
            [id.to_string()],
            |row| row.get(0),
        )
        .unwrap()
}

/// Replaces the body of `id` with `body`, by hand.
fn set_body(db: &TempDb, id: TaskId, body: &str) {
    let changed = db
        .raw()
        .execute(
            "UPDATE tasks SET body = ?2 WHERE id = ?1",
            [id.to_string(), body.to_owned()],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn rows_that_do_not_read_are_skipped_reported_and_quarantined() {
    let db = TempDb::new("unreadable");
    let store = db.open();
    let mut ids = IdGenerator::seeded(41);
    let mut fresh = |domain: &str| task(&mut ids, NamedKind::new("DomainCreate"), "alice", domain);
    // Two running tasks whose leases run out (the first one sooner), then
    // two pending ones.
    let (expiring, created) = fresh("expiring.fr");
    store.insert(expiring.clone(), created).unwrap();
    let expiring = store
        .claim(&ClaimRequest::new(t(10), t(70)))
        .unwrap()
        .claimed
        .pop()
        .unwrap()
        .task;
    let (running, created) = fresh("running.fr");
    store.insert(running, created).unwrap();
    let running = store
        .claim(&ClaimRequest::new(t(10), t(130)))
        .unwrap()
        .claimed
        .pop()
        .unwrap()
        .task;
    let (garbled, created) = fresh("garbled.fr");
    store.insert(garbled.clone(), created.clone()).unwrap();
    let (fine, created) = fresh("fine.fr");
    store.insert(fine.clone(), created).unwrap();
    let garbled_body = serde_json::to_string(&garbled).unwrap();

    // By hand: the pending one's body garbled, the first running one's
    // replaced by another task's record.
    set_body(&db, garbled.id(), "{\"identity\": {\"id\": \"not a task");
    set_body(
        &db,
        expiring.id(),
        &serde_json::to_string(&running).unwrap(),
    );

    // get: the error names the task.
    for id in [garbled.id(), expiring.id()] {
        let read = store.get(&Scope::Staff, id);
        assert!(
            matches!(&read, Err(StoreError::Unreadable { id: found, .. }) if *found == id),
            "{read:?}"
        );
    }
    // Another owner is not told the row exists.
    let mallory = Scope::Owner(Owner::new("mallory"));
    assert!(store.get(&mallory, garbled.id()).unwrap().is_none());
    // A listing skips both and reports both, every time, and its cursor
    // still passes them.
    let (tasks, unreadable) = every_task_and_unreadable(&store);
    assert_eq!(ids_of(&tasks), [running.id(), fine.id()]);
    assert_eq!(unreadable, [expiring.id(), garbled.id()]);
    let mut seen = Vec::new();
    let mut reported = Vec::new();
    let mut request = PageRequest::first(1);
    loop {
        let page = store.list(&Scope::Staff, &Filter::new(), request).unwrap();
        seen.extend(ids_of(&page.tasks));
        reported.extend(page.unreadable.iter().map(|u| u.id));
        match page.next {
            Some(next) => request = PageRequest::after(next, 1),
            None => break,
        }
    }
    assert_eq!((seen, reported), (ids_of(&tasks), unreadable.clone()));
    // The log is in its own table, and still reads.
    assert_eq!(
        store.log(&Scope::Staff, garbled.id(), 0, 10).unwrap(),
        [created_of(&store, garbled.id())]
    );
    // A save over the row is refused, and writes nothing.
    let mut copy = garbled.clone();
    let event = copy
        .apply(Command::Cancel { reason: None }, Actor::System, t(20))
        .unwrap();
    let saved = store.save(&copy, 1, event.as_slice());
    assert!(
        matches!(saved, Err(StoreError::Unreadable { .. })),
        "{saved:?}"
    );

    // A claim skips the garbled row, reports it and quarantines it; the
    // others are served.
    let claims = store.claim(&claim_at(t(100), 10)).unwrap();
    assert_eq!(claimed_ids(&claims), [fine.id()]);
    assert_eq!(
        claims.unreadable.iter().map(|u| u.id).collect::<Vec<_>>(),
        [garbled.id()]
    );
    assert!(
        claims.unreadable[0].reason.contains("EOF"),
        "{:?}",
        claims.unreadable
    );
    assert!(quarantined(&db, garbled.id()));
    // Quarantined, it is out of the queue: not met again.
    let again = store.claim(&claim_at(t(100), 10)).unwrap();
    assert!(again.claimed.is_empty() && again.unreadable.is_empty());

    // A sweep likewise: the lease sweep skips the row that holds another
    // task's record, reports it once, and serves the other expired lease.
    let swept = store.sweep(Sweep::ExpiredLeases, t(200), 1).unwrap();
    assert_eq!(
        ids_of(&swept.tasks),
        [running.id()],
        "the unreadable row does not use up the limit"
    );
    assert_eq!(
        swept.unreadable.iter().map(|u| u.id).collect::<Vec<_>>(),
        [expiring.id()]
    );
    assert!(
        swept.unreadable[0]
            .reason
            .contains(&running.id().to_string())
    );
    assert!(quarantined(&db, expiring.id()));
    let swept = store.sweep(Sweep::ExpiredLeases, t(200), 10).unwrap();
    assert_eq!(ids_of(&swept.tasks), [running.id()]);
    assert!(swept.unreadable.is_empty());
    // next_due leaves quarantined rows out: the earliest lease is the
    // readable one's, not the quarantined one's (t(70)).
    assert_eq!(store.next_due(None).unwrap(), Some(t(130)));
    // The listing still reports both.
    assert_eq!(every_task_and_unreadable(&store).1, unreadable);

    // Repaired by hand, the garbled row reads again; `reindex` lifts its
    // quarantine, and the next claim takes it.
    set_body(&db, garbled.id(), &garbled_body);
    assert_eq!(
        store.get(&Scope::Staff, garbled.id()).unwrap().as_ref(),
        Some(&garbled)
    );
    let reindexed = store.reindex().unwrap();
    assert_eq!(reindexed.rows, 3);
    assert_eq!(
        reindexed
            .unreadable
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        [expiring.id()]
    );
    assert!(!quarantined(&db, garbled.id()));
    let claims = store.claim(&claim_at(t(300), 10)).unwrap();
    assert_eq!(claimed_ids(&claims), [garbled.id()]);
    assert!(claims.unreadable.is_empty());
}

/// The creation event of task `id`, as stored.
fn created_of(store: &SqliteStore<NamedKind>, id: TaskId) -> Event<NamedKind> {
    store.log(&Scope::Staff, id, 0, 1).unwrap().remove(0)
}

#[test]
fn a_claim_applies_the_blocking_rule_to_the_tasks_it_starts_itself() {
    let db = TempDb::new("blocking-in-one-claim");
    let store = db.open();
    let mut ids = IdGenerator::seeded(45);
    let mut on = |zone: &str, blocking: bool, priority: i32| {
        let new = NewTask::new(
            ids.next_id(t(0)),
            NamedKind::new("ZoneChange"),
            Owner::new("acme"),
            ResourceRef::new("zone", zone),
        )
        .blocking(blocking)
        .priority(priority);
        let (task, created) = Task::create(new, Actor::System, t(0)).unwrap();
        store.insert(task.clone(), created).unwrap();
        task.id()
    };
    // On one zone, two changes that do not block and, below them, one that
    // does; on another, the one that blocks comes first.
    let first = on("a.com", false, 5);
    let second = on("a.com", false, 4);
    let held_back = on("a.com", true, 3);
    let blocker = on("b.com", true, 9);
    let behind = on("b.com", false, 8);
    let elsewhere = on("c.com", false, 0);
    let claims = store.claim(&claim_at(t(10), 10)).unwrap();
    // One query, one batch: each start holds back what it blocks for the
    // rest of the same claim.
    assert_eq!(
        claimed_ids(&claims),
        [blocker, first, second, elsewhere],
        "{held_back} and {behind} wait"
    );
    assert!(
        store
            .claim(&claim_at(t(10), 10))
            .unwrap()
            .claimed
            .is_empty()
    );
}

#[test]
fn one_live_task_per_unique_key_from_threads_on_several_connections() {
    let db = TempDb::new("keys");
    let stores: Vec<SqliteStore<NamedKind>> = (0..4).map(|_| db.open()).collect();
    let mut ids = IdGenerator::seeded(51);
    for round in 0..5 {
        let key = format!("order:race{round}.fr");
        let fresh: Vec<Fresh> = (0..8)
            .map(|_| {
                let new = new_task(&mut ids, NamedKind::new("DomainCreate"), "alice", "race.fr")
                    .unique_key(key.as_str());
                Task::create(new, Actor::System, t(0)).unwrap()
            })
            .collect();
        let barrier = std::sync::Barrier::new(fresh.len());
        let results: Vec<(TaskId, Result<(), StoreError>)> = std::thread::scope(|scope| {
            let inserts: Vec<_> = fresh
                .into_iter()
                .enumerate()
                .map(|(n, (task, created))| {
                    let store = &stores[n % stores.len()];
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        (task.id(), store.insert(task, created))
                    })
                })
                .collect();
            inserts
                .into_iter()
                .map(|insert| insert.join().unwrap())
                .collect()
        });
        let winners: Vec<TaskId> = results
            .iter()
            .filter(|(_, result)| result.is_ok())
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        for (_, result) in &results {
            if let Err(error) = result {
                assert!(
                    matches!(error, StoreError::KeyTaken { key: taken, holder }
                        if *taken == key && *holder == winners[0]),
                    "{error:?}"
                );
            }
        }
        let stored = stores[0]
            .list(&Scope::Staff, &Filter::new(), PageRequest::first(1000))
            .unwrap()
            .tasks
            .into_iter()
            .filter(|task| task.unique_key() == Some(key.as_str()))
            .count();
        assert_eq!(stored, 1);
    }
}

#[test]
fn a_busy_database_is_a_retryable_failure_and_a_broken_one_is_not() {
    let db = TempDb::new("busy");
    let store = db.open();
    let mut ids = IdGenerator::seeded(61);
    let (first, created) = task(&mut ids, NamedKind::new("DomainCreate"), "alice", "a.fr");
    store.insert(first.clone(), created).unwrap();
    store
        .set_busy_timeout(std::time::Duration::from_millis(20))
        .unwrap();
    // Another connection holds the write lock.
    let holder = db.raw();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (second, created) = task(&mut ids, NamedKind::new("DomainCreate"), "alice", "b.fr");
    let busy = store.insert(second.clone(), created.clone());
    assert!(
        matches!(&busy, Err(error @ StoreError::Backend { .. }) if error.is_retryable()),
        "{busy:?}"
    );
    let claim = store.claim(&claim_at(t(10), 1));
    assert!(
        matches!(&claim, Err(error) if error.is_retryable()),
        "{claim:?}"
    );
    // Readers do not wait for the writer (WAL).
    assert_eq!(
        store.get(&Scope::Staff, first.id()).unwrap().as_ref(),
        Some(&first)
    );
    holder.execute_batch("ROLLBACK").unwrap();
    // Once the lock is free, the same call succeeds.
    store.insert(second, created).unwrap();

    // A missing table fails the same way every time: not retryable.
    holder.execute_batch("DROP TABLE events").unwrap();
    let broken = store.log(&Scope::Staff, first.id(), 0, 10);
    assert!(
        matches!(&broken, Err(error @ StoreError::Backend { .. }) if !error.is_retryable()),
        "{broken:?}"
    );
}

#[test]
fn a_purge_deletes_settled_rows_and_their_events_in_batches() {
    let db = TempDb::new("purge");
    let store = db.open();
    let mut ids = IdGenerator::seeded(71);
    let mut settled = Vec::new();
    for n in 0..5 {
        let (task, created) = task(
            &mut ids,
            NamedKind::new("DomainCreate"),
            "alice",
            &format!("p{n}.fr"),
        );
        store.insert(task.clone(), created).unwrap();
        let task = taskstate::store::update(&store, &Scope::Staff, task.id(), |task| {
            Ok(task
                .apply(Command::Cancel { reason: None }, Actor::System, t(100 - n))?
                .into_iter()
                .collect())
        })
        .unwrap();
        settled.push(task);
    }
    let (live, created) = task(&mut ids, NamedKind::new("DomainCreate"), "alice", "live.fr");
    store.insert(live.clone(), created).unwrap();
    // Oldest settled first: the last one cancelled, at t(96).
    assert_eq!(store.purge(t(1000), 2).unwrap(), 2);
    let left: Vec<TaskId> = every_task(&store).iter().map(Task::id).collect();
    let mut want: Vec<TaskId> = settled[..3].iter().map(Task::id).collect();
    want.push(live.id());
    want.sort();
    assert_eq!(left, want);
    assert_eq!(
        store.purge(t(99), 10).unwrap(),
        1,
        "settled before t(99): the one at t(98)"
    );
    assert_eq!(store.purge(t(1000), 10).unwrap(), 2);
    assert_eq!(store.purge(t(1000), 10).unwrap(), 0);
    assert_eq!(every_task(&store), std::slice::from_ref(&live));
    // Their events went with them.
    let rows = event_rows(&db.0);
    assert!(
        rows.iter().all(|row| row.0 == live.id().to_string()),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 1);
}

fn count_orders(store: &SqliteStore<NamedKind>) -> i64 {
    store
        .with_transaction(|tx| {
            tx.query_row("SELECT count(*) FROM orders", [], |row| row.get(0))
                .map_err(|error| StoreError::backend(error, false))
        })
        .unwrap()
}

/// Writes an order and its task in one transaction, then `then`.
fn order(
    store: &SqliteStore<NamedKind>,
    order_id: &str,
    (task, created): &Fresh,
    then: Result<(), &str>,
) -> Result<(), Box<dyn Error>> {
    store.with_transaction(|tx| {
        tx.execute(
            "INSERT INTO orders (id, task_id) VALUES (?1, ?2)",
            (order_id, task.id().to_string()),
        )?;
        insert_in(tx, task, created)?;
        then.map_err(Into::into)
    })
}

/// Times the store cannot keep (the years 0 to 9999 are stored) are the
/// caller's to change: an insert, a claim and a save holding one are
/// refused as `InvalidRequest`, nothing is written, and the task goes on
/// with times the store keeps.
#[test]
fn times_outside_the_stored_years_are_refused_as_invalid_requests() {
    let db = TempDb::new("years");
    let store = db.open();
    let far = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap();
    fn invalid<T>(result: Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::InvalidRequest { .. }))
    }
    let mut ids = IdGenerator::seeded(9);
    let later = new_task(&mut ids, NamedKind::new("DomainRenew"), "alice", "later.fr").todo_at(far);
    let (later, created) = Task::create(later, Actor::System, t(0)).unwrap();
    assert!(invalid(store.insert(later.clone(), created)));
    assert!(store.get(&Scope::Staff, later.id()).unwrap().is_none());

    let (task, created) = task(&mut ids, NamedKind::new("DomainCreate"), "alice", "a.fr");
    store.insert(task.clone(), created).unwrap();
    assert!(invalid(store.claim(&ClaimRequest::new(t(10), far))));
    let read = store.get(&Scope::Staff, task.id()).unwrap().unwrap();
    assert_eq!((read.status(), read.version()), (Status::Pending, 1));
    assert!(whole_log(&store, task.id(), 10).len() == 1);

    let mut claimed = store.claim(&claim_at(t(10), 1)).unwrap().claimed;
    let taskstate::store::Claimed {
        task: mut held,
        run,
    } = claimed.remove(0);
    let read = held.version();
    run.heartbeat(&mut held, far, None, t(20)).unwrap();
    assert!(invalid(store.save(&held, read, &[])));
    let stored = store.get(&Scope::Staff, task.id()).unwrap().unwrap();
    assert_eq!(
        stored.version(),
        read,
        "the refused heartbeat wrote nothing"
    );
    let mut stored = stored;
    run.heartbeat(&mut stored, t(600), None, t(20)).unwrap();
    store.save(&stored, read, &[]).unwrap();
}

/// An insert that fails after its row is written (here its first event
/// collides with a stray event row written by hand) takes the row back:
/// the host commits the rest of its transaction, as the docs of
/// `insert_in` let it, and no task without its log is left behind.
#[test]
fn a_failed_insert_in_the_hosts_transaction_leaves_no_row() {
    let db = TempDb::new("insert-in-fails");
    let store = db.open();
    let mut ids = IdGenerator::seeded(7);
    let (task, created) = task(&mut ids, NamedKind::new("DomainCreate"), "alice", "a.fr");
    db.raw()
        .execute(
            "INSERT INTO events (task_id, version, action, at, body) VALUES (?1, 1, 'x', 'x', 'x')",
            [task.id().to_string()],
        )
        .unwrap();
    let refused = store.with_transaction(|tx| {
        tx.execute_batch("CREATE TABLE orders (id TEXT PRIMARY KEY NOT NULL)")
            .map_err(|error| StoreError::backend(error, false))?;
        let refused = insert_in(tx, &task, &created);
        tx.execute("INSERT INTO orders (id) VALUES ('o-1')", [])
            .map_err(|error| StoreError::backend(error, false))?;
        Ok::<_, StoreError>(refused)
    });
    assert!(
        matches!(refused, Ok(Err(StoreError::Backend { .. }))),
        "{refused:?}"
    );
    assert!(store.get(&Scope::Staff, task.id()).unwrap().is_none());
    let orders: i64 = db
        .raw()
        .query_row("SELECT count(*) FROM orders", [], |row| row.get(0))
        .unwrap();
    assert_eq!(orders, 1, "the host's own change committed");
    // The same task inserts once the stray row is gone.
    db.raw().execute("DELETE FROM events", []).unwrap();
    store.insert(task.clone(), created).unwrap();
    assert!(store.get(&Scope::Staff, task.id()).unwrap().is_some());
}

#[test]
fn a_task_commits_or_rolls_back_with_the_hosts_change() {
    let db = TempDb::new("orders");
    let store = db.open();
    store
        .with_transaction(|tx| {
            tx.execute_batch(
                "CREATE TABLE orders (id TEXT PRIMARY KEY NOT NULL, task_id TEXT NOT NULL)",
            )
            .map_err(|error| StoreError::backend(error, false))
        })
        .unwrap();
    let mut ids = IdGenerator::seeded(5);
    let first = {
        let new = new_task(&mut ids, NamedKind::new("DomainCreate"), "alice", "a.fr")
            .unique_key("order:a.fr");
        Task::create(new, Actor::System, t(0)).unwrap()
    };
    let second = task(&mut ids, NamedKind::new("DomainCreate"), "alice", "b.fr");
    let get = |id| store.get(&Scope::Staff, id).unwrap();

    // Commit: both.
    order(&store, "order-1", &first, Ok(())).unwrap();
    assert_eq!(count_orders(&store), 1);
    assert_eq!(get(first.0.id()).as_ref(), Some(&first.0));
    assert_eq!(
        store.log(&Scope::Staff, first.0.id(), 0, 10).unwrap(),
        std::slice::from_ref(&first.1)
    );

    // The host gives up after both writes: neither.
    let refused = order(&store, "order-2", &second, Err("payment refused"));
    assert_eq!(refused.unwrap_err().to_string(), "payment refused");
    assert_eq!(count_orders(&store), 1);
    assert!(get(second.0.id()).is_none());
    let log = store.log(&Scope::Staff, second.0.id(), 0, 10);
    assert!(matches!(log, Err(StoreError::NotFound { .. })), "{log:?}");
    assert!(
        event_rows(&db.0)
            .iter()
            .all(|row| row.0 != second.0.id().to_string()),
        "a rolled-back creation left its event"
    );

    // The task cannot be stored (its id is taken): the order goes too.
    let duplicate = order(&store, "order-3", &first, Ok(())).unwrap_err();
    assert!(
        matches!(duplicate.downcast_ref::<StoreError>(), Some(StoreError::Duplicate { id }) if *id == first.0.id()),
        "{duplicate:?}"
    );
    // Nor can a task whose key the first one holds.
    let same_key = {
        let new = new_task(&mut ids, NamedKind::new("DomainCreate"), "alice", "a.fr")
            .unique_key("order:a.fr");
        Task::create(new, Actor::System, t(0)).unwrap()
    };
    let taken = order(&store, "order-4", &same_key, Ok(())).unwrap_err();
    assert!(
        matches!(taken.downcast_ref::<StoreError>(), Some(StoreError::KeyTaken { holder, .. }) if *holder == first.0.id()),
        "{taken:?}"
    );
    assert_eq!(count_orders(&store), 1);
    // Neither creation was appended to the stored log.
    assert_eq!(event_rows(&db.0).len(), 1);

    // And what was committed is on disk for the next connection.
    drop(store);
    let store = db.open();
    assert_eq!(count_orders(&store), 1);
    assert_eq!(every_task(&store), std::slice::from_ref(&first.0));
    let claims = store.claim(&claim_at(t(10), 10)).unwrap();
    assert_eq!(claimed_ids(&claims), [first.0.id()]);
}

#[test]
fn two_connections_to_one_file_never_claim_the_same_task() {
    let db = TempDb::new("two-connections");
    let stores = [db.open(), db.open()];
    let mut ids = IdGenerator::seeded(9);
    let mut all = BTreeSet::new();
    for i in 0..200 {
        let task = task(
            &mut ids,
            NamedKind::new("DomainCreate"),
            "alice",
            &format!("d{i}.fr"),
        );
        all.insert(task.0.id());
        stores[i % 2].insert(task.0, task.1).unwrap();
    }
    let claimed: Vec<TaskId> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|n| {
                let store = &stores[n % 2];
                scope.spawn(move || {
                    let request = ClaimRequest::new(t(10), t(310))
                        .limit(3)
                        .worker(format!("w{n}"));
                    let mut mine = Vec::new();
                    loop {
                        let claims = store.claim(&request).unwrap();
                        if claims.claimed.is_empty() {
                            return mine;
                        }
                        mine.extend(claimed_ids(&claims));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    let unique: BTreeSet<TaskId> = claimed.iter().copied().collect();
    assert_eq!(unique.len(), claimed.len(), "a task was claimed twice");
    assert_eq!(unique, all, "a task was never claimed");
    let running = stores[1]
        .list(
            &Scope::Staff,
            &Filter::new().statuses(StatusSet::of(&[Status::Running])),
            PageRequest::first(1000),
        )
        .unwrap();
    assert_eq!(running.tasks.len(), 200);
    // Each task's log holds its creation and one start, whichever
    // connection reads it.
    for task in &running.tasks {
        for store in &stores {
            let log = store.log(&Scope::Staff, task.id(), 0, 10).unwrap();
            assert_eq!(
                log.iter().map(Event::action).collect::<Vec<_>>(),
                [Action::Create, Action::Start]
            );
            task.check_log(&log).unwrap();
        }
    }
}

/// A file restored from a backup taken before a claim, and claimed again:
/// the run of the first claim, still working, is fenced off the second
/// one (both started the task at version 2; with tokens of the version
/// alone, the late run's heartbeat and completion landed on the new run).
#[test]
fn a_run_claimed_after_a_backup_is_fenced_off_the_restored_file() {
    let db = TempDb::new("restore");
    let backup = TempDb::new("restore-backup");
    let mut ids = IdGenerator::seeded(31);
    let (fresh, created) = task(&mut ids, NamedKind::new("DomainCreate"), "alice", "back.fr");
    let id = fresh.id();
    let store = db.open();
    store.insert(fresh, created).unwrap();
    db.raw()
        .execute("VACUUM INTO ?1", [backup.0.to_string_lossy()])
        .unwrap();
    let late = store.claim(&claim_at(t(10), 1)).unwrap().claimed.remove(0);
    drop(store);

    // The backup goes back in place of the file.
    remove_files(&db.0).unwrap();
    std::fs::copy(&backup.0, &db.0).unwrap();
    let store = db.open();
    let restored = store.get(&Scope::Staff, id).unwrap().expect("restored");
    assert_eq!(restored.status(), Status::Pending);
    let again = store.claim(&claim_at(t(20), 1)).unwrap().claimed.remove(0);
    assert_eq!(again.task.version(), late.task.version());
    assert_ne!(again.run.token(), late.run.token());

    // The late run, its handle rebuilt from the token it kept, is refused.
    let stale = taskstate::store::update(&store, &Scope::Staff, id, |task| {
        let run = taskstate::Run::rebuild(task, late.run.token())?;
        run.heartbeat(task, t(400), None, t(21))?;
        Ok(Vec::new())
    });
    assert!(
        matches!(
            stale,
            Err(taskstate::store::UpdateError::Rejected(
                taskstate::Rejection::StaleLease { .. }
            ))
        ),
        "{stale:?}"
    );
    let mut held = store.get(&Scope::Staff, id).unwrap().expect("held");
    assert_eq!(held.version(), again.task.version(), "nothing was saved");
    let read = held.version();
    let done = again
        .run
        .complete(&mut held, Outcome::new(), t(22))
        .unwrap();
    store.save(&held, read, &[done]).unwrap();
    let finished = store.get(&Scope::Staff, id).unwrap().expect("finished");
    assert_eq!(finished.status(), Status::Done);
}

#[test]
fn a_worker_fails_a_task_whose_answer_the_file_cannot_keep_and_handles_the_others() {
    // One handler answers with a wait past the year 9999, which no time
    // column here keeps: that task fails (rather than run again at every
    // step), and the task claimed with it is handled in the same step.
    use taskstate::store::{HandlerReply, Worker, work_once};
    let db = TempDb::new("worker-answer");
    let store = db.open();
    let mut ids = IdGenerator::seeded(61);
    let kind = NamedKind::new("DomainCreate");
    for domain in ["a.fr", "b.fr"] {
        let (task, created) = task(&mut ids, kind.clone(), "alice", domain);
        store.insert(task, created).unwrap();
    }
    let far = Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap() + Duration::days(2);
    let worker = Worker::new("w", Duration::minutes(5)).batch(2);
    let mut handled = Vec::new();
    let report = work_once(&store, &worker, t(1), |task, _| {
        handled.push(task.resource().id.clone());
        if task.resource().id == "a.fr" {
            HandlerReply::Wait(Pause::until(far))
        } else {
            HandlerReply::Complete(Outcome::new())
        }
    })
    .unwrap();
    handled.sort();
    assert_eq!(handled, ["a.fr", "b.fr"]);
    assert_eq!((report.claimed, report.recorded, report.refused), (2, 1, 1));
    let by_domain = |domain: &str| {
        every_task(&store)
            .into_iter()
            .find(|task| task.resource().id == domain)
            .unwrap()
    };
    assert_eq!(by_domain("b.fr").status(), Status::Done);
    let failed = by_domain("a.fr");
    assert_eq!(failed.status(), Status::Failed);
    assert_eq!(
        failed.failure().map(|failure| failure.code.as_str()),
        Some("ANSWER_NOT_STORED")
    );
}
