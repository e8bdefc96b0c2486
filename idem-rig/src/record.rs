//! [`IdemCall`]: what happened to a call, for the host that dispatched it.

use idem_core::executor::{ExecuteError, Execution};
use rig_core::tool::ContextValue;
use serde::{Deserialize, Serialize};

/// What idem did with a call, published in the result metadata of rig's
/// [`ToolContext`](rig_core::tool::ToolContext) after every call (read it with
/// `context.result::<IdemCall>()`). Host-only: rig never sends result metadata to the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdemCall {
    /// How the call ended: [`Outcome::as_str`](idem_core::executor::Outcome::as_str)
    /// (`"executed"`, `"replayed"`, `"joined"`, ...) or
    /// [`ExecuteError::kind`] (`"tool_error"`, `"arguments_mismatch"`, ...).
    pub outcome: String,
    /// Whether this call's arguments differ from those of the call whose output it got.
    pub args_differ: bool,
    /// The idempotency key, when one was computed and the call succeeded (`None` with
    /// idempotency off).
    pub key: Option<String>,
}

impl ContextValue for IdemCall {
    const KEY: &'static str = "idem";
}

impl IdemCall {
    pub(crate) fn from_execution<T>(execution: &Execution<T>) -> Self {
        IdemCall {
            outcome: execution.outcome.as_str().to_owned(),
            args_differ: execution.outcome.args_differ(),
            key: execution.key.as_ref().map(|key| key.as_str().to_owned()),
        }
    }

    pub(crate) fn from_error<E>(error: &ExecuteError<E>) -> Self {
        IdemCall {
            outcome: error.kind().to_owned(),
            args_differ: false,
            key: None,
        }
    }

    /// Whether the tool ran for this call and returned an output.
    pub fn executed(&self) -> bool {
        matches!(
            self.outcome.as_str(),
            "executed" | "took_over" | "not_idempotent"
        )
    }

    /// Whether the output was replayed from an earlier call (from the store, or shared with a
    /// duplicate running at the same time) instead of running the tool.
    pub fn replayed(&self) -> bool {
        matches!(self.outcome.as_str(), "replayed" | "joined")
    }
}
