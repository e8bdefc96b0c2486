//! [`ExecuteError`]: why a call did not produce an output.

use std::time::Duration;

use crate::error::KeyError;
use crate::store::StoreError;

/// Why [`Executor::execute`](super::Executor::execute) returned no output.
///
/// Unless a variant says otherwise, the tool did not run: idem fails closed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError<E> {
    /// The tool ran and failed. Its claim was released (a retry runs it again), unless the
    /// failure policy remembered the error.
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
    /// The tool ran and succeeded, but its result could not be recorded. A retry may run it again
    /// once the claim's lease has run out.
    #[error("the tool ran but its result for key `{key}` could not be recorded: {source}")]
    NotRecorded {
        /// The key.
        key: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The tool ran, but its claim's lease ran out and another caller took the key over: the
    /// result was not recorded, the newer record stands.
    #[error(
        "the tool ran but the claim on key `{key}` was lost: its lease ran out and another caller \
         took it over; raise the in-progress TTL above the tool's longest run"
    )]
    ClaimLost {
        /// The key.
        key: String,
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
    #[error("gave up waiting for the call with key `{key}` after {waited:?}")]
    WaitTimedOut {
        /// The key.
        key: String,
        /// How long the call waited.
        waited: Duration,
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
