//! Custom strategy, example 3 of the design document: an external id service.
//!
//! The key comes from a central service that hands out ids. The design document posts
//! `{tool_id, user_id, data}` to `https://id-service.internal/generate`; here the service is an
//! in-process struct (no network) that:
//!
//! - hands out `uid-000001`, `uid-000002`, ... and gives the same id again for the same request,
//!   so that a retry is recognised as a duplicate (a service that returned a fresh id on every
//!   call would make every call unique: see `distributed_lock.rs`);
//! - can be switched off, to show what happens when it is down: the key cannot be computed, the
//!   call fails with the typed `KeyError::Custom` (carrying the service's own error), and the
//!   tool does not run. idem fails closed.
//!
//! Key functions are synchronous (`CustomStrategy::new` takes a plain `Fn`), so a real HTTP
//! service would need a blocking client, or the id fetched before the call.
//!
//! `cargo run --example external_id_service`

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use idem::executor::{ExecuteError, Executor, Outcome};
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use idem::strategy::CustomStrategy;
use idem::{Context, KeyError};
use serde_json::{Value, json};

/// Why the id service gave no id.
#[derive(Debug)]
enum IdServiceError {
    Unavailable { endpoint: &'static str },
}

impl std::fmt::Display for IdServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdServiceError::Unavailable { endpoint } => {
                write!(f, "id service unavailable at {endpoint}")
            }
        }
    }
}

impl std::error::Error for IdServiceError {}

/// The simulated id service.
#[derive(Debug)]
struct IdService {
    up: AtomicBool,
    ids: Mutex<HashMap<String, String>>,
}

impl IdService {
    const ENDPOINT: &'static str = "https://id-service.internal/generate";

    fn new() -> Self {
        Self {
            up: AtomicBool::new(true),
            ids: Mutex::new(HashMap::new()),
        }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// `POST /generate {tool_id, user_id, data}` -> `unique_id`.
    fn generate(&self, request: &str) -> Result<String, IdServiceError> {
        if !self.up.load(Ordering::SeqCst) {
            return Err(IdServiceError::Unavailable {
                endpoint: Self::ENDPOINT,
            });
        }
        let mut ids = self.ids.lock().expect("not poisoned");
        let next = ids.len() + 1;
        Ok(ids
            .entry(request.to_owned())
            .or_insert_with(|| format!("uid-{next:06}"))
            .clone())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = Arc::new(IdService::new());

    // The design document's `external_id_service_key`.
    let client = Arc::clone(&service);
    let external_id_service_key = CustomStrategy::new(move |input| {
        // `data`: all the arguments, in canonical JSON.
        let data = input.args().to_json()?;
        let request = json!({
            "tool_id": input.tool(),
            "user_id": input.context().user_id(),
            "data": data,
        });
        // `?` turns the service's error into the strategy's error: `KeyError::Custom`.
        Ok(client.generate(&request.to_string())?)
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
    service.set_up(false);
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
                .expect("the service's own error is kept");
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
    service.set_up(true);
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
