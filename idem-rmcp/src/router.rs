//! Tools of a [`ToolRouter`] (`#[tool_router]`, `ToolRoute`s, `AsyncTool`s) made idempotent
//! route by route.

use std::sync::Arc;

use idem_core::Idempotent;
use idem_core::spec::ToolSpec;
use rmcp::handler::server::router::tool::{ToolRoute, ToolRouter};
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::Tool;
use serde::de::DeserializeOwned;

use crate::call::{call, parse_arguments};
use crate::error::WrapError;
use crate::idempotency::Idempotency;

/// Makes tools of an rmcp [`ToolRouter`] idempotent: one line per tool where the router is built.
///
/// The tool is found by the name its arguments type declares (`#[idem(name = "...")]`, by
/// default the type's name in snake case, as rmcp names a `#[tool]` after its function), and its
/// key is the type's derived key. The tool's function is unchanged.
///
/// ```
/// use idem::Idempotent;
/// use idem::executor::Executor;
/// use idem::rmcp::{Idempotency, IdempotentRouter, WrapError};
/// use idem::store::MemoryStore;
/// use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
/// use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
///
/// #[derive(Idempotent, serde::Deserialize, schemars::JsonSchema)]
/// #[idem(tool = "ecommerce-payment-v1", strategy = "fields")]
/// struct ProcessPayment {
///     #[idem(key)]
///     transaction_id: String,
///     amount: f64,
/// }
///
/// struct Shop {
///     tool_router: ToolRouter<Shop>,
/// }
///
/// #[tool_router]
/// impl Shop {
///     /// Charges a payment.
///     #[tool]
///     async fn process_payment(&self, Parameters(p): Parameters<ProcessPayment>) -> String {
///         format!("charged {} for {}", p.amount, p.transaction_id)
///     }
///
///     fn new(idem: &Idempotency) -> Result<Self, WrapError> {
///         let tool_router = Self::tool_router().with_idempotent::<ProcessPayment>(idem)?;
///         Ok(Shop { tool_router })
///     }
/// }
///
/// #[tool_handler(router = self.tool_router)]
/// impl ServerHandler for Shop {}
///
/// let shop = Shop::new(&Idempotency::new(Executor::new(MemoryStore::new())))?;
/// let tool = shop.tool_router.get("process_payment").unwrap();
/// assert_eq!(tool.annotations.as_ref().unwrap().idempotent_hint, Some(true));
/// # Ok::<(), WrapError>(())
/// ```
pub trait IdempotentRouter: Sized {
    /// Makes the tool named by `T`'s declaration idempotent, under the spec `T` declares
    /// ([`ToolSpec::for_args`]).
    ///
    /// # Errors
    /// [`WrapError::NoSuchTool`] when the router has no tool of that name.
    fn with_idempotent<T>(self, idem: &Idempotency) -> Result<Self, WrapError>
    where
        T: Idempotent + DeserializeOwned + Send + Sync + 'static,
    {
        let spec = ToolSpec::for_args::<T>().build()?;
        self.with_idempotent_spec::<T>(spec, idem)
    }

    /// Makes the tool named [`spec.name()`](ToolSpec::name) idempotent under `spec` (for another
    /// mismatch policy, lease or TTL than `T` declares, e.g.
    /// `ToolSpec::for_args::<T>().configure(|c| c.on_mismatch(MismatchPolicy::Replay))`).
    ///
    /// # Errors
    /// [`WrapError::NoSuchTool`] when the router has no tool of that name.
    fn with_idempotent_spec<T>(self, spec: ToolSpec, idem: &Idempotency) -> Result<Self, WrapError>
    where
        T: Idempotent + DeserializeOwned + Send + Sync + 'static;
}

impl<S: Send + Sync + 'static> IdempotentRouter for ToolRouter<S> {
    fn with_idempotent_spec<T>(
        mut self,
        spec: ToolSpec,
        idem: &Idempotency,
    ) -> Result<Self, WrapError>
    where
        T: Idempotent + DeserializeOwned + Send + Sync + 'static,
    {
        let Some(route) = self.map.remove(spec.name()) else {
            let mut available: Vec<&str> = self.map.keys().map(|name| &**name).collect();
            available.sort_unstable();
            return Err(WrapError::NoSuchTool {
                name: spec.name().to_owned(),
                available: available.join(", "),
            });
        };
        self.add_route(idem.wrap_route::<T, S>(route, spec));
        Ok(self)
    }
}

impl Idempotency {
    /// `route` made idempotent under `spec`, keyed by its arguments as `T`: for routers built by
    /// hand (`ToolRouter::new().with_route(idem.wrap_route::<T, _>(route, spec))`).
    pub fn wrap_route<T, S>(&self, route: ToolRoute<S>, spec: ToolSpec) -> ToolRoute<S>
    where
        T: Idempotent + DeserializeOwned + Send + Sync + 'static,
        S: Send + Sync + 'static,
    {
        let attr = advertise(route.attr, &spec);
        let inner = route.call;
        let idem = self.clone();
        let spec = Arc::new(spec);
        ToolRoute::new_dyn(attr, move |mut context: ToolCallContext<'_, S>| {
            let inner = Arc::clone(&inner);
            let idem = idem.clone();
            let spec = Arc::clone(&spec);
            Box::pin(async move {
                let (args, arguments) = match parse_arguments::<T>(context.arguments.take()) {
                    Ok(parsed) => parsed,
                    Err(invalid) => return Ok(invalid.into()),
                };
                context.arguments = arguments;
                let caller = idem.caller(&context.request_context)?;
                let ct = context.request_context.ct.clone();
                let cancelled = async move { ct.cancelled().await };
                call(&idem, &spec, caller, args, cancelled, move || {
                    inner(context)
                })
                .await
            })
        })
    }
}

/// The tool's description with `idempotentHint: true` when idempotency is on, its other
/// annotations kept.
pub(crate) fn advertise(mut tool: Tool, spec: &ToolSpec) -> Tool {
    if spec.idempotency().is_enabled() {
        let annotations = tool.annotations.take().unwrap_or_default();
        tool.annotations = Some(annotations.idempotent(true));
    }
    tool
}
