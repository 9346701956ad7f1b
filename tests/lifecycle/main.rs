//! The lifecycle: scenarios of every move, random command sequences against the table, the record and its log, and the regressions once found.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod log;
mod properties;
mod regressions;
mod scenarios;
