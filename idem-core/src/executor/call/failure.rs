//! How a call whose tool did not succeed is recorded: its error released, remembered or made an
//! unknown outcome as the failure policy says, and a panic made an unknown outcome.

use std::fmt;

use super::super::OnFailure;
use super::super::claim_guard::ClaimGuard;
use super::super::error::ExecuteError;
use super::super::inflight::Shared;
use super::{Call, Led};
use crate::store::{Completion, UnixMillis};

impl Call<'_> {
    /// The tool returned an error: release the claim (a retry runs again), remember the failure,
    /// or record an unknown outcome, as the policy says. The caller gets the tool's error;
    /// duplicates that joined this run share its error, or the unknown outcome.
    pub(super) async fn failed<T, E, P>(
        &self,
        guard: &mut ClaimGuard<'_>,
        on_failure: &P,
        err: E,
    ) -> Led<T, E>
    where
        E: fmt::Display,
        P: Fn(&E) -> OnFailure,
    {
        let message = err.to_string();
        match on_failure(&err) {
            OnFailure::Release => {
                guard.release().await;
                Led::new(Err(ExecuteError::Tool(err)), Shared::Fate(message))
            }
            OnFailure::Remember => {
                if let Err(store_err) = guard.finish(Completion::Failed(message.clone())).await {
                    tracing::warn!(tool = self.spec.id(), key = self.key.as_str(), error = %store_err, "idem could not remember a failure");
                }
                Led::new(Err(ExecuteError::Tool(err)), Shared::Failed(message))
            }
            OnFailure::Unknown => {
                let reason =
                    format!("the tool failed without knowing whether it took effect: {message}");
                let (reason, expires_at) = self.record_unknown(guard, reason).await;
                Led::new(
                    Err(ExecuteError::Tool(err)),
                    Shared::Unknown { reason, expires_at },
                )
            }
        }
    }

    /// Whether the call took effect is unknown (the tool panicked, or failed under
    /// [`OnFailure::Unknown`]): recorded as such, so that no retry runs it again before the
    /// record expires. Returns the reason and when the record expires.
    async fn record_unknown(
        &self,
        guard: &mut ClaimGuard<'_>,
        reason: String,
    ) -> (String, UnixMillis) {
        tracing::error!(
            tool = self.spec.id(),
            key = self.key.as_str(),
            reason,
            "idem: a call's outcome is unknown; it will not run again until its record expires"
        );
        let recorded = guard.finish(Completion::Unknown(reason.clone())).await;
        if let Err(err) = &recorded {
            tracing::warn!(tool = self.spec.id(), key = self.key.as_str(), error = %err, "idem could not record an unknown outcome");
        }
        let expires_at = self
            .executor
            .now()
            .plus(self.spec.idempotency().result_ttl());
        (reason, expires_at)
    }

    /// [`record_unknown`](Self::record_unknown), for a call whose caller gets
    /// [`ExecuteError::OutcomeUnknown`] (the tool panicked).
    pub(super) async fn unknown<T, E>(
        &self,
        guard: &mut ClaimGuard<'_>,
        reason: String,
    ) -> Led<T, E> {
        let (reason, expires_at) = self.record_unknown(guard, reason).await;
        let err = ExecuteError::OutcomeUnknown {
            key: self.key_string(),
            reason: reason.clone(),
            expires_at,
        };
        Led::new(Err(err), Shared::Unknown { reason, expires_at })
    }
}
