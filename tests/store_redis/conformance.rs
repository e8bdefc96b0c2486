//! The conformance suite on `RedisStore`, on the server's clock, with corrupt values planted by a
//! raw `SET`: once claiming natively, once by Lua script.

use std::sync::{Arc, Mutex};

use idem::store::{BoxFuture, RecordKey, RedisStore, Store};

use super::{claim_by, key, now_ms, script_store, store};
use crate::store_conformance::{Corruptor, Fixture, TestTime};
use crate::support::fixture::RedisFixture;
use crate::support::resp::{Raw, Resp};

/// Plants raw bytes with `SET`, at the key the store uses.
struct RawCorruptor {
    store: Arc<RedisStore>,
    raw: Mutex<Raw>,
}

impl Corruptor for RawCorruptor {
    fn write_raw<'a>(&'a self, key: RecordKey<'a>, bytes: &'a [u8]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let address = self.store.redis_key(key);
            let reply = self.raw.lock().unwrap().cmd(&[b"SET", &address, bytes]);
            assert_eq!(reply, Resp::Simple("OK".into()));
        })
    }
}

/// The suite, one test per check, each under a prefix of its own (purged at the end), claiming
/// natively (`SET ... NX GET`, or the script where the server is Redis 6.2).
mod native {
    use super::*;

    async fn make(check: &'static str) -> Option<Fixture> {
        let redis = RedisFixture::open(check)?;
        let store = store(&redis).await;
        Some(fixture(redis, store))
    }

    crate::store_conformance::suite!(make = make, corrupt);
}

/// The suite again with claims by Lua script, as on Redis 6.2.
mod by_script {
    use super::*;

    async fn make(check: &'static str) -> Option<Fixture> {
        let redis = RedisFixture::open(check)?;
        let store = script_store(&redis).await;
        Some(fixture(redis, store))
    }

    crate::store_conformance::suite!(make = make, corrupt);
}

/// The suite's fixture for `store`, on the server's clock (real time), planting corrupt records
/// through a raw connection; dropping `redis` at the end purges the store's prefix.
fn fixture(redis: RedisFixture, store: Arc<RedisStore>) -> Fixture {
    let corruptor = RawCorruptor {
        store: Arc::clone(&store),
        raw: Mutex::new(redis.raw()),
    };
    Fixture::new(store as Arc<dyn Store>, TestTime::Real)
        .with_corruptor(corruptor)
        .with_cleanup(move || async move { drop(redis) })
}

/// The suite's stores claim the way they say: natively on Redis 7 (`SET ... NX GET`; Redis
/// 6.2 refuses it and the store falls back to its script), by script when asked to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_claim_paths() {
    let redis = crate::support::redis_fixture!();
    let native = redis.raw().server_major() >= 7;
    for (store, by_script) in [
        (store(&redis).await, !native),
        (script_store(&redis).await, true),
    ] {
        let k = key("claim-paths", "k");
        for token in ["a", "b"] {
            store
                .claim(k, &claim_by(token, now_ms()).claim())
                .await
                .expect("claim");
        }
        assert_eq!(store.claims_by_script(), by_script, "{store:?}");
    }
}
