//! The `Idempotency-Key` middleware in a reqwest-middleware stack, against real servers on
//! 127.0.0.1: which requests get a key, which key, and that every retry of `reqwest-retry`
//! placed after it sends the same one.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use idem::Context;
use idem::IdempotencyKey;
use idem::executor::{Executor, OnFailure};
use idem::reqwest::{HeaderFormat, IdempotencyKeyMiddleware};
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use reqwest::Method;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use serde_json::json;
use support::{Log, json_response, scripted};

/// One retry after a short pause, for 5xx and transport errors.
fn retry() -> RetryTransientMiddleware<ExponentialBackoff> {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(10), Duration::from_millis(20))
        .build_with_max_retries(1);
    RetryTransientMiddleware::new_with_policy(policy)
}

/// The key middleware, then the retry middleware: the order this crate documents.
fn client(keys: IdempotencyKeyMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(keys)
        .with(retry())
        .build()
}

/// A server that answers 503 to its first request and 200 to the others.
async fn flaky() -> (String, Log) {
    let (addr, log) = scripted(|n, _| match n {
        1 => json_response(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "busy"})),
        _ => json_response(StatusCode::OK, json!({"ok": true})),
    })
    .await;
    (format!("http://{addr}/payments"), log)
}

fn is_quoted_uuid(key: &str) -> bool {
    key.len() == 38
        && key.starts_with('"')
        && key.ends_with('"')
        && uuid::Uuid::parse_str(&key[1..37]).is_ok()
}

#[tokio::test]
async fn a_flaky_server_sees_the_same_random_key_on_both_attempts() {
    let (url, log) = flaky().await;
    let client = client(IdempotencyKeyMiddleware::new());

    let response = client.post(&url).body("{}").send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let seen = log.all();
    assert_eq!(seen.len(), 2, "one retry");
    let key = seen[0].key.clone().expect("a key was added");
    assert!(is_quoted_uuid(&key), "{key}");
    assert_eq!(seen[1].key.as_ref(), Some(&key));

    // The next request is another request: another key.
    client.post(&url).send().await.unwrap();
    assert_ne!(log.all()[2].key.as_ref(), Some(&key));
}

#[tokio::test]
async fn a_key_given_with_the_request_is_sent_on_both_attempts() {
    let (url, log) = flaky().await;
    let client = client(IdempotencyKeyMiddleware::new());
    let key = IdempotencyKey::custom("payment:txn-0001").unwrap();

    client.post(&url).with_extension(key).send().await.unwrap();

    assert_eq!(log.keys(), [Some("\"payment:txn-0001\"".to_owned())]);
    assert_eq!(log.count(), 2);
}

#[tokio::test]
async fn a_key_already_on_the_request_wins() {
    let (url, log) = flaky().await;
    let client = client(IdempotencyKeyMiddleware::new());
    let given = IdempotencyKey::custom("from-extensions").unwrap();

    client
        .post(&url)
        .header("Idempotency-Key", "\"set-by-the-caller\"")
        .with_extension(given)
        .send()
        .await
        .unwrap();

    assert_eq!(log.keys(), [Some("\"set-by-the-caller\"".to_owned())]);
    assert_eq!(log.count(), 2);
}

#[tokio::test]
async fn only_the_chosen_methods_get_a_key() {
    let (addr, log) = scripted(|_, _| json_response(StatusCode::OK, json!({}))).await;
    let url = format!("http://{addr}/items");

    let post_only = client(IdempotencyKeyMiddleware::new());
    post_only.get(&url).send().await.unwrap();
    post_only.patch(&url).send().await.unwrap();
    post_only.post(&url).send().await.unwrap();

    let chosen = client(
        IdempotencyKeyMiddleware::new()
            .with_methods([Method::PATCH, Method::GET])
            .with_header_format(HeaderFormat::Bare),
    );
    chosen
        .get(&url)
        .with_extension(IdempotencyKey::custom("k-1").unwrap())
        .send()
        .await
        .unwrap();
    chosen.post(&url).send().await.unwrap();

    let keys: Vec<Option<String>> = log.all().into_iter().map(|seen| seen.key).collect();
    assert_eq!(keys[0], None, "GET");
    assert_eq!(keys[1], None, "PATCH");
    assert!(keys[2].is_some(), "POST");
    assert_eq!(keys[3].as_deref(), Some("k-1"), "GET, chosen, bare");
    assert_eq!(keys[4], None, "POST, not chosen");
}

/// Why the order matters: placed after the retry middleware, each retry passes through the key
/// middleware again and gets a fresh key, so the server sees two unrelated requests.
#[tokio::test]
async fn placed_after_the_retry_middleware_each_retry_gets_another_key() {
    let (url, log) = flaky().await;
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(retry())
        .with(IdempotencyKeyMiddleware::new())
        .build();

    client.post(&url).send().await.unwrap();

    assert_eq!(log.count(), 2);
    assert_eq!(log.keys().len(), 2, "{:?}", log.all());
}

#[tokio::test]
async fn a_key_that_cannot_be_written_fails_the_request_before_it_is_sent() {
    let (url, log) = flaky().await;
    let client = client(IdempotencyKeyMiddleware::new());
    let key = IdempotencyKey::custom("clé").unwrap();

    let err = client
        .post(&url)
        .with_extension(key)
        .send()
        .await
        .unwrap_err();

    assert!(
        err.to_string()
            .contains("cannot be sent as a Structured Field string"),
        "{err}"
    );
    assert_eq!(log.count(), 0);
}

/// idem's key of a call, handed to the tool by `execute_keyed`, goes out through the middleware:
/// the tool's retries (by reqwest-retry) and a later takeover of the call send the same key.
#[tokio::test]
async fn the_executor_hands_its_key_to_the_middleware() {
    let (url, log) = flaky().await;
    let client = client(IdempotencyKeyMiddleware::new());
    let executor = Executor::new(MemoryStore::new());
    let spec = ToolSpec::function("charge-v1", "charge").build().unwrap();
    let args = json!({"transaction_id": "txn-9", "amount": 12});

    let run = executor
        .execute_keyed(
            &spec,
            &Context::new(),
            &args,
            |_: &reqwest_middleware::Error| OnFailure::Unknown,
            |key| {
                let request = client.post(&url).body(args.to_string());
                let request = match key {
                    Some(key) => request.with_extension(key),
                    None => request,
                };
                async move { Ok(request.send().await?.status().as_u16()) }
            },
        )
        .await
        .unwrap();

    assert_eq!(run.output, 200);
    let key = run.key.unwrap();
    assert_eq!(log.keys(), [Some(format!("\"{}\"", key.as_str()))]);
    assert_eq!(log.count(), 2);
}
