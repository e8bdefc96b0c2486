//! A hand-written `ServerHandler` (tools dispatched in `call_tool`) wrapped in
//! `IdempotentHandler`, driven by rmcp's client in process.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idem::Idempotent;
use idem::rmcp::{IdempotentHandler, meta};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::json;
use support::{call, connect, content, memory};

/// The design document's order fulfillment: idempotent by order id.
#[derive(Idempotent, serde::Deserialize)]
#[idem(tool = "order-fulfillment-v1", strategy = "fields")]
struct FulfillOrder {
    #[idem(key)]
    order_id: String,
    warehouse_id: Option<String>,
}

#[derive(Default)]
struct Counts {
    shipments: AtomicUsize,
    pings: AtomicUsize,
}

/// Tools dispatched by name in `call_tool`, as a server without a router writes them.
struct Warehouse(Arc<Counts>);

impl ServerHandler for Warehouse {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = Arc::new(serde_json::Map::new());
        Ok(ListToolsResult::with_all_items(vec![
            Tool::new("fulfill_order", "Ships an order", Arc::clone(&schema)),
            Tool::new("ping_warehouse", "Pings the warehouse", schema),
        ]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.unwrap_or_default();
        let text = match &*request.name {
            "fulfill_order" => {
                let n = self.0.shipments.fetch_add(1, Ordering::SeqCst) + 1;
                format!(
                    "shipment {n} of {} from {}",
                    args["order_id"], args["warehouse_id"]
                )
            }
            "ping_warehouse" => {
                let n = self.0.pings.fetch_add(1, Ordering::SeqCst) + 1;
                format!("pong {n}")
            }
            _ => return Err(ErrorData::invalid_params("tool not found", None)),
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

fn server() -> (IdempotentHandler<Warehouse>, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let (idem, _) = memory();
    let handler = IdempotentHandler::new(Warehouse(Arc::clone(&counts)), idem)
        .with_idempotent::<FulfillOrder>()
        .expect("a valid spec");
    (handler, counts)
}

#[tokio::test]
async fn a_registered_tool_runs_once_and_its_replay_is_marked() {
    let (handler, warehouse) = server();
    let client = connect(handler).await;
    let order = json!({"order_id": "o-1", "warehouse_id": "w-9"});

    let first = call(&client, "fulfill_order", order.clone()).await;
    let again = call(&client, "fulfill_order", order).await;

    assert_eq!(warehouse.shipments.load(Ordering::SeqCst), 1);
    assert_eq!(meta(&first), None);
    assert_eq!(meta(&again), Some(json!(true)));
    assert_eq!(content(&again), content(&first));
}

#[tokio::test]
async fn other_tools_go_to_the_wrapped_handler_as_they_are() {
    let (handler, warehouse) = server();
    let client = connect(handler).await;

    call(&client, "ping_warehouse", json!({})).await;
    let second = call(&client, "ping_warehouse", json!({})).await;

    assert_eq!(warehouse.pings.load(Ordering::SeqCst), 2);
    assert_eq!(meta(&second), None);
}

#[tokio::test]
async fn invalid_arguments_of_a_registered_tool_never_reach_it() {
    let (handler, warehouse) = server();
    let client = connect(handler).await;

    let invalid = call(&client, "fulfill_order", json!({"warehouse_id": "w-9"})).await;

    assert_eq!(invalid.is_error, Some(true));
    assert_eq!(warehouse.shipments.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn tools_list_advertises_idempotent_hint_on_registered_tools() {
    let (handler, _) = server();
    let client = connect(handler).await;

    let tools = client.list_all_tools().await.unwrap();
    let hint = |name: &str| {
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .expect("the tool is listed");
        tool.annotations.as_ref().and_then(|a| a.idempotent_hint)
    };
    assert_eq!(hint("fulfill_order"), Some(true));
    assert_eq!(hint("ping_warehouse"), None);
}

fn meta(result: &CallToolResult) -> Option<serde_json::Value> {
    support::meta(result, meta::REPLAYED)
}
