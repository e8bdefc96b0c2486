//! idem for [rig](https://docs.rs/rig-core): an agent's duplicate tool call never runs twice.
//!
//! Models repeat tool calls: an agent loop retried after a timeout, a step replayed after a
//! crash, a model that asks twice. Wrap a rig [`Tool`](rig_core::tool::Tool) whose arguments
//! derive [`Idempotent`](idem_core::Idempotent) in an [`IdempotentTool`] (or call
//! [`.idempotent(executor)`](IdempotentToolExt::idempotent) on it) and register it as before:
//! the first call with a key runs the tool and stores its output; every duplicate gets that
//! output back without running it. The wrapper is a rig `Tool`, so `ToolSet`, `ToolServer` and
//! agent builders take it unchanged.
//!
//! - Arguments rig cannot parse fail as before, without claiming a key.
//! - The tool's errors keep the tool's own mapping; whether a failure is retried or remembered
//!   is [`IdempotentTool::on_failure`]'s choice.
//! - idem's own errors (a duplicate with other arguments, a call still running, an unknown
//!   outcome after a crash) become [`ToolExecutionError`](rig_core::tool::ToolExecutionError)s
//!   with the code `idem.<kind>` and feedback the model can act on.
//! - After each call, the result metadata of rig's `ToolContext` holds an [`IdemCall`]: the
//!   outcome (`executed`, `replayed`, ...) and the key, for the host, never the model.
//!
//! Use it through the `idem` crate with its `rig` feature, as `idem::rig`. See
//! [`IdempotentTool`] for an example.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod ext;
mod record;
mod tool;

pub use ext::IdempotentToolExt;
pub use record::IdemCall;
pub use tool::IdempotentTool;
