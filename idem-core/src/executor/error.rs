//! [`ExecuteError`]: why a call did not produce an output.

use std::time::Duration;

use crate::error::KeyError;
use crate::store::{StoreError, UnixMillis};

/// Why [`Executor::execute`](super::Executor::execute) returned no output.
///
/// Unless a variant says otherwise, the tool did not run: idem fails closed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError<E> {
    /// The tool ran and failed. Its claim was released (a retry runs it again), unless the
    /// failure policy remembered the error ([`OnFailure::Remember`](super::OnFailure::Remember):
    /// a retry gets [`PreviouslyFailed`](Self::PreviouslyFailed)) or recorded an unknown outcome
    /// ([`OnFailure::Unknown`](super::OnFailure::Unknown): a retry gets
    /// [`OutcomeUnknown`](Self::OutcomeUnknown)).
    #[error("the tool failed: {0}")]
    Tool(#[source] E),
    /// The key could not be computed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The store failed before the tool ran: the tool did not run. When the store became
    /// unavailable while claiming, the claim may have landed; the executor then releases it in
    /// the background as soon as the store answers, and until then (at most for the lease) a
    /// retry finds the key in progress.
    #[error("the store failed, the tool did not run: {0}")]
    Store(#[source] StoreError),
    /// The tool ran and succeeded, but its result could not be recorded. The executor keeps
    /// trying to record it in the background while the claim's lease lasts; if the store stays
    /// down longer, a retry after the lease runs the tool again.
    #[error("the tool ran but its result for key `{key}` could not be recorded: {source}")]
    NotRecorded {
        /// The key.
        key: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The tool ran, but its claim was gone when its result was to be recorded: the result was
    /// not recorded, and whatever record is there now stands. The claim could not be renewed
    /// (the store was unreachable for longer than the lease, or the holder's process stalled),
    /// and another caller took the key over; or an operator deleted the record.
    #[error(
        "the tool ran but the claim on key `{key}` was lost before its result was recorded: \
         another caller took the key over after the claim could not be renewed within its lease, \
         or the record was deleted; the result was not recorded"
    )]
    ClaimLost {
        /// The key.
        key: String,
    },
    /// Whether the call with this key took effect is unknown: an earlier run panicked, failed
    /// under [`OnFailure::Unknown`](super::OnFailure::Unknown), or its caller stopped waiting (its
    /// future was dropped) while the tool ran. idem does not run it
    /// again until the record expires, or an operator deletes it after checking what happened
    /// (`idem store ... delete`).
    #[error(
        "the call with key `{key}` may or may not have taken effect ({reason}); it will not run \
         again until its record expires at about {expires_at} (ms since the Unix epoch) or is \
         deleted after checking what happened"
    )]
    OutcomeUnknown {
        /// The key.
        key: String,
        /// Why the outcome is unknown.
        reason: String,
        /// When the record expires: as the store recorded it (on the store's clock), or, for the
        /// call whose tool ran and the duplicates that joined it, estimated on the executor's
        /// clock.
        expires_at: UnixMillis,
    },
    /// This call joined a duplicate running in the same process (the same call), and that run
    /// failed: this call shares its fate instead of running the tool again. The next call
    /// after them runs or replays as the failure policy says.
    #[error("the call with key `{key}` that this duplicate joined failed: {error}")]
    Joined {
        /// The key.
        key: String,
        /// The failure of the run this call joined.
        error: String,
    },
    /// A duplicate whose arguments differ from the first call's, refused by
    /// [`MismatchPolicy::Reject`](crate::spec::MismatchPolicy::Reject).
    #[error(
        "key `{key}` was first used with other arguments; a retry must send the same arguments"
    )]
    ArgumentsMismatch {
        /// The key.
        key: String,
    },
    /// The key already ran, and only a marker was kept (`persist_result = false`): there is no
    /// output to replay.
    #[error(
        "the call with key `{key}` already ran; its output was not kept (persist_result is off)"
    )]
    AlreadyRan {
        /// The key.
        key: String,
    },
    /// The key already ran and failed with an error that was remembered as permanent.
    #[error("the call with key `{key}` already failed: {error}")]
    PreviouslyFailed {
        /// The key.
        key: String,
        /// The remembered error message.
        error: String,
    },
    /// The key is running elsewhere and the policy is not to wait.
    #[error("the call with key `{key}` is already in progress")]
    InProgress {
        /// The key.
        key: String,
    },
    /// The key was running elsewhere for longer than the wait timeout.
    #[error("gave up waiting for the call with key `{key}` after {waited:?}: {holder}")]
    WaitTimedOut {
        /// The key.
        key: String,
        /// How long the call waited.
        waited: Duration,
        /// Who holds the key, and when it can be taken over.
        holder: Holder,
    },
    /// The output could not be serialized, or a stored output could not be read back as the
    /// output type. When serializing failed the tool ran; its claim was released.
    #[error("the output for key `{key}` could not be {action}: {source}")]
    Output {
        /// The key.
        key: String,
        /// `"serialized"` or `"deserialized"`.
        action: &'static str,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
}

impl<E> ExecuteError<E> {
    /// A stable snake-case name for the variant, as recorded in the `idem.outcome` field of the
    /// call's span: `"tool_error"`, `"key_error"`, `"store_error"`, `"not_recorded"`,
    /// `"claim_lost"`, `"outcome_unknown"`, `"joined_failed"`, `"arguments_mismatch"`,
    /// `"already_ran"`, `"previously_failed"`, `"in_progress"`, `"wait_timed_out"` or
    /// `"output_error"`.
    ///
    /// ```
    /// use idem::executor::ExecuteError;
    ///
    /// let err: ExecuteError<std::io::Error> = ExecuteError::InProgress { key: "k".into() };
    /// assert_eq!(err.kind(), "in_progress");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            ExecuteError::Tool(_) => "tool_error",
            ExecuteError::Key(_) => "key_error",
            ExecuteError::Store(_) => "store_error",
            ExecuteError::NotRecorded { .. } => "not_recorded",
            ExecuteError::ClaimLost { .. } => "claim_lost",
            ExecuteError::OutcomeUnknown { .. } => "outcome_unknown",
            ExecuteError::Joined { .. } => "joined_failed",
            ExecuteError::ArgumentsMismatch { .. } => "arguments_mismatch",
            ExecuteError::AlreadyRan { .. } => "already_ran",
            ExecuteError::PreviouslyFailed { .. } => "previously_failed",
            ExecuteError::InProgress { .. } => "in_progress",
            ExecuteError::WaitTimedOut { .. } => "wait_timed_out",
            ExecuteError::Output { .. } => "output_error",
        }
    }
}

/// Who held a key when a wait for it ended: what a [`ExecuteError::WaitTimedOut`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Holder {
    /// A duplicate in this process is still running it.
    ThisProcess,
    /// Another caller holds a claim on it, renewed while its tool runs. If that caller is
    /// gone, the claim can be taken over once its lease ends.
    Claim {
        /// When the claim's lease ends as last seen, unless it is renewed (ms since the Unix
        /// epoch, on the clock of the store, or of the claimer for stores that keep the lease
        /// elsewhere).
        lease_until: UnixMillis,
    },
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::ThisProcess => f.write_str("a duplicate in this process is still running it"),
            Holder::Claim { lease_until } => write!(
                f,
                "another caller still holds it; if that caller is gone, the key can be taken \
                 over once its lease ends at {lease_until} (ms since the Unix epoch) unless it \
                 is renewed; wait longer than the lease to take it over"
            ),
        }
    }
}
