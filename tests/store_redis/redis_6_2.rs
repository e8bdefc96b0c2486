//! Redis 6.2 refuses `SET` with both `NX` and `GET`: against a proxy of the test's own that
//! answers as it does, the store falls back to its claim script by itself.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use idem::store::{ClaimOutcome, Store};

use super::{T0, claim_by, claimed_record, key};
use crate::store_conformance::{Subject, TestTime, checks};
use crate::support::resp::{Raw, Resp};

/// Against a server that refuses `SET` with `NX` and `GET`, as Redis 6.2 does, the store switches
/// to its claim script on the first claim by itself (that claim included), and claims work: the
/// claim, lease, store-clock and renewal checks of the shared suite pass through the
/// impersonating proxy (which hands commands over one at a time, so the long checks are left to
/// the test of the script itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn falls_back_to_the_claim_script_on_redis_6_2() {
    let redis = crate::support::redis_fixture!();
    let Some(server) = redis.proxied_url() else {
        return;
    };
    let impersonator = impersonate_redis_6_2(server.host.clone());
    let store = redis
        .connect_via(&server.with_host(impersonator), redis.options())
        .await;
    let store = Arc::new(store);
    assert!(!store.claims_by_script(), "the command is tried first");
    let k = key("tool", "first");
    assert_eq!(
        store.claim(k, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert!(store.claims_by_script(), "switched: {store:?}");
    assert_eq!(
        existing_record(store.claim(k, &claim_by("b", T0).claim()).await.unwrap()),
        claimed_record("a", T0)
    );
    store.delete(k).await.unwrap();
    let tool = |name: &str| format!("redis-6-2/{name}");
    let time = TestTime::Real;
    let s = &Subject {
        store: &*store,
        time: &time,
    };
    let dyn_store = Arc::clone(&store) as Arc<dyn Store>;
    checks::claim_absent(s, &tool("claim-absent")).await;
    checks::claim_race(&dyn_store, &time, &tool("claim-race"), 16, 2).await;
    checks::lease_takeover(s, &tool("lease-takeover")).await;
    checks::store_clock(s, &tool("store-clock")).await;
    checks::renewal(s, &tool("renewal")).await;
    checks::stale_completion(s, &tool("stale-completion")).await;
    checks::complete_output(s, &tool("complete-output")).await;
    checks::token_decides(s, &tool("token-decides")).await;
    checks::release(s, &tool("release")).await;
}

fn existing_record(outcome: ClaimOutcome) -> idem::store::Record {
    match outcome {
        ClaimOutcome::Existing(record) => record,
        other => panic!("expected Existing, got {other:?}"),
    }
}

/// A proxy that answers as Redis 6.2 does to a `SET` with both `NX` and `GET` (`ERR syntax
/// error`, nothing set) and hands every other command to the server, one at a time. Returns its
/// address.
fn impersonate_redis_6_2(upstream: String) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            std::thread::spawn(move || {
                let mut to_client = Raw::over(client.try_clone().unwrap());
                let mut from_client = Raw::over(client);
                let mut to_server = Raw::over(server);
                while let Some(Resp::Array(command)) = from_client.read_or_end() {
                    let args: Vec<Vec<u8>> = command
                        .into_iter()
                        .map(|arg| match arg {
                            Resp::Bulk(Some(bytes)) => bytes,
                            other => panic!("a command argument: {other:?}"),
                        })
                        .collect();
                    let upper: Vec<Vec<u8>> = args.iter().map(|a| a.to_ascii_uppercase()).collect();
                    let has = |word: &[u8]| upper[1..].iter().any(|a| a == word);
                    let reply = if upper[0] == b"SET" && has(b"NX") && has(b"GET") {
                        Resp::Error("ERR syntax error".into())
                    } else {
                        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                        to_server.cmd(&args)
                    };
                    if to_client.try_write(&reply).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}
