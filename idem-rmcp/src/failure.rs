//! [`Failure`]: how a tool call failed, for the failure policy; and how a failure is kept so
//! that a retry or a duplicate gets the same answer.

use std::fmt;

use rmcp::model::{CallToolResponse, CallToolResult, ErrorData};
use serde::{Deserialize, Serialize};

/// How a tool call failed, as the failure policy
/// ([`Idempotency::with_on_failure`](crate::Idempotency::with_on_failure)) sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// The tool answered with a tool error (`isError: true`).
    ToolError(&'a CallToolResult),
    /// The tool answered with an MCP (protocol) error.
    McpError(&'a ErrorData),
}

/// A call that did not complete with a result to keep: what the executor sees as the tool's
/// error.
///
/// Its `Display` is the JSON idem keeps for a remembered failure and shares with the duplicates
/// that joined the call ([`Recorded`]), so that they answer exactly as the call did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ToolFailure {
    /// A tool error, kept or released as the policy says.
    ToolError(CallToolResult),
    /// An MCP error, kept or released as the policy says.
    McpError(ErrorData),
    /// The tool asked the client for input, or answered with a task: not a completed call, so
    /// its claim is always released (the retry that brings the input runs it). Never kept, so
    /// never written as JSON.
    #[serde(skip)]
    Incomplete(Box<CallToolResponse>),
}

impl ToolFailure {
    /// The call's answer: `Ok(result)` for a completed call, its failure otherwise.
    // The failure is the answer itself (see `call::parse_arguments`).
    #[allow(clippy::result_large_err)]
    pub(crate) fn classify(
        response: Result<CallToolResponse, ErrorData>,
    ) -> Result<CallToolResult, ToolFailure> {
        match response {
            Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => {
                Err(ToolFailure::ToolError(result))
            }
            Ok(CallToolResponse::Complete(result)) => Ok(result),
            Ok(other) => Err(ToolFailure::Incomplete(Box::new(other))),
            Err(error) => Err(ToolFailure::McpError(error)),
        }
    }

    /// What the policy sees; `None` for an incomplete call (always released).
    pub(crate) fn as_failure(&self) -> Option<Failure<'_>> {
        match self {
            ToolFailure::ToolError(result) => Some(Failure::ToolError(result)),
            ToolFailure::McpError(error) => Some(Failure::McpError(error)),
            ToolFailure::Incomplete(_) => None,
        }
    }

    /// The answer this call gives: the tool's own, unchanged.
    pub(crate) fn into_response(self) -> Result<CallToolResponse, ErrorData> {
        match self {
            ToolFailure::ToolError(result) => Ok(result.into()),
            ToolFailure::McpError(error) => Err(error),
            ToolFailure::Incomplete(response) => Ok(*response),
        }
    }
}

/// A failure as idem keeps it: `{"toolError": <CallToolResult>}` or `{"mcpError": <ErrorData>}`,
/// as [`ToolFailure`] writes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Recorded {
    ToolError(CallToolResult),
    McpError(ErrorData),
}

impl Recorded {
    /// The failure kept in `message`, when idem kept it.
    pub(crate) fn parse(message: &str) -> Option<Recorded> {
        serde_json::from_str(message).ok()
    }
}

impl fmt::Display for ToolFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ToolFailure::Incomplete(_) = self {
            return f.write_str(
                "the tool did not complete the call (it asked for input, or answered with a task)",
            );
        }
        match serde_json::to_string(self) {
            Ok(json) => f.write_str(&json),
            Err(err) => write!(
                f,
                "the tool failed (its answer could not be written: {err})"
            ),
        }
    }
}
