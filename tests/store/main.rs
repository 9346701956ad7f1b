//! The store contract: the conformance suites on the MemoryStore with the broken stores that prove each check fires, the MemoryStore's indexes against a scan and its locks under racing threads, and the worker's step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod conformance;
mod indexes;
mod shards;
mod worker;
