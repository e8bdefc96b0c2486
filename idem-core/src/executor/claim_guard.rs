//! [`ClaimGuard`]: gives a claim back when a call ends without recording anything.

use std::sync::Arc;
use std::time::Duration;

use super::token::ClaimToken;
use crate::store::{RecordKey, Store};

/// Releases a claim when the call ends without recording anything (an error, a panic, a
/// cancelled future), so that a retry need not wait for the lease to run out.
pub(super) struct ClaimGuard<'a> {
    pub(super) store: &'a Arc<dyn Store>,
    pub(super) key: RecordKey<'a>,
    pub(super) token: Option<ClaimToken>,
}

impl ClaimGuard<'_> {
    pub(super) fn disarm(&mut self) {
        self.token = None;
    }

    pub(super) async fn release(&mut self) {
        if let Some(token) = self.token.take()
            && let Err(err) = self.store.release(self.key, token.as_str()).await
        {
            tracing::warn!(tool = self.key.tool, key = self.key.key, error = %err, "idem could not release a claim; it frees itself when its lease runs out");
        }
    }
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        // Dropped mid-call (cancelled or panicking): release in the background.
        spawn_release(Arc::clone(self.store), self.key, token.as_str(), 3);
    }
}

/// Releases claim `token` in the background, trying up to `attempts` times with a doubling pause
/// (from 250 ms) while the store fails. Without a Tokio runtime at hand nothing is done: the
/// lease frees the key when it runs out.
///
/// Used when a call ends without recording anything, and when a claim's answer was lost (the
/// store failed after the claim may have landed): releasing a token that never landed removes
/// nothing.
pub(super) fn spawn_release(store: Arc<dyn Store>, key: RecordKey<'_>, token: &str, attempts: u32) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let (tool, key, token) = (key.tool.to_owned(), key.key.to_owned(), token.to_owned());
    handle.spawn(async move {
        let record = RecordKey {
            tool: &tool,
            key: &key,
        };
        let mut pause = Duration::from_millis(250);
        for attempt in 1..=attempts {
            match store.release(record, &token).await {
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
