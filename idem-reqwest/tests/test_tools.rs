//! HTTP tools against real servers on 127.0.0.1: what is sent (query string or JSON body, the
//! key on every attempt), what is retried under the same key, and what a retry of the call does
//! after each kind of failure.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use idem::Context;
use idem::executor::{ExecuteError, Executor, OnFailure, Outcome};
use idem::reqwest::{HeaderFormat, HttpToolError, HttpTools, RequestErrorKind, RetryPolicy};
use idem::spec::{IdempotencyConfig, ToolSpec};
use idem::store::{MemoryStore, RecordKey};
use serde_json::{Value, json};
use support::{Dedup, json_response, scripted};

/// Quick retries: the tests wait for nothing longer than a few backoffs.
fn tools(attempts: u32) -> HttpTools {
    HttpTools::new(Executor::new(MemoryStore::new()), reqwest::Client::new()).with_retry(
        RetryPolicy::new(attempts)
            .with_backoff(Duration::from_millis(20), Duration::from_millis(100)),
    )
}

fn quoted(key: &Option<idem::IdempotencyKey>) -> String {
    format!("\"{}\"", key.as_ref().expect("idempotency is on").as_str())
}

#[tokio::test]
async fn a_get_sends_its_arguments_as_a_query_string() {
    let (addr, log) = scripted(|_, seen| {
        json_response(
            StatusCode::OK,
            json!({"query": seen.query, "body": seen.body}),
        )
    })
    .await;
    let spec = ToolSpec::http("data-v1", "data", "GET", format!("http://{addr}/data"))
        .build()
        .unwrap();
    let args = json!({"dataset": "sales & returns", "page": 2});

    let run = tools(1).call(&spec, &Context::new(), &args).await.unwrap();

    assert_eq!(run.outcome, Outcome::Executed { took_over: false });
    assert_eq!(
        run.output,
        json!({"query": "dataset=sales+%26+returns&page=2", "body": ""})
    );
    let seen = log.all();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/data");
    assert_eq!(seen[0].content_type, None);
    assert_eq!(seen[0].key, Some(quoted(&run.key)));
}

#[tokio::test]
async fn a_post_sends_its_arguments_as_a_json_body() {
    let (addr, log) = scripted(|_, seen| {
        let body: Value = serde_json::from_str(&seen.body).unwrap();
        json_response(StatusCode::CREATED, json!({"received": body}))
    })
    .await;
    let spec = ToolSpec::http(
        "orders-v1",
        "orders",
        "POST",
        format!("http://{addr}/orders"),
    )
    .build()
    .unwrap();
    let args = json!({"sku": "A-1", "quantity": 2, "gift": {"wrap": true}});
    let tools = tools(1);

    let run = tools.call(&spec, &Context::new(), &args).await.unwrap();
    let replay = tools.call(&spec, &Context::new(), &args).await.unwrap();

    assert_eq!(run.output, json!({"received": args}));
    assert_eq!(replay.outcome, Outcome::Replayed { args_differ: false });
    assert_eq!(replay.output, run.output);
    let seen = log.all();
    assert_eq!(seen.len(), 1, "the replay sent nothing");
    assert_eq!(seen[0].query, None);
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(seen[0].key, Some(quoted(&run.key)));
}

#[tokio::test]
async fn text_answers_are_the_output_and_keys_can_be_sent_bare() {
    let (addr, log) = scripted(|_, _| (StatusCode::OK, "accepted").into_response()).await;
    let spec = ToolSpec::http(
        "notify-v1",
        "notify",
        "PUT",
        format!("http://{addr}/notify"),
    )
    .build()
    .unwrap();
    let tools = tools(1).with_header_format(HeaderFormat::Bare);

    let run = tools
        .call(&spec, &Context::new(), &json!({"to": "ops"}))
        .await
        .unwrap();

    assert_eq!(run.output, json!("accepted"));
    let key = run.key.unwrap();
    assert_eq!(log.all()[0].key.as_deref(), Some(key.as_str()));
}

#[tokio::test]
async fn a_flaky_server_sees_the_same_key_on_every_attempt() {
    let (addr, log) = scripted(|n, _| match n {
        1 => json_response(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "busy"})),
        n => json_response(StatusCode::OK, json!({"answered": n})),
    })
    .await;
    let spec = ToolSpec::http("flaky-v1", "flaky", "POST", format!("http://{addr}/flaky"))
        .build()
        .unwrap();

    let run = tools(3)
        .call(&spec, &Context::new(), &json!({"job": 7}))
        .await
        .unwrap();

    assert_eq!(run.outcome, Outcome::Executed { took_over: false });
    assert_eq!(run.output, json!({"answered": 2}));
    assert_eq!(log.count(), 2);
    assert_eq!(
        log.keys(),
        [Some(quoted(&run.key))],
        "one key for both attempts"
    );
}

#[tokio::test]
async fn without_idempotency_the_attempts_of_one_call_share_a_random_key() {
    let (addr, log) = scripted(|n, _| match n {
        1 => json_response(StatusCode::BAD_GATEWAY, json!({})),
        n => json_response(StatusCode::OK, json!({"answered": n})),
    })
    .await;
    let spec = ToolSpec::http("plain-v1", "plain", "POST", format!("http://{addr}/plain"))
        .idempotency(IdempotencyConfig::disabled())
        .build()
        .unwrap();
    let tools = tools(3);

    let first = tools
        .call(&spec, &Context::new(), &json!({}))
        .await
        .unwrap();
    let second = tools
        .call(&spec, &Context::new(), &json!({}))
        .await
        .unwrap();

    assert_eq!(first.outcome, Outcome::NotIdempotent);
    assert_eq!(
        second.output,
        json!({"answered": 3}),
        "the second call ran too"
    );
    let seen = log.all();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].key, seen[1].key, "the retry of the first call");
    assert_ne!(seen[1].key, seen[2].key, "the second call");
    assert_eq!(
        seen[2].key.as_ref().map(String::len),
        Some(36 + 2),
        "a quoted UUID"
    );
}

/// The first attempt times out while the server is slow; the second reaches the server while
/// the first still runs (409), the third gets the stored response: the handler ran once.
#[tokio::test]
async fn a_timed_out_attempt_is_sent_again_under_the_same_key_and_runs_once() {
    let (addr, server) = Dedup::start(true).await;
    let spec = ToolSpec::http(
        "orders-v1",
        "orders",
        "POST",
        format!("http://{addr}/orders"),
    )
    .timeout(Duration::from_millis(200))
    .build()
    .unwrap();

    let run = tools(6)
        .call(&spec, &Context::new(), &json!({"sku": "A-1"}))
        .await
        .unwrap();

    let key = quoted(&run.key);
    assert_eq!(run.outcome, Outcome::Executed { took_over: false });
    assert_eq!(run.output["order"], "o-1");
    assert_eq!(run.output["request"], json!({"sku": "A-1"}));
    assert!(server.log.count() >= 3, "{:?}", server.log.all());
    assert_eq!(server.log.keys(), [Some(key.clone())]);
    assert_eq!(server.runs_for(&key), 1);
}

/// Every attempt times out (or finds the first still running): the outcome is unknown, so the
/// agent's next call sends nothing. Once an operator has checked and deleted the record, the
/// agent's call goes out again with the same key, and the server replays what it did: its
/// handler ran once.
#[tokio::test]
async fn after_the_retries_a_timeout_is_an_unknown_outcome_and_the_server_runs_once() {
    let (addr, server) = Dedup::start(false).await;
    let spec = ToolSpec::http(
        "orders-v1",
        "orders",
        "POST",
        format!("http://{addr}/orders"),
    )
    .timeout(Duration::from_millis(500))
    .build()
    .unwrap();
    let tools = tools(2);
    let (ctx, args) = (Context::new(), json!({"sku": "B-2"}));

    let err = tools.call(&spec, &ctx, &args).await.unwrap_err();
    let HttpToolError::Request(request) = &err else {
        panic!("expected the request's failure, got {err:?}");
    };
    assert!(err.outcome_unknown(), "{err}");
    assert_eq!(request.attempts(), 2);
    // The second attempt found the first one still running.
    assert_eq!(request.status(), Some(StatusCode::CONFLICT));
    assert!(
        err.to_string().contains("it may have run remotely"),
        "{err}"
    );
    let sent = server.log.count();

    // The agent calls again: idem does not send it.
    let again = tools.call(&spec, &ctx, &args).await.unwrap_err();
    assert!(
        matches!(
            again,
            HttpToolError::Execute(ExecuteError::OutcomeUnknown { .. })
        ),
        "{again:?}"
    );
    assert!(again.outcome_unknown());
    assert_eq!(server.log.count(), sent, "nothing was sent");

    // The server finishes; an operator checks and deletes the record; the agent calls again.
    server.release();
    let key = tools
        .executor()
        .explain(&spec, &ctx, &args)
        .unwrap()
        .into_key();
    let quoted_key = format!("\"{}\"", key.as_str());
    while !server.is_done(&quoted_key) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let record = RecordKey {
        tool: spec.id(),
        key: key.as_str(),
    };
    assert!(tools.executor().store().delete(record).await.unwrap());
    let run = tools.call(&spec, &ctx, &args).await.unwrap();

    assert_eq!(run.outcome, Outcome::Executed { took_over: false });
    assert_eq!(run.output["order"], "o-1", "the server's stored response");
    assert_eq!(server.log.keys(), [Some(quoted_key.clone())]);
    assert_eq!(server.runs_for(&quoted_key), 1);
    assert_eq!(server.total_runs(), 1);
}

#[tokio::test]
async fn server_errors_until_the_retries_run_out_are_an_unknown_outcome() {
    let (addr, log) =
        scripted(|_, _| json_response(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "down"})))
            .await;
    let spec = ToolSpec::http("pay-v1", "pay", "POST", format!("http://{addr}/pay"))
        .build()
        .unwrap();
    let tools = tools(3);

    let err = tools
        .call(&spec, &Context::new(), &json!({"amount": 5}))
        .await
        .unwrap_err();
    let HttpToolError::Request(request) = &err else {
        panic!("{err:?}")
    };
    assert!(request.outcome_unknown());
    assert_eq!(request.attempts(), 3);
    assert_eq!(request.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(request.url().as_str(), format!("http://{addr}/pay"));
    assert_eq!(
        err.to_string(),
        format!(
            "POST http://{addr}/pay: answered 503 Service Unavailable: {{\"error\":\"down\"}} \
             (3 attempts under the same key; it may have run remotely)"
        )
    );
    assert_eq!(log.count(), 3);
    assert_eq!(log.keys().len(), 1);

    let again = tools
        .call(&spec, &Context::new(), &json!({"amount": 5}))
        .await
        .unwrap_err();
    assert!(matches!(
        again,
        HttpToolError::Execute(ExecuteError::OutcomeUnknown { .. })
    ));
    assert_eq!(log.count(), 3, "nothing was sent");
}

/// A 4xx is the server's answer: not retried, and the call's retry does what `OnFailure` says.
#[tokio::test]
async fn a_client_error_follows_on_failure() {
    let (addr, log) = scripted(|_, seen| {
        let status = if seen.path == "/busy" {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        json_response(status, json!({"error": "no"}))
    })
    .await;
    let spec = |path: &str| {
        ToolSpec::http(
            format!("{path}-v1"),
            path,
            "POST",
            format!("http://{addr}/{path}"),
        )
        .build()
        .unwrap()
    };
    let ctx = Context::new();

    // Released (the default): the retry sends it again.
    let released = tools(3);
    let err = released
        .call(&spec("release"), &ctx, &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert!(!err.outcome_unknown());
    let HttpToolError::Request(request) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(request.attempts(), 1, "a 4xx is not retried");
    assert!(
        matches!(request.kind(), RequestErrorKind::Status { body, .. } if body == r#"{"error":"no"}"#)
    );
    let err = released
        .call(&spec("release"), &ctx, &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(log.count(), 2);

    // Remembered: the retry replays the failure without sending anything.
    let remembered = tools(3).with_on_failure(OnFailure::Remember);
    remembered
        .call(&spec("remember"), &ctx, &json!({}))
        .await
        .unwrap_err();
    let err = remembered
        .call(&spec("remember"), &ctx, &json!({}))
        .await
        .unwrap_err();
    let HttpToolError::Execute(ExecuteError::PreviouslyFailed { error, .. }) = &err else {
        panic!("{err:?}")
    };
    assert!(
        error.contains("answered 422 Unprocessable Entity"),
        "{error}"
    );
    assert_eq!(log.count(), 3);

    // Decided per error: a 429 is released, a 422 remembered.
    let policy = |err: &idem::reqwest::RequestError| match err.status() {
        Some(StatusCode::TOO_MANY_REQUESTS) => OnFailure::Release,
        _ => OnFailure::Remember,
    };
    let per_error = tools(3);
    for _ in 0..2 {
        let err = per_error
            .call_with(&spec("busy"), &ctx, &json!({}), policy)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    }
    assert_eq!(log.count(), 5, "the 429 was sent both times");
    for _ in 0..2 {
        per_error
            .call_with(&spec("unprocessable"), &ctx, &json!({}), policy)
            .await
            .unwrap_err();
    }
    assert_eq!(log.count(), 6, "the 422 was sent once");
}

/// A server that cannot be reached never ran the request: the failure is released, and the
/// next call tries again.
#[tokio::test]
async fn a_refused_connection_is_released() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let spec = ToolSpec::http("gone-v1", "gone", "POST", format!("http://{closed}/gone"))
        .build()
        .unwrap();
    let tools = tools(2);
    for _ in 0..2 {
        let err = tools
            .call(&spec, &Context::new(), &json!({}))
            .await
            .unwrap_err();
        let HttpToolError::Request(request) = &err else {
            panic!("{err:?}")
        };
        assert!(
            matches!(request.kind(), RequestErrorKind::Connect { .. }),
            "{err}"
        );
        assert_eq!(request.attempts(), 2);
        assert!(!err.outcome_unknown());
    }
}

#[tokio::test]
async fn specs_and_arguments_that_cannot_be_sent_are_refused_before_anything_runs() {
    let tools = tools(1);
    let function = ToolSpec::function("f-v1", "f").build().unwrap();
    let err = tools
        .call(&function, &Context::new(), &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, HttpToolError::NotHttp { .. }), "{err:?}");

    let get = ToolSpec::http("g-v1", "g", "GET", "http://127.0.0.1:9/g")
        .build()
        .unwrap();
    let err = tools
        .call(&get, &Context::new(), &json!({"filter": {"region": "eu"}}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the arguments of tool `g-v1` cannot be sent: argument `filter` is an object, which a \
         query string cannot hold"
    );
    assert_eq!(tools.executor().metrics().executions, 0);
}
