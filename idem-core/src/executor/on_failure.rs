//! [`OnFailure`]: what a tool's error does to its claim.

#[cfg(doc)]
use super::ExecuteError;

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
    /// Record an unknown outcome until the TTL: the tool failed without knowing whether it took
    /// effect (a request that timed out may have run remotely). A retry gets
    /// [`ExecuteError::OutcomeUnknown`] without running the tool, as after a panic, until the
    /// record expires or an operator deletes it after checking what happened.
    Unknown,
}
