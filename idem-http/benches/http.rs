//! Requests per second through axum with and without the Idempotency-Key layer, over loopback,
//! in the same run: fresh keys and replays on `MemoryStore`, against the same app without the
//! layer; then a handler that does I/O (a 1 ms sleep, as a database or a payment provider
//! would take), without the layer and replayed by it.
//!
//! The servers run on a Tokio runtime of two worker threads (what `#[tokio::main]` builds on
//! this 2-core machine); the client (reqwest, keep-alive connections) on a current-thread runtime
//! on the benchmark's thread, sharing the cores as a load generator on the same machine does.
//! Each measurement sends its requests with [`IN_FLIGHT`] in flight at once. The layer's store
//! is emptied after each sample (not timed), so that fresh keys always meet a store of the same
//! size.
//! Before measuring, the benchmark checks what it measures: a fresh request runs the handler
//! and a replay does not, and carries `Idempotent-Replayed: true` and the first body.
//!
//! Run with `cargo bench -p idem-http --bench http`; BENCHMARKS.md has the table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use criterion::{Criterion, Throughput, criterion_group};
use idem::executor::Executor;
use idem::http::IdempotencyLayer;
use idem::store::{MemoryStore, Store};
use tokio::runtime::Runtime;

/// Requests in flight at once.
const IN_FLIGHT: u64 = 16;

/// The request body: a small JSON order.
const ORDER: &str = r#"{"customer":"cust-42","item":"apple","quantity":2,"currency":"EUR"}"#;

/// How many times the handlers ran.
#[derive(Clone, Default)]
struct Runs(Arc<AtomicUsize>);

/// The handler: counts its run, waits `delay` (none, or I/O), answers 201 with a small JSON body
/// that differs on every run.
async fn create(State((runs, delay)): State<(Runs, Duration)>, body: Bytes) -> impl IntoResponse {
    let run = runs.0.fetch_add(1, Ordering::Relaxed);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let body = format!(
        r#"{{"order":{run},"status":"placed","bytes":{},"eta_days":2}}"#,
        body.len()
    );
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        body,
    )
}

/// One app on a free port: its base URL, its run counter, and its layer's store when it has one.
struct App {
    url: String,
    runs: Runs,
    store: Option<Arc<dyn Store>>,
}

impl App {
    /// Empties the layer's store but for the replayed key, so that fresh keys always meet a
    /// store of the same size (not timed; as `benches/executor.rs` does).
    fn reset(&self, client_rt: &Runtime, client: &reqwest::Client) {
        if let Some(store) = &self.store {
            client_rt.block_on(async {
                store.purge(true).await.expect("purge");
                let response = request(client, &self.url, Keys::Replay).send().await;
                response.expect("an answer").bytes().await.expect("a body");
            });
        }
    }
}

fn start(server: &Runtime, delay: Duration, layer: Option<IdempotencyLayer>) -> App {
    let runs = Runs::default();
    let store = layer
        .as_ref()
        .map(|layer| Arc::clone(layer.executor().store()));
    let mut router = Router::new().route("/orders", post(create));
    if let Some(layer) = layer {
        router = router.layer(layer);
    }
    let app = router.with_state((runs.clone(), delay));
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a free port on 127.0.0.1");
    let addr = listener.local_addr().expect("the bound address");
    server.spawn(async move { axum::serve(listener, app).await });
    App {
        url: format!("http://{addr}/orders"),
        runs,
        store,
    }
}

fn layer() -> IdempotencyLayer {
    IdempotencyLayer::builder(Executor::new(MemoryStore::new()))
        .build()
        .expect("the default settings")
}

/// Keys never repeat within a run.
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

/// What each request carries.
#[derive(Clone, Copy)]
enum Keys {
    /// No key (the app without the layer).
    None,
    /// A new key per request.
    Fresh,
    /// The one key of a request that already ran.
    Replay,
}

/// The key every replay sends.
const REPLAYED_KEY: &str = "\"bench-replayed-key\"";

fn request(client: &reqwest::Client, url: &str, keys: Keys) -> reqwest::RequestBuilder {
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .body(ORDER);
    match keys {
        Keys::None => request,
        Keys::Fresh => {
            let n = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
            request.header("idempotency-key", format!("\"bench-{n:012}\""))
        }
        Keys::Replay => request.header("idempotency-key", REPLAYED_KEY),
    }
}

/// Sends `n` requests, [`IN_FLIGHT`] at a time, and returns how long they took.
async fn send(client: &reqwest::Client, url: &str, keys: Keys, n: u64) -> Duration {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..IN_FLIGHT {
        let count = n / IN_FLIGHT + u64::from(lane < n % IN_FLIGHT);
        let (client, url) = (client.clone(), url.to_owned());
        tasks.spawn(async move {
            for _ in 0..count {
                let response = request(&client, &url, keys)
                    .send()
                    .await
                    .expect("an answer");
                let status = response.status();
                let body = response.bytes().await.expect("a body");
                assert_eq!(status, StatusCode::CREATED, "{body:?}");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a lane of requests");
    }
    start.elapsed()
}

/// Checks that fresh requests run the handler and replays do not, and returns the app ready for
/// replays (its key has run).
async fn check(client: &reqwest::Client, app: &App) {
    let answer = |keys| async move {
        let response = request(client, &app.url, keys)
            .send()
            .await
            .expect("an answer");
        let replayed = response.headers().contains_key("idempotent-replayed");
        (replayed, response.bytes().await.expect("a body"))
    };
    let before = app.runs.0.load(Ordering::SeqCst);
    let (replayed, first) = answer(Keys::Replay).await;
    assert!(!replayed);
    let (replayed, again) = answer(Keys::Replay).await;
    assert!(replayed, "the second request with a key is a replay");
    assert_eq!(again, first, "a replay is the first body");
    let (replayed, _) = answer(Keys::Fresh).await;
    assert!(!replayed);
    assert_eq!(app.runs.0.load(Ordering::SeqCst), before + 2);
}

/// The servers and the client of the loopback measurements.
struct Loopback {
    /// Keeps the servers running.
    _server: Runtime,
    client_rt: Runtime,
    client: reqwest::Client,
    plain: App,
    layered: App,
    plain_io: App,
    layered_io: App,
}

impl Loopback {
    /// The four apps, started and checked.
    fn start() -> Loopback {
        let server = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the servers' runtime");
        let client_rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the client's runtime");
        let client = reqwest::Client::new();
        let io = Duration::from_millis(1);
        let loopback = Loopback {
            plain: start(&server, Duration::ZERO, None),
            layered: start(&server, Duration::ZERO, Some(layer())),
            plain_io: start(&server, io, None),
            layered_io: start(&server, io, Some(layer())),
            _server: server,
            client_rt,
            client,
        };
        let Loopback {
            client_rt, client, ..
        } = &loopback;
        client_rt.block_on(check(client, &loopback.layered));
        client_rt.block_on(check(client, &loopback.layered_io));
        loopback
    }

    /// The cases measured: name, app, keys.
    fn cases(&self) -> [(&'static str, &App, Keys); 6] {
        [
            ("POST, no layer", &self.plain, Keys::None),
            (
                "POST, layer, fresh keys (MemoryStore)",
                &self.layered,
                Keys::Fresh,
            ),
            (
                "POST, layer, replays (MemoryStore)",
                &self.layered,
                Keys::Replay,
            ),
            ("POST 1 ms handler, no layer", &self.plain_io, Keys::None),
            (
                "POST 1 ms handler, layer, fresh keys (MemoryStore)",
                &self.layered_io,
                Keys::Fresh,
            ),
            (
                "POST 1 ms handler, layer, replays (MemoryStore)",
                &self.layered_io,
                Keys::Replay,
            ),
        ]
    }

    /// `n` requests of a case, timed; the app's store is reset after them (not timed).
    fn time(&self, app: &App, keys: Keys, n: u64) -> Duration {
        let took = self
            .client_rt
            .block_on(send(&self.client, &app.url, keys, n));
        app.reset(&self.client_rt, &self.client);
        took
    }
}

fn http(c: &mut Criterion) {
    let loopback = Loopback::start();
    let mut group = c.benchmark_group("http");
    group.throughput(Throughput::Elements(1));
    for (name, app, keys) in loopback.cases() {
        group.bench_function(name, |b| {
            b.iter_custom(|n| loopback.time(app, keys, n));
        });
    }
    group.finish();
}

/// Requests per second of each case against its baseline, in rounds that take every case in
/// turn: on a machine whose load changes from one second to the next, each ratio compares
/// figures taken a moment apart. Prints the median and the range of the per-round ratios.
fn interleaved_ratios(rounds: usize, per_round: u64) {
    let loopback = Loopback::start();
    let cases = loopback.cases();
    let mut rates = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for (i, (_, app, keys)) in cases.iter().enumerate() {
            let took = loopback.time(app, *keys, per_round);
            rates[i].push(per_round as f64 / took.as_secs_f64());
        }
    }
    let sorted = |values: &[f64]| {
        let mut values = values.to_vec();
        values.sort_by(f64::total_cmp);
        values
    };
    println!(
        "\ninterleaved: {rounds} rounds of {per_round} requests per case, {IN_FLIGHT} in flight"
    );
    println!(
        "{:<52} {:>10} {:>30}",
        "case", "req/s", "ratio to baseline (range)"
    );
    for (i, (name, _, _)) in cases.iter().enumerate() {
        // The baseline of a case: the app without the layer, with the same handler.
        let base = if i < 3 { 0 } else { 3 };
        let ratios: Vec<f64> = rates[i]
            .iter()
            .zip(&rates[base])
            .map(|(rate, base)| rate / base)
            .collect();
        let ratios = sorted(&ratios);
        let rate = sorted(&rates[i])[rounds / 2];
        let (ratio, low, high) = (ratios[rounds / 2], ratios[0], ratios[rounds - 1]);
        println!("{name:<52} {rate:>10.0} {ratio:>10.2}x ({low:.2}x to {high:.2}x)");
    }
}

/// The same apps called in process (`tower::ServiceExt::oneshot`, no network): the layer's own
/// cost per request, on a current-thread runtime.
fn in_process(c: &mut Criterion) {
    use tower::ServiceExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let router = |layer: Option<IdempotencyLayer>| {
        let router = Router::new().route("/orders", post(create));
        let router = match layer {
            Some(layer) => router.layer(layer),
            None => router,
        };
        router.with_state((Runs::default(), Duration::ZERO))
    };
    let plain = router(None);
    let idempotency = layer();
    let store = Arc::clone(idempotency.executor().store());
    let layered = router(Some(idempotency));
    let request = |keys: Keys| {
        let request =
            axum::http::Request::post("/orders").header("content-type", "application/json");
        let request = match keys {
            Keys::None => request,
            Keys::Fresh => {
                let n = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
                request.header("idempotency-key", format!("\"bench-{n:012}\""))
            }
            Keys::Replay => request.header("idempotency-key", REPLAYED_KEY),
        };
        request
            .body(axum::body::Body::from(ORDER))
            .expect("a request")
    };
    let mut group = c.benchmark_group("in process");
    group.throughput(Throughput::Elements(1));
    let cases = [
        ("POST, no layer", &plain, Keys::None),
        (
            "POST, layer, fresh keys (MemoryStore)",
            &layered,
            Keys::Fresh,
        ),
        ("POST, layer, replays (MemoryStore)", &layered, Keys::Replay),
    ];
    for (name, app, keys) in cases {
        group.bench_function(name, |b| {
            b.iter_custom(|n| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..n {
                        let response = app
                            .clone()
                            .oneshot(request(keys))
                            .await
                            .expect("infallible");
                        assert_eq!(response.status(), StatusCode::CREATED);
                        axum::body::to_bytes(response.into_body(), 1 << 16)
                            .await
                            .expect("a body");
                    }
                    let took = start.elapsed();
                    if let Keys::Fresh = keys {
                        store.purge(true).await.expect("purge");
                    }
                    took
                })
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(8));
    targets = http, in_process
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: one short round then,
    // to check that it runs.
    if std::env::args().any(|arg| arg == "--bench") {
        interleaved_ratios(15, 4_000);
    } else {
        println!("\n(a smoke run: one short round, whose figures mean nothing)");
        interleaved_ratios(1, 64);
    }
}
