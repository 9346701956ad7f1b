//! Checkpoints: copying the WAL's pages back into the database file.
//!
//! SQLite's own rule (`wal_autocheckpoint`) runs a checkpoint inside the
//! commit that takes the WAL past 1 000 pages: that call writes the pages
//! into the database file and waits for two syncs of the disk before it
//! returns. Under [`Synchronous::Normal`](crate::Synchronous::Normal),
//! where a commit itself never waits for the disk, those checkpoints were
//! about 40 % of a claim-and-complete cycle's time.
//!
//! [`Checkpoints::Background`] (the default) moves them off the writes:
//! the store's connection tells a thread of the store's own, with a
//! connection of its own to the same file, at every [`CHECKPOINT_PAGES`]
//! pages the WAL grows, and that thread runs the checkpoint while the
//! writes go on. A commit runs one itself only past
//! [`CHECKPOINT_BACKSTOP`] pages, should the thread fall behind.
//! [`Checkpoints::Inline`] keeps SQLite's rule.
//!
//! The thread is asked at every [`CHECKPOINT_PAGES`] pages of growth,
//! not at every commit past the threshold: a checkpoint that overlaps
//! writes copies what it can but leaves the WAL where it is (SQLite
//! starts it again from its beginning only at a write after a
//! checkpoint that copied every page), so under a steady stream of
//! writes the WAL grows until a commit's own checkpoint at the backstop
//! lets it start again. Asked at every commit, the thread ran
//! checkpoints back to back, whose syncs slowed every commit's own.
//!
//! Either way a checkpoint is `PASSIVE`: it copies what no reader still
//! needs and never waits for a lock, so neither loses or delays a write,
//! and what a commit made durable stays so (the WAL is the record until
//! its pages are in the database file).

use std::ffi::c_int;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use taskstate::store::StoreError;

use crate::{Synchronous, backend};

/// The WAL's size, in pages, at which a checkpoint is asked for:
/// SQLite's default `wal_autocheckpoint`.
pub const CHECKPOINT_PAGES: u32 = 1_000;

/// The WAL's size, in pages, past which a commit runs a checkpoint itself
/// under [`Checkpoints::Background`] (the thread is behind).
pub const CHECKPOINT_BACKSTOP: u32 = 10 * CHECKPOINT_PAGES;

/// Who copies the WAL back into the database file
/// ([`Options::checkpoints`](crate::Options::checkpoints)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Checkpoints {
    /// A thread of the store's own, at every [`CHECKPOINT_PAGES`] pages
    /// the WAL grows: no claim or save waits for a checkpoint unless the
    /// WAL passes [`CHECKPOINT_BACKSTOP`]. Under a steady stream of
    /// writes the WAL grows to the backstop (a checkpoint overlapping
    /// writes cannot let it start again from its beginning). Each store
    /// handle has its thread, asleep but when asked; dropping the store
    /// stops it.
    #[default]
    Background,
    /// The commit that takes the WAL past [`CHECKPOINT_PAGES`], as
    /// SQLite's `wal_autocheckpoint` does: no thread, and that commit
    /// waits for the copy and its syncs.
    Inline,
}

/// How many checkpoints a store ran ([`SqliteStore::checkpoints`](crate::SqliteStore::checkpoints)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointCounts {
    /// Run by the store's thread ([`Checkpoints::Background`]).
    pub background: u64,
    /// Run by a commit: every one under [`Checkpoints::Inline`], the
    /// backstop's under [`Checkpoints::Background`].
    pub inline: u64,
    /// That SQLite refused (a checkpoint is only asked again; nothing is
    /// lost: the pages stay in the WAL).
    pub failed: u64,
}

/// What the store's connection and its checkpoint thread share.
#[derive(Debug, Default)]
struct Shared {
    /// Set by a commit past [`CHECKPOINT_PAGES`], cleared by the thread
    /// as it starts a checkpoint.
    asked: AtomicBool,
    /// Guards the thread's sleep (`true`: stop), with `wake`.
    stop: Mutex<bool>,
    wake: Condvar,
    background: AtomicU64,
    inline: AtomicU64,
    failed: AtomicU64,
}

impl Shared {
    /// Asks the thread for a checkpoint, waking it if it is not asked
    /// already (a commit pays one atomic swap while a request stands).
    fn ask(&self) {
        if !self.asked.swap(true, Ordering::AcqRel) {
            let _stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
            self.wake.notify_one();
        }
    }

    fn count(&self, ran: &rusqlite::Result<(c_int, c_int)>, by_thread: bool) {
        let counter = match (ran, by_thread) {
            (Err(_), _) => &self.failed,
            (Ok(_), true) => &self.background,
            (Ok(_), false) => &self.inline,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A store's checkpoints: the hook on its connection, and the thread
/// under [`Checkpoints::Background`]. Dropping it stops the thread and
/// waits for it (for a checkpoint in progress to end).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Installs the checkpoint rule of `mode` on `conn` (which replaces
    /// SQLite's `wal_autocheckpoint`), and starts the thread, on a
    /// connection of its own to `conn`'s file, under
    /// [`Checkpoints::Background`]. A database that is not in WAL mode
    /// (an in-memory one) has no checkpoints: nothing is installed.
    pub(crate) fn start(
        conn: &mut Connection,
        mode: Checkpoints,
        synchronous: Synchronous,
    ) -> Result<Checkpointer, StoreError> {
        let shared = Arc::new(Shared::default());
        let path = conn.path().filter(|path| !path.is_empty()).map(Path::new);
        let (Some(path), true) = (path, is_wal(conn)?) else {
            return Ok(Checkpointer {
                shared,
                thread: None,
            });
        };
        let thread = match mode {
            Checkpoints::Inline => None,
            Checkpoints::Background => {
                let own = Connection::open(path).map_err(backend)?;
                own.execute_batch(&format!("PRAGMA synchronous = {}", synchronous.pragma()))
                    .map_err(backend)?;
                let shared = Arc::clone(&shared);
                let thread = std::thread::Builder::new()
                    .name("taskstate-sqlite-checkpoints".to_owned())
                    .spawn(move || run(&own, &shared))
                    .map_err(|error| StoreError::backend(error, false))?;
                Some(thread)
            }
        };
        let background = thread.is_some();
        let hook = Arc::clone(&shared);
        let pages_at = |pages: u32| c_int::try_from(pages).unwrap_or(c_int::MAX);
        let (every, inline_at) = (
            pages_at(CHECKPOINT_PAGES),
            pages_at(if background {
                CHECKPOINT_BACKSTOP
            } else {
                CHECKPOINT_PAGES
            }),
        );
        // The WAL's size at which the thread is asked next: every
        // `CHECKPOINT_PAGES` pages of growth. A checkpoint that overlaps
        // writes leaves the WAL where it is (it starts again from its
        // beginning only at a write after a checkpoint that copied every
        // page), so asking at every commit past the threshold would run
        // checkpoints back to back.
        let mut next_ask = every;
        let mut last = 0;
        conn.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            if pages < last {
                // The WAL started again from its beginning.
                next_ask = every;
            }
            last = pages;
            if pages >= inline_at {
                let ran = wal.checkpoint_v2(CheckpointMode::PASSIVE);
                hook.count(&ran, false);
            } else if background && pages >= next_ask {
                next_ask = pages.saturating_add(every);
                hook.ask();
            }
            // The commit is made whatever the checkpoint did: an error
            // here would only make the committing statement report one.
            Ok(())
        }))
        .map_err(backend)?;
        Ok(Checkpointer { shared, thread })
    }

    /// How many checkpoints ran so far.
    pub(crate) fn counts(&self) -> CheckpointCounts {
        CheckpointCounts {
            background: self.shared.background.load(Ordering::Relaxed),
            inline: self.shared.inline.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            {
                let mut stop = self
                    .shared
                    .stop
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                *stop = true;
                self.shared.wake.notify_one();
            }
            // A thread that panicked has nothing left to stop.
            let _ended = thread.join();
        }
    }
}

/// Whether `conn`'s main database is in WAL mode.
fn is_wal(conn: &Connection) -> Result<bool, StoreError> {
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .map_err(backend)?;
    Ok(mode.eq_ignore_ascii_case("wal"))
}

/// The thread: sleeps until asked or stopped, and runs a checkpoint at
/// each request.
fn run(conn: &Connection, shared: &Shared) {
    loop {
        {
            let mut stop = shared.stop.lock().unwrap_or_else(PoisonError::into_inner);
            while !*stop && !shared.asked.load(Ordering::Acquire) {
                stop = shared
                    .wake
                    .wait(stop)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if *stop {
                return;
            }
        }
        // Cleared before the checkpoint: a commit past the threshold
        // meanwhile asks for the next one.
        shared.asked.store(false, Ordering::Release);
        let ran = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, c_int>(1)?, row.get::<_, c_int>(2)?))
        });
        shared.count(&ran, true);
    }
}
