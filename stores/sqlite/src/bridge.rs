//! The store behind [`AsyncTaskStore`], each call on tokio's blocking
//! pool (feature `tokio`, on by default).

use std::collections::BTreeSet;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use taskstate::store::{
    AsyncTaskStore, ClaimRequest, Claims, Filter, Page, PageRequest, Scope, StoreError, Sweep,
    Swept, TaskStore,
};
use taskstate::{Event, Task, TaskId, TaskKind};

use crate::SqliteStore;

/// A [`SqliteStore`] for async hosts: every call runs on tokio's blocking
/// pool (`spawn_blocking`), so a query or a wait for SQLite's write lock
/// never holds up the runtime's workers. Cloning it shares the store.
///
/// The futures must be awaited inside a tokio runtime (any flavour);
/// outside one a call fails with a [`StoreError::Backend`] that says so.
///
/// A future dropped before it is ready does not stop its call: the call
/// runs to its end on the blocking pool (a save may still commit, a claim
/// still leases its tasks, which come back when their leases run out),
/// and the file stays consistent either way. Dropping the last handle
/// closes the connection and stops the store's checkpoint thread on the
/// thread that drops it, which waits for a checkpoint in progress.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::store::{AsyncTaskStore, Scope};
/// use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// use taskstate_sqlite::{AsyncSqliteStore, SqliteStore, remove_files, temp_path};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let path = temp_path("bridge-doc");
/// let store = AsyncSqliteStore::new(SqliteStore::<NamedKind>::open(&path)?);
/// let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
///     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
/// let (task, created) = Task::create(new, Actor::customer("alice"), now)?;
/// let id = task.id();
///
/// let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build()?;
/// runtime.block_on(async {
///     store.insert(task, created).await?;
///     let found = store.get(&Scope::Staff, id).await?;
///     assert_eq!(found.map(|task| task.id()), Some(id));
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// drop(store);
/// remove_files(&path)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AsyncSqliteStore<K> {
    store: Arc<SqliteStore<K>>,
}

impl<K> Clone for AsyncSqliteStore<K> {
    fn clone(&self) -> Self {
        AsyncSqliteStore {
            store: Arc::clone(&self.store),
        }
    }
}

impl<K> AsyncSqliteStore<K> {
    /// The async face of `store`.
    pub fn new(store: SqliteStore<K>) -> AsyncSqliteStore<K> {
        AsyncSqliteStore {
            store: Arc::new(store),
        }
    }

    /// The blocking store underneath, for what the trait does not cover
    /// ([`SqliteStore::with_transaction`], [`SqliteStore::reindex`]): call
    /// it from `spawn_blocking` too.
    pub fn blocking(&self) -> &Arc<SqliteStore<K>> {
        &self.store
    }
}

impl<K> AsyncSqliteStore<K>
where
    K: TaskKind + Serialize + DeserializeOwned,
{
    /// Opens (or creates) the database at `path`, as [`SqliteStore::open`]
    /// does, on the blocking pool.
    ///
    /// # Errors
    ///
    /// What [`SqliteStore::open`] fails with.
    pub async fn open(path: impl AsRef<Path>) -> Result<AsyncSqliteStore<K>, StoreError>
    where
        K: Send + Sync + 'static,
    {
        let path = path.as_ref().to_owned();
        blocking(move || SqliteStore::open(path))
            .await
            .map(AsyncSqliteStore::new)
    }

    /// Runs `call` on the store, on the blocking pool.
    fn run<T, F>(
        &self,
        call: F,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + use<K, T, F>
    where
        K: Send + Sync + 'static,
        T: Send + 'static,
        F: FnOnce(&SqliteStore<K>) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        blocking(move || call(&store))
    }
}

/// Runs `call` on tokio's blocking pool of the current runtime.
async fn blocking<T, F>(call: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    let runtime =
        tokio::runtime::Handle::try_current().map_err(|error| StoreError::backend(error, false))?;
    runtime
        .spawn_blocking(call)
        .await
        .map_err(|error| StoreError::backend(error, false))?
}

impl<K> AsyncTaskStore<K> for AsyncSqliteStore<K>
where
    K: TaskKind + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn insert(
        &self,
        task: Task<K>,
        created: Event<K>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.run(move |store| store.insert(task, created))
    }

    fn get(
        &self,
        scope: &Scope,
        id: TaskId,
    ) -> impl Future<Output = Result<Option<Task<K>>, StoreError>> + Send {
        let scope = scope.clone();
        self.run(move |store| store.get(&scope, id))
    }

    fn log(
        &self,
        scope: &Scope,
        id: TaskId,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Event<K>>, StoreError>> + Send {
        let scope = scope.clone();
        self.run(move |store| store.log(&scope, id, after, limit))
    }

    fn save(
        &self,
        task: &Task<K>,
        expected: u64,
        events: &[Event<K>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let (task, events) = (task.clone(), events.to_vec());
        self.run(move |store| store.save(&task, expected, &events))
    }

    fn list(
        &self,
        scope: &Scope,
        filter: &Filter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<K>, StoreError>> + Send {
        let (scope, filter) = (scope.clone(), filter.clone());
        self.run(move |store| store.list(&scope, &filter, page))
    }

    fn claim(
        &self,
        request: &ClaimRequest,
    ) -> impl Future<Output = Result<Claims<K>, StoreError>> + Send {
        let request = request.clone();
        self.run(move |store| store.claim(&request))
    }

    fn sweep(
        &self,
        sweep: Sweep,
        now: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Swept<K>, StoreError>> + Send {
        self.run(move |store| store.sweep(sweep, now, limit))
    }

    fn next_due(
        &self,
        kinds: Option<&BTreeSet<String>>,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send {
        let kinds = kinds.cloned();
        self.run(move |store| store.next_due(kinds.as_ref()))
    }

    fn purge(
        &self,
        settled_before: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        self.run(move |store| store.purge(settled_before, limit))
    }
}
