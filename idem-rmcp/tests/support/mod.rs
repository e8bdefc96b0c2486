//! A shop served in process (rmcp server and client over an in-memory duplex), whose tools count
//! their runs, and helpers to call it.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idem::Idempotent;
use idem::executor::Executor;
use idem::rmcp::{Idempotency, IdempotentRouter};
use idem::spec::{MismatchPolicy, ToolSpec};
use idem::store::{MemoryStore, Store};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, ContentBlock, ErrorData, RequestMetaObject,
};
use rmcp::service::{RoleClient, RunningService, ServiceExt};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The design document's payment: idempotent by transaction id. `mode` tells the test tool how
/// to behave (`ok`, `panic`, `tool_error`, `mcp_error`, `fail_once`, `block`).
#[derive(Idempotent, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[idem(tool = "ecommerce-payment-v1", strategy = "fields", ttl = "24h")]
pub struct ProcessPayment {
    #[idem(key)]
    pub transaction_id: String,
    pub amount: f64,
    #[serde(default = "ok")]
    pub mode: String,
}

fn ok() -> String {
    "ok".to_owned()
}

/// The same arguments under another tool: a caller key is scoped by tool.
#[derive(Idempotent, serde::Deserialize, schemars::JsonSchema)]
#[idem(tool = "refund-v1", strategy = "fields")]
pub struct Refund {
    #[idem(key)]
    pub transaction_id: String,
    pub amount: f64,
}

/// What the tools did, shared with the test.
#[derive(Default)]
pub struct Effects {
    /// Runs of `process_payment` that reached their side effect.
    pub payments: AtomicUsize,
    /// Runs of `refund`.
    pub refunds: AtomicUsize,
    /// Notified when a `block` run has started.
    pub started: Notify,
}

#[derive(Clone)]
pub struct Shop {
    effects: Arc<Effects>,
    tool_router: ToolRouter<Shop>,
}

#[tool_router(vis = "pub")]
impl Shop {
    /// Charges a payment: its receipt numbers the runs, so a second run would show.
    #[tool]
    async fn process_payment(
        &self,
        Parameters(payment): Parameters<ProcessPayment>,
    ) -> Result<CallToolResult, ErrorData> {
        match payment.mode.as_str() {
            "panic" => panic!("card reader on fire"),
            "block" => {
                self.effects.started.notify_one();
                std::future::pending::<()>().await;
            }
            "mcp_error" => {
                self.effects.payments.fetch_add(1, Ordering::SeqCst);
                return Err(ErrorData::internal_error(
                    "bank unreachable",
                    Some(json!({"bank": "b-1"})),
                ));
            }
            _ => {}
        }
        let run = self.effects.payments.fetch_add(1, Ordering::SeqCst) + 1;
        if payment.mode == "tool_error" || (payment.mode == "fail_once" && run == 1) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "card declined (run {run})"
            ))]));
        }
        let receipt = json!({
            "receipt": format!("rcpt-{run}"),
            "transaction_id": payment.transaction_id,
            "amount": payment.amount,
        });
        let mut result = CallToolResult::structured(receipt);
        result.content.push(ContentBlock::text("thank you"));
        Ok(result)
    }

    /// Refunds a payment.
    #[tool]
    async fn refund(&self, Parameters(refund): Parameters<Refund>) -> String {
        let run = self.effects.refunds.fetch_add(1, Ordering::SeqCst) + 1;
        format!(
            "refund {run} of {} for {}",
            refund.amount, refund.transaction_id
        )
    }

    /// Echoes its text: not idempotent-wrapped.
    #[tool]
    async fn echo(&self, Parameters(text): Parameters<Echo>) -> String {
        text.text
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Echo {
    pub text: String,
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Shop {}

impl Shop {
    /// The shop with `process_payment` and `refund` made idempotent (payments under `mismatch`).
    pub fn new(idem: &Idempotency, mismatch: MismatchPolicy) -> (Shop, Arc<Effects>) {
        let effects = Arc::new(Effects::default());
        let payment = ToolSpec::for_args::<ProcessPayment>()
            .configure(|c| c.on_mismatch(mismatch))
            .build()
            .expect("a valid spec");
        let tool_router = Self::tool_router()
            .with_idempotent_spec::<ProcessPayment>(payment, idem)
            .and_then(|router| router.with_idempotent::<Refund>(idem))
            .expect("the shop has both tools");
        (
            Shop {
                effects: Arc::clone(&effects),
                tool_router,
            },
            effects,
        )
    }
}

pub type Client = RunningService<RoleClient, ClientConfig>;

/// An idempotency handle over a fresh memory store.
pub fn memory() -> (Idempotency, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    (
        Idempotency::with_executor(Arc::new(Executor::with_store(Arc::clone(&store)))),
        store,
    )
}

/// Serves `server` in process and connects a client to it.
pub async fn connect<S: ServerHandler>(server: S) -> Client {
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let running = rmcp::serve_server(server, server_io)
            .await
            .expect("the server starts");
        let _ = running.waiting().await;
    });
    ClientConfig::default()
        .serve(client_io)
        .await
        .expect("the client connects")
}

/// The request of a call of `tool` with `arguments`, and the caller key `key` if any.
pub fn request(tool: &'static str, arguments: Value, key: Option<&str>) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object")
    };
    let mut request = CallToolRequestParams::new(tool).with_arguments(arguments);
    if let Some(key) = key {
        let mut meta = RequestMetaObject::new();
        meta.insert(idem::rmcp::meta::KEY.to_owned(), json!(key));
        request.meta = Some(meta);
    }
    request
}

/// Calls the tool and returns its result (a tool error is a result too).
pub async fn call(client: &Client, tool: &'static str, arguments: Value) -> CallToolResult {
    call_with(client, request(tool, arguments, None)).await
}

pub async fn call_with(client: &Client, request: CallToolRequestParams) -> CallToolResult {
    client
        .call_tool(request)
        .await
        .expect("the call is answered with a result")
}

/// The payment of `transaction_id` for `amount`.
pub fn payment(transaction_id: &str, amount: f64) -> Value {
    json!({"transaction_id": transaction_id, "amount": amount})
}

/// The result's `_meta` entry `name`.
pub fn meta(result: &CallToolResult, name: &str) -> Option<Value> {
    result
        .meta
        .as_ref()
        .and_then(|meta| meta.get(name).cloned())
}

/// The result without its `_meta`, as JSON text: what must be equal byte for byte on a replay.
pub fn content(result: &CallToolResult) -> String {
    let mut result = result.clone();
    result.meta = None;
    serde_json::to_string(&result).expect("a result serializes")
}

/// The text of the result's first content block.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .find_map(|block| block.as_text().map(|text| text.text.clone()))
        .unwrap_or_default()
}
