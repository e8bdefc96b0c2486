//! # idem: a duplicate tool call never runs twice
//!
//! Services and AI agents call tools (`process_payment`, `fulfill_order`, `register_user`); calls
//! get retried, raced and replayed. idem lets you declare, on the tool's argument struct, how
//! duplicates are recognised: `#[derive(Idempotent)]` generates the key function of the chosen
//! strategy at compile time, and keys follow a written, versioned format (key format v1, in
//! `docs/key-format.md`) that another language can reproduce byte for byte.
//!
//! ```
//! use idem::{Context, Idempotent};
//!
//! #[derive(Idempotent)]
//! #[idem(tool = "payment-processor-v1", strategy = "fields")]
//! struct ProcessPayment {
//!     #[idem(key)]
//!     transaction_id: String,
//!     customer_id: String,
//!     amount: f64,
//!     currency: String,
//! }
//!
//! let first = ProcessPayment {
//!     transaction_id: "txn-0001".into(),
//!     customer_id: "c-42".into(),
//!     amount: 10.5,
//!     currency: "EUR".into(),
//! };
//! let retry = ProcessPayment {
//!     transaction_id: "txn-0001".into(),
//!     customer_id: "c-42".into(),
//!     amount: 11.0,
//!     currency: "EUR".into(),
//! };
//! let ctx = Context::new().with_user("alice");
//! // Only the transaction id identifies a payment: the retry is a duplicate.
//! assert_eq!(first.idempotency_key(&ctx)?, retry.idempotency_key(&ctx)?);
//! // The SHA-256 of {"args":{"transaction_id":"txn-0001"},"tool":"payment-processor-v1","v":1}
//! assert_eq!(
//!     first.idempotency_key(&ctx)?.as_str(),
//!     "fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b"
//! );
//! # Ok::<(), idem::KeyError>(())
//! ```
//!
//! ## The strategies
//!
//! | `strategy =` | selected arguments | context in the key | digest |
//! |---|---|---|---|
//! | `"default"` (or nothing) | key fields if any, else all fields | tenant, user, session | SHA-256 |
//! | `"fields"` | the `#[idem(key)]` fields (at least one) | tenant | SHA-256 |
//! | `"hash"` | key fields if any, else all fields | tenant; user and session as set | `algorithm` |
//! | `"custom"` | your `key_with` function decides | your function decides | none |
//!
//! ## Container attributes: `#[idem(...)]` on the struct
//!
//! | attribute | meaning |
//! |---|---|
//! | `tool = "id"` | the tool id, part of every key (required) |
//! | `strategy = "default" \| "fields" \| "hash" \| "custom"` | how keys are made (default: `"default"`) |
//! | `algorithm = "sha256" \| "sha384" \| "sha512"` | digest of the `hash` strategy (default `sha256`) |
//! | `include_user = true \| false` | `hash` only: the user id takes part (default `true`) |
//! | `include_session = true \| false` | `hash` only: the session id takes part (default `false`) |
//! | `window = "1m"` | built-in strategies: calls in the same window (`"30s"`, `"1m"`, `"1h"`) share a key |
//! | `generator = "name"` | use the strategy registered under `name` in [`strategy::Registry::global`] at run time |
//! | `key_with = path::to::fn` | the custom strategy's function: `fn(&Self, &Context, &str) -> String`, the `&str` being the tool id, or `fn(&Self, &KeyInput) -> String`, whose [`strategy::KeyInput`] also gives the key fields and the time of the call on the executor's clock ([`KeyInput::now`](strategy::KeyInput::now)); either may return `Result<String, E>` |
//! | `crate = "::path"` | where the runtime is, when `idem` is renamed or re-exported |
//! | `name = "process_payment"` | the tool's name in its [`spec::ToolSpec`] (default: the struct's name in snake case) |
//! | `ttl = "24h"` | how long a result is kept for replays (default 24 h) |
//! | `lease = "30s"` | how long a claim holds without a renewal before another caller may take it over; the executor renews it while the tool runs (default 30 s) |
//! | `persist_result = true \| false` | keep the output for replays, or only a marker that the call ran (default `true`) |
//!
//! ## Field attributes: `#[idem(...)]` on a field
//!
//! | attribute | meaning |
//! |---|---|
//! | `key` | the field identifies a call (required by `fields`; selects arguments for `default` and `hash`) |
//! | `skip` | the field never takes part in keys |
//! | `rename = "name"` | the name in the key; otherwise serde's name (`#[serde(rename)]`, `#[serde(rename_all)]`) |
//! | `allow_empty` | with `key`: null or `""` is a valid value rather than an error |
//! | `serde` | encode the field through `serde::Serialize` instead of [`Canonical`] |
//!
//! On the fields of an enum's variants (with `#[derive(Canonical)]`), `skip` leaves the field
//! out as `#[serde(skip)]` would (a newtype variant whose field is left out is written as a unit
//! variant), `serde` applies, and `rename` applies to named fields; `key` and `allow_empty` belong
//! on the tool's argument struct.
//!
//! ## Variant attributes: `#[idem(...)]` on an enum variant
//!
//! | attribute | meaning |
//! |---|---|
//! | `rename = "name"` | the variant's name in the key; otherwise serde's name (`#[serde(rename)]`, `#[serde(rename_all)]`) |
//!
//! `key`, `skip`, `allow_empty` and `serde` are field attributes: on a variant they are compile
//! errors that say where they belong.
//!
//! ## serde attributes
//!
//! Keys are built from what serde writes, so the derives read the `#[serde(...)]` attributes that
//! change it: `rename`, `rename_all`, `rename_all_fields`, `skip` and `skip_serializing` are
//! followed, and `skip_serializing_if` in `#[derive(Canonical)]` (a `#[derive(Idempotent)]`
//! struct always writes its fields); on a variant, `untagged` is followed (the variant is written
//! as its content alone) and `skip` makes writing that variant an error
//! ([`key::EncodeError::SkippedVariant`]), as it is for serde. Those idem cannot reproduce
//! are compile errors: `tag`, `content`, `untagged`, `transparent` and `into` on a type,
//! `flatten`, `serialize_with` and `with` on a field or variant. The others (`alias`, `other`,
//! `default`, ...) do not change what serde writes.
//!
//! Field values are encoded through [`Canonical`], implemented for the standard types; derive it
//! for nested types with `#[derive(Canonical)]`. Mistakes in attributes are compile errors that
//! point at the token at fault.
//!
//! ## Running tools exactly once
//!
//! An [`executor::Executor`] claims the key in a [`store`], runs the tool once, keeps the output
//! for the TTL and replays it on retry; duplicates racing in one process share one execution,
//! duplicates elsewhere wait for it, and a claim whose holder crashed is taken over after its
//! lease. A duplicate whose arguments differ from the first call's is refused by default
//! ([`spec::MismatchPolicy`]). Leases and TTLs run on the store's clock.
//! [`store::RedbStore`] (one file, the default) and [`store::MemoryStore`] ship with idem.
//!
//! ```
//! use idem::executor::{Executor, Outcome};
//! use idem::spec::ToolSpec;
//! use idem::store::MemoryStore;
//! use idem::{Context, Idempotent};
//!
//! #[derive(Idempotent, serde::Serialize)]
//! #[idem(tool = "user-registration-v1", strategy = "fields", ttl = "30d")]
//! struct RegisterUser {
//!     #[idem(key)]
//!     email: String,
//!     username: String,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let executor = Executor::new(MemoryStore::new());
//! let spec = ToolSpec::for_args::<RegisterUser>().build()?;
//! let args = RegisterUser { email: "ada@example.com".into(), username: "ada".into() };
//! let create = || async { Ok::<_, std::io::Error>(format!("user:{}", args.username)) };
//! let first = executor.execute(&spec, &Context::new(), &args, create).await?;
//! let retry = executor.execute(&spec, &Context::new(), &args, create).await?;
//! assert_eq!(first.outcome, Outcome::Executed { took_over: false });
//! assert_eq!(retry.outcome, Outcome::Replayed { args_differ: false });
//! assert_eq!(retry.output, "user:ada");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms)]
// docs.rs builds with `--cfg docsrs` (see Cargo.toml): every feature-gated item shows its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use idem_core::{
    Canonical, Context, IdempotencyKey, Idempotent, KeyError, canonical, clock, executor, key,
    spec, store, strategy,
};

/// HTTP tools that run exactly once, and an `Idempotency-Key` middleware for reqwest (feature
/// `http`).
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[doc(inline)]
pub use idem_reqwest as reqwest;

// What generated code names (`::idem::__private::...`); not public API.
#[doc(hidden)]
pub use idem_core::__private;

/// Idempotent HTTP endpoints: a tower layer for the `Idempotency-Key` header (feature
/// `http-server`).
#[cfg(feature = "http-server")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-server")))]
#[doc(inline)]
pub use idem_http as http;

/// Derives [`Idempotent`] for a tool's argument struct: see the crate documentation for the
/// attributes.
pub use idem_derive::Idempotent;

/// Derives [`Canonical`] for a struct or an enum nested in a tool's arguments, in serde's
/// default data model (enums externally tagged, `#[serde(untagged)]` variants as their content
/// alone). Field attributes `skip`, `rename` and `serde` apply, and `rename` on a variant.
///
/// ```
/// use idem::{Canonical, Context, Idempotent};
///
/// #[derive(Canonical)]
/// enum Shipping { Standard, Express { days: u8 } }
///
/// #[derive(Idempotent)]
/// #[idem(tool = "order-fulfillment-v1")]
/// struct FulfillOrder { order_id: String, shipping: Shipping }
///
/// let order = FulfillOrder { order_id: "o-1".into(), shipping: Shipping::Express { days: 2 } };
/// assert!(order.idempotency_key(&Context::new()).is_ok());
/// # let _ = Shipping::Standard;
/// ```
pub use idem_derive::Canonical;

/// Idempotent [rig](https://docs.rs/rig-core) tools: wrap a rig `Tool` whose arguments derive
/// [`Idempotent`], and an agent's duplicate calls replay the first call's output.
#[cfg(feature = "rig")]
#[cfg_attr(docsrs, doc(cfg(feature = "rig")))]
pub use idem_rig as rig;
/// MCP servers on rmcp: a tool becomes idempotent with one line at registration
/// (`router.with_idempotent::<Args>(&idem)?`); see the module's documentation.
#[cfg(feature = "rmcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "rmcp")))]
pub use idem_rmcp as rmcp;

/// The examples of README.md, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
