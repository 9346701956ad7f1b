//! Blocking calls over the async code: a sync store seen as an async one,
//! and the smallest executor that drives a future on the calling thread.
//!
//! The worker loop and the conformance suite are written once, against
//! [`AsyncTaskStore`]; their blocking forms run that code over
//! [`Blocking`], whose futures are ready when made (the blocking call has
//! run by then), so [`block_on`] never waits on them.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::TaskStore;

/// Wakes the thread that waits in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` to its end on this thread, parking between polls.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        thread::park();
    }
}

/// Implements [`AsyncTaskStore`] for a type whose blocking store is
/// `$store` (an expression of `$this`, the receiver): every future is
/// ready, the blocking call made when the method is called.
macro_rules! ready_async_store {
    (impl<$($param:ident),*> for $ty:ty where [$($bounds:tt)*], |$this:ident| $store:expr) => {
        impl<$($param),*> $crate::store::AsyncTaskStore<K> for $ty where $($bounds)* {
            fn insert(&self, task: $crate::task::Task<K>, created: $crate::command::Event<K>)
                -> impl ::std::future::Future<Output = Result<(), $crate::store::StoreError>> + Send {
                let $this = self;
                ::std::future::ready($crate::store::TaskStore::insert($store, task, created))
            }
            fn get(&self, scope: &$crate::store::Scope, id: $crate::id::TaskId)
                -> impl ::std::future::Future<Output = Result<Option<$crate::task::Task<K>>, $crate::store::StoreError>> + Send {
                let $this = self;
                ::std::future::ready($crate::store::TaskStore::get($store, scope, id))
            }
            fn log(&self, scope: &$crate::store::Scope, id: $crate::id::TaskId, after: u64, limit: usize)
                -> impl ::std::future::Future<Output = Result<Vec<$crate::command::Event<K>>, $crate::store::StoreError>> + Send {
                let $this = self;
                ::std::future::ready($crate::store::TaskStore::log($store, scope, id, after, limit))
            }
            fn save(&self, task: &$crate::task::Task<K>, expected: u64, events: &[$crate::command::Event<K>])
                -> impl ::std::future::Future<Output = Result<(), $crate::store::StoreError>> + Send {
                let $this = self;
                ::std::future::ready($crate::store::TaskStore::save($store, task, expected, events))
            }
            fn list(&self, scope: &$crate::store::Scope, filter: &$crate::store::Filter, page: $crate::store::PageRequest)
                -> impl ::std::future::Future<Output = Result<$crate::store::Page<K>, $crate::store::StoreError>> + Send {
                let $this = self;
                ::std::future::ready($crate::store::TaskStore::list($store, scope, filter, page))
            }
            fn claim(&self, request: &$crate::store::ClaimRequest)
                -> impl ::std::future::Future<Output = Result<$crate::store::Claims<K>, $crate::store::StoreError>> + Send {
                let $this = self;
                ::std::future::ready($crate::store::TaskStore::claim($store, request))
            }
            fn sweep(&self, sweep: $crate::store::Sweep, now: ::chrono::DateTime<::chrono::Utc>, limit: usize)
                -> impl ::std::future::Future<Output = Result<$crate::store::Swept<K>, $crate::store::StoreError>> + Send {
                let $this = self;
                ::std::future::ready($crate::store::TaskStore::sweep($store, sweep, now, limit))
            }
            fn next_due(&self, kinds: Option<&::std::collections::BTreeSet<String>>)
                -> impl ::std::future::Future<Output = Result<Option<::chrono::DateTime<::chrono::Utc>>, $crate::store::StoreError>> + Send {
                let $this = self;
                ::std::future::ready($crate::store::TaskStore::next_due($store, kinds))
            }
            fn purge(&self, settled_before: ::chrono::DateTime<::chrono::Utc>, limit: usize)
                -> impl ::std::future::Future<Output = Result<usize, $crate::store::StoreError>> + Send {
                let $this = self;
                ::std::future::ready($crate::store::TaskStore::purge($store, settled_before, limit))
            }
        }
    };
}
pub(crate) use ready_async_store;

/// A blocking store seen through the async trait: each call runs when it
/// is made, and its future is ready.
pub(crate) struct Blocking<S>(pub(crate) S);

ready_async_store!(impl<K, S> for Blocking<S> where [K: Send + Sync, S: TaskStore<K>], |this| &this.0);
