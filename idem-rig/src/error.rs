//! How an idem error reaches rig: a [`ToolExecutionError`] with a kind, a retry hint, a code and
//! feedback the model can act on.

use idem_core::executor::ExecuteError;
use rig_core::tool::{ToolErrorKind, ToolExecutionError};

/// The rig error for an idem error other than the tool's own
/// ([`ExecuteError::Tool`] keeps the tool's [`Tool::map_error`](rig_core::tool::Tool::map_error)).
///
/// The operator sees idem's message (with the key) and the [`ExecuteError`] as the source; the
/// model sees a sentence without the key that says what to do next. The code is
/// `idem.<kind>` ([`ExecuteError::kind`]). `key_fields` are the arguments that identify a call,
/// named in the feedback on a mismatch.
pub(crate) fn tool_error<E>(error: ExecuteError<E>, key_fields: &[&str]) -> ToolExecutionError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let (kind, retryable, feedback) = classify(&error, key_fields);
    let mapped = ToolExecutionError::new(kind, error.to_string())
        .with_model_feedback(feedback)
        .with_code(format!("idem.{}", error.kind()));
    match retryable {
        Some(retryable) => mapped.with_retryable(retryable),
        None => mapped,
    }
    .with_source(error)
}

/// The kind, the retry hint (`None`: the kind's default) and the model's feedback.
fn classify<E>(
    error: &ExecuteError<E>,
    key_fields: &[&str],
) -> (ToolErrorKind, Option<bool>, String) {
    use ToolErrorKind::{InvalidArgs, Other, Timeout};
    let (kind, retryable, feedback): (_, _, &str) = match error {
        ExecuteError::Key(err) => {
            let feedback = format!("the arguments do not identify this call: {err}");
            return (InvalidArgs, Some(false), feedback);
        }
        ExecuteError::ArgumentsMismatch { .. } => {
            return (InvalidArgs, Some(false), mismatch_feedback(key_fields));
        }
        ExecuteError::InProgress { .. } => (
            Other,
            Some(true),
            "the same call is already running; try again shortly",
        ),
        ExecuteError::WaitTimedOut { .. } => (
            Timeout,
            Some(true),
            "the same call is still running elsewhere; try again later",
        ),
        ExecuteError::OutcomeUnknown { .. } => (
            Other,
            Some(false),
            "an earlier attempt of this same call was interrupted and may or may not have taken \
             effect; it will not run again until someone checks what happened",
        ),
        ExecuteError::PreviouslyFailed { .. } => (
            Other,
            Some(false),
            "this same call already failed, and the failure is final: it will not run again",
        ),
        ExecuteError::AlreadyRan { .. } => (
            Other,
            Some(false),
            "this same call already ran; its result was not kept, so it cannot be shown again",
        ),
        ExecuteError::Joined { .. } => {
            (Other, None, "the same call, made at the same time, failed")
        }
        ExecuteError::Store(_) => (
            Other,
            Some(true),
            "the tool is unavailable for a moment and did not run; try again shortly",
        ),
        ExecuteError::NotRecorded { .. } | ExecuteError::ClaimLost { .. } => (
            Other,
            Some(false),
            "the tool ran, but its result could not be recorded; do not repeat the call",
        ),
        ExecuteError::Output { .. } => (
            Other,
            Some(false),
            "the tool's result could not be stored or read back",
        ),
        // The tool's own errors are mapped by the tool; anything newer is a plain failure.
        _ => (Other, None, "the tool failed"),
    };
    (kind, retryable, feedback.to_owned())
}

/// What the model is told when it reused a call's identity with other arguments.
fn mismatch_feedback(key_fields: &[&str]) -> String {
    const REPEAT: &str = "repeat that call's arguments exactly to get its result";
    if key_fields.is_empty() {
        return format!("an earlier call with the same identity had other arguments: {REPEAT}");
    }
    let names: Vec<String> = key_fields.iter().map(|name| format!("`{name}`")).collect();
    let names = names.join(", ");
    format!(
        "an earlier call with the same {names} had other arguments: {REPEAT}, or make a new \
         call with a new {names}"
    )
}
