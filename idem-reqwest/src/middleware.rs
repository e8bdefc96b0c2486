//! [`IdempotencyKeyMiddleware`]: a [`reqwest_middleware`] middleware that adds an
//! `Idempotency-Key` header to outgoing requests.

use http::Extensions;
use idem_core::IdempotencyKey;
use reqwest::{Method, Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::key_header::{HeaderFormat, IDEMPOTENCY_KEY};

/// Adds an `Idempotency-Key` header to the requests whose method is among the chosen ones
/// (`POST` by default), so that the server can recognise a retry as the same request
/// (draft-ietf-httpapi-idempotency-key-header).
///
/// The key is, first to last:
/// 1. the request's own `Idempotency-Key` header, when it already has one (left untouched);
/// 2. the [`IdempotencyKey`] in the request's extensions, given with
///    [`RequestBuilder::with_extension`](reqwest_middleware::RequestBuilder::with_extension):
///    idem's key of the call, so that every retry of the call, by whatever process, sends the
///    same key;
/// 3. a fresh random key (a UUID v4).
///
/// **Place it before a retry middleware** (such as `reqwest-retry`'s
/// `RetryTransientMiddleware`): middlewares run in the order they are added, so the key is set
/// once and every retry sends the request with the same key. Placed after it, each retry would
/// pass through this middleware again and, without a key of its own, get a fresh random one:
/// the server would see unrelated requests.
///
/// ```
/// use idem::reqwest::IdempotencyKeyMiddleware;
/// use idem::IdempotencyKey;
/// use reqwest::Method;
/// use reqwest_middleware::ClientBuilder;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use axum::{routing::post, Router};
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # let app = Router::new().route("/payments", post(|headers: axum::http::HeaderMap| async move {
/// #     headers["idempotency-key"].to_str().unwrap().to_owned()
/// # }));
/// # tokio::spawn(async move { axum::serve(listener, app).await });
/// # let url = format!("http://{addr}/payments");
/// // `url`: a local server answering with the Idempotency-Key it got
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(IdempotencyKeyMiddleware::new().with_methods([Method::POST, Method::PATCH]))
///     // .with(RetryTransientMiddleware::new_with_policy(...)) goes here, after the key
///     .build();
///
/// let key = IdempotencyKey::custom("payment-txn-0001")?;
/// let sent = client.post(&url).with_extension(key).send().await?.text().await?;
/// assert_eq!(sent, "\"payment-txn-0001\"");
///
/// let preset = client.post(&url).header("Idempotency-Key", "\"mine\"").send().await?;
/// assert_eq!(preset.text().await?, "\"mine\"");
///
/// let random = client.post(&url).send().await?.text().await?;
/// assert_eq!(random.len(), 36 + 2); // a quoted UUID
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct IdempotencyKeyMiddleware {
    methods: Vec<Method>,
    format: HeaderFormat,
}

impl Default for IdempotencyKeyMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

impl IdempotencyKeyMiddleware {
    /// Adds keys to `POST` requests, as Structured Field strings.
    pub fn new() -> Self {
        IdempotencyKeyMiddleware {
            methods: vec![Method::POST],
            format: HeaderFormat::default(),
        }
    }

    /// Adds keys to requests with these methods (instead of `POST` alone).
    #[must_use]
    pub fn with_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self
    }

    /// Writes keys as `format` says.
    #[must_use]
    pub fn with_header_format(mut self, format: HeaderFormat) -> Self {
        self.format = format;
        self
    }
}

#[async_trait::async_trait]
impl Middleware for IdempotencyKeyMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if self.methods.contains(request.method())
            && !request.headers().contains_key(IDEMPOTENCY_KEY)
        {
            let key = extensions
                .get::<IdempotencyKey>()
                .map(IdempotencyKey::as_str);
            let value = self
                .format
                .value_or_random(key)
                .map_err(reqwest_middleware::Error::middleware)?;
            request.headers_mut().insert(IDEMPOTENCY_KEY, value);
        }
        next.run(request, extensions).await
    }
}
