//! [`IdempotencyLayer`]: wraps a service in [`Idempotency`].

use std::fmt;
use std::sync::Arc;

use idem_core::executor::Executor;
use idem_core::spec::ToolSpec;
use tower::Layer;

use crate::builder::{IdempotencyLayerBuilder, Settings};
use crate::service::Idempotency;

/// What the layer and every service it makes share.
pub(crate) struct Shared {
    pub(crate) executor: Arc<Executor>,
    pub(crate) spec: ToolSpec,
    pub(crate) settings: Settings,
}

/// A tower [`Layer`] that makes the requests it covers idempotent with their `Idempotency-Key`
/// header: see the [crate docs](crate) for what it does, and [`IdempotencyLayerBuilder`] for
/// its settings.
///
/// ```
/// use idem::executor::Executor;
/// use idem::http::IdempotencyLayer;
/// use idem::store::MemoryStore;
///
/// let layer = IdempotencyLayer::builder(Executor::new(MemoryStore::new()))
///     .with_caller(|parts| {
///         let user = parts.headers.get("x-user")?.to_str().ok()?;
///         Some(idem::Context::new().with_user(user))
///     })
///     .build()?;
/// // axum: Router::new().route("/orders", post(create_order)).layer(layer)
/// # let _ = layer;
/// # Ok::<(), idem::http::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct IdempotencyLayer {
    shared: Arc<Shared>,
}

impl IdempotencyLayer {
    /// A builder over `executor` (and so its store), with every setting at its default.
    pub fn builder(executor: impl Into<Arc<Executor>>) -> IdempotencyLayerBuilder {
        IdempotencyLayerBuilder::new(executor.into())
    }

    pub(crate) fn from_parts(executor: Arc<Executor>, spec: ToolSpec, settings: Settings) -> Self {
        IdempotencyLayer {
            shared: Arc::new(Shared {
                executor,
                spec,
                settings,
            }),
        }
    }

    /// The executor (its store and metrics).
    pub fn executor(&self) -> &Arc<Executor> {
        &self.shared.executor
    }

    /// The tool spec the layer's requests run under (its id is the records' namespace).
    pub fn spec(&self) -> &ToolSpec {
        &self.shared.spec
    }
}

impl fmt::Debug for IdempotencyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotencyLayer")
            .field("tool_id", &self.shared.spec.id())
            .field("methods", &self.shared.settings.methods)
            .field("store", self.shared.executor.store())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for IdempotencyLayer {
    type Service = Idempotency<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Idempotency::new(inner, Arc::clone(&self.shared))
    }
}
