//! How many round trips `PostgresStore` costs, counted on the wire: a proxy between the store and
//! the server reads the messages the client sends, and counts the `Sync` and `Query` messages,
//! after each of which the client waits for the server (one round trip each), and the `Parse`
//! messages (statements prepared).
//!
//! Needs `IDEM_POSTGRES_URL` (a `postgres://` URL); skips, saying so, without it.
#![cfg(feature = "postgres")]

mod store_conformance;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use idem::Context;
use idem::executor::{Executor, Outcome};
use idem::spec::ToolSpec;
use idem::store::{
    ClaimOutcome, Completion, PostgresOptions, RecordKey, Store, StoreError, UnixMillis,
};
use serde_json::json;
use store_conformance::{ClaimBy, LONG_TTL as TTL};
use support::proxy::{Proxy, Tap};

/// The lease of the claims here: short, since the store waits for its end on the server's clock.
const LEASE: Duration = Duration::from_millis(300);

/// A claim by `token` (the time it carries is the caller's, which the store ignores).
fn claim_by(token: &str) -> ClaimBy {
    ClaimBy::new(token, UnixMillis::now(&idem::clock::SystemClock), LEASE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_per_operation() {
    let pg = support::postgres_fixture!();
    let Some(server) = pg.proxied_url() else {
        return;
    };
    let wire = Arc::new(Wire::default());
    let proxy = {
        let wire = Arc::clone(&wire);
        Proxy::start_tapped(&server.host, move || wire.tap())
    };
    // One connection: every statement goes over the one the counts see.
    let options = PostgresOptions::new().with_pool_size(1);
    let store = pg.store_via(&server.with_host(proxy.addr), options).await;
    let mut report = Vec::new();
    let mut check = |what: &str, (trips, prepared): (u64, u64), expected: (u64, u64)| {
        report.push(format!("{what:<50} {trips:>11} {prepared:>8}"));
        assert_eq!(
            (trips, prepared),
            expected,
            "{what}: (round trips, statements prepared)"
        );
    };

    // The executor, as a service runs it. The first call on the connection prepares its two
    // statements (one round trip each, once per connection).
    let executor = Executor::with_store(store.clone());
    let spec = ToolSpec::function("roundtrips-v1", "roundtrips")
        .build()
        .unwrap();
    let ctx = Context::new();
    let call = |n: u64| {
        let (executor, spec, ctx) = (&executor, &spec, &ctx);
        async move {
            let args = json!({ "n": n });
            let run = || async move { Ok::<_, std::io::Error>(json!({ "charged": n })) };
            executor
                .execute(spec, ctx, &args, run)
                .await
                .unwrap()
                .outcome
        }
    };
    let (outcome, counts) = counted(&wire, call(1)).await;
    assert_eq!(outcome, Outcome::Executed { took_over: false });
    check(
        "executor: new call, first on the connection",
        counts,
        (4, 2),
    );
    let (outcome, counts) = counted(&wire, call(2)).await;
    assert_eq!(outcome, Outcome::Executed { took_over: false });
    check("executor: new call", counts, (2, 0));
    let (outcome, counts) = counted(&wire, call(2)).await;
    assert_eq!(outcome, Outcome::Replayed { args_differ: false });
    check("executor: replay", counts, (1, 0));

    // Each operation of the store, its statement prepared.
    let s = &*store;
    let key = RecordKey {
        tool: "roundtrips",
        key: "k",
    };
    let done = Completion::Output(b"{\"ok\":true}".to_vec());
    // The statements the executor did not prepare.
    s.release(key, &claim_by("x").claim()).await.unwrap();
    let _ = s.renew(key, &claim_by("x").claim()).await;
    s.get(key).await.unwrap();
    s.delete(key).await.unwrap();
    s.list().await.unwrap();
    s.purge(false).await.unwrap();

    let (r, counts) = counted(&wire, s.claim(key, &claim_by("a").claim())).await;
    assert_eq!(r.unwrap(), ClaimOutcome::Claimed);
    check("claim: free key (Claimed)", counts, (1, 0));
    let (r, counts) = counted(&wire, s.renew(key, &claim_by("a").claim())).await;
    r.unwrap();
    check("renew", counts, (1, 0));
    let (r, counts) = counted(&wire, s.claim(key, &claim_by("b").claim())).await;
    assert!(matches!(r.unwrap(), ClaimOutcome::Existing(_)));
    check("claim: live claim (Existing)", counts, (1, 0));
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    let (r, counts) = counted(&wire, s.claim(key, &claim_by("c").claim())).await;
    assert!(matches!(r.unwrap(), ClaimOutcome::TookOver { .. }));
    check("claim: lease ended (TookOver)", counts, (1, 0));
    let (r, counts) = counted(&wire, s.renew(key, &claim_by("a").claim())).await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })));
    check(
        "renew of a lost claim (then reads the record)",
        counts,
        (2, 0),
    );
    let short_ttl = Duration::from_millis(300);
    let (r, counts) = counted(
        &wire,
        s.complete(key, &claim_by("c").claim(), &done, short_ttl),
    )
    .await;
    r.unwrap();
    check("complete", counts, (1, 0));
    let (r, counts) = counted(&wire, s.claim(key, &claim_by("d").claim())).await;
    assert!(matches!(r.unwrap(), ClaimOutcome::Existing(_)));
    check(
        "claim: completed record (Existing: a replay)",
        counts,
        (1, 0),
    );
    tokio::time::sleep(short_ttl + Duration::from_millis(100)).await;
    let (r, counts) = counted(&wire, s.claim(key, &claim_by("e").claim())).await;
    assert_eq!(r.unwrap(), ClaimOutcome::Claimed);
    check("claim: expired record (Claimed)", counts, (1, 0));
    let (r, counts) = counted(&wire, s.get(key)).await;
    assert!(r.unwrap().is_some());
    check("get", counts, (1, 0));
    let (r, counts) = counted(&wire, s.release(key, &claim_by("e").claim())).await;
    assert!(r.unwrap());
    check("release", counts, (1, 0));
    let (r, counts) = counted(&wire, s.release(key, &claim_by("e").claim())).await;
    assert!(!r.unwrap());
    check("release of nothing (then reads the record)", counts, (2, 0));
    let (r, counts) = counted(&wire, s.complete(key, &claim_by("e").claim(), &done, TTL)).await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })));
    check(
        "complete of a lost claim (then reads the record)",
        counts,
        (2, 0),
    );
    let (r, counts) = counted(&wire, s.delete(key)).await;
    assert!(!r.unwrap());
    check("delete", counts, (1, 0));
    let (r, counts) = counted(&wire, s.list()).await;
    r.unwrap();
    check("list", counts, (1, 0));
    let (r, counts) = counted(&wire, s.purge(false)).await;
    r.unwrap();
    check("purge", counts, (1, 0));

    println!(
        "{:<50} {:>11} {:>8}",
        "operation", "round trips", "prepared"
    );
    for line in &report {
        println!("{line}");
    }
}

/// Runs `op`, and counts what it sent.
async fn counted<T>(wire: &Wire, op: impl std::future::Future<Output = T>) -> (T, (u64, u64)) {
    let before = wire.snapshot();
    let result = op.await;
    (result, wire.since(before))
}

/// What the client sent: round trips (`Sync` and `Query` messages) and `Parse` messages.
#[derive(Default)]
struct Wire {
    trips: AtomicU64,
    parsed: AtomicU64,
}

impl Wire {
    /// What sees the bytes of one client's connection, and counts its messages.
    fn tap(self: &Arc<Self>) -> Tap {
        let wire = Arc::clone(self);
        let (mut pending, mut started) = (Vec::new(), false);
        Box::new(move |bytes: &[u8]| {
            pending.extend_from_slice(bytes);
            let counted = wire.count(&pending, &mut started);
            pending.drain(..counted);
        })
    }

    /// The counts so far. The proxy counts a message before it forwards it, so once the
    /// answer to a request is in, the request has been counted.
    fn snapshot(&self) -> (u64, u64) {
        (
            self.trips.load(Ordering::SeqCst),
            self.parsed.load(Ordering::SeqCst),
        )
    }

    fn since(&self, (trips, parsed): (u64, u64)) -> (u64, u64) {
        let (now_trips, now_parsed) = self.snapshot();
        (now_trips - trips, now_parsed - parsed)
    }

    /// Counts the whole messages at the start of `buf`, the client's stream not yet counted
    /// (`started` once the startup message is past); returns how many bytes they take.
    fn count(&self, buf: &[u8], started: &mut bool) -> usize {
        let mut at = 0;
        loop {
            let rest = &buf[at..];
            if !*started {
                // The startup message (or an SSL request before it): a length, no tag.
                let Some(len) = rest.get(..4) else { return at };
                let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
                if rest.len() < len {
                    return at;
                }
                let code = u32::from_be_bytes(rest[4..8].try_into().unwrap());
                *started = code != 80_877_103 && code != 80_877_104;
                at += len;
                continue;
            }
            let Some(header) = rest.get(..5) else {
                return at;
            };
            let len = u32::from_be_bytes(header[1..5].try_into().unwrap()) as usize;
            if rest.len() < len + 1 {
                return at;
            }
            match header[0] {
                b'S' | b'Q' => {
                    self.trips.fetch_add(1, Ordering::SeqCst);
                }
                b'P' => {
                    self.parsed.fetch_add(1, Ordering::SeqCst);
                }
                _ => {}
            }
            at += len + 1;
        }
    }
}
