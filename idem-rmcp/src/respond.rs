//! What a client gets: the executor's answer as a tool result, a tool error or an MCP error.

use idem_core::executor::{ExecuteError, Execution};
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, ErrorCode, ErrorData};

use crate::error::ErrorKind;
use crate::failure::{Recorded, ToolFailure};
use crate::meta;

/// The answer to a call the executor handled.
///
/// A result the tool produced for this call is returned as it is; one produced for an earlier
/// or concurrent call is marked [`dev.idem/replayed`](meta::REPLAYED) (and
/// [`dev.idem/argumentsDiffer`](meta::ARGUMENTS_DIFFER) when the arguments differ).
pub(crate) fn respond(
    result: Result<Execution<CallToolResult>, ExecuteError<ToolFailure>>,
) -> Result<CallToolResponse, ErrorData> {
    match result {
        Ok(Execution {
            mut output,
            outcome,
            ..
        }) => {
            if !outcome.executed() {
                meta::mark(&mut output, meta::REPLAYED, true);
                if outcome.args_differ() {
                    meta::mark(&mut output, meta::ARGUMENTS_DIFFER, true);
                }
            }
            Ok(output.into())
        }
        Err(error) => refuse(error),
    }
}

/// The answer to a call the executor did not complete.
fn refuse(error: ExecuteError<ToolFailure>) -> Result<CallToolResponse, ErrorData> {
    // The tool's own answer, as it gave it (its message is never needed: not built).
    let error = match error {
        ExecuteError::Tool(failure) => return failure.into_response(),
        error => error,
    };
    let message = error.to_string();
    let tool_error = |kind: ErrorKind| Ok(kind.tool_error(format!("idem: {message}")).into());
    let internal =
        |kind: ErrorKind| Err(kind.mcp_error(ErrorCode::INTERNAL_ERROR, message.clone()));
    match error {
        // Answered above.
        ExecuteError::Tool(failure) => failure.into_response(),
        // A remembered failure, or the failure of the run this duplicate joined: the same
        // answer, marked as not this call's own.
        ExecuteError::PreviouslyFailed { error, .. } | ExecuteError::Joined { error, .. } => {
            replay_failure(&error, &message)
        }
        ExecuteError::Key(_) => tool_error(ErrorKind::Key),
        ExecuteError::ArgumentsMismatch { .. } => {
            let mut result = ErrorKind::ArgumentsMismatch.tool_error(format!("idem: {message}"));
            meta::mark(&mut result, meta::ARGUMENTS_DIFFER, true);
            Ok(result.into())
        }
        ExecuteError::OutcomeUnknown { .. } => tool_error(ErrorKind::OutcomeUnknown),
        ExecuteError::InProgress { .. } | ExecuteError::WaitTimedOut { .. } => {
            tool_error(ErrorKind::InProgress)
        }
        // The call ran and only a marker was kept: it succeeded once, there is no output to
        // give. Not an error, or a client might run it again under another key.
        ExecuteError::AlreadyRan { .. } => {
            let mut result =
                CallToolResult::success(vec![ContentBlock::text(format!("idem: {message}"))]);
            meta::mark(&mut result, meta::REPLAYED, true);
            Ok(result.into())
        }
        ExecuteError::Store(_) => internal(ErrorKind::Store),
        ExecuteError::NotRecorded { .. } | ExecuteError::ClaimLost { .. } => {
            internal(ErrorKind::NotRecorded)
        }
        ExecuteError::Output { .. } => internal(ErrorKind::Output),
        _ => internal(ErrorKind::Internal),
    }
}

/// The answer kept for a failed call, marked replayed; a tool error with `message` when the
/// failure was not kept by this adapter.
fn replay_failure(recorded: &str, message: &str) -> Result<CallToolResponse, ErrorData> {
    match Recorded::parse(recorded) {
        Some(Recorded::ToolError(mut result)) => {
            meta::mark(&mut result, meta::REPLAYED, true);
            Ok(result.into())
        }
        Some(Recorded::McpError(mut error)) => {
            meta::mark_error(&mut error, meta::REPLAYED, true);
            Err(error)
        }
        None => {
            let mut result =
                CallToolResult::error(vec![ContentBlock::text(format!("idem: {message}"))]);
            meta::mark(&mut result, meta::REPLAYED, true);
            Ok(result.into())
        }
    }
}
