//! [`ClaimGuard`]: settles a won claim however the call ends, a dropped future included.

use std::sync::Arc;
use std::time::Duration;

use crate::store::{Claim, Completion, RecordKey, Store, StoreError, UnixMillis};

/// Why an outcome is unknown when the caller's future is dropped while its tool runs.
pub(super) const CANCELLED: &str =
    "its caller stopped waiting (the call's future was dropped) while the tool ran";

/// What a won claim still owes the store, besides a completion being recorded.
enum Owed {
    /// The tool is running: if the call is dropped now, nobody knows whether it took effect.
    Running,
    /// The claim is being given back (the tool failed before taking effect).
    Releasing,
    /// Nothing: recorded, released, or handed to a background task.
    Nothing,
}

/// Holds a won claim until the call's end is in the store.
///
/// Dropped before that (the caller's future dropped, or a panic), it finishes the job in the
/// background: a tool that was running becomes an unknown outcome (never a released claim: the
/// tool may have taken effect, and a retry must not run it again), a completion being recorded
/// is recorded, a release is released.
pub(super) struct ClaimGuard<'a> {
    store: &'a Arc<dyn Store>,
    key: RecordKey<'a>,
    claim: Claim<'a>,
    ttl: Duration,
    owed: Owed,
    /// How the call ended, while it is being recorded.
    finishing: Option<Completion>,
}

impl<'a> ClaimGuard<'a> {
    /// A guard over `claim`, won for a tool that is about to run; completions expire after
    /// `ttl`.
    pub(super) fn new(
        store: &'a Arc<dyn Store>,
        key: RecordKey<'a>,
        claim: Claim<'a>,
        ttl: Duration,
    ) -> Self {
        ClaimGuard {
            store,
            key,
            claim,
            ttl,
            owed: Owed::Running,
            finishing: None,
        }
    }

    /// Records `completion`. On a store failure other than a lost claim, keeps trying in the
    /// background while the lease lasts, and returns the first error. Gives the completion back
    /// once recorded (to share its output without a copy).
    pub(super) async fn finish(
        &mut self,
        completion: Completion,
    ) -> Result<Option<Completion>, StoreError> {
        let finishing = self.finishing.insert(completion);
        let result = self
            .store
            .complete(self.key, &self.claim, finishing, self.ttl)
            .await;
        self.owed = Owed::Nothing;
        let completion = self.finishing.take();
        match result {
            Ok(()) => Ok(completion),
            Err(err @ StoreError::ClaimLost { .. }) => Err(err),
            Err(err) => {
                if let Some(completion) = completion {
                    self.spawn_finish(completion);
                }
                Err(err)
            }
        }
    }

    /// Gives the claim back: the tool failed and may run again.
    pub(super) async fn release(&mut self) {
        self.owed = Owed::Releasing;
        let released = self.store.release(self.key, &self.claim).await;
        self.owed = Owed::Nothing;
        if let Err(err) = released {
            tracing::warn!(tool = self.key.tool, key = self.key.key, error = %err, "idem could not release a claim; it frees itself when its lease runs out");
        }
    }

    /// Records `completion` in the background, trying again while the store fails, for about
    /// the claim's lease (after that the claim may be taken over anyway).
    fn spawn_finish(&self, completion: Completion) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                tool = self.key.tool,
                key = self.key.key,
                "idem could not record how a call ended (no Tokio runtime): its claim frees itself when its lease runs out"
            );
            return;
        };
        let owned = OwnedClaim::new(self.key, &self.claim);
        let (store, ttl) = (Arc::clone(self.store), self.ttl);
        handle.spawn(async move {
            let (key, claim) = (owned.key(), owned.claim());
            let mut pause = Duration::from_millis(100);
            let mut waited = Duration::ZERO;
            loop {
                match store.complete(key, &claim, &completion, ttl).await {
                    Ok(()) => return,
                    Err(err @ StoreError::ClaimLost { .. }) => {
                        tracing::warn!(tool = key.tool, key = key.key, error = %err, "idem could not record how a call ended");
                        return;
                    }
                    Err(err) if waited >= claim.lease => {
                        tracing::error!(tool = key.tool, key = key.key, error = %err, "idem gave up recording how a call ended; once its lease has run out, a retry runs the tool again");
                        return;
                    }
                    Err(_) => {
                        tokio::time::sleep(pause).await;
                        waited += pause;
                        pause = (pause * 2).min(Duration::from_secs(2));
                    }
                }
            }
        });
    }
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        if let Some(completion) = self.finishing.take() {
            self.spawn_finish(completion);
            return;
        }
        match std::mem::replace(&mut self.owed, Owed::Nothing) {
            Owed::Nothing => {}
            Owed::Running => {
                tracing::warn!(
                    tool = self.key.tool,
                    key = self.key.key,
                    "idem: {CANCELLED}; the call's outcome is recorded as unknown"
                );
                self.spawn_finish(Completion::Unknown(CANCELLED.to_owned()));
            }
            Owed::Releasing => spawn_release(Arc::clone(self.store), self.key, &self.claim, 3),
        }
    }
}

/// A claim and its address, owned, for a task that outlives the call.
struct OwnedClaim {
    tool: String,
    key: String,
    token: String,
    fingerprint: String,
    now: UnixMillis,
    lease: Duration,
}

impl OwnedClaim {
    fn new(key: RecordKey<'_>, claim: &Claim<'_>) -> Self {
        OwnedClaim {
            tool: key.tool.to_owned(),
            key: key.key.to_owned(),
            token: claim.token.to_owned(),
            fingerprint: claim.fingerprint.to_owned(),
            now: claim.now,
            lease: claim.lease,
        }
    }

    fn key(&self) -> RecordKey<'_> {
        RecordKey {
            tool: &self.tool,
            key: &self.key,
        }
    }

    fn claim(&self) -> Claim<'_> {
        Claim {
            token: &self.token,
            fingerprint: &self.fingerprint,
            now: self.now,
            lease: self.lease,
        }
    }
}

/// Releases `claim` in the background, trying up to `attempts` times with a doubling pause
/// (from 250 ms) while the store fails. Without a Tokio runtime at hand nothing is done: the
/// lease frees the key when it runs out.
///
/// Used when a release is interrupted, and when a claim's answer was lost (the store failed
/// after the claim may have landed, before the tool ran): releasing a claim that never landed
/// removes nothing.
pub(super) fn spawn_release(
    store: Arc<dyn Store>,
    key: RecordKey<'_>,
    claim: &Claim<'_>,
    attempts: u32,
) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let owned = OwnedClaim::new(key, claim);
    handle.spawn(async move {
        let (key, claim) = (owned.key(), owned.claim());
        let mut pause = Duration::from_millis(250);
        for attempt in 1..=attempts {
            match store.release(key, &claim).await {
                Ok(_) => return,
                Err(err) if attempt == attempts => {
                    tracing::warn!(tool = key.tool, key = key.key, error = %err, "idem could not release a claim; it frees itself when its lease runs out");
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    });
}
