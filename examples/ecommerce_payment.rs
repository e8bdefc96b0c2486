//! Use case 1 of the design document: e-commerce payment processing.
//!
//! Idempotent by `transaction_id`, results kept (`persist_result`) for 24 hours (`ttl`): a retry
//! within 24 hours gets the cached receipt; once the record has expired, the same transaction id
//! is processed again. A `ManualClock`, given to the store (whose clock decides expiry), moves
//! time forward without sleeping.
//!
//! `cargo run --example ecommerce_payment`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use idem::clock::ManualClock;
use idem::executor::{Executor, Outcome};
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// Process e-commerce payment.
#[derive(Idempotent, Clone, Debug)]
#[idem(
    tool = "ecommerce-payment-v1",
    name = "process_payment",
    strategy = "fields",
    persist_result = true,
    ttl = "24h"
)]
struct EcommercePayment {
    /// Only the transaction id matters.
    #[idem(key)]
    transaction_id: String,
    order_id: String,
    amount: f64,
    payment_method: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Receipt {
    receipt_id: String,
    transaction_id: String,
    amount: f64,
}

/// 2026-11-27 10:31:05 UTC.
const START: u64 = 1_795_775_465;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::at_unix_seconds(START));
    // The store's clock decides when a record expires; the executor's drives key computation
    // (and the times it reports). Both read the one manual clock, so moving it ages the records.
    let store = MemoryStore::new().with_clock(clock.clone());
    let executor = Executor::new(store).with_clock(clock.clone());
    let spec = ToolSpec::for_args::<EcommercePayment>().build()?;
    let config = spec.idempotency();
    println!(
        "tool {} ({}): persist_result {}, ttl {:?}",
        spec.id(),
        spec.name(),
        config.persists_result(),
        config.result_ttl()
    );
    assert_eq!(config.result_ttl(), Duration::from_secs(86_400));

    let payments = AtomicUsize::new(0);
    let process = |p: &EcommercePayment| {
        let n = payments.fetch_add(1, Ordering::SeqCst) + 1;
        let receipt = Receipt {
            receipt_id: format!("rcpt-{n}"),
            transaction_id: p.transaction_id.clone(),
            amount: p.amount,
        };
        async move { Ok::<_, std::io::Error>(receipt) }
    };
    let ctx = Context::new().with_user("shopper-1");
    let payment = EcommercePayment {
        transaction_id: "txn-5001".into(),
        order_id: "ord-77".into(),
        amount: 59.9,
        payment_method: "card".into(),
    };

    let report = |label: &str, outcome: Outcome, receipt: &Receipt, clock: &ManualClock| {
        println!(
            "t+{:>5}s {label:<32}: {outcome:?}, receipt {} for {}, payments {}",
            clock.unix_seconds() - START,
            receipt.receipt_id,
            receipt.transaction_id,
            payments.load(Ordering::SeqCst)
        );
    };

    // 1. Processed.
    let first = executor
        .execute(&spec, &ctx, &payment, || process(&payment))
        .await?;
    report("first attempt", first.outcome, &first.output, &clock);
    assert!(first.outcome.executed());

    // 2. A retry ten minutes later: the cached receipt.
    clock.advance(Duration::from_secs(600));
    let retry = executor
        .execute(&spec, &ctx, &payment, || process(&payment))
        .await?;
    report("retry after 10 min", retry.outcome, &retry.output, &clock);
    assert_eq!(retry.outcome, Outcome::Replayed { args_differ: false });
    assert_eq!(retry.output, first.output);

    // 3. Another transaction id: processed.
    let other = EcommercePayment {
        transaction_id: "txn-5002".into(),
        ..payment.clone()
    };
    let second = executor
        .execute(&spec, &ctx, &other, || process(&other))
        .await?;
    report(
        "another transaction id",
        second.outcome,
        &second.output,
        &clock,
    );
    assert!(second.outcome.executed());

    // 4. One second before the 24 hours are up: still the cached receipt.
    clock.set_unix_seconds(START + 86_400 - 1);
    let late = executor
        .execute(&spec, &ctx, &payment, || process(&payment))
        .await?;
    report("retry after 23h59m59s", late.outcome, &late.output, &clock);
    assert_eq!(late.outcome, Outcome::Replayed { args_differ: false });

    // 5. 24 hours after the first payment the record has expired: the same transaction id runs
    //    again. Choose the TTL longer than any retry can come.
    clock.set_unix_seconds(START + 86_400);
    let expired = executor
        .execute(&spec, &ctx, &payment, || process(&payment))
        .await?;
    report(
        "retry after 24 h (expired)",
        expired.outcome,
        &expired.output,
        &clock,
    );
    assert!(expired.outcome.executed());
    assert_ne!(expired.output.receipt_id, first.output.receipt_id);

    let payments = payments.load(Ordering::SeqCst);
    println!("payments: {payments} (txn-5001, txn-5002, txn-5001 again after expiry)");
    assert_eq!(payments, 3);
    Ok(())
}
