//! # idem for MCP servers on rmcp
//!
//! MCP has no idempotency of its own: a tool may only say `idempotentHint`, and a client whose
//! server crashed retries against the fresh process. That is exactly where a payment runs twice.
//! With this crate (`idem::rmcp`, feature `rmcp` of `idem`) a tool of an rmcp server becomes
//! idempotent with one line where its router is built; the tool's function is unchanged:
//!
//! ```text
//! let tool_router = Self::tool_router().with_idempotent::<ProcessPayment>(&idem)?;
//! ```
//!
//! `ProcessPayment` is the tool's arguments type (`Parameters<ProcessPayment>`), deriving
//! `Deserialize` and `JsonSchema` for rmcp and [`Idempotent`](idem_core::Idempotent) for idem: its derived key is
//! the call's key. The same call twice runs the tool once; the second gets the first's result.
//!
//! ## Two styles, as rmcp has two
//!
//! - **Tools on a router** (`#[tool_router]`, `ToolRouter::with_route`, `AsyncTool`):
//!   [`IdempotentRouter::with_idempotent`] wraps the tool's route in place, found by the name the
//!   arguments type declares ([`Idempotency::wrap_route`] wraps a `ToolRoute` by hand). This is
//!   the style of choice: the router is where rmcp declares tools, the wrapped route is still a
//!   plain `ToolRoute` (merge routers, disable routes as before), and only wrapped tools pay for
//!   idem.
//! - **Tools in a hand-written `ServerHandler::call_tool`**: [`IdempotentHandler`] wraps the
//!   handler, and its `call_tool` goes through idem for the tools registered on it; everything
//!   else goes to the wrapped handler.
//!
//! Both run the same call ([`Idempotency`] holds the executor, the context mapping and the failure
//! policy). An attribute of our own on `#[tool]` would need a macro crate to rewrite rmcp's
//! macro output; one line at registration says the same and keeps rmcp's macros as they are.
//!
//! ## What the client sees
//!
//! | the call | the answer |
//! |---|---|
//! | first of its key | the tool's result, unchanged |
//! | a retry, or a duplicate that ran at the same time | the first call's result, its content byte for byte, `_meta` `"dev.idem/replayed": true` |
//! | same key, other arguments, [`MismatchPolicy::Replay`](idem_core::spec::MismatchPolicy::Replay) | the first call's result, with `"dev.idem/replayed": true, "dev.idem/argumentsDiffer": true` |
//! | same key, other arguments, [`MismatchPolicy::Reject`](idem_core::spec::MismatchPolicy::Reject) (the default) | a tool error saying so, `"dev.idem/error": "argumentsMismatch"`; the tool does not run |
//! | arguments that do not deserialize | rmcp's own tool error (`failed to deserialize parameters: ...`); no key is claimed |
//! | the tool panicked, or its request was cancelled while it ran | a tool error (an MCP error for the cancelled request); retries get a tool error `"dev.idem/error": "outcomeUnknown"` until the record expires: the tool never runs again early |
//! | the tool failed (`isError: true`, or an MCP error) | the failure as it is; the claim is released (a retry runs again) or, by [`Idempotency::with_on_failure`], remembered (a retry gets the same failure, marked replayed) |
//! | store failures and other refusals | see [`ErrorKind`] |
//!
//! `tools/list` shows `"idempotentHint": true` on wrapped tools (their other annotations kept).
//!
//! A result is stored as the tool's `CallToolResult` (JSON) with the TTL of the tool's spec; a
//! replay is that result with the markers added to its `_meta`.
//!
//! ## The caller's own key
//!
//! A client may send its own key in the request's `_meta`, under [`meta::KEY`]
//! (`"dev.idem/key"`): it then replaces the derived key. It is checked like every custom key
//! (1 to 255 bytes, no control characters; [`MAX_CUSTOM_KEY_LEN`](idem_core::key::MAX_CUSTOM_KEY_LEN))
//! and scoped by tool and tenant: the record is kept under the tool's id, as
//! `mcp-key:<tenant length>:<tenant>:<key>`, so that a caller's key never equals a derived key or
//! another tenant's key. The arguments are still compared (mismatch policy). A client that sends
//! a key must send it on every retry: a call with a key and one without are different calls.
//!
//! ## Who calls: the context
//!
//! idem's [`Context`](idem_core::Context) (tenant, user, session) comes from a mapping of the
//! request ([`Idempotency::with_context`]): its `_meta`, its extensions (over Streamable HTTP,
//! the HTTP request's `http::request::Parts`, with its headers), the MCP session. By default
//! ([`session_context`]) the MCP session id is the session, and nothing else.
//!
//! ## Crashes and cancellations
//!
//! A server process that dies while a tool runs stops renewing its claim: after the lease
//! (`#[idem(lease = "30s")]`), a retry in a new process takes the key over and runs the tool.
//! A panicking tool, or a request cancelled (`notifications/cancelled`, or a Streamable HTTP
//! client gone) while its tool runs, has an unknown outcome: idem records it and never runs the
//! call again before the record expires (the executor's rule, see [`idem::executor`](idem_core::executor)).
//!
//! ## Limits
//!
//! A tool that answers with an input request (MRTR) or a task has not completed: its claim is
//! released and the answer passes through; the retry that brings the input runs it under idem.
#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod call;
mod caller_key;
mod context;
mod error;
mod failure;
mod handler;
mod idempotency;
pub mod meta;
mod respond;
mod router;

pub use context::{session_context, session_id};
pub use error::{ErrorKind, WrapError};
pub use failure::Failure;
pub use handler::IdempotentHandler;
pub use idempotency::Idempotency;
pub use router::IdempotentRouter;
