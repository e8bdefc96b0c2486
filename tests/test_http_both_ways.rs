//! Both sides of HTTP at once: an HTTP tool (`idem::reqwest::HttpTools`) calling an endpoint
//! behind the `Idempotency-Key` layer (`idem::http`), each on a store of its own, over a real
//! socket on 127.0.0.1. The key the client sends is the one the server dedups on: a client that
//! times out and retries, and an agent that lost its own record and calls again, both meet the
//! one run of the handler.
#![cfg(all(feature = "http", feature = "http-server"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use idem::Context;
use idem::executor::{Executor, Outcome};
use idem::http::{IdempotencyLayer, InProgress};
use idem::reqwest::{HttpTools, RetryPolicy, reqwest};
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use serde_json::{Value, json};

/// An order endpoint whose first run is slower than the client's timeout, behind the layer.
async fn slow_orders() -> (String, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let place = move |body: String| {
        let runs = counted.clone();
        async move {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            if n == 1 {
                // Longer than the client waits: its first attempt times out.
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            let order: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            (
                StatusCode::CREATED,
                [("content-type", "application/json")],
                json!({"order": format!("o-{n}"), "sku": order["sku"]}).to_string(),
            )
        }
    };
    let layer = IdempotencyLayer::builder(Executor::new(MemoryStore::new()))
        .with_in_progress(InProgress::Conflict)
        .build()
        .expect("a valid layer");
    let app = Router::new().route("/orders", post(place)).layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/orders"), runs)
}

/// An agent's HTTP tool on a store of its own, with a short timeout and quick retries.
fn agent() -> HttpTools {
    HttpTools::new(Executor::new(MemoryStore::new()), reqwest::Client::new()).with_retry(
        RetryPolicy::new(10).with_backoff(Duration::from_millis(50), Duration::from_millis(200)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_times_out_and_retries_meets_one_run_of_the_handler() {
    let (url, runs) = slow_orders().await;
    let spec = ToolSpec::http("orders-v1", "place_order", "POST", url)
        .timeout(Duration::from_millis(150))
        .build()
        .expect("a valid spec");
    let ctx = Context::new().with_user("alice");
    let args = json!({"sku": "A-1"});

    // Attempt 1 times out while the handler runs; the retries under the same key get 409 while
    // it still runs, then the layer's replay of its response.
    let first = agent().call(&spec, &ctx, &args).await.expect("the call");
    assert_eq!(first.outcome, Outcome::Executed { took_over: false });
    assert_eq!(first.output, json!({"order": "o-1", "sku": "A-1"}));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the handler ran once");

    // Another agent process, whose own store has no record of the call, makes the same call:
    // the same key goes out, and the server replays.
    let again = agent().call(&spec, &ctx, &args).await.expect("the call");
    assert_eq!(again.key, first.key, "the same call has the same key");
    assert_eq!(again.output, first.output);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the handler still ran once");

    // Another order is another key: the handler runs for it.
    let other = agent()
        .call(&spec, &ctx, &json!({"sku": "B-2"}))
        .await
        .expect("the call");
    assert_eq!(other.output, json!({"order": "o-2", "sku": "B-2"}));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}
