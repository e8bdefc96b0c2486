//! The quick start: declare the payment tool of the design document and look at its keys.
//!
//! `cargo run --example quickstart`

use idem::{Context, Idempotent, KeyError};

/// Process a payment. A retry with the same transaction id is the same payment.
#[derive(Idempotent, Clone)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

fn main() -> Result<(), KeyError> {
    let ctx = Context::new().with_user("alice").with_session("s-1");
    let payment = ProcessPayment {
        transaction_id: "txn-0001".into(),
        customer_id: "cust-42".into(),
        amount: 10.5,
        currency: "EUR".into(),
    };
    let key = payment.idempotency_key(&ctx)?;
    println!("payment {} -> key {key}", payment.transaction_id);

    let retry = ProcessPayment {
        amount: 11.0,
        ..payment.clone()
    };
    let retry_key = retry.idempotency_key(&Context::new().with_user("bob"))?;
    println!(
        "retry with another amount and user -> {} key",
        if retry_key == key {
            "the same"
        } else {
            "another"
        }
    );

    let other = ProcessPayment {
        transaction_id: "txn-0002".into(),
        ..payment.clone()
    };
    println!("txn-0002 -> key {}", other.idempotency_key(&ctx)?);

    let empty = ProcessPayment {
        transaction_id: String::new(),
        ..payment
    };
    match empty.idempotency_key(&ctx) {
        Ok(key) => println!("unexpected key {key}"),
        Err(err) => println!("an empty transaction id is refused: {err}"),
    }
    println!(
        "check it from any language: idem key --tool payment-processor-v1 --strategy fields \
         --fields transaction_id --explain --args '{{\"transaction_id\":\"txn-0001\"}}'"
    );
    Ok(())
}
