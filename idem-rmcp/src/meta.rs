//! The `_meta` names idem reads in a request and writes in a result, all under the reverse-DNS
//! prefix `dev.idem/`, as MCP reserves unprefixed names for the protocol.

use rmcp::model::{CallToolResult, ErrorData, MetaObject};
use serde_json::Value;

/// In a request's `_meta`: the caller's own idempotency key, a string of 1 to 255 bytes with no
/// control characters. Scoped by tool and tenant (see the [crate documentation](crate)).
pub const KEY: &str = "dev.idem/key";

/// In a result's `_meta`: `true` when the tool did not run for this call and the result is the
/// first call's (replayed from the store, or shared with a duplicate that ran at the same time).
pub const REPLAYED: &str = "dev.idem/replayed";

/// In a result's `_meta`: `true` when this call's arguments differ from those of the call whose
/// result it gets (same key, other arguments), under
/// [`MismatchPolicy::Replay`](idem_core::spec::MismatchPolicy::Replay); or on the tool error
/// refusing such a call under [`MismatchPolicy::Reject`](idem_core::spec::MismatchPolicy::Reject).
pub const ARGUMENTS_DIFFER: &str = "dev.idem/argumentsDiffer";

/// In a tool error's `_meta`, or in an MCP error's `data`: what idem refused or failed at, as one
/// word (`argumentsMismatch`, `outcomeUnknown`, `inProgress`, `key`, `store`, ...; see
/// [`ErrorKind`](crate::ErrorKind)). Absent on the tool's own errors.
pub const ERROR: &str = "dev.idem/error";

/// Sets `name` to `value` in a result's `_meta`, creating it when absent.
pub(crate) fn mark(result: &mut CallToolResult, name: &str, value: impl Into<Value>) {
    result
        .meta
        .get_or_insert_with(MetaObject::new)
        .insert(name.to_owned(), value.into());
}

/// Sets `name` to `value` in an MCP error's `data` when it is absent or an object (any other
/// `data` is the tool's own and stays as it is).
pub(crate) fn mark_error(error: &mut ErrorData, name: &str, value: impl Into<Value>) {
    match &mut error.data {
        None => {
            let mut data = serde_json::Map::new();
            data.insert(name.to_owned(), value.into());
            error.data = Some(Value::Object(data));
        }
        Some(Value::Object(data)) => {
            data.insert(name.to_owned(), value.into());
        }
        Some(_) => {}
    }
}
