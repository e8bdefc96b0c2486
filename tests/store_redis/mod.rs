//! The `RedisStore` tests, by concept, and what they share: the test's store (under the prefix of
//! its [`RedisFixture`], purged when it drops), claims carrying a fixed time, and the record a
//! completion must leave.

mod conformance;
mod connections;
mod layout;
mod not_records;
mod redis_6_2;
mod round_trips;
mod server_clock;
mod sizes_and_keys;
mod stored_values;

use std::sync::Arc;
use std::time::Duration;

use idem::store::{Completion, Record, RecordKey, RedisOptions, RedisStore, UnixMillis};

use crate::store_conformance::{ClaimBy, Shape};
use crate::support::fixture::RedisFixture;

/// The test's store, under its prefix; claims abandoned by a failing test leave within 10
/// minutes.
async fn store(redis: &RedisFixture) -> Arc<RedisStore> {
    Arc::new(reconnect(redis, redis.options()).await)
}

/// As [`store`], claiming by Lua script (what Redis 6.2 needs) instead of `SET ... NX GET`,
/// under a prefix of its own.
async fn script_store(redis: &RedisFixture) -> Arc<RedisStore> {
    let options = redis.options_named("script").with_claim_by_script(true);
    let store = redis.connect(options).await;
    assert!(store.options().claim_by_script());
    Arc::new(store)
}

/// Another connection to the server, with `options`.
async fn reconnect(redis: &RedisFixture, options: RedisOptions) -> RedisStore {
    let store = redis.connect(options.clone()).await;
    assert_eq!(store.options(), &options);
    store
}

/// Both kinds of store: claims by `SET ... NX GET` where the server has it, and by script (as
/// on Redis 6.2); the same behaviour is expected of both.
async fn both_stores(redis: &RedisFixture) -> [Arc<RedisStore>; 2] {
    [store(redis).await, script_store(redis).await]
}

/// How the store claims, for messages.
fn path(store: &RedisStore) -> &'static str {
    if store.claims_by_script() {
        "script"
    } else {
        "command"
    }
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
    ClaimBy::new(token, now, LEASE)
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
