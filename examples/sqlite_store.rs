//! Tasks in one SQLite file with `taskstate-sqlite`: open the file,
//! enqueue a task in the host's own transaction, run a worker.
//!
//! Run: `cargo run --example sqlite_store`
//!
//! A registrar takes a domain order: the order row and its task commit
//! together, or neither does (a refused payment rolls both back). A
//! worker then claims the task, runs it and records the outcome; the log
//! the store kept rebuilds the record. The file is removed at the end.

use std::error::Error;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use taskstate::store::{HandlerReply, Scope, TaskStore, Worker, work_once};
use taskstate::{Actor, IdGenerator, NewTask, Outcome, Owner, ResourceRef, Rules, Task, TaskKind};
use taskstate_sqlite::{SqliteStore, insert_in, remove_files, temp_path};

/// The registrar's task kinds, stored by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Registrar {
    DomainCreate,
}

impl TaskKind for Registrar {
    fn name(&self) -> &str {
        "DomainCreate"
    }

    fn rules(&self) -> &Rules {
        &Rules::STANDARD
    }
}

/// The wall clock.
fn now() -> DateTime<Utc> {
    std::time::SystemTime::now().into()
}

fn main() -> Result<(), Box<dyn Error>> {
    let path = temp_path("example");
    let store = SqliteStore::<Registrar>::open(&path)?;
    store.with_transaction(|tx| {
        tx.execute_batch(
            "CREATE TABLE orders (id TEXT PRIMARY KEY, domain TEXT NOT NULL, task TEXT NOT NULL)",
        )?;
        Ok::<_, Box<dyn Error>>(())
    })?;

    // An order and its task, in one transaction.
    let mut ids = IdGenerator::seeded(1);
    let mut order =
        |number: &str, domain: &str, paid: bool| -> Result<Task<Registrar>, Box<dyn Error>> {
            let new = NewTask::new(
                ids.next_id(now()),
                Registrar::DomainCreate,
                Owner::new("alice"),
                ResourceRef::new("domain", domain),
            )
            // A second live order of the same domain is refused.
            .unique_key(format!("create:{domain}"));
            let (task, created) = Task::create(new, Actor::customer("alice"), now())?;
            store.with_transaction(|tx| -> Result<(), Box<dyn Error>> {
                tx.execute(
                    "INSERT INTO orders (id, domain, task) VALUES (?1, ?2, ?3)",
                    (number, domain, task.id().to_string()),
                )?;
                insert_in(tx, &task, &created)?;
                if paid {
                    Ok(())
                } else {
                    Err("payment refused".into())
                }
            })?;
            Ok(task)
        };
    let task = order("order-1", "example.fr", true)?;
    let refused = order("order-2", "example.org", false);
    println!(
        "order-1 committed with task {}; order-2: {}",
        task.id(),
        refused.err().map_or_else(String::new, |e| e.to_string())
    );

    // A worker: claim, run, record.
    let worker = Worker::new("registry-1", Duration::minutes(5)).kinds(["DomainCreate"]);
    let report = work_once(&store, &worker, now(), |task, _run| {
        println!("creating {} at the registry", task.resource());
        HandlerReply::Complete(Outcome::new().message("domain created"))
    })?;
    println!("claimed {}, recorded {}", report.claimed, report.recorded);

    let done = store
        .get(&Scope::Staff, task.id())?
        .ok_or("the task is gone")?;
    let log = store.log(&Scope::Staff, task.id(), 0, 100)?;
    done.check_log(&log)?;
    println!(
        "{} is {}; its log of {} events rebuilds it",
        done.id(),
        done.status(),
        log.len()
    );

    drop(store);
    remove_files(&path)?;
    Ok(())
}
