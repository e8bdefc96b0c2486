//! The design document's e-commerce payment and user registration tools as rig tools, made
//! idempotent and dispatched by name from a rig `ToolSet` with the JSON arguments a model sends,
//! as an agent does when the model asks for a tool.
//!
//! The model retries the payment (it timed out on its side): the retry is a replay, and the
//! card is charged once. It then reuses the transaction id with another amount: refused, with
//! feedback the model can act on. A declined card is remembered, so its retry is not charged
//! again either. Registering the same email twice creates one account.
//!
//! `cargo run --example rig_tools --features rig`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idem::executor::{Executor, OnFailure};
use idem::rig::{IdemCall, IdempotentToolExt};
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use rig_agent::core::tool::ContextValue;
use rig_agent::tool::{Tool, ToolContext, ToolExecutionError, ToolResult, ToolSet};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Process e-commerce payment.
#[derive(Idempotent, Deserialize, Debug)]
#[idem(
    tool = "ecommerce-payment-v1",
    name = "process_payment",
    strategy = "fields",
    ttl = "24h"
)]
struct EcommercePayment {
    /// Only the transaction id identifies a payment.
    #[idem(key)]
    transaction_id: String,
    order_id: String,
    amount: f64,
    payment_method: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct Receipt {
    receipt_id: String,
    transaction_id: String,
    amount: f64,
}

#[derive(Debug)]
enum PaymentError {
    Declined,
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaymentError::Declined => f.write_str("card declined"),
        }
    }
}

impl std::error::Error for PaymentError {}

/// Sends payments to the card network; counts the requests.
#[derive(Default)]
struct PaymentGateway {
    requests: Arc<AtomicUsize>,
}

impl Tool for PaymentGateway {
    const NAME: &'static str = "process_payment";
    type Args = EcommercePayment;
    type Output = Receipt;
    type Error = PaymentError;

    fn description(&self) -> String {
        "Process e-commerce payment".into()
    }

    fn parameters(&self) -> serde_json::Value {
        json!({
            "type": "object",
            "properties": {
                "transaction_id": {"type": "string"},
                "order_id": {"type": "string"},
                "amount": {"type": "number"},
                "payment_method": {"type": "string"}
            },
            "required": ["transaction_id", "order_id", "amount", "payment_method"]
        })
    }

    /// What the model reads when the card is declined (rig shows it a generic sentence
    /// otherwise). idem keeps the tool's own mapping.
    fn map_error(&self, error: PaymentError) -> ToolExecutionError {
        ToolExecutionError::from_error(error)
            .with_model_feedback("the card was declined: ask the customer for another card")
    }

    async fn call(
        &self,
        _context: &mut ToolContext,
        payment: EcommercePayment,
    ) -> Result<Receipt, PaymentError> {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if payment.payment_method == "expired-card" {
            return Err(PaymentError::Declined);
        }
        Ok(Receipt {
            receipt_id: format!("rcpt-{n}"),
            transaction_id: payment.transaction_id,
            amount: payment.amount,
        })
    }
}

/// Register new user account.
#[derive(Idempotent, Deserialize, Debug)]
#[idem(
    tool = "user-registration-v1",
    name = "register_user",
    strategy = "fields",
    ttl = "30d"
)]
struct RegisterUser {
    /// One account per email.
    #[idem(key)]
    email: String,
    username: String,
    /// Never part of a key, never stored: only the output is.
    #[idem(skip)]
    password: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct Account {
    user_id: String,
    username: String,
}

/// Creates accounts; counts them.
#[derive(Default)]
struct Accounts {
    created: Arc<AtomicUsize>,
}

impl Tool for Accounts {
    const NAME: &'static str = "register_user";
    type Args = RegisterUser;
    type Output = Account;
    type Error = std::io::Error;

    fn description(&self) -> String {
        "Register new user account".into()
    }

    fn parameters(&self) -> serde_json::Value {
        json!({
            "type": "object",
            "properties": {
                "email": {"type": "string"},
                "username": {"type": "string"},
                "password": {"type": "string"}
            },
            "required": ["email", "username", "password"]
        })
    }

    async fn call(
        &self,
        _context: &mut ToolContext,
        user: RegisterUser,
    ) -> Result<Account, std::io::Error> {
        assert!(!user.password.is_empty(), "the model sent a password");
        let n = self.created.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Account {
            user_id: format!("u-{n}"),
            username: user.username,
        })
    }
}

/// The tenant a call is made for, put in the tool context by the host.
#[derive(Serialize, Deserialize)]
struct Tenant(String);

impl ContextValue for Tenant {
    const KEY: &'static str = "tenant";
}

/// Dispatches one tool call by name, as the agent does when the model asks for a tool, and
/// prints what the model gets back and what idem did.
async fn model_calls(
    tools: &ToolSet,
    name: &str,
    args: serde_json::Value,
) -> (ToolResult, IdemCall) {
    let mut context = ToolContext::new();
    context
        .insert(Tenant("shop-eu".into()))
        .expect("a tenant encodes");
    let result = tools.execute(name, args.to_string(), &mut context).await;
    let call = context
        .result::<IdemCall>()
        .expect("idem's metadata decodes")
        .expect("every idempotent call publishes its metadata");
    let what = if result.is_success() {
        "output"
    } else {
        "error"
    };
    println!("model calls {name} {args}");
    println!("  -> {}: {what} {}", call.outcome, result.output().render());
    (result, call)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let executor = Arc::new(Executor::new(MemoryStore::new()));
    let gateway = PaymentGateway::default();
    let requests = Arc::clone(&gateway.requests);
    let accounts = Accounts::default();
    let created = Arc::clone(&accounts.created);

    // The host's tenant becomes the key's tenant: two shops never share a transaction id.
    let tenant = |context: &ToolContext| match context.get::<Tenant>() {
        Ok(Some(Tenant(tenant))) => Context::new().with_tenant(tenant),
        _ => Context::new(),
    };
    let mut tools = ToolSet::default();
    tools.add_tool(
        gateway
            .idempotent(Arc::clone(&executor))?
            .with_context(tenant)
            // A declined card is final: its retry gets the decline back, uncharged.
            .on_failure(|_: &PaymentError| OnFailure::Remember),
    );
    tools.add_tool(
        accounts
            .idempotent(Arc::clone(&executor))?
            .with_context(tenant),
    );
    let names: Vec<_> = tools.names().collect();
    println!("tools the agent advertises: {names:?}");

    let payment = json!({
        "transaction_id": "txn-5001",
        "order_id": "ord-77",
        "amount": 59.9,
        "payment_method": "visa-4242"
    });
    let (first, call) = model_calls(&tools, "process_payment", payment.clone()).await;
    assert_eq!(call.outcome, "executed");
    // The model did not see the answer in time and asks again.
    let (retry, call) = model_calls(&tools, "process_payment", payment.clone()).await;
    assert!(call.replayed());
    assert_eq!(retry.output(), first.output());
    assert_eq!(requests.load(Ordering::SeqCst), 1);

    // The same transaction id with another amount is not this payment's retry.
    let mut other_amount = payment.clone();
    other_amount["amount"] = json!(99.0);
    let (refused, call) = model_calls(&tools, "process_payment", other_amount).await;
    assert_eq!(call.outcome, "arguments_mismatch");
    assert_eq!(
        refused.error().and_then(|e| e.code()),
        Some("idem.arguments_mismatch")
    );

    let declined = json!({
        "transaction_id": "txn-5002",
        "order_id": "ord-78",
        "amount": 12.0,
        "payment_method": "expired-card"
    });
    let (_, call) = model_calls(&tools, "process_payment", declined.clone()).await;
    assert_eq!(call.outcome, "tool_error");
    let (_, call) = model_calls(&tools, "process_payment", declined).await;
    assert_eq!(call.outcome, "previously_failed");
    let sent = requests.load(Ordering::SeqCst);
    assert_eq!(sent, 2);
    println!("payment requests sent to the card network: {sent} (for 5 calls)");

    let ada = json!({"email": "ada@example.com", "username": "ada", "password": "hunter2"});
    let (first, _) = model_calls(&tools, "register_user", ada.clone()).await;
    let (again, call) = model_calls(&tools, "register_user", ada).await;
    assert!(call.replayed());
    assert_eq!(again.output(), first.output());
    let grace = json!({"email": "grace@example.com", "username": "grace", "password": "cobol"});
    let (_, call) = model_calls(&tools, "register_user", grace).await;
    assert_eq!(call.outcome, "executed");
    let accounts = created.load(Ordering::SeqCst);
    assert_eq!(accounts, 2);
    println!("accounts created: {accounts} (for 3 calls)");
    Ok(())
}
