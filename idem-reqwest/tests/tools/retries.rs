//! The attempts of one call: sent again under the same key after a 5xx or a timeout, no sooner
//! than the server's `Retry-After`, and a random key shared by the attempts without idempotency.

use super::*;

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

/// A `503` with `Retry-After: 1`: the next attempt waits the second the server asked for (longer
/// than the backoff), under the same key.
#[tokio::test]
async fn the_next_attempt_waits_for_the_retry_after() {
    let (addr, log) = scripted(|n, _| match n {
        1 => retry_after_response(StatusCode::SERVICE_UNAVAILABLE, "1"),
        n => json_response(StatusCode::OK, json!({"answered": n})),
    })
    .await;
    let spec = ToolSpec::http("later-v1", "later", "POST", format!("http://{addr}/later"))
        .build()
        .unwrap();

    let run = tools(3)
        .call(&spec, &Context::new(), &json!({}))
        .await
        .unwrap();

    assert_eq!(run.output, json!({"answered": 2}));
    let seen = log.all();
    assert_eq!(seen.len(), 2);
    let waited = seen[1].at - seen[0].at;
    assert!(
        waited >= Duration::from_secs(1),
        "sent again after {waited:?}"
    );
    assert_eq!(seen[0].key, seen[1].key);
}

/// A server that asks for a longer wait than the policy's cap is not sent the request again
/// within the call; the error says how long it asked for.
#[tokio::test]
async fn a_retry_after_beyond_the_policy_ends_the_attempts() {
    let (addr, log) =
        scripted(|_, _| retry_after_response(StatusCode::SERVICE_UNAVAILABLE, "120")).await;
    let spec = ToolSpec::http("busy-v1", "busy", "POST", format!("http://{addr}/busy"))
        .build()
        .unwrap();

    let err = tools(3)
        .call(&spec, &Context::new(), &json!({}))
        .await
        .unwrap_err();

    let HttpToolError::Request(request) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(request.attempts(), 1);
    assert_eq!(request.retry_after(), Some(Duration::from_secs(120)));
    assert!(request.outcome_unknown(), "a 503 may have run");
    assert!(
        err.to_string()
            .ends_with("(1 attempt under the same key; it may have run remotely; the server asks to wait 120 s)"),
        "{err}"
    );
    assert_eq!(log.count(), 1);
}

/// A `429`'s `Retry-After` (an HTTP-date here) reaches the caller, who decides when to call
/// again: a 4xx is the server's answer, not retried within the call.
#[tokio::test]
async fn a_429_says_when_to_call_again() {
    let (addr, log) = scripted(|_, _| {
        let date = std::time::SystemTime::now() + Duration::from_secs(30);
        retry_after_response(
            StatusCode::TOO_MANY_REQUESTS,
            &httpdate::fmt_http_date(date),
        )
    })
    .await;
    let spec = ToolSpec::http("quota-v1", "quota", "POST", format!("http://{addr}/quota"))
        .build()
        .unwrap();

    let err = tools(3)
        .call(&spec, &Context::new(), &json!({}))
        .await
        .unwrap_err();

    let HttpToolError::Request(request) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(request.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(request.attempts(), 1);
    assert!(!request.outcome_unknown());
    // An HTTP-date has whole seconds: 29 to 30 s from when the answer arrived.
    let wait = request.retry_after().expect("the server's wait");
    assert!(
        (Duration::from_secs(28)..=Duration::from_secs(30)).contains(&wait),
        "{wait:?}"
    );
    assert_eq!(log.count(), 1);
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
