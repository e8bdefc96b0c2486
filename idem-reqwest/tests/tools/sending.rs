//! What is sent: the arguments as a query string or a JSON body, the key in the header (quoted
//! or bare), and the output read from the answer; what cannot be sent is refused first.

use super::*;

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
