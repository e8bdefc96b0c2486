//! [`Call`]: the state machine of one idempotent call, from claim to record or replay.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::claim_guard::{ClaimGuard, spawn_release};
use super::error::ExecuteError;
use super::inflight::{Role, Shared};
use super::metrics::Counter;
use super::outcome::Outcome;
use super::token::ClaimToken;
use super::{Executor, OnFailure};
use crate::key::IdempotencyKey;
use crate::spec::{InProgressPolicy, MismatchPolicy, ToolSpec};
use crate::store::{Claim, ClaimOutcome, Completion, Record, RecordKey, RecordState, StoreError};

/// One idempotent call in progress.
pub(super) struct Call<'a> {
    pub(super) executor: &'a Executor,
    pub(super) spec: &'a ToolSpec,
    pub(super) key: &'a IdempotencyKey,
    pub(super) fingerprint: &'a str,
    pub(super) started: Instant,
}

/// The longest pause between two looks at a key running elsewhere.
const MAX_POLL: Duration = Duration::from_millis(200);

impl Call<'_> {
    fn record_key(&self) -> RecordKey<'_> {
        RecordKey {
            tool: self.spec.id(),
            key: self.key.as_str(),
        }
    }

    fn key_string(&self) -> String {
        self.key.as_str().to_owned()
    }

    /// How long this call may still wait, or the error to give when it may not.
    fn wait_budget<E>(&self) -> Result<Duration, ExecuteError<E>> {
        match self.spec.idempotency().in_progress_policy() {
            InProgressPolicy::Fail => Err(ExecuteError::InProgress {
                key: self.key_string(),
            }),
            InProgressPolicy::Wait { timeout } => {
                let waited = self.started.elapsed();
                timeout
                    .checked_sub(waited)
                    .filter(|left| !left.is_zero())
                    .ok_or(ExecuteError::WaitTimedOut {
                        key: self.key_string(),
                        waited,
                    })
            }
        }
    }

    pub(super) async fn run<T, E, F, Fut, P>(
        &self,
        on_failure: P,
        tool: F,
    ) -> Result<(T, Outcome), ExecuteError<E>>
    where
        T: Serialize + DeserializeOwned,
        E: fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> OnFailure,
    {
        let mut tool = Some(tool);
        let mut counted_wait = false;
        loop {
            match self.executor.flights.join(self.record_key()) {
                Role::Leader(mut guard) => {
                    let Some(tool) = tool.take() else {
                        // Unreachable: a call leads at most once (leading always returns).
                        return Err(ExecuteError::InProgress {
                            key: self.key_string(),
                        });
                    };
                    let (result, shared) = self.lead(&on_failure, tool).await;
                    guard.publish(shared);
                    return result;
                }
                Role::Follower(flight) => {
                    let budget = self.wait_budget()?;
                    if !counted_wait {
                        counted_wait = true;
                        self.executor.metrics.add(Counter::Wait);
                    }
                    let Ok(shared) = tokio::time::timeout(budget, flight.wait()).await else {
                        return Err(ExecuteError::WaitTimedOut {
                            key: self.key_string(),
                            waited: self.started.elapsed(),
                        });
                    };
                    match shared {
                        Shared::Output { bytes, fingerprint } => {
                            let args_differ = self.check_mismatch(fingerprint)?;
                            let output = self.deserialize(bytes)?;
                            self.executor.metrics.add(Counter::Join);
                            return Ok((output, Outcome::Joined { args_differ }));
                        }
                        Shared::Marker => {
                            return Err(ExecuteError::AlreadyRan {
                                key: self.key_string(),
                            });
                        }
                        Shared::Failed(error) => {
                            return Err(ExecuteError::PreviouslyFailed {
                                key: self.key_string(),
                                error: error.clone(),
                            });
                        }
                        Shared::Retry => continue,
                    }
                }
            }
        }
    }

    /// The state machine of a leading call; returns its result and what to share with the
    /// duplicates that waited for it.
    async fn lead<T, E, F, Fut, P>(
        &self,
        on_failure: &P,
        tool: F,
    ) -> (Result<(T, Outcome), ExecuteError<E>>, Shared)
    where
        T: Serialize + DeserializeOwned,
        E: fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> OnFailure,
    {
        let config = self.spec.idempotency();
        let store = &*self.executor.store;
        let mut pause = Duration::from_millis(5);
        let mut counted_wait = false;
        loop {
            let token = ClaimToken::next();
            let claim = Claim {
                token: token.as_str(),
                fingerprint: self.fingerprint,
                now: self.executor.now(),
                lease: config.lease(),
            };
            let claimed = match store.claim(self.record_key(), &claim).await {
                Ok(claimed) => claimed,
                Err(err) => {
                    if matches!(err, StoreError::Unavailable { .. }) {
                        // The claim may have landed and only its answer been lost: give it back,
                        // or retries would wait for its lease although nothing runs.
                        spawn_release(
                            Arc::clone(&self.executor.store),
                            self.record_key(),
                            &claim,
                            6,
                        );
                    }
                    return (Err(ExecuteError::Store(err)), Shared::Retry);
                }
            };
            let took_over = match claimed {
                ClaimOutcome::Claimed => false,
                ClaimOutcome::TookOver { previous_token } => {
                    self.executor.metrics.add(Counter::Takeover);
                    tracing::warn!(
                        tool = self.spec.id(),
                        key = self.key.as_str(),
                        previous_token,
                        "idem took over a claim whose lease ran out"
                    );
                    true
                }
                ClaimOutcome::Existing(record) => {
                    if record.is_in_progress() {
                        let budget = match self.wait_budget() {
                            Ok(budget) => budget,
                            Err(err) => return (Err(err), Shared::Retry),
                        };
                        if !counted_wait {
                            counted_wait = true;
                            self.executor.metrics.add(Counter::Wait);
                        }
                        tokio::time::sleep(pause.min(budget)).await;
                        pause = (pause * 2).min(MAX_POLL);
                        continue;
                    }
                    return self.replay(record);
                }
            };
            return self.run_tool(claim, took_over, on_failure, tool).await;
        }
    }

    /// Replays a completed (or failed) record.
    fn replay<T, E>(&self, record: Record) -> (Result<(T, Outcome), ExecuteError<E>>, Shared)
    where
        T: DeserializeOwned,
    {
        match record.state {
            RecordState::Completed {
                output: Some(bytes),
                ..
            } => {
                let result = self
                    .check_mismatch(&record.fingerprint)
                    .and_then(|args_differ| {
                        let output = self.deserialize(&bytes)?;
                        self.executor.metrics.add(Counter::Replay);
                        Ok((output, Outcome::Replayed { args_differ }))
                    });
                let shared = Shared::Output {
                    bytes,
                    fingerprint: record.fingerprint.into(),
                };
                (result, shared)
            }
            RecordState::Completed { output: None, .. } => (
                Err(ExecuteError::AlreadyRan {
                    key: self.key_string(),
                }),
                Shared::Marker,
            ),
            RecordState::Failed { error, .. } => (
                Err(ExecuteError::PreviouslyFailed {
                    key: self.key_string(),
                    error: error.clone(),
                }),
                Shared::Failed(error),
            ),
            RecordState::Unknown { .. } | RecordState::InProgress { .. } => (
                Err(ExecuteError::InProgress {
                    key: self.key_string(),
                }),
                Shared::Retry,
            ),
        }
    }

    /// Runs the tool under a won claim and records how it ended.
    async fn run_tool<T, E, F, Fut, P>(
        &self,
        claim: Claim<'_>,
        took_over: bool,
        on_failure: &P,
        tool: F,
    ) -> (Result<(T, Outcome), ExecuteError<E>>, Shared)
    where
        T: Serialize,
        E: fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> OnFailure,
    {
        let config = self.spec.idempotency();
        let mut guard = ClaimGuard {
            store: &self.executor.store,
            key: self.record_key(),
            claim: Some(claim),
        };
        self.executor.metrics.add(Counter::Execution);
        let result = tool().await;
        match result {
            Ok(output) => {
                let completion = if config.persists_result() {
                    match serde_json::to_vec(&output) {
                        Ok(bytes) => Completion::Output(bytes),
                        Err(source) => {
                            guard.release().await;
                            let err = ExecuteError::Output {
                                key: self.key_string(),
                                action: "serialized",
                                source,
                            };
                            return (Err(err), Shared::Retry);
                        }
                    }
                } else {
                    Completion::Marker
                };
                let completed = self.complete(&claim, &completion).await;
                guard.disarm();
                match completed {
                    Ok(()) => {
                        let shared = match completion {
                            Completion::Output(bytes) => Shared::Output {
                                bytes,
                                fingerprint: self.fingerprint.into(),
                            },
                            _ => Shared::Marker,
                        };
                        (Ok((output, Outcome::Executed { took_over })), shared)
                    }
                    Err(StoreError::ClaimLost { .. }) => (
                        Err(ExecuteError::ClaimLost {
                            key: self.key_string(),
                        }),
                        Shared::Retry,
                    ),
                    Err(source) => (
                        Err(ExecuteError::NotRecorded {
                            key: self.key_string(),
                            source,
                        }),
                        Shared::Retry,
                    ),
                }
            }
            Err(err) => match on_failure(&err) {
                OnFailure::Release => {
                    guard.release().await;
                    (Err(ExecuteError::Tool(err)), Shared::Retry)
                }
                OnFailure::Remember => {
                    let message = err.to_string();
                    let completion = Completion::Failed(message.clone());
                    let completed = self.complete(&claim, &completion).await;
                    guard.disarm();
                    if let Err(store_err) = completed {
                        tracing::warn!(tool = self.spec.id(), key = self.key.as_str(), error = %store_err, "idem could not remember a failure");
                    }
                    (Err(ExecuteError::Tool(err)), Shared::Failed(message))
                }
            },
        }
    }

    /// Records how the claimed call ended, while still holding `claim`.
    async fn complete(&self, claim: &Claim<'_>, completion: &Completion) -> Result<(), StoreError> {
        let ttl = self.spec.idempotency().result_ttl();
        self.executor
            .store
            .complete(
                self.record_key(),
                claim,
                completion,
                ttl,
            )
            .await
    }

    /// Whether `recorded` differs from this call's fingerprint; an error when the policy refuses
    /// mismatches.
    fn check_mismatch<E>(&self, recorded: &str) -> Result<bool, ExecuteError<E>> {
        if recorded == self.fingerprint {
            return Ok(false);
        }
        self.executor.metrics.add(Counter::Mismatch);
        tracing::warn!(
            tool = self.spec.id(),
            key = self.key.as_str(),
            "idem: a duplicate's arguments differ from the first call's"
        );
        match self.spec.idempotency().mismatch_policy() {
            MismatchPolicy::Replay => Ok(true),
            MismatchPolicy::Reject => Err(ExecuteError::ArgumentsMismatch {
                key: self.key_string(),
            }),
        }
    }

    fn deserialize<T: DeserializeOwned, E>(&self, bytes: &[u8]) -> Result<T, ExecuteError<E>> {
        serde_json::from_slice(bytes).map_err(|source| ExecuteError::Output {
            key: self.key_string(),
            action: "deserialized",
            source,
        })
    }
}
