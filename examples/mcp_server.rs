//! An MCP server whose payment and order tools (the design document's use cases 1 and 2, of
//! `examples/ecommerce_payment.rs` and `examples/order_fulfillment.rs`) never run twice for one
//! transaction or order: each is made idempotent with one line where its router is built.
//!
//! ```console
//! cargo run --example mcp_server --features mcp-example                # stdio, ./mcp_server.sqlite3
//! cargo run --example mcp_server --features mcp-example -- --http 127.0.0.1:8000
//! ```
//!
//! Each tool's side effect is a line appended to the effects file, so a run can be counted. A
//! retry (in this process or, with a file store, in a new one after a crash) gets the first
//! call's result, marked `"dev.idem/replayed": true` in its `_meta`.
//!
//! Flags:
//! - `--http ADDR`: Streamable HTTP on `ADDR` (path `/mcp`) instead of stdio; the address it
//!   listens on is printed on stderr (`ADDR` may have port 0).
//! - `--store sqlite:PATH | redb:PATH | memory | redis:URL | postgres:URL` (default
//!   `sqlite:mcp_server.sqlite3`; Redis and PostgreSQL with idem's features `redis`, `postgres`).
//! - `--effects FILE`: where side effects are appended (default `mcp_server.effects`).
//! - `--delay-ms N`: each tool waits N ms before its side effect (to stop the server mid-call).
//! - `--lease DURATION` (`2s`, `500ms`, `1m`): how long a claim survives its dead holder.
//! - `--on-mismatch reject | replay`: a key reused with other arguments is refused (default) or
//!   gets the first result, flagged `"dev.idem/argumentsDiffer": true`.
//! - `--style router | handler`: tools declared with `#[tool_router]` (default), or dispatched by
//!   hand in `ServerHandler::call_tool` and wrapped in `IdempotentHandler`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use idem::Idempotent;
use idem::executor::Executor;
use idem::rmcp::{Idempotency, IdempotentHandler, IdempotentRouter};
use idem::spec::{MismatchPolicy, ToolSpec};
use idem::store::Store;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::schema_for_type;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, schemars, tool, tool_handler};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Process an e-commerce payment.
#[derive(Idempotent, Serialize, Deserialize, schemars::JsonSchema)]
#[idem(tool = "ecommerce-payment-v1", strategy = "fields", ttl = "24h")]
struct ProcessPayment {
    /// The payment's id: only it identifies a payment.
    #[idem(key)]
    transaction_id: String,
    /// The order paid for.
    order_id: String,
    /// How much to charge.
    amount: f64,
    /// Card, transfer, ...
    payment_method: String,
}

/// Fulfill a customer order.
#[derive(Idempotent, Serialize, Deserialize, schemars::JsonSchema)]
#[idem(tool = "order-fulfillment-v1", strategy = "fields", ttl = "24h")]
struct FulfillOrder {
    /// The order: it is fulfilled once, whatever the warehouse or shipping method.
    #[idem(key)]
    order_id: String,
    /// Where to ship from.
    warehouse_id: Option<String>,
    /// How to ship.
    shipping_method: Option<String>,
}

/// The side effects, shared by both styles.
struct Effects {
    file: PathBuf,
    delay: Duration,
    runs: AtomicU64,
}

impl Effects {
    /// Waits `--delay-ms`, then appends `line` to the effects file; returns this process's run
    /// number.
    async fn perform(&self, line: String) -> Result<u64, ErrorData> {
        if !self.delay.is_zero() {
            eprintln!("mcp_server: waiting {:?} before: {line}", self.delay);
            tokio::time::sleep(self.delay).await;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .map_err(|err| ErrorData::internal_error(format!("effects file: {err}"), None))?;
        writeln!(file, "{line}")
            .map_err(|err| ErrorData::internal_error(format!("effects file: {err}"), None))?;
        Ok(self.runs.fetch_add(1, Ordering::SeqCst) + 1)
    }

    async fn pay(&self, p: ProcessPayment) -> Result<CallToolResult, ErrorData> {
        let pid = std::process::id();
        let line = format!("payment {} {} pid={pid}", p.transaction_id, p.amount);
        let run = self.perform(line).await?;
        Ok(CallToolResult::structured(json!({
            "receipt_id": format!("rcpt-{pid}-{run}"),
            "transaction_id": p.transaction_id,
            "order_id": p.order_id,
            "amount": p.amount,
            "payment_method": p.payment_method,
        })))
    }

    async fn fulfill(&self, o: FulfillOrder) -> Result<CallToolResult, ErrorData> {
        let pid = std::process::id();
        let run = self
            .perform(format!("order {} pid={pid}", o.order_id))
            .await?;
        let warehouse = o.warehouse_id.unwrap_or_else(|| "main".to_owned());
        let text = format!(
            "shipment shp-{pid}-{run}: order {} from {warehouse}",
            o.order_id
        );
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
    }
}

/// Style 1: tools on a router (`#[tool_router]`).
#[derive(Clone)]
struct Shop {
    effects: Arc<Effects>,
    tool_router: ToolRouter<Shop>,
}

#[rmcp::tool_router]
impl Shop {
    /// Process an e-commerce payment.
    #[tool]
    async fn process_payment(
        &self,
        Parameters(payment): Parameters<ProcessPayment>,
    ) -> Result<CallToolResult, ErrorData> {
        self.effects.pay(payment).await
    }

    /// Fulfill a customer order.
    #[tool]
    async fn fulfill_order(
        &self,
        Parameters(order): Parameters<FulfillOrder>,
    ) -> Result<CallToolResult, ErrorData> {
        self.effects.fulfill(order).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Shop {}

/// Style 2: tools dispatched by hand in `call_tool`.
#[derive(Clone)]
struct Counter {
    effects: Arc<Effects>,
}

impl ServerHandler for Counter {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![
            Tool::new(
                "process_payment",
                "Process an e-commerce payment.",
                schema_for_type::<ProcessPayment>(),
            ),
            Tool::new(
                "fulfill_order",
                "Fulfill a customer order.",
                schema_for_type::<FulfillOrder>(),
            ),
        ]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let invalid = |err: serde_json::Error| ErrorData::invalid_params(err.to_string(), None);
        let result = match &*request.name {
            "process_payment" => {
                self.effects
                    .pay(serde_json::from_value(args).map_err(invalid)?)
                    .await
            }
            "fulfill_order" => {
                self.effects
                    .fulfill(serde_json::from_value(args).map_err(invalid)?)
                    .await
            }
            other => Err(ErrorData::invalid_params(format!("no tool {other}"), None)),
        };
        result.map(Into::into)
    }
}

/// The command line.
struct Options {
    http: Option<String>,
    store: String,
    effects: PathBuf,
    delay: Duration,
    lease: Option<Duration>,
    mismatch: MismatchPolicy,
    handler_style: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        http: None,
        store: "sqlite:mcp_server.sqlite3".to_owned(),
        effects: PathBuf::from("mcp_server.effects"),
        delay: Duration::ZERO,
        lease: None,
        mismatch: MismatchPolicy::Reject,
        handler_style: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--http" => options.http = Some(value()?),
            "--store" => options.store = value()?,
            "--effects" => options.effects = PathBuf::from(value()?),
            "--delay-ms" => {
                let ms = value()?
                    .parse()
                    .map_err(|err| format!("--delay-ms: {err}"))?;
                options.delay = Duration::from_millis(ms);
            }
            "--lease" => options.lease = Some(parse_duration(&value()?)?),
            "--on-mismatch" => {
                options.mismatch = match value()?.as_str() {
                    "reject" => MismatchPolicy::Reject,
                    "replay" => MismatchPolicy::Replay,
                    other => return Err(format!("--on-mismatch: reject or replay, not {other}")),
                }
            }
            "--style" => {
                options.handler_style = match value()?.as_str() {
                    "router" => false,
                    "handler" => true,
                    other => return Err(format!("--style: router or handler, not {other}")),
                }
            }
            other => return Err(format!("unknown flag {other} (see the example's docs)")),
        }
    }
    Ok(options)
}

/// `500ms`, `2s`, `1m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        _ => Err(format!("not a duration: {text} (use ms, s or m)")),
    }
}

async fn open_store(spec: &str) -> Result<Arc<dyn Store>, Box<dyn std::error::Error>> {
    let (kind, location) = spec.split_once(':').unwrap_or((spec, ""));
    Ok(match kind {
        "memory" => Arc::new(idem::store::MemoryStore::new()),
        "sqlite" => Arc::new(idem::store::SqliteStore::open(location)?),
        "redb" => Arc::new(idem::store::RedbStore::open(location)?),
        #[cfg(feature = "redis")]
        "redis" => Arc::new(idem::store::RedisStore::connect(spec).await?),
        #[cfg(feature = "postgres")]
        "postgres" => Arc::new(idem::store::PostgresStore::connect(spec).await?),
        _ => return Err(format!("unknown store {spec}").into()),
    })
}

/// The tool's spec, with the command line's lease and mismatch policy.
fn spec<T: Idempotent>(options: &Options) -> Result<ToolSpec, idem::spec::SpecError> {
    ToolSpec::for_args::<T>()
        .configure(|config| {
            let config = config.on_mismatch(options.mismatch);
            match options.lease {
                Some(lease) => config.in_progress_ttl(lease),
                None => config,
            }
        })
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = parse_options()?;
    let store = open_store(&options.store).await?;
    let idem = Idempotency::with_executor(Arc::new(Executor::with_store(store)));
    let effects = Arc::new(Effects {
        file: options.effects.clone(),
        delay: options.delay,
        runs: AtomicU64::new(0),
    });
    let (payment, order) = (
        spec::<ProcessPayment>(&options)?,
        spec::<FulfillOrder>(&options)?,
    );
    eprintln!(
        "mcp_server: store {}, effects {}, {} style",
        options.store,
        options.effects.display(),
        if options.handler_style {
            "handler"
        } else {
            "router"
        }
    );
    if options.handler_style {
        let counter = Counter { effects };
        let server = IdempotentHandler::new(counter, idem)
            .with_idempotent_spec::<ProcessPayment>(payment)
            .with_idempotent_spec::<FulfillOrder>(order);
        serve(server, options.http.as_deref()).await
    } else {
        // The one line per tool.
        let tool_router = Shop::tool_router()
            .with_idempotent_spec::<ProcessPayment>(payment, &idem)?
            .with_idempotent_spec::<FulfillOrder>(order, &idem)?;
        serve(
            Shop {
                effects,
                tool_router,
            },
            options.http.as_deref(),
        )
        .await
    }
}

async fn serve<S: ServerHandler + Clone>(
    server: S,
    http: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let Some(address) = http else {
        eprintln!("mcp_server: serving stdio");
        server
            .serve(rmcp::transport::stdio())
            .await?
            .waiting()
            .await?;
        return Ok(());
    };
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(address).await?;
    eprintln!(
        "mcp_server: listening on http://{}/mcp",
        listener.local_addr()?
    );
    axum::serve(listener, router).await?;
    Ok(())
}
