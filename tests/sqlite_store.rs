#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SQLite store of `examples/sqlite_store` on real database files:
//! the conformance suite, a reopened file, a task created in the host's
//! own transaction, and two connections claiming from one file.

#[path = "../examples/sqlite_store/store.rs"]
mod store;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::error::Error;
use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use taskstate::store::{Filter, PageRequest, Scope, StoreError, TaskStore, testkit};
use taskstate::{
    Actor, ArgumentSpec, Command, Failure, IdGenerator, NamedKind, NewSubtask, NewTask, Outcome,
    Owner, ResourceRef, Status, StatusSet, SubtaskChange, Task, TaskId,
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

fn task(ids: &mut IdGenerator, kind: NamedKind, owner: &str, domain: &str) -> Task<NamedKind> {
    let new = NewTask::new(
        ids.next_id(t(0)),
        kind,
        Owner::new(owner),
        ResourceRef::new("domain", domain),
    );
    Task::create(new, Actor::System, t(0)).unwrap()
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
    {
        let store = db.open();
        for task in [&rich, &failing, &waiting, &later] {
            store.insert(task.clone()).unwrap();
        }
        let claimed = store.claim_due(t(10), 10, t(310), Some("w1")).unwrap();
        assert_eq!(claimed.len(), 3, "the later one is not due");
        for claim in claimed {
            let mut task = claim.task;
            let read = task.version();
            if task.id() == rich.id() {
                let token = claim.run.token();
                for change in [SubtaskChange::Start, SubtaskChange::Succeed] {
                    task.apply(
                        Command::Subtask {
                            token,
                            id: 0,
                            change,
                        },
                        Actor::System,
                        t(15),
                    )
                    .unwrap();
                }
                claim
                    .run
                    .complete(&mut task, Outcome::new().message("created"), t(20))
                    .unwrap();
            } else if task.id() == failing.id() {
                claim
                    .run
                    .fail(
                        &mut task,
                        Failure::provider("DOWN", "registry down", t(20)),
                        t(20),
                    )
                    .unwrap();
            } else {
                // The registry answers later; the paused run's handle
                // would go back to the executor.
                let _paused = claim
                    .run
                    .wait(
                        &mut task,
                        t(3600),
                        Some("registry answers later".into()),
                        t(20),
                    )
                    .unwrap();
            }
            store.save(&task, read).unwrap();
            held.push(task);
        }
        held.push(later.clone());
        held.sort_by_key(Task::id);
        assert_eq!(every_task(&store), held);
    }

    // A new connection to the same file reads the same tasks, field for
    // field, and its indexes still answer.
    let store = db.open();
    assert_eq!(every_task(&store), held);
    for task in &held {
        assert_eq!(
            store.get(&Scope::Staff, task.id()).unwrap().as_ref(),
            Some(task)
        );
    }
    let failed = held.iter().find(|task| task.id() == failing.id()).unwrap();
    assert_eq!(failed.status(), Status::Failed);
    if let Some(at) = failed.next_retry_at() {
        let due = store.retry_due(at, 10).unwrap();
        assert_eq!(due.iter().map(Task::id).collect::<Vec<_>>(), [failing.id()]);
    }
    let expired = store.expired(t(3600), 10).unwrap();
    assert_eq!(
        expired.iter().map(Task::id).collect::<Vec<_>>(),
        [waiting.id()]
    );
    let pending: Vec<TaskId> = store
        .claim_due(t(86_400), 10, t(86_700), None)
        .unwrap()
        .iter()
        .map(|claim| claim.task.id())
        .collect();
    assert_eq!(pending, [later.id()]);
    // The version column still drives compare-and-swap.
    let stale = held.iter().find(|task| task.id() == later.id()).unwrap();
    assert_eq!(
        store.save(stale, stale.version()),
        Err(StoreError::Conflict {
            id: later.id(),
            expected: 1,
            found: 2
        })
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
    task: &Task<NamedKind>,
    then: Result<(), &str>,
) -> Result<(), Box<dyn Error>> {
    store.with_transaction(|tx| {
        tx.execute(
            "INSERT INTO orders (id, task_id) VALUES (?1, ?2)",
            (order_id, task.id().to_string()),
        )?;
        insert_in(tx, task)?;
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
    assert_eq!(get(first.id()).as_ref(), Some(&first));

    // The host gives up after both writes: neither.
    let refused = order(&store, "order-2", &second, Err("payment refused"));
    assert_eq!(refused.unwrap_err().to_string(), "payment refused");
    assert_eq!(count_orders(&store), 1);
    assert!(get(second.id()).is_none());

    // The task cannot be stored (its id is taken): the order goes too.
    let duplicate = order(&store, "order-3", &first, Ok(()));
    let error = duplicate.unwrap_err();
    assert_eq!(
        error.downcast_ref::<StoreError>(),
        Some(&StoreError::Duplicate { id: first.id() })
    );
    assert_eq!(count_orders(&store), 1);

    // And what was committed is on disk for the next connection.
    drop(store);
    let store = db.open();
    assert_eq!(count_orders(&store), 1);
    assert_eq!(every_task(&store), std::slice::from_ref(&first));
    let claimed = store.claim_due(t(10), 10, t(310), None).unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|claim| claim.task.id())
            .collect::<Vec<_>>(),
        [first.id()]
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
        all.insert(task.id());
        stores[i % 2].insert(task).unwrap();
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
}
