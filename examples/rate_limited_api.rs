//! Use case 3 of the design document: API rate limiting with user context.
//!
//! An HTTP tool keyed by SHA-256 over the tool id, the user and all the arguments (session off),
//! with results kept for 5 minutes: the same user sending the same request within 5 minutes gets
//! the cached response from any session; another user gets a separate cache entry; after 5
//! minutes the request goes out again. This takes load off the external API.
//!
//! The external API is a real HTTP server on 127.0.0.1 that this example starts (axum),
//! standing in for `https://api.external.com/endpoint`, and counts the requests it serves;
//! `HttpTools` posts the calls with reqwest (the arguments as a JSON body, idem's key as the
//! `Idempotency-Key` header). A `ManualClock`, given to the store (whose clock decides expiry),
//! moves time without sleeping.
//!
//! `cargo run --example rate_limited_api --features http`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use idem::Context;
use idem::clock::ManualClock;
use idem::executor::{Executor, Outcome};
use idem::key::Algorithm;
use idem::reqwest::{HttpTools, reqwest};
use idem::spec::{IdempotencyConfig, ToolKind, ToolSpec};
use idem::store::MemoryStore;
use idem::strategy::HashStrategy;
use serde_json::{Value, json};

/// 2026-11-27 10:31:05 UTC.
const START: u64 = 1_795_775_465;

/// `POST /endpoint`: the external API, whose request counter is what the rate limit is about.
async fn endpoint(
    State(api_calls): State<Arc<AtomicUsize>>,
    Json(request): Json<Value>,
) -> Json<Value> {
    let n = api_calls.fetch_add(1, Ordering::SeqCst) + 1;
    Json(json!({"response": n, "symbol": request["symbol"], "price": 187.5}))
}

/// Starts the external API on 127.0.0.1 (a free port) and returns its URL.
async fn start_api(api_calls: Arc<AtomicUsize>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/endpoint", post(endpoint))
        .with_state(api_calls);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/endpoint"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api_calls = Arc::new(AtomicUsize::new(0));
    let url = start_api(api_calls.clone()).await?;

    let spec = ToolSpec::http("external-api-v1", "call_external_api", "POST", url)
        .description("Call external API with rate limiting")
        .idempotency(
            IdempotencyConfig::new()
                .persist_result(true)
                .ttl(Duration::from_secs(300)), // 5 minutes
        )
        .generator(
            HashStrategy::new()
                .algorithm(Algorithm::Sha256)
                .include_user(true) // per-user caching
                .include_session(false), // works across sessions
        )
        .build()?;
    if let ToolKind::Http { method, url, .. } = spec.kind() {
        println!(
            "tool {}: {method} {url}, results kept {:?}",
            spec.id(),
            spec.idempotency().result_ttl()
        );
    }

    let clock = Arc::new(ManualClock::at_unix_seconds(START));
    // The store's clock decides when a cached response expires; the executor's drives key
    // computation (and the times it reports). Both read the one manual clock.
    let store = MemoryStore::new().with_clock(clock.clone());
    let executor = Executor::new(store).with_clock(clock.clone());
    let tools = HttpTools::new(executor, reqwest::Client::new());
    let request = json!({"symbol": "ACME", "fields": ["price"]});

    // (seconds after start, user, session, expected outcome)
    let timeline = [
        (0, "alice", "s-1", "executed"),
        (30, "alice", "s-2", "cached"), // another session of the same user
        (60, "bob", "s-9", "executed"), // another user: a separate entry
        (299, "alice", "s-3", "cached"), // 4 min 59 s: still cached
        (300, "alice", "s-3", "executed"), // 5 min: expired, the request goes out again
        (330, "bob", "s-9", "cached"),  // bob's entry (made at 60 s) is still fresh
    ];
    for (at, user, session, expected) in timeline {
        clock.set_unix_seconds(START + at);
        let ctx = Context::new().with_user(user).with_session(session);
        let run = tools.call(&spec, &ctx, &request).await?;
        println!(
            "t+{at:>3}s {user:<5} {session}: {:<33} response #{}, api calls {}",
            format!("{:?},", run.outcome),
            run.output["response"],
            api_calls.load(Ordering::SeqCst)
        );
        match expected {
            "cached" => assert_eq!(run.outcome, Outcome::Replayed { args_differ: false }),
            _ => assert!(run.outcome.executed(), "t+{at}s should have run"),
        }
    }

    let api_calls = api_calls.load(Ordering::SeqCst);
    println!("api calls: {api_calls} for 6 requests");
    assert_eq!(api_calls, 3);
    Ok(())
}
