//! The runtime of [idem](https://docs.rs/idem): a duplicate tool call never runs twice.
//!
//! Depend on the `idem` crate, which re-exports this one with the derives; the examples here
//! are written against it.
//!
//! ## The map of modules
//!
//! | at the root | what |
//! |---|---|
//! | [`Idempotent`] | a tool's argument type that knows its key: what `#[derive(Idempotent)]` implements |
//! | [`Canonical`] | a value with an RFC 8785 canonical form: what key fields are written with |
//! | [`Context`] | who calls: tenant, user, session |
//! | [`IdempotencyKey`], [`KeyError`] | a key, and why one could not be made |
//!
//! | module | what |
//! |---|---|
//! | [`key`] | key format v1: the key, digest algorithms, arguments (derived or JSON), time windows, errors |
//! | [`strategy`] | the strategies of the design document (default, fields, hash, custom) and their [`Registry`](strategy::Registry) |
//! | [`spec`] | tool specs: name, parameters, TTL, lease, and what a duplicate gets |
//! | [`executor`] | runs a tool once per key: claim, run, store, replay |
//! | [`store`] | where claims and results live: memory, redb (the default), SQLite, Redis, PostgreSQL |
//! | [`clock`] | time as the strategies and stores read it |
//! | [`canonical`] | RFC 8785 canonical JSON, written straight into a hasher |
//!
//! The path of a call: arguments -> [`key`] (by a [`strategy`]) -> [`executor`] -> [`store`].
//!
//! ```
//! use idem::Context;
//! use idem::key::JsonArgs;
//! use idem::strategy::{HashStrategy, KeyInput, KeyStrategy};
//! use serde_json::json;
//!
//! let args = json!({"endpoint": "/data", "page": 2});
//! let args = JsonArgs::new(&args)?;
//! let ctx = Context::new().with_user("alice").with_session("s-7");
//! let key = HashStrategy::new().key(&KeyInput::new("api-call-v1", &args, &ctx))?;
//! assert_eq!(key.as_str().len(), 64);
//! # Ok::<(), idem::KeyError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]
// docs.rs builds with `--cfg docsrs` (see Cargo.toml): every feature-gated item shows its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod canonical;
pub mod clock;
pub mod executor;
pub mod key;
pub mod spec;
pub mod store;
pub mod strategy;

mod context;
mod declared;
mod envelope;
mod error;
mod panic_message;

#[doc(hidden)]
pub mod __private;

pub use canonical::Canonical;
pub use context::Context;
pub use declared::Idempotent;
pub use error::KeyError;
pub use key::IdempotencyKey;
