//! Hash-based strategy, example 2 of the design document: a stateless API.
//!
//! An HTTP tool keyed by SHA-256 over the tool id, the user and all the arguments, without the
//! session: the same request from the same user is a duplicate in any session.
//!
//! The API is a real HTTP server on 127.0.0.1 that this example starts (axum), standing in for
//! `https://api.example.com/data`; `HttpTools` sends the calls with reqwest, the arguments as a
//! query string and idem's key as the `Idempotency-Key` header. The server counts the requests
//! it gets: a duplicate sends none.
//!
//! `cargo run --example stateless_api --features http`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use idem::Context;
use idem::executor::{Executor, Outcome};
use idem::key::Algorithm;
use idem::reqwest::{HttpTools, reqwest};
use idem::spec::{ToolKind, ToolSpec};
use idem::store::MemoryStore;
use idem::strategy::HashStrategy;
use serde_json::{Value, json};

/// What the API counts: the requests it served, and the last `Idempotency-Key` it got.
#[derive(Default)]
struct ExampleApi {
    requests: AtomicUsize,
    last_key: std::sync::Mutex<String>,
}

#[derive(serde::Deserialize)]
struct DataQuery {
    dataset: String,
    page: u32,
}

/// `GET /data?dataset=...&page=...`
async fn data(
    State(api): State<Arc<ExampleApi>>,
    headers: HeaderMap,
    Query(query): Query<DataQuery>,
) -> Json<Value> {
    let n = api.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)");
    *api.last_key.lock().expect("not poisoned") = key.to_owned();
    Json(json!({"request": n, "dataset": query.dataset, "page": query.page, "rows": 25}))
}

/// Starts the API on 127.0.0.1 (a free port) and returns its base URL.
async fn start_api(api: Arc<ExampleApi>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/data", get(data)).with_state(api);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api = Arc::new(ExampleApi::default());
    let base = start_api(api.clone()).await?;
    let requests = || api.requests.load(Ordering::SeqCst);

    let spec = ToolSpec::http("api-call-v1", "external_api", "GET", format!("{base}/data"))
        .description("Call external API")
        .generator(
            HashStrategy::new()
                .algorithm(Algorithm::Sha256)
                .include_user(true)
                .include_session(false), // stateless: no session
        )
        .build()?;
    if let ToolKind::Http { method, url, .. } = spec.kind() {
        println!("tool {} ({}): {method} {url}", spec.id(), spec.name());
    }

    let tools = HttpTools::new(Executor::new(MemoryStore::new()), reqwest::Client::new());
    // No key fields: all the arguments take part in the key.
    let page_2 = json!({"dataset": "sales", "page": 2});

    let calls = [
        ("alice", "s-1", &page_2, "first request"),
        ("alice", "s-2", &page_2, "same user, another session"),
        ("bob", "s-1", &page_2, "another user"),
    ];
    let mut keys = Vec::new();
    for (user, session, args, what) in calls {
        let ctx = Context::new().with_user(user).with_session(session);
        let run = tools.call(&spec, &ctx, args).await?;
        let key = run.key.clone().expect("idempotency is on");
        println!(
            "{what:<27} ({user}, {session}): {:?}, key {key}, output {}, requests {}",
            run.outcome,
            run.output,
            requests()
        );
        keys.push((run.outcome, key));
    }
    let last_key = api.last_key.lock().expect("not poisoned").clone();
    println!("the API got Idempotency-Key: {last_key} (bob's key)");
    assert_eq!(last_key, format!("\"{}\"", keys[2].1));
    assert!(keys[0].0.executed());
    assert_eq!(keys[1].0, Outcome::Replayed { args_differ: false });
    assert_eq!(keys[1].1, keys[0].1, "sessions do not take part");
    assert!(keys[2].0.executed());
    assert_ne!(keys[2].1, keys[0].1, "users do");

    // Other arguments are another request.
    let page_3 = json!({"dataset": "sales", "page": 3});
    let ctx = Context::new().with_user("alice").with_session("s-3");
    let run = tools.call(&spec, &ctx, &page_3).await?;
    println!(
        "page 3 (alice, s-3): {:?}, requests {}",
        run.outcome,
        requests()
    );
    assert!(run.outcome.executed());

    // JSON arguments are canonical: member order and number spelling do not matter.
    let reordered: Value = serde_json::from_str(r#"{"page": 2.0, "dataset": "sales"}"#)?;
    let run = tools.call(&spec, &ctx, &reordered).await?;
    println!(
        "{{\"page\": 2.0, \"dataset\": \"sales\"}} (alice, s-3): {:?}, requests {}",
        run.outcome,
        requests()
    );
    assert_eq!(run.outcome, Outcome::Replayed { args_differ: false });

    let requests = requests();
    println!("requests: {requests} (alice page 2, bob page 2, alice page 3)");
    assert_eq!(requests, 3);
    Ok(())
}
