//! `PostgresStore`: the conformance suite (with corrupt rows planted in the table), then what is
//! particular to it: rows it cannot read, sizes, odd tool ids and keys, the schema, servers that
//! cannot be reached or stop answering, and several stores sharing a table.
//!
//! The tests that need a server read its URL from `IDEM_POSTGRES_URL` and skip (saying so) when
//! it is not set. Each one works in a table of its own, with a random name, and drops it at the
//! end. The tests that cut connections do it through a proxy of their own: the server itself is
//! never stopped.
#![cfg(feature = "postgres")]

mod postgres_url;
mod store_conformance;
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use idem::store::{
    BoxFuture, ClaimOutcome, Completion, PostgresOptions, PostgresStore, PostgresTable, RecordKey,
    RecordState, Store, StoreError, UnixMillis,
};
use postgres_url::split_url;
use serde::Deserialize;
use serde_json::value::RawValue;
use store_conformance::{ClaimBy, Corruptor, LONG_TTL as TTL, Shape, TestTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The lease of the claims of these tests (but those that wait for a lease to end).
const LEASE: Duration = Duration::from_secs(30);

/// The time on this host's clock.
fn host_now() -> UnixMillis {
    UnixMillis::now(&idem::clock::SystemClock)
}

/// A claim by `token`, with fingerprint `fp-{token}`, the time of this host (which the store
/// ignores) and [`LEASE`].
fn claim_by(token: &str) -> ClaimBy {
    ClaimBy {
        token: token.to_owned(),
        fingerprint: format!("fp-{token}"),
        now: host_now(),
        lease: LEASE,
    }
}

/// The shape of `key`'s record; panics on a store error.
async fn shape(store: &PostgresStore, key: RecordKey<'_>) -> Option<Shape> {
    store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("get of {key}: {e}"))
        .map(|record| Shape::of(&record))
}

/// The server's URL, or `None` (and a line saying why `test` is skipped; a failure with
/// `IDEM_REQUIRE_SERVERS=1`).
fn server(test: &str) -> Option<String> {
    support::servers::server_url("IDEM_POSTGRES_URL", test)
}

/// A table name no other test (or run) uses.
fn fresh_table() -> PostgresTable {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!(
        "idem_test_{}_{:x}_{}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    PostgresTable::new(&name).expect("a valid table name")
}

/// A store on a fresh table of the server at `url`, created on connect.
async fn fresh_store(url: &str, options: PostgresOptions) -> Arc<PostgresStore> {
    let options = options.with_table(fresh_table());
    Arc::new(
        PostgresStore::connect_with(url, options)
            .await
            .expect("connect to IDEM_POSTGRES_URL"),
    )
}

/// Runs `sql` (one or more statements, no parameters) on one of the store's connections.
async fn sql(store: &PostgresStore, sql: &str) {
    let client = store.pool().get().await.expect("a connection");
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Drops the store's table and its purge function.
async fn drop_table(store: &PostgresStore) {
    let table = store.table();
    let function = match table.schema() {
        Some(schema) => format!("\"{schema}\".\"{}_purge\"", table.name()),
        None => format!("\"{}_purge\"", table.name()),
    };
    sql(
        store,
        &format!(
            "DROP FUNCTION IF EXISTS {function}(bigint); DROP TABLE IF EXISTS {};",
            table.quoted()
        ),
    )
    .await;
}

async fn count_rows(store: &PostgresStore) -> i64 {
    let client = store.pool().get().await.expect("a connection");
    let query = format!("SELECT count(*) FROM {}", store.table().quoted());
    client
        .query_one(query.as_str(), &[])
        .await
        .expect("count")
        .get(0)
}

/// The columns of a row, to plant rows the store did not write.
#[derive(Debug, Clone)]
struct RawRow {
    format: i16,
    state: Option<String>,
    token: Option<String>,
    fingerprint: Option<String>,
    created_at: Option<i64>,
    lease_until: Option<i64>,
    expires_at: Option<i64>,
    output: Option<String>,
    error: Option<String>,
}

impl RawRow {
    /// A well-formed completed row, to spoil one column at a time.
    fn completed(expires_at: i64) -> Self {
        RawRow {
            format: 1,
            state: Some("completed".into()),
            token: Some("t".into()),
            fingerprint: Some("f".into()),
            created_at: Some(1),
            lease_until: None,
            expires_at: Some(expires_at),
            output: Some("{\"ok\":true}".into()),
            error: None,
        }
    }

    /// The row that `bytes` describe: the fields of a JSON object go to the columns of the same
    /// name (`idem_record` to `format`, 1 when absent; the output as raw JSON, `null` included;
    /// an unknown outcome's `reason` to `error`, where the store keeps it); anything else goes,
    /// as text, to `state`, which no state is named like.
    fn from_bytes(bytes: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Fields<'a> {
            idem_record: Option<i16>,
            state: Option<String>,
            token: Option<String>,
            fingerprint: Option<String>,
            created_at: Option<i64>,
            lease_until: Option<i64>,
            expires_at: Option<i64>,
            #[serde(default, borrow, deserialize_with = "present")]
            output: Option<&'a RawValue>,
            error: Option<String>,
            reason: Option<String>,
        }
        /// An `output` member, whatever its value: `null` is an output.
        fn present<'de, D: serde::Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<&'de RawValue>, D::Error> {
            <&'de RawValue>::deserialize(deserializer).map(Some)
        }
        match serde_json::from_slice::<Fields<'_>>(bytes) {
            Ok(f) => RawRow {
                format: f.idem_record.unwrap_or(1),
                state: f.state,
                token: f.token,
                fingerprint: f.fingerprint,
                created_at: f.created_at,
                lease_until: f.lease_until,
                expires_at: f.expires_at,
                output: f.output.map(|o| o.get().to_owned()),
                error: f.error.or(f.reason),
            },
            Err(_) => RawRow {
                format: 1,
                state: Some(String::from_utf8_lossy(bytes).replace('\0', "\\0")),
                token: None,
                fingerprint: None,
                created_at: None,
                lease_until: None,
                expires_at: None,
                output: None,
                error: None,
            },
        }
    }
}

/// Writes `row` as the record of `key`, whatever is there.
async fn plant(store: &PostgresStore, key: RecordKey<'_>, row: &RawRow) {
    let client = store.pool().get().await.expect("a connection");
    let statement = format!(
        "INSERT INTO {} (tool, key, format, state, token, fingerprint, created_at, lease_until, \
             expires_at, output, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::json, $11) \
         ON CONFLICT (tool, key) DO UPDATE SET format = EXCLUDED.format, state = EXCLUDED.state, \
             token = EXCLUDED.token, fingerprint = EXCLUDED.fingerprint, \
             created_at = EXCLUDED.created_at, lease_until = EXCLUDED.lease_until, \
             expires_at = EXCLUDED.expires_at, output = EXCLUDED.output, error = EXCLUDED.error",
        store.table().quoted()
    );
    client
        .execute(
            statement.as_str(),
            &[
                &key.tool.as_bytes(),
                &key.key.as_bytes(),
                &row.format,
                &row.state,
                &row.token,
                &row.fingerprint,
                &row.created_at,
                &row.lease_until,
                &row.expires_at,
                &row.output,
                &row.error,
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("plant {row:?}: {e}"));
}

/// The conformance suite's [`Corruptor`]: plants the row the bytes describe.
struct PostgresCorruptor(Arc<PostgresStore>);

impl Corruptor for PostgresCorruptor {
    fn write_raw<'a>(&'a self, key: RecordKey<'a>, bytes: &'a [u8]) -> BoxFuture<'a, ()> {
        Box::pin(async move { plant(&self.0, key, &RawRow::from_bytes(bytes)).await })
    }
}

fn is_corrupt<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Corrupt { .. }))
}

fn is_unavailable<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(
        result,
        Err(StoreError::Unavailable {
            store: "postgres",
            ..
        })
    )
}

// ---------------------------------------------------------------------------------------------
// The conformance suite

/// The suite, one test per check, each on a fresh table, dropped at the end (passed or
/// failed), with corrupt rows planted in it.
mod conformance {
    use super::*;
    use crate::store_conformance::Fixture;

    async fn make(check: &'static str) -> Option<Fixture> {
        let url = server(check)?;
        let store = fresh_store(&url, PostgresOptions::new()).await;
        let fixture = Fixture::new(Arc::clone(&store) as Arc<dyn Store>, TestTime::Real)
            .with_corruptor(PostgresCorruptor(Arc::clone(&store)))
            .with_cleanup(move || async move { drop_table(&store).await });
        Some(fixture)
    }

    crate::store_conformance::suite!(make = make, corrupt);
}

// ---------------------------------------------------------------------------------------------
// Rows the store cannot read

/// Rows of format 1 that lack what their state needs, or hold what no record holds: every
/// operation that meets one says so (`Corrupt`), none overwrites or removes it, even when it
/// looks expired; `delete` does, and the key is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_rows() {
    let Some(url) = server("garbage_rows") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    let tool = "garbage";
    let long_ago = 1_000;
    let spoiled: Vec<(&str, RawRow)> = vec![
        (
            "no-state",
            RawRow {
                state: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "unknown-state",
            RawRow {
                state: Some("exploded".into()),
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "no-token",
            RawRow {
                token: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "no-fingerprint",
            RawRow {
                fingerprint: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "no-created-at",
            RawRow {
                created_at: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "negative-created-at",
            RawRow {
                created_at: Some(-1),
                ..RawRow::completed(long_ago)
            },
        ),
        ("negative-expiry", RawRow::completed(-5)),
        (
            "failed-without-error",
            RawRow {
                state: Some("failed".into()),
                output: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "claim-without-lease",
            RawRow {
                state: Some("in_progress".into()),
                output: None,
                expires_at: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "unknown-in-format-1",
            RawRow {
                state: Some("unknown".into()),
                output: None,
                error: Some("the tool panicked".into()),
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "unknown-without-reason",
            RawRow {
                format: 2,
                state: Some("unknown".into()),
                output: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "claim-with-negative-lease",
            RawRow {
                state: Some("in_progress".into()),
                lease_until: Some(-1),
                ..RawRow::completed(long_ago)
            },
        ),
    ];
    for (name, row) in &spoiled {
        let key = RecordKey { tool, key: name };
        plant(&store, key, row).await;
        let r = store.get(key).await;
        assert!(is_corrupt(&r), "{name}: get: {r:?}");
        let r = store.claim(key, &claim_by("a").claim()).await;
        assert!(is_corrupt(&r), "{name}: claim: {r:?}");
        // The row's own token ("t"), which a sloppy condition would accept.
        let r = store
            .complete(key, &claim_by("t").claim(), &Completion::Marker, TTL)
            .await;
        assert!(is_corrupt(&r), "{name}: complete: {r:?}");
        let r = store.renew(key, &claim_by("t").claim()).await;
        assert!(is_corrupt(&r), "{name}: renew: {r:?}");
        let r = store.release(key, &claim_by("t").claim()).await;
        assert!(is_corrupt(&r), "{name}: release: {r:?}");
        if let Err(StoreError::Corrupt { key: address, .. }) = store.get(key).await {
            assert!(address.contains(name), "{name}: the error names the key");
        }
    }
    let n = i64::try_from(spoiled.len()).unwrap();
    assert_eq!(
        count_rows(&store).await,
        n,
        "nothing overwritten or removed"
    );
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), spoiled.len());
    assert!(listed.iter().all(|r| r.record.is_err()), "{listed:?}");
    assert_eq!(store.purge(false).await.unwrap(), 0);
    assert_eq!(count_rows(&store).await, n, "purge keeps them");
    for (name, _) in &spoiled {
        let key = RecordKey { tool, key: name };
        assert!(store.delete(key).await.unwrap(), "{name}: delete");
        assert_eq!(
            store.claim(key, &claim_by("a").claim()).await.unwrap(),
            ClaimOutcome::Claimed
        );
    }
    drop_table(&store).await;
}

/// A row of a newer format version (3) is `UnsupportedFormat` everywhere, never overwritten
/// (even when its columns say it has expired) nor purged; a negative version is `Corrupt`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_format_rows() {
    let Some(url) = server("other_format_rows") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    let key = RecordKey {
        tool: "formats",
        key: "v3",
    };
    plant(
        &store,
        key,
        &RawRow {
            format: 3,
            ..RawRow::completed(1_000)
        },
    )
    .await;
    let unsupported = |r: &dyn std::fmt::Debug, ok: bool| assert!(ok, "expected v3, got {r:?}");
    let r = store.get(key).await;
    unsupported(
        &r,
        matches!(
            r,
            Err(StoreError::UnsupportedFormat {
                found: 3,
                supported: 2,
                ..
            })
        ),
    );
    let r = store.claim(key, &claim_by("a").claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 3, .. })),
    );
    let r = store
        .complete(key, &claim_by("t").claim(), &Completion::Marker, TTL)
        .await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 3, .. })),
    );
    let r = store.renew(key, &claim_by("t").claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 3, .. })),
    );
    assert!(store.release(key, &claim_by("t").claim()).await.is_err());
    assert_eq!(store.purge(false).await.unwrap(), 0);
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    let reason = listed[0].record.as_ref().unwrap_err();
    assert_eq!(
        *reason,
        idem::store::Unreadable::NewerFormat {
            found: 3,
            supported: idem::store::RECORD_FORMAT
        },
        "a newer record is listed as such, never as corrupt"
    );

    let negative = RecordKey {
        tool: "formats",
        key: "v-1",
    };
    plant(
        &store,
        negative,
        &RawRow {
            format: -1,
            ..RawRow::completed(1_000)
        },
    )
    .await;
    let r = store.get(negative).await;
    assert!(is_corrupt(&r), "{r:?}");
    assert_eq!(count_rows(&store).await, 2);
    assert!(store.delete(key).await.unwrap());
    assert!(store.delete(negative).await.unwrap());
    drop_table(&store).await;
}

// ---------------------------------------------------------------------------------------------
// The server's clock, renewals, outcomes

/// One row's columns as the store wrote them: `(format, state, created_at, lease_until,
/// expires_at, output IS NULL, output::text, error)`.
type Columns = (
    i16,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    bool,
    Option<String>,
    Option<String>,
);

async fn columns(store: &PostgresStore, key: RecordKey<'_>) -> Columns {
    let client = store.pool().get().await.expect("a connection");
    let query = format!(
        "SELECT format, state, created_at, lease_until, expires_at, output IS NULL, \
             output::text, error \
         FROM {} WHERE tool = $1 AND key = $2",
        store.table().quoted()
    );
    let row = client
        .query_one(query.as_str(), &[&key.tool.as_bytes(), &key.key.as_bytes()])
        .await
        .unwrap_or_else(|e| panic!("the row of {key}: {e}"));
    (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
        row.get(6),
        row.get(7),
    )
}

/// The claimer's clock is never read. A claim whose `now` is 5 minutes ahead does not take over
/// a live claim; a claim whose `now` is 5 minutes behind gets its whole lease, and is not taken
/// over early; both leases end on the server's clock. The row's times are the server's:
/// `created_at` is within seconds of this host's time (the server runs beside it), not 5
/// minutes off, and the lease ends exactly `lease` after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_clock_decides() {
    let Some(url) = server("the_server_clock_decides") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    let lease = Duration::from_millis(400);
    let five_minutes = 300_000;
    let skewed = |token: &str, offset: i64| ClaimBy {
        now: UnixMillis(host_now().0.checked_add_signed(offset).unwrap()),
        lease,
        ..claim_by(token)
    };
    for (name, holder, claimer) in [
        ("claimer-ahead", 0, five_minutes),
        ("holder-behind", -five_minutes, 0),
        ("holder-behind-claimer-ahead", -five_minutes, five_minutes),
        ("holder-ahead-claimer-behind", five_minutes, -five_minutes),
    ] {
        let key = RecordKey {
            tool: "clock",
            key: name,
        };
        let before = host_now();
        let outcome = store.claim(key, &skewed("a", holder).claim()).await;
        assert_eq!(outcome.unwrap(), ClaimOutcome::Claimed, "{name}");
        let (_, _, created_at, lease_until, ..) = columns(&store, key).await;
        let created_at = u64::try_from(created_at).unwrap();
        assert!(
            created_at.abs_diff(before.0) < 5_000,
            "{name}: created_at {created_at} is the server's time, near {before:?}"
        );
        assert_eq!(
            lease_until,
            Some(i64::try_from(created_at + 400).unwrap()),
            "{name}: the lease ends 400 ms after the claim, on the server's clock"
        );
        let r = store.claim(key, &skewed("b", claimer).claim()).await;
        match r.unwrap() {
            ClaimOutcome::Existing(record) => {
                assert_eq!(Shape::of(&record), Shape::claimed("a"), "{name}");
            }
            other => panic!("{name}: a live claim, whatever the claimer's clock: {other:?}"),
        }
        tokio::time::sleep(lease + Duration::from_millis(100)).await;
        let r = store.claim(key, &skewed("b", claimer).claim()).await;
        assert_eq!(
            r.unwrap(),
            ClaimOutcome::TookOver {
                previous_token: "a".into()
            },
            "{name}: the lease has ended on the server's clock"
        );
    }
    drop_table(&store).await;
}

/// A claim of a 300 ms lease renewed every 100 ms for a second stays `Existing` to another
/// claimer throughout, its lease end moving on; once the renewals stop, it is taken over after
/// its lease. Renewing by another token, or after the takeover, is `ClaimLost` and writes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_keeps_a_claim_alive() {
    let Some(url) = server("renewal_keeps_a_claim_alive") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    let key = RecordKey {
        tool: "renew",
        key: "k",
    };
    let lease = Duration::from_millis(300);
    let holder = ClaimBy {
        lease,
        ..claim_by("a")
    };
    let other = ClaimBy {
        lease,
        ..claim_by("b")
    };
    assert_eq!(
        store.claim(key, &holder.claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let (.., first_lease_end, _, _, _, _) = columns(&store, key).await;
    let first_lease_end = first_lease_end.unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.renew(key, &holder.claim()).await.expect("renew");
        match store.claim(key, &other.claim()).await.unwrap() {
            ClaimOutcome::Existing(record) => assert_eq!(Shape::of(&record), Shape::claimed("a")),
            other => panic!("after {:?}: {other:?}", started.elapsed()),
        }
    }
    let (_, state, _, lease_end, ..) = columns(&store, key).await;
    assert_eq!(state, "in_progress");
    assert!(
        lease_end.unwrap() >= first_lease_end + 900,
        "the lease end moved on: {first_lease_end} -> {lease_end:?}"
    );
    let r = store.renew(key, &other.claim()).await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
    assert_eq!(
        columns(&store, key).await.3,
        lease_end,
        "a renewal by another token writes nothing"
    );

    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    assert_eq!(
        store.claim(key, &other.claim()).await.unwrap(),
        ClaimOutcome::TookOver {
            previous_token: "a".into()
        }
    );
    let r = store.renew(key, &holder.claim()).await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
    assert_eq!(shape(&store, key).await, Some(Shape::claimed("b")));
    drop_table(&store).await;
}

/// An output of `null` is an output: stored as the JSON `null` (not SQL NULL, which is a
/// marker's), and replayed as `Some(b"null")` by `get` and `claim`; a marker stays `None`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_output_round_trips() {
    let Some(url) = server("null_output_round_trips") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    for (name, completion, column, output) in [
        (
            "null",
            Completion::Output(b"null".to_vec()),
            Some("null"),
            Some(b"null".to_vec()),
        ),
        (
            "spaced-null",
            Completion::Output(b" \n null \t".to_vec()),
            Some("null"),
            Some(b"null".to_vec()),
        ),
        ("marker", Completion::Marker, None, None),
    ] {
        let key = RecordKey {
            tool: "null",
            key: name,
        };
        store.claim(key, &claim_by("a").claim()).await.unwrap();
        store
            .complete(key, &claim_by("a").claim(), &completion, TTL)
            .await
            .unwrap();
        let (_, state, _, _, _, is_null, text, _) = columns(&store, key).await;
        assert_eq!(state, "completed", "{name}");
        assert_eq!(
            (is_null, text.as_deref()),
            (column.is_none(), column),
            "{name}"
        );
        let record = store.get(key).await.unwrap().expect("the record");
        assert!(
            matches!(&record.state, RecordState::Completed { output: o, .. } if *o == output),
            "{name}: {record:?}"
        );
        match store.claim(key, &claim_by("b").claim()).await.unwrap() {
            ClaimOutcome::Existing(replayed) => assert_eq!(replayed, record, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    drop_table(&store).await;
}

/// An unknown outcome is a row of format 2, state `unknown`, its reason in `error`; it reads
/// back as `RecordState::Unknown`, is replayed to claimers, cannot be completed or renewed
/// again, and expires after its TTL on the server's clock: `get` no longer sees it, a claim
/// takes the key (a row of format 1 again), and `purge` removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_outcome_round_trips_and_expires() {
    let Some(url) = server("unknown_outcome_round_trips_and_expires") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    let ttl = Duration::from_millis(400);
    let reason = "the tool panicked: index out of bounds";
    let unknown = Completion::Unknown(reason.into());
    let keys = ["claimed-again", "purged"].map(|key| RecordKey {
        tool: "unknown",
        key,
    });
    for key in keys {
        store.claim(key, &claim_by("a").claim()).await.unwrap();
        store
            .complete(key, &claim_by("a").claim(), &unknown, ttl)
            .await
            .unwrap();
        let (format, state, _, lease_until, expires_at, output_is_null, _, error) =
            columns(&store, key).await;
        assert_eq!(
            (format, state.as_str(), lease_until, output_is_null),
            (2, "unknown", None, true)
        );
        assert_eq!(error.as_deref(), Some(reason), "the reason is in `error`");
        let record = store.get(key).await.unwrap().expect("the record");
        assert_eq!(
            record.state,
            RecordState::Unknown {
                reason: reason.into(),
                expires_at: UnixMillis(u64::try_from(expires_at.unwrap()).unwrap()),
            }
        );
        assert_eq!(Shape::of(&record), Shape::done("a", &unknown));
        match store.claim(key, &claim_by("b").claim()).await.unwrap() {
            ClaimOutcome::Existing(replayed) => assert_eq!(replayed, record),
            other => panic!("a live unknown outcome is replayed: {other:?}"),
        }
        let r = store
            .complete(key, &claim_by("a").claim(), &Completion::Marker, TTL)
            .await;
        assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
        let r = store.renew(key, &claim_by("a").claim()).await;
        assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
        assert_eq!(store.get(key).await.unwrap(), Some(record));
    }
    assert_eq!(store.purge(false).await.unwrap(), 0, "not expired yet");

    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    for key in keys {
        assert_eq!(store.get(key).await.unwrap(), None, "expired");
    }
    assert_eq!(
        store.claim(keys[0], &claim_by("c").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let (format, state, _, _, expires_at, _, _, error) = columns(&store, keys[0]).await;
    assert_eq!(
        (format, state.as_str(), expires_at, error),
        (1, "in_progress", None, None)
    );
    assert_eq!(store.purge(false).await.unwrap(), 1, "the expired one");
    let left: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(left, ["claimed-again"]);
    drop_table(&store).await;
}

/// A store on a table created by the previous idem (its DDL, as it shipped), which reads format
/// 1 only: unknown outcomes work on it as they are (no `CHECK` on `state`). Its purge function
/// leaves them; the store's own purge does not; `ensure_schema` replaces the function (the
/// role owns it) and the new one purges them; `ensure_schema` builds no index on the live
/// table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_the_previous_idem() {
    let Some(url) = server("a_table_of_the_previous_idem") else {
        return;
    };
    let table = fresh_table();
    let admin = fresh_store(&url, PostgresOptions::new()).await;
    sql(&admin, &previous_ddl(&table)).await;
    let store = PostgresStore::connect_with(
        &url,
        PostgresOptions::new()
            .with_table(table.clone())
            .with_create_schema(false),
    )
    .await
    .expect("the previous idem's table");
    let unknown = Completion::Unknown("the caller stopped waiting".into());
    let complete_unknown = |key: &'static str, ttl: Duration| {
        let store = &store;
        let unknown = &unknown;
        async move {
            let key = RecordKey {
                tool: "previous",
                key,
            };
            store.claim(key, &claim_by("a").claim()).await.unwrap();
            store
                .complete(key, &claim_by("a").claim(), unknown, ttl)
                .await
                .unwrap();
            key
        }
    };
    let live = complete_unknown("live", TTL).await;
    match store.claim(live, &claim_by("b").claim()).await.unwrap() {
        ClaimOutcome::Existing(record) => {
            assert_eq!(Shape::of(&record), Shape::done("a", &unknown));
        }
        other => panic!("{other:?}"),
    }
    complete_unknown("expired-1", Duration::ZERO).await;

    let purge_function = format!("SELECT \"{}_purge\"()", table.name());
    let client = admin.pool().get().await.unwrap();
    let purged: i64 = client
        .query_one(purge_function.as_str(), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(purged, 0, "the previous purge function reads format 1 only");
    assert_eq!(store.purge(false).await.unwrap(), 1, "the store's purge");

    store.ensure_schema().await.expect("ensure_schema");
    store.ensure_schema().await.expect("again");
    complete_unknown("expired-2", Duration::ZERO).await;
    let purged: i64 = client
        .query_one(purge_function.as_str(), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(purged, 1, "the replaced purge function");
    let indexes: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = $1",
            &[&table.name()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        indexes, 2,
        "the primary key and the previous index, no more"
    );
    let left: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(left, ["live"]);
    drop(client);
    drop_table(&store).await;
    drop_table(&admin).await;
}

/// The DDL of `table` as the previous idem (row format 1 only) wrote it.
fn previous_ddl(table: &PostgresTable) -> String {
    let t = table.quoted();
    let name = table.name();
    format!(
        r#"CREATE TABLE IF NOT EXISTS {t} (
    tool           bytea    NOT NULL,
    key            bytea    NOT NULL,
    format         smallint NOT NULL,
    state          text,
    token          text,
    fingerprint    text,
    created_at     bigint,
    lease_until    bigint,
    expires_at     bigint,
    output         json,
    error          text,
    previous_token text,
    PRIMARY KEY (tool, key)
);
CREATE INDEX IF NOT EXISTS "{name}_expires_at" ON {t} (expires_at)
    WHERE state IN ('completed', 'failed');
CREATE OR REPLACE FUNCTION "{name}_purge"(
    now_ms bigint DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
) RETURNS bigint LANGUAGE sql AS $idem_purge$
    WITH purged AS (DELETE FROM {t} AS r WHERE r.format = 1 AND r.token IS NOT NULL
        AND r.fingerprint IS NOT NULL AND r.created_at >= 0
        AND ((r.state = 'completed' AND r.expires_at BETWEEN 0 AND now_ms)
        OR (r.state = 'failed' AND r.error IS NOT NULL AND r.expires_at BETWEEN 0 AND now_ms))
        RETURNING 1)
    SELECT count(*) FROM purged
$idem_purge$;
"#
    )
}

/// A role that does not exist, and a database that does not exist: `Unavailable`, and the
/// message says so in the server's words, with the SQLSTATE code (not "db error").
#[tokio::test]
async fn errors_say_what_the_server_said() {
    let Some(url) = server("errors_say_what_the_server_said") else {
        return;
    };
    let Some((upstream, rewrite)) = split_url(&url).await else {
        println!("errors_say_what_the_server_said: skipped: not a postgres:// URL");
        return;
    };
    let options = || {
        PostgresOptions::new()
            .with_table(fresh_table())
            .with_connect_timeout(Duration::from_secs(3))
    };
    let wrong_role = format!("postgres://idem_no_such_role@{upstream}/postgres");
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
    let via = rewrite(upstream);
    let (authority, _) = via.rsplit_once('/').expect("a path");
    let wrong_database = format!("{authority}/idem_no_such_database");
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
    let store = fresh_store(&url, PostgresOptions::new()).await;
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

// ---------------------------------------------------------------------------------------------
// Sizes and odd values

/// Values above the limit are `TooLarge` before anything is sent, and the claim stays; values at
/// the limit are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large() {
    assert_eq!(
        PostgresOptions::new().max_record_bytes(),
        64 << 20,
        "the default limit"
    );
    let Some(url) = server("too_large") else {
        return;
    };
    let limit = 4096;
    let store = fresh_store(&url, PostgresOptions::new().with_max_record_bytes(limit)).await;
    assert_eq!(store.max_record_bytes(), limit);
    assert_eq!(store.options().max_record_bytes(), limit);
    let key = RecordKey {
        tool: "sizes",
        key: "k",
    };
    assert_eq!(
        store.claim(key, &claim_by("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let json_of = |size: usize| {
        let mut out = b"\"".to_vec();
        out.resize(size - 1, b'x');
        out.push(b'"');
        out
    };
    let too_big = Completion::Output(json_of(limit + 1));
    let r = store
        .complete(key, &claim_by("a").claim(), &too_big, TTL)
        .await;
    assert!(
        matches!(r, Err(StoreError::TooLarge { size, limit: l, .. }) if size == limit + 1 && l == limit),
        "{r:?}"
    );
    let r = store
        .complete(
            key,
            &claim_by("a").claim(),
            &Completion::Failed("e".repeat(limit + 1)),
            TTL,
        )
        .await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(
        shape(&store, key).await,
        Some(Shape::claimed("a")),
        "the claim stays"
    );
    let fits = Completion::Output(json_of(limit));
    store
        .complete(key, &claim_by("a").claim(), &fits, TTL)
        .await
        .unwrap();
    assert_eq!(shape(&store, key).await, Some(Shape::done("a", &fits)));

    let mut huge_claim = claim_by("b");
    huge_claim.fingerprint = "f".repeat(limit);
    let other = RecordKey {
        tool: "sizes",
        key: "other",
    };
    let r = store.claim(other, &huge_claim.claim()).await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(store.get(other).await.unwrap(), None);
    drop_table(&store).await;
}

/// Tool ids and keys with NUL, newlines, quotes, backslashes and non-ASCII round-trip exactly;
/// an address too long for the index is `TooLarge` on claim and simply absent elsewhere; text
/// PostgreSQL cannot hold (NUL in a token or an error) is a typed error, never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_tool_ids_and_keys() {
    let Some(url) = server("odd_tool_ids_and_keys") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    let pairs: Vec<(String, String)> = vec![
        ("nul\0tool".into(), "k".into()),
        ("tool".into(), "nul\0key".into()),
        ("\0".into(), "\0\0".into()),
        ("line\nbreak\r\n".into(), "tab\tkey".into()),
        ("quote'\"tool".into(), "back\\slash\\x00".into()),
        (
            "outil-\u{e9}t\u{e9}-\u{1F600}".into(),
            "\u{3042}\u{2615}".into(),
        ),
        ("%_*?".into(), "".into()),
        ("".into(), "empty tool".into()),
        ("x".repeat(1_000), "y".repeat(1_048)),
    ];
    for (i, (tool, key)) in pairs.iter().enumerate() {
        let key = RecordKey { tool, key };
        let token = format!("t{i}");
        assert_eq!(
            store.claim(key, &claim_by(&token).claim()).await.unwrap(),
            ClaimOutcome::Claimed,
            "{key:?}"
        );
        let done = Completion::Output(format!("{{\"i\":{i},\"s\":\"\\u0000\"}}").into_bytes());
        store
            .complete(key, &claim_by(&token).claim(), &done, TTL)
            .await
            .unwrap();
        assert_eq!(
            shape(&store, key).await,
            Some(Shape::done(&token, &done)),
            "{key:?}"
        );
    }
    let mut listed: Vec<(String, String)> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.tool, r.key))
        .collect();
    listed.sort();
    let mut expected = pairs.clone();
    expected.sort();
    assert_eq!(listed, expected, "list gives the exact tool ids and keys");

    // 10 kB of tool id: above what the primary key's index holds.
    let long_tool = "t".repeat(10_000);
    let long = RecordKey {
        tool: &long_tool,
        key: "k",
    };
    let r = store.claim(long, &claim_by("a").claim()).await;
    assert!(
        matches!(
            r,
            Err(StoreError::TooLarge {
                size: 10_001,
                limit: 2048,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(store.get(long).await.unwrap(), None);
    assert!(!store.release(long, &claim_by("a").claim()).await.unwrap());
    assert!(!store.delete(long).await.unwrap());
    let r = store
        .complete(long, &claim_by("a").claim(), &Completion::Marker, TTL)
        .await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");

    // NUL where PostgreSQL text cannot hold it.
    let key = RecordKey {
        tool: "nul",
        key: "k",
    };
    let r = store.claim(key, &claim_by("a\0b").claim()).await;
    assert!(is_corrupt(&r), "token: {r:?}");
    let mut claim = claim_by("a");
    claim.fingerprint = "f\0".into();
    let r = store.claim(key, &claim.claim()).await;
    assert!(is_corrupt(&r), "fingerprint: {r:?}");
    assert_eq!(store.get(key).await.unwrap(), None, "nothing written");
    assert_eq!(
        store.claim(key, &claim_by("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let r = store
        .complete(
            key,
            &claim_by("a").claim(),
            &Completion::Failed("bad\0error".into()),
            TTL,
        )
        .await;
    assert!(is_corrupt(&r), "error message: {r:?}");
    let r = store
        .complete(key, &claim_by("a\0").claim(), &Completion::Marker, TTL)
        .await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
    assert!(!store.release(key, &claim_by("a\0").claim()).await.unwrap());
    assert_eq!(
        shape(&store, key).await,
        Some(Shape::claimed("a")),
        "the claim is intact"
    );
    drop_table(&store).await;
}

// ---------------------------------------------------------------------------------------------
// The schema

/// `ensure_schema` runs again, and from several stores at once; the DDL of `schema_sql` is what
/// it runs, and runs again by hand; a store told not to create the table fails without it; the
/// purge function removes what `purge` would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema() {
    let Some(url) = server("schema") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    store.ensure_schema().await.expect("twice");
    store.ensure_schema().await.expect("thrice");

    // Four stores race to create one table.
    let table = fresh_table();
    let options = PostgresOptions::new()
        .with_table(table.clone())
        .with_create_schema(false);
    let r = PostgresStore::connect_with(&url, options.clone()).await;
    let err = r.expect_err("no table yet");
    assert!(
        matches!(
            err,
            StoreError::Unavailable {
                store: "postgres",
                ..
            }
        ) && err.to_string().contains("does not exist"),
        "{err}"
    );
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let options = options.clone().with_create_schema(true);
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect_with(&url, options).await })
        })
        .collect();
    let mut stores = Vec::new();
    for racer in racers {
        stores.push(racer.await.unwrap().expect("concurrent ensure_schema"));
    }
    let raced = &stores[0];
    let key = RecordKey {
        tool: "schema",
        key: "k",
    };
    assert_eq!(
        raced.claim(key, &claim_by("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    drop_table(raced).await;

    // The DDL by hand, twice, in a schema of its own, with a mixed-case name.
    let schema_name = format!(
        "idem_schema_{}",
        fresh_table().name().trim_start_matches("idem_test_")
    );
    let table = PostgresTable::new(&format!("{schema_name}.Idem_Records")).unwrap();
    let ddl = PostgresStore::schema_sql(&table);
    sql(&store, &format!("CREATE SCHEMA \"{schema_name}\"")).await;
    sql(&store, &ddl).await;
    sql(&store, &ddl).await;
    let migrated = PostgresStore::connect_with(
        &url,
        PostgresOptions::new()
            .with_table(table.clone())
            .with_create_schema(false),
    )
    .await
    .expect("the migrated table");
    migrated.ensure_schema().await.expect("a table that exists");
    let output = Completion::Output(b"{}".to_vec());
    let unknown = Completion::Unknown("the tool panicked".into());
    let records = [
        ("expired", Some((&output, Duration::ZERO))),
        ("live", Some((&output, TTL))),
        ("unknown-expired", Some((&unknown, Duration::ZERO))),
        ("claim", None),
    ];
    for (k, completion) in records {
        let key = RecordKey {
            tool: "schema",
            key: k,
        };
        migrated.claim(key, &claim_by(k).claim()).await.unwrap();
        if let Some((completion, ttl)) = completion {
            migrated
                .complete(key, &claim_by(k).claim(), completion, ttl)
                .await
                .unwrap();
        }
    }
    let client = store.pool().get().await.unwrap();
    let default_now = format!("SELECT \"{schema_name}\".\"Idem_Records_purge\"()");
    let purged: i64 = client
        .query_one(default_now.as_str(), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        purged, 2,
        "the purge function, on the server's clock, removes the expired records, an unknown \
         outcome's included"
    );
    // A day past the live record's TTL, on the server's clock.
    let later = format!(
        "SELECT \"{schema_name}\".\"Idem_Records_purge\"(\
             (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $1)"
    );
    let ttl_and_a_day = i64::try_from((TTL + Duration::from_secs(86_400)).as_millis()).unwrap();
    let purged: i64 = client
        .query_one(later.as_str(), &[&ttl_and_a_day])
        .await
        .unwrap()
        .get(0);
    assert_eq!(purged, 1, "the live record has expired by then");
    let left: Vec<String> = migrated
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(left, ["claim"]);
    drop(client);
    sql(&store, &format!("DROP SCHEMA \"{schema_name}\" CASCADE")).await;
    drop_table(&store).await;
}

/// Two stores, with pools of their own, on one table: a fleet. Claims racing through both get
/// one winner, and each store sees what the other wrote; a store on a shared pool does too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fleet_shares_one_table() {
    let Some(url) = server("a_fleet_shares_one_table") else {
        return;
    };
    let first = fresh_store(&url, PostgresOptions::new().with_pool_size(4)).await;
    let options = PostgresOptions::new()
        .with_table(first.table().clone())
        .with_pool_size(4);
    let second = Arc::new(
        PostgresStore::connect_with(&url, options.clone())
            .await
            .unwrap(),
    );
    let third = Arc::new(PostgresStore::from_pool(first.pool().clone(), options));
    let stores: [Arc<dyn Store>; 3] = [first.clone(), second.clone(), third];
    for round in 0..8 {
        let key = format!("k{round}");
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let store = Arc::clone(&stores[i % 3]);
                let key = key.clone();
                tokio::spawn(async move {
                    let key = RecordKey {
                        tool: "fleet",
                        key: &key,
                    };
                    store
                        .claim(key, &claim_by(&format!("w{i}")).claim())
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            if task.await.unwrap() == ClaimOutcome::Claimed {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
    let key = RecordKey {
        tool: "fleet",
        key: "k0",
    };
    let holder = first.get(key).await.unwrap().unwrap().token;
    let done = Completion::Output(b"[1]".to_vec());
    second
        .complete(key, &claim_by(&holder).claim(), &done, TTL)
        .await
        .unwrap();
    let seen = stores[2].get(key).await.unwrap().unwrap();
    assert!(matches!(seen.state, RecordState::Completed { .. }));
    drop_table(&first).await;
}

// ---------------------------------------------------------------------------------------------
// Servers that cannot be reached, or stop answering

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
    let Some(url) = server("connections_cut_mid_load") else {
        return;
    };
    let Some((upstream, rewrite)) = split_url(&url).await else {
        println!("connections_cut_mid_load: skipped: IDEM_POSTGRES_URL is not a postgres:// URL");
        return;
    };
    let proxy = Proxy::start(upstream).await;
    let options = PostgresOptions::new()
        .with_pool_size(4)
        .with_connect_timeout(Duration::from_millis(400))
        .with_wait_timeout(Duration::from_millis(400))
        .with_statement_timeout(Duration::from_millis(400));
    let store = fresh_store(&rewrite(proxy.addr), options).await;
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
    proxy.hold(true);
    let mut slowest = Duration::ZERO;
    for task in load(Arc::clone(&store), "held") {
        let (r, took) = task.await.unwrap();
        assert!(is_unavailable(&r), "held: {r:?}");
        assert!(took < bound, "held: failed after {took:?}");
        slowest = slowest.max(took);
    }
    println!("connections_cut_mid_load: held, 12 claims failed, the slowest after {slowest:?}");
    proxy.hold(false);
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
    drop_table(&store).await;
}

/// A TCP proxy to the server that can hold every byte (as a network that drops packets) or close
/// every connection.
struct Proxy {
    addr: SocketAddr,
    hold: tokio::sync::watch::Sender<bool>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (hold, _) = tokio::sync::watch::channel(false);
        let connections = Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = {
            let hold = hold.clone();
            let connections = Arc::clone(&connections);
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let hold = hold.subscribe();
                    let task = tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        let (client_read, client_write) = client.into_split();
                        let (server_read, server_write) = server.into_split();
                        tokio::select! {
                            () = pump(client_read, server_write, hold.clone()) => {}
                            () = pump(server_read, client_write, hold) => {}
                        }
                    });
                    connections.lock().unwrap().push(task.abort_handle());
                }
            })
        };
        Proxy {
            addr,
            hold,
            connections,
            accept,
        }
    }

    /// Holds every byte (`true`) or forwards them (`false`).
    fn hold(&self, hold: bool) {
        self.hold.send_replace(hold);
    }

    /// Closes every connection made so far.
    fn close_all(&self) {
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.close_all();
    }
}

/// Copies `from` to `to`, holding the bytes while `hold` is true.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut hold: tokio::sync::watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if hold.wait_for(|held| !held).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
