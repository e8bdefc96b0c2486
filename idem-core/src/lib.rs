//! The runtime of [idem](https://docs.rs/idem): idempotency keys for tool calls.
//!
//! - [`canonical`]: RFC 8785 canonical JSON, streamed straight into a hasher.
//! - [`IdempotencyKey`], [`Algorithm`], [`Context`]: the key model of key format v1
//!   (`docs/key-format.md`).
//! - [`KeyStrategy`] and the strategies of the design document: [`DefaultStrategy`],
//!   [`FieldsStrategy`], [`HashStrategy`], [`CustomStrategy`], kept by name in a [`Registry`].
//! - [`Arguments`]: a tool's arguments, from a derived struct or a JSON object ([`JsonArgs`]);
//!   [`Idempotent`]: what `#[derive(Idempotent)]` implements.
//!
//! ```
//! use idem_core::{Context, HashStrategy, JsonArgs, KeyInput, KeyStrategy};
//! use serde_json::json;
//!
//! let args = json!({"endpoint": "/data", "page": 2});
//! let args = JsonArgs::new(&args).unwrap();
//! let ctx = Context::new().with_user("alice").with_session("s-7");
//! let key = HashStrategy::new().key(&KeyInput::new("api-call-v1", &args, &ctx)).unwrap();
//! assert_eq!(key.as_str().len(), 64);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]
// docs.rs builds with `--cfg docsrs` (see Cargo.toml): every feature-gated item shows its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod canonical;

mod arguments;
mod clock;
mod context;
mod declared;
mod envelope;
mod error;
pub mod executor;
mod key;
mod registry;
pub mod spec;
pub mod store;
mod strategy;
mod window;

#[doc(hidden)]
pub mod __private;

pub use arguments::{Arguments, JsonArgs, parse_json_arguments, write_arguments_object};
pub use canonical::Canonical;
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::Context;
pub use declared::{
    DeclaredStrategy, Idempotent, KeyDeclaration, KeyFields, KeyOptions, ParameterDeclaration,
    ToolDeclaration,
};
pub use error::{BoxError, EncodeError, KeyError, RegistryError, UnknownAlgorithm};
pub use key::{Algorithm, IdempotencyKey, KeyExplanation, MAX_CUSTOM_KEY_LEN};
pub use registry::Registry;
pub use strategy::{
    CustomStrategy, DefaultStrategy, FieldsStrategy, HashStrategy, KeyInput, KeyStrategy,
};
pub use window::Window;
