//! What the client-side tests share: axum servers on 127.0.0.1 that record every request they
//! get, and a server that dedups by `Idempotency-Key`, counting the runs of its handler per key.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// A request as a server got it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    /// The `Idempotency-Key` header as sent (quotes included).
    pub key: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    /// When the server got it.
    pub at: std::time::Instant,
}

/// Every request a server got, in order.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| v.to_str().expect("ASCII header").to_owned())
        };
        self.0.lock().unwrap().push(Seen {
            method: method.clone(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            key: header("idempotency-key"),
            content_type: header("content-type"),
            body: String::from_utf8_lossy(body).into_owned(),
            at: std::time::Instant::now(),
        });
    }

    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The distinct `Idempotency-Key` values received, in order of first arrival.
    pub fn keys(&self) -> Vec<Option<String>> {
        let mut keys: Vec<Option<String>> = Vec::new();
        for seen in self.all() {
            if !keys.contains(&seen.key) {
                keys.push(seen.key);
            }
        }
        keys
    }
}

/// Serves `router` on 127.0.0.1 (a free port) until the test ends.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// How a scripted server answers its `n`th request (from 1).
type Answer = dyn Fn(usize, &Seen) -> Response + Send + Sync;

/// A server that logs each request and answers it with `answer(n, request)`, `n` counting the
/// requests from 1.
pub async fn scripted<F>(answer: F) -> (SocketAddr, Log)
where
    F: Fn(usize, &Seen) -> Response + Send + Sync + 'static,
{
    #[derive(Clone)]
    struct Script {
        log: Log,
        answer: Arc<Answer>,
    }
    async fn handle(
        State(script): State<Script>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        script.log.record(&method, &uri, &headers, &body);
        let all = script.log.all();
        let seen = all.last().expect("just recorded");
        (script.answer)(all.len(), seen)
    }
    let log = Log::default();
    let script = Script {
        log: log.clone(),
        answer: Arc::new(answer),
    };
    let router = Router::new().fallback(any(handle)).with_state(script);
    (serve(router).await, log)
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A JSON response with a `Retry-After` header.
pub fn retry_after_response(status: StatusCode, retry_after: &str) -> Response {
    let mut response = json_response(status, serde_json::json!({"error": "later"}));
    let value = retry_after.parse().expect("a header value");
    response.headers_mut().insert("retry-after", value);
    response
}

/// A server that dedups by `Idempotency-Key` as the IETF draft says: the first request with a
/// key runs the handler (in a task of its own, so that it finishes even when the client gives
/// up), a request while it runs gets `409 Conflict`, a request after it gets the stored
/// response. The handler waits for [`Dedup::release`] (or, with `finish_on_duplicate`, for a
/// duplicate of its key to arrive) before it answers `{"order": "o-<run>", ...}`.
#[derive(Clone)]
pub struct Dedup {
    pub log: Log,
    runs: Arc<Mutex<HashMap<String, usize>>>,
    total_runs: Arc<AtomicUsize>,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    finish_on_duplicate: bool,
}

#[derive(Clone)]
enum Entry {
    Running(Arc<Notify>),
    Done(Value),
}

impl Dedup {
    /// Serves it on 127.0.0.1, at `/orders`.
    pub async fn start(finish_on_duplicate: bool) -> (SocketAddr, Dedup) {
        let dedup = Dedup {
            log: Log::default(),
            runs: Arc::default(),
            total_runs: Arc::default(),
            entries: Arc::default(),
            finish_on_duplicate,
        };
        let router = Router::new()
            .route("/orders", any(dedup_handle))
            .with_state(dedup.clone());
        (serve(router).await, dedup)
    }

    /// Lets every running handler finish.
    pub fn release(&self) {
        for entry in self.entries.lock().unwrap().values() {
            if let Entry::Running(done) = entry {
                done.notify_one();
            }
        }
    }

    /// How many times the handler ran for `key` (the header value, quotes included).
    pub fn runs_for(&self, key: &str) -> usize {
        self.runs.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    /// How many times the handler ran in all.
    pub fn total_runs(&self) -> usize {
        self.total_runs.load(Ordering::SeqCst)
    }

    /// Whether the handler has finished for `key`.
    pub fn is_done(&self, key: &str) -> bool {
        matches!(self.entries.lock().unwrap().get(key), Some(Entry::Done(_)))
    }
}

async fn dedup_handle(
    State(dedup): State<Dedup>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    dedup.log.record(&method, &uri, &headers, &body);
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "no Idempotency-Key"}),
        );
    };
    let done = {
        let mut entries = dedup.entries.lock().unwrap();
        match entries.get(&key) {
            Some(Entry::Done(response)) => {
                return json_response(StatusCode::CREATED, response.clone());
            }
            Some(Entry::Running(done)) => {
                if dedup.finish_on_duplicate {
                    done.notify_one();
                }
                return json_response(
                    StatusCode::CONFLICT,
                    json!({"error": "a request with this key is in progress"}),
                );
            }
            None => {
                let done = Arc::new(Notify::new());
                entries.insert(key.clone(), Entry::Running(done.clone()));
                done
            }
        }
    };
    let run = dedup.total_runs.fetch_add(1, Ordering::SeqCst) + 1;
    *dedup.runs.lock().unwrap().entry(key.clone()).or_default() += 1;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // The work runs on its own: a client that stops waiting does not stop it.
    let work = tokio::spawn(async move {
        done.notified().await;
        let response = json!({"order": format!("o-{run}"), "request": request});
        dedup
            .entries
            .lock()
            .unwrap()
            .insert(key, Entry::Done(response.clone()));
        response
    });
    match work.await {
        Ok(response) => json_response(StatusCode::CREATED, response),
        Err(_) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "the work failed"}),
        ),
    }
}
