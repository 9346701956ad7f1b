#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SQLite store of `examples/sqlite_store` on real database files:
//! the conformance suite, a reopened file, the log in its own table
//! (appended with the record, paged by version, never in the record's
//! body), a task created in the host's own transaction, and two
//! connections claiming from one file.

#[path = "../examples/sqlite_store/store.rs"]
mod store;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::error::Error;
use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use taskstate::store::{Filter, PageRequest, Scope, StoreError, TaskStore, testkit};
use taskstate::{
    Action, Actor, ArgumentSpec, Command, Event, Failure, IdGenerator, NamedKind, NewSubtask,
    NewTask, Outcome, Owner, Pause, ResourceRef, Status, StatusSet, SubtaskChange, Task, TaskId,
};

use store::{SqliteStore, insert_in, remove_files, temp_path};

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
}

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_files(&self.0).unwrap();
    }
}

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

/// A new task and its creation event, to insert.
type Fresh = (Task<NamedKind>, Event<NamedKind>);

fn task(ids: &mut IdGenerator, kind: NamedKind, owner: &str, domain: &str) -> Fresh {
    let new = NewTask::new(
        ids.next_id(t(0)),
        kind,
        Owner::new(owner),
        ResourceRef::new("domain", domain),
    );
    Task::create(new, Actor::System, t(0)).unwrap()
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
    page.tasks
}

#[test]
fn the_sqlite_store_passes_the_conformance_suite() {
    let files = RefCell::new(Vec::new());
    testkit::check_store(|| {
        let db = TempDb::new("conformance");
        let store = db.open();
        files.borrow_mut().push(db);
        store
    })
    .unwrap();
}

#[test]
fn the_store_is_send_sync_and_object_safe() {
    fn assert_send_sync<X: Send + Sync>() {}
    assert_send_sync::<SqliteStore<NamedKind>>();
    let db = TempDb::new("dyn");
    let store = db.open();
    let store: &dyn TaskStore<NamedKind> = &store;
    let id = IdGenerator::seeded(3).next_id(t(0));
    assert!(store.get(&Scope::Staff, id).unwrap().is_none());
}

#[test]
fn a_reopened_file_gives_back_equal_tasks() {
    let db = TempDb::new("reopen");
    let mut ids = IdGenerator::seeded(11);
    let rich = {
        let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("holder", 1, 100));
        let new = NewTask::new(
            ids.next_id(t(0)),
            kind,
            Owner::new("alice"),
            ResourceRef::new("domain", "rich.fr"),
        )
        .title("Create rich.fr")
        .argument("holder", "Alice Martin")
        .subtask(NewSubtask::new("contact", "create the contact"))
        .also_on(ResourceRef::new("contact", "c-1"));
        Task::create(new, Actor::customer("alice"), t(0)).unwrap()
    };
    let failing = task(&mut ids, NamedKind::new("DomainCreate"), "bob", "down.fr");
    let waiting = task(&mut ids, NamedKind::new("DomainTrade"), "bob", "slow.fr");
    let later = {
        let new = NewTask::new(
            ids.next_id(t(0)),
            NamedKind::new("DomainRenew"),
            Owner::new("carol"),
            ResourceRef::new("domain", "later.fr"),
        )
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
        let claimed = store.claim_due(t(10), 10, t(310), Some("w1")).unwrap();
        assert_eq!(claimed.len(), 3, "the later one is not due");
        for claim in claimed {
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
        let due = store.retry_due(at, 10).unwrap();
        assert_eq!(
            due.iter().map(Task::id).collect::<Vec<_>>(),
            [failing.0.id()]
        );
    }
    let expired = store.expired(t(3600), 10).unwrap();
    assert_eq!(
        expired.iter().map(Task::id).collect::<Vec<_>>(),
        [waiting.0.id()]
    );
    let pending: Vec<TaskId> = store
        .claim_due(t(86_400), 10, t(86_700), None)
        .unwrap()
        .iter()
        .map(|claim| claim.task.id())
        .collect();
    assert_eq!(pending, [later.0.id()]);
    // The version column still drives compare-and-swap.
    let stale = held.iter().find(|task| task.id() == later.0.id()).unwrap();
    assert_eq!(
        store.save(stale, stale.version(), &[]),
        Err(StoreError::Conflict {
            id: later.0.id(),
            expected: 1,
            found: 2
        })
    );
}

/// Every row of the `events` table, as `(task_id, version, action, at,
/// body)`, read by a second connection.
fn event_rows(path: &std::path::Path) -> Vec<(String, i64, String, String, String)> {
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
    let mut log = vec![created];

    let claim = store
        .claim_due(t(10), 1, t(310), Some("w"))
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(claim.task.id(), task.id());
    task = claim.task;
    log = store.log(&Scope::Staff, task.id(), 0, 100).unwrap();
    assert_eq!(log.len(), 2);
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
    assert_eq!(
        store.log(&bob, task.id(), 0, 100),
        Err(StoreError::NotFound { id: task.id() })
    );
    let unknown = ids.next_id(t(0));
    assert_eq!(
        store.log(&Scope::Staff, unknown, 0, 100),
        Err(StoreError::NotFound { id: unknown })
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
    let reader = rusqlite::Connection::open(&db.0).unwrap();
    let body: String = reader
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
fn a_file_of_the_first_schema_is_refused() {
    // Version 1 kept the history inside the record's body; this store
    // cannot read it, and says so rather than misreading it.
    let db = TempDb::new("schema-1");
    {
        let conn = rusqlite::Connection::open(&db.0).unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
    }
    let refused = SqliteStore::<NamedKind>::open(&db.0).unwrap_err();
    assert!(
        matches!(&refused, StoreError::Backend(message) if message.contains("schema version 1")),
        "{refused:?}"
    );
}

fn count_orders(store: &SqliteStore<NamedKind>) -> i64 {
    store
        .with_transaction(|tx| {
            tx.query_row("SELECT count(*) FROM orders", [], |row| row.get(0))
                .map_err(|error| StoreError::Backend(error.to_string()))
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

#[test]
fn a_task_commits_or_rolls_back_with_the_hosts_change() {
    let db = TempDb::new("orders");
    let store = db.open();
    store
        .with_transaction(|tx| {
            tx.execute_batch(
                "CREATE TABLE orders (id TEXT PRIMARY KEY NOT NULL, task_id TEXT NOT NULL)",
            )
            .map_err(|error| StoreError::Backend(error.to_string()))
        })
        .unwrap();
    let mut ids = IdGenerator::seeded(5);
    let first = task(&mut ids, NamedKind::new("DomainCreate"), "alice", "a.fr");
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
    assert_eq!(
        store.log(&Scope::Staff, second.0.id(), 0, 10),
        Err(StoreError::NotFound { id: second.0.id() })
    );
    assert!(
        event_rows(&db.0)
            .iter()
            .all(|row| row.0 != second.0.id().to_string()),
        "a rolled-back creation left its event"
    );

    // The task cannot be stored (its id is taken): the order goes too.
    let duplicate = order(&store, "order-3", &first, Ok(()));
    let error = duplicate.unwrap_err();
    assert_eq!(
        error.downcast_ref::<StoreError>(),
        Some(&StoreError::Duplicate { id: first.0.id() })
    );
    assert_eq!(count_orders(&store), 1);
    // The duplicate's creation was not appended to the stored log either.
    assert_eq!(event_rows(&db.0).len(), 1);

    // And what was committed is on disk for the next connection.
    drop(store);
    let store = db.open();
    assert_eq!(count_orders(&store), 1);
    assert_eq!(every_task(&store), std::slice::from_ref(&first.0));
    let claimed = store.claim_due(t(10), 10, t(310), None).unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|claim| claim.task.id())
            .collect::<Vec<_>>(),
        [first.0.id()]
    );
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
                    let mut mine = Vec::new();
                    loop {
                        let claimed = store
                            .claim_due(t(10), 3, t(310), Some(&format!("w{n}")))
                            .unwrap();
                        if claimed.is_empty() {
                            return mine;
                        }
                        mine.extend(claimed.iter().map(|claim| claim.task.id()));
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
