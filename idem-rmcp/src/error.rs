//! [`WrapError`] (registering an idempotent tool failed) and [`ErrorKind`] (what idem tells a
//! client it refused or failed at).

use std::borrow::Cow;

use idem_core::spec::SpecError;
use rmcp::model::{CallToolResult, ContentBlock, ErrorCode, ErrorData};

use crate::meta;

/// Why a tool could not be made idempotent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WrapError {
    /// The router has no tool of the name the arguments type declares.
    #[error(
        "the router has no tool `{name}` to make idempotent (its tools: {available}); name the \
         arguments type's tool as rmcp does, with #[idem(name = \"...\")] or a spec of that name"
    )]
    NoSuchTool {
        /// The name looked for: the spec's [`name`](idem_core::spec::ToolSpec::name).
        name: String,
        /// The router's tools, comma-separated.
        available: String,
    },
    /// The tool's spec is not valid.
    #[error("the idempotent tool's spec is not valid: {0}")]
    Spec(#[from] SpecError),
}

/// What idem refused or failed at, as a client sees it in `_meta` [`dev.idem/error`](meta::ERROR)
/// of a tool error, or in the `data` of an MCP error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Tool error: the arguments' idempotency key could not be computed (a key field empty, a
    /// value with no canonical form). The tool did not run.
    Key,
    /// MCP error (invalid params): the caller's `_meta` key is not a valid key. The tool did not
    /// run.
    InvalidKey,
    /// Tool error: the key was first used with other arguments, and the tool refuses that
    /// ([`MismatchPolicy::Reject`](idem_core::spec::MismatchPolicy::Reject)). The tool did not
    /// run.
    ArgumentsMismatch,
    /// Tool error: an earlier call with the key may or may not have taken effect (it panicked,
    /// or its request was cancelled while the tool ran). It will not run again until its record
    /// expires or an operator deletes it.
    OutcomeUnknown,
    /// Tool error: the call is running elsewhere and the tool does not wait (or the wait ran
    /// out). Retrying later replays its result.
    InProgress,
    /// MCP error (internal): the store failed before the tool ran. The tool did not run; a retry
    /// is safe.
    Store,
    /// MCP error (internal): the tool ran but its result could not be recorded.
    NotRecorded,
    /// MCP error (internal): a stored result could not be read back, or a result could not be
    /// stored.
    Output,
    /// MCP error (internal): the request was cancelled; if the tool had started, its outcome is
    /// unknown (see [`OutcomeUnknown`](ErrorKind::OutcomeUnknown)).
    Cancelled,
    /// MCP error (internal): another failure of idem.
    Internal,
}

impl ErrorKind {
    /// The word written under [`dev.idem/error`](meta::ERROR).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Key => "key",
            ErrorKind::InvalidKey => "invalidKey",
            ErrorKind::ArgumentsMismatch => "argumentsMismatch",
            ErrorKind::OutcomeUnknown => "outcomeUnknown",
            ErrorKind::InProgress => "inProgress",
            ErrorKind::Store => "store",
            ErrorKind::NotRecorded => "notRecorded",
            ErrorKind::Output => "output",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Internal => "internal",
        }
    }

    /// A tool error (`isError: true`) with `message`, marked with this kind.
    pub(crate) fn tool_error(self, message: impl Into<String>) -> CallToolResult {
        let mut result = CallToolResult::error(vec![ContentBlock::text(message)]);
        meta::mark(&mut result, meta::ERROR, self.as_str());
        result
    }

    /// An MCP error with `code` and `message`, marked with this kind in its `data`.
    pub(crate) fn mcp_error(
        self,
        code: ErrorCode,
        message: impl Into<Cow<'static, str>>,
    ) -> ErrorData {
        let mut error = ErrorData::new(code, message, None);
        meta::mark_error(&mut error, meta::ERROR, self.as_str());
        error
    }
}
