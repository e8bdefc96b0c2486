//! [`Call`]: the state machine of one idempotent call, from claim to record or replay.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::claim_guard::{ClaimGuard, spawn_release};
use super::error::{ExecuteError, Holder};
use super::inflight::{FlightGuard, Role, Shared};
use super::metrics::Counter;
use super::outcome::Outcome;
use super::supervise::{Ran, panic_message, supervise};
use super::telemetry;
use super::token::ClaimToken;
use super::{Executor, OnFailure};
use crate::key::IdempotencyKey;
use crate::spec::{InProgressPolicy, MismatchPolicy, ToolSpec};
use crate::store::{Claim, ClaimOutcome, Completion, Record, RecordKey, RecordState, StoreError};

mod failure;

/// What a leading call ends with: its result, what its duplicates get, and a panic of the tool
/// to resume once the duplicates have been told.
pub(super) struct Led<T, E> {
    result: Result<(T, Outcome), ExecuteError<E>>,
    shared: Shared,
    panic: Option<Box<dyn std::any::Any + Send>>,
}

impl<T, E> Led<T, E> {
    fn new(result: Result<(T, Outcome), ExecuteError<E>>, shared: Shared) -> Self {
        Led {
            result,
            shared,
            panic: None,
        }
    }
}

/// One idempotent call in progress.
pub(super) struct Call<'a> {
    pub(super) executor: &'a Executor,
    pub(super) spec: &'a ToolSpec,
    pub(super) key: &'a IdempotencyKey,
    pub(super) fingerprint: &'a str,
    pub(super) started: Instant,
    /// The call's `idem.execute` span.
    pub(super) span: &'a tracing::Span,
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

    /// How long this call may still wait for `holder`, or the error to give when it may not.
    fn wait_budget<E>(&self, holder: impl FnOnce() -> Holder) -> Result<Duration, ExecuteError<E>> {
        match self.spec.idempotency().in_progress_policy() {
            InProgressPolicy::Fail => Err(ExecuteError::InProgress {
                key: self.key_string(),
            }),
            InProgressPolicy::Wait { timeout } => {
                let waited = self.started.elapsed();
                timeout
                    .checked_sub(waited)
                    .filter(|left| !left.is_zero())
                    .ok_or_else(|| self.timed_out(holder()))
            }
        }
    }

    fn timed_out<E>(&self, holder: Holder) -> ExecuteError<E> {
        ExecuteError::WaitTimedOut {
            key: self.key_string(),
            waited: self.started.elapsed(),
            holder,
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
                    let led = self.lead(&guard, &on_failure, tool).await;
                    guard.publish(led.shared);
                    if let Some(panic) = led.panic {
                        // The duplicates have their answer and the store its record: the
                        // panic goes on to the caller, as if idem were not there.
                        telemetry::record_outcome(self.span, &led.result);
                        std::panic::resume_unwind(panic);
                    }
                    return led.result;
                }
                Role::Follower(flight) => {
                    let shared = if let InProgressPolicy::Fail =
                        self.spec.idempotency().in_progress_policy()
                    {
                        // A leader that only claims and replays is quick: its output is this
                        // duplicate's too. One whose tool runs is not waited for.
                        match flight.wait_unless_running().await {
                            Some(shared) => shared,
                            None => {
                                return Err(ExecuteError::InProgress {
                                    key: self.key_string(),
                                });
                            }
                        }
                    } else {
                        let budget = self.wait_budget(|| Holder::ThisProcess)?;
                        if !counted_wait {
                            counted_wait = true;
                            self.executor.metrics.add(Counter::Wait);
                        }
                        let Ok(shared) = tokio::time::timeout(budget, flight.wait()).await else {
                            return Err(self.timed_out(Holder::ThisProcess));
                        };
                        shared
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
                        Shared::Unknown { reason, expires_at } => {
                            return Err(ExecuteError::OutcomeUnknown {
                                key: self.key_string(),
                                reason: reason.clone(),
                                expires_at: *expires_at,
                            });
                        }
                        Shared::Fate(error) => {
                            return Err(ExecuteError::Joined {
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
        flight: &FlightGuard<'_>,
        on_failure: &P,
        tool: F,
    ) -> Led<T, E>
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
                    return Led::new(Err(ExecuteError::Store(err)), Shared::Retry);
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
                        "idem took over a claim whose lease ran out (its holder stopped renewing it)"
                    );
                    true
                }
                ClaimOutcome::Existing(record) => {
                    if let RecordState::InProgress { lease_until } = record.state {
                        let holder = || Holder::Claim { lease_until };
                        let budget = match self.wait_budget(holder) {
                            Ok(budget) => budget,
                            Err(err) => return Led::new(Err(err), Shared::Retry),
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
            return self
                .run_tool(flight, claim, took_over, on_failure, tool)
                .await;
        }
    }

    /// Replays a finished record.
    fn replay<T, E>(&self, record: Record) -> Led<T, E>
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
                Led::new(result, shared)
            }
            RecordState::Completed { output: None, .. } => Led::new(
                Err(ExecuteError::AlreadyRan {
                    key: self.key_string(),
                }),
                Shared::Marker,
            ),
            RecordState::Failed { error, .. } => Led::new(
                Err(ExecuteError::PreviouslyFailed {
                    key: self.key_string(),
                    error: error.clone(),
                }),
                Shared::Failed(error),
            ),
            RecordState::Unknown { reason, expires_at } => Led::new(
                Err(ExecuteError::OutcomeUnknown {
                    key: self.key_string(),
                    reason: reason.clone(),
                    expires_at,
                }),
                Shared::Unknown { reason, expires_at },
            ),
            // `lead` waits for in-progress records instead.
            RecordState::InProgress { .. } => Led::new(
                Err(ExecuteError::InProgress {
                    key: self.key_string(),
                }),
                Shared::Retry,
            ),
        }
    }

    /// Runs the tool under a won claim and records how it ended. From the moment the tool
    /// starts, the claim is never simply given back unless the tool itself said it failed:
    /// a panic or a dropped call leaves an unknown outcome, which no retry runs again.
    async fn run_tool<T, E, F, Fut, P>(
        &self,
        flight: &FlightGuard<'_>,
        claim: Claim<'_>,
        took_over: bool,
        on_failure: &P,
        tool: F,
    ) -> Led<T, E>
    where
        T: Serialize,
        E: fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> OnFailure,
    {
        let config = self.spec.idempotency();
        let store = &self.executor.store;
        let mut guard = ClaimGuard::new(store, self.record_key(), claim, config.result_ttl());
        self.executor.metrics.add(Counter::Execution);
        flight.tool_started();
        let output = match supervise(store, self.record_key(), &claim, tool).await {
            Ran::Returned(Ok(output)) => output,
            Ran::Returned(Err(err)) => return self.failed(&mut guard, on_failure, err).await,
            Ran::Panicked(panic) => {
                let reason = format!("the tool panicked: {}", panic_message(&*panic));
                let mut led = self.unknown(&mut guard, reason).await;
                led.panic = Some(panic);
                return led;
            }
        };
        let completion = if config.persists_result() {
            match serde_json::to_vec(&output) {
                Ok(bytes) => Completion::Output(bytes),
                Err(source) => {
                    // The tool ran: remember that it did (a retry must not run it again), even
                    // though its output cannot be kept.
                    let recorded = guard.finish(Completion::Marker).await;
                    let err = ExecuteError::Output {
                        key: self.key_string(),
                        action: "serialized",
                        source,
                    };
                    let shared = match recorded {
                        Ok(_) => Shared::Marker,
                        Err(_) => Shared::Fate(err.to_string()),
                    };
                    return Led::new(Err(err), shared);
                }
            }
        } else {
            Completion::Marker
        };
        match guard.finish(completion).await {
            Ok(completion) => {
                let shared = match completion {
                    Some(Completion::Output(bytes)) => Shared::Output {
                        bytes,
                        fingerprint: self.fingerprint.into(),
                    },
                    _ => Shared::Marker,
                };
                Led::new(Ok((output, Outcome::Executed { took_over })), shared)
            }
            Err(err) => {
                let err = self.not_recorded(err);
                let fate = err.to_string();
                Led::new(Err(err), Shared::Fate(fate))
            }
        }
    }

    /// The error of a result that could not be recorded.
    fn not_recorded<E>(&self, err: StoreError) -> ExecuteError<E> {
        match err {
            StoreError::ClaimLost { .. } => ExecuteError::ClaimLost {
                key: self.key_string(),
            },
            source => ExecuteError::NotRecorded {
                key: self.key_string(),
                source,
            },
        }
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
