//! What a host's tests use (feature `testkit`, which adds `proptest`):
//!
//! - [`store`]: the conformance suites for a host's own store,
//!   [`check_store`](store::check_store) for a
//!   [`TaskStore`](crate::store::TaskStore) and
//!   [`check_async_store`](store::check_async_store) for an
//!   [`AsyncTaskStore`](crate::store::AsyncTaskStore);
//! - [`strategies`]: proptest generators for the crate's types (random
//!   rules, actors, argument values, failures, valid tasks of a host's
//!   kinds, command sequences).
//!
//! ```
//! use taskstate::store::MemoryStore;
//! use taskstate::testkit;
//!
//! // The host's own store goes where the `MemoryStore` is.
//! testkit::store::check_store(testkit::store::shared(MemoryStore::new))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod store;
pub mod strategies;
