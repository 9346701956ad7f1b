//! What a store refuses or fails at.

use thiserror::Error;

use crate::id::TaskId;

/// The error type a store keeps as the cause of a failure: any error of
/// its driver, file system or decoder.
///
/// The cause keeps its type: a host downcasts it to its driver's error.
///
/// ```
/// use std::io;
///
/// use taskstate::store::{BoxError, StoreError};
///
/// let cause: BoxError = Box::new(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
/// let error = StoreError::Backend { source: cause, retryable: false };
/// let StoreError::Backend { source, .. } = &error else { return Err("a backend failure".into()) };
/// let io = source.downcast_ref::<io::Error>().ok_or("an I/O error")?;
/// assert_eq!(io.kind(), io::ErrorKind::StorageFull);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a store refused or failed at.
///
/// Refusals of the contract are their own variants, so a caller can act
/// on each; a failure of the storage itself is [`StoreError::Backend`],
/// which keeps its cause and says whether trying again can help.
///
/// ```
/// use taskstate::store::StoreError;
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
/// let error = StoreError::backend(io, true);
/// assert!(error.is_retryable());
/// assert_eq!(error.to_string(), "storage failed: reset by peer");
/// assert!(std::error::Error::source(&error).is_some());
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `save` found another version than the caller read: reload, re-apply
    /// and save again ([`update`](super::update) does it).
    #[error("task {id} is at version {found}, not {expected}")]
    Conflict {
        /// The task.
        id: TaskId,
        /// The version the caller read.
        expected: u64,
        /// The version stored now.
        found: u64,
    },
    /// `insert` of an id already stored.
    #[error("task {id} already exists")]
    Duplicate {
        /// The task.
        id: TaskId,
    },
    /// `insert` of a task whose [unique key](crate::Task::unique_key) a
    /// live task (neither done nor cancelled) holds.
    #[error("task {holder} holds the key {key:?}")]
    KeyTaken {
        /// The key.
        key: String,
        /// The live task that holds it.
        holder: TaskId,
    },
    /// No such task (in the caller's scope).
    #[error("no task {id}")]
    NotFound {
        /// The task.
        id: TaskId,
    },
    /// A save or insert that no sequence of commands produces from the
    /// stored record: a version that does not grow, events that do not
    /// follow the log, or a change to what never changes.
    #[error("task {id}: {reason}")]
    Refused {
        /// The task.
        id: TaskId,
        /// What is wrong with the save.
        reason: &'static str,
    },
    /// A request that could do nothing, refused before the store is
    /// touched: a claim of no task, or under a lease that has ended; or
    /// one holding a value the store cannot keep (a time outside the
    /// years a store's time columns cover, as taskstate-sqlite's 0 to
    /// 9999), refused with nothing written.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The stored record of `id` cannot be read back (edited by hand,
    /// written by a kind that has since lost a variant). Claims, sweeps and
    /// listings skip such a record and report it
    /// ([`Unreadable`](super::Unreadable)) rather than fail.
    #[error("task {id} cannot be read: {source}")]
    Unreadable {
        /// The task.
        id: TaskId,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The storage itself failed (I/O, a driver, a poisoned lock).
    #[error("storage failed: {source}")]
    Backend {
        /// The cause.
        #[source]
        source: BoxError,
        /// Whether the same call may succeed if made again (a dropped
        /// connection, a busy database), rather than fail the same way (a
        /// full disk, a missing table).
        retryable: bool,
    },
}

impl StoreError {
    /// A failure of the storage, with its cause (anything that converts
    /// into a [`BoxError`]: a driver's error, a message), and whether the
    /// same call may succeed if made again.
    ///
    /// ```
    /// use taskstate::store::StoreError;
    ///
    /// let error = StoreError::backend("no such table: tasks", false);
    /// assert!(matches!(error, StoreError::Backend { retryable: false, .. }));
    /// assert_eq!(error.to_string(), "storage failed: no such table: tasks");
    /// ```
    pub fn backend(source: impl Into<BoxError>, retryable: bool) -> StoreError {
        StoreError::Backend {
            source: source.into(),
            retryable,
        }
    }

    /// Whether making the same call again may succeed: a
    /// [`Backend`](StoreError::Backend) failure its store marked
    /// retryable. A [`Conflict`](StoreError::Conflict) is not: the same
    /// save conflicts again, the caller reloads first.
    ///
    /// ```
    /// use taskstate::TaskId;
    /// use taskstate::store::StoreError;
    ///
    /// assert!(StoreError::backend("database is locked", true).is_retryable());
    /// assert!(!StoreError::backend("disk full", false).is_retryable());
    /// let id = TaskId::from(uuid::Uuid::nil());
    /// assert!(!StoreError::Conflict { id, expected: 3, found: 4 }.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Backend {
                retryable: true,
                ..
            }
        )
    }
}
