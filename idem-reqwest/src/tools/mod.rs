//! [`HttpTools`]: runs the tools of [`ToolSpec::http`] specs exactly once, sending the call's
//! key as the `Idempotency-Key` header so that the remote side dedups too.

mod attempts;
mod endpoint;
mod error;
mod output;

pub use attempts::RetryPolicy;
pub use error::{HttpToolError, RequestError, RequestErrorKind};

use std::sync::Arc;

use idem_core::Context;
use idem_core::executor::{Execution, Executor, OnFailure, ToolInput};
use idem_core::spec::ToolSpec;
use serde::Serialize;
use serde_json::Value;

use crate::key_header::HeaderFormat;
use endpoint::Endpoint;

/// Runs HTTP tools ([`ToolSpec::http`]) through an [`Executor`] and a [`reqwest::Client`].
///
/// A call claims its key, sends the request, and records the response's JSON (or text) as the
/// output: a duplicate call replays it without sending anything. The arguments go as a JSON
/// body (`POST`, `PUT`, `PATCH`) or a query string (`GET`, `DELETE`); the call's key goes as
/// the `Idempotency-Key` header ([`HeaderFormat`]), on every attempt of the call.
///
/// When a request fails:
/// - a timeout (the spec's [`timeout`](idem_core::spec::ToolSpecBuilder::timeout)), a `5xx`,
///   a broken or refused connection is sent again under the same key, with backoff
///   ([`RetryPolicy`]): safe where the server honours the key;
/// - when the retries run out on a failure that may have run remotely (a timeout, a `5xx`), the
///   call's outcome is unknown: it is recorded as such
///   ([`OnFailure::Unknown`]), and no later call with the key sends it again before the record
///   expires (it gets [`ExecuteError::OutcomeUnknown`](idem_core::executor::ExecuteError::OutcomeUnknown));
/// - any other failure (the server's `4xx` answer, a server never reached) follows the
///   [`OnFailure`] given with [`with_on_failure`](Self::with_on_failure) (release by default:
///   a later call sends it again), or decided per error by [`call_with`](Self::call_with).
///
/// ```
/// use idem::executor::{Executor, Outcome};
/// use idem::reqwest::HttpTools;
/// use idem::spec::ToolSpec;
/// use idem::store::MemoryStore;
/// use idem::Context;
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use axum::{routing::post, Json, Router};
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # let app = Router::new().route("/orders", post(|headers: axum::http::HeaderMap| async move {
/// #     Json(json!({"order": "o-1", "key": headers["idempotency-key"].to_str().unwrap()}))
/// # }));
/// # tokio::spawn(async move { axum::serve(listener, app).await });
/// # let url = format!("http://{addr}/orders");
/// // `url`: a local server answering {"order": "o-1", "key": <the Idempotency-Key it got>}
/// let tools = HttpTools::new(Executor::new(MemoryStore::new()), reqwest::Client::new());
/// let spec = ToolSpec::http("create-order-v1", "create_order", "POST", url).build()?;
/// let args = json!({"sku": "A-1", "quantity": 2});
///
/// let first = tools.call(&spec, &Context::new(), &args).await?;
/// let again = tools.call(&spec, &Context::new(), &args).await?;
/// assert_eq!(first.outcome, Outcome::Executed { took_over: false });
/// assert_eq!(again.outcome, Outcome::Replayed { args_differ: false });
/// assert_eq!(again.output["order"], "o-1");
/// // The server got the call's key, as a Structured Field string.
/// let key = first.key.unwrap();
/// assert_eq!(first.output["key"], format!("\"{key}\""));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HttpTools {
    executor: Arc<Executor>,
    client: reqwest::Client,
    retry: RetryPolicy,
    header_format: HeaderFormat,
    on_failure: OnFailure,
}

impl HttpTools {
    /// Runs HTTP tools through `executor` (or a shared `Arc<Executor>`) with `client`: three
    /// attempts per call, keys as Structured Field strings, failures with a known outcome
    /// released.
    pub fn new(executor: impl Into<Arc<Executor>>, client: reqwest::Client) -> Self {
        HttpTools {
            executor: executor.into(),
            client,
            retry: RetryPolicy::default(),
            header_format: HeaderFormat::default(),
            on_failure: OnFailure::Release,
        }
    }

    /// Retries as `policy` says.
    #[must_use]
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Writes keys in the `Idempotency-Key` header as `format` says.
    #[must_use]
    pub fn with_header_format(mut self, format: HeaderFormat) -> Self {
        self.header_format = format;
        self
    }

    /// What [`call`](Self::call) does with a failure whose outcome is known (the server's `4xx`
    /// answer, a server never reached): [`OnFailure::Release`] (the default) lets a later call
    /// send it again, [`OnFailure::Remember`] replays the failure until the TTL.
    #[must_use]
    pub fn with_on_failure(mut self, on_failure: OnFailure) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// The executor.
    pub fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }

    /// The HTTP client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Calls the HTTP tool of `spec` with `args` (a JSON object, or a derived argument struct
    /// that serializes to one), unless a duplicate already did.
    ///
    /// # Errors
    /// See [`HttpToolError`]: a spec that is not an HTTP tool, arguments that cannot be sent, the
    /// request's failure ([`HttpToolError::Request`]) or what the executor refused
    /// ([`HttpToolError::Execute`]).
    pub async fn call<A>(
        &self,
        spec: &ToolSpec,
        context: &Context,
        args: &A,
    ) -> Result<Execution<Value>, HttpToolError>
    where
        A: ToolInput + Serialize + ?Sized,
    {
        let on_failure = self.on_failure;
        self.call_with(spec, context, args, move |_: &RequestError| on_failure)
            .await
    }

    /// As [`call`](Self::call), with `policy` deciding per failure whose outcome is known
    /// whether it is released or remembered (for example: remember a `422`, release a `429`).
    /// A failure that may have run remotely is recorded as an unknown outcome whatever the
    /// policy says.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_with<A, P>(
        &self,
        spec: &ToolSpec,
        context: &Context,
        args: &A,
        policy: P,
    ) -> Result<Execution<Value>, HttpToolError>
    where
        A: ToolInput + Serialize + ?Sized,
        P: Fn(&RequestError) -> OnFailure,
    {
        let json = serde_json::to_value(args).map_err(|err| HttpToolError::Arguments {
            tool: spec.id().to_owned(),
            reason: err.to_string(),
        })?;
        let endpoint = Endpoint::new(spec, &json)?;
        let on_failure = |err: &RequestError| {
            if err.outcome_unknown() {
                OnFailure::Unknown
            } else {
                policy(err)
            }
        };
        let (client, retry, format) = (&self.client, &self.retry, self.header_format);
        let endpoint = &endpoint;
        let send = |key: Option<idem_core::IdempotencyKey>| async move {
            // Idempotency off: no idem key, but the attempts of this one call share one key.
            let header = format
                .value_or_random(key.as_ref().map(|k| k.as_str()))
                .map_err(|err| {
                    let kind = RequestErrorKind::KeyHeader(err);
                    RequestError::new(&endpoint.method, &endpoint.url, 0, false, kind)
                })?;
            attempts::send(client, endpoint, &header, retry).await
        };
        self.executor
            .execute_keyed(spec, context, args, on_failure, send)
            .await
            .map_err(HttpToolError::from)
    }
}
