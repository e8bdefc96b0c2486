//! What a retry of the call does after each kind of failure: an unknown outcome is never sent
//! again, a 4xx follows `OnFailure`, a refused connection is released.

use super::*;

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
