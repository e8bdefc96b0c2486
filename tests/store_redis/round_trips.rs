//! The round trips of an executor call and of each store operation, counted on the server with
//! `MONITOR`.

use std::sync::Arc;
use std::time::Duration;

use idem::Context;
use idem::executor::{Executor, Outcome};
use idem::key::JsonArgs;
use idem::spec::ToolSpec;
use idem::store::{ClaimOutcome, RecordKey, RedisStore, Store};
use idem::strategy::{DefaultStrategy, KeyInput, KeyStrategy};
use serde_json::json;

use super::{T0, claim_by, now_ms, script_store, store};
use crate::store_conformance::{ClaimBy, existing};
use crate::support::fixture::RedisFixture;
use crate::support::resp::{Raw, Resp};

/// A `MONITOR` connection that counts the commands clients sent (not those run by scripts) on
/// keys of one prefix.
struct Monitor {
    raw: Raw,
    prefix: String,
}

impl Monitor {
    fn start(url: &str, prefix: &str) -> Monitor {
        let mut raw = Raw::connect(url).expect("a raw connection");
        assert_eq!(raw.cmd(&[b"MONITOR"]), Resp::Simple("OK".into()), "MONITOR");
        Monitor {
            raw,
            prefix: prefix.to_owned(),
        }
    }

    /// The commands (names) sent since the last call, in order.
    fn commands(&mut self, url: &str) -> Vec<String> {
        let sentinel = format!("{}:sentinel:{}", self.prefix, now_ms().0);
        Raw::connect(url)
            .expect("a raw connection")
            .cmd(&[b"ECHO", sentinel.as_bytes()]);
        let mut commands = Vec::new();
        loop {
            let Resp::Simple(line) = self.raw.read() else {
                panic!("a MONITOR line")
            };
            if line.contains(&sentinel) {
                return commands;
            }
            // `1700000000.123456 [0 127.0.0.1:5000] "EVALSHA" "..." "1" "prefix:..."`, or
            // `[0 lua]` for a command run by a script.
            let Some((client, args)) = line.split_once("] ") else {
                continue;
            };
            if client.ends_with(" lua") || !args.contains(&format!("\"{}:", self.prefix)) {
                continue;
            }
            let name = args
                .split('"')
                .nth(1)
                .unwrap_or_default()
                .to_ascii_uppercase();
            commands.push(name);
        }
    }
}

/// A fresh call of the executor costs two commands (claim, complete), a replay one, a takeover
/// three; `get`, `renew`, `release` and `delete` one each, a claim meeting a live claim one by
/// script and two by command. Counted on the server with `MONITOR`, on this
/// test's prefix only (other tests may run meanwhile). The claim is `SET ... NX GET` where the
/// server has it (Redis 7), else the claim script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips() {
    let redis = crate::support::redis_fixture!();
    round_trips_of(&redis, store(&redis).await).await;
}

/// As [`round_trips`], claiming by script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_with_claims_by_script() {
    let redis = crate::support::redis_fixture!();
    round_trips_of(&redis, script_store(&redis).await).await;
}

async fn round_trips_of(redis: &RedisFixture, store: Arc<RedisStore>) {
    let url = redis.url();
    let executor = Executor::with_store(store.clone());
    let spec = ToolSpec::function("round-trip-v1", "round_trip")
        .build()
        .unwrap();
    let ctx = Context::new();
    // One claim first: on Redis 6.2, the store learns there that the server refuses
    // `SET ... NX GET`.
    let warm_up = key_of(&spec, "warm-up");
    store
        .claim(warm_up, &claim_by("w", T0).claim())
        .await
        .unwrap();
    let claim = if store.claims_by_script() {
        "EVALSHA"
    } else {
        "SET"
    };
    let mut monitor = Monitor::start(url, store.prefix());
    let _ = monitor.commands(url);

    const N: usize = 25;
    for i in 0..N {
        let args = json!({ "i": i });
        let first = executor
            .execute(&spec, &ctx, &args, || async { Ok::<_, std::io::Error>(i) })
            .await
            .unwrap();
        assert_eq!(first.outcome, Outcome::Executed { took_over: false });
    }
    let fresh = monitor.commands(url);
    assert_eq!(fresh, [claim, "EVALSHA"].repeat(N), "fresh calls");

    for i in 0..N {
        let args = json!({ "i": i });
        let again = executor
            .execute(&spec, &ctx, &args, || async { Ok::<_, std::io::Error>(0) })
            .await
            .unwrap();
        assert_eq!(again.outcome, Outcome::Replayed { args_differ: false });
        assert_eq!(again.output, i);
    }
    let replays = monitor.commands(url);
    assert_eq!(replays, vec![claim; N], "replays");

    // A claim abandoned after its lease of 100 ms: the executor takes it over (claim, the
    // takeover script, complete).
    let args = json!({ "i": "abandoned" });
    let json_args = JsonArgs::new(&args).unwrap();
    let key = DefaultStrategy::new()
        .key(&KeyInput::new(spec.id(), &json_args, &ctx))
        .unwrap();
    let k = key_of(&spec, key.as_str());
    let crashed = ClaimBy {
        lease: Duration::from_millis(100),
        ..claim_by("crashed", T0)
    };
    assert_eq!(
        store.claim(k, &crashed.claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = monitor.commands(url);
    let run = executor
        .execute(&spec, &ctx, &args, || async { Ok::<_, std::io::Error>(7) })
        .await
        .unwrap();
    assert_eq!(run.outcome, Outcome::Executed { took_over: true });
    assert_eq!(
        monitor.commands(url),
        [claim, "EVALSHA", "EVALSHA"],
        "takeover"
    );

    store.get(k).await.unwrap().unwrap();
    assert_eq!(monitor.commands(url), ["GET"], "get");

    // A live claim: renewed in one script; met by another claim in one round trip by script
    // (which reads its `PTTL` with it), in two by command (the takeover script finds it live).
    let k3 = key_of(&spec, "live");
    store.claim(k3, &claim_by("l", T0).claim()).await.unwrap();
    let _ = monitor.commands(url);
    store.renew(k3, &claim_by("l", T0).claim()).await.unwrap();
    assert_eq!(monitor.commands(url), ["EVALSHA"], "renew");
    existing(
        store.claim(k3, &claim_by("m", T0).claim()).await.unwrap(),
        "a live claim",
    );
    let meet_live: &[&str] = if store.claims_by_script() {
        &["EVALSHA"]
    } else {
        &["SET", "EVALSHA"]
    };
    assert_eq!(
        monitor.commands(url),
        meet_live,
        "a claim meeting a live one"
    );

    let k2 = key_of(&spec, "release");
    store.claim(k2, &claim_by("r", T0).claim()).await.unwrap();
    assert!(store.release(k2, &claim_by("r", T0).claim()).await.unwrap());
    assert!(store.delete(k).await.unwrap());
    assert_eq!(
        monitor.commands(url),
        [claim, "EVALSHA", "DEL"],
        "claim, release, delete"
    );
}

fn key_of<'a>(spec: &'a ToolSpec, key: &'a str) -> RecordKey<'a> {
    RecordKey {
        tool: spec.id(),
        key,
    }
}
