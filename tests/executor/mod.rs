//! What the executor tests share: the design document's payment, a gateway that counts its
//! charges, and an executor on the in-memory store with a manual clock.

mod failing_store;
mod keys;
mod leases;
mod replays;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idem::Idempotent;
use idem::clock::ManualClock;
use idem::executor::Executor;
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use serde::{Deserialize, Serialize};

/// Charge a customer's card.
#[derive(Idempotent, Serialize, Deserialize, Clone, Debug)]
#[idem(
    tool = "payment-processor-v1",
    strategy = "fields",
    ttl = "24h",
    lease = "30s"
)]
struct ProcessPayment {
    /// The caller's transaction id.
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    note: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Receipt {
    charge_id: usize,
    amount: f64,
}

#[derive(Debug, PartialEq)]
enum PaymentError {
    Declined,
    Timeout,
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PaymentError::Declined => "card declined",
            PaymentError::Timeout => "gateway timeout",
        })
    }
}

fn payment(txn: &str, amount: f64) -> ProcessPayment {
    ProcessPayment {
        transaction_id: txn.into(),
        customer_id: "cust-1".into(),
        amount,
        note: None,
    }
}

const T0: u64 = 1_800_000_000;

fn setup() -> (Executor, Arc<ManualClock>, ToolSpec) {
    let clock = Arc::new(ManualClock::at_unix_seconds(T0));
    let store = MemoryStore::new().with_clock(clock.clone());
    let executor = Executor::new(store).with_clock(clock.clone());
    let spec = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    (executor, clock, spec)
}

/// A tool that counts its runs.
#[derive(Clone, Default)]
struct Gateway {
    charges: Arc<AtomicUsize>,
}

impl Gateway {
    async fn charge(&self, args: &ProcessPayment) -> Result<Receipt, PaymentError> {
        let charge_id = self.charges.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Receipt {
            charge_id,
            amount: args.amount,
        })
    }
    fn count(&self) -> usize {
        self.charges.load(Ordering::SeqCst)
    }
}
