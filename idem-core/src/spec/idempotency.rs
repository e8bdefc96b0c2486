//! [`IdempotencyConfig`]: how a tool's duplicates are handled.

use std::time::Duration;

use crate::strategy::KeyFields;

/// What a call does when the same key is being executed elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InProgressPolicy {
    /// Wait for the other execution's result, up to `timeout`, then fail with
    /// [`ExecuteError::WaitTimedOut`](crate::executor::ExecuteError::WaitTimedOut). Duplicates in
    /// the same process share one execution without polling the store.
    Wait {
        /// How long to wait at most.
        timeout: Duration,
    },
    /// Fail at once with [`ExecuteError::InProgress`](crate::executor::ExecuteError::InProgress)
    /// while the key's tool runs. A duplicate racing, in the same process, a call that only
    /// claims and replays a finished one gets that replay instead.
    Fail,
}

/// What a duplicate does when its arguments differ from the first call's (same key, another
/// amount).
///
/// The default refuses: replaying one call's output to a call with other arguments hands a
/// caller a result that is not theirs (a second user reusing a transaction id would get the
/// first user's receipt). The fingerprint that tells them apart covers all the call's
/// arguments, not the caller: which callers share a key is the strategy's choice (the `fields`
/// strategy scopes keys by tenant, `default` by tenant, user and session), and a duplicate with
/// the same key and the same arguments is the same call, whoever sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MismatchPolicy {
    /// Replay the stored result, flag the mismatch in the outcome
    /// ([`Outcome::args_differ`](crate::executor::Outcome::args_differ)) and log a warning (the
    /// design document's behaviour; opt in where a key alone identifies the call).
    Replay,
    /// Refuse with [`ExecuteError::ArgumentsMismatch`](crate::executor::ExecuteError::ArgumentsMismatch),
    /// as Stripe and the IETF Idempotency-Key draft do (HTTP 422). The default.
    #[default]
    Reject,
}

/// The idempotency settings of a tool (the design document's `spec.idempotency`).
///
/// ```
/// use std::time::Duration;
/// use idem::spec::IdempotencyConfig;
///
/// let config = IdempotencyConfig::new()
///     .ttl(Duration::from_secs(24 * 3600))
///     .key_fields(["transaction_id"]);
/// assert!(config.is_enabled() && config.persists_result());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyConfig {
    pub(crate) enabled: bool,
    pub(crate) persist_result: bool,
    pub(crate) ttl: Duration,
    pub(crate) key_fields: Option<KeyFields>,
    pub(crate) in_progress_ttl: Duration,
    pub(crate) on_in_progress: InProgressPolicy,
    pub(crate) on_mismatch: MismatchPolicy,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            persist_result: true,
            ttl: Self::DEFAULT_TTL,
            key_fields: None,
            in_progress_ttl: Self::DEFAULT_LEASE,
            on_in_progress: InProgressPolicy::Wait {
                timeout: Self::DEFAULT_WAIT,
            },
            on_mismatch: MismatchPolicy::Reject,
        }
    }
}

impl IdempotencyConfig {
    /// How long a result is kept by default: 24 hours.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
    /// How long a claim holds by default without a renewal before another caller may take it
    /// over: 30 seconds. The executor renews it every third of the lease while the tool runs, so
    /// this is how long a crashed holder keeps the key, not a limit on the tool's run time.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
    /// How long a duplicate waits by default for a running execution: 45 seconds, longer than
    /// [`DEFAULT_LEASE`](Self::DEFAULT_LEASE), so that a duplicate waiting on a holder that died
    /// outlives its lease and takes the key over.
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(45);

    /// Enabled, results kept for 24 hours, 30 s leases (renewed while the tool runs), duplicates
    /// wait up to 45 s, different arguments under a key refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Idempotency off: every call runs.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Turns idempotency on or off.
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Whether to keep the tool's output for replays (`true`), or only a marker that it ran.
    #[must_use]
    pub fn persist_result(mut self, persist: bool) -> Self {
        self.persist_result = persist;
        self
    }

    /// How long a result (or marker) is kept.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Key fields that override the ones the arguments declare.
    #[must_use]
    pub fn key_fields(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let fields = KeyFields::unchecked(names);
        self.key_fields = (!fields.is_empty()).then_some(fields);
        self
    }

    /// How long a claim holds without a renewal before another caller may take it over (crash
    /// recovery). The executor renews the claim every third of the lease while the tool runs,
    /// so a tool may run longer than its lease as long as its process lives; a shorter lease
    /// detects a dead holder sooner, at the cost of more renewals. Keep the wait of
    /// [`on_in_progress`](Self::on_in_progress) above it, so that a waiting duplicate outlives a
    /// dead holder's lease.
    #[must_use]
    pub fn in_progress_ttl(mut self, lease: Duration) -> Self {
        self.in_progress_ttl = lease;
        self
    }

    /// What a duplicate does while the key runs elsewhere.
    #[must_use]
    pub fn on_in_progress(mut self, policy: InProgressPolicy) -> Self {
        self.on_in_progress = policy;
        self
    }

    /// What a duplicate does when its arguments differ from the first call's.
    #[must_use]
    pub fn on_mismatch(mut self, policy: MismatchPolicy) -> Self {
        self.on_mismatch = policy;
        self
    }

    /// Whether idempotency is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether outputs are kept.
    pub fn persists_result(&self) -> bool {
        self.persist_result
    }

    /// The result TTL.
    pub fn result_ttl(&self) -> Duration {
        self.ttl
    }

    /// The configured key fields.
    pub fn configured_key_fields(&self) -> Option<&KeyFields> {
        self.key_fields.as_ref()
    }

    /// The lease of a claim.
    pub fn lease(&self) -> Duration {
        self.in_progress_ttl
    }

    /// The in-progress policy.
    pub fn in_progress_policy(&self) -> InProgressPolicy {
        self.on_in_progress
    }

    /// The mismatch policy.
    pub fn mismatch_policy(&self) -> MismatchPolicy {
        self.on_mismatch
    }
}
