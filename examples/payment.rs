//! Field-based strategy, example 1 of the design document: payment processing.
//!
//! A payment is identified by its `transaction_id` alone. A retry with the same transaction id
//! is the same payment, even when the customer or the amount differ: the card is never charged
//! twice. An exact retry gets the stored receipt; a retry whose arguments differ is refused by
//! default (`MismatchPolicy::Reject`), or, opted in with `MismatchPolicy::Replay` (the design
//! document's behaviour), gets the stored receipt with the difference flagged.
//!
//! `cargo run --example payment`

use std::sync::atomic::{AtomicUsize, Ordering};

use idem::executor::{ExecuteError, Executor, Outcome};
use idem::spec::{MismatchPolicy, ToolSpec};
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// Process payment transaction.
///
/// `strategy = "fields"`: the key is SHA-256 of the tool id and the `#[idem(key)]` fields only;
/// user and session do not take part.
#[derive(Idempotent, Clone, Debug)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

/// What the payment gateway returns; kept by the executor and replayed on retries.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Receipt {
    charge_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

/// A stand-in for the payment gateway: counts the charges it makes.
#[derive(Default)]
struct Gateway {
    charges: AtomicUsize,
}

impl Gateway {
    async fn charge(&self, payment: &ProcessPayment) -> Result<Receipt, std::io::Error> {
        let n = self.charges.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Receipt {
            charge_id: format!("ch_{n}"),
            customer_id: payment.customer_id.clone(),
            amount: payment.amount,
            currency: payment.currency.clone(),
        })
    }

    fn charges(&self) -> usize {
        self.charges.load(Ordering::SeqCst)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let executor = Executor::new(MemoryStore::new());
    // The spec (id, name, parameters, description) comes from the struct.
    let spec = ToolSpec::for_args::<ProcessPayment>().build()?;
    let gateway = Gateway::default();
    let alice = Context::new().with_user("alice").with_session("s-1");

    let payment = ProcessPayment {
        transaction_id: "txn-0001".into(),
        customer_id: "cust-42".into(),
        amount: 10.5,
        currency: "EUR".into(),
    };

    // 1. The first call charges the card.
    let first = executor
        .execute(&spec, &alice, &payment, || gateway.charge(&payment))
        .await?;
    let key = first.key.clone().expect("idempotency is on");
    println!(
        "first call:   {:?}, key {key}, receipt {} ({} {}), charges {}",
        first.outcome,
        first.output.charge_id,
        first.output.amount,
        first.output.currency,
        gateway.charges()
    );
    assert_eq!(first.outcome, Outcome::Executed { took_over: false });

    // 2. The same call again (a network retry): the receipt is replayed.
    let retry = executor
        .execute(&spec, &alice, &payment, || gateway.charge(&payment))
        .await?;
    println!(
        "exact retry:  {:?}, receipt {}, charges {}",
        retry.outcome,
        retry.output.charge_id,
        gateway.charges()
    );
    assert_eq!(retry.outcome, Outcome::Replayed { args_differ: false });
    assert_eq!(retry.output, first.output);

    // 3. The same transaction id with another customer and amount, by another user: still the
    //    same payment, so the card is not charged again. By default (`MismatchPolicy::Reject`)
    //    the altered retry is refused, as Stripe and the IETF Idempotency-Key draft do: handing
    //    bob alice's receipt for 10.5 EUR when he asked to pay 99.0 would tell him a payment
    //    went through that he never made.
    let altered = ProcessPayment {
        customer_id: "cust-99".into(),
        amount: 99.0,
        ..payment.clone()
    };
    let bob = Context::new().with_user("bob").with_session("s-9");
    match executor
        .execute(&spec, &bob, &altered, || gateway.charge(&altered))
        .await
    {
        Err(err @ ExecuteError::ArgumentsMismatch { .. }) => {
            println!(
                "altered retry (cust-99, 99.0, user bob): refused, charges {}: {err}",
                gateway.charges()
            );
            assert!(err.to_string().contains(key.as_str()));
        }
        other => panic!("expected ArgumentsMismatch, got {other:?}"),
    }
    assert_eq!(gateway.charges(), 1, "a refused retry does not charge");

    //    The design document's behaviour is to treat the altered call as a plain duplicate:
    //    replay the first receipt and flag the difference. That is an opt-in
    //    (`MismatchPolicy::Replay`), for callers that check the flag; shown here so that both
    //    policies are seen on the same key. The mismatch is also logged as a warning.
    let lenient = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.on_mismatch(MismatchPolicy::Replay))
        .build()?;
    let flagged = executor
        .execute(&lenient, &bob, &altered, || gateway.charge(&altered))
        .await?;
    println!(
        "with MismatchPolicy::Replay: {:?}, same key: {}, receipt {} for {} {} \
         -> mismatch flagged: {}, charges {}",
        flagged.outcome,
        flagged.key.as_ref() == Some(&key),
        flagged.output.charge_id,
        flagged.output.customer_id,
        flagged.output.amount,
        flagged.outcome.args_differ(),
        gateway.charges()
    );
    assert_eq!(flagged.outcome, Outcome::Replayed { args_differ: true });
    assert_eq!(flagged.key.as_ref(), Some(&key));
    assert_eq!(
        flagged.output, first.output,
        "the original receipt is replayed"
    );

    // 4. Another transaction id is another payment: it is charged.
    let second = ProcessPayment {
        transaction_id: "txn-0002".into(),
        ..payment.clone()
    };
    let other = executor
        .execute(&spec, &alice, &second, || gateway.charge(&second))
        .await?;
    println!(
        "txn-0002:     {:?}, receipt {}, charges {}",
        other.outcome,
        other.output.charge_id,
        gateway.charges()
    );
    assert!(other.outcome.executed());
    assert_ne!(other.key.as_ref(), Some(&key));

    let charges = gateway.charges();
    println!("charges: {charges} (one per transaction id)");
    assert_eq!(charges, 2);
    let metrics = executor.metrics();
    println!(
        "metrics: executions {}, replays {}, mismatches {}",
        metrics.executions, metrics.replays, metrics.mismatches
    );
    // Both altered retries count as mismatches; only the replayed one counts as a replay.
    assert_eq!(
        (metrics.executions, metrics.replays, metrics.mismatches),
        (2, 2, 2)
    );
    Ok(())
}
