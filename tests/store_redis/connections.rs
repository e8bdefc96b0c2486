//! Connections: a server that is unreachable, silent, or cut mid-way and back; the store's
//! `Debug`, which never shows the URL.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use idem::store::{Completion, RecordKey, RedisOptions, RedisStore, Store, StoreError};

use super::{T0, claim_by, key, store};
use crate::store_conformance::LONG_TTL as TTL;
use crate::support::proxy::Proxy;

/// Nothing listens on port 1: `Unavailable` at once. A URL that is not one: `Unavailable`.
#[tokio::test]
async fn unreachable_server() {
    let started = Instant::now();
    let err = RedisStore::connect("redis://127.0.0.1:1")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { store: "redis", .. }),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    for bad in [
        "not a url",
        "http://127.0.0.1:6379",
        "redis://127.0.0.1:99999",
    ] {
        let err = RedisStore::connect(bad).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Unavailable { store: "redis", .. }),
            "{bad}: {err:?}"
        );
    }
}

/// A server that accepts connections and never answers: `Unavailable` within the timeouts.
#[tokio::test]
async fn silent_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let options = RedisOptions::new()
        .with_connect_timeout(Duration::from_millis(200))
        .with_response_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let err = RedisStore::connect_with(&format!("redis://{address}"), options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { store: "redis", .. }),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// Cut mid-way, the store fails with `Unavailable` promptly (reset: at once; silent: within
/// the timeouts), and works again once the server is back, on the same store value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cut_and_restored() {
    let redis = crate::support::redis_fixture!();
    let Some(server) = redis.proxied_url() else {
        return;
    };
    let proxy = Proxy::start(&server.host);
    let options = redis
        .options()
        .with_connect_timeout(Duration::from_millis(300))
        .with_response_timeout(Duration::from_millis(300));
    let store = redis
        .connect_via(&server.with_host(proxy.addr), options)
        .await;
    let load = |i: usize| {
        let store = store.clone();
        async move {
            let key = format!("k{i}");
            let k = key.as_str();
            let k = RecordKey {
                tool: "tool",
                key: k,
            };
            let token = format!("t{i}");
            store.claim(k, &claim_by(&token, T0).claim()).await?;
            store
                .complete(k, &claim_by(&token, T0).claim(), &Completion::Marker, TTL)
                .await?;
            store.get(k).await.map(|_| ())
        }
    };
    for i in 0..20 {
        load(i).await.unwrap();
    }

    // Connections reset (and new ones refused), or silent (nothing forwarded).
    let faults = [
        (Proxy::cut as fn(&Proxy), "reset"),
        (Proxy::pause, "silent"),
    ];
    for (fault, what) in faults {
        // A load in flight while the connection goes.
        let tasks: Vec<_> = (100..150).map(|i| tokio::spawn(load(i))).collect();
        fault(&proxy);
        let started = Instant::now();
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) | Err(StoreError::Unavailable { store: "redis", .. }) => {}
                Err(other) => panic!("{what}: {other:?}"),
            }
        }
        for i in 200..205 {
            let r = load(i).await;
            assert!(
                matches!(r, Err(StoreError::Unavailable { store: "redis", .. })),
                "{what}: {r:?}"
            );
        }
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(10), "{what}: {elapsed:?}");

        proxy.cut(); // drop the silent connections too
        proxy.restore();
        let mut back = false;
        for _ in 0..50 {
            if load(300).await.is_ok() {
                back = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(back, "{what}: the store reconnects");
        store.delete(key("tool", "k300")).await.unwrap();
    }
}

/// The store's `Debug` names the server and prefix, never the URL's password.
#[tokio::test]
async fn debug_hides_the_url() {
    let redis = crate::support::redis_fixture!();
    let store = store(&redis).await;
    let shown = format!("{store:?}");
    assert!(shown.contains(store.prefix()), "{shown}");
    assert!(!shown.contains("redis://"), "{shown}");
}
