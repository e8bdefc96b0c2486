//! [`Idempotency`]: the executor, how a request maps to a caller, and which failures are kept.

use std::fmt;
use std::sync::Arc;

use idem_core::Context;
use idem_core::executor::{Executor, OnFailure};
use rmcp::RoleServer;
use rmcp::model::ErrorData;
use rmcp::service::RequestContext;

use crate::failure::Failure;

type ContextFn = dyn Fn(&RequestContext<RoleServer>) -> Result<Context, ErrorData> + Send + Sync;
type FailureFn = dyn Fn(&Failure<'_>) -> OnFailure + Send + Sync;

/// What makes an rmcp server's tools idempotent: an [`Executor`] (and so its store), how a
/// request maps to idem's [`Context`], and which failures are remembered. Cheap to clone; give
/// the same one to every tool of a server.
///
/// ```
/// use idem::Context;
/// use idem::executor::{Executor, OnFailure};
/// use idem::rmcp::{Failure, Idempotency, session_context};
/// use idem::store::MemoryStore;
///
/// let idem = Idempotency::new(Executor::new(MemoryStore::new()))
///     // The tenant from the HTTP request's `x-tenant` header, the MCP session as the session.
///     .with_context(|request| {
///         let tenant = request
///             .extensions
///             .get::<http::request::Parts>()
///             .and_then(|parts| parts.headers.get("x-tenant")?.to_str().ok());
///         let context = session_context(request)?;
///         Ok(match tenant {
///             Some(tenant) => context.with_tenant(tenant),
///             None => context,
///         })
///     })
///     // A declined card is final: remember it; retry anything else.
///     .with_on_failure(|failure| match failure {
///         Failure::ToolError(result) if format!("{:?}", result.content).contains("declined") => {
///             OnFailure::Remember
///         }
///         _ => OnFailure::Release,
///     });
/// # let _ = idem;
/// ```
#[derive(Clone)]
pub struct Idempotency {
    pub(crate) executor: Arc<Executor>,
    pub(crate) context: Arc<ContextFn>,
    pub(crate) on_failure: Arc<FailureFn>,
}

impl fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idempotency")
            .field("executor", &self.executor)
            .finish_non_exhaustive()
    }
}

impl Idempotency {
    /// Tools run by `executor`; the MCP session is the context ([`session_context`]); every
    /// failure is released, so that a retry runs the tool again.
    ///
    /// [`session_context`]: crate::session_context
    pub fn new(executor: Executor) -> Self {
        Self::with_executor(Arc::new(executor))
    }

    /// As [`new`](Idempotency::new), on a shared executor.
    pub fn with_executor(executor: Arc<Executor>) -> Self {
        Idempotency {
            executor,
            context: Arc::new(crate::context::session_context),
            on_failure: Arc::new(|_: &Failure<'_>| OnFailure::Release),
        }
    }

    /// Maps a request to the caller's [`Context`] (tenant, user, session): from its `_meta`, its
    /// extensions (over Streamable HTTP, the `http::request::Parts` of the HTTP request, with its
    /// headers and the extensions an authentication layer set), or the MCP session
    /// ([`session_id`](crate::session_id)). An error refuses the call before anything runs, and
    /// is what the client gets.
    #[must_use]
    pub fn with_context(
        mut self,
        context: impl Fn(&RequestContext<RoleServer>) -> Result<Context, ErrorData>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.context = Arc::new(context);
        self
    }

    /// Decides, per failure, whether it is released (a retry runs the tool again; the default)
    /// or remembered until the TTL (a retry gets the same answer, marked replayed, without
    /// running the tool): the executor's [`OnFailure`], for tool errors and MCP errors alike.
    #[must_use]
    pub fn with_on_failure(
        mut self,
        policy: impl Fn(&Failure<'_>) -> OnFailure + Send + Sync + 'static,
    ) -> Self {
        self.on_failure = Arc::new(policy);
        self
    }

    /// The executor.
    pub fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }
}
