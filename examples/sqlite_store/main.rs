//! A real database under the lifecycle: the `TaskStore` contract over
//! SQLite (rusqlite with its bundled SQLite, nothing to install).
//!
//! Run: `cargo run --example sqlite_store`
//!
//! The store is in `store.rs`: a `tasks` table with the record as JSON
//! beside the columns it is queried by (a version column that drives
//! compare-and-swap, priority, unique key, blocking and progress flags,
//! the due, lease, retry, check, stall and settlement times), partial
//! indexes for each queue, and an `events` table keyed by (task id,
//! version) that holds each task's log, appended in the same transaction
//! as the record. This example opens a database in a temporary file,
//! claims by priority (a blocking zone publish holds back a record update
//! on its zone, in SQL), heartbeats and completes runs, reads a log page by
//! page and checks it against its record, shows the saves and inserts the
//! store refuses (a stale version, a rollback, a lost append, a unique key
//! a live task holds), runs a worker step, lists with filters and scopes,
//! creates a domain order and its task in one transaction (committed, then
//! rolled back), purges settled tasks, reopens the file to show nothing
//! was lost, and removes the file.

// The tests use the parts of the store this walk-through does not.
#[allow(dead_code)]
mod store;

use std::error::Error;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use taskstate::store::{
    ClaimRequest, Claimed, Filter, Handled, PageRequest, Scope, StoreError, TaskStore, Worker,
    update, work_once,
};
use taskstate::{
    Actor, Command, Event, Failure, IdGenerator, NewTask, Outcome, Owner, ResourceRef, Rules,
    Status, StatusSet, Task, TaskId, TaskKind, Timeline,
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

type Store = SqliteStore<Registrar>;

/// One line about a task.
fn line(task: &Task<Registrar>) -> String {
    format!(
        "{:<13} {:<22} {:<6} {:<9} p{:<2} v{}",
        task.kind().name(),
        task.resource().to_string(),
        task.owner().as_str(),
        task.status().as_str(),
        task.priority(),
        task.version()
    )
}

/// Every task `scope` sees that match `filter`, page by page.
fn all(
    store: &Store,
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
fn whole_log(store: &Store, id: TaskId) -> Result<Vec<Event<Registrar>>, Box<dyn Error>> {
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
fn orders(store: &Store) -> Result<i64, Box<dyn Error>> {
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
    let store: Store = SqliteStore::open(&path)?;
    let mut new = |kind, owner: &str, resource: ResourceRef, when| {
        NewTask::new(ids.next_id(when), kind, Owner::new(owner), resource)
    };

    println!("== 1. Four tasks in, one claim by priority\n");
    let zone = || ResourceRef::new("zone", "bob.net");
    let create = Task::create(
        new(
            Registrar::DomainCreate,
            "alice",
            ResourceRef::new("domain", "example.fr"),
            at(0),
        )
        .unique_key("order:example.fr"),
        Actor::customer("alice"),
        at(0),
    )?;
    let renew = Task::create(
        new(
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
        new(Registrar::ZonePublish, "bob", zone(), at(2)),
        Actor::customer("bob"),
        at(2),
    )?;
    let record = Task::create(
        new(Registrar::RecordUpdate, "bob", zone(), at(3)).priority(5),
        Actor::customer("bob"),
        at(3),
    )?;
    for (task, created) in [&create, &renew, &publish, &record] {
        println!("  inserted  {}", line(task));
        store.insert(task.clone(), created.clone())?;
    }
    let now = at(10);
    let request = ClaimRequest::new(now, now + Duration::minutes(5))
        .limit(10)
        .worker("worker-1");
    let claimed = store.claim(&request)?.claimed;
    println!(
        "\n  claim at +10s: {} started, highest priority first (the renewal is due tomorrow; \
         the zone publish waits for the record update on its zone)",
        claimed.len()
    );
    for claim in &claimed {
        println!("  claimed   {}", line(&claim.task));
    }

    println!("\n== 2. Heartbeats and completions; each save compares and swaps\n");
    let done_at = at(60);
    for claim in claimed {
        let mut task = claim.task;
        // A heartbeat is lease state: the version moves, nothing is logged.
        let read = task.version();
        let lease = at(30) + Duration::minutes(5);
        claim
            .run
            .heartbeat(&mut task, lease, Some("registry contacted".into()), at(30))?;
        store.save(&task, read, &[])?;
        println!("  beat      {} (over v{read}, no event)", line(&task));
        let read = task.version();
        let completed = claim
            .run
            .complete(&mut task, Outcome::new().message("done"), done_at)?;
        store.save(&task, read, std::slice::from_ref(&completed))?;
        println!(
            "  saved     {} (appends v{})",
            line(&task),
            completed.version
        );
        // A second save from the same stale read is refused.
        if let Err(conflict) = store.save(&task, read, std::slice::from_ref(&completed)) {
            println!("  refused   {conflict}");
        }
    }
    let later = ClaimRequest::new(done_at, done_at + Duration::minutes(5))
        .limit(10)
        .worker("worker-2")
        .kinds(["ZonePublish"]);
    let next = store.claim(&later)?.claimed;
    for claim in &next {
        println!(
            "  claimed   {} (the zone is free; ZonePublish only)",
            line(&claim.task)
        );
    }

    println!("\n== 3. A log, page by page, and the writes the store refuses\n");
    let task = store
        .get(&Scope::Staff, record.0.id())?
        .ok_or("the record update is gone")?;
    let log = whole_log(&store, task.id())?;
    print!("{}", Timeline::new(&log));
    task.check_log(&log)?;
    println!(
        "  {} events for v{}: the heartbeat is counted in the completion, and the log \
         rebuilds the record",
        log.len(),
        task.version()
    );
    // The record saved again at its own version: nothing newer.
    let rollback = store.save(&task, task.version(), &[]);
    // A newer record without the event that made it: its log would lose it.
    let Claimed {
        task: mut stopped,
        run,
    } = next
        .into_iter()
        .next()
        .ok_or("nothing claimed after the update")?;
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
    // Done, the domain creation has freed its key: a second order goes in,
    // and a third one is refused while the second is live.
    let mut again = || {
        Task::create(
            new(
                Registrar::DomainCreate,
                "alice",
                ResourceRef::new("domain", "example.fr"),
                at(70),
            )
            .unique_key("order:example.fr"),
            Actor::customer("alice"),
            at(70),
        )
    };
    let (second, created) = again()?;
    store.insert(second.clone(), created)?;
    let (third, created) = again()?;
    match store.insert(third, created) {
        Err(error @ StoreError::KeyTaken { .. }) => println!("  refused   a third order: {error}"),
        other => return Err(format!("a taken key was not refused: {other:?}").into()),
    }
    // The customer cancels the second: `update` loads, applies and saves.
    let alice = Scope::Owner(Owner::new("alice"));
    let cancelled = update(&store, &alice, second.id(), |task| {
        let event = task.apply(
            Command::Cancel { reason: None },
            Actor::customer("alice"),
            at(80),
        )?;
        Ok(event.into_iter().collect())
    })?;
    println!("  saved     {} (cancelled by alice)", line(&cancelled));

    println!("\n== 4. A worker step: sweeps, retries, a claim, the handler's answer\n");
    let worker = Worker::new("worker-3", Duration::minutes(5)).batch(4);
    let idle = worker.idle_for(&store, at(90), Duration::hours(1))?;
    println!(
        "  idle for  {}s at +90s (a retry is due later)",
        idle.num_seconds()
    );
    let when = stopped.next_retry_at().unwrap_or(at(90)).max(at(90));
    // At the retry's time: the failed publish goes back in the queue, and
    // the same step claims it and records the handler's answer.
    let report = work_once(&store, &worker, when, |task, _run| {
        println!("  handling  {}", line(&task));
        Handled::Complete(Outcome::new().message("published"))
    })?;
    println!(
        "  step      retried {}, claimed {}, recorded {}",
        report.retried, report.claimed, report.recorded
    );

    println!("\n== 5. Listings: filters and scopes, two tasks a page\n");
    let done = Filter::new().statuses(StatusSet::of(&[Status::Done]));
    for task in all(&store, &Scope::Staff, &done)? {
        println!("  done      {}", line(&task));
    }
    for task in all(&store, &alice, &Filter::new())? {
        println!("  alice's   {}", line(&task));
    }
    let seen_by_alice = all(&store, &alice, &Filter::new().resource(zone()))?;
    println!("  alice sees {} of bob's zone tasks", seen_by_alice.len());

    println!("\n== 6. A domain order and its task, in one transaction\n");
    store.with_transaction(|tx| {
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS orders (
                 id      TEXT PRIMARY KEY NOT NULL,
                 domain  TEXT NOT NULL,
                 task_id TEXT NOT NULL
             )",
        )?;
        Ok::<_, Box<dyn Error>>(())
    })?;
    let mut order = |n: &str, domain: &str, owner: &str, then: Result<(), &str>| {
        let new = NewTask::new(
            ids.next_id(at(100)),
            Registrar::DomainCreate,
            Owner::new(owner),
            ResourceRef::new("domain", domain),
        );
        let (task, created) = Task::create(new, Actor::customer(owner), at(100))?;
        let outcome = store.with_transaction(|tx| {
            tx.execute(
                "INSERT INTO orders (id, domain, task_id) VALUES (?1, ?2, ?3)",
                (n, domain, task.id().to_string()),
            )?;
            insert_in(tx, &task, &created)?;
            // The payment may be refused after both writes: the host
            // gives up, and neither is kept.
            then.map_err(Box::<dyn Error>::from)
        });
        let stored = store.get(&Scope::Staff, task.id())?.is_some();
        Ok::<_, Box<dyn Error>>((outcome, stored))
    };
    let (outcome, stored) = order("order-1", "carol.org", "carol", Ok(()))?;
    outcome?;
    println!(
        "  committed: {} order(s), task stored: {stored}",
        orders(&store)?
    );
    let (outcome, stored) = order("order-2", "dave.org", "dave", Err("payment refused"))?;
    let why = outcome
        .err()
        .map_or_else(String::new, |error| error.to_string());
    println!(
        "  rolled back ({why}): {} order(s), task stored: {stored}",
        orders(&store)?
    );

    println!("\n== 7. Purge what settled, reopen the file: nothing else was lost\n");
    let purged = store.purge(at(86_400), 100)?;
    println!("  purged    {purged} done or cancelled tasks, with their logs");
    let before = all(&store, &Scope::Staff, &Filter::new())?;
    drop(store);
    let store: Store = SqliteStore::open(&path)?;
    let after = all(&store, &Scope::Staff, &Filter::new())?;
    for task in &after {
        println!("  read      {}", line(task));
        // And every log still rebuilds its record.
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
