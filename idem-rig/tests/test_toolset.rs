//! Idempotent rig tools, called the way an agent calls them: by name, with the JSON arguments
//! the model sent, through rig's `ToolSet` (rig-agent's dispatch, on rig-core's tool bus).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idem::executor::{Executor, OnFailure};
use idem::rig::{IdemCall, IdempotentTool, IdempotentToolExt};
use idem::spec::{MismatchPolicy, ToolSpec};
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use rig_agent::tool::{
    Tool, ToolContext, ToolErrorKind, ToolExecutionError, ToolResult, ToolSet, tool_definition,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;

/// Process payment transaction.
#[derive(Idempotent, Deserialize, Debug)]
#[idem(
    tool = "payment-processor-v1",
    name = "process_payment",
    strategy = "fields"
)]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Receipt {
    charge: usize,
    transaction_id: String,
    amount: f64,
}

#[derive(Debug, thiserror::Error)]
enum PaymentError {
    #[error("card declined by issuer 0042")]
    Declined,
}

/// A payment tool that counts its runs. The currency steers it: `"DECLINE"` fails, `"PANIC"`
/// panics. With a gate, each run waits for the gate to open.
#[derive(Clone, Default)]
struct Payments {
    runs: Arc<AtomicUsize>,
    gate: Option<Arc<Notify>>,
}

impl Payments {
    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

impl Tool for Payments {
    const NAME: &'static str = "process_payment";
    type Args = ProcessPayment;
    type Output = Receipt;
    type Error = PaymentError;

    fn description(&self) -> String {
        "Process payment transaction".into()
    }

    fn parameters(&self) -> serde_json::Value {
        json!({
            "type": "object",
            "properties": {
                "transaction_id": {"type": "string"},
                "customer_id": {"type": "string"},
                "amount": {"type": "number"},
                "currency": {"type": "string"}
            },
            "required": ["transaction_id", "customer_id", "amount", "currency"]
        })
    }

    fn map_error(&self, error: PaymentError) -> ToolExecutionError {
        ToolExecutionError::from_error(error)
            .with_model_feedback("the card was declined")
            .with_code("card_declined")
    }

    async fn call(
        &self,
        _context: &mut ToolContext,
        payment: ProcessPayment,
    ) -> Result<Receipt, PaymentError> {
        let charge = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        match payment.currency.as_str() {
            "DECLINE" => Err(PaymentError::Declined),
            "PANIC" => panic!("the gateway driver crashed"),
            _ => Ok(Receipt {
                charge,
                transaction_id: payment.transaction_id,
                amount: payment.amount,
            }),
        }
    }
}

fn executor() -> Arc<Executor> {
    Arc::new(Executor::new(MemoryStore::new()))
}

/// A tool set holding `tool`, as an agent's.
fn tool_set(tool: impl Tool + 'static) -> ToolSet {
    let mut tools = ToolSet::default();
    tools.add_tool(tool);
    tools
}

fn payment(txn: &str, amount: f64, currency: &str) -> String {
    json!({
        "transaction_id": txn,
        "customer_id": "c-42",
        "amount": amount,
        "currency": currency,
    })
    .to_string()
}

/// Dispatches `process_payment` by name with `args`, as an agent does when the model asks for
/// it; returns the result and what idem published about the call.
async fn call(tools: &ToolSet, args: &str) -> (ToolResult, Option<IdemCall>) {
    call_in(tools, args, ToolContext::new()).await
}

async fn call_in(
    tools: &ToolSet,
    args: &str,
    mut context: ToolContext,
) -> (ToolResult, Option<IdemCall>) {
    let result = tools.execute("process_payment", args, &mut context).await;
    let record = context.result::<IdemCall>().expect("idem's record decodes");
    (result, record)
}

fn outcome(record: &Option<IdemCall>) -> &str {
    record.as_ref().map_or("(none)", |r| r.outcome.as_str())
}

fn error_code(result: &ToolResult) -> Option<&str> {
    result.error().and_then(ToolExecutionError::code)
}

#[tokio::test]
async fn the_same_call_twice_runs_the_tool_once_and_returns_the_same_output() {
    let payments = Payments::default();
    let tools = tool_set(payments.clone().idempotent(executor()).unwrap());

    let (first, first_record) = call(&tools, &payment("txn-1", 10.5, "EUR")).await;
    // The model's retry: the same arguments, written in another order and spacing.
    let retry = r#"{ "currency": "EUR", "amount": 10.5, "customer_id": "c-42", "transaction_id": "txn-1" }"#;
    let (again, again_record) = call(&tools, retry).await;

    assert!(first.is_success(), "{first:?}");
    assert!(again.is_success(), "{again:?}");
    assert_eq!(payments.runs(), 1);
    assert_eq!(again.output(), first.output());
    assert_eq!(
        first.output().as_json(),
        Some(&json!({"charge": 1, "transaction_id": "txn-1", "amount": 10.5}))
    );
    let (first_record, again_record) = (first_record.unwrap(), again_record.unwrap());
    assert_eq!(first_record.outcome, "executed");
    assert!(first_record.executed());
    assert_eq!(again_record.outcome, "replayed");
    assert!(again_record.replayed() && !again_record.args_differ);
    assert!(first_record.key.is_some());
    assert_eq!(again_record.key, first_record.key);

    // Another transaction is another call.
    let (other, record) = call(&tools, &payment("txn-2", 10.5, "EUR")).await;
    assert!(other.is_success());
    assert_eq!(outcome(&record), "executed");
    assert_eq!(payments.runs(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_calls_run_the_tool_once() {
    const CALLS: usize = 8;
    let gate = Arc::new(Notify::new());
    let payments = Payments {
        gate: Some(Arc::clone(&gate)),
        ..Payments::default()
    };
    let executor = executor();
    let tools = tool_set(payments.clone().idempotent(Arc::clone(&executor)).unwrap());

    let tasks: Vec<_> = (0..CALLS)
        .map(|_| {
            let tools = tools.clone();
            tokio::spawn(async move { call(&tools, &payment("txn-9", 99.0, "USD")).await })
        })
        .collect();
    // The tool holds its first run until every duplicate waits for it.
    while executor.metrics().waits < (CALLS - 1) as u64 {
        tokio::task::yield_now().await;
    }
    gate.notify_one();

    let mut outputs = Vec::new();
    let mut outcomes = Vec::new();
    for task in tasks {
        let (result, record) = task.await.unwrap();
        assert!(result.is_success(), "{result:?}");
        outputs.push(result.output().render());
        outcomes.push(outcome(&record).to_owned());
    }
    assert_eq!(payments.runs(), 1);
    assert!(
        outputs.iter().all(|output| *output == outputs[0]),
        "{outputs:?}"
    );
    outcomes.sort();
    let mut expected = vec!["joined".to_owned(); CALLS - 1];
    expected.insert(0, "executed".to_owned());
    assert_eq!(outcomes, expected);
}

#[tokio::test]
async fn other_arguments_under_a_used_key_are_refused_by_default() {
    let payments = Payments::default();
    let tools = tool_set(payments.clone().idempotent(executor()).unwrap());
    let (first, first_record) = call(&tools, &payment("txn-3", 20.0, "EUR")).await;
    assert!(first.is_success());
    let key = first_record.unwrap().key.unwrap();

    let (refused, record) = call(&tools, &payment("txn-3", 25.0, "EUR")).await;
    assert_eq!(payments.runs(), 1);
    assert!(refused.is_error());
    assert!(refused.is_error_kind(ToolErrorKind::InvalidArgs));
    assert_eq!(error_code(&refused), Some("idem.arguments_mismatch"));
    let error = refused.error().unwrap();
    assert_eq!(error.retryable(), Some(false));
    // The model is told what to do, without the key; the operator gets the key.
    let feedback = error.model_feedback().unwrap();
    assert!(feedback.contains("`transaction_id`"), "{feedback}");
    assert!(!feedback.contains(&key), "{feedback}");
    assert!(error.message().contains(&key), "{}", error.message());
    assert!(
        error
            .message()
            .contains("was first used with other arguments")
    );
    assert_eq!(outcome(&record), "arguments_mismatch");
}

#[tokio::test]
async fn other_arguments_under_a_used_key_are_replayed_when_the_spec_says_so() {
    let payments = Payments::default();
    let spec = ToolSpec::for_args::<ProcessPayment>()
        .configure(|config| config.on_mismatch(MismatchPolicy::Replay))
        .build()
        .unwrap();
    let tools = tool_set(IdempotentTool::with_spec(
        payments.clone(),
        executor(),
        spec,
    ));
    let (first, _) = call(&tools, &payment("txn-4", 20.0, "EUR")).await;
    let (replayed, record) = call(&tools, &payment("txn-4", 25.0, "EUR")).await;

    assert_eq!(payments.runs(), 1);
    assert!(replayed.is_success());
    assert_eq!(replayed.output(), first.output());
    let record = record.unwrap();
    assert_eq!(record.outcome, "replayed");
    assert!(record.args_differ);
}

#[tokio::test]
async fn a_tool_error_under_release_runs_again_on_retry() {
    let payments = Payments::default();
    let tools = tool_set(payments.clone().idempotent(executor()).unwrap());
    let declined = payment("txn-5", 5.0, "DECLINE");

    for attempt in 1..=2 {
        let (result, record) = call(&tools, &declined).await;
        assert!(result.is_error());
        // The tool's own mapping stands.
        assert_eq!(error_code(&result), Some("card_declined"));
        assert_eq!(
            result.error().unwrap().model_feedback(),
            Some("the card was declined")
        );
        assert_eq!(outcome(&record), "tool_error");
        assert_eq!(payments.runs(), attempt);
    }
}

#[tokio::test]
async fn a_tool_error_under_remember_is_replayed_without_running_the_tool() {
    let payments = Payments::default();
    let tools = tool_set(
        payments
            .clone()
            .idempotent(executor())
            .unwrap()
            .on_failure(|_: &PaymentError| OnFailure::Remember),
    );
    let declined = payment("txn-6", 5.0, "DECLINE");

    let (first, record) = call(&tools, &declined).await;
    assert_eq!(error_code(&first), Some("card_declined"));
    // A remembered error is final: retrying cannot help.
    assert_eq!(first.error().unwrap().retryable(), Some(false));
    assert_eq!(outcome(&record), "tool_error");

    let (again, record) = call(&tools, &declined).await;
    assert_eq!(payments.runs(), 1);
    assert!(again.is_error());
    assert_eq!(error_code(&again), Some("idem.previously_failed"));
    assert_eq!(again.error().unwrap().retryable(), Some(false));
    // The operator sees the tool's error; the model, as for the first call, does not.
    assert!(
        again
            .error()
            .unwrap()
            .message()
            .contains("card declined by issuer 0042")
    );
    let feedback = again.error().unwrap().model_feedback().unwrap();
    assert!(!feedback.contains("0042"), "{feedback}");
    assert_eq!(outcome(&record), "previously_failed");
}

#[tokio::test]
async fn arguments_that_do_not_parse_or_cannot_be_keyed_claim_no_key() {
    let payments = Payments::default();
    let executor = executor();
    let tools = tool_set(payments.clone().idempotent(Arc::clone(&executor)).unwrap());

    let not_json = r#"{"transaction_id": "txn-7", "amount": "#;
    let missing_field = r#"{"transaction_id": "txn-7", "amount": 1.0}"#;
    for args in [not_json, missing_field] {
        let (result, record) = call(&tools, args).await;
        assert!(
            result.is_error_kind(ToolErrorKind::InvalidArgs),
            "{result:?}"
        );
        // rig refused them before the call reached idem.
        assert_eq!(record, None);
    }
    // Parsed, but the key field is empty: idem refuses to key it.
    let (result, record) = call(&tools, &payment("", 1.0, "EUR")).await;
    assert!(
        result.is_error_kind(ToolErrorKind::InvalidArgs),
        "{result:?}"
    );
    assert_eq!(error_code(&result), Some("idem.key_error"));
    assert_eq!(outcome(&record), "key_error");

    assert_eq!(payments.runs(), 0);
    assert!(executor.store().list().await.unwrap().is_empty());
    // The first valid call runs.
    let (result, record) = call(&tools, &payment("txn-7", 1.0, "EUR")).await;
    assert!(result.is_success());
    assert_eq!(outcome(&record), "executed");
}

#[tokio::test]
async fn a_panicking_tool_leaves_an_unknown_outcome_that_is_not_run_again() {
    let payments = Payments::default();
    let tools = tool_set(payments.clone().idempotent(executor()).unwrap());
    let args = payment("txn-8", 1.0, "PANIC");

    let panicked = tokio::spawn({
        let tools = tools.clone();
        let args = args.clone();
        async move { call(&tools, &args).await }
    })
    .await;
    assert!(panicked.unwrap_err().is_panic());
    assert_eq!(payments.runs(), 1);

    let (result, record) = call(&tools, &args).await;
    assert_eq!(payments.runs(), 1, "the call must not run again");
    assert!(result.is_error());
    assert_eq!(error_code(&result), Some("idem.outcome_unknown"));
    assert_eq!(result.error().unwrap().retryable(), Some(false));
    assert_eq!(outcome(&record), "outcome_unknown");
}

/// The tenant a call is made for, as the host puts it in the tool context.
#[derive(Serialize, Deserialize)]
struct Tenant(String);

impl rig_agent::core::tool::ContextValue for Tenant {
    const KEY: &'static str = "tenant";
}

#[tokio::test]
async fn the_context_supplier_scopes_keys_by_the_hosts_tenant() {
    let payments = Payments::default();
    let tools = tool_set(
        payments
            .clone()
            .idempotent(executor())
            .unwrap()
            .with_context(|context| match context.get::<Tenant>() {
                Ok(Some(Tenant(tenant))) => Context::new().with_tenant(tenant),
                _ => Context::new(),
            }),
    );
    let in_tenant = |tenant: &str| {
        let mut context = ToolContext::new();
        context.insert(Tenant(tenant.to_owned())).unwrap();
        context
    };
    let args = payment("txn-10", 3.0, "EUR");

    let (_, a) = call_in(&tools, &args, in_tenant("shop-a")).await;
    let (_, b) = call_in(&tools, &args, in_tenant("shop-b")).await;
    let (_, a_again) = call_in(&tools, &args, in_tenant("shop-a")).await;
    assert_eq!(outcome(&a), "executed");
    assert_eq!(outcome(&b), "executed");
    assert_eq!(outcome(&a_again), "replayed");
    assert_ne!(a.unwrap().key, b.unwrap().key);
    assert_eq!(payments.runs(), 2);
}

#[tokio::test]
async fn the_model_sees_the_same_tool_definition() {
    let payments = Payments::default();
    let wrapped = payments.clone().idempotent(executor()).unwrap();
    let tools = tool_set(wrapped);
    assert_eq!(tools.tool_definitions(), vec![tool_definition(&payments)]);
}
