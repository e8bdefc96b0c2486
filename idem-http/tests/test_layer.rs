//! The layer in a real axum server on 127.0.0.1, driven by reqwest, on the in-memory store:
//! exactly once under 50 concurrent duplicates (409 or waiting), replays byte for byte, keys
//! reused with another request, missing and malformed keys, callers kept apart, a store that is
//! down, body limits, methods that pass through, released 5xx, and a client that goes away.

mod support;

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use idem::http::InProgress;
use idem::store::MemoryStore;
use support::{Answer, DownStore, Server, builder, fresh_key};

fn memory() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new())
}

/// 50 identical requests at once: the handler runs once; each of the others gets 409 or, if it
/// came after the first finished, the replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicates_run_once_and_the_others_get_409() {
    let server = Server::start(builder(memory()).build().unwrap()).await;
    let key = fresh_key();
    let answers = fire(&server, &key, 50, "/orders?delay_ms=300").await;
    assert_eq!(server.runs.orders(), 1, "the handler ran once");
    let first: Vec<_> = answers
        .iter()
        .filter(|a| a.status == 201 && !a.replayed())
        .collect();
    assert_eq!(
        first.len(),
        1,
        "one response is the handler's own: {answers:?}"
    );
    let first = first[0];
    let mut conflicts = 0;
    for answer in &answers {
        match answer.status {
            201 => assert_eq!(answer.body, first.body, "a replay is the first body"),
            409 => {
                assert_eq!(answer.problem_type(), "request-in-progress");
                assert_eq!(answer.header("retry-after"), Some("1"));
                conflicts += 1;
            }
            other => panic!("unexpected status {other}: {answer:?}"),
        }
    }
    assert!(conflicts > 0, "the duplicates overlapped the first request");
}

/// Retries of a finished request sent all at once: each gets the replay, none a 409 (nothing
/// is in progress).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_a_finished_request_all_get_the_replay() {
    let server = Server::start(builder(memory()).build().unwrap()).await;
    let key = fresh_key();
    let first = Answer::of(server.post("/orders", "alice", &key, r#"{"apples":2}"#)).await;
    assert_eq!(first.status, 201);
    let answers = fire(&server, &key, 50, "/orders").await;
    for answer in &answers {
        assert_eq!(answer.status, 201, "{answer:?}");
        assert!(answer.replayed());
        assert_eq!(answer.body, first.body);
    }
    assert_eq!(server.runs.orders(), 1);
}

/// Waiting instead: every duplicate gets the first response, flagged as replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicates_wait_and_get_the_replay() {
    let wait = InProgress::Wait {
        timeout: Duration::from_secs(30),
    };
    let layer = builder(memory()).with_in_progress(wait).build().unwrap();
    let server = Server::start(layer).await;
    let key = fresh_key();
    let answers = fire(&server, &key, 50, "/orders?delay_ms=300").await;
    assert_eq!(server.runs.orders(), 1, "the handler ran once");
    let fresh = answers.iter().filter(|a| !a.replayed()).count();
    assert_eq!(fresh, 1, "{answers:?}");
    for answer in &answers {
        assert_eq!(answer.status, 201, "{answer:?}");
        assert_eq!(answer.body, answers[0].body);
        assert_eq!(answer.header("location"), answers[0].header("location"));
    }
}

/// A wait that outlasts its timeout ends in 409, and the first request still gets its 201.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_that_times_out_is_409() {
    let wait = InProgress::Wait {
        timeout: Duration::from_millis(100),
    };
    let layer = builder(memory()).with_in_progress(wait).build().unwrap();
    let server = Server::start(layer).await;
    let key = fresh_key();
    let path = "/orders?delay_ms=1500";
    let first = tokio::spawn(Answer::of(server.post(path, "alice", &key, "{}")));
    // The handler counts its run before it sleeps: once counted, the first request is running.
    for _ in 0..600 {
        if server.runs.orders() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.runs.orders(), 1, "the first request started");
    let second = Answer::of(server.post(path, "alice", &key, "{}")).await;
    assert_eq!(second.status, 409);
    assert_eq!(second.problem_type(), "request-in-progress");
    assert_eq!(first.await.unwrap().status, 201);
    assert_eq!(server.runs.orders(), 1);
}

/// `count` identical POSTs to `path` with `key`, all at once.
async fn fire(server: &Server, key: &str, count: usize, path: &str) -> Vec<Answer> {
    let barrier = Arc::new(tokio::sync::Barrier::new(count));
    let mut tasks = Vec::new();
    for _ in 0..count {
        let request = server.post(path, "alice", key, r#"{"apples":2}"#);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            Answer::of(request).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

#[tokio::test]
async fn a_replay_is_the_first_response_byte_for_byte() {
    let server = Server::start(builder(memory()).build().unwrap()).await;
    let key = fresh_key();
    let first = Answer::of(server.post("/orders", "alice", &key, r#"{"apples":2}"#)).await;
    assert_eq!(first.status, 201);
    assert!(!first.replayed());
    assert_eq!(first.header("set-cookie"), Some("run=1"));
    for _ in 0..3 {
        let retry = Answer::of(server.post("/orders", "alice", &key, r#"{"apples":2}"#)).await;
        assert!(retry.replayed());
        assert_eq!(retry.status, 201);
        assert_eq!(retry.body, first.body);
        assert_eq!(retry.header("location"), first.header("location"));
        assert_eq!(retry.header("content-type"), Some("application/json"));
        // Not on the replay allow-list: sent with the first response only.
        assert_eq!(retry.header("set-cookie"), None);
    }
    assert_eq!(server.runs.orders(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_422() {
    let server = Server::start(builder(memory()).build().unwrap()).await;
    let key = fresh_key();
    let first = Answer::of(server.post("/orders", "alice", &key, r#"{"apples":2}"#)).await;
    assert_eq!(first.status, 201);
    let other_body = Answer::of(server.post("/orders", "alice", &key, r#"{"apples":3}"#)).await;
    assert_eq!(other_body.status, 422);
    assert_eq!(other_body.problem_type(), "idempotency-key-reused");
    let other_query =
        Answer::of(server.post("/orders?gift=1", "alice", &key, r#"{"apples":2}"#)).await;
    assert_eq!(other_query.status, 422);
    let other_type = Answer::of(
        server
            .post("/orders", "alice", &key, r#"{"apples":2}"#)
            .header("content-type", "text/plain"),
    )
    .await;
    assert_eq!(other_type.status, 422);
    let other_method = server
        .client
        .patch(format!("{}/orders/1", server.base))
        .header("x-user", "alice")
        .header("idempotency-key", format!("\"{key}\""))
        .header("content-type", "application/json")
        .body(r#"{"apples":2}"#);
    assert_eq!(Answer::of(other_method).await.status, 422);
    assert_eq!(server.runs.orders(), 1);
}

#[tokio::test]
async fn a_missing_or_malformed_key_is_400() {
    let server = Server::start(builder(memory()).build().unwrap()).await;
    let url = format!("{}/orders", server.base);
    let post = || {
        server
            .client
            .post(&url)
            .header("x-user", "alice")
            .body("{}")
    };
    let missing = Answer::of(post()).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.problem_type(), "idempotency-key-missing");
    for malformed in [
        "8e03978e-40d5-43e8-bc93-6894a57f9324",
        "\"\"",
        "\"open",
        "12",
    ] {
        let answer = Answer::of(post().header("idempotency-key", malformed)).await;
        assert_eq!(answer.status, 400, "{malformed}");
        assert_eq!(answer.problem_type(), "idempotency-key-malformed");
    }
    let twice = post()
        .header("idempotency-key", "\"a\"")
        .header("idempotency-key", "\"a\"");
    assert_eq!(Answer::of(twice).await.status, 400);
    assert_eq!(server.runs.orders(), 0, "no handler ran");
}

#[tokio::test]
async fn bare_keys_when_allowed() {
    let layer = builder(memory()).with_bare_keys(true).build().unwrap();
    let server = Server::start(layer).await;
    let key = fresh_key();
    let bare = |key: &str| {
        server
            .client
            .post(format!("{}/orders", server.base))
            .header("x-user", "alice")
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body("{}")
    };
    let first = Answer::of(bare(&key)).await;
    assert_eq!(first.status, 201);
    // The bare and the quoted form are the same key.
    let quoted = Answer::of(server.post("/orders", "alice", &key, "{}")).await;
    assert!(quoted.replayed());
    assert_eq!(quoted.body, first.body);
    assert_eq!(server.runs.orders(), 1);
}

#[tokio::test]
async fn two_callers_with_the_same_key_run_twice() {
    let server = Server::start(builder(memory()).build().unwrap()).await;
    let key = fresh_key();
    let alice = Answer::of(server.post("/orders", "alice", &key, "{}")).await;
    let bob = Answer::of(server.post("/orders", "bob", &key, "{}")).await;
    assert_eq!((alice.status, bob.status), (201, 201));
    assert!(!bob.replayed(), "bob never gets alice's response");
    assert_ne!(alice.body, bob.body);
    assert_eq!(server.runs.orders(), 2);
    // Each one's retry replays their own.
    let bob_again = Answer::of(server.post("/orders", "bob", &key, "{}")).await;
    assert_eq!(bob_again.body, bob.body);
    // No caller: 401, and nothing ran.
    let anonymous = Answer::of(server.anonymous_post("/orders", &key, "{}")).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.problem_type(), "caller-unknown");
    // HTTP requires a challenge on a 401: the default scheme is Bearer.
    assert_eq!(anonymous.headers["www-authenticate"], "Bearer");
    assert_eq!(server.runs.orders(), 2);
}

#[tokio::test]
async fn a_401_carries_the_api_s_own_challenge() {
    let challenge = HeaderValue::from_static(r#"Basic realm="orders", charset="UTF-8""#);
    let layer = builder(memory()).with_auth_challenge(challenge).build();
    let server = Server::start(layer.unwrap()).await;
    let anonymous = Answer::of(server.anonymous_post("/orders", &fresh_key(), "{}")).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.headers["www-authenticate"],
        r#"Basic realm="orders", charset="UTF-8""#
    );
    assert_eq!(server.runs.orders(), 0);
}

#[tokio::test]
async fn a_store_that_is_down_is_503_and_the_handler_does_not_run() {
    let server = Server::start(builder(Arc::new(DownStore)).build().unwrap()).await;
    let answer = Answer::of(server.post("/orders", "alice", &fresh_key(), "{}")).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.problem_type(), "store-unavailable");
    assert!(
        !String::from_utf8_lossy(&answer.body).contains("connection refused"),
        "the store's error stays on the server"
    );
    assert_eq!(server.runs.orders(), 0);
    // A method the layer does not cover still works.
    let read = Answer::of(server.client.get(format!("{}/orders", server.base))).await;
    assert_eq!(read.status, 200);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let layer = builder(memory()).with_body_limit(1024).build().unwrap();
    let server = Server::start(layer).await;
    let big = "x".repeat(1025);
    let answer = Answer::of(server.post("/orders", "alice", &fresh_key(), &big)).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.problem_type(), "body-too-large");
    let fits = "x".repeat(1024);
    let answer = Answer::of(server.post("/orders", "alice", &fresh_key(), &fits)).await;
    assert_eq!(answer.status, 201);
    assert_eq!(server.runs.orders(), 1);
}

#[tokio::test]
async fn methods_not_covered_pass_through_untouched() {
    let server = Server::start(builder(memory()).build().unwrap()).await;
    let url = format!("{}/orders", server.base);
    for _ in 0..2 {
        // A key on a GET changes nothing: it is not covered.
        let answer = Answer::of(
            server
                .client
                .get(&url)
                .header("idempotency-key", "\"same\""),
        )
        .await;
        assert_eq!(answer.status, 200);
        assert!(!answer.replayed());
    }
    assert_eq!(server.runs.reads(), 2);
    // PATCH is covered by default.
    let patch = server
        .client
        .patch(format!("{}/orders/7", server.base))
        .header("x-user", "alice")
        .body("{}");
    assert_eq!(Answer::of(patch).await.status, 400);
}

#[tokio::test]
async fn without_a_required_key_requests_pass_through() {
    let layer = builder(memory()).with_key_required(false).build().unwrap();
    let server = Server::start(layer).await;
    let post = || {
        server
            .client
            .post(format!("{}/orders", server.base))
            .header("x-user", "alice")
            .body("{}")
    };
    assert_eq!(Answer::of(post()).await.status, 201);
    assert_eq!(Answer::of(post()).await.status, 201);
    assert_eq!(server.runs.orders(), 2, "no key, no idempotency");
}

/// A 5xx is not stored: the client gets it, and its retry runs the handler again, whose 201 is
/// then stored.
#[tokio::test]
async fn a_server_error_is_released_and_the_retry_runs() {
    let server = Server::start(builder(memory()).build().unwrap()).await;
    let key = fresh_key();
    let first = Answer::of(server.post("/flaky", "alice", &key, "{}")).await;
    assert_eq!(first.status, 503);
    assert_eq!(first.body, "run 1: busy");
    let second = Answer::of(server.post("/flaky", "alice", &key, "{}")).await;
    assert_eq!(second.status, 201);
    assert!(!second.replayed());
    let third = Answer::of(server.post("/flaky", "alice", &key, "{}")).await;
    assert!(third.replayed());
    assert_eq!(third.body, "run 2: done");
    assert_eq!(server.runs.flaky(), 2);
}

/// A client that gives up mid-request does not cut the handler short: its response is recorded,
/// and the retry gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_gets_the_response_on_its_retry() {
    let server = Server::start(builder(memory()).build().unwrap()).await;
    let key = fresh_key();
    let path = "/orders?delay_ms=500";
    let gave_up = server
        .post(path, "alice", &key, "{}")
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    assert!(
        gave_up.is_err(),
        "the client gave up before the handler finished"
    );
    // Retry until the first request is done (409 until then), 30 s at most.
    let mut retry = None;
    for _ in 0..600 {
        let answer = Answer::of(server.post(path, "alice", &key, "{}")).await;
        if answer.status != 409 {
            retry = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let retry = retry.expect("the first request finished");
    assert_eq!(retry.status, 201);
    assert!(retry.replayed(), "{retry:?}");
    assert_eq!(server.runs.orders(), 1);
}
