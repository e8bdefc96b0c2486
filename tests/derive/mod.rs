//! What the derived tests share: keys computed by the runtime strategies over JSON, to compare
//! with the derived ones, and the design document's payment.

mod key_functions;
mod strategies;
mod values;
mod variants;

use idem::key::JsonArgs;
use idem::strategy::{KeyInput, KeyStrategy};
use idem::{Context, IdempotencyKey, Idempotent};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &str) -> String {
    hex::encode(Sha256::digest(bytes.as_bytes()))
}

/// The key the runtime strategy computes for the same arguments given as JSON.
fn json_key(strategy: &dyn KeyStrategy, tool: &str, args: &Value, ctx: &Context) -> IdempotencyKey {
    let args = JsonArgs::new(args).unwrap();
    strategy.key(&KeyInput::new(tool, &args, ctx)).unwrap()
}

fn json_key_fields(
    strategy: &dyn KeyStrategy,
    tool: &str,
    args: &Value,
    ctx: &Context,
    fields: &[&str],
) -> IdempotencyKey {
    let args = JsonArgs::new(args).unwrap();
    let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    strategy
        .key(&KeyInput::new(tool, &args, ctx).with_key_fields(&fields))
        .unwrap()
}

#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

fn payment(transaction_id: &str, amount: f64) -> ProcessPayment {
    ProcessPayment {
        transaction_id: transaction_id.into(),
        customer_id: "cust-7".into(),
        amount,
        currency: "EUR".into(),
    }
}

/// The design document's high-security payment: SHA-512 over the user and three key fields.
#[derive(Idempotent, Serialize)]
#[idem(
    tool = "secure-payment-v1",
    strategy = "hash",
    algorithm = "sha512",
    include_session = false
)]
struct SecurePayment {
    #[idem(key)]
    transaction_id: String,
    #[idem(key)]
    amount: f64,
    #[idem(key)]
    timestamp: u64,
    note: String,
}
