//! Exactly once under concurrency: 64 tasks on the multi-threaded runtime call the same tool with
//! the same key, round after round, on each store. The side effect happens once per distinct
//! key and every caller gets the same output.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use idem::executor::Executor;
use idem::spec::ToolSpec;
use idem::store::{MemoryStore, RedbStore, Store};
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

#[derive(Idempotent, Serialize, Deserialize, Clone)]
#[idem(tool = "order-fulfillment-v1", strategy = "fields")]
struct FulfillOrder {
    #[idem(key)]
    order_id: String,
    warehouse_id: String,
}

const TASKS: usize = 64;

/// The side effect: a ledger of shipments, and a counter.
#[derive(Default)]
struct Warehouse {
    shipments: Mutex<HashMap<String, usize>>,
    next: AtomicUsize,
}

impl Warehouse {
    async fn ship(&self, order: &FulfillOrder) -> Result<usize, std::io::Error> {
        // Yield so that racing tasks really interleave with the tool's run.
        tokio::task::yield_now().await;
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        *self
            .shipments
            .lock()
            .unwrap()
            .entry(order.order_id.clone())
            .or_default() += 1;
        Ok(id)
    }
}

/// Runs `rounds` rounds; in each, `TASKS` tasks call with keys drawn from `keys_per_round`
/// distinct order ids. Returns the number of distinct keys.
async fn race(store: Arc<dyn Store>, rounds: usize, keys_per_round: usize) -> usize {
    let executor = Arc::new(Executor::with_store(store));
    let spec = Arc::new(ToolSpec::for_args::<FulfillOrder>().build().unwrap());
    let warehouse = Arc::new(Warehouse::default());
    for round in 0..rounds {
        let mut tasks = Vec::with_capacity(TASKS);
        for task in 0..TASKS {
            let (executor, spec, warehouse) = (executor.clone(), spec.clone(), warehouse.clone());
            let order = FulfillOrder {
                order_id: format!("order-{round}-{}", task % keys_per_round),
                warehouse_id: format!("w-{}", task % keys_per_round),
            };
            tasks.push(tokio::spawn(async move {
                let execution = executor
                    .execute(&spec, &Context::new(), &order, || warehouse.ship(&order))
                    .await
                    .expect("every duplicate gets an output");
                (order.order_id, execution.output)
            }));
        }
        let mut outputs: HashMap<String, usize> = HashMap::new();
        for task in tasks {
            let (order_id, shipment) = task.await.unwrap();
            let first = *outputs.entry(order_id.clone()).or_insert(shipment);
            assert_eq!(
                first, shipment,
                "every caller of {order_id} gets the same output"
            );
        }
    }
    let shipments = warehouse.shipments.lock().unwrap();
    assert!(
        shipments.values().all(|&n| n == 1),
        "an order shipped twice"
    );
    assert_eq!(warehouse.next.load(Ordering::SeqCst), shipments.len());
    let metrics = executor.metrics();
    assert_eq!(metrics.executions as usize, shipments.len());
    assert_eq!(metrics.errors, 0);
    shipments.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_same_key_1000_rounds() {
    assert_eq!(race(Arc::new(MemoryStore::new()), 1000, 1).await, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_mixed_keys() {
    assert_eq!(race(Arc::new(MemoryStore::new()), 200, 7).await, 200 * 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redb_store_same_key_1000_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("idem.redb")).unwrap();
    assert_eq!(race(Arc::new(store), 1000, 1).await, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redb_store_mixed_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("idem.redb")).unwrap();
    assert_eq!(race(Arc::new(store), 100, 7).await, 100 * 7);
}

/// Two executors over one store race like two processes would: no in-process sharing between
/// them, only the store's atomic claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_executors_on_one_store_still_run_once() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let a = Arc::new(Executor::with_store(store.clone()));
    let b = Arc::new(Executor::with_store(store));
    let spec = Arc::new(ToolSpec::for_args::<FulfillOrder>().build().unwrap());
    let warehouse = Arc::new(Warehouse::default());
    for round in 0..200 {
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let executor = if task % 2 == 0 { a.clone() } else { b.clone() };
            let (spec, warehouse) = (spec.clone(), warehouse.clone());
            tasks.push(tokio::spawn(async move {
                let order = FulfillOrder {
                    order_id: format!("order-{round}"),
                    warehouse_id: "w".into(),
                };
                executor
                    .execute(&spec, &Context::new(), &order, || warehouse.ship(&order))
                    .await
                    .unwrap()
                    .output
            }));
        }
        let mut outputs = Vec::new();
        for task in tasks {
            outputs.push(task.await.unwrap());
        }
        assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    }
    assert!(
        warehouse
            .shipments
            .lock()
            .unwrap()
            .values()
            .all(|&n| n == 1)
    );
    assert_eq!(warehouse.next.load(Ordering::SeqCst), 200);
}
