//! What the tests of the layer share: an axum server on 127.0.0.1 with the layer, whose handlers
//! count their runs, a reqwest client, the stores, and a store that always fails.
#![allow(dead_code)]

#[path = "../../../tests/support/servers.rs"]
pub mod servers;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use idem::Context;
use idem::executor::Executor;
use idem::http::{IdempotencyLayer, IdempotencyLayerBuilder};
use idem::store::{
    BoxFuture, Claim, ClaimOutcome, Completion, Record, RecordKey, Store, StoreError, StoredRecord,
};
use serde::Deserialize;

/// How many times each handler ran.
#[derive(Clone, Default)]
pub struct Runs {
    pub orders: Arc<AtomicUsize>,
    pub flaky: Arc<AtomicUsize>,
    pub reads: Arc<AtomicUsize>,
}

impl Runs {
    pub fn orders(&self) -> usize {
        self.orders.load(Ordering::SeqCst)
    }
    pub fn flaky(&self) -> usize {
        self.flaky.load(Ordering::SeqCst)
    }
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[derive(Deserialize)]
struct Delay {
    delay_ms: Option<u64>,
}

/// `POST /orders` (and `PATCH /orders/{id}`): counts the run, sleeps `?delay_ms=`, answers 201
/// with a body that differs on every run (the run's number and a random id, then the request
/// body), a `Location`, and a `Set-Cookie` that must not be replayed.
async fn create_order(
    State(runs): State<Runs>,
    Query(delay): Query<Delay>,
    body: Bytes,
) -> impl IntoResponse {
    let run = runs.orders.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(ms) = delay.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let id = uuid::Uuid::new_v4();
    let body = format!(
        r#"{{"run":{run},"order":"{id}","request":{}}}"#,
        serde_json::to_string(&String::from_utf8_lossy(&body)).unwrap()
    );
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
    headers.insert(LOCATION, format!("/orders/{id}").parse().unwrap());
    headers.insert(SET_COOKIE, format!("run={run}").parse().unwrap());
    (StatusCode::CREATED, headers, body)
}

/// `POST /flaky`: 503 on its first run, 201 after.
async fn flaky(State(runs): State<Runs>) -> impl IntoResponse {
    let run = runs.flaky.fetch_add(1, Ordering::SeqCst) + 1;
    if run == 1 {
        (StatusCode::SERVICE_UNAVAILABLE, format!("run {run}: busy"))
    } else {
        (StatusCode::CREATED, format!("run {run}: done"))
    }
}

/// `GET /orders`: not covered.
async fn list_orders(State(runs): State<Runs>) -> impl IntoResponse {
    runs.reads.fetch_add(1, Ordering::SeqCst);
    format!("{} orders", runs.orders())
}

/// The caller is the `x-user` header; without it, none (401).
pub fn caller(parts: &axum::http::request::Parts) -> Option<Context> {
    let user = parts.headers.get("x-user")?.to_str().ok()?;
    Some(Context::new().with_user(user))
}

/// The layer's builder over `store`, with the `x-user` caller and a tool id of its own.
pub fn builder(store: Arc<dyn Store>) -> IdempotencyLayerBuilder {
    IdempotencyLayer::builder(Executor::with_store(store))
        .with_tool_id(format!("http-test-{}", uuid::Uuid::new_v4()))
        .with_caller(caller)
}

/// A running server.
pub struct Server {
    pub base: String,
    pub runs: Runs,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// The app with `layer`, served on a free port of 127.0.0.1.
    pub async fn start(layer: IdempotencyLayer) -> Server {
        let runs = Runs::default();
        let app = Router::new()
            .route("/orders", post(create_order).get(list_orders))
            .route("/orders/{id}", axum::routing::patch(create_order))
            .route("/flaky", post(flaky))
            .route("/health", get(|| async { "ok" }))
            .layer(layer)
            .with_state(runs.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Server {
            base: format!("http://{addr}"),
            runs,
            client: reqwest::Client::new(),
            task,
        }
    }

    /// A `POST` to `path` as `user` with `key` (an sf-string, quoted here) and `body`.
    pub fn post(&self, path: &str, user: &str, key: &str, body: &str) -> reqwest::RequestBuilder {
        self.anonymous_post(path, key, body).header("x-user", user)
    }

    /// As [`post`](Server::post), without a user: the layer finds no caller.
    pub fn anonymous_post(&self, path: &str, key: &str, body: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header("idempotency-key", format!("\"{key}\""))
            .header("content-type", "application/json")
            .body(body.to_owned())
    }
}

/// A fresh key.
pub fn fresh_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A response read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub async fn of(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("a body");
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn replayed(&self) -> bool {
        match self.headers.get("idempotent-replayed") {
            None => false,
            Some(value) => {
                assert_eq!(value, "true", "Idempotent-Replayed is only ever `true`");
                true
            }
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The problem details of a problem answer (checks its media type and members).
    pub fn problem(&self) -> serde_json::Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let problem: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        for member in ["type", "title", "detail"] {
            assert!(problem[member].is_string(), "{member} in {problem}");
        }
        assert_eq!(problem["status"], self.status);
        problem
    }

    /// The problem's type, after the last `#`.
    pub fn problem_type(&self) -> String {
        let problem = self.problem();
        let kind = problem["type"].as_str().unwrap();
        kind.rsplit('#').next().unwrap().to_owned()
    }
}

/// A store that always fails, as one that cannot be reached does.
#[derive(Debug)]
pub struct DownStore;

fn down<T>() -> BoxFuture<'static, Result<T, StoreError>> {
    Box::pin(async {
        Err(StoreError::Unavailable {
            store: "down",
            source: "connection refused".into(),
        })
    })
}

impl Store for DownStore {
    fn claim<'a>(
        &'a self,
        _: RecordKey<'a>,
        _: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        down()
    }
    fn renew<'a>(
        &'a self,
        _: RecordKey<'a>,
        _: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        down()
    }
    fn complete<'a>(
        &'a self,
        _: RecordKey<'a>,
        _: &'a Claim<'a>,
        _: &'a Completion,
        _: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        down()
    }
    fn release<'a>(
        &'a self,
        _: RecordKey<'a>,
        _: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        down()
    }
    fn get<'a>(&'a self, _: RecordKey<'a>) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        down()
    }
    fn delete<'a>(&'a self, _: RecordKey<'a>) -> BoxFuture<'a, Result<bool, StoreError>> {
        down()
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredRecord>, StoreError>> {
        down()
    }
    fn purge(&self, _: bool) -> BoxFuture<'_, Result<u64, StoreError>> {
        down()
    }
}
