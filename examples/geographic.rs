//! Custom strategy, example 2 of the design document: geographic partitioning.
//!
//! The key is `{tool}:{region}:{user}:{order_id}`: the same order processed in `us-west` and in
//! `eu-central` are two operations, and both run; a retry in the same region is a duplicate.
//!
//! `cargo run --example geographic`

use std::sync::Mutex;

use idem::executor::{Executor, Outcome};
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// Process order in specific region.
#[derive(Idempotent, Clone, Debug)]
#[idem(tool = "geo-distributed-v1", key_with = geo_based_key)]
struct ProcessOrder {
    order_id: String,
    region: String,
}

/// The design document's `geo_based_key`. The key is used as it is (custom keys are not hashed):
/// it must be 1 to 255 bytes with no control characters, or the call fails with
/// `KeyError::InvalidCustomKey`.
fn geo_based_key(args: &ProcessOrder, ctx: &Context, tool: &str) -> String {
    let region = if args.region.is_empty() {
        "default"
    } else {
        &args.region
    };
    let user = ctx.user_id().unwrap_or("anonymous");
    format!("{tool}:{region}:{user}:{}", args.order_id)
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Processed {
    order_id: String,
    region: String,
    run: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let executor = Executor::new(MemoryStore::new());
    let spec = ToolSpec::for_args::<ProcessOrder>().build()?;
    let ctx = Context::new().with_user("alice");
    // Which regions actually processed something, in order.
    let processed = Mutex::new(Vec::<String>::new());
    let process = |order: &ProcessOrder| {
        let mut log = processed.lock().expect("not poisoned");
        log.push(order.region.clone());
        let done = Processed {
            order_id: order.order_id.clone(),
            region: order.region.clone(),
            run: log.len(),
        };
        async move { Ok::<_, std::io::Error>(done) }
    };

    let us = ProcessOrder {
        order_id: "ord-9".into(),
        region: "us-west".into(),
    };
    let eu = ProcessOrder {
        region: "eu-central".into(),
        ..us.clone()
    };

    for (label, order) in [
        ("us-west", &us),
        ("eu-central", &eu),
        ("us-west retry", &us),
    ] {
        let run = executor
            .execute(&spec, &ctx, order, || process(order))
            .await?;
        println!(
            "{label:<14}: {:?}, key {}, output {:?}",
            run.outcome,
            run.key.as_ref().map_or("-", |k| k.as_str()),
            run.output
        );
        match label {
            "us-west retry" => {
                assert_eq!(run.outcome, Outcome::Replayed { args_differ: false });
                assert_eq!(run.output.run, 1);
            }
            _ => assert!(run.outcome.executed()),
        }
    }

    let us_key = us.idempotency_key(&ctx)?;
    let eu_key = eu.idempotency_key(&ctx)?;
    assert_eq!(us_key.as_str(), "geo-distributed-v1:us-west:alice:ord-9");
    assert_eq!(eu_key.as_str(), "geo-distributed-v1:eu-central:alice:ord-9");
    println!("without a user: {}", us.idempotency_key(&Context::new())?);

    let processed = processed.into_inner().expect("not poisoned");
    println!(
        "processed {} times, in: {} (same order in US-WEST is separate from EU-CENTRAL)",
        processed.len(),
        processed.join(", ")
    );
    assert_eq!(processed, ["us-west", "eu-central"]);
    Ok(())
}
