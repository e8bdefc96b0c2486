//! [`StorableOutput`]: what a tool's output must be for the executor to store and replay it.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An output the executor can store and replay: it is written to the store as JSON after the
/// tool's first run, and read back on every retry.
///
/// Implemented for every type that is both [`Serialize`] and [`DeserializeOwned`]; derive both
/// on your output type (with serde's `derive` feature):
///
/// ```
/// use idem::executor::StorableOutput;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Receipt {
///     charge_id: String,
///     amount: f64,
/// }
///
/// fn storable<T: StorableOutput>() {}
/// storable::<Receipt>();
/// ```
#[diagnostic::on_unimplemented(
    message = "the tool's output `{Self}` cannot be stored: it must implement serde's `Serialize` and `Deserialize`",
    label = "the executor stores this output and replays it on retries",
    note = "add `#[derive(serde::Serialize, serde::Deserialize)]` to `{Self}` (serde with its `derive` feature), or return a type that has both"
)]
pub trait StorableOutput: Serialize + DeserializeOwned {}

// `do_not_recommend`: a type without serde gets the message above, about the output, rather
// than one error per missing serde trait naming serde's internals.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned> StorableOutput for T {}
