//! Who calls: from an MCP request to idem's [`Context`].

use idem_core::Context;
use rmcp::RoleServer;
use rmcp::model::ErrorData;
use rmcp::service::RequestContext;

/// The header of the MCP session id over Streamable HTTP.
const SESSION_HEADER: &str = "mcp-session-id";

/// The default mapping: the MCP session id (Streamable HTTP with sessions) is the session,
/// nothing else. Over stdio, or over Streamable HTTP without sessions, the context is empty.
///
/// Whether the session takes part in a key is the strategy's choice: the `fields` strategy
/// ignores it (a payment is the same payment from any session), the `default` strategy keys by
/// it.
///
/// # Errors
/// Never: the signature is that of every context mapping
/// ([`Idempotency::with_context`](crate::Idempotency::with_context)).
pub fn session_context(request: &RequestContext<RoleServer>) -> Result<Context, ErrorData> {
    Ok(match session_id(request) {
        Some(session) => Context::new().with_session(session),
        None => Context::new(),
    })
}

/// The MCP session id of the request, when it came over Streamable HTTP in a session.
pub fn session_id(request: &RequestContext<RoleServer>) -> Option<&str> {
    request
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.headers.get(SESSION_HEADER))
        .and_then(|value| value.to_str().ok())
}
