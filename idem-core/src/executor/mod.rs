//! The [`Executor`]: claims a key, runs the tool once, stores the result with a TTL and replays
//! it on retry.
//!
//! For each call with idempotency on:
//! 1. Compute the key and the fingerprint (SHA-256 of all the arguments' canonical bytes).
//! 2. Duplicates racing in this process join the first one's execution.
//! 3. Claim the key in the store with a lease. Claim won: run the tool; on success record the
//!    output (or a marker) conditional on still holding the claim; on failure release the claim,
//!    or remember the failure when the policy says it is permanent.
//! 4. Key completed: replay without running the tool, flagging (or refusing) different arguments.
//! 5. Key in progress elsewhere: wait (polling the store with backoff) up to the timeout, or fail
//!    at once; a claim whose lease ran out is taken over.
//! 6. Any store failure is an error and the tool does not run.

mod error;
mod inflight;
mod input;
mod metrics;
mod outcome;

pub use error::ExecuteError;
pub use input::ToolInput;
pub use metrics::MetricsSnapshot;
pub use outcome::{Execution, Outcome};

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use crate::clock::{Clock, SystemClock};
use crate::context::Context;
use crate::declared::KeyOptions;
use crate::key::IdempotencyKey;
use crate::registry::Registry;
use crate::spec::{InProgressPolicy, MismatchPolicy, ToolSpec};
use crate::store::{
    Claim, ClaimOutcome, Completion, Record, RecordKey, RecordState, Store, StoreError, UnixMillis,
};
use inflight::{Flights, Role, Shared};
use metrics::{Counter, Metrics};

/// What to do with a failed call's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Release the claim: a retry runs the tool again (for transient errors).
    #[default]
    Release,
    /// Remember the failure until the TTL: a retry gets
    /// [`ExecuteError::PreviouslyFailed`] without running the tool (for permanent errors, such as
    /// a declined card).
    Remember,
}

/// Runs tools so that a duplicate never runs twice.
///
/// ```
/// use idem_core::executor::{Executor, Outcome};
/// use idem_core::spec::ToolSpec;
/// use idem_core::store::MemoryStore;
/// use idem_core::Context;
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let executor = Executor::new(MemoryStore::new());
/// let spec = ToolSpec::function("greet-v1", "greet").build().unwrap();
/// let args = json!({"name": "Ada"});
/// let ctx = Context::new();
/// let run = || async { Ok::<_, std::io::Error>(format!("hello, Ada")) };
/// let first = executor.execute(&spec, &ctx, &args, run).await.unwrap();
/// let again = executor.execute(&spec, &ctx, &args, run).await.unwrap();
/// assert_eq!(first.outcome, Outcome::Executed { took_over: false });
/// assert_eq!(again.outcome, Outcome::Replayed { args_differ: false });
/// assert_eq!(again.output, "hello, Ada");
/// # });
/// ```
pub struct Executor {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    registry: Option<Arc<Registry>>,
    flights: Flights,
    metrics: Metrics,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("metrics", &self.metrics.snapshot())
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// An executor over `store`, on the system clock.
    pub fn new(store: impl Store + 'static) -> Self {
        Self::with_store(Arc::new(store))
    }

    /// An executor over a shared store.
    pub fn with_store(store: Arc<dyn Store>) -> Self {
        Executor {
            store,
            clock: Arc::new(SystemClock),
            registry: None,
            flights: Flights::default(),
            metrics: Metrics::default(),
        }
    }

    /// Reads time (leases, TTLs, windows of derived keys) from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Looks up `#[idem(generator = "...")]` names in `registry` instead of
    /// [`Registry::global`].
    #[must_use]
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The counters so far.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Runs `tool` for this call unless a duplicate already ran (then its output is replayed) or
    /// is running (then this call waits for it). A failure releases the claim.
    ///
    /// # Errors
    /// See [`ExecuteError`]: unless a variant says otherwise, the tool did not run.
    pub async fn execute<A, T, E, F, Fut>(
        &self,
        spec: &ToolSpec,
        context: &Context,
        args: &A,
        tool: F,
    ) -> Result<Execution<T>, ExecuteError<E>>
    where
        A: ToolInput + ?Sized,
        T: Serialize + DeserializeOwned,
        E: fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.execute_with(spec, context, args, |_: &E| OnFailure::Release, tool)
            .await
    }

    /// As [`execute`](Executor::execute), with a policy deciding per error whether a failure is
    /// released (retried) or remembered (permanent).
    ///
    /// # Errors
    /// See [`ExecuteError`].
    pub async fn execute_with<A, T, E, F, Fut, P>(
        &self,
        spec: &ToolSpec,
        context: &Context,
        args: &A,
        on_failure: P,
        tool: F,
    ) -> Result<Execution<T>, ExecuteError<E>>
    where
        A: ToolInput + ?Sized,
        T: Serialize + DeserializeOwned,
        E: fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> OnFailure,
    {
        let config = spec.idempotency();
        if !config.is_enabled() {
            let output = tool().await.map_err(ExecuteError::Tool);
            self.count(&output, Counter::Execution);
            return output.map(|output| Execution {
                output,
                outcome: Outcome::NotIdempotent,
                key: None,
            });
        }
        let mut options = KeyOptions::new().clock(&*self.clock);
        if let Some(registry) = &self.registry {
            options = options.registry(registry);
        }
        let key = args
            .idempotency_key(spec, context, &options)
            .and_then(|key| Ok((key, args.fingerprint()?)));
        let (key, fingerprint) = match key {
            Ok(pair) => pair,
            Err(err) => {
                self.metrics.add(Counter::Error);
                return Err(ExecuteError::Key(err));
            }
        };
        let span = tracing::info_span!("idem.execute", tool = spec.id(), key = key.as_str());
        let call = Call {
            executor: self,
            spec,
            key: &key,
            fingerprint: &fingerprint,
            started: Instant::now(),
        };
        let result = call.run(on_failure, tool).instrument(span).await;
        match &result {
            Ok(execution) => tracing::debug!(
                tool = spec.id(),
                key = key.as_str(),
                outcome = ?execution.1,
                "idem call done"
            ),
            Err(err) => {
                self.metrics.add(Counter::Error);
                tracing::debug!(tool = spec.id(), key = key.as_str(), error = %err, "idem call failed");
            }
        }
        result.map(|(output, outcome)| Execution {
            output,
            outcome,
            key: Some(key),
        })
    }

    fn count<T, E>(&self, result: &Result<T, E>, on_ok: Counter) {
        self.metrics.add(if result.is_ok() {
            on_ok
        } else {
            Counter::Error
        });
    }

    fn now(&self) -> UnixMillis {
        UnixMillis::now(&*self.clock)
    }
}

/// One idempotent call in progress.
struct Call<'a> {
    executor: &'a Executor,
    spec: &'a ToolSpec,
    key: &'a IdempotencyKey,
    fingerprint: &'a str,
    started: Instant,
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

    async fn run<T, E, F, Fut, P>(
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
        let flight_key = format!("{}\u{0}{}", self.spec.id(), self.key);
        let mut tool = Some(tool);
        let mut counted_wait = false;
        loop {
            match self.executor.flights.join(flight_key.clone()) {
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
                Role::Follower(mut slot) => {
                    let budget = self.wait_budget()?;
                    if !counted_wait {
                        counted_wait = true;
                        self.executor.metrics.add(Counter::Wait);
                    }
                    let shared =
                        match tokio::time::timeout(budget, slot.wait_for(Option::is_some)).await {
                            Ok(Ok(shared)) => shared.clone(),
                            // The leader vanished without publishing: try again.
                            Ok(Err(_)) => Some(Shared::Retry),
                            Err(_) => {
                                return Err(ExecuteError::WaitTimedOut {
                                    key: self.key_string(),
                                    waited: self.started.elapsed(),
                                });
                            }
                        };
                    match shared {
                        Some(Shared::Output { bytes, fingerprint }) => {
                            let args_differ = self.check_mismatch(&fingerprint)?;
                            let output = self.deserialize(&bytes)?;
                            self.executor.metrics.add(Counter::Join);
                            return Ok((output, Outcome::Joined { args_differ }));
                        }
                        Some(Shared::Marker) => {
                            return Err(ExecuteError::AlreadyRan {
                                key: self.key_string(),
                            });
                        }
                        Some(Shared::Failed(error)) => {
                            return Err(ExecuteError::PreviouslyFailed {
                                key: self.key_string(),
                                error: error.to_string(),
                            });
                        }
                        Some(Shared::Retry) | None => continue,
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
            let claim = Claim {
                token: uuid::Uuid::new_v4().to_string(),
                fingerprint: self.fingerprint.to_owned(),
                now: self.executor.now(),
                lease: config.lease(),
            };
            let claimed = match store.claim(self.record_key(), &claim).await {
                Ok(claimed) => claimed,
                Err(err) => return (Err(ExecuteError::Store(err)), Shared::Retry),
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
            return self
                .run_tool(claim.token, took_over, on_failure, tool)
                .await;
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
                let bytes = Arc::new(bytes);
                let shared = Shared::Output {
                    bytes: Arc::clone(&bytes),
                    fingerprint: record.fingerprint.as_str().into(),
                };
                let result = self
                    .check_mismatch(&record.fingerprint)
                    .and_then(|args_differ| {
                        let output = self.deserialize(&bytes)?;
                        self.executor.metrics.add(Counter::Replay);
                        Ok((output, Outcome::Replayed { args_differ }))
                    });
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
                Shared::Failed(error.into()),
            ),
            RecordState::InProgress { .. } => (
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
        token: String,
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
        let mut claim = ClaimGuard {
            store: Arc::clone(&self.executor.store),
            tool: self.spec.id().to_owned(),
            key: self.key_string(),
            token: Some(token),
        };
        let token = claim.token.clone().unwrap_or_default();
        self.executor.metrics.add(Counter::Execution);
        let result = tool().await;
        let store = &*self.executor.store;
        let now = self.executor.now();
        match result {
            Ok(output) => {
                let (completion, shared) = if config.persists_result() {
                    match serde_json::to_vec(&output) {
                        Ok(bytes) => (
                            Completion::Output(bytes.clone()),
                            Shared::Output {
                                bytes: Arc::new(bytes),
                                fingerprint: self.fingerprint.into(),
                            },
                        ),
                        Err(source) => {
                            claim.release().await;
                            let err = ExecuteError::Output {
                                key: self.key_string(),
                                action: "serialized",
                                source,
                            };
                            return (Err(err), Shared::Retry);
                        }
                    }
                } else {
                    (Completion::Marker, Shared::Marker)
                };
                let completed = store
                    .complete(
                        self.record_key(),
                        &token,
                        &completion,
                        now,
                        config.result_ttl(),
                    )
                    .await;
                claim.disarm();
                match completed {
                    Ok(()) => (Ok((output, Outcome::Executed { took_over })), shared),
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
                    claim.release().await;
                    (Err(ExecuteError::Tool(err)), Shared::Retry)
                }
                OnFailure::Remember => {
                    let message = err.to_string();
                    let completion = Completion::Failed(message.clone());
                    let completed = store
                        .complete(
                            self.record_key(),
                            &token,
                            &completion,
                            now,
                            config.result_ttl(),
                        )
                        .await;
                    claim.disarm();
                    if let Err(store_err) = completed {
                        tracing::warn!(tool = self.spec.id(), key = self.key.as_str(), error = %store_err, "idem could not remember a failure");
                    }
                    (Err(ExecuteError::Tool(err)), Shared::Failed(message.into()))
                }
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

/// Releases a claim when the call ends without recording anything (an error, a panic, a
/// cancelled future), so that a retry need not wait for the lease to run out.
struct ClaimGuard {
    store: Arc<dyn Store>,
    tool: String,
    key: String,
    token: Option<String>,
}

impl ClaimGuard {
    fn disarm(&mut self) {
        self.token = None;
    }

    async fn release(&mut self) {
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
