//! Provider views: every status word of every seed system both ways, each system's JSON read and written back as printed, the views of random tasks, and the OVHcloud and VMware scenarios.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod ovhcloud;
mod properties;
mod vmware;
mod words;
