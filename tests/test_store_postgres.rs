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

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use idem::store::{
    BoxFuture, ClaimOutcome, Completion, PostgresOptions, PostgresStore, PostgresTable, RecordKey,
    RecordState, Store, StoreError,
};
use postgres_url::split_url;
use serde::Deserialize;
use serde_json::value::RawValue;
use store_conformance::{Corruptor, T0, TTL, at, claim_by, claimed_record, completed_record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// Helpers

const SKIP: &str = "IDEM_POSTGRES_URL is not set; set it to e.g. \
                    postgres://postgres@127.0.0.1:5432/idem to run the PostgreSQL tests";

/// The server's URL, or `None` (and a line saying why `test` is skipped).
fn server(test: &str) -> Option<String> {
    match std::env::var("IDEM_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            println!("{test}: skipped: {SKIP}");
            None
        }
    }
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
    let options = options.table(fresh_table());
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
    /// name (`idem_record` to `format`, 1 when absent; the output as raw JSON); anything else
    /// goes, as text, to `state`, which no state is named like.
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
            #[serde(borrow)]
            output: Option<&'a RawValue>,
            error: Option<String>,
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
                error: f.error,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    let Some(url) = server("conformance") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    let corruptor = PostgresCorruptor(Arc::clone(&store));
    store_conformance::run_all(store.clone(), Some(&corruptor)).await;
    drop_table(&store).await;
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
        let later = at(T0, 86_400_000);
        let r = store.get(key, later).await;
        assert!(is_corrupt(&r), "{name}: get: {r:?}");
        let r = store.claim(key, &claim_by("a", later).claim()).await;
        assert!(is_corrupt(&r), "{name}: claim: {r:?}");
        // The row's own token ("t"), which a sloppy condition would accept.
        let r = store
            .complete(
                key,
                &claim_by("t", T0).claim(),
                &Completion::Marker,
                later,
                TTL,
            )
            .await;
        assert!(is_corrupt(&r), "{name}: complete: {r:?}");
        let r = store.release(key, &claim_by("t", T0).claim()).await;
        assert!(is_corrupt(&r), "{name}: release: {r:?}");
        if let Err(StoreError::Corrupt { key: address, .. }) = store.get(key, later).await {
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
    assert_eq!(store.purge(at(T0, 86_400_000), false).await.unwrap(), 0);
    assert_eq!(count_rows(&store).await, n, "purge keeps them");
    for (name, _) in &spoiled {
        let key = RecordKey { tool, key: name };
        assert!(store.delete(key).await.unwrap(), "{name}: delete");
        assert_eq!(
            store.claim(key, &claim_by("a", T0).claim()).await.unwrap(),
            ClaimOutcome::Claimed
        );
    }
    drop_table(&store).await;
}

/// A row of another format version is `UnsupportedFormat` everywhere, never overwritten (even
/// when its columns say it has expired) nor purged; a negative version is `Corrupt`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_format_rows() {
    let Some(url) = server("other_format_rows") else {
        return;
    };
    let store = fresh_store(&url, PostgresOptions::new()).await;
    let key = RecordKey {
        tool: "formats",
        key: "v2",
    };
    plant(
        &store,
        key,
        &RawRow {
            format: 2,
            ..RawRow::completed(1_000)
        },
    )
    .await;
    let unsupported = |r: &dyn std::fmt::Debug, ok: bool| assert!(ok, "expected v2, got {r:?}");
    let r = store.get(key, T0).await;
    unsupported(
        &r,
        matches!(
            r,
            Err(StoreError::UnsupportedFormat {
                found: 2,
                supported: 1,
                ..
            })
        ),
    );
    let r = store.claim(key, &claim_by("a", T0).claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 2, .. })),
    );
    let r = store
        .complete(
            key,
            &claim_by("t", T0).claim(),
            &Completion::Marker,
            T0,
            TTL,
        )
        .await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 2, .. })),
    );
    assert!(
        store
            .release(key, &claim_by("t", T0).claim())
            .await
            .is_err()
    );
    assert_eq!(store.purge(T0, false).await.unwrap(), 0);
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    let reason = listed[0].record.as_ref().unwrap_err();
    assert!(reason.contains("format version 2"), "{reason}");

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
    let r = store.get(negative, T0).await;
    assert!(is_corrupt(&r), "{r:?}");
    assert_eq!(count_rows(&store).await, 2);
    assert!(store.delete(key).await.unwrap());
    assert!(store.delete(negative).await.unwrap());
    drop_table(&store).await;
}

// ---------------------------------------------------------------------------------------------
// Sizes and odd values

/// Values above the limit are `TooLarge` before anything is sent, and the claim stays; values at
/// the limit are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large() {
    assert_eq!(
        PostgresOptions::new().get_max_value_size(),
        64 << 20,
        "the default limit"
    );
    let Some(url) = server("too_large") else {
        return;
    };
    let limit = 4096;
    let store = fresh_store(&url, PostgresOptions::new().max_value_size(limit)).await;
    assert_eq!(store.max_value_size(), limit);
    let key = RecordKey {
        tool: "sizes",
        key: "k",
    };
    assert_eq!(
        store.claim(key, &claim_by("a", T0).claim()).await.unwrap(),
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
        .complete(key, &claim_by("a", T0).claim(), &too_big, T0, TTL)
        .await;
    assert!(
        matches!(r, Err(StoreError::TooLarge { size, limit: l, .. }) if size == limit + 1 && l == limit),
        "{r:?}"
    );
    let r = store
        .complete(
            key,
            &claim_by("a", T0).claim(),
            &Completion::Failed("e".repeat(limit + 1)),
            T0,
            TTL,
        )
        .await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(
        store.get(key, T0).await.unwrap(),
        Some(claimed_record("a", T0)),
        "the claim stays"
    );
    let fits = Completion::Output(json_of(limit));
    store
        .complete(key, &claim_by("a", T0).claim(), &fits, T0, TTL)
        .await
        .unwrap();
    assert_eq!(
        store.get(key, T0).await.unwrap(),
        Some(completed_record("a", T0, &fits, T0))
    );

    let mut huge_claim = claim_by("b", T0);
    huge_claim.fingerprint = "f".repeat(limit);
    let other = RecordKey {
        tool: "sizes",
        key: "other",
    };
    let r = store.claim(other, &huge_claim.claim()).await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(store.get(other, T0).await.unwrap(), None);
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
            store
                .claim(key, &claim_by(&token, T0).claim())
                .await
                .unwrap(),
            ClaimOutcome::Claimed,
            "{key:?}"
        );
        let done = Completion::Output(format!("{{\"i\":{i},\"s\":\"\\u0000\"}}").into_bytes());
        store
            .complete(key, &claim_by(&token, T0).claim(), &done, T0, TTL)
            .await
            .unwrap();
        assert_eq!(
            store.get(key, T0).await.unwrap(),
            Some(completed_record(&token, T0, &done, T0)),
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
    let r = store.claim(long, &claim_by("a", T0).claim()).await;
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
    assert_eq!(store.get(long, T0).await.unwrap(), None);
    assert!(
        !store
            .release(long, &claim_by("a", T0).claim())
            .await
            .unwrap()
    );
    assert!(!store.delete(long).await.unwrap());
    let r = store
        .complete(
            long,
            &claim_by("a", T0).claim(),
            &Completion::Marker,
            T0,
            TTL,
        )
        .await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");

    // NUL where PostgreSQL text cannot hold it.
    let key = RecordKey {
        tool: "nul",
        key: "k",
    };
    let r = store.claim(key, &claim_by("a\0b", T0).claim()).await;
    assert!(is_corrupt(&r), "token: {r:?}");
    let mut claim = claim_by("a", T0);
    claim.fingerprint = "f\0".into();
    let r = store.claim(key, &claim.claim()).await;
    assert!(is_corrupt(&r), "fingerprint: {r:?}");
    assert_eq!(store.get(key, T0).await.unwrap(), None, "nothing written");
    assert_eq!(
        store.claim(key, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let r = store
        .complete(
            key,
            &claim_by("a", T0).claim(),
            &Completion::Failed("bad\0error".into()),
            T0,
            TTL,
        )
        .await;
    assert!(is_corrupt(&r), "error message: {r:?}");
    let r = store
        .complete(
            key,
            &claim_by("a\0", T0).claim(),
            &Completion::Marker,
            T0,
            TTL,
        )
        .await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
    assert!(
        !store
            .release(key, &claim_by("a\0", T0).claim())
            .await
            .unwrap()
    );
    assert_eq!(
        store.get(key, T0).await.unwrap(),
        Some(claimed_record("a", T0)),
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
        .table(table.clone())
        .create_schema(false);
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
            let options = options.clone().create_schema(true);
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
        raced.claim(key, &claim_by("a", T0).claim()).await.unwrap(),
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
            .table(table.clone())
            .create_schema(false),
    )
    .await
    .expect("the migrated table");
    migrated.ensure_schema().await.expect("a table that exists");
    let output = Completion::Output(b"{}".to_vec());
    for (i, k) in ["expired", "live", "claim"].iter().enumerate() {
        let key = RecordKey {
            tool: "schema",
            key: k,
        };
        migrated.claim(key, &claim_by(k, T0).claim()).await.unwrap();
        if i < 2 {
            let ttl = if i == 0 { Duration::ZERO } else { TTL };
            migrated
                .complete(key, &claim_by(k, T0).claim(), &output, T0, ttl)
                .await
                .unwrap();
        }
    }
    let client = store.pool().get().await.unwrap();
    let purge = format!("SELECT \"{schema_name}\".\"Idem_Records_purge\"($1)");
    let purged: i64 = client
        .query_one(purge.as_str(), &[&i64::try_from(at(T0, 1).0).unwrap()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(purged, 1, "the purge function removes the expired record");
    let default_now = format!("SELECT \"{schema_name}\".\"Idem_Records_purge\"()");
    let purged: i64 = client
        .query_one(default_now.as_str(), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        purged, 1,
        "in 2023 + 1 h, the live record has expired by now"
    );
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
    let first = fresh_store(&url, PostgresOptions::new().pool_size(4)).await;
    let options = PostgresOptions::new()
        .table(first.table().clone())
        .pool_size(4);
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
                        .claim(key, &claim_by(&format!("w{i}"), T0).claim())
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
    let holder = first.get(key, T0).await.unwrap().unwrap().token;
    let done = Completion::Output(b"[1]".to_vec());
    second
        .complete(key, &claim_by(&holder, T0).claim(), &done, T0, TTL)
        .await
        .unwrap();
    let seen = stores[2].get(key, T0).await.unwrap().unwrap();
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
    let options = PostgresOptions::new().connect_timeout(Duration::from_millis(300));
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
        .pool_size(4)
        .connect_timeout(Duration::from_millis(400))
        .wait_timeout(Duration::from_millis(400))
        .statement_timeout(Duration::from_millis(400));
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
                    let r = store.claim(key, &claim_by("a", T0).claim()).await;
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
            &claim_by("a", T0).claim(),
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
