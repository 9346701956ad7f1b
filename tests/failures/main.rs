//! Failures and their corrections: classification, retries and escalation, corrections of flagged arguments and relaunches.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod corrections;
mod failures;
