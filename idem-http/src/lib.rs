//! # Idempotent HTTP endpoints: the `Idempotency-Key` header on idem
//!
//! A tower [`Layer`](tower::Layer), [`IdempotencyLayer`], that makes `POST` and `PATCH`
//! endpoints (or the methods you choose) idempotent as the IETF draft
//! [The Idempotency-Key HTTP Header Field](https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/)
//! (draft 07) describes, on top of idem's [`Executor`](idem_core::executor::Executor) and any
//! of its [stores](idem_core::store): a client sends a unique key with a request, and every
//! retry of that request with that key gets the first response back, byte for byte, while the
//! handler ran once. With the facade: `idem = { version = "0.1", features = ["http-server"] }`,
//! then `idem::http`.
//!
//! ```
//! use axum::body::{Body, to_bytes};
//! use axum::http::{Request, StatusCode};
//! use axum::{Router, routing::post};
//! use idem::executor::Executor;
//! use idem::http::IdempotencyLayer;
//! use idem::store::MemoryStore;
//! use tower::ServiceExt; // oneshot
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = IdempotencyLayer::builder(Executor::new(MemoryStore::new())).build()?;
//! let create = |body: String| async move { (StatusCode::CREATED, format!("order of {body}")) };
//! let app = Router::new().route("/orders", post(create)).layer(layer);
//!
//! let order = |key: &str| {
//!     Request::post("/orders")
//!         .header("idempotency-key", key)
//!         .body(Body::from("2 apples"))
//!         .unwrap()
//! };
//! let key = r#""8e03978e-40d5-43e8-bc93-6894a57f9324""#;
//! let first = app.clone().oneshot(order(key)).await?;
//! assert_eq!(first.status(), StatusCode::CREATED);
//!
//! // The retry is answered from the store: same status, same body, flagged as a replay.
//! let retry = app.clone().oneshot(order(key)).await?;
//! assert_eq!(retry.status(), StatusCode::CREATED);
//! assert_eq!(retry.headers()["idempotent-replayed"], "true");
//! assert_eq!(to_bytes(retry.into_body(), 1024).await?, "order of 2 apples");
//!
//! // No key on a covered route: 400, with problem details (RFC 9457).
//! let no_key = Request::post("/orders").body(Body::from("2 apples"))?;
//! let refused = app.clone().oneshot(no_key).await?;
//! assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
//! assert_eq!(refused.headers()["content-type"], "application/problem+json");
//! # Ok(())
//! # }
//! ```
//!
//! ## What a covered request goes through
//!
//! 1. **The key.** The `Idempotency-Key` header is a Structured Field string (RFC 9651), as
//!    the draft defines it: `Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"`, 1 to 255
//!    bytes. A bare value (`Idempotency-Key: 8e03978e-...`) is refused unless
//!    [`with_bare_keys`](IdempotencyLayerBuilder::with_bare_keys) accepts it; a published format
//!    can be enforced with [`with_key_format`](IdempotencyLayerBuilder::with_key_format).
//!    Missing: 400 (or, with [`with_key_required(false)`](IdempotencyLayerBuilder::with_key_required),
//!    the request passes through). Malformed: 400.
//! 2. **The caller.** A function of yours reads the caller from the request's head (an
//!    authentication header, an extension your authentication layer set) into idem's
//!    [`Context`](idem_core::Context): the key is idem's default strategy (key format v1) over
//!    the client's key, under the layer's tool id and that context's tenant, user and session,
//!    so two callers' keys never meet ([`with_caller`](IdempotencyLayerBuilder::with_caller)).
//! 3. **The body** is read whole, up to a limit (413 above,
//!    [`with_body_limit`](IdempotencyLayerBuilder::with_body_limit)).
//! 4. **The fingerprint**, SHA-256 of the method, the path and query, the chosen headers
//!    ([`with_fingerprint_headers`](IdempotencyLayerBuilder::with_fingerprint_headers)) and the
//!    body, tells a retry from a reuse of the key: the same key with another request gets 422.
//! 5. **The executor** claims the key in the store and runs the handler once. A retry after it
//!    finished gets the recorded response: its status, the headers of an allow-list
//!    ([`with_replayed_headers`](IdempotencyLayerBuilder::with_replayed_headers)) and its body,
//!    byte for byte, with `Idempotent-Replayed: true`. A duplicate while it runs gets 409, or
//!    waits and gets the replay ([`InProgress`]).
//!
//! Requests of other methods go to the service untouched.
//!
//! ## Which responses are stored
//!
//! 2xx, 3xx and 4xx responses (but 408, 425 and 429) are the outcome of the operation: they are
//! recorded and replayed. 5xx responses (and 408, 425, 429) say "not done, try again": they go to
//! the client, and the key is released through the executor's
//! [`OnFailure::Release`](idem_core::executor::OnFailure::Release), so that the retry runs the
//! handler again. [`default_stored_response`] says why; change it with
//! [`with_stored_responses`](IdempotencyLayerBuilder::with_stored_responses).
//!
//! ## Failures
//!
//! - **Fail closed.** A store error before the handler runs answers 503: the handler does not
//!   run.
//! - **A client that goes away** does not stop its request: a covered request runs in place,
//!   and if the server drops it mid-way (the connection closed), the rest of it runs on a task
//!   of its own, to the end; its response is recorded for the client's retry (otherwise the
//!   outcome of a request cut mid-way would be unknown, and no retry could run it).
//! - **A handler that panics** leaves an unknown outcome: the executor records it, the panic
//!   goes on as it would without the layer, and later requests with the key get 500
//!   ([`outcome-unknown`](#outcome-unknown)) until the record expires or an operator deletes it
//!   (`idem store ... delete`).
//! - **A server that dies** mid-request leaves a claim that another server takes over after the
//!   lease ([`with_lease`](IdempotencyLayerBuilder::with_lease)); meanwhile retries get 409.
//!
//! Covered responses are buffered whole (they are recorded): do not cover streaming endpoints.
//!
//! ## Problems
//!
//! The layer's own answers are problem details (RFC 9457, `application/problem+json`) with
//! `type`, `title`, `status` and `detail`. Each `type` is the problem base
//! ([`with_problem_base`](IdempotencyLayerBuilder::with_problem_base), by default these docs)
//! followed by a name, explained here ([`Rejection`]).
//!
//! ### idempotency-key-missing
//! 400: a covered request came without an `Idempotency-Key` header. Send a unique key (a UUID)
//! as a Structured Field string, and the same key on every retry of the request.
//!
//! ### idempotency-key-malformed
//! 400: the header is not one Structured Field string of 1 to 255 bytes (or does not have the
//! format the API publishes). The `detail` says what is wrong.
//!
//! ### caller-unknown
//! 401: the API's caller function found no caller in the request. The response carries the
//! `WWW-Authenticate` challenge of
//! [`with_auth_challenge`](IdempotencyLayerBuilder::with_auth_challenge) (`Bearer` by default).
//!
//! ### body-too-large
//! 413: the body is larger than the limit of the operation.
//!
//! ### body-unreadable
//! 400: the request body failed while being read.
//!
//! ### idempotency-key-reused
//! 422: the key was first used with another request (method, path, query, chosen headers or
//! body). A retry must send the same request; a new request needs a new key.
//!
//! ### request-in-progress
//! 409: a request with the same key is being processed. Retry (no change needed): once it is
//! done, the retry gets its response. `Retry-After` is set.
//!
//! ### first-attempt-failed
//! 503: this request waited for the first request with its key, which failed with a response
//! that is not stored. Retry: the retry runs the request.
//!
//! ### store-unavailable
//! 503: the idempotency store could not be used; the request was not processed. Retry later.
//!
//! ### outcome-unknown
//! 500: the first request with this key failed in a way that leaves its effect unknown (its
//! handler panicked); it is not run again under this key until its record expires or an
//! operator deletes it.
//!
//! ### internal-error
//! 500: any other failure on the server's side.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod call;
mod finish;
mod flow;
mod key_header;
mod layer;
mod recorded;
mod rejection;
mod service;

pub use builder::{
    ConfigError, DEFAULT_AUTH_CHALLENGE, DEFAULT_PROBLEM_BASE, IdempotencyLayerBuilder, InProgress,
    default_stored_response,
};
pub use key_header::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, KeyHeaderError, MAX_KEY_LEN};
pub use layer::IdempotencyLayer;
pub use rejection::{PROBLEM_JSON, Rejection};
pub use service::{Idempotency, ResponseBody, ResponseFuture};
