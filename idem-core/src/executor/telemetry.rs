//! The `idem.execute` span every call runs in, and the names of how calls end.
//!
//! The span follows the OpenTelemetry semantic conventions for generative AI
//! (`gen_ai.operation.name = "execute_tool"`, `gen_ai.tool.name`), so that a tool call made
//! through idem shows up in an agent's trace as the tool execution it is; idem's own fields
//! (`tool`, `key`, `idem.outcome`) say which record it was and how it ended.

use tracing::Span;
use tracing::field::Empty;

use super::error::ExecuteError;
use super::outcome::Outcome;
use crate::spec::ToolSpec;

/// The GenAI operation name of a tool call.
const EXECUTE_TOOL: &str = "execute_tool";

/// A new `idem.execute` span for a call to `spec`'s tool; `key` and `idem.outcome` are recorded
/// later, when known.
pub(super) fn call_span(spec: &ToolSpec) -> Span {
    tracing::info_span!(
        "idem.execute",
        // OpenTelemetry exporters (tracing-opentelemetry) name the span after this field: the
        // GenAI conventions name a tool execution `execute_tool {gen_ai.tool.name}`.
        otel.name = format_args!("{EXECUTE_TOOL} {}", spec.name()),
        gen_ai.operation.name = EXECUTE_TOOL,
        gen_ai.tool.name = spec.name(),
        tool = spec.id(),
        key = Empty,
        idem.outcome = Empty,
    )
}

/// Records the call's key on its span.
pub(super) fn record_key(span: &Span, key: &str) {
    span.record("key", key);
}

/// Records how the call ended on its span: [`Outcome::as_str`] or [`ExecuteError::kind`].
pub(super) fn record_outcome<T, E>(span: &Span, result: &Result<(T, Outcome), ExecuteError<E>>) {
    match result {
        Ok((_, outcome)) => {
            span.record("idem.outcome", outcome.as_str());
        }
        Err(err) => record_error(span, err),
    }
}

/// Records on its span that the call ended in `err`.
pub(super) fn record_error<E>(span: &Span, err: &ExecuteError<E>) {
    span.record("idem.outcome", err.kind());
}
