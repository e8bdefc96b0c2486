//! Servers that refuse, cannot be reached, never answer, or whose connections are held or closed
//! mid-load (through a proxy of the test's own): `Unavailable`, in the server's words, within the
//! timeouts, and the store recovers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use idem::store::{ClaimOutcome, PostgresOptions, PostgresStore, RecordKey, Store, StoreError};
use tokio::net::TcpListener;

use super::{claim_by, drop_table, is_unavailable};
use crate::support::proxy::Proxy;

/// A role that does not exist, and a database that does not exist: `Unavailable`, and the
/// message says so in the server's words, with the SQLSTATE code (not "db error").
#[tokio::test]
async fn errors_say_what_the_server_said() {
    let pg = crate::support::postgres_fixture!();
    let Some(server) = pg.proxied_url() else {
        return;
    };
    let options = || {
        PostgresOptions::new()
            .with_table(pg.table().clone())
            .with_connect_timeout(Duration::from_secs(3))
    };
    let wrong_role = format!("postgres://idem_no_such_role@{}/postgres", server.host);
    let err = PostgresStore::connect_with(&wrong_role, options())
        .await
        .expect_err("no such role");
    assert!(
        matches!(
            err,
            StoreError::Unavailable {
                store: "postgres",
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    println!("errors_say_what_the_server_said: {message}");
    assert!(
        message.contains("cannot connect to PostgreSQL: FATAL 28000: ")
            && message.contains(r#"role "idem_no_such_role" does not exist"#),
        "{message}"
    );

    // The URL's user, on a database that does not exist.
    let wrong_database = server.with_database("idem_no_such_database");
    let err = PostgresStore::connect_with(&wrong_database, options())
        .await
        .expect_err("no such database");
    let message = err.to_string();
    println!("errors_say_what_the_server_said: {message}");
    assert!(
        message.contains("cannot connect to PostgreSQL: FATAL 3D000: ")
            && message.contains(r#"database "idem_no_such_database" does not exist"#),
        "{message}"
    );

    // A statement on a table that is gone: the server's words too.
    let store = pg.store(PostgresOptions::new()).await;
    drop_table(&store).await;
    let r = store
        .get(RecordKey {
            tool: "t",
            key: "k",
        })
        .await;
    let message = r.expect_err("no table").to_string();
    assert!(
        message.contains("PostgreSQL failed: ERROR 42P01: ") && message.contains("does not exist"),
        "{message}"
    );
}

/// Nothing listens on port 1: connecting fails at once, `Unavailable`.
#[tokio::test]
async fn unreachable_server() {
    let started = Instant::now();
    let r = PostgresStore::connect("postgres://postgres@127.0.0.1:1/idem").await;
    assert!(is_unavailable(&r), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let r = PostgresStore::connect("this is not a URL").await;
    assert!(is_unavailable(&r), "{r:?}");
}

/// A server that accepts connections and never answers: connecting gives up after the connect
/// timeout.
#[tokio::test]
async fn silent_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let options = PostgresOptions::new().with_connect_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let r = PostgresStore::connect_with(&format!("postgres://postgres@{addr}/idem"), options).await;
    assert!(is_unavailable(&r), "{r:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
    held.abort();
}

/// Connections cut mid-load, through a proxy: while it holds every byte (a network that drops
/// packets) each operation fails with `Unavailable` within the timeouts, and once it forwards
/// again the store recovers; when it closes every connection, operations fail at once, and the
/// next ones reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_cut_mid_load() {
    let pg = crate::support::postgres_fixture!();
    let Some(server) = pg.proxied_url() else {
        return;
    };
    let proxy = Proxy::start(&server.host);
    let options = PostgresOptions::new()
        .with_pool_size(4)
        .with_connect_timeout(Duration::from_millis(400))
        .with_wait_timeout(Duration::from_millis(400))
        .with_statement_timeout(Duration::from_millis(400));
    let store = pg.store_via(&server.with_host(proxy.addr), options).await;
    // The bound: a free connection (400 ms) and a new one (400 ms), then an answer (400 ms plus
    // 400 ms of grace); with room for a slow machine.
    let bound = Duration::from_millis(1_600 + 1_000);

    let load = |store: Arc<PostgresStore>, round: &'static str| {
        (0..12)
            .map(move |i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let key = format!("{round}-{i}");
                    let key = RecordKey {
                        tool: "cut",
                        key: &key,
                    };
                    let started = Instant::now();
                    let r = store.claim(key, &claim_by("a").claim()).await;
                    (r, started.elapsed())
                })
            })
            .collect::<Vec<_>>()
    };

    let r = store
        .claim(
            RecordKey {
                tool: "cut",
                key: "before",
            },
            &claim_by("a").claim(),
        )
        .await;
    assert_eq!(r.unwrap(), ClaimOutcome::Claimed);

    // The network drops everything.
    proxy.pause();
    let mut slowest = Duration::ZERO;
    for task in load(Arc::clone(&store), "held") {
        let (r, took) = task.await.unwrap();
        assert!(is_unavailable(&r), "held: {r:?}");
        assert!(took < bound, "held: failed after {took:?}");
        slowest = slowest.max(took);
    }
    println!("connections_cut_mid_load: held, 12 claims failed, the slowest after {slowest:?}");
    proxy.resume();
    for task in load(Arc::clone(&store), "after-hold") {
        let (r, _) = task.await.unwrap();
        assert_eq!(
            r.unwrap(),
            ClaimOutcome::Claimed,
            "recovered after the hold"
        );
    }

    // Every connection is closed under the store's feet.
    proxy.close_all();
    let started = Instant::now();
    let mut failed = 0;
    for task in load(Arc::clone(&store), "closed") {
        let (r, _) = task.await.unwrap();
        match r {
            Ok(ClaimOutcome::Claimed) => {}
            Err(StoreError::Unavailable {
                store: "postgres", ..
            }) => failed += 1,
            other => panic!("closed: {other:?}"),
        }
    }
    assert!(started.elapsed() < bound, "{:?}", started.elapsed());
    println!("connections_cut_mid_load: {failed} of 12 claims met a closed connection");
    for task in load(Arc::clone(&store), "after-close") {
        let (r, _) = task.await.unwrap();
        assert_eq!(
            r.unwrap(),
            ClaimOutcome::Claimed,
            "recovered after the close"
        );
    }
}
