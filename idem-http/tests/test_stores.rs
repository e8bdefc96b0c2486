//! The layer's behaviour on every store: memory, redb, Redis and PostgreSQL, in a real axum
//! server driven by reqwest: concurrent duplicates run once, replays are byte for byte, a key
//! reused with another body is 422, callers are kept apart, a 5xx is released.
//!
//! Redis and PostgreSQL are read from `IDEM_REDIS_URL` and `IDEM_POSTGRES_URL`; without them
//! those tests skip, saying so (and fail under `IDEM_REQUIRE_SERVERS=1`). Each works under a
//! prefix or in a table of its own, removed at the end.

mod support;

use std::sync::Arc;
use std::time::Duration;

use idem::store::{
    MemoryStore, PostgresOptions, PostgresStore, PostgresTable, RedbStore, RedisOptions,
    RedisStore, Store,
};
use support::servers::{server_url, test_name};
use support::{Answer, Server, builder, fresh_key};

/// What every store must give the layer.
async fn behaves(store: Arc<dyn Store>) {
    let server = Server::start(builder(store).build().unwrap()).await;

    // Concurrent duplicates: one run, the others 409 or the replay.
    let key = fresh_key();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let request = server.post("/orders?delay_ms=300", "alice", &key, r#"{"n":1}"#);
        tasks.push(tokio::spawn(Answer::of(request)));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(server.runs.orders(), 1, "{answers:?}");
    assert!(answers.iter().all(|a| a.status == 201 || a.status == 409));
    let first = answers
        .iter()
        .find(|a| a.status == 201 && !a.replayed())
        .expect("the handler's own response")
        .clone();

    // A retry: the first response, byte for byte.
    let retry = Answer::of(server.post("/orders?delay_ms=300", "alice", &key, r#"{"n":1}"#)).await;
    assert!(retry.replayed());
    assert_eq!(
        (retry.status, &retry.body, retry.header("location")),
        (201, &first.body, first.header("location"))
    );

    // The key with another body: 422.
    let reused = Answer::of(server.post("/orders?delay_ms=300", "alice", &key, r#"{"n":2}"#)).await;
    assert_eq!(reused.status, 422);
    assert_eq!(reused.problem_type(), "idempotency-key-reused");

    // Another caller with the same key: a run of its own.
    let bob = Answer::of(server.post("/orders?delay_ms=300", "bob", &key, r#"{"n":1}"#)).await;
    assert_eq!(bob.status, 201);
    assert!(!bob.replayed());
    assert_eq!(server.runs.orders(), 2);

    // A 5xx is released: the retry runs, and its 201 is kept.
    let key = fresh_key();
    assert_eq!(
        Answer::of(server.post("/flaky", "alice", &key, ""))
            .await
            .status,
        503
    );
    assert_eq!(
        Answer::of(server.post("/flaky", "alice", &key, ""))
            .await
            .status,
        201
    );
    assert!(
        Answer::of(server.post("/flaky", "alice", &key, ""))
            .await
            .replayed()
    );
    assert_eq!(server.runs.flaky(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_memory_store() {
    behaves(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_redb_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("http.redb")).unwrap();
    behaves(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_redis_store() {
    let Some(url) = server_url("IDEM_REDIS_URL", &test_name!()) else {
        return;
    };
    let prefix = format!("idem-http-test-{}", uuid::Uuid::new_v4());
    let options = RedisOptions::new().with_prefix(&prefix).unwrap();
    let store = Arc::new(RedisStore::connect_with(&url, options).await.unwrap());
    behaves(Arc::clone(&store) as Arc<dyn Store>).await;
    store.purge(true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_postgres_store() {
    let Some(url) = server_url("IDEM_POSTGRES_URL", &test_name!()) else {
        return;
    };
    let name = format!("idem_http_test_{}", uuid::Uuid::new_v4().simple());
    let options = PostgresOptions::new()
        .with_table(PostgresTable::new(&name).unwrap())
        .with_connect_timeout(Duration::from_secs(5));
    let store = Arc::new(PostgresStore::connect_with(&url, options).await.unwrap());
    behaves(Arc::clone(&store) as Arc<dyn Store>).await;
    // The table and its purge function are this test's own.
    let client = store.pool().get().await.unwrap();
    let drop = format!(
        "DROP FUNCTION IF EXISTS \"{name}_purge\"(bigint); DROP TABLE IF EXISTS {};",
        store.table().quoted()
    );
    client.batch_execute(&drop).await.unwrap();
}
