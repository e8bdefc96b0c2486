//! What the bad-value tests share: the key of JSON arguments, as a value or as text, the
//! fingerprint of a call, and a float that can be a map key.

mod big_integers;
mod depth;
mod json_text;
mod map_keys;
mod non_finite;

use idem::key::{JsonArgs, parse_json_arguments};
use idem::strategy::{DefaultStrategy, KeyInput, KeyStrategy};
use idem::{Context, IdempotencyKey, KeyError};
use serde::Serialize;
use serde_json::Value;

/// The key of JSON arguments under the default strategy, with no context.
fn json_key(args: &Value) -> Result<IdempotencyKey, KeyError> {
    let args = JsonArgs::new(args)?;
    DefaultStrategy::new().key(&KeyInput::new("t", &args, &Context::new()))
}

/// The fingerprint the executor stores with a call (the canonical arguments object).
fn fingerprint(input: &impl idem::executor::ToolInput) -> Result<String, KeyError> {
    idem::executor::ToolInput::fingerprint(input)
}

/// The key of JSON arguments given as text.
fn text_key(text: &str) -> Result<IdempotencyKey, KeyError> {
    json_key(&parse_json_arguments(text)?)
}

/// An `f64` that can be a map key (serde_json writes a float key as the float's text), ordered
/// by `total_cmp`.
#[derive(Serialize)]
struct FloatKey(f64);
impl PartialEq for FloatKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for FloatKey {}
impl PartialOrd for FloatKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for FloatKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
