//! [`ClaimGuard`]: gives a claim back when a call ends without recording anything.

use std::sync::Arc;

use crate::store::{RecordKey, Store};

/// Releases a claim when the call ends without recording anything (an error, a panic, a
/// cancelled future), so that a retry need not wait for the lease to run out.
pub(super) struct ClaimGuard {
    pub(super) store: Arc<dyn Store>,
    pub(super) tool: String,
    pub(super) key: String,
    pub(super) token: Option<String>,
}

impl ClaimGuard {
    pub(super) fn disarm(&mut self) {
        self.token = None;
    }

    pub(super) async fn release(&mut self) {
        if let Some(token) = self.token.take() {
            let key = RecordKey {
                tool: &self.tool,
                key: &self.key,
            };
            if let Err(err) = self.store.release(key, &token).await {
                tracing::warn!(tool = %self.tool, key = %self.key, error = %err, "idem could not release a claim; it frees itself when its lease runs out");
            }
        }
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        // Dropped mid-call (cancelled or panicking): release in the background when a runtime
        // is at hand; otherwise the lease frees the key.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let store = Arc::clone(&self.store);
            let tool = std::mem::take(&mut self.tool);
            let key = std::mem::take(&mut self.key);
            handle.spawn(async move {
                let record = RecordKey {
                    tool: &tool,
                    key: &key,
                };
                let _ = store.release(record, &token).await;
            });
        }
    }
}
