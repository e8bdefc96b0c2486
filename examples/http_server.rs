//! An HTTP API whose `POST /orders` is idempotent with the `Idempotency-Key` header: axum, with
//! idem's tower layer on the default redb store (or the in-memory one).
//!
//! ```console
//! $ cargo run --example http_server --features http-server
//! listening on http://127.0.0.1:3000
//! $ curl -i localhost:3000/orders -H 'Authorization: Bearer alice' \
//!     -H 'Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"' \
//!     -H 'Content-Type: application/json' -d '{"item":"apple","quantity":2}'
//! HTTP/1.1 201 Created                      # the order is placed
//! $ # the same command again:
//! HTTP/1.1 201 Created                      # the same order, from the store
//! idempotent-replayed: true
//! ```
//!
//! Without a key: 400; the same key with another body: 422; the same key while the first
//! request still runs (try `?latency_ms=3000`): 409. `GET /orders` (not covered) says how many
//! orders were placed.
//!
//! Settings from the environment: `IDEM_HTTP_ADDR` (default `127.0.0.1:3000`; port 0 picks a
//! free one, printed on the first line) and `IDEM_HTTP_STORE` (a redb file, default
//! `idem-http-example.redb` in the temporary directory; `memory` for a store in memory).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::header::{AUTHORIZATION, LOCATION};
use axum::http::{HeaderValue, StatusCode, request::Parts};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use idem::Context;
use idem::executor::Executor;
use idem::http::IdempotencyLayer;
use idem::store::{MemoryStore, RedbStore, Store};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct NewOrder {
    item: String,
    quantity: u32,
}

#[derive(Serialize)]
struct Order {
    id: u64,
    item: String,
    quantity: u32,
    /// Made on each run: a replay shows the first run's.
    placed_at_ms: u128,
}

#[derive(Deserialize)]
struct Latency {
    /// Pretends the payment provider is slow.
    latency_ms: Option<u64>,
}

/// The orders placed so far.
#[derive(Clone, Default)]
struct Orders(Arc<AtomicU64>);

async fn place_order(
    State(orders): State<Orders>,
    Query(latency): Query<Latency>,
    Json(order): Json<NewOrder>,
) -> impl IntoResponse {
    if let Some(ms) = latency.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms.min(30_000))).await;
    }
    let id = orders.0.fetch_add(1, Ordering::SeqCst) + 1;
    let placed_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let order = Order {
        id,
        item: order.item,
        quantity: order.quantity,
        placed_at_ms,
    };
    let location = [(LOCATION, format!("/orders/{id}"))];
    (StatusCode::CREATED, location, Json(order))
}

async fn count_orders(State(orders): State<Orders>) -> String {
    format!("{} orders placed\n", orders.0.load(Ordering::SeqCst))
}

/// The caller is the bearer token (a real API verifies it first, e.g. in an authentication
/// layer, and reads the user from there): each caller's keys are their own.
fn caller(parts: &Parts) -> Option<Context> {
    let token = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let user = token.strip_prefix("Bearer ")?;
    Some(Context::new().with_user(user))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("IDEM_HTTP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let store_path = std::env::var_os("IDEM_HTTP_STORE").map_or_else(
        || std::env::temp_dir().join("idem-http-example.redb"),
        PathBuf::from,
    );
    let store: Arc<dyn Store> = if store_path.as_os_str() == "memory" {
        Arc::new(MemoryStore::new())
    } else {
        Arc::new(RedbStore::open(&store_path)?)
    };

    let idempotency = IdempotencyLayer::builder(Executor::with_store(store))
        .with_tool_id("orders-api-v1")
        .with_caller(caller)
        .with_auth_challenge(HeaderValue::from_static(r#"Bearer realm="orders""#))
        .with_body_limit(64 * 1024)
        .build()?;
    let app = Router::new()
        .route("/orders", get(count_orders).post(place_order))
        .layer(idempotency)
        .with_state(Orders::default());

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
