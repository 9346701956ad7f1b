//! A real database under the lifecycle: the `TaskStore` contract over
//! SQLite (rusqlite with its bundled SQLite, nothing to install).
//!
//! Run: `cargo run --example sqlite_store`
//!
//! The store is in `store.rs`: a `tasks` table with the record as JSON
//! beside the columns it is queried by, a version column that drives
//! compare-and-swap, partial indexes for claims, expiries and retries,
//! and an `events` table keyed by (task id, version) that holds each
//! task's log, appended in the same transaction as the record. This
//! example opens a database in a temporary file, claims, heartbeats and
//! completes tasks (a blocking zone publish holds back a record update on
//! its zone), reads a log page by page and checks it against its record,
//! shows the saves the store refuses, lists with filters and scopes,
//! creates a domain order and its DomainCreate task in one transaction
//! (committed, then rolled back), reopens the file to show nothing was
//! lost, and removes the file.

mod store;

use std::error::Error;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use taskstate::store::{Claimed, Filter, PageRequest, Scope, StoreError, TaskStore};
use taskstate::{
    Actor, Event, Failure, IdGenerator, NewTask, Outcome, Owner, ResourceRef, Rules, Status,
    StatusSet, Task, TaskId, TaskKind, Timeline,
};

use store::{SqliteStore, insert_in, remove_files, temp_path};

/// The registrar's task kinds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Registrar {
    DomainCreate,
    DomainRenew,
    ZonePublish,
    RecordUpdate,
}

/// Publishing a zone blocks every other change on the zone until it ends.
static ZONE_PUBLISH: Rules = Rules::new().blocking(true);

impl TaskKind for Registrar {
    fn name(&self) -> &str {
        match self {
            Registrar::DomainCreate => "DomainCreate",
            Registrar::DomainRenew => "DomainRenew",
            Registrar::ZonePublish => "ZonePublish",
            Registrar::RecordUpdate => "RecordUpdate",
        }
    }

    fn rules(&self) -> &Rules {
        match self {
            Registrar::ZonePublish => &ZONE_PUBLISH,
            _ => &Rules::STANDARD,
        }
    }
}

/// One line about a task.
fn line(task: &Task<Registrar>) -> String {
    format!(
        "{:<13} {:<22} {:<6} {:<9} v{}",
        task.kind().name(),
        task.resource().to_string(),
        task.owner().as_str(),
        task.status().as_str(),
        task.version()
    )
}

/// Every task `scope` sees that match `filter`, page by page.
fn all(
    store: &SqliteStore<Registrar>,
    scope: &Scope,
    filter: &Filter,
) -> Result<Vec<Task<Registrar>>, Box<dyn Error>> {
    let mut tasks = Vec::new();
    let mut request = PageRequest::first(2);
    loop {
        let page = store.list(scope, filter, request)?;
        tasks.extend(page.tasks);
        match page.next {
            Some(cursor) => request = PageRequest::after(cursor, 2),
            None => return Ok(tasks),
        }
    }
}

/// The whole log of task `id`, read three events a page.
fn whole_log(
    store: &SqliteStore<Registrar>,
    id: TaskId,
) -> Result<Vec<Event<Registrar>>, Box<dyn Error>> {
    let mut log: Vec<Event<Registrar>> = Vec::new();
    loop {
        let after = log.last().map_or(0, |event| event.version);
        let page = store.log(&Scope::Staff, id, after, 3)?;
        if page.is_empty() {
            return Ok(log);
        }
        log.extend(page);
    }
}

/// How many orders the host's own table holds.
fn orders(store: &SqliteStore<Registrar>) -> Result<i64, Box<dyn Error>> {
    store.with_transaction(|tx| {
        Ok(tx.query_row("SELECT count(*) FROM orders", [], |row| row.get(0))?)
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let t0: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .ok_or("bad time")?;
    let at = |seconds: i64| t0 + Duration::seconds(seconds);
    let mut ids = IdGenerator::seeded(7);
    let path = temp_path("example");
    println!("database: {}\n", path.display());
    let store: SqliteStore<Registrar> = SqliteStore::open(&path)?;

    println!("== 1. Four tasks in, one claim\n");
    let new = |ids: &mut IdGenerator, kind, owner: &str, resource: ResourceRef, when| {
        NewTask::new(ids.next_id(when), kind, Owner::new(owner), resource)
    };
    let create = Task::create(
        new(
            &mut ids,
            Registrar::DomainCreate,
            "alice",
            ResourceRef::new("domain", "example.fr"),
            at(0),
        ),
        Actor::customer("alice"),
        at(0),
    )?;
    let renew = Task::create(
        new(
            &mut ids,
            Registrar::DomainRenew,
            "alice",
            ResourceRef::new("domain", "example.com"),
            at(1),
        )
        .todo_at(at(86_400)),
        Actor::customer("alice"),
        at(1),
    )?;
    let publish = Task::create(
        new(
            &mut ids,
            Registrar::ZonePublish,
            "bob",
            ResourceRef::new("zone", "bob.net"),
            at(2),
        ),
        Actor::customer("bob"),
        at(2),
    )?;
    let record = Task::create(
        new(
            &mut ids,
            Registrar::RecordUpdate,
            "bob",
            ResourceRef::new("zone", "bob.net"),
            at(3),
        ),
        Actor::customer("bob"),
        at(3),
    )?;
    for (task, created) in [&create, &renew, &publish, &record] {
        println!("  inserted  {}", line(task));
        store.insert(task.clone(), created.clone())?;
    }

    let now = at(10);
    let claimed = store.claim_due(now, 10, now + Duration::minutes(5), Some("worker-1"))?;
    println!(
        "\n  claim at +10s: {} started (the renewal is due tomorrow; the record update waits \
         for the zone publish)",
        claimed.len()
    );
    for claim in &claimed {
        println!("  claimed   {}", line(&claim.task));
    }

    println!(
        "\n== 2. The executor heartbeats and completes its runs; each save compares and swaps\n"
    );
    let done_at = at(60);
    let mut finished = Vec::new();
    for claim in claimed {
        let mut task = claim.task;
        // A heartbeat is lease state: the version moves, nothing is logged.
        let read = task.version();
        claim.run.heartbeat(
            &mut task,
            at(30) + Duration::minutes(5),
            Some("registry contacted".into()),
            at(30),
        )?;
        store.save(&task, read, &[])?;
        println!("  beat      {} (over v{read}, no event)", line(&task));
        let read = task.version();
        let completed = claim
            .run
            .complete(&mut task, Outcome::new().message("done"), done_at)?;
        store.save(&task, read, std::slice::from_ref(&completed))?;
        println!(
            "  saved     {} (over v{read}, appends v{})",
            line(&task),
            completed.version
        );
        // A second save from the same stale read is refused.
        if let Err(conflict) = store.save(&task, read, std::slice::from_ref(&completed)) {
            println!("  refused   {conflict}");
        }
        finished.push(task);
    }
    let next = store.claim_due(
        done_at,
        10,
        done_at + Duration::minutes(5),
        Some("worker-2"),
    )?;
    for claim in &next {
        println!("  claimed   {} (the zone is free)", line(&claim.task));
    }

    println!("\n== 3. A log, page by page, and the saves the store refuses\n");
    let task = store
        .get(&Scope::Staff, publish.0.id())?
        .ok_or("the zone publish is gone")?;
    let log = whole_log(&store, task.id())?;
    print!("{}", Timeline::new(&log));
    task.check_log(&log)?;
    println!(
        "  {} events for v{}: the heartbeat is counted in the completion, and the log \
         rebuilds the record",
        log.len(),
        task.version()
    );
    let version = task.version();
    // The record saved again at its own version: nothing newer.
    let rollback = store.save(&task, version, &[]);
    // A newer record without the event that made it: its log would lose it.
    let Claimed {
        task: mut stopped,
        run,
    } = next
        .into_iter()
        .next()
        .ok_or("nothing claimed after the zone publish")?;
    let read = stopped.version();
    let failure = Failure::provider("DOWN", "the registry is down", done_at);
    let failed = run.fail(&mut stopped, failure, done_at)?;
    let dropped = store.save(&stopped, read, &[]);
    for (what, result) in [("a rollback", rollback), ("a dropped append", dropped)] {
        match result {
            Err(error @ StoreError::Refused { .. }) => println!("  refused   {what}: {error}"),
            other => return Err(format!("{what} was not refused: {other:?}").into()),
        }
    }
    store.save(&stopped, read, &[failed])?;
    println!("  saved     {} (with its event)", line(&stopped));

    println!("\n== 4. Listings: filters and scopes, two tasks a page\n");
    let done = Filter::new().statuses(StatusSet::of(&[Status::Done]));
    for task in all(&store, &Scope::Staff, &done)? {
        println!("  done      {}", line(&task));
    }
    let alice = Scope::Owner(Owner::new("alice"));
    for task in all(&store, &alice, &Filter::new())? {
        println!("  alice's   {}", line(&task));
    }
    let on_zone = Filter::new().resource(ResourceRef::new("zone", "bob.net"));
    let seen_by_alice = all(&store, &alice, &on_zone)?;
    println!("  alice sees {} of bob's zone tasks", seen_by_alice.len());

    println!("\n== 5. A domain order and its task, in one transaction\n");
    store.with_transaction(|tx| {
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS orders (
                 id      TEXT PRIMARY KEY NOT NULL,
                 domain  TEXT NOT NULL,
                 owner   TEXT NOT NULL,
                 task_id TEXT NOT NULL
             )",
        )?;
        Ok::<_, Box<dyn Error>>(())
    })?;
    let (order_task, order_created) = Task::create(
        new(
            &mut ids,
            Registrar::DomainCreate,
            "carol",
            ResourceRef::new("domain", "carol.org"),
            at(100),
        ),
        Actor::customer("carol"),
        at(100),
    )?;
    store.with_transaction(|tx| {
        tx.execute(
            "INSERT INTO orders (id, domain, owner, task_id) VALUES (?1, ?2, ?3, ?4)",
            ("order-1", "carol.org", "carol", order_task.id().to_string()),
        )?;
        insert_in(tx, &order_task, &order_created)?;
        Ok::<_, Box<dyn Error>>(())
    })?;
    let stored = store.get(&Scope::Staff, order_task.id())?;
    println!(
        "  committed: {} order(s), task stored: {}",
        orders(&store)?,
        stored.is_some()
    );

    let (refused_task, refused_created) = Task::create(
        new(
            &mut ids,
            Registrar::DomainCreate,
            "dave",
            ResourceRef::new("domain", "dave.org"),
            at(200),
        ),
        Actor::customer("dave"),
        at(200),
    )?;
    let outcome = store.with_transaction(|tx| {
        tx.execute(
            "INSERT INTO orders (id, domain, owner, task_id) VALUES (?1, ?2, ?3, ?4)",
            ("order-2", "dave.org", "dave", refused_task.id().to_string()),
        )?;
        insert_in(tx, &refused_task, &refused_created)?;
        // The payment is refused after both writes: the host gives up.
        Err::<(), Box<dyn Error>>("payment refused".into())
    });
    let stored = store.get(&Scope::Staff, refused_task.id())?;
    println!(
        "  rolled back ({}): {} order(s), task stored: {}",
        outcome
            .err()
            .map_or_else(String::new, |error| error.to_string()),
        orders(&store)?,
        stored.is_some()
    );

    println!("\n== 6. Reopen the file: nothing was lost\n");
    let before = all(&store, &Scope::Staff, &Filter::new())?;
    drop(store);
    let store = SqliteStore::open(&path)?;
    let after = all(&store, &Scope::Staff, &Filter::new())?;
    for task in &after {
        println!("  read      {}", line(task));
    }
    // And every log still rebuilds its record.
    for task in &after {
        task.check_log(whole_log(&store, task.id())?)?;
    }
    println!(
        "  {} tasks and {} order(s) after reopening; equal to before: {}; every log rebuilds \
         its record",
        after.len(),
        orders(&store)?,
        before == after
    );
    if before != after {
        return Err("the reopened database differs".into());
    }

    drop(store);
    remove_files(&path)?;
    println!("\nremoved {}", path.display());
    Ok(())
}
