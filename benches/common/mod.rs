//! The tool both executor benchmarks call: the design document's payment, with no I/O, so that
//! what is measured around it is idem's and the store's.

use std::convert::Infallible;

use idem::Idempotent;
use serde::{Deserialize, Serialize};

/// The design document's payment, keyed on its transaction id (as in `benches/key.rs`).
#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
pub struct ProcessPayment {
    #[idem(key)]
    pub transaction_id: String,
    pub customer_id: String,
    pub amount: f64,
    pub currency: String,
}

/// The tool id of [`ProcessPayment`].
pub const TOOL: &str = "payment-processor-v1";

/// What the tool returns: a small struct.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Receipt {
    pub charge_id: u64,
    pub amount: f64,
    pub approved: bool,
}

/// The receipt of a payment.
pub fn receipt(args: &ProcessPayment) -> Receipt {
    Receipt {
        charge_id: args.transaction_id.len() as u64,
        amount: args.amount,
        approved: true,
    }
}

/// The tool.
pub async fn charge(args: &ProcessPayment) -> Result<Receipt, Infallible> {
    Ok(receipt(args))
}

/// Payment `id`; ids have a fixed width, so every key hashes an envelope of the same length.
pub fn payment(id: u64) -> ProcessPayment {
    ProcessPayment {
        transaction_id: format!("txn-{id:012}"),
        customer_id: "cust-7".into(),
        amount: 10.5,
        currency: "EUR".into(),
    }
}
