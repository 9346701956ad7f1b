//! A real database under the lifecycle: the `TaskStore` contract over
//! SQLite (rusqlite with its bundled SQLite, nothing to install).
//!
//! Run: `cargo run --example sqlite_store`
//!
//! The store is in `store.rs`: one `tasks` table with the whole task as
//! JSON beside the columns it is queried by, a version column that drives
//! compare-and-swap, partial indexes for claims, expiries and retries, and
//! claims in one `IMMEDIATE` transaction. This example opens a database in
//! a temporary file, claims and completes tasks (a blocking zone publish
//! holds back a record update on its zone), lists with filters and
//! scopes, creates a domain order and its DomainCreate task in one
//! transaction (committed, then rolled back), reopens the file to show
//! nothing was lost, and removes the file.

mod store;

use std::error::Error;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use taskstate::store::{Filter, PageRequest, Scope, TaskStore};
use taskstate::{
    Actor, IdGenerator, NewTask, Outcome, Owner, ResourceRef, Rules, Status, StatusSet, Task,
    TaskKind,
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
    for task in [&create, &renew, &publish, &record] {
        println!("  inserted  {}", line(task));
        store.insert(task.clone())?;
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

    println!("\n== 2. The executor completes its runs; each save compares and swaps\n");
    let done_at = at(60);
    for claim in claimed {
        let mut task = claim.task;
        let read = task.version();
        claim
            .run
            .complete(&mut task, Outcome::new().message("done"), done_at)?;
        store.save(&task, read)?;
        println!("  saved     {} (over v{read})", line(&task));
        // A second save from the same stale read is refused.
        if let Err(conflict) = store.save(&task, read) {
            println!("  refused   {conflict}");
        }
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

    println!("\n== 3. Listings: filters and scopes, two tasks a page\n");
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

    println!("\n== 4. A domain order and its task, in one transaction\n");
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
    let order_task = Task::create(
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
        insert_in(tx, &order_task)?;
        Ok::<_, Box<dyn Error>>(())
    })?;
    let stored = store.get(&Scope::Staff, order_task.id())?;
    println!(
        "  committed: {} order(s), task stored: {}",
        orders(&store)?,
        stored.is_some()
    );

    let refused_task = Task::create(
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
        insert_in(tx, &refused_task)?;
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

    println!("\n== 5. Reopen the file: nothing was lost\n");
    let before = all(&store, &Scope::Staff, &Filter::new())?;
    drop(store);
    let store = SqliteStore::open(&path)?;
    let after = all(&store, &Scope::Staff, &Filter::new())?;
    for task in &after {
        println!("  read      {}", line(task));
    }
    println!(
        "  {} tasks and {} order(s) after reopening; equal to before: {}",
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
