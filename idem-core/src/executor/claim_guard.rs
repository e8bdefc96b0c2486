//! [`ClaimGuard`]: gives a claim back when a call ends without recording anything.

use std::sync::Arc;
use std::time::Duration;

use crate::store::{Claim, RecordKey, Store};

/// Releases a claim when the call ends without recording anything (an error, a panic, a
/// cancelled future), so that a retry need not wait for the lease to run out.
pub(super) struct ClaimGuard<'a> {
    pub(super) store: &'a Arc<dyn Store>,
    pub(super) key: RecordKey<'a>,
    pub(super) claim: Option<Claim<'a>>,
}

impl ClaimGuard<'_> {
    pub(super) fn disarm(&mut self) {
        self.claim = None;
    }

    pub(super) async fn release(&mut self) {
        if let Some(claim) = self.claim.take()
            && let Err(err) = self.store.release(self.key, &claim).await
        {
            tracing::warn!(tool = self.key.tool, key = self.key.key, error = %err, "idem could not release a claim; it frees itself when its lease runs out");
        }
    }
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        let Some(claim) = self.claim.take() else {
            return;
        };
        // Dropped mid-call (cancelled or panicking): release in the background.
        spawn_release(Arc::clone(self.store), self.key, &claim, 3);
    }
}

/// Releases `claim` in the background, trying up to `attempts` times with a doubling pause
/// (from 250 ms) while the store fails. Without a Tokio runtime at hand nothing is done: the
/// lease frees the key when it runs out.
///
/// Used when a call ends without recording anything, and when a claim's answer was lost (the
/// store failed after the claim may have landed): releasing a claim that never landed removes
/// nothing.
pub(super) fn spawn_release(
    store: Arc<dyn Store>,
    key: RecordKey<'_>,
    claim: &Claim<'_>,
    attempts: u32,
) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let (tool, key) = (key.tool.to_owned(), key.key.to_owned());
    let (token, fingerprint) = (claim.token.to_owned(), claim.fingerprint.to_owned());
    let (now, lease) = (claim.now, claim.lease);
    handle.spawn(async move {
        let record = RecordKey {
            tool: &tool,
            key: &key,
        };
        let claim = Claim {
            token: &token,
            fingerprint: &fingerprint,
            now,
            lease,
        };
        let mut pause = Duration::from_millis(250);
        for attempt in 1..=attempts {
            match store.release(record, &claim).await {
                Ok(_) => return,
                Err(err) if attempt == attempts => {
                    tracing::warn!(tool = %tool, key = %key, error = %err, "idem could not release a claim; it frees itself when its lease runs out");
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    });
}
