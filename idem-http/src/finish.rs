//! [`FinishOnDrop`]: a covered request's future that, when its caller drops it mid-way (the
//! client went away), finishes on a task of its own instead of stopping.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Runs `future` in place (no task, no copy) while its caller polls it; if the caller drops it
/// before it is done, the rest of it is spawned on the current Tokio runtime.
///
/// A handler cut short would leave its key's outcome unknown, and no retry could run it: this
/// way it runs to the end and its response is recorded for the client's retry. A future that
/// panicked is not resumed: the panic goes on to the caller.
pub(crate) struct FinishOnDrop<T> {
    future: Option<BoxFuture<T>>,
    /// Set while the future is being polled: still set on drop, the poll panicked.
    polling: bool,
    /// Spawns the rest of the future.
    finish: fn(BoxFuture<T>),
}

impl<T: Send + 'static> FinishOnDrop<T> {
    pub(crate) fn new(future: BoxFuture<T>) -> Self {
        FinishOnDrop {
            future: Some(future),
            polling: false,
            finish: finish_in_background::<T>,
        }
    }
}

impl<T> Future for FinishOnDrop<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = &mut *self;
        let Some(future) = this.future.as_mut() else {
            panic!("idem-http: a response future was polled after it completed");
        };
        this.polling = true;
        let poll = future.as_mut().poll(cx);
        this.polling = false;
        if poll.is_ready() {
            this.future = None;
        }
        poll
    }
}

impl<T> Drop for FinishOnDrop<T> {
    fn drop(&mut self) {
        if self.polling {
            return;
        }
        if let Some(future) = self.future.take() {
            (self.finish)(future);
        }
    }
}

/// Spawns the rest of `future` on the current Tokio runtime.
fn finish_in_background<T: Send + 'static>(future: BoxFuture<T>) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                let _response = future.await;
            });
        }
        Err(_) => tracing::warn!(
            "idem-http: a request was dropped mid-way outside a Tokio runtime; it cannot \
             finish, and its key's outcome stays unknown"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn a_dropped_future_finishes_on_its_own() {
        let done = Arc::new(AtomicBool::new(false));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let flag = Arc::clone(&done);
        let future = FinishOnDrop::new(Box::pin(async move {
            let _ = rx.await;
            flag.store(true, Ordering::SeqCst);
        }));
        // Polled once (it waits on the channel), then dropped.
        let mut future = Box::pin(future);
        assert!(futures_poll_once(future.as_mut()).await.is_pending());
        drop(future);
        assert!(!done.load(Ordering::SeqCst));
        tx.send(()).unwrap();
        for _ in 0..100 {
            if done.load(Ordering::SeqCst) {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the dropped future did not finish");
    }

    #[tokio::test]
    async fn a_finished_future_is_not_spawned_again() {
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let future = FinishOnDrop::new(Box::pin(async move {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        future.await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    /// Polls `future` once.
    async fn futures_poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
        let mut future = Some(future);
        std::future::poll_fn(move |cx| {
            let poll = future.take().map(|f| f.poll(cx));
            Poll::Ready(poll.unwrap_or(Poll::Pending))
        })
        .await
    }
}
