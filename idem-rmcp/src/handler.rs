//! [`IdempotentHandler`]: a server whose tools are declared by hand in its `ServerHandler`
//! (`call_tool` matching on the tool's name), made idempotent tool by tool.

mod forward;

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::future::BoxFuture;
use idem_core::Idempotent;
use idem_core::spec::ToolSpec;
use rmcp::RoleServer;
use rmcp::ServerHandler;
use rmcp::model::{CallToolRequestParams, CallToolResponse, ErrorData, ListToolsResult, Tool};
use rmcp::service::RequestContext;
use serde::de::DeserializeOwned;

use crate::call::{call, parse_arguments};
use crate::error::WrapError;
use crate::idempotency::Idempotency;
use crate::router::advertise;

/// A [`ServerHandler`] whose `call_tool` goes through idem for the tools registered with
/// [`with_idempotent`](IdempotentHandler::with_idempotent); every other request (and every other
/// tool) goes to the wrapped handler as it is. `tools/list` advertises `idempotentHint: true` on
/// the registered tools.
///
/// For servers that implement `call_tool` themselves. A server built on `#[tool_router]` or a
/// [`ToolRouter`](rmcp::handler::server::router::tool::ToolRouter) wraps its routes instead
/// ([`IdempotentRouter`](crate::IdempotentRouter)).
///
/// ```
/// use idem::Idempotent;
/// use idem::executor::Executor;
/// use idem::rmcp::{Idempotency, IdempotentHandler};
/// use idem::store::MemoryStore;
/// use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock};
/// use rmcp::service::RequestContext;
/// use rmcp::{ErrorData, RoleServer, ServerHandler};
///
/// #[derive(Idempotent, serde::Deserialize)]
/// #[idem(tool = "order-fulfillment-v1", strategy = "fields")]
/// struct FulfillOrder {
///     #[idem(key)]
///     order_id: String,
///     warehouse_id: Option<String>,
/// }
///
/// struct Warehouse;
///
/// impl ServerHandler for Warehouse {
///     async fn call_tool(
///         &self,
///         request: CallToolRequestParams,
///         _context: RequestContext<RoleServer>,
///     ) -> Result<CallToolResponse, ErrorData> {
///         match &*request.name {
///             "fulfill_order" => {
///                 let order = request.arguments.unwrap_or_default();
///                 let text = format!("shipped {}", order["order_id"]);
///                 Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
///             }
///             _ => Err(ErrorData::invalid_params("tool not found", None)),
///         }
///     }
/// }
///
/// let idem = Idempotency::new(Executor::new(MemoryStore::new()));
/// // Served in place of `Warehouse` (`serve_server(server, transport)`).
/// let server = IdempotentHandler::new(Warehouse, idem).with_idempotent::<FulfillOrder>()?;
/// # let _ = server;
/// # Ok::<(), idem::rmcp::WrapError>(())
/// ```
pub struct IdempotentHandler<H> {
    inner: H,
    idem: Idempotency,
    tools: HashMap<String, Arc<dyn ErasedTool<H>>>,
}

// By hand: a derive would ask `dyn ErasedTool<H>` to be `Clone` too.
impl<H: Clone> Clone for IdempotentHandler<H> {
    /// A handler per session (Streamable HTTP builds one per session) shares the registered tools.
    fn clone(&self) -> Self {
        IdempotentHandler {
            inner: self.inner.clone(),
            idem: self.idem.clone(),
            tools: self.tools.clone(),
        }
    }
}

impl<H: fmt::Debug> fmt::Debug for IdempotentHandler<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut tools: Vec<&str> = self.tools.keys().map(String::as_str).collect();
        tools.sort_unstable();
        f.debug_struct("IdempotentHandler")
            .field("inner", &self.inner)
            .field("idem", &self.idem)
            .field("tools", &tools)
            .finish()
    }
}

impl<H: ServerHandler> IdempotentHandler<H> {
    /// `inner` with no idempotent tool yet.
    pub fn new(inner: H, idem: Idempotency) -> Self {
        IdempotentHandler {
            inner,
            idem,
            tools: HashMap::new(),
        }
    }

    /// Makes the tool named by `T`'s declaration idempotent, under the spec `T` declares
    /// ([`ToolSpec::for_args`]), keyed by `T`'s derived key.
    ///
    /// # Errors
    /// [`WrapError::Spec`] when `T`'s spec is not valid.
    pub fn with_idempotent<T>(self) -> Result<Self, WrapError>
    where
        T: Idempotent + DeserializeOwned + Send + Sync + 'static,
    {
        let spec = ToolSpec::for_args::<T>().build()?;
        Ok(self.with_idempotent_spec::<T>(spec))
    }

    /// Makes the tool named [`spec.name()`](ToolSpec::name) idempotent under `spec`, keyed by its
    /// arguments as `T`.
    #[must_use]
    pub fn with_idempotent_spec<T>(mut self, spec: ToolSpec) -> Self
    where
        T: Idempotent + DeserializeOwned + Send + Sync + 'static,
    {
        let tool: Arc<dyn ErasedTool<H>> = Arc::new(Typed::<T> {
            spec: Arc::new(spec),
            args: PhantomData,
        });
        self.tools.insert(tool.spec().name().to_owned(), tool);
        self
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }

    async fn call_tool_idempotently(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        match self.tools.get(&*request.name) {
            Some(tool) => Arc::clone(tool).call(self, request, context).await,
            None => self.inner.call_tool(request, context).await,
        }
    }

    async fn list_tools_advertised(
        &self,
        request: Option<rmcp::model::PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut listed = self.inner.list_tools(request, context).await?;
        listed.tools = listed
            .tools
            .into_iter()
            .map(|tool| self.advertised(tool))
            .collect();
        Ok(listed)
    }

    fn advertised(&self, tool: Tool) -> Tool {
        match self.tools.get(&*tool.name) {
            Some(idempotent) => advertise(tool, idempotent.spec()),
            None => tool,
        }
    }
}

/// A registered tool, its arguments type erased.
trait ErasedTool<H>: Send + Sync {
    fn spec(&self) -> &ToolSpec;

    fn call<'a>(
        self: Arc<Self>,
        handler: &'a IdempotentHandler<H>,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> BoxFuture<'a, Result<CallToolResponse, ErrorData>>;
}

struct Typed<T> {
    spec: Arc<ToolSpec>,
    args: PhantomData<fn() -> T>,
}

impl<H, T> ErasedTool<H> for Typed<T>
where
    H: ServerHandler,
    T: Idempotent + DeserializeOwned + Send + Sync + 'static,
{
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call<'a>(
        self: Arc<Self>,
        handler: &'a IdempotentHandler<H>,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> BoxFuture<'a, Result<CallToolResponse, ErrorData>> {
        Box::pin(async move {
            let (args, arguments) = match parse_arguments::<T>(request.arguments.take()) {
                Ok(parsed) => parsed,
                Err(invalid) => return Ok(invalid.into()),
            };
            request.arguments = arguments;
            let idem = &handler.idem;
            let caller = idem.caller(&context)?;
            let ct = context.ct.clone();
            let cancelled = async move { ct.cancelled().await };
            let tool = move || handler.inner.call_tool(request, context);
            call(idem, &self.spec, caller, args, cancelled, tool).await
        })
    }
}
