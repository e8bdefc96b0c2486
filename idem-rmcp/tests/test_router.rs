//! Tools of a `#[tool_router]` made idempotent with `with_idempotent`, driven by rmcp's client in
//! process: what a client sees for retries, duplicates, mismatches, failures, panics,
//! cancellations and its own keys.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use idem::executor::OnFailure;
use idem::rmcp::{Failure, meta};
use idem::spec::MismatchPolicy;
use rmcp::service::ServiceError;
use serde_json::json;
use support::*;

#[tokio::test]
async fn the_same_call_twice_runs_once_and_the_replay_is_marked_with_equal_content() {
    let (idem, _) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;

    let first = call(&client, "process_payment", payment("txn-1", 10.5)).await;
    let again = call(&client, "process_payment", payment("txn-1", 10.5)).await;

    assert_eq!(effects.payments.load(Ordering::SeqCst), 1);
    assert_eq!(first.is_error, Some(false));
    assert_eq!(meta(&first, meta::REPLAYED), None);
    assert_eq!(meta(&again, meta::REPLAYED), Some(json!(true)));
    assert_eq!(meta(&again, meta::ARGUMENTS_DIFFER), None);
    assert_eq!(content(&again), content(&first));
    assert_eq!(
        first.structured_content.as_ref().unwrap()["receipt"],
        "rcpt-1"
    );
}

#[tokio::test]
async fn concurrent_duplicates_share_one_run() {
    let (idem, _) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = Arc::new(connect(shop).await);

    let calls = (0..20).map(|_| {
        let client = Arc::clone(&client);
        tokio::spawn(async move { call(&client, "process_payment", payment("txn-2", 3.0)).await })
    });
    let results = futures::future::join_all(calls).await;

    assert_eq!(effects.payments.load(Ordering::SeqCst), 1);
    let results: Vec<_> = results
        .into_iter()
        .map(|r| r.expect("the call task"))
        .collect();
    let fresh = results
        .iter()
        .filter(|r| meta(r, meta::REPLAYED).is_none())
        .count();
    assert_eq!(
        fresh, 1,
        "one call ran, the others were replayed or joined it"
    );
    assert!(results.iter().all(|r| content(r) == content(&results[0])));
}

#[tokio::test]
async fn other_arguments_under_the_same_key_are_refused_by_default() {
    let (idem, _) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;

    call(&client, "process_payment", payment("txn-3", 10.0)).await;
    let other = call(&client, "process_payment", payment("txn-3", 99.0)).await;

    assert_eq!(effects.payments.load(Ordering::SeqCst), 1);
    assert_eq!(other.is_error, Some(true));
    assert_eq!(meta(&other, meta::ERROR), Some(json!("argumentsMismatch")));
    assert_eq!(meta(&other, meta::ARGUMENTS_DIFFER), Some(json!(true)));
    assert!(text(&other).contains("other arguments"), "{}", text(&other));
}

#[tokio::test]
async fn other_arguments_under_the_same_key_are_replayed_and_flagged_when_the_spec_says_so() {
    let (idem, _) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Replay);
    let client = connect(shop).await;

    let first = call(&client, "process_payment", payment("txn-4", 10.0)).await;
    let other = call(&client, "process_payment", payment("txn-4", 99.0)).await;

    assert_eq!(effects.payments.load(Ordering::SeqCst), 1);
    assert_eq!(meta(&other, meta::REPLAYED), Some(json!(true)));
    assert_eq!(meta(&other, meta::ARGUMENTS_DIFFER), Some(json!(true)));
    assert_eq!(content(&other), content(&first));
}

#[tokio::test]
async fn invalid_arguments_never_claim_a_key() {
    let (idem, store) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;

    let invalid = call(
        &client,
        "process_payment",
        json!({"transaction_id": "txn-5"}),
    )
    .await;

    assert_eq!(invalid.is_error, Some(true));
    assert!(
        text(&invalid).contains("failed to deserialize parameters"),
        "{}",
        text(&invalid)
    );
    assert!(
        store.list().await.unwrap().is_empty(),
        "no record for invalid arguments"
    );
    let valid = call(&client, "process_payment", payment("txn-5", 1.0)).await;
    assert_eq!(meta(&valid, meta::REPLAYED), None);
    assert_eq!(effects.payments.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_empty_key_field_is_a_tool_error_and_runs_nothing() {
    let (idem, store) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;

    let refused = call(&client, "process_payment", payment("", 1.0)).await;

    assert_eq!(refused.is_error, Some(true));
    assert_eq!(meta(&refused, meta::ERROR), Some(json!("key")));
    assert_eq!(effects.payments.load(Ordering::SeqCst), 0);
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_panicking_tool_has_an_unknown_outcome_and_never_runs_again() {
    let (idem, _) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;
    let panicking = json!({"transaction_id": "txn-6", "amount": 1.0, "mode": "panic"});

    let first = call(&client, "process_payment", panicking.clone()).await;
    let retry = call(&client, "process_payment", panicking).await;

    assert_eq!(first.is_error, Some(true));
    assert_eq!(meta(&first, meta::ERROR), Some(json!("outcomeUnknown")));
    assert!(
        text(&first).contains("card reader on fire"),
        "{}",
        text(&first)
    );
    assert_eq!(retry.is_error, Some(true));
    assert_eq!(meta(&retry, meta::ERROR), Some(json!("outcomeUnknown")));
    assert_eq!(effects.payments.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_call_cancelled_while_its_tool_runs_has_an_unknown_outcome_and_never_runs_again() {
    let (idem, store) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = Arc::new(connect(shop).await);
    let blocking = json!({"transaction_id": "txn-7", "amount": 1.0, "mode": "block"});

    let pending = {
        let client = Arc::clone(&client);
        let blocking = blocking.clone();
        tokio::spawn(async move { call(&client, "process_payment", blocking).await })
    };
    effects.started.notified().await;
    // Dropping the call sends `notifications/cancelled`.
    pending.abort();
    let _ = pending.await;

    // The retry waits while the record is in progress, then finds the unknown outcome.
    let retry = call(&client, "process_payment", blocking).await;
    assert_eq!(retry.is_error, Some(true));
    assert_eq!(
        meta(&retry, meta::ERROR),
        Some(json!("outcomeUnknown")),
        "{}",
        text(&retry)
    );
    assert!(
        text(&retry).contains("may or may not have taken effect"),
        "{}",
        text(&retry)
    );
    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    assert!(matches!(
        records[0].record.as_ref().unwrap().state,
        idem::store::RecordState::Unknown { .. }
    ));
}

#[tokio::test]
async fn a_tool_error_is_released_by_default_so_a_retry_runs_again() {
    let (idem, _) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;
    let flaky = json!({"transaction_id": "txn-8", "amount": 1.0, "mode": "fail_once"});

    let failed = call(&client, "process_payment", flaky.clone()).await;
    let retried = call(&client, "process_payment", flaky).await;

    assert_eq!(failed.is_error, Some(true));
    assert_eq!(
        meta(&failed, meta::ERROR),
        None,
        "the tool's own error, unchanged"
    );
    assert_eq!(retried.is_error, Some(false));
    assert_eq!(meta(&retried, meta::REPLAYED), None);
    assert_eq!(effects.payments.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_remembered_tool_error_is_replayed_marked_without_running_again() {
    let (idem, _) = memory();
    let idem = idem.with_on_failure(|failure| match failure {
        Failure::ToolError(_) => OnFailure::Remember,
        _ => OnFailure::Release,
    });
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;
    let declined = json!({"transaction_id": "txn-9", "amount": 1.0, "mode": "tool_error"});

    let first = call(&client, "process_payment", declined.clone()).await;
    let again = call(&client, "process_payment", declined).await;

    assert_eq!(effects.payments.load(Ordering::SeqCst), 1);
    assert_eq!(first.is_error, Some(true));
    assert_eq!(meta(&again, meta::REPLAYED), Some(json!(true)));
    assert_eq!(content(&again), content(&first));
}

#[tokio::test]
async fn a_remembered_mcp_error_is_replayed_marked_in_its_data() {
    let (idem, _) = memory();
    let idem = idem.with_on_failure(|_| OnFailure::Remember);
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;
    let unreachable = json!({"transaction_id": "txn-10", "amount": 1.0, "mode": "mcp_error"});

    let mcp_error = |err: ServiceError| match err {
        ServiceError::McpError(error) => error,
        other => panic!("expected an MCP error, got {other}"),
    };
    let first = mcp_error(
        client
            .call_tool(request("process_payment", unreachable.clone(), None))
            .await
            .unwrap_err(),
    );
    let again = mcp_error(
        client
            .call_tool(request("process_payment", unreachable, None))
            .await
            .unwrap_err(),
    );

    assert_eq!(effects.payments.load(Ordering::SeqCst), 1);
    assert_eq!(first.message, "bank unreachable");
    assert_eq!(first.data, Some(json!({"bank": "b-1"})));
    assert_eq!(again.code, first.code);
    assert_eq!(again.message, first.message);
    assert_eq!(
        again.data,
        Some(json!({"bank": "b-1", "dev.idem/replayed": true}))
    );
}

#[tokio::test]
async fn a_caller_key_replaces_the_derived_key_and_is_scoped_by_tool() {
    let (idem, store) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;
    let args = || payment("txn-11", 5.0);

    // The same arguments under two caller keys are two calls.
    let a = call_with(
        &client,
        request("process_payment", args(), Some("order-77/attempt-a")),
    )
    .await;
    let b = call_with(
        &client,
        request("process_payment", args(), Some("order-77/attempt-b")),
    )
    .await;
    let a_again = call_with(
        &client,
        request("process_payment", args(), Some("order-77/attempt-a")),
    )
    .await;
    assert_eq!(effects.payments.load(Ordering::SeqCst), 2);
    assert_eq!(meta(&b, meta::REPLAYED), None);
    assert_eq!(meta(&a_again, meta::REPLAYED), Some(json!(true)));
    assert_eq!(content(&a_again), content(&a));

    // The same caller key for another tool is another call.
    let refund = call_with(
        &client,
        request("refund", args(), Some("order-77/attempt-a")),
    )
    .await;
    assert_eq!(meta(&refund, meta::REPLAYED), None);
    assert_eq!(effects.refunds.load(Ordering::SeqCst), 1);

    let mut keys: Vec<_> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.tool, r.key))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            (
                "ecommerce-payment-v1".to_owned(),
                "mcp-key::order-77/attempt-a".to_owned()
            ),
            (
                "ecommerce-payment-v1".to_owned(),
                "mcp-key::order-77/attempt-b".to_owned()
            ),
            (
                "refund-v1".to_owned(),
                "mcp-key::order-77/attempt-a".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn an_invalid_caller_key_is_refused_before_anything_runs() {
    let (idem, store) = memory();
    let (shop, effects) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;

    let refused = client
        .call_tool(request(
            "process_payment",
            payment("txn-12", 1.0),
            Some(&"k".repeat(300)),
        ))
        .await
        .unwrap_err();

    let ServiceError::McpError(error) = refused else {
        panic!("expected an MCP error: {refused}")
    };
    assert!(error.message.contains("dev.idem/key"), "{}", error.message);
    assert_eq!(error.data, Some(json!({"dev.idem/error": "invalidKey"})));
    assert_eq!(effects.payments.load(Ordering::SeqCst), 0);
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn tools_list_advertises_idempotent_hint_on_wrapped_tools_only() {
    let (idem, _) = memory();
    let (shop, _) = Shop::new(&idem, MismatchPolicy::Reject);
    let client = connect(shop).await;

    let tools = client.list_all_tools().await.unwrap();
    let hint = |name: &str| {
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .expect("the tool is listed");
        tool.annotations.as_ref().and_then(|a| a.idempotent_hint)
    };
    assert_eq!(hint("process_payment"), Some(true));
    assert_eq!(hint("refund"), Some(true));
    assert_eq!(hint("echo"), None);
}

#[tokio::test]
async fn a_router_without_the_tool_names_the_tools_it_has() {
    use idem::rmcp::{IdempotentRouter, WrapError};

    #[derive(idem::Idempotent, serde::Deserialize)]
    #[idem(tool = "ship-v1")]
    struct Ship {
        order_id: String,
    }
    let (idem, _) = memory();
    let err = Shop::tool_router()
        .with_idempotent::<Ship>(&idem)
        .unwrap_err();
    assert!(matches!(err, WrapError::NoSuchTool { .. }));
    assert_eq!(
        err.to_string().split(';').next().unwrap(),
        "the router has no tool `ship` to make idempotent (its tools: echo, process_payment, refund)"
    );
}
