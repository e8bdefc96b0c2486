//! What the rmcp wrapper adds to a tool call, in process, against the executor's own overhead
//! measured in the same run.
//!
//! - `route`: a tool call through `ToolRouter::call` (what rmcp's `call_tool` runs), the route
//!   plain and the same route wrapped by `Idempotency::wrap_route`, on a `MemoryStore`: a fresh
//!   call (a new transaction id each iteration) and a replay (the same one).
//! - `executor`: the same tool called directly, and through `Executor::execute` on a
//!   `MemoryStore` (a fresh call), with the arguments already deserialized.
//!
//! The wrapper's overhead is `route/idempotent fresh call - route/plain`; the executor's is
//! `executor/memory store fresh call - executor/tool called directly`. Target: the first at most
//! the second plus 1 us. A `RequestContext` needs a live peer: one is captured from a server
//! served over an in-memory duplex, then every call reuses it (as `call_tool` gets one per
//! request). Each measurement is a loop inside one `block_on` of a current-thread runtime.
//!
//! Run with `cargo bench -p idem-rmcp --bench overhead`; BENCHMARKS.md has the figures.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use idem::executor::Executor;
use idem::rmcp::Idempotency;
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use rmcp::handler::server::router::tool::{ToolRoute, ToolRouter};
use rmcp::handler::server::tool::{ToolCallContext, schema_for_type};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, ContentBlock, Tool};
use rmcp::service::{RequestContext, ServiceExt};
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars};
use serde_json::json;
use tokio::runtime::Runtime;

#[derive(Idempotent, serde::Deserialize, schemars::JsonSchema)]
#[idem(tool = "ecommerce-payment-v1", strategy = "fields")]
struct Pay {
    #[idem(key)]
    transaction_id: String,
    order_id: String,
    amount: f64,
}

/// The tool: a receipt, no I/O.
fn receipt(pay: &Pay) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(format!(
        "charged {} for {} ({})",
        pay.amount, pay.transaction_id, pay.order_id
    ))])
}

async fn pay(Parameters(pay): Parameters<Pay>) -> Result<CallToolResult, ErrorData> {
    Ok(receipt(&pay))
}

/// A server whose only tool hands out the request context of its call.
#[derive(Clone)]
struct Capture(Arc<OnceLock<RequestContext<RoleServer>>>);

impl ServerHandler for Capture {
    async fn call_tool(
        &self,
        _request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        let _ = self.0.set(context);
        Ok(CallToolResult::success(vec![]).into())
    }
}

/// A request context with a live peer (the client stays connected for the whole run).
fn capture_context(rt: &Runtime) -> RequestContext<RoleServer> {
    let slot = Arc::new(OnceLock::new());
    let server = Capture(Arc::clone(&slot));
    rt.block_on(async move {
        let (server_io, client_io) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let running = rmcp::serve_server(server, server_io)
                .await
                .expect("a server");
            let _ = running.waiting().await;
        });
        let client = ClientConfig::default()
            .serve(client_io)
            .await
            .expect("a client");
        client
            .call_tool(CallToolRequestParams::new("capture"))
            .await
            .expect("a call");
        std::mem::forget(client);
    });
    slot.get().cloned().expect("the context was captured")
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn transaction_id(fresh: bool) -> String {
    let n = if fresh {
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    } else {
        u64::MAX
    };
    format!("txn-{n}")
}

fn request(name: &'static str, fresh: bool) -> CallToolRequestParams {
    let serde_json::Value::Object(arguments) = json!({
        "transaction_id": transaction_id(fresh),
        "order_id": "ord-77",
        "amount": 10.5,
    }) else {
        unreachable!("an object literal")
    };
    CallToolRequestParams::new(name).with_arguments(arguments)
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// The plain route and the same route made idempotent, on a fresh `MemoryStore`: every sample
/// starts from an empty store, as the executor's own bench does.
fn router() -> ToolRouter<()> {
    let idem = Idempotency::new(Executor::new(MemoryStore::new()));
    let spec = ToolSpec::for_args::<Pay>().build().expect("a spec");
    let attr = |name: &'static str| Tool::new(name, "pay", schema_for_type::<Pay>());
    ToolRouter::new()
        .with_route(ToolRoute::new(attr("plain"), pay))
        .with_route(idem.wrap_route::<Pay, ()>(ToolRoute::new(attr("idempotent"), pay), spec))
}

fn overhead(c: &mut Criterion) {
    let rt = runtime();
    let context = capture_context(&rt);

    let mut group = c.benchmark_group("route");
    let mut route = |label: &str, name: &'static str, fresh: bool| {
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let router = router();
                let requests: Vec<_> = (0..iters).map(|_| request(name, fresh)).collect();
                rt.block_on(async {
                    let start = Instant::now();
                    for params in requests {
                        let call = ToolCallContext::new(&(), params, context.clone());
                        black_box(router.call(call).await.expect("an answer"));
                    }
                    start.elapsed()
                })
            });
        });
    };
    route("plain", "plain", true);
    route("idempotent fresh call", "idempotent", true);
    route("idempotent replay", "idempotent", false);
    group.finish();

    let spec = ToolSpec::for_args::<Pay>().build().expect("a spec");
    let mut group = c.benchmark_group("executor");
    let args = |iters: u64| -> Vec<Pay> {
        (0..iters)
            .map(|_| Pay {
                transaction_id: transaction_id(true),
                order_id: "ord-77".into(),
                amount: 10.5,
            })
            .collect()
    };
    group.bench_function("tool called directly", |b| {
        b.iter_custom(|iters| {
            let calls = args(iters);
            rt.block_on(async {
                let start = Instant::now();
                for pay in &calls {
                    let run = async { Ok::<_, ErrorData>(receipt(pay)) };
                    black_box(run.await.expect("a receipt"));
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("memory store fresh call", |b| {
        b.iter_custom(|iters| {
            let executor = Executor::new(MemoryStore::new());
            let calls = args(iters);
            rt.block_on(async {
                let ctx = Context::new();
                let start = Instant::now();
                for pay in &calls {
                    let run = || async { Ok::<_, ErrorData>(receipt(pay)) };
                    let answer = executor.execute(&spec, &ctx, pay, run).await;
                    black_box(answer.expect("a receipt"));
                }
                start.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = overhead
}
criterion_main!(benches);
