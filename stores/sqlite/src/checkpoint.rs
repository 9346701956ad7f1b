//! Checkpoints: copying the WAL's pages back into the database file, on
//! a thread of the store's own or in the commit (see the crate docs'
//! Durability section and [`Checkpoints`]).

use std::ffi::c_int;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use taskstate::store::StoreError;

use crate::{Options, backend};

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
    /// WAL passes [`CHECKPOINT_BACKSTOP`].
    ///
    /// A checkpoint that overlaps writes copies what it can but leaves
    /// the WAL where it is: SQLite starts the WAL again from its
    /// beginning only at a write after a checkpoint that copied every
    /// page. So under a steady stream of writes the WAL grows to the
    /// backstop, where a commit's own checkpoint lets it start again;
    /// after a pause in the writes of a tenth of a second, the thread's
    /// next try copies the rest and the next write starts it again. The
    /// thread is asked at each [`CHECKPOINT_PAGES`] pages of growth
    /// rather than at every commit past them: asked at every commit, it
    /// ran checkpoints back to back, whose syncs slowed the commits' own.
    ///
    /// Each store handle has its thread, asleep unless asked; dropping
    /// the store stops it.
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
    /// Set by a commit at each [`CHECKPOINT_PAGES`] pages of the WAL's
    /// growth, cleared by the thread as it starts a checkpoint.
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

    /// Counts a checkpoint in `ran` (`background` or `inline`), or in
    /// `failed` if SQLite refused it.
    fn count(&self, ran: &AtomicU64, refused: bool) {
        let counter = if refused { &self.failed } else { ran };
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
    /// Installs the checkpoint rule of `options` on `conn` (which
    /// replaces SQLite's `wal_autocheckpoint`), and starts the thread, on
    /// a connection of its own to `conn`'s file with the same
    /// `synchronous` and busy timeout, under [`Checkpoints::Background`].
    /// A database that is not in WAL mode (an in-memory one) has no
    /// checkpoints: nothing is installed.
    pub(crate) fn start(
        conn: &mut Connection,
        options: &Options,
    ) -> Result<Checkpointer, StoreError> {
        let shared = Arc::new(Shared::default());
        let path = conn.path().filter(|path| !path.is_empty()).map(Path::new);
        let (Some(path), true) = (path, is_wal(conn)?) else {
            return Ok(Checkpointer {
                shared,
                thread: None,
            });
        };
        let thread = match options.checkpoints {
            Checkpoints::Inline => None,
            Checkpoints::Background => {
                let own = Connection::open(path).map_err(backend)?;
                own.busy_timeout(options.busy_timeout).map_err(backend)?;
                own.execute_batch(&format!(
                    "PRAGMA synchronous = {}",
                    options.synchronous.pragma()
                ))
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
        // Made before the hook: a hook that cannot be installed drops it,
        // which stops the thread.
        let checkpointer = Checkpointer { shared, thread };
        let pages_at = |pages: u32| c_int::try_from(pages).unwrap_or(c_int::MAX);
        let (every, inline_at) = (
            pages_at(CHECKPOINT_PAGES),
            pages_at(if background {
                CHECKPOINT_BACKSTOP
            } else {
                CHECKPOINT_PAGES
            }),
        );
        // The WAL's size at which the thread is asked next (see
        // `Checkpoints::Background` for why not at every commit).
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
                hook.count(&hook.inline, ran.is_err());
            } else if background && pages >= next_ask {
                next_ask = pages.saturating_add(every);
                hook.ask();
            }
            // The commit is made whatever the checkpoint did: an error
            // here would only make the committing statement report one.
            Ok(())
        }))
        .map_err(backend)?;
        Ok(checkpointer)
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

/// How long the thread waits, after a checkpoint that left pages in the
/// WAL, before it tries again unasked.
const AGAIN_AFTER: Duration = Duration::from_millis(100);

/// How many times the thread tries again unasked.
const AGAIN: usize = 3;

/// The thread: sleeps until asked or stopped, and runs a checkpoint at
/// each request. A checkpoint that overlapped writes leaves pages in the
/// WAL, which then cannot start again from its beginning: tried again
/// after [`AGAIN_AFTER`] (up to [`AGAIN`] times in a row), it copies the
/// rest once the writes pause, so that the next write starts the WAL
/// again rather than letting it grow to the backstop across bursts.
fn run(conn: &Connection, shared: &Shared) {
    let mut again = 0;
    loop {
        {
            let mut stop = shared.stop.lock().unwrap_or_else(PoisonError::into_inner);
            let asked = |stop: &bool| *stop || shared.asked.load(Ordering::Acquire);
            if again == 0 {
                while !asked(&stop) {
                    stop = shared
                        .wake
                        .wait(stop)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            } else {
                let deadline = Instant::now() + AGAIN_AFTER;
                while !asked(&stop) {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        break;
                    };
                    stop = shared
                        .wake
                        .wait_timeout(stop, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
            if *stop {
                return;
            }
        }
        // Cleared before the checkpoint: a commit past the threshold
        // meanwhile asks for the next one.
        let asked = shared.asked.swap(false, Ordering::AcqRel);
        again = if asked {
            AGAIN
        } else {
            again.saturating_sub(1)
        };
        // `PRAGMA wal_checkpoint` answers (busy, pages in the WAL, pages
        // copied); a refused checkpoint is a busy row, not an error.
        let ran = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((
                row.get::<_, c_int>(0)?,
                row.get::<_, c_int>(1)?,
                row.get::<_, c_int>(2)?,
            ))
        });
        let (refused, left) = match ran {
            Ok((busy, in_wal, copied)) => (busy != 0, busy != 0 || copied < in_wal),
            Err(_) => (true, true),
        };
        shared.count(&shared.background, refused);
        if !left {
            again = 0;
        }
    }
}
