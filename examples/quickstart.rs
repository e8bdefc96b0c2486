//! The quick start, on the embedded default store (a redb file).
//!
//! ```console
//! cargo run --example quickstart    # first run: the payment runs once, duplicates replay,
//!                                   # a retry with another amount is refused
//! cargo run --example quickstart    # second run: a new process replays everything from the file
//! ```
//!
//! The store file is `$IDEM_QUICKSTART_DB`, or `idem-quickstart.redb` in the system's temporary
//! folder; the first line says which, and whether it was created or reopened (with the number of
//! records found). Delete it, or set `IDEM_QUICKSTART_DB` to another path, to start over.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idem::executor::{ExecuteError, Executor, Outcome};
use idem::spec::ToolSpec;
use idem::store::{RedbStore, Store};
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// Process a payment. A retry with the same transaction id is the same payment.
#[derive(Idempotent, Serialize, Deserialize, Clone)]
#[idem(tool = "payment-processor-v1", strategy = "fields", ttl = "24h")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

/// What the payment gateway answers.
#[derive(Serialize, Deserialize, Debug, Clone)]
struct Receipt {
    charge_id: String,
    amount: f64,
    currency: String,
}

/// The side effect we must never repeat: charging the card. Counts charges in this process.
static CHARGES: AtomicUsize = AtomicUsize::new(0);

async fn charge_card(args: ProcessPayment) -> Result<Receipt, std::io::Error> {
    let n = CHARGES.fetch_add(1, Ordering::SeqCst) + 1;
    // A real gateway takes a while; duplicates arriving meanwhile must wait, not charge.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    Ok(Receipt {
        charge_id: format!("ch_{}_{n}", args.transaction_id),
        amount: args.amount,
        currency: args.currency,
    })
}

fn describe(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Executed { took_over: false } => "EXECUTED (the card was charged)",
        Outcome::Executed { took_over: true } => "EXECUTED after taking over a crashed claim",
        Outcome::Replayed { args_differ: false } => "REPLAYED from the store (no charge)",
        Outcome::Replayed { args_differ: true } => {
            "REPLAYED, but the arguments differ from the first call (flagged)"
        }
        Outcome::Joined { .. } => "JOINED a running duplicate (no charge)",
        Outcome::NotIdempotent => "ran without idempotency",
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::var_os("IDEM_QUICKSTART_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("idem-quickstart.redb"));
    let existed = path.exists();
    let store = RedbStore::open(&path)?;
    if existed {
        let found = store.list().await?.len();
        println!(
            "store: {} (reopened: {found} record{} from earlier runs)",
            path.display(),
            if found == 1 { "" } else { "s" }
        );
    } else {
        println!("store: {} (created)", path.display());
    }
    let executor = Arc::new(Executor::new(store));
    let spec = Arc::new(ToolSpec::for_args::<ProcessPayment>().build()?);
    let ctx = Context::new().with_user("alice");

    let payment = ProcessPayment {
        transaction_id: "txn-0001".into(),
        customer_id: "cust-42".into(),
        amount: 10.5,
        currency: "EUR".into(),
    };

    println!("\n1. pay");
    let first = executor
        .execute(&spec, &ctx, &payment, || charge_card(payment.clone()))
        .await?;
    println!("   {} -> {:?}", describe(&first.outcome), first.output);
    if let Some(key) = &first.key {
        println!("   key {key}");
    }

    println!("\n2. the agent retries the same step");
    let retry = executor
        .execute(&spec, &ctx, &payment, || charge_card(payment.clone()))
        .await?;
    println!("   {} -> {:?}", describe(&retry.outcome), retry.output);

    println!("\n3. ten duplicates race for a new transaction");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (executor, spec, ctx) = (executor.clone(), spec.clone(), ctx.clone());
        tasks.push(tokio::spawn(async move {
            let race = ProcessPayment {
                transaction_id: "txn-0002".into(),
                customer_id: "cust-42".into(),
                amount: 20.0,
                currency: "EUR".into(),
            };
            executor
                .execute(&spec, &ctx, &race, || charge_card(race.clone()))
                .await
        }));
    }
    let mut tally = std::collections::BTreeMap::new();
    for task in tasks {
        let execution = task.await??;
        *tally.entry(describe(&execution.outcome)).or_insert(0) += 1;
    }
    for (what, n) in &tally {
        println!("   {n:2} x {what}");
    }

    println!("\n4. a retry with the same transaction id but another amount");
    // Same key, other arguments: refused by default (`MismatchPolicy::Reject`), as Stripe and
    // the IETF Idempotency-Key draft do. Replaying the 10.5 EUR receipt would tell the caller
    // that 99 EUR were charged; charging would pay twice. A tool whose key alone identifies the
    // call can opt in to replaying with a flag instead:
    // `ToolSpec::for_args::<ProcessPayment>().configure(|c| c.on_mismatch(MismatchPolicy::Replay))`.
    let changed = ProcessPayment {
        amount: 99.0,
        ..payment.clone()
    };
    match executor
        .execute(&spec, &ctx, &changed, || charge_card(changed.clone()))
        .await
    {
        Err(err @ ExecuteError::ArgumentsMismatch { .. }) => {
            println!("   REFUSED (no charge): {err}");
        }
        Ok(run) => panic!("the changed retry was not refused: {:?}", run.outcome),
        Err(err) => return Err(err.into()),
    }

    let charges = CHARGES.load(Ordering::SeqCst);
    let metrics = executor.metrics();
    println!(
        "\ncards charged by this process: {charges}; executions {}, replays {}, joins {}, mismatches {}",
        metrics.executions, metrics.replays, metrics.joins, metrics.mismatches
    );
    if metrics.executions == 0 {
        println!(
            "nothing ran: every call replayed the records of earlier runs from {}",
            path.display()
        );
        println!(
            "to start over: remove that file, or point IDEM_QUICKSTART_DB at another path \
             (IDEM_QUICKSTART_DB=/tmp/fresh.redb cargo run --example quickstart)"
        );
    } else {
        println!(
            "run it again: a new process will replay every call from the file, charging nothing"
        );
    }
    assert!(charges <= 2, "a payment was charged twice");
    Ok(())
}
