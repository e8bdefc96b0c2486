//! One idempotent tool call: arguments -> key -> executor -> the answer a client gets.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use idem_core::executor::OnFailure;
use idem_core::spec::ToolSpec;
use idem_core::{Context, IdempotencyKey, Idempotent};
use rmcp::RoleServer;
use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, ErrorCode, ErrorData, JsonObject,
};
use rmcp::service::RequestContext;
use serde::de::DeserializeOwned;

use crate::caller_key::{self, CallerKeyed};
use crate::error::ErrorKind;
use crate::failure::ToolFailure;
use crate::idempotency::Idempotency;
use crate::respond::respond;

/// What a call needs from its request before the tool takes the request over.
pub(crate) struct Caller {
    context: Context,
    key: Option<IdempotencyKey>,
}

impl Idempotency {
    /// The caller of `request`: its context, and its own key if it sent one.
    ///
    /// # Errors
    /// The context mapping's error, or an invalid caller key.
    pub(crate) fn caller(&self, request: &RequestContext<RoleServer>) -> Result<Caller, ErrorData> {
        let context = (self.context)(request)?;
        let key = caller_key::from_meta(&request.meta, &context)?;
        Ok(Caller { context, key })
    }
}

/// The arguments as `T`, and the JSON object given back for the tool to read; or the tool error
/// rmcp gives arguments that do not deserialize (no key is claimed for them).
// The error is the answer itself, made once per refused call: boxing it would only move it
// (and its size depends on serde_json's features, `preserve_order` making maps larger).
#[allow(clippy::result_large_err)]
pub(crate) fn parse_arguments<T: DeserializeOwned>(
    arguments: Option<JsonObject>,
) -> Result<(T, Option<JsonObject>), CallToolResult> {
    let had_arguments = arguments.is_some();
    let object = arguments.unwrap_or_default();
    let args = T::deserialize(&object).map_err(|err| {
        CallToolResult::error(vec![ContentBlock::text(format!(
            "failed to deserialize parameters: {err}"
        ))])
    })?;
    Ok((args, had_arguments.then_some(object)))
}

/// Runs `tool` for this call through the executor, unless a duplicate ran or runs it; answers as
/// the [crate documentation](crate) says. The call stops when `cancelled` completes first: a tool
/// that had started then has an unknown outcome.
pub(crate) async fn call<T, F, Fut>(
    idem: &Idempotency,
    spec: &ToolSpec,
    caller: Caller,
    args: T,
    cancelled: impl Future<Output = ()>,
    tool: F,
) -> Result<CallToolResponse, ErrorData>
where
    T: Idempotent,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<CallToolResponse, ErrorData>>,
{
    let policy = |failure: &ToolFailure| match failure.as_failure() {
        Some(failure) => (idem.on_failure)(&failure),
        None => OnFailure::Release,
    };
    let run = || async move { ToolFailure::classify(tool().await) };
    let executor = &idem.executor;
    // Boxed at once: the executor's future is large, and moving it into the wrappers below (and
    // the caller's boxed future) would copy it each time.
    let keyed = CallerKeyed {
        key: caller.key.as_ref(),
        args: &args,
    };
    let execution = Box::pin(executor.execute_with(spec, &caller.context, &keyed, policy, run));
    // The executor records a panic as an unknown outcome before it goes on: answer the client
    // (rmcp would leave the request without a response) instead of ending the request's task.
    let execution = AssertUnwindSafe(execution).catch_unwind();
    tokio::select! {
        biased;
        answer = execution => match answer {
            Ok(result) => respond(result),
            Err(panic) => Ok(panicked(&*panic).into()),
        },
        () = cancelled => Err(ErrorKind::Cancelled.mcp_error(
            ErrorCode::INTERNAL_ERROR,
            "idem: the request was cancelled; if the tool had started, whether it took effect is \
             unknown and it will not run again until its record expires or is deleted",
        )),
    }
}

/// The tool error of a call whose tool panicked.
fn panicked(panic: &(dyn Any + Send)) -> CallToolResult {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    ErrorKind::OutcomeUnknown.tool_error(format!(
        "idem: the tool panicked ({message}); whether it took effect is unknown, and it will not \
         run again until its record expires or is deleted after checking what happened"
    ))
}
