//! idem's HTTP client side, on [reqwest](https://docs.rs/reqwest): HTTP tools that run exactly
//! once, and a middleware that adds an `Idempotency-Key` header to outgoing requests.
//!
//! Depend on the `idem` crate with its `http` feature, which re-exports this one as
//! `idem::reqwest`; the examples here are written against it.
//!
//! | item | what |
//! |---|---|
//! | [`HttpTools`] | runs the tools of [`ToolSpec::http`](idem_core::spec::ToolSpec::http) specs through an [`Executor`](idem_core::executor::Executor): a duplicate call replays the recorded response; the call's key goes as the `Idempotency-Key` header; timeouts and `5xx` are retried under the same key (after the server's `Retry-After`, see [`RetryPolicy`]), then recorded as an unknown outcome |
//! | [`IdempotencyKeyMiddleware`] | for [`reqwest_middleware`]: adds `Idempotency-Key` (idem's key of the call, or a random one) to the chosen methods; placed before a retry middleware, every retry sends the same key |
//! | [`HeaderFormat`] | the key as a Structured Field string (`"key"`, as the IETF draft says) or bare |
//!
//! Both speak draft-ietf-httpapi-idempotency-key-header-07: a server that honours the header
//! (idem's own `idem::http` layer among them) runs a request once per key, so the client may
//! send it again after a timeout without running it twice.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod key_header;
mod middleware;
mod tools;

pub use key_header::{HeaderFormat, IDEMPOTENCY_KEY, KeyHeaderError};
pub use middleware::IdempotencyKeyMiddleware;
pub use tools::{HttpToolError, HttpTools, RequestError, RequestErrorKind, RetryPolicy};

/// The reqwest this crate is built on, for a [`reqwest::Client`] of the same version.
pub use reqwest;
/// The reqwest-middleware this crate is built on.
pub use reqwest_middleware;
