//! [`IdempotencyLayerBuilder`]: every setting of the layer, with its default.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Response, StatusCode};
use idem_core::Context;
use idem_core::executor::Executor;
use idem_core::spec::{IdempotencyConfig, InProgressPolicy, MismatchPolicy, SpecError, ToolSpec};

use crate::layer::IdempotencyLayer;
use crate::rejection::Rejection;

/// What a request does when another request with its key is still being processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InProgress {
    /// Answer `409 Conflict` at once, as the draft says: the client retries later and gets the
    /// first response. The default.
    #[default]
    Conflict,
    /// Wait for the first request, up to `timeout`, and replay its response; `409` when the
    /// wait times out. Duplicates in this process share the first one's execution; duplicates
    /// handled by other processes poll the store.
    Wait {
        /// How long to wait at most.
        timeout: Duration,
    },
}

/// The caller function: the [`Context`] that scopes a request's key, or `None` when the caller
/// cannot be identified (401).
pub(crate) type CallerFn = dyn Fn(&Parts) -> Option<Context> + Send + Sync;
/// Whether a response of this status is stored for replays.
pub(crate) type StoreFn = dyn Fn(StatusCode) -> bool + Send + Sync;
/// Whether a key has the format the API publishes.
pub(crate) type FormatFn = dyn Fn(&str) -> bool + Send + Sync;

/// Whether a response with `status` is stored and replayed (the default of
/// [`with_stored_responses`](IdempotencyLayerBuilder::with_stored_responses)).
///
/// Stored: every 1xx-4xx response but `408 Request Timeout`, `425 Too Early` and
/// `429 Too Many Requests`. Released (the key is given back and a retry runs the handler again):
/// those three and every 5xx.
///
/// Why, after the draft: a retry of a request that was processed "SHOULD respond with the result
/// of the previously completed operation, success or an error": a 2xx, 3xx or a 4xx that
/// rejects the request (a declined card, a failed validation) is the outcome of the operation,
/// and a retry gets it again instead of a second attempt. A 5xx says the server did not
/// complete the operation, and 408, 425 and 429 ask the client to try again later: storing those
/// would answer every retry with the same failure until the record expires, so their key is
/// released through the executor's [`OnFailure::Release`](idem_core::executor::OnFailure) and the
/// next retry runs. A handler that answers 5xx must therefore leave no effect behind (or answer
/// with a status that is stored).
pub fn default_stored_response(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.as_u16() == 425)
}

/// The settings of a built layer.
pub(crate) struct Settings {
    pub(crate) methods: Vec<Method>,
    pub(crate) key_required: bool,
    pub(crate) bare_keys: bool,
    pub(crate) key_format: Option<Arc<FormatFn>>,
    pub(crate) caller: Arc<CallerFn>,
    pub(crate) body_limit: usize,
    pub(crate) fingerprint_headers: Vec<HeaderName>,
    pub(crate) replayed_headers: Vec<HeaderName>,
    pub(crate) stored: Arc<StoreFn>,
    pub(crate) problem_base: String,
    pub(crate) auth_challenge: HeaderValue,
}

impl Settings {
    /// The response to `rejection`: its problem details under the layer's problem base, and on a
    /// 401 the layer's `WWW-Authenticate` challenge.
    pub(crate) fn respond(&self, rejection: &Rejection) -> Response<Bytes> {
        let mut response = rejection.to_response(&self.problem_base);
        if matches!(rejection, Rejection::UnknownCaller) {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, self.auth_challenge.clone());
        }
        response
    }
}

/// The default problem base: the section of these docs that explains each problem.
pub const DEFAULT_PROBLEM_BASE: &str = "https://docs.rs/idem-http/latest/idem_http/#";

/// The default `WWW-Authenticate` challenge of a 401: `Bearer` (RFC 6750), the scheme of most
/// APIs. Set yours with [`IdempotencyLayerBuilder::with_auth_challenge`].
pub const DEFAULT_AUTH_CHALLENGE: &str = "Bearer";

/// A setting the layer cannot run with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The settings that go to idem's executor were refused: an empty tool id, or a zero TTL,
    /// lease or wait timeout.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// No method is covered: the layer would do nothing.
    #[error("the layer covers no HTTP method; give it at least one (the default is POST, PATCH)")]
    NoMethods,
}

/// Builds an [`IdempotencyLayer`]: start from [`IdempotencyLayer::builder`], change what you
/// need with the `with_*` setters, then [`build`](IdempotencyLayerBuilder::build).
///
/// | setter | default |
/// |---|---|
/// | [`with_tool_id`](Self::with_tool_id) | `"http"`: the namespace of the records in the store |
/// | [`with_methods`](Self::with_methods) | `POST`, `PATCH` (other methods pass through untouched) |
/// | [`with_key_required`](Self::with_key_required) | `true`: a covered request without a key gets 400 |
/// | [`with_bare_keys`](Self::with_bare_keys) | `false`: only the sf-string form `"..."` is accepted |
/// | [`with_key_format`](Self::with_key_format) | none: any key of 1 to 255 bytes |
/// | [`with_caller`](Self::with_caller) | every caller in one scope ([`Context::new`]) |
/// | [`with_body_limit`](Self::with_body_limit) | 1 MiB (413 above) |
/// | [`with_fingerprint_headers`](Self::with_fingerprint_headers) | `content-type` |
/// | [`with_replayed_headers`](Self::with_replayed_headers) | `content-type`, `content-encoding`, `content-language`, `location` |
/// | [`with_stored_responses`](Self::with_stored_responses) | [`default_stored_response`] |
/// | [`with_in_progress`](Self::with_in_progress) | [`InProgress::Conflict`] (409) |
/// | [`with_ttl`](Self::with_ttl) | 24 h: how long a response is replayed |
/// | [`with_lease`](Self::with_lease) | 30 s: how long a crashed server's claim holds a key |
/// | [`with_problem_base`](Self::with_problem_base) | [`DEFAULT_PROBLEM_BASE`] |
/// | [`with_auth_challenge`](Self::with_auth_challenge) | [`DEFAULT_AUTH_CHALLENGE`] (`Bearer`) |
#[must_use]
pub struct IdempotencyLayerBuilder {
    executor: Arc<Executor>,
    tool_id: String,
    ttl: Duration,
    lease: Duration,
    in_progress: InProgress,
    settings: Settings,
}

impl fmt::Debug for IdempotencyLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotencyLayerBuilder")
            .field("tool_id", &self.tool_id)
            .field("methods", &self.settings.methods)
            .field("in_progress", &self.in_progress)
            .field("ttl", &self.ttl)
            .field("lease", &self.lease)
            .field("body_limit", &self.settings.body_limit)
            .finish_non_exhaustive()
    }
}

impl IdempotencyLayerBuilder {
    /// The default request body limit: 1 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

    pub(crate) fn new(executor: Arc<Executor>) -> Self {
        IdempotencyLayerBuilder {
            executor,
            tool_id: "http".to_owned(),
            ttl: IdempotencyConfig::DEFAULT_TTL,
            lease: IdempotencyConfig::DEFAULT_LEASE,
            in_progress: InProgress::Conflict,
            settings: Settings {
                methods: vec![Method::POST, Method::PATCH],
                key_required: true,
                bare_keys: false,
                key_format: None,
                caller: Arc::new(|_: &Parts| Some(Context::new())),
                body_limit: Self::DEFAULT_BODY_LIMIT,
                fingerprint_headers: vec![CONTENT_TYPE],
                replayed_headers: vec![CONTENT_TYPE, CONTENT_ENCODING, CONTENT_LANGUAGE, LOCATION],
                stored: Arc::new(default_stored_response),
                problem_base: DEFAULT_PROBLEM_BASE.to_owned(),
                auth_challenge: HeaderValue::from_static(DEFAULT_AUTH_CHALLENGE),
            },
        }
    }

    /// The tool id of the layer's records: part of every key and the namespace of its records
    /// in the store. Give two APIs that share a store different ids.
    pub fn with_tool_id(mut self, tool_id: impl Into<String>) -> Self {
        self.tool_id = tool_id.into();
        self
    }

    /// The methods the layer covers; requests with any other method go to the service
    /// untouched.
    pub fn with_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.settings.methods = methods.into_iter().collect();
        self
    }

    /// Whether a covered request must carry a key (400 without one), or without one goes to the
    /// service untouched, with no idempotency.
    pub fn with_key_required(mut self, required: bool) -> Self {
        self.settings.key_required = required;
        self
    }

    /// Whether a bare key (`Idempotency-Key: 8e03978e-...`, without the double quotes the draft
    /// requires) is accepted too: visible ASCII, no spaces, quotes or backslashes. Off by
    /// default: the draft defines the value as a Structured Field string; turn it on for
    /// clients written against APIs that take bare keys.
    pub fn with_bare_keys(mut self, accept: bool) -> Self {
        self.settings.bare_keys = accept;
        self
    }

    /// The key format the API publishes (the draft's security advice: "always validate the
    /// key"), e.g. a UUID; a key it refuses gets 400.
    pub fn with_key_format(
        mut self,
        format: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.settings.key_format = Some(Arc::new(format));
        self
    }

    /// Who the caller is, from the request's head (an authentication header, or an extension
    /// your authentication layer inserted): the [`Context`]'s tenant, user and session scope the
    /// key, so two callers' keys never meet. `None` answers 401.
    ///
    /// The default puts every caller in one scope: set this on any API with more than one
    /// caller.
    pub fn with_caller(
        mut self,
        caller: impl Fn(&Parts) -> Option<Context> + Send + Sync + 'static,
    ) -> Self {
        self.settings.caller = Arc::new(caller);
        self
    }

    /// The largest request body accepted, in bytes (413 above). The body is read whole before
    /// the handler runs: the fingerprint covers it.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.settings.body_limit = bytes;
        self
    }

    /// The request headers the fingerprint covers besides the method, the path and query, and
    /// the body: the same key with other values for them gets 422.
    pub fn with_fingerprint_headers(
        mut self,
        headers: impl IntoIterator<Item = HeaderName>,
    ) -> Self {
        self.settings.fingerprint_headers = headers.into_iter().collect();
        self
    }

    /// The response headers stored and replayed with the status and the body. Others (such as
    /// `set-cookie`) are sent with the first response only.
    pub fn with_replayed_headers(mut self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.settings.replayed_headers = headers.into_iter().collect();
        self
    }

    /// Which responses are stored and replayed (`true`) or released so that a retry runs the
    /// handler again (`false`); see [`default_stored_response`] for the default and why.
    pub fn with_stored_responses(
        mut self,
        stored: impl Fn(StatusCode) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.settings.stored = Arc::new(stored);
        self
    }

    /// What a request does while another one with its key is being processed.
    pub fn with_in_progress(mut self, in_progress: InProgress) -> Self {
        self.in_progress = in_progress;
        self
    }

    /// How long a stored response is replayed.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long a claim holds without renewal (the executor renews it while the handler runs):
    /// when a server dies mid-request, its key is free again after this.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The start of the problem `type` URIs; each problem appends its
    /// [`slug`](crate::Rejection::slug), e.g. `https://api.example.com/problems/` gives
    /// `https://api.example.com/problems/idempotency-key-missing`.
    pub fn with_problem_base(mut self, base: impl Into<String>) -> Self {
        self.settings.problem_base = base.into();
        self
    }

    /// The `WWW-Authenticate` header of the 401 answered when [`with_caller`](Self::with_caller)
    /// finds no caller: the challenge of your API's authentication scheme, e.g.
    /// `Bearer realm="api"` or `Basic realm="api", charset="UTF-8"`. HTTP requires a 401 to carry
    /// at least one challenge (RFC 9110, section 15.5.2).
    ///
    /// ```
    /// use http::HeaderValue;
    /// use idem::http::IdempotencyLayer;
    /// use idem::executor::Executor;
    /// use idem::store::MemoryStore;
    ///
    /// let layer = IdempotencyLayer::builder(Executor::new(MemoryStore::new()))
    ///     .with_auth_challenge(HeaderValue::from_static(r#"Bearer realm="orders""#))
    ///     .build()?;
    /// # Ok::<(), idem::http::ConfigError>(())
    /// ```
    pub fn with_auth_challenge(mut self, challenge: HeaderValue) -> Self {
        self.settings.auth_challenge = challenge;
        self
    }

    /// Checks the settings and builds the layer.
    ///
    /// # Errors
    /// [`ConfigError`]: an empty tool id, a zero TTL, lease or wait timeout, no method.
    pub fn build(self) -> Result<IdempotencyLayer, ConfigError> {
        if self.settings.methods.is_empty() {
            return Err(ConfigError::NoMethods);
        }
        let policy = match self.in_progress {
            InProgress::Conflict => InProgressPolicy::Fail,
            InProgress::Wait { timeout } => InProgressPolicy::Wait { timeout },
        };
        let config = IdempotencyConfig::new()
            .ttl(self.ttl)
            .in_progress_ttl(self.lease)
            .on_in_progress(policy)
            .on_mismatch(MismatchPolicy::Reject)
            .persist_result(true);
        let spec = ToolSpec::function(self.tool_id, "http_request")
            .description("HTTP requests made idempotent by their Idempotency-Key header")
            .idempotency(config)
            .build()?;
        Ok(IdempotencyLayer::from_parts(
            self.executor,
            spec,
            self.settings,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idem_core::store::MemoryStore;

    fn builder() -> IdempotencyLayerBuilder {
        IdempotencyLayerBuilder::new(Arc::new(Executor::new(MemoryStore::new())))
    }

    #[test]
    fn server_errors_and_retry_later_statuses_are_released() {
        for stored in [200, 201, 204, 301, 400, 402, 404, 409, 422] {
            let status = StatusCode::from_u16(stored).unwrap();
            assert!(default_stored_response(status), "{status}");
        }
        for released in [408, 425, 429, 500, 502, 503, 504] {
            let status = StatusCode::from_u16(released).unwrap();
            assert!(!default_stored_response(status), "{status}");
        }
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        assert!(matches!(
            builder().with_methods([]).build(),
            Err(ConfigError::NoMethods)
        ));
        assert!(matches!(
            builder().with_ttl(Duration::ZERO).build(),
            Err(ConfigError::Spec(_))
        ));
        assert!(matches!(
            builder().with_tool_id("").build(),
            Err(ConfigError::Spec(_))
        ));
        let wait = InProgress::Wait {
            timeout: Duration::ZERO,
        };
        assert!(matches!(
            builder().with_in_progress(wait).build(),
            Err(ConfigError::Spec(_))
        ));
        assert!(builder().build().is_ok());
    }
}
