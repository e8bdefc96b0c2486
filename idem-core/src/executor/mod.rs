//! The [`Executor`]: claims a key, runs the tool once, stores the result with a TTL and replays
//! it on retry.
//!
//! For each call with idempotency on:
//! 1. Compute the key and the fingerprint (SHA-256 of all the arguments' canonical bytes).
//! 2. Duplicates racing in this process join the first one's execution and share its fate.
//! 3. Claim the key in the store with a lease. Claim won: run the tool, renewing the lease while
//!    it runs; record the output (or a marker) conditional on still holding the claim.
//! 4. Key finished: replay without running the tool; different arguments are refused (or, as
//!    an opt-in, replayed and flagged).
//! 5. Key in progress elsewhere: wait (polling the store with backoff) up to the timeout, or fail
//!    at once; a claim whose lease ran out (its holder died) is taken over.
//! 6. Any store failure before the tool runs is an error, and the tool does not run.
//!
//! # The model: a duplicate never runs twice
//!
//! **Time is the store's.** Whether a lease has ended or a result has expired is decided by the
//! store's clock (the server's for Redis and PostgreSQL, the store's own for the memory and redb
//! stores), never by a caller's: workers whose clocks disagree by minutes agree on every claim.
//! The executor's clock ([`Executor::with_clock`]) only feeds keys (time windows,
//! [`KeyInput::now`](crate::strategy::KeyInput::now)).
//!
//! **A lease detects a dead holder; it does not limit a run.** While the tool runs, the executor
//! renews its claim every third of the lease
//! ([`IdempotencyConfig::in_progress_ttl`](crate::spec::IdempotencyConfig::in_progress_ttl)),
//! fenced by the claim's token, so a tool may
//! run for hours as long as its process lives. When the process dies, renewals stop and the key
//! can be taken over once the lease ends. A holder that finds its claim lost on renewal logs it
//! and cannot record a result ([`ExecuteError::ClaimLost`]): a claim is never taken over while
//! its holder renews it.
//!
//! **An unknown outcome is never retried early.** Once the tool has started, the claim is given
//! back only when the tool itself returned an error under [`OnFailure::Release`]. If the tool
//! panics, returns an error under [`OnFailure::Unknown`] (a request that timed out), or the
//! caller's future is dropped while the tool runs (a timeout, a client that went away), nobody
//! knows whether it took effect: the record becomes an *unknown outcome*
//! ([`RecordState::Unknown`](crate::store::RecordState::Unknown)) until the result TTL, and
//! every later call with the key gets [`ExecuteError::OutcomeUnknown`] instead of running the
//! tool again. An operator who has checked what happened deletes the record
//! (`idem store ... delete`) to let the call run again. A panic is recorded first, then goes on
//! to the caller. A call dropped while its result is being recorded finishes recording it in the
//! background (on the Tokio runtime). What is left to the lease is a holder that dies with its
//! process: its claim is taken over after the lease, and the tool runs again (give the tool
//! the idem key, e.g. as an `Idempotency-Key` header, so that the remote side dedups too:
//! [`Executor::execute_keyed`] hands it to the tool).
//!
//! **Duplicates share the leader's fate.** Duplicates that joined a running call in this process
//! get its result, or its error ([`ExecuteError::Joined`], [`ExecuteError::OutcomeUnknown`]),
//! never a run of their own; the next call after them follows the failure policy.
//!
//! **Waiting outlives a dead holder.** The default wait
//! ([`IdempotencyConfig::DEFAULT_WAIT`](crate::spec::IdempotencyConfig::DEFAULT_WAIT), 45 s) is
//! longer than the default lease (30 s): a duplicate waiting on a holder that died takes the key
//! over. A wait that ends first says who holds the key and when it can be taken over
//! ([`Holder`]).
//!
//! **Mismatches are refused.** A duplicate whose arguments differ from the first call's gets
//! [`ExecuteError::ArgumentsMismatch`] unless the spec opts into replaying
//! ([`MismatchPolicy::Replay`](crate::spec::MismatchPolicy::Replay)).

mod call;
mod claim_guard;
mod error;
mod inflight;
mod input;
mod metrics;
mod on_failure;
mod outcome;
mod storable;
mod supervise;
mod telemetry;
mod token;

pub use error::{ExecuteError, Holder};
pub use input::ToolInput;
pub use metrics::MetricsSnapshot;
pub use on_failure::OnFailure;
pub use outcome::{Execution, Outcome};
pub use storable::StorableOutput;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;
use tracing::{Instrument, Span};

use crate::clock::{Clock, SystemClock};
use crate::context::Context;
use crate::error::KeyError;
use crate::key::{IdempotencyKey, KeyExplanation};
use crate::spec::ToolSpec;
use crate::store::{Store, UnixMillis};
use crate::strategy::KeyOptions;
use crate::strategy::Registry;
use call::Call;
use inflight::Flights;
use metrics::{Counter, Metrics};

/// Runs tools so that a duplicate never runs twice.
///
/// ```
/// use idem::executor::{Executor, Outcome};
/// use idem::spec::ToolSpec;
/// use idem::store::MemoryStore;
/// use idem::Context;
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
///
/// # Tracing
///
/// Every call runs in an `idem.execute` span (level `INFO`), named and shaped for the
/// OpenTelemetry semantic conventions for generative AI, so that an agent's trace shows it as
/// a tool execution:
///
/// | field | value |
/// |---|---|
/// | `gen_ai.operation.name` | `"execute_tool"` |
/// | `gen_ai.tool.name` | the tool's name ([`ToolSpec::name`]) |
/// | `otel.name` | `"execute_tool {gen_ai.tool.name}"`, the span name OpenTelemetry exporters use |
/// | `tool` | the tool id ([`ToolSpec::id`]) |
/// | `key` | the idempotency key, once computed (absent when idempotency is off or no key could be computed) |
/// | `idem.outcome` | how the call ended, recorded when it ends: [`Outcome::as_str`] (`executed`, `took_over`, `replayed`, `joined`, `not_idempotent`) or [`ExecuteError::kind`] (`tool_error`, `arguments_mismatch`, `outcome_unknown`, ...); absent if the call was dropped before it ended |
///
/// The key, which may be derived from a caller's data, is on spans only: the
/// [`metrics`](Executor::metrics) are plain counters, never labelled by key or tool.
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

    /// Reads the time keys need (windows, [`KeyInput::now`](crate::strategy::KeyInput::now)) from
    /// `clock`. Leases and TTLs are measured on the store's clock, not this one: to make them
    /// testable, give the store a clock too (e.g.
    /// [`MemoryStore::with_clock`](crate::store::MemoryStore::with_clock)).
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
        T: StorableOutput,
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
        T: StorableOutput,
        E: fmt::Display,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> OnFailure,
    {
        self.execute_keyed(spec, context, args, on_failure, |_| tool())
            .await
    }

    /// As [`execute_with`](Executor::execute_with), handing the tool the call's key (none when
    /// idempotency is off), for it to pass on: as an `Idempotency-Key` header, so that the remote
    /// side dedups too, or as a payment provider's idempotency key.
    ///
    /// ```
    /// use idem::executor::{Executor, OnFailure};
    /// use idem::spec::ToolSpec;
    /// use idem::store::MemoryStore;
    /// use idem::Context;
    /// use serde_json::json;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let executor = Executor::new(MemoryStore::new());
    /// let spec = ToolSpec::function("charge-v1", "charge").build().unwrap();
    /// let args = json!({"amount": 10});
    /// let policy = |_: &std::io::Error| OnFailure::Release;
    /// let sent = |key: Option<idem::IdempotencyKey>| async move {
    ///     // e.g. `request.header("Idempotency-Key", key.as_str())`
    ///     Ok::<_, std::io::Error>(key.map(|key| key.as_str().to_owned()))
    /// };
    /// let run = executor.execute_keyed(&spec, &Context::new(), &args, policy, sent).await.unwrap();
    /// assert_eq!(run.output.as_deref(), run.key.as_ref().map(|key| key.as_str()));
    /// # });
    /// ```
    ///
    /// # Errors
    /// See [`ExecuteError`].
    pub async fn execute_keyed<A, T, E, F, Fut, P>(
        &self,
        spec: &ToolSpec,
        context: &Context,
        args: &A,
        on_failure: P,
        tool: F,
    ) -> Result<Execution<T>, ExecuteError<E>>
    where
        A: ToolInput + ?Sized,
        T: StorableOutput,
        E: fmt::Display,
        F: FnOnce(Option<IdempotencyKey>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> OnFailure,
    {
        let span = telemetry::call_span(spec);
        let keyed = span.in_scope(|| self.key_call(spec, context, args));
        self.run_keyed(spec, span, keyed, on_failure, tool).await
    }

    /// As [`execute_with`](Executor::execute_with), for a tool that takes its arguments by
    /// value: the executor keys the call on `args`, then hands them to `tool` if it runs. For
    /// frameworks whose tools own their arguments (rig's `Tool::call`, an HTTP handler's body),
    /// so that the arguments need not be cloned.
    ///
    /// ```
    /// use idem::executor::{Executor, OnFailure, Outcome};
    /// use idem::spec::ToolSpec;
    /// use idem::store::MemoryStore;
    /// use idem::Context;
    /// use serde_json::{Value, json};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let executor = Executor::new(MemoryStore::new());
    /// let spec = ToolSpec::function("greet-v1", "greet").build().unwrap();
    /// // The tool owns its arguments.
    /// let greet = |args: Value| async move {
    ///     let name = args["name"].as_str().unwrap_or("stranger").to_owned();
    ///     Ok::<_, std::io::Error>(format!("hello, {name}"))
    /// };
    /// let release = |_: &std::io::Error| OnFailure::Release;
    /// let ctx = Context::new();
    /// let first = executor.execute_owned(&spec, &ctx, json!({"name": "Ada"}), release, greet).await.unwrap();
    /// let again = executor.execute_owned(&spec, &ctx, json!({"name": "Ada"}), release, greet).await.unwrap();
    /// assert_eq!(first.outcome, Outcome::Executed { took_over: false });
    /// assert_eq!(again.outcome, Outcome::Replayed { args_differ: false });
    /// assert_eq!(again.output, "hello, Ada");
    /// # });
    /// ```
    ///
    /// # Errors
    /// See [`ExecuteError`].
    pub async fn execute_owned<A, T, E, F, Fut, P>(
        &self,
        spec: &ToolSpec,
        context: &Context,
        args: A,
        on_failure: P,
        tool: F,
    ) -> Result<Execution<T>, ExecuteError<E>>
    where
        A: ToolInput,
        T: StorableOutput,
        E: fmt::Display,
        F: FnOnce(A) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> OnFailure,
    {
        let span = telemetry::call_span(spec);
        let keyed = span.in_scope(|| self.key_call(spec, context, &args));
        self.run_keyed(spec, span, keyed, on_failure, move |_| tool(args))
            .await
    }

    /// The call's key and fingerprint, or `None` when idempotency is off for the tool.
    fn key_call<A: ToolInput + ?Sized>(
        &self,
        spec: &ToolSpec,
        context: &Context,
        args: &A,
    ) -> Result<Option<(IdempotencyKey, String)>, KeyError> {
        if !spec.idempotency().is_enabled() {
            return Ok(None);
        }
        let key = args.idempotency_key(spec, context, &self.key_options())?;
        Ok(Some((key, args.fingerprint()?)))
    }

    /// Runs a keyed call (or, with idempotency off, the tool) in its span, and records how it
    /// ended.
    async fn run_keyed<T, E, F, Fut, P>(
        &self,
        spec: &ToolSpec,
        span: Span,
        keyed: Result<Option<(IdempotencyKey, String)>, KeyError>,
        on_failure: P,
        tool: F,
    ) -> Result<Execution<T>, ExecuteError<E>>
    where
        T: StorableOutput,
        E: fmt::Display,
        F: FnOnce(Option<IdempotencyKey>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> OnFailure,
    {
        let (key, fingerprint) = match keyed {
            Ok(Some(keyed)) => keyed,
            Ok(None) => {
                let output = tool(None).instrument(span.clone()).await;
                let result = output
                    .map(|output| (output, Outcome::NotIdempotent))
                    .map_err(ExecuteError::Tool);
                telemetry::record_outcome(&span, &result);
                self.count(&result, Counter::Execution);
                return result.map(|(output, outcome)| Execution {
                    output,
                    outcome,
                    key: None,
                });
            }
            Err(err) => {
                self.metrics.add(Counter::Error);
                let err = ExecuteError::Key(err);
                telemetry::record_error(&span, &err);
                return Err(err);
            }
        };
        telemetry::record_key(&span, key.as_str());
        let call = Call {
            executor: self,
            spec,
            key: &key,
            fingerprint: &fingerprint,
            started: Instant::now(),
            span: &span,
        };
        let result = call
            .run(on_failure, || tool(Some(key.clone())))
            .instrument(span.clone())
            .await;
        telemetry::record_outcome(&span, &result);
        match &result {
            Ok(execution) => tracing::debug!(
                parent: &span,
                outcome = execution.1.as_str(),
                "idem call done"
            ),
            Err(err) => {
                self.metrics.add(Counter::Error);
                tracing::debug!(parent: &span, error = %err, "idem call failed");
            }
        }
        result.map(|(output, outcome)| Execution {
            output,
            outcome,
            key: Some(key),
        })
    }

    /// The key [`execute`](Executor::execute) would give this call, and the canonical envelope
    /// it is the digest of (none for a custom key), on this executor's clock and registry. Runs
    /// nothing and reads no store: for finding out why two calls share a key, or do not.
    ///
    /// ```
    /// use idem::executor::Executor;
    /// use idem::spec::ToolSpec;
    /// use idem::store::MemoryStore;
    /// use idem::Context;
    /// use serde_json::json;
    ///
    /// let executor = Executor::new(MemoryStore::new());
    /// let spec = ToolSpec::function("search-v1", "search").build()?;
    /// let ctx = Context::new().with_user("alice");
    /// let why = executor.explain(&spec, &ctx, &json!({"query": "weather"}))?;
    /// assert_eq!(
    ///     why.canonical(),
    ///     Some(r#"{"args":{"query":"weather"},"session":null,"tool":"search-v1","user":"alice","v":1}"#)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The [`KeyError`] [`execute`](Executor::execute) would fail with.
    pub fn explain<A: ToolInput + ?Sized>(
        &self,
        spec: &ToolSpec,
        context: &Context,
        args: &A,
    ) -> Result<KeyExplanation, KeyError> {
        args.explain_key(spec, context, &self.key_options())
    }

    /// How this executor computes keys: its clock, and its registry if it has one.
    fn key_options(&self) -> KeyOptions<'_> {
        let options = KeyOptions::new().with_clock(&*self.clock);
        match &self.registry {
            Some(registry) => options.with_registry(registry),
            None => options,
        }
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
