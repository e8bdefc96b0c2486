//! Field-based strategy, example 2 of the design document: order fulfillment.
//!
//! An order is fulfilled once, whatever warehouse or shipping method a retry names: the key is
//! the tool id and `order_id`, nothing else. A retry naming other details gets the shipment that
//! was made, flagged as differing from what it asked for (`MismatchPolicy::Replay`, opted in).
//!
//! `cargo run --example order_fulfillment`

use std::sync::atomic::{AtomicUsize, Ordering};

use idem::executor::{Executor, Outcome};
use idem::spec::{MismatchPolicy, ToolSpec};
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// Fulfill customer order.
#[derive(Idempotent, Clone, Debug)]
#[idem(tool = "order-fulfillment-v1", strategy = "fields")]
struct FulfillOrder {
    /// The order to ship: the only thing that identifies a fulfillment.
    #[idem(key)]
    order_id: String,
    /// Where to ship from (optional: the design document's `required=False`).
    warehouse_id: Option<String>,
    /// How to ship (optional).
    shipping_method: Option<String>,
}

/// The shipment the warehouse created.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Shipment {
    shipment_id: String,
    order_id: String,
    warehouse_id: String,
    shipping_method: String,
}

/// A stand-in for the warehouse system: counts the shipments it creates.
#[derive(Default)]
struct Warehouse {
    shipments: AtomicUsize,
}

impl Warehouse {
    async fn ship(&self, order: &FulfillOrder) -> Result<Shipment, std::io::Error> {
        let n = self.shipments.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Shipment {
            shipment_id: format!("shp-{n}"),
            order_id: order.order_id.clone(),
            warehouse_id: order.warehouse_id.clone().unwrap_or_else(|| "any".into()),
            shipping_method: order
                .shipping_method
                .clone()
                .unwrap_or_else(|| "standard".into()),
        })
    }

    fn shipments(&self) -> usize {
        self.shipments.load(Ordering::SeqCst)
    }
}

fn order(order_id: &str, warehouse: Option<&str>, method: Option<&str>) -> FulfillOrder {
    FulfillOrder {
        order_id: order_id.into(),
        warehouse_id: warehouse.map(Into::into),
        shipping_method: method.map(Into::into),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let executor = Executor::new(MemoryStore::new());
    // Different arguments under one key are refused by default. Here the design document's
    // behaviour is the point: "same order won't be fulfilled twice, regardless of warehouse or
    // shipping method". A retry with other details is the same order, and what its caller needs
    // is the shipment that exists (which names the warehouse and method actually used), with
    // `args_differ` telling it that its own details were not applied. So this tool opts in to
    // replaying with the mismatch flagged.
    let spec = ToolSpec::for_args::<FulfillOrder>()
        .configure(|c| c.on_mismatch(MismatchPolicy::Replay))
        .build()?;
    println!(
        "tool {} ({}): {}",
        spec.id(),
        spec.name(),
        spec.description()
    );
    for p in spec.parameters() {
        println!(
            "  parameter {} ({:?}, {})",
            p.name,
            p.kind,
            if p.required { "required" } else { "optional" }
        );
    }

    let warehouse = Warehouse::default();
    let ctx = Context::new().with_user("fulfillment-agent");

    // The same order, asked for three times with different details (an agent changing its mind,
    // a retry from another worker...). Only the first one ships.
    let attempts = [
        order("ord-1001", Some("wh-berlin"), Some("express")),
        order("ord-1001", Some("wh-paris"), Some("standard")),
        order("ord-1001", None, None),
    ];
    let mut first_key = None;
    for (i, attempt) in attempts.iter().enumerate() {
        let run = executor
            .execute(&spec, &ctx, attempt, || warehouse.ship(attempt))
            .await?;
        println!(
            "attempt {} (warehouse {:?}, shipping {:?}): {:?}, key {}, shipment {} from {} via {}, shipments {}",
            i + 1,
            attempt.warehouse_id,
            attempt.shipping_method,
            run.outcome,
            run.key.as_ref().map_or("-", |k| k.as_str()),
            run.output.shipment_id,
            run.output.warehouse_id,
            run.output.shipping_method,
            warehouse.shipments()
        );
        if i == 0 {
            assert_eq!(run.outcome, Outcome::Executed { took_over: false });
            first_key = run.key.clone();
        } else {
            // Replayed, and flagged: the details differ from the first call's.
            assert_eq!(run.outcome, Outcome::Replayed { args_differ: true });
            assert_eq!(run.key, first_key);
            assert_eq!(run.output.shipment_id, "shp-1");
            assert_eq!(run.output.warehouse_id, "wh-berlin");
        }
    }
    println!("ord-1001 shipped once, regardless of warehouse or shipping method");
    assert_eq!(warehouse.shipments(), 1);

    // Another order ships.
    let other = order("ord-1002", Some("wh-paris"), Some("standard"));
    let run = executor
        .execute(&spec, &ctx, &other, || warehouse.ship(&other))
        .await?;
    println!(
        "ord-1002: {:?}, shipment {}, shipments {}",
        run.outcome,
        run.output.shipment_id,
        warehouse.shipments()
    );
    assert!(run.outcome.executed());

    let shipments = warehouse.shipments();
    println!("shipments: {shipments} (one per order)");
    assert_eq!(shipments, 2);
    Ok(())
}
