//! `RedisStore`: the conformance suite on the server's clock (with corrupt values planted by a
//! raw `SET`), then what is particular to it: the key layout and Redis TTLs, leases read from
//! the server's `PTTL` whatever the claimers' clocks, renewals, null outputs and unknown
//! outcomes as stored, values that are not records, records too large, odd tool ids and keys,
//! prefixes that stay apart, a server that is unreachable, silent or cut mid-way, the round trips
//! of an executor call (counted with `MONITOR`), claims by the Lua script (forced, and on a
//! server that refuses `SET` with `NX` and `GET` as Redis 6.2 does, impersonated by a proxy of
//! the test's own).
//!
//! The tests need a server: set `IDEM_REDIS_URL` (`redis://127.0.0.1:6379`); without it each test
//! says it skipped. The server may be shared: every test works under a fresh random prefix and
//! removes its keys with `purge(all)`, which only touches that prefix. Nothing here flushes a
//! database or stops the server; the connection cuts go through a proxy of the test's own.
#![cfg(feature = "redis")]

mod store_conformance;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use idem::Context;
use idem::executor::{Executor, Outcome};
use idem::key::JsonArgs;
use idem::spec::ToolSpec;
use idem::store::{
    BoxFuture, ClaimOutcome, Completion, RECORD_FORMAT, Record, RecordKey, RecordState,
    RedisOptions, RedisStore, Store, StoreError, UnixMillis,
};
use idem::strategy::{DefaultStrategy, KeyInput, KeyStrategy};
use serde_json::json;
use store_conformance::{
    ClaimBy, Corruptor, Fixture, LONG_TTL as TTL, Shape, Subject, TestTime, checks, existing,
};

// ---------------------------------------------------------------------------------------------
// Set-up

/// The server's URL, or `None` (and a line saying why the test is skipped; a failure with
/// `IDEM_REQUIRE_SERVERS=1`).
fn url(test: &str) -> Option<String> {
    support::servers::server_url("IDEM_REDIS_URL", test)
}

/// A prefix no other run uses.
fn fresh_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("idem-test-{}-{nanos}-{test}", std::process::id())
}

/// A store under a fresh prefix; claims abandoned by a failing test leave within 10 minutes.
async fn store(url: &str, test: &str) -> Arc<RedisStore> {
    let options = test_options(test);
    let store = RedisStore::connect_with(url, options.clone())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    assert_eq!(store.options(), &options);
    Arc::new(store)
}

/// The options of [`store`]: a fresh prefix, and a grace of 10 minutes.
fn test_options(test: &str) -> RedisOptions {
    RedisOptions::new()
        .with_prefix(&fresh_prefix(test))
        .unwrap()
        .with_claim_grace(Duration::from_secs(600))
}

/// As [`store`], claiming by Lua script (what Redis 6.2 needs) instead of `SET ... NX GET`.
async fn script_store(url: &str, test: &str) -> Arc<RedisStore> {
    let options = test_options(test).with_claim_by_script(true);
    let store = RedisStore::connect_with(url, options)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    assert!(store.options().claim_by_script());
    Arc::new(store)
}

/// Another connection to the server at `url`, with `options`.
async fn reconnect(url: &str, options: RedisOptions) -> RedisStore {
    let store = RedisStore::connect_with(url, options.clone())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    assert_eq!(store.options(), &options);
    store
}

/// Removes the test's keys.
async fn clean(store: &RedisStore) {
    store.purge(true).await.expect("purge all");
    assert!(store.list().await.expect("list").is_empty());
}

fn key<'a>(tool: &'a str, key: &'a str) -> RecordKey<'a> {
    RecordKey { tool, key }
}

/// The time the claims of these tests carry, unless said otherwise (2023-11-14): the claimer's
/// clock, which the store writes into the value and otherwise ignores.
const T0: UnixMillis = UnixMillis(1_700_000_000_000);
/// The lease of [`claim_by`]'s claims.
const LEASE: Duration = Duration::from_secs(30);

/// `t + ms` milliseconds.
fn at(t: UnixMillis, ms: u64) -> UnixMillis {
    UnixMillis(t.0 + ms)
}

/// A claim by `token` carrying the time `now`, with fingerprint `fp-{token}` and [`LEASE`].
fn claim_by(token: &str, now: UnixMillis) -> ClaimBy {
    ClaimBy {
        token: token.to_owned(),
        fingerprint: format!("fp-{token}"),
        now,
        lease: LEASE,
    }
}

/// The in-progress record a [`claim_by`] writes, byte for byte once encoded.
fn claimed_record(token: &str, now: UnixMillis) -> Record {
    Record::in_progress(
        token.to_owned(),
        format!("fp-{token}"),
        now,
        now.plus(LEASE),
    )
}

/// Checks that `bytes`, a value the store wrote when `token`'s claim made at `claimed_at`
/// completed with `completion`, is the record in `Record::encode`'s documented format: the
/// claim's token, fingerprint and creation time, the completion, and an (informational)
/// `expires_at` of this host's clock plus `ttl` at the completion, which happened in
/// `completed_within`. Returns the record.
fn assert_completed_value(
    bytes: &[u8],
    token: &str,
    claimed_at: UnixMillis,
    completion: &Completion,
    ttl: Duration,
    completed_within: (UnixMillis, UnixMillis),
) -> Record {
    let record = Record::decode("x", bytes).expect("a record");
    assert_eq!(
        record.encode("x").unwrap(),
        bytes,
        "byte for byte as Record::encode writes it"
    );
    assert_eq!(Shape::of(&record), Shape::done(token, completion));
    assert_eq!(record.created_at, claimed_at, "the claim's created_at");
    let (from, to) = completed_within;
    let expires_at = record.expires_at();
    assert!(
        from.plus(ttl) <= expires_at && expires_at <= to.plus(ttl),
        "expires_at {expires_at:?} outside {:?}..={:?}",
        from.plus(ttl),
        to.plus(ttl)
    );
    record
}

fn now_ms() -> UnixMillis {
    UnixMillis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

// ---------------------------------------------------------------------------------------------
// A raw RESP client: plants values and reads what the store wrote, independently of the store.

#[derive(Debug, Clone, PartialEq)]
enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Resp>),
}

struct Raw {
    reader: BufReader<TcpStream>,
}

impl Raw {
    /// Connects to `redis://[[user]:password@]host:port[/db]`.
    fn connect(url: &str) -> Raw {
        let rest = url
            .strip_prefix("redis://")
            .unwrap_or_else(|| panic!("the raw test client reads redis:// URLs only, not {url}"));
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((auth, rest)) => (Some(auth), rest),
            None => (None, rest),
        };
        let (host, db) = match rest.split_once('/') {
            Some((host, db)) => (host, db),
            None => (rest, ""),
        };
        let host = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:6379")
        };
        let stream = TcpStream::connect(&host).expect("raw connection");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut raw = Raw {
            reader: BufReader::new(stream),
        };
        if let Some(auth) = auth {
            let reply = match auth.split_once(':') {
                Some(("", password)) => raw.cmd(&[b"AUTH", password.as_bytes()]),
                Some((user, password)) => raw.cmd(&[b"AUTH", user.as_bytes(), password.as_bytes()]),
                None => raw.cmd(&[b"AUTH", auth.as_bytes()]),
            };
            assert_eq!(reply, Resp::Simple("OK".into()));
        }
        if !db.is_empty() {
            assert_eq!(
                raw.cmd(&[b"SELECT", db.as_bytes()]),
                Resp::Simple("OK".into())
            );
        }
        raw
    }

    fn send(&mut self, args: &[&[u8]]) {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.reader.get_mut().write_all(&out).expect("raw write");
    }

    fn read(&mut self) -> Resp {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).expect("raw read");
        assert!(line.ends_with(b"\r\n"), "a RESP line: {line:?}");
        line.truncate(line.len() - 2);
        let text = String::from_utf8_lossy(&line[1..]).into_owned();
        match line[0] {
            b'+' => Resp::Simple(text),
            b'-' => Resp::Error(text),
            b':' => Resp::Int(text.parse().unwrap()),
            b'$' => {
                let len: i64 = text.parse().unwrap();
                if len < 0 {
                    return Resp::Bulk(None);
                }
                let mut data = vec![0; len as usize + 2];
                self.reader.read_exact(&mut data).expect("raw read");
                data.truncate(len as usize);
                Resp::Bulk(Some(data))
            }
            b'*' => {
                let len: i64 = text.parse().unwrap();
                Resp::Array((0..len.max(0)).map(|_| self.read()).collect())
            }
            other => panic!("unexpected RESP type {other:?}"),
        }
    }

    fn cmd(&mut self, args: &[&[u8]]) -> Resp {
        self.send(args);
        self.read()
    }

    /// The next value, or `None` when the peer has closed the connection.
    fn read_or_end(&mut self) -> Option<Resp> {
        let at_end = self.reader.fill_buf().map_or(true, <[u8]>::is_empty);
        (!at_end).then(|| self.read())
    }

    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        match self.cmd(&[b"GET", key]) {
            Resp::Bulk(value) => value,
            other => panic!("GET: {other:?}"),
        }
    }

    /// The major version of the server (`redis_version` of `INFO server`).
    fn server_major(&mut self) -> u32 {
        let Resp::Bulk(Some(info)) = self.cmd(&[b"INFO", b"server"]) else {
            panic!("INFO server")
        };
        let info = String::from_utf8(info).unwrap();
        let version = info
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .expect("redis_version in INFO");
        version.split('.').next().unwrap().parse().unwrap()
    }

    fn int(&mut self, args: &[&[u8]]) -> i64 {
        match self.cmd(args) {
            Resp::Int(n) => n,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(args[0])),
        }
    }
}

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

// ---------------------------------------------------------------------------------------------
// The conformance suite

/// The suite, one test per check, each under a fresh prefix (purged at the end), claiming
/// natively (`SET ... NX GET`, or the script where the server is Redis 6.2).
mod native {
    use super::*;

    async fn make(check: &'static str) -> Option<Fixture> {
        let url = url(check)?;
        Some(fixture(&url, store(&url, check).await))
    }

    crate::store_conformance::suite!(make = make, corrupt);
}

/// The suite again with claims by Lua script, as on Redis 6.2.
mod by_script {
    use super::*;

    async fn make(check: &'static str) -> Option<Fixture> {
        let url = url(check)?;
        Some(fixture(&url, script_store(&url, check).await))
    }

    crate::store_conformance::suite!(make = make, corrupt);
}

/// The suite's fixture for `store`, on the server's clock (real time), planting corrupt records
/// through a raw connection, and purging the store's prefix at the end.
fn fixture(url: &str, store: Arc<RedisStore>) -> Fixture {
    let corruptor = RawCorruptor {
        store: Arc::clone(&store),
        raw: Mutex::new(Raw::connect(url)),
    };
    Fixture::new(Arc::clone(&store) as Arc<dyn Store>, TestTime::Real)
        .with_corruptor(corruptor)
        .with_cleanup(move || async move {
            store.purge(true).await.expect("purge the test's prefix");
        })
}

/// The suite's stores claim the way they say: natively on Redis 7 (`SET ... NX GET`; Redis
/// 6.2 refuses it and the store falls back to its script), by script when asked to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_claim_paths() {
    let Some(url) = url("conformance_claim_paths") else {
        return;
    };
    let native = Raw::connect(&url).server_major() >= 7;
    for (store, by_script) in [
        (store(&url, "claim-paths").await, !native),
        (script_store(&url, "claim-paths-script").await, true),
    ] {
        let k = key("claim-paths", "k");
        for token in ["a", "b"] {
            store
                .claim(k, &claim_by(token, now_ms()).claim())
                .await
                .expect("claim");
        }
        assert_eq!(store.claims_by_script(), by_script, "{store:?}");
        clean(&store).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Layout and expiry

/// One key per record, as documented, holding `Record::encode`'s bytes; Redis TTLs: lease +
/// grace for a claim (set again by a renewal, the value unchanged), the TTL for a result;
/// release and delete remove the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_layout_and_redis_ttls() {
    let Some(url) = url("key_layout_and_redis_ttls") else {
        return;
    };
    let store = store(&url, "layout").await;
    let mut raw = Raw::connect(&url);
    let k = key("payment-processor-v1", "fb5f9548");
    let address = store.redis_key(k);
    assert_eq!(
        address,
        format!("{}:20:payment-processor-v1:fb5f9548", store.prefix()).into_bytes()
    );

    assert_eq!(
        store.claim(k, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let claimed = claimed_record("a", T0).encode("x").unwrap();
    assert_eq!(
        raw.get(&address).unwrap(),
        claimed,
        "the value is the record's documented encoding"
    );
    let claim_ttl = (LEASE + store.claim_grace()).as_millis() as i64;
    let pttl = raw.int(&[b"PTTL", &address]);
    assert!(
        pttl > claim_ttl - 5_000 && pttl <= claim_ttl,
        "a claim lives lease + grace in Redis: {pttl} ms"
    );

    // As if most of the lease had passed: a renewal gives it lease + grace again, and leaves
    // the value as it is.
    assert_eq!(raw.int(&[b"PEXPIRE", &address, b"1000000"]), 1);
    store.renew(k, &claim_by("a", T0).claim()).await.unwrap();
    let pttl = raw.int(&[b"PTTL", &address]);
    assert!(
        pttl > claim_ttl - 5_000 && pttl <= claim_ttl,
        "a renewed claim lives lease + grace again: {pttl} ms"
    );
    assert_eq!(
        raw.get(&address).unwrap(),
        claimed,
        "renewal keeps the bytes"
    );

    let done = Completion::Output(br#"{"ok":true}"#.to_vec());
    let before = now_ms();
    store
        .complete(k, &claim_by("a", T0).claim(), &done, TTL)
        .await
        .unwrap();
    let after = now_ms();
    assert_completed_value(
        &raw.get(&address).unwrap(),
        "a",
        T0,
        &done,
        TTL,
        (before, after),
    );
    let pttl = raw.int(&[b"PTTL", &address]);
    let ttl = TTL.as_millis() as i64;
    assert!(
        pttl > ttl - 5_000 && pttl <= ttl,
        "a result lives its TTL: {pttl} ms"
    );

    assert!(store.delete(k).await.unwrap());
    assert_eq!(raw.int(&[b"EXISTS", &address]), 0);
    assert_eq!(
        store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert!(store.release(k, &claim_by("b", T0).claim()).await.unwrap());
    assert_eq!(raw.int(&[b"EXISTS", &address]), 0, "released");
    clean(&store).await;
}

/// Redis removes an expired result by itself, and a claim then is a plain `Claimed`; a claim
/// abandoned past its lease is taken over within the grace, and forgotten after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_expiry_in_real_time() {
    let Some(url) = url("redis_expiry_in_real_time") else {
        return;
    };
    let store = store(&url, "expiry").await;
    let mut raw = Raw::connect(&url);

    // A result with a TTL of 100 ms.
    let k = key("tool", "result");
    assert_eq!(
        store.claim(k, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    store
        .complete(
            k,
            &claim_by("a", T0).claim(),
            &Completion::Marker,
            Duration::from_millis(100),
        )
        .await
        .unwrap();
    assert!(store.get(k).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        raw.int(&[b"EXISTS", &store.redis_key(k)]),
        0,
        "Redis removed it"
    );
    assert_eq!(store.get(k).await.unwrap(), None);
    assert_eq!(
        store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );

    // A claim of 100 ms abandoned, with a grace of 10 minutes: taken over.
    let short = |token: &str| ClaimBy {
        lease: Duration::from_millis(100),
        ..claim_by(token, T0)
    };
    let k = key("tool", "abandoned");
    assert_eq!(
        store.claim(k, &short("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.claim(k, &short("b").claim()).await.unwrap(),
        ClaimOutcome::TookOver {
            previous_token: "a".into()
        }
    );

    // With no grace, Redis removes the claim at the end of its lease: a plain claim then.
    let no_grace = reconnect(
        &url,
        store.options().clone().with_claim_grace(Duration::ZERO),
    )
    .await;
    assert_eq!(no_grace.claim_grace(), Duration::ZERO);
    assert_eq!(no_grace.prefix(), store.prefix());
    let k = key("tool", "no-grace");
    assert_eq!(
        no_grace.claim(k, &short("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(raw.int(&[b"EXISTS", &store.redis_key(k)]), 0);
    assert_eq!(
        no_grace.claim(k, &short("b").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let late = no_grace
        .complete(k, &short("a").claim(), &Completion::Marker, TTL)
        .await;
    assert!(
        matches!(late, Err(StoreError::ClaimLost { .. })),
        "{late:?}"
    );
    clean(&store).await;
}

// ---------------------------------------------------------------------------------------------
// The server's clock, renewals, what is stored

/// Both kinds of store: claims by `SET ... NX GET` where the server has it, and by script (as
/// on Redis 6.2); the same behaviour is expected of both.
async fn both_stores(url: &str, test: &str) -> [Arc<RedisStore>; 2] {
    [
        store(url, test).await,
        script_store(url, &format!("{test}-script")).await,
    ]
}

/// How the store claims, for messages.
fn path(store: &RedisStore) -> &'static str {
    if store.claims_by_script() {
        "script"
    } else {
        "command"
    }
}

/// Claimers whose clocks run 5 minutes ahead of or behind the server's change nothing: a live
/// claim stays `Existing` for every one of them whatever its holder's clock, a claim whose
/// holder's clock runs ahead is taken over once its lease has passed on the server, and a
/// result stays until its TTL has passed on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_clock_decides() {
    let Some(url) = url("the_servers_clock_decides") else {
        return;
    };
    const SKEW: u64 = 5 * 60 * 1000;
    for store in both_stores(&url, "server-clock").await {
        let path = path(&store);
        let offsets = [("behind", -1), ("exact", 0), ("ahead", 1)];
        let skewed = |token: &str, offset: i64, lease: Duration| ClaimBy {
            lease,
            ..claim_by(
                token,
                UnixMillis((now_ms().0 as i64 + offset * SKEW as i64) as u64),
            )
        };
        let live = Duration::from_secs(5);
        for (holder, holder_offset) in offsets {
            let k = key("tool", holder);
            let claim = skewed("a", holder_offset, live);
            assert_eq!(
                store.claim(k, &claim.claim()).await.unwrap(),
                ClaimOutcome::Claimed,
                "{path}: holder {holder}"
            );
            for (claimer, claimer_offset) in offsets {
                let outcome = store
                    .claim(k, &skewed("b", claimer_offset, live).claim())
                    .await
                    .unwrap();
                assert_eq!(
                    existing(
                        outcome,
                        &format!("{path}: holder {holder}, claimer {claimer}")
                    ),
                    Shape::claimed("a"),
                );
            }
            // The holder's record, with its own clock's instants (informational).
            let record = store.get(k).await.unwrap().unwrap();
            assert_eq!(record.created_at, claim.now, "{path}: {holder}");
            store
                .complete(
                    k,
                    &claim.claim(),
                    &Completion::Marker,
                    Duration::from_secs(5),
                )
                .await
                .unwrap();
            for (claimer, claimer_offset) in offsets {
                let outcome = store
                    .claim(k, &skewed("c", claimer_offset, live).claim())
                    .await
                    .unwrap();
                assert_eq!(
                    existing(
                        outcome,
                        &format!("{path}: result of {holder}, claimer {claimer}")
                    ),
                    Shape::done("a", &Completion::Marker),
                );
                assert!(store.get(k).await.unwrap().is_some(), "{path}: {claimer}");
            }
        }

        // A holder ahead with a lease of 1 s: live for 1 s on the server, whatever the
        // claimer's clock, and taken over after it.
        let short = Duration::from_secs(1);
        let k = key("tool", "short-ahead");
        assert_eq!(
            store
                .claim(k, &skewed("a", 1, short).claim())
                .await
                .unwrap(),
            ClaimOutcome::Claimed
        );
        let outcome = store
            .claim(k, &skewed("b", 1, short).claim())
            .await
            .unwrap();
        existing(
            outcome,
            &format!("{path}: a claimer ahead, within the lease"),
        );
        tokio::time::sleep(short + Duration::from_millis(300)).await;
        assert_eq!(
            store
                .claim(k, &skewed("b", -1, short).claim())
                .await
                .unwrap(),
            ClaimOutcome::TookOver {
                previous_token: "a".into()
            },
            "{path}: a claimer behind, after the lease"
        );
        clean(&store).await;
    }
}

/// Renews the claim of "a" on `k` (its lease `lease`) every 100 ms for a second, checking after
/// each renewal that a claim by "b" gets `Existing`. `Err` with the time a renewal and the claim
/// after it took when that was the lease or longer and the claim was not `Existing`: the host
/// stalled, and the round proves nothing.
async fn renew_ten_times(
    store: &RedisStore,
    k: RecordKey<'_>,
    lease: Duration,
) -> Result<(), Duration> {
    let claim = |token: &str| ClaimBy {
        lease,
        ..claim_by(token, T0)
    };
    let path = path(store);
    for round in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let window = Instant::now();
        store
            .renew(k, &claim("a").claim())
            .await
            .unwrap_or_else(|e| panic!("{path}: renewal {round}: {e}"));
        let outcome = store.claim(k, &claim("b").claim()).await.unwrap();
        let took = window.elapsed();
        if took >= lease && !matches!(outcome, ClaimOutcome::Existing(_)) {
            return Err(took);
        }
        assert_eq!(
            existing(outcome, &format!("{path}: after renewal {round}")),
            Shape::claimed("a")
        );
    }
    Ok(())
}

/// A claim renewed every 100 ms for a second stays live far past its lease of 300 ms (another
/// claimer gets `Existing` throughout), keeps its bytes, and is taken over once the renewals
/// stop and the lease passes; its former holder can then neither renew nor complete. A claim
/// renewed several times still completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_keeps_a_claim_alive() {
    let Some(url) = url("renewal_keeps_a_claim_alive") else {
        return;
    };
    let mut raw = Raw::connect(&url);
    for store in both_stores(&url, "renewal").await {
        let path = path(&store);
        let lease = Duration::from_millis(300);
        let claim = |token: &str| ClaimBy {
            lease,
            ..claim_by(token, T0)
        };
        // A machine that stalls for a lease between a renewal and the claim after it (a
        // loaded test host) makes that round prove nothing: the scenario starts again on a
        // fresh key, at most 3 times.
        let mut attempt = 0;
        let (name, bytes, started) = loop {
            attempt += 1;
            let name = format!("renewed-{attempt}");
            let k = key("tool", &name);
            assert_eq!(
                store.claim(k, &claim("a").claim()).await.unwrap(),
                ClaimOutcome::Claimed
            );
            let bytes = raw.get(&store.redis_key(k)).unwrap();
            let started = Instant::now();
            match renew_ten_times(&store, k, lease).await {
                Ok(()) => break (name, bytes, started),
                Err(stall) => assert!(attempt < 3, "{path}: stalled 3 times: {stall:?}"),
            }
        };
        let k = key("tool", &name);
        let address = store.redis_key(k);
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(raw.get(&address).unwrap(), bytes, "{path}: same bytes");

        tokio::time::sleep(lease + Duration::from_millis(200)).await;
        assert_eq!(
            store.claim(k, &claim("b").claim()).await.unwrap(),
            ClaimOutcome::TookOver {
                previous_token: "a".into()
            },
            "{path}: the renewals stopped"
        );
        let r = store.renew(k, &claim("a").claim()).await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        let r = store
            .complete(k, &claim("a").claim(), &Completion::Marker, TTL)
            .await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        assert_eq!(
            store.get(k).await.unwrap().as_ref().map(Shape::of),
            Some(Shape::claimed("b"))
        );

        let k = key("tool", "renewed-then-completed");
        store.claim(k, &claim("c").claim()).await.unwrap();
        for _ in 0..3 {
            store.renew(k, &claim("c").claim()).await.unwrap();
        }
        let done = Completion::Output(b"[1,2]".to_vec());
        store
            .complete(k, &claim("c").claim(), &done, TTL)
            .await
            .unwrap();
        assert_eq!(
            store.get(k).await.unwrap().as_ref().map(Shape::of),
            Some(Shape::done("c", &done)),
            "{path}"
        );
        let r = store.renew(k, &claim("c").claim()).await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        let r = store
            .renew(key("tool", "absent"), &claim("c").claim())
            .await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        assert_eq!(
            raw.int(&[b"EXISTS", &store.redis_key(key("tool", "absent"))]),
            0
        );
        clean(&store).await;
    }
}

/// A `null` output is stored as `"output":null` and comes back as the output `null`, from `get`
/// and from a duplicate claim; a marker has no `output` member and comes back as `None`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_output_round_trips() {
    let Some(url) = url("a_null_output_round_trips") else {
        return;
    };
    let mut raw = Raw::connect(&url);
    for store in both_stores(&url, "null").await {
        let path = path(&store);
        for (name, completion, output) in [
            (
                "null",
                Completion::Output(b"null".to_vec()),
                Some(b"null".to_vec()),
            ),
            ("marker", Completion::Marker, None),
        ] {
            let k = key("tool", name);
            store.claim(k, &claim_by("a", T0).claim()).await.unwrap();
            let before = now_ms();
            store
                .complete(k, &claim_by("a", T0).claim(), &completion, TTL)
                .await
                .unwrap();
            let after = now_ms();
            let value = raw.get(&store.redis_key(k)).unwrap();
            assert_completed_value(&value, "a", T0, &completion, TTL, (before, after));
            let text = String::from_utf8(value).unwrap();
            assert_eq!(
                text.contains(r#""output":null"#),
                output.is_some(),
                "{path}: {name}: {text}"
            );
            assert_eq!(
                text.contains(r#""output""#),
                output.is_some(),
                "{path}: {text}"
            );
            let found = store.get(k).await.unwrap().unwrap();
            assert!(
                matches!(&found.state, RecordState::Completed { output: o, .. } if *o == output),
                "{path}: {name}: {found:?}"
            );
            let replay = existing(
                store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
                name,
            );
            assert_eq!(replay, Shape::done("a", &completion), "{path}: {name}");
        }
        clean(&store).await;
    }
}

/// An unknown outcome is stored in format 2 (`"state":"unknown"` and its reason), replayed as a
/// finished record (neither released nor renewed by its token), and expires with its TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_round_trips_and_expires() {
    let Some(url) = url("an_unknown_outcome_round_trips_and_expires") else {
        return;
    };
    let mut raw = Raw::connect(&url);
    for store in both_stores(&url, "unknown").await {
        let path = path(&store);
        let k = key("tool", "panicked");
        let address = store.redis_key(k);
        let unknown = Completion::Unknown("the tool panicked".into());
        let ttl = Duration::from_millis(400);
        store.claim(k, &claim_by("a", T0).claim()).await.unwrap();
        let before = now_ms();
        store
            .complete(k, &claim_by("a", T0).claim(), &unknown, ttl)
            .await
            .unwrap();
        let after = now_ms();
        let value = raw.get(&address).unwrap();
        let record = assert_completed_value(&value, "a", T0, &unknown, ttl, (before, after));
        assert!(
            matches!(&record.state, RecordState::Unknown { reason, .. } if reason == "the tool panicked")
        );
        let text = String::from_utf8(value).unwrap();
        for member in [
            r#""idem_record":2"#,
            r#""state":"unknown""#,
            r#""reason":"the tool panicked""#,
        ] {
            assert!(text.contains(member), "{path}: {member} in {text}");
        }
        let pttl = raw.int(&[b"PTTL", &address]);
        assert!(
            pttl > 0 && pttl <= 400,
            "{path}: a result lives its TTL: {pttl}"
        );

        assert_eq!(
            store.get(k).await.unwrap().as_ref().map(Shape::of),
            Some(Shape::done("a", &unknown))
        );
        let found = existing(
            store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
            path,
        );
        assert_eq!(found, Shape::done("a", &unknown), "{path}");
        assert!(!store.release(k, &claim_by("a", T0).claim()).await.unwrap());
        let r = store.renew(k, &claim_by("a", T0).claim()).await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );

        tokio::time::sleep(ttl + Duration::from_millis(200)).await;
        assert_eq!(raw.int(&[b"EXISTS", &address]), 0, "{path}: expired");
        assert_eq!(store.get(k).await.unwrap(), None, "{path}");
        assert_eq!(
            store.claim(k, &claim_by("c", T0).claim()).await.unwrap(),
            ClaimOutcome::Claimed,
            "{path}"
        );
        clean(&store).await;
    }
}

/// The server's time, as `TIME` answers it.
fn server_time(raw: &mut Raw) -> UnixMillis {
    let Resp::Array(parts) = raw.cmd(&[b"TIME"]) else {
        panic!("TIME")
    };
    let number = |part: &Resp| match part {
        Resp::Bulk(Some(digits)) => std::str::from_utf8(digits).unwrap().parse::<u64>().unwrap(),
        other => panic!("TIME: {other:?}"),
    };
    UnixMillis(number(&parts[0]) * 1000 + number(&parts[1]) / 1000)
}

/// `purge(false)` removes the finished records that Redis does not expire by itself (written by
/// another client without a TTL) once their `expires_at` has passed on the server's clock, and
/// keeps the others: live results, claims, and what idem wrote (Redis expires it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_uses_the_servers_time() {
    let Some(url) = url("purge_uses_the_servers_time") else {
        return;
    };
    let store = store(&url, "purge-time").await;
    let mut raw = Raw::connect(&url);
    let now = server_time(&mut raw);
    let finished = |token: &str, expires_at: UnixMillis| {
        format!(
            r#"{{"idem_record":1,"state":"failed","token":"{token}","fingerprint":"fp-{token}","created_at":1,"expires_at":{},"error":"no"}}"#,
            expires_at.0
        )
    };
    let plants = [
        (
            "expired-a-minute-ago",
            finished("a", UnixMillis(now.0 - 60_000)),
        ),
        ("expired-just-now", finished("b", UnixMillis(now.0 - 1))),
        (
            "expires-in-a-minute",
            finished("c", now.plus(Duration::from_secs(60))),
        ),
        (
            "claim-long-ago",
            String::from_utf8(claimed_record("d", UnixMillis(1)).encode("x").unwrap()).unwrap(),
        ),
    ];
    for (name, value) in &plants {
        raw.cmd(&[
            b"SET",
            &store.redis_key(key("tool", name)),
            value.as_bytes(),
        ]);
    }
    let k = key("tool", "written-by-idem");
    store.claim(k, &claim_by("e", T0).claim()).await.unwrap();
    store
        .complete(k, &claim_by("e", T0).claim(), &Completion::Marker, TTL)
        .await
        .unwrap();

    assert_eq!(store.purge(false).await.unwrap(), 2);
    let mut left: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["claim-long-ago", "expires-in-a-minute", "written-by-idem"]
    );
    assert_eq!(store.purge(false).await.unwrap(), 0, "again");
    clean(&store).await;
}

// ---------------------------------------------------------------------------------------------
// Values that are not records

/// Every operation on a value that is not an idem record gives a typed error (`Corrupt` or
/// `UnsupportedFormat`), never a script error, a panic or an overwrite: garbage, values that
/// look like a claim up to a point, JSON a Lua decoder would choke on, another format version,
/// and keys of another Redis type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_are_not_records() {
    let Some(url) = url("values_that_are_not_records") else {
        return;
    };
    let store = store(&url, "garbage").await;
    let mut raw = Raw::connect(&url);
    let claimed_prefix = br#"{"idem_record":1,"state":"in_progress","token":"a","fingerprint":"#;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("binary", b"\x00\xff\xfe\r\n".to_vec()),
        ("json-null", b"null".to_vec()),
        ("json-array", b"[1,2,3]".to_vec()),
        ("deep", deep.into_bytes()),
        ("claim-cut", claimed_prefix.to_vec()),
        (
            "claim-trailing",
            [
                &claimed_prefix[..],
                br#""f","created_at":1,"lease_until":2}junk"#,
            ]
            .concat(),
        ),
        (
            "claim-bad-utf8",
            [&claimed_prefix[..], b"\"f\xff\",\"created_at\":1,\"lease_until\":2}"].concat(),
        ),
        (
            "claim-u64-overflow",
            [
                &claimed_prefix[..],
                br#""f","created_at":99999999999999999999,"lease_until":2}"#,
            ]
            .concat(),
        ),
        (
            "claim-leading-zero",
            [&claimed_prefix[..], br#""f","created_at":01,"lease_until":2}"#].concat(),
        ),
        (
            "token-not-string",
            br#"{"idem_record":1,"state":"in_progress","token":7,"fingerprint":"f","created_at":1,"lease_until":2}"#.to_vec(),
        ),
    ];
    for (name, bytes) in &cases {
        let k = key("tool", name);
        raw.cmd(&[b"SET", &store.redis_key(k), bytes]);
        let corrupt = |r: &dyn std::fmt::Debug, is: bool, op: &str| {
            assert!(is, "{name}: {op}: expected Corrupt, got {r:?}")
        };
        let r = store.get(k).await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "get");
        let r = store
            .claim(k, &claim_by("b", at(T0, 86_400_000)).claim())
            .await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "claim");
        let r = store
            .complete(k, &claim_by("a", T0).claim(), &Completion::Marker, TTL)
            .await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "complete");
        let r = store.renew(k, &claim_by("a", T0).claim()).await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "renew");
        let r = store.release(k, &claim_by("a", T0).claim()).await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "release");
        assert_eq!(
            &raw.get(&store.redis_key(k)).unwrap(),
            bytes,
            "{name}: untouched"
        );
    }

    // A newer format version, its lease long over (no Redis expiry).
    let k = key("tool", "newer");
    let newer = RECORD_FORMAT + 1;
    let v_next = format!(
        r#"{{"idem_record":{newer},"state":"in_progress","token":"a","fingerprint":"f","created_at":1,"lease_until":2}}"#
    );
    raw.cmd(&[b"SET", &store.redis_key(k), v_next.as_bytes()]);
    let unsupported = |r: &dyn std::fmt::Debug, is: bool| assert!(is, "{newer}: {r:?}");
    let r = store.get(k).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, supported, .. }) if found == newer && supported == RECORD_FORMAT),
    );
    let r = store.claim(k, &claim_by("b", T0).claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    let r = store
        .complete(k, &claim_by("a", T0).claim(), &Completion::Marker, TTL)
        .await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    let r = store.renew(k, &claim_by("a", T0).claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    let r = store.release(k, &claim_by("a", T0).claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    assert_eq!(raw.get(&store.redis_key(k)).unwrap(), v_next.as_bytes());

    // Keys of other Redis types.
    let kinds: [(&str, &[&[u8]]); 3] = [
        ("hash", &[b"HSET", b"", b"field", b"value"]),
        ("list", &[b"RPUSH", b"", b"item"]),
        ("set", &[b"SADD", b"", b"member"]),
    ];
    for (name, command) in kinds {
        let k = key("typed", name);
        let address = store.redis_key(k);
        let mut args = command.to_vec();
        args[1] = &address;
        raw.cmd(&args);
        let wrong = |r: &dyn std::fmt::Debug, is: bool, op: &str| {
            assert!(is, "{name}: {op}: expected Corrupt, got {r:?}")
        };
        let r = store.get(k).await;
        wrong(
            &r,
            matches!(&r, Err(StoreError::Corrupt { reason, .. }) if reason.contains("WRONGTYPE")),
            "get",
        );
        let r = store.claim(k, &claim_by("b", T0).claim()).await;
        wrong(&r, matches!(r, Err(StoreError::Corrupt { .. })), "claim");
        let r = store
            .complete(k, &claim_by("a", T0).claim(), &Completion::Marker, TTL)
            .await;
        wrong(&r, matches!(r, Err(StoreError::Corrupt { .. })), "complete");
        let r = store.renew(k, &claim_by("a", T0).claim()).await;
        wrong(&r, matches!(r, Err(StoreError::Corrupt { .. })), "renew");
        let r = store.release(k, &claim_by("a", T0).claim()).await;
        wrong(&r, matches!(r, Err(StoreError::Corrupt { .. })), "release");
        let kind = raw.cmd(&[b"TYPE", &address]);
        assert_eq!(kind, Resp::Simple(name.into()), "{name}: not overwritten");
    }

    // list shows them all as errors, purge keeps them, delete removes them.
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), cases.len() + 1 + kinds.len());
    assert!(listed.iter().all(|r| r.record.is_err()), "{listed:?}");
    assert_eq!(store.purge(false).await.unwrap(), 0);
    for stored in &listed {
        assert!(store.delete(key(&stored.tool, &stored.key)).await.unwrap());
    }
    assert!(store.list().await.unwrap().is_empty());
}

/// A record written by another client, fields in another order: read, renewed, completed and
/// released by compare and set (the scripts only know `Record::encode`'s layout), and its lease
/// read from its Redis expiry as for idem's own: live above the grace, over at the grace or
/// below, and over at once without an expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_in_another_layout() {
    let Some(url) = url("records_in_another_layout") else {
        return;
    };
    let mut raw = Raw::connect(&url);
    for store in both_stores(&url, "layout2").await {
        let path = path(&store);
        let foreign = |token: &str| {
            format!(
                r#"{{ "lease_until": {}, "token": "{token}", "created_at": {}, "state": "in_progress", "fingerprint": "fp-{token}", "idem_record": 1 }}"#,
                T0.plus(LEASE).0,
                T0.0
            )
        };
        let grace = store.claim_grace().as_millis().to_string();
        let live = (LEASE + store.claim_grace()).as_millis().to_string();
        let plant = |raw: &mut Raw, k: RecordKey<'_>, token: &str, px: Option<&str>| {
            let address = store.redis_key(k);
            let value = foreign(token);
            let reply = match px {
                Some(px) => raw.cmd(&[b"SET", &address, value.as_bytes(), b"PX", px.as_bytes()]),
                None => raw.cmd(&[b"SET", &address, value.as_bytes()]),
            };
            assert_eq!(reply, Resp::Simple("OK".into()));
            value.into_bytes()
        };

        let k = key("tool", "complete");
        plant(&mut raw, k, "a", Some(&live));
        assert_eq!(store.get(k).await.unwrap(), Some(claimed_record("a", T0)));
        let ClaimOutcome::Existing(found) =
            store.claim(k, &claim_by("b", T0).claim()).await.unwrap()
        else {
            panic!("{path}: expected Existing")
        };
        assert_eq!(found, claimed_record("a", T0), "{path}");
        let r = store
            .complete(k, &claim_by("b", T0).claim(), &Completion::Marker, TTL)
            .await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        assert!(!store.release(k, &claim_by("b", T0).claim()).await.unwrap());
        let done = Completion::Output(b"[1]".to_vec());
        let before = now_ms();
        store
            .complete(k, &claim_by("a", T0).claim(), &done, TTL)
            .await
            .unwrap();
        let after = now_ms();
        let value = raw.get(&store.redis_key(k)).unwrap();
        let expected = assert_completed_value(&value, "a", T0, &done, TTL, (before, after));
        assert_eq!(store.get(k).await.unwrap(), Some(expected), "{path}");

        // Renewed in its own bytes: the time to live is lease + grace again.
        let k = key("tool", "renew");
        let value = plant(&mut raw, k, "a", Some("1000"));
        store.renew(k, &claim_by("a", T0).claim()).await.unwrap();
        let pttl = raw.int(&[b"PTTL", &store.redis_key(k)]);
        let claim_ttl = (LEASE + store.claim_grace()).as_millis() as i64;
        assert!(
            pttl > claim_ttl - 5_000 && pttl <= claim_ttl,
            "{path}: renewed: {pttl} ms"
        );
        assert_eq!(raw.get(&store.redis_key(k)).unwrap(), value, "{path}");
        let r = store.renew(k, &claim_by("b", T0).claim()).await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );

        let k = key("tool", "release");
        plant(&mut raw, k, "a", Some(&live));
        assert!(store.release(k, &claim_by("a", T0).claim()).await.unwrap());
        assert_eq!(store.get(k).await.unwrap(), None);

        // Whatever its `lease_until` says: a time to live of the grace is a lease that ended,
        // and no expiry is no lease.
        for (name, px) in [("ended", Some(grace.as_str())), ("no-expiry", None)] {
            let k = key("tool", name);
            plant(&mut raw, k, "a", px);
            assert_eq!(
                store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
                ClaimOutcome::TookOver {
                    previous_token: "a".into()
                },
                "{path}: {name}"
            );
            assert_eq!(
                raw.get(&store.redis_key(k)).unwrap(),
                claimed_record("b", T0).encode("x").unwrap(),
                "{path}: {name}"
            );
        }
        clean(&store).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Sizes and keys

/// Records above `max_record_bytes` are refused with `TooLarge` before anything is sent, and
/// the claim stays to be completed properly; the default limit is 16 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_too_large() {
    let Some(url) = url("records_too_large") else {
        return;
    };
    let store = store(&url, "large").await;
    assert_eq!(
        store.max_record_bytes(),
        RedisOptions::DEFAULT_MAX_RECORD_BYTES
    );
    let small = reconnect(&url, store.options().clone().with_max_record_bytes(1024)).await;
    assert_eq!(small.max_record_bytes(), 1024);
    let k = key("tool", "k");
    assert_eq!(
        small.claim(k, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let big = Completion::Output(store_conformance::large_json(2048));
    let r = small
        .complete(k, &claim_by("a", T0).claim(), &big, TTL)
        .await;
    assert!(
        matches!(r, Err(StoreError::TooLarge { size, limit: 1024, .. }) if size > 2048),
        "{r:?}"
    );
    let failed = Completion::Failed("x".repeat(2048));
    let r = small
        .complete(k, &claim_by("a", T0).claim(), &failed, TTL)
        .await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(small.get(k).await.unwrap(), Some(claimed_record("a", T0)));
    let done = Completion::Output(b"{}".to_vec());
    small
        .complete(k, &claim_by("a", T0).claim(), &done, TTL)
        .await
        .unwrap();

    // A claim with a huge fingerprint, a huge tool id: refused, nothing written.
    let k = key("tool", "fingerprint");
    let claim = store_conformance::ClaimBy {
        fingerprint: "f".repeat(2048),
        ..claim_by("a", T0)
    };
    let r = small.claim(k, &claim.claim()).await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(small.get(k).await.unwrap(), None);
    let long_tool = "t".repeat(2048);
    let r = small
        .claim(key(&long_tool, "k"), &claim_by("a", T0).claim())
        .await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");

    // Above the default limit: refused at once, without sending 16 MiB.
    let k = key("tool", "default-limit");
    assert_eq!(
        store.claim(k, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let huge = Completion::Output(store_conformance::large_json(16 << 20));
    let r = store
        .complete(k, &claim_by("a", T0).claim(), &huge, TTL)
        .await;
    assert!(
        matches!(r, Err(StoreError::TooLarge { limit, .. }) if limit == 16 << 20),
        "{r:?}"
    );
    // Below it, 4 MiB round-trip.
    let four = store_conformance::large_json(4 << 20);
    store
        .complete(
            k,
            &claim_by("a", T0).claim(),
            &Completion::Output(four.clone()),
            TTL,
        )
        .await
        .unwrap();
    let found = store.get(k).await.unwrap().unwrap();
    assert!(
        matches!(found.state, RecordState::Completed { output: Some(ref o), .. } if *o == four)
    );
    clean(&store).await;
}

/// Tool ids and keys with NUL, newlines, unicode, glob and hash-tag characters, empty or very
/// long: each its own record, read back and listed exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_tool_ids_and_keys() {
    let Some(url) = url("odd_tool_ids_and_keys") else {
        return;
    };
    let store = store(&url, "odd").await;
    let long_tool = "tool-".repeat(20_000);
    let long_key = "k".repeat(100_000);
    let pairs: Vec<(String, String)> = vec![
        ("t\u{0}ol".into(), "k\u{0}".into()),
        ("tool\nwith\r\nnewlines".into(), "key\n".into()),
        (
            "outil-\u{e9}t\u{e9}-\u{1F600}".into(),
            "cl\u{e9}-\u{2615}".into(),
        ),
        ("*".into(), "?".into()),
        ("[a-z]".into(), "\\*".into()),
        ("{tag}".into(), "{tag}".into()),
        ("".into(), "".into()),
        ("".into(), "1:x".into()),
        ("1:x".into(), "".into()),
        ("12".into(), "k".into()),
        (long_tool.clone(), "k".into()),
        ("t".into(), long_key.clone()),
        (long_tool, long_key),
    ];
    for (i, (tool, k)) in pairs.iter().enumerate() {
        let token = format!("t{i}");
        let rk = key(tool, k);
        assert_eq!(
            store
                .claim(rk, &claim_by(&token, T0).claim())
                .await
                .unwrap(),
            ClaimOutcome::Claimed
        );
        let done = Completion::Output(format!("{{\"i\":{i}}}").into_bytes());
        store
            .complete(rk, &claim_by(&token, T0).claim(), &done, TTL)
            .await
            .unwrap();
    }
    for (i, (tool, k)) in pairs.iter().enumerate() {
        let done = Completion::Output(format!("{{\"i\":{i}}}").into_bytes());
        let found = store.get(key(tool, k)).await.unwrap().unwrap();
        assert_eq!(
            Shape::of(&found),
            Shape::done(&format!("t{i}"), &done),
            "{i}"
        );
        assert_eq!(found.created_at, T0, "{i}");
    }
    let mut listed: Vec<(String, String)> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            assert!(r.record.is_ok());
            (r.tool, r.key)
        })
        .collect();
    listed.sort();
    let mut expected = pairs.clone();
    expected.sort();
    assert_eq!(listed, expected);
    for (tool, k) in &pairs {
        assert!(store.delete(key(tool, k)).await.unwrap());
    }
    assert!(store.list().await.unwrap().is_empty());
}

/// Stores whose prefixes nest or contain glob characters see only their own keys; prefixes
/// that could share keys are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_stay_apart() {
    let Some(url) = url("prefixes_stay_apart") else {
        return;
    };
    let base = store(&url, "prefixes").await;
    let p = base.prefix().to_owned();
    let mut stores: Vec<RedisStore> = Vec::new();
    for prefix in [
        p.clone(),
        format!("{p}:sub"),
        format!("{p}:sub:x1"),
        format!("{p}*"),
        format!("{p}?"),
        format!("{p}[x]"),
        format!("{p}\\"),
    ] {
        let options = base.options().clone().with_prefix(&prefix).unwrap();
        let store = reconnect(&url, options).await;
        assert_eq!(store.prefix(), prefix);
        stores.push(store);
    }
    let k = key("tool", "k");
    for (i, store) in stores.iter().enumerate() {
        let token = format!("t{i}");
        assert_eq!(
            store.claim(k, &claim_by(&token, T0).claim()).await.unwrap(),
            ClaimOutcome::Claimed
        );
    }
    for (i, store) in stores.iter().enumerate() {
        let listed = store.list().await.unwrap();
        assert_eq!(listed.len(), 1, "{}: {listed:?}", store.prefix());
        assert_eq!(listed[0].record.as_ref().unwrap().token, format!("t{i}"));
        assert_eq!(
            store.get(k).await.unwrap(),
            Some(claimed_record(&format!("t{i}"), T0))
        );
    }
    for (i, store) in stores.iter().enumerate() {
        assert_eq!(store.purge(true).await.unwrap(), 1, "{}", store.prefix());
        for other in &stores[i + 1..] {
            assert_eq!(
                other.list().await.unwrap().len(),
                1,
                "{} after {}",
                other.prefix(),
                store.prefix()
            );
        }
    }
    for bad in ["", "a::b", "idem:2", "42", ":x", "x:"] {
        let refused = base.options().clone().with_prefix(bad).unwrap_err();
        assert_eq!(refused.prefix, bad);
        assert_eq!(RedisOptions::check_prefix(bad), Err(refused));
    }
    assert_eq!(base.list().await.unwrap(), []);
}

// ---------------------------------------------------------------------------------------------
// Connections

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

/// The `host:port` of a plain `redis://host:port` URL, which a proxy of the test's own can
/// stand in front of; `None` (the test says it skipped) for a URL with credentials or a database.
fn plain_upstream(url: &str, test: &str) -> Option<String> {
    let upstream = url
        .strip_prefix("redis://")
        .filter(|rest| !rest.contains('@') && !rest.contains('/'));
    if upstream.is_none() {
        println!("{test}: skipped: the proxy needs a plain redis://host:port URL");
    }
    upstream.map(str::to_owned)
}

/// `resp` as the server writes it.
fn encode(resp: &Resp) -> Vec<u8> {
    match resp {
        Resp::Simple(text) => format!("+{text}\r\n").into_bytes(),
        Resp::Error(text) => format!("-{text}\r\n").into_bytes(),
        Resp::Int(n) => format!(":{n}\r\n").into_bytes(),
        Resp::Bulk(None) => b"$-1\r\n".to_vec(),
        Resp::Bulk(Some(data)) => {
            let mut out = format!("${}\r\n", data.len()).into_bytes();
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
            out
        }
        Resp::Array(items) => {
            let mut out = format!("*{}\r\n", items.len()).into_bytes();
            for item in items {
                out.extend(encode(item));
            }
            out
        }
    }
}

/// A proxy that answers as Redis 6.2 does to a `SET` with both `NX` and `GET` (`ERR syntax
/// error`, nothing set) and hands every other command to the server, one at a time. Returns its
/// port.
fn impersonate_redis_6_2(upstream: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            std::thread::spawn(move || {
                let mut writer = client.try_clone().unwrap();
                let mut from_client = Raw {
                    reader: BufReader::new(client),
                };
                let mut to_server = Raw {
                    reader: BufReader::new(server),
                };
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
                    if writer.write_all(&encode(&reply)).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// Against a server that refuses `SET` with `NX` and `GET`, as Redis 6.2 does, the store switches
/// to its claim script on the first claim by itself (that claim included), and claims work: the
/// claim, lease, store-clock and renewal checks of the shared suite pass through the
/// impersonating proxy (which hands commands over one at a time, so the long checks are left to
/// the test of the script itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn falls_back_to_the_claim_script_on_redis_6_2() {
    let Some(url) = url("falls_back_to_the_claim_script_on_redis_6_2") else {
        return;
    };
    let Some(upstream) = plain_upstream(&url, "falls_back_to_the_claim_script_on_redis_6_2") else {
        return;
    };
    let port = impersonate_redis_6_2(upstream);
    let store = RedisStore::connect_with(
        &format!("redis://127.0.0.1:{port}"),
        test_options("redis-6-2"),
    )
    .await
    .unwrap();
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
    clean(&store).await;
}

fn existing_record(outcome: ClaimOutcome) -> idem::store::Record {
    match outcome {
        ClaimOutcome::Existing(record) => record,
        other => panic!("expected Existing, got {other:?}"),
    }
}

/// A TCP proxy to the server, which the test can cut (connections reset, new ones dropped) or
/// silence (nothing forwarded), and restore.
struct Proxy {
    port: u16,
    mode: Arc<AtomicU8>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

const UP: u8 = 0;
const DOWN: u8 = 1;
const SILENT: u8 = 2;

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(UP));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let (m, s) = (Arc::clone(&mode), Arc::clone(&streams));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if m.load(Ordering::SeqCst) == DOWN {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut streams = s.lock().unwrap();
                streams.push(client.try_clone().unwrap());
                streams.push(server.try_clone().unwrap());
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let mode = Arc::clone(&m);
                    std::thread::spawn(move || pump(from, to, &mode));
                }
            }
        });
        Proxy {
            port,
            mode,
            streams,
        }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
        if mode == DOWN {
            for stream in self.streams.lock().unwrap().drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Copies `from` to `to` until either closes; drops what it reads while the proxy is silent.
fn pump(mut from: TcpStream, mut to: TcpStream, mode: &AtomicU8) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if mode.load(Ordering::SeqCst) == SILENT {
            continue;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

/// Cut mid-way, the store fails with `Unavailable` promptly (reset: at once; silent: within
/// the timeouts), and works again once the server is back, on the same store value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cut_and_restored() {
    let Some(url) = url("connection_cut_and_restored") else {
        return;
    };
    let Some(upstream) = plain_upstream(&url, "connection_cut_and_restored") else {
        return;
    };
    let proxy = Proxy::start(upstream);
    let options = test_options("cut")
        .with_connect_timeout(Duration::from_millis(300))
        .with_response_timeout(Duration::from_millis(300));
    let store = RedisStore::connect_with(&format!("redis://127.0.0.1:{}", proxy.port), options)
        .await
        .unwrap();
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

    for (mode, what) in [(DOWN, "reset"), (SILENT, "silent")] {
        // A load in flight while the connection goes.
        let tasks: Vec<_> = (100..150).map(|i| tokio::spawn(load(i))).collect();
        proxy.set(mode);
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

        proxy.set(DOWN); // drop the silent connections too
        proxy.set(UP);
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
    store.purge(true).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Round trips

/// A `MONITOR` connection that counts the commands clients sent (not those run by scripts) on
/// keys of one prefix.
struct Monitor {
    raw: Raw,
    prefix: String,
}

impl Monitor {
    fn start(url: &str, prefix: &str) -> Monitor {
        let mut raw = Raw::connect(url);
        assert_eq!(raw.cmd(&[b"MONITOR"]), Resp::Simple("OK".into()), "MONITOR");
        Monitor {
            raw,
            prefix: prefix.to_owned(),
        }
    }

    /// The commands (names) sent since the last call, in order.
    fn commands(&mut self, url: &str) -> Vec<String> {
        let sentinel = format!("{}:sentinel:{}", self.prefix, now_ms().0);
        Raw::connect(url).cmd(&[b"ECHO", sentinel.as_bytes()]);
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
    let Some(url) = url("round_trips") else {
        return;
    };
    round_trips_of(&url, store(&url, "round-trips").await).await;
}

/// As [`round_trips`], claiming by script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_with_claims_by_script() {
    let Some(url) = url("round_trips_with_claims_by_script") else {
        return;
    };
    round_trips_of(&url, script_store(&url, "round-trips-script").await).await;
}

async fn round_trips_of(url: &str, store: Arc<RedisStore>) {
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
    clean(&store).await;
}

fn key_of<'a>(spec: &'a ToolSpec, key: &'a str) -> RecordKey<'a> {
    RecordKey {
        tool: spec.id(),
        key,
    }
}

/// The store's `Debug` names the server and prefix, never the URL's password.
#[tokio::test]
async fn debug_hides_the_url() {
    let Some(url) = url("debug_hides_the_url") else {
        return;
    };
    let store = store(&url, "debug").await;
    let shown = format!("{store:?}");
    assert!(shown.contains(store.prefix()), "{shown}");
    assert!(!shown.contains("redis://"), "{shown}");
}
