//! Custom strategy, example 3 of the design document: an external id service.
//!
//! The key comes from a central service that hands out ids. The design document posts
//! `{tool_id, user_id, data}` to `https://id-service.internal/generate`; here the service is a
//! real HTTP server on 127.0.0.1 that this example starts (axum), and the key function posts to
//! it with reqwest. The service:
//!
//! - hands out `uid-000001`, `uid-000002`, ... and gives the same id again for the same request,
//!   so that a retry is recognised as a duplicate (a service that returned a fresh id on every
//!   call would make every call unique: see `distributed_lock.rs`);
//! - can be switched off (it answers `503 Service Unavailable`), to show what happens when it is
//!   down: the key cannot be computed, the call fails with the typed `KeyError::Custom`
//!   (carrying the client's own error), and the tool does not run. idem fails closed.
//!
//! Key functions are synchronous (`CustomStrategy::new` takes a plain `Fn`), so the key function
//! waits for the async request with `tokio::task::block_in_place` (on the multi-threaded
//! runtime); another way is to fetch the id before the call.
//!
//! `cargo run --example external_id_service --features http`

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use idem::executor::{ExecuteError, Executor, Outcome};
use idem::reqwest::reqwest;
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use idem::strategy::CustomStrategy;
use idem::{Context, KeyError};
use serde_json::{Value, json};

/// The id service's side: whether it is up, and the ids it handed out per request.
#[derive(Debug)]
struct IdService {
    up: AtomicBool,
    ids: Mutex<HashMap<String, String>>,
}

/// `POST /generate {tool_id, user_id, data}` -> `{"unique_id": ...}`, or 503 when down.
async fn generate(
    State(service): State<Arc<IdService>>,
    Json(request): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    if !service.up.load(Ordering::SeqCst) {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    let mut ids = service.ids.lock().expect("not poisoned");
    let next = ids.len() + 1;
    let id = ids
        .entry(request.to_string())
        .or_insert_with(|| format!("uid-{next:06}"))
        .clone();
    Ok(Json(json!({"unique_id": id})))
}

/// Starts the id service on 127.0.0.1 (a free port) and returns its `/generate` URL.
async fn start_id_service(service: Arc<IdService>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/generate", post(generate))
        .with_state(service);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/generate"))
}

/// Why the id service gave no id.
#[derive(Debug)]
enum IdServiceError {
    /// No answer, or an error status.
    Unavailable { endpoint: String, cause: String },
}

impl std::fmt::Display for IdServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdServiceError::Unavailable { endpoint, cause } => {
                write!(f, "id service unavailable at {endpoint} ({cause})")
            }
        }
    }
}

impl std::error::Error for IdServiceError {}

/// The client side: posts a request to the id service and reads the id it answers.
struct IdClient {
    http: reqwest::Client,
    endpoint: String,
}

impl IdClient {
    /// `POST /generate {tool_id, user_id, data}` -> `unique_id`, waiting for the answer.
    fn generate(&self, request: &Value) -> Result<String, IdServiceError> {
        let unavailable = |cause: String| IdServiceError::Unavailable {
            endpoint: self.endpoint.clone(),
            cause,
        };
        let post = async {
            let response = self
                .http
                .post(&self.endpoint)
                .header("content-type", "application/json")
                .body(request.to_string())
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|err| {
                    unavailable(err.status().map_or(err.to_string(), |s| s.to_string()))
                })?;
            let body: Value = serde_json::from_slice(
                &response
                    .bytes()
                    .await
                    .map_err(|err| unavailable(err.to_string()))?,
            )
            .map_err(|err| unavailable(err.to_string()))?;
            body["unique_id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| unavailable("no unique_id in the answer".to_owned()))
        };
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(post))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = Arc::new(IdService {
        up: AtomicBool::new(true),
        ids: Mutex::new(HashMap::new()),
    });
    let client = IdClient {
        http: reqwest::Client::new(),
        endpoint: start_id_service(service.clone()).await?,
    };

    // The design document's `external_id_service_key`.
    let external_id_service_key = CustomStrategy::new(move |input| {
        // `data`: all the arguments, in canonical JSON.
        let data = input.args().to_json()?;
        let request = json!({
            "tool_id": input.tool(),
            "user_id": input.context().user_id(),
            "data": data,
        });
        // `?` turns the service's error into the strategy's error: `KeyError::Custom`.
        Ok(client.generate(&request)?)
    });

    let spec = ToolSpec::function("distributed-tool-v1", "distributed_operation")
        .description("Operation with distributed ID generation")
        .generator(external_id_service_key)
        .build()?;
    let executor = Executor::new(MemoryStore::new());
    let runs = AtomicUsize::new(0);
    let operate = |job: &Value| {
        let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
        let output = json!({"run": n, "job": job["job"]});
        async move { Ok::<_, std::io::Error>(output) }
    };
    let ctx = Context::new().with_user("alice");
    let reindex = json!({"job": "reindex", "shard": 3});

    // 1. The service is up: the call gets an id and runs.
    let first = executor
        .execute(&spec, &ctx, &reindex, || operate(&reindex))
        .await?;
    println!(
        "service up, first call: {:?}, key {}, output {}",
        first.outcome,
        first.key.as_ref().map_or("-", |k| k.as_str()),
        first.output
    );
    assert!(first.outcome.executed());
    assert_eq!(first.key.as_ref().map(|k| k.as_str()), Some("uid-000001"));

    // 2. A retry: the service gives the same id, the output is replayed.
    let retry = executor
        .execute(&spec, &ctx, &reindex, || operate(&reindex))
        .await?;
    println!(
        "service up, retry:      {:?}, key {}, output {}",
        retry.outcome,
        retry.key.as_ref().map_or("-", |k| k.as_str()),
        retry.output
    );
    assert_eq!(retry.outcome, Outcome::Replayed { args_differ: false });

    // 3. The service goes down: no key, so no call. The error is typed all the way down.
    service.up.store(false, Ordering::SeqCst);
    let compact = json!({"job": "compact", "shard": 3});
    let err = executor
        .execute(&spec, &ctx, &compact, || operate(&compact))
        .await
        .expect_err("no key without the id service");
    println!("service down: error: {err}");
    match &err {
        ExecuteError::Key(KeyError::Custom { tool, source }) => {
            assert_eq!(tool, "distributed-tool-v1");
            let cause = source
                .downcast_ref::<IdServiceError>()
                .expect("the id client's own error is kept");
            println!("  typed: KeyError::Custom {{ tool: {tool:?}, source: {cause:?} }}");
        }
        other => panic!("expected KeyError::Custom, got {other:?}"),
    }
    println!(
        "  the tool did not run: runs {}",
        runs.load(Ordering::SeqCst)
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // 4. Back up: the call goes through.
    service.up.store(true, Ordering::SeqCst);
    let later = executor
        .execute(&spec, &ctx, &compact, || operate(&compact))
        .await?;
    println!(
        "service up again:       {:?}, key {}, output {}",
        later.outcome,
        later.key.as_ref().map_or("-", |k| k.as_str()),
        later.output
    );
    assert!(later.outcome.executed());
    assert_eq!(later.key.as_ref().map(|k| k.as_str()), Some("uid-000002"));

    let runs = runs.load(Ordering::SeqCst);
    println!("runs: {runs} (reindex once, compact once; none while the service was down)");
    assert_eq!(runs, 2);
    Ok(())
}
