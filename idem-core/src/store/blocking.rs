//! Running a store's blocking operation (a transaction on a local file) without blocking an
//! async worker thread: what [`RedbStore`](super::RedbStore) and
//! [`SqliteStore`](super::SqliteStore) share.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use tokio::runtime::{Handle, RuntimeFlavor};

use super::StoreError;

/// A store's library panicked during an operation: the file is probably damaged.
#[derive(Debug, thiserror::Error)]
#[error("{store} panicked ({message}); the file may be damaged")]
pub(super) struct Panicked {
    store: &'static str,
    message: String,
}

/// The error of an operation of `store` that panicked.
pub(super) fn panicked(store: &'static str, panic: &(dyn Any + Send)) -> StoreError {
    StoreError::Unavailable {
        store,
        source: Box::new(Panicked {
            store,
            message: panic_message(panic).to_owned(),
        }),
    }
}

/// The message a panic carries, if it is a string.
pub(super) fn panic_message(panic: &(dyn Any + Send)) -> &str {
    crate::panic_message::panic_message(panic).unwrap_or("no message")
}

/// Runs `op` on `resource` off the async threads, for the store named `store`:
///
/// - on a multi-thread Tokio runtime, in place within [`tokio::task::block_in_place`]: the
///   worker hands its other tasks to a new thread, and this thread waits for the disk, with no
///   round trip to another thread before and after each transaction;
/// - on a current-thread runtime, or on a thread where Tokio refuses to block in place (a
///   multi-thread runtime's handle entered within a current-thread runtime: the refusal is a
///   panic, caught once per thread), on the blocking thread pool (`spawn_blocking`);
/// - outside a runtime, right here on the calling thread.
///
/// A panic inside `op` is [`StoreError::Unavailable`] (see [`panicked`]), never a panic of the
/// caller.
pub(super) async fn run<R, T, F>(
    store: &'static str,
    resource: &Arc<R>,
    op: F,
) -> Result<T, StoreError>
where
    R: Send + Sync + 'static,
    F: FnOnce(&R) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let Ok(handle) = Handle::try_current() else {
        return panic::catch_unwind(AssertUnwindSafe(|| op(resource)))
            .unwrap_or_else(|panic| Err(panicked(store, &*panic)));
    };
    let mut op = Some(op);
    if handle.runtime_flavor() == RuntimeFlavor::MultiThread && !IN_PLACE_REFUSED.get() {
        let in_place = panic::catch_unwind(AssertUnwindSafe(|| {
            tokio::task::block_in_place(|| op.take().map(|op| op(resource)))
        }));
        match in_place {
            Ok(Some(result)) => return result,
            // The operation itself panicked: a typed error, and the call does not go on.
            Err(panic) if op.is_none() => return Err(panicked(store, &*panic)),
            // `block_in_place` refused before running it (this thread may not block): run it
            // on the blocking pool instead, from now on on this thread.
            Ok(None) | Err(_) => IN_PLACE_REFUSED.set(true),
        }
    }
    let Some(op) = op else {
        return Err(StoreError::Unavailable {
            store,
            source: "the operation did not run".into(),
        });
    };
    let resource = Arc::clone(resource);
    match handle.spawn_blocking(move || op(&resource)).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => Err(panicked(store, &*err.into_panic())),
        Err(err) => Err(StoreError::Unavailable {
            store,
            source: Box::new(err),
        }),
    }
}

thread_local! {
    /// Set on a thread where `block_in_place` refused to run (it panics there): operations on
    /// this thread go to the blocking pool instead.
    static IN_PLACE_REFUSED: Cell<bool> = const { Cell::new(false) };
}
