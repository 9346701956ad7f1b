//! The MemoryStore passes the conformance suite; its worker step runs
//! tasks to the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use taskstate::store::{Handled, MemoryStore, Scope, TaskStore, testkit, work_once};
use taskstate::{NamedKind, Outcome, Status};

use common::{logged_of, pending, t};

#[test]
fn the_memory_store_passes_the_conformance_suite() {
    testkit::check_store(MemoryStore::<NamedKind>::new).unwrap();
}

#[test]
fn the_memory_store_is_send_and_sync() {
    fn assert_send_sync<X: Send + Sync>() {}
    assert_send_sync::<MemoryStore<NamedKind>>();
    let store: &dyn TaskStore<NamedKind> = &MemoryStore::new();
    assert!(store.get(&Scope::Staff, pending().id()).unwrap().is_none());
}

#[test]
fn a_worker_step_claims_handles_and_records() {
    let store = MemoryStore::new();
    let created = logged_of(NamedKind::new("DomainCreate"));
    let id = created.task.id();
    store
        .insert(created.task, created.log.into_iter().next().unwrap())
        .unwrap();
    let report = work_once(&store, t(10), 10, t(310), Some("w1"), |_task| {
        Handled::Complete(Outcome::new().message("done"))
    })
    .unwrap();
    assert_eq!((report.claimed, report.recorded, report.refused), (1, 1, 0));
    let task = store.get(&Scope::Staff, id).unwrap().unwrap();
    assert_eq!(task.status(), Status::Done);
    assert_eq!(task.comment(), Some("done"));
    // The log holds the creation, the claim's start and the completion,
    // and the record is what it rebuilds.
    let log = store.log(&Scope::Staff, id, 0, 100).unwrap();
    assert_eq!(log.len(), 3);
    task.check_log(&log).unwrap();
}
