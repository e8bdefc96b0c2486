//! [`supervise`]: runs a tool under a won claim, renewing the claim's lease while the tool runs
//! and catching a panic, so that the call can record what it knows.

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::store::{Claim, RecordKey, Store, StoreError};

/// How a supervised tool ended.
pub(super) enum Ran<T> {
    /// It returned this.
    Returned(T),
    /// It panicked with this payload (to be resumed once the outcome is recorded).
    Panicked(Box<dyn Any + Send>),
}

/// The pause between two renewals of a lease: a third of it, so that two renewals in a row may
/// fail (a store blip) before the lease runs out.
pub(super) fn renewal_interval(lease: Duration) -> Duration {
    (lease / 3).max(Duration::from_millis(1))
}

/// Runs `tool` to its end, renewing `claim` on `key` every [`renewal_interval`] while it runs.
///
/// The renewal starts only once the tool has had to wait (a tool that is done at its first poll
/// costs nothing more), and shares the tool's task: when the caller drops the call, renewal
/// stops with it, and the lease then frees the key for a takeover after a crash. A renewal that
/// finds the claim lost stops renewing (the call's completion will be refused); one that fails
/// otherwise tries again at the next tick. A panic of the tool, in the call that makes its
/// future or in a poll, is caught and returned.
pub(super) async fn supervise<T, F, Fut>(
    store: &Arc<dyn Store>,
    key: RecordKey<'_>,
    claim: &Claim<'_>,
    tool: F,
) -> Ran<T>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    let tool = match catch_unwind(AssertUnwindSafe(tool)) {
        Ok(future) => future,
        Err(panic) => return Ran::Panicked(panic),
    };
    let mut tool = pin!(tool);
    // Made here, but first polled (and its timer armed) only once the tool has had to wait.
    let mut renewal = pin!(keep_claim(store, key, claim));
    let mut renewing = true;
    poll_fn(|cx| {
        match catch_unwind(AssertUnwindSafe(|| tool.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => return Poll::Ready(Ran::Returned(output)),
            Ok(Poll::Pending) => {}
            Err(panic) => return Poll::Ready(Ran::Panicked(panic)),
        }
        if renewing && renewal.as_mut().poll(cx).is_ready() {
            renewing = false;
        }
        Poll::Pending
    })
    .await
}

/// Renews `claim` every [`renewal_interval`] until the claim is lost.
async fn keep_claim(store: &Arc<dyn Store>, key: RecordKey<'_>, claim: &Claim<'_>) {
    let every = renewal_interval(claim.lease);
    loop {
        tokio::time::sleep(every).await;
        match store.renew(key, claim).await {
            Ok(()) => {}
            Err(err @ StoreError::ClaimLost { .. }) => {
                tracing::error!(tool = key.tool, key = key.key, error = %err, "idem lost a running call's claim: another caller may run the tool; this run's result will not be recorded");
                return;
            }
            Err(err) => {
                tracing::warn!(tool = key.tool, key = key.key, error = %err, "idem could not renew a running call's claim; trying again");
            }
        }
    }
}

/// The message of a panic payload, when it has one.
pub(super) fn panic_message(panic: &(dyn Any + Send)) -> &str {
    crate::panic_message::panic_message(panic).unwrap_or("a panic without a message")
}
